#!/usr/bin/env bash
# bench_transfer.sh: the notes' scenario measured (docs/src/benchmark.md, "The notes'
# scenario"): a 1 GiB file sent from a server to a client through a pipe and through shared
# memory, beside one process copying it alone (direct), best of 3 each (release build).
# The files are on tmpfs (/dev/shm), so that the run measures the copies, not a disk.
#
# Usage: scripts/bench_transfer.sh        (or: make bench)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
    no_args "$@"
    need file_transfer
    local mib=1024 avail
    # Input and output both live in /dev/shm: leave room for both, and then some.
    avail=$(df --output=avail -m /dev/shm | tail -1 | tr -d ' ')
    if ((avail < 3 * mib)); then
        mib=$((avail / 4))
        note "/dev/shm has ${avail} MiB free: a ${mib} MiB file instead of 1 GiB"
    fi
    make_tmp /dev/shm
    say "file_transfer: a ${mib} MiB file, server to client, on tmpfs ($(nproc) CPUs)"
    head -c "$((mib << 20))" /dev/urandom >"$tmp/in"
    run file_transfer --time "$tmp/in" "$tmp/out"
}

main "$@"
