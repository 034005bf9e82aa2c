//! N-API binding of cacheme: maps `cacheme-core` to JS and does nothing else.
//!
//! - `local`: the local storage, as raw N-API callbacks (the hot path; see `raw`);
//! - `bloom`: the `BloomFilter` class;
//! - `metrics`: per-node counters;
//! - `floor` (feature `bench-floor`, benchmark builds only): no-op calls that read a key exactly as
//!   `get` does, the benchmark's floor.

mod bloom;
#[cfg(feature = "bench-floor")]
mod floor;
mod local;
mod metrics;
mod raw;

use napi::bindgen_prelude::{FromNapiValue, Object};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

/// Creates a local storage (`policy`: "lru" or "tlfu") bounded to `size` entries and, with
/// `maxWeight`, to that total weight of its entries.
#[napi(ts_return_type = "NativeLocalStorage")]
pub fn create_local_storage(
    env: &Env,
    policy: String,
    size: f64,
    max_weight: Option<f64>,
) -> Result<Object<'_>> {
    // SAFETY: called on the JS thread with its environment; the value is an object handle.
    unsafe {
        let object = local::create(env.raw(), &policy, size, max_weight)
            .map_err(|message| Error::new(Status::InvalidArg, message))?;
        Object::from_napi_value(env.raw(), object)
    }
}
