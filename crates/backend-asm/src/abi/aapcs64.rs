//! AArch64 AAPCS64 (Arm IHI 0055, §6.8.2 "Parameter passing rules", Linux variant), as libffi
//! implements it in `src/aarch64/ffi.c` (`is_vfp_type`, `ffi_prep_cif_machdep`, `ffi_call_int`).
//!
//! # Classification (done once, in prepare)
//! - integers, `bool`, pointers: the next of `x0-x7` (NGRN), else an 8-byte stack slot;
//! - `f32`, `f64`: the next of `v0-v7` (NSRN), else an 8-byte stack slot;
//! - a Homogeneous Floating-point Aggregate (HFA: 1-4 members, all `f32` or all `f64`,
//!   nesting flattened) takes one `v` register per member if enough are left; otherwise it
//!   goes on the stack and NSRN becomes 8 (rule C.3);
//! - any other composite over 16 bytes is copied to memory the caller owns and passed by
//!   address, as an integer argument (rule B.4);
//! - any other composite takes `ceil(size/8)` consecutive `x` registers if that many are
//!   left; otherwise NGRN becomes 8 and it goes on the stack (rules C.12-C.13) — never split;
//! - stack arguments take `ceil(size/8)` 8-byte slots (Linux; Apple packs them);
//! - returns: integers in `x0`, floats in `v0`, HFAs in `v0-v3`, other composites of at
//!   most 16 bytes in `x0`/`x1`; larger ones through the indirect result location `x8`;
//! - variadic arguments are passed like fixed ones on Linux; `f32` is promoted to `f64`.

use ffi_trait::{Error, Signature, Type};

use crate::abi::plan::{
    Alloc, ArgPlan, Loc, Piece, Plan, RetPiece, RetPlan, leaves, stack_pieces, words,
};

pub(crate) const GP_REGS: u8 = 8;
const FP_REGS: u8 = 8;

/// The member size (4 or 8) and count of an HFA, or `None`.
fn hfa(ty: &Type) -> Option<(usize, usize)> {
    let l = leaves(ty);
    let first = &l.first()?.1;
    let member = match first {
        Type::F32 => 4,
        Type::F64 => 8,
        _ => return None,
    };
    (l.len() <= 4 && l.iter().all(|(_, t)| t == first)).then_some((member, l.len()))
}

/// Builds the call plan of `sig` for AAPCS64 (Linux).
///
/// # Errors
/// [`Error::UnsupportedSignature`] when the stack arguments exceed the frame's capacity.
pub(crate) fn plan(sig: &Signature) -> Result<Plan, Error> {
    let mut a = Alloc::default();
    let ret = match sig.ret() {
        Type::Void => RetPlan::Void,
        Type::F32 | Type::F64 => RetPlan::Float,
        ty @ Type::Struct(s) => match hfa(ty) {
            Some((member, count)) => RetPlan::Pieces {
                size: s.size() as u32,
                pieces: (0..count)
                    .map(|k| RetPiece {
                        reg: 2 + k as u8,
                        offset: (k * member) as u16,
                        len: member as u8,
                    })
                    .collect(),
            },
            None if s.size() > 16 => RetPlan::Indirect {
                size: s.size() as u32,
            },
            None => RetPlan::Pieces {
                size: s.size() as u32,
                pieces: (0..words(s.size()) as usize)
                    .map(|k| RetPiece {
                        reg: k as u8,
                        offset: (k * 8) as u16,
                        len: (s.size() - k * 8).min(8) as u8,
                    })
                    .collect(),
            },
        },
        _ => RetPlan::Int,
    };
    let fixed = sig.fixed_count();
    let mut args = Vec::with_capacity(sig.args().len());
    for (i, ty) in sig.args().iter().enumerate() {
        let variadic = sig.is_variadic() && i >= fixed;
        let ap = match ty {
            Type::Struct(s) => {
                let size = s.size();
                if let Some((member, count)) = hfa(ty) {
                    let pieces: Box<[Piece]> = if a.fp as usize + count <= FP_REGS as usize {
                        (0..count)
                            .map(|k| {
                                a.fp += 1;
                                Piece {
                                    offset: (k * member) as u16,
                                    len: member as u8,
                                    loc: Loc::Fp(a.fp - 1),
                                }
                            })
                            .collect()
                    } else {
                        a.fp = FP_REGS;
                        let word = a.stack_words(words(size));
                        stack_pieces(size, word)
                    };
                    ArgPlan::Pieces {
                        size: size as u32,
                        pieces,
                    }
                } else if size > 16 {
                    let word = a.scratch;
                    a.scratch += words(size);
                    let loc = if a.gp < GP_REGS {
                        a.gp += 1;
                        Loc::Gp(a.gp - 1)
                    } else {
                        Loc::Stack(a.stack_words(1))
                    };
                    // Scratch words follow the stack words; `word` is fixed up below.
                    ArgPlan::ByRef {
                        size: size as u32,
                        word,
                        loc,
                    }
                } else {
                    let n = words(size) as u8;
                    let pieces: Box<[Piece]> = if a.gp + n <= GP_REGS {
                        (0..n as usize)
                            .map(|k| {
                                a.gp += 1;
                                Piece {
                                    offset: (k * 8) as u16,
                                    len: (size - k * 8).min(8) as u8,
                                    loc: Loc::Gp(a.gp - 1),
                                }
                            })
                            .collect()
                    } else {
                        a.gp = GP_REGS;
                        let word = a.stack_words(n as u16);
                        stack_pieces(size, word)
                    };
                    ArgPlan::Pieces {
                        size: size as u32,
                        pieces,
                    }
                }
            }
            scalar => a.scalar(scalar, variadic, GP_REGS, FP_REGS),
        };
        args.push(ap);
    }
    // By-reference copies live in scratch words placed after the outgoing stack words.
    for ap in &mut args {
        if let ArgPlan::ByRef { word, .. } = ap {
            *word += a.stack;
        }
    }
    Ok(Plan {
        args: args.into_boxed_slice(),
        stack_words: a.stack,
        scratch_words: a.scratch,
        ret,
        extra: 0,
        sret_in_gp0: false,
    })
}
