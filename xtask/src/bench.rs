//! `cargo xtask bench`: the criterion benchmarks, summarised as medians and ratios.
//!
//! Each benchmark is compared with its floor from the same run: `native/{kernel}/typed` and
//! `native/{kernel}/dynamic` with `native/{kernel}/plain` (a plain Rust call through a
//! function pointer), `native/sum_f64/*/100000` with `memory/read/100000` (the machine's
//! cache read bound over the same 800 KB), and the asm backend's shapes
//! (`asm-vs/asm/{shape}/{typed|dynamic}`) with the native typed call and libffi's
//! `Cif::call` of the same function, and with libffi 3.8.0's call plan
//! (`asm-vs/libffi-plan/{shape}/call`, `ffi_call_plan_invoke`) and `ffi_call`
//! (`asm-vs/libffi-3.8/{shape}/call`), built into `target/peers/` first where its tarball is
//! present (NOT RUN otherwise).

use std::path::Path;

use crate::cmd::{cargo, root, run};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Shorter measurement (1 s warm-up, 2 s per benchmark) for a quick look.
    #[arg(long)]
    quick: bool,
    /// Only benchmarks whose name matches this regex (criterion's filter).
    filter: Option<String>,
}

/// Runs the benches, then prints the summary table.
pub(crate) fn run_benches(args: &BenchArgs) -> Result<(), String> {
    run_bench("backend-native", "native", args)?;
    // The asm bench loads libffi 3.8 from target/peers/ (its libffi-plan and libffi-3.8 rows).
    crate::libffi38::build("libffi-plan, libffi-3.8 in the asm bench")?;
    run_bench("backend-asm", "asm", args)?;
    run_bench("backend-wasm", "wasm", args)?;
    let dir = root().join("target/criterion");
    println!("\n| benchmark | median | floor | ratio to floor |\n|---|---|---|---|");
    for kernel in [
        "noop",
        "add_u32",
        "add_u32_batch/%/1000",
        "sum_f64/%/100000",
        "dot_f64/%/100000",
        "axpy_f64/%/1000",
    ] {
        let name = |path: &str| {
            if kernel.contains('%') {
                format!("native/{}", kernel.replace('%', path))
            } else {
                format!("native/{kernel}/{path}")
            }
        };
        let Some(floor) = median_ns(&dir, &name("plain")) else {
            continue;
        };
        for path in ["plain", "typed", "dynamic"] {
            if let Some(m) = median_ns(&dir, &name(path)) {
                println!(
                    "| {} | {} | {} | {:.2}x |",
                    name(path),
                    fmt_ns(m),
                    fmt_ns(floor),
                    m / floor
                );
            }
        }
    }
    if let Some(read) = median_ns(&dir, "memory/read/100000") {
        for path in ["plain", "typed", "dynamic"] {
            let n = format!("native/sum_f64/{path}/100000");
            if let Some(m) = median_ns(&dir, &n) {
                println!(
                    "| {n} vs read bound | {} | {} | {:.2}x |",
                    fmt_ns(m),
                    fmt_ns(read),
                    m / read
                );
            }
        }
    }
    println!(
        "\n| shape | native typed | asm typed | asm dynamic | libffi `Cif::call` | libffi 3.8 plan | libffi 3.8 `ffi_call` | asm dynamic / native | libffi / asm dynamic | libffi 3.8 plan / asm dynamic |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for shape in ["add", "dot", "6i64_8f64", "8i64", "struct16"] {
        let m = |path: &str| median_ns(&dir, &format!("asm-vs/{path}"));
        let (native, typed, dynamic, libffi) = (
            m(&format!("native/{shape}/typed")),
            m(&format!("asm/{shape}/typed")),
            m(&format!("asm/{shape}/dynamic")),
            m(&format!("libffi/{shape}/call")),
        );
        let (plan, libffi38) = (
            m(&format!("libffi-plan/{shape}/call")),
            m(&format!("libffi-3.8/{shape}/call")),
        );
        let show = |v: Option<f64>| v.map_or("—".to_owned(), fmt_ns);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}x", a / b),
            _ => "—".to_owned(),
        };
        println!(
            "| {shape} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            show(native),
            show(typed),
            show(dynamic),
            show(libffi),
            show(plan),
            show(libffi38),
            ratio(dynamic, native),
            ratio(libffi, dynamic),
            ratio(plan, dynamic)
        );
    }
    println!("\n| wasm benchmark | median | floor | ratio to floor |\n|---|---|---|---|");
    for (name, floor) in [
        ("wasm/wasm/add_u32/typed", "wasm/wasmtime/add_u32/typedfunc"),
        (
            "wasm/wasm/add_u32/dynamic",
            "wasm/wasmtime/add_u32/typedfunc",
        ),
        (
            "wasm/wasm/sum_f64/zero-copy/100000",
            "wasm/native/sum_f64/zero-copy/100000",
        ),
        (
            "wasm/wasm/sum_f64/copy-in/100000",
            "wasm/native/sum_f64/copy-in/100000",
        ),
    ] {
        if let (Some(m), Some(f)) = (median_ns(&dir, name), median_ns(&dir, floor)) {
            println!(
                "| {name} | {} | {} ({floor}) | {:.2}x |",
                fmt_ns(m),
                fmt_ns(f),
                m / f
            );
        }
    }
    Ok(())
}

/// Runs one criterion bench target with the options of `args`.
fn run_bench(package: &str, bench: &str, args: &BenchArgs) -> Result<(), String> {
    let mut c = cargo();
    c.args(["bench", "-p", package, "--bench", bench, "--", "--noplot"]);
    if args.quick {
        c.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    if let Some(f) = &args.filter {
        c.arg(f);
    }
    run(&mut c)
}

/// The median of a criterion benchmark's latest run, in ns, from
/// `target/criterion/<group>/<id>/new/estimates.json`.
fn median_ns(dir: &Path, name: &str) -> Option<f64> {
    // Criterion keeps `group/id` under `<group>/<id with '/' replaced by '_'>`.
    let (group, id) = name.split_once('/')?;
    let path = dir
        .join(group)
        .join(id.replace('/', "_"))
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.2} ns")
    }
}
