//! `cargo xtask test`: everything that must pass before a change lands.

use crate::cmd::{cargo, run};
use crate::ctest::tool_present;

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
}

/// Builds the kernels' shared library, runs every workspace test, then the lints.
pub(crate) fn run_all(args: &TestArgs) -> Result<(), String> {
    // The tests load the release builds of libffikit_kernels.so and ffikit_kernels.wasm;
    // build them (and libffikit.so) once up front so a build failure is reported here
    // rather than in a test.
    crate::build::build_all()?;
    run(cargo().args(["test", "--workspace", "--all-targets"]))?;
    crate::ctest::run_c_tests()?;
    crate::gotest::run_go_tests()?;
    thread_sanitizer()?;
    // The C API crate has no Rust library target, so it has no doc tests.
    run(cargo().args(["test", "--workspace", "--doc", "--exclude", "ffikit-capi"]))?;
    aarch64(args)?;
    if !args.no_lint {
        run(cargo().args(["fmt", "--all", "--", "--check"]))?;
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    if !args.no_matrix {
        // The main job, quick: every stage runs end to end and its outputs are checked.
        crate::matrix::quick_check()?;
    }
    eprintln!("xtask: all tests passed");
    Ok(())
}

/// Runs the context pool's tests (including its N-thread stress test) under
/// ThreadSanitizer with the nightly toolchain (`-Zsanitizer=thread -Zbuild-std`, so std is
/// instrumented too), when nightly is installed; says so loudly when it is not.
fn thread_sanitizer() -> Result<(), String> {
    let nightly = std::process::Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"))
        .unwrap_or(false);
    if !nightly {
        eprintln!(
            "xtask: ********** ThreadSanitizer run NOT RUN: no nightly toolchain (rustup toolchain install nightly) **********"
        );
        return Ok(());
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
    Ok(())
}

/// The target the AArch64 run builds for.
const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// Cross-builds for AArch64 and runs the crates that carry ABI code under qemu-user, when
/// `qemu-aarch64`, `aarch64-linux-gnu-gcc` and the rustup target are present. Without them
/// it says so loudly and fails under CI (where `.ci/run` installs them), so a missing tool
/// never passes silently.
fn aarch64(args: &TestArgs) -> Result<(), String> {
    if args.no_aarch64 {
        eprintln!("xtask: AArch64 run SKIPPED (--no-aarch64)");
        return Ok(());
    }
    let missing: Vec<&str> = [
        ("qemu-aarch64", tool_present("qemu-aarch64")),
        (
            "aarch64-linux-gnu-gcc",
            tool_present("aarch64-linux-gnu-gcc"),
        ),
        (
            "the arm64 libc (libc6:arm64)",
            std::path::Path::new("/lib/ld-linux-aarch64.so.1").exists(),
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
        let msg = format!("AArch64 run NOT RUN: missing {}", missing.join(", "));
        eprintln!("xtask: ********** {msg} **********");
        return if std::env::var_os("CI").is_some() {
            Err(msg)
        } else {
            Ok(())
        };
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
    crate::gotest::run_go_arm64(AARCH64, &target_dir.join(AARCH64).join("release"))?;
    eprintln!("xtask: AArch64 tests passed under qemu-user (emulated)");
    Ok(())
}
