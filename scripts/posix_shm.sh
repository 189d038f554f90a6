#!/usr/bin/env bash
# posix_shm.sh: POSIX shared memory between unrelated processes
# (docs/src/posix_shm.md; seed 003 §3.2's program and the reader it needs).
#
# Shows the object in /dev/shm (where Linux keeps POSIX shm objects) before, between and after
# the writer and the reader; then the notes' version, which unlinks at once; then shm_unlink
# on an object that is still mapped. Uses a name of its own (/shm-by-example.PID), never the
# notes' /xyz, and removes the object on every way out.
#
# Usage: scripts/posix_shm.sh        (or: make run-posix-shm)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=/shm-by-example.$$
file=/dev/shm/${name#/}

script_cleanup() {
    rm -f -- "$file"
}

# object: `ls -l` of the object's file in /dev/shm, or that there is none.
object() {
    show "ls -l $file"
    if [[ -e $file ]]; then
        ls -l -- "$file"
    else
        echo "(none)"
    fi
}

main() {
    need posix_shm_write posix_shm_read

    say "The writer creates $name; it outlives the writer; the reader prints it and unlinks it"
    object
    run posix_shm_write --name "$name"
    note "the writer has exited; the object stays, a 36-byte file on tmpfs, mode 0600"
    object
    run posix_shm_read --name "$name"
    object

    say "The notes' version unlinks the object before exiting (--unlink): no reader can open it"
    run posix_shm_write --name "$name" --unlink
    object

    say "shm_unlink on an object that is still mapped"
    start_bg posix_shm_write --name "$name" --wait-stdin
    bg_expect "size=36, mode=0600"
    bg_expect "written; mapped until a line arrives on stdin"
    object
    run posix_shm_read --name "$name"
    note "the name is gone at once; the memory lives on while the writer has it mapped"
    object
    note "release the writer: it unmaps, and the kernel frees the memory"
    bg_release
    bg_wait
}

main "$@"
