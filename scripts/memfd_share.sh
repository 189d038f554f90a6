#!/usr/bin/env bash
# memfd_share.sh: shared memory with no name: memfd_create, seals, and the descriptor passed
# over a UNIX socket (docs/src/memfd_share.md; beyond the notes, which end at shm_open).
#
# The writer makes a sealed memfd and serves its descriptor to two readers on a socket in a
# temp directory of its own; the object shows only as "/memfd:people (deleted)" among the
# writer's descriptors. Then an unsealed object, which the reader refuses; then why it refuses
# (memfd_shrink: a shrink under a mapping, without and with F_SEAL_SHRINK); then a writer on
# an abstract name (@...), which is no file at all. Everything it starts is stopped, and the
# temp directory removed, on every way out.
#
# Usage: scripts/memfd_share.sh        (or: make run-memfd)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly SEALED="memfd people: 80 bytes, seals: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL"

# bg_sent: the writer's line after each reader, which names the reader's pid.
bg_sent() {
    local line
    IFS= read -r -t 60 line <&"$bg_out" || die "no line from memfd_write"
    printf '%s\n' "$line"
    [[ $line == "sent the descriptor to pid "* ]] || die "expected 'sent the descriptor to pid N', got '$line'"
}

main() {
    no_args "$@"
    need memfd_write memfd_read memfd_shrink
    banner memfd_share "shared memory with no name: memfd_create, seals, SCM_RIGHTS" "chapter 5, docs/src/memfd_share.md"
    if [[ $(uname -s) != Linux ]]; then
        note "memfd and this script's /proc are Linux's; the programs say what they can do here:"
        run memfd_write "${TMPDIR:-/tmp}/people.sock" || true
        return 0
    fi
    make_tmp "${TMPDIR:-/tmp}"
    local sock=$tmp/people.sock

    say "The writer makes a sealed memfd and gives its descriptor to each reader that connects"
    start_bg memfd_write "$sock" --count 2
    bg_expect "$SEALED"
    bg_expect "listening on $sock; Ctrl-C to stop"
    note "the object is in no directory: among the writer's descriptors it shows as a deleted file"
    show "find /proc/$bg_pid/fd -lname '/memfd:*' -printf '%f -> %l\\n'"
    find "/proc/$bg_pid/fd" -lname '/memfd:*' -printf '%f -> %l\n'
    note "and the socket is the only name the writer made (owner-only):"
    show "ls -l $sock"
    ls -l -- "$sock"
    run memfd_read "$sock"
    bg_sent
    note "a second reader gets its own descriptor for the same object"
    show "memfd_read $sock | tail -n 1"
    "$bin_dir/memfd_read" "$sock" | tail -n 1
    bg_sent
    bg_wait
    note "the writer served two readers (--count 2) and removed its socket:"
    show "ls $sock"
    ls -- "$sock" 2>&1 || true

    say "A reader refuses an object that could still shrink (memfd_write --no-seals)"
    start_bg memfd_write "$sock" --no-seals --count 1
    bg_expect "memfd people: 80 bytes, seals: none"
    bg_expect "listening on $sock; Ctrl-C to stop"
    local status=0
    run memfd_read "$sock" || status=$?
    bg_sent
    bg_wait
    [[ $status -eq 1 ]] || die "memfd_read took an unsealed object (exit status $status)"
    note "refused, exit status $status"

    say "Why: a writer shrinks the object under a reader's mapping, without and with the seal"
    run memfd_shrink

    say "An abstract name (@...): a socket with no file at all, gone with the writer"
    local name
    name=@shm-by-example.$(random_hex 6)
    start_bg memfd_write "$name" --count 1
    bg_expect "$SEALED"
    bg_expect "listening on $name; Ctrl-C to stop"
    show "memfd_read $name | tail -n 1"
    "$bin_dir/memfd_read" "$name" | tail -n 1
    bg_sent
    bg_wait
    status=0
    run memfd_read "$name" || status=$?
    [[ $status -eq 1 ]] || die "memfd_read found a writer on $name after it ended"
}

main "$@"
