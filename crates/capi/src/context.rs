//! Contexts, stable buffers and the kernels: `ffikit_context_*`, `ffikit_buffer_*`, and
//! `ffikit_{noop,add_u32,add_u32_batch,sum_f64,dot_f64,axpy_f64}` (on buffers) with their
//! `_ptr` twins (on caller memory).

use std::ffi::{CString, c_char, c_void};

use ffikit::{AnyContext, ContextConfig, OwnerId, PoolItem, StableBuffer};

use crate::boundary::{
    Failure, c_message, non_null, on_context, or_fallback, out_ptr, quietly, utf8,
};
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

/// The stable buffer of a buffer handle, NULL-checked.
///
/// # Safety
/// `buf` is NULL or a live buffer.
unsafe fn buffer<'a>(buf: *const ffikit_buffer, what: &str) -> Result<&'a StableBuffer, Failure> {
    // SAFETY: forwarded.
    unsafe { non_null(buf, what) }.map(|b| &b.buffer)
}

/// A slice over caller memory, NULL-checked (NULL is allowed for `n == 0`).
///
/// # Safety
/// A non-NULL `ptr` is valid for reads of `n` values of `T`.
unsafe fn slice<'a, T>(ptr: *const T, n: usize, what: &str) -> Result<&'a [T], Failure> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and valid for `n` reads per the contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// As [`slice`], mutable.
///
/// # Safety
/// A non-NULL `ptr` is valid for reads and writes of `n` values of `T`, aliased by nothing
/// else during the call.
unsafe fn slice_mut<'a, T>(ptr: *mut T, n: usize, what: &str) -> Result<&'a mut [T], Failure> {
    if n == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL, valid and unaliased per the contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, n) })
}

/// `ffikit_status ffikit_noop(ffikit_context *ctx)`: calls the `noop` kernel (the bare cost
/// of one call through the context's backend).
///
/// # Safety
/// `ctx` is NULL or a live context used by no other thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_noop(ctx: *mut ffikit_context) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe { on_context(ctx, |c| Ok(c.inner.noop()?)) }
}

/// `ffikit_status ffikit_add_u32(ffikit_context *ctx, uint32_t a, uint32_t b, uint32_t
/// *out)`: `*out = a + b` (wrapping), computed by the `add_u32` kernel.
///
/// # Safety
/// `ctx` is NULL or a live context used by no other thread; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_add_u32(
    ctx: *mut ffikit_context,
    a: u32,
    b: u32,
    out: *mut u32,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let out = out_ptr(out, "out")?;
            *out = c.inner.add_u32(a, b)?;
            Ok(())
        })
    }
}

/// `void *ffikit_context_kernel(const ffikit_context *ctx, const char *kernel)`: the C
/// function of the context's kernel `kernel` (`"noop"`, `"add_u32"`, `"add_u32_batch"`,
/// `"sum_f64"`, `"dot_f64"`, `"axpy_f64"`, with the C types of `libffikit_kernels.so`'s
/// `ffikit_<kernel>` exports, e.g. `uint32_t (*)(uint32_t, uint32_t)` for `"add_u32"` and
/// `double (*)(const double *, size_t)` for `"sum_f64"`) for the native and asm backends, whose kernels are native code: a caller that
/// calls through it pays a plain C call (no status, no checks: the kernels cannot fail on
/// valid input). NULL for the wasm backend, an unknown name, or NULL arguments. Valid while
/// the context lives.
///
/// # Safety
/// `ctx` is NULL or a live context; `kernel` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_context_kernel(
    ctx: *const ffikit_context,
    kernel: *const c_char,
) -> *mut c_void {
    or_fallback(std::ptr::null_mut(), || {
        // SAFETY: NULL or live / NUL-terminated, per the contract.
        let (Some(c), Ok(name)) = (unsafe { ctx.as_ref() }, unsafe { utf8(kernel, "kernel") })
        else {
            return std::ptr::null_mut();
        };
        c.inner
            .kernel_address(name)
            .map_or(std::ptr::null_mut(), |p| p.cast_mut())
    })
}

/// An element type of the kernels' buffers: its name and size in bytes, for messages.
type Elem = (&'static str, usize);
const F64: Elem = ("f64", 8);
const U32: Elem = ("u32", 4);

/// The buffer arguments of a kernel call checked by name before it runs: each belongs to
/// `c` (`FOREIGN_HANDLE` otherwise) and holds `n` elements of `elem` (`BUFFER_OUT_OF_BOUNDS`
/// otherwise), the message naming the parameter, `n` and the sizes. The backends check the
/// same again; this only gives the C caller the names.
fn fit(
    c: &ffikit_context,
    n: usize,
    elem: Elem,
    bufs: &[(&str, &StableBuffer)],
) -> Result<(), Failure> {
    let own = c.owner;
    for &(name, b) in bufs {
        if b.owner() != own {
            return Err(Failure {
                status: ffikit_status::FFIKIT_STATUS_FOREIGN_HANDLE,
                message: format!(
                    "`{name}` is a buffer of context {}, used with context {}",
                    b.owner().get(),
                    own.get()
                ),
            });
        }
        let (ty, size) = elem;
        if n.checked_mul(size).is_none_or(|bytes| bytes > b.len()) {
            return Err(Failure {
                status: ffikit_status::FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS,
                message: format!(
                    "n = {n} {ty} ({} bytes) is out of bounds of `{name}`, a buffer of {} bytes ({} {ty})",
                    n as u128 * size as u128,
                    b.len(),
                    b.len() / size
                ),
            });
        }
    }
    Ok(())
}

/// `ffikit_status ffikit_sum_f64(ffikit_context *ctx, const ffikit_buffer *x, size_t n,
/// double *out)`: `*out` = the sum of the first `n` doubles of buffer `x`, in place.
///
/// Errors: `NULL_ARGUMENT`, `FOREIGN_HANDLE` (a buffer of another context),
/// `BUFFER_OUT_OF_BOUNDS` (`n` doubles run past the buffer's end), `TRAP`,
/// `CONTEXT_POISONED`.
///
/// # Safety
/// `ctx` is NULL or a live context used by no other thread; `x` NULL or a live buffer;
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_sum_f64(
    ctx: *mut ffikit_context,
    x: *const ffikit_buffer,
    n: usize,
    out: *mut f64,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let x = buffer(x, "x")?;
            let out = out_ptr(out, "out")?;
            fit(c, n, F64, &[("x", x)])?;
            *out = c.inner.sum_f64_buffer(x, n)?;
            Ok(())
        })
    }
}

/// `ffikit_status ffikit_dot_f64(ffikit_context *ctx, const ffikit_buffer *x, const
/// ffikit_buffer *y, size_t n, double *out)`: `*out = Σ x[i]·y[i]` over the first `n`
/// doubles of two buffers, in place. Errors as `ffikit_sum_f64`.
///
/// # Safety
/// As `ffikit_sum_f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_dot_f64(
    ctx: *mut ffikit_context,
    x: *const ffikit_buffer,
    y: *const ffikit_buffer,
    n: usize,
    out: *mut f64,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let (x, y) = (buffer(x, "x")?, buffer(y, "y")?);
            let out = out_ptr(out, "out")?;
            fit(c, n, F64, &[("x", x), ("y", y)])?;
            *out = c.inner.dot_f64_buffer(x, y, n)?;
            Ok(())
        })
    }
}

/// `ffikit_status ffikit_axpy_f64(ffikit_context *ctx, double a, const ffikit_buffer *x,
/// ffikit_buffer *y, size_t n)`: `y[i] = a·x[i] + y[i]` over the first `n` doubles, in
/// place. Errors as `ffikit_sum_f64`.
///
/// # Safety
/// As `ffikit_sum_f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_axpy_f64(
    ctx: *mut ffikit_context,
    a: f64,
    x: *const ffikit_buffer,
    y: *mut ffikit_buffer,
    n: usize,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let (x, y) = (buffer(x, "x")?, buffer(y, "y")?);
            fit(c, n, F64, &[("x", x), ("y", y)])?;
            Ok(c.inner.axpy_f64_buffer(a, x, y, n)?)
        })
    }
}

/// `ffikit_status ffikit_add_u32_batch(ffikit_context *ctx, const ffikit_buffer *a, const
/// ffikit_buffer *b, ffikit_buffer *out, size_t n)`: `out[i] = a[i] + b[i]` (wrapping) over
/// the first `n` uint32_t of three buffers, in one call. Errors as `ffikit_sum_f64`.
///
/// # Safety
/// As `ffikit_sum_f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_add_u32_batch(
    ctx: *mut ffikit_context,
    a: *const ffikit_buffer,
    b: *const ffikit_buffer,
    out: *mut ffikit_buffer,
    n: usize,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let (a, b, o) = (buffer(a, "a")?, buffer(b, "b")?, buffer(out, "out")?);
            fit(c, n, U32, &[("a", a), ("b", b), ("out", o)])?;
            Ok(c.inner.add_u32_batch_buffer(a, b, o, n)?)
        })
    }
}

/// `ffikit_status ffikit_sum_f64_ptr(ffikit_context *ctx, const double *x, size_t n, double
/// *out)`: as `ffikit_sum_f64` on caller memory. The native and asm backends read `x` in
/// place; the wasm backend copies it into a scratch buffer first (in place when `x` lies in
/// one of the context's buffers). `x` may be NULL when `n` is 0.
///
/// Errors: as `ffikit_sum_f64`, and `BUFFER_TOO_SMALL` when a wasm copy exceeds the scratch
/// capacity (8 MiB).
///
/// # Safety
/// As `ffikit_sum_f64`; `x` is valid for reads of `n` doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_sum_f64_ptr(
    ctx: *mut ffikit_context,
    x: *const f64,
    n: usize,
    out: *mut f64,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let x = slice(x, n, "x")?;
            let out = out_ptr(out, "out")?;
            *out = c.inner.sum_f64(x)?;
            Ok(())
        })
    }
}

/// `ffikit_status ffikit_dot_f64_ptr(ffikit_context *ctx, const double *x, const double *y,
/// size_t n, double *out)`: as `ffikit_dot_f64` on caller memory (see
/// `ffikit_sum_f64_ptr`).
///
/// # Safety
/// As `ffikit_sum_f64_ptr`, for `x` and `y`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_dot_f64_ptr(
    ctx: *mut ffikit_context,
    x: *const f64,
    y: *const f64,
    n: usize,
    out: *mut f64,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let (x, y) = (slice(x, n, "x")?, slice(y, n, "y")?);
            let out = out_ptr(out, "out")?;
            *out = c.inner.dot_f64(x, y)?;
            Ok(())
        })
    }
}

/// `ffikit_status ffikit_axpy_f64_ptr(ffikit_context *ctx, double a, const double *x, double
/// *y, size_t n)`: as `ffikit_axpy_f64` on caller memory (see `ffikit_sum_f64_ptr`; wasm
/// copies `y` in and the result back).
///
/// # Safety
/// As `ffikit_sum_f64_ptr`; `y` is valid for reads and writes of `n` doubles and does not
/// overlap `x`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_axpy_f64_ptr(
    ctx: *mut ffikit_context,
    a: f64,
    x: *const f64,
    y: *mut f64,
    n: usize,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let (x, y) = (slice(x, n, "x")?, slice_mut(y, n, "y")?);
            Ok(c.inner.axpy_f64(a, x, y)?)
        })
    }
}

/// `ffikit_status ffikit_add_u32_batch_ptr(ffikit_context *ctx, const uint32_t *a, const
/// uint32_t *b, uint32_t *out, size_t n)`: as `ffikit_add_u32_batch` on caller memory.
///
/// # Safety
/// As `ffikit_sum_f64_ptr`; `out` is valid for writes of `n` values and overlaps neither
/// input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_add_u32_batch_ptr(
    ctx: *mut ffikit_context,
    a: *const u32,
    b: *const u32,
    out: *mut u32,
    n: usize,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let (a, b) = (slice(a, n, "a")?, slice(b, n, "b")?);
            let out = slice_mut(out, n, "out")?;
            Ok(c.inner.add_u32_batch(a, b, out)?)
        })
    }
}
