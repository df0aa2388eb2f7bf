//! The language's operators on runtime values (see the module docs of
//! [`crate::expr`] for the semantics). Public so that window aggregation can
//! share them.

use cepheus_dsl::ast::BinaryOp;
use std::cmp::Ordering;

use crate::value::Value;

/// A value as a truth value: `Some` for booleans, `None` (unknown) for null
/// and anything else.
#[inline]
pub fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// SQL `and` on truth values.
#[inline]
pub fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// SQL `or` on truth values.
#[inline]
pub fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// A comparison (`= != < <= > >=`); `None` is null. Other operators give
/// null.
#[inline]
pub fn compare(op: BinaryOp, a: &Value, b: &Value) -> Option<bool> {
    match op {
        BinaryOp::Eq => a.sql_eq(b),
        BinaryOp::Ne => a.sql_eq(b).map(|e| !e),
        BinaryOp::Lt => a.sql_cmp(b).map(Ordering::is_lt),
        BinaryOp::Le => a.sql_cmp(b).map(Ordering::is_le),
        BinaryOp::Gt => a.sql_cmp(b).map(Ordering::is_gt),
        BinaryOp::Ge => a.sql_cmp(b).map(Ordering::is_ge),
        _ => None,
    }
}

/// Unary minus: ints and durations checked, floats negated; else null.
pub fn neg(v: &Value) -> Value {
    match v {
        Value::Int(i) => i.checked_neg().map_or(Value::Null, Value::Int),
        Value::Float(f) => Value::Float(-f),
        Value::Duration(d) => d.checked_neg().map_or(Value::Null, Value::Duration),
        _ => Value::Null,
    }
}

/// A finite float, or null.
#[inline]
fn float(f: f64) -> Value {
    if f.is_finite() {
        Value::Float(f)
    } else {
        Value::Null
    }
}

/// A float number of milliseconds as a whole duration (rounded), or null.
fn millis(f: f64) -> Option<i64> {
    let r = f.round();
    (r.is_finite() && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&r))
        .then_some(r as i64)
}

/// Arithmetic (`+ - * / %`). Other operators give null.
pub fn arith(op: BinaryOp, a: &Value, b: &Value) -> Value {
    use BinaryOp::*;
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => {
            let (x, y) = (*x, *y);
            let r = match op {
                Add => x.checked_add(y),
                Sub => x.checked_sub(y),
                Mul => x.checked_mul(y),
                Div => {
                    return if y == 0 {
                        Null
                    } else {
                        float(x as f64 / y as f64)
                    }
                }
                Rem => x.checked_rem(y).or((y == -1).then_some(0)),
                _ => None,
            };
            r.map_or(Null, Int)
        }
        (Int(_) | Float(_), Int(_) | Float(_)) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            match op {
                Add => float(x + y),
                Sub => float(x - y),
                Mul => float(x * y),
                Div if y != 0.0 => float(x / y),
                Rem if y != 0.0 => float(x % y),
                _ => Null,
            }
        }
        (Timestamp(x), Timestamp(y)) if op == Sub => x.checked_sub(*y).map_or(Null, Duration),
        (Timestamp(t), Duration(d)) => match op {
            Add => t.checked_add(*d).map_or(Null, Timestamp),
            Sub => t.checked_sub(*d).map_or(Null, Timestamp),
            _ => Null,
        },
        (Duration(d), Timestamp(t)) if op == Add => t.checked_add(*d).map_or(Null, Timestamp),
        (Duration(x), Duration(y)) => match op {
            Add => x.checked_add(*y).map_or(Null, Duration),
            Sub => x.checked_sub(*y).map_or(Null, Duration),
            Div if *y != 0 => float(*x as f64 / *y as f64),
            Rem if *y != 0 => Duration(x.checked_rem(*y).unwrap_or(0)),
            _ => Null,
        },
        (Duration(d), Int(n)) => match op {
            Mul => d.checked_mul(*n).map_or(Null, Duration),
            Div if *n != 0 => d.checked_div(*n).map_or(Null, Duration),
            _ => Null,
        },
        (Int(n), Duration(d)) if op == Mul => d.checked_mul(*n).map_or(Null, Duration),
        (Duration(d), Float(f)) => match op {
            Mul => millis(*d as f64 * f).map_or(Null, Duration),
            Div if *f != 0.0 => millis(*d as f64 / f).map_or(Null, Duration),
            _ => Null,
        },
        (Float(f), Duration(d)) if op == Mul => millis(*d as f64 * f).map_or(Null, Duration),
        (Str(x), Str(y)) if op == Add => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Value::from(s)
        }
        _ => Null,
    }
}
