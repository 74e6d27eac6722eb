//! Running commands with a clear error when one fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of `xtask/`): from `CARGO_MANIFEST_DIR` as `cargo run` (the
/// `cargo xtask` alias) sets it for this run, else as it was when this binary was built.
///
/// The run's value comes first because cargo may reuse an xtask binary built from another
/// checkout that shares the target directory (its fingerprint of a path package does not
/// include the path): the built-in path then names that other checkout, and a bench-matrix run
/// measured its code.
pub(crate) fn root() -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join("src/main.rs").exists())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    Path::new(&dir)
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// The `cargo` that runs us (`CARGO`), or `cargo` from `PATH`.
pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs `command`, echoing it first.
///
/// # Errors
/// A message naming the command when it cannot start or exits unsuccessfully.
pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: $ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
