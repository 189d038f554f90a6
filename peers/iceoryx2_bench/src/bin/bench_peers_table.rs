//! bench_peers_table: ipc_bench's figures and a peer's, measured in one run, in one table per
//! figure, each row with its ratio to ipc_bench's limit of that run (memcpy of the same size for
//! throughput, the cache-line ping-pong for latency).
//!
//! ```text
//! $ bench_peers_table target/bench-peers/ipc_bench.json target/bench-peers/iceoryx2.json
//! ```
//!
//! Both files are `--json` output (`ipc_bench --json`, `iceoryx2_bench --json`); fields this
//! does not use are ignored. A separate program, not a mode of the peer: the two JSON files stay
//! for a script to check the ratios, and either side can be run, or run again, on its own.
//!
//! Exit status: 0 done, 1 a file that cannot be read or is not such JSON, 2 bad arguments.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("ipc_bench's report")
}

#[cfg(target_os = "linux")]
use std::path::{Path, PathBuf};

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Context, Error, Result, err_exit};
#[cfg(target_os = "linux")]
use iceoryx2_bench::json::{self, Cell, Run};
#[cfg(target_os = "linux")]
use ipc_bench::report::{self, Table};

/// ipc_bench's figures and a peer's, measured in one run, in one table per figure.
#[derive(Parser, Debug)]
#[command(name = "bench_peers_table", version)]
#[cfg(target_os = "linux")]
struct Args {
    /// `ipc_bench --json` output
    ipc_bench: PathBuf,
    /// The peer's `--json` output (`iceoryx2_bench --json`)
    peer: PathBuf,
}

#[cfg(target_os = "linux")]
fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

#[cfg(target_os = "linux")]
fn read(path: &Path) -> Result<Run> {
    let p = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("read {p}"))?;
    serde_json::from_str(&text).map_err(|e| Error::msg(format!("read {p}"), e.to_string()))
}

/// One table: ipc_bench's rows (its limit first), then the peer's; every ratio is to the
/// limit's cell of the same size.
#[cfg(target_os = "linux")]
fn table(title: &'static str, unit: &'static str, ours: &[Cell], peer: &[Cell]) -> Table {
    let sizes = json::sizes(ours);
    // The limit: the row whose ratio to itself is 1, named "... (limit)"; else the first.
    let limit = ours
        .iter()
        .find(|c| c.transport.contains("(limit)"))
        .or(ours.first())
        .map(|c| c.transport.clone());
    let mut cells: Vec<Cell> = ours
        .iter()
        .filter(|c| Some(&c.transport) == limit.as_ref())
        .cloned()
        .collect();
    cells.extend(
        ours.iter()
            .filter(|c| Some(&c.transport) != limit.as_ref())
            .cloned(),
    );
    cells.extend(peer.iter().cloned());
    Table {
        title,
        unit,
        rows: json::rows(&cells, &sizes),
        sizes,
        limit: limit.is_some(),
    }
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<()> {
    let ours = read(&args.ipc_bench)?;
    let peer = read(&args.peer)?;
    let name = peer.peer.clone().unwrap_or_else(|| "the peer".to_owned());
    println!(
        "ipc_bench and {name}, measured one after the other in one run, on {}",
        ours.machine.as_deref().unwrap_or("an unnamed machine")
    );
    let runs = |r: &Run| {
        format!(
            "{} per throughput run, {}",
            report::size_name(r.bytes_per_run as usize),
            report::plural(r.repeats.into(), "measured run", "measured runs")
        )
    };
    println!(
        "ipc_bench: {}; {name}: {}; every byte checksummed by the receiver",
        runs(&ours),
        runs(&peer)
    );
    println!();
    let throughput = table(
        "Throughput, GiB/s: median [min-max], and the ratio to ipc_bench's memcpy of the same size",
        "GiB/s",
        &ours.throughput,
        &peer.throughput,
    );
    let latency = table(
        "Latency, ns per round trip: median [min-max], and the ratio to ipc_bench's cache-line ping-pong",
        "ns",
        &ours.latency,
        &peer.latency,
    );
    print!("{}", throughput.text());
    println!();
    print!("{}", latency.text());
    Ok(())
}
