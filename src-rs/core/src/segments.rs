//! The three LRU segments of W-TinyLFU and the admission duel between them, given frequencies.
//!
//! New entries land in a small LRU *window* (1% of the capacity at first) so that bursts of
//! recent keys get a chance to prove themselves. When the window overflows, its oldest entry becomes
//! a *candidate* for the main space, a segmented LRU: *probation* (20%) for entries seen once in
//! main, *protected* (80%) for entries hit again while on probation. When the cache is over
//! capacity, the candidate competes with probation's oldest entry (the *victim*): the more frequent
//! one stays. A warm candidate (frequency ≥ 6) that loses is still admitted once in 128 times at
//! random, so an attacker who floods the sketch with collisions cannot pin the victim forever
//! (Caffeine's hash-flooding defence).
//!
//! The frequencies come from the caller: the cache's own [`crate::tinylfu::WTinyLfu`] asks its
//! sketch, and the mini-simulation's small caches ([`crate::minisim`]) ask the same sketch.

use crate::list::Lists;

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

/// The largest window a cache of `capacity` entries may have: all but one entry (main keeps room
/// for one), and at least one.
pub fn largest_window(capacity: u32) -> u32 {
    capacity.saturating_sub(1).max(1)
}

#[derive(Debug, Clone)]
pub struct Segments {
    lists: Lists,
    segment: Vec<u8>,
    capacity: u32,
    len: u32,
    window_max: u32,
    window_len: u32,
    protected_max: u32,
    protected_len: u32,
    /// The window and protected maxima at creation: protected gives and takes back exactly what
    /// the window takes and gives beyond its first size (see [`Self::protected_for`]).
    base_window: u32,
    base_protected: u32,
    random: u64,
}

impl Segments {
    /// `slots` is the arena size (capacity + 1: a new entry is linked before its victim leaves).
    pub fn new(capacity: u32, slots: u32) -> Self {
        let main_max = (f64::from(capacity) * MAIN_SHARE) as u32;
        let window_max = capacity - main_max;
        let protected_max = (f64::from(main_max) * PROTECTED_SHARE) as u32;
        Segments {
            lists: Lists::new(slots, 3),
            segment: vec![WINDOW; slots as usize],
            capacity,
            len: 0,
            window_max,
            window_len: 0,
            protected_max,
            protected_len: 0,
            base_window: window_max,
            base_protected: protected_max,
            random: 0x853c_49e6_748f_ea9b,
        }
    }

    /// Current size of the admission window.
    #[inline]
    pub fn window_max(&self) -> u32 {
        self.window_max
    }

    /// The largest window: see [`largest_window`].
    pub fn window_limit(&self) -> u32 {
        largest_window(self.capacity)
    }

    /// Starts loading what reordering `slot` will touch first.
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        crate::prefetch::prefetch(&self.segment[slot as usize]);
        self.lists.prefetch(slot);
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
    /// `frequency` gives the sketch's estimate for the key of a slot.
    pub fn on_insert(&mut self, slot: u32, frequency: impl Fn(u32) -> u32) -> Option<u32> {
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
                Some(if self.admit(frequency(candidate), frequency(victim)) {
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
        frequency: impl Fn(u32) -> u32,
        too_heavy: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        match (self.lists.front(PROBATION), self.lists.back(PROBATION)) {
            (Some(victim), Some(candidate)) if victim != candidate => Some(
                if too_heavy(candidate) || !self.admit(frequency(candidate), frequency(victim)) {
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

    /// Grows (positive) or shrinks (negative) the window by up to `step` entries, at most
    /// `MAX_TRANSFER` at a time.
    pub fn resize_window(&mut self, step: i64) {
        if step > 0 {
            self.grow_window(step.min(i64::from(u32::MAX)) as u32);
        } else if step < 0 {
            self.shrink_window(step.unsigned_abs().min(u64::from(u32::MAX)) as u32);
        }
    }

    /// Resizes the window to `target` entries (clamped to `1..=window_limit()`), however many
    /// resizes that takes.
    pub fn set_window(&mut self, target: u32) {
        let target = target.clamp(1, self.window_limit());
        while self.window_max != target {
            let before = self.window_max;
            self.resize_window(i64::from(target) - i64::from(before));
            if self.window_max == before {
                break;
            }
        }
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
    fn admit(&mut self, candidate: u32, victim: u32) -> bool {
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

    /// Takes capacity from the protected segment, then from probation (a recency-heavy workload
    /// wants nearly the whole cache as window; main keeps at least one entry), and pulls the main
    /// space's oldest entries into the window so the new window size takes effect now.
    fn grow_window(&mut self, amount: u32) {
        let room = self.capacity.saturating_sub(self.window_max + 1);
        let quota = amount.min(room).min(MAX_TRANSFER);
        if quota == 0 {
            return;
        }
        self.window_max += quota;
        self.protected_max = self.protected_for(self.window_max);
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
        self.window_max -= quota;
        self.protected_max = self.protected_for(self.window_max);
        self.spill_window();
    }

    /// The protected segment's maximum for a window of `window` entries: what the window gained
    /// over its first size comes out of protected (as in Caffeine), and once protected is empty,
    /// out of probation. A function of the window alone, so growing and shrinking back restores
    /// the segments exactly.
    fn protected_for(&self, window: u32) -> u32 {
        let protected =
            i64::from(self.base_protected) + i64::from(self.base_window) - i64::from(window);
        let main = i64::from(self.capacity) - i64::from(window);
        protected.clamp(0, main.max(0)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frequencies by slot, as a sketch would answer them.
    fn frequencies(counts: &[u32]) -> impl Fn(u32) -> u32 + '_ {
        move |slot| counts[slot as usize]
    }

    #[test]
    fn segments_split_one_percent_window_and_eighty_percent_protected() {
        let segments = Segments::new(1000, 1001);
        assert_eq!(segments.window_max, 10);
        assert_eq!(segments.protected_max, 792);
    }

    #[test]
    fn frequent_victim_is_kept_over_a_cold_candidate() {
        // window 1, main 1. Slot 0 enters, moves to probation when slot 1 arrives.
        let mut segments = Segments::new(2, 3);
        let counts = [6, 1, 1];
        assert_eq!(segments.on_insert(0, frequencies(&counts)), None);
        assert_eq!(segments.on_insert(1, frequencies(&counts)), None);
        // Slot 2 pushes slot 1 out of the window; slot 1 (seen once) loses to slot 0 (seen 6 times).
        assert_eq!(segments.on_insert(2, frequencies(&counts)), Some(1));
    }

    #[test]
    fn candidate_more_frequent_than_victim_is_admitted() {
        let mut segments = Segments::new(2, 3);
        let counts = [1, 6, 1];
        segments.on_insert(0, frequencies(&counts));
        segments.on_insert(1, frequencies(&counts));
        assert_eq!(segments.on_insert(2, frequencies(&counts)), Some(0));
    }

    #[test]
    fn the_window_may_grow_past_the_protected_share_to_all_but_one_entry() {
        let mut segments = Segments::new(100, 101);
        let counts = [0; 101];
        for slot in 0..100u32 {
            segments.on_insert(slot, frequencies(&counts));
        }
        for _ in 0..10 {
            segments.grow_window(50);
        }
        assert_eq!(segments.window_max, 99);
        assert_eq!(segments.protected_max, 0);
        assert_eq!(segments.lists.iter(WINDOW).count(), 99);
        assert_eq!(segments.window_len, 99);
        segments.shrink_window(49);
        assert_eq!((segments.window_max, segments.protected_max), (50, 30));
        assert_eq!(segments.window_len, 50);
    }

    #[test]
    fn growing_the_window_into_probation_and_back_restores_the_segments() {
        let mut segments = Segments::new(1_000, 1_001);
        let first = (segments.window_max, segments.protected_max);
        segments.set_window(999);
        assert_eq!(segments.protected_max, 0);
        segments.set_window(first.0);
        assert_eq!((segments.window_max, segments.protected_max), first);
        segments.set_window(150);
        assert_eq!(segments.protected_max, 792 - 140);
    }

    #[test]
    fn set_window_reaches_its_target_past_the_transfer_bound_and_clamps_it() {
        let mut segments = Segments::new(5_000, 5_001);
        segments.set_window(4_500);
        assert_eq!(segments.window_max(), 4_500);
        segments.set_window(u32::MAX);
        assert_eq!(segments.window_max(), 4_999);
        segments.set_window(0);
        assert_eq!(segments.window_max(), 1);
    }

    #[test]
    fn probation_hit_promotes_to_protected_and_overflow_demotes() {
        let mut segments = Segments::new(100, 101);
        let counts = [0; 101];
        for slot in 0..100u32 {
            segments.on_insert(slot, frequencies(&counts));
        }
        for slot in 0..99u32 {
            segments.on_hit(slot);
        }
        assert_eq!(segments.protected_len, segments.protected_max);
        assert_eq!(
            segments.lists.iter(PROTECTED).count() as u32,
            segments.protected_max
        );
    }
}
