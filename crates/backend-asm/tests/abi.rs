//! The ABI conformance suite: every function of the generated C fixture
//! (`ffikit_test_support::abi_corpus`, compiled at test time: 412 hand-picked signatures in
//! libffi's test categories plus 300 random ones from a fixed seed) called through the asm
//! backend with random values. Each fixture function folds the arguments it received into a
//! checksum and derives its return from it; this file computes the same checksum from the
//! values it passed, so a misplaced argument fails the test.
//! Plus the register-capture tests, which check exactly where each argument landed.

use backend_asm::AsmBackend;
use ffi_trait::{Arg, Backend, Signature, Source, StructType, Type, Value};
use ffikit_test_support::abi_corpus;

#[path = "abi/checksum.rs"]
mod checksum;
use checksum::{Rng, conv, mix};

/// A random value of scalar type `ty`: its bytes in memory and its checksum word.
fn random_scalar(ty: &Type, r: &mut Rng, promoted: bool) -> (Vec<u8>, u64) {
    let x = r.next();
    match ty {
        Type::Bool => (vec![(x & 1) as u8], x & 1),
        Type::I8 => ((x as i8).to_ne_bytes().to_vec(), x as i8 as i64 as u64),
        Type::U8 => ((x as u8).to_ne_bytes().to_vec(), x as u8 as u64),
        Type::I16 => ((x as i16).to_ne_bytes().to_vec(), x as i16 as i64 as u64),
        Type::U16 => ((x as u16).to_ne_bytes().to_vec(), x as u16 as u64),
        Type::I32 => ((x as i32).to_ne_bytes().to_vec(), x as i32 as i64 as u64),
        Type::U32 => ((x as u32).to_ne_bytes().to_vec(), x as u32 as u64),
        Type::I64 | Type::Isize => (x.to_ne_bytes().to_vec(), x),
        Type::U64 | Type::Usize | Type::Ptr => (x.to_ne_bytes().to_vec(), x),
        Type::F32 => {
            let f = (x >> 40) as f32 / 1024.0 - 3000.0;
            let check = if promoted {
                (f as f64).to_bits()
            } else {
                f.to_bits() as u64
            };
            (f.to_ne_bytes().to_vec(), check)
        }
        Type::F64 => {
            let f = (x >> 11) as f64 / 1e9 - 4.5e6;
            (f.to_ne_bytes().to_vec(), f.to_bits())
        }
        Type::Void | Type::Struct(_) => unreachable!("scalars only"),
    }
}

fn arg_of(ty: &Type, bytes: &[u8]) -> Arg<'static> {
    let b8 = |n: usize| {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&bytes[..n]);
        u64::from_ne_bytes(w)
    };
    match ty {
        Type::Bool => Arg::bool(bytes[0] != 0),
        Type::I8 => Arg::i8(bytes[0] as i8),
        Type::U8 => Arg::u8(bytes[0]),
        Type::I16 => Arg::i16(b8(2) as i16),
        Type::U16 => Arg::u16(b8(2) as u16),
        Type::I32 => Arg::i32(b8(4) as i32),
        Type::U32 => Arg::u32(b8(4) as u32),
        Type::I64 => Arg::i64(b8(8) as i64),
        Type::U64 => Arg::u64(b8(8)),
        Type::Isize => Arg::isize(b8(8) as isize),
        Type::Usize => Arg::usize(b8(8) as usize),
        Type::F32 => Arg::f32(f32::from_bits(b8(4) as u32)),
        Type::F64 => Arg::f64(f64::from_bits(b8(8))),
        Type::Ptr => Arg::ptr(b8(8) as usize as *const u8),
        Type::Void | Type::Struct(_) => unreachable!("scalars only"),
    }
}

/// Runs one fixture function with random values; returns a description of the first
/// mismatch, if any.
/// How a case is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallPath {
    /// `Backend::call` through the inline entries (compiled stubs turned off).
    Inline,
    /// `Backend::call` as it runs by default: on x86-64 the plan's args-form compiled stub
    /// (the argument checks compiled in); elsewhere the key's inline entry.
    Stub,
    /// `Backend::call` through the naked trampoline.
    Trampoline,
    /// `Backend::call_raw` (libffi's convention: a pointer to each argument's bytes; the
    /// return widened to 8 bytes).
    Raw,
    /// The function's raw entry (`Backend::raw_entry`, what the C API's `ffikit_call` runs),
    /// where the plan has one; `Backend::call_raw` for the others. On x86-64 that is the
    /// plan's compiled stub.
    RawEntry,
    /// The raw entry with compiled stubs turned off: the Rust routines.
    RawRoutine,
}

fn run_case(
    b: &mut AsmBackend,
    lib: &ffi_trait::SharedLibrary,
    index: u64,
    symbol: &str,
    text: &str,
    seed: u64,
    path: CallPath,
) -> Result<(), String> {
    let sig: Signature = text.parse().map_err(|e| format!("{e}"))?;
    // SAFETY: the fixture function has exactly this signature (generated from it).
    let mut f = unsafe { b.prepare(lib, symbol, &sig) }.map_err(|e| e.to_string())?;
    f.force_trampoline(path == CallPath::Trampoline);
    f.use_compiled_stub(!matches!(path, CallPath::RawRoutine | CallPath::Inline));
    let mut r = Rng(seed ^ index.wrapping_mul(0x9e37));
    let mut h = 0xcbf29ce484222325u64 ^ index;
    let mut storage: Vec<Vec<u8>> = Vec::new();
    let mut scalars: Vec<Option<Arg<'static>>> = Vec::new();
    for (i, ty) in sig.args().iter().enumerate() {
        let variadic = sig.is_variadic() && i >= sig.fixed_count();
        match ty {
            Type::Struct(s) => {
                let mut bytes = vec![0u8; s.size()];
                s.for_each_scalar(0, &mut |off, leaf| {
                    let (v, check) = random_scalar(leaf, &mut r, false);
                    bytes[off..off + v.len()].copy_from_slice(&v);
                    h = mix(h, check);
                });
                storage.push(bytes);
                scalars.push(None);
            }
            scalar => {
                let (v, check) = random_scalar(scalar, &mut r, variadic);
                h = mix(h, check);
                scalars.push(Some(arg_of(scalar, &v)));
                storage.push(v);
            }
        }
    }
    let args: Vec<Arg<'_>> = scalars
        .iter()
        .zip(&storage)
        .map(|(s, bytes)| s.unwrap_or_else(|| Arg::bytes(bytes)))
        .collect();
    let size = sig.ret().size();
    let mut ret = vec![0xaau8; size + 16];
    let v = if matches!(
        path,
        CallPath::Raw | CallPath::RawEntry | CallPath::RawRoutine
    ) {
        let ptrs: Vec<*const std::ffi::c_void> =
            storage.iter().map(|bytes| bytes.as_ptr().cast()).collect();
        match <AsmBackend as Backend>::raw_entry(&f).filter(|_| path != CallPath::Raw) {
            Some(entry) => {
                // SAFETY: as below; `f` lives and is unchanged for the call.
                let fault = unsafe { entry.call(ptrs.as_ptr(), ret.as_mut_ptr().cast()) };
                if fault != 0 {
                    return Err("the raw entry refused present pointers".into());
                }
            }
            // SAFETY: each pointer holds its argument's bytes; `ret` holds the struct's size
            // or 8 bytes; the fixture never dereferences its pointer arguments.
            None => unsafe { b.call_raw(&f, ptrs.as_ptr(), ptrs.len(), ret.as_mut_ptr().cast()) }
                .map_err(|e| e.to_string())?,
        }
        None
    } else {
        // SAFETY: the fixture never dereferences its pointer arguments.
        Some(unsafe { b.call(&f, &args, &mut ret) }.map_err(|e| e.to_string())?)
    };
    match sig.ret() {
        Type::Void => (v.is_none_or(|v| v == Value::Void))
            .then_some(())
            .ok_or(format!("{v:?} for void")),
        Type::Struct(s) => {
            if ret[size..].iter().any(|&x| x != 0xaa) {
                return Err("bytes past the struct return were written".into());
            }
            let mut k = 0u64;
            let mut bad = None;
            s.for_each_scalar(0, &mut |off, leaf| {
                let want = conv(leaf, mix(h, k));
                if ret[off..off + want.len()] != want[..] && bad.is_none() {
                    bad = Some(format!(
                        "return leaf {k} ({leaf}) at {off}: {:?} != {:?}",
                        &ret[off..off + want.len()],
                        want
                    ));
                }
                k += 1;
            });
            bad.map_or(Ok(()), Err)
        }
        scalar => {
            let want = conv(scalar, h);
            let mut got = vec![0u8; 8];
            match v {
                Some(v) => v.write_to(&mut got),
                // The raw return slot holds the value in its first bytes (little- or
                // big-endian alike for f32, which is written as 4 bytes; integers are
                // widened to 8, whose first bytes are the value on little-endian targets).
                None => got.copy_from_slice(&ret[..8]),
            }
            (got[..want.len()] == want[..])
                .then_some(())
                .ok_or(format!("return {v:?}, want bytes {want:?}"))
        }
    }
}

fn fixture() -> (AsmBackend, ffi_trait::SharedLibrary) {
    let mut b = AsmBackend::new().unwrap();
    let lib = b.open(Source::Path(abi_corpus::fixture())).unwrap();
    (b, lib)
}

#[test]
fn every_fixture_function_sees_its_arguments() {
    let (mut b, lib) = fixture();
    let hand = abi_corpus::cases().iter().filter(|c| c.hand_picked).count();
    assert!(hand >= 200, "only {hand} hand-picked cases");
    let mut failures = Vec::new();
    // Every case through the inline entries, `Backend::call` with compiled stubs, the naked
    // trampoline, the raw (libffi-style) call and the raw entry the C API runs (compiled
    // stub and Rust routine), three seeds each.
    let paths = [
        CallPath::Inline,
        CallPath::Stub,
        CallPath::Trampoline,
        CallPath::Raw,
        CallPath::RawEntry,
        CallPath::RawRoutine,
    ];
    for path in paths {
        for seed in [1u64, 2, 3] {
            for (index, case) in abi_corpus::cases().iter().enumerate() {
                let (symbol, text) = (&case.symbol, &case.signature);
                if let Err(e) = run_case(&mut b, &lib, index as u64, symbol, text, seed, path) {
                    failures.push(format!("{symbol} `{text}` (seed {seed}, {path:?}): {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls failed:\n{}",
        failures.len(),
        abi_corpus::cases().len() * 3 * paths.len(),
        failures.join("\n")
    );
    // The raw entry covers every plan the inline entry takes: only the trampoline's plans
    // (AAPCS64 by-reference copies, over 64 stack words) rebuild arguments.
    let (mut with_entry, mut with_stub) = (0, 0);
    for case in abi_corpus::cases() {
        let sig: Signature = case.signature.parse().expect("corpus signature");
        // SAFETY: the fixture function has exactly this signature.
        let f = unsafe { b.prepare(&lib, &case.symbol, &sig) }.expect("prepare");
        with_entry += usize::from(<AsmBackend as Backend>::raw_entry(&f).is_some());
        with_stub += usize::from(f.has_compiled_stub());
    }
    println!(
        "{with_entry} of {} fixture functions have a raw entry, {with_stub} a compiled stub",
        abi_corpus::cases().len()
    );
    // The compiled stubs cover every x86-64 plan (AArch64 has none yet), unless this process
    // (whose other tests compile stubs of their own corpora) filled the stub cache.
    if cfg!(target_arch = "x86_64") && with_stub < abi_corpus::cases().len() {
        let (made, max) = backend_asm::AsmFunction::compiled_stubs();
        assert!(
            made >= max,
            "{} fixture functions without a compiled stub while the cache had room ({made} of {max})",
            abi_corpus::cases().len() - with_stub
        );
        println!(
            "NOTE: the compiled-stub cache is full ({made} of {max}): {} fixture functions \
             use the Rust routines",
            abi_corpus::cases().len() - with_stub
        );
    }
    // (x86-64: every fixture; AArch64: 527 of 712 when written, the others pass composites
    // over 16 bytes by reference to a caller copy, which only the trampoline makes.)
    let floor = if cfg!(target_arch = "x86_64") {
        100
    } else {
        70
    };
    assert!(
        with_entry * 100 >= abi_corpus::cases().len() * floor,
        "only {with_entry} fixture functions have a raw entry"
    );
    println!(
        "{} fixture functions ({hand} hand-picked, {} random) x 3 seeds x {} paths passed",
        abi_corpus::cases().len(),
        abi_corpus::cases().len() - hand,
        paths.len()
    );
}

/// The systematic corpus (`abi_corpus::systematic_cases`: over 15,000 signatures, the JDK
/// FFM generator's shapes and more) through every call form: its fixed sample in every run,
/// all of it under `FFIKIT_FULL_ABI=1` (`cargo xtask test --full-abi`).
#[test]
fn the_systematic_corpus_through_every_call_form() {
    let mut b = AsmBackend::new().unwrap();
    let lib = b
        .open(Source::Path(abi_corpus::systematic_fixture()))
        .unwrap();
    let cases = abi_corpus::systematic_cases();
    let paths = [
        CallPath::Inline,
        CallPath::Stub,
        CallPath::Trampoline,
        CallPath::Raw,
        CallPath::RawEntry,
        CallPath::RawRoutine,
    ];
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for path in paths {
        for (index, case) in cases.iter().enumerate() {
            let (symbol, text) = (&case.symbol, &case.signature);
            if let Err(e) = run_case(&mut b, &lib, index as u64, symbol, text, 11, path) {
                failures.push(format!("{symbol} `{text}` ({path:?}): {e}"));
            }
        }
    }
    let calls = cases.len() * paths.len();
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "systematic ABI corpus ({}): {} of {} signatures x {} call forms = {calls} calls, 0 \
         mismatches, in {:.1} s",
        if abi_corpus::systematic_is_full() {
            "full"
        } else {
            "fixed sample; FFIKIT_FULL_ABI=1 runs all"
        },
        cases.len(),
        abi_corpus::systematic_total(),
        paths.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The registers and stack words `ffx_capture` was entered with.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Captured {
    gp: [u64; 8],
    fp: [u64; 8],
    extra: u64,
    stack: [u64; 8],
}

fn capture(
    b: &mut AsmBackend,
    lib: &ffi_trait::SharedLibrary,
    sig: &str,
    args: &[Arg<'_>],
) -> Captured {
    // SAFETY: `ffx_capture` reads registers and stack words only, whatever the signature
    // (its return registers are zero), and `ffx_captured_regs` returns a pointer to them.
    unsafe {
        let f = b
            .prepare(lib, "ffx_capture", &sig.parse().unwrap())
            .unwrap();
        let mut ret = [0u8; 64];
        b.call(&f, args, &mut ret).unwrap();
        let regs = b
            .prepare(lib, "ffx_captured_regs", &"ptr()".parse().unwrap())
            .unwrap();
        let Value::Ptr(p) = b.call(&regs, &[], &mut []).unwrap() else {
            panic!()
        };
        *(p as *const Captured)
    }
}

#[test]
fn registers_land_exactly_where_the_abi_says() {
    let (mut b, lib) = fixture();
    let ints: Vec<Arg> = (1..=10).map(|i| Arg::i64(i * 0x1111)).collect();
    let c = capture(
        &mut b,
        &lib,
        "void(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)",
        &ints,
    );
    let nreg = if cfg!(target_arch = "aarch64") { 8 } else { 6 };
    for i in 0..nreg {
        assert_eq!(c.gp[i], (i as u64 + 1) * 0x1111, "gp{i}");
    }
    for (k, i) in (nreg..10).enumerate() {
        assert_eq!(c.stack[k], (i as u64 + 1) * 0x1111, "stack word {k}");
    }

    let floats: Vec<Arg> = (1..=10).map(|i| Arg::f64(i as f64 + 0.5)).collect();
    let c = capture(
        &mut b,
        &lib,
        "void(f64, f64, f64, f64, f64, f64, f64, f64, f64, f64)",
        &floats,
    );
    for i in 0..8 {
        assert_eq!(f64::from_bits(c.fp[i]), i as f64 + 1.5, "fp{i}");
    }
    assert_eq!(f64::from_bits(c.stack[0]), 9.5);
    assert_eq!(f64::from_bits(c.stack[1]), 10.5);

    // Narrow integers are extended; f32 sits in the low 32 bits.
    let c = capture(
        &mut b,
        &lib,
        "void(i8, u16, f32, bool)",
        &[
            Arg::i8(-2),
            Arg::u16(0xfffe),
            Arg::f32(1.25),
            Arg::bool(true),
        ],
    );
    assert_eq!(c.gp[0] as i64, -2);
    assert_eq!(c.gp[1], 0xfffe);
    assert_eq!(c.gp[2], 1);
    assert_eq!(c.fp[0] as u32, 1.25f32.to_bits());

    // A 16-byte {i64, f64} struct: one GP and one FP register on x86-64 (eightbytes
    // INTEGER, SSE), two GP registers on AArch64 (not an HFA).
    let s = StructType::new(vec![Type::I64, Type::F64]).unwrap();
    let mut bytes = vec![0u8; s.size()];
    bytes[..8].copy_from_slice(&7i64.to_ne_bytes());
    bytes[8..].copy_from_slice(&2.5f64.to_ne_bytes());
    let c = capture(
        &mut b,
        &lib,
        "void(i32, {i64, f64})",
        &[Arg::i32(1), Arg::bytes(&bytes)],
    );
    assert_eq!(c.gp[1], 7);
    if cfg!(target_arch = "aarch64") {
        assert_eq!(f64::from_bits(c.gp[2]), 2.5);
    } else {
        assert_eq!(f64::from_bits(c.fp[0]), 2.5);
    }

    // Variadic: %al holds the number of vector registers used (x86-64); f32 is promoted.
    let c = capture(
        &mut b,
        &lib,
        "void(ptr, ..., f32, f64, i32)",
        &[
            Arg::ptr(std::ptr::null::<u8>()),
            Arg::f32(0.5),
            Arg::f64(0.25),
            Arg::i32(3),
        ],
    );
    assert_eq!(f64::from_bits(c.fp[0]), 0.5, "promoted to double");
    assert_eq!(f64::from_bits(c.fp[1]), 0.25);
    assert_eq!(c.gp[1], 3);
    if cfg!(target_arch = "x86_64") {
        assert_eq!(c.extra & 0xff, 2, "%al");
    }
    // A variadic call with integer arguments only (the integer-register route): %al is 0,
    // not whatever %rax held.
    let c = capture(
        &mut b,
        &lib,
        "void(ptr, ..., i32, i64)",
        &[
            Arg::ptr(std::ptr::null::<u8>()),
            Arg::i32(-7),
            Arg::i64(1 << 40),
        ],
    );
    assert_eq!((c.gp[1] as i32, c.gp[2]), (-7, 1 << 40));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(c.extra & 0xff, 0, "%al of an integer-only variadic call");
    }

    // A large struct return: the hidden pointer goes in rdi (x86-64) or x8 (AArch64).
    let mut big = [0u8; 24];
    // SAFETY: the capture stub writes nothing through the hidden pointer.
    let f = unsafe {
        b.prepare(
            &lib,
            "ffx_capture",
            &"{i64, i64, i64}(i64)".parse().unwrap(),
        )
    }
    .unwrap();
    // SAFETY: as above.
    unsafe { b.call(&f, &[Arg::i64(5)], &mut big) }.unwrap();
    // SAFETY: `ffx_captured_regs` returns a pointer to the capture area.
    let c = unsafe {
        let regs = b
            .prepare(&lib, "ffx_captured_regs", &"ptr()".parse().unwrap())
            .unwrap();
        let Value::Ptr(p) = b.call(&regs, &[], &mut []).unwrap() else {
            panic!()
        };
        *(p as *const Captured)
    };
    let addr = big.as_ptr() as u64;
    if cfg!(target_arch = "aarch64") {
        assert_eq!(c.extra, addr, "x8");
        assert_eq!(c.gp[0], 5);
    } else {
        assert_eq!(c.gp[0], addr, "rdi");
        assert_eq!(c.gp[1], 5);
    }
}
