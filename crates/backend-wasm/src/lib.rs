//! # backend-wasm: kernels in WebAssembly, in a sandbox
//!
//! Runs the kernels, and any user module, inside wasmtime: the backend for code you do not
//! trust. A [`WasmEngine`] holds one wasmtime `Engine` and the modules it compiled (each
//! module is compiled once per engine, however many contexts use it); a [`WasmBackend`] is
//! one context: one long-lived `Store`, the instances opened in it, and its stable buffers.
//!
//! ## Configuration (chosen for speed)
//! - Cranelift at `speed`, SIMD on;
//! - signals-based traps with the default 4 GiB reservation and guard pages, so loads and
//!   stores carry no explicit bounds checks;
//! - `memory_may_move(false)`: linear memory never moves, so the host view of a stable
//!   buffer stays valid for the buffer's life;
//! - epoch interruption only when a deadline is asked for ([`WasmConfig::deadlines`]): it
//!   costs 1.3-1.7x on tight loops, so it is opt-in.
//!
//! ## Buffers
//! [`Backend::alloc_stable_buffer`] takes fixed regions of the *primary* instance's linear
//! memory (the first module opened in the context): fresh pages from `memory.grow`, which a
//! guest allocator never hands out (it only uses pages it grew itself). The guest address is
//! the offset in linear memory; the host view is the memory's base plus that offset. Freed
//! regions are reused by later allocations that fit. Running out of the 4 GiB space is
//! [`Error::OutOfMemory`].
//!
//! ## Calls
//! `ptr` maps to the guest's `i32` offset; `isize`/`usize` to `i32` (wasm32); narrow
//! integers and `bool` to `i32`; `i64`/`u64` to `i64`. Signatures are checked against the
//! export's type at prepare ([`Error::SignatureMismatch`]). Structs by value are not part of
//! the WebAssembly core ABI and are rejected. A call packs arguments into a `ValRaw` array
//! and uses `Func::call_unchecked` (checked once at prepare instead of per call). A buffer
//! argument becomes its guest offset; a raw host pointer is accepted only if it points inside
//! one of the context's buffers, and is translated the same way.
//!
//! ## Host functions
//! A guest can call back into Rust: [`HostFunctions`] declares imports with the same
//! signature grammar (`"f64(ptr, u32)"`), and [`WasmEngine::with_host_functions`] links them
//! for every module of that engine. A handler's error or panic traps the guest
//! ([`Error::Trap`]); see the `host` module.
//!
//! ## Faults
//! A trap becomes [`Error::Trap`] with wasmtime's message, and the context stays usable; a
//! deadline that passes is [`Error::DeadlineExceeded`]; a memory limit per context
//! ([`WasmConfig::memory_limit`]) makes growth past it fail.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

mod buffers;
use buffers::Region;
mod host;

pub use host::{HostCall, HostFunctions};

use ffi_trait::{
    Arg, ArgChecks, ArgKind, ArgsMismatch, Backend, Error, MAX_TYPED_PARAMS, OwnerId, Params,
    PointerKind, Result, ReturnDecode, ReturnType, Signature, Source, StableBuffer, Type, Value,
    backend::{arg_type_error, call_raw_by_args},
    raw::RawReturn,
    typed_signature,
};
use wasmtime::{
    Config, Engine, Func, Instance, InstancePre, Linker, Memory, Module, OptLevel, Store,
    StoreLimits, StoreLimitsBuilder, Trap, ValRaw, ValType,
};

/// The size of a WebAssembly page in bytes.
pub const PAGE: u64 = 65536;

/// The most arguments a wasm call takes here (and the size of the `ValRaw` scratch).
pub const MAX_ARGS: usize = 32;

/// Engine-wide options.
#[derive(Clone, Copy, Debug, Default)]
pub struct WasmConfig {
    /// Compile with epoch interruption so calls can have deadlines
    /// ([`WasmBackend::set_deadline`]). Costs 1.3-1.7x on tight loops; off by default.
    pub deadlines: bool,
    /// The most linear memory one context may use, in bytes (`None`: the 4 GiB space).
    pub memory_limit: Option<usize>,
}

struct EngineInner {
    engine: Engine,
    config: WasmConfig,
    /// The host functions guests may import (empty unless made with
    /// [`WasmEngine::with_host_functions`]).
    linker: Linker<StoreData>,
    /// Compiled modules and their pre-resolved instantiations, by content hash.
    modules: Mutex<HashMap<u64, (Module, InstancePre<StoreData>)>>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// One wasmtime `Engine` and the modules it compiled, shared (cheaply cloned) by every
/// context made from it.
///
/// # Thread-safety
/// `Send + Sync`: contexts on many threads share one engine.
#[derive(Clone)]
pub struct WasmEngine(Arc<EngineInner>);

impl std::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEngine")
            .field("config", &self.0.config)
            .finish()
    }
}

/// The epoch tick: how often the deadline clock advances.
const TICK: Duration = Duration::from_millis(1);

impl WasmEngine {
    /// A new engine with `config`.
    ///
    /// # Errors
    /// [`Error::Backend`] when wasmtime rejects the configuration on this machine.
    pub fn new(config: WasmConfig) -> Result<WasmEngine> {
        WasmEngine::with_host_functions(config, &HostFunctions::new())
    }

    /// A new engine with `config` whose modules may import the functions of `host` (see
    /// [`HostFunctions`]). Modules are instantiated against them in every context of the
    /// engine; a module importing anything else fails to open.
    ///
    /// # Errors
    /// As [`WasmEngine::new`]; [`Error::Backend`] when wasmtime rejects a definition.
    pub fn with_host_functions(config: WasmConfig, host: &HostFunctions) -> Result<WasmEngine> {
        let mut c = Config::new();
        c.cranelift_opt_level(OptLevel::Speed)
            .wasm_simd(true)
            .signals_based_traps(true)
            .memory_reservation(1 << 32)
            .memory_guard_size(1 << 31)
            .memory_may_move(false)
            .epoch_interruption(config.deadlines);
        let engine =
            Engine::new(&c).map_err(|e| backend_error(format!("creating the engine: {e}")))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        if config.deadlines {
            let (engine, stop) = (engine.clone(), ticker_stop.clone());
            std::thread::Builder::new()
                .name("ffikit-wasm-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| backend_error(format!("starting the deadline clock: {e}")))?;
        }
        let mut linker = Linker::new(&engine);
        host.install(&engine, &mut linker)?;
        Ok(WasmEngine(Arc::new(EngineInner {
            engine,
            config,
            linker,
            modules: Mutex::new(HashMap::new()),
            ticker_stop,
        })))
    }

    /// The process-wide default engine (no deadlines, no memory limit).
    ///
    /// # Errors
    /// As [`WasmEngine::new`].
    pub fn default_engine() -> Result<WasmEngine> {
        static DEFAULT: OnceLock<std::result::Result<WasmEngine, String>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| WasmEngine::new(WasmConfig::default()).map_err(|e| e.to_string()))
            .clone()
            .map_err(backend_error)
    }

    /// The underlying wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// The module compiled from `bytes` (binary or `.wat` text), compiled on first use and
    /// cached by content.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] naming `what` with wasmtime's validation message, or its
    /// unresolvable imports.
    pub fn module(&self, bytes: &[u8], what: &str) -> Result<Module> {
        Ok(self.prepared(bytes, what)?.0)
    }

    /// The module and its `InstancePre` (imports resolved once, so each context only
    /// instantiates), compiled on first use and cached by content.
    fn prepared(&self, bytes: &[u8], what: &str) -> Result<(Module, InstancePre<StoreData>)> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        let key = h.finish();
        if let Some(m) = self.0.modules.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(m.clone());
        }
        let not_loadable = |reason: String| Error::LibraryNotFound {
            library: what.to_owned(),
            reason,
        };
        let module = Module::new(&self.0.engine, bytes)
            .map_err(|e| not_loadable(format!("not a valid WebAssembly module: {e:#}")))?;
        let pre = self
            .0
            .linker
            .instantiate_pre(&module)
            .map_err(|e| not_loadable(format!("its imports cannot be satisfied: {e:#}")))?;
        self.0
            .modules
            .lock()
            .map_err(|_| poisoned())?
            .insert(key, (module.clone(), pre.clone()));
        Ok((module, pre))
    }
}

fn poisoned() -> Error {
    backend_error("the module cache lock is poisoned (a thread panicked while compiling)")
}

fn backend_error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "wasm",
        message: message.into(),
    }
}

/// What a store carries: the memory limiter.
struct StoreData {
    limits: StoreLimits,
}

/// The wasm backend: one context — one `Store`, its instances and its buffers.
///
/// # Thread-safety
/// `Send`, not `Sync`: a context is used by one thread at a time.
pub struct WasmBackend {
    engine: WasmEngine,
    store: Store<StoreData>,
    owner: OwnerId,
    /// The primary instance's memory, where buffers live.
    memory: Option<Memory>,
    /// Live buffers by id (`None`: freed).
    buffers: Vec<Option<Region>>,
    /// Freed regions, reused first-fit.
    free: Vec<Region>,
    /// The bump region still unused: `[bump, bump_end)`.
    bump: u64,
    bump_end: u64,
    /// Argument and result slots for dynamic calls.
    scratch: Vec<ValRaw>,
    deadline_ms: Option<u64>,
    /// The engine was made with epoch interruption (cached from its config).
    epochs: bool,
}

impl std::fmt::Debug for WasmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmBackend")
            .field("owner", &self.owner)
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

impl WasmBackend {
    /// A context on the process-wide default engine.
    ///
    /// # Errors
    /// As [`WasmEngine::default_engine`].
    pub fn new() -> Result<WasmBackend> {
        Ok(WasmBackend::with_engine(&WasmEngine::default_engine()?))
    }

    /// A context on `engine` (sharing its compiled modules).
    pub fn with_engine(engine: &WasmEngine) -> WasmBackend {
        let mut limits = StoreLimitsBuilder::new();
        if let Some(bytes) = engine.0.config.memory_limit {
            limits = limits.memory_size(bytes);
        }
        let mut store = Store::new(
            &engine.0.engine,
            StoreData {
                limits: limits.build(),
            },
        );
        store.limiter(|d| &mut d.limits);
        if engine.0.config.deadlines {
            // No deadline until one is set: the epoch check never fires.
            store.set_epoch_deadline(u64::MAX / 2);
            store.epoch_deadline_trap();
        }
        WasmBackend {
            engine: engine.clone(),
            store,
            owner: OwnerId::fresh(),
            memory: None,
            buffers: Vec::new(),
            free: Vec::new(),
            bump: 0,
            bump_end: 0,
            scratch: vec![ValRaw::i64(0); MAX_ARGS],
            deadline_ms: None,
            epochs: engine.0.config.deadlines,
        }
    }

    /// Sets the deadline of every later call, in milliseconds (`None`: no deadline). A call
    /// still running when it passes is stopped with [`Error::DeadlineExceeded`].
    ///
    /// # Errors
    /// [`Error::Backend`] when the engine was made without [`WasmConfig::deadlines`].
    pub fn set_deadline(&mut self, ms: Option<u64>) -> Result<()> {
        if ms.is_some() && !self.engine.0.config.deadlines {
            return Err(backend_error(
                "deadlines need an engine made with WasmConfig { deadlines: true, .. }",
            ));
        }
        self.deadline_ms = ms;
        Ok(())
    }

    /// The engine this context runs on.
    pub fn engine(&self) -> &WasmEngine {
        &self.engine
    }

    /// The host address of guest offset `offset` in the buffer memory, if one exists.
    fn host_base(&self) -> Option<*mut u8> {
        self.memory.map(|m| m.data_ptr(&self.store))
    }

    /// True when `lib`'s exported memory is the one this context's buffers live in (or no
    /// buffer memory is chosen yet).
    fn holds_buffers(&mut self, lib: &WasmLibrary) -> bool {
        let Some(buffers) = self.memory else {
            return true;
        };
        let base = buffers.data_ptr(&self.store);
        lib.instance
            .get_memory(&mut self.store, "memory")
            .is_some_and(|m| m.data_ptr(&self.store) == base)
    }

    /// Translates a host pointer inside one of this context's buffers to its guest offset.
    fn guest_of_host(&self, p: u64) -> Option<u64> {
        let base = self.host_base()? as u64;
        let off = p.checked_sub(base)?;
        self.buffers
            .iter()
            .flatten()
            .any(|r| off >= r.offset && off <= r.offset + r.len)
            .then_some(off)
    }

    /// The `ValRaw` of pointer argument `index` of `f`: a buffer of this context becomes its
    /// guest offset, a raw host pointer too when it lies inside one of the buffers.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for another context's buffer, [`Error::PointerOutsideBuffers`]
    /// for a pointer outside them.
    fn lower_pointer(&self, f: &WasmFunction, index: usize, arg: &Arg<'_>) -> Result<ValRaw> {
        let bits = arg.bits();
        if arg.kind() != ArgKind::Buffer {
            return self.guest_pointer(f, index, bits);
        }
        if arg.owner() != Some(self.owner.get()) {
            return Err(Error::ForeignBuffer {
                owner: arg.owner().unwrap_or(0),
                context: self.owner.get(),
            });
        }
        // One of this context's buffers: its host address lies in the linear memory the
        // buffers were carved from (which never moves), so the guest offset is the distance
        // from the memory's base.
        let base = self.host_base().map_or(0, |b| b as u64);
        Ok(ValRaw::i32(bits.wrapping_sub(base) as i32))
    }

    /// The `ValRaw` of raw host pointer `bits`, argument `index` of `f`: its guest offset.
    ///
    /// # Errors
    /// [`Error::PointerOutsideBuffers`] when it lies outside this context's buffers.
    fn guest_pointer(&self, f: &WasmFunction, index: usize, bits: u64) -> Result<ValRaw> {
        match self.guest_of_host(bits) {
            Some(off) => Ok(ValRaw::i32(off as i32)),
            None => Err(Error::PointerOutsideBuffers {
                function: f.symbol.to_string(),
                index,
                pointer: bits as usize,
            }),
        }
    }

    /// Calls `f` with its arguments in `scratch[..params]` and returns the register image of
    /// its result (0 for none).
    ///
    /// # Errors
    /// [`Error::Trap`] or [`Error::DeadlineExceeded`] when the guest traps.
    #[inline(always)]
    fn invoke(&mut self, f: &WasmFunction) -> Result<u64> {
        self.arm_deadline();
        let n = f.masks.len().max(usize::from(f.raise != Raise::Void));
        let slots: *mut [ValRaw] = &mut self.scratch[..n];
        // SAFETY: `resolve` checked the export's type against the signature at prepare; the
        // slots hold one value of the right type per parameter and room for the result; the
        // function belongs to this store (both callers checked the owner).
        let r = unsafe { f.func.call_unchecked(&mut self.store, slots) };
        if let Err(e) = r {
            return Err(self.trap_error(&f.symbol, e));
        }
        Ok(f.raise.image(self.scratch[0]))
    }

    fn trap_error(&self, function: &str, e: wasmtime::Error) -> Error {
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Error::DeadlineExceeded {
                function: function.to_owned(),
                deadline_ms: self.deadline_ms.unwrap_or(0),
            },
            _ => Error::Trap {
                function: function.to_owned(),
                message: format!("{e:#}"),
            },
        }
    }

    #[inline(always)]
    fn arm_deadline(&mut self) {
        if self.epochs {
            let ticks = match self.deadline_ms {
                Some(ms) => ms.max(1) * (1_000 / TICK.as_millis().max(1) as u64) / 1_000 + 1,
                None => u64::MAX / 2,
            };
            self.store.set_epoch_deadline(ticks);
        }
    }
}

/// An instantiated module.
#[derive(Clone, Debug)]
pub struct WasmLibrary {
    instance: Instance,
    owner: OwnerId,
    name: Arc<str>,
}

/// How one parameter becomes a `ValRaw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lower {
    I32,
    I64,
    F32,
    F64,
    Ptr,
}

/// How the result `ValRaw` becomes the 64-bit register image of the return type: compiled
/// code writes only the result's own width, so an `i32` is read as 32 bits and extended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raise {
    /// No result.
    Void,
    /// `i32`, zero-extended (every 32-bit type but `isize`; the decoding ignores the upper
    /// bits of the narrower ones).
    I32,
    /// `i32` sign-extended: `isize`, 32 bits in the guest.
    Isize,
    /// `i64`.
    I64,
    /// `f32` bits in the low 32.
    F32,
    /// `f64` bits.
    F64,
}

impl Raise {
    #[inline(always)]
    fn of(ty: &Type) -> Raise {
        match ty {
            Type::Void => Raise::Void,
            Type::I64 | Type::U64 => Raise::I64,
            Type::F32 => Raise::F32,
            Type::F64 => Raise::F64,
            Type::Isize => Raise::Isize,
            _ => Raise::I32,
        }
    }

    /// The register image of `raw`.
    #[inline(always)]
    fn image(self, raw: ValRaw) -> u64 {
        match self {
            Raise::Void => 0,
            Raise::I32 => raw.get_i32() as u32 as u64,
            Raise::Isize => raw.get_i32() as i64 as u64,
            Raise::I64 => raw.get_i64() as u64,
            Raise::F32 => raw.get_f32() as u64,
            Raise::F64 => raw.get_f64(),
        }
    }
}

/// A function prepared for dynamic calls.
#[derive(Debug)]
pub struct WasmFunction {
    func: Func,
    owner: OwnerId,
    /// One check per parameter (a `ptr` takes a pointer or a buffer), with the count and
    /// kinds packed into one word (one comparison per call where they are constants).
    checks: ArgChecks,
    /// Per parameter, the bits of its 64-bit register image that its `ValRaw` keeps
    /// ([`Lower::mask`]), or 0 for a pointer, which the backend translates: one AND per
    /// scalar argument instead of a jump on its type.
    masks: Box<[u64]>,
    /// How each parameter is read from a raw argument pointer ([`Backend::call_raw`]).
    raw: Box<[ArgKind]>,
    /// How the result becomes a register image, and that image a [`Value`] or the bytes of a
    /// raw call's return slot.
    raise: Raise,
    ret_decode: ReturnDecode,
    raw_ret: RawReturn,
    signature: Signature,
    symbol: Box<str>,
}

/// A function prepared for typed calls `R(P...)`.
#[derive(Debug)]
pub struct WasmTyped<P, R> {
    func: Func,
    owner: OwnerId,
    /// Per parameter, the bits of its 64-bit register image that its `ValRaw` keeps
    /// (from `P::types()`, at prepare): the low 32 for `i32` and `f32` (zero-extended, as
    /// wasmtime's `ValRaw::i32` / `ValRaw::f32` build them), all 64 for `i64` and `f64`. One
    /// AND per argument instead of a branch on its kind.
    masks: [u64; MAX_TYPED_PARAMS],
    has_result: bool,
    symbol: Box<str>,
    _sig: PhantomData<fn(P) -> R>,
}

/// The wasm value type a grammar type maps to, or `None` for structs.
fn wasm_type(ty: &Type) -> Option<ValType> {
    Some(match ty {
        Type::Bool | Type::I8 | Type::U8 | Type::I16 | Type::U16 | Type::I32 | Type::U32 => {
            ValType::I32
        }
        Type::Isize | Type::Usize | Type::Ptr => ValType::I32,
        Type::I64 | Type::U64 => ValType::I64,
        Type::F32 => ValType::F32,
        Type::F64 => ValType::F64,
        Type::Void | Type::Struct(_) => return None,
    })
}

impl Lower {
    /// The bits of a 64-bit register image that the `ValRaw` of this type keeps: the low
    /// 32 for `i32` and `f32` (zero-extended, as wasmtime's `ValRaw::i32` / `ValRaw::f32`
    /// build them), all 64 for `i64` and `f64`; 0 for `Ptr`, which only the backend can
    /// lower (a buffer or host pointer becomes a guest offset: `WasmBackend::lower_pointer`).
    fn mask(self) -> u64 {
        match self {
            Lower::I64 | Lower::F64 => u64::MAX,
            Lower::I32 | Lower::F32 => u64::from(u32::MAX),
            Lower::Ptr => 0,
        }
    }
}

fn lower_of(ty: &Type) -> Lower {
    match ty {
        Type::Ptr => Lower::Ptr,
        Type::I64 | Type::U64 => Lower::I64,
        Type::F32 => Lower::F32,
        Type::F64 => Lower::F64,
        _ => Lower::I32,
    }
}

#[cold]
#[inline(never)]
fn foreign_function(f: &WasmFunction) -> Error {
    Error::ForeignHandle {
        what: format!("function `{}`", f.symbol),
        kind: "context",
    }
}

#[cold]
#[inline(never)]
fn count_error(f: &WasmFunction, got: usize) -> Error {
    Error::ArgumentCount {
        function: f.symbol.to_string(),
        expected: f.checks.len(),
        got,
    }
}

fn val_text(t: &ValType) -> String {
    match t {
        ValType::I32 => "i32".into(),
        ValType::I64 => "i64".into(),
        ValType::F32 => "f32".into(),
        ValType::F64 => "f64".into(),
        other => format!("{other}"),
    }
}

impl WasmBackend {
    /// Resolves `symbol` and checks it against `sig`.
    fn resolve(&mut self, lib: &WasmLibrary, symbol: &str, sig: &Signature) -> Result<Func> {
        if lib.owner != self.owner {
            return Err(Error::ForeignHandle {
                what: format!("module `{}`", lib.name),
                kind: "context",
            });
        }
        let unsupported = |reason: &str| Error::UnsupportedSignature {
            backend: "wasm",
            signature: sig.to_string(),
            reason: reason.to_owned(),
        };
        if sig.is_variadic() {
            return Err(unsupported("WebAssembly functions are not variadic"));
        }
        if sig.args().len() > MAX_ARGS {
            return Err(unsupported("more than 32 arguments"));
        }
        if sig.args().contains(&Type::Ptr) && !self.holds_buffers(lib) {
            return Err(unsupported(&format!(
                "pointer arguments are offsets into the memory that holds this context's \
                 buffers, which is the first module's; module `{}` is another instance with \
                 its own memory (open it in a context of its own)",
                lib.name
            )));
        }
        let want_params: Vec<ValType> = sig
            .args()
            .iter()
            .map(|t| {
                wasm_type(t).ok_or_else(|| {
                    unsupported(
                        "structs by value are not part of the WebAssembly core ABI; pass a pointer",
                    )
                })
            })
            .collect::<Result<_>>()?;
        let want_result: Option<ValType> = match sig.ret() {
            Type::Void => None,
            t => Some(wasm_type(t).ok_or_else(|| {
                unsupported("struct returns are not part of the WebAssembly core ABI")
            })?),
        };
        let func = lib
            .instance
            .get_func(&mut self.store, symbol)
            .ok_or_else(|| Error::SymbolNotFound {
                symbol: symbol.to_owned(),
                library: lib.name.to_string(),
                reason: "no exported function of that name".to_owned(),
            })?;
        let ty = func.ty(&self.store);
        let params: Vec<ValType> = ty.params().collect();
        let results: Vec<ValType> = ty.results().collect();
        let same = params.len() == want_params.len()
            && params
                .iter()
                .zip(&want_params)
                .all(|(a, b)| ValType::eq(a, b))
            && results.len() == want_result.iter().count()
            && results
                .iter()
                .zip(want_result.iter())
                .all(|(a, b)| ValType::eq(a, b));
        if !same {
            let text = |v: &[ValType]| v.iter().map(val_text).collect::<Vec<_>>().join(", ");
            return Err(Error::SignatureMismatch {
                symbol: symbol.to_owned(),
                signature: sig.to_string(),
                actual: format!("({}) -> ({})", text(&params), text(&results)),
            });
        }
        Ok(func)
    }
}

impl Backend for WasmBackend {
    const NAME: &'static str = "wasm";
    const POINTERS: PointerKind = PointerKind::Guest;
    type Library = WasmLibrary;
    type Function = WasmFunction;
    type Typed<P: Params, R: ReturnType> = WasmTyped<P, R>;

    fn owner(&self) -> OwnerId {
        self.owner
    }

    fn open(&mut self, source: Source<'_>) -> Result<WasmLibrary> {
        let what = source.describe();
        let owned;
        let bytes: &[u8] = match source {
            Source::Bytes(b) => b,
            Source::Path(p) => {
                owned = std::fs::read(p).map_err(|e| Error::LibraryNotFound {
                    library: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                &owned
            }
        };
        let (_, pre) = self.engine.prepared(bytes, &what)?;
        let instance = pre
            .instantiate(&mut self.store)
            .map_err(|e| Error::LibraryNotFound {
                library: what.clone(),
                reason: format!("instantiation failed: {e:#}"),
            })?;
        if self.memory.is_none() {
            self.memory = instance.get_memory(&mut self.store, "memory");
        }
        Ok(WasmLibrary {
            instance,
            owner: self.owner,
            name: what.into(),
        })
    }

    unsafe fn prepare(
        &mut self,
        lib: &WasmLibrary,
        symbol: &str,
        sig: &Signature,
    ) -> Result<WasmFunction> {
        let func = self.resolve(lib, symbol, sig)?;
        // `resolve` accepts scalar parameters only, each with its check and raw load.
        let args = sig.args();
        Ok(WasmFunction {
            func,
            owner: self.owner,
            checks: ArgChecks::of_signature(sig),
            masks: args.iter().map(|t| lower_of(t).mask()).collect(),
            raw: args.iter().filter_map(ArgKind::of).collect(),
            raise: Raise::of(sig.ret()),
            ret_decode: ReturnDecode::of(sig.ret()),
            raw_ret: RawReturn::of(sig.ret()),
            signature: sig.clone(),
            symbol: symbol.into(),
        })
    }

    fn signature_of(f: &WasmFunction) -> &Signature {
        &f.signature
    }

    #[inline]
    unsafe fn call(
        &mut self,
        f: &WasmFunction,
        args: &[Arg<'_>],
        _ret: &mut [u8],
    ) -> Result<Value> {
        if f.owner != self.owner {
            return Err(foreign_function(f));
        }
        // One comparison of the packed argument count and kinds (no branch per argument).
        if let Err(m) = f.checks.check(args) {
            return Err(match m {
                ArgsMismatch::Count => count_error(f, args.len()),
                ArgsMismatch::Arg(i) => {
                    arg_type_error(&f.symbol, i, &f.signature.args()[i], &args[i])
                }
            });
        }
        for (i, (arg, &mask)) in args.iter().zip(f.masks.iter()).enumerate() {
            let v = if mask == 0 {
                self.lower_pointer(f, i, arg)?
            } else {
                ValRaw::u64(arg.bits() & mask)
            };
            // SAFETY: `i < args.len() == f.masks.len() <= MAX_ARGS`, the scratch's length
            // (`resolve` rejects longer signatures).
            unsafe { *self.scratch.get_unchecked_mut(i) = v };
        }
        let bits = self.invoke(f)?;
        Ok(f.ret_decode.value(bits))
    }

    /// The libffi-style call: each argument is read from its pointer with the load prepared
    /// for its type ([`ArgKind::raw_image`]) straight into its `ValRaw` (a pointer argument
    /// is a host address inside one of this context's buffers, as for [`Arg::ptr`]); no
    /// [`Arg`] is built and no kind is checked that the signature already fixes.
    unsafe fn call_raw(
        &mut self,
        f: &WasmFunction,
        args: *const *const std::ffi::c_void,
        nargs: usize,
        ret: *mut std::ffi::c_void,
    ) -> Result<()> {
        if f.owner != self.owner || nargs != f.raw.len() || (nargs > 0 && args.is_null()) {
            // SAFETY: forwarded; it reports the error.
            return unsafe { call_raw_by_args(self, f, args, nargs, ret) };
        }
        for (k, (kind, &mask)) in f.raw.iter().zip(f.masks.iter()).enumerate() {
            // SAFETY: `k < nargs`; the caller guarantees `args[k]` is valid for a read of
            // parameter `k`'s type.
            let bits = unsafe { kind.raw_image(*args.add(k)) };
            let v = if mask == 0 {
                self.guest_pointer(f, k, bits)?
            } else {
                ValRaw::u64(bits & mask)
            };
            // SAFETY: `k < nargs == f.masks.len() <= MAX_ARGS`, the scratch's length.
            unsafe { *self.scratch.get_unchecked_mut(k) = v };
        }
        let bits = self.invoke(f)?;
        // SAFETY: `ret` is null or valid for 8 bytes (the caller's contract).
        unsafe { f.raw_ret.write(bits, ret) };
        Ok(())
    }

    unsafe fn prepare_typed<P: Params, R: ReturnType>(
        &mut self,
        lib: &WasmLibrary,
        symbol: &str,
    ) -> Result<WasmTyped<P, R>> {
        let sig = typed_signature::<P, R>()?;
        if P::HOST_POINTERS {
            return Err(Error::UnsupportedSignature {
                backend: "wasm",
                signature: sig.to_string(),
                reason:
                    "raw host pointers cannot be passed to a WebAssembly guest; pass a BufferArg"
                        .into(),
            });
        }
        let func = self.resolve(lib, symbol, &sig)?;
        let mut masks = [0u64; MAX_TYPED_PARAMS];
        for (m, t) in masks.iter_mut().zip(sig.args()) {
            // (A typed pointer argument arrives as its guest offset, an `i32`.)
            *m = match lower_of(t) {
                Lower::Ptr => Lower::I32.mask(),
                scalar => scalar.mask(),
            };
        }
        Ok(WasmTyped {
            func,
            owner: self.owner,
            masks,
            has_result: R::KIND.is_some(),
            symbol: symbol.into(),
            _sig: PhantomData,
        })
    }

    #[inline(always)]
    unsafe fn call_typed<P: Params, R: ReturnType>(
        &mut self,
        f: &WasmTyped<P, R>,
        args: P,
    ) -> Result<R> {
        if f.owner != self.owner {
            return Err(Error::ForeignHandle {
                what: format!("function `{}`", f.symbol),
                kind: "context",
            });
        }
        let mut bits = [0u64; MAX_TYPED_PARAMS];
        args.lower(PointerKind::Guest, self.owner, &mut bits)?;
        // Only the slots the call uses are written (a zeroed slot array cost one 16-byte
        // store per slot per call). One slot past the parameters holds a result.
        let mut slots = MaybeUninit::<[ValRaw; MAX_TYPED_PARAMS + 1]>::uninit();
        let base = slots.as_mut_ptr().cast::<ValRaw>();
        // An index loop over the constant count: the compiler unrolls it into one load, AND
        // and store per parameter (a zip/take/enumerate chain here stayed a loop with its
        // iterator state in memory, ~20 instructions per parameter).
        #[allow(clippy::needless_range_loop)]
        for i in 0..P::COUNT {
            // SAFETY: i < P::COUNT <= MAX_TYPED_PARAMS, the slots' count less one.
            unsafe { base.add(i).write(ValRaw::u64(bits[i] & f.masks[i])) };
        }
        if P::COUNT == 0 {
            // Slot 0 is read back below (and holds the result, when there is one).
            // SAFETY: slot 0 exists.
            unsafe { base.write(ValRaw::u64(0)) };
        }
        self.arm_deadline();
        let n = P::COUNT.max(f.has_result as usize);
        let slots_ptr: *mut [ValRaw] = std::ptr::slice_from_raw_parts_mut(base, n);
        // SAFETY: the export's type was checked against `R(P...)` at prepare; the first `n`
        // slots are initialised, one per parameter of the right type, with room for the
        // result.
        if let Err(e) = unsafe { f.func.call_unchecked(&mut self.store, slots_ptr) } {
            return Err(self.trap_error(&f.symbol, e));
        }
        // SAFETY: slot 0 was initialised above (a parameter, or zero) and, for a function
        // with a result, the call wrote it there.
        let raw = unsafe { base.read() };
        // (`R::ty()` is a constant: the `Raise` folds to one read.)
        Ok(R::from_bits(Raise::of(&R::ty()).image(raw)))
    }

    fn alloc_stable_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer> {
        self.alloc_buffer(len, align)
    }

    fn free_stable_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        self.free_buffer(buffer)
    }
}
