//! The ABI conformance fixture: a corpus of C functions, one per signature, generated here
//! and compiled at test time (the way libloading's `tests/functions.rs` builds its helpers),
//! so that building the library itself compiles no C.
//!
//! The corpus ([`generate`]): the hand-picked categories of libffi's `testsuite/libffi.call`
//! and `libffi.bhaible` (small integers and their extensions, mixed integer/float orders,
//! register exhaustion in both files, structs of 1-40 bytes as arguments and returns, HFAs,
//! sret, variadics, stack spills), then 300 random signatures from a fixed seed. Each
//! function `abi_N` folds every scalar it receives into a checksum and derives its return
//! value from it, so an argument in a wrong register shows as a wrong result, not as a
//! crash. Beside it, a callback driver `cb_N` (`uint64_t cb_N(cb, seed, h_out)`) fills every
//! argument from `seed` (leaf `k` gets `conv_T(mix(seed, k))`), writes the checksum of the
//! arguments it passes to `*h_out`, calls `cb` and `abi_N` with them, and returns 1 when both
//! returns fold to the same value (always for `void`), else 0: a closure that computes the
//! fixture's function thus proves it saw every argument and returned its value where C looks
//! for it.
//!
//! The checksum (mirrored in `crates/backend-asm/tests/abi/checksum.rs`): start at
//! `0xcbf29ce484222325 ^ index`, and for each scalar leaf in order
//! `h = ((h ^ v) * 0x100000001b3) ^ (h' >> 29)`, where `v` is the value widened to 64 bits
//! (signed types sign-extended, floats as their IEEE bits, a variadic `float` as the bits of
//! the `double` it was promoted to).
//!
//! The library ([`fixture`]) also holds the hand-written fixtures of
//! `src/abi_corpus/handwritten.c`: `ffx_capture` (records the argument registers and stack
//! words it was entered with), the `ffx_*` shapes the benches call, and the callback loops.
//! It is built once per target under `target/abi-fixture/<arch>-<os>-<env>/` and rebuilt only
//! when the generated text, the hand-written file or the compiler command changes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod generate;
mod signatures;

/// The hand-written part of the fixture library.
const HANDWRITTEN: &str = include_str!("abi_corpus/handwritten.c");

/// One fixture function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Its symbol, `abi_{index}`; its callback driver is `cb_{index}`.
    pub symbol: String,
    /// Its signature in ffikit's text form, e.g. `i64({f64, f64}, ..., i32)`.
    pub signature: String,
    /// Whether it is one of the hand-picked categories (else one of the random signatures).
    pub hand_picked: bool,
}

/// The generated corpus: the cases, in index order, and the C source defining them.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// Every fixture function; `cases[i].symbol == format!("abi_{i}")`.
    pub cases: Vec<Case>,
    /// The C translation unit defining every `abi_N` and `cb_N`.
    pub source: String,
}

/// Generates the corpus: a pure function of nothing (fixed categories, fixed seed), the same
/// on every call and every host.
pub fn generate() -> Corpus {
    generate::generate()
}

/// The corpus, generated once per process.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(generate)
}

/// Every fixture function, in index order (generated once per process).
pub fn cases() -> &'static [Case] {
    &corpus().cases
}

/// One signature in this many of the systematic corpus is in its fixed sample.
pub const SAMPLE_STEP: usize = 15;

/// Whether the systematic corpus runs in full: `FFIKIT_FULL_ABI` is set to `1` (`cargo xtask
/// test --full-abi`); otherwise its fixed sample runs.
pub fn systematic_is_full() -> bool {
    std::env::var_os("FFIKIT_FULL_ABI").is_some_and(|v| v == "1")
}

/// The number of signatures in the whole systematic corpus (over 15,000: see
/// [`systematic_cases`]).
pub fn systematic_total() -> usize {
    signatures::systematic_sigs().len()
}

/// The systematic corpus, generated once per process: every return and every list of up to
/// two parameters over the scalars `i32`, `f32`, `f64`, `ptr` and the structs of one or two
/// of them (the JDK FFM generator's shapes), three-field structs and HFAs in and out with
/// the registers exhausted before them, small integers with their extensions (nested in
/// structs too), and variadic tails. In full under [`systematic_is_full`], else one
/// signature in [`SAMPLE_STEP`], the same ones on every run.
fn systematic() -> &'static Corpus {
    static SYSTEMATIC: OnceLock<Corpus> = OnceLock::new();
    SYSTEMATIC.get_or_init(|| {
        let all = signatures::systematic_sigs();
        let chosen: Vec<String> = if systematic_is_full() {
            all
        } else {
            all.into_iter().step_by(SAMPLE_STEP).collect()
        };
        generate::generate_from(&chosen, 0)
    })
}

/// The systematic corpus's functions in index order (all of them, or the sample: see
/// [`systematic_is_full`]); `cases[i].symbol == format!("abi_{i}")` in
/// [`systematic_fixture`].
pub fn systematic_cases() -> &'static [Case] {
    &systematic().cases
}

/// The library of the systematic corpus (with the hand-written fixtures too), built on first
/// use in `target/abi-fixture/<target>/systematic-{full,sample}/`.
///
/// # Panics
/// As [`fixture`].
pub fn systematic_fixture() -> &'static Path {
    static FIXTURE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = fixture_dir().join(if systematic_is_full() {
        "systematic-full"
    } else {
        "systematic-sample"
    });
    match FIXTURE.get_or_init(|| build_library(&dir, &compiler(), systematic())) {
        Ok(path) => path,
        Err(e) => panic!("the systematic ABI fixture library could not be built: {e}"),
    }
}

/// The compiler command for the fixture: `FFIKIT_ABI_CC` when set (split on whitespace, so
/// `ccache gcc` works), else `aarch64-linux-gnu-gcc` for an AArch64 test binary (which runs
/// under qemu-user on an x86-64 host, or natively on Debian-like AArch64 hosts, where that
/// name is the native compiler), else `cc`.
pub fn compiler() -> Vec<OsString> {
    if let Some(cc) = std::env::var_os("FFIKIT_ABI_CC").filter(|v| !v.is_empty()) {
        let words: Vec<OsString> = cc
            .to_string_lossy()
            .split_whitespace()
            .map(OsString::from)
            .collect();
        if !words.is_empty() {
            return words;
        }
    }
    let cc = if cfg!(target_arch = "aarch64") {
        "aarch64-linux-gnu-gcc"
    } else {
        "cc"
    };
    vec![cc.into()]
}

/// What a compiler error adds: where the compiler comes from. (Under qemu-user a missing
/// program shows as exit status 127, not as a failure to start it.)
const HINT: &str = " (FFIKIT_ABI_CC names the C compiler for the test binary's target; \
                    without it: aarch64-linux-gnu-gcc for AArch64, else cc)";

/// The flags every fixture compile uses (besides the output and the sources).
const FLAGS: [&str; 5] = ["-O1", "-shared", "-fPIC", "-pthread", "-w"];

/// The target directory of the running test or bench binary: the nearest ancestor of the
/// executable that holds cargo's `CACHEDIR.TAG` (its parent when that has one too: cargo
/// tags `target/<triple>/` of a cross build as well as `target/`), else an absolute
/// `CARGO_TARGET_DIR`, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    let tagged = |d: &Path| d.join("CACHEDIR.TAG").is_file();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.ancestors().skip(1).find(|d| tagged(d))
    {
        return match dir.parent() {
            Some(up) if tagged(up) => up.to_path_buf(),
            _ => dir.to_path_buf(),
        };
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The fixture directory of this binary's target: `target/abi-fixture/<arch>-<os>-<env>`.
fn fixture_dir() -> PathBuf {
    let env = if cfg!(target_env = "gnu") {
        "gnu"
    } else if cfg!(target_env = "musl") {
        "musl"
    } else {
        "other"
    };
    target_dir().join("abi-fixture").join(format!(
        "{}-{}-{env}",
        std::env::consts::ARCH,
        std::env::consts::OS
    ))
}

/// The path of the fixture library for the running binary's target, built on first use in
/// this process (see [`build_fixture`]; the directory is `target/abi-fixture/<target>/`).
///
/// # Panics
///
/// When the library cannot be built: no C compiler (set `FFIKIT_ABI_CC`), a failing
/// compile (its output is in the message), or an unwritable target directory. A test that
/// needs the fixture fails then; it is never skipped.
pub fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match FIXTURE.get_or_init(|| build_fixture(&fixture_dir(), &compiler())) {
        Ok(path) => path,
        Err(e) => panic!("the ABI fixture library could not be built: {e}"),
    }
}

/// Builds the fixture library `libffikit_abi_fixture.so` in `dir` with `compiler` (program
/// and leading arguments) and returns its path. An up-to-date build is reused: `dir` keeps
/// the sources it was compiled from, the first line of `abi_fixture.c` naming the compiler
/// command, and they are compared with what this call would write. Safe when several
/// processes build at once: each compiles under names of its own and renames the library
/// into place before the sources that mark it current.
///
/// # Errors
///
/// When `dir` cannot be created or written, the compiler cannot be run, or it fails (its
/// output is in the message).
pub fn build_fixture(dir: &Path, compiler: &[OsString]) -> Result<PathBuf, String> {
    build_library(dir, compiler, corpus())
}

/// [`build_fixture`] of `corpus`, and beside the library `signatures.txt`: each case's
/// signature on its own line, in index order (for C programs that call `abi_N` through
/// `rc_N`).
fn build_library(dir: &Path, compiler: &[OsString], corpus: &Corpus) -> Result<PathBuf, String> {
    let lib = build_library_only(dir, compiler, corpus)?;
    let list: String = corpus
        .cases
        .iter()
        .map(|c| format!("{}\n", c.signature))
        .collect();
    let path = dir.join("signatures.txt");
    if std::fs::read(&path).ok().as_deref() != Some(list.as_bytes()) {
        let tmp = dir.join(format!("tmp-{}-signatures.txt", std::process::id()));
        std::fs::write(&tmp, &list)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(lib)
}

fn build_library_only(
    dir: &Path,
    compiler: &[OsString],
    corpus: &Corpus,
) -> Result<PathBuf, String> {
    let (program, lead) = compiler
        .split_first()
        .ok_or("the C compiler command is empty")?;
    let command_line = compiler
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .chain(FLAGS.iter().map(|f| (*f).to_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let generated = format!("/* {command_line} */\n{}", corpus.source);
    let lib = dir.join("libffikit_abi_fixture.so");
    let main = dir.join("abi_fixture.c");
    let hand = dir.join("handwritten.c");
    let current = |path: &Path, want: &str| std::fs::read(path).is_ok_and(|b| b == want.as_bytes());
    if lib.is_file() && current(&hand, HANDWRITTEN) && current(&main, &generated) {
        return Ok(lib);
    }

    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tag = format!("tmp-{}", std::process::id());
    let tmp_main = dir.join(format!("{tag}-abi_fixture.c"));
    let tmp_hand = dir.join(format!("{tag}-handwritten.c"));
    let tmp_lib = dir.join(format!("{tag}-libffikit_abi_fixture.so"));
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    };
    let compiled = write(&tmp_main, &generated)
        .and_then(|()| write(&tmp_hand, HANDWRITTEN))
        .and_then(|()| {
            eprintln!("ffikit-test-support: compiling the ABI fixture: {command_line}");
            let out = Command::new(program)
                .args(lead)
                .args(FLAGS)
                .arg("-o")
                .arg(&tmp_lib)
                .arg(&tmp_main)
                .arg(&tmp_hand)
                .output()
                .map_err(|e| {
                    format!(
                        "running the C compiler `{}` failed: {e}{HINT}",
                        program.to_string_lossy()
                    )
                })?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "`{command_line}` exited with {} compiling the fixture in {}{HINT}:\n{}{}",
                    out.status,
                    dir.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        })
        // The library first: whoever sees the new sources in place finds it beside them.
        .and_then(|()| {
            [(&tmp_lib, &lib), (&tmp_hand, &hand), (&tmp_main, &main)]
                .into_iter()
                .try_for_each(|(from, to)| {
                    std::fs::rename(from, to).map_err(|e| {
                        format!("renaming {} to {}: {e}", from.display(), to.display())
                    })
                })
        });
    if compiled.is_err() {
        for tmp in [&tmp_main, &tmp_hand, &tmp_lib] {
            let _ = std::fs::remove_file(tmp);
        }
    }
    compiled.map(|()| lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_fixed() {
        let a = generate();
        let b = generate();
        assert_eq!(a.cases, b.cases);
        assert_eq!(a.source, b.source);
        let hand = a.cases.iter().filter(|c| c.hand_picked).count();
        assert_eq!(a.cases.len() - hand, 300);
        assert!(hand >= 200, "{hand} hand-picked cases");
        // Each `abi_N` is defined before its driver `cb_N`, in index order.
        let mut at = 0;
        for (i, case) in a.cases.iter().enumerate() {
            assert_eq!(case.symbol, format!("abi_{i}"));
            for def in [format!(" abi_{i}("), format!("uint64_t cb_{i}(")] {
                at += a.source[at..]
                    .find(&def)
                    .unwrap_or_else(|| panic!("no `{def}`"));
            }
        }
    }

    #[test]
    fn a_missing_compiler_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("ffikit-abi-cc-{}", std::process::id()));
        let e = build_fixture(&dir, &["ffikit-no-such-cc".into()]).unwrap_err();
        assert!(e.contains("ffikit-no-such-cc"), "{e}");
        assert!(e.contains("FFIKIT_ABI_CC"), "{e}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
