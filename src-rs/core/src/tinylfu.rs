//! W-TinyLFU eviction (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission
//! Policy", ACM ToS 2017), as in Caffeine: the segments and admission of [`crate::segments`], fed
//! by a count-min [`crate::sketch`] of recent request frequencies.
//!
//! With `adaptive` set, a mini-simulation ([`crate::minisim`]) picks the size of the admission
//! window that follows the workload's balance of recency and frequency, and the window moves
//! towards it one entry per request.

use crate::minisim::MiniSim;
use crate::segments::Segments;
use crate::sketch::FrequencySketch;

/// Entries moved between the window and the main space per request while the window travels to
/// the mini-simulation's choice: a full swing takes one request per entry, as long as a decision
/// period, and each access stays cheap.
const RESIZE_PER_ACCESS: i64 = 1;

#[derive(Debug, Clone)]
pub struct WTinyLfu {
    segments: Segments,
    sketch: FrequencySketch,
    adaptation: Option<Box<Adaptation>>,
}

#[derive(Debug, Clone)]
struct Adaptation {
    minisim: MiniSim,
    window_target: u32,
}

impl WTinyLfu {
    /// `slots` is the arena size (capacity + 1: a new entry is linked before its victim leaves).
    pub fn new(capacity: u32, slots: u32, adaptive: bool) -> Self {
        let segments = Segments::new(capacity, slots);
        let window_target = segments.window_max();
        WTinyLfu {
            segments,
            sketch: FrequencySketch::new(capacity),
            adaptation: MiniSim::new(capacity).filter(|_| adaptive).map(|minisim| {
                Box::new(Adaptation {
                    minisim,
                    window_target,
                })
            }),
        }
    }

    /// Current size of the admission window (changes when adaptive).
    pub fn window_max(&self) -> u32 {
        self.segments.window_max()
    }

    /// Counts one request for the key (hit or miss) in the frequency sketch and, when adaptive, in
    /// the mini-simulation.
    #[inline]
    pub fn record_access(&mut self, hash: u64) {
        self.sketch.increment(hash);
        if let Some(adaptation) = &mut self.adaptation {
            if let Some(target) = adaptation.minisim.record(hash, &self.sketch) {
                adaptation.window_target = target;
            }
            let gap = i64::from(adaptation.window_target) - i64::from(self.segments.window_max());
            if gap != 0 {
                self.segments
                    .resize_window(gap.clamp(-RESIZE_PER_ACCESS, RESIZE_PER_ACCESS));
            }
        }
    }

    /// Starts loading what recording a read of this key (and, for a hit, reordering its slot) will
    /// touch first.
    #[inline]
    pub fn prefetch(&self, hash: u64, slot: Option<u32>) {
        self.sketch.prefetch(hash);
        if let Some(slot) = slot {
            self.segments.prefetch(slot);
        }
    }

    /// Reorders an entry that was read (or overwritten).
    #[inline]
    pub fn on_hit(&mut self, slot: u32) {
        self.segments.on_hit(slot);
    }

    /// Links a new entry in the window; returns the entry to evict if the cache is over capacity.
    /// `hash_of` gives the key hash of a slot, for the frequency sketch.
    pub fn on_insert(&mut self, slot: u32, hash_of: impl Fn(u32) -> u64) -> Option<u32> {
        let sketch = &self.sketch;
        self.segments
            .on_insert(slot, |s| sketch.frequency(hash_of(s)))
    }

    /// The entry to evict to bring the cache under its weight bound: see [`Segments::victim`].
    pub fn victim(
        &mut self,
        hash_of: impl Fn(u32) -> u64,
        too_heavy: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        let sketch = &self.sketch;
        self.segments
            .victim(|s| sketch.frequency(hash_of(s)), too_heavy)
    }

    pub fn on_remove(&mut self, slot: u32) {
        self.segments.on_remove(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u64) -> Vec<u64> {
        (0..n)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect()
    }

    #[test]
    fn frequent_victim_is_kept_over_a_cold_candidate_by_the_sketch() {
        let hashes = hashes(4);
        let mut policy = WTinyLfu::new(2, 3, false);
        // window 1, main 1. Slot 0 enters, moves to probation when slot 1 arrives.
        policy.record_access(hashes[0]);
        assert_eq!(policy.on_insert(0, |s| hashes[s as usize]), None);
        policy.record_access(hashes[1]);
        assert_eq!(policy.on_insert(1, |s| hashes[s as usize]), None);
        for _ in 0..5 {
            policy.record_access(hashes[0]);
        }
        // Slot 2 pushes slot 1 out of the window; slot 1 (seen once) loses to slot 0 (seen 6 times).
        policy.record_access(hashes[2]);
        assert_eq!(policy.on_insert(2, |s| hashes[s as usize]), Some(1));
    }

    #[test]
    fn a_fixed_window_never_moves() {
        let hashes = hashes(50_000);
        let mut policy = WTinyLfu::new(1_000, 1_001, false);
        for &hash in &hashes {
            policy.record_access(hash);
        }
        assert_eq!(policy.window_max(), 10);
    }
}
