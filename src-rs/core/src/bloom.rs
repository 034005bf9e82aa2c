//! A Bloom filter: the doorkeeper in front of a cache.
//!
//! TinyLFU's doorkeeper idea: most keys in a long-tailed workload are requested once. Remembering
//! "seen once" in a few bits per key, and caching a value only on its second load, keeps one-hit
//! wonders from displacing useful entries. The filter answers "maybe seen" or "surely not seen".
//!
//! Sizing follows the textbook optimum for `n` keys at false-positive rate `p`: `n·(−ln p)/ln²2`
//! bits, rounded up to a power of two so an index is a mask, and `k = ln2·bits/n` hash functions,
//! derived from one 64-bit hash by double hashing (Kirsch & Mitzenmacher 2006). Once `n` distinct
//! keys have been added the false-positive rate would exceed `p`, so the filter starts afresh.

use std::fmt;
use std::hash::BuildHasher;

/// Why a filter could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum BloomError {
    Capacity(f64),
    FalsePositiveRate(f64),
}

impl fmt::Display for BloomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BloomError::Capacity(n) => write!(
                f,
                "BloomFilter capacity must be a positive integer (at most 2^32), got {n}"
            ),
            BloomError::FalsePositiveRate(p) => write!(
                f,
                "BloomFilter falsePositiveRate must be between 0 and 1 (exclusive), got {p}"
            ),
        }
    }
}

impl std::error::Error for BloomError {}

#[derive(Debug, Clone)]
pub struct BloomFilter {
    words: Vec<u64>,
    bit_mask: u64,
    hashes: u32,
    capacity: u64,
    inserted: u64,
    hasher: foldhash::quality::FixedState,
}

impl BloomFilter {
    pub fn new(capacity: f64, false_positive_rate: f64) -> Result<Self, BloomError> {
        if !((1.0..=4_294_967_296.0).contains(&capacity) && capacity.fract() == 0.0) {
            return Err(BloomError::Capacity(capacity));
        }
        let p = false_positive_rate;
        if !(p > 0.0 && p < 1.0) {
            return Err(BloomError::FalsePositiveRate(p));
        }
        let ln2 = std::f64::consts::LN_2;
        let optimal_bits = (capacity * -p.ln() / (ln2 * ln2)).ceil() as u64;
        let bits = optimal_bits.max(64).next_power_of_two();
        let hashes = ((ln2 * bits as f64 / capacity).round() as u32).clamp(1, 64);
        Ok(BloomFilter {
            words: vec![0; (bits / 64) as usize],
            bit_mask: bits - 1,
            hashes,
            capacity: capacity as u64,
            inserted: 0,
            hasher: foldhash::quality::FixedState::with_seed(0x5eed_b10f),
        })
    }

    pub fn bits(&self) -> u64 {
        self.bit_mask + 1
    }

    pub fn hash_count(&self) -> u32 {
        self.hashes
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Distinct keys added since the filter was last cleared.
    pub fn len(&self) -> u64 {
        self.inserted
    }

    pub fn is_empty(&self) -> bool {
        self.inserted == 0
    }

    /// True if the key may have been added (false positives at about the configured rate).
    pub fn contains(&self, key: &[u8]) -> bool {
        let hash = self.hasher.hash_one(key);
        self.bit_indices(hash)
            .all(|bit| self.words[(bit >> 6) as usize] & (1 << (bit & 63)) != 0)
    }

    /// Adds the key; returns true if it (probably) was already present. Adding a new key when
    /// `capacity` keys are in clears the filter first.
    pub fn insert(&mut self, key: &[u8]) -> bool {
        if self.contains(key) {
            return true;
        }
        if self.inserted >= self.capacity {
            self.clear();
        }
        let hash = self.hasher.hash_one(key);
        for bit in self.bit_indices(hash) {
            self.words[(bit >> 6) as usize] |= 1 << (bit & 63);
        }
        self.inserted += 1;
        false
    }

    pub fn clear(&mut self) {
        self.words.fill(0);
        self.inserted = 0;
    }

    fn bit_indices(&self, hash: u64) -> impl Iterator<Item = u64> {
        let step = hash.rotate_left(32) | 1;
        let mask = self.bit_mask;
        (0..u64::from(self.hashes)).map(move |i| hash.wrapping_add(i.wrapping_mul(step)) & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_follows_the_formula() {
        let filter = BloomFilter::new(100_000.0, 0.01).unwrap();
        // 100k · ln(100) / ln²2 ≈ 958,506 bits → 2^20.
        assert_eq!(filter.bits(), 1 << 20);
        // ln2 · 2^20 / 100k ≈ 7.27 → 7.
        assert_eq!(filter.hash_count(), 7);
    }

    #[test]
    fn bad_arguments_are_rejected() {
        assert_eq!(
            BloomFilter::new(0.0, 0.01).unwrap_err(),
            BloomError::Capacity(0.0)
        );
        assert!(BloomFilter::new(-5.0, 0.01).is_err());
        assert!(BloomFilter::new(1.5, 0.01).is_err());
        assert!(BloomFilter::new(f64::NAN, 0.01).is_err());
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert!(BloomFilter::new(100.0, p).is_err(), "p = {p}");
        }
    }

    #[test]
    fn added_keys_are_always_found() {
        let mut filter = BloomFilter::new(10_000.0, 0.01).unwrap();
        for i in 0..10_000u32 {
            assert!(!filter.insert(format!("key:{i}").as_bytes()) || i > 0);
        }
        for i in 0..10_000u32 {
            assert!(filter.contains(format!("key:{i}").as_bytes()));
        }
    }

    #[test]
    fn false_positive_rate_is_within_one_and_a_half_times_the_target() {
        for target in [0.01, 0.001] {
            let mut filter = BloomFilter::new(100_000.0, target).unwrap();
            for i in 0..100_000u32 {
                filter.insert(format!("in:{i}").as_bytes());
            }
            let probes = 200_000u32;
            let false_positives = (0..probes)
                .filter(|i| filter.contains(format!("out:{i}").as_bytes()))
                .count();
            let rate = false_positives as f64 / f64::from(probes);
            assert!(rate <= target * 1.5, "target {target}, measured {rate}");
        }
    }

    #[test]
    fn filter_clears_itself_when_capacity_is_reached() {
        let mut filter = BloomFilter::new(3.0, 0.01).unwrap();
        for key in ["a", "b", "c"] {
            assert!(!filter.insert(key.as_bytes()));
        }
        assert_eq!(filter.len(), 3);
        assert!(
            filter.insert(b"a"),
            "re-adding a present key is not a new insert"
        );
        assert!(!filter.insert(b"d"));
        assert_eq!(
            filter.len(),
            1,
            "the fourth distinct key starts a fresh filter"
        );
        assert!(filter.contains(b"d"));
        assert!(!filter.contains(b"a") || !filter.contains(b"b"));
    }
}
