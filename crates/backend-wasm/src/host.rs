//! Host functions: Rust code that a WebAssembly guest imports and calls, declared with the
//! signature grammar of every other ffikit call — the wasm counterpart of the asm backend's
//! closures.
//!
//! [`HostFunctions`] collects `(module, name, signature, handler)` definitions; a
//! [`crate::WasmEngine`] made with [`crate::WasmEngine::with_host_functions`] puts them in
//! its wasmtime `Linker` once (engine-wide, like the compiled modules), so every module
//! whose imports they satisfy instantiates in every context of that engine. Calls go
//! through `Linker::func_new_unchecked`: the arguments are read straight from wasmtime's
//! `ValRaw` slots, with no `Val` array built per call.
//!
//! Types map as for calls into wasm: `bool i8 u8 i16 u16 i32 u32 isize usize ptr` are wasm
//! `i32` (`ptr` is an offset into the calling instance's linear memory, read with
//! [`HostCall::offset`] and dereferenced through [`HostCall::memory`]); `i64 u64` are `i64`;
//! `f32 f64` are themselves. Structs by value and variadics are not part of the wasm core
//! ABI and are refused when the function is defined.
//!
//! A handler that returns `Err(message)` traps the guest with that message, and a handler
//! that panics traps it with the panic's message: either way the caller of the wasm export
//! gets [`ffi_trait::Error::Trap`] (and the context is poisoned, as after any trap); nothing
//! unwinds through guest frames.

use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use ffi_trait::{ArgKind, Error, Result, ReturnType, Signature, Type, panic_message};
use wasmtime::{Caller, Engine, FuncType, Linker, ValRaw, ValType};

use crate::{StoreData, wasm_type};

/// A handler: reads the arguments and writes the result through [`HostCall`].
type Handler = dyn Fn(&mut HostCall<'_, '_>) -> std::result::Result<(), String> + Send + Sync;

/// One definition.
struct HostDef {
    module: String,
    name: String,
    signature: Signature,
    handler: Arc<Handler>,
}

/// A set of host functions for guests to import; see the module docs.
#[derive(Default)]
pub struct HostFunctions {
    defs: Vec<HostDef>,
}

impl std::fmt::Debug for HostFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.defs
                    .iter()
                    .map(|d| format!("{}.{}: {}", d.module, d.name, d.signature)),
            )
            .finish()
    }
}

impl HostFunctions {
    /// An empty set.
    pub fn new() -> HostFunctions {
        HostFunctions::default()
    }

    /// Defines the import `module.name` of `signature` (the text grammar, e.g.
    /// `"f64(ptr, i32)"`), run by `handler`.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`] for text that does not parse; [`Error::UnsupportedSignature`]
    /// for structs by value, variadics or more than [`crate::MAX_ARGS`] arguments;
    /// [`Error::Backend`] when `module.name` is already defined here.
    pub fn define<F>(
        &mut self,
        module: &str,
        name: &str,
        signature: &str,
        handler: F,
    ) -> Result<&mut HostFunctions>
    where
        F: Fn(&mut HostCall<'_, '_>) -> std::result::Result<(), String> + Send + Sync + 'static,
    {
        let signature: Signature = signature.parse()?;
        let unsupported = |reason: &str| Error::UnsupportedSignature {
            backend: "wasm",
            signature: signature.to_string(),
            reason: reason.to_owned(),
        };
        if signature.is_variadic() {
            return Err(unsupported("WebAssembly functions are not variadic"));
        }
        if signature.args().len() > crate::MAX_ARGS {
            return Err(unsupported("more than 32 arguments"));
        }
        if signature
            .args()
            .iter()
            .chain([signature.ret()])
            .any(Type::is_struct)
        {
            return Err(unsupported(
                "structs by value are not part of the WebAssembly core ABI; pass a pointer",
            ));
        }
        if self
            .defs
            .iter()
            .any(|d| d.module == module && d.name == name)
        {
            return Err(crate::backend_error(format!(
                "the host function `{module}.{name}` is already defined"
            )));
        }
        self.defs.push(HostDef {
            module: module.to_owned(),
            name: name.to_owned(),
            signature,
            handler: Arc::new(handler),
        });
        Ok(self)
    }

    /// Puts every definition into `linker`.
    pub(crate) fn install(&self, engine: &Engine, linker: &mut Linker<StoreData>) -> Result<()> {
        for d in &self.defs {
            let params: Vec<ValType> = d.signature.args().iter().filter_map(wasm_type).collect();
            let results: Vec<ValType> = wasm_type(d.signature.ret()).into_iter().collect();
            let ty = FuncType::new(engine, params, results);
            let kinds: Arc<[ArgKind]> = d
                .signature
                .args()
                .iter()
                .map(|t| ArgKind::of(t).expect("scalars only (checked in define)"))
                .collect();
            let ret_kind = ArgKind::of(d.signature.ret());
            let (handler, signature) = (d.handler.clone(), d.signature.clone());
            let what: Arc<str> = format!("{}.{}", d.module, d.name).into();
            let call = move |caller: Caller<'_, StoreData>, vals: &mut [MaybeUninit<ValRaw>]| {
                let mut call = HostCall {
                    caller,
                    vals,
                    kinds: &kinds,
                    ret_kind,
                    signature: &signature,
                };
                match catch_unwind(AssertUnwindSafe(|| handler(&mut call))) {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(message)) => Err(wasmtime::Error::msg(format!(
                        "host function `{what}` failed: {message}"
                    ))),
                    Err(payload) => Err(wasmtime::Error::msg(format!(
                        "host function `{what}` panicked: {}",
                        panic_message(&*payload)
                    ))),
                }
            };
            // SAFETY: the closure reads exactly the parameters of `ty` from `vals` (by the
            // kinds derived from the same signature) and writes at most its one result
            // into slot 0, as `func_new_unchecked` requires.
            unsafe { linker.func_new_unchecked(&d.module, &d.name, ty, call) }.map_err(|e| {
                crate::backend_error(format!(
                    "defining the host function `{}.{}`: {e:#}",
                    d.module, d.name
                ))
            })?;
        }
        Ok(())
    }
}

/// One call of a host function: its arguments, its result and the calling instance.
pub struct HostCall<'a, 'c> {
    caller: Caller<'c, StoreData>,
    vals: &'a mut [MaybeUninit<ValRaw>],
    kinds: &'a [ArgKind],
    ret_kind: Option<ArgKind>,
    signature: &'a Signature,
}

impl HostCall<'_, '_> {
    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// True for a function without arguments.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The function's signature.
    pub fn signature(&self) -> &Signature {
        self.signature
    }

    /// The raw 64-bit image of argument `i`: an `i32` zero-extended, `f32`/`f64` bits.
    fn raw(&self, i: usize) -> u64 {
        // SAFETY: wasmtime initialises every parameter slot before calling the host function.
        let v = unsafe { self.vals[i].assume_init() };
        match self.kinds[i] {
            ArgKind::I64 | ArgKind::U64 => v.get_i64() as u64,
            ArgKind::F32 => v.get_f32() as u64,
            ArgKind::F64 => v.get_f64(),
            // The guest's isize is 32 bits: sign-extend it.
            ArgKind::Isize => v.get_u32() as i32 as i64 as u64,
            _ => v.get_u32() as u64,
        }
    }

    /// Argument `i` as a `T` (a scalar of the argument's type; `isize`/`usize` carry the
    /// guest's 32-bit values).
    ///
    /// # Panics
    /// When `i` is out of range, `T` is not the argument's type, or the argument is a `ptr`
    /// (a guest offset: use [`HostCall::offset`]). The panic traps the guest.
    pub fn get<T: ReturnType>(&self, i: usize) -> T {
        let kind = self.kinds[i];
        assert!(
            kind != ArgKind::Ptr,
            "argument {i} of host function `{}` is a guest pointer: read it with offset({i})",
            self.signature
        );
        assert!(
            Some(kind) == T::KIND,
            "argument {i} of host function `{}` is {}, read as another type",
            self.signature,
            self.signature.args()[i]
        );
        T::from_bits(self.raw(i))
    }

    /// Argument `i`, a `ptr`, as an offset into the calling instance's linear memory.
    ///
    /// # Panics
    /// When `i` is out of range or the argument is not a `ptr`.
    pub fn offset(&self, i: usize) -> u32 {
        assert!(
            self.kinds[i] == ArgKind::Ptr,
            "argument {i} of host function `{}` is not a ptr",
            self.signature
        );
        self.raw(i) as u32
    }

    /// Sets the result.
    ///
    /// # Panics
    /// When `T` is not the return type (a `ptr` return is set with [`HostCall::set_offset`]).
    pub fn set<T: ReturnType>(&mut self, value: T) {
        assert!(
            self.ret_kind == T::KIND && self.ret_kind != Some(ArgKind::Ptr),
            "host function `{}` cannot return this type",
            self.signature
        );
        let mut bits = [0u8; 8];
        // SAFETY: `T` is a scalar of at most 8 bytes (its kind is one of the grammar's).
        unsafe { bits.as_mut_ptr().cast::<T>().write_unaligned(value) };
        let bits = u64::from_le_bytes(bits);
        let raw = match self.ret_kind {
            Some(ArgKind::I64 | ArgKind::U64) => ValRaw::i64(bits as i64),
            Some(ArgKind::F32) => ValRaw::f32(bits as u32),
            Some(ArgKind::F64) => ValRaw::f64(bits),
            Some(ArgKind::Bool) => ValRaw::u32((bits as u8 != 0) as u32),
            Some(ArgKind::I8) => ValRaw::i32(bits as i8 as i32),
            Some(ArgKind::I16) => ValRaw::i32(bits as i16 as i32),
            Some(ArgKind::U8) => ValRaw::u32(bits as u8 as u32),
            Some(ArgKind::U16) => ValRaw::u32(bits as u16 as u32),
            _ => ValRaw::u32(bits as u32),
        };
        self.vals[0] = MaybeUninit::new(raw);
    }

    /// Sets a `ptr` result: an offset into the calling instance's linear memory.
    ///
    /// # Panics
    /// When the return type is not `ptr`.
    pub fn set_offset(&mut self, offset: u32) {
        assert!(
            self.ret_kind == Some(ArgKind::Ptr),
            "host function `{}` does not return a ptr",
            self.signature
        );
        self.vals[0] = MaybeUninit::new(ValRaw::u32(offset));
    }

    /// The calling instance's linear memory (its export `memory`), or `None` when it exports
    /// none.
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        let memory = self.caller.get_export("memory")?.into_memory()?;
        Some(memory.data_mut(&mut self.caller))
    }

    /// `len` bytes of the calling instance's memory at `offset`.
    ///
    /// # Errors
    /// A message (which, returned from the handler, traps the guest) when the instance has no
    /// memory or the range is out of bounds.
    pub fn bytes(&mut self, offset: u32, len: usize) -> std::result::Result<&mut [u8], String> {
        let memory = self
            .memory()
            .ok_or_else(|| "the calling instance exports no memory".to_owned())?;
        let size = memory.len();
        memory
            .get_mut(offset as usize..offset as usize + len)
            .ok_or_else(|| {
                format!("{len} bytes at offset {offset} are outside the guest's {size}-byte memory")
            })
    }
}
