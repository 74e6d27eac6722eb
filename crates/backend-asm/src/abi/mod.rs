//! The ABI layer: pure Rust that turns a signature into a call plan by the platform's
//! rules, testable on any host (both classifiers are compiled and tested everywhere; only
//! the target's is used for calls).
//!
//! - [`plan`]: the plan's vocabulary (where each argument piece goes, how the return comes
//!   back) and its execution into a frame;
//! - [`sysv64`]: System V AMD64 eightbyte classification (psABI §3.2.3, libffi's
//!   `src/x86/ffi64.c`);
//! - [`aapcs64`]: AAPCS64 (HFAs, by-reference composites; libffi's `src/aarch64/ffi.c`);
//! - [`site`]: placement worked out from the arguments' packed key, where both ABIs place
//!   by class alone;
//! - [`registers`]: the register-only placement a caller in another language executes (the
//!   Go binding).
//!
//! The machine code that executes plans is in `crate::arch`.

use ffi_trait::{Result, Signature};

#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
pub(crate) mod aapcs64;
pub(crate) mod plan;
pub(crate) mod registers;
pub(crate) mod site;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) mod sysv64;

use plan::Plan;

/// Argument register slots: integer registers `0..8` (x86-64 uses 6), floating-point
/// registers `8..16`.
pub(crate) const REGS: usize = 16;
/// Index of the first floating-point slot.
pub(crate) const FP0: usize = 8;
/// The integer argument registers of the target's calling convention (the planner's count:
/// `rdi rsi rdx rcx r8 r9` on x86-64, `x0-x7` on AArch64).
#[cfg(target_arch = "x86_64")]
pub(crate) const GP_ARGS: usize = crate::abi::sysv64::GP_REGS as usize;
/// See the x86-64 definition.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) const GP_ARGS: usize = crate::abi::aapcs64::GP_REGS as usize;
/// The most arguments an `Entry::Int` plan takes: every integer register, then two stack
/// words.
pub(crate) const MAX_INT_ARGS: usize = GP_ARGS + 2;
/// The integer and the vector registers a `RegsSmall` / `Small` entry loads, of each class.
pub(crate) const SMALL_REGS: usize = 4;

/// The call plan of `sig` for the target this crate is built for.
///
/// # Errors
/// The signature's own errors (a type the ABI cannot pass) and a plan too large for the
/// frame ([`plan::check_size`]).
pub(crate) fn target_plan(sig: &Signature) -> Result<Plan> {
    #[cfg(target_arch = "aarch64")]
    let p = aapcs64::plan(sig)?;
    #[cfg(not(target_arch = "aarch64"))]
    let p = sysv64::plan(sig)?;
    plan::check_size(&p, sig)?;
    Ok(p)
}
