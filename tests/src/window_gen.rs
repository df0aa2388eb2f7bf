//! Window rules against Flink's own window operator.
//!
//! - [`generate`] makes a random, seeded [`WindowCase`]: a keyed stream with
//!   out-of-order and late events, one aggregation rule (every window kind,
//!   every exact aggregate, with and without `allow lateness`);
//! - [`WindowCase::rule_source`] writes it in our DSL, [`run_cepheus`] runs it
//!   through `cepheus_dsl::compile` and `cepheus_runtime::batch::run_batch`
//!   (`cepheus run`: a watermark `max ts - lateness - 1` after every event, a
//!   final one at +infinity);
//! - [`WindowPeer`] runs the same cases through Flink's `WindowOperator` (the
//!   Java peer `cepheus.peer.window.Main` in `peers/flinkcep/`, see its
//!   README, "Window peer"), all in one JVM, with the same watermark schedule;
//! - [`compare`] says how two [`Outcome`]s differ; [`shrink`] drops events
//!   (and aggregates) while a difference remains.
//!
//! The semantics both sides must agree on (percentile rank, stddev, first/last,
//! nulls, `update`, dropped events) are written in the peer's README.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use cepheus_dsl::Catalog;
use cepheus_runtime::batch::{run_batch, BatchError, BatchOptions};
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------

/// SplitMix64: small, seedable, the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Tumbling { size_ms: u64 },
    Sliding { size_ms: u64, slide_ms: u64 },
    Session { gap_ms: u64 },
    Count { size: u64, slide: Option<u64> },
}

impl Window {
    pub fn kind(&self) -> &'static str {
        match self {
            Window::Tumbling { .. } => "tumbling",
            Window::Sliding { .. } => "sliding",
            Window::Session { .. } => "session",
            Window::Count { slide: None, .. } => "count",
            Window::Count { slide: Some(_), .. } => "count-every",
        }
    }

    pub fn is_count(&self) -> bool {
        matches!(self, Window::Count { .. })
    }

    fn dsl(&self) -> String {
        match *self {
            Window::Tumbling { size_ms } => format!("tumbling {}", dur(size_ms)),
            Window::Sliding { size_ms, slide_ms } => format!("sliding {} every {}", dur(size_ms), dur(slide_ms)),
            Window::Session { gap_ms } => format!("session gap {}", dur(gap_ms)),
            Window::Count { size, slide: None } => format!("count {size}"),
            Window::Count { size, slide: Some(s) } => format!("count {size} every {s}"),
        }
    }

    fn peer(&self) -> Json {
        match *self {
            Window::Tumbling { size_ms } => json!({"kind": "tumbling", "size_ms": size_ms}),
            Window::Sliding { size_ms, slide_ms } => {
                json!({"kind": "sliding", "size_ms": size_ms, "slide_ms": slide_ms})
            }
            Window::Session { gap_ms } => json!({"kind": "session", "gap_ms": gap_ms}),
            Window::Count { size, slide } => json!({"kind": "count", "size": size, "slide": slide}),
        }
    }
}

/// A duration as the DSL writes it (`2s`, `1m`, `750ms`).
fn dur(ms: u64) -> String {
    if ms > 0 && ms / 60_000 * 60_000 == ms {
        format!("{}m", ms / 60_000)
    } else if ms > 0 && ms / 1000 * 1000 == ms {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Func {
    Count,
    CountNonNull,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Stddev,
    First,
    Last,
    Percentile,
}

pub const FUNCS: [Func; 11] = [
    Func::Count,
    Func::CountNonNull,
    Func::CountDistinct,
    Func::Sum,
    Func::Avg,
    Func::Min,
    Func::Max,
    Func::Stddev,
    Func::First,
    Func::Last,
    Func::Percentile,
];

impl Func {
    /// The peer's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Func::Count => "count",
            Func::CountNonNull => "count_nonnull",
            Func::CountDistinct => "count_distinct",
            Func::Sum => "sum",
            Func::Avg => "avg",
            Func::Min => "min",
            Func::Max => "max",
            Func::Stddev => "stddev",
            Func::First => "first",
            Func::Last => "last",
            Func::Percentile => "percentile",
        }
    }

    /// Fields of the test stream it may aggregate (`v` twice: the float field is
    /// the interesting one).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Func::Count => &[],
            Func::Sum | Func::Avg | Func::Stddev | Func::Percentile => &["v", "v", "n"],
            _ => &["v", "v", "n", "tag"],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub func: Func,
    pub field: Option<&'static str>,
    pub q: Option<f64>,
}

impl Agg {
    fn dsl(&self) -> String {
        match (self.func, self.field) {
            (Func::Count, _) => "count()".into(),
            (Func::CountNonNull, Some(f)) => format!("count({f})"),
            (Func::Percentile, Some(f)) => format!("percentile({f}, {:?})", self.q.unwrap_or(0.5)),
            (func, Some(f)) => format!("{}({f})", func.name()),
            (func, None) => format!("{}()", func.name()),
        }
    }

    fn peer(&self) -> Json {
        let mut o = json!({"func": self.func.name()});
        if let Some(f) = self.field {
            o["field"] = json!(f);
        }
        if let Some(q) = self.q {
            o["q"] = json!(q);
        }
        o
    }
}

/// One event of the test stream
/// `(id int, key string, v float?, n int?, tag string?, ts timestamp)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    pub id: i64,
    pub key: String,
    pub ts: i64,
    pub v: Option<f64>,
    pub n: Option<i64>,
    pub tag: Option<String>,
}

impl Ev {
    pub fn to_json(&self) -> Json {
        json!({"id": self.id, "key": self.key, "ts": self.ts, "v": self.v, "n": self.n, "tag": self.tag})
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowCase {
    /// `seed/index`, for the report.
    pub name: String,
    pub window: Window,
    /// `allow lateness` (0 = not written).
    pub allowed_lateness_ms: u64,
    /// The stream's `lateness`: the watermark is `max ts - lag - 1`.
    pub lag_ms: u64,
    pub aggs: Vec<Agg>,
    pub events: Vec<Ev>,
}

/// The epoch-millisecond origin of generated timestamps.
pub const BASE_TS: i64 = 1_700_000_000_000;

impl WindowCase {
    /// The case as a self-contained rule file of our DSL.
    pub fn rule_source(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "stream ev (id int, key string, v float?, n int?, tag string?, ts timestamp)");
        let _ = writeln!(s, "key key");
        let _ = writeln!(s, "time ts");
        let _ = writeln!(s, "lateness {};", dur(self.lag_ms));
        let _ = writeln!(s);
        let _ = writeln!(s, "rule r {{");
        let _ = writeln!(s, "  from ev");
        let _ = writeln!(s, "  partition by key");
        let _ = writeln!(s, "  window {}", self.window.dsl());
        if self.allowed_lateness_ms > 0 {
            let _ = writeln!(s, "  allow lateness {}", dur(self.allowed_lateness_ms));
        }
        let mut emit: Vec<String> = self
            .aggs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{} as a{i}", a.dsl()))
            .collect();
        if !self.window.is_count() {
            emit.push("window.start as ws".into());
            emit.push("window.end as we".into());
        }
        let _ = writeln!(s, "  emit {}", emit.join(", "));
        let _ = writeln!(s, "}}");
        s
    }

    /// The case in the peer's input format (`"case"` is set by [`WindowPeer::run`]).
    pub fn peer_json(&self) -> Json {
        json!({
            "case": self.name,
            "window": self.window.peer(),
            "allowed_lateness_ms": self.allowed_lateness_ms,
            "watermark": {"lag_ms": self.lag_ms},
            "aggregates": self.aggs.iter().map(Agg::peer).collect::<Vec<_>>(),
            "events": self.events.iter().map(Ev::to_json).collect::<Vec<_>>(),
        })
    }

    /// The events as NDJSON, the input of `run_batch`.
    pub fn events_ndjson(&self) -> String {
        let mut s = String::new();
        for e in &self.events {
            s.push_str(&e.to_json().to_string());
            s.push('\n');
        }
        s
    }

    /// Events whose timestamp is below the largest earlier one.
    pub fn out_of_order(&self) -> usize {
        let mut max = i64::MIN;
        let mut n = 0;
        for e in &self.events {
            if e.ts < max {
                n += 1;
            }
            max = max.max(e.ts);
        }
        n
    }
}

/// A random case. `index` picks the window kind and one aggregate function
/// round-robin, so that any 44 consecutive cases cover every pair of (window
/// kind, lateness on/off) and every function.
pub fn generate(rng: &mut Rng, name: String, index: usize) -> WindowCase {
    // Window (and the time scale of the case).
    let window = match index % 5 {
        0 => Window::Tumbling {
            size_ms: rng.pick(&[10, 25, 37, 100, 250, 1000, 3000, 60_000]),
        },
        1 => {
            let slide = rng.pick(&[5u64, 10, 30, 50, 100, 1000]);
            let factor = rng.pick(&[1u64, 2, 3, 4, 6]);
            let extra = if rng.chance(0.3) { rng.below(slide) } else { 0 };
            Window::Sliding {
                size_ms: slide * factor + extra,
                slide_ms: slide,
            }
        }
        2 => Window::Session {
            gap_ms: rng.pick(&[5, 20, 50, 100, 1000, 2000]),
        },
        3 => {
            let size = rng.range(1, 6) as u64;
            Window::Count { size, slide: None }
        }
        _ => {
            let size = rng.range(1, 6) as u64;
            Window::Count {
                size,
                slide: Some(rng.range(1, size as i64) as u64),
            }
        }
    };
    let scale: i64 = match window {
        Window::Tumbling { size_ms } => size_ms as i64,
        Window::Sliding { slide_ms, .. } => (slide_ms * 2) as i64,
        Window::Session { gap_ms } => gap_ms as i64,
        Window::Count { .. } => rng.pick(&[10, 100, 1000]),
    };
    // Lateness: on for about half of the time windows (cycling with index / 5).
    let with_lateness = !window.is_count() && (index / 5) % 2 == 1;
    let allowed_lateness_ms = if with_lateness {
        rng.range(1, 2 * scale) as u64
    } else {
        0
    };
    let lag_ms = match rng.below(4) {
        0 => 0,
        1 => rng.range(1, (scale / 4).max(1)) as u64,
        _ => rng.range(0, scale) as u64,
    };

    // Aggregates: the round-robin one, then a few random ones.
    let mut aggs = Vec::new();
    let n_aggs = rng.range(1, 5) as usize;
    for i in 0..n_aggs {
        let func = if i == 0 {
            FUNCS[(index / 2) % FUNCS.len()]
        } else {
            rng.pick(&FUNCS)
        };
        let field = if func == Func::Count {
            None
        } else {
            Some(rng.pick(func.fields()))
        };
        let q = (func == Func::Percentile).then(|| rng.pick(&[0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]));
        aggs.push(Agg { func, field, q });
    }
    if rng.chance(0.5) && !aggs.iter().any(|a| a.func == Func::Count) {
        aggs.push(Agg {
            func: Func::Count,
            field: None,
            q: None,
        });
    }

    // Events.
    let n_keys = rng.pick(&[1, 2, 2, 3, 4]);
    let n_events = match rng.below(10) {
        0 => rng.range(1, 4),
        1..=7 => rng.range(5, 30),
        _ => rng.range(30, 60),
    } as usize;
    let disorder = rng.pick(&[0.0, 0.1, 0.25, 0.4]);
    // Values: mostly multiples of 1/4 (exact binary fractions: sums are exact on
    // both sides); sometimes from a small palette, so count_distinct sees
    // repeats; sometimes decimals (k/100, not exact in binary), possibly around a
    // large offset, so that float accumulation meets the 1e-9 tolerance.
    let palette: Option<Vec<f64>> = rng
        .chance(0.3)
        .then(|| (0..rng.range(1, 4)).map(|_| rng.range(-8, 8) as f64 / 4.0).collect());
    let decimals: Option<f64> = (palette.is_none() && rng.chance(0.3)).then(|| rng.pick(&[0.0, 0.0, 1000.0, 1e6]));
    let tags = ["a", "b", "c", "ab", "B", "zz", ""];
    let null_p = rng.pick(&[0.0, 0.15, 0.5]);
    let start = BASE_TS + rng.range(0, 10 * scale.max(1));
    let mut clock = start;
    let mut events = Vec::with_capacity(n_events);
    for i in 0..n_events {
        // The "true" time moves on by 0..scale/2 (sometimes not at all: equal timestamps).
        if i > 0 && !rng.chance(0.1) {
            clock += rng.range(0, (scale / 2).max(1));
        }
        if rng.chance(0.03) {
            clock += rng.range(scale, 5 * scale.max(1)); // a quiet spell: sessions end
        }
        let mut ts = clock;
        if i > 0 && rng.chance(disorder) {
            // Out of order: behind by up to the watermark lag + allowed lateness + two
            // scales, so some are in time, some late but allowed, some dropped.
            let reach = lag_ms as i64 + allowed_lateness_ms as i64 + 2 * scale;
            ts = clock - rng.range(1, reach.max(1));
        }
        let v = if rng.chance(null_p) {
            None
        } else if let Some(p) = &palette {
            Some(rng.pick(p))
        } else if let Some(offset) = decimals {
            Some(offset + rng.range(-5000, 5000) as f64 / 100.0)
        } else {
            Some(rng.range(-80, 80) as f64 / 4.0)
        };
        let n = (!rng.chance(null_p)).then(|| rng.range(-50, 50));
        let tag = (!rng.chance(null_p)).then(|| rng.pick(&tags).to_string());
        events.push(Ev {
            id: i as i64 + 1,
            key: format!("k{}", rng.below(n_keys)),
            ts,
            v,
            n,
            tag,
        });
    }
    WindowCase {
        name,
        window,
        allowed_lateness_ms,
        lag_ms,
        aggs,
        events,
    }
}

// ---------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------

/// One firing of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Fire {
    pub key: Option<String>,
    /// Time windows: the bounds, `[start, end)`. Count windows: `None`.
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Fired before (a late event re-fired it).
    pub update: bool,
    /// One per aggregate, in the case's order.
    pub values: Vec<Json>,
    /// The peer only: the input position during which it fired (events.len() =
    /// the final watermark).
    pub at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// In firing order.
    pub fires: Vec<Fire>,
    /// Events dropped as too late (all their windows past end + allowed lateness).
    pub late_dropped: u64,
    /// The peer only: ids of the dropped events.
    pub late_ids: Vec<i64>,
}

impl Outcome {
    pub fn updates(&self) -> usize {
        self.fires.iter().filter(|f| f.update).count()
    }
}

/// Why Cepheus did not run a case.
#[derive(Debug, Clone, PartialEq)]
pub enum CepheusError {
    /// The DSL checker rejected the rule (a bug in the generator or the checker).
    Rejected(String),
    /// `run_batch` does not run window rules (yet).
    Unsupported(String),
    /// It ran and failed (an error or a panic).
    Failed(String),
}

impl std::fmt::Display for CepheusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CepheusError::Rejected(s) => write!(f, "rejected by the checker:\n{s}"),
            CepheusError::Unsupported(s) => write!(f, "not supported: {s}"),
            CepheusError::Failed(s) => write!(f, "failed: {s}"),
        }
    }
}

/// Compiles the case's rule (DSL -> checker -> plan) and runs it with
/// `cepheus_runtime::batch::run_batch`.
pub fn run_cepheus(case: &WindowCase) -> Result<Outcome, CepheusError> {
    let src = case.rule_source();
    let compiled = cepheus_dsl::compile(&src, &Catalog::new());
    if compiled.has_errors() {
        return Err(CepheusError::Rejected(cepheus_dsl::diagnostic::render(
            "rule.cep",
            &src,
            &compiled.diagnostics,
        )));
    }
    let plans = compiled.plans;
    let input = case.events_ndjson();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_batch(&plans, input.as_bytes(), &BatchOptions::default())
    }));
    let out = match result {
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-string panic)".into());
            return Err(CepheusError::Failed(format!("run_batch panicked: {msg}")));
        }
        Ok(Err(e @ BatchError::WindowRule(_))) => return Err(CepheusError::Unsupported(e.to_string())),
        Ok(Err(e)) => return Err(CepheusError::Failed(e.to_string())),
        Ok(Ok(out)) => out,
    };
    if let Some(m) = out.malformed.first() {
        return Err(CepheusError::Failed(format!(
            "{} events could not be decoded; line {}: {}",
            out.malformed.len(),
            m.line,
            m.error
        )));
    }
    let mut fires = Vec::with_capacity(out.alerts.len());
    for a in &out.alerts {
        let key = a.key.get("key").map(|k| match k {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        });
        let (start, end) = if case.window.is_count() {
            (None, None)
        } else {
            let bound = |from_window: Option<&str>, field: &str| -> Result<i64, CepheusError> {
                let parsed = from_window
                    .and_then(cepheus_runtime::time::parse_rfc3339)
                    .or_else(|| match a.fields.get(field) {
                        Some(Json::String(s)) => cepheus_runtime::time::parse_rfc3339(s),
                        Some(Json::Number(n)) => n.as_i64(),
                        _ => None,
                    });
                parsed.ok_or_else(|| {
                    CepheusError::Failed(format!(
                        "alert without window bounds (window = {:?}, {field} = {:?})",
                        a.window,
                        a.fields.get(field)
                    ))
                })
            };
            (
                Some(bound(a.window.as_ref().map(|w| w.start.as_str()), "ws")?),
                Some(bound(a.window.as_ref().map(|w| w.end.as_str()), "we")?),
            )
        };
        let values = (0..case.aggs.len())
            .map(|i| a.fields.get(&format!("a{i}")).cloned().unwrap_or(Json::Null))
            .collect();
        fires.push(Fire {
            key,
            start,
            end,
            update: a.update,
            values,
            at: None,
        });
    }
    Ok(Outcome {
        fires,
        late_dropped: out.late_events,
        late_ids: Vec::new(),
    })
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// Floats within 1e-9 relative; numbers compare by value (3 = 3.0).
pub fn values_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        _ => a == b,
    }
}

fn fmt_values(v: &[Json]) -> String {
    let parts: Vec<String> = v.iter().map(Json::to_string).collect();
    format!("[{}]", parts.join(", "))
}

type WindowId = (Option<String>, Option<i64>, Option<i64>);

/// Firings grouped by (key, window): for time windows the firings of each
/// window in order (first firing, then updates); for count windows the key's
/// firings in order (the window id is `(key, None, None)`).
fn grouped(o: &Outcome) -> BTreeMap<WindowId, Vec<&Fire>> {
    let mut m: BTreeMap<WindowId, Vec<&Fire>> = BTreeMap::new();
    for f in &o.fires {
        m.entry((f.key.clone(), f.start, f.end)).or_default().push(f);
    }
    m
}

fn window_name(case: &WindowCase, id: &WindowId) -> String {
    let key = id.0.as_deref().unwrap_or("<none>");
    match (id.1, id.2) {
        (Some(s), Some(e)) => format!(
            "key {key} window [{s}, {e}) (= BASE{:+}..BASE{:+})",
            s - BASE_TS,
            e - BASE_TS
        ),
        _ => format!("key {key} {} window", case.window.dsl()),
    }
}

/// The differences between our outcome and Flink's; empty = the same.
///
/// Compared: the number of dropped events; per key and window, the sequence of
/// its firings (first firing, then each update) with their `update` flag and
/// values. Not compared: the interleaving of different windows' firings (Flink's
/// order across keys and across windows fired by one watermark comes from its
/// timer queue and means nothing).
pub fn compare(case: &WindowCase, ours: &Outcome, flink: &Outcome) -> Vec<String> {
    let mut diffs = Vec::new();
    if ours.late_dropped != flink.late_dropped {
        diffs.push(format!(
            "dropped late events: cepheus {}, flink {} (flink dropped ids {:?})",
            ours.late_dropped, flink.late_dropped, flink.late_ids
        ));
    }
    let a = grouped(ours);
    let b = grouped(flink);
    let ids: BTreeSet<&WindowId> = a.keys().chain(b.keys()).collect();
    let empty = Vec::new();
    for id in ids {
        let fa = a.get(id).unwrap_or(&empty);
        let fb = b.get(id).unwrap_or(&empty);
        let name = window_name(case, id);
        if fa.is_empty() {
            diffs.push(format!("{name}: flink fired it {} time(s), cepheus never", fb.len()));
            continue;
        }
        if fb.is_empty() {
            diffs.push(format!("{name}: cepheus fired it {} time(s), flink never", fa.len()));
            continue;
        }
        if fa.len() != fb.len() {
            diffs.push(format!(
                "{name}: cepheus fired it {} time(s), flink {} time(s)",
                fa.len(),
                fb.len()
            ));
        }
        for (i, (x, y)) in fa.iter().zip(fb.iter()).enumerate() {
            let same_values =
                x.values.len() == y.values.len() && x.values.iter().zip(&y.values).all(|(p, q)| values_equal(p, q));
            if !same_values {
                let which: Vec<String> = (0..x.values.len().max(y.values.len()))
                    .filter(|&j| match (x.values.get(j), y.values.get(j)) {
                        (Some(p), Some(q)) => !values_equal(p, q),
                        _ => true,
                    })
                    .map(|j| match case.aggs.get(j) {
                        Some(agg) => format!("a{j} = {}", agg.dsl()),
                        None => format!("a{j}"),
                    })
                    .collect();
                diffs.push(format!(
                    "{name}, firing #{i}: values differ in {}: cepheus {}, flink {}",
                    which.join(", "),
                    fmt_values(&x.values),
                    fmt_values(&y.values)
                ));
            }
            if !case.window.is_count() && x.update != y.update {
                diffs.push(format!(
                    "{name}, firing #{i}: update flag: cepheus {}, flink {}",
                    x.update, y.update
                ));
            }
        }
    }
    diffs
}

// ---------------------------------------------------------------------------
// The peer
// ---------------------------------------------------------------------------

/// Flink's window operator behind `cepheus.peer.window.Main`.
#[derive(Debug, Clone)]
pub struct WindowPeer {
    java: PathBuf,
    classpath: String,
}

/// What the peer said about one case.
#[derive(Debug, Clone)]
pub struct PeerAnswer {
    pub outcome: Outcome,
    /// Flink (or the peer's parsing) threw.
    pub error: Option<String>,
    /// Peer-side wall time of the case.
    pub elapsed_ms: Option<f64>,
}

/// `tests/peers/flinkcep`.
pub fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers").join("flinkcep")
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn find_java() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let p = PathBuf::from(home).join("bin").join("java");
        if p.is_file() {
            return Some(p);
        }
    }
    on_path("java")
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `build.sh` (it rebuilds only when `pom.xml` or `src/` changed) and
/// returns the classpath file it reports.
fn build(dir: &Path) -> Result<PathBuf, String> {
    let script = dir.join("build.sh");
    if !script.is_file() {
        return Err(format!("{} does not exist", script.display()));
    }
    if on_path("mvn").is_none() && !dir.join("target").join("classpath.txt").is_file() {
        return Err("Maven (`mvn`) is not on PATH and the peer has not been built".into());
    }
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 40)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let cp = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEER_CLASSPATH_FILE="))
        .ok_or_else(|| format!("{} printed no PEER_CLASSPATH_FILE:\n{stdout}", script.display()))?;
    Ok(PathBuf::from(cp.trim()))
}

impl WindowPeer {
    /// Finds Java and the peer, building it if needed.
    pub fn locate() -> Result<WindowPeer, String> {
        let dir = peer_dir();
        if !dir.join("pom.xml").is_file() {
            return Err(format!("the Flink peer is not at {}", dir.display()));
        }
        if !dir
            .join("src/main/java/cepheus/peer/window/Main.java")
            .is_file()
        {
            return Err(format!("the window peer's sources are not in {}", dir.display()));
        }
        let java = find_java().ok_or("Java (`java`, 17+) is not on PATH and JAVA_HOME is not set")?;
        let cp = build(&dir)?;
        let classpath = fs::read_to_string(&cp)
            .map_err(|e| format!("reading {}: {e}", cp.display()))?
            .trim()
            .to_string();
        Ok(WindowPeer { java, classpath })
    }

    /// Runs all cases in one JVM; one answer per case, in order.
    pub fn run(&self, cases: &[WindowCase]) -> Result<Vec<PeerAnswer>, String> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let path = std::env::temp_dir().join(format!(
            "cepheus-window-peer-{}-{}.jsonl",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        {
            let mut f = std::io::BufWriter::new(
                fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?,
            );
            for (i, c) in cases.iter().enumerate() {
                let mut j = c.peer_json();
                j["case"] = json!(i);
                serde_json::to_writer(&mut f, &j).map_err(|e| e.to_string())?;
                f.write_all(b"\n").map_err(|e| e.to_string())?;
            }
            f.flush().map_err(|e| e.to_string())?;
        }
        let output = Command::new(&self.java)
            .args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp"])
            .arg(&self.classpath)
            .arg("cepheus.peer.window.Main")
            .arg("--timing")
            .arg(&path)
            .stdin(Stdio::null())
            .output();
        let _ = fs::remove_file(&path);
        let output = output.map_err(|e| format!("could not start {}: {e}", self.java.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "the window peer exited with {}:\n{}",
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), 40)
            ));
        }
        let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != cases.len() {
            return Err(format!(
                "the window peer answered {} lines for {} cases; stderr:\n{}",
                lines.len(),
                cases.len(),
                tail(&String::from_utf8_lossy(&output.stderr), 40)
            ));
        }
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| parse_answer(i, l, &cases[i]))
            .collect()
    }
}

fn parse_answer(i: usize, line: &str, case: &WindowCase) -> Result<PeerAnswer, String> {
    let v: Json = serde_json::from_str(line).map_err(|e| format!("peer line {i} is not JSON ({e}): {line}"))?;
    if v.get("case").and_then(Json::as_u64) != Some(i as u64) {
        return Err(format!("peer line {i} answers case {:?}", v.get("case")));
    }
    let mut fires = Vec::new();
    for f in v.get("firings").and_then(Json::as_array).into_iter().flatten() {
        let values = f
            .get("values")
            .and_then(Json::as_array)
            .cloned()
            .ok_or_else(|| format!("peer line {i}: firing without values: {f}"))?;
        fires.push(Fire {
            key: f.get("key").and_then(Json::as_str).map(str::to_string),
            start: if case.window.is_count() { None } else { f.get("start").and_then(Json::as_i64) },
            end: if case.window.is_count() { None } else { f.get("end").and_then(Json::as_i64) },
            update: f.get("update").and_then(Json::as_bool).unwrap_or(false),
            values,
            at: f.get("at").and_then(Json::as_u64),
        });
    }
    Ok(PeerAnswer {
        outcome: Outcome {
            fires,
            late_dropped: v.get("late_dropped").and_then(Json::as_u64).unwrap_or(0),
            late_ids: v
                .get("late_ids")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(Json::as_i64).collect())
                .unwrap_or_default(),
        },
        error: v.get("error").and_then(Json::as_str).map(str::to_string),
        elapsed_ms: v.get("elapsed_ms").and_then(Json::as_f64),
    })
}

/// The peer for a test, or `None` when it is missing and `CEPHEUS_SKIP_PEER=1`
/// (then a loud banner says the comparison did not run). Panics when it is
/// missing and skipping was not asked for.
pub fn peer_or_skip(test: &str) -> Option<WindowPeer> {
    let t0 = Instant::now();
    match WindowPeer::locate() {
        Ok(p) => {
            if t0.elapsed().as_secs() >= 2 {
                eprintln!("[{test}] peer build took {:.1}s", t0.elapsed().as_secs_f64());
            }
            Some(p)
        }
        Err(why) => {
            if std::env::var("CEPHEUS_SKIP_PEER").is_ok_and(|v| v == "1") {
                let bar = "!".repeat(78);
                eprintln!(
                    "\n{bar}\n!!! {test}: SKIPPING the Flink window peer (CEPHEUS_SKIP_PEER=1)\n!!! reason: {why}\n!!! The comparison with Flink's window operator did NOT run.\n{bar}\n"
                );
                println!("{test}: Flink window peer SKIPPED (CEPHEUS_SKIP_PEER=1): {why}");
                None
            } else {
                panic!(
                    "{test}: the Flink window peer is not available: {why}\n\
                     Install Java 17 and Maven (CI does), or set CEPHEUS_SKIP_PEER=1 to skip the comparison with Flink."
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shrinking
// ---------------------------------------------------------------------------

/// Reduces a failing case: removes chunks of events (halves, quarters, ...,
/// then single events) and then aggregates, keeping each removal after which
/// `still_fails` holds. `still_fails` gets a batch of candidates (so one JVM
/// run can judge them all) and says which still fail. Returns the smallest
/// case and the number of rounds.
pub fn shrink(
    start: WindowCase,
    still_fails: &mut dyn FnMut(&[WindowCase]) -> Vec<bool>,
    max_rounds: usize,
) -> (WindowCase, usize) {
    let mut best = start;
    let mut rounds = 0;
    // Events.
    let mut chunk = (best.events.len() / 2).max(1);
    loop {
        if rounds >= max_rounds || best.events.is_empty() {
            break;
        }
        let n = best.events.len();
        let cands: Vec<WindowCase> = (0..n)
            .step_by(chunk)
            .map(|from| {
                let mut c = best.clone();
                c.events.drain(from..(from + chunk).min(n));
                c
            })
            .collect();
        rounds += 1;
        let verdicts = still_fails(&cands);
        if let Some(i) = verdicts.iter().position(|&f| f) {
            best = cands[i].clone();
            chunk = chunk.min((best.events.len() / 2).max(1));
        } else if chunk > 1 {
            chunk /= 2;
        } else {
            break;
        }
    }
    // Aggregates (keep at least one).
    loop {
        if rounds >= max_rounds || best.aggs.len() <= 1 {
            break;
        }
        let cands: Vec<WindowCase> = (0..best.aggs.len())
            .map(|i| {
                let mut c = best.clone();
                c.aggs.remove(i);
                c
            })
            .collect();
        rounds += 1;
        let verdicts = still_fails(&cands);
        match verdicts.iter().position(|&f| f) {
            Some(i) => best = cands[i].clone(),
            None => break,
        }
    }
    (best, rounds)
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

fn fmt_fire(f: &Fire, count_window: bool) -> String {
    let mut s = format!("key {}", f.key.as_deref().unwrap_or("<none>"));
    if !count_window {
        let (st, en) = (f.start.unwrap_or(0), f.end.unwrap_or(0));
        let _ = write!(s, " [BASE{:+}, BASE{:+})", st - BASE_TS, en - BASE_TS);
        if f.update {
            s.push_str(" update");
        }
    }
    let _ = write!(s, " {}", fmt_values(&f.values));
    if let Some(at) = f.at {
        let _ = write!(s, " (at input #{at})");
    }
    s
}

/// The case (rule, events relative to [`BASE_TS`], peer JSON) and both outcomes.
pub fn describe(case: &WindowCase, ours: Option<&Outcome>, flink: Option<&Outcome>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "case {} ({} events, {} out of order):", case.name, case.events.len(), case.out_of_order());
    let _ = writeln!(s, "---- rule.cep");
    s.push_str(&case.rule_source());
    let _ = writeln!(s, "---- events (ts as BASE+ms, BASE = {BASE_TS}; watermark after each = max ts - {} - 1)", case.lag_ms);
    let mut max_ts = i64::MIN;
    for e in &case.events {
        max_ts = max_ts.max(e.ts);
        let _ = writeln!(
            s,
            "  id {:3} key {} ts BASE{:+} v {} n {} tag {}   -> watermark BASE{:+}",
            e.id,
            e.key,
            e.ts - BASE_TS,
            e.v.map_or("null".into(), |v| v.to_string()),
            e.n.map_or("null".into(), |v| v.to_string()),
            e.tag.as_deref().map_or("null".into(), |t| format!("{t:?}")),
            max_ts - case.lag_ms as i64 - 1 - BASE_TS
        );
    }
    let count = case.window.is_count();
    for (who, o) in [("cepheus", ours), ("flink", flink)] {
        match o {
            None => {
                let _ = writeln!(s, "---- {who}: (no outcome)");
            }
            Some(o) => {
                let _ = writeln!(s, "---- {who}: {} firings, {} dropped late", o.fires.len(), o.late_dropped);
                for f in &o.fires {
                    let _ = writeln!(s, "  {}", fmt_fire(f, count));
                }
            }
        }
    }
    let _ = writeln!(s, "---- peer input (one line; run with cepheus.peer.window.Main):");
    let _ = writeln!(s, "{}", case.peer_json());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fire(key: &str, start: i64, update: bool, values: Vec<Json>) -> Fire {
        Fire {
            key: Some(key.into()),
            start: Some(start),
            end: Some(start + 10),
            update,
            values,
            at: None,
        }
    }

    fn case() -> WindowCase {
        WindowCase {
            name: "t".into(),
            window: Window::Tumbling { size_ms: 10 },
            allowed_lateness_ms: 5,
            lag_ms: 0,
            aggs: vec![Agg {
                func: Func::Sum,
                field: Some("v"),
                q: None,
            }],
            events: (1..=8)
                .map(|i| Ev {
                    id: i,
                    key: "k0".into(),
                    ts: BASE_TS + i,
                    v: Some(i as f64),
                    n: None,
                    tag: None,
                })
                .collect(),
        }
    }

    #[test]
    fn values_compare_within_1e9_relative() {
        assert!(values_equal(&json!(3), &json!(3.0)));
        assert!(values_equal(&json!(1.0), &json!(1.0 + 1e-12)));
        assert!(!values_equal(&json!(1.0), &json!(1.0 + 1e-8)));
        assert!(values_equal(&json!(null), &json!(null)));
        assert!(!values_equal(&json!(0), &json!(null)));
        assert!(!values_equal(&json!("a"), &json!("b")));
        assert!(!values_equal(&json!(2), &json!(3)));
    }

    #[test]
    fn compare_finds_every_kind_of_difference() {
        let c = case();
        let flink = Outcome {
            fires: vec![fire("k0", BASE_TS, false, vec![json!(1.5)]), fire("k0", BASE_TS, true, vec![json!(3.5)])],
            late_dropped: 1,
            late_ids: vec![4],
        };
        assert!(compare(&c, &flink.clone(), &flink).is_empty());
        // the interleaving of different windows does not matter
        let mut two = flink.clone();
        two.fires.push(fire("k1", BASE_TS + 10, false, vec![json!(1)]));
        let mut swapped = two.clone();
        swapped.fires.rotate_right(1);
        assert!(compare(&c, &swapped, &two).is_empty());
        // but the order of one window's firings does
        let mut reordered = flink.clone();
        reordered.fires.swap(0, 1);
        assert!(!compare(&c, &reordered, &flink).is_empty());
        let mut v = flink.clone();
        v.fires[1].values[0] = json!(3.6);
        assert!(compare(&c, &v, &flink)[0].contains("values differ"));
        let mut u = flink.clone();
        u.fires[1].update = false;
        assert!(compare(&c, &u, &flink)[0].contains("update flag"));
        let mut missing = flink.clone();
        missing.fires.pop();
        assert!(compare(&c, &missing, &flink)[0].contains("fired it 1 time(s), flink 2"));
        let mut late = flink.clone();
        late.late_dropped = 0;
        assert!(compare(&c, &late, &flink)[0].contains("dropped late events"));
    }

    #[test]
    fn shrink_keeps_what_the_difference_needs() {
        // "fails" while events 3 and 6 are both there and there is an aggregate
        let mut calls = 0;
        let mut still = |cands: &[WindowCase]| -> Vec<bool> {
            calls += 1;
            cands
                .iter()
                .map(|c| c.events.iter().any(|e| e.id == 3) && c.events.iter().any(|e| e.id == 6))
                .collect()
        };
        let mut start = case();
        start.aggs.push(Agg {
            func: Func::Count,
            field: None,
            q: None,
        });
        let (small, rounds) = shrink(start, &mut still, 100);
        let ids: Vec<i64> = small.events.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![3, 6]);
        assert_eq!(small.aggs.len(), 1);
        assert_eq!(rounds, calls);
    }

    #[test]
    fn generated_rules_pass_the_checker_and_cover_everything() {
        let mut rng = Rng::new(7);
        let mut kinds = BTreeSet::new();
        let mut funcs = BTreeSet::new();
        for i in 0..300 {
            let c = generate(&mut rng, format!("t/{i}"), i);
            let src = c.rule_source();
            let compiled = cepheus_dsl::compile(&src, &Catalog::new());
            assert!(
                !compiled.has_errors(),
                "{src}\n{}",
                cepheus_dsl::diagnostic::render("rule.cep", &src, &compiled.diagnostics)
            );
            kinds.insert((c.window.kind(), c.allowed_lateness_ms > 0));
            funcs.extend(c.aggs.iter().map(|a| a.func));
            assert_eq!(c.peer_json()["events"].as_array().map(Vec::len), Some(c.events.len()));
        }
        assert_eq!(kinds.len(), 8, "{kinds:?}");
        assert_eq!(funcs.len(), FUNCS.len());
    }
}
