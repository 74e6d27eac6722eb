//! The call paths from the caller's arguments to the plan's entry: the checked call of an
//! [`Arg`] slice ([`call_planned`], with the trampoline's out-of-line [`call_slow`]), the
//! raw entry of libffi-style calls ([`raw_call`]), and the decoding of the return registers
//! into a value ([`decode`]). The [`Backend`](ffi_trait::Backend) impl in the crate root
//! chooses among them.

use std::ffi::c_void;
use std::mem::MaybeUninit;

use ffi_trait::raw::{FaultReport, raw_fault};
use ffi_trait::{
    Arg, ArgChecks, ArgKind, ArgsMismatch, Error, Result, Signature, Value,
    backend::{arg_kind_error, arg_type_error},
};

use crate::abi::plan::{self, FillError, Plan, RetPlan};
use crate::abi::site::{SiteEntry, SitePlacement};
use crate::entry;
use crate::frame::{self, Frame, MAX_WORDS};
use crate::{AsmFunction, stack};

/// Calls through the trampoline once the plan has been executed into `frame`/`words`.
///
/// # Safety
/// `frame` holds a sound call of `frame.code` prepared by `plan`; `words` holds the plan's
/// stack and scratch words; `ret` (for an indirect return) is valid for the struct's size.
#[inline(always)]
pub(crate) unsafe fn finish(plan: &Plan, frame: &mut Frame, words: &[u64], ret: *mut u8) {
    frame.stack_words = plan.stack_words as u64;
    frame.stack = words.as_ptr();
    frame.extra = plan.extra;
    if let RetPlan::Indirect { .. } = plan.ret {
        if plan.sret_in_gp0 {
            frame.gp[0] = ret as usize as u64;
        } else {
            frame.extra = ret as usize as u64;
        }
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { frame::call(frame) };
}

/// Where a call's return comes back and how [`decode`] turns it into a value, decided at
/// prepare so that the call makes one test for the common scalar returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RetForm {
    /// A scalar (or `void`) in the first integer return register (`rax` / `x0`).
    Int,
    /// A scalar in the first vector return register (`xmm0` / `d0`).
    Float,
    /// A struct of one whole eightbyte in `rax` / `x0` (System V INTEGER, AAPCS64 8-byte
    /// composites): one 8-byte write.
    Word1,
    /// A struct of two whole eightbytes in `rax`, `rdx` / `x0`, `x1`: two 8-byte writes.
    Words2,
    /// Any other struct in registers: the plan's piece walk ([`plan::decode_return`]).
    Pieces,
    /// A struct through the hidden pointer (sret): the callee already wrote it.
    Indirect,
}

impl RetForm {
    /// The form of a plan's return.
    pub(crate) fn of(ret: &RetPlan) -> RetForm {
        let pieces = match ret {
            RetPlan::Void | RetPlan::Int => return RetForm::Int,
            RetPlan::Float => return RetForm::Float,
            RetPlan::Indirect { .. } => return RetForm::Indirect,
            RetPlan::Pieces { size, pieces } => {
                let in_order = pieces
                    .iter()
                    .enumerate()
                    .all(|(k, p)| p.reg as usize == k && p.offset as usize == 8 * k && p.len == 8);
                if in_order && *size as usize == 8 * pieces.len() {
                    pieces.len()
                } else {
                    0
                }
            }
        };
        match pieces {
            1 => RetForm::Word1,
            2 => RetForm::Words2,
            _ => RetForm::Pieces,
        }
    }
}

/// The call's result from the return registers (`regs`, in the order of [`Frame::ret`]):
/// a scalar, or a struct copied into `ret`.
///
/// # Safety
/// `ret` holds at least `f.ret_size` bytes.
#[inline(always)]
pub(crate) unsafe fn decode(f: &AsmFunction, regs: [u64; 6], ret: &mut [u8]) -> Value {
    // Scalar and void returns (the common case) first, with one test.
    if f.ret_form as u8 <= RetForm::Float as u8 {
        return decode_scalar(f, regs);
    }
    let out = ret.as_mut_ptr();
    if f.ret_form == RetForm::Words2 {
        // The common struct return (16 bytes in two integer registers) without the jump
        // below.
        // SAFETY: `ret` holds the struct's 16 bytes (forwarded contract).
        unsafe {
            out.cast::<u64>().write_unaligned(regs[0]);
            out.add(8).cast::<u64>().write_unaligned(regs[1]);
        }
        return Value::Struct;
    }
    match f.ret_form {
        // SAFETY: `ret` holds the struct's size, 8 or 16 bytes for these forms (forwarded
        // contract).
        RetForm::Word1 => unsafe { out.cast::<u64>().write_unaligned(regs[0]) },
        // SAFETY: forwarded contract.
        RetForm::Pieces => unsafe {
            decode_pieces(f, regs[0], regs[1], regs[2], regs[3], regs[4], regs[5], ret)
        },
        RetForm::Int | RetForm::Float | RetForm::Words2 | RetForm::Indirect => {}
    }
    Value::Struct
}

/// The scalar (or `void`) return of a function whose [`RetForm`] is `Int` or `Float`.
#[inline(always)]
pub(crate) fn decode_scalar(f: &AsmFunction, regs: [u64; 6]) -> Value {
    f.ret_decode.value(scalar_bits(f, regs))
}

/// The entry of `f`'s raw calls that build no [`Arg`]: integer words in their registers (the
/// plan's `Int` entry, which a variadic call may take too), or scalars the function's key
/// places, with a scalar return; `None` for every other function.
pub(crate) fn raw_site_entry(f: &AsmFunction) -> Option<SiteEntry> {
    if f.inline.is_int() {
        Some(SiteEntry::Int)
    } else {
        f.site.filter(|_| f.ret_form as u8 <= RetForm::Float as u8)
    }
}

/// [`AsmBackend::raw_entry`]'s routine for entry `E` (a [`SiteEntry`] as `u8`): the raw call
/// of [`AsmBackend::call_raw`]'s direct path, with the entry a constant.
///
/// # Safety
/// `data` is an [`AsmFunction`] whose [`raw_site_entry`] is `E` and that has its raw kinds,
/// alive and unchanged; the rest as [`ffi_trait::raw::RawEntry::call_reporting`].
pub(crate) unsafe extern "C" fn raw_call<const E: u8>(
    data: *const (),
    args: *const *const c_void,
    ret: *mut c_void,
    sink: *mut c_void,
    report: FaultReport,
) -> u32 {
    // SAFETY: (all) the contract above; the pointers are checked first.
    unsafe {
        let f = &*data.cast::<AsmFunction>();
        let raw = f.raw.as_deref().unwrap_unchecked();
        let fault = raw_fault(args, raw.len(), ret, f.returns());
        if fault != 0 {
            return report(sink, fault);
        }
        let entry = SiteEntry::of_u8(E);
        let regs = SitePlacement::call(
            f.checks.key(),
            entry,
            f.code.0,
            raw.len(),
            #[inline(always)]
            |k| raw.get_unchecked(k).raw_image(*args.add(k)),
            f.plan.extra,
        );
        f.raw_ret.write(scalar_bits(f, regs), ret);
        0
    }
}

/// [`raw_call`] of the `Int` entry with its argument count `N` a constant too: the `asm!`
/// block of that count is the only one in the routine (no comparisons of the count).
///
/// # Safety
/// As [`raw_call`], for a function whose entry is `Int` and that has `N` parameters.
pub(crate) unsafe extern "C" fn raw_call_int<const N: usize>(
    data: *const (),
    args: *const *const c_void,
    ret: *mut c_void,
    sink: *mut c_void,
    report: FaultReport,
) -> u32 {
    // SAFETY: (all) the contract above: the `Int` entry puts argument `k < N` in integer
    // register `k`, then in stack word `k - GP_ARGS`; the pointers are checked first.
    unsafe {
        let f = &*data.cast::<AsmFunction>();
        let raw = f.raw.as_deref().unwrap_unchecked();
        let fault = raw_fault(args, N, ret, f.returns());
        if fault != 0 {
            return report(sink, fault);
        }
        let regs = entry::call_int_words(
            f.code.0,
            N,
            #[inline(always)]
            |k| raw.get_unchecked(k).raw_image(*args.add(k)),
        );
        f.raw_ret.write(scalar_bits(f, regs), ret);
        0
    }
}

/// [`AsmBackend::raw_entry`](crate::AsmBackend)'s routine for the plans no [`SiteEntry`]
/// takes: the function's inline entry reads each argument from its pointer in place
/// ([`entry::RawArgs`]: a scalar with its kind's load, a struct's pieces from its bytes), and
/// the return registers go to `ret` (a scalar widened as [`ffi_trait::raw::RawReturn`]
/// says, a struct as its bytes; an indirect return was written there by the callee).
///
/// # Safety
/// `data` is an [`AsmFunction`] whose inline entry is not the trampoline, alive and unchanged;
/// the rest as [`ffi_trait::raw::RawEntry::call_reporting`] (`ret` holds the struct's size
/// for a struct return).
pub(crate) unsafe extern "C" fn raw_inline_call(
    data: *const (),
    args: *const *const c_void,
    ret: *mut c_void,
    sink: *mut c_void,
    report: FaultReport,
) -> u32 {
    // SAFETY: (all) the contract above; the plan's loads read arguments below the
    // signature's count, which the raw array holds, each checked present first.
    unsafe {
        let f = &*data.cast::<AsmFunction>();
        let fault = raw_fault(args, f.kinds.len(), ret, f.returns());
        if fault != 0 {
            return report(sink, fault);
        }
        let source = entry::RawArgs {
            ptrs: args,
            kinds: &f.kinds,
        };
        let Some(regs) = f
            .inline
            .call(f.code.0, source, f.kinds.len(), ret.cast(), f.plan.extra)
        else {
            // (Unreachable: the entry was chosen because the plan is inline, and a
            // `DynFunction`'s plan cannot be changed after prepare.)
            raw_by_args(f, args, ret);
            return 0;
        };
        if f.ret_form as u8 <= RetForm::Float as u8 {
            f.raw_ret.write(scalar_bits(f, regs), ret);
        } else {
            let slot = std::slice::from_raw_parts_mut(ret.cast::<u8>(), f.ret_size as usize);
            decode(f, regs, slot);
        }
        0
    }
}

/// The raw call rebuilt into [`Arg`]s and made by [`call_planned`]: only for a plan that
/// changed under a raw entry, which a `DynFunction` does not allow.
///
/// # Safety
/// As [`raw_inline_call`].
#[cold]
#[inline(never)]
unsafe fn raw_by_args(f: &AsmFunction, args: *const *const c_void, ret: *mut c_void) {
    // SAFETY: forwarded; the count is the signature's.
    let _ = unsafe {
        ffi_trait::backend::with_raw_args(&f.signature, args.cast(), f.kinds.len(), |a| {
            let slot: &mut [u8] =
                std::slice::from_raw_parts_mut(ret.cast::<u8>(), f.ret_size as usize);
            let v = call_planned(f, a, slot)?;
            ffi_trait::backend::write_raw_return(v, ret);
            Ok(())
        })
    };
}

/// The register image of a scalar (or `void`) return: the vector return register's for a
/// [`RetForm::Float`], else the integer one's.
#[inline(always)]
pub(crate) fn scalar_bits(f: &AsmFunction, regs: [u64; 6]) -> u64 {
    if f.ret_form == RetForm::Float {
        regs[2]
    } else {
        regs[0]
    }
}

/// [`decode`]'s piece walk, out of line: the return registers reach memory only on this
/// path, not on the inline entries' common ones.
///
/// # Safety
/// As [`decode`].
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn decode_pieces(
    f: &AsmFunction,
    r0: u64,
    r1: u64,
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
    ret: &mut [u8],
) {
    let regs = [r0, r1, v0, v1, v2, v3];
    if let RetPlan::Pieces { pieces, .. } = &f.plan.ret {
        // SAFETY: the plan's pieces; `ret` holds the struct's size (forwarded contract).
        unsafe { plan::decode_return(pieces, &regs, ret) };
    }
}

#[cold]
#[inline(never)]
pub(crate) fn count_error(f: &AsmFunction, got: usize) -> Error {
    Error::ArgumentCount {
        function: f.symbol.to_string(),
        expected: f.signature.args().len(),
        got,
    }
}

#[cold]
#[inline(never)]
pub(crate) fn fill_error(f: &AsmFunction, e: FillError, args: &[Arg<'_>]) -> Error {
    let FillError::Type(i) = e;
    arg_type_error(&f.symbol, i, &f.signature.args()[i], &args[i])
}

#[cold]
#[inline(never)]
pub(crate) fn ret_slot_error(f: &AsmFunction, needed: u32, got: usize) -> Error {
    Error::ReturnSlotTooSmall {
        function: f.symbol.to_string(),
        needed: needed as usize,
        got,
    }
}

pub(crate) fn unsupported(sig: &Signature, reason: &str) -> Error {
    Error::UnsupportedSignature {
        backend: "asm",
        signature: sig.to_string(),
        reason: reason.to_owned(),
    }
}

/// A call through the naked trampoline ([`entry::Entry::Trampoline`]): the stack budget
/// check, the frame filled by the plan, the call. Out of line, so that the inline entries'
/// callers do not carry its frame (up to [`MAX_WORDS`] words).
///
/// The error is boxed so that the result comes back in two registers (an inline caller
/// then merges its value with the inline entries' without a round trip through memory).
///
/// # Safety
/// As [`Backend::call`]; `args` passed the function's checks and `ret` holds at least
/// `f.ret_size` bytes.
#[inline(never)]
pub(crate) unsafe fn call_slow(
    f: &AsmFunction,
    args: &[Arg<'_>],
    ret: &mut [u8],
) -> std::result::Result<Value, Box<Error>> {
    let plan = &f.plan;
    if let Some(budget) = f.stack_budget {
        stack::check(&f.symbol, budget + plan.stack_words as usize * 8)?;
    }
    let mut frame = Frame::new(f.code.0);
    let mut storage = [MaybeUninit::<u64>::uninit(); MAX_WORDS];
    let used = plan.stack_words as usize + plan.scratch_words as usize;
    for w in &mut storage[..used] {
        w.write(0);
    }
    // SAFETY: the first `used` words were just initialised (`used <= MAX_WORDS` was
    // checked at prepare).
    let words = unsafe { std::slice::from_raw_parts_mut(storage.as_mut_ptr().cast::<u64>(), used) };
    if let Err(e) = plan::fill(plan, args, &mut frame, words) {
        return Err(Box::new(fill_error(f, e, args)));
    }
    // SAFETY: the caller of `prepare` asserted the signature, from which the plan put
    // every argument where the ABI expects it; the caller of `call` asserted the
    // arguments are sound; `ret` holds at least the struct's size for an indirect return.
    unsafe { finish(plan, &mut frame, words, ret.as_mut_ptr()) };
    // SAFETY: the caller checked the return slot's size.
    Ok(unsafe { decode(f, frame.ret, ret) })
}

/// A call through the plan: the argument checks, then the plan's inline entry (one jump on
/// it) or the trampoline out of line. Where the key places the arguments ([`SitePlacement`])
/// [`Backend::call`] does not come here.
///
/// # Safety
/// As [`Backend::call`].
#[inline(always)]
pub(crate) unsafe fn call_planned(
    f: &AsmFunction,
    args: &[Arg<'_>],
    ret: &mut [u8],
) -> Result<Value> {
    if let Err(m) = f.checks.check(args) {
        return Err(match m {
            ArgsMismatch::Count => count_error(f, args.len()),
            ArgsMismatch::Arg(i) => fill_error(f, FillError::Type(i), args),
        });
    }
    if f.inline.is_int() {
        // The common shape, with nothing else to look at: integer arguments in their
        // registers (and up to two stack words past them), a scalar return (the count's
        // `asm!` block is chosen by `args.len()`, which the compiler often knows).
        // SAFETY: the plan is `Entry::Int` and the arguments passed its checks;
        // the callers of `prepare` and `call` asserted the signature and the arguments.
        let regs = unsafe { entry::call_int_only(f.code.0, args, args.len()) };
        return Ok(decode_scalar(f, regs));
    }
    if ret.len() < f.ret_size as usize {
        return Err(ret_slot_error(f, f.ret_size, ret.len()));
    }
    if let Some(stub) = f.args_stub {
        // SAFETY: the arguments passed the checks and the return slot's size was checked
        // above; forwarded from this function's contract.
        return Ok(unsafe { call_args_stub(f, stub, args, ret) });
    }
    // One jump on the entry: an inline `asm!` call, or the trampoline out of line.
    // SAFETY: the arguments passed the checks; `ret` holds at least the struct's size for
    // a struct return; the callers of `prepare` and `call` asserted the signature and the
    // arguments.
    match unsafe {
        f.inline
            .call(f.code.0, args, args.len(), ret.as_mut_ptr(), f.plan.extra)
    } {
        // SAFETY: the return slot's size was checked above.
        Some(regs) => Ok(unsafe { decode(f, regs, ret) }),
        // SAFETY: forwarded from this function's contract; the arguments passed the
        // checks and the return slot's size was checked above.
        None => unsafe { call_slow(f, args, ret) }.map_err(|e| *e),
    }
}

/// The call through the plan's args-form compiled stub: it reads each checked argument's
/// image (or struct bytes) with the plan's loads compiled in and writes a struct return into
/// `ret`. Out of line, so that the inline paths of [`Backend::call`] stay small.
///
/// # Safety
/// The arguments passed `f`'s checks (one per parameter, each of its kind); `ret` holds at
/// least the struct's size for a struct return; the call is sound as for [`Backend::call`].
#[inline(never)]
unsafe fn call_args_stub(
    f: &AsmFunction,
    stub: crate::stub::ArgsStub,
    args: &[Arg<'_>],
    ret: &mut [u8],
) -> Value {
    // SAFETY: the contract above.
    let r = unsafe { stub(f.code.0, args.as_ptr(), ret.as_mut_ptr()) };
    debug_assert_eq!(r.fault, 0, "checked arguments pass the stub's checks");
    stub_value(f, r.bits)
}

/// The [`Value`] of a call through an args-form stub that returned the register image
/// `bits` (a struct return is already in the caller's slot).
#[inline(always)]
pub(crate) fn stub_value(f: &AsmFunction, bits: u64) -> Value {
    if f.ret_form as u8 <= RetForm::Float as u8 {
        f.ret_decode.value(bits)
    } else {
        Value::Struct
    }
}

/// [`Backend::call`] by the arguments' key ([`ArgChecks::args_key`]): where the key gives
/// their placement (`SitePlacement`: each class's arguments consecutive, which covers most
/// signatures of scalars) and the function's plan agrees with it (checked at prepare), the
/// arguments are read only at indices the key gives, so that with kinds that are constants
/// at the call site the array is never built; everything else, errors included, is one
/// out-of-line call ([`call_off_site`]).
///
/// # Safety
/// As [`Backend::call`].
#[inline(always)]
pub(crate) unsafe fn call_by_key(
    f: &AsmFunction,
    args: &[Arg<'_>],
    ret: &mut [u8],
) -> Result<Value> {
    let own = f.checks.key();
    let key = ArgChecks::args_key(args);
    if let Some(entry) = f.site
        && key == own
        && ret.len() >= f.ret_size as usize
    {
        // The placement comes from the function's key: a constant where the arguments' key
        // is one (the comparison just made the two equal); otherwise a few bit operations on
        // a word of the plan, which do not wait for the arguments.
        // SAFETY: the arguments have the function's key, whose placement gave `entry` for
        // the function's plan; the callers of `prepare` and `call` asserted the signature
        // and the arguments.
        let regs = unsafe {
            SitePlacement::call(
                own,
                entry,
                f.code.0,
                args.len(),
                #[inline(always)]
                |i| args.get_unchecked(i).bits(),
                f.plan.extra,
            )
        };
        // SAFETY: the return slot's size was checked above.
        return Ok(unsafe { decode(f, regs, ret) });
    }
    // Out of line and returning in two registers: with calls returning `Result<Value>`
    // through memory here, LLVM merged them with the value above in a stack slot that the
    // caller then copied with one 16-byte load of two 8-byte stores (a store-forwarding
    // stall: the bench matrix's rust-dynamic asm noop measured 7.7 ns against 2.8 ns for the
    // native backend's same loop).
    // SAFETY: forwarded from this function's contract.
    match unsafe { call_off_site(f, args, ret, key) } {
        Ok(v) => Ok(v),
        Err(e) => Err(*e),
    }
}

/// [`call_by_key`] out of line, with the error boxed so that the result comes back in two
/// registers: [`Backend::call`]'s path on x86-64 where the args-form stub did not take the
/// call (no stub, a count or return slot that does not fit, or an argument its check
/// rejected).
///
/// # Safety
/// As [`Backend::call`].
#[cfg(target_arch = "x86_64")]
#[inline(never)]
pub(crate) unsafe fn call_unstubbed(
    f: &AsmFunction,
    args: &[Arg<'_>],
    ret: &mut [u8],
) -> std::result::Result<Value, Box<Error>> {
    // SAFETY: forwarded from this function's contract.
    unsafe { call_by_key(f, args, ret) }.map_err(Box::new)
}

/// [`Backend::call`] where the key-placed path does not take the call (`key` is the
/// arguments' [`ArgChecks::args_key`]): a short return slot, arguments whose key places them
/// but differs from the function's (an error named from the key alone), or a plan the key
/// does not place (`call_planned`). Out of line, with the error boxed so that the result
/// comes back in two registers: see `AsmBackend::call`.
///
/// # Safety
/// As [`Backend::call`].
#[inline(never)]
pub(crate) unsafe fn call_off_site(
    f: &AsmFunction,
    args: &[Arg<'_>],
    ret: &mut [u8],
    key: u64,
) -> std::result::Result<Value, Box<Error>> {
    if SitePlacement::of(key).is_some() {
        // The key places the arguments, but not for this function (or the return slot is
        // short): none of these paths reads `args` at an index the key does not give.
        if key != f.checks.key() {
            return Err(Box::new(key_mismatch_error(f, key)));
        }
        if f.site.is_some() {
            return Err(Box::new(ret_slot_error(f, f.ret_size, ret.len())));
        }
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { call_planned(f, args, ret) }.map_err(Box::new)
}

/// The error of arguments whose key differs from the function's, named from the key alone
/// ([`ArgChecks::mismatch_of_key`]): a buffer reads as `ptr` there.
#[cold]
#[inline(never)]
pub(crate) fn key_mismatch_error(f: &AsmFunction, key: u64) -> Error {
    match f.checks.mismatch_of_key(key) {
        Err(ArgsMismatch::Arg(i)) => {
            let got = ArgKind::from_tag(((key >> (4 * i)) & 0xf) as u8).unwrap_or(ArgKind::Ptr);
            arg_kind_error(&f.symbol, i, &f.signature.args()[i], got)
        }
        // (`Ok` cannot happen: equal counts and kinds have equal keys.)
        Err(ArgsMismatch::Count) | Ok(()) => count_error(f, (key >> 60) as usize),
    }
}
