//! x86-64 System V (psABI 1.0 §3.2.3, "Parameter Passing"), as libffi implements it in
//! `src/x86/ffi64.c` (`classify_argument`, `examine_argument`, `ffi_call_unix64`).
//!
//! # Classification (done once, in prepare)
//! - integers, `bool`, pointers: class INTEGER, the next of `rdi rsi rdx rcx r8 r9`;
//! - `f32`, `f64`: class SSE, the next of `xmm0-xmm7`;
//! - a struct of at most 16 bytes is split into eightbytes; an eightbyte holding any integer
//!   field is INTEGER, one holding only floats is SSE (the merge rule of §3.2.3 for the types
//!   ffikit has). If the registers left cannot take every eightbyte, the whole struct goes on
//!   the stack — never split between registers and stack;
//! - a struct over 16 bytes is MEMORY: copied onto the stack;
//! - arguments that find no register take 8-byte stack words in order;
//! - a MEMORY return is written through a hidden pointer passed in `rdi` (sret); a struct
//!   return in registers comes back in `rax`/`rdx` (INTEGER eightbytes, in order) and
//!   `xmm0`/`xmm1` (SSE eightbytes, in order);
//! - a variadic call sets `%al` to the number of vector registers used (an upper bound is
//!   allowed); `f32` variadic arguments are promoted to `f64`.

use ffi_trait::{Error, ScalarClass, Signature, Type};

use crate::abi::plan::{
    Alloc, ArgPlan, Loc, Piece, Plan, RetPiece, RetPlan, leaves, stack_pieces, words,
};

pub(crate) const GP_REGS: u8 = 6;
const FP_REGS: u8 = 8;

/// The class of one eightbyte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Integer,
    Sse,
}

/// The eightbyte classes of a struct of at most 16 bytes.
fn classify_struct(ty: &Type) -> Vec<Class> {
    let mut classes = vec![Class::Sse; words(ty.size()) as usize];
    for (off, leaf) in leaves(ty) {
        if leaf.scalar_class() == Some(ScalarClass::Integer) {
            classes[off / 8] = Class::Integer;
        }
    }
    classes
}

/// Builds the call plan of `sig` for System V x86-64.
///
/// # Errors
/// [`Error::UnsupportedSignature`] when the stack arguments exceed the frame's capacity.
pub(crate) fn plan(sig: &Signature) -> Result<Plan, Error> {
    let mut a = Alloc::default();
    let ret = match sig.ret() {
        Type::Void => RetPlan::Void,
        Type::F32 | Type::F64 => RetPlan::Float,
        Type::Struct(s) if s.size() > 16 => {
            a.gp = 1; // the hidden sret pointer takes rdi
            RetPlan::Indirect {
                size: s.size() as u32,
            }
        }
        ty @ Type::Struct(s) => {
            let (mut int_reg, mut sse_reg) = (0u8, 2u8);
            let pieces = classify_struct(ty)
                .iter()
                .enumerate()
                .map(|(k, class)| {
                    let reg = match class {
                        Class::Integer => {
                            int_reg += 1;
                            int_reg - 1
                        }
                        Class::Sse => {
                            sse_reg += 1;
                            sse_reg - 1
                        }
                    };
                    RetPiece {
                        reg,
                        offset: (k * 8) as u16,
                        len: (s.size() - k * 8).min(8) as u8,
                    }
                })
                .collect();
            RetPlan::Pieces {
                size: s.size() as u32,
                pieces,
            }
        }
        _ => RetPlan::Int,
    };
    let fixed = sig.fixed_count();
    let mut args = Vec::with_capacity(sig.args().len());
    for (i, ty) in sig.args().iter().enumerate() {
        let variadic = sig.is_variadic() && i >= fixed;
        let ap = match ty {
            Type::Struct(s) if s.size() > 16 => {
                let word = a.stack_words(words(s.size()));
                ArgPlan::StackCopy {
                    size: s.size() as u32,
                    word,
                }
            }
            Type::Struct(s) => {
                let classes = classify_struct(ty);
                let need_gp = classes.iter().filter(|c| **c == Class::Integer).count() as u8;
                let need_fp = classes.len() as u8 - need_gp;
                let pieces: Box<[Piece]> = if a.gp + need_gp <= GP_REGS && a.fp + need_fp <= FP_REGS
                {
                    classes
                        .iter()
                        .enumerate()
                        .map(|(k, class)| {
                            let loc = match class {
                                Class::Integer => {
                                    a.gp += 1;
                                    Loc::Gp(a.gp - 1)
                                }
                                Class::Sse => {
                                    a.fp += 1;
                                    Loc::Fp(a.fp - 1)
                                }
                            };
                            Piece {
                                offset: (k * 8) as u16,
                                len: (s.size() - k * 8).min(8) as u8,
                                loc,
                            }
                        })
                        .collect()
                } else {
                    let word = a.stack_words(words(s.size()));
                    stack_pieces(s.size(), word)
                };
                ArgPlan::Pieces {
                    size: s.size() as u32,
                    pieces,
                }
            }
            scalar => a.scalar(scalar, variadic, GP_REGS, FP_REGS),
        };
        args.push(ap);
    }
    Ok(Plan {
        args: args.into_boxed_slice(),
        stack_words: a.stack,
        scratch_words: 0,
        ret,
        // %al: an upper bound on the vector registers used; only variadic callees read it.
        extra: if sig.is_variadic() { a.fp as u64 } else { 0 },
        sret_in_gp0: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Plan {
        plan(&text.parse().unwrap()).unwrap()
    }

    #[test]
    fn registers_then_stack() {
        let pl = p("void(i64, i64, i64, i64, i64, i64, i64, f64, i64)");
        let locs: Vec<Loc> = pl
            .args
            .iter()
            .map(|a| match a {
                ArgPlan::Scalar { loc, .. } => *loc,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            locs,
            vec![
                Loc::Gp(0),
                Loc::Gp(1),
                Loc::Gp(2),
                Loc::Gp(3),
                Loc::Gp(4),
                Loc::Gp(5),
                Loc::Stack(0),
                Loc::Fp(0),
                Loc::Stack(1)
            ]
        );
        assert_eq!(pl.stack_words, 2);
    }

    #[test]
    fn eightbyte_classes() {
        // {f64, i32}: eightbyte 0 SSE, eightbyte 1 INTEGER.
        let pl = p("void({f64, i32})");
        let ArgPlan::Pieces { pieces, .. } = &pl.args[0] else {
            panic!()
        };
        assert_eq!(
            pieces[0],
            Piece {
                offset: 0,
                len: 8,
                loc: Loc::Fp(0)
            }
        );
        assert_eq!(
            pieces[1],
            Piece {
                offset: 8,
                len: 8,
                loc: Loc::Gp(0)
            }
        );
        // {f32, i32}: one eightbyte with an integer field: INTEGER.
        let pl = p("void({f32, i32})");
        let ArgPlan::Pieces { pieces, .. } = &pl.args[0] else {
            panic!()
        };
        assert_eq!(
            &pieces[..],
            &[Piece {
                offset: 0,
                len: 8,
                loc: Loc::Gp(0)
            }]
        );
        // > 16 bytes: MEMORY.
        let pl = p("void({i64, i64, i64})");
        assert_eq!(pl.args[0], ArgPlan::StackCopy { size: 24, word: 0 });
        // Not enough GP registers left for both eightbytes: the whole struct on the stack.
        let pl = p("void(i64, i64, i64, i64, i64, {i64, i64})");
        let ArgPlan::Pieces { pieces, .. } = &pl.args[5] else {
            panic!()
        };
        assert_eq!(pieces[0].loc, Loc::Stack(0));
        assert_eq!(pieces[1].loc, Loc::Stack(1));
    }

    #[test]
    fn returns_and_variadics() {
        let pl = p("{i64, f64}(i64)");
        assert_eq!(
            pl.ret,
            RetPlan::Pieces {
                size: 16,
                pieces: vec![
                    RetPiece {
                        reg: 0,
                        offset: 0,
                        len: 8
                    },
                    RetPiece {
                        reg: 2,
                        offset: 8,
                        len: 8
                    }
                ]
                .into()
            }
        );
        let pl = p("{i64, i64, i64}(i64)");
        assert_eq!(pl.ret, RetPlan::Indirect { size: 24 });
        assert!(matches!(
            pl.args[0],
            ArgPlan::Scalar {
                loc: Loc::Gp(1),
                ..
            }
        ));
        let pl = p("i32(ptr, ..., f32, f64, i32)");
        assert_eq!(pl.extra, 2);
        assert!(matches!(
            pl.args[1],
            ArgPlan::Scalar {
                promote_f32: true,
                ..
            }
        ));
    }
}
