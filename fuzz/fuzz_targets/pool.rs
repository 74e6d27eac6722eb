//! The context pool's checkout and release sequences, driven by the input (one thread; the
//! threaded stress lives in ffi-trait's tests and the ThreadSanitizer run): a value is never
//! handed out twice at once, the bound is kept, `try_acquire` fails exactly when every
//! context is out, poisoned and (when asked) trapped values are replaced, a foreign or
//! repeated raw release is refused, and the statistics add up.

#![no_main]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ffi_trait::{ContextPool, Error, PoolGuard, PoolItem};
use libfuzzer_sys::fuzz_target;

struct Item {
    id: usize,
    poisoned: bool,
    trapped: bool,
}

impl PoolItem for Item {
    fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn has_trapped(&self) -> bool {
        self.trapped
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let max = 1 + usize::from(first % 4);
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let pool = ContextPool::new(max, move || {
        Ok(Item {
            id: counter.fetch_add(1, Ordering::Relaxed),
            poisoned: false,
            trapped: false,
        })
    });
    let mut held: Vec<PoolGuard<'_, Item>> = Vec::new();
    let mut discard_trapped = false;
    for &op in ops.iter().take(256) {
        let pick = usize::from(op >> 3);
        match op & 7 {
            0 | 1 => match pool.try_acquire() {
                Ok(g) => {
                    assert!(held.len() < max, "more than {max} contexts out");
                    held.push(g);
                }
                Err(Error::PoolExhausted { .. }) => assert_eq!(held.len(), max),
                Err(e) => panic!("try_acquire: {e}"),
            },
            2 if !held.is_empty() => {
                held.swap_remove(pick % held.len());
            }
            3 if !held.is_empty() => {
                let g = held.swap_remove(pick % held.len());
                g.discard();
            }
            4 if !held.is_empty() => {
                let i = pick % held.len();
                held[i].poisoned = true;
            }
            5 if !held.is_empty() => {
                let i = pick % held.len();
                held[i].trapped = true;
            }
            6 => {
                discard_trapped = !discard_trapped;
                pool.set_discard_trapped(discard_trapped);
            }
            7 => {
                // A pointer the pool never handed out is refused, and nothing changes.
                let stranger = Item {
                    id: usize::MAX,
                    poisoned: false,
                    trapped: false,
                };
                assert!(pool.release_raw(&stranger, false).is_err());
            }
            _ => {}
        }
        let ids: HashSet<usize> = held.iter().map(|g| g.id).collect();
        assert_eq!(ids.len(), held.len(), "one value handed out twice");
        let st = pool.stats();
        assert_eq!(st.created, made.load(Ordering::Relaxed));
        assert_eq!(st.live, st.created - st.discarded);
        assert!(st.live <= max && st.idle <= st.live);
        assert_eq!(
            st.live - st.idle,
            held.len(),
            "busy contexts are the held ones"
        );
    }
    drop(held);
    let st = pool.stats();
    assert_eq!(st.idle, st.live);
});
