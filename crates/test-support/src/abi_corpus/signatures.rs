//! The corpora's signatures, as text: the hand-picked categories of libffi's testsuite, the
//! random signatures from a fixed seed, and the systematic corpus. `generate` turns them into
//! the fixture's C.

use super::generate::{SCALARS, Sig, T, scalar, sig_text};

/// The hand-picked categories.
pub(super) fn categories() -> Vec<String> {
    let ints = [
        "bool", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "isize", "usize", "ptr",
    ];
    let mut v: Vec<String> = Vec::new();
    // Small integers and their extensions, as arguments and returns.
    for t in ints {
        v.push(format!("{t}({t})"));
        v.push(format!("{t}({t}, {t})"));
        v.push(format!("i64({t}, i64, {t})"));
    }
    // Floats and mixed orders.
    for s in [
        "f32(f32)",
        "f64(f64)",
        "f32(f32, f32)",
        "f64(f32, f64, f32)",
        "f32(f64, f32, f64)",
        "f64(i32, f64, i64, f32, u8, f64)",
        "f32(i8, f32, i16, f32, i32, f32)",
        "i64(f64, i64, f32, i32, f64, u16)",
        "f64(f32, i8, f64, u8, f32, i16, f64, u16)",
        "u8(f64, u8, f64, u8)",
        "i16(f32, i16)",
        "bool(f64, bool, f32)",
        "f64(ptr, f64, ptr, f64)",
        "f32(u64, f32, u64)",
        "i32(f64, f64, f64, i32)",
    ] {
        v.push(s.into());
    }
    // Register exhaustion, both files and mixed.
    for n in 1..=12 {
        v.push(format!("i64({})", vec!["i64"; n].join(", ")));
        v.push(format!("f64({})", vec!["f64"; n].join(", ")));
        v.push(format!("f32({})", vec!["f32"; n].join(", ")));
    }
    // Every integer type past the integer registers (x86-64 spills 4 words, AAPCS64 2): the
    // stack words of small integers carry their extension too.
    for t in ints {
        v.push(format!("i64({})", [t; 10].join(", ")));
    }
    for (n, m) in [
        (6, 8),
        (7, 9),
        (8, 8),
        (9, 10),
        (2, 12),
        (12, 2),
        (10, 10),
        (6, 9),
        (7, 8),
    ] {
        let mut a = vec!["i64"; n];
        a.extend(vec!["f64"; m]);
        v.push(format!("f64({})", a.join(", ")));
        let inter: Vec<&str> = (0..n.max(m))
            .flat_map(|k| {
                let mut x = vec![];
                if k < n {
                    x.push("i32");
                }
                if k < m {
                    x.push("f32");
                }
                x
            })
            .collect();
        v.push(format!("i64({})", inter.join(", ")));
    }
    // Structs: 55 shapes (purego's abitest families), as argument, return, after exhausted
    // registers, and on the stack.
    let shapes = [
        "{i8}",
        "{i16}",
        "{i32}",
        "{i64}",
        "{f32}",
        "{f64}",
        "{ptr}",
        "{bool}",
        "{i8, i8}",
        "{u8, u8, u8}",
        "{u8, u8, u8, u8, u8}",
        "{u8, u8, u8, u8, u8, u8, u8}",
        "{i16, i16, i16}",
        "{i32, i32}",
        "{i32, i32, i32}",
        "{i64, i64}",
        "{i64, i64, i64}",
        "{i64, i64, i64, i64}",
        "{f32, f32}",
        "{f32, f32, f32}",
        "{f32, f32, f32, f32}",
        "{f32, f32, f32, f32, f32}",
        "{f64, f64}",
        "{f64, f64, f64}",
        "{f64, f64, f64, f64}",
        "{f64, f64, f64, f64, f64}",
        "{i64, f64}",
        "{f64, i64}",
        "{f32, i32}",
        "{i32, f32}",
        "{i32, f32, f64}",
        "{f64, f32}",
        "{f32, f64}",
        "{i8, f64}",
        "{f64, i8}",
        "{i8, i16, i32}",
        "{i8, i32, i8}",
        "{u16, f32, u16}",
        "{f32, f32, i32}",
        "{i32, f32, f32}",
        "{f32, {f32, f32}}",
        "{{f64}, {f64}}",
        "{i32, {f32, f32}}",
        "{{i8, i8}, {i16}}",
        "{ptr, usize}",
        "{ptr, ptr, ptr}",
        "{u8, u64}",
        "{u64, u8}",
        "{f32, u8, f32}",
        "{i64, f32, f32}",
        "{f32, f32, i64}",
        "{{f32, f32}, {f32, f32}}",
        "{f64, {f64, f64}}",
        "{i16, f64, i16}",
        "{u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8}",
    ];
    for s in shapes {
        v.push(format!("{s}({s})"));
        v.push(format!("i64({s}, i64)"));
        v.push(format!("f64(f64, {s}, f64)"));
        v.push(format!("{s}(i64, i64, i64, i64, i64, {s})"));
        v.push(format!("i64(i64, i64, i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64, {s}, i32)"));
    }
    // Register plans whose classes take runs of consecutive arguments (the strided entries),
    // and near misses that gather.
    for s in [
        "f64(f64, f64, f64, f64, f64, f64, f64, f64, i64, i64, i64, i64, i64, i64)",
        "i32(i64, i64, i64, i64, f64, f64, f64, f64)",
        "f32(f32, f32, f32, f32, i32, i32, i32, i32)",
        "u16(u8, i16, u32, f32, f64, f32)",
        "i64(ptr, ..., i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)",
        "f64(i8, i16, i32, i64, u8, f32, f64, f32, f64, f32, f64, f32, f64)",
    ] {
        v.push(s.into());
    }
    // Variadic calls: ints, doubles, promoted floats and small ints, structs.
    for s in [
        "i32(ptr, ..., i32)",
        "i32(ptr, ..., f64)",
        "i32(ptr, ..., f32)",
        "i32(ptr, ..., i8, u16, bool)",
        "i64(i64, ..., f64, i32, f32, i8, u16, i64)",
        "f64(i32, ..., f64, f64, f64, f64, f64, f64, f64, f64, f64, f64)",
        "i64(i64, ..., i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)",
        "i64(ptr, ..., {f64, f64})",
        "i64(ptr, ..., {i64, i64, i64})",
        "f64(f64, ..., f32, f64, f32, i32)",
        "i32(ptr, usize, ptr, ..., f64, i32)",
        "i64(i32, ...)",
        "{f64, f64}(i32, ..., f64, f32)",
        "{i64, i64, i64}(i32, ..., i64, f64)",
    ] {
        v.push(s.into());
    }
    v
}

/// A small deterministic PRNG (SplitMix64) for the random signatures.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_type(r: &mut Rng, depth: u32) -> T {
    if depth < 2 && r.below(5) == 0 {
        let n = 1 + r.below(5) as usize;
        T::Struct((0..n).map(|_| random_type(r, depth + 1)).collect())
    } else {
        scalar(SCALARS[r.below(SCALARS.len() as u64) as usize])
    }
}

pub(super) fn random_sigs(n: usize) -> Vec<String> {
    let mut r = Rng(0x5eed_ff1c_0de0_0001);
    (0..n)
        .map(|_| {
            let ret = match r.below(6) {
                0 => T::Void,
                _ => random_type(&mut r, 0),
            };
            let nargs = r.below(15) as usize;
            let args: Vec<T> = (0..nargs).map(|_| random_type(&mut r, 0)).collect();
            let fixed =
                (nargs > 1 && r.below(8) == 0).then(|| 1 + r.below(nargs as u64 - 1) as usize);
            sig_text(&Sig { ret, args, fixed })
        })
        .collect()
}

/// The systematic corpus's signatures, in a fixed order (see [`super::systematic_cases`]):
///
/// - every return (`void`, and the 24 types below) with every list of up to two parameters
///   of the 24 types: the scalars `i32`, `f32`, `f64`, `ptr` and every struct of one or two
///   of them (the shapes of the JDK's FFM test generator), 25 x 601 = 15,025 signatures;
/// - every struct of three of those scalars, in and out, alone and after six integer and
///   eight floating-point arguments (register exhaustion): 128;
/// - HFAs of one to four `f32` or `f64`, in and out, alone and after eight `f64`: 16;
/// - small integers (`bool`, `i8`, `u8`, `i16`, `u16`) with their sign and zero extension,
///   as arguments, returns and struct fields, nested one level: 50;
/// - variadic tails of every scalar kind after one or two fixed arguments: 28.
pub(super) fn systematic_sigs() -> Vec<String> {
    let base = ["i32", "f32", "f64", "ptr"];
    let mut types: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
    types.extend(base.iter().map(|a| format!("{{{a}}}")));
    for a in base {
        for b in base {
            types.push(format!("{{{a}, {b}}}"));
        }
    }
    let mut lists: Vec<String> = vec![String::new()];
    lists.extend(types.iter().cloned());
    for a in &types {
        for b in &types {
            lists.push(format!("{a}, {b}"));
        }
    }
    let mut v = Vec::new();
    for ret in std::iter::once("void".to_owned()).chain(types.iter().cloned()) {
        for params in &lists {
            v.push(format!("{ret}({params})"));
        }
    }
    let exhaust = "i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64";
    for a in base {
        for b in base {
            for c in base {
                let s = format!("{{{a}, {b}, {c}}}");
                v.push(format!("{s}({s})"));
                v.push(format!("{s}({exhaust}, {s})"));
            }
        }
    }
    for f in ["f32", "f64"] {
        for n in 1..=4 {
            let h = format!("{{{}}}", vec![f; n].join(", "));
            v.push(format!("{h}({h}, {h})"));
            v.push(format!("{h}(f64, f64, f64, f64, f64, f64, f64, f64, {h})"));
        }
    }
    let small = ["bool", "i8", "u8", "i16", "u16"];
    for t in small {
        for u in small {
            v.push(format!("{t}({u}, {t}, f32)"));
            v.push(format!("{{{t}, {u}}}({t}, {{{u}, {{{t}}}}})"));
        }
    }
    let tails = ["i32", "i64", "f64", "f32", "ptr", "u8", "i16"];
    for t in tails {
        v.push(format!("i32(ptr, ..., {t})"));
        v.push(format!("f64(i32, ..., {t}, {t})"));
        v.push(format!("i64(f64, i32, ..., {t}, f64, {t})"));
        v.push(format!("void(ptr, ..., i64, i64, i64, i64, i64, i64, {t})"));
    }
    v
}
