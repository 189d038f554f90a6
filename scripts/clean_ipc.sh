#!/usr/bin/env bash
# clean_ipc.sh: list and remove what this project's programs and scripts may have left behind
# (a process killed with SIGKILL cannot clean up), and nothing else. Only what you own and what
# is no longer in use, among:
#   - System V segments under the notes' key 0x000004d2 that are one 8-byte people record, or
#     under a key 0x5342xxxx (the namespace the tests and scripts use), with no process attached;
#   - POSIX shm objects /xyz that are one 36-byte student record, or /shm-by-example.*, and
#     named semaphores /shm-by-example.* (the files /dev/shm/sem.shm-by-example.*), that no
#     process maps or holds open;
#   - System V semaphore sets under a key 0x5342xxxx while no shm_counter of yours runs (a set
#     has no attach count to tell whether it is in use);
#   - the scripts' temp directories shm-by-example.XXXXXX (in /dev/shm, $TMPDIR, /tmp,
#     /var/tmp, $SHM_DISK_DIR, target/) whose lock file shm-by-example.XXXXXX.lock beside them
#     is not locked (the script and its programs hold it while they run), and the tests' ones
#     (no lock file) untouched for 10 minutes.
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

# show_help: the opening comment above, with its Usage: lines (--help).
show_help() {
    sed -n '2,${/^#/!q;s/^# \{0,1\}//;p}' "$0"
    exit 0
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

# lock_free FILE: whether FILE's lock (flock) can be taken: no process holds it. The file is
# opened read-only, so a lock file is never created where there was none; one that vanished
# meanwhile is not free (it is nobody's business any more).
lock_free() {
    { flock -n 9; } 2>/dev/null 9<"$1"
}

# untouched DIR: whether nothing in DIR (a test's directory, with no lock) changed for 10 minutes.
untouched() {
    [[ -n $(find "$1" -maxdepth 0 -mmin +10 2>/dev/null) ]] &&
        [[ -z $(find "$1" -mindepth 1 -mmin -10 -print -quit 2>/dev/null) ]]
}

main() {
    local mode=remove only=
    while [[ $# -gt 0 ]]; do
        case $1 in
            --dry-run) mode=list ;;
            --check) mode=check ;;
            -h | --help) show_help ;;
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

    # /proc/sysvipc/sem: key (decimal) semid perms nsems uid ...
    local semid nsems counting=0
    pgrep -u "$uid" -f '(^|/)(ex[0-9]+_)?shm_counter( |$)' >/dev/null 2>&1 && counting=1
    while read -r key semid _ nsems owner _; do
        [[ $owner == "$uid" ]] || continue
        ((key >= 0x53420000 && key <= 0x5342ffff)) || continue
        ((counting == 0)) || continue
        [[ -z $only || $only == "$(printf '0x%08x' "$key")" ]] || continue
        local line
        line=$(printf 'System V semaphore set: key 0x%08x, semid %s, %s semaphore(s)' \
            "$key" "$semid" "$nsems")
        if [[ $mode == remove ]]; then
            ipcrm -s "$semid" 2>/dev/null || continue
            line+=": removed"
        fi
        found=1
        printf '%s\n' "$line"
    done < <(tail -n +2 /proc/sysvipc/sem)

    local f fuid fsize
    for f in /dev/shm/sem.shm-by-example.*; do
        [[ -f $f && ! -L $f ]] || continue
        fuid=$(stat -c %u -- "$f" 2>/dev/null) || continue
        [[ $fuid == "$uid" ]] || continue
        [[ -z $only || $only == "/${f#/dev/shm/sem.}" ]] || continue
        in_use "$f" && continue
        local line="named semaphore: /${f#/dev/shm/sem.}"
        if [[ $mode == remove ]]; then
            rm -- "$f" 2>/dev/null || continue
            line+=": removed"
        fi
        found=1
        printf '%s\n' "$line"
    done

    for f in /dev/shm/shm-by-example.* /dev/shm/xyz; do
        [[ -f $f && ! -L $f && $f != *.lock ]] || continue
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

    # The scripts' temp directories: shm-by-example.XXXXXX, each with the lock file
    # shm-by-example.XXXXXX.lock beside it (scripts/lib.sh, make_tmp), in every directory the
    # scripts use: /dev/shm, $TMPDIR, /tmp, /var/tmp, $SHM_DISK_DIR, and target/ here.
    local here parents parent e dir lockf euid seen=
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    parents=(/dev/shm "${TMPDIR:-/tmp}" /tmp /var/tmp "${SHM_DISK_DIR:-/tmp}" "$here/target")
    for parent in "${parents[@]}"; do
        parent=${parent%/}
        [[ :$seen: == *:"$parent":* ]] && continue
        seen+=:$parent
        for e in "$parent"/shm-by-example.*; do
            [[ ! -L $e ]] || continue
            if [[ $e == *.lock && -f $e ]]; then
                dir=${e%.lock}
                lockf=$e
            elif [[ -d $e && ! -e $e.lock ]]; then
                # No lock beside it: a test's directory (testkit), a leftover when untouched
                # for 10 minutes.
                dir=$e
                lockf=
            else
                continue # a directory whose lock file comes next, or a POSIX object
            fi
            euid=$(stat -c %u -- "$e" 2>/dev/null) || continue
            [[ $euid == "$uid" ]] || continue
            [[ -z $only || $only == "$dir" ]] || continue
            if [[ -n $lockf ]]; then
                lock_free "$lockf" || continue
            else
                untouched "$dir" || continue
            fi
            local line="temp directory: $dir"
            [[ -e $dir ]] || line="lock file of a temp directory never made: $lockf"
            if [[ $mode == remove ]]; then
                rm -rf -- "$dir" 2>/dev/null
                [[ -e $dir ]] && continue
                [[ -z $lockf ]] || rm -f -- "$lockf"
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
