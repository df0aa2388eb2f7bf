//! The partition-key index of the window operator: key hash -> key slot id.
//!
//! The keys themselves live in the operator's slots; the index holds only
//! `(hash, id)` pairs, 8 bytes each, in an open-addressing table (linear
//! probing, backward-shift deletion, at most half full). Compared with a
//! `HashMap<Key, u32>` it hashes a new key once (the same hash finds,
//! inserts and, stored in the slot, removes it), removes by id without
//! comparing keys, and allocates only when it grows: keys that come and go
//! with their windows (a tumbling window's keys, every window) cost no
//! allocation.

use std::mem::size_of;

/// An empty table entry.
const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u32,
    /// A slot id, or [`EMPTY`].
    id: u32,
}

const VACANT: Entry = Entry { hash: 0, id: EMPTY };

#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    table: Vec<Entry>,
    len: usize,
}

impl KeyIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> usize {
        self.table.capacity() * size_of::<Entry>()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// The id of the key with this hash for which `is_key(id)` holds.
    #[inline]
    pub fn find(&self, hash: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let e = self.table[i];
            if e.id == EMPTY {
                return None;
            }
            if e.hash == hash && is_key(e.id) {
                return Some(e.id);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `id` under `hash` (the key must not be in the index).
    pub fn insert(&mut self, hash: u32, id: u32) {
        debug_assert_ne!(id, EMPTY);
        if (self.len + 1) * 2 > self.table.len() {
            self.grow();
        }
        self.place(Entry { hash, id });
        self.len += 1;
    }

    fn place(&mut self, e: Entry) {
        let mask = self.mask();
        let mut i = e.hash as usize & mask;
        while self.table[i].id != EMPTY {
            i = (i + 1) & mask;
        }
        self.table[i] = e;
    }

    fn grow(&mut self) {
        let cap = (self.table.len() * 2).max(16);
        let old = std::mem::replace(&mut self.table, vec![VACANT; cap]);
        for e in old.into_iter().filter(|e| e.id != EMPTY) {
            self.place(e);
        }
    }

    /// Removes `id`, inserted under `hash`.
    pub fn remove(&mut self, hash: u32, id: u32) {
        if self.table.is_empty() {
            return;
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let e = self.table[i];
            if e.id == EMPTY {
                return;
            }
            if e.id == id {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward shift: move later entries of the probe run into the hole
        // when their home position allows it, so that no tombstones pile up.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let e = self.table[j];
            if e.id == EMPTY {
                break;
            }
            let home = e.hash as usize & mask;
            // `e` may move to `hole` if `home` is not cyclically in (hole, j].
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.table[hole] = e;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.table[hole] = VACANT;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Against a `HashMap` under random inserts and removes, with hashes
    /// drawn from a small range so that probe runs collide and wrap.
    #[test]
    fn behaves_like_a_map() {
        let mut idx = KeyIndex::default();
        let mut model: HashMap<u32, u32> = HashMap::new(); // id -> hash
        let mut x = 12345u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..20_000u32 {
            let r = next();
            let id = (r % 300) as u32;
            let hash = ((r >> 20) % 64) as u32 | if step % 7 == 0 { 0xffff_ff00 } else { 0 };
            if let Some(&h) = model.get(&id) {
                assert_eq!(idx.find(h, |i| i == id), Some(id));
                idx.remove(h, id);
                model.remove(&id);
                assert_eq!(idx.find(h, |i| i == id), None);
            } else {
                assert_eq!(idx.find(hash, |i| i == id), None);
                idx.insert(hash, id);
                model.insert(id, hash);
            }
            assert_eq!(idx.len(), model.len());
            if step % 997 == 0 {
                for (&id, &h) in &model {
                    assert_eq!(idx.find(h, |i| i == id), Some(id), "step {step}");
                }
            }
        }
    }
}
