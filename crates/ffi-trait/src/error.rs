//! Typed errors. Every variant names the thing that failed (library path, symbol, signature,
//! argument index, buffer), so a message read far from the call still says what went wrong.

use crate::signature::{ParseError, SignatureError};

/// Everything an ffikit operation can fail with.
///
/// The enum is `#[non_exhaustive]`: new failure kinds may be added without a breaking change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The shared library or module could not be opened.
    #[error("library `{library}` could not be opened: {reason}")]
    LibraryNotFound {
        /// The path or name asked for.
        library: String,
        /// The loader's own explanation (`dlerror()`, or wasmtime's message).
        reason: String,
    },
    /// The library was opened but has no such exported symbol.
    #[error("symbol `{symbol}` not found in `{library}`: {reason}")]
    SymbolNotFound {
        /// The symbol asked for.
        symbol: String,
        /// The library searched.
        library: String,
        /// The loader's own explanation.
        reason: String,
    },
    /// The signature's text does not parse.
    #[error(transparent)]
    InvalidSignature(#[from] ParseError),
    /// The signature was built from parts no C function can have.
    #[error("invalid signature: {0}")]
    BadSignature(#[from] SignatureError),
    /// The backend cannot call a function of this signature.
    #[error("the {backend} backend does not support the signature `{signature}`: {reason}")]
    UnsupportedSignature {
        /// The backend's name (`native`, `asm`, `wasm`).
        backend: &'static str,
        /// The signature, in its text form.
        signature: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A typed call's [`CStruct`](crate::typed::CStruct) does not describe its Rust type:
    /// the Rust layout differs from the C layout of the struct type it declares, or a
    /// struct was asked for a single register image.
    #[error("typed struct `{rust_type}` as `{struct_type}`: {reason}")]
    TypedStructLayout {
        /// The Rust type's name.
        rust_type: &'static str,
        /// The struct type it declares, in its text form.
        struct_type: String,
        /// What differs.
        reason: String,
    },
    /// The signature given does not match what the foreign code declares (checked where the
    /// foreign code carries types, as WebAssembly exports do).
    #[error("signature `{signature}` does not match `{symbol}`, which has type {actual}")]
    SignatureMismatch {
        /// The function.
        symbol: String,
        /// The signature asked for.
        signature: String,
        /// The type the foreign code declares.
        actual: String,
    },
    /// A call passed the wrong number of arguments.
    #[error(
        "`{function}` takes {expected} argument{}, {got} {} passed",
        if *.expected == 1 { "" } else { "s" },
        if *.got == 1 { "was" } else { "were" }
    )]
    ArgumentCount {
        /// The function called.
        function: String,
        /// Arguments in its signature.
        expected: usize,
        /// Arguments passed.
        got: usize,
    },
    /// A call passed an argument of the wrong type.
    #[error(
        "argument {index} of `{function}` must be {expected}, a value of type {got} was passed"
    )]
    ArgumentType {
        /// The function called.
        function: String,
        /// Zero-based argument index.
        index: usize,
        /// The signature's type, in its text form.
        expected: String,
        /// The kind of value passed.
        got: String,
    },
    /// The memory given for a struct return is too small.
    #[error("`{function}` returns {needed} bytes, the return slot has {got}")]
    ReturnSlotTooSmall {
        /// The function called.
        function: String,
        /// The return type's size in bytes.
        needed: usize,
        /// The slot's size in bytes.
        got: usize,
    },
    /// Slices that one kernel call needs of equal length differ.
    #[error("the slices must have equal lengths, got {first} and {other}")]
    LengthMismatch {
        /// The first slice's length, in elements.
        first: usize,
        /// The length of the slice that differs, in elements.
        other: usize,
    },
    /// A buffer is smaller than an operation needs.
    #[error("buffer {buffer} holds {len} bytes, {needed} are needed")]
    BufferTooSmall {
        /// The buffer's id within its context.
        buffer: u32,
        /// Bytes needed.
        needed: usize,
        /// The buffer's length in bytes.
        len: usize,
    },
    /// A range `offset..offset+bytes` does not lie within a buffer.
    #[error("bytes {offset}..{offset}+{bytes} are out of bounds of buffer {buffer} ({len} bytes)")]
    BufferOutOfBounds {
        /// The buffer's id within its context.
        buffer: u32,
        /// Start of the range in bytes.
        offset: usize,
        /// Length of the range in bytes.
        bytes: usize,
        /// The buffer's length in bytes.
        len: usize,
    },
    /// A buffer was used with a context that does not own it.
    #[error("a buffer of context {owner} was used with context {context}")]
    ForeignBuffer {
        /// The owning context.
        owner: u32,
        /// The context it was used with.
        context: u32,
    },
    /// A buffer was used after being freed.
    #[error("buffer {buffer} was already freed")]
    BufferFreed {
        /// The buffer's id.
        buffer: u32,
    },
    /// A pointer argument does not lie within any buffer of the context (the wasm backend
    /// can only pass pointers into its linear memory).
    #[error(
        "argument {index} of `{function}`: pointer {pointer:#x} is not inside any buffer of this context"
    )]
    PointerOutsideBuffers {
        /// The function called.
        function: String,
        /// Zero-based argument index.
        index: usize,
        /// The host address passed.
        pointer: usize,
    },
    /// A buffer alignment that is not a power of two.
    #[error("alignment {align} is not a power of two")]
    InvalidAlignment {
        /// The alignment asked for.
        align: usize,
    },
    /// A buffer was asked for that can never fit: larger than the context's memory (for
    /// wasm, its linear memory's limit: the context's `memory_limit` or the 4 GiB of a 32-bit
    /// memory).
    #[error("a buffer of {bytes} bytes is larger than {what} ({limit} bytes)")]
    BufferTooLarge {
        /// The size asked for, in bytes.
        bytes: usize,
        /// The most the context can hold, in bytes.
        limit: usize,
        /// What sets the limit (e.g. "the context's linear memory limit").
        what: &'static str,
    },
    /// The allocator (or a wasm guest's address space) could not supply the memory.
    #[error("out of memory allocating {bytes} bytes")]
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
    /// A handle (library, function) made by another backend or context was used here.
    #[error("{what} was made by another {kind}")]
    ForeignHandle {
        /// What the handle is ("function `add`", "library").
        what: String,
        /// "backend" or "context".
        kind: &'static str,
    },
    /// No backend of this name is built into this ffikit.
    #[error("unknown backend `{name}`: expected one of {available}")]
    UnknownBackend {
        /// The name asked for.
        name: String,
        /// The names that are available, comma separated.
        available: String,
    },
    /// A function was to be prepared from a null address
    /// ([`Backend::prepare_address`](crate::Backend::prepare_address)).
    #[error("the function address is null")]
    NullAddress,
    /// The backend cannot call a function by a host code address
    /// ([`Backend::prepare_address`](crate::Backend::prepare_address)): its functions are not
    /// host code (wasm's are a module's exports; prepare them by name).
    #[error(
        "the {backend} backend cannot call a function by its host address; prepare it by name from its library or module"
    )]
    AddressUnsupported {
        /// The backend's name.
        backend: &'static str,
    },
    /// The library source kind is not one this backend can load (for example bytes of a
    /// shared object for the native backend).
    #[error("the {backend} backend cannot load {what}")]
    UnsupportedSource {
        /// The backend's name.
        backend: &'static str,
        /// What was offered.
        what: String,
    },
    /// WebAssembly code trapped (out-of-bounds access, `unreachable`, division by zero, ...).
    #[error("`{function}` trapped: {message}")]
    Trap {
        /// The function called.
        function: String,
        /// The runtime's trap message.
        message: String,
    },
    /// The call ran past its deadline and was interrupted.
    #[error("`{function}` ran past its deadline of {deadline_ms} ms and was stopped")]
    DeadlineExceeded {
        /// The function called.
        function: String,
        /// The deadline in milliseconds.
        deadline_ms: u64,
    },
    /// The call needs more stack than its budget allows, or than the thread has left.
    #[error("`{function}` needs {needed} bytes of stack but only {available} are available")]
    StackBudgetExceeded {
        /// The function called.
        function: String,
        /// Bytes the call's budget asks for.
        needed: usize,
        /// Bytes left on the calling thread's stack.
        available: usize,
    },
    /// A context was used after its user marked it poisoned
    /// ([`Context::poison`](crate::Context::poison)): it refuses further calls and a pool
    /// discards it. (A trap does not poison a context: see [`Error::is_trap`].)
    #[error("this context is poisoned by an earlier failure and takes no more calls: {reason}")]
    ContextPoisoned {
        /// The message of the failure that poisoned it.
        reason: String,
    },
    /// Every context of a pool is in use and the pool is at its bound; the caller asked not
    /// to wait.
    #[error("all {max} contexts of the pool are in use")]
    PoolExhausted {
        /// The pool's bound.
        max: usize,
    },
    /// Every context of a pool stayed in use for the whole wait.
    #[error("no context of the pool (bound {max}) came free within {waited_ms} ms")]
    PoolTimeout {
        /// The pool's bound.
        max: usize,
        /// How long the caller waited, in milliseconds.
        waited_ms: u64,
    },
    /// The operation is not supported on this machine or target.
    #[error("unsupported on this target: {0}")]
    UnsupportedTarget(String),
    /// A backend-specific failure that fits no other variant; the message names what failed.
    #[error("{backend} backend: {message}")]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// What failed.
        message: String,
    },
}

impl Error {
    /// True for a wasm trap or deadline: guest code stopped midway. The failure is that
    /// call's alone: the instance stays usable, with its memory (and so the context's
    /// buffers) as the guest left it, as wasmtime's own instances do after a trap. A context
    /// records it ([`Context::trapped`](crate::Context::trapped)) and a pool asked to
    /// ([`ContextPool::set_discard_trapped`](crate::ContextPool::set_discard_trapped)) replaces such
    /// a context instead of handing it out again.
    pub fn is_trap(&self) -> bool {
        matches!(self, Error::Trap { .. } | Error::DeadlineExceeded { .. })
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The text of a caught panic's payload (`panic!("...")` gives a `&str` or a `String`), or
/// `"(a panic without a message)"`; for the boundaries that turn panics into errors or
/// messages instead of letting them unwind into foreign code.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}
