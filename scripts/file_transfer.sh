#!/usr/bin/env bash
# file_transfer.sh: the notes' own scenario (docs/src/benchmark.md, "The notes' scenario";
# seed 000, UNP vol. 2 §12.1): a server sends a file to a client, through a pipe (four
# copies) and through shared memory (two), beside one process copying it alone.
#
# Usage: scripts/file_transfer.sh        (or: make run-file-transfer)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
    no_args "$@"
    banner file_transfer "a file from server to client: four copies through a pipe, two through shared memory" "chapter 9, docs/src/benchmark.md"
    if is_c; then
        note "file_transfer has no C version: the notes show its two figures, not a program"
        return 0
    fi
    need file_transfer
    make_tmp "${TMPDIR:-/tmp}"
    say "A 16 MiB file through each path; each side counts its calls, and the output is compared"
    show "head -c $((16 << 20)) /dev/urandom >$tmp/in"
    head -c $((16 << 20)) /dev/urandom >"$tmp/in"
    run file_transfer "$tmp/in" "$tmp/out"
    note "the times: make bench (a 1 GiB file, best of 3, release build)"
}

main "$@"
