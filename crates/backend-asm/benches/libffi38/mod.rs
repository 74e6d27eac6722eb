//! libffi 3.8.0 as a peer of the asm bench: its reusable call plans (`ffi_call_plan_invoke`,
//! row `libffi-plan/{shape}/call`) and its `ffi_call` (row `libffi-3.8/{shape}/call`), on the
//! same C functions as the other rows.
//!
//! `cargo xtask bench` builds libffi 3.8.0 into `target/peers/libffi-3.8.0/` from
//! `shared/peers/libffi-3.8.0-src.tar.gz`; this module loads that `lib/libffi.so.8` (or the
//! file `FFIKIT_LIBFFI38_LIB` names) at run time with libloading, through the declarations
//! below of the part of its `ffi.h` the bench uses. It has the same soname and versioned
//! symbols as the Debian libffi the `libffi` rows link, so it is opened with `RTLD_DEEPBIND`:
//! its own references (the plan's fallback to `ffi_call`, its `ffi_type_*` data) then bind
//! inside it and not to the Debian copy already in the process. Where it was not built, the
//! columns are skipped with a loud line.

use std::cell::OnceCell;
use std::ffi::{c_int, c_uint, c_ulong, c_ushort, c_void};
use std::fmt::Debug;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::rc::Rc;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use super::{Batch, batch};

/// The variable that names the built `libffi.so.8` of libffi 3.8.0.
const LIB_ENV: &str = "FFIKIT_LIBFFI38_LIB";

/// `RTLD_DEEPBIND` where glibc has it (elsewhere the Debian libffi is not in the process).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const DEEPBIND: c_int = libc::RTLD_DEEPBIND;
/// `RTLD_DEEPBIND` where glibc has it (elsewhere the Debian libffi is not in the process).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const DEEPBIND: c_int = 0;

/// `ffi_type` of libffi's `ffi.h`: a type's size, alignment, kind (`FFI_TYPE_*`) and, for a
/// struct, its null-terminated field types.
#[repr(C)]
struct FfiType {
    /// `size_t size` (for a struct: filled in by `ffi_prep_cif`).
    size: usize,
    /// `unsigned short alignment` (likewise).
    alignment: c_ushort,
    /// `unsigned short type`: `FFI_TYPE_*`.
    kind: c_ushort,
    /// `ffi_type **elements`: a struct's fields, null-terminated; null for scalars.
    elements: *mut *mut FfiType,
}

/// `FFI_TYPE_STRUCT` of `ffi.h`.
const FFI_TYPE_STRUCT: c_ushort = 13;

/// `ffi_cif` of libffi's `ffi.h`, with room after it for the `FFI_EXTRA_CIF_FIELDS` some
/// targets add (x86-64 has none). Only libffi reads or writes it.
#[repr(C)]
struct FfiCif {
    /// `ffi_abi abi`.
    abi: c_uint,
    /// `unsigned nargs`.
    nargs: c_uint,
    /// `ffi_type **arg_types`.
    arg_types: *mut *mut FfiType,
    /// `ffi_type *rtype`.
    rtype: *mut FfiType,
    /// `unsigned bytes`.
    bytes: c_uint,
    /// `unsigned flags`.
    flags: c_uint,
    /// `FFI_EXTRA_CIF_FIELDS`, where a target has them.
    extra: [u64; 4],
}

/// libffi 3.8's opaque `ffi_call_plan`.
#[repr(C)]
struct FfiCallPlan {
    _opaque: [u8; 0],
}

/// A C function as libffi takes it: `void (*fn)(void)`.
type CFn = unsafe extern "C" fn();

/// `ffi_status ffi_prep_cif(ffi_cif *, ffi_abi, unsigned nargs, ffi_type *rtype,
/// ffi_type **atypes)`.
type PrepCifFn =
    unsafe extern "C" fn(*mut FfiCif, c_uint, c_uint, *mut FfiType, *mut *mut FfiType) -> c_uint;
/// `void ffi_call(ffi_cif *, void (*fn)(void), void *rvalue, void **avalue)`.
type CallFn = unsafe extern "C" fn(*mut FfiCif, CFn, *mut c_void, *mut *mut c_void);
/// `ffi_call_plan *ffi_call_plan_alloc(ffi_cif *)`.
type PlanAllocFn = unsafe extern "C" fn(*mut FfiCif) -> *mut FfiCallPlan;
/// `void ffi_call_plan_invoke(ffi_call_plan *, void (*fn)(void), void *rvalue,
/// void **avalue)`.
type PlanInvokeFn = unsafe extern "C" fn(*mut FfiCallPlan, CFn, *mut c_void, *mut *mut c_void);
/// `void ffi_call_plan_free(ffi_call_plan *)`.
type PlanFreeFn = unsafe extern "C" fn(*mut FfiCallPlan);
/// `unsigned int ffi_get_default_abi(void)`.
type DefaultAbiFn = unsafe extern "C" fn() -> c_uint;
/// `unsigned long ffi_get_version_number(void)`.
type VersionFn = unsafe extern "C" fn() -> c_ulong;

/// The kinds of argument and return the shapes use.
#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    /// `int32_t`.
    I32,
    /// `int64_t`.
    I64,
    /// `double`.
    F64,
    /// A pointer.
    Ptr,
    /// `size_t` (`uint64_t` on the 64-bit targets the bench runs on).
    Usize,
    /// `struct { int64_t, int64_t }`.
    Struct16,
}

/// libffi 3.8.0, opened, with the entries and scalar types the bench uses.
struct Libffi38 {
    /// `ffi_prep_cif`.
    prep_cif: PrepCifFn,
    /// `ffi_call`.
    call: CallFn,
    /// `ffi_call_plan_alloc`.
    plan_alloc: PlanAllocFn,
    /// `ffi_call_plan_invoke`.
    plan_invoke: PlanInvokeFn,
    /// `ffi_call_plan_free`.
    plan_free: PlanFreeFn,
    /// `ffi_get_default_abi()`.
    abi: c_uint,
    /// `&ffi_type_sint32`, `&ffi_type_sint64`, `&ffi_type_double`, `&ffi_type_pointer`,
    /// `&ffi_type_uint64`: libffi 3.8's own.
    scalars: [*mut FfiType; 5],
    /// Keeps the library mapped while the entries above are used (every [`Sig`] holds an
    /// `Rc` of this, so it is closed only after the last plan is freed).
    lib: Library,
}

thread_local! {
    /// The library, opened on first use (`None`, after the loud line, when not built).
    static LIB: OnceCell<Option<Rc<Libffi38>>> = const { OnceCell::new() };
}

/// The library's path: `FFIKIT_LIBFFI38_LIB`, else `target/peers/libffi-3.8.0/lib/libffi.so.8`
/// of this workspace.
fn path() -> PathBuf {
    std::env::var_os(LIB_ENV).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/peers/libffi-3.8.0/lib/libffi.so.8")
        },
        PathBuf::from,
    )
}

/// libffi 3.8.0, opened once per thread; `None`, after printing the loud NOT RUN line once,
/// when it was not built.
///
/// # Panics
/// When the file exists but is not libffi 3.8 (a symbol or the version is wrong).
fn library() -> Option<Rc<Libffi38>> {
    LIB.with(|cell| cell.get_or_init(open).clone())
}

/// Opens the library at [`path`].
///
/// # Panics
/// As [`library`].
fn open() -> Option<Rc<Libffi38>> {
    let path = path();
    if !path.is_file() {
        eprintln!(
            "asm bench: ********** libffi 3.8 rows NOT RUN (libffi-plan, libffi-3.8): {} is \
             not built (`cargo xtask bench` builds it from \
             ../shared/peers/libffi-3.8.0-src.tar.gz, or set {LIB_ENV}) **********",
            path.display()
        );
        return None;
    }
    // SAFETY: libffi's initialisers only set up its trampoline allocator; RTLD_DEEPBIND keeps
    // its symbol references inside it (see the module's documentation).
    let lib = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_LOCAL | DEEPBIND) }
        .unwrap_or_else(|e| panic!("opening libffi 3.8 at {}: {e}", path.display()));
    /// The symbol `name` of `lib` as a `T` (a function pointer, or a data symbol's address).
    ///
    /// # Safety
    /// `T` is the symbol's type as `ffi.h` declares it (for data: a pointer to it).
    unsafe fn get<T: Copy>(lib: &Library, name: &str) -> T {
        // SAFETY: forwarded from the caller.
        *unsafe { lib.get::<T>(name.as_bytes()) }
            .unwrap_or_else(|e| panic!("libffi 3.8 has no {name}: {e}"))
    }
    // SAFETY: each type is the declaration in libffi 3.8's ffi.h (the aliases above).
    let l = unsafe {
        Libffi38 {
            prep_cif: get::<PrepCifFn>(&lib, "ffi_prep_cif"),
            call: get::<CallFn>(&lib, "ffi_call"),
            plan_alloc: get::<PlanAllocFn>(&lib, "ffi_call_plan_alloc"),
            plan_invoke: get::<PlanInvokeFn>(&lib, "ffi_call_plan_invoke"),
            plan_free: get::<PlanFreeFn>(&lib, "ffi_call_plan_free"),
            abi: get::<DefaultAbiFn>(&lib, "ffi_get_default_abi")(),
            scalars: [
                get(&lib, "ffi_type_sint32"),
                get(&lib, "ffi_type_sint64"),
                get(&lib, "ffi_type_double"),
                get(&lib, "ffi_type_pointer"),
                get(&lib, "ffi_type_uint64"),
            ],
            lib,
        }
    };
    // SAFETY: `unsigned long ffi_get_version_number(void)`.
    let version = unsafe { get::<VersionFn>(&l.lib, "ffi_get_version_number")() };
    assert_eq!(version, 30800, "{} is not libffi 3.8.0", path.display());
    Some(Rc::new(l))
}

/// One signature prepared by libffi 3.8: its `ffi_cif` (and the types it points to) and its
/// call plan. Calls read the result through a 16-byte buffer, which holds every return the
/// shapes use (libffi widens integer returns to a full `ffi_arg`).
struct Sig {
    /// The library the cif and plan belong to.
    lib: Rc<Libffi38>,
    /// The prepared cif (boxed: the plan points to it).
    cif: Box<FfiCif>,
    /// The argument types the cif points to.
    _args: Box<[*mut FfiType]>,
    /// The struct types and field lists the cif points to (for [`Kind::Struct16`]).
    _structs: Vec<(Box<FfiType>, Box<[*mut FfiType; 3]>)>,
    /// From `ffi_call_plan_alloc`, freed on drop.
    plan: *mut FfiCallPlan,
}

impl Sig {
    /// `ret(params)` prepared with `ffi_prep_cif` and `ffi_call_plan_alloc`.
    ///
    /// # Panics
    /// When libffi 3.8 refuses the signature.
    fn new(lib: Rc<Libffi38>, ret: Kind, params: &[Kind]) -> Sig {
        let mut structs = Vec::new();
        let mut ty = |k: Kind| -> *mut FfiType {
            match k {
                Kind::I32 => lib.scalars[0],
                Kind::I64 => lib.scalars[1],
                Kind::F64 => lib.scalars[2],
                Kind::Ptr => lib.scalars[3],
                Kind::Usize => lib.scalars[4],
                Kind::Struct16 => {
                    let mut fields =
                        Box::new([lib.scalars[1], lib.scalars[1], std::ptr::null_mut()]);
                    let mut s = Box::new(FfiType {
                        size: 0,
                        alignment: 0,
                        kind: FFI_TYPE_STRUCT,
                        elements: fields.as_mut_ptr(),
                    });
                    let p: *mut FfiType = &mut *s;
                    structs.push((s, fields));
                    p
                }
            }
        };
        let mut args: Box<[*mut FfiType]> = params.iter().map(|&k| ty(k)).collect();
        let rtype = ty(ret);
        let mut cif = Box::new(FfiCif {
            abi: 0,
            nargs: 0,
            arg_types: std::ptr::null_mut(),
            rtype: std::ptr::null_mut(),
            bytes: 0,
            flags: 0,
            extra: [0; 4],
        });
        // SAFETY: the types are libffi 3.8's scalars and structs of them, alive as long as
        // the cif (owned by the returned Sig).
        let status = unsafe {
            (lib.prep_cif)(
                &mut *cif,
                lib.abi,
                params.len() as c_uint,
                rtype,
                args.as_mut_ptr(),
            )
        };
        assert_eq!(
            status, 0,
            "libffi 3.8's ffi_prep_cif refused {ret:?}{params:?}"
        );
        // SAFETY: a prepared cif, which outlives the plan (both owned by the Sig; the plan is
        // freed first, in drop).
        let plan = unsafe { (lib.plan_alloc)(&mut *cif) };
        assert!(!plan.is_null(), "ffi_call_plan_alloc failed");
        Sig {
            lib,
            cif,
            _args: args,
            _structs: structs,
            plan,
        }
    }

    /// `code(args)` through `ffi_call_plan_invoke`, its result read as an `R`.
    ///
    /// # Safety
    /// `code` has the signature the Sig was prepared with, `args` point to its arguments
    /// (one each, of their types), and `R` is the return type (at most 16 bytes; an integer
    /// return is read from the low bytes of the widened `ffi_arg`, on a little-endian target).
    #[inline(always)]
    unsafe fn invoke<R: Copy, const N: usize>(&self, code: CFn, args: &[*mut c_void; N]) -> R {
        const { assert!(size_of::<R>() <= 16 && cfg!(target_endian = "little")) };
        let mut ret = MaybeUninit::<[u64; 2]>::uninit();
        // SAFETY: the caller's promise; libffi writes at most 16 bytes to `ret` and only
        // reads the argument array.
        unsafe {
            (self.lib.plan_invoke)(
                self.plan,
                code,
                ret.as_mut_ptr().cast(),
                args.as_ptr().cast_mut(),
            );
            ret.as_ptr().cast::<R>().read()
        }
    }

    /// `code(args)` through `ffi_call`, its result read as an `R`.
    ///
    /// # Safety
    /// As [`Sig::invoke`].
    #[inline(always)]
    unsafe fn ffi_call<R: Copy, const N: usize>(&self, code: CFn, args: &[*mut c_void; N]) -> R {
        const { assert!(size_of::<R>() <= 16 && cfg!(target_endian = "little")) };
        let mut ret = MaybeUninit::<[u64; 2]>::uninit();
        let cif: *const FfiCif = &*self.cif;
        // SAFETY: as in `invoke`; ffi_call only reads the prepared cif.
        unsafe {
            (self.lib.call)(
                cif.cast_mut(),
                code,
                ret.as_mut_ptr().cast(),
                args.as_ptr().cast_mut(),
            );
            ret.as_ptr().cast::<R>().read()
        }
    }
}

impl Drop for Sig {
    fn drop(&mut self) {
        // SAFETY: from ffi_call_plan_alloc, freed once, before its cif.
        unsafe { (self.lib.plan_free)(self.plan) };
    }
}

/// The rows `libffi-plan` (`ffi_call_plan_invoke`) and `libffi-3.8` (`ffi_call`) of a shape:
/// `(caller, batch)` pairs calling `code`, a C function `ret(params)`, with the arguments
/// `args()` points to, each batch checking its last result against `want`. Empty, after the
/// loud line, when libffi 3.8 was not built.
///
/// # Panics
/// When libffi 3.8 refuses the signature, or (in the batch) a result differs from `want`.
///
/// # Safety
/// `code` is a C function `ret(params)`, `R` its return type (at most 16 bytes), and `args`
/// returns `N` pointers to arguments of the types `params` names, valid while the closure
/// lives.
pub(super) unsafe fn rows<R, const N: usize>(
    code: *const c_void,
    ret: Kind,
    params: [Kind; N],
    want: R,
    args: impl Fn() -> [*mut c_void; N] + Clone + 'static,
) -> Vec<(&'static str, Batch)>
where
    R: Copy + PartialEq + Debug + 'static,
{
    let Some(lib) = library() else {
        return Vec::new();
    };
    // SAFETY: `code` is a C function (the caller's promise).
    let code: CFn = unsafe { std::mem::transmute::<*const c_void, CFn>(code) };
    let plan = Sig::new(lib.clone(), ret, &params);
    let call = Sig::new(lib, ret, &params);
    // Each result is checked once before any is timed (the batches check their last too).
    // SAFETY: the caller's promise: `code`'s signature is the Sig's, `args` points to
    // arguments of its types.
    unsafe {
        assert_eq!(plan.invoke::<R, N>(code, &args()), want, "libffi-plan");
        assert_eq!(call.ffi_call::<R, N>(code, &args()), want, "libffi-3.8");
    }
    let args_plan = args.clone();
    vec![
        (
            "libffi-plan",
            batch(
                want,
                #[inline(always)]
                move || {
                    // SAFETY: as above.
                    unsafe { plan.invoke::<R, N>(code, &args_plan()) }
                },
            ),
        ),
        (
            "libffi-3.8",
            batch(
                want,
                #[inline(always)]
                move || {
                    // SAFETY: as above.
                    unsafe { call.ffi_call::<R, N>(code, &args()) }
                },
            ),
        ),
    ]
}
