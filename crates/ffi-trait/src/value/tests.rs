use super::*;

#[test]
fn images_extend_by_signedness() {
    assert_eq!(Arg::i8(-1).bits(), u64::MAX);
    assert_eq!(Arg::u8(0xff).bits(), 0xff);
    assert_eq!(Arg::i32(-2).bits(), -2i64 as u64);
    assert_eq!(Arg::u32(u32::MAX).bits(), u32::MAX as u64);
    assert_eq!(Arg::f32(1.5).bits(), 1.5f32.to_bits() as u64);
    assert_eq!(Arg::f64(1.0).int_bits(), None);
    assert_eq!(std::mem::size_of::<Arg<'_>>(), 16);
}

#[test]
fn from_bits_ignores_upper_garbage() {
    assert_eq!(
        Value::from_bits(&Type::I8, 0xdead_beef_0000_00ff),
        Value::I8(-1)
    );
    assert_eq!(Value::from_bits(&Type::Bool, 0xff00), Value::Bool(false));
    assert_eq!(
        Value::from_bits(&Type::F32, 0xffff_ffff_0000_0000 | 1.5f32.to_bits() as u64),
        Value::F32(1.5)
    );
}

#[test]
fn matches_checks_kind_and_struct_size() {
    let s = crate::StructType::new(vec![Type::I32, Type::I32]).unwrap();
    assert!(Arg::bytes(&[0; 8]).matches(&Type::Struct(s.clone())));
    assert!(!Arg::bytes(&[0; 4]).matches(&Type::Struct(s)));
    assert!(!Arg::i32(0).matches(&Type::U32));
    assert!(Arg::ptr(std::ptr::null::<u8>()).matches(&Type::Ptr));
    assert_eq!(Arg::bytes(&[1, 2]).struct_bytes(), Some(&[1u8, 2][..]));
    assert_eq!(format!("{:?}", Arg::i16(-5)), "i16(-5)");
}

/// Every scalar type of the grammar (`void` and structs not included).
pub(crate) fn scalar_types() -> [Type; 14] {
    [
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
    ]
}

#[test]
fn arg_check_agrees_with_matches() {
    let s8 = crate::StructType::new(vec![Type::I32, Type::I32]).unwrap();
    let s3 = crate::StructType::new(vec![Type::U8, Type::U8, Type::U8]).unwrap();
    let mut types = scalar_types().to_vec();
    types.extend([Type::Struct(s8), Type::Struct(s3)]);
    let mut buf = crate::HostBuffers::new(crate::OwnerId::fresh());
    let b = buf.alloc(64, 64).unwrap();
    let bytes = [0u8; 8];
    let args = [
        Arg::bool(true),
        Arg::i8(-1),
        Arg::u8(1),
        Arg::i16(-1),
        Arg::u16(1),
        Arg::i32(-1),
        Arg::u32(1),
        Arg::i64(-1),
        Arg::u64(1),
        Arg::isize(-1),
        Arg::usize(1),
        Arg::f32(1.0),
        Arg::f64(1.0),
        Arg::ptr(&bytes),
        Arg::buffer(b),
        Arg::bytes(&bytes),
        Arg::bytes(&bytes[..3]),
        Arg::bytes(&bytes[..4]),
    ];
    // The rule the header encoding must implement, stated on the decoded kind and length.
    let allowed = |a: &Arg<'_>, ty: &Type| match (a.kind(), ty) {
        (ArgKind::Buffer, Type::Ptr) => true,
        (ArgKind::Struct, Type::Struct(s)) => a.struct_len() == s.size(),
        (kind, ty) => ArgKind::of(ty) == Some(kind),
    };
    for ty in &types {
        let check = ArgCheck::of(ty).unwrap();
        for a in &args {
            assert_eq!(check.mismatch(a) == 0, allowed(a, ty), "{a:?} for {ty}");
            assert_eq!(a.matches(ty), allowed(a, ty), "{a:?} for {ty}");
        }
    }
    assert_eq!(ArgCheck::of(&Type::Void), None);
}

#[test]
fn pointers_and_buffers_decode_apart() {
    let mut buf = crate::HostBuffers::new(crate::OwnerId::fresh());
    let b = buf.alloc(64, 64).unwrap();
    let raw = Arg::ptr(b.host_ptr());
    assert_eq!((raw.kind(), raw.owner()), (ArgKind::Ptr, None));
    let owned = Arg::buffer(b);
    assert_eq!(owned.kind(), ArgKind::Buffer);
    assert_eq!(owned.owner(), Some(b.owner().get()));
    assert_eq!(owned.bits(), raw.bits());
    // Plain host memory as a buffer argument keeps its owner, `OwnerId::HOST` (0).
    let host = Arg::buffer(crate::BufferArg::host(b.host_ptr()));
    assert_eq!((host.kind(), host.owner()), (ArgKind::Buffer, Some(0)));
    assert!(raw.matches(&Type::Ptr) && owned.matches(&Type::Ptr) && host.matches(&Type::Ptr));
}

#[test]
fn struct_lengths_past_the_checked_bits_match_nothing() {
    let big = vec![0u8; CHECKED_LEN_MAX as usize + 1];
    let arg = Arg::bytes(&big);
    assert_eq!(arg.struct_len(), big.len());
    assert_eq!(arg.struct_bytes().map(<[u8]>::len), Some(big.len()));
    let limit = CHECKED_LEN_MAX as usize;
    for (len, size, ok) in [
        (limit + 1, limit + 1, false),
        (limit, limit, false),
        (limit - 1, limit - 1, true),
        (limit - 2, limit - 1, false),
        (limit + 1, 1, false),
        (1, 1, true),
    ] {
        let fits = ArgCheck::of_struct(size).mismatch(&Arg::bytes(&big[..len])) == 0;
        assert_eq!(fits, ok, "{len} bytes for a struct of {size}");
    }
}

#[test]
fn return_decode_agrees_with_from_bits() {
    let s = crate::StructType::new(vec![Type::I32]).unwrap();
    let mut types = scalar_types().to_vec();
    types.extend([Type::Void, Type::Struct(s)]);
    let samples = [
        0u64,
        1,
        0xff,
        0x8000_0000,
        u64::MAX,
        0xdead_beef_0000_0100,
        1.5f32.to_bits() as u64 | 0xffff_ffff_0000_0000,
        (-2.25f64).to_bits(),
    ];
    assert_eq!(std::mem::size_of::<Value>(), 16);
    for ty in &types {
        let d = ReturnDecode::of(ty);
        for &b in &samples {
            let (got, want) = (d.value(b), Value::from_bits(ty, b));
            let same = match (got, want) {
                (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
                (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
                (x, y) => x == y,
            };
            assert!(same, "{ty} from {b:#x}: {got:?} vs {want:?}");
            if *ty == Type::Bool {
                // The byte itself, not `==` (which may assume a valid `bool`).
                // SAFETY: `Value` is `repr(C, u8)` with the payload at byte 8 (see
                // `ReturnDecode::value`); the 16 bytes are readable.
                let byte = unsafe { *(&got as *const Value).cast::<u8>().add(8) };
                assert!(byte <= 1, "bool from {b:#x} holds byte {byte:#x}");
            }
        }
    }
}
