//! Raw argument arrays, the convention of libffi's `ffi_call` and of the C API's
//! `ffikit_call`: an array of pointers, the `i`-th pointing at argument `i`'s value in the
//! host's C layout, its type known only from the signature.

use std::ffi::c_void;

use crate::Type;
use crate::value::{Arg, ArgKind};

/// Reading arguments from raw pointers: the width and extension of each scalar kind.
///
/// A backend keeps one [`ArgKind`] per parameter (from [`ArgKind::of`], at prepare), so a
/// call reads each argument with one load and no match on its [`Type`].
/// [`ArgKind::raw_image`] gives the same 64-bit register image as the [`Arg`] of that kind and
/// value ([`Arg::bits`]): integers sign- or zero-extended per their signedness, `bool` as 0
/// or 1, floats as their IEEE bits (`f32` in the low 32 bits), pointers as addresses. Each
/// load reads exactly the type's size (never past the end of the argument: libffi's
/// `overread` test).
impl ArgKind {
    /// The register image of the value of this kind at `p` (see the `impl` docs).
    ///
    /// # Safety
    /// `p` is valid for a read of the kind's size (no alignment needed).
    ///
    /// # Panics
    /// For [`ArgKind::Struct`], which has no register image of its own (its size is the
    /// signature's).
    #[inline(always)]
    pub unsafe fn raw_image(self, p: *const c_void) -> u64 {
        // SAFETY: every read is of the kind's size at `p` (the caller's contract).
        unsafe {
            match self {
                ArgKind::I64
                | ArgKind::U64
                | ArgKind::Isize
                | ArgKind::Usize
                | ArgKind::F64
                | ArgKind::Ptr
                | ArgKind::Buffer => p.cast::<u64>().read_unaligned(),
                ArgKind::I32 => p.cast::<i32>().read_unaligned() as i64 as u64,
                ArgKind::U32 | ArgKind::F32 => p.cast::<u32>().read_unaligned() as u64,
                ArgKind::I16 => p.cast::<i16>().read_unaligned() as i64 as u64,
                ArgKind::U16 => p.cast::<u16>().read_unaligned() as u64,
                ArgKind::I8 => p.cast::<i8>().read() as i64 as u64,
                ArgKind::U8 => p.cast::<u8>().read() as u64,
                ArgKind::Bool => (p.cast::<u8>().read() != 0) as u64,
                ArgKind::Struct => panic!("a struct argument has no register image"),
            }
        }
    }

    /// The [`Arg`] of the value of this kind at `p` (a [`ArgKind::Buffer`] reads as a raw
    /// pointer: a raw array carries addresses, not buffer handles).
    ///
    /// # Safety
    /// As [`ArgKind::raw_image`].
    ///
    /// # Panics
    /// As [`ArgKind::raw_image`].
    #[inline(always)]
    pub unsafe fn raw_arg(self, p: *const c_void) -> Arg<'static> {
        // SAFETY: forwarded contract.
        let bits = unsafe { self.raw_image(p) };
        // The image is already the type's widened value: each constructor below keeps it.
        match self {
            ArgKind::Bool => Arg::bool(bits != 0),
            ArgKind::I8 => Arg::i8(bits as i8),
            ArgKind::U8 => Arg::u8(bits as u8),
            ArgKind::I16 => Arg::i16(bits as i16),
            ArgKind::U16 => Arg::u16(bits as u16),
            ArgKind::I32 => Arg::i32(bits as i32),
            ArgKind::U32 => Arg::u32(bits as u32),
            ArgKind::I64 => Arg::i64(bits as i64),
            ArgKind::U64 => Arg::u64(bits),
            ArgKind::Isize => Arg::isize(bits as isize),
            ArgKind::Usize => Arg::usize(bits as usize),
            ArgKind::F32 => Arg::f32(f32::from_bits(bits as u32)),
            ArgKind::F64 => Arg::f64(f64::from_bits(bits)),
            ArgKind::Ptr | ArgKind::Buffer => Arg::ptr(bits as usize as *const c_void),
            ArgKind::Struct => unreachable!("raw_image panicked above"),
        }
    }
}

/// How a scalar return is written into a libffi-style return slot, decided once at prepare
/// from the return type, so a call writes it with one jump on the form and one store (the
/// bytes that [`write_raw_return`](crate::backend::write_raw_return) writes from a
/// [`Value`](crate::Value)):
///
/// - integers narrower than 64 bits are sign- or zero-extended to 8 bytes (libffi widens
///   them to a full `ffi_arg` the same way: `ffi_call(3)`), `bool` is 0 or 1 in 8 bytes;
/// - 64-bit integers, pointers and `f64` are their 8 bytes;
/// - `f32` is 4 bytes; `void` and structs write nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawReturn {
    op: RawReturnOp,
    /// `64 - 8 * size` for the extending ops: the shift pair that extends the low bytes.
    shift: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum RawReturnOp {
    /// 8 bytes, zero-extended from the low `64 - shift` bits (`shift` 0: the image itself).
    Zext,
    /// 8 bytes, sign-extended from the low `64 - shift` bits.
    Sext,
    /// 8 bytes, 0 or 1 from the low byte (the ABIs leave the upper bits unspecified).
    Bool,
    /// The low 4 bytes.
    F32,
    /// Nothing.
    None,
}

impl RawReturn {
    /// The write for return type `ty`.
    pub fn of(ty: &Type) -> RawReturn {
        let (op, size) = match ty {
            Type::Void | Type::Struct(_) => (RawReturnOp::None, 8),
            Type::Bool => (RawReturnOp::Bool, 8),
            Type::F32 => (RawReturnOp::F32, 8),
            Type::I8 | Type::I16 | Type::I32 => (RawReturnOp::Sext, ty.size()),
            t => (RawReturnOp::Zext, t.size()),
        };
        RawReturn {
            op,
            shift: (64 - 8 * size) as u8,
        }
    }

    /// Writes the return whose register image is `bits` (the integer return register, or the
    /// vector one for `f32` and `f64`) into `ret`; nothing when `ret` is null.
    ///
    /// # Safety
    /// `ret` is null or valid for writes of 8 bytes (no alignment needed).
    #[inline(always)]
    pub unsafe fn write(self, bits: u64, ret: *mut c_void) {
        if ret.is_null() {
            return;
        }
        let wide = match self.op {
            RawReturnOp::Zext => bits << self.shift >> self.shift,
            RawReturnOp::Sext => ((bits << self.shift) as i64 >> self.shift) as u64,
            RawReturnOp::Bool => u64::from(bits as u8 != 0),
            RawReturnOp::F32 => {
                // SAFETY: `ret` is valid for 8 bytes (the caller's contract).
                unsafe { ret.cast::<u32>().write_unaligned(bits as u32) };
                return;
            }
            RawReturnOp::None => return,
        };
        // SAFETY: as above.
        unsafe { ret.cast::<u64>().write_unaligned(wide) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArgCheck, Signature, Type};

    #[test]
    fn images_are_the_args_images() {
        let bytes: [u8; 8] = [0xF1, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7, 0xE8];
        let p = bytes.as_ptr().cast::<c_void>();
        let types = crate::value::tests::scalar_types();
        let mut seen = 0;
        for ty in &types {
            let kind = ArgKind::of(ty).unwrap();
            // SAFETY: 8 readable bytes, every type is at most 8 bytes.
            let (image, arg) = unsafe { (kind.raw_image(p), kind.raw_arg(p)) };
            assert_eq!(image, arg.bits(), "{ty}");
            // The image read through the type's own Rust value.
            // SAFETY: as above.
            let want = unsafe {
                match ty {
                    Type::Bool => 1,
                    Type::I8 => Arg::i8(p.cast::<i8>().read()).bits(),
                    Type::U8 => Arg::u8(p.cast::<u8>().read()).bits(),
                    Type::I16 => Arg::i16(p.cast::<i16>().read_unaligned()).bits(),
                    Type::U16 => Arg::u16(p.cast::<u16>().read_unaligned()).bits(),
                    Type::I32 => Arg::i32(p.cast::<i32>().read_unaligned()).bits(),
                    Type::U32 => Arg::u32(p.cast::<u32>().read_unaligned()).bits(),
                    Type::F32 => Arg::f32(p.cast::<f32>().read_unaligned()).bits(),
                    _ => u64::from_ne_bytes(bytes),
                }
            };
            assert_eq!(image, want, "{ty}");
            // The argument is of the parameter's kind.
            let check = ArgCheck::of(ty).unwrap();
            assert_eq!(ArgCheck::first_mismatch(&[check], &[arg]), None, "{ty}");
            seen += 1;
        }
        assert_eq!(seen, 14);
        assert_eq!(ArgKind::of(&Type::Void), None);
        let s: Signature = "void({i32})".parse().unwrap();
        assert_eq!(ArgKind::of(&s.args()[0]), None);
    }

    #[test]
    fn raw_returns_are_written_as_through_a_value() {
        let s: Signature = "void({i32})".parse().unwrap();
        let mut types = crate::value::tests::scalar_types().to_vec();
        types.extend([Type::Void, s.args()[0].clone()]);
        let samples = [
            0u64,
            1,
            0x80,
            0xff,
            0x8000,
            0x8000_0000,
            0xdead_beef_0000_0100,
            u64::MAX,
            (-2.25f64).to_bits(),
            1.5f32.to_bits() as u64 | 0xffff_ffff_0000_0000,
        ];
        for ty in &types {
            let raw = RawReturn::of(ty);
            for &b in &samples {
                let (mut got, mut want) = ([0x5au8; 8], [0x5au8; 8]);
                // SAFETY: 8 writable bytes each.
                unsafe {
                    raw.write(b, got.as_mut_ptr().cast());
                    crate::backend::write_raw_return(
                        crate::Value::from_bits(ty, b),
                        want.as_mut_ptr().cast(),
                    );
                }
                assert_eq!(got, want, "{ty} from {b:#x}");
            }
            // A null slot is left alone.
            // SAFETY: null is allowed.
            unsafe { raw.write(1, std::ptr::null_mut()) };
        }
    }
}

/// A pointer a raw call needs that was null: what a [`RawEntry`] reports instead of
/// calling. Its routine returns it as a code ([`MissingPointer::code`]; 0 means it called).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingPointer {
    /// The argument array itself (for a function with parameters).
    Args,
    /// The return slot (for a function that returns a value).
    Ret,
    /// Argument pointer `k`.
    Arg(usize),
}

impl MissingPointer {
    /// The routine's return code for this fault: `Args` 1, `Ret` 2, `Arg(k)` `3 + k`.
    pub const fn code(self) -> u32 {
        match self {
            MissingPointer::Args => 1,
            MissingPointer::Ret => 2,
            MissingPointer::Arg(k) => 3 + k as u32,
        }
    }

    /// The fault of a routine's return code; `None` for 0 (the call was made).
    pub const fn from_code(code: u32) -> Option<MissingPointer> {
        match code {
            0 => None,
            1 => Some(MissingPointer::Args),
            2 => Some(MissingPointer::Ret),
            k => Some(MissingPointer::Arg((k - 3) as usize)),
        }
    }

    /// The pointer's name as the C API's messages give it: `args`, `ret (the function
    /// returns a value)`, `args[k]`.
    pub fn name(self) -> String {
        match self {
            MissingPointer::Args => "args".to_owned(),
            MissingPointer::Ret => "ret (the function returns a value)".to_owned(),
            MissingPointer::Arg(k) => format!("args[{k}]"),
        }
    }
}

/// A prepared function's libffi-style call entry (`ffikit_call`'s convention: an array of
/// argument pointers and a return slot), resolved once at prepare from the function's call
/// plan so that a call reaches the machine code with no trait object, no type-id test and no
/// match on the plan's form: one indirect call to a routine made for that form (for the asm
/// backend on x86-64, a stub compiled for the plan).
///
/// A backend offers one ([`Backend::raw_entry`](crate::Backend::raw_entry)) for the
/// functions whose arguments it can read straight from their pointers; a
/// [`DynFunction`](crate::DynFunction) keeps it ([`DynFunction::raw_entry`](crate::DynFunction::raw_entry)).
#[derive(Clone, Copy, Debug)]
pub struct RawEntry {
    call: RawRoutine,
    data: *const (),
}

/// The routine of a [`RawEntry`]: `call(data, args, ret, sink, report)`, returning 0 when it
/// made the call, or, having called nothing, `report(sink, code)` with the first missing
/// pointer's [`MissingPointer`] code (see [`RawEntry::call_reporting`]). A C-ABI function
/// pointer, so that a routine may be machine code made at run time, which passes the fault
/// on with a tail jump (`report` returns straight to the routine's caller).
pub type RawRoutine = unsafe extern "C" fn(
    *const (),
    *const *const c_void,
    *mut c_void,
    *mut c_void,
    FaultReport,
) -> u32;

/// What a [`RawRoutine`] calls instead of the function when a pointer is missing:
/// `report(sink, code)` with the [`MissingPointer`] code, whose result the routine returns.
/// The C API's reporter records the message on the context `sink` names and returns the
/// status; [`RawEntry::call`]'s returns the code itself.
///
/// # Safety
/// A reporter is called only by a routine, with the `sink` its caller gave and a nonzero
/// code; it must not unwind.
pub type FaultReport = unsafe extern "C" fn(*mut c_void, u32) -> u32;

/// The reporter of [`RawEntry::call`]: the code itself.
unsafe extern "C" fn fault_code(_sink: *mut c_void, code: u32) -> u32 {
    code
}

impl RawEntry {
    /// An entry that calls `call(data, args, ret, sink, report)`.
    ///
    /// # Safety
    /// `call(data, args, ret, sink, report)` must do what [`RawEntry::call_reporting`] says,
    /// sound for every `args` and `ret` that meet its contract, for as long as the function
    /// `data` belongs to is alive and unchanged.
    pub unsafe fn new(call: RawRoutine, data: *const ()) -> RawEntry {
        RawEntry { call, data }
    }

    /// Calls the function: reads argument `i` from `*args.add(i)` and writes the return
    /// into `ret` as [`Backend::call_raw`](crate::Backend::call_raw) does, and returns 0.
    /// When `args` (for a function with parameters), one of the argument pointers, or `ret`
    /// (for a function that returns a value) is null, it calls nothing and returns the first
    /// such [`MissingPointer`]'s code, for the caller to report.
    ///
    /// # Safety
    /// The function the entry came from is alive and unchanged; `args` (unless null) points
    /// at exactly as many pointers as the signature has parameters, each null or valid for a
    /// read of its parameter's type; `ret` is null or valid for writes of the return (8 bytes
    /// for a scalar, the struct's size for a struct); and the call is sound as for
    /// [`Backend::call`](crate::Backend::call).
    #[inline(always)]
    pub unsafe fn call(self, args: *const *const c_void, ret: *mut c_void) -> u32 {
        // SAFETY: forwarded from the caller's contract and `new`'s; `fault_code` does not
        // unwind.
        unsafe { (self.call)(self.data, args, ret, std::ptr::null_mut(), fault_code) }
    }

    /// [`RawEntry::call`] with the fault passed on: where `call` would return a nonzero
    /// code, this returns `report(sink, code)` (the routine's last act, a tail call in a
    /// compiled stub). The C API's `ffikit_call` tail-calls this with its context as `sink`,
    /// so that its straight path keeps nothing across the call and the routine's result is
    /// its status.
    ///
    /// # Safety
    /// As [`RawEntry::call`]; `report` is sound to call with `sink` and a nonzero code.
    #[inline(always)]
    pub unsafe fn call_reporting(
        self,
        args: *const *const c_void,
        ret: *mut c_void,
        sink: *mut c_void,
        report: FaultReport,
    ) -> u32 {
        // SAFETY: forwarded from the caller's contract and `new`'s.
        unsafe { (self.call)(self.data, args, ret, sink, report) }
    }
}

/// The first pointer of a raw call that is missing, as [`MissingPointer::code`] (0: all
/// present): `args` (when `nargs > 0`), then `ret` when the function `returns` a value, then
/// each argument pointer in order. What a Rust [`RawRoutine`] checks before it reads
/// anything.
///
/// # Safety
/// `args` is null or valid for reads of `nargs` pointers.
#[inline(always)]
pub unsafe fn raw_fault(
    args: *const *const c_void,
    nargs: usize,
    ret: *mut c_void,
    returns: bool,
) -> u32 {
    if nargs > 0 && args.is_null() {
        return MissingPointer::Args.code();
    }
    if returns && ret.is_null() {
        return MissingPointer::Ret.code();
    }
    for k in 0..nargs {
        // SAFETY: `args` is valid for `nargs` reads (the caller's contract).
        if unsafe { (*args.add(k)).is_null() } {
            return MissingPointer::Arg(k).code();
        }
    }
    0
}
