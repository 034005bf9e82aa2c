//! Key bytes as the cache stores them: short keys inline, long keys on the heap.
//!
//! A hit compares the probe with the stored key. Keeping typical keys (`prefix:kind:id:version`,
//! well under 40 bytes) inside the hash table's bucket saves two cache misses (bucket → entry →
//! key bytes): profiling showed those loads were most of the cost of a lookup.

/// Longest key stored inline.
pub const INLINE_KEY_BYTES: usize = 38;

#[derive(Debug, Clone)]
pub enum StoredKey {
    Inline {
        len: u8,
        bytes: [u8; INLINE_KEY_BYTES],
    },
    Heap(Box<[u8]>),
}

impl StoredKey {
    pub fn new(key: &[u8]) -> Self {
        if key.len() <= INLINE_KEY_BYTES {
            let mut bytes = [0; INLINE_KEY_BYTES];
            bytes[..key.len()].copy_from_slice(key);
            StoredKey::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            StoredKey::Heap(key.into())
        }
    }

    #[inline]
    pub fn bytes(&self) -> &[u8] {
        match self {
            StoredKey::Inline { len, bytes } => &bytes[..*len as usize],
            StoredKey::Heap(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_keys_round_trip() {
        for len in [0, 1, INLINE_KEY_BYTES, INLINE_KEY_BYTES + 1, 600] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(StoredKey::new(&key).bytes(), &key[..]);
        }
    }

    #[test]
    fn stored_key_stays_within_forty_bytes() {
        assert!(std::mem::size_of::<StoredKey>() <= 40);
    }
}
