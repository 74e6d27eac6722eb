//! The loads of the inline entry: what each register or stack word is loaded with
//! ([`Load`], decided at prepare) and the fixed-width byte reads and writes of struct pieces.

use std::ffi::c_void;

use ffi_trait::{Arg, ArgKind};

/// Where a call's arguments are, as a [`Load`] reads them: each argument is found by its
/// byte offset in an [`Arg`] array (`Load::at`), so one plan serves every call form with no
/// re-shaping of the arguments: a slice of [`Arg`]s (the Rust call) reads the argument's
/// image there, libffi's array of argument pointers ([`RawArgs`], the C call) reads the value
/// its pointer points at.
pub(crate) trait ArgSource: Copy {
    /// The register image of the argument at byte offset `at` of an [`Arg`] array (argument
    /// `at / size_of::<Arg>()`): its [`Arg::bits`] — for a struct, the address of its bytes.
    ///
    /// # Safety
    /// The argument is in bounds and readable as its parameter's type (the plan's checks
    /// passed, or the caller vouches for a raw array).
    unsafe fn image(self, at: usize) -> u64;
}

impl ArgSource for &[Arg<'_>] {
    #[inline(always)]
    unsafe fn image(self, at: usize) -> u64 {
        // SAFETY: `at` is the byte offset of an argument in bounds (forwarded contract).
        unsafe { (*self.as_ptr().byte_add(at)).bits() }
    }
}

/// libffi's argument array (`ffi_call`'s `avalue`, `ffikit_call`'s `args`): a pointer to each
/// argument's value in its C type, read with the load of its parameter's kind
/// ([`ArgKind::raw_image`]); a struct argument's image is its pointer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawArgs<'a> {
    /// The argument pointers, one per parameter.
    pub(crate) ptrs: *const *const c_void,
    /// Each parameter's kind.
    pub(crate) kinds: &'a [ArgKind],
}

impl ArgSource for RawArgs<'_> {
    #[inline(always)]
    unsafe fn image(self, at: usize) -> u64 {
        let i = at / size_of::<Arg<'_>>();
        // SAFETY: argument `i` is in bounds of both arrays and its pointer is readable as
        // its parameter's type (forwarded contract).
        unsafe {
            let p = *self.ptrs.add(i);
            match *self.kinds.get_unchecked(i) {
                ArgKind::Struct => p as usize as u64,
                kind => kind.raw_image(p),
            }
        }
    }
}

/// What one register or stack word is loaded with, decided at prepare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    /// Nothing (an argument register the plan leaves unused): zero.
    Zero,
    /// The argument's whole register image ([`Arg::bits`]).
    Whole,
    /// The argument's `f32` image promoted to `f64` (a variadic `f32`, C11 §6.5.2.2p7).
    Promote,
    /// Eight bytes of a struct argument from byte `offset` (one unaligned load).
    Piece8,
    /// `len` (1 to 7) bytes of a struct argument from byte `offset`, zero-extended.
    Piece,
    /// The hidden struct-return pointer (x86-64 `rdi`).
    RetPtr,
}

/// The source of one register or stack word: argument `arg`'s image, or a piece of the
/// struct it points to, per `op`.
///
/// `repr(C)` with `op` in the first byte: the call tests `op` with one compare of that byte
/// in memory and reads `offset` and `at` with one load each (no shifts or masks of a packed
/// word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Load {
    /// What is loaded.
    pub(crate) op: Op,
    /// A `Piece`'s byte count.
    pub(crate) len: u8,
    /// A piece's byte offset in its struct.
    pub(crate) offset: u16,
    /// The argument's byte offset in the argument array (`arg * size_of::<Arg>()`), so the
    /// call reads its image with one indexed load and no scaling.
    pub(crate) at: u32,
}

impl Load {
    pub(crate) const ZERO: Load = Load {
        op: Op::Zero,
        len: 0,
        offset: 0,
        at: 0,
    };

    pub(crate) fn new(op: Op, arg: usize, offset: u16, len: u8) -> Load {
        let at = arg * size_of::<Arg<'_>>();
        Load {
            op,
            len,
            offset,
            // `InlinePlan::of` takes at most `REGS + MAX_STACK_WORDS` arguments: no overflow.
            at: at as u32,
        }
    }

    /// The register image of the argument this load reads.
    ///
    /// # Safety
    /// The argument is in bounds of `args` (the plan's checks passed).
    #[inline(always)]
    pub(crate) unsafe fn image(self, args: impl ArgSource) -> u64 {
        // SAFETY: `at` is the byte offset of an argument in bounds (forwarded contract).
        unsafe { args.image(self.at as usize) }
    }

    /// The 64-bit image of this source for one call.
    ///
    /// # Safety
    /// `args` has passed the plan's checks: the argument read is in bounds (unless `op` is `Zero`
    /// or `RetPtr`), and a piece's argument is a struct at least `offset + len` bytes long.
    #[inline(always)]
    pub(crate) unsafe fn value(self, args: impl ArgSource, ret: *mut u8) -> u64 {
        // SAFETY: forwarded contract (index in bounds; struct bytes long enough).
        unsafe {
            let bits = || self.image(args);
            let at = || (bits() as usize as *const u8).add(self.offset as usize);
            match self.op {
                Op::Whole => bits(),
                Op::Piece8 => at().cast::<u64>().read_unaligned(),
                Op::Zero => 0,
                Op::Promote => (f32::from_bits(bits() as u32) as f64).to_bits(),
                Op::Piece => read_le(at(), self.len),
                Op::RetPtr => ret as usize as u64,
            }
        }
    }

    /// The image of a `Whole` or `Piece8` source with one branch: argument `arg`'s image, or
    /// the eight bytes at `offset` of the struct it points to (a `Zero` source reads as
    /// argument `arg`'s image, which a callee ignores).
    ///
    /// # Safety
    /// `args` has passed the plan's checks: the argument read is in bounds, and a `Piece8`'s
    /// argument is a struct at least `offset + 8` bytes long.
    #[inline(always)]
    pub(crate) unsafe fn whole_or_piece8(self, args: impl ArgSource) -> u64 {
        // SAFETY: forwarded contract (index in bounds; struct bytes long enough).
        unsafe {
            let bits = self.image(args);
            if self.op == Op::Piece8 {
                (bits as usize as *const u8)
                    .add(self.offset as usize)
                    .cast::<u64>()
                    .read_unaligned()
            } else {
                bits
            }
        }
    }
}

/// Reads `len` (1 to 8) bytes at `p` as a little-endian word, zero-extended, with loads of
/// fixed widths (no `memcpy` call) and never past `p + len` (libffi's `overread` test).
///
/// # Safety
/// `p` is readable for `len` bytes.
#[inline(always)]
pub(crate) unsafe fn read_le(p: *const u8, len: u8) -> u64 {
    // SAFETY: every load lies within `p .. p + len` (forwarded contract).
    unsafe {
        let r8 = |o: usize| p.add(o).read() as u64;
        let r16 = |o: usize| p.add(o).cast::<u16>().read_unaligned() as u64;
        let r32 = |o: usize| p.add(o).cast::<u32>().read_unaligned() as u64;
        if len == 8 {
            // The common case (whole eightbytes) without the table jump below.
            return p.cast::<u64>().read_unaligned();
        }
        match len {
            4 => r32(0),
            2 => r16(0),
            1 => r8(0),
            3 => r16(0) | r8(2) << 16,
            5 => r32(0) | r8(4) << 32,
            6 => r32(0) | r16(4) << 32,
            _ => r32(0) | r16(4) << 32 | r8(6) << 48,
        }
    }
}

/// Writes the low `len` (1 to 8) bytes of `v` at `p`, with stores of fixed widths.
///
/// # Safety
/// `p` is writable for `len` bytes.
#[inline(always)]
pub(crate) unsafe fn write_le(p: *mut u8, len: u8, v: u64) {
    // SAFETY: every store lies within `p .. p + len` (forwarded contract).
    unsafe {
        let w8 = |o: usize, x: u64| p.add(o).write(x as u8);
        let w16 = |o: usize, x: u64| p.add(o).cast::<u16>().write_unaligned(x as u16);
        let w32 = |o: usize, x: u64| p.add(o).cast::<u32>().write_unaligned(x as u32);
        if len == 8 {
            // The common case (whole eightbytes) without the table jump below.
            return p.cast::<u64>().write_unaligned(v);
        }
        match len {
            4 => w32(0, v),
            2 => w16(0, v),
            1 => w8(0, v),
            3 => {
                w16(0, v);
                w8(2, v >> 16)
            }
            5 => {
                w32(0, v);
                w8(4, v >> 32)
            }
            6 => {
                w32(0, v);
                w16(4, v >> 32)
            }
            _ => {
                w32(0, v);
                w16(4, v >> 32);
                w8(6, v >> 48)
            }
        }
    }
}
