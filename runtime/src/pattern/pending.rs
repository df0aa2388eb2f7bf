//! A key's events waiting for the watermark, in timestamp order (equal
//! timestamps in arrival order), as FlinkCEP's `CepOperator` buffers them.
//! Events mostly arrive in time order, so an insert is usually a push at the
//! back; one out of order is placed by binary search.

use std::collections::{BTreeMap, VecDeque};

use crate::event::EventRef;

#[derive(Default)]
pub(crate) struct Pending {
    events: VecDeque<EventRef>,
}

impl Pending {
    pub(crate) fn insert(&mut self, event: EventRef) {
        let ts = event.time();
        match self.events.back() {
            Some(last) if last.time() > ts => {
                let at = self.events.partition_point(|e| e.time() <= ts);
                self.events.insert(at, event);
            }
            _ => self.events.push_back(event),
        }
    }

    /// The earliest buffered timestamp.
    pub(crate) fn first_time(&self) -> Option<i64> {
        self.events.front().map(|e| e.time())
    }

    /// The earliest event if its time is at or before `watermark`.
    pub(crate) fn pop_due(&mut self, watermark: i64) -> Option<EventRef> {
        if self.events.front()?.time() > watermark {
            return None;
        }
        self.events.pop_front()
    }

    /// How many events wait.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Per timestamp, its events in arrival order (checkpoints).
    pub(crate) fn groups(&self) -> Vec<(i64, Vec<EventRef>)> {
        let mut out: Vec<(i64, Vec<EventRef>)> = Vec::new();
        for e in &self.events {
            match out.last_mut() {
                Some((ts, list)) if *ts == e.time() => list.push(e.clone()),
                _ => out.push((e.time(), vec![e.clone()])),
            }
        }
        out
    }

    /// The buffer [`Pending::groups`] describes (restore).
    pub(crate) fn from_groups(groups: BTreeMap<i64, Vec<EventRef>>) -> Pending {
        Pending {
            events: groups.into_values().flatten().collect(),
        }
    }
}
