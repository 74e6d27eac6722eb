//! The peer rows: what a user would pick instead of ffikit, measured in the same process.
//!
//! - `plain-rust`: the kernel called through a function pointer — the floor every Rust row is
//!   divided by. The pointer is the `dlsym`'d address in `libffikit_kernels.so`, the very code
//!   the native and asm backends call: a copy of the kernel linked into this binary sits at
//!   another address, and on this machine an indirect call to a nearby copy measured up to
//!   0.9 ns (of ~2.5) faster than the same instructions in the shared library, a difference
//!   of code placement that would be charged to ffikit's call path;
//! - `rust-loop`: the obvious Rust loop, for the crossover;
//! - `libffi`: the `libffi` crate's `Cif::call` of the same kernels in the same shared library
//!   (the dynamic-call peer);
//! - `wasmtime-typedfunc`: a raw wasmtime `TypedFunc::call` of the same wasm exports in a
//!   store of its own, with the data in its linear memory (the wasm peer).

use std::ffi::c_void;
use std::hint::black_box;
use std::path::Path;

use libffi::middle::{Cif, CodePtr, Type as FfiType, arg};
use wasmtime::{Instance, Module, Store, TypedFunc};

use ffikit::SharedLibrary;

use crate::{AXPY_A, Aligned, Reference, Sink, aligned, expect};

pub(crate) type SumFn = unsafe extern "C" fn(*const f64, usize) -> f64;
type DotFn = unsafe extern "C" fn(*const f64, *const f64, usize) -> f64;
type AxpyFn = unsafe extern "C" fn(f64, *const f64, *mut f64, usize);
type BatchFn = unsafe extern "C" fn(*const u32, *const u32, *mut u32, usize);

/// The kernels' entry points in `libffikit_kernels.so`, and the library that keeps them
/// loaded.
pub(crate) struct Kernels {
    noop: extern "C" fn(),
    pub(crate) add: extern "C" fn(u32, u32) -> u32,
    pub(crate) sum: SumFn,
    dot: DotFn,
    axpy: AxpyFn,
    batch: BatchFn,
    _lib: SharedLibrary,
}

impl Kernels {
    /// Opens the kernels library at `path` and resolves every kernel.
    ///
    /// # Panics
    /// When the library or a kernel is missing (the rows cannot be measured without them).
    pub(crate) fn open(path: &Path) -> Kernels {
        // SAFETY: opening runs the kernels library's initialisers, as every backend row's
        // open of the same file does.
        let lib = unsafe { SharedLibrary::open(path) }.expect("libffikit_kernels.so opens");
        let at = |s: &str| lib.symbol_address(s).expect("a kernel symbol");
        // SAFETY: each symbol is the kernel of that C signature (`ffikit::kernel::KERNELS`);
        // the library stays loaded while `_lib` lives, which outlives every pointer use.
        unsafe {
            use std::mem::transmute;
            Kernels {
                noop: transmute::<*const c_void, extern "C" fn()>(at("ffikit_noop")),
                add: transmute::<*const c_void, extern "C" fn(u32, u32) -> u32>(at(
                    "ffikit_add_u32",
                )),
                sum: transmute::<*const c_void, SumFn>(at("ffikit_sum_f64")),
                dot: transmute::<*const c_void, DotFn>(at("ffikit_dot_f64")),
                axpy: transmute::<*const c_void, AxpyFn>(at("ffikit_axpy_f64")),
                batch: transmute::<*const c_void, BatchFn>(at("ffikit_add_u32_batch")),
                _lib: lib.clone(),
            }
        }
    }
}

/// All peer rows that the filters select; `wasm` is the kernels' wasm module.
pub(crate) fn rows(r: &Reference, sink: &mut Sink, wasm: &Path) {
    let k = std::rc::Rc::clone(&sink.kernels);
    if sink.opts.wants_caller("rust-typed") {
        plain(r, sink, &k);
        if sink.opts.wants_backend("wasm") {
            wasmtime_rows(r, sink, wasm);
        }
    }
    if sink.opts.wants_caller("rust-dynamic") {
        libffi_rows(r, sink, &k);
    }
}

/// Scratch outputs of the plain calls that write (axpy's `z`, the batch's `out`), of
/// `max_size` elements.
pub(crate) struct Scratch {
    z: Aligned<f64>,
    out: Aligned<u32>,
}

impl Scratch {
    pub(crate) fn new(r: &Reference) -> Scratch {
        Scratch {
            z: r.y.clone(),
            out: aligned(std::iter::repeat_n(0u32, r.a.len())),
        }
    }
}

/// The plain Rust call of `kernel` at `n` elements through its function pointer (the floor
/// of every Rust row), as a batch of calls, after checking one call's result. The pointer is
/// opaque to the optimiser (`black_box`), so every call is made; the arguments are
/// loop-invariant and stay in registers, as in a user's hot loop and as in the typed rows. The `plain-rust`
/// rows time it, and every ffikit row times it again interleaved with itself (see
/// `Sink::time_row`).
///
/// # Panics
/// On an unknown kernel, or when the checked call gives a wrong result.
pub(crate) fn plain_call<'a>(
    k: &Kernels,
    r: &'a Reference,
    s: &'a mut Scratch,
    kernel: &str,
    n: usize,
) -> Box<dyn FnMut(u64) + 'a> {
    let noop = black_box(k.noop);
    let add = black_box(k.add);
    let sum = black_box(k.sum);
    let dot = black_box(k.dot);
    let axpy = black_box(k.axpy);
    let batch = black_box(k.batch);
    let (x, y) = (r.x.as_ptr(), r.y.as_ptr());
    let (z, out) = (s.z.as_mut_ptr(), s.out.as_mut_ptr());
    // Every `unsafe` call below: the callee has exactly this C signature, and every pointer
    // covers the n <= max_size elements it reads or writes.
    {
        match kernel {
            "noop" => Box::new(move |it| {
                for _ in 0..it {
                    black_box(noop)();
                }
            }),
            "add_u32" => {
                expect("add_u32", add(40, 2), 42);
                Box::new(move |it| {
                    for i in 0..it {
                        black_box(add(black_box(i as u32), 2));
                    }
                })
            }
            "sum_f64" => {
                // SAFETY: as above.
                expect("sum_f64", unsafe { sum(x, n) }, r.sum(n));
                Box::new(move |it| {
                    for _ in 0..it {
                        // SAFETY: as above.
                        black_box(unsafe { sum(x, n) });
                    }
                })
            }
            "dot_f64" => {
                // SAFETY: as above.
                expect("dot_f64", unsafe { dot(x, y, n) }, r.dot(n));
                Box::new(move |it| {
                    for _ in 0..it {
                        // SAFETY: as above.
                        black_box(unsafe { dot(x, y, n) });
                    }
                })
            }
            "axpy_f64" => {
                s.z[..n].copy_from_slice(&r.y[..n]);
                // SAFETY: as above.
                unsafe { axpy(AXPY_A, x, z, n) };
                expect("axpy_f64", s.z[..n].to_vec(), r.axpy(n));
                Box::new(move |it| {
                    for _ in 0..it {
                        // SAFETY: as above.
                        unsafe { axpy(AXPY_A, x, z, n) };
                    }
                })
            }
            "add_u32_batch" => {
                // SAFETY: as above.
                unsafe { batch(r.a.as_ptr(), r.b.as_ptr(), out, n) };
                expect("add_u32_batch", s.out[..n].to_vec(), r.batch(n));
                let (a, b) = (r.a.as_ptr(), r.b.as_ptr());
                Box::new(move |it| {
                    for _ in 0..it {
                        // SAFETY: as above.
                        unsafe { batch(a, b, out, n) };
                    }
                })
            }
            other => panic!("no plain call for kernel {other}"),
        }
    }
}

fn plain(r: &Reference, sink: &mut Sink, k: &Kernels) {
    let opts = sink.opts.clone();
    let mut s = Scratch::new(r);
    let mut time_plain = |sink: &mut Sink, kernel: &str, size: u64| {
        let mut call = plain_call(k, r, &mut s, kernel, size as usize);
        sink.time("rust-typed", "plain-rust", "-", kernel, size, &mut *call);
    };
    for kernel in ["noop", "add_u32"] {
        if opts.wants_kernel(kernel) {
            time_plain(sink, kernel, 0);
        }
    }
    let mut z = r.y.clone();
    let mut out = aligned(std::iter::repeat_n(0u32, r.a.len()));
    for size in opts.sizes() {
        let n = size as usize;
        if opts.wants_kernel("sum_f64") {
            time_plain(sink, "sum_f64", size);
            expect("rust loop sum", r.x[..n].iter().sum::<f64>(), r.sum(n));
            sink.time("rust-typed", "rust-loop", "-", "sum_f64", size, &mut |it| {
                for _ in 0..it {
                    black_box(black_box(&r.x[..n]).iter().sum::<f64>());
                }
            });
        }
        if opts.wants_kernel("dot_f64") {
            time_plain(sink, "dot_f64", size);
            let naive = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
            expect("rust loop dot", naive(&r.x[..n], &r.y[..n]), r.dot(n));
            sink.time("rust-typed", "rust-loop", "-", "dot_f64", size, &mut |it| {
                for _ in 0..it {
                    black_box(naive(black_box(&r.x[..n]), &r.y[..n]));
                }
            });
        }
        if opts.wants_kernel("axpy_f64") {
            time_plain(sink, "axpy_f64", size);
            sink.time(
                "rust-typed",
                "rust-loop",
                "-",
                "axpy_f64",
                size,
                &mut |it| {
                    for _ in 0..it {
                        for (zi, xi) in z[..n].iter_mut().zip(black_box(&r.x[..n])) {
                            *zi += AXPY_A * xi;
                        }
                    }
                },
            );
        }
        if opts.wants_kernel("add_u32_batch") {
            time_plain(sink, "add_u32_batch", size);
            sink.time(
                "rust-typed",
                "rust-loop",
                "-",
                "add_u32_batch",
                size,
                &mut |it| {
                    for _ in 0..it {
                        for ((o, a), b) in
                            out[..n].iter_mut().zip(black_box(&r.a[..n])).zip(&r.b[..n])
                        {
                            *o = a.wrapping_add(*b);
                        }
                    }
                },
            );
        }
    }
}

fn libffi_rows(r: &Reference, sink: &mut Sink, k: &Kernels) {
    let opts = sink.opts.clone();
    let code = |f: *const ()| CodePtr(f as *mut c_void);
    if opts.wants_kernel("noop") {
        let cif = Cif::new([], FfiType::void());
        let f = code(k.noop as *const ());
        sink.time("rust-dynamic", "libffi", "-", "noop", 0, &mut |it| {
            for _ in 0..it {
                // SAFETY: the CIF matches `void ffikit_noop(void)`.
                unsafe { cif.call::<()>(black_box(f), &[]) };
            }
        });
    }
    if opts.wants_kernel("add_u32") {
        let cif = Cif::new([FfiType::u32(), FfiType::u32()], FfiType::u32());
        let f = code(k.add as *const ());
        let (a, b) = (40u32, 2u32);
        // SAFETY: the CIF matches `uint32_t ffikit_add_u32(uint32_t, uint32_t)`.
        expect(
            "add_u32",
            // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
            unsafe { cif.call::<u32>(f, &[arg(&a), arg(&b)]) },
            42,
        );
        sink.time("rust-dynamic", "libffi", "-", "add_u32", 0, &mut |it| {
            for _ in 0..it {
                // SAFETY: as above.
                black_box(unsafe { cif.call::<u32>(f, &[arg(black_box(&a)), arg(&b)]) });
            }
        });
    }
    let ptr = FfiType::pointer;
    let sum_cif = Cif::new([ptr(), FfiType::usize()], FfiType::f64());
    let dot_cif = Cif::new([ptr(), ptr(), FfiType::usize()], FfiType::f64());
    let axpy_cif = Cif::new(
        [FfiType::f64(), ptr(), ptr(), FfiType::usize()],
        FfiType::void(),
    );
    let batch_cif = Cif::new([ptr(), ptr(), ptr(), FfiType::usize()], FfiType::void());
    let mut z = r.y.clone();
    let mut out = aligned(std::iter::repeat_n(0u32, r.a.len()));
    for size in opts.sizes() {
        let n = size as usize;
        let (x, y) = (r.x.as_ptr(), r.y.as_ptr());
        // SAFETY (every call): each CIF matches its kernel's C signature; the vectors hold at
        // least n elements.
        if opts.wants_kernel("sum_f64") {
            let f = code(k.sum as *const ());
            expect(
                "sum_f64",
                // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
                unsafe { sum_cif.call::<f64>(f, &[arg(&x), arg(&n)]) },
                r.sum(n),
            );
            sink.time("rust-dynamic", "libffi", "-", "sum_f64", size, &mut |it| {
                for _ in 0..it {
                    // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
                    black_box(unsafe { sum_cif.call::<f64>(f, &[arg(black_box(&x)), arg(&n)]) });
                }
            });
        }
        if opts.wants_kernel("dot_f64") {
            let f = code(k.dot as *const ());
            expect(
                "dot_f64",
                // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
                unsafe { dot_cif.call::<f64>(f, &[arg(&x), arg(&y), arg(&n)]) },
                r.dot(n),
            );
            sink.time("rust-dynamic", "libffi", "-", "dot_f64", size, &mut |it| {
                for _ in 0..it {
                    // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
                    black_box(unsafe {
                        dot_cif.call::<f64>(f, &[arg(black_box(&x)), arg(&y), arg(&n)])
                    });
                }
            });
        }
        if opts.wants_kernel("axpy_f64") {
            let f = code(k.axpy as *const ());
            z[..n].copy_from_slice(&r.y[..n]);
            let zp = z.as_mut_ptr();
            // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
            unsafe { axpy_cif.call::<()>(f, &[arg(&AXPY_A), arg(&x), arg(&zp), arg(&n)]) };
            expect("axpy_f64", z[..n].to_vec(), r.axpy(n));
            sink.time("rust-dynamic", "libffi", "-", "axpy_f64", size, &mut |it| {
                for _ in 0..it {
                    // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
                    unsafe {
                        axpy_cif
                            .call::<()>(f, &[arg(&AXPY_A), arg(black_box(&x)), arg(&zp), arg(&n)])
                    };
                }
            });
        }
        if opts.wants_kernel("add_u32_batch") {
            let f = code(k.batch as *const ());
            let (a, b, o) = (r.a.as_ptr(), r.b.as_ptr(), out.as_mut_ptr());
            // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
            unsafe { batch_cif.call::<()>(f, &[arg(&a), arg(&b), arg(&o), arg(&n)]) };
            expect("add_u32_batch", out[..n].to_vec(), r.batch(n));
            sink.time(
                "rust-dynamic",
                "libffi",
                "-",
                "add_u32_batch",
                size,
                &mut |it| {
                    for _ in 0..it {
                        // SAFETY: the callee has exactly this C signature, and every pointer covers the n elements it reads or writes.
                        unsafe {
                            batch_cif
                                .call::<()>(f, &[arg(black_box(&a)), arg(&b), arg(&o), arg(&n)])
                        };
                    }
                },
            );
        }
    }
}

fn wasmtime_rows(r: &Reference, sink: &mut Sink, wasm: &Path) {
    let opts = sink.opts.clone();
    let engine = ffikit::WasmEngine::default_engine().expect("the wasm engine");
    let engine = engine.engine().clone();
    let module = Module::from_file(&engine, wasm).expect("the kernels module");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("an instance");
    let memory = instance
        .get_memory(&mut store, "memory")
        .expect("an exported memory");
    let n_max = r.x.len();
    // Room for x, y, z after the module's own data: fresh pages from memory.grow.
    let pages = (3 * n_max * 8).div_ceil(65536) as u64 + 1;
    let base = (memory.grow(&mut store, pages).expect("memory.grow") * 65536) as usize;
    let (xo, yo, zo) = (base, base + n_max * 8, base + 2 * n_max * 8);
    {
        let mem = memory.data_mut(&mut store);
        for (i, v) in r.x.iter().enumerate() {
            mem[xo + i * 8..xo + i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        for (i, v) in r.y.iter().enumerate() {
            mem[yo + i * 8..yo + i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
    let noop: TypedFunc<(), ()> = instance.get_typed_func(&mut store, "ffikit_noop").unwrap();
    let add: TypedFunc<(u32, u32), u32> = instance
        .get_typed_func(&mut store, "ffikit_add_u32")
        .unwrap();
    let sum: TypedFunc<(u32, u32), f64> = instance
        .get_typed_func(&mut store, "ffikit_sum_f64")
        .unwrap();
    let dot: TypedFunc<(u32, u32, u32), f64> = instance
        .get_typed_func(&mut store, "ffikit_dot_f64")
        .unwrap();
    let axpy: TypedFunc<(f64, u32, u32, u32), ()> = instance
        .get_typed_func(&mut store, "ffikit_axpy_f64")
        .unwrap();
    let (xo, yo, zo) = (xo as u32, yo as u32, zo as u32);
    if opts.wants_kernel("noop") {
        sink.time(
            "rust-typed",
            "wasmtime-typedfunc",
            "wasm",
            "noop",
            0,
            &mut |it| {
                for _ in 0..it {
                    noop.call(&mut store, ()).unwrap();
                }
            },
        );
    }
    if opts.wants_kernel("add_u32") {
        expect("add_u32", add.call(&mut store, (40, 2)).unwrap(), 42);
        sink.time(
            "rust-typed",
            "wasmtime-typedfunc",
            "wasm",
            "add_u32",
            0,
            &mut |it| {
                for i in 0..it {
                    black_box(add.call(&mut store, (black_box(i as u32), 2)).unwrap());
                }
            },
        );
    }
    for size in opts.sizes() {
        let n = size as u32;
        if opts.wants_kernel("sum_f64") {
            expect(
                "sum_f64",
                sum.call(&mut store, (xo, n)).unwrap(),
                r.sum(n as usize),
            );
            sink.time(
                "rust-typed",
                "wasmtime-typedfunc",
                "wasm",
                "sum_f64",
                size,
                &mut |it| {
                    for _ in 0..it {
                        black_box(sum.call(&mut store, (xo, black_box(n))).unwrap());
                    }
                },
            );
        }
        if opts.wants_kernel("dot_f64") {
            expect(
                "dot_f64",
                dot.call(&mut store, (xo, yo, n)).unwrap(),
                r.dot(n as usize),
            );
            sink.time(
                "rust-typed",
                "wasmtime-typedfunc",
                "wasm",
                "dot_f64",
                size,
                &mut |it| {
                    for _ in 0..it {
                        black_box(dot.call(&mut store, (xo, yo, black_box(n))).unwrap());
                    }
                },
            );
        }
        if opts.wants_kernel("axpy_f64") {
            axpy.call(&mut store, (AXPY_A, xo, zo, n)).unwrap();
            sink.time(
                "rust-typed",
                "wasmtime-typedfunc",
                "wasm",
                "axpy_f64",
                size,
                &mut |it| {
                    for _ in 0..it {
                        axpy.call(&mut store, (AXPY_A, xo, zo, black_box(n)))
                            .unwrap();
                    }
                },
            );
        }
    }
}
