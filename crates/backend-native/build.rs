//! Builds `tests/fixture.c` into a shared library for the integration tests and exports its
//! path as `FFIKIT_NATIVE_FIXTURE`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=tests/fixture.c");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out.join("libffikit_native_fixture.so");
    let compiler = cc::Build::new().opt_level(2).get_compiler();
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg("tests/fixture.c")
        .status()
        .expect("running the C compiler for tests/fixture.c");
    assert!(status.success(), "compiling tests/fixture.c failed");
    println!("cargo:rustc-env=FFIKIT_NATIVE_FIXTURE={}", lib.display());
}
