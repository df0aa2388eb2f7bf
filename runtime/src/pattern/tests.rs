//! The operator's own bookkeeping: timers, the pending buffer, key lookup.
//! Matching semantics are tested against FlinkCEP in `tests/`.

use std::sync::Arc;

use cepheus_alerts::Alert;
use cepheus_dsl::{compile, Catalog};

use super::PatternOperator;
use crate::event::{Event, Position};
use crate::record::Decoder;

const STREAM: &str = "stream s (id int, key string, type string, ts timestamp) key key time ts;\n";

fn operator(rule: &str) -> (PatternOperator, Decoder) {
    let src = format!("{STREAM}{rule}");
    let compiled = compile(&src, &Catalog::new());
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = &compiled.plans[0];
    (PatternOperator::new(plan, 1).expect("builds"), Decoder::new(&plan.stream))
}

fn feed(op: &mut PatternOperator, decoder: &Decoder, offset: u64, line: &str, out: &mut Vec<Alert>) {
    let record = decoder.decode(line.as_bytes()).expect("decodes");
    let position = Position { partition: 0, offset };
    op.on_event(Arc::new(Event { record, position }), 0, out);
}

/// A partial match that starts as another completes leaves the partial-match
/// count unchanged; FlinkCEP still arms its window timer, so its timeout is
/// reported (this one was lost when timers followed the count).
#[test]
fn a_partial_match_started_by_a_completing_event_still_times_out() {
    let (mut op, d) = operator(r#"rule r { from s pattern a{2} define a as type = "a" within 18ms on timeout emit count(a) as n }"#);
    let mut out = Vec::new();
    feed(&mut op, &d, 0, r#"{"id":1,"key":"k","type":"a","ts":10}"#, &mut out);
    op.on_watermark(10, 0, &mut out);
    feed(&mut op, &d, 1, r#"{"id":2,"key":"k","type":"a","ts":12}"#, &mut out);
    op.on_watermark(12, 0, &mut out);
    // The first partial match's timer (10 + 18) fires; the second one's
    // window ends at 30.
    op.on_watermark(29, 0, &mut out);
    assert_eq!(out.iter().filter(|a| !a.timeout).count(), 1, "{out:?}");
    op.on_watermark(i64::MAX, 0, &mut out);
    let timeouts: Vec<&Alert> = out.iter().filter(|a| a.timeout).collect();
    assert_eq!(timeouts.len(), 1, "{out:?}");
    assert_eq!(timeouts[0].event_time, crate::time::format_rfc3339(30));
}

/// Out-of-order events wait in timestamp order (equal timestamps in
/// arrival order), and a key with buffered events fires at the watermark
/// that passes its earliest one.
#[test]
fn buffered_events_are_matched_in_time_order() {
    let (mut op, d) = operator(r#"rule r { from s partition by key pattern a b c define a as type = "a", b as type = "b", c as type = "c" }"#);
    let mut out = Vec::new();
    feed(&mut op, &d, 0, r#"{"id":3,"key":"k","type":"c","ts":7}"#, &mut out);
    feed(&mut op, &d, 1, r#"{"id":1,"key":"k","type":"a","ts":5}"#, &mut out);
    feed(&mut op, &d, 2, r#"{"id":2,"key":"k","type":"b","ts":6}"#, &mut out);
    feed(&mut op, &d, 3, r#"{"id":4,"key":"j","type":"a","ts":6}"#, &mut out);
    op.on_watermark(6, 0, &mut out);
    assert!(out.is_empty(), "c at 7 is not due yet: {out:?}");
    op.on_watermark(7, 0, &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    let matched = out[0].matched.as_ref().expect("matched events");
    let ids: Vec<i64> = ["a", "b", "c"].iter().map(|v| matched[*v][0]["id"].as_i64().unwrap_or(0)).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(op.key_count(), 2);
}
