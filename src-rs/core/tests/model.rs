//! Model-based property tests of [`LocalCache`] under a [`ManualClock`].
//!
//! Random sequences of get / contains / insert (with or without a TTL) / remove / clock moves /
//! `purge_expired` / `clear` run against the cache and against a plain model: a map from key to
//! the slot the cache handed out and the entry's deadline. The cache decides what to evict, so the
//! model learns evictions (and proactive expirations) from [`LocalCache::freed`], drained after
//! every operation; everything else it predicts. After every operation the harness checks:
//!
//! - the size bound (`len() <= capacity`) and `len()` equal to the model's entry count;
//! - `get` / `contains` answer exactly what the model says: the slot the last insert returned while
//!   the entry is alive, never an expired entry, nothing for an absent key;
//! - every freed slot was held by an entry (which the model then drops), a freed slot that is live
//!   again was reused by this very insert, and no live key maps to a freed slot; slots of live keys
//!   are unique and live;
//! - the counters: one hit or miss per get, `inserts - evictions - expirations - removals == len`,
//!   `updates` counts re-inserts of present keys, each freed slot is one eviction, expiration or
//!   removal, and only entries past their deadline are counted as expired;
//! - evictions happen only when an insert overflows the capacity; under LRU the evicted entry is
//!   exactly the least recently used one;
//! - whenever the operation read the clock, the timer wheel's guarantee: no entry whose deadline is
//!   in an earlier wheel tick than now is still held.

use std::collections::{HashMap, HashSet};

use cacheme_core::timer_wheel::FINEST_TICK_SHIFT;
use cacheme_core::{LocalCache, ManualClock, PolicyKind, StorageCounters};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;
const MINUTE: u64 = 60 * SECOND;
const DAY: u64 = 24 * 60 * MINUTE;
/// One timer-wheel tick (≈ 16.8 ms).
const TICK: u64 = 1 << FINEST_TICK_SHIFT;

const POLICIES: [PolicyKind; 3] = [
    PolicyKind::Lru,
    PolicyKind::TinyLfu,
    PolicyKind::TinyLfuFixed,
];

type Key = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get(Key),
    Contains(Key),
    /// TTL in milliseconds, or none.
    Insert(Key, Option<u64>),
    Remove(Key),
    /// Moves the clock forward by this many nanoseconds.
    Advance(u64),
    Purge,
    Clear,
}

/// Typical short keys (stored inline), some longer than the inline limit (stored on the heap), and
/// the empty key.
fn key_bytes(key: Key) -> Vec<u8> {
    match key {
        0 => Vec::new(),
        _ if key % 4 == 3 => format!("user:{key}:profile:{}", "x".repeat(40)).into_bytes(),
        _ => format!("user:{key}:info:v1").into_bytes(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    slot: u32,
    /// Absolute deadline in ns; `None` for no TTL.
    deadline: Option<u64>,
}

impl Entry {
    fn expired_at(&self, now: u64) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }
}

/// Counter changes over one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Delta {
    hits: u64,
    misses: u64,
    inserts: u64,
    updates: u64,
    evictions: u64,
    expirations: u64,
    removals: u64,
}

impl Delta {
    fn between(before: StorageCounters, after: StorageCounters) -> Self {
        Delta {
            hits: after.hits - before.hits,
            misses: after.misses - before.misses,
            inserts: after.inserts - before.inserts,
            updates: after.updates - before.updates,
            evictions: after.evictions - before.evictions,
            expirations: after.expirations - before.expirations,
            removals: after.removals - before.removals,
        }
    }
}

/// The cache under test, the model, and the bookkeeping the checks need.
struct Harness {
    kind: PolicyKind,
    cache: LocalCache<ManualClock>,
    clock: ManualClock,
    capacity: usize,
    /// Mirror of the manual clock.
    now: u64,
    /// Entries the cache holds (alive, or expired but not yet reclaimed).
    model: HashMap<Key, Entry>,
    /// LRU order of the model's keys, least recent first (checked for `PolicyKind::Lru` only).
    recency: Vec<Key>,
    gets: u64,
    updates: u64,
    /// Operations run so far, for failure messages.
    step: usize,
}

impl Harness {
    fn new(kind: PolicyKind, capacity: u32, seed: u64) -> Self {
        let clock = ManualClock::default();
        let cache =
            LocalCache::with_seed(kind, capacity, clock.clone(), seed).expect("capacity in range");
        Harness {
            kind,
            cache,
            clock,
            capacity: capacity as usize,
            now: 0,
            model: HashMap::new(),
            recency: Vec::new(),
            gets: 0,
            updates: 0,
            step: 0,
        }
    }

    fn touch(&mut self, key: Key) {
        self.recency.retain(|&k| k != key);
        self.recency.push(key);
    }

    fn run(&mut self, ops: &[Op]) -> Result<(), TestCaseError> {
        for &op in ops {
            self.apply(op)?;
        }
        Ok(())
    }

    /// Reads every key of `0..keys` once: each answer must be exactly the model's.
    fn read_back(&mut self, keys: Key) -> Result<(), TestCaseError> {
        for key in 0..keys {
            self.apply(Op::Get(key))?;
        }
        Ok(())
    }

    /// Runs one operation on the cache and checks it against the model.
    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        self.step += 1;
        let ctx = format!("{:?} step {} {op:?} now={}", self.kind, self.step, self.now);
        let pre = self.model.clone();
        let pre_recency = self.recency.clone();
        let pre_has_ttl = pre.values().any(|e| e.deadline.is_some());
        let before = self.cache.counters();

        // Run the operation; remember what it answered.
        let mut answer: Option<u32> = None;
        let mut present = false;
        // Whether the operation read the clock and advanced the timer wheel to `now`.
        let mut read_clock = false;
        match op {
            Op::Get(key) => {
                answer = self.cache.get(&key_bytes(key));
                self.gets += 1;
                read_clock = pre.get(&key).is_some_and(|e| e.deadline.is_some());
            }
            Op::Contains(key) => {
                present = self.cache.contains(&key_bytes(key));
                read_clock = pre.get(&key).is_some_and(|e| e.deadline.is_some());
            }
            Op::Insert(key, ttl) => {
                answer = Some(self.cache.insert(&key_bytes(key), ttl.map(|ms| ms * MS)));
                read_clock = ttl.is_some() || pre_has_ttl;
            }
            Op::Remove(key) => answer = self.cache.remove(&key_bytes(key)),
            Op::Advance(nanos) => {
                self.clock.advance(nanos);
                self.now += nanos;
            }
            Op::Purge => {
                self.cache.purge_expired();
                read_clock = pre_has_ttl;
            }
            Op::Clear => self.cache.clear(),
        }
        let now = self.now;
        let freed: Vec<u32> = self.cache.freed().collect();
        let d = Delta::between(before, self.cache.counters());

        // Freed slots: each was held by exactly one entry, which is gone unless this insert reused
        // the slot. A slot is freed at most once per operation, so one operation frees at most
        // capacity + 1 slots (the binding's freed buffer relies on that).
        prop_assert!(
            freed.len() <= self.capacity + 1,
            "{ctx}: {} slots freed",
            freed.len()
        );
        let distinct: HashSet<u32> = freed.iter().copied().collect();
        prop_assert_eq!(
            distinct.len(),
            freed.len(),
            "{}: a slot freed twice: {:?}",
            ctx,
            freed
        );
        let mut released: Vec<(Key, Entry)> = Vec::new();
        for &slot in &freed {
            let holder = self
                .model
                .iter()
                .find(|(_, e)| e.slot == slot)
                .map(|(&k, _)| k);
            let Some(holder) = holder else {
                let what = if matches!(op, Op::Insert(..)) && answer == Some(slot) {
                    "is the slot this insert just returned"
                } else {
                    "was held by no entry"
                };
                return Err(TestCaseError::fail(format!(
                    "{ctx}: freed slot {slot} {what} (freed {freed:?}, model before {pre:?})"
                )));
            };
            let entry = self.model.remove(&holder).expect("holder is in the model");
            self.recency.retain(|&k| k != holder);
            if self.cache.is_live(slot) {
                prop_assert!(
                    matches!(op, Op::Insert(..)) && answer == Some(slot),
                    "{}: freed slot {} (key {}) is live again, but not as this insert's slot {:?}",
                    ctx,
                    slot,
                    holder,
                    answer
                );
            }
            released.push((holder, entry));
        }
        let released_expired = released.iter().filter(|(_, e)| e.expired_at(now)).count() as u64;
        let released_alive = released.len() as u64 - released_expired;
        prop_assert_eq!(
            d.evictions + d.expirations + d.removals,
            freed.len() as u64,
            "{}: freed {:?} but counters moved {:?}",
            ctx,
            freed,
            d
        );
        prop_assert!(
            d.expirations <= released_expired,
            "{ctx}: {} expirations counted, {released_expired} freed entries were past their deadline ({released:?})",
            d.expirations
        );
        prop_assert!(
            released_alive <= d.evictions + d.removals,
            "{ctx}: entries freed before their deadline {released:?} with counters {d:?}"
        );
        let was_released = |key: Key| released.iter().any(|(k, _)| *k == key);

        // What each operation must have answered and done.
        match op {
            Op::Get(key) | Op::Contains(key) => {
                let is_get = matches!(op, Op::Get(_));
                let found = if is_get { answer } else { present.then_some(0) };
                match pre.get(&key) {
                    None => prop_assert!(found.is_none(), "{ctx}: absent key answered {found:?}"),
                    Some(e) if e.expired_at(now) => {
                        prop_assert!(
                            found.is_none(),
                            "{ctx}: expired entry {e:?} answered {found:?}"
                        );
                        prop_assert!(
                            was_released(key),
                            "{ctx}: expired entry {e:?} read but its slot was not freed"
                        );
                    }
                    Some(e) => {
                        if is_get {
                            prop_assert_eq!(answer, Some(e.slot), "{}: alive entry {:?}", ctx, e);
                        } else {
                            prop_assert!(present, "{ctx}: alive entry {e:?} not contained");
                        }
                        prop_assert!(!was_released(key), "{ctx}: entry read and freed");
                        if is_get && self.kind == PolicyKind::Lru {
                            self.touch(key);
                        }
                    }
                }
                prop_assert_eq!(released_alive, 0, "{}: a read freed {:?}", ctx, released);
                prop_assert_eq!(d.expirations, freed.len() as u64, "{}", ctx);
                if is_get {
                    prop_assert_eq!(d.hits, u64::from(answer.is_some()), "{}", ctx);
                }
                prop_assert_eq!(
                    (d.inserts, d.updates, d.evictions, d.removals),
                    (0, 0, 0, 0),
                    "{}",
                    ctx
                );
            }
            Op::Insert(key, ttl) => {
                let slot = answer.expect("insert returns a slot");
                prop_assert!(
                    self.cache.is_live(slot),
                    "{ctx}: inserted slot {slot} not live"
                );
                let updated = pre.contains_key(&key) && !was_released(key);
                if updated {
                    // A present key keeps its slot, even if it expired and was not reclaimed yet.
                    prop_assert_eq!(slot, pre[&key].slot, "{}: update moved the entry", ctx);
                    prop_assert_eq!((d.inserts, d.updates, d.evictions), (0, 1, 0), "{}", ctx);
                    self.updates += 1;
                } else {
                    prop_assert_eq!((d.inserts, d.updates), (1, 0), "{}", ctx);
                    // The cache evicts exactly when the new entry overflows it.
                    let held = pre.len() as u64 - d.expirations;
                    let overflow = held + 1 > self.capacity as u64;
                    prop_assert_eq!(
                        d.evictions,
                        u64::from(overflow),
                        "{}: {} entries held after reclaiming {} expired",
                        ctx,
                        held,
                        d.expirations
                    );
                    if overflow && self.kind == PolicyKind::Lru {
                        self.check_lru_victim(&ctx, &pre_recency, &released)?;
                    }
                }
                prop_assert_eq!((d.hits, d.misses, d.removals), (0, 0, 0), "{}", ctx);
                let deadline = ttl.map(|ms| now.saturating_add(ms * MS));
                self.model.insert(key, Entry { slot, deadline });
                self.touch(key);
            }
            Op::Remove(key) => {
                // Remove reports a present entry even past its deadline if not reclaimed yet.
                let expected = pre.get(&key).map(|e| e.slot);
                prop_assert_eq!(answer, expected, "{}", ctx);
                prop_assert_eq!(&freed, &expected.into_iter().collect::<Vec<_>>(), "{}", ctx);
                prop_assert_eq!(d.removals, u64::from(expected.is_some()), "{}", ctx);
            }
            Op::Advance(_) => {
                prop_assert!(freed.is_empty(), "{ctx}: moving the clock freed {freed:?}");
                prop_assert_eq!(
                    d,
                    Delta::between(before, before),
                    "{}: moving the clock changed counters",
                    ctx
                );
            }
            Op::Purge => {
                prop_assert_eq!(released_alive, 0, "{}: purge freed {:?}", ctx, released);
                prop_assert_eq!(d.expirations, freed.len() as u64, "{}", ctx);
            }
            Op::Clear => {
                prop_assert!(self.model.is_empty(), "{ctx}: clear left {:?}", self.model);
                prop_assert_eq!(d.removals, pre.len() as u64, "{}", ctx);
            }
        }
        // Proactive reclamation: after the wheel advanced to `now`, nothing due in an earlier
        // wheel tick is still held.
        if read_clock {
            for (key, e) in &self.model {
                if let Some(deadline) = e.deadline {
                    prop_assert!(
                        deadline >> FINEST_TICK_SHIFT >= now >> FINEST_TICK_SHIFT,
                        "{ctx}: key {key} due at {deadline} still held at {now}"
                    );
                }
            }
        }

        self.check_invariants(&ctx)
    }

    /// Under LRU the victim is the least recently used entry among those left after the expired
    /// ones this insert reclaimed.
    fn check_lru_victim(
        &self,
        ctx: &str,
        pre_recency: &[Key],
        released: &[(Key, Entry)],
    ) -> Result<(), TestCaseError> {
        let explained = released.iter().any(|(victim, _)| {
            let others_expired = released
                .iter()
                .filter(|(k, _)| k != victim)
                .all(|(_, e)| e.expired_at(self.now));
            let first_left = pre_recency
                .iter()
                .find(|k| !released.iter().any(|(r, _)| r == *k && r != victim));
            others_expired && first_left == Some(victim)
        });
        prop_assert!(
            explained,
            "{ctx}: LRU freed {released:?}; order was {pre_recency:?} (least recent first)"
        );
        Ok(())
    }

    fn check_invariants(&mut self, ctx: &str) -> Result<(), TestCaseError> {
        let len = self.cache.len();
        prop_assert!(len <= self.capacity, "{ctx}: len {len} over capacity");
        prop_assert_eq!(len, self.model.len(), "{}: model {:?}", ctx, self.model);
        let c = self.cache.counters();
        prop_assert_eq!(c.hits + c.misses, self.gets, "{}: {:?}", ctx, c);
        prop_assert_eq!(
            c.inserts - c.evictions - c.expirations - c.removals,
            len as u64,
            "{}: {:?}",
            ctx,
            c
        );
        prop_assert_eq!(c.updates, self.updates, "{}: {:?}", ctx, c);
        let mut slots = HashSet::new();
        for (key, e) in &self.model {
            prop_assert!(slots.insert(e.slot), "{ctx}: slot {} held twice", e.slot);
            prop_assert!(
                self.cache.is_live(e.slot),
                "{ctx}: key {key} maps to dead slot {}",
                e.slot
            );
        }
        prop_assert_eq!(self.cache.freed_len(), 0, "{}", ctx);
        if self.kind == PolicyKind::Lru {
            prop_assert_eq!(self.recency.len(), self.model.len(), "{}", ctx);
        }
        Ok(())
    }
}

// ---- strategies ----

/// TTLs in ms: none, within a few wheel ticks (0 included: due at once), seconds, minutes.
fn ttl_ms() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        2 => (0u64..=40).prop_map(Some),
        3 => (1u64..=3_000).prop_map(Some),
        1 => (1u64..=600_000).prop_map(Some),
        // Saturates the deadline at the end of time.
        1 => Just(Some(u64::MAX / MS)),
    ]
}

/// Clock moves: often within one wheel tick, sometimes by seconds or minutes.
fn clock_step() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..TICK,
        3 => 0..200 * MS,
        2 => 0..5 * SECOND,
        1 => 0..10 * MINUTE,
    ]
}

fn op(keys: Key, ttl: BoxedStrategy<Option<u64>>) -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0..keys).prop_map(Op::Get),
        5 => (0..keys).prop_map(Op::Contains),
        30 => (0..keys, ttl).prop_map(|(k, ttl)| Op::Insert(k, ttl)),
        5 => (0..keys).prop_map(Op::Remove),
        10 => clock_step().prop_map(Op::Advance),
        3 => Just(Op::Purge),
        1 => Just(Op::Clear),
    ]
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Keep the tree clean: a failure prints its minimal case instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const KEYS: Key = 40;

proptest! {
    #![proptest_config(config(256))]

    /// The general model check, every policy, a few hundred mixed operations.
    #[test]
    fn every_operation_agrees_with_the_slot_model(
        capacity in 1u32..=16,
        seed in any::<u64>(),
        ops in prop::collection::vec(op(KEYS, ttl_ms().boxed()), 100..400),
    ) {
        for kind in POLICIES {
            let mut h = Harness::new(kind, capacity, seed);
            h.run(&ops)?;
            h.read_back(KEYS)?;
        }
    }

    /// Without TTLs the only way out is eviction, removal or clear: insert-heavy sequences over a
    /// key space larger than the cache, and LRU must evict exactly its least recently used entry.
    #[test]
    fn evictions_happen_only_on_overflow_and_lru_evicts_the_least_recently_used(
        capacity in 1u32..=16,
        seed in any::<u64>(),
        ops in prop::collection::vec(op(KEYS, Just(None).boxed()), 100..400),
    ) {
        for kind in POLICIES {
            let mut h = Harness::new(kind, capacity, seed);
            h.run(&ops)?;
            h.read_back(KEYS)?;
        }
    }

    /// Short TTLs (0 to 40 ms) and clock moves within one wheel tick: an entry past its exact
    /// deadline is never returned, although the wheel may not have reclaimed it yet.
    #[test]
    fn entries_past_their_deadline_are_never_returned_even_within_one_wheel_tick(
        capacity in 1u32..=16,
        seed in any::<u64>(),
        ops in prop::collection::vec(
            prop_oneof![
                3 => op(KEYS, (0u64..=40).prop_map(Some).boxed()),
                1 => (0..TICK / 4).prop_map(Op::Advance),
            ],
            100..400,
        ),
    ) {
        for kind in POLICIES {
            let mut h = Harness::new(kind, capacity, seed);
            h.run(&ops)?;
            h.read_back(KEYS)?;
        }
    }
}

/// TTLs for the load test: none, short, long, and days (beyond the wheel's finer levels).
fn load_ttl_ms() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        2 => (0u64..=50).prop_map(Some),
        3 => (1u64..=10_000).prop_map(Some),
        2 => (1u64..=3_600_000).prop_map(Some),
        1 => (1u64..=(200 * DAY / MS)).prop_map(Some),
    ]
}

fn load_op() -> impl Strategy<Value = Op> {
    const LOAD_KEYS: Key = 150;
    prop_oneof![
        30 => (0..LOAD_KEYS).prop_map(Op::Get),
        40 => (0..LOAD_KEYS, load_ttl_ms()).prop_map(|(k, ttl)| Op::Insert(k, ttl)),
        3 => (0..LOAD_KEYS).prop_map(Op::Remove),
        12 => prop_oneof![
            4 => 0..TICK,
            3 => 0..2 * SECOND,
            2 => 0..30 * MINUTE,
            1 => 0..30 * DAY,
        ]
        .prop_map(Op::Advance),
        2 => Just(Op::Purge),
    ]
}

proptest! {
    #![proptest_config(config(24))]

    /// Thousands of operations with mixed TTLs, the clock moving by ticks and by days, evictions
    /// all along; then past every deadline by a second, `purge_expired` leaves exactly the entries
    /// without a TTL.
    #[test]
    fn ttl_entries_are_all_reclaimed_by_purge_after_their_deadlines_under_load(
        kind in prop_oneof![Just(PolicyKind::Lru), Just(PolicyKind::TinyLfu)],
        capacity in 8u32..=64,
        seed in any::<u64>(),
        ops in prop::collection::vec(load_op(), 2_000..4_000),
    ) {
        let mut h = Harness::new(kind, capacity, seed);
        h.run(&ops)?;
        let last_deadline = h.model.values().filter_map(|e| e.deadline).max();
        if let Some(deadline) = last_deadline {
            h.apply(Op::Advance(deadline.saturating_sub(h.now) + SECOND))?;
        }
        h.apply(Op::Purge)?;
        let without_ttl = h.model.values().filter(|e| e.deadline.is_none()).count();
        prop_assert_eq!(h.model.len(), without_ttl, "TTL entries left: {:?}", h.model);
        prop_assert_eq!(h.cache.len(), without_ttl);
        let c = h.cache.counters();
        prop_assert_eq!(c.inserts - c.evictions - c.expirations - c.removals, without_ttl as u64);
    }
}

/// Read-through traffic (read, insert on some reads) whose working set alternates between a few
/// keys and many every 700 requests: the best window swings, so the mini-simulation moves capacity
/// between W-TinyLFU's window and main space (a decision every 2,000 requests, then one entry per
/// request).
fn phased_traffic() -> impl Strategy<Value = Vec<Op>> {
    let request = (0..1_000 as Key, 0u8..10, prop::option::of(1u64..=5_000));
    prop::collection::vec(request, 3_000..5_000).prop_map(|requests| {
        let mut ops = Vec::with_capacity(requests.len() * 2);
        for (i, (raw, choice, ttl)) in requests.into_iter().enumerate() {
            let key = if (i / 700) % 2 == 0 { raw % 24 } else { raw };
            ops.push(Op::Get(key));
            match choice {
                0..=4 => ops.push(Op::Insert(key, None)),
                5 | 6 => ops.push(Op::Insert(key, ttl)),
                7 => ops.push(Op::Advance(u64::from(raw) * MS)),
                _ => {}
            }
        }
        ops
    })
}

proptest! {
    #![proptest_config(config(16))]

    /// While the adaptive window is resized under shifting traffic, every operation still agrees
    /// with the model (no entry lost or duplicated by moves between segments).
    #[test]
    fn adaptive_window_resizing_keeps_every_entry_accounted_for(
        capacity in 32u32..=128,
        seed in any::<u64>(),
        ops in phased_traffic(),
    ) {
        let mut h = Harness::new(PolicyKind::TinyLfu, capacity, seed);
        h.run(&ops)?;
        h.read_back(1_000)?;
    }
}

/// A fixed sequence through the same harness, so the checks themselves are known to run: it must
/// see evictions, expirations (read and proactive), removals, updates and a clear.
#[test]
fn harness_exercises_every_kind_of_slot_release() {
    for kind in POLICIES {
        let mut h = Harness::new(kind, 3, 7);
        let ops = [
            Op::Insert(1, Some(10)),
            Op::Insert(2, None),
            Op::Insert(3, Some(5_000)),
            Op::Get(1),
            Op::Advance(10 * MS),
            Op::Get(1), // expired on read
            Op::Insert(4, None),
            Op::Insert(5, None),
            Op::Insert(6, None), // overflow: eviction
            Op::Insert(2, Some(1)),
            Op::Remove(4),
            Op::Advance(10 * SECOND),
            Op::Purge, // proactive expiry
            Op::Insert(7, None),
            Op::Insert(7, None), // update
            Op::Clear,
        ];
        let result = h.run(&ops).and_then(|()| h.read_back(8));
        assert!(result.is_ok(), "{kind:?}: {result:?}");
        let c = h.cache.counters();
        assert!(c.evictions >= 1, "{kind:?}: {c:?}");
        assert!(c.expirations >= 2, "{kind:?}: {c:?}");
        assert!(c.removals >= 2 && c.updates >= 1, "{kind:?}: {c:?}");
        assert!(h.cache.is_empty());
    }
}
