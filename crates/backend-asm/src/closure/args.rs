//! What a closure's handler sees: its arguments ([`ClosureArgs`], read in place from the
//! saved registers and the caller's stack) and its return slot ([`ReturnSlot`]).

use std::ffi::c_void;

use ffi_trait::{ArgKind, ReturnType, Signature, Type};

/// The arguments of one call of a closure, in signature order.
///
/// Each argument is readable for the duration of the handler call only.
pub struct ClosureArgs<'a> {
    /// Where each argument's bytes are.
    pub(super) ptrs: &'a [*const u8],
    /// The kind of each argument ([`ArgKind::Struct`] for structs).
    pub(super) kinds: &'a [ArgKind],
    /// The closure's signature.
    pub(super) signature: &'a Signature,
}

impl ClosureArgs<'_> {
    /// The number of arguments (fixed and variadic).
    pub fn len(&self) -> usize {
        self.ptrs.len()
    }

    /// True for a signature without arguments.
    pub fn is_empty(&self) -> bool {
        self.ptrs.is_empty()
    }

    /// The closure's signature.
    pub fn signature(&self) -> &Signature {
        self.signature
    }

    /// Argument `i` as a `T`.
    ///
    /// # Panics
    /// When `i` is out of range or `T` is not the argument's scalar type (any Rust pointer
    /// type reads a `ptr`). Inside a closure a panic is caught: see [`Closure`].
    #[inline]
    pub fn get<T: ReturnType>(&self, i: usize) -> T {
        let kind = self.kinds[i];
        // (A struct is read with `bytes`: `T` would have to be checked field by field. The
        // second test is a constant.)
        if Some(kind) != T::KIND || T::KIND == Some(ArgKind::Struct) {
            type_mismatch(self.signature, i);
        }
        // SAFETY: dispatch points argument `i` at its type's size in readable bytes, which
        // is `size_of::<T>()` for the Rust type of that kind.
        T::from_bits(unsafe { read_bits(self.ptrs[i], size_of::<T>()) })
    }

    /// The bytes of argument `i` (the size of its type; a struct in its C layout).
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn bytes(&self, i: usize) -> &[u8] {
        let size = self.signature.args()[i].size();
        // SAFETY: dispatch points every argument at `size` readable bytes that live until the
        // handler returns, which outlives `self`'s borrow.
        unsafe { std::slice::from_raw_parts(self.ptrs[i], size) }
    }

    /// The address of argument `i`'s bytes.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn ptr(&self, i: usize) -> *const c_void {
        self.ptrs[i].cast()
    }

    /// The arguments as a C array of pointers to each value (libffi's `void **args`).
    pub fn as_ptr(&self) -> *const *const c_void {
        self.ptrs.as_ptr().cast()
    }
}

/// Reads a little-endian scalar of `size` (1, 2, 4 or 8) bytes at `p`, zero-extended.
///
/// # Safety
/// `p` is readable for `size` bytes.
#[inline(always)]
pub(crate) unsafe fn read_bits(p: *const u8, size: usize) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe {
        match size {
            1 => p.read() as u64,
            2 => p.cast::<u16>().read_unaligned() as u64,
            4 => p.cast::<u32>().read_unaligned() as u64,
            _ => p.cast::<u64>().read_unaligned(),
        }
    }
}

#[cold]
#[inline(never)]
pub(crate) fn type_mismatch(sig: &Signature, i: usize) -> ! {
    panic!(
        "argument {i} of a closure `{sig}` is {}, read as another type",
        sig.args()[i]
    );
}

/// Where a closure writes its return value: the return type's size, zeroed, 8-byte aligned
/// (for an sret struct: the caller's own memory).
pub struct ReturnSlot<'a> {
    /// The slot's bytes.
    pub(super) ptr: *mut u8,
    /// The return type's kind (`None` for `void`, [`ArgKind::Struct`] for a struct).
    pub(super) kind: Option<ArgKind>,
    /// The return type.
    pub(super) ty: &'a Type,
}

impl ReturnSlot<'_> {
    /// Writes a scalar return value, or a struct as its [`ffi_trait::CStruct`].
    ///
    /// # Panics
    /// When `T` is not the signature's return type (`()` for `void`; for a struct, the same
    /// struct type and size).
    #[inline]
    pub fn set<T: ReturnType>(&mut self, value: T) {
        assert!(
            self.kind == T::KIND,
            "a closure returning {} cannot return {}",
            self.ty,
            T::KIND.map_or("void", ArgKind::name)
        );
        // A struct ([`ffi_trait::CStruct`]) must be the return's struct type (a constant
        // test for scalars).
        if T::KIND == Some(ArgKind::Struct) {
            assert!(
                T::ty() == *self.ty && size_of::<T>() == self.ty.size(),
                "a closure returning {} cannot return {}",
                self.ty,
                T::ty()
            );
        }
        // SAFETY: the slot holds at least `size_of::<T>()` (= the return type's size) bytes.
        unsafe { self.ptr.cast::<T>().write_unaligned(value) };
    }

    /// The return value's bytes (the size of the return type; a struct in its C layout).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the slot holds the return type's size in bytes and is borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.ty.size()) }
    }

    /// The slot's address (for C callbacks that write the return value themselves).
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.ptr.cast()
    }
}
