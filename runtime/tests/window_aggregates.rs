//! Every aggregate, with its definition (see
//! `cepheus_runtime::window::accumulate`): nulls, types, exactness, merging
//! across sliding panes and sessions.

#[path = "window_common.rs"]
mod common;

use common::Harness;
use serde_json::{json, Value as Json};

const ALL: &str = "count() as n, count(v) as nv, count_distinct(v) as dv, sum(v) as s, avg(v) as a,
    min(v) as lo, max(v) as hi, stddev(v) as sd, first(v) as fv, last(v) as lv,
    percentile(v, 0.5) as p50, percentile(v, 0.9) as p90, percentile(v, 0) as p0, percentile(v, 1) as p100";

fn one_window(values: &[Json]) -> common::Fired {
    let mut h = Harness::new(&format!("rule r {{ from s partition by k window tumbling 1m emit {ALL} }}"));
    for (i, v) in values.iter().enumerate() {
        h.send(json!({"k": "a", "ts": i, "v": v}));
    }
    let f = h.finish();
    assert_eq!(f.len(), 1);
    f[0].clone()
}

#[test]
fn every_aggregate_over_floats_and_nulls() {
    // the Flink peer's `tumbling_all_aggregates` case
    let f = one_window(&[json!(1.5), Json::Null, json!(4.0), json!(1.5), json!(-2.25)]);
    assert_eq!(f.f("n"), &json!(5));
    assert_eq!(f.f("nv"), &json!(4));
    assert_eq!(f.f("dv"), &json!(3));
    assert_eq!(f.f("s"), &json!(4.75));
    assert_eq!(f.f("a"), &json!(1.1875));
    assert_eq!(f.f("lo"), &json!(-2.25));
    assert_eq!(f.f("hi"), &json!(4.0));
    assert!((f.n("sd") - 2.576941016011038).abs() < 1e-12);
    assert_eq!(f.f("fv"), &json!(1.5));
    assert_eq!(f.f("lv"), &json!(-2.25));
    // nearest rank over -2.25, 1.5, 1.5, 4: ceil(0.5 * 4) = 2nd, ceil(0.9 * 4) = 4th
    assert_eq!(f.f("p50"), &json!(1.5));
    assert_eq!(f.f("p90"), &json!(4.0));
    assert_eq!(f.f("p0"), &json!(-2.25));
    assert_eq!(f.f("p100"), &json!(4.0));
}

#[test]
fn first_and_last_keep_nulls_and_follow_arrival_not_time() {
    let mut h = Harness::new(&format!("rule r {{ from s partition by k window tumbling 1m emit {ALL} }}"));
    h.send(json!({"k": "a", "ts": 30, "v": null}));
    h.send(json!({"k": "a", "ts": 10, "v": 2.0}));
    h.send(json!({"k": "a", "ts": 50, "v": 3.0}));
    h.send(json!({"k": "a", "ts": 5, "v": 4.0}));
    let f = &h.finish()[0];
    assert_eq!(f.f("fv"), &Json::Null, "the first event's v, null included");
    assert_eq!(f.f("lv"), &json!(4.0), "the last to arrive, though the earliest in time");
}

#[test]
fn only_nulls() {
    let f = one_window(&[Json::Null, Json::Null]);
    assert_eq!(f.f("n"), &json!(2));
    assert_eq!(f.f("nv"), &json!(0));
    assert_eq!(f.f("dv"), &json!(0));
    for name in ["s", "a", "lo", "hi", "sd", "fv", "lv", "p50"] {
        assert_eq!(f.f(name), &Json::Null, "{name}");
    }
}

#[test]
fn stddev_is_the_sample_deviation_and_null_below_two_values() {
    let f = one_window(&[json!(2.0)]);
    assert_eq!(f.f("sd"), &Json::Null);
    let f = one_window(&[json!(2.0), json!(2.0)]);
    assert_eq!(f.f("sd"), &json!(0.0));
    let f = one_window(&[json!(2.0), json!(4.0), json!(4.0), json!(4.0), json!(5.0), json!(5.0), json!(7.0), json!(9.0)]);
    // mean 5, squared deviations 32, / 7
    assert!((f.n("sd") - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    // numerically stable far from zero
    let f = one_window(&[json!(1e9 + 0.25), json!(1e9 + 0.5), json!(1e9 + 0.75)]);
    assert!((f.n("sd") - 0.25).abs() < 1e-9, "{}", f.n("sd"));
}

#[test]
fn percentile_is_the_nearest_rank() {
    let vals: Vec<Json> = (1..=10).rev().map(|i| json!(i as f64 * 10.0)).collect();
    let f = one_window(&vals);
    assert_eq!(f.f("p50"), &json!(50.0)); // ceil(5) = 5th
    assert_eq!(f.f("p90"), &json!(90.0)); // ceil(9) = 9th
    assert_eq!(f.f("p0"), &json!(10.0));
    assert_eq!(f.f("p100"), &json!(100.0));
}

#[test]
fn ints_sum_to_an_int_exactly_and_strings_and_timestamps_order() {
    let mut h = Harness::new(
        "rule r { from s partition by k window tumbling 1m
           emit sum(n) as s, avg(n) as a, count_distinct(n) as dn, min(n) as lo, max(n) as hi,
                min(label) as lmin, max(label) as lmax, count_distinct(label) as dl,
                min(ts) as first_ts, max(ts) as last_ts, percentile(n, 0.5) as pn }",
    );
    let big = i64::MAX - 10;
    for (n, label, ts) in [(big, "b", 3), (20, "ä", 1), (-15, "B", 2), (20, "b", 4)] {
        h.send(json!({"k": "a", "n": n, "label": label, "ts": ts}));
    }
    let f = &h.finish()[0];
    // big + 25 leaves the i64 range: null, never a wrapped value
    assert_eq!(f.f("s"), &Json::Null);
    assert_eq!(f.f("dn"), &json!(3));
    assert_eq!(f.f("lo"), &json!(-15));
    assert_eq!(f.f("hi"), &json!(big));
    assert_eq!(f.f("lmin"), &json!("B"));
    assert_eq!(f.f("lmax"), &json!("ä"), "code point order");
    assert_eq!(f.f("dl"), &json!(3));
    assert_eq!(f.f("first_ts"), &json!("1970-01-01T00:00:00.001Z"));
    assert_eq!(f.f("last_ts"), &json!("1970-01-01T00:00:00.004Z"));
    assert_eq!(f.f("pn"), &json!(20.0));

    let mut h = Harness::new("rule r { from s partition by k window tumbling 1m emit sum(n) as s, avg(n) as a }");
    for n in [i64::MAX, 5, -10] {
        h.send(json!({"k": "a", "n": n, "ts": 1}));
    }
    let f = &h.finish()[0];
    assert_eq!(f.f("s"), &json!(i64::MAX - 5), "exact although the running sum passes i64::MAX");
    assert!((f.n("a") - (i64::MAX - 5) as f64 / 3.0).abs() < 1e3);
}

#[test]
fn count_distinct_compares_numbers_by_value() {
    let mut h = Harness::new(
        "stream j (k string, x json?, ts timestamp) key k time ts lateness 0s;
         rule r { from j partition by k window tumbling 1m emit count_distinct(x) as d, count(x) as c }",
    );
    for x in [json!(1), json!(1.0), json!(2), json!("1"), json!(-0.0), json!(0), json!(null), json!([1])] {
        h.send(json!({"k": "a", "x": x, "ts": 1}));
    }
    let f = &h.finish()[0];
    // {1, 2, "1", 0, [1]}
    assert_eq!(f.f("d"), &json!(5));
    assert_eq!(f.f("c"), &json!(7));
}

#[test]
fn aggregates_over_expressions_share_arguments() {
    let mut h = Harness::new(
        "rule r { from s partition by k window tumbling 1m
           emit sum(v * 2) as s2, avg(v * 2) as a2, max(abs(v)) as m, count(label) as cl,
                sum(v) / count() as mean, round(avg(v)) as r }",
    );
    for (v, label) in [(1.0, Json::Null), (-3.0, json!("x")), (2.5, json!("y"))] {
        h.send(json!({"k": "a", "v": v, "label": label, "ts": 1}));
    }
    let f = &h.finish()[0];
    assert_eq!(f.f("s2"), &json!(1.0));
    assert!((f.n("a2") - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(f.f("m"), &json!(3.0));
    assert_eq!(f.f("cl"), &json!(2));
    assert!((f.n("mean") - 0.5 / 3.0).abs() < 1e-12);
    assert_eq!(f.f("r"), &json!(0));
}

#[test]
fn sliding_panes_and_merged_sessions_give_the_same_values_as_one_window() {
    let values = [3.5, -1.0, 2.25, 8.0, 2.25, -7.5, 0.0, 11.0, 4.0, 4.0];
    let rules = [
        format!("rule r {{ from s partition by k window tumbling 100ms emit {ALL} }}"),
        // every value in its own pane, combined when [0, 100) fires
        format!("rule r {{ from s partition by k window sliding 100ms every 1ms emit {ALL} }}"),
        // sessions built out of order, merged into one
        format!("rule r {{ from s partition by k window session gap 200ms emit {ALL} }}"),
    ];
    let order = [9, 0, 5, 2, 7, 1, 3, 8, 4, 6];
    let mut results = Vec::new();
    for rule in &rules {
        let mut h = Harness::new(rule);
        for &i in &order {
            h.send(json!({"k": "a", "ts": i * 10, "v": values[i]}));
        }
        let f = h.finish();
        let w = f
            .iter()
            .find(|x| x.start <= 0 && x.end >= 100 && x.n("n") == 10.0)
            .unwrap_or_else(|| panic!("{rule}: no window with all ten"))
            .clone();
        results.push(w.fields);
    }
    for name in results[0].keys() {
        for r in &results[1..] {
            let (a, b) = (&results[0][name], &r[name]);
            let same = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                _ => a == b,
            };
            assert!(same, "{name}: {a} vs {b}");
        }
    }
    assert_eq!(results[0]["fv"], json!(4.0), "first to arrive");
    assert_eq!(results[0]["lv"], json!(0.0), "last to arrive");
}
