//! Time sources. The cache reads time only when an entry has an expiry, through this trait, so
//! tests drive time by hand and production pays for a clock read only when TTLs are in use.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

pub trait Clock {
    /// Monotonic nanoseconds since an arbitrary origin.
    fn now(&self) -> u64;
}

/// The process's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// A clock moved by hand, shared between a test and the cache it drives.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Rc<Cell<u64>>,
}

impl ManualClock {
    pub fn advance(&self, nanos: u64) {
        self.nanos.set(self.nanos.get() + nanos);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.nanos.get()
    }
}
