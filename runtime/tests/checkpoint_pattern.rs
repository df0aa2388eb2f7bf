//! The pattern operator's snapshot: cut a run anywhere, snapshot, restore
//! into a new operator, go on: the alerts are those of the run without the
//! cut.

use std::sync::Arc;

use cepheus_alerts::Alert;
use cepheus_dsl::plan::RulePlan;
use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::checkpoint::{OperatorSnapshot, RestoreContext, RestoreError, Snapshot};
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::pattern::PatternOperator;
use cepheus_runtime::record::Decoder;
use cepheus_runtime::state::KeyGroups;
use proptest::prelude::*;

const STREAM: &str = "stream s (id int, key string, type string, v int, ts timestamp) key key time ts lateness 0ms;\n";

const RULES: &[&str] = &[
    "rule r { from s partition by key pattern a -> b -> c define a as type = \"a\", b as type = \"b\", c as type = \"c\" within 20ms }",
    "rule r { from s partition by key pattern a+ -> b define a as type = \"a\", b as type = \"b\" after match skip past last event }",
    "rule r { from s pattern a ->> b define a as type = \"a\", b as type = \"b\" and v > a[0].v within 15ms }",
    "rule r { from s partition by key pattern a -> !c -> b define a as type = \"a\", b as type = \"b\", c as type = \"c\" after match skip to next }",
    "rule r { from s partition by key pattern a{2,3} b? -> c define a as type = \"a\", b as type = \"b\", c as type = \"c\" after match skip to first a within 30ms }",
    "rule r { from s partition by key pattern a -> !c define a as type = \"a\", c as type = \"c\" within 10ms on timeout emit key }",
    "rule r { from s partition by key pattern a+ -> b define a as type = \"a\" until type = \"d\", b as type = \"b\" and v > sum(a.v) within 25ms }",
];

fn plan(rule: &str, stream: &str) -> RulePlan {
    let compiled = compile(&format!("{stream}{rule}"), &Catalog::new());
    assert!(!compiled.has_errors(), "{rule}: {:?}", compiled.diagnostics);
    compiled.plans[0].clone()
}

type Ev = (u8, i64, i64, u8);

fn event(decoder: &Decoder, i: usize, &(t, v, ts, k): &Ev) -> Arc<Event> {
    let ty = ["a", "b", "c", "d"][t as usize % 4];
    let line = format!(r#"{{"id":{i},"key":"k{k}","type":"{ty}","v":{v},"ts":{ts}}}"#);
    Arc::new(Event {
        record: decoder.decode_at(line.as_bytes(), 1_000 + i as i64).expect("valid event"),
        position: Position {
            partition: (i % 3) as u32,
            offset: i as u64,
        },
    })
}

/// Runs `evs` with a watermark every `every` events; when `cut` is given,
/// snapshots after that many events and goes on with a restored operator.
fn run(plan: &RulePlan, evs: &[Ev], every: usize, cut: Option<usize>) -> Vec<Alert> {
    let decoder = Decoder::new(&plan.stream);
    let mut op = PatternOperator::new(plan, 3).expect("builds");
    let mut out = Vec::new();
    let mut max_ts = i64::MIN;
    for (i, e) in evs.iter().enumerate() {
        if cut == Some(i) {
            let snap = op.snapshot();
            op = PatternOperator::restore(plan, 3, &snap).expect("restores");
        }
        let ev = event(&decoder, i, e);
        max_ts = max_ts.max(ev.time());
        op.on_event(ev, 0, &mut out);
        if every > 0 && (i + 1) % every == 0 {
            op.on_watermark(max_ts - 1, 0, &mut out);
        }
    }
    if cut == Some(evs.len()) {
        let snap = op.snapshot();
        op = PatternOperator::restore(plan, 3, &snap).expect("restores");
    }
    op.on_watermark(i64::MAX, 0, &mut out);
    out
}

fn events() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec((0u8..4, 0i64..10, 0i64..4, 0u8..3), 0..50).prop_map(|mut evs| {
        let mut ts = 0;
        for e in &mut evs {
            ts += e.2;
            e.2 = ts;
        }
        evs
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn a_snapshot_anywhere_changes_nothing(evs in events(), rule in 0usize..RULES.len(), cut in 0usize..60, every in 0usize..4) {
        let plan = plan(RULES[rule], STREAM);
        let cut = cut.min(evs.len());
        let plain = run(&plan, &evs, every, None);
        let restored = run(&plan, &evs, every, Some(cut));
        // Same alerts, same order (a restore onto the same layout keeps key order).
        prop_assert_eq!(plain, restored);
    }
}

#[test]
fn snapshots_hold_keys_events_timers_and_counters() {
    let plan = plan(RULES[0], STREAM);
    let decoder = Decoder::new(&plan.stream);
    let mut op = PatternOperator::new(&plan, 3).unwrap();
    let mut out = Vec::new();
    let evs: Vec<Ev> = vec![(0, 1, 1, 0), (0, 1, 2, 1), (1, 1, 3, 0), (3, 1, 4, 2), (0, 1, 9, 0)];
    for (i, e) in evs.iter().enumerate() {
        op.on_event(event(&decoder, i, e), 0, &mut out);
    }
    op.on_watermark(5, 0, &mut out);
    let snap = op.snapshot();
    assert_eq!(snap.kind, "pattern");
    assert_eq!(snap.id, "r");
    assert_eq!(snap.shared.len(), 1);
    assert_eq!(snap.keyed.len(), 3, "three keys");
    let kg = KeyGroups::default();
    for e in &snap.keyed {
        assert_eq!(kg.of_bytes(&e.key), e.group);
    }
    let back = PatternOperator::restore(&plan, 3, &snap).unwrap();
    assert_eq!(back.stats(), op.stats());
    assert_eq!(back.watermark(), 5);
    assert_eq!(back.key_count(), 3);
    assert_eq!(back.partial_matches(), op.partial_matches());
    // A snapshot of the restored operator holds the same keys and shared state.
    let again = back.snapshot();
    assert_eq!(again.shared, snap.shared);
    assert_eq!(
        again.keyed.iter().map(|e| &e.key).collect::<Vec<_>>(),
        snap.keyed.iter().map(|e| &e.key).collect::<Vec<_>>()
    );
    // Splitting by key-group range loses nothing.
    let (lo, hi) = (kg.range_for_task(0, 2), kg.range_for_task(1, 2));
    assert_eq!(snap.for_range(lo).keyed.len() + snap.for_range(hi).keyed.len(), 3);
}

#[test]
fn processing_time_events_keep_their_time() {
    // No `time` field: the time an event was read at is stored with it.
    let stream = "stream p (key string, type string, v int) key key;\n";
    let plan = plan(
        "rule r { from p partition by key pattern a -> b define a as type = \"a\", b as type = \"b\" and v > a[0].v }",
        stream,
    );
    let decoder = Decoder::new(&plan.stream);
    let mut op = PatternOperator::new(&plan, 1).unwrap();
    let mut out = Vec::new();
    let mk = |i: u64, ty: &str, v: i64, at: i64| {
        let line = format!(r#"{{"key":"k","type":"{ty}","v":{v}}}"#);
        Arc::new(Event {
            record: decoder.decode_at(line.as_bytes(), at).unwrap(),
            position: Position { partition: 0, offset: i },
        })
    };
    op.on_event(mk(0, "a", 5, 1_000), 1_000, &mut out);
    let snap = op.snapshot();
    let mut back = PatternOperator::restore(&plan, 1, &snap).unwrap();
    let mut out2 = Vec::new();
    op.on_event(mk(1, "b", 7, 2_000), 2_000, &mut out);
    back.on_event(mk(1, "b", 7, 2_000), 2_000, &mut out2);
    assert_eq!(out.len(), 1);
    assert_eq!(out, out2);
    assert_eq!(out[0].matched.as_ref().unwrap()["a"][0]["v"], 5);
}

#[test]
fn events_built_from_trees_are_stored_as_json() {
    let plan = plan(RULES[1], STREAM);
    let decoder = Decoder::new(&plan.stream);
    let mut op = PatternOperator::new(&plan, 3).unwrap();
    let mut out = Vec::new();
    for (i, ty) in ["a", "a"].iter().enumerate() {
        let json = serde_json::json!({"id": i, "key": "k0", "type": ty, "v": 1, "ts": i});
        let record = decoder.decode_value_at(json, 0).unwrap();
        assert!(record.bytes().is_none());
        op.on_event(
            Arc::new(Event {
                record,
                position: Position {
                    partition: 0,
                    offset: i as u64,
                },
            }),
            0,
            &mut out,
        );
    }
    op.on_watermark(5, 0, &mut out);
    let mut back = PatternOperator::restore(&plan, 3, &op.snapshot()).unwrap();
    let b = event(&decoder, 2, &(1, 1, 6, 0));
    let mut out2 = out.clone();
    op.on_event(b.clone(), 0, &mut out);
    back.on_event(b, 0, &mut out2);
    op.on_watermark(i64::MAX, 0, &mut out);
    back.on_watermark(i64::MAX, 0, &mut out2);
    assert!(!out.is_empty());
    assert_eq!(out, out2);
}

#[test]
fn state_of_another_rule_version_or_kind_is_refused() {
    let plan = plan(RULES[0], STREAM);
    let decoder = Decoder::new(&plan.stream);
    let mut op = PatternOperator::new(&plan, 3).unwrap();
    op.on_event(event(&decoder, 0, &(0, 1, 1, 0)), 0, &mut Vec::new());
    let snap = op.snapshot();
    assert!(PatternOperator::restore(&plan, 4, &snap).is_err());
    let mut other = snap.clone();
    other.kind = "window".into();
    assert!(PatternOperator::restore(&plan, 3, &other).is_err());

    // A corrupt key is an error, and the operator it was loading into is
    // left as it was.
    let mut bad = snap.clone();
    let v = &mut bad.keyed[0].value;
    v.truncate(v.len() - 3);
    let mut fresh = PatternOperator::new(&plan, 3).unwrap();
    let err = fresh
        .restore_snapshot(&bad, &RestoreContext { decoder: &decoder })
        .unwrap_err();
    assert!(matches!(err, RestoreError::Corrupt { .. }), "{err}");
    assert_eq!(fresh.key_count(), 0);
    // An event whose stored bytes no longer decode.
    let mut undecodable = snap;
    let key = &undecodable.keyed[0];
    let mut value = key.value.clone();
    let at = value.windows(5).position(|w| w == b"{\"id\"").expect("the event's bytes are stored");
    value[at] = b'[';
    undecodable.keyed[0].value = value;
    let r = PatternOperator::restore(&plan, 3, &undecodable);
    assert!(r.is_err());
}

#[test]
fn an_empty_snapshot_restores_an_empty_operator() {
    let plan = plan(RULES[2], STREAM);
    let op = PatternOperator::restore(&plan, 3, &OperatorSnapshot {
        id: "r".into(),
        kind: "pattern".into(),
        ..OperatorSnapshot::default()
    })
    .unwrap();
    assert_eq!(op.key_count(), 0);
    assert_eq!(op.watermark(), i64::MIN);
    let fresh = PatternOperator::new(&plan, 3).unwrap();
    let snap = fresh.snapshot();
    assert!(snap.keyed.is_empty());
}
