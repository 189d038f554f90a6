#!/usr/bin/env bash
# map_normalfile.sh: two unrelated processes share a file through mmap
# (docs/src/map_normalfile.md; seed 002's map_normalfile1.c and map_normalfile2.c).
#
# The writer maps 10 records of a 5-record file and holds the mapping; the reader maps the
# same file and prints all 10; after the writer unmaps, the reader runs again. Once in a
# directory on a disk (the records past the end of the file are gone: the page was written
# back) and once on tmpfs (they survive: tmpfs never writes pages back).
#
# Usage: scripts/map_normalfile.sh        (or: make run-map-normalfile [IMPL=c])
# SHM_DISK_DIR chooses the disk-backed directory (default /var/tmp).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# session DIR: writer holds, reader reads, writer lets go, reader reads again.
session() {
    local file=$1/test_shm

    start_bg map_normalfile1 --wait-stdin "$file"
    bg_expect "initialize over"
    note "the writer holds its mapping: the reader sees all 10 records, 5 of them past the end of the 40-byte file"
    run map_normalfile2 "$file"

    note "release the writer (a line on its stdin): it calls msync, then munmap"
    bg_release
    bg_expect "umap ok"
    bg_wait

    note "the writer is gone; the file is still $(stat -c %s "$file") bytes long"
    run map_normalfile2 "$file"
}

main() {
    no_args "$@"
    need map_normalfile1 map_normalfile2
    banner map_normalfile "two unrelated processes share a file through mmap" "chapter 1, docs/src/map_normalfile.md"

    local disk=${SHM_DISK_DIR:-/var/tmp}
    [[ -d $disk ]] || disk=$root/target  # need has built the binaries, so target/ exists
    make_tmp "$disk"
    say "A file on a disk: $tmp ($(fs_type "$tmp"))"
    note "writing the page back to the file clears the bytes past its end: records 6..10 read as zeros afterwards"
    [[ $(fs_type "$tmp") == tmpfs ]] && note "this directory is on tmpfs, so records 6..10 will survive: set SHM_DISK_DIR to a disk directory"
    session "$tmp"
    drop_tmp

    make_tmp /dev/shm
    say "A file on tmpfs: $tmp ($(fs_type "$tmp"))"
    note "tmpfs pages are never written back, so records 6..10 survive the writer"
    session "$tmp"

    if is_c; then
        note "seed 003's five-record version is the Rust port's --records 5; the C pair ports seed 002 only"
        return
    fi
    say "Seed 003's version: map only the 5 records the file holds (--records 5)"
    rm -f -- "$tmp/test_shm"
    run map_normalfile1 --records 5 --hold 0 "$tmp/test_shm"
    run map_normalfile2 --records 5 "$tmp/test_shm"
}

main "$@"
