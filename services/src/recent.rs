//! The most recent alerts, for `GET /alerts`: a bounded ring, newest last.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use cepheus_alerts::Alert;

pub struct Recent {
    cap: usize,
    ring: Mutex<VecDeque<Arc<Alert>>>,
}

/// Which alerts a caller wants.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub rule: Option<String>,
    /// Any of these severities (empty: all).
    pub severities: Vec<String>,
    /// Every given key field must equal (as text) the alert's.
    pub key: Vec<(String, String)>,
}

impl AlertFilter {
    pub fn matches(&self, a: &Alert) -> bool {
        self.rule.as_deref().is_none_or(|r| a.rule == r)
            && (self.severities.is_empty() || self.severities.iter().any(|s| s.eq_ignore_ascii_case(&a.severity)))
            && self.key.iter().all(|(k, v)| {
                a.key.get(k).is_some_and(|x| match x {
                    serde_json::Value::String(s) => s == v,
                    other => serde_json::from_str::<serde_json::Value>(v).is_ok_and(|p| p == *other),
                })
            })
    }
}

impl Recent {
    pub fn new(cap: usize) -> Self {
        Recent {
            cap: cap.max(1),
            ring: Mutex::new(VecDeque::with_capacity(cap.clamp(1, 100_000))),
        }
    }

    pub fn push(&self, a: Arc<Alert>) {
        let mut r = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() == self.cap {
            r.pop_front();
        }
        r.push_back(a);
    }

    /// Up to `limit` matching alerts, newest first.
    pub fn query(&self, f: &AlertFilter, limit: usize) -> Vec<Arc<Alert>> {
        let r = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        r.iter().rev().filter(|a| f.matches(a)).take(limit).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str, sev: &str, card: &str) -> Arc<Alert> {
        let mut key = serde_json::Map::new();
        key.insert("card_id".into(), card.into());
        Arc::new(Alert {
            id: format!("{rule}-{card}"),
            rule: rule.into(),
            rule_version: 1,
            severity: sev.into(),
            key,
            fields: Default::default(),
            message: String::new(),
            event_time: String::new(),
            detected_at: String::new(),
            matched: None,
            window: None,
            timeout: false,
            update: false,
            labels: Default::default(),
            notify: Vec::new(),
        })
    }

    #[test]
    fn ring_keeps_the_newest_and_filters() {
        let r = Recent::new(2);
        r.push(alert("a", "high", "c1"));
        r.push(alert("b", "low", "c2"));
        r.push(alert("a", "high", "c3"));
        let all = r.query(&AlertFilter::default(), 10);
        assert_eq!(all.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a-c3", "b-c2"]);
        let f = AlertFilter { rule: Some("a".into()), ..Default::default() };
        assert_eq!(r.query(&f, 10).len(), 1);
        let f = AlertFilter { key: vec![("card_id".into(), "c2".into())], severities: vec!["LOW".into()], ..Default::default() };
        assert_eq!(r.query(&f, 10)[0].id, "b-c2");
    }
}
