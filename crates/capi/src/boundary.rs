//! The boundary every export goes through: NULL checks, the panic catch, and the error
//! message kept on the context the call was made on.

use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use ffikit::Error;

use crate::context::ffikit_context;
use crate::status::{ffikit_status, status_of};

/// A failed call: its status and message.
pub(crate) struct Failure {
    pub(crate) status: ffikit_status,
    pub(crate) message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            status: status_of(&e),
            message: e.to_string(),
        }
    }
}

impl Failure {
    /// A NULL pointer where `what` was required.
    pub(crate) fn null(what: &str) -> Failure {
        Failure {
            status: ffikit_status::FFIKIT_STATUS_NULL_ARGUMENT,
            message: format!("{what} is NULL"),
        }
    }

    /// An argument out of its range.
    pub(crate) fn invalid(message: String) -> Failure {
        Failure {
            status: ffikit_status::FFIKIT_STATUS_INVALID_ARGUMENT,
            message,
        }
    }
}

/// `Ok(&T)` for a non-NULL pointer, a NULL failure naming `what` otherwise.
///
/// # Safety
/// A non-NULL `ptr` must point at a live `T` with no mutable alias for `'a`.
pub(crate) unsafe fn non_null<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// Writes `value` through the out-pointer `out` (checked non-NULL before any work by the
/// caller's use of [`out_ptr`]).
pub(crate) fn out_ptr<'a, T>(out: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the C caller passes an out-pointer valid for a write of `T` or NULL (the
    // documented contract of every out-parameter).
    unsafe { out.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// A UTF-8 string from a NUL-terminated C string.
///
/// # Safety
/// A non-NULL `s` must point at a NUL-terminated string.
pub(crate) unsafe fn utf8<'a>(s: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|e| Failure {
        status: ffikit_status::FFIKIT_STATUS_INVALID_UTF8,
        message: format!("{what} is not valid UTF-8: {e}"),
    })
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    format!(
        "internal error (a bug in ffikit, please report it): {}",
        ffikit::panic_message(payload)
    )
}

/// Runs `body` on the context at `ctx` inside a panic boundary; a failure's message is kept
/// on the context. NULL `ctx` gives `FFIKIT_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ctx` must be a live context not used by another thread during the call.
#[inline]
pub(crate) unsafe fn on_context(
    ctx: *mut ffikit_context,
    body: impl FnOnce(&mut ffikit_context) -> Result<(), Failure>,
) -> ffikit_status {
    if ctx.is_null() {
        return ffikit_status::FFIKIT_STATUS_NULL_ARGUMENT;
    }
    // SAFETY: non-NULL, live and exclusively ours for the call (the caller's contract).
    let result = catch_unwind(AssertUnwindSafe(|| body(unsafe { &mut *ctx })));
    let failure = match result {
        Ok(Ok(())) => return ffikit_status::FFIKIT_STATUS_OK,
        Ok(Err(f)) => f,
        Err(payload) => Failure {
            status: ffikit_status::FFIKIT_STATUS_PANIC,
            message: panic_message(&*payload),
        },
    };
    // SAFETY: as above; the body's borrow has ended.
    unsafe { (*ctx).set_error(&failure.message) };
    failure.status
}

/// Runs `body`, which needs no context, inside a panic boundary; the status only (there is no
/// context to keep a message on).
pub(crate) fn without_context(body: impl FnOnce() -> Result<(), Failure>) -> ffikit_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ffikit_status::FFIKIT_STATUS_OK,
        Ok(Err(f)) => f.status,
        Err(_) => ffikit_status::FFIKIT_STATUS_PANIC,
    }
}

/// Runs a function that returns nothing (the `_free`s) inside a panic boundary: a panic is
/// swallowed, never unwound into C.
pub(crate) fn quietly(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Runs an accessor (a function that returns a value, not a status) inside a panic
/// boundary: `fallback` if it panics.
pub(crate) fn or_fallback<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// A message as a C string (interior NULs replaced, since the message is text for people).
pub(crate) fn c_message(message: &str) -> CString {
    CString::new(message.replace('\0', "\\0")).unwrap_or_default()
}
