//! `cargo xtask test`: everything that must pass before a change lands.

use crate::cmd::{cargo, run};

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy` (tests only).
    #[arg(long)]
    no_lint: bool,
}

/// Builds the kernels' shared library, runs every workspace test, then the lints.
pub(crate) fn run_all(args: &TestArgs) -> Result<(), String> {
    // The tests load the release build of libffikit_kernels.so; build it once up front so a
    // build failure is reported here rather than inside a test.
    run(cargo().args(["build", "--release", "--lib", "-p", "ffikit-kernels"]))?;
    run(cargo().args(["test", "--workspace", "--all-targets"]))?;
    // The C API crate has no Rust library target, so it has no doc tests.
    run(cargo().args(["test", "--workspace", "--doc", "--exclude", "ffikit-capi"]))?;
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
    eprintln!("xtask: all tests passed");
    Ok(())
}
