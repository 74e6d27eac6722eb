//! A warm checkout and return through a `ContextPool` allocates nothing, asserted with a
//! counting global allocator (counted on this thread only).

use ffi_trait::{ContextPool, PoolItem};
use ffikit_test_support::{CountingAllocator, allocations_in};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

struct Ctx(Vec<u64>);
impl PoolItem for Ctx {}

#[test]
fn warm_checkout_and_return_allocate_nothing() {
    let pool = ContextPool::new(4, || Ok(Ctx(vec![0; 16])));
    // Warm: the first checkout creates the context (allocates), the return parks it.
    pool.try_acquire().unwrap().0[0] += 1;
    let ((), allocs) = allocations_in(|| {
        for _ in 0..10_000 {
            let mut g = pool.try_acquire().unwrap();
            g.0[0] += 1;
        }
    });
    assert_eq!(allocs, 0, "allocations on the warm path");
    assert_eq!(pool.try_acquire().unwrap().0[0], 10_001);
    assert_eq!(pool.stats().created, 1);
}
