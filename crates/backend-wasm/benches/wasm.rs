//! `wasm/{kernel}/{typed|dynamic}` beside raw wasmtime (`wasmtime/add_u32/typedfunc`: a
//! `TypedFunc::call` of the same export in a store of its own) and beside the native kernels:
//! `sum_f64` over 100,000 f64 already in a stable buffer (zero copy), and with the copy in
//! from a host slice, against native `memcpy` + native sum. Every bench checks its result.

use std::hint::black_box;

use backend_wasm::WasmBackend;
use criterion::{Criterion, criterion_group, criterion_main};
use ffi_trait::{Arg, Backend, BufferArg, Source, Value};
use ffikit_kernels::locate::kernels_wasm;
use wasmtime::{Instance, Module, Store, TypedFunc};

const N: usize = 100_000;

fn benches(c: &mut Criterion) {
    let path = kernels_wasm();
    let mut b = WasmBackend::new().unwrap();
    let lib = b.open(Source::Path(&path)).unwrap();
    let mut g = c.benchmark_group("wasm");

    // --- add_u32: ffikit typed and dynamic beside a raw TypedFunc of the same export.
    {
        let engine = b.engine().engine().clone();
        let module = Module::from_file(&engine, &path).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let raw: TypedFunc<(u32, u32), u32> = instance
            .get_typed_func(&mut store, "ffikit_add_u32")
            .unwrap();
        let mut r = raw.call(&mut store, (40, 2)).unwrap();
        g.bench_function("wasmtime/add_u32/typedfunc", |bn| {
            bn.iter(|| r = raw.call(&mut store, (black_box(40), black_box(2))).unwrap())
        });
        assert_eq!(r, 42);
        // SAFETY: checked against the export's type.
        let typed = unsafe { b.prepare_typed::<(u32, u32), u32>(&lib, "ffikit_add_u32") }.unwrap();
        g.bench_function("wasm/add_u32/typed", |bn| {
            bn.iter(|| {
                // SAFETY: no pointers.
                r = unsafe { b.call_typed(black_box(&typed), (black_box(40), black_box(2))) }
                    .unwrap()
            })
        });
        assert_eq!(r, 42);
        // SAFETY: checked against the export's type.
        let dynf = unsafe { b.prepare(&lib, "ffikit_add_u32", &"u32(u32, u32)".parse().unwrap()) }
            .unwrap();
        // SAFETY: no pointers.
        let mut v = unsafe { b.call(&dynf, &[Arg::u32(40), Arg::u32(2)], &mut []) }.unwrap();
        g.bench_function("wasm/add_u32/dynamic", |bn| {
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
    }

    // --- sum_f64 over N: zero copy, and with the copy in.
    let xb = b.alloc_stable_buffer(N * 8, 64).unwrap();
    let host: Vec<f64> = (0..N).map(|i| (i % 1000) as f64 * 1e-3).collect();
    // SAFETY: fresh buffer, no other view.
    unsafe { xb.as_mut_slice_of::<f64>() }.copy_from_slice(&host);
    let want = ffikit_kernels::reference::sum_f64(&host);
    // SAFETY: checked against the export's type.
    let sum =
        unsafe { b.prepare_typed::<(BufferArg, usize), f64>(&lib, "ffikit_sum_f64") }.unwrap();
    // SAFETY: the buffer holds N f64.
    let mut r = unsafe { b.call_typed(&sum, (xb.arg(), N)) }.unwrap();
    g.bench_function("wasm/sum_f64/zero-copy/100000", |bn| {
        // SAFETY: the buffer holds N f64.
        bn.iter(|| r = unsafe { b.call_typed(black_box(&sum), (xb.arg(), N)) }.unwrap())
    });
    assert_eq!(r, want);
    g.bench_function("wasm/sum_f64/copy-in/100000", |bn| {
        bn.iter(|| {
            // SAFETY: the buffer holds N f64; no other view is live during the copy.
            unsafe { xb.as_mut_slice_of::<f64>() }.copy_from_slice(black_box(&host));
            // SAFETY: as above.
            r = unsafe { b.call_typed(&sum, (xb.arg(), N)) }.unwrap()
        })
    });
    assert_eq!(r, want);
    let mut scratch = vec![0f64; N];
    // SAFETY: `host` holds N f64.
    r = unsafe { ffikit_kernels::ffikit_sum_f64(host.as_ptr(), N) };
    g.bench_function("native/sum_f64/zero-copy/100000", |bn| {
        // SAFETY: `host` holds N f64.
        bn.iter(|| r = unsafe { ffikit_kernels::ffikit_sum_f64(black_box(host.as_ptr()), N) })
    });
    assert_eq!(r, want);
    g.bench_function("native/sum_f64/copy-in/100000", |bn| {
        bn.iter(|| {
            scratch.copy_from_slice(black_box(&host));
            // SAFETY: `scratch` holds N f64.
            r = unsafe { ffikit_kernels::ffikit_sum_f64(scratch.as_ptr(), N) }
        })
    });
    assert_eq!(r, want);
    g.finish();
}

criterion_group!(wasm, benches);
criterion_main!(wasm);
