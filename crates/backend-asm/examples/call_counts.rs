//! A driver for `valgrind --tool=callgrind` instruction counts of one call path on one of the
//! straight call path's shapes (wall time on a shared 2-core machine is noisy; instruction
//! counts are repeatable).
//!
//! `call_counts <shape> <path> <n>` makes `n` calls: shape `add`, `dot`, `6x8`, `8i64` or
//! `s16`; path `native` (a typed `extern "C"` pointer), `opaque` (`Backend::call` with kinds
//! the compiler cannot see), `const` (`add` only: `Backend::call` with the kinds written at
//! the call site) or `raw` (the raw entry `ffikit_call` runs). The instructions of
//! one call are the difference of two runs' totals over the difference of their `n`:
//!
//! ```text
//! cargo build --release -p backend-asm --example call_counts
//! for n in 1000 21000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/call_counts add opaque $n 2>&1 | grep Collected; done
//! ```

use std::ffi::c_void;
use std::hint::black_box;
use std::path::Path;

use backend_asm::AsmBackend;
use ffi_trait::{Arg, Backend, Source};
use ffikit_kernels::locate::kernels_library;
use ffikit_test_support::{abi_corpus, fn_at};

#[repr(C)]
#[derive(Clone, Copy)]
struct S16 {
    a: i64,
    b: i64,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let [_, shape, path, n] = &argv[..] else {
        eprintln!("usage: call_counts <add|dot|6x8|8i64|s16> <native|opaque|const|raw> <n>");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("n is a count");
    let mut b = AsmBackend::new().unwrap();
    // `dot` is the kernels' `ffikit_dot_f64`; the others are the ABI fixture's.
    let lib = if shape == "dot" {
        b.open(Source::Path(&kernels_library())).unwrap()
    } else {
        b.open(Source::Path(Path::new(abi_corpus::fixture())))
            .unwrap()
    };
    let (symbol, sig) = match shape.as_str() {
        "add" => ("ffx_add_i32", "i32(i32, i32)"),
        "dot" => ("ffikit_dot_f64", "f64(ptr, ptr, usize)"),
        "6x8" => (
            "ffx_6i64_8f64",
            "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)",
        ),
        "8i64" => ("ffx_8i64", "i64(i64, i64, i64, i64, i64, i64, i64, i64)"),
        "s16" => ("ffx_swap16", "{i64, i64}({i64, i64})"),
        other => panic!("unknown shape {other}"),
    };
    // SAFETY: the fixture functions have these signatures.
    let f = unsafe { b.prepare(&lib, symbol, &sig.parse().unwrap()) }.unwrap();
    let code = lib.symbol_address(symbol).unwrap();
    let (xs, ys) = ([1.0f64; 4], [2.0f64; 4]);
    let s = S16 { a: 1, b: 2 };
    let ints = [1i64, 2, 3, 4, 5, 6, 7, 8];
    let floats = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let (px, py, len) = (xs.as_ptr(), ys.as_ptr(), 4usize);
    let args: Vec<Arg<'_>> = match shape.as_str() {
        "add" => vec![Arg::i32(40), Arg::i32(2)],
        "dot" => vec![Arg::ptr(px), Arg::ptr(py), Arg::usize(len)],
        "6x8" => ints[..6]
            .iter()
            .map(|&v| Arg::i64(v))
            .chain(floats.iter().map(|&v| Arg::f64(v)))
            .collect(),
        "8i64" => ints.iter().map(|&v| Arg::i64(v)).collect(),
        _ => vec![Arg::bytes(bytes_of(&s))],
    };
    let ptrs: Vec<*const c_void> = match shape.as_str() {
        "add" => vec![ptr(&40i32), ptr(&2i32)],
        "dot" => vec![ptr(&px), ptr(&py), ptr(&len)],
        "6x8" => ints[..6]
            .iter()
            .map(ptr)
            .chain(floats.iter().map(ptr))
            .collect(),
        "8i64" => ints.iter().map(ptr).collect(),
        _ => vec![ptr(&s)],
    };
    let mut ret = [0u8; 16];
    // The shape and path as small numbers, matched per call (a string comparison per call
    // would count too).
    let which = ["add", "dot", "6x8", "8i64", "s16"]
        .iter()
        .position(|s| s == shape)
        .unwrap();
    let path = match path.as_str() {
        "native" => Path_::Native,
        "opaque" => Path_::Opaque,
        "raw" => Path_::Raw,
        "const" => Path_::Const,
        other => panic!("unknown path {other}"),
    };
    let entry = <AsmBackend as Backend>::raw_entry(&f).expect("a raw entry");
    for _ in 0..n {
        match path {
            // SAFETY: (all arms) the fixture's signatures, with valid pointers.
            Path_::Native => unsafe { native(which, code, &ints, &floats, (px, py, len), s) },
            Path_::Opaque => {
                // SAFETY: the fixture's signature; the pointers are valid.
                let v = unsafe { b.call(&f, black_box(&args[..]), &mut ret) }.unwrap();
                black_box(v);
            }
            Path_::Const => {
                // SAFETY: `add`'s signature, no pointers.
                let v = unsafe {
                    b.call(
                        &f,
                        &[Arg::i32(black_box(40)), Arg::i32(black_box(2))],
                        &mut ret,
                    )
                }
                .unwrap();
                black_box(v);
            }
            Path_::Raw => {
                // SAFETY: one valid pointer per parameter and a 16-byte return slot.
                let fault =
                    unsafe { entry.call(black_box(ptrs.as_ptr()), ret.as_mut_ptr().cast()) };
                assert_eq!(fault, 0);
            }
        }
    }
    black_box(ret);
}

/// The call path timed.
enum Path_ {
    Native,
    Opaque,
    Raw,
    /// `Backend::call` of `add` with the kinds written at the call site (the compiler sees
    /// them; the values it does not).
    Const,
}

fn ptr<T>(v: &T) -> *const c_void {
    (v as *const T).cast()
}

fn bytes_of(s: &S16) -> &[u8] {
    // SAFETY: `S16` is 16 bytes of plain integers.
    unsafe { std::slice::from_raw_parts((s as *const S16).cast(), 16) }
}

/// The typed call of `shape` through a function pointer of its C type.
///
/// # Safety
/// `code` is the fixture function of `shape`.
#[inline(always)]
unsafe fn native(
    shape: usize,
    code: *const c_void,
    i: &[i64; 8],
    x: &[f64; 8],
    dot: (*const f64, *const f64, usize),
    s: S16,
) {
    // SAFETY: (all arms) the caller's contract.
    unsafe {
        match shape {
            0 => {
                let f: extern "C" fn(i32, i32) -> i32 = fn_at(code);
                black_box(black_box(f)(black_box(40), black_box(2)));
            }
            1 => {
                let f: extern "C" fn(*const f64, *const f64, usize) -> f64 = fn_at(code);
                black_box(black_box(f)(dot.0, dot.1, black_box(dot.2)));
            }
            2 => {
                type F = extern "C" fn(
                    i64,
                    i64,
                    i64,
                    i64,
                    i64,
                    i64,
                    f64,
                    f64,
                    f64,
                    f64,
                    f64,
                    f64,
                    f64,
                    f64,
                ) -> i64;
                let f: F = fn_at(code);
                let (i, x) = (black_box(i), black_box(x));
                black_box(black_box(f)(
                    i[0], i[1], i[2], i[3], i[4], i[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6],
                    x[7],
                ));
            }
            3 => {
                type F = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64) -> i64;
                let f: F = fn_at(code);
                let i = black_box(i);
                black_box(black_box(f)(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7]));
            }
            _ => {
                let f: extern "C" fn(S16) -> S16 = fn_at(code);
                black_box(black_box(f)(black_box(s)));
            }
        }
    }
}
