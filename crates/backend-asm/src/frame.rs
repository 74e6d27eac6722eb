//! The prepared frame the trampolines read, and the entry to the trampoline of this target.

use std::ffi::c_void;

/// The most outgoing stack words (plus by-reference scratch) one call may use: 4 KiB.
pub(crate) const MAX_WORDS: usize = 512;

/// Everything the trampoline needs for one call, filled by [`crate::abi::plan::fill`].
///
/// The field offsets are part of the trampolines' contract (they are passed to `naked_asm!`
/// as `const` operands computed with `offset_of!`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Frame {
    /// Integer argument registers: `rdi rsi rdx rcx r8 r9` (x86-64 uses 6) / `x0-x7`.
    pub(crate) gp: [u64; 8],
    /// Floating-point argument registers, low 64 bits: `xmm0-7` / `d0-d7`.
    pub(crate) fp: [u64; 8],
    /// x86-64: the value for `%al` (vector registers used by a variadic call).
    /// AArch64: the value for `x8` (the indirect result location).
    pub(crate) extra: u64,
    /// The function to call.
    pub(crate) code: *const c_void,
    /// Number of outgoing stack words.
    pub(crate) stack_words: u64,
    /// The outgoing stack words, copied to the bottom of the callee's stack frame.
    pub(crate) stack: *const u64,
    /// Return registers after the call: x86-64 `rax rdx xmm0 xmm1`; AArch64 `x0 x1 d0-d3`.
    pub(crate) ret: [u64; 6],
}

impl Frame {
    /// A frame for calling `code`, every register zero.
    #[inline(always)]
    pub(crate) fn new(code: *const c_void) -> Frame {
        Frame {
            gp: [0; 8],
            fp: [0; 8],
            extra: 0,
            code,
            stack_words: 0,
            stack: std::ptr::null(),
            ret: [0; 6],
        }
    }
}

/// Calls `frame.code` through this target's trampoline.
///
/// # Safety
/// `frame` must describe a call that is sound for `frame.code`: registers and
/// `frame.stack[..frame.stack_words]` set as the callee's ABI requires, and any pointers in
/// them valid for what the callee does.
#[inline(always)]
pub(crate) unsafe fn call(frame: &mut Frame) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        crate::arch::trampoline(frame)
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        crate::arch::trampoline(frame)
    }
}
