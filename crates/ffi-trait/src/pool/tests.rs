//! The pool's unit tests: checkout, release, the bound, discards, threads.

use super::*;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

struct Item {
    id: usize,
    bad: bool,
}
impl PoolItem for Item {
    fn is_poisoned(&self) -> bool {
        self.bad
    }
}

fn counting_pool(max: usize) -> (ContextPool<Item>, Arc<AtomicUsize>) {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let pool = ContextPool::new(max, move || {
        Ok(Item {
            id: m.fetch_add(1, Ordering::SeqCst),
            bad: false,
        })
    });
    (pool, made)
}

#[test]
fn a_thread_gets_its_own_context_back() {
    let (pool, made) = counting_pool(4);
    let first = pool.try_acquire().unwrap().id;
    for _ in 0..100 {
        assert_eq!(pool.try_acquire().unwrap().id, first);
    }
    assert_eq!(made.load(Ordering::SeqCst), 1);
    let a = pool.try_acquire().unwrap();
    let b = pool.try_acquire().unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(pool.stats().created, 2);
}

#[test]
fn bound_gives_exhausted_or_waits() {
    let (pool, _) = counting_pool(2);
    let a = pool.try_acquire().unwrap();
    let _b = pool.try_acquire().unwrap();
    assert!(matches!(
        pool.try_acquire().err(),
        Some(Error::PoolExhausted { max: 2 })
    ));
    let e = pool
        .acquire_timeout(Duration::from_millis(20))
        .err()
        .unwrap();
    assert!(matches!(e, Error::PoolTimeout { max: 2, .. }), "{e}");
    let released = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            released.store(true, Ordering::SeqCst);
            drop(a);
        });
        let c = pool.acquire_timeout(Duration::from_secs(10)).unwrap();
        assert!(released.load(Ordering::SeqCst));
        drop(c);
    });
}

#[test]
fn poisoned_and_discarded_contexts_are_replaced() {
    let (pool, made) = counting_pool(1);
    let mut g = pool.try_acquire().unwrap();
    g.bad = true;
    drop(g);
    let g = pool.try_acquire().unwrap();
    assert_eq!(g.id, 1, "the poisoned context was handed out again");
    g.discard();
    assert_eq!(pool.try_acquire().unwrap().id, 2);
    assert_eq!(made.load(Ordering::SeqCst), 3);
    let st = pool.stats();
    assert_eq!((st.created, st.discarded, st.live, st.idle), (3, 2, 1, 1));
}

/// N threads x M checkouts through a pool smaller than N: every checkout is recorded
/// in a per-context "held" flag that must be clear when a context is handed out, and at
/// the end every context that was created is idle again. Run under ThreadSanitizer by
/// `cargo xtask test` where nightly is installed.
#[test]
fn stress_no_context_is_lost_or_doubled() {
    const THREADS: usize = 8;
    const CHECKOUTS: usize = 2_000;
    const MAX: usize = 3;
    let (pool, made) = counting_pool(MAX);
    let held: Vec<AtomicBool> = (0..MAX).map(|_| AtomicBool::new(false)).collect();
    let uses = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (pool, held, uses) = (&pool, &held, &uses);
            s.spawn(move || {
                for i in 0..CHECKOUTS {
                    let mut g = if i % 2 == 0 {
                        pool.acquire_timeout(Duration::from_secs(60)).unwrap()
                    } else {
                        match pool.try_acquire() {
                            Ok(g) => g,
                            Err(Error::PoolExhausted { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    };
                    assert!(g.id < MAX, "more contexts than the bound");
                    assert!(!held[g.id].swap(true, Ordering::SeqCst), "doubled");
                    // Touch the context's own (non-atomic) state: a race here is what
                    // ThreadSanitizer would report.
                    g.bad = (t + i) % 1_000_000 == usize::MAX;
                    uses.fetch_add(1, Ordering::Relaxed);
                    held[g.id].store(false, Ordering::SeqCst);
                }
            });
        }
    });
    let st = pool.stats();
    assert!(uses.load(Ordering::Relaxed) >= THREADS * CHECKOUTS / 2);
    assert_eq!(made.load(Ordering::SeqCst), st.created);
    assert!(st.created <= MAX && st.discarded == 0, "{st:?}");
    assert_eq!(st.idle, st.live, "a context was lost: {st:?}");
}

#[test]
fn raw_checkout_round_trips_and_rejects_strangers() {
    let (pool, _) = counting_pool(3);
    let (other, _) = counting_pool(1);
    let p = pool.acquire_raw(None).unwrap();
    let q = other.acquire_raw(None).unwrap();
    assert!(pool.release_raw(q.as_ptr(), false).is_err());
    assert!(
        pool.release_raw(std::ptr::dangling::<Item>(), false)
            .is_err()
    );
    pool.release_raw(p.as_ptr(), false).unwrap();
    assert!(
        pool.release_raw(p.as_ptr(), false).is_err(),
        "double release"
    );
    other.release_raw(q.as_ptr(), false).unwrap();
}
