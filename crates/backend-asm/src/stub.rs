//! Compiled call stubs: the raw entry (`ffikit_call`'s convention) of one call plan as
//! straight-line machine code, made once per distinct plan and shared by every function that
//! has it.
//!
//! The Rust raw routines (`crate::call::raw_call`, `raw_inline_call`) read each argument
//! through its kind or the plan's loads; a stub has them as instructions of the right width,
//! so a call through it costs the loads, the `call`, and the return's store: what a C
//! compiler would emit for a call through a typed function pointer, plus one test per
//! pointer. The encoder is per architecture (`crate::arch::emit_call_stub`); a plan it does
//! not take, or a target it does not cover yet (AArch64), keeps the Rust routine.
//!
//! # Memory
//! A stub's bytes do not hold the function's address (the stub takes it as an argument), so
//! two functions with the same plan share one stub: the number of stubs follows the distinct
//! signatures a process prepares, not the functions. Each stub gets its own mapping, written
//! while read+write and then `mprotect`ed to read+execute before anyone can call it (code is
//! never writable and executable at once, as for closures); stubs are never unmapped. At most
//! [`MAX_STUBS`] are made (a page each); past that, and wherever the system refuses
//! executable memory, the Rust routines make the calls.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Mutex;

use ffi_trait::{ArgCheck, Type};

use crate::abi::plan::Plan;

/// A raw call routine ([`ffi_trait::raw::RawRoutine`]): `(data, argument pointers, return
/// slot) -> 0, or the first missing pointer's code`. `data` is the routine's own (a compiled
/// stub's is the function's address, a Rust routine's the function).
pub(crate) use ffi_trait::raw::RawRoutine;

/// What a stub reads and returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum StubForm {
    /// The raw convention (`ffikit_call`, libffi): `uint32_t stub(code, void *const *args,
    /// void *ret)`, each argument read through its pointer with its type's width, the return
    /// written to `ret`, pointers checked (see the module's documentation).
    #[default]
    Raw,
    /// The Rust convention: `StubReturn stub(code, const Arg *args, uint8_t *ret)`, `args`
    /// an array of 16-byte [`ffi_trait::Arg`]s, one per parameter (the caller checked the
    /// count): a scalar's 64-bit register image at `args[k]`'s offset 0 (sign- or
    /// zero-extended as its kind says), a struct's bytes at the address there, the header
    /// word at offset 8. The stub first compares every argument's header's low 32 bits with
    /// its parameter's [`ffi_trait::ArgCheck::header`] and, at the first that differs,
    /// returns `fault = 1` with nothing called. Otherwise it makes the call and returns
    /// `fault = 0` with the scalar return's register image in `bits` (`rax`, or `xmm0`'s low
    /// 64 bits), having written a struct return into `ret` (which the caller sized).
    Args,
}

/// What an args-form stub returns ([`StubForm::Args`]): two eightbytes of class INTEGER, so
/// in `rax:rdx` (System V psABI 1.0 §3.2.3), and so in two registers at the Rust caller.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct StubReturn {
    /// The scalar return's register image (undefined for `void` and struct returns).
    pub(crate) bits: u64,
    /// 0 after the call; 1 when an argument's header did not pass its check (nothing was
    /// called).
    pub(crate) fault: u64,
}

/// A compiled stub of the args form ([`StubForm::Args`]): `(function, arguments, return
/// slot) -> the scalar return's register image and whether the checks failed`.
pub(crate) type ArgsStub =
    unsafe extern "C" fn(*const c_void, *const ffi_trait::Arg<'_>, *mut u8) -> StubReturn;

/// The most stubs one process makes (one page each, so at most 16 MiB with 4 KiB pages):
/// 2,048 distinct signatures, each in both forms.
pub(crate) const MAX_STUBS: usize = 4096;

/// Every stub made, by its bytes.
static STUBS: Mutex<Option<HashMap<Box<[u8]>, usize>>> = Mutex::new(None);

/// The compiled raw-form stub of `plan` (a function returning `ret`, variadic or not): made
/// on first use, then shared; `None` where the encoder does not take the plan, [`MAX_STUBS`]
/// are made, or executable memory is refused.
pub(crate) fn for_plan(plan: &Plan, ret: &Type, variadic: bool) -> Option<RawRoutine> {
    let addr = compiled(plan, ret, variadic, StubForm::Raw, &[])?;
    // SAFETY: `addr` holds, read+execute, a raw-form stub made by `emit_call_stub`, whose
    // contract is `RawRoutine`'s with `data` the function's address (the arch module's
    // documentation).
    Some(unsafe { std::mem::transmute::<usize, RawRoutine>(addr) })
}

/// The compiled args-form stub of `plan` ([`StubForm::Args`]) checking its arguments with
/// `checks` (one per parameter); `None` as for [`for_plan`].
pub(crate) fn args_stub_for_plan(
    plan: &Plan,
    ret: &Type,
    variadic: bool,
    checks: &[ArgCheck],
) -> Option<ArgsStub> {
    let addr = compiled(plan, ret, variadic, StubForm::Args, checks)?;
    // SAFETY: `addr` holds, read+execute, an args-form stub made by `emit_call_stub`, whose
    // contract is `ArgsStub`'s (the arch module's documentation).
    Some(unsafe { std::mem::transmute::<usize, ArgsStub>(addr) })
}

/// The address of the stub of `form` for `plan` (with `checks` for the args form), made or
/// found.
fn compiled(
    plan: &Plan,
    ret: &Type,
    variadic: bool,
    form: StubForm,
    checks: &[ArgCheck],
) -> Option<usize> {
    let code = crate::arch::emit_call_stub(plan, ret, variadic, form, checks)?;
    let mut stubs = STUBS.lock().unwrap_or_else(|p| p.into_inner());
    let stubs = stubs.get_or_insert_with(HashMap::new);
    let addr = match stubs.get(code.as_slice()) {
        Some(&addr) => addr,
        None if stubs.len() >= MAX_STUBS => return None,
        None => {
            let addr = map_code(&code)?;
            stubs.insert(code.into_boxed_slice(), addr);
            addr
        }
    };
    Some(addr)
}

/// How many stubs are made (for tests of the sharing promise and of the cap).
pub(crate) fn made() -> usize {
    STUBS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map_or(0, HashMap::len)
}

/// Maps `code` read+execute at an address of its own; `None` when mapping or `mprotect`
/// fails.
fn map_code(code: &[u8]) -> Option<usize> {
    let page = crate::closure::pages::page_size();
    let len = code.len().div_ceil(page) * page;
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
    // existing memory.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: `base .. base + len` is our own fresh writable mapping and `code.len() <= len`.
    unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), base.cast::<u8>(), code.len()) };
    crate::arch::flush_icache(base.cast(), code.len());
    // SAFETY: `base` is the start of our own page-aligned mapping of `len` bytes.
    if unsafe { libc::mprotect(base, len, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        // SAFETY: unmapping the mapping made above, which nothing else has seen.
        unsafe { libc::munmap(base, len) };
        return None;
    }
    Some(base as usize)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::abi::target_plan;
    use ffi_trait::Signature;

    fn stub_of(text: &str) -> Option<RawRoutine> {
        let sig: Signature = text.parse().unwrap();
        for_plan(&target_plan(&sig).unwrap(), sig.ret(), sig.is_variadic())
    }

    /// Functions with the same plan share one stub; another plan gets another.
    #[test]
    fn one_stub_per_plan() {
        let a = stub_of("i32(i32, i32)").expect("a stub");
        let before = made();
        let b = stub_of("i32(i32, i32)").expect("a stub");
        assert_eq!(a as usize, b as usize);
        assert_eq!(made(), before, "no new stub for a plan already compiled");
        let c = stub_of("i64(i32, i32)").expect("a stub");
        assert_ne!(
            a as usize, c as usize,
            "another return widening, another stub"
        );
        let d = stub_of("f64(f64, ...)").expect("a stub");
        let e = stub_of("f64(f64)").expect("a stub");
        assert_ne!(d as usize, e as usize, "a variadic call sets al");
    }
}
