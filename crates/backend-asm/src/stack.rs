//! The stack budget: how much stack the calling thread has left.

use std::cell::Cell;

use ffi_trait::Error;

thread_local! {
    /// The lowest usable address of this thread's stack (0: not known yet).
    static LOW: Cell<usize> = const { Cell::new(0) };
}

/// The lowest address of the calling thread's stack, from `pthread_getattr_np(3)` (cached
/// per thread), or `None` when the system does not say.
fn stack_low() -> Option<usize> {
    let cached = LOW.with(Cell::get);
    if cached != 0 {
        return Some(cached);
    }
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut addr: *mut libc::c_void = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read and destroyed
    // once; `addr` and `size` are valid out-pointers.
    let ok = unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let r = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        r == 0
    };
    if !ok || addr.is_null() {
        return None;
    }
    let low = addr as usize;
    LOW.with(|l| l.set(low));
    Some(low)
}

/// The bytes of stack left below the current stack pointer, if known.
pub(crate) fn remaining() -> Option<usize> {
    let marker = 0u8;
    let sp = std::hint::black_box(&marker) as *const u8 as usize;
    stack_low().map(|low| sp.saturating_sub(low))
}

/// Checks that `needed` bytes of stack are left for a call of `function`.
///
/// # Errors
/// [`Error::StackBudgetExceeded`] when fewer are left; when the system cannot say how much
/// is left, the error too (a budget that cannot be checked is not silently ignored).
pub(crate) fn check(function: &str, needed: usize) -> Result<(), Error> {
    let available = remaining().unwrap_or(0);
    if needed > available {
        return Err(Error::StackBudgetExceeded {
            function: function.to_owned(),
            needed,
            available,
        });
    }
    Ok(())
}
