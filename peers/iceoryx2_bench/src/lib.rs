//! iceoryx2, measured as ipc_bench measures its own transports: the same message sizes, two
//! processes pinned to two CPUs, the sender building each message from ipc_bench's `Source`,
//! the receiver checksumming every byte with ipc_bench's `checksum`, the parent checking the
//! sum. `make bench-peers` runs it beside `ipc_bench` and prints both in one table per figure
//! (`src/bin/bench_peers_table.rs`). Chapter: docs/src/benchmark.md, "iceoryx2, measured
//! beside".

// Linux only, as ipc_bench (whose plumbing this uses) is.
#![cfg(target_os = "linux")]

pub mod json;
pub mod latency;
pub mod pair;
pub mod throughput;

/// The iceoryx2 version this was built with (from Cargo.lock, by build.rs).
pub const ICEORYX2_VERSION: &str = env!("ICEORYX2_VERSION");

/// How the side that waits for a message waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// It polls `Subscriber::receive` in a busy loop.
    Spin,
    /// It sleeps on an iceoryx2 event `Listener`, which the other side's `Notifier` wakes after
    /// each send (iceoryx2's event service: a flag in shared memory, and a datagram on a UNIX
    /// socket only when the listener has taken the last one).
    Event,
}

impl Wake {
    /// Both, in the order the tables show them.
    pub const ALL: [Wake; 2] = [Wake::Spin, Wake::Event];

    /// The row's name, the same in both tables.
    pub fn name(self) -> &'static str {
        match self {
            Wake::Spin => "iceoryx2, loan, spin",
            Wake::Event => "iceoryx2, loan, event (blocking)",
        }
    }

    /// Whether it needs a CPU for each process.
    pub fn spins(self) -> bool {
        self == Wake::Spin
    }
}
