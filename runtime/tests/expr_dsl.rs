//! End to end with the language crate: rule text -> checked plan -> decoder
//! and compiled expressions -> results on real JSON events.

mod expr_support;

use cepheus_dsl::plan::{Expr, RuleBody, RulePlan, StageKind};
use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::expr::CompiledExpr;
use cepheus_runtime::record::{Decoder, Record};
use cepheus_runtime::value::Value;
use expr_support::TestScope;

const STREAM: &str = r#"
stream transactions (
  id        string,
  card_id   string,
  amount    float,
  country   string,
  merchant  string,
  lat       float,
  lon       float,
  device    json?,
  ts        timestamp          -- RFC 3339 string or epoch milliseconds
)
key card_id
time ts
lateness 5s;
"#;

fn plan(rule: &str) -> RulePlan {
    let src = format!("{STREAM}\n{rule}");
    let c = compile(&src, &Catalog::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    c.plans
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no plan"))
}

fn conditions(plan: &RulePlan) -> Vec<CompiledExpr> {
    let RuleBody::Pattern(p) = &plan.body else {
        panic!("not a pattern rule")
    };
    p.stages
        .iter()
        .map(|s| match &s.kind {
            StageKind::Var { condition, .. } => {
                compile_expr(condition.as_ref().unwrap_or_else(|| panic!("no condition")))
            }
            StageKind::Group { .. } => panic!("group"),
        })
        .collect()
}

fn compile_expr(e: &Expr) -> CompiledExpr {
    CompiledExpr::compile(e).unwrap_or_else(|err| panic!("{err}"))
}

fn event(d: &Decoder, json: &str) -> Record {
    d.decode(json.as_bytes())
        .unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn tx(d: &Decoder, amount: f64, country: &str, minute: u32) -> Record {
    event(
        d,
        &format!(
            r#"{{"id":"t","card_id":"c-17","amount":{amount},"country":"{country}","merchant":"m","lat":0,"lon":0,"ts":"2024-05-01T10:{minute:02}:00Z"}}"#
        ),
    )
}

#[test]
fn card_testing_from_dsl_md() {
    let plan = plan(
        r#"
rule card_testing {
  severity high
  from transactions
  partition by card_id
  pattern small{3,} -> big
  define
    small as amount < 2.00,
    big   as amount > 500 and country != small[0].country
  within 10m
  after match skip past last event
  emit card_id, count(small) as tries, big.amount as amount
  message "Card {card_id}: {tries} tiny charges, then {amount}"
}"#,
    );
    let d = Decoder::new(&plan.stream);
    let conds = conditions(&plan);
    let (small, big) = (&conds[0], &conds[1]);
    let smalls = vec![
        tx(&d, 1.0, "DE", 0),
        tx(&d, 1.5, "DE", 1),
        tx(&d, 0.5, "DE", 2),
    ];
    for e in &smalls {
        assert!(small.eval_bool(e));
    }
    assert!(!small.eval_bool(&tx(&d, 2.0, "DE", 3)));

    let scope = |current: Record, big_events: Vec<Record>| TestScope {
        event: Some(current),
        vars: vec![smalls.clone(), big_events],
        ..TestScope::default()
    };
    assert!(big.eval_bool(&scope(tx(&d, 812.0, "US", 4), vec![])));
    assert!(!big.eval_bool(&scope(tx(&d, 812.0, "DE", 4), vec![])));
    assert!(!big.eval_bool(&scope(tx(&d, 499.0, "US", 4), vec![])));

    // The alert's fields.
    let done = scope(tx(&d, 0.0, "XX", 5), vec![tx(&d, 812.0, "US", 4)]);
    let fields: Vec<(String, Value)> = plan
        .output
        .fields
        .iter()
        .map(|f| (f.name.clone(), compile_expr(&f.expr).eval(&done)))
        .collect();
    let tries = fields
        .iter()
        .find(|(n, _)| n == "tries")
        .map(|(_, v)| v.clone());
    let amount = fields
        .iter()
        .find(|(n, _)| n == "amount")
        .map(|(_, v)| v.clone());
    assert_eq!(tries, Some(Value::Int(3)));
    assert_eq!(amount, Some(Value::Float(812.0)));
    assert_eq!(amount.map(|a| a.to_string()), Some("812.0".to_string()));
}

#[test]
fn filters_time_json_and_functions_from_text() {
    let plan = plan(
        r#"
rule mixed {
  from transactions
  where amount > 0 and not starts_with(lower(merchant), "shop")
    and hour(ts) between 9 and 17 and day_of_week(ts) in [1, 2, 3, 4, 5]
  partition by card_id
  pattern a -> b
  define
    a as device.tags[0] = "vip" or device.score > 0.5,
    b as ts - a[0].ts < 10m and geo_distance_km(lat, lon, a[-1].lat, a[-1].lon) > 1000
         and merchant matches "^[a-z]+-[0-9]+$" and coalesce(device.score, 0) * 2 >= 0
  emit card_id
}"#,
    );
    let d = Decoder::new(&plan.stream);
    let filter = compile_expr(plan.filter.as_ref().unwrap_or_else(|| panic!("no where")));
    let conds = conditions(&plan);

    // 2024-05-01 is a Wednesday.
    let a = event(
        &d,
        r#"{"card_id":"c","amount":5,"merchant":"Store-1","lat":48.8566,"lon":2.3522,
            "device":{"tags":["vip"],"score":0.1},"ts":"2024-05-01T10:00:00Z"}"#,
    );
    assert!(filter.eval_bool(&a));
    assert!(conds[0].eval_bool(&a));
    let late = event(
        &d,
        r#"{"amount":5,"merchant":"x","ts":"2024-05-01T20:00:00Z"}"#,
    );
    assert!(!filter.eval_bool(&late), "outside 9-17");
    let weekend = event(
        &d,
        r#"{"amount":5,"merchant":"x","ts":"2024-05-04T10:00:00Z"}"#,
    );
    assert!(!filter.eval_bool(&weekend), "Saturday");
    let no_device = event(&d, r#"{"amount":5,"ts":1714557600000}"#);
    assert!(
        !conds[0].eval_bool(&no_device),
        "device missing: null, not met"
    );

    let b = event(
        &d,
        r#"{"card_id":"c","amount":5,"merchant":"store-7","lat":40.7128,"lon":-74.006,
            "ts":"2024-05-01T10:05:00Z"}"#,
    );
    let scope = TestScope {
        event: Some(b.clone()),
        vars: vec![vec![a.clone()]],
        ..TestScope::default()
    };
    assert!(conds[1].eval_bool(&scope));
    let too_late = event(
        &d,
        r#"{"merchant":"store-7","lat":40.7,"lon":-74.0,"ts":"2024-05-01T10:11:00Z"}"#,
    );
    let scope = TestScope {
        event: Some(too_late),
        vars: vec![vec![a]],
        ..TestScope::default()
    };
    assert!(!conds[1].eval_bool(&scope));
}

#[test]
fn velocity_having_from_dsl_md() {
    let plan = plan(
        r#"
rule velocity {
  severity medium
  from transactions
  where amount > 0
  partition by card_id
  window sliding 5m every 1m
  having count() > 20 or sum(amount) > 5000
  emit card_id, count() as n, sum(amount) as total
}"#,
    );
    let RuleBody::Window(w) = &plan.body else {
        panic!("not a window rule")
    };
    let having = compile_expr(w.having.as_ref().unwrap_or_else(|| panic!("no having")));
    // Aggregate results in plan order (count, sum).
    let n = w.aggregates.len();
    let with = |count: i64, sum: f64| TestScope {
        keys: vec![Value::from("c-17")],
        aggs: (0..n)
            .map(|i| match w.aggregates[i].func {
                cepheus_dsl::plan::AggFunc::Count => Value::Int(count),
                _ => Value::Float(sum),
            })
            .collect(),
        window: Some((0, 300_000)),
        ..TestScope::default()
    };
    assert!(having.eval_bool(&with(21, 10.0)));
    assert!(having.eval_bool(&with(2, 5000.5)));
    assert!(!having.eval_bool(&with(20, 5000.0)));
    // `card_id` in a window rule's output is the partition key.
    let card = plan
        .output
        .fields
        .iter()
        .find(|f| f.name == "card_id")
        .map(|f| compile_expr(&f.expr).eval(&with(1, 1.0)));
    assert_eq!(card, Some(Value::from("c-17")));
}
