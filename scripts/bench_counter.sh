#!/usr/bin/env bash
# bench_counter.sh: what one increment of the shared counter costs with each --sync mode,
# parent and child incrementing at once (release build; median of 5 runs of 2 x 5 000 000;
# the System V semaphores, a system call per increment, 2 x 200 000).
#
# Usage: scripts/bench_counter.sh        (or: make bench)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=5
loops=5000000

# median_ns SYNC LOOPS: the median ns per increment of $runs runs.
median_ns() {
    local i
    for ((i = 0; i < runs; i++)); do
        "$bin_dir/shm_counter" --loops "$2" --sync "$1" --time | awk '/ns per increment/ { print $1 }'
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

main() {
    no_args "$@"
    need shm_counter
    say "shm_counter: ns per increment, 2 processes x LOOPS each, backing anon, median of $runs ($(nproc) CPUs)"
    printf '%-14s %10s %10s\n' sync LOOPS ns
    local sync n
    for sync in none atomic mutex robust sem sem-named sysv-sem sysv-sem-undo; do
        n=$loops
        [[ $sync == sysv-* ]] && n=200000
        printf '%-14s %10s %10s\n' "$sync" "$n" "$(median_ns "$sync" "$n")"
    done
}

main "$@"
