//! Argument and return values of the dynamic call path: [`ArgKind`] and [`Arg`] here, the
//! parameter checks in `checks.rs` ([`ArgCheck`], [`ArgChecks`]) and the return values in
//! `ret.rs` ([`Value`], [`ReturnDecode`]), all re-exported here.

use std::ffi::c_void;
use std::marker::PhantomData;

use crate::buffer::BufferArg;
#[cfg(doc)]
use crate::buffer::OwnerId;
use crate::signature::Signature;
use crate::types::Type;

mod checks;
mod ret;
#[cfg(test)]
pub(crate) mod tests;

pub use checks::{ArgCheck, ArgChecks, ArgsMismatch};
pub use ret::{ReturnDecode, Value};

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
