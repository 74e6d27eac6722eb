//! The reductions (`sum_f64`, `dot_f64`) written out for AVX-512F and AVX2, with the tail
//! read by masked loads.
//!
//! The portable bodies (`sum_body`, `dot_body`) let LLVM vectorise the main loop, but their
//! zero-padded tail chunk (`if j < rem { x[j] } else { 0.0 }` for 16 lanes) compiles to a
//! chain of scalar loads, compares and branches: about 130 instructions before the first
//! add for `dot` at `n = 4`, where a short vector is the whole call. Here the tail is two
//! (AVX-512: `vmovupd` under a `k` mask) or four (AVX2: `vmaskmovpd`) masked loads: lanes
//! outside the mask read as +0.0 and never touch memory (Intel SDM vol. 2, "MASKMOV" and
//! "Memory fault suppression" under AVX-512 masking), so the tail reads exactly `n`
//! elements.
//!
//! The results are bit-identical to the portable bodies and to [`crate::reference`]: the 16
//! lanes are the same accumulators (AVX-512: lanes 0-7 and 8-15 in two `zmm`; AVX2: four
//! `ymm` of 4 lanes), each lane adds its elements in the same order (products not fused),
//! a padded lane adds +0.0 (exact), and the lanes are combined by the same pairwise tree
//! (lane `j` with lane `j + w`, `w = 8, 4, 2, 1`).

use core::arch::x86_64::*;

use crate::LANES;

/// AVX-512F: the 16 lanes are two `zmm` accumulators, lanes 0-7 and 8-15.
pub(crate) mod avx512 {
    use super::*;

    /// Masks `(lanes 0-7, lanes 8-15)` that select the first `rem` (< 16) lanes of a chunk.
    #[inline(always)]
    fn tail_masks(rem: usize) -> (__mmask8, __mmask8) {
        let m = (1u32 << rem) - 1;
        (m as __mmask8, (m >> 8) as __mmask8)
    }

    /// The pairwise tree over the 16 lanes of `(lo, hi)`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn reduce(lo: __m512d, hi: __m512d) -> f64 {
        // w = 8: lane j += lane j + 8.
        let v8 = _mm512_add_pd(lo, hi);
        // w = 4: lanes 0-3 += lanes 4-7.
        let v4 = _mm256_add_pd(_mm512_castpd512_pd256(v8), _mm512_extractf64x4_pd::<1>(v8));
        // w = 2: lanes 0-1 += lanes 2-3.
        let v2 = _mm_add_pd(_mm256_castpd256_pd128(v4), _mm256_extractf128_pd::<1>(v4));
        // w = 1: lane 0 += lane 1.
        _mm_cvtsd_f64(_mm_add_sd(v2, _mm_unpackhi_pd(v2, v2)))
    }

    /// `Σ x[i]` in lane order.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn sum_f64(x: &[f64]) -> f64 {
        let (n, p) = (x.len(), x.as_ptr());
        let (mut lo, mut hi) = (_mm512_setzero_pd(), _mm512_setzero_pd());
        let mut i = 0;
        while i + LANES <= n {
            // SAFETY: `i + 16 <= n`: both 8-element loads are inside `x`.
            unsafe {
                lo = _mm512_add_pd(lo, _mm512_loadu_pd(p.add(i)));
                hi = _mm512_add_pd(hi, _mm512_loadu_pd(p.add(i + 8)));
            }
            i += LANES;
        }
        if i < n {
            let (k0, k1) = tail_masks(n - i);
            // SAFETY: the masks select elements `i..n` only; masked-off lanes are not read
            // and do not fault (the addresses are formed with `wrapping_add`, so forming
            // one past the slice is not itself undefined).
            unsafe {
                lo = _mm512_add_pd(lo, _mm512_maskz_loadu_pd(k0, p.wrapping_add(i)));
                hi = _mm512_add_pd(hi, _mm512_maskz_loadu_pd(k1, p.wrapping_add(i + 8)));
            }
        }
        reduce(lo, hi)
    }

    /// `Σ x[i]·y[i]` in lane order, products not fused.
    ///
    /// # Panics
    /// Never; reads `y[..x.len()]` (callers pass slices of equal length).
    #[target_feature(enable = "avx512f")]
    pub(crate) fn dot_f64(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len().min(y.len());
        let (px, py) = (x.as_ptr(), y.as_ptr());
        let (mut lo, mut hi) = (_mm512_setzero_pd(), _mm512_setzero_pd());
        let mut i = 0;
        while i + LANES <= n {
            // SAFETY: `i + 16 <= n`: every load is inside both slices.
            unsafe {
                let a = _mm512_mul_pd(_mm512_loadu_pd(px.add(i)), _mm512_loadu_pd(py.add(i)));
                let b = _mm512_mul_pd(
                    _mm512_loadu_pd(px.add(i + 8)),
                    _mm512_loadu_pd(py.add(i + 8)),
                );
                lo = _mm512_add_pd(lo, a);
                hi = _mm512_add_pd(hi, b);
            }
            i += LANES;
        }
        if i < n {
            let (k0, k1) = tail_masks(n - i);
            // SAFETY: as in `sum_f64`: only elements `i..n` of both slices are read.
            unsafe {
                let a = _mm512_mul_pd(
                    _mm512_maskz_loadu_pd(k0, px.wrapping_add(i)),
                    _mm512_maskz_loadu_pd(k0, py.wrapping_add(i)),
                );
                let b = _mm512_mul_pd(
                    _mm512_maskz_loadu_pd(k1, px.wrapping_add(i + 8)),
                    _mm512_maskz_loadu_pd(k1, py.wrapping_add(i + 8)),
                );
                lo = _mm512_add_pd(lo, a);
                hi = _mm512_add_pd(hi, b);
            }
        }
        reduce(lo, hi)
    }
}

/// AVX2: the 16 lanes are four `ymm` accumulators of 4 lanes each.
pub(crate) mod avx2 {
    use super::*;

    /// `vmaskmovpd` masks (sign bit set = read) for the first `rem` (< 16) lanes of a chunk,
    /// one per accumulator.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn tail_masks(rem: usize) -> [__m256i; 4] {
        let r = _mm256_set1_epi64x(rem as i64);
        // Lane j of accumulator q is chunk lane 4q + j: read when 4q + j < rem.
        core::array::from_fn(|q| {
            let q = 4 * q as i64;
            _mm256_cmpgt_epi64(r, _mm256_setr_epi64x(q, q + 1, q + 2, q + 3))
        })
    }

    /// The pairwise tree over the 16 lanes of `acc`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn reduce(acc: [__m256d; 4]) -> f64 {
        // w = 8: lanes 0-7 += lanes 8-15.
        let (a, b) = (_mm256_add_pd(acc[0], acc[2]), _mm256_add_pd(acc[1], acc[3]));
        // w = 4: lanes 0-3 += lanes 4-7.
        let v4 = _mm256_add_pd(a, b);
        // w = 2: lanes 0-1 += lanes 2-3.
        let v2 = _mm_add_pd(_mm256_castpd256_pd128(v4), _mm256_extractf128_pd::<1>(v4));
        // w = 1: lane 0 += lane 1.
        _mm_cvtsd_f64(_mm_add_sd(v2, _mm_unpackhi_pd(v2, v2)))
    }

    /// `Σ x[i]` in lane order.
    #[target_feature(enable = "avx2")]
    pub(crate) fn sum_f64(x: &[f64]) -> f64 {
        let (n, p) = (x.len(), x.as_ptr());
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut i = 0;
        while i + LANES <= n {
            for (q, a) in acc.iter_mut().enumerate() {
                // SAFETY: `i + 16 <= n`: the four 4-element loads are inside `x`.
                *a = _mm256_add_pd(*a, unsafe { _mm256_loadu_pd(p.add(i + 4 * q)) });
            }
            i += LANES;
        }
        if i < n {
            let masks = tail_masks(n - i);
            for (q, a) in acc.iter_mut().enumerate() {
                // SAFETY: the masks select elements `i..n` only; `vmaskmovpd` neither reads
                // nor faults on masked-off lanes (addresses formed with `wrapping_add`).
                let v = unsafe { _mm256_maskload_pd(p.wrapping_add(i + 4 * q), masks[q]) };
                *a = _mm256_add_pd(*a, v);
            }
        }
        reduce(acc)
    }

    /// `Σ x[i]·y[i]` in lane order, products not fused.
    #[target_feature(enable = "avx2")]
    pub(crate) fn dot_f64(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len().min(y.len());
        let (px, py) = (x.as_ptr(), y.as_ptr());
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut i = 0;
        while i + LANES <= n {
            for (q, a) in acc.iter_mut().enumerate() {
                // SAFETY: `i + 16 <= n`: every load is inside both slices.
                let prod = unsafe {
                    _mm256_mul_pd(
                        _mm256_loadu_pd(px.add(i + 4 * q)),
                        _mm256_loadu_pd(py.add(i + 4 * q)),
                    )
                };
                *a = _mm256_add_pd(*a, prod);
            }
            i += LANES;
        }
        if i < n {
            let masks = tail_masks(n - i);
            for (q, a) in acc.iter_mut().enumerate() {
                // SAFETY: as in `sum_f64`: only elements `i..n` of both slices are read.
                let prod = unsafe {
                    _mm256_mul_pd(
                        _mm256_maskload_pd(px.wrapping_add(i + 4 * q), masks[q]),
                        _mm256_maskload_pd(py.wrapping_add(i + 4 * q), masks[q]),
                    )
                };
                *a = _mm256_add_pd(*a, prod);
            }
        }
        reduce(acc)
    }
}
