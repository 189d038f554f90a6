#!/usr/bin/env bash
# map_grow_file.sh: map a region much larger than a file and use more of it as it grows
# (docs/src/map_grow_file.md; seed 000 §B, UNP vol. 2's test2.c).
#
# First the classic run: 8 pages mapped over an empty file, grown a page at a time. Then the
# real use: a writer appends records by growing the file, and a follower that mapped the
# whole region once prints each record as it is announced, never reading past the file's end.
#
# Usage: scripts/map_grow_file.sh        (or: make run-map-grow-file)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
    no_args "$@"
    need map_grow_file
    banner map_grow_file "a mapping larger than its file, used as the file grows" "chapter 7, docs/src/map_grow_file.md"
    make_tmp "${TMPDIR:-/tmp}"

    say "Growing the file under the mapping, a page at a time"
    note "before each ftruncate the next page raises SIGBUS; after it, the page reads 0 and takes a write"
    run map_grow_file

    if is_c; then
        note "the writer and follower (--append, --follow) are the Rust port's own; the C program is UNP's test2.c only"
        return
    fi
    say "A writer appends 12 records of 512 bytes; a follower maps 1 MiB of the file once"
    note "the writer's lines go to the follower's stdin: each announces a complete record"
    show "map_grow_file --append 12 $tmp/log | map_grow_file --follow $tmp/log"
    "$bin_dir/map_grow_file" --append 12 "$tmp/log" | "$bin_dir/map_grow_file" --follow "$tmp/log"
    note "the file is $(stat -c %s "$tmp/log") bytes: the mapping is 1 MiB, and it never changed the file's size"
}

main "$@"
