//! Finding the built `libffikit_kernels.so`, for tests, benchmarks and examples.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// File name of the kernels' shared library on this platform.
pub const LIBRARY_FILE: &str = "libffikit_kernels.so";

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
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("FFIKIT_KERNELS_LIB") {
            return PathBuf::from(p);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "--release",
                "--lib",
                "-p",
                "ffikit-kernels",
            ])
            .current_dir(&workspace)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("running cargo to build libffikit_kernels.so");
        assert!(
            status.success(),
            "cargo build -p ffikit-kernels failed ({status})"
        );
        let path = target.join("release").join(LIBRARY_FILE);
        assert!(path.exists(), "{} was not built", path.display());
        path
    })
    .clone()
}
