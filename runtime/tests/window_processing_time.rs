//! Streams without a `time` field: windows on processing time, with the
//! clock given explicitly (`on_event`'s `now_ms`, `on_processing_time`).

#[path = "window_common.rs"]
mod common;

use common::{spans, Harness};
use serde_json::json;

fn proc(window: &str) -> Harness {
    Harness::new(&format!(
        "rule r {{ from p partition by k window {window} emit k, count() as n, first(v) as fv }}"
    ))
}

#[test]
fn tumbling_fires_on_the_clock() {
    let mut h = proc("tumbling 10ms");
    assert!(!h.op.is_event_time());
    h.send_at(json!({"k": "a", "v": 1.0}), 3);
    h.send_at(json!({"k": "a", "v": 2.0}), 7);
    h.send_at(json!({"k": "b", "v": 3.0}), 12);
    assert!(h.clock(8).is_empty());
    let f = h.clock(9);
    assert_eq!(spans(&f), vec![(0, 10, 2)]);
    assert_eq!(f[0].event_time, 9);
    // an event given a time at or before the clock counts just after it
    h.send_at(json!({"k": "a", "v": 4.0}), 9);
    let f = h.clock(19);
    let mut got: Vec<_> = f.iter().map(|x| (x.key.to_string(), x.start, x.n("n"))).collect();
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, vec![("\"a\"".into(), 10, 1.0), ("\"b\"".into(), 10, 1.0)]);
    assert_eq!(h.op.key_count(), 0);
}

#[test]
fn watermarks_do_not_move_processing_time_and_lateness_does_not_apply() {
    let mut h = Harness::new(
        "rule r { from p partition by k window tumbling 10ms allow lateness 1h emit count() as n }",
    );
    h.send_at(json!({"k": "a"}), 5);
    assert!(h.watermark(1_000).is_empty());
    let f = h.clock(9);
    assert_eq!(spans(&f), vec![(0, 10, 1)]);
    // the window is gone at its end: lateness is an event-time notion
    assert_eq!(h.op.key_count(), 0);
    h.send_at(json!({"k": "a"}), 5);
    assert_eq!(spans(&h.clock(19)), vec![(10, 20, 1)]);
}

#[test]
fn sliding_and_session_on_the_clock() {
    let mut h = proc("sliding 10ms every 5ms");
    h.send_at(json!({"k": "a", "v": 1.0}), 7);
    assert_eq!(spans(&h.clock(9)), vec![(0, 10, 1)]);
    assert_eq!(spans(&h.clock(100)), vec![(5, 15, 1)]);

    let mut h = proc("session gap 10ms");
    h.send_at(json!({"k": "a", "v": 1.0}), 0);
    h.send_at(json!({"k": "a", "v": 2.0}), 8);
    // [0, 10) and [8, 18) merged: fires when the clock reaches 17
    assert!(h.clock(16).is_empty());
    let f = h.clock(17);
    assert_eq!(spans(&f), vec![(0, 18, 2)]);
    assert_eq!(f[0].n("fv"), 1.0);
}

#[test]
fn count_windows_need_no_clock() {
    let mut h = proc("count 2");
    assert!(h.send_at(json!({"k": "a", "v": 1.0}), 0).is_empty());
    assert_eq!(h.send_at(json!({"k": "a", "v": 1.0}), 0).len(), 1);
}

#[test]
fn the_end_of_a_bounded_input_fires_everything() {
    let mut h = proc("tumbling 1h");
    h.send_at(json!({"k": "a", "v": 1.0}), 1_000);
    assert_eq!(spans(&h.finish()), vec![(0, 3_600_000, 1)]);
}
