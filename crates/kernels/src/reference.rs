//! Plain, obviously-correct implementations of the kernels, in the same summation order as
//! the optimised ones (lane `j` takes elements `j, j + LANES, ...`; lanes combined pairwise),
//! so tests and benchmarks can check any backend's result exactly.

use crate::LANES;

fn combine(mut acc: [f64; LANES]) -> f64 {
    let mut w = LANES / 2;
    while w > 0 {
        for j in 0..w {
            acc[j] += acc[j + w];
        }
        w /= 2;
    }
    acc[0]
}

/// The sum of `x` in lane order.
pub fn sum_f64(x: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    for (i, v) in x.iter().enumerate() {
        acc[i % LANES] += v;
    }
    combine(acc)
}

/// The dot product of `x` and `y[..x.len()]` in lane order, products not fused.
///
/// # Panics
/// When `y` is shorter than `x`.
pub fn dot_f64(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    for (i, v) in x.iter().enumerate() {
        acc[i % LANES] += v * y[i];
    }
    combine(acc)
}

/// `y = a·x + y`, element-wise, not fused.
pub fn axpy_f64(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `out[i] = a[i] + b[i]`, wrapping.
pub fn add_u32_batch(a: &[u32], b: &[u32], out: &mut [u32]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x.wrapping_add(*y);
    }
}
