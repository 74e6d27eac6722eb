//! Timing: calibrated batches, repeated samples, a [`Summary`] of ns per call.

use std::time::{Duration, Instant};

use bench_matrix::{Summary, median};

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

/// Warms `batch` up and finds a batch size (calls) that takes at least the plan's sample time.
fn calibrate(plan: Plan, batch: &mut dyn FnMut(u64)) -> u64 {
    batch(1); // warm up: first-touch pages, lazy binding, instance caches
    let mut iters = 1u64;
    loop {
        let t = Instant::now();
        batch(iters);
        let took = t.elapsed();
        if took >= plan.sample_time || iters >= 1 << 40 {
            return iters;
        }
        let scale =
            (plan.sample_time.as_nanos() as f64 / took.as_nanos().max(1) as f64).clamp(2.0, 100.0);
        iters = (iters as f64 * scale).ceil() as u64;
    }
}

/// One sample: `batch(iters)` timed, as ns per call.
fn sample(batch: &mut dyn FnMut(u64), iters: u64) -> f64 {
    let t = Instant::now();
    batch(iters);
    t.elapsed().as_nanos() as f64 / iters as f64
}

/// Times `batch(iters)` (which makes `iters` calls): finds a batch size that takes at least
/// the plan's sample time, then takes the plan's samples, each as ns per call.
pub(crate) fn measure(plan: Plan, batch: &mut dyn FnMut(u64)) -> Summary {
    let iters = calibrate(plan, batch);
    let samples: Vec<f64> = (0..plan.samples).map(|_| sample(batch, iters)).collect();
    Summary::of(&samples)
}

/// Times several batches whose ratios are compared (the thread-scaling rows): each is
/// calibrated as in [`measure`], then the samples are taken in rounds, one sample of every
/// batch per round, so a slow spell of the machine (a noisy neighbour on a shared VM) falls on
/// all of them alike instead of on whichever row happened to run then. Returns one
/// [`Summary`] per batch, in order.
pub(crate) fn measure_interleaved(plan: Plan, batches: &mut [&mut dyn FnMut(u64)]) -> Vec<Summary> {
    let iters: Vec<u64> = batches.iter_mut().map(|b| calibrate(plan, *b)).collect();
    let mut samples = vec![Vec::with_capacity(plan.samples); batches.len()];
    for _ in 0..plan.samples {
        for ((batch, &n), out) in batches.iter_mut().zip(&iters).zip(&mut samples) {
            out.push(sample(*batch, n));
        }
    }
    samples.iter().map(|s| Summary::of(s)).collect()
}

/// Times a row (`row`) against its floor (`floor`), interleaved: both are calibrated as in
/// [`measure`], then each round takes one sample of the floor and one of the row. Returns the
/// row's [`Summary`] and the median over the rounds of `row sample / floor sample`, so a slow
/// spell of the machine falls on the row and its floor alike.
pub(crate) fn measure_paired(
    plan: Plan,
    floor: &mut dyn FnMut(u64),
    row: &mut dyn FnMut(u64),
) -> (Summary, f64) {
    let floor_iters = calibrate(plan, floor);
    let row_iters = calibrate(plan, row);
    let (mut times, mut ratios) = (Vec::new(), Vec::new());
    for _ in 0..plan.samples {
        let f = sample(floor, floor_iters);
        let t = sample(row, row_iters);
        times.push(t);
        ratios.push(t / f);
    }
    (Summary::of(&times), median(&ratios))
}
