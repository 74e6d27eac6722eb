//! Register-only placement: the call plan of a signature whose arguments all travel in
//! argument registers, in a form a caller in another language can execute itself.
//!
//! The Go binding's goroutine-stack trampoline loads every integer and every floating-point
//! argument register from a frame and calls; to fill that frame it needs to know which
//! register each argument takes. That is the platform ABI's classification, which lives once,
//! in this crate's planners ([`crate::target_plan`]): System V AMD64 §3.2.3 (INTEGER class in
//! `rdi rsi rdx rcx r8 r9`, SSE class in `xmm0-7`, `%al` = vector registers used by a variadic
//! call) and AAPCS64 §6.8.2 (`x0-x7`, `v0-v7`). This module only reads the plan back.

use ffi_trait::{ArgKind, Error, Result, Signature, Type};

use crate::abi::plan::{ArgPlan, Loc, RetPlan};

/// Where one argument of a register-only call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterArg {
    /// General-purpose argument register `reg` (x86-64 `rdi rsi rdx rcx r8 r9`, AArch64
    /// `x0-x7`), with the value widened to 64 bits by its `kind` (sign-extended for signed
    /// integers, zero-extended otherwise; the callee reads only the type's width, but clang
    /// relies on callers extending sub-32-bit integers, so a full widening is always safe).
    Int {
        /// Register index, from 0.
        reg: u8,
        /// The argument's C type.
        kind: ArgKind,
    },
    /// Floating-point argument register `reg` (`xmm0-7`, `v0-v7`): its low 32 bits for an
    /// `f32`, its low 64 bits for an `f64`.
    Float {
        /// Register index, from 0.
        reg: u8,
        /// [`ArgKind::F32`] or [`ArgKind::F64`].
        kind: ArgKind,
    },
}

/// The placement of a call whose arguments are all scalars in argument registers and whose
/// return is `void` or a scalar (returned in `rax`/`x0` or `xmm0`/`v0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterPlacement {
    /// One entry per argument, in order.
    pub args: Box<[RegisterArg]>,
    /// The return type: `void` or a scalar.
    pub ret: Type,
    /// The number of vector registers a variadic call uses, which x86-64 passes in `%al`
    /// (System V AMD64 §3.5.7); 0 for other calls and on AArch64.
    pub vector_regs: u8,
}

/// The register-only placement of `sig` on the target this crate is built for.
///
/// # Errors
/// [`Error::UnsupportedSignature`] (backend `asm`) when the plan is not register-only: an
/// argument on the stack (more integer or floating-point arguments than registers), a struct
/// argument or return, or a variadic `f32` (promoted to `f64` by C11 §6.5.2.2p7); the reason
/// names the argument. Whatever [`crate::AsmBackend`]'s prepare refuses.
pub fn register_placement(sig: &Signature) -> Result<RegisterPlacement> {
    let refuse = |reason: String| Error::UnsupportedSignature {
        backend: "asm",
        signature: sig.to_string(),
        reason,
    };
    let plan = crate::target_plan(sig)?;
    let mut args = Vec::with_capacity(plan.args.len());
    for (i, (arg, ty)) in plan.args.iter().zip(sig.args()).enumerate() {
        let ArgPlan::Scalar {
            expect,
            promote_f32,
            loc,
            ..
        } = *arg
        else {
            return Err(refuse(format!(
                "argument {i} ({ty}) is a struct: register-only calls take scalars"
            )));
        };
        if promote_f32 {
            return Err(refuse(format!(
                "argument {i} is a variadic f32, which C promotes to f64: pass it as f64"
            )));
        }
        args.push(match loc {
            Loc::Gp(reg) => RegisterArg::Int { reg, kind: expect },
            Loc::Fp(reg) => RegisterArg::Float { reg, kind: expect },
            Loc::Stack(_) => {
                return Err(refuse(format!(
                    "argument {i} ({ty}) goes on the stack: register-only calls take at most \
                     the argument registers of each class"
                )));
            }
        });
    }
    match plan.ret {
        RetPlan::Void | RetPlan::Int | RetPlan::Float => {}
        RetPlan::Pieces { .. } | RetPlan::Indirect { .. } => {
            return Err(refuse(format!(
                "the return ({}) is a struct: register-only calls return scalars",
                sig.ret()
            )));
        }
    }
    Ok(RegisterPlacement {
        args: args.into(),
        ret: sig.ret().clone(),
        // `extra` is `%al` only for an x86-64 variadic call (the plan keeps it 0 otherwise,
        // and AArch64's `x8` for sret never occurs here: struct returns were refused).
        vector_regs: u8::try_from(plan.extra).unwrap_or(u8::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(text: &str) -> Result<RegisterPlacement> {
        register_placement(&text.parse().expect("signature parses"))
    }

    #[test]
    fn classes_take_their_own_registers_in_order() {
        let p = placement("f64(i32, f64, ptr, f32, u8)").expect("register-only");
        assert_eq!(
            *p.args,
            [
                RegisterArg::Int {
                    reg: 0,
                    kind: ArgKind::I32
                },
                RegisterArg::Float {
                    reg: 0,
                    kind: ArgKind::F64
                },
                RegisterArg::Int {
                    reg: 1,
                    kind: ArgKind::Ptr
                },
                RegisterArg::Float {
                    reg: 1,
                    kind: ArgKind::F32
                },
                RegisterArg::Int {
                    reg: 2,
                    kind: ArgKind::U8
                },
            ]
        );
        assert_eq!(p.ret, Type::F64);
        assert_eq!(p.vector_regs, 0);
    }

    #[test]
    fn stack_struct_and_promoted_arguments_are_refused_by_name() {
        let gp = if cfg!(target_arch = "aarch64") { 8 } else { 6 };
        let ints = vec!["i64"; gp + 1].join(", ");
        let err = placement(&format!("void({ints})")).expect_err("one on the stack");
        assert!(
            err.to_string()
                .contains(&format!("argument {gp} (i64) goes on the stack"))
        );
        let err = placement("void({f64, f64})").expect_err("struct");
        assert!(err.to_string().contains("argument 0"), "{err}");
        let err = placement("{i64, i64}(i64)").expect_err("struct return");
        assert!(err.to_string().contains("return"), "{err}");
        let err = placement("i32(ptr, ..., f32)").expect_err("promoted");
        assert!(err.to_string().contains("variadic f32"), "{err}");
    }

    #[test]
    fn a_variadic_call_counts_its_vector_registers_on_x86_64() {
        let p = placement("i32(ptr, ..., f64, f64, i32)").expect("register-only");
        let want = if cfg!(target_arch = "x86_64") { 2 } else { 0 };
        assert_eq!(p.vector_regs, want);
    }
}
