//! The type model: the C types a foreign function can take and return, with their layout.
//!
//! Layout follows the C rules of the host's ABI (System V AMD64 psABI §3.1.2, AAPCS64 §5.1 and
//! §10): every scalar is aligned to its size, a struct's fields are laid out in order, each at
//! the next offset that is a multiple of its alignment, and the struct's size is rounded up to
//! a multiple of its largest field alignment.

use std::fmt;
use std::mem::{align_of, size_of};

/// One type of the signature grammar.
///
/// `Void` is only valid as a return type; every other variant is valid anywhere. `Isize`,
/// `Usize` and `Ptr` have the host's pointer width (8 bytes on the 64-bit targets ffikit
/// supports; a wasm backend maps them to the guest's 32-bit `i32`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// No value (`void`); only as a return type.
    Void,
    /// C `_Bool` / Rust `bool`: one byte, 0 or 1.
    Bool,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 64-bit integer.
    U64,
    /// Signed pointer-sized integer (`ssize_t`, `intptr_t`).
    Isize,
    /// Unsigned pointer-sized integer (`size_t`).
    Usize,
    /// IEEE 754 binary32 (`float`).
    F32,
    /// IEEE 754 binary64 (`double`).
    F64,
    /// A data pointer (`void *`): a host address, or a buffer handle that each backend turns
    /// into its own pointer kind.
    Ptr,
    /// A struct passed or returned by value.
    Struct(StructType),
}

/// The class of a scalar for calling-convention purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarClass {
    /// Integers, `bool` and pointers: general-purpose registers.
    Integer,
    /// `f32` and `f64`: floating-point / SIMD registers.
    Float,
}

impl Type {
    /// Size in bytes on the host (`sizeof`). `Void` has size 0.
    pub fn size(&self) -> usize {
        match self {
            Type::Void => 0,
            Type::Bool | Type::I8 | Type::U8 => 1,
            Type::I16 | Type::U16 => 2,
            Type::I32 | Type::U32 | Type::F32 => 4,
            Type::I64 | Type::U64 | Type::F64 => 8,
            Type::Isize | Type::Usize => size_of::<usize>(),
            Type::Ptr => size_of::<*const u8>(),
            Type::Struct(s) => s.size(),
        }
    }

    /// Alignment in bytes on the host (`_Alignof`). `Void` has alignment 1.
    pub fn align(&self) -> usize {
        match self {
            Type::Void | Type::Bool | Type::I8 | Type::U8 => 1,
            Type::I16 | Type::U16 => 2,
            Type::I32 | Type::U32 | Type::F32 => 4,
            Type::I64 | Type::U64 => align_of::<u64>(),
            Type::F64 => align_of::<f64>(),
            Type::Isize | Type::Usize => align_of::<usize>(),
            Type::Ptr => align_of::<*const u8>(),
            Type::Struct(s) => s.align(),
        }
    }

    /// The grammar's name of a scalar type (`"i32"`), or `None` for a struct.
    pub fn scalar_name(&self) -> Option<&'static str> {
        Some(match self {
            Type::Void => "void",
            Type::Bool => "bool",
            Type::I8 => "i8",
            Type::U8 => "u8",
            Type::I16 => "i16",
            Type::U16 => "u16",
            Type::I32 => "i32",
            Type::U32 => "u32",
            Type::I64 => "i64",
            Type::U64 => "u64",
            Type::Isize => "isize",
            Type::Usize => "usize",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::Ptr => "ptr",
            Type::Struct(_) => return None,
        })
    }

    /// The scalar type named `name` in the grammar (`"u16"` -> `U16`), or `None`.
    pub fn from_scalar_name(name: &str) -> Option<Type> {
        Some(match name {
            "void" => Type::Void,
            "bool" => Type::Bool,
            "i8" => Type::I8,
            "u8" => Type::U8,
            "i16" => Type::I16,
            "u16" => Type::U16,
            "i32" => Type::I32,
            "u32" => Type::U32,
            "i64" => Type::I64,
            "u64" => Type::U64,
            "isize" => Type::Isize,
            "usize" => Type::Usize,
            "f32" => Type::F32,
            "f64" => Type::F64,
            "ptr" => Type::Ptr,
            _ => return None,
        })
    }

    /// The calling-convention class of a scalar, or `None` for `Void` and structs.
    pub fn scalar_class(&self) -> Option<ScalarClass> {
        match self {
            Type::Void | Type::Struct(_) => None,
            Type::F32 | Type::F64 => Some(ScalarClass::Float),
            _ => Some(ScalarClass::Integer),
        }
    }

    /// True for the signed integer types (`i8`..`i64`, `isize`), whose narrow forms are
    /// sign-extended when widened.
    pub fn is_signed(&self) -> bool {
        matches!(
            self,
            Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Isize
        )
    }

    /// True for a struct.
    pub fn is_struct(&self) -> bool {
        matches!(self, Type::Struct(_))
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Struct(s) => s.fmt(f),
            scalar => f.write_str(scalar.scalar_name().unwrap_or("?")),
        }
    }
}

/// A struct type: its fields in declaration order and its C layout, computed once.
///
/// Construct it with [`StructType::new`]; the layout (field offsets, size, alignment) is then
/// fixed. Fields may themselves be structs (nesting); a struct has at least one field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructType {
    fields: Vec<Type>,
    offsets: Vec<usize>,
    size: usize,
    align: usize,
}

impl StructType {
    /// Lays out `fields` by the C rules.
    ///
    /// # Errors
    /// Returns a message naming the problem when `fields` is empty or a field is `void`
    /// (neither is a valid C struct member).
    pub fn new(fields: Vec<Type>) -> Result<StructType, &'static str> {
        if fields.is_empty() {
            return Err("a struct needs at least one field");
        }
        let mut offsets = Vec::with_capacity(fields.len());
        let mut offset = 0usize;
        let mut align = 1usize;
        for field in &fields {
            if *field == Type::Void {
                return Err("void is not a valid struct field");
            }
            let a = field.align();
            offset = offset.next_multiple_of(a);
            offsets.push(offset);
            offset += field.size();
            align = align.max(a);
        }
        Ok(StructType {
            fields,
            offsets,
            size: offset.next_multiple_of(align),
            align,
        })
    }

    /// The fields in declaration order.
    pub fn fields(&self) -> &[Type] {
        &self.fields
    }

    /// Byte offset of each field, parallel to [`StructType::fields`].
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Size in bytes, including trailing padding.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Alignment in bytes: the largest field alignment.
    pub fn align(&self) -> usize {
        self.align
    }

    /// Calls `visit(offset, scalar)` for every scalar leaf of the struct, nested structs
    /// flattened, in memory order. Offsets are from the start of the outermost struct.
    pub fn for_each_scalar(&self, base: usize, visit: &mut impl FnMut(usize, &Type)) {
        for (field, off) in self.fields.iter().zip(&self.offsets) {
            match field {
                Type::Struct(inner) => inner.for_each_scalar(base + off, visit),
                scalar => visit(base + off, scalar),
            }
        }
    }
}

impl fmt::Display for StructType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            field.fmt(f)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layout_follows_c_rules() {
        // struct { char c; double d; int i; } -> offsets 0, 8, 16; size 24; align 8.
        let s = StructType::new(vec![Type::I8, Type::F64, Type::I32]).unwrap();
        assert_eq!(s.offsets(), &[0, 8, 16]);
        assert_eq!((s.size(), s.align()), (24, 8));
        // struct { short a; char b; } -> size 4 (padded to align 2).
        let s = StructType::new(vec![Type::I16, Type::U8]).unwrap();
        assert_eq!((s.size(), s.align()), (4, 2));
        // nested: struct { char c; struct { float x; float y; } p; } -> p at 4, size 12.
        let inner = StructType::new(vec![Type::F32, Type::F32]).unwrap();
        let s = StructType::new(vec![Type::U8, Type::Struct(inner)]).unwrap();
        assert_eq!(s.offsets(), &[0, 4]);
        assert_eq!(s.size(), 12);
        let mut leaves = vec![];
        s.for_each_scalar(0, &mut |off, t| leaves.push((off, t.clone())));
        assert_eq!(leaves, vec![(0, Type::U8), (4, Type::F32), (8, Type::F32)]);
    }

    #[test]
    fn struct_rejects_empty_and_void() {
        assert!(StructType::new(vec![]).is_err());
        assert!(StructType::new(vec![Type::Void]).is_err());
    }
}
