//! Trampoline pages: where every [`crate::Closure`]'s C function pointer lives.
//!
//! Pages come in pairs, allocated as needed and never limited in number: a **code page** of
//! identical stubs and, right after it, a **data page** with one 16-byte slot per stub (the
//! closure's data pointer and the address of the shared entry). Stub `k` at `code + 16k`
//! loads slot `k` at `code + page + 16k` PC-relatively, so every stub is the same bytes.
//!
//! W^X: a pair is mapped read+write, the stubs are written, the instruction cache is made
//! coherent (AArch64), and the code page is `mprotect`ed to read+execute before any stub is
//! handed out; from then on code is never writable and data is never executable. This is the
//! scheme of libffi's static trampolines (`src/tramp.c`) with the code generated at run time
//! instead of mapped from a file.
//!
//! A dropped closure's slot gets a null data pointer (a call through a stale pointer aborts
//! with a message instead of running freed memory) and goes on a free list that the next
//! closure takes first, so memory follows the peak number of live closures, not the number
//! ever made. Creating and freeing take one process-wide mutex: they are not the hot path;
//! calls never touch it.

use std::ffi::c_void;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use ffi_trait::Error;

/// Bytes of one stub, and of its data slot.
pub(crate) const STUB_BYTES: usize = 16;

/// A stub's data slot, at `stub + page size`.
#[repr(C)]
pub(crate) struct DataSlot {
    /// The closure's data (the first argument of the entry's dispatch); null when free.
    pub(crate) data: AtomicPtr<c_void>,
    /// The shared entry the stub jumps to.
    pub(crate) entry: AtomicUsize,
}

/// One stub handed out: its code address (the C function pointer) and its data slot.
#[derive(Debug)]
pub(crate) struct Stub {
    pub(crate) code: *const c_void,
    slot: *const DataSlot,
}

impl Stub {
    /// The data slot of this stub.
    pub(crate) fn slot(&self) -> &DataSlot {
        // SAFETY: the slot lies in a data page that stays mapped for the life of the process
        // (pages are reused, never unmapped), and is only accessed through atomics.
        unsafe { &*self.slot }
    }
}

/// The pages and the free stubs.
struct Pages {
    /// The code pages mapped so far (each followed by its data page).
    mapped: usize,
    /// Stubs that are free, in LIFO order (the most recently freed first).
    free: Vec<usize>,
}

/// The process-wide trampoline pages.
static PAGES: Mutex<Pages> = Mutex::new(Pages {
    mapped: 0,
    free: Vec::new(),
});

/// The system page size in bytes.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// Takes a free stub (mapping a new pair of pages when none is left) and points it at
/// `data` through `entry`.
///
/// # Errors
/// [`Error::OutOfMemory`] when a new pair of pages cannot be mapped, and
/// [`Error::Backend`] when `mprotect` refuses read+execute (for example under a policy that
/// forbids executable memory from anonymous mappings).
pub(crate) fn take(data: *mut c_void, entry: usize) -> Result<Stub, Error> {
    let mut pages = PAGES.lock().unwrap_or_else(|p| p.into_inner());
    if pages.free.is_empty() {
        let code = map_pair(entry)?;
        let per_page = page_size() / STUB_BYTES;
        // Hand out the lowest addresses first.
        pages
            .free
            .extend((0..per_page).rev().map(|k| code + k * STUB_BYTES));
        pages.mapped += 1;
    }
    let code = pages.free.pop().expect("a page was just mapped");
    let stub = Stub {
        code: code as *const c_void,
        slot: (code + page_size()) as *const DataSlot,
    };
    stub.slot().entry.store(entry, Ordering::Relaxed);
    stub.slot().data.store(data, Ordering::Release);
    Ok(stub)
}

/// Detaches `stub` from its closure (a later call through it aborts with a message) and
/// returns it to the free list.
pub(crate) fn give_back(stub: Stub) {
    stub.slot()
        .data
        .store(std::ptr::null_mut(), Ordering::Release);
    let mut pages = PAGES.lock().unwrap_or_else(|p| p.into_inner());
    pages.free.push(stub.code as usize);
}

/// How many pairs of pages are mapped (for tests of the "flat memory" promise).
pub(crate) fn mapped_pages() -> usize {
    PAGES.lock().unwrap_or_else(|p| p.into_inner()).mapped
}

/// Maps a code page and its data page, fills the code page with stubs and every data slot
/// with `entry`, and makes the code page read+execute. Returns the code page's address.
fn map_pair(entry: usize) -> Result<usize, Error> {
    let page = page_size();
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
    // existing memory.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(Error::OutOfMemory { bytes: 2 * page });
    }
    let code = base.cast::<u8>();
    let stub = crate::arch::stub_bytes(page);
    for k in 0..page / STUB_BYTES {
        // SAFETY: `code + 16k .. + 16` lies in the first (writable) page of the mapping;
        // `code + page + 16k` is the matching slot in the second, 8-aligned.
        unsafe {
            std::ptr::copy_nonoverlapping(stub.as_ptr(), code.add(k * STUB_BYTES), STUB_BYTES);
            let slot = code.add(page + k * STUB_BYTES).cast::<DataSlot>();
            (*slot).entry = AtomicUsize::new(entry);
        }
    }
    crate::arch::flush_icache(code, page);
    // SAFETY: `code` is the start of our own page-aligned mapping of `2 * page` bytes.
    let rc = unsafe { libc::mprotect(base, page, libc::PROT_READ | libc::PROT_EXEC) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        // SAFETY: unmapping the mapping made above, which nothing else has seen.
        unsafe { libc::munmap(base, 2 * page) };
        return Err(Error::Backend {
            backend: "asm",
            message: format!("mprotect(PROT_READ | PROT_EXEC) of a trampoline page failed: {err}"),
        });
    }
    Ok(code as usize)
}
