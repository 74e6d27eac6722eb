//! [`ContextPool`]: contexts created on demand up to a bound, one per thread at a time, with
//! no lock and no allocation on the hot path.
//!
//! # Design
//! The pool is a fixed array of slots (one per possible context, each on its own cache line:
//! crossbeam's [`CachePadded`]) and a lock-free queue of vacant slot numbers (crossbeam's
//! [`ArrayQueue`]). Each slot has an atomic state, `VACANT`, `IDLE` or `BUSY`.
//!
//! - **Checkout, warm**: each thread remembers (thread-local) the slot it last took from
//!   this pool and takes it back with one compare-and-swap `IDLE -> BUSY` on that slot's own
//!   cache line — which no other thread touched in between unless it stole the context, so
//!   nothing shared is written and the thread gets *the same context back*, with its warm
//!   caches and buffers.
//! - **Return**: one release store `BUSY -> IDLE`, plus a wake-up only when some thread is
//!   blocked waiting (an atomic counter says so).
//! - **Cold paths**: a thread without a remembered slot (or whose slot was taken) scans the
//!   slots for an idle one (stealing a context another thread parked), then takes a vacant
//!   slot from the queue and creates a context in it with the pool's factory.
//! - **Bound reached**: the caller chooses — [`ContextPool::try_acquire`] returns
//!   [`Error::PoolExhausted`] at once; [`ContextPool::acquire_timeout`] blocks (on a
//!   `Condvar`, off the hot path) until a context is returned or the timeout passes, then
//!   returns [`Error::PoolTimeout`].
//! - **Failure**: a context that is poisoned ([`PoolItem::is_poisoned`]), given up with
//!   [`PoolGuard::discard`], or (in a pool set to discard them, [`ContextPool::set_discard_trapped`]) one
//!   whose call trapped ([`PoolItem::has_trapped`]) is dropped on return and its slot becomes
//!   vacant, so a fresh context replaces it on demand. A trap alone leaves a context usable
//!   (see [`Context`]), so by default the pool keeps it.
//!
//! The `object-pool` crate's `Pool` keeps its objects in a `Mutex<Vec<T>>`; it is measured
//! beside this pool in the `pool` benchmark as the lock-based peer.

use std::cell::{Cell, UnsafeCell};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;

use crate::backend::Backend;
use crate::context::Context;
use crate::error::{Error, Result};

/// What a pool needs to know of the values it holds.
pub trait PoolItem: Send {
    /// True when the value must not be handed out again (the pool drops it on return).
    fn is_poisoned(&self) -> bool {
        false
    }

    /// True when a call on the value trapped (a pool made with
    /// [`ContextPool::set_discard_trapped`] drops it on return).
    fn has_trapped(&self) -> bool {
        false
    }
}

impl<B: Backend> PoolItem for Context<B> {
    fn is_poisoned(&self) -> bool {
        self.poisoned().is_some()
    }

    fn has_trapped(&self) -> bool {
        self.trapped().is_some()
    }
}

const VACANT: u8 = 0;
const IDLE: u8 = 1;
const BUSY: u8 = 2;

struct Slot<C> {
    state: AtomicU8,
    value: UnsafeCell<Option<C>>,
}

// SAFETY: as for `ContextPool` below: the value is only touched by the thread that owns the
// slot through its atomic state (BUSY), and values are `Send`.
unsafe impl<C: Send> Sync for Slot<C> {}

/// Counts of a pool's contexts, for monitoring and for tests that check nothing is lost or
/// handed out twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// The bound: the most contexts that exist at once.
    pub max: usize,
    /// Contexts created by the factory so far.
    pub created: usize,
    /// Contexts dropped because they were poisoned or discarded.
    pub discarded: usize,
    /// Contexts that exist now (`created - discarded`).
    pub live: usize,
    /// Live contexts not checked out at the moment of the count.
    pub idle: usize,
}

type Factory<C> = Box<dyn Fn() -> Result<C> + Send + Sync>;

/// A bounded pool of contexts (any [`PoolItem`]: [`Context`], or a caller's own type).
///
/// See the module documentation for the design. `ContextPool` is `Sync`: share it by
/// reference or in an `Arc` across threads.
pub struct ContextPool<C: PoolItem> {
    id: u32,
    slots: Box<[CachePadded<Slot<C>>]>,
    vacant: ArrayQueue<u32>,
    factory: Factory<C>,
    waiters: CachePadded<AtomicUsize>,
    wait_lock: Mutex<()>,
    wake: Condvar,
    created: AtomicUsize,
    discarded: AtomicUsize,
    /// Whether a context whose call trapped is dropped on return
    /// ([`ContextPool::set_discard_trapped`]).
    discard_trapped: AtomicBool,
}

// SAFETY: a slot's value is only accessed by the thread that moved the slot's state to BUSY
// (or, for creation, popped its number from `vacant`), which is exclusive ownership handed
// over with acquire/release atomics; values are `Send`, so moving that ownership between
// threads is sound.
unsafe impl<C: PoolItem> Sync for ContextPool<C> {}
// SAFETY: as above; the pool owns its values, which are `Send`.
unsafe impl<C: PoolItem> Send for ContextPool<C> {}

thread_local! {
    /// Per thread: the slot it last took from each pool, as `pool id << 32 | slot`, in a
    /// direct-mapped table indexed by `pool id % HINTS` (a collision just forgets the older
    /// pool's hint). Const-initialised cells without a destructor, so an access is a plain
    /// thread-pointer-relative load: no lazy initialisation, no borrow flag.
    static HINT_TABLE: [Cell<u64>; HINTS] = const { [const { Cell::new(0) }; HINTS] };
}

/// Entries of the per-thread hint table.
const HINTS: usize = 16;

#[inline]
fn hint(pool: u32) -> Option<u32> {
    let entry = HINT_TABLE.with(|t| t[pool as usize % HINTS].get());
    ((entry >> 32) as u32 == pool).then_some(entry as u32)
}

#[inline]
fn remember(pool: u32, slot: u32) {
    let entry = (u64::from(pool) << 32) | u64::from(slot);
    HINT_TABLE.with(|t| {
        let cell = &t[pool as usize % HINTS];
        if cell.get() != entry {
            cell.set(entry);
        }
    })
}

impl<C: PoolItem> ContextPool<C> {
    /// A pool of at most `max` contexts, each created on demand by `factory`.
    ///
    /// # Panics
    /// When `max` is 0 or exceeds `u32::MAX`.
    pub fn new(max: usize, factory: impl Fn() -> Result<C> + Send + Sync + 'static) -> Self {
        assert!(max > 0, "a pool needs room for at least one context");
        assert!(max <= u32::MAX as usize, "pool bound {max} is too large");
        // Pool ids start at 1 so that an empty hint (0) matches no pool; after 2^32 pools they
        // wrap, and a stale hint can only name a slot that is then checked like any other.
        static NEXT_ID: AtomicU32 = AtomicU32::new(1);
        let vacant = ArrayQueue::new(max);
        for i in 0..max as u32 {
            // Cannot fail: the queue has room for exactly `max` numbers.
            let _ = vacant.push(i);
        }
        ContextPool {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slots: (0..max)
                .map(|_| {
                    CachePadded::new(Slot {
                        state: AtomicU8::new(VACANT),
                        value: UnsafeCell::new(None),
                    })
                })
                .collect(),
            vacant,
            factory: Box::new(factory),
            waiters: CachePadded::new(AtomicUsize::new(0)),
            wait_lock: Mutex::new(()),
            wake: Condvar::new(),
            created: AtomicUsize::new(0),
            discarded: AtomicUsize::new(0),
            discard_trapped: AtomicBool::new(false),
        }
    }

    /// Sets whether a context whose call trapped ([`PoolItem::has_trapped`]) is dropped when
    /// it is returned, so that the next checkout gets a fresh one (`false`, the default: a
    /// trap leaves a context usable and the pool keeps it). Takes effect for the contexts
    /// returned after it, from any thread.
    pub fn set_discard_trapped(&self, on: bool) {
        self.discard_trapped.store(on, Ordering::Relaxed);
    }

    /// The bound: the most contexts that exist at once.
    pub fn max(&self) -> usize {
        self.slots.len()
    }

    /// A context, without waiting: the calling thread's own from last time when it is idle,
    /// else any idle one, else a new one while the pool is below its bound.
    ///
    /// # Errors
    /// [`Error::PoolExhausted`] when every context is checked out and the bound is reached;
    /// the factory's error when creating a context fails (the slot stays vacant).
    #[inline]
    pub fn try_acquire(&self) -> Result<PoolGuard<'_, C>> {
        match self.checkout()? {
            Some(slot) => Ok(self.guard(slot)),
            None => Err(Error::PoolExhausted { max: self.max() }),
        }
    }

    /// A context, waiting up to `timeout` for one to be returned when the bound is reached.
    ///
    /// # Errors
    /// [`Error::PoolTimeout`] when none came free in time; the factory's error.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<PoolGuard<'_, C>> {
        if let Some(slot) = self.checkout()? {
            return Ok(self.guard(slot));
        }
        let start = Instant::now();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let result = self.wait(start, timeout);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result.map(|slot| self.guard(slot))
    }

    fn wait(&self, start: Instant, timeout: Duration) -> Result<u32> {
        let mut lock = self
            .wait_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            // Checked under the lock: a return that happens after this check notifies only
            // after we are waiting (it takes the lock to notify), so no wake-up is lost.
            if let Some(slot) = self.checkout()? {
                return Ok(slot);
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Error::PoolTimeout {
                    max: self.max(),
                    waited_ms: start.elapsed().as_millis() as u64,
                });
            }
            lock = self
                .wake
                .wait_timeout(lock, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    #[inline]
    fn guard(&self, slot: u32) -> PoolGuard<'_, C> {
        PoolGuard {
            pool: self,
            cell: &self.slots[slot as usize],
            slot,
            discard: false,
        }
    }

    /// Takes a slot: `Ok(None)` when every context is busy and none may be created.
    #[inline]
    fn checkout(&self) -> Result<Option<u32>> {
        // Warm path: the slot this thread returned last.
        if let Some(slot) = hint(self.id)
            && (slot as usize) < self.slots.len()
            && self.take_idle(slot)
        {
            return Ok(Some(slot));
        }
        // The hint is set when a thread takes a new slot, so returning touches no
        // thread-local state at all.
        let taken = self.checkout_cold();
        if let Ok(Some(slot)) = taken {
            remember(self.id, slot);
        }
        taken
    }

    /// [`ContextPool::checkout`] without a usable hint: steal an idle context, or create one.
    #[cold]
    #[inline(never)]
    fn checkout_cold(&self) -> Result<Option<u32>> {
        // Steal an idle context parked by another thread.
        for slot in 0..self.slots.len() as u32 {
            if self.slots[slot as usize].state.load(Ordering::Relaxed) == IDLE
                && self.take_idle(slot)
            {
                return Ok(Some(slot));
            }
        }
        // Create one in a vacant slot.
        let Some(slot) = self.vacant.pop() else {
            return Ok(None);
        };
        match (self.factory)() {
            Ok(value) => {
                // SAFETY: the slot number came from `vacant`, so this thread owns the slot
                // exclusively: its state is VACANT and nobody else reads its value.
                unsafe { *self.slots[slot as usize].value.get() = Some(value) };
                self.slots[slot as usize]
                    .state
                    .store(BUSY, Ordering::Release);
                self.created.fetch_add(1, Ordering::Relaxed);
                Ok(Some(slot))
            }
            Err(e) => {
                // Cannot fail: the number was just popped, so there is room.
                let _ = self.vacant.push(slot);
                Err(e)
            }
        }
    }

    #[inline]
    fn take_idle(&self, slot: u32) -> bool {
        self.slots[slot as usize]
            .state
            .compare_exchange(IDLE, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Returns a checked-out slot: parks its context for the next checkout (the thread
    /// that took it remembers it), or drops it when discarded or poisoned.
    #[inline]
    fn check_in(&self, s: &Slot<C>, slot: u32, discard: bool) {
        // SAFETY: the slot is BUSY and owned by this thread (the guard or raw checkout that
        // is being returned), so nobody else touches its value.
        let value = unsafe { &mut *s.value.get() };
        let drop_it = value.as_ref().is_none_or(|v| {
            v.is_poisoned() || (v.has_trapped() && self.discard_trapped.load(Ordering::Relaxed))
        });
        if discard || drop_it {
            *value = None;
            s.state.store(VACANT, Ordering::Release);
            self.discarded.fetch_add(1, Ordering::Relaxed);
            // Cannot fail: at most `max` numbers exist, and this one was not in the queue.
            let _ = self.vacant.push(slot);
        } else {
            s.state.store(IDLE, Ordering::Release);
        }
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _lock = self
                .wait_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.wake.notify_one();
        }
    }

    /// The counts of the pool's contexts (a snapshot; exact when no thread is mid-checkout).
    pub fn stats(&self) -> PoolStats {
        let created = self.created.load(Ordering::Relaxed);
        let discarded = self.discarded.load(Ordering::Relaxed);
        PoolStats {
            max: self.max(),
            created,
            discarded,
            live: created - discarded,
            idle: self
                .slots
                .iter()
                .filter(|s| s.state.load(Ordering::Relaxed) == IDLE)
                .count(),
        }
    }

    /// Checks out a context without a guard, for callers across an FFI boundary (the C
    /// API's `ffikit_pool_acquire`). Return it with [`ContextPool::release_raw`].
    ///
    /// # Errors
    /// As [`ContextPool::try_acquire`], or [`ContextPool::acquire_timeout`] when `timeout`
    /// is given.
    pub fn acquire_raw(&self, timeout: Option<Duration>) -> Result<NonNull<C>> {
        let guard = match timeout {
            None => self.try_acquire()?,
            Some(t) => self.acquire_timeout(t)?,
        };
        let ptr = NonNull::from(&*guard);
        std::mem::forget(guard);
        Ok(ptr)
    }

    /// Returns a context checked out by [`ContextPool::acquire_raw`] (dropped instead when
    /// poisoned or `discard` is true).
    ///
    /// # Errors
    /// [`Error::ForeignHandle`] when `ptr` is not a context currently checked out of this
    /// pool (another pool's, already returned, or not a context at all); nothing changes.
    pub fn release_raw(&self, ptr: *const C, discard: bool) -> Result<()> {
        let slot = self.slot_of(ptr).ok_or_else(|| Error::ForeignHandle {
            what: "the context".into(),
            kind: "pool (or was already released)",
        })?;
        self.check_in(&self.slots[slot as usize], slot, discard);
        Ok(())
    }

    /// The number of the BUSY slot whose value is at `ptr`, found by address arithmetic (the
    /// slots are one array) and then checked exactly.
    fn slot_of(&self, ptr: *const C) -> Option<u32> {
        let base = self.slots.as_ptr() as usize;
        let stride = size_of::<CachePadded<Slot<C>>>();
        let index = (ptr as usize).checked_sub(base)? / stride;
        let s = self.slots.get(index)?;
        if s.state.load(Ordering::Acquire) != BUSY {
            return None;
        }
        // SAFETY: reading the address of the value inside a BUSY slot: only its checked-out
        // owner mutates it, and taking the address does not read the value.
        let inside = unsafe { (*s.value.get()).as_ref() }.map(|v| v as *const C);
        (inside == Some(ptr)).then_some(index as u32)
    }
}

impl<C: PoolItem> Drop for ContextPool<C> {
    fn drop(&mut self) {
        // Every guard borrows the pool, so none is alive; raw checkouts not returned are
        // dropped with it (the C API documents this).
        for s in self.slots.iter_mut() {
            *s.value.get_mut() = None;
        }
    }
}

/// A checked-out context: dereferences to it, and returns it to the pool when dropped.
pub struct PoolGuard<'a, C: PoolItem> {
    pool: &'a ContextPool<C>,
    cell: &'a Slot<C>,
    slot: u32,
    discard: bool,
}

impl<C: PoolItem> PoolGuard<'_, C> {
    /// Drops the context instead of returning it (its slot becomes vacant and a new context
    /// is created on a later demand).
    pub fn discard(mut self) {
        self.discard = true;
    }

    /// The slot number of this context in its pool (stable for the context's life).
    pub fn slot(&self) -> usize {
        self.slot as usize
    }
}

impl<C: PoolItem> Deref for PoolGuard<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // SAFETY: the guard owns the BUSY slot, whose value is Some while checked out.
        unsafe { (*self.cell.value.get()).as_ref() }.expect("a checked-out slot holds a context")
    }
}

impl<C: PoolItem> DerefMut for PoolGuard<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        // SAFETY: as for `deref`, and the guard is borrowed mutably, so this is the only view.
        unsafe { (*self.cell.value.get()).as_mut() }.expect("a checked-out slot holds a context")
    }
}

impl<C: PoolItem> Drop for PoolGuard<'_, C> {
    #[inline]
    fn drop(&mut self) {
        self.pool.check_in(self.cell, self.slot, self.discard);
    }
}

#[cfg(test)]
mod tests;
