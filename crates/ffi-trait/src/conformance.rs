//! Backend conformance checks: the same tests, run unchanged through every backend that
//! calls host shared libraries (native, asm). Each function panics with a message naming what
//! failed; backend test suites call them from their own `#[test]`s.

use std::path::Path;

use crate::kernel::KERNELS;
use crate::{Arg, Backend, BufferArg, Error, Signature, Source, Value};

fn sig(text: &str) -> Signature {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// The error of a result that must have failed.
fn expect_err<T>(r: crate::Result<T>, what: &str) -> Error {
    match r {
        Ok(_) => panic!("{what} succeeded but must fail"),
        Err(e) => e,
    }
}

fn open<B: Backend>(b: &mut B, name: &str) -> B::Library {
    b.open(Source::Path(Path::new(name)))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every kernel of `libffikit_kernels.so` at `kernels`, through the typed and the dynamic
/// path, checked against the plain-Rust `reference` results: `reference_sum(x)`,
/// `reference_dot(x, y)` for the buffers it fills.
///
/// # Panics
/// On the first wrong result or error.
pub fn kernels<B: Backend>(
    b: &mut B,
    kernels: &Path,
    reference_sum: fn(&[f64]) -> f64,
    reference_dot: fn(&[f64], &[f64]) -> f64,
) {
    let lib = open(b, kernels.to_str().expect("UTF-8 path"));
    let n = 1000;
    let x = b.alloc_stable_buffer(n * 8, 64).unwrap();
    let y = b.alloc_stable_buffer(n * 8, 64).unwrap();
    // SAFETY: fresh buffers of this context, no other views while filling.
    let (xs, ys) = unsafe { (x.as_mut_slice_of::<f64>(), y.as_mut_slice_of::<f64>()) };
    for i in 0..n {
        xs[i] = i as f64 * 0.5 - 3.0;
        ys[i] = (n - i) as f64 * 0.25;
    }
    let (want_sum, want_dot) = (reference_sum(xs), reference_dot(xs, ys));
    // SAFETY: the kernels' signatures are those of crate::kernel; buffers hold n f64.
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
        for k in KERNELS {
            let f = b.prepare(&lib, k.symbol, &sig(k.signature)).unwrap();
            let v = match k.name {
                "noop" => b.call(&f, &[], &mut []).unwrap(),
                "add_u32" => b
                    .call(&f, &[Arg::u32(7), Arg::u32(u32::MAX)], &mut [])
                    .unwrap(),
                "sum_f64" => b
                    .call(&f, &[Arg::buffer(x), Arg::usize(n)], &mut [])
                    .unwrap(),
                "dot_f64" => b
                    .call(
                        &f,
                        &[Arg::buffer(x), Arg::buffer(y), Arg::usize(n)],
                        &mut [],
                    )
                    .unwrap(),
                "axpy_f64" => {
                    let want: Vec<f64> =
                        xs.iter().zip(ys.iter()).map(|(a, b)| 2.0 * a + b).collect();
                    let v = b
                        .call(
                            &f,
                            &[Arg::f64(2.0), Arg::buffer(x), Arg::buffer(y), Arg::usize(n)],
                            &mut [],
                        )
                        .unwrap();
                    assert_eq!(ys, &want[..], "axpy_f64");
                    v
                }
                "add_u32_batch" => {
                    let a = b.alloc_stable_buffer(16, 64).unwrap();
                    a.as_mut_slice_of::<u32>()
                        .copy_from_slice(&[1, 2, u32::MAX, 4]);
                    let args = [
                        Arg::buffer(a),
                        Arg::buffer(a),
                        Arg::buffer(a),
                        Arg::usize(4),
                    ];
                    let v = b.call(&f, &args, &mut []).unwrap();
                    assert_eq!(a.as_mut_slice_of::<u32>(), &[2, 4, u32::MAX - 1, 8]);
                    v
                }
                other => panic!("kernel {other} has no conformance check"),
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

/// libc (`strlen`, `abs`, `labs`), libm (`cos`, `pow`, `fma`, `cosf`, `ldexp`) and zlib
/// (`crc32`, `adler32`), dynamic and typed.
///
/// # Panics
/// On the first wrong result or error (including a missing system library).
pub fn system_libraries<B: Backend>(b: &mut B) {
    let libc = open(b, "libc.so.6");
    let libm = open(b, "libm.so.6");
    let z = open(b, "libz.so.1");
    let s = c"hello, ffikit";
    let data = b"The quick brown fox jumps over the lazy dog";
    // SAFETY: these are the libraries' C signatures; the pointers are valid and the strings
    // NUL-terminated where the callee expects it.
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
        let cosf = b.prepare(&libm, "cosf", &sig("f32(f32)")).unwrap();
        assert_eq!(
            b.call(&cosf, &[Arg::f32(0.25)], &mut []).unwrap(),
            Value::F32(0.25f32.cos())
        );
        let ldexp = b.prepare(&libm, "ldexp", &sig("f64(f64, i32)")).unwrap();
        assert_eq!(
            b.call(&ldexp, &[Arg::f64(1.5), Arg::i32(-3)], &mut [])
                .unwrap(),
            Value::F64(0.1875)
        );
        let pow_t = b.prepare_typed::<(f64, f64), f64>(&libm, "pow").unwrap();
        assert_eq!(b.call_typed(&pow_t, (3.0, 4.0)).unwrap(), 81.0);

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

/// The errors every backend reports the same way: a missing library, a missing symbol,
/// wrong argument counts and types, freed and foreign buffers.
///
/// # Panics
/// When an error is missing or of the wrong kind.
pub fn errors<B: Backend>(b: &mut B, other: &mut B) {
    let e = expect_err(
        b.open(Source::Path(Path::new("/no/such/libnothing.so"))),
        "opening a missing library",
    );
    assert!(
        matches!(e, Error::LibraryNotFound { .. })
            && e.to_string().contains("/no/such/libnothing.so"),
        "{e}"
    );
    let libm = open(b, "libm.so.6");
    // SAFETY: failing prepares produce nothing callable; `cos` is f64(f64).
    unsafe {
        let e = expect_err(
            b.prepare(&libm, "no_such_symbol", &sig("void()")),
            "preparing a missing symbol",
        );
        assert!(
            matches!(e, Error::SymbolNotFound { .. }) && e.to_string().contains("no_such_symbol"),
            "{e}"
        );
        let cos = b.prepare(&libm, "cos", &sig("f64(f64)")).unwrap();
        let e = expect_err(b.call(&cos, &[], &mut []), "a call with too few arguments");
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
        let e = expect_err(
            b.call(&cos, &[Arg::f32(1.0)], &mut []),
            "a call with a wrong argument type",
        );
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
    let theirs = other.alloc_stable_buffer(8, 64).unwrap();
    assert!(matches!(
        b.free_stable_buffer(theirs),
        Err(Error::ForeignBuffer { .. })
    ));
}
