//! Context pools: `ffikit_pool_*`. Each thread (or goroutine) takes its own context, lock-free
//! when warm (see `ffikit::ContextPool`).

use std::ffi::c_char;
use std::time::Duration;

use ffikit::{ContextPool, PointerKind};

use crate::boundary::{Failure, out_ptr, quietly, utf8, without_context};
use crate::context::{ffikit_context, write_message};
use crate::status::ffikit_status;

/// A bounded pool of contexts of one backend; safe to share between threads.
#[allow(non_camel_case_types)]
pub struct ffikit_pool {
    pool: ContextPool<ffikit_context>,
}

/// `ffikit_status ffikit_pool_new(const char *backend, size_t max_contexts, ffikit_pool
/// **out)`: a pool of at most `max_contexts` contexts of `backend`, created on demand. The
/// backend name and the kernels are checked now.
///
/// Errors: `NULL_ARGUMENT`, `INVALID_UTF8`, `UNKNOWN_BACKEND`, `LIBRARY_NOT_FOUND`,
/// `INVALID_ARGUMENT` (`max_contexts` of 0). `ffikit_pool_new_msg` also gives the message.
///
/// # Safety
/// `backend` NULL or NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_new(
    backend: *const c_char,
    max_contexts: usize,
    out: *mut *mut ffikit_pool,
) -> ffikit_status {
    // SAFETY: forwarded; a NULL message buffer is allowed.
    unsafe { ffikit_pool_new_msg(backend, max_contexts, out, std::ptr::null_mut(), 0) }
}

/// `ffikit_status ffikit_pool_new_msg(const char *backend, size_t max_contexts, ffikit_pool
/// **out, char *error, size_t error_len)`: as `ffikit_pool_new`, writing the message of a
/// failure into `error` (NUL-terminated, truncated) when it is non-NULL.
///
/// # Safety
/// As `ffikit_pool_new`; `error` NULL or valid for `error_len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_new_msg(
    backend: *const c_char,
    max_contexts: usize,
    out: *mut *mut ffikit_pool,
    error: *mut c_char,
    error_len: usize,
) -> ffikit_status {
    let mut message = String::new();
    let status = without_context(|| {
        let r = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: NUL-terminated or NULL per the contract.
            let name = unsafe { utf8(backend, "backend") }?.to_owned();
            if max_contexts == 0 || max_contexts > u32::MAX as usize {
                return Err(Failure::invalid(format!(
                    "max_contexts must be between 1 and {}, got {max_contexts}",
                    u32::MAX
                )));
            }
            // Check the name and find the kernels now, so a typo fails here.
            let b = ffikit::backend_by_name(&name)?;
            let _: PointerKind = b.pointers();
            ffikit::locate::kernels_for(b.pointers())?;
            drop(b);
            let pool = ContextPool::new(max_contexts, move || ffikit_context::create(&name, true));
            *out = Box::into_raw(Box::new(ffikit_pool { pool }));
            Ok(())
        })();
        if let Err(f) = &r {
            message = f.message.clone();
        }
        r
    });
    if status != ffikit_status::FFIKIT_STATUS_OK {
        write_message(&message, error, error_len);
    }
    status
}

/// `ffikit_status ffikit_pool_acquire(ffikit_pool *pool, ffikit_context **out)`: checks out a
/// context without waiting: the calling thread's own from last time when it is free (no
/// lock, no allocation), else any free one, else a new one below the bound. The context
/// belongs to the pool: return it with `ffikit_pool_release`, never `ffikit_context_free`.
///
/// Errors: `NULL_ARGUMENT`, `POOL_EXHAUSTED` (all `max_contexts` checked out), or what
/// creating a context reports.
///
/// # Safety
/// `pool` NULL or a live pool; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_acquire(
    pool: *mut ffikit_pool,
    out: *mut *mut ffikit_context,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe { acquire(pool, out, None) }
}

/// `ffikit_status ffikit_pool_acquire_timeout(ffikit_pool *pool, uint64_t timeout_ms,
/// ffikit_context **out)`: as `ffikit_pool_acquire`, but when the pool is at its bound waits
/// up to `timeout_ms` milliseconds for a context to be released.
///
/// Errors: as `ffikit_pool_acquire`, with `POOL_TIMEOUT` instead of `POOL_EXHAUSTED`.
///
/// # Safety
/// As `ffikit_pool_acquire`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_acquire_timeout(
    pool: *mut ffikit_pool,
    timeout_ms: u64,
    out: *mut *mut ffikit_context,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe { acquire(pool, out, Some(Duration::from_millis(timeout_ms))) }
}

/// # Safety
/// As `ffikit_pool_acquire`.
unsafe fn acquire(
    pool: *mut ffikit_pool,
    out: *mut *mut ffikit_context,
    timeout: Option<Duration>,
) -> ffikit_status {
    without_context(|| {
        // SAFETY: NULL or live, per the contract; the pool is Sync.
        let pool = unsafe { pool.as_ref() }.ok_or_else(|| Failure::null("pool"))?;
        let out = out_ptr(out, "out")?;
        *out = pool.pool.acquire_raw(timeout)?.as_ptr();
        Ok(())
    })
}

/// `void ffikit_pool_release(ffikit_pool *pool, ffikit_context *ctx)`: returns a context to
/// its pool, which keeps it for the next checkout; in a pool set to discard trapped contexts
/// (`ffikit_pool_set_discard_trapped`), one whose call trapped is dropped and replaced on
/// demand. NULL, a context of another pool, or one already released is ignored (nothing
/// changes).
///
/// # Safety
/// `pool` NULL or live; `ctx` not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_release(pool: *mut ffikit_pool, ctx: *mut ffikit_context) {
    quietly(|| {
        // SAFETY: NULL or live, per the contract.
        if let Some(p) = unsafe { pool.as_ref() } {
            let _ = p.pool.release_raw(ctx, false);
        }
    })
}

/// `void ffikit_pool_set_discard_trapped(ffikit_pool *pool, bool on)`: whether a context
/// whose call trapped (a wasm trap or deadline) is dropped when it is released, so that the
/// next checkout gets a fresh one. Off by default: a trap is the error of that call only,
/// and the context stays usable with its buffers. Takes effect for the contexts released
/// after it, from any thread. NULL is ignored.
///
/// # Safety
/// `pool` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_set_discard_trapped(pool: *mut ffikit_pool, on: bool) {
    quietly(|| {
        // SAFETY: NULL or live, per the contract.
        if let Some(p) = unsafe { pool.as_ref() } {
            p.pool.set_discard_trapped(on);
        }
    })
}

/// `void ffikit_pool_free(ffikit_pool *pool)`: frees a pool and all its contexts (NULL is a
/// no-op). Every acquired context must have been released first.
///
/// # Safety
/// `pool` NULL or a live pool used by no other thread, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_pool_free(pool: *mut ffikit_pool) {
    quietly(|| {
        if !pool.is_null() {
            // SAFETY: made by Box::into_raw in ffikit_pool_new, freed once.
            drop(unsafe { Box::from_raw(pool) });
        }
    })
}
