//! Mini-simulation: sizes the W-TinyLFU admission window by replaying a sample of the traffic
//! through small caches that each keep one fixed window, and following the one that hits most.
//!
//! This is the "mini-simulation" of Einziger et al., "Adaptive Software Cache Management"
//! (Middleware 2018), chosen over Caffeine's hill climbing: the climber compares one sample's hit
//! rate with the previous sample's, a signal as noisy as the effect of one step, so on
//! recency-heavy traffic it reverses at random (`benchmark/results/climber.md`). Here every
//! candidate window sees the same requests, so their hit counts compare like for like.
//!
//! - **Candidates**: windows from 1% of the capacity (frequency-skewed traffic) to all but one
//!   entry (which is LRU with a single entry of main space).
//! - **Sampling**: above `2 × SIM_ENTRIES` entries, only keys whose hash falls in the lowest
//!   `1/2^k` of the range are simulated, in caches `2^k` times smaller, so each simulated cache
//!   keeps at least `SIM_ENTRIES` entries (spatial sampling, as in SHARDS: Waldspurger et al.,
//!   FAST 2015). A large cache pays for a simulated access on one request in `2^k`.
//! - **Frequencies**: the simulated caches ask the real cache's sketch, which counts every request
//!   (a sampled key's frequency is the same in the sample as in the whole stream).
//! - **Decisions**: every `period` requests (the capacity, at least `MIN_PERIOD`) each
//!   candidate's hits join a score that keeps three quarters of its past, and the best score names
//!   the window. A period shorter than the capacity, or a faster decay, chases noise: a simulated
//!   cache can lead for a while only because of what its history left in it.
//! - **Weights**: the simulated caches count entries; in a cache bounded by weight they still rank
//!   windows by hits.

use hashbrown::HashTable;

use crate::segments::{largest_window, Segments};
use crate::sketch::FrequencySketch;

/// The candidate windows, as shares of the capacity (1.0: all but one entry).
const WINDOWS: [f64; 8] = [0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 1.0];
/// Entries below which a simulated cache stops representing its full-size counterpart.
const SIM_ENTRIES: u32 = 512;
/// Weight of the previous score when a period's hits are added (the memory of the decision).
const SCORE_DECAY: f64 = 0.75;
/// Requests between decisions, as a multiple of the capacity, and their bounds.
const PERIOD_PER_ENTRY: u64 = 1;
const MIN_PERIOD: u64 = 2_000;
const MAX_PERIOD: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct MiniSim {
    sims: Vec<SimulatedCache>,
    capacity: u32,
    /// A request is simulated when its hash is at most this.
    sampled_below: u64,
    period: u64,
    countdown: u64,
    chosen: usize,
}

impl MiniSim {
    /// `None` for a cache too small to have a window to choose.
    pub fn new(capacity: u32) -> Option<Self> {
        if capacity < 4 {
            return None;
        }
        let mut sample_bits = 0;
        while capacity >> (sample_bits + 1) >= SIM_ENTRIES {
            sample_bits += 1;
        }
        let sim_capacity = capacity >> sample_bits;
        let period = (PERIOD_PER_ENTRY * u64::from(capacity)).clamp(MIN_PERIOD, MAX_PERIOD);
        Some(MiniSim {
            sims: WINDOWS
                .iter()
                .map(|&share| SimulatedCache::new(sim_capacity, share))
                .collect(),
            capacity,
            sampled_below: u64::MAX >> sample_bits,
            period,
            countdown: period,
            chosen: 0,
        })
    }

    /// Records one request; at the end of a period returns the window (in entries of the real
    /// cache) that the best simulated cache keeps.
    #[inline]
    pub fn record(&mut self, hash: u64, sketch: &FrequencySketch) -> Option<u32> {
        if hash <= self.sampled_below {
            for sim in &mut self.sims {
                sim.access(hash, sketch);
            }
        }
        self.countdown -= 1;
        if self.countdown > 0 {
            return None;
        }
        self.countdown = self.period;
        Some(self.decide())
    }

    /// The window of the best-scoring simulated cache; the current choice wins ties.
    fn decide(&mut self) -> u32 {
        for sim in &mut self.sims {
            sim.score = sim.score * SCORE_DECAY + f64::from(sim.hits);
            sim.hits = 0;
        }
        let best = (0..self.sims.len())
            .max_by(|&a, &b| self.sims[a].score.total_cmp(&self.sims[b].score))
            .unwrap_or(self.chosen);
        if self.sims[best].score > self.sims[self.chosen].score {
            self.chosen = best;
        }
        window_for(self.capacity, WINDOWS[self.chosen])
    }

    /// Share of the capacity the chosen window takes (for tests and tracing).
    pub fn chosen_share(&self) -> f64 {
        WINDOWS[self.chosen]
    }
}

/// The window of `share` of `capacity`, between one entry and all but one.
fn window_for(capacity: u32, share: f64) -> u32 {
    ((f64::from(capacity) * share).round() as u32).clamp(1, largest_window(capacity))
}

/// A W-TinyLFU cache of hashes only, with a fixed window.
#[derive(Debug, Clone)]
struct SimulatedCache {
    segments: Segments,
    table: HashTable<u32>,
    hashes: Vec<u64>,
    free: Vec<u32>,
    used: u32,
    hits: u32,
    score: f64,
}

impl SimulatedCache {
    fn new(capacity: u32, window_share: f64) -> Self {
        let slots = capacity + 1;
        let mut segments = Segments::new(capacity, slots);
        segments.set_window(window_for(capacity, window_share));
        SimulatedCache {
            segments,
            table: HashTable::with_capacity(slots as usize),
            hashes: vec![0; slots as usize],
            free: Vec::new(),
            used: 0,
            hits: 0,
            score: 0.0,
        }
    }

    fn access(&mut self, hash: u64, sketch: &FrequencySketch) {
        let hashes = &mut self.hashes;
        if let Some(&slot) = self.table.find(hash, |&s| hashes[s as usize] == hash) {
            self.segments.on_hit(slot);
            self.hits += 1;
            return;
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.used += 1;
            self.used - 1
        });
        hashes[slot as usize] = hash;
        self.table
            .insert_unique(hash, slot, |&s| hashes[s as usize]);
        let evicted = self
            .segments
            .on_insert(slot, |s| sketch.frequency(hashes[s as usize]));
        if let Some(evicted) = evicted {
            self.segments.on_remove(evicted);
            let evicted_hash = hashes[evicted as usize];
            if let Ok(entry) = self.table.find_entry(evicted_hash, |&s| s == evicted) {
                entry.remove();
            }
            self.free.push(evicted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spreads small integers over the hash range, as key hashes are.
    fn mix(i: u64) -> u64 {
        let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn small_caches_simulate_every_request_and_large_ones_a_power_of_two_share() {
        let small = MiniSim::new(1_000).expect("adaptive");
        assert_eq!(small.sampled_below, u64::MAX);
        assert_eq!(small.sims[0].segments.window_limit(), 999);
        let large = MiniSim::new(100_000).expect("adaptive");
        // 100,000 >> 7 = 781 entries per simulated cache, at least SIM_ENTRIES.
        assert_eq!(large.sampled_below, u64::MAX >> 7);
        assert_eq!(large.sims[0].segments.window_limit(), 780);
        assert!(MiniSim::new(3).is_none());
    }

    #[test]
    fn simulated_caches_hold_their_capacity() {
        let sketch = FrequencySketch::new(600);
        let mut sim = SimulatedCache::new(600, 0.3);
        for i in 0..20_000 {
            sim.access(mix(i % 5_000), &sketch);
        }
        assert_eq!(sim.table.len(), 600);
        assert_eq!(sim.used, 601);
    }

    /// A stream of one-off keys each read again soon after: only a large window keeps them.
    fn recency_stream(requests: u64) -> impl Iterator<Item = u64> {
        (0..requests).map(|i| {
            if i % 2 == 0 {
                mix(i)
            } else {
                mix(i - 1 - 2 * (mix(i) % 200).min(i / 2))
            }
        })
    }

    #[test]
    fn recency_heavy_traffic_chooses_a_large_window_and_skewed_traffic_a_small_one() {
        let capacity = 1_000;
        let mut sketch = FrequencySketch::new(capacity);
        let mut minisim = MiniSim::new(capacity).expect("adaptive");
        for hash in recency_stream(100_000) {
            sketch.increment(hash);
            minisim.record(hash, &sketch);
        }
        let scores: Vec<f64> = minisim.sims.iter().map(|s| s.score).collect();
        assert!(
            minisim.chosen_share() >= 0.5,
            "{} {scores:?}",
            minisim.chosen_share()
        );

        // A few hot keys among a scan of one-off keys: the small window protects the hot ones.
        for i in 0..200_000u64 {
            let hash = if i % 2 == 0 {
                mix(1 << 40 | (i % 1_600))
            } else {
                mix(1 << 41 | i)
            };
            sketch.increment(hash);
            minisim.record(hash, &sketch);
        }
        assert!(minisim.chosen_share() <= 0.15, "{}", minisim.chosen_share());
    }
}
