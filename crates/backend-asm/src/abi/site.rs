//! Call-site placement: where each argument goes, worked out from the arguments' key.
//!
//! For scalar arguments, both ABIs place by class alone (System V AMD64 §3.2.3, AAPCS64
//! §6.8.2 stages C.1–C.13; libffi's `ffi64.c` `classify_argument` and `aarch64/ffi.c`
//! `allocate_int_to_reg_or_stack` follow the same rule): the integer-class arguments take
//! the integer registers in order, the floating-point ones the vector registers in order,
//! and arguments past a file's registers take the stack words in argument order. So once a
//! call's packed kinds ([`ArgChecks::args_key`]) equal the prepared function's key, the
//! registers follow from that key, with no table from the plan.
//!
//! This matters where the kinds are constants at the call site (`&[Arg::i64(a), ..,
//! Arg::f64(x)]`): the key is then a constant, [`SitePlacement::of`] and every index
//! below fold, each register operand becomes the argument's value itself, and — because
//! nothing on the path reads the argument array at an index only known at run time — the
//! compiler drops the array (its images and headers, two stores per argument) altogether.
//! Read from the plan instead, every offset is a run-time value and the array must be
//! built in memory before the call.
//!
//! Only arrangements the key describes with a few numbers take this path: each class's
//! arguments consecutive ("runs": `6 x i64` then `8 x f64`, all `f64`, `axpy(a, x, y, n)`,
//! `ldexp(x, e)`), the vector arguments within their registers and at most two integer
//! arguments on the stack. The call works the placement out from the *function's* key once
//! the two keys compared equal: where the arguments' key is a constant the comparison makes
//! the function's that constant too (so everything folds), and where it is not, the bit
//! operations run on a word of the plan and do not wait for the walk over the arguments'
//! headers. The entry (which `asm!` block) is the plan's, chosen at prepare, so a call
//! counts nothing.
//!
//! Measured (`cargo bench -p backend-asm --bench asm -- --bench`, paired rounds): `6 x i64 +
//! 8 x f64` with constant kinds 3.8x -> 1.8x the native call; with kinds the compiler cannot
//! see (`black_box`ed array) 11.2 -> 13.5 ns, the cost of those bit operations.

use ffi_trait::{ArgChecks, ArgKind};

use crate::abi::plan::{ArgPlan, Loc, Plan, RetPlan};
use crate::abi::{FP0, GP_ARGS, REGS, SMALL_REGS};

/// The vector argument registers (`xmm0-7`, `v0-v7`).
const FP_ARGS: usize = REGS - FP0;

/// One bit per key nibble, nibbles `0..KEYED_MAX` (the kinds; the count nibble excluded).
const NIBBLES: u64 = 0x0011_1111_1111_1111;
/// The top bit of each kind nibble.
const HIGH: u64 = NIBBLES << 3;
/// The low three bits of each kind nibble.
const LOW: u64 = NIBBLES * 7;

const _: () = assert!(NIBBLES.count_ones() as usize == ArgChecks::KEYED_MAX);

/// The top bit of every nibble of `t` (nibbles `0..KEYED_MAX`) that is zero, exactly: the
/// sum of a nibble's low three bits and 7 reaches its top bit unless all were clear, and no
/// sum carries into the next nibble.
#[inline(always)]
fn zero_nibbles(t: u64) -> u64 {
    !(((t & LOW) + LOW) | t) & HIGH
}

/// How a call whose arguments the key places enters the callee: chosen at prepare from the
/// plan ([`SitePlacement::entry`]), so that a call makes one jump on it and computes no
/// count. The `Clamped` forms bound every index by the argument count, for placements where
/// some register no argument takes would otherwise read past the array (`pow(x, y)` loads
/// four vector registers from two arguments); the others need no bound (prepare checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SiteEntry {
    /// Integer-class arguments only, argument `k` in register `k`, then in stack word
    /// `k - GP_ARGS` (at most two).
    Int,
    /// Both classes, at most [`SMALL_REGS`] arguments each: only those registers are loaded.
    Small,
    /// As `Small`, indices bounded.
    SmallClamped,
    /// Both classes in their registers.
    Regs,
    /// As `Regs`, indices bounded.
    RegsClamped,
    /// Both classes, one or two integer arguments on the stack (indices bounded).
    Stack2,
}

impl SiteEntry {
    /// The entry whose discriminant is `v` (`SiteEntry::X as u8`), for routines made per
    /// entry with a const parameter; `Stack2` for any other value.
    #[inline(always)]
    pub(crate) const fn of_u8(v: u8) -> SiteEntry {
        match v {
            0 => SiteEntry::Int,
            1 => SiteEntry::Small,
            2 => SiteEntry::SmallClamped,
            3 => SiteEntry::Regs,
            4 => SiteEntry::RegsClamped,
            _ => SiteEntry::Stack2,
        }
    }
}

/// Where a call's arguments go, from their key: the argument count and the first argument
/// of each class (each class's arguments are consecutive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SitePlacement {
    /// The argument count.
    n: usize,
    /// The first integer-class argument (0 when none).
    pub(crate) gp_base: usize,
    /// The first floating-point argument (0 when none).
    pub(crate) fp_base: usize,
    /// The top bits of the integer-class and of the floating-point arguments' nibbles (for
    /// prepare's counts; a call does not read them).
    gp: u64,
    fp: u64,
}

impl SitePlacement {
    /// The placement of arguments with key `key` ([`ArgChecks::args_key`]); `None` when
    /// the key does not stand for the arguments (over [`ArgChecks::KEYED_MAX`] of them, a
    /// struct), a class's arguments are not consecutive, or more than the vector registers'
    /// worth of floating-point or two stack words' worth of integer arguments remain. A
    /// few bit operations on the key, all of which fold where the key is a constant.
    #[inline(always)]
    pub(crate) fn of(key: u64) -> Option<SitePlacement> {
        let n = (key >> 60) as usize;
        if n > ArgChecks::KEYED_MAX {
            return None;
        }
        if Self::nibbles_of(key, n, ArgKind::Struct) != 0 {
            return None;
        }
        let (gp, fp) = Self::classes(key, n);
        Some(SitePlacement {
            n,
            gp_base: Self::run(gp, GP_ARGS + 2)?,
            fp_base: Self::run(fp, FP_ARGS)?,
            gp,
            fp,
        })
    }

    /// The placement of `n` arguments whose key `key` is known to have one (a prepared
    /// function's key, with a site entry): only the first argument of each class, without
    /// the checks of [`SitePlacement::of`] (fewer bit operations on a call's path).
    #[inline(always)]
    pub(crate) fn of_placed(key: u64, n: usize) -> SitePlacement {
        let (gp, fp) = Self::classes(key, n);
        let base = |mask: u64| {
            if mask == 0 {
                0
            } else {
                (mask.trailing_zeros() / 4) as usize
            }
        };
        SitePlacement {
            n,
            gp_base: base(gp),
            fp_base: base(fp),
            gp,
            fp,
        }
    }

    /// The top bit of the nibble of each of the first `n` arguments (`n` at most
    /// [`ArgChecks::KEYED_MAX`]) whose kind in `key` is `kind`.
    #[inline(always)]
    fn nibbles_of(key: u64, n: usize, kind: ArgKind) -> u64 {
        let valid = HIGH & ((1u64 << (4 * n)) - 1);
        zero_nibbles((key & (NIBBLES * 15)) ^ (NIBBLES * kind as u64)) & valid
    }

    /// The top bits of the nibbles of the integer-class and of the floating-point arguments
    /// among the first `n` of `key`.
    #[inline(always)]
    fn classes(key: u64, n: usize) -> (u64, u64) {
        let valid = HIGH & ((1u64 << (4 * n)) - 1);
        let fp = Self::nibbles_of(key, n, ArgKind::F32) | Self::nibbles_of(key, n, ArgKind::F64);
        (valid & !fp, fp)
    }

    /// The first argument of the run of nibbles whose top bits `mask` holds (0 for an empty
    /// mask); `None` when they are not consecutive or more than `limit` long.
    #[inline(always)]
    fn run(mask: u64, limit: usize) -> Option<usize> {
        if mask == 0 {
            return Some(0);
        }
        let base = mask.trailing_zeros() / 4;
        // The run moved to nibble 0 with every bit of its nibbles set (`0xf`, `0xff`, ...):
        // consecutive when adding one clears it all.
        let filled = (mask >> (4 * base) >> 3).wrapping_mul(15);
        (filled & filled.wrapping_add(1) == 0 && filled < 1u64 << (4 * limit))
            .then_some(base as usize)
    }

    /// The entry of `plan` (of a call that is `variadic` or not) when it puts every argument
    /// where this placement does, as a whole register image (no promotion), with nothing
    /// else in a register or on the stack (no hidden return pointer, no `%al`); then
    /// [`SitePlacement::call`] with that entry makes `plan`'s call. Checked once at prepare:
    /// the rule above says it holds for every non-variadic scalar plan without an indirect
    /// return, and the call relies on this check, not on the rule.
    pub(crate) fn entry(&self, plan: &Plan, variadic: bool) -> Option<SiteEntry> {
        let (gp_count, fp_count) = (self.gp.count_ones() as usize, self.fp.count_ones() as usize);
        let overflow = gp_count.saturating_sub(GP_ARGS);
        let placed = !variadic
            && plan.args.len() == self.n
            && matches!(
                plan.ret,
                RetPlan::Void | RetPlan::Int | RetPlan::Float | RetPlan::Pieces { .. }
            )
            && plan.extra == 0
            && plan.scratch_words == 0
            && plan.stack_words as usize == overflow
            && plan.args.iter().enumerate().all(|(i, ap)| {
                let want = if (self.fp_base..self.fp_base + fp_count).contains(&i) {
                    Loc::Fp((i - self.fp_base) as u8)
                } else {
                    match i.checked_sub(self.gp_base) {
                        Some(k) if k < GP_ARGS => Loc::Gp(k as u8),
                        Some(k) => Loc::Stack((k - GP_ARGS) as u16),
                        None => return false,
                    }
                };
                matches!(ap, ArgPlan::Scalar { loc, promote_f32: false, .. } if *loc == want)
            });
        // Unbounded loads stay inside the array when each class's last loaded register does.
        let inside = |gp_regs: usize, fp_regs: usize| {
            self.gp_base + gp_regs <= self.n && self.fp_base + fp_regs <= self.n
        };
        placed.then_some(if fp_count == 0 {
            SiteEntry::Int
        } else if overflow > 0 {
            SiteEntry::Stack2
        } else if gp_count <= SMALL_REGS && fp_count <= SMALL_REGS {
            if inside(SMALL_REGS, SMALL_REGS) {
                SiteEntry::Small
            } else {
                SiteEntry::SmallClamped
            }
        } else if inside(GP_ARGS, FP_ARGS) {
            SiteEntry::Regs
        } else {
            SiteEntry::RegsClamped
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffi_trait::{Arg, Signature};

    fn key(sig: &str) -> u64 {
        let sig: Signature = sig.parse().unwrap();
        ArgChecks::of_signature(&sig).key()
    }

    /// (first integer argument, integer count, first float, float count).
    fn place(sig: &str) -> Option<(usize, usize, usize, usize)> {
        SitePlacement::of(key(sig)).map(|p| {
            let count = |m: u64| m.count_ones() as usize;
            (p.gp_base, count(p.gp), p.fp_base, count(p.fp))
        })
    }

    #[test]
    fn runs_of_each_class_are_found_from_the_key() {
        let six_eight = "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)";
        assert_eq!(place(six_eight), Some((0, 6, 6, 8)));
        assert_eq!(place("f64(f64, ptr, ptr, usize)"), Some((1, 3, 0, 1)));
        assert_eq!(place("f64(f64, i32)"), Some((1, 1, 0, 1)));
        assert_eq!(place("f32(f32, f32, f32)"), Some((0, 0, 0, 3)));
        assert_eq!(place("void()"), Some((0, 0, 0, 0)));
        assert_eq!(place("bool(bool, u8, i16, u32, isize)"), Some((0, 5, 0, 0)));
        assert_eq!(
            place("i64(i64, i64, i64, i64, i64, i64, i64, i64)"),
            Some((0, 8, 0, 0))
        );
        // The same key the arguments produce.
        let args = [
            Arg::f64(1.0),
            Arg::ptr(std::ptr::null::<u8>()),
            Arg::usize(3),
        ];
        assert_eq!(ArgChecks::args_key(&args), key("f64(f64, ptr, usize)"));
    }

    #[test]
    fn other_arrangements_are_left_to_the_plan() {
        // Interleaved classes, structs, too many floats or stack words, too many arguments.
        assert_eq!(place("f64(i32, f64, i32)"), None);
        assert_eq!(place("f64(f64, i32, f64)"), None);
        assert_eq!(place("i64({i64, i64}, i64)"), None);
        assert_eq!(
            place("f64(f64, f64, f64, f64, f64, f64, f64, f64, f64)"),
            None
        );
        let ints = |n: usize| format!("i64({})", vec!["i64"; n].join(", "));
        assert!(place(&ints(GP_ARGS + 2)).is_some());
        assert_eq!(place(&ints(GP_ARGS + 3)), None);
        assert_eq!(place(&ints(15)), None);
        // A raw pointer and a buffer share a tag, so both fit a `ptr` parameter.
        let buf = ffi_trait::ArgKind::Ptr as u64 | 1 << 60;
        assert_eq!(SitePlacement::of(buf).map(|p| p.gp.count_ones()), Some(1));
    }

    #[test]
    fn entries_round_trip_through_their_discriminants() {
        for e in [
            SiteEntry::Int,
            SiteEntry::Small,
            SiteEntry::SmallClamped,
            SiteEntry::Regs,
            SiteEntry::RegsClamped,
            SiteEntry::Stack2,
        ] {
            assert_eq!(SiteEntry::of_u8(e as u8), e);
        }
    }

    #[test]
    fn placements_from_the_key_match_the_plans() {
        // Every runs arrangement of up to 10 arguments of a few kinds: where the key gives a
        // placement, the non-variadic plan without a hidden return pointer puts every
        // argument there (the rule the call relies on, checked at prepare).
        let kinds = ["i32", "f64", "ptr", "f32", "u8"];
        let mut checked = 0;
        for n in 0..=10usize {
            for split in 0..=n {
                for (ki, kf) in [(0, 1), (2, 3), (4, 1)] {
                    for ints_first in [true, false] {
                        let (int, float) = (kinds[ki], kinds[kf]);
                        let mut args = vec![int; split];
                        let floats = vec![float; n - split];
                        if ints_first {
                            args.extend(floats);
                        } else {
                            args.splice(0..0, floats);
                        }
                        for ret in ["i64", "f32", "void", "{i64, i64}", "{f64, i32}"] {
                            let text = format!("{ret}({})", args.join(", "));
                            let sig: Signature = text.parse().unwrap();
                            let Some(p) = SitePlacement::of(key(&text)) else {
                                continue;
                            };
                            let plan = crate::target_plan(&sig).unwrap();
                            assert!(p.entry(&plan, false).is_some(), "{text}: {p:?} {plan:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
        // An indirect return takes a register (x86-64) or `x8`, and a variadic call has
        // its `%al` and its promotions: both are the plan path's.
        for (text, variadic) in [
            ("{i64, i64, i64}(i64, i64)", false),
            ("i32(ptr, ..., f64)", true),
        ] {
            let plan = crate::target_plan(&text.parse().unwrap()).unwrap();
            let place = SitePlacement::of(key(text)).unwrap();
            assert_eq!(place.entry(&plan, variadic), None, "{text}");
        }
    }
}
