//! `BloomFilter`: the doorkeeper class, a thin wrapper over `cacheme_core::BloomFilter`.

use napi::{Error, Result, Status};
use napi_derive::napi;

#[napi(js_name = "BloomFilter")]
pub struct JsBloomFilter {
    inner: cacheme_core::BloomFilter,
}

#[napi]
impl JsBloomFilter {
    /// A filter for `capacity` distinct keys at `falsePositiveRate` (0 < p < 1); it clears itself
    /// once `capacity` keys have been added.
    #[napi(constructor)]
    pub fn new(capacity: f64, false_positive_rate: f64) -> Result<Self> {
        cacheme_core::BloomFilter::new(capacity, false_positive_rate)
            .map(|inner| JsBloomFilter { inner })
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
    }

    /// True if the key may have been added.
    #[napi]
    pub fn contains(&self, key: String) -> bool {
        self.inner.contains(key.as_bytes())
    }

    /// Adds the key; returns true if it (probably) was already present.
    #[napi]
    pub fn insert(&mut self, key: String) -> bool {
        self.inner.insert(key.as_bytes())
    }

    #[napi]
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Distinct keys added since the last clear.
    #[napi(getter)]
    pub fn size(&self) -> f64 {
        self.inner.len() as f64
    }

    #[napi(getter)]
    pub fn capacity(&self) -> f64 {
        self.inner.capacity() as f64
    }

    #[napi(getter)]
    pub fn bits(&self) -> f64 {
        self.inner.bits() as f64
    }

    #[napi(getter)]
    pub fn hash_count(&self) -> u32 {
        self.inner.hash_count()
    }
}
