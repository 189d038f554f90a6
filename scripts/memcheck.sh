#!/usr/bin/env bash
# memcheck.sh: memory errors in the example binaries. Valgrind's memcheck runs the main path of
# every example (a pair: both sides; a fork: the child too); then, if a nightly toolchain is
# installed, the whole test suite runs again on binaries built with AddressSanitizer. Each is
# skipped with a notice when its tool is missing; the summary line counts the skips.
#
# Usage: scripts/memcheck.sh [--no-asan]     (make test-memcheck)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

passed=0
failed=0
skipped=0

# vg LABEL [--children] PROGRAM ARGS...: run the example binary PROGRAM under memcheck. Any
# error (invalid read or write, use of uninitialised memory, a definite leak) fails the case;
# so does a failing program.
vg() {
    local label=$1 children=no
    shift
    if [[ $1 == --children ]]; then
        children=yes
        shift
    fi
    local log=$tmp/vg.log status=0
    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --trace-children="$children" --log-file="$log" \
        "$bin_dir/$1" "${@:2}" </dev/null >/dev/null 2>&1 || status=$?
    if ((status == 0)); then
        passed=$((passed + 1))
        printf 'ok    %s\n' "$label"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s: exit status %d\n' "$label" "$status"
        sed 's/^/      /' "$log" | head -n 30
    fi
}

# memfd_pair: memfd_write under memcheck in the background (one reader, --count 1), and
# memfd_read under memcheck as its reader, once the writer has said it listens.
memfd_pair() {
    local sock=$tmp/memfd.sock wlog=$tmp/vg.writer.log wstatus=0 wout line
    # timeout: a writer whose reader never came must not hold the script (SIGTERM removes
    # its socket; the case then fails with status 124).
    exec {wout}< <(exec timeout 60 valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --log-file="$wlog" \
        "$bin_dir/memfd_write" "$sock" --count 1 </dev/null 2>/dev/null)
    local wpid=$!
    # Its first two lines: the seals, then "listening on SOCKET; Ctrl-C to stop".
    IFS= read -r -t 60 line <&"$wout" || true
    IFS= read -r -t 60 line <&"$wout" || true
    vg "memfd_read (the descriptor from memfd_write)" memfd_read "$sock"
    wait "$wpid" || wstatus=$?
    exec {wout}<&-
    if ((wstatus == 0)); then
        passed=$((passed + 1))
        printf 'ok    %s\n' "memfd_write (one reader)"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s: exit status %d\n' "memfd_write (one reader)" "$wstatus"
        sed 's/^/      /' "$wlog" | head -n 30
    fi
}

valgrind_cases() {
    local key name f=$tmp/people log=$tmp/log
    key=$(printf '0x5342%s' "$(random_hex | cut -c1-4)")
    name=/shm-by-example.vg.$(random_hex)
    vg "map_normalfile1" map_normalfile1 --hold 0 "$f"
    vg "map_normalfile2" map_normalfile2 "$f"
    vg "anon_fork (parent and child)" --children anon_fork
    vg "anon_fork --file (parent and child)" --children anon_fork --file "$tmp/anon"
    vg "sysv_write" sysv_write --key "$key"
    vg "sysv_read" sysv_read --key "$key" --stat
    vg "posix_shm_write" posix_shm_write --name "$name"
    vg "posix_shm_read" posix_shm_read --name "$name"
    memfd_pair
    vg "memfd_shrink (probes in children)" --children memfd_shrink
    vg "filesize_vs_mapsize (the notes' cases)" filesize_vs_mapsize
    vg "map_grow_file --append" map_grow_file --append 8 "$log"
    vg "shm_counter --sync mutex (parent and child)" --children shm_counter --loops 2000
    vg "shm_counter --sync robust --backing posix (parent and child)" --children \
        shm_counter --loops 2000 --sync robust --backing posix --name "$name"
    vg "shm_counter --sync sem-named (parent and child)" --children \
        shm_counter --loops 500 --sync sem-named
    vg "shm_counter --sync sysv-sem-undo (parent and child)" --children \
        shm_counter --loops 500 --sync sysv-sem-undo
    vg "shm_counter_dies --sync robust (parent and child)" --children shm_counter_dies
    vg "ipc_bench --quick --only pipe" ipc_bench --quick --only pipe --repeats 1 --bytes 65536 \
        --svg "$tmp/bench.svg"
    head -c 300000 /dev/urandom >"$tmp/ft.in"
    vg "file_transfer (server and client)" --children file_transfer "$tmp/ft.in" "$tmp/ft.out"
    vg "errata 001-7 (probes in children)" --children errata 001-7
}

# The whole suite, built with -Zsanitizer=address (nightly only). --target keeps build scripts
# and proc macros out of the sanitizer build, as the rustc book asks.
asan() {
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        skipped=$((skipped + 1))
        echo "skip  AddressSanitizer: no nightly toolchain (rustup toolchain install nightly)"
        return 0
    fi
    local host
    host=$(rustc -vV | awk '/^host:/ { print $2 }')
    echo "== cargo +nightly test with -Zsanitizer=address (target/asan)"
    if (cd "$root" && RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=target/asan \
        ASAN_OPTIONS=detect_leaks=1 cargo +nightly test --quiet --workspace --target "$host" \
        -- --skip book); then
        passed=$((passed + 1))
        echo "ok    AddressSanitizer: the test suite"
    else
        failed=$((failed + 1))
        echo "FAIL  AddressSanitizer: the test suite"
    fi
}

main() {
    case ${1-} in
    -h | --help) header_usage; exit 0 ;;
    '' | --no-asan) ;;
    *) usage_error "unknown argument $1" ;;
    esac
    [[ $# -le 1 ]] || usage_error "unexpected argument $2"
    need map_normalfile1 map_normalfile2 anon_fork sysv_write sysv_read posix_shm_write \
        posix_shm_read memfd_write memfd_read memfd_shrink filesize_vs_mapsize map_grow_file shm_counter ipc_bench
    make_tmp "${TMPDIR:-/tmp}"
    if command -v valgrind >/dev/null; then
        valgrind_cases
    else
        skipped=$((skipped + 1))
        echo "skip  valgrind: not installed (apt-get install valgrind)"
    fi
    [[ ${1:-} == --no-asan ]] || asan
    printf 'memcheck: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
    ((failed == 0))
}

main "$@"
