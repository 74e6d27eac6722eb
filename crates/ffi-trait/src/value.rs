//! Argument and return values of the dynamic call path.

use std::ffi::c_void;

use crate::buffer::BufferArg;
use crate::types::Type;

/// One argument of a dynamic call. Each variant matches one [`Type`]; `Ptr` and `Buffer`
/// both match [`Type::Ptr`], and `Struct` matches a struct type of the same size.
///
/// `Struct` carries the struct's bytes in the host's C layout (the layout of
/// [`StructType`](crate::StructType)), borrowed for the duration of the call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
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
    /// A raw host pointer, passed as is (native and asm backends only).
    Ptr(*mut c_void),
    /// A pointer into a stable buffer, turned into the backend's own pointer kind.
    Buffer(BufferArg),
    /// A struct by value: exactly `size` bytes in C layout.
    Struct(&'a [u8]),
}

impl Arg<'_> {
    /// The name of the value's kind, for error messages (`"i32"`, `"buffer"`, `"struct"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Arg::Bool(_) => "bool",
            Arg::I8(_) => "i8",
            Arg::U8(_) => "u8",
            Arg::I16(_) => "i16",
            Arg::U16(_) => "u16",
            Arg::I32(_) => "i32",
            Arg::U32(_) => "u32",
            Arg::I64(_) => "i64",
            Arg::U64(_) => "u64",
            Arg::Isize(_) => "isize",
            Arg::Usize(_) => "usize",
            Arg::F32(_) => "f32",
            Arg::F64(_) => "f64",
            Arg::Ptr(_) => "ptr",
            Arg::Buffer(_) => "buffer",
            Arg::Struct(_) => "struct",
        }
    }

    /// True when this value may be passed for a parameter of type `ty`.
    #[inline]
    pub fn matches(&self, ty: &Type) -> bool {
        match (self, ty) {
            (Arg::Bool(_), Type::Bool)
            | (Arg::I8(_), Type::I8)
            | (Arg::U8(_), Type::U8)
            | (Arg::I16(_), Type::I16)
            | (Arg::U16(_), Type::U16)
            | (Arg::I32(_), Type::I32)
            | (Arg::U32(_), Type::U32)
            | (Arg::I64(_), Type::I64)
            | (Arg::U64(_), Type::U64)
            | (Arg::Isize(_), Type::Isize)
            | (Arg::Usize(_), Type::Usize)
            | (Arg::F32(_), Type::F32)
            | (Arg::F64(_), Type::F64)
            | (Arg::Ptr(_), Type::Ptr)
            | (Arg::Buffer(_), Type::Ptr) => true,
            (Arg::Struct(bytes), Type::Struct(s)) => bytes.len() == s.size(),
            _ => false,
        }
    }

    /// The value as a 64-bit integer register image: integers sign- or zero-extended per
    /// their type, `bool` as 0/1, pointers as their host address (a buffer as
    /// `host_ptr + offset`). `None` for floats and structs.
    #[inline]
    pub fn int_bits(&self) -> Option<u64> {
        Some(match *self {
            Arg::Bool(v) => v as u64,
            Arg::I8(v) => v as i64 as u64,
            Arg::U8(v) => v as u64,
            Arg::I16(v) => v as i64 as u64,
            Arg::U16(v) => v as u64,
            Arg::I32(v) => v as i64 as u64,
            Arg::U32(v) => v as u64,
            Arg::I64(v) => v as u64,
            Arg::U64(v) => v,
            Arg::Isize(v) => v as i64 as u64,
            Arg::Usize(v) => v as u64,
            Arg::Ptr(p) => p as usize as u64,
            Arg::Buffer(b) => b.host_ptr() as usize as u64,
            Arg::F32(_) | Arg::F64(_) | Arg::Struct(_) => return None,
        })
    }
}

/// The return value of a dynamic call.
///
/// A struct return is written into the caller's return slot; the value then only says so.
#[derive(Clone, Copy, Debug, PartialEq)]
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
mod tests {
    use super::*;

    #[test]
    fn int_bits_extend_by_signedness() {
        assert_eq!(Arg::I8(-1).int_bits(), Some(u64::MAX));
        assert_eq!(Arg::U8(0xff).int_bits(), Some(0xff));
        assert_eq!(Arg::I32(-2).int_bits(), Some(-2i64 as u64));
        assert_eq!(Arg::U32(u32::MAX).int_bits(), Some(u32::MAX as u64));
        assert_eq!(Arg::F64(1.0).int_bits(), None);
    }

    #[test]
    fn from_bits_ignores_upper_garbage() {
        assert_eq!(Value::from_bits(&Type::I8, 0xdead_beef_0000_00ff), Value::I8(-1));
        assert_eq!(Value::from_bits(&Type::Bool, 0xff00), Value::Bool(false));
        assert_eq!(
            Value::from_bits(&Type::F32, 0xffff_ffff_0000_0000 | 1.5f32.to_bits() as u64),
            Value::F32(1.5)
        );
    }

    #[test]
    fn matches_checks_kind_and_struct_size() {
        let s = crate::StructType::new(vec![Type::I32, Type::I32]).unwrap();
        assert!(Arg::Struct(&[0; 8]).matches(&Type::Struct(s.clone())));
        assert!(!Arg::Struct(&[0; 4]).matches(&Type::Struct(s)));
        assert!(!Arg::I32(0).matches(&Type::U32));
        assert!(Arg::Ptr(std::ptr::null_mut()).matches(&Type::Ptr));
    }
}
