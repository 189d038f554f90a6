//! Two unrelated processes share a regular file through `mmap`: `map_normalfile1` writes ten
//! `people` records into a mapping of a five-record file, `map_normalfile2` maps the same file
//! and prints them. See `docs/src/map_normalfile.md`.
//!
//! What the two programs agree on lives here.

/// Records the writer makes the file long (`lseek` to the last byte of record 5, `write` 1).
pub const FILE_RECORDS: usize = 5;

/// Records both programs map by default: twice what the file holds, as in the notes.
pub const MAP_RECORDS: usize = 10;

/// The most records that fit in the file's last page: a record past that page would not be
/// backed by the file at all, and touching it raises `SIGBUS`. Depends on the page size.
pub fn max_records(file_len: usize) -> usize {
    let page = common::page_size();
    file_len.div_ceil(page).max(1) * page / common::People::SIZE
}
