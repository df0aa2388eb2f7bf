//! Window operator throughput and state size.
//!
//! `cargo bench -p cepheus-runtime --bench window`
//!
//! The workload of the Flink window peer's bench mode (`--gen`): event `i`
//! at `1700000000000 + i` ms (1000 events per second of event time), key
//! uniform over 100,000 keys, `v` uniform in [0, 100); watermark every 1,000
//! events (`max ts - 1`, no lag), then the final watermark. Aggregates
//! `count()`, `sum(v)`, `avg(v)`. Every fired window computes its aggregates
//! and evaluates `having`; the `... no alerts` cases use a `having` that is
//! never true (the cost of windows), the `... alerts` case builds an alert
//! for every firing (ids, RFC 3339 bounds, JSON fields).
//!
//! Besides criterion's events/s, it prints the state just before the final
//! watermark: bytes per key and per open window (a (key, window) pair with
//! state: what Flink keeps one accumulator for), from the operator's own
//! estimate ([`WindowOperator::state_bytes`]).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::event::Position;
use cepheus_runtime::record::Record;
use cepheus_runtime::value::Value;
use cepheus_runtime::window::WindowOperator;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const KEYS: usize = 100_000;
const BASE: i64 = 1_700_000_000_000;

fn plan(window: &str, having: &str) -> cepheus_dsl::plan::RulePlan {
    let src = format!(
        "stream bench (key string, v float, ts timestamp) key key time ts lateness 0s;
         rule r {{ from bench partition by key window {window} {having}
                   emit key, count() as n, sum(v) as s, avg(v) as a }}"
    );
    let c = compile(&src, &Catalog::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    c.plans.into_iter().next().unwrap()
}

/// splitmix64
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn events(n: usize) -> Vec<Record> {
    let keys: Vec<Value> = (0..KEYS).map(|k| Value::str(format!("k{k}"))).collect();
    let json = Arc::new(serde_json::json!({}));
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let ts = BASE + i as i64;
            let key = keys[(rng.next() % KEYS as u64) as usize].clone();
            let v = (rng.next() % 10_000) as f64 / 100.0;
            Record::new(vec![key, Value::Float(v), Value::Timestamp(ts)], ts, Arc::clone(&json))
        })
        .collect()
}

struct Run {
    fired: u64,
    alerts: u64,
    state_bytes: usize,
    keys: usize,
    live_windows: usize,
    panes: usize,
}

fn run(op: &mut WindowOperator, evs: &[Record]) -> Run {
    let mut out = Vec::new();
    let mut alerts = 0u64;
    let mut max_ts = i64::MIN;
    for (i, r) in evs.iter().enumerate() {
        op.on_record(
            r,
            Position {
                partition: 0,
                offset: i as u64,
            },
            0,
            &mut out,
        );
        max_ts = max_ts.max(r.time());
        if i % 1000 == 999 {
            op.on_watermark(max_ts - 1, 0, &mut out);
        }
        alerts += out.len() as u64;
        out.clear();
    }
    let state = (op.state_bytes(), op.key_count(), op.live_windows(), op.open_windows());
    op.on_watermark(i64::MAX, 0, &mut out);
    alerts += out.len() as u64;
    Run {
        fired: op.stats().windows_fired,
        alerts,
        state_bytes: state.0,
        keys: state.1,
        live_windows: state.2,
        panes: state.3,
    }
}

fn report(name: &str, plan: &cepheus_dsl::plan::RulePlan, evs: &[Record]) {
    let mut op = WindowOperator::new(plan, 1).unwrap();
    let t = Instant::now();
    let r = run(&mut op, evs);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{name}: {} events in {:.2} s = {:.0} events/s; {} windows fired ({} alerts); \
         before the final watermark: {} keys, {} open windows, {} panes, {} state bytes = \
         {:.0} B/key, {:.1} B per open window and key",
        evs.len(),
        secs,
        evs.len() as f64 / secs,
        r.fired,
        r.alerts,
        r.keys,
        r.live_windows,
        r.panes,
        r.state_bytes,
        r.state_bytes as f64 / r.keys.max(1) as f64,
        r.state_bytes as f64 / r.live_windows.max(1) as f64,
    );
}

fn bench(c: &mut Criterion) {
    let never = "having sum(v) < 0";
    let cases = [
        ("sliding 5m every 1s, no alerts", plan("sliding 5m every 1s", never), 200_000),
        ("tumbling 1m, no alerts", plan("tumbling 1m", never), 1_000_000),
        ("tumbling 1m, alerts", plan("tumbling 1m", ""), 1_000_000),
    ];
    let mut g = c.benchmark_group("window");
    g.sample_size(10);
    for (name, plan, n) in &cases {
        let evs = events(*n);
        report(name, plan, &evs);
        g.throughput(Throughput::Elements(*n as u64));
        g.bench_function(*name, |b| {
            b.iter_batched(
                || WindowOperator::new(plan, 1).unwrap(),
                |mut op| black_box(run(&mut op, &evs).fired),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
