//! Finding the built kernels — `libffikit_kernels.so` and `ffikit_kernels.wasm` — for tests,
//! benchmarks and examples.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// File name of the kernels' shared library on this platform.
pub const LIBRARY_FILE: &str = "libffikit_kernels.so";
/// File name of the kernels' WebAssembly module.
pub const WASM_FILE: &str = "ffikit_kernels.wasm";
/// The target the WebAssembly module is built for (with `+simd128`, set for this target in
/// the workspace's `.cargo/config.toml`).
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The path of a release build of `libffikit_kernels.so`, building it first if needed.
///
/// `FFIKIT_KERNELS_LIB`, when set, names the library to use and nothing is built (the
/// aarch64 runs under qemu set it to the cross-built library). Otherwise the library is built
/// once per process with `cargo build --release -p ffikit-kernels` (a no-op when it is up to
/// date) into the workspace's target directory (`CARGO_TARGET_DIR` when set).
///
/// # Panics
/// When the build fails or the library is missing afterwards: a test that needs the kernels
/// cannot run without them, and says so.
pub fn kernels_library() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| built("FFIKIT_KERNELS_LIB", None, LIBRARY_FILE))
        .clone()
}

/// The path of a release build of `ffikit_kernels.wasm`, building it first if needed (as
/// [`kernels_library`]; `FFIKIT_KERNELS_WASM` overrides).
///
/// # Panics
/// When the build fails (for example when the `wasm32-unknown-unknown` rustup target is not
/// installed: `rustup target add wasm32-unknown-unknown`).
pub fn kernels_wasm() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| built("FFIKIT_KERNELS_WASM", Some(WASM_TARGET), WASM_FILE))
        .clone()
}

fn built(override_var: &str, target: Option<&str>, file: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(override_var) {
        return PathBuf::from(p);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "--release",
        "--lib",
        "-p",
        "ffikit-kernels",
    ])
    .current_dir(&workspace)
    .env("CARGO_TARGET_DIR", &target_dir);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let status = cmd.status().expect("running cargo to build the kernels");
    assert!(
        status.success(),
        "cargo build -p ffikit-kernels (target {target:?}) failed ({status})"
    );
    let dir = match target {
        Some(t) => target_dir.join(t).join("release"),
        None => target_dir.join("release"),
    };
    let path = dir.join(file);
    assert!(path.exists(), "{} was not built", path.display());
    path
}
