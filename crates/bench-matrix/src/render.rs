//! `matrix.md`, `results.csv` and `crossover.md`, and the targets table, from a [`Run`].

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::record::{Record, Run};

/// The sizes of the matrix, in order.
pub const SIZES: [u64; 6] = [1, 100, 1_000, 10_000, 100_000, 1_000_000];
/// The kernels that take a size, in order.
pub const SIZED_KERNELS: [&str; 4] = ["sum_f64", "dot_f64", "axpy_f64", "add_u32_batch"];

/// `1.23 ns`, `4.56 µs`, `7.89 ms`.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.2} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// `1,000,000`.
pub fn fmt_size(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The order rows are listed in: callers, then implementations (ffikit first), then
/// backends.
fn row_key(r: &Record) -> (usize, usize, usize) {
    let caller = ["rust-typed", "rust-dynamic", "rust-pool", "c", "go"]
        .iter()
        .position(|c| *c == r.caller)
        .unwrap_or(9);
    let implementation = [
        "plain-rust",
        "rust-loop",
        "direct",
        "direct-c",
        "c-loop",
        "cgo",
        "pure-go",
        "pure-go-unrolled4",
        "ffikit",
        "ffikit-fast",
        "ffikit-nocgo",
        "ffikit-nocgo-api",
        "ffikit-call",
        "ffikit-fast-call",
        "ffikit-nocgo-call",
        "libffi",
        "libffi-c",
        "libffi-plan",
        "libffi-3.8",
        "wasmtime-typedfunc",
        "mutex",
        "purego",
        "purego-syscalln",
        "goffi",
        "goffi-call",
    ]
    .iter()
    .position(|c| *c == r.implementation)
    .unwrap_or(99);
    let backend = ["-", "native", "asm", "wasm"]
        .iter()
        .position(|c| *c == r.backend)
        .unwrap_or(9);
    (caller, implementation, backend)
}

/// One table cell: the median, and its ratio to the floor when the row is not the floor.
fn cell(run: &Run, r: &Record) -> String {
    let mut s = fmt_ns(r.time.median_ns);
    if run.floor_of(r).is_some_and(|f| !std::ptr::eq(f, r))
        && let Some(ratio) = run.floor_ratio(r)
    {
        write!(s, " ({ratio:.2}x)").unwrap();
    }
    if !r.checked {
        s.push_str(" unchecked");
    }
    s
}

/// The distinct (caller, implementation, backend) rows among `records`, in listing order.
fn rows<'a>(records: &[&'a Record]) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut sorted: Vec<&&Record> = records.iter().collect();
    sorted.sort_by_key(|r| row_key(r));
    let mut seen = BTreeSet::new();
    sorted
        .into_iter()
        .filter(|r| seen.insert((&r.caller, &r.implementation, &r.backend)))
        .map(|r| {
            (
                r.caller.as_str(),
                r.implementation.as_str(),
                r.backend.as_str(),
            )
        })
        .collect()
}

fn find<'a>(
    records: &[&'a Record],
    row: (&str, &str, &str),
    kernel: &str,
    size: u64,
    threads: u32,
) -> Option<&'a Record> {
    records.iter().copied().find(|r| {
        (
            r.caller.as_str(),
            r.implementation.as_str(),
            r.backend.as_str(),
        ) == row
            && r.kernel == kernel
            && r.size == size
            && r.threads == threads
    })
}

/// `matrix.md`: the machines, the call-overhead table, a table per sized kernel, the thread
/// scaling table and the targets, each cell a median with its ratio to the floor.
pub fn matrix_md(run: &Run) -> String {
    let mut md = String::from("# ffikit benchmark matrix\n\n");
    md.push_str(
        "Each cell is the median time per call over repeated samples, and in parentheses its \
         ratio to the floor measured in the same run: the plain call of the same kernel in \
         the caller's language (`plain-rust` for Rust rows, `direct-c` for C, `cgo` for Go; \
         `direct` threads for thread rows). Every result was checked against the reference \
         value unless marked `unchecked`. `results.csv` has every row with its spread \
         (p10/p90); `crossover.md` the sizes where a foreign kernel beats the host loop.\n\n",
    );
    md.push_str("## Machines\n\n| label | CPU | cores | OS | rustc | gcc | go | git | date |\n|---|---|---:|---|---|---|---|---|---|\n");
    for m in &run.machines {
        writeln!(
            md,
            "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.label,
            if m.emulated {
                " (emulated: not a hardware timing)"
            } else {
                ""
            },
            m.cpu,
            m.cores,
            m.os,
            m.rustc,
            m.gcc,
            if m.go.is_empty() { "-" } else { &m.go },
            m.git_rev,
            m.date
        )
        .unwrap();
    }
    for m in &run.machines {
        let recs: Vec<&Record> = run
            .records
            .iter()
            .filter(|r| r.machine == m.label)
            .collect();
        if run.machines.len() > 1 {
            writeln!(md, "\n## {}\n", m.label).unwrap();
        }
        // Call overhead.
        let scalar: Vec<&Record> = recs
            .iter()
            .copied()
            .filter(|r| r.size == 0 && r.threads == 1 && r.caller != "rust-pool")
            .collect();
        if !scalar.is_empty() {
            md.push_str("\n### Call overhead (scalar kernels)\n\n| caller | implementation | backend | noop | add_u32 |\n|---|---|---|---:|---:|\n");
            for row in rows(&scalar) {
                let c = |k| find(&scalar, row, k, 0, 1).map_or("-".into(), |r| cell(run, r));
                writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    row.0,
                    row.1,
                    row.2,
                    c("noop"),
                    c("add_u32")
                )
                .unwrap();
            }
        }
        for kernel in SIZED_KERNELS {
            let sized: Vec<&Record> = recs
                .iter()
                .copied()
                .filter(|r| {
                    r.kernel == kernel && r.size > 0 && r.threads == 1 && r.caller != "rust-pool"
                })
                .collect();
            if sized.is_empty() {
                continue;
            }
            let sizes: Vec<u64> = SIZES
                .iter()
                .copied()
                .filter(|s| sized.iter().any(|r| r.size == *s))
                .collect();
            write!(
                md,
                "\n### {kernel}, by size (elements)\n\n| caller | implementation | backend |"
            )
            .unwrap();
            for s in &sizes {
                write!(md, " {} |", fmt_size(*s)).unwrap();
            }
            md.push_str("\n|---|---|---|");
            md.push_str(&"---:|".repeat(sizes.len()));
            md.push('\n');
            for row in rows(&sized) {
                write!(md, "| {} | {} | {} |", row.0, row.1, row.2).unwrap();
                for s in &sizes {
                    let c = find(&sized, row, kernel, *s, 1).map_or("-".into(), |r| cell(run, r));
                    write!(md, " {c} |").unwrap();
                }
                md.push('\n');
            }
        }
        threads_md(run, &recs, &mut md);
    }
    md.push_str("\n## Targets\n\n");
    md.push_str(&targets_md(run));
    md
}

fn threads_md(run: &Run, recs: &[&Record], md: &mut String) {
    let threaded: Vec<&Record> = recs
        .iter()
        .copied()
        .filter(|r| r.caller == "rust-pool")
        .collect();
    if threaded.is_empty() {
        return;
    }
    let counts: BTreeSet<u32> = threaded.iter().map(|r| r.threads).collect();
    md.push_str("\n### Threads: throughput through a context pool (wall time per call, all threads working)\n\n| kernel | implementation | backend |");
    for t in &counts {
        write!(md, " {t} |").unwrap();
    }
    md.push_str(" speedup 1→2 |\n|---|---|---|");
    md.push_str(&"---:|".repeat(counts.len() + 1));
    md.push('\n');
    let kernels: BTreeSet<(&str, u64)> = threaded
        .iter()
        .map(|r| (r.kernel.as_str(), r.size))
        .collect();
    for (kernel, size) in kernels {
        let these: Vec<&Record> = threaded
            .iter()
            .copied()
            .filter(|r| r.kernel == kernel && r.size == size)
            .collect();
        for row in rows(&these) {
            let label = if size > 0 {
                format!("{kernel} ({})", fmt_size(size))
            } else {
                kernel.to_owned()
            };
            write!(md, "| {label} | {} | {} |", row.1, row.2).unwrap();
            for t in &counts {
                let c = find(&these, row, kernel, size, *t).map_or("-".into(), |r| cell(run, r));
                write!(md, " {c} |").unwrap();
            }
            let one = find(&these, row, kernel, size, 1);
            let two = find(&these, row, kernel, size, 2);
            match (one, two) {
                (Some(a), Some(b)) => {
                    writeln!(md, " {:.2}x |", a.time.median_ns / b.time.median_ns).unwrap()
                }
                _ => md.push_str(" - |\n"),
            }
        }
    }
}

/// A performance target of the backend issues, measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// What is compared.
    pub what: String,
    /// The measured ratio.
    pub ratio: f64,
    /// The goal, as text (`<= 1.30x`).
    pub goal: String,
    /// Whether the goal is met.
    pub met: bool,
}

/// The performance targets of the backend issues, each computed from rows of one machine.
pub fn targets(run: &Run) -> Vec<Target> {
    let mut out = Vec::new();
    for m in &run.machines {
        let get =
            |caller: &str, imp: &str, backend: &str, kernel: &str, size: u64, threads: u32| {
                run.records.iter().find(|r| {
                    r.machine == m.label
                        && r.caller == caller
                        && r.implementation == imp
                        && r.backend == backend
                        && r.kernel == kernel
                        && r.size == size
                        && r.threads == threads
                })
            };
        let prefix = if run.machines.len() > 1 {
            format!("{}: ", m.label)
        } else {
            String::new()
        };
        let mut push =
            |what: &str, a: Option<&Record>, b: Option<&Record>, goal: f64, at_most: bool| {
                if let (Some(a), Some(b)) = (a, b) {
                    // Against `a`'s own floor, the paired ratio when it was measured.
                    let ratio = match run.floor_of(a) {
                        Some(f) if std::ptr::eq(f, b) => run.floor_ratio(a),
                        _ => None,
                    }
                    .unwrap_or(a.time.median_ns / b.time.median_ns);
                    out.push(Target {
                        what: format!("{prefix}{what}"),
                        ratio,
                        goal: format!("{} {goal:.2}x", if at_most { "<=" } else { ">=" }),
                        met: if at_most {
                            ratio <= goal
                        } else {
                            ratio >= goal
                        },
                    });
                }
            };
        let plain = get("rust-typed", "plain-rust", "-", "add_u32", 0, 1);
        push(
            "native typed add_u32 / plain Rust call",
            get("rust-typed", "ffikit", "native", "add_u32", 0, 1),
            plain,
            1.05,
            true,
        );
        push(
            "native dynamic add_u32 / plain Rust call",
            get("rust-dynamic", "ffikit", "native", "add_u32", 0, 1),
            plain,
            1.3,
            true,
        );
        push(
            "native sum_f64 100,000 / plain Rust call",
            get("rust-typed", "ffikit", "native", "sum_f64", 100_000, 1),
            get("rust-typed", "plain-rust", "-", "sum_f64", 100_000, 1),
            1.05,
            true,
        );
        push(
            "asm dynamic add_u32 / native typed",
            get("rust-dynamic", "ffikit", "asm", "add_u32", 0, 1),
            get("rust-typed", "ffikit", "native", "add_u32", 0, 1),
            2.0,
            true,
        );
        for (kernel, size) in [("add_u32", 0), ("dot_f64", 100), ("axpy_f64", 100)] {
            push(
                &format!(
                    "libffi Cif::call / asm dynamic, {kernel}{}",
                    if size > 0 {
                        format!(" {size}")
                    } else {
                        String::new()
                    }
                ),
                get("rust-dynamic", "libffi", "-", kernel, size, 1),
                get("rust-dynamic", "ffikit", "asm", kernel, size, 1),
                5.0,
                false,
            );
        }
        push(
            "wasm typed add_u32 / raw wasmtime TypedFunc",
            get("rust-typed", "ffikit", "wasm", "add_u32", 0, 1),
            get("rust-typed", "wasmtime-typedfunc", "wasm", "add_u32", 0, 1),
            1.1,
            true,
        );
        push(
            "wasm sum_f64 100,000 in a buffer / native",
            get("rust-typed", "ffikit", "wasm", "sum_f64", 100_000, 1),
            get("rust-typed", "ffikit", "native", "sum_f64", 100_000, 1),
            1.1,
            true,
        );
        push(
            "C: ffikit_call (asm) / libffi ffi_call, add_u32 (inverse: libffi / ffikit)",
            get("c", "libffi-c", "-", "add_u32", 0, 1),
            get("c", "ffikit-call", "asm", "add_u32", 0, 1),
            1.0,
            false,
        );
        push(
            "C: ffikit_call (asm) / libffi 3.8 ffi_call_plan_invoke, add_u32",
            get("c", "ffikit-call", "asm", "add_u32", 0, 1),
            get("c", "libffi-plan", "-", "add_u32", 0, 1),
            0.5,
            true,
        );
        push(
            "Go: ffikit native add_u32 / direct cgo",
            get("go", "ffikit", "native", "add_u32", 0, 1),
            get("go", "cgo", "-", "add_u32", 0, 1),
            1.2,
            true,
        );
        push(
            "Go: purego / ffikit native, add_u32 (ffikit is faster when >= 1)",
            get("go", "purego", "-", "add_u32", 0, 1),
            get("go", "ffikit", "native", "add_u32", 0, 1),
            1.0,
            false,
        );
        push(
            "Go: ffikit native sum_f64 100,000 / pure Go loop",
            get("go", "ffikit", "native", "sum_f64", 100_000, 1),
            get("go", "pure-go", "-", "sum_f64", 100_000, 1),
            1.0,
            true,
        );
        for backend in ["native", "asm", "wasm"] {
            for (kernel, size) in [("add_u32", 0), ("sum_f64", 10_000)] {
                let pool = |t| get("rust-pool", "ffikit", backend, kernel, size, t);
                let direct = |t| get("rust-pool", "direct", "-", kernel, size, t);
                if let (Some(p1), Some(p2), Some(d1), Some(d2)) =
                    (pool(1), pool(2), direct(1), direct(2))
                {
                    let ratio = (p1.time.median_ns / p2.time.median_ns)
                        / (d1.time.median_ns / d2.time.median_ns);
                    out.push(Target {
                        what: format!("{prefix}pool {backend} {kernel}: speedup 1→2 threads / the machine's own"),
                        ratio,
                        goal: ">= 0.90x".into(),
                        met: ratio >= 0.9,
                    });
                }
            }
        }
    }
    out
}

/// The targets as a Markdown table.
pub fn targets_md(run: &Run) -> String {
    let mut md = String::from("| target | measured | goal | met |\n|---|---:|---:|:---:|\n");
    for t in targets(run) {
        writeln!(
            md,
            "| {} | {:.2}x | {} | {} |",
            t.what,
            t.ratio,
            t.goal,
            if t.met { "yes" } else { "**no**" }
        )
        .unwrap();
    }
    md
}

/// `results.csv`: one line per row, with the spread and the ratio to the floor.
pub fn csv(run: &Run) -> String {
    let mut out = String::from(
        "machine,arch,emulated,caller,implementation,backend,kernel,size,threads,median_ns,p10_ns,p90_ns,samples,checked,floor_ratio\n",
    );
    let mut records: Vec<&Record> = run.records.iter().collect();
    records.sort_by(|a, b| {
        (&a.machine, &a.kernel, a.size, a.threads, row_key(a)).cmp(&(
            &b.machine,
            &b.kernel,
            b.size,
            b.threads,
            row_key(b),
        ))
    });
    for r in records {
        let ratio = run
            .floor_ratio(r)
            .map_or(String::new(), |ratio| format!("{ratio:.4}"));
        let quote = |s: &str| {
            if s.contains(',') || s.contains('"') {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{},{},{}",
            quote(&r.machine),
            r.arch,
            r.emulated,
            r.caller,
            r.implementation,
            r.backend,
            r.kernel,
            r.size,
            r.threads,
            r.time.median_ns,
            r.time.p10_ns,
            r.time.p90_ns,
            r.time.samples,
            r.checked,
            ratio
        )
        .unwrap();
    }
    out
}

/// `crossover.md`: per machine, kernel, caller and backend, the smallest size at which the
/// foreign kernel through ffikit beats the host language's plain loop.
pub fn crossover_md(run: &Run) -> String {
    let mut md = String::from(
        "# Crossover: where a foreign kernel beats the host-language loop\n\n\
         For each caller and backend, the smallest size (elements) at which the ffikit call \
         is faster than a plain loop in the caller's own language (`rust-loop`, `c-loop`, \
         `pure-go`), both measured in the same run.\n\n\
         | machine | kernel | caller | backend | crossover | loop at largest size | ffikit at largest size |\n|---|---|---|---|---:|---:|---:|\n",
    );
    for m in &run.machines {
        for kernel in ["sum_f64", "dot_f64"] {
            let ffi: Vec<&Record> = run
                .records
                .iter()
                .filter(|r| {
                    r.machine == m.label
                        && r.kernel == kernel
                        && r.implementation == "ffikit"
                        && r.threads == 1
                        && r.size > 0
                        && r.caller != "rust-pool"
                })
                .collect();
            for (caller, _, backend) in rows(&ffi) {
                let loop_impl = match caller {
                    "c" => "c-loop",
                    "go" => "pure-go",
                    _ => "rust-loop",
                };
                let host = |size: u64| {
                    run.records.iter().find(|r| {
                        r.machine == m.label
                            && r.kernel == kernel
                            && r.size == size
                            && r.threads == 1
                            && r.implementation == loop_impl
                            && r.language() == ffi_language(caller)
                    })
                };
                let mut mine: Vec<&&Record> = ffi
                    .iter()
                    .filter(|r| r.caller == caller && r.backend == backend)
                    .collect();
                mine.sort_by_key(|r| r.size);
                let compared: Vec<(u64, f64, f64)> = mine
                    .iter()
                    .filter_map(|r| {
                        host(r.size).map(|h| (r.size, r.time.median_ns, h.time.median_ns))
                    })
                    .collect();
                let Some(&(last, last_ffi, last_host)) = compared.last() else {
                    continue;
                };
                let cross = compared
                    .iter()
                    .position(|(_, f, h)| f < h)
                    .filter(|&i| compared[i..].iter().all(|(_, f, h)| f < h));
                let text = match cross {
                    Some(0) => format!("<= {}", fmt_size(compared[0].0)),
                    Some(i) => fmt_size(compared[i].0),
                    None => format!("not up to {}", fmt_size(last)),
                };
                writeln!(
                    md,
                    "| {} | {kernel} | {caller} | {backend} | {text} | {} | {} |",
                    m.label,
                    fmt_ns(last_host),
                    fmt_ns(last_ffi)
                )
                .unwrap();
            }
        }
    }
    md
}

fn ffi_language(caller: &str) -> &'static str {
    match caller {
        "c" => "c",
        "go" => "go",
        _ => "rust",
    }
}
