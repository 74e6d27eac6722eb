//! The Go side of `cargo xtask test` (`go vet`, `go test -race`, and again with `GOGC=1
//! GODEBUG=cgocheck=1`, for the binding, the purego benchmark module and the example), and
//! `cargo xtask bench-go` (`go test -bench . -benchmem` for both modules).

use std::path::Path;
use std::process::Command;

use crate::cmd::{root, run};
use crate::ctest::tool_present;

/// `go` in `dir`, without cargo's `LD_LIBRARY_PATH` (which would load a stale debug
/// `libffikit.so` ahead of the rpath the package links with).
fn go(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("go");
    c.args(args).current_dir(dir).env_remove("LD_LIBRARY_PATH");
    c
}

/// True when Go is present; otherwise says so loudly, and fails under CI.
fn go_present() -> Result<bool, String> {
    if tool_present("go") {
        return Ok(true);
    }
    let msg = "Go tests NOT RUN: `go` is missing (Go 1.22+ is needed for the binding)";
    eprintln!("xtask: ********** {msg} **********");
    if std::env::var_os("CI").is_some() {
        Err(msg.into())
    } else {
        Ok(false)
    }
}

/// Runs the Go checks. Needs `cargo xtask build`'s outputs (the caller builds first).
///
/// # Errors
/// The first Go command that fails.
pub(crate) fn run_go_tests() -> Result<(), String> {
    if !go_present()? {
        return Ok(());
    }
    let binding = root().join("bindings/go");
    let purego = binding.join("purego-bench");
    let example = root().join("examples/go");
    for dir in [&binding, &purego, &example] {
        run(&mut go(dir, &["vet", "./..."]))?;
    }
    for dir in [&binding, &purego] {
        run(&mut go(dir, &["test", "-race", "-count=1", "./..."]))?;
        run(go(dir, &["test", "-race", "-count=1", "./..."])
            .env("GOGC", "1")
            .env("GODEBUG", "cgocheck=1"))?;
    }
    run(&mut go(&example, &["run", "."]))?;
    eprintln!("xtask: Go tests passed (vet, -race, GOGC=1 cgocheck=1), example ran");
    Ok(())
}

/// `cargo xtask bench-go`: the binding's and purego's benchmarks, one run.
///
/// # Errors
/// When the build or a benchmark fails.
pub(crate) fn bench_go() -> Result<(), String> {
    crate::build::build_all()?;
    if !go_present()? {
        return Err("Go is needed for bench-go".into());
    }
    let binding = root().join("bindings/go");
    for dir in [binding.clone(), binding.join("purego-bench")] {
        run(&mut go(
            &dir,
            &["test", "-run", "^$", "-bench", ".", "-benchmem"],
        ))?;
    }
    Ok(())
}
