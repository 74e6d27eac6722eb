//! Monomorphic callers for the dynamic path: one per count of integer and floating-point
//! register arguments, so the Rust compiler emits the register moves for each shape.
//!
//! `INT_RET[f][i]` calls a function of `i` integer and `f` floating-point arguments whose
//! return comes back in the integer return register (`rax` / `x0`; `void` too: the register's
//! value is then ignored); `FLOAT_RET[f][i]` one whose return comes back in `xmm0` / `v0`
//! (`f32` in its low 32 bits).

use std::ffi::c_void;

/// Integer register arguments the table covers.
pub(crate) const MAX_INT: usize = 6;
/// Floating-point register arguments the table covers.
pub(crate) const MAX_FLOAT: usize = 8;

/// A caller returning the integer register image.
pub(crate) type IntCaller = unsafe fn(*const c_void, &[u64; MAX_INT], &[f64; MAX_FLOAT]) -> u64;
/// A caller returning the floating-point register image.
pub(crate) type FloatCaller = unsafe fn(*const c_void, &[u64; MAX_INT], &[f64; MAX_FLOAT]) -> f64;

macro_rules! as_u64 {
    ($x:tt) => {
        u64
    };
}
macro_rules! as_f64 {
    ($x:tt) => {
        f64
    };
}

macro_rules! caller {
    ([$($i:tt)*], [$($f:tt)*], $ret:ty) => {{
        /// # Safety
        /// `code` must be a function taking exactly these register arguments.
        #[allow(unused_variables)]
        unsafe fn call(code: *const c_void, ints: &[u64; MAX_INT], floats: &[f64; MAX_FLOAT]) -> $ret {
            // SAFETY: the caller guarantees `code` has this register signature.
            let f: unsafe extern "C" fn($(as_u64!($i),)* $(as_f64!($f),)*) -> $ret =
                unsafe { std::mem::transmute::<*const c_void, _>(code) };
            // SAFETY: as above; the arguments are plain register images.
            unsafe { f($(ints[$i],)* $(floats[$f],)*) }
        }
        call as unsafe fn(*const c_void, &[u64; MAX_INT], &[f64; MAX_FLOAT]) -> $ret
    }};
}

macro_rules! row {
    ([$($f:tt)*], $ret:ty) => {
        [
            caller!([], [$($f)*], $ret),
            caller!([0], [$($f)*], $ret),
            caller!([0 1], [$($f)*], $ret),
            caller!([0 1 2], [$($f)*], $ret),
            caller!([0 1 2 3], [$($f)*], $ret),
            caller!([0 1 2 3 4], [$($f)*], $ret),
            caller!([0 1 2 3 4 5], [$($f)*], $ret),
        ]
    };
}

macro_rules! table {
    ($ret:ty) => {
        [
            row!([], $ret),
            row!([0], $ret),
            row!([0 1], $ret),
            row!([0 1 2], $ret),
            row!([0 1 2 3], $ret),
            row!([0 1 2 3 4], $ret),
            row!([0 1 2 3 4 5], $ret),
            row!([0 1 2 3 4 5 6], $ret),
            row!([0 1 2 3 4 5 6 7], $ret),
        ]
    };
}

/// Callers whose return is in the integer register, indexed `[floats][ints]`.
pub(crate) static INT_RET: [[IntCaller; MAX_INT + 1]; MAX_FLOAT + 1] = table!(u64);
/// Callers whose return is in the floating-point register, indexed `[floats][ints]`.
pub(crate) static FLOAT_RET: [[FloatCaller; MAX_INT + 1]; MAX_FLOAT + 1] = table!(f64);
