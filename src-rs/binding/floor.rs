//! The benchmark floor: what any N-API call that receives a string key costs, with no cache work.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use foldhash::fast::RandomState;
use napi::bindgen_prelude::{FromNapiValue, Object};
use napi::{sys, Env, Result};

use crate::raw::{self, KeyReader};

unsafe extern "C" fn read_key(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let mut reader = KeyReader::new();
    let len = reader
        .read(env, call.args[0])
        .map_or(-1, |key| key.len() as i32);
    raw::int32(env, len)
}

/// The same no-op reading the key as Latin-1: a plain copy for one-byte strings, but lossy for
/// characters above U+00FF, so `get` cannot use it. Shows what UTF-8 conversion costs.
unsafe extern "C" fn read_key_latin1(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let mut buf = [0u8; 1024];
    let mut len = 0usize;
    sys::napi_get_value_string_latin1(
        env,
        call.args[0],
        buf.as_mut_ptr().cast(),
        buf.len(),
        &mut len,
    );
    raw::int32(env, len as i32)
}

/// The smallest cache a Rust-side table allows: the same key read, then a lookup in a plain
/// `HashMap` (same hasher as the core), no eviction policy, no expiry, no counters. What `get` would
/// cost with nothing but a map behind the crossing; the gap to it is the policy's own cost.
type BareMap = RefCell<HashMap<Box<[u8]>, i32, RandomState>>;

unsafe fn bare_map<'a>(data: *mut c_void) -> &'a BareMap {
    // SAFETY: `data` is an `Rc<BareMap>` leaked into each function, released by its finalizer.
    &*(data as *const BareMap)
}

unsafe extern "C" fn map_get(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let mut reader = KeyReader::new();
    let slot = reader
        .read(env, call.args[0])
        .and_then(|key| bare_map(call.data).borrow().get(key).copied())
        .unwrap_or(-1);
    raw::int32(env, slot)
}

unsafe extern "C" fn map_set(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = raw::call_info::<1>(env, info);
    let mut reader = KeyReader::new();
    let slot = match reader.read(env, call.args[0]) {
        Some(key) => {
            let mut map = bare_map(call.data).borrow_mut();
            let next = map.len() as i32;
            *map.entry(key.into()).or_insert(next)
        }
        None => -1,
    };
    raw::int32(env, slot)
}

unsafe extern "C" fn release_map(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: each function holds one count of the `Rc` created in `create`.
    drop(Rc::from_raw(data as *const BareMap));
}

/// The same no-op through napi-rs's generated glue (`String` argument, allocated and copied):
/// what a plain `#[napi]` method would cost.
#[napi_derive::napi]
pub fn benchmark_floor_napi_string(key: String) -> u32 {
    key.len() as u32
}

/// # Safety
/// `env` must be the current environment.
pub unsafe fn create(env: sys::napi_env) -> sys::napi_value {
    let mut object = ptr::null_mut();
    sys::napi_create_object(env, &mut object);
    let function = raw::function(env, c"readKey", read_key, ptr::null_mut(), None);
    raw::set_named(env, object, c"readKey", function);
    let function = raw::function(
        env,
        c"readKeyLatin1",
        read_key_latin1,
        ptr::null_mut(),
        None,
    );
    raw::set_named(env, object, c"readKeyLatin1", function);
    let map: Rc<BareMap> = Rc::new(RefCell::new(HashMap::default()));
    for (name, callback) in [(c"mapGet", map_get as raw::Callback), (c"mapSet", map_set)] {
        let data = Rc::into_raw(map.clone()) as *mut c_void;
        let function = raw::function(env, name, callback, data, Some(release_map));
        raw::set_named(env, object, name, function);
    }
    object
}

/// `{ readKey(key): number }`: a no-op that reads the key the way `get` does and returns its
/// length. Benchmarks compare `get` against it.
#[napi_derive::napi(
    ts_return_type = "{ readKey(key: string): number; readKeyLatin1(key: string): number; mapGet(key: string): number; mapSet(key: string): number }"
)]
pub fn create_benchmark_floor(env: &Env) -> Result<Object<'_>> {
    // SAFETY: called on the JS thread with its environment; the value is an object handle.
    unsafe { Object::from_napi_value(env.raw(), create(env.raw())) }
}
