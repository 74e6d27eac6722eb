//! Type-erased handles: a function prepared by one backend is called by that backend (through
//! `DynBackend` and through `AnyContext`'s dispatch) and refused by any other with a typed
//! error naming it, never reinterpreted as the other backend's function.

#![cfg(all(feature = "native", feature = "asm"))]

use std::ffi::c_void;
use std::path::Path;

use ffikit::{AnyContext, Arg, ContextConfig, Error, Source, Value, backend_by_name};
use ffikit_kernels::locate::kernels_library;

fn assert_foreign<T: std::fmt::Debug>(r: ffikit::Result<T>) {
    match r {
        Err(Error::ForeignHandle { what, kind }) => {
            assert_eq!((what.as_str(), kind), ("ffikit_add_u32", "backend"));
        }
        other => panic!("expected a foreign-handle error, got {other:?}"),
    }
}

#[test]
fn a_function_of_another_backend_is_a_foreign_handle() {
    let path = kernels_library();
    let sig = "u32(u32, u32)".parse().unwrap();
    let (a, b) = (40u32, 2u32);
    let raw = [&raw const a as *const c_void, &raw const b as *const c_void];
    let args = [Arg::u32(a), Arg::u32(b)];
    for (maker, other) in [("native", "asm"), ("asm", "native")] {
        let mut own = backend_by_name(maker).unwrap();
        let mut foreign = backend_by_name(other).unwrap();
        let lib = own.open(Source::Path(Path::new(&path))).unwrap();
        // SAFETY: the kernel's signature.
        let f = unsafe { own.prepare(&lib, "ffikit_add_u32", &sig) }.unwrap();

        let mut r = 0u64;
        // SAFETY: the arguments hold no pointers; `raw` points at two u32 and `r` holds 8
        // bytes.
        unsafe {
            assert_eq!(own.call(&f, &args, &mut []).unwrap(), Value::U32(42));
            own.call_raw(&f, raw.as_ptr(), 2, (&raw mut r).cast())
                .unwrap();
            assert_eq!(r, 42, "{maker}");
            assert_foreign(foreign.call(&f, &args, &mut []));
            assert_foreign(foreign.call_raw(&f, raw.as_ptr(), 2, (&raw mut r).cast()));
        }

        // The same through a context's enum dispatch.
        let config = ContextConfig {
            capacity_bytes: 4096,
        };
        let mut mine = AnyContext::with_kernels(maker, Path::new(&path), config).unwrap();
        let mut theirs = AnyContext::with_kernels(other, Path::new(&path), config).unwrap();
        let lib = mine.backend().open(Source::Path(Path::new(&path))).unwrap();
        // SAFETY: the kernel's signature.
        let f = unsafe { mine.backend().prepare(&lib, "ffikit_add_u32", &sig) }.unwrap();
        r = 0;
        // SAFETY: as above.
        unsafe {
            mine.call_raw(&f, raw.as_ptr(), 2, (&raw mut r).cast())
                .unwrap();
            assert_eq!(r, 42, "{maker} context");
            assert_foreign(theirs.call_raw(&f, raw.as_ptr(), 2, (&raw mut r).cast()));
        }
        assert_ne!(mine.owner(), theirs.owner());
    }
}

/// A function prepared from an address the caller holds (here the address of the symbol a
/// prepared function resolved) has the same plan: the same results through `call` and
/// `call_raw`, a raw entry where the symbol's has one, and errors that name the address. A
/// null address and the wasm backend (guest functions are no host addresses) are refused
/// with their own errors.
#[test]
fn a_function_prepared_from_an_address_calls_as_its_symbol_does() {
    let path = kernels_library();
    let sig = "u32(u32, u32)".parse().unwrap();
    let (a, b) = (40u32, 2u32);
    let raw = [&raw const a as *const c_void, &raw const b as *const c_void];
    for name in ["native", "asm"] {
        let mut backend = backend_by_name(name).unwrap();
        let lib = backend.open(Source::Path(Path::new(&path))).unwrap();
        // SAFETY: the kernel's signature.
        let by_name = unsafe { backend.prepare(&lib, "ffikit_add_u32", &sig) }.unwrap();
        let code = by_name.address().expect("a host function has an address");
        // SAFETY: `code` is `ffikit_add_u32`, which `lib` keeps loaded for this test.
        let at = unsafe { backend.prepare_address(code, &sig) }.unwrap();
        assert_eq!(at.address(), Some(code), "{name}");
        assert_eq!(
            at.raw_entry().is_some(),
            by_name.raw_entry().is_some(),
            "{name}"
        );
        let mut r = 0u64;
        // SAFETY: the arguments hold no pointers; `raw` points at two u32 and `r` holds 8
        // bytes.
        unsafe {
            assert_eq!(
                backend
                    .call(&at, &[Arg::u32(a), Arg::u32(b)], &mut [])
                    .unwrap(),
                Value::U32(42),
                "{name}"
            );
            backend
                .call_raw(&at, raw.as_ptr(), 2, (&raw mut r).cast())
                .unwrap();
            assert_eq!(r, 42, "{name}");
            match backend.call(&at, &[Arg::u32(a)], &mut []) {
                Err(Error::ArgumentCount { function, .. }) => {
                    assert_eq!(function, format!("{code:p}"), "{name}");
                }
                Err(e) => panic!("{name}: {e:?}"),
                Ok(v) => panic!("{name}: a short call returned {v:?}"),
            }
            assert!(
                matches!(
                    backend.prepare_address(std::ptr::null(), &sig),
                    Err(Error::NullAddress)
                ),
                "{name}"
            );
        }
    }
}

#[cfg(feature = "wasm")]
#[test]
fn the_wasm_backend_refuses_a_host_address() {
    let mut wasm = backend_by_name("wasm").unwrap();
    let sig = "u32(u32, u32)".parse().unwrap();
    let code = a_function_prepared_from_an_address_calls_as_its_symbol_does as *const c_void;
    // SAFETY: refused before anything is called.
    match unsafe { wasm.prepare_address(code, &sig) } {
        Err(e @ Error::AddressUnsupported { backend: "wasm" }) => {
            assert!(e.to_string().contains("prepare it by name"), "{e}");
        }
        Err(e) => panic!("another error: {e:?}"),
        Ok(_) => panic!("a wasm context prepared a host address"),
    }
}
