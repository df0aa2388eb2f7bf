//! Operators, null logic, numeric promotion and functions of compiled
//! expressions, one table per topic.

mod expr_support;

use std::sync::Arc;

use cepheus_dsl::ast::BinaryOp::{self, *};
use cepheus_dsl::plan::Func;
use cepheus_runtime::expr::{CompileError, CompiledExpr, NoScope};
use cepheus_runtime::time::parse_rfc3339;
use cepheus_runtime::value::Value;
use expr_support::*;
use serde_json::json;

const T0: i64 = 1_714_557_600_000; // 2024-05-01T10:00:00Z, a Wednesday

fn v<T: Into<Value>>(x: T) -> Value {
    x.into()
}

fn check(cases: Vec<(cepheus_dsl::plan::Expr, Value)>) {
    for (e, want) in cases {
        let got = eval(&e);
        assert_eq!(got, want, "{e:?}");
    }
}

#[test]
fn three_valued_and_or_not() {
    let (t, fa, n) = (|| b(true), || b(false), null);
    check(vec![
        (bin(And, t(), t()), v(true)),
        (bin(And, t(), fa()), v(false)),
        (bin(And, fa(), n()), v(false)),
        (bin(And, n(), fa()), v(false)),
        (bin(And, t(), n()), Value::Null),
        (bin(And, n(), n()), Value::Null),
        (bin(Or, fa(), fa()), v(false)),
        (bin(Or, t(), n()), v(true)),
        (bin(Or, n(), t()), v(true)),
        (bin(Or, fa(), n()), Value::Null),
        (bin(Or, n(), n()), Value::Null),
        (not(t()), v(false)),
        (not(fa()), v(true)),
        (not(n()), Value::Null),
        // Non-booleans are unknown.
        (bin(And, t(), i(1)), Value::Null),
        (not(i(1)), Value::Null),
    ]);
}

#[test]
fn and_or_with_fields_short_circuit_like_sql() {
    // slot 0 null, slot 1 = 5
    let r = rec(vec![Value::Null, v(5i64)]);
    let gt = |slot, n| bin(Gt, field(slot), i(n));
    let c = |e| compile(&e).eval_bool(&r);
    assert!(!c(gt(0, 1)));
    assert!(!c(not(gt(0, 1))), "not null is null, so false");
    assert!(c(bin(Or, gt(0, 1), gt(1, 1))));
    assert!(!c(bin(And, gt(0, 1), gt(1, 1))));
    assert_eq!(eval_on(&bin(And, gt(1, 9), gt(0, 1)), &r), v(false));
    assert_eq!(eval_on(&bin(Or, gt(1, 1), gt(0, 1)), &r), v(true));
}

#[test]
fn comparisons() {
    let cmp = |op, a, b| bin(op, a, b);
    check(vec![
        (cmp(Eq, i(1), i(1)), v(true)),
        (cmp(Ne, i(1), i(1)), v(false)),
        (cmp(Lt, i(1), i(2)), v(true)),
        (cmp(Le, i(2), i(2)), v(true)),
        (cmp(Gt, i(1), i(2)), v(false)),
        (cmp(Ge, i(3), i(2)), v(true)),
        // Numeric promotion.
        (cmp(Eq, i(1), f(1.0)), v(true)),
        (cmp(Lt, i(1), f(1.5)), v(true)),
        (cmp(Gt, f(2.5), i(2)), v(true)),
        (
            cmp(Eq, i(9_007_199_254_740_993), f(9_007_199_254_740_992.0)),
            v(false),
        ),
        // Strings (bytewise = code point order).
        (cmp(Lt, s("abc"), s("abd")), v(true)),
        (cmp(Eq, s("x"), s("x")), v(true)),
        (cmp(Gt, s("b"), s("abc")), v(true)),
        (cmp(Ne, s("DE"), s("FR")), v(true)),
        // Booleans, timestamps, durations.
        (cmp(Eq, b(true), b(true)), v(true)),
        (cmp(Lt, b(false), b(true)), v(true)),
        (cmp(Lt, ts(T0), ts(T0 + 1)), v(true)),
        (cmp(Ge, dur(60_000), dur(59_999)), v(true)),
        // Null → null; unrelated types: unequal and unordered.
        (cmp(Eq, i(1), null()), Value::Null),
        (cmp(Ne, null(), null()), Value::Null),
        (cmp(Lt, null(), i(1)), Value::Null),
        (cmp(Eq, i(1), s("1")), v(false)),
        (cmp(Ne, i(1), s("1")), v(true)),
        (cmp(Lt, i(1), s("1")), Value::Null),
        (cmp(Lt, ts(0), dur(0)), Value::Null),
    ]);
}

#[test]
fn integer_arithmetic() {
    check(vec![
        (bin(Add, i(2), i(3)), v(5i64)),
        (bin(Sub, i(2), i(3)), v(-1i64)),
        (bin(Mul, i(4), i(3)), v(12i64)),
        // int / int is a float (as the checker types it).
        (bin(Div, i(7), i(2)), v(3.5)),
        (bin(Div, i(-6), i(3)), v(-2.0)),
        (bin(Rem, i(7), i(3)), v(1i64)),
        (bin(Rem, i(-7), i(3)), v(-1i64)),
        (bin(Rem, i(i64::MIN), i(-1)), v(0i64)),
        // Overflow and division by zero are null.
        (bin(Add, i(i64::MAX), i(1)), Value::Null),
        (bin(Sub, i(i64::MIN), i(1)), Value::Null),
        (bin(Mul, i(i64::MAX), i(2)), Value::Null),
        (bin(Div, i(1), i(0)), Value::Null),
        (bin(Rem, i(1), i(0)), Value::Null),
        (neg(i(i64::MIN)), Value::Null),
        (neg(i(5)), v(-5i64)),
        (neg(null()), Value::Null),
        (neg(s("x")), Value::Null),
    ]);
}

#[test]
fn float_arithmetic_and_promotion() {
    check(vec![
        (bin(Add, i(1), f(0.5)), v(1.5)),
        (bin(Sub, f(1.5), i(1)), v(0.5)),
        (bin(Mul, f(1.5), f(2.0)), v(3.0)),
        (bin(Div, f(1.0), i(4)), v(0.25)),
        (bin(Rem, f(7.5), i(2)), v(1.5)),
        (bin(Div, f(1.0), f(0.0)), Value::Null),
        (bin(Div, i(1), f(0.0)), Value::Null),
        (bin(Rem, f(1.0), f(0.0)), Value::Null),
        (bin(Mul, f(1e308), f(10.0)), Value::Null),
        (neg(f(2.5)), v(-2.5)),
        (bin(Add, i(1), null()), Value::Null),
        (bin(Mul, null(), f(2.0)), Value::Null),
        (bin(Add, i(1), s("1")), Value::Null),
        (bin(Add, b(true), i(1)), Value::Null),
    ]);
}

#[test]
fn time_arithmetic() {
    check(vec![
        (bin(Sub, ts(T0 + 5_000), ts(T0)), Value::Duration(5_000)),
        (bin(Add, ts(T0), dur(60_000)), Value::Timestamp(T0 + 60_000)),
        (bin(Sub, ts(T0), dur(60_000)), Value::Timestamp(T0 - 60_000)),
        (bin(Add, dur(60_000), ts(T0)), Value::Timestamp(T0 + 60_000)),
        (bin(Add, dur(1), dur(2)), Value::Duration(3)),
        (bin(Sub, dur(1), dur(2)), Value::Duration(-1)),
        (bin(Mul, dur(1_000), i(3)), Value::Duration(3_000)),
        (bin(Mul, i(3), dur(1_000)), Value::Duration(3_000)),
        (bin(Mul, dur(1_000), f(1.5)), Value::Duration(1_500)),
        (bin(Mul, f(0.5), dur(3)), Value::Duration(2)),
        (bin(Div, dur(1_000), i(3)), Value::Duration(333)),
        (bin(Div, dur(1_000), f(4.0)), Value::Duration(250)),
        (bin(Div, dur(90_000), dur(60_000)), v(1.5)),
        (bin(Div, dur(1), dur(0)), Value::Null),
        (bin(Div, dur(1), i(0)), Value::Null),
        (neg(dur(5)), Value::Duration(-5)),
        // Meaningless mixes are null.
        (bin(Add, ts(T0), ts(T0)), Value::Null),
        (bin(Add, ts(T0), i(1)), Value::Null),
        (bin(Sub, dur(1), ts(T0)), Value::Null),
        (bin(Add, ts(i64::MAX), dur(1)), Value::Null),
        // ts - ts compared with a duration literal, as rules write it.
        (
            bin(Gt, bin(Sub, ts(T0 + 700_000), ts(T0)), dur(600_000)),
            v(true),
        ),
    ]);
}

#[test]
fn string_concatenation() {
    check(vec![(bin(Add, s("ab"), s("cd")), v("abcd"))]);
}

#[test]
fn in_lists() {
    check(vec![
        (in_list(s("DE"), vec![s("FR"), s("DE")], false), v(true)),
        (in_list(s("US"), vec![s("FR"), s("DE")], false), v(false)),
        (in_list(s("US"), vec![s("FR"), s("DE")], true), v(true)),
        (in_list(s("DE"), vec![s("FR"), s("DE")], true), v(false)),
        (in_list(i(1), vec![f(1.0)], false), v(true)),
        // SQL: a null item makes a miss unknown, not false.
        (in_list(i(1), vec![i(2), null()], false), Value::Null),
        (in_list(i(1), vec![null(), i(1)], false), v(true)),
        (in_list(i(1), vec![i(2), null()], true), Value::Null),
        (in_list(null(), vec![i(1)], false), Value::Null),
        (in_list(null(), vec![i(1)], true), Value::Null),
        (in_list(i(1), vec![], false), v(false)),
    ]);
}

#[test]
fn between_inclusive() {
    check(vec![
        (between(i(5), i(1), i(10), false), v(true)),
        (between(i(1), i(1), i(10), false), v(true)),
        (between(i(10), i(1), i(10), false), v(true)),
        (between(i(11), i(1), i(10), false), v(false)),
        (between(i(0), i(1), i(10), false), v(false)),
        (between(i(0), i(1), i(10), true), v(true)),
        (between(i(5), i(1), i(10), true), v(false)),
        (between(f(1.5), i(1), i(2), false), v(true)),
        (between(ts(T0), ts(T0 - 1), ts(T0 + 1), false), v(true)),
        (between(s("m"), s("a"), s("z"), false), v(true)),
        (between(null(), i(1), i(2), false), Value::Null),
        (between(i(5), null(), i(2), false), v(false)),
        (between(i(5), null(), i(9), false), Value::Null),
        (between(i(0), i(1), null(), false), v(false)),
        (between(i(5), null(), i(2), true), v(true)),
    ]);
}

#[test]
fn is_null() {
    let r = rec(vec![Value::Null, v(1i64)]);
    assert_eq!(
        eval_on(&expr_support::is_null(field(0), false), &r),
        v(true)
    );
    assert_eq!(
        eval_on(&expr_support::is_null(field(0), true), &r),
        v(false)
    );
    assert_eq!(
        eval_on(&expr_support::is_null(field(1), false), &r),
        v(false)
    );
    assert_eq!(eval_on(&expr_support::is_null(field(1), true), &r), v(true));
    assert_eq!(
        eval_on(&expr_support::is_null(field(7), false), &r),
        v(true)
    );
}

#[test]
fn regex_matches() {
    check(vec![
        (matches(s("ab-123"), r"^[a-z]+-\d+$"), v(true)),
        (matches(s("ab-x"), r"^[a-z]+-\d+$"), v(false)),
        (matches(s("xxSHOPyy"), "SHOP"), v(true)),
        (matches(null(), "x"), Value::Null),
        (matches(i(5), "5"), Value::Null),
    ]);
    let err = CompiledExpr::compile(&matches(s("x"), "(")).unwrap_err();
    assert!(matches!(err, CompileError::Regex { .. }));
    assert!(
        err.to_string().starts_with("invalid regex \"(\": "),
        "{err}"
    );
}

#[test]
fn string_functions() {
    check(vec![
        (call(Func::Lower, vec![s("AbC")]), v("abc")),
        (call(Func::Lower, vec![s("abc")]), v("abc")),
        (call(Func::Lower, vec![s("ÄÖ")]), v("äö")),
        (call(Func::Upper, vec![s("abC")]), v("ABC")),
        (call(Func::Upper, vec![s("straße")]), v("STRASSE")),
        (call(Func::Lower, vec![null()]), Value::Null),
        (call(Func::Lower, vec![i(1)]), Value::Null),
        (call(Func::Len, vec![s("héllo")]), v(5i64)),
        (call(Func::Len, vec![s("")]), v(0i64)),
        (call(Func::Len, vec![null()]), Value::Null),
        (
            call(Func::Contains, vec![s("merchant-shop"), s("shop")]),
            v(true),
        ),
        (
            call(Func::Contains, vec![s("merchant"), s("shop")]),
            v(false),
        ),
        (call(Func::Contains, vec![s("x"), null()]), Value::Null),
        (call(Func::Contains, vec![null(), s("x")]), Value::Null),
        (
            call(Func::StartsWith, vec![s("4111-xx"), s("4111")]),
            v(true),
        ),
        (
            call(Func::StartsWith, vec![s("5111-xx"), s("4111")]),
            v(false),
        ),
        (call(Func::EndsWith, vec![s("a.ru"), s(".ru")]), v(true)),
        (call(Func::EndsWith, vec![s("a.de"), s(".ru")]), v(false)),
        (call(Func::EndsWith, vec![null(), s(".ru")]), Value::Null),
    ]);
}

#[test]
fn numeric_functions() {
    check(vec![
        (call(Func::Abs, vec![i(-3)]), v(3i64)),
        (call(Func::Abs, vec![f(-2.5)]), v(2.5)),
        (call(Func::Abs, vec![dur(-5)]), Value::Duration(5)),
        (call(Func::Abs, vec![i(i64::MIN)]), Value::Null),
        (call(Func::Abs, vec![null()]), Value::Null),
        (call(Func::Round, vec![f(2.5)]), v(3i64)),
        (call(Func::Round, vec![f(-2.5)]), v(-3i64)),
        (call(Func::Round, vec![f(2.4)]), v(2i64)),
        (call(Func::Round, vec![i(7)]), v(7i64)),
        (call(Func::Floor, vec![f(-1.5)]), v(-2i64)),
        (call(Func::Floor, vec![f(1.9)]), v(1i64)),
        (call(Func::Ceil, vec![f(1.1)]), v(2i64)),
        (call(Func::Ceil, vec![f(-1.9)]), v(-1i64)),
        (call(Func::Ceil, vec![f(1e300)]), Value::Null),
        (call(Func::Floor, vec![null()]), Value::Null),
        (call(Func::Round, vec![s("1")]), Value::Null),
    ]);
}

#[test]
fn coalesce_is_lazy_and_ordered() {
    check(vec![
        (call(Func::Coalesce, vec![null(), i(2), i(3)]), v(2i64)),
        (call(Func::Coalesce, vec![i(1), null()]), v(1i64)),
        (call(Func::Coalesce, vec![null(), null()]), Value::Null),
    ]);
    // Reads the field only when present.
    let r = rec(vec![Value::Null, v("fallback")]);
    assert_eq!(
        eval_on(&call(Func::Coalesce, vec![field(0), field(1)]), &r),
        v("fallback")
    );
}

#[test]
fn geo_distance() {
    // Paris -> London, 343.5565 km (independently computed) on the mean-radius sphere.
    let d = eval(&call(
        Func::GeoDistanceKm,
        vec![f(48.8566), f(2.3522), f(51.5074), f(-0.1278)],
    ));
    let km = d.as_f64().unwrap_or_default();
    assert!((km - 343.5565).abs() < 1e-3, "{km}");
    // Same point; antipodes (half the circumference); ints promote.
    assert_eq!(
        eval(&call(Func::GeoDistanceKm, vec![i(10), i(20), i(10), i(20)])),
        v(0.0)
    );
    let half = eval(&call(Func::GeoDistanceKm, vec![i(0), i(0), i(0), i(180)]));
    let want = std::f64::consts::PI * 6371.0088;
    assert!((half.as_f64().unwrap_or_default() - want).abs() < 1e-6);
    assert_eq!(
        eval(&call(Func::GeoDistanceKm, vec![null(), i(0), i(0), i(0)])),
        Value::Null
    );
}

#[test]
fn time_functions() {
    let at = |s: &str| ts(parse_rfc3339(s).unwrap_or_default());
    check(vec![
        (
            call(Func::Hour, vec![at("2024-05-01T10:59:59.999Z")]),
            v(10i64),
        ),
        (
            call(Func::Hour, vec![at("2024-05-01T23:30:00+02:00")]),
            v(21i64),
        ),
        (call(Func::Hour, vec![at("1969-12-31T23:00:00Z")]), v(23i64)),
        (
            call(Func::DayOfWeek, vec![at("2024-05-01T10:00:00Z")]),
            v(3i64),
        ),
        (
            call(Func::DayOfWeek, vec![at("2024-05-06T00:00:00Z")]),
            v(1i64),
        ),
        (
            call(Func::DayOfWeek, vec![at("2024-05-05T23:59:59Z")]),
            v(7i64),
        ),
        // Local Monday 01:00 at +02:00 is Sunday in UTC.
        (
            call(Func::DayOfWeek, vec![at("2024-05-06T01:00:00+02:00")]),
            v(7i64),
        ),
        (call(Func::Hour, vec![null()]), Value::Null),
        // A timestamp string (from a json field) is read as RFC 3339.
        (call(Func::Hour, vec![s("2024-05-01T07:00:00Z")]), v(7i64)),
        (call(Func::Hour, vec![s("noon")]), Value::Null),
    ]);
}

#[test]
fn arity_is_checked_at_compile_time() {
    for (func, n) in [
        (Func::Abs, 2),
        (Func::Lower, 0),
        (Func::Contains, 1),
        (Func::GeoDistanceKm, 3),
        (Func::Coalesce, 0),
        (Func::Hour, 2),
    ] {
        let e = call(func, vec![i(1); n]);
        let err = CompiledExpr::compile(&e).unwrap_err();
        assert!(
            matches!(err, CompileError::Arity { got, .. } if got == n),
            "{err}"
        );
    }
    let err = CompiledExpr::compile(&call(Func::Contains, vec![s("a")])).unwrap_err();
    assert_eq!(err.to_string(), "contains() takes 2 argument(s), got 1");
}

#[test]
fn json_steps() {
    let meta = Value::Json(Arc::new(json!({
        "tags": ["vip", "eu"],
        "device": {"temp": 81.5, "id": 7, "ok": true, "big": 1e300, "none": null},
        "n": [1, [2, 3]],
    })));
    let r = rec(vec![meta, v("not json")]);
    let at = |steps| eval_on(&path(0, steps), &r);
    assert_eq!(at(vec![key("tags"), idx(0)]), v("vip"));
    assert_eq!(at(vec![key("tags"), idx(-1)]), v("eu"));
    assert_eq!(at(vec![key("tags"), idx(2)]), Value::Null);
    assert_eq!(at(vec![key("tags"), idx(-3)]), Value::Null);
    assert_eq!(at(vec![key("device"), key("temp")]), v(81.5));
    assert_eq!(at(vec![key("device"), key("id")]), v(7i64));
    assert_eq!(at(vec![key("device"), key("ok")]), v(true));
    assert_eq!(at(vec![key("device"), key("big")]), v(1e300));
    assert_eq!(at(vec![key("device"), key("none")]), Value::Null);
    assert_eq!(at(vec![key("device"), key("nope")]), Value::Null);
    assert_eq!(at(vec![key("tags"), key("x")]), Value::Null);
    assert_eq!(at(vec![key("device"), idx(0)]), Value::Null);
    assert_eq!(at(vec![key("n"), idx(1), idx(0)]), v(2i64));
    assert!(matches!(at(vec![key("n"), idx(1)]), Value::Json(_)));
    // Steps into a non-json value are null.
    assert_eq!(eval_on(&path(1, vec![key("a")]), &r), Value::Null);
    // A json leaf compares like any value.
    let e = bin(Gt, path(0, vec![key("device"), key("temp")]), i(80));
    assert!(compile(&e).eval_bool(&r));
    // len and contains on JSON arrays and objects.
    let tags = path(0, vec![key("tags")]);
    assert_eq!(eval_on(&call(Func::Len, vec![tags.clone()]), &r), v(2i64));
    assert_eq!(
        eval_on(&call(Func::Contains, vec![tags.clone(), s("eu")]), &r),
        v(true)
    );
    assert_eq!(
        eval_on(&call(Func::Contains, vec![tags, s("us")]), &r),
        v(false)
    );
    let dev = path(0, vec![key("device")]);
    assert_eq!(
        eval_on(&call(Func::Contains, vec![dev.clone(), s("temp")]), &r),
        v(true)
    );
    assert_eq!(eval_on(&call(Func::Len, vec![dev]), &r), v(5i64));
    let n = path(0, vec![key("n")]);
    assert_eq!(eval_on(&call(Func::Contains, vec![n, f(1.0)]), &r), v(true));
}

#[test]
fn fields_out_of_scope_are_null() {
    // No event in scope (window outputs): fields are null.
    let e = bin(Gt, field(0), i(1));
    assert_eq!(compile(&e).eval(&NoScope), Value::Null);
    assert!(!compile(&e).eval_bool(&NoScope));
}

#[test]
fn eval_bool_collapses_non_true() {
    let r = rec(vec![v(1i64), Value::Null, v("x")]);
    for (e, want) in [
        (field(0), false),
        (field(1), false),
        (field(2), false),
        (b(true), true),
        (b(false), false),
    ] {
        assert_eq!(compile(&e).eval_bool(&r), want, "{e:?}");
    }
}

#[test]
fn binary_op_table_is_total() {
    // Every operator on every pair of value kinds gives a value, never a panic.
    let kinds = [
        null(),
        b(true),
        i(3),
        i(0),
        i(i64::MIN),
        f(-0.0),
        f(2.5),
        s("a"),
        ts(T0),
        dur(1000),
        dur(0),
    ];
    let ops: [BinaryOp; 13] = [Or, And, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div, Rem];
    for op in ops {
        for a in &kinds {
            for c in &kinds {
                let _ = eval(&bin(op, a.clone(), c.clone()));
            }
        }
    }
}
