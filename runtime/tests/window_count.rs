//! Count windows: `count N` (tumbling, purging) and `count N every M`
//! (evicting), per key, in arrival order, never late, never fired partial.

#[path = "window_common.rs"]
mod common;

use common::Harness;
use serde_json::json;

fn count(spec: &str) -> Harness {
    Harness::new(&format!(
        "rule r {{ from s partition by k window {spec}
                   emit k, count() as n, sum(v) as total, first(v) as fv, last(v) as lv }}"
    ))
}

/// (n, first, last) of each firing.
fn fired(f: &[common::Fired]) -> Vec<(i64, f64, f64)> {
    f.iter()
        .map(|x| (x.n("n") as i64, x.n("fv"), x.n("lv")))
        .collect()
}

#[test]
fn count_n_fires_every_n_events_and_empties() {
    let mut h = count("count 3");
    let mut all = Vec::new();
    for i in 1..=7 {
        all.extend(h.ev("a", i, i as f64));
    }
    assert_eq!(fired(&all), vec![(3, 1.0, 3.0), (3, 4.0, 6.0)]);
    assert!(h.finish().is_empty(), "a partial count window never fires");
    assert_eq!(h.op.key_count(), 1);
}

#[test]
fn count_n_every_m_fires_with_the_last_n_and_partial_first_windows() {
    let mut h = count("count 4 every 2");
    let mut all = Vec::new();
    for i in 1..=9 {
        all.extend(h.ev("a", i, i as f64));
    }
    assert_eq!(
        fired(&all),
        vec![(2, 1.0, 2.0), (4, 1.0, 4.0), (4, 3.0, 6.0), (4, 5.0, 8.0)]
    );
    assert!(h.finish().is_empty());
}

#[test]
fn count_with_a_slide_that_does_not_divide_the_size() {
    let mut h = count("count 5 every 3");
    let mut all = Vec::new();
    for i in 1..=9 {
        all.extend(h.ev("a", i, i as f64));
    }
    assert_eq!(fired(&all), vec![(3, 1.0, 3.0), (5, 2.0, 6.0), (5, 5.0, 9.0)]);
    assert_eq!(all[2].n("total"), 35.0);
}

#[test]
fn arrival_order_not_time_and_nothing_is_late() {
    let mut h = count("count 3").with_lag(0);
    h.ev("a", 100, 1.0);
    h.ev("a", 5, 2.0); // far behind the watermark (99)
    let f = h.ev("a", 50, 3.0);
    assert_eq!(fired(&f), vec![(3, 1.0, 3.0)]);
    assert_eq!(h.op.stats().dropped_late, 0);
    // bounds: least time, greatest + 1; event time: the greatest
    assert_eq!((f[0].start, f[0].end, f[0].event_time), (5, 101, 100));
}

#[test]
fn keys_count_separately_and_ids_differ() {
    let mut h = count("count 2");
    let mut all = Vec::new();
    for (k, v) in [("a", 1.0), ("b", 2.0), ("a", 3.0), ("b", 4.0), ("a", 5.0), ("a", 5.0)] {
        all.extend(h.ev(k, 1, v));
    }
    let got: Vec<_> = all.iter().map(|x| (x.key.clone(), x.n("total"))).collect();
    assert_eq!(got, vec![(json!("a"), 4.0), (json!("b"), 6.0), (json!("a"), 10.0)]);
    let mut ids: Vec<_> = all.iter().map(|x| x.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn count_windows_ignore_watermarks_and_the_clock() {
    let mut h = count("count 2");
    h.ev("a", 1, 1.0);
    assert!(h.watermark(i64::MAX - 1).is_empty());
    assert!(h.clock(1_000).is_empty());
    assert_eq!(h.ev("a", 2, 1.0).len(), 1);
}
