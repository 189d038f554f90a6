//! The library of the `filesize_vs_mapsize` program (src/main.rs, chapter 6): what the port
//! adds beside UNP's `test1.c` and does not need in its main file.
//!
//! - [`svg`]: `--svg PATH`, the page map of a run drawn as an SVG figure (the book's figures
//!   of chapter 6 are its output).

pub mod svg;
