// ANCHOR: all
//! file_transfer: the notes' own scenario, run. A server reads a file and sends it to a
//! client, which writes it to another file: through a pipe, or through shared memory.
//!
//! Ports the picture seed 000 opens with (UNP vol. 2, §12.1, figures 12.1 and 12.2): through
//! a pipe the bytes are copied four times (file → server's buffer by `read`, buffer → pipe by
//! `write`, pipe → client's buffer by `read`, buffer → output file by `write`); through shared
//! memory twice (the server `read`s the file straight into the shared region, the client
//! `write`s it from there to the output file). The program counts the calls and the copies
//! of each side, checks that the output is the input byte for byte, and with `--time` says
//! how long each path took, beside the same copy done by one process alone (`direct`: two
//! copies, no second process), the limit the other two are measured against.
//! Chapter: `docs/src/benchmark.md`, "The notes' scenario".
//!
//! ```text
//! $ file_transfer --via all --time big.in big.out
//! ```
//!
//! The server is the parent, the client a forked child. The shared region holds 4 slots of
//! `--chunk` bytes; a slot's number goes to the client through a pipe when the server has
//! filled it, and comes back when the client has written it out (8 and 4 bytes: no data).
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`; the release
//! build, as timings mean nothing without it), big.in any file and big.out a new one:
//! `cargo run --release -p file_transfer -- --time big.in big.out`.
//!
//! Exit status: 0 the output is the input, 1 a call failed or it is not, 2 bad arguments.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use common::{
    Child, Context, Error, Fork, Interrupts, Mapping, Result, err_exit, exit_child, fork,
    usage_error,
};
use file_transfer::{
    Calls, NoSigpipe, Report, die_with_parent, identical, read_full, send, write_all,
};

/// Slots of the shared region.
const SLOTS: usize = 4;

/// Send a file from a server to a client through a pipe or shared memory, and count the copies.
#[derive(Parser, Debug)]
#[command(
    name = "file_transfer",
    version,
    after_help = "Runs seed 000's scenario (UNP vol. 2, §12.1): four copies through a pipe, two through\nshared memory. Chapter 9: docs/src/benchmark.md, \"The notes' scenario\""
)]
struct Args {
    /// The file the server sends
    input: PathBuf,

    /// The file the client writes (created 0600; never through a symlink)
    output: PathBuf,

    /// The path: pipe, shm, direct (one process, the limit), or all three in turn
    #[arg(long, value_enum, default_value_t = Via::All)]
    via: Via,

    /// Bytes per read and write (4096 to 16 MiB)
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 10,
          value_parser = clap::value_parser!(u64).range(4096..=16 << 20))]
    chunk: u64,

    /// Print how long each path took, and its ratio to direct
    #[arg(long)]
    time: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Through a pipe: four copies
    Pipe,
    /// Through shared memory: two copies
    Shm,
    /// One process reads and writes: two copies, no second process
    Direct,
    /// direct, pipe, shm, in that order
    All,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if args.input == args.output {
        usage_error::<Args>("INPUT and OUTPUT must differ");
    }
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    // Ctrl-C waits, pending, until the child is gone and a half-written output removed.
    let interrupts = Interrupts::block().context("sigprocmask")?;
    let mut input = common::file::open_regular(&args.input, false)?;
    let size = input.metadata().context("fstat")?.len();
    let existed = args.output.symlink_metadata().is_ok();
    let mut output = common::file::create(&args.output, 0o600)?;
    let result = transfer_all(args, &mut input, &mut output, size, &interrupts);
    if result.is_err() && !existed {
        // What this run created and could not finish: gone, not left half written.
        let _ = std::fs::remove_file(&args.output);
    }
    result?;
    interrupts.check()
}

fn transfer_all(
    args: &Args,
    input: &mut File,
    output: &mut File,
    size: u64,
    interrupts: &Interrupts,
) -> Result<()> {
    let chunk = args.chunk as usize;
    let paths: &[Via] = match args.via {
        Via::All => &[Via::Direct, Via::Pipe, Via::Shm],
        ref one => std::slice::from_ref(one),
    };
    let mut direct = None;
    // With --time, each path runs three times and the fastest counts: the first run of a path
    // also pays for page faults and the file system's first allocations.
    let runs = if args.time { 3 } else { 1 };
    for &via in paths {
        let mut best = Duration::MAX;
        for run in 0..runs {
            let show = run == 0;
            input.seek(SeekFrom::Start(0)).context("lseek")?;
            output.set_len(0).context("ftruncate")?;
            // posix_fallocate: a full disk is ENOSPC here, not half a file later.
            common::file::reserve(output.as_fd(), size as usize).context("fallocate")?;
            output.seek(SeekFrom::Start(0)).context("lseek")?;
            let start = Instant::now();
            match via {
                Via::Direct => direct_copy(input, output, size, chunk, show)?,
                Via::Pipe => through_a_pipe(input, output, size, chunk, show, interrupts)?,
                Via::Shm => through_shared_memory(input, output, size, chunk, show, interrupts)?,
                Via::All => unreachable!("expanded above"),
            }
            best = best.min(start.elapsed());
            // The check is not part of the transfer: it reads both files again.
            if !identical(input, output).context("read")? {
                return Err(Error::msg("compare", "the output differs from the input"));
            }
            if show {
                println!("  output: identical to the input");
            }
        }
        if args.time {
            timing(size, best, via, &mut direct);
        }
    }
    Ok(())
}

// ANCHOR: direct
/// One process, `read` then `write`: two copies of every byte, and no second process. The
/// limit: no transport between two processes can copy less.
fn direct_copy(
    input: &mut File,
    output: &mut File,
    size: u64,
    chunk: usize,
    show: bool,
) -> Result<()> {
    let mut buf = vec![0u8; chunk];
    let mut calls = Calls::default();
    loop {
        let n = read_full(input, &mut buf, &mut calls).context("read input")?;
        if n == 0 {
            break;
        }
        write_all(output, &buf[..n], &mut calls).context("write output")?;
    }
    if show {
        println!("direct, one process: {size} bytes in {chunk}-byte chunks");
        println!("  {} read calls, {} write calls", calls.reads, calls.writes);
        copies(calls.copied, size, "file → buffer → file");
    }
    Ok(())
}
// ANCHOR_END: direct

// ANCHOR: pipe
/// The server reads the file into its buffer and writes it into a pipe; the client reads the
/// pipe into its buffer and writes it to the output file.
fn through_a_pipe(
    input: &mut File,
    output: &mut File,
    size: u64,
    chunk: usize,
    show: bool,
    interrupts: &Interrupts,
) -> Result<()> {
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    let report = Report::new()?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            die_with_parent();
            drop(tx);
            // The client: read(pipe) → buffer → write(output), until the pipe ends.
            let mut buf = vec![0u8; chunk];
            let mut calls = Calls::default();
            let ok = loop {
                match read_full(&mut rx, &mut buf, &mut calls) {
                    Ok(0) => break true,
                    Ok(n) => {
                        if write_all(output, &buf[..n], &mut calls).is_err() {
                            break false;
                        }
                    }
                    Err(_) => break false,
                }
            };
            report.store(calls);
            exit_child(if ok { 0 } else { 1 })
        }
        Fork::Parent(pid) => {
            let mut client = Child::new(pid);
            drop(rx);
            file_transfer::set_nonblocking(&tx)?;
            let _epipe = NoSigpipe::block()?;
            // The server: read(input) → buffer → write(pipe).
            let mut buf = vec![0u8; chunk];
            let mut server = Calls::default();
            loop {
                interrupts.check()?;
                let n = read_full(input, &mut buf, &mut server).context("read input")?;
                if n == 0 {
                    break;
                }
                send(&mut tx, &buf[..n], &mut server, interrupts)?;
            }
            drop(tx); // end of file, for the client
            wait(&mut client, interrupts)?;
            let client = report.load();
            if !show {
                return Ok(());
            }
            println!("through a pipe: {size} bytes in {chunk}-byte chunks");
            println!(
                "  server: {} read calls from the input file, {} write calls into the pipe",
                server.reads, server.writes
            );
            // A read of a pipe returns what the pipe holds: its count varies from run to run.
            println!(
                "  client: {} write calls to the output file; read calls from the pipe: {}",
                client.writes, client.reads
            );
            copies(
                server.copied + client.copied,
                size,
                "file → server → pipe → client → file",
            );
            Ok(())
        }
    }
}
// ANCHOR_END: pipe

// ANCHOR: shm
/// The server reads the file straight into a slot of the shared region and passes the slot's
/// number to the client, which writes the slot to the output file and passes the number back.
fn through_shared_memory(
    input: &mut File,
    output: &mut File,
    size: u64,
    chunk: usize,
    show: bool,
    interrupts: &Interrupts,
) -> Result<()> {
    let len = SLOTS * chunk;
    // mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
    // SAFETY: a fresh shared mapping; a slot is viewed as a slice only by the process that
    // owns it, between receiving its number and passing it on (the pipes order the two).
    let mut region = unsafe {
        Mapping::new(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            None,
            0,
        )
    }
    .context("mmap")?;
    let (mut full_rx, mut full_tx) = std::io::pipe().context("pipe")?;
    let (mut free_rx, mut free_tx) = std::io::pipe().context("pipe")?;
    let report = Report::new()?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            die_with_parent();
            drop((full_tx, free_rx));
            // The client: a slot's number and length → write(output) from the slot → the
            // number back to the server. Length 0: the end.
            let mut calls = Calls::default();
            let ok = (|| -> std::io::Result<()> {
                loop {
                    let mut token = [0u8; 8];
                    full_rx.read_exact(&mut token)?;
                    let slot = u32::from_ne_bytes(token[..4].try_into().unwrap_or_default());
                    let n = u32::from_ne_bytes(token[4..].try_into().unwrap_or_default());
                    if n == 0 {
                        return Ok(());
                    }
                    let view = slot_view(&mut region, slot as usize, chunk, n as usize)?;
                    write_all(output, view, &mut calls)?;
                    std::io::Write::write_all(&mut free_tx, &slot.to_ne_bytes())?;
                }
            })()
            .is_ok();
            report.store(calls);
            exit_child(if ok { 0 } else { 1 })
        }
        Fork::Parent(pid) => {
            let mut client = Child::new(pid);
            drop((full_rx, free_tx));
            file_transfer::set_nonblocking(&full_tx)?;
            let _epipe = NoSigpipe::block()?;
            let mut server = Calls::default();
            let mut tokens = Calls::default();
            let mut free: Vec<u32> = (0..SLOTS as u32).rev().collect();
            loop {
                interrupts.check()?;
                // A free slot: one never used, or one the client passed back.
                let slot = match free.pop() {
                    Some(slot) => slot,
                    None => receive_slot(&mut free_rx, &mut tokens, interrupts)?,
                };
                // read(input) straight into the slot: the only copy on the server's side.
                let view = slot_view(&mut region, slot as usize, chunk, chunk).context("slot")?;
                let n = read_full(input, view, &mut server).context("read input")?;
                let token = [slot.to_ne_bytes(), (n as u32).to_ne_bytes()].concat();
                send(&mut full_tx, &token, &mut tokens, interrupts)?;
                if n == 0 {
                    break;
                }
            }
            wait(&mut client, interrupts)?;
            let client = report.load();
            if !show {
                return Ok(());
            }
            println!("through shared memory: {size} bytes in {chunk}-byte chunks, {SLOTS} slots");
            println!(
                "  server: {} read calls from the input file into the region; {} slot numbers sent",
                server.reads, tokens.writes
            );
            println!(
                "  client: {} write calls from the region to the output file",
                client.writes
            );
            copies(server.copied + client.copied, size, "file → region → file");
            Ok(())
        }
    }
}
// ANCHOR_END: shm

/// `len` bytes of slot `slot` of the region, as a slice. Bounded by the region's length.
fn slot_view(
    region: &mut Mapping,
    slot: usize,
    chunk: usize,
    len: usize,
) -> std::io::Result<&mut [u8]> {
    let start = slot * chunk;
    if slot >= SLOTS || len > chunk || start + len > region.len() {
        return Err(std::io::Error::other("a slot outside the region"));
    }
    // SAFETY: inside the mapping (checked just above); only the process that holds the slot's
    // number views it, and the pipes hand the number over, so no other view of these bytes is
    // alive.
    Ok(unsafe { std::slice::from_raw_parts_mut(region.as_ptr().wrapping_add(start), len) })
}

/// A slot number the client passed back (waiting with Ctrl-C in view).
fn receive_slot(
    rx: &mut std::io::PipeReader,
    calls: &mut Calls,
    interrupts: &Interrupts,
) -> Result<u32> {
    file_transfer::wait_for(rx, libc::POLLIN, interrupts)?;
    let mut buf = [0u8; 4];
    rx.read_exact(&mut buf)
        .map_err(|e| Error::new("read pipe", e).hint("the client has ended"))?;
    calls.reads += 1;
    Ok(u32::from_ne_bytes(buf))
}

/// waitpid for the client, 100 ms at a time with Ctrl-C in view; a failed client is an error.
fn wait(client: &mut Child, interrupts: &Interrupts) -> Result<()> {
    loop {
        if let Some(status) = client.try_wait().context("waitpid")? {
            if status.success() {
                return Ok(());
            }
            return Err(Error::msg("client", format!("{status}")));
        }
        interrupts.check()?;
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn copies(copied: u64, size: u64, route: &str) {
    let per_byte = copied.checked_div(size).unwrap_or(0);
    println!("  {per_byte} copies of every byte ({copied} bytes copied): {route}");
}

/// `--time`: how long, how fast, and the ratio to `direct` (run first with `--via all`).
fn timing(size: u64, elapsed: Duration, via: Via, direct: &mut Option<Duration>) {
    let gib_s = size as f64 / elapsed.as_secs_f64() / f64::from(1u32 << 30);
    let ratio = match (*direct, via) {
        (_, Via::Direct) => {
            *direct = Some(elapsed);
            String::new()
        }
        (Some(d), _) => format!(
            ", {:.2}x the speed of direct",
            d.as_secs_f64() / elapsed.as_secs_f64()
        ),
        (None, _) => String::new(),
    };
    println!(
        "  time, best of 3: {:.1} ms, {gib_s:.2} GiB/s{ratio}",
        elapsed.as_secs_f64() * 1e3
    );
}
// ANCHOR_END: all
