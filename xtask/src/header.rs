//! `cargo xtask header`: generates `crates/capi/include/ffikit.h` with cbindgen, and the
//! staleness check `cargo xtask test` runs.

use std::path::PathBuf;

use crate::cmd::root;

/// Where the header is checked in.
pub(crate) fn header_path() -> PathBuf {
    root().join("crates/capi/include/ffikit.h")
}

/// The header cbindgen generates from `crates/capi` now.
///
/// # Errors
/// cbindgen's message when the crate cannot be parsed.
pub(crate) fn generate() -> Result<String, String> {
    let crate_dir = root().join("crates/capi");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("crates/capi/cbindgen.toml: {e}"))?;
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen failed on crates/capi: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| format!("cbindgen wrote invalid UTF-8: {e}"))
}

/// Writes the header (`cargo xtask header`).
///
/// # Errors
/// As [`generate`], or the write's error.
pub(crate) fn write() -> Result<(), String> {
    let text = generate()?;
    let path = header_path();
    std::fs::create_dir_all(path.parent().expect("a parent directory"))
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// Fails when the checked-in header differs from what cbindgen generates now.
///
/// # Errors
/// A message saying to run `cargo xtask header`.
pub(crate) fn check() -> Result<(), String> {
    let want = generate()?;
    let have = std::fs::read_to_string(header_path()).unwrap_or_default();
    if want != have {
        return Err(format!(
            "{} is stale (the C API changed): run `cargo xtask header` and commit the result",
            header_path().display()
        ));
    }
    eprintln!("xtask: ffikit.h is up to date");
    Ok(())
}
