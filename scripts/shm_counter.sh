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

name=

script_cleanup() {
    if [[ -n $name ]]; then
        rm -f -- "/dev/shm/${name#/}"
    fi
}

# start_first: start `--role first` under a new random name (never $$: two runs in separate
# PID namespaces share /dev/shm); if the name is taken after all (the first's O_EXCL says
# EEXIST and it exits before its first line), try another one.
start_first() {
    local try line
    for try in 1 2 3; do
        name=/shm-by-example.shm_counter.$(random_hex)
        start_bg shm_counter --backing posix --name "$name" --loops 1000000 --role first
        if IFS= read -r -t 60 line <&"$bg_out"; then
            printf '%s\n' "$line"
            [[ $line == "first: created $name, sync mutex, 1000000 increments each; now start:" ]] ||
                die "unexpected line from the first: $line"
            return 0
        fi
        if wait "$bg_pid"; then :; fi
        bg_pid=
        exec {bg_out}<&-
        name=
        note "attempt $try: the first could not create its object; another name"
    done
    die "the first process failed three times"
}

main() {
    no_args "$@"
    need shm_counter
    banner shm_counter "a shared counter needs a lock" "chapter 8, docs/src/shm_counter.md"

    say "The C programs' trace: each process prints the value it found, under the lock"
    run shm_counter --loops 3 --trace

    say "No protection: a load and a store from each process; increments get lost"
    note "how many varies from run to run: on one core the processes rarely interleave inside"
    note "an increment, on two often; a run can lose none"
    run shm_counter --loops 2000000 --sync none

    say "The same with a lock (raw_sync mutex), with fetch_add, with a robust mutex: nothing lost"
    run shm_counter --loops 2000000 --sync mutex
    run shm_counter --loops 2000000 --sync atomic
    if is_c; then
        note "--sync robust and the semaphores are the Rust port's own; the C program has mutex, atomic and none"
    else
        run shm_counter --loops 2000000 --sync robust
        say "The semaphores of UNP's programs: unnamed (sem_init), named (sem_open), System V (semop)"
        run shm_counter --loops 200000 --sync sem
        run shm_counter --loops 200000 --sync sem-named
        note "a System V semop is a system call every time: fewer loops"
        run shm_counter --loops 20000 --sync sysv-sem
    fi

    say "Where the counter lives: a mapped file (incr2.c, incr3.c), an anonymous mapping (incr_map_anon.c), a POSIX object"
    run shm_counter --loops 200000 --backing file
    run shm_counter --loops 200000 --backing anon
    if is_c; then
        note "the C program needs --name for a POSIX object; the Rust port makes a random one"
        run shm_counter --loops 200000 --backing posix --name "/shm-by-example.shm_counter.$(random_hex)"
        note "--backing shared-memory and --child-dies-holding-lock are the Rust port's own"
    else
        note "without --name, a random name (another if it is taken), removed at the end"
        run shm_counter --loops 200000 --backing posix
        note "the same object made with the shared_memory crate, which owns it and unlinks it on drop"
        run shm_counter --loops 200000 --backing shared-memory
        died_holding_the_lock
    fi

    say "Two unrelated processes share a counter by name (what two terminals would do)"
    start_first
    bg_expect "  shm_counter --backing posix --name $name --role second"
    run shm_counter --backing posix --name "$name" --role second
    bg_expect "first: the second process has attached; counting"
    bg_expect "counter = 2000000, expected 2000000, lost updates 0"
    bg_expect "first: removing $name (shm_unlink)"
    bg_wait
}

# died_holding_the_lock: the Rust port's shm_counter_dies (--child-dies-holding-lock).
died_holding_the_lock() {
    need shm_counter_dies
    say "A process dies holding the lock (shm_counter_dies)"
    note "a robust mutex hands the lock to the next locker with EOWNERDEAD"
    run shm_counter_dies --sync robust
    note "a raw_sync mutex is not robust: it stays locked; the parent notices and gives up"
    run shm_counter_dies --sync mutex || note "exit status $?, as expected"
    note "a semaphore has no owner: nothing gives it back"
    run shm_counter_dies --sync sem || note "exit status $?, as expected"
    note "but the kernel undoes a System V semop made with SEM_UNDO when its process ends"
    run shm_counter_dies --sync sysv-sem-undo
}

main "$@"
