//! `asm/{shape}/{typed|dynamic}` beside the native typed call (`native/{shape}/typed`: a
//! plain Rust call through a function pointer of the right type) and beside the libffi
//! crate's middle layer (`libffi/{shape}/call`, `Cif::call`), for the shapes of the issue:
//! `add(i32,i32)`, `dot(ptr,ptr,usize)`, `6xi64+8xf64`, `8xi64` (two on the stack on x86-64),
//! and a 16-byte struct argument and return. Every bench checks its result after the loop.

use std::ffi::c_void;
use std::hint::black_box;
use std::path::Path;

use backend_asm::AsmBackend;
use criterion::{Criterion, criterion_group, criterion_main};
use ffi_trait::{Arg, Backend, BufferArg, Source, Value};
use ffikit_kernels::locate::kernels_library;
use libffi::middle::{Cif, CodePtr, Type as FfiType, arg};

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct S16 {
    a: i64,
    b: i64,
}

fn benches(c: &mut Criterion) {
    let mut b = AsmBackend::new().unwrap();
    let fx = b
        .open(Source::Path(Path::new(env!("FFIKIT_ABI_FIXTURE"))))
        .unwrap();
    let kl = b.open(Source::Path(Path::new(&kernels_library()))).unwrap();
    let mut g = c.benchmark_group("asm-vs");

    // --- add(i32, i32)
    {
        let code = fx.symbol_address("ffx_add_i32").unwrap();
        // SAFETY: ffx_add_i32 is int32_t(int32_t, int32_t).
        let native: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(code) };
        let mut r = native(40, 2);
        g.bench_function("native/add/typed", |bn| {
            bn.iter(|| r = black_box(native)(black_box(40), black_box(2)))
        });
        assert_eq!(r, 42);
        // SAFETY: the fixture's signature.
        let typed = unsafe { b.prepare_typed::<(i32, i32), i32>(&fx, "ffx_add_i32") }.unwrap();
        g.bench_function("asm/add/typed", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                r = unsafe { b.call_typed(black_box(&typed), (black_box(40), black_box(2))) }
                    .unwrap()
            })
        });
        assert_eq!(r, 42);
        // SAFETY: the fixture's signature.
        let dynf =
            unsafe { b.prepare(&fx, "ffx_add_i32", &"i32(i32, i32)".parse().unwrap()) }.unwrap();
        let mut v = Value::Void;
        g.bench_function("asm/add/dynamic", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                v = unsafe {
                    b.call(
                        black_box(&dynf),
                        &[Arg::i32(black_box(40)), Arg::i32(black_box(2))],
                        &mut [],
                    )
                }
                .unwrap()
            })
        });
        // SAFETY: no pointers.
        v = unsafe { b.call(&dynf, &[Arg::i32(40), Arg::i32(2)], &mut []) }.unwrap();
        assert_eq!(v, Value::I32(42));
        let cif = Cif::new([FfiType::i32(), FfiType::i32()], FfiType::i32());
        let (x, y) = (40i32, 2i32);
        g.bench_function("libffi/add/call", |bn| {
            bn.iter(|| {
                // SAFETY: the CIF matches the function.
                r = unsafe {
                    cif.call::<i32>(
                        CodePtr(code as *mut c_void),
                        &[arg(black_box(&x)), arg(black_box(&y))],
                    )
                }
            })
        });
        assert_eq!(r, 42);
    }

    // --- dot(ptr, ptr, usize) over 4 f64 (call-bound)
    {
        let n = 4usize;
        let xb = b.alloc_stable_buffer(n * 8, 64).unwrap();
        // SAFETY: fresh buffer, no other view.
        unsafe { xb.as_mut_slice_of::<f64>() }
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = i as f64);
        let want: f64 = (0..n).map(|i| (i * i) as f64).sum();
        let code = kl.symbol_address("ffikit_dot_f64").unwrap();
        // SAFETY: f64(ptr, ptr, usize).
        let native: unsafe extern "C" fn(*const f64, *const f64, usize) -> f64 =
            unsafe { std::mem::transmute(code) };
        let p = xb.host_ptr() as *const f64;
        // SAFETY: the buffer holds n f64.
        let mut r = unsafe { native(p, p, n) };
        g.bench_function("native/dot/typed", |bn| {
            // SAFETY: as above.
            bn.iter(|| r = unsafe { black_box(native)(black_box(p), p, n) })
        });
        assert_eq!(r, want);
        // SAFETY: the kernel's signature.
        let typed =
            unsafe { b.prepare_typed::<(BufferArg, BufferArg, usize), f64>(&kl, "ffikit_dot_f64") }
                .unwrap();
        g.bench_function("asm/dot/typed", |bn| {
            bn.iter(|| {
                // SAFETY: the buffer holds n f64.
                r = unsafe { b.call_typed(black_box(&typed), (xb.arg(), xb.arg(), n)) }.unwrap()
            })
        });
        assert_eq!(r, want);
        // SAFETY: the kernel's signature.
        let dynf = unsafe {
            b.prepare(
                &kl,
                "ffikit_dot_f64",
                &"f64(ptr, ptr, usize)".parse().unwrap(),
            )
        }
        .unwrap();
        let mut v = Value::F64(r);
        g.bench_function("asm/dot/dynamic", |bn| {
            bn.iter(|| {
                // SAFETY: the buffer holds n f64.
                v = unsafe {
                    b.call(
                        black_box(&dynf),
                        &[Arg::buffer(xb), Arg::buffer(xb), Arg::usize(n)],
                        &mut [],
                    )
                }
                .unwrap()
            })
        });
        assert_eq!(v, Value::F64(want));
        let cif = Cif::new(
            [FfiType::pointer(), FfiType::pointer(), FfiType::usize()],
            FfiType::f64(),
        );
        g.bench_function("libffi/dot/call", |bn| {
            bn.iter(|| {
                // SAFETY: the CIF matches the kernel; the buffer holds n f64.
                r = unsafe {
                    cif.call::<f64>(
                        CodePtr(code as *mut c_void),
                        &[arg(black_box(&p)), arg(&p), arg(&n)],
                    )
                }
            })
        });
        assert_eq!(r, want);
    }

    // --- 6 x i64 + 8 x f64
    {
        let code = fx.symbol_address("ffx_6i64_8f64").unwrap();
        type F14 = extern "C" fn(
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            f64,
            f64,
            f64,
            f64,
            f64,
            f64,
            f64,
            f64,
        ) -> i64;
        // SAFETY: the fixture's signature.
        let native: F14 = unsafe { std::mem::transmute(code) };
        let mut r = native(1, 2, 3, 4, 5, 6, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0);
        g.bench_function("native/6i64_8f64/typed", |bn| {
            bn.iter(|| {
                r = black_box(native)(
                    black_box(1),
                    2,
                    3,
                    4,
                    5,
                    6,
                    black_box(1.0),
                    2.0,
                    3.0,
                    4.0,
                    5.0,
                    6.0,
                    7.0,
                    8.0,
                )
            })
        });
        assert_eq!(r, 57);
        #[rustfmt::skip]
        type P14 = (i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64);
        // SAFETY: the fixture's signature.
        let typed = unsafe { b.prepare_typed::<P14, i64>(&fx, "ffx_6i64_8f64") }.unwrap();
        g.bench_function("asm/6i64_8f64/typed", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                r = unsafe {
                    b.call_typed(
                        black_box(&typed),
                        (
                            black_box(1),
                            2,
                            3,
                            4,
                            5,
                            6,
                            black_box(1.0),
                            2.0,
                            3.0,
                            4.0,
                            5.0,
                            6.0,
                            7.0,
                            8.0,
                        ),
                    )
                }
                .unwrap()
            })
        });
        assert_eq!(r, 57);
        let text = "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)";
        // SAFETY: the fixture's signature.
        let dynf = unsafe { b.prepare(&fx, "ffx_6i64_8f64", &text.parse().unwrap()) }.unwrap();
        let mut v = Value::Void;
        g.bench_function("asm/6i64_8f64/dynamic", |bn| {
            bn.iter(|| {
                let args = [
                    Arg::i64(black_box(1)),
                    Arg::i64(2),
                    Arg::i64(3),
                    Arg::i64(4),
                    Arg::i64(5),
                    Arg::i64(6),
                    Arg::f64(black_box(1.0)),
                    Arg::f64(2.0),
                    Arg::f64(3.0),
                    Arg::f64(4.0),
                    Arg::f64(5.0),
                    Arg::f64(6.0),
                    Arg::f64(7.0),
                    Arg::f64(8.0),
                ];
                // SAFETY: no pointers.
                v = unsafe { b.call(black_box(&dynf), &args, &mut []) }.unwrap()
            })
        });
        // SAFETY: no pointers.
        let check = unsafe {
            let args: Vec<Arg> = (1..=6)
                .map(Arg::i64)
                .chain((1..=8).map(|i| Arg::f64(i as f64)))
                .collect();
            b.call(&dynf, &args, &mut []).unwrap()
        };
        assert_eq!(check, Value::I64(57));
        let _ = v;
        let mut types = vec![FfiType::i64(); 6];
        types.extend(vec![FfiType::f64(); 8]);
        let cif = Cif::new(types, FfiType::i64());
        let ints = [1i64, 2, 3, 4, 5, 6];
        let floats = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        g.bench_function("libffi/6i64_8f64/call", |bn| {
            bn.iter(|| {
                let a = [
                    arg(black_box(&ints[0])),
                    arg(&ints[1]),
                    arg(&ints[2]),
                    arg(&ints[3]),
                    arg(&ints[4]),
                    arg(&ints[5]),
                    arg(&floats[0]),
                    arg(&floats[1]),
                    arg(&floats[2]),
                    arg(&floats[3]),
                    arg(&floats[4]),
                    arg(&floats[5]),
                    arg(&floats[6]),
                    arg(&floats[7]),
                ];
                // SAFETY: the CIF matches the function.
                r = unsafe { cif.call::<i64>(CodePtr(code as *mut c_void), &a) }
            })
        });
        assert_eq!(r, 57);
    }

    // --- 8 x i64 (two on the stack on x86-64)
    {
        let code = fx.symbol_address("ffx_8i64").unwrap();
        type F8 = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64) -> i64;
        // SAFETY: the fixture's signature.
        let native: F8 = unsafe { std::mem::transmute(code) };
        let mut r = native(1, 2, 3, 4, 5, 6, 7, 8);
        g.bench_function("native/8i64/typed", |bn| {
            bn.iter(|| r = black_box(native)(black_box(1), 2, 3, 4, 5, 6, 7, black_box(8)))
        });
        assert_eq!(r, 36);
        // SAFETY: the fixture's signature.
        let typed = unsafe {
            b.prepare_typed::<(i64, i64, i64, i64, i64, i64, i64, i64), i64>(&fx, "ffx_8i64")
        }
        .unwrap();
        g.bench_function("asm/8i64/typed", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                r = unsafe {
                    b.call_typed(
                        black_box(&typed),
                        (black_box(1), 2, 3, 4, 5, 6, 7, black_box(8)),
                    )
                }
                .unwrap()
            })
        });
        assert_eq!(r, 36);
        // SAFETY: the fixture's signature.
        let dynf = unsafe {
            b.prepare(
                &fx,
                "ffx_8i64",
                &"i64(i64, i64, i64, i64, i64, i64, i64, i64)"
                    .parse()
                    .unwrap(),
            )
        }
        .unwrap();
        let mut v = Value::Void;
        g.bench_function("asm/8i64/dynamic", |bn| {
            bn.iter(|| {
                let args = [
                    Arg::i64(black_box(1)),
                    Arg::i64(2),
                    Arg::i64(3),
                    Arg::i64(4),
                    Arg::i64(5),
                    Arg::i64(6),
                    Arg::i64(7),
                    Arg::i64(black_box(8)),
                ];
                // SAFETY: no pointers.
                v = unsafe { b.call(black_box(&dynf), &args, &mut []) }.unwrap()
            })
        });
        // SAFETY: no pointers.
        v = unsafe { b.call(&dynf, &(1..=8).map(Arg::i64).collect::<Vec<_>>(), &mut []) }.unwrap();
        assert_eq!(v, Value::I64(36));
        let cif = Cif::new(vec![FfiType::i64(); 8], FfiType::i64());
        let xs = [1i64, 2, 3, 4, 5, 6, 7, 8];
        g.bench_function("libffi/8i64/call", |bn| {
            bn.iter(|| {
                let a = [
                    arg(black_box(&xs[0])),
                    arg(&xs[1]),
                    arg(&xs[2]),
                    arg(&xs[3]),
                    arg(&xs[4]),
                    arg(&xs[5]),
                    arg(&xs[6]),
                    arg(&xs[7]),
                ];
                // SAFETY: the CIF matches the function.
                r = unsafe { cif.call::<i64>(CodePtr(code as *mut c_void), &a) }
            })
        });
        assert_eq!(r, 36);
    }

    // --- a 16-byte struct argument and return
    {
        let code = fx.symbol_address("ffx_swap16").unwrap();
        // SAFETY: ffx_s16 ffx_swap16(ffx_s16), with S16 its #[repr(C)] twin.
        let native: extern "C" fn(S16) -> S16 = unsafe { std::mem::transmute(code) };
        let s = S16 { a: 1, b: 2 };
        let want = S16 { a: 2, b: 2 };
        let mut r = native(s);
        g.bench_function("native/struct16/typed", |bn| {
            bn.iter(|| r = black_box(native)(black_box(s)))
        });
        assert_eq!(r, want);
        // SAFETY: the fixture's signature.
        let dynf = unsafe {
            b.prepare(
                &fx,
                "ffx_swap16",
                &"{i64, i64}({i64, i64})".parse().unwrap(),
            )
        }
        .unwrap();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&1i64.to_ne_bytes());
        bytes[8..].copy_from_slice(&2i64.to_ne_bytes());
        let mut out = [0u8; 16];
        g.bench_function("asm/struct16/dynamic", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                unsafe { b.call(black_box(&dynf), &[Arg::bytes(black_box(&bytes))], &mut out) }
                    .unwrap()
            })
        });
        // SAFETY: no pointers.
        unsafe { b.call(&dynf, &[Arg::bytes(&bytes)], &mut out) }.unwrap();
        assert_eq!(
            (
                i64::from_ne_bytes(out[..8].try_into().unwrap()),
                i64::from_ne_bytes(out[8..].try_into().unwrap())
            ),
            (2, 2)
        );
        let cif = Cif::new(
            [FfiType::structure([FfiType::i64(), FfiType::i64()])],
            FfiType::structure([FfiType::i64(), FfiType::i64()]),
        );
        g.bench_function("libffi/struct16/call", |bn| {
            bn.iter(|| {
                // SAFETY: the CIF matches the function; S16 has the struct's layout.
                r = unsafe { cif.call::<S16>(CodePtr(code as *mut c_void), &[arg(black_box(&s))]) }
            })
        });
        assert_eq!(r, want);
    }
    g.finish();
}

criterion_group!(asm, benches);
criterion_main!(asm);
