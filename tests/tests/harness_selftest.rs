//! Checks of the harness itself: the translation to the peer, the
//! generator's determinism and coverage, the shrinker.

use cepheus_tests::case::Case;
use cepheus_tests::engine;
use cepheus_tests::gen::{self, Rng};
use cepheus_tests::plan_to_peer::{self, Precompute, Schedule};
use cepheus_tests::shrink::{self, Candidate};
use serde_json::json;

fn rule(pattern: &str, defines: &str) -> String {
    format!(
        "{}\nrule r {{\n  from s\n  partition by key\n  pattern {pattern}\n  define\n    {defines}\n  within 10ms\n  after match skip to first a\n}}\n",
        gen::STREAM
    )
}

#[test]
fn plan_to_peer_maps_stages_one_to_one() {
    let src = rule(
        "a{2,3} consecutive ->> (b -> c)+ -> !d -> e+ any",
        "a as type = \"a\", b as type = \"b\", c as type = \"c\", d as type = \"d\", e as type = \"a\" until v > 5",
    );
    let plan = engine::compile_rule(&src).expect("compiles");
    let spec = plan_to_peer::rule_to_peer(&plan).expect("converts");
    assert_eq!(spec["within_ms"], json!(10));
    assert_eq!(spec["skip"], json!({"strategy": "skipToFirst", "var": "a"}));
    let st = spec["stages"].as_array().unwrap();
    assert_eq!(st.len(), 4);
    assert_eq!(st[0]["contiguity"], "begin");
    assert_eq!(st[0]["quantifier"], json!({"kind": "times", "from": 2, "to": 3}));
    assert_eq!(st[0]["consecutive"], json!(true));
    assert_eq!(st[1]["contiguity"], "followedByAny");
    assert_eq!(st[1]["quantifier"], json!({"kind": "oneOrMore"}));
    assert_eq!(st[1]["group"][1]["contiguity"], "followedBy");
    assert_eq!(st[2]["contiguity"], "notFollowedBy");
    assert_eq!(st[3]["allowCombinations"], json!(true));
    assert_eq!(
        st[3]["until"],
        json!({"op": ">", "args": [{"field": "v"}, {"lit": 5}]})
    );
}

#[test]
fn negation_is_pushed_down_for_three_valued_logic() {
    // `not (v < a[0].v)` must be unknown (not met) when `a` is empty, as in
    // our language: the peer gets `v >= first(a).v`, false on null.
    let src = rule("a+ -> b", "a as type = \"a\" and not (v < a[0].v or type = \"x\"), b as true");
    let plan = engine::compile_rule(&src).expect("compiles");
    let spec = plan_to_peer::rule_to_peer(&plan).expect("converts");
    let cond = &spec["stages"][0]["condition"];
    assert_eq!(
        cond["args"][1],
        json!({"op": "and", "args": [
            {"op": ">=", "args": [{"field": "v"}, {"agg": "first", "var": "a", "field": "v"}]},
            {"op": "!=", "args": [{"field": "type"}, {"lit": "x"}]}
        ]})
    );
}

#[test]
fn sum_over_nothing_stays_null_in_the_peer() {
    let src = rule("a+ -> b", "a as sum(a.v) < 10, b as true");
    let plan = engine::compile_rule(&src).expect("compiles");
    let spec = plan_to_peer::rule_to_peer(&plan).expect("converts");
    let lhs = &spec["stages"][0]["condition"]["args"][0];
    assert_eq!(lhs["op"], "+");
    assert_eq!(lhs["args"][0]["agg"], "sum");
    assert_eq!(lhs["args"][1]["args"][0]["agg"], "min");
}

#[test]
fn unsupported_conditions_are_refused_or_precomputed() {
    let src = rule("a -> b", "a as contains(type, \"a\"), b as true");
    let plan = engine::compile_rule(&src).expect("compiles");
    assert!(plan_to_peer::rule_to_peer(&plan).is_err(), "strict mode refuses functions");
    let events = vec![json!({"id": 1, "key": "k1", "type": "a", "v": 1, "ts": 1})];
    let case = plan_to_peer::case_to_peer_with(&plan, &events, Precompute::EventLocal, Schedule::FinalOnly)
        .expect("precomputed");
    assert_eq!(case["events"][0]["__pre0"], json!(true));
    assert_eq!(
        case["pattern"]["stages"][0]["condition"],
        json!({"op": "==", "args": [{"field": "__pre0"}, {"lit": true}]})
    );
    assert!(case.get("watermark_lag_ms").is_none());
    let batch = plan_to_peer::case_to_peer(&plan.clone(), &events);
    assert!(batch.is_err(), "strict");
}

#[test]
fn events_lose_their_key_without_partition_by() {
    let src = format!("{}\nrule r {{\n  from s\n  pattern a -> b\n}}\n", gen::STREAM);
    let plan = engine::compile_rule(&src).expect("compiles");
    let events = vec![json!({"id": 1, "key": "k1", "type": "a", "v": 1, "ts": 1})];
    let case = plan_to_peer::case_to_peer(&plan, &events).expect("converts");
    assert!(case["events"][0].get("key").is_none());
    assert_eq!(case["watermark_lag_ms"], json!(0));
}

#[test]
fn generator_is_deterministic_and_rules_mostly_compile() {
    let a: Vec<String> = {
        let mut r = Rng::new(7);
        (0..50).map(|_| gen::generate(&mut r).case.rule).collect()
    };
    let b: Vec<String> = {
        let mut r = Rng::new(7);
        (0..50).map(|_| gen::generate(&mut r).case.rule).collect()
    };
    assert_eq!(a, b);
    let ok = a.iter().filter(|r| engine::compile_rule(r).is_ok()).count();
    assert!(ok >= 30, "only {ok}/50 generated rules compile");
}

#[test]
fn generated_cases_convert_to_peer_cases() {
    let mut r = Rng::new(11);
    for _ in 0..300 {
        let g = gen::generate(&mut r);
        if let Ok(plan) = engine::compile_rule(&g.case.rule) {
            if let Err(e) = plan_to_peer::case_to_peer(&plan, &g.case.events) {
                panic!("generator produced something the peer cannot express: {e}\n{}", g.case.rule);
            }
        }
    }
}

#[test]
fn shrinker_finds_the_small_core() {
    // "fails" while events 7 and 13 are both present.
    let events: Vec<_> = (1..=30).map(|i| json!({"id": i, "type": "a", "v": 0, "ts": i})).collect();
    let start = Candidate {
        spec: None,
        case: Case {
            rule: "r".into(),
            events,
        },
    };
    let has = |c: &Candidate, id: i64| c.case.events.iter().any(|e| e["id"] == json!(id));
    let mut still = |cs: &[Candidate]| cs.iter().map(|c| has(c, 7) && has(c, 13)).collect();
    let (small, _) = shrink::shrink(start, &mut still, 100);
    let ids: Vec<i64> = small.case.events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![7, 13]);
}

#[test]
fn zero_lower_bound_is_sent_as_times_zero() {
    // `b{0,3}` is FlinkCEP's `times(0, 3)`, which (unlike `.optional()`) may follow a greedy loop.
    let src = rule("a+ greedy -> b{0,3} -> c", "a as type = \"a\", b as type = \"b\", c as type = \"c\"");
    let plan = engine::compile_rule(&src).expect("compiles");
    let spec = plan_to_peer::rule_to_peer(&plan).expect("converts");
    assert_eq!(spec["stages"][1]["quantifier"], json!({"kind": "times", "from": 0, "to": 3}));
    assert!(spec["stages"][1].get("optional").is_none());
}
