//! The wasm backend: the kernels (the shared conformance checks), native and wasm kernels
//! agreeing bit for bit, user modules, and every fault with a hand-written WAT module.

use std::path::Path;

use backend_wasm::{WasmBackend, WasmConfig, WasmEngine};
use ffi_trait::{Arg, Backend, BufferArg, Error, Signature, Source, Value, conformance};
use ffikit_kernels::locate::kernels_wasm;
use ffikit_kernels::reference;
use proptest::prelude::*;

/// A typed struct, which no wasm export takes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Pair {
    a: i32,
    b: i32,
}

// SAFETY: `#[repr(C)]` with exactly these fields.
unsafe impl ffi_trait::CStruct for Pair {
    fn struct_type() -> ffi_trait::StructType {
        ffi_trait::StructType::new(vec![ffi_trait::Type::I32; 2]).unwrap()
    }
}

fn sig(text: &str) -> Signature {
    text.parse().unwrap()
}

fn kernels(b: &mut WasmBackend) -> backend_wasm::WasmLibrary {
    b.open(Source::Path(&kernels_wasm()))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn conformance_kernels() {
    conformance::kernels(
        &mut WasmBackend::new().unwrap(),
        &kernels_wasm(),
        reference::sum_f64,
        reference::dot_f64,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The wasm kernels (simd128) and the native kernels (SSE2/AVX2/AVX-512) return the same
    /// bits for every input.
    #[test]
    fn wasm_and_native_kernels_agree(x in prop::collection::vec(-1e6f64..1e6, 0..700), a in -10f64..10.0) {
        let mut b = WasmBackend::new().unwrap();
        let lib = kernels(&mut b);
        let n = x.len();
        let xb = b.alloc_stable_buffer(n * 8, 64).unwrap();
        let yb = b.alloc_stable_buffer(n * 8, 64).unwrap();
        let y: Vec<f64> = x.iter().rev().map(|v| v * 0.5 + 1.0).collect();
        // SAFETY: fresh buffers of this context.
        unsafe {
            xb.as_mut_slice_of::<f64>().copy_from_slice(&x);
            yb.as_mut_slice_of::<f64>().copy_from_slice(&y);
        }
        // SAFETY: the kernels' signatures; buffers of n f64 (n = 0 passes the buffer's start).
        unsafe {
            let sum = b.prepare_typed::<(BufferArg, usize), f64>(&lib, "ffikit_sum_f64").unwrap();
            let dot = b.prepare_typed::<(BufferArg, BufferArg, usize), f64>(&lib, "ffikit_dot_f64").unwrap();
            let axpy = b.prepare_typed::<(f64, BufferArg, BufferArg, usize), ()>(&lib, "ffikit_axpy_f64").unwrap();
            let s = b.call_typed(&sum, (xb.arg(), n)).unwrap();
            let d = b.call_typed(&dot, (xb.arg(), yb.arg(), n)).unwrap();
            prop_assert_eq!(s.to_bits(), ffikit_kernels::ffikit_sum_f64(x.as_ptr(), n).to_bits());
            prop_assert_eq!(d.to_bits(), ffikit_kernels::ffikit_dot_f64(x.as_ptr(), y.as_ptr(), n).to_bits());
            b.call_typed(&axpy, (a, xb.arg(), yb.arg(), n)).unwrap();
            let mut want = y.clone();
            ffikit_kernels::ffikit_axpy_f64(a, x.as_ptr(), want.as_mut_ptr(), n);
            prop_assert_eq!(yb.as_mut_slice_of::<f64>(), &want[..]);
        }
    }
}

const FAULTS: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "oob") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "unreachable") (unreachable))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "mix") (param i64 f32 f64 i32) (result f64)
    (f64.add (f64.add (f64.convert_i64_s (local.get 0)) (f64.promote_f32 (local.get 1)))
             (f64.add (local.get 2) (f64.convert_i32_s (local.get 3)))))
)
"#;

fn faults(b: &mut WasmBackend) -> backend_wasm::WasmLibrary {
    b.open(Source::Bytes(FAULTS.as_bytes())).unwrap()
}

#[test]
fn traps_become_errors_and_the_context_stays_usable() {
    let mut b = WasmBackend::new().unwrap();
    let m = faults(&mut b);
    // SAFETY: the wasm backend checks every signature against the export's type.
    unsafe {
        let oob = b.prepare(&m, "oob", &sig("i32(i32)")).unwrap();
        let e = b.call(&oob, &[Arg::i32(1 << 20)], &mut []).unwrap_err();
        assert!(
            matches!(e, Error::Trap { .. }) && e.to_string().contains("out of bounds"),
            "{e}"
        );
        let un = b.prepare(&m, "unreachable", &sig("void()")).unwrap();
        let e = b.call(&un, &[], &mut []).unwrap_err();
        assert!(
            matches!(e, Error::Trap { .. }) && e.to_string().contains("unreachable"),
            "{e}"
        );
        let div = b.prepare(&m, "div", &sig("i32(i32, i32)")).unwrap();
        let e = b
            .call(&div, &[Arg::i32(1), Arg::i32(0)], &mut [])
            .unwrap_err();
        assert!(
            matches!(e, Error::Trap { .. }) && e.to_string().contains("divide by zero"),
            "{e}"
        );
        // Still usable.
        assert_eq!(
            b.call(&div, &[Arg::i32(-9), Arg::i32(2)], &mut []).unwrap(),
            Value::I32(-4)
        );
        let add = b.prepare_typed::<(i32, i32), i32>(&m, "add").unwrap();
        assert_eq!(b.call_typed(&add, (40, 2)).unwrap(), 42);
        let mix = b
            .prepare(&m, "mix", &sig("f64(i64, f32, f64, i32)"))
            .unwrap();
        let v = b
            .call(
                &mix,
                &[Arg::i64(-3), Arg::f32(0.5), Arg::f64(0.25), Arg::i32(10)],
                &mut [],
            )
            .unwrap();
        assert_eq!(v, Value::F64(7.75));
    }
}

#[test]
fn a_deadline_stops_a_runaway_guest() {
    let engine = WasmEngine::new(WasmConfig {
        deadlines: true,
        memory_limit: None,
    })
    .unwrap();
    let mut b = WasmBackend::with_engine(&engine);
    let m = faults(&mut b);
    b.set_deadline(Some(50)).unwrap();
    // SAFETY: checked signatures.
    unsafe {
        let spin = b.prepare(&m, "spin", &sig("void()")).unwrap();
        let t = std::time::Instant::now();
        let e = b.call(&spin, &[], &mut []).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DeadlineExceeded {
                    deadline_ms: 50,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            t.elapsed().as_secs() < 10,
            "the deadline did not stop the loop promptly"
        );
        let add = b.prepare(&m, "add", &sig("i32(i32, i32)")).unwrap();
        assert_eq!(
            b.call(&add, &[Arg::i32(1), Arg::i32(2)], &mut []).unwrap(),
            Value::I32(3)
        );
    }
    let mut plain = WasmBackend::new().unwrap();
    assert!(
        plain.set_deadline(Some(5)).is_err(),
        "deadlines need an engine with epochs"
    );
}

#[test]
fn a_memory_limit_caps_growth() {
    let engine = WasmEngine::new(WasmConfig {
        deadlines: false,
        memory_limit: Some(4 << 20),
    })
    .unwrap();
    let mut b = WasmBackend::with_engine(&engine);
    let m = faults(&mut b);
    // SAFETY: checked signature.
    unsafe {
        let grow = b.prepare(&m, "grow", &sig("i32(i32)")).unwrap();
        assert_eq!(
            b.call(&grow, &[Arg::i32(1)], &mut []).unwrap(),
            Value::I32(1),
            "a small grow succeeds"
        );
        assert_eq!(
            b.call(&grow, &[Arg::i32(1000)], &mut []).unwrap(),
            Value::I32(-1),
            "past the limit fails"
        );
    }
    // Larger than the limit: refused by its size, with both sizes in the message.
    let e = b.alloc_stable_buffer(16 << 20, 64).unwrap_err();
    assert!(
        matches!(e, Error::BufferTooLarge { bytes, limit, .. } if bytes == 16 << 20 && limit == 4 << 20),
        "{e}"
    );
    assert!(
        e.to_string().contains("16777216") && e.to_string().contains("4194304"),
        "{e}"
    );
    // Within the limit but past what is left of it: the grow fails.
    let e = b.alloc_stable_buffer(4 << 20, 64).unwrap_err();
    assert!(matches!(e, Error::OutOfMemory { .. }), "{e}");
    let small = b.alloc_stable_buffer(4096, 64).unwrap();
    assert_eq!(small.host_ptr() as usize % 64, 0);
}

/// Sizes no 32-bit linear memory can hold are refused by their size (never wrapped into a
/// small grow), and an absurd alignment too.
#[test]
fn buffers_larger_than_linear_memory_are_refused() {
    let mut b = WasmBackend::new().unwrap();
    let _m = faults(&mut b);
    for len in [(4usize << 30) + 1, 5 << 30, usize::MAX / 2, usize::MAX] {
        let e = b.alloc_stable_buffer(len, 64).unwrap_err();
        assert!(
            matches!(e, Error::BufferTooLarge { bytes, limit, .. } if bytes == len && limit == 1 << 32),
            "{len}: {e}"
        );
    }
    let e = b.alloc_stable_buffer(64, 1 << 40).unwrap_err();
    assert!(matches!(e, Error::BufferTooLarge { .. }), "{e}");
    assert!(
        b.alloc_stable_buffer(1 << 20, 64).is_ok(),
        "the context stays usable"
    );
}

#[test]
fn bad_modules_exports_and_types_are_clear_errors() {
    let mut b = WasmBackend::new().unwrap();
    let e = b
        .open(Source::Bytes(b"\0asm\x01\0\0\0garbage"))
        .unwrap_err();
    assert!(
        matches!(e, Error::LibraryNotFound { .. })
            && e.to_string().contains("not a valid WebAssembly module"),
        "{e}"
    );
    let e = b
        .open(Source::Path(Path::new("/no/such/module.wasm")))
        .unwrap_err();
    assert!(matches!(e, Error::LibraryNotFound { .. }), "{e}");
    let m = faults(&mut b);
    // SAFETY: failing prepares produce nothing callable.
    unsafe {
        let e = b.prepare(&m, "nope", &sig("void()")).unwrap_err();
        assert!(matches!(e, Error::SymbolNotFound { .. }), "{e}");
        let e = b.prepare(&m, "add", &sig("i64(i32, i32)")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "signature `i64(i32, i32)` does not match `add`, which has type (i32, i32) -> (i32)"
        );
        let e = b
            .prepare(&m, "add", &sig("{i32, i32}(i32, i32)"))
            .unwrap_err();
        assert!(matches!(e, Error::UnsupportedSignature { .. }), "{e}");
        let e = b.prepare_typed::<(*const u8,), i32>(&m, "oob").unwrap_err();
        assert!(e.to_string().contains("raw host pointers"), "{e}");
        // A typed struct, as an argument or a return, is rejected as on the dynamic path.
        let e = b.prepare_typed::<(Pair, i32), i32>(&m, "add").unwrap_err();
        assert!(matches!(e, Error::UnsupportedSignature { .. }), "{e}");
        let e = b.prepare_typed::<(i32, i32), Pair>(&m, "add").unwrap_err();
        assert!(matches!(e, Error::UnsupportedSignature { .. }), "{e}");
        let add = b.prepare(&m, "add", &sig("i32(i32, i32)")).unwrap();
        let e = b.call(&add, &[Arg::i32(1)], &mut []).unwrap_err();
        assert!(matches!(e, Error::ArgumentCount { .. }), "{e}");
        let e = b
            .call(&add, &[Arg::i32(1), Arg::u32(1)], &mut [])
            .unwrap_err();
        assert!(matches!(e, Error::ArgumentType { index: 1, .. }), "{e}");
    }
}

#[test]
fn pointers_must_point_into_this_contexts_buffers() {
    let mut b = WasmBackend::new().unwrap();
    let lib = kernels(&mut b);
    let x = b.alloc_stable_buffer(64, 64).unwrap();
    // SAFETY: fresh buffer.
    unsafe {
        x.as_mut_slice_of::<f64>()
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    };
    // SAFETY: the kernel's signature; pointers are translated or rejected.
    unsafe {
        let sum = b
            .prepare(&lib, "ffikit_sum_f64", &sig("f64(ptr, usize)"))
            .unwrap();
        // A host pointer inside the buffer (at element 2) is translated.
        let p = x.host_ptr().add(16);
        assert_eq!(
            b.call(&sum, &[Arg::ptr(p), Arg::usize(6)], &mut [])
                .unwrap(),
            Value::F64(33.0)
        );
        let local = [1.0f64; 4];
        let e = b
            .call(&sum, &[Arg::ptr(local.as_ptr()), Arg::usize(4)], &mut [])
            .unwrap_err();
        assert!(
            matches!(e, Error::PointerOutsideBuffers { index: 0, .. }),
            "{e}"
        );
        // The same through raw (libffi-style) calls: the argument pointers point at a
        // pointer and a usize.
        let at = |v: &dyn std::any::Any| (v as *const dyn std::any::Any).cast::<std::ffi::c_void>();
        let (n, mut r) = (6usize, 0f64);
        let raw = [at(&p), at(&n)];
        b.call_raw(&sum, raw.as_ptr(), 2, (&raw mut r).cast())
            .unwrap();
        assert_eq!(r, 33.0);
        let outside = local.as_ptr();
        let raw = [at(&outside), at(&n)];
        let e = b
            .call_raw(&sum, raw.as_ptr(), 2, (&raw mut r).cast())
            .unwrap_err();
        assert!(
            matches!(e, Error::PointerOutsideBuffers { index: 0, .. }),
            "{e}"
        );
        let e = b
            .call_raw(&sum, raw.as_ptr(), 1, (&raw mut r).cast())
            .unwrap_err();
        assert!(matches!(e, Error::ArgumentCount { got: 1, .. }), "{e}");
        let mut other = WasmBackend::new().unwrap();
        kernels(&mut other);
        let theirs = other.alloc_stable_buffer(64, 64).unwrap();
        let e = b
            .call(&sum, &[Arg::buffer(theirs), Arg::usize(1)], &mut [])
            .unwrap_err();
        assert!(matches!(e, Error::ForeignBuffer { .. }), "{e}");
    }
    // Freed regions are reused; a freed buffer cannot be freed twice.
    let y = b.alloc_stable_buffer(1000, 64).unwrap();
    b.free_stable_buffer(y).unwrap();
    assert!(matches!(
        b.free_stable_buffer(y),
        Err(Error::BufferFreed { .. })
    ));
    let z = b.alloc_stable_buffer(500, 64).unwrap();
    assert_eq!(z.guest_addr(), y.guest_addr(), "the freed region is reused");
}

#[test]
fn an_unsatisfied_import_is_a_clear_error() {
    let mut b = WasmBackend::new().unwrap();
    let wat = r#"(module (import "env" "host_fn" (func (param i32))) (func (export "f")))"#;
    let e = b.open(Source::Bytes(wat.as_bytes())).unwrap_err();
    assert!(
        matches!(e, Error::LibraryNotFound { .. }) && e.to_string().contains("host_fn"),
        "{e}"
    );
}

#[test]
fn buffers_need_a_module_memory_first() {
    let mut b = WasmBackend::new().unwrap();
    let e = b.alloc_stable_buffer(64, 64).unwrap_err();
    assert!(e.to_string().contains("open a module"), "{e}");
}

/// Functions over every wasm value type: each returns one of its parameters (or a sum of
/// them), so a value lowered or raised wrongly shows in the result.
const VALUE_TYPES: &str = r#"(module
    (func (export "i64_of") (param i32 i64 f32 f64) (result i64) local.get 1)
    (func (export "i32_of") (param i64 i32 f64 f32) (result i32) local.get 1)
    (func (export "f32_of") (param i32 f64 f32 i64) (result f32) local.get 2)
    (func (export "f64_of") (param f32 i32 i64 f64) (result f64) local.get 3)
    (func (export "i8_of") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "neg") (result i32) i32.const -5)
    (func (export "i64s_of16")
        (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64) (result i64)
        local.get 1
        local.get 5 i64.const 2 i64.mul i64.add
        local.get 9 i64.const 3 i64.mul i64.add
        local.get 13 i64.const 4 i64.mul i64.add)
    (func (export "last_of16")
        (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64) (result f64)
        local.get 15)
    (func (export "mix") (param i32 i64 f32 f64) (result f64)
        local.get 0 f64.convert_i32_s
        local.get 1 f64.convert_i64_s f64.add
        local.get 2 f64.promote_f32 f64.add
        local.get 3 f64.add))"#;

/// Every wasm value type through the typed path, with values whose 64-bit register images
/// have the upper half set (negative i8/i32, f32 bits): each parameter must arrive exactly and
/// each result must come back exactly, compared with the dynamic path.
#[test]
fn typed_calls_lower_every_value_type() {
    let mut b = WasmBackend::new().unwrap();
    let m = b.open(Source::Bytes(VALUE_TYPES.as_bytes())).unwrap();
    // SAFETY: each signature is the export's type; no pointers.
    unsafe {
        let f = b
            .prepare_typed::<(i32, i64, f32, f64), i64>(&m, "i64_of")
            .unwrap();
        assert_eq!(
            b.call_typed(&f, (-1, i64::MIN + 7, -0.5, 2.5)).unwrap(),
            i64::MIN + 7
        );
        let f = b
            .prepare_typed::<(i64, i32, f64, f32), i32>(&m, "i32_of")
            .unwrap();
        assert_eq!(
            b.call_typed(&f, (-9, -123_456, 1.0, -3.0)).unwrap(),
            -123_456
        );
        let f = b
            .prepare_typed::<(u32, f64, f32, u64), f32>(&m, "f32_of")
            .unwrap();
        assert_eq!(
            b.call_typed(&f, (u32::MAX, -1.0, -1.25e-3, u64::MAX))
                .unwrap(),
            -1.25e-3
        );
        let f = b
            .prepare_typed::<(f32, i32, i64, f64), f64>(&m, "f64_of")
            .unwrap();
        assert_eq!(
            b.call_typed(&f, (-2.0, -1, -1, -6.5e300)).unwrap(),
            -6.5e300
        );
        // Sixteen parameters, the most a typed function takes.
        #[rustfmt::skip]
        type P16 = (i32, i64, f32, f64, i32, i64, f32, f64, i32, i64, f32, f64, i32, i64, f32, f64);
        let args: P16 = (
            -1, 10, 0.5, 1.5, -2, 20, 2.5, 3.5, -3, 30, 4.5, 5.5, -4, -40, 6.5, -7.25,
        );
        let f = b.prepare_typed::<P16, i64>(&m, "i64s_of16").unwrap();
        assert_eq!(
            b.call_typed(&f, args).unwrap(),
            10 + 2 * 20 + 3 * 30 - 4 * 40
        );
        let f = b.prepare_typed::<P16, f64>(&m, "last_of16").unwrap();
        assert_eq!(b.call_typed(&f, args).unwrap(), -7.25);
        let f = b.prepare_typed::<(i8, u8), i32>(&m, "i8_of").unwrap();
        assert_eq!(b.call_typed(&f, (-3, 200)).unwrap(), 197);
        let f = b
            .prepare_typed::<(i32, i64, f32, f64), f64>(&m, "mix")
            .unwrap();
        let args = (-7i32, -(1i64 << 40), -0.75f32, 0.125f64);
        let typed = b.call_typed(&f, args).unwrap();
        let d = b
            .prepare(&m, "mix", &sig("f64(i32, i64, f32, f64)"))
            .unwrap();
        let dynamic = b
            .call(
                &d,
                &[
                    Arg::i32(args.0),
                    Arg::i64(args.1),
                    Arg::f32(args.2),
                    Arg::f64(args.3),
                ],
                &mut [],
            )
            .unwrap();
        assert_eq!(typed, -7.0 - (1u64 << 40) as f64 - 0.75 + 0.125);
        assert_eq!(dynamic, Value::F64(typed));
    }
}

/// Raw (libffi-style) calls: each argument read from its pointer with its type's width and
/// lowered to its wasm value type, the result widened into the 8-byte slot as libffi does;
/// the same values as the dynamic path's (pointer arguments: see
/// `pointers_must_point_into_this_contexts_buffers`).
#[test]
fn raw_calls_lower_every_value_type() {
    use std::ffi::c_void;
    let mut b = WasmBackend::new().unwrap();
    let m = b.open(Source::Bytes(VALUE_TYPES.as_bytes())).unwrap();
    let p = |v: &dyn std::any::Any| -> *const c_void {
        // The address of the value itself (each test value is a plain scalar).
        (v as *const dyn std::any::Any).cast()
    };
    let (a_i32, a_i64, a_f32, a_f64) = (-1i32, i64::MIN + 7, -1.25e-3f32, -6.5e300f64);
    let (a_i8, a_u8) = (-3i8, 200u8);
    // (export, signature, raw argument pointers, the same arguments as `Arg`s, the slot's
    // 8 bytes after the raw call)
    type Case<'a> = (&'a str, &'a str, Vec<*const c_void>, Vec<Arg<'a>>, u64);
    let cases: [Case; 6] = [
        (
            "i64_of",
            "i64(i32, i64, f32, f64)",
            vec![p(&a_i32), p(&a_i64), p(&a_f32), p(&a_f64)],
            vec![
                Arg::i32(a_i32),
                Arg::i64(a_i64),
                Arg::f32(a_f32),
                Arg::f64(a_f64),
            ],
            a_i64 as u64,
        ),
        (
            "i32_of",
            "i32(i64, i32, f64, f32)",
            vec![p(&a_i64), p(&a_i32), p(&a_f64), p(&a_f32)],
            vec![
                Arg::i64(a_i64),
                Arg::i32(a_i32),
                Arg::f64(a_f64),
                Arg::f32(a_f32),
            ],
            a_i32 as i64 as u64,
        ),
        (
            "f32_of",
            "f32(i32, f64, f32, i64)",
            vec![p(&a_i32), p(&a_f64), p(&a_f32), p(&a_i64)],
            vec![
                Arg::i32(a_i32),
                Arg::f64(a_f64),
                Arg::f32(a_f32),
                Arg::i64(a_i64),
            ],
            // The slot's upper 4 bytes are left as they were (0x5a..).
            0x5a5a_5a5a_0000_0000 | a_f32.to_bits() as u64,
        ),
        (
            "f64_of",
            "f64(f32, i32, i64, f64)",
            vec![p(&a_f32), p(&a_i32), p(&a_i64), p(&a_f64)],
            vec![
                Arg::f32(a_f32),
                Arg::i32(a_i32),
                Arg::i64(a_i64),
                Arg::f64(a_f64),
            ],
            a_f64.to_bits(),
        ),
        (
            "i8_of",
            "i32(i8, u8)",
            vec![p(&a_i8), p(&a_u8)],
            vec![Arg::i8(a_i8), Arg::u8(a_u8)],
            197,
        ),
        ("neg", "isize()", vec![], vec![], -5i64 as u64),
    ];
    for (name, text, raw, args, want) in cases {
        // SAFETY: each signature is the export's type; `raw` points at values of the
        // parameter types and `slot` holds 8 bytes.
        unsafe {
            let f = b.prepare(&m, name, &sig(text)).unwrap();
            let mut slot = 0x5a5a_5a5a_5a5a_5a5au64;
            b.call_raw(&f, raw.as_ptr(), raw.len(), (&raw mut slot).cast())
                .unwrap();
            assert_eq!(slot, want, "{name}: {slot:#x}");
            let value = b.call(&f, &args, &mut []).unwrap();
            let bits = match value {
                Value::I64(v) => v as u64,
                Value::I32(v) => v as i64 as u64,
                Value::F32(v) => 0x5a5a_5a5a_0000_0000 | v.to_bits() as u64,
                Value::F64(v) => v.to_bits(),
                Value::Isize(v) => v as i64 as u64,
                other => panic!("{name}: {other:?}"),
            };
            assert_eq!(bits, want, "{name}: the dynamic path's {value:?}");
        }
    }
}
