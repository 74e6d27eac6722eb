//! The call plan: what prepare computes once so that a call only copies values into place.
//!
//! A [`Plan`] says, for every argument, which argument register, floating-point register or
//! outgoing stack word each piece of its value goes to, and how the return value comes back.
//! The per-architecture modules build it by the platform's rules (System V eightbyte
//! classification, AAPCS64 HFAs and indirect composites); [`fill`] and [`decode_return`]
//! execute it for one call, without looking at a type again.

use ffi_trait::{Arg, ArgKind, Error, ScalarClass, Type};

use crate::frame::{Frame, MAX_WORDS};

/// Where one register-sized piece of an argument goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    /// General-purpose argument register `n` (`rdi rsi rdx rcx r8 r9`; `x0-x7`).
    Gp(u8),
    /// Floating-point / SIMD argument register `n` (`xmm0-7`; `v0-v7`), low 64 bits.
    Fp(u8),
    /// Outgoing stack word `n` (at `sp + 8n` when the callee is entered).
    Stack(u16),
}

/// Up to 8 bytes of a struct argument: `len` bytes from byte `offset`, zero-extended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) offset: u16,
    pub(crate) len: u8,
    pub(crate) loc: Loc,
}

/// How one argument is moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ArgPlan {
    /// A scalar: its register image goes to `loc` (an `f32` promoted to `f64` first when it
    /// is a variadic argument, C11 §6.5.2.2p7).
    Scalar {
        expect: ArgKind,
        is_ptr: bool,
        promote_f32: bool,
        loc: Loc,
    },
    /// A struct moved in register-sized pieces (to registers, or to consecutive stack words).
    Pieces { size: u32, pieces: Box<[Piece]> },
    /// A struct copied whole to the outgoing stack words from `word` (System V MEMORY class).
    StackCopy { size: u32, word: u16 },
    /// A struct copied to caller-owned memory (scratch words from `word`) and passed by its
    /// address at `loc` (AAPCS64 rule B.4: composites over 16 bytes).
    ByRef { size: u32, word: u16, loc: Loc },
}

/// Where a piece of a struct return comes from: `len` bytes of return register `reg`
/// ([`Frame::ret`]) into bytes `offset..offset+len` of the return slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RetPiece {
    pub(crate) reg: u8,
    pub(crate) offset: u16,
    pub(crate) len: u8,
}

/// How the return value comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RetPlan {
    /// `void`.
    Void,
    /// A scalar in the first integer return register.
    Int,
    /// A scalar in the first floating-point return register.
    Float,
    /// A struct in registers, reassembled piece by piece.
    Pieces { size: u32, pieces: Box<[RetPiece]> },
    /// A struct written by the callee through a hidden pointer (x86-64 `rdi`, AArch64 `x8`).
    Indirect { size: u32 },
}

/// The whole call interface of one signature on one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) args: Box<[ArgPlan]>,
    /// Outgoing stack words the callee reads.
    pub(crate) stack_words: u16,
    /// Scratch words after them for by-reference copies.
    pub(crate) scratch_words: u16,
    pub(crate) ret: RetPlan,
    /// The value of the trampoline's `extra` register: `%al` (vector registers used) for an
    /// x86-64 variadic call; 0 otherwise.
    pub(crate) extra: u64,
    /// Indirect return: the hidden pointer goes to GP register 0 (x86-64) instead of `extra`
    /// (AArch64 `x8`).
    pub(crate) sret_in_gp0: bool,
}

/// A register and stack allocator for building a plan.
#[derive(Debug, Default)]
pub(crate) struct Alloc {
    pub(crate) gp: u8,
    pub(crate) fp: u8,
    pub(crate) stack: u16,
    pub(crate) scratch: u16,
}

impl Alloc {
    /// Places a scalar argument: the next register of its class while `gp_regs` / `fp_regs`
    /// last, else the next stack word (both ABIs; a variadic `f32` is promoted to `f64`).
    ///
    /// # Panics
    /// On `void`, which signatures never have as an argument.
    pub(crate) fn scalar(
        &mut self,
        ty: &Type,
        variadic: bool,
        gp_regs: u8,
        fp_regs: u8,
    ) -> ArgPlan {
        let expect = ArgKind::of(ty).expect("arguments are never void");
        let loc = match ty.scalar_class() {
            Some(ScalarClass::Float) if self.fp < fp_regs => {
                self.fp += 1;
                Loc::Fp(self.fp - 1)
            }
            Some(ScalarClass::Integer) if self.gp < gp_regs => {
                self.gp += 1;
                Loc::Gp(self.gp - 1)
            }
            _ => Loc::Stack(self.stack_words(1)),
        };
        ArgPlan::Scalar {
            expect,
            is_ptr: *ty == Type::Ptr,
            promote_f32: variadic && *ty == Type::F32,
            loc,
        }
    }

    /// Takes `n` consecutive stack words.
    pub(crate) fn stack_words(&mut self, n: u16) -> u16 {
        let w = self.stack;
        self.stack += n;
        w
    }
}

/// `ceil(size / 8)`.
pub(crate) fn words(size: usize) -> u16 {
    size.div_ceil(8) as u16
}

/// Pieces that move a struct of `size` bytes into consecutive stack words from `word`.
pub(crate) fn stack_pieces(size: usize, word: u16) -> Box<[Piece]> {
    (0..words(size))
        .map(|k| Piece {
            offset: k * 8,
            len: (size - k as usize * 8).min(8) as u8,
            loc: Loc::Stack(word + k),
        })
        .collect()
}

/// Checks the final plan fits in the frame's stack area.
///
/// # Errors
/// [`Error::UnsupportedSignature`] when the outgoing stack arguments and by-reference copies
/// need more than [`MAX_WORDS`] words.
pub(crate) fn check_size(plan: &Plan, sig: &ffi_trait::Signature) -> Result<(), Error> {
    let need = plan.stack_words as usize + plan.scratch_words as usize;
    if need > MAX_WORDS {
        return Err(Error::UnsupportedSignature {
            backend: "asm",
            signature: sig.to_string(),
            reason: format!(
                "the arguments need {} bytes of stack; the asm backend passes at most {}",
                need * 8,
                MAX_WORDS * 8
            ),
        });
    }
    Ok(())
}

/// Reads `len <= 8` bytes at `offset` of `bytes` as a little-endian word, zero-extended;
/// never reads past `offset + len` (libffi's `overread` test).
#[inline(always)]
fn read_piece(bytes: &[u8], offset: usize, len: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..len].copy_from_slice(&bytes[offset..offset + len]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn put(frame: &mut Frame, words: &mut [u64], loc: Loc, bits: u64) {
    match loc {
        Loc::Gp(i) => frame.gp[i as usize] = bits,
        Loc::Fp(i) => frame.fp[i as usize] = bits,
        Loc::Stack(w) => words[w as usize] = bits,
    }
}

/// Where a dynamic call's argument failed its check.
#[derive(Debug)]
pub(crate) enum FillError {
    /// Argument `index` has the wrong kind (or a struct of the wrong size).
    Type(usize),
}

/// Moves the arguments into `frame` and the stack `words` by `plan`.
///
/// `words` must hold at least `stack_words + scratch_words` words, zeroed where struct
/// copies land (the caller zeroes the whole used range).
///
/// # Errors
/// [`FillError::Type`] for the first argument whose kind does not match.
#[inline(always)]
pub(crate) fn fill(
    plan: &Plan,
    args: &[Arg<'_>],
    frame: &mut Frame,
    words: &mut [u64],
) -> Result<(), FillError> {
    for (i, (arg, ap)) in args.iter().zip(plan.args.iter()).enumerate() {
        match ap {
            ArgPlan::Scalar {
                expect,
                is_ptr,
                promote_f32,
                loc,
            } => {
                let kind = arg.kind();
                if kind != *expect && !(*is_ptr && kind == ArgKind::Buffer) {
                    return Err(FillError::Type(i));
                }
                let bits = if *promote_f32 {
                    (f32::from_bits(arg.bits() as u32) as f64).to_bits()
                } else {
                    arg.bits()
                };
                put(frame, words, *loc, bits);
            }
            ArgPlan::Pieces { size, pieces } => {
                let bytes = struct_bytes(arg, *size).ok_or(FillError::Type(i))?;
                for p in pieces.iter() {
                    put(
                        frame,
                        words,
                        p.loc,
                        read_piece(bytes, p.offset as usize, p.len as usize),
                    );
                }
            }
            ArgPlan::StackCopy { size, word } => {
                let bytes = struct_bytes(arg, *size).ok_or(FillError::Type(i))?;
                copy_to_words(bytes, &mut words[*word as usize..]);
            }
            ArgPlan::ByRef { size, word, loc } => {
                let bytes = struct_bytes(arg, *size).ok_or(FillError::Type(i))?;
                let dst = &mut words[*word as usize..];
                copy_to_words(bytes, dst);
                let addr = dst.as_ptr() as usize as u64;
                put(frame, words, *loc, addr);
            }
        }
    }
    Ok(())
}

fn struct_bytes<'a>(arg: &Arg<'a>, size: u32) -> Option<&'a [u8]> {
    arg.struct_bytes().filter(|b| b.len() == size as usize)
}

fn copy_to_words(bytes: &[u8], words: &mut [u64]) {
    for (k, chunk) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        words[k] = u64::from_le_bytes(w);
    }
}

/// Copies a struct returned in registers (`regs`: the return registers in the order of
/// [`Frame::ret`]) into `out` (exactly the pieces' bytes are written).
///
/// # Safety
/// `out` holds at least the struct's size, and `pieces` are a plan's return pieces (each
/// within the struct, each register index below 6); the callers check the return slot's size
/// before the call.
#[inline(always)]
pub(crate) unsafe fn decode_return(pieces: &[RetPiece], regs: &[u64; 6], out: &mut [u8]) {
    for p in pieces {
        debug_assert!(p.offset as usize + p.len as usize <= out.len() && p.reg < 6);
        // SAFETY: `offset .. offset + len` lies within the struct, so within `out`, and the
        // register index is in bounds (forwarded contract).
        unsafe {
            crate::entry::write_le(
                out.as_mut_ptr().add(p.offset as usize),
                p.len,
                *regs.get_unchecked(p.reg as usize),
            )
        };
    }
}

/// The scalar leaves of a struct type in memory order: `(offset, type)`.
pub(crate) fn leaves(ty: &Type) -> Vec<(usize, Type)> {
    let mut v = Vec::new();
    if let Type::Struct(s) = ty {
        s.for_each_scalar(0, &mut |off, t| v.push((off, t.clone())));
    }
    v
}
