//! Shared helpers of the `window_*` tests (included by `#[path]`): a
//! harness that drives a [`WindowOperator`] from rule text, event by event,
//! with explicit watermarks, and reads back what fired.
#![allow(dead_code)]

use std::sync::Arc;

use cepheus_alerts::Alert;
use cepheus_dsl::plan::RulePlan;
use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::record::Decoder;
use cepheus_runtime::time::parse_rfc3339;
use cepheus_runtime::window::WindowOperator;
use serde_json::{json, Value as Json};

/// Event-time stream `s`: key `k`, value `v`, time `ts` (epoch ms).
pub const STREAM: &str = "
stream s (k string, v float?, n int?, label string?, ok bool?, ts timestamp)
key k
time ts
lateness 0s;
";

/// Processing-time stream `p` (no `time`).
pub const PSTREAM: &str = "
stream p (k string, v float?, ts timestamp?)
key k;
";

pub fn plan_of(src: &str) -> RulePlan {
    let c = compile(src, &Catalog::new());
    assert!(!c.has_errors(), "{src}\n{:#?}", c.diagnostics);
    c.plans.into_iter().next().expect("a rule")
}

/// One firing as the tests look at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub key: Json,
    pub start: i64,
    pub end: i64,
    pub update: bool,
    pub fields: serde_json::Map<String, Json>,
    pub event_time: i64,
    pub id: String,
}

impl Fired {
    pub fn of(a: &Alert) -> Fired {
        let w = a.window.as_ref().expect("window alert");
        Fired {
            key: a.key.values().next().cloned().unwrap_or(Json::Null),
            start: parse_rfc3339(&w.start).expect("start"),
            end: parse_rfc3339(&w.end).expect("end"),
            update: a.update,
            fields: a.fields.clone(),
            event_time: parse_rfc3339(&a.event_time).expect("event time"),
            id: a.id.clone(),
        }
    }

    pub fn f(&self, name: &str) -> &Json {
        self.fields.get(name).unwrap_or(&Json::Null)
    }

    pub fn n(&self, name: &str) -> f64 {
        self.f(name).as_f64().unwrap_or_else(|| panic!("{name} = {:?} is not a number", self.f(name)))
    }
}

pub struct Harness {
    pub op: WindowOperator,
    decoder: Decoder,
    pub alerts: Vec<Alert>,
    offset: u64,
    max_ts: i64,
    /// When set, after every event the watermark `max ts - lag - 1`.
    pub lag: Option<i64>,
}

impl Harness {
    /// `rule` is a rule over stream `s` (event time) or `p` (processing time).
    pub fn new(rule: &str) -> Harness {
        let src = format!("{STREAM}\n{PSTREAM}\n{rule}");
        let plan = plan_of(&src);
        Harness::from_plan(&plan)
    }

    pub fn from_plan(plan: &RulePlan) -> Harness {
        Harness {
            op: WindowOperator::new(plan, 1).expect("window operator"),
            decoder: Decoder::new(&plan.stream),
            alerts: Vec::new(),
            offset: 0,
            max_ts: i64::MIN,
            lag: None,
        }
    }

    /// Watermarks follow the events: `max ts - lag - 1` after each.
    pub fn with_lag(mut self, lag: i64) -> Harness {
        self.lag = Some(lag);
        self
    }

    /// Feeds one event (a JSON object); `now_ms` for processing time.
    pub fn send_at(&mut self, event: Json, now_ms: i64) -> Vec<Fired> {
        let before = self.alerts.len();
        self.offset += 1;
        let record = self
            .decoder
            .decode_value_at(event, now_ms)
            .unwrap_or_else(|e| panic!("decode: {e}"));
        let ts = record.time();
        let ev = Arc::new(Event {
            record,
            position: Position {
                partition: 0,
                offset: self.offset,
            },
        });
        self.op.on_event(ev, now_ms, &mut self.alerts);
        if self.op.is_event_time() {
            self.max_ts = self.max_ts.max(ts);
            if let Some(lag) = self.lag {
                let wm = self.max_ts - lag - 1;
                self.op.on_watermark(wm, now_ms, &mut self.alerts);
            }
        }
        self.alerts[before..].iter().map(Fired::of).collect()
    }

    pub fn send(&mut self, event: Json) -> Vec<Fired> {
        self.send_at(event, 0)
    }

    /// `{k, ts, v}`.
    pub fn ev(&mut self, k: &str, ts: i64, v: f64) -> Vec<Fired> {
        self.send(json!({"k": k, "ts": ts, "v": v}))
    }

    pub fn watermark(&mut self, wm: i64) -> Vec<Fired> {
        let before = self.alerts.len();
        self.op.on_watermark(wm, 0, &mut self.alerts);
        self.alerts[before..].iter().map(Fired::of).collect()
    }

    pub fn clock(&mut self, t: i64) -> Vec<Fired> {
        let before = self.alerts.len();
        self.op.on_processing_time(t, 0, &mut self.alerts);
        self.alerts[before..].iter().map(Fired::of).collect()
    }

    /// The final watermark (event time) or clock (processing time).
    pub fn finish(&mut self) -> Vec<Fired> {
        let before = self.alerts.len();
        self.op.on_watermark(i64::MAX, 0, &mut self.alerts);
        self.op.on_processing_time(i64::MAX, 0, &mut self.alerts);
        self.alerts[before..].iter().map(Fired::of).collect()
    }

    pub fn fired(&self) -> Vec<Fired> {
        self.alerts.iter().map(Fired::of).collect()
    }
}

/// `(start, end, count)` of firings, for compact assertions on rules that
/// emit `count() as n`.
pub fn spans(f: &[Fired]) -> Vec<(i64, i64, i64)> {
    f.iter()
        .map(|x| (x.start, x.end, x.f("n").as_i64().expect("n")))
        .collect()
}
