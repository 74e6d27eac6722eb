//! The AArch64 AAPCS64 side of closures: the stub every trampoline slot holds and the entry
//! it jumps to.
//!
//! # The stub (16 bytes, identical in every slot)
//! ```text
//!   S+0:  ldr x17, S + P        ; x17 = slot.data   (LDR literal, PC-relative)
//!   S+4:  ldr x16, S + P + 8    ; x16 = slot.entry
//!   S+8:  br  x16               ; jump to the entry
//!   S+12: brk #0                ; never reached
//! ```
//! `x16`/`x17` are IP0/IP1, the intra-procedure-call scratch registers (AAPCS64 §6.1.1) that
//! linker veneers may clobber: no argument lives in them, so the stub leaves every argument
//! register and the stack as the caller set them. LDR literal reaches ±1 MiB, so any page
//! size up to 512 KiB works.
//!
//! # The entry's frame
//! ```text
//!   caller's stack arguments   <- x29 + 16 + 192 (entry sp; stack word 0 of the plan)
//!   Incoming (192 bytes)       <- x29 + 16
//!   saved x29, x30             <- x29 = sp (16-byte aligned)
//! ```
//! The entry saves `x0-x7`, `d0-d7` and `x8` (the indirect result location) into
//! [`Incoming`], calls [`super::dispatch`]`(data, &incoming, stack args)`, then loads
//! `x0 x1 d0-d3` from `Incoming::ret` and returns.

#[cfg(target_arch = "aarch64")]
use super::Incoming;

/// The bytes of one stub for a data page `page` bytes after its code page.
pub(crate) fn stub_bytes(page: usize) -> [u8; 16] {
    // LDR (literal), 64-bit: 0x58000000 | imm19 << 5 | Rt, target = PC + imm19 * 4.
    let ldr = |offset: usize, rt: u32| 0x5800_0000u32 | (((offset / 4) as u32) << 5) | rt;
    let words = [
        ldr(page, 17),     // ldr x17, [pc + P]      -> slot.data
        ldr(page + 4, 16), // ldr x16, [pc + P + 4]  -> slot.entry (stub + P + 8)
        0xd61f_0200,       // br x16
        0xd420_0000,       // brk #0
    ];
    let mut out = [0u8; 16];
    for (k, w) in words.iter().enumerate() {
        out[k * 4..k * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Makes `len` bytes of freshly written code at `start` visible to instruction fetch: clean
/// the data cache to the point of unification, invalidate the instruction cache, and
/// synchronise (Arm ARM B2.4.4, the sequence GCC's `__clear_cache` uses), with line sizes
/// read from `CTR_EL0` (readable at EL0 on Linux).
pub(crate) fn flush_icache(start: *mut u8, len: usize) {
    #[cfg(target_arch = "aarch64")]
    {
        let ctr: u64;
        // SAFETY: reading CTR_EL0 has no side effects; Linux lets EL0 read it (or traps and
        // emulates it).
        unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
        let dline = 4usize << ((ctr >> 16) & 0xf);
        let iline = 4usize << (ctr & 0xf);
        let (begin, end) = (start as usize, start as usize + len);
        let mut a = begin & !(dline - 1);
        while a < end {
            // SAFETY: cleaning a cache line of our own mapping by address.
            unsafe { core::arch::asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += dline;
        }
        // SAFETY: barrier only.
        unsafe { core::arch::asm!("dsb ish", options(nostack)) };
        let mut a = begin & !(iline - 1);
        while a < end {
            // SAFETY: invalidating an instruction cache line of our own mapping by address.
            unsafe { core::arch::asm!("ic ivau, {}", in(reg) a, options(nostack)) };
            a += iline;
        }
        // SAFETY: barriers only.
        unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = (start, len);
}

/// The entry every AArch64 stub jumps to, with `x17` = the closure's data.
///
/// # Safety
/// Only reached from a stub, as an AAPCS64 call whose arguments match the closure's
/// signature.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn entry() {
    use std::mem::offset_of;
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-{frame}]!",    // save fp/lr; reserve Incoming below the args
        "mov x29, sp",                       // x29: this frame
        "stp x0, x1, [sp, #16 + {gp}]",      // integer argument registers
        "stp x2, x3, [sp, #16 + {gp} + 16]",
        "stp x4, x5, [sp, #16 + {gp} + 32]",
        "stp x6, x7, [sp, #16 + {gp} + 48]",
        "stp d0, d1, [sp, #16 + {fp}]",      // floating-point argument registers (low 64)
        "stp d2, d3, [sp, #16 + {fp} + 16]",
        "stp d4, d5, [sp, #16 + {fp} + 32]",
        "stp d6, d7, [sp, #16 + {fp} + 48]",
        "str x8, [sp, #16 + {extra}]",       // the indirect result location
        "mov x0, x17",                       // arg 0: the closure's data
        "add x1, sp, #16",                   // arg 1: &Incoming
        "add x2, x29, #{frame}",             // arg 2: the caller's stack arguments
        "bl {dispatch}",                     // run the closure; fills Incoming::ret
        "ldp x0, x1, [sp, #16 + {ret}]",     // integer return registers
        "ldp d0, d1, [sp, #16 + {ret} + 16]", // floating-point return registers (HFA: 4)
        "ldp d2, d3, [sp, #16 + {ret} + 32]",
        "ldp x29, x30, [sp], #{frame}",      // restore fp/lr, drop the frame
        "ret",                               // back to the C caller
        frame = const 16 + size_of::<Incoming>(),
        gp = const offset_of!(Incoming, gp),
        fp = const offset_of!(Incoming, fp),
        extra = const offset_of!(Incoming, extra),
        ret = const offset_of!(Incoming, ret),
        dispatch = sym super::dispatch,
    )
}
