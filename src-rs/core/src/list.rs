//! Doubly-linked lists over arena indices.
//!
//! Every policy queue (LRU order, the W-TinyLFU window, probation and protected segments) is a
//! circular list threaded through two `u32` arrays indexed by slot, with one sentinel index per list
//! after the slots. Compared with pointer-linked nodes this needs no allocation per entry, no
//! `unsafe`, and half the memory of 64-bit pointers (the moka / quick_cache approach).

pub const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct Lists {
    prev: Vec<u32>,
    next: Vec<u32>,
    slots: u32,
}

impl Lists {
    /// Links for `slots` entries and `lists` empty lists (ids `0..lists`).
    pub fn new(slots: u32, lists: u32) -> Self {
        let total = (slots + lists) as usize;
        let mut prev = vec![NIL; total];
        let mut next = vec![NIL; total];
        for list in 0..lists {
            let sentinel = slots + list;
            prev[sentinel as usize] = sentinel;
            next[sentinel as usize] = sentinel;
        }
        Lists { prev, next, slots }
    }

    #[inline]
    fn sentinel(&self, list: u8) -> u32 {
        self.slots + u32::from(list)
    }

    /// The least recently appended slot of `list`.
    #[inline]
    pub fn front(&self, list: u8) -> Option<u32> {
        let first = self.next[self.sentinel(list) as usize];
        (first < self.slots).then_some(first)
    }

    /// Appends `slot` (not linked anywhere) at the back of `list`.
    #[inline]
    pub fn push_back(&mut self, list: u8, slot: u32) {
        let sentinel = self.sentinel(list);
        let last = self.prev[sentinel as usize];
        self.next[last as usize] = slot;
        self.prev[slot as usize] = last;
        self.next[slot as usize] = sentinel;
        self.prev[sentinel as usize] = slot;
    }

    /// Removes `slot` from whatever list it is in.
    #[inline]
    pub fn unlink(&mut self, slot: u32) {
        let (p, n) = (self.prev[slot as usize], self.next[slot as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
        self.prev[slot as usize] = NIL;
        self.next[slot as usize] = NIL;
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
        let mut at = self.next[sentinel as usize];
        std::iter::from_fn(move || {
            (at != sentinel).then(|| {
                let slot = at;
                at = self.next[at as usize];
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
