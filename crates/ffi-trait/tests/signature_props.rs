//! Property test: every signature built from the model prints to text that parses back to
//! the same signature.

use ffi_trait::{Signature, StructType, Type};
use proptest::prelude::*;

fn scalar() -> impl Strategy<Value = Type> {
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

fn ty() -> impl Strategy<Value = Type> {
    scalar().prop_recursive(4, 24, 5, |inner| {
        prop::collection::vec(inner, 1..5).prop_map(|f| Type::Struct(StructType::new(f).unwrap()))
    })
}

proptest! {
    #[test]
    fn display_then_parse_is_identity(
        ret in prop_oneof![Just(Type::Void), ty()],
        args in prop::collection::vec(ty(), 0..8),
        variadic in any::<bool>(),
        split in 0usize..8,
    ) {
        let sig = if variadic {
            let fixed = split.min(args.len());
            Signature::variadic(ret, args, fixed).unwrap()
        } else {
            Signature::new(ret, args).unwrap()
        };
        let text = sig.to_string();
        prop_assert_eq!(Signature::parse(&text).unwrap(), sig);
    }
}
