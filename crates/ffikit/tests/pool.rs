//! Context pools under load: N threads x M kernel calls through one pool per backend, every
//! result checked against a single-threaded reference, every checkout counted so that a
//! context handed to two threads at once, or lost, fails the test.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ffikit::{AnyContext, BACKENDS, Context, ContextConfig, ContextPool, Error, Source};
use ffikit_kernels::locate::{kernels_library, kernels_wasm};
use ffikit_kernels::reference;

const THREADS: usize = 8;
const CALLS: usize = 300;
const MAX: usize = 3;

fn config() -> ContextConfig {
    ContextConfig {
        capacity_bytes: 64 << 10,
    }
}

fn backends() -> impl Iterator<Item = &'static str> {
    // Make sure the kernels exist where `ffikit::locate` looks (target/release and the wasm
    // target's release folder).
    kernels_library();
    kernels_wasm();
    BACKENDS.iter().filter(|(_, built)| *built).map(|(n, _)| *n)
}

#[test]
fn threads_share_a_pool_without_losing_or_doubling_contexts() {
    for name in backends() {
        let pool = ffikit::pool(name, MAX, config()).unwrap();
        let busy: Vec<AtomicBool> = (0..MAX).map(|_| AtomicBool::new(false)).collect();
        let checkouts = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (pool, busy, checkouts) = (&pool, &busy, &checkouts);
                s.spawn(move || {
                    for i in 0..CALLS {
                        let mut ctx = pool.acquire_timeout(Duration::from_secs(60)).unwrap();
                        assert!(
                            !busy[ctx.slot()].swap(true, Ordering::SeqCst),
                            "{name}: slot {} handed to two threads",
                            ctx.slot()
                        );
                        checkouts.fetch_add(1, Ordering::Relaxed);
                        let n = 1 + (t * 131 + i * 17) % 2000;
                        let x: Vec<f64> = (0..n).map(|k| (k + t) as f64 * 0.25 - 7.0).collect();
                        let y: Vec<f64> = (0..n).map(|k| (i + k) as f64 * 0.5).collect();
                        assert_eq!(ctx.sum_f64(&x).unwrap(), reference::sum_f64(&x), "{name}");
                        assert_eq!(
                            ctx.dot_f64(&x, &y).unwrap(),
                            reference::dot_f64(&x, &y),
                            "{name}"
                        );
                        let a = (t * 1_000_003 + i) as u32;
                        assert_eq!(ctx.add_u32(a, u32::MAX).unwrap(), a.wrapping_sub(1));
                        let mut z = y.clone();
                        ctx.axpy_f64(2.0, &x, &mut z).unwrap();
                        let mut want = y.clone();
                        reference::axpy_f64(2.0, &x, &mut want);
                        assert_eq!(z, want, "{name}");
                        busy[ctx.slot()].store(false, Ordering::SeqCst);
                    }
                });
            }
        });
        let st = pool.stats();
        assert_eq!(checkouts.load(Ordering::Relaxed), THREADS * CALLS);
        assert!(st.created <= MAX && st.discarded == 0, "{name}: {st:?}");
        assert_eq!(
            (st.live, st.idle),
            (st.created, st.created),
            "{name}: {st:?}"
        );
    }
}

#[test]
fn a_warm_thread_gets_the_same_context_back() {
    for name in backends() {
        let pool = ffikit::pool(name, 4, config()).unwrap();
        let first = pool.try_acquire().unwrap().slot();
        for _ in 0..50 {
            let mut ctx = pool.try_acquire().unwrap();
            assert_eq!(ctx.slot(), first, "{name}");
            assert_eq!(ctx.add_u32(1, 2).unwrap(), 3);
        }
        assert_eq!(pool.stats().created, 1, "{name}");
    }
}

#[test]
fn in_place_buffers_and_copies_agree() {
    for name in backends() {
        let mut ctx = AnyContext::new(name, config()).unwrap();
        let n = 1000;
        let x = ctx.alloc_buffer(n * 8).unwrap();
        let y = ctx.alloc_buffer(n * 8).unwrap();
        let xs: Vec<f64> = (0..n).map(|i| i as f64 - 300.5).collect();
        let ys: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        // SAFETY: live buffers of this context; no other view exists while filling.
        unsafe {
            x.as_mut_slice_of::<f64>()[..n].copy_from_slice(&xs);
            y.as_mut_slice_of::<f64>()[..n].copy_from_slice(&ys);
        }
        assert_eq!(
            ctx.sum_f64_buffer(&x, n).unwrap(),
            ctx.sum_f64(&xs).unwrap()
        );
        assert_eq!(
            ctx.dot_f64_buffer(&x, &y, n).unwrap(),
            ctx.dot_f64(&xs, &ys).unwrap()
        );
        ctx.axpy_f64_buffer(3.0, &x, &y, n).unwrap();
        let mut want = ys.clone();
        ctx.axpy_f64(3.0, &xs, &mut want).unwrap();
        // SAFETY: as above, read after the call.
        assert_eq!(unsafe { &y.as_mut_slice_of::<f64>()[..n] }, &want[..]);
        let (a, b): (Vec<u32>, Vec<u32>) = (0..n as u32).map(|i| (i * 7, u32::MAX - i)).unzip();
        let mut out = vec![0u32; n];
        ctx.add_u32_batch(&a, &b, &mut out).unwrap();
        assert!(
            out.iter()
                .zip(&a)
                .zip(&b)
                .all(|((o, a), b)| *o == a.wrapping_add(*b))
        );
        // Bad input: each a clear error, nothing written.
        assert!(matches!(
            ctx.sum_f64_buffer(&x, n + 1),
            Err(Error::BufferOutOfBounds { .. })
        ));
        assert!(matches!(
            ctx.dot_f64(&xs, &ys[1..]),
            Err(Error::LengthMismatch { .. })
        ));
        let mut other = AnyContext::new(name, config()).unwrap();
        assert!(matches!(
            other.sum_f64_buffer(&x, 1),
            Err(Error::ForeignBuffer { .. })
        ));
        ctx.free_buffer(x).unwrap();
        assert!(matches!(
            ctx.sum_f64_buffer(&x, 1),
            Err(Error::BufferFreed { .. })
        ));
        if name == "wasm" {
            let big = vec![1.0; 64 << 10];
            assert!(matches!(
                ctx.sum_f64(&big),
                Err(Error::BufferTooSmall { .. })
            ));
        } else {
            // Host-pointer backends take any slice in place, however large.
            let big = vec![1.0; 64 << 10];
            assert_eq!(ctx.sum_f64(&big).unwrap(), (64 << 10) as f64);
        }
    }
}

/// A module with the kernels' exports whose `sum_f64` traps.
const TRAPPING_KERNELS: &str = r#"
(module
  (memory (export "memory") 2)
  (func (export "ffikit_noop"))
  (func (export "ffikit_add_u32") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "ffikit_add_u32_batch") (param i32 i32 i32 i32))
  (func (export "ffikit_sum_f64") (param i32 i32) (result f64) (unreachable))
  (func (export "ffikit_dot_f64") (param i32 i32 i32) (result f64) (f64.const 0))
  (func (export "ffikit_axpy_f64") (param f64 i32 i32 i32))
)"#;

#[cfg(feature = "wasm")]
fn trapping_pool() -> ContextPool<Context<ffikit::WasmBackend>> {
    ContextPool::new(1, || {
        Context::new(
            ffikit::WasmBackend::new()?,
            Source::Bytes(TRAPPING_KERNELS.as_bytes()),
            ContextConfig {
                capacity_bytes: 1024,
            },
        )
    })
}

/// A trap is the error of that call: the context stays usable with its buffers intact,
/// records the trap, and the pool hands the same context out again.
#[cfg(feature = "wasm")]
#[test]
fn a_trapped_wasm_context_stays_usable() {
    let pool = trapping_pool();
    {
        let mut ctx = pool.try_acquire().unwrap();
        let buf = ctx.alloc_buffer(64).unwrap();
        // SAFETY: a live buffer of this context, used by nothing else meanwhile.
        unsafe { buf.as_mut_slice_of::<u32>()[..2].copy_from_slice(&[7, 9]) };
        assert_eq!(ctx.add_u32(2, 3).unwrap(), 5);
        assert!(ctx.trapped().is_none());
        let e = ctx.sum_f64(&[1.0]).unwrap_err();
        assert!(matches!(e, Error::Trap { .. }) && e.is_trap(), "{e}");
        assert!(ctx.trapped().is_some_and(|m| m.contains("ffikit_sum_f64")));
        assert_eq!(ctx.add_u32(2, 3).unwrap(), 5, "usable after the trap");
        // SAFETY: as above.
        let kept = unsafe { &buf.as_mut_slice_of::<u32>()[..2] };
        assert_eq!(kept, [7, 9], "buffers intact");
        let e = ctx.sum_f64(&[1.0]).unwrap_err();
        assert!(
            matches!(e, Error::Trap { .. }),
            "the next trap is its own call's: {e}"
        );
        assert!(ctx.poisoned().is_none());
    }
    let mut again = pool.try_acquire().unwrap();
    assert!(again.trapped().is_some(), "the same context came back");
    assert_eq!(again.add_u32(2, 3).unwrap(), 5);
    let st = pool.stats();
    assert_eq!((st.created, st.discarded, st.live), (1, 0, 1));
}

/// A pool set to discard trapped contexts replaces one whose call trapped.
#[cfg(feature = "wasm")]
#[test]
fn a_pool_discards_trapped_contexts_when_asked() {
    let pool = trapping_pool();
    pool.set_discard_trapped(true);
    {
        let mut ctx = pool.try_acquire().unwrap();
        assert_eq!(ctx.add_u32(2, 3).unwrap(), 5);
    }
    {
        let mut ctx = pool.try_acquire().unwrap();
        assert!(ctx.sum_f64(&[1.0]).unwrap_err().is_trap());
    }
    let mut fresh = pool.try_acquire().unwrap();
    assert!(fresh.trapped().is_none(), "a fresh context");
    assert_eq!(fresh.add_u32(2, 3).unwrap(), 5);
    let st = pool.stats();
    assert_eq!((st.created, st.discarded, st.live), (2, 1, 1));
}
