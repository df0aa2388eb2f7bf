//! The checker on whole files: every example of DSL.md and the fraud,
//! equipment and window fixtures compile with no diagnostic and one plan per
//! rule; the plans say what FlinkCEP would be told; plans survive JSON.

mod check_support;

use cepheus_dsl::ast::{Item, Severity};
use cepheus_dsl::plan::*;
use cepheus_dsl::{compile, Compiled};
use check_support::{cep_files, sinks_only};

fn compile_clean(folder: &str) -> Vec<(String, Compiled)> {
    let files = cep_files(folder);
    assert!(!files.is_empty(), "no fixtures in tests/{folder}");
    files
        .into_iter()
        .map(|(path, src)| {
            let name = path.display().to_string();
            let c = compile(&src, &sinks_only());
            assert!(
                c.diagnostics.is_empty(),
                "{name}:\n{}",
                cepheus_dsl::diagnostic::render(&name, &src, &c.diagnostics)
            );
            let rules = c.file.items.iter().filter(|i| matches!(i, Item::Rule(_))).count();
            assert!(rules > 0 || !c.streams.is_empty(), "{name}: neither rules nor streams");
            assert_eq!(c.plans.len(), rules, "{name}: one plan per rule");
            (name, c)
        })
        .collect()
}

fn plan<'a>(compiled: &'a [(String, Compiled)], rule: &str) -> &'a RulePlan {
    compiled
        .iter()
        .flat_map(|(_, c)| &c.plans)
        .find(|p| p.name == rule)
        .unwrap_or_else(|| panic!("no plan for {rule}"))
}

fn pattern(p: &RulePlan) -> &PatternPlan {
    match &p.body {
        RuleBody::Pattern(pp) => pp,
        RuleBody::Window(_) => panic!("{} is a window rule", p.name),
    }
}

fn window(p: &RulePlan) -> &WindowPlan {
    match &p.body {
        RuleBody::Window(w) => w,
        RuleBody::Pattern(_) => panic!("{} is a pattern rule", p.name),
    }
}

fn shape(stages: &[Stage]) -> Vec<(StageContiguity, Option<Quantifier>, bool)> {
    stages.iter().map(|s| (s.contiguity, s.quantifier, s.optional)).collect()
}

#[test]
fn dsl_md_examples_compile_clean() {
    compile_clean("fixtures/dsl_md");
}

#[test]
fn checker_fixtures_compile_clean() {
    compile_clean("fixtures/checker");
}

#[test]
fn plans_and_streams_round_trip_through_json() {
    for folder in ["fixtures/dsl_md", "fixtures/checker"] {
        for (name, c) in compile_clean(folder) {
            let json = serde_json::to_string(&c.plans).expect("plans serialise");
            let back: Vec<RulePlan> = serde_json::from_str(&json).expect("plans deserialise");
            assert_eq!(back, c.plans, "{name}");
            let json = serde_json::to_string(&c.streams).expect("streams serialise");
            let back: Vec<StreamSchema> = serde_json::from_str(&json).expect("streams deserialise");
            assert_eq!(back, c.streams, "{name}");
        }
    }
}

#[test]
fn card_testing_plan_is_resolved() {
    let all = compile_clean("fixtures/dsl_md");
    let p = plan(&all, "card_testing");
    assert_eq!(p.severity, Severity::High);
    assert_eq!(p.stream.name, "transactions");
    let amount = p.stream.field("amount").expect("amount slot");
    let card = p.stream.field("card_id").expect("card_id slot");
    assert_eq!(p.partition_by, vec![KeyField { name: "card_id".into(), slot: card }]);
    let pp = pattern(p);
    assert_eq!(pp.vars, vec!["small", "big"]);
    assert_eq!(
        shape(&pp.stages),
        vec![
            (StageContiguity::Begin, Some(Quantifier::TimesOrMore { from: 3 }), false),
            (StageContiguity::FollowedBy, None, false),
        ]
    );
    assert_eq!(pp.within_ms, Some(600_000));
    assert_eq!(pp.skip, Skip::PastLastEvent);
    // big as amount > 500 and country != small[0].country
    let StageKind::Var { var: 1, condition: Some(Expr::Binary { rhs, .. }), until: None } = &pp.stages[1].kind else {
        panic!("big's stage: {:?}", pp.stages[1].kind)
    };
    let country = p.stream.field("country").expect("country slot");
    assert_eq!(
        **rhs,
        Expr::Binary {
            op: cepheus_dsl::ast::BinaryOp::Ne,
            lhs: Box::new(Expr::Field { slot: country, steps: vec![] }),
            rhs: Box::new(Expr::VarField { var: 0, pick: Pick::Index(0), slot: country, steps: vec![] }),
        }
    );
    let names: Vec<&str> = p.output.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["card_id", "tries", "amount"]);
    let exprs: Vec<&Expr> = p.output.fields.iter().map(|f| &f.expr).collect();
    assert_eq!(
        exprs,
        [
            &Expr::Key(0),
            &Expr::VarAgg { var: 0, func: VarAggFunc::Count, slot: None },
            &Expr::VarField { var: 1, pick: Pick::Index(0), slot: amount, steps: vec![] },
        ]
    );
    assert_eq!(
        p.output.message,
        Some(Template {
            parts: vec![
                TemplatePart::Text("Card ".into()),
                TemplatePart::Field(0),
                TemplatePart::Text(": ".into()),
                TemplatePart::Field(1),
                TemplatePart::Text(" tiny charges, then ".into()),
                TemplatePart::Field(2),
            ]
        })
    );
    assert_eq!(p.notify, ["fraud_webhook", "alerts_topic"]);
    assert_eq!(p.suppress_ms, Some(1_800_000));
    assert!(p.source.starts_with("rule card_testing {") && p.source.ends_with('}'), "{}", p.source);
}

#[test]
fn velocity_plan_shares_aggregates_between_having_and_emit() {
    let all = compile_clean("fixtures/dsl_md");
    let p = plan(&all, "velocity");
    assert_eq!(p.severity, Severity::Medium);
    assert!(p.filter.is_some());
    let w = window(p);
    assert_eq!(w.kind, WindowKind::Sliding { size_ms: 300_000, slide_ms: 60_000 });
    let funcs: Vec<AggFunc> = w.aggregates.iter().map(|a| a.func).collect();
    assert_eq!(funcs, [AggFunc::Count, AggFunc::Sum], "count() and sum(amount) once each");
    let exprs: Vec<&Expr> = p.output.fields.iter().map(|f| &f.expr).collect();
    assert_eq!(exprs, [&Expr::Key(0), &Expr::Agg(0), &Expr::Agg(1)]);
    assert!(p.labels.is_empty() && p.suppress_ms.is_none());
}

#[test]
fn pattern_operators_map_to_flinkcep_calls() {
    let all = compile_clean("fixtures/dsl_md");
    use Quantifier::*;
    use StageContiguity::*;
    let s = |rule: &str| shape(&pattern(plan(&all, rule)).stages);
    assert_eq!(s("strict_contiguity"), [(Begin, None, false), (Next, None, false)]);
    assert_eq!(s("relaxed_contiguity"), [(Begin, None, false), (FollowedBy, None, false)]);
    assert_eq!(s("non_deterministic_relaxed"), [(Begin, None, false), (FollowedByAny, None, false)]);
    assert_eq!(s("not_next"), [(Begin, None, false), (NotNext, None, false), (Next, None, false)]);
    assert_eq!(
        s("not_followed_by"),
        [(Begin, None, false), (NotFollowedBy, None, false), (FollowedBy, None, false)]
    );
    assert_eq!(s("absence"), [(Begin, None, false), (NotFollowedBy, None, false)]);
    assert_eq!(
        s("counted_loops"),
        [
            (Begin, Some(Times { from: 3, to: 3 }), false),
            (FollowedBy, Some(Times { from: 2, to: 4 }), false),
            (FollowedBy, Some(Times { from: 1, to: 2 }), true),
            (FollowedBy, Some(TimesOrMore { from: 2 }), false),
        ]
    );
    assert_eq!(
        s("loops_and_options"),
        [
            (Begin, Some(OneOrMore), false),
            (FollowedBy, Some(OneOrMore), true),
            (FollowedBy, None, true),
            (FollowedBy, None, false),
        ]
    );
    let flags = |rule: &str| {
        let st = &pattern(plan(&all, rule)).stages[0];
        (st.greedy, st.consecutive, st.allow_combinations)
    };
    assert_eq!(flags("greedy_loop"), (true, false, false));
    assert_eq!(flags("consecutive_loop"), (false, true, false));
    assert_eq!(flags("combinations_loop"), (false, false, true));
    let until = &pattern(plan(&all, "until_loop")).stages[0].kind;
    assert!(matches!(until, StageKind::Var { condition: Some(_), until: Some(_), .. }), "{until:?}");
    let group = pattern(plan(&all, "group_pattern"));
    assert_eq!(group.vars, ["a", "b", "c"]);
    assert_eq!(shape(&group.stages), [(Begin, Some(Times { from: 2, to: 2 }), false), (FollowedBy, None, false)]);
    let StageKind::Group { stages } = &group.stages[0].kind else {
        panic!("not a group: {:?}", group.stages[0].kind)
    };
    assert_eq!(shape(stages), [(Begin, None, false), (FollowedBy, None, false)]);
    assert_eq!(pattern(plan(&all, "within_window")).within_ms, Some(600_000));
    for (rule, skip) in [
        ("skip_to_next", Skip::ToNext),
        ("skip_past_last_event", Skip::PastLastEvent),
        ("skip_to_first", Skip::ToFirst(1)),
        ("skip_to_last", Skip::ToLast(1)),
        ("no_skip", Skip::NoSkip),
        ("relaxed_contiguity", Skip::NoSkip),
    ] {
        assert_eq!(pattern(plan(&all, rule)).skip, skip, "{rule}");
    }
    // Variables without define match every event.
    let StageKind::Var { condition, .. } = &pattern(plan(&all, "relaxed_contiguity")).stages[0].kind else {
        panic!("var stage")
    };
    assert!(condition.is_none());
}

#[test]
fn equipment_plans_cover_absence_timeouts_and_json() {
    let all = compile_clean("fixtures/checker");
    let hb = plan(&all, "lost_heartbeat");
    assert_eq!(hb.severity, Severity::Critical);
    let pp = pattern(hb);
    assert_eq!(pp.within_ms, Some(60_000));
    assert_eq!(pp.stages[1].contiguity, StageContiguity::NotFollowedBy);
    assert!(matches!(pp.stages[1].kind, StageKind::Var { condition: None, .. }), "no event at all");
    // `time ts` on an int field: epoch milliseconds.
    assert_eq!(hb.stream.time, hb.stream.field("ts"));

    let start = pattern(plan(&all, "start_not_completed"));
    let timeout = start.on_timeout.as_ref().expect("on timeout output");
    assert_eq!(timeout.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["machine_id", "started"]);
    assert!(timeout.message.is_some());
    let spin_up = &plan(&all, "start_not_completed").output.fields[1];
    assert_eq!(spin_up.ty, cepheus_dsl::types::Type::new(cepheus_dsl::types::BaseType::Duration));

    let fw = plan(&all, "firmware_errors");
    assert_eq!(fw.partition_by[0].name, "device.fw");
    let payload = fw.stream.field("payload").expect("payload slot");
    let filter = format!("{:?}", fw.filter);
    assert!(filter.contains(&format!("slot: {payload}, steps: [Key(\"error\"), Key(\"code\")]")), "{filter}");
    assert!(filter.contains("steps: [Key(\"tags\"), Index(0)]"), "{filter}");
    assert_eq!(fw.output.fields[0].expr, Expr::Key(0));

    let restart = pattern(plan(&all, "restart_without_alarm"));
    assert_eq!(restart.stages[1].contiguity, StageContiguity::NotNext);
    assert_eq!(plan(&all, "restart_without_alarm").partition_by.len(), 2);

    let cycles = pattern(plan(&all, "cooling_cycles"));
    assert_eq!(cycles.stages[0].quantifier, Some(Quantifier::TimesOrMore { from: 2 }));
    assert!(matches!(cycles.stages[0].kind, StageKind::Group { .. }));
}

#[test]
fn window_kinds_and_aggregates() {
    let all = compile_clean("fixtures/checker");
    let tumbling = window(plan(&all, "tumbling_all_aggregates"));
    assert_eq!(tumbling.kind, WindowKind::Tumbling { size_ms: 600_000 });
    let funcs: Vec<AggFunc> = tumbling.aggregates.iter().map(|a| a.func).collect();
    for f in [
        AggFunc::Count,
        AggFunc::CountNonNull,
        AggFunc::CountDistinct,
        AggFunc::Sum,
        AggFunc::Avg,
        AggFunc::Min,
        AggFunc::Max,
        AggFunc::Stddev,
        AggFunc::First,
        AggFunc::Last,
        AggFunc::Percentile,
    ] {
        assert!(funcs.contains(&f), "{f:?} missing from {funcs:?}");
    }
    let quantiles: Vec<f64> = tumbling.aggregates.iter().filter_map(|a| a.quantile).collect();
    assert_eq!(quantiles, [0.5, 0.99]);
    let out = &plan(&all, "tumbling_all_aggregates").output;
    let by_name = |n: &str| &out.fields.iter().find(|f| f.name == n).expect(n).expr;
    assert_eq!(by_name("window_start"), &Expr::WindowStart);
    assert_eq!(by_name("window_end"), &Expr::WindowEnd);
    use cepheus_dsl::types::BaseType;
    let ty = |n: &str| out.fields.iter().find(|f| f.name == n).expect(n).ty.base;
    assert_eq!(ty("int_total"), BaseType::Int);
    assert_eq!(ty("total"), BaseType::Float);
    assert_eq!(ty("first_seen"), BaseType::Timestamp);
    assert_eq!(ty("last_label"), BaseType::String);
    assert_eq!(ty("events"), BaseType::Int);

    assert_eq!(window(plan(&all, "sliding_window")).kind, WindowKind::Sliding { size_ms: 600_000, slide_ms: 600_000 });
    let session = window(plan(&all, "session_window"));
    assert_eq!(session.kind, WindowKind::Session { gap_ms: 1_800_000 });
    assert_eq!(session.allowed_lateness_ms, 300_000);
    assert_eq!(window(plan(&all, "count_window")).kind, WindowKind::Count { size: 100, slide: None });
    assert_eq!(window(plan(&all, "count_window_every")).kind, WindowKind::Count { size: 100, slide: Some(100) });
    let unkeyed = plan(&all, "unkeyed_window");
    assert!(unkeyed.partition_by.is_empty());
    let parts = &unkeyed.output.message.as_ref().expect("message").parts;
    assert_eq!(parts.last(), Some(&TemplatePart::Text(" readings in a minute ({alert})".into())));
}

#[test]
fn a_rule_with_errors_gives_no_plan_and_the_others_still_do() {
    let src = r#"
stream t (k string, v float, ts timestamp) key k time ts;
rule good_one { from t partition by k window tumbling 1m having count() > 1 }
rule bad { from t partition by k window tumbling 1m having sum(vv) > 1 }
rule good_two { from t partition by k pattern a -> b define b as v > a.v within 1m }
"#;
    let c = compile(src, &sinks_only());
    let names: Vec<&str> = c.plans.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["good_one", "good_two"]);
    assert_eq!(c.diagnostics.len(), 1);
    assert_eq!(c.diagnostics[0].code, "unknown-field");
    assert_eq!(c.streams.len(), 1);
}

#[test]
fn catalog_streams_are_used_and_same_schema_redeclared_is_silent() {
    let catalog = check_support::catalog();
    let src = "rule r { from machines partition by machine_id window tumbling 1m having max(temp) > 90 }";
    let c = compile(src, &catalog);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(c.plans[0].stream.name, "machines");
    // Redeclaring a catalog stream with the same schema says nothing.
    let src = format!("{}\nrule r {{ from heartbeats pattern a -> !b within 1m }}", "stream heartbeats (machine_id string, ts timestamp) key machine_id time ts;");
    let c = compile(&src, &catalog);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
}

#[test]
fn a_stream_with_errors_gives_its_rules_no_plan_without_cascading() {
    let src = r#"
stream t (k string, v flaot, ts timestamp) key k time ts;
rule r { from t partition by k window tumbling 1m having max(v) > 1 }
"#;
    let c = compile(src, &sinks_only());
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["unknown-type"]);
    assert!(c.plans.is_empty());
}

#[test]
fn a_rule_with_a_clause_that_failed_to_parse_gives_no_plan() {
    let src = "stream s (id int, v int, ts timestamp) time ts;\n\
               rule broken { from s where v >> 3 pattern a -> b }\n\
               rule fine { from s pattern a -> b }\n";
    let compiled = cepheus_dsl::compile(src, &cepheus_dsl::Catalog::new());
    assert!(compiled.has_errors());
    let names: Vec<&str> = compiled.plans.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["fine"]);
}
