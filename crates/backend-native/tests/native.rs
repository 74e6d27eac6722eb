//! The native backend on the kernels and on real system libraries (libc, libm, zlib): typed
//! and dynamic paths, and every error path.

use std::path::Path;

use backend_native::NativeBackend;
use ffi_trait::{Arg, Backend, BufferArg, Error, Signature, Source, Value, kernel};
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
    let mut b = NativeBackend::new();
    let lib = open(&mut b, kernels_library().to_str().unwrap());
    let n = 1000;
    let x = b.alloc_stable_buffer(n * 8, 64).unwrap();
    let y = b.alloc_stable_buffer(n * 8, 64).unwrap();
    // SAFETY: fresh buffers, no other views.
    let (xs, ys) = unsafe { (x.as_mut_slice_of::<f64>(), y.as_mut_slice_of::<f64>()) };
    for i in 0..n {
        xs[i] = i as f64 * 0.5 - 3.0;
        ys[i] = (n - i) as f64 * 0.25;
    }
    let (want_sum, want_dot) = (reference::sum_f64(xs), reference::dot_f64(xs, ys));

    // SAFETY: the kernels' signatures are those in ffi_trait::kernel; buffers hold n f64.
    unsafe {
        let add = b
            .prepare_typed::<(u32, u32), u32>(&lib, "ffikit_add_u32")
            .unwrap();
        assert_eq!(b.call_typed(&add, (40, 2)).unwrap(), 42);
        let sum = b
            .prepare_typed::<(BufferArg, usize), f64>(&lib, "ffikit_sum_f64")
            .unwrap();
        assert_eq!(b.call_typed(&sum, (x.arg(), n)).unwrap(), want_sum);
        let noop = b.prepare_typed::<(), ()>(&lib, "ffikit_noop").unwrap();
        b.call_typed(&noop, ()).unwrap();

        for k in kernel::KERNELS {
            let f = b.prepare(&lib, k.symbol, &sig(k.signature)).unwrap();
            let v = match k.name {
                "noop" => b.call(&f, &[], &mut []).unwrap(),
                "add_u32" => b
                    .call(&f, &[Arg::u32(7), Arg::u32(u32::MAX)], &mut [])
                    .unwrap(),
                "sum_f64" => b
                    .call(&f, &[Arg::buffer(x.arg()), Arg::usize(n)], &mut [])
                    .unwrap(),
                "dot_f64" => b
                    .call(
                        &f,
                        &[Arg::buffer(x.arg()), Arg::buffer(y.arg()), Arg::usize(n)],
                        &mut [],
                    )
                    .unwrap(),
                "axpy_f64" => {
                    let mut want = ys.to_vec();
                    reference::axpy_f64(2.0, xs, &mut want);
                    let v = b
                        .call(
                            &f,
                            &[
                                Arg::f64(2.0),
                                Arg::buffer(x.arg()),
                                Arg::buffer(y.arg()),
                                Arg::usize(n),
                            ],
                            &mut [],
                        )
                        .unwrap();
                    assert_eq!(ys, &want[..]);
                    v
                }
                "add_u32_batch" => {
                    let a = b.alloc_stable_buffer(16, 64).unwrap();
                    a.as_mut_slice_of::<u32>()
                        .copy_from_slice(&[1, 2, u32::MAX, 4]);
                    let args = [
                        Arg::buffer(a.arg()),
                        Arg::buffer(a.arg()),
                        Arg::buffer(a.arg()),
                        Arg::usize(4),
                    ];
                    let v = b.call(&f, &args, &mut []).unwrap();
                    assert_eq!(a.as_mut_slice_of::<u32>(), &[2, 4, u32::MAX - 1, 8]);
                    v
                }
                other => panic!("kernel {other} has no test"),
            };
            let want = match k.name {
                "add_u32" => Value::U32(6),
                "sum_f64" => Value::F64(want_sum),
                "dot_f64" => Value::F64(want_dot),
                _ => Value::Void,
            };
            assert_eq!(v, want, "{}", k.name);
        }
    }
}

#[test]
fn libc_strlen_abs_labs() {
    let mut b = NativeBackend::new();
    let libc = open(&mut b, "libc.so.6");
    let s = c"hello, ffikit";
    // SAFETY: these are libc's C signatures; the string is NUL-terminated.
    unsafe {
        let strlen = b.prepare(&libc, "strlen", &sig("usize(ptr)")).unwrap();
        assert_eq!(
            b.call(&strlen, &[Arg::ptr(s.as_ptr())], &mut []).unwrap(),
            Value::Usize(13)
        );
        let abs = b.prepare(&libc, "abs", &sig("i32(i32)")).unwrap();
        assert_eq!(
            b.call(&abs, &[Arg::i32(-42)], &mut []).unwrap(),
            Value::I32(42)
        );
        let labs = b.prepare(&libc, "labs", &sig("i64(i64)")).unwrap();
        assert_eq!(
            b.call(&labs, &[Arg::i64(-1 << 40)], &mut []).unwrap(),
            Value::I64(1 << 40)
        );
        let strlen_t = b
            .prepare_typed::<(*const std::ffi::c_char,), usize>(&libc, "strlen")
            .unwrap();
        assert_eq!(b.call_typed(&strlen_t, (s.as_ptr(),)).unwrap(), 13);
    }
}

#[test]
fn libm_cos_pow_fma_and_mixed_classes() {
    let mut b = NativeBackend::new();
    let libm = open(&mut b, "libm.so.6");
    // SAFETY: these are libm's C signatures.
    unsafe {
        let cos = b.prepare(&libm, "cos", &sig("f64(f64)")).unwrap();
        assert_eq!(
            b.call(&cos, &[Arg::f64(0.5)], &mut []).unwrap(),
            Value::F64(0.5f64.cos())
        );
        let pow = b.prepare(&libm, "pow", &sig("f64(f64, f64)")).unwrap();
        assert_eq!(
            b.call(&pow, &[Arg::f64(2.0), Arg::f64(10.0)], &mut [])
                .unwrap(),
            Value::F64(1024.0)
        );
        let fma = b.prepare(&libm, "fma", &sig("f64(f64, f64, f64)")).unwrap();
        let v = b
            .call(
                &fma,
                &[Arg::f64(0.1), Arg::f64(10.0), Arg::f64(-1.0)],
                &mut [],
            )
            .unwrap();
        assert_eq!(v, Value::F64(0.1f64.mul_add(10.0, -1.0)));
        // f32 in and out.
        let cosf = b.prepare(&libm, "cosf", &sig("f32(f32)")).unwrap();
        assert_eq!(
            b.call(&cosf, &[Arg::f32(0.25)], &mut []).unwrap(),
            Value::F32(0.25f32.cos())
        );
        // Mixed register classes: ldexp(double, int).
        let ldexp = b.prepare(&libm, "ldexp", &sig("f64(f64, i32)")).unwrap();
        assert_eq!(
            b.call(&ldexp, &[Arg::f64(1.5), Arg::i32(-3)], &mut [])
                .unwrap(),
            Value::F64(0.1875)
        );
        let pow_t = b.prepare_typed::<(f64, f64), f64>(&libm, "pow").unwrap();
        assert_eq!(b.call_typed(&pow_t, (3.0, 4.0)).unwrap(), 81.0);
    }
}

#[test]
fn zlib_crc32_adler32() {
    let mut b = NativeBackend::new();
    let z = open(&mut b, "libz.so.1");
    let data = b"The quick brown fox jumps over the lazy dog";
    // SAFETY: uLong crc32(uLong, const Bytef *, uInt); likewise adler32.
    unsafe {
        let crc = b.prepare(&z, "crc32", &sig("u64(u64, ptr, u32)")).unwrap();
        let args = [
            Arg::u64(0),
            Arg::ptr(data.as_ptr()),
            Arg::u32(data.len() as u32),
        ];
        assert_eq!(
            b.call(&crc, &args, &mut []).unwrap(),
            Value::U64(0x414f_a339)
        );
        let adler = b
            .prepare(&z, "adler32", &sig("u64(u64, ptr, u32)"))
            .unwrap();
        let args = [
            Arg::u64(1),
            Arg::ptr(data.as_ptr()),
            Arg::u32(data.len() as u32),
        ];
        assert_eq!(
            b.call(&adler, &args, &mut []).unwrap(),
            Value::U64(0x5bdc_0fda)
        );
    }
}

#[test]
fn errors_name_what_failed() {
    let mut b = NativeBackend::new();
    let e = b
        .open(Source::Path(Path::new("/no/such/libnothing.so")))
        .unwrap_err();
    assert!(matches!(e, Error::LibraryNotFound { .. }), "{e}");
    assert!(e.to_string().contains("/no/such/libnothing.so"), "{e}");
    assert!(matches!(
        b.open(Source::Bytes(b"\x7fELF")),
        Err(Error::UnsupportedSource { .. })
    ));

    let libm = open(&mut b, "libm.so.6");
    // SAFETY: failing prepares never produce a callable function; `cos` is f64(f64).
    unsafe {
        let e = b
            .prepare(&libm, "no_such_symbol", &sig("void()"))
            .unwrap_err();
        assert!(
            matches!(e, Error::SymbolNotFound { .. }) && e.to_string().contains("no_such_symbol"),
            "{e}"
        );
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
        let cos = b.prepare(&libm, "cos", &sig("f64(f64)")).unwrap();
        let e = b.call(&cos, &[], &mut []).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ArgumentCount {
                    expected: 1,
                    got: 0,
                    ..
                }
            ),
            "{e}"
        );
        let e = b.call(&cos, &[Arg::f32(1.0)], &mut []).unwrap_err();
        assert!(matches!(e, Error::ArgumentType { index: 0, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "argument 0 of `cos` must be f64, a value of type f32 was passed"
        );
    }
    let buf = b.alloc_stable_buffer(8, 64).unwrap();
    b.free_stable_buffer(buf).unwrap();
    assert!(matches!(
        b.free_stable_buffer(buf),
        Err(Error::BufferFreed { .. })
    ));
    let mut other = NativeBackend::new();
    let theirs = other.alloc_stable_buffer(8, 64).unwrap();
    assert!(matches!(
        b.free_stable_buffer(theirs),
        Err(Error::ForeignBuffer { .. })
    ));
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
