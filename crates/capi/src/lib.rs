//! # ffikit C API (not built yet)
//!
//! `libffikit.so` and `include/ffikit.h` are the subject of their own issue. Until it lands
//! this library exports only `ffikit_version`.

use std::ffi::c_char;

/// `const char *ffikit_version(void)`: the library's version, a static NUL-terminated string
/// the caller must not free.
#[unsafe(no_mangle)]
pub extern "C" fn ffikit_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
