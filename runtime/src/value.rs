//! The runtime value: what a record slot holds and what an expression yields.
//!
//! [`Value`] is 24 bytes and cheap to clone: scalars are inline, strings and
//! JSON subtrees are reference-counted, so copying a value out of a record
//! never allocates. Timestamps are epoch milliseconds (UTC) and durations
//! milliseconds, both `i64`, matching `cepheus_dsl::plan::Value`.
//!
//! Two notions of equality live here, on purpose:
//!
//! * The *language's* comparisons, [`Value::sql_eq`] and [`Value::sql_cmp`],
//!   used by the expression evaluator: numbers compare across `int`/`float`
//!   exactly (no rounding of large integers), anything compared with null is
//!   unknown (`None`), values of unrelated types are unequal and unordered,
//!   and a string compared with a timestamp (duration) is read as RFC 3339
//!   (`5m`-style), so `ts > "2024-05-01T00:00:00Z"` works on any field.
//! * Rust's [`PartialEq`]/[`Eq`]/[`Hash`]: structural (`Int(1) != Float(1.0)`,
//!   `Null == Null`, NaN equals NaN, `0.0 == -0.0`), so values can be used as
//!   map keys (partition keys, `count_distinct`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use cepheus_dsl::plan;

use crate::time;

/// A runtime value.
#[derive(Debug, Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    /// Epoch milliseconds, UTC.
    Timestamp(i64),
    /// Milliseconds.
    Duration(i64),
    /// A JSON array or object (scalars read from JSON become the scalar
    /// variants; see [`Value::from_json`]).
    Json(Arc<serde_json::Value>),
}

/// A null to borrow from (`&NULL`) where a reference is needed.
pub static NULL: Value = Value::Null;

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Arc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The language's name for this value's type (for messages).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Timestamp(_) => "timestamp",
            Value::Duration(_) => "duration",
            Value::Json(_) => "json",
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer of an `Int`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// An `Int` or `Float` as `f64` (numeric promotion).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts a JSON value read from an event: integral numbers that fit
    /// `i64` become `Int`, other numbers `Float`, strings `Str`, booleans
    /// `Bool`, null `Null`, arrays and objects `Json` (cloned once).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => number(n),
            serde_json::Value::String(s) => Value::Str(Arc::from(s.as_str())),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                Value::Json(Arc::new(v.clone()))
            }
        }
    }

    /// [`Value::from_json`] taking ownership (no clone of arrays/objects).
    pub fn from_json_owned(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => number(&n),
            serde_json::Value::String(s) => Value::Str(Arc::from(s)),
            other => Value::Json(Arc::new(other)),
        }
    }

    /// The value as it appears in alerts: timestamps as RFC 3339 UTC strings
    /// with milliseconds (`2024-05-01T10:00:00.123Z`), durations as integer
    /// milliseconds, non-finite floats as null.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Timestamp(ms) => serde_json::Value::String(time::format_rfc3339(*ms)),
            Value::Duration(ms) => serde_json::Value::from(*ms),
            Value::Json(j) => (**j).clone(),
        }
    }

    /// The language's ordering: `None` when either side is null or the two
    /// cannot be ordered (unrelated types, NaN, JSON arrays/objects).
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Float(a), Float(b)) => a.partial_cmp(b),
            (Int(a), Float(b)) => cmp_int_float(*a, *b),
            (Float(a), Int(b)) => cmp_int_float(*b, *a).map(Ordering::reverse),
            (Str(a), Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b)) | (Duration(a), Duration(b)) => Some(a.cmp(b)),
            (Timestamp(a), Str(b)) => time::parse_rfc3339(b).map(|b| a.cmp(&b)),
            (Str(a), Timestamp(b)) => time::parse_rfc3339(a).map(|a| a.cmp(b)),
            (Duration(a), Str(b)) => time::parse_duration(b).map(|b| a.cmp(&b)),
            (Str(a), Duration(b)) => time::parse_duration(a).map(|a| a.cmp(b)),
            (Json(a), Json(b)) if a == b => Some(Ordering::Equal),
            _ => None,
        }
    }

    /// The language's `=`: `None` if either side is null; `false` for values
    /// of unrelated types (and NaN); numbers compare across int/float.
    #[inline]
    pub fn sql_eq(&self, other: &Value) -> Option<bool> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            // Fast paths for the common same-type cases.
            (Value::Str(a), Value::Str(b)) => Some(a == b),
            (Value::Int(a), Value::Int(b)) => Some(a == b),
            (Value::Float(a), Value::Float(b)) => Some(a == b),
            _ => Some(self.sql_cmp(other) == Some(Ordering::Equal)),
        }
    }
}

fn number(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Exact comparison of an integer with a float (no rounding of the integer
/// to `f64`, which would make `2^53 + 1 == 2^53 as f64`).
#[inline]
pub fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    // Integers up to 2^53 convert to f64 exactly: compare as floats.
    if i.unsigned_abs() <= 1 << 53 {
        return (i as f64).partial_cmp(&f);
    }
    if f.is_nan() {
        return None;
    }
    // 2^63 is exactly representable; i64 covers [-2^63, 2^63).
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => (0.0).partial_cmp(&(f - t)),
        o => Some(o),
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) | (Timestamp(a), Timestamp(b)) | (Duration(a), Duration(b)) => a == b,
            (Float(a), Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Str(a), Str(b)) => a == b,
            (Json(a), Json(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) | Value::Timestamp(i) | Value::Duration(i) => i.hash(state),
            Value::Float(f) => {
                // Consistent with `eq`: all NaNs alike, 0.0 and -0.0 alike.
                let bits = if f.is_nan() {
                    f64::NAN.to_bits()
                } else if *f == 0.0 {
                    0
                } else {
                    f.to_bits()
                };
                bits.hash(state)
            }
            Value::Str(s) => s.hash(state),
            // serde_json::Value has no Hash; its compact text is canonical
            // for equal values (object keys are sorted).
            Value::Json(j) => j.to_string().hash(state),
        }
    }
}

/// The text form used in alert messages: strings unquoted, floats always
/// with a fraction or exponent (`812.0`), timestamps RFC 3339, durations as
/// written in rules (`1h30m`), JSON compact.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => f.write_str(s),
            Value::Timestamp(ms) => time::write_rfc3339(f, *ms),
            Value::Duration(ms) => time::write_duration(f, *ms),
            Value::Json(j) => write!(f, "{j}"),
        }
    }
}

impl From<&plan::Value> for Value {
    fn from(v: &plan::Value) -> Value {
        match v {
            plan::Value::Null => Value::Null,
            plan::Value::Bool(b) => Value::Bool(*b),
            plan::Value::Int(i) => Value::Int(*i),
            plan::Value::Float(f) => Value::Float(*f),
            plan::Value::String(s) => Value::Str(Arc::from(s.as_str())),
            plan::Value::Timestamp(ms) => Value::Timestamp(*ms),
            plan::Value::Duration(ms) => Value::Duration(*ms),
        }
    }
}

impl From<plan::Value> for Value {
    fn from(v: plan::Value) -> Value {
        match v {
            plan::Value::String(s) => Value::Str(Arc::from(s)),
            other => Value::from(&other),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<Arc<str>> for Value {
    fn from(s: Arc<str>) -> Value {
        Value::Str(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    #[test]
    fn is_small() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn numeric_comparison_promotes_exactly() {
        assert_eq!(
            Value::Int(1).sql_cmp(&Value::Float(1.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Value::Int(1).sql_cmp(&Value::Float(1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Float(1.5).sql_cmp(&Value::Int(1)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Int(-1).sql_cmp(&Value::Float(-1.5)),
            Some(Ordering::Greater)
        );
        let big = (1i64 << 53) + 1;
        assert_eq!(
            Value::Int(big).sql_cmp(&Value::Float((1i64 << 53) as f64)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Int(i64::MAX).sql_cmp(&Value::Float(1e19)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Int(i64::MIN).sql_cmp(&Value::Float(-1e19)),
            Some(Ordering::Greater)
        );
        assert_eq!(Value::Int(1).sql_cmp(&Value::Float(f64::NAN)), None);
        assert_eq!(
            Value::Float(f64::NAN).sql_eq(&Value::Float(f64::NAN)),
            Some(false)
        );
        assert_eq!(
            Value::Float(f64::INFINITY).sql_cmp(&Value::Int(i64::MAX)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn null_and_mismatched_types() {
        assert_eq!(Value::Null.sql_eq(&Value::Null), None);
        assert_eq!(Value::Int(1).sql_eq(&Value::Null), None);
        assert_eq!(Value::Int(1).sql_cmp(&Value::Null), None);
        assert_eq!(Value::Int(1).sql_eq(&Value::from("1")), Some(false));
        assert_eq!(Value::Int(1).sql_cmp(&Value::from("1")), None);
        assert_eq!(Value::Bool(true).sql_eq(&Value::Int(1)), Some(false));
    }

    #[test]
    fn strings_times_durations() {
        assert_eq!(
            Value::from("a").sql_cmp(&Value::from("b")),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::from("é").sql_cmp(&Value::from("z")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Timestamp(0).sql_cmp(&Value::Timestamp(1)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Timestamp(1_714_557_600_000).sql_eq(&Value::from("2024-05-01T10:00:00Z")),
            Some(true)
        );
        assert_eq!(
            Value::from("2024-05-01T10:00:00Z").sql_cmp(&Value::Timestamp(0)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Duration(300_000).sql_eq(&Value::from("5m")),
            Some(true)
        );
        assert_eq!(Value::Timestamp(5).sql_cmp(&Value::Duration(5)), None);
        assert_eq!(Value::Timestamp(5).sql_cmp(&Value::Int(5)), None);
    }

    #[test]
    fn json_equality_only() {
        let a = Value::Json(Arc::new(json!([1, 2])));
        let b = Value::Json(Arc::new(json!([1, 2])));
        let c = Value::Json(Arc::new(json!([1, 3])));
        assert_eq!(a.sql_eq(&b), Some(true));
        assert_eq!(a.sql_eq(&c), Some(false));
        assert_eq!(a.sql_cmp(&c), None);
    }

    #[test]
    fn from_json_leaves() {
        assert_eq!(Value::from_json(&json!(null)), Value::Null);
        assert_eq!(Value::from_json(&json!(true)), Value::Bool(true));
        assert_eq!(Value::from_json(&json!(5)), Value::Int(5));
        assert_eq!(Value::from_json(&json!(5.5)), Value::Float(5.5));
        assert_eq!(
            Value::from_json(&json!(u64::MAX)),
            Value::Float(u64::MAX as f64)
        );
        assert_eq!(Value::from_json(&json!("x")), Value::from("x"));
        assert!(matches!(Value::from_json(&json!([1])), Value::Json(_)));
        assert!(matches!(
            Value::from_json_owned(json!({"a": 1})),
            Value::Json(_)
        ));
        assert_eq!(Value::from_json_owned(json!(-3)), Value::Int(-3));
    }

    #[test]
    fn to_json() {
        assert_eq!(
            Value::Timestamp(1_714_557_600_123).to_json(),
            json!("2024-05-01T10:00:00.123Z")
        );
        assert_eq!(Value::Duration(1500).to_json(), json!(1500));
        assert_eq!(Value::Float(812.0).to_json(), json!(812.0));
        assert_eq!(Value::Float(f64::NAN).to_json(), json!(null));
        assert_eq!(Value::from("s").to_json(), json!("s"));
        assert_eq!(Value::Int(-4).to_json(), json!(-4));
        assert_eq!(Value::Null.to_json(), json!(null));
        assert_eq!(Value::Bool(false).to_json(), json!(false));
        assert_eq!(
            Value::Json(Arc::new(json!({"a": [1]}))).to_json(),
            json!({"a": [1]})
        );
    }

    #[test]
    fn display() {
        assert_eq!(Value::Float(812.0).to_string(), "812.0");
        assert_eq!(Value::Float(0.1).to_string(), "0.1");
        assert_eq!(Value::Int(3).to_string(), "3");
        assert_eq!(Value::from("c-17").to_string(), "c-17");
        assert_eq!(Value::Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Value::Duration(90_000).to_string(), "1m30s");
        assert_eq!(Value::Null.to_string(), "null");
        assert_eq!(
            Value::Json(Arc::new(json!({"a": 1}))).to_string(),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn from_plan() {
        assert_eq!(
            Value::from(plan::Value::String("x".into())),
            Value::from("x")
        );
        assert_eq!(Value::from(&plan::Value::Duration(5)), Value::Duration(5));
        assert_eq!(Value::from(plan::Value::Timestamp(5)), Value::Timestamp(5));
        assert_eq!(Value::from(plan::Value::Null), Value::Null);
        assert_eq!(Value::from(plan::Value::Float(1.5)), Value::Float(1.5));
        assert_eq!(Value::from(plan::Value::Int(2)), Value::Int(2));
        assert_eq!(Value::from(plan::Value::Bool(true)), Value::Bool(true));
        assert_eq!(Value::from(None::<i64>), Value::Null);
    }

    #[test]
    fn hash_and_eq_agree() {
        let mut set = HashSet::new();
        for v in [
            Value::Null,
            Value::Int(1),
            Value::Float(1.0),
            Value::Float(0.0),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Float(-f64::NAN),
            Value::Timestamp(1),
            Value::Duration(1),
            Value::from("1"),
            Value::Json(Arc::new(json!([1]))),
            Value::Json(Arc::new(json!([1]))),
        ] {
            set.insert(v);
        }
        // Int(1), Float(1.0), Float(0.0) (= -0.0), NaN, Null, Timestamp,
        // Duration, Str, Json.
        assert_eq!(set.len(), 9);
    }
}
