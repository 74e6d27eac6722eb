//! Contexts, stable buffers and the kernels: `ffikit_context_*`, `ffikit_buffer_*`, and
//! `ffikit_{noop,add_u32,add_u32_batch,sum_f64,dot_f64,axpy_f64}` (on buffers) with their
//! `_ptr` twins (on caller memory).

use std::ffi::{CString, c_char, c_void};

use ffikit::{AnyContext, ContextConfig, OwnerId, PoolItem, StableBuffer};

use crate::boundary::{Failure, c_message, on_context, or_fallback, out_ptr, quietly, utf8};
use crate::status::ffikit_status;

/// A context: one backend instance with the kernels prepared, its buffers, and the message of
/// its last failed call. Used by one thread at a time.
#[allow(non_camel_case_types)]
pub struct ffikit_context {
    pub(crate) inner: AnyContext,
    /// `inner.owner()`, kept where `ffikit_call`'s straight path reads it with one load.
    pub(crate) owner: OwnerId,
    error: CString,
    pooled: bool,
}

impl ffikit_context {
    /// A context of `backend` with the kernels found by `ffikit::locate`.
    pub(crate) fn create(backend: &str, pooled: bool) -> ffikit::Result<ffikit_context> {
        let inner = AnyContext::new(backend, ContextConfig::default())?;
        Ok(ffikit_context {
            owner: inner.owner(),
            inner,
            error: CString::default(),
            pooled,
        })
    }

    pub(crate) fn set_error(&mut self, message: &str) {
        self.error = c_message(message);
    }
}

impl PoolItem for ffikit_context {
    fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    fn has_trapped(&self) -> bool {
        self.inner.has_trapped()
    }
}

/// A stable buffer of a context: memory whose address never changes until it is freed.
#[allow(non_camel_case_types)]
pub struct ffikit_buffer {
    ctx: *mut ffikit_context,
    pub(crate) buffer: StableBuffer,
}

/// Writes `message` (truncated, NUL-terminated) into `error[..error_len]` when `error` is
/// non-NULL and `error_len > 0`.
pub(crate) fn write_message(message: &str, error: *mut c_char, error_len: usize) {
    if error.is_null() || error_len == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let n = bytes.len().min(error_len - 1);
    // SAFETY: the caller passes `error` valid for `error_len` bytes (documented); `n + 1 <=
    // error_len`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), error.cast::<u8>(), n);
        *error.add(n) = 0;
    }
}

/// `ffikit_status ffikit_context_new(const char *backend, ffikit_context **out)`: a new
/// context of the backend named `backend` (`"native"`, `"asm"` or `"wasm"`), with the kernels
/// opened and prepared.
///
/// The kernels are found beside `libffikit.so` (or through `FFIKIT_KERNELS_LIB` /
/// `FFIKIT_KERNELS_WASM`). On success `*out` is a context the caller owns and frees with
/// `ffikit_context_free`; on failure `*out` is untouched.
///
/// Errors: `NULL_ARGUMENT`, `INVALID_UTF8`, `UNKNOWN_BACKEND`, `LIBRARY_NOT_FOUND` (kernels
/// not found), `UNSUPPORTED_TARGET`. There is no context to hold the message: use
/// `ffikit_context_new_msg` to get it.
///
/// # Safety
/// `backend` is NULL or a NUL-terminated string; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_context_new(
    backend: *const c_char,
    out: *mut *mut ffikit_context,
) -> ffikit_status {
    // SAFETY: forwarded; a NULL message buffer is allowed.
    unsafe { ffikit_context_new_msg(backend, out, std::ptr::null_mut(), 0) }
}

/// `ffikit_status ffikit_context_new_msg(const char *backend, ffikit_context **out, char
/// *error, size_t error_len)`: as `ffikit_context_new`, and on failure writes the message
/// (NUL-terminated, truncated to `error_len` bytes) into `error` when it is non-NULL.
///
/// # Safety
/// As `ffikit_context_new`; `error` is NULL or valid for `error_len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_context_new_msg(
    backend: *const c_char,
    out: *mut *mut ffikit_context,
    error: *mut c_char,
    error_len: usize,
) -> ffikit_status {
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<(), Failure> {
            let out = out_ptr(out, "out")?;
            // SAFETY: NUL-terminated or NULL per the contract.
            let name = unsafe { utf8(backend, "backend") }?;
            let ctx = ffikit_context::create(name, false)?;
            *out = Box::into_raw(Box::new(ctx));
            Ok(())
        }));
    match result {
        Ok(Ok(())) => ffikit_status::FFIKIT_STATUS_OK,
        Ok(Err(f)) => {
            write_message(&f.message, error, error_len);
            f.status
        }
        Err(_) => {
            write_message("internal error (a bug in ffikit)", error, error_len);
            ffikit_status::FFIKIT_STATUS_PANIC
        }
    }
}

/// `void ffikit_context_free(ffikit_context *ctx)`: frees a context made by
/// `ffikit_context_new`, with its buffers' memory and instances. NULL is a no-op; a context
/// that belongs to a pool is left alone (return it with `ffikit_pool_release`).
///
/// Buffers, libraries and functions of the context must be freed first (their handles are
/// dangling afterwards).
///
/// # Safety
/// `ctx` is NULL or a live context not in use by another thread, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_context_free(ctx: *mut ffikit_context) {
    quietly(|| {
        // SAFETY: NULL or live, per the contract.
        if let Some(c) = unsafe { ctx.as_ref() }
            && !c.pooled
        {
            // SAFETY: made by Box::into_raw in ffikit_context_new, freed once.
            drop(unsafe { Box::from_raw(ctx) });
        }
    })
}

/// `const char *ffikit_context_error(const ffikit_context *ctx)`: the message of the last
/// failed call on `ctx`, `""` if none failed (and `""` for NULL). Valid until the next call
/// on `ctx`; owned by the context.
///
/// # Safety
/// `ctx` is NULL or a live context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_context_error(ctx: *const ffikit_context) -> *const c_char {
    or_fallback(c"".as_ptr(), || {
        // SAFETY: NULL or live, per the contract.
        match unsafe { ctx.as_ref() } {
            Some(c) => c.error.as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// `const char *ffikit_context_backend(const ffikit_context *ctx)`: the backend's name
/// (`"native"`, `"asm"`, `"wasm"`), static; `""` for NULL.
///
/// # Safety
/// `ctx` is NULL or a live context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_context_backend(ctx: *const ffikit_context) -> *const c_char {
    or_fallback(c"".as_ptr(), || {
        // SAFETY: NULL or live, per the contract.
        match unsafe { ctx.as_ref() }.map(|c| c.inner.name()) {
            Some("native") => c"native".as_ptr(),
            Some("asm") => c"asm".as_ptr(),
            Some("wasm") => c"wasm".as_ptr(),
            _ => c"".as_ptr(),
        }
    })
}

/// `ffikit_status ffikit_buffer_new(ffikit_context *ctx, size_t len_bytes, ffikit_buffer
/// **out)`: a zeroed stable buffer of `len_bytes` bytes in `ctx` (host memory, or the wasm
/// instance's linear memory), at least 64-byte aligned, whose address never changes until
/// `ffikit_buffer_free`.
///
/// Errors: `NULL_ARGUMENT`, `OUT_OF_MEMORY`.
///
/// # Safety
/// `ctx` is NULL or a live context used by no other thread; `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_buffer_new(
    ctx: *mut ffikit_context,
    len_bytes: usize,
    out: *mut *mut ffikit_buffer,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let out = out_ptr(out, "out")?;
            let buffer = c.inner.alloc_buffer(len_bytes)?;
            *out = Box::into_raw(Box::new(ffikit_buffer { ctx, buffer }));
            Ok(())
        })
    }
}

/// `void *ffikit_buffer_data(ffikit_buffer *buf)`: the buffer's first byte: stable, at least
/// 64-byte aligned, valid for `ffikit_buffer_len` bytes until the buffer is freed. NULL for a
/// NULL buffer.
///
/// # Safety
/// `buf` is NULL or a live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_buffer_data(buf: *mut ffikit_buffer) -> *mut c_void {
    or_fallback(std::ptr::null_mut(), || {
        // SAFETY: NULL or live, per the contract.
        match unsafe { buf.as_ref() } {
            Some(b) => b.buffer.host_ptr().cast(),
            None => std::ptr::null_mut(),
        }
    })
}

/// `size_t ffikit_buffer_len(const ffikit_buffer *buf)`: the buffer's length in bytes (0 for
/// NULL).
///
/// # Safety
/// `buf` is NULL or a live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_buffer_len(buf: *const ffikit_buffer) -> usize {
    // SAFETY: NULL or live, per the contract.
    or_fallback(0, || unsafe { buf.as_ref() }.map_or(0, |b| b.buffer.len()))
}

/// `void ffikit_buffer_free(ffikit_buffer *buf)`: frees a buffer (NULL is a no-op). Its
/// context must still be alive and not in use by another thread.
///
/// # Safety
/// `buf` is NULL or a live buffer whose context is alive; not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_buffer_free(buf: *mut ffikit_buffer) {
    quietly(|| {
        if buf.is_null() {
            return;
        }
        // SAFETY: made by Box::into_raw in ffikit_buffer_new, freed once.
        let b = unsafe { Box::from_raw(buf) };
        // SAFETY: the buffer's context outlives it (the documented ownership rule).
        if let Some(c) = unsafe { b.ctx.as_mut() } {
            let _ = c.inner.free_buffer(b.buffer);
        }
    })
}
