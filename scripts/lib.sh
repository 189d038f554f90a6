#!/usr/bin/env bash
# lib.sh: what every script in scripts/ does: find the example binaries, narrate, show each
# command the way the book's transcripts do, keep a temp directory and a background program,
# and remove both on every way out (end, error, Ctrl-C); answer --help with the script's
# opening comment.
#
# Sourced, not run. The caller sets `set -euo pipefail` and calls `main "$@"`.
# Usage: source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   (from a script in scripts/)

# header_usage: the running script's opening comment (what it does, then its Usage: line),
# which is its --help.
header_usage() {
    sed -n '2,${/^#/!q;s/^# \{0,1\}//;p}' "$0"
}

# Run rather than sourced: there is nothing to do but say so.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case ${1-} in
    -h | --help) header_usage; exit 0 ;;
    *) header_usage >&2; exit 2 ;;
    esac
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Which programs to run: the Rust ports (IMPL=rust, the default) or the project's own C
# programs (IMPL=c, from crates/*/c/, built into target/c). The Makefile sets BIN_DIR after
# building; run by hand, a script builds what it needs.
impl=${IMPL:-rust}
case $impl in
rust) bin_dir=${BIN_DIR:-$root/target/debug} ;;
c) bin_dir=${BIN_DIR:-$root/target/c} ;;
*) printf '%s: IMPL must be rust or c, not %s\n' "$(basename "$0")" "$impl" >&2; exit 2 ;;
esac
prog=$(basename "$0")

tmp=        # the temp directory, once make_tmp has made it
tmp_lock=   # ... the fd of its lock
bg_pid=     # the program running in the background (start_bg), if any
bg_out=     # ... the fd its stdout is read from
bg_in=      # ... the fd its stdin is written to

# On every way out: stop the background program, run the script's own `script_cleanup` if it
# defines one (to remove a segment or shm object it may have left half way), remove $tmp.
cleanup() {
    if [[ -n $bg_pid ]] && kill -0 "$bg_pid" 2>/dev/null; then
        kill "$bg_pid" 2>/dev/null || true
        wait "$bg_pid" 2>/dev/null || true
    fi
    if declare -F script_cleanup >/dev/null; then
        script_cleanup || true
    fi
    drop_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# no_args "$@": for a script that takes no arguments. --help (or -h) prints its opening
# comment and exits 0; any other argument is a usage error: its Usage: line, exit 2.
no_args() {
    case ${1-} in
    -h | --help) header_usage; exit 0 ;;
    esac
    [[ $# -eq 0 ]] || usage_error "unexpected argument $1"
}

# usage_error MESSAGE: `prog: MESSAGE` and the script's Usage: line on stderr, exit 2.
usage_error() {
    printf '%s: %s\n' "$prog" "$1" >&2
    header_usage | grep -m 1 '^Usage:' >&2
    exit 2
}

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

# need BIN...: make sure the example binaries exist, building them if they do not.
need() {
    local b
    for b in "$@"; do
        if [[ ! -x $bin_dir/$b ]]; then
            if [[ $impl == c ]]; then
                make --no-print-directory -C "$root" c >/dev/null || die "make c failed"
            else
                (cd "$root" && cargo build --quiet --bins) || die "cargo build failed"
            fi
            break
        fi
    done
    for b in "$@"; do
        [[ -x $bin_dir/$b ]] || die "$bin_dir/$b: not built"
    done
}

# make_tmp PARENT: a fresh directory PARENT/shm-by-example.XXXXXX, removed on exit; its path
# is in $tmp. Beside it, PARENT/shm-by-example.XXXXXX.lock, on which the script holds a lock
# (flock) for as long as it runs (the background programs inherit it): a directory whose lock
# anyone can take belongs to a script that died without cleaning up (SIGKILL), and
# `scripts/clean_ipc.sh` removes it. A lock, not a pid: a pid says nothing across PID
# namespaces. The lock file is made (O_EXCL) and locked before the directory exists, so the
# directory is never there without its lock held, whenever the script is killed.
make_tmp() {
    local d
    while :; do
        d=$(mktemp -u "$1/shm-by-example.XXXXXX")
        # noclobber makes bash open with O_EXCL: a name that exists, a symlink included, fails.
        if (set -o noclobber && : >"$d.lock") 2>/dev/null; then
            break
        fi
    done
    exec {tmp_lock}<"$d.lock"
    flock -n "$tmp_lock" || die "flock $d.lock: taken"
    mkdir -m 700 -- "$d" || die "mkdir $d failed"
    tmp=$d
}

# drop_tmp: remove $tmp, then its lock file, and let go of the lock.
drop_tmp() {
    [[ -n $tmp ]] || return 0
    rm -rf -- "$tmp"
    rm -f -- "$tmp.lock"
    exec {tmp_lock}<&-
    tmp=
}

# random_hex [BYTES]: 2 hex digits per random byte (8 bytes unless told), for names and keys
# that must not collide with another run's. Never $$ alone: two runs in separate PID
# namespaces that share System V IPC and /dev/shm (containers, CI jobs) often have the same pid.
# shellcheck disable=SC2120 # BYTES is optional: most callers pass none
random_hex() {
    od -An -N"${1:-8}" -tx1 /dev/urandom | tr -d ' \n'
}

# fs_type DIR: the filesystem DIR is on (ext4, tmpfs, btrfs, xfs, ...), as /proc/self/mounts
# names it. `stat -f -c %T` would say "ext2/ext3" for ext4: it goes by the magic number, so it
# is the last resort. findmnt lists every mount stacked on the mount point (a container can
# have two tmpfs on /dev/shm), the one a path reaches last: hence tail.
fs_type() {
    local t
    t=$(findmnt -no FSTYPE --target "$1" 2>/dev/null | tail -n 1) && [[ -n $t ]] ||
        t=$(df --output=fstype -- "$1" 2>/dev/null | tail -n 1) && [[ -n $t ]] ||
        t=$(stat -f -c %T -- "$1")
    printf '%s
' "$t"
}

# banner NAME WHAT CHAPTER: the line that opens each example's run, so that `make run-all`
# says which one is running.
banner() {
    printf '\n=== %s: %s (%s) ===\n' "$1" "$2" "$3"
}

# is_c: whether this run uses the C programs (IMPL=c). A script skips, with a note, a step
# whose option only the Rust port has.
is_c() {
    [[ $impl == c ]]
}

say() {
    printf '\n== %s\n' "$*"
}

note() {
    printf '# %s\n' "$*"
}

# show ARGS...: the command line as the transcripts print it.
show() {
    printf '$ %s\n' "$*"
}

# run PROGRAM ARGS...: show the command, then run the example binary PROGRAM.
run() {
    show "$@"
    "$bin_dir/$1" "${@:2}"
}

# expect_line FD WANT: read a line from the background program on FD, print it, and fail
# unless it is WANT. This is how scripts wait for another process: on its output, never a
# sleep. The timeout only stops a broken program from hanging the script.
expect_line() {
    local line
    IFS= read -r -t 60 line <&"$1" || die "no line from the background program (wanted '$2')"
    printf '%s\n' "$line"
    [[ $line == "$2" ]] || die "expected '$2', got '$line'"
}

# start_bg PROGRAM ARGS...: show `$ PROGRAM ARGS &` and start the example binary PROGRAM in
# the background, its stdin and stdout connected to this script (bg_expect, bg_release,
# bg_wait).
start_bg() {
    show "$* &"
    coproc BG { exec "$bin_dir/$1" "${@:2}"; }
    # shellcheck disable=SC2153 # BG_PID is set by coproc BG
    bg_pid=$BG_PID
    # Copies of the coprocess's pipes: bash closes its own as soon as the program exits.
    exec {bg_out}<&"${BG[0]}" {bg_in}>&"${BG[1]}"
}

# bg_expect WANT: wait for the background program's next line, which must be WANT.
bg_expect() {
    expect_line "$bg_out" "$1"
}

# bg_release: a line on the background program's stdin, which releases it.
bg_release() {
    echo >&"$bg_in"
    exec {bg_in}>&-
}

# bg_wait: wait for the background program to end; fail if it fails.
bg_wait() {
    wait "$bg_pid"
    bg_pid=
    exec {bg_out}<&-
}
