//! iceoryx2_bench: iceoryx2 measured as ipc_bench measures its own rows, for `make bench-peers`.
//!
//! - Throughput: 1 GiB (16 MiB with --quick) in messages of 4 KiB, 64 KiB and 1 MiB from a
//!   publisher in one process to a subscriber in another, each message built in its loaned
//!   sample, every byte checksummed by the receiver; the receiver spins on `receive`, or sleeps
//!   on an event listener.
//! - Latency: round trips of 8 and 64 bytes, spinning or sleeping the same ways.
//!
//! Figures: median [min-max] of 5 measured runs (1 with --quick) after a warm-up, as ipc_bench
//! prints them; `--json` for `bench_peers_table`, which puts them beside ipc_bench's.
//!
//! ```text
//! $ make bench-peers            # builds, runs ipc_bench and this, prints one table per figure
//! $ iceoryx2_bench --quick      # a few seconds: checks that everything works
//! $ iceoryx2_bench --cleanup    # removes what runs killed by SIGKILL left ($TMPDIR, /dev/shm)
//! ```
//!
//! Exit status: 0 done, 1 a measurement failed or delivered wrong bytes, 2 bad arguments.
//! Ctrl-C ends it within a second, its child reaped and iceoryx2's files removed, by the signal
//! itself.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("ipc_bench's plumbing (sched_setaffinity, PR_SET_PDEATHSIG)")
}

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Context, Error, Result, err_exit};
#[cfg(target_os = "linux")]
use iceoryx2_bench::{ICEORYX2_VERSION, Wake, json, latency, pair, throughput};
#[cfg(target_os = "linux")]
use ipc_bench::report::{self, Row, Stat, Table};
#[cfg(target_os = "linux")]
use ipc_bench::{cpu, watch};

/// iceoryx2's throughput and latency, measured as ipc_bench measures its own transports.
#[derive(Parser, Debug)]
#[command(
    name = "iceoryx2_bench",
    version,
    after_help = "`make bench-peers` runs it beside ipc_bench. Chapter 9: docs/src/benchmark.md"
)]
#[cfg(target_os = "linux")]
struct Args {
    /// Bytes each throughput run moves, as 1GiB, 16MiB or 65536 [default: 256 MiB, as ipc_bench; 16 MiB with
    /// --quick]
    #[arg(long, value_name = "BYTES", value_parser = report::parse_size)]
    bytes: Option<u64>,

    /// Measured runs of each figure (after one warm-up run) [default: 5; 1 with --quick]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    repeats: Option<u32>,

    /// A run of a few seconds, to see that everything works (figures are not meaningful)
    #[arg(long)]
    quick: bool,

    /// Print the figures as JSON (ipc_bench's shape) instead of tables
    #[arg(long)]
    json: bool,

    /// Only remove what runs killed by SIGKILL left in /dev/shm and $TMPDIR/iceoryx2_bench.*
    #[arg(long, conflicts_with_all = ["bytes", "repeats", "quick", "json"])]
    cleanup: bool,

    /// Change one byte of one message in transit (to see that the check catches it)
    #[arg(long, hide = true)]
    corrupt: bool,
}

#[cfg(target_os = "linux")]
const THROUGHPUT_SIZES: [usize; 3] = [4 << 10, 64 << 10, 1 << 20];
#[cfg(target_os = "linux")]
const LATENCY_SIZES: [usize; 2] = [8, 64];

#[cfg(target_os = "linux")]
fn main() {
    common::default_signals();
    let args = Args::parse();
    // iceoryx2 logs to stderr; its errors reach the user as this program's one line.
    iceoryx2::prelude::set_log_level(iceoryx2::prelude::LogLevel::Fatal);
    if args.cleanup {
        let (domains, nodes) = pair::remove_dead_domains();
        println!(
            "iceoryx2_bench: removed what {} left ({})",
            report::plural(domains as u64, "killed run", "killed runs"),
            report::plural(nodes as u64, "dead iceoryx2 node", "dead iceoryx2 nodes")
        );
        return;
    }
    // The run's iceoryx2 domain is removed when `run` returns, whatever happened (an error,
    // Ctrl-C), before the error is printed or the signal raised again.
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<()> {
    // ipc_bench's signal handling: SIGINT, SIGTERM and SIGHUP are noted, not fatal, and every
    // wait looks at them. Without its 10 Hz SIGALRM: iceoryx2's own waits (the publisher's
    // nanosleep while a queue is full) fail on EINTR, and every wait here has a timeout of the
    // watch's interval instead.
    watch::catch_signals().context("sigaction")?;
    let off = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
    };
    // SAFETY: `off` is initialised; a NULL old value is allowed.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &off, std::ptr::null_mut()) } == -1 {
        return Err(Error::last_os_error("setitimer"));
    }
    let interrupted = || watch::signalled().map_or(Ok(()), |signo| Err(Error::signal(signo)));
    // SAFETY: SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // What earlier runs that were killed left behind; then this run's own domain.
    pair::remove_dead_domains();
    let _domain = pair::Domain::create()?;

    let bytes = args
        .bytes
        .unwrap_or(if args.quick { 16 << 20 } else { 256 << 20 });
    let repeats = args.repeats.unwrap_or(if args.quick { 1 } else { 5 });
    // ipc_bench's round trips per measurement.
    let (block_rounds, spin_rounds) = if args.quick {
        (500, 5_000)
    } else {
        (2_000, 100_000)
    };
    let two_cpus = cpu::pin_to_cpu(0);
    let wakes: Vec<Wake> = Wake::ALL
        .into_iter()
        .filter(|w| two_cpus || !w.spins())
        .collect();

    if !args.json {
        report::print_line(&format!(
            "iceoryx2 {ICEORYX2_VERSION} across two processes, {} per throughput run, {} after a warm-up; every byte checksummed by the receiver{}",
            report::size_name(bytes as usize),
            report::plural(repeats.into(), "measured run", "measured runs"),
            if args.quick {
                " (--quick: figures not meaningful)"
            } else {
                ""
            }
        ))?;
        if !two_cpus {
            report::print_line("one CPU only: the spinning rows are not measured (-)")?;
        }
        report::print_line("")?;
    }
    let per_round = (THROUGHPUT_SIZES.len() + LATENCY_SIZES.len()) * wakes.len();
    let mut progress = report::Progress::new(
        (per_round as u64) * (u64::from(repeats) + 1),
        repeats,
        !args.json,
    );

    let mut moved = vec![vec![Vec::new(); THROUGHPUT_SIZES.len()]; Wake::ALL.len()];
    for round in 0..=repeats {
        for (col, &msg) in THROUGHPUT_SIZES.iter().enumerate() {
            let count = (bytes / msg as u64).max(16);
            let total = (count * msg as u64) as f64;
            for (w, &wake) in Wake::ALL.iter().enumerate() {
                if !wakes.contains(&wake) {
                    continue;
                }
                interrupted()?;
                let gib_s = progress.measure(round, wake.name(), msg, "GiB/s", || {
                    throughput::run(wake, msg, count, args.corrupt)
                        .map(|d| total / d.as_secs_f64() / (1u64 << 30) as f64)
                })?;
                if round > 0 {
                    moved[w][col].push(gib_s);
                }
            }
        }
    }
    let mut rtt = vec![vec![Vec::new(); LATENCY_SIZES.len()]; Wake::ALL.len()];
    for round in 0..=repeats {
        for (col, &msg) in LATENCY_SIZES.iter().enumerate() {
            for (w, &wake) in Wake::ALL.iter().enumerate() {
                if !wakes.contains(&wake) {
                    continue;
                }
                let rounds = if wake.spins() {
                    spin_rounds
                } else {
                    block_rounds
                };
                interrupted()?;
                let ns = progress.measure(round, wake.name(), msg, "ns", || {
                    latency::run(wake, msg, rounds).map(|d| d.as_nanos() as f64)
                })?;
                if round > 0 {
                    rtt[w][col].push(ns);
                }
            }
        }
    }
    let lines_printed = progress.printed_lines();
    drop(progress);
    // SAFETY: SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };

    let stat = |v: &Vec<f64>| (!v.is_empty()).then(|| Stat::of(v.clone()));
    let table = |title, unit, sizes: &[usize], figures: &[Vec<Vec<f64>>]| Table {
        title,
        unit,
        sizes: sizes.to_vec(),
        limit: false,
        rows: Wake::ALL
            .iter()
            .enumerate()
            .map(|(w, wake)| Row {
                name: wake.name(),
                cells: figures[w].iter().map(stat).collect(),
            })
            .collect(),
    };
    let throughput = table(
        "Throughput, GiB/s: median [min-max]",
        "GiB/s",
        &THROUGHPUT_SIZES,
        &moved,
    );
    let latency = table(
        "Latency, ns per round trip: median [min-max]",
        "ns",
        &LATENCY_SIZES,
        &rtt,
    );
    if args.json {
        let run = json::Run {
            machine: None,
            peer: Some(format!("iceoryx2 {ICEORYX2_VERSION}")),
            bytes_per_run: bytes,
            repeats,
            throughput: json::cells(&throughput, json::GIB_PER_S),
            latency: json::cells(&latency, json::NS_PER_ROUND_TRIP),
        };
        let text =
            serde_json::to_string_pretty(&run).map_err(|e| Error::msg("JSON", e.to_string()))?;
        println!("{text}");
    } else {
        if lines_printed {
            println!();
        }
        print!("{}", throughput.text());
        println!();
        print!("{}", latency.text());
    }
    Ok(())
}
