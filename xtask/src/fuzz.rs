//! `cargo xtask fuzz`: the cargo-fuzz (libFuzzer) targets of `fuzz/` — the signature parser,
//! the C API's prepare and call validation, wasm module loading, the context pool's checkout
//! sequences — each run for a time from its committed seeds (`fuzz/seeds/<target>`) and the
//! corpus it grew before (`target/fuzz/corpus/<target>`, not committed). Built with nightly,
//! AddressSanitizer and debug assertions, as `cargo fuzz` does by default. A crash leaves its
//! input in `fuzz/artifacts/<target>/` and fails the run.

use std::path::Path;
use std::process::Command;

use crate::cmd::{root, run};
use crate::suites::Outcome;

/// The targets, in the order they run.
pub(crate) const TARGETS: [&str; 4] = ["signature", "capi_call", "wasm_load", "pool"];

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub(crate) struct FuzzArgs {
    /// Seconds each target runs.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The targets to run (all of them when none is named).
    targets: Vec<String>,
}

/// `cargo xtask fuzz`: builds what the targets load, then runs them.
///
/// # Errors
/// An unknown target, a missing tool (nightly, cargo-fuzz), a build failure or a crash.
pub(crate) fn fuzz_command(args: &FuzzArgs) -> Result<(), String> {
    for t in &args.targets {
        if !TARGETS.contains(&t.as_str()) {
            return Err(format!(
                "unknown fuzz target `{t}`: expected one of {TARGETS:?}"
            ));
        }
    }
    crate::build::build_all()?;
    let targets: Vec<&str> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        args.targets.iter().map(String::as_str).collect()
    };
    match run_targets(&targets, args.seconds)? {
        Outcome::Passed => Ok(()),
        Outcome::NotRun(why) => Err(format!("the fuzz targets cannot run here: {why}")),
    }
}

/// Why the fuzz targets cannot run on this machine, if they cannot.
fn missing_tools() -> Option<String> {
    let nightly = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"))
        .unwrap_or(false);
    if !nightly {
        return Some("no nightly toolchain (rustup toolchain install nightly)".into());
    }
    let fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .is_ok_and(|o| o.status.success());
    if !fuzz {
        return Some("cargo-fuzz is missing (cargo install cargo-fuzz --locked)".into());
    }
    None
}

/// Runs each of `targets` for `seconds` (built first, once) and prints, per target, the
/// executions run and the corpus size; a crash fails it.
///
/// # Errors
/// The build or a target failing (a crash, a leak, a timeout, an assertion).
pub(crate) fn run_targets(targets: &[&str], seconds: u64) -> Result<Outcome, String> {
    if let Some(why) = missing_tools() {
        return Ok(Outcome::NotRun(why));
    }
    let fuzz_dir = root().join("fuzz");
    let target_dir = root().join("target/fuzz");
    let kernels = root().join("target/release/libffikit_kernels.so");
    run(cargo_fuzz(&fuzz_dir)
        .args(["build", "--target-dir"])
        .arg(&target_dir))?;
    let mut lines = Vec::new();
    for t in targets {
        let corpus = target_dir.join("corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let out = cargo_fuzz(&fuzz_dir)
            .args(["run", "--target-dir"])
            .arg(&target_dir)
            .arg(t)
            .arg(&corpus)
            .arg(fuzz_dir.join("seeds").join(t))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(["-timeout=60", "-rss_limit_mb=4096", "-print_final_stats=1"])
            .env("FFIKIT_KERNELS_LIB", &kernels)
            .output()
            .map_err(|e| format!("cargo fuzz run {t}: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
            return Err(format!(
                "fuzz target `{t}` failed (its input is under fuzz/artifacts/{t}/)"
            ));
        }
        let stat = |name: &str| {
            log.lines()
                .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
                .map_or("?".to_owned(), |v| v.trim().to_owned())
        };
        let line = format!(
            "fuzz {t}: {} executions in {seconds} s, corpus {} inputs ({} from seeds), 0 crashes",
            stat("number_of_executed_units"),
            count_files(&corpus),
            count_files(&fuzz_dir.join("seeds").join(t)),
        );
        eprintln!("xtask: {line}");
        lines.push(line);
    }
    for l in &lines {
        eprintln!("xtask: {l}");
    }
    Ok(Outcome::Passed)
}

/// `cargo +nightly fuzz` in `dir`, with the outer cargo's toolchain variables removed (so
/// that `+nightly` is honoured).
fn cargo_fuzz(dir: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.args(["+nightly", "fuzz"])
        .current_dir(dir)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("CARGO_TARGET_DIR");
    c
}

/// The number of files in `dir` (0 when it cannot be read).
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter_map(Result::ok).count())
}
