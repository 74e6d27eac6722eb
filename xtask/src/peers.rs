//! Peer sources for the benchmarks that the Go module proxy cannot serve: unpacked from
//! `shared/peers/` (beside the checkout) into `target/peers/`, never into the repository.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::root;

/// goffi's source tarball (top directory `goffi-0.6.3/`), relative to the workspace root.
const GOFFI_TARBALL: &str = "../shared/peers/goffi-0.6.3-src.tar.gz";

/// The directory of the unpacked goffi source, relative to the workspace root. The `replace`
/// directive of `bindings/go/goffi-bench/go.mod` points here.
const GOFFI_DIR: &str = "target/peers/goffi-0.6.3";

/// goffi v0.6.3 (`github.com/go-webgpu/goffi`, the zero-cgo Go FFI), unpacked from
/// `shared/peers/goffi-0.6.3-src.tar.gz` into `target/peers/goffi-0.6.3` on the first call
/// (later calls find its `go.mod` and unpack nothing).
///
/// Returns `Ok(None)` when the tarball is absent (a checkout without `shared/` beside it): the
/// caller then reports the goffi rows as NOT RUN.
///
/// # Errors
/// A message when `target/peers` cannot be created, when `tar` cannot start or fails, or when
/// the unpacked tree has no `go.mod` (a tarball of another layout).
pub(crate) fn goffi_source() -> Result<Option<PathBuf>, String> {
    let root = root();
    let dir = root.join(GOFFI_DIR);
    if dir.join("go.mod").exists() {
        return Ok(Some(dir));
    }
    let tarball = root.join(GOFFI_TARBALL);
    if !tarball.is_file() {
        return Ok(None);
    }
    let peers = dir.parent().unwrap_or(&root).to_path_buf();
    unpack(&tarball, &peers)?;
    if dir.join("go.mod").exists() {
        Ok(Some(dir))
    } else {
        Err(format!(
            "{} did not unpack to {} (no go.mod there)",
            tarball.display(),
            dir.display()
        ))
    }
}

/// Unpacks the gzipped `tarball` into `into` (created if missing) with `tar -xzf`.
///
/// # Errors
/// A message naming the tarball when `into` cannot be created, or when `tar` cannot start or
/// exits unsuccessfully.
fn unpack(tarball: &Path, into: &Path) -> Result<(), String> {
    std::fs::create_dir_all(into)
        .map_err(|e| format!("could not create {}: {e}", into.display()))?;
    eprintln!(
        "xtask: unpacking {} into {}",
        tarball.display(),
        into.display()
    );
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .status()
        .map_err(|e| format!("could not start `tar` for {}: {e}", tarball.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`tar -xzf {} -C {}` failed ({status})",
            tarball.display(),
            into.display()
        ))
    }
}
