//! Finding the built kernels at run time: `libffikit_kernels.so` (native, asm) and
//! `ffikit_kernels.wasm` (wasm), for [`AnyContext::new`](crate::AnyContext::new) and the C
//! API.
//!
//! The search order, first match wins:
//! 1. `FFIKIT_KERNELS_LIB` / `FFIKIT_KERNELS_WASM`: the file to use;
//! 2. beside the binary that contains ffikit (found with `dladdr(3)`: `libffikit.so` for C
//!    and Go callers, the executable for Rust ones) and beside the running executable, each
//!    directory `d` tried as `d/`, `d/../`, `d/../release/`, `d/../../release/` and, for the
//!    wasm module, `d/../wasm32-unknown-unknown/release/` and
//!    `d/../../wasm32-unknown-unknown/release/` — which covers an install that puts the files
//!    side by side and a Cargo `target/` tree (`cargo xtask build`) in place.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::{Path, PathBuf};

use ffi_trait::{Error, PointerKind, Result};

/// The kernels' shared library file name.
pub const KERNELS_LIBRARY: &str = "libffikit_kernels.so";
/// The kernels' WebAssembly module file name.
pub const KERNELS_WASM: &str = "ffikit_kernels.wasm";

/// The kernels file for a backend whose pointers are `pointers` (guest: the `.wasm` module;
/// host: the shared library).
///
/// # Errors
/// [`Error::LibraryNotFound`] naming every place searched and the variable that overrides it.
pub fn kernels_for(pointers: PointerKind) -> Result<PathBuf> {
    let (var, file) = match pointers {
        PointerKind::Host => ("FFIKIT_KERNELS_LIB", KERNELS_LIBRARY),
        PointerKind::Guest => ("FFIKIT_KERNELS_WASM", KERNELS_WASM),
    };
    if let Some(p) = std::env::var_os(var) {
        return Ok(PathBuf::from(p));
    }
    let mut tried = Vec::new();
    for dir in origin_dirs() {
        let mut subdirs = vec!["", "..", "../release", "../../release"];
        if pointers == PointerKind::Guest {
            subdirs.extend([
                "../wasm32-unknown-unknown/release",
                "../../wasm32-unknown-unknown/release",
            ]);
        }
        for sub in subdirs {
            let candidate = dir.join(sub).join(file);
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
    }
    Err(Error::LibraryNotFound {
        library: file.to_owned(),
        reason: format!(
            "not found in {}; build it with `cargo xtask build` or set {var}",
            tried.join(", ")
        ),
    })
}

/// The directories of the binary that contains this function and of the executable.
fn origin_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = containing_binary() {
        dirs.extend(p.parent().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        dirs.extend(exe.parent().map(Path::to_path_buf));
    }
    dirs.dedup();
    dirs
}

#[repr(C)]
struct DlInfo {
    dli_fname: *const c_char,
    dli_fbase: *mut c_void,
    dli_sname: *const c_char,
    dli_saddr: *mut c_void,
}

unsafe extern "C" {
    /// `int dladdr(const void *addr, Dl_info *info)` (POSIX.1-2024; glibc, musl, macOS).
    fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
}

fn containing_binary() -> Option<PathBuf> {
    let mut info = DlInfo {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: `dladdr` only reads the address (of a function in this binary) and writes the
    // struct we own; `dli_fname`, when set, is a NUL-terminated string owned by the loader.
    let found = unsafe { dladdr(containing_binary as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: checked non-null above; the loader keeps it alive while the binary is loaded.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = PathBuf::from(name.to_str().ok()?);
    std::fs::canonicalize(&path).ok().or(Some(path))
}
