//! The machine code, one module per architecture: each holds every instruction the backend
//! runs on that target (the inline `asm!` entries, the naked trampoline, the closure stub and
//! entry, the encoder of compiled call stubs), with the same item names, so the rest of the
//! crate calls `crate::arch::X`.
//! A target with no file here does not compile: nothing falls back to a silent no-op.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::*;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "backend-asm has machine code for x86_64 (System V) and aarch64 (AAPCS64) only; \
     build ffikit without its `asm` feature on this target"
);
