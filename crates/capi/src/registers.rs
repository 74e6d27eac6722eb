//! `ffikit_function_register_call`: a prepared function's address and register placement,
//! for callers that load the argument registers and call it themselves.
//!
//! The Go binding's fast path runs C on the goroutine's own stack through a Go assembly
//! trampoline that loads every integer and floating-point argument register from a frame;
//! this tells it which register each argument takes, from the asm backend's call plan (the
//! one classification of the platform ABI), so the binding classifies nothing itself.

use std::ffi::c_void;

use ffikit::{ArgKind, Error, RegisterArg, Type};

use crate::boundary::{Failure, non_null, on_context, out_ptr};
use crate::context::ffikit_context;
use crate::dynamic::ffikit_function;
use crate::status::ffikit_status;

/// The most arguments a register-only call can have: 6 integer and 8 floating-point argument
/// registers on x86-64 System V, 8 and 8 on AArch64 AAPCS64.
pub const FFIKIT_REGISTER_ARGS: usize = 16;

/// Value code flag: a signed integer (sign-extended to 64 bits when widened).
pub const FFIKIT_VALUE_SIGNED: u8 = 0x10;
/// Value code flag: a floating-point value (`float` or `double`).
pub const FFIKIT_VALUE_FLOAT: u8 = 0x20;
/// Value code flag: a pointer (`ptr`): an address, which a caller with a moving collector
/// keeps typed as one until the call.
pub const FFIKIT_VALUE_POINTER: u8 = 0x40;
/// Value code mask: the value's size in bytes (1, 2, 4 or 8); a size of 0 is `void`.
pub const FFIKIT_VALUE_SIZE_MASK: u8 = 0x0f;
/// Register code flag: a floating-point / SIMD register (`xmm0-7`, `v0-7`); without it, a
/// general-purpose one (`rdi rsi rdx rcx r8 r9`, `x0-x7`). The low 4 bits are the index.
pub const FFIKIT_REGISTER_FP: u8 = 0x80;

/// A prepared function's register-only call: its address and, for each argument, the
/// register it takes and how its value widens to 64 bits.
///
/// Value codes (`args[i]`, `ret`): the size in bytes (`& FFIKIT_VALUE_SIZE_MASK`: 1, 2, 4, 8;
/// 0 for a `void` return), `| FFIKIT_VALUE_SIGNED` for a signed integer, `|
/// FFIKIT_VALUE_FLOAT` for `float` (4) and `double` (8), `| FFIKIT_VALUE_POINTER` for a
/// pointer. A caller widens an integer argument
/// to the full register (sign- or zero-extended) and places a `float` in the low 32 bits of
/// its register; it reads an integer return from the first integer return register (`rax`,
/// `x0`) and extends it from the return's size itself (the callee need not), a
/// floating-point return from `xmm0` / `v0`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct ffikit_register_call {
    /// The function's address.
    pub code: *const c_void,
    /// The number of arguments (at most `FFIKIT_REGISTER_ARGS`).
    pub nargs: u32,
    /// The number of vector registers a variadic call uses: what x86-64 passes in `%al`
    /// (System V AMD64 §3.5.7); 0 for other calls and on AArch64. Setting it for a
    /// non-variadic call is harmless.
    pub vector_regs: u32,
    /// The return's value code (0: `void`).
    pub ret: u8,
    /// Each argument's value code (`nargs` used).
    pub args: [u8; FFIKIT_REGISTER_ARGS],
    /// Each argument's register code: the index, `| FFIKIT_REGISTER_FP` for a floating-point
    /// register (`nargs` used).
    pub regs: [u8; FFIKIT_REGISTER_ARGS],
}

/// The value code of a scalar kind (see [`ffikit_register_call`]).
fn value_code(kind: ArgKind) -> u8 {
    let size = |n: usize| u8::try_from(n).unwrap_or(FFIKIT_VALUE_SIZE_MASK);
    match kind {
        ArgKind::Bool | ArgKind::U8 => 1,
        ArgKind::I8 => 1 | FFIKIT_VALUE_SIGNED,
        ArgKind::U16 => 2,
        ArgKind::I16 => 2 | FFIKIT_VALUE_SIGNED,
        ArgKind::U32 => 4,
        ArgKind::I32 => 4 | FFIKIT_VALUE_SIGNED,
        ArgKind::U64 => 8,
        ArgKind::I64 => 8 | FFIKIT_VALUE_SIGNED,
        ArgKind::Ptr | ArgKind::Buffer => size(size_of::<usize>()) | FFIKIT_VALUE_POINTER,
        ArgKind::Usize | ArgKind::Struct => size(size_of::<usize>()),
        ArgKind::Isize => size(size_of::<isize>()) | FFIKIT_VALUE_SIGNED,
        ArgKind::F32 => 4 | FFIKIT_VALUE_FLOAT,
        ArgKind::F64 => 8 | FFIKIT_VALUE_FLOAT,
    }
}

/// `ffikit_status ffikit_function_register_call(ffikit_context *ctx, const ffikit_function
/// *fn, ffikit_register_call *out)`: the address of `fn` and the register each argument
/// takes, when every argument is a scalar in an argument register and the return is `void`
/// or a scalar (the platform ABI's placement, from the asm backend's call plan: System V
/// AMD64 §3.2.3, AAPCS64 §6.8.2).
///
/// Errors: `NULL_ARGUMENT`; `FOREIGN_HANDLE` (a function of another context);
/// `UNSUPPORTED_SIGNATURE` when the call is not register-only (an argument on the stack, a
/// struct, a variadic `f32`; the message names the argument) or the function is not host code
/// (wasm).
///
/// # Safety
/// `ctx` NULL or a live context used by no other thread; `fn` NULL or live; `out` NULL or
/// writable. Calling `out->code` yourself is as unsafe as `ffikit_call`, and more: nothing
/// checks the arguments, and the caller keeps its own stack and signal rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ffikit_function_register_call(
    ctx: *mut ffikit_context,
    function: *const ffikit_function,
    out: *mut ffikit_register_call,
) -> ffikit_status {
    // SAFETY: forwarded.
    unsafe {
        on_context(ctx, |c| {
            let out = out_ptr(out, "out")?;
            let f = non_null(function, "fn")?;
            if f.owner() != c.inner.owner() {
                return Err(Error::ForeignHandle {
                    what: "the function".into(),
                    kind: "context",
                }
                .into());
            }
            let dynamic = f.dynamic();
            let sig = dynamic.signature();
            let code = dynamic
                .address()
                .ok_or_else(|| Error::UnsupportedSignature {
                    backend: c.inner.name(),
                    signature: sig.to_string(),
                    reason: "the function is not host code: only native and asm functions can be \
                         called from registers"
                        .into(),
                })?;
            let placement = ffikit::register_placement(sig)?;
            let mut call = ffikit_register_call {
                code,
                nargs: 0,
                vector_regs: u32::from(placement.vector_regs),
                ret: match placement.ret {
                    Type::Void => 0,
                    ref t => ArgKind::of(t).map_or(0, value_code),
                },
                args: [0; FFIKIT_REGISTER_ARGS],
                regs: [0; FFIKIT_REGISTER_ARGS],
            };
            if placement.args.len() > FFIKIT_REGISTER_ARGS {
                return Err(Failure::invalid(format!(
                    "{} arguments: a register-only call has at most {FFIKIT_REGISTER_ARGS}",
                    placement.args.len()
                )));
            }
            for (i, arg) in placement.args.iter().enumerate() {
                let (reg, kind) = match *arg {
                    RegisterArg::Int { reg, kind } => (reg, kind),
                    RegisterArg::Float { reg, kind } => (reg | FFIKIT_REGISTER_FP, kind),
                };
                call.args[i] = value_code(kind);
                call.regs[i] = reg;
            }
            call.nargs = u32::try_from(placement.args.len()).unwrap_or(u32::MAX);
            *out = call;
            Ok(())
        })
    }
}
