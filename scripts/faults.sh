#!/usr/bin/env bash
# faults.sh: the fault-injection suite. Each case puts a program in a situation a hostile or an
# unlucky user can make (a full tmpfs, `ulimit -f 0`, a FIFO or a planted symlink where a file
# should be, garbage in a shared region, a partner stopped or killed mid-wait, two runs in
# separate PID namespaces, SIGKILL at a random moment) and checks the promise of
# docs/src/reliability.md: one line `program: call argument: reason` and exit 1, never a
# signal death, never a hang, nothing left behind, nothing written where it was not asked to.
#
# A case that needs what this machine lacks (user namespaces, root for another user's file)
# is counted as skipped and named; the summary line says how many.
#
# Usage: scripts/faults.sh [PREFIX]   (make test-faults; PREFIX runs the cases whose label
#                                      starts with it: `scripts/faults.sh 3` for class 3)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1-} in
-h | --help) header_usage; exit 0 ;;
-*) usage_error "unknown option $1" ;;
esac
[[ $# -le 1 ]] || usage_error "one PREFIX at most"

passed=0
failed=0
skipped=0
skips=()
pattern=${1:-}
uid=$(id -u)

# Per class (the label's first word), for the table at the end.
declare -A class_passed=() class_failed=() class_skipped=()
tally() { local c=${2%% *}; eval "class_$1[\$c]=\$((\${class_$1[\$c]:-0} + 1))"; }
pass() { passed=$((passed + 1)); tally passed "$1"; printf 'ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); tally failed "$1"; printf 'FAIL  %s: %s\n' "$1" "$2"; }
skip() {
    skipped=$((skipped + 1))
    tally skipped "$1"
    skips+=("$1 ($2)")
    printf 'skip  %s: %s\n' "$1" "$2"
}
declare -A class_names=(
    [1]="a read outside the mapping"
    [2]="a symlink, FIFO, device, directory, other's file as a path"
    [3]="a full tmpfs or disk, ulimit -f 0"
    [4]="Ctrl-C, a partner stopped or killed, mid-wait"
    [5]="garbage in a shared region"
    [6]="two runs in separate PID namespaces"
    [7]="clean_ipc.sh while things come and go"
    [8]="SIGKILL at a random moment, then clean_ipc.sh"
    [9]="misleading messages"
)
# wanted LABEL: whether this run includes the case LABEL.
wanted() { [[ $1 == "$pattern"* ]]; }

# last_status, last_err, last_out: what `capture` saw.
last_status=0
last_err=
last_out=

# capture SECONDS CMD...: run CMD with an empty stdin, at most SECONDS (status 124 if it hung).
# Its stdout and stderr are pipes (to a `cat` outside any limit CMD sets, such as ulimit -f).
capture() {
    local secs=$1 errf outf stf
    shift
    errf=$(mktemp "$tmp/err.XXXXXX")
    outf=$(mktemp "$tmp/out.XXXXXX")
    stf=$(mktemp "$tmp/status.XXXXXX")
    {
        set +e # in this subshell only: the status is what we are after
        timeout -k 2 "$secs" "$@" </dev/null 2>&1 >&3 3>&- | cat >"$errf"
        echo "${PIPESTATUS[0]}" >"$stf"
    } 3>&1 | cat >"$outf"
    last_status=$(<"$stf")
    last_err=$(tr -d '\0' <"$errf")
    last_out=$(tr -d '\0' <"$outf")
    rm -f -- "$errf" "$outf" "$stf"
}

# one_line_error LABEL PROG WANT: the last command failed with exit 1 and one line
# `PROG: ...WANT...` on stderr.
one_line_error() {
    local label=$1 prog=$2 want=$3
    if ((last_status == 124)); then
        fail "$label" "hung (killed after its time)"
    elif ((last_status > 128)); then
        fail "$label" "died of signal $((last_status - 128)): $last_err"
    elif ((last_status != 1)); then
        fail "$label" "exit status $last_status, not 1: ${last_err:-$last_out}"
    elif [[ $last_err != "$prog: "* || $(wc -l <<<"$last_err") -ne 1 ]]; then
        fail "$label" "stderr is not one line '$prog: ...': $last_err"
    elif [[ $last_err != *"$want"* ]]; then
        fail "$label" "the line does not say '$want': $last_err"
    else
        pass "$label"
    fi
}

# expect_error LABEL WANT SECONDS PROG ARGS...: run the example binary PROG; it must fail with
# one line that says WANT, within SECONDS.
expect_error() {
    local label=$1 want=$2 secs=$3 prog=$4
    wanted "$label" || return 0
    capture "$secs" "$bin_dir/$prog" "${@:5}"
    one_line_error "$label" "$prog" "$want"
}

# shm_entries, sysv_keys: what this project's namespace holds now (for before/after checks).
# The programs' and scripts' objects; not the tests' (/shm-by-example.t.*, testkit's names),
# which a test suite running beside this one makes and removes on its own.
shm_entries() {
    find /dev/shm -maxdepth 1 \( -name 'shm-by-example.*' -o -name xyz \) ! -name 'shm-by-example.t.*' | sort
}
sysv_keys() { awk 'NR > 1 && $1 >= 1397882880 && $1 <= 1397948415 { print $1 }' /proc/sysvipc/shm | sort; }

# ns_prefix: the unshare options that give a private mount namespace (and root in it): plain
# as root, through a user namespace otherwise. Empty if neither works here.
ns_opts=()
if unshare -m true 2>/dev/null; then
    ns_opts=(-m)
elif unshare -rm true 2>/dev/null; then
    ns_opts=(-rm)
fi

# full_cmd: the command prefix that runs a command in a mount namespace of its own where
# /dev/shm and $tmp/full are 64 KiB tmpfs filesystems filled to the last byte (set in main).
full_cmd=()
set_full_cmd() {
    # shellcheck disable=SC2016 # the script is for the inner bash
    full_cmd=(unshare "${ns_opts[@]}" --propagation private bash -c '
        set -e
        full=$1; shift
        for d in /dev/shm "$full"; do
            mount -t tmpfs -o size=64k,mode=1777 tmpfs "$d"
            cat /dev/zero >"$d/.fill" 2>/dev/null || true
        done
        exec "$@"' bash "$tmp/full")
}

# expect_error_full LABEL WANT PROG ARGS...: expect_error, with a full /dev/shm and $tmp/full.
expect_error_full() {
    local label=$1 want=$2 prog=$3
    wanted "$label" || return 0
    if ((${#ns_opts[@]} == 0)); then
        skip "$label" "no mount namespace (unshare -m or -rm) here"
        return 0
    fi
    capture 20 "${full_cmd[@]}" "$bin_dir/$prog" "${@:4}"
    one_line_error "$label" "$prog" "$want"
}

# --- class 1: a read outside the mapping ----------------------------------------------------

class1() {
    # map_grow_file --follow maps 1 MiB (2048 records of 512 bytes). A file far larger than the
    # mapping, and events that announce records past its end: it must read no byte outside
    # the mapping, so print at most the 2048 records the mapping holds, and never die.
    local f=$tmp/big label size rec
    for size_rec in 4M:2048 4M:2049 4M:4096 1G:2000000; do
        size=${size_rec%:*}
        rec=${size_rec#*:}
        label="1 map_grow_file --follow, a $size file, record $rec announced"
        wanted "$label" || continue
        # Written, not sparse (a hole is refused for a reason of its own), except the 1 GiB one.
        if [[ $size == 4M ]]; then
            head -c "$size" /dev/zero >"$f"
        else
            truncate -s "$size" "$f"
        fi
        # shellcheck disable=SC2016 # the script is for the inner bash
        capture 20 bash -c 'printf "appended record %s: x\n" "$1" | exec "$2" --follow "$3"' \
            bash "$rec" "$bin_dir/map_grow_file" "$f"
        local lines
        lines=$(grep -c . <<<"$last_out" || true)
        if ((last_status == 124 || last_status > 128)); then
            fail "$label" "status $last_status: $last_err"
        elif ((lines > 2048)); then
            fail "$label" "printed $lines records; the mapping holds 2048"
        elif ((rec <= 2048)); then
            # Inside the mapping: every record, and a clean end.
            if ((last_status == 0 && lines == rec)) && [[ -z $last_err ]]; then
                pass "$label"
            else
                fail "$label" "status $last_status, $lines records: $last_err"
            fi
        else
            one_line_error "$label" map_grow_file "past the mapping"
        fi
        rm -f -- "$f"
    done
}

# --- class 2: a planted symlink, a FIFO, a device, a directory where a file is written -------

writers() {
    # Each writer, as a command line with P for the path it writes.
    printf '%s\n' \
        'map_normalfile1 --hold 0 P' \
        'anon_fork --file P' \
        'filesize_vs_mapsize P 10 10' \
        'map_grow_file P' \
        'map_grow_file --append 2 P' \
        'shm_counter --backing file --file P --loops 1' \
        'ipc_bench --quick --only pipe --repeats 1 --bytes 4096 --svg P'
}

class2() {
    local line args a prog victim what label
    while read -r line; do
        read -ra args <<<"$line"
        prog=${args[0]}
        for what in symlink fifo device directory other-user; do
            label="2 $what: $line"
            wanted "$label" || continue
            victim=$tmp/victim
            printf 'keep me\n' >"$victim"
            local path=$tmp/target.$what
            case $what in
                symlink) ln -s "$victim" "$path" ;;
                fifo) mkfifo "$path" ;;
                device) path=/dev/null ;;
                directory) mkdir "$path" ;;
                other-user)
                    if ((uid != 0)) || ! id shmtest >/dev/null 2>&1; then
                        skip "$label" "needs root and a user shmtest to own the file"
                        continue
                    fi
                    cp "$victim" "$path"
                    chown shmtest "$path"
                    ;;
            esac
            local argv=()
            for a in "${args[@]:1}"; do
                [[ $a == P ]] && a=$path
                argv+=("$a")
            done
            capture 20 "$bin_dir/$prog" "${argv[@]}"
            if [[ $what == other-user && $(tr -d '\0' <"$path") != 'keep me' ]]; then
                fail "$label" "another user's file was changed"
            elif [[ $(<"$victim") != 'keep me' ]]; then
                fail "$label" "the symlink's target was changed"
            elif [[ $what == directory && -n $(ls -A "$path") ]]; then
                fail "$label" "wrote into the directory"
            else
                one_line_error "$label" "$prog" ""
            fi
            # Never the device: /dev/null is the system's.
            [[ $what == device ]] || rm -rf -- "$path"
        done
    done < <(writers)

    # Twice at once on one file: the second run must not truncate the file under the first's
    # mapping (that is a SIGBUS for the first).
    label="2 a second run on the file the first has mapped: shm_counter --backing file"
    if wanted "$label"; then
        local out=$tmp/c2.out
        bg_start "$out" "$bin_dir/shm_counter" --backing file --file "$tmp/shared" --loops 20000000
        local first=$bg
        wait_line "$out" "increment the counter" 10 || true
        capture 10 "$bin_dir/shm_counter" --backing file --file "$tmp/shared" --loops 10
        one_line_error "$label" shm_counter "in use by another process"
        kill -TERM "$first" 2>/dev/null || true
        if ends_within "$first" 5 && ((bg_status == 0 || bg_status == 143)); then
            pass "$label: the first lives on (status $bg_status)"
        else
            fail "$label: the first" "status $bg_status: $(<"$out")"
        fi
        rm -f -- "$out" "$tmp/shared"
    fi

    # The chart's directory itself planted as a symlink (ipc_bench's default is target/...).
    local label="2 symlinked directory: ipc_bench --svg DIR/chart.svg"
    if wanted "$label"; then
        mkdir "$tmp/elsewhere"
        ln -s "$tmp/elsewhere" "$tmp/linkdir"
        capture 20 "$bin_dir/ipc_bench" --quick --only memcpy --svg "$tmp/linkdir/chart.svg"
        if [[ -n $(ls -A "$tmp/elsewhere") ]]; then
            fail "$label" "wrote through the symlink: $(ls -A "$tmp/elsewhere")"
        else
            one_line_error "$label" ipc_bench "symbolic link"
        fi
        rm -rf -- "$tmp/elsewhere" "$tmp/linkdir"
    fi

    # Readers and POSIX names: a FIFO must not block them, a directory must not be read.
    mkfifo "$tmp/fifo"
    expect_error "2 fifo: map_normalfile2" "not a regular file" 10 map_normalfile2 "$tmp/fifo"
    local n
    n=shm-by-example.f.$(random_hex)
    mkfifo "/dev/shm/$n"
    expect_error "4 fifo name: posix_shm_read" "not a regular file" 10 posix_shm_read --name "/$n"
    expect_error "4 fifo name: posix_shm_write" "not a regular file" 10 posix_shm_write --name "/$n"
    expect_error "4 fifo name: shm_counter --role second" "" 10 \
        shm_counter --backing posix --role second --name "/$n"
    rm -f -- "/dev/shm/$n"
    # /.. is /dev/shm/.. = /dev: a usage error, or a refusal; never "size=..." read from /dev.
    if wanted "9 name /..: posix_shm_read"; then
        capture 10 "$bin_dir/posix_shm_read" --name /..
        if ((last_status == 2 || last_status == 1)) && [[ $last_out != *size=* ]]; then
            pass "9 name /..: posix_shm_read"
        else
            fail "9 name /..: posix_shm_read" "status $last_status: $last_out $last_err"
        fi
    fi
}

# --- class 3: a full filesystem, ulimit -f 0 --------------------------------------------------

class3() {
    local r
    r=$(random_hex)
    local nospc="No space left on device"
    expect_error_full "3 full /dev/shm: posix_shm_write" "fallocate" posix_shm_write --name "/shm-by-example.$r"
    expect_error_full "3 full /dev/shm: shm_counter --backing posix" "$nospc" \
        shm_counter --backing posix --loops 10
    expect_error_full "3 full /dev/shm: shm_counter --backing shared-memory" "$nospc" \
        shm_counter --backing shared-memory --loops 10
    expect_error_full "3 full /dev/shm: ipc_bench posix ring" "$nospc" \
        ipc_bench --quick --repeats 1 --only posix --svg "$tmp/full/b.svg"
    expect_error_full "3 full dir: shm_counter --backing file" "$nospc" \
        shm_counter --backing file --file "$tmp/full/c" --loops 10
    expect_error_full "3 full dir: map_grow_file --append" "$nospc" map_grow_file --append 3 "$tmp/full/log"
    expect_error_full "3 full dir: anon_fork --file" "$nospc" anon_fork --file "$tmp/full/a"
    expect_error_full "3 full dir: map_normalfile1" "$nospc" map_normalfile1 --hold 0 "$tmp/full/m"
    expect_error_full "3 full dir: map_grow_file" "$nospc" map_grow_file "$tmp/full/g"
    expect_error_full "3 full dir: filesize_vs_mapsize" "$nospc" filesize_vs_mapsize "$tmp/full/s" 5000 20000
    # A reader of an object with a hole (sized, never written) on a full tmpfs: a read there
    # faults. With blocks reserved past its end too (fallocate --keep-size), which st_blocks
    # counts and SEEK_HOLE does not.
    local keep size prog args
    for keep in "" "blocks past the end"; do
        for prog in posix_shm_read map_normalfile2 shm_counter; do
            label="3 full /dev/shm: $prog on an object with a hole${keep:+, $keep}"
            wanted "$label" || continue
            if ((${#ns_opts[@]} == 0)); then
                skip "$label" "no mount namespace here"
                continue
            fi
            case $prog in
                posix_shm_read) size=36 args=(--name "/shm-by-example.$r") ;;
                map_normalfile2) size=8192 args=("/dev/shm/shm-by-example.$r") ;;
                shm_counter) size=4096 args=(--backing posix --role second --name "/shm-by-example.$r") ;;
            esac
            # shellcheck disable=SC2016 # the script is for the inner bash
            capture 20 "${full_cmd[@]}" bash -c \
                'f=/dev/shm/shm-by-example.$1; rm /dev/shm/.fill; truncate -s "$2" "$f"; chmod 600 "$f"
                 [[ -z $3 ]] || fallocate -n -o 65536 -l 4096 "$f"
                 cat /dev/zero >/dev/shm/.fill 2>/dev/null; shift 3; exec "$@"' \
                bash "$r" "$size" "$keep" "$bin_dir/$prog" "${args[@]}"
            one_line_error "$label" "$prog" ""
        done
    done

    # ulimit -f 0: a file may not grow at all. SIGXFSZ would kill; EFBIG is the error.
    local line args a prog label
    while read -r line; do
        read -ra args <<<"$line"
        prog=${args[0]}
        label="3 ulimit -f 0: $line"
        wanted "$label" || continue
        local argv=()
        for a in "${args[@]:1}"; do
            [[ $a == P ]] && a=$tmp/fsize.$prog
            argv+=("$a")
        done
        capture 20 bash -c 'ulimit -f 0; exec "$@"' bash "$bin_dir/$prog" "${argv[@]}"
        one_line_error "$label" "$prog" "File too large"
        rm -rf -- "$tmp/fsize.$prog"
    done < <(writers | grep -v '^ipc_bench')
    label="3 ulimit -f 0: posix_shm_write"
    if wanted "$label"; then
        capture 10 bash -c 'ulimit -f 0; exec "$@"' bash "$bin_dir/posix_shm_write" --name "/shm-by-example.$r"
        one_line_error "$label" posix_shm_write "File too large"
    fi
}

# --- waiting for another process, with a deadline ---------------------------------------------

# pause SECONDS: wait that long on nothing (a read of a FIFO no one writes), to pick a random
# moment for a signal; never used to wait for another process.
pause() { read -rt "$1" -u "$never" _ || true; }

# On every way out (lib.sh's cleanup): a case's background job must not outlive the suite,
# even one the suite abandons half way. SIGTERM (after SIGCONT, for a stopped one) lets it
# remove what it made; SIGKILL after 2 s.
script_cleanup() {
    [[ -n ${bg:-} ]] && kill -0 "$bg" 2>/dev/null || return 0
    kill -CONT "$bg" 2>/dev/null || true
    kill -TERM "$bg" 2>/dev/null || true
    local deadline=$((SECONDS + 2))
    while kill -0 "$bg" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.05
    done
    kill -KILL "$bg" 2>/dev/null || true
    wait "$bg" 2>/dev/null || true
}

# bg_start OUTFILE CMD...: start CMD in the background, stdin from a FIFO that never ends (so
# `--wait-stdin` waits), stdout and stderr to OUTFILE; its pid is in $bg. SIGINT keeps its
# default action (bash would ignore it in a background job).
bg_start() {
    local out=$1
    shift
    # Emptied here, before the fork: the background job's own `>` runs later, and a
    # wait_line in between would read what the last job wrote there.
    : >"$out"
    env --default-signal=INT "$@" <&"$never" >>"$out" 2>&1 &
    bg=$!
}

# wait_line FILE TEXT SECONDS: wait until FILE has a line containing TEXT.
wait_line() {
    local deadline=$((SECONDS + $3))
    until grep -qF -- "$2" "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        pause 0.02
    done
}

# ends_within PID SECONDS: whether PID (a child of this shell) ends within SECONDS; its exit
# status is then in $bg_status. A PID still running is killed (SIGCONT, SIGKILL) and reaped.
ends_within() {
    local pid=$1 t0=$EPOCHREALTIME
    bg_status=0
    timeout "$2" tail -s 0.02 --pid="$pid" -f /dev/null || {
        kill -CONT "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    }
    wait "$pid" || bg_status=$?
    bg_secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}

# errors_of FILE PROG: the lines of FILE that are PROG's error lines.
one_error_line_in() { [[ $(grep -c "^$2: " "$1") -eq 1 ]]; }

# --- class 4: waits that end on Ctrl-C and on the partner's death -----------------------------

class4() {
    local n out label
    out=$tmp/c4.out
    for sig in INT TERM; do
        label="4 SIG$sig while the first waits for a second"
        wanted "$label" || continue
        n=/shm-by-example.$(random_hex)
        bg_start "$out" "$bin_dir/shm_counter" --backing posix --name "$n" --role first --loops 10
        if ! wait_line "$out" "now start" 10; then
            fail "$label" "the first did not start: $(<"$out")"; kill -9 "$bg" 2>/dev/null; wait "$bg" || true; continue
        fi
        kill -"$sig" "$bg"
        if ! ends_within "$bg" 2; then
            fail "$label" "still running 2 s after SIG$sig"
        elif [[ -e /dev/shm/${n#/} ]]; then
            fail "$label" "left $n"
        else
            pass "$label (${bg_secs} s)"
        fi
    done

    for sync in mutex robust; do
        label="4 partner stopped while counting ($sync), SIGINT to the first"
        wanted "$label" || continue
        n=/shm-by-example.$(random_hex)
        bg_start "$out" "$bin_dir/shm_counter" --backing posix --sync "$sync" --name "$n" --role first --loops 50000000
        local first=$bg
        wait_line "$out" "now start" 10 || { fail "$label" "no first: $(<"$out")"; kill -9 "$first"; wait "$first" || true; continue; }
        bg_start "$tmp/c4.second" "$bin_dir/shm_counter" --backing posix --sync "$sync" --name "$n" --role second
        local second=$bg
        wait_line "$out" "counting" 10 || true
        pause 0.2
        kill -STOP "$second"
        kill -INT "$first"
        if ends_within "$first" 2; then
            pass "$label (${bg_secs} s)"
        else
            fail "$label" "the first still waits 2 s after SIGINT"
        fi
        kill -KILL "$second" 2>/dev/null || true
        wait "$second" 2>/dev/null || true
        "$root/scripts/clean_ipc.sh" --only "$n" >/dev/null

        label="4 partner killed while counting ($sync)"
        wanted "$label" || continue
        n=/shm-by-example.$(random_hex)
        bg_start "$out" "$bin_dir/shm_counter" --backing posix --sync "$sync" --name "$n" --role first --loops 50000000
        first=$bg
        wait_line "$out" "now start" 10 || { fail "$label" "no first"; kill -9 "$first"; wait "$first" || true; continue; }
        bg_start "$tmp/c4.second" "$bin_dir/shm_counter" --backing posix --sync "$sync" --name "$n" --role second
        second=$bg
        wait_line "$out" "counting" 10 || true
        pause 0.2
        kill -KILL "$second"
        wait "$second" 2>/dev/null || true
        if ! ends_within "$first" 10; then
            fail "$label" "the first still runs 10 s after its partner died"
        elif ((bg_status != 1)) || ! one_error_line_in "$out" shm_counter; then
            fail "$label" "exit status $bg_status, output: $(<"$out")"
        elif [[ -e /dev/shm/${n#/} ]]; then
            fail "$label" "left $n"
        else
            pass "$label (${bg_secs} s)"
        fi
    done

    label="4 ipc_bench: a child killed mid-run"
    if wanted "$label"; then
        bg_start "$out" "$bin_dir/ipc_bench" --repeats 50 --bytes 4GiB --svg "$tmp/bench.svg"
        local bench=$bg child=
        local deadline=$((SECONDS + 10))
        while [[ -z $child ]] && ((SECONDS < deadline)); do
            child=$(pgrep -P "$bench" | head -n 1) || true
            [[ -n $child ]] || pause 0.02
        done
        if [[ -z $child ]]; then
            fail "$label" "no child seen"; kill -9 "$bench"; wait "$bench" || true
        else
            pause 0.3
            kill -KILL "$child" 2>/dev/null || true
            if ! ends_within "$bench" 10; then
                fail "$label" "ipc_bench still runs 10 s after its child died"
            elif ((bg_status != 1)) || ! one_error_line_in "$out" ipc_bench; then
                fail "$label" "exit status $bg_status: $(tail -n 3 "$out")"
            else
                pass "$label (${bg_secs} s)"
            fi
        fi
    fi
    label="4 ipc_bench: SIGINT mid-run"
    if wanted "$label"; then
        bg_start "$out" "$bin_dir/ipc_bench" --repeats 50 --bytes 4GiB --svg "$tmp/bench.svg"
        bench=$bg
        pause 1
        local kids
        kids=$(pgrep -P "$bench" | tr '\n' ' ') || true
        kill -INT "$bench"
        if ! ends_within "$bench" 2; then
            fail "$label" "still running 2 s after SIGINT"
        elif [[ -n $kids ]] && ps -o pid= -p "${kids% }" >/dev/null 2>&1; then
            fail "$label" "children left: $kids"
        else
            pass "$label (${bg_secs} s)"
        fi
    fi
    rm -f -- "$out" "$tmp/c4.second" "$tmp/bench.svg"
}

# --- class 5: a region someone else filled with garbage -------------------------------------

class5() {
    local out=$tmp/c5.out n size fill sync label
    for sync in mutex robust; do
        for fill in A random zero; do
            label="5 garbage ($fill) in the region while the first waits ($sync)"
            wanted "$label" || continue
            n=/shm-by-example.$(random_hex)
            bg_start "$out" "$bin_dir/shm_counter" --backing posix --sync "$sync" --name "$n" --role first --loops 1000
            local first=$bg
            wait_line "$out" "now start" 10 || { fail "$label" "no first"; kill -9 "$first"; wait "$first" || true; continue; }
            size=$(stat -c %s "/dev/shm/${n#/}")
            case $fill in
                A) head -c "$size" /dev/zero | tr '\0' A ;;
                random) head -c "$size" /dev/urandom ;;
                zero) head -c "$size" /dev/zero ;;
            esac 1<>"/dev/shm/${n#/}"
            capture 10 "$bin_dir/shm_counter" --backing posix --sync "$sync" --name "$n" --role second
            one_line_error "$label: the second" shm_counter ""
            kill -TERM "$first" 2>/dev/null || true
            if ! ends_within "$first" 5; then
                fail "$label: the first" "hung"
            elif ((bg_status > 128 && bg_status != 143)); then
                fail "$label: the first" "died of signal $((bg_status - 128)): $(<"$out")"
            else
                pass "$label: the first (status $bg_status)"
            fi
            "$root/scripts/clean_ipc.sh" --only "$n" >/dev/null
        done
    done
    rm -f -- "$out"
}

# --- class 6: two runs in separate PID namespaces that share IPC and /dev/shm -----------------

class6() {
    local pidns=()
    if unshare -pf true 2>/dev/null; then
        pidns=(-pf)
    elif unshare -rpf true 2>/dev/null; then
        pidns=(-rpf)
    fi
    local s label
    for s in posix_shm sysv_shm shm_counter; do
        label="6 scripts/$s.sh twice at once, each in its own PID namespace"
        wanted "$label" || continue
        if ((${#pidns[@]} == 0)); then
            skip "$label" "no PID namespace (unshare -pf or -rpf) here"
            continue
        fi
        local a=$tmp/c6.a b=$tmp/c6.b sa=0 sb=0
        unshare "${pidns[@]}" "$root/scripts/$s.sh" >"$a" 2>&1 &
        local pa=$!
        unshare "${pidns[@]}" "$root/scripts/$s.sh" >"$b" 2>&1 &
        local pb=$!
        wait "$pa" || sa=$?
        wait "$pb" || sb=$?
        if ((sa == 0 && sb == 0)); then
            pass "$label"
        else
            fail "$label" "exit statuses $sa and $sb: $(tail -n 2 "$a") / $(tail -n 2 "$b")"
        fi
        rm -f -- "$a" "$b"
    done
}

# --- class 7: clean_ipc.sh while things appear and vanish ------------------------------------

class7() {
    local label="7 clean_ipc.sh while objects and directories come and go"
    wanted "$label" || return 0
    local stop=$tmp/c7.stop errs=$tmp/c7.err
    # Batches of 40 objects and 80 directories, made and removed again and again: whatever
    # clean_ipc.sh lists, much of it is gone by the time it looks closer.
    (
        i=0
        while [[ ! -e $stop ]]; do
            for k in {1..40}; do
                : >"/dev/shm/shm-by-example.churn.$BASHPID.$i.$k"
                mkdir "/dev/shm/shm-by-example.churn.$BASHPID.$i.$k.d"
                # And a script's directory with its lock file, which no one holds.
                mkdir "/dev/shm/shm-by-example.churn.$BASHPID.$i.$k.s"
                : >"/dev/shm/shm-by-example.churn.$BASHPID.$i.$k.s.lock"
            done
            rm -rf -- /dev/shm/shm-by-example.churn."$BASHPID".*
            i=$((i + 1))
        done
    ) &
    local churn=$!
    local k
    : >"$errs"
    for k in 1 2 3 4 5 6 7 8 9 10; do
        "$root/scripts/clean_ipc.sh" --dry-run >/dev/null 2>>"$errs" || echo "exit status $? (round $k)" >>"$errs"
    done
    : >"$stop"
    wait "$churn"
    if [[ -s $errs ]]; then
        fail "$label" "$(head -n 3 "$errs")"
    else
        pass "$label"
    fi
    rm -f -- "$stop" "$errs"
}

# --- class 8: SIGKILL at a random moment, then make clean-ipc -------------------------------

# snapshot: what the project's namespaces hold, and this run's temp directory.
snapshot() {
    {
        shm_entries
        sysv_keys
        find "$tmp" -mindepth 1 -maxdepth 1 -name 'shm-by-example.*'
    } | sort
}

# duration CMD...: how long CMD takes, in milliseconds, run to its end once (at most 5 s: a
# program that waits on its stdin waits for ever here).
duration() {
    local t0=$EPOCHREALTIME
    SHM_DISK_DIR=$tmp timeout 5 "$@" <&"$never" >/dev/null 2>&1 || true
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 + 1 }'
}

# killed_then_cleaned LABEL CMD...: start CMD in a process group of its own, SIGKILL the whole
# group at a random moment of its run (CMD is timed once first), run clean_ipc.sh, and check
# that nothing is left that was not there before.
killed_then_cleaned() {
    local label=$1
    shift
    wanted "$label" || return 0
    local before after ms
    ms=$(duration "$@")
    before=$(snapshot)
    SHM_DISK_DIR=$tmp setsid "$@" <&"$never" >/dev/null 2>&1 &
    local pg=$!
    local at=$(((RANDOM * 32768 + RANDOM) % ms))
    pause "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
    kill -KILL -- -"$pg" 2>/dev/null || true
    wait "$pg" 2>/dev/null || true
    # Members of the group die with it; wait until the kernel has let go of them all.
    local deadline=$((SECONDS + 5))
    while kill -0 -- -"$pg" 2>/dev/null && ((SECONDS < deadline)); do pause 0.02; done
    "$root/scripts/clean_ipc.sh" >/dev/null
    after=$(snapshot)
    # Only what is new counts: another run on this machine may remove its own things meanwhile.
    local new
    new=$(comm -13 <(grep . <<<"$before") <(grep . <<<"$after") | tr '\n' ' ')
    if [[ -z $new ]]; then
        pass "$label (at $at of $ms ms)"
    else
        fail "$label" "killed at $at of $ms ms; left after clean_ipc.sh: $new"
    fi
}

class8() {
    local s round key
    for round in 1 2; do
        for s in map_normalfile anon_fork sysv_shm posix_shm memfd_share filesize_vs_mapsize map_grow_file shm_counter; do
            killed_then_cleaned "8 SIGKILL to scripts/$s.sh at a random moment (round $round)" \
                "$root/scripts/$s.sh"
        done
        key=$(printf '0x5342%04x' $((0x$(random_hex | cut -c1-4))))
        killed_then_cleaned "8 SIGKILL to sysv_write (round $round)" \
            "$bin_dir/sysv_write" --key "$key" --wait-stdin
        killed_then_cleaned "8 SIGKILL to posix_shm_write (round $round)" \
            "$bin_dir/posix_shm_write" --name "/shm-by-example.$(random_hex)" --wait-stdin
        killed_then_cleaned "8 SIGKILL to memfd_write on an abstract name (round $round)" \
            "$bin_dir/memfd_write" "@shm-by-example.$(random_hex)"
        killed_then_cleaned "8 SIGKILL to shm_counter --role first (round $round)" \
            "$bin_dir/shm_counter" --backing posix --name "/shm-by-example.$(random_hex)" --role first
        killed_then_cleaned "8 SIGKILL to shm_counter --backing shared-memory (round $round)" \
            "$bin_dir/shm_counter" --backing shared-memory --loops 3000000
        killed_then_cleaned "8 SIGKILL to shm_counter --backing file (round $round)" \
            "$bin_dir/shm_counter" --backing file --loops 3000000
        killed_then_cleaned "8 SIGKILL to map_grow_file (round $round)" "$bin_dir/map_grow_file"
        killed_then_cleaned "8 SIGKILL to filesize_vs_mapsize (round $round)" "$bin_dir/filesize_vs_mapsize"
        killed_then_cleaned "8 SIGKILL to ipc_bench (round $round)" \
            "$bin_dir/ipc_bench" --quick --svg "$tmp/k.svg"
    done
    rm -f -- "$tmp/k.svg"
}

# --- class 9: messages that say what happened ------------------------------------------------

class9() {
    local label="9 --role second, Permission denied: no hint to start a first"
    if wanted "$label"; then
        if ((uid != 0)) || ! id shmtest >/dev/null 2>&1; then
            skip "$label" "needs root and a user shmtest"
        else
            local n
            n=shm-by-example.$(random_hex)
            head -c 4096 /dev/zero >"/dev/shm/$n"
            chmod 600 "/dev/shm/$n"
            capture 10 runuser -u shmtest -- "$bin_dir/shm_counter" --backing posix --role second --name "/$n"
            rm -f -- "/dev/shm/$n"
            if [[ $last_err == *"first"* ]]; then
                fail "$label" "$last_err"
            else
                one_line_error "$label" shm_counter "Permission denied"
            fi
        fi
    fi

    label="9 a second second attached to one first"
    if wanted "$label"; then
        local out=$tmp/c9.out n
        n=/shm-by-example.$(random_hex)
        bg_start "$out" "$bin_dir/shm_counter" --backing posix --name "$n" --role first --loops 3000000
        local first=$bg
        if wait_line "$out" "now start" 10; then
            bg_start "$tmp/c9.second" "$bin_dir/shm_counter" --backing posix --name "$n" --role second
            local second=$bg
            wait_line "$out" "counting" 10 || true
            # The third process: refused, and the first's count must not be disturbed.
            capture 10 "$bin_dir/shm_counter" --backing posix --name "$n" --role second
            local third_status=$last_status third_err=$last_err
            if ! ends_within "$first" 60; then
                fail "$label" "the first did not finish"
            elif ((third_status != 1)) || [[ $third_err != "shm_counter: "* ]]; then
                fail "$label" "the third: status $third_status: $third_err"
            elif grep -q '^counter = ' "$out" && ! grep -Eq '^counter = ([0-9]+), expected \1,' "$out"; then
                fail "$label" "the first: status $bg_status: $(grep '^counter' "$out")"
            else
                pass "$label"
            fi
            kill -TERM "$second" 2>/dev/null || true
            wait "$second" 2>/dev/null || true
        else
            fail "$label" "no first: $(<"$out")"
            kill -KILL "$first" 2>/dev/null || true
            wait "$first" 2>/dev/null || true
        fi
        "$root/scripts/clean_ipc.sh" --only "$n" >/dev/null
        rm -f -- "$out" "$tmp/c9.second"
    fi
}

main() {
    need map_normalfile1 map_normalfile2 anon_fork sysv_write sysv_read posix_shm_write \
        posix_shm_read filesize_vs_mapsize map_grow_file shm_counter ipc_bench
    make_tmp "${TMPDIR:-/tmp}"
    mkfifo "$tmp/never"
    exec {never}<>"$tmp/never"
    mkdir "$tmp/full"
    set_full_cmd
    # The programs' own temp files go here too, so a leftover one is seen.
    export TMPDIR=$tmp
    local shm_before sysv_before
    shm_before=$(shm_entries)
    sysv_before=$(sysv_keys)

    class1
    class2
    class3
    class4
    class5
    class6
    class7
    class8
    class9

    local new
    new=$(comm -13 <(grep . <<<"$shm_before") <(shm_entries))$(comm -13 <(grep . <<<"$sysv_before") <(sysv_keys))
    [[ -z $new ]] || fail "nothing left behind" "$new"
    local left
    left=$(find "$tmp" -mindepth 1 -maxdepth 1 ! -name .lock ! -name 'victim' ! -name 'fifo' ! -name full ! -name never)
    [[ -z $left ]] || fail "no temp file left" "$left"

    printf '\n%-6s %-58s %6s %6s %7s\n' class "what is tried" passed failed skipped
    local c
    for c in 1 2 3 4 5 6 7 8 9; do
        printf '%-6s %-58s %6d %6d %7d\n' "$c" "${class_names[$c]}" "${class_passed[$c]:-0}" \
            "${class_failed[$c]:-0}" "${class_skipped[$c]:-0}"
    done
    if ((skipped > 0)); then
        printf 'skipped: %s\n' "${skips[@]}"
    fi
    printf 'faults: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
    ((failed == 0))
}

main "$@"
