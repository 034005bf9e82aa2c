//! Keys as the cache stores them: a keyed 128-bit fingerprint instead of the key bytes.
//!
//! The table never gives keys back (the caller keeps values, Rust keeps order and expiry), so it only
//! needs to tell keys apart. Storing 16 bytes per entry instead of the key itself (40 bytes inline
//! plus a heap copy for long keys) is what lets a million entries fit in less memory than a JS
//! `Map` of the same keys, and a hit compares two words instead of the key's bytes.
//!
//! # Why a fingerprint is safe
//!
//! Two different keys present at once with the same fingerprint would make one answer for the
//! other. The fingerprint is SipHash-1-3 with a 128-bit output, keyed with 128 random bits per
//! cache; SipHash is a pseudo-random function, so without the key an input's fingerprint is
//! indistinguishable from 128 uniform random bits, and no one can choose keys that collide.
//! - Among `n` keys, the chance that any two share a fingerprint is at most `n² / 2^129`: for the
//!   largest cache (2^30 entries) that is 2^-69.
//! - A lookup of an absent key matches a present one with probability `n / 2^128`; after 2^40
//!   lookups against 2^30 entries the chance that any one ever did is 2^-58.
//!
//! The test below checks the one assumption these bounds rest on, that fingerprints behave as
//! uniform random bits: truncated to 32 bits, a seeded sample collides as often as the birthday
//! bound predicts. The table also uses the fingerprint's first word as its hash, and the frequency
//! sketch hashes with it, so each key is hashed once.
//!
//! SipHash-1-3 (the variant Rust's standard `HashMap` uses for its flooding resistance) comes from
//! the `siphasher` crate; no smaller keyed 128-bit PRF is available in a maintained crate.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use siphasher::sip128::{Hasher128, SipHasher13};

/// A key's 128-bit fingerprint; `hash` also places it in the table and the frequency sketch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fingerprint {
    pub hash: u64,
    pub check: u64,
}

/// Computes fingerprints with one cache's secret key.
#[derive(Debug, Clone)]
pub struct KeyHasher {
    k0: u64,
    k1: u64,
}

impl KeyHasher {
    /// A hasher with 128 secret random bits, drawn from the OS-seeded `RandomState`.
    pub fn random() -> Self {
        let state = RandomState::new();
        KeyHasher {
            k0: state.hash_one(0x6b30_u64),
            k1: state.hash_one(0x6b31_u64),
        }
    }

    /// A hasher with a fixed key: the same requests give the same evictions. For replays and tests.
    pub fn with_seed(seed: u64) -> Self {
        KeyHasher {
            k0: seed,
            k1: seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    #[inline]
    pub fn fingerprint(&self, key: &[u8]) -> Fingerprint {
        let mut hasher = SipHasher13::new_with_keys(self.k0, self.k1);
        hasher.write(key);
        let out = hasher.finish128();
        Fingerprint {
            hash: out.h1,
            check: out.h2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(i: u32) -> Vec<u8> {
        format!("app:user:{i}:info:v1").into_bytes()
    }

    #[test]
    fn same_key_same_fingerprint_and_other_secrets_give_others() {
        let a = KeyHasher::with_seed(1);
        assert_eq!(a.fingerprint(b"k"), a.fingerprint(b"k"));
        assert_ne!(a.fingerprint(b"k"), a.fingerprint(b"l"));
        assert_ne!(
            a.fingerprint(b"k"),
            KeyHasher::with_seed(2).fingerprint(b"k")
        );
        assert_ne!(
            KeyHasher::random().fingerprint(b"k"),
            KeyHasher::random().fingerprint(b"k")
        );
    }

    #[test]
    fn a_million_keys_have_distinct_fingerprints() {
        let hasher = KeyHasher::with_seed(7);
        let mut seen = HashSet::with_capacity(1 << 20);
        for i in 0..1_000_000 {
            assert!(seen.insert(hasher.fingerprint(&key(i))), "key {i} collided");
        }
    }

    /// The bounds in the module documentation assume fingerprints are uniform random bits. Cut to
    /// 32 bits, 2^17 keys then share a value in about n(n−1)/2^33 ≈ 2.0 pairs (Poisson); a hash
    /// with structure in its output would collide far more. The sample is seeded, so the count is
    /// fixed; a range of 0..=8 holds for 99.9% of seeds.
    #[test]
    fn truncated_fingerprints_collide_as_often_as_random_bits() {
        for (seed, word) in [(11, 0), (12, 1)] {
            let hasher = KeyHasher::with_seed(seed);
            let n = 1u32 << 17;
            let mut seen = HashSet::with_capacity(n as usize);
            let mut pairs = 0;
            for i in 0..n {
                let fp = hasher.fingerprint(&key(i));
                let bits = if word == 0 { fp.hash } else { fp.check } as u32;
                if !seen.insert(bits) {
                    pairs += 1;
                }
            }
            assert!(
                pairs <= 8,
                "{pairs} colliding pairs in 32 bits (expected about 2)"
            );
        }
    }
}
