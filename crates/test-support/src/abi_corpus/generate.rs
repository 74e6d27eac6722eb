//! The generator behind [`super::generate`]: the signature list (hand-picked categories and
//! the seeded random signatures) and the C text of every fixture function and callback driver.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::signatures::{categories, random_sigs};
use super::{Case, Corpus};

/// The scalar names of the signature grammar, in the order the random signatures draw them.
pub(super) const SCALARS: [&str; 14] = [
    "bool", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "isize", "usize", "f32", "f64",
    "ptr",
];

/// A type of the signature grammar.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum T {
    Void,
    S(&'static str),
    Struct(Vec<T>),
}

pub(super) fn scalar(name: &'static str) -> T {
    T::S(name)
}

fn text(t: &T) -> String {
    match t {
        T::Void => "void".into(),
        T::S(s) => (*s).into(),
        T::Struct(f) => format!("{{{}}}", f.iter().map(text).collect::<Vec<_>>().join(", ")),
    }
}

/// Parses the subset of the grammar this generator writes: a type.
fn parse_type(s: &str) -> (T, &str) {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('{') {
        let mut fields = Vec::new();
        let mut rest = rest;
        loop {
            let (f, r) = parse_type(rest);
            fields.push(f);
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix(',') {
                rest = r;
            } else {
                rest = r.strip_prefix('}').expect("`}`");
                break;
            }
        }
        return (T::Struct(fields), rest);
    }
    let end = s
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(s.len());
    if &s[..end] == "void" {
        return (T::Void, &s[end..]);
    }
    let name = SCALARS
        .into_iter()
        .find(|n| *n == &s[..end])
        .unwrap_or_else(|| panic!("unknown scalar `{}`", &s[..end]));
    (T::S(name), &s[end..])
}

pub(super) struct Sig {
    pub(super) ret: T,
    pub(super) args: Vec<T>,
    pub(super) fixed: Option<usize>,
}

fn parse_sig(s: &str) -> Sig {
    let (ret, rest) = parse_type(s);
    let mut rest = rest.trim_start().strip_prefix('(').expect("`(`");
    let mut args = Vec::new();
    let mut fixed = None;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix(')') {
            assert!(r.trim().is_empty());
            break;
        }
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix("...") {
            fixed = Some(args.len());
            rest = r;
            continue;
        }
        let (t, r) = parse_type(rest);
        args.push(t);
        rest = r;
    }
    Sig { ret, args, fixed }
}

pub(super) fn sig_text(s: &Sig) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (i, a) in s.args.iter().enumerate() {
        if s.fixed == Some(i) {
            parts.push("...".into());
        }
        parts.push(text(a));
    }
    if s.fixed == Some(s.args.len()) {
        parts.push("...".into());
    }
    format!("{}({})", text(&s.ret), parts.join(", "))
}

fn c_scalar(name: &str) -> &'static str {
    match name {
        "bool" => "_Bool",
        "i8" => "int8_t",
        "u8" => "uint8_t",
        "i16" => "int16_t",
        "u16" => "uint16_t",
        "i32" => "int32_t",
        "u32" => "uint32_t",
        "i64" => "int64_t",
        "u64" => "uint64_t",
        "isize" => "intptr_t",
        "usize" => "uintptr_t",
        "f32" => "float",
        "f64" => "double",
        "ptr" => "void *",
        other => panic!("unknown scalar {other}"),
    }
}

/// Struct typedefs, keyed by the struct's text form.
#[derive(Default)]
struct Structs {
    names: BTreeMap<String, String>,
    decls: String,
}

impl Structs {
    fn c_type(&mut self, t: &T) -> String {
        match t {
            T::Void => "void".into(),
            T::S(s) => c_scalar(s).into(),
            T::Struct(fields) => {
                let key = text(t);
                if let Some(n) = self.names.get(&key) {
                    return n.clone();
                }
                let field_types: Vec<String> = fields.iter().map(|f| self.c_type(f)).collect();
                let name = format!("S{}", self.names.len());
                let mut decl = format!("typedef struct {{ /* {key} */\n");
                for (i, ft) in field_types.iter().enumerate() {
                    let _ = writeln!(decl, "    {ft} f{i};");
                }
                let _ = writeln!(decl, "}} {name};\n");
                self.decls.push_str(&decl);
                self.names.insert(key, name.clone());
                name
            }
        }
    }
}

/// C statements folding every scalar leaf of `expr` (of type `t`) into `h`.
fn fold(t: &T, expr: &str, promoted_float: bool, out: &mut String) {
    match t {
        T::Void => {}
        T::S(s) => {
            let v = match *s {
                "bool" => format!("(uint64_t)({expr} ? 1 : 0)"),
                "i8" | "i16" | "i32" | "i64" | "isize" => format!("(uint64_t)(int64_t)({expr})"),
                "u8" | "u16" | "u32" | "u64" | "usize" => format!("(uint64_t)({expr})"),
                "ptr" => format!("(uint64_t)(uintptr_t)({expr})"),
                "f32" if promoted_float => format!("dbits({expr})"),
                "f32" => format!("fbits({expr})"),
                "f64" => format!("dbits({expr})"),
                other => panic!("{other}"),
            };
            let _ = writeln!(out, "    h = mix(h, {v});");
        }
        T::Struct(fields) => {
            for (i, f) in fields.iter().enumerate() {
                fold(f, &format!("{expr}.f{i}"), false, out);
            }
        }
    }
}

/// C statements assigning every scalar leaf of `expr` a value derived from `h` and its
/// leaf number.
fn fill(t: &T, expr: &str, leaf: &mut u32, out: &mut String) {
    match t {
        T::Void => {}
        T::S(s) => {
            let _ = writeln!(
                out,
                "    {expr} = ({})conv_{s}(mix(h, {leaf}));",
                c_scalar(s)
            );
            *leaf += 1;
        }
        T::Struct(fields) => {
            for (i, f) in fields.iter().enumerate() {
                fill(f, &format!("{expr}.f{i}"), leaf, out);
            }
        }
    }
}

fn promoted_c(t: &T, structs: &mut Structs) -> String {
    match t {
        T::S("f32") => "double".into(),
        T::S("bool" | "i8" | "u8" | "i16" | "u16") => "int".into(),
        other => structs.c_type(other),
    }
}

/// The callback driver of fixture function `abi_{index}`: `uint64_t cb_{index}(cb, seed,
/// h_out)` fills every argument from `seed` (leaf `k` gets `conv_T(mix(seed, k))`), writes
/// the checksum of the arguments it passes to `*h_out` (the fixture's fold), calls `cb` and
/// `abi_{index}` with them, and returns 1 when both returns fold to the same value (always
/// for `void`), else 0. A closure that computes the fixture's function thus proves it saw
/// every argument (`*h_out`) and returned its value where C looks for it (the 1).
fn callback_driver(
    index: usize,
    sig: &Sig,
    ret_c: &str,
    params: &str,
    structs: &mut Structs,
) -> String {
    let mut out = format!(
        "typedef {ret_c} (*cbt_{index})({params});\nuint64_t cb_{index}(cbt_{index} cb, uint64_t seed, uint64_t *h_out) {{\n    uint64_t h = seed;\n"
    );
    let nfixed = sig.fixed.unwrap_or(sig.args.len());
    let mut leaf = 0;
    for (i, t) in sig.args.iter().enumerate() {
        let ct = structs.c_type(t);
        let _ = writeln!(out, "    {ct} a{i};\n    memset(&a{i}, 0, sizeof a{i});");
        fill(t, &format!("a{i}"), &mut leaf, &mut out);
    }
    let _ = writeln!(out, "    h = 0xcbf29ce484222325ULL ^ {index}ULL;");
    for (i, t) in sig.args.iter().enumerate() {
        fold(
            t,
            &format!("a{i}"),
            i >= nfixed && *t == T::S("f32"),
            &mut out,
        );
    }
    out.push_str("    *h_out = h;\n");
    let call_args = (0..sig.args.len())
        .map(|i| format!("a{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    if sig.ret == T::Void {
        let _ = writeln!(out, "    cb({call_args});\n    return 1;\n}}\n");
        return out;
    }
    let _ = writeln!(
        out,
        "    {ret_c} r1 = cb({call_args});\n    {ret_c} r2 = abi_{index}({call_args});\n    uint64_t x, y;\n    h = 0;"
    );
    fold(&sig.ret, "r1", false, &mut out);
    out.push_str("    x = h;\n    h = 0;\n");
    fold(&sig.ret, "r2", false, &mut out);
    out.push_str("    y = h;\n    return x == y;\n}\n\n");
    out
}

/// The raw-call driver of fixture function `abi_{index}`: `uint64_t rc_{index}(call, ctx,
/// seed)` fills every argument from `seed` as `cb_{index}` does, calls `abi_{index}` directly,
/// then through `call(ctx, index, args, ret)` (libffi's convention: `args[i]` points at
/// argument `i`, an integer return comes back widened to 8 bytes), and returns 1 when `call`
/// returned 0 and the two calls agree: the same return (folded field by field, so padding
/// does not count), or for `void` the same checksum of the arguments the function saw.
fn raw_driver(index: usize, sig: &Sig, ret_c: &str, structs: &mut Structs) -> String {
    let mut out = format!(
        "uint64_t rc_{index}(int (*call)(void *, uint64_t, void **, void *), void *ctx, uint64_t seed) {{\n    uint64_t h = seed;\n"
    );
    let mut leaf = 0;
    for (i, t) in sig.args.iter().enumerate() {
        let ct = structs.c_type(t);
        let _ = writeln!(out, "    {ct} a{i};\n    memset(&a{i}, 0, sizeof a{i});");
        fill(t, &format!("a{i}"), &mut leaf, &mut out);
    }
    let ptrs = (0..sig.args.len())
        .map(|i| format!("&a{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "    void *args[{}] = {{ {} }};",
        sig.args.len().max(1),
        if ptrs.is_empty() { "0" } else { &ptrs }
    );
    let call_args = (0..sig.args.len())
        .map(|i| format!("a{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    if sig.ret == T::Void {
        let _ = writeln!(
            out,
            "    abi_{index}({call_args});\n    uint64_t want = ffx_sink;\n    ffx_sink = 0;\n    int st = call(ctx, {index}, args, 0);\n    return st == 0 && ffx_sink == want;\n}}\n"
        );
        return out;
    }
    let _ = writeln!(
        out,
        "    {ret_c} r2 = abi_{index}({call_args});\n    union {{ {ret_c} r; unsigned char b[sizeof({ret_c}) < 8 ? 8 : sizeof({ret_c})]; }} u;\n    memset(&u, 0, sizeof u);\n    int st = call(ctx, {index}, args, &u);\n    {ret_c} r1 = u.r;\n    uint64_t x, y;\n    h = 0;"
    );
    fold(&sig.ret, "r1", false, &mut out);
    out.push_str("    x = h;\n    h = 0;\n");
    fold(&sig.ret, "r2", false, &mut out);
    out.push_str("    y = h;\n    return st == 0 && x == y;\n}\n\n");
    out
}

/// The C text every fixture file starts with: the checksum's mixing step and the value
/// derivations (`conv_T`) that `tests/abi/checksum.rs` mirrors.
const PRELUDE: &str = r#"/* Generated by ffikit-test-support (src/abi_corpus): the ABI conformance fixture. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

volatile uint64_t ffx_sink;

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v;
    h *= 0x100000001b3ULL;
    return h ^ (h >> 29);
}
static uint64_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static _Bool conv_bool(uint64_t h) { return h & 1; }
static int8_t conv_i8(uint64_t h) { return (int8_t)h; }
static uint8_t conv_u8(uint64_t h) { return (uint8_t)h; }
static int16_t conv_i16(uint64_t h) { return (int16_t)h; }
static uint16_t conv_u16(uint64_t h) { return (uint16_t)h; }
static int32_t conv_i32(uint64_t h) { return (int32_t)h; }
static uint32_t conv_u32(uint64_t h) { return (uint32_t)h; }
static int64_t conv_i64(uint64_t h) { return (int64_t)h; }
static uint64_t conv_u64(uint64_t h) { return h; }
static intptr_t conv_isize(uint64_t h) { return (intptr_t)h; }
static uintptr_t conv_usize(uint64_t h) { return (uintptr_t)h; }
static float conv_f32(uint64_t h) { return (float)(h >> 40); }
static double conv_f64(uint64_t h) { return (double)(h >> 11); }
static void *conv_ptr(uint64_t h) { return (void *)(uintptr_t)h; }

"#;

/// The corpus: the hand-picked categories, then 300 random signatures from the fixed seed;
/// `abi_{index}` and `cb_{index}` for each.
pub(super) fn generate() -> Corpus {
    let mut all = categories();
    let hand = all.len();
    all.extend(random_sigs(300));
    generate_from(&all, hand)
}

/// The corpus of `all` (the first `hand` of them hand-picked): each signature's fixture
/// function `abi_N` and callback driver `cb_N`, N its index in `all`.
pub(super) fn generate_from(all: &[String], hand: usize) -> Corpus {
    let mut structs = Structs::default();
    let mut funcs = String::new();
    let mut cases = Vec::with_capacity(all.len());
    for (index, text) in all.iter().enumerate() {
        let sig = parse_sig(text);
        let name = format!("abi_{index}");
        let ret_c = structs.c_type(&sig.ret);
        let nfixed = sig.fixed.unwrap_or(sig.args.len());
        let mut params: Vec<String> = sig.args[..nfixed]
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} a{i}", structs.c_type(t)))
            .collect();
        if sig.fixed.is_some() {
            params.push("...".into());
        }
        let params = if params.is_empty() {
            "void".into()
        } else {
            params.join(", ")
        };
        let mut body = format!("    uint64_t h = 0xcbf29ce484222325ULL ^ {index}ULL;\n");
        for (i, t) in sig.args[..nfixed].iter().enumerate() {
            fold(t, &format!("a{i}"), false, &mut body);
        }
        if sig.fixed.is_some() {
            let _ = writeln!(body, "    va_list ap;\n    va_start(ap, a{});", nfixed - 1);
            for (i, t) in sig.args[nfixed..].iter().enumerate() {
                let pc = promoted_c(t, &mut structs);
                let _ = writeln!(body, "    {pc} v{i} = va_arg(ap, {pc});");
                let promoted_float = *t == T::S("f32");
                let expr = match t {
                    T::S("bool") => format!("(v{i} != 0)"),
                    T::S(s @ ("i8" | "u8" | "i16" | "u16")) => format!("({})v{i}", c_scalar(s)),
                    _ => format!("v{i}"),
                };
                fold(t, &expr, promoted_float, &mut body);
            }
            body.push_str("    va_end(ap);\n");
        }
        match &sig.ret {
            T::Void => body.push_str("    ffx_sink = h;\n"),
            T::S(s) => {
                let _ = writeln!(body, "    return ({})conv_{s}(h);", c_scalar(s));
            }
            T::Struct(_) => {
                let _ = writeln!(body, "    {ret_c} r;\n    memset(&r, 0, sizeof r);");
                fill(&sig.ret, "r", &mut 0, &mut body);
                body.push_str("    return r;\n");
            }
        }
        let _ = writeln!(
            funcs,
            "/* {text} */\n{ret_c} {name}({params}) {{\n{body}}}\n"
        );
        funcs.push_str(&callback_driver(index, &sig, &ret_c, &params, &mut structs));
        funcs.push_str(&raw_driver(index, &sig, &ret_c, &mut structs));
        cases.push(Case {
            symbol: name,
            signature: text.clone(),
            hand_picked: index < hand,
        });
    }
    Corpus {
        cases,
        source: format!("{PRELUDE}{}{funcs}", structs.decls),
    }
}
