//! The Go side of `cargo xtask test` and `cargo xtask bench-go`: the binding built with cgo
//! (`go vet`, `go test -race`, and again with `GOGC=1 GODEBUG=cgocheck=1`) and without it
//! (`CGO_ENABLED=0`: purego for the C API, the same fast path), the goffi peer module, and
//! the example.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{root, run};
use crate::ctest::tool_present;
use crate::suites::Outcome;

/// `go` in `dir`, without cargo's `LD_LIBRARY_PATH` (which would load a stale debug
/// `libffikit.so` ahead of the rpath the package links with).
pub(crate) fn go(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("go");
    c.args(args).current_dir(dir).env_remove("LD_LIBRARY_PATH");
    c
}

/// `go` in `dir` for a `CGO_ENABLED=0` build.
pub(crate) fn go_nocgo(dir: &Path, args: &[&str]) -> Command {
    let mut c = go(dir, args);
    c.env("CGO_ENABLED", "0");
    c
}

/// `go test` flags for the goffi module: goffi v0.6.3's assembly stubs cannot be linked
/// externally (go-webgpu/goffi#72), and the module's cgo floor makes Go link externally by
/// default.
pub(crate) const GOFFI_LDFLAGS: &str = "-ldflags=-linkmode=internal";

/// The goffi peer module's directory, with goffi's source unpacked into `target/peers`; `None`
/// (said loudly, and an error under CI) when the tarball is absent.
///
/// # Errors
/// Unpacking fails, or the tarball is missing under `CI`.
pub(crate) fn goffi_module() -> Result<Option<PathBuf>, String> {
    if crate::peers::goffi_source()?.is_some() {
        return Ok(Some(root().join("bindings/go/goffi-bench")));
    }
    let msg = "goffi rows NOT RUN: ../shared/peers/goffi-0.6.3-src.tar.gz is missing";
    eprintln!("xtask: ********** {msg} **********");
    if std::env::var_os("CI").is_some() {
        Err(msg.into())
    } else {
        Ok(None)
    }
}

/// Why the Go suites cannot run here: `go` is missing.
const GO_MISSING: &str = "`go` is missing (Go 1.25+ is needed for the binding)";

/// Fails when `gofmt -l` lists a file under `dir` (Go's `cargo fmt --check`).
fn gofmt_clean(dir: &Path) -> Result<(), String> {
    let out = Command::new("gofmt")
        .args(["-l", "."])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("gofmt in {}: {e}", dir.display()))?;
    let listed = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !listed.trim().is_empty() {
        return Err(format!(
            "gofmt in {}: not formatted (run `gofmt -w .`): {}{}",
            dir.display(),
            listed.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Runs the Go checks. Needs `cargo xtask build`'s outputs (the caller builds first).
///
/// # Errors
/// The first Go command that fails.
pub(crate) fn run_go_tests() -> Result<Outcome, String> {
    if !tool_present("go") {
        return Ok(Outcome::NotRun(GO_MISSING.into()));
    }
    let binding = root().join("bindings/go");
    let example = root().join("examples/go");
    for dir in [&binding, &example] {
        gofmt_clean(dir)?;
        run(&mut go(dir, &["vet", "./..."]))?;
    }
    run(&mut go_nocgo(&binding, &["vet", "./..."]))?;
    run(&mut go(&binding, &["test", "-race", "-count=1", "./..."]))?;
    run(go(&binding, &["test", "-race", "-count=1", "./..."])
        .env("GOGC", "1")
        .env("GODEBUG", "cgocheck=1"))?;
    run(&mut go_nocgo(&binding, &["test", "-count=1", "./..."]))?;
    run(go_nocgo(&binding, &["test", "-count=1", "./..."]).env("GOGC", "1"))?;
    run(&mut go(&example, &["run", "."]))?;
    eprintln!(
        "xtask: Go tests passed (gofmt, vet, -race, GOGC=1 cgocheck=1, CGO_ENABLED=0), example ran"
    );
    Ok(Outcome::Passed)
}

/// The goffi peer module's vet and tests (the module the Go benchmarks measure goffi with),
/// built from `../shared/peers/goffi-0.6.3-src.tar.gz`; not run without Go or the tarball.
///
/// # Errors
/// A vet or test failure.
pub(crate) fn run_goffi_tests() -> Result<Outcome, String> {
    if !tool_present("go") {
        return Ok(Outcome::NotRun(GO_MISSING.into()));
    }
    if crate::peers::goffi_source()?.is_none() {
        return Ok(Outcome::NotRun(
            "../shared/peers/goffi-0.6.3-src.tar.gz is missing".into(),
        ));
    }
    let goffi = root().join("bindings/go/goffi-bench");
    run(&mut go(&goffi, &["vet", "./..."]))?;
    run(&mut go(
        &goffi,
        &["test", GOFFI_LDFLAGS, "-count=1", "./..."],
    ))?;
    Ok(Outcome::Passed)
}

/// `cargo xtask bench-go`: the binding's benchmarks with and without cgo, and goffi's, one
/// run each.
///
/// # Errors
/// When the build or a benchmark fails.
pub(crate) fn bench_go() -> Result<(), String> {
    crate::build::build_all()?;
    if !tool_present("go") {
        return Err(format!("bench-go cannot run: {GO_MISSING}"));
    }
    let binding = root().join("bindings/go");
    let bench = ["test", "-run", "^$", "-bench", ".", "-benchmem"];
    run(&mut go(&binding, &bench))?;
    run(&mut go_nocgo(&binding, &bench))?;
    if let Some(goffi) = goffi_module()? {
        let mut args = bench.to_vec();
        args.push(GOFFI_LDFLAGS);
        run(&mut go(&goffi, &args))?;
    }
    Ok(())
}

/// The Go binding's tests cross-compiled for arm64 (`CGO_ENABLED=0 GOARCH=arm64`: purego and
/// the arm64 trampolines) and run under `qemu-aarch64`, against an AArch64 `libffikit.so`
/// built without the wasm backend (cross-building wasmtime would double CI's build): the run
/// covers native and asm, as the AArch64 Rust run does, and says so. `aarch64_release` holds the
/// AArch64 `libffikit_kernels.so`; the C fixture is built with `aarch64-linux-gnu-gcc`.
///
/// # Errors
/// A build or the test binary fails; Go missing under `CI`.
pub(crate) fn run_go_arm64(target: &str, aarch64_release: &Path) -> Result<Outcome, String> {
    if !tool_present("go") {
        return Ok(Outcome::NotRun(GO_MISSING.into()));
    }
    run(crate::cmd::cargo()
        .args([
            "build",
            "--release",
            "-p",
            "ffikit-capi",
            "--no-default-features",
            "--target",
            target,
        ])
        .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"))?;
    let binding = root().join("bindings/go");
    let out = root().join("target/go-arm64");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    run(Command::new("aarch64-linux-gnu-gcc")
        .args(["-O1", "-shared", "-fPIC", "-o"])
        .arg(out.join("libffikit_go_fixture.so"))
        .arg(binding.join("testdata/fixture.c")))?;
    let test_binary = out.join("ffikit.test");
    run(go_nocgo(&binding, &["test", "-c", "-o"])
        .arg(&test_binary)
        .arg(".")
        .env("GOARCH", "arm64"))?;
    eprintln!(
        "xtask: Go arm64 run: the native and asm backends (the AArch64 libffikit.so is built \
         without wasmtime, as the AArch64 Rust run tests no wasm crate)"
    );
    run(Command::new("qemu-aarch64")
        .arg(&test_binary)
        .args(["-test.count=1", "-test.skip", "^TestWasm"])
        .current_dir(&binding)
        .env("FFIKIT_LIBRARY", aarch64_release.join("libffikit.so"))
        .env("FFIKIT_GO_FIXTURE_DIR", &out)
        .env("FFIKIT_GO_BACKENDS", "native,asm")
        .env("FFIKIT_GO_EMULATOR", "qemu-aarch64"))?;
    eprintln!("xtask: Go arm64 tests passed under qemu-user (CGO_ENABLED=0, native and asm)");
    Ok(Outcome::Passed)
}
