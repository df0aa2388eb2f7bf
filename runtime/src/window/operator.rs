//! The keyed window operator: one aggregation rule over one stream.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::mem::size_of;

use smallvec::SmallVec;

use cepheus_alerts::{Alert, AlertIdBuilder, WindowBounds};
use cepheus_dsl::plan::{RuleBody, RulePlan, Slot, WindowKind};
use super::accumulate::{Acc, Args, Arguments, Layout};
use super::assign::Aligned;
use super::count::{CountKey, CountSpec};
use super::hash::FxHasher;
use super::keys::KeyIndex;
use super::panes::{SlidingKey, TumblingKey};
use super::session::SessionKey;
use super::{BuildError, WindowStats};
use crate::event::{EventRef, Position};
use crate::expr::{CompiledExpr, Scope};
use crate::output::{Output, RuleIdentity};
use crate::record::Record;
use crate::time::format_rfc3339;
use crate::value::Value;

/// A partition key: the values of the rule's `partition by` fields (one,
/// usually: inline, no allocation; strings are shared with the events).
type Key = SmallVec<[Value; 1]>;

/// No timer armed.
const NO_TIMER: i64 = i64::MIN;

/// Why an element was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drop {
    /// Past the cleanup time of every window it belongs to.
    Late,
    /// It would open a window beyond the per-key limit.
    WindowLimit,
}

/// One element as the per-key window code sees it.
pub(crate) struct Element<'a> {
    pub args: &'a [std::borrow::Cow<'a, Value>],
    pub ts: i64,
    pub seq: u64,
    pub position: Position,
}

/// A window firing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fire {
    pub start: i64,
    pub end: i64,
    /// The alert's event time: Flink's `window.maxTimestamp()`.
    pub event_time: i64,
    /// How many times this window fired before (0: first firing).
    pub firing: u64,
    pub update: bool,
    /// Count windows: the element that made the window fire (its id part).
    pub trigger: Option<Position>,
}

/// A fired window as a [`FiringSink`] receives it: no alert is built.
#[derive(Debug, Clone, Copy)]
pub struct Firing<'a> {
    /// The partition key's values, in `partition by` order.
    pub key: &'a [Value],
    /// `[start, end)`; a count window has the least event time and the
    /// greatest + 1 ms.
    pub start: i64,
    pub end: i64,
    /// The window fired before (an update).
    pub update: bool,
    /// The rule's aggregates, in the plan's order (`WindowPlan::aggregates`).
    pub aggregates: &'a [Value],
}

/// Receives fired windows that passed `having`, instead of alerts (see
/// [`WindowOperator::on_record_to_sink`]): for embedding the operator where
/// the aggregates themselves are the output, and for measuring the window
/// operator apart from alert construction.
pub trait FiringSink {
    fn fired(&mut self, firing: &Firing<'_>);
}

/// Where fired windows go: alerts (the service) or a [`FiringSink`].
pub(crate) enum Out<'a> {
    Alerts(&'a mut Vec<Alert>),
    Sink(&'a mut dyn FiringSink),
}

impl Out<'_> {
    fn reborrow(&mut self) -> Out<'_> {
        match self {
            Out::Alerts(v) => Out::Alerts(v),
            Out::Sink(s) => Out::Sink(&mut **s),
        }
    }
}

/// RFC 3339 text of the last time formatted: the alerts of one watermark
/// share their bounds and `detected_at`, so each is formatted once.
#[derive(Debug, Default)]
struct TimeText {
    ms: Option<i64>,
    text: String,
}

impl TimeText {
    fn get(&mut self, ms: i64) -> String {
        if self.ms != Some(ms) {
            self.text = format_rfc3339(ms);
            self.ms = Some(ms);
        }
        self.text.clone()
    }
}

/// What a firing needs besides the key's own windows.
pub(crate) struct Emitter {
    pub layout: Layout,
    rule: RuleIdentity,
    having: Option<CompiledExpr>,
    output: Output,
    scratch: Acc,
    results: Vec<Value>,
    stats: WindowStats,
    /// A key value's JSON text (for the id), reused.
    key_text: Vec<u8>,
    start_text: TimeText,
    end_text: TimeText,
    event_time_text: TimeText,
    detected_text: TimeText,
}

/// A firing in progress: the emitter, the key, where alerts go.
pub(crate) struct Ctx<'a> {
    pub em: &'a mut Emitter,
    key: &'a [Value],
    now_ms: i64,
    out: Out<'a>,
}

impl Ctx<'_> {
    /// Fires a window held in one accumulator.
    pub fn fire_one(&mut self, acc: &mut Acc, fire: Fire) {
        let em = &mut *self.em;
        em.layout.results(acc, &mut em.results);
        self.emit(fire);
    }

    /// Fires a window made of several accumulators (panes).
    pub fn fire_many<'p>(&mut self, accs: impl Iterator<Item = &'p Acc>, fire: Fire) {
        let em = &mut *self.em;
        em.scratch.reset();
        for a in accs {
            em.scratch.merge_from(a);
        }
        em.layout.results(&mut em.scratch, &mut em.results);
        self.emit(fire);
    }

    fn emit(&mut self, fire: Fire) {
        let em = &mut *self.em;
        em.stats.windows_fired += 1;
        if fire.update {
            em.stats.updates += 1;
        }
        let scope = WindowScope {
            key: self.key,
            aggs: &em.results,
            window: (fire.start, fire.end),
        };
        if let Some(h) = &em.having {
            if !h.eval_bool(&scope) {
                em.stats.rejected_by_having += 1;
                return;
            }
        }
        em.stats.alerts += 1;
        let out = match &mut self.out {
            Out::Sink(sink) => {
                sink.fired(&Firing {
                    key: self.key,
                    start: fire.start,
                    end: fire.end,
                    update: fire.update,
                    aggregates: &em.results,
                });
                return;
            }
            Out::Alerts(out) => out,
        };
        // The id of `RuleIdentity::id_builder` (each key value's JSON text),
        // written into a reused buffer.
        let mut ids = AlertIdBuilder::new(&em.rule.name, em.rule.version);
        for v in self.key {
            em.key_text.clear();
            write_json(&mut em.key_text, v);
            ids.str(std::str::from_utf8(&em.key_text).unwrap_or_default());
        }
        ids.str("window").i64(fire.start).i64(fire.end);
        match fire.trigger {
            Some(p) => ids.u64(u64::from(p.partition)).u64(p.offset),
            None => ids.u64(fire.firing),
        };
        let (fields, message) = em.output.render(&scope);
        let rule = &em.rule;
        out.push(Alert {
            id: ids.finish(),
            rule: rule.name.clone(),
            rule_version: rule.version,
            severity: rule.severity.clone(),
            key: rule
                .key_names
                .iter()
                .zip(self.key)
                .map(|(n, v)| (n.clone(), v.to_json()))
                .collect(),
            fields,
            message,
            event_time: em.event_time_text.get(fire.event_time),
            detected_at: em.detected_text.get(self.now_ms),
            matched: None,
            window: Some(WindowBounds {
                start: em.start_text.get(fire.start),
                end: em.end_text.get(fire.end),
            }),
            timeout: false,
            update: fire.update,
            labels: rule.labels.clone(),
            notify: rule.notify.clone(),
        });
    }
}

/// A value's JSON text, as `value.to_json().to_string()` writes it, without
/// building a JSON value for strings.
fn write_json(out: &mut Vec<u8>, v: &Value) {
    let r = match v {
        Value::Str(s) => serde_json::to_writer(&mut *out, &**s),
        other => serde_json::to_writer(&mut *out, &other.to_json()),
    };
    debug_assert!(r.is_ok(), "writing JSON into memory cannot fail");
}

/// The scope of `having` and `emit`: the key, the aggregates, the bounds.
struct WindowScope<'a> {
    key: &'a [Value],
    aggs: &'a [Value],
    window: (i64, i64),
}

impl Scope for WindowScope<'_> {
    fn event(&self) -> Option<&Record> {
        None
    }
    fn key(&self, i: u32) -> Option<&Value> {
        self.key.get(i as usize)
    }
    fn agg(&self, i: u32) -> Option<&Value> {
        self.aggs.get(i as usize)
    }
    fn window(&self) -> Option<(i64, i64)> {
        Some(self.window)
    }
}

/// The per-key window state of one window kind.
pub(crate) trait KeyState: Default {
    /// The window's parameters.
    type Spec: Copy;

    /// Whether an element is too late for every window it belongs to, known
    /// before the key's state is looked at (tumbling and sliding windows).
    fn too_late(_spec: &Self::Spec, _ts: i64, _time: i64, _lateness: i64) -> bool {
        false
    }

    /// Adds an element (firing what it makes fire); returns the timer the
    /// key needs for it, if any.
    fn add(
        &mut self,
        spec: &Self::Spec,
        el: &Element<'_>,
        time: i64,
        lateness: i64,
        cap: Option<usize>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<i64>, Drop>;

    /// The key's timer at `t`; returns the next one (`None`: no state left).
    fn on_timer(&mut self, spec: &Self::Spec, t: i64, lateness: i64, ctx: &mut Ctx<'_>) -> Option<i64>;

    fn is_empty(&self) -> bool;

    /// Units of state: windows, panes or sessions.
    fn open_units(&self) -> usize;

    /// (key, window) pairs with state.
    fn live_windows(&self, spec: &Self::Spec, time: i64, lateness: i64) -> usize;

    /// Heap bytes held (the value itself not counted).
    fn heap_bytes(&self) -> usize;
}

#[derive(Debug, Clone)]
struct KeySlot<K> {
    key: Key,
    /// The key's hash in the [`KeyIndex`].
    hash: u32,
    /// The key's one timer (event or processing time), or [`NO_TIMER`].
    timer: i64,
    windows: K,
}

/// Timers by time; each key has at most one live entry (its `timer`).
/// Entries whose time is no longer the key's timer are stale and skipped,
/// so lowering a timer is a push, never a search.
#[derive(Debug, Default)]
struct Timers {
    by_time: BTreeMap<i64, Vec<u32>>,
    spare: Vec<Vec<u32>>,
}

impl Timers {
    fn push(&mut self, t: i64, id: u32) {
        let spare = &mut self.spare;
        self.by_time
            .entry(t)
            .or_insert_with(|| spare.pop().unwrap_or_default())
            .push(id);
    }

    fn pop_due(&mut self, upto: i64) -> Option<(i64, Vec<u32>)> {
        let e = self.by_time.first_entry()?;
        if *e.key() > upto {
            return None;
        }
        Some(e.remove_entry())
    }

    fn recycle(&mut self, mut v: Vec<u32>) {
        v.clear();
        if self.spare.len() < 64 {
            self.spare.push(v);
        }
    }

    fn bytes(&self) -> usize {
        self.by_time
            .values()
            .map(|v| v.capacity() * size_of::<u32>() + 48)
            .sum()
    }
}

/// What every window kind shares: the rule's compiled parts and settings.
struct Common {
    lateness: i64,
    event_time: bool,
    filter: Option<CompiledExpr>,
    key_slots: Vec<Slot>,
    args: Arguments,
    em: Emitter,
}

/// The operator for one window kind.
struct Core<K: KeyState> {
    spec: K::Spec,
    lateness: i64,
    event_time: bool,
    filter: Option<CompiledExpr>,
    key_slots: Vec<Slot>,
    args: Arguments,
    keys: Vec<Option<KeySlot<K>>>,
    free: Vec<u32>,
    index: KeyIndex,
    timers: Timers,
    /// Event time: the watermark. Processing time: the clock.
    time: i64,
    seq: u64,
    max_open_windows: Option<usize>,
    em: Emitter,
}

impl<K: KeyState> Core<K> {
    fn new(spec: K::Spec, c: Common) -> Self {
        Core {
            spec,
            lateness: c.lateness,
            event_time: c.event_time,
            filter: c.filter,
            key_slots: c.key_slots,
            args: c.args,
            keys: Vec::new(),
            free: Vec::new(),
            index: KeyIndex::default(),
            timers: Timers::default(),
            time: i64::MIN,
            seq: 0,
            max_open_windows: None,
            em: c.em,
        }
    }

    fn open_units(&self) -> usize {
        self.keys.iter().flatten().map(|k| k.windows.open_units()).sum()
    }

    fn live_windows(&self) -> usize {
        self.keys
            .iter()
            .flatten()
            .map(|k| k.windows.live_windows(&self.spec, self.time, self.lateness))
            .sum()
    }

    fn state_bytes(&self) -> usize {
        let mut b = self.keys.capacity() * size_of::<Option<KeySlot<K>>>()
            + self.free.capacity() * size_of::<u32>()
            + self.index.bytes()
            + self.timers.bytes();
        for k in self.keys.iter().flatten() {
            if k.key.spilled() {
                b += k.key.capacity() * size_of::<Value>();
            }
            b += k.windows.heap_bytes();
        }
        b
    }

    fn key_id(&mut self, record: &Record) -> u32 {
        let mut h = FxHasher::default();
        for s in &self.key_slots {
            record.get(*s).hash(&mut h);
        }
        let hash = h.finish() as u32;
        let (keys, key_slots) = (&self.keys, &self.key_slots);
        let found = self.index.find(hash, |id| {
            keys.get(id as usize)
                .and_then(Option::as_ref)
                .is_some_and(|k| k.key.iter().zip(key_slots).all(|(v, s)| v == record.get(*s)))
        });
        if let Some(id) = found {
            return id;
        }
        let slot = KeySlot {
            key: self.key_slots.iter().map(|s| record.get(*s).clone()).collect(),
            hash,
            timer: NO_TIMER,
            windows: K::default(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.keys[id as usize] = Some(slot);
                id
            }
            None => {
                self.keys.push(Some(slot));
                (self.keys.len() - 1) as u32
            }
        };
        self.index.insert(hash, id);
        id
    }

    fn remove_key(&mut self, id: u32) {
        if let Some(slot) = self.keys.get_mut(id as usize).and_then(Option::take) {
            self.index.remove(slot.hash, id);
            self.free.push(id);
        }
    }

    /// Arms the key's timer at `t` unless an earlier one is armed.
    fn arm(&mut self, id: u32, t: i64) {
        let Some(slot) = self.keys.get_mut(id as usize).and_then(Option::as_mut) else {
            return;
        };
        if slot.timer != NO_TIMER && slot.timer <= t {
            return;
        }
        slot.timer = t;
        self.timers.push(t, id);
    }

    fn on_record(&mut self, record: &Record, position: Position, now_ms: i64, out: &mut Out<'_>) {
        let em = &mut self.em;
        em.stats.events += 1;
        if let Some(f) = &self.filter {
            if !f.eval_bool(record) {
                em.stats.filtered_out += 1;
                return;
            }
        }
        let ts = if self.event_time {
            record.time()
        } else {
            // Processing time: the clock given; never behind a clock tick
            // already given, so windows that fired stay fired.
            now_ms.max(self.time.saturating_add(1))
        };
        let time = self.time;
        let lateness = self.lateness;
        if self.event_time {
            if ts <= time {
                em.stats.late_events += 1;
            }
            if K::too_late(&self.spec, ts, time, lateness) {
                em.stats.dropped_late += 1;
                return;
            }
        }
        let id = self.key_id(record);
        self.seq += 1;
        let args: Args<'_> = self.args.eval(record);
        let el = Element {
            args: &args,
            ts,
            seq: self.seq,
            position,
        };
        let cap = self.max_open_windows;
        let Some(slot) = self.keys[id as usize].as_mut() else {
            return;
        };
        let mut ctx = Ctx {
            em: &mut self.em,
            key: &slot.key,
            now_ms,
            out: out.reborrow(),
        };
        let result = slot.windows.add(&self.spec, &el, time, lateness, cap, &mut ctx);
        drop(args);
        let empty = slot.windows.is_empty();
        match result {
            Ok(Some(t)) => self.arm(id, t),
            Ok(None) => {}
            Err(d) => {
                let stats = &mut self.em.stats;
                match d {
                    Drop::Late => stats.dropped_late += 1,
                    Drop::WindowLimit => stats.dropped_window_limit += 1,
                }
            }
        }
        if empty && self.keys[id as usize].as_ref().is_some_and(|s| s.timer == NO_TIMER) {
            self.remove_key(id);
        }
    }

    fn advance(&mut self, to: i64, now_ms: i64, out: &mut Out<'_>) {
        if to <= self.time {
            return;
        }
        self.time = to;
        while let Some((t, mut ids)) = self.timers.pop_due(to) {
            // Keys due at the same time fire in slot order: deterministic,
            // and near-sequential memory access for large buckets.
            ids.sort_unstable();
            for &id in &ids {
                self.on_timer(id, t, now_ms, out);
            }
            self.timers.recycle(ids);
        }
    }

    fn on_timer(&mut self, id: u32, t: i64, now_ms: i64, out: &mut Out<'_>) {
        let Some(slot) = self.keys.get_mut(id as usize).and_then(Option::as_mut) else {
            return;
        };
        if slot.timer != t {
            return; // stale entry
        }
        slot.timer = NO_TIMER;
        let mut ctx = Ctx {
            em: &mut self.em,
            key: &slot.key,
            now_ms,
            out: out.reborrow(),
        };
        match slot.windows.on_timer(&self.spec, t, self.lateness, &mut ctx) {
            Some(n) => {
                debug_assert!(n > t, "timer {n} not after {t}");
                self.arm(id, n);
            }
            None => self.remove_key(id),
        }
    }
}

enum Inner {
    Tumbling(Core<TumblingKey>),
    Sliding(Core<SlidingKey>),
    Session(Core<SessionKey>),
    Count(Core<CountKey>),
}

macro_rules! with_core {
    ($inner:expr, $c:ident => $e:expr) => {
        match $inner {
            Inner::Tumbling($c) => $e,
            Inner::Sliding($c) => $e,
            Inner::Session($c) => $e,
            Inner::Count($c) => $e,
        }
    };
}

/// The keyed window operator (tumbling, sliding, session, count) of one
/// aggregation rule, with Flink's window semantics; see the [module
/// docs](super).
///
/// Time only enters through the arguments: [`WindowOperator::on_watermark`]
/// (event time), [`WindowOperator::on_processing_time`] (streams without a
/// `time` field) and the `now_ms` of each call, which stamps `detected_at`
/// and, in processing time, assigns the event to its windows. The operator
/// never reads a clock.
pub struct WindowOperator {
    inner: Inner,
}

impl WindowOperator {
    pub fn new(plan: &RulePlan, version: u64) -> Result<Self, BuildError> {
        let RuleBody::Window(w) = &plan.body else {
            return Err(BuildError::NotAWindowRule(plan.name.clone()));
        };
        let rule = plan.name.clone();
        let expr_err = |source| BuildError::Expr {
            rule: rule.clone(),
            source,
        };
        let bad = |what: &'static str| BuildError::BadWindow {
            rule: rule.clone(),
            what,
        };
        let positive = |what: &'static str, v: u64| {
            if v == 0 || v >= 1 << 60 {
                Err(bad(what))
            } else {
                Ok(v as i64)
            }
        };
        let count_window = matches!(w.kind, WindowKind::Count { .. });
        let event_time = plan.stream.time.is_some();
        let lateness = if event_time && !count_window {
            i64::try_from(w.allowed_lateness_ms).unwrap_or(i64::MAX)
        } else {
            0
        };
        let filter = plan
            .filter
            .as_ref()
            .map(CompiledExpr::compile)
            .transpose()
            .map_err(expr_err)?;
        let having = w
            .having
            .as_ref()
            .map(CompiledExpr::compile)
            .transpose()
            .map_err(expr_err)?;
        let (layout, args) = Layout::compile(&w.aggregates).map_err(expr_err)?;
        let output = Output::compile(&plan.output).map_err(expr_err)?;
        let scratch = layout.new_acc();
        let common = Common {
            lateness,
            event_time,
            filter,
            key_slots: plan.partition_by.iter().map(|k| k.slot).collect(),
            args,
            em: Emitter {
                results: Vec::with_capacity(layout.len()),
                layout,
                rule: RuleIdentity::new(plan, version),
                having,
                output,
                scratch,
                stats: WindowStats::default(),
                key_text: Vec::new(),
                start_text: TimeText::default(),
                end_text: TimeText::default(),
                event_time_text: TimeText::default(),
                detected_text: TimeText::default(),
            },
        };
        let inner = match w.kind {
            WindowKind::Tumbling { size_ms } => {
                Inner::Tumbling(Core::new(Aligned::tumbling(positive("size", size_ms)?), common))
            }
            WindowKind::Sliding { size_ms, slide_ms } => {
                let size = positive("size", size_ms)?;
                let slide = positive("slide", slide_ms)?;
                if slide > size {
                    return Err(bad("slide (larger than the size)"));
                }
                if slide == size {
                    Inner::Tumbling(Core::new(Aligned::tumbling(size), common))
                } else {
                    Inner::Sliding(Core::new(Aligned::sliding(size, slide), common))
                }
            }
            WindowKind::Session { gap_ms } => Inner::Session(Core::new(positive("session gap", gap_ms)?, common)),
            WindowKind::Count { size, slide } => {
                positive("count", size)?;
                if let Some(s) = slide {
                    positive("count slide", s)?;
                    if s > size {
                        return Err(bad("count slide (larger than the size)"));
                    }
                }
                Inner::Count(Core::new(CountSpec::new(size, slide), common))
            }
        };
        Ok(WindowOperator { inner })
    }

    /// Caps the open windows of one key: tumbling windows, sliding-window
    /// panes, sessions, or count-window panes. An element that would open one
    /// more is dropped and counted ([`WindowStats::dropped_window_limit`]).
    pub fn with_max_open_windows(mut self, limit: Option<usize>) -> Self {
        with_core!(&mut self.inner, c => c.max_open_windows = limit.map(|l| l.max(1)));
        self
    }

    pub fn name(&self) -> &str {
        with_core!(&self.inner, c => &c.em.rule.name)
    }

    pub fn stats(&self) -> &WindowStats {
        with_core!(&self.inner, c => &c.em.stats)
    }

    /// Whether windows run on event time (the stream has a `time` field).
    pub fn is_event_time(&self) -> bool {
        with_core!(&self.inner, c => c.event_time)
    }

    /// The watermark (event time) or the last clock given (processing time).
    pub fn watermark(&self) -> i64 {
        with_core!(&self.inner, c => c.time)
    }

    /// Keys with open windows.
    pub fn key_count(&self) -> usize {
        with_core!(&self.inner, c => c.index.len())
    }

    /// Units of window state over all keys: tumbling windows, sliding
    /// windows' non-empty panes, sessions, count windows' panes.
    pub fn open_windows(&self) -> usize {
        with_core!(&self.inner, c => c.open_units())
    }

    /// Open windows over all keys, as (key, window) pairs with state: what
    /// Flink keeps one accumulator (and timer) each for. A sliding window
    /// counts once per window, though its state is shared panes.
    pub fn live_windows(&self) -> usize {
        with_core!(&self.inner, c => c.live_windows())
    }

    /// An estimate of the bytes the operator's state holds: key slots (by
    /// capacity), the key index, keys, accumulators, sets and value lists,
    /// timers. Strings shared with events are not counted.
    pub fn state_bytes(&self) -> usize {
        with_core!(&self.inner, c => c.state_bytes())
    }

    /// One event. `now_ms` stamps `detected_at` of alerts it fires and, in
    /// processing time, is the event's time (see the module docs).
    pub fn on_event(&mut self, event: EventRef, now_ms: i64, out: &mut Vec<Alert>) {
        self.on_record(&event.record, event.position, now_ms, out);
    }

    /// [`WindowOperator::on_event`] on a record and its position, without an
    /// `Arc`: the operator keeps no events, only accumulators.
    pub fn on_record(&mut self, record: &Record, position: Position, now_ms: i64, out: &mut Vec<Alert>) {
        let mut out = Out::Alerts(out);
        with_core!(&mut self.inner, c => c.on_record(record, position, now_ms, &mut out))
    }

    /// [`WindowOperator::on_record`], handing fired windows to `sink`
    /// (aggregates, no alert).
    pub fn on_record_to_sink(&mut self, record: &Record, position: Position, now_ms: i64, sink: &mut dyn FiringSink) {
        let mut out = Out::Sink(sink);
        with_core!(&mut self.inner, c => c.on_record(record, position, now_ms, &mut out))
    }

    /// Moves event time to `watermark`: windows whose end - 1 it reaches
    /// fire, windows past `end - 1 + allowed lateness` are removed. Timers
    /// fire in time order; keys due at the same time in an order that
    /// depends only on the input. Ignored in processing time.
    pub fn on_watermark(&mut self, watermark: i64, now_ms: i64, out: &mut Vec<Alert>) {
        self.advance(true, watermark, now_ms, &mut Out::Alerts(out))
    }

    /// [`WindowOperator::on_watermark`], handing fired windows to `sink`.
    pub fn on_watermark_to_sink(&mut self, watermark: i64, now_ms: i64, sink: &mut dyn FiringSink) {
        self.advance(true, watermark, now_ms, &mut Out::Sink(sink))
    }

    /// Moves the processing-time clock to `clock_ms`: windows whose end - 1
    /// it reaches fire and are removed. `now_ms` stamps `detected_at`.
    /// Ignored in event time. A bounded run ends with `clock_ms = i64::MAX`.
    pub fn on_processing_time(&mut self, clock_ms: i64, now_ms: i64, out: &mut Vec<Alert>) {
        self.advance(false, clock_ms, now_ms, &mut Out::Alerts(out))
    }

    /// [`WindowOperator::on_processing_time`], handing fired windows to `sink`.
    pub fn on_processing_time_to_sink(&mut self, clock_ms: i64, now_ms: i64, sink: &mut dyn FiringSink) {
        self.advance(false, clock_ms, now_ms, &mut Out::Sink(sink))
    }

    fn advance(&mut self, event_time: bool, to: i64, now_ms: i64, out: &mut Out<'_>) {
        with_core!(&mut self.inner, c => if c.event_time == event_time {
            c.advance(to, now_ms, out)
        })
    }
}
