//! Reduces a failing case to a small one that still fails.
//!
//! Each round builds every one-step-smaller candidate (a simpler pattern
//! from [`Spec::simplifications`], or the events with a block of them
//! removed: halves, quarters, ... single events), asks `still_fails` about
//! all of them at once (so a round costs one peer JVM), and continues from
//! the first that still fails. It stops when no candidate fails.

use crate::case::Case;
use crate::gen::Spec;

/// A case, with its structured pattern when it was generated.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub spec: Option<Spec>,
    pub case: Case,
}

impl Candidate {
    fn with_spec(&self, spec: Spec) -> Candidate {
        Candidate {
            case: Case {
                rule: spec.render(),
                events: self.case.events.clone(),
            },
            spec: Some(spec),
        }
    }

    fn without_events(&self, from: usize, to: usize) -> Candidate {
        let mut events = self.case.events.clone();
        events.drain(from..to);
        Candidate {
            spec: self.spec.clone(),
            case: Case {
                rule: self.case.rule.clone(),
                events,
            },
        }
    }
}

/// All one-step-smaller candidates, most promising first.
pub fn candidates(c: &Candidate) -> Vec<Candidate> {
    let mut out = Vec::new();
    let n = c.case.events.len();
    // big event blocks first: they shrink fastest
    let mut size = n / 2;
    while size > 1 {
        let mut from = 0;
        while from < n {
            let to = (from + size).min(n);
            out.push(c.without_events(from, to));
            from = to;
        }
        size /= 2;
    }
    if let Some(spec) = &c.spec {
        for s in spec.simplifications() {
            out.push(c.with_spec(s));
        }
    }
    for i in 0..n {
        out.push(c.without_events(i, i + 1));
    }
    out
}

/// Shrinks `start` while `still_fails` holds. `still_fails` answers for a
/// batch of candidates at once. Returns the smallest failing case found and
/// the number of rounds.
pub fn shrink(
    start: Candidate,
    still_fails: &mut dyn FnMut(&[Candidate]) -> Vec<bool>,
    max_rounds: usize,
) -> (Candidate, usize) {
    let mut current = start;
    let mut rounds = 0;
    while rounds < max_rounds {
        rounds += 1;
        let cands = candidates(&current);
        if cands.is_empty() {
            break;
        }
        let verdicts = still_fails(&cands);
        match cands.into_iter().zip(verdicts).find(|(_, fails)| *fails) {
            Some((c, _)) => current = c,
            None => break,
        }
    }
    (current, rounds)
}
