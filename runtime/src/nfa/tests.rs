//! Unit tests of the automaton with plain predicates (no expressions).
//! The FlinkCEP scenario suite and the differential tests live in `tests/`.

use cepheus_dsl::plan::{
    Expr, PatternPlan, Quantifier, Skip, Stage, StageContiguity, StageKind, Value, VarId,
};

use super::graph::Predicate;
use super::*;

/// A test event: a name (which variable it is meant for) and a value.
#[derive(Debug, Clone, PartialEq)]
struct Ev {
    id: u32,
    name: &'static str,
    v: i64,
}

/// Conditions: variable `x` matches events named `x` (by first letter).
struct ByName {
    names: Vec<&'static str>,
    graph_preds: Vec<Predicate>,
}

impl Predicates<Ev> for ByName {
    fn eval(&self, pred: u32, event: &Ev, _: &Bindings<'_, Ev>) -> bool {
        match self.graph_preds[pred as usize] {
            Predicate::Condition(var) => event.name == self.names[var as usize],
            Predicate::Until(_) => event.name == "stop",
        }
    }
    fn needs_bindings(&self) -> bool {
        false
    }
}

fn var_stage(var: VarId, contiguity: StageContiguity) -> Stage {
    Stage {
        kind: StageKind::Var {
            var,
            condition: Some(Expr::Literal(Value::Bool(true))),
            until: None,
        },
        contiguity,
        quantifier: None,
        optional: false,
        greedy: false,
        consecutive: false,
        allow_combinations: false,
    }
}

fn run(plan: PatternPlan, names: &[&'static str], events: &[(&'static str, i64)]) -> Vec<Vec<(String, Vec<u32>)>> {
    let graph = compile(&plan).expect("compiles");
    let preds = ByName {
        names: names.to_vec(),
        graph_preds: graph.predicates.clone(),
    };
    let nfa = Nfa::new(graph, plan.skip.clone(), false);
    let mut st = nfa.initial_state();
    let mut out = Vec::new();
    let mut timeouts = Vec::new();
    for (i, (name, ts)) in events.iter().enumerate() {
        let ev = Ev {
            id: i as u32 + 1,
            name,
            v: *ts,
        };
        nfa.advance_time(&mut st, *ts, &mut out, &mut timeouts);
        nfa.process(&mut st, &ev, *ts, &preds, &mut out);
    }
    nfa.advance_time(&mut st, i64::MAX, &mut out, &mut timeouts);
    out.into_iter()
        .map(|m| {
            m.into_iter()
                .map(|(var, evs)| (names[var as usize].to_string(), evs.iter().map(|e| e.id).collect()))
                .collect()
        })
        .collect()
}

fn plan(stages: Vec<Stage>, within_ms: Option<u64>, skip: Skip) -> PatternPlan {
    let n = stages.len() as u32;
    PatternPlan {
        vars: (0..n).map(|i| format!("v{i}")).collect(),
        stages,
        within_ms,
        skip,
        on_timeout: None,
    }
}

fn m(parts: &[(&str, &[u32])]) -> Vec<(String, Vec<u32>)> {
    parts.iter().map(|(n, ids)| (n.to_string(), ids.to_vec())).collect()
}

#[test]
fn followed_by_takes_the_next_b_for_each_a() {
    let p = plan(
        vec![var_stage(0, StageContiguity::Begin), var_stage(1, StageContiguity::FollowedBy)],
        None,
        Skip::NoSkip,
    );
    let got = run(p, &["a", "b"], &[("a", 1), ("c", 2), ("a", 3), ("b", 4), ("b", 5)]);
    assert_eq!(got, vec![m(&[("a", &[1]), ("b", &[4])]), m(&[("a", &[3]), ("b", &[4])])]);
}

#[test]
fn next_needs_the_very_next_event() {
    let p = plan(
        vec![var_stage(0, StageContiguity::Begin), var_stage(1, StageContiguity::Next)],
        None,
        Skip::NoSkip,
    );
    let got = run(p, &["a", "b"], &[("a", 1), ("c", 2), ("a", 3), ("b", 4)]);
    assert_eq!(got, vec![m(&[("a", &[3]), ("b", &[4])])]);
}

#[test]
fn followed_by_any_takes_every_later_b() {
    let p = plan(
        vec![var_stage(0, StageContiguity::Begin), var_stage(1, StageContiguity::FollowedByAny)],
        None,
        Skip::NoSkip,
    );
    let got = run(p, &["a", "b"], &[("a", 1), ("b", 2), ("b", 3)]);
    assert_eq!(got, vec![m(&[("a", &[1]), ("b", &[2])]), m(&[("a", &[1]), ("b", &[3])])]);
}

#[test]
fn one_or_more_relaxed_gives_every_prefix() {
    // a+ -> b over a1 a2 b: {a1 a2 b}, {a1 b}, {a2 b} (FlinkCEP docs).
    let mut a = var_stage(0, StageContiguity::Begin);
    a.quantifier = Some(Quantifier::OneOrMore);
    let p = plan(vec![a, var_stage(1, StageContiguity::FollowedBy)], None, Skip::NoSkip);
    let mut got = run(p, &["a", "b"], &[("a", 1), ("a", 2), ("b", 3)]);
    got.sort();
    let mut want = vec![
        m(&[("a", &[1, 2]), ("b", &[3])]),
        m(&[("a", &[1]), ("b", &[3])]),
        m(&[("a", &[2]), ("b", &[3])]),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn skip_past_last_event_drops_overlaps() {
    let mut a = var_stage(0, StageContiguity::Begin);
    a.quantifier = Some(Quantifier::OneOrMore);
    let p = plan(vec![a, var_stage(1, StageContiguity::FollowedBy)], None, Skip::PastLastEvent);
    let got = run(p, &["a", "b"], &[("a", 1), ("a", 2), ("b", 3)]);
    assert_eq!(got, vec![m(&[("a", &[1, 2]), ("b", &[3])])]);
}

#[test]
fn not_followed_by_in_the_middle_kills_the_match() {
    let p = plan(
        vec![
            var_stage(0, StageContiguity::Begin),
            var_stage(1, StageContiguity::NotFollowedBy),
            var_stage(2, StageContiguity::FollowedBy),
        ],
        None,
        Skip::NoSkip,
    );
    let got = run(p, &["a", "c", "b"], &[("a", 1), ("c", 2), ("a", 3), ("b", 4)]);
    assert_eq!(got, vec![m(&[("a", &[3]), ("b", &[4])])]);
}

#[test]
fn trailing_absence_completes_when_the_window_ends() {
    let p = plan(
        vec![var_stage(0, StageContiguity::Begin), var_stage(1, StageContiguity::NotFollowedBy)],
        Some(10),
        Skip::NoSkip,
    );
    let got = run(p, &["a", "c"], &[("a", 1), ("a", 5), ("c", 8), ("a", 20)]);
    // a1 and a5 see c at 8 inside their window; a20 completes at the end.
    assert_eq!(got, vec![m(&[("a", &[4])])]);
}

#[test]
fn within_prunes_old_partial_matches() {
    let p = plan(
        vec![var_stage(0, StageContiguity::Begin), var_stage(1, StageContiguity::FollowedBy)],
        Some(10),
        Skip::NoSkip,
    );
    let got = run(p, &["a", "b"], &[("a", 1), ("a", 5), ("b", 11)]);
    assert_eq!(got, vec![m(&[("a", &[2]), ("b", &[3])])]);
}

#[test]
fn shedding_keeps_the_newest_partial_matches() {
    // a ->> b keeps one partial match per `a`; cap them at 2.
    let p = plan(
        vec![var_stage(0, StageContiguity::Begin), var_stage(1, StageContiguity::FollowedByAny)],
        None,
        Skip::NoSkip,
    );
    let graph = compile(&p).expect("compiles");
    let preds = ByName {
        names: vec!["a", "b"],
        graph_preds: graph.predicates.clone(),
    };
    let nfa = Nfa::new(graph, Skip::NoSkip, false);
    let mut st = nfa.initial_state();
    let mut out = Vec::new();
    for i in 0..5 {
        let ev = Ev { id: i + 1, name: "a", v: 0 };
        nfa.process(&mut st, &ev, i as i64, &preds, &mut out);
    }
    assert_eq!(st.partial_matches(), 5);
    assert_eq!(st.shed_oldest(2), 3);
    assert_eq!(st.partial_matches(), 2);
    assert_eq!(st.buffered_events(), 2, "events of dropped matches are freed");
    nfa.process(&mut st, &Ev { id: 9, name: "b", v: 0 }, 10, &preds, &mut out);
    let firsts: Vec<u32> = out.iter().map(|m| m[0].1[0].id).collect();
    assert_eq!(firsts, vec![4, 5]);
}
