//! The kernels called directly through their C-ABI exports, checked against the plain
//! reference implementations (exactly) and against naive sums (within rounding).

use ffikit_kernels::*;
use proptest::prelude::*;

fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn scalar_kernels() {
    ffikit_noop();
    assert_eq!(ffikit_add_u32(2, 3), 5);
    assert_eq!(ffikit_add_u32(u32::MAX, 2), 1);
    println!("dispatched SIMD level: {}", simd_level());
}

#[test]
fn zero_length_accepts_null() {
    // SAFETY: n == 0 never reads the pointers.
    unsafe {
        assert_eq!(ffikit_sum_f64(std::ptr::null(), 0), 0.0);
        assert_eq!(ffikit_dot_f64(std::ptr::null(), std::ptr::null(), 0), 0.0);
        ffikit_axpy_f64(2.0, std::ptr::null(), std::ptr::null_mut(), 0);
        ffikit_add_u32_batch(std::ptr::null(), std::ptr::null(), std::ptr::null_mut(), 0);
    }
}

#[test]
fn reductions_match_reference_exactly_and_naive_closely() {
    for n in [1, 2, 31, 32, 33, 63, 64, 65, 1000, 100_000] {
        let x = data(n, n as u64);
        let y = data(n, 7 + n as u64);
        // SAFETY: both vectors hold n elements.
        let (s, d) = unsafe {
            (
                ffikit_sum_f64(x.as_ptr(), n),
                ffikit_dot_f64(x.as_ptr(), y.as_ptr(), n),
            )
        };
        assert_eq!(s.to_bits(), reference::sum_f64(&x).to_bits(), "sum n={n}");
        assert_eq!(
            d.to_bits(),
            reference::dot_f64(&x, &y).to_bits(),
            "dot n={n}"
        );
        let naive: f64 = x.iter().sum();
        assert!(
            (s - naive).abs() <= 1e-9 * n as f64,
            "sum n={n}: {s} vs {naive}"
        );
    }
}

#[test]
fn elementwise_kernels_and_in_place_aliasing() {
    let n = 1001;
    let x = data(n, 1);
    let mut y = data(n, 2);
    let mut want = y.clone();
    reference::axpy_f64(1.5, &x, &mut want);
    // SAFETY: n elements each; x and y do not overlap.
    unsafe { ffikit_axpy_f64(1.5, x.as_ptr(), y.as_mut_ptr(), n) };
    assert_eq!(y, want);

    // In place: y = 2·y + y.
    let mut z = data(n, 3);
    let want: Vec<f64> = z.iter().map(|v| 2.0 * v + v).collect();
    let p = z.as_mut_ptr();
    // SAFETY: the kernel allows y == x.
    unsafe { ffikit_axpy_f64(2.0, p, p, n) };
    assert_eq!(z, want);

    let a: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(2654435761)).collect();
    let b: Vec<u32> = (0..n as u32).map(|i| u32::MAX - i).collect();
    let mut out = vec![0u32; n];
    let mut want = vec![0u32; n];
    reference::add_u32_batch(&a, &b, &mut want);
    // SAFETY: n elements each.
    unsafe { ffikit_add_u32_batch(a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), n) };
    assert_eq!(out, want);
    let mut a2 = a.clone();
    let p = a2.as_mut_ptr();
    // SAFETY: out == a is allowed.
    unsafe { ffikit_add_u32_batch(p, b.as_ptr(), p, n) };
    assert_eq!(a2, want);
}

proptest! {
    #[test]
    fn sum_and_dot_match_reference(x in prop::collection::vec(-1e6f64..1e6, 0..300)) {
        let y: Vec<f64> = x.iter().rev().copied().collect();
        // SAFETY: both hold x.len() elements.
        let (s, d) = unsafe {
            (ffikit_sum_f64(x.as_ptr(), x.len()), ffikit_dot_f64(x.as_ptr(), y.as_ptr(), x.len()))
        };
        prop_assert_eq!(s.to_bits(), reference::sum_f64(&x).to_bits());
        prop_assert_eq!(d.to_bits(), reference::dot_f64(&x, &y).to_bits());
    }
}
