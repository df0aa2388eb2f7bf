//! The evaluator: one `match` per node, values borrowed where possible.

use std::borrow::Cow;

use cepheus_dsl::ast::BinaryOp;
use cepheus_dsl::plan::JsonStep;

use super::node::Node;
use super::ops::{self, truth};
use super::{funcs, Scope};
use crate::value::{Value, NULL};

#[inline]
pub(crate) fn null<'a>() -> Cow<'a, Value> {
    Cow::Borrowed(&NULL)
}

#[inline]
fn boolean<'a>(b: Option<bool>) -> Cow<'a, Value> {
    match b {
        Some(b) => Cow::Owned(Value::Bool(b)),
        None => null(),
    }
}

impl Node {
    pub(crate) fn eval<'a, S: Scope + ?Sized>(&'a self, s: &'a S) -> Cow<'a, Value> {
        match self {
            Node::Lit(v) => Cow::Borrowed(v),
            Node::Field(slot) => match s.event() {
                Some(r) => Cow::Borrowed(r.get(*slot)),
                None => null(),
            },
            Node::FieldPath(slot, steps) => match s.event() {
                Some(r) => walk(r.get(*slot), steps),
                None => null(),
            },
            Node::VarField {
                var,
                index,
                slot,
                steps,
            } => {
                let Some(i) = pick(s.var_len(*var), *index) else {
                    return null();
                };
                match s.var_event(*var, i) {
                    Some(r) if steps.is_empty() => Cow::Borrowed(r.get(*slot)),
                    Some(r) => walk(r.get(*slot), steps),
                    None => null(),
                }
            }
            Node::VarAgg { var, func, slot } => funcs::var_agg(s, *var, *func, *slot),
            Node::Agg(i) => s.agg(*i).map_or_else(null, Cow::Borrowed),
            Node::Key(i) => s.key(*i).map_or_else(null, Cow::Borrowed),
            Node::WindowStart => match s.window() {
                Some((start, _)) => Cow::Owned(Value::Timestamp(start)),
                None => null(),
            },
            Node::WindowEnd => match s.window() {
                Some((_, end)) => Cow::Owned(Value::Timestamp(end)),
                None => null(),
            },
            Node::Neg(e) => Cow::Owned(ops::neg(&e.eval(s))),
            Node::Arith(op, l, r) => Cow::Owned(ops::arith(*op, &l.eval(s), &r.eval(s))),
            Node::Not(_)
            | Node::And(..)
            | Node::Or(..)
            | Node::Cmp(..)
            | Node::CmpFieldLit { .. }
            | Node::In { .. }
            | Node::InStrings { .. }
            | Node::Between { .. }
            | Node::IsNull { .. }
            | Node::Matches { .. } => boolean(self.truth(s)),
            Node::Call(func, args) => funcs::call(*func, args, s),
        }
    }

    /// Evaluates as a truth value (`None`: null or not a boolean). Logic and
    /// predicates work here without building `Value::Bool`s, so conditions
    /// (`where`, `define`) take this path end to end.
    pub(crate) fn truth<S: Scope + ?Sized>(&self, s: &S) -> Option<bool> {
        match self {
            Node::Not(e) => e.truth(s).map(|b| !b),
            Node::And(l, r) => {
                let a = l.truth(s);
                if a == Some(false) {
                    return a;
                }
                ops::and3(a, r.truth(s))
            }
            Node::Or(l, r) => {
                let a = l.truth(s);
                if a == Some(true) {
                    return a;
                }
                ops::or3(a, r.truth(s))
            }
            Node::Cmp(op, l, r) => ops::compare(*op, &l.eval(s), &r.eval(s)),
            Node::CmpFieldLit { op, slot, lit } => ops::compare(*op, s.event()?.get(*slot), lit),
            Node::In {
                expr,
                list,
                negated,
            } => {
                let v = expr.eval(s);
                if v.is_null() {
                    return None;
                }
                let mut unknown = false;
                for item in list.iter() {
                    match v.sql_eq(&item.eval(s)) {
                        Some(true) => return Some(!negated),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                (!unknown).then_some(*negated)
            }
            Node::InStrings {
                expr,
                set,
                list,
                negated,
            } => {
                let v = expr.eval(s);
                match &*v {
                    Value::Null => None,
                    // No item is null, so a miss is a plain false.
                    Value::Str(x) => Some(set.contains(&**x) != *negated),
                    other => Some(
                        list.iter().any(|i| other.sql_eq(&i.eval(s)) == Some(true)) != *negated,
                    ),
                }
            }
            Node::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = expr.eval(s);
                let ge = ops::compare(BinaryOp::Ge, &v, &low.eval(s));
                if ge == Some(false) {
                    return Some(*negated);
                }
                let le = ops::compare(BinaryOp::Le, &v, &high.eval(s));
                let r = ops::and3(ge, le);
                if *negated {
                    r.map(|b| !b)
                } else {
                    r
                }
            }
            Node::IsNull { expr, negated } => Some(expr.eval(s).is_null() != *negated),
            Node::Matches { expr, regex } => match &*expr.eval(s) {
                Value::Str(x) => Some(regex.is_match(x)),
                _ => None,
            },
            other => truth(&other.eval(s)),
        }
    }
}

/// Index `i` of a sequence of `len` (negative: from the end).
#[inline]
pub(crate) fn pick(len: usize, i: i64) -> Option<usize> {
    if i >= 0 {
        let i = usize::try_from(i).ok()?;
        (i < len).then_some(i)
    } else {
        let back = usize::try_from(i.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

/// Steps into a `json` value; the leaf converted to a value.
fn walk<'a>(v: &Value, steps: &[JsonStep]) -> Cow<'a, Value> {
    let Value::Json(root) = v else {
        return null();
    };
    let mut cur: &serde_json::Value = root;
    for step in steps {
        let next = match (step, cur) {
            (JsonStep::Key(k), serde_json::Value::Object(m)) => m.get(k),
            (JsonStep::Index(i), serde_json::Value::Array(a)) => {
                pick(a.len(), *i).and_then(|i| a.get(i))
            }
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return null(),
        }
    }
    Cow::Owned(Value::from_json(cur))
}
