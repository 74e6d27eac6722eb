//! Snapshots of the signature grammar: the canonical Display of a corpus of signatures (each
//! must also round-trip), and the message of every kind of parse error.

use ffi_trait::Signature;

const CORPUS: &[&str] = &[
    "void()",
    "void(  )",
    "bool(bool)",
    "i8(i8, u8)",
    "i16(i16,u16)",
    "i32(i32, i32)",
    "u32(u32, u32)",
    "i64(i64, u64, isize, usize)",
    "f32(f32)",
    "f64(ptr, usize)",
    "f64(ptr, ptr, usize)",
    "void(f64, ptr, ptr, usize)",
    "ptr(ptr, ptr, usize)",
    "{i64, i64}(i64, i64)",
    "{ f32 , f32 }({f32,f32}, {f32,f32})",
    "{i8, {i16, {i32, {i64}}}}(u8)",
    "{f64, f64, f64, f64}(ptr)",
    "i32(ptr, ...)",
    "i32(ptr, usize, ptr, ..., f64, i32)",
    "i32(...)",
    "i32(..., i32)",
    "i32(ptr,...,f32,i8,u16)",
    "void(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)",
];

#[test]
fn corpus_display_round_trips() {
    let mut out = String::new();
    for text in CORPUS {
        let sig = Signature::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let shown = sig.to_string();
        assert_eq!(Signature::parse(&shown).unwrap(), sig, "{text} -> {shown}");
        out.push_str(&format!("{text:<60} => {shown}\n"));
    }
    insta::assert_snapshot!("display", out);
}

const ERRORS: &[&str] = &[
    "",
    "f64",
    "f64(",
    "f64(ptr",
    "f64(ptr,)",
    "f64(ptr usize)",
    "f64(,)",
    "f64(void)",
    "void(i32, void)",
    "float(f32)",
    "f64(ptr) extra",
    "f64(ptr))",
    "i32(ptr, ..., ...)",
    "i32(ptr, ... f64)",
    "i32(.., i32)",
    "{}(i32)",
    "{i32,}(i32)",
    "{i32 i32}(i32)",
    "{i32, void}(i32)",
    "i32({i32)",
    "i32(i32 ; i32)",
    "i32(é)",
    "(i32)",
    "double(double, int)",
    "i32(int, size_t)",
    "i32(char *, unsigned)",
    "i64(long long)",
    "void(void *)",
    "void *(i32)",
    "i32(Foo)",
];

#[test]
fn every_parse_error_message() {
    let mut out = String::new();
    for text in ERRORS {
        match Signature::parse(text) {
            Ok(sig) => panic!("`{text}` parsed as {sig}"),
            Err(e) => out.push_str(&format!("{e}\n")),
        }
    }
    let deep = format!("void({}i32{})", "{".repeat(20), "}".repeat(20));
    out.push_str(&format!("{}\n", Signature::parse(&deep).unwrap_err()));
    insta::assert_snapshot!("errors", out);
}
