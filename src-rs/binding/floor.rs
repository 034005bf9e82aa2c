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

/// # Safety
/// `env` must be the current environment.
pub unsafe fn create(env: sys::napi_env) -> sys::napi_value {
    let mut object = ptr::null_mut();
    sys::napi_create_object(env, &mut object);
    let function = raw::function(env, c"readKey", read_key, ptr::null_mut(), None);
    raw::set_named(env, object, c"readKey", function);
    object
}
