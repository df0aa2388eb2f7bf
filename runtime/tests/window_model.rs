//! Randomised differential test of the window operator against a literal
//! model of Flink's `WindowOperator` (1.20): per-window element lists in a
//! map keyed by (key, window), one timer per (time, key, window) in an
//! ordered set, `EventTimeTrigger`, `MergingWindowSet.addWindow` with
//! `TimeWindow.mergeWindows`, `registerCleanupTimer`/`deleteCleanupTimer`,
//! `isWindowLate`/`isElementLate`, and count windows as `GlobalWindows` with
//! `CountTrigger` (+ `PurgingTrigger`, or + `CountEvictor`). The model keeps
//! every element of every window and computes the aggregates naively at
//! each firing; the operator keeps panes and accumulators. Seeded random
//! keyed streams with out-of-order and late events, every window kind, with
//! and without allowed lateness; after every input step the firings (key,
//! bounds, update flag, every aggregate) must be equal as sets, and so must
//! the count of dropped late events.
//!
//! The real-Flink differential test lives in `tests/` (the Flink peer); this
//! one runs in `cargo test -p cepheus-runtime` in a fraction of a second.

#[path = "window_common.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::{Fired, Harness};
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------------------
// A tiny deterministic generator
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct W {
    start: i64,
    end: i64,
}

impl W {
    fn max_ts(self) -> i64 {
        self.end - 1
    }
    fn intersects(self, o: W) -> bool {
        self.start <= o.end && self.end >= o.start
    }
    fn cover(self, o: W) -> W {
        W {
            start: self.start.min(o.start),
            end: self.end.max(o.end),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Tumbling(i64),
    Sliding(i64, i64),
    Session(i64),
    Count(usize, Option<usize>),
}

#[derive(Debug, Clone)]
struct Ev {
    seq: usize,
    v: Option<f64>,
}

#[derive(Debug, Default, Clone)]
struct State {
    events: Vec<Ev>,
    fired: bool,
}

/// One firing: key, bounds (None for count windows), update, elements.
#[derive(Debug, Clone)]
struct MFire {
    key: String,
    window: Option<W>,
    update: bool,
    events: Vec<Ev>,
}

#[derive(Default)]
struct KeyModel {
    /// State per state window (sessions) or window.
    states: HashMap<W, State>,
    /// Sessions: `MergingWindowSet.mapping`, window -> state window.
    mapping: BTreeMap<W, W>,
    /// Count windows.
    list: Vec<Ev>,
    count: usize,
}

struct Model {
    kind: Kind,
    lateness: i64,
    wm: i64,
    keys: BTreeMap<String, KeyModel>,
    timers: BTreeSet<(i64, String, W)>,
    dropped: u64,
}

fn start_of(ts: i64, size: i64) -> i64 {
    let r = ts % size;
    if r < 0 {
        ts - (r + size)
    } else {
        ts - r
    }
}

impl Model {
    fn new(kind: Kind, lateness: i64) -> Model {
        Model {
            kind,
            lateness,
            wm: i64::MIN,
            keys: BTreeMap::new(),
            timers: BTreeSet::new(),
            dropped: 0,
        }
    }

    fn cleanup(&self, w: W) -> i64 {
        let c = w.max_ts().wrapping_add(self.lateness);
        if c >= w.max_ts() {
            c
        } else {
            i64::MAX
        }
    }

    fn is_late(&self, w: W) -> bool {
        self.cleanup(w) <= self.wm
    }

    fn register_cleanup(&mut self, key: &str, w: W) {
        let c = self.cleanup(w);
        if c != i64::MAX {
            self.timers.insert((c, key.to_string(), w));
        }
    }

    fn fire(&mut self, key: &str, w: Option<W>, state_w: W, out: &mut Vec<MFire>) {
        let st = self.keys.get_mut(key).unwrap().states.get_mut(&state_w).unwrap();
        out.push(MFire {
            key: key.to_string(),
            window: w,
            update: st.fired,
            events: st.events.clone(),
        });
        st.fired = true;
    }

    fn element(&mut self, key: &str, ts: i64, ev: Ev, out: &mut Vec<MFire>) {
        let k = key.to_string();
        self.keys.entry(k.clone()).or_default();
        match self.kind {
            Kind::Count(size, slide) => {
                let km = self.keys.get_mut(key).unwrap();
                km.list.push(ev);
                km.count += 1;
                match slide {
                    None => {
                        if km.count >= size {
                            km.count = 0;
                            let events = std::mem::take(&mut km.list);
                            out.push(MFire {
                                key: k,
                                window: None,
                                update: false,
                                events,
                            });
                        }
                    }
                    Some(m) => {
                        if km.count >= m {
                            km.count = 0;
                            while km.list.len() > size {
                                km.list.remove(0);
                            }
                            out.push(MFire {
                                key: k,
                                window: None,
                                update: false,
                                events: km.list.clone(),
                            });
                        }
                    }
                }
            }
            Kind::Tumbling(_) | Kind::Sliding(..) => {
                let (size, slide) = match self.kind {
                    Kind::Tumbling(s) => (s, s),
                    Kind::Sliding(s, d) => (s, d),
                    _ => unreachable!(),
                };
                let mut windows = Vec::new();
                let mut start = start_of(ts, slide);
                while start > ts - size {
                    windows.push(W {
                        start,
                        end: start + size,
                    });
                    start -= slide;
                }
                let mut skipped = true;
                for w in windows {
                    if self.is_late(w) {
                        continue;
                    }
                    skipped = false;
                    let km = self.keys.get_mut(key).unwrap();
                    km.states.entry(w).or_default().events.push(ev.clone());
                    if w.max_ts() <= self.wm {
                        self.fire(key, Some(w), w, out);
                    } else {
                        self.timers.insert((w.max_ts(), k.clone(), w));
                    }
                    self.register_cleanup(key, w);
                }
                if skipped && ts + self.lateness <= self.wm {
                    self.dropped += 1;
                }
            }
            Kind::Session(gap) => {
                let new = W { start: ts, end: ts + gap };
                // MergingWindowSet.addWindow
                let mut windows: Vec<W> = self.keys[key].mapping.keys().copied().collect();
                windows.push(new);
                windows.sort_by_key(|w| w.start);
                let mut merged: Vec<(W, Vec<W>)> = Vec::new();
                for c in windows {
                    match merged.last_mut() {
                        Some((cur, set)) if cur.intersects(c) => {
                            *cur = cur.cover(c);
                            set.push(c);
                        }
                        _ => merged.push((c, vec![c])),
                    }
                }
                let mut result = new;
                let mut merged_new = false;
                let mut any_merge = false;
                for (res, mut group) in merged.into_iter().filter(|(_, g)| g.len() > 1) {
                    any_merge = true;
                    if let Some(i) = group.iter().position(|w| *w == new) {
                        group.remove(i);
                        merged_new = true;
                        result = res;
                    }
                    let km = self.keys.get_mut(key).unwrap();
                    let merged_state_w = km.mapping[&group[0]];
                    let mut merged_state_ws = Vec::new();
                    for m in &group {
                        if let Some(sw) = km.mapping.remove(m) {
                            merged_state_ws.push(sw);
                        }
                    }
                    km.mapping.insert(res, merged_state_w);
                    merged_state_ws.retain(|s| *s != merged_state_w);
                    if !(group.contains(&res) && group.len() == 1) {
                        assert!(!self.is_late(res), "Flink would throw");
                        // EventTimeTrigger.onMerge
                        if res.max_ts() > self.wm {
                            self.timers.insert((res.max_ts(), k.clone(), res));
                        }
                        for m in &group {
                            self.timers.remove(&(m.max_ts(), k.clone(), *m));
                            let c = self.cleanup(*m);
                            self.timers.remove(&(c, k.clone(), *m));
                        }
                        let km = self.keys.get_mut(key).unwrap();
                        for sw in merged_state_ws {
                            if let Some(st) = km.states.remove(&sw) {
                                let target = km.states.entry(merged_state_w).or_default();
                                target.events.extend(st.events);
                                target.fired |= st.fired;
                            }
                        }
                    }
                }
                if !any_merge || (result == new && !merged_new) {
                    self.keys.get_mut(key).unwrap().mapping.insert(new, new);
                }
                if self.is_late(result) {
                    self.keys.get_mut(key).unwrap().mapping.remove(&result);
                    if ts + self.lateness <= self.wm {
                        self.dropped += 1;
                    }
                    return;
                }
                let km = self.keys.get_mut(key).unwrap();
                let sw = km.mapping[&result];
                km.states.entry(sw).or_default().events.push(ev);
                if result.max_ts() <= self.wm {
                    self.fire(key, Some(result), sw, out);
                } else {
                    self.timers.insert((result.max_ts(), k.clone(), result));
                }
                self.register_cleanup(key, result);
            }
        }
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<MFire>) {
        if wm <= self.wm {
            return;
        }
        self.wm = wm;
        if let Kind::Count(..) = self.kind {
            return;
        }
        while let Some(first) = self.timers.first().cloned() {
            if first.0 > wm {
                break;
            }
            self.timers.pop_first();
            let (t, key, w) = first;
            let sessions = matches!(self.kind, Kind::Session(_));
            let sw = if sessions {
                match self.keys[&key].mapping.get(&w) {
                    Some(sw) => *sw,
                    None => continue,
                }
            } else {
                w
            };
            let has_state = self.keys[&key].states.contains_key(&sw);
            if t == w.max_ts() && has_state {
                self.fire(&key, Some(w), sw, out);
            }
            if t == self.cleanup(w) {
                let km = self.keys.get_mut(&key).unwrap();
                km.states.remove(&sw);
                if sessions {
                    km.mapping.remove(&w);
                }
                self.timers.remove(&(w.max_ts(), key.clone(), w));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Naive aggregates over a firing's elements (the definitions in
// `cepheus_runtime::window::accumulate`)
// ---------------------------------------------------------------------------

const Q: f64 = 0.7;

fn expected_fields(events: &[Ev]) -> BTreeMap<&'static str, Json> {
    let vals: Vec<f64> = events.iter().filter_map(|e| e.v).collect();
    let mut m = BTreeMap::new();
    m.insert("n", json!(events.len()));
    m.insert("nv", json!(vals.len()));
    let mut distinct: Vec<f64> = vals.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    m.insert("dv", json!(distinct.len()));
    let none = vals.is_empty();
    let sum: f64 = vals.iter().sum();
    m.insert("s", if none { Json::Null } else { json!(sum) });
    m.insert("a", if none { Json::Null } else { json!(sum / vals.len() as f64) });
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m.insert("lo", if none { Json::Null } else { json!(lo) });
    m.insert("hi", if none { Json::Null } else { json!(hi) });
    m.insert(
        "sd",
        if vals.len() < 2 {
            Json::Null
        } else {
            let mean = sum / vals.len() as f64;
            let var = vals.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (vals.len() - 1) as f64;
            json!(var.sqrt())
        },
    );
    let by_seq = |first: bool| {
        let e = if first {
            events.iter().min_by_key(|e| e.seq)
        } else {
            events.iter().max_by_key(|e| e.seq)
        };
        e.and_then(|e| e.v).map_or(Json::Null, |v| json!(v))
    };
    m.insert("fv", by_seq(true));
    m.insert("lv", by_seq(false));
    m.insert(
        "p",
        if none {
            Json::Null
        } else {
            let mut s = vals.clone();
            s.sort_by(f64::total_cmp);
            let r = ((Q * s.len() as f64).ceil() as usize).clamp(1, s.len());
            json!(s[r - 1])
        },
    );
    m
}

fn close(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

fn rule_text(kind: Kind, lateness: i64) -> String {
    let window = match kind {
        Kind::Tumbling(s) => format!("tumbling {s}ms"),
        Kind::Sliding(s, d) => format!("sliding {s}ms every {d}ms"),
        Kind::Session(g) => format!("session gap {g}ms"),
        Kind::Count(n, None) => format!("count {n}"),
        Kind::Count(n, Some(m)) => format!("count {n} every {m}"),
    };
    let lateness = if lateness > 0 && !matches!(kind, Kind::Count(..)) {
        format!("allow lateness {lateness}ms")
    } else {
        String::new()
    };
    format!(
        "rule r {{
  from s
  partition by k
  window {window}
  {lateness}
  emit k, count() as n, count(v) as nv, count_distinct(v) as dv, sum(v) as s, avg(v) as a,
       min(v) as lo, max(v) as hi, stddev(v) as sd, first(v) as fv, last(v) as lv,
       percentile(v, {Q}) as p
}}"
    )
}

enum Step {
    Event { key: &'static str, ts: i64, v: Option<f64> },
    Watermark(i64),
}

fn gen_case(rng: &mut Rng) -> (Kind, i64, Option<i64>, Vec<Step>) {
    let kind = match rng.below(5) {
        0 => Kind::Tumbling(rng.range(1, 20)),
        1 | 2 => {
            let size = rng.range(2, 24);
            let slide = rng.range(1, size);
            Kind::Sliding(size, slide)
        }
        3 => Kind::Session(rng.range(1, 15)),
        _ => {
            let n = rng.range(1, 6) as usize;
            let m = if rng.chance(50) { Some(rng.range(1, n as i64) as usize) } else { None };
            Kind::Count(n, m)
        }
    };
    let lateness = if rng.chance(50) { 0 } else { rng.range(1, 15) };
    let lag = if rng.chance(15) { None } else { Some(rng.range(0, 8)) };
    let keys = ["a", "b", "c"];
    let nkeys = rng.range(1, 3) as usize;
    let n = rng.range(1, 60);
    let mut t = rng.range(-30, 30);
    let mut steps = Vec::new();
    for _ in 0..n {
        t += rng.range(0, 6);
        let ts = if rng.chance(25) {
            t - rng.range(1, 25) // out of order, often late
        } else {
            t
        };
        let v = if rng.chance(15) {
            None
        } else {
            Some(rng.range(-40, 40) as f64 / 4.0)
        };
        steps.push(Step::Event {
            key: keys[rng.below(nkeys as u64) as usize],
            ts,
            v,
        });
        if rng.chance(8) {
            steps.push(Step::Watermark(t - rng.range(-5, 10)));
        }
    }
    (kind, lateness, lag, steps)
}

fn check_step(case: usize, step: usize, got: &[Fired], want: &[MFire]) {
    let key_of = |f: &Fired| f.key.as_str().unwrap_or_default().to_string();
    let mut got: Vec<&Fired> = got.iter().collect();
    got.sort_by_key(|f| (key_of(f), f.start, f.end, f.update));
    let mut want: Vec<&MFire> = want.iter().collect();
    want.sort_by_key(|f| (f.key.clone(), f.window.map(|w| (w.start, w.end)), f.update));
    assert_eq!(
        got.len(),
        want.len(),
        "case {case} step {step}: fired {:?}\nmodel {:?}",
        got.iter().map(|f| (key_of(f), f.start, f.end, f.update)).collect::<Vec<_>>(),
        want.iter().map(|f| (&f.key, f.window, f.update, f.events.len())).collect::<Vec<_>>()
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(key_of(g), w.key, "case {case} step {step}");
        if let Some(win) = w.window {
            assert_eq!((g.start, g.end), (win.start, win.end), "case {case} step {step}");
            assert_eq!(g.event_time, win.end - 1, "case {case} step {step}");
        }
        assert_eq!(g.update, w.update, "case {case} step {step} window {:?}", w.window);
        for (name, value) in expected_fields(&w.events) {
            assert!(
                close(g.f(name), &value),
                "case {case} step {step} window {:?}: {name} = {} but the model says {value} (events {:?})",
                w.window,
                g.f(name),
                w.events
            );
        }
    }
}

fn run_case(case: usize, seed: u64) -> (usize, Kind) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (kind, lateness, lag, steps) = gen_case(&mut rng);
    let mut h = Harness::new(&rule_text(kind, lateness));
    let mut m = Model::new(kind, if matches!(kind, Kind::Count(..)) { 0 } else { lateness });
    let mut max_ts = i64::MIN;
    let mut fired = 0;
    for (i, step) in steps.iter().enumerate() {
        let mut want = Vec::new();
        let got = match step {
            Step::Event { key, ts, v } => {
                let got = h.send(json!({"k": key, "ts": ts, "v": v}));
                m.element(key, *ts, Ev { seq: i, v: *v }, &mut want);
                let mut got = got;
                max_ts = max_ts.max(*ts);
                if let Some(lag) = lag {
                    got.extend(h.watermark(max_ts - lag - 1));
                    m.watermark(max_ts - lag - 1, &mut want);
                }
                got
            }
            Step::Watermark(wm) => {
                m.watermark(*wm, &mut want);
                h.watermark(*wm)
            }
        };
        fired += want.len();
        check_step(case, i, &got, &want);
    }
    let mut want = Vec::new();
    m.watermark(i64::MAX, &mut want);
    let got = h.finish();
    fired += want.len();
    check_step(case, steps.len(), &got, &want);
    assert_eq!(h.op.stats().dropped_late, m.dropped, "case {case}: dropped late events");
    if !matches!(kind, Kind::Count(..)) {
        assert_eq!(h.op.key_count(), 0, "case {case}: state left after the final watermark");
    }
    (fired, kind)
}

#[test]
fn random_streams_match_the_flink_model() {
    let mut fired = 0;
    let mut kinds = [0usize; 4];
    for case in 0..1500 {
        let (f, kind) = run_case(case, case as u64 + 1);
        fired += f;
        kinds[match kind {
            Kind::Tumbling(_) => 0,
            Kind::Sliding(..) => 1,
            Kind::Session(_) => 2,
            Kind::Count(..) => 3,
        }] += 1;
    }
    assert!(kinds.iter().all(|k| *k > 100), "{kinds:?}");
    assert!(fired > 10_000, "only {fired} firings");
}
