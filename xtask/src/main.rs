//! `cargo xtask`: ffikit's automation, in Rust (matklad's xtask pattern). One module per
//! subcommand; results go under `target/`.
//!
//! - `cargo xtask build`: `libffikit.so`/`.a`, the kernels (`.so` and `.wasm`), the C header
//!   and `ffikit.pc` for pkg-config, in `target/release/`.
//! - `cargo xtask header`: regenerates `crates/capi/include/ffikit.h` with cbindgen.
//! - `cargo xtask bench-matrix [--quick] [filters]`: the benchmark matrix (the main job).
//! - `cargo xtask test`: builds what the tests need and runs every test, plus `cargo fmt
//!   --check` and `cargo clippy --all-targets -D warnings`.
//! - `cargo xtask bench [--quick]`: runs the criterion benchmarks and prints each path's
//!   median beside its floor, as ratios measured in the same run.

mod bench;
mod build;
mod cmd;
mod ctest;
mod fuzz;
mod gotest;
mod header;
mod libffi38;
mod matrix;
mod peers;
mod suites;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "ffikit's build, test and benchmark automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build everything the tests need and run every test (Rust, snapshots, lints).
    Test(test::TestArgs),
    /// Run the criterion benchmarks and print medians and ratios to the floor.
    Bench(bench::BenchArgs),
    /// Build libffikit.so/.a, the kernels (.so and .wasm), the header and ffikit.pc.
    Build,
    /// Regenerate crates/capi/include/ffikit.h with cbindgen.
    Header,
    /// The C API's per-call overhead beside a direct call, libffi's ffi_call and libffi
    /// 3.8's call plan and ffi_call.
    BenchC,
    /// The Go binding's benchmarks (and purego's), `go test -bench . -benchmem`.
    BenchGo,
    /// Every backend against its peers, from Rust, C and Go, by size and threads: writes
    /// target/bench-matrix/ (matrix.md, results.json/.csv, crossover.md, chart.svg/.png).
    BenchMatrix(matrix::MatrixArgs),
    /// Run the cargo-fuzz targets (fuzz/) from their seeds, each for --seconds (nightly and
    /// cargo-fuzz needed).
    Fuzz(fuzz::FuzzArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(args) => test::run_all(&args),
        Command::Bench(args) => bench::run_benches(&args),
        Command::Build => build::build_all().map(|_| ()),
        Command::Header => header::write(),
        Command::BenchC => ctest::bench_c(),
        Command::BenchGo => gotest::bench_go(),
        Command::BenchMatrix(args) => matrix::bench_matrix(&args),
        Command::Fuzz(args) => fuzz::fuzz_command(&args),
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e}");
        std::process::exit(1);
    }
}
