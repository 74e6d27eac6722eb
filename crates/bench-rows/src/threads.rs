//! Throughput by thread count: each call checks a context out of an `ffikit` pool, calls,
//! and returns it (`ffikit`); one `Mutex<AnyContext>` shared by all threads (`mutex`); the
//! kernel called directly without ffikit (`direct`, the machine's own scaling: the same
//! `libffikit_kernels.so` entry points the backends call).

use std::hint::black_box;
use std::ops::DerefMut;
use std::sync::Mutex;
use std::time::Duration;

use ffikit::{AnyContext, ContextConfig};
use ffikit_test_support::parallel;

use crate::measure::measure_interleaved;
use crate::{Aligned, Reference, Sink, expect};

/// The size of the compute-bound row.
const SUM_N: usize = 10_000;

fn thread_counts(sink: &Sink) -> Vec<u32> {
    if !sink.opts.threads.is_empty() {
        return sink.opts.threads.clone();
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    let mut t = vec![1, 2, 4];
    if cores > 4 {
        t.push(cores);
    }
    t
}

/// A batch of `t` threads each calling `kernel` through a context from `checkout` (a pool
/// checkout or a mutex lock), held for exactly one call.
fn checkout_row<'a, C: DerefMut<Target = AnyContext>>(
    t: u32,
    checkout: impl Fn() -> C + Sync + 'a,
    kernel: &'a str,
    data: &'a [Aligned<f64>],
    want: f64,
) -> Box<dyn FnMut(u64) + 'a> {
    Box::new(move |it| {
        parallel(t as usize, it, &|th, calls| {
            for _ in 0..calls {
                call(&mut checkout(), kernel, &data[th], want);
            }
        });
    })
}

fn call(ctx: &mut AnyContext, kernel: &str, x: &[f64], want: f64) {
    if kernel == "add_u32" {
        black_box(ctx.add_u32(black_box(1), 2).unwrap());
    } else {
        let v = ctx.sum_f64(black_box(x)).unwrap();
        debug_assert_eq!(v, want);
        black_box(v);
    }
}

/// Pool, mutex and direct rows for add_u32 and sum_f64 (10,000), per backend and count.
///
/// The rows of one kernel — direct, and each backend's pool and mutex, at every thread count
/// — are sampled in interleaved rounds ([`measure_interleaved`]): the pool's speedup is read
/// against the direct one, and rows taken minutes apart on this shared 2-vCPU VM differed by
/// more than the 10% the comparison allows.
pub(crate) fn rows(sink: &mut Sink) {
    let k = std::rc::Rc::clone(&sink.kernels);
    let (add, sum) = (k.add, k.sum);
    let counts = thread_counts(sink);
    let max = *counts.iter().max().unwrap_or(&1) as usize;
    let r = Reference::new(SUM_N);
    let want = r.sum(SUM_N);
    // One host slice per thread (native and asm read it in place; wasm copies it in).
    let data: Vec<Aligned<f64>> = (0..max).map(|_| r.x.clone()).collect();
    let config = ContextConfig {
        capacity_bytes: SUM_N * 8,
    };
    let kernels: Vec<&str> = ["add_u32", "sum_f64"]
        .into_iter()
        .filter(|k| sink.opts.wants_kernel(k))
        .collect();
    // Each sample spawns its threads: long samples amortise that (~50 µs) to noise.
    let plan = crate::measure::Plan {
        samples: sink.plan.samples.clamp(5, 21),
        sample_time: sink
            .plan
            .sample_time
            .max(Duration::from_millis(if sink.opts.quick { 20 } else { 30 })),
    };
    let mut backends = Vec::new();
    for backend in ["native", "asm", "wasm"] {
        if !sink.opts.wants_backend(backend) {
            continue;
        }
        let pool = match ffikit::pool(backend, max, config) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("bench-rows: {backend} pool rows NOT RUN: {e}");
                continue;
            }
        };
        let mut one = AnyContext::new(backend, config).expect("a context");
        expect("pool sum_f64", one.sum_f64(&r.x).unwrap(), want);
        expect("pool add_u32", one.add_u32(40, 2).unwrap(), 42);
        backends.push((backend, pool, Mutex::new(one)));
    }
    for &kernel in &kernels {
        let size = if kernel == "add_u32" { 0 } else { SUM_N as u64 };
        // (implementation, backend, threads, batch of calls)
        type Row<'a> = (&'static str, &'static str, u32, Box<dyn FnMut(u64) + 'a>);
        let mut rows: Vec<Row<'_>> = Vec::new();
        for &t in &counts {
            let data = &data;
            rows.push((
                "direct",
                "-",
                t,
                Box::new(move |it| {
                    parallel(t as usize, it, &|th, calls| {
                        let x = &data[th];
                        for _ in 0..calls {
                            if kernel == "add_u32" {
                                black_box(add(black_box(1), 2));
                            } else {
                                // SAFETY: x holds SUM_N f64.
                                black_box(unsafe { sum(black_box(x.as_ptr()), SUM_N) });
                            }
                        }
                    });
                }),
            ));
            for (backend, pool, mutex) in &backends {
                let pooled = || pool.try_acquire().expect("a free pooled context");
                let locked = || mutex.lock().expect("an unpoisoned mutex");
                rows.push((
                    "ffikit",
                    backend,
                    t,
                    checkout_row(t, pooled, kernel, data, want),
                ));
                rows.push((
                    "mutex",
                    backend,
                    t,
                    checkout_row(t, locked, kernel, data, want),
                ));
            }
        }
        let mut batches: Vec<&mut dyn FnMut(u64)> = rows
            .iter_mut()
            .map(|row| &mut *row.3 as &mut dyn FnMut(u64))
            .collect();
        let summaries = measure_interleaved(plan, &mut batches);
        drop(batches);
        for ((imp, backend, t, _), s) in rows.iter().zip(summaries) {
            sink.push("rust-pool", imp, backend, kernel, size, *t, s, None);
        }
    }
}
