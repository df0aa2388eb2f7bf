//! Tumbling windows: alignment, firing on the watermark, out-of-order
//! events, allowed lateness (updates), too-late events (dropped, counted),
//! keys, `having`, `emit`, ids, state cleanup, the per-key window limit.

#[path = "window_common.rs"]
mod common;

use common::{spans, Harness};
use serde_json::json;

fn tumbling(extra: &str) -> Harness {
    Harness::new(&format!(
        "rule r {{ from s partition by k window tumbling 10ms {extra} emit k, count() as n, sum(v) as total }}"
    ))
}

#[test]
fn fires_when_the_watermark_reaches_end_minus_one() {
    let mut h = tumbling("").with_lag(0);
    assert!(h.ev("a", 1, 1.0).is_empty());
    assert!(h.ev("a", 5, 2.0).is_empty());
    // watermark 8 < 9
    assert!(h.ev("a", 9, 3.0).is_empty());
    // watermark 9 = end - 1: [0, 10) fires with 3 events
    let f = h.ev("a", 10, 4.0);
    assert_eq!(spans(&f), vec![(0, 10, 3)]);
    assert_eq!(f[0].n("total"), 6.0);
    assert_eq!(f[0].event_time, 9, "Flink's emitted timestamp: window.maxTimestamp()");
    assert!(!f[0].update);
    assert_eq!(f[0].key, json!("a"));
    // the rest fires at the end of input
    assert_eq!(spans(&h.finish()), vec![(10, 20, 1)]);
    assert_eq!(h.op.key_count(), 0);
    assert_eq!(h.op.open_windows(), 0);
}

#[test]
fn windows_are_aligned_to_the_epoch_also_before_it() {
    let mut h = Harness::new("rule r { from s partition by k window tumbling 7ms emit count() as n }");
    for ts in [-8, -7, -1, 0, 6, 7, 13, 14] {
        h.ev("a", ts, 0.0);
    }
    assert_eq!(
        spans(&h.finish()),
        vec![(-14, -7, 1), (-7, 0, 2), (0, 7, 2), (7, 14, 2), (14, 21, 1)]
    );
}

#[test]
fn out_of_order_events_within_the_watermark_lag_count_on_time() {
    let mut h = tumbling("").with_lag(5);
    h.ev("a", 1, 1.0);
    h.ev("a", 12, 1.0); // watermark 6
    assert!(h.ev("a", 3, 1.0).is_empty(), "behind the watermark but its window is open");
    assert_eq!(h.op.stats().late_events, 1);
    let f = h.ev("a", 20, 1.0); // watermark 14
    assert_eq!(spans(&f), vec![(0, 10, 2)]);
    assert!(!f[0].update);
    assert_eq!(h.op.stats().dropped_late, 0);
}

#[test]
fn late_event_within_allowed_lateness_refires_the_window_as_an_update() {
    let mut h = tumbling("allow lateness 5ms").with_lag(0);
    h.ev("a", 1, 1.0);
    let f = h.ev("a", 12, 10.0); // watermark 11: [0, 10) fires
    assert_eq!(spans(&f), vec![(0, 10, 1)]);
    // late (4 <= 11) but [0, 10) lives until 9 + 5 = 14 > 11: fires again at
    // once with all its events
    let f = h.ev("a", 4, 2.0);
    assert_eq!(spans(&f), vec![(0, 10, 2)]);
    assert!(f[0].update);
    assert_eq!(f[0].n("total"), 3.0);
    let again = h.ev("a", 9, 4.0);
    assert_eq!(spans(&again), vec![(0, 10, 3)]);
    assert!(again[0].update);
    assert_ne!(f[0].id, again[0].id, "each firing has its own id");
    // watermark 15 >= 14: [0, 10) is gone; a later event for it is dropped
    h.ev("a", 16, 0.0);
    assert!(h.ev("a", 7, 100.0).is_empty());
    assert_eq!(h.op.stats().dropped_late, 1);
    assert_eq!(h.op.stats().updates, 2);
    let f = h.finish();
    assert_eq!(spans(&f), vec![(10, 20, 2)]);
    assert!(!f[0].update);
}

#[test]
fn a_window_first_created_by_a_late_event_fires_at_once_not_as_an_update() {
    let mut h = tumbling("allow lateness 30ms").with_lag(0);
    h.ev("a", 25, 1.0); // watermark 24
    let f = h.ev("a", 3, 1.0); // [0, 10) is past its end (9 <= 24) but alive (39 > 24)
    assert_eq!(spans(&f), vec![(0, 10, 1)]);
    assert!(!f[0].update);
}

#[test]
fn too_late_events_are_dropped_and_counted() {
    let mut h = tumbling("").with_lag(0);
    h.ev("a", 1, 1.0);
    h.ev("a", 15, 1.0); // watermark 14: [0, 10) fired and is gone
    assert!(h.ev("a", 5, 1.0).is_empty());
    assert!(h.ev("b", 9, 1.0).is_empty(), "a new key's too-late event too");
    assert_eq!(h.op.stats().dropped_late, 2);
    assert_eq!(h.op.key_count(), 1, "no state for a key that only had dropped events");
    assert_eq!(spans(&h.finish()), vec![(10, 20, 1)]);
}

#[test]
fn end_minus_one_plus_lateness_equal_to_the_watermark_is_late() {
    let mut h = tumbling("allow lateness 3ms");
    h.ev("a", 0, 1.0);
    h.watermark(11); // [0, 10) fired; 9 + 3 = 12 > 11: alive
    assert_eq!(h.ev("a", 1, 1.0).len(), 1);
    h.watermark(12); // 12 <= 12: cleaned up
    assert!(h.ev("a", 2, 1.0).is_empty());
    assert_eq!(h.op.stats().dropped_late, 1);
    assert_eq!(h.op.key_count(), 0);
}

#[test]
fn keys_have_their_own_windows() {
    let mut h = tumbling("");
    h.ev("a", 1, 1.0);
    h.ev("b", 2, 2.0);
    h.ev("a", 3, 3.0);
    h.ev("b", 15, 4.0);
    let mut f = h.finish();
    f.sort_by_key(|x| (x.key.to_string(), x.start));
    let got: Vec<_> = f.iter().map(|x| (x.key.clone(), x.start, x.n("n"), x.n("total"))).collect();
    assert_eq!(
        got,
        vec![
            (json!("a"), 0, 2.0, 4.0),
            (json!("b"), 0, 1.0, 2.0),
            (json!("b"), 10, 1.0, 4.0)
        ]
    );
}

#[test]
fn a_rule_without_partition_by_has_one_window_for_the_stream() {
    let mut h = Harness::new("rule r { from s window tumbling 10ms emit count() as n }");
    h.ev("a", 1, 1.0);
    h.ev("b", 2, 1.0);
    let f = h.finish();
    assert_eq!(spans(&f), vec![(0, 10, 2)]);
    assert!(h.alerts[0].key.is_empty());
}

#[test]
fn where_filters_before_windowing_and_having_filters_fired_windows() {
    let mut h = Harness::new(
        "rule r { from s where v > 0 partition by k window tumbling 10ms having count() >= 2
                  emit k, count() as n }",
    );
    h.ev("a", 1, 1.0);
    h.ev("a", 2, -1.0); // filtered out
    h.ev("b", 3, 1.0);
    h.ev("b", 4, 2.0);
    let f = h.finish();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].key, json!("b"));
    let st = h.op.stats();
    assert_eq!((st.events, st.filtered_out, st.windows_fired, st.rejected_by_having, st.alerts), (4, 1, 2, 1, 1));
}

#[test]
fn emit_reads_window_bounds_keys_and_aggregates_and_the_message_renders() {
    let mut h = Harness::new(
        r#"rule r { severity high from s partition by k window tumbling 1m
             emit k, window.start as ws, window.end as we, count() as n, max(v) - min(v) as spread
             message "{k}: {n} events from {ws}" }"#,
    );
    h.ev("c-1", 61_000, 1.5);
    h.ev("c-1", 62_000, 4.0);
    h.finish();
    let a = &h.alerts[0];
    assert_eq!(a.fields["ws"], json!("1970-01-01T00:01:00.000Z"));
    assert_eq!(a.fields["we"], json!("1970-01-01T00:02:00.000Z"));
    assert_eq!(a.fields["spread"], json!(2.5));
    let w = a.window.as_ref().unwrap();
    assert_eq!((w.start.as_str(), w.end.as_str()), ("1970-01-01T00:01:00.000Z", "1970-01-01T00:02:00.000Z"));
    assert_eq!(a.event_time, "1970-01-01T00:01:59.999Z");
    assert_eq!(a.message, "c-1: 2 events from 1970-01-01T00:01:00.000Z");
    assert_eq!(a.severity, "high");
    assert_eq!(a.key["k"], json!("c-1"));
    assert!(a.matched.is_none());
    let text = serde_json::to_value(a).unwrap();
    assert_eq!(text["window"]["start"], json!("1970-01-01T00:01:00.000Z"));
    assert!(text.get("update").is_none(), "update: false is not written");
}

#[test]
fn ids_are_deterministic_and_distinct() {
    let run = || {
        let mut h = tumbling("allow lateness 20ms").with_lag(0);
        for (k, ts) in [("a", 1), ("b", 2), ("a", 12), ("a", 3), ("b", 25), ("a", 4)] {
            h.ev(k, ts, 1.0);
        }
        h.finish();
        h.alerts.iter().map(|a| a.id.clone()).collect::<Vec<_>>()
    };
    let (one, two) = (run(), run());
    assert_eq!(one, two);
    let mut uniq = one.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), one.len(), "{one:?}");
}

#[test]
fn the_per_key_window_limit_drops_and_counts() {
    let plan = common::plan_of(&format!(
        "{}\nrule r {{ from s partition by k window tumbling 10ms emit count() as n }}",
        common::STREAM
    ));
    let mut h = Harness::from_plan(&plan);
    h.op = cepheus_runtime::window::WindowOperator::new(&plan, 1)
        .unwrap()
        .with_max_open_windows(Some(2));
    h.ev("a", 1, 0.0);
    h.ev("a", 11, 0.0);
    h.ev("a", 21, 0.0); // a third open window: dropped
    h.ev("a", 12, 0.0); // an open window: kept
    h.ev("b", 21, 0.0); // another key: its own limit
    assert_eq!(h.op.stats().dropped_window_limit, 1);
    assert_eq!(h.op.open_windows(), 3);
    let mut f = h.finish();
    f.sort_by_key(|x| (x.key.to_string(), x.start));
    assert_eq!(spans(&f), vec![(0, 10, 1), (10, 20, 2), (20, 30, 1)]);
}

#[test]
fn watermarks_that_do_not_advance_are_ignored() {
    let mut h = tumbling("");
    h.ev("a", 1, 0.0);
    assert_eq!(h.watermark(20).len(), 1);
    assert!(h.watermark(5).is_empty());
    assert_eq!(h.op.watermark(), 20);
}

#[test]
fn state_is_estimated_and_released() {
    let mut h = tumbling("");
    for i in 0..100 {
        h.ev(&format!("k{i}"), i, 1.0);
    }
    assert_eq!(h.op.key_count(), 100);
    let bytes = h.op.state_bytes();
    assert!(bytes > 100 * 64, "{bytes}");
    h.finish();
    assert_eq!(h.op.key_count(), 0);
    assert_eq!(h.op.open_windows(), 0);
}
