//! The x86-64 System V side of closures: the stub every trampoline slot holds and the entry
//! it jumps to.
//!
//! # The stub (16 bytes, identical in every slot)
//! ```text
//!   S+0:  4c 8b 15 <P-7>    mov r10, [rip + P - 7]   ; r10 = slot.data  (at S + P)
//!   S+7:  ff 25 <P-5>       jmp [rip + P - 5]        ; jump to slot.entry (at S + P + 8)
//!   S+13: cc cc cc          int3 padding
//! ```
//! `r10` is the static-chain register of the psABI (§3.2.3, Figure 3.4): it carries no
//! argument, so the stub leaves every argument register and the stack exactly as the caller
//! set them — libffi's closures use it the same way.
//!
//! # The entry's frame
//! ```text
//!   caller's stack arguments   <- rbp + 16  (stack word 0 of the call plan)
//!   return address             <- rbp + 8
//!   saved rbp                  <- rbp
//!   Incoming (192 bytes)       <- rsp = rbp - 192 (16-byte aligned for the call below)
//! ```
//! The entry saves `rdi rsi rdx rcx r8 r9` and the low 64 bits of `xmm0-7` into
//! [`Incoming`], calls [`super::dispatch`]`(data, &incoming, stack args)`, then loads
//! `rax rdx xmm0 xmm1` from `Incoming::ret` and returns to the C caller.

#[cfg(target_arch = "x86_64")]
use super::Incoming;

/// The bytes of one stub for a data page `page` bytes after its code page.
pub(crate) fn stub_bytes(page: usize) -> [u8; 16] {
    let load = (page as i32 - 7).to_le_bytes();
    let jump = (page as i32 - 5).to_le_bytes();
    [
        0x4c, 0x8b, 0x15, load[0], load[1], load[2], load[3], // mov r10, [rip + P - 7]
        0xff, 0x25, jump[0], jump[1], jump[2], jump[3], // jmp [rip + P - 5]
        0xcc, 0xcc, 0xcc, // int3
    ]
}

/// x86-64 keeps instruction fetch coherent with stores (Intel SDM Vol. 3 §11.6): nothing to
/// do after writing code.
pub(crate) fn flush_icache(_start: *mut u8, _len: usize) {}

/// The entry every x86-64 stub jumps to, with `r10` = the closure's data.
///
/// # Safety
/// Only reached from a stub, as a System V call whose arguments match the closure's
/// signature.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn entry() {
    use std::mem::offset_of;
    core::arch::naked_asm!(
        "push rbp",                          // frame pointer chain for debuggers/unwinders
        "mov rbp, rsp",                      // rbp: this frame; rsp is now 16-byte aligned
        "sub rsp, {size}",                   // room for Incoming (a multiple of 16)
        "mov [rsp + {gp} + 0], rdi",         // integer argument registers
        "mov [rsp + {gp} + 8], rsi",
        "mov [rsp + {gp} + 16], rdx",
        "mov [rsp + {gp} + 24], rcx",
        "mov [rsp + {gp} + 32], r8",
        "mov [rsp + {gp} + 40], r9",
        "movq [rsp + {fp} + 0], xmm0",       // floating-point argument registers (low 64)
        "movq [rsp + {fp} + 8], xmm1",
        "movq [rsp + {fp} + 16], xmm2",
        "movq [rsp + {fp} + 24], xmm3",
        "movq [rsp + {fp} + 32], xmm4",
        "movq [rsp + {fp} + 40], xmm5",
        "movq [rsp + {fp} + 48], xmm6",
        "movq [rsp + {fp} + 56], xmm7",
        "mov rdi, r10",                      // arg 0: the closure's data
        "mov rsi, rsp",                      // arg 1: &Incoming
        "lea rdx, [rbp + 16]",               // arg 2: the caller's stack arguments
        "call {dispatch}",                   // run the closure; fills Incoming::ret
        "mov rax, [rsp + {ret} + 0]",        // integer return registers
        "mov rdx, [rsp + {ret} + 8]",
        "movq xmm0, [rsp + {ret} + 16]",     // floating-point return registers
        "movq xmm1, [rsp + {ret} + 24]",
        "mov rsp, rbp",                      // drop Incoming
        "pop rbp",                           // restore the caller's frame pointer
        "ret",                               // back to the C caller
        size = const size_of::<Incoming>(),
        gp = const offset_of!(Incoming, gp),
        fp = const offset_of!(Incoming, fp),
        ret = const offset_of!(Incoming, ret),
        dispatch = sym super::dispatch,
    )
}
