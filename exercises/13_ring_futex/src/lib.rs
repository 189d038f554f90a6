//! Exercise 13: ipc_bench's library, with your `futex.rs` (the handoff you port) in place of
//! the example's; the rest is the example's own, and so is the program
//! (`crates/ipc_bench/src/main.rs`).

// Linux only: futex(2), sched_setaffinity, F_SETPIPE_SZ; elsewhere the binary says so in one line.
#![cfg(target_os = "linux")]

#[path = "../../../crates/ipc_bench/src/cpu.rs"]
pub mod cpu;
#[path = "../../../crates/ipc_bench/src/data.rs"]
pub mod data;
pub mod futex;
#[path = "../../../crates/ipc_bench/src/latency.rs"]
pub mod latency;
#[path = "../../../crates/ipc_bench/src/region.rs"]
pub mod region;
#[path = "../../../crates/ipc_bench/src/report.rs"]
pub mod report;
#[path = "../../../crates/ipc_bench/src/throughput.rs"]
pub mod throughput;
#[path = "../../../crates/ipc_bench/src/watch.rs"]
pub mod watch;
