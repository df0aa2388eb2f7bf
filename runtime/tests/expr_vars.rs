//! Pattern-variable reads (`small[0].amount`, `count(small)`, `sum(...)`),
//! keys, window aggregates and bounds, through a scope like the NFA's.

mod expr_support;

use cepheus_dsl::ast::BinaryOp::*;
use cepheus_dsl::plan::{Expr, VarAggFunc};
use cepheus_runtime::value::Value;
use expr_support::*;

const SMALL: u32 = 0;
const BIG: u32 = 1;
// Slots of the transaction record.
const AMOUNT: u32 = 0;
const COUNTRY: u32 = 1;

fn tx(amount: Value, country: &str) -> cepheus_runtime::record::Record {
    rec(vec![amount, Value::from(country)])
}

/// Three small charges accepted so far (one with a null amount), and the
/// current event.
fn scope(current: cepheus_runtime::record::Record) -> TestScope {
    TestScope {
        event: Some(current),
        vars: vec![
            vec![
                tx(Value::Float(1.5), "DE"),
                tx(Value::Null, "DE"),
                tx(Value::Float(0.5), "FR"),
            ],
            vec![],
        ],
        ..TestScope::default()
    }
}

fn ev(e: &Expr, s: &TestScope) -> Value {
    compile(e).eval(s)
}

#[test]
fn picks_from_start_and_end() {
    let s = scope(tx(Value::Float(900.0), "US"));
    assert_eq!(ev(&var_field(SMALL, 0, AMOUNT), &s), Value::Float(1.5));
    assert_eq!(ev(&var_field(SMALL, 0, COUNTRY), &s), Value::from("DE"));
    assert_eq!(ev(&var_field(SMALL, 2, COUNTRY), &s), Value::from("FR"));
    assert_eq!(ev(&var_field(SMALL, -1, COUNTRY), &s), Value::from("FR"));
    assert_eq!(ev(&var_field(SMALL, -3, AMOUNT), &s), Value::Float(1.5));
    // Out of range, unknown variable, empty variable: null.
    assert_eq!(ev(&var_field(SMALL, 3, AMOUNT), &s), Value::Null);
    assert_eq!(ev(&var_field(SMALL, -4, AMOUNT), &s), Value::Null);
    assert_eq!(ev(&var_field(SMALL, i64::MIN, AMOUNT), &s), Value::Null);
    assert_eq!(ev(&var_field(SMALL, i64::MAX, AMOUNT), &s), Value::Null);
    assert_eq!(ev(&var_field(BIG, 0, AMOUNT), &s), Value::Null);
    assert_eq!(ev(&var_field(9, -1, AMOUNT), &s), Value::Null);
}

#[test]
fn card_testing_big_condition() {
    // big as amount > 500 and country != small[0].country
    let big = bin(
        And,
        bin(Gt, field(AMOUNT), i(500)),
        bin(Ne, field(COUNTRY), var_field(SMALL, 0, COUNTRY)),
    );
    let c = compile(&big);
    assert!(c.eval_bool(&scope(tx(Value::Float(812.0), "US"))));
    assert!(!c.eval_bool(&scope(tx(Value::Float(812.0), "DE"))));
    assert!(!c.eval_bool(&scope(tx(Value::Float(12.0), "US"))));
    assert!(!c.eval_bool(&scope(tx(Value::Null, "US"))));
    // No small events yet: small[0].country is null, so the condition is not met.
    let mut empty = scope(tx(Value::Float(812.0), "US"));
    empty.vars[0].clear();
    assert!(!c.eval_bool(&empty));
}

#[test]
fn aggregates_over_a_variable() {
    let s = scope(tx(Value::Float(0.0), "US"));
    let agg = |func, slot| ev(&var_agg(SMALL, func, slot), &s);
    assert_eq!(agg(VarAggFunc::Count, None), Value::Int(3));
    // count(small.amount) counts non-null values.
    assert_eq!(agg(VarAggFunc::Count, Some(AMOUNT)), Value::Int(2));
    assert_eq!(agg(VarAggFunc::Sum, Some(AMOUNT)), Value::Float(2.0));
    assert_eq!(agg(VarAggFunc::Avg, Some(AMOUNT)), Value::Float(1.0));
    assert_eq!(agg(VarAggFunc::Min, Some(AMOUNT)), Value::Float(0.5));
    assert_eq!(agg(VarAggFunc::Max, Some(AMOUNT)), Value::Float(1.5));
    assert_eq!(agg(VarAggFunc::Min, Some(COUNTRY)), Value::from("DE"));
    assert_eq!(agg(VarAggFunc::Max, Some(COUNTRY)), Value::from("FR"));
    // Sum/avg of strings are null; aggregates other than count need a field.
    assert_eq!(agg(VarAggFunc::Sum, Some(COUNTRY)), Value::Null);
    assert_eq!(agg(VarAggFunc::Avg, Some(COUNTRY)), Value::Null);
    assert_eq!(agg(VarAggFunc::Sum, None), Value::Null);
}

#[test]
fn aggregates_over_nothing() {
    let s = scope(tx(Value::Float(0.0), "US"));
    let agg = |func, slot| ev(&var_agg(BIG, func, slot), &s);
    assert_eq!(agg(VarAggFunc::Count, None), Value::Int(0));
    assert_eq!(agg(VarAggFunc::Count, Some(AMOUNT)), Value::Int(0));
    for func in [
        VarAggFunc::Sum,
        VarAggFunc::Avg,
        VarAggFunc::Min,
        VarAggFunc::Max,
    ] {
        assert_eq!(agg(func, Some(AMOUNT)), Value::Null, "{func:?}");
    }
}

#[test]
fn integer_and_duration_aggregates() {
    let ints = |xs: &[Value]| xs.iter().map(|x| rec(vec![x.clone()])).collect::<Vec<_>>();
    let with = |vals: &[Value]| TestScope {
        vars: vec![ints(vals)],
        ..TestScope::default()
    };
    let sum = var_agg(0, VarAggFunc::Sum, Some(0));
    let avg = var_agg(0, VarAggFunc::Avg, Some(0));
    let s = with(&[Value::Int(2), Value::Int(3)]);
    assert_eq!(ev(&sum, &s), Value::Int(5));
    assert_eq!(ev(&avg, &s), Value::Float(2.5));
    let s = with(&[Value::Int(2), Value::Float(0.5)]);
    assert_eq!(ev(&sum, &s), Value::Float(2.5));
    let s = with(&[Value::Int(i64::MAX), Value::Int(1)]);
    assert_eq!(ev(&sum, &s), Value::Null);
    assert_eq!(ev(&avg, &s), Value::Float((i64::MAX as f64 + 1.0) / 2.0));
    let s = with(&[Value::Duration(1_000), Value::Duration(2_001)]);
    assert_eq!(ev(&sum, &s), Value::Duration(3_001));
    assert_eq!(ev(&avg, &s), Value::Duration(1_500));
    let s = with(&[Value::Duration(1_000), Value::Int(1)]);
    assert_eq!(ev(&sum, &s), Value::Null);
    assert_eq!(ev(&avg, &s), Value::Null);
    let s = with(&[Value::Int(1), Value::Duration(1_000)]);
    assert_eq!(ev(&avg, &s), Value::Null);
    let s = with(&[Value::Int(3), Value::Float(2.5), Value::Int(-1)]);
    assert_eq!(
        ev(&var_agg(0, VarAggFunc::Min, Some(0)), &s),
        Value::Int(-1)
    );
    assert_eq!(ev(&var_agg(0, VarAggFunc::Max, Some(0)), &s), Value::Int(3));
}

#[test]
fn iterative_condition_uses_aggregates() {
    // small as amount < 2.00 and amount < avg(small.amount) * 2
    let cond = bin(
        And,
        bin(Lt, field(AMOUNT), f(2.0)),
        bin(
            Lt,
            field(AMOUNT),
            bin(Mul, var_agg(SMALL, VarAggFunc::Avg, Some(AMOUNT)), i(2)),
        ),
    );
    let c = compile(&cond);
    assert!(c.eval_bool(&scope(tx(Value::Float(1.9), "DE"))));
    let mut first = scope(tx(Value::Float(1.0), "DE"));
    first.vars[0].clear();
    // avg over nothing is null, so the first event fails this condition.
    assert!(!c.eval_bool(&first));
}

#[test]
fn keys_aggregates_and_window() {
    let s = TestScope {
        keys: vec![Value::from("c-17")],
        aggs: vec![Value::Int(21), Value::Float(5200.0)],
        window: Some((1_000, 301_000)),
        ..TestScope::default()
    };
    // having count() > 20 or sum(amount) > 5000
    let having = bin(
        Or,
        bin(Gt, Expr::Agg(0), i(20)),
        bin(Gt, Expr::Agg(1), i(5000)),
    );
    assert!(compile(&having).eval_bool(&s));
    assert_eq!(ev(&Expr::Key(0), &s), Value::from("c-17"));
    assert_eq!(ev(&Expr::Key(1), &s), Value::Null);
    assert_eq!(ev(&Expr::Agg(2), &s), Value::Null);
    assert_eq!(ev(&Expr::WindowStart, &s), Value::Timestamp(1_000));
    assert_eq!(ev(&Expr::WindowEnd, &s), Value::Timestamp(301_000));
    assert_eq!(
        ev(&bin(Sub, Expr::WindowEnd, Expr::WindowStart), &s),
        Value::Duration(300_000)
    );
    let none = TestScope::default();
    assert_eq!(ev(&Expr::WindowStart, &none), Value::Null);
    assert_eq!(ev(&Expr::WindowEnd, &none), Value::Null);
}

#[test]
fn json_steps_on_variable_events() {
    let meta = Value::Json(std::sync::Arc::new(serde_json::json!({"ip": "10.0.0.1"})));
    let s = TestScope {
        vars: vec![vec![rec(vec![meta])]],
        ..TestScope::default()
    };
    let e = Expr::VarField {
        var: 0,
        pick: cepheus_dsl::plan::Pick::Index(-1),
        slot: 0,
        steps: vec![key("ip")],
    };
    assert_eq!(ev(&e, &s), Value::from("10.0.0.1"));
}
