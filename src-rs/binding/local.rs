//! `createLocalStorage(policy, size, maxWeight?)`: the Rust local storage as a JS object of plain
//! functions.
//!
//! Protocol with the JS side (lib/storages/local.ts): Rust returns slot numbers and JS keeps the
//! value of slot `s` at `values[s]`. After every call, `freed` (an `Int32Array` over memory owned here)
//! holds at `[0]` a count n and at `[1..=n]` slots that no longer hold an entry; JS writes any new
//! values first, then sets those slots to `undefined` so the values can be garbage-collected.
//! `setMany` is the exception: a batch may free more slots than `freed` holds, so it returns them
//! after its results.

use std::cell::{Cell, RefCell};
use std::ffi::{c_void, CStr};
use std::ptr;
use std::rc::Rc;

use cacheme_core::{LocalCache, PolicyKind};
use napi::sys;

use crate::metrics;
use crate::raw::{self, KeyReader};

struct Storage {
    cache: RefCell<LocalCache>,
    /// Shared with JS as an `Int32Array`: `[count, slot, slot, …]`.
    freed: Box<[Cell<i32>]>,
    /// Shared with JS as an `Int32Array`: the slots of the last `getJoined`.
    batch: Box<[Cell<i32>]>,
}

/// Most keys one `getJoined` call answers through the shared `batch` buffer.
const BATCH_SLOTS: usize = 256;
/// Separates keys in `getJoined`'s one string.
const KEY_SEPARATOR: u8 = 0;

impl Storage {
    /// Publishes the slots freed by the last operation in the shared buffer.
    fn publish_freed(&self, cache: &mut LocalCache) {
        if cache.freed_len() == 0 {
            return;
        }
        let freed = still_free(cache);
        for (i, &slot) in freed.iter().enumerate() {
            self.freed[i + 1].set(slot);
        }
        self.freed[0].set(freed.len() as i32);
    }
}

/// Drains the slots freed by the last operation, keeping those still free: a slot freed and reused
/// within the operation holds a new value.
fn still_free(cache: &mut LocalCache) -> Vec<i32> {
    let freed: Vec<u32> = cache.freed().collect();
    freed
        .into_iter()
        .filter(|&slot| !cache.is_live(slot))
        .map(|slot| slot as i32)
        .collect()
}

const NOT_A_STRING: &CStr = c"CACHEME_INVALID_KEY";

unsafe fn key_error(env: sys::napi_env) -> sys::napi_value {
    raw::throw_type_error(env, NOT_A_STRING, c"local storage keys must be strings")
}

/// `ttlMs` argument: `undefined`/`null` for no expiry, else a finite number of ms ≥ 0.
unsafe fn read_ttl(env: sys::napi_env, value: sys::napi_value) -> Result<Option<u64>, ()> {
    match raw::type_of(env, value) {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(None),
        _ => match raw::number(env, value) {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some((ms * 1e6) as u64)),
            _ => Err(()),
        },
    }
}

/// An entry's weight: an integer from 0 to 2^32 − 1.
unsafe fn read_weight(env: sys::napi_env, value: sys::napi_value) -> Result<u32, ()> {
    match raw::number(env, value) {
        Some(w) if w.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&w) => Ok(w as u32),
        _ => Err(()),
    }
}

unsafe fn weight_error(env: sys::napi_env) -> sys::napi_value {
    raw::throw_range_error(
        env,
        c"CACHEME_INVALID_WEIGHT",
        c"a weight must be an integer from 0 to 4294967295",
    )
}

unsafe fn ttl_error(env: sys::napi_env) -> sys::napi_value {
    raw::throw_range_error(
        env,
        c"CACHEME_INVALID_TTL",
        c"ttl must be a finite number of milliseconds >= 0, or null for no expiry",
    )
}

/// Reads an array of string keys.
unsafe fn for_each_key(
    env: sys::napi_env,
    array: sys::napi_value,
    mut each: impl FnMut(&[u8]),
) -> Result<(), ()> {
    let mut len = 0u32;
    if sys::napi_get_array_length(env, array, &mut len) != sys::Status::napi_ok {
        return Err(());
    }
    let mut reader = KeyReader::new();
    for i in 0..len {
        let mut element = ptr::null_mut();
        sys::napi_get_element(env, array, i, &mut element);
        each(reader.read(env, element).ok_or(())?);
    }
    Ok(())
}

/// `setMany`'s weights: an array of weights (one per key, checked by the caller's length test).
unsafe fn read_weights(env: sys::napi_env, array: sys::napi_value) -> Result<Vec<u32>, ()> {
    let mut len = 0u32;
    if sys::napi_get_array_length(env, array, &mut len) != sys::Status::napi_ok {
        return Err(());
    }
    (0..len)
        .map(|i| {
            let mut element = ptr::null_mut();
            sys::napi_get_element(env, array, i, &mut element);
            read_weight(env, element)
        })
        .collect()
}

#[inline]
unsafe fn storage<'a>(data: *mut c_void) -> &'a Storage {
    // SAFETY: every function created by `create` carries an `Rc<Storage>` leaked into its data
    // pointer, released only by that function's finalizer, so it outlives every call.
    &*(data as *const Storage)
}

/// `get(key, metricsId?)`: the key's slot or −1. With a metrics id, a hit is also counted for that
/// node class here, so a local hit stays one crossing (a miss is counted by the caller, which knows
/// whether a lower tier or the loader answered).
unsafe extern "C" fn get(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<2>(env, info);
    let storage = storage(call.data);
    let mut reader = KeyReader::new();
    let Some(key) = reader.read(env, call.args[0]) else {
        return key_error(env);
    };
    let mut cache = storage.cache.borrow_mut();
    let slot = cache.get(key).map_or(-1, |slot| slot as i32);
    storage.publish_freed(&mut cache);
    if slot >= 0 {
        let mut metrics_id = 0u32;
        if sys::napi_get_value_uint32(env, call.args[1], &mut metrics_id) == sys::Status::napi_ok {
            metrics::record_hits(metrics_id, 1);
        }
    }
    raw::int32(env, slot)
}

unsafe extern "C" fn has(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let storage = storage(call.data);
    let mut reader = KeyReader::new();
    let Some(key) = reader.read(env, call.args[0]) else {
        return key_error(env);
    };
    let mut cache = storage.cache.borrow_mut();
    let present = cache.contains(key);
    storage.publish_freed(&mut cache);
    raw::boolean(env, present)
}

/// `set(key, ttlMs, weight?)`: the slot to write the value to. The weight is read (and required)
/// only by a storage with a weight bound.
unsafe extern "C" fn set(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<3>(env, info);
    let storage = storage(call.data);
    let Ok(ttl) = read_ttl(env, call.args[1]) else {
        return ttl_error(env);
    };
    let mut cache = storage.cache.borrow_mut();
    let weight = if cache.is_weighted() {
        let Ok(weight) = read_weight(env, call.args[2]) else {
            return weight_error(env);
        };
        weight
    } else {
        1
    };
    let mut reader = KeyReader::new();
    let Some(key) = reader.read(env, call.args[0]) else {
        return key_error(env);
    };
    let slot = cache.insert_weighted(key, ttl, weight);
    storage.publish_freed(&mut cache);
    raw::int32(env, slot as i32)
}

unsafe extern "C" fn remove(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let storage = storage(call.data);
    let mut reader = KeyReader::new();
    let Some(key) = reader.read(env, call.args[0]) else {
        return key_error(env);
    };
    let mut cache = storage.cache.borrow_mut();
    let removed = cache.remove(key).is_some();
    storage.publish_freed(&mut cache);
    raw::boolean(env, removed)
}

/// `getMany(keys)`: one crossing for many keys; an `Int32Array` of slots (−1 for a miss).
unsafe extern "C" fn get_many(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let storage = storage(call.data);
    let mut cache = storage.cache.borrow_mut();
    let mut slots = Vec::new();
    let read = for_each_key(env, call.args[0], |key| {
        slots.push(cache.get(key).map_or(-1, |slot| slot as i32));
    });
    storage.publish_freed(&mut cache);
    match read {
        Ok(()) => raw::int32_array(env, &slots),
        Err(()) => key_error(env),
    }
}

/// `getJoined(joined, count)`: the slots of `count` keys joined by NUL into one string, written to
/// the shared `batch` buffer; returns `count`. Reading one string instead of `count` array elements
/// saves an element lookup and a string conversion per key, which cost more than the crossing
/// saved. Returns −1 (and reads nothing) when the string does not split into exactly `count` keys:
/// a key containing NUL, which the caller then reads through `getMany`.
unsafe extern "C" fn get_joined(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<2>(env, info);
    let storage = storage(call.data);
    let mut count = 0u32;
    sys::napi_get_value_uint32(env, call.args[1], &mut count);
    let mut reader = KeyReader::new();
    let Some(joined) = reader.read(env, call.args[0]) else {
        return key_error(env);
    };
    let count = count as usize;
    let keys = joined.split(|&b| b == KEY_SEPARATOR);
    if count == 0 || count > BATCH_SLOTS || keys.clone().count() != count {
        return raw::int32(env, -1);
    }
    let mut cache = storage.cache.borrow_mut();
    for (key, out) in keys.zip(storage.batch.iter()) {
        out.set(cache.get(key).map_or(-1, |slot| slot as i32));
    }
    storage.publish_freed(&mut cache);
    raw::int32(env, count as i32)
}

/// `setMany(keys, ttlMs)`: an `Int32Array` of the keys' slots followed by the slots freed.
unsafe extern "C" fn set_many(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<3>(env, info);
    let storage = storage(call.data);
    let Ok(ttl) = read_ttl(env, call.args[1]) else {
        return ttl_error(env);
    };
    let mut cache = storage.cache.borrow_mut();
    // Every weight is checked before the first key is stored: a bad one stores nothing.
    let weights = if cache.is_weighted() {
        match read_weights(env, call.args[2]) {
            Ok(weights) => Some(weights),
            Err(()) => return weight_error(env),
        }
    } else {
        None
    };
    let mut slots = Vec::new();
    let read = for_each_key(env, call.args[0], |key| {
        let weight = weights
            .as_ref()
            .and_then(|w| w.get(slots.len()).copied())
            .unwrap_or(1);
        slots.push(cache.insert_weighted(key, ttl, weight) as i32);
    });
    slots.extend(still_free(&mut cache));
    match read {
        Ok(()) => raw::int32_array(env, &slots),
        Err(()) => key_error(env),
    }
}

/// `removeMany(keys)`: the number of keys that were present.
unsafe extern "C" fn remove_many(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let storage = storage(call.data);
    let mut cache = storage.cache.borrow_mut();
    let mut removed = 0;
    let read = for_each_key(env, call.args[0], |key| {
        removed += i32::from(cache.remove(key).is_some());
    });
    storage.publish_freed(&mut cache);
    match read {
        Ok(()) => raw::int32(env, removed),
        Err(()) => key_error(env),
    }
}

unsafe extern "C" fn clear(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<0>(env, info);
    let storage = storage(call.data);
    let mut cache = storage.cache.borrow_mut();
    cache.clear();
    storage.publish_freed(&mut cache);
    raw::undefined(env)
}

unsafe extern "C" fn purge_expired(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<0>(env, info);
    let storage = storage(call.data);
    let mut cache = storage.cache.borrow_mut();
    cache.purge_expired();
    storage.publish_freed(&mut cache);
    raw::undefined(env)
}

unsafe extern "C" fn entry_count(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<0>(env, info);
    raw::double(env, storage(call.data).cache.borrow().len() as f64)
}

/// `stats()`: the storage's counters as a plain object.
unsafe extern "C" fn stats(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<0>(env, info);
    let cache = storage(call.data).cache.borrow();
    let c = cache.counters();
    let mut object = ptr::null_mut();
    sys::napi_create_object(env, &mut object);
    let fields: [(&CStr, f64); 9] = [
        (c"hits", c.hits as f64),
        (c"misses", c.misses as f64),
        (c"inserts", c.inserts as f64),
        (c"updates", c.updates as f64),
        (c"evictions", c.evictions as f64),
        (c"expirations", c.expirations as f64),
        (c"removals", c.removals as f64),
        (c"size", cache.len() as f64),
        (c"capacity", f64::from(cache.capacity())),
    ];
    for (name, value) in fields {
        raw::set_named(env, object, name, raw::double(env, value));
    }
    if let Some((weight, max)) = cache.weight() {
        raw::set_named(env, object, c"weight", raw::double(env, weight as f64));
        raw::set_named(env, object, c"maxWeight", raw::double(env, max as f64));
    }
    object
}

unsafe extern "C" fn release_function(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Rc<Storage>` that `create` leaked for this function.
    drop(Rc::from_raw(data as *const Storage));
}

unsafe extern "C" fn release_buffer(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Rc<Storage>` that `shared_int32_array` leaked for this buffer.
    drop(Rc::from_raw(hint as *const Storage));
}

/// Builds the storage object: `{ get, has, set, remove, getMany, getJoined, setMany, removeMany, clear,
/// purgeExpired, size, stats, freed, batch }`.
///
/// # Safety
/// `env` must be the current environment.
pub unsafe fn create(
    env: sys::napi_env,
    policy: &str,
    size: f64,
    max_weight: Option<f64>,
) -> Result<sys::napi_value, String> {
    let kind = PolicyKind::parse(policy).ok_or_else(|| {
        format!("unknown local storage policy {policy:?}: expected \"lru\" or \"tlfu\"")
    })?;
    if !(size.fract() == 0.0 && size >= 1.0 && size <= f64::from(cacheme_core::MAX_CAPACITY)) {
        return Err(format!(
            "local storage size must be an integer from 1 to {}, got {size}",
            cacheme_core::MAX_CAPACITY
        ));
    }
    let mut cache = LocalCache::new(kind, size as u32).map_err(|e| e.to_string())?;
    if let Some(max) = max_weight {
        let limit = cacheme_core::weight::MAX_TOTAL_WEIGHT;
        if !(max.fract() == 0.0 && max >= 1.0 && max <= limit as f64) {
            return Err(format!(
                "local storage maxWeight must be an integer from 1 to {limit}, got {max}"
            ));
        }
        cache = cache
            .with_max_weight(max as u64)
            .map_err(|e| e.to_string())?;
    }
    // Room for every slot (capacity + 1) and the count.
    let freed_len = cache.capacity() as usize + 2;
    let storage = Rc::new(Storage {
        cache: RefCell::new(cache),
        freed: (0..freed_len).map(|_| Cell::new(0)).collect(),
        batch: (0..BATCH_SLOTS).map(|_| Cell::new(-1)).collect(),
    });

    let mut object = ptr::null_mut();
    sys::napi_create_object(env, &mut object);
    let methods: [(&CStr, raw::Callback); 12] = [
        (c"get", get),
        (c"has", has),
        (c"set", set),
        (c"remove", remove),
        (c"getMany", get_many),
        (c"getJoined", get_joined),
        (c"setMany", set_many),
        (c"removeMany", remove_many),
        (c"clear", clear),
        (c"purgeExpired", purge_expired),
        (c"size", entry_count),
        (c"stats", stats),
    ];
    for (name, callback) in methods {
        let data = Rc::into_raw(storage.clone()) as *mut c_void;
        let function = raw::function(env, name, callback, data, Some(release_function));
        raw::set_named(env, object, name, function);
    }

    let freed = shared_int32_array(env, &storage, &storage.freed);
    raw::set_named(env, object, c"freed", freed);
    let batch = shared_int32_array(env, &storage, &storage.batch);
    raw::set_named(env, object, c"batch", batch);
    Ok(object)
}

/// An `Int32Array` over memory of `Storage`, shared without copying; its ArrayBuffer keeps the
/// storage alive through its own `Rc`.
unsafe fn shared_int32_array(
    env: sys::napi_env,
    storage: &Rc<Storage>,
    cells: &[Cell<i32>],
) -> sys::napi_value {
    let data = Rc::into_raw(storage.clone()) as *mut c_void;
    let mut buffer = ptr::null_mut();
    sys::napi_create_external_arraybuffer(
        env,
        cells.as_ptr() as *mut c_void,
        std::mem::size_of_val(cells),
        Some(release_buffer),
        data,
        &mut buffer,
    );
    let mut array = ptr::null_mut();
    sys::napi_create_typedarray(
        env,
        sys::TypedarrayType::int32_array,
        cells.len(),
        buffer,
        0,
        &mut array,
    );
    array
}
