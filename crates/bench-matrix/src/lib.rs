//! # bench-matrix: the ffikit benchmark matrix's model and renderings
//!
//! `cargo xtask bench-matrix` measures every backend x kernel x size x caller x threads,
//! with peer rows (a plain Rust call, libffi, raw wasmtime, a direct C call, pure Go, cgo,
//! purego) in the same run, and writes `target/bench-matrix/`. This crate holds what that
//! needs apart from the measuring itself:
//!
//! - [`record`]: one measured row ([`Record`]), the machine it ran on ([`Machine`]), a whole
//!   run ([`Run`]) and [`Run::merge`] for runs from several machines;
//! - [`stats`]: the median and spread of repeated samples ([`Summary`]);
//! - [`render`]: `matrix.md`, `results.csv` and `crossover.md`;
//! - [`chart`]: the log-log chart of ns/call versus size, as SVG and PNG.

pub mod chart;
pub mod record;
pub mod render;
pub mod stats;

pub use record::{Machine, Record, Run};
pub use stats::{Summary, median};
