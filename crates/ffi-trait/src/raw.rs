//! Raw argument arrays, the convention of libffi's `ffi_call` and of the C API's
//! `ffikit_call`: an array of pointers, the `i`-th pointing at argument `i`'s value in the
//! host's C layout, its type known only from the signature.

use std::ffi::c_void;

use crate::value::{Arg, ArgKind};

/// Reading arguments from raw pointers: the width and extension of each scalar kind.
///
/// A backend keeps one [`ArgKind`] per parameter (from [`ArgKind::of`], at prepare), so a
/// call reads each argument with one load and no match on its [`Type`](crate::Type).
/// [`ArgKind::raw_image`] gives the same 64-bit register image as the [`Arg`] of that kind and
/// value ([`Arg::bits`]): integers sign- or zero-extended per their signedness, `bool` as 0
/// or 1, floats as their IEEE bits (`f32` in the low 32 bits), pointers as addresses. Each
/// load reads exactly the type's size (never past the end of the argument: libffi's
/// `overread` test).
impl ArgKind {
    /// The register image of the value of this kind at `p` (see the `impl` docs).
    ///
    /// # Safety
    /// `p` is valid for a read of the kind's size (no alignment needed).
    ///
    /// # Panics
    /// For [`ArgKind::Struct`], which has no register image of its own (its size is the
    /// signature's).
    #[inline(always)]
    pub unsafe fn raw_image(self, p: *const c_void) -> u64 {
        // SAFETY: every read is of the kind's size at `p` (the caller's contract).
        unsafe {
            match self {
                ArgKind::I64
                | ArgKind::U64
                | ArgKind::Isize
                | ArgKind::Usize
                | ArgKind::F64
                | ArgKind::Ptr
                | ArgKind::Buffer => p.cast::<u64>().read_unaligned(),
                ArgKind::I32 => p.cast::<i32>().read_unaligned() as i64 as u64,
                ArgKind::U32 | ArgKind::F32 => p.cast::<u32>().read_unaligned() as u64,
                ArgKind::I16 => p.cast::<i16>().read_unaligned() as i64 as u64,
                ArgKind::U16 => p.cast::<u16>().read_unaligned() as u64,
                ArgKind::I8 => p.cast::<i8>().read() as i64 as u64,
                ArgKind::U8 => p.cast::<u8>().read() as u64,
                ArgKind::Bool => (p.cast::<u8>().read() != 0) as u64,
                ArgKind::Struct => panic!("a struct argument has no register image"),
            }
        }
    }

    /// The [`Arg`] of the value of this kind at `p` (a [`ArgKind::Buffer`] reads as a raw
    /// pointer: a raw array carries addresses, not buffer handles).
    ///
    /// # Safety
    /// As [`ArgKind::raw_image`].
    ///
    /// # Panics
    /// As [`ArgKind::raw_image`].
    #[inline(always)]
    pub unsafe fn raw_arg(self, p: *const c_void) -> Arg<'static> {
        // SAFETY: forwarded contract.
        let bits = unsafe { self.raw_image(p) };
        // The image is already the type's widened value: each constructor below keeps it.
        match self {
            ArgKind::Bool => Arg::bool(bits != 0),
            ArgKind::I8 => Arg::i8(bits as i8),
            ArgKind::U8 => Arg::u8(bits as u8),
            ArgKind::I16 => Arg::i16(bits as i16),
            ArgKind::U16 => Arg::u16(bits as u16),
            ArgKind::I32 => Arg::i32(bits as i32),
            ArgKind::U32 => Arg::u32(bits as u32),
            ArgKind::I64 => Arg::i64(bits as i64),
            ArgKind::U64 => Arg::u64(bits),
            ArgKind::Isize => Arg::isize(bits as isize),
            ArgKind::Usize => Arg::usize(bits as usize),
            ArgKind::F32 => Arg::f32(f32::from_bits(bits as u32)),
            ArgKind::F64 => Arg::f64(f64::from_bits(bits)),
            ArgKind::Ptr | ArgKind::Buffer => Arg::ptr(bits as usize as *const c_void),
            ArgKind::Struct => unreachable!("raw_image panicked above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArgCheck, Signature, Type};

    #[test]
    fn images_are_the_args_images() {
        let bytes: [u8; 8] = [0xF1, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7, 0xE8];
        let p = bytes.as_ptr().cast::<c_void>();
        let types = crate::value::tests::scalar_types();
        let mut seen = 0;
        for ty in &types {
            let kind = ArgKind::of(ty).unwrap();
            // SAFETY: 8 readable bytes, every type is at most 8 bytes.
            let (image, arg) = unsafe { (kind.raw_image(p), kind.raw_arg(p)) };
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
        assert_eq!(ArgKind::of(&Type::Void), None);
        let s: Signature = "void({i32})".parse().unwrap();
        assert_eq!(ArgKind::of(&s.args()[0]), None);
    }
}
