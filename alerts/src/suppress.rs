//! `suppress <period>` (DSL.md): at most one alert per rule and key in the
//! period; the rest are suppressed: counted and kept queryable, not sent.
//!
//! Time is the alert's event time (`event_time`), so a replay after a crash
//! decides the same way. The alert that opened a period passes again if it
//! is re-emitted (the delivered-id dedup drops the repeat). The state is
//! small (one entry per rule and key) and can be snapshotted to bytes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Alert;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Last {
    pub event_ms: i64,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it; the group (rule and key) now starts its period here.
    Send { group: String, last: Last },
    /// Send it; suppression does not apply (no period, no event time).
    Pass,
    Suppress,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressor {
    last: HashMap<String, Last>,
}

/// `rule \0 key-as-JSON`: the group an alert is suppressed within.
pub fn group_of(a: &Alert) -> String {
    let mut g = a.rule.clone();
    g.push('\0');
    g.push_str(&serde_json::Value::Object(a.key.clone()).to_string());
    g
}

impl Suppressor {
    /// What to do with `a` under a `period_ms`; changes nothing (see `record`).
    pub fn decide(&self, a: &Alert, period_ms: u64) -> Decision {
        let Some(t) = crate::time::parse_rfc3339_ms(&a.event_time) else { return Decision::Pass };
        let group = group_of(a);
        if let Some(last) = self.last.get(&group) {
            if last.id == a.id {
                return Decision::Pass;
            }
            if t.abs_diff(last.event_ms) < period_ms {
                return Decision::Suppress;
            }
        }
        Decision::Send { group, last: Last { event_ms: t, id: a.id.clone() } }
    }

    /// Starts a period for `group`; returns what it replaced (for `undo`).
    pub fn record(&mut self, group: String, last: Last) -> Option<Last> {
        self.last.insert(group, last)
    }

    /// Reverts a `record` whose write failed.
    pub fn undo(&mut self, group: String, previous: Option<Last>) {
        match previous {
            Some(p) => self.last.insert(group, p),
            None => self.last.remove(&group),
        };
    }

    /// `decide` and `record` in one step.
    pub fn check(&mut self, a: &Alert, period_ms: u64) -> bool {
        match self.decide(a, period_ms) {
            Decision::Send { group, last } => {
                self.record(group, last);
                true
            }
            Decision::Pass => true,
            Decision::Suppress => false,
        }
    }

    /// Forgets groups whose period ended before `event_ms - max_period_ms`.
    pub fn expire(&mut self, event_ms: i64, max_period_ms: u64) -> Vec<String> {
        let cutoff = event_ms.saturating_sub(max_period_ms as i64);
        let old: Vec<String> = self.last.iter().filter(|(_, l)| l.event_ms < cutoff).map(|(g, _)| g.clone()).collect();
        for g in &old {
            self.last.remove(g);
        }
        old
    }

    pub fn len(&self) -> usize {
        self.last.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.last).unwrap_or_default()
    }

    pub fn restore(bytes: &[u8]) -> Result<Suppressor, String> {
        serde_json::from_slice(bytes)
            .map(|last| Suppressor { last })
            .map_err(|e| format!("suppression snapshot is corrupt: {e}"))
    }
}

/// A suppressed alert as queries return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressedAlert {
    pub alert: Alert,
    /// RFC 3339 UTC.
    pub suppressed_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_alert;

    #[test]
    fn one_per_rule_and_key_per_period() {
        let mut s = Suppressor::default();
        let p = 30 * 60_000;
        assert!(s.check(&test_alert("a", "r", "2026-01-01T00:00:00Z"), p));
        assert!(s.check(&test_alert("a", "r", "2026-01-01T00:00:00Z"), p), "the same alert again passes");
        assert!(!s.check(&test_alert("b", "r", "2026-01-01T00:10:00Z"), p));
        assert!(s.check(&test_alert("c", "other", "2026-01-01T00:10:00Z"), p));
        let mut k = test_alert("d", "r", "2026-01-01T00:10:00Z");
        k.key.insert("card".into(), "x".into());
        assert!(s.check(&k, p), "another key");
        assert!(s.check(&test_alert("e", "r", "2026-01-01T00:30:00Z"), p));
        let back = Suppressor::restore(&s.snapshot()).unwrap();
        assert_eq!(back, s);
        assert!(!s.clone().check(&test_alert("f", "r", "2026-01-01T00:31:00Z"), p));
        assert_eq!(s.expire(crate::time::parse_rfc3339_ms("2026-01-01T02:00:00Z").unwrap(), p).len(), 3);
        assert!(s.is_empty());
    }
}
