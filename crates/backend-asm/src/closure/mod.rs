//! Closures: any Rust closure as a C function pointer, classified by the same call plans as
//! outgoing calls.
//!
//! A [`Closure`] pairs a [`Signature`] with a handler `Fn(&ClosureArgs, &mut ReturnSlot)`.
//! Its [`code`](Closure::code) is the address of a 16-byte stub in a trampoline page
//! (`pages`): the stub loads the closure's data pointer into a scratch register (`r10` on
//! x86-64, `x17` on AArch64) and jumps to the architecture's entry, which saves the argument
//! registers and calls [`dispatch`]. Dispatch reads the plan made once at creation — the very
//! [`crate::abi::plan::Plan`] an outgoing call of this signature would use, so the incoming side
//! agrees with the outgoing side by construction — to find each argument (a saved register,
//! a stack word of the caller's frame, a struct reassembled from register pieces, or the
//! address of a by-reference copy), runs the handler, and encodes its return into the return
//! registers, or leaves it in the caller's sret memory. [`Closure::typed`] skips the pointer
//! array: its handler lifts a tuple of scalars straight from the saved registers and stack
//! words.
//!
//! The design follows libffi's closures (`ffi_prep_closure_loc`, `src/x86/unix64.S`
//! `ffi_closure_unix64`, `src/aarch64/sysv.S` `ffi_closure_SYSV`): a per-closure stub, one
//! shared entry, arguments handed over as an array of pointers. Unlike libffi's static
//! trampolines and purego's 2,000 fixed callback slots, the pages are mapped as needed and
//! every freed stub is reused.
//!
//! # Threads and panics
//! Dispatch needs no thread-local state, so a closure can be called from any thread,
//! including threads that C code created. A panic in the handler is caught before it reaches
//! C: by default the process aborts with a message naming the closure's signature (a panic
//! must not unwind through C frames); [`Closure::with_panic_return`] returns a fixed value
//! instead.

use std::ffi::c_void;
use std::mem::offset_of;

use ffi_trait::{ArgKind, Error, Result, ReturnType, Signature, Type};

use crate::abi::plan::{ArgPlan, Loc, Piece, RetPlan};

mod args;
mod dispatch;
pub(crate) mod pages;
mod params;

pub use args::{ClosureArgs, ReturnSlot};
pub(crate) use dispatch::dispatch;
pub use params::ClosureParams;

/// The most arguments a closure's signature may have.
pub const MAX_CLOSURE_ARGS: usize = 64;

/// Scratch words per call for structs reassembled from registers and promoted `f32`s.
const SCRATCH_WORDS: usize = 64;

/// What the entry saves on the way in and loads on the way out.
#[repr(C)]
pub(crate) struct Incoming {
    /// Integer argument registers: `rdi rsi rdx rcx r8 r9` / `x0-x7`.
    pub(crate) gp: [u64; 8],
    /// Floating-point argument registers, low 64 bits: `xmm0-7` / `d0-d7`.
    pub(crate) fp: [u64; 8],
    /// AArch64: `x8`, the indirect result location. Unused on x86-64.
    pub(crate) extra: u64,
    _pad: u64,
    /// Return registers: x86-64 `rax rdx xmm0 xmm1`; AArch64 `x0 x1 d0-d3`.
    pub(crate) ret: [u64; 6],
}

/// Where the bytes of a register or stack word are: in [`Incoming`] or in the caller's
/// stack arguments, at a byte offset.
#[derive(Clone, Copy, Debug)]
struct Place {
    on_stack: bool,
    offset: u32,
}

impl Place {
    fn of(loc: Loc) -> Place {
        match loc {
            Loc::Gp(i) => Place {
                on_stack: false,
                offset: (offset_of!(Incoming, gp) + 8 * i as usize) as u32,
            },
            Loc::Fp(i) => Place {
                on_stack: false,
                offset: (offset_of!(Incoming, fp) + 8 * i as usize) as u32,
            },
            Loc::Stack(w) => Place {
                on_stack: true,
                offset: 8 * w as u32,
            },
        }
    }

    /// The address of this place in the current call.
    #[inline(always)]
    fn at(self, regs: *const u8, stack: *const u8) -> *const u8 {
        let base = if self.on_stack { stack } else { regs };
        base.wrapping_add(self.offset as usize)
    }
}

/// How dispatch finds one argument's bytes.
#[derive(Clone, Debug)]
enum Source {
    /// In place: a saved register (small integers and `f32` in its low bytes), a stack word,
    /// or a struct laid out whole on the caller's stack.
    At(Place),
    /// A variadic `f32` the caller promoted to `double`: converted back into scratch `word`.
    Promoted { at: Place, word: u16 },
    /// A struct passed in registers: its pieces copied into scratch from `word`.
    Assemble { word: u16, pieces: Box<[Piece]> },
    /// A struct the caller copied to memory and passed by address (AAPCS64 rule B.4): the
    /// address is at the place.
    Indirect(Place),
}

/// A handler over [`ClosureArgs`] and a [`ReturnSlot`].
type GenericHandler = dyn Fn(&ClosureArgs<'_>, &mut ReturnSlot<'_>) + Send + Sync;

/// A typed handler: reads its scalar arguments from the places itself (`places`, the saved
/// registers at `regs`, the caller's stack words at `stack`) and writes its return value at
/// `ret`.
type TypedHandler = dyn Fn(&[Place], *const u8, *const u8, *mut u8) + Send + Sync;

/// How a closure's Rust code is called.
enum Handler {
    /// [`Closure::new`]: arguments as pointers, checked accessors.
    Generic(Box<GenericHandler>),
    /// [`Closure::typed`]: arguments lifted straight from registers and stack words.
    Typed(Box<TypedHandler>),
}

/// Everything dispatch needs, behind the stub's data pointer.
struct ClosureData {
    signature: Signature,
    sources: Box<[Source]>,
    /// When every source is [`Source::At`]: just the places (the common case, no scratch).
    direct: Option<Box<[Place]>>,
    kinds: Box<[ArgKind]>,
    ret_kind: Option<ArgKind>,
    scratch_words: u16,
    ret: RetPlan,
    /// The sret pointer arrives in the first integer register (x86-64) rather than `x8`.
    sret_in_gp0: bool,
    handler: Handler,
    /// The return value's bytes to use when the handler panics; `None`: abort.
    panic_return: Option<Box<[u8]>>,
}

/// A Rust closure callable from C through a plain function pointer.
///
/// [`code`](Closure::code) is valid until the `Closure` is dropped; calling it afterwards
/// aborts the process with a message (the stub's data is cleared before it is reused).
/// Calls may come from any thread, concurrently, so the handler is `Send + Sync`.
///
/// ```
/// use backend_asm::Closure;
/// let add = Closure::new(&"i32(i32, i32)".parse()?, |args, ret| {
///     ret.set(args.get::<i32>(0) + args.get::<i32>(1));
/// })?;
/// // SAFETY: the closure's signature is `int32_t (*)(int32_t, int32_t)`.
/// let f: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(add.code()) };
/// assert_eq!(f(2, 3), 5);
/// # Ok::<(), ffi_trait::Error>(())
/// ```
pub struct Closure {
    stub: Option<pages::Stub>,
    data: *mut ClosureData,
}

// SAFETY: the data is immutable after creation and its handler is `Send + Sync`; the stub is
// an address whose slot is only touched through atomics.
unsafe impl Send for Closure {}
// SAFETY: as above.
unsafe impl Sync for Closure {}

impl std::fmt::Debug for Closure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closure")
            .field("code", &self.code())
            .field("signature", &self.signature().to_string())
            .finish()
    }
}

impl Closure {
    /// A closure of `signature` that runs `handler` for each call: the handler reads the
    /// arguments from [`ClosureArgs`] and writes the return value into [`ReturnSlot`] (left
    /// as zero bytes if it writes nothing). A panic in the handler aborts the process.
    ///
    /// # Errors
    /// [`Error::UnsupportedTarget`] off x86-64 and AArch64; [`Error::UnsupportedSignature`]
    /// for more than [`MAX_CLOSURE_ARGS`] arguments or stack arguments past the asm
    /// backend's frame; [`Error::OutOfMemory`] / [`Error::Backend`] when a trampoline page
    /// cannot be mapped or made executable.
    pub fn new<F>(signature: &Signature, handler: F) -> Result<Closure>
    where
        F: Fn(&ClosureArgs<'_>, &mut ReturnSlot<'_>) + Send + Sync + 'static,
    {
        Closure::build(signature, Handler::Generic(Box::new(handler)), None)
    }

    /// A closure of the C signature `R (*)(P...)` that runs `f` on the arguments as a tuple,
    /// the fastest kind: the arguments are lifted straight from the saved registers and
    /// stack words into `P`, with no pointer array and no per-argument check (the types are
    /// fixed by `P` and `R`). A panic in `f` aborts the process, as in [`Closure::new`].
    ///
    /// ```
    /// use backend_asm::Closure;
    /// let mul = Closure::typed(|(a, b): (i64, f64)| a as f64 * b)?;
    /// // SAFETY: the closure's signature is `double (*)(int64_t, double)`.
    /// let f: extern "C" fn(i64, f64) -> f64 = unsafe { std::mem::transmute(mul.code()) };
    /// assert_eq!(f(3, 0.5), 1.5);
    /// # Ok::<(), ffi_trait::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Closure::new`].
    pub fn typed<P, R, F>(f: F) -> Result<Closure>
    where
        P: ClosureParams,
        R: ReturnType,
        F: Fn(P) -> R + Send + Sync + 'static,
    {
        let signature = Signature::new(R::ty(), P::types())?;
        if signature.ret().is_struct() || signature.args().iter().any(Type::is_struct) {
            return Err(Error::UnsupportedSignature {
                backend: "asm",
                signature: signature.to_string(),
                reason: "typed closures take and return scalars; use Closure::new, whose \
                         handler reads struct arguments with bytes(i) and writes a struct \
                         return with bytes_mut()"
                    .into(),
            });
        }
        let handler = move |places: &[Place], regs: *const u8, stack: *const u8, ret: *mut u8| {
            // SAFETY: `places` are the plan's places of `P`'s scalars (all read in place),
            // each an 8-byte register or stack word holding the value in its low bytes;
            // `ret` holds at least 32 bytes for a scalar return.
            unsafe {
                let p = P::lift(&|i| {
                    places
                        .get_unchecked(i)
                        .at(regs, stack)
                        .cast::<u64>()
                        .read_unaligned()
                });
                ret.cast::<R>().write_unaligned(f(p));
            }
        };
        Closure::build(&signature, Handler::Typed(Box::new(handler)), None)
    }

    /// Like [`Closure::new`], but a panic in the handler makes the call return `fallback`
    /// (the return value's bytes in its C layout) instead of aborting.
    ///
    /// # Errors
    /// As [`Closure::new`], and [`Error::ReturnSlotTooSmall`] when `fallback` is not
    /// exactly the size of the return type.
    pub fn with_panic_return<F>(
        signature: &Signature,
        fallback: &[u8],
        handler: F,
    ) -> Result<Closure>
    where
        F: Fn(&ClosureArgs<'_>, &mut ReturnSlot<'_>) + Send + Sync + 'static,
    {
        let size = signature.ret().size();
        if fallback.len() != size {
            return Err(Error::ReturnSlotTooSmall {
                function: format!("the panic return of a closure `{signature}`"),
                needed: size,
                got: fallback.len(),
            });
        }
        Closure::build(
            signature,
            Handler::Generic(Box::new(handler)),
            Some(fallback.into()),
        )
    }

    fn build(
        signature: &Signature,
        handler: Handler,
        panic_return: Option<Box<[u8]>>,
    ) -> Result<Closure> {
        let entry = entry_address()?;
        if signature.args().len() > MAX_CLOSURE_ARGS {
            return Err(crate::unsupported(
                signature,
                &format!("a closure takes at most {MAX_CLOSURE_ARGS} arguments"),
            ));
        }
        let plan = crate::target_plan(signature)?;
        let mut scratch = 0u16;
        let mut take = |n: u16| {
            scratch += n;
            scratch - n
        };
        let sources: Box<[Source]> = plan
            .args
            .iter()
            .map(|ap| match ap {
                ArgPlan::Scalar {
                    promote_f32: true,
                    loc,
                    ..
                } => Source::Promoted {
                    at: Place::of(*loc),
                    word: take(1),
                },
                ArgPlan::Scalar { loc, .. } => Source::At(Place::of(*loc)),
                ArgPlan::StackCopy { word, .. } => Source::At(Place::of(Loc::Stack(*word))),
                ArgPlan::ByRef { loc, .. } => Source::Indirect(Place::of(*loc)),
                ArgPlan::Pieces { size, pieces } => match contiguous_stack(pieces) {
                    Some(word) => Source::At(Place::of(Loc::Stack(word))),
                    None => Source::Assemble {
                        word: take(crate::abi::plan::words(*size as usize)),
                        pieces: pieces.clone(),
                    },
                },
            })
            .collect();
        if scratch as usize > SCRATCH_WORDS {
            return Err(crate::unsupported(
                signature,
                "a closure's register-passed structs and variadic floats need more than 512 bytes",
            ));
        }
        let kind = |ty: &Type| ArgKind::of(ty).unwrap_or(ArgKind::Struct);
        let direct = sources
            .iter()
            .map(|s| match s {
                Source::At(place) => Some(*place),
                _ => None,
            })
            .collect::<Option<Box<[Place]>>>();
        if matches!(handler, Handler::Typed(_)) && direct.is_none() {
            return Err(crate::unsupported(
                signature,
                "a typed closure takes scalars read in place",
            ));
        }
        let data = Box::into_raw(Box::new(ClosureData {
            signature: signature.clone(),
            direct,
            sources,
            kinds: signature.args().iter().map(kind).collect(),
            ret_kind: (*signature.ret() != Type::Void).then(|| kind(signature.ret())),
            scratch_words: scratch,
            ret: plan.ret.clone(),
            sret_in_gp0: plan.sret_in_gp0,
            handler,
            panic_return,
        }));
        match pages::take(data.cast(), entry) {
            Ok(stub) => Ok(Closure {
                stub: Some(stub),
                data,
            }),
            Err(e) => {
                // SAFETY: `data` came from `Box::into_raw` above and no stub points at it.
                drop(unsafe { Box::from_raw(data) });
                Err(e)
            }
        }
    }

    /// The C function pointer: call it with the closure's signature in the platform's C
    /// calling convention. Valid until the `Closure` is dropped.
    pub fn code(&self) -> *const c_void {
        self.stub.as_ref().map_or(std::ptr::null(), |s| s.code)
    }

    /// The closure's signature.
    pub fn signature(&self) -> &Signature {
        // SAFETY: `data` is live until drop.
        unsafe { &(*self.data).signature }
    }

    /// How many trampoline pages (each of `page size / 16` stubs) this process has mapped:
    /// the peak number of closures alive at once decides it, not how many were ever made.
    pub fn pages_mapped() -> usize {
        pages::mapped_pages()
    }
}

impl Drop for Closure {
    fn drop(&mut self) {
        if let Some(stub) = self.stub.take() {
            pages::give_back(stub);
        }
        // SAFETY: `data` came from `Box::into_raw` in `build`; the stub no longer points at
        // it, and calls still running are the caller's contract (see `code`).
        drop(unsafe { Box::from_raw(self.data) });
    }
}

/// The first stack word of `pieces` when they are all consecutive stack words (a struct
/// passed whole on the stack), else `None`.
fn contiguous_stack(pieces: &[Piece]) -> Option<u16> {
    let Some(Piece {
        loc: Loc::Stack(first),
        ..
    }) = pieces.first()
    else {
        return None;
    };
    pieces
        .iter()
        .enumerate()
        .all(|(k, p)| p.loc == Loc::Stack(first + k as u16))
        .then_some(*first)
}

/// The architecture's entry as an address.
fn entry_address() -> Result<usize> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    return Ok(crate::arch::closure_entry as *const () as usize);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    Err(Error::UnsupportedTarget(format!(
        "closures have trampolines for x86_64 and aarch64, not {}",
        std::env::consts::ARCH
    )))
}
