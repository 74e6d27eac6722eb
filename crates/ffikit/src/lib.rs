//! # ffikit
//!
//! Call foreign code — a C shared library or a WebAssembly module — at the cost of a function
//! call. This facade re-exports the contract ([`ffi_trait`]) and the backends compiled in,
//! chosen statically by Cargo feature (`native`, `asm`, `wasm`) or at run time by name with
//! [`backend_by_name`].
//!
//! ```
//! use ffikit::{Arg, Source, Value};
//! let mut backend = ffikit::backend_by_name("native")?;
//! let libm = backend.open(Source::Path("libm.so.6".as_ref()))?;
//! // SAFETY: libm's `cos` has the C signature `double cos(double)`.
//! let cos = unsafe { backend.prepare(&libm, "cos", &"f64(f64)".parse()?)? };
//! // SAFETY: `cos` takes no pointers.
//! let v = unsafe { backend.call(&cos, &[Arg::f64(0.0)], &mut [])? };
//! assert_eq!(v, Value::F64(1.0));
//! # Ok::<(), ffikit::Error>(())
//! ```

pub mod context;
pub mod locate;

pub use context::{AnyContext, pool};
pub use ffi_trait::*;

#[cfg(feature = "asm")]
pub use backend_asm::{
    AsmBackend, AsmFunction, AsmTyped, Closure, ClosureArgs, MAX_CLOSURE_ARGS, RegisterArg,
    RegisterPlacement, ReturnSlot, register_placement,
};
#[cfg(feature = "native")]
pub use backend_native::{NativeBackend, NativeFunction, NativeLibrary, NativeTyped};
#[cfg(feature = "wasm")]
pub use backend_wasm::{
    HostCall, HostFunctions, WasmBackend, WasmConfig, WasmEngine, WasmFunction, WasmLibrary,
    WasmTyped,
};

/// The names of the backends, in the order the benchmark matrix lists them, and whether this
/// build of ffikit contains each.
pub const BACKENDS: [(&str, bool); 3] = [
    ("native", cfg!(feature = "native")),
    ("asm", cfg!(feature = "asm")),
    ("wasm", cfg!(feature = "wasm")),
];

/// A new context of the backend named `name` (`"native"`, `"asm"` or `"wasm"`), as a trait
/// object.
///
/// # Errors
/// [`Error::UnknownBackend`] when no backend of that name is built into this ffikit; the
/// message lists the ones that are. [`Error::UnsupportedTarget`] for `asm` on an
/// architecture without a trampoline.
pub fn backend_by_name(name: &str) -> Result<Box<dyn DynBackend>> {
    match name {
        #[cfg(feature = "native")]
        "native" => Ok(Box::new(NativeBackend::new())),
        #[cfg(feature = "asm")]
        "asm" => Ok(Box::new(AsmBackend::new()?)),
        #[cfg(feature = "wasm")]
        "wasm" => Ok(Box::new(WasmBackend::new()?)),
        _ => Err(unknown_backend(name)),
    }
}

/// [`Error::UnknownBackend`] for `name`, listing the backends built into this ffikit.
pub(crate) fn unknown_backend(name: &str) -> Error {
    Error::UnknownBackend {
        name: name.to_owned(),
        available: BACKENDS
            .iter()
            .filter(|(_, built)| *built)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_by_name() {
        for (name, built) in BACKENDS {
            match backend_by_name(name) {
                Ok(b) => assert!(built && b.name() == name),
                Err(e) => assert!(!built && e.to_string().contains(name), "{e}"),
            }
        }
        let e = backend_by_name("jit").err().unwrap();
        assert_eq!(
            e.to_string(),
            "unknown backend `jit`: expected one of native, asm, wasm"
        );
    }
}
