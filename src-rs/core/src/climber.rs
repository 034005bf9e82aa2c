//! Hill climbing that sizes the W-TinyLFU admission window to the workload.
//!
//! A fixed 1% window suits frequency-skewed traffic but trails LRU on recency-heavy traces. Following
//! Caffeine (Einziger et al., "Adaptive Software Cache Management", Middleware 2018), the cache
//! samples its hit rate over `10 × capacity` requests, but never more than `MAX_SAMPLE`; if the last
//! step improved the hit rate it takes another step the same way, otherwise it reverses. Steps start
//! at 6.25% of the capacity and decay by 2% per sample, so the window settles; a large change in hit
//! rate (≥ 5 points) means the workload shifted, and the step size restarts.
//!
//! The cap on the sample departs from Caffeine: without it a cache of 8,000 entries takes one step
//! per 80,000 requests and was still growing its window when the recency-biased streams of
//! `replay.rs` ended (`benchmark/results/climber.md`).

const STEP_FRACTION: f64 = 0.0625;
const STEP_DECAY: f64 = 0.98;
const RESTART_THRESHOLD: f64 = 0.05;
/// Longest sample, in requests: enough to measure a hit rate to a third of a point.
const MAX_SAMPLE: f64 = 20_000.0;

#[derive(Debug, Clone)]
pub struct HillClimber {
    capacity: f64,
    sample_size: u64,
    hits: u64,
    misses: u64,
    previous_hit_rate: f64,
    step: f64,
}

impl HillClimber {
    pub fn new(capacity: u32) -> Self {
        let capacity = f64::from(capacity);
        HillClimber {
            capacity,
            sample_size: (10.0 * capacity).clamp(1.0, MAX_SAMPLE) as u64,
            hits: 0,
            misses: 0,
            previous_hit_rate: 0.0,
            // The first step shrinks the window: most workloads favour frequency.
            step: -STEP_FRACTION * capacity,
        }
    }

    /// Records one request; at the end of a sample returns how many entries the window should grow
    /// (positive) or shrink (negative) by.
    #[inline]
    pub fn record(&mut self, hit: bool) -> Option<i64> {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        let requests = self.hits + self.misses;
        if requests < self.sample_size {
            return None;
        }
        let hit_rate = self.hits as f64 / requests as f64;
        let change = hit_rate - self.previous_hit_rate;
        let amount = if change >= 0.0 { self.step } else { -self.step };
        self.step = if change.abs() >= RESTART_THRESHOLD {
            STEP_FRACTION * self.capacity * amount.signum()
        } else {
            STEP_DECAY * amount
        };
        self.previous_hit_rate = hit_rate;
        self.hits = 0;
        self.misses = 0;
        Some(amount as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climber_keeps_direction_while_the_hit_rate_improves_and_reverses_when_it_drops() {
        let mut climber = HillClimber::new(100);
        let mut sample = |hit_every: u64| {
            let mut out = None;
            for i in 0..1000 {
                if let Some(step) = climber.record(i % hit_every == 0) {
                    out = Some(step);
                }
            }
            out.expect("a sample of 10 × capacity requests yields a step")
        };
        let first = sample(4); // 25% from 0%: improvement, keep the initial (shrinking) direction
        assert!(first < 0);
        let second = sample(2); // 50%: still improving, same direction
        assert!(second < 0);
        let third = sample(10); // 10%: worse, reverse
        assert!(third > 0);
    }

    #[test]
    fn a_large_cache_samples_at_most_max_sample_requests() {
        let mut climber = HillClimber::new(1_000_000);
        let steps = (0..MAX_SAMPLE as u64)
            .filter_map(|i| climber.record(i % 2 == 0))
            .count();
        assert_eq!(
            steps, 1,
            "one step per MAX_SAMPLE requests, not per 10 × capacity"
        );
    }
}
