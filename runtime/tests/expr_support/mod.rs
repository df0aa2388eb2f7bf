//! Builders for hand-made plan expressions and a scope with everything in it,
//! shared by the `expr_*` integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use cepheus_dsl::ast::{BinaryOp, UnaryOp};
use cepheus_dsl::plan::{self, Expr, Func, JsonStep, Pick, VarAggFunc, VarId};
use cepheus_runtime::expr::{CompiledExpr, NoScope, Scope};
use cepheus_runtime::record::Record;
use cepheus_runtime::value::Value;

pub fn i(n: i64) -> Expr {
    Expr::Literal(plan::Value::Int(n))
}
pub fn f(x: f64) -> Expr {
    Expr::Literal(plan::Value::Float(x))
}
pub fn s(x: &str) -> Expr {
    Expr::Literal(plan::Value::String(x.to_string()))
}
pub fn b(x: bool) -> Expr {
    Expr::Literal(plan::Value::Bool(x))
}
pub fn null() -> Expr {
    Expr::Literal(plan::Value::Null)
}
pub fn ts(ms: i64) -> Expr {
    Expr::Literal(plan::Value::Timestamp(ms))
}
pub fn dur(ms: i64) -> Expr {
    Expr::Literal(plan::Value::Duration(ms))
}
pub fn field(slot: u32) -> Expr {
    Expr::Field {
        slot,
        steps: vec![],
    }
}
pub fn path(slot: u32, steps: Vec<JsonStep>) -> Expr {
    Expr::Field { slot, steps }
}
pub fn key(k: &str) -> JsonStep {
    JsonStep::Key(k.to_string())
}
pub fn idx(n: i64) -> JsonStep {
    JsonStep::Index(n)
}
pub fn var_field(var: VarId, index: i64, slot: u32) -> Expr {
    Expr::VarField {
        var,
        pick: Pick::Index(index),
        slot,
        steps: vec![],
    }
}
pub fn var_agg(var: VarId, func: VarAggFunc, slot: Option<u32>) -> Expr {
    Expr::VarAgg { var, func, slot }
}
pub fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}
pub fn not(e: Expr) -> Expr {
    Expr::Unary {
        op: UnaryOp::Not,
        expr: Box::new(e),
    }
}
pub fn neg(e: Expr) -> Expr {
    Expr::Unary {
        op: UnaryOp::Neg,
        expr: Box::new(e),
    }
}
pub fn call(func: Func, args: Vec<Expr>) -> Expr {
    Expr::Call { func, args }
}
pub fn in_list(e: Expr, list: Vec<Expr>, negated: bool) -> Expr {
    Expr::In {
        expr: Box::new(e),
        list,
        negated,
    }
}
pub fn between(e: Expr, low: Expr, high: Expr, negated: bool) -> Expr {
    Expr::Between {
        expr: Box::new(e),
        low: Box::new(low),
        high: Box::new(high),
        negated,
    }
}
pub fn is_null(e: Expr, negated: bool) -> Expr {
    Expr::IsNull {
        expr: Box::new(e),
        negated,
    }
}
pub fn matches(e: Expr, regex: &str) -> Expr {
    Expr::Matches {
        expr: Box::new(e),
        regex: regex.to_string(),
    }
}

/// A record with these slot values (no original JSON).
pub fn rec(values: Vec<Value>) -> Record {
    Record::new(values, 0, Arc::new(serde_json::Value::Null))
}

pub fn compile(e: &Expr) -> CompiledExpr {
    match CompiledExpr::compile(e) {
        Ok(c) => c,
        Err(err) => panic!("compile {e:?}: {err}"),
    }
}

/// Evaluates with nothing in scope.
pub fn eval(e: &Expr) -> Value {
    compile(e).eval(&NoScope)
}

/// Evaluates against one event.
pub fn eval_on(e: &Expr, r: &Record) -> Value {
    compile(e).eval(r)
}

/// A scope with everything: an event, pattern variables, keys, aggregates and
/// a window.
#[derive(Debug, Default)]
pub struct TestScope {
    pub event: Option<Record>,
    pub vars: Vec<Vec<Record>>,
    pub keys: Vec<Value>,
    pub aggs: Vec<Value>,
    pub window: Option<(i64, i64)>,
}

impl Scope for TestScope {
    fn event(&self) -> Option<&Record> {
        self.event.as_ref()
    }
    fn var_len(&self, var: VarId) -> usize {
        self.vars.get(var as usize).map_or(0, Vec::len)
    }
    fn var_event(&self, var: VarId, i: usize) -> Option<&Record> {
        self.vars.get(var as usize)?.get(i)
    }
    fn key(&self, i: u32) -> Option<&Value> {
        self.keys.get(i as usize)
    }
    fn agg(&self, i: u32) -> Option<&Value> {
        self.aggs.get(i as usize)
    }
    fn window(&self) -> Option<(i64, i64)> {
        self.window
    }
}
