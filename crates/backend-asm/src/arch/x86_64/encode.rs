//! A minimal x86-64 encoder for the compiled call stubs (`super::call_stub`): the
//! instruction forms they use (Intel SDM Vol. 2, chapter 2: REX prefixes, ModRM with a
//! `[base + disp32]` memory operand, SIB for `rsp`), the register numbers, and the
//! prologue/epilogue pieces. What a stub says lives in `call_stub.rs`; how it is spelled in
//! bytes lives here.

use crate::stub::StubForm;

/// `rax`, `rdx`, `rbx`, `rsp`, ... in the encoding's register numbers.
pub(super) const RAX: u8 = 0;
pub(super) const RCX: u8 = 1;
pub(super) const RDX: u8 = 2;
pub(super) const RBX: u8 = 3;
pub(super) const RSP: u8 = 4;
pub(super) const RSI: u8 = 6;
pub(super) const RDI: u8 = 7;
pub(super) const R10: u8 = 10;
pub(super) const R11: u8 = 11;

/// A minimal x86-64 encoder: the instruction forms the stubs use, every memory operand
/// `[base + disp32]`.
#[derive(Default)]
pub(super) struct Asm {
    pub(super) code: Vec<u8>,
    /// The `rel32` field of each `jz` to a fault exit, and the fault code it returns.
    pub(super) faults: Vec<(usize, u32)>,
    /// Bytes `sub rsp` reserved below the saved `rbx` (the epilogues give them back).
    pub(super) frame: u32,
    /// The convention of the stub being encoded.
    pub(super) form: StubForm,
}

impl Asm {
    pub(super) fn byte(&mut self, b: u8) {
        self.code.push(b);
    }

    pub(super) fn rex(&mut self, w: bool, reg: u8, base: u8, force: bool) {
        let rex = 0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | (base >> 3);
        if rex != 0x40 || force {
            self.byte(rex);
        }
    }

    /// `prefix? REX? opcode modrm(reg, [base + disp32])`.
    pub(super) fn mem(
        &mut self,
        prefix: Option<u8>,
        w: bool,
        opcode: &[u8],
        reg: u8,
        base: u8,
        disp: i32,
    ) {
        if let Some(p) = prefix {
            self.byte(p);
        }
        // A byte store from `r11b` needs REX anyway (`r11` is above 7).
        self.rex(w, reg, base, false);
        self.code.extend_from_slice(opcode);
        self.byte(0x80 | ((reg & 7) << 3) | (base & 7));
        if base & 7 == RSP {
            // `rsp`/`r12` as a base needs a SIB byte (no index).
            self.byte(0x24);
        }
        self.code.extend_from_slice(&disp.to_le_bytes());
    }

    /// `REX? opcode modrm(reg, rm)` with both operands registers.
    pub(super) fn rr(&mut self, w: bool, opcode: &[u8], reg: u8, rm: u8) {
        self.rex(w, reg, rm, false);
        self.code.extend_from_slice(opcode);
        self.byte(0xC0 | ((reg & 7) << 3) | (rm & 7));
    }

    pub(super) fn push(&mut self, r: u8) {
        self.rex(false, 0, r, false);
        self.byte(0x50 | (r & 7));
    }

    pub(super) fn pop(&mut self, r: u8) {
        self.rex(false, 0, r, false);
        self.byte(0x58 | (r & 7));
    }

    /// `mov dst, src` (64-bit).
    pub(super) fn mov_rr(&mut self, dst: u8, src: u8) {
        self.rr(true, &[0x89], src, dst);
    }

    /// `test r, r` (64-bit).
    pub(super) fn test_rr(&mut self, r: u8) {
        self.rr(true, &[0x85], r, r);
    }

    /// `jz` to an exit returning fault `code` (emitted by [`Asm::emit_faults`]).
    pub(super) fn jz_fault(&mut self, code: u32) {
        self.jcc_fault(0x84, code);
    }

    /// `jcc rel32` (`0F op`: `0x84` jz, `0x85` jnz) to an exit returning fault `code`.
    pub(super) fn jcc_fault(&mut self, op: u8, code: u32) {
        self.code.extend_from_slice(&[0x0F, op]);
        self.faults.push((self.code.len(), code));
        self.code.extend_from_slice(&[0; 4]);
    }

    pub(super) fn sub_rsp(&mut self, bytes: u32) {
        self.code.extend_from_slice(&[0x48, 0x81, 0xEC]);
        self.code.extend_from_slice(&bytes.to_le_bytes());
    }

    /// `movsd`/`movss`/`cvtss2sd xmm{x}, [base + disp]` (`prefix 0F op`).
    pub(super) fn sse_load(&mut self, prefix: u8, op: u8, x: u8, base: u8, disp: i32) {
        self.mem(Some(prefix), false, &[0x0F, op], x, base, disp);
    }

    /// Loads `len` (1..=8) bytes at `[base + disp]` zero-extended into integer register
    /// `dst`, never touching a byte outside them; `r10` is scratch.
    pub(super) fn load_bytes(&mut self, dst: u8, base: u8, disp: i32, len: u8) -> Option<()> {
        // Chunks of 4, 2, 1 bytes from the lowest address, loaded highest first.
        let mut chunks = Vec::new();
        let mut off = 0u8;
        for size in [8u8, 4, 2, 1] {
            if len - off >= size && (size < 8 || off == 0) {
                chunks.push((off, size));
                off += size;
            }
            if off == len {
                break;
            }
        }
        if off != len || chunks.is_empty() {
            return None;
        }
        let mut first = true;
        for &(o, size) in chunks.iter().rev() {
            let reg = if first { dst } else { R10 };
            let d = disp + i32::from(o);
            match size {
                8 => self.mem(None, true, &[0x8B], reg, base, d),
                4 => self.mem(None, false, &[0x8B], reg, base, d),
                2 => self.mem(None, false, &[0x0F, 0xB7], reg, base, d),
                _ => self.mem(None, false, &[0x0F, 0xB6], reg, base, d),
            }
            if !first {
                // shl dst, 8 * size; or dst, r10
                self.rr(true, &[0xC1], 4, dst);
                self.byte(8 * size);
                self.rr(true, &[0x09], R10, dst);
            }
            first = false;
        }
        Some(())
    }

    /// `mov [base + disp], src` of `width` bytes (8, 4, 2 or 1).
    pub(super) fn store(&mut self, width: u8, src: u8, base: u8, disp: i32) {
        match width {
            8 => self.mem(None, true, &[0x89], src, base, disp),
            4 => self.mem(None, false, &[0x89], src, base, disp),
            2 => self.mem(Some(0x66), false, &[0x89], src, base, disp),
            _ => {
                // A byte store of a register other than al/cl/dl/bl needs a REX prefix.
                debug_assert!(src == RAX || src >= 8);
                self.mem(None, false, &[0x88], src, base, disp)
            }
        }
    }

    pub(super) fn mov_eax_imm(&mut self, v: u32) {
        self.byte(0xB8);
        self.code.extend_from_slice(&v.to_le_bytes());
    }

    pub(super) fn xor_eax(&mut self) {
        self.code.extend_from_slice(&[0x31, 0xC0]);
    }

    /// `call r11`.
    pub(super) fn call_r11(&mut self) {
        self.code.extend_from_slice(&[0x41, 0xFF, 0xD3]);
    }

    /// `add rsp, frame; pop rbx; ret`.
    pub(super) fn epilogue(&mut self) {
        self.epilogue_to(&[0xC3]);
    }

    /// `add rsp, frame; pop rbx` and then `exit` (`ret`, or a tail jump).
    pub(super) fn epilogue_to(&mut self, exit: &[u8]) {
        if self.frame > 0 {
            self.code.extend_from_slice(&[0x48, 0x81, 0xC4]);
            self.code.extend_from_slice(&self.frame.to_le_bytes());
        }
        self.pop(RBX);
        self.code.extend_from_slice(exit);
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known encodings (checked against GNU as) of the forms the stubs use.
    #[test]
    fn encodes_known_forms() {
        let mut a = Asm::default();
        a.mem(None, true, &[0x8B], RAX, R10, 8); // mov rax, [r10 + 8]
        assert_eq!(a.code, [0x49, 0x8B, 0x82, 8, 0, 0, 0]);
        let mut a = Asm::default();
        a.store(8, RDI, RSP, 16); // mov [rsp + 16], rdi
        assert_eq!(a.code, [0x48, 0x89, 0xBC, 0x24, 16, 0, 0, 0]);
        let mut a = Asm::default();
        a.sse_load(0xF2, 0x10, 9, RAX, 0); // movsd xmm9, [rax]
        assert_eq!(a.code, [0xF2, 0x44, 0x0F, 0x10, 0x88, 0, 0, 0, 0]);
        let mut a = Asm::default();
        a.store(1, R11, RBX, 3); // mov [rbx + 3], r11b
        assert_eq!(a.code, [0x44, 0x88, 0x9B, 3, 0, 0, 0]);
        let mut a = Asm::default();
        a.store(2, R11, RBX, 2); // mov [rbx + 2], r11w
        assert_eq!(a.code, [0x66, 0x44, 0x89, 0x9B, 2, 0, 0, 0]);
        let mut a = Asm::default();
        a.mov_rr(R11, RDI); // mov r11, rdi
        assert_eq!(a.code, [0x49, 0x89, 0xFB]);
        let mut a = Asm::default();
        a.push(R11);
        a.pop(RBX);
        assert_eq!(a.code, [0x41, 0x53, 0x5B]);
        let mut a = Asm::default();
        a.mem(None, false, &[0x81], 7, RSI, 24); // cmp dword [rsi + 24], imm32 (imm follows)
        assert_eq!(a.code, [0x81, 0xBE, 24, 0, 0, 0]);
        let mut a = Asm::default();
        a.mem(None, true, &[0x83], 7, RSI, 8); // cmp qword [rsi + 8], imm8 (imm follows)
        a.mov_rr(RDI, RCX); // mov rdi, rcx
        assert_eq!(a.code, [0x48, 0x83, 0xBE, 8, 0, 0, 0, 0x48, 0x89, 0xCF]);
        let mut a = Asm::default();
        a.call_r11();
        a.mem(None, true, &[0x8B], RAX, RSI, 16); // mov rax, [rsi + 16]
        assert_eq!(a.code, [0x41, 0xFF, 0xD3, 0x48, 0x8B, 0x86, 16, 0, 0, 0]);
    }
}
