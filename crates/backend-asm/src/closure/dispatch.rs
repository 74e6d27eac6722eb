//! A closure call from C: the architecture's entry saved the incoming registers, and
//! [`dispatch`] finds each argument's bytes, runs the Rust handler under a panic boundary
//! and encodes the return registers.

use std::any::Any;
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ffi_trait::{ArgKind, panic_message};

use super::*;

/// Called by the architecture's entry for every closure call.
///
/// # Safety
/// `data` is a stub's data pointer (a live `ClosureData`, or null for a freed stub);
/// `regs` the entry's saved registers; `stack` the caller's stack arguments; the call's
/// arguments match the closure's signature.
pub(crate) unsafe extern "C" fn dispatch(
    data: *const c_void,
    regs: *mut Incoming,
    stack: *const u8,
) {
    if data.is_null() {
        freed_closure_called();
    }
    // SAFETY: a non-null data pointer is a live ClosureData (the contract above).
    let data = unsafe { &*data.cast::<ClosureData>() };
    let base = regs.cast::<u8>().cast_const();
    let mut ret_words = [0u64; 4];
    match &data.handler {
        Handler::Typed(h) => {
            // Typed signatures are scalars only, so every argument is read in place
            // (`build` checks it).
            let places = data.direct.as_deref().unwrap_or_default();
            let ret = ret_words.as_mut_ptr().cast::<u8>();
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| h(places, base, stack, ret))) {
                panicked(data, payload, ret);
            }
            // SAFETY: `regs` is the entry's Incoming, exclusively ours until we return.
            encode_return(data, unsafe { &mut (*regs).ret }, &ret_words, ret);
        }
        Handler::Generic(h) => {
            // SAFETY: forwarded from this function's contract.
            let ret = unsafe { call_generic(data, h, base, stack, &mut ret_words) };
            // SAFETY: as above.
            encode_return(data, unsafe { &mut (*regs).ret }, &ret_words, ret);
        }
    }
}

/// Runs a [`Handler::Generic`]: gathers the argument pointers, calls it with the return
/// slot (`ret_words`, or the caller's sret memory), and returns the slot used.
///
/// # Safety
/// As [`dispatch`]: `base` is the entry's saved registers, `stack` the caller's stack
/// arguments, for a call that matches `data`'s signature.
#[inline(always)]
unsafe fn call_generic(
    data: &ClosureData,
    handler: &GenericHandler,
    base: *const u8,
    stack: *const u8,
    ret_words: &mut [u64; 4],
) -> *mut u8 {
    let n = data.sources.len();
    let mut ptrs = [MaybeUninit::<*const u8>::uninit(); MAX_CLOSURE_ARGS];
    let mut scratch = [MaybeUninit::<u64>::uninit(); SCRATCH_WORDS];
    if let Some(places) = &data.direct {
        // Every argument is read in place: one address computation each.
        for (slot, place) in ptrs.iter_mut().zip(places.iter()) {
            slot.write(place.at(base, stack));
        }
    } else {
        gather(data, base, stack, &mut ptrs, &mut scratch);
    }
    // SAFETY: the first `n` pointers were written above.
    let ptrs = unsafe { std::slice::from_raw_parts(ptrs.as_ptr().cast::<*const u8>(), n) };
    let ret_ptr = match data.ret {
        RetPlan::Indirect { .. } => {
            let at = if data.sret_in_gp0 {
                offset_of!(Incoming, gp)
            } else {
                offset_of!(Incoming, extra)
            };
            // SAFETY: the hidden sret pointer is in the saved gp[0] or x8.
            unsafe { base.add(at).cast::<*mut u8>().read() }
        }
        _ => ret_words.as_mut_ptr().cast::<u8>(),
    };
    let args = ClosureArgs {
        ptrs,
        kinds: &data.kinds,
        signature: &data.signature,
    };
    let mut slot = ReturnSlot {
        ptr: ret_ptr,
        kind: data.ret_kind,
        ty: data.signature.ret(),
    };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(&args, &mut slot))) {
        panicked(data, payload, ret_ptr);
    }
    ret_ptr
}

/// Puts the handler's return value where the caller reads it: `out` is `Incoming::ret`
/// (the return registers the entry loads), `ret_words` the return slot for register
/// returns, `ret_ptr` the slot actually used (the sret memory for an indirect return).
#[inline(always)]
fn encode_return(data: &ClosureData, out: &mut [u64; 6], ret_words: &[u64; 4], ret_ptr: *mut u8) {
    match &data.ret {
        RetPlan::Void => {}
        RetPlan::Int => out[0] = extend(data.ret_kind, ret_words[0]),
        RetPlan::Float => out[2] = ret_words[0],
        RetPlan::Pieces { pieces, .. } => {
            for p in pieces.iter() {
                // SAFETY: the pieces lie within the return struct in `ret_words`.
                out[p.reg as usize] =
                    unsafe { crate::entry::read_le(ret_ptr.add(p.offset as usize), p.len) };
            }
        }
        // The System V callee returns the sret address in rax (psABI §3.2.3); AAPCS64 does
        // not require it, and x0 is free then.
        RetPlan::Indirect { .. } => out[0] = ret_ptr as usize as u64,
    }
}

/// Finds every argument of a closure whose plan has struct pieces, promoted floats or
/// by-reference copies: pointers into `ptrs`, reassembled values into `scratch`.
#[inline(never)]
fn gather(
    data: &ClosureData,
    base: *const u8,
    stack: *const u8,
    ptrs: &mut [MaybeUninit<*const u8>; MAX_CLOSURE_ARGS],
    scratch: &mut [MaybeUninit<u64>; SCRATCH_WORDS],
) {
    for w in &mut scratch[..data.scratch_words as usize] {
        w.write(0);
    }
    let scratch = scratch.as_mut_ptr().cast::<u8>();
    for (slot, src) in ptrs.iter_mut().zip(data.sources.iter()) {
        let p = match src {
            Source::At(place) => place.at(base, stack),
            Source::Promoted { at, word } => {
                // SAFETY: the place holds the promoted double (8 readable bytes); the scratch
                // word is ours.
                unsafe {
                    let d = at.at(base, stack).cast::<f64>().read_unaligned();
                    let dst = scratch.add(*word as usize * 8);
                    dst.cast::<f32>().write(d as f32);
                    dst.cast_const()
                }
            }
            Source::Assemble { word, pieces } => {
                let dst = scratch.wrapping_add(*word as usize * 8);
                for p in pieces.iter() {
                    let from = Place::of(p.loc).at(base, stack);
                    // SAFETY: a saved register or stack word is 8 readable bytes; its low
                    // `len` bytes go into the struct's scratch words (sized from the struct
                    // at creation).
                    unsafe {
                        let word = from.cast::<u64>().read_unaligned();
                        crate::entry::write_le(dst.add(p.offset as usize), p.len, word);
                    }
                }
                dst.cast_const()
            }
            // SAFETY: the place holds the address of the caller's copy.
            Source::Indirect(at) => unsafe { at.at(base, stack).cast::<*const u8>().read() },
        };
        slot.write(p);
    }
}

/// A scalar return's register image: extended to 64 bits by its signedness (System V and
/// AAPCS64 leave the upper bits unspecified, but C compilers differ in what they assume;
/// extending satisfies all of them).
fn extend(kind: Option<ArgKind>, bits: u64) -> u64 {
    match kind {
        Some(ArgKind::Bool) => (bits as u8 != 0) as u64,
        Some(ArgKind::I8) => bits as i8 as i64 as u64,
        Some(ArgKind::U8) => bits as u8 as u64,
        Some(ArgKind::I16) => bits as i16 as i64 as u64,
        Some(ArgKind::U16) => bits as u16 as u64,
        Some(ArgKind::I32) => bits as i32 as i64 as u64,
        Some(ArgKind::U32) => bits as u32 as u64,
        _ => bits,
    }
}

/// The handler panicked: write the fallback return, or abort.
#[cold]
fn panicked(data: &ClosureData, payload: Box<dyn Any + Send>, ret: *mut u8) {
    if let Some(fallback) = &data.panic_return {
        // SAFETY: the return slot holds the return type's size, which `fallback` has exactly.
        unsafe { std::ptr::copy_nonoverlapping(fallback.as_ptr(), ret, fallback.len()) };
        return;
    }
    let message = panic_message(&*payload);
    eprintln!(
        "ffikit: a closure `{}` panicked: {message}; aborting, since a panic must not unwind \
         into the C code that called it (use Closure::with_panic_return to return a value \
         instead)",
        data.signature
    );
    std::process::abort();
}

#[cold]
fn freed_closure_called() -> ! {
    eprintln!(
        "ffikit: a freed closure was called (its C function pointer was used after the \
         Closure was dropped); aborting"
    );
    std::process::abort();
}
