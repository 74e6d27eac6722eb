//! Host functions: a WAT guest importing Rust functions declared with the signature grammar.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use backend_wasm::{HostFunctions, WasmBackend, WasmConfig, WasmEngine};
use ffi_trait::{Arg, Backend, Error, Signature, Source, Value};

const GUEST: &str = r#"
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "scale" (func $scale (param f64 f32) (result f64)))
  (import "env" "sum_bytes" (func $sum_bytes (param i32 i32) (result i64)))
  (import "env" "neg8" (func $neg8 (param i32) (result i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "boom" (func $boom))
  (import "env" "tick" (func $tick (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\01\02\03\04\05")
  (func (export "call_add") (param i32 i32) (result i32)
    local.get 0 local.get 1 call $add)
  (func (export "call_scale") (param f64 f32) (result f64)
    local.get 0 local.get 1 call $scale)
  (func (export "call_sum") (param i32 i32) (result i64)
    local.get 0 local.get 1 call $sum_bytes)
  (func (export "call_neg8") (param i32) (result i32)
    local.get 0 call $neg8)
  (func (export "call_fail") (param i32)
    local.get 0 call $fail)
  (func (export "call_boom") call $boom)
  ;; Calls back n times: acc = add(acc, i), with a tick per call.
  (func (export "fold_add") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (call $add (local.get $acc) (local.get $i)))
        (call $tick (i64.extend_i32_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    local.get $acc)
)
"#;

fn sig(text: &str) -> Signature {
    text.parse().unwrap()
}

fn engine(ticks: Arc<AtomicU64>) -> WasmEngine {
    let mut host = HostFunctions::new();
    host.define("env", "add", "i32(i32, i32)", |c| {
        let (a, b) = (c.get::<i32>(0), c.get::<i32>(1));
        c.set(a.wrapping_add(b));
        Ok(())
    })
    .unwrap()
    .define("env", "scale", "f64(f64, f32)", |c| {
        let v = c.get::<f64>(0) * c.get::<f32>(1) as f64;
        c.set(v);
        Ok(())
    })
    .unwrap()
    .define("env", "sum_bytes", "u64(ptr, u32)", |c| {
        let (at, len) = (c.offset(0), c.get::<u32>(1));
        let sum = c
            .bytes(at, len as usize)?
            .iter()
            .map(|&b| b as u64)
            .sum::<u64>();
        c.set(sum);
        Ok(())
    })
    .unwrap()
    .define("env", "neg8", "i8(i8)", |c| {
        let v = c.get::<i8>(0);
        c.set(v.wrapping_neg());
        Ok(())
    })
    .unwrap()
    .define("env", "fail", "void(i32)", |c| {
        Err(format!("refused {}", c.get::<i32>(0)))
    })
    .unwrap()
    .define("env", "boom", "void()", |_| {
        panic!("boom in a host function")
    })
    .unwrap()
    .define("env", "tick", "void(u64)", move |c| {
        ticks.fetch_add(c.get::<u64>(0), Ordering::Relaxed);
        Ok(())
    })
    .unwrap();
    WasmEngine::with_host_functions(WasmConfig::default(), &host).unwrap()
}

fn call(
    b: &mut WasmBackend,
    lib: &backend_wasm::WasmLibrary,
    name: &str,
    s: &str,
    args: &[Arg<'_>],
) -> ffi_trait::Result<Value> {
    // SAFETY: checked against the export's type; no host pointers.
    unsafe {
        let f = b.prepare(lib, name, &sig(s))?;
        b.call(&f, args, &mut [])
    }
}

#[test]
fn a_guest_calls_host_functions() {
    let ticks = Arc::new(AtomicU64::new(0));
    let e = engine(ticks.clone());
    let mut b = WasmBackend::with_engine(&e);
    let lib = b.open(Source::Bytes(GUEST.as_bytes())).unwrap();
    let add = call(
        &mut b,
        &lib,
        "call_add",
        "i32(i32, i32)",
        &[Arg::i32(40), Arg::i32(2)],
    );
    assert_eq!(add.unwrap(), Value::I32(42));
    let scale = call(
        &mut b,
        &lib,
        "call_scale",
        "f64(f64, f32)",
        &[Arg::f64(1.5), Arg::f32(-4.0)],
    );
    assert_eq!(scale.unwrap(), Value::F64(-6.0));
    // The guest passes an offset into its memory; the host reads the bytes there.
    let sum = call(
        &mut b,
        &lib,
        "call_sum",
        "i64(i32, i32)",
        &[Arg::i32(16), Arg::i32(5)],
    );
    assert_eq!(sum.unwrap(), Value::I64(15));
    // i8 arguments and returns are sign-extended across the i32 boundary.
    let neg = call(&mut b, &lib, "call_neg8", "i32(i32)", &[Arg::i32(5)]);
    assert_eq!(neg.unwrap(), Value::I32(-5));
    // A wasm loop calling back 1,000 times.
    let fold = call(&mut b, &lib, "fold_add", "i32(i32)", &[Arg::i32(1000)]);
    assert_eq!(fold.unwrap(), Value::I32(499_500));
    assert_eq!(ticks.load(Ordering::Relaxed), 499_500);
}

#[test]
fn host_errors_and_panics_trap_the_guest() {
    let e = engine(Arc::new(AtomicU64::new(0)));
    let mut b = WasmBackend::with_engine(&e);
    let lib = b.open(Source::Bytes(GUEST.as_bytes())).unwrap();
    let err = call(&mut b, &lib, "call_fail", "void(i32)", &[Arg::i32(7)]).unwrap_err();
    let Error::Trap { message, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("host function `env.fail` failed: refused 7"),
        "{message}"
    );
    let err = call(&mut b, &lib, "call_boom", "void()", &[]).unwrap_err();
    let Error::Trap { message, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("host function `env.boom` panicked: boom in a host function"),
        "{message}"
    );
    // Out-of-bounds reads through the host's view are an error, not a crash.
    let err = call(
        &mut b,
        &lib,
        "call_sum",
        "i64(i32, i32)",
        &[Arg::i32(65_530), Arg::i32(100)],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("outside the guest's 65536-byte memory"),
        "{err}"
    );
    // The backend stays usable after a trap.
    let add = call(
        &mut b,
        &lib,
        "call_add",
        "i32(i32, i32)",
        &[Arg::i32(1), Arg::i32(2)],
    );
    assert_eq!(add.unwrap(), Value::I32(3));
}

#[test]
fn missing_imports_and_bad_definitions_are_clear_errors() {
    // The default engine defines no host functions: the guest's imports cannot be met.
    let mut b = WasmBackend::new().unwrap();
    let err = b.open(Source::Bytes(GUEST.as_bytes())).unwrap_err();
    assert!(matches!(err, Error::LibraryNotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains("imports cannot be satisfied"),
        "{err}"
    );

    let mut host = HostFunctions::new();
    let ok = |_: &mut backend_wasm::HostCall<'_, '_>| Ok(());
    assert!(matches!(
        host.define("env", "s", "void({i32, i32})", ok),
        Err(Error::UnsupportedSignature { .. })
    ));
    assert!(matches!(
        host.define("env", "v", "i32(ptr, ...)", ok),
        Err(Error::UnsupportedSignature { .. })
    ));
    assert!(matches!(
        host.define("env", "p", "i32(ptr", ok),
        Err(Error::InvalidSignature(_))
    ));
    host.define("env", "f", "void()", ok).unwrap();
    let dup = host.define("env", "f", "void()", ok).unwrap_err();
    assert!(
        dup.to_string().contains("`env.f` is already defined"),
        "{dup}"
    );
    // A guest importing a host function with another type fails to open.
    let e = WasmEngine::with_host_functions(WasmConfig::default(), &host).unwrap();
    let mut b = WasmBackend::with_engine(&e);
    let wrong = r#"(module (import "env" "f" (func (param i32))))"#;
    let err = b.open(Source::Bytes(wrong.as_bytes())).unwrap_err();
    assert!(
        err.to_string().contains("imports cannot be satisfied"),
        "{err}"
    );
}

#[test]
fn type_mismatches_inside_a_handler_trap() {
    let mut host = HostFunctions::new();
    host.define("env", "add", "i32(i32, i32)", |c| {
        c.set(c.get::<i64>(0)); // wrong: the arguments are i32
        Ok(())
    })
    .unwrap();
    let e = WasmEngine::with_host_functions(WasmConfig::default(), &host).unwrap();
    let mut b = WasmBackend::with_engine(&e);
    let guest = r#"(module (import "env" "add" (func $add (param i32 i32) (result i32)))
        (func (export "go") (result i32) i32.const 1 i32.const 2 call $add))"#;
    let lib = b.open(Source::Bytes(guest.as_bytes())).unwrap();
    let err = call(&mut b, &lib, "go", "i32()", &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("argument 0 of host function `i32(i32, i32)` is i32"),
        "{err}"
    );
}
