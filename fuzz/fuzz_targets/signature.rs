//! The signature parser on arbitrary text: it never panics, and every signature it accepts
//! prints as text that parses back to the same signature (and prints the same again).

#![no_main]

use ffi_trait::Signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sig) = text.parse::<Signature>() else {
        return;
    };
    let printed = sig.to_string();
    let again: Signature = printed
        .parse()
        .unwrap_or_else(|e| panic!("`{text}` printed as `{printed}`, which does not parse: {e}"));
    assert_eq!(
        again, sig,
        "`{text}` -> `{printed}` parses to another signature"
    );
    assert_eq!(
        again.to_string(),
        printed,
        "printing is not stable for `{text}`"
    );
    // Sizes and layouts of what was accepted are computable without a panic.
    let _ = sig.ret().size();
    for a in sig.args() {
        let _ = (a.size(), a.align());
    }
});
