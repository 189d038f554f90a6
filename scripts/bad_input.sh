#!/usr/bin/env bash
# bad_input.sh: every example binary, given bad input, must answer with a usage error
# (exit 2, "error: ..." and the usage) or one line "program: what failed: why" (exit 1):
# never a panic, a backtrace, a core dump or a death by signal.
#
# Runs a matrix of bad arguments and bad paths against every binary and counts the cases.
# Usage: scripts/bad_input.sh        (make test runs it)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cases=0
failures=0

# try PROGRAM ARGS...: run the example binary PROGRAM with ARGS and empty stdin; check how it
# failed.
try() {
    local prog=$1 out status=0
    cases=$((cases + 1))
    out=$(timeout 10 "$bin_dir/$prog" "${@:2}" </dev/null 2>&1 >/dev/null) || status=$?
    local why=
    if ((status == 0)); then
        why="succeeded"
    elif ((status == 1)); then
        [[ $out == "$prog: "* && $(wc -l <<<"$out") -eq 1 ]] || why="exit 1 without one line '$prog: ...'"
    elif ((status == 2)); then
        [[ $out == error:* ]] || why="exit 2 without a usage error"
    else
        why="exit status $status"
    fi
    if [[ $out == *panicked* || $out == *RUST_BACKTRACE* ]]; then
        why="a panic"
    fi
    if [[ -n $why ]]; then
        failures=$((failures + 1))
        printf 'FAIL %s %s: %s\n%s\n' "$prog" "${*:2}" "$why" "$out"
    fi
}

# check_scripts: every script in scripts/ answers --help with its opening comment (its name
# first, a Usage: line in it) and exit 0, running nothing; and a wrong option with a usage
# error: a usage line on stderr, nothing on stdout, exit 2.
check_scripts() {
    local s name out status
    for s in "$root"/scripts/*.sh; do
        name=$(basename "$s")
        cases=$((cases + 2))
        status=0
        out=$(timeout 10 "$s" --help 2>"$tmp/err" </dev/null) || status=$?
        if ((status != 0)) || [[ $out != "$name: "* ]] || ! grep -q '^Usage:' <<<"$out"; then
            failures=$((failures + 1))
            printf 'FAIL scripts/%s --help: exit %d, ' "$name" "$status"
            printf 'want 0 and its opening comment with a Usage: line\n%s\n' "$out$(cat "$tmp/err")"
        fi
        status=0
        out=$(timeout 10 "$s" --no-such-option 2>"$tmp/err" </dev/null) || status=$?
        if ((status != 2)) || [[ -n $out ]] || ! grep -qi '^usage:' "$tmp/err"; then
            failures=$((failures + 1))
            printf 'FAIL scripts/%s --no-such-option: exit %d, ' "$name" "$status"
            printf 'want 2, a usage line on stderr, nothing on stdout\n%s\n' "$out$(cat "$tmp/err")"
        fi
    done
}

main() {
    no_args "$@"
    # The example binaries (file_transfer has its own bad-input tests).
    bins=(map_normalfile1 map_normalfile2 anon_fork sysv_write sysv_read posix_shm_write
        posix_shm_read memfd_write memfd_read memfd_shrink filesize_vs_mapsize map_grow_file
        shm_counter shm_counter_pair shm_counter_dies ipc_bench errata)
    need "${bins[@]}"
    make_tmp "${TMPDIR:-/tmp}"
    check_scripts
    local dir=$tmp missing=$tmp/no/such/dir/f empty=$tmp/empty short=$tmp/short fifo=$tmp/fifo
    local link=$tmp/link ro=/sys/kernel/notes nonutf8
    nonutf8=$tmp/$'\xff\xfe'/f
    : >"$empty"
    printf abc >"$short"
    mkfifo "$fifo"
    ln -s "$short" "$link"
    local key name
    # A key and a name no one uses: random, never the pid alone (see random_hex).
    key=$(printf '0x5342%s' "$(random_hex | cut -c1-4)")
    while awk -v k=$((key)) '$1 == k { found = 1 } END { exit !found }' /proc/sysvipc/shm; do
        key=$(printf '0x5342%s' "$(random_hex | cut -c1-4)")
    done
    name=/shm-by-example.bad.$(random_hex)

    local p
    for p in "${bins[@]}"; do
        try "$p" --no-such-flag
        try "$p" --help=x
        # Not bad input, but checked for every binary here: --help names the chapter.
        cases=$((cases + 1))
        if ! "$bin_dir/$p" --help | grep -q 'docs/src/[a-z_]*\.md'; then
            failures=$((failures + 1))
            printf 'FAIL %s --help: names no chapter (docs/src/*.md)\n' "$p"
        fi
    done
    try errata 999-9

    # Files: missing, empty, too short, a directory, a FIFO, a symlink, read-only, non-UTF-8.
    for f in "$missing" "$dir" "$link" "$ro" "$nonutf8"; do
        try map_normalfile1 --hold 0 "$f"
        try anon_fork --file "$f"
        try filesize_vs_mapsize "$f" 10 10
        try map_grow_file "$f"
        try shm_counter --backing file --file "$f" --loops 1
    done
    for f in "$missing" "$empty" "$short" "$dir" "$fifo" "$nonutf8"; do
        try map_normalfile2 "$f"
    done
    try map_normalfile1 "$empty" "$short"
    try map_normalfile2 "$short" extra
    try map_normalfile1 --records 0 "$tmp/f"
    try map_normalfile1 --records -1 "$tmp/f"
    try map_normalfile1 --records 99999999999999999999 "$tmp/f"
    try map_normalfile1 --hold soon "$tmp/f"
    try map_normalfile2 --records 0 "$short"

    # Numbers: not numbers, out of range, zero.
    try filesize_vs_mapsize "$tmp/g" ten 10
    try filesize_vs_mapsize "$tmp/g" 10 0
    try filesize_vs_mapsize "$tmp/g" 10 99999999999999
    try filesize_vs_mapsize "$tmp/g" 10
    try map_grow_file --append 0 "$tmp/log"
    try map_grow_file --append 99999 "$tmp/log"
    try map_grow_file --append 3
    try shm_counter --loops -5
    try shm_counter --loops many
    try shm_counter --sync spinlock
    try shm_counter_dies --sync none
    try shm_counter_pair first bad-name
    try shm_counter_pair second /shm-by-example.bad.none
    try ipc_bench --repeats 0
    try ipc_bench --bytes lots

    # Sockets: malformed, too long, nobody listening, a name that is not a stale socket.
    try memfd_write @
    try memfd_write "$tmp/$(printf 'x%.0s' {1..120})"
    try memfd_write "$link" --count 1
    try memfd_write "$fifo" --count 1
    try memfd_write "$tmp/s" --count 0
    try memfd_read "$missing"
    try memfd_read "$dir"
    try memfd_read "$fifo"
    try memfd_read "@shm-by-example.bad.$(random_hex)"
    try memfd_shrink extra

    # Keys and names: malformed, missing, in use by something else (wrong size).
    try sysv_write --key 0
    try sysv_write --key 0xZZ
    try sysv_write --ftok "$missing" 1
    try sysv_write --ftok "$dir" 0
    try sysv_write --ftok "$nonutf8" 1
    try sysv_read --key "$key"
    try posix_shm_write --name noslash
    try posix_shm_write --name /a/b
    try posix_shm_write --name /.
    try posix_shm_read --name /..
    try posix_shm_read --name "$name"
    try shm_counter --backing posix --name "$name" --role second
    try shm_counter --role first --name "$name"
    # A 64-byte segment made by someone else (ipcmk, with a key of its choosing): the
    # programs must refuse it and leave it alone.
    local shmid other
    shmid=$(ipcmk -M 64 -p 0600 | awk '{ print $NF }')
    other=$(awk -v id="$shmid" '$2 == id { printf "0x%08x", $1 }' /proc/sysvipc/shm)
    try sysv_write --key "$other"
    try sysv_read --key "$other"
    [[ -n $(awk -v id="$shmid" '$2 == id' /proc/sysvipc/shm) ]] || {
        echo "FAIL: the foreign segment $shmid was removed"
        failures=$((failures + 1))
    }
    ipcrm -m "$shmid"
    printf 'x%.0s' {1..100} >"/dev/shm/${name#/}"
    try posix_shm_write --name "$name"
    try posix_shm_read --name "$name"
    try shm_counter --backing posix --name "$name" --role second
    rm -f "/dev/shm/${name#/}"

    printf '%d bad-input cases against %d binaries and %d scripts: %d failed\n' "$cases" "${#bins[@]}" \
        "$(compgen -G "$root/scripts/*.sh" | wc -l)" "$failures"
    ((failures == 0))
}

main "$@"
