//! Raw argument arrays, the convention of libffi's `ffi_call` and of the C API's
//! `ffikit_call`: an array of pointers, the `i`-th pointing at argument `i`'s value in the
//! host's C layout, its type known only from the signature.

use std::ffi::c_void;

use crate::types::Type;
use crate::value::Arg;

/// How a scalar argument is read from its raw pointer: the width and extension of its
/// type, decided once per parameter (at prepare) so that a call reads each argument with one
/// load and no match on its [`Type`].
///
/// [`RawLoad::image`] gives the same 64-bit register image as the [`Arg`] of that type and
/// value ([`Arg::bits`]): integers sign- or zero-extended per their signedness, `bool` as 0
/// or 1, floats as their IEEE bits (`f32` in the low 32 bits), pointers as addresses. Each
/// load reads exactly the type's size (never past the end of the argument: libffi's
/// `overread` test).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawLoad {
    /// `bool`: one byte, nonzero is true.
    Bool,
    /// `i8`, sign-extended.
    I8,
    /// `u8`, zero-extended.
    U8,
    /// `i16`, sign-extended.
    I16,
    /// `u16`, zero-extended.
    U16,
    /// `i32`, sign-extended.
    I32,
    /// `u32`, zero-extended.
    U32,
    /// `i64`.
    I64,
    /// `u64`.
    U64,
    /// `isize`.
    Isize,
    /// `usize`.
    Usize,
    /// `f32`: its bits in the low 32 bits.
    F32,
    /// `f64`: its bits.
    F64,
    /// `ptr`: the address.
    Ptr,
}

impl RawLoad {
    /// The load of a parameter of type `ty`; `None` for structs and `void`.
    pub fn of(ty: &Type) -> Option<RawLoad> {
        Some(match ty {
            Type::Bool => RawLoad::Bool,
            Type::I8 => RawLoad::I8,
            Type::U8 => RawLoad::U8,
            Type::I16 => RawLoad::I16,
            Type::U16 => RawLoad::U16,
            Type::I32 => RawLoad::I32,
            Type::U32 => RawLoad::U32,
            Type::I64 => RawLoad::I64,
            Type::U64 => RawLoad::U64,
            Type::Isize => RawLoad::Isize,
            Type::Usize => RawLoad::Usize,
            Type::F32 => RawLoad::F32,
            Type::F64 => RawLoad::F64,
            Type::Ptr => RawLoad::Ptr,
            Type::Struct(_) | Type::Void => return None,
        })
    }

    /// The register image of the value at `p` (see the type's docs).
    ///
    /// # Safety
    /// `p` is valid for a read of the type's size (no alignment needed).
    #[inline(always)]
    pub unsafe fn image(self, p: *const c_void) -> u64 {
        // SAFETY: every read is of the type's size at `p` (the caller's contract).
        unsafe {
            match self {
                RawLoad::I64
                | RawLoad::U64
                | RawLoad::Isize
                | RawLoad::Usize
                | RawLoad::F64
                | RawLoad::Ptr => p.cast::<u64>().read_unaligned(),
                RawLoad::I32 => p.cast::<i32>().read_unaligned() as i64 as u64,
                RawLoad::U32 | RawLoad::F32 => p.cast::<u32>().read_unaligned() as u64,
                RawLoad::I16 => p.cast::<i16>().read_unaligned() as i64 as u64,
                RawLoad::U16 => p.cast::<u16>().read_unaligned() as u64,
                RawLoad::I8 => p.cast::<i8>().read() as i64 as u64,
                RawLoad::U8 => p.cast::<u8>().read() as u64,
                RawLoad::Bool => (p.cast::<u8>().read() != 0) as u64,
            }
        }
    }

    /// The [`Arg`] of the value at `p`.
    ///
    /// # Safety
    /// As [`RawLoad::image`].
    #[inline(always)]
    pub unsafe fn arg(self, p: *const c_void) -> Arg<'static> {
        // SAFETY: forwarded contract.
        let bits = unsafe { self.image(p) };
        // The image is already the type's widened value: each constructor below keeps it.
        match self {
            RawLoad::Bool => Arg::bool(bits != 0),
            RawLoad::I8 => Arg::i8(bits as i8),
            RawLoad::U8 => Arg::u8(bits as u8),
            RawLoad::I16 => Arg::i16(bits as i16),
            RawLoad::U16 => Arg::u16(bits as u16),
            RawLoad::I32 => Arg::i32(bits as i32),
            RawLoad::U32 => Arg::u32(bits as u32),
            RawLoad::I64 => Arg::i64(bits as i64),
            RawLoad::U64 => Arg::u64(bits),
            RawLoad::Isize => Arg::isize(bits as isize),
            RawLoad::Usize => Arg::usize(bits as usize),
            RawLoad::F32 => Arg::f32(f32::from_bits(bits as u32)),
            RawLoad::F64 => Arg::f64(f64::from_bits(bits)),
            RawLoad::Ptr => Arg::ptr(bits as usize as *const c_void),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArgCheck, Signature};

    #[test]
    fn images_are_the_args_images() {
        let bytes: [u8; 8] = [0xF1, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7, 0xE8];
        let p = bytes.as_ptr().cast::<c_void>();
        let types = [
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
        ];
        let mut seen = 0;
        for ty in &types {
            let load = RawLoad::of(ty).unwrap();
            // SAFETY: 8 readable bytes, every type is at most 8 bytes.
            let (image, arg) = unsafe { (load.image(p), load.arg(p)) };
            assert_eq!(image, arg.bits(), "{ty}");
            // The image read through the type's own Rust value.
            // SAFETY: as above.
            let want = unsafe {
                match ty {
                    Type::Bool => 1,
                    Type::I8 => Arg::i8(p.cast::<i8>().read()).bits(),
                    Type::U8 => Arg::u8(p.cast::<u8>().read()).bits(),
                    Type::I16 => Arg::i16(p.cast::<i16>().read_unaligned()).bits(),
                    Type::U16 => Arg::u16(p.cast::<u16>().read_unaligned()).bits(),
                    Type::I32 => Arg::i32(p.cast::<i32>().read_unaligned()).bits(),
                    Type::U32 => Arg::u32(p.cast::<u32>().read_unaligned()).bits(),
                    Type::F32 => Arg::f32(p.cast::<f32>().read_unaligned()).bits(),
                    _ => u64::from_ne_bytes(bytes),
                }
            };
            assert_eq!(image, want, "{ty}");
            // The argument is of the parameter's kind.
            let check = ArgCheck::of(ty).unwrap();
            assert_eq!(ArgCheck::first_mismatch(&[check], &[arg]), None, "{ty}");
            seen += 1;
        }
        assert_eq!(seen, 14);
        assert_eq!(RawLoad::of(&Type::Void), None);
        let s: Signature = "void({i32})".parse().unwrap();
        assert_eq!(RawLoad::of(&s.args()[0]), None);
    }
}
