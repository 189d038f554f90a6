#!/usr/bin/env bash
# shm_counter.sh: two processes increment one counter in shared memory
# (docs/src/shm_counter.md; seed 000's increment examples, UNP vol. 2's incr2.c, incr3.c and
# incr_map_anon.c).
#
# With a lock, with an atomic instruction, and with neither (updates get lost); the three
# places the counter can live; what happens when a process dies holding the lock; and two
# unrelated processes sharing one counter by name.
#
# Usage: scripts/shm_counter.sh        (or: make run-counter)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=/shm-by-example.$$

script_cleanup() {
    rm -f -- "/dev/shm/${name#/}"
}

main() {
    need shm_counter

    say "The C programs' trace: each process prints the value it found, under the lock"
    run shm_counter --loops 3 --trace

    say "No protection: a load and a store from each process; increments get lost"
    note "on one core the processes rarely interleave inside an increment; on two, often"
    run shm_counter --loops 2000000 --sync none

    say "The same with a lock (raw_sync mutex), with fetch_add, with a robust mutex: nothing lost"
    run shm_counter --loops 2000000 --sync mutex
    run shm_counter --loops 2000000 --sync atomic
    run shm_counter --loops 2000000 --sync robust

    say "Where the counter lives: a mapped file (incr2.c, incr3.c), an anonymous mapping (incr_map_anon.c), a POSIX object"
    run shm_counter --loops 200000 --backing file
    run shm_counter --loops 200000 --backing anon
    run shm_counter --loops 200000 --backing posix --name "$name"

    say "A process dies holding the lock"
    note "a robust mutex hands the lock to the next locker with EOWNERDEAD"
    run shm_counter --loops 1000 --sync robust --child-dies-holding-lock
    note "a raw_sync mutex is not robust: it stays locked; the parent notices and gives up"
    run shm_counter --loops 1000 --sync mutex --child-dies-holding-lock || note "exit status $?, as expected"

    say "Two unrelated processes share a counter by name (what two terminals would do)"
    start_bg shm_counter --backing posix --name "$name" --loops 1000000 --role first
    bg_expect "first: created $name, sync mutex, 1000000 increments each; now start:"
    bg_expect "  shm_counter --backing posix --name $name --role second"
    run shm_counter --backing posix --name "$name" --role second
    bg_expect "first: the second process has attached; counting"
    bg_expect "counter = 2000000, expected 2000000, lost updates 0"
    bg_expect "first: removing $name (its owner: shared_memory calls shm_unlink on drop)"
    bg_wait
}

main "$@"
