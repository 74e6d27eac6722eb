//! The native backend: the shared conformance checks (kernels; libc, libm, zlib; errors),
//! the native-only limits, and register placement through a C fixture.

use std::path::Path;

use backend_native::NativeBackend;
use ffi_trait::{Arg, Backend, Error, Signature, Source, Value, conformance};
use ffikit_kernels::{locate::kernels_library, reference};

fn sig(text: &str) -> Signature {
    text.parse().unwrap()
}

fn open(b: &mut NativeBackend, name: &str) -> backend_native::NativeLibrary {
    b.open(Source::Path(Path::new(name)))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn kernels_typed_and_dynamic() {
    conformance::kernels(
        &mut NativeBackend::new(),
        &kernels_library(),
        reference::sum_f64,
        reference::dot_f64,
    );
}

#[test]
fn libc_libm_zlib() {
    conformance::system_libraries(&mut NativeBackend::new());
}

#[test]
fn errors_name_what_failed() {
    conformance::errors(&mut NativeBackend::new(), &mut NativeBackend::new());
    let mut b = NativeBackend::new();
    assert!(matches!(
        b.open(Source::Bytes(b"\x7fELF")),
        Err(Error::UnsupportedSource { .. })
    ));
    let libm = open(&mut b, "libm.so.6");
    // SAFETY: failing prepares never produce a callable function.
    unsafe {
        let e = b
            .prepare_typed::<(), ()>(&libm, "no_such_symbol")
            .unwrap_err();
        assert!(matches!(e, Error::SymbolNotFound { .. }), "{e}");
        for (text, why) in [
            ("{f64, f64}(f64)", "struct returns"),
            ("f64({i32, i32})", "structs by value"),
            ("i32(ptr, ..., f64)", "variadic"),
            ("void(i64, i64, i64, i64, i64, i64, i64)", "7 integer"),
            (
                "void(f64, f64, f64, f64, f64, f64, f64, f64, f64)",
                "9 floating-point",
            ),
        ] {
            let e = b.prepare(&libm, "cos", &sig(text)).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::UnsupportedSignature { .. }), "{msg}");
            assert!(msg.contains(why) && msg.contains("asm backend"), "{msg}");
        }
    }
}

#[test]
fn every_register_reaches_the_callee() {
    let mut b = NativeBackend::new();
    let fx = open(&mut b, env!("FFIKIT_NATIVE_FIXTURE"));
    // SAFETY: the fixture's C signatures (tests/fixture.c) are the ones given.
    unsafe {
        let f = b
            .prepare(&fx, "ffx_ints6", &sig("i64(i64, i64, i64, i64, i64, i64)"))
            .unwrap();
        let args: Vec<Arg> = (1..=6).map(|i| Arg::i64(i * 1000 + i)).collect();
        let want: i64 = (1..=6).map(|i| i * (i * 1000 + i)).sum();
        assert_eq!(b.call(&f, &args, &mut []).unwrap(), Value::I64(want));

        let f = b
            .prepare(
                &fx,
                "ffx_floats8",
                &sig("f64(f64, f64, f64, f64, f64, f64, f64, f64)"),
            )
            .unwrap();
        let args: Vec<Arg> = (1..=8).map(|i| Arg::f64(i as f64 + 0.5)).collect();
        let want: f64 = (1..=8).map(|i| i as f64 * (i as f64 + 0.5)).sum();
        assert_eq!(b.call(&f, &args, &mut []).unwrap(), Value::F64(want));

        let f = b
            .prepare(&fx, "ffx_small", &sig("i32(i8, u8, i16, u16, bool)"))
            .unwrap();
        let args = [
            Arg::i8(-3),
            Arg::u8(250),
            Arg::i16(-300),
            Arg::u16(60000),
            Arg::bool(true),
        ];
        let want = -3 + 250 * 10 + -300 * 100 + 60000 * 1000 + 10_000_000;
        assert_eq!(b.call(&f, &args, &mut []).unwrap(), Value::I32(want));

        let f = b
            .prepare(
                &fx,
                "ffx_interleaved",
                &sig("f64(i32, f64, i64, f32, u32, f64)"),
            )
            .unwrap();
        let args = [
            Arg::i32(-1),
            Arg::f64(2.5),
            Arg::i64(3),
            Arg::f32(4.25),
            Arg::u32(5),
            Arg::f64(6.5),
        ];
        let want = -1.0 + 2.0 * 2.5 + 3.0 * 3.0 + 4.0 * 4.25 + 5.0 * 5.0 + 6.0 * 6.5;
        assert_eq!(b.call(&f, &args, &mut []).unwrap(), Value::F64(want));

        let f = b
            .prepare(&fx, "ffx_f32mix", &sig("f32(f32, f64, f32)"))
            .unwrap();
        assert_eq!(
            b.call(&f, &[Arg::f32(1.5), Arg::f64(2.0), Arg::f32(0.5)], &mut [])
                .unwrap(),
            Value::F32(7.0)
        );

        // Narrow returns: the upper bits of the return register are not trusted.
        let f = b.prepare(&fx, "ffx_ret_i8", &sig("i8(i32)")).unwrap();
        assert_eq!(
            b.call(&f, &[Arg::i32(0x1ff)], &mut []).unwrap(),
            Value::I8(-1)
        );
        let f = b.prepare(&fx, "ffx_ret_u16", &sig("u16(i32)")).unwrap();
        assert_eq!(
            b.call(&f, &[Arg::i32(-1)], &mut []).unwrap(),
            Value::U16(0xffff)
        );
        let f = b.prepare(&fx, "ffx_ret_bool", &sig("bool(i32)")).unwrap();
        assert_eq!(
            b.call(&f, &[Arg::i32(7)], &mut []).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            b.call(&f, &[Arg::i32(0)], &mut []).unwrap(),
            Value::Bool(false)
        );

        // The same through the typed path.
        let t = b
            .prepare_typed::<(i32, f64, i64, f32, u32, f64), f64>(&fx, "ffx_interleaved")
            .unwrap();
        assert_eq!(b.call_typed(&t, (-1, 2.5, 3, 4.25, 5, 6.5)).unwrap(), want);
    }
}

/// `call_raw` (libffi's convention, the C API's `ffikit_call`): each register is read from
/// its argument pointer with the load of its type, and the return is widened into the slot.
#[test]
fn raw_calls_read_each_argument_with_its_type() {
    use std::ffi::c_void;
    let mut b = NativeBackend::new();
    let fx = open(&mut b, env!("FFIKIT_NATIVE_FIXTURE"));
    let p = |r: &dyn std::any::Any| -> *const c_void {
        (r as *const dyn std::any::Any).cast::<c_void>()
    };
    // SAFETY: the fixture's C signatures (tests/fixture.c); every pointer is at a value of
    // its parameter's type; the return slot holds 8 bytes.
    unsafe {
        let mut ret = [0u64; 1];
        let out = ret.as_mut_ptr().cast::<c_void>();

        let f = b
            .prepare(&fx, "ffx_small", &sig("i32(i8, u8, i16, u16, bool)"))
            .unwrap();
        let (a, c, d, e, g) = (-3i8, 250u8, -300i16, 60000u16, true);
        let ptrs = [p(&a), p(&c), p(&d), p(&e), p(&g)];
        b.call_raw(&f, ptrs.as_ptr(), 5, out).unwrap();
        let want: i32 = -3 + 250 * 10 + -300 * 100 + 60000 * 1000 + 10_000_000;
        // An `i32` return is sign-extended to the 8-byte slot (libffi's `ffi_arg`).
        assert_eq!(ret[0], want as i64 as u64);

        let f = b
            .prepare(
                &fx,
                "ffx_interleaved",
                &sig("f64(i32, f64, i64, f32, u32, f64)"),
            )
            .unwrap();
        let (a, c, d, e, g, h) = (-1i32, 2.5f64, 3i64, 4.25f32, 5u32, 6.5f64);
        let ptrs = [p(&a), p(&c), p(&d), p(&e), p(&g), p(&h)];
        b.call_raw(&f, ptrs.as_ptr(), 6, out).unwrap();
        let want = -1.0 + 2.0 * 2.5 + 3.0 * 3.0 + 4.0 * 4.25 + 5.0 * 5.0 + 6.0 * 6.5;
        assert_eq!(f64::from_bits(ret[0]), want);

        let f = b.prepare(&fx, "ffx_ret_i8", &sig("i8(i32)")).unwrap();
        let a = 0x1ffi32;
        b.call_raw(&f, [p(&a)].as_ptr(), 1, out).unwrap();
        assert_eq!(ret[0], u64::MAX, "-1 as i8, widened");

        // A wrong count is an error, as through `call`.
        let e = b.call_raw(&f, [p(&a)].as_ptr(), 2, out).unwrap_err();
        assert!(matches!(e, Error::ArgumentCount { .. }), "{e}");
    }
}
