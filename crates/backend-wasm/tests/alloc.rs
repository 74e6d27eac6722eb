//! Zero heap allocations per call through the wasm backend, typed and dynamic, asserted with
//! a counting global allocator (its own test binary, so no other test's allocations count).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use backend_wasm::WasmBackend;
use ffi_trait::{Arg, Backend, BufferArg, Source};
use ffikit_kernels::locate::kernels_wasm;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    COUNTING.store(true, Ordering::Relaxed);
    for i in 0..1000u32 {
        // SAFETY: as above.
        unsafe {
            b.call(&add, &[Arg::u32(i), Arg::u32(1)], &mut []).unwrap();
            b.call(&sum, &[Arg::buffer(x), Arg::usize(100)], &mut [])
                .unwrap();
            b.call_typed(&typed, (x.arg(), 100)).unwrap();
        }
    }
    COUNTING.store(false, Ordering::Relaxed);
    assert_eq!(
        ALLOCS.load(Ordering::Relaxed),
        0,
        "allocations during 3,000 calls"
    );
}
