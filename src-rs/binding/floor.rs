//! The benchmark floor: what any N-API call that receives a string key costs, with no cache work.

use std::ptr;

use napi::sys;

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
    object
}
