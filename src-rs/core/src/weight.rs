//! The weight bound: per-entry weights and their total, kept only by caches that have one.
//!
//! A cache built with a maximum weight evicts until both bounds hold: at most `capacity` entries
//! and a total weight of at most `max`. The policy picks whom to evict exactly as for the entry
//! bound (W-TinyLFU's candidate against victim, by frequency), once per entry evicted, as Caffeine's
//! weigher does; an entry heavier than the whole bound is dropped at once instead of emptying the
//! cache for it. Segments (window, probation, protected) stay sized by entry count.

use std::fmt;

/// Largest weight of one entry.
pub const MAX_ENTRY_WEIGHT: u64 = u32::MAX as u64;
/// Largest total weight: integers a JS number holds exactly.
pub const MAX_TOTAL_WEIGHT: u64 = (1 << 53) - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxWeightError(pub u64);

impl fmt::Display for MaxWeightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "local storage maxWeight must be an integer from 1 to {MAX_TOTAL_WEIGHT}, got {}",
            self.0
        )
    }
}

impl std::error::Error for MaxWeightError {}

#[derive(Debug, Clone)]
pub struct Weights {
    per_slot: Vec<u32>,
    total: u64,
    max: u64,
}

impl Weights {
    pub fn new(max: u64) -> Result<Self, MaxWeightError> {
        if max == 0 || max > MAX_TOTAL_WEIGHT {
            return Err(MaxWeightError(max));
        }
        Ok(Weights {
            per_slot: Vec::new(),
            total: 0,
            max,
        })
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn over(&self) -> bool {
        self.total > self.max
    }

    /// Whether the entry in `slot` alone is heavier than the bound, so it can never fit.
    pub fn too_heavy(&self, slot: u32) -> bool {
        self.of(slot) > self.max
    }

    #[inline]
    pub fn of(&self, slot: u32) -> u64 {
        self.per_slot
            .get(slot as usize)
            .copied()
            .map_or(0, u64::from)
    }

    /// Gives `slot` (new or overwritten) its weight.
    pub fn set(&mut self, slot: u32, weight: u32) {
        let at = slot as usize;
        if at >= self.per_slot.len() {
            self.per_slot.resize(at + 1, 0);
        }
        self.total = self.total - u64::from(self.per_slot[at]) + u64::from(weight);
        self.per_slot[at] = weight;
    }

    /// `slot` no longer holds an entry.
    pub fn clear(&mut self, slot: u32) {
        self.set(slot, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_follow_sets_overwrites_and_clears() {
        let mut w = Weights::new(100).unwrap();
        w.set(3, 40);
        w.set(0, 50);
        assert_eq!(w.total(), 90);
        w.set(3, 70);
        assert_eq!(w.total(), 120);
        assert!(w.over());
        w.clear(0);
        assert_eq!((w.total(), w.of(0), w.of(3)), (70, 0, 70));
        w.set(4, 101);
        w.set(5, 100);
        assert!(w.too_heavy(4) && !w.too_heavy(5));
    }

    #[test]
    fn max_weight_out_of_range_is_refused() {
        assert_eq!(Weights::new(0).unwrap_err(), MaxWeightError(0));
        assert!(Weights::new(MAX_TOTAL_WEIGHT + 1).is_err());
        assert!(Weights::new(MAX_TOTAL_WEIGHT).is_ok());
    }
}
