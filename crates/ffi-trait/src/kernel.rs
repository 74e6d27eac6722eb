//! The kernels every backend runs: their exported symbols and signatures.
//!
//! The kernels live in `crates/kernels`, built to `libffikit_kernels.so` and to
//! `ffikit_kernels.wasm` from one source. Pointer arguments are buffer pointers: a host
//! address natively, a linear-memory offset in WebAssembly, so one kernel call reads the same
//! in every backend.

/// One kernel: its exported C symbol and its signature in the text grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSpec {
    /// Short name (`"sum_f64"`), as used in benchmark and API names.
    pub name: &'static str,
    /// Exported symbol (`"ffikit_sum_f64"`).
    pub symbol: &'static str,
    /// Signature text (`"f64(ptr, usize)"`).
    pub signature: &'static str,
}

/// `void ffikit_noop(void)`: does nothing; measures the bare call.
pub const NOOP: KernelSpec = KernelSpec {
    name: "noop",
    symbol: "ffikit_noop",
    signature: "void()",
};
/// `uint32_t ffikit_add_u32(uint32_t a, uint32_t b)`: wrapping `a + b`.
pub const ADD_U32: KernelSpec = KernelSpec {
    name: "add_u32",
    symbol: "ffikit_add_u32",
    signature: "u32(u32, u32)",
};
/// `void ffikit_add_u32_batch(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)`:
/// `out[i] = a[i] + b[i]` (wrapping) for `i < n`; `n` additions in one call.
pub const ADD_U32_BATCH: KernelSpec = KernelSpec {
    name: "add_u32_batch",
    symbol: "ffikit_add_u32_batch",
    signature: "void(ptr, ptr, ptr, usize)",
};
/// `double ffikit_sum_f64(const double *x, size_t n)`: the sum of `x[0..n]`.
pub const SUM_F64: KernelSpec = KernelSpec {
    name: "sum_f64",
    symbol: "ffikit_sum_f64",
    signature: "f64(ptr, usize)",
};
/// `double ffikit_dot_f64(const double *x, const double *y, size_t n)`: `Σ x[i]·y[i]`.
pub const DOT_F64: KernelSpec = KernelSpec {
    name: "dot_f64",
    symbol: "ffikit_dot_f64",
    signature: "f64(ptr, ptr, usize)",
};
/// `void ffikit_axpy_f64(double a, const double *x, double *y, size_t n)`: `y = a·x + y`.
pub const AXPY_F64: KernelSpec = KernelSpec {
    name: "axpy_f64",
    symbol: "ffikit_axpy_f64",
    signature: "void(f64, ptr, ptr, usize)",
};

/// Every kernel, in the order the benchmark matrix lists them.
pub const KERNELS: [KernelSpec; 6] = [NOOP, ADD_U32, ADD_U32_BATCH, SUM_F64, DOT_F64, AXPY_F64];

/// The kernel named `name` (short name or symbol), if any.
pub fn kernel(name: &str) -> Option<KernelSpec> {
    KERNELS
        .iter()
        .copied()
        .find(|k| k.name == name || k.symbol == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_signature_parses() {
        for k in KERNELS {
            let sig = crate::Signature::parse(k.signature).unwrap();
            assert_eq!(sig.to_string(), k.signature);
            assert_eq!(kernel(k.name), Some(k));
        }
    }
}
