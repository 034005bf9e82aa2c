//! Trace replay for hit-ratio work: trace readers, a replay driver for [`LocalCache`], Bélády's
//! optimal hit ratio as the upper bound, and a Zipf workload generator.
//!
//! Readers take already-decompressed input (`impl BufRead`); opening the `.gz` files is left to the
//! caller. The replay semantics are those of Caffeine's simulator: for each key, read it, and on a
//! miss insert it; the hit ratio is hits / requests.
//!
//! Trace formats (see `benchmark/traces/README.md`):
//! - LIRS (Jiang & Zhang, SIGMETRICS 2002): one integer key per line;
//! - ARC (Megiddo & Modha, FAST 2003): each line `start count _ _` requests the keys
//!   `start … start + count − 1` in order.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead};

use crate::cache::{LocalCache, PolicyKind};
use crate::clock::ManualClock;

/// Hit ratios (%) published by Caffeine's simulator for one trace, at [`PUBLISHED_SIZES`].
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub lru: [f64; 8],
    /// W-TinyLFU with a fixed 1% admission window.
    pub tinylfu: [f64; 8],
    pub optimal: [f64; 8],
}

/// Cache sizes of the published figures.
pub const PUBLISHED_SIZES: [u32; 8] = [250, 500, 750, 1000, 1250, 1500, 1750, 2000];

/// Caffeine's figures for the ARC OLTP trace.
pub const OLTP_PUBLISHED: Published = Published {
    lru: [16.47, 23.45, 28.28, 32.83, 36.21, 38.70, 40.79, 42.47],
    tinylfu: [22.76, 29.21, 32.97, 35.30, 37.52, 38.99, 40.37, 41.67],
    optimal: [38.47, 46.43, 50.67, 53.62, 55.84, 57.62, 59.13, 60.40],
};

/// Caffeine's figures for the LIRS glimpse trace.
pub const GLIMPSE_PUBLISHED: Published = Published {
    lru: [0.91, 0.95, 1.15, 11.21, 21.25, 36.56, 45.04, 57.41],
    tinylfu: [15.15, 33.08, 43.11, 50.57, 51.87, 53.57, 55.61, 57.96],
    optimal: [17.71, 34.33, 46.13, 53.15, 57.31, 57.96, 57.96, 57.96],
};

/// Reads a LIRS trace: one integer key per line. Blank and non-numeric lines are skipped.
pub fn parse_lirs<R: BufRead>(reader: R) -> io::Result<Vec<u64>> {
    let mut keys = Vec::new();
    for line in reader.lines() {
        if let Ok(key) = line?.trim().parse::<u64>() {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Reads an ARC trace: each line `start count _ _` expands to the keys `start … start + count − 1`.
/// Lines whose first two fields are not integers are skipped.
pub fn parse_arc<R: BufRead>(reader: R) -> io::Result<Vec<u64>> {
    let mut keys = Vec::new();
    for line in reader.lines() {
        let line = line?;
        let mut fields = line.split_whitespace();
        let (Some(Ok(start)), Some(Ok(count))) = (
            fields.next().map(str::parse::<u64>),
            fields.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        keys.extend((0..count).map(|i| start.wrapping_add(i)));
    }
    Ok(keys)
}

/// Requests a hit ratio is measured over: a shorter trace is replayed under several hash seeds.
const REQUESTS_PER_MEASUREMENT: usize = 1_000_000;
/// Most replays of one short trace.
const MAX_REPLAYS: usize = 32;

/// Replays `keys` (as little-endian `u64` bytes) through a cache of `size` entries with the given
/// policy: a read for each key, and an insert on a miss. Returns hits / requests (0 for no keys).
///
/// W-TinyLFU's sketch depends on the key hash, and on a short trace (Glimpse: 6k requests) one
/// hash seed can move the result by a point either way. So a trace shorter than a million
/// requests is replayed under several fixed seeds and the mean is returned: deterministic, and a
/// measure of the policy rather than of one seed's collisions.
///
/// # Panics
/// If `size` is not a valid capacity (see [`crate::cache::MAX_CAPACITY`]).
pub fn hit_ratio(kind: PolicyKind, size: u32, keys: &[u64]) -> f64 {
    let replays = REQUESTS_PER_MEASUREMENT
        .div_ceil(keys.len().max(1))
        .clamp(1, MAX_REPLAYS);
    let total: f64 = (0..replays as u64)
        .map(|seed| seeded_hit_ratio(kind, size, keys, seed))
        .sum();
    total / replays as f64
}

/// One replay under one hash seed.
pub fn seeded_hit_ratio(kind: PolicyKind, size: u32, keys: &[u64], seed: u64) -> f64 {
    let mut cache = LocalCache::with_seed(kind, size, ManualClock::default(), seed)
        .expect("cache size must be a valid capacity");
    let mut hits = 0u64;
    for key in keys {
        let key = key.to_le_bytes();
        if cache.get(&key).is_some() {
            hits += 1;
        } else {
            cache.insert(&key, None);
            cache.freed().for_each(drop);
        }
    }
    ratio(hits, keys.len())
}

/// The best hit ratio any policy can reach on `keys` with `size` entries: Bélády's clairvoyant
/// policy (L. A. Bélády, "A study of replacement algorithms for a virtual-storage computer", IBM
/// Systems Journal 5(2), 1966), which on a miss with a full cache evicts the entry whose next use
/// is farthest in the future. A key never requested again is not kept (bypass), which loses no
/// hit. O(n log size) after an O(n) pass that finds each request's next use.
pub fn optimal_hit_ratio(size: usize, keys: &[u64]) -> f64 {
    const NEVER: usize = usize::MAX;
    // next_use[i]: index of the next request for keys[i], or NEVER.
    let mut next_use = vec![NEVER; keys.len()];
    let mut seen: HashMap<u64, usize> = HashMap::with_capacity(keys.len() / 4);
    for (i, &key) in keys.iter().enumerate().rev() {
        if let Some(next) = seen.insert(key, i) {
            next_use[i] = next;
        }
    }
    drop(seen);
    // The cache as the set of its entries' next uses. Each request index is the next use of at
    // most one key, so indices identify entries: the request at `i` hits iff `i` is in the set.
    let mut cached: BTreeSet<usize> = BTreeSet::new();
    let mut hits = 0u64;
    for (i, &next) in next_use.iter().enumerate() {
        if cached.remove(&i) {
            hits += 1;
        }
        if next == NEVER {
            continue;
        }
        cached.insert(next);
        if cached.len() > size {
            cached.pop_last();
        }
    }
    ratio(hits, keys.len())
}

/// `count` requests over `n_keys` keys whose popularity follows Zipf's law with exponent `s`: the
/// key of rank r (1-based) is requested with probability proportional to 1 / r^s. Ranks map to keys
/// through a fixed bijective mix, so popular keys are not the smallest integers; key of rank r is
/// [`zipf_key`]`(r)`. The same `seed` gives the same sequence.
///
/// # Panics
/// If `n_keys` is 0 while `count` is not, or `s` is negative or not finite.
pub fn zipf_keys(n_keys: u64, s: f64, count: usize, seed: u64) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    assert!(n_keys > 0, "a Zipf workload needs at least one key");
    assert!(
        s.is_finite() && s >= 0.0,
        "Zipf exponent must be finite and ≥ 0"
    );
    let mut cdf = Vec::with_capacity(n_keys as usize);
    let mut total = 0.0;
    for rank in 1..=n_keys {
        total += (rank as f64).powf(-s);
        cdf.push(total);
    }
    for c in &mut cdf {
        *c /= total;
    }
    let mut rng = SplitMix64(seed);
    (0..count)
        .map(|_| {
            let u = rng.next_f64();
            let index = cdf.partition_point(|&c| c <= u).min(cdf.len() - 1);
            zipf_key(index as u64 + 1)
        })
        .collect()
}

/// A recency-biased stream where popularity drifts: each request draws a Zipf(`s`) rank over
/// `n_hot` keys, but the keys behind the ranks slide by one every `drift_every` requests, so the
/// hottest keys keep being replaced by keys never seen before. What was popular a while ago tells
/// little about what is popular now: the frequency history TinyLFU relies on goes stale, and LRU,
/// which keeps what was used last, does well.
pub fn drifting_zipf_keys(
    n_hot: u64,
    s: f64,
    drift_every: usize,
    count: usize,
    seed: u64,
) -> Vec<u64> {
    let ranks = zipf_keys(n_hot, s, count, seed);
    let unrank: HashMap<u64, u64> = (1..=n_hot).map(|rank| (zipf_key(rank), rank)).collect();
    ranks
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let rank = unrank[key];
            // Rank 1 is the newest key: it entered the hot set last.
            let slide = (i / drift_every.max(1)) as u64;
            zipf_key(slide + n_hot - rank + 1)
        })
        .collect()
}

/// A stream with LRU-friendly reuse (a stack-distance model): with probability `reuse` a request
/// re-reads one of the last `window` keys first requested, picked with a strong bias to the most
/// recent (distance `window × u³`), and otherwise asks for a key never requested before. Nothing is
/// popular for long; whether a key comes back depends only on how recently it was first used.
pub fn recency_keys(window: u64, reuse: f64, count: usize, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix64(seed);
    let mut introduced = 0u64;
    (0..count)
        .map(|_| {
            if introduced > 0 && rng.next_f64() < reuse {
                let u = rng.next_f64();
                let back = ((window as f64) * u * u * u) as u64;
                zipf_key(introduced - 1 - back.min(introduced - 1) + 1)
            } else {
                introduced += 1;
                zipf_key(introduced)
            }
        })
        .collect()
}

/// Phases of `phase` requests that alternate between a frequency-skewed workload (Zipf(1.0) over
/// `n_keys` fixed keys) and [`recency_keys`] over new keys: the right admission window changes
/// every phase, which is what the adaptive window must follow.
pub fn phased_keys(n_keys: u64, phase: usize, phases: usize, seed: u64) -> Vec<u64> {
    let mut keys = Vec::with_capacity(phase * phases);
    for p in 0..phases {
        if p % 2 == 0 {
            keys.extend(zipf_keys(n_keys, 1.0, phase, seed + p as u64));
        } else {
            // Offset so that recency keys never coincide with the Zipf ones.
            let offset = 1u64 << 40;
            keys.extend(
                recency_keys(n_keys / 4, 0.7, phase, seed + p as u64)
                    .into_iter()
                    .map(|k| k ^ offset.wrapping_mul(p as u64 + 1)),
            );
        }
    }
    keys
}

/// The key [`zipf_keys`] uses for a 1-based popularity rank (a bijection on `u64`).
pub fn zipf_key(rank: u64) -> u64 {
    // The splitmix64 finalizer: xor-shifts and multiplications by odd constants, all invertible.
    let mut z = rank;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        zipf_key(self.0)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

fn ratio(hits: u64, requests: usize) -> f64 {
    if requests == 0 {
        0.0
    } else {
        hits as f64 / requests as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn lirs_reader_takes_one_key_per_line_and_skips_blank_and_non_numeric_lines() {
        let input = "0\n1\n\n  2  \n*\nabc\n18446744073709551615\n";
        assert_eq!(
            parse_lirs(input.as_bytes()).unwrap(),
            vec![0, 1, 2, u64::MAX]
        );
    }

    #[test]
    fn arc_reader_expands_each_line_to_count_consecutive_keys() {
        let input = "10 3 0 0\n\n5 1 0 0\nbad line\n7 0 0 0\n20 2 1 1\n";
        assert_eq!(
            parse_arc(input.as_bytes()).unwrap(),
            vec![10, 11, 12, 5, 20, 21]
        );
    }

    #[test]
    fn optimal_evicts_the_entry_used_farthest_in_the_future() {
        // Size 2, trace a b c a b d a c b:
        //  a miss {a}; b miss {a b}; c miss: next a@3, b@4, c@7 → c goes farthest, bypass;
        //  a hit (next @6); b hit (next @8); d miss: never used again → bypass;
        //  a hit, never used again → dropped; c miss, never again → bypass; b hit.
        //  Hits: a, b, a, b = 4 of 9.
        let trace = [1, 2, 3, 1, 2, 4, 1, 3, 2];
        assert!((optimal_hit_ratio(2, &trace) - 4.0 / 9.0).abs() < 1e-12);
        // Size 1: a b a b keeps a and bypasses b (one hit); a a b b hits twice.
        assert_eq!(optimal_hit_ratio(1, &[1, 2, 1, 2]), 0.25);
        assert_eq!(optimal_hit_ratio(1, &[1, 1, 2, 2]), 0.5);
        // Large enough: only compulsory misses.
        assert!((optimal_hit_ratio(10, &trace) - 5.0 / 9.0).abs() < 1e-12);
        assert_eq!(optimal_hit_ratio(0, &trace), 0.0);
        assert_eq!(optimal_hit_ratio(3, &[]), 0.0);
    }

    #[test]
    fn optimal_is_never_below_lru() {
        let keys = zipf_keys(500, 0.9, 20_000, 3);
        for size in [1, 10, 50, 200] {
            let lru = hit_ratio(PolicyKind::Lru, size, &keys);
            let optimal = optimal_hit_ratio(size as usize, &keys);
            assert!(optimal >= lru, "size {size}: optimal {optimal} < lru {lru}");
        }
    }

    #[test]
    fn lru_replay_counts_hits_over_requests() {
        // Size 2: a b a c b a → hits: a (3rd); then c evicts b, b evicts a, a misses.
        assert!((hit_ratio(PolicyKind::Lru, 2, &[1, 2, 1, 3, 2, 1]) - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn zipf_most_popular_rank_is_requested_most_and_popularity_falls_with_rank() {
        let keys = zipf_keys(1000, 1.0, 200_000, 7);
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for &key in &keys {
            *counts.entry(key).or_default() += 1;
        }
        let count = |rank: u64| counts.get(&zipf_key(rank)).copied().unwrap_or(0);
        let top = counts.values().copied().max().unwrap();
        assert_eq!(count(1), top);
        assert!(count(1) > count(2) && count(2) > count(10) && count(10) > count(100));
        // P(rank 1) = 1 / H(1000) ≈ 0.1336.
        let share = count(1) as f64 / keys.len() as f64;
        assert!((share - 0.1336).abs() < 0.005, "rank-1 share {share}");
        // Popular keys are spread over the key space, not the smallest integers.
        assert!(zipf_key(1) > 1000 && zipf_key(2) > 1000);
    }

    #[test]
    fn zipf_is_deterministic_per_seed() {
        let a = zipf_keys(10_000, 1.0001, 5_000, 42);
        assert_eq!(a, zipf_keys(10_000, 1.0001, 5_000, 42));
        assert_ne!(a, zipf_keys(10_000, 1.0001, 5_000, 43));
        assert!(zipf_keys(10, 1.0, 0, 1).is_empty());
    }

    #[test]
    fn drifting_zipf_keeps_bringing_new_keys_into_the_hot_set() {
        let keys = drifting_zipf_keys(1_000, 0.9, 10, 100_000, 1);
        assert_eq!(keys, drifting_zipf_keys(1_000, 0.9, 10, 100_000, 1));
        let first: HashSet<u64> = keys[..10_000].iter().copied().collect();
        let last: HashSet<u64> = keys[90_000..].iter().copied().collect();
        // After 80,000 requests the set has slid by 8,000 keys: nothing early is still requested.
        assert_eq!(first.intersection(&last).count(), 0);
        // Ten thousand requests span a thousand slides: at most the hot set and the keys that joined.
        assert!(last.len() <= 2_000);
    }

    #[test]
    fn recency_stream_reuses_recent_keys_at_the_given_rate() {
        let keys = recency_keys(1_000, 0.8, 100_000, 1);
        assert_eq!(keys, recency_keys(1_000, 0.8, 100_000, 1));
        let distinct: HashSet<u64> = keys.iter().copied().collect();
        let new_share = distinct.len() as f64 / keys.len() as f64;
        assert!((0.18..0.22).contains(&new_share), "{new_share}");
        // Reuse favours the newest keys: an LRU of 1% of the distinct keys already hits often.
        assert!(hit_ratio(PolicyKind::Lru, 200, &keys) > 0.25);
    }

    #[test]
    fn phased_stream_alternates_fixed_keys_and_new_ones() {
        let keys = phased_keys(1_000, 10_000, 4, 1);
        assert_eq!(keys.len(), 40_000);
        let zipf_a: HashSet<u64> = keys[..10_000].iter().copied().collect();
        let zipf_b: HashSet<u64> = keys[20_000..30_000].iter().copied().collect();
        let recency: HashSet<u64> = keys[10_000..20_000].iter().copied().collect();
        assert!(
            zipf_a.intersection(&zipf_b).count() > 500,
            "the frequency phases share keys"
        );
        assert_eq!(zipf_a.intersection(&recency).count(), 0);
    }
}
