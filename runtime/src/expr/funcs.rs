//! Scalar functions and aggregates over pattern variables. [`sum`], [`avg`]
//! and [`haversine_km`] are public so that window aggregation can share them.

use std::borrow::Cow;
use std::cmp::Ordering;

use cepheus_dsl::plan::{Func, Slot, VarAggFunc, VarId};

use super::eval::null;
use super::node::Node;
use super::Scope;
use crate::time;
use crate::value::Value;

/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

pub(crate) fn call<'a, S: Scope + ?Sized>(
    func: Func,
    args: &'a [Node],
    s: &'a S,
) -> Cow<'a, Value> {
    let arg = |i: usize| args.get(i).map_or_else(null, |a| a.eval(s));
    let owned = Cow::Owned;
    match func {
        Func::Coalesce => {
            for a in args {
                let v = a.eval(s);
                if !v.is_null() {
                    return v;
                }
            }
            null()
        }
        Func::Abs => owned(match &*arg(0) {
            Value::Int(i) => i.checked_abs().map_or(Value::Null, Value::Int),
            Value::Float(f) => Value::Float(f.abs()),
            Value::Duration(d) => d.checked_abs().map_or(Value::Null, Value::Duration),
            _ => Value::Null,
        }),
        Func::Lower => change_case(arg(0), false),
        Func::Upper => change_case(arg(0), true),
        Func::Len => owned(match &*arg(0) {
            Value::Str(x) => Value::Int(x.chars().count() as i64),
            Value::Json(j) => match &**j {
                serde_json::Value::Array(a) => Value::Int(a.len() as i64),
                serde_json::Value::Object(o) => Value::Int(o.len() as i64),
                _ => Value::Null,
            },
            _ => Value::Null,
        }),
        Func::Contains => owned(contains(&arg(0), &arg(1))),
        Func::StartsWith => owned(match (&*arg(0), &*arg(1)) {
            (Value::Str(x), Value::Str(p)) => Value::Bool(x.starts_with(&**p)),
            _ => Value::Null,
        }),
        Func::EndsWith => owned(match (&*arg(0), &*arg(1)) {
            (Value::Str(x), Value::Str(p)) => Value::Bool(x.ends_with(&**p)),
            _ => Value::Null,
        }),
        Func::Round => owned(to_int(&arg(0), f64::round)),
        Func::Floor => owned(to_int(&arg(0), f64::floor)),
        Func::Ceil => owned(to_int(&arg(0), f64::ceil)),
        Func::GeoDistanceKm => {
            let (a, b, c, d) = (arg(0), arg(1), arg(2), arg(3));
            owned(match (a.as_f64(), b.as_f64(), c.as_f64(), d.as_f64()) {
                (Some(lat1), Some(lon1), Some(lat2), Some(lon2)) => {
                    let km = haversine_km(lat1, lon1, lat2, lon2);
                    if km.is_finite() {
                        Value::Float(km)
                    } else {
                        Value::Null
                    }
                }
                _ => Value::Null,
            })
        }
        Func::Hour => {
            owned(timestamp(&arg(0)).map_or(Value::Null, |t| Value::Int(time::hour_of_day(t))))
        }
        Func::DayOfWeek => {
            owned(timestamp(&arg(0)).map_or(Value::Null, |t| Value::Int(time::iso_day_of_week(t))))
        }
    }
}

/// `lower`/`upper`: returns the argument itself (no allocation) when it is
/// ASCII and already in the wanted case.
fn change_case(v: Cow<'_, Value>, upper: bool) -> Cow<'_, Value> {
    let unchanged = match &*v {
        Value::Str(x) => {
            x.is_ascii()
                && !x.bytes().any(|c| {
                    if upper {
                        c.is_ascii_lowercase()
                    } else {
                        c.is_ascii_uppercase()
                    }
                })
        }
        _ => return null(),
    };
    if unchanged {
        return v;
    }
    match &*v {
        Value::Str(x) if upper => Cow::Owned(Value::from(x.to_uppercase())),
        Value::Str(x) => Cow::Owned(Value::from(x.to_lowercase())),
        _ => null(),
    }
}

fn contains(hay: &Value, needle: &Value) -> Value {
    if needle.is_null() {
        return Value::Null;
    }
    match (hay, needle) {
        (Value::Str(x), Value::Str(p)) => Value::Bool(x.contains(&**p)),
        (Value::Json(j), _) => match &**j {
            serde_json::Value::Array(items) => Value::Bool(
                items
                    .iter()
                    .any(|i| Value::from_json(i).sql_eq(needle) == Some(true)),
            ),
            serde_json::Value::Object(o) => match needle {
                Value::Str(k) => Value::Bool(o.contains_key(&**k)),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// `round`/`floor`/`ceil`: ints unchanged, floats rounded by `f` to an int
/// (null if out of range).
fn to_int(v: &Value, f: fn(f64) -> f64) -> Value {
    match v {
        Value::Int(i) => Value::Int(*i),
        Value::Float(x) => {
            let r = f(*x);
            if r.is_finite() && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&r) {
                Value::Int(r as i64)
            } else {
                Value::Null
            }
        }
        _ => Value::Null,
    }
}

/// A timestamp, or a string holding one (from a `json` field).
fn timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        Value::Str(s) => time::parse_rfc3339(s),
        _ => None,
    }
}

/// Great-circle distance by the haversine formula, in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// `count/sum/avg/min/max` over the accepted events of a pattern variable.
pub(crate) fn var_agg<'a, S: Scope + ?Sized>(
    s: &'a S,
    var: VarId,
    func: VarAggFunc,
    slot: Option<Slot>,
) -> Cow<'a, Value> {
    let n = s.var_len(var);
    let Some(slot) = slot else {
        // `count(v)`: the number of events; other aggregates need a field.
        return match func {
            VarAggFunc::Count => Cow::Owned(Value::Int(n as i64)),
            _ => null(),
        };
    };
    let values = (0..n)
        .filter_map(move |i| s.var_event(var, i))
        .map(move |r| r.get(slot))
        .filter(|v| !v.is_null());
    match func {
        VarAggFunc::Count => Cow::Owned(Value::Int(values.count() as i64)),
        VarAggFunc::Sum => Cow::Owned(sum(values)),
        VarAggFunc::Avg => Cow::Owned(avg(values)),
        VarAggFunc::Min => extreme(values, Ordering::Less),
        VarAggFunc::Max => extreme(values, Ordering::Greater),
    }
}

/// The sum of non-null values: ints stay ints (null on overflow), a float
/// makes the sum a float, durations sum to a duration; none → null; values
/// that cannot be summed (strings, or durations mixed with numbers) → null.
pub fn sum<'v>(values: impl Iterator<Item = &'v Value>) -> Value {
    let mut acc = Value::Null;
    for v in values {
        acc = match (&acc, v) {
            (Value::Null, Value::Int(_) | Value::Float(_) | Value::Duration(_)) => v.clone(),
            (Value::Int(a), Value::Int(b)) => match a.checked_add(*b) {
                Some(x) => Value::Int(x),
                None => return Value::Null,
            },
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                Value::Float(acc.as_f64().unwrap_or(f64::NAN) + v.as_f64().unwrap_or(f64::NAN))
            }
            (Value::Duration(a), Value::Duration(b)) => match a.checked_add(*b) {
                Some(x) => Value::Duration(x),
                None => return Value::Null,
            },
            _ => return Value::Null,
        };
    }
    match acc {
        Value::Float(f) if !f.is_finite() => Value::Null,
        other => other,
    }
}

/// The mean of non-null values: a float for numbers, a duration (whole ms,
/// truncated) for durations; none or unsummable values → null.
pub fn avg<'v>(values: impl Iterator<Item = &'v Value>) -> Value {
    let mut n: i64 = 0;
    let mut total = 0f64;
    let mut dur: i128 = 0;
    let mut durations = false;
    for v in values {
        match v {
            Value::Int(_) | Value::Float(_) if !durations => {
                total += v.as_f64().unwrap_or(f64::NAN);
            }
            Value::Duration(d) if n == 0 || durations => {
                durations = true;
                dur += i128::from(*d);
            }
            _ => return Value::Null,
        }
        n += 1;
    }
    if n == 0 {
        Value::Null
    } else if durations {
        i64::try_from(dur / i128::from(n)).map_or(Value::Null, Value::Duration)
    } else {
        let m = total / n as f64;
        if m.is_finite() {
            Value::Float(m)
        } else {
            Value::Null
        }
    }
}

/// The least (`Less`) or greatest (`Greater`) value in the language's order,
/// borrowed; values not comparable with the best so far are skipped.
fn extreme<'a>(values: impl Iterator<Item = &'a Value>, want: Ordering) -> Cow<'a, Value> {
    let mut best: Option<&'a Value> = None;
    for v in values {
        match best {
            None => best = Some(v),
            Some(b) if v.sql_cmp(b) == Some(want) => best = Some(v),
            Some(_) => {}
        }
    }
    best.map_or_else(null, Cow::Borrowed)
}
