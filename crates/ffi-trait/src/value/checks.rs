//! The parameter checks of the dynamic call path: one [`ArgCheck`] per parameter, and a
//! parameter list's [`ArgChecks`] with its packed key.

use super::*;

/// A parameter type's check of an [`Arg`], computed once at prepare: whether an argument
/// may be passed for the parameter is one exact comparison of the low 32 bits of the
/// argument's header word (see [`Arg`]'s layout): a `ptr` takes a raw pointer or a buffer
/// (both carry the `Ptr` tag; the buffer's owner sits in the unchecked high word), a struct
/// must have exactly the struct's size, every other type its own kind.
///
/// Backends hold a parameter list's checks as [`ArgChecks`], which tests all arguments with
/// one comparison of their packed count and kinds where it can, and otherwise folds the checks into
/// one word ([`ArgCheck::mismatch`] is 0 for a match, [`ArgCheck::first_mismatch`]), without
/// a branch per argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgCheck {
    want: u32,
}

impl ArgCheck {
    /// The check for parameter type `ty`; `None` for `void` (never a parameter).
    ///
    /// A struct of 16 MiB − 1 bytes or more (past the header's checked length) gets a check
    /// no argument passes: its low byte, `0xff`, is no [`ArgKind`].
    pub fn of(ty: &Type) -> Option<ArgCheck> {
        let want = match ty {
            Type::Void => return None,
            Type::Struct(s) => return Some(ArgCheck::of_struct(s.size())),
            scalar => ArgKind::of(scalar)? as u32,
        };
        Some(ArgCheck { want })
    }

    /// The check for a struct of `size` bytes.
    pub(super) fn of_struct(size: usize) -> ArgCheck {
        let want = u32::try_from(size)
            .ok()
            .filter(|&n| n < CHECKED_LEN_MAX)
            .map_or(u32::MAX, |n| ArgKind::Struct as u32 | n << 8);
        ArgCheck { want }
    }

    /// The low 32 bits of the header of every argument this check passes (see [`Arg`]'s
    /// header table): the value a backend that compiles the check into machine code compares
    /// an argument's header word with (`Arg` is 16 bytes, `repr(C)`, the header at offset 8).
    #[inline(always)]
    pub fn header(self) -> u32 {
        self.want
    }

    /// 0 when `arg` may be passed for this parameter; nonzero otherwise.
    #[inline(always)]
    pub fn mismatch(self, arg: &Arg<'_>) -> u32 {
        arg.head as u32 ^ self.want
    }

    /// The index of the first of `args` that its check in `checks` rejects, if any: the
    /// checks of all arguments are folded into one word without a branch per argument, and
    /// the arguments are walked again only on failure, to name the argument.
    ///
    /// Pairs beyond the shorter slice are not looked at (callers compare the counts first).
    #[inline(always)]
    pub fn first_mismatch(checks: &[ArgCheck], args: &[Arg<'_>]) -> Option<usize> {
        let mut bad = 0u32;
        for (a, c) in args.iter().zip(checks) {
            bad |= c.mismatch(a);
        }
        if bad == 0 {
            return None;
        }
        args.iter()
            .zip(checks)
            .position(|(a, c)| c.mismatch(a) != 0)
    }
}

/// The checks of a prepared parameter list: one [`ArgCheck`] per parameter, plus the
/// argument count and the parameters' kinds packed into one word, so that a call whose
/// argument count and kinds are constants at the call site (as with `[Arg::i64(x), ..]`)
/// tests all of them with one comparison of the packed word with an immediate.
///
/// The packed word ("key") holds parameter `i`'s kind in bits `4i..4i + 4` and the count in
/// bits 60..64. It stands for the exact checks only where it can: at most
/// [`ArgChecks::KEYED_MAX`] parameters, none a struct (whose check also compares the
/// length). The header's low byte of every argument that is not a struct is its whole
/// checked part (bits 8..32 are 0) and is below 15 (`Ptr`, 14, is the largest tag), and the
/// arguments' count nibble is their count capped at 15, which no keyed list has; so for
/// those parameter lists the arguments' key equals the parameters' exactly when the counts
/// agree and every check passes. Other lists get a key no arguments produce (its low nibble
/// is 15, which is no tag), and every call compares the count and then each header
/// ([`ArgCheck::first_mismatch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgChecks {
    key: u64,
    checks: Box<[ArgCheck]>,
}

/// Why arguments do not fit a parameter list ([`ArgChecks::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgsMismatch {
    /// Not one argument per parameter.
    Count,
    /// The first argument that its parameter's check rejects.
    Arg(usize),
}

impl ArgChecks {
    /// The most parameters whose kinds the key packs (nibbles 0..14; the top nibble holds
    /// the count).
    pub const KEYED_MAX: usize = 14;
    /// The key of parameter lists the key cannot stand for: its low nibble, 15, is no tag.
    const UNKEYED: u64 = u64::MAX;
    /// Where the count sits in the key.
    const COUNT_SHIFT: u32 = 60;

    /// The checks of parameters `params`; `None` when one is `void` (never a parameter).
    pub fn of(params: &[Type]) -> Option<ArgChecks> {
        let checks = params.iter().map(ArgCheck::of).collect::<Option<_>>()?;
        Some(Self::keyed(checks, params))
    }

    /// The checks of `sig`'s arguments. A [`Signature`] has no `void` argument
    /// (`Signature::new` rejects one), so every argument has a check.
    pub fn of_signature(sig: &Signature) -> ArgChecks {
        let checks = sig.args().iter().filter_map(ArgCheck::of).collect();
        Self::keyed(checks, sig.args())
    }

    /// `checks` (one per parameter of `params`) with their key.
    fn keyed(checks: Box<[ArgCheck]>, params: &[Type]) -> ArgChecks {
        let keyed =
            checks.len() <= Self::KEYED_MAX && params.iter().all(|t| !matches!(t, Type::Struct(_)));
        let key = if keyed {
            let kinds = checks
                .iter()
                .enumerate()
                .fold(0, |key, (i, c)| key | (c.want as u64) << (4 * i));
            kinds | (checks.len() as u64) << Self::COUNT_SHIFT
        } else {
            Self::UNKEYED
        };
        ArgChecks { key, checks }
    }

    /// The parameters' key: their kinds and count packed as [`ArgChecks::args_key`] packs
    /// the arguments' (equal exactly when those arguments pass every check), or a value no
    /// arguments produce for lists the key cannot stand for (a struct, more than
    /// [`ArgChecks::KEYED_MAX`] parameters).
    #[inline(always)]
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The number of parameters.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// True for a function without parameters.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// The per-parameter checks.
    pub fn checks(&self) -> &[ArgCheck] {
        &self.checks
    }

    /// True when `args` pass by the key alone: their count and kinds equal the parameters'
    /// and the key stands for the list's checks. Then [`ArgChecks::check`] is `Ok`; when
    /// false, `check` gives the answer (for a list the key does not stand for, a struct or
    /// more than [`ArgChecks::KEYED_MAX`] parameters, this is always false). A caller that
    /// expects a match tests this first and calls `check` on the unlikely path.
    #[inline(always)]
    pub fn key_matches(&self, args: &[Arg<'_>]) -> bool {
        Self::args_key(args) == self.key
    }

    /// Whether `args` fit the parameters: one argument per parameter, each passing its
    /// parameter's check (the answer of comparing the counts, then
    /// [`ArgCheck::first_mismatch`] over [`ArgChecks::checks`]), found with one comparison
    /// of the packed key where it applies.
    ///
    /// # Errors
    /// [`ArgsMismatch::Count`] when the counts differ, else [`ArgsMismatch::Arg`] with the
    /// first argument its check rejects.
    #[inline(always)]
    pub fn check(&self, args: &[Arg<'_>]) -> Result<(), ArgsMismatch> {
        if self.key_matches(args) {
            return Ok(());
        }
        if args.len() != self.checks.len() {
            return Err(ArgsMismatch::Count);
        }
        match ArgCheck::first_mismatch(&self.checks, args) {
            Some(i) => Err(ArgsMismatch::Arg(i)),
            None => Ok(()),
        }
    }

    /// Why arguments whose key is `key` do not fit these parameters, from the key alone:
    /// for a backend that decided the call from the key and must not read the arguments
    /// again (so that, with the kinds constants at the call site, the argument array can
    /// vanish into registers).
    ///
    /// `key` must be [`ArgChecks::args_key`] of arguments whose key stands for them: at
    /// most [`ArgChecks::KEYED_MAX`], none a struct (nibble [`ArgKind::Struct`]); then a key
    /// that differs from [`ArgChecks::key`] always has an answer. A raw pointer and a buffer
    /// share the `Ptr` tag, so the answer cannot tell them apart (neither can a `ptr`
    /// parameter).
    ///
    /// # Errors
    /// [`ArgsMismatch::Count`] when the counts differ, else [`ArgsMismatch::Arg`] with the
    /// first argument whose kind its parameter rejects.
    pub fn mismatch_of_key(&self, key: u64) -> Result<(), ArgsMismatch> {
        let n = (key >> Self::COUNT_SHIFT) as usize;
        if n != self.checks.len() {
            return Err(ArgsMismatch::Count);
        }
        match (0..n).find(|&i| self.checks[i].want != ((key >> (4 * i)) & 0xf) as u32) {
            Some(i) => Err(ArgsMismatch::Arg(i)),
            None => Ok(()),
        }
    }

    /// The arguments' key: the low nibble of each of the first [`ArgChecks::KEYED_MAX`]
    /// headers at 4 bits per argument (argument `i` in bits `4i..4i + 4`), and the count
    /// capped at 15 in the top nibble. A constant when the count and kinds are constants at
    /// the call site (as with `[Arg::i64(x), ..]`), so that everything computed from it folds
    /// there.
    #[inline(always)]
    pub fn args_key(args: &[Arg<'_>]) -> u64 {
        let kinds = args
            .iter()
            .take(Self::KEYED_MAX)
            .enumerate()
            .fold(0, |key, (i, a)| key | (a.head & 0xf) << (4 * i));
        kinds | (args.len().min(15) as u64) << Self::COUNT_SHIFT
    }
}
