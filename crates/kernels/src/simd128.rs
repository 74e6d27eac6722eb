//! The reductions (`sum_f64`, `dot_f64`) for `wasm32` with `simd128`, written with
//! `core::arch::wasm32` vectors.
//!
//! The portable bodies in `lib.rs` compile to a poor wasm loop: LLVM's wasm backend keeps
//! fourteen of the sixteen partial sums as scalar `f64` locals and rebuilds each pair with
//! `f64x2.splat` + `f64x2.replace_lane`, then takes it apart with two `f64x2.extract_lane`,
//! on every iteration (seen with `wasm2wat` on the release `.wasm`); Cranelift cannot undo
//! that, and the zero-copy `sum_f64` over 100,000 f64 took 2.1x the native kernel. Here the
//! [`LANES`] partial sums live in eight `f64x2` vectors for the whole loop.
//!
//! Vector `k` holds lanes `2k` and `2k + 1`, so lane `j` still sums elements
//! `j, j + LANES, ...` in order, the tail is still one zero-padded chunk, and the pairwise
//! tree (`j` with `j + w` for `w = 8, 4, 2, 1`) is vector `k` with `k + w/2` for
//! `w = 8, 4, 2`, then lane 0 with lane 1: the results are bit-identical to every other
//! build (the kernels' tests compare them with `reference`).

use core::arch::wasm32::{f64x2, f64x2_add, f64x2_extract_lane, f64x2_mul, v128, v128_load};

use crate::LANES;

/// `f64x2` vectors holding the [`LANES`] partial sums.
const VECTORS: usize = LANES / 2;

/// The two f64 at `c[2k..2k + 2]`.
#[inline(always)]
fn pair(c: &[f64], k: usize) -> v128 {
    debug_assert!(2 * k + 2 <= c.len());
    // SAFETY: callers pass a full chunk of LANES elements and k < VECTORS, so both f64 are
    // inside `c`; `v128_load` has no alignment requirement.
    unsafe { v128_load(c.as_ptr().add(2 * k).cast()) }
}

/// The two f64 at `rem[2k..2k + 2]`, each `+0.0` past the end of `rem` (the zero-padded tail).
#[inline(always)]
fn padded_pair(rem: &[f64], k: usize) -> v128 {
    let at = |j: usize| rem.get(j).copied().unwrap_or(0.0);
    f64x2(at(2 * k), at(2 * k + 1))
}

/// The fixed pairwise tree of `lib.rs`'s `reduce`, on vectors.
#[inline(always)]
fn reduce(mut acc: [v128; VECTORS]) -> f64 {
    let mut w = VECTORS / 2;
    while w > 0 {
        for k in 0..w {
            acc[k] = f64x2_add(acc[k], acc[k + w]);
        }
        w /= 2;
    }
    f64x2_extract_lane::<0>(acc[0]) + f64x2_extract_lane::<1>(acc[0])
}

/// The sum of `x` in lane order.
pub(crate) fn sum_f64(x: &[f64]) -> f64 {
    let mut acc = [f64x2(0.0, 0.0); VECTORS];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = f64x2_add(*a, pair(c, k));
        }
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = f64x2_add(*a, padded_pair(rem, k));
        }
    }
    reduce(acc)
}

/// The dot product of `x` and `y` (the same length) in lane order, products not fused.
pub(crate) fn dot_f64(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [f64x2(0.0, 0.0); VECTORS];
    let mut xc = x.chunks_exact(LANES);
    let mut yc = y.chunks_exact(LANES);
    for (a, b) in (&mut xc).zip(&mut yc) {
        for (k, s) in acc.iter_mut().enumerate() {
            *s = f64x2_add(*s, f64x2_mul(pair(a, k), pair(b, k)));
        }
    }
    let (rx, ry) = (xc.remainder(), yc.remainder());
    if !rx.is_empty() {
        for (k, s) in acc.iter_mut().enumerate() {
            *s = f64x2_add(*s, f64x2_mul(padded_pair(rx, k), padded_pair(ry, k)));
        }
    }
    reduce(acc)
}
