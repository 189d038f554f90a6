//! The library of `shm_counter` (src/main.rs): the counter in its shared region
//! (`counter.rs`), and the calls of the C that each `--sync` makes (`ops.rs`, the file that
//! porting exercises 10 to 12 hand out as a skeleton).

// Linux only: the state word is a futex(2); elsewhere the binaries say so in one line.
#![cfg(target_os = "linux")]

pub mod count;
mod counter;
pub mod dies;
mod ops;
pub mod pair;
pub mod region;
pub mod sem;

pub use counter::*;
