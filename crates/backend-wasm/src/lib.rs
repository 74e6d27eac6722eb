//! # backend-wasm (not built yet)
//!
//! The wasmtime backend: kernels and user modules in WebAssembly, buffers in linear memory.
//! It is the subject of its own issue; until it lands this crate only names itself, and the
//! run-time backend registry reports `wasm` as not built.

/// The backend's name in the run-time registry.
pub const NAME: &str = "wasm";
