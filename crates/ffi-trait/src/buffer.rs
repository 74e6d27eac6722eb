//! Stable buffers: memory allocated once, whose address never changes while it lives, which
//! foreign code reads and writes in place.
//!
//! A [`StableBuffer`] is a small `Copy` descriptor: the host address (where Rust, C or Go
//! fill the data), the guest address (what the foreign code sees: the same host address for
//! native code, an offset into linear memory for WebAssembly), the length, and the identity
//! of the backend instance that owns the memory. The memory itself belongs to that backend
//! instance and is freed by it; [`HostBuffers`] is the owner that host-memory backends share.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Error;

/// The least alignment of every stable buffer, in bytes: one cache line on x86-64 and on
/// the AArch64 cores ffikit targets, and enough for any SIMD load (AVX-512 is 64 bytes).
pub const MIN_BUFFER_ALIGN: usize = 64;

/// Identity of one backend instance (one context): buffers and prepared functions carry it so
/// that a handle used with the wrong instance is an error, not a wrong address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OwnerId(u32);

impl OwnerId {
    /// The owner of plain host memory that no backend allocated (see [`BufferArg::host`]):
    /// never returned by [`OwnerId::fresh`], so such an argument is rejected by every backend
    /// whose pointers are guest addresses.
    pub const HOST: OwnerId = OwnerId(0);

    /// A fresh identity, not returned before in this process: a 32-bit counter over
    /// `1 ..= u32::MAX - 1` (0 is [`OwnerId::HOST`]; `u32::MAX` marks a raw pointer in an
    /// [`Arg`](crate::Arg)'s header), so identities repeat only after 2^32 − 2 contexts.
    pub fn fresh() -> OwnerId {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let next = |n: u32| Some(if n >= u32::MAX - 1 { 1 } else { n + 1 });
        // `fetch_update` cannot fail: the closure always returns `Some`.
        let id = NEXT
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, next)
            .unwrap_or(1);
        OwnerId(id)
    }

    /// The raw number, for messages.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A buffer allocated by [`Backend::alloc_stable_buffer`](crate::Backend::alloc_stable_buffer).
///
/// It describes memory owned by one backend instance: the host view starts at
/// [`host_ptr`](StableBuffer::host_ptr) and is [`len`](StableBuffer::len) bytes long, aligned
/// to at least [`MIN_BUFFER_ALIGN`]; foreign code sees the same bytes at
/// [`guest_addr`](StableBuffer::guest_addr). Both stay valid until the buffer is freed or the
/// backend instance is dropped.
///
/// # Thread-safety
/// The descriptor is `Copy`; it is not `Send` because the memory belongs to one backend
/// instance, which lives on one thread at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StableBuffer {
    host: NonNull<u8>,
    len: usize,
    guest: u64,
    owner: OwnerId,
    id: u32,
}

impl StableBuffer {
    /// Assembles a descriptor. Backends call this; users receive buffers from
    /// [`Backend::alloc_stable_buffer`](crate::Backend::alloc_stable_buffer).
    ///
    /// # Safety
    /// `host` must be valid for reads and writes of `len` bytes, aligned to
    /// [`MIN_BUFFER_ALIGN`], for as long as `owner` keeps buffer `id` alive, and `guest` must
    /// be the address at which the owner's foreign code sees the same bytes.
    pub unsafe fn from_raw_parts(
        host: NonNull<u8>,
        len: usize,
        guest: u64,
        owner: OwnerId,
        id: u32,
    ) -> StableBuffer {
        StableBuffer {
            host,
            len,
            guest,
            owner,
            id,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The host address of the first byte; aligned to at least [`MIN_BUFFER_ALIGN`].
    pub fn host_ptr(&self) -> *mut u8 {
        self.host.as_ptr()
    }

    /// The address foreign code uses for the first byte: the host address for native code,
    /// the linear-memory offset for WebAssembly.
    pub fn guest_addr(&self) -> u64 {
        self.guest
    }

    /// The backend instance that owns the memory.
    pub fn owner(&self) -> OwnerId {
        self.owner
    }

    /// The owner's number for this buffer (unique among its live buffers).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// An argument that points at byte `offset` of this buffer.
    ///
    /// # Errors
    /// [`Error::BufferOutOfBounds`] when `offset > len` (an offset equal to `len` is the
    /// one-past-the-end pointer, which C allows).
    pub fn at(&self, offset: usize) -> Result<BufferArg, Error> {
        self.range(offset, 0)
    }

    /// An argument that points at byte `offset`, checked to have `bytes` bytes after it.
    ///
    /// # Errors
    /// [`Error::BufferOutOfBounds`] when `offset + bytes > len`.
    pub fn range(&self, offset: usize, bytes: usize) -> Result<BufferArg, Error> {
        match offset.checked_add(bytes) {
            Some(end) if end <= self.len => Ok(BufferArg {
                // SAFETY: offset <= len, so the address is within (or one past) the
                // allocation and non-null.
                host: unsafe { self.host.add(offset) },
                guest: self.guest + offset as u64,
                owner: self.owner,
            }),
            _ => Err(Error::BufferOutOfBounds {
                buffer: self.id,
                offset,
                bytes,
                len: self.len,
            }),
        }
    }

    /// An argument that points at the first byte.
    pub fn arg(&self) -> BufferArg {
        BufferArg {
            host: self.host,
            guest: self.guest,
            owner: self.owner,
        }
    }

    /// The host view as bytes.
    ///
    /// # Safety
    /// The buffer must still be alive (not freed, its backend not dropped), and no mutable
    /// view of it, and no foreign call that writes it, may overlap the returned borrow.
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        // SAFETY: the caller guarantees the buffer is alive and unaliased by writers; the
        // constructor's contract makes `host` valid for `len` bytes.
        unsafe { std::slice::from_raw_parts(self.host.as_ptr(), self.len) }
    }

    /// The host view as mutable bytes, for filling in place (zero copy).
    ///
    /// # Safety
    /// The buffer must still be alive, and no other view of it may overlap the returned
    /// borrow.
    pub unsafe fn as_mut_slice<'a>(&self) -> &'a mut [u8] {
        // SAFETY: as for `as_slice`, with exclusivity guaranteed by the caller.
        unsafe { std::slice::from_raw_parts_mut(self.host.as_ptr(), self.len) }
    }

    /// The host view as `len / size_of::<T>()` values of `T` (`f64`, `u32`, ...).
    ///
    /// # Safety
    /// As for [`as_mut_slice`](StableBuffer::as_mut_slice); every bit pattern must be a valid
    /// `T` (true of the integer and float types), and `align_of::<T>()` must not exceed
    /// [`MIN_BUFFER_ALIGN`].
    pub unsafe fn as_mut_slice_of<'a, T: Copy>(&self) -> &'a mut [T] {
        debug_assert!(std::mem::align_of::<T>() <= MIN_BUFFER_ALIGN);
        // SAFETY: `host` is aligned to MIN_BUFFER_ALIGN >= align_of::<T>(), valid for `len`
        // bytes, and the caller guarantees liveness, exclusivity and valid bit patterns.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.host.as_ptr().cast::<T>(),
                self.len / std::mem::size_of::<T>().max(1),
            )
        }
    }
}

/// A pointer argument into a [`StableBuffer`]: the byte address in both address spaces,
/// already checked to lie within the buffer, and the owner's identity. Each backend passes
/// its own pointer kind. It is 24 bytes; a dynamic [`Arg`](crate::Arg) made from it keeps the
/// host address and the owner (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferArg {
    host: NonNull<u8>,
    guest: u64,
    owner: OwnerId,
}

impl BufferArg {
    /// A pointer argument to host memory that is not a stable buffer (a caller's slice),
    /// for backends whose foreign code runs in the host address space
    /// ([`PointerKind::Host`](crate::PointerKind::Host): native, asm). Its owner is
    /// [`OwnerId::HOST`], so a backend with guest pointers (wasm) rejects it with
    /// [`Error::ForeignBuffer`] instead of passing a meaningless offset.
    ///
    /// Making one is safe; what the callee does with it is covered by the `unsafe` of the
    /// call, as for any pointer.
    pub fn host(ptr: *const u8) -> BufferArg {
        BufferArg {
            host: NonNull::new(ptr.cast_mut()).unwrap_or(NonNull::dangling()),
            guest: ptr as usize as u64,
            owner: OwnerId::HOST,
        }
    }

    /// The owner of the buffer pointed into.
    pub fn owner(&self) -> OwnerId {
        self.owner
    }

    /// The host address: the buffer's host address plus the offset.
    pub fn host_ptr(&self) -> *mut u8 {
        self.host.as_ptr()
    }

    /// The guest address: the buffer's guest address plus the offset.
    pub fn guest_addr(&self) -> u64 {
        self.guest
    }
}

impl From<StableBuffer> for BufferArg {
    fn from(buffer: StableBuffer) -> BufferArg {
        buffer.arg()
    }
}

impl From<&StableBuffer> for BufferArg {
    fn from(buffer: &StableBuffer) -> BufferArg {
        buffer.arg()
    }
}

/// The owner of host-memory stable buffers, shared by the backends whose foreign code runs
/// in the host address space (native, asm).
///
/// Each buffer is one zeroed allocation from the global allocator, aligned to at least
/// [`MIN_BUFFER_ALIGN`]; its guest address is its host address. Everything still allocated is
/// freed when the owner is dropped.
#[derive(Debug)]
pub struct HostBuffers {
    owner: OwnerId,
    live: Vec<Option<(NonNull<u8>, Layout)>>,
    free_slots: Vec<u32>,
}

impl HostBuffers {
    /// An empty owner whose buffers carry `owner`.
    pub fn new(owner: OwnerId) -> HostBuffers {
        HostBuffers {
            owner,
            live: Vec::new(),
            free_slots: Vec::new(),
        }
    }

    /// Allocates `len` zeroed bytes aligned to `max(align, MIN_BUFFER_ALIGN)`.
    ///
    /// # Errors
    /// [`Error::InvalidAlignment`] when `align` is not a power of two;
    /// [`Error::OutOfMemory`] when the allocator refuses (or the size overflows).
    pub fn alloc(&mut self, len: usize, align: usize) -> Result<StableBuffer, Error> {
        if !align.is_power_of_two() {
            return Err(Error::InvalidAlignment { align });
        }
        let align = align.max(MIN_BUFFER_ALIGN);
        let layout = Layout::from_size_align(len.max(1), align)
            .map_err(|_| Error::OutOfMemory { bytes: len })?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        let host = NonNull::new(ptr).ok_or(Error::OutOfMemory { bytes: len })?;
        let id = match self.free_slots.pop() {
            Some(id) => {
                self.live[id as usize] = Some((host, layout));
                id
            }
            None => {
                self.live.push(Some((host, layout)));
                (self.live.len() - 1) as u32
            }
        };
        // SAFETY: `host` was just allocated for `len` bytes with at least MIN_BUFFER_ALIGN,
        // lives until `free(id)` or drop, and native code sees it at the same address.
        Ok(
            unsafe {
                StableBuffer::from_raw_parts(host, len, host.as_ptr() as u64, self.owner, id)
            },
        )
    }

    /// Frees `buffer`.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] when the buffer belongs to another owner;
    /// [`Error::BufferFreed`] when it was already freed.
    pub fn free(&mut self, buffer: StableBuffer) -> Result<(), Error> {
        self.check(&buffer)?;
        if let Some((ptr, layout)) = self.live[buffer.id() as usize].take() {
            // SAFETY: `ptr` was allocated with `layout` by `alloc` and is freed once (the slot
            // is now empty).
            unsafe { dealloc(ptr.as_ptr(), layout) };
            self.free_slots.push(buffer.id());
        }
        Ok(())
    }

    /// Checks that `buffer` belongs to this owner and is still alive.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] or [`Error::BufferFreed`].
    pub fn check(&self, buffer: &StableBuffer) -> Result<(), Error> {
        if buffer.owner() != self.owner {
            return Err(Error::ForeignBuffer {
                owner: buffer.owner().get(),
                context: self.owner.get(),
            });
        }
        match self.live.get(buffer.id() as usize) {
            Some(Some((ptr, _))) if *ptr == buffer.host => Ok(()),
            _ => Err(Error::BufferFreed {
                buffer: buffer.id(),
            }),
        }
    }

    /// The owner identity stamped on every buffer.
    pub fn owner(&self) -> OwnerId {
        self.owner
    }
}

impl Drop for HostBuffers {
    fn drop(&mut self) {
        for (ptr, layout) in self.live.drain(..).flatten() {
            // SAFETY: every live slot holds an allocation made by `alloc` with this layout.
            unsafe { dealloc(ptr.as_ptr(), layout) };
        }
    }
}

// SAFETY: HostBuffers exclusively owns its allocations (plain heap memory with no thread
// affinity), so moving it to another thread moves that ownership with it.
unsafe impl Send for HostBuffers {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_zeroed_and_checked() {
        let mut owner = HostBuffers::new(OwnerId::fresh());
        let b = owner.alloc(100, 8).unwrap();
        assert_eq!(b.host_ptr() as usize % MIN_BUFFER_ALIGN, 0);
        assert_eq!(b.guest_addr(), b.host_ptr() as u64);
        // SAFETY: alive and unaliased.
        assert!(unsafe { b.as_slice() }.iter().all(|&x| x == 0));
        let big = owner.alloc(10, 4096).unwrap();
        assert_eq!(big.host_ptr() as usize % 4096, 0);
        assert!(matches!(
            owner.alloc(8, 3),
            Err(Error::InvalidAlignment { align: 3 })
        ));
        assert!(b.at(100).is_ok());
        assert!(matches!(b.at(101), Err(Error::BufferOutOfBounds { .. })));
        assert!(matches!(
            b.range(96, 8),
            Err(Error::BufferOutOfBounds { .. })
        ));
        assert!(matches!(
            b.range(usize::MAX, 8),
            Err(Error::BufferOutOfBounds { .. })
        ));
        owner.free(b).unwrap();
        assert!(matches!(owner.free(b), Err(Error::BufferFreed { .. })));
        let mut other = HostBuffers::new(OwnerId::fresh());
        assert!(matches!(other.free(big), Err(Error::ForeignBuffer { .. })));
    }
}
