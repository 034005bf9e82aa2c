//! Microbenchmarks of the local cache's hot paths and of the Bloom doorkeeper.
//!
//! Keys look like the framework's (`user:{id}:info:v1`; the cache stores their fingerprints). Requests follow Zipf(1.0)
//! over 100k keys (`replay::zipf_keys`). Every key sequence is generated before measuring; each
//! iteration takes the next key of the sequence (an index cycling over a power-of-two length), so
//! the figures are the cost of one operation. The caches use the real monotonic clock, which is
//! read only on the TTL paths, as in production.
//!
//! Each group starts with its floor, measured in the same run: a `HashMap` keyed by the same byte
//! strings with the same hasher (foldhash), doing the bare lookup or a bounded insert (FIFO
//! removal of the key inserted `SMALL_CAPACITY` earlier) with no policy, expiry or counters. The
//! cache's figures are read as multiples of it (`benchmark/rust-core.ts` turns them into a table).
//!
//! Short runs by design (1 s warm-up, 2 s measurement, 10 samples per benchmark): the machine is
//! shared, and these are for comparing changes, not for publication.

use std::collections::HashMap;
use std::time::Duration;

use cacheme_core::replay::{zipf_key, zipf_keys};
use cacheme_core::{BloomFilter, LocalCache, PolicyKind};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Distinct keys in the Zipf workload.
const KEYS: u64 = 100_000;
/// Length of each pre-generated request sequence (a power of two: the index is masked).
const SEQUENCE: usize = 1 << 17;
const MASK: usize = SEQUENCE - 1;
/// Capacity of the caches on the eviction paths: far below the number of distinct keys inserted.
const SMALL_CAPACITY: u32 = 10_000;
/// One hour: nothing expires during a run, so the TTL benchmarks measure scheduling alone.
const TTL_NANOS: u64 = 3_600_000_000_000;

const POLICIES: [(&str, PolicyKind); 2] = [("tlfu", PolicyKind::TinyLfu), ("lru", PolicyKind::Lru)];

fn key(id: u64, version: u32) -> Vec<u8> {
    format!("user:{id}:info:v{version}").into_bytes()
}

/// A Zipf(1.0) request sequence over the 100k keys.
fn zipf_sequence(version: u32) -> Vec<Vec<u8>> {
    zipf_keys(KEYS, 1.0, SEQUENCE, 42)
        .into_iter()
        .map(|id| key(id, version))
        .collect()
}

/// `SEQUENCE` distinct keys: each insert of the cycle is a key not in a cache of `SMALL_CAPACITY`.
fn distinct_sequence() -> Vec<Vec<u8>> {
    (0..SEQUENCE as u64).map(|id| key(id, 2)).collect()
}

/// A cache holding all 100k keys of the workload.
fn full_cache(kind: PolicyKind, ttl: Option<u64>) -> LocalCache {
    let mut cache = LocalCache::new(kind, KEYS as u32).expect("valid capacity");
    for rank in 1..=KEYS {
        cache.insert(&key(zipf_key(rank), 1), ttl);
    }
    cache.freed().for_each(drop);
    assert_eq!(cache.len(), KEYS as usize);
    cache
}

/// A cache of `SMALL_CAPACITY` entries, already full.
fn small_full_cache(kind: PolicyKind, ttl: Option<u64>) -> LocalCache {
    let mut cache = LocalCache::new(kind, SMALL_CAPACITY).expect("valid capacity");
    for id in 0..u64::from(SMALL_CAPACITY) {
        cache.insert(&key(id, 3), ttl);
    }
    cache.freed().for_each(drop);
    assert_eq!(cache.len(), SMALL_CAPACITY as usize);
    cache
}

type FloorMap = HashMap<Vec<u8>, u32, foldhash::fast::RandomState>;

fn get(c: &mut Criterion) {
    let hits = zipf_sequence(1);
    let misses = zipf_sequence(9); // same ids, a version never inserted
    let mut group = c.benchmark_group("get");
    group.throughput(Throughput::Elements(1));

    let mut map = FloorMap::default();
    for rank in 1..=KEYS {
        map.insert(key(zipf_key(rank), 1), rank as u32);
    }
    for (name, sequence) in [("hit", &hits), ("miss", &misses)] {
        let mut i = 0;
        group.bench_function(format!("{name}/hashmap (floor)"), |b| {
            b.iter(|| {
                let slot = map.get(&sequence[i & MASK]).copied();
                i += 1;
                slot
            })
        });
    }
    for (name, kind) in POLICIES {
        let mut cache = full_cache(kind, None);
        let mut i = 0;
        group.bench_function(format!("hit/{name}"), |b| {
            b.iter(|| {
                let slot = cache.get(&hits[i & MASK]);
                i += 1;
                slot
            })
        });
        assert_eq!(cache.counters().misses, 0, "every read must hit");

        let hits_before = cache.counters().hits;
        let mut i = 0;
        group.bench_function(format!("miss/{name}"), |b| {
            b.iter(|| {
                let slot = cache.get(&misses[i & MASK]);
                i += 1;
                slot
            })
        });
        assert_eq!(cache.counters().hits, hits_before, "every read must miss");
    }
    group.finish();
}

fn insert(c: &mut Criterion) {
    let fresh = distinct_sequence();
    let zipf = zipf_sequence(1);
    let mut group = c.benchmark_group("insert");
    group.throughput(Throughput::Elements(1));

    // The floor of a bounded insert: a new key in, the key inserted SMALL_CAPACITY earlier out.
    let mut map = FloorMap::default();
    for (id, key) in fresh.iter().enumerate().take(SMALL_CAPACITY as usize) {
        map.insert(key.clone(), id as u32);
    }
    let mut i = SMALL_CAPACITY as usize;
    group.bench_function("evict/hashmap (floor)", |b| {
        b.iter(|| {
            map.remove(&fresh[(i - SMALL_CAPACITY as usize) & MASK]);
            let previous = map.insert(fresh[i & MASK].clone(), i as u32);
            i += 1;
            previous
        })
    });

    // A new key into a full cache: link, admission, one eviction, freed slot drained.
    for (name, kind) in POLICIES {
        let mut cache = small_full_cache(kind, None);
        let mut i = 0;
        group.bench_function(format!("evict/{name}"), |b| {
            b.iter(|| {
                let slot = cache.insert(&fresh[i & MASK], None);
                i += 1;
                cache.freed().for_each(drop);
                slot
            })
        });
        assert_eq!(
            cache.counters().updates,
            0,
            "every insert must be of a new key"
        );
    }

    // A new key into a cache full by weight (weights 1 to 3, the weight bound the binding one):
    // evictions until the weight fits, each victim chosen by the policy.
    for (name, kind) in POLICIES {
        let mut cache = LocalCache::new(kind, 4 * SMALL_CAPACITY)
            .expect("valid capacity")
            .with_max_weight(2 * u64::from(SMALL_CAPACITY))
            .expect("valid max weight");
        for id in 0..u64::from(SMALL_CAPACITY) {
            cache.insert_weighted(&key(id, 4), None, 1 + (id % 3) as u32);
        }
        cache.freed().for_each(drop);
        let mut i = 0;
        group.bench_function(format!("weighted_evict/{name}"), |b| {
            b.iter(|| {
                let slot = cache.insert_weighted(&fresh[i & MASK], None, 1 + (i % 3) as u32);
                i += 1;
                cache.freed().for_each(drop);
                slot
            })
        });
    }

    // Same with a TTL: a clock read, a wheel advance, scheduling the new entry and descheduling
    // the evicted one.
    let mut cache = small_full_cache(PolicyKind::TinyLfu, Some(TTL_NANOS));
    let mut i = 0;
    group.bench_function("ttl_evict/tlfu", |b| {
        b.iter(|| {
            let slot = cache.insert(&fresh[i & MASK], Some(TTL_NANOS));
            i += 1;
            cache.freed().for_each(drop);
            slot
        })
    });

    // Overwriting present keys with a TTL: a clock read, a wheel advance and a re-schedule.
    let mut cache = full_cache(PolicyKind::TinyLfu, Some(TTL_NANOS));
    let mut i = 0;
    group.bench_function("ttl_update/tlfu", |b| {
        b.iter(|| {
            let slot = cache.insert(&zipf[i & MASK], Some(TTL_NANOS));
            i += 1;
            slot
        })
    });
    assert_eq!(cache.freed_len(), 0, "no entry may expire or be evicted");
    group.finish();
}

fn bloom(c: &mut Criterion) {
    let fresh = distinct_sequence();
    let absent: Vec<Vec<u8>> = (0..SEQUENCE as u64).map(|id| key(id, 8)).collect();
    let mut group = c.benchmark_group("bloom");
    group.throughput(Throughput::Elements(1));

    // A filter for half the key cycle (64k keys at 1%: 2^20 bits = 128 KiB, 7 hashes): it clears
    // itself every 64k new keys, so each key of the cycle is new to it again the next time round
    // and nearly every call takes the full insert path (set 7 bits), not the "already seen" one.
    let half = SEQUENCE as f64 / 2.0;
    let mut filter = BloomFilter::new(half, 0.01).expect("valid filter");
    let mut i = 0;
    let mut already_seen = 0u64;
    group.bench_function("insert", |b| {
        b.iter(|| {
            let seen = filter.insert(&fresh[i & MASK]);
            already_seen += u64::from(seen);
            i += 1;
            seen
        })
    });
    assert!(
        already_seen * 20 < i as u64,
        "{already_seen} of {i} inserts found the key already present"
    );

    // Lookups in a 64k-key filter (fits in L2) and in a 1M-key one (2^24 bits = 2 MiB).
    for (name, capacity) in [("64k", half), ("1m", 1_000_000.0)] {
        let mut filter = BloomFilter::new(capacity, 0.01).expect("valid filter");
        let present = &fresh[..SEQUENCE / 2];
        for key in present {
            filter.insert(key);
        }
        let mut i = 0;
        group.bench_function(format!("contains_{name}/present"), |b| {
            b.iter(|| {
                let found = filter.contains(&present[i & (MASK >> 1)]);
                i += 1;
                found
            })
        });
        let mut i = 0;
        group.bench_function(format!("contains_{name}/absent"), |b| {
            b.iter(|| {
                let found = filter.contains(&absent[i & MASK]);
                i += 1;
                found
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = config();
    targets = get, insert, bloom
}
criterion_main!(benches);
