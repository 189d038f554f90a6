#!/usr/bin/env bash
# deps_check.sh: Cargo.lock holds no crate in two versions that could be one. For every
# platform's dependencies (cargo tree --target all), build and dev ones too, each crate in more
# than one version must be listed, with the reason, in scripts/duplicates.txt, in exactly the
# versions found there; two versions in one semver range (cargo could unify them) always fail.
# A line of duplicates.txt that no longer applies fails too. Cargo.lock must be up to date
# (--locked).
#
# Usage: scripts/deps_check.sh        (make deps-check; make test runs it)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

allow_file=$root/scripts/duplicates.txt
failures=0

fail() {
    failures=$((failures + 1))
    printf 'FAIL  %s\n' "$*"
}

# semver_range VERSION: the range cargo unifies a version within: the major (2.0.119: 2), or
# 0.minor below 1.0 (0.23.2: 0.23), or 0.0.patch.
semver_range() {
    local major minor patch
    IFS=. read -r major minor patch <<<"${1%%[-+]*}"
    if ((major > 0)); then
        echo "$major"
    elif ((minor > 0)); then
        echo "0.$minor"
    else
        echo "0.0.$patch"
    fi
}

# tree ARGS...: cargo tree over the whole workspace, every platform, the lock file as it is.
tree() {
    (cd "$root" && cargo tree --quiet --locked --workspace --target all --prefix none "$@")
}

# asked_by NAME VERSION: the crates that depend on NAME VERSION directly, comma-separated.
asked_by() {
    tree -i "$1@$2" --depth 1 | tail -n +2 | awk '{ print $1 }' | sort -u | paste -sd, |
        sed 's/,/, /g'
}

main() {
    no_args "$@"
    local out
    out=$(tree --duplicates --depth 0 2>&1) ||
        die "cargo tree --locked failed (is Cargo.lock out of date? a cargo build updates it): $out"

    # name -> its versions, and their semver ranges, space-separated, sorted.
    local -A versions=() ranges=()
    local name ver _
    while read -r name ver _; do
        [[ -n $name ]] || continue
        versions[$name]+="${versions[$name]:+ }${ver#v}"
    done <<<"$out"
    for name in "${!versions[@]}"; do
        versions[$name]=$(tr ' ' '\n' <<<"${versions[$name]}" | sort -uV | paste -sd' ')
        ranges[$name]=$(for ver in ${versions[$name]}; do semver_range "$ver"; done | sort -V |
            paste -sd' ')
    done

    # name -> the ranges duplicates.txt allows.
    local -A allowed=()
    local line word list
    while read -r line; do
        [[ -n $line && $line != \#* ]] || continue
        read -r name line <<<"$line"
        list=
        for word in $line; do
            [[ $word =~ ^[0-9]+(\.[0-9]+)*$ ]] || break
            list+="${list:+ }$word"
        done
        [[ -n $list ]] || die "$allow_file: no versions for $name"
        allowed[$name]=$(tr ' ' '\n' <<<"$list" | sort -V | paste -sd' ')
    done <"$allow_file"

    local names older newer
    names=$(printf '%s\n' "${!versions[@]}" | sort)
    for name in $names; do
        read -r older _ <<<"${versions[$name]}"
        newer=${versions[$name]##* }
        if [[ $(tr ' ' '\n' <<<"${ranges[$name]}" | uniq -d) ]]; then
            fail "$name ${versions[$name]}: two versions in one semver range;" \
                "'cargo update -p $name@$older --precise $newer' makes them one"
        elif [[ -z ${allowed[$name]:-} ]]; then
            fail "$name in ${versions[$name]// /, }, not listed in scripts/duplicates.txt:"
            for ver in ${versions[$name]}; do
                printf '        %s %s is asked for by %s\n' "$name" "$ver" \
                    "$(asked_by "$name" "$ver")"
            done
            printf '      make them one where these crates allow it (cargo update -p %s@%s' \
                "$name" "$newer"
            printf ' --precise %s, or a change of version in a Cargo.toml),\n' "$older"
            printf '      or add a line to scripts/duplicates.txt saying why they cannot be one\n'
        elif [[ ${allowed[$name]} != "${ranges[$name]}" ]]; then
            fail "$name: Cargo.lock has ${versions[$name]// /, } (ranges ${ranges[$name]})," \
                "scripts/duplicates.txt allows ranges ${allowed[$name]}"
        fi
    done
    for name in $(printf '%s\n' "${!allowed[@]}" | sort); do
        [[ -n ${versions[$name]:-} ]] ||
            fail "$name is in one version now: remove its line from scripts/duplicates.txt"
    done

    local n=${#versions[@]}
    if ((failures > 0)); then
        printf 'deps-check: %d crates in more than one version, %d problems\n' "$n" "$failures"
        return 1
    fi
    printf 'deps-check: %d crates in more than one version, each listed with its reason in' "$n"
    printf ' scripts/duplicates.txt (%s); no other duplicate\n' "$(paste -sd, <<<"$names" |
        sed 's/,/, /g')"
}

main "$@"
