//! `cargo xtask bench-matrix`: every backend against its peers on the same work, from Rust,
//! C and Go, by size and thread count, written to `target/bench-matrix/`.
//!
//! Stages: build (libffikit.so, the kernels, `bench-rows`, the C matrix program); the Rust
//! rows (`bench-rows`, with its own progress bar); the C rows (`matrix.c`); the Go rows
//! (`go test -bench`, the binding and purego); optionally the Rust rows for AArch64 under
//! qemu-user, marked emulated. Then `results.json`, `results.csv`, `matrix.md`,
//! `crossover.md`, `chart.svg` and `chart.png`, and a summary on the terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bench_matrix::{Machine, Record, Run, Summary, chart, median, render};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cmd::{cargo, root, run};

/// Options of `cargo xtask bench-matrix`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct MatrixArgs {
    /// Fewer sizes and shorter samples: finishes in a few minutes (CI runs this).
    #[arg(long)]
    quick: bool,
    /// Only these backends (native, asm, wasm).
    #[arg(long = "backend", value_delimiter = ',')]
    backends: Vec<String>,
    /// Only these kernels (noop, add_u32, add_u32_batch, sum_f64, dot_f64, axpy_f64).
    #[arg(long = "kernel", value_delimiter = ',')]
    kernels: Vec<String>,
    /// Only these sizes.
    #[arg(long = "size", value_delimiter = ',')]
    sizes: Vec<u64>,
    /// Only these callers (rust-typed, rust-dynamic, rust-pool, c, go).
    #[arg(long = "caller", value_delimiter = ',')]
    callers: Vec<String>,
    /// Thread counts for the pool rows.
    #[arg(long = "threads", value_delimiter = ',')]
    threads: Vec<u32>,
    /// Also run the Rust rows for this architecture under qemu-user (`aarch64`), marked
    /// emulated.
    #[arg(long)]
    arch: Option<String>,
    /// Join results.json files from several machines into one matrix instead of measuring.
    #[arg(long, num_args = 1..)]
    merge: Vec<PathBuf>,
    /// Where to write the outputs (default target/bench-matrix).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also put matrix.md into README.md (between its bench-matrix markers).
    #[arg(long)]
    readme: bool,
}

impl MatrixArgs {
    fn wants_caller(&self, c: &str) -> bool {
        self.callers.is_empty() || self.callers.iter().any(|x| x == c)
    }
    fn sizes(&self) -> Vec<u64> {
        if !self.sizes.is_empty() {
            return self.sizes.clone();
        }
        let mut s = vec![1, 100, 1_000, 10_000, 100_000];
        if !self.quick {
            s.push(1_000_000);
        }
        s
    }
    /// The filter flags bench-rows takes.
    fn rows_flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        let mut list = |name: &str, v: Vec<String>| {
            if !v.is_empty() {
                f.push(format!("--{name}={}", v.join(",")));
            }
        };
        list("backend", self.backends.clone());
        list("kernel", self.kernels.clone());
        list("size", self.sizes.iter().map(u64::to_string).collect());
        list(
            "caller",
            self.callers
                .iter()
                .filter(|c| c.starts_with("rust"))
                .cloned()
                .collect(),
        );
        list("threads", self.threads.iter().map(u32::to_string).collect());
        if self.quick {
            f.push("--quick".into());
        }
        f
    }
}

fn output(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// This machine, as the matrix records it.
fn this_machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let distro = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_owned())
        .unwrap_or_default();
    let mut rev = output(
        Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(root()),
    );
    if !output(
        Command::new("git")
            .args(["status", "--porcelain"])
            .current_dir(root()),
    )
    .is_empty()
    {
        rev.push_str("-dirty");
    }
    let arch = std::env::consts::ARCH.to_owned();
    Machine {
        label: format!("{arch} {cpu}"),
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        os: format!("{} {distro}", output(Command::new("uname").arg("-sr"))),
        arch,
        emulated: false,
        rustc: output(Command::new("rustc").arg("--version")),
        gcc: output(Command::new("gcc").arg("--version"))
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        go: output(Command::new("go").arg("version")),
        git_rev: rev,
        date: output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
    }
}

fn stamp(records: &mut [Record], m: &Machine) {
    for r in records {
        r.machine = m.label.clone();
        r.arch = m.arch.clone();
        r.emulated = m.emulated;
    }
}

/// The Rust rows: runs bench-rows (its progress bar on the terminal) and reads its JSON.
fn rust_rows(
    exe: &Path,
    flags: &[String],
    env: &[(&str, PathBuf)],
    runner: Option<&str>,
) -> Result<Run, String> {
    let mut cmd = match runner {
        Some(r) => {
            let mut c = Command::new(r);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", exe.display(), out.status));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bench-rows output: {e}"))
}

/// The C rows: builds and runs matrix.c.
fn c_rows(args: &MatrixArgs, lib_dir: &Path) -> Result<Vec<Record>, String> {
    let exe = root().join("target/ctest/matrix");
    std::fs::create_dir_all(exe.parent().unwrap()).map_err(|e| e.to_string())?;
    let include = root().join("crates/capi/include");
    // libffi 3.8's rows (libffi-plan, libffi-3.8) beside the libffi-c ones, where it is built.
    let libffi38 = crate::libffi38::build("libffi-plan, libffi-3.8 in the C rows of the matrix")?;
    let mut gcc = Command::new("gcc");
    gcc.args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", include.display()))
        .arg(root().join("crates/capi/benches/c/matrix.c"));
    if let Some(l) = &libffi38 {
        gcc.arg("-DFFIKIT_LIBFFI38")
            .arg(l.compile_c_peer(exe.parent().unwrap())?);
    }
    run(gcc
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib_dir.display()))
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lffikit", "-lffi", "-ldl"]))?;
    let mut cmd = Command::new(&exe);
    if let Some(l) = &libffi38 {
        cmd.env(crate::libffi38::LIB_ENV, l.library());
    }
    if args.quick {
        cmd.arg("--quick");
    }
    cmd.args(args.sizes().iter().map(u64::to_string))
        .env_remove("LD_LIBRARY_PATH")
        .env("FFIKIT_KERNELS_LIB", lib_dir.join("libffikit_kernels.so"))
        .stderr(Stdio::inherit());
    let out = cmd
        .output()
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!("the C matrix program failed ({})", out.status));
    }
    let mut records = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("C row `{line}`: {e}"))?;
        v["machine"] = "".into();
        v["arch"] = "".into();
        v["emulated"] = false.into();
        records.push(serde_json::from_value(v).map_err(|e| format!("C row `{line}`: {e}"))?);
    }
    Ok(records
        .into_iter()
        .filter(|r: &Record| wanted(args, r))
        .collect())
}

fn wanted(args: &MatrixArgs, r: &Record) -> bool {
    (args.backends.is_empty() || r.backend == "-" || args.backends.contains(&r.backend))
        && (args.kernels.is_empty() || args.kernels.contains(&r.kernel))
        && (r.size == 0 || args.sizes().contains(&r.size))
}

/// Parses `go test -bench` lines (`BenchmarkSum/ffikit-native/100-2  N  12.3 ns/op ...`)
/// into rows: the median and spread over the `-count` repetitions of each name, and the
/// median of the `x-cgo` metric (an ffikit row's ratio to the cgo call timed paired with
/// it, `reportPaired` in `bench_test.go`) where the row reports one.
pub(crate) fn parse_go_bench(text: &str) -> Vec<Record> {
    // name -> (ns/op samples, x-cgo samples)
    let mut samples: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(_n), Some(ns), Some("ns/op")) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Some(name) = name.strip_prefix("Benchmark") else {
            continue;
        };
        // Drop the GOMAXPROCS suffix (`-2`).
        let name = match name.rsplit_once('-') {
            Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => head,
            _ => name,
        };
        let Ok(ns) = ns.parse::<f64>() else { continue };
        // The further metrics come as `value unit` pairs.
        let rest: Vec<&str> = fields.collect();
        let paired = rest
            .chunks_exact(2)
            .find(|m| m[1] == "x-cgo")
            .and_then(|m| m[0].parse::<f64>().ok());
        let entry = match samples.iter().position(|(n, ..)| n == name) {
            Some(i) => &mut samples[i],
            None => {
                samples.push((name.to_owned(), Vec::new(), Vec::new()));
                samples.last_mut().expect("just pushed")
            }
        };
        entry.1.push(ns);
        entry.2.extend(paired);
    }
    samples
        .into_iter()
        .filter_map(|(name, v, paired)| {
            let parts: Vec<&str> = name.split('/').collect();
            let (kernel, imp, size) = match parts.as_slice() {
                ["Sum", imp, n] => ("sum_f64", *imp, n.parse().ok()?),
                ["Dot", imp, n] => ("dot_f64", *imp, n.parse().ok()?),
                ["CallOverhead", imp] => ("add_u32", *imp, 0),
                ["Noop", imp] => ("noop", *imp, 0),
                // libm's pow and the add_u32 kernel called by signature text.
                ["Pow", imp] => ("pow", *imp, 0),
                ["DynamicAdd", imp] => ("add_u32", *imp, 0),
                _ => return None,
            };
            let dynamic = parts[0] == "DynamicAdd";
            let (implementation, backend) = match imp {
                "go" if kernel == "add_u32" => return None,
                "go" => ("pure-go".to_owned(), "-"),
                "go-unrolled4" => ("pure-go-unrolled4".to_owned(), "-"),
                // goffi's add by signature is its only dynamic form; so is pow's.
                peer @ ("cgo" | "purego" | "purego-syscalln" | "goffi") => {
                    let suffix = if dynamic { "-call" } else { "" };
                    (format!("{peer}{suffix}"), "-")
                }
                // The fast path (ffikit-fast with cgo, ffikit-nocgo without) runs on a native
                // context; ffikit-nocgo-api is the C API through purego.
                "ffikit-fast" | "ffikit-nocgo" | "ffikit-nocgo-api" => (imp.to_owned(), "native"),
                "ffikit-fast-call" | "ffikit-nocgo-call" | "ffikit-nocgo-api-call" => {
                    (imp.to_owned(), "native")
                }
                // The same function prepared from its address (PrepareAddress): a row for
                // `go test -bench` readers beside its symbol's, not a matrix row of its own.
                other if other.ends_with("-address") => return None,
                other => match other.strip_prefix("ffikit-") {
                    Some(b) => match b.strip_suffix("-call") {
                        Some(b) => ("ffikit-call".to_owned(), b),
                        None => ("ffikit".to_owned(), b),
                    },
                    None => return None,
                },
            };
            Some(Record {
                machine: String::new(),
                arch: String::new(),
                emulated: false,
                caller: "go".into(),
                implementation,
                backend: backend.into(),
                kernel: kernel.into(),
                size,
                threads: 1,
                time: Summary::of(&v),
                // The Go benchmarks check every result before timing (b.Fatalf otherwise).
                checked: true,
                paired_floor_ratio: (!paired.is_empty()).then(|| median(&paired)),
            })
        })
        .collect()
}

/// The Go rows: the binding's benchmarks with and without cgo (purego among them), and goffi's.
fn go_rows(args: &MatrixArgs) -> Result<Vec<Record>, String> {
    if !crate::ctest::tool_present("go") {
        eprintln!("xtask: ********** Go rows NOT RUN: `go` is missing **********");
        return Ok(Vec::new());
    }
    let count = if args.quick { "3" } else { "7" };
    let benchtime = if args.quick { "50ms" } else { "300ms" };
    let binding = root().join("bindings/go");
    let bench = [
        "test",
        "-run",
        "^$",
        "-bench",
        "Sum|Dot|CallOverhead|Noop|Pow|DynamicAdd",
        "-benchmem",
        "-count",
        count,
        "-benchtime",
        benchtime,
    ];
    // The binding with cgo, the binding without (CGO_ENABLED=0: its fast rows are
    // ffikit-nocgo), and goffi's module.
    let mut runs = vec![
        ("bindings/go", crate::gotest::go(&binding, &bench)),
        (
            "bindings/go (CGO_ENABLED=0)",
            crate::gotest::go_nocgo(&binding, &bench),
        ),
    ];
    if let Some(goffi) = crate::gotest::goffi_module()? {
        let mut args = bench.to_vec();
        args.push(crate::gotest::GOFFI_LDFLAGS);
        runs.push(("bindings/go/goffi-bench", crate::gotest::go(&goffi, &args)));
    }
    let mut text = String::new();
    for (what, mut cmd) in runs {
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("go test -bench in {what}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "go test -bench in {what} failed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    Ok(parse_go_bench(&text)
        .into_iter()
        .filter(|r| wanted(args, r))
        .collect())
}

/// Writes every output file of a run into `dir`.
fn write_outputs(run: &Run, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("writing {name}: {e}"))
    };
    write(
        "results.json",
        serde_json::to_string_pretty(run).map_err(|e| e.to_string())?,
    )?;
    write("results.csv", render::csv(run))?;
    write("matrix.md", render::matrix_md(run))?;
    write("crossover.md", render::crossover_md(run))?;
    write("chart.svg", chart::svg(run)?)?;
    chart::png(run, &dir.join("chart.png"))?;
    Ok(())
}

/// Replaces the README's matrix (between `<!-- bench-matrix -->` and
/// `<!-- /bench-matrix -->`) with `matrix.md` without its title, headings one level down.
fn update_readme(run: &Run) -> Result<(), String> {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).map_err(|e| format!("README.md: {e}"))?;
    let (start, end) = ("<!-- bench-matrix -->", "<!-- /bench-matrix -->");
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        return Err("README.md has no bench-matrix markers".into());
    };
    let md = render::matrix_md(run);
    let body: String = md
        .lines()
        .skip(1)
        .map(|l| {
            if l.starts_with('#') {
                format!("#{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let text = format!("{}{start}\n{}\n{}", &readme[..a], body.trim(), &readme[b..]);
    std::fs::write(&path, text).map_err(|e| format!("README.md: {e}"))?;
    eprintln!("xtask: README.md's matrix updated");
    Ok(())
}

/// `cargo xtask bench-matrix --quick`, as `cargo xtask test` runs it.
///
/// # Errors
/// As [`bench_matrix`].
pub(crate) fn quick_check() -> Result<(), String> {
    bench_matrix(&MatrixArgs {
        quick: true,
        backends: Vec::new(),
        kernels: Vec::new(),
        sizes: Vec::new(),
        callers: Vec::new(),
        threads: Vec::new(),
        arch: None,
        merge: Vec::new(),
        out: None,
        readme: false,
    })
}

/// `cargo xtask bench-matrix`.
///
/// # Errors
/// The first stage that fails.
pub(crate) fn bench_matrix(args: &MatrixArgs) -> Result<(), String> {
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| root().join("target/bench-matrix"));
    if !args.merge.is_empty() {
        let runs = args
            .merge
            .iter()
            .map(|p| {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                serde_json::from_str::<Run>(&text).map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let merged = Run::merge(runs);
        write_outputs(&merged, &out_dir)?;
        print_summary(&merged, &out_dir);
        if args.readme {
            update_readme(&merged)?;
        }
        return Ok(());
    }
    let stages = 4 + u64::from(args.arch.is_some());
    let bar = ProgressBar::new(stages);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    bar.set_prefix("matrix");
    bar.set_message("building");
    let built = crate::build::build_all()?;
    run(cargo().args(["build", "--release", "-p", "bench-rows"]))?;
    bar.inc(1);

    let machine = this_machine();
    let mut run_all = Run {
        machines: vec![machine.clone()],
        records: Vec::new(),
    };
    let env = [
        (
            "FFIKIT_KERNELS_LIB",
            built.lib_dir.join("libffikit_kernels.so"),
        ),
        (
            "FFIKIT_KERNELS_WASM",
            root().join("target/wasm32-unknown-unknown/release/ffikit_kernels.wasm"),
        ),
    ];
    if args.callers.is_empty() || args.callers.iter().any(|c| c.starts_with("rust")) {
        bar.set_message("Rust rows");
        let mut rows = rust_rows(
            &built.lib_dir.join("bench-rows"),
            &args.rows_flags(),
            &env,
            None,
        )?;
        stamp(&mut rows.records, &machine);
        run_all.records.extend(rows.records);
    }
    bar.inc(1);
    if args.wants_caller("c") {
        bar.set_message("C rows");
        let mut rows = c_rows(args, &built.lib_dir)?;
        stamp(&mut rows, &machine);
        run_all.records.extend(rows);
    }
    bar.inc(1);
    if args.wants_caller("go") {
        bar.set_message("Go rows");
        let mut rows = go_rows(args)?;
        stamp(&mut rows, &machine);
        run_all.records.extend(rows);
    }
    bar.inc(1);
    if let Some(arch) = &args.arch {
        bar.set_message(format!("{arch} rows under qemu"));
        if let Some(emulated) = emulated_rows(args, arch)? {
            run_all = Run::merge([run_all, emulated]);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    write_outputs(&run_all, &out_dir)?;
    print_summary(&run_all, &out_dir);
    check_outputs(args, &run_all, &out_dir)?;
    if args.readme {
        update_readme(&run_all)?;
    }
    Ok(())
}

/// Checks that every output file was written and that every requested backend has rows for
/// every requested caller (so a stage that silently produced nothing fails the run).
fn check_outputs(args: &MatrixArgs, run: &Run, dir: &Path) -> Result<(), String> {
    for file in [
        "matrix.md",
        "results.json",
        "results.csv",
        "crossover.md",
        "chart.svg",
        "chart.png",
    ] {
        let len = std::fs::metadata(dir.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        if len == 0 {
            return Err(format!("{} was not written", dir.join(file).display()));
        }
    }
    let go = crate::ctest::tool_present("go");
    let mut missing = Vec::new();
    for backend in ["native", "asm", "wasm"] {
        if !args.backends.is_empty() && !args.backends.iter().any(|b| b == backend) {
            continue;
        }
        for caller in ["rust-typed", "rust-dynamic", "rust-pool", "c", "go"] {
            if !args.wants_caller(caller) || (caller == "go" && !go) {
                continue;
            }
            let found = run.records.iter().any(|r| {
                r.backend == backend
                    && r.caller == caller
                    && r.implementation == "ffikit"
                    && !r.emulated
            });
            if !found {
                missing.push(format!("{caller}/{backend}"));
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!("the matrix has no rows for {}", missing.join(", ")));
    }
    if run.records.iter().any(|r| !r.checked) {
        return Err("some rows were not checked against the reference".into());
    }
    eprintln!(
        "xtask: bench-matrix outputs checked: every file written, every backend and caller has rows"
    );
    Ok(())
}

/// The Rust rows for `arch` under qemu-user: cross-built, marked emulated.
fn emulated_rows(args: &MatrixArgs, arch: &str) -> Result<Option<Run>, String> {
    if arch != "aarch64" {
        return Err(format!("--arch {arch}: only aarch64 is supported"));
    }
    let target = "aarch64-unknown-linux-gnu";
    let tools = crate::ctest::tool_present("qemu-aarch64")
        && crate::ctest::tool_present("aarch64-linux-gnu-gcc");
    if !tools {
        eprintln!(
            "xtask: ********** --arch aarch64 NOT RUN: qemu-aarch64 or aarch64-linux-gnu-gcc missing **********"
        );
        return Ok(None);
    }
    for p in ["ffikit-kernels", "bench-rows"] {
        run(cargo()
            .args(["build", "--release", "-p", p, "--target", target])
            .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"))?;
    }
    let dir = root().join("target").join(target).join("release");
    // wasmtime under qemu-user is not a meaningful timing (and its signal handling is
    // emulated too): the emulated rows cover the native and asm backends.
    let mut flags = args.rows_flags();
    flags.retain(|f| !f.starts_with("--backend") && !f.starts_with("--caller"));
    flags.push("--backend=native,asm".into());
    flags.push("--caller=rust-typed,rust-dynamic".into());
    flags.push("--emulated".into());
    let env = [
        ("FFIKIT_KERNELS_LIB", dir.join("libffikit_kernels.so")),
        (
            "FFIKIT_KERNELS_WASM",
            root().join("target/wasm32-unknown-unknown/release/ffikit_kernels.wasm"),
        ),
    ];
    let mut rows = rust_rows(&dir.join("bench-rows"), &flags, &env, Some("qemu-aarch64"))?;
    let mut m = this_machine();
    m.arch = arch.to_owned();
    m.emulated = true;
    m.label = format!("{arch} (qemu-user on {})", m.label);
    m.cpu = format!("emulated by qemu-user on {}", m.cpu);
    stamp(&mut rows.records, &m);
    rows.records.retain(|r| r.backend != "wasm");
    rows.machines = vec![m];
    Ok(Some(rows))
}

fn print_summary(run: &Run, dir: &Path) {
    println!("\n{}", render::targets_md(run));
    let rows = run.records.len();
    let unchecked = run.records.iter().filter(|r| !r.checked).count();
    println!(
        "{rows} rows ({unchecked} unchecked) from {} machine(s); wrote {}/{{matrix.md, results.json, results.csv, crossover.md, chart.svg, chart.png}}",
        run.machines.len(),
        dir.display()
    );
}

#[cfg(test)]
mod tests {
    use super::parse_go_bench;

    #[test]
    fn go_rows_take_the_median_time_and_paired_ratio() {
        let text = "\
goos: linux
BenchmarkCallOverhead/cgo-2   \t 1966159\t        31.77 ns/op\t       0 B/op\t       0 allocs/op
BenchmarkCallOverhead/cgo-2   \t 1966159\t        30.00 ns/op\t       0 B/op\t       0 allocs/op
BenchmarkCallOverhead/ffikit-native-2 \t 1895438\t 33.08 ns/op\t 1.077 x-cgo\t 0 B/op\t 0 allocs/op
BenchmarkCallOverhead/ffikit-native-2 \t 1895438\t 40.00 ns/op\t 1.010 x-cgo\t 0 B/op\t 0 allocs/op
BenchmarkCallOverhead/ffikit-native-2 \t 1895438\t 34.00 ns/op\t 1.050 x-cgo\t 0 B/op\t 0 allocs/op
BenchmarkSum/ffikit-asm/100000-2 \t 7502\t 8642 ns/op\t 92572.28 MB/s\t 1.005 x-cgo\t 0 B/op\t 0 allocs/op
BenchmarkCallOverhead/ffikit-asm-call-2 \t 1000000\t 51.19 ns/op\t 0 B/op\t 0 allocs/op
PASS
";
        let rows = parse_go_bench(text);
        let row = |imp: &str, backend: &str, kernel: &str| {
            rows.iter()
                .find(|r| r.implementation == imp && r.backend == backend && r.kernel == kernel)
                .unwrap_or_else(|| panic!("no {imp} {backend} {kernel} row in {rows:?}"))
        };
        let cgo = row("cgo", "-", "add_u32");
        assert_eq!(cgo.time.samples, 2);
        assert_eq!(cgo.paired_floor_ratio, None);
        let native = row("ffikit", "native", "add_u32");
        assert_eq!(native.time.median_ns, 34.0);
        assert_eq!(native.paired_floor_ratio, Some(1.05));
        let sum = row("ffikit", "asm", "sum_f64");
        assert_eq!((sum.size, sum.paired_floor_ratio), (100_000, Some(1.005)));
        assert_eq!(
            row("ffikit-call", "asm", "add_u32").paired_floor_ratio,
            None
        );
        assert_eq!(rows.len(), 4);
    }
}
