//! The context's buffers: regions of the first module's linear memory, bump-allocated from
//! `memory.grow` and reused from a free list, never moving (the memory is made with
//! `memory_may_move(false)`).

use ffi_trait::{Error, Result, StableBuffer};

use crate::{PAGE, WasmBackend, backend_error};

/// The most bytes a 32-bit linear memory holds: 65,536 pages of 64 KiB (4 GiB).
const WASM32_MEMORY: usize = 1 << 32;

/// A region of linear memory handed out as a stable buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl WasmBackend {
    /// [`ffi_trait::Backend::alloc_stable_buffer`]: a region of the buffer memory (a freed one that
    /// fits, else a fresh one from `memory.grow`), zeroed, aligned to `align` (at least
    /// [`ffi_trait::MIN_BUFFER_ALIGN`]).
    ///
    /// # Errors
    /// [`Error::InvalidAlignment`], [`Error::BufferTooLarge`] past the linear memory's limit,
    /// [`Error::OutOfMemory`] when the memory cannot grow, and a backend error before a
    /// module with a memory is open.
    pub(crate) fn alloc_buffer(&mut self, len: usize, align: usize) -> Result<StableBuffer> {
        if !align.is_power_of_two() {
            return Err(Error::InvalidAlignment { align });
        }
        // A buffer larger than the linear memory can ever be is refused by its size (not
        // left to `memory.grow`, whose page arithmetic it would overflow).
        let (limit, what) = match self.engine.0.config.memory_limit {
            Some(bytes) => (
                bytes.min(WASM32_MEMORY),
                "the context's linear memory limit (WasmConfig::memory_limit)",
            ),
            None => (WASM32_MEMORY, "a 32-bit linear memory (4 GiB)"),
        };
        if len > limit || align > limit {
            return Err(Error::BufferTooLarge {
                bytes: len.max(align),
                limit,
                what,
            });
        }
        let align = align.max(ffi_trait::MIN_BUFFER_ALIGN) as u64;
        let want = len.max(1) as u64;
        // A reused region holds old data; a fresh one comes from `memory.grow`, whose pages
        // are zero, so only reused regions need clearing (8 MiB of memset per fresh buffer
        // otherwise).
        let (offset, reused) = match self
            .free
            .iter()
            .position(|r| r.len >= want && r.offset % align == 0)
        {
            Some(i) => (self.free.swap_remove(i).offset, true),
            None => (self.grow_region(want, align)?, false),
        };
        let region = Region { offset, len: want };
        let id = match self.buffers.iter().position(Option::is_none) {
            Some(i) => {
                self.buffers[i] = Some(region);
                i
            }
            None => {
                self.buffers.push(Some(region));
                self.buffers.len() - 1
            }
        };
        let base = self
            .host_base()
            .ok_or_else(|| backend_error("no buffer memory"))?;
        // SAFETY: offset..offset+len lies within the memory (just grown or reused); the
        // memory never moves (memory_may_move(false)), so the view stays valid while the
        // store lives; a reused region is zeroed for the contract (`alloc_stable_buffer`
        // returns zeroed bytes).
        unsafe {
            let host = base.add(offset as usize);
            if reused {
                std::ptr::write_bytes(host, 0, len);
            }
            Ok(StableBuffer::from_raw_parts(
                std::ptr::NonNull::new_unchecked(host),
                len,
                offset,
                self.owner,
                id as u32,
            ))
        }
    }

    /// [`ffi_trait::Backend::free_stable_buffer`]: the buffer's region goes on the free list.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for another context's buffer, [`Error::BufferFreed`] for one
    /// already freed.
    pub(crate) fn free_buffer(&mut self, buffer: StableBuffer) -> Result<()> {
        if buffer.owner() != self.owner {
            return Err(Error::ForeignBuffer {
                owner: buffer.owner().get(),
                context: self.owner.get(),
            });
        }
        match self.buffers.get_mut(buffer.id() as usize) {
            Some(slot @ Some(_)) if slot.map(|r| r.offset) == Some(buffer.guest_addr()) => {
                let r = slot.take().expect("matched Some");
                self.free.push(r);
                Ok(())
            }
            _ => Err(Error::BufferFreed {
                buffer: buffer.id(),
            }),
        }
    }

    /// Grows the buffer memory by enough pages for `len` bytes at `align`, returning the
    /// region.
    fn grow_region(&mut self, len: u64, align: u64) -> Result<u64> {
        let memory = self.memory.ok_or_else(|| backend_error("open a module with an exported memory before allocating buffers: buffers live in the first module's linear memory"))?;
        let start = self.bump.next_multiple_of(align);
        if start + len <= self.bump_end && self.bump_end > 0 {
            self.bump = start + len;
            return Ok(start);
        }
        // Grow by at least 16 pages (1 MiB) so small buffers share pages.
        let pages = (len + align).div_ceil(PAGE).max(16);
        let old = memory
            .grow(&mut self.store, pages)
            .map_err(|_| Error::OutOfMemory {
                bytes: len as usize,
            })?;
        let base = old * PAGE;
        let start = base.next_multiple_of(align);
        self.bump = start + len;
        self.bump_end = base + pages * PAGE;
        Ok(start)
    }
}
