//! Bounded runs: a file of events through a set of rules, ending with a final
//! watermark at +infinity. This is `cepheus run` and, later, backtests: the
//! same operators as the live service, so the same alerts.

use std::io::BufRead;
use std::sync::Arc;

use cepheus_alerts::Alert;
use cepheus_dsl::plan::{RuleBody, RulePlan, StreamSchema};
use thiserror::Error;

use crate::event::{Event, Position};
use crate::pattern::{BuildError, PatternOperator};
use crate::record::Decoder;
use crate::window::WindowOperator;

#[derive(Debug, Error)]
pub enum BatchError {
    #[error("no rules to run")]
    NoRules,
    #[error("the rules read several streams ({0}); say which stream the events belong to")]
    SeveralStreams(String),
    #[error("no rule reads stream '{0}'")]
    UnknownStream(String),
    /// No longer produced: aggregation rules run through the window operator.
    #[error("rule '{0}' is an aggregation rule; batch runs execute pattern rules only in this version")]
    WindowRule(String),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    WindowBuild(#[from] crate::window::BuildError),
    #[error("reading events: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The stream the events belong to; needed only when rules read several.
    pub stream: Option<String>,
    /// `detected_at` of every alert, and the processing time of events of
    /// streams without a `time` field. Fixed, so runs are reproducible.
    pub now_ms: i64,
    /// The version alerts name.
    pub rule_version: u64,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            stream: None,
            now_ms: 0,
            rule_version: 1,
        }
    }
}

/// A line that could not be decoded: counted and reported, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// 1-based line number.
    pub line: u64,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct BatchOutput {
    pub alerts: Vec<Alert>,
    pub malformed: Vec<Malformed>,
    pub events: u64,
    /// Events dropped for being late: behind the watermark for a pattern
    /// rule, past every window's allowed lateness for an aggregation rule.
    pub late_events: u64,
}

/// The operator of one rule.
enum Operator {
    Pattern(PatternOperator),
    Window(WindowOperator),
}

impl Operator {
    fn on_event(&mut self, event: crate::event::EventRef, now_ms: i64, out: &mut Vec<Alert>) {
        match self {
            Operator::Pattern(op) => op.on_event(event, now_ms, out),
            Operator::Window(op) => op.on_event(event, now_ms, out),
        }
    }

    fn on_watermark(&mut self, wm: i64, now_ms: i64, out: &mut Vec<Alert>) {
        match self {
            Operator::Pattern(op) => op.on_watermark(wm, now_ms, out),
            Operator::Window(op) => op.on_watermark(wm, now_ms, out),
        }
    }

    /// The end of a bounded input: event time and (for windows on processing
    /// time) the clock go to +infinity.
    fn finish(&mut self, now_ms: i64, out: &mut Vec<Alert>) {
        match self {
            Operator::Pattern(op) => op.on_watermark(i64::MAX, now_ms, out),
            Operator::Window(op) => {
                op.on_watermark(i64::MAX, now_ms, out);
                op.on_processing_time(i64::MAX, now_ms, out);
            }
        }
    }

    fn late_events(&self) -> u64 {
        match self {
            Operator::Pattern(op) => op.stats().late_events,
            Operator::Window(op) => op.stats().dropped_late,
        }
    }
}

/// Runs `plans` over NDJSON events from `input`.
pub fn run_batch(plans: &[RulePlan], input: impl BufRead, opts: &BatchOptions) -> Result<BatchOutput, BatchError> {
    let schema = pick_stream(plans, opts.stream.as_deref())?;
    let mut operators = Vec::new();
    for p in plans.iter().filter(|p| p.stream.name == schema.name) {
        match &p.body {
            RuleBody::Pattern(_) => operators.push(Operator::Pattern(PatternOperator::new(p, opts.rule_version)?)),
            RuleBody::Window(_) => operators.push(Operator::Window(WindowOperator::new(p, opts.rule_version)?)),
        }
    }
    let decoder = Decoder::new(&schema);
    let mut out = BatchOutput::default();
    let mut max_ts = i64::MIN;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let record = match decoder.decode_at(line.as_bytes(), opts.now_ms) {
            Ok(r) => r,
            Err(e) => {
                out.malformed.push(Malformed {
                    line: line_no,
                    error: e.to_string(),
                });
                continue;
            }
        };
        out.events += 1;
        let event = Arc::new(Event {
            record,
            position: Position {
                partition: 0,
                offset: line_no,
            },
        });
        max_ts = max_ts.max(event.time());
        for op in &mut operators {
            op.on_event(Arc::clone(&event), opts.now_ms, &mut out.alerts);
        }
        if schema.time.is_some() {
            // Bounded out-of-orderness, as Flink's: max seen - lateness - 1.
            let wm = max_ts.saturating_sub(schema.lateness_ms as i64).saturating_sub(1);
            for op in &mut operators {
                op.on_watermark(wm, opts.now_ms, &mut out.alerts);
            }
        }
    }
    for op in &mut operators {
        op.finish(opts.now_ms, &mut out.alerts);
        out.late_events += op.late_events();
    }
    Ok(out)
}

fn pick_stream(plans: &[RulePlan], wanted: Option<&str>) -> Result<StreamSchema, BatchError> {
    let first = plans.first().ok_or(BatchError::NoRules)?;
    match wanted {
        Some(name) => plans
            .iter()
            .find(|p| p.stream.name == name)
            .map(|p| p.stream.clone())
            .ok_or_else(|| BatchError::UnknownStream(name.to_string())),
        None => {
            let mut names: Vec<&str> = plans.iter().map(|p| p.stream.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            if names.len() > 1 {
                return Err(BatchError::SeveralStreams(names.join(", ")));
            }
            Ok(first.stream.clone())
        }
    }
}
