//! The keyed, event-time pattern operator: one pattern rule over one stream.
//!
//! Events are partitioned by the rule's key; each key has its own NFA state
//! ([`crate::nfa`]) and a buffer that holds events until the watermark passes
//! them, so the NFA sees each key's events in timestamp order (equal
//! timestamps in arrival order), exactly as FlinkCEP's `CepOperator`. Time
//! only enters through [`PatternOperator::on_event`] and
//! [`PatternOperator::on_watermark`]: the operator never reads a clock.

mod pending;
mod predicates;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use cepheus_alerts::Alert;
use cepheus_dsl::plan::{RuleBody, RulePlan, Slot, VarId};
use thiserror::Error;

use crate::event::EventRef;
use crate::expr::{self, CompiledExpr, Scope};
use crate::nfa::hash::BuildWordHasher;
use crate::nfa::{self, Match, Nfa, NfaState, Scratch, Timeout};
use crate::output::{alert, Output, RuleIdentity};
use crate::record::Record;
use crate::value::Value;

pub(crate) use pending::Pending;
pub use predicates::RulePredicates;

#[derive(Debug, Error)]
pub enum BuildError {
    #[error("rule '{0}' is not a pattern rule")]
    NotAPatternRule(String),
    #[error("rule '{rule}': {source}")]
    Pattern {
        rule: String,
        source: nfa::CompileError,
    },
    #[error("rule '{rule}': {source}")]
    Expr {
        rule: String,
        source: expr::CompileError,
    },
}

/// Counters the operator keeps (exported as metrics by the service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternStats {
    pub events: u64,
    /// Events at or behind the watermark when they arrived.
    pub late_events: u64,
    pub filtered_out: u64,
    pub matches: u64,
    pub timeouts: u64,
    /// Partial matches dropped because a key exceeded its limit.
    pub dropped_partial_matches: u64,
}

pub(crate) struct KeyState {
    pub(crate) key: Vec<Value>,
    pub(crate) nfa: NfaState<EventRef>,
    /// Events waiting for the watermark, in timestamp order.
    pub(crate) pending: Pending,
}

pub struct PatternOperator {
    pub(crate) rule: RuleIdentity,
    pub(crate) nfa: Nfa,
    preds: RulePredicates,
    filter: Option<CompiledExpr>,
    pub(crate) key_slots: Vec<Slot>,
    var_names: Vec<String>,
    output: Output,
    timeout_output: Option<Output>,
    pub(crate) event_time: bool,
    pub(crate) keys: Vec<KeyState>,
    pub(crate) key_index: HashMap<Vec<Value>, u32, BuildWordHasher>,
    /// (time, key): when a key has work: its earliest buffered event (one
    /// timer for all of them: the key fires at the first anyway) and the
    /// ends of windows (FlinkCEP's event-time timers).
    pub(crate) timers: BTreeSet<(i64, u32)>,
    pub(crate) watermark: i64,
    max_partial_matches: Option<usize>,
    pub(crate) stats: PatternStats,
    /// Reused buffers: the automaton's, the key being looked up, the keys
    /// due at a watermark and, per key, the last watermark call that fired it.
    scratch: Scratch,
    key_buf: Vec<Value>,
    due: Vec<u32>,
    fired: Vec<u64>,
    round: u64,
}

/// The scope of `emit` over a finished (or timed-out) match.
struct MatchScope<'a> {
    key: &'a [Value],
    vars: &'a [Vec<&'a Record>],
}

impl Scope for MatchScope<'_> {
    fn event(&self) -> Option<&Record> {
        None
    }
    fn var_len(&self, var: VarId) -> usize {
        self.vars.get(var as usize).map_or(0, Vec::len)
    }
    fn var_event(&self, var: VarId, i: usize) -> Option<&Record> {
        self.vars.get(var as usize)?.get(i).copied()
    }
    fn key(&self, i: u32) -> Option<&Value> {
        self.key.get(i as usize)
    }
}

impl PatternOperator {
    pub fn new(plan: &RulePlan, version: u64) -> Result<Self, BuildError> {
        let RuleBody::Pattern(pattern) = &plan.body else {
            return Err(BuildError::NotAPatternRule(plan.name.clone()));
        };
        let rule = plan.name.clone();
        let graph = nfa::compile(pattern).map_err(|source| BuildError::Pattern {
            rule: rule.clone(),
            source,
        })?;
        let expr_err = |source| BuildError::Expr {
            rule: rule.clone(),
            source,
        };
        let preds = RulePredicates::new(pattern, &graph).map_err(expr_err)?;
        let filter = plan
            .filter
            .as_ref()
            .map(CompiledExpr::compile)
            .transpose()
            .map_err(expr_err)?;
        let output = Output::compile(&plan.output).map_err(expr_err)?;
        let timeout_output = pattern
            .on_timeout
            .as_ref()
            .map(Output::compile)
            .transpose()
            .map_err(expr_err)?;
        let report_timeouts = timeout_output.is_some();
        Ok(PatternOperator {
            rule: RuleIdentity::new(plan, version),
            nfa: Nfa::new(graph, pattern.skip.clone(), report_timeouts),
            preds,
            filter,
            key_slots: plan.partition_by.iter().map(|k| k.slot).collect(),
            var_names: pattern.vars.clone(),
            output,
            timeout_output,
            event_time: plan.stream.time.is_some(),
            keys: Vec::new(),
            key_index: HashMap::default(),
            timers: BTreeSet::new(),
            watermark: i64::MIN,
            max_partial_matches: None,
            stats: PatternStats::default(),
            scratch: Scratch::default(),
            key_buf: Vec::new(),
            due: Vec::new(),
            fired: Vec::new(),
            round: 0,
        })
    }

    /// Caps partial matches per key; excess is dropped and counted.
    pub fn with_max_partial_matches(mut self, limit: Option<usize>) -> Self {
        self.max_partial_matches = limit;
        self
    }

    pub fn name(&self) -> &str {
        &self.rule.name
    }

    pub fn stats(&self) -> &PatternStats {
        &self.stats
    }

    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Partial matches in progress over all keys.
    pub fn partial_matches(&self) -> usize {
        self.keys.iter().map(|k| k.nfa.partial_matches()).sum()
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The id of the event's key, looked up without allocating (a new key
    /// allocates once).
    fn key_id(&mut self, event: &EventRef) -> u32 {
        self.key_buf.clear();
        self.key_buf.extend(self.key_slots.iter().map(|s| event.record.get(*s).clone()));
        if let Some(&id) = self.key_index.get(self.key_buf.as_slice()) {
            return id;
        }
        let key = self.key_buf.clone();
        let id = self.keys.len() as u32;
        self.key_index.insert(key.clone(), id);
        self.keys.push(KeyState {
            key,
            nfa: self.nfa.initial_state(),
            pending: Pending::default(),
        });
        id
    }

    /// One event. In event time it waits for the watermark; in processing
    /// time it is matched at once. `now_ms` stamps `detected_at`.
    pub fn on_event(&mut self, event: EventRef, now_ms: i64, out: &mut Vec<Alert>) {
        self.stats.events += 1;
        if let Some(f) = &self.filter {
            if !f.eval_bool(&event.record) {
                self.stats.filtered_out += 1;
                return;
            }
        }
        let ts = event.time();
        let id = self.key_id(&event);
        if self.event_time {
            if ts <= self.watermark {
                self.stats.late_events += 1;
                return;
            }
            let k = &mut self.keys[id as usize];
            match k.pending.first_time() {
                // Its earlier event's timer wakes the key before this one is due.
                Some(first) if first <= ts => {}
                _ => {
                    self.timers.insert((ts, id));
                }
            }
            k.pending.insert(event);
        } else {
            self.advance_key(id, ts, now_ms, out);
            self.process_one(id, &event, ts, now_ms, out);
        }
    }

    /// Moves event time to `watermark`: buffered events up to it are
    /// matched, windows that ended time out.
    pub fn on_watermark(&mut self, watermark: i64, now_ms: i64, out: &mut Vec<Alert>) {
        if watermark <= self.watermark {
            return;
        }
        self.watermark = watermark;
        self.round += 1;
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        while let Some(&(t, id)) = self.timers.first() {
            if t > watermark {
                break;
            }
            self.timers.pop_first();
            due.push(id);
        }
        self.fired.resize(self.keys.len(), 0);
        for &id in &due {
            // Once per key and watermark, in the order of its first timer.
            if self.fired[id as usize] == self.round {
                continue;
            }
            self.fired[id as usize] = self.round;
            self.fire_key(id, watermark, now_ms, out);
        }
        self.due = due;
    }

    /// FlinkCEP `onEventTime` for one key.
    fn fire_key(&mut self, id: u32, watermark: i64, now_ms: i64, out: &mut Vec<Alert>) {
        let mut current = None;
        while let Some(e) = self.keys[id as usize].pending.pop_due(watermark) {
            let ts = e.time();
            if current != Some(ts) {
                // Time moves to each timestamp before its events.
                current = Some(ts);
                self.advance_key(id, ts, now_ms, out);
            }
            self.process_one(id, &e, ts, now_ms, out);
        }
        self.advance_key(id, watermark, now_ms, out);
        if let Some(first) = self.keys[id as usize].pending.first_time() {
            // The events left wait for a later watermark.
            self.timers.insert((first, id));
        }
        // FlinkCEP resets the flag when it stores the NFA state at the end of
        // `onEventTime`; until then every processed event re-arms its timer.
        self.keys[id as usize].nfa.reset_new_start_partial_match();
    }

    fn advance_key(&mut self, id: u32, ts: i64, now_ms: i64, out: &mut Vec<Alert>) {
        let mut matches = Vec::new();
        let mut timeouts = Vec::new();
        let k = &mut self.keys[id as usize];
        self.nfa
            .advance_time_with(&mut k.nfa, &mut self.scratch, ts, &mut matches, &mut timeouts);
        self.emit(id, matches, now_ms, out);
        self.emit_timeouts(id, timeouts, now_ms, out);
    }

    fn process_one(&mut self, id: u32, event: &EventRef, ts: i64, now_ms: i64, out: &mut Vec<Alert>) {
        let mut matches = Vec::new();
        let k = &mut self.keys[id as usize];
        self.nfa
            .process_with(&mut k.nfa, &mut self.scratch, event, ts, &self.preds, &mut matches);
        let window = self.nfa.window_ms();
        if window > 0 && k.nfa.new_start_partial_match() {
            // As FlinkCEP's CepOperator: a partial match started (since the
            // flag was last reset), so wake this key when its window ends. A
            // time at or behind the watermark would fire within this same
            // watermark, after this key already advanced to it: a no-op.
            let at = ts.saturating_add(window);
            if at > self.watermark {
                self.timers.insert((at, id));
            }
        }
        if !self.event_time {
            k.nfa.reset_new_start_partial_match();
        }
        if let Some(limit) = self.max_partial_matches {
            self.stats.dropped_partial_matches += k.nfa.shed_oldest(limit) as u64;
        }
        self.emit(id, matches, now_ms, out);
    }

    fn emit(&mut self, id: u32, matches: Vec<Match<EventRef>>, now_ms: i64, out: &mut Vec<Alert>) {
        for m in matches {
            self.stats.matches += 1;
            let a = self.build_alert(id, &m, None, now_ms);
            out.push(a);
        }
    }

    fn emit_timeouts(&mut self, id: u32, timeouts: Vec<Timeout<EventRef>>, now_ms: i64, out: &mut Vec<Alert>) {
        for t in timeouts {
            self.stats.timeouts += 1;
            let a = self.build_alert(id, &t.partial, Some(t.timestamp), now_ms);
            out.push(a);
        }
    }

    fn build_alert(&self, id: u32, m: &Match<EventRef>, timeout_at: Option<i64>, now_ms: i64) -> Alert {
        let key = &self.keys[id as usize].key;
        let mut vars: Vec<Vec<&Record>> = vec![Vec::new(); self.var_names.len()];
        let mut ids = self.rule.id_builder(key);
        let mut last_ts = i64::MIN;
        let mut matched = serde_json::Map::new();
        for (var, events) in m {
            let name = self.var_names.get(*var as usize).cloned().unwrap_or_default();
            ids.str(&name);
            let mut list = Vec::with_capacity(events.len());
            for e in events {
                ids.u64(u64::from(e.position.partition)).u64(e.position.offset);
                last_ts = last_ts.max(e.time());
                list.push(event_json(&e.record));
                if let Some(slot) = vars.get_mut(*var as usize) {
                    slot.push(&e.record);
                }
            }
            matched.insert(name, serde_json::Value::Array(list));
        }
        let scope = MatchScope { key, vars: &vars };
        let (output, event_time) = match (timeout_at, &self.timeout_output) {
            (Some(at), Some(o)) => {
                ids.str("timeout");
                (o, at)
            }
            _ => (&self.output, last_ts),
        };
        let mut a = alert(&self.rule, ids.finish(), key, output.render(&scope), event_time, now_ms);
        a.matched = Some(matched);
        a.timeout = timeout_at.is_some();
        a
    }
}

/// The whole event as JSON for an alert: parsed from its bytes straight into
/// the alert (no cached tree kept alive with the buffered event, no copy).
fn event_json(record: &Record) -> serde_json::Value {
    match record.bytes().map(serde_json::from_slice) {
        Some(Ok(v)) => v,
        _ => (*record.json()).clone(),
    }
}
