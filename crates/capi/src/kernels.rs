//! The kernels through the C API: `ffikit_noop`, `ffikit_add_u32`, the buffer kernels
//! (`ffikit_sum_f64`, `ffikit_dot_f64`, `ffikit_axpy_f64`, `ffikit_add_u32_batch`), their
//! `_ptr` forms on caller memory, and `ffikit_context_kernel` (a kernel's own C function).

use std::ffi::{c_char, c_void};

use ffikit::StableBuffer;

use crate::boundary::{Failure, non_null, on_context, or_fallback, out_ptr, utf8};
use crate::context::{ffikit_buffer, ffikit_context};
use crate::status::ffikit_status;

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
