//! The typed fast path: argument and return types known at compile time.
//!
//! In the style of wasmtime's `TypedFunc<Params, Results>` and libloading's `Symbol<T>`: a
//! typed function is checked once when it is prepared, and a call then only moves values into
//! place. [`Params`] is implemented for tuples of up to [`MAX_TYPED_PARAMS`] (16)
//! [`ArgType`]s (enough for BLAS's `cblas_dgemm`, 14), [`ReturnType`] for `()`, every
//! scalar and every [`CStruct`].
//!
//! | Rust type | grammar type |
//! |---|---|
//! | `bool`, `i8`..`u64`, `isize`, `usize`, `f32`, `f64` | the same name |
//! | `*const T`, `*mut T` | `ptr` (host address; native and asm backends only) |
//! | [`BufferArg`] | `ptr` (turned into each backend's own pointer kind) |
//! | a `#[repr(C)]` struct implementing [`CStruct`] | its struct type `{T, ...}` (native and asm backends only) |

use std::ffi::c_void;

use crate::buffer::{BufferArg, OwnerId};
use crate::error::Error;
use crate::signature::Signature;
use crate::types::{StructType, Type};
use crate::value::ArgKind;

/// Which kind of address a backend's foreign code uses for pointers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerKind {
    /// Host addresses (native code in this process).
    Host,
    /// Guest addresses: offsets into a WebAssembly instance's linear memory.
    Guest,
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that maps to one scalar type of the grammar and can be passed as an argument.
///
/// Sealed: implemented by ffikit for the types in the module table (structs through
/// [`CStruct`]).
pub trait ArgType: Copy + sealed::Sealed {
    /// The grammar type (a constant for scalars, which the compiler folds).
    fn ty() -> Type;
    /// Checks that the Rust type has the C layout of [`ArgType::ty`] (always `Ok` for
    /// scalars; for a [`CStruct`], its size and alignment against the struct type's).
    ///
    /// # Errors
    /// [`Error::TypedStructLayout`] when a [`CStruct`]'s Rust layout differs from the C
    /// layout of the struct type it declares.
    fn check_layout() -> Result<(), Error> {
        Ok(())
    }
    /// True for raw host pointers, which only backends that run in the host address space
    /// can pass.
    const HOST_POINTER: bool = false;
    /// The type passed in the host's C calling convention.
    type Host: Copy;
    /// The value in the host's C calling convention.
    fn to_host(self) -> Self::Host;
    /// The value as a 64-bit register image for a backend whose pointers are of `kind`:
    /// integers extended per their signedness, floats as their IEEE bits (`f32` in the low
    /// 32 bits), pointers as addresses of that kind.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] when a [`BufferArg`] of another owner is lowered to a guest
    /// address (the offset would be meaningless in this instance's linear memory).
    fn to_bits(self, kind: PointerKind, owner: OwnerId) -> Result<u64, Error>;
}

/// A Rust type that a typed function may return.
pub trait ReturnType: Copy + sealed::Sealed {
    /// The grammar type (`Type::Void` for `()`; a constant for scalars, which the compiler
    /// folds).
    fn ty() -> Type;
    /// [`ArgKind::of`]`(&ty())` (`None` for `()`, [`ArgKind::Struct`] for a [`CStruct`]),
    /// for checks on hot paths that must not build and drop a [`Type`].
    const KIND: Option<ArgKind>;
    /// As [`ArgType::check_layout`].
    ///
    /// # Errors
    /// As [`ArgType::check_layout`].
    fn check_layout() -> Result<(), Error> {
        Ok(())
    }
    /// The type returned in the host's C calling convention.
    type Host: Copy;
    /// The value from its host-ABI form.
    fn from_host(host: Self::Host) -> Self;
    /// The value from a 64-bit register image (upper bits of narrow types ignored; a
    /// [`CStruct`] takes its first 8 bytes from the image, little-endian, and zeroes the
    /// rest, which no backend does: structs are returned through [`ReturnType::from_host`]).
    fn from_bits(bits: u64) -> Self;
}

macro_rules! int_types {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl ArgType for $t {
            #[inline(always)]
            fn ty() -> Type { Type::$variant }
            type Host = $t;
            #[inline(always)]
            fn to_host(self) -> $t { self }
            #[inline(always)]
            fn to_bits(self, _: PointerKind, _: OwnerId) -> Result<u64, Error> {
                // `as i64`/`as u64` sign-extends signed types and zero-extends unsigned ones.
                Ok(self as i64 as u64)
            }
        }
        impl ReturnType for $t {
            #[inline(always)]
            fn ty() -> Type { Type::$variant }
            const KIND: Option<ArgKind> = Some(ArgKind::$variant);
            type Host = $t;
            #[inline(always)]
            fn from_host(host: $t) -> $t { host }
            #[inline(always)]
            fn from_bits(bits: u64) -> $t { bits as $t }
        }
    )*};
}

int_types!(
    i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, isize => Isize, usize => Usize,
);

impl sealed::Sealed for bool {}
impl ArgType for bool {
    #[inline(always)]
    fn ty() -> Type {
        Type::Bool
    }
    type Host = bool;
    #[inline(always)]
    fn to_host(self) -> bool {
        self
    }
    #[inline(always)]
    fn to_bits(self, _: PointerKind, _: OwnerId) -> Result<u64, Error> {
        Ok(self as u64)
    }
}
impl ReturnType for bool {
    #[inline(always)]
    fn ty() -> Type {
        Type::Bool
    }
    const KIND: Option<ArgKind> = Some(ArgKind::Bool);
    type Host = bool;
    #[inline(always)]
    fn from_host(host: bool) -> bool {
        host
    }
    #[inline(always)]
    fn from_bits(bits: u64) -> bool {
        bits as u8 != 0
    }
}

impl sealed::Sealed for f32 {}
impl ArgType for f32 {
    #[inline(always)]
    fn ty() -> Type {
        Type::F32
    }
    type Host = f32;
    #[inline(always)]
    fn to_host(self) -> f32 {
        self
    }
    #[inline(always)]
    fn to_bits(self, _: PointerKind, _: OwnerId) -> Result<u64, Error> {
        Ok(self.to_bits() as u64)
    }
}
impl ReturnType for f32 {
    #[inline(always)]
    fn ty() -> Type {
        Type::F32
    }
    const KIND: Option<ArgKind> = Some(ArgKind::F32);
    type Host = f32;
    #[inline(always)]
    fn from_host(host: f32) -> f32 {
        host
    }
    #[inline(always)]
    fn from_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
}

impl sealed::Sealed for f64 {}
impl ArgType for f64 {
    #[inline(always)]
    fn ty() -> Type {
        Type::F64
    }
    type Host = f64;
    #[inline(always)]
    fn to_host(self) -> f64 {
        self
    }
    #[inline(always)]
    fn to_bits(self, _: PointerKind, _: OwnerId) -> Result<u64, Error> {
        Ok(self.to_bits())
    }
}
impl ReturnType for f64 {
    #[inline(always)]
    fn ty() -> Type {
        Type::F64
    }
    const KIND: Option<ArgKind> = Some(ArgKind::F64);
    type Host = f64;
    #[inline(always)]
    fn from_host(host: f64) -> f64 {
        host
    }
    #[inline(always)]
    fn from_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
}

impl sealed::Sealed for () {}
impl ReturnType for () {
    #[inline(always)]
    fn ty() -> Type {
        Type::Void
    }
    const KIND: Option<ArgKind> = None;
    type Host = ();
    #[inline(always)]
    fn from_host(_: ()) {}
    #[inline(always)]
    fn from_bits(_: u64) {}
}

macro_rules! ptr_types {
    ($($p:ty),*) => {$(
        impl<T> sealed::Sealed for $p {}
        impl<T> ArgType for $p {
            #[inline(always)]
            fn ty() -> Type { Type::Ptr }
            const HOST_POINTER: bool = true;
            type Host = $p;
            #[inline(always)]
            fn to_host(self) -> $p { self }
            #[inline(always)]
            fn to_bits(self, _: PointerKind, _: OwnerId) -> Result<u64, Error> {
                Ok(self as usize as u64)
            }
        }
        impl<T> ReturnType for $p {
            #[inline(always)]
            fn ty() -> Type { Type::Ptr }
            const KIND: Option<ArgKind> = Some(ArgKind::Ptr);
            type Host = $p;
            #[inline(always)]
            fn from_host(host: $p) -> $p { host }
            #[inline(always)]
            fn from_bits(bits: u64) -> $p { bits as usize as $p }
        }
    )*};
}

ptr_types!(*const T, *mut T);

impl sealed::Sealed for BufferArg {}
impl ArgType for BufferArg {
    #[inline(always)]
    fn ty() -> Type {
        Type::Ptr
    }
    type Host = *mut c_void;
    #[inline(always)]
    fn to_host(self) -> *mut c_void {
        self.host_ptr().cast()
    }
    #[inline(always)]
    fn to_bits(self, kind: PointerKind, owner: OwnerId) -> Result<u64, Error> {
        match kind {
            PointerKind::Host => Ok(self.host_ptr() as usize as u64),
            PointerKind::Guest if self.owner() == owner => Ok(self.guest_addr()),
            PointerKind::Guest => Err(Error::ForeignBuffer {
                owner: self.owner().get(),
                context: owner.get(),
            }),
        }
    }
}

/// A `#[repr(C)]` struct that typed calls pass and return by value, as C does: the Rust
/// struct travels through an `extern "C"` function pointer, so the compiler applies the C
/// ABI's struct rules (System V eightbyte classification and `sret`, AAPCS64 HFAs and
/// indirect copies) exactly as for a C caller.
///
/// Implement it for a struct whose C twin the foreign code takes:
///
/// ```
/// use ffi_trait::{CStruct, StructType, Type};
///
/// #[repr(C)]
/// #[derive(Clone, Copy)]
/// struct Pair {
///     a: i64,
///     b: f64,
/// }
///
/// // SAFETY: `Pair` is `#[repr(C)]` with exactly these fields, in this order.
/// unsafe impl CStruct for Pair {
///     fn struct_type() -> StructType {
///         StructType::new(vec![Type::I64, Type::F64]).expect("a valid field list")
///     }
/// }
/// ```
///
/// A typed prepare ([`typed_signature`]) compares the Rust size and alignment with the struct
/// type's C layout and fails with [`Error::TypedStructLayout`] when they differ. Only the
/// backends that call host code take structs (native and asm); the wasm backend rejects
/// them at prepare, as it does on its dynamic path.
///
/// # Safety
/// The type is `#[repr(C)]` with exactly the fields [`CStruct::struct_type`] lists, in
/// order, each of the Rust type that maps to its grammar type (the module's table; a nested
/// struct, its own `CStruct`), so that its layout is the struct type's C layout; and the
/// all-zero bit pattern is a valid value of it (true of every field type in the table:
/// `0`, `0.0`, `false`, null).
pub unsafe trait CStruct: Copy + 'static {
    /// The struct type: its fields in declaration order.
    fn struct_type() -> StructType;
}

/// [`ArgType::check_layout`] of a [`CStruct`]: its Rust size and alignment against its struct
/// type's C layout (a free function, so that no impl can override the check).
///
/// # Errors
/// [`Error::TypedStructLayout`] when either differs.
fn check_struct_layout<T: CStruct>() -> Result<(), Error> {
    let st = T::struct_type();
    let (size, align) = (size_of::<T>(), align_of::<T>());
    if st.size() == size && st.align() == align {
        return Ok(());
    }
    Err(Error::TypedStructLayout {
        rust_type: std::any::type_name::<T>(),
        struct_type: st.to_string(),
        reason: format!(
            "the Rust type is {size} bytes aligned to {align}, the struct type's C layout is \
             {} bytes aligned to {}",
            st.size(),
            st.align()
        ),
    })
}

impl<T: CStruct> sealed::Sealed for T {}

impl<T: CStruct> ArgType for T {
    #[inline(always)]
    fn ty() -> Type {
        Type::Struct(T::struct_type())
    }
    fn check_layout() -> Result<(), Error> {
        check_struct_layout::<T>()
    }
    type Host = T;
    #[inline(always)]
    fn to_host(self) -> T {
        self
    }
    /// A struct has no single register image: always [`Error::TypedStructLayout`] (the
    /// backends that lower typed arguments to images, wasm's, reject structs at prepare).
    fn to_bits(self, _: PointerKind, _: OwnerId) -> Result<u64, Error> {
        Err(Error::TypedStructLayout {
            rust_type: std::any::type_name::<T>(),
            struct_type: T::struct_type().to_string(),
            reason: "a struct by value has no single 64-bit register image".into(),
        })
    }
}

impl<T: CStruct> ReturnType for T {
    #[inline(always)]
    fn ty() -> Type {
        Type::Struct(T::struct_type())
    }
    const KIND: Option<ArgKind> = Some(ArgKind::Struct);
    fn check_layout() -> Result<(), Error> {
        check_struct_layout::<T>()
    }
    type Host = T;
    #[inline(always)]
    fn from_host(host: T) -> T {
        host
    }
    fn from_bits(bits: u64) -> T {
        let mut v = std::mem::MaybeUninit::<T>::zeroed();
        let n = size_of::<T>().min(8);
        // SAFETY: `n` bytes fit both the image and `v`; the all-zero pattern is a valid `T`
        // (`CStruct`'s contract) and the fields are plain scalars, so any bytes over it are.
        unsafe {
            std::ptr::copy_nonoverlapping(bits.to_le_bytes().as_ptr(), v.as_mut_ptr().cast(), n);
            v.assume_init()
        }
    }
}

/// The signature of a typed function `R(P...)`, with every [`CStruct`]'s layout checked
/// against its struct type: what each backend's [`Backend::prepare_typed`] starts from.
///
/// # Errors
/// [`Error::BadSignature`] for a `void` parameter list entry (none of the impls produce
/// one), [`Error::TypedStructLayout`] for a struct whose Rust layout is not its C layout.
///
/// [`Backend::prepare_typed`]: crate::Backend::prepare_typed
pub fn typed_signature<P: Params, R: ReturnType>() -> Result<Signature, Error> {
    P::check_layouts()?;
    R::check_layout()?;
    Ok(Signature::new(R::ty(), P::types())?)
}

/// The most parameters a typed function takes: [`Params`] is implemented for tuples of 0 to
/// 16 [`ArgType`]s.
pub const MAX_TYPED_PARAMS: usize = 16;

/// A tuple of [`ArgType`]s: the parameters of a typed function.
pub trait Params: Copy {
    /// Number of parameters.
    const COUNT: usize;
    /// True when any parameter is a raw host pointer.
    const HOST_POINTERS: bool;
    /// The grammar types, in order.
    fn types() -> Vec<Type>;
    /// [`ArgType::check_layout`] of every parameter.
    ///
    /// # Errors
    /// The first parameter's [`Error::TypedStructLayout`].
    fn check_layouts() -> Result<(), Error>;
    /// Writes each parameter's register image (see [`ArgType::to_bits`]) into `out[i]`.
    ///
    /// # Errors
    /// As [`ArgType::to_bits`].
    ///
    /// # Panics
    /// When `out` is shorter than [`Params::COUNT`].
    fn lower(self, kind: PointerKind, owner: OwnerId, out: &mut [u64]) -> Result<(), Error>;
    /// Calls the C function at `code` with these arguments, in the host's C calling
    /// convention.
    ///
    /// # Safety
    /// `code` must be a function with exactly the C signature `R(Params...)`, and the call
    /// must be sound for these argument values (pointers valid for what the function does).
    unsafe fn call_host<R: ReturnType>(self, code: *const c_void) -> R;
}

macro_rules! params {
    ($count:expr; $($name:ident $idx:tt),*) => {
        impl<$($name: ArgType),*> Params for ($($name,)*) {
            const COUNT: usize = $count;
            const HOST_POINTERS: bool = false $(|| $name::HOST_POINTER)*;
            fn types() -> Vec<Type> {
                vec![$($name::ty()),*]
            }
            fn check_layouts() -> Result<(), Error> {
                $($name::check_layout()?;)*
                Ok(())
            }
            #[inline(always)]
            #[allow(unused_variables)]
            fn lower(self, kind: PointerKind, owner: OwnerId, out: &mut [u64]) -> Result<(), Error> {
                $(out[$idx] = self.$idx.to_bits(kind, owner)?;)*
                Ok(())
            }
            #[inline(always)]
            unsafe fn call_host<R: ReturnType>(self, code: *const c_void) -> R {
                let f: unsafe extern "C" fn($($name::Host),*) -> R::Host =
                    // SAFETY: the caller guarantees `code` is a C function of exactly this
                    // signature; data and function pointers have the same size here.
                    unsafe { std::mem::transmute::<*const c_void, _>(code) };
                // SAFETY: the caller guarantees the call is sound for these values.
                R::from_host(unsafe { f($(self.$idx.to_host()),*) })
            }
        }
    };
}

params!(0;);
params!(1; A 0);
params!(2; A 0, B 1);
params!(3; A 0, B 1, C 2);
params!(4; A 0, B 1, C 2, D 3);
params!(5; A 0, B 1, C 2, D 3, E 4);
params!(6; A 0, B 1, C 2, D 3, E 4, F 5);
params!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
params!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
params!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
params!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
params!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
params!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
params!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
params!(14; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
params!(15; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
params!(16; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
// The largest tuple implemented is MAX_TYPED_PARAMS long.
#[rustfmt::skip]
const _: () = assert!(
    <(u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8)>::COUNT == MAX_TYPED_PARAMS
);

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn mix(a: i8, b: f64, c: u16, d: f32) -> f64 {
        a as f64 + b + c as f64 + d as f64
    }

    #[test]
    fn call_host_uses_the_c_convention() {
        let code = mix as *const c_void;
        // SAFETY: `mix` has exactly this signature.
        let r: f64 = unsafe { (-3i8, 0.5f64, 7u16, 0.25f32).call_host(code) };
        assert_eq!(r, 4.75);
        assert_eq!(
            <(i8, f64, u16, f32)>::types(),
            vec![Type::I8, Type::F64, Type::U16, Type::F32]
        );
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Pair {
        a: i32,
        b: f64,
    }

    // SAFETY: `#[repr(C)]` with exactly these fields.
    unsafe impl CStruct for Pair {
        fn struct_type() -> StructType {
            StructType::new(vec![Type::I32, Type::F64]).unwrap()
        }
    }

    #[test]
    fn structs_take_their_struct_type() {
        let sig = typed_signature::<(i8, Pair), Pair>().unwrap();
        assert_eq!(sig.to_string(), "{i32, f64}(i8, {i32, f64})");
        assert_eq!(<Pair as ReturnType>::KIND, Some(ArgKind::Struct));
        let p = Pair { a: -5, b: 0.5 };
        let e = p.to_bits(PointerKind::Host, OwnerId::fresh()).unwrap_err();
        assert!(matches!(e, Error::TypedStructLayout { .. }), "{e}");
        // The first 8 bytes from the image (here `a` and the padding), the rest zero.
        assert_eq!(
            <Pair as ReturnType>::from_bits(0xdead_beef_ffff_fffb),
            Pair { a: -5, b: 0.0 }
        );
        // A C caller's view of the struct: `extern "C"` passes it by the C rules.
        extern "C" fn take(k: i8, p: Pair) -> Pair {
            Pair {
                a: p.a * k as i32,
                b: p.b + 1.0,
            }
        }
        // SAFETY: `take` has exactly this signature.
        let r: Pair = unsafe { (3i8, p).call_host(take as *const c_void) };
        assert_eq!(r, Pair { a: -15, b: 1.5 });
    }

    #[test]
    fn lower_gives_register_images() {
        let mut out = [0u64; 3];
        (-1i16, 2.0f32, u32::MAX)
            .lower(PointerKind::Host, OwnerId::fresh(), &mut out)
            .unwrap();
        assert_eq!(out, [u64::MAX, 2.0f32.to_bits() as u64, u32::MAX as u64]);
        const { assert!(<(*const u8, i32)>::HOST_POINTERS) };
        const { assert!(!<(BufferArg, i32)>::HOST_POINTERS) };
    }
}
