//! The operator of one rule inside a partition task, built from its plan
//! through a small registry keyed by the plan's kind.

use cepheus_alerts::Alert;
use cepheus_dsl::plan::{RuleBody, RulePlan};

use crate::checkpoint::Snapshot;
use crate::event::EventRef;
use crate::pattern::PatternOperator;
use crate::window::WindowOperator;

/// Per-key limits applied to every operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_partial_matches_per_key: Option<usize>,
    pub max_open_windows_per_key: Option<usize>,
}

pub enum Operator {
    Pattern(PatternOperator),
    Window(WindowOperator),
}

type Builder = fn(&RulePlan, u64, &Limits) -> Result<Operator, String>;

/// Plan kind -> how to build its operator.
const REGISTRY: &[(&str, Builder)] = &[
    ("pattern", |plan, version, limits| {
        PatternOperator::new(plan, version)
            .map(|op| Operator::Pattern(op.with_max_partial_matches(limits.max_partial_matches_per_key)))
            .map_err(|e| e.to_string())
    }),
    ("window", |plan, version, limits| {
        WindowOperator::new(plan, version)
            .map(|op| Operator::Window(op.with_max_open_windows(limits.max_open_windows_per_key)))
            .map_err(|e| e.to_string())
    }),
];

/// The registry key of a plan.
pub fn plan_kind(plan: &RulePlan) -> &'static str {
    match plan.body {
        RuleBody::Pattern(_) => "pattern",
        RuleBody::Window(_) => "window",
    }
}

/// Counters of an operator, as the task reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounters {
    pub matches: u64,
    pub late: u64,
    /// Partial matches or events dropped by a per-key limit.
    pub limited: u64,
}

impl Operator {
    pub fn build(plan: &RulePlan, version: u64, limits: &Limits) -> Result<Operator, String> {
        let kind = plan_kind(plan);
        let (_, build) = REGISTRY
            .iter()
            .find(|(k, _)| *k == kind)
            .ok_or_else(|| format!("no operator for rules of kind '{kind}'"))?;
        build(plan, version, limits)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Operator::Pattern(_) => "pattern",
            Operator::Window(_) => "window",
        }
    }

    #[inline]
    pub fn on_event(&mut self, event: &EventRef, now_ms: i64, out: &mut Vec<Alert>) {
        match self {
            Operator::Pattern(op) => op.on_event(EventRef::clone(event), now_ms, out),
            Operator::Window(op) => op.on_record(&event.record, event.position, now_ms, out),
        }
    }

    #[inline]
    pub fn on_watermark(&mut self, wm: i64, now_ms: i64, out: &mut Vec<Alert>) {
        match self {
            Operator::Pattern(op) => op.on_watermark(wm, now_ms, out),
            Operator::Window(op) => op.on_watermark(wm, now_ms, out),
        }
    }

    /// Processing-time streams: the clock moved to `clock_ms`.
    pub fn on_processing_time(&mut self, clock_ms: i64, now_ms: i64, out: &mut Vec<Alert>) {
        match self {
            // Without event time the pattern operator's timers (`within`)
            // are on the processing-time clock.
            Operator::Pattern(op) => op.on_watermark(clock_ms, now_ms, out),
            Operator::Window(op) => op.on_processing_time(clock_ms, now_ms, out),
        }
    }

    pub fn counters(&self) -> OpCounters {
        match self {
            Operator::Pattern(op) => {
                let s = op.stats();
                OpCounters {
                    matches: s.matches,
                    late: s.late_events,
                    limited: s.dropped_partial_matches,
                }
            }
            Operator::Window(op) => {
                let s = op.stats();
                OpCounters {
                    matches: s.windows_fired,
                    late: s.dropped_late,
                    limited: s.dropped_window_limit,
                }
            }
        }
    }

    pub fn partial_matches(&self) -> usize {
        match self {
            Operator::Pattern(op) => op.partial_matches(),
            Operator::Window(_) => 0,
        }
    }

    pub fn open_windows(&self) -> usize {
        match self {
            Operator::Pattern(_) => 0,
            Operator::Window(op) => op.open_windows(),
        }
    }

    /// The checkpointable view, if the operator supports checkpoints.
    pub fn snapshot(&self) -> Option<&dyn Snapshot> {
        match self {
            Operator::Pattern(op) => Some(op),
            // The window operator has no snapshot format yet: its state
            // starts empty after a restore (reported in the engine status).
            Operator::Window(_) => None,
        }
    }

    pub fn snapshot_mut(&mut self) -> Option<&mut dyn Snapshot> {
        match self {
            Operator::Pattern(op) => Some(op),
            Operator::Window(_) => None,
        }
    }
}
