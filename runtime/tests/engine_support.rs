//! Shared by the engine tests (`#[path]`-included; it has no tests itself).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cepheus_alerts::{Alert, Collect};
use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::engine::{ActiveRule, Engine, EngineConfig, SourceConfig, StateBackendKind, StreamBinding};

pub const STREAM: &str = "stream tx (id int, card string, amount float, ts timestamp) key card time ts lateness 2s;\n";

pub const SMALL_THEN_BIG: &str = "rule small_then_big { severity high from tx partition by card \
    pattern s{2,} -> b define s as amount < 5, b as amount > 500 within 10m \
    after match skip past last event emit card, count(s) as tries }";

pub const TWO_BIG: &str = "rule two_big { from tx partition by card pattern x -> y \
    define x as amount > 800, y as amount > 800 within 1h emit card, y.amount as second }";

/// Compiles `rules` (each one rule's text) under the `tx` stream.
pub fn rules(texts: &[(&str, u64)]) -> Vec<ActiveRule> {
    texts
        .iter()
        .map(|(text, version)| {
            let src = format!("{STREAM}{text}");
            let c = compile(&src, &Catalog::new());
            assert!(!c.has_errors(), "{:?}", c.diagnostics);
            let plan = c.plans.into_iter().next().expect("one rule");
            ActiveRule {
                id: plan.name.clone(),
                version: *version,
                source: src,
                plan,
            }
        })
        .collect()
}

pub fn config(dir: &Path, partitions: u32, workers: usize, backend: StateBackendKind) -> EngineConfig {
    EngineConfig {
        instance_id: "test".into(),
        state_dir: dir.join("state"),
        checkpoint_dir: dir.join("checkpoints"),
        checkpoint_interval_ms: 0,
        checkpoints_retained: 3,
        workers,
        state_backend: backend,
        idle_partition_timeout_ms: 1_000,
        max_partial_matches_per_key: None,
        max_open_windows_per_key: None,
        streams: vec![StreamBinding {
            name: "tx".into(),
            source: SourceConfig::Embedded { partitions },
        }],
    }
}

pub fn start(config: EngineConfig) -> (Engine, Arc<Collect>, prometheus::Registry) {
    let out = Arc::new(Collect::default());
    let registry = prometheus::Registry::new();
    let engine = Engine::start(config, out.clone(), &registry).expect("engine starts");
    (engine, out, registry)
}

/// A recorded stream: `n` events over `cards` cards with planted patterns,
/// timestamps mostly increasing with some disorder within the lateness.
pub fn events(seed: u64, n: usize, cards: usize) -> Vec<String> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let base = 1_700_000_000_000i64;
    (0..n)
        .map(|i| {
            let r = next();
            let card = (r % cards as u64) as usize;
            let amount = match (r >> 8) % 10 {
                0..=3 => 1.0 + ((r >> 16) % 300) as f64 / 100.0,
                4..=6 => 20.0 + ((r >> 16) % 100) as f64,
                7 => 600.0 + ((r >> 16) % 200) as f64,
                _ => 850.0 + ((r >> 16) % 300) as f64,
            };
            let jitter = ((r >> 24) % 1500) as i64;
            let ts = base + i as i64 * 1_000 - jitter;
            format!(r#"{{"id":{i},"card":"c{card}","amount":{amount},"ts":{ts}}}"#)
        })
        .collect()
}

pub fn append_all(engine: &Engine, lines: &[String], chunk: usize) {
    for c in lines.chunks(chunk.max(1)) {
        let body = c.join("\n");
        let r = engine.append("tx", body.as_bytes()).expect("append");
        assert_eq!(r.malformed, 0, "{:?}", r.errors);
    }
}

pub fn caught_up(engine: &Engine) {
    assert!(engine.wait_caught_up(Duration::from_secs(30)), "engine did not catch up");
}

/// An alert without its wall-clock stamp, as JSON text.
pub fn comparable(a: &Alert) -> String {
    let mut a = a.clone();
    a.detected_at = String::new();
    serde_json::to_string(&a).expect("alert serialises")
}

/// Alerts by id; panics if one id carries two different alerts.
pub fn by_id(alerts: &[Alert]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for a in alerts {
        let c = comparable(a);
        if let Some(prev) = m.insert(a.id.clone(), c.clone()) {
            assert_eq!(prev, c, "one id, two different alerts");
        }
    }
    m
}

/// The value of a metric sample with the given labels.
pub fn metric(registry: &prometheus::Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    for fam in registry.gather() {
        if fam.name() != name {
            continue;
        }
        for m in fam.get_metric() {
            let ok = labels
                .iter()
                .all(|(k, v)| m.get_label().iter().any(|l| l.name() == *k && l.value() == *v));
            if ok {
                return match fam.get_field_type() {
                    prometheus::proto::MetricType::COUNTER => Some(m.get_counter().get_value()),
                    prometheus::proto::MetricType::GAUGE => Some(m.get_gauge().get_value()),
                    _ => None,
                };
            }
        }
    }
    None
}
