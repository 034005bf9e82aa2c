//! A hint that a cache line will be read soon.
//!
//! The policy replays buffered reads in a batch; each read's first loads (its links, its segment,
//! its sketch block) are independent of the others', so asking for all of them first lets their
//! cache misses overlap instead of being paid one after the other.

/// Asks the CPU to start loading the line holding `value`. No effect where unsupported.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, even for an invalid address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
