//! Unit tests of compilation: folding, borrowing, scopes.

use std::borrow::Cow;
use std::sync::Arc;

use cepheus_dsl::ast::BinaryOp;
use cepheus_dsl::plan::{self, Expr, Func};

use super::*;

fn lit(v: plan::Value) -> Expr {
    Expr::Literal(v)
}

fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}

fn field(slot: u32) -> Expr {
    Expr::Field {
        slot,
        steps: vec![],
    }
}

fn compile(e: &Expr) -> CompiledExpr {
    CompiledExpr::compile(e).expect("compiles")
}

fn record(values: Vec<Value>) -> Record {
    Record::new(values, 0, Arc::new(serde_json::Value::Null))
}

#[test]
fn constant_subtrees_fold() {
    let e = bin(
        BinaryOp::Add,
        lit(plan::Value::Int(1)),
        bin(
            BinaryOp::Mul,
            lit(plan::Value::Int(2)),
            lit(plan::Value::Int(3)),
        ),
    );
    assert_eq!(compile(&e).constant(), Some(&Value::Int(7)));
    let call = Expr::Call {
        func: Func::Lower,
        args: vec![lit(plan::Value::String("AB".into()))],
    };
    assert_eq!(compile(&call).constant(), Some(&Value::from("ab")));
    // Field reads never fold.
    assert_eq!(compile(&field(0)).constant(), None);
    let partly = bin(BinaryOp::Add, field(0), lit(plan::Value::Int(1)));
    assert_eq!(compile(&partly).constant(), None);
}

#[test]
fn false_and_true_or_fold_around_fields() {
    let f = bin(BinaryOp::And, field(0), lit(plan::Value::Bool(false)));
    assert_eq!(compile(&f).constant(), Some(&Value::Bool(false)));
    let t = bin(BinaryOp::Or, lit(plan::Value::Bool(true)), field(0));
    assert_eq!(compile(&t).constant(), Some(&Value::Bool(true)));
    let n = bin(BinaryOp::And, field(0), lit(plan::Value::Bool(true)));
    assert_eq!(compile(&n).constant(), None);
}

#[test]
fn fields_and_literals_are_borrowed() {
    let r = record(vec![Value::from("DE")]);
    let c = compile(&field(0));
    match c.eval_ref(&r) {
        Cow::Borrowed(v) => assert!(std::ptr::eq(v, r.get(0))),
        Cow::Owned(_) => panic!("field read copied"),
    }
    let l = compile(&lit(plan::Value::String("x".into())));
    assert!(matches!(l.eval_ref(&NoScope), Cow::Borrowed(_)));
    // lower() of an already lower-case ASCII string returns it as is.
    let lower = compile(&Expr::Call {
        func: Func::Lower,
        args: vec![field(0)],
    });
    let r = record(vec![Value::from("de")]);
    assert!(matches!(lower.eval_ref(&r), Cow::Borrowed(_)));
}

#[test]
fn record_is_a_scope_and_dyn_scopes_work() {
    let r = record(vec![Value::Int(600)]);
    let c = compile(&bin(BinaryOp::Gt, field(0), lit(plan::Value::Int(500))));
    assert!(c.eval_bool(&r));
    let dyn_scope: &dyn Scope = &r;
    assert!(c.eval_bool(dyn_scope));
    assert_eq!(r.var_len(0), 0);
    assert_eq!(r.var_event(0, 0).map(Record::time), None);
    assert_eq!(r.key(0), None);
    assert_eq!(r.agg(0), None);
    assert_eq!(r.window(), None);
    assert!(NoScope.event().is_none());
}

#[test]
fn compiled_expressions_are_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<CompiledExpr>();
    check::<Record>();
    check::<crate::record::Decoder>();
}

#[test]
fn ops_non_arithmetic_operators_are_null() {
    assert_eq!(
        ops::arith(BinaryOp::And, &Value::Int(1), &Value::Int(1)),
        Value::Null
    );
    assert_eq!(
        ops::compare(BinaryOp::Add, &Value::Int(1), &Value::Int(1)),
        None
    );
}

#[test]
fn field_literal_comparisons_in_both_orders() {
    let r = record(vec![Value::Int(5), Value::Null]);
    let lit5 = || lit(plan::Value::Int(5));
    for (op, field_first, want) in [
        (BinaryOp::Lt, true, Some(false)),
        (BinaryOp::Lt, false, Some(false)),
        (BinaryOp::Le, false, Some(true)),
        (BinaryOp::Gt, false, Some(false)),
        (BinaryOp::Ge, false, Some(true)),
        (BinaryOp::Eq, false, Some(true)),
        (BinaryOp::Ne, true, Some(false)),
    ] {
        let e = if field_first {
            bin(op, field(0), lit5())
        } else {
            bin(op, lit5(), field(0))
        };
        let c = compile(&e);
        assert!(matches!(c.root, Node::CmpFieldLit { .. }));
        assert_eq!(c.eval(&r).as_bool(), want, "{e:?}");
    }
    // 3 < x with x = 5: flipped to x > 3.
    let c = compile(&bin(BinaryOp::Lt, lit(plan::Value::Int(3)), field(0)));
    assert!(c.eval_bool(&r));
    // Null field, no event: null.
    let c = compile(&bin(BinaryOp::Lt, lit(plan::Value::Int(3)), field(1)));
    assert_eq!(c.eval(&r), Value::Null);
    assert_eq!(c.eval(&NoScope), Value::Null);
}

#[test]
fn long_string_lists_hash() {
    let countries = ["RU", "KP", "IR", "SY", "CU", "VE", "BY", "MM", "AF"];
    let list: Vec<Expr> = countries
        .iter()
        .map(|c| lit(plan::Value::String(c.to_string())))
        .collect();
    for negated in [false, true] {
        let e = Expr::In {
            expr: Box::new(field(0)),
            list: list.clone(),
            negated,
        };
        let c = compile(&e);
        assert!(matches!(c.root, Node::InStrings { .. }));
        let at = |v: Value| c.eval(&record(vec![v]));
        assert_eq!(at(Value::from("AF")), Value::Bool(!negated));
        assert_eq!(at(Value::from("US")), Value::Bool(negated));
        assert_eq!(at(Value::Null), Value::Null);
        assert_eq!(at(Value::Int(1)), Value::Bool(negated));
    }
    // Timestamps compare with RFC 3339 strings, through the fallback.
    let mut times: Vec<Expr> = (0..8)
        .map(|i| lit(plan::Value::String(format!("2024-05-0{}T00:00:00Z", i + 1))))
        .collect();
    times.push(lit(plan::Value::String("x".into())));
    let c = compile(&Expr::In {
        expr: Box::new(field(0)),
        list: times,
        negated: false,
    });
    assert!(matches!(c.root, Node::InStrings { .. }));
    assert!(c.eval_bool(&record(vec![Value::Timestamp(1_714_521_600_000)])));
    assert!(!c.eval_bool(&record(vec![Value::Timestamp(1)])));
}
