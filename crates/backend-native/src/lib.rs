//! # backend-native: the floor
//!
//! Opens shared libraries with [`libloading`] and calls through Rust `extern "C"` function
//! pointers, so the Rust compiler generates the call sequence. Every other backend is measured
//! against it.
//!
//! - **Typed path** ([`Backend::prepare_typed`]): the symbol becomes an
//!   `unsafe extern "C" fn(A, B, ...) -> R` and a call is one indirect call — the same machine
//!   code as a hand-written `Symbol<extern "C" fn>` call.
//! - **Dynamic path** ([`Backend::prepare`]): prepare sorts the arguments into the integer and
//!   floating-point register files (x86-64 System V: `rdi rsi rdx rcx r8 r9`, `xmm0-7`; AArch64
//!   AAPCS64: `x0-x5`, `v0-v7` here) and picks, from a table of monomorphic callers, the one
//!   whose Rust signature is `fn(u64 × I, f64 × F)` for exactly those counts; a call fills two
//!   small arrays and makes one indirect call. Both ABIs assign integer and floating-point
//!   arguments to their register files independently of their interleaving, so one caller
//!   serves every order. `f32` travels in the low 32 bits of an `f64` register image, and
//!   narrow integers are sign- or zero-extended to 64 bits, which both ABIs accept.
//!
//! The dynamic path supports every signature whose arguments are scalars, at most
//! [`MAX_INT_ARGS`] of them integers or pointers and at most [`MAX_FLOAT_ARGS`] floats, with
//! any scalar or `void` return. Structs by value, variadic calls and arguments that would go
//! on the stack are rejected with [`Error::UnsupportedSignature`] naming the `asm` backend,
//! which handles them.

use std::ffi::c_void;
use std::marker::PhantomData;

use ffi_trait::{
    Arg, ArgChecks, ArgKind, ArgsMismatch, Backend, Error, HostBuffers, OwnerId, Params,
    PointerKind, Result, ReturnDecode, ReturnType, ScalarClass, SharedLibrary, Signature, Source,
    StableBuffer, Type, Value,
    backend::{arg_type_error, call_raw_by_args},
    raw::RawReturn,
    typed_signature,
};

mod callers;

/// The most integer or pointer arguments the dynamic path passes (all in registers).
pub const MAX_INT_ARGS: usize = callers::MAX_INT;
/// The most floating-point arguments the dynamic path passes (all in registers).
pub const MAX_FLOAT_ARGS: usize = callers::MAX_FLOAT;

/// The native backend: one context with its own stable buffers.
///
/// # Thread-safety
/// `Send`, not `Sync`: a context is used by one thread at a time.
#[derive(Debug)]
pub struct NativeBackend {
    buffers: HostBuffers,
}

impl NativeBackend {
    /// A new, empty context.
    pub fn new() -> NativeBackend {
        NativeBackend {
            buffers: HostBuffers::new(OwnerId::fresh()),
        }
    }
}

impl Default for NativeBackend {
    fn default() -> NativeBackend {
        NativeBackend::new()
    }
}

/// A shared library opened by [`NativeBackend`] (the contract's [`SharedLibrary`]).
pub type NativeLibrary = SharedLibrary;

/// A code address that may cross threads: the function itself has no thread affinity.
#[derive(Clone, Copy, Debug)]
struct Code(*const c_void);

// SAFETY: a function address is plain data; whether calling it from another thread is sound
// is the foreign function's own property, covered by the `unsafe` contract of `call`.
unsafe impl Send for Code {}
// SAFETY: as above; the address is never written through.
unsafe impl Sync for Code {}

#[cold]
#[inline(never)]
fn count_error(f: &NativeFunction, got: usize) -> Error {
    Error::ArgumentCount {
        function: f.symbol.to_string(),
        expected: f.checks.len(),
        got,
    }
}

#[cold]
#[inline(never)]
fn type_error(f: &NativeFunction, index: usize, arg: &Arg<'_>) -> Error {
    arg_type_error(&f.symbol, index, &f.signature.args()[index], arg)
}

/// How the return value comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RetClass {
    Int,
    Float,
}

/// How a dynamic call loads its registers and where its return comes back: one byte, so
/// the common all-integer routes cost one compare before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Route {
    /// Integer-class arguments only (argument `k` in integer register `k`), the return in
    /// the integer return register.
    IntToInt,
    /// Integer-class arguments only, the return in the vector return register (sum, dot).
    IntToFloat,
    /// Mixed classes through the `gather` table, the return in the integer register.
    GatherToInt,
    /// Mixed classes through the `gather` table, the return in the vector register.
    GatherToFloat,
}

impl Route {
    fn of(all_int: bool, ret: RetClass) -> Route {
        match (all_int, ret) {
            (true, RetClass::Int) => Route::IntToInt,
            (true, RetClass::Float) => Route::IntToFloat,
            (false, RetClass::Int) => Route::GatherToInt,
            (false, RetClass::Float) => Route::GatherToFloat,
        }
    }
}

/// A function prepared for dynamic calls.
#[derive(Debug)]
pub struct NativeFunction {
    code: Code,
    /// One check per argument (`ptr` also takes a buffer), with the count and kinds packed
    /// into one word held in place: a call whose argument count and kinds are constants
    /// compares that word with an immediate, following no pointer.
    checks: ArgChecks,
    /// The return's decoding.
    ret_decode: ReturnDecode,
    /// How each argument is read from a raw argument pointer ([`Backend::call_raw`]).
    raw: Box<[ArgKind]>,
    /// How the return is written into a raw call's return slot.
    raw_ret: RawReturn,
    /// For each argument register (integer registers first, then floating-point ones), the
    /// index of the argument whose image it takes; registers no argument uses point at
    /// argument 0 (any initialised value will do: the callee never reads them).
    gather: [u8; REGS],
    /// Which registers the call loads and where its return comes back.
    route: Route,
    signature: Signature,
    symbol: Box<str>,
    /// The library the code is in (`None` for a function prepared from an address, whose
    /// code the caller keeps alive).
    _lib: Option<NativeLibrary>,
}

impl NativeFunction {
    /// A function of `sig` at `code`, named `symbol` in errors, keeping `lib` (the library
    /// that holds the code, `None` for a caller-held address) alive.
    ///
    /// # Errors
    /// [`Error::UnsupportedSignature`] for a signature this backend does not call.
    fn new(
        code: *const c_void,
        sig: &Signature,
        symbol: Box<str>,
        lib: Option<NativeLibrary>,
    ) -> Result<NativeFunction> {
        let (gather, ret_class) = plan(sig)?;
        // `plan` accepts scalar arguments only, each with its load.
        let raw = sig.args().iter().filter_map(ArgKind::of).collect();
        let all_int = sig
            .args()
            .iter()
            .all(|t| t.scalar_class() == Some(ScalarClass::Integer));
        Ok(NativeFunction {
            code: Code(code),
            checks: ArgChecks::of_signature(sig),
            raw,
            gather,
            route: Route::of(all_int, ret_class),
            ret_decode: ReturnDecode::of(sig.ret()),
            raw_ret: RawReturn::of(sig.ret()),
            signature: sig.clone(),
            symbol,
            _lib: lib,
        })
    }
}

impl NativeFunction {
    /// The function's address.
    pub fn code(&self) -> *const c_void {
        self.code.0
    }
}

/// [`NativeBackend::raw_entry`]'s routine: each register loads straight from its argument
/// pointer with the load prepared for its type, and the return is written to `ret`; the
/// missing pointer reported with nothing called when one is ([`ffi_trait::raw::raw_fault`]).
///
/// # Safety
/// `data` is a live [`NativeFunction`]; the rest as
/// [`ffi_trait::raw::RawEntry::call_reporting`].
unsafe extern "C" fn raw_call(
    data: *const (),
    args: *const *const c_void,
    ret: *mut c_void,
    sink: *mut c_void,
    report: ffi_trait::raw::FaultReport,
) -> u32 {
    // SAFETY: (all) the contract above; the image of `k < nargs` reads `args[k]`, present.
    unsafe {
        let f = &*data.cast::<NativeFunction>();
        let nargs = f.raw.len();
        let returns = !matches!(f.signature.ret(), Type::Void);
        let fault = ffi_trait::raw::raw_fault(args, nargs, ret, returns);
        if fault != 0 {
            return report(sink, fault);
        }
        let bits = call_images(
            f,
            nargs,
            #[inline(always)]
            |k| f.raw.get_unchecked(k).raw_image(*args.add(k)),
        );
        f.raw_ret.write(bits, ret);
        0
    }
}

/// A function prepared for typed calls `R(P...)`: one indirect call.
#[derive(Debug)]
pub struct NativeTyped<P, R> {
    code: Code,
    _lib: NativeLibrary,
    _sig: PhantomData<fn(P) -> R>,
}

impl<P: Params, R: ReturnType> NativeTyped<P, R> {
    /// Calls the function.
    ///
    /// # Safety
    /// As [`Backend::call`]: the prepared signature must be the function's, and pointer
    /// arguments valid for what it does with them.
    #[inline(always)]
    pub unsafe fn call(&self, args: P) -> R {
        // SAFETY: `prepare_typed`'s caller asserted the signature; this caller asserts the
        // arguments are sound.
        unsafe { args.call_host::<R>(self.code.0) }
    }

    /// The function's address.
    pub fn code(&self) -> *const c_void {
        self.code.0
    }
}

/// Calls `f` with argument `k`'s register image `image(k)` for `k < n`, returning the
/// return register's bits: the register work of [`Backend::call`] and [`Backend::call_raw`],
/// which differ only in where the images come from (an [`Arg`], or a raw pointer read with
/// its [`ArgKind::raw_image`]).
///
/// # Safety
/// `n` is the signature's argument count and `image(k)` is sound to evaluate for `k < n`,
/// giving argument `k`'s image; the callers of `prepare` and `call` asserted the signature
/// and the arguments.
#[inline(always)]
unsafe fn call_images(f: &NativeFunction, n: usize, image: impl Fn(usize) -> u64) -> u64 {
    let a = &image;
    let c = f.code.0;
    // Integer and pointer arguments only (the common shape): argument `k` is integer
    // register `k`, so each arity is one call through a function pointer of exactly that
    // many integer arguments (only those registers are loaded). The route byte is tested
    // once for the integer return, the commonest.
    if f.route == Route::IntToInt {
        // SAFETY: `k < n` in every arm; the callee takes exactly these integer register
        // arguments (the caller's contract).
        return unsafe {
            match n {
                0 => callers::int0(c),
                1 => callers::int1(c, a(0)),
                2 => callers::int2(c, a(0), a(1)),
                3 => callers::int3(c, a(0), a(1), a(2)),
                4 => callers::int4(c, a(0), a(1), a(2), a(3)),
                5 => callers::int5(c, a(0), a(1), a(2), a(3), a(4)),
                _ => callers::int6(c, a(0), a(1), a(2), a(3), a(4), a(5)),
            }
        };
    }
    if f.route == Route::IntToFloat {
        // A floating-point return (sum, dot): the same loads, the value from the vector
        // return register. Out of line, so that the integer route falls through into the
        // return decoding with no taken jump (the jump here is small beside the float work
        // of these callees).
        std::hint::cold_path();
        // SAFETY: as above.
        return unsafe {
            match n {
                0 => callers::float0(c).to_bits(),
                1 => callers::float1(c, a(0)).to_bits(),
                2 => callers::float2(c, a(0), a(1)).to_bits(),
                3 => callers::float3(c, a(0), a(1), a(2)).to_bits(),
                4 => callers::float4(c, a(0), a(1), a(2), a(3)).to_bits(),
                5 => callers::float5(c, a(0), a(1), a(2), a(3), a(4)).to_bits(),
                _ => callers::float6(c, a(0), a(1), a(2), a(3), a(4), a(5)).to_bits(),
            }
        };
    }
    // Mixed classes: every register loads through the `gather` table (arguments
    // exist here, since a float-class argument does; unused registers read argument
    // 0, an initialised value the callee ignores). Laid out of line so that the
    // all-integer route falls through into the return decoding with no taken jump;
    // this route's extra jump is small beside the float work of its callees.
    std::hint::cold_path();
    // `gather` holds argument indices below `n` (the caller's contract covers them).
    let regs: [u64; REGS] = std::array::from_fn(|r| image(f.gather[r] as usize));
    // SAFETY: the caller of `prepare` asserted the signature, which `plan` put entirely
    // in registers; the caller asserted the arguments are sound.
    unsafe {
        if f.route == Route::GatherToInt {
            callers::call_int(f.code.0, &regs)
        } else {
            callers::call_float(f.code.0, &regs).to_bits()
        }
    }
}

fn unsupported(sig: &Signature, reason: impl Into<String>) -> Error {
    Error::UnsupportedSignature {
        backend: "native",
        signature: sig.to_string(),
        reason: reason.into(),
    }
}

/// Classifies `sig` into register slots; the native dynamic path's whole "call interface":
/// the gather table (for each register slot — integer registers first, `0..MAX_INT_ARGS`,
/// then floating-point ones — the argument it takes, 0 if none) and the return class.
fn plan(sig: &Signature) -> Result<([u8; REGS], RetClass)> {
    if sig.is_variadic() {
        return Err(unsupported(
            sig,
            "variadic calls need the x86-64 %al convention and argument promotion; use the asm backend",
        ));
    }
    let (mut ints, mut floats) = (0usize, 0usize);
    let mut gather = [0u8; REGS];
    for (k, ty) in sig.args().iter().enumerate() {
        let Some(class) = ty.scalar_class() else {
            return Err(unsupported(
                sig,
                "structs by value need the ABI's aggregate classification; use the asm backend",
            ));
        };
        let slot = match class {
            ScalarClass::Integer => {
                ints += 1;
                ints - 1
            }
            ScalarClass::Float => {
                floats += 1;
                MAX_INT_ARGS + floats - 1
            }
        };
        if slot < REGS {
            gather[slot] = k as u8;
        }
    }
    if ints > MAX_INT_ARGS || floats > MAX_FLOAT_ARGS {
        return Err(unsupported(
            sig,
            format!(
                "{ints} integer and {floats} floating-point arguments: the native backend passes at most {MAX_INT_ARGS} and {MAX_FLOAT_ARGS} (registers only); use the asm backend"
            ),
        ));
    }
    let ret = match sig.ret() {
        Type::Struct(_) => {
            return Err(unsupported(
                sig,
                "struct returns need the ABI's aggregate classification; use the asm backend",
            ));
        }
        Type::F32 | Type::F64 => RetClass::Float,
        _ => RetClass::Int,
    };
    Ok((gather, ret))
}

/// Register images of one call: integer registers, then floating-point ones.
const REGS: usize = MAX_INT_ARGS + MAX_FLOAT_ARGS;

impl Backend for NativeBackend {
    const NAME: &'static str = "native";
    const POINTERS: PointerKind = PointerKind::Host;
    type Library = NativeLibrary;
    type Function = NativeFunction;
    type Typed<P: Params, R: ReturnType> = NativeTyped<P, R>;

    fn owner(&self) -> OwnerId {
        self.buffers.owner()
    }

    fn open(&mut self, source: Source<'_>) -> Result<NativeLibrary> {
        match source {
            // SAFETY: opening a library runs its initialisers; the user chose the library,
            // as with any dlopen.
            Source::Path(p) => unsafe { SharedLibrary::open(p) },
            Source::Bytes(_) => Err(Error::UnsupportedSource {
                backend: "native",
                what: format!("{} (a shared library must be a file)", source.describe()),
            }),
        }
    }

    unsafe fn prepare(
        &mut self,
        lib: &NativeLibrary,
        symbol: &str,
        sig: &Signature,
    ) -> Result<NativeFunction> {
        let code = lib.symbol_address(symbol)?;
        NativeFunction::new(code, sig, symbol.into(), Some(lib.clone()))
    }

    unsafe fn prepare_address(
        &mut self,
        code: *const c_void,
        sig: &Signature,
    ) -> Result<NativeFunction> {
        if code.is_null() {
            return Err(Error::NullAddress);
        }
        NativeFunction::new(code, sig, format!("{code:p}").into(), None)
    }

    fn signature_of(f: &NativeFunction) -> &Signature {
        &f.signature
    }

    #[inline(always)]
    unsafe fn call(
        &mut self,
        f: &NativeFunction,
        args: &[Arg<'_>],
        _ret: &mut [u8],
    ) -> Result<Value> {
        // One comparison of the packed argument count and kinds (no branch per argument).
        // Native parameter lists are at most 14 scalars, which the key always stands for,
        // so a key mismatch is an error: out of line, so that the match falls through
        // (criterion noop and add_u32 dynamic measured 0.2-0.3 ns faster so laid out).
        if !f.checks.key_matches(args) {
            std::hint::cold_path();
            if let Err(m) = f.checks.check(args) {
                return Err(match m {
                    ArgsMismatch::Count => count_error(f, args.len()),
                    ArgsMismatch::Arg(i) => type_error(f, i, &args[i]),
                });
            }
        }
        // Each register loads its argument's ready-made image straight from `args`: loads
        // only, no intermediate array (a store-then-load round trip per register measured
        // ~3 ns slower per call).
        // SAFETY: `k < args.len() == f.checks.len()` for every image read; the callers of
        // `prepare` and `call` asserted the signature and the arguments.
        let bits = unsafe { call_images(f, args.len(), |k| args.get_unchecked(k).bits()) };
        Ok(f.ret_decode.value(bits))
    }

    /// The libffi-style call: each register loads straight from its argument pointer with
    /// the load prepared for its type ([`ArgKind::raw_image`]); no [`Arg`] is built and nothing is
    /// checked that the signature already fixes.
    #[inline]
    unsafe fn call_raw(
        &mut self,
        f: &NativeFunction,
        args: *const *const c_void,
        nargs: usize,
        ret: *mut c_void,
    ) -> Result<()> {
        if nargs != f.raw.len() || (nargs > 0 && args.is_null()) {
            // SAFETY: forwarded; it reports the count error.
            return unsafe { call_raw_by_args(self, f, args, nargs, ret) };
        }
        // SAFETY: `nargs` is the signature's count and the image of `k < nargs` reads
        // `args[k]`, valid for a read of parameter `k`'s type (the caller's contract); the
        // callers of `prepare` and `call_raw` asserted the signature and the arguments.
        let bits = unsafe {
            call_images(
                f,
                nargs,
                #[inline(always)]
                |k| f.raw.get_unchecked(k).raw_image(*args.add(k)),
            )
        };
        // SAFETY: `ret` is null or valid for 8 bytes (the caller's contract).
        unsafe { f.raw_ret.write(bits, ret) };
        Ok(())
    }

    /// Every native function has one (its arguments are all scalars): the body of
    /// [`NativeBackend::call_raw`] once the count is known to match.
    fn raw_entry(f: &NativeFunction) -> Option<ffi_trait::raw::RawEntry> {
        // SAFETY: `raw_call` makes `f`'s call as `call_raw` does, from `f`'s raw kinds.
        Some(unsafe {
            ffi_trait::raw::RawEntry::new(raw_call, (f as *const NativeFunction).cast())
        })
    }

    unsafe fn prepare_typed<P: Params, R: ReturnType>(
        &mut self,
        lib: &NativeLibrary,
        symbol: &str,
    ) -> Result<NativeTyped<P, R>> {
        // Nothing to plan (the compiler makes the call), but a typed struct must describe
        // its Rust type.
        typed_signature::<P, R>()?;
        Ok(NativeTyped {
            code: Code(lib.symbol_address(symbol)?),
            _lib: lib.clone(),
            _sig: PhantomData,
        })
    }

    #[inline(always)]
    unsafe fn call_typed<P: Params, R: ReturnType>(
        &mut self,
        f: &NativeTyped<P, R>,
        args: P,
    ) -> Result<R> {
        // SAFETY: forwarded from the caller's contract.
        Ok(unsafe { f.call(args) })
    }

    fn function_address(f: &Self::Function) -> Option<*const c_void> {
        Some(f.code())
    }

    fn typed_address<P: Params, R: ReturnType>(f: &NativeTyped<P, R>) -> Option<*const c_void> {
        Some(f.code())
    }

    fn alloc_stable_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer> {
        self.buffers.alloc(len, align)
    }

    fn free_stable_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        self.buffers.free(buffer)
    }
}
