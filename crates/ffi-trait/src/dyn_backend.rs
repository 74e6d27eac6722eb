//! [`DynBackend`], the object-safe form of [`Backend`] for a backend chosen at run time by
//! name, with its type-erased handles ([`DynLibrary`], [`DynFunction`]): every `Backend` is
//! a `DynBackend`, and a handle used with another backend is refused with a typed error.

use std::any::{Any, TypeId};
use std::ffi::c_void;

use crate::backend::{Backend, Source};
use crate::buffer::{OwnerId, StableBuffer};
use crate::error::{Error, Result};
use crate::raw::RawEntry;
use crate::signature::Signature;
use crate::typed::PointerKind;
use crate::value::{Arg, Value};

/// A library opened by a [`DynBackend`]; the concrete backend's library, type-erased.
pub struct DynLibrary(Box<dyn Any + Send>);

/// A function prepared by a [`DynBackend`]; the concrete backend's function, type-erased.
pub struct DynFunction {
    inner: Box<dyn Any + Send>,
    /// The [`TypeId`] of `inner`'s concrete type, set with it: a call compares it with its
    /// backend's function type with no virtual call (`Any::type_id` is one).
    type_id: TypeId,
    signature: Signature,
    symbol: String,
    /// [`Backend::function_address`] as an integer (0: none), so the handle stays `Send`.
    address: usize,
    /// [`Backend::raw_entry`] of `inner`, taken once `inner` was boxed.
    raw_entry: Option<RawEntry>,
}

// SAFETY: `raw_entry` only points into `inner` (which is `Send`) and at code; it is read
// only by `raw_entry()`'s callers, under `RawEntry::call`'s contract.
unsafe impl Send for DynFunction {}

impl DynFunction {
    /// The concrete function, if it is an `F`.
    #[inline(always)]
    fn concrete<F: 'static>(&self) -> Result<&F> {
        if self.type_id != TypeId::of::<F>() {
            return Err(self.foreign());
        }
        // SAFETY: `type_id` is the type id of `inner`'s concrete type (both are set only
        // together, in `DynBackend::prepare`), which is `F`: the cast drops the vtable of
        // the same object.
        Ok(unsafe { &*(&raw const *self.inner).cast::<F>() })
    }

    /// The error for a function of another backend.
    #[cold]
    #[inline(never)]
    fn foreign(&self) -> Error {
        Error::ForeignHandle {
            what: self.symbol.clone(),
            kind: "backend",
        }
    }

    /// The signature it was prepared with.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The symbol it was resolved from.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// The function's libffi-style call entry ([`Backend::raw_entry`]), if its backend has
    /// one for it. Valid while this `DynFunction` lives.
    #[inline(always)]
    pub fn raw_entry(&self) -> Option<RawEntry> {
        self.raw_entry
    }

    /// The function's host address ([`Backend::function_address`]): `Some` for the native
    /// and asm backends, `None` for wasm.
    pub fn address(&self) -> Option<*const c_void> {
        (self.address != 0).then_some(self.address as *const c_void)
    }
}

/// The object-safe form of [`Backend`], for a backend chosen at run time
/// (`Box<dyn DynBackend>`). Every `Backend` is a `DynBackend`; handles are type-erased and
/// checked (one type-id comparison) when used.
pub trait DynBackend: Send {
    /// The backend's name.
    fn name(&self) -> &'static str;
    /// [`Backend::POINTERS`].
    fn pointers(&self) -> PointerKind;
    /// See [`Backend::owner`].
    fn owner(&self) -> OwnerId;
    /// See [`Backend::open`].
    ///
    /// # Errors
    /// As [`Backend::open`].
    fn open(&mut self, source: Source<'_>) -> Result<DynLibrary>;
    /// See [`Backend::prepare`].
    ///
    /// # Safety
    /// As [`Backend::prepare`].
    ///
    /// # Errors
    /// As [`Backend::prepare`], and [`Error::ForeignHandle`] for a library of another backend.
    unsafe fn prepare(
        &mut self,
        lib: &DynLibrary,
        symbol: &str,
        sig: &Signature,
    ) -> Result<DynFunction>;
    /// See [`Backend::prepare_address`].
    ///
    /// # Safety
    /// As [`Backend::prepare_address`].
    ///
    /// # Errors
    /// As [`Backend::prepare_address`].
    unsafe fn prepare_address(
        &mut self,
        code: *const c_void,
        sig: &Signature,
    ) -> Result<DynFunction>;
    /// See [`Backend::call`].
    ///
    /// # Safety
    /// As [`Backend::call`].
    ///
    /// # Errors
    /// As [`Backend::call`], and [`Error::ForeignHandle`] for a function of another backend.
    unsafe fn call(&mut self, f: &DynFunction, args: &[Arg<'_>], ret: &mut [u8]) -> Result<Value>;
    /// See [`Backend::call_raw`].
    ///
    /// # Safety
    /// As [`Backend::call_raw`].
    ///
    /// # Errors
    /// As [`DynBackend::call`].
    unsafe fn call_raw(
        &mut self,
        f: &DynFunction,
        args: *const *const c_void,
        nargs: usize,
        ret: *mut c_void,
    ) -> Result<()>;
    /// See [`Backend::alloc_stable_buffer`].
    ///
    /// # Errors
    /// As [`Backend::alloc_stable_buffer`].
    fn alloc_stable_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer>;
    /// See [`Backend::free_stable_buffer`].
    ///
    /// # Errors
    /// As [`Backend::free_stable_buffer`].
    fn free_stable_buffer(&mut self, buffer: StableBuffer) -> Result<()>;
}

/// `f` (prepared with `sig`, named `symbol`) as a type-erased [`DynFunction`], with its
/// address and raw entry read once.
fn erase<B: Backend>(f: B::Function, sig: &Signature, symbol: String) -> DynFunction {
    let address = B::function_address(&f).map_or(0, |p| p as usize);
    let inner = Box::new(f);
    let raw_entry = B::raw_entry(&inner);
    DynFunction {
        address,
        raw_entry,
        inner,
        type_id: TypeId::of::<B::Function>(),
        signature: sig.clone(),
        symbol,
    }
}

fn downcast<'a, T: 'static>(inner: &'a (dyn Any + Send), what: &str) -> Result<&'a T> {
    inner
        .downcast_ref::<T>()
        .ok_or_else(|| Error::ForeignHandle {
            what: what.to_owned(),
            kind: "backend",
        })
}

impl<B: Backend> DynBackend for B {
    fn name(&self) -> &'static str {
        B::NAME
    }
    fn pointers(&self) -> PointerKind {
        B::POINTERS
    }

    fn owner(&self) -> OwnerId {
        Backend::owner(self)
    }

    fn open(&mut self, source: Source<'_>) -> Result<DynLibrary> {
        Ok(DynLibrary(Box::new(Backend::open(self, source)?)))
    }

    unsafe fn prepare(
        &mut self,
        lib: &DynLibrary,
        symbol: &str,
        sig: &Signature,
    ) -> Result<DynFunction> {
        let lib = downcast::<B::Library>(&*lib.0, "library")?;
        // SAFETY: forwarded from the caller's contract.
        let f = unsafe { Backend::prepare(self, lib, symbol, sig)? };
        Ok(erase::<B>(f, sig, symbol.to_owned()))
    }

    unsafe fn prepare_address(
        &mut self,
        code: *const c_void,
        sig: &Signature,
    ) -> Result<DynFunction> {
        // SAFETY: forwarded from the caller's contract.
        let f = unsafe { Backend::prepare_address(self, code, sig)? };
        Ok(erase::<B>(f, sig, format!("{code:p}")))
    }

    #[inline]
    unsafe fn call(&mut self, f: &DynFunction, args: &[Arg<'_>], ret: &mut [u8]) -> Result<Value> {
        let inner = f.concrete::<B::Function>()?;
        // SAFETY: forwarded from the caller's contract.
        unsafe { Backend::call(self, inner, args, ret) }
    }

    #[inline]
    unsafe fn call_raw(
        &mut self,
        f: &DynFunction,
        args: *const *const c_void,
        nargs: usize,
        ret: *mut c_void,
    ) -> Result<()> {
        let inner = f.concrete::<B::Function>()?;
        // SAFETY: forwarded from the caller's contract.
        unsafe { Backend::call_raw(self, inner, args, nargs, ret) }
    }

    fn alloc_stable_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer> {
        Backend::alloc_stable_buffer(self, len, align)
    }

    fn free_stable_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        Backend::free_stable_buffer(self, buffer)
    }
}
