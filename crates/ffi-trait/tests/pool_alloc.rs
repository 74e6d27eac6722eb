//! A warm checkout and return through a `ContextPool` allocates nothing, asserted with a
//! counting global allocator (its own test binary, so no other test's allocations count).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ffi_trait::{ContextPool, PoolItem};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

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

struct Ctx(Vec<u64>);
impl PoolItem for Ctx {}

#[test]
fn warm_checkout_and_return_allocate_nothing() {
    let pool = ContextPool::new(4, || Ok(Ctx(vec![0; 16])));
    // Warm: the first checkout creates the context (allocates), the return parks it.
    pool.try_acquire().unwrap().0[0] += 1;
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..10_000 {
        let mut g = pool.try_acquire().unwrap();
        g.0[0] += 1;
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "allocations on the warm path"
    );
    assert_eq!(pool.try_acquire().unwrap().0[0], 10_001);
    assert_eq!(pool.stats().created, 1);
}
