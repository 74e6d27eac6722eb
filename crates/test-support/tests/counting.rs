//! The counting allocator counts: a test of the helper the zero-allocation tests rely on.

use ffikit_test_support::{CountingAllocator, allocations_in};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn allocations_are_counted_on_this_thread_only() {
    let (v, n) = allocations_in(|| {
        let mut v: Vec<u64> = Vec::with_capacity(4);
        v.extend([1, 2, 3, 4, 5]); // grows: a reallocation
        std::hint::black_box(Box::new(7u8));
        v
    });
    assert_eq!(v.len(), 5);
    assert_eq!(n, 3, "with_capacity, the growth and the box");
    // Another thread's allocations do not count here: spawning a thread that allocates 100
    // times counts the same as spawning one that allocates nothing.
    let spawn = |allocs: usize| {
        allocations_in(|| {
            std::thread::spawn(move || {
                for _ in 0..allocs {
                    std::hint::black_box(Box::new(1u64));
                }
            })
            .join()
            .unwrap()
        })
        .1
    };
    assert_eq!(spawn(0), spawn(100));
    let ((), n) = allocations_in(|| {});
    assert_eq!(n, 0);
}

#[test]
fn parallel_runs_every_thread() {
    let hits = std::sync::atomic::AtomicU64::new(0);
    let t = ffikit_test_support::parallel(3, 30, &|_, calls| {
        hits.fetch_add(calls, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(hits.into_inner(), 30);
    assert!(t.as_nanos() > 0);
}
