//! The library of `shm_counter` (src/main.rs): the counter in its shared region
//! (`counter.rs`), and the calls of the C that each `--sync` makes (`ops.rs`, the file that
//! porting exercises 10 to 12 hand out as a skeleton).

mod counter;
mod ops;
pub mod sem;

pub use counter::*;
