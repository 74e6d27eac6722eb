//! Throughput of kernel calls from 1, 2 and 4 threads: ffikit's `ContextPool` (checkout,
//! call, return on every call), one `Mutex<AnyContext>` shared by all threads, object-pool's
//! `Pool` (a `Mutex<Vec<_>>` inside), and the kernel called directly without ffikit (the
//! machine's own scaling, which the pool's is compared with).
//!
//! Group `pool/{backend}/{threads}`, functions `{kernel}/{impl}`; the time reported is wall
//! time per call with all threads working, so `time(1 thread) / time(2 threads)` is the
//! speedup. `add_u32` is call-bound; `sum_f64` over 10,000 f64 (in a stable buffer, no copy)
//! is compute- and memory-bound.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ffikit::{AnyContext, BACKENDS, ContextConfig};
use ffikit_test_support::parallel;

const N: usize = 10_000;
const THREADS: [usize; 3] = [1, 2, 4];

fn config() -> ContextConfig {
    ContextConfig {
        capacity_bytes: N * 8,
    }
}

fn call(ctx: &mut AnyContext, kernel: &str) {
    match kernel {
        "add_u32" => {
            black_box(ctx.add_u32(black_box(1), black_box(2)).unwrap());
        }
        _ => {
            let x = ctx.scratch()[0];
            black_box(ctx.sum_f64_buffer(&x, N).unwrap());
        }
    }
}

/// One cache line of f64: the direct rows' data is 64-byte aligned like a stable buffer (with
/// the 16-byte alignment of a `Vec<f64>`, every AVX-512 load of the kernel splits a cache line
/// and the direct 1-thread row ran ~10-20% slower than the pool's, skewing the comparison).
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f64; 8]);

fn direct(kernel: &str, x: &[Line]) {
    match kernel {
        "add_u32" => {
            black_box(ffikit_kernels::ffikit_add_u32(black_box(1), black_box(2)));
        }
        _ => {
            // SAFETY: `x` holds N / 8 lines of 8 f64, N f64 in all.
            black_box(unsafe { ffikit_kernels::ffikit_sum_f64(black_box(x.as_ptr().cast()), N) });
        }
    }
}

fn bench(c: &mut Criterion) {
    ffikit_kernels::locate::kernels_library();
    ffikit_kernels::locate::kernels_wasm();
    let data: Vec<Vec<Line>> = (0..4).map(|_| vec![Line([0.0; 8]); N / 8]).collect();
    for (backend, built) in BACKENDS {
        if !built {
            continue;
        }
        let pool = ffikit::pool(backend, 4, config()).unwrap();
        let mutex = Mutex::new(AnyContext::new(backend, config()).unwrap());
        let object_pool = object_pool::Pool::new(4, || AnyContext::new(backend, config()).unwrap());
        // One kernel and implementation at 1, 2 and 4 threads back to back, so that the
        // speedups compare rows taken seconds apart, not minutes (this VM's speed drifts).
        for kernel in ["add_u32", "sum_f64"] {
            for imp in ["pool", "mutex", "object-pool", "direct"] {
                for threads in THREADS {
                    let mut g = c.benchmark_group(format!("pool/{backend}/{threads}"));
                    g.sample_size(20)
                        .measurement_time(Duration::from_secs(2))
                        .warm_up_time(Duration::from_millis(500));
                    g.bench_function(format!("{kernel}/{imp}"), |b| {
                        b.iter_custom(|iters| {
                            parallel(threads, iters, &|t, calls| match imp {
                                "pool" => {
                                    for _ in 0..calls {
                                        call(&mut pool.try_acquire().unwrap(), kernel);
                                    }
                                }
                                "mutex" => {
                                    for _ in 0..calls {
                                        call(&mut mutex.lock().unwrap(), kernel);
                                    }
                                }
                                "object-pool" => {
                                    for _ in 0..calls {
                                        let mut ctx = object_pool
                                            .pull(|| AnyContext::new(backend, config()).unwrap());
                                        call(&mut ctx, kernel);
                                    }
                                }
                                // The machine's own scaling, without ffikit: the same kernel,
                                // linked in.
                                _ => {
                                    for _ in 0..calls {
                                        direct(kernel, &data[t]);
                                    }
                                }
                            })
                        })
                    });
                    g.finish();
                }
            }
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
