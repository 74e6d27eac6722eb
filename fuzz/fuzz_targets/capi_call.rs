//! The C API's prepare and call validation on random signature text and argument lists.
//!
//! Every signature is prepared against the kernels' `ffikit_noop` (`void ffikit_noop(void)`),
//! which reads no argument and writes no result, so that any signature can be called
//! soundly: the caller puts its arguments where the plan says and the callee ignores them.
//! Input: byte 0 picks the backend (native, asm), byte 1 how `nargs` relates to the
//! signature's count, bytes 2..10 which argument pointers are NULL, byte 10 whether `args`,
//! `ret` or argument pointers are NULL; the rest is the signature text.
//!
//! It checks that prepare never accepts what the parser refuses, and that a call succeeds
//! exactly when its count and pointers are valid, with `ARGUMENT_COUNT` or `NULL_ARGUMENT`
//! otherwise (never a crash: the compiled call stubs and the Rust routines alike).

#![no_main]

use std::ffi::{CString, c_void};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

use ffi_trait::{Signature, Type};
use ffikit_capi::context::{ffikit_context, ffikit_context_new};
use ffikit_capi::dynamic::{
    ffikit_call, ffikit_function, ffikit_function_free, ffikit_library, ffikit_library_open,
    ffikit_prepare,
};
use ffikit_capi::status::ffikit_status as S;
use libfuzzer_sys::fuzz_target;

/// Bytes every argument pointer and the return slot point at (larger values are skipped).
const SLOT: usize = 4096;

/// A context per backend and the kernels library opened in it.
struct Setup {
    ctx: [*mut ffikit_context; 2],
    lib: [*mut ffikit_library; 2],
}

// SAFETY: the fuzzer runs inputs on one thread; the handles are only used there.
unsafe impl Send for Setup {}
// SAFETY: as above.
unsafe impl Sync for Setup {}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let kernels = ffikit::locate::kernels_for(ffi_trait::PointerKind::Host)
            .expect("the kernels library (cargo xtask build, or FFIKIT_KERNELS_LIB)");
        let path = CString::new(kernels.to_str().unwrap()).unwrap();
        let mut s = Setup {
            ctx: [null_mut(); 2],
            lib: [null_mut(); 2],
        };
        for (i, name) in [c"native", c"asm"].iter().enumerate() {
            // SAFETY: valid C strings and out-pointers.
            unsafe {
                assert_eq!(
                    ffikit_context_new(name.as_ptr(), &mut s.ctx[i]),
                    S::FFIKIT_STATUS_OK
                );
                assert_eq!(
                    ffikit_library_open(s.ctx[i], path.as_ptr(), &mut s.lib[i]),
                    S::FFIKIT_STATUS_OK
                );
            }
        }
        s
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 11 {
        return;
    }
    let Ok(text) = std::str::from_utf8(&data[11..]) else {
        return;
    };
    let Ok(c_text) = CString::new(text) else {
        return;
    };
    let s = setup();
    let b = usize::from(data[0] & 1);
    let mut f: *mut ffikit_function = null_mut();
    // SAFETY: live context and library, C strings, an out-pointer.
    let st = unsafe {
        ffikit_prepare(
            s.ctx[b],
            s.lib[b],
            c"ffikit_noop".as_ptr(),
            c_text.as_ptr(),
            &mut f,
        )
    };
    let parsed = text.parse::<Signature>();
    if st != S::FFIKIT_STATUS_OK {
        assert!(f.is_null(), "a failed prepare handed out a function");
        return;
    }
    let sig =
        parsed.unwrap_or_else(|e| panic!("prepare accepted `{text}`, which does not parse: {e}"));
    let too_big = sig.ret().size() > SLOT || sig.args().iter().any(|a| a.size() > SLOT);
    if !too_big {
        call(s.ctx[b], f, &sig, data);
    }
    // SAFETY: made by this prepare, freed once.
    unsafe { ffikit_function_free(f) };
});

/// One call of `f` (prepared with `sig`) with the count and NULL pointers `data` asks for.
fn call(ctx: *mut ffikit_context, f: *mut ffikit_function, sig: &Signature, data: &[u8]) {
    let n = sig.args().len();
    let nargs = match data[1] % 4 {
        0 | 1 => n,
        2 => n + 1 + usize::from(data[1] >> 4),
        _ => usize::from(data[1] >> 2) % (n + 1),
    };
    let mask = u64::from_le_bytes(data[2..10].try_into().unwrap());
    let flags = data[10];
    let (null_args, null_ret, null_some) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
    let mut values = vec![0u8; SLOT];
    let mut ret = vec![0u8; SLOT];
    let ptrs: Vec<*mut c_void> = (0..nargs.max(n))
        .map(|i| {
            if null_some && (mask >> (i % 64)) & 1 == 1 {
                null_mut()
            } else {
                values.as_mut_ptr().cast()
            }
        })
        .collect();
    let args = if null_args { null() } else { ptrs.as_ptr() };
    let ret_ptr = if null_ret {
        null_mut()
    } else {
        ret.as_mut_ptr().cast()
    };
    let returns = !matches!(sig.ret(), Type::Void);
    let count_ok = nargs == n;
    let pointers_ok = (n == 0 || (!null_args && ptrs[..n].iter().all(|p| !p.is_null())))
        && (!returns || !null_ret);
    // SAFETY: `args` is NULL or holds at least `nargs` pointers, each NULL or at `SLOT`
    // readable bytes (every argument is at most that); `ret` NULL or `SLOT` writable bytes;
    // the callee reads and writes nothing.
    let st = unsafe { ffikit_call(ctx, f, args, nargs, ret_ptr) };
    let want = if !count_ok {
        S::FFIKIT_STATUS_ARGUMENT_COUNT
    } else if !pointers_ok {
        S::FFIKIT_STATUS_NULL_ARGUMENT
    } else {
        S::FFIKIT_STATUS_OK
    };
    assert_eq!(
        st, want,
        "`{sig}` with nargs {nargs} (of {n}), args NULL {null_args}, ret NULL {null_ret}, \
         NULL mask {mask:#x} (applied: {null_some})"
    );
}
