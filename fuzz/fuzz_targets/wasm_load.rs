//! Wasm module loading of random and mutated modules (seeded with the kernels module and
//! small hand-written ones): `open` either instantiates the module or returns an error, never
//! panics or crashes. A module with a start function is skipped: it runs guest code at load
//! time, which may loop forever (a deadline bounds calls, not instantiation).

#![no_main]

use ffi_trait::{Backend, Source};
use ffikit::WasmBackend;
use libfuzzer_sys::fuzz_target;

/// Whether `bytes`, read as a binary module, has a start section (id 8). A malformed module
/// reads as having none: loading refuses it anyway.
fn has_start_section(bytes: &[u8]) -> bool {
    let mut at = 8; // magic and version
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let (mut size, mut shift) = (0usize, 0u32);
        loop {
            let Some(&b) = bytes.get(at) else {
                return false;
            };
            at += 1;
            if shift >= 35 {
                return false;
            }
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        if id == 8 {
            return true;
        }
        at = at.saturating_add(size);
    }
    false
}

fuzz_target!(|data: &[u8]| {
    if has_start_section(data) {
        return;
    }
    let mut b = WasmBackend::new().expect("a wasm backend");
    if let Ok(lib) = b.open(Source::Bytes(data)) {
        // A loaded module's memory takes buffers (or refuses them with an error).
        let _ = b.alloc_stable_buffer(64, 64);
        drop(lib);
    }
});
