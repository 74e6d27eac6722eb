//! Property test: every signature built from the model prints to text that parses back to
//! the same signature.

use ffi_trait::{Signature, StructType, Type};
use proptest::prelude::*;

mod strategies;
use strategies::scalar;

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
