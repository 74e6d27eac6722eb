//! # ffikit-test-support
//!
//! Helpers that several of ffikit's test and benchmark binaries need, kept in one place:
//!
//! - [`CountingAllocator`] and [`allocations_in`]: "zero heap allocations per call" as an
//!   assertion;
//! - [`parallel`]: runs the same work on N threads from one start line and times it, for the
//!   pool scaling benches;
//! - [`fn_at`]: a resolved symbol's address as a typed function pointer, for the floors of
//!   the call benches.
//! - [`abi_corpus`]: the ABI conformance fixture (the generated C corpus of `abi_N`
//!   functions and `cb_N` callback drivers, and the hand-written `ffx_*` fixtures), compiled
//!   at test time into `target/abi-fixture/<target>/`.
//!
//! Not part of the shipped library: only tests, benches and the bench-matrix rows use it.

pub mod abi_corpus;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Barrier;
use std::time::{Duration, Instant};

thread_local! {
    /// Whether this thread is inside [`allocations_in`].
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations this thread made while counting.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// A global allocator that forwards to [`System`] and counts the allocations (and
/// reallocations) a thread makes inside [`allocations_in`]. Other threads' allocations,
/// such as other tests running in parallel, never count.
///
/// Install it in a test binary:
/// ```
/// #[global_allocator]
/// static GLOBAL: ffikit_test_support::CountingAllocator = ffikit_test_support::CountingAllocator;
/// ```
#[derive(Debug)]
pub struct CountingAllocator;

impl CountingAllocator {
    fn count() {
        // `try_with`: during thread teardown the slots may be gone; nothing counts then.
        let _ = COUNTING.try_with(|on| {
            if on.get() {
                let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            }
        });
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the bookkeeping uses
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CountingAllocator::count();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        CountingAllocator::count();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CountingAllocator::count();
        // SAFETY: forwarded; `ptr` came from this allocator (so from `System`) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the number of heap allocations this thread made
/// during it. Counts only when [`CountingAllocator`] is the binary's global allocator
/// (otherwise the count is always 0, so tests must install it).
pub fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (r, COUNT.with(Cell::get))
}

/// Runs `work(thread, calls)` on `threads` threads that start together (a barrier), giving
/// each `iters / threads` calls (rounded up), and returns the wall time from the start line
/// until the last thread finishes.
///
/// Thread `t` is pinned to core `t % cores` (core_affinity; left unpinned where the OS does
/// not allow it). Without pinning, a one-thread sample ran on whichever vCPU the scheduler
/// chose, and on a shared VM the two vCPUs are not equally fast at any moment: one-thread
/// rows taken in the same round differed by up to 20%, which is more than the pool-scaling
/// comparison allows.
///
/// # Panics
/// When a worker panics (the panic is propagated when the threads are joined).
pub fn parallel(threads: usize, iters: u64, work: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let start_line = Barrier::new(threads + 1);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    std::thread::scope(|s| {
        for t in 0..threads {
            let start_line = &start_line;
            let core = (!cores.is_empty()).then(|| cores[t % cores.len()]);
            s.spawn(move || {
                if let Some(core) = core {
                    core_affinity::set_for_current(core);
                }
                start_line.wait();
                work(t, per_thread);
            });
        }
        start_line.wait();
        // The scope joins every thread before returning.
        Instant::now()
    })
    .elapsed()
}

/// The code at `p` as the function pointer type `F` (a plain `extern "C" fn` of the
/// symbol's signature: what a hand-written call of it costs).
///
/// # Safety
/// `F` is a function pointer type whose signature matches the code at `p`.
///
/// # Panics
/// When `F` is not pointer-sized (not a function pointer).
pub unsafe fn fn_at<F: Copy>(p: *const c_void) -> F {
    assert_eq!(size_of::<F>(), size_of::<*const c_void>());
    // SAFETY: same size (checked); the signature is the caller's promise.
    unsafe { std::mem::transmute_copy(&p) }
}
