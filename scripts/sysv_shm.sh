#!/usr/bin/env bash
# sysv_shm.sh: System V shared memory between unrelated processes
# (docs/src/sysv_shm.md; seed 003 §2.5's write and read programs, seed 004's ftok).
#
# Shows the segment in `ipcs -m` before, between and after the writer and the reader; then
# what IPC_RMID does to a segment that is still attached; then a key made with ftok.
# Uses keys of its own (0x5342 and 16 random bits, this project's namespace), never the notes'
# 1234, so it can run beside another copy of itself; removes the segments it created on every
# way out.
#
# Usage: scripts/sysv_shm.sh        (or: make run-sysv)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

key=       # the key of the next segment: 0x5342 and 16 random bits (new_key)
ftok_key=
ours=()    # keys of the segments this script created, removed on every way out

# new_key: draw a key that no segment has now: random, never the pid (two runs in separate
# PID namespaces that share System V IPC often have the same pid).
new_key() {
    key=0x5342$(random_hex | cut -c1-4)
    if ipcs -m | awk -v k="$key" '$1 == k { found = 1 } END { exit !found }'; then
        new_key
    fi
}

script_cleanup() {
    local k
    for k in "${ours[@]}"; do
        ipcrm -M "$k" 2>/dev/null || true
    done
}

# write_new ARGS...: run sysv_write ARGS --new, where ARGS give the key $key (--key, or --ftok
# for a key computed into $key). A key drawn free can be taken by another run before the
# writer's shmget; --new makes that an error (IPC_EXCL: "File exists") instead of a shared
# segment, and write_new returns 3 for the caller to draw another key. The key is marked as
# this script's before the writer runs, so that a Ctrl-C during the run still removes it.
write_new() {
    local out status=0
    ours+=("$key")
    out=$("$bin_dir/sysv_write" "$@" --new 2>&1) || status=$?
    if [[ $status -ne 0 && $out == *": File exists" ]]; then
        unset 'ours[-1]'
        note "$key is taken by another run; drawing another key"
        return 3
    fi
    show sysv_write "$@" --new
    if [[ -n $out ]]; then
        printf '%s\n' "$out"
    fi
    [[ $status -eq 0 ]] || exit "$status"
}

# segments WHAT VALUE: `ipcs -m`, only its header and the rows whose WHAT (key or shmid) is
# VALUE, shown as the pipeline it is. When no row matches, a note says so before the command,
# which then prints its header alone.
segments() {
    local filter out
    if [[ $1 == shmid ]]; then
        filter="/^key/ || \$2 == $2"
    else
        filter="/^key/ || \$1 == \"$2\""
    fi
    out=$(ipcs -m | awk "$filter")
    if [[ $out != *$'\n'* ]]; then
        note "ipcs -m lists no segment with $1 $2: the filter below keeps only its header"
    fi
    show "ipcs -m | awk '$filter'"
    printf '%s\n' "$out"
}

main() {
    no_args "$@"
    need sysv_write sysv_read
    banner sysv_shm "System V shared memory: shmget, shmat, shmdt, shmctl" "chapter 3, docs/src/sysv_shm.md"

    say "The writer creates the segment; it outlives the writer; the reader prints it and removes it"
    local try
    for try in 1 2 3 4 5; do
        new_key
        segments key "$key"
        write_new --key "$key" && break
        [[ $try -lt 5 ]] || die "5 random keys in a row were taken: run make clean-ipc"
    done
    note "the writer has exited; the segment stays, owned by the kernel: 8 bytes, perms 600, nattch 0"
    segments key "$key"
    run sysv_read --key "$key" --stat
    segments key "$key"

    say "IPC_RMID on a segment that is still attached"
    new_key
    note "a new key, $key: with --new the writer fails rather than share one another run took"
    ours+=("$key")
    start_bg sysv_write --key "$key" --new --wait-stdin
    bg_expect "written; attached until a line arrives on stdin"
    local shmid
    shmid=$(ipcs -m | awk -v k="$key" '$1 == k { print $2 }')
    segments key "$key"
    note "the reader attaches too (nattch 2), reads, detaches, and removes the segment"
    run sysv_read --key "$key" --stat
    note "removed but still attached: the key is gone (0x00000000), status dest, until the last shmdt"
    segments shmid "$shmid"
    note "release the writer: it detaches, and the kernel frees the segment"
    bg_release
    bg_wait
    segments shmid "$shmid"

    if is_c; then
        note "ftok (seed 004) is the Rust port's --ftok PATH PROJ_ID; the C programs take --key only"
        return
    fi
    say "A key made with ftok(path, proj_id) (seed 004)"
    make_tmp "${TMPDIR:-/tmp}"
    local keyfile dev ino
    for try in 1 2 3 4 5; do
        # Each try a new file: a new inode, so a new key.
        keyfile=$tmp/keyfile$try
        : >"$keyfile"
        read -r dev ino < <(stat -c '%d %i' "$keyfile")
        # What glibc's ftok computes: proj_id's low 8 bits, then the device's, then the inode's low 16.
        ftok_key=$(printf '0x%08x' $(((70 << 24) | ((dev & 0xff) << 16) | (ino & 0xffff))))
        key=$ftok_key
        note "ftok($keyfile, 70) = 70 << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff) = $ftok_key"
        write_new --ftok "$keyfile" 70 && break
        [[ $try -lt 5 ]] || die "5 ftok keys in a row were taken: run make clean-ipc"
    done
    segments key "$ftok_key"
    run sysv_read --ftok "$keyfile" 70
    segments key "$ftok_key"
}

main "$@"
