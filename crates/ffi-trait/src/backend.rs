//! The [`Backend`] trait (static, zero-cost); its object-safe twin [`DynBackend`] (chosen at
//! run time by name) is in [`crate::dyn_backend`] and re-exported here.
//!
//! A backend instance is one *context*: the libraries or modules it opened, its stable
//! buffers and the functions it prepared. It is used by one thread at a time (it is `Send`,
//! not `Sync`); threads that call concurrently each take their own context from a pool.
//!
//! Work is split the way libffi splits `ffi_prep_cif` from `ffi_call`: **prepare** (open the
//! library, resolve the symbol, classify the signature into a call plan) happens once;
//! **call** only moves values into place and calls — no allocation, no lock, no lookup.

use std::ffi::c_void;
use std::path::Path;

use crate::buffer::{OwnerId, StableBuffer};
use crate::error::{Error, Result};
use crate::raw::RawEntry;
use crate::signature::Signature;
use crate::typed::{Params, PointerKind, ReturnType};
use crate::types::Type;
use crate::value::{Arg, ArgKind, Value};

pub use crate::dyn_backend::{DynBackend, DynFunction, DynLibrary};

/// Where a backend loads foreign code from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A file: a shared library (`.so`) for the native and asm backends, a `.wasm` or `.wat`
    /// file for the wasm backend. A bare name without `/` (`"libm.so.6"`) is searched for by
    /// the system loader (`dlopen(3)`).
    Path(&'a Path),
    /// The bytes of a module in memory (wasm backend only).
    Bytes(&'a [u8]),
}

impl Source<'_> {
    /// A short description for messages: the path, or `"<N bytes>"`.
    pub fn describe(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Bytes(b) => format!("<{} bytes>", b.len()),
        }
    }
}

/// A backend: one way of calling foreign code, and one context of it.
///
/// Use it generically (`fn run<B: Backend>(b: &mut B)`, monomorphised, zero-cost) or through
/// [`DynBackend`] as a trait object chosen at run time.
///
/// # Safety of calls
/// Foreign code is outside Rust's guarantees. `prepare` is `unsafe` because the caller
/// asserts that the symbol really has the given C signature (as with libloading's
/// `Library::get`); `call` is `unsafe` because the callee may dereference pointer arguments.
/// Backends that check everything themselves (wasm) also offer safe inherent methods.
pub trait Backend: Send {
    /// The backend's name: `"native"`, `"asm"` or `"wasm"`.
    const NAME: &'static str;
    /// The kind of address its foreign code uses for pointers: host addresses (native, asm)
    /// or linear-memory offsets (wasm). Host slices are passed in place to the first; the
    /// second needs them copied into a stable buffer.
    const POINTERS: PointerKind;
    /// An opened library or instantiated module.
    type Library: Send + 'static;
    /// A prepared dynamic call: the resolved symbol and its call plan.
    type Function: Send + 'static;
    /// A prepared typed call.
    type Typed<P: Params, R: ReturnType>: Send;

    /// The identity stamped on this context's buffers and handles.
    fn owner(&self) -> OwnerId;

    /// Opens a shared library or instantiates a module in this context.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] when it cannot be opened (the loader's reason included);
    /// [`Error::UnsupportedSource`] for a source kind this backend cannot load.
    fn open(&mut self, source: Source<'_>) -> Result<Self::Library>;

    /// Resolves `symbol` in `lib` and prepares a dynamic call of signature `sig`.
    ///
    /// # Safety
    /// The symbol must be a function whose C signature is `sig` (for backends that cannot
    /// check it), and `lib` must have been opened by this context.
    ///
    /// # Errors
    /// [`Error::SymbolNotFound`], [`Error::UnsupportedSignature`],
    /// [`Error::SignatureMismatch`] (where the foreign code carries types).
    unsafe fn prepare(
        &mut self,
        lib: &Self::Library,
        symbol: &str,
        sig: &Signature,
    ) -> Result<Self::Function>;

    /// Prepares a dynamic call of signature `sig` of the function at `code`, an address the
    /// caller already holds (a vtable or plugin table slot, `dlsym`/`GetProcAddress`, code a
    /// JIT made): what libffi's `ffi_call(cif, fn, ...)`, goffi's `CallFunction` and Java
    /// FFM's `downcallHandle(address, ...)` take. The same plan and call path as
    /// [`Backend::prepare`]; no library is opened or kept alive for it. Errors name the
    /// function by its address (`0x7f...`).
    ///
    /// The default refuses: a backend whose functions are host code addresses (native, asm)
    /// overrides it; one whose functions live elsewhere (wasm: guest functions in a module)
    /// keeps the refusal.
    ///
    /// # Safety
    /// `code` is the address of a function whose C signature is `sig`, callable from this
    /// thread for as long as the returned function is called (the caller keeps whatever
    /// holds the code, a library or a JIT's buffer, alive).
    ///
    /// # Errors
    /// [`Error::NullAddress`] for a null `code`; [`Error::AddressUnsupported`] from a
    /// backend that cannot call host code; otherwise as [`Backend::prepare`]
    /// ([`Error::UnsupportedSignature`]).
    unsafe fn prepare_address(
        &mut self,
        code: *const c_void,
        sig: &Signature,
    ) -> Result<Self::Function> {
        let _ = (code, sig);
        Err(Error::AddressUnsupported {
            backend: Self::NAME,
        })
    }

    /// The signature a function was prepared with.
    fn signature_of(f: &Self::Function) -> &Signature;

    /// Calls a prepared function.
    ///
    /// `args` has one value per argument of the signature, each matching its type
    /// ([`Arg::matches`]). A struct return is written into `ret`, which must be at least the
    /// struct's size; for scalar and void returns `ret` is ignored (pass `&mut []`) and the
    /// value is returned.
    ///
    /// # Safety
    /// The call must be sound for these argument values: every pointer must be valid for what
    /// the callee does with it.
    ///
    /// # Errors
    /// [`Error::ArgumentCount`], [`Error::ArgumentType`], [`Error::ReturnSlotTooSmall`],
    /// [`Error::ForeignBuffer`], plus what the backend can detect at run time
    /// ([`Error::Trap`], [`Error::DeadlineExceeded`], [`Error::StackBudgetExceeded`]).
    unsafe fn call(
        &mut self,
        f: &Self::Function,
        args: &[Arg<'_>],
        ret: &mut [u8],
    ) -> Result<Value>;

    /// Calls a prepared function with libffi's argument convention: `args[i]` points at the
    /// `i`-th argument's value (in the host's C layout), and the result is written to `ret`.
    ///
    /// Integer returns are written widened to 8 bytes (sign- or zero-extended, as libffi's
    /// `ffi_arg`), so a caller may read them as either type; `f32` as 4 bytes, `f64` and
    /// pointers as 8, structs as their size. The default implementation decodes the values
    /// into [`Arg`]s and calls [`Backend::call`]; backends may override it with a direct path.
    ///
    /// # Safety
    /// `args` must point at `nargs` pointers, each valid for a read of its argument's type;
    /// `ret` must be valid for writes of `max(8, size of the return type)` bytes (or may be
    /// null for `void`); and the call must be sound as for [`Backend::call`].
    ///
    /// # Errors
    /// As [`Backend::call`].
    unsafe fn call_raw(
        &mut self,
        f: &Self::Function,
        args: *const *const c_void,
        nargs: usize,
        ret: *mut c_void,
    ) -> Result<()> {
        // SAFETY: forwarded from the caller's contract.
        unsafe { call_raw_by_args(self, f, args, nargs, ret) }
    }

    /// Resolves `symbol` and prepares a typed call `R(P...)`.
    ///
    /// # Safety
    /// As for [`Backend::prepare`]: the symbol must have the C signature `R(P...)`.
    ///
    /// # Errors
    /// As for [`Backend::prepare`], and [`Error::TypedStructLayout`] for a
    /// [`CStruct`](crate::CStruct) whose Rust layout is not its struct type's
    /// ([`typed_signature`](crate::typed_signature)).
    unsafe fn prepare_typed<P: Params, R: ReturnType>(
        &mut self,
        lib: &Self::Library,
        symbol: &str,
    ) -> Result<Self::Typed<P, R>>;

    /// Calls a typed function: nothing is checked or converted that prepare could check.
    ///
    /// # Safety
    /// As for [`Backend::call`].
    ///
    /// # Errors
    /// Only what the backend detects at run time (a trap, a deadline, a foreign buffer).
    unsafe fn call_typed<P: Params, R: ReturnType>(
        &mut self,
        f: &Self::Typed<P, R>,
        args: P,
    ) -> Result<R>;

    /// The host C function behind a typed function, when calling it directly through a
    /// function pointer of type `R (*)(P...)` is exactly what [`Backend::call_typed`] does
    /// (native code in this process: the native and asm backends); `None` otherwise (the
    /// default; wasm, whose functions are not host code). Lets a C or Go caller make the
    /// call itself, at the cost of a plain call.
    fn typed_address<P: Params, R: ReturnType>(f: &Self::Typed<P, R>) -> Option<*const c_void> {
        let _ = f;
        None
    }

    /// The function's libffi-style call entry, where the backend has one for it (`None`, the
    /// default, elsewhere): [`DynFunction::raw_entry`] keeps it, and the C API's
    /// `ffikit_call` runs it with nothing between the C caller and the plan.
    ///
    /// The entry may keep `f`'s address: it is taken only once `f` is in its final place (the
    /// heap box of a [`DynFunction`]), and is valid while `f` lives unchanged.
    fn raw_entry(f: &Self::Function) -> Option<RawEntry> {
        let _ = f;
        None
    }

    /// The host address of a dynamically prepared function, for backends whose foreign code
    /// is native code in this process (native, asm); `None` otherwise (the default; wasm).
    /// Lets a caller in another language that classifies registers by the same plan (the Go
    /// binding's goroutine-stack trampoline) make the call itself.
    fn function_address(f: &Self::Function) -> Option<*const c_void> {
        let _ = f;
        None
    }

    /// Allocates a stable buffer of `len` bytes aligned to `max(align, 64)`, zeroed.
    ///
    /// # Errors
    /// [`Error::InvalidAlignment`], [`Error::OutOfMemory`].
    fn alloc_stable_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer>;

    /// Frees a stable buffer of this context.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`], [`Error::BufferFreed`].
    fn free_stable_buffer(&mut self, buffer: StableBuffer) -> Result<()>;
}

/// Checks the count and types of `args` against `sig`.
///
/// # Errors
/// [`Error::ArgumentCount`] or [`Error::ArgumentType`], naming `function`.
#[inline]
pub fn check_args(function: &str, sig: &Signature, args: &[Arg<'_>]) -> Result<()> {
    let types = sig.args();
    if args.len() != types.len() {
        return Err(Error::ArgumentCount {
            function: function.to_owned(),
            expected: types.len(),
            got: args.len(),
        });
    }
    for (index, (arg, ty)) in args.iter().zip(types).enumerate() {
        if !arg.matches(ty) {
            return Err(arg_type_error(function, index, ty, arg));
        }
    }
    Ok(())
}

/// The [`Error::ArgumentType`] for argument `index`.
#[cold]
pub fn arg_type_error(function: &str, index: usize, ty: &Type, arg: &Arg<'_>) -> Error {
    let got = match arg.struct_bytes() {
        Some(bytes) => format!("struct of {} bytes", bytes.len()),
        None => arg.kind_name().to_owned(),
    };
    type_error(function, index, ty, got)
}

/// The [`Error::ArgumentType`] for argument `index`, known only by its kind (a backend that
/// decided the call from [`ArgChecks::args_key`](crate::ArgChecks::args_key); a buffer reads
/// as `ptr` there).
#[cold]
pub fn arg_kind_error(function: &str, index: usize, ty: &Type, got: ArgKind) -> Error {
    type_error(function, index, ty, got.name().to_owned())
}

/// The [`Error::ArgumentType`] for argument `index` of type `ty`, given what was passed.
fn type_error(function: &str, index: usize, ty: &Type, got: String) -> Error {
    let expected = match ty {
        Type::Struct(s) => format!("{ty} ({} bytes)", s.size()),
        _ => ty.to_string(),
    };
    Error::ArgumentType {
        function: function.to_owned(),
        index,
        expected,
        got,
    }
}

/// The most arguments decoded on the stack by [`with_raw_args`]; more spill to the heap.
const INLINE_RAW_ARGS: usize = 16;

/// Decodes libffi-style argument pointers into [`Arg`]s and runs `body` with them.
///
/// # Safety
/// `args` must point at `nargs` pointers, each valid for a read of the corresponding type of
/// `sig` (struct arguments: `size` bytes that stay valid during `body`).
///
/// # Errors
/// [`Error::ArgumentCount`] when `nargs` differs from the signature's count; otherwise what
/// `body` returns.
pub unsafe fn with_raw_args<T>(
    sig: &Signature,
    args: *const *const c_void,
    nargs: usize,
    body: impl FnOnce(&[Arg<'_>]) -> Result<T>,
) -> Result<T> {
    let types = sig.args();
    if nargs != types.len() || (nargs > 0 && args.is_null()) {
        return Err(Error::ArgumentCount {
            function: sig.to_string(),
            expected: types.len(),
            got: if args.is_null() { 0 } else { nargs },
        });
    }
    let decode = |i: usize| -> Arg<'_> {
        // SAFETY: the caller guarantees args[i] is valid for a read of types[i].
        unsafe {
            let p = *args.add(i);
            match (&types[i], ArgKind::of(&types[i])) {
                (_, Some(kind)) => kind.raw_arg(p),
                (Type::Struct(s), None) => {
                    Arg::bytes(std::slice::from_raw_parts(p.cast::<u8>(), s.size()))
                }
                _ => unreachable!("signatures never have void arguments"),
            }
        }
    };
    if nargs <= INLINE_RAW_ARGS {
        // Only the first `nargs` slots are written and read: no per-call initialisation of
        // the whole array (it measured as a third of the C API's dynamic-call cost).
        let mut inline = [const { std::mem::MaybeUninit::<Arg<'_>>::uninit() }; INLINE_RAW_ARGS];
        for (i, slot) in inline[..nargs].iter_mut().enumerate() {
            slot.write(decode(i));
        }
        // SAFETY: the first `nargs` slots were initialised just above; `Arg` is `Copy`, so
        // nothing needs dropping.
        let args = unsafe { std::slice::from_raw_parts(inline.as_ptr().cast::<Arg<'_>>(), nargs) };
        body(args)
    } else {
        let decoded: Vec<Arg<'_>> = (0..nargs).map(decode).collect();
        body(&decoded)
    }
}

/// [`Backend::call_raw`] through [`Arg`]s: decodes the argument pointers
/// ([`with_raw_args`]), makes the call with [`Backend::call`] and writes the return
/// ([`write_raw_return`]). The default `call_raw`, and the fallback of backends that take a
/// direct path for some signatures.
///
/// # Safety
/// As [`Backend::call_raw`].
///
/// # Errors
/// As [`Backend::call`], and [`Error::ArgumentCount`] as [`with_raw_args`].
pub unsafe fn call_raw_by_args<B: Backend + ?Sized>(
    backend: &mut B,
    f: &B::Function,
    args: *const *const c_void,
    nargs: usize,
    ret: *mut c_void,
) -> Result<()> {
    let sig = B::signature_of(f);
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        with_raw_args(sig, args, nargs, |args| {
            let ret_slot: &mut [u8] = match sig.ret() {
                Type::Struct(s) if !ret.is_null() => {
                    std::slice::from_raw_parts_mut(ret.cast::<u8>(), s.size())
                }
                _ => &mut [],
            };
            let value = backend.call(f, args, ret_slot)?;
            write_raw_return(value, ret);
            Ok(())
        })
    }
}

/// Writes a scalar return value into a libffi-style return slot (see [`Backend::call_raw`]).
///
/// # Safety
/// `ret` must be null or valid for writes of 8 bytes.
pub unsafe fn write_raw_return(value: Value, ret: *mut c_void) {
    if ret.is_null() {
        return;
    }
    let wide: Option<u64> = match value {
        Value::Void | Value::Struct => None,
        Value::Bool(v) => Some(v as u64),
        Value::I8(v) => Some(v as i64 as u64),
        Value::U8(v) => Some(v as u64),
        Value::I16(v) => Some(v as i64 as u64),
        Value::U16(v) => Some(v as u64),
        Value::I32(v) => Some(v as i64 as u64),
        Value::U32(v) => Some(v as u64),
        Value::I64(v) => Some(v as u64),
        Value::U64(v) => Some(v),
        Value::Isize(v) => Some(v as i64 as u64),
        Value::Usize(v) => Some(v as u64),
        Value::F64(v) => Some(v.to_bits()),
        Value::Ptr(p) => Some(p as usize as u64),
        Value::F32(v) => {
            // SAFETY: the caller guarantees 8 writable bytes at `ret`.
            unsafe { ret.cast::<f32>().write_unaligned(v) };
            None
        }
    };
    if let Some(bits) = wide {
        // SAFETY: the caller guarantees 8 writable bytes at `ret`.
        unsafe { ret.cast::<u64>().write_unaligned(bits) };
    }
}
