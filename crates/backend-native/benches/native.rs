//! `native/{kernel}/{plain|typed|dynamic}`: each kernel through a plain Rust call of a
//! function pointer (the floor), through the native backend's typed path and through its
//! dynamic path; and `memory/read/{n}`, the machine's cache read bound over the same bytes
//! `sum_f64` reads, for the bandwidth comparison. Every bench checks its result after the loop.

use std::hint::black_box;
use std::path::Path;

use backend_native::NativeBackend;
use criterion::{Criterion, criterion_group, criterion_main};
use ffi_trait::{Arg, ArgKind, Backend, BufferArg, Source, Value, kernel};
use ffikit_kernels::{locate::kernels_library, reference};

/// f64 elements for the reductions: 100,000 (800 KB, the size the targets quote).
const N: usize = 100_000;
/// Elements for the element-wise kernels.
const N_ELEMWISE: usize = 1_000;

fn benches(c: &mut Criterion) {
    let path = kernels_library();
    let mut b = NativeBackend::new();
    let lib = b.open(Source::Path(Path::new(&path))).unwrap();
    let x = b.alloc_stable_buffer(N * 8, 64).unwrap();
    let y = b.alloc_stable_buffer(N * 8, 64).unwrap();
    let ab = b.alloc_stable_buffer(N_ELEMWISE * 4, 64).unwrap();
    // SAFETY: fresh buffers; no other views while these are used for filling.
    let (xs, ys) = unsafe { (x.as_mut_slice_of::<f64>(), y.as_mut_slice_of::<f64>()) };
    for i in 0..N {
        xs[i] = (i % 1000) as f64 * 1e-3;
        ys[i] = 1.0 + (i % 7) as f64;
    }
    // SAFETY: as above.
    unsafe { ab.as_mut_slice_of::<u32>() }
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = i as u32);
    let want_sum = reference::sum_f64(xs);
    let want_dot = reference::dot_f64(xs, ys);

    let raw = |sym: &str| lib.symbol_address(sym).unwrap();
    let mut g = c.benchmark_group("native");

    // --- noop
    {
        // SAFETY: ffikit_noop is `void(void)`.
        let plain: extern "C" fn() = unsafe { std::mem::transmute(raw("ffikit_noop")) };
        g.bench_function("noop/plain", |bn| bn.iter(|| black_box(plain)()));
        // SAFETY: the kernel's signature.
        let typed = unsafe { b.prepare_typed::<(), ()>(&lib, "ffikit_noop") }.unwrap();
        g.bench_function("noop/typed", |bn| {
            // SAFETY: no pointers.
            bn.iter(|| unsafe { b.call_typed(black_box(&typed), ()) }.unwrap())
        });
        // SAFETY: the kernel's signature.
        let dynf = unsafe {
            b.prepare(
                &lib,
                kernel::NOOP.symbol,
                &kernel::NOOP.signature.parse().unwrap(),
            )
        }
        .unwrap();
        g.bench_function("noop/dynamic", |bn| {
            // SAFETY: no pointers.
            bn.iter(|| unsafe { b.call(black_box(&dynf), &[], &mut []) }.unwrap())
        });
    }

    // --- add_u32: independent calls (no dependency chain through the result)
    {
        // SAFETY: ffikit_add_u32 is `u32(u32, u32)`.
        let plain: extern "C" fn(u32, u32) -> u32 =
            unsafe { std::mem::transmute(raw("ffikit_add_u32")) };
        let mut r = plain(40, 2);
        g.bench_function("add_u32/plain", |bn| {
            bn.iter(|| r = black_box(plain)(black_box(40), black_box(2)))
        });
        assert_eq!(r, 42);
        // SAFETY: the kernel's signature.
        let typed = unsafe { b.prepare_typed::<(u32, u32), u32>(&lib, "ffikit_add_u32") }.unwrap();
        g.bench_function("add_u32/typed", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                r = unsafe { b.call_typed(black_box(&typed), (black_box(40), black_box(2))) }
                    .unwrap()
            })
        });
        assert_eq!(r, 42);
        // SAFETY: the kernel's signature.
        let dynf = unsafe { b.prepare(&lib, "ffikit_add_u32", &"u32(u32, u32)".parse().unwrap()) }
            .unwrap();
        // SAFETY: no pointers.
        let mut v = unsafe { b.call(&dynf, &[Arg::u32(40), Arg::u32(2)], &mut []) }.unwrap();
        g.bench_function("add_u32/dynamic", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                v = unsafe {
                    b.call(
                        black_box(&dynf),
                        &[Arg::u32(black_box(40)), Arg::u32(black_box(2))],
                        &mut [],
                    )
                }
                .unwrap()
            })
        });
        assert_eq!(v, Value::U32(42));

        // The floor of any dynamic path that takes an argument slice: build the two `Arg`s,
        // check their kinds, and call directly with their images — no plan, no dispatch.
        g.bench_function("add_u32/slice-floor", |bn| {
            bn.iter(|| {
                let args = [Arg::u32(black_box(40)), Arg::u32(black_box(2))];
                let a = black_box(&args[..]);
                assert!(a.len() == 2 && a.iter().all(|a| a.kind() == ArgKind::U32));
                r = black_box(plain)(a[0].bits() as u32, a[1].bits() as u32);
            })
        });
        assert_eq!(r, 42);
    }

    // --- sum_f64 over N
    {
        // SAFETY: `f64(ptr, usize)`.
        let plain: unsafe extern "C" fn(*const f64, usize) -> f64 =
            unsafe { std::mem::transmute(raw("ffikit_sum_f64")) };
        let p = x.host_ptr() as *const f64;
        // SAFETY: the buffer holds N f64.
        let mut r = unsafe { plain(p, N) };
        g.bench_function("sum_f64/plain/100000", |bn| {
            // SAFETY: the buffer holds N f64.
            bn.iter(|| r = unsafe { black_box(plain)(black_box(p), N) })
        });
        assert_eq!(r, want_sum);
        // SAFETY: the kernel's signature.
        let typed =
            unsafe { b.prepare_typed::<(BufferArg, usize), f64>(&lib, "ffikit_sum_f64") }.unwrap();
        g.bench_function("sum_f64/typed/100000", |bn| {
            // SAFETY: the buffer holds N f64.
            bn.iter(|| r = unsafe { b.call_typed(black_box(&typed), (x.arg(), N)) }.unwrap())
        });
        assert_eq!(r, want_sum);
        // SAFETY: the kernel's signature.
        let dynf =
            unsafe { b.prepare(&lib, "ffikit_sum_f64", &"f64(ptr, usize)".parse().unwrap()) }
                .unwrap();
        let mut v = Value::F64(r);
        g.bench_function("sum_f64/dynamic/100000", |bn| {
            bn.iter(|| {
                // SAFETY: the buffer holds N f64.
                v = unsafe {
                    b.call(
                        black_box(&dynf),
                        &[Arg::buffer(x.arg()), Arg::usize(N)],
                        &mut [],
                    )
                }
                .unwrap()
            })
        });
        assert_eq!(v, Value::F64(want_sum));
    }

    // --- dot_f64 over N
    {
        // SAFETY: `f64(ptr, ptr, usize)`.
        let plain: unsafe extern "C" fn(*const f64, *const f64, usize) -> f64 =
            unsafe { std::mem::transmute(raw("ffikit_dot_f64")) };
        let (px, py) = (x.host_ptr() as *const f64, y.host_ptr() as *const f64);
        // SAFETY: both buffers hold N f64.
        let mut r = unsafe { plain(px, py, N) };
        g.bench_function("dot_f64/plain/100000", |bn| {
            // SAFETY: both buffers hold N f64.
            bn.iter(|| r = unsafe { black_box(plain)(px, py, N) })
        });
        assert_eq!(r, want_dot);
        // SAFETY: the kernel's signature.
        let typed = unsafe {
            b.prepare_typed::<(BufferArg, BufferArg, usize), f64>(&lib, "ffikit_dot_f64")
        }
        .unwrap();
        g.bench_function("dot_f64/typed/100000", |bn| {
            bn.iter(|| {
                // SAFETY: both buffers hold N f64.
                r = unsafe { b.call_typed(black_box(&typed), (x.arg(), y.arg(), N)) }.unwrap()
            })
        });
        assert_eq!(r, want_dot);
        // SAFETY: the kernel's signature.
        let dynf = unsafe {
            b.prepare(
                &lib,
                "ffikit_dot_f64",
                &"f64(ptr, ptr, usize)".parse().unwrap(),
            )
        }
        .unwrap();
        let mut v = Value::F64(r);
        let args = [Arg::buffer(x.arg()), Arg::buffer(y.arg()), Arg::usize(N)];
        g.bench_function("dot_f64/dynamic/100000", |bn| {
            // SAFETY: both buffers hold N f64.
            bn.iter(|| v = unsafe { b.call(black_box(&dynf), &args, &mut []) }.unwrap())
        });
        assert_eq!(v, Value::F64(want_dot));
    }

    // --- axpy_f64 over N_ELEMWISE (y grows each iteration; checked for finiteness)
    {
        // SAFETY: `void(f64, ptr, ptr, usize)`.
        let plain: unsafe extern "C" fn(f64, *const f64, *mut f64, usize) =
            unsafe { std::mem::transmute(raw("ffikit_axpy_f64")) };
        let (px, py) = (x.host_ptr() as *const f64, y.host_ptr() as *mut f64);
        g.bench_function("axpy_f64/plain/1000", |bn| {
            // SAFETY: both buffers hold at least N_ELEMWISE f64.
            bn.iter(|| unsafe { black_box(plain)(1e-9, px, py, N_ELEMWISE) })
        });
        // SAFETY: the kernel's signature.
        let typed = unsafe {
            b.prepare_typed::<(f64, BufferArg, BufferArg, usize), ()>(&lib, "ffikit_axpy_f64")
        }
        .unwrap();
        g.bench_function("axpy_f64/typed/1000", |bn| {
            bn.iter(|| {
                // SAFETY: as above.
                unsafe { b.call_typed(black_box(&typed), (1e-9, x.arg(), y.arg(), N_ELEMWISE)) }
                    .unwrap()
            })
        });
        // SAFETY: the kernel's signature.
        let dynf = unsafe {
            b.prepare(
                &lib,
                "ffikit_axpy_f64",
                &"void(f64, ptr, ptr, usize)".parse().unwrap(),
            )
        }
        .unwrap();
        let args = [
            Arg::f64(1e-9),
            Arg::buffer(x.arg()),
            Arg::buffer(y.arg()),
            Arg::usize(N_ELEMWISE),
        ];
        g.bench_function("axpy_f64/dynamic/1000", |bn| {
            // SAFETY: as above.
            bn.iter(|| unsafe { b.call(black_box(&dynf), &args, &mut []) }.unwrap())
        });
        assert!(
            // SAFETY: no other view is live.
            unsafe { y.as_mut_slice_of::<f64>() }[..N_ELEMWISE]
                .iter()
                .all(|v| v.is_finite() && *v >= 1.0)
        );
    }

    // --- add_u32_batch over N_ELEMWISE, in place: a = a + a
    {
        // SAFETY: `void(ptr, ptr, ptr, usize)`.
        let plain: unsafe extern "C" fn(*const u32, *const u32, *mut u32, usize) =
            unsafe { std::mem::transmute(raw("ffikit_add_u32_batch")) };
        let pa = ab.host_ptr() as *mut u32;
        // One untimed call makes every element even; doubling keeps it so.
        // SAFETY: the buffer holds N_ELEMWISE u32; out == a is allowed.
        unsafe { plain(pa, pa, pa, N_ELEMWISE) };
        g.bench_function("add_u32_batch/plain/1000", |bn| {
            // SAFETY: the buffer holds N_ELEMWISE u32; out == a is allowed.
            bn.iter(|| unsafe { black_box(plain)(pa, pa, pa, N_ELEMWISE) })
        });
        // SAFETY: the kernel's signature.
        let typed = unsafe {
            b.prepare_typed::<(BufferArg, BufferArg, BufferArg, usize), ()>(
                &lib,
                "ffikit_add_u32_batch",
            )
        }
        .unwrap();
        g.bench_function("add_u32_batch/typed/1000", |bn| {
            bn.iter(|| {
                // SAFETY: as above.
                unsafe {
                    b.call_typed(
                        black_box(&typed),
                        (ab.arg(), ab.arg(), ab.arg(), N_ELEMWISE),
                    )
                }
                .unwrap()
            })
        });
        // SAFETY: the kernel's signature.
        let dynf = unsafe {
            b.prepare(
                &lib,
                "ffikit_add_u32_batch",
                &"void(ptr, ptr, ptr, usize)".parse().unwrap(),
            )
        }
        .unwrap();
        let args = [
            Arg::buffer(ab.arg()),
            Arg::buffer(ab.arg()),
            Arg::buffer(ab.arg()),
            Arg::usize(N_ELEMWISE),
        ];
        g.bench_function("add_u32_batch/dynamic/1000", |bn| {
            // SAFETY: as above.
            bn.iter(|| unsafe { b.call(black_box(&dynf), &args, &mut []) }.unwrap())
        });
        // Doubling modulo 2^32 keeps even numbers even.
        assert!(
            // SAFETY: no other view is live.
            unsafe { ab.as_mut_slice_of::<u32>() }
                .iter()
                .all(|v| v % 2 == 0)
        );
    }
    g.finish();

    // --- the read bound over the same 800 KB
    let mut g = c.benchmark_group("memory");
    // SAFETY: the buffer holds N f64; no writer is live.
    let bytes = unsafe { x.as_slice() };
    let mut r = read_bound::read(bytes);
    g.bench_function("read/100000", |bn| {
        bn.iter(|| r = read_bound::read(black_box(bytes)))
    });
    assert_eq!(r, read_bound::read_scalar(bytes));
    g.finish();
}

/// The fastest read of a buffer this CPU can do: wide loads XOR-ed into eight independent
/// accumulators (XOR has a one-cycle latency, so nothing but the loads limits it).
mod read_bound {
    pub(super) fn read(bytes: &[u8]) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { read_avx512(bytes) };
        }
        read_generic(bytes)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn read_avx512(bytes: &[u8]) -> u64 {
        use std::arch::x86_64::*;
        let chunks = bytes.chunks_exact(512);
        let tail = chunks.remainder();
        let mut acc = [_mm512_setzero_si512(); 8];
        for c in chunks {
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: c has 512 bytes, so 64 bytes at j * 64 are in bounds; loadu needs
                // no alignment.
                *a = _mm512_xor_si512(*a, unsafe {
                    _mm512_loadu_si512(c.as_ptr().add(j * 64).cast())
                });
            }
        }
        let mut all = acc[0];
        for a in &acc[1..] {
            all = _mm512_xor_si512(all, *a);
        }
        let lanes: [u64; 8] = unsafe_transmute(all);
        lanes.iter().fold(0, |x, y| x ^ y) ^ read_scalar(tail)
    }

    #[cfg(target_arch = "x86_64")]
    fn unsafe_transmute(v: std::arch::x86_64::__m512i) -> [u64; 8] {
        // SAFETY: __m512i and [u64; 8] are both 64 plain bytes.
        unsafe { std::mem::transmute(v) }
    }

    fn read_generic(bytes: &[u8]) -> u64 {
        let mut acc = [0u64; 32];
        let chunks = bytes.chunks_exact(256);
        let tail = chunks.remainder();
        for c in chunks {
            for (j, a) in acc.iter_mut().enumerate() {
                *a ^= u64::from_ne_bytes(c[j * 8..j * 8 + 8].try_into().unwrap());
            }
        }
        acc.iter().fold(0, |x, y| x ^ y) ^ read_scalar(tail)
    }

    /// The same XOR of all 8-byte words, plainly (the reference; the tail is zero-padded).
    pub(super) fn read_scalar(bytes: &[u8]) -> u64 {
        bytes.chunks(8).fold(0, |x, c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            x ^ u64::from_ne_bytes(w)
        })
    }
}

criterion_group!(native, benches);
criterion_main!(native);
