//! `ffikit_status`: the result of every fallible C function, and the mapping from ffikit's
//! typed errors to it.

use std::ffi::c_char;

use ffikit::Error;

/// The result of a C API call. `FFIKIT_STATUS_OK` (0) is success; every other value names one
/// kind of failure, and the context's `ffikit_context_error` holds the message. The numbers
/// are fixed: a value is never renumbered or reused for another meaning.
#[repr(C)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ffikit_status {
    /// Success.
    FFIKIT_STATUS_OK = 0,
    /// A required pointer argument was NULL.
    FFIKIT_STATUS_NULL_ARGUMENT = 1,
    /// A string argument is not valid UTF-8.
    FFIKIT_STATUS_INVALID_UTF8 = 2,
    /// No backend of that name is built in (`"native"`, `"asm"`, `"wasm"`).
    FFIKIT_STATUS_UNKNOWN_BACKEND = 3,
    /// A library or module could not be opened (or the kernels were not found).
    FFIKIT_STATUS_LIBRARY_NOT_FOUND = 4,
    /// The symbol is not in the library or module.
    FFIKIT_STATUS_SYMBOL_NOT_FOUND = 5,
    /// The signature text does not parse, or describes an impossible type.
    FFIKIT_STATUS_INVALID_SIGNATURE = 6,
    /// The backend cannot call this signature (the message names one that can).
    FFIKIT_STATUS_UNSUPPORTED_SIGNATURE = 7,
    /// The signature differs from the wasm export's own type.
    FFIKIT_STATUS_SIGNATURE_MISMATCH = 8,
    /// `nargs` differs from the signature's argument count.
    FFIKIT_STATUS_ARGUMENT_COUNT = 9,
    /// An argument has the wrong type for its position.
    FFIKIT_STATUS_ARGUMENT_TYPE = 10,
    /// A range (`n` elements) runs past a buffer's end.
    FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS = 11,
    /// A buffer is smaller than the operation needs.
    FFIKIT_STATUS_BUFFER_TOO_SMALL = 12,
    /// The buffer was freed.
    FFIKIT_STATUS_BUFFER_FREED = 13,
    /// A handle (buffer, library, function, context) belongs to another context or pool.
    FFIKIT_STATUS_FOREIGN_HANDLE = 14,
    /// A pointer argument of a wasm call is not inside any buffer of the context.
    FFIKIT_STATUS_POINTER_OUTSIDE_BUFFERS = 15,
    /// An alignment is not a power of two.
    FFIKIT_STATUS_INVALID_ALIGNMENT = 16,
    /// Allocation failed (for wasm: the 4 GiB linear memory is exhausted).
    FFIKIT_STATUS_OUT_OF_MEMORY = 17,
    /// The wasm guest trapped: the error of that call (the context stays usable).
    FFIKIT_STATUS_TRAP = 18,
    /// The wasm guest ran past its deadline and was stopped: the error of that call (the
    /// context stays usable).
    FFIKIT_STATUS_DEADLINE_EXCEEDED = 19,
    /// The asm call needs more stack than its budget or the thread has.
    FFIKIT_STATUS_STACK_BUDGET_EXCEEDED = 20,
    /// The context was marked poisoned and takes no more calls (a trap no longer poisons a
    /// context; the number stays reserved for this meaning).
    FFIKIT_STATUS_CONTEXT_POISONED = 21,
    /// Every context of the pool is checked out and the pool is at its bound.
    FFIKIT_STATUS_POOL_EXHAUSTED = 22,
    /// No context of the pool came free within the timeout.
    FFIKIT_STATUS_POOL_TIMEOUT = 23,
    /// Not supported on this machine or target (e.g. the asm backend off x86-64/AArch64).
    FFIKIT_STATUS_UNSUPPORTED_TARGET = 24,
    /// Two arrays of one kernel call have different lengths.
    FFIKIT_STATUS_LENGTH_MISMATCH = 25,
    /// The return storage is smaller than the return type.
    FFIKIT_STATUS_RETURN_SLOT_TOO_SMALL = 26,
    /// A panic inside ffikit was caught at the boundary (a bug in ffikit; please report it).
    FFIKIT_STATUS_PANIC = 27,
    /// A backend failure that fits no other status; the message says what failed.
    FFIKIT_STATUS_BACKEND_ERROR = 28,
    /// The backend cannot load this kind of source.
    FFIKIT_STATUS_UNSUPPORTED_SOURCE = 29,
    /// An argument value is out of its range (e.g. a pool bound of 0).
    FFIKIT_STATUS_INVALID_ARGUMENT = 30,
    /// A buffer larger than the context's memory can ever hold (for wasm, its linear
    /// memory's limit); the message gives both sizes.
    FFIKIT_STATUS_BUFFER_TOO_LARGE = 31,
    /// The backend cannot call a function by its host address (`ffikit_prepare_address` on
    /// a wasm context, whose functions are a module's exports: prepare them by name).
    FFIKIT_STATUS_ADDRESS_UNSUPPORTED = 32,
}

use ffikit_status as S;

/// The status for an error.
pub(crate) fn status_of(e: &Error) -> ffikit_status {
    match e {
        Error::LibraryNotFound { .. } => S::FFIKIT_STATUS_LIBRARY_NOT_FOUND,
        Error::SymbolNotFound { .. } => S::FFIKIT_STATUS_SYMBOL_NOT_FOUND,
        Error::InvalidSignature(_) | Error::BadSignature(_) => S::FFIKIT_STATUS_INVALID_SIGNATURE,
        Error::UnsupportedSignature { .. } => S::FFIKIT_STATUS_UNSUPPORTED_SIGNATURE,
        Error::SignatureMismatch { .. } => S::FFIKIT_STATUS_SIGNATURE_MISMATCH,
        Error::ArgumentCount { .. } => S::FFIKIT_STATUS_ARGUMENT_COUNT,
        Error::ArgumentType { .. } => S::FFIKIT_STATUS_ARGUMENT_TYPE,
        Error::ReturnSlotTooSmall { .. } => S::FFIKIT_STATUS_RETURN_SLOT_TOO_SMALL,
        Error::LengthMismatch { .. } => S::FFIKIT_STATUS_LENGTH_MISMATCH,
        Error::BufferTooSmall { .. } => S::FFIKIT_STATUS_BUFFER_TOO_SMALL,
        Error::BufferOutOfBounds { .. } => S::FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS,
        Error::ForeignBuffer { .. } | Error::ForeignHandle { .. } => {
            S::FFIKIT_STATUS_FOREIGN_HANDLE
        }
        Error::BufferFreed { .. } => S::FFIKIT_STATUS_BUFFER_FREED,
        Error::PointerOutsideBuffers { .. } => S::FFIKIT_STATUS_POINTER_OUTSIDE_BUFFERS,
        Error::InvalidAlignment { .. } => S::FFIKIT_STATUS_INVALID_ALIGNMENT,
        Error::OutOfMemory { .. } => S::FFIKIT_STATUS_OUT_OF_MEMORY,
        Error::BufferTooLarge { .. } => S::FFIKIT_STATUS_BUFFER_TOO_LARGE,
        Error::UnknownBackend { .. } => S::FFIKIT_STATUS_UNKNOWN_BACKEND,
        Error::UnsupportedSource { .. } => S::FFIKIT_STATUS_UNSUPPORTED_SOURCE,
        Error::Trap { .. } => S::FFIKIT_STATUS_TRAP,
        Error::DeadlineExceeded { .. } => S::FFIKIT_STATUS_DEADLINE_EXCEEDED,
        Error::StackBudgetExceeded { .. } => S::FFIKIT_STATUS_STACK_BUDGET_EXCEEDED,
        Error::ContextPoisoned { .. } => S::FFIKIT_STATUS_CONTEXT_POISONED,
        Error::PoolExhausted { .. } => S::FFIKIT_STATUS_POOL_EXHAUSTED,
        Error::PoolTimeout { .. } => S::FFIKIT_STATUS_POOL_TIMEOUT,
        Error::UnsupportedTarget(_) => S::FFIKIT_STATUS_UNSUPPORTED_TARGET,
        Error::NullAddress => S::FFIKIT_STATUS_NULL_ARGUMENT,
        Error::AddressUnsupported { .. } => S::FFIKIT_STATUS_ADDRESS_UNSUPPORTED,
        _ => S::FFIKIT_STATUS_BACKEND_ERROR,
    }
}

/// `const char *ffikit_status_name(int status)`: the status's name as a static
/// NUL-terminated string (`"FFIKIT_STATUS_TRAP"`), or `"FFIKIT_STATUS_UNKNOWN"` for a number
/// that is not a status. Never NULL; the caller must not free it.
#[unsafe(no_mangle)]
pub extern "C" fn ffikit_status_name(status: i32) -> *const c_char {
    let name: &'static str = match status {
        0 => "FFIKIT_STATUS_OK\0",
        1 => "FFIKIT_STATUS_NULL_ARGUMENT\0",
        2 => "FFIKIT_STATUS_INVALID_UTF8\0",
        3 => "FFIKIT_STATUS_UNKNOWN_BACKEND\0",
        4 => "FFIKIT_STATUS_LIBRARY_NOT_FOUND\0",
        5 => "FFIKIT_STATUS_SYMBOL_NOT_FOUND\0",
        6 => "FFIKIT_STATUS_INVALID_SIGNATURE\0",
        7 => "FFIKIT_STATUS_UNSUPPORTED_SIGNATURE\0",
        8 => "FFIKIT_STATUS_SIGNATURE_MISMATCH\0",
        9 => "FFIKIT_STATUS_ARGUMENT_COUNT\0",
        10 => "FFIKIT_STATUS_ARGUMENT_TYPE\0",
        11 => "FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS\0",
        12 => "FFIKIT_STATUS_BUFFER_TOO_SMALL\0",
        13 => "FFIKIT_STATUS_BUFFER_FREED\0",
        14 => "FFIKIT_STATUS_FOREIGN_HANDLE\0",
        15 => "FFIKIT_STATUS_POINTER_OUTSIDE_BUFFERS\0",
        16 => "FFIKIT_STATUS_INVALID_ALIGNMENT\0",
        17 => "FFIKIT_STATUS_OUT_OF_MEMORY\0",
        18 => "FFIKIT_STATUS_TRAP\0",
        19 => "FFIKIT_STATUS_DEADLINE_EXCEEDED\0",
        20 => "FFIKIT_STATUS_STACK_BUDGET_EXCEEDED\0",
        21 => "FFIKIT_STATUS_CONTEXT_POISONED\0",
        22 => "FFIKIT_STATUS_POOL_EXHAUSTED\0",
        23 => "FFIKIT_STATUS_POOL_TIMEOUT\0",
        24 => "FFIKIT_STATUS_UNSUPPORTED_TARGET\0",
        25 => "FFIKIT_STATUS_LENGTH_MISMATCH\0",
        26 => "FFIKIT_STATUS_RETURN_SLOT_TOO_SMALL\0",
        27 => "FFIKIT_STATUS_PANIC\0",
        28 => "FFIKIT_STATUS_BACKEND_ERROR\0",
        29 => "FFIKIT_STATUS_UNSUPPORTED_SOURCE\0",
        30 => "FFIKIT_STATUS_INVALID_ARGUMENT\0",
        31 => "FFIKIT_STATUS_BUFFER_TOO_LARGE\0",
        32 => "FFIKIT_STATUS_ADDRESS_UNSUPPORTED\0",
        _ => "FFIKIT_STATUS_UNKNOWN\0",
    };
    name.as_ptr().cast()
}
