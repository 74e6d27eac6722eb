//! Run-time CPU-feature dispatch on x86-64.
//!
//! Each kernel body is compiled three times with `#[target_feature]`; the first call detects
//! the CPU's features and caches a table of the best versions behind an atomic pointer, which
//! every later call loads (one relaxed load, no lock).

use core::sync::atomic::{AtomicPtr, Ordering};

/// The kernels of one instruction-set level.
pub(crate) struct Kernels {
    pub(crate) level: &'static str,
    pub(crate) sum_f64: unsafe fn(&[f64]) -> f64,
    pub(crate) dot_f64: unsafe fn(&[f64], &[f64]) -> f64,
    pub(crate) axpy_f64: unsafe fn(f64, *const f64, *mut f64, usize),
    pub(crate) add_u32_batch: unsafe fn(*const u32, *const u32, *mut u32, usize),
}

macro_rules! level {
    // `$reductions`: the `masked` module holding this level's `sum_f64` and `dot_f64`, or
    // `portable` for the crate's `sum_body` / `dot_body` compiled with the level's features.
    ($module:ident, $name:literal, $features:literal, portable) => {
        level!(@table $module, $name, $features, {
            #[target_feature(enable = $features)]
            pub(super) unsafe fn sum_f64(x: &[f64]) -> f64 {
                crate::sum_body(x)
            }
            #[target_feature(enable = $features)]
            pub(super) unsafe fn dot_f64(x: &[f64], y: &[f64]) -> f64 {
                crate::dot_body(x, y)
            }
        });
    };
    ($module:ident, $name:literal, $features:literal, $reductions:ident) => {
        level!(@table $module, $name, $features, {
            #[target_feature(enable = $features)]
            pub(super) unsafe fn sum_f64(x: &[f64]) -> f64 {
                crate::masked::$reductions::sum_f64(x)
            }
            #[target_feature(enable = $features)]
            pub(super) unsafe fn dot_f64(x: &[f64], y: &[f64]) -> f64 {
                crate::masked::$reductions::dot_f64(x, y)
            }
        });
    };
    (@table $module:ident, $name:literal, $features:literal, { $($reduction_fns:item)* }) => {
        mod $module {
            $($reduction_fns)*
            /// # Safety
            /// As `ffikit_axpy_f64`, on a CPU with these features.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn axpy_f64(a: f64, x: *const f64, y: *mut f64, n: usize) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { crate::axpy_body(a, x, y, n) }
            }
            /// # Safety
            /// As `ffikit_add_u32_batch`, on a CPU with these features.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn add_u32_batch(
                a: *const u32,
                b: *const u32,
                out: *mut u32,
                n: usize,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { crate::add_batch_body(a, b, out, n) }
            }
            pub(super) static KERNELS: super::Kernels = super::Kernels {
                level: $name,
                sum_f64,
                dot_f64,
                axpy_f64,
                add_u32_batch,
            };
        }
    };
}

level!(avx512, "avx512", "avx512f,avx2,fma", avx512);
level!(avx2, "avx2", "avx2,fma", avx2);
level!(sse2, "sse2", "sse2", portable);

static SELECTED: AtomicPtr<Kernels> = AtomicPtr::new(core::ptr::null_mut());

/// The best kernels for this CPU (detected on the first call, then cached).
#[inline(always)]
pub(crate) fn kernels() -> &'static Kernels {
    let p = SELECTED.load(Ordering::Relaxed);
    if p.is_null() {
        return select();
    }
    // SAFETY: SELECTED only ever holds pointers to the `static` tables above.
    unsafe { &*p }
}

/// The level named by `FFIKIT_KERNELS_LEVEL` (`sse2`, `avx2`, `avx512`), when set and this CPU
/// supports it: for running under tools whose CPU model lacks instructions the best level
/// uses (valgrind has no AVX-512 and not every AVX2 masked move), and for comparing levels.
fn forced() -> Option<&'static Kernels> {
    let level = std::env::var("FFIKIT_KERNELS_LEVEL").ok()?;
    let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
    match level.as_str() {
        "sse2" => Some(&sse2::KERNELS),
        "avx2" if avx2 => Some(&avx2::KERNELS),
        "avx512" if avx2 && std::is_x86_feature_detected!("avx512f") => Some(&avx512::KERNELS),
        _ => None,
    }
}

#[cold]
fn select() -> &'static Kernels {
    let chosen: &'static Kernels = if let Some(k) = forced() {
        k
    } else if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        &avx512::KERNELS
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        &avx2::KERNELS
    } else {
        &sse2::KERNELS
    };
    SELECTED.store(chosen as *const Kernels as *mut Kernels, Ordering::Relaxed);
    chosen
}

/// Every level this CPU supports, best first (for tests that check the levels agree).
#[cfg(test)]
pub(crate) fn available() -> Vec<&'static Kernels> {
    let mut v: Vec<&'static Kernels> = Vec::new();
    if std::is_x86_feature_detected!("avx512f") {
        v.push(&avx512::KERNELS);
    }
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        v.push(&avx2::KERNELS);
    }
    v.push(&sse2::KERNELS);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_gives_bit_identical_results() {
        let x: Vec<f64> = (0..1037)
            .map(|i| ((i * 7919) % 1000) as f64 * 1e-3 - 0.37)
            .collect();
        let y: Vec<f64> = (0..1037)
            .map(|i| ((i * 104729) % 997) as f64 * 1e-2)
            .collect();
        let levels = available();
        println!(
            "levels on this CPU: {:?}",
            levels.iter().map(|k| k.level).collect::<Vec<_>>()
        );
        for n in (0..=40).chain([63, 64, 65, 100, 1037]) {
            let want_sum = crate::reference::sum_f64(&x[..n]);
            let want_dot = crate::reference::dot_f64(&x[..n], &y[..n]);
            for k in &levels {
                // SAFETY: `available` lists only levels this CPU supports.
                unsafe {
                    assert_eq!(
                        (k.sum_f64)(&x[..n]).to_bits(),
                        want_sum.to_bits(),
                        "{} sum n={n}",
                        k.level
                    );
                    assert_eq!(
                        (k.dot_f64)(&x[..n], &y[..n]).to_bits(),
                        want_dot.to_bits(),
                        "{} dot n={n}",
                        k.level
                    );
                }
            }
        }
    }
}
