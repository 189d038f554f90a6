#!/usr/bin/env bash
# clean_ipc.sh: list and remove what this project's programs and scripts may have left behind
# (a process killed with SIGKILL cannot clean up), and nothing else. Only what you own and what
# is no longer in use, among:
#   - System V segments under the notes' key 0x000004d2 that are one 8-byte people record, or
#     under a key 0x5342xxxx (the namespace the tests and scripts use), with no process attached;
#   - POSIX shm objects /xyz that are one 36-byte student record, or /shm-by-example.*, that no
#     process maps or holds open;
#   - the scripts' temp directories shm-by-example.XXXXXX (in /dev/shm, $TMPDIR, /tmp, /var/tmp)
#     whose lock (.lock, held by the script and its programs while they run) is free, and the
#     tests' ones (no .lock) untouched for 10 minutes.
# The programs themselves leave no temp file: theirs are unlinked as soon as they are open.
#
# Anything listed may vanish before it is acted on (its owner was finishing): that is skipped
# quietly, never an error.
#
# Usage: scripts/clean_ipc.sh [--dry-run | --check] [--only KEY|NAME|DIR]
#   (none)     list and remove
#   --dry-run  list only
#   --check    list the test namespace's leftovers only, and exit 1 if there are any
#              (`make test` runs it after the tests; a test run beside it may trip it)
#   --only     just the segment with this key (0x...), the object with this name (/name), or
#              the directory with this path (/dev/shm/shm-by-example.XXXXXX), if it is one of
#              the above (tests use it, so as not to touch each other's)
set -euo pipefail

usage() {
    echo "usage: $(basename "$0") [--dry-run | --check] [--only KEY|NAME|DIR]" >&2
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

# dir_left DIR: whether the temp directory DIR was left behind: its lock can be taken (opened
# read-only, so a lock file is never created in a directory being removed), or it has no lock
# and nothing in it changed for 10 minutes.
dir_left() {
    if [[ -e $1/.lock ]]; then
        { flock -n 9; } 9<"$1/.lock" 2>/dev/null
    else
        [[ -n $(find "$1" -maxdepth 0 -mmin +10 2>/dev/null) ]] &&
            [[ -z $(find "$1" -mindepth 1 -mmin -10 -print -quit 2>/dev/null) ]]
    fi
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
        local line
        line=$(printf 'System V segment: key 0x%08x, shmid %s, %s bytes' "$key" "$shmid" "$size")
        if [[ $mode == remove ]]; then
            # Gone in between (its owner removed it): not a leftover after all.
            ipcrm -m "$shmid" 2>/dev/null || continue
            line+=": removed"
        fi
        found=1
        printf '%s\n' "$line"
    done < <(tail -n +2 /proc/sysvipc/shm)

    local f fuid fsize
    for f in /dev/shm/shm-by-example.* /dev/shm/xyz; do
        [[ -f $f && ! -L $f ]] || continue
        # One stat for owner and size; it fails if the object went in between.
        read -r fuid fsize < <(stat -c '%u %s' -- "$f" 2>/dev/null) || continue
        [[ $fuid == "$uid" ]] || continue
        if [[ $f == /dev/shm/xyz ]]; then
            [[ $mode != check && $fsize == 36 ]] || continue
        fi
        [[ -z $only || $only == "/${f#/dev/shm/}" ]] || continue
        in_use "$f" && continue
        local line="POSIX shm object: /${f#/dev/shm/}, $fsize bytes"
        if [[ $mode == remove ]]; then
            rm -- "$f" 2>/dev/null || continue
            line+=": removed"
        fi
        found=1
        printf '%s\n' "$line"
    done

    local parents=(/dev/shm "${TMPDIR:-/tmp}" /tmp /var/tmp) parent d duid seen=
    for parent in "${parents[@]}"; do
        parent=${parent%/}
        [[ :$seen: == *:"$parent":* ]] && continue
        seen+=:$parent
        for d in "$parent"/shm-by-example.*; do
            [[ -d $d && ! -L $d ]] || continue
            duid=$(stat -c %u -- "$d" 2>/dev/null) || continue
            [[ $duid == "$uid" ]] || continue
            [[ -z $only || $only == "$d" ]] || continue
            dir_left "$d" || continue
            local line="temp directory: $d"
            if [[ $mode == remove ]]; then
                rm -rf -- "$d" 2>/dev/null
                [[ -e $d ]] && continue
                line+=": removed"
            fi
            found=1
            printf '%s\n' "$line"
        done
    done

    if ((found == 0)); then
        echo "no leftovers of shm-by-example"
    elif [[ $mode == check ]]; then
        echo "$(basename "$0"): the leftovers above were not removed by the program that made them" >&2
        exit 1
    fi
}

main "$@"
