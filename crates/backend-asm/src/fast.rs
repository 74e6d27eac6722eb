//! The inline entry: the call sequence as one `asm!` block whose register operands the
//! compiler loads straight from the caller's argument slice.
//!
//! The naked trampoline ([`crate::frame`]) reads a frame the Rust side wrote to memory; every
//! argument then makes a store-and-reload round trip before the call, and every return value
//! another after it. Here each argument register is an `asm!` input computed from the
//! argument (`Arg::bits`, or a piece of a struct's bytes), the return registers are `asm!`
//! outputs, and only stack arguments pass through memory (they must). Plans that need
//! caller-owned copies (AArch64 composites over 16 bytes) or more than [`MAX_STACK_WORDS`]
//! stack words use the trampoline.
//!
//! Rust guarantees that the stack pointer is aligned for a call on entry to an `asm!` block
//! without `nostack` (and keeps the red zone clear); the block lowers the stack pointer by a
//! multiple of 16, copies the stack words, calls, and restores it. `clobber_abi("C")` tells
//! the compiler every caller-saved register is overwritten.

use std::ffi::c_void;

use ffi_trait::{Arg, ArgKind};

use crate::plan::{ArgPlan, Loc, Plan, RetPlan};

/// Argument register slots: integer registers `0..8` (x86-64 uses 6), floating-point
/// registers `8..16`.
pub(crate) const REGS: usize = 16;
/// Index of the first floating-point slot.
pub(crate) const FP0: usize = 8;
/// The most stack words the inline entry passes.
pub(crate) const MAX_STACK_WORDS: usize = 64;

/// Where one register or stack word's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Src {
    /// The argument index; [`Src::RET_SLOT`] for the hidden struct-return pointer.
    arg: u8,
    /// 0: the argument's whole register image (promoted when `promote`); else `len` bytes
    /// of a struct argument from byte `offset`, zero-extended.
    len: u8,
    offset: u16,
    promote: bool,
}

impl Src {
    const RET_SLOT: u8 = u8::MAX;
    const UNUSED: Src = Src {
        arg: 0,
        len: 0,
        offset: 0,
        promote: false,
    };

    /// The 64-bit image of this source for one call; `bits(i)` is argument `i`'s register
    /// image ([`Arg::bits`]: for a struct, the address of its bytes).
    ///
    /// # Safety
    /// `bits` accepts `self.arg` (unless `RET_SLOT`); a piece source's argument is a struct
    /// (checked by the caller) at least `offset + len` bytes long.
    #[inline(always)]
    unsafe fn image(self, bits: &impl Fn(usize) -> u64, ret: *mut u8) -> u64 {
        if self.arg == Src::RET_SLOT {
            return ret as usize as u64;
        }
        let a = bits(self.arg as usize);
        if self.len == 0 {
            if self.promote {
                (f32::from_bits(a as u32) as f64).to_bits()
            } else {
                a
            }
        } else {
            // SAFETY: a struct argument's `bits` is the address of its bytes, at least
            // `offset + len` long (checked by the caller); never read past them.
            unsafe {
                read_le(
                    (a as usize as *const u8).add(self.offset as usize),
                    self.len,
                )
            }
        }
    }
}

/// Reads `len` (1 to 8) bytes at `p` as a little-endian word, zero-extended, with loads of
/// fixed widths (no `memcpy` call) and never past `p + len` (libffi's `overread` test).
///
/// # Safety
/// `p` is readable for `len` bytes.
#[inline(always)]
pub(crate) unsafe fn read_le(p: *const u8, len: u8) -> u64 {
    // SAFETY: every load lies within `p .. p + len` (forwarded contract).
    unsafe {
        let r8 = |o: usize| p.add(o).read() as u64;
        let r16 = |o: usize| p.add(o).cast::<u16>().read_unaligned() as u64;
        let r32 = |o: usize| p.add(o).cast::<u32>().read_unaligned() as u64;
        if len == 8 {
            // The common case (whole eightbytes) without the table jump below.
            return p.cast::<u64>().read_unaligned();
        }
        match len {
            4 => r32(0),
            2 => r16(0),
            1 => r8(0),
            3 => r16(0) | r8(2) << 16,
            5 => r32(0) | r8(4) << 32,
            6 => r32(0) | r16(4) << 32,
            _ => r32(0) | r16(4) << 32 | r8(6) << 48,
        }
    }
}

/// Writes the low `len` (1 to 8) bytes of `v` at `p`, with stores of fixed widths.
///
/// # Safety
/// `p` is writable for `len` bytes.
#[inline(always)]
pub(crate) unsafe fn write_le(p: *mut u8, len: u8, v: u64) {
    // SAFETY: every store lies within `p .. p + len` (forwarded contract).
    unsafe {
        let w8 = |o: usize, x: u64| p.add(o).write(x as u8);
        let w16 = |o: usize, x: u64| p.add(o).cast::<u16>().write_unaligned(x as u16);
        let w32 = |o: usize, x: u64| p.add(o).cast::<u32>().write_unaligned(x as u32);
        if len == 8 {
            // The common case (whole eightbytes) without the table jump below.
            return p.cast::<u64>().write_unaligned(v);
        }
        match len {
            4 => w32(0, v),
            2 => w16(0, v),
            1 => w8(0, v),
            3 => {
                w16(0, v);
                w8(2, v >> 16)
            }
            5 => {
                w32(0, v);
                w8(4, v >> 32)
            }
            6 => {
                w32(0, v);
                w16(4, v >> 32)
            }
            _ => {
                w32(0, v);
                w16(4, v >> 32);
                w8(6, v >> 48)
            }
        }
    }
}

/// What one argument must be: the bit set of [`ArgKind`]s it accepts (a `ptr` also takes a
/// buffer) and, for a struct, its size in bytes (0 for scalars), so a check is a shift, a
/// mask and a comparison per argument.
pub(crate) type Accept = (u32, u32);

/// The [`Accept`] of one argument of a plan.
pub(crate) fn accept(ap: &ArgPlan) -> Accept {
    match ap {
        ArgPlan::Scalar { expect, is_ptr, .. } => (
            (1u32 << *expect as u32)
                | if *is_ptr {
                    1u32 << ArgKind::Buffer as u32
                } else {
                    0
                },
            0,
        ),
        ArgPlan::Pieces { size, .. }
        | ArgPlan::StackCopy { size, .. }
        | ArgPlan::ByRef { size, .. } => (1u32 << ArgKind::Struct as u32, *size),
    }
}

/// Whether `a` passes `accept` (bit 0); `STRUCTS`: the plan has struct arguments, whose
/// sizes are compared too (all-scalar plans skip that).
#[inline(always)]
fn accepted<const STRUCTS: bool>(a: &Arg<'_>, (mask, size): Accept) -> u32 {
    let kind_ok = mask >> a.kind() as u32;
    if STRUCTS {
        kind_ok & (a.struct_len() as u32 == size) as u32
    } else {
        kind_ok
    }
}

/// The index of the first argument that its [`Accept`] rejects, if any: every argument is
/// tested without a branch, and the loop only runs again on failure.
#[inline(always)]
pub(crate) fn first_mismatch<const STRUCTS: bool>(
    args: &[Arg<'_>],
    accepts: &[Accept],
) -> Option<usize> {
    let mut ok = 1u32;
    for (a, m) in args.iter().zip(accepts) {
        ok &= accepted::<STRUCTS>(a, *m);
    }
    if ok & 1 == 1 {
        return None;
    }
    args.iter()
        .zip(accepts)
        .position(|(a, m)| accepted::<STRUCTS>(a, *m) & 1 == 0)
}

/// The inline entry's form of a plan: a source for every register and stack word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InlinePlan {
    regs: [Src; REGS],
    /// Every register source is a whole, unpromoted argument image (no struct pieces, no
    /// return pointer): registers load `bits(arg)` with no further branching.
    simple: bool,
    /// What each argument must be ([`accept`]).
    accepts: Box<[Accept]>,
    /// All arguments are scalars.
    all_scalar: bool,
    /// No floating-point register and no stack word is used: the call loads only the
    /// integer registers (and `%rax`/`x8`).
    gp_only: bool,
    /// For plans that are not `simple`: the registers that carry a value and their sources
    /// (the others are passed as zero without computing anything).
    used: Box<[(u8, Src)]>,
    /// Every stack word is a whole, unpromoted argument image.
    stack_simple: bool,
    /// Integer-class arguments only, argument `k` in integer register `k`, no stack, no
    /// vector registers, a scalar or void return: the call loads just those registers (the
    /// common shape of kernels).
    int_only: bool,
    stack: Box<[Src]>,
    /// The hidden return pointer goes in `x8` (AArch64).
    ret_in_x8: bool,
}

impl InlinePlan {
    /// The inline form of `plan`, or `None` when it needs the trampoline.
    pub(crate) fn of(plan: &Plan) -> Option<InlinePlan> {
        if plan.scratch_words != 0 || plan.stack_words as usize > MAX_STACK_WORDS {
            return None;
        }
        let mut regs = [Src::UNUSED; REGS];
        let mut in_use = [false; REGS];
        let mut stack = vec![Src::UNUSED; plan.stack_words as usize];
        let mut place = |loc: Loc, src: Src| match loc {
            Loc::Gp(r) => {
                regs[r as usize] = src;
                in_use[r as usize] = true;
            }
            Loc::Fp(r) => {
                regs[FP0 + r as usize] = src;
                in_use[FP0 + r as usize] = true;
            }
            Loc::Stack(w) => stack[w as usize] = src,
        };
        for (i, ap) in plan.args.iter().enumerate() {
            let arg = i as u8;
            match ap {
                ArgPlan::Scalar {
                    promote_f32, loc, ..
                } => place(
                    *loc,
                    Src {
                        arg,
                        len: 0,
                        offset: 0,
                        promote: *promote_f32,
                    },
                ),
                ArgPlan::Pieces { pieces, .. } => {
                    for p in pieces.iter() {
                        place(
                            p.loc,
                            Src {
                                arg,
                                len: p.len,
                                offset: p.offset,
                                promote: false,
                            },
                        );
                    }
                }
                ArgPlan::StackCopy { size, word } => {
                    for k in 0..(*size as usize).div_ceil(8) {
                        let len = (*size as usize - k * 8).min(8) as u8;
                        place(
                            Loc::Stack(*word + k as u16),
                            Src {
                                arg,
                                len,
                                offset: (k * 8) as u16,
                                promote: false,
                            },
                        );
                    }
                }
                ArgPlan::ByRef { .. } => return None,
            }
        }
        let mut ret_in_x8 = false;
        if let RetPlan::Indirect { .. } = plan.ret {
            if plan.sret_in_gp0 {
                in_use[0] = true;
                regs[0] = Src {
                    arg: Src::RET_SLOT,
                    len: 0,
                    offset: 0,
                    promote: false,
                };
            } else {
                ret_in_x8 = true;
            }
        }
        let simple = regs
            .iter()
            .all(|s| s.len == 0 && !s.promote && s.arg != Src::RET_SLOT);
        let accepts = plan.args.iter().map(accept).collect();
        let all_scalar = plan
            .args
            .iter()
            .all(|ap| matches!(ap, ArgPlan::Scalar { .. }));
        let gp_only = stack.is_empty() && !in_use[FP0..].contains(&true);
        let used = (0..REGS)
            .filter(|&r| in_use[r])
            .map(|r| (r as u8, regs[r]))
            .collect();
        let stack_simple = stack
            .iter()
            .all(|s| s.len == 0 && !s.promote && s.arg != Src::RET_SLOT);
        let int_only = stack.is_empty()
            && matches!(plan.ret, RetPlan::Void | RetPlan::Int | RetPlan::Float)
            && plan.extra == 0
            && plan.args.iter().enumerate().all(|(k, ap)| {
                matches!(ap, ArgPlan::Scalar { loc: Loc::Gp(r), promote_f32: false, .. } if *r as usize == k)
            });
        Some(InlinePlan {
            regs,
            simple,
            accepts,
            all_scalar,
            gp_only,
            used,
            stack_simple,
            int_only,
            stack: stack.into_boxed_slice(),
            ret_in_x8,
        })
    }

    /// Checks the argument kinds: one comparison per argument for all-scalar plans, the
    /// plan's full check (struct sizes) otherwise.
    ///
    /// # Errors
    /// The index of the first argument that does not match.
    #[inline(always)]
    pub(crate) fn check(&self, args: &[Arg<'_>]) -> Result<(), crate::plan::FillError> {
        let bad = if self.all_scalar {
            first_mismatch::<false>(args, &self.accepts)
        } else {
            first_mismatch::<true>(args, &self.accepts)
        };
        match bad {
            None => Ok(()),
            Some(i) => Err(crate::plan::FillError::Type(i)),
        }
    }

    /// Calls `code` with the dynamic `args`, returning the return registers: x86-64
    /// `[rax, rdx, xmm0, xmm1, 0, 0]`, AArch64 `[x0, x1, d0, d1, d2, d3]` (the order of
    /// `Frame::ret`).
    ///
    /// # Safety
    /// `args` has passed the plan's checks (count, kinds, struct sizes); `ret` is valid for
    /// an indirect return's size; the callers of `prepare` and `call` asserted the signature
    /// and the soundness of the arguments.
    #[inline(always)]
    pub(crate) unsafe fn call(
        &self,
        code: *const c_void,
        args: &[Arg<'_>],
        ret: *mut u8,
        extra: u64,
    ) -> [u64; 6] {
        if self.int_only {
            let n = args.len();
            // SAFETY: `k < n` for every argument read; the plan put argument `k` in integer
            // register `k` and nothing anywhere else (forwarded contract).
            return unsafe {
                enter_int(code, |k| {
                    if k < n {
                        args.get_unchecked(k).bits()
                    } else {
                        0
                    }
                })
            };
        }
        // Unused register slots name argument 0; with no arguments they read 0 instead.
        let bits = |i: usize| {
            if args.is_empty() {
                0
            } else {
                // SAFETY: sources name argument indices below the checked argument count.
                unsafe { args.get_unchecked(i) }.bits()
            }
        };
        // SAFETY: forwarded from the caller's contract.
        unsafe { self.call_with(code, bits, ret, extra) }
    }

    /// As [`InlinePlan::call`], with argument `i`'s register image given by `bits(i)`.
    ///
    /// # Safety
    /// As [`InlinePlan::call`]; `bits` accepts every argument index of the plan.
    #[inline(always)]
    unsafe fn call_with(
        &self,
        code: *const c_void,
        bits: impl Fn(usize) -> u64,
        ret: *mut u8,
        extra: u64,
    ) -> [u64; 6] {
        // Only the words the plan uses are written (no zeroing of the whole area).
        let mut storage = [std::mem::MaybeUninit::<u64>::uninit(); MAX_STACK_WORDS];
        let n = self.stack.len();
        if self.stack_simple {
            for (w, src) in storage.iter_mut().zip(self.stack.iter()) {
                w.write(bits(src.arg as usize));
            }
        } else {
            for (w, src) in storage.iter_mut().zip(self.stack.iter()) {
                // SAFETY: forwarded contract.
                w.write(unsafe { src.image(&bits, ret) });
            }
        }
        // SAFETY: the first `n <= MAX_STACK_WORDS` words were just written.
        let words = unsafe { std::slice::from_raw_parts(storage.as_ptr().cast::<u64>(), n) };
        let extra = if self.ret_in_x8 {
            ret as usize as u64
        } else {
            extra
        };
        if self.simple {
            let reg = |r: usize| bits(self.regs[r].arg as usize);
            return if n == 0 {
                // SAFETY: forwarded contract; no stack arguments.
                unsafe { enter_regs(code, reg, extra) }
            } else {
                // SAFETY: forwarded contract; simple sources are plain argument indices.
                unsafe { enter(code, reg, words, extra) }
            };
        }
        // Struct pieces, promotions or the return pointer: compute only the registers that
        // carry something.
        let mut image = [0u64; REGS];
        for (r, src) in self.used.iter() {
            // SAFETY: forwarded contract; `r < REGS`.
            unsafe { *image.get_unchecked_mut(*r as usize) = src.image(&bits, ret) };
        }
        if self.gp_only {
            // SAFETY: forwarded contract; no stack arguments, no vector registers.
            unsafe { enter_gp(code, |r| image[r], extra) }
        } else if n == 0 {
            // SAFETY: forwarded contract; no stack arguments.
            unsafe { enter_regs(code, |r| image[r], extra) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { enter(code, |r| image[r], words, extra) }
        }
    }
}

/// Calls `code` whose plan is integer-register-only (argument `k` in integer register `k`,
/// a scalar or void return): one arm per arity, so each register is one load from `args`.
/// Returns the return registers as [`InlinePlan::call`] does.
///
/// # Safety
/// The plan of `code` must be integer-register-only and `args` must have passed its checks;
/// the callers of `prepare` and `call` asserted the signature and the arguments.
#[inline(always)]
pub(crate) unsafe fn call_int_only(code: *const c_void, args: &[Arg<'_>]) -> [u64; 6] {
    // SAFETY: every arm reads only indices below `args.len()`; forwarded contract.
    unsafe {
        let a = |k: usize| args.get_unchecked(k).bits();
        match args.len() {
            0 => enter_int(code, |_| 0),
            1 => enter_int(code, |k| if k == 0 { a(0) } else { 0 }),
            2 => enter_int(code, |k| if k < 2 { a(k) } else { 0 }),
            3 => enter_int(code, |k| if k < 3 { a(k) } else { 0 }),
            4 => enter_int(code, |k| if k < 4 { a(k) } else { 0 }),
            n => enter_int(code, |k| if k < n { a(k) } else { 0 }),
        }
    }
}

/// The `asm!` call for integer-register-only plans: just the integer argument registers.
///
/// # Safety
/// `code` must take exactly integer-class arguments, in registers, as `reg(0..)` gives them.
#[inline(always)]
unsafe fn enter_int(code: *const c_void, reg: impl Fn(usize) -> u64) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let f0: f64;
    #[cfg(target_arch = "x86_64")]
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
            inout("rax") 0u64 => r0,
            out("xmm0") f0,
            clobber_abi("C"),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        core::arch::asm!(
            "blr {code}",
            code = in(reg) code,
            inout("x0") reg(0) => r0,
            inout("x1") reg(1) => r1,
            inout("x2") reg(2) => _,
            inout("x3") reg(3) => _,
            inout("x4") reg(4) => _,
            inout("x5") reg(5) => _,
            inout("x6") reg(6) => _,
            inout("x7") reg(7) => _,
            out("v0") f0,
            clobber_abi("C"),
        );
    }
    [r0, r1, f0.to_bits(), 0, 0, 0]
}

/// The `asm!` call with integer argument registers only (no vector register, no stack
/// argument): `extra` in `%rax` / `x8`; the vector return registers are still read.
///
/// # Safety
/// The integer registers must make a sound call of `code`, which takes nothing else.
#[inline(always)]
unsafe fn enter_gp(code: *const c_void, reg: impl Fn(usize) -> u64, extra: u64) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    #[cfg(target_arch = "x86_64")]
    let (f2, f3) = (0f64, 0f64);
    #[cfg(target_arch = "aarch64")]
    let (f2, f3): (f64, f64);
    #[cfg(target_arch = "x86_64")]
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
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
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
unsafe fn enter_regs(code: *const c_void, reg: impl Fn(usize) -> u64, extra: u64) -> [u64; 6] {
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    #[cfg(target_arch = "x86_64")]
    let (f2, f3) = (0f64, 0f64);
    #[cfg(target_arch = "aarch64")]
    let (f2, f3): (f64, f64);
    #[cfg(target_arch = "x86_64")]
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
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
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
unsafe fn enter(
    code: *const c_void,
    reg: impl Fn(usize) -> u64,
    stack: &[u64],
    extra: u64,
) -> [u64; 6] {
    let bytes = (stack.len() * 8).next_multiple_of(16);
    let (r0, r1): (u64, u64);
    let (f0, f1): (f64, f64);
    #[cfg(target_arch = "x86_64")]
    let (f2, f3) = (0f64, 0f64);
    #[cfg(target_arch = "aarch64")]
    let (f2, f3): (f64, f64);
    #[cfg(target_arch = "x86_64")]
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
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (x20 is callee-saved).
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

impl InlinePlan {
    /// True when the plan is integer-register-only (see [`call_int_only`]).
    pub(crate) fn is_int_only(&self) -> bool {
        self.int_only
    }

    /// The per-argument checks of an all-scalar plan ([`accept`]).
    pub(crate) fn scalar_accepts(&self) -> Option<&[Accept]> {
        self.all_scalar.then_some(&*self.accepts)
    }
}
