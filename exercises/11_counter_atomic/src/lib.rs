//! Exercise 11: shm_counter's library, with your `ops.rs` (the calls you port) in place of
//! the example's; the rest (`counter.rs`: the region's layout, its checks, the timed waits) is
//! the example's own, and so is the program (`crates/shm_counter/src/main.rs`).

// Linux only: the state word is a futex(2); elsewhere the binaries say so in one line.
#![cfg(target_os = "linux")]

#[path = "../../../crates/shm_counter/src/count.rs"]
pub mod count;
#[path = "../../../crates/shm_counter/src/counter.rs"]
mod counter;
#[path = "../../../crates/shm_counter/src/dies.rs"]
pub mod dies;
mod ops;
#[path = "../../../crates/shm_counter/src/pair.rs"]
pub mod pair;
#[path = "../../../crates/shm_counter/src/region.rs"]
pub mod region;
#[path = "../../../crates/shm_counter/src/sem.rs"]
pub mod sem;

pub use counter::*;
