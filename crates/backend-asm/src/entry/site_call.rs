//! The call of a function whose arguments the key places ([`SitePlacement`]): the
//! registers worked out from the key, then the `asm!` entry the plan chose.

use std::ffi::c_void;

use crate::abi::site::{SiteEntry, SitePlacement};
use crate::abi::{FP0, GP_ARGS, SMALL_REGS};
use crate::arch::{enter_regs, enter_stack2};
use crate::entry::call_int_words;

/// The call of a function whose arguments the key places (the plan's [`SiteEntry`]).
impl SitePlacement {
    /// Calls `code` through `entry` with `n` arguments, argument `i`'s image `image(i)`,
    /// placed as their key `key` says, `extra` in `%rax` / `x8` (0 for the plans
    /// [`SitePlacement::entry`] accepts), and returns the return registers in the order of
    /// `Frame::ret`. Registers past a class's arguments carry some argument's image (or
    /// zero), which the callee ignores. Only the entries with both classes work out the
    /// placement ([`SitePlacement::of_placed`]).
    ///
    /// # Safety
    /// `key` is the key of the `n` arguments and of a function whose plan gave `entry`
    /// ([`SitePlacement::entry`]) — or, for [`SiteEntry::Int`], which does not read `key`,
    /// the function's plan puts argument `k` in integer register `k`, then in stack word
    /// `k - GP_ARGS`, with nothing else — `code` is that function, and `image(i)` is sound to
    /// call for every `i < n` (it is called for no other); the callers of `prepare` and
    /// `call` asserted the signature and the arguments.
    #[inline(always)]
    pub(crate) unsafe fn call(
        key: u64,
        entry: SiteEntry,
        code: *const c_void,
        n: usize,
        image: impl Fn(usize) -> u64 + Copy,
        extra: u64,
    ) -> [u64; 6] {
        // The unbounded entries' indices stay below `n` (`entry` checked each class's last
        // register); the clamped ones are bounded, and `n > 0` there (a floating-point
        // argument); `Int` reads below `n`.
        let at = image;
        let place = || SitePlacement::of_placed(key, n);
        let index = |p: &SitePlacement, r: usize| {
            if r < FP0 {
                p.gp_base + r
            } else {
                p.fp_base + r - FP0
            }
        };
        let small = |r: usize, load: &dyn Fn(usize) -> u64| {
            if r % FP0 < SMALL_REGS { load(r) } else { 0 }
        };
        // SAFETY: (all arms) the registers and stack words are the plan's (forwarded
        // contract: `entry` compared every argument's place).
        unsafe {
            match entry {
                // Argument `k` in register `k`, then in stack word `k - GP_ARGS`.
                SiteEntry::Int => call_int_words(code, n, at),
                // (`r` is a constant in every operand: the unused registers cost no load.)
                SiteEntry::Small => {
                    let p = place();
                    enter_regs(code, |r| small(r, &|r| at(index(&p, r))), extra)
                }
                SiteEntry::SmallClamped => {
                    let p = place();
                    let bounded = |r: usize| at(index(&p, r).min(n - 1));
                    enter_regs(code, |r| small(r, &bounded), extra)
                }
                SiteEntry::Regs => {
                    let p = place();
                    enter_regs(code, |r| at(index(&p, r)), extra)
                }
                SiteEntry::RegsClamped => {
                    let p = place();
                    enter_regs(code, |r| at(index(&p, r).min(n - 1)), extra)
                }
                SiteEntry::Stack2 => {
                    let p = place();
                    let bounded = |r: usize| at(index(&p, r).min(n - 1));
                    let word = |w: usize| at((p.gp_base + GP_ARGS + w).min(n - 1));
                    enter_stack2(code, bounded, [word(0), word(1)], extra)
                }
            }
        }
    }
}
