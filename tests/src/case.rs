//! A test case (rule text + events) and the outcome of running it, in a form
//! both engines produce and that compares as a multiset.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

/// One case: a self-contained rule file (one `stream`, one pattern `rule`)
/// and the events, in arrival order, as JSON objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub rule: String,
    pub events: Vec<Json>,
}

impl Case {
    /// The events as JSON lines.
    pub fn events_jsonl(&self) -> String {
        let mut s = String::new();
        for e in &self.events {
            s.push_str(&serde_json::to_string(e).expect("event serialises"));
            s.push('\n');
        }
        s
    }

    /// Rule text and events, ready to paste into a bug report or a scenario.
    pub fn display(&self) -> String {
        format!(
            "--- rule ---\n{}\n--- events (JSONL, arrival order) ---\n{}",
            self.rule.trim_end(),
            self.events_jsonl()
        )
    }
}

/// One match (or timed-out partial match): partition key, variable -> event ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MatchRec {
    /// The partition key (the `key` field), `None` for the single partition.
    pub key: Option<String>,
    /// Variable name -> ids of its events, in order. Variables without events are absent.
    pub vars: BTreeMap<String, Vec<i64>>,
    /// For timed-out partial matches: when the window ended (start + within).
    pub timeout_ts: Option<i64>,
}

impl fmt::Display for MatchRec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "[{k}] ")?,
            None => write!(f, "[-] ")?,
        }
        write!(f, "{{")?;
        for (i, (v, ids)) in self.vars.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            let ids: Vec<String> = ids.iter().map(|x| x.to_string()).collect();
            write!(f, "{v}: [{}]", ids.join(","))?;
        }
        write!(f, "}}")?;
        if let Some(t) = self.timeout_ts {
            write!(f, " @{t}")?;
        }
        Ok(())
    }
}

/// Everything a case produced. Both lists are kept sorted, so `==` compares
/// them as multisets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub matches: Vec<MatchRec>,
    pub timeouts: Vec<MatchRec>,
}

impl Outcome {
    pub fn new(mut matches: Vec<MatchRec>, mut timeouts: Vec<MatchRec>) -> Outcome {
        matches.sort();
        timeouts.sort();
        Outcome { matches, timeouts }
    }

    /// The same outcome without timeouts (for rules without `on timeout`).
    pub fn without_timeouts(&self) -> Outcome {
        Outcome {
            matches: self.matches.clone(),
            timeouts: Vec::new(),
        }
    }

    pub fn render(&self) -> String {
        let mut s = format!("{} match(es)", self.matches.len());
        for m in &self.matches {
            s.push_str(&format!("\n    {m}"));
        }
        if !self.timeouts.is_empty() {
            s.push_str(&format!("\n  {} timeout(s)", self.timeouts.len()));
            for m in &self.timeouts {
                s.push_str(&format!("\n    {m}"));
            }
        }
        s
    }
}

/// The multiset difference `a - b` (what `a` has more of than `b`).
pub fn minus(a: &[MatchRec], b: &[MatchRec]) -> Vec<MatchRec> {
    let mut counts: BTreeMap<&MatchRec, i64> = BTreeMap::new();
    for m in b {
        *counts.entry(m).or_default() += 1;
    }
    let mut out = Vec::new();
    for m in a {
        let c = counts.entry(m).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            out.push(m.clone());
        }
    }
    out
}

/// A readable account of how two outcomes differ (empty when they are equal).
pub fn describe_difference(left_name: &str, left: &Outcome, right_name: &str, right: &Outcome) -> String {
    let mut s = String::new();
    let sections = [
        ("matches", &left.matches, &right.matches),
        ("timeouts", &left.timeouts, &right.timeouts),
    ];
    for (what, l, r) in sections {
        for m in minus(l, r) {
            s.push_str(&format!("  {what} only in {left_name}: {m}\n"));
        }
        for m in minus(r, l) {
            s.push_str(&format!("  {what} only in {right_name}: {m}\n"));
        }
    }
    s
}

/// A JSON scalar as an event id.
pub fn json_id(v: &Json) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}
