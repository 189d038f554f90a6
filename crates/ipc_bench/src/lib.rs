//! The parts of ipc_bench (src/main.rs is the program): the transports measured for
//! throughput and latency, the shared regions and the futex handoff between the two processes,
//! the watch that ends every wait, and the report. (Porting exercise 13 builds this library
//! with its own `futex.rs`.)

// Linux only: futex(2), sched_setaffinity, F_SETPIPE_SZ; elsewhere the binary says so in one line.
#![cfg(target_os = "linux")]

pub mod cpu;
pub mod data;
pub mod futex;
pub mod latency;
pub mod region;
pub mod report;
pub mod throughput;
pub mod watch;
