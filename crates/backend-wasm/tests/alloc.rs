//! Zero heap allocations per call through the wasm backend, typed and dynamic, asserted with
//! a counting global allocator (counted on this thread only).

use backend_wasm::WasmBackend;
use ffi_trait::{Arg, Backend, BufferArg, Source};
use ffikit_kernels::locate::kernels_wasm;
use ffikit_test_support::{CountingAllocator, allocations_in};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn zero_allocations_per_call() {
    let mut b = WasmBackend::new().unwrap();
    let lib = b.open(Source::Path(&kernels_wasm())).unwrap();
    let x = b.alloc_stable_buffer(800, 64).unwrap();
    // SAFETY: checked against the exports' types.
    let (add, sum, typed) = unsafe {
        (
            b.prepare(&lib, "ffikit_add_u32", &"u32(u32, u32)".parse().unwrap())
                .unwrap(),
            b.prepare(&lib, "ffikit_sum_f64", &"f64(ptr, usize)".parse().unwrap())
                .unwrap(),
            b.prepare_typed::<(BufferArg, usize), f64>(&lib, "ffikit_sum_f64")
                .unwrap(),
        )
    };
    // Warm up (lazy initialisation inside wasmtime is not per call).
    // SAFETY: the buffer holds 100 f64.
    unsafe {
        b.call(&add, &[Arg::u32(1), Arg::u32(2)], &mut []).unwrap();
        b.call_typed(&typed, (x.arg(), 100)).unwrap();
    }
    let ((), allocs) = allocations_in(|| {
        for i in 0..1000u32 {
            // SAFETY: as above.
            unsafe {
                b.call(&add, &[Arg::u32(i), Arg::u32(1)], &mut []).unwrap();
                b.call(&sum, &[Arg::buffer(x), Arg::usize(100)], &mut [])
                    .unwrap();
                b.call_typed(&typed, (x.arg(), 100)).unwrap();
            }
        }
    });
    assert_eq!(allocs, 0, "allocations during 3,000 calls");
}
