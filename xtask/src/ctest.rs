//! The C side of `cargo xtask test`: the header's staleness and portability, the exported
//! symbols of `libffikit.so`, the C API tests (plain, under AddressSanitizer + UBSan, under
//! valgrind), and the C example. Also `cargo xtask bench-c`, the C per-call overhead table.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{Built, build_all};
use crate::cmd::{root, run};
use crate::header;
use crate::suites::Outcome;

/// Flags every C compile uses: warnings are errors.
const STRICT: [&str; 3] = ["-Wall", "-Wextra", "-Werror"];

fn pkg_config(built: &Built, what: &str) -> Result<Vec<String>, String> {
    let out = Command::new("pkg-config")
        .args([what, "ffikit"])
        .env("PKG_CONFIG_PATH", &built.pkgconfig_dir)
        .output()
        .map_err(|e| {
            format!("pkg-config is needed for the C tests (apt-get install pkg-config): {e}")
        })?;
    if !out.status.success() {
        return Err(format!(
            "pkg-config {what} ffikit failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// Compiles `sources` into `out` with `compiler`, `extra` flags and ffikit's pkg-config flags.
fn compile(
    built: &Built,
    compiler: &str,
    extra: &[&str],
    sources: &[&Path],
    out: &Path,
    libs: &[&str],
) -> Result<(), String> {
    let mut c = Command::new(compiler);
    c.args(STRICT)
        .args(extra)
        .args(pkg_config(built, "--cflags")?);
    c.args(sources).arg("-o").arg(out);
    c.args(pkg_config(built, "--libs")?).args(libs);
    run(&mut c)
}

/// A command running a built C program (or a tool on one). `cargo run` puts
/// `target/debug` on `LD_LIBRARY_PATH`, which outranks the program's RUNPATH and would load
/// a stale debug `libffikit.so`; it is removed so the program loads the library it was
/// linked against.
fn c_program(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.env_remove("LD_LIBRARY_PATH");
    c
}

fn out_dir() -> Result<PathBuf, String> {
    let dir = root().join("target/ctest");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

fn wasm_kernels() -> PathBuf {
    root().join("target/wasm32-unknown-unknown/release/ffikit_kernels.wasm")
}

/// Runs everything C. A missing valgrind fails under CI and is a loud skip elsewhere.
///
/// # Errors
/// The first step that fails.
pub(crate) fn run_c_tests() -> Result<Outcome, String> {
    let built = build_all()?;
    header::check()?;
    exports_only_ffikit(&built.lib_dir.join("libffikit.so"))?;
    let dir = out_dir()?;
    let tests = root().join("crates/capi/tests/c");

    // The header: C99 and C++, included twice.
    let twice = tests.join("header_twice.c");
    compile(
        &built,
        "gcc",
        &["-std=c99", "-pedantic"],
        &[&twice],
        &dir.join("header_c99"),
        &[],
    )?;
    compile(
        &built,
        "g++",
        &["-x", "c++", "-std=c++11", "-pedantic"],
        &[&twice],
        &dir.join("header_cpp"),
        &[],
    )?;
    run(&mut c_program(dir.join("header_c99")))?;
    run(&mut c_program(dir.join("header_cpp")))?;

    // The API tests: plain, ASan + UBSan, valgrind.
    let source = tests.join("capi_test.c");
    let plain = dir.join("capi_test");
    let asan = dir.join("capi_test_asan");
    compile(
        &built,
        "gcc",
        &["-std=c99", "-O1", "-g"],
        &[&source],
        &plain,
        &["-lpthread"],
    )?;
    compile(
        &built,
        "gcc",
        &[
            "-std=c99",
            "-O1",
            "-g",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ],
        &[&source],
        &asan,
        &["-lpthread"],
    )?;
    let tmp = tempdir(&dir)?;
    let with_env = |mut c: Command| {
        c.env("FFIKIT_TEST_WASM", wasm_kernels())
            .env("FFIKIT_TEST_TMP", &tmp);
        c
    };
    run(&mut with_env(c_program(&plain)))?;
    let mut c = with_env(c_program(&asan));
    // wasmtime handles its own SIGSEGV (wasm traps) and hands other faults on to ASan.
    c.env(
        "ASAN_OPTIONS",
        "detect_leaks=1:allow_user_segv_handler=1:abort_on_error=1",
    )
    .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    run(&mut c)?;
    // The example a newcomer copies.
    let example = dir.join("ffikit_example");
    compile(
        &built,
        "gcc",
        &["-std=c99"],
        &[&root().join("examples/c/ffikit_example.c")],
        &example,
        &[],
    )?;
    run(&mut c_program(&example))?;
    eprintln!("xtask: C API tests passed (plain, ASan+UBSan), example ran");
    Ok(Outcome::Passed)
}

/// The systematic ABI corpus through the C API (`crates/capi/tests/c/abi_corpus.c`): every
/// fixture function prepared with `ffikit_prepare` and called with `ffikit_call` by the
/// corpus's raw drivers, which compare each call with the direct one; the fixed sample, or
/// all of it when `FFIKIT_FULL_ABI=1` (`--full-abi`).
///
/// # Errors
/// A failed build, call or comparison.
pub(crate) fn run_c_abi_corpus() -> Result<Outcome, String> {
    let built = build_all()?;
    let fixture = ffikit_test_support::abi_corpus::systematic_fixture();
    let signatures = fixture.with_file_name("signatures.txt");
    let dir = out_dir()?;
    let program = dir.join("abi_corpus");
    compile(
        &built,
        "gcc",
        &["-std=c99", "-O1", "-g"],
        &[&root().join("crates/capi/tests/c/abi_corpus.c")],
        &program,
        &["-ldl"],
    )?;
    run(c_program(&program)
        .env("FFIKIT_ABI_FIXTURE", fixture)
        .env("FFIKIT_ABI_SIGNATURES", &signatures))?;
    Ok(Outcome::Passed)
}

/// The C API test program (built by [`run_c_tests`]) under valgrind's memcheck: any error, or
/// a definite or indirect leak, fails it; only those are shown (wasmtime's "possibly lost"
/// pools are not).
///
/// # Errors
/// A valgrind error or leak, or the program failing.
pub(crate) fn run_c_valgrind() -> Result<Outcome, String> {
    if !tool_present("valgrind") {
        return Ok(Outcome::NotRun(
            "valgrind is missing (apt-get install valgrind)".into(),
        ));
    }
    let dir = out_dir()?;
    let plain = dir.join("capi_test");
    if !plain.exists() {
        return Err(format!(
            "{} was not built (the C API suite failed)",
            plain.display()
        ));
    }
    let tests = root().join("crates/capi/tests/c");
    let tmp = tempdir(&dir)?;
    let mut c = c_program("valgrind");
    c.env("FFIKIT_TEST_WASM", wasm_kernels())
        .env("FFIKIT_TEST_TMP", &tmp);
    // valgrind's CPU model has no AVX-512 and not every AVX2 masked move the kernels'
    // AVX2 level uses: run the kernels' SSE2 level under it (the level is an ordinary
    // code path: every level is tested bit-identical against the reference).
    c.env("FFIKIT_KERNELS_LEVEL", "sse2");
    c.arg("--quiet")
        .arg("--error-exitcode=99")
        .arg("--leak-check=full")
        .arg("--show-leak-kinds=definite,indirect")
        .arg("--errors-for-leak-kinds=definite,indirect")
        .arg(format!(
            "--suppressions={}",
            tests.join("valgrind.supp").display()
        ))
        .arg(&plain);
    run(&mut c)?;
    eprintln!("xtask: C API tests passed under valgrind");
    Ok(Outcome::Passed)
}

/// `cargo xtask bench-c`: the C per-call overhead table (ffikit_add_u32, ffikit_call,
/// libffi's ffi_call, a direct call, and libffi 3.8's call plan and ffi_call where its
/// tarball is present), one run.
///
/// # Errors
/// When the build or the benchmark fails (libffi-dev is needed).
pub(crate) fn bench_c() -> Result<(), String> {
    let built = build_all()?;
    let dir = out_dir()?;
    let exe = dir.join("overhead");
    let overhead = root().join("crates/capi/benches/c/overhead.c");
    let libffi38 = crate::libffi38::build("libffi-plan, libffi-3.8 in cargo xtask bench-c")?;
    let peer = match &libffi38 {
        Some(l) => Some(l.compile_c_peer(&dir)?),
        None => None,
    };
    let mut sources: Vec<&Path> = vec![&overhead];
    let mut flags = vec!["-std=c99", "-O2"];
    if let Some(obj) = &peer {
        sources.push(obj);
        flags.push("-DFFIKIT_LIBFFI38");
    }
    compile(&built, "gcc", &flags, &sources, &exe, &["-lffi", "-ldl"])?;
    let mut c = c_program(&exe);
    c.env(
        "FFIKIT_KERNELS_LIB",
        built.lib_dir.join("libffikit_kernels.so"),
    )
    .env("FFIKIT_KERNELS_WASM", wasm_kernels());
    if let Some(l) = &libffi38 {
        c.env(crate::libffi38::LIB_ENV, l.library());
    }
    run(&mut c)?;

    // ffikit_call on the straight path's five shapes, callees in a library of their own.
    let shapes_lib = dir.join("shapes_lib.so");
    run(Command::new("gcc")
        .args(STRICT)
        .args(["-std=c99", "-O2", "-shared", "-fPIC"])
        .arg(root().join("crates/capi/benches/c/shapes_lib.c"))
        .arg("-o")
        .arg(&shapes_lib))?;
    let shapes = dir.join("shapes");
    let mut sources: Vec<&Path> = vec![];
    let shapes_src = root().join("crates/capi/benches/c/shapes.c");
    sources.push(&shapes_src);
    if let Some(obj) = &peer {
        sources.push(obj);
    }
    compile(&built, "gcc", &flags, &sources, &shapes, &["-lffi", "-ldl"])?;
    let mut c = c_program(&shapes);
    c.env("FFIKIT_BENCH_SHAPES", &shapes_lib);
    if let Some(l) = &libffi38 {
        c.env(crate::libffi38::LIB_ENV, l.library());
    }
    run(&mut c)
}

/// Fails when `libffikit.so` exports a symbol without the `ffikit_` prefix.
fn exports_only_ffikit(lib: &Path) -> Result<(), String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib)
        .output()
        .map_err(|e| format!("nm (binutils) is needed to check the exports: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let stray: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| !s.starts_with("ffikit_"))
        .collect();
    if !out.status.success() || text.lines().count() == 0 {
        return Err(format!("nm -D {} failed", lib.display()));
    }
    if !stray.is_empty() {
        return Err(format!(
            "libffikit.so exports symbols without the ffikit_ prefix: {}",
            stray.join(", ")
        ));
    }
    eprintln!(
        "xtask: libffikit.so exports {} symbols, all ffikit_*",
        text.lines().count()
    );
    Ok(())
}

fn tempdir(parent: &Path) -> Result<PathBuf, String> {
    let dir = parent.join("tmp");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

pub(crate) fn tool_present(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}
