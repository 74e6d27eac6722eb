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
use std::mem::MaybeUninit;

use ffi_trait::{
    Arg, ArgChecks, ArgKind, ArgsMismatch, Backend, Error, HostBuffers, OwnerId, Params,
    PointerKind, Result, ReturnDecode, ReturnType, SharedLibrary, Signature, Source, StableBuffer,
    Value,
    backend::{arg_kind_error, arg_type_error, call_raw_by_args},
    raw::RawReturn,
    typed_signature,
};

mod abi;
mod arch;
mod closure;
mod entry;
mod frame;
mod stack;

use abi::plan::{self, FillError, Plan, RetPlan};
pub use abi::registers::{RegisterArg, RegisterPlacement, register_placement};
use abi::site::{SiteEntry, SitePlacement};
pub(crate) use abi::target_plan;
pub use closure::{Closure, ClosureArgs, ClosureParams, MAX_CLOSURE_ARGS, ReturnSlot};
use entry::InlinePlan;
use frame::{Frame, MAX_WORDS};

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
    _lib: SharedLibrary,
}

impl AsmFunction {
    /// The function's address.
    pub fn code(&self) -> *const c_void {
        self.code.0
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
    }

    /// Runs every call through the naked trampoline even when the inline entry could take
    /// it (for tests that exercise both paths; the inline entry is faster).
    #[doc(hidden)]
    pub fn force_trampoline(&mut self, on: bool) {
        self.force_trampoline = on;
        self.refresh_fast();
    }
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

/// Calls through the trampoline once the plan has been executed into `frame`/`words`.
///
/// # Safety
/// `frame` holds a sound call of `frame.code` prepared by `plan`; `words` holds the plan's
/// stack and scratch words; `ret` (for an indirect return) is valid for the struct's size.
#[inline(always)]
unsafe fn finish(plan: &Plan, frame: &mut Frame, words: &[u64], ret: *mut u8) {
    frame.stack_words = plan.stack_words as u64;
    frame.stack = words.as_ptr();
    frame.extra = plan.extra;
    if let RetPlan::Indirect { .. } = plan.ret {
        if plan.sret_in_gp0 {
            frame.gp[0] = ret as usize as u64;
        } else {
            frame.extra = ret as usize as u64;
        }
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { frame::call(frame) };
}

/// Where a call's return comes back and how [`decode`] turns it into a value, decided at
/// prepare so that the call makes one test for the common scalar returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum RetForm {
    /// A scalar (or `void`) in the first integer return register (`rax` / `x0`).
    Int,
    /// A scalar in the first vector return register (`xmm0` / `d0`).
    Float,
    /// A struct of one whole eightbyte in `rax` / `x0` (System V INTEGER, AAPCS64 8-byte
    /// composites): one 8-byte write.
    Word1,
    /// A struct of two whole eightbytes in `rax`, `rdx` / `x0`, `x1`: two 8-byte writes.
    Words2,
    /// Any other struct in registers: the plan's piece walk ([`plan::decode_return`]).
    Pieces,
    /// A struct through the hidden pointer (sret): the callee already wrote it.
    Indirect,
}

impl RetForm {
    fn of(ret: &RetPlan) -> RetForm {
        let pieces = match ret {
            RetPlan::Void | RetPlan::Int => return RetForm::Int,
            RetPlan::Float => return RetForm::Float,
            RetPlan::Indirect { .. } => return RetForm::Indirect,
            RetPlan::Pieces { size, pieces } => {
                let in_order = pieces
                    .iter()
                    .enumerate()
                    .all(|(k, p)| p.reg as usize == k && p.offset as usize == 8 * k && p.len == 8);
                if in_order && *size as usize == 8 * pieces.len() {
                    pieces.len()
                } else {
                    0
                }
            }
        };
        match pieces {
            1 => RetForm::Word1,
            2 => RetForm::Words2,
            _ => RetForm::Pieces,
        }
    }
}

/// The call's result from the return registers (`regs`, in the order of [`Frame::ret`]):
/// a scalar, or a struct copied into `ret`.
///
/// # Safety
/// `ret` holds at least `f.ret_size` bytes.
#[inline(always)]
unsafe fn decode(f: &AsmFunction, regs: [u64; 6], ret: &mut [u8]) -> Value {
    // Scalar and void returns (the common case) first, with one test.
    if f.ret_form as u8 <= RetForm::Float as u8 {
        return decode_scalar(f, regs);
    }
    let out = ret.as_mut_ptr();
    if f.ret_form == RetForm::Words2 {
        // The common struct return (16 bytes in two integer registers) without the jump
        // below.
        // SAFETY: `ret` holds the struct's 16 bytes (forwarded contract).
        unsafe {
            out.cast::<u64>().write_unaligned(regs[0]);
            out.add(8).cast::<u64>().write_unaligned(regs[1]);
        }
        return Value::Struct;
    }
    match f.ret_form {
        // SAFETY: `ret` holds the struct's size, 8 or 16 bytes for these forms (forwarded
        // contract).
        RetForm::Word1 => unsafe { out.cast::<u64>().write_unaligned(regs[0]) },
        // SAFETY: forwarded contract.
        RetForm::Pieces => unsafe {
            decode_pieces(f, regs[0], regs[1], regs[2], regs[3], regs[4], regs[5], ret)
        },
        RetForm::Int | RetForm::Float | RetForm::Words2 | RetForm::Indirect => {}
    }
    Value::Struct
}

/// The scalar (or `void`) return of a function whose [`RetForm`] is `Int` or `Float`.
#[inline(always)]
fn decode_scalar(f: &AsmFunction, regs: [u64; 6]) -> Value {
    f.ret_decode.value(scalar_bits(f, regs))
}

/// The register image of a scalar (or `void`) return: the vector return register's for a
/// [`RetForm::Float`], else the integer one's.
#[inline(always)]
/// The entry of `f`'s raw calls that build no [`Arg`]: integer words in their registers (the
/// plan's `Int` entry, which a variadic call may take too), or scalars the function's key
/// places, with a scalar return; `None` for every other function.
fn raw_site_entry(f: &AsmFunction) -> Option<SiteEntry> {
    if f.inline.is_int() {
        Some(SiteEntry::Int)
    } else {
        f.site.filter(|_| f.ret_form as u8 <= RetForm::Float as u8)
    }
}

/// [`AsmBackend::raw_entry`]'s routine for entry `E` (a [`SiteEntry`] as `u8`): the raw call
/// of [`AsmBackend::call_raw`]'s direct path, with the entry a constant.
///
/// # Safety
/// `data` is an [`AsmFunction`] whose [`raw_site_entry`] is `E` and that has its raw kinds,
/// alive and unchanged; `args` and `ret` as [`ffi_trait::raw::RawEntry::call`].
unsafe fn raw_call<const E: u8>(data: *const (), args: *const *const c_void, ret: *mut c_void) {
    // SAFETY: (all) the contract above.
    unsafe {
        let f = &*data.cast::<AsmFunction>();
        let raw = f.raw.as_deref().unwrap_unchecked();
        let entry = SiteEntry::of_u8(E);
        let regs = SitePlacement::call(
            f.checks.key(),
            entry,
            f.code.0,
            raw.len(),
            #[inline(always)]
            |k| raw.get_unchecked(k).raw_image(*args.add(k)),
            f.plan.extra,
        );
        f.raw_ret.write(scalar_bits(f, regs), ret);
    }
}

fn scalar_bits(f: &AsmFunction, regs: [u64; 6]) -> u64 {
    if f.ret_form == RetForm::Float {
        regs[2]
    } else {
        regs[0]
    }
}

/// [`decode`]'s piece walk, out of line: the return registers reach memory only on this
/// path, not on the inline entries' common ones.
///
/// # Safety
/// As [`decode`].
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn decode_pieces(
    f: &AsmFunction,
    r0: u64,
    r1: u64,
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
    ret: &mut [u8],
) {
    let regs = [r0, r1, v0, v1, v2, v3];
    if let RetPlan::Pieces { pieces, .. } = &f.plan.ret {
        // SAFETY: the plan's pieces; `ret` holds the struct's size (forwarded contract).
        unsafe { plan::decode_return(pieces, &regs, ret) };
    }
}

#[cold]
#[inline(never)]
fn count_error(f: &AsmFunction, got: usize) -> Error {
    Error::ArgumentCount {
        function: f.symbol.to_string(),
        expected: f.signature.args().len(),
        got,
    }
}

#[cold]
#[inline(never)]
fn fill_error(f: &AsmFunction, e: FillError, args: &[Arg<'_>]) -> Error {
    let FillError::Type(i) = e;
    arg_type_error(&f.symbol, i, &f.signature.args()[i], &args[i])
}

#[cold]
#[inline(never)]
fn ret_slot_error(f: &AsmFunction, needed: u32, got: usize) -> Error {
    Error::ReturnSlotTooSmall {
        function: f.symbol.to_string(),
        needed: needed as usize,
        got,
    }
}

fn unsupported(sig: &Signature, reason: &str) -> Error {
    Error::UnsupportedSignature {
        backend: "asm",
        signature: sig.to_string(),
        reason: reason.to_owned(),
    }
}

/// A call through the naked trampoline ([`entry::Entry::Trampoline`]): the stack budget
/// check, the frame filled by the plan, the call. Out of line, so that the inline entries'
/// callers do not carry its frame (up to [`MAX_WORDS`] words).
///
/// The error is boxed so that the result comes back in two registers (an inline caller
/// then merges its value with the inline entries' without a round trip through memory).
///
/// # Safety
/// As [`Backend::call`]; `args` passed the function's checks and `ret` holds at least
/// `f.ret_size` bytes.
#[inline(never)]
unsafe fn call_slow(
    f: &AsmFunction,
    args: &[Arg<'_>],
    ret: &mut [u8],
) -> std::result::Result<Value, Box<Error>> {
    let plan = &f.plan;
    if let Some(budget) = f.stack_budget {
        stack::check(&f.symbol, budget + plan.stack_words as usize * 8)?;
    }
    let mut frame = Frame::new(f.code.0);
    let mut storage = [MaybeUninit::<u64>::uninit(); MAX_WORDS];
    let used = plan.stack_words as usize + plan.scratch_words as usize;
    for w in &mut storage[..used] {
        w.write(0);
    }
    // SAFETY: the first `used` words were just initialised (`used <= MAX_WORDS` was
    // checked at prepare).
    let words = unsafe { std::slice::from_raw_parts_mut(storage.as_mut_ptr().cast::<u64>(), used) };
    if let Err(e) = plan::fill(plan, args, &mut frame, words) {
        return Err(Box::new(fill_error(f, e, args)));
    }
    // SAFETY: the caller of `prepare` asserted the signature, from which the plan put
    // every argument where the ABI expects it; the caller of `call` asserted the
    // arguments are sound; `ret` holds at least the struct's size for an indirect return.
    unsafe { finish(plan, &mut frame, words, ret.as_mut_ptr()) };
    // SAFETY: the caller checked the return slot's size.
    Ok(unsafe { decode(f, frame.ret, ret) })
}

/// A call through the plan: the argument checks, then the plan's inline entry (one jump on
/// it) or the trampoline out of line. Where the key places the arguments ([`SitePlacement`])
/// [`Backend::call`] does not come here.
///
/// # Safety
/// As [`Backend::call`].
#[inline(always)]
unsafe fn call_planned(f: &AsmFunction, args: &[Arg<'_>], ret: &mut [u8]) -> Result<Value> {
    if let Err(m) = f.checks.check(args) {
        return Err(match m {
            ArgsMismatch::Count => count_error(f, args.len()),
            ArgsMismatch::Arg(i) => fill_error(f, FillError::Type(i), args),
        });
    }
    if f.inline.is_int() {
        // The common shape, with nothing else to look at: integer arguments in their
        // registers (and up to two stack words past them), a scalar return (the count's
        // `asm!` block is chosen by `args.len()`, which the compiler often knows).
        // SAFETY: the plan is `Entry::Int` and the arguments passed its checks;
        // the callers of `prepare` and `call` asserted the signature and the arguments.
        let regs = unsafe { entry::call_int_only(f.code.0, args) };
        return Ok(decode_scalar(f, regs));
    }
    if ret.len() < f.ret_size as usize {
        return Err(ret_slot_error(f, f.ret_size, ret.len()));
    }
    // One jump on the entry: an inline `asm!` call, or the trampoline out of line.
    // SAFETY: the arguments passed the checks; `ret` holds at least the struct's size for
    // a struct return; the callers of `prepare` and `call` asserted the signature and the
    // arguments.
    match unsafe {
        f.inline
            .call(f.code.0, args, ret.as_mut_ptr(), f.plan.extra)
    } {
        // SAFETY: the return slot's size was checked above.
        Some(regs) => Ok(unsafe { decode(f, regs, ret) }),
        // SAFETY: forwarded from this function's contract; the arguments passed the
        // checks and the return slot's size was checked above.
        None => unsafe { call_slow(f, args, ret) }.map_err(|e| *e),
    }
}

/// [`call_planned`] for arguments whose key placed them where the function's plan does not
/// take that path (a variadic call, an indirect return, a stack budget, a test's
/// trampoline): their images are copied out at the indices the key gives (so the argument
/// array is still never read at another), and the arguments are rebuilt from them out of line.
///
/// # Safety
/// As [`Backend::call`]; `args` has the function's key (so at most
/// [`ArgChecks::KEYED_MAX`] arguments, no struct).
#[inline(always)]
unsafe fn call_by_images(f: &AsmFunction, args: &[Arg<'_>], ret: &mut [u8]) -> Result<Value> {
    let mut images = [MaybeUninit::<u64>::uninit(); ArgChecks::KEYED_MAX];
    for (slot, a) in images.iter_mut().zip(args) {
        slot.write(a.bits());
    }
    // SAFETY: the key's count is at most `KEYED_MAX`, and the first `args.len()` slots were
    // written just above.
    let images = unsafe { std::slice::from_raw_parts(images.as_ptr().cast::<u64>(), args.len()) };
    // SAFETY: forwarded from this function's contract.
    unsafe { call_rebuilt(f, images, ret) }.map_err(|e| *e)
}

/// The plan's call of arguments rebuilt from their images and the parameters' kinds (a
/// `ptr` as a raw pointer: the asm backend passes host addresses either way).
///
/// The error is boxed so that the result comes back in two registers (as [`call_slow`]'s).
///
/// # Safety
/// As [`call_by_images`]; `images` are the images of arguments with the function's key.
#[inline(never)]
unsafe fn call_rebuilt(
    f: &AsmFunction,
    images: &[u64],
    ret: &mut [u8],
) -> std::result::Result<Value, Box<Error>> {
    let Some(kinds) = &f.raw else {
        // (A keyed function has no struct parameter, so `raw` is always there.)
        return Err(Box::new(count_error(f, images.len())));
    };
    let mut args = [MaybeUninit::<Arg<'_>>::uninit(); ArgChecks::KEYED_MAX];
    for ((slot, kind), image) in args.iter_mut().zip(kinds.iter()).zip(images) {
        // SAFETY: `image` is a readable 8-byte image whose low bytes hold the value (the
        // targets are little-endian), and `kind` is a scalar kind.
        slot.write(unsafe { kind.raw_arg((image as *const u64).cast()) });
    }
    // SAFETY: the function's key counts `images.len()` arguments, one per parameter, all
    // written just above.
    let args = unsafe { std::slice::from_raw_parts(args.as_ptr().cast::<Arg<'_>>(), images.len()) };
    // SAFETY: forwarded from this function's contract.
    unsafe { call_planned(f, args, ret) }.map_err(Box::new)
}

/// The error of arguments whose key differs from the function's, named from the key alone
/// ([`ArgChecks::mismatch_of_key`]): a buffer reads as `ptr` there.
#[cold]
#[inline(never)]
fn key_mismatch_error(f: &AsmFunction, key: u64) -> Error {
    match f.checks.mismatch_of_key(key) {
        Err(ArgsMismatch::Arg(i)) => {
            let got = ArgKind::from_tag(((key >> (4 * i)) & 0xf) as u8).unwrap_or(ArgKind::Ptr);
            arg_kind_error(&f.symbol, i, &f.signature.args()[i], got)
        }
        // (`Ok` cannot happen: equal counts and kinds have equal keys.)
        Err(ArgsMismatch::Count) | Ok(()) => count_error(f, (key >> 60) as usize),
    }
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
        let checks = ArgChecks::of_signature(sig);
        let raw = sig.args().iter().map(ArgKind::of).collect();
        let ret_size = match plan.ret {
            RetPlan::Indirect { size } | RetPlan::Pieces { size, .. } => size,
            _ => 0,
        };
        let mut f = AsmFunction {
            code: Code(code),
            inline: InlinePlan::of(&plan),
            checks,
            raw,
            ret_size,
            ret_form: RetForm::of(&plan.ret),
            ret_decode: ReturnDecode::of(sig.ret()),
            raw_ret: RawReturn::of(sig.ret()),
            force_trampoline: false,
            site: None,
            plan,
            signature: sig.clone(),
            symbol: symbol.into(),
            stack_budget: None,
            _lib: lib.clone(),
        };
        f.refresh_fast();
        Ok(f)
    }

    fn signature_of(f: &AsmFunction) -> &Signature {
        &f.signature
    }

    /// The arguments' key ([`ArgChecks::args_key`]) is computed first. Where it gives their
    /// placement (`site::SitePlacement`: each class's arguments consecutive, which covers
    /// most signatures of scalars) and the function's plan agrees with it (checked at
    /// prepare), the call reads the arguments only at indices the key gives: with kinds
    /// that are constants at the call site the array is never built. Otherwise the plan's
    /// inline entry or the trampoline makes the call.
    #[inline(always)]
    unsafe fn call(&mut self, f: &AsmFunction, args: &[Arg<'_>], ret: &mut [u8]) -> Result<Value> {
        let own = f.checks.key();
        let key = ArgChecks::args_key(args);
        if let Some(entry) = f.site
            && key == own
        {
            if ret.len() < f.ret_size as usize {
                return Err(ret_slot_error(f, f.ret_size, ret.len()));
            }
            // The placement comes from the function's key: a constant where the arguments'
            // key is one (the comparison just made the two equal); otherwise a few bit
            // operations on a word of the plan, which do not wait for the arguments.
            // SAFETY: the arguments have the function's key, whose placement gave `entry`
            // for the function's plan; the callers of `prepare` and `call` asserted the
            // signature and the arguments.
            let regs = unsafe {
                SitePlacement::call(
                    own,
                    entry,
                    f.code.0,
                    args.len(),
                    #[inline(always)]
                    |i| args.get_unchecked(i).bits(),
                    f.plan.extra,
                )
            };
            // SAFETY: the return slot's size was checked above.
            return Ok(unsafe { decode(f, regs, ret) });
        }
        if SitePlacement::of(key).is_some() {
            // The key places the arguments (a constant answer where the kinds are constants),
            // but not for this function: none of these paths reads `args` at an index the
            // key does not give.
            if key != own {
                return Err(key_mismatch_error(f, key));
            }
            // SAFETY: forwarded from this function's contract.
            return unsafe { call_by_images(f, args, ret) };
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { call_planned(f, args, ret) }
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
        if let (Some(raw), Some(entry)) = (&f.raw, raw_site_entry(f))
            && nargs == raw.len()
            && (nargs == 0 || !args.is_null())
        {
            // SAFETY: `SitePlacement::call` reads `k < nargs == raw.len()` only, and the
            // caller guarantees `args[k]` is valid for a read of parameter `k`'s type; the
            // `Int` entry puts argument `k` in register `k` (then stack word `k - GP_ARGS`),
            // as the plan does, and any other entry came from the function's key; the callers
            // of `prepare` and `call_raw` asserted the signature and the arguments.
            let regs = unsafe {
                SitePlacement::call(
                    f.checks.key(),
                    entry,
                    f.code.0,
                    nargs,
                    #[inline(always)]
                    |k| raw.get_unchecked(k).raw_image(*args.add(k)),
                    f.plan.extra,
                )
            };
            // SAFETY: `ret` is null or valid for 8 bytes (the caller's contract).
            unsafe { f.raw_ret.write(scalar_bits(f, regs), ret) };
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
    /// [`Arg`]s (scalar arguments, in their integer registers or placed by the function's
    /// key, and a scalar return): one routine per [`SiteEntry`], chosen here, so a call
    /// through it matches on nothing.
    fn raw_entry(f: &AsmFunction) -> Option<ffi_trait::raw::RawEntry> {
        let entry = raw_site_entry(f)?;
        f.raw.as_ref()?;
        let call: unsafe fn(*const (), *const *const c_void, *mut c_void) = match entry {
            SiteEntry::Int => raw_call::<{ SiteEntry::Int as u8 }>,
            SiteEntry::Small => raw_call::<{ SiteEntry::Small as u8 }>,
            SiteEntry::SmallClamped => raw_call::<{ SiteEntry::SmallClamped as u8 }>,
            SiteEntry::Regs => raw_call::<{ SiteEntry::Regs as u8 }>,
            SiteEntry::RegsClamped => raw_call::<{ SiteEntry::RegsClamped as u8 }>,
            SiteEntry::Stack2 => raw_call::<{ SiteEntry::Stack2 as u8 }>,
        };
        // SAFETY: `raw_call::<E>` makes `f`'s call through entry `E`, the entry
        // `raw_site_entry` chose from `f`'s plan, as `call_raw` does; `f` has its raw kinds.
        Some(unsafe { ffi_trait::raw::RawEntry::new(call, (f as *const AsmFunction).cast()) })
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
