//! The register-image callers of the dynamic path.
//!
//! The dynamic path calls every function as if it took all [`MAX_INT`] integer and all
//! [`MAX_FLOAT`] floating-point argument registers: on x86-64 System V (psABI §3.2.3) and on
//! AArch64 AAPCS64 (§6.8.2) the first integer arguments go to the integer registers and the
//! first floating-point arguments to the vector registers, each file filled in order and
//! independently of how the two kinds interleave, so a callee that takes fewer arguments
//! finds its own in the same registers and never looks at the rest (they are caller-saved
//! argument registers). Nothing goes on the stack: `plan` rejects signatures that would need
//! it. One caller per return register keeps the call a single indirect call.

use std::ffi::c_void;

/// Integer argument registers passed (`rdi rsi rdx rcx r8 r9`; `x0-x5`).
pub(crate) const MAX_INT: usize = 6;
/// Floating-point argument registers passed (`xmm0-7`; `v0-v7`).
pub(crate) const MAX_FLOAT: usize = 8;

type AllRegs<R> =
    unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64) -> R;

/// Calls `code` with every argument register loaded; returns the integer return register
/// (`rax` / `x0`; meaningless for `void`).
///
/// # Safety
/// `code` must be a non-variadic function whose arguments all travel in registers, the
/// integer ones being `regs[..i]` and the floating-point ones (as IEEE bits)
/// `regs[MAX_INT..MAX_INT + f]` in order, and
/// whose return (if any) is in the integer return register.
#[inline(always)]
pub(crate) unsafe fn call_int(code: *const c_void, regs: &[u64; MAX_INT + MAX_FLOAT]) -> u64 {
    // SAFETY: the caller guarantees `code` reads its arguments from these registers.
    let f: AllRegs<u64> = unsafe { std::mem::transmute::<*const c_void, AllRegs<u64>>(code) };
    let [a, b, c, d, e, g, p, q, r, s, t, u, v, w] = *regs;
    let [p, q, r, s, t, u, v, w] = [p, q, r, s, t, u, v, w].map(f64::from_bits);
    // SAFETY: as above.
    unsafe { f(a, b, c, d, e, g, p, q, r, s, t, u, v, w) }
}

/// As [`call_int`], returning the floating-point return register (`xmm0` / `v0`; an `f32`
/// return is in its low 32 bits).
///
/// # Safety
/// As [`call_int`], with the return in the floating-point return register.
#[inline(always)]
pub(crate) unsafe fn call_float(code: *const c_void, regs: &[u64; MAX_INT + MAX_FLOAT]) -> f64 {
    // SAFETY: the caller guarantees `code` reads its arguments from these registers.
    let f: AllRegs<f64> = unsafe { std::mem::transmute::<*const c_void, AllRegs<f64>>(code) };
    let [a, b, c, d, e, g, p, q, r, s, t, u, v, w] = *regs;
    let [p, q, r, s, t, u, v, w] = [p, q, r, s, t, u, v, w].map(f64::from_bits);
    // SAFETY: as above.
    unsafe { f(a, b, c, d, e, g, p, q, r, s, t, u, v, w) }
}

/// Defines `$name(code, a...)`: a call of `code` as an `extern "C"` function of exactly these
/// integer arguments, returning the integer return register — so the compiler loads only
/// the registers the callee reads (no zeroing of the others).
macro_rules! int_caller {
    ($($name:ident($($arg:ident),*) -> $ret:ty;)*) => {$(
        #[doc = concat!("Calls `code` with the integer register arguments `", stringify!($($arg),*), "`; returns the `", stringify!($ret), "` return register.")]
        ///
        /// # Safety
        /// `code` must be a non-variadic function whose arguments are exactly these
        /// integer-class values, in order, in registers, returning in that register (an
        /// integer-class return or `void` for `u64`, a floating-point one for `f64`).
        #[inline(always)]
        pub(crate) unsafe fn $name(code: *const c_void $(, $arg: u64)*) -> $ret {
            type F = unsafe extern "C" fn($(int_caller!(@u64 $arg)),*) -> $ret;
            // SAFETY: the caller guarantees `code` reads its arguments from these registers.
            let g: F = unsafe { std::mem::transmute::<*const c_void, F>(code) };
            // SAFETY: as above.
            unsafe { g($($arg),*) }
        }
    )*};
    (@u64 $arg:ident) => { u64 };
}

int_caller! {
    int0() -> u64;
    int1(a) -> u64;
    int2(a, b) -> u64;
    int3(a, b, c) -> u64;
    int4(a, b, c, d) -> u64;
    int5(a, b, c, d, e) -> u64;
    int6(a, b, c, d, e, f) -> u64;
    float0() -> f64;
    float1(a) -> f64;
    float2(a, b) -> f64;
    float3(a, b, c) -> f64;
    float4(a, b, c, d) -> f64;
    float5(a, b, c, d, e) -> f64;
    float6(a, b, c, d, e, f) -> f64;
}
