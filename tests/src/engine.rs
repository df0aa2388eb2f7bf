//! Runs a case through Cepheus: `cepheus_dsl::compile` -> plan -> the
//! runtime.
//!
//! Three ways in, from the whole pipeline down to the bare automaton:
//!
//! - [`run_plan`]: `cepheus_runtime::batch::run_batch`, the `cepheus run`
//!   batch mode (events as NDJSON, a watermark `max ts - lateness - 1` after
//!   every event, a final watermark at +infinity, alerts out). The
//!   differential test uses this; the peer is then given the same watermark
//!   schedule (`watermark_lag_ms`).
//! - [`run_operator`]: the keyed pattern operator alone, all events first,
//!   then ONE watermark of the caller's choice. With the last event's
//!   timestamp this is what FlinkCEP's `NFATestHarness` does (time advanced
//!   to each event's timestamp before it, nothing after the last event): the
//!   semantics the FlinkCEP scenarios are written in.
//! - [`run_nfa`]: the NFA driven by hand per key (for diagnosis: `diff_case --nfa`).
//! - [`run_cep_operator_model`]: the bare NFA inside a line-by-line model of
//!   FlinkCEP's `CepOperator` timers (which keys see which watermarks), with
//!   the batch mode's watermark schedule. The differential test uses it to
//!   tell a difference in the operator's timer policy from one in the NFA.
//!
//! Matches come back as [`MatchRec`]s (key, variable -> event ids).

use std::collections::HashMap;
use std::sync::Arc;

use cepheus_dsl::plan::{PatternPlan, RuleBody, RulePlan, Slot, StreamSchema};
use cepheus_dsl::Catalog;
use cepheus_runtime::expr::{CompiledExpr, Scope};
use cepheus_runtime::nfa::graph::Predicate;
use cepheus_runtime::batch::{run_batch, BatchOptions};
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::nfa::{self, Bindings, Nfa, Predicates};
use cepheus_runtime::pattern::PatternOperator;
use cepheus_runtime::record::{Decoder, Record};
use cepheus_runtime::value::Value;
use serde_json::Value as Json;

use crate::case::{MatchRec, Outcome};

/// How [`run_nfa`] moves time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// CepOperator on a bounded input: advance to each distinct timestamp, then to +infinity.
    Operator,
    /// NFATestHarness: advance to each event's timestamp before it; nothing after the last.
    PerEventNoFlush,
}

/// Why a rule did not run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// The DSL compiler rejected the rule: the diagnostics' codes and their rendering.
    Rejected { codes: Vec<&'static str>, rendered: String },
    /// The rule compiled but is not a single pattern rule, or the engine refused the plan.
    Unsupported(String),
    /// An event could not be decoded.
    BadEvent(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Rejected { rendered, .. } => write!(f, "rejected by the checker:\n{rendered}"),
            RunError::Unsupported(s) => write!(f, "not runnable: {s}"),
            RunError::BadEvent(s) => write!(f, "bad event: {s}"),
        }
    }
}

/// Compiles a rule file holding exactly one pattern rule.
pub fn compile_rule(src: &str) -> Result<RulePlan, RunError> {
    let compiled = cepheus_dsl::compile(src, &Catalog::new());
    if compiled.has_errors() {
        return Err(RunError::Rejected {
            codes: compiled
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.code)
                .collect(),
            rendered: cepheus_dsl::diagnostic::render("rule.cep", src, &compiled.diagnostics),
        });
    }
    let mut plans = compiled.plans;
    if plans.len() != 1 {
        return Err(RunError::Unsupported(format!("expected one rule, found {}", plans.len())));
    }
    let plan = plans.remove(0);
    match &plan.body {
        RuleBody::Pattern(_) => Ok(plan),
        RuleBody::Window(_) => Err(RunError::Unsupported("not a pattern rule".into())),
    }
}

pub fn pattern_of(plan: &RulePlan) -> &PatternPlan {
    match &plan.body {
        RuleBody::Pattern(p) => p,
        RuleBody::Window(_) => panic!("not a pattern rule"),
    }
}

/// Compiles and runs a rule over events in batch mode.
pub fn run_source(src: &str, events: &[Json]) -> Result<Outcome, RunError> {
    let plan = compile_rule(src)?;
    run_plan(&plan, events)
}

/// The partition key of an alert or match as the peer reports it.
fn alert_key(plan: &RulePlan, key: &serde_json::Map<String, Json>) -> Option<String> {
    if plan.partition_by.is_empty() {
        return None;
    }
    let vals: Vec<Value> = plan
        .partition_by
        .iter()
        .map(|k| key.get(&k.name).map(Value::from_json).unwrap_or(Value::Null))
        .collect();
    key_string(&vals)
}

fn alerts_to_outcome(plan: &RulePlan, alerts: &[cepheus_alerts::Alert]) -> Result<Outcome, RunError> {
    let mut matches = Vec::new();
    let mut timeouts = Vec::new();
    for a in alerts {
        let mut vars = std::collections::BTreeMap::new();
        for (var, evs) in a.matched.iter().flatten() {
            let ids: Vec<i64> = evs
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e.get("id").and_then(crate::case::json_id).unwrap_or(-1))
                .collect();
            if !ids.is_empty() {
                vars.insert(var.clone(), ids);
            }
        }
        let rec = MatchRec {
            key: alert_key(plan, &a.key),
            vars,
            timeout_ts: None,
        };
        if a.timeout {
            let ts = cepheus_runtime::time::parse_rfc3339(&a.event_time)
                .ok_or_else(|| RunError::Unsupported(format!("bad event_time {}", a.event_time)))?;
            timeouts.push(MatchRec {
                timeout_ts: Some(ts),
                ..rec
            });
        } else {
            matches.push(rec);
        }
    }
    Ok(Outcome::new(matches, timeouts))
}

/// Runs a compiled pattern rule over events (arrival order) through the
/// batch mode, `cepheus_runtime::batch::run_batch`.
pub fn run_plan(plan: &RulePlan, events: &[Json]) -> Result<Outcome, RunError> {
    let mut input = String::new();
    for e in events {
        input.push_str(&serde_json::to_string(e).expect("event serialises"));
        input.push('\n');
    }
    let out = run_batch(std::slice::from_ref(plan), input.as_bytes(), &BatchOptions::default())
        .map_err(|e| RunError::Unsupported(e.to_string()))?;
    if let Some(m) = out.malformed.first() {
        return Err(RunError::BadEvent(format!("line {}: {}", m.line, m.error)));
    }
    alerts_to_outcome(plan, &out.alerts)
}

/// Runs the pattern operator over all events, then one watermark
/// (`final_watermark`). `report_timeouts` forces timed-out partial matches
/// to be reported (by giving the plan an empty `on timeout`) even when the
/// rule has no `on timeout`.
pub fn run_operator(
    plan: &RulePlan,
    events: &[Json],
    final_watermark: i64,
    report_timeouts: bool,
) -> Result<Outcome, RunError> {
    let mut plan = plan.clone();
    if report_timeouts {
        if let cepheus_dsl::plan::RuleBody::Pattern(p) = &mut plan.body {
            if p.on_timeout.is_none() {
                p.on_timeout = Some(cepheus_dsl::plan::OutputPlan {
                    fields: Vec::new(),
                    message: None,
                });
            }
        }
    }
    let mut op = PatternOperator::new(&plan, 1).map_err(|e| RunError::Unsupported(e.to_string()))?;
    let records = decode_events(&plan.stream, events)?;
    let mut alerts = Vec::new();
    for (i, record) in records.into_iter().enumerate() {
        let event = Arc::new(Event {
            record,
            position: Position {
                partition: 0,
                offset: i as u64 + 1,
            },
        });
        op.on_event(event, 0, &mut alerts);
    }
    op.on_watermark(final_watermark, 0, &mut alerts);
    alerts_to_outcome(&plan, &alerts)
}

/// The rule's conditions, compiled, as the NFA's predicates.
struct Preds {
    graph_preds: Vec<Predicate>,
    conditions: Vec<Option<CompiledExpr>>,
    untils: Vec<Option<CompiledExpr>>,
    needs_bindings: bool,
}

struct PatternScope<'a, 'b> {
    event: &'a Record,
    bindings: &'a Bindings<'b, Record>,
}

impl Scope for PatternScope<'_, '_> {
    fn event(&self) -> Option<&Record> {
        Some(self.event)
    }
    fn var_len(&self, var: u32) -> usize {
        self.bindings.len(var)
    }
    fn var_event(&self, var: u32, i: usize) -> Option<&Record> {
        self.bindings.get(var, i)
    }
}

impl Predicates<Record> for Preds {
    fn eval(&self, pred: u32, event: &Record, bindings: &Bindings<'_, Record>) -> bool {
        let expr = match self.graph_preds[pred as usize] {
            Predicate::Condition(v) => self.conditions.get(v as usize),
            Predicate::Until(v) => self.untils.get(v as usize),
        };
        match expr.and_then(Option::as_ref) {
            None => true,
            Some(e) => e.eval_bool(&PatternScope { event, bindings }),
        }
    }

    fn needs_bindings(&self) -> bool {
        self.needs_bindings
    }
}

fn reads_vars(e: &cepheus_dsl::plan::Expr) -> bool {
    // The plan's Expr is serde data: look for the two variable-reading node kinds.
    let json = serde_json::to_string(e).expect("plan expr serialises");
    json.contains("\"var_field\"") || json.contains("\"var_agg\"")
}

fn collect_conditions(
    stages: &[cepheus_dsl::plan::Stage],
    conds: &mut HashMap<u32, (Option<cepheus_dsl::plan::Expr>, Option<cepheus_dsl::plan::Expr>)>,
) {
    for s in stages {
        match &s.kind {
            cepheus_dsl::plan::StageKind::Var { var, condition, until } => {
                conds.insert(*var, (condition.clone(), until.clone()));
            }
            cepheus_dsl::plan::StageKind::Group { stages } => collect_conditions(stages, conds),
        }
    }
}

fn key_string(vals: &[Value]) -> Option<String> {
    match vals {
        [] => None,
        [Value::Null] => None,
        [Value::Str(s)] => Some(s.to_string()),
        [v] => Some(v.to_json().to_string()),
        many => Some(many.iter().map(|v| v.to_json().to_string()).collect::<Vec<_>>().join("|")),
    }
}

fn id_of(rec: &Record, id_slot: Slot) -> i64 {
    match rec.get(id_slot) {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Str(s) => s.parse().unwrap_or(-1),
        _ => -1,
    }
}

fn to_rec(
    plan: &PatternPlan,
    key: &Option<String>,
    m: &nfa::Match<Record>,
    id_slot: Slot,
    timeout_ts: Option<i64>,
) -> MatchRec {
    let vars = m
        .iter()
        .filter(|(_, evs)| !evs.is_empty())
        .map(|(var, evs)| {
            (
                plan.vars[*var as usize].clone(),
                evs.iter().map(|r| id_of(r, id_slot)).collect(),
            )
        })
        .collect();
    MatchRec {
        key: key.clone(),
        vars,
        timeout_ts,
    }
}

/// Decodes events with the rule's stream schema.
pub fn decode_events(schema: &StreamSchema, events: &[Json]) -> Result<Vec<Record>, RunError> {
    let decoder = Decoder::new(schema);
    events
        .iter()
        .map(|e| {
            decoder
                .decode_value(Arc::new(e.clone()))
                .map_err(|err| RunError::BadEvent(format!("{err}: {e}")))
        })
        .collect()
}

/// Drives the bare NFA per key (no operator, no alerts). Timed-out partial
/// matches are reported when the rule has `on timeout` or `report_timeouts`
/// says so.
pub fn run_nfa(
    plan: &RulePlan,
    events: &[Json],
    drive: Drive,
    report_timeouts: Option<bool>,
) -> Result<Outcome, RunError> {
    let pattern = pattern_of(plan);
    let id_slot = plan
        .stream
        .field("id")
        .ok_or_else(|| RunError::Unsupported("the stream has no `id` field".into()))?;
    let (nfa, preds) = build_nfa(pattern, report_timeouts)?;
    let filter = plan
        .filter
        .as_ref()
        .map(|f| CompiledExpr::compile(f).map_err(|e| RunError::Unsupported(e.to_string())))
        .transpose()?;

    // Partition in order of first appearance.
    let records = decode_events(&plan.stream, events)?;
    let mut order: Vec<Vec<Value>> = Vec::new();
    let mut by_key: HashMap<Vec<Value>, Vec<Record>> = HashMap::new();
    for r in records {
        if let Some(f) = &filter {
            if !f.eval_bool(&r) {
                continue;
            }
        }
        let key: Vec<Value> = plan.partition_by.iter().map(|k| r.get(k.slot).clone()).collect();
        by_key
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(r);
    }

    let mut matches = Vec::new();
    let mut timeouts = Vec::new();
    for key in order {
        let mut recs = by_key.remove(&key).unwrap_or_default();
        let key = key_string(&key);
        let mut out = Vec::new();
        let mut touts = Vec::new();
        let mut st = nfa.initial_state();
        match drive {
            Drive::Operator => {
                recs.sort_by_key(Record::time); // stable: ties keep arrival order
                let mut last_ts = None;
                for r in &recs {
                    let ts = r.time();
                    if last_ts != Some(ts) {
                        nfa.advance_time(&mut st, ts, &mut out, &mut touts);
                        last_ts = Some(ts);
                    }
                    nfa.process(&mut st, r, ts, &preds, &mut out);
                }
                nfa.advance_time(&mut st, i64::MAX, &mut out, &mut touts);
            }
            Drive::PerEventNoFlush => {
                for r in &recs {
                    let ts = r.time();
                    nfa.advance_time(&mut st, ts, &mut out, &mut touts);
                    nfa.process(&mut st, r, ts, &preds, &mut out);
                }
            }
        }
        matches.extend(out.iter().map(|m| to_rec(pattern, &key, m, id_slot, None)));
        timeouts.extend(
            touts
                .iter()
                .map(|t| to_rec(pattern, &key, &t.partial, id_slot, Some(t.timestamp))),
        );
    }
    Ok(Outcome::new(matches, timeouts))
}

/// The bare NFA driven exactly as FlinkCEP's `CepOperator` drives its NFA
/// under the batch mode's watermark schedule (`max ts - lateness - 1` after
/// every event, then +infinity). Per key (keys are independent):
///
/// - an event with `ts <= watermark` is late and dropped; otherwise it is
///   buffered and an event-time timer is registered at `ts`;
/// - when the watermark advances, every timer `<= watermark` fires
///   `onEventTime`: buffered timestamps `<= watermark` in order, each
///   `advanceTime(ts)` then its events; after every processed event, if the
///   pattern has a window and `isNewStartPartialMatch` is set, a timer at
///   `ts + within`; then `advanceTime(watermark)`; then the flag is reset
///   (`updateNFA`). Timers registered at or below the watermark fire in the
///   same pass.
///
/// A key without a due timer is not touched by a watermark at all: its
/// partial matches neither time out nor release held-back matches then.
pub fn run_cep_operator_model(plan: &RulePlan, events: &[Json]) -> Result<Outcome, RunError> {
    use std::collections::{BTreeMap, BTreeSet};
    let pattern = pattern_of(plan);
    let id_slot = plan
        .stream
        .field("id")
        .ok_or_else(|| RunError::Unsupported("the stream has no `id` field".into()))?;
    if plan.filter.is_some() {
        return Err(RunError::Unsupported("the operator model has no `where` filter".into()));
    }
    let (nfa, preds) = build_nfa(pattern, None)?;
    let window = nfa.window_ms();
    let lateness = plan.stream.lateness_ms as i64;
    struct KeyModel {
        key: Option<String>,
        st: nfa::NfaState<Record>,
        pending: BTreeMap<i64, Vec<Record>>,
        timers: BTreeSet<i64>,
    }
    let mut keys: Vec<KeyModel> = Vec::new();
    let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
    let mut out = Vec::new();
    let mut touts = Vec::new();
    let mut matches = Vec::new();
    let mut timeouts = Vec::new();
    let mut fire = |k: &mut KeyModel, wm: i64, matches: &mut Vec<MatchRec>, timeouts: &mut Vec<MatchRec>| {
        while let Some(&t) = k.timers.first() {
            if t > wm {
                break;
            }
            k.timers.pop_first();
            // onEventTime
            while let Some((&ts, _)) = k.pending.first_key_value() {
                if ts > wm {
                    break;
                }
                let (ts, evs) = k.pending.pop_first().expect("non-empty");
                nfa.advance_time(&mut k.st, ts, &mut out, &mut touts);
                for e in &evs {
                    nfa.process(&mut k.st, e, ts, &preds, &mut out);
                    if window > 0 && k.st.new_start_partial_match() {
                        k.timers.insert(ts.saturating_add(window));
                    }
                }
            }
            nfa.advance_time(&mut k.st, wm, &mut out, &mut touts);
            k.st.reset_new_start_partial_match();
            matches.extend(out.drain(..).map(|m| to_rec(pattern, &k.key, &m, id_slot, None)));
            timeouts.extend(
                touts
                    .drain(..)
                    .map(|t| to_rec(pattern, &k.key, &t.partial, id_slot, Some(t.timestamp))),
            );
        }
    };
    let records = decode_events(&plan.stream, events)?;
    let mut wm = i64::MIN;
    let mut max_ts = i64::MIN;
    for r in records {
        let key: Vec<Value> = plan.partition_by.iter().map(|k| r.get(k.slot).clone()).collect();
        let i = *index.entry(key.clone()).or_insert_with(|| {
            keys.push(KeyModel {
                key: key_string(&key),
                st: nfa.initial_state(),
                pending: BTreeMap::new(),
                timers: BTreeSet::new(),
            });
            keys.len() - 1
        });
        let ts = r.time();
        if ts > wm {
            keys[i].pending.entry(ts).or_default().push(r);
            keys[i].timers.insert(ts);
        }
        max_ts = max_ts.max(ts);
        let next = max_ts.saturating_sub(lateness).saturating_sub(1);
        if next > wm {
            wm = next;
            for k in &mut keys {
                fire(k, wm, &mut matches, &mut timeouts);
            }
        }
    }
    for k in &mut keys {
        fire(k, i64::MAX, &mut matches, &mut timeouts);
    }
    Ok(Outcome::new(matches, timeouts))
}

/// The rule's automaton and its compiled conditions. Timed-out partial
/// matches are reported when the rule has `on timeout`, or as forced.
fn build_nfa(pattern: &PatternPlan, report_timeouts: Option<bool>) -> Result<(Nfa, Preds), RunError> {
    let graph = nfa::compile(pattern).map_err(|e| RunError::Unsupported(e.to_string()))?;
    let mut conds = HashMap::new();
    collect_conditions(&pattern.stages, &mut conds);
    let n = pattern.vars.len();
    let mut conditions = Vec::with_capacity(n);
    let mut untils = Vec::with_capacity(n);
    let mut needs_bindings = false;
    for v in 0..n as u32 {
        let (c, u) = conds.remove(&v).unwrap_or((None, None));
        for e in c.iter().chain(u.iter()) {
            needs_bindings |= reads_vars(e);
        }
        let compile = |e: Option<cepheus_dsl::plan::Expr>| -> Result<Option<CompiledExpr>, RunError> {
            e.map(|e| CompiledExpr::compile(&e).map_err(|err| RunError::Unsupported(err.to_string())))
                .transpose()
        };
        conditions.push(compile(c)?);
        untils.push(compile(u)?);
    }
    let preds = Preds {
        graph_preds: graph.predicates.clone(),
        conditions,
        untils,
        needs_bindings,
    };
    let report = report_timeouts.unwrap_or(pattern.on_timeout.is_some());
    Ok((Nfa::new(graph, pattern.skip.clone(), report), preds))
}
