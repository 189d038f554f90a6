//! ipc_bench: is shared memory the fastest IPC? Throughput and latency of every transport the
//! examples teach, measured side by side in one run, next to what the machine can do at all.
//!
//! Seeds 000, 002 and 003 open with "shared memory is the fastest form of IPC", and seed
//! 000 explains it by copies (four for a file sent through a pipe, two through shared memory).
//! This measures it. Chapter: `docs/src/benchmark.md`.
//!
//! - Throughput: S bytes (256 MiB) in messages of 4 KiB, 64 KiB and 1 MiB through a pipe, a UNIX
//!   socket, a regular file, a mapped file, POSIX shm, System V shm and a memfd (a ring of
//!   2 MiB of slots, or 8 slots, handed over with futex words whose wake-ups are batched; POSIX
//!   shm also with spinning, and with no copy at all), each byte checksummed by the receiver.
//!   The limit: one thread's memcpy of the same message size.
//! - Latency: round trips of 8 and 64 bytes through a pipe, a UNIX socket and POSIX shm
//!   (futex, spin then futex, spin). The limit: a cache line bounced between two processes.
//!
//! ```text
//! $ make bench                 # release build; about a minute
//! $ ipc_bench --quick          # a few seconds: checks that everything works, not speed
//! $ ipc_bench --json           # the same figures for machines
//! $ ipc_bench --svg chart.svg  # and a chart
//! ```
//!
//! The header comes at once, then each figure as it is measured (a progress bar on a
//! terminal; one line per figure on stdout when that is a file or a pipe, but for `--json`),
//! then the tables.
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`; the release build,
//! as `make bench` does): `cargo run --release -p ipc_bench`, or
//! `cargo run --release -p ipc_bench -- --quick`.
//!
//! Exit status: 0 done, 1 a transport failed or delivered wrong bytes, a child died, no space
//! for a region, or `--svg` names something other than a file of yours (one line on stderr),
//! 2 bad arguments (a `--bytes` that is not a size, an `--only` that selects no transport).
//! Ctrl-C ends it within a second, its child reaped, by the signal itself.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("futex(2), sched_setaffinity(2), F_SETPIPE_SZ")
}

#[cfg(target_os = "linux")]
use std::io::Write;
#[cfg(target_os = "linux")]
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
#[cfg(target_os = "linux")]
use std::path::Path;
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Context, Error, Result, err_exit};

#[cfg(target_os = "linux")]
use ipc_bench::latency::{self, Pinger};
#[cfg(target_os = "linux")]
use ipc_bench::report::{self, Row, Stat, Table};
#[cfg(target_os = "linux")]
use ipc_bench::throughput::{self, Transport};
#[cfg(target_os = "linux")]
use ipc_bench::{cpu, data, watch};

/// Throughput and latency of IPC transports, next to the machine's limits.
#[derive(Parser, Debug)]
#[command(
    name = "ipc_bench",
    version,
    after_help = "Measures seeds 000, 002 and 003's \"shared memory is the fastest form of IPC\".\nChapter 9: docs/src/benchmark.md"
)]
#[cfg(target_os = "linux")]
struct Args {
    /// Bytes each throughput run moves, as 1GiB, 16MiB, 64KiB or 65536 (also K, M, G: powers of
    /// 1024) [default: 256 MiB; 16 MiB with --quick]
    #[arg(long, value_name = "BYTES", value_parser = report::parse_size)]
    bytes: Option<u64>,

    /// Measured runs of each figure (after one warm-up run) [default: 5; 1 with --quick]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    repeats: Option<u32>,

    /// A run of a few seconds, to see that everything works (figures are not meaningful)
    #[arg(long)]
    quick: bool,

    /// Print the figures as JSON instead of tables
    #[arg(long)]
    json: bool,

    /// Also draw the figures as an SVG chart, into PATH (none without it)
    #[arg(long, value_name = "PATH")]
    svg: Option<std::path::PathBuf>,

    /// Measure only the transports whose name contains TEXT, case aside (repeatable; the memcpy
    /// limit is always measured): for strace -c or perf
    #[arg(long, value_name = "TEXT", value_parser = selects_a_transport)]
    only: Vec<String>,

    /// Change one byte of one message in transit (to see that the check catches it)
    #[arg(long, hide = true)]
    corrupt: bool,
}

#[cfg(target_os = "linux")]
const THROUGHPUT_SIZES: [usize; 3] = [4 << 10, 64 << 10, 1 << 20];
/// The throughput table's first row, the limit, always measured.
#[cfg(target_os = "linux")]
const MEMCPY: &str = "memcpy, one thread (limit)";
#[cfg(target_os = "linux")]
const LATENCY_SIZES: [usize; 2] = [8, 64];

#[cfg(target_os = "linux")]
fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<()> {
    // sigaction(SIGINT | SIGTERM | SIGHUP, {handler that notes it}): Ctrl-C becomes an event
    // the parent looks for between runs and inside every wait (watch.rs), so that it kills
    // and reaps its child before it dies of the signal (err_exit! re-raises it). The children
    // inherit the handler: the parent decides for them. Every region, temp file and shm
    // object was unlinked as soon as it was mapped (a memfd never had a name), and each child
    // dies with its parent (child_setup): nothing is left behind, even by SIGKILL.
    watch::catch_signals().context("sigaction")?;
    let interrupted = || watch::signalled().map_or(Ok(()), |signo| Err(Error::signal(signo)));
    // signal(SIGPIPE, SIG_IGN) while measuring: a write to a child that has died fails with
    // EPIPE, which is reported, instead of killing the parent silently.
    // SAFETY: SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if let Some(svg) = &args.svg {
        refuse_planted(svg)?;
    }
    let bytes = args
        .bytes
        .unwrap_or(if args.quick { 16 << 20 } else { 256 << 20 });
    let repeats = args.repeats.unwrap_or(if args.quick { 1 } else { 5 });
    let (block_rounds, spin_rounds) = if args.quick {
        (500, 5_000)
    } else {
        (2_000, 100_000)
    };
    let two_cpus = cpu::pin_to_cpu(0);
    let started = Instant::now();
    let machine = machine();

    // What will be measured, in each round: memcpy and the transports --only selects (the
    // spinning ones only on two CPUs).
    let transports: Vec<(usize, Transport)> = Transport::ALL
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, t)| (two_cpus || !t.spins()) && wanted(args, t.name()))
        .collect();
    let pingers: Vec<(usize, Pinger)> = Pinger::ALL
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, p)| (two_cpus || !p.spins()) && wanted(args, p.name()))
        .collect();
    let per_round =
        THROUGHPUT_SIZES.len() * (1 + transports.len()) + LATENCY_SIZES.len() * pingers.len();

    // The header at once; the tables at the end.
    if !args.json {
        report::print_line(&format!("ipc_bench on {machine}"))?;
        report::print_line(&format!(
            "{} per throughput run, {} after a warm-up; every byte checksummed by the receiver{}",
            report::size_name(bytes as usize),
            report::plural(repeats.into(), "measured run", "measured runs"),
            if args.quick {
                " (--quick: figures not meaningful)"
            } else {
                ""
            }
        ))?;
        if !two_cpus {
            report::print_line("one CPU only: the spinning transports are not measured (-)")?;
        }
        report::print_line("")?;
    }
    let mut progress = report::Progress::new(
        (per_round as u64) * (u64::from(repeats) + 1),
        repeats,
        !args.json,
    );

    // Throughput, GiB/s: memcpy first (the limit), then each transport.
    let mut memcpy = vec![Vec::new(); THROUGHPUT_SIZES.len()];
    let mut moved = vec![vec![Vec::new(); THROUGHPUT_SIZES.len()]; Transport::ALL.len()];
    // FUTEX_WAKE calls per message, both sides together (the rings; 0 elsewhere).
    let mut woken = vec![vec![Vec::new(); THROUGHPUT_SIZES.len()]; Transport::ALL.len()];
    for round in 0..=repeats {
        for (col, &msg) in THROUGHPUT_SIZES.iter().enumerate() {
            let count = (bytes / msg as u64).max(16);
            let total = (count * msg as u64) as f64;
            let gib_s = |d: Duration| total / d.as_secs_f64() / (1u64 << 30) as f64;
            interrupted()?;
            let copy = progress.measure(round, MEMCPY, msg, "GiB/s", || {
                Ok(gib_s(memcpy_time(msg, count)))
            })?;
            if round > 0 {
                memcpy[col].push(copy);
            }
            for &(t, transport) in &transports {
                interrupted()?;
                let mut wakes = 0.0;
                let took = progress.measure(round, transport.name(), msg, "GiB/s", || {
                    throughput::run(transport, msg, count, args.corrupt).map(|m| {
                        wakes = m.wakes as f64 / count as f64;
                        gib_s(m.elapsed)
                    })
                })?;
                if round > 0 {
                    moved[t][col].push(took);
                    woken[t][col].push(wakes);
                }
            }
        }
    }

    // Idle: what each ring that sleeps costs while no data moves.
    let mut idle: report::Idle = Vec::new();
    for &(_, transport) in transports.iter().filter(|(_, t)| t.sleeps()) {
        interrupted()?;
        let (w, r) = throughput::idle(transport)?;
        idle.push((transport.name(), w, r));
    }

    // Latency, ns per round trip.
    let mut rtt = vec![vec![Vec::new(); LATENCY_SIZES.len()]; Pinger::ALL.len()];
    for round in 0..=repeats {
        for (col, &msg) in LATENCY_SIZES.iter().enumerate() {
            for &(p, pinger) in &pingers {
                let rounds = if pinger.spins() {
                    spin_rounds
                } else {
                    block_rounds
                };
                interrupted()?;
                let one = progress.measure(round, pinger.name(), msg, "ns", || {
                    latency::run(pinger, msg, rounds).map(|one| one.as_nanos() as f64)
                })?;
                if round > 0 {
                    rtt[p][col].push(one);
                }
            }
        }
    }
    let lines_printed = progress.printed_lines();
    drop(progress);

    // Measuring is over: SIGPIPE back to its default (see common::default_signals).
    // SAFETY: SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let stat = |v: &Vec<f64>| (!v.is_empty()).then(|| Stat::of(v.clone()));
    let mut throughput_rows = vec![Row {
        name: MEMCPY,
        cells: memcpy.iter().map(stat).collect(),
    }];
    for (t, transport) in Transport::ALL.iter().enumerate() {
        throughput_rows.push(Row {
            name: transport.name(),
            cells: moved[t].iter().map(stat).collect(),
        });
    }
    let throughput = Table {
        title: "Throughput, GiB/s: median [min-max], and the ratio to memcpy of the same size",
        unit: "GiB/s",
        sizes: THROUGHPUT_SIZES.to_vec(),
        rows: throughput_rows,
        limit: true,
    };
    let wakeups = Table {
        title: "Rings that sleep: FUTEX_WAKE calls per message, both sides: median [min-max]",
        unit: "wakes/msg",
        sizes: THROUGHPUT_SIZES.to_vec(),
        rows: Transport::ALL
            .iter()
            .enumerate()
            .filter(|(_, t)| t.sleeps())
            .map(|(t, transport)| Row {
                name: transport.name(),
                cells: woken[t].iter().map(stat).collect(),
            })
            .collect(),
        limit: false,
    };
    let latency = Table {
        title: "Latency, ns per round trip: median [min-max], and the ratio to the cache-line ping-pong",
        unit: "ns",
        sizes: LATENCY_SIZES.to_vec(),
        limit: true,
        rows: Pinger::ALL
            .iter()
            .enumerate()
            .map(|(p, pinger)| Row {
                name: pinger.name(),
                cells: rtt[p].iter().map(stat).collect(),
            })
            .collect(),
    };

    if args.json {
        println!(
            "{}",
            report::json(
                &machine,
                bytes,
                repeats,
                &throughput,
                &latency,
                &wakeups,
                &idle
            )?
        );
    } else {
        if lines_printed {
            println!();
        }
        print!("{}", throughput.text());
        println!();
        print!("{}", latency.text());
        println!();
        // The rings that sleep, if any was measured.
        if !idle.is_empty() {
            print!("{}", wakeups.text());
            println!();
            print!("{}", report::idle_text(&idle));
            println!();
        }
        let took = started.elapsed().as_secs_f64();
        match &args.svg {
            Some(svg) => println!("took {took:.1} s; chart: {}", svg.display()),
            None => println!("took {took:.1} s"),
        }
    }
    let Some(svg) = &args.svg else {
        return Ok(());
    };
    if let Some(dir) = svg.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("mkdir {}", dir.display()))?;
    }
    interrupted()?;
    write_new(svg, report::svg(&[&throughput, &latency]).as_bytes())
}

/// Writes `contents` to `path` the way a file in a shared directory (`/tmp`, or a `target/`
/// another user made) must be written: never through a symlink planted under the name, never
/// over another user's file or over something that is not a regular file, and never half.
///
/// 1. `lstat(path)`: if the name exists, it must be a regular file (not a symlink, a FIFO, a
///    device, a directory) that this user owns; anything else is refused before a byte is
///    written.
/// 2. `open(".NAME.XXXXXX.tmp", O_RDWR | O_CREAT | O_EXCL, 0644)` beside it (tempfile's
///    `NamedTempFile`): a new file, ours, whatever was planted; `O_EXCL` never follows a
///    symlink.
/// 3. `write`, then `rename(tmp, path)` (`persist`): the name now points to the new file.
///    rename replaces a name, it never follows one, so a symlink planted between 1 and 3 is
///    replaced, not followed. On any error the temp file is removed (dropping it unlinks it).
#[cfg(target_os = "linux")]
fn write_new(path: &Path, contents: &[u8]) -> Result<()> {
    let p = path.display();
    refuse_planted(path)?;
    let Some(name) = path.file_name() else {
        return Err(Error::msg(format!("open {p}"), "not a file name"));
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    // open(".NAME.XXXXXX.tmp", O_RDWR | O_CREAT | O_EXCL, 0644);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(|| format!("open a temp file in {}", dir.display()))?;
    let t = tmp.path().display().to_string();
    // write(fd, contents, len); through the File itself: NamedTempFile's own Write adds the path
    // to the error in a style of its own.
    tmp.as_file_mut()
        .write_all(contents)
        .with_context(|| format!("write {t}"))?;
    // rename(tmp, path);
    tmp.persist(path)
        .map_err(|e| Error::new(format!("rename {t} {p}"), e.error))?;
    Ok(())
}

/// `lstat(path)`: nothing, or a regular file this user owns; anything else is refused (step 1
/// of `write_new`, also run before measuring, so that a minute is not spent for nothing).
#[cfg(target_os = "linux")]
fn refuse_planted(path: &Path) -> Result<()> {
    let p = path.display();
    // lstat(dirname(path)): the directory the chart goes into must not be a symlink either
    // (`target` planted by another user where anyone may write), or the temp file and the
    // rename would land wherever it points.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && std::fs::symlink_metadata(dir).is_ok_and(|st| st.file_type().is_symlink())
    {
        return Err(Error::msg(
            format!("open {}", dir.display()),
            "a symbolic link; not followed",
        ));
    }
    // lstat(path);
    match std::fs::symlink_metadata(path) {
        Ok(st) => {
            let kind = st.file_type();
            let what = if kind.is_symlink() {
                Some("a symbolic link; not followed")
            } else if kind.is_dir() {
                Some("not a regular file (a directory)")
            } else if kind.is_fifo() {
                Some("not a regular file (a FIFO)")
            } else if kind.is_char_device() || kind.is_block_device() {
                Some("not a regular file (a device)")
            } else if !kind.is_file() {
                Some("not a regular file")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(Error::msg(format!("open {p}"), what));
            }
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if st.uid() != me {
                let why = format!("owned by uid {}, not by you; not replaced", st.uid());
                return Err(Error::msg(format!("open {p}"), why));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::new(format!("lstat {p}"), e)),
    }
    Ok(())
}

/// Whether `--only` selects the transport called `name` (everything, without `--only`).
#[cfg(target_os = "linux")]
fn wanted(args: &Args, name: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|only| contains(name, only))
}

/// Whether `name` contains `text`, case aside (`--only posix` selects the POSIX rows).
#[cfg(target_os = "linux")]
fn contains(name: &str, text: &str) -> bool {
    name.to_lowercase().contains(&text.to_lowercase())
}

/// `--only TEXT`: a TEXT that selects no row of either table is a typo, and a run of nothing
/// but memcpy would say nothing of it. The error names them all.
#[cfg(target_os = "linux")]
fn selects_a_transport(text: &str) -> std::result::Result<String, String> {
    let mut names = vec![MEMCPY];
    names.extend(Transport::ALL.iter().map(|t| t.name()));
    names.extend(Pinger::ALL.iter().map(|p| p.name()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(*name));
    if names.iter().any(|name| contains(name, text)) {
        return Ok(text.to_owned());
    }
    let quoted: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
    Err(format!(
        "no transport's name contains it; the names are {}",
        quoted.join(", ")
    ))
}

/// One thread copying `count` messages of `msg` bytes from one buffer to another: as fast as
/// bytes can move here, the limit for any transport that copies them once.
#[cfg(target_os = "linux")]
fn memcpy_time(msg: usize, count: u64) -> Duration {
    let mut src = data::Source::new(msg);
    let mut dst = data::buffer(msg);
    let start = Instant::now();
    for seq in 0..count {
        let bytes: &mut [u8] = &mut bytemuck::cast_slice_mut(&mut dst)[..msg];
        bytes.copy_from_slice(src.message(seq));
        std::hint::black_box(&mut dst);
    }
    start.elapsed()
}

/// "2 CPUs (AMD EPYC), Linux 6.18.44, page 4096 bytes".
#[cfg(target_os = "linux")]
fn machine() -> String {
    let cpus = cpu::allowed_cpus().len();
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{} ({model}), Linux {}, page {} bytes",
        report::plural(cpus as u64, "CPU", "CPUs"),
        kernel.trim(),
        common::page_size()
    )
}
