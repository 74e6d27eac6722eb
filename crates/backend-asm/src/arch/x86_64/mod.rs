//! All of the x86-64 machine code of the asm backend, for the System V AMD64 (psABI 1.0) calling
//! convention that `crate::abi::sysv64` classifies: the inline entries (`asm!` blocks
//! that the call entry, `crate::entry`, fills straight from the caller's arguments), the
//! naked trampoline (for the plans the inline entries do not take), the closures'
//! stub and entry (the incoming side of the same plans), and in [`call_stub`] the encoder of
//! the compiled call stubs (`crate::stub`).
//!
//! # The trampoline's frame
//! ```text
//!   caller's frame
//!   ---------------------  <- entry rsp + 8 (16-byte aligned before `call trampoline`)
//!   return address
//!   saved rbp              <- rbp
//!   saved rbx
//!   saved r12              <- rbp - 16
//!   (padding to 16 bytes)
//!   stack argument n-1
//!   ...
//!   stack argument 0       <- rsp at `call *code` (16-byte aligned, as §3.2.2 requires)
//! ```
//! No stack switch: the callee runs on the caller's own stack, right below the trampoline.
//!
//! # Closures
//! The x86-64 System V side of closures: the stub every trampoline slot holds and the entry
//! it jumps to.
//!
//! # The stub (16 bytes, identical in every slot)
//! ```text
//!   S+0:  4c 8b 15 <P-7>    mov r10, [rip + P - 7]   ; r10 = slot.data  (at S + P)
//!   S+7:  ff 25 <P-5>       jmp [rip + P - 5]        ; jump to slot.entry (at S + P + 8)
//!   S+13: cc cc cc          int3 padding
//! ```
//! `r10` is the static-chain register of the psABI (§3.2.3, Figure 3.4): it carries no
//! argument, so the stub leaves every argument register and the stack exactly as the caller
//! set them — libffi's closures use it the same way.
//!
//! # The entry's frame
//! ```text
//!   caller's stack arguments   <- rbp + 16  (stack word 0 of the call plan)
//!   return address             <- rbp + 8
//!   saved rbp                  <- rbp
//!   Incoming (192 bytes)       <- rsp = rbp - 192 (16-byte aligned for the call below)
//! ```
//! The entry saves `rdi rsi rdx rcx r8 r9` and the low 64 bits of `xmm0-7` into
//! [`Incoming`], calls [`super::dispatch`]`(data, &incoming, stack args)`, then loads
//! `rax rdx xmm0 xmm1` from `Incoming::ret` and returns to the C caller.

mod call_stub;
mod encode;
pub(crate) use call_stub::emit_call_stub;

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
        let (f2, f3) = (0f64, 0f64);
        core::arch::asm!(
            "call {code}",
            code = in(reg) $code,
            in("rdi") $first,
            $(in($reg) $v,)*
            inlateout("rax") 0u64 => r0,
            lateout("rdx") r1,
            lateout("xmm0") f0,
            lateout("xmm1") f1,
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
        call_gp_count!(code, reg, n; ["rsi", "rdx", "rcx", "r8", "r9"])
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
    let (f2, f3) = (0f64, 0f64);
    // SAFETY: the caller guarantees the call is sound; every caller-saved register is
    // declared clobbered.
    unsafe {
        core::arch::asm!(
            "call {code}",
            code = in(reg) code,
            inout("rdi") reg(0) => _,
            inout("rsi") reg(1) => _,
            inout("rdx") reg(2) => r1,
            inout("rcx") reg(3) => _,
            inout("r8") reg(4) => _,
            inout("r9") reg(5) => _,
            inout("rax") extra => r0,
            out("xmm0") f0,
            out("xmm1") f1,
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
    let (f2, f3) = (0f64, 0f64);
    // SAFETY: the caller guarantees the call is sound; every caller-saved register is
    // declared clobbered.
    unsafe {
        core::arch::asm!(
            "call {code}",
            code = in(reg) code,
            inout("rdi") reg(0) => _,
            inout("rsi") reg(1) => _,
            inout("rdx") reg(2) => r1,
            inout("rcx") reg(3) => _,
            inout("r8") reg(4) => _,
            inout("r9") reg(5) => _,
            inout("xmm0") f64::from_bits(reg(FP0)) => f0,
            inout("xmm1") f64::from_bits(reg(FP0 + 1)) => f1,
            inout("xmm2") f64::from_bits(reg(FP0 + 2)) => _,
            inout("xmm3") f64::from_bits(reg(FP0 + 3)) => _,
            inout("xmm4") f64::from_bits(reg(FP0 + 4)) => _,
            inout("xmm5") f64::from_bits(reg(FP0 + 5)) => _,
            inout("xmm6") f64::from_bits(reg(FP0 + 6)) => _,
            inout("xmm7") f64::from_bits(reg(FP0 + 7)) => _,
            inout("rax") extra => r0,
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
    let (f2, f3) = (0f64, 0f64);
    // SAFETY: the caller guarantees the call is sound; the block restores rsp (r12 is
    // callee-saved, so it still holds the byte count after the call) and declares every
    // caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "sub rsp, r12",                 // the outgoing argument area (16-byte multiple)
            "2:",
            "test r14, r14",                // words left to copy?
            "jz 3f",
            "dec r14",                      // copy word r14 (from the last down)
            "mov r11, [r13 + r14*8]",
            "mov [rsp + r14*8], r11",
            "jmp 2b",
            "3:",
            "call r15",                     // the call, on this very stack
            "add rsp, r12",                 // drop the argument area
            in("r12") bytes,
            in("r13") stack.as_ptr(),
            inout("r14") stack.len() => _,
            in("r15") code,
            inout("rdi") reg(0) => _,
            inout("rsi") reg(1) => _,
            inout("rdx") reg(2) => r1,
            inout("rcx") reg(3) => _,
            inout("r8") reg(4) => _,
            inout("r9") reg(5) => _,
            inout("xmm0") f64::from_bits(reg(FP0)) => f0,
            inout("xmm1") f64::from_bits(reg(FP0 + 1)) => f1,
            inout("xmm2") f64::from_bits(reg(FP0 + 2)) => _,
            inout("xmm3") f64::from_bits(reg(FP0 + 3)) => _,
            inout("xmm4") f64::from_bits(reg(FP0 + 4)) => _,
            inout("xmm5") f64::from_bits(reg(FP0 + 5)) => _,
            inout("xmm6") f64::from_bits(reg(FP0 + 6)) => _,
            inout("xmm7") f64::from_bits(reg(FP0 + 7)) => _,
            inout("rax") extra => r0,
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
    let (f2, f3) = (0f64, 0f64);
    // SAFETY: the caller guarantees the call is sound; the block restores rsp and declares
    // every caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "sub rsp, 16",                  // the outgoing argument area (16 bytes)
            "mov [rsp], r10",               // stack word 0 at the callee's [rsp + 8]
            "mov [rsp + 8], r11",           // stack word 1 (or padding)
            "call {code}",                  // the call, on this very stack
            "add rsp, 16",                  // drop the argument area
            code = in(reg) code,
            in("r10") stack[0],
            in("r11") stack[1],
            inout("rdi") reg(0) => _,
            inout("rsi") reg(1) => _,
            inout("rdx") reg(2) => r1,
            inout("rcx") reg(3) => _,
            inout("r8") reg(4) => _,
            inout("r9") reg(5) => _,
            inout("xmm0") f64::from_bits(reg(FP0)) => f0,
            inout("xmm1") f64::from_bits(reg(FP0 + 1)) => f1,
            inout("xmm2") f64::from_bits(reg(FP0 + 2)) => _,
            inout("xmm3") f64::from_bits(reg(FP0 + 3)) => _,
            inout("xmm4") f64::from_bits(reg(FP0 + 4)) => _,
            inout("xmm5") f64::from_bits(reg(FP0 + 5)) => _,
            inout("xmm6") f64::from_bits(reg(FP0 + 6)) => _,
            inout("xmm7") f64::from_bits(reg(FP0 + 7)) => _,
            inout("rax") extra => r0,
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
    let (f2, f3) = (0f64, 0f64);
    // SAFETY: the caller guarantees the call is sound; the block restores rsp and declares
    // every caller-saved register clobbered.
    unsafe {
        core::arch::asm!(
            "sub rsp, 16",                  // the outgoing argument area (16 bytes)
            "mov [rsp], r10",               // stack word 0 at the callee's [rsp + 8]
            "mov [rsp + 8], r11",           // stack word 1 (or padding)
            "call {code}",                  // the call, on this very stack
            "add rsp, 16",                  // drop the argument area
            code = in(reg) code,
            in("r10") stack[0],
            in("r11") stack[1],
            inout("rdi") reg(0) => _,
            inout("rsi") reg(1) => _,
            inout("rdx") reg(2) => r1,
            inout("rcx") reg(3) => _,
            inout("r8") reg(4) => _,
            inout("r9") reg(5) => _,
            inout("rax") extra => r0,
            out("xmm0") f0,
            out("xmm1") f1,
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
/// `frame` must describe a sound System V call of `frame.code` (see [`crate::frame::call`]).
#[unsafe(naked)]
pub(crate) unsafe extern "sysv64" fn trampoline(frame: *mut Frame) {
    use std::mem::offset_of;
    core::arch::naked_asm!(
        "push rbp",                          // save the caller's frame pointer
        "mov rbp, rsp",                      // rbp: this frame; rsp is now 16-byte aligned
        "push rbx",                          // rbx (callee-saved) will hold the frame pointer
        "push r12",                          // keeps rsp 16-byte aligned (two pushes)
        "mov rbx, rdi",                      // rbx = frame
        "mov rcx, [rbx + {stack_words}]",    // rcx = number of stack words
        "lea rax, [rcx*8 + 15]",             // bytes for them, rounded up ...
        "and rax, -16",                      // ... to a multiple of 16
        "sub rsp, rax",                      // reserve the outgoing argument area
        "mov rsi, [rbx + {stack}]",          // rsi = source words
        "xor edx, edx",                      // rdx = word index
        "2:",
        "cmp rdx, rcx",                      // all words copied?
        "jae 3f",
        "mov rax, [rsi + rdx*8]",            // load word rdx
        "mov [rsp + rdx*8], rax",            // store it at sp + 8*rdx
        "inc rdx",                           // next word
        "jmp 2b",
        "3:",
        "movq xmm0, [rbx + {fp} + 0]",       // floating-point argument registers
        "movq xmm1, [rbx + {fp} + 8]",
        "movq xmm2, [rbx + {fp} + 16]",
        "movq xmm3, [rbx + {fp} + 24]",
        "movq xmm4, [rbx + {fp} + 32]",
        "movq xmm5, [rbx + {fp} + 40]",
        "movq xmm6, [rbx + {fp} + 48]",
        "movq xmm7, [rbx + {fp} + 56]",
        "mov rdi, [rbx + {gp} + 0]",         // integer argument registers
        "mov rsi, [rbx + {gp} + 8]",
        "mov rdx, [rbx + {gp} + 16]",
        "mov rcx, [rbx + {gp} + 24]",
        "mov r8, [rbx + {gp} + 32]",
        "mov r9, [rbx + {gp} + 40]",
        "mov rax, [rbx + {extra}]",          // %al: vector registers used (variadic calls)
        "call [rbx + {code}]",               // the call, on this very stack
        "mov [rbx + {ret} + 0], rax",        // integer return registers
        "mov [rbx + {ret} + 8], rdx",
        "movq [rbx + {ret} + 16], xmm0",     // floating-point return registers
        "movq [rbx + {ret} + 24], xmm1",
        "lea rsp, [rbp - 16]",               // drop the argument area
        "pop r12",                           // restore callee-saved registers
        "pop rbx",
        "pop rbp",
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
    let load = (page as i32 - 7).to_le_bytes();
    let jump = (page as i32 - 5).to_le_bytes();
    [
        0x4c, 0x8b, 0x15, load[0], load[1], load[2], load[3], // mov r10, [rip + P - 7]
        0xff, 0x25, jump[0], jump[1], jump[2], jump[3], // jmp [rip + P - 5]
        0xcc, 0xcc, 0xcc, // int3
    ]
}

/// x86-64 keeps instruction fetch coherent with stores (Intel SDM Vol. 3 §11.6): nothing to
/// do after writing code.
pub(crate) fn flush_icache(_start: *mut u8, _len: usize) {}

/// The entry every x86-64 stub jumps to, with `r10` = the closure's data.
///
/// # Safety
/// Only reached from a stub, as a System V call whose arguments match the closure's
/// signature.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn closure_entry() {
    use std::mem::offset_of;
    core::arch::naked_asm!(
        "push rbp",                          // frame pointer chain for debuggers/unwinders
        "mov rbp, rsp",                      // rbp: this frame; rsp is now 16-byte aligned
        "sub rsp, {size}",                   // room for Incoming (a multiple of 16)
        "mov [rsp + {gp} + 0], rdi",         // integer argument registers
        "mov [rsp + {gp} + 8], rsi",
        "mov [rsp + {gp} + 16], rdx",
        "mov [rsp + {gp} + 24], rcx",
        "mov [rsp + {gp} + 32], r8",
        "mov [rsp + {gp} + 40], r9",
        "movq [rsp + {fp} + 0], xmm0",       // floating-point argument registers (low 64)
        "movq [rsp + {fp} + 8], xmm1",
        "movq [rsp + {fp} + 16], xmm2",
        "movq [rsp + {fp} + 24], xmm3",
        "movq [rsp + {fp} + 32], xmm4",
        "movq [rsp + {fp} + 40], xmm5",
        "movq [rsp + {fp} + 48], xmm6",
        "movq [rsp + {fp} + 56], xmm7",
        "mov rdi, r10",                      // arg 0: the closure's data
        "mov rsi, rsp",                      // arg 1: &Incoming
        "lea rdx, [rbp + 16]",               // arg 2: the caller's stack arguments
        "call {dispatch}",                   // run the closure; fills Incoming::ret
        "mov rax, [rsp + {ret} + 0]",        // integer return registers
        "mov rdx, [rsp + {ret} + 8]",
        "movq xmm0, [rsp + {ret} + 16]",     // floating-point return registers
        "movq xmm1, [rsp + {ret} + 24]",
        "mov rsp, rbp",                      // drop Incoming
        "pop rbp",                           // restore the caller's frame pointer
        "ret",                               // back to the C caller
        size = const size_of::<Incoming>(),
        gp = const offset_of!(Incoming, gp),
        fp = const offset_of!(Incoming, fp),
        ret = const offset_of!(Incoming, ret),
        dispatch = sym crate::closure::dispatch,
    )
}
