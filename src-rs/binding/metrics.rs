//! Per-node-class metrics, counted in Rust and addressed by a small integer id.
//!
//! Ids rather than objects let the local storage's `get` count a hit for the node inside the same
//! N-API call that found it. Each thread (main or worker) has its own registry, as it has its own
//! JS environment.

use std::cell::RefCell;

use cacheme_core::{MetricsSnapshot, NodeMetrics};
use napi_derive::napi;

thread_local! {
    static REGISTRY: RefCell<Vec<NodeMetrics>> = const { RefCell::new(Vec::new()) };
}

fn with<R>(id: u32, f: impl FnOnce(&mut NodeMetrics) -> R) -> Option<R> {
    REGISTRY.with(|registry| registry.borrow_mut().get_mut(id as usize).map(f))
}

pub fn record_hits(id: u32, n: u32) {
    with(id, |m| m.record_hits(u64::from(n)));
}

/// A new, zeroed set of counters; returns its id.
#[napi]
pub fn create_metrics() -> u32 {
    REGISTRY.with(|registry| {
        let mut registry = registry.borrow_mut();
        registry.push(NodeMetrics::default());
        (registry.len() - 1) as u32
    })
}

/// Counts `n` requests answered from a cache (or by joining an in-flight load).
#[napi]
pub fn metrics_record_hits(id: u32, n: u32) {
    record_hits(id, n);
}

/// Counts `n` requests that no cache answered.
#[napi]
pub fn metrics_record_misses(id: u32, n: u32) {
    with(id, |m| m.record_misses(u64::from(n)));
}

/// Counts one load from the source and its duration.
#[napi]
pub fn metrics_record_load(id: u32, ok: bool, elapsed_ns: f64) {
    with(id, |m| m.record_load(ok, elapsed_ns.max(0.0) as u64));
}

#[napi]
pub fn metrics_reset(id: u32) {
    with(id, |m| *m = NodeMetrics::default());
}

/// The eleven metrics of `cacheme.stats(Node)`.
#[napi(object)]
pub struct Metrics {
    pub request_count: f64,
    pub hit_count: f64,
    pub hit_rate: f64,
    pub miss_count: f64,
    pub miss_rate: f64,
    pub load_success_count: f64,
    pub load_failure_count: f64,
    pub load_failure_rate: f64,
    pub load_count: f64,
    pub total_load_time: f64,
    pub average_load_time: f64,
}

impl From<MetricsSnapshot> for Metrics {
    fn from(s: MetricsSnapshot) -> Self {
        Metrics {
            request_count: s.request_count as f64,
            hit_count: s.hit_count as f64,
            hit_rate: s.hit_rate,
            miss_count: s.miss_count as f64,
            miss_rate: s.miss_rate,
            load_success_count: s.load_success_count as f64,
            load_failure_count: s.load_failure_count as f64,
            load_failure_rate: s.load_failure_rate,
            load_count: s.load_count as f64,
            total_load_time: s.total_load_time as f64,
            average_load_time: s.average_load_time,
        }
    }
}

#[napi]
pub fn metrics_snapshot(id: u32) -> Metrics {
    with(id, |m| m.snapshot())
        .unwrap_or_else(|| NodeMetrics::default().snapshot())
        .into()
}
