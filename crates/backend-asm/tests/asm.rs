//! The asm backend on the shared conformance checks (run unchanged from the native backend's
//! suite), on real libraries no one here wrote (libc's variadic `snprintf`, `div`/`ldiv`
//! struct returns, `qsort` with a C comparator, libm's `frexp`), differentially against the
//! native typed path with random values, with a counting allocator (zero allocations per
//! call), and with stack budgets.

use std::path::Path;

use backend_asm::AsmBackend;
use ffi_trait::raw::MissingPointer;
use ffi_trait::{Arg, Backend, Error, SharedLibrary, Signature, Source, Value, conformance};
use ffikit_kernels::{locate::kernels_library, reference};
use ffikit_test_support::{CountingAllocator, abi_corpus, allocations_in};
use proptest::prelude::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn sig(text: &str) -> Signature {
    text.parse().unwrap()
}

/// The ABI fixture library (`ffikit_test_support::abi_corpus`, compiled on first use).
fn abi_fixture() -> &'static str {
    abi_corpus::fixture()
        .to_str()
        .expect("the target directory's path is UTF-8")
}

fn open(b: &mut AsmBackend, name: &str) -> SharedLibrary {
    b.open(Source::Path(Path::new(name)))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn conformance_kernels() {
    conformance::kernels(
        &mut AsmBackend::new().unwrap(),
        &kernels_library(),
        reference::sum_f64,
        reference::dot_f64,
    );
}

/// Calls whose kinds make one run per class are decided from the arguments' key alone (the
/// array is never read at another index): a mismatch is named from the key, for keyed
/// parameter lists, lists with a struct and lists over 14 parameters alike.
#[test]
fn mismatches_of_key_placed_calls_name_the_argument() {
    let mut b = AsmBackend::new().unwrap();
    let fx = open(&mut b, abi_fixture());
    let text = "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)";
    // SAFETY: the fixture's signature (never called with these arguments).
    let f = unsafe { b.prepare(&fx, "ffx_6i64_8f64", &sig(text)) }.unwrap();
    let args: Vec<Arg<'_>> = (0..14)
        .map(|i| {
            if i < 6 {
                Arg::i64(i)
            } else {
                Arg::f64(i as f64)
            }
        })
        .collect();
    // SAFETY: plain values (the call must fail before calling).
    let call = |b: &mut AsmBackend, a: &[Arg<'_>]| unsafe { b.call(&f, a, &mut []) }.unwrap_err();
    // One run per class, the float run cut short: a count error.
    match call(&mut b, &args[..13]) {
        Error::ArgumentCount {
            expected: 14,
            got: 13,
            ..
        } => {}
        e => panic!("{e:?}"),
    }
    // All integers: one run, the wrong kinds from argument 6 on.
    let ints: Vec<Arg<'_>> = (0..14).map(Arg::i64).collect();
    match call(&mut b, &ints) {
        Error::ArgumentType {
            index: 6,
            expected,
            got,
            ..
        } => {
            assert_eq!((expected.as_str(), got.as_str()), ("f64", "i64"));
        }
        e => panic!("{e:?}"),
    }
    // A buffer reads as `ptr` from the key (argument 6 extends the integer run); past the
    // float run the arguments are no longer one run per class, and the plan's check names
    // the buffer.
    let buf = b.alloc_stable_buffer(8, 8).unwrap();
    for (at, name) in [(6, "ptr"), (13, "buffer")] {
        let mut with_buf = args.clone();
        with_buf[at] = Arg::buffer(buf);
        match call(&mut b, &with_buf) {
            Error::ArgumentType {
                index,
                expected,
                got,
                ..
            } => {
                assert_eq!((index, expected.as_str(), got.as_str()), (at, "f64", name));
            }
            e => panic!("{e:?}"),
        }
    }
    // A struct parameter, given a scalar.
    // SAFETY: the fixture's signature (never called).
    let swap = unsafe { b.prepare(&fx, "ffx_swap16", &sig("{i64, i64}({i64, i64})")) }.unwrap();
    // SAFETY: as above.
    match unsafe { b.call(&swap, &[Arg::i64(1)], &mut [0; 16]) }.unwrap_err() {
        Error::ArgumentType {
            index: 0,
            expected,
            got,
            ..
        } => {
            assert_eq!(
                (expected.as_str(), got.as_str()),
                ("{i64, i64} (16 bytes)", "i64")
            );
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn conformance_system_libraries() {
    conformance::system_libraries(&mut AsmBackend::new().unwrap());
}

#[test]
fn conformance_errors() {
    conformance::errors(
        &mut AsmBackend::new().unwrap(),
        &mut AsmBackend::new().unwrap(),
    );
}

#[test]
fn snprintf_variadic_ints_and_doubles() {
    let mut b = AsmBackend::new().unwrap();
    let libc = open(&mut b, "libc.so.6");
    let mut out = [0u8; 128];
    let fmt = c"%d|%.3f|%ld|%c|%.1f|%s|%u";
    let word = c"ffi";
    // SAFETY: snprintf(char *, size_t, const char *, ...) with arguments matching the format
    // (an f32 is promoted to double, as C does).
    let v = unsafe {
        let f = b
            .prepare(
                &libc,
                "snprintf",
                &sig("i32(ptr, usize, ptr, ..., i32, f64, i64, i8, f32, ptr, u32)"),
            )
            .unwrap();
        let args = [
            Arg::ptr(out.as_mut_ptr()),
            Arg::usize(out.len()),
            Arg::ptr(fmt.as_ptr()),
            Arg::i32(-42),
            Arg::f64(3.25),
            Arg::i64(1 << 40),
            Arg::i8(b'Z' as i8),
            Arg::f32(2.5),
            Arg::ptr(word.as_ptr()),
            Arg::u32(7),
        ];
        b.call(&f, &args, &mut []).unwrap()
    };
    let text = "-42|3.250|1099511627776|Z|2.5|ffi|7";
    assert_eq!(v, Value::I32(text.len() as i32));
    assert_eq!(&out[..text.len()], text.as_bytes());

    // Many doubles: past the eight vector registers, onto the stack.
    let fmt = c"%g %g %g %g %g %g %g %g %g %g";
    // SAFETY: as above, ten doubles for ten %g.
    unsafe {
        let f = b
            .prepare(
                &libc,
                "snprintf",
                &sig("i32(ptr, usize, ptr, ..., f64, f64, f64, f64, f64, f64, f64, f64, f64, f64)"),
            )
            .unwrap();
        let mut args = vec![
            Arg::ptr(out.as_mut_ptr()),
            Arg::usize(out.len()),
            Arg::ptr(fmt.as_ptr()),
        ];
        args.extend((1..=10).map(|i| Arg::f64(i as f64 * 1.5)));
        b.call(&f, &args, &mut []).unwrap();
    }
    let text = "1.5 3 4.5 6 7.5 9 10.5 12 13.5 15";
    assert_eq!(&out[..text.len()], text.as_bytes());
}

#[test]
fn div_ldiv_struct_returns_and_frexp() {
    let mut b = AsmBackend::new().unwrap();
    let libc = open(&mut b, "libc.so.6");
    let libm = open(&mut b, "libm.so.6");
    // SAFETY: div_t div(int, int); ldiv_t ldiv(long, long); double frexp(double, int *).
    unsafe {
        let div = b
            .prepare(&libc, "div", &sig("{i32, i32}(i32, i32)"))
            .unwrap();
        let mut r = [0u8; 8];
        assert_eq!(
            b.call(&div, &[Arg::i32(-17), Arg::i32(5)], &mut r).unwrap(),
            Value::Struct
        );
        assert_eq!(i32::from_ne_bytes(r[..4].try_into().unwrap()), -3);
        assert_eq!(i32::from_ne_bytes(r[4..].try_into().unwrap()), -2);
        let ldiv = b
            .prepare(&libc, "ldiv", &sig("{i64, i64}(i64, i64)"))
            .unwrap();
        let mut r = [0u8; 16];
        b.call(&ldiv, &[Arg::i64(1 << 40), Arg::i64(7)], &mut r)
            .unwrap();
        assert_eq!(
            i64::from_ne_bytes(r[..8].try_into().unwrap()),
            (1i64 << 40) / 7
        );
        assert_eq!(
            i64::from_ne_bytes(r[8..].try_into().unwrap()),
            (1i64 << 40) % 7
        );
        let e = b
            .call(&ldiv, &[Arg::i64(1), Arg::i64(1)], &mut [0u8; 8])
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ReturnSlotTooSmall {
                    needed: 16,
                    got: 8,
                    ..
                }
            ),
            "{e}"
        );

        let frexp = b.prepare(&libm, "frexp", &sig("f64(f64, ptr)")).unwrap();
        let mut exp = 0i32;
        let v = b
            .call(
                &frexp,
                &[Arg::f64(48.0), Arg::ptr(&mut exp as *mut i32)],
                &mut [],
            )
            .unwrap();
        assert_eq!((v, exp), (Value::F64(0.75), 6));
        let ldexp = b.prepare(&libm, "ldexp", &sig("f64(f64, i32)")).unwrap();
        assert_eq!(
            b.call(&ldexp, &[Arg::f64(0.75), Arg::i32(6)], &mut [])
                .unwrap(),
            Value::F64(48.0)
        );
    }
}

#[test]
fn qsort_with_a_c_comparator() {
    let mut b = AsmBackend::new().unwrap();
    let libc = open(&mut b, "libc.so.6");
    let fixture = open(&mut b, abi_fixture());
    let cmp = fixture.symbol_address("ffx_cmp_i32").unwrap();
    let mut v: Vec<i32> = vec![5, -3, 99, 0, 42, -100, 7, 7, 1];
    // SAFETY: void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
    // on a Vec<i32> of n elements with a comparator of i32.
    unsafe {
        let qsort = b
            .prepare(&libc, "qsort", &sig("void(ptr, usize, usize, ptr)"))
            .unwrap();
        let args = [
            Arg::ptr(v.as_mut_ptr()),
            Arg::usize(v.len()),
            Arg::usize(4),
            Arg::ptr(cmp),
        ];
        b.call(&qsort, &args, &mut []).unwrap();
    }
    assert_eq!(v, vec![-100, -3, 0, 1, 5, 7, 7, 42, 99]);
}

#[test]
fn zero_allocations_per_call() {
    let mut b = AsmBackend::new().unwrap();
    let lib = open(&mut b, kernels_library().to_str().unwrap());
    let fixture = open(&mut b, abi_fixture());
    let x = b.alloc_stable_buffer(800, 64).unwrap();
    // SAFETY: the kernels' and the fixture's signatures.
    let (add, sum, typed, big) = unsafe {
        (
            b.prepare(&lib, "ffikit_add_u32", &sig("u32(u32, u32)"))
                .unwrap(),
            b.prepare(&lib, "ffikit_sum_f64", &sig("f64(ptr, usize)"))
                .unwrap(),
            b.prepare_typed::<(u32, u32), u32>(&lib, "ffikit_add_u32")
                .unwrap(),
            b.prepare(&fixture, "abi_0", &sig("bool(bool)")).unwrap(),
        )
    };
    let s = [0u8; 24];
    // SAFETY: `ffx_capture` ignores its arguments, and the struct is 24 bytes.
    let stacky = unsafe {
        b.prepare(
            &fixture,
            "ffx_capture",
            &sig("{i64, i64, i64}(i64, i64, i64, i64, i64, i64, i64, {i64, i64, i64}, f64)"),
        )
        .unwrap()
    };
    let mut ret = [0u8; 24];
    let ((), allocs) = allocations_in(|| {
        for i in 0..1000u32 {
            // SAFETY: as above; the buffer holds 100 f64.
            unsafe {
                b.call(&add, &[Arg::u32(i), Arg::u32(1)], &mut []).unwrap();
                b.call(&sum, &[Arg::buffer(x), Arg::usize(100)], &mut [])
                    .unwrap();
                b.call_typed(&typed, (i, 2)).unwrap();
                b.call(&big, &[Arg::bool(true)], &mut []).unwrap();
                let args = [
                    Arg::i64(1),
                    Arg::i64(2),
                    Arg::i64(3),
                    Arg::i64(4),
                    Arg::i64(5),
                    Arg::i64(6),
                    Arg::i64(7),
                    Arg::bytes(&s),
                    Arg::f64(1.0),
                ];
                b.call(&stacky, &args, &mut ret).unwrap();
            }
        }
    });
    assert_eq!(allocs, 0, "allocations during 5,000 calls");
}

#[test]
fn stack_budget_is_checked_before_the_call() {
    let mut b = AsmBackend::new().unwrap();
    let lib = open(&mut b, kernels_library().to_str().unwrap());
    // SAFETY: the kernel's signature.
    let mut add = unsafe { b.prepare(&lib, "ffikit_add_u32", &sig("u32(u32, u32)")) }.unwrap();
    add.set_stack_budget(Some(16 * 1024));
    assert_eq!(
        // SAFETY: no pointers.
        unsafe { b.call(&add, &[Arg::u32(1), Arg::u32(2)], &mut []) }.unwrap(),
        Value::U32(3)
    );
    add.set_stack_budget(Some(1 << 40));
    // SAFETY: the call does not happen: the budget fails first.
    let e = unsafe { b.call(&add, &[Arg::u32(1), Arg::u32(2)], &mut []) }.unwrap_err();
    assert!(matches!(e, Error::StackBudgetExceeded { .. }), "{e}");
    assert!(e.to_string().contains("ffikit_add_u32"), "{e}");
    // A thread with a small stack has less left.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut b = AsmBackend::new().unwrap();
            let lib = open(&mut b, kernels_library().to_str().unwrap());
            // SAFETY: the kernel's signature.
            let mut add =
                unsafe { b.prepare(&lib, "ffikit_add_u32", &sig("u32(u32, u32)")) }.unwrap();
            add.set_stack_budget(Some(1024 * 1024));
            // SAFETY: the call does not happen.
            unsafe { b.call(&add, &[Arg::u32(1), Arg::u32(2)], &mut []) }.unwrap_err()
        })
        .unwrap();
    assert!(matches!(
        handle.join().unwrap(),
        Error::StackBudgetExceeded { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random values through the asm backend's dynamic and typed paths and through a native
    /// call (Rust's own `extern "C"` call) of the same fixture function agree.
    #[test]
    fn dynamic_asm_agrees_with_a_compiled_call(a in any::<i8>(), bv in any::<u16>(), c in -1e9f64..1e9, d in -1e6f32..1e6, e in any::<i64>(), f in any::<u32>(), g in any::<bool>()) {
        thread_local! {
            static STATE: std::cell::RefCell<Option<(AsmBackend, SharedLibrary)>> = const { std::cell::RefCell::new(None) };
        }
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            let (b, lib) = s.get_or_insert_with(|| {
                let mut b = AsmBackend::new().unwrap();
                let lib = open(&mut b, abi_fixture());
                (b, lib)
            });
            let text = "f64(i8, u16, f64, f32, i64, u32, bool, i8, u16, f64, f32, i64, u32, bool)";
            let code = lib.symbol_address("ffx_diff14").unwrap();
            // SAFETY: ffx_diff14 has exactly this signature (test-support's
            // src/abi_corpus/handwritten.c).
            let want = unsafe {
                let compiled: extern "C" fn(i8, u16, f64, f32, i64, u32, bool, i8, u16, f64, f32, i64, u32, bool) -> f64 =
                    std::mem::transmute(code);
                compiled(a, bv, c, d, e, f, g, a, bv, c, d, e, f, g)
            };
            let args = [Arg::i8(a), Arg::u16(bv), Arg::f64(c), Arg::f32(d), Arg::i64(e), Arg::u32(f), Arg::bool(g),
                        Arg::i8(a), Arg::u16(bv), Arg::f64(c), Arg::f32(d), Arg::i64(e), Arg::u32(f), Arg::bool(g)];
            // SAFETY: as above.
            let got = unsafe {
                let fun = b.prepare(lib, "ffx_diff14", &sig(text)).unwrap();
                b.call(&fun, &args, &mut []).unwrap()
            };
            prop_assert_eq!(got, Value::F64(want));
            // And the typed path (fourteen parameters, past 6 integer / 8 vector registers on
            // x86-64 and spilling on AArch64).
            // SAFETY: as above.
            let typed = unsafe {
                let fun = b
                    .prepare_typed::<(i8, u16, f64, f32, i64, u32, bool, i8, u16, f64, f32, i64, u32, bool), f64>(lib, "ffx_diff14")
                    .unwrap();
                b.call_typed(&fun, (a, bv, c, d, e, f, g, a, bv, c, d, e, f, g)).unwrap()
            };
            prop_assert_eq!(typed, want);
            Ok(())
        })?;
    }
}

mod typed_structs {
    //! Structs by value on the typed path ([`CStruct`]): the compiler lowers the call, so
    //! these check that the Rust twins and their declared struct types agree with the C
    //! fixture, against the dynamic path's answer for the same call.
    use super::*;
    use ffi_trait::{CStruct, StructType, Type};

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct S16 {
        a: i64,
        b: i64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct S24 {
        a: i32,
        b: f64,
        c: i64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct F4 {
        x: f32,
        y: f32,
        z: f32,
        w: f32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Di {
        d: f64,
        i: i32,
    }
    /// A twin that declares the wrong fields (8 bytes of its 16). (The check compares size
    /// and alignment: a wrong field list of the same layout is the `unsafe impl`'s fault.)
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Liar {
        a: i64,
        b: i64,
    }

    fn st(fields: &[Type]) -> StructType {
        StructType::new(fields.to_vec()).unwrap()
    }
    // SAFETY: `#[repr(C)]` with exactly these fields, in order, all plain scalars.
    unsafe impl CStruct for S16 {
        fn struct_type() -> StructType {
            st(&[Type::I64, Type::I64])
        }
    }
    // SAFETY: `#[repr(C)]` with exactly these fields, in order, all plain scalars.
    unsafe impl CStruct for S24 {
        fn struct_type() -> StructType {
            st(&[Type::I32, Type::F64, Type::I64])
        }
    }
    // SAFETY: `#[repr(C)]` with exactly these fields, in order, all plain scalars.
    unsafe impl CStruct for F4 {
        fn struct_type() -> StructType {
            st(&[const { Type::F32 }; 4])
        }
    }
    // SAFETY: `#[repr(C)]` with exactly these fields, in order, all plain scalars.
    unsafe impl CStruct for Di {
        fn struct_type() -> StructType {
            st(&[Type::F64, Type::I32])
        }
    }
    // SAFETY: not met on purpose (the declared layout is 8 bytes of the 16): the layout
    // check must reject it at prepare, before any call.
    unsafe impl CStruct for Liar {
        fn struct_type() -> StructType {
            st(&[Type::I64])
        }
    }

    /// A twin read from its C bytes (the padding included, so that the bytes passed on the
    /// dynamic path are all initialised).
    fn twin<T: CStruct>(bytes: &[u8]) -> T {
        assert_eq!(bytes.len(), size_of::<T>());
        // SAFETY: `bytes` holds `size_of::<T>()` bytes, and every bit pattern is a valid
        // value of these structs' scalar fields (integers and floats).
        unsafe { bytes.as_ptr().cast::<T>().read_unaligned() }
    }

    /// The dynamic path's return bytes for `symbol` of `lib` with signature `text` and
    /// `args`.
    fn dynamic(
        b: &mut AsmBackend,
        lib: &SharedLibrary,
        symbol: &str,
        text: &str,
        args: &[Arg<'_>],
    ) -> Vec<u8> {
        // SAFETY: each caller passes the fixture's signature.
        let f = unsafe { b.prepare(lib, symbol, &sig(text)) }.unwrap();
        let s = sig(text);
        let mut ret = vec![0u8; s.ret().size()];
        // SAFETY: the arguments are plain values and struct bytes of the right sizes.
        unsafe { b.call(&f, args, &mut ret) }.unwrap();
        ret
    }

    #[test]
    fn typed_structs_follow_the_c_abi() {
        let mut b = AsmBackend::new().unwrap();
        let fx = open(&mut b, abi_fixture());
        // SAFETY: the fixture's C signatures (all four), with the Rust twins above.
        let (swap, mix, scale, di) = unsafe {
            (
                b.prepare_typed::<(S16,), S16>(&fx, "ffx_swap16").unwrap(),
                b.prepare_typed::<(i8, S24, f64), S24>(&fx, "ffx_mix24")
                    .unwrap(),
                b.prepare_typed::<(F4, f32, Di), F4>(&fx, "ffx_scale_f4")
                    .unwrap(),
                b.prepare_typed::<(Di, i64), Di>(&fx, "ffx_di_swap")
                    .unwrap(),
            )
        };
        // The arguments as C bytes (padding zeroed) and as their twins.
        let s16_c = [(-7i64).to_ne_bytes(), (1i64 << 40).to_ne_bytes()].concat();
        let s24_c = [
            &(-3i32).to_ne_bytes()[..],
            &[0; 4],
            &2.5f64.to_ne_bytes(),
            &(1i64 << 33).to_ne_bytes(),
        ]
        .concat();
        let f4_c = [1.5f32, -2.0, 0.25, 9.0].map(f32::to_ne_bytes).concat();
        let m_c = [&4.0f64.to_ne_bytes()[..], &(-6i32).to_ne_bytes(), &[0; 4]].concat();
        let (s16, s24, f4, m): (S16, S24, F4, Di) =
            (twin(&s16_c), twin(&s24_c), twin(&f4_c), twin(&m_c));
        // SAFETY: plain values.
        let got = unsafe {
            (
                b.call_typed(&swap, (s16,)).unwrap(),
                b.call_typed(&mix, (-2i8, s24, 0.5)).unwrap(),
                b.call_typed(&scale, (f4, 2.0f32, m)).unwrap(),
                b.call_typed(&di, (m, 10i64)).unwrap(),
            )
        };
        assert_eq!(got.0, S16 { a: 1 << 40, b: -6 });
        assert_eq!(
            got.1,
            S24 {
                a: 6,
                b: 1.25,
                c: (1 << 33) + 3
            }
        );
        assert_eq!(
            got.2,
            F4 {
                x: 3.0,
                y: 0.0,
                z: -5.5,
                w: 9.0
            }
        );
        assert_eq!(got.3, Di { d: 4.0, i: 4 });
        // The dynamic path returns the same structs (compared field by field).
        let ret = |symbol: &str, text: &str, args: &[Arg<'_>]| {
            dynamic(&mut AsmBackend::new().unwrap(), &fx, symbol, text, args)
        };
        let d16: S16 = twin(&ret(
            "ffx_swap16",
            "{i64, i64}({i64, i64})",
            &[Arg::bytes(&s16_c)],
        ));
        let d24: S24 = twin(&ret(
            "ffx_mix24",
            "{i32, f64, i64}(i8, {i32, f64, i64}, f64)",
            &[Arg::i8(-2), Arg::bytes(&s24_c), Arg::f64(0.5)],
        ));
        let df4: F4 = twin(&ret(
            "ffx_scale_f4",
            "{f32, f32, f32, f32}({f32, f32, f32, f32}, f32, {f64, i32})",
            &[Arg::bytes(&f4_c), Arg::f32(2.0), Arg::bytes(&m_c)],
        ));
        let ddi: Di = twin(&ret(
            "ffx_di_swap",
            "{f64, i32}({f64, i32}, i64)",
            &[Arg::bytes(&m_c), Arg::i64(10)],
        ));
        assert_eq!(
            (d16, d24, df4, ddi),
            got,
            "the dynamic path against the typed one"
        );
    }

    #[test]
    fn a_struct_twin_with_another_layout_is_rejected_at_prepare() {
        let mut b = AsmBackend::new().unwrap();
        let fx = open(&mut b, abi_fixture());
        // SAFETY: never called: prepare must fail.
        let e = unsafe { b.prepare_typed::<(Liar,), S16>(&fx, "ffx_swap16") }.unwrap_err();
        match &e {
            Error::TypedStructLayout {
                rust_type,
                struct_type,
                ..
            } => {
                assert!(rust_type.ends_with("Liar"), "{e}");
                assert_eq!(struct_type, "{i64}");
            }
            other => panic!("expected TypedStructLayout, got {other:?}"),
        }
        assert!(e.to_string().contains("16 bytes aligned to 8"), "{e}");
        // SAFETY: as above.
        let e = unsafe { b.prepare_typed::<(S16,), Liar>(&fx, "ffx_swap16") }.unwrap_err();
        assert!(matches!(e, Error::TypedStructLayout { .. }), "{e}");
    }
}

/// The raw entry (on x86-64 the plan's compiled stub) calls nothing and names the first
/// missing pointer when the argument array, the return slot of a value-returning function or
/// one of the argument pointers is null; with every pointer present it makes the call.
#[test]
fn raw_entry_refuses_missing_pointers() {
    let mut b = AsmBackend::new().unwrap();
    let fx = open(&mut b, abi_fixture());
    let text = "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)";
    // SAFETY: the fixture's signature.
    let f = unsafe { b.prepare(&fx, "ffx_6i64_8f64", &sig(text)) }.unwrap();
    if cfg!(target_arch = "x86_64") {
        assert!(f.has_compiled_stub(), "x86-64 plans get a compiled stub");
    }
    let entry = <AsmBackend as Backend>::raw_entry(&f).expect("a raw entry");
    let (ints, floats) = (
        [1i64, 2, 3, 4, 5, 6],
        [0.5f64, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5],
    );
    let mut ptrs: Vec<*const std::ffi::c_void> = ints
        .iter()
        .map(|v| (v as *const i64).cast())
        .chain(floats.iter().map(|v| (v as *const f64).cast()))
        .collect();
    let mut ret = [0u8; 8];
    // SAFETY: every pointer is null or points at its argument; `ret` holds 8 bytes.
    unsafe {
        assert_eq!(
            entry.call(ptrs.as_ptr(), ret.as_mut_ptr().cast()),
            0,
            "all present"
        );
        assert_eq!(i64::from_ne_bytes(ret), 21 + 32, "the call was made");
        let code = |p: MissingPointer| p.code();
        let null = std::ptr::null_mut();
        assert_eq!(
            entry.call(std::ptr::null(), null),
            code(MissingPointer::Args)
        );
        assert_eq!(entry.call(ptrs.as_ptr(), null), code(MissingPointer::Ret));
        for k in [0, 1, 5, 6, 13] {
            let saved = ptrs[k];
            ptrs[k] = std::ptr::null();
            let got = entry.call(ptrs.as_ptr(), ret.as_mut_ptr().cast());
            assert_eq!(MissingPointer::from_code(got), Some(MissingPointer::Arg(k)));
            // The reporting form hands the fault and the caller's sink to the reporter and
            // returns what it returns (the C API's status).
            let mut seen = 0u32;
            let got = entry.call_reporting(
                ptrs.as_ptr(),
                ret.as_mut_ptr().cast(),
                (&mut seen as *mut u32).cast(),
                record,
            );
            assert_eq!((seen, got), (code(MissingPointer::Arg(k)), 1000 + seen));
            ptrs[k] = saved;
        }
        let mut seen = 0u32;
        ret = [0; 8];
        let got = entry.call_reporting(
            ptrs.as_ptr(),
            ret.as_mut_ptr().cast(),
            (&mut seen as *mut u32).cast(),
            record,
        );
        assert_eq!((seen, got, i64::from_ne_bytes(ret)), (0, 0, 21 + 32));
    }
    // The Rust routines (the stubs turned off, as on AArch64) report the same way.
    let mut f = f;
    f.use_compiled_stub(false);
    let entry = <AsmBackend as Backend>::raw_entry(&f).expect("a raw entry");
    ptrs[6] = std::ptr::null();
    let mut seen = 0u32;
    // SAFETY: as above.
    let got = unsafe {
        entry.call_reporting(
            ptrs.as_ptr(),
            ret.as_mut_ptr().cast(),
            (&mut seen as *mut u32).cast(),
            record,
        )
    };
    let want = MissingPointer::Arg(6).code();
    assert_eq!((seen, got), (want, 1000 + want));
}

/// A fault reporter for the tests: records the code in the `u32` at `sink` and returns
/// 1000 + the code.
///
/// # Safety
/// `sink` points at a writable `u32`.
unsafe extern "C" fn record(sink: *mut std::ffi::c_void, code: u32) -> u32 {
    // SAFETY: the contract above.
    unsafe { *sink.cast::<u32>() = code };
    1000 + code
}

/// `Backend::call`'s checks (on x86-64 compiled into the plan's args-form stub, which compares
/// every argument's header before it loads anything): a struct of the wrong length, and of
/// two wrong arguments the first, are named, with nothing called; the right arguments then
/// make the call.
#[test]
fn call_checks_every_argument_before_the_call() {
    let mut b = AsmBackend::new().unwrap();
    let fx = open(&mut b, abi_fixture());
    // SAFETY: the fixture's signatures (called only with arguments that fit them).
    let (swap, eight) = unsafe {
        (
            b.prepare(&fx, "ffx_swap16", &sig("{i64, i64}({i64, i64})"))
                .unwrap(),
            b.prepare(
                &fx,
                "ffx_8i64",
                &sig("i64(i64, i64, i64, i64, i64, i64, i64, i64)"),
            )
            .unwrap(),
        )
    };
    let short = [0u8; 8];
    // SAFETY: the call must fail before calling.
    match unsafe { b.call(&swap, &[Arg::bytes(&short)], &mut [0; 16]) }.unwrap_err() {
        Error::ArgumentType { index: 0, got, .. } => assert!(got.contains("8 bytes"), "{got}"),
        e => panic!("{e:?}"),
    }
    let mut args: Vec<Arg<'_>> = (1..=8).map(Arg::i64).collect();
    args[3] = Arg::u64(4);
    args[7] = Arg::f64(8.0);
    // SAFETY: as above.
    match unsafe { b.call(&eight, &args, &mut []) }.unwrap_err() {
        Error::ArgumentType {
            index: 3,
            expected,
            got,
            ..
        } => assert_eq!((expected.as_str(), got.as_str()), ("i64", "u64")),
        e => panic!("{e:?}"),
    }
    args[3] = Arg::i64(4);
    // SAFETY: as above.
    match unsafe { b.call(&eight, &args, &mut []) }.unwrap_err() {
        Error::ArgumentType { index: 7, .. } => {}
        e => panic!("{e:?}"),
    }
    args[7] = Arg::i64(8);
    // SAFETY: eight i64 arguments, as the signature says.
    let v = unsafe { b.call(&eight, &args, &mut []) }.unwrap();
    assert_eq!(v, Value::I64(36), "the call is made once the arguments fit");
}
