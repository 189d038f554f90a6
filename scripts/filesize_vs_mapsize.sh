#!/usr/bin/env bash
# filesize_vs_mapsize.sh: a mapping larger or smaller than its file
# (docs/src/filesize_vs_mapsize.md; seed 000 §B, UNP vol. 2's test1.c).
#
# Runs the notes' two cases, then two edges: an empty file, and a mapping of one byte.
# Every access is made in a child process, so the SIGBUS and SIGSEGV lines are output, not
# the end of the program.
#
# Usage: scripts/filesize_vs_mapsize.sh        (or: make run-filesize-vs-mapsize)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
    no_args "$@"
    need filesize_vs_mapsize
    banner filesize_vs_mapsize "file size against mapping size: SIGBUS and SIGSEGV" "chapter 6, docs/src/filesize_vs_mapsize.md"
    make_tmp "${TMPDIR:-/tmp}"

    say "The notes' two cases: a 5000-byte file under a 15000-byte mapping, then the other way round"
    note "SIGBUS: in the mapping, but no page of the file behind it; SIGSEGV: past the mapping"
    run filesize_vs_mapsize

    say "An empty file: every page of the mapping is past the file's end"
    run filesize_vs_mapsize "$tmp/f" 0 100

    say "A mapping of 1 byte: the kernel maps the whole page, so ptr[4095] reads 0; past the page, SIGSEGV"
    run filesize_vs_mapsize "$tmp/f" 100 1
}

main "$@"
