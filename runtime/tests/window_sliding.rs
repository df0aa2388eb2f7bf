//! Sliding windows: Flink's assignment (also when the size is not a multiple
//! of the slide), panes, on-time firing, partly-late events, updates of
//! several windows, the DSL.md `velocity` rule.

#[path = "window_common.rs"]
mod common;

use common::{spans, Harness};

fn sliding(size: i64, slide: i64, extra: &str) -> Harness {
    Harness::new(&format!(
        "rule r {{ from s partition by k window sliding {size}ms every {slide}ms {extra}
                   emit k, count() as n, sum(v) as total, min(v) as lo, max(v) as hi }}"
    ))
}

#[test]
fn an_event_is_in_every_window_that_holds_it() {
    let mut h = sliding(10, 5, "");
    h.ev("a", 7, 1.0);
    assert!(h.watermark(8).is_empty());
    assert_eq!(spans(&h.watermark(9)), vec![(0, 10, 1)]);
    assert!(h.watermark(13).is_empty());
    assert_eq!(spans(&h.watermark(14)), vec![(5, 15, 1)]);
    assert!(h.finish().is_empty());
    assert_eq!(h.op.key_count(), 0);
}

#[test]
fn size_not_a_multiple_of_the_slide() {
    // starts are multiples of 4 in (ts - 10, ts]: ts 9 -> 0, 4, 8
    let mut h = sliding(10, 4, "");
    h.ev("a", 9, 1.0);
    h.ev("a", 1, 2.0); // 0 only (and -4, -8)
    let f = h.finish();
    assert_eq!(spans(&f), vec![(-8, 2, 1), (-4, 6, 1), (0, 10, 2), (4, 14, 1), (8, 18, 1)]);
    assert_eq!(f[2].n("total"), 3.0);
}

#[test]
fn windows_fire_in_time_order_with_their_panes_combined() {
    let mut h = sliding(30, 10, "");
    for (ts, v) in [(1, 1.0), (12, 5.0), (13, -2.0), (25, 7.0), (41, 0.5)] {
        h.ev("a", ts, v);
    }
    let f = h.finish();
    let got: Vec<_> = f.iter().map(|x| (x.start, x.end, x.n("n"), x.n("total"), x.n("lo"), x.n("hi"))).collect();
    assert_eq!(
        got,
        vec![
            (-20, 10, 1.0, 1.0, 1.0, 1.0),
            (-10, 20, 3.0, 4.0, -2.0, 5.0),
            (0, 30, 4.0, 11.0, -2.0, 7.0),
            (10, 40, 3.0, 10.0, -2.0, 7.0),
            (20, 50, 2.0, 7.5, 0.5, 7.0),
            (30, 60, 1.0, 0.5, 0.5, 0.5),
            (40, 70, 1.0, 0.5, 0.5, 0.5),
        ]
    );
}

#[test]
fn a_gap_in_the_data_skips_empty_windows() {
    let mut h = sliding(10, 5, "");
    h.ev("a", 1, 1.0);
    h.ev("a", 100, 1.0);
    assert_eq!(spans(&h.finish()), vec![(-5, 5, 1), (0, 10, 1), (95, 105, 1), (100, 110, 1)]);
}

#[test]
fn a_partly_late_event_joins_only_its_live_windows() {
    let mut h = sliding(10, 5, "").with_lag(0);
    h.ev("a", 7, 1.0);
    let f = h.ev("a", 11, 1.0); // watermark 10: [0, 10) fired and is gone
    assert_eq!(spans(&f), vec![(0, 10, 1)]);
    // 8 is in [0, 10) (gone) and [5, 15) (open): kept, not dropped
    assert!(h.ev("a", 8, 1.0).is_empty());
    assert_eq!(h.op.stats().dropped_late, 0);
    assert_eq!(spans(&h.finish()), vec![(5, 15, 3), (10, 20, 1)]);
}

#[test]
fn a_late_event_updates_each_of_its_windows_newest_first() {
    let mut h = sliding(10, 5, "allow lateness 10ms");
    h.ev("a", 7, 1.0);
    assert_eq!(spans(&h.watermark(16)), vec![(0, 10, 1), (5, 15, 1)]);
    // 8: [5, 15) (end 14 <= 16, alive until 24) and [0, 10) (alive until 19)
    let f = h.ev("a", 8, 2.0);
    assert_eq!(spans(&f), vec![(5, 15, 2), (0, 10, 2)]);
    assert!(f.iter().all(|x| x.update));
    h.watermark(20); // [0, 10) gone
    let f = h.ev("a", 9, 3.0);
    assert_eq!(spans(&f), vec![(5, 15, 3)]);
    assert!(f[0].update);
    h.watermark(24); // [5, 15) gone
    assert!(h.ev("a", 6, 3.0).is_empty());
    assert_eq!(h.op.stats().dropped_late, 1);
    assert!(h.finish().is_empty());
}

#[test]
fn many_panes_per_window() {
    // 5m every 1s: 300 panes per window
    let mut h = sliding(300_000, 1_000, "");
    for i in 0..600 {
        h.ev("a", i * 1_000 + 500, 1.0);
    }
    let f = h.finish();
    // window starts -299 s .. 599 s
    assert_eq!(f.len(), 899);
    let full: Vec<_> = f.iter().filter(|x| x.n("n") == 300.0).collect();
    assert_eq!(full.len(), 301);
    assert!(f.windows(2).all(|w| w[0].end < w[1].end));
}

#[test]
fn the_velocity_rule_of_dsl_md() {
    let plan = common::plan_of(
        r#"
stream transactions (
  id string, card_id string, amount float, country string, merchant string,
  lat float, lon float, ts timestamp
) key card_id time ts lateness 5s;

rule velocity {
  severity medium
  from transactions
  where amount > 0
  partition by card_id
  window sliding 5m every 1m
  having count() > 20 or sum(amount) > 5000
  emit card_id, count() as n, sum(amount) as total
  notify fraud_webhook
}"#,
    );
    let mut h = Harness::from_plan(&plan).with_lag(5_000);
    let base: i64 = 1_714_557_600_000; // 2024-05-01T10:00:00Z
    for i in 0..25 {
        h.send(serde_json::json!({"id": format!("t{i}"), "card_id": "c-1", "amount": 10.0,
            "country": "FR", "merchant": "m", "lat": 0.0, "lon": 0.0, "ts": base + i * 4_000}));
    }
    h.send(serde_json::json!({"id": "x", "card_id": "c-2", "amount": 6000.0,
        "country": "FR", "merchant": "m", "lat": 0.0, "lon": 0.0, "ts": base}));
    h.send(serde_json::json!({"id": "y", "card_id": "c-3", "amount": 1.0,
        "country": "FR", "merchant": "m", "lat": 0.0, "lon": 0.0, "ts": base}));
    h.finish();
    let mut c1 = 0;
    for a in &h.alerts {
        assert_eq!(a.rule, "velocity");
        assert_eq!(a.notify, vec!["fraud_webhook".to_string()]);
        match a.key["card_id"].as_str().unwrap() {
            "c-1" => {
                c1 += 1;
                assert!(a.fields["n"].as_i64().unwrap() > 20);
            }
            "c-2" => assert_eq!(a.fields["total"], serde_json::json!(6000.0)),
            other => panic!("unexpected alert for {other}"),
        }
    }
    // c-1's 25 events span 96 s: the 4 windows holding them all (the two
    // others holding some of them have 15 and 10)
    assert_eq!(c1, 4);
    // c-2's payment is in 5 windows, but when it arrives the watermark (c-1's
    // latest minus 5 s) has passed the first of them, [09:56, 10:01): the
    // event is late there and counts in the 4 others
    assert_eq!(h.alerts.iter().filter(|a| a.key["card_id"] == "c-2").count(), 4);
    assert_eq!(h.op.stats().dropped_late, 0);
}
