//! Timing: calibrated batches, repeated samples, a [`Summary`] of ns per call.

use std::time::{Duration, Instant};

use bench_matrix::Summary;

/// How long and how often to sample.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Samples per row.
    pub(crate) samples: usize,
    /// The least duration of one sample (a batch of calls).
    pub(crate) sample_time: Duration,
}

impl Plan {
    pub(crate) fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                samples: 7,
                sample_time: Duration::from_micros(400),
            }
        } else {
            Plan {
                samples: 21,
                sample_time: Duration::from_millis(3),
            }
        }
    }
}

/// Times `batch(iters)` (which makes `iters` calls): finds a batch size that takes at least
/// the plan's sample time, then takes the plan's samples, each as ns per call.
pub(crate) fn measure(plan: Plan, batch: &mut dyn FnMut(u64)) -> Summary {
    batch(1); // warm up: first-touch pages, lazy binding, instance caches
    let mut iters = 1u64;
    loop {
        let t = Instant::now();
        batch(iters);
        let took = t.elapsed();
        if took >= plan.sample_time || iters >= 1 << 40 {
            break;
        }
        let scale =
            (plan.sample_time.as_nanos() as f64 / took.as_nanos().max(1) as f64).clamp(2.0, 100.0);
        iters = (iters as f64 * scale).ceil() as u64;
    }
    let samples: Vec<f64> = (0..plan.samples)
        .map(|_| {
            let t = Instant::now();
            batch(iters);
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    Summary::of(&samples)
}
