//! `bench-rows`: the Rust rows of ffikit's benchmark matrix, as JSON on stdout (a
//! `bench_matrix::Run` without machine details, which `cargo xtask bench-matrix` adds).
//!
//! Rows: every backend through the typed path (`rust-typed`) and the dynamic path
//! (`rust-dynamic`) on data already in stable buffers; peers measured in the same process: a
//! plain Rust call of the same kernel through a function pointer (`plain-rust`, the floor), a
//! plain Rust loop (`rust-loop`, for the crossover), libffi's `Cif::call` (`libffi`), a raw
//! wasmtime `TypedFunc` (`wasmtime-typedfunc`); and throughput through a context pool by
//! thread count (`rust-pool`) beside a `Mutex` and the kernel called directly (`direct`).
//! Every row's result is checked against the reference before it is timed.

mod measure;
mod peers;
mod threads;

use std::hint::black_box;
use std::rc::Rc;

use aligned_vec::{AVec, ConstAlign};
use bench_matrix::{Record, Run, Summary};
use clap::Parser;
use ffikit::kernel::{KERNELS, KernelSpec};
use ffikit::{Arg, Backend, BufferArg, Params, ReturnType, Signature, Source, StableBuffer, Value};
use indicatif::{ProgressBar, ProgressStyle};

use crate::measure::{Plan, measure, measure_paired};
use crate::peers::{Kernels, Scratch, plain_call};

/// Options (filters for each dimension).
#[derive(Parser, Clone, Debug)]
#[command(name = "bench-rows")]
pub(crate) struct Opts {
    /// Backends to measure (default: all).
    #[arg(long = "backend", value_delimiter = ',')]
    pub(crate) backends: Vec<String>,
    /// Kernels to measure (default: all).
    #[arg(long = "kernel", value_delimiter = ',')]
    pub(crate) kernels: Vec<String>,
    /// Sizes for the sized kernels (default: 1 .. 1,000,000; --quick: up to 100,000).
    #[arg(long = "size", value_delimiter = ',')]
    pub(crate) sizes: Vec<u64>,
    /// Callers: rust-typed, rust-dynamic, rust-pool (default: all).
    #[arg(long = "caller", value_delimiter = ',')]
    pub(crate) callers: Vec<String>,
    /// Thread counts for the pool rows (default: 1, 2, 4 and the machine's core count).
    #[arg(long = "threads", value_delimiter = ',')]
    pub(crate) threads: Vec<u32>,
    /// Fewer, shorter samples (for CI).
    #[arg(long)]
    pub(crate) quick: bool,
    /// The machine label stamped on every row.
    #[arg(long, default_value = "this machine")]
    pub(crate) machine: String,
    /// Mark every row as emulated (qemu-user).
    #[arg(long)]
    pub(crate) emulated: bool,
}

impl Opts {
    pub(crate) fn wants_backend(&self, b: &str) -> bool {
        self.backends.is_empty() || self.backends.iter().any(|x| x == b)
    }
    pub(crate) fn wants_kernel(&self, k: &str) -> bool {
        self.kernels.is_empty() || self.kernels.iter().any(|x| x == k)
    }
    pub(crate) fn wants_caller(&self, c: &str) -> bool {
        self.callers.is_empty() || self.callers.iter().any(|x| x == c)
    }
    pub(crate) fn sizes(&self) -> Vec<u64> {
        if !self.sizes.is_empty() {
            return self.sizes.clone();
        }
        let mut s = vec![1, 100, 1_000, 10_000, 100_000];
        if !self.quick {
            s.push(1_000_000);
        }
        s
    }
    pub(crate) fn max_size(&self) -> usize {
        self.sizes().into_iter().max().unwrap_or(1) as usize
    }
}

/// Collects rows and drives the progress bar.
pub(crate) struct Sink {
    pub(crate) opts: Opts,
    pub(crate) plan: Plan,
    pub(crate) run: Run,
    pub(crate) bar: ProgressBar,
    /// The kernels' entry points and the test data, for the floor each ffikit row is
    /// timed against ([`peers::plain_call`]).
    pub(crate) kernels: Rc<Kernels>,
    pub(crate) reference: Rc<Reference>,
}

impl Sink {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        caller: &str,
        implementation: &str,
        backend: &str,
        kernel: &str,
        size: u64,
        threads: u32,
        time: Summary,
        paired_floor_ratio: Option<f64>,
    ) {
        self.bar.set_message(format!(
            "{caller} {implementation} {backend} {kernel} {size}"
        ));
        self.bar.inc(1);
        self.run.records.push(Record {
            machine: self.opts.machine.clone(),
            arch: std::env::consts::ARCH.to_owned(),
            emulated: self.opts.emulated,
            caller: caller.to_owned(),
            implementation: implementation.to_owned(),
            backend: backend.to_owned(),
            kernel: kernel.to_owned(),
            size,
            threads,
            time,
            checked: true,
            paired_floor_ratio,
        });
    }

    /// Times `batch` as the ffikit row `row`, interleaved with its floor (the plain Rust call
    /// of the same kernel and size), and records the paired ratio with it.
    fn time_row(&mut self, row: Row, batch: &mut dyn FnMut(u64)) {
        let (kernels, reference) = (Rc::clone(&self.kernels), Rc::clone(&self.reference));
        let mut scratch = Scratch::new(&reference);
        let mut floor = plain_call(
            &kernels,
            &reference,
            &mut scratch,
            row.kernel,
            row.size as usize,
        );
        let (time, ratio) = measure_paired(self.plan, &mut *floor, batch);
        self.push(
            row.caller,
            "ffikit",
            row.backend,
            row.kernel,
            row.size,
            1,
            time,
            Some(ratio),
        );
    }

    /// Measures `batch` and records it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn time(
        &mut self,
        caller: &str,
        implementation: &str,
        backend: &str,
        kernel: &str,
        size: u64,
        batch: &mut dyn FnMut(u64),
    ) {
        let s = measure(self.plan, batch);
        self.push(caller, implementation, backend, kernel, size, 1, s, None);
    }
}

/// The test data: exact in binary64, so every summation order gives the same result.
pub(crate) fn data_x(i: usize) -> f64 {
    (i % 1000) as f64 * 0.25 - 50.0
}
pub(crate) fn data_y(i: usize) -> f64 {
    (i % 7) as f64
}

/// A vector whose data starts on a 64-byte boundary, as a stable buffer's does: the peer
/// rows read their inputs from these, so that every row of a kernel reads equally aligned
/// data and the rows differ only by their call path.
pub(crate) type Aligned<T> = AVec<T, ConstAlign<64>>;

/// `items` collected into an [`Aligned`] vector.
pub(crate) fn aligned<T>(items: impl IntoIterator<Item = T>) -> Aligned<T> {
    Aligned::from_iter(64, items)
}

/// The test data (64-byte aligned, like the stable buffers the backend rows read) and the
/// reference results for size `n`: sum(x), dot(x, y), axpy(A, x, y), batch(a, b).
pub(crate) struct Reference {
    pub(crate) x: Aligned<f64>,
    pub(crate) y: Aligned<f64>,
    pub(crate) a: Aligned<u32>,
    pub(crate) b: Aligned<u32>,
}

/// The `a` of every axpy call.
pub(crate) const AXPY_A: f64 = 0.5;

impl Reference {
    pub(crate) fn new(n: usize) -> Reference {
        Reference {
            x: aligned((0..n).map(data_x)),
            y: aligned((0..n).map(data_y)),
            a: aligned((0..n as u32).map(|i| i.wrapping_mul(2_654_435_761))),
            b: aligned((0..n as u32).map(|i| u32::MAX - i)),
        }
    }
    pub(crate) fn sum(&self, n: usize) -> f64 {
        ffikit_kernels::reference::sum_f64(&self.x[..n])
    }
    pub(crate) fn dot(&self, n: usize) -> f64 {
        ffikit_kernels::reference::dot_f64(&self.x[..n], &self.y[..n])
    }
    pub(crate) fn axpy(&self, n: usize) -> Vec<f64> {
        let mut y = self.y[..n].to_vec();
        ffikit_kernels::reference::axpy_f64(AXPY_A, &self.x[..n], &mut y);
        y
    }
    pub(crate) fn batch(&self, n: usize) -> Vec<u32> {
        let mut out = vec![0; n];
        ffikit_kernels::reference::add_u32_batch(&self.a[..n], &self.b[..n], &mut out);
        out
    }
}

/// Panics with a clear message when a kernel gave a wrong result: a wrong kernel must not
/// post a time.
pub(crate) fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) {
    assert!(
        got == want,
        "{what}: wrong result {got:?}, expected {want:?}"
    );
}

/// Stable buffers of one backend context holding the reference data.
struct Buffers {
    x: StableBuffer,
    y: StableBuffer,
    z: StableBuffer,
    a: StableBuffer,
    b: StableBuffer,
    out: StableBuffer,
}

fn buffers<B: Backend>(b: &mut B, r: &Reference) -> Buffers {
    let n = r.x.len();
    let mut alloc = |bytes| {
        b.alloc_stable_buffer(bytes, 64)
            .expect("a benchmark buffer")
    };
    let bufs = Buffers {
        x: alloc(n * 8),
        y: alloc(n * 8),
        z: alloc(n * 8),
        a: alloc(n * 4),
        b: alloc(n * 4),
        out: alloc(n * 4),
    };
    // SAFETY: fresh buffers of this context; no other view exists while filling.
    unsafe {
        bufs.x.as_mut_slice_of::<f64>()[..n].copy_from_slice(&r.x);
        bufs.y.as_mut_slice_of::<f64>()[..n].copy_from_slice(&r.y);
        bufs.a.as_mut_slice_of::<u32>()[..n].copy_from_slice(&r.a);
        bufs.b.as_mut_slice_of::<u32>()[..n].copy_from_slice(&r.b);
    }
    bufs
}

fn reset_z(bufs: &Buffers, r: &Reference, n: usize) {
    // SAFETY: a live buffer of the context; no other view while writing.
    unsafe { bufs.z.as_mut_slice_of::<f64>()[..n].copy_from_slice(&r.y[..n]) };
}

fn f64s(b: &StableBuffer, n: usize) -> Vec<f64> {
    // SAFETY: a live buffer; read after the calls that write it.
    unsafe { b.as_mut_slice_of::<f64>()[..n].to_vec() }
}

fn u32s(b: &StableBuffer, n: usize) -> Vec<u32> {
    // SAFETY: as above.
    unsafe { b.as_mut_slice_of::<u32>()[..n].to_vec() }
}

/// The typed and dynamic rows of one backend.
fn backend_rows<B: Backend>(mut b: B, kernels: Source<'_>, r: &Reference, sink: &mut Sink) {
    let name = B::NAME;
    let lib = b.open(kernels).expect("the kernels open");
    let bufs = buffers(&mut b, r);
    // SAFETY: the kernels' C signatures are those of `ffikit::kernel` and of these types.
    let (noop, add, sum, dot, axpy, batch) = unsafe {
        (
            b.prepare_typed::<(), ()>(&lib, "ffikit_noop").unwrap(),
            b.prepare_typed::<(u32, u32), u32>(&lib, "ffikit_add_u32")
                .unwrap(),
            b.prepare_typed::<(BufferArg, usize), f64>(&lib, "ffikit_sum_f64")
                .unwrap(),
            b.prepare_typed::<(BufferArg, BufferArg, usize), f64>(&lib, "ffikit_dot_f64")
                .unwrap(),
            b.prepare_typed::<(f64, BufferArg, BufferArg, usize), ()>(&lib, "ffikit_axpy_f64")
                .unwrap(),
            b.prepare_typed::<(BufferArg, BufferArg, BufferArg, usize), ()>(
                &lib,
                "ffikit_add_u32_batch",
            )
            .unwrap(),
        )
    };
    let dynamic: Vec<(KernelSpec, B::Function)> = KERNELS
        .iter()
        .map(|k| {
            let sig: Signature = k.signature.parse().unwrap();
            // SAFETY: as above.
            (*k, unsafe { b.prepare(&lib, k.symbol, &sig).unwrap() })
        })
        .collect();
    let dynf = |k: &str| &dynamic.iter().find(|(s, _)| s.name == k).unwrap().1;
    let (x, y, z, a, bb, out) = (
        bufs.x.arg(),
        bufs.y.arg(),
        bufs.z.arg(),
        bufs.a.arg(),
        bufs.b.arg(),
        bufs.out.arg(),
    );
    let opts = sink.opts.clone();
    for caller in ["rust-typed", "rust-dynamic"] {
        if !opts.wants_caller(caller) {
            continue;
        }
        let typed = caller == "rust-typed";
        let row = |kernel: &'static str, size: u64| Row {
            caller,
            backend: name,
            kernel,
            size,
        };
        // SAFETY: (every call below) the callees have exactly these C signatures, and the
        // kernels read and write only the first n elements of buffers that hold
        // max_size >= n elements.
        unsafe {
            if opts.wants_kernel("noop") {
                if typed {
                    typed_row(&mut b, &noop, (), sink, row("noop", 0), |()| {});
                } else {
                    dynamic_row(&mut b, dynf("noop"), |_| [], sink, row("noop", 0), |_| {});
                }
            }
            if opts.wants_kernel("add_u32") {
                let check = |v: u32| expect("add_u32", v, 42);
                if typed {
                    typed_row(&mut b, &add, (40, 2), sink, row("add_u32", 0), check);
                } else {
                    // Call 0 is the checked one: 40 + 2.
                    let args = |i: u64| [Arg::u32(40 + i as u32), Arg::u32(2)];
                    dynamic_row(
                        &mut b,
                        dynf("add_u32"),
                        args,
                        sink,
                        row("add_u32", 0),
                        |v| expect("add_u32", v, Value::U32(42)),
                    );
                }
            }
            for size in opts.sizes() {
                let n = size as usize;
                if opts.wants_kernel("sum_f64") {
                    let row = row("sum_f64", size);
                    if typed {
                        typed_row(&mut b, &sum, (x, n), sink, row, |v| {
                            expect("sum_f64", v, r.sum(n))
                        });
                    } else {
                        let args = |_| [Arg::buffer(x), Arg::usize(n)];
                        dynamic_row(&mut b, dynf("sum_f64"), args, sink, row, |v| {
                            expect("sum_f64", v, Value::F64(r.sum(n)))
                        });
                    }
                }
                if opts.wants_kernel("dot_f64") {
                    let row = row("dot_f64", size);
                    if typed {
                        typed_row(&mut b, &dot, (x, y, n), sink, row, |v| {
                            expect("dot_f64", v, r.dot(n))
                        });
                    } else {
                        let args = |_| [Arg::buffer(x), Arg::buffer(y), Arg::usize(n)];
                        dynamic_row(&mut b, dynf("dot_f64"), args, sink, row, |v| {
                            expect("dot_f64", v, Value::F64(r.dot(n)))
                        });
                    }
                }
                if opts.wants_kernel("axpy_f64") {
                    reset_z(&bufs, r, n);
                    let row = row("axpy_f64", size);
                    let check = |_| expect("axpy_f64", f64s(&bufs.z, n), r.axpy(n));
                    if typed {
                        typed_row(&mut b, &axpy, (AXPY_A, x, z, n), sink, row, check);
                    } else {
                        let args = |_| {
                            [
                                Arg::f64(AXPY_A),
                                Arg::buffer(x),
                                Arg::buffer(z),
                                Arg::usize(n),
                            ]
                        };
                        dynamic_row(&mut b, dynf("axpy_f64"), args, sink, row, |_| check(()));
                    }
                }
                if opts.wants_kernel("add_u32_batch") {
                    let row = row("add_u32_batch", size);
                    let check = |_| expect("add_u32_batch", u32s(&bufs.out, n), r.batch(n));
                    if typed {
                        typed_row(&mut b, &batch, (a, bb, out, n), sink, row, check);
                    } else {
                        let args = |_| {
                            [
                                Arg::buffer(a),
                                Arg::buffer(bb),
                                Arg::buffer(out),
                                Arg::usize(n),
                            ]
                        };
                        dynamic_row(
                            &mut b,
                            dynf("add_u32_batch"),
                            args,
                            sink,
                            row,
                            |_| check(()),
                        );
                    }
                }
            }
        }
    }
}

/// Which matrix row a measurement is.
#[derive(Clone, Copy)]
struct Row {
    caller: &'static str,
    backend: &'static str,
    kernel: &'static str,
    size: u64,
}

/// One typed row: a call whose result `check` verifies, then the timed loop.
///
/// The arguments are loop-invariant, as in the plain-call floor ([`peers::plain_call`]): the
/// call itself is opaque, so every call is made. (Hiding the arguments with `black_box`
/// instead spilled a 24-byte `BufferArg` through a vector store that the pointer was then
/// reloaded from, a store-forwarding round trip on the kernel's critical path that measured
/// ~2.5 ns per call on this machine and is no part of a real caller's loop.)
///
/// # Safety
/// `f` has the C signature of `P -> R`, and the arguments are sound for it.
unsafe fn typed_row<B: Backend, P: Params, R: ReturnType>(
    b: &mut B,
    f: &B::Typed<P, R>,
    args: P,
    sink: &mut Sink,
    row: Row,
    check: impl FnOnce(R),
) {
    // SAFETY: forwarded.
    check(unsafe { b.call_typed(f, args) }.unwrap());
    sink.time_row(row, &mut |it| {
        for _ in 0..it {
            // SAFETY: forwarded.
            black_box(unsafe { b.call_typed(f, args) }.unwrap());
        }
    });
}

/// One dynamic row: a call whose result `check` verifies, then the timed loop.
///
/// Every call builds its `Arg`s (`args(i)` for call `i`, with `i` hidden from the
/// optimiser), as a caller whose values change from call to call does and as the libffi rows
/// build their argument pointer arrays. The kinds and the count are visible to the
/// optimiser, as at any call site that writes `&[Arg::u32(a), Arg::u32(b)]`.
///
/// # Safety
/// `f` was prepared with the callee's C signature, and the arguments are sound for it.
unsafe fn dynamic_row<'a, B: Backend, const N: usize>(
    b: &mut B,
    f: &B::Function,
    args: impl Fn(u64) -> [Arg<'a>; N],
    sink: &mut Sink,
    row: Row,
    check: impl FnOnce(Value),
) {
    // SAFETY: forwarded.
    check(unsafe { b.call(f, &args(0), &mut []) }.unwrap());
    sink.time_row(row, &mut |it| {
        for i in 0..it {
            // SAFETY: forwarded.
            black_box(unsafe { b.call(f, &args(black_box(i)), &mut []) }.unwrap());
        }
    });
}

fn main() {
    let opts = Opts::parse();
    let r = Rc::new(Reference::new(opts.max_size()));
    let lib = ffikit_kernels::locate::kernels_library();
    let wasm = ffikit_kernels::locate::kernels_wasm();
    let estimate = estimate_rows(&opts);
    let bar = ProgressBar::new(estimate);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix("Rust rows");
    let mut sink = Sink {
        plan: Plan::new(opts.quick),
        opts: opts.clone(),
        run: Run::default(),
        bar,
        kernels: Rc::new(Kernels::open(&lib)),
        reference: Rc::clone(&r),
    };
    peers::rows(&r, &mut sink, &wasm);
    if opts.wants_backend("native") {
        backend_rows(
            ffikit::NativeBackend::new(),
            Source::Path(&lib),
            &r,
            &mut sink,
        );
    }
    if opts.wants_backend("asm") {
        match ffikit::AsmBackend::new() {
            Ok(b) => backend_rows(b, Source::Path(&lib), &r, &mut sink),
            Err(e) => eprintln!("bench-rows: asm rows NOT RUN: {e}"),
        }
    }
    if opts.wants_backend("wasm") {
        backend_rows(
            ffikit::WasmBackend::new().expect("wasm backend"),
            Source::Path(&wasm),
            &r,
            &mut sink,
        );
    }
    if opts.wants_caller("rust-pool") {
        threads::rows(&mut sink);
    }
    sink.bar.finish_and_clear();
    println!(
        "{}",
        serde_json::to_string(&sink.run).expect("serialisable")
    );
}

/// An estimate of the rows to measure, for the progress bar.
fn estimate_rows(opts: &Opts) -> u64 {
    let sized = ["sum_f64", "dot_f64", "axpy_f64", "add_u32_batch"]
        .iter()
        .filter(|k| opts.wants_kernel(k))
        .count();
    let scalar = ["noop", "add_u32"]
        .iter()
        .filter(|k| opts.wants_kernel(k))
        .count();
    let per_backend = (scalar + sized * opts.sizes().len()) as u64;
    let backends = ["native", "asm", "wasm"]
        .iter()
        .filter(|b| opts.wants_backend(b))
        .count() as u64;
    per_backend * backends * 2 + per_backend * 4
}
