//! A binary heap that orders ties exactly as `java.util.PriorityQueue`.
//!
//! FlinkCEP keeps partial and completed matches in Java priority queues and
//! iterates them in their internal array order; matches that tie on the
//! comparator (same start event) are processed and emitted in that order,
//! which under skip strategies decides which match survives. To produce the
//! same matches we keep the same array layout: the same sift-up, sift-down,
//! bulk removal and heapify steps.

use std::cmp::Ordering;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JavaHeap<T> {
    items: Vec<T>,
}

impl<T> Default for JavaHeap<T> {
    fn default() -> Self {
        JavaHeap { items: Vec::new() }
    }
}

impl<T> JavaHeap<T> {
    pub fn new() -> Self {
        JavaHeap::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Array order, as Java's iterator gives it.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    pub fn into_vec(self) -> Vec<T> {
        self.items
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Moves every item, in array order, to the end of `out` (the heap
    /// keeps its allocation for the items pushed next).
    pub fn drain_into(&mut self, out: &mut Vec<T>) {
        out.append(&mut self.items);
    }

    /// Takes every item out, in array order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, T> {
        self.items.drain(..)
    }

    /// `offer`: append, then sift up.
    pub fn push(&mut self, x: T, cmp: &impl Fn(&T, &T) -> Ordering) {
        self.items.push(x);
        let mut k = self.items.len() - 1;
        while k > 0 {
            let parent = (k - 1) >> 1;
            if cmp(&self.items[k], &self.items[parent]) != Ordering::Less {
                break;
            }
            self.items.swap(k, parent);
            k = parent;
        }
    }

    /// `poll`: take the root, move the last element to the root, sift down.
    pub fn pop(&mut self, cmp: &impl Fn(&T, &T) -> Ordering) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let last = self.items.len() - 1;
        self.items.swap(0, last);
        let top = self.items.pop();
        if !self.items.is_empty() {
            self.sift_down(0, cmp);
        }
        top
    }

    fn sift_down(&mut self, mut k: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
        let n = self.items.len();
        let half = n >> 1;
        while k < half {
            let mut child = 2 * k + 1;
            let right = child + 1;
            if right < n && cmp(&self.items[child], &self.items[right]) == Ordering::Greater {
                child = right;
            }
            if cmp(&self.items[k], &self.items[child]) != Ordering::Greater {
                break;
            }
            self.items.swap(k, child);
            k = child;
        }
    }

    /// `removeIf` / `removeAll`: drop matching items keeping the survivors'
    /// array order, then heapify. Returns the removed items in array order.
    pub fn remove_where(
        &mut self,
        mut pred: impl FnMut(&T) -> bool,
        cmp: &impl Fn(&T, &T) -> Ordering,
    ) -> Vec<T> {
        if !self.items.iter().any(&mut pred) {
            return Vec::new();
        }
        let mut kept = Vec::with_capacity(self.items.len());
        let mut removed = Vec::new();
        for x in self.items.drain(..) {
            if pred(&x) {
                removed.push(x);
            } else {
                kept.push(x);
            }
        }
        self.items = kept;
        let n = self.items.len();
        for i in (0..n >> 1).rev() {
            self.sift_down(i, cmp);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_key(a: &(u32, u32), b: &(u32, u32)) -> Ordering {
        a.0.cmp(&b.0)
    }

    #[test]
    fn ties_keep_java_layout() {
        // Java: offer (1,a) (1,b) (0,c) -> array [(0,c), (1,b), (1,a)]
        let mut h = JavaHeap::new();
        h.push((1, 1), &by_key);
        h.push((1, 2), &by_key);
        h.push((0, 3), &by_key);
        let order: Vec<_> = h.iter().copied().collect();
        assert_eq!(order, vec![(0, 3), (1, 2), (1, 1)]);
        assert_eq!(h.pop(&by_key), Some((0, 3)));
        // last (1,1) moves to the root; children (1,2): not greater, stays.
        assert_eq!(h.iter().copied().collect::<Vec<_>>(), vec![(1, 1), (1, 2)]);
    }

    #[test]
    fn remove_where_heapifies() {
        let mut h = JavaHeap::new();
        for k in [5, 3, 8, 1, 9, 2] {
            h.push((k, k), &by_key);
        }
        let removed = h.remove_where(|x| x.0 % 2 == 1, &by_key);
        assert_eq!(removed.len(), 4);
        assert_eq!(h.pop(&by_key), Some((2, 2)));
        assert_eq!(h.pop(&by_key), Some((8, 8)));
    }
}
