#!/usr/bin/env bash
# sysv_shm.sh: System V shared memory between unrelated processes
# (docs/src/sysv_shm.md; seed 003 §2.5's write and read programs, seed 004's ftok).
#
# Shows the segment in `ipcs -m` before, between and after the writer and the reader; then
# what IPC_RMID does to a segment that is still attached; then a key made with ftok.
# Uses a key of its own (0x5342...., this project's namespace), never the notes' 1234, so it
# can run beside another copy of itself; removes the segment on every way out.
#
# Usage: scripts/sysv_shm.sh        (or: make run-sysv)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

key=$(printf '0x5342%04x' $(($$ & 0xffff)))
ftok_key=

script_cleanup() {
    ipcrm -M "$key" 2>/dev/null || true
    if [[ -n $ftok_key ]]; then
        ipcrm -M "$ftok_key" 2>/dev/null || true
    fi
}

# segments WHAT VALUE: `ipcs -m`, only its header and the rows whose WHAT (key or shmid) is VALUE.
segments() {
    local col=1
    [[ $1 == shmid ]] && col=2
    show "ipcs -m   # $1 $2 only"
    ipcs -m | awk -v c="$col" -v v="$2" '
        /^key/ { print; next }
        $c == v { print; found = 1 }
        END { if (!found) print "(none)" }'
}

main() {
    need sysv_write sysv_read

    say "The writer creates the segment; it outlives the writer; the reader prints it and removes it"
    segments key "$key"
    run sysv_write --key "$key"
    note "the writer has exited; the segment stays, owned by the kernel: 8 bytes, perms 600, nattch 0"
    segments key "$key"
    run sysv_read --key "$key" --stat
    segments key "$key"

    say "IPC_RMID on a segment that is still attached"
    start_bg sysv_write --key "$key" --wait-stdin
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

    say "A key made with ftok(path, proj_id) (seed 004)"
    make_tmp "${TMPDIR:-/tmp}"
    local keyfile=$tmp/keyfile dev ino
    : >"$keyfile"
    read -r dev ino < <(stat -c '%d %i' "$keyfile")
    # What glibc's ftok computes: proj_id's low 8 bits, then the device's, then the inode's low 16.
    ftok_key=$(printf '0x%08x' $(((70 << 24) | ((dev & 0xff) << 16) | (ino & 0xffff))))
    note "ftok($keyfile, 70) = 70 << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff) = $ftok_key"
    run sysv_write --ftok "$keyfile" 70
    segments key "$ftok_key"
    run sysv_read --ftok "$keyfile" 70
    segments key "$ftok_key"
}

main "$@"
