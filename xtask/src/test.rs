//! `cargo xtask test`: everything that must pass before a change lands.

use crate::cmd::{cargo, run};
use crate::ctest::tool_present;
use crate::suites::{Ledger, Outcome};

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// Skip the AArch64 run under qemu-user even when the tools are present.
    #[arg(long)]
    no_aarch64: bool,
    /// Skip `cargo fmt --check` and `cargo clippy` (tests only).
    #[arg(long)]
    no_lint: bool,
    /// Skip the quick benchmark-matrix run at the end.
    #[arg(long)]
    no_matrix: bool,
    /// Run the whole systematic ABI corpus (over 15,000 signatures, through every call form
    /// and as closures from C threads, on x86-64 and AArch64) instead of its fixed sample.
    #[arg(long)]
    full_abi: bool,
}

/// Seconds each fuzz target runs in `cargo xtask test` (`cargo xtask fuzz --seconds N` runs
/// longer).
const FUZZ_SECONDS: u64 = 20;

/// Builds everything once, then runs every suite (each to its end, a failure reported and
/// the run going on), and ends with one line counting the suites passed, failed and not run.
pub(crate) fn run_all(args: &TestArgs) -> Result<(), String> {
    // The tests load the release builds of libffikit_kernels.so and ffikit_kernels.wasm;
    // build them (and libffikit.so) once up front so a build failure is reported here
    // rather than in a test (and no suite runs on a broken build).
    crate::build::build_all()?;
    if args.full_abi {
        eprintln!("xtask: the whole systematic ABI corpus runs (--full-abi)");
        // SAFETY: xtask is single-threaded here; the test processes started from now on
        // inherit it.
        unsafe { std::env::set_var("FFIKIT_FULL_ABI", "1") };
    }
    let ci = std::env::var_os("CI").is_some();
    let mut l = Ledger::default();
    l.run("Rust tests (cargo test --workspace --all-targets)", || {
        run(cargo().args(["test", "--workspace", "--all-targets"])).map(|()| Outcome::Passed)
    });
    // The C API crate has no Rust library target, so it has no doc tests.
    l.run("Rust doc tests", || {
        run(cargo().args(["test", "--workspace", "--doc", "--exclude", "ffikit-capi"]))
            .map(|()| Outcome::Passed)
    });
    l.run(
        "C API tests (header, plain, ASan+UBSan, example)",
        crate::ctest::run_c_tests,
    );
    l.run("C API tests under valgrind", crate::ctest::run_c_valgrind);
    l.run(
        "systematic ABI corpus through ffikit_call (C)",
        crate::ctest::run_c_abi_corpus,
    );
    l.run(
        "Go binding tests (gofmt, vet, -race, GOGC=1, CGO_ENABLED=0, example)",
        crate::gotest::run_go_tests,
    );
    l.run("goffi peer tests", crate::gotest::run_goffi_tests);
    l.run("context pool under ThreadSanitizer", thread_sanitizer);
    l.run(
        &format!("fuzz targets ({FUZZ_SECONDS} s each: signature, capi_call, wasm_load, pool)"),
        || crate::fuzz::run_targets(&crate::fuzz::TARGETS, FUZZ_SECONDS),
    );
    l.run("AArch64 under qemu-user (Rust and Go)", || aarch64(args));
    if !args.no_lint {
        l.run("lints (cargo fmt --check, clippy -D warnings)", || {
            run(cargo().args(["fmt", "--all", "--", "--check"]))?;
            run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
            .map(|()| Outcome::Passed)
        });
    } else {
        l.run("lints", || Ok(Outcome::NotRun("--no-lint given".into())));
    }
    if !args.no_matrix {
        // The main job, quick: every stage runs end to end and its outputs are checked.
        l.run("bench-matrix --quick (outputs checked)", || {
            crate::matrix::quick_check().map(|()| Outcome::Passed)
        });
    } else {
        l.run("bench-matrix --quick", || {
            Ok(Outcome::NotRun("--no-matrix given".into()))
        });
    }
    l.finish(ci)
}

/// Runs the context pool's tests (including its N-thread stress test) under
/// ThreadSanitizer with the nightly toolchain (`-Zsanitizer=thread -Zbuild-std`, so std is
/// instrumented too), when nightly is installed; says so loudly when it is not.
fn thread_sanitizer() -> Result<Outcome, String> {
    let nightly = std::process::Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"))
        .unwrap_or(false);
    if !nightly {
        return Ok(Outcome::NotRun(
            "no nightly toolchain (rustup toolchain install nightly)".into(),
        ));
    }
    run(std::process::Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]))?;
    let host = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    run(std::process::Command::new("cargo")
        .current_dir(crate::cmd::root())
        .args([
            "+nightly",
            "test",
            "-Zbuild-std",
            "--target",
            &host,
            "--target-dir",
            "target/tsan",
            "-p",
            "ffi-trait",
            "--lib",
            "pool",
        ])
        .env("RUSTFLAGS", "-Zsanitizer=thread")
        .env("TSAN_OPTIONS", "halt_on_error=1")
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN"))?;
    eprintln!("xtask: context pool tests passed under ThreadSanitizer");
    Ok(Outcome::Passed)
}

/// The target the AArch64 run builds for.
const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// Cross-builds for AArch64 and runs the crates that carry ABI code under qemu-user, when
/// `qemu-aarch64`, `aarch64-linux-gnu-gcc`, an arm64 libc and the rustup target are present.
/// The arm64 libc is Debian's multiarch `libc6:arm64`, or else the cross compiler's own
/// (`/usr/aarch64-linux-gnu`, through `QEMU_LD_PREFIX`). Without them the suite is not run
/// (which fails the run under CI, where `.ci/run` installs them).
fn aarch64(args: &TestArgs) -> Result<Outcome, String> {
    if args.no_aarch64 {
        return Ok(Outcome::NotRun("--no-aarch64 given".into()));
    }
    // qemu-user finds the arm64 dynamic loader and libraries under QEMU_LD_PREFIX (its
    // default is the root, where libc6:arm64 puts them).
    let multiarch = std::path::Path::new("/lib/ld-linux-aarch64.so.1").exists();
    let cross_prefix = std::path::Path::new("/usr/aarch64-linux-gnu");
    let cross = cross_prefix.join("lib/ld-linux-aarch64.so.1").exists();
    let qemu_prefix = (!multiarch && cross && std::env::var_os("QEMU_LD_PREFIX").is_none())
        .then_some(cross_prefix);
    if let Some(p) = qemu_prefix {
        eprintln!(
            "xtask: AArch64: no libc6:arm64; running with QEMU_LD_PREFIX={} (the cross libc)",
            p.display()
        );
    }
    let missing: Vec<&str> = [
        ("qemu-aarch64", tool_present("qemu-aarch64")),
        (
            "aarch64-linux-gnu-gcc",
            tool_present("aarch64-linux-gnu-gcc"),
        ),
        (
            "an arm64 libc (libc6:arm64, or libc6-dev-arm64-cross)",
            multiarch || cross,
        ),
        (
            "rustup target aarch64-unknown-linux-gnu",
            crate::build::target_installed(AARCH64),
        ),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        return Ok(Outcome::NotRun(format!("missing {}", missing.join(", "))));
    }
    if let Some(p) = qemu_prefix {
        // SAFETY: xtask is single-threaded here; the children started from now on inherit
        // it (the test binaries run under qemu-aarch64).
        unsafe { std::env::set_var("QEMU_LD_PREFIX", p) };
    }
    let target_dir = crate::cmd::root().join("target");
    run(cargo()
        .args([
            "build",
            "--release",
            "--lib",
            "-p",
            "ffikit-kernels",
            "--target",
            AARCH64,
        ])
        .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"))?;
    let kernels = target_dir
        .join(AARCH64)
        .join("release/libffikit_kernels.so");
    run(cargo()
        .args([
            "test",
            "--target",
            AARCH64,
            "-p",
            "ffi-trait",
            "-p",
            "ffikit-kernels",
            "-p",
            "backend-native",
            "-p",
            "backend-asm",
        ])
        .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc")
        // The ABI fixture is compiled by the test binaries themselves (ffikit-test-support's
        // abi_corpus): under qemu they start this host cross compiler.
        .env("FFIKIT_ABI_CC", "aarch64-linux-gnu-gcc")
        .env("FFIKIT_TEST_RUNNER", "qemu-aarch64")
        .env("FFIKIT_KERNELS_LIB", &kernels))?;
    match crate::gotest::run_go_arm64(AARCH64, &target_dir.join(AARCH64).join("release"))? {
        Outcome::Passed => {}
        Outcome::NotRun(why) => return Ok(Outcome::NotRun(format!("the Go arm64 part: {why}"))),
    }
    eprintln!("xtask: AArch64 tests passed under qemu-user (emulated)");
    Ok(Outcome::Passed)
}
