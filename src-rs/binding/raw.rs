//! Raw N-API helpers for the hot path.
//!
//! napi-rs's `String` argument copies the key twice and allocates, and a class method pays for
//! `napi_unwrap`. A get is a single hash lookup, so those costs would dominate it. The local storage's
//! methods are therefore plain N-API callbacks: one `napi_get_cb_info` that also yields the storage
//! (the function's `data` pointer), and one UTF-8 read of the key into a stack buffer.

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::ptr;

use napi::sys;

/// Keys up to this many UTF-8 bytes (minus the NUL) are read without allocating.
const STACK_KEY_BYTES: usize = 1024;

pub type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Arguments and the function's `data` pointer of a call.
pub struct CallInfo<const N: usize> {
    pub args: [sys::napi_value; N],
    pub data: *mut c_void,
}

/// # Safety
/// `env` and `info` must be the ones N-API passed to the running callback.
#[inline]
pub unsafe fn call_info<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> CallInfo<N> {
    let mut argc = N;
    let mut args = [ptr::null_mut(); N];
    let mut data = ptr::null_mut();
    sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        args.as_mut_ptr(),
        ptr::null_mut(),
        &mut data,
    );
    CallInfo { args, data }
}

/// A reusable buffer for reading keys: the stack part covers ordinary keys, the heap part longer ones.
pub struct KeyReader {
    // Uninitialised: zeroing 1 KiB per call would cost as much as the lookup itself.
    stack: [MaybeUninit<u8>; STACK_KEY_BYTES],
    heap: Vec<u8>,
}

impl KeyReader {
    #[inline]
    pub fn new() -> Self {
        KeyReader {
            stack: [MaybeUninit::uninit(); STACK_KEY_BYTES],
            heap: Vec::new(),
        }
    }

    /// The UTF-8 bytes of a JS string, or `None` if `value` is not a string.
    ///
    /// # Safety
    /// `env` must be the current environment and `value` a live handle in it.
    #[inline]
    pub unsafe fn read(&mut self, env: sys::napi_env, value: sys::napi_value) -> Option<&[u8]> {
        let mut len = 0usize;
        let status = sys::napi_get_value_string_utf8(
            env,
            value,
            self.stack.as_mut_ptr().cast::<c_char>(),
            STACK_KEY_BYTES,
            &mut len,
        );
        if status != sys::Status::napi_ok {
            return None;
        }
        if len < STACK_KEY_BYTES - 1 {
            // SAFETY: N-API wrote `len` bytes (plus a NUL) at the start of the buffer.
            return Some(std::slice::from_raw_parts(
                self.stack.as_ptr().cast::<u8>(),
                len,
            ));
        }
        // The key filled the buffer: it may have been cut. Ask for its length and read it whole.
        sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len);
        self.heap.resize(len + 1, 0);
        sys::napi_get_value_string_utf8(
            env,
            value,
            self.heap.as_mut_ptr().cast::<c_char>(),
            len + 1,
            &mut len,
        );
        Some(&self.heap[..len])
    }
}

/// Throws a `TypeError` (with a `code` property) and returns the `undefined`-like null handle that
/// a throwing callback returns.
///
/// # Safety
/// `env` must be the current environment.
pub unsafe fn throw_type_error(env: sys::napi_env, code: &CStr, message: &CStr) -> sys::napi_value {
    sys::napi_throw_type_error(env, code.as_ptr(), message.as_ptr());
    ptr::null_mut()
}

/// Throws a `RangeError` with a `code` property.
///
/// # Safety
/// `env` must be the current environment.
pub unsafe fn throw_range_error(
    env: sys::napi_env,
    code: &CStr,
    message: &CStr,
) -> sys::napi_value {
    sys::napi_throw_range_error(env, code.as_ptr(), message.as_ptr());
    ptr::null_mut()
}

/// # Safety
/// `env` must be the current environment.
#[inline]
pub unsafe fn int32(env: sys::napi_env, value: i32) -> sys::napi_value {
    let mut out = ptr::null_mut();
    sys::napi_create_int32(env, value, &mut out);
    out
}

/// # Safety
/// `env` must be the current environment.
#[inline]
pub unsafe fn double(env: sys::napi_env, value: f64) -> sys::napi_value {
    let mut out = ptr::null_mut();
    sys::napi_create_double(env, value, &mut out);
    out
}

/// # Safety
/// `env` must be the current environment.
#[inline]
pub unsafe fn boolean(env: sys::napi_env, value: bool) -> sys::napi_value {
    let mut out = ptr::null_mut();
    sys::napi_get_boolean(env, value, &mut out);
    out
}

/// # Safety
/// `env` must be the current environment.
pub unsafe fn undefined(env: sys::napi_env) -> sys::napi_value {
    let mut out = ptr::null_mut();
    sys::napi_get_undefined(env, &mut out);
    out
}

/// The JS type of a value.
///
/// # Safety
/// `env` must be the current environment and `value` a live handle in it.
pub unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> sys::napi_valuetype {
    let mut out = 0;
    sys::napi_typeof(env, value, &mut out);
    out
}

/// A JS number as `f64`, or `None` if `value` is not a number.
///
/// # Safety
/// `env` must be the current environment and `value` a live handle in it.
pub unsafe fn number(env: sys::napi_env, value: sys::napi_value) -> Option<f64> {
    let mut out = 0.0;
    (sys::napi_get_value_double(env, value, &mut out) == sys::Status::napi_ok).then_some(out)
}

/// Sets `object[name] = value`.
///
/// # Safety
/// `env` must be the current environment and the handles live in it.
pub unsafe fn set_named(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &CStr,
    value: sys::napi_value,
) {
    sys::napi_set_named_property(env, object, name.as_ptr(), value);
}

/// Creates a JS function calling `callback` with `data` as its data pointer; `release(data)` runs
/// when the function is garbage-collected.
///
/// # Safety
/// `env` must be the current environment; `release` must accept `data`.
pub unsafe fn function(
    env: sys::napi_env,
    name: &CStr,
    callback: Callback,
    data: *mut c_void,
    release: sys::napi_finalize,
) -> sys::napi_value {
    let mut out = ptr::null_mut();
    sys::napi_create_function(
        env,
        name.as_ptr(),
        name.to_bytes().len() as isize,
        Some(callback),
        data,
        &mut out,
    );
    if release.is_some() {
        sys::napi_add_finalizer(env, out, data, release, ptr::null_mut(), ptr::null_mut());
    }
    out
}

/// Creates an `Int32Array` holding `values`.
///
/// # Safety
/// `env` must be the current environment.
pub unsafe fn int32_array(env: sys::napi_env, values: &[i32]) -> sys::napi_value {
    let mut data = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    sys::napi_create_arraybuffer(env, std::mem::size_of_val(values), &mut data, &mut buffer);
    if !values.is_empty() {
        ptr::copy_nonoverlapping(values.as_ptr(), data.cast::<i32>(), values.len());
    }
    let mut array = ptr::null_mut();
    sys::napi_create_typedarray(
        env,
        sys::TypedarrayType::int32_array,
        values.len(),
        buffer,
        0,
        &mut array,
    );
    array
}
