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
//! Only arrangements the key describes with four numbers take this path: each class's
//! arguments consecutive ("runs": `6 x i64` then `8 x f64`, all `f64`, `axpy(a, x, y, n)`,
//! `ldexp(x, e)`), the vector arguments within their registers and at most two integer
//! arguments on the stack. Where the kinds are only known at run time the same numbers cost
//! a few bit operations on the key, in place of loading register offsets from the plan.

use std::ffi::c_void;

use ffi_trait::{Arg, ArgChecks};

use crate::fast::{self, FP0, GP_ARGS, REGS, SMALL_REGS};
use crate::plan::{ArgPlan, Loc, Plan};

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

/// Where a call's arguments go, from their key: the first argument and the number of
/// arguments of each class (each class's arguments are consecutive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SitePlacement {
    /// The argument count.
    n: usize,
    /// The first integer-class argument and the number of them (0 when none).
    gp_base: usize,
    gp_count: usize,
    /// The first floating-point argument and the number of them.
    fp_base: usize,
    fp_count: usize,
}

impl SitePlacement {
    /// The placement of arguments with key `key` ([`ArgChecks::args_key`]); `None` when
    /// the key does not stand for the arguments (over [`ArgChecks::KEYED_MAX`] of them, a
    /// struct), a class's arguments are not consecutive, or more than the vector registers'
    /// worth of floating-point or two stack words' worth of integer arguments remain.
    #[inline(always)]
    pub(crate) fn of(key: u64) -> Option<SitePlacement> {
        let n = (key >> 60) as usize;
        if n > ArgChecks::KEYED_MAX {
            return None;
        }
        // The top bit of each argument's nibble.
        let valid = HIGH & ((1u64 << (4 * n)) - 1);
        let kinds = key & (NIBBLES * 15);
        let tag = |kind: ffi_trait::ArgKind| NIBBLES * kind as u64;
        if zero_nibbles(kinds ^ tag(ffi_trait::ArgKind::Struct)) & valid != 0 {
            return None;
        }
        let fp = (zero_nibbles(kinds ^ tag(ffi_trait::ArgKind::F32))
            | zero_nibbles(kinds ^ tag(ffi_trait::ArgKind::F64)))
            & valid;
        let gp = valid & !fp;
        let (gp_base, gp_count) = Self::run(gp)?;
        let (fp_base, fp_count) = Self::run(fp)?;
        (fp_count <= FP_ARGS && gp_count <= GP_ARGS + 2).then_some(SitePlacement {
            n,
            gp_base,
            gp_count,
            fp_base,
            fp_count,
        })
    }

    /// The first argument and the length of the run of nibbles whose top bits `mask` holds;
    /// `None` when they are not consecutive. An empty mask is the empty run at 0.
    #[inline(always)]
    fn run(mask: u64) -> Option<(usize, usize)> {
        if mask == 0 {
            return Some((0, 0));
        }
        let base = mask.trailing_zeros() / 4;
        let count = mask.count_ones();
        // Consecutive: the mask is `count` top bits from `base` on.
        let full = HIGH & ((1u64 << (4 * count)) - 1);
        (mask == full << (4 * base)).then_some((base as usize, count as usize))
    }

    /// True when `plan` (of a call that is `variadic` or not) puts every argument where
    /// this placement does, as a whole register image (no promotion), with nothing else in
    /// a register or on the stack (no hidden return pointer, no `%al`): then
    /// [`SitePlacement::call`] makes `plan`'s call. Checked once at prepare: the rule above
    /// says it holds for every non-variadic scalar plan without an indirect return, and the
    /// call relies on this check, not on the rule.
    pub(crate) fn matches(&self, plan: &Plan, variadic: bool) -> bool {
        let overflow = self.gp_count.saturating_sub(GP_ARGS);
        !variadic
            && plan.args.len() == self.n
            && matches!(
                plan.ret,
                crate::plan::RetPlan::Void
                    | crate::plan::RetPlan::Int
                    | crate::plan::RetPlan::Float
                    | crate::plan::RetPlan::Pieces { .. }
            )
            && plan.extra == 0
            && plan.scratch_words == 0
            && plan.stack_words as usize == overflow
            && plan.args.iter().enumerate().all(|(i, ap)| {
                let want = if (self.fp_base..self.fp_base + self.fp_count).contains(&i) {
                    Loc::Fp((i - self.fp_base) as u8)
                } else {
                    match i.checked_sub(self.gp_base) {
                        Some(k) if k < GP_ARGS => Loc::Gp(k as u8),
                        Some(k) => Loc::Stack((k - GP_ARGS) as u16),
                        None => return false,
                    }
                };
                matches!(ap, ArgPlan::Scalar { loc, promote_f32: false, .. } if *loc == want)
            })
    }

    /// Calls `code` with `args` placed as this placement says, `extra` in `%rax` / `x8`
    /// (0 for the plans [`SitePlacement::matches`] accepts), and returns the return
    /// registers in the order of `Frame::ret`. Registers past a class's arguments carry
    /// some argument's image (or zero), which the callee ignores.
    ///
    /// # Safety
    /// `args` has this placement's key, which equals the key of a function whose plan this
    /// placement [`matches`](SitePlacement::matches), and `code` is that function; the
    /// callers of `prepare` and `call` asserted the signature and the arguments.
    #[inline(always)]
    pub(crate) unsafe fn call(self, code: *const c_void, args: &[Arg<'_>], extra: u64) -> [u64; 6] {
        let n = self.n;
        // SAFETY: (all loads) `args` holds `n` arguments (its key's count); indices are
        // clamped below `n`, and `n > 0` wherever `image` is called (a class has an argument).
        let image = |i: usize| unsafe { args.get_unchecked(i.min(n - 1)).bits() };
        let gp = |r: usize| image(self.gp_base + r);
        let fp = |k: usize| image(self.fp_base + k);
        // SAFETY: (all arms) the registers and stack words are the plan's (forwarded
        // contract: `matches` compared every argument's place).
        unsafe {
            if self.fp_count == 0 {
                // Integer arguments only: argument `k` in register `k`, then in stack word
                // `k - GP_ARGS` (`gp_base` is 0).
                return fast::call_int_words(code, n, gp);
            }
            if self.gp_count <= GP_ARGS {
                if self.gp_count <= SMALL_REGS && self.fp_count <= SMALL_REGS {
                    // (`r` is a constant in every operand: the unused registers cost no load.)
                    let small = |r: usize| match r {
                        r if r < SMALL_REGS => gp(r),
                        r if (FP0..FP0 + SMALL_REGS).contains(&r) => fp(r - FP0),
                        _ => 0,
                    };
                    return fast::enter_regs(code, small, extra);
                }
                let reg = |r: usize| if r < FP0 { gp(r) } else { fp(r - FP0) };
                return fast::enter_regs(code, reg, extra);
            }
            // One or two integer arguments on the stack (a missing second word is padding).
            let reg = |r: usize| if r < FP0 { gp(r) } else { fp(r - FP0) };
            let second = if self.gp_count > GP_ARGS + 1 {
                gp(GP_ARGS + 1)
            } else {
                0
            };
            fast::enter_stack2(code, reg, [gp(GP_ARGS), second], extra)
        }
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

    fn place(sig: &str) -> Option<(usize, usize, usize, usize)> {
        SitePlacement::of(key(sig)).map(|p| (p.gp_base, p.gp_count, p.fp_base, p.fp_count))
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
        assert_eq!(SitePlacement::of(buf).map(|p| p.gp_count), Some(1));
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
                            assert!(p.matches(&plan, false), "{text}: {p:?} {plan:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
        // An indirect return takes a register (x86-64) or `x8`: the plan path's.
        let sret = "{i64, i64, i64}(i64, i64)";
        let plan = crate::target_plan(&sret.parse().unwrap()).unwrap();
        assert!(
            !SitePlacement::of(key(sret)).unwrap().matches(&plan, false),
            "{sret}"
        );
        // A variadic call (its `%al`, its promotions) is the plan path's.
        let va = "i32(ptr, ..., f64)";
        let plan = crate::target_plan(&va.parse().unwrap()).unwrap();
        assert!(
            !SitePlacement::of(key(va)).unwrap().matches(&plan, true),
            "{va}"
        );
    }
}
