//! The local storage: a hash table from key fingerprints to arena slots, an eviction policy,
//! per-entry expiry and counters.
//!
//! The cache stores keys, not values. It hands out *slot numbers*; the caller keeps each value in
//! its own array at that slot (for the Node binding: live JS values, never serialized). Whenever a
//! slot stops holding an entry (evicted, expired, removed) it is appended to [`LocalCache::freed`],
//! which the caller drains to release its copy of the value.
//!
//! Expired entries are never returned: a read checks the entry's exact deadline. Memory is reclaimed
//! proactively by a hierarchical timer wheel advanced on every access that reads the clock.

use std::fmt;

use hashbrown::HashTable;

use crate::clock::{Clock, MonotonicClock};
use crate::fingerprint::{Fingerprint, KeyHasher};
use crate::list::NIL;
use crate::lru::Lru;
use crate::stats::StorageCounters;
use crate::timer_wheel::TimerWheel;
use crate::tinylfu::WTinyLfu;
use crate::weight::{MaxWeightError, Weights};

/// Which eviction policy bounds the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Lru,
    /// W-TinyLFU with the admission window sized by hill climbing.
    TinyLfu,
    /// W-TinyLFU with a fixed 1% window (as in Caffeine's published simulator figures).
    TinyLfuFixed,
}

impl PolicyKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "lru" => Some(PolicyKind::Lru),
            "tlfu" => Some(PolicyKind::TinyLfu),
            "tlfu-fixed" => Some(PolicyKind::TinyLfuFixed),
            _ => None,
        }
    }
}

/// Largest capacity: slot numbers must fit in an `i32` for the binding, with room for sentinels.
pub const MAX_CAPACITY: u32 = (1 << 30) - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityError(pub u64);

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "local storage size must be an integer from 1 to {MAX_CAPACITY}, got {}",
            self.0
        )
    }
}

impl std::error::Error for CapacityError {}

#[derive(Debug, Clone)]
enum Policy {
    Lru(Lru),
    TinyLfu(WTinyLfu),
}

pub struct LocalCache<C: Clock = MonotonicClock> {
    /// Slots, found by their fingerprint's hash: four bytes a bucket, so the table stays small
    /// enough to stay in cache, and a hit reads one bucket then the slot's fingerprint.
    table: HashTable<u32>,
    /// Whether each slot holds an entry.
    occupied: Vec<bool>,
    /// Fingerprint per slot (see [`crate::fingerprint`] for why it can stand for the key).
    fingerprints: Vec<Fingerprint>,
    free_slots: Vec<u32>,
    policy: Policy,
    wheel: TimerWheel,
    clock: C,
    hasher: KeyHasher,
    freed: Vec<u32>,
    reads: Vec<Read>,
    counters: StorageCounters,
    capacity: u32,
    /// Per-entry weights, only in a cache with a weight bound (see [`crate::weight`]).
    weights: Option<Weights>,
}

/// Reads are applied to the policy in batches (as Caffeine's read buffer does): a hit then costs a
/// lookup and an append, and the policy's scattered memory updates for a batch run back to back,
/// where the CPU overlaps their cache misses.
const READ_BUFFER: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Read {
    hash: u64,
    /// `NIL` for a miss.
    slot: u32,
}

impl LocalCache<MonotonicClock> {
    pub fn new(kind: PolicyKind, capacity: u32) -> Result<Self, CapacityError> {
        Self::with_clock(kind, capacity, MonotonicClock::default())
    }
}

impl<C: Clock> LocalCache<C> {
    /// A cache whose key hashing is seeded at random (so collisions cannot be planned).
    pub fn with_clock(kind: PolicyKind, capacity: u32, clock: C) -> Result<Self, CapacityError> {
        Self::build(kind, capacity, clock, KeyHasher::random())
    }

    /// A cache with a fixed hash seed: the same requests give the same evictions. For replays.
    pub fn with_seed(
        kind: PolicyKind,
        capacity: u32,
        clock: C,
        seed: u64,
    ) -> Result<Self, CapacityError> {
        Self::build(kind, capacity, clock, KeyHasher::with_seed(seed))
    }

    fn build(
        kind: PolicyKind,
        capacity: u32,
        clock: C,
        hasher: KeyHasher,
    ) -> Result<Self, CapacityError> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(CapacityError(u64::from(capacity)));
        }
        // One spare slot: a new entry is linked before the policy picks what to evict.
        let slots = capacity + 1;
        let policy = match kind {
            PolicyKind::Lru => Policy::Lru(Lru::new(capacity, slots)),
            PolicyKind::TinyLfu => Policy::TinyLfu(WTinyLfu::new(capacity, slots, true)),
            PolicyKind::TinyLfuFixed => Policy::TinyLfu(WTinyLfu::new(capacity, slots, false)),
        };
        let now = clock.now();
        Ok(LocalCache {
            table: HashTable::new(),
            occupied: Vec::new(),
            fingerprints: Vec::new(),
            free_slots: Vec::new(),
            policy,
            wheel: TimerWheel::new(slots, now),
            clock,
            hasher,
            freed: Vec::new(),
            reads: Vec::with_capacity(READ_BUFFER),
            counters: StorageCounters::default(),
            capacity,
            weights: None,
        })
    }

    /// Adds a weight bound: from then on entries are also evicted while their weights (given to
    /// [`Self::insert_weighted`]) add up to more than `max_weight`. For a new, empty cache.
    pub fn with_max_weight(mut self, max_weight: u64) -> Result<Self, MaxWeightError> {
        debug_assert!(self.is_empty());
        self.weights = Some(Weights::new(max_weight)?);
        Ok(self)
    }

    /// The total weight and the weight bound, for a cache that has one.
    pub fn weight(&self) -> Option<(u64, u64)> {
        self.weights.as_ref().map(|w| (w.total(), w.max()))
    }

    pub fn is_weighted(&self) -> bool {
        self.weights.is_some()
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Live entries (expired entries not yet reclaimed included).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn counters(&self) -> StorageCounters {
        self.counters
    }

    /// Slots released since the last call: the caller must drop its value for each.
    pub fn freed(&mut self) -> std::vec::Drain<'_, u32> {
        self.freed.drain(..)
    }

    /// True if `slot` holds an entry now. A slot freed and reused within one batch of operations
    /// shows up in [`Self::freed`] although it is live again; callers filter with this.
    pub fn is_live(&self, slot: u32) -> bool {
        self.occupied.get(slot as usize).copied().unwrap_or(false)
    }

    /// Number of freed slots waiting to be drained.
    pub fn freed_len(&self) -> usize {
        self.freed.len()
    }

    /// The slot holding `key`, if present and not expired. Counts a hit or a miss.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<u32> {
        let fingerprint = self.hasher.fingerprint(key);
        let found = self
            .find(fingerprint)
            .filter(|&slot| !self.expire_if_due(slot));
        if found.is_some() {
            self.counters.hits += 1;
        } else {
            self.counters.misses += 1;
        }
        self.reads.push(Read {
            hash: fingerprint.hash,
            slot: found.unwrap_or(NIL),
        });
        if self.reads.len() == READ_BUFFER {
            self.apply_reads();
        }
        found
    }

    /// Replays buffered reads into the policy, in order. Called before anything that links,
    /// unlinks or evicts, so eviction decisions see exactly the unbuffered history (the hit ratio is
    /// the same as without the buffer).
    fn apply_reads(&mut self) {
        match &self.policy {
            Policy::Lru(lru) => {
                for read in self.reads.iter().filter(|read| read.slot != NIL) {
                    lru.prefetch(read.slot);
                }
            }
            Policy::TinyLfu(tlfu) => {
                for read in &self.reads {
                    tlfu.prefetch(read.hash, (read.slot != NIL).then_some(read.slot));
                }
            }
        }
        match &mut self.policy {
            Policy::Lru(lru) => {
                for read in self.reads.drain(..) {
                    if read.slot != NIL {
                        lru.on_hit(read.slot);
                    }
                }
            }
            Policy::TinyLfu(tlfu) => {
                for read in self.reads.drain(..) {
                    tlfu.record_access(read.hash);
                    if read.slot != NIL {
                        tlfu.on_hit(read.slot);
                    }
                }
            }
        }
    }

    /// True if `key` is present and not expired; changes no order, frequency or counter.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        let fingerprint = self.hasher.fingerprint(key);
        self.find(fingerprint)
            .is_some_and(|slot| !self.expire_if_due(slot))
    }

    /// Stores `key` (for `ttl` nanoseconds, or until evicted) and returns its slot. A new key may
    /// push another entry out; its slot then appears in [`Self::freed`].
    pub fn insert(&mut self, key: &[u8], ttl: Option<u64>) -> u32 {
        self.insert_weighted(key, ttl, 1)
    }

    /// [`Self::insert`] with the entry's weight, which counts only in a cache with a weight bound.
    /// An entry heavier than the whole bound is evicted at once (its slot appears in
    /// [`Self::freed`]).
    pub fn insert_weighted(&mut self, key: &[u8], ttl: Option<u64>, weight: u32) -> u32 {
        self.apply_reads();
        let now = (ttl.is_some() || !self.wheel.is_empty()).then(|| self.clock.now());
        if let Some(now) = now {
            self.advance(now);
        }
        let fingerprint = self.hasher.fingerprint(key);
        if let Some(slot) = self.find(fingerprint) {
            self.schedule(slot, now, ttl);
            match &mut self.policy {
                Policy::Lru(lru) => lru.on_hit(slot),
                Policy::TinyLfu(tlfu) => tlfu.on_hit(slot),
            }
            self.counters.updates += 1;
            if let Some(weights) = &mut self.weights {
                weights.set(slot, weight);
                self.evict_overweight(slot);
            }
            return slot;
        }
        let slot = self.allocate(fingerprint);
        if let Some(weights) = &mut self.weights {
            weights.set(slot, weight);
        }
        self.schedule(slot, now, ttl);
        let fingerprints = &self.fingerprints;
        let victim = match &mut self.policy {
            Policy::Lru(lru) => lru.on_insert(slot),
            Policy::TinyLfu(tlfu) => tlfu.on_insert(slot, |s| fingerprints[s as usize].hash),
        };
        self.counters.inserts += 1;
        if let Some(victim) = victim {
            self.release(victim);
            self.counters.evictions += 1;
        }
        if self.weights.is_some() {
            self.evict_overweight(slot);
        }
        slot
    }

    /// Evicts until the total weight fits the bound: `written` first if it alone is heavier than
    /// the bound, then whatever the policy gives up.
    fn evict_overweight(&mut self, written: u32) {
        let Some(weights) = &self.weights else {
            return;
        };
        if weights.too_heavy(written) && self.is_live(written) {
            self.release(written);
            self.counters.evictions += 1;
        }
        while let Some(weights) = self.weights.as_ref().filter(|w| w.over()) {
            let fingerprints = &self.fingerprints;
            let victim = match &mut self.policy {
                Policy::Lru(lru) => lru.victim(),
                Policy::TinyLfu(tlfu) => {
                    tlfu.victim(|s| fingerprints[s as usize].hash, |s| weights.too_heavy(s))
                }
            };
            let Some(victim) = victim else {
                break;
            };
            self.release(victim);
            self.counters.evictions += 1;
        }
    }

    /// Removes `key`; returns its slot (also reported in [`Self::freed`]) if it was present.
    pub fn remove(&mut self, key: &[u8]) -> Option<u32> {
        let slot = self.find(self.hasher.fingerprint(key))?;
        self.release(slot);
        self.counters.removals += 1;
        Some(slot)
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        let slots: Vec<u32> = self.table.iter().copied().collect();
        for slot in slots {
            self.release(slot);
            self.counters.removals += 1;
        }
    }

    /// Reclaims every entry whose deadline has passed (at the timer wheel's granularity).
    pub fn purge_expired(&mut self) {
        if !self.wheel.is_empty() {
            let now = self.clock.now();
            self.advance(now);
        }
    }

    #[inline]
    fn find(&self, fingerprint: Fingerprint) -> Option<u32> {
        let fingerprints = &self.fingerprints;
        self.table
            .find(fingerprint.hash, |&slot| {
                fingerprints[slot as usize] == fingerprint
            })
            .copied()
    }

    /// Checks a found entry's exact deadline; an expired entry is released and reads as absent.
    #[inline]
    fn expire_if_due(&mut self, slot: u32) -> bool {
        if self.wheel.is_empty() {
            return false;
        }
        let Some(deadline) = self.wheel.expire_at(slot) else {
            return false;
        };
        let now = self.clock.now();
        let expired = deadline <= now;
        if expired {
            self.release(slot);
            self.counters.expirations += 1;
        }
        self.advance(now);
        expired
    }

    fn advance(&mut self, now: u64) {
        let mut due = Vec::new();
        self.wheel.advance(now, |slot| due.push(slot));
        for slot in due {
            self.release(slot);
            self.counters.expirations += 1;
        }
    }

    fn schedule(&mut self, slot: u32, now: Option<u64>, ttl: Option<u64>) {
        match (now, ttl) {
            (Some(now), Some(ttl)) => self.wheel.schedule(slot, now.saturating_add(ttl)),
            _ => self.wheel.deschedule(slot),
        }
    }

    fn allocate(&mut self, fingerprint: Fingerprint) -> u32 {
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.occupied[slot as usize] = true;
                self.fingerprints[slot as usize] = fingerprint;
                slot
            }
            None => {
                self.occupied.push(true);
                self.fingerprints.push(fingerprint);
                (self.fingerprints.len() - 1) as u32
            }
        };
        let fingerprints = &self.fingerprints;
        self.table
            .insert_unique(fingerprint.hash, slot, |&s| fingerprints[s as usize].hash);
        slot
    }

    /// Unlinks a present entry from every structure and reports its slot as freed.
    fn release(&mut self, slot: u32) {
        // Buffered reads may name this slot: apply them while it still holds its entry.
        self.apply_reads();
        let hash = self.fingerprints[slot as usize].hash;
        if let Ok(entry) = self.table.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        match &mut self.policy {
            Policy::Lru(lru) => lru.on_remove(slot),
            Policy::TinyLfu(tlfu) => tlfu.on_remove(slot),
        }
        self.wheel.deschedule(slot);
        if let Some(weights) = &mut self.weights {
            weights.clear(slot);
        }
        self.occupied[slot as usize] = false;
        self.free_slots.push(slot);
        self.freed.push(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const MS: u64 = 1_000_000;

    fn cache(kind: PolicyKind, capacity: u32) -> (LocalCache<ManualClock>, ManualClock) {
        let clock = ManualClock::default();
        (
            LocalCache::with_clock(kind, capacity, clock.clone()).unwrap(),
            clock,
        )
    }

    #[test]
    fn zero_or_huge_capacity_is_rejected() {
        assert!(LocalCache::new(PolicyKind::Lru, 0).is_err());
        assert!(LocalCache::new(PolicyKind::Lru, MAX_CAPACITY + 1).is_err());
    }

    #[test]
    fn get_after_insert_returns_the_same_slot_and_counts_hits_and_misses() {
        for kind in [PolicyKind::Lru, PolicyKind::TinyLfu] {
            let (mut c, _) = cache(kind, 10);
            assert_eq!(c.get(b"a"), None);
            let slot = c.insert(b"a", None);
            assert_eq!(c.get(b"a"), Some(slot));
            let counters = c.counters();
            assert_eq!(
                (counters.hits, counters.misses, counters.inserts),
                (1, 1, 1)
            );
        }
    }

    #[test]
    fn updating_a_key_keeps_its_slot() {
        let (mut c, _) = cache(PolicyKind::TinyLfu, 10);
        let slot = c.insert(b"a", None);
        assert_eq!(c.insert(b"a", None), slot);
        assert_eq!(c.len(), 1);
        assert_eq!(c.counters().updates, 1);
    }

    #[test]
    fn lru_evicts_the_least_recently_used_and_reports_its_slot() {
        let (mut c, _) = cache(PolicyKind::Lru, 2);
        let a = c.insert(b"a", None);
        c.insert(b"b", None);
        c.get(b"a");
        c.insert(b"c", None);
        assert_eq!(c.get(b"b"), None);
        assert_eq!(c.get(b"a"), Some(a));
        let freed: Vec<u32> = c.freed().collect();
        assert_eq!(freed.len(), 1);
        assert_eq!(c.counters().evictions, 1);
    }

    #[test]
    fn size_bound_is_never_exceeded() {
        let (mut c, _) = cache(PolicyKind::TinyLfu, 50);
        for i in 0..10_000u32 {
            let key = (i % 300).to_le_bytes();
            if c.get(&key).is_none() {
                c.insert(&key, None);
            }
            assert!(c.len() <= 50);
        }
    }

    #[test]
    fn entry_expires_at_its_deadline_and_its_slot_is_freed() {
        let (mut c, clock) = cache(PolicyKind::TinyLfu, 10);
        let slot = c.insert(b"a", Some(100 * MS));
        clock.advance(99 * MS);
        assert_eq!(c.get(b"a"), Some(slot));
        clock.advance(MS);
        assert_eq!(c.get(b"a"), None);
        assert_eq!(c.freed().collect::<Vec<_>>(), vec![slot]);
        assert_eq!(c.counters().expirations, 1);
        assert!(c.is_empty());
    }

    #[test]
    fn expired_entries_are_reclaimed_without_being_read() {
        let (mut c, clock) = cache(PolicyKind::Lru, 100);
        for i in 0..50u32 {
            c.insert(&i.to_le_bytes(), Some(10 * MS));
        }
        c.insert(b"forever", None);
        clock.advance(100 * MS);
        c.insert(b"other", None);
        assert_eq!(c.len(), 2);
        assert_eq!(c.freed_len(), 50);
    }

    #[test]
    fn overwriting_without_ttl_clears_the_deadline() {
        let (mut c, clock) = cache(PolicyKind::Lru, 10);
        c.insert(b"a", Some(10 * MS));
        c.insert(b"a", None);
        clock.advance(1000 * MS);
        assert!(c.get(b"a").is_some());
    }

    fn weighted(kind: PolicyKind, capacity: u32, max_weight: u64) -> LocalCache<ManualClock> {
        LocalCache::with_seed(kind, capacity, ManualClock::default(), 7)
            .unwrap()
            .with_max_weight(max_weight)
            .unwrap()
    }

    #[test]
    fn weight_bound_evicts_by_weight_before_the_entry_bound() {
        for kind in [PolicyKind::Lru, PolicyKind::TinyLfu] {
            let mut c = weighted(kind, 100, 10);
            for i in 0..5u32 {
                c.insert_weighted(&i.to_le_bytes(), None, 3);
                assert!(c.weight().unwrap().0 <= 10, "{kind:?}");
            }
            // Three entries of 3 fit in 10; the fourth and fifth pushed two out.
            assert_eq!(c.len(), 3, "{kind:?}");
            assert_eq!(c.weight(), Some((9, 10)));
            assert_eq!(c.counters().evictions, 2);
        }
    }

    #[test]
    fn lru_weight_eviction_takes_the_least_recent_first() {
        let mut c = weighted(PolicyKind::Lru, 100, 10);
        c.insert_weighted(b"a", None, 4);
        c.insert_weighted(b"b", None, 4);
        c.get(b"a");
        c.insert_weighted(b"c", None, 4);
        assert!(c.contains(b"a") && c.contains(b"c") && !c.contains(b"b"));
    }

    #[test]
    fn an_entry_heavier_than_the_bound_is_dropped_and_nothing_else_is() {
        for kind in [PolicyKind::Lru, PolicyKind::TinyLfu] {
            let mut c = weighted(kind, 100, 10);
            c.insert_weighted(b"a", None, 5);
            let slot = c.insert_weighted(b"huge", None, 11);
            assert!(!c.is_live(slot));
            assert!(c.contains(b"a") && !c.contains(b"huge"), "{kind:?}");
            assert_eq!(c.weight(), Some((5, 10)));
            assert!(c.freed().any(|s| s == slot));
        }
    }

    #[test]
    fn overwriting_with_a_new_weight_adjusts_the_total_and_evicts_if_needed() {
        let mut c = weighted(PolicyKind::Lru, 100, 10);
        c.insert_weighted(b"a", None, 2);
        c.insert_weighted(b"b", None, 2);
        c.insert_weighted(b"a", None, 1);
        assert_eq!(c.weight(), Some((3, 10)));
        // Growing b to 9 leaves no room for a (1 + 9 = 10 fits; 2 more does not).
        c.insert_weighted(b"b", None, 9);
        assert_eq!(c.weight(), Some((10, 10)));
        c.insert_weighted(b"c", None, 2);
        assert!(c.contains(b"c") && !c.contains(b"a"));
        // Least recent first: a, then b (written before c), leaving c alone.
        assert_eq!(c.weight(), Some((2, 10)));
        assert!(!c.contains(b"b"));
        // Overwriting an entry past the bound drops just that entry.
        c.insert_weighted(b"c", None, 11);
        assert!(c.is_empty());
        assert_eq!(c.weight(), Some((0, 10)));
    }

    #[test]
    fn both_bounds_hold_the_entry_count_too() {
        let mut c = weighted(PolicyKind::TinyLfu, 3, 1_000);
        for i in 0..10u32 {
            c.insert_weighted(&i.to_le_bytes(), None, 1);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.weight(), Some((3, 1_000)));
    }

    #[test]
    fn tinylfu_weight_eviction_keeps_the_frequent_victim_over_a_cold_candidate() {
        // Capacity 100 (window 1), weight 6: a hot entry, then cold ones of weight 2.
        let mut c = weighted(PolicyKind::TinyLfu, 100, 6);
        c.insert_weighted(b"hot", None, 2);
        for _ in 0..10 {
            c.get(b"hot");
        }
        for i in 0..20u32 {
            let key = format!("cold{i}");
            c.get(key.as_bytes());
            c.insert_weighted(key.as_bytes(), None, 2);
            assert!(c.weight().unwrap().0 <= 6);
        }
        assert!(
            c.contains(b"hot"),
            "the frequent entry survives a scan of cold ones"
        );
    }

    #[test]
    fn removals_expiry_and_clear_give_their_weight_back() {
        let clock = ManualClock::default();
        let mut c = LocalCache::with_seed(PolicyKind::TinyLfu, 10, clock.clone(), 1)
            .unwrap()
            .with_max_weight(100)
            .unwrap();
        c.insert_weighted(b"a", Some(10 * MS), 30);
        c.insert_weighted(b"b", None, 20);
        c.insert_weighted(b"c", None, 10);
        c.remove(b"c");
        assert_eq!(c.weight(), Some((50, 100)));
        clock.advance(20 * MS);
        assert_eq!(c.get(b"a"), None);
        assert_eq!(c.weight(), Some((20, 100)));
        c.clear();
        assert_eq!(c.weight(), Some((0, 100)));
    }

    #[test]
    fn an_unweighted_cache_ignores_weights() {
        let (mut c, _) = cache(PolicyKind::Lru, 2);
        c.insert_weighted(b"a", None, u32::MAX);
        assert!(c.contains(b"a"));
        assert_eq!(c.weight(), None);
    }

    proptest::proptest! {
        /// Whatever is written, removed or read, both bounds hold after every operation and the
        /// total is the sum of the live entries' weights.
        #[test]
        fn weighted_bounds_always_hold(
            tlfu in proptest::bool::ANY,
            ops in proptest::collection::vec((0u8..4, 0u32..40, 0u32..30), 1..300),
        ) {
            let kind = if tlfu { PolicyKind::TinyLfu } else { PolicyKind::Lru };
            let mut c = weighted(kind, 16, 50);
            let mut weights = std::collections::HashMap::new();
            for (op, key, weight) in ops {
                let k = key.to_le_bytes();
                match op {
                    0 | 1 => {
                        c.insert_weighted(&k, None, weight);
                        weights.insert(key, weight);
                    }
                    2 => {
                        c.remove(&k);
                    }
                    _ => {
                        c.get(&k);
                    }
                }
                let (total, max) = c.weight().unwrap();
                proptest::prop_assert!(total <= max);
                proptest::prop_assert!(c.len() <= 16);
                let live: u64 = weights
                    .iter()
                    .filter(|(key, _)| c.contains(&key.to_le_bytes()))
                    .map(|(_, &w)| u64::from(w))
                    .sum();
                proptest::prop_assert_eq!(live, total);
            }
        }
    }

    #[test]
    fn remove_and_clear_free_their_slots() {
        let (mut c, _) = cache(PolicyKind::TinyLfu, 10);
        let a = c.insert(b"a", None);
        c.insert(b"b", None);
        assert_eq!(c.remove(b"a"), Some(a));
        assert_eq!(c.remove(b"a"), None);
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.freed().count(), 2);
    }
}
