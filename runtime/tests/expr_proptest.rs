//! Property: compiling and evaluating random arithmetic, comparison, logic and
//! function trees over random records never panics, and a tree folded to a
//! constant gives the same value as evaluating it.

mod expr_support;

use cepheus_dsl::ast::{BinaryOp, UnaryOp};
use cepheus_dsl::plan::{self, Expr, Func, JsonStep, Pick, VarAggFunc};
use cepheus_runtime::expr::{CompiledExpr, NoScope};
use cepheus_runtime::value::Value;
use expr_support::{rec, TestScope};
use proptest::prelude::*;

fn literal() -> impl Strategy<Value = plan::Value> {
    prop_oneof![
        Just(plan::Value::Null),
        any::<bool>().prop_map(plan::Value::Bool),
        any::<i64>().prop_map(plan::Value::Int),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX)
        ]
        .prop_map(plan::Value::Int),
        any::<f64>().prop_map(plan::Value::Float),
        prop_oneof![
            Just(0.0f64),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e308)
        ]
        .prop_map(plan::Value::Float),
        "[a-zA-Zä0-9 ]{0,6}".prop_map(plan::Value::String),
        any::<i64>().prop_map(plan::Value::Timestamp),
        any::<i64>().prop_map(plan::Value::Duration),
    ]
}

fn runtime_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        literal().prop_map(Value::from),
        Just(Value::Json(std::sync::Arc::new(
            serde_json::json!({"a": [1, 2.5, "x", null], "b": {"c": true}})
        ))),
    ]
}

const OPS: [BinaryOp; 13] = [
    BinaryOp::Or,
    BinaryOp::And,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Rem,
];

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => literal().prop_map(Expr::Literal),
        2 => (0u32..5).prop_map(|slot| Expr::Field { slot, steps: vec![] }),
        1 => (0u32..5, prop::collection::vec(prop_oneof![
            "[abc]".prop_map(JsonStep::Key),
            (-3i64..3).prop_map(JsonStep::Index),
        ], 0..3)).prop_map(|(slot, steps)| Expr::Field { slot, steps }),
        1 => (0u32..3, -4i64..4, 0u32..5).prop_map(|(var, i, slot)| Expr::VarField {
            var, pick: Pick::Index(i), slot, steps: vec![],
        }),
        1 => (0u32..3, 0usize..5, prop::option::of(0u32..5)).prop_map(|(var, f, slot)| {
            let func = [VarAggFunc::Count, VarAggFunc::Sum, VarAggFunc::Avg,
                        VarAggFunc::Min, VarAggFunc::Max][f];
            Expr::VarAgg { var, func, slot }
        }),
        1 => prop_oneof![
            (0u32..3).prop_map(Expr::Agg),
            (0u32..3).prop_map(Expr::Key),
            Just(Expr::WindowStart),
            Just(Expr::WindowEnd),
        ],
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            4 => (0usize..OPS.len(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| {
                Expr::Binary { op: OPS[op], lhs: Box::new(l), rhs: Box::new(r) }
            }),
            1 => (any::<bool>(), inner.clone()).prop_map(|(not, e)| Expr::Unary {
                op: if not { UnaryOp::Not } else { UnaryOp::Neg },
                expr: Box::new(e),
            }),
            1 => (inner.clone(), prop::collection::vec(inner.clone(), 0..3), any::<bool>())
                .prop_map(|(e, list, negated)| Expr::In { expr: Box::new(e), list, negated }),
            1 => (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(
                |(e, lo, hi, negated)| Expr::Between {
                    expr: Box::new(e), low: Box::new(lo), high: Box::new(hi), negated,
                }),
            1 => (inner.clone(), any::<bool>())
                .prop_map(|(e, negated)| Expr::IsNull { expr: Box::new(e), negated }),
            1 => inner.clone().prop_map(|e| Expr::Matches {
                expr: Box::new(e), regex: "^[a-z]+$".to_string(),
            }),
            2 => (0usize..Func::ALL.len(), prop::collection::vec(inner, 1..5)).prop_map(
                |(f, mut args)| {
                    let func = Func::ALL[f];
                    let n = match func {
                        Func::Contains | Func::StartsWith | Func::EndsWith => 2,
                        Func::GeoDistanceKm => 4,
                        Func::Coalesce => args.len(),
                        _ => 1,
                    };
                    while args.len() < n {
                        args.push(Expr::Literal(plan::Value::Null));
                    }
                    args.truncate(n);
                    Expr::Call { func, args }
                }),
        ]
    })
}

fn scope() -> impl Strategy<Value = TestScope> {
    let record = || prop::collection::vec(runtime_value(), 5).prop_map(rec);
    (
        prop::option::of(record()),
        prop::collection::vec(prop::collection::vec(record(), 0..3), 0..3),
        prop::collection::vec(runtime_value(), 0..3),
        prop::collection::vec(runtime_value(), 0..3),
        prop::option::of((any::<i64>(), any::<i64>())),
    )
        .prop_map(|(event, vars, keys, aggs, window)| TestScope {
            event,
            vars,
            keys,
            aggs,
            window,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_never_panics(e in expr(), s in scope()) {
        let c = CompiledExpr::compile(&e).map_err(|err| TestCaseError::fail(err.to_string()))?;
        let v = c.eval(&s);
        let b = c.eval_bool(&s);
        prop_assert_eq!(b, v == Value::Bool(true));
        let _ = v.to_json();
        let _ = v.to_string();
        prop_assert_eq!(&*c.eval_ref(&s), &v);
    }

    #[test]
    fn folding_agrees_with_evaluation(e in expr()) {
        // Constant trees fold at compile time; evaluating the fold must equal
        // evaluating with an empty scope.
        let c = CompiledExpr::compile(&e).map_err(|err| TestCaseError::fail(err.to_string()))?;
        let v = c.eval(&NoScope);
        if let Some(k) = c.constant() {
            prop_assert_eq!(k, &v);
        }
    }
}
