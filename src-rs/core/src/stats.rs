//! Counters: what the local storage did, and the per-node metrics the framework reports.
//!
//! Counting happens where the event happens (in the storage or behind one N-API call), so a
//! snapshot never needs a second bookkeeping structure in JS.

/// Events inside one local storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageCounters {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub updates: u64,
    pub evictions: u64,
    pub expirations: u64,
    pub removals: u64,
}

/// Per node class: requests, hits and loads, from which [`NodeMetrics::snapshot`] derives rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeMetrics {
    pub requests: u64,
    pub hits: u64,
    pub load_successes: u64,
    pub load_failures: u64,
    pub total_load_time_ns: u64,
}

/// The eleven metrics of the cacheme API (plus nothing derived twice).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsSnapshot {
    pub request_count: u64,
    pub hit_count: u64,
    pub hit_rate: f64,
    pub miss_count: u64,
    pub miss_rate: f64,
    pub load_success_count: u64,
    pub load_failure_count: u64,
    pub load_failure_rate: f64,
    pub load_count: u64,
    pub total_load_time: u64,
    pub average_load_time: f64,
}

impl NodeMetrics {
    pub fn record_hits(&mut self, n: u64) {
        self.requests += n;
        self.hits += n;
    }

    pub fn record_misses(&mut self, n: u64) {
        self.requests += n;
    }

    pub fn record_load(&mut self, ok: bool, elapsed_ns: u64) {
        if ok {
            self.load_successes += 1;
        } else {
            self.load_failures += 1;
        }
        self.total_load_time_ns += elapsed_ns;
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let ratio = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                part as f64 / whole as f64
            }
        };
        let loads = self.load_successes + self.load_failures;
        let misses = self.requests - self.hits;
        MetricsSnapshot {
            request_count: self.requests,
            hit_count: self.hits,
            hit_rate: ratio(self.hits, self.requests),
            miss_count: misses,
            miss_rate: ratio(misses, self.requests),
            load_success_count: self.load_successes,
            load_failure_count: self.load_failures,
            load_failure_rate: ratio(self.load_failures, loads),
            load_count: loads,
            total_load_time: self.total_load_time_ns,
            average_load_time: ratio(self.total_load_time_ns, loads),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_derives_rates_and_counts() {
        let mut metrics = NodeMetrics::default();
        metrics.record_hits(3);
        metrics.record_misses(1);
        metrics.record_load(true, 100);
        metrics.record_load(false, 300);
        let s = metrics.snapshot();
        assert_eq!((s.request_count, s.hit_count, s.miss_count), (4, 3, 1));
        assert_eq!((s.hit_rate, s.miss_rate), (0.75, 0.25));
        assert_eq!(
            (s.load_count, s.load_success_count, s.load_failure_count),
            (2, 1, 1)
        );
        assert_eq!(s.load_failure_rate, 0.5);
        assert_eq!((s.total_load_time, s.average_load_time), (400, 200.0));
    }

    #[test]
    fn empty_metrics_have_zero_rates_not_nan() {
        let s = NodeMetrics::default().snapshot();
        assert_eq!(
            (
                s.hit_rate,
                s.miss_rate,
                s.load_failure_rate,
                s.average_load_time
            ),
            (0.0, 0.0, 0.0, 0.0)
        );
    }
}
