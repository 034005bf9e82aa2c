//! A 4-bit count-min sketch: the frequency histogram behind TinyLFU admission.
//!
//! TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", 2017)
//! admits a new entry only when it has been requested more often, recently, than the entry it would
//! displace. Counting exactly would cost a map as large as the key space; a count-min sketch with
//! 4-bit saturating counters answers "how often, roughly" in a few bytes per cached entry.
//!
//! Layout follows the idea of Caffeine's `FrequencySketch`: the table is split into 64-byte blocks
//! (eight `u64` words of sixteen 4-bit counters each). A key hashes to one block and to one counter in
//! four of that block's words, so an increment or estimate touches a single cache line.
//!
//! Aging: after `sample_size` (10 × capacity) increments every counter is halved, so the sketch keeps
//! a recent frequency history and old popularity fades ("reset" in the TinyLFU paper).

/// Counters per key: the estimate is the minimum over these.
const DEPTH: u32 = 4;
/// Mask that keeps the low bit of every 4-bit counter, used to count odd counters while halving.
const ONE_MASK: u64 = 0x1111_1111_1111_1111;
/// Mask that clears the bit that a right shift moves into the neighbouring counter.
const RESET_MASK: u64 = 0x7777_7777_7777_7777;
/// Largest value a 4-bit counter holds.
const MAX_COUNT: u64 = 15;

#[derive(Debug, Clone)]
pub struct FrequencySketch {
    table: Vec<u64>,
    block_mask: u64,
    sample_size: u64,
    additions: u64,
}

impl FrequencySketch {
    /// A sketch sized for a cache of `capacity` entries: one 16-counter word per entry, rounded up to
    /// a power of two, and at least one block.
    pub fn new(capacity: u32) -> Self {
        let words = (capacity.max(8) as usize).next_power_of_two();
        FrequencySketch {
            table: vec![0; words],
            block_mask: ((words >> 3) - 1) as u64,
            sample_size: 10 * u64::from(capacity.max(1)),
            additions: 0,
        }
    }

    /// Requests counted since the last halving.
    pub fn additions(&self) -> u64 {
        self.additions
    }

    /// Increments between two halvings.
    pub fn sample_size(&self) -> u64 {
        self.sample_size
    }

    /// Estimated number of recent requests for the key with this hash (0..=15).
    pub fn frequency(&self, hash: u64) -> u32 {
        let (block, counter_hash) = self.locate(hash);
        let mut min = MAX_COUNT;
        for i in 0..DEPTH {
            let (word, shift) = Self::counter(block, counter_hash, i);
            min = min.min((self.table[word] >> shift) & MAX_COUNT);
        }
        min as u32
    }

    /// Records one request for the key with this hash; halves all counters once a sample is full.
    pub fn increment(&mut self, hash: u64) {
        let (block, counter_hash) = self.locate(hash);
        let mut added = false;
        for i in 0..DEPTH {
            let (word, shift) = Self::counter(block, counter_hash, i);
            if (self.table[word] >> shift) & MAX_COUNT < MAX_COUNT {
                self.table[word] += 1 << shift;
                added = true;
            }
        }
        if added {
            self.additions += 1;
            if self.additions >= self.sample_size {
                self.halve();
            }
        }
    }

    /// Ages the history: every counter is halved. The addition count drops by the halved amount,
    /// correcting for the odd counters that lose their low bit (as Caffeine does).
    fn halve(&mut self) {
        let mut odd = 0u64;
        for word in &mut self.table {
            odd += u64::from((*word & ONE_MASK).count_ones());
            *word = (*word >> 1) & RESET_MASK;
        }
        self.additions = (self.additions - (odd >> 2)) >> 1;
    }

    /// Starts loading the block of the key with this hash.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        crate::prefetch::prefetch(&self.table[self.locate(hash).0]);
    }

    /// The block a key lives in, and an independent hash that picks its counters there.
    #[inline]
    fn locate(&self, hash: u64) -> (usize, u64) {
        let block_hash = spread(hash);
        let counter_hash = rehash(block_hash);
        (((block_hash & self.block_mask) << 3) as usize, counter_hash)
    }

    /// Word index and bit shift of the key's `i`-th counter: each of the four counters lives in its
    /// own pair of words of the block, and one of sixteen nibbles of that word.
    #[inline]
    fn counter(block: usize, counter_hash: u64, i: u32) -> (usize, u32) {
        let h = counter_hash >> (i << 3);
        let nibble = ((h >> 1) & 15) as u32;
        let word = block + (h & 1) as usize + ((i as usize) << 1);
        (word, nibble << 2)
    }
}

/// Mixes the caller's hash so that keys whose hashes differ only in high bits still spread across
/// blocks (a multiply-xorshift finalizer).
#[inline]
fn spread(x: u64) -> u64 {
    let x = (x ^ (x >> 31)).wrapping_mul(0x7fb5_d329_728e_a185);
    x ^ (x >> 27)
}

/// A second, independent mix of the block hash that selects counters inside the block.
#[inline]
fn rehash(x: u64) -> u64 {
    let x = x.wrapping_mul(0x31848bab4c38a8bb);
    x ^ (x >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_key_has_zero_frequency() {
        let sketch = FrequencySketch::new(512);
        assert_eq!(sketch.frequency(12345), 0);
    }

    #[test]
    fn increments_are_counted_and_saturate_at_fifteen() {
        let mut sketch = FrequencySketch::new(512);
        for n in 1..=20u32 {
            sketch.increment(42);
            assert_eq!(sketch.frequency(42), n.min(15));
        }
    }

    #[test]
    fn heavy_hitter_is_estimated_above_the_tail() {
        let mut sketch = FrequencySketch::new(1024);
        for i in 0..1000u64 {
            sketch.increment(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        for _ in 0..10 {
            sketch.increment(7);
        }
        let tail_max = (0..1000u64)
            .map(|i| sketch.frequency(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .filter(|&f| f > 3)
            .count();
        assert!(sketch.frequency(7) >= 10);
        assert!(
            tail_max < 20,
            "too many tail keys over-estimated: {tail_max}"
        );
    }

    #[test]
    fn counters_are_halved_after_a_full_sample() {
        let mut sketch = FrequencySketch::new(64);
        for _ in 0..8 {
            sketch.increment(99);
        }
        assert_eq!(sketch.frequency(99), 8);
        // Fill the rest of the sample with distinct keys to trigger the halving.
        let mut i = 1_000u64;
        while sketch.additions() != 0 && sketch.additions() < sketch.sample_size() - 1 {
            sketch.increment(i.wrapping_mul(0x2545_f491_4f6c_dd1d));
            i += 1;
        }
        sketch.increment(i.wrapping_mul(0x2545_f491_4f6c_dd1d));
        assert!(sketch.additions() < sketch.sample_size() / 2 + 1);
        assert!(
            sketch.frequency(99) <= 4,
            "expected halving, got {}",
            sketch.frequency(99)
        );
    }
}
