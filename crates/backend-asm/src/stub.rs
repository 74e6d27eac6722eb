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
use std::sync::Mutex;

use ffi_trait::Type;

use crate::abi::plan::Plan;

/// A raw call routine ([`ffi_trait::raw::RawRoutine`]): `(data, argument pointers, return
/// slot) -> 0, or the first missing pointer's code`. `data` is the routine's own (a compiled
/// stub's is the function's address, a Rust routine's the function).
pub(crate) use ffi_trait::raw::RawRoutine;

/// The most stubs one process makes (one page each, so at most 4 MiB with 4 KiB pages).
pub(crate) const MAX_STUBS: usize = 1024;

/// Every stub made, by its bytes.
static STUBS: Mutex<Option<HashMap<Box<[u8]>, usize>>> = Mutex::new(None);

/// The compiled stub of `plan` (a function returning `ret`, variadic or not): made on first
/// use, then shared; `None` where the encoder does not take the plan, [`MAX_STUBS`] are made,
/// or executable memory is refused.
pub(crate) fn for_plan(plan: &Plan, ret: &Type, variadic: bool) -> Option<RawRoutine> {
    let code = crate::arch::emit_call_stub(plan, ret, variadic)?;
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
    // SAFETY: `addr` holds, read+execute, a stub made by `emit_call_stub`, whose contract is
    // `RawRoutine`'s with `data` the function's address (the arch module's documentation).
    Some(unsafe { std::mem::transmute::<usize, RawRoutine>(addr) })
}

/// How many stubs are made (for tests of the sharing promise).
#[cfg(all(test, target_arch = "x86_64"))]
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
