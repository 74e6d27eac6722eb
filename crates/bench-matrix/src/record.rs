//! The result model: rows, machines, runs, and merging runs from several machines.

use serde::{Deserialize, Serialize};

use crate::stats::Summary;

/// One measured row: what was called, how, at what size, and how long a call took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The machine's label ([`Machine::label`]), so merged runs stay apart.
    pub machine: String,
    /// `x86_64` or `aarch64`.
    pub arch: String,
    /// True when measured under an emulator (qemu-user): not a hardware timing.
    pub emulated: bool,
    /// Who calls: `rust-typed`, `rust-dynamic`, `rust-pool`, `c`, `go`.
    pub caller: String,
    /// `ffikit`, or the peer: `plain-rust`, `rust-loop`, `libffi`, `wasmtime-typedfunc`,
    /// `mutex`, `direct` (threads without ffikit), `direct-c`, `c-loop`, `libffi-c`,
    /// `libffi-plan` and `libffi-3.8` (libffi 3.8.0's `ffi_call_plan_invoke` and `ffi_call`),
    /// `pure-go`, `pure-go-unrolled4`, `cgo`, `purego`.
    pub implementation: String,
    /// `native`, `asm`, `wasm`, or `-` for peers that use no backend.
    pub backend: String,
    /// The kernel (`noop`, `add_u32`, `add_u32_batch`, `sum_f64`, `dot_f64`, `axpy_f64`).
    pub kernel: String,
    /// Elements per call (0 for the scalar kernels `noop` and `add_u32`).
    pub size: u64,
    /// Threads calling at once (throughput rows); 1 otherwise.
    pub threads: u32,
    /// Nanoseconds per call (for threads > 1: wall time per call with all threads working).
    #[serde(flatten)]
    pub time: Summary,
    /// True when the result was checked against the reference value.
    pub checked: bool,
    /// The ratio of this row to its floor ([`Run::floor_of`]) when the floor was timed
    /// interleaved with it, one sample of each per round: the median over the rounds of
    /// `row sample / floor sample`. A slow spell of a shared machine then falls on both
    /// alike, where the floor's own row was timed at another moment. Absent for the floors
    /// themselves and for rows measured without a paired floor (C, Go, threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_floor_ratio: Option<f64>,
}

impl Record {
    /// The language whose plain call is this row's floor.
    pub fn language(&self) -> &'static str {
        match self.caller.as_str() {
            "c" => "c",
            "go" => "go",
            _ => "rust",
        }
    }
}

/// The machine a run was taken on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// A short label for tables (`x86_64 AMD EPYC 9B14`, with `(qemu)` when emulated).
    pub label: String,
    /// The CPU model name.
    pub cpu: String,
    /// Logical CPUs.
    pub cores: u32,
    /// The operating system (`uname -sr` and the distribution).
    pub os: String,
    /// `x86_64` or `aarch64`.
    pub arch: String,
    /// True for rows measured under qemu-user.
    pub emulated: bool,
    /// `rustc --version`.
    pub rustc: String,
    /// `gcc --version` (first line).
    pub gcc: String,
    /// `go version`, or empty when Go was not used.
    pub go: String,
    /// `git rev-parse --short HEAD` (with `-dirty` for uncommitted changes).
    pub git_rev: String,
    /// When the run started (UTC, RFC 3339).
    pub date: String,
}

/// A whole run: the machines and every row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The machines the rows came from (one per run; several after a merge).
    pub machines: Vec<Machine>,
    /// Every measured row.
    pub records: Vec<Record>,
}

impl Run {
    /// Joins runs from several machines (or architectures) into one. Rows keep their machine
    /// label; a machine present in several inputs is listed once and its rows from the later
    /// input replace the earlier ones.
    pub fn merge(runs: impl IntoIterator<Item = Run>) -> Run {
        let mut out = Run::default();
        for run in runs {
            for m in run.machines {
                out.records.retain(|r| r.machine != m.label);
                out.machines.retain(|x| x.label != m.label);
                out.machines.push(m);
            }
            out.records.extend(run.records);
        }
        out
    }

    /// `r`'s time over its floor's: the paired ratio when the floor was timed interleaved
    /// with `r` ([`Record::paired_floor_ratio`]), else the ratio of the two rows' medians
    /// (1 for a floor itself); `None` for a row without a floor.
    pub fn floor_ratio(&self, r: &Record) -> Option<f64> {
        let f = self.floor_of(r)?;
        if std::ptr::eq(f, r) {
            return Some(1.0);
        }
        Some(
            r.paired_floor_ratio
                .unwrap_or(r.time.median_ns / f.time.median_ns),
        )
    }

    /// The floor of `r`: the plain call of the same kernel and size in `r`'s language, on
    /// the same machine (`plain-rust`, `direct-c`, `cgo`; threads: `direct` at the same count).
    pub fn floor_of(&self, r: &Record) -> Option<&Record> {
        let floor = if r.threads > 1 || r.caller == "rust-pool" {
            "direct"
        } else {
            match r.language() {
                "c" => "direct-c",
                "go" => "cgo",
                _ => "plain-rust",
            }
        };
        self.records.iter().find(|f| {
            f.machine == r.machine
                && f.implementation == floor
                && f.kernel == r.kernel
                && f.size == r.size
                && f.threads == r.threads
                && (f.language() == r.language() || floor == "direct")
        })
    }
}
