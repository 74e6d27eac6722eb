//! All of the AArch64 machine code of the asm backend, for the AAPCS64 (Arm IHI 0055) calling
//! convention that `crate::abi::aapcs64` classifies: the inline entries (`asm!` blocks
//! that the call entry, `crate::entry`, fills straight from the caller's arguments), the
//! naked trampoline (for the plans the inline entries do not take), and the closures'
//! stub and entry (the incoming side of the same plans).
//!
//! # The trampoline's frame
//! ```text
//!   caller's frame
//!   ---------------------  <- entry sp (16-byte aligned)
//!   saved x19, x20
//!   saved x29 (fp), x30 (lr)   <- x29
//!   (padding to 16 bytes)
//!   stack argument n-1
//!   ...
//!   stack argument 0           <- sp at `blr` (16-byte aligned, AAPCS64 §6.4.5.1)
//! ```
//!
//! # Closures
//! The AArch64 AAPCS64 side of closures: the stub every trampoline slot holds and the entry
//! it jumps to.
//!
//! # The stub (16 bytes, identical in every slot)
//! ```text
//!   S+0:  ldr x17, S + P        ; x17 = slot.data   (LDR literal, PC-relative)
//!   S+4:  ldr x16, S + P + 8    ; x16 = slot.entry
//!   S+8:  br  x16               ; jump to the entry
//!   S+12: brk #0                ; never reached
//! ```
//! `x16`/`x17` are IP0/IP1, the intra-procedure-call scratch registers (AAPCS64 §6.1.1) that
//! linker veneers may clobber: no argument lives in them, so the stub leaves every argument
//! register and the stack as the caller set them. LDR literal reaches ±1 MiB, so any page
//! size up to 512 KiB works.
//!
//! # The entry's frame
//! ```text
//!   caller's stack arguments   <- x29 + 16 + 192 (entry sp; stack word 0 of the plan)
//!   Incoming (192 bytes)       <- x29 + 16
//!   saved x29, x30             <- x29 = sp (16-byte aligned)
//! ```
//! The entry saves `x0-x7`, `d0-d7` and `x8` (the indirect result location) into
//! [`Incoming`], calls [`super::dispatch`]`(data, &incoming, stack args)`, then loads
//! `x0 x1 d0-d3` from `Incoming::ret` and returns.

use std::ffi::c_void;

use crate::closure::Incoming;
use crate::entry::FP0;
use crate::frame::Frame;

// ---- The inline entries ----

/// One `asm!` call of `$code` with integer argument register 0 set to `$first` and each
/// further `$reg` to its `$v`, naming no other argument register (so an arity's entry sets
/// exactly its own registers); evaluates to the return registers in the order of
/// `Frame::ret`: x86-64 `[rax, rdx, xmm0, xmm1, 0, 0]`, AArch64 `[x0, x1, d0, d1, d2, d3]`
/// (the second integer register and the further vector registers carry struct returns:
/// System V two-eightbyte structs, AAPCS64 HFAs). On x86-64 `%al` is set to 0, the count of
/// vector registers a variadic callee must assume (psABI §3.5.7); none is used.
///
/// The caller's `unsafe` block covers the call: `$code` must take exactly these integer
/// arguments; `clobber_abi("C")` declares every caller-saved register overwritten.
macro_rules! call_gp {
    ($code:expr, $first:expr $(, $reg:tt = $v:expr)*) => {{
        let (r0, r1): (u64, u64);
        let (f0, f1): (f64, f64);
        let (f2, f3): (f64, f64);
        core::arch::asm!(
            "blr {code}",
            code = in(reg) $code,
            inlateout("x0") $first => r0,
            $(in($reg) $v,)*
            lateout("x1") r1,
            lateout("v0") f0,
            lateout("v1") f1,
            lateout("v2") f2,
            lateout("v3") f3,
            clobber_abi("C"),
        );
        [r0, r1, f0.to_bits(), f1.to_bits(), f2.to_bits(), f3.to_bits()]
    }};
}

/// The [`call_gp!`] of integer register count `$n` (1 to the length of the list): `$reg(0)` in
/// the first integer argument register and `$reg(k)` in each further register of the list,
/// one `asm!` block per count, chosen by comparisons of `$n` with each count (the compiler
/// folds them when `$n` is a constant and makes a jump table otherwise). The list after the
/// first register is walked once, so each count's registers are a prefix of one list.
macro_rules! call_gp_count {
    (@count $code:expr, $reg:ident, $n:expr, $k:expr; [$($done:tt = $i:expr),*]; []) => {
        call_gp!($code, $reg(0) $(, $done = $reg($i))*)
    };
    (@count $code:expr, $reg:ident, $n:expr, $k:expr; [$($done:tt = $i:expr),*];
     [$next:tt $(, $rest:tt)*]) => {
        if $n == $k {
            call_gp!($code, $reg(0) $(, $done = $reg($i))*)
        } else {
            call_gp_count!(@count $code, $reg, $n, $k + 1; [$($done = $i,)* $next = $k]; [$($rest),*])
        }
    };
    ($code:expr, $reg:ident, $n:expr; [$($regs:tt),*]) => {
        call_gp_count!(@count $code, $reg, $n, 1; []; [$($regs),*])
    };
}

/// Calls `code` with integer argument registers `0..n` set to `reg(0..n)` and nothing else
/// (no vector register, no stack word): one `asm!` block per count, so each register is one
/// computed value and no other register is touched. Returns the return registers in the
/// order of `Frame::ret` (see [`call_gp!`]).
///
/// # Safety
/// `reg(k)` must be sound to evaluate for `k < n`, and the registers must make a sound call
/// of `code`, which takes nothing else; `n` is at most [`GP_ARGS`](crate::entry::GP_ARGS).
#[inline(always)]
pub(crate) unsafe fn call_gp_regs(
    code: *const c_void,
    n: usize,
    reg: impl Fn(usize) -> u64,
) -> [u64; 6] {
    // SAFETY: every block evaluates `reg(k)` for `k < n` only (no argument for `n == 0`);
    // the callee takes exactly those integer registers (forwarded contract).
    unsafe {
        if n == 0 {
            return call_gp!(code, 0u64);
        }
        call_gp_count!(code, reg, n; ["x1", "x2", "x3", "x4", "x5", "x6", "x7"])
    }
}

/// The `asm!` call with integer argument registers only (no vector register, no stack
/// argument): `extra` in `%rax` / `x8`; the vector return registers are still read.
///
/// # Safety
/// The integer registers must make a sound call of `code`, which takes nothing else.
#[inline(always)]
pub(crate) unsafe fn enter_gp(
    code: *const c_void,
    reg: impl Fn(usize) -> u64,
    extra: u64,
) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    let (f2, f3): (f64, f64);
    // SAFETY: the caller guarantees the call is sound; the block restores sp and declares
    // every caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "blr {code}",
            code = in(reg) code,
            in("x8") extra,
            inout("x0") reg(0) => r0,
            inout("x1") reg(1) => r1,
            inout("x2") reg(2) => _,
            inout("x3") reg(3) => _,
            inout("x4") reg(4) => _,
            inout("x5") reg(5) => _,
            inout("x6") reg(6) => _,
            inout("x7") reg(7) => _,
            out("v0") f0,
            out("v1") f1,
            out("v2") f2,
            out("v3") f3,
            clobber_abi("C"),
        );
    }
    [
        r0,
        r1,
        f0.to_bits(),
        f1.to_bits(),
        f2.to_bits(),
        f3.to_bits(),
    ]
}

/// The `asm!` call without stack arguments: argument registers from `reg`, `extra` in
/// `%rax` / `x8`. Separate from [`enter`] so that register-only calls need no callee-saved
/// scratch registers (which the enclosing function would have to save).
///
/// # Safety
/// The registers must make a sound call of `code`, which takes no stack arguments.
#[inline(always)]
pub(crate) unsafe fn enter_regs(
    code: *const c_void,
    reg: impl Fn(usize) -> u64,
    extra: u64,
) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    let (f2, f3): (f64, f64);
    // SAFETY: the caller guarantees the call is sound; the block restores sp and declares
    // every caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "blr {code}",
            code = in(reg) code,
            in("x8") extra,
            inout("x0") reg(0) => r0,
            inout("x1") reg(1) => r1,
            inout("x2") reg(2) => _,
            inout("x3") reg(3) => _,
            inout("x4") reg(4) => _,
            inout("x5") reg(5) => _,
            inout("x6") reg(6) => _,
            inout("x7") reg(7) => _,
            inout("v0") f64::from_bits(reg(FP0)) => f0,
            inout("v1") f64::from_bits(reg(FP0 + 1)) => f1,
            inout("v2") f64::from_bits(reg(FP0 + 2)) => f2,
            inout("v3") f64::from_bits(reg(FP0 + 3)) => f3,
            inout("v4") f64::from_bits(reg(FP0 + 4)) => _,
            inout("v5") f64::from_bits(reg(FP0 + 5)) => _,
            inout("v6") f64::from_bits(reg(FP0 + 6)) => _,
            inout("v7") f64::from_bits(reg(FP0 + 7)) => _,
            clobber_abi("C"),
        );
    }
    [
        r0,
        r1,
        f0.to_bits(),
        f1.to_bits(),
        f2.to_bits(),
        f3.to_bits(),
    ]
}

/// The `asm!` call: argument registers from `reg`, `stack` copied below the stack pointer,
/// `extra` in `%rax` (x86-64 `%al`) or `x8` (AArch64).
///
/// # Safety
/// The registers and stack words must make a sound call of `code`.
#[inline(always)]
pub(crate) unsafe fn enter(
    code: *const c_void,
    reg: impl Fn(usize) -> u64,
    stack: &[u64],
    extra: u64,
) -> [u64; 6] {
    let bytes = (stack.len() * 8).next_multiple_of(16);
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    let (f2, f3): (f64, f64);
    // SAFETY: the caller guarantees the call is sound; the block restores sp (x20 is
    // callee-saved, so it still holds the byte count after the call) and declares every
    // caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "sub sp, sp, x20",              // the outgoing argument area (16-byte multiple)
            "2:",
            "cbz x22, 3f",                  // words left to copy?
            "sub x22, x22, #1",             // copy word x22 (from the last down)
            "ldr x9, [x21, x22, lsl #3]",
            "str x9, [sp, x22, lsl #3]",
            "b 2b",
            "3:",
            "blr x23",                      // the call, on this very stack
            "add sp, sp, x20",              // drop the argument area
            in("x20") bytes,
            in("x21") stack.as_ptr(),
            inout("x22") stack.len() => _,
            in("x23") code,
            in("x8") extra,
            inout("x0") reg(0) => r0,
            inout("x1") reg(1) => r1,
            inout("x2") reg(2) => _,
            inout("x3") reg(3) => _,
            inout("x4") reg(4) => _,
            inout("x5") reg(5) => _,
            inout("x6") reg(6) => _,
            inout("x7") reg(7) => _,
            inout("v0") f64::from_bits(reg(FP0)) => f0,
            inout("v1") f64::from_bits(reg(FP0 + 1)) => f1,
            inout("v2") f64::from_bits(reg(FP0 + 2)) => f2,
            inout("v3") f64::from_bits(reg(FP0 + 3)) => f3,
            inout("v4") f64::from_bits(reg(FP0 + 4)) => _,
            inout("v5") f64::from_bits(reg(FP0 + 5)) => _,
            inout("v6") f64::from_bits(reg(FP0 + 6)) => _,
            inout("v7") f64::from_bits(reg(FP0 + 7)) => _,
            clobber_abi("C"),
        );
    }
    [
        r0,
        r1,
        f0.to_bits(),
        f1.to_bits(),
        f2.to_bits(),
        f3.to_bits(),
    ]
}

/// The `asm!` call with one or two stack words, stored by the block itself below the
/// stack pointer (16 bytes, keeping the call's alignment) from scratch registers: no copy
/// loop and no array in memory. With one stack word, `stack[1]` is padding.
///
/// # Safety
/// The registers and `stack` must make a sound call of `code`.
#[inline(always)]
pub(crate) unsafe fn enter_stack2(
    code: *const c_void,
    reg: impl Fn(usize) -> u64,
    stack: [u64; 2],
    extra: u64,
) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    let (f2, f3): (f64, f64);
    // SAFETY: the caller guarantees the call is sound; the block restores sp and declares
    // every caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "sub sp, sp, #16",              // the outgoing argument area (16 bytes)
            "stp x9, x10, [sp]",            // stack words 0 and 1 (or padding)
            "blr {code}",                   // the call, on this very stack
            "add sp, sp, #16",              // drop the argument area
            code = in(reg) code,
            in("x9") stack[0],
            in("x10") stack[1],
            in("x8") extra,
            inout("x0") reg(0) => r0,
            inout("x1") reg(1) => r1,
            inout("x2") reg(2) => _,
            inout("x3") reg(3) => _,
            inout("x4") reg(4) => _,
            inout("x5") reg(5) => _,
            inout("x6") reg(6) => _,
            inout("x7") reg(7) => _,
            inout("v0") f64::from_bits(reg(FP0)) => f0,
            inout("v1") f64::from_bits(reg(FP0 + 1)) => f1,
            inout("v2") f64::from_bits(reg(FP0 + 2)) => f2,
            inout("v3") f64::from_bits(reg(FP0 + 3)) => f3,
            inout("v4") f64::from_bits(reg(FP0 + 4)) => _,
            inout("v5") f64::from_bits(reg(FP0 + 5)) => _,
            inout("v6") f64::from_bits(reg(FP0 + 6)) => _,
            inout("v7") f64::from_bits(reg(FP0 + 7)) => _,
            clobber_abi("C"),
        );
    }
    [
        r0,
        r1,
        f0.to_bits(),
        f1.to_bits(),
        f2.to_bits(),
        f3.to_bits(),
    ]
}

/// The `asm!` call with integer argument registers and one or two stack words (stored by
/// the block itself below the stack pointer, as in [`enter_stack2`]), no vector register:
/// `extra` in `%rax` / `x8`; the vector return registers are still read.
///
/// # Safety
/// The integer registers and `stack` must make a sound call of `code`, which takes no
/// vector register.
#[inline(always)]
pub(crate) unsafe fn enter_stack2_gp(
    code: *const c_void,
    reg: impl Fn(usize) -> u64,
    stack: [u64; 2],
    extra: u64,
) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    let (f2, f3): (f64, f64);
    // SAFETY: the caller guarantees the call is sound; the block restores sp and declares
    // every caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "sub sp, sp, #16",              // the outgoing argument area (16 bytes)
            "stp x9, x10, [sp]",            // stack words 0 and 1 (or padding)
            "blr {code}",                   // the call, on this very stack
            "add sp, sp, #16",              // drop the argument area
            code = in(reg) code,
            in("x9") stack[0],
            in("x10") stack[1],
            in("x8") extra,
            inout("x0") reg(0) => r0,
            inout("x1") reg(1) => r1,
            inout("x2") reg(2) => _,
            inout("x3") reg(3) => _,
            inout("x4") reg(4) => _,
            inout("x5") reg(5) => _,
            inout("x6") reg(6) => _,
            inout("x7") reg(7) => _,
            out("v0") f0,
            out("v1") f1,
            out("v2") f2,
            out("v3") f3,
            clobber_abi("C"),
        );
    }
    [
        r0,
        r1,
        f0.to_bits(),
        f1.to_bits(),
        f2.to_bits(),
        f3.to_bits(),
    ]
}

// ---- The naked trampoline ----

/// Copies the prepared frame into registers and the stack, calls `frame.code`, and stores
/// the return registers back into the frame.
///
/// # Safety
/// `frame` must describe a sound AAPCS64 call of `frame.code` (see [`crate::frame::call`]).
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn trampoline(frame: *mut Frame) {
    use std::mem::offset_of;
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-32]!",         // save frame pointer and link register
        "mov x29, sp",                       // x29: this frame
        "stp x19, x20, [sp, #16]",           // x19 (callee-saved) will hold the frame pointer
        "mov x19, x0",                       // x19 = frame
        "ldr x9, [x19, #{stack_words}]",     // x9 = number of stack words
        "lsl x10, x9, #3",                   // bytes for them ...
        "add x10, x10, #15",
        "and x10, x10, #0xfffffffffffffff0", // ... rounded up to a multiple of 16
        "sub sp, sp, x10",                   // reserve the outgoing argument area
        "ldr x11, [x19, #{stack}]",          // x11 = source words
        "mov x12, #0",                       // x12 = word index
        "2:",
        "cmp x12, x9",                       // all words copied?
        "b.hs 3f",
        "ldr x13, [x11, x12, lsl #3]",       // load word x12
        "str x13, [sp, x12, lsl #3]",        // store it at sp + 8*x12
        "add x12, x12, #1",                  // next word
        "b 2b",
        "3:",
        "ldp d0, d1, [x19, #{fp}]",          // floating-point argument registers
        "ldp d2, d3, [x19, #{fp} + 16]",
        "ldp d4, d5, [x19, #{fp} + 32]",
        "ldp d6, d7, [x19, #{fp} + 48]",
        "ldr x8, [x19, #{extra}]",           // indirect result location
        "ldr x16, [x19, #{code}]",           // the function (x16: intra-procedure scratch)
        "ldp x0, x1, [x19, #{gp}]",          // integer argument registers
        "ldp x2, x3, [x19, #{gp} + 16]",
        "ldp x4, x5, [x19, #{gp} + 32]",
        "ldp x6, x7, [x19, #{gp} + 48]",
        "blr x16",                           // the call, on this very stack
        "stp x0, x1, [x19, #{ret}]",         // integer return registers
        "stp d0, d1, [x19, #{ret} + 16]",    // floating-point return registers (HFA: 4)
        "stp d2, d3, [x19, #{ret} + 32]",
        "mov sp, x29",                       // drop the argument area
        "ldp x19, x20, [sp, #16]",           // restore callee-saved registers
        "ldp x29, x30, [sp], #32",           // restore frame pointer and link register
        "ret",
        stack_words = const offset_of!(Frame, stack_words),
        stack = const offset_of!(Frame, stack),
        fp = const offset_of!(Frame, fp),
        gp = const offset_of!(Frame, gp),
        extra = const offset_of!(Frame, extra),
        code = const offset_of!(Frame, code),
        ret = const offset_of!(Frame, ret),
    )
}

// ---- Closures: the stub and its entry ----

/// The bytes of one stub for a data page `page` bytes after its code page.
pub(crate) fn stub_bytes(page: usize) -> [u8; 16] {
    // LDR (literal), 64-bit: 0x58000000 | imm19 << 5 | Rt, target = PC + imm19 * 4.
    let ldr = |offset: usize, rt: u32| 0x5800_0000u32 | (((offset / 4) as u32) << 5) | rt;
    let words = [
        ldr(page, 17),     // ldr x17, [pc + P]      -> slot.data
        ldr(page + 4, 16), // ldr x16, [pc + P + 4]  -> slot.entry (stub + P + 8)
        0xd61f_0200,       // br x16
        0xd420_0000,       // brk #0
    ];
    let mut out = [0u8; 16];
    for (k, w) in words.iter().enumerate() {
        out[k * 4..k * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// No compiled call stubs on AArch64 yet (`crate::stub`): every plan's raw entry is one of
/// the Rust routines (`crate::call::raw_call`, `raw_inline_call`), which the ABI suite runs.
pub(crate) fn emit_call_stub(
    _plan: &crate::abi::plan::Plan,
    _ret: &ffi_trait::Type,
    _variadic: bool,
    _form: crate::stub::StubForm,
    _checks: &[ffi_trait::ArgCheck],
) -> Option<Vec<u8>> {
    None
}

/// Makes `len` bytes of freshly written code at `start` visible to instruction fetch: clean
/// the data cache to the point of unification, invalidate the instruction cache, and
/// synchronise (Arm ARM B2.4.4, the sequence GCC's `__clear_cache` uses), with line sizes
/// read from `CTR_EL0` (readable at EL0 on Linux).
pub(crate) fn flush_icache(start: *mut u8, len: usize) {
    {
        let ctr: u64;
        // SAFETY: reading CTR_EL0 has no side effects; Linux lets EL0 read it (or traps and
        // emulates it).
        unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
        let dline = 4usize << ((ctr >> 16) & 0xf);
        let iline = 4usize << (ctr & 0xf);
        let (begin, end) = (start as usize, start as usize + len);
        let mut a = begin & !(dline - 1);
        while a < end {
            // SAFETY: cleaning a cache line of our own mapping by address.
            unsafe { core::arch::asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += dline;
        }
        // SAFETY: barrier only.
        unsafe { core::arch::asm!("dsb ish", options(nostack)) };
        let mut a = begin & !(iline - 1);
        while a < end {
            // SAFETY: invalidating an instruction cache line of our own mapping by address.
            unsafe { core::arch::asm!("ic ivau, {}", in(reg) a, options(nostack)) };
            a += iline;
        }
        // SAFETY: barriers only.
        unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = (start, len);
}

/// The entry every AArch64 stub jumps to, with `x17` = the closure's data.
///
/// # Safety
/// Only reached from a stub, as an AAPCS64 call whose arguments match the closure's
/// signature.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn closure_entry() {
    use std::mem::offset_of;
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-{frame}]!",    // save fp/lr; reserve Incoming below the args
        "mov x29, sp",                       // x29: this frame
        "stp x0, x1, [sp, #16 + {gp}]",      // integer argument registers
        "stp x2, x3, [sp, #16 + {gp} + 16]",
        "stp x4, x5, [sp, #16 + {gp} + 32]",
        "stp x6, x7, [sp, #16 + {gp} + 48]",
        "stp d0, d1, [sp, #16 + {fp}]",      // floating-point argument registers (low 64)
        "stp d2, d3, [sp, #16 + {fp} + 16]",
        "stp d4, d5, [sp, #16 + {fp} + 32]",
        "stp d6, d7, [sp, #16 + {fp} + 48]",
        "str x8, [sp, #16 + {extra}]",       // the indirect result location
        "mov x0, x17",                       // arg 0: the closure's data
        "add x1, sp, #16",                   // arg 1: &Incoming
        "add x2, x29, #{frame}",             // arg 2: the caller's stack arguments
        "bl {dispatch}",                     // run the closure; fills Incoming::ret
        "ldp x0, x1, [sp, #16 + {ret}]",     // integer return registers
        "ldp d0, d1, [sp, #16 + {ret} + 16]", // floating-point return registers (HFA: 4)
        "ldp d2, d3, [sp, #16 + {ret} + 32]",
        "ldp x29, x30, [sp], #{frame}",      // restore fp/lr, drop the frame
        "ret",                               // back to the C caller
        frame = const 16 + size_of::<Incoming>(),
        gp = const offset_of!(Incoming, gp),
        fp = const offset_of!(Incoming, fp),
        extra = const offset_of!(Incoming, extra),
        ret = const offset_of!(Incoming, ret),
        dispatch = sym crate::closure::dispatch,
    )
}
