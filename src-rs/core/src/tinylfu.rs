//! W-TinyLFU eviction (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission
//! Policy", ACM ToS 2017), as in Caffeine.
//!
//! New entries land in a small LRU *window* (1% of the capacity at first) so that bursts of
//! recent keys get a chance to prove themselves. When the window overflows, its oldest entry becomes
//! a *candidate* for the main space, a segmented LRU: *probation* (20%) for entries seen once in
//! main, *protected* (80%) for entries hit again while on probation. When the cache is over
//! capacity, the candidate competes with probation's oldest entry (the *victim*): the one the
//! frequency sketch says was requested more often recently stays. A warm candidate (frequency ≥ 6)
//! that loses is still admitted once in 128 times at random, so an attacker who floods the sketch
//! with collisions cannot pin the victim forever (Caffeine's hash-flooding defence).
//!
//! With `adaptive` set, a hill climber ([`crate::climber`]) moves capacity between the window and
//! the main space to follow the workload's balance of recency and frequency.

use crate::climber::HillClimber;
use crate::list::Lists;
use crate::sketch::FrequencySketch;

const WINDOW: u8 = 0;
const PROBATION: u8 = 1;
const PROTECTED: u8 = 2;

/// Share of the capacity given to the main (SLRU) space at first.
const MAIN_SHARE: f64 = 0.99;
/// Share of the main space given to the protected segment.
const PROTECTED_SHARE: f64 = 0.8;
/// A losing candidate this warm may still be admitted at random (hash-flooding defence).
const WARM_CANDIDATE: u32 = 6;
/// Bounds the entries moved between segments in one window resize, keeping each access cheap.
const MAX_TRANSFER: u32 = 1000;

#[derive(Debug, Clone)]
pub struct WTinyLfu {
    lists: Lists,
    segment: Vec<u8>,
    sketch: FrequencySketch,
    climber: Option<HillClimber>,
    capacity: u32,
    len: u32,
    window_max: u32,
    window_len: u32,
    protected_max: u32,
    protected_len: u32,
    random: u64,
}

impl WTinyLfu {
    /// `slots` is the arena size (capacity + 1: a new entry is linked before its victim leaves).
    pub fn new(capacity: u32, slots: u32, adaptive: bool) -> Self {
        let main_max = (f64::from(capacity) * MAIN_SHARE) as u32;
        WTinyLfu {
            lists: Lists::new(slots, 3),
            segment: vec![WINDOW; slots as usize],
            sketch: FrequencySketch::new(capacity),
            climber: adaptive.then(|| HillClimber::new(capacity)),
            capacity,
            len: 0,
            window_max: capacity - main_max,
            window_len: 0,
            protected_max: (f64::from(main_max) * PROTECTED_SHARE) as u32,
            protected_len: 0,
            random: 0x853c_49e6_748f_ea9b,
        }
    }

    /// Current size of the admission window (changes when adaptive).
    pub fn window_max(&self) -> u32 {
        self.window_max
    }

    /// Counts one request for the key (hit or miss) in the frequency sketch and the hill climber.
    #[inline]
    pub fn record_access(&mut self, hash: u64, hit: bool) {
        self.sketch.increment(hash);
        if let Some(step) = self.climber.as_mut().and_then(|c| c.record(hit)) {
            self.resize_window(step);
        }
    }

    /// Starts loading what recording a read of this key (and, for a hit, reordering its slot) will
    /// touch first.
    #[inline]
    pub fn prefetch(&self, hash: u64, slot: Option<u32>) {
        self.sketch.prefetch(hash);
        if let Some(slot) = slot {
            crate::prefetch::prefetch(&self.segment[slot as usize]);
            self.lists.prefetch(slot);
        }
    }

    /// Reorders an entry that was read (or overwritten).
    #[inline]
    pub fn on_hit(&mut self, slot: u32) {
        match self.segment[slot as usize] {
            PROBATION => {
                self.lists.move_to_back(PROTECTED, slot);
                self.segment[slot as usize] = PROTECTED;
                self.protected_len += 1;
                self.demote_protected_overflow();
            }
            segment => self.lists.move_to_back(segment, slot),
        }
    }

    /// Links a new entry in the window; returns the entry to evict if the cache is over capacity.
    /// `hash_of` gives the key hash of a slot, for the frequency sketch.
    pub fn on_insert(&mut self, slot: u32, hash_of: impl Fn(u32) -> u64) -> Option<u32> {
        self.lists.push_back(WINDOW, slot);
        self.segment[slot as usize] = WINDOW;
        self.window_len += 1;
        self.len += 1;
        let candidate = self.spill_window();
        if self.len <= self.capacity {
            return None;
        }
        let victim = self.lists.front(PROBATION);
        match (candidate, victim) {
            (Some(candidate), Some(victim)) if candidate != victim => {
                Some(if self.admit(hash_of(candidate), hash_of(victim)) {
                    victim
                } else {
                    candidate
                })
            }
            (_, Some(victim)) => Some(victim),
            (_, None) => self
                .lists
                .front(PROTECTED)
                .or_else(|| self.lists.front(WINDOW)),
        }
    }

    /// The entry to evict to bring the cache under its weight bound (Caffeine's eviction from main
    /// with a weigher): the candidate (probation's newest, the last admitted from the window)
    /// against the victim (probation's oldest), the less frequent one losing, and a candidate
    /// heavier than the bound losing outright. With probation empty, protected's oldest, then the
    /// window's.
    pub fn victim(
        &mut self,
        hash_of: impl Fn(u32) -> u64,
        too_heavy: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        match (self.lists.front(PROBATION), self.lists.back(PROBATION)) {
            (Some(victim), Some(candidate)) if victim != candidate => Some(
                if too_heavy(candidate) || !self.admit(hash_of(candidate), hash_of(victim)) {
                    candidate
                } else {
                    victim
                },
            ),
            (Some(victim), _) => Some(victim),
            _ => self
                .lists
                .front(PROTECTED)
                .or_else(|| self.lists.front(WINDOW)),
        }
    }

    pub fn on_remove(&mut self, slot: u32) {
        self.lists.unlink(slot);
        match self.segment[slot as usize] {
            WINDOW => self.window_len -= 1,
            PROTECTED => self.protected_len -= 1,
            _ => {}
        }
        self.len -= 1;
    }

    /// Moves the window's overflow to probation; returns the first entry moved (the candidate).
    fn spill_window(&mut self) -> Option<u32> {
        let mut candidate = None;
        while self.window_len > self.window_max {
            let Some(oldest) = self.lists.front(WINDOW) else {
                break;
            };
            self.lists.move_to_back(PROBATION, oldest);
            self.segment[oldest as usize] = PROBATION;
            self.window_len -= 1;
            candidate.get_or_insert(oldest);
        }
        candidate
    }

    fn demote_protected_overflow(&mut self) {
        while self.protected_len > self.protected_max {
            let Some(oldest) = self.lists.front(PROTECTED) else {
                break;
            };
            self.lists.move_to_back(PROBATION, oldest);
            self.segment[oldest as usize] = PROBATION;
            self.protected_len -= 1;
        }
    }

    /// TinyLFU admission: does the candidate deserve the victim's place?
    fn admit(&mut self, candidate_hash: u64, victim_hash: u64) -> bool {
        let candidate = self.sketch.frequency(candidate_hash);
        let victim = self.sketch.frequency(victim_hash);
        if candidate > victim {
            return true;
        }
        candidate >= WARM_CANDIDATE && self.next_random() & 127 == 0
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: enough to make the hash-flooding defence unpredictable per cache.
        self.random ^= self.random >> 12;
        self.random ^= self.random << 25;
        self.random ^= self.random >> 27;
        self.random.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Applies a hill-climber step: positive grows the window, negative shrinks it.
    fn resize_window(&mut self, step: i64) {
        if step > 0 {
            self.grow_window(step.min(i64::from(u32::MAX)) as u32);
        } else if step < 0 {
            self.shrink_window(step.unsigned_abs().min(u64::from(u32::MAX)) as u32);
        }
    }

    /// Takes capacity from the protected segment, then from probation (a recency-heavy workload
    /// wants nearly the whole cache as window; main keeps at least one entry), and pulls the main
    /// space's oldest entries into the window so the new window size takes effect now.
    fn grow_window(&mut self, amount: u32) {
        let room = self.capacity.saturating_sub(self.window_max + 1);
        let quota = amount.min(room).min(MAX_TRANSFER);
        if quota == 0 {
            return;
        }
        self.protected_max -= quota.min(self.protected_max);
        self.window_max += quota;
        self.demote_protected_overflow();
        for _ in 0..quota {
            let Some(oldest) = self
                .lists
                .front(PROBATION)
                .or_else(|| self.lists.front(PROTECTED))
            else {
                break;
            };
            if self.segment[oldest as usize] == PROTECTED {
                self.protected_len -= 1;
            }
            self.lists.move_to_back(WINDOW, oldest);
            self.segment[oldest as usize] = WINDOW;
            self.window_len += 1;
        }
    }

    /// Gives window capacity to the protected segment and moves the window's oldest entries to
    /// probation. The window keeps at least one entry.
    fn shrink_window(&mut self, amount: u32) {
        let quota = amount
            .min(self.window_max.saturating_sub(1))
            .min(MAX_TRANSFER);
        if quota == 0 {
            return;
        }
        self.protected_max += quota;
        self.window_max -= quota;
        self.spill_window();
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
    fn segments_split_one_percent_window_and_eighty_percent_protected() {
        let policy = WTinyLfu::new(1000, 1001, false);
        assert_eq!(policy.window_max, 10);
        assert_eq!(policy.protected_max, 792);
    }

    #[test]
    fn frequent_victim_is_kept_over_a_cold_candidate() {
        let hashes = hashes(4);
        let mut policy = WTinyLfu::new(2, 3, false);
        // window 1, main 1. Slot 0 enters, moves to probation when slot 1 arrives.
        policy.record_access(hashes[0], false);
        assert_eq!(policy.on_insert(0, |s| hashes[s as usize]), None);
        policy.record_access(hashes[1], false);
        assert_eq!(policy.on_insert(1, |s| hashes[s as usize]), None);
        for _ in 0..5 {
            policy.record_access(hashes[0], true);
        }
        // Slot 2 pushes slot 1 out of the window; slot 1 (seen once) loses to slot 0 (seen 6 times).
        policy.record_access(hashes[2], false);
        assert_eq!(policy.on_insert(2, |s| hashes[s as usize]), Some(1));
    }

    #[test]
    fn candidate_more_frequent_than_victim_is_admitted() {
        let hashes = hashes(4);
        let mut policy = WTinyLfu::new(2, 3, false);
        policy.record_access(hashes[0], false);
        policy.on_insert(0, |s| hashes[s as usize]);
        policy.record_access(hashes[1], false);
        policy.on_insert(1, |s| hashes[s as usize]);
        for _ in 0..5 {
            policy.record_access(hashes[1], true);
        }
        policy.record_access(hashes[2], false);
        assert_eq!(policy.on_insert(2, |s| hashes[s as usize]), Some(0));
    }

    #[test]
    fn the_window_may_grow_past_the_protected_share_to_all_but_one_entry() {
        let hashes = hashes(200);
        let mut policy = WTinyLfu::new(100, 101, true);
        for slot in 0..100u32 {
            policy.on_insert(slot, |s| hashes[s as usize]);
        }
        for _ in 0..10 {
            policy.grow_window(50);
        }
        assert_eq!(policy.window_max, 99);
        assert_eq!(policy.protected_max, 0);
        assert_eq!(policy.lists.iter(WINDOW).count(), 99);
        assert_eq!(policy.window_len, 99);
        policy.shrink_window(49);
        assert_eq!((policy.window_max, policy.protected_max), (50, 49));
        assert_eq!(policy.window_len, 50);
    }

    #[test]
    fn probation_hit_promotes_to_protected_and_overflow_demotes() {
        let hashes = hashes(200);
        let mut policy = WTinyLfu::new(100, 101, false);
        for slot in 0..100u32 {
            policy.on_insert(slot, |s| hashes[s as usize]);
        }
        for slot in 0..99u32 {
            policy.on_hit(slot);
        }
        assert_eq!(policy.protected_len, policy.protected_max);
        assert_eq!(
            policy.lists.iter(PROTECTED).count() as u32,
            policy.protected_max
        );
    }
}
