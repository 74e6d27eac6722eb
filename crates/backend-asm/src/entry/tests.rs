//! The inline entry's plans: which entry each shape takes.

use super::*;

fn inline_of(sig: &str) -> InlinePlan {
    let plan = crate::target_plan(&sig.parse().unwrap()).unwrap();
    InlinePlan::inline_of(&plan).unwrap()
}

#[test]
fn integer_words_past_the_registers_take_the_int_route() {
    let ints = |n: usize| format!("i64({})", vec!["i32"; n].join(", "));
    // Every integer register, then one or two stack words: argument `k` in word `k`.
    for n in [0, 1, GP_ARGS, GP_ARGS + 1, MAX_INT_ARGS] {
        assert_eq!(inline_of(&ints(n)).shape, Entry::Int, "{n} arguments");
    }
    // A variadic call with integer arguments only: `%al` is 0 (no vector register).
    assert_eq!(inline_of("i32(ptr, ..., i32)").shape, Entry::Int);
    // A third stack word, a float, a struct or a struct return: not this route.
    assert_ne!(inline_of(&ints(MAX_INT_ARGS + 1)).shape, Entry::Int);
    assert_ne!(inline_of("i64(i64, f64)").shape, Entry::Int);
    assert_ne!(inline_of("i64(i64, {i64, i64})").shape, Entry::Int);
    assert_ne!(inline_of("{i64, i64}(i64)").shape, Entry::Int);
}

#[test]
fn integer_register_structs_take_the_gp_route() {
    // Two INTEGER eightbytes (System V) / a 16-byte composite in x0-x1 (AAPCS64), then
    // an integer: three integer registers, each a whole eightbyte.
    assert_eq!(
        inline_of("{i64, i64}({i64, i64}, i32)").gp_pieces(),
        Some(3)
    );
    assert_eq!(inline_of("i64({ptr, i32})").gp_pieces(), Some(2));
    // A vector register, a partial eightbyte, or a stack word: not this route.
    assert_eq!(inline_of("f64({f64, f64})").gp_pieces(), None);
    assert_eq!(inline_of("i32(i32, f64)").gp_pieces(), None);
    assert_eq!(inline_of("i32({i32, i32, i32})").gp_pieces(), None);
    assert_eq!(
        inline_of("i64({i64, i64}, {i64, i64}, {i64, i64}, {i64, i64}, i64)").gp_pieces(),
        None
    );
}

#[test]
fn small_mixed_register_shapes_load_only_the_first_registers() {
    for small in [
        "void(f64, ptr, ptr, usize)",
        "f64(f64, f64)",
        "f64(f64, i32)",
        "f32(i32, f32, i64, f32, u8, f64, ptr, f32)",
    ] {
        assert_eq!(inline_of(small).shape, Entry::RegsSmall, "{small}");
    }
    // A fifth integer or a fifth vector register: every register.
    for all in [
        "f64(i64, i64, i64, i64, i64, f64)",
        "f64(i64, f64, f64, f64, f64, f64)",
        "f64(i64, f64, i64, f64, i64, f64, i64, f64, i64, f64)",
    ] {
        assert_eq!(inline_of(all).shape, Entry::Regs, "{all}");
    }
}

#[test]
fn grouped_register_shapes_load_at_a_stride() {
    let i64s = |n: usize| vec!["i64"; n].join(", ");
    let f64s = |n: usize| vec!["f64"; n].join(", ");
    // Each class a run of consecutive arguments, every loaded register inside the array.
    let mut strided = vec![
        (format!("i64({}, {})", i64s(6), f64s(8)), [0, 6]),
        (format!("f64({})", f64s(8)), [0, 0]),
        (format!("i64(ptr, ..., {}, {})", i64s(5), f64s(8)), [0, 6]),
    ];
    // Floats first: x86-64 loads 6 integer registers from argument 8 on (14 arguments);
    // AArch64 would load 8, past the array, so it gathers.
    let floats_first = format!("f64({}, {})", f64s(8), i64s(6));
    if cfg!(target_arch = "x86_64") {
        strided.push((floats_first, [8, 0]));
    } else {
        assert_eq!(inline_of(&floats_first).shape, Entry::Regs);
    }
    let size = size_of::<Arg<'_>>() as u32;
    for (sig, [gp, fp]) in strided {
        let p = inline_of(&sig);
        assert_eq!(p.shape, Entry::Runs, "{sig}");
        assert_eq!([p.runs.gp, p.runs.fp], [gp * size, fp * size], "{sig}");
    }
    for small in [
        "f64(f64, f64, f64, f64)",
        "i32(i64, i64, i64, i64, f64, f64, f64, f64)",
        "f32(f32, f32, f32, f32, i32, i32, i32, i32)",
    ] {
        assert_eq!(inline_of(small).shape, Entry::RunsSmall, "{small}");
    }
    // A run whose unused registers would read past the last argument gathers (as do the
    // interleaved and short shapes of `small_mixed_register_shapes_load_only_the_first_
    // registers`, e.g. `f64(f64, f64)`).
    let seven = format!("f64({})", f64s(7));
    assert_eq!(inline_of(&seven).shape, Entry::Regs);
}

/// The ABI conformance suite (`tests/abi.rs`) calls every fixture through every entry
/// its plan takes: the strided entries must be among them.
#[test]
fn the_abi_fixtures_cover_the_strided_entries() {
    let shapes: Vec<Entry> = ffikit_test_support::abi_corpus::cases()
        .iter()
        .filter_map(|case| {
            let plan = crate::target_plan(&case.signature.parse().ok()?).ok()?;
            Some(InlinePlan::of(&plan).shape)
        })
        .collect();
    for entry in [Entry::Runs, Entry::RunsSmall, Entry::Regs, Entry::RegsSmall] {
        let n = shapes.iter().filter(|&&e| e == entry).count();
        assert!(n >= 3, "{entry:?}: {n} fixtures");
    }
}
