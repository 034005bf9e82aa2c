//! Hierarchical timer wheel for per-entry expiry.
//!
//! # Why
//!
//! A cache with per-entry time-to-live must reclaim expired entries even when
//! nobody reads them again, otherwise dead entries occupy capacity (and push
//! live ones out) until the eviction policy happens to pick them. Scanning all
//! entries for expired ones costs O(n) per scan; a priority queue costs
//! O(log n) per insert/remove. A hierarchical timer wheel (Varghese & Lauck,
//! "Hashed and Hierarchical Timing Wheels", SOSP 1987), as used by Caffeine's
//! `TimerWheel`, does both scheduling and expiry in O(1) amortized time, at the
//! price of a coarse granularity (one finest bucket, ~16.8 ms here). Coarseness
//! is harmless because the cache still checks the exact expiry time on read;
//! the wheel only reclaims proactively.
//!
//! # Structure
//!
//! Time is in nanoseconds (`u64`, monotonic). The wheel has five levels; each
//! level is a ring of buckets whose span is a power of two of nanoseconds, so
//! finding a bucket is a shift and a mask:
//!
//! | level | buckets | bucket span       | level range      |
//! |-------|---------|-------------------|------------------|
//! | 0     | 64      | 2^24 ns ≈ 16.8 ms | ≈ 1.07 s         |
//! | 1     | 64      | 2^30 ns ≈ 1.07 s  | ≈ 68.7 s         |
//! | 2     | 64      | 2^36 ns ≈ 68.7 s  | ≈ 73.3 min       |
//! | 3     | 64      | 2^42 ns ≈ 73.3 min| ≈ 3.3 days       |
//! | 4     | 32      | 2^48 ns ≈ 3.3 days| ≈ 104 days       |
//!
//! An entry goes to the finest level whose range covers its delay
//! (`expire_at - wheel time`), in bucket `(expire_at >> shift) & mask`.
//! Delays beyond the last level's range also go to the last level; they are
//! visited early and simply re-scheduled (cascade) until they are due.
//!
//! When time advances, every bucket whose tick was passed is emptied: entries
//! that are due are reported as expired, the others are re-scheduled relative
//! to the new time, which moves them to a finer level (cascade). Each entry
//! cascades at most once per level (plus laps of the last level for very long
//! delays), hence the O(1) amortized cost.
//!
//! Buckets are intrusive, circular, doubly-linked lists stored as indices in
//! parallel `Vec`s: index `i < capacity` is the entry in cache slot `i`, and
//! the indices after them are the bucket sentinels. No pointers, no `unsafe`,
//! and no allocation after construction.

/// Marks "no link": the slot is not in any bucket.
const NONE: u32 = u32::MAX;

/// One ring of buckets of the wheel.
#[derive(Debug, Clone, Copy)]
struct Level {
    /// log2 of the span of one bucket in nanoseconds.
    shift: u32,
    /// Number of buckets (a power of two, so ticks map to buckets by a mask).
    buckets: u32,
    /// Index of this level's first bucket among all buckets of the wheel.
    first_bucket: u32,
}

impl Level {
    const fn new(shift: u32, buckets: u32, first_bucket: u32) -> Self {
        Level {
            shift,
            buckets,
            first_bucket,
        }
    }

    /// The tick (bucket-sized time unit) containing `time`.
    fn tick(&self, time: u64) -> u64 {
        time >> self.shift
    }

    /// Largest delay (exclusive) this level can hold without aliasing a bucket.
    fn range(&self) -> u64 {
        u64::from(self.buckets) << self.shift
    }

    /// Index of the bucket holding `tick`, among all buckets of the wheel.
    fn bucket_of_tick(&self, tick: u64) -> u32 {
        let mask = u64::from(self.buckets - 1);
        self.first_bucket + (tick & mask) as u32
    }
}

const LEVELS: [Level; 5] = [
    Level::new(24, 64, 0),
    Level::new(30, 64, 64),
    Level::new(36, 64, 128),
    Level::new(42, 64, 192),
    Level::new(48, 32, 256),
];

/// Total number of buckets (sentinels) over all levels.
const BUCKET_COUNT: u32 = 64 * 4 + 32;

/// log2 of the finest bucket span: the wheel's granularity (2^24 ns ≈ 16.8 ms).
pub const FINEST_TICK_SHIFT: u32 = LEVELS[0].shift;

/// The wheel's granularity in nanoseconds (one finest bucket, ≈ 16.8 ms).
pub const FINEST_TICK_NANOS: u64 = 1 << FINEST_TICK_SHIFT;

/// Hierarchical timer wheel deciding *when* a cache slot's expiry is acted on.
///
/// It decides, for every scheduled slot, the `advance` call at which the slot
/// is reported expired: never before its `expire_at`, and at the latest at the
/// first `advance` whose time is in a later finest tick (2^24 ns ≈ 16.8 ms)
/// than `expire_at`. It trades exactness for O(1) amortized scheduling and
/// reclamation (Varghese & Lauck 1987, hierarchical timing wheels; the layout
/// follows Caffeine's `TimerWheel`), so a cache can drop expired entries
/// proactively without scanning; exact expiry is still checked on read.
///
/// # Guarantees
///
/// * A slot is reported by `advance(now, ..)` only if `expire_at <= now`, and
///   it is removed from the wheel before being reported, so at most once per
///   scheduling.
/// * After `advance(now, ..)` with `now` not earlier than the wheel's time,
///   every remaining slot has `expire_at >> 24 >= now >> 24`; in particular
///   every slot with `expire_at <= now - 2^24` has been expired.
///   This includes slots scheduled with an `expire_at` already in the past.
#[derive(Debug, Clone)]
pub struct TimerWheel {
    /// Number of entry slots; sentinel of bucket `b` is index `capacity + b`.
    capacity: u32,
    /// Previous node in the bucket's circular list, per entry and sentinel, stored XOR `NONE`
    /// (see `next_of`).
    prev: Vec<u32>,
    /// Next node in the bucket's circular list; `NONE` for unscheduled slots. Stored XOR `NONE`,
    /// so that an unlinked node is 0: a new wheel's arrays are then zeroed memory, which the OS
    /// maps only when first written, and a storage that never sets a TTL never pays for them.
    next: Vec<u32>,
    /// Expiry time of each scheduled slot (stale for unscheduled slots).
    expire_at: Vec<u64>,
    /// Number of scheduled slots.
    len: usize,
    /// The wheel's time: the latest `now` given to `new` or `advance`.
    nanos: u64,
    /// A slot was scheduled with `expire_at <= nanos` since the last advance:
    /// the current finest bucket must be processed even if the tick did not move.
    has_overdue: bool,
}

impl TimerWheel {
    /// `capacity`: number of slots (slot ids are 0..capacity). `now`: current time in ns.
    ///
    /// # Panics
    /// If `capacity` leaves no room for the bucket sentinels in `u32` indices.
    pub fn new(capacity: u32, now: u64) -> Self {
        assert!(
            capacity < NONE - BUCKET_COUNT,
            "timer wheel capacity {capacity} too large"
        );
        let nodes = (capacity + BUCKET_COUNT) as usize;
        let mut wheel = TimerWheel {
            capacity,
            prev: vec![0; nodes],
            next: vec![0; nodes],
            expire_at: vec![0; capacity as usize],
            len: 0,
            nanos: now,
            has_overdue: false,
        };
        for bucket in 0..BUCKET_COUNT {
            wheel.make_empty(capacity + bucket);
        }
        wheel
    }

    #[inline]
    fn next_of(&self, node: u32) -> u32 {
        self.next[node as usize] ^ NONE
    }

    #[inline]
    fn prev_of(&self, node: u32) -> u32 {
        self.prev[node as usize] ^ NONE
    }

    #[inline]
    fn set_next(&mut self, node: u32, to: u32) {
        self.next[node as usize] = to ^ NONE;
    }

    #[inline]
    fn set_prev(&mut self, node: u32, to: u32) {
        self.prev[node as usize] = to ^ NONE;
    }

    /// Number of slots this wheel was created for.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The wheel's time: the latest time it was created with or advanced to.
    pub fn current_time(&self) -> u64 {
        self.nanos
    }

    /// Schedules `slot` to expire at `expire_at` (ns). If the slot is already scheduled, it is moved.
    ///
    /// An `expire_at` not after the wheel's time is reported by the next `advance`.
    ///
    /// # Panics
    /// If `slot >= capacity`.
    pub fn schedule(&mut self, slot: u32, expire_at: u64) {
        assert!(
            slot < self.capacity,
            "slot {slot} out of range (capacity {})",
            self.capacity
        );
        if self.is_scheduled(slot) {
            self.unlink(slot);
        } else {
            self.len += 1;
        }
        self.expire_at[slot as usize] = expire_at;
        if expire_at <= self.nanos {
            self.has_overdue = true;
        }
        self.link_into_bucket(slot);
    }

    /// Removes `slot` from the wheel if scheduled; no-op otherwise.
    pub fn deschedule(&mut self, slot: u32) {
        if self.is_scheduled(slot) {
            self.unlink(slot);
            self.len -= 1;
        }
    }

    /// Whether `slot` is currently in the wheel (false for out-of-range slots).
    pub fn is_scheduled(&self, slot: u32) -> bool {
        slot < self.capacity && self.next_of(slot) != NONE
    }

    /// The expiry time the slot was scheduled with, if scheduled.
    pub fn expire_at(&self, slot: u32) -> Option<u64> {
        self.is_scheduled(slot)
            .then(|| self.expire_at[slot as usize])
    }

    /// Number of scheduled slots.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no slot is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Advances the wheel to `now`; calls `on_expired(slot)` for every scheduled slot whose
    /// expire_at <= now, removing it from the wheel before the call. Slots in buckets that were
    /// passed but are not yet due are re-scheduled into a finer bucket (cascade). Very cheap
    /// (a couple of compares) when called again with a `now` in the same finest tick, since the
    /// cache calls it on many accesses. `now` smaller than the last advance is ignored.
    ///
    /// See the type's documentation for the exact guarantee.
    pub fn advance(&mut self, now: u64, mut on_expired: impl FnMut(u32)) {
        if now < self.nanos {
            return; // The clock never goes back.
        }
        let previous = self.nanos;
        self.nanos = now;
        let same_finest_tick = LEVELS[0].tick(previous) == LEVELS[0].tick(now);
        if (same_finest_tick && !self.has_overdue) || self.len == 0 {
            self.has_overdue = false;
            return; // Hot path: nothing can have become due at this granularity.
        }
        // Overdue slots sit in the bucket of `previous`, which is always visited below.
        self.has_overdue = false;
        for level in &LEVELS {
            let previous_tick = level.tick(previous);
            let current_tick = level.tick(now);
            // A coarser tick only moves if the finer one did; level 0 is always
            // visited here (its tick moved, or overdue slots are waiting in it).
            if current_tick == previous_tick && level.shift != FINEST_TICK_SHIFT {
                break;
            }
            self.process_passed_buckets(level, previous_tick, current_tick, &mut on_expired);
        }
    }

    /// Empties every bucket of `level` for the ticks `previous_tick..=current_tick`
    /// (each bucket at most once, even after a jump longer than the level's range).
    fn process_passed_buckets<F: FnMut(u32)>(
        &mut self,
        level: &Level,
        previous_tick: u64,
        current_tick: u64,
        on_expired: &mut F,
    ) {
        // The bucket of `previous_tick` is included: it may hold slots scheduled
        // after it was last visited (overdue ones, or ones due later in that tick).
        let steps = (current_tick - previous_tick).saturating_add(1);
        let steps = steps.min(u64::from(level.buckets));
        for step in 0..steps {
            let bucket = level.bucket_of_tick(previous_tick + step);
            self.process_bucket(self.capacity + bucket, on_expired);
        }
    }

    /// Detaches the whole list of `sentinel`, then expires its due slots and
    /// re-schedules the others relative to the wheel's (new) time. Re-scheduled
    /// slots may land in this same bucket again; detaching first keeps them out
    /// of this walk.
    fn process_bucket<F: FnMut(u32)>(&mut self, sentinel: u32, on_expired: &mut F) {
        let mut node = self.next_of(sentinel);
        self.make_empty(sentinel);
        while node != sentinel {
            let following = self.next_of(node);
            self.clear_links(node);
            if self.expire_at[node as usize] <= self.nanos {
                self.len -= 1;
                on_expired(node);
            } else {
                self.link_into_bucket(node);
            }
            node = following;
        }
    }

    /// The sentinel of the bucket where a slot expiring at `expire_at` belongs now.
    fn sentinel_for(&self, expire_at: u64) -> u32 {
        // Overdue slots go to the current finest bucket, visited by the next advance.
        let due = expire_at.max(self.nanos);
        let delay = due - self.nanos;
        let (last, finer) = LEVELS.split_last().expect("the wheel has levels");
        let level = finer
            .iter()
            .find(|level| delay < level.range())
            .unwrap_or(last);
        self.capacity + level.bucket_of_tick(level.tick(due))
    }

    /// Appends an unlinked slot at the tail of the bucket for its expiry time.
    fn link_into_bucket(&mut self, slot: u32) {
        let sentinel = self.sentinel_for(self.expire_at[slot as usize]);
        let tail = self.prev_of(sentinel);
        self.set_prev(slot, tail);
        self.set_next(slot, sentinel);
        self.set_next(tail, slot);
        self.set_prev(sentinel, slot);
    }

    /// Removes a linked slot from its bucket and marks it unscheduled.
    fn unlink(&mut self, slot: u32) {
        let prev = self.prev_of(slot);
        let next = self.next_of(slot);
        self.set_next(prev, next);
        self.set_prev(next, prev);
        self.clear_links(slot);
    }

    fn clear_links(&mut self, node: u32) {
        self.set_prev(node, NONE);
        self.set_next(node, NONE);
    }

    /// An empty circular list is a sentinel linked to itself.
    fn make_empty(&mut self, sentinel: u32) {
        self.set_prev(sentinel, sentinel);
        self.set_next(sentinel, sentinel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TICK: u64 = FINEST_TICK_NANOS;
    const SECOND: u64 = 1_000_000_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;

    /// Advances and returns the reported slots, in report order.
    fn advance_collect(wheel: &mut TimerWheel, now: u64) -> Vec<u32> {
        let mut expired = Vec::new();
        wheel.advance(now, |slot| expired.push(slot));
        expired
    }

    /// Tiny xorshift64* PRNG, so the randomized test needs no dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }
    }

    #[test]
    fn level_table_is_consistent() {
        let mut first_bucket = 0;
        for (index, level) in LEVELS.iter().enumerate() {
            assert!(level.buckets.is_power_of_two());
            assert_eq!(level.first_bucket, first_bucket);
            first_bucket += level.buckets;
            if let Some(coarser) = LEVELS.get(index + 1) {
                // A level's range is exactly one bucket of the next level.
                assert_eq!(level.range(), 1 << coarser.shift);
            }
        }
        assert_eq!(first_bucket, BUCKET_COUNT);
    }

    #[test]
    fn new_wheel_is_empty() {
        let wheel = TimerWheel::new(8, 123);
        assert!(wheel.is_empty());
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.capacity(), 8);
        assert_eq!(wheel.current_time(), 123);
        assert!((0..8).all(|slot| !wheel.is_scheduled(slot)));
        assert_eq!(wheel.expire_at(0), None);
    }

    #[test]
    fn schedule_and_deschedule_keep_bookkeeping() {
        let mut wheel = TimerWheel::new(8, 0);
        wheel.schedule(3, 5 * SECOND);
        wheel.schedule(5, 2 * HOUR);
        assert_eq!(wheel.len(), 2);
        assert!(!wheel.is_empty());
        assert!(wheel.is_scheduled(3) && wheel.is_scheduled(5));
        assert!(!wheel.is_scheduled(4));
        assert_eq!(wheel.expire_at(3), Some(5 * SECOND));
        assert_eq!(wheel.expire_at(5), Some(2 * HOUR));

        wheel.deschedule(3);
        assert_eq!(wheel.len(), 1);
        assert!(!wheel.is_scheduled(3));
        assert_eq!(wheel.expire_at(3), None);

        wheel.deschedule(3); // not scheduled: no-op
        wheel.deschedule(4); // never scheduled: no-op
        wheel.deschedule(99); // out of range: no-op
        assert_eq!(wheel.len(), 1);
        assert!(!wheel.is_scheduled(99));

        wheel.deschedule(5);
        assert!(wheel.is_empty());
    }

    #[test]
    fn rescheduling_moves_the_slot_to_its_new_time() {
        let mut wheel = TimerWheel::new(4, 0);
        wheel.schedule(1, 10 * SECOND);
        wheel.schedule(1, HOUR);
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.expire_at(1), Some(HOUR));
        assert!(advance_collect(&mut wheel, 20 * SECOND).is_empty());
        assert!(wheel.is_scheduled(1));

        wheel.schedule(1, 30 * SECOND); // moved earlier again
        assert_eq!(wheel.len(), 1);
        assert_eq!(advance_collect(&mut wheel, 30 * SECOND + TICK), vec![1]);
        assert!(wheel.is_empty());
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn scheduling_a_slot_out_of_range_panics() {
        TimerWheel::new(4, 0).schedule(4, SECOND);
    }

    #[test]
    fn entry_is_not_expired_before_its_time_and_is_one_tick_after() {
        let start = 7 * SECOND + 12_345;
        let expire_at = start + 300 * 1_000_000; // 300 ms
        let mut wheel = TimerWheel::new(2, start);
        wheel.schedule(0, expire_at);
        let mut now = start;
        while now < expire_at {
            assert!(
                advance_collect(&mut wheel, now).is_empty(),
                "early at {now}"
            );
            assert!(wheel.is_scheduled(0));
            now += 1_000_003;
        }
        assert_eq!(advance_collect(&mut wheel, expire_at + TICK), vec![0]);
        assert!(!wheel.is_scheduled(0));
        assert!(wheel.is_empty());
    }

    #[test]
    fn expired_slot_is_removed_before_the_callback() {
        let mut wheel = TimerWheel::new(2, 0);
        wheel.schedule(1, SECOND);
        let mut calls = 0;
        wheel.advance(2 * SECOND, |slot| {
            assert_eq!(slot, 1);
            calls += 1;
        });
        assert_eq!(calls, 1);
        assert!(!wheel.is_scheduled(1));
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn same_tick_advance_does_not_expire_a_slot_due_later_in_that_tick() {
        // Granularity is one finest tick: a slot due inside the current tick
        // waits for the next tick (the cache checks exact expiry on read).
        let mut wheel = TimerWheel::new(1, 0);
        wheel.schedule(0, 10);
        assert!(advance_collect(&mut wheel, 20).is_empty());
        assert_eq!(advance_collect(&mut wheel, TICK), vec![0]);
    }

    #[test]
    fn slot_scheduled_in_the_past_is_expired_by_the_next_advance_even_in_the_same_tick() {
        let mut wheel = TimerWheel::new(2, 5 * SECOND);
        wheel.schedule(0, SECOND); // long overdue
        wheel.schedule(1, 5 * SECOND); // due exactly now
        let mut expired = advance_collect(&mut wheel, 5 * SECOND + 1);
        expired.sort_unstable();
        assert_eq!(expired, vec![0, 1]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn advance_with_a_time_in_the_past_is_ignored() {
        let mut wheel = TimerWheel::new(2, 0);
        wheel.advance(100 * SECOND, |_| unreachable!());
        wheel.schedule(0, 101 * SECOND);
        wheel.schedule(1, 50 * SECOND); // overdue
        assert!(advance_collect(&mut wheel, 50 * SECOND).is_empty());
        assert!(advance_collect(&mut wheel, 0).is_empty());
        assert_eq!(wheel.current_time(), 100 * SECOND);
        assert_eq!(wheel.len(), 2);
        assert_eq!(advance_collect(&mut wheel, 100 * SECOND), vec![1]);
        assert_eq!(advance_collect(&mut wheel, 101 * SECOND + TICK), vec![0]);
    }

    const FAR_DELAYS: [u64; 6] = [
        90 * SECOND,
        17 * MINUTE + 3,
        5 * HOUR + 7 * MINUTE,
        2 * DAY + 11,
        40 * DAY,
        200 * DAY,
    ];

    /// Advances in `steps` uneven steps to well past `expire_at`, checking that
    /// the slot is reported exactly once, never early, and at most one tick late.
    fn check_expiry_in_small_steps(start: u64, delay: u64, steps: u64) {
        let expire_at = start + delay;
        let mut wheel = TimerWheel::new(1, start);
        wheel.schedule(0, expire_at);
        let step = delay / steps + 999_983; // uneven: not aligned to any bucket
        let mut reports = 0;
        let mut now = start;
        while now < expire_at + 3 * step {
            now += step;
            let expired = advance_collect(&mut wheel, now);
            reports += expired.len();
            if !expired.is_empty() {
                assert!(expire_at <= now, "delay {delay}: reported early at {now}");
            }
            if now >= expire_at + TICK {
                assert_eq!(reports, 1, "delay {delay}: not reported by {now}");
            }
        }
        assert!(wheel.is_empty());
    }

    #[test]
    fn far_future_entries_cascade_and_expire_on_time_in_small_steps() {
        for delay in FAR_DELAYS {
            check_expiry_in_small_steps(3 * SECOND + 77, delay, 5_000);
        }
    }

    #[test]
    fn far_future_entries_expire_on_time_in_one_big_jump() {
        let start = 42 * SECOND;
        for delay in FAR_DELAYS {
            let expire_at = start + delay;
            let mut wheel = TimerWheel::new(1, start);
            wheel.schedule(0, expire_at);
            // One jump to just before the expiry: cascaded, not expired.
            assert!(advance_collect(&mut wheel, expire_at - 1).is_empty());
            assert_eq!(wheel.expire_at(0), Some(expire_at));
            assert_eq!(advance_collect(&mut wheel, expire_at + TICK), vec![0]);

            // One jump from the start straight past the expiry.
            let mut wheel = TimerWheel::new(1, start);
            wheel.schedule(0, expire_at);
            assert_eq!(advance_collect(&mut wheel, expire_at + TICK), vec![0]);
        }
    }

    #[test]
    fn many_entries_at_different_horizons_expire_in_order_of_their_ticks() {
        let mut wheel = TimerWheel::new(FAR_DELAYS.len() as u32, 0);
        for (slot, delay) in FAR_DELAYS.iter().enumerate() {
            wheel.schedule(slot as u32, *delay);
        }
        let mut reported = Vec::new();
        let mut now = 0;
        while !wheel.is_empty() {
            now += 17 * MINUTE + 1_234_567;
            wheel.advance(now, |slot| {
                assert!(FAR_DELAYS[slot as usize] <= now);
                reported.push(slot);
            });
            for (slot, delay) in FAR_DELAYS.iter().enumerate() {
                if *delay + TICK <= now {
                    assert!(!wheel.is_scheduled(slot as u32));
                }
            }
        }
        assert_eq!(reported, (0..FAR_DELAYS.len() as u32).collect::<Vec<_>>());
    }

    #[test]
    fn expiry_beyond_the_last_level_range_keeps_cascading_until_due() {
        let expire_at = 3 * 365 * DAY; // far beyond the ~104-day range
        check_expiry_in_small_steps(0, expire_at, 3_000);
        let mut wheel = TimerWheel::new(1, 0);
        let end_of_time = u64::MAX - 2 * TICK;
        wheel.schedule(0, end_of_time);
        assert!(advance_collect(&mut wheel, end_of_time - 1).is_empty());
        assert_eq!(advance_collect(&mut wheel, u64::MAX), vec![0]);
    }

    /// A random delay spanning every level, sometimes in the past or zero.
    fn random_expiry(rng: &mut XorShift, now: u64) -> u64 {
        match rng.below(10) {
            0 => now.saturating_sub(rng.below(10 * SECOND)),
            1 => now,
            2..=5 => now + rng.below(2 * SECOND),
            6 | 7 => now + rng.below(2 * HOUR),
            8 => now + rng.below(5 * DAY),
            _ => now + rng.below(300 * DAY),
        }
    }

    /// A random move of the clock: mostly small, sometimes huge, sometimes back.
    fn random_time_step(rng: &mut XorShift, now: u64) -> u64 {
        match rng.below(20) {
            0 => now.saturating_sub(rng.below(SECOND)),
            1 => now + rng.below(30 * DAY),
            2 | 3 => now + rng.below(3 * HOUR),
            4..=7 => now + rng.below(TICK), // often the same finest tick
            _ => now + rng.below(30 * SECOND),
        }
    }

    #[test]
    fn randomized_operations_match_a_simple_model() {
        const SLOTS: u32 = 97;
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let start = 5 * SECOND;
        let mut wheel = TimerWheel::new(SLOTS, start);
        let mut model: HashMap<u32, u64> = HashMap::new();
        let mut clock = start; // the caller's clock, may go back
        let mut wheel_time = start; // max of all advances
        let mut total_expired = 0;

        for _ in 0..40_000 {
            let slot = rng.below(u64::from(SLOTS)) as u32;
            match rng.below(10) {
                0..=4 => {
                    let expire_at = random_expiry(&mut rng, clock);
                    wheel.schedule(slot, expire_at);
                    model.insert(slot, expire_at);
                }
                5 => {
                    wheel.deschedule(slot);
                    model.remove(&slot);
                }
                _ => {
                    clock = random_time_step(&mut rng, clock);
                    let now = clock;
                    let moves_forward = now >= wheel_time;
                    wheel.advance(now, |slot| {
                        let expire_at = model
                            .remove(&slot)
                            .expect("reported slot is scheduled and reported once");
                        assert!(expire_at <= now, "slot {slot} reported early");
                        assert!(moves_forward, "advance into the past reported {slot}");
                        total_expired += 1;
                    });
                    if moves_forward {
                        wheel_time = now;
                        for (slot, expire_at) in &model {
                            assert!(
                                expire_at >> FINEST_TICK_SHIFT >= now >> FINEST_TICK_SHIFT,
                                "slot {slot} due at {expire_at} still scheduled at {now}"
                            );
                        }
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
            assert_eq!(wheel.current_time(), wheel_time);
            for probe in 0..SLOTS {
                assert_eq!(wheel.expire_at(probe), model.get(&probe).copied());
            }
        }
        assert!(total_expired > 1_000, "test exercised too few expiries");
    }
}
