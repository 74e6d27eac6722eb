//! # backend-asm (not built yet)
//!
//! The naked-asm direct-stack trampoline backend (x86-64 System V, AArch64 AAPCS64). It is
//! the subject of its own issue; until it lands this crate only names itself, and the
//! run-time backend registry reports `asm` as not built.

/// The backend's name in the run-time registry.
pub const NAME: &str = "asm";
