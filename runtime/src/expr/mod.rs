//! Expressions: a rule's `where`, `define`, `until`, `having` and `emit`
//! expressions, compiled once per rule and evaluated per event.
//!
//! [`CompiledExpr::compile`] turns a checked `plan::Expr` into a tree of
//! evaluation nodes: field and variable references are already
//! slots and indices (resolved by the checker), literals are converted to
//! runtime [`Value`]s once, regexes are compiled once, function arities are
//! checked, and sub-trees made only of constants are folded to one constant.
//! Evaluation then does no string lookups and no allocation for numeric,
//! boolean or comparison work: values are borrowed from the record or the
//! plan wherever possible (`Cow`), and only string-producing functions
//! (`lower`, `upper`) and reads into `json` fields make new values.
//!
//! Everything an expression can read comes through the [`Scope`] trait, which
//! the operators implement: the current event, the events accepted so far by
//! each pattern variable (the NFA), the partition key, and a fired window's
//! aggregates and bounds (window operators).
//!
//! # Semantics (decisions, matching the checker's types)
//!
//! * **Null** is SQL's unknown. Comparisons, arithmetic and functions with a
//!   null operand give null; `and`/`or` follow SQL's three-valued logic
//!   (`false and null` = false, `true or null` = true, otherwise null);
//!   `not null` = null. [`CompiledExpr::eval_bool`] collapses null (and any
//!   non-boolean) to `false`, so a condition on a missing field is not met.
//!   `is null` / `is not null` never give null. `coalesce` is lazy.
//! * **Equality** between values of unrelated types (possible only through
//!   dynamically typed `json` fields) is `false`; ordering them is null.
//!   Integers and floats compare exactly across types.
//! * **Arithmetic**: `int op int` is `int` with checked overflow (overflow →
//!   null), except `/`: `int / int` is a `float` (`7 / 2 = 3.5`), as the
//!   checker types it. `%` on ints is the truncated remainder (sign of the
//!   dividend, like SQL `MOD` and Java). A number op a float is a float; a
//!   non-finite float result (overflow, `0/0`) is null. Division or remainder
//!   by zero is null. Timestamps and durations: `ts - ts = duration`,
//!   `ts ± duration = timestamp`, `duration + ts = timestamp`,
//!   `duration ± duration`, `duration * number`, `number * duration`,
//!   `duration / number` (durations stay whole milliseconds: int divisors
//!   truncate, float factors round), `duration / duration = float`.
//!   `string + string` concatenates. Any other mix is null.
//! * **`in`**: true if some item is equal; otherwise null if the value or some
//!   item is null; otherwise false (SQL). `between` is inclusive and is
//!   `x >= low and x <= high` in three-valued logic.
//! * **Pattern variables**: `v[i]` counts from the oldest accepted event
//!   (`0`) or, negative, from the latest (`-1`); out of range is null.
//!   `count(v)` is the number of accepted events (0 when none, never null).
//!   `sum/avg/min/max(v.f)` skip nulls; over no (non-null) values they are
//!   null (SQL: the sum of nothing is null, not 0). `sum` of ints is an int
//!   (overflow → null), of durations a duration; `avg` of numbers is a
//!   float, of durations a duration.
//! * **Functions**: `abs` keeps the type; `round` (half away from zero),
//!   `floor`, `ceil` give an `int` (null if out of range); `len` counts
//!   characters (Unicode scalar values), or elements of a JSON array/object;
//!   `contains(s, part)` is substring search, and for a JSON array membership,
//!   for a JSON object key presence; `geo_distance_km` is the haversine
//!   distance on a sphere of radius 6371.0088 km (the mean Earth radius);
//!   `hour(ts)` is the UTC hour 0-23; `day_of_week(ts)` the ISO weekday in UTC
//!   (1 = Monday ... 7 = Sunday).
//! * **`json` steps** (`meta.tags[0]`) walk objects by key and arrays by
//!   index (negative from the end); a missing step is null; the leaf becomes
//!   an `int` if it is an integral number that fits, else a `float`, a
//!   `string`, a `bool`, null, or `json` for arrays and objects.

mod eval;
pub mod funcs;
mod node;
pub mod ops;

use cepheus_dsl::plan::{self, VarId};
use std::borrow::Cow;

use crate::record::Record;
use crate::value::Value;

use node::Node;

/// What an expression can read. The NFA and window operators implement it;
/// [`Record`] implements it for plain per-event conditions (`where`), and
/// [`NoScope`] for expressions that read nothing.
pub trait Scope {
    /// The event being evaluated (`where`, `define`); None in window outputs.
    fn event(&self) -> Option<&Record>;
    /// Number of events accepted so far for pattern variable `var`.
    fn var_len(&self, _var: VarId) -> usize {
        0
    }
    /// The i-th (0-based, oldest first) accepted event of `var`.
    fn var_event(&self, _var: VarId, _i: usize) -> Option<&Record> {
        None
    }
    fn key(&self, _i: u32) -> Option<&Value> {
        None
    }
    fn agg(&self, _i: u32) -> Option<&Value> {
        None
    }
    /// (start, end) of the window being fired, epoch ms.
    fn window(&self) -> Option<(i64, i64)> {
        None
    }
}

/// A record is the scope of a plain condition on one event.
impl Scope for Record {
    fn event(&self) -> Option<&Record> {
        Some(self)
    }
}

/// A scope with nothing in it: every field, variable, key and aggregate is
/// null.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScope;

impl Scope for NoScope {
    fn event(&self) -> Option<&Record> {
        None
    }
}

/// Why a plan expression could not be compiled. The checker rules these out
/// for plans it made; they guard hand-made or stored plans.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    #[error("invalid regex {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
    #[error("{func}() takes {expected} argument(s), got {got}")]
    Arity {
        func: &'static str,
        expected: &'static str,
        got: usize,
    },
}

/// An expression compiled for evaluation. Cheap to share (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct CompiledExpr {
    root: Node,
}

impl CompiledExpr {
    /// Compiles a plan expression: regexes compiled, literals converted,
    /// constant sub-trees folded.
    pub fn compile(expr: &plan::Expr) -> Result<CompiledExpr, CompileError> {
        Ok(CompiledExpr {
            root: Node::compile(expr)?,
        })
    }

    /// Evaluates to an owned value.
    #[inline]
    pub fn eval<S: Scope + ?Sized>(&self, scope: &S) -> Value {
        self.root.eval(scope).into_owned()
    }

    /// Evaluates without copying when the result is a field of a record in
    /// the scope or a constant of the expression.
    #[inline]
    pub fn eval_ref<'a, S: Scope + ?Sized>(&'a self, scope: &'a S) -> Cow<'a, Value> {
        self.root.eval(scope)
    }

    /// Evaluates as a condition: `true` only for boolean true (null and any
    /// other value are `false`).
    #[inline]
    pub fn eval_bool<S: Scope + ?Sized>(&self, scope: &S) -> bool {
        self.root.truth(scope) == Some(true)
    }

    /// The value, if the whole expression folded to a constant (`1 + 1`,
    /// `true`), so an operator can skip evaluating it per event.
    pub fn constant(&self) -> Option<&Value> {
        match &self.root {
            Node::Lit(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
