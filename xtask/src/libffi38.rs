//! libffi 3.8.0 as a measured peer: its source (`shared/peers/libffi-3.8.0-src.tar.gz`
//! beside the checkout, or `FFIKIT_LIBFFI38_TARBALL`) unpacked and built once into
//! `target/peers/libffi-3.8.0/` (`include/ffi.h`, `lib/libffi.so.8`), never into the
//! repository. The C benchmarks and the asm criterion bench call its reusable call plans
//! (`ffi_call_plan_invoke`) and its `ffi_call` beside Debian's libffi.
//!
//! The build is quiet: each step's output goes to a log file under
//! `target/peers/libffi-3.8.0.build/`, printed only when the step fails. A later call finds
//! the installed tree and builds nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::root;

/// The tarball, relative to the workspace root, when `FFIKIT_LIBFFI38_TARBALL` is unset.
const TARBALL: &str = "../shared/peers/libffi-3.8.0-src.tar.gz";

/// The environment variable that names another tarball of the same release.
pub(crate) const TARBALL_ENV: &str = "FFIKIT_LIBFFI38_TARBALL";

/// The environment variable through which the benchmarks find the built library (the C
/// programs and the asm criterion bench read it; the bench also looks in [`INSTALL`]).
pub(crate) const LIB_ENV: &str = "FFIKIT_LIBFFI38_LIB";

/// The installed tree (`include/`, `lib/`), relative to the workspace root.
const INSTALL: &str = "target/peers/libffi-3.8.0";

/// The tarball's top directory.
const TOP: &str = "libffi-3.8.0";

/// A built libffi 3.8.0.
pub(crate) struct Libffi38 {
    /// The install prefix: `target/peers/libffi-3.8.0`.
    prefix: PathBuf,
}

impl Libffi38 {
    /// The directory holding its `ffi.h` and `ffitarget.h`.
    pub(crate) fn include_dir(&self) -> PathBuf {
        self.prefix.join("include")
    }

    /// The shared library itself (`lib/libffi.so.8`, the same soname as Debian's libffi, so
    /// the benchmarks open it by path with `RTLD_DEEPBIND` instead of linking it).
    pub(crate) fn library(&self) -> PathBuf {
        self.prefix.join("lib/libffi.so.8")
    }

    /// Compiles `crates/capi/benches/c/libffi38.c` (the C benchmarks' opening of this
    /// library, against its `ffi.h`) into `{out_dir}/libffi38.o`, to link into a benchmark
    /// program compiled with `-DFFIKIT_LIBFFI38` (and `-ldl`).
    ///
    /// # Errors
    /// A message when gcc cannot start or fails.
    pub(crate) fn compile_c_peer(&self, out_dir: &Path) -> Result<PathBuf, String> {
        let obj = out_dir.join("libffi38.o");
        crate::cmd::run(
            Command::new("gcc")
                .args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-c"])
                .arg(format!("-I{}", self.include_dir().display()))
                .arg(root().join("crates/capi/benches/c/libffi38.c"))
                .arg("-o")
                .arg(&obj),
        )?;
        Ok(obj)
    }

    /// True when the installed tree is complete.
    fn complete(&self) -> bool {
        self.include_dir().join("ffi.h").is_file() && self.library().is_file()
    }
}

/// Prints the loud line that says which rows were not run and why.
pub(crate) fn not_run(rows: &str, why: &str) {
    eprintln!("xtask: ********** libffi 3.8 rows NOT RUN ({rows}): {why} **********");
}

/// libffi 3.8.0 built into `target/peers/libffi-3.8.0` (on the first call: unpack,
/// `./autogen.sh`, `./configure --disable-docs`, `make`, `make install`; later calls reuse the
/// installed tree).
///
/// Returns `Ok(None)`, after printing the loud NOT RUN line naming `rows`, when the tarball
/// is absent or autoconf, automake or libtool is missing outside CI.
///
/// # Errors
/// A message when a build step fails (with the tail of its log), or when the autotools are
/// missing under CI (`CI` set).
pub(crate) fn build(rows: &str) -> Result<Option<Libffi38>, String> {
    let root = root();
    let built = Libffi38 {
        prefix: root.join(INSTALL),
    };
    if built.complete() {
        return Ok(Some(built));
    }
    let tarball = std::env::var_os(TARBALL_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(TARBALL));
    if !tarball.is_file() {
        not_run(
            rows,
            &format!(
                "{} is absent (set {TARBALL_ENV} to the libffi 3.8.0 source tarball)",
                tarball.display()
            ),
        );
        return Ok(None);
    }
    let missing: Vec<&str> = ["autoreconf", "automake", "libtoolize"]
        .into_iter()
        .filter(|t| !crate::ctest::tool_present(t))
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "{} missing (apt-get install -y autoconf automake libtool)",
            missing.join(", ")
        );
        if std::env::var_os("CI").is_some() {
            return Err(format!("building libffi 3.8: {why}"));
        }
        not_run(rows, &why);
        return Ok(None);
    }
    eprintln!(
        "xtask: building libffi 3.8.0 from {} into {} (once)",
        tarball.display(),
        built.prefix.display()
    );
    let work = root.join(format!("{INSTALL}.build"));
    let staging = root.join(format!("{INSTALL}.staging"));
    for dir in [&work, &staging] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    step(
        &work,
        "tar",
        Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&work),
    )?;
    let src = work.join(TOP);
    if !src.join("configure.ac").is_file() {
        return Err(format!(
            "{} did not unpack to {} (no configure.ac there)",
            tarball.display(),
            src.display()
        ));
    }
    step(
        &work,
        "autogen",
        Command::new("sh").arg("./autogen.sh").current_dir(&src),
    )?;
    step(
        &work,
        "configure",
        Command::new("sh")
            .args(["./configure", "--disable-docs", "--disable-static"])
            .arg(format!("--prefix={}", staging.display()))
            .current_dir(&src),
    )?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    step(
        &work,
        "make",
        Command::new("make")
            .arg(format!("-j{jobs}"))
            .current_dir(&src),
    )?;
    step(
        &work,
        "make-install",
        Command::new("make").arg("install").current_dir(&src),
    )?;
    // The staging tree becomes the installed tree in one rename, so an interrupted build
    // never leaves a tree that looks complete.
    if built.prefix.exists() {
        std::fs::remove_dir_all(&built.prefix)
            .map_err(|e| format!("removing {}: {e}", built.prefix.display()))?;
    }
    std::fs::rename(&staging, &built.prefix).map_err(|e| {
        format!(
            "moving {} to {}: {e}",
            staging.display(),
            built.prefix.display()
        )
    })?;
    if !built.complete() {
        return Err(format!(
            "libffi 3.8 built, but {} or {} is missing",
            built.include_dir().join("ffi.h").display(),
            built.library().display()
        ));
    }
    // The sources and objects are no longer needed (the installed tree is all that is used).
    std::fs::remove_dir_all(&work).map_err(|e| format!("removing {}: {e}", work.display()))?;
    eprintln!("xtask: libffi 3.8.0 built: {}", built.library().display());
    Ok(Some(built))
}

/// Runs one build step with its output in `{work}/{name}.log`.
///
/// # Errors
/// A message naming the step, with the last lines of its log, when it cannot start or fails.
fn step(work: &Path, name: &str, command: &mut Command) -> Result<(), String> {
    let log_path = work.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let err = log
        .try_clone()
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let status = command
        .stdout(log)
        .stderr(err)
        .status()
        .map_err(|e| format!("libffi 3.8 build: could not start {name}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(format!(
        "libffi 3.8 build: {name} failed ({status}); the end of {}:\n{tail}",
        log_path.display()
    ))
}
