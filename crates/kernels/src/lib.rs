//! # ffikit kernels
//!
//! One Rust source, exported with the C ABI under the `ffikit_` prefix, built to
//! `libffikit_kernels.so` (this crate's `cdylib`) and to `ffikit_kernels.wasm`
//! (`wasm32-unknown-unknown` with `simd128`). The signatures are listed in
//! `ffi_trait::kernel`.
//!
//! ## Speed
//! Reductions keep [`LANES`] independent partial sums, so LLVM vectorises them and the
//! floating-point adds of different lanes overlap instead of waiting on one another (a
//! single accumulator is bound by the add latency, 3-4 cycles, not by memory). On x86-64
//! each kernel is compiled three times — baseline SSE2, AVX2+FMA, AVX-512F — and the best
//! level the CPU supports is picked at run time on the first call (`is_x86_feature_detected!`,
//! the result cached in an atomic function pointer), so the library runs on any x86-64 and at
//! full width where AVX-512 exists. AArch64 always has NEON, which the baseline uses.
//!
//! ## Results are the same everywhere
//! Lane `j` sums elements `j, j + LANES, j + 2·LANES, ...` in order and the lanes are then
//! combined by a fixed pairwise tree, so the result does not depend on the vector width: the
//! SSE2, AVX2, AVX-512, NEON and wasm `simd128` builds return bit-identical values. For the
//! same reason products and sums are never fused into FMA (Rust never contracts `a * b + c`),
//! even in the AVX2+FMA build. The order differs from a naive left-to-right loop, so compare
//! against one with a tolerance, or against [`reference`] exactly.
//!
//! ## Pointers
//! A count of 0 never reads its pointers (they may be NULL). Element-wise kernels
//! (`add_u32_batch`, `axpy_f64`) allow their output to alias an input exactly (in place);
//! partial overlap gives the result of the sequential loop.

#![cfg_attr(target_arch = "wasm32", no_std)]

pub mod reference;

#[cfg(not(target_arch = "wasm32"))]
pub mod locate;

/// Independent partial sums kept by the reductions (`sum_f64`, `dot_f64`): two AVX-512
/// vectors, four AVX2 vectors, eight SSE2 / NEON / simd128 vectors. Enough chains to reach
/// the cache's bandwidth on every level, and few enough that the 16 vector registers of
/// SSE2 and of Cranelift's wasm `simd128` code hold them without spilling (32 lanes made the
/// wasm build spill). The wasm build keeps them in eight `f64x2` vectors written out with
/// `core::arch::wasm32` (module `simd128`), since LLVM's wasm output of the portable loop
/// moved most lanes through scalar locals on every iteration.
pub const LANES: usize = 16;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
/// Combines the lanes by a fixed pairwise tree (lane `j` with lane `j + w`, for
/// `w = 8, 4, 2, 1`), the same order on every target.
#[inline(always)]
fn reduce(mut acc: [f64; LANES]) -> f64 {
    let mut w = LANES / 2;
    while w > 0 {
        for j in 0..w {
            acc[j] += acc[j + w];
        }
        w /= 2;
    }
    acc[0]
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn sum_body(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            acc[j] += c[j];
        }
    }
    // The tail goes through a zero-padded chunk and the same vector adds: lane-wise scalar
    // updates of the accumulators stalled on store forwarding (~20 ns per call for any n not
    // a multiple of 16). Adding +0.0 is exact and leaves every lane as it was (a lane that
    // starts at +0.0 never becomes -0.0 under round-to-nearest), so the result is unchanged.
    let rem = chunks.remainder();
    if !rem.is_empty() {
        for j in 0..LANES {
            acc[j] += if j < rem.len() { rem[j] } else { 0.0 };
        }
    }
    reduce(acc)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn dot_body(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut xc = x.chunks_exact(LANES);
    let mut yc = y.chunks_exact(LANES);
    for (a, b) in (&mut xc).zip(&mut yc) {
        for j in 0..LANES {
            acc[j] += a[j] * b[j];
        }
    }
    // As in `sum_body`: the tail as one zero-padded chunk (+0.0 · +0.0 adds nothing).
    let (rx, ry) = (xc.remainder(), yc.remainder());
    if !rx.is_empty() {
        for j in 0..LANES {
            let (a, b) = if j < rx.len() {
                (rx[j], ry[j])
            } else {
                (0.0, 0.0)
            };
            acc[j] += a * b;
        }
    }
    reduce(acc)
}

/// # Safety
/// `x` and `y` valid for `n` reads and `n` writes of `y`; see the module docs on aliasing.
#[inline(always)]
unsafe fn axpy_body(a: f64, x: *const f64, y: *mut f64, n: usize) {
    for i in 0..n {
        // SAFETY: i < n and the caller guarantees n valid elements behind both pointers.
        unsafe { *y.add(i) = a * *x.add(i) + *y.add(i) };
    }
}

/// # Safety
/// `a`, `b` valid for `n` reads and `out` for `n` writes.
#[inline(always)]
unsafe fn add_batch_body(a: *const u32, b: *const u32, out: *mut u32, n: usize) {
    for i in 0..n {
        // SAFETY: i < n and the caller guarantees n valid elements behind every pointer.
        unsafe { *out.add(i) = (*a.add(i)).wrapping_add(*b.add(i)) };
    }
}

/// Builds a slice for a kernel, allowing NULL when `n == 0`.
///
/// # Safety
/// When `n > 0`, `p` must be valid for `n` reads.
#[inline(always)]
unsafe fn slice<'a>(p: *const f64, n: usize) -> &'a [f64] {
    if n == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller for n > 0.
        unsafe { core::slice::from_raw_parts(p, n) }
    }
}

#[cfg(target_arch = "x86_64")]
mod dispatch;

#[cfg(target_arch = "x86_64")]
mod masked;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

/// Does nothing: the cost of a bare call.
#[unsafe(no_mangle)]
pub extern "C" fn ffikit_noop() {}

/// Returns `a + b`, wrapping on overflow.
#[unsafe(no_mangle)]
pub extern "C" fn ffikit_add_u32(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

/// `out[i] = a[i] + b[i]` (wrapping) for `i < n`: `n` additions in one call.
///
/// # Safety
/// When `n > 0`: `a` and `b` valid for `n` reads of `u32`, `out` for `n` writes. `out` may be
/// `a` or `b` (in place).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_add_u32_batch(
    a: *const u32,
    b: *const u32,
    out: *mut u32,
    n: usize,
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        (dispatch::kernels().add_u32_batch)(a, b, out, n)
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        add_batch_body(a, b, out, n)
    }
}

/// The sum of `x[0..n]` (lane order; see the module docs).
///
/// # Safety
/// When `n > 0`, `x` valid for `n` reads of `f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_sum_f64(x: *const f64, n: usize) -> f64 {
    // SAFETY: forwarded from the caller's contract.
    let x = unsafe { slice(x, n) };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the dispatcher only returns functions for features this CPU has.
    unsafe {
        (dispatch::kernels().sum_f64)(x)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::sum_f64(x);
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    sum_body(x)
}

/// The dot product `Σ x[i]·y[i]` for `i < n` (lane order; products not fused).
///
/// # Safety
/// When `n > 0`, `x` and `y` valid for `n` reads of `f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_dot_f64(x: *const f64, y: *const f64, n: usize) -> f64 {
    // SAFETY: forwarded from the caller's contract.
    let (x, y) = unsafe { (slice(x, n), slice(y, n)) };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the dispatcher only returns functions for features this CPU has.
    unsafe {
        (dispatch::kernels().dot_f64)(x, y)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::dot_f64(x, y);
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    dot_body(x, y)
}

/// `y[i] = a·x[i] + y[i]` for `i < n` (not fused).
///
/// # Safety
/// When `n > 0`, `x` valid for `n` reads and `y` for `n` reads and writes of `f64`. `y` may
/// be `x`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_axpy_f64(a: f64, x: *const f64, y: *mut f64, n: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        (dispatch::kernels().axpy_f64)(a, x, y, n)
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        axpy_body(a, x, y, n)
    }
}

/// The instruction-set level the x86-64 kernels dispatched to: `"avx512"`, `"avx2"` or
/// `"sse2"`; on other targets the fixed level (`"neon"`, `"simd128"`, `"scalar"`).
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    return dispatch::kernels().level;
    #[cfg(target_arch = "aarch64")]
    return "neon";
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return "simd128";
    #[allow(unreachable_code)]
    "scalar"
}

/// `const char *ffikit_kernels_simd_level(void)`: [`simd_level`] as a NUL-terminated string
/// with static lifetime.
#[unsafe(no_mangle)]
pub extern "C" fn ffikit_kernels_simd_level() -> *const core::ffi::c_char {
    match simd_level() {
        "avx512" => c"avx512".as_ptr(),
        "avx2" => c"avx2".as_ptr(),
        "sse2" => c"sse2".as_ptr(),
        "neon" => c"neon".as_ptr(),
        "simd128" => c"simd128".as_ptr(),
        _ => c"scalar".as_ptr(),
    }
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
