//! Exercise 1: port `map_normalfile2.c`, the reader of the file-mapping pair.
//!
//! The C: crates/map_normalfile/c/map_normalfile2.c. Read first: docs/src/map_normalfile.md,
//! "What is shared, and why it works" and "Step by step". The task, and what it must print:
//! exercises/01_map_reader/README.md. Check: `cargo run -p exercises -- check 1`.
//!
//! Fill in `run` one step at a time: each `todo!()` sits under the C line it ports. The
//! arguments, the error reporting and `main` are done; the checker runs this program under
//! the name `map_normalfile2`, with the example's own tests.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are
// not used until you write them.
#![allow(
    unreachable_code,
    unused_variables,
    unused_imports,
    clippy::diverging_sub_expression
)]

use std::fs::File;
use std::path::PathBuf;

use clap::Parser;
use common::{Context, Error, People, Result, usage_error};
use map_normalfile::{FILE_RECORDS, MAP_RECORDS, max_records};
use memmap2::{Mmap, MmapOptions};

/// Map 10 records of a file made by map_normalfile1 and print them.
#[derive(Parser, Debug)]
#[command(name = "map_normalfile2", version)]
struct Args {
    /// File written by map_normalfile1
    file: PathBuf,

    /// Records to map and print
    #[arg(long, value_name = "N", default_value_t = MAP_RECORDS)]
    records: usize,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if args.records == 0 {
        usage_error::<Args>("--records must be at least 1");
    }
    if let Err(err) = run(&args) {
        common::error::exit_with("map_normalfile2", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let path = args.file.display();

    // Step 1. fd = open(path, O_RDONLY | O_NONBLOCK);  and refuse what is not a regular file.
    // One call of `common` does both, and names the failing call in its error.
    let file: File = todo!("open the file read-only, never creating it");

    // Step 2. fstat(fd, &st); if (st.st_size < sizeof(people) * 5) -> one line, exit 1
    // The error must read exactly as the example's:
    //   "{path}: file is {len} bytes, shorter than the 40 that map_normalfile1 writes; run it first"
    // and --records past the file's last page:
    //   "{path}: {records} records would reach past the last page of this {len}-byte file (SIGBUS); at most {max} fit"
    // Both are `Error::msg(path.to_string(), text)`.
    let file_len: usize = todo!("fstat: the file's length, checked against 40 bytes and --records");

    // Step 3. (the Rust port only) refuse a file with holes on tmpfs: common::file::has_holes,
    // then fstatfs(2)'s f_type == TMPFS_MAGIC. Error text:
    //   "{path}: file has a hole (bytes never written) on tmpfs, where reading it could fault; map_normalfile1 writes no holes"
    let _: () = todo!("refuse a file with holes on tmpfs");

    // Step 4. p_map = mmap(NULL, sizeof(people) * records, PROT_READ, MAP_SHARED, fd, 0);
    // memmap2 maps MAP_SHARED; `unsafe` needs a `// SAFETY:` comment saying why every byte
    // of the mapping can be read without SIGBUS.
    let map: Mmap = todo!("map `records` records read-only");

    // Step 5. for (i = 0; i < records; i++) printf("name: %.4s age %d;\n", p_map[i].name, p_map[i].age);
    // View the bytes as &[People] without a pointer cast.
    todo!("print each record");

    // Step 6. munmap(p_map, sizeof(people) * records);
    todo!("unmap");
    Ok(())
}
