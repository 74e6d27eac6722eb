//! Property test: the packed check of a parameter list ([`ArgChecks::check`]) gives the same
//! answer as comparing the counts and then the per-argument checks
//! ([`ArgCheck::first_mismatch`], which agrees with [`Arg::matches`]), for parameter lists
//! with and without structs, shorter and longer than the key packs, and arguments that
//! mostly match (so the packed comparison is the one that answers) with a few of another
//! kind, pointer flavour or struct length, or one argument too few or too many.

use ffi_trait::{Arg, ArgCheck, ArgChecks, ArgsMismatch, BufferArg, Signature, StructType, Type};
use proptest::prelude::*;

mod strategies;
use strategies::scalar;

/// Struct arguments borrow their bytes from here (every struct below is shorter).
static BYTES: [u8; 64] = [0; 64];

fn param() -> impl Strategy<Value = Type> {
    prop_oneof![
        9 => scalar(),
        1 => prop::collection::vec(scalar(), 1..4)
            .prop_map(|f| Type::Struct(StructType::new(f).unwrap())),
    ]
}

/// An argument for a parameter of type `ty` (`flavour` picks a raw pointer or a buffer for
/// `ptr`), with value `v`.
fn arg_for(ty: &Type, v: u64, flavour: bool) -> Arg<'static> {
    match ty {
        Type::Bool => Arg::bool(v & 1 == 1),
        Type::I8 => Arg::i8(v as i8),
        Type::U8 => Arg::u8(v as u8),
        Type::I16 => Arg::i16(v as i16),
        Type::U16 => Arg::u16(v as u16),
        Type::I32 => Arg::i32(v as i32),
        Type::U32 => Arg::u32(v as u32),
        Type::I64 => Arg::i64(v as i64),
        Type::U64 => Arg::u64(v),
        Type::Isize => Arg::isize(v as isize),
        Type::Usize => Arg::usize(v as usize),
        Type::F32 => Arg::f32(v as f32),
        Type::F64 => Arg::f64(v as f64),
        Type::Ptr if flavour => Arg::buffer(BufferArg::host(BYTES.as_ptr())),
        Type::Ptr => Arg::ptr(BYTES.as_ptr().cast::<std::ffi::c_void>()),
        Type::Struct(s) => Arg::bytes(&BYTES[..s.size()]),
        Type::Void => unreachable!("no void parameters are generated"),
    }
}

/// A parameter list and arguments for it: each argument is built for its parameter's type,
/// or (rarely) for another type; sometimes one argument is dropped or added.
fn case() -> impl Strategy<Value = (Vec<Type>, Vec<Arg<'static>>)> {
    prop::collection::vec(param(), 0..20).prop_flat_map(|params| {
        let n = params.len();
        let per_arg = (
            prop::option::weighted(0.05, param()),
            any::<u64>(),
            any::<bool>(),
        );
        (
            Just(params),
            prop::collection::vec(per_arg, n),
            prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)],
        )
            .prop_map(|(params, per_arg, count_change)| {
                let mut args: Vec<Arg<'static>> = params
                    .iter()
                    .zip(&per_arg)
                    .map(|(p, (other, v, flavour))| {
                        arg_for(other.as_ref().unwrap_or(p), *v, *flavour)
                    })
                    .collect();
                match count_change {
                    -1 => {
                        args.pop();
                    }
                    1 => args.push(Arg::i32(7)),
                    _ => {}
                }
                (params, args)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn packed_kinds_answer_as_the_per_argument_checks((params, args) in case()) {
        let checks = ArgChecks::of(&params).unwrap();
        let sig = Signature::new(Type::Void, params.clone()).unwrap();
        prop_assert_eq!(&ArgChecks::of_signature(&sig), &checks);
        prop_assert_eq!(checks.len(), params.len());
        let each: Vec<ArgCheck> = params.iter().map(|t| ArgCheck::of(t).unwrap()).collect();
        prop_assert_eq!(checks.checks(), &each[..]);
        let first = ArgCheck::first_mismatch(&each, &args);
        let by_matches = args.iter().zip(&params).position(|(a, t)| !a.matches(t));
        prop_assert_eq!(first, by_matches);
        let want = match first {
            _ if args.len() != params.len() => Err(ArgsMismatch::Count),
            Some(i) => Err(ArgsMismatch::Arg(i)),
            None => Ok(()),
        };
        prop_assert_eq!(checks.check(&args), want);
        // The key alone answers for scalar lists it packs, and never passes a mismatch.
        let keyed = params.len() <= ArgChecks::KEYED_MAX
            && params.iter().all(|t| !matches!(t, Type::Struct(_)));
        prop_assert_eq!(checks.key_matches(&args), keyed && want.is_ok());
    }
}

#[test]
fn void_parameters_have_no_checks() {
    assert_eq!(ArgChecks::of(&[Type::I32, Type::Void]), None);
    assert!(ArgChecks::of(&[]).unwrap().is_empty());
}

#[test]
fn a_struct_of_another_length_is_caught_past_the_key() {
    let s = |fields: Vec<Type>| Type::Struct(StructType::new(fields).unwrap());
    let checks = ArgChecks::of(&[Type::I32, s(vec![Type::I64, Type::I64])]).unwrap();
    assert_eq!(
        checks.check(&[Arg::i32(1), Arg::bytes(&BYTES[..16])]),
        Ok(())
    );
    assert_eq!(
        checks.check(&[Arg::i32(1), Arg::bytes(&BYTES[..8])]),
        Err(ArgsMismatch::Arg(1))
    );
    // Seventeen parameters: past the key, checked one by one.
    let long = ArgChecks::of(&vec![Type::F64; 17]).unwrap();
    let mut args = vec![Arg::f64(1.0); 17];
    assert_eq!(long.check(&args), Ok(()));
    args[16] = Arg::f32(1.0);
    assert_eq!(long.check(&args), Err(ArgsMismatch::Arg(16)));
    assert_eq!(long.check(&args[..16]), Err(ArgsMismatch::Count));
}

#[test]
fn the_key_holds_the_count() {
    // Fourteen parameters (the most the key packs) against 14, 15 and 16 arguments of the
    // same kind, and one parameter of kind `bool` (tag 0) against none: only the matching
    // count passes.
    let keyed = ArgChecks::of(&vec![Type::Bool; 14]).unwrap();
    assert_eq!(keyed.check(&[Arg::bool(true); 14]), Ok(()));
    assert_eq!(
        keyed.check(&[Arg::bool(true); 15]),
        Err(ArgsMismatch::Count)
    );
    assert_eq!(
        keyed.check(&[Arg::bool(true); 16]),
        Err(ArgsMismatch::Count)
    );
    let one = ArgChecks::of(&[Type::Bool]).unwrap();
    assert_eq!(one.check(&[]), Err(ArgsMismatch::Count));
    assert_eq!(ArgChecks::of(&[]).unwrap().check(&[]), Ok(()));
}
