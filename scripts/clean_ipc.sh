#!/usr/bin/env bash
# clean_ipc.sh: list and remove what this project's programs may have left behind (a writer
# killed with SIGKILL cannot clean up), and nothing else. Only what you own and what no
# process has attached (System V) or mapped or open (POSIX), among:
#   - System V segments under the notes' key 0x000004d2 that are one 8-byte people record,
#     or under a key 0x5342xxxx (the namespace the tests and scripts use);
#   - POSIX shm objects /xyz that are one 36-byte student record, or /shm-by-example.*.
#
# Usage: scripts/clean_ipc.sh [--dry-run | --check] [--only KEY|NAME]
#   (none)     list and remove
#   --dry-run  list only
#   --check    list the test namespace's leftovers only, and exit 1 if there are any
#              (`make test` runs it after the tests; a test run beside it may trip it)
#   --only     just the segment with this key (0x...) or the object with this name (/...),
#              if it is one of the above (tests use it, so as not to touch each other's)
set -euo pipefail

usage() {
    echo "usage: $(basename "$0") [--dry-run | --check] [--only KEY|NAME]" >&2
    exit 2
}

# in_use FILE: whether some process (one whose /proc entries we may read) maps FILE or has
# it open. An object still in use is not a leftover.
in_use() {
    local proc fd
    for proc in /proc/[0-9]*; do
        if awk -v f="$1" '$6 == f { found = 1 } END { exit !found }' "$proc/maps" 2>/dev/null; then
            return 0
        fi
        for fd in "$proc"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == "$1" ]] && return 0
        done
    done
    return 1
}

main() {
    local mode=remove only=
    while [[ $# -gt 0 ]]; do
        case $1 in
            --dry-run) mode=list ;;
            --check) mode=check ;;
            --only)
                [[ $# -ge 2 ]] || usage
                only=$2
                shift
                ;;
            *) usage ;;
        esac
        shift
    done

    local uid found=0
    uid=$(id -u)

    # /proc/sysvipc/shm: key (decimal) shmid perms size cpid lpid nattch uid ...
    local key shmid size nattch owner
    while read -r key shmid _ size _ _ nattch owner _; do
        [[ $owner == "$uid" && $nattch == 0 ]] || continue
        local ours=0
        if ((key >= 0x53420000 && key <= 0x5342ffff)); then
            ours=1
        elif [[ $mode != check ]] && ((key == 1234 && size == 8)); then
            ours=1
        fi
        ((ours)) || continue
        [[ -z $only || $only == "$(printf '0x%08x' "$key")" ]] || continue
        found=1
        printf 'System V segment: key 0x%08x, shmid %s, %s bytes' "$key" "$shmid" "$size"
        if [[ $mode == remove ]]; then
            ipcrm -m "$shmid" && printf ': removed'
        fi
        printf '\n'
    done < <(tail -n +2 /proc/sysvipc/shm)

    local f
    for f in /dev/shm/shm-by-example.* /dev/shm/xyz; do
        [[ -f $f && ! -L $f && $(stat -c %u "$f") == "$uid" ]] || continue
        if [[ $f == /dev/shm/xyz ]]; then
            [[ $mode != check && $(stat -c %s "$f") == 36 ]] || continue
        fi
        [[ -z $only || $only == "/${f#/dev/shm/}" ]] || continue
        in_use "$f" && continue
        found=1
        printf 'POSIX shm object: /%s, %s bytes' "${f#/dev/shm/}" "$(stat -c %s "$f")"
        if [[ $mode == remove ]]; then
            rm -f -- "$f" && printf ': removed'
        fi
        printf '\n'
    done

    if ((found == 0)); then
        echo "no leftovers of shm-by-example"
    elif [[ $mode == check ]]; then
        echo "$(basename "$0"): the leftovers above were not removed by the program that made them" >&2
        exit 1
    fi
}

main "$@"
