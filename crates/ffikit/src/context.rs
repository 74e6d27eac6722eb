//! [`AnyContext`]: a [`Context`] of the backend named at run time, and [`pool`] to make a
//! [`ContextPool`] of them.
//!
//! The backend is an enum variant, not a trait object, so each kernel method is one `match`
//! and then the backend's typed call (no virtual call, nothing boxed).

use std::path::Path;

use ffi_trait::{
    Context, ContextConfig, ContextPool, DynBackend, DynFunction, OwnerId, PoolItem, Result,
    Source, StableBuffer,
};

#[cfg(feature = "asm")]
use backend_asm::AsmBackend;
#[cfg(feature = "native")]
use backend_native::NativeBackend;
#[cfg(feature = "wasm")]
use backend_wasm::WasmBackend;

use crate::locate::kernels_for;

/// A [`Context`] of one of the backends built into this ffikit, chosen by name.
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "a context is created once and kept in place (a pool slot, a C handle); boxing the large variant would add a pointer chase to every kernel call"
)]
pub enum AnyContext {
    /// The native backend (libloading + `extern "C"` pointers).
    #[cfg(feature = "native")]
    Native(Context<NativeBackend>),
    /// The asm backend (naked-asm trampolines).
    #[cfg(feature = "asm")]
    Asm(Context<AsmBackend>),
    /// The wasm backend (wasmtime).
    #[cfg(feature = "wasm")]
    Wasm(Context<WasmBackend>),
}

/// Runs `$body` with `$c` bound to the inner `Context<_>` of whichever backend `$ctx` is.
macro_rules! each {
    ($ctx:expr, $c:ident => $body:expr) => {
        match $ctx {
            #[cfg(feature = "native")]
            AnyContext::Native($c) => $body,
            #[cfg(feature = "asm")]
            AnyContext::Asm($c) => $body,
            #[cfg(feature = "wasm")]
            AnyContext::Wasm($c) => $body,
        }
    };
}

impl AnyContext {
    /// A context of the backend named `backend` (`"native"`, `"asm"`, `"wasm"`), with the
    /// kernels found as [`crate::locate`] describes.
    ///
    /// # Errors
    /// [`ffi_trait::Error::UnknownBackend`], [`ffi_trait::Error::LibraryNotFound`] when the
    /// kernels are not found, and what [`Context::new`] reports.
    pub fn new(backend: &str, config: ContextConfig) -> Result<AnyContext> {
        let b = crate::backend_by_name(backend)?;
        let path = kernels_for(b.pointers())?;
        drop(b);
        AnyContext::with_kernels(backend, &path, config)
    }

    /// As [`AnyContext::new`], with the kernels file given.
    ///
    /// # Errors
    /// As [`AnyContext::new`].
    pub fn with_kernels(
        backend: &str,
        kernels: &Path,
        config: ContextConfig,
    ) -> Result<AnyContext> {
        let source = Source::Path(kernels);
        match backend {
            #[cfg(feature = "native")]
            "native" => Ok(AnyContext::Native(Context::new(
                NativeBackend::new(),
                source,
                config,
            )?)),
            #[cfg(feature = "asm")]
            "asm" => Ok(AnyContext::Asm(Context::new(
                AsmBackend::new()?,
                source,
                config,
            )?)),
            #[cfg(feature = "wasm")]
            "wasm" => Ok(AnyContext::Wasm(Context::new(
                WasmBackend::new()?,
                source,
                config,
            )?)),
            _ => Err(crate::unknown_backend(backend)),
        }
    }

    /// The backend as a trait object, for dynamic calls of other libraries in this context.
    pub fn backend(&mut self) -> &mut dyn DynBackend {
        each!(self, c => c.backend())
    }

    /// The owner of this context's handles ([`ffi_trait::Backend::owner`]): a function or
    /// buffer made by another context carries another.
    pub fn owner(&self) -> OwnerId {
        each!(self, c => c.owner())
    }

    /// [`DynBackend::call_raw`] on this context's backend: one `match` on the variant, then
    /// that backend's own `call_raw` (no virtual call, unlike through
    /// [`AnyContext::backend`]).
    ///
    /// # Safety
    /// As [`DynBackend::call_raw`].
    ///
    /// # Errors
    /// As [`DynBackend::call_raw`] ([`ffi_trait::Error::ForeignHandle`] for a function
    /// another backend prepared).
    #[inline]
    pub unsafe fn call_raw(
        &mut self,
        f: &DynFunction,
        args: *const *const std::ffi::c_void,
        nargs: usize,
        ret: *mut std::ffi::c_void,
    ) -> Result<()> {
        // SAFETY: forwarded from the caller's contract.
        let r = each!(self, c => unsafe { DynBackend::call_raw(c.backend(), f, args, nargs, ret) });
        if let Err(e) = &r {
            self.record_trap(e);
        }
        r
    }

    /// See [`Context::record_trap`].
    pub fn record_trap(&mut self, e: &ffi_trait::Error) {
        each!(self, c => c.record_trap(e))
    }

    /// The backend's name.
    pub fn name(&self) -> &'static str {
        each!(self, c => c.name())
    }

    /// The host C function of kernel `name`, for native and asm contexts; see
    /// [`Context::kernel_address`].
    pub fn kernel_address(&self, name: &str) -> Option<*const std::ffi::c_void> {
        each!(self, c => c.kernel_address(name))
    }

    /// Why the context is poisoned, if it is.
    pub fn poisoned(&self) -> Option<&str> {
        each!(self, c => c.poisoned())
    }

    /// See [`Context::trapped`].
    pub fn trapped(&self) -> Option<&str> {
        each!(self, c => c.trapped())
    }

    /// See [`Context::poison`].
    pub fn poison(&mut self, reason: impl Into<String>) {
        each!(self, c => c.poison(reason))
    }

    /// See [`Context::scratch`].
    pub fn scratch(&self) -> [StableBuffer; 3] {
        each!(self, c => c.scratch())
    }

    /// See [`Context::alloc_buffer`].
    ///
    /// # Errors
    /// As [`Context::alloc_buffer`].
    pub fn alloc_buffer(&mut self, len: usize) -> Result<StableBuffer> {
        each!(self, c => c.alloc_buffer(len))
    }

    /// See [`Context::free_buffer`].
    ///
    /// # Errors
    /// As [`Context::free_buffer`].
    pub fn free_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        each!(self, c => c.free_buffer(buffer))
    }

    /// See [`Context::noop`].
    ///
    /// # Errors
    /// As [`Context::noop`].
    #[inline]
    pub fn noop(&mut self) -> Result<()> {
        each!(self, c => c.noop())
    }

    /// See [`Context::add_u32`].
    ///
    /// # Errors
    /// As [`Context::add_u32`].
    #[inline]
    pub fn add_u32(&mut self, a: u32, b: u32) -> Result<u32> {
        each!(self, c => c.add_u32(a, b))
    }

    /// See [`Context::add_u32_batch`].
    ///
    /// # Errors
    /// As [`Context::add_u32_batch`].
    #[inline]
    pub fn add_u32_batch(&mut self, a: &[u32], b: &[u32], out: &mut [u32]) -> Result<()> {
        each!(self, c => c.add_u32_batch(a, b, out))
    }

    /// See [`Context::sum_f64`].
    ///
    /// # Errors
    /// As [`Context::sum_f64`].
    #[inline]
    pub fn sum_f64(&mut self, x: &[f64]) -> Result<f64> {
        each!(self, c => c.sum_f64(x))
    }

    /// See [`Context::dot_f64`].
    ///
    /// # Errors
    /// As [`Context::dot_f64`].
    #[inline]
    pub fn dot_f64(&mut self, x: &[f64], y: &[f64]) -> Result<f64> {
        each!(self, c => c.dot_f64(x, y))
    }

    /// See [`Context::axpy_f64`].
    ///
    /// # Errors
    /// As [`Context::axpy_f64`].
    #[inline]
    pub fn axpy_f64(&mut self, a: f64, x: &[f64], y: &mut [f64]) -> Result<()> {
        each!(self, c => c.axpy_f64(a, x, y))
    }

    /// See [`Context::sum_f64_buffer`].
    ///
    /// # Errors
    /// As [`Context::sum_f64_buffer`].
    #[inline]
    pub fn sum_f64_buffer(&mut self, x: &StableBuffer, n: usize) -> Result<f64> {
        each!(self, c => c.sum_f64_buffer(x, n))
    }

    /// See [`Context::dot_f64_buffer`].
    ///
    /// # Errors
    /// As [`Context::dot_f64_buffer`].
    #[inline]
    pub fn dot_f64_buffer(&mut self, x: &StableBuffer, y: &StableBuffer, n: usize) -> Result<f64> {
        each!(self, c => c.dot_f64_buffer(x, y, n))
    }

    /// See [`Context::axpy_f64_buffer`].
    ///
    /// # Errors
    /// As [`Context::axpy_f64_buffer`].
    #[inline]
    pub fn axpy_f64_buffer(
        &mut self,
        a: f64,
        x: &StableBuffer,
        y: &StableBuffer,
        n: usize,
    ) -> Result<()> {
        each!(self, c => c.axpy_f64_buffer(a, x, y, n))
    }

    /// See [`Context::add_u32_batch_buffer`].
    ///
    /// # Errors
    /// As [`Context::add_u32_batch_buffer`].
    #[inline]
    pub fn add_u32_batch_buffer(
        &mut self,
        a: &StableBuffer,
        b: &StableBuffer,
        out: &StableBuffer,
        n: usize,
    ) -> Result<()> {
        each!(self, c => c.add_u32_batch_buffer(a, b, out, n))
    }
}

impl PoolItem for AnyContext {
    #[inline]
    fn is_poisoned(&self) -> bool {
        self.poisoned().is_some()
    }

    #[inline]
    fn has_trapped(&self) -> bool {
        self.trapped().is_some()
    }
}

/// A pool of at most `max` contexts of the backend named `backend`, created on demand.
///
/// The name is checked and the kernels located now, so a typo fails here rather than at the
/// first checkout.
///
/// # Errors
/// As [`AnyContext::new`].
pub fn pool(backend: &str, max: usize, config: ContextConfig) -> Result<ContextPool<AnyContext>> {
    let b = crate::backend_by_name(backend)?;
    let path = kernels_for(b.pointers())?;
    drop(b);
    let name = backend.to_owned();
    Ok(ContextPool::new(max, move || {
        AnyContext::with_kernels(&name, &path, config)
    }))
}
