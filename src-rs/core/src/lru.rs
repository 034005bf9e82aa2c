//! Least-recently-used eviction: the baseline policy, and the one to pick for recency-heavy
//! workloads where frequency history does not help.

use crate::list::Lists;

const ORDER: u8 = 0;

#[derive(Debug, Clone)]
pub struct Lru {
    order: Lists,
    capacity: u32,
    len: u32,
}

impl Lru {
    /// `slots` is the arena size (capacity + 1: a new entry is linked before its victim leaves).
    pub fn new(capacity: u32, slots: u32) -> Self {
        Lru {
            order: Lists::new(slots, 1),
            capacity,
            len: 0,
        }
    }

    /// Starts loading what reordering `slot` will touch first.
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        self.order.prefetch(slot);
    }

    #[inline]
    pub fn on_hit(&mut self, slot: u32) {
        self.order.move_to_back(ORDER, slot);
    }

    /// Links a new entry as most recent; returns the least recent one if the cache is over capacity.
    pub fn on_insert(&mut self, slot: u32) -> Option<u32> {
        self.order.push_back(ORDER, slot);
        self.len += 1;
        if self.len > self.capacity {
            self.order.front(ORDER)
        } else {
            None
        }
    }

    /// The entry to evict to bring the cache under its weight bound: the least recent.
    pub fn victim(&self) -> Option<u32> {
        self.order.front(ORDER)
    }

    pub fn on_remove(&mut self, slot: u32) {
        self.order.unlink(slot);
        self.len -= 1;
    }
}
