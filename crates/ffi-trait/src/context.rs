//! [`Context`]: one backend instance with the kernels opened and prepared once, scratch stable
//! buffers sized at creation, and typed kernel methods.
//!
//! A context is what a thread holds while it calls kernels: it is `Send`, not `Sync`; threads
//! that work concurrently each take their own from a [`ContextPool`](crate::ContextPool).
//!
//! Data placement, per call:
//! - backends whose foreign code runs in the host address space
//!   ([`PointerKind::Host`]: native, asm) are handed the caller's slices in place — no copy;
//! - the wasm backend ([`PointerKind::Guest`]) can only see its linear memory: a slice that
//!   already lies inside one of the context's buffers is used in place, any other is copied
//!   into a scratch buffer (and, for outputs, copied back after the call) — one `memcpy`.
//!
//! The `*_buffer` methods take [`StableBuffer`]s allocated by [`Context::alloc_buffer`] and
//! never copy on any backend.

use std::mem::size_of_val;

use crate::backend::{Backend, Source};
use crate::buffer::{BufferArg, OwnerId, StableBuffer};
use crate::error::{Error, Result};
use crate::kernel;
use crate::typed::PointerKind;

/// How a [`Context`] is sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    /// Bytes in each of the three scratch buffers into which host slices are copied for
    /// backends that need it (wasm): the largest slice one kernel call can take by copy is
    /// `capacity_bytes / 8` f64 values. Default: 8 MiB (1,048,576 f64).
    pub capacity_bytes: usize,
}

impl Default for ContextConfig {
    fn default() -> ContextConfig {
        ContextConfig {
            capacity_bytes: 8 << 20,
        }
    }
}

/// The kernels, resolved and prepared as typed functions once.
struct Kernels<B: Backend> {
    noop: B::Typed<(), ()>,
    add_u32: B::Typed<(u32, u32), u32>,
    add_u32_batch: B::Typed<(BufferArg, BufferArg, BufferArg, usize), ()>,
    sum_f64: B::Typed<(BufferArg, usize), f64>,
    dot_f64: B::Typed<(BufferArg, BufferArg, usize), f64>,
    axpy_f64: B::Typed<(f64, BufferArg, BufferArg, usize), ()>,
}

/// One backend instance with the kernels library (or module) open, every kernel prepared
/// as a typed function, and three scratch buffers.
///
/// # Traps and poisoning
/// A wasm trap or deadline ([`Error::is_trap`]) is the error of that call only: the context
/// stays usable, its buffers intact, and records the trap ([`Context::trapped`]); a
/// [`ContextPool`](crate::ContextPool) set to
/// [`discard_trapped`](crate::ContextPool::set_discard_trapped) replaces a context that trapped
/// instead of handing it out again. A caller that finds the state broken itself marks the
/// context poisoned ([`Context::poison`]): every later call then returns
/// [`Error::ContextPoisoned`] and a pool discards it.
///
/// ```no_run
/// # fn run<B: ffi_trait::Backend>(backend: B, kernels: &std::path::Path) -> ffi_trait::Result<()> {
/// use ffi_trait::{Context, ContextConfig, Source};
/// let mut ctx = Context::new(backend, Source::Path(kernels), ContextConfig::default())?;
/// let x: Vec<f64> = (0..1000).map(f64::from).collect();
/// assert_eq!(ctx.sum_f64(&x)?, 499_500.0);
/// # Ok(()) }
/// ```
pub struct Context<B: Backend> {
    // Field order is drop order: the prepared functions, then the library, then the backend
    // that owns the buffers and the instance.
    kernels: Kernels<B>,
    _library: B::Library,
    scratch: [StableBuffer; 3],
    /// The live buffers of [`Context::alloc_buffer`], indexed by buffer id (backends hand
    /// out small, reused ids), so checking that a buffer is live is one lookup.
    buffers: Vec<Option<StableBuffer>>,
    poisoned: Option<String>,
    /// The message of the last trap or deadline of a call, if one happened.
    trapped: Option<String>,
    backend: B,
}

/// What kind of live buffer of a context a buffer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Live {
    /// One of [`Context::alloc_buffer`].
    User,
    /// One of the context's own scratch buffers.
    Scratch,
}

// SAFETY: every field is owned by the context and has no thread affinity: the backend, its
// library and prepared functions are `Send` (the trait requires it), and the buffer
// descriptors point into memory that the backend owns and that moves with it.
unsafe impl<B: Backend> Send for Context<B> {}

impl<B: Backend> Context<B> {
    /// Opens the kernels from `kernels` (`libffikit_kernels.so` for native and asm,
    /// `ffikit_kernels.wasm` for wasm) in `backend`, prepares every kernel, and allocates the
    /// scratch buffers.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] when the kernels cannot be opened,
    /// [`Error::SymbolNotFound`] / [`Error::SignatureMismatch`] when they are not ffikit's
    /// kernels, [`Error::OutOfMemory`] for the scratch buffers.
    pub fn new(mut backend: B, kernels: Source<'_>, config: ContextConfig) -> Result<Context<B>> {
        let library = backend.open(kernels)?;
        // SAFETY: the symbols are ffikit's kernels, whose C signatures are those of
        // `crate::kernel` and of the type parameters here (checked against the module's
        // export types by the wasm backend).
        let kernels = unsafe {
            Kernels {
                noop: backend.prepare_typed(&library, kernel::NOOP.symbol)?,
                add_u32: backend.prepare_typed(&library, kernel::ADD_U32.symbol)?,
                add_u32_batch: backend.prepare_typed(&library, kernel::ADD_U32_BATCH.symbol)?,
                sum_f64: backend.prepare_typed(&library, kernel::SUM_F64.symbol)?,
                dot_f64: backend.prepare_typed(&library, kernel::DOT_F64.symbol)?,
                axpy_f64: backend.prepare_typed(&library, kernel::AXPY_F64.symbol)?,
            }
        };
        let len = config.capacity_bytes;
        let scratch = [
            backend.alloc_stable_buffer(len, 64)?,
            backend.alloc_stable_buffer(len, 64)?,
            backend.alloc_stable_buffer(len, 64)?,
        ];
        Ok(Context {
            kernels,
            _library: library,
            scratch,
            buffers: Vec::new(),
            poisoned: None,
            trapped: None,
            backend,
        })
    }

    /// The backend, for dynamic calls of other libraries in this context
    /// ([`Backend::open`], [`Backend::prepare`], [`Backend::call`]).
    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The three scratch buffers, each [`ContextConfig::capacity_bytes`] long, allocated at
    /// creation: the `*_buffer` methods take them (filled through
    /// [`StableBuffer::as_mut_slice_of`]) without a copy. The slice methods of a wasm context
    /// copy into them, overwriting what they held.
    pub fn scratch(&self) -> [StableBuffer; 3] {
        self.scratch
    }

    /// The backend's name (`"native"`, `"asm"`, `"wasm"`).
    pub fn name(&self) -> &'static str {
        B::NAME
    }

    /// The host C function of kernel `name` (`"noop"`, `"add_u32"`, `"add_u32_batch"`,
    /// `"sum_f64"`, `"dot_f64"`, `"axpy_f64"`) when the backend runs it as native code
    /// ([`Backend::typed_address`]): calling it through a pointer of the kernel's C type is
    /// what this context's typed method does, minus the context's bookkeeping. `None` for an
    /// unknown name or a backend without host code (wasm). Valid while the context lives.
    pub fn kernel_address(&self, name: &str) -> Option<*const std::ffi::c_void> {
        let k = &self.kernels;
        match name {
            "noop" => B::typed_address(&k.noop),
            "add_u32" => B::typed_address(&k.add_u32),
            "add_u32_batch" => B::typed_address(&k.add_u32_batch),
            "sum_f64" => B::typed_address(&k.sum_f64),
            "dot_f64" => B::typed_address(&k.dot_f64),
            "axpy_f64" => B::typed_address(&k.axpy_f64),
            _ => None,
        }
    }

    /// The owner of the backend's handles ([`Backend::owner`]).
    pub fn owner(&self) -> OwnerId {
        self.backend.owner()
    }

    /// Why the context is poisoned, if it is (see the type's docs).
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// Marks the context poisoned by hand (a caller that detected a broken state itself).
    pub fn poison(&mut self, reason: impl Into<String>) {
        self.poisoned.get_or_insert_with(|| reason.into());
    }

    /// The message of the last wasm trap or deadline of a call on this context, if one
    /// happened (see the type's docs): the context is still usable.
    pub fn trapped(&self) -> Option<&str> {
        self.trapped.as_deref()
    }

    /// Records `e` as the context's last trap when it is one ([`Error::is_trap`]), as the
    /// context's own calls do: for callers that call its backend directly (the functions of
    /// other libraries prepared through [`Context::backend`]).
    pub fn record_trap(&mut self, e: &Error) {
        if e.is_trap() {
            self.trapped = Some(e.to_string());
        }
    }

    /// Allocates a stable buffer of `len` bytes in this context (host memory, or linear
    /// memory for wasm), zeroed and aligned to at least 64 bytes. Fill it through
    /// [`StableBuffer::as_mut_slice_of`] and pass it to the `*_buffer` methods without a copy.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] (for wasm: when the 4 GiB linear memory is exhausted).
    pub fn alloc_buffer(&mut self, len: usize) -> Result<StableBuffer> {
        let buffer = self.backend.alloc_stable_buffer(len, 64)?;
        let id = buffer.id() as usize;
        if self.buffers.len() <= id {
            self.buffers.resize(id + 1, None);
        }
        self.buffers[id] = Some(buffer);
        Ok(buffer)
    }

    /// Frees a buffer of [`Context::alloc_buffer`].
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for a buffer of another context, [`Error::BufferFreed`] for
    /// one already freed.
    pub fn free_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        if self.buffer_kind(&buffer)? == Live::Scratch {
            return Err(Error::ForeignHandle {
                what: format!("scratch buffer {}", buffer.id()),
                kind: "owner (the context itself, which frees it when dropped)",
            });
        }
        self.backend.free_stable_buffer(buffer)?;
        self.buffers[buffer.id() as usize] = None;
        Ok(())
    }

    /// `void noop(void)`: the bare cost of a call through this backend.
    ///
    /// # Errors
    /// [`Error::ContextPoisoned`], or what the backend reports (a wasm trap).
    pub fn noop(&mut self) -> Result<()> {
        self.live()?;
        // SAFETY: `noop` takes nothing and touches nothing.
        let r = unsafe { self.backend.call_typed(&self.kernels.noop, ()) };
        self.track(r)
    }

    /// `a + b`, wrapping, computed by the foreign kernel.
    ///
    /// # Errors
    /// As [`Context::noop`].
    pub fn add_u32(&mut self, a: u32, b: u32) -> Result<u32> {
        self.live()?;
        // SAFETY: `add_u32` takes two integers and no pointers.
        let r = unsafe { self.backend.call_typed(&self.kernels.add_u32, (a, b)) };
        self.track(r)
    }

    /// `out[i] = a[i] + b[i]` (wrapping) for every `i`, in one foreign call.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the three slices differ in length,
    /// [`Error::BufferTooSmall`] when (wasm, copying) a slice exceeds the scratch capacity; as [`Context::noop`].
    pub fn add_u32_batch(&mut self, a: &[u32], b: &[u32], out: &mut [u32]) -> Result<()> {
        self.live()?;
        same_len(a.len(), b.len())?;
        same_len(a.len(), out.len())?;
        let (pa, pb) = (self.place(a, 0)?, self.place(b, 1)?);
        let (po, copy_back) = self.place_out(out, 2)?;
        // SAFETY: each pointer covers `a.len()` u32 (checked above): the host slices
        // themselves, or buffer ranges checked by `place`.
        let r = unsafe {
            self.backend
                .call_typed(&self.kernels.add_u32_batch, (pa, pb, po, a.len()))
        };
        self.track(r)?;
        Self::copy_back(out, copy_back);
        Ok(())
    }

    /// The sum of `x`, computed by the foreign kernel.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when (wasm) `x` must be copied and exceeds the scratch
    /// capacity; as [`Context::noop`].
    pub fn sum_f64(&mut self, x: &[f64]) -> Result<f64> {
        self.live()?;
        let px = self.place(x, 0)?;
        // SAFETY: `px` covers `x.len()` f64.
        let r = unsafe {
            self.backend
                .call_typed(&self.kernels.sum_f64, (px, x.len()))
        };
        self.track(r)
    }

    /// `Σ x[i]·y[i]`, computed by the foreign kernel.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the lengths differ, [`Error::BufferTooSmall`] when a
    /// copy exceeds the scratch capacity; as [`Context::noop`].
    pub fn dot_f64(&mut self, x: &[f64], y: &[f64]) -> Result<f64> {
        self.live()?;
        same_len(x.len(), y.len())?;
        let (px, py) = (self.place(x, 0)?, self.place(y, 1)?);
        // SAFETY: both pointers cover `x.len()` f64.
        let r = unsafe {
            self.backend
                .call_typed(&self.kernels.dot_f64, (px, py, x.len()))
        };
        self.track(r)
    }

    /// `y = a·x + y`, computed by the foreign kernel.
    ///
    /// # Errors
    /// As [`Context::dot_f64`].
    pub fn axpy_f64(&mut self, a: f64, x: &[f64], y: &mut [f64]) -> Result<()> {
        self.live()?;
        same_len(x.len(), y.len())?;
        let px = self.place(x, 0)?;
        let (py, copy_back) = self.place_out(y, 1)?;
        // SAFETY: both pointers cover `x.len()` f64; `py` is writable (the caller's `&mut`
        // slice or a scratch buffer).
        let r = unsafe {
            self.backend
                .call_typed(&self.kernels.axpy_f64, (a, px, py, x.len()))
        };
        self.track(r)?;
        Self::copy_back(y, copy_back);
        Ok(())
    }

    /// The sum of the first `n` f64 of `x`, in place (no copy on any backend).
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] / [`Error::BufferFreed`] for a buffer that is not a live
    /// buffer of this context, [`Error::BufferOutOfBounds`] when `n` f64 run past its end;
    /// as [`Context::noop`].
    pub fn sum_f64_buffer(&mut self, x: &StableBuffer, n: usize) -> Result<f64> {
        self.live()?;
        let px = self.range_f64(x, n)?;
        // SAFETY: `px` is a live buffer of this context holding at least `n` f64.
        let r = unsafe { self.backend.call_typed(&self.kernels.sum_f64, (px, n)) };
        self.track(r)
    }

    /// `Σ x[i]·y[i]` over the first `n` f64 of two buffers, in place.
    ///
    /// # Errors
    /// As [`Context::sum_f64_buffer`].
    pub fn dot_f64_buffer(&mut self, x: &StableBuffer, y: &StableBuffer, n: usize) -> Result<f64> {
        self.live()?;
        let (px, py) = (self.range_f64(x, n)?, self.range_f64(y, n)?);
        // SAFETY: both are live buffers of this context holding at least `n` f64.
        let r = unsafe { self.backend.call_typed(&self.kernels.dot_f64, (px, py, n)) };
        self.track(r)
    }

    /// `y = a·x + y` over the first `n` f64 of two buffers, in place.
    ///
    /// # Errors
    /// As [`Context::sum_f64_buffer`].
    pub fn axpy_f64_buffer(
        &mut self,
        a: f64,
        x: &StableBuffer,
        y: &StableBuffer,
        n: usize,
    ) -> Result<()> {
        self.live()?;
        let (px, py) = (self.range_f64(x, n)?, self.range_f64(y, n)?);
        // SAFETY: both are live buffers of this context holding at least `n` f64.
        let r = unsafe {
            self.backend
                .call_typed(&self.kernels.axpy_f64, (a, px, py, n))
        };
        self.track(r)
    }

    /// `out[i] = a[i] + b[i]` over the first `n` u32 of three buffers, in place.
    ///
    /// # Errors
    /// As [`Context::sum_f64_buffer`].
    pub fn add_u32_batch_buffer(
        &mut self,
        a: &StableBuffer,
        b: &StableBuffer,
        out: &StableBuffer,
        n: usize,
    ) -> Result<()> {
        self.live()?;
        let bytes = n.saturating_mul(4);
        let pa = self.range(a, bytes)?;
        let pb = self.range(b, bytes)?;
        let po = self.range(out, bytes)?;
        // SAFETY: all three are live buffers of this context holding at least `n` u32.
        let r = unsafe {
            self.backend
                .call_typed(&self.kernels.add_u32_batch, (pa, pb, po, n))
        };
        self.track(r)
    }

    fn live(&self) -> Result<()> {
        match &self.poisoned {
            None => Ok(()),
            Some(reason) => Err(Error::ContextPoisoned {
                reason: reason.clone(),
            }),
        }
    }

    /// `r`, after recording a trap when `r` is one. Inline, with
    /// the error's handling out of line: the `Ok` path is one test of the result's tag (an
    /// out-of-line `track` copied the whole `Result` through memory on every call).
    #[inline(always)]
    fn track<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.track_error(e);
        }
        r
    }

    /// [`Context::track`]'s error path.
    #[cold]
    #[inline(never)]
    fn track_error(&mut self, e: &Error) {
        self.record_trap(e);
    }

    /// Whether `buffer` is a live buffer of this context, and which kind.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for another context's buffer, [`Error::BufferFreed`] for a
    /// freed one.
    #[inline]
    fn buffer_kind(&self, buffer: &StableBuffer) -> Result<Live> {
        if buffer.owner() != self.backend.owner() {
            return Err(Error::ForeignBuffer {
                owner: buffer.owner().get(),
                context: self.backend.owner().get(),
            });
        }
        if self.buffers.get(buffer.id() as usize) == Some(&Some(*buffer)) {
            return Ok(Live::User);
        }
        if self.scratch.contains(buffer) {
            return Ok(Live::Scratch);
        }
        Err(Error::BufferFreed {
            buffer: buffer.id(),
        })
    }

    fn range(&self, buffer: &StableBuffer, bytes: usize) -> Result<BufferArg> {
        self.buffer_kind(buffer)?;
        buffer.range(0, bytes)
    }

    fn range_f64(&self, buffer: &StableBuffer, n: usize) -> Result<BufferArg> {
        self.range(buffer, n.saturating_mul(8))
    }

    /// A pointer argument for an input slice: the slice itself for host-pointer backends;
    /// for wasm the slice in place when it lies inside one of this context's buffers, else a
    /// copy in scratch buffer `scratch`.
    fn place<T: Copy>(&mut self, data: &[T], scratch: usize) -> Result<BufferArg> {
        Ok(self
            .locate(data.as_ptr().cast(), size_of_val(data), scratch)?
            .0)
    }

    /// As [`Context::place`] for an output slice; also returns the scratch buffer the result
    /// must be copied back from after the call, when it was copied in.
    fn place_out<T: Copy>(
        &mut self,
        data: &mut [T],
        scratch: usize,
    ) -> Result<(BufferArg, Option<StableBuffer>)> {
        self.locate(data.as_ptr().cast(), size_of_val(data), scratch)
    }

    fn locate(
        &mut self,
        ptr: *const u8,
        bytes: usize,
        scratch: usize,
    ) -> Result<(BufferArg, Option<StableBuffer>)> {
        if B::POINTERS == PointerKind::Host {
            return Ok((BufferArg::host(ptr), None));
        }
        let addr = ptr as usize;
        for b in self.scratch.iter().chain(self.buffers.iter().flatten()) {
            let start = b.host_ptr() as usize;
            if addr >= start && addr + bytes <= start + b.len() {
                return Ok((b.range(addr - start, bytes)?, None));
            }
        }
        let buffer = self.scratch[scratch];
        if bytes > buffer.len() {
            return Err(Error::BufferTooSmall {
                buffer: buffer.id(),
                needed: bytes,
                len: buffer.len(),
            });
        }
        // SAFETY: `ptr` is valid for `bytes` reads (it comes from a slice of that size), the
        // scratch buffer is live and at least `bytes` long, and the slice does not overlap
        // it (checked by the loop above).
        unsafe { std::ptr::copy_nonoverlapping(ptr, buffer.host_ptr(), bytes) };
        Ok((buffer.arg(), Some(buffer)))
    }

    fn copy_back<T: Copy>(out: &mut [T], from: Option<StableBuffer>) {
        if let Some(buffer) = from {
            // SAFETY: the scratch buffer is live and holds `size_of_val(out)` bytes (checked
            // when they were copied in); `out` is a distinct, exclusively borrowed slice.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    buffer.host_ptr(),
                    out.as_mut_ptr().cast::<u8>(),
                    size_of_val(out),
                )
            };
        }
    }
}

fn same_len(a: usize, b: usize) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(Error::LengthMismatch { first: a, other: b })
    }
}
