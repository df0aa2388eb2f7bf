//! Dewey version numbers of partial matches (FlinkCEP's `DeweyNumber`).
//!
//! A version says which branch of the automaton a partial match followed; an
//! edge in the shared buffer belongs to a run if their versions are
//! compatible, which is how one buffer holds many overlapping matches.

use smallvec::SmallVec;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Dewey(SmallVec<[u32; 8]>);

impl Dewey {
    pub fn new(start: u32) -> Self {
        let mut v = SmallVec::new();
        v.push(start);
        Dewey(v)
    }

    /// Adds `times` to the last digit.
    pub fn increase(&self, times: u32) -> Dewey {
        let mut v = self.0.clone();
        if let Some(last) = v.last_mut() {
            *last += times;
        }
        Dewey(v)
    }

    /// Appends a new digit 0.
    pub fn add_stage(&self) -> Dewey {
        let mut v = self.0.clone();
        v.push(0);
        Dewey(v)
    }

    /// `self` descends from `other`: `other` is a prefix of `self`, or they
    /// have equal length, equal prefixes and `self`'s last digit is not lower.
    pub fn is_compatible_with(&self, other: &Dewey) -> bool {
        let (a, b) = (&self.0, &other.0);
        if a.len() > b.len() {
            a[..b.len()] == b[..]
        } else if a.len() == b.len() {
            let last = a.len() - 1;
            a[..last] == b[..last] && a[last] >= b[last]
        } else {
            false
        }
    }

    pub fn digits(&self) -> &[u32] {
        &self.0
    }
}

impl std::fmt::Display for Dewey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|d| d.to_string()).collect();
        f.write_str(&parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility() {
        let a = Dewey::new(1);
        let b = a.add_stage(); // 1.0
        assert!(b.is_compatible_with(&a));
        assert!(!a.is_compatible_with(&b));
        let c = b.increase(2); // 1.2
        assert!(c.is_compatible_with(&b));
        assert!(!b.is_compatible_with(&c));
        assert_eq!(c.to_string(), "1.2");
    }
}
