//! `callback/{shape}/{impl}`: the cost of C calling back into Rust, for three shapes —
//! `i64x2` (`int64_t (*)(int64_t, int64_t)`), `f64x3` (`double (*)(double, double, double)`)
//! and `s16` (a 16-byte struct `{int64_t, int64_t}` in and out) — through
//! - `extern_c`: a plain Rust `extern "C" fn` (the floor: what a hand-written callback costs),
//! - `closure`: an ffikit [`Closure`] built from the signature text,
//! - `closure-typed`: an ffikit [`Closure::typed`] (arguments lifted straight into a tuple;
//!   scalar shapes only),
//! - `libffi`: the libffi crate's `middle::Closure` (libffi's own trampoline and dispatch).
//!
//! Each iteration is one call of a C loop in the ABI fixture (`ffx_cb_loop_*`) that calls the
//! function pointer [`CALLS`] times, so the time per callback is the reported time / 1000
//! (criterion's throughput line shows calls per second). Every variant's result is checked
//! against the `extern_c` one.

use std::ffi::c_void;
use std::hint::black_box;

use backend_asm::Closure;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ffi_trait::SharedLibrary;
use ffikit_test_support::{abi_corpus, fn_at};
use libffi::low::ffi_cif;
use libffi::middle::{Cif, Closure as FfiClosure, Type as FfiType};

/// Callbacks per iteration.
const CALLS: i64 = 1000;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct S16 {
    a: i64,
    b: i64,
}

/// The fixture's C loops, which call their callback `n` times.
struct Loops {
    i64x2: extern "C" fn(extern "C" fn(i64, i64) -> i64, i64) -> i64,
    f64x3: extern "C" fn(extern "C" fn(f64, f64, f64) -> f64, i64) -> f64,
    s16: extern "C" fn(extern "C" fn(S16) -> S16, i64) -> i64,
    _lib: SharedLibrary,
}

impl Loops {
    fn open() -> Loops {
        // SAFETY: the fixture library has no initialisers beyond libc's.
        let lib = unsafe { SharedLibrary::open(abi_corpus::fixture()) }.unwrap();
        let at = |name: &str| lib.symbol_address(name).unwrap();
        // SAFETY: the fixture defines each loop with exactly these C signatures
        // (test-support's src/abi_corpus/handwritten.c).
        unsafe {
            Loops {
                i64x2: fn_at(at("ffx_cb_loop_i64")),
                f64x3: fn_at(at("ffx_cb_loop_f64")),
                s16: fn_at(at("ffx_cb_loop_s16")),
                _lib: lib.clone(),
            }
        }
    }
}

fn i64x2(a: i64, b: i64) -> i64 {
    (a ^ b) & 0xffff
}
fn f64x3(x: f64, acc: f64, k: f64) -> f64 {
    x * k - acc * 1e-3
}
fn s16(s: S16) -> S16 {
    S16 { a: s.b, b: s.a + 1 }
}

extern "C" fn extern_i64x2(a: i64, b: i64) -> i64 {
    i64x2(a, b)
}
extern "C" fn extern_f64x3(x: f64, acc: f64, k: f64) -> f64 {
    f64x3(x, acc, k)
}
extern "C" fn extern_s16(s: S16) -> S16 {
    s16(s)
}

unsafe extern "C" fn ffi_i64x2(_: &ffi_cif, ret: &mut i64, args: *const *const c_void, _: &()) {
    // SAFETY: libffi passes pointers to the two int64_t arguments of the cif.
    unsafe { *ret = i64x2(*(*args).cast(), *(*args.add(1)).cast()) }
}
unsafe extern "C" fn ffi_f64x3(_: &ffi_cif, ret: &mut f64, args: *const *const c_void, _: &()) {
    // SAFETY: libffi passes pointers to the three double arguments of the cif.
    unsafe {
        *ret = f64x3(
            *(*args).cast(),
            *(*args.add(1)).cast(),
            *(*args.add(2)).cast(),
        )
    }
}
unsafe extern "C" fn ffi_s16(_: &ffi_cif, ret: &mut S16, args: *const *const c_void, _: &()) {
    // SAFETY: libffi passes a pointer to the struct argument of the cif.
    unsafe { *ret = s16(*(*args).cast()) }
}

fn benches(c: &mut Criterion) {
    let loops = Loops::open();
    let mut g = c.benchmark_group("callback");
    g.throughput(Throughput::Elements(CALLS as u64));
    let s16_ffi = || FfiType::structure([FfiType::i64(), FfiType::i64()]);

    // --- i64x2
    {
        let closure = Closure::new(&"i64(i64, i64)".parse().unwrap(), |a, r| {
            r.set(i64x2(a.get(0), a.get(1)))
        })
        .unwrap();
        let typed = Closure::typed(|(a, b): (i64, i64)| i64x2(a, b)).unwrap();
        let cif = Cif::new([FfiType::i64(), FfiType::i64()], FfiType::i64());
        let ffi = FfiClosure::new(cif, ffi_i64x2, &());
        // SAFETY: each code pointer has the signature `int64_t (*)(int64_t, int64_t)`.
        let (via_closure, via_ffi): (
            extern "C" fn(i64, i64) -> i64,
            extern "C" fn(i64, i64) -> i64,
        ) = unsafe {
            (
                fn_at(closure.code()),
                fn_at(*ffi.code_ptr() as *const c_void),
            )
        };
        let want = (loops.i64x2)(extern_i64x2, CALLS);
        // SAFETY: as above.
        let via_typed: extern "C" fn(i64, i64) -> i64 = unsafe { fn_at(typed.code()) };
        for (name, f) in [
            ("extern_c", extern_i64x2 as extern "C" fn(i64, i64) -> i64),
            ("closure", via_closure),
            ("closure-typed", via_typed),
            ("libffi", via_ffi),
        ] {
            let mut got = 0;
            g.bench_function(format!("i64x2/{name}"), |b| {
                b.iter(|| got = (loops.i64x2)(black_box(f), CALLS))
            });
            assert_eq!(got, want, "i64x2/{name}");
        }
    }

    // --- f64x3
    {
        let closure = Closure::new(&"f64(f64, f64, f64)".parse().unwrap(), |a, r| {
            r.set(f64x3(a.get(0), a.get(1), a.get(2)))
        })
        .unwrap();
        let typed = Closure::typed(|(x, acc, k): (f64, f64, f64)| f64x3(x, acc, k)).unwrap();
        let cif = Cif::new(
            [FfiType::f64(), FfiType::f64(), FfiType::f64()],
            FfiType::f64(),
        );
        let ffi = FfiClosure::new(cif, ffi_f64x3, &());
        type F = extern "C" fn(f64, f64, f64) -> f64;
        // SAFETY: each code pointer has the signature `double (*)(double, double, double)`.
        let (via_closure, via_ffi): (F, F) = unsafe {
            (
                fn_at(closure.code()),
                fn_at(*ffi.code_ptr() as *const c_void),
            )
        };
        let want = (loops.f64x3)(extern_f64x3, CALLS);
        // SAFETY: as above.
        let via_typed: F = unsafe { fn_at(typed.code()) };
        for (name, f) in [
            ("extern_c", extern_f64x3 as F),
            ("closure", via_closure),
            ("closure-typed", via_typed),
            ("libffi", via_ffi),
        ] {
            let mut got = 0.0;
            g.bench_function(format!("f64x3/{name}"), |b| {
                b.iter(|| got = (loops.f64x3)(black_box(f), CALLS))
            });
            assert_eq!(got, want, "f64x3/{name}");
        }
    }

    // --- s16
    {
        let closure = Closure::new(&"{i64, i64}({i64, i64})".parse().unwrap(), |a, r| {
            // SAFETY: the argument is a `{i64, i64}`, laid out as S16.
            let s = unsafe { a.ptr(0).cast::<S16>().read_unaligned() };
            let out = s16(s);
            // SAFETY: the return slot holds a `{i64, i64}`.
            unsafe { r.as_mut_ptr().cast::<S16>().write_unaligned(out) };
        })
        .unwrap();
        let cif = Cif::new([s16_ffi()], s16_ffi());
        let ffi = FfiClosure::new(cif, ffi_s16, &());
        type F = extern "C" fn(S16) -> S16;
        // SAFETY: each code pointer has the signature `S16 (*)(S16)`.
        let (via_closure, via_ffi): (F, F) = unsafe {
            (
                fn_at(closure.code()),
                fn_at(*ffi.code_ptr() as *const c_void),
            )
        };
        let want = (loops.s16)(extern_s16, CALLS);
        for (name, f) in [
            ("extern_c", extern_s16 as F),
            ("closure", via_closure),
            ("libffi", via_ffi),
        ] {
            let mut got = 0;
            g.bench_function(format!("s16/{name}"), |b| {
                b.iter(|| got = (loops.s16)(black_box(f), CALLS))
            });
            assert_eq!(got, want, "s16/{name}");
        }
    }
    g.finish();
}

criterion_group!(callback, benches);
criterion_main!(callback);
