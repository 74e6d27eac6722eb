//! # backend-asm: a pure-Rust libffi
//!
//! Calls any C function whose signature is known only at run time, through one naked-asm
//! trampoline per architecture that runs on the caller's own stack.
//!
//! **Prepare** classifies the signature once into a call plan (`plan::Plan`): for every
//! argument the general-purpose register, floating-point register or stack word each piece
//! goes to, struct pieces per the ABI (System V eightbytes; AAPCS64 HFAs and by-reference
//! composites), the stack size, `%al` for x86-64 variadic calls, and how the return comes
//! back (registers, or a hidden sret pointer in `rdi` / `x8`), plus the parameter list's
//! [`ffi_trait::ArgChecks`] and the return's [`ffi_trait::ReturnDecode`]. **Call** never
//! re-walks the type list (the per-call re-classification that makes libffi's cost grow with
//! the argument count): the argument checks are one comparison of the packed argument count
//! and kinds (a constant where they are constants at the call site; structs and lists past
//! 14 arguments compare each header, without a branch per argument). Where that packed word
//! ("key") has each class's arguments consecutive, it also says which register each argument
//! takes (the `abi::site` module, checked against the plan at prepare): the call reads the
//! argument array only at indices the key gives, so with kinds that are constants at the call
//! site the compiler passes each value straight to its register and never builds the array.
//! Otherwise one jump on the entry chosen at prepare reaches an inline `asm!` block that
//! loads each argument register
//! straight from the argument array at an offset the plan holds (`entry` module: integer
//! registers only, one block per count; registers; registers at a stride from one base per
//! class, where each class takes consecutive arguments; one or two stack words stored by the
//! block itself; more stack words; struct pieces), calls on the caller's stack, and the
//! return becomes a value without a branch on its type. Plans the inline entry does not
//! take (AAPCS64 by-reference copies, over 64 stack words), a stack budget, or a test's
//! request go through the naked trampoline, which reads a frame the plan filled, copies the
//! stack words below the stack pointer and calls.
//!
//! Supported: x86-64 System V and AArch64 AAPCS64 on Linux; every scalar of the signature
//! grammar, structs by value as arguments and returns, stack arguments, variadic calls.
//! Other targets get [`Error::UnsupportedTarget`] from [`AsmBackend::new`].
//!
//! An optional per-function stack budget ([`AsmFunction::set_stack_budget`]) is checked
//! against the calling thread's remaining stack before each call: exceeding it is
//! [`Error::StackBudgetExceeded`], never a silent overflow.
//!
//! Typed calls ([`AsmTyped`]) know their signature as a Rust type, so the compiler lowers
//! them itself, at the cost of a plain call through a function pointer.
//!
//! The other direction — C calling Rust — is [`Closure`]: a C function pointer of any
//! signature whose incoming registers are read by the same call plans (see the `closure`
//! module: trampoline pages, W^X, no slot limit).

use std::ffi::c_void;
use std::marker::PhantomData;

use ffi_trait::{
    Arg, ArgChecks, ArgKind, Backend, Error, HostBuffers, OwnerId, Params, PointerKind, Result,
    ReturnDecode, ReturnType, SharedLibrary, Signature, Source, StableBuffer, Value,
    backend::call_raw_by_args, raw::RawReturn, typed_signature,
};

mod abi;
mod arch;
mod call;
mod closure;
mod entry;
mod frame;
mod stack;
mod stub;

use abi::plan::{Plan, RetPlan};
pub use abi::registers::{RegisterArg, RegisterPlacement, register_placement};
use abi::site::{SiteEntry, SitePlacement};
pub(crate) use abi::target_plan;
use call::{RetForm, raw_call, raw_call_int, raw_inline_call, raw_site_entry, unsupported};
pub use closure::{Closure, ClosureArgs, ClosureParams, MAX_CLOSURE_ARGS, ReturnSlot};
use entry::InlinePlan;
use stub::RawRoutine;

/// The asm backend: one context with its own stable buffers.
///
/// # Thread-safety
/// `Send`, not `Sync`: a context is used by one thread at a time.
#[derive(Debug)]
pub struct AsmBackend {
    buffers: HostBuffers,
}

impl AsmBackend {
    /// A new, empty context.
    ///
    /// # Errors
    /// [`Error::UnsupportedTarget`] on an architecture without a trampoline (anything but
    /// x86-64 and AArch64).
    pub fn new() -> Result<AsmBackend> {
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            Ok(AsmBackend {
                buffers: HostBuffers::new(OwnerId::fresh()),
            })
        } else {
            Err(Error::UnsupportedTarget(format!(
                "the asm backend has trampolines for x86_64 and aarch64, not {}",
                std::env::consts::ARCH
            )))
        }
    }
}

/// A code address that may cross threads.
#[derive(Clone, Copy, Debug)]
struct Code(*const c_void);

// SAFETY: a function address is plain data; whether calling it from another thread is sound
// is the foreign function's own property, covered by the `unsafe` contract of `call`.
unsafe impl Send for Code {}
// SAFETY: as above; the address is never written through.
unsafe impl Sync for Code {}

/// A function prepared for dynamic calls: the symbol's address and its call plan.
#[derive(Debug)]
pub struct AsmFunction {
    code: Code,
    plan: Plan,
    /// The inline entry's form of the plan, and the entry calls take (the naked trampoline
    /// when the inline entry cannot make the call, a stack budget is set or a test forces
    /// it).
    inline: InlinePlan,
    /// One check per argument (kind, struct size), with the count and kinds packed into one
    /// word (one comparison per call where they are constants at the call site).
    checks: ArgChecks,
    /// For a signature of scalar arguments, how each is read from a raw argument pointer
    /// (the C API's `ffikit_call`, libffi's convention): the [`Entry::Int`](entry::Entry)
    /// route then loads each register straight from its pointer. `None` with a struct
    /// argument.
    raw: Option<Box<[ArgKind]>>,
    /// Every parameter's kind ([`ArgKind::Struct`] for a struct): how the inline entry reads
    /// a raw argument array ([`entry::RawArgs`]).
    kinds: Box<[ArgKind]>,
    /// The routine of the raw entry ([`raw_routine_of`]), kept in step with the plan's
    /// entry, and whether it is a compiled stub.
    raw_routine: Option<(RawRoutine, bool)>,
    /// Whether the raw entry may be a compiled stub ([`stub`]); tests turn it off to run
    /// the Rust routines.
    compiled_stub: bool,
    /// The plan's args-form compiled stub ([`stub::StubForm::Args`]): what
    /// [`Backend::call`] runs for the plans its key does not place, kept in step with the
    /// plan's entry (`None` for the trampoline's plans and where there is no stub).
    args_stub: Option<stub::ArgsStub>,
    /// How a scalar return is written into a raw call's return slot.
    raw_ret: RawReturn,
    /// Bytes the return slot must hold: the struct's size for a struct return, else 0.
    ret_size: u32,
    /// Where the return comes back and how it is decoded.
    ret_form: RetForm,
    /// The scalar return's decoding.
    ret_decode: ReturnDecode,
    /// Tests set this to run every call through the naked trampoline.
    force_trampoline: bool,
    /// The entry of calls whose key places their arguments ([`SitePlacement`]): `Some`
    /// when the plan puts every argument where the key says (checked at prepare) and no
    /// stack budget or test asks for the trampoline.
    site: Option<SiteEntry>,
    signature: Signature,
    symbol: Box<str>,
    stack_budget: Option<usize>,
    /// The library the code is in (`None` for a function prepared from an address, whose
    /// code the caller keeps alive).
    _lib: Option<SharedLibrary>,
}

impl AsmFunction {
    /// A function with `plan` (of `sig`) at `code`, named `symbol` in errors, keeping `lib`
    /// (the library that holds the code, `None` for a caller-held address) alive.
    fn new(
        code: *const c_void,
        plan: Plan,
        sig: &Signature,
        symbol: Box<str>,
        lib: Option<SharedLibrary>,
    ) -> AsmFunction {
        let checks = ArgChecks::of_signature(sig);
        let raw = sig.args().iter().map(ArgKind::of).collect();
        let kinds = sig
            .args()
            .iter()
            .map(|t| ArgKind::of(t).unwrap_or(ArgKind::Struct))
            .collect();
        let ret_size = match plan.ret {
            RetPlan::Indirect { size } | RetPlan::Pieces { size, .. } => size,
            _ => 0,
        };
        let mut f = AsmFunction {
            code: Code(code),
            inline: InlinePlan::of(&plan),
            checks,
            raw,
            kinds,
            raw_routine: None,
            compiled_stub: true,
            args_stub: None,
            ret_size,
            ret_form: RetForm::of(&plan.ret),
            ret_decode: ReturnDecode::of(sig.ret()),
            raw_ret: RawReturn::of(sig.ret()),
            force_trampoline: false,
            site: None,
            plan,
            signature: sig.clone(),
            symbol,
            stack_budget: None,
            _lib: lib,
        };
        f.refresh_fast();
        f
    }

    /// The function's address.
    pub fn code(&self) -> *const c_void {
        self.code.0
    }

    /// Whether the function returns a value (its raw calls need a return slot).
    #[inline(always)]
    pub(crate) fn returns(&self) -> bool {
        !matches!(self.signature.ret(), ffi_trait::Type::Void)
    }

    /// Sets the stack the function may use, in bytes (`None`: no check, the default). Before
    /// each call the calling thread's remaining stack is compared with the budget plus the
    /// call's own stack arguments; too little is [`Error::StackBudgetExceeded`].
    pub fn set_stack_budget(&mut self, bytes: Option<usize>) {
        self.stack_budget = bytes;
        self.refresh_fast();
    }

    fn refresh_fast(&mut self) {
        let trampoline = self.stack_budget.is_some() || self.force_trampoline;
        self.inline.force_trampoline(trampoline);
        self.site = SitePlacement::of(self.checks.key())
            .filter(|_| !trampoline)
            .and_then(|p| p.entry(&self.plan, self.signature.is_variadic()));
        self.raw_routine = raw_routine_of(self);
        self.args_stub = if self.compiled_stub && self.inline.is_inline() {
            stub::args_stub_for_plan(
                &self.plan,
                self.signature.ret(),
                self.signature.is_variadic(),
                self.checks.checks(),
            )
        } else {
            None
        };
    }

    /// Lets the raw entry be the plan's compiled stub (`true`, the default) or keeps it to
    /// the Rust routines (for tests that exercise both).
    #[doc(hidden)]
    pub fn use_compiled_stub(&mut self, on: bool) {
        self.compiled_stub = on;
        self.refresh_fast();
    }

    /// Whether the raw entry is a compiled stub (for tests and benches that say which ran).
    #[doc(hidden)]
    pub fn has_compiled_stub(&self) -> bool {
        matches!(self.raw_routine, Some((_, true)))
    }

    /// How many compiled stubs this process made, and the most it makes (past that, plans
    /// keep the Rust routines): for tests that check coverage.
    #[doc(hidden)]
    pub fn compiled_stubs() -> (usize, usize) {
        (stub::made(), stub::MAX_STUBS)
    }

    /// Runs every call through the naked trampoline even when the inline entry could take
    /// it (for tests that exercise both paths; the inline entry is faster).
    #[doc(hidden)]
    pub fn force_trampoline(&mut self, on: bool) {
        self.force_trampoline = on;
        self.refresh_fast();
    }
}

/// The routine of `f`'s raw entry ([`Backend::raw_entry`]) for its current plan, chosen once
/// (at prepare and when a stack budget or a test changes the plan), and whether it is a
/// compiled stub (whose data is the function's address, not the function): the plan's
/// compiled stub ([`stub::for_plan`]) where there is one; else a keyed scalar plan's routine
/// per [`SiteEntry`] (integer words per argument count), else the inline entry's reading the
/// raw array in place; `None` for the trampoline's plans (a stack budget, a test's choice, or
/// a plan the inline entry does not take).
fn raw_routine_of(f: &AsmFunction) -> Option<(RawRoutine, bool)> {
    if !f.inline.is_inline() {
        return None;
    }
    if f.compiled_stub
        && let Some(stub) = stub::for_plan(&f.plan, f.signature.ret(), f.signature.is_variadic())
    {
        return Some((stub, true));
    }
    rust_routine_of(f).map(|r| (r, false))
}

/// [`raw_routine_of`] without the compiled stub: the Rust routine of `f`'s plan.
fn rust_routine_of(f: &AsmFunction) -> Option<RawRoutine> {
    let Some(entry) = raw_site_entry(f).filter(|_| f.raw.is_some()) else {
        // Any other plan the inline entry takes reads the raw array in place (`RawArgs`):
        // struct pieces, stack words, struct returns.
        return f
            .inline
            .is_inline()
            .then_some(raw_inline_call as RawRoutine);
    };
    let nargs = f.kinds.len();
    Some(match entry {
        // Integer words: one routine per count (at most `MAX_INT_ARGS`).
        SiteEntry::Int if nargs == 0 => raw_call_int::<0>,
        SiteEntry::Int if nargs == 1 => raw_call_int::<1>,
        SiteEntry::Int if nargs == 2 => raw_call_int::<2>,
        SiteEntry::Int if nargs == 3 => raw_call_int::<3>,
        SiteEntry::Int if nargs == 4 => raw_call_int::<4>,
        SiteEntry::Int if nargs == 5 => raw_call_int::<5>,
        SiteEntry::Int if nargs == 6 => raw_call_int::<6>,
        SiteEntry::Int if nargs == 7 => raw_call_int::<7>,
        SiteEntry::Int if nargs == 8 => raw_call_int::<8>,
        SiteEntry::Int => raw_call::<{ SiteEntry::Int as u8 }>,
        SiteEntry::Small => raw_call::<{ SiteEntry::Small as u8 }>,
        SiteEntry::SmallClamped => raw_call::<{ SiteEntry::SmallClamped as u8 }>,
        SiteEntry::Regs => raw_call::<{ SiteEntry::Regs as u8 }>,
        SiteEntry::RegsClamped => raw_call::<{ SiteEntry::RegsClamped as u8 }>,
        SiteEntry::Stack2 => raw_call::<{ SiteEntry::Stack2 as u8 }>,
    })
}

/// A function prepared for typed calls `R(P...)`.
///
/// The signature is a Rust type here, so the compiler lowers the call itself, through an
/// `extern "C" fn` pointer of exactly that type (as the native backend does): no plan and
/// no trampoline are needed, and the call costs what a plain Rust call through a function
/// pointer costs. Prepare still classifies the signature, so the same signatures are
/// accepted as by [`Backend::prepare`]. Structs by value are `#[repr(C)]` Rust structs
/// ([`ffi_trait::CStruct`]): the compiler applies the C ABI's struct rules to them.
#[derive(Debug)]
pub struct AsmTyped<P, R> {
    code: Code,
    _lib: SharedLibrary,
    _sig: PhantomData<fn(P) -> R>,
}

impl Backend for AsmBackend {
    const NAME: &'static str = "asm";
    const POINTERS: PointerKind = PointerKind::Host;
    type Library = SharedLibrary;
    type Function = AsmFunction;
    type Typed<P: Params, R: ReturnType> = AsmTyped<P, R>;

    fn owner(&self) -> OwnerId {
        self.buffers.owner()
    }

    fn open(&mut self, source: Source<'_>) -> Result<SharedLibrary> {
        match source {
            // SAFETY: opening a library runs its initialisers; the user chose the library.
            Source::Path(p) => unsafe { SharedLibrary::open(p) },
            Source::Bytes(_) => Err(Error::UnsupportedSource {
                backend: "asm",
                what: format!("{} (a shared library must be a file)", source.describe()),
            }),
        }
    }

    unsafe fn prepare(
        &mut self,
        lib: &SharedLibrary,
        symbol: &str,
        sig: &Signature,
    ) -> Result<AsmFunction> {
        let plan = target_plan(sig)?;
        let code = lib.symbol_address(symbol)?;
        Ok(AsmFunction::new(
            code,
            plan,
            sig,
            symbol.into(),
            Some(lib.clone()),
        ))
    }

    unsafe fn prepare_address(
        &mut self,
        code: *const c_void,
        sig: &Signature,
    ) -> Result<AsmFunction> {
        if code.is_null() {
            return Err(Error::NullAddress);
        }
        let plan = target_plan(sig)?;
        Ok(AsmFunction::new(
            code,
            plan,
            sig,
            format!("{code:p}").into(),
            None,
        ))
    }

    fn signature_of(f: &AsmFunction) -> &Signature {
        &f.signature
    }

    /// On x86-64 the call is the plan's args-form compiled stub ([`stub::StubForm::Args`]):
    /// the count is compared here, the stub compares each argument's header with its
    /// parameter's check, loads it with the plan's instructions and calls; a failed check
    /// comes back as a flag, and only then are the arguments walked again to name the error.
    /// Without a stub (other targets, the stub cap reached, executable memory refused, or
    /// a stack budget) the arguments' key ([`ArgChecks::args_key`]) is computed: where it
    /// gives their placement (`site::SitePlacement`) and the function's plan agrees, the
    /// call reads the arguments only at indices the key gives (with kinds that are constants
    /// at the call site the array is never built); otherwise the plan's inline entry or the
    /// trampoline makes the call.
    #[inline(always)]
    unsafe fn call(&mut self, f: &AsmFunction, args: &[Arg<'_>], ret: &mut [u8]) -> Result<Value> {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(stub) = f.args_stub
                && args.len() == f.checks.len()
                && ret.len() >= f.ret_size as usize
            {
                // SAFETY: one argument per parameter (just compared), each checked by the
                // stub before anything is loaded; `ret` holds the struct's size for a
                // struct return; the callers of `prepare` and `call` asserted the signature
                // and the arguments.
                let r = unsafe { stub(f.code.0, args.as_ptr(), ret.as_mut_ptr()) };
                if r.fault == 0 {
                    return Ok(call::stub_value(f, r.bits));
                }
            }
            // Out of line and returning in two registers (see `call_off_site`).
            // SAFETY: forwarded from this function's contract.
            match unsafe { call::call_unstubbed(f, args, ret) } {
                Ok(v) => Ok(v),
                Err(e) => Err(*e),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: forwarded from this function's contract.
        unsafe {
            call::call_by_key(f, args, ret)
        }
    }

    /// The libffi-style call. Integer-class scalar arguments in their registers (and up to
    /// two stack words past them) with a scalar return (the [`entry::Entry::Int`] route) load
    /// each register and stack word straight from its argument pointer with the load
    /// prepared for its type ([`ArgKind::raw_image`]): no [`Arg`] is built and nothing is
    /// checked that the signature already fixes. So do calls of scalar arguments whose
    /// placement the function's key gives (`site::SitePlacement`) with a scalar return.
    /// Every other call goes through [`Arg`]s ([`call_raw_by_args`]).
    #[inline]
    unsafe fn call_raw(
        &mut self,
        f: &AsmFunction,
        args: *const *const c_void,
        nargs: usize,
        ret: *mut c_void,
    ) -> Result<()> {
        // The count is checked once; then the function's raw entry (the one the C API runs)
        // reads each argument from its pointer. Only plans that need the trampoline go
        // through `Arg`s (and a null `args` or `ret`, which that path names).
        if nargs == f.kinds.len()
            && let Some(entry) = Self::raw_entry(f)
            // SAFETY: the count is the signature's; each `args[k]` is valid for a read of its
            // parameter's type and `ret` null or valid for the return's writes (the
            // caller's contract); `f` is alive and unchanged for the call.
            && unsafe { entry.call(args, ret) } == 0
        {
            return Ok(());
        }
        // SAFETY: forwarded from the caller's contract.
        unsafe { call_raw_by_args(self, f, args, nargs, ret) }
    }

    unsafe fn prepare_typed<P: Params, R: ReturnType>(
        &mut self,
        lib: &SharedLibrary,
        symbol: &str,
    ) -> Result<AsmTyped<P, R>> {
        // The plan is not kept (the compiler makes a typed call), but planning rejects
        // targets the backend does not support.
        target_plan(&typed_signature::<P, R>()?)?;
        Ok(AsmTyped {
            code: Code(lib.symbol_address(symbol)?),
            _lib: lib.clone(),
            _sig: PhantomData,
        })
    }

    #[inline(always)]
    unsafe fn call_typed<P: Params, R: ReturnType>(
        &mut self,
        f: &AsmTyped<P, R>,
        args: P,
    ) -> Result<R> {
        // SAFETY: the caller of `prepare_typed` asserted that the symbol has the C signature
        // `R(P...)`; the caller of `call_typed` that the values are sound for it.
        Ok(unsafe { args.call_host::<R>(f.code.0) })
    }

    fn function_address(f: &Self::Function) -> Option<*const c_void> {
        Some(f.code())
    }

    /// The raw entry of the functions [`AsmBackend::call_raw`] calls without building
    /// [`Arg`]s (every plan the inline entries take): the plan's compiled stub on x86-64
    /// ([`stub`]), else a Rust routine per [`SiteEntry`] or the inline entry's, chosen at
    /// prepare, so a call through it matches on nothing.
    fn raw_entry(f: &AsmFunction) -> Option<ffi_trait::raw::RawEntry> {
        let (call, compiled) = f.raw_routine?;
        // A compiled stub takes the function's address; a Rust routine the function.
        let data = if compiled {
            f.code.0.cast::<()>()
        } else {
            (f as *const AsmFunction).cast()
        };
        // SAFETY: `raw_routine` (chosen by `raw_routine_of` from `f`'s current plan) makes
        // `f`'s call reading each argument from its pointer, as `call_raw` does, given
        // `data` of its kind.
        Some(unsafe { ffi_trait::raw::RawEntry::new(call, data) })
    }

    fn typed_address<P: Params, R: ReturnType>(f: &AsmTyped<P, R>) -> Option<*const c_void> {
        Some(f.code.0)
    }

    fn alloc_stable_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer> {
        self.buffers.alloc(len, align)
    }

    fn free_stable_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        self.buffers.free(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gp_words(sig: &str) -> u8 {
        match RetForm::of(&target_plan(&sig.parse().unwrap()).unwrap().ret) {
            RetForm::Word1 => 1,
            RetForm::Words2 => 2,
            _ => 0,
        }
    }

    #[test]
    fn integer_register_struct_returns_take_the_word_copy() {
        assert_eq!(gp_words("{i64, i64}()"), 2);
        assert_eq!(gp_words("{ptr, u64}(i32)"), 2);
        assert_eq!(gp_words("{i32, i32}()"), 1);
        assert_eq!(gp_words("{i64}()"), 1);
        // A partial eightbyte, a vector register, a scalar or a hidden-pointer return: the
        // piece walk.
        assert_eq!(gp_words("{i32, i32, i32}()"), 0);
        assert_eq!(gp_words("{i32}()"), 0);
        assert_eq!(gp_words("{f64, f64}()"), 0);
        // System V: INTEGER then SSE (rax, xmm0); AAPCS64: a 16-byte composite in x0, x1.
        let mixed = if cfg!(target_arch = "aarch64") { 2 } else { 0 };
        assert_eq!(gp_words("{i64, f64}()"), mixed);
        assert_eq!(gp_words("i64()"), 0);
        assert_eq!(gp_words("{i64, i64, i64}()"), 0);
    }
}
