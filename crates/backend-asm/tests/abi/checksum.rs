//! The fixture's checksum and value derivation (see `ffikit_test_support::abi_corpus`),
//! shared by the call and the callback conformance tests (each uses a part of it).
#![allow(dead_code)]

use ffi_trait::Type;

/// The fixture's mixing step.
pub(crate) fn mix(h: u64, v: u64) -> u64 {
    let h = (h ^ v).wrapping_mul(0x100000001b3);
    h ^ (h >> 29)
}

/// SplitMix64.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
}

/// The fixture's `conv_T(h)` as the bytes of a `T`.
pub(crate) fn conv(ty: &Type, h: u64) -> Vec<u8> {
    match ty {
        Type::Bool => vec![(h & 1) as u8],
        Type::F32 => ((h >> 40) as f32).to_ne_bytes().to_vec(),
        Type::F64 => ((h >> 11) as f64).to_ne_bytes().to_vec(),
        other => h.to_ne_bytes()[..other.size()].to_vec(),
    }
}

/// The checksum word of a scalar of type `ty` whose bytes are `bytes`, as the fixture's
/// fold widens it (`promoted`: a variadic `float`, folded as the `double` it became).
pub(crate) fn check_word(ty: &Type, bytes: &[u8], promoted: bool) -> u64 {
    let mut w = [0u8; 8];
    w[..ty.size()].copy_from_slice(&bytes[..ty.size()]);
    let x = u64::from_le_bytes(w);
    match ty {
        Type::Bool => (x as u8 != 0) as u64,
        Type::I8 => x as i8 as i64 as u64,
        Type::I16 => x as i16 as i64 as u64,
        Type::I32 => x as i32 as i64 as u64,
        Type::F32 if promoted => (f32::from_bits(x as u32) as f64).to_bits(),
        _ => x,
    }
}
