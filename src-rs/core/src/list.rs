//! Doubly-linked lists over arena indices.
//!
//! Every policy queue (LRU order, the W-TinyLFU window, probation and protected segments) is a
//! circular list threaded through two `u32` arrays indexed by slot, with one sentinel index per list
//! after the slots. Compared with pointer-linked nodes this needs no allocation per entry, no
//! `unsafe`, and half the memory of 64-bit pointers (the moka / quick_cache approach).

pub const NIL: u32 = u32::MAX;
const PREV: usize = 0;
const NEXT: usize = 1;

#[derive(Debug, Clone)]
pub struct Lists {
    /// `[prev, next]` per index: both links of a slot share a cache line.
    links: Vec<[u32; 2]>,
    slots: u32,
}

impl Lists {
    /// Links for `slots` entries and `lists` empty lists (ids `0..lists`).
    pub fn new(slots: u32, lists: u32) -> Self {
        let mut links = vec![[NIL, NIL]; (slots + lists) as usize];
        for list in 0..lists {
            let sentinel = slots + list;
            links[sentinel as usize] = [sentinel, sentinel];
        }
        Lists { links, slots }
    }

    #[inline]
    fn sentinel(&self, list: u8) -> u32 {
        self.slots + u32::from(list)
    }

    /// The least recently appended slot of `list`.
    #[inline]
    pub fn front(&self, list: u8) -> Option<u32> {
        let first = self.links[self.sentinel(list) as usize][NEXT];
        (first < self.slots).then_some(first)
    }

    /// The most recently appended slot of `list`.
    #[inline]
    pub fn back(&self, list: u8) -> Option<u32> {
        let last = self.links[self.sentinel(list) as usize][PREV];
        (last < self.slots).then_some(last)
    }

    /// Starts loading the links of `slot`.
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        crate::prefetch::prefetch(&self.links[slot as usize]);
    }

    /// Appends `slot` (not linked anywhere) at the back of `list`.
    #[inline]
    pub fn push_back(&mut self, list: u8, slot: u32) {
        let sentinel = self.sentinel(list);
        let last = self.links[sentinel as usize][PREV];
        self.links[last as usize][NEXT] = slot;
        self.links[slot as usize] = [last, sentinel];
        self.links[sentinel as usize][PREV] = slot;
    }

    /// Removes `slot` from whatever list it is in.
    #[inline]
    pub fn unlink(&mut self, slot: u32) {
        let [p, n] = self.links[slot as usize];
        self.links[p as usize][NEXT] = n;
        self.links[n as usize][PREV] = p;
        self.links[slot as usize] = [NIL, NIL];
    }

    /// Moves a linked `slot` to the back of `list` (same or another list).
    #[inline]
    pub fn move_to_back(&mut self, list: u8, slot: u32) {
        self.unlink(slot);
        self.push_back(list, slot);
    }

    /// Slots of `list` from front to back.
    pub fn iter(&self, list: u8) -> impl Iterator<Item = u32> + '_ {
        let sentinel = self.sentinel(list);
        let mut at = self.links[sentinel as usize][NEXT];
        std::iter::from_fn(move || {
            (at != sentinel).then(|| {
                let slot = at;
                at = self.links[at as usize][NEXT];
                slot
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_insertion_order_and_move_slots_between_lists() {
        let mut lists = Lists::new(8, 2);
        for slot in [3, 1, 4] {
            lists.push_back(0, slot);
        }
        assert_eq!(lists.iter(0).collect::<Vec<_>>(), vec![3, 1, 4]);
        lists.move_to_back(0, 3);
        assert_eq!(lists.iter(0).collect::<Vec<_>>(), vec![1, 4, 3]);
        lists.move_to_back(1, 4);
        assert_eq!(lists.iter(0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(lists.iter(1).collect::<Vec<_>>(), vec![4]);
        assert_eq!(lists.front(1), Some(4));
        lists.unlink(4);
        assert_eq!(lists.front(1), None);
    }
}
