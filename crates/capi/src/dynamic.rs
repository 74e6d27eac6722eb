//! Dynamic calls by signature text: `ffikit_library_open`, `ffikit_prepare`, `ffikit_call`.

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::Arc;

use ffikit::raw::{MissingPointer, RawEntry};
use ffikit::{DynFunction, DynLibrary, Error, OwnerId, Signature, Source, Type};

use crate::boundary::{Failure, non_null, on_context, or_fallback, out_ptr, quietly, utf8};
use crate::context::ffikit_context;
use crate::status::ffikit_status;

/// An opened shared library (native, asm) or instantiated module (wasm) of one context.
///
/// The library stays loaded while any function prepared from it lives, even after
/// `ffikit_library_free`.
#[allow(non_camel_case_types)]
pub struct ffikit_library {
    library: Arc<DynLibrary>,
    owner: OwnerId,
}

/// A function prepared for dynamic calls: the symbol, its call plan and its signature.
#[allow(non_camel_case_types)]
pub struct ffikit_function {
    function: DynFunction,
    /// `function`'s raw entry ([`DynFunction::raw_entry`]) and its parameter count: what
    /// `ffikit_call`'s straight path reads.
    entry: Option<RawEntry>,
    nargs: usize,
    owner: OwnerId,
    // Keeps the code mapped while the function lives (`None` for a function prepared from
    // an address: its caller keeps the code alive).
    _library: Option<Arc<DynLibrary>>,
}

impl ffikit_function {
    /// A new handle for `function`, prepared by the context `owner`, keeping `library` (the
    /// library its code is in, `None` for a caller-held address) alive; the straight path's
    /// entry and count are read from it once here. The caller owns the returned pointer
    /// (freed by `ffikit_function_free`).
    fn boxed(
        function: DynFunction,
        owner: OwnerId,
        library: Option<Arc<DynLibrary>>,
    ) -> *mut ffikit_function {
        Box::into_raw(Box::new(ffikit_function {
            entry: function.raw_entry(),
            nargs: function.signature().args().len(),
            function,
            owner,
            _library: library,
        }))
    }

    /// The prepared function.
    pub(crate) fn dynamic(&self) -> &DynFunction {
        &self.function
    }

    /// The context that prepared it.
    pub(crate) fn owner(&self) -> OwnerId {
        self.owner
    }
}

fn foreign(what: &str) -> Failure {
    Error::ForeignHandle {
        what: what.into(),
        kind: "context",
    }
    .into()
}

/// `ffikit_status ffikit_library_open(ffikit_context *ctx, const char *path, ffikit_library
/// **out)`: opens a shared library (native, asm: a path, or a bare name such as
/// `"libm.so.6"` searched by `dlopen(3)`) or a `.wasm`/`.wat` module (wasm) in `ctx`.
///
/// Errors: `NULL_ARGUMENT`, `INVALID_UTF8`, `LIBRARY_NOT_FOUND` (with the loader's reason).
///
/// # Safety
/// `ctx` NULL or a live context used by no other thread; `path` NULL or NUL-terminated;
/// `out` NULL or writable. Opening a shared library runs its initialisers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_library_open(
    ctx: *mut ffikit_context,
    path: *const c_char,
    out: *mut *mut ffikit_library,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let out = out_ptr(out, "out")?;
            let path = utf8(path, "path")?;
            let backend = c.inner.backend();
            let library = backend.open(Source::Path(Path::new(path)))?;
            // An atomic count: a library handle and its functions may be freed from
            // different threads (each used by one thread at a time), so `Rc` would race. The
            // library itself is only touched by the one thread that uses its context.
            #[allow(clippy::arc_with_non_send_sync)]
            let library = Arc::new(library);
            *out = Box::into_raw(Box::new(ffikit_library {
                library,
                owner: backend.owner(),
            }));
            Ok(())
        })
    }
}

/// `void ffikit_library_free(ffikit_library *lib)`: releases the library handle (NULL is a
/// no-op). The code stays loaded until the last function prepared from it is freed.
///
/// # Safety
/// `lib` is NULL or a live library handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_library_free(lib: *mut ffikit_library) {
    quietly(|| {
        if !lib.is_null() {
            // SAFETY: made by Box::into_raw in ffikit_library_open, freed once.
            drop(unsafe { Box::from_raw(lib) });
        }
    })
}

/// `ffikit_status ffikit_prepare(ffikit_context *ctx, const ffikit_library *lib, const char
/// *symbol, const char *signature, ffikit_function **out)`: resolves `symbol` in `lib` and
/// prepares calls of the C signature `signature` in ffikit's text form (`"f64(f64, i32)"`,
/// `"i32(ptr, usize, ptr, ..., f64)"` for one variadic call shape, `"{i64, i64}(i64)"` for
/// a struct return). All classification happens here, once.
///
/// Errors: `NULL_ARGUMENT`, `INVALID_UTF8`, `FOREIGN_HANDLE` (a library of another context),
/// `INVALID_SIGNATURE` (the message gives the byte position), `SYMBOL_NOT_FOUND`,
/// `UNSUPPORTED_SIGNATURE` (e.g. a struct by value through native: use asm),
/// `SIGNATURE_MISMATCH` (wasm checks the export's type).
///
/// # Safety
/// As `ffikit_library_open`; `lib` NULL or live; and for native and asm, the symbol must
/// really have this C signature (nothing can check it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_prepare(
    ctx: *mut ffikit_context,
    lib: *const ffikit_library,
    symbol: *const c_char,
    signature: *const c_char,
    out: *mut *mut ffikit_function,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let out = out_ptr(out, "out")?;
            let lib = non_null(lib, "lib")?;
            let symbol = utf8(symbol, "symbol")?;
            let sig: Signature = utf8(signature, "signature")?.parse().map_err(Error::from)?;
            let backend = c.inner.backend();
            if lib.owner != backend.owner() {
                return Err(foreign("the library"));
            }
            let function = backend.prepare(&lib.library, symbol, &sig)?;
            *out = ffikit_function::boxed(function, backend.owner(), Some(lib.library.clone()));
            Ok(())
        })
    }
}

/// `ffikit_status ffikit_prepare_address(ffikit_context *ctx, const void *code, const char
/// *signature, ffikit_function **out)`: prepares calls of the C signature `signature` (the
/// text form of `ffikit_prepare`) of the function at `code`, an address the caller already
/// holds (a vtable or plugin table slot, `dlsym`, code a JIT made): libffi's
/// `ffi_call(cif, fn, ...)`. The same plan and the same `ffikit_call` speed as a prepared
/// symbol. No library is kept open for it: the caller keeps the code alive and unchanged
/// while the function is called. Messages name the function by its address (`0x7f...`).
///
/// Errors: `NULL_ARGUMENT` (`code`, `signature` or `out`), `INVALID_UTF8`,
/// `INVALID_SIGNATURE`, `UNSUPPORTED_SIGNATURE`, `ADDRESS_UNSUPPORTED` (a wasm context: its
/// functions are a module's exports, prepared by name).
///
/// # Safety
/// `ctx` is a live context; `signature` a NUL-terminated string; `out` NULL or writable; and
/// `code` is NULL or the address of a function whose C signature really is `signature`
/// (nothing can check it), callable for as long as the prepared function is used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_prepare_address(
    ctx: *mut ffikit_context,
    code: *const c_void,
    signature: *const c_char,
    out: *mut *mut ffikit_function,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let out = out_ptr(out, "out")?;
            if code.is_null() {
                return Err(Failure::null("code"));
            }
            let sig: Signature = utf8(signature, "signature")?.parse().map_err(Error::from)?;
            let backend = c.inner.backend();
            let function = backend.prepare_address(code, &sig)?;
            *out = ffikit_function::boxed(function, backend.owner(), None);
            Ok(())
        })
    }
}

/// `void ffikit_function_free(ffikit_function *fn)`: frees a prepared function (NULL is a
/// no-op).
///
/// # Safety
/// `fn` is NULL or a live function handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_function_free(function: *mut ffikit_function) {
    quietly(|| {
        if !function.is_null() {
            // SAFETY: made by Box::into_raw in ffikit_prepare, freed once.
            drop(unsafe { Box::from_raw(function) });
        }
    })
}

/// `size_t ffikit_function_nargs(const ffikit_function *fn)`: the number of arguments a call
/// takes (fixed and variadic), 0 for NULL.
///
/// # Safety
/// `fn` is NULL or a live function handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_function_nargs(function: *const ffikit_function) -> usize {
    or_fallback(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { function.as_ref() }.map_or(0, |f| f.function.signature().args().len())
    })
}

/// `size_t ffikit_function_arg_size(const ffikit_function *fn, size_t i)`: the size in bytes
/// of argument `i`'s C type (what `args[i]` of `ffikit_call` points at: 4 for `i32`, 8 for
/// `f64` or `ptr`, the struct's size for a struct); 0 for NULL or `i` out of range.
///
/// # Safety
/// `fn` is NULL or a live function handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_function_arg_size(
    function: *const ffikit_function,
    i: usize,
) -> usize {
    or_fallback(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { function.as_ref() }
            .and_then(|f| f.function.signature().args().get(i).map(Type::size))
            .unwrap_or(0)
    })
}

/// `size_t ffikit_function_ret_size(const ffikit_function *fn)`: how many bytes
/// `ffikit_call` writes to `ret`: 8 for integers (widened like libffi's `ffi_arg`), `f64`
/// and pointers, 4 for `f32`, the struct's size for a struct, 0 for `void` or NULL.
///
/// # Safety
/// `fn` is NULL or a live function handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_function_ret_size(function: *const ffikit_function) -> usize {
    or_fallback(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { function.as_ref() }.map_or(0, |f| match f.function.signature().ret() {
            Type::Void => 0,
            Type::F32 => 4,
            Type::Struct(s) => s.size(),
            _ => 8,
        })
    })
}

/// `ffikit_status ffikit_call(ffikit_context *ctx, const ffikit_function *fn, void *const
/// *args, size_t nargs, void *ret)`: calls a prepared function, libffi-style: `args[i]`
/// points at the `i`-th argument's value in its C type (`int32_t` for `i32`, `double` for
/// `f64`, `void *` for `ptr`, the struct for a struct), and the return value is written to
/// `ret`: integers widened to 8 bytes as libffi's `ffi_arg` (so `ret` needs at least 8
/// bytes), `float` as 4, a struct as its size; `ret` may be NULL for `void`.
///
/// For the wasm backend a `ptr` argument must point inside one of the context's buffers; it
/// is passed as the guest offset, and any other pointer is `POINTER_OUTSIDE_BUFFERS`.
///
/// Errors: `NULL_ARGUMENT` (`fn`, `args` with `nargs > 0`, an `args[i]`, or `ret` for a
/// non-void return), `FOREIGN_HANDLE` (a function of another context), `ARGUMENT_COUNT`,
/// `POINTER_OUTSIDE_BUFFERS`, `TRAP`, `DEADLINE_EXCEEDED`, `STACK_BUDGET_EXCEEDED`,
/// `CONTEXT_POISONED`.
///
/// # Safety
/// `ctx` NULL or a live context used by no other thread; `fn` NULL or live; each `args[i]`
/// valid for a read of its argument's type; `ret` valid for the writes above; and the call
/// itself must be sound (pointer arguments valid for what the callee does with them).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_call(
    ctx: *mut ffikit_context,
    function: *const ffikit_function,
    args: *const *mut c_void,
    nargs: usize,
    ret: *mut c_void,
) -> ffikit_status {
    // The straight path: a function whose backend gave it a raw entry, called with the
    // count it was prepared with on the context that prepared it, runs that entry and
    // nothing else (no trait object, no type-id test, no re-check of what prepare fixed),
    // as a tail call: the entry's result is the status. The entry itself checks the
    // pointers and, instead of calling, passes a missing one to `report_missing_pointer`
    // with this context (`RawEntry::call_reporting`). Such a context is native or asm,
    // which nothing in the C API poisons, so the poisoned test is the checked path's.
    // Anything else takes the checked path below, which names the fault.
    // SAFETY: `ctx` and `function` are non-null here and live (the caller's contract); the
    // entry's contract (`RawEntry::call_reporting`): the count is checked just before, the
    // function was prepared by this context (so it lives, with its library), the pointed-to
    // values are the caller's contract, as for the checked path, and the reporter is sound
    // with this context. The entry returns 0 or the reporter's result, both an
    // `ffikit_status` (`#[repr(C)]`, a C `int`): the transmute is of a valid value.
    unsafe {
        if !ctx.is_null() && !function.is_null() {
            let f = &*function;
            if let Some(entry) = f.entry
                && nargs == f.nargs
                && f.owner == (*ctx).owner
            {
                debug_assert!((*ctx).inner.poisoned().is_none());
                let status =
                    entry.call_reporting(args.cast(), ret, ctx.cast(), report_missing_pointer);
                return std::mem::transmute::<u32, ffikit_status>(status);
            }
        }
    }
    // SAFETY: forwarded.
    unsafe { checked_call(ctx, function, args, nargs, ret) }
}

/// The reporter of a straight-path call whose raw entry found a pointer missing (`fault`,
/// a [`MissingPointer`] code; `ctx` the calling context): the checked path's status and
/// message for it, the status as the entry's result. Cold: only a faulty call comes here.
///
/// # Safety
/// `ctx` is a non-null, live `ffikit_context` (what `ffikit_call` passes).
#[cold]
unsafe extern "C" fn report_missing_pointer(ctx: *mut c_void, fault: u32) -> u32 {
    let name = MissingPointer::from_code(fault)
        .map_or_else(|| "a pointer".to_owned(), MissingPointer::name);
    // SAFETY: forwarded; `on_context` keeps any panic inside.
    unsafe { on_context(ctx.cast(), |_| Err(Failure::null(&name))) as u32 }
}

/// `ffikit_call` with every check, each failure named: the calls its straight path does not
/// take (no raw entry, a wasm context, or a fault to report). Out of line and `extern "C"`
/// (it cannot unwind: `on_context` catches panics), so that `ffikit_call` reaches it with a
/// tail jump too and its straight path has no frame at all.
///
/// # Safety
/// As `ffikit_call`.
#[inline(never)]
unsafe extern "C" fn checked_call(
    ctx: *mut ffikit_context,
    function: *const ffikit_function,
    args: *const *mut c_void,
    nargs: usize,
    ret: *mut c_void,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let f = non_null(function, "fn")?;
            let sig = f.function.signature();
            let expected = sig.args().len();
            if nargs != expected {
                return Err(Error::ArgumentCount {
                    function: f.function.symbol().to_owned(),
                    expected,
                    got: nargs,
                }
                .into());
            }
            if nargs > 0 {
                if args.is_null() {
                    return Err(Failure::null("args"));
                }
                for i in 0..nargs {
                    if (*args.add(i)).is_null() {
                        return Err(Failure::null(&format!("args[{i}]")));
                    }
                }
            }
            if ret.is_null() && *sig.ret() != Type::Void {
                return Err(Failure::null("ret (the function returns a value)"));
            }
            if let Some(reason) = c.inner.poisoned() {
                return Err(Error::ContextPoisoned {
                    reason: reason.to_owned(),
                }
                .into());
            }
            if f.owner != c.inner.owner() {
                return Err(foreign("the function"));
            }
            // One `match` on the context's backend, then its own raw call (no virtual call);
            // a trap is this call's error (the context records it and stays usable).
            c.inner
                .call_raw(&f.function, args.cast(), nargs, ret)
                .map_err(Into::into)
        })
    }
}
