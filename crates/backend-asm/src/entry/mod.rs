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

use ffi_trait::Arg;

use crate::abi::plan::{ArgPlan, Loc, Plan, RetPlan};
pub(crate) use crate::abi::{FP0, GP_ARGS, MAX_INT_ARGS, REGS, SMALL_REGS};
use crate::arch::{call_gp_regs, enter, enter_gp, enter_regs, enter_stack2, enter_stack2_gp};

mod load;
mod site_call;

pub(crate) use load::{ArgSource, Load, Op, RawArgs, read_le, write_le};

/// The most stack words the inline entry passes.
pub(crate) const MAX_STACK_WORDS: usize = 64;

/// How an [`InlinePlan`] enters the callee, chosen at prepare from the plan's shape. The
/// variants carry no flags, so the call dispatches with one jump on the variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Integer-class arguments only, argument `k` in integer register `k` and, past the
    /// registers, in stack word `k - GP_ARGS` (at most two: [`MAX_INT_ARGS`]), no vector
    /// register, a scalar or void return (the common shape of kernels): each register and
    /// stack word is one load from the argument array ([`call_int_only`], one `asm!` block
    /// per argument count, chosen by the count, which the compiler knows at call sites that
    /// pass an array).
    Int,
    /// `GpN`: integer registers `0..N` only, each an argument's whole image or eight bytes
    /// of a struct (System V INTEGER eightbytes, AAPCS64 composites up to 16 bytes), no
    /// stack, no hidden return pointer: only those registers are loaded ([`call_gp_regs`]).
    /// One variant per count, so the count is known in each arm of the call's one jump.
    Gp0,
    /// See `Gp0`.
    Gp1,
    /// See `Gp0`.
    Gp2,
    /// See `Gp0`.
    Gp3,
    /// See `Gp0`.
    Gp4,
    /// See `Gp0`.
    Gp5,
    /// See `Gp0`.
    Gp6,
    /// See `Gp0` (AArch64 only).
    Gp7,
    /// See `Gp0` (AArch64 only).
    Gp8,
    /// Whole argument images in integer and vector registers, no stack.
    Regs,
    /// As `Regs`, with arguments in at most the first [`SMALL_REGS`] integer and the first
    /// [`SMALL_REGS`] vector registers (the common small mixed shapes: `axpy(a, x, y, n)`,
    /// `pow`, `fma`, `ldexp`): only those are loaded, the others are passed as zero.
    RegsSmall,
    /// As `Regs`, for a plan whose integer registers take consecutive arguments and whose
    /// vector registers take consecutive arguments (the signature groups each class: `6 x
    /// i64` then `8 x f64`, all `f64`), with enough arguments after each run that every
    /// register's load stays inside the argument array: register `r` of a class is loaded
    /// from the argument at the class's base plus `r` (see [`Runs`]), so a call reads two
    /// base offsets from the plan instead of one offset per register. Registers past a
    /// class's run read later arguments, which the callee ignores.
    Runs,
    /// As `Runs`, loading only the first [`SMALL_REGS`] registers of each class (the others
    /// are passed as zero): the `RegsSmall` shapes that group their classes.
    RunsSmall,
    /// Whole argument images in integer registers and one or two stack words, stored by the
    /// `asm!` block itself from two scratch registers; no vector register is touched
    /// ([`enter_stack2_gp`]).
    Stack2Gp,
    /// As `Stack2Gp`, with vector registers.
    Stack2,
    /// Whole argument images in integer registers and up to [`MAX_STACK_WORDS`] stack
    /// words (the vector registers are zeroed).
    StackGp,
    /// As `StackGp`, with vector registers.
    Stack,
    /// Registers only, each a whole image or eight bytes of a struct, vector registers
    /// among them (AAPCS64 HFA members, System V SSE eightbytes): one predictable branch per
    /// register.
    Pieces8,
    /// Struct pieces, promotions or the return pointer somewhere: every register and stack
    /// word through [`Load::value`].
    General,
    /// Not inline: the naked trampoline makes the call (AAPCS64 by-reference copies, over
    /// [`MAX_STACK_WORDS`] stack words, a stack budget to check, or a test's request).
    Trampoline,
}

/// The inline entry's form of a plan: how the call enters the callee, and a [`Load`] for
/// every register and stack word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InlinePlan {
    /// The entry calls take now: `shape`, or [`Entry::Trampoline`] while a stack budget or
    /// a test asks for the trampoline. Every call makes one jump on it.
    entry: Entry,
    /// The entry the plan's shape takes ([`Entry::Trampoline`] when the inline entry cannot
    /// make the call).
    shape: Entry,
    regs: [Load; REGS],
    /// The registers that carry a value and their loads (for [`Entry::General`]: the others
    /// are passed as zero without computing anything).
    used: Box<[(u8, Load)]>,
    /// No floating-point register and no stack word is used.
    gp_only: bool,
    stack: Box<[Load]>,
    /// The first two stack words' loads, for the `Stack2` entries (a missing second word is
    /// a [`Load::ZERO`], which reads argument 0's image into the padding word).
    stack2: [Load; 2],
    /// The hidden return pointer goes in `x8` (AArch64).
    ret_in_x8: bool,
    /// The base arguments of the `Runs` entries.
    runs: Runs,
}

/// The byte offsets in the argument array (`arg * size_of::<Arg>()`) of the arguments that
/// integer register 0 and vector register 0 take, for the [`Entry::Runs`] and
/// [`Entry::RunsSmall`] entries: register `r` of a class takes the argument `r` places after
/// its class's base, so a call computes every register's address from one base per class
/// (two loads from the plan) instead of reading one offset per register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Runs {
    gp: u32,
    fp: u32,
}

impl Runs {
    /// The bases of a plan's registers (`regs`, as in [`InlinePlan`]) when each class loads
    /// `loaded` registers — `GP_ARGS` or [`SMALL_REGS`] integer registers, `REGS - FP0` or
    /// [`SMALL_REGS`] vector registers — from consecutive arguments that all lie inside an
    /// array of `nargs`: the class's used registers (`Whole` loads, a prefix of the class)
    /// take consecutive arguments, and base + `loaded` ≤ `nargs` so that the registers
    /// past them read arguments too. A class with no used register reads from argument 0.
    /// `None` when a class does not fit.
    fn of(regs: &[Load; REGS], nargs: usize, loaded: [usize; 2]) -> Option<Runs> {
        let size = size_of::<Arg<'_>>() as u32;
        let base = |class: &[Load], loaded: usize| -> Option<u32> {
            let used = class.iter().take_while(|l| l.op == Op::Whole).count();
            if class[used..].iter().any(|l| l.op != Op::Zero) {
                return None;
            }
            let first = if used == 0 { 0 } else { class[0].at / size };
            let consecutive = class[..used]
                .iter()
                .enumerate()
                .all(|(r, l)| l.at == (first + r as u32) * size);
            (consecutive && first as usize + loaded <= nargs).then_some(first * size)
        };
        Some(Runs {
            gp: base(&regs[..GP_ARGS], loaded[0])?,
            fp: base(&regs[FP0..], loaded[1])?,
        })
    }

    /// The image of register `r` (`0..REGS`, as in [`InlinePlan`]'s `regs`): the argument
    /// `r` places after its class's base.
    ///
    /// # Safety
    /// `args` passed the plan's checks and `r` is one of the registers the entry loads
    /// (`Runs::of` made sure it lies inside the array).
    #[inline(always)]
    unsafe fn image(self, args: impl ArgSource, r: usize) -> u64 {
        let (base, k) = if r < FP0 {
            (self.gp, r)
        } else {
            (self.fp, r - FP0)
        };
        // SAFETY: argument `base / size_of::<Arg>() + k` is inside the checked array
        // (forwarded contract: `Runs::of` bounded it by the signature's argument count).
        unsafe { args.image(base as usize + k * size_of::<Arg<'_>>()) }
    }
}

impl InlinePlan {
    /// True when calls take [`Entry::Int`] (which the caller tests first: see
    /// [`call_int_only`]).
    #[inline(always)]
    pub(crate) fn is_int(&self) -> bool {
        self.entry == Entry::Int
    }

    /// True when calls take an inline entry (not the trampoline).
    #[inline(always)]
    pub(crate) fn is_inline(&self) -> bool {
        self.entry != Entry::Trampoline
    }

    /// The inline form of `plan`; its entry is [`Entry::Trampoline`] when the plan needs the
    /// trampoline (by-reference copies, over [`MAX_STACK_WORDS`] stack words).
    pub(crate) fn of(plan: &Plan) -> InlinePlan {
        Self::inline_of(plan).unwrap_or(InlinePlan {
            entry: Entry::Trampoline,
            shape: Entry::Trampoline,
            regs: [Load::ZERO; REGS],
            used: Box::new([]),
            gp_only: false,
            stack: Box::new([]),
            stack2: [Load::ZERO; 2],
            ret_in_x8: false,
            runs: Runs::default(),
        })
    }

    /// Makes every call go through the naked trampoline (`on`), or through the entry of the
    /// plan's shape again.
    pub(crate) fn force_trampoline(&mut self, on: bool) {
        self.entry = if on { Entry::Trampoline } else { self.shape };
    }

    fn inline_of(plan: &Plan) -> Option<InlinePlan> {
        if plan.scratch_words != 0
            || plan.stack_words as usize > MAX_STACK_WORDS
            || plan.args.len() > REGS + MAX_STACK_WORDS
        {
            return None;
        }
        let mut regs = [Load::ZERO; REGS];
        let mut stack = vec![Load::ZERO; plan.stack_words as usize];
        let mut place = |loc: Loc, load: Load| match loc {
            Loc::Gp(r) => regs[r as usize] = load,
            Loc::Fp(r) => regs[FP0 + r as usize] = load,
            Loc::Stack(w) => stack[w as usize] = load,
        };
        let piece = |arg: usize, offset: u16, len: u8| {
            let op = if len == 8 { Op::Piece8 } else { Op::Piece };
            Load::new(op, arg, offset, len)
        };
        for (i, ap) in plan.args.iter().enumerate() {
            match ap {
                ArgPlan::Scalar {
                    promote_f32, loc, ..
                } => {
                    let op = if *promote_f32 { Op::Promote } else { Op::Whole };
                    place(*loc, Load::new(op, i, 0, 0));
                }
                ArgPlan::Pieces { pieces, .. } => {
                    for p in pieces.iter() {
                        place(p.loc, piece(i, p.offset, p.len));
                    }
                }
                ArgPlan::StackCopy { size, word } => {
                    for k in 0..(*size as usize).div_ceil(8) {
                        let len = (*size as usize - k * 8).min(8) as u8;
                        place(Loc::Stack(*word + k as u16), piece(i, (k * 8) as u16, len));
                    }
                }
                ArgPlan::ByRef { .. } => return None,
            }
        }
        let mut ret_in_x8 = false;
        if let RetPlan::Indirect { .. } = plan.ret {
            if plan.sret_in_gp0 {
                regs[0] = Load::new(Op::RetPtr, 0, 0, 0);
            } else {
                ret_in_x8 = true;
            }
        }
        let fp = regs[FP0..].iter().any(|l| l.op != Op::Zero);
        let gp_only = stack.is_empty() && !fp;
        // Argument `k` in integer register `k`, then in stack word `k - GP_ARGS`.
        let int_word = |k: usize| {
            if k < GP_ARGS {
                Loc::Gp(k as u8)
            } else {
                Loc::Stack((k - GP_ARGS) as u16)
            }
        };
        let int_only = plan.args.len() <= MAX_INT_ARGS
            && stack.len() == plan.args.len().saturating_sub(GP_ARGS)
            && matches!(plan.ret, RetPlan::Void | RetPlan::Int | RetPlan::Float)
            && plan.extra == 0
            && plan.args.iter().enumerate().all(|(k, ap)| {
                matches!(ap, ArgPlan::Scalar { loc, promote_f32: false, .. } if *loc == int_word(k))
            });
        // Whole images only (unused registers may then carry argument 0's image: the callee
        // ignores them), at least one argument to read.
        let whole = |l: &Load| matches!(l.op, Op::Whole | Op::Zero);
        let gp_used = regs[..FP0].iter().take_while(|l| l.op != Op::Zero).count();
        let entry = if int_only {
            Entry::Int
        } else if gp_only
            && !matches!(plan.ret, RetPlan::Indirect { .. })
            && regs[..gp_used]
                .iter()
                .all(|l| matches!(l.op, Op::Whole | Op::Piece8))
            && regs[gp_used..FP0].iter().all(|l| l.op == Op::Zero)
        {
            const GP: [Entry; 9] = [
                Entry::Gp0,
                Entry::Gp1,
                Entry::Gp2,
                Entry::Gp3,
                Entry::Gp4,
                Entry::Gp5,
                Entry::Gp6,
                Entry::Gp7,
                Entry::Gp8,
            ];
            GP[gp_used]
        } else if !plan.args.is_empty()
            && regs.iter().all(whole)
            && stack.iter().all(|l| l.op == Op::Whole)
        {
            // Registers past the first `SMALL_REGS` of each class unused.
            let small = regs
                .iter()
                .enumerate()
                .all(|(r, l)| (r % FP0) < SMALL_REGS || l.op == Op::Zero);
            match (stack.len(), fp) {
                (0, _) if small => Entry::RegsSmall,
                (0, _) => Entry::Regs,
                (1 | 2, false) => Entry::Stack2Gp,
                (1 | 2, true) => Entry::Stack2,
                (_, false) => Entry::StackGp,
                (_, true) => Entry::Stack,
            }
        } else if !plan.args.is_empty()
            && stack.is_empty()
            && regs
                .iter()
                .all(|l| matches!(l.op, Op::Whole | Op::Zero | Op::Piece8))
        {
            Entry::Pieces8
        } else {
            Entry::General
        };
        let used = (0..REGS)
            .filter(|&r| regs[r].op != Op::Zero)
            .map(|r| (r as u8, regs[r]))
            .collect();
        // Register plans whose classes take runs of consecutive arguments load at a stride.
        let strided = |to: Entry, loaded| Runs::of(&regs, plan.args.len(), loaded).map(|r| (to, r));
        let (entry, runs) = match entry {
            Entry::Regs => strided(Entry::Runs, [GP_ARGS, REGS - FP0]),
            Entry::RegsSmall => strided(Entry::RunsSmall, [SMALL_REGS; 2]),
            _ => None,
        }
        .unwrap_or((entry, Runs::default()));
        Some(InlinePlan {
            entry,
            shape: entry,
            runs,
            regs,
            used,
            gp_only,
            stack2: [0, 1].map(|w| stack.get(w).copied().unwrap_or(Load::ZERO)),
            stack: stack.into_boxed_slice(),
            ret_in_x8,
        })
    }

    /// Calls `code` with the dynamic `args`, returning the return registers: x86-64
    /// `[rax, rdx, xmm0, xmm1, 0, 0]`, AArch64 `[x0, x1, d0, d1, d2, d3]` (the order of
    /// `Frame::ret`); `None`, without calling, when the entry is [`Entry::Trampoline`].
    ///
    /// # Safety
    /// `args` has passed the function's checks (count, kinds, struct sizes); `ret` is valid for
    /// an indirect return's size; the callers of `prepare` and `call` asserted the signature
    /// and the soundness of the arguments.
    #[inline(always)]
    pub(crate) unsafe fn call(
        &self,
        code: *const c_void,
        args: impl ArgSource,
        nargs: usize,
        ret: *mut u8,
        extra: u64,
    ) -> Option<[u64; 6]> {
        // Computed in the arms that pass it (the `IntN` and `GpN` entries do not).
        let extra = || {
            // (Never on x86-64, where the hidden pointer is an argument register.)
            if cfg!(target_arch = "aarch64") && self.ret_in_x8 {
                ret as usize as u64
            } else {
                extra
            }
        };
        // SAFETY: (all arms) forwarded from the caller's contract; whole-image entries have
        // at least one argument, and every load reads an argument below the checked count.
        unsafe {
            let whole = |r: usize| self.regs[r].image(args);
            // The same for plans without vector registers: the vector registers are zeroed
            // (`r` is a constant in every operand, so the test folds away).
            let whole_gp = |r: usize| if r < FP0 { whole(r) } else { 0 };
            let word = |w: &Load| w.image(args);
            // Registers `0..n` of a `GpN` entry are `Whole` or `Piece8` loads of checked
            // arguments; `n` is a constant in each arm.
            let gp = |n: usize| call_gp_regs(code, n, |r| self.regs[r].whole_or_piece8(args));
            let stack2 = || self.stack2.map(|l| l.image(args));
            Some(match self.entry {
                Entry::Int => call_int_only(code, args, nargs),
                Entry::Gp0 => gp(0),
                Entry::Gp1 => gp(1),
                Entry::Gp2 => gp(2),
                Entry::Gp3 => gp(3),
                Entry::Gp4 => gp(4),
                Entry::Gp5 => gp(5),
                Entry::Gp6 => gp(6),
                Entry::Gp7 => gp(7),
                Entry::Gp8 => gp(8),
                Entry::Regs => enter_regs(code, whole, extra()),
                // (`r` is a constant in every operand: the unused registers cost no load.)
                Entry::RegsSmall => enter_regs(
                    code,
                    |r| if r % FP0 < SMALL_REGS { whole(r) } else { 0 },
                    extra(),
                ),
                Entry::Runs => enter_regs(code, |r| self.runs.image(args, r), extra()),
                // (`r` is a constant in every operand: the unused registers cost no load.)
                Entry::RunsSmall => enter_regs(
                    code,
                    |r| {
                        if r % FP0 < SMALL_REGS {
                            self.runs.image(args, r)
                        } else {
                            0
                        }
                    },
                    extra(),
                ),
                Entry::Stack2Gp => enter_stack2_gp(code, whole, stack2(), extra()),
                Entry::Stack2 => enter_stack2(code, whole, stack2(), extra()),
                Entry::StackGp => self.enter_stack(code, word, whole_gp, extra()),
                Entry::Stack => self.enter_stack(code, word, whole, extra()),
                Entry::Pieces8 => {
                    // Unused registers (`Zero`) carry argument 0's image: the callee ignores
                    // them.
                    enter_regs(code, |r| self.regs[r].whole_or_piece8(args), extra())
                }
                Entry::General => {
                    let mut image = [0u64; REGS];
                    for (r, l) in self.used.iter() {
                        *image.get_unchecked_mut(*r as usize) = l.value(args, ret);
                    }
                    let load = |r: usize| image[r];
                    if self.gp_only {
                        enter_gp(code, load, extra())
                    } else if self.stack.is_empty() {
                        enter_regs(code, load, extra())
                    } else {
                        self.enter_stack(code, |w| w.value(args, ret), load, extra())
                    }
                }
                Entry::Trampoline => return None,
            })
        }
    }

    /// Writes the stack words (`word` of each [`Load`]) to a local array and enters
    /// through [`enter`], which copies them below the stack pointer.
    ///
    /// # Safety
    /// As [`InlinePlan::call`]; `word` and `reg` give the plan's images.
    #[inline(always)]
    unsafe fn enter_stack(
        &self,
        code: *const c_void,
        word: impl Fn(&Load) -> u64,
        reg: impl Fn(usize) -> u64,
        extra: u64,
    ) -> [u64; 6] {
        // Only the words the plan uses are written (no zeroing of the whole area).
        let mut storage = [std::mem::MaybeUninit::<u64>::uninit(); MAX_STACK_WORDS];
        for (w, l) in storage.iter_mut().zip(self.stack.iter()) {
            w.write(word(l));
        }
        // SAFETY: the first `stack.len() <= MAX_STACK_WORDS` words were just written.
        let words =
            unsafe { std::slice::from_raw_parts(storage.as_ptr().cast::<u64>(), self.stack.len()) };
        // SAFETY: forwarded contract.
        unsafe { enter(code, reg, words, extra) }
    }
}

/// Calls `code` with `n` integer-class words (at most [`MAX_INT_ARGS`]): `word(k)` in integer
/// register `k`, and past the registers in stack word `k - GP_ARGS`. Up to [`GP_ARGS`]
/// words this is [`call_gp_regs`]; the one or two words beyond go through
/// [`enter_stack2_gp`] (a missing second word is padding).
///
/// # Safety
/// `word(k)` must be sound to evaluate for `k < n`, and the words must make a sound call of
/// `code`, which takes nothing else.
#[inline(always)]
pub(crate) unsafe fn call_int_words(
    code: *const c_void,
    n: usize,
    word: impl Fn(usize) -> u64 + Copy,
) -> [u64; 6] {
    // SAFETY: forwarded contract; `word` is evaluated below `n` only.
    unsafe {
        if n <= GP_ARGS {
            // (A copy, not a reference: a `&F` call is a shim the compiler may not inline.)
            call_gp_regs(code, n, word)
        } else {
            let stack = [
                word(GP_ARGS),
                if n > GP_ARGS + 1 {
                    word(GP_ARGS + 1)
                } else {
                    0
                },
            ];
            enter_stack2_gp(code, word, stack, 0)
        }
    }
}

/// Calls `code` whose plan is [`Entry::Int`] (argument `k` in integer register `k`, then in
/// stack word `k - GP_ARGS`; a scalar or void return): each word is one load from `args`
/// (see [`call_int_words`]).
///
/// # Safety
/// The plan of `code` must be [`Entry::Int`] and `args` must have passed its checks;
/// the callers of `prepare` and `call` asserted the signature and the arguments.
#[inline(always)]
pub(crate) unsafe fn call_int_only(
    code: *const c_void,
    args: impl ArgSource,
    nargs: usize,
) -> [u64; 6] {
    // SAFETY: `k < nargs` (the checked count, at most `MAX_INT_ARGS` for such a plan);
    // forwarded contract.
    unsafe { call_int_words(code, nargs, |k| args.image(k * size_of::<Arg<'_>>())) }
}

impl InlinePlan {
    /// `Some(n)` when the plan passes integer registers `0..n` only, each a whole image or
    /// eight bytes of a struct (the `GpPieces` entry).
    #[cfg(test)]
    fn gp_pieces(&self) -> Option<u8> {
        Some(match self.entry {
            Entry::Gp0 => 0,
            Entry::Gp1 => 1,
            Entry::Gp2 => 2,
            Entry::Gp3 => 3,
            Entry::Gp4 => 4,
            Entry::Gp5 => 5,
            Entry::Gp6 => 6,
            Entry::Gp7 => 7,
            Entry::Gp8 => 8,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
