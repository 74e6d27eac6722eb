//! # ffikit C API: `libffikit.so`, `libffikit.a` and `include/ffikit.h`
//!
//! The backends, kernels, stable buffers, dynamic calls and context pools of ffikit for C,
//! Go, Python or any language with a C FFI. The header is generated from this crate by
//! cbindgen (`cargo xtask header`) and checked in; `crates/capi/README.md` states the
//! conventions, in the style of rustls-ffi and wasmtime's C API:
//!
//! - every name starts with `ffikit_`; opaque handles with `_new` / `_free` (NULL is a no-op);
//! - every fallible function returns an [`ffikit_status`]; results go through out-pointers,
//!   written only on success;
//! - the message of a failure is kept on the context the call was made on
//!   (`ffikit_context_error`), not in thread-local storage (a goroutine may move between OS
//!   threads between two cgo calls);
//! - every export catches panics: none crosses into C;
//! - a context and everything made from it are used by one thread at a time; pools are
//!   shared.

mod boundary;
pub mod closure;
pub mod context;
pub mod dynamic;
pub mod kernels;
pub mod pool;
pub mod registers;
pub mod status;

use std::ffi::c_char;

pub use closure::ffikit_closure;
pub use context::{ffikit_buffer, ffikit_context};
pub use dynamic::{ffikit_function, ffikit_library};
pub use pool::ffikit_pool;
pub use registers::ffikit_register_call;
pub use status::ffikit_status;

/// `const char *ffikit_version(void)`: the library's version (`"0.1.0"`), a static
/// NUL-terminated string the caller must not free.
#[unsafe(no_mangle)]
pub extern "C" fn ffikit_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
