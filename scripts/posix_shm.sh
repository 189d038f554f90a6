#!/usr/bin/env bash
# posix_shm.sh: POSIX shared memory between unrelated processes
# (docs/src/posix_shm.md; seed 003 §3.2's program and the reader it needs).
#
# Shows the object in /dev/shm (where Linux keeps POSIX shm objects) before, between and after
# the writer and the reader; then the notes' version, which unlinks at once; then shm_unlink
# on an object that is still mapped. Uses names of its own (/shm-by-example.RANDOM), never the
# notes' /xyz, and removes the object it created on every way out.
#
# Usage: scripts/posix_shm.sh        (or: make run-posix-shm)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=      # the object's name: /shm-by-example.RANDOM (new_name)
file=      # ... where Linux keeps it: /dev/shm/shm-by-example.RANDOM
ours=      # the file of the object this script created last, removed on every way out

# new_name: draw a name for the next object: 64 random bits, never the pid alone (two runs in
# separate PID namespaces that share /dev/shm often have the same pid), free when drawn.
new_name() {
    name=/shm-by-example.$(random_hex 6)
    file=/dev/shm/${name#/}
    if [[ -e $file ]]; then
        new_name
    fi
}

script_cleanup() {
    if [[ -n $ours ]]; then
        rm -f -- "$ours"
    fi
}

# write_new ARGS...: run posix_shm_write --name NAME --new ARGS. --new makes a name another
# run took in the meantime an error (O_EXCL: "File exists") instead of a shared object: then
# draw a new name and try again, a few times. The name is marked as this script's before the
# writer runs, so that a signal to the script during the run still removes the object.
write_new() {
    local try out status
    for try in 1 2 3 4 5; do
        status=0
        ours=$file
        out=$("$bin_dir/posix_shm_write" --name "$name" --new "$@" 2>&1) || status=$?
        if [[ $status -ne 0 && $out == *": File exists" ]]; then
            ours=
            note "$name is taken (try $try); drawing another name"
            new_name
            continue
        fi
        show posix_shm_write --name "$name" --new "$@"
        printf '%s\n' "$out"
        [[ $status -eq 0 ]] || exit "$status"
        return 0
    done
    die "5 random names in a row were taken: run make clean-ipc"
}

# object: `ls -l` of the object's file in /dev/shm. When there is none, a note says so before
# the command, and ls's own error (on stderr) follows it.
object() {
    if [[ -e $file ]]; then
        show "ls -l $file"
        ls -l -- "$file"
    else
        note "no object is named $name: /dev/shm has no such file, and ls says so"
        show "ls -l $file"
        ls -l -- "$file" 2>&1 || true
    fi
}

main() {
    no_args "$@"
    need posix_shm_write posix_shm_read
    banner posix_shm "POSIX shared memory: shm_open, ftruncate, mmap, shm_unlink" "chapter 4, docs/src/posix_shm.md"

    new_name
    say "The writer creates $name; it outlives the writer; the reader prints it and unlinks it"
    object
    write_new
    note "the writer has exited; the object stays, a 36-byte file on tmpfs, mode 0600"
    object
    run posix_shm_read --name "$name"
    object

    say "The notes' version unlinks the object before exiting (--unlink): no reader can open it"
    write_new --unlink
    object

    say "shm_unlink on an object that is still mapped"
    new_name
    note "a new name, $name: with --new the writer fails rather than share one another run took"
    ours=$file
    start_bg posix_shm_write --name "$name" --new --wait-stdin
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
