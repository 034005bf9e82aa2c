//! cacheme-core: the local storage behind the cacheme Node package, in plain Rust.
//!
//! - [`cache::LocalCache`]: hash table, arena slots, expiry and counters;
//! - [`tinylfu`] / [`lru`]: eviction policies, with [`segments`], [`sketch`] and
//!   [`minisim`] behind W-TinyLFU;
//! - [`timer_wheel`]: proactive reclamation of expired entries;
//! - [`bloom`]: the doorkeeper;
//! - [`stats`]: storage counters and per-node metrics;
//! - `replay` (feature `replay`): trace replay with exact LRU and optimal hit ratios, for the
//!   hit-ratio tests, the replay example and the benchmarks.
//!
//! Nothing here knows about N-API; the binding crate maps these types to JS.

pub mod bloom;
pub mod cache;
pub mod clock;
pub mod fingerprint;
pub mod list;
pub mod lru;
pub mod minisim;
mod prefetch;
#[cfg(feature = "replay")]
pub mod replay;
pub mod segments;
pub mod sketch;
pub mod stats;
pub mod timer_wheel;
pub mod tinylfu;
pub mod weight;

pub use bloom::{BloomError, BloomFilter};
pub use cache::{CapacityError, LocalCache, PolicyKind, MAX_CAPACITY};
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use stats::{MetricsSnapshot, NodeMetrics, StorageCounters};
