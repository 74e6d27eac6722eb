//! Callbacks: `ffikit_closure_new`, `ffikit_closure_code`, `ffikit_closure_free`.
//!
//! A closure turns a C function of one generic shape, `void fn(void *userdata, void *const
//! *args, void *ret)`, into a C function pointer of any signature of the grammar: the asm
//! backend's trampolines ([`ffikit::Closure`]) receive the call in the platform's C calling
//! convention and hand `fn` the arguments as libffi's closures do (an array of pointers to
//! each value).

use std::ffi::{c_char, c_void};

use ffikit::{Closure, Error, Signature};

use crate::boundary::{Failure, on_context, or_fallback, out_ptr, quietly, utf8};
use crate::context::ffikit_context;
use crate::status::ffikit_status;

/// A C function pointer made from a signature and a generic callback; see
/// `ffikit_closure_new`.
#[allow(non_camel_case_types)]
pub struct ffikit_closure {
    closure: Closure,
}

/// The generic callback of a closure: `userdata` as given to `ffikit_closure_new`; `args[i]`
/// points at the `i`-th argument's value in its C type (valid during the call only); `ret`
/// points at zeroed, 8-byte-aligned storage for the return value in its C type (at least 8
/// bytes for a scalar return, so writing a libffi-style widened `ffi_arg` is also fine; the
/// struct's size for a struct return; unused for `void`).
#[allow(non_camel_case_types)]
pub type ffikit_closure_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, args: *const *mut c_void, ret: *mut c_void)>;

/// The callback and its user data, shareable across threads (C promises that `fn` may be
/// called from whatever threads it calls the closure's code from).
#[derive(Clone, Copy)]
struct Callback {
    f: unsafe extern "C" fn(*mut c_void, *const *mut c_void, *mut c_void),
    userdata: *mut c_void,
}

// SAFETY: the pointers are passed back to C untouched; thread-safety of `fn` and `userdata`
// is the C caller's contract (documented on `ffikit_closure_new`).
unsafe impl Send for Callback {}
// SAFETY: as above.
unsafe impl Sync for Callback {}

/// `ffikit_status ffikit_closure_new(ffikit_context *ctx, const char *signature, void
/// (*fn)(void *userdata, void *const *args, void *ret), void *userdata, ffikit_closure
/// **out)`: a C function pointer (`ffikit_closure_code`) of the C signature `signature`
/// (the text grammar of `ffikit_prepare`: `"i32(ptr, ptr)"` for a `qsort` comparator,
/// `"{f64, f64}(f64, i64)"` with structs by value, `"void(ptr, ..., f64)"` for a variadic
/// shape) that calls `fn(userdata, args, ret)` each time it is called.
///
/// There is no limit on the number of closures: trampolines come in pages mapped as needed
/// (never writable and executable at once) and every freed closure's stub is reused. The
/// code may be called from any thread, including threads the caller created, concurrently
/// if `fn` allows it. `ctx` only receives the error message; the closure does not depend on
/// it and may outlive it, and its code is the same whatever the context's backend.
///
/// Errors: `NULL_ARGUMENT` (`fn`, `signature`, `out`), `INVALID_UTF8`, `INVALID_SIGNATURE`
/// (with the byte position), `UNSUPPORTED_SIGNATURE` (more than 64 arguments, or stack
/// arguments past 4 KiB), `UNSUPPORTED_TARGET` (neither x86-64 nor AArch64),
/// `OUT_OF_MEMORY` / `BACKEND_ERROR` (a trampoline page could not be mapped or made
/// executable).
///
/// # Safety
/// `ctx` NULL or a live context used by no other thread; `signature` NULL or NUL-terminated;
/// `out` NULL or writable; `fn` must be callable with `userdata` from every thread that will
/// call the closure's code, for as long as the closure lives.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_closure_new(
    ctx: *mut ffikit_context,
    signature: *const c_char,
    callback: ffikit_closure_fn,
    userdata: *mut c_void,
    out: *mut *mut ffikit_closure,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |_| {
            let out = out_ptr(out, "out")?;
            let f = callback.ok_or_else(|| Failure::null("fn"))?;
            let sig: Signature = utf8(signature, "signature")?.parse().map_err(Error::from)?;
            let closure = closure_of(&sig, Callback { f, userdata })?;
            *out = Box::into_raw(Box::new(ffikit_closure { closure }));
            Ok(())
        })
    }
}

/// A [`Closure`] of `sig` that calls `cb`.
fn closure_of(sig: &Signature, cb: Callback) -> Result<Closure, Error> {
    Closure::new(sig, move |args, ret| {
        let cb = cb;
        // SAFETY: the C caller promised `fn` takes these (`ffikit_closure_new`'s contract);
        // `args` holds one pointer per argument and `ret` the return storage, both valid
        // during this call.
        unsafe { (cb.f)(cb.userdata, args.as_ptr().cast(), ret.as_mut_ptr()) }
    })
}

/// `void *ffikit_closure_code(const ffikit_closure *c)`: the closure's C function pointer
/// (cast it to the function pointer type of its signature), valid until `ffikit_closure_free`;
/// NULL for a NULL closure.
///
/// # Safety
/// `c` is NULL or a live closure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_closure_code(c: *const ffikit_closure) -> *mut c_void {
    or_fallback(std::ptr::null_mut(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { c.as_ref() }.map_or(std::ptr::null_mut(), |c| c.closure.code().cast_mut())
    })
}

/// `size_t ffikit_closure_nargs(const ffikit_closure *c)`: the number of arguments the
/// closure's signature takes (the length of `args` in its callback), 0 for NULL.
///
/// # Safety
/// `c` is NULL or a live closure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_closure_nargs(c: *const ffikit_closure) -> usize {
    or_fallback(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { c.as_ref() }.map_or(0, |c| c.closure.signature().args().len())
    })
}

/// `void ffikit_closure_free(ffikit_closure *c)`: frees the closure (NULL is a no-op); its
/// stub is reused by a later closure, and a call through the old pointer aborts the process
/// with a message rather than running freed memory.
///
/// # Safety
/// `c` is NULL or a live closure, not used after this call, and no thread is inside or
/// about to enter its code.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_closure_free(c: *mut ffikit_closure) {
    quietly(|| {
        if !c.is_null() {
            // SAFETY: made by Box::into_raw in ffikit_closure_new, freed once.
            drop(unsafe { Box::from_raw(c) });
        }
    })
}
