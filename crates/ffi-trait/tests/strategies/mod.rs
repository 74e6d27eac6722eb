//! Proptest strategies shared by this crate's property tests.

use ffi_trait::Type;
use proptest::prelude::*;

/// Every scalar type of the signature grammar (no `void`, no struct).
pub(crate) fn scalar() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::Bool),
        Just(Type::I8),
        Just(Type::U8),
        Just(Type::I16),
        Just(Type::U16),
        Just(Type::I32),
        Just(Type::U32),
        Just(Type::I64),
        Just(Type::U64),
        Just(Type::Isize),
        Just(Type::Usize),
        Just(Type::F32),
        Just(Type::F64),
        Just(Type::Ptr),
    ]
}
