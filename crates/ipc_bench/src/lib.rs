//! The parts of ipc_bench (src/main.rs is the program): the transports measured for
//! throughput and latency, the shared regions and the futex handoff between the two processes,
//! the watch that ends every wait, and the report. (Porting exercise 13 builds this library
//! with its own `futex.rs`.)

pub mod cpu;
pub mod data;
pub mod futex;
pub mod latency;
pub mod region;
pub mod report;
pub mod throughput;
pub mod watch;
