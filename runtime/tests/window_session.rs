//! Session windows: gaps, merging (also of windows that only touch, and
//! merges made by out-of-order and late events), lateness judged after
//! merging, updates, cleanup.

#[path = "window_common.rs"]
mod common;

use common::{spans, Harness};

fn session(gap: i64, extra: &str) -> Harness {
    Harness::new(&format!(
        "rule r {{ from s partition by k window session gap {gap}ms {extra}
                   emit k, count() as n, first(v) as fv, last(v) as lv }}"
    ))
}

#[test]
fn events_closer_than_the_gap_share_a_session() {
    let mut h = session(10, "").with_lag(0);
    h.ev("a", 0, 1.0);
    h.ev("a", 5, 2.0);
    // [0, 15) ends at 14; the watermark after 20 is 19
    let f = h.ev("a", 20, 3.0);
    assert_eq!(spans(&f), vec![(0, 15, 2)]);
    assert_eq!((f[0].n("fv"), f[0].n("lv")), (1.0, 2.0));
    assert_eq!(f[0].event_time, 14);
    assert_eq!(spans(&h.finish()), vec![(20, 30, 1)]);
    assert_eq!(h.op.key_count(), 0);
}

#[test]
fn windows_that_touch_merge() {
    // [0, 10) and [10, 20): TimeWindow.intersects is inclusive
    let mut h = session(10, "");
    h.ev("a", 0, 1.0);
    h.ev("a", 10, 1.0);
    h.ev("a", 21, 1.0); // [21, 31) does not touch [0, 20)
    assert_eq!(spans(&h.finish()), vec![(0, 20, 2), (21, 31, 1)]);
}

#[test]
fn an_out_of_order_event_bridges_two_sessions() {
    let mut h = session(10, "").with_lag(100);
    h.ev("a", 0, 1.0);
    h.ev("a", 30, 3.0);
    assert_eq!(h.op.open_windows(), 2);
    h.ev("a", 15, 2.0); // [15, 25) touches neither... [0,10) ends 10 < 15
    assert_eq!(h.op.open_windows(), 3);
    h.ev("a", 8, 4.0); // [8, 18) touches [0, 10) and [15, 25)
    assert_eq!(h.op.open_windows(), 2);
    h.ev("a", 22, 5.0); // [22, 32) touches [0, 25) and [30, 40)
    assert_eq!(h.op.open_windows(), 1);
    let f = h.finish();
    assert_eq!(spans(&f), vec![(0, 40, 5)]);
    // first and last in arrival order
    assert_eq!((f[0].n("fv"), f[0].n("lv")), (1.0, 5.0));
}

#[test]
fn a_late_event_merges_fired_sessions_and_fires_at_once_as_an_update() {
    let mut h = session(10, "allow lateness 100ms");
    h.ev("a", 0, 1.0);
    h.ev("a", 20, 2.0);
    assert_eq!(spans(&h.watermark(35)), vec![(0, 10, 1), (20, 30, 1)]);
    let f = h.ev("a", 10, 3.0); // [10, 20) touches both
    assert_eq!(spans(&f), vec![(0, 30, 3)]);
    assert!(f[0].update);
    assert_eq!((f[0].n("fv"), f[0].n("lv")), (1.0, 3.0));
    assert!(h.finish().is_empty());
}

#[test]
fn a_late_event_extending_a_fired_session_past_the_watermark_waits_for_it() {
    let mut h = session(10, "allow lateness 50ms");
    h.ev("a", 100, 1.0);
    assert_eq!(spans(&h.watermark(112)), vec![(100, 110, 1)]);
    // [105, 115) extends it to [100, 115): end - 1 = 114 > 112
    assert!(h.ev("a", 105, 1.0).is_empty());
    let f = h.watermark(114);
    assert_eq!(spans(&f), vec![(100, 115, 2)]);
    assert!(f[0].update, "it grew from a session that fired");
}

#[test]
fn lateness_is_judged_after_merging() {
    let mut h = session(10, "").with_lag(0);
    h.ev("a", 100, 1.0);
    h.ev("a", 108, 1.0); // [100, 118); watermark 107
    // [95, 105) alone would be past its end (104 <= 107), but it touches the
    // open session: kept, and the session grows to [95, 118)
    assert!(h.ev("a", 95, 1.0).is_empty());
    assert_eq!(h.op.stats().dropped_late, 0);
    assert_eq!(h.op.stats().late_events, 1);
    // [80, 90) touches nothing and is past its cleanup time: dropped
    assert!(h.ev("a", 80, 1.0).is_empty());
    assert_eq!(h.op.stats().dropped_late, 1);
    let f = h.finish();
    assert_eq!(spans(&f), vec![(95, 118, 3)]);
    assert!(!f[0].update);
}

#[test]
fn a_session_that_covers_a_dead_one_is_not_its_update() {
    // [100, 110) fires and is cleaned up at watermark 110; then a late
    // event at 108 joins [111, 121) and one at 99 makes it [99, 121), which
    // covers the first session's bounds but holds none of its events: a
    // new result, not an update.
    let mut h = session(10, "").with_lag(0);
    h.ev("a", 100, 1.0);
    let f = h.ev("a", 111, 1.0);
    assert_eq!(spans(&f), vec![(100, 110, 1)]);
    h.ev("a", 108, 1.0); // [108, 118) touches [111, 121)
    h.ev("a", 99, 1.0); // [99, 109) touches [108, 121)
    assert_eq!(h.op.stats().dropped_late, 0);
    let f = h.finish();
    assert_eq!(spans(&f), vec![(99, 121, 3)]);
    assert!(!f[0].update);
}

#[test]
fn sessions_are_removed_at_end_minus_one_plus_lateness() {
    let mut h = session(10, "allow lateness 5ms");
    h.ev("a", 0, 1.0);
    h.watermark(9);
    assert_eq!(h.op.open_windows(), 1);
    h.watermark(13);
    assert_eq!(h.op.open_windows(), 1);
    h.watermark(14);
    assert_eq!(h.op.open_windows(), 0);
    assert_eq!(h.op.key_count(), 0);
    // [5, 15) alone is past 14 + 5 = 19 only at 19: still alive at 14
    assert_eq!(h.ev("a", 5, 1.0).len(), 1, "fires at once (end 14 <= 14)");
}

#[test]
fn keys_have_their_own_sessions() {
    let mut h = session(10, "");
    h.ev("a", 0, 1.0);
    h.ev("b", 5, 1.0);
    h.ev("a", 10, 1.0);
    h.ev("b", 16, 1.0);
    let mut f = h.finish();
    f.sort_by_key(|x| (x.key.to_string(), x.start));
    let got: Vec<_> = f.iter().map(|x| (x.key.as_str().unwrap().to_string(), x.start, x.end)).collect();
    assert_eq!(got, vec![("a".into(), 0, 20), ("b".into(), 5, 15), ("b".into(), 16, 26)]);
}
