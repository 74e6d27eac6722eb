//! Closures: C calling Rust through [`Closure`] function pointers.
//!
//! - every fixture signature (`ffikit_test_support::abi_corpus`: the hand-picked ABI
//!   categories, variadics included, and 300 random signatures) as a closure that C's `cb_N`
//!   driver calls with known arguments: the closure recomputes the fixture's checksum of
//!   what it received (must equal the driver's) and returns what the fixture function
//!   `abi_N` returns for them (the driver compares the two in C);
//! - libc's `qsort` with a Rust comparator; a thread created by C calling a closure;
//!   100,000 closures created and freed with the number of trampoline pages flat; panics
//!   (the fallback return; the abort, in a child process).

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use backend_asm::{AsmBackend, Closure};
use ffi_trait::{Arg, Backend, Signature, Source, Type, Value};
use ffikit_test_support::abi_corpus;

#[path = "abi/checksum.rs"]
mod checksum;
use checksum::{check_word, conv, mix};

fn fixture() -> (AsmBackend, ffi_trait::SharedLibrary) {
    let mut b = AsmBackend::new().unwrap();
    let lib = b.open(Source::Path(abi_corpus::fixture())).unwrap();
    (b, lib)
}

/// Every signature of the systematic corpus (its fixed sample, or all of it under
/// `FFIKIT_FULL_ABI=1`) as a closure that C's `cb_N` calls, from the test's thread and from a
/// thread C creates: the closure sees every argument C passed and C gets its return.
#[test]
fn c_calls_a_closure_of_every_systematic_signature_from_its_threads() {
    let mut b = AsmBackend::new().unwrap();
    let lib = b
        .open(Source::Path(abi_corpus::systematic_fixture()))
        .unwrap();
    let driver_sig: Signature = "u64(ptr, u64, ptr)".parse().unwrap();
    // SAFETY: `ffx_drive_on_thread(driver, cb, seed, h)` runs `driver(cb, seed, h)` on a new
    // thread and returns its result.
    let on_thread = unsafe {
        b.prepare(
            &lib,
            "ffx_drive_on_thread",
            &"u64(ptr, ptr, u64, ptr)".parse().unwrap(),
        )
    }
    .unwrap();
    let cases = abi_corpus::systematic_cases();
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let (symbol, text) = (&case.symbol, &case.signature);
        let sig: Signature = text.parse().unwrap();
        let seen = Arc::new(AtomicU64::new(0));
        let closure = fixture_closure_into(index as u64, &sig, Some(seen.clone()));
        let driver = symbol.replace("abi_", "cb_");
        // SAFETY: `cb_N(cbt_N, uint64_t, uint64_t *)` is generated with this signature.
        let f = unsafe { b.prepare(&lib, &driver, &driver_sig) }.unwrap();
        let driver_code = lib.symbol_address(&driver).unwrap();
        for (seed, c_thread) in [(5u64, false), (0xfeed_beef, true)] {
            let mut h_c = 0u64;
            seen.store(0, Ordering::SeqCst);
            let h_ptr = Arg::ptr(&mut h_c as *mut u64);
            // SAFETY: the closure has the signature the driver calls it with; `h_c` is
            // written once, before the call returns (the C thread is joined).
            let v = unsafe {
                if c_thread {
                    b.call(
                        &on_thread,
                        &[
                            Arg::ptr(driver_code),
                            Arg::ptr(closure.code()),
                            Arg::u64(seed),
                            h_ptr,
                        ],
                        &mut [],
                    )
                } else {
                    b.call(
                        &f,
                        &[Arg::ptr(closure.code()), Arg::u64(seed), h_ptr],
                        &mut [],
                    )
                }
            }
            .unwrap();
            let h_rust = seen.load(Ordering::SeqCst);
            if h_rust != h_c || v != Value::U64(1) {
                failures.push(format!(
                    "{symbol} `{text}` seed {seed} (C thread: {c_thread}): closure checksum \
                     {h_rust:#x}, C passed {h_c:#x}, driver returned {v:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} callback calls failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
    println!(
        "systematic closures ({}): {} of {} signatures called from C, on the test thread and \
         on a C-created thread ({} calls, 0 mismatches, {:.1} s)",
        if abi_corpus::systematic_is_full() {
            "full"
        } else {
            "fixed sample"
        },
        cases.len(),
        abi_corpus::systematic_total(),
        cases.len() * 2,
        started.elapsed().as_secs_f64()
    );
}

thread_local! {
    /// The checksum the last fixture closure computed on this thread.
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

/// A closure that behaves like fixture function `abi_{index}`: folds its arguments into the
/// checksum (recorded in `SEEN`) and returns the value derived from it.
fn fixture_closure(index: u64, sig: &Signature) -> Closure {
    fixture_closure_into(index, sig, None)
}

/// [`fixture_closure`], also storing each checksum in `sink` (readable from any thread: the
/// closure may run on one C created).
fn fixture_closure_into(index: u64, sig: &Signature, sink: Option<Arc<AtomicU64>>) -> Closure {
    Closure::new(sig, move |args, ret| {
        let sig = args.signature();
        let mut h = 0xcbf29ce484222325u64 ^ index;
        for (i, ty) in sig.args().iter().enumerate() {
            let bytes = args.bytes(i);
            match ty {
                Type::Struct(s) => s.for_each_scalar(0, &mut |off, leaf| {
                    h = mix(h, check_word(leaf, &bytes[off..], false));
                }),
                scalar => {
                    let promoted = sig.is_variadic() && i >= sig.fixed_count();
                    h = mix(h, check_word(scalar, bytes, promoted));
                }
            }
        }
        SEEN.with(|s| s.set(h));
        if let Some(sink) = &sink {
            sink.store(h, Ordering::SeqCst);
        }
        match sig.ret() {
            Type::Void => {}
            Type::Struct(s) => {
                let out = ret.bytes_mut();
                let mut k = 0;
                s.for_each_scalar(0, &mut |off, leaf| {
                    let v = conv(leaf, mix(h, k));
                    out[off..off + v.len()].copy_from_slice(&v);
                    k += 1;
                });
            }
            scalar => {
                let v = conv(scalar, h);
                ret.bytes_mut().copy_from_slice(&v);
            }
        }
    })
    .unwrap()
}

#[test]
fn c_calls_a_closure_of_every_fixture_signature() {
    let (mut b, lib) = fixture();
    let driver_sig: Signature = "u64(ptr, u64, ptr)".parse().unwrap();
    let hand = abi_corpus::cases().iter().filter(|c| c.hand_picked).count();
    assert!(hand >= 40);
    let mut failures = Vec::new();
    for (index, case) in abi_corpus::cases().iter().enumerate() {
        let (symbol, text) = (&case.symbol, &case.signature);
        let sig: Signature = text.parse().unwrap();
        let closure = fixture_closure(index as u64, &sig);
        let driver = symbol.replace("abi_", "cb_");
        // SAFETY: `cb_N(cbt_N, uint64_t, uint64_t *)` is generated with this signature.
        let f = unsafe { b.prepare(&lib, &driver, &driver_sig) }.unwrap();
        for seed in [7u64, 0x1234_5678_9abc] {
            let mut h_c = 0u64;
            SEEN.with(|s| s.set(0));
            // SAFETY: the closure has the signature the driver calls it with; `h_c` is
            // written once.
            let v = unsafe {
                b.call(
                    &f,
                    &[
                        Arg::ptr(closure.code()),
                        Arg::u64(seed),
                        Arg::ptr(&mut h_c as *mut u64),
                    ],
                    &mut [],
                )
            }
            .unwrap();
            let h_rust = SEEN.with(|s| s.get());
            if h_rust != h_c {
                failures.push(format!(
                    "{symbol} `{text}` seed {seed}: the closure saw arguments with checksum \
                     {h_rust:#x}, C passed {h_c:#x}"
                ));
            } else if v != Value::U64(1) {
                failures.push(format!(
                    "{symbol} `{text}` seed {seed}: C got a different return value from the \
                     closure than from the C function"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} callback calls failed:\n{}",
        failures.len(),
        abi_corpus::cases().len() * 2,
        failures.join("\n")
    );
    println!(
        "{} closure signatures ({hand} hand-picked incl. variadic, {} random) called from C",
        abi_corpus::cases().len(),
        abi_corpus::cases().len() - hand
    );
}

#[test]
fn qsort_with_a_rust_comparator() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let cmp = Closure::new(&"i32(ptr, ptr)".parse().unwrap(), move |args, ret| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: qsort passes pointers to two elements of the i64 array below.
        let (a, b) = unsafe { (*args.get::<*const i64>(0), *args.get::<*const i64>(1)) };
        ret.set(a.cmp(&b) as i32);
    })
    .unwrap();
    let mut v: Vec<i64> = (0..1000).map(|i| (i * 7919) % 1009 - 500).collect();
    let mut want = v.clone();
    want.sort();
    // SAFETY: the comparator has qsort's signature `int (*)(const void *, const void *)`.
    unsafe {
        let f: extern "C" fn(*const c_void, *const c_void) -> i32 = std::mem::transmute(cmp.code());
        libc::qsort(v.as_mut_ptr().cast(), v.len(), 8, Some(f));
    }
    assert_eq!(v, want);
    assert!(calls.load(std::sync::atomic::Ordering::Relaxed) >= 999);
}

#[test]
fn a_thread_created_by_c_calls_a_closure() {
    let (mut b, lib) = fixture();
    let main_thread = std::thread::current().id();
    let seen_other = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = seen_other.clone();
    let c = Closure::new(&"u64(u64)".parse().unwrap(), move |args, ret| {
        flag.store(
            std::thread::current().id() != main_thread,
            std::sync::atomic::Ordering::Relaxed,
        );
        ret.set(args.get::<u64>(0) * 3 + 1);
    })
    .unwrap();
    // SAFETY: `ffx_call_on_thread(uint64_t (*)(uint64_t), uint64_t)`; the closure matches.
    let v = unsafe {
        let f = b
            .prepare(
                &lib,
                "ffx_call_on_thread",
                &"u64(ptr, u64)".parse().unwrap(),
            )
            .unwrap();
        b.call(&f, &[Arg::ptr(c.code()), Arg::u64(14)], &mut [])
    }
    .unwrap();
    assert_eq!(v, Value::U64(43));
    assert!(seen_other.load(std::sync::atomic::Ordering::Relaxed));
}

#[test]
fn closures_from_many_threads_at_once() {
    let c = std::sync::Arc::new(
        Closure::new(&"i64(i64, i64)".parse().unwrap(), |args, ret| {
            ret.set(args.get::<i64>(0) * args.get::<i64>(1));
        })
        .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                // SAFETY: the closure's signature is `int64_t (*)(int64_t, int64_t)`.
                let f: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(c.code()) };
                (0..10_000i64).all(|i| f(i, t) == i * t)
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}

/// Runs the test `name` of this binary alone in a child process with `env` set; returns its
/// output. Under emulation (the AArch64 run under qemu-user, which does not follow `exec`),
/// `FFIKIT_TEST_RUNNER` names the emulator to start the child with; `cargo xtask test` sets
/// it.
fn run_child(name: &str, env: &str) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match std::env::var_os("FFIKIT_TEST_RUNNER") {
        Some(runner) => {
            let mut c = std::process::Command::new(runner);
            c.arg(exe);
            c
        }
        None => std::process::Command::new(exe),
    };
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, "1")
        .output()
        .unwrap()
}

#[test]
fn a_hundred_thousand_closures_reuse_their_pages() {
    // In a process of its own, so other tests' allocations do not blur its memory figures.
    let out = run_child("hundred_thousand_child", "FFIKIT_CLOSURE_LOOP_CHILD");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("100000 closures"),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child half of `a_hundred_thousand_closures_reuse_their_pages`.
#[test]
fn hundred_thousand_child() {
    if std::env::var_os("FFIKIT_CLOSURE_LOOP_CHILD").is_none() {
        return;
    }
    let sig: Signature = "i32(i32)".parse().unwrap();
    // Warm up: one batch of 600 alive at once maps the pages the loop below may use.
    let batch: Vec<Closure> = (0..600)
        .map(|k| Closure::new(&sig, move |a, r| r.set(a.get::<i32>(0) + k)).unwrap())
        .collect();
    drop(batch);
    let pages = Closure::pages_mapped();
    let rss_before = rss_kib();
    for k in 0..100_000i32 {
        let c = Closure::new(&sig, move |a, r| r.set(a.get::<i32>(0) ^ k)).unwrap();
        // SAFETY: the closure's signature is `int32_t (*)(int32_t)`.
        let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(c.code()) };
        assert_eq!(f(5), 5 ^ k);
    }
    assert_eq!(
        Closure::pages_mapped(),
        pages,
        "creating and freeing closures mapped new trampoline pages"
    );
    let (before, after) = (rss_before.unwrap(), rss_kib().unwrap());
    // 100,000 leaked closures would be several MiB; allow allocator noise only.
    assert!(
        after < before + 512,
        "resident memory grew from {before} KiB to {after} KiB"
    );
    println!("100000 closures: {pages} trampoline page(s), resident {before} -> {after} KiB");
}

/// This process's resident set in KiB, from /proc (Linux).
fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_panic_returns_the_fallback_value() {
    let c = Closure::with_panic_return(
        &"i32(i32)".parse().unwrap(),
        &(-1i32).to_ne_bytes(),
        |args, ret| {
            let x = args.get::<i32>(0);
            assert!(x >= 0, "negative input {x}");
            ret.set(x * 2);
        },
    )
    .unwrap();
    // SAFETY: the closure's signature is `int32_t (*)(int32_t)`.
    let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(c.code()) };
    assert_eq!(f(21), 42);
    assert_eq!(f(-3), -1, "the panic gave the fallback");
    assert_eq!(f(4), 8, "and the closure works after it");
    assert!(matches!(
        Closure::with_panic_return(&"i32(i32)".parse().unwrap(), &[0u8; 2], |_, _| {}),
        Err(ffi_trait::Error::ReturnSlotTooSmall {
            needed: 4,
            got: 2,
            ..
        })
    ));
}

/// The child half of `a_panic_without_fallback_aborts_with_a_message`.
#[test]
fn panic_abort_child() {
    if std::env::var_os("FFIKIT_CLOSURE_ABORT_CHILD").is_none() {
        return;
    }
    let c = Closure::new(&"void()".parse().unwrap(), |_, _| {
        panic!("boom in a callback")
    })
    .unwrap();
    // SAFETY: the closure's signature is `void (*)(void)`.
    let f: extern "C" fn() = unsafe { std::mem::transmute(c.code()) };
    f();
    unreachable!("the closure's panic must abort the process");
}

#[test]
fn a_panic_without_fallback_aborts_with_a_message() {
    let out = run_child("panic_abort_child", "FFIKIT_CLOSURE_ABORT_CHILD");
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "status {:?}, stderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains("ffikit: a closure `void()` panicked: boom in a callback; aborting"),
        "stderr:\n{stderr}"
    );
}

#[test]
fn bad_signatures_are_clear_errors() {
    let many = format!("void({})", vec!["i32"; 65].join(", "));
    let err = Closure::new(&many.parse().unwrap(), |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("at most 64 arguments"), "{err}");
}

#[test]
fn typed_accessors_check_the_type() {
    let c =
        Closure::with_panic_return(&"i32(i64)".parse().unwrap(), &7i32.to_ne_bytes(), |a, r| {
            r.set(a.get::<i32>(0)); // wrong: the argument is i64
        })
        .unwrap();
    // SAFETY: the closure's signature is `int32_t (*)(int64_t)`.
    let f: extern "C" fn(i64) -> i32 = unsafe { std::mem::transmute(c.code()) };
    assert_eq!(
        f(1),
        7,
        "the type mismatch panicked and the fallback came back"
    );
}

/// The checksum word of a scalar value, as the fixture folds it.
fn word<T: Copy>(ty: &Type, v: T) -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: `T` is a scalar of `ty.size()` bytes.
    unsafe { b.as_mut_ptr().cast::<T>().write_unaligned(v) };
    check_word(ty, &b, false)
}

/// The fixture's return value for checksum `h` as a `T`.
fn fixture_return<T: Copy>(ty: &Type, h: u64) -> T {
    let v = conv(ty, h);
    let mut b = [0u8; 8];
    b[..v.len()].copy_from_slice(&v);
    // SAFETY: `T` is a scalar of `ty.size()` bytes; `b` holds them.
    unsafe { b.as_ptr().cast::<T>().read_unaligned() }
}

/// Calls fixture driver `cb_N` for the case whose text is `text` with `closure`; returns
/// (what C passed, the driver's verdict on the return).
fn drive(closure: &Closure, text: &str, seed: u64) -> (u64, Value) {
    let index = abi_corpus::cases()
        .iter()
        .position(|c| c.signature == text)
        .unwrap();
    let (mut b, lib) = fixture();
    // SAFETY: `cb_N(cbt_N, uint64_t, uint64_t *)`.
    let f = unsafe {
        b.prepare(
            &lib,
            &format!("cb_{index}"),
            &"u64(ptr, u64, ptr)".parse().unwrap(),
        )
    }
    .unwrap();
    let mut h = 0u64;
    // SAFETY: the closure has the case's signature; `h` is written once.
    let v = unsafe {
        b.call(
            &f,
            &[
                Arg::ptr(closure.code()),
                Arg::u64(seed),
                Arg::ptr(&mut h as *mut u64),
            ],
            &mut [],
        )
    }
    .unwrap();
    (h, v)
}

fn case_index(text: &str) -> u64 {
    abi_corpus::cases()
        .iter()
        .position(|c| c.signature == text)
        .unwrap() as u64
}

#[test]
fn typed_closures_called_from_c() {
    // Mixed integer and float registers with narrow types.
    let text = "f64(i32, f64, i64, f32, u8, f64)";
    let index = case_index(text);
    let c = Closure::typed(move |(a, b, c, d, e, f): (i32, f64, i64, f32, u8, f64)| {
        let mut h = 0xcbf29ce484222325u64 ^ index;
        for w in [
            word(&Type::I32, a),
            word(&Type::F64, b),
            word(&Type::I64, c),
            word(&Type::F32, d),
            word(&Type::U8, e),
            word(&Type::F64, f),
        ] {
            h = mix(h, w);
        }
        SEEN.with(|s| s.set(h));
        fixture_return::<f64>(&Type::F64, h)
    })
    .unwrap();
    assert_eq!(c.signature().to_string(), text);
    for seed in [1, 99] {
        let (h, v) = drive(&c, text, seed);
        assert_eq!(SEEN.with(|s| s.get()), h, "arguments of `{text}`");
        assert_eq!(v, Value::U64(1), "return of `{text}`");
    }

    // Structs (`CStruct` twins) are the untyped closure's: a typed closure refuses them.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Pair {
        a: i64,
        b: f64,
    }
    // SAFETY: `#[repr(C)]` with exactly these fields.
    unsafe impl ffi_trait::CStruct for Pair {
        fn struct_type() -> ffi_trait::StructType {
            ffi_trait::StructType::new(vec![Type::I64, Type::F64]).unwrap()
        }
    }
    let e = Closure::typed(|(p,): (Pair,)| p.a).unwrap_err();
    assert!(
        e.to_string()
            .contains("typed closures take and return scalars"),
        "{e}"
    );
    let e = Closure::typed(|(a,): (i64,)| Pair { a, b: 0.0 }).unwrap_err();
    assert!(
        matches!(e, ffi_trait::Error::UnsupportedSignature { .. }),
        "{e}"
    );

    // Eight integers: two on the stack on x86-64 (all in registers on AArch64).
    let text = "i64(i64, i64, i64, i64, i64, i64, i64, i64)";
    let index = case_index(text);
    type I8 = (i64, i64, i64, i64, i64, i64, i64, i64);
    let c = Closure::typed(move |t: I8| {
        let all = [t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7];
        let h = all
            .iter()
            .fold(0xcbf29ce484222325u64 ^ index, |h, &v| mix(h, v as u64));
        SEEN.with(|s| s.set(h));
        h as i64
    })
    .unwrap();
    let (h, v) = drive(&c, text, 5);
    assert_eq!(SEEN.with(|s| s.get()), h);
    assert_eq!(v, Value::U64(1));

    // A narrow return, sign-extended for C.
    let text = "i16(f32, i16)";
    let index = case_index(text);
    let c = Closure::typed(move |(a, b): (f32, i16)| {
        let h = mix(
            mix(0xcbf29ce484222325u64 ^ index, word(&Type::F32, a)),
            word(&Type::I16, b),
        );
        SEEN.with(|s| s.set(h));
        fixture_return::<i16>(&Type::I16, h)
    })
    .unwrap();
    let (h, v) = drive(&c, text, 11);
    assert_eq!(SEEN.with(|s| s.get()), h);
    assert_eq!(v, Value::U64(1));

    // No arguments, void return, and a pointer.
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h2 = hits.clone();
    let c = Closure::typed(move |()| {
        h2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(c.signature().to_string(), "void()");
    // SAFETY: `void (*)(void)`.
    let f: extern "C" fn() = unsafe { std::mem::transmute(c.code()) };
    f();
    f();
    assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 2);
    let c = Closure::typed(|(p, n): (*const u8, usize)| p.wrapping_add(n)).unwrap();
    assert_eq!(c.signature().to_string(), "ptr(ptr, usize)");
    // SAFETY: `const uint8_t *(*)(const uint8_t *, size_t)`.
    let f: extern "C" fn(*const u8, usize) -> *const u8 = unsafe { std::mem::transmute(c.code()) };
    let buf = [0u8; 8];
    assert_eq!(f(buf.as_ptr(), 3), buf.as_ptr().wrapping_add(3));
}
