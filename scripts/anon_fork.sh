#!/usr/bin/env bash
# anon_fork.sh: a parent and its child share a mapping made before fork
# (docs/src/anon_fork.md; seed 002's anonymous-mapping example, seed 004's /dev/zero,
# seed 001's demo1). Runs each variant and says what to look for.
#
# Usage: scripts/anon_fork.sh        (or: make run-anon-fork)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
    no_args "$@"
    need anon_fork
    banner anon_fork "parent and child share MAP_SHARED | MAP_ANONYMOUS memory" "chapter 2, docs/src/anon_fork.md"
    make_tmp "${TMPDIR:-/tmp}"

    say "MAP_SHARED | MAP_ANONYMOUS (seed 002)"
    note "the child reads the parent's ages 20..24; the parent reads the child's 100"
    run anon_fork

    say "MAP_PRIVATE | MAP_ANONYMOUS (--private)"
    note "copy-on-write: the child's copy was taken at fork, before the parent wrote (ages 0),"
    note "and the child's 100 goes to its own copy (the parent keeps 20)"
    run anon_fork --private

    say "MAP_SHARED of /dev/zero (--dev-zero; seed 004's fallback where MAP_ANONYMOUS is missing)"
    run anon_fork --dev-zero

    say "MAP_SHARED of a file (--file; seed 001's demo1)"
    run anon_fork --file "$tmp/demo1"
    note "the records are in the file too ($(stat -c %s "$tmp/demo1") bytes): names b..f, ages 100 21 22 23 24,"
    note "then zeros (od prints * for lines that repeat the one above)"
    show "od -A d -t c -t d4 $tmp/demo1"
    od -A d -t c -t d4 "$tmp/demo1"
}

main "$@"
