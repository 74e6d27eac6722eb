//! Argument and return values of the dynamic call path.

use std::ffi::c_void;
use std::marker::PhantomData;

use crate::buffer::BufferArg;
#[cfg(doc)]
use crate::buffer::OwnerId;
use crate::signature::Signature;
use crate::types::Type;

/// The kind of an [`Arg`]: one per scalar [`Type`], plus `Buffer` (a pointer into a stable
/// buffer, accepted where `ptr` is expected) and `Struct` (a struct by value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ArgKind {
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `u8`.
    U8,
    /// `i16`.
    I16,
    /// `u16`.
    U16,
    /// `i32`.
    I32,
    /// `u32`.
    U32,
    /// `i64`.
    I64,
    /// `u64`.
    U64,
    /// `isize`.
    Isize,
    /// `usize`.
    Usize,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// A struct by value.
    Struct,
    /// A raw host pointer.
    Ptr,
    /// A pointer into a stable buffer (accepted wherever a `ptr` is; see [`Arg`]'s layout).
    Buffer,
}

impl ArgKind {
    /// The kind that carries a value of scalar type `ty` (`Ptr` for `Type::Ptr`), or `None`
    /// for `void` and structs.
    pub fn of(ty: &Type) -> Option<ArgKind> {
        Some(match ty {
            Type::Bool => ArgKind::Bool,
            Type::I8 => ArgKind::I8,
            Type::U8 => ArgKind::U8,
            Type::I16 => ArgKind::I16,
            Type::U16 => ArgKind::U16,
            Type::I32 => ArgKind::I32,
            Type::U32 => ArgKind::U32,
            Type::I64 => ArgKind::I64,
            Type::U64 => ArgKind::U64,
            Type::Isize => ArgKind::Isize,
            Type::Usize => ArgKind::Usize,
            Type::F32 => ArgKind::F32,
            Type::F64 => ArgKind::F64,
            Type::Ptr => ArgKind::Ptr,
            Type::Void | Type::Struct(_) => return None,
        })
    }

    /// The kind whose discriminant is `tag` (the low byte of an [`Arg`]'s header, or a
    /// nibble of an [`ArgChecks`] key); `None` past the last kind.
    #[inline]
    pub fn from_tag(tag: u8) -> Option<ArgKind> {
        (tag <= ArgKind::Buffer as u8).then(|| {
            // SAFETY: `ArgKind` is `repr(u8)` with the discriminants 0..=Buffer, in order.
            unsafe { std::mem::transmute::<u8, ArgKind>(tag) }
        })
    }

    /// The kind's name for messages (`"i32"`, `"buffer"`, `"struct"`).
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Bool => "bool",
            ArgKind::I8 => "i8",
            ArgKind::U8 => "u8",
            ArgKind::I16 => "i16",
            ArgKind::U16 => "u16",
            ArgKind::I32 => "i32",
            ArgKind::U32 => "u32",
            ArgKind::I64 => "i64",
            ArgKind::U64 => "u64",
            ArgKind::Isize => "isize",
            ArgKind::Usize => "usize",
            ArgKind::F32 => "f32",
            ArgKind::F64 => "f64",
            ArgKind::Ptr => "ptr",
            ArgKind::Buffer => "buffer",
            ArgKind::Struct => "struct",
        }
    }
}

/// One argument of a dynamic call: its kind and its value as a 64-bit register image.
///
/// Build one with the constructors (`Arg::i32(-1)`, `Arg::f64(0.5)`, `Arg::ptr(p)`,
/// `Arg::buffer(b)`, `Arg::bytes(&s)`) or with `From` (`Arg::from(7u32)`, `x.into()`).
///
/// The value is kept already widened — integers sign- or zero-extended to 64 bits per their
/// type, `bool` as 0/1, floats as their IEEE bits (`f32` in the low 32 bits), pointers as
/// addresses — so a backend moves it into a register slot without looking at its type again:
/// the per-argument work of a dynamic call is one 8-byte copy, and its check is part of one
/// comparison of the arguments' count and kinds ([`ArgChecks`]; one 32-bit comparison per argument
/// with a struct, [`ArgCheck`]). A buffer argument also carries the identity of the context that owns it (a
/// backend whose pointers are guest offsets derives the offset from the host address); a
/// struct its borrowed bytes (exactly the struct's size, in the host's C layout).
///
/// The struct is 16 bytes (`repr(C)`: the register image at offset 0, one header word at
/// offset 8), so building an argument is two 8-byte stores, and an argument array is read
/// at a 16-byte stride. The header word is laid out so that every parameter check is an
/// exact comparison of its low 32 bits:
///
/// | bits | scalar | raw pointer | buffer | struct |
/// |---|---|---|---|---|
/// | 0..8 | its [`ArgKind`] | `Ptr` | `Ptr` | `Struct` |
/// | 8..32 | 0 | 0 | 0 | length, clamped to 2²⁴ − 1 |
/// | 32..64 | 0 | `u32::MAX` | the owner (never `u32::MAX`) | length, clamped to 2³² − 1 |
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Arg<'a> {
    bits: u64,
    /// The header word (see the table above).
    head: u64,
    _borrow: PhantomData<&'a [u8]>,
}

/// The header's high word for a raw pointer: a value [`OwnerId::fresh`] never returns and
/// [`OwnerId::HOST`] is not, so that it tells a raw pointer from a buffer.
const RAW_POINTER: u32 = u32::MAX;

/// The largest struct length the header's checked bits (8..32) record; a struct this long
/// or longer matches no parameter (see [`ArgCheck::of`]).
const CHECKED_LEN_MAX: u32 = (1 << 24) - 1;

macro_rules! int_ctor {
    ($($name:ident: $t:ty => $kind:ident),* $(,)?) => {$(
        #[doc = concat!("An `", stringify!($name), "` argument.")]
        #[inline(always)]
        pub fn $name(v: $t) -> Arg<'static> {
            // `as i64 as u64` sign-extends signed types and zero-extends unsigned ones.
            Arg::scalar(ArgKind::$kind, v as i64 as u64)
        }
    )*};
}

impl<'a> Arg<'a> {
    #[inline(always)]
    const fn scalar(kind: ArgKind, bits: u64) -> Arg<'static> {
        Arg::with_head(bits, kind as u64)
    }

    #[inline(always)]
    const fn with_head<'b>(bits: u64, head: u64) -> Arg<'b> {
        Arg {
            bits,
            head,
            _borrow: PhantomData,
        }
    }

    /// The header's high word: the buffer's owner or the struct's length; 0 for scalars,
    /// [`RAW_POINTER`] for raw pointers.
    #[inline(always)]
    fn aux(&self) -> u32 {
        (self.head >> 32) as u32
    }

    int_ctor!(
        i8: i8 => I8, u8: u8 => U8, i16: i16 => I16, u16: u16 => U16, i32: i32 => I32,
        u32: u32 => U32, i64: i64 => I64, u64: u64 => U64, isize: isize => Isize,
        usize: usize => Usize,
    );

    /// A `bool` argument.
    #[inline(always)]
    pub fn bool(v: bool) -> Arg<'static> {
        Arg::scalar(ArgKind::Bool, v as u64)
    }

    /// An `f32` argument (its bits in the low 32 bits of the image).
    #[inline(always)]
    pub fn f32(v: f32) -> Arg<'static> {
        Arg::scalar(ArgKind::F32, v.to_bits() as u64)
    }

    /// An `f64` argument.
    #[inline(always)]
    pub fn f64(v: f64) -> Arg<'static> {
        Arg::scalar(ArgKind::F64, v.to_bits())
    }

    /// A raw host pointer, passed as is (native and asm backends; the wasm backend accepts
    /// only pointers into its own buffers).
    #[inline(always)]
    pub fn ptr<T>(p: *const T) -> Arg<'static> {
        Arg::with_head(
            p as usize as u64,
            ArgKind::Ptr as u64 | (RAW_POINTER as u64) << 32,
        )
    }

    /// A pointer into a stable buffer, turned into the backend's own pointer kind. It is
    /// accepted wherever a `ptr` is.
    #[inline(always)]
    pub fn buffer(b: impl Into<BufferArg>) -> Arg<'static> {
        let b = b.into();
        // The owner is never `RAW_POINTER`: that tells a buffer from a raw pointer.
        Arg::with_head(
            b.host_ptr() as usize as u64,
            ArgKind::Ptr as u64 | (b.owner().get() as u64) << 32,
        )
    }

    /// A struct by value: its bytes in the host's C layout, exactly the struct's size.
    ///
    /// The length is kept as a `u32`: a slice over 4 GiB is recorded as its first
    /// `u32::MAX` bytes. No struct type of 16 MiB − 1 bytes or more matches a parameter
    /// (see [`ArgCheck::of`]), so a call with such a slice fails with a type error.
    #[inline(always)]
    pub fn bytes(bytes: &'a [u8]) -> Arg<'a> {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let head =
            ArgKind::Struct as u64 | (len.min(CHECKED_LEN_MAX) as u64) << 8 | (len as u64) << 32;
        Arg::with_head(bytes.as_ptr() as usize as u64, head)
    }

    /// The argument's kind.
    #[inline(always)]
    pub fn kind(&self) -> ArgKind {
        if self.head as u8 == ArgKind::Ptr as u8 && self.aux() != RAW_POINTER {
            return ArgKind::Buffer;
        }
        // SAFETY: every constructor stores a valid `ArgKind` discriminant (`repr(u8)`) in
        // the header's low byte, and the fields are private.
        unsafe { std::mem::transmute::<u8, ArgKind>(self.head as u8) }
    }

    /// The 64-bit register image: extended integers, float bits, host addresses (for a
    /// buffer, the host address; for a struct, the address of its bytes).
    #[inline(always)]
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// For a buffer argument, the identity of the context that owns the buffer.
    #[inline(always)]
    pub fn owner(&self) -> Option<u32> {
        (self.kind() == ArgKind::Buffer).then_some(self.aux())
    }

    /// For a struct argument, its length in bytes; 0 for every other kind (a cheap check
    /// for hot paths that compare it with the expected size).
    #[inline(always)]
    pub fn struct_len(&self) -> usize {
        if self.kind() == ArgKind::Struct {
            self.aux() as usize
        } else {
            0
        }
    }

    /// For a struct argument, its bytes.
    #[inline(always)]
    pub fn struct_bytes(&self) -> Option<&'a [u8]> {
        if self.kind() != ArgKind::Struct {
            return None;
        }
        // SAFETY: `bits` and the length were taken from a `&'a [u8]` by `Arg::bytes` (the
        // length possibly clamped, so never longer), and the `PhantomData<&'a [u8]>` keeps
        // that borrow alive for 'a.
        Some(unsafe {
            std::slice::from_raw_parts(self.bits as usize as *const u8, self.aux() as usize)
        })
    }

    /// The value as an `f64`, for an `f64` argument.
    pub fn as_f64(&self) -> Option<f64> {
        (self.kind() == ArgKind::F64).then(|| f64::from_bits(self.bits))
    }

    /// The value as an `f32`, for an `f32` argument.
    pub fn as_f32(&self) -> Option<f32> {
        (self.kind() == ArgKind::F32).then(|| f32::from_bits(self.bits as u32))
    }

    /// The name of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        self.kind().name()
    }

    /// True when this value may be passed for a parameter of type `ty`: its own kind, a
    /// pointer or a buffer for `ptr`, a struct of exactly the struct's size (under 16 MiB)
    /// for a struct. The same answer as [`ArgCheck::of`]'s check.
    #[inline]
    pub fn matches(&self, ty: &Type) -> bool {
        ArgCheck::of(ty).is_some_and(|c| c.mismatch(self) == 0)
    }

    /// The 64-bit integer register image, for integer-class kinds (integers, `bool`,
    /// pointers, buffers as their host address); `None` for floats and structs.
    #[inline]
    pub fn int_bits(&self) -> Option<u64> {
        match self.kind() {
            ArgKind::F32 | ArgKind::F64 | ArgKind::Struct => None,
            _ => Some(self.bits),
        }
    }
}

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
    fn of_struct(size: usize) -> ArgCheck {
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

impl std::fmt::Debug for Arg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            ArgKind::F32 => write!(f, "f32({})", f32::from_bits(self.bits as u32)),
            ArgKind::F64 => write!(f, "f64({})", f64::from_bits(self.bits)),
            ArgKind::Ptr => write!(f, "ptr({:#x})", self.bits),
            ArgKind::Buffer => write!(f, "buffer(host {:#x}, context {})", self.bits, self.aux()),
            ArgKind::Struct => write!(f, "struct({} bytes)", self.aux()),
            k if Type::is_signed(&match k {
                ArgKind::I8 => Type::I8,
                ArgKind::I16 => Type::I16,
                ArgKind::I32 => Type::I32,
                ArgKind::I64 => Type::I64,
                ArgKind::Isize => Type::Isize,
                _ => Type::U64,
            }) =>
            {
                write!(f, "{}({})", k.name(), self.bits as i64)
            }
            k => write!(f, "{}({})", k.name(), self.bits),
        }
    }
}

impl PartialEq for Arg<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head && self.bits == other.bits
    }
}

macro_rules! from_impls {
    ($($t:ty => $ctor:ident),* $(,)?) => {$(
        impl From<$t> for Arg<'static> {
            #[inline(always)]
            fn from(v: $t) -> Arg<'static> { Arg::$ctor(v) }
        }
    )*};
}

from_impls!(
    bool => bool, i8 => i8, u8 => u8, i16 => i16, u16 => u16, i32 => i32, u32 => u32,
    i64 => i64, u64 => u64, isize => isize, usize => usize, f32 => f32, f64 => f64,
    BufferArg => buffer,
);

impl<T> From<*const T> for Arg<'static> {
    #[inline(always)]
    fn from(p: *const T) -> Arg<'static> {
        Arg::ptr(p)
    }
}

impl<T> From<*mut T> for Arg<'static> {
    #[inline(always)]
    fn from(p: *mut T) -> Arg<'static> {
        Arg::ptr(p.cast_const())
    }
}

/// The return value of a dynamic call.
///
/// A struct return is written into the caller's return slot; the value then only says so.
///
/// The layout is `repr(C, u8)` (a tag byte, the payload at offset 8; 16 bytes), which
/// [`ReturnDecode`] relies on to build a value without a branch on its type.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, u8)]
pub enum Value {
    /// The function returns `void`.
    Void,
    /// `bool`.
    Bool(bool),
    /// `i8`.
    I8(i8),
    /// `u8`.
    U8(u8),
    /// `i16`.
    I16(i16),
    /// `u16`.
    U16(u16),
    /// `i32`.
    I32(i32),
    /// `u32`.
    U32(u32),
    /// `i64`.
    I64(i64),
    /// `u64`.
    U64(u64),
    /// `isize`.
    Isize(isize),
    /// `usize`.
    Usize(usize),
    /// `f32`.
    F32(f32),
    /// `f64`.
    F64(f64),
    /// A pointer in the callee's address space: a host address for native code, a
    /// linear-memory offset for WebAssembly.
    Ptr(*mut c_void),
    /// A struct, written into the return slot passed to the call.
    Struct,
}

/// How the return registers of a function become its [`Value`], computed once at prepare
/// from the return type: decoding a number is then a tag and a payload word put side by
/// side, with no branch on the type (the branch-per-call form is [`Value::from_bits`], which
/// gives the same values). `bool` and `ptr` returns, which need more than that, take one
/// out-of-line branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReturnDecode {
    /// The tag byte of the value's variant (`Value` is `repr(C, u8)`) in the low byte and the
    /// [`SpecialReturn`] in the high byte: the common returns (high byte 0) cost one load
    /// and one compare of this word.
    word: u16,
    /// Left shift that puts the type's bytes first in memory (0 on little-endian targets).
    shift: u8,
}

/// The returns whose register image is not their payload as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum SpecialReturn {
    /// Integers, floats, `void`, structs: the image (or nothing) is the payload.
    None,
    /// `bool`: the payload is normalised to 0 or 1 from the low byte.
    Bool,
    /// `ptr`: the value is built by an integer-to-pointer cast (exposed provenance).
    Ptr,
}

/// The memory image of a [`Value`]: the tag word and the payload word.
#[repr(C)]
struct RawValue {
    tag: u64,
    payload: u64,
}

impl ReturnDecode {
    /// The decoding for return type `ty` (`void`, a scalar, or a struct, which decodes to
    /// [`Value::Struct`] whatever the bits).
    pub fn of(ty: &Type) -> ReturnDecode {
        let sample = Value::from_bits(ty, 0);
        // SAFETY: `Value` is `repr(C, u8)`: its first byte is the variant's tag.
        let tag = unsafe { *(&sample as *const Value).cast::<u8>() };
        let size = match ty {
            Type::Void | Type::Struct(_) => 0,
            t => t.size(),
        };
        let shift = if cfg!(target_endian = "big") && size > 0 {
            (64 - 8 * size) as u8
        } else {
            0
        };
        let special = match ty {
            Type::Bool => SpecialReturn::Bool,
            Type::Ptr => SpecialReturn::Ptr,
            _ => SpecialReturn::None,
        };
        ReturnDecode {
            word: u16::from(tag) | (special as u16) << 8,
            shift,
        }
    }

    /// The value whose register image is `bits` (the upper bits beyond the type's size are
    /// ignored, as by [`Value::from_bits`]).
    #[inline(always)]
    pub fn value(self, bits: u64) -> Value {
        if self.word > 0xff {
            // Out of line: numeric returns (the common case) fall through with no taken jump.
            std::hint::cold_path();
            return self.special_value(bits);
        }
        let raw = RawValue {
            // (The word is the tag byte alone here.)
            tag: u64::from_ne_bytes([self.word as u8, 0, 0, 0, 0, 0, 0, 0]),
            // (`shift` is 0 on little-endian targets: no shift is emitted there.)
            payload: if cfg!(target_endian = "big") {
                bits << self.shift
            } else {
                bits
            },
        };
        // SAFETY: `Value` is `repr(C, u8)`, 16 bytes with the tag at byte 0 and every
        // variant's field at byte 8 (the union of the payloads is 8-aligned); `RawValue` is
        // 16 bytes of the same alignment. The tag byte is the discriminant of a variant
        // (taken from a real value in `of`); bytes 1..8 are padding; the payload's first
        // bytes in memory (`shift` puts them there) are a valid value of that variant's
        // field: any bits for integers and floats (`bool` and `ptr` are decoded by
        // `special_value`); `Void` and `Struct` have no field.
        unsafe { std::mem::transmute::<RawValue, Value>(raw) }
    }

    /// [`ReturnDecode::value`] for `bool` (low byte nonzero; the ABIs leave the upper bits
    /// unspecified) and `ptr` (a cast, so the pointer keeps exposed provenance; a transmuted
    /// integer would have none).
    #[inline(always)]
    fn special_value(self, bits: u64) -> Value {
        if self.word >> 8 == SpecialReturn::Bool as u16 {
            Value::Bool(bits as u8 != 0)
        } else {
            Value::Ptr(bits as usize as *mut c_void)
        }
    }
}

impl Value {
    /// Decodes a value of scalar type `ty` from the low bits of a 64-bit register image (the
    /// upper bits are ignored, as the ABIs leave them unspecified for narrow returns). A
    /// float register image carries `f32` in its low 32 bits.
    ///
    /// # Panics
    /// Never for scalar types; a struct type gives [`Value::Struct`] and `void` gives
    /// [`Value::Void`].
    #[inline]
    pub fn from_bits(ty: &Type, bits: u64) -> Value {
        match ty {
            Type::Void => Value::Void,
            Type::Bool => Value::Bool(bits as u8 != 0),
            Type::I8 => Value::I8(bits as i8),
            Type::U8 => Value::U8(bits as u8),
            Type::I16 => Value::I16(bits as i16),
            Type::U16 => Value::U16(bits as u16),
            Type::I32 => Value::I32(bits as i32),
            Type::U32 => Value::U32(bits as u32),
            Type::I64 => Value::I64(bits as i64),
            Type::U64 => Value::U64(bits),
            Type::Isize => Value::Isize(bits as i64 as isize),
            Type::Usize => Value::Usize(bits as usize),
            Type::F32 => Value::F32(f32::from_bits(bits as u32)),
            Type::F64 => Value::F64(f64::from_bits(bits)),
            Type::Ptr => Value::Ptr(bits as usize as *mut c_void),
            Type::Struct(_) => Value::Struct,
        }
    }

    /// Writes the value into `out` in its C representation (`size_of` of its type), as a
    /// libffi-style return slot. `Void` and `Struct` write nothing.
    ///
    /// # Panics
    /// When `out` is shorter than the value's type.
    pub fn write_to(&self, out: &mut [u8]) {
        match *self {
            Value::Void | Value::Struct => {}
            Value::Bool(v) => out[..1].copy_from_slice(&[v as u8]),
            Value::I8(v) => out[..1].copy_from_slice(&v.to_ne_bytes()),
            Value::U8(v) => out[..1].copy_from_slice(&v.to_ne_bytes()),
            Value::I16(v) => out[..2].copy_from_slice(&v.to_ne_bytes()),
            Value::U16(v) => out[..2].copy_from_slice(&v.to_ne_bytes()),
            Value::I32(v) => out[..4].copy_from_slice(&v.to_ne_bytes()),
            Value::U32(v) => out[..4].copy_from_slice(&v.to_ne_bytes()),
            Value::I64(v) => out[..8].copy_from_slice(&v.to_ne_bytes()),
            Value::U64(v) => out[..8].copy_from_slice(&v.to_ne_bytes()),
            Value::Isize(v) => out[..size_of::<isize>()].copy_from_slice(&v.to_ne_bytes()),
            Value::Usize(v) => out[..size_of::<usize>()].copy_from_slice(&v.to_ne_bytes()),
            Value::F32(v) => out[..4].copy_from_slice(&v.to_ne_bytes()),
            Value::F64(v) => out[..8].copy_from_slice(&v.to_ne_bytes()),
            Value::Ptr(p) => out[..size_of::<usize>()].copy_from_slice(&(p as usize).to_ne_bytes()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn images_extend_by_signedness() {
        assert_eq!(Arg::i8(-1).bits(), u64::MAX);
        assert_eq!(Arg::u8(0xff).bits(), 0xff);
        assert_eq!(Arg::i32(-2).bits(), -2i64 as u64);
        assert_eq!(Arg::u32(u32::MAX).bits(), u32::MAX as u64);
        assert_eq!(Arg::f32(1.5).bits(), 1.5f32.to_bits() as u64);
        assert_eq!(Arg::f64(1.0).int_bits(), None);
        assert_eq!(std::mem::size_of::<Arg<'_>>(), 16);
    }

    #[test]
    fn from_bits_ignores_upper_garbage() {
        assert_eq!(
            Value::from_bits(&Type::I8, 0xdead_beef_0000_00ff),
            Value::I8(-1)
        );
        assert_eq!(Value::from_bits(&Type::Bool, 0xff00), Value::Bool(false));
        assert_eq!(
            Value::from_bits(&Type::F32, 0xffff_ffff_0000_0000 | 1.5f32.to_bits() as u64),
            Value::F32(1.5)
        );
    }

    #[test]
    fn matches_checks_kind_and_struct_size() {
        let s = crate::StructType::new(vec![Type::I32, Type::I32]).unwrap();
        assert!(Arg::bytes(&[0; 8]).matches(&Type::Struct(s.clone())));
        assert!(!Arg::bytes(&[0; 4]).matches(&Type::Struct(s)));
        assert!(!Arg::i32(0).matches(&Type::U32));
        assert!(Arg::ptr(std::ptr::null::<u8>()).matches(&Type::Ptr));
        assert_eq!(Arg::bytes(&[1, 2]).struct_bytes(), Some(&[1u8, 2][..]));
        assert_eq!(format!("{:?}", Arg::i16(-5)), "i16(-5)");
    }

    /// Every scalar type of the grammar (`void` and structs not included).
    pub(crate) fn scalar_types() -> [Type; 14] {
        [
            Type::Bool,
            Type::I8,
            Type::U8,
            Type::I16,
            Type::U16,
            Type::I32,
            Type::U32,
            Type::I64,
            Type::U64,
            Type::Isize,
            Type::Usize,
            Type::F32,
            Type::F64,
            Type::Ptr,
        ]
    }

    #[test]
    fn arg_check_agrees_with_matches() {
        let s8 = crate::StructType::new(vec![Type::I32, Type::I32]).unwrap();
        let s3 = crate::StructType::new(vec![Type::U8, Type::U8, Type::U8]).unwrap();
        let mut types = scalar_types().to_vec();
        types.extend([Type::Struct(s8), Type::Struct(s3)]);
        let mut buf = crate::HostBuffers::new(crate::OwnerId::fresh());
        let b = buf.alloc(64, 64).unwrap();
        let bytes = [0u8; 8];
        let args = [
            Arg::bool(true),
            Arg::i8(-1),
            Arg::u8(1),
            Arg::i16(-1),
            Arg::u16(1),
            Arg::i32(-1),
            Arg::u32(1),
            Arg::i64(-1),
            Arg::u64(1),
            Arg::isize(-1),
            Arg::usize(1),
            Arg::f32(1.0),
            Arg::f64(1.0),
            Arg::ptr(&bytes),
            Arg::buffer(b),
            Arg::bytes(&bytes),
            Arg::bytes(&bytes[..3]),
            Arg::bytes(&bytes[..4]),
        ];
        // The rule the header encoding must implement, stated on the decoded kind and length.
        let allowed = |a: &Arg<'_>, ty: &Type| match (a.kind(), ty) {
            (ArgKind::Buffer, Type::Ptr) => true,
            (ArgKind::Struct, Type::Struct(s)) => a.struct_len() == s.size(),
            (kind, ty) => ArgKind::of(ty) == Some(kind),
        };
        for ty in &types {
            let check = ArgCheck::of(ty).unwrap();
            for a in &args {
                assert_eq!(check.mismatch(a) == 0, allowed(a, ty), "{a:?} for {ty}");
                assert_eq!(a.matches(ty), allowed(a, ty), "{a:?} for {ty}");
            }
        }
        assert_eq!(ArgCheck::of(&Type::Void), None);
    }

    #[test]
    fn pointers_and_buffers_decode_apart() {
        let mut buf = crate::HostBuffers::new(crate::OwnerId::fresh());
        let b = buf.alloc(64, 64).unwrap();
        let raw = Arg::ptr(b.host_ptr());
        assert_eq!((raw.kind(), raw.owner()), (ArgKind::Ptr, None));
        let owned = Arg::buffer(b);
        assert_eq!(owned.kind(), ArgKind::Buffer);
        assert_eq!(owned.owner(), Some(b.owner().get()));
        assert_eq!(owned.bits(), raw.bits());
        // Plain host memory as a buffer argument keeps its owner, `OwnerId::HOST` (0).
        let host = Arg::buffer(crate::BufferArg::host(b.host_ptr()));
        assert_eq!((host.kind(), host.owner()), (ArgKind::Buffer, Some(0)));
        assert!(raw.matches(&Type::Ptr) && owned.matches(&Type::Ptr) && host.matches(&Type::Ptr));
    }

    #[test]
    fn struct_lengths_past_the_checked_bits_match_nothing() {
        let big = vec![0u8; CHECKED_LEN_MAX as usize + 1];
        let arg = Arg::bytes(&big);
        assert_eq!(arg.struct_len(), big.len());
        assert_eq!(arg.struct_bytes().map(<[u8]>::len), Some(big.len()));
        let limit = CHECKED_LEN_MAX as usize;
        for (len, size, ok) in [
            (limit + 1, limit + 1, false),
            (limit, limit, false),
            (limit - 1, limit - 1, true),
            (limit - 2, limit - 1, false),
            (limit + 1, 1, false),
            (1, 1, true),
        ] {
            let fits = ArgCheck::of_struct(size).mismatch(&Arg::bytes(&big[..len])) == 0;
            assert_eq!(fits, ok, "{len} bytes for a struct of {size}");
        }
    }

    #[test]
    fn return_decode_agrees_with_from_bits() {
        let s = crate::StructType::new(vec![Type::I32]).unwrap();
        let mut types = scalar_types().to_vec();
        types.extend([Type::Void, Type::Struct(s)]);
        let samples = [
            0u64,
            1,
            0xff,
            0x8000_0000,
            u64::MAX,
            0xdead_beef_0000_0100,
            1.5f32.to_bits() as u64 | 0xffff_ffff_0000_0000,
            (-2.25f64).to_bits(),
        ];
        assert_eq!(std::mem::size_of::<Value>(), 16);
        for ty in &types {
            let d = ReturnDecode::of(ty);
            for &b in &samples {
                let (got, want) = (d.value(b), Value::from_bits(ty, b));
                let same = match (got, want) {
                    (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
                    (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
                    (x, y) => x == y,
                };
                assert!(same, "{ty} from {b:#x}: {got:?} vs {want:?}");
                if *ty == Type::Bool {
                    // The byte itself, not `==` (which may assume a valid `bool`).
                    // SAFETY: `Value` is `repr(C, u8)` with the payload at byte 8 (see
                    // `ReturnDecode::value`); the 16 bytes are readable.
                    let byte = unsafe { *(&got as *const Value).cast::<u8>().add(8) };
                    assert!(byte <= 1, "bool from {b:#x} holds byte {byte:#x}");
                }
            }
        }
    }
}
