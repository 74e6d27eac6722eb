//! `asm/{shape}/{typed|dynamic}` beside the native typed call (`native/{shape}/typed`: a
//! plain Rust call through a function pointer of the right type) and beside the libffi
//! crate's middle layer (`libffi/{shape}/call`, `Cif::call`), for the shapes of the issue:
//! `add(i32,i32)`, `dot(ptr,ptr,usize)`, `6xi64+8xf64`, `8xi64` (two on the stack on x86-64),
//! and a 16-byte struct argument and return.
//!
//! Every variant is a batch that makes `n` calls and checks the last result, timed by
//! criterion (`iter_custom`). After the criterion groups, a run with `--bench` also times the
//! native call, the asm dynamic call and libffi's call of each shape in interleaved rounds (one
//! sample of each per round, 31 rounds) and prints the medians of the per-round ratios
//! (`asm-paired/{shape}`): on a noisy machine a slow spell then falls on all three alike, where
//! criterion's rows, measured one after another, can land in different spells.
//!
//! libffi 3.8.0, where `cargo xtask bench` built it (`target/peers/libffi-3.8.0`), adds the
//! rows `libffi-plan/{shape}/call` (its reusable call plan, `ffi_call_plan_invoke`) and
//! `libffi-3.8/{shape}/call` (its `ffi_call`) on the same functions, and to the paired rounds
//! (see the `libffi38` module); where it was not built they are skipped with a loud line.

mod libffi38;

use std::ffi::c_void;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use backend_asm::{AsmBackend, AsmFunction};
use criterion::Criterion;
use ffi_trait::{Arg, Backend, BufferArg, CStruct, SharedLibrary, Source, StructType, Type, Value};
use ffikit_kernels::locate::kernels_library;
use ffikit_test_support::fn_at;
use libffi::middle::{Cif, CodePtr, Type as FfiType, arg};
use libffi38::Kind::{F64, I32, I64, Ptr, Struct16, Usize};

/// An argument's address as libffi takes it (`void *` in `avalue`).
fn ptr<T>(v: &T) -> *mut c_void {
    (v as *const T).cast_mut().cast()
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct S16 {
    a: i64,
    b: i64,
}

// SAFETY: `#[repr(C)]` with exactly these fields.
unsafe impl CStruct for S16 {
    fn struct_type() -> StructType {
        StructType::new(vec![Type::I64, Type::I64]).expect("two fields")
    }
}

/// A variant of a shape: makes `n` (at least 1) calls and checks the last result.
type Batch = Box<dyn FnMut(u64)>;

/// A batch of `n` calls of `call`, whose last result must be `want`. (Each `call` is marked
/// `#[inline(always)]`, so that the loop holds the call itself, as criterion's `iter` loop
/// does, and not a call of a closure that makes it.)
fn batch<T: PartialEq + std::fmt::Debug + 'static>(
    want: T,
    mut call: impl FnMut() -> T + 'static,
) -> Batch {
    Box::new(move |n| {
        let mut r = call();
        for _ in 1..n {
            r = call();
        }
        assert_eq!(r, want);
    })
}

/// One shape: its name and its variants, `(row name, batch)`, each row named
/// `{caller}/{shape}/{kind}`.
struct Shape {
    name: &'static str,
    variants: Vec<(String, Batch)>,
}

impl Shape {
    fn new(name: &'static str) -> Shape {
        Shape {
            name,
            variants: Vec::new(),
        }
    }

    fn with(mut self, caller: &str, kind: &str, b: Batch) -> Shape {
        self.variants
            .push((format!("{caller}/{}/{kind}", self.name), b));
        self
    }

    /// Adds `rows`, `(caller, batch)` pairs, as rows `{caller}/{shape}/call`.
    fn with_calls(self, rows: Vec<(&str, Batch)>) -> Shape {
        rows.into_iter()
            .fold(self, |shape, (caller, b)| shape.with(caller, "call", b))
    }

    /// True when the shape has row `caller/{shape}/kind`.
    fn has_row(&self, caller: &str, kind: &str) -> bool {
        let name = format!("{caller}/{}/{kind}", self.name);
        self.variants.iter().any(|(n, _)| *n == name)
    }

    /// The index in `variants` of row `caller/{shape}/kind`.
    ///
    /// # Panics
    /// When the shape has no such row.
    fn row(&self, caller: &str, kind: &str) -> usize {
        let name = format!("{caller}/{}/{kind}", self.name);
        self.variants
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no {name} row"))
    }
}

/// A fresh backend with the ABI fixture open.
fn fixture() -> (AsmBackend, SharedLibrary) {
    let mut b = AsmBackend::new().unwrap();
    let lib = b
        .open(Source::Path(ffikit_test_support::abi_corpus::fixture()))
        .unwrap();
    (b, lib)
}

/// `symbol` of `lib` prepared for dynamic calls with signature `sig`, in a fresh backend.
///
/// # Safety
/// `sig` is the symbol's C signature.
unsafe fn dynamic(lib: &SharedLibrary, symbol: &str, sig: &str) -> (AsmBackend, AsmFunction) {
    let mut b = AsmBackend::new().unwrap();
    // SAFETY: forwarded from the caller.
    let f = unsafe { b.prepare(lib, symbol, &sig.parse().unwrap()) }.unwrap();
    (b, f)
}

fn add() -> Shape {
    let (mut b, fx) = fixture();
    let code = fx.symbol_address("ffx_add_i32").unwrap();
    // SAFETY: ffx_add_i32 is int32_t(int32_t, int32_t).
    let native: extern "C" fn(i32, i32) -> i32 = unsafe { fn_at(code) };
    // SAFETY: the fixture's signature.
    let typed = unsafe { b.prepare_typed::<(i32, i32), i32>(&fx, "ffx_add_i32") }.unwrap();
    // SAFETY: the fixture's signature.
    let (mut d, dynf) = unsafe { dynamic(&fx, "ffx_add_i32", "i32(i32, i32)") };
    // SAFETY: as above.
    let (mut o, opaque) = unsafe { dynamic(&fx, "ffx_add_i32", "i32(i32, i32)") };
    let cif = Cif::new([FfiType::i32(), FfiType::i32()], FfiType::i32());
    let (x, y) = (40i32, 2i32);
    Shape::new("add")
        .with(
            "native",
            "typed",
            batch(
                42,
                #[inline(always)]
                move || black_box(native)(black_box(40), black_box(2)),
            ),
        )
        .with(
            "asm",
            "typed",
            batch(
                42,
                #[inline(always)]
                move || {
                    // SAFETY: no pointers.
                    unsafe { b.call_typed(black_box(&typed), (black_box(40), black_box(2))) }
                        .unwrap()
                },
            ),
        )
        .with(
            "asm",
            "dynamic",
            batch(
                Value::I32(42),
                #[inline(always)]
                move || {
                    // SAFETY: no pointers.
                    unsafe {
                        d.call(
                            black_box(&dynf),
                            &[Arg::i32(black_box(40)), Arg::i32(black_box(2))],
                            &mut [],
                        )
                    }
                    .unwrap()
                },
            ),
        )
        .with(
            "asm",
            "dynamic-opaque",
            batch(
                Value::I32(42),
                #[inline(always)]
                move || {
                    let args = [Arg::i32(black_box(40)), Arg::i32(black_box(2))];
                    // SAFETY: no pointers.
                    unsafe { o.call(black_box(&opaque), black_box(&args[..]), &mut []) }.unwrap()
                },
            ),
        )
        .with(
            "libffi",
            "call",
            batch(
                42,
                #[inline(always)]
                move || {
                    // SAFETY: the CIF matches the function.
                    unsafe {
                        cif.call::<i32>(
                            CodePtr(code as *mut c_void),
                            &[arg(black_box(&x)), arg(black_box(&y))],
                        )
                    }
                },
            ),
        )
        .with_calls(
            // SAFETY: int32_t(int32_t, int32_t); the pointers are to the closure's own copies.
            unsafe {
                libffi38::rows(code, I32, [I32, I32], 42i32, move || {
                    [ptr(black_box(&x)), ptr(black_box(&y))]
                })
            },
        )
}

/// `dot(ptr, ptr, usize)` over 4 f64 (call-bound).
fn dot() -> Shape {
    let n = 4usize;
    let mut b = AsmBackend::new().unwrap();
    let kl = b.open(Source::Path(Path::new(&kernels_library()))).unwrap();
    let xb = b.alloc_stable_buffer(n * 8, 64).unwrap();
    // SAFETY: fresh buffer, no other view.
    unsafe { xb.as_mut_slice_of::<f64>() }
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = i as f64);
    let want: f64 = (0..n).map(|i| (i * i) as f64).sum();
    let code = kl.symbol_address("ffikit_dot_f64").unwrap();
    // SAFETY: f64(ptr, ptr, usize).
    let native: unsafe extern "C" fn(*const f64, *const f64, usize) -> f64 = unsafe { fn_at(code) };
    let p = xb.host_ptr() as *const f64;
    // SAFETY: the kernel's signature.
    let typed =
        unsafe { b.prepare_typed::<(BufferArg, BufferArg, usize), f64>(&kl, "ffikit_dot_f64") }
            .unwrap();
    // SAFETY: the kernel's signature.
    let dynf = unsafe {
        b.prepare(
            &kl,
            "ffikit_dot_f64",
            &"f64(ptr, ptr, usize)".parse().unwrap(),
        )
    }
    .unwrap();
    let cif = Cif::new(
        [FfiType::pointer(), FfiType::pointer(), FfiType::usize()],
        FfiType::f64(),
    );
    // The buffer lives in `b`, which the dynamic batch owns; the other batches only read it
    // through its address while that batch (in the same `Shape`) lives.
    let (arg_x, p_addr) = (xb.arg(), p as usize);
    let mut typed_b = AsmBackend::new().unwrap();
    Shape::new("dot")
        .with(
            "native",
            "typed",
            batch(
                want,
                #[inline(always)]
                move || {
                    let p = p_addr as *const f64;
                    // SAFETY: the buffer holds n f64.
                    unsafe { black_box(native)(black_box(p), p, n) }
                },
            ),
        )
        .with(
            "asm",
            "typed",
            batch(
                want,
                #[inline(always)]
                move || {
                    // SAFETY: the buffer holds n f64.
                    unsafe { typed_b.call_typed(black_box(&typed), (arg_x, arg_x, n)) }.unwrap()
                },
            ),
        )
        .with(
            "asm",
            "dynamic",
            batch(
                Value::F64(want),
                #[inline(always)]
                move || {
                    // SAFETY: the buffer holds n f64.
                    unsafe {
                        b.call(
                            black_box(&dynf),
                            &[Arg::buffer(xb), Arg::buffer(xb), Arg::usize(n)],
                            &mut [],
                        )
                    }
                    .unwrap()
                },
            ),
        )
        .with(
            "libffi",
            "call",
            batch(
                want,
                #[inline(always)]
                move || {
                    let p = p_addr as *const f64;
                    // SAFETY: the CIF matches the kernel; the buffer holds n f64.
                    unsafe {
                        cif.call::<f64>(
                            CodePtr(code as *mut c_void),
                            &[arg(black_box(&p)), arg(&p), arg(&n)],
                        )
                    }
                },
            ),
        )
        .with_calls(
            // SAFETY: double(const double *, const double *, size_t) over the buffer of n f64,
            // which lives as long as the shape (see above).
            unsafe {
                libffi38::rows(code, F64, [Ptr, Ptr, Usize], want, move || {
                    [ptr(black_box(&p)), ptr(&p), ptr(&n)]
                })
            },
        )
}

fn six_i64_eight_f64() -> Shape {
    let (mut b, fx) = fixture();
    let code = fx.symbol_address("ffx_6i64_8f64").unwrap();
    #[rustfmt::skip]
    type F14 = extern "C" fn(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64) -> i64;
    // SAFETY: the fixture's signature.
    let native: F14 = unsafe { fn_at(code) };
    #[rustfmt::skip]
    type P14 = (i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64);
    // SAFETY: the fixture's signature.
    let typed = unsafe { b.prepare_typed::<P14, i64>(&fx, "ffx_6i64_8f64") }.unwrap();
    let text = "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)";
    // SAFETY: the fixture's signature.
    let (mut d, dynf) = unsafe { dynamic(&fx, "ffx_6i64_8f64", text) };
    // SAFETY: as above.
    let (mut o, opaque) = unsafe { dynamic(&fx, "ffx_6i64_8f64", text) };
    let mut types = vec![FfiType::i64(); 6];
    types.extend(vec![FfiType::f64(); 8]);
    let cif = Cif::new(types, FfiType::i64());
    let ints = [1i64, 2, 3, 4, 5, 6];
    let floats = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    Shape::new("6i64_8f64")
        .with(
            "native",
            "typed",
            batch(57, #[inline(always)] move || {
                #[rustfmt::skip]
                let r = black_box(native)(
                    black_box(1), 2, 3, 4, 5, 6, black_box(1.0), 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0,
                );
                r
            }),
        )
        .with(
            "asm",
            "typed",
            batch(57, #[inline(always)] move || {
                #[rustfmt::skip]
                let args = (black_box(1), 2, 3, 4, 5, 6, black_box(1.0), 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0);
                // SAFETY: no pointers.
                unsafe { b.call_typed(black_box(&typed), args) }.unwrap()
            }),
        )
        .with(
            "asm",
            "dynamic",
            batch(Value::I64(57), #[inline(always)] move || {
                let args = [
                    Arg::i64(black_box(1)),
                    Arg::i64(2),
                    Arg::i64(3),
                    Arg::i64(4),
                    Arg::i64(5),
                    Arg::i64(6),
                    Arg::f64(black_box(1.0)),
                    Arg::f64(2.0),
                    Arg::f64(3.0),
                    Arg::f64(4.0),
                    Arg::f64(5.0),
                    Arg::f64(6.0),
                    Arg::f64(7.0),
                    Arg::f64(8.0),
                ];
                // SAFETY: no pointers.
                unsafe { d.call(black_box(&dynf), &args, &mut []) }.unwrap()
            }),
        )
        .with(
            "asm",
            "dynamic-opaque",
            batch(Value::I64(57), #[inline(always)] move || {
                let args: [Arg<'_>; 14] = std::array::from_fn(|k| {
                    if k < 6 { Arg::i64(black_box(k as i64 + 1)) } else { Arg::f64(black_box(k as f64 - 5.0)) }
                });
                // SAFETY: no pointers.
                unsafe { o.call(black_box(&opaque), black_box(&args[..]), &mut []) }.unwrap()
            }),
        )
        .with(
            "libffi",
            "call",
            batch(57, #[inline(always)] move || {
                let a: [_; 14] = std::array::from_fn(|k| match k {
                    0 => arg(black_box(&ints[0])),
                    1..6 => arg(&ints[k]),
                    _ => arg(&floats[k - 6]),
                });
                // SAFETY: the CIF matches the function.
                unsafe { cif.call::<i64>(CodePtr(code as *mut c_void), &a) }
            }),
        )
        .with_calls(
            // SAFETY: the fixture's signature; the pointers are to the closure's own copies.
            unsafe {
                let params: [_; 14] = std::array::from_fn(|k| if k < 6 { I64 } else { F64 });
                libffi38::rows(code, I64, params, 57i64, move || {
                    std::array::from_fn(|k| match k {
                        0 => ptr(black_box(&ints[0])),
                        1..6 => ptr(&ints[k]),
                        _ => ptr(&floats[k - 6]),
                    })
                })
            },
        )
}

/// `8 x i64` (two on the stack on x86-64).
fn eight_i64() -> Shape {
    let (mut b, fx) = fixture();
    let code = fx.symbol_address("ffx_8i64").unwrap();
    type F8 = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64) -> i64;
    // SAFETY: the fixture's signature.
    let native: F8 = unsafe { fn_at(code) };
    // SAFETY: the fixture's signature.
    let typed = unsafe {
        b.prepare_typed::<(i64, i64, i64, i64, i64, i64, i64, i64), i64>(&fx, "ffx_8i64")
    }
    .unwrap();
    let text = "i64(i64, i64, i64, i64, i64, i64, i64, i64)";
    // SAFETY: the fixture's signature.
    let (mut d, dynf) = unsafe { dynamic(&fx, "ffx_8i64", text) };
    // SAFETY: as above.
    let (mut o, opaque) = unsafe { dynamic(&fx, "ffx_8i64", text) };
    let cif = Cif::new(vec![FfiType::i64(); 8], FfiType::i64());
    let xs = [1i64, 2, 3, 4, 5, 6, 7, 8];
    Shape::new("8i64")
        .with(
            "native",
            "typed",
            batch(
                36,
                #[inline(always)]
                move || black_box(native)(black_box(1), 2, 3, 4, 5, 6, 7, black_box(8)),
            ),
        )
        .with(
            "asm",
            "typed",
            batch(
                36,
                #[inline(always)]
                move || {
                    let args = (black_box(1), 2, 3, 4, 5, 6, 7, black_box(8));
                    // SAFETY: no pointers.
                    unsafe { b.call_typed(black_box(&typed), args) }.unwrap()
                },
            ),
        )
        .with(
            "asm",
            "dynamic",
            batch(
                Value::I64(36),
                #[inline(always)]
                move || {
                    let args = [
                        Arg::i64(black_box(1)),
                        Arg::i64(2),
                        Arg::i64(3),
                        Arg::i64(4),
                        Arg::i64(5),
                        Arg::i64(6),
                        Arg::i64(7),
                        Arg::i64(black_box(8)),
                    ];
                    // SAFETY: no pointers.
                    unsafe { d.call(black_box(&dynf), &args, &mut []) }.unwrap()
                },
            ),
        )
        .with(
            "asm",
            "dynamic-opaque",
            batch(
                Value::I64(36),
                #[inline(always)]
                move || {
                    let args: [Arg<'_>; 8] =
                        std::array::from_fn(|k| Arg::i64(black_box(k as i64 + 1)));
                    // SAFETY: no pointers.
                    unsafe { o.call(black_box(&opaque), black_box(&args[..]), &mut []) }.unwrap()
                },
            ),
        )
        .with(
            "libffi",
            "call",
            batch(
                36,
                #[inline(always)]
                move || {
                    let a = black_box(&xs).each_ref().map(arg);
                    // SAFETY: the CIF matches the function.
                    unsafe { cif.call::<i64>(CodePtr(code as *mut c_void), &a) }
                },
            ),
        )
        .with_calls(
            // SAFETY: the fixture's signature; the pointers are to the closure's own copies.
            unsafe {
                libffi38::rows(code, I64, [I64; 8], 36i64, move || {
                    black_box(&xs).each_ref().map(ptr)
                })
            },
        )
}

/// A 16-byte struct argument and return.
fn struct16() -> Shape {
    let (mut b, fx) = fixture();
    let code = fx.symbol_address("ffx_swap16").unwrap();
    // SAFETY: ffx_s16 ffx_swap16(ffx_s16), with S16 its #[repr(C)] twin.
    let native: extern "C" fn(S16) -> S16 = unsafe { fn_at(code) };
    let s = S16 { a: 1, b: 2 };
    let want = S16 { a: 2, b: 2 };
    // SAFETY: the fixture's signature, with S16 its twin.
    let typed = unsafe { b.prepare_typed::<(S16,), S16>(&fx, "ffx_swap16") }.unwrap();
    // SAFETY: the fixture's signature.
    let (mut d, dynf) = unsafe { dynamic(&fx, "ffx_swap16", "{i64, i64}({i64, i64})") };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&1i64.to_ne_bytes());
    bytes[8..].copy_from_slice(&2i64.to_ne_bytes());
    let mut out = [0u8; 16];
    let cif = Cif::new(
        [FfiType::structure([FfiType::i64(), FfiType::i64()])],
        FfiType::structure([FfiType::i64(), FfiType::i64()]),
    );
    Shape::new("struct16")
        .with(
            "native",
            "typed",
            batch(
                want,
                #[inline(always)]
                move || black_box(native)(black_box(s)),
            ),
        )
        .with(
            "asm",
            "typed",
            batch(
                want,
                #[inline(always)]
                move || {
                    // SAFETY: no pointers.
                    unsafe { b.call_typed(black_box(&typed), (black_box(s),)) }.unwrap()
                },
            ),
        )
        .with(
            "asm",
            "dynamic",
            batch(
                (2i64, 2i64),
                #[inline(always)]
                move || {
                    // SAFETY: no pointers.
                    unsafe { d.call(black_box(&dynf), &[Arg::bytes(black_box(&bytes))], &mut out) }
                        .unwrap();
                    (
                        i64::from_ne_bytes(out[..8].try_into().unwrap()),
                        i64::from_ne_bytes(out[8..].try_into().unwrap()),
                    )
                },
            ),
        )
        .with(
            "libffi",
            "call",
            batch(
                want,
                #[inline(always)]
                move || {
                    // SAFETY: the CIF matches the function; S16 has the struct's layout.
                    unsafe { cif.call::<S16>(CodePtr(code as *mut c_void), &[arg(black_box(&s))]) }
                },
            ),
        )
        .with_calls(
            // SAFETY: ffx_s16 ffx_swap16(ffx_s16), with S16 its #[repr(C)] twin; the pointer
            // is to the closure's own copy.
            unsafe {
                libffi38::rows(code, Struct16, [Struct16], want, move || {
                    [ptr(black_box(&s))]
                })
            },
        )
}

/// `batch(n)` timed.
fn time(batch: &mut Batch, n: u64) -> Duration {
    let t = Instant::now();
    batch(n);
    t.elapsed()
}

/// A batch size that takes at least 2 ms.
fn calibrate(batch: &mut Batch) -> u64 {
    let mut n = 1;
    while time(batch, n) < Duration::from_millis(2) {
        n *= 2;
    }
    n
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The interleaved rounds of the native call, the asm dynamic call and libffi's call of
/// `shape`: medians of ns per call and of the per-round ratios.
fn paired(shape: &mut Shape) {
    const ROUNDS: usize = 31;
    let mut rows = vec![("native", "typed"), ("asm", "dynamic"), ("libffi", "call")];
    // The shapes with an opaque variant: the same call with kinds the compiler cannot see.
    let opaque = shape.has_row("asm", "dynamic-opaque");
    if opaque {
        rows.push(("asm", "dynamic-opaque"));
    }
    // libffi 3.8's plan and ffi_call, where it was built: the rows after the others.
    let first_l38 = rows.len();
    for caller in ["libffi-plan", "libffi-3.8"] {
        if shape.has_row(caller, "call") {
            rows.push((caller, "call"));
        }
    }
    let callers: Vec<&str> = rows.iter().map(|&(c, _)| c).collect();
    let rows: Vec<usize> = rows.into_iter().map(|(c, k)| shape.row(c, k)).collect();
    let sizes: Vec<u64> = rows
        .iter()
        .map(|&r| calibrate(&mut shape.variants[r].1))
        .collect();
    let mut ns = vec![Vec::with_capacity(ROUNDS); rows.len()];
    for _ in 0..ROUNDS {
        for (k, &r) in rows.iter().enumerate() {
            let t = time(&mut shape.variants[r].1, sizes[k]);
            ns[k].push(t.as_nanos() as f64 / sizes[k] as f64);
        }
    }
    let ratio = |a: usize, b: usize| median((0..ROUNDS).map(|r| ns[a][r] / ns[b][r]).collect());
    let opaque = if opaque {
        format!(
            ", asm dynamic with opaque kinds {:.2} ns ({:.2}x the native call)",
            median(ns[3].clone()),
            ratio(3, 0)
        )
    } else {
        String::new()
    };
    let l38: String = (first_l38..rows.len())
        .map(|k| {
            format!(
                ", {} {:.2} ns ({:.1}x the asm dynamic call, {:.2}x the native call)",
                callers[k],
                median(ns[k].clone()),
                ratio(k, 1),
                ratio(k, 0)
            )
        })
        .collect();
    println!(
        "asm-paired/{}: native typed {:.2} ns, asm dynamic {:.2} ns ({:.2}x the native call), \
         libffi {:.2} ns ({:.1}x the asm dynamic call){opaque}{l38}; medians of {ROUNDS} \
         interleaved rounds",
        shape.name,
        median(ns[0].clone()),
        median(ns[1].clone()),
        ratio(1, 0),
        median(ns[2].clone()),
        ratio(2, 1),
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut shapes = [add(), dot(), six_i64_eight_f64(), eight_i64(), struct16()];
    {
        let mut g = c.benchmark_group("asm-vs");
        for shape in &mut shapes {
            for (name, b) in &mut shape.variants {
                g.bench_function(name.as_str(), |bn| bn.iter_custom(|n| time(b, n.max(1))));
            }
        }
        g.finish();
    }
    if std::env::args().any(|a| a == "--bench") {
        for shape in &mut shapes {
            paired(shape);
        }
    }
    c.final_summary();
}
