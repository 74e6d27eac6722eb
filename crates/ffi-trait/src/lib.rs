//! # ffi-trait: the ffikit contract
//!
//! Everything the backends agree on, and nothing backend-specific:
//!
//! - [`Backend`] (static, zero-cost) and [`DynBackend`] (a trait object chosen at run time
//!   by name): **prepare** once, **call** many times;
//! - the type and signature model ([`Type`], [`Signature`]) and its text form,
//!   `f64(ptr, usize)`, `i32(ptr, ...)`, `{i64, i64}(i64, i64)`;
//! - argument and return values ([`Arg`], [`Value`]) of the dynamic path, and the typed fast
//!   path's [`Params`] / [`ReturnType`];
//! - stable buffers ([`StableBuffer`], [`BufferArg`], [`HostBuffers`]);
//! - typed errors ([`Error`]);
//! - the kernel table ([`kernel::KERNELS`]);
//! - [`Context`] (a backend with the kernels prepared and scratch buffers) and
//!   [`ContextPool`] (per-thread contexts, lock-free when warm).
//!
//! ```
//! use ffi_trait::{Signature, Type};
//! let sig: Signature = "f64(ptr, usize)".parse()?;
//! assert_eq!(sig.ret(), &Type::F64);
//! assert_eq!(sig.to_string(), "f64(ptr, usize)");
//! # Ok::<(), ffi_trait::Error>(())
//! ```

pub mod backend;
pub mod buffer;
pub mod conformance;
pub mod context;
pub mod dyn_backend;
pub mod error;
pub mod kernel;
pub mod library;
pub mod pool;
pub mod raw;
pub mod signature;
pub mod typed;
pub mod types;
pub mod value;

pub use backend::{Backend, DynBackend, DynFunction, DynLibrary, Source, check_args};
pub use buffer::{BufferArg, HostBuffers, MIN_BUFFER_ALIGN, OwnerId, StableBuffer};
pub use context::{Context, ContextConfig};
pub use error::{Error, Result, panic_message};
pub use kernel::KernelSpec;
pub use library::SharedLibrary;
pub use pool::{ContextPool, PoolGuard, PoolItem, PoolStats};
pub use signature::{ParseError, Signature, SignatureError};
pub use typed::{
    ArgType, CStruct, MAX_TYPED_PARAMS, Params, PointerKind, ReturnType, typed_signature,
};
pub use types::{ScalarClass, StructType, Type};
pub use value::{Arg, ArgCheck, ArgChecks, ArgKind, ArgsMismatch, ReturnDecode, Value};
