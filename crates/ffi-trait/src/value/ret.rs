//! The return values of the dynamic call path: [`Value`] and its branch-free decoding from a
//! register image ([`ReturnDecode`]).

use super::*;

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
