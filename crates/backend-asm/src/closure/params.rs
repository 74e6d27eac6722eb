//! [`ClosureParams`]: the argument tuples of typed closures ([`crate::Closure::typed`]).

use ffi_trait::{ReturnType, Type};

/// A tuple of scalar Rust types (`()`, `(A,)`, `(A, B)`, ... up to 8, each a
/// [`ReturnType`] other than `()`): the parameters of a typed closure, in order.
pub trait ClosureParams: Sized {
    /// The grammar types of the elements, in order.
    fn types() -> Vec<Type>;

    /// The tuple from the 64-bit register images of its elements (`read(i)` for element `i`:
    /// the value in the low bytes, as the calling convention leaves it; upper bits ignored).
    fn lift<F: Fn(usize) -> u64>(read: &F) -> Self;
}

impl ClosureParams for () {
    fn types() -> Vec<Type> {
        Vec::new()
    }

    #[inline(always)]
    fn lift<F: Fn(usize) -> u64>(_: &F) {}
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: ReturnType),+> ClosureParams for ($($t,)+) {
            fn types() -> Vec<Type> {
                vec![$($t::ty()),+]
            }

            #[inline(always)]
            fn lift<F: Fn(usize) -> u64>(read: &F) -> Self {
                ($($t::from_bits(read($i)),)+)
            }
        }
    )*};
}

tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, G 5)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7)
}
