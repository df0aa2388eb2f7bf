//! Aggregates, accumulated incrementally.
//!
//! A rule's aggregates are compiled into a [`Layout`]: the distinct argument
//! expressions (evaluated once per event, however many aggregates read them)
//! and the distinct accumulator *cells* (`sum(x)` and `avg(x)` share one cell,
//! as do all `percentile(x, q)` of the same `x`). An [`Acc`] holds one
//! window's (or pane's) cells; an event touches each cell once, in O(1)
//! (amortised, for the hash set of `count_distinct` and the value list of
//! `percentile`). Accumulators merge ([`Acc::merge_from`], [`Acc::absorb`]):
//! sliding windows combine their panes at fire time, sessions merge.
//!
//! # Definitions (the Flink peer implements the same)
//!
//! These are the definitions of the Flink peer (`tests/peers/flinkcep`,
//! "Window peer": the aggregates are the peer's own code over the elements
//! Flink's window operator hands it).
//!
//! | aggregate | result |
//! |---|---|
//! | `count()` | events in the window (int) |
//! | `count(x)` | events where `x` is not null (int) |
//! | `count_distinct(x)` | distinct non-null values of `x` (int); numbers by value (`1` = `1.0`: ints count as the float they convert to; `-0.0` = `0.0`), strings and other values exactly. Exact (a hash set per window or pane) |
//! | `sum(x)` | over the non-null values; null if there are none. All ints: an int, exact (128-bit accumulator), null if the result leaves the `i64` range. Any float: a float, by compensated (Neumaier) summation. Durations: a duration. Null if a value is not a number (a `json` field holding a string) or durations mix with numbers |
//! | `avg(x)` | `sum / count` of the non-null values as a float (durations: a duration, truncated to whole ms); null if none |
//! | `min(x)`, `max(x)` | over the non-null values, in the language's order (`Value::sql_cmp`: numbers by value across int/float, strings by code point = UTF-8 bytes, `false < true`, timestamps, durations); the value itself (an int stays an int); values not comparable with the best so far are skipped; null if none |
//! | `stddev(x)` | sample standard deviation (divides by `n - 1`) of the non-null values, Flink SQL's `STDDEV` (= `STDDEV_SAMP`); null when fewer than 2. Welford's update and Chan et al.'s merge: numerically stable, equal to the exact value within rounding |
//! | `first(x)`, `last(x)` | `x` of the first / last event of the window in arrival order (not by timestamp), null included (not the first non-null value); for merged sessions, sliding panes and evicting count windows, the arrival order of the events the window holds |
//! | `percentile(x, q)` | nearest rank: the non-null values sorted ascending (`n` of them), the `r`-th smallest (1-based) with `r = ceil(q * n)` computed in `f64`, clamped to `1..=n` (`q = 0`: the minimum, `q = 1`: the maximum). Always one of the values (as a float); null if none or if a value is not a number. Exact (all values kept) |
//!
//! Exact mode is the only mode today. A sketch mode (HyperLogLog for
//! `count_distinct`, t-digest or DDSketch for `percentile`) for very large
//! windows may come later; it would be opt-in per rule, since it changes
//! results.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::mem::size_of;

use cepheus_dsl::plan::{AggFunc, Aggregate};
use smallvec::SmallVec;

use super::hash::FxBuild;
use crate::expr::{CompileError, CompiledExpr};
use crate::record::Record;
use crate::value::Value;

/// The arguments of one event, evaluated once: index = argument index.
pub(crate) type Args<'a> = SmallVec<[Cow<'a, Value>; 4]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    NonNull,
    Sum,
    Moments,
    Distinct,
    Min,
    Max,
    First,
    Last,
    Values,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CellSpec {
    kind: CellKind,
    arg: u32,
}

/// How aggregate `i` is read from an accumulator.
#[derive(Debug, Clone, Copy)]
enum Extract {
    /// An aggregate without its argument (only in hand-made plans).
    Null,
    Count,
    NonNull(u32),
    Sum(u32),
    Avg(u32),
    Stddev(u32),
    Distinct(u32),
    Extreme(u32),
    Pick(u32),
    Percentile(u32, f64),
}

/// A rule's aggregates, compiled: the accumulator cells and how each
/// aggregate reads them.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    cells: Vec<CellSpec>,
    extract: Vec<Extract>,
}

/// The distinct argument expressions of a rule's aggregates.
#[derive(Debug, Clone)]
pub(crate) struct Arguments {
    args: Vec<CompiledExpr>,
}

impl Arguments {
    /// Evaluates them on one event.
    #[inline]
    pub fn eval<'a>(&'a self, record: &'a Record) -> Args<'a> {
        self.args.iter().map(|a| a.eval_ref(record)).collect()
    }
}

impl Layout {
    pub fn compile(aggregates: &[Aggregate]) -> Result<(Layout, Arguments), CompileError> {
        let mut arg_exprs: Vec<&cepheus_dsl::plan::Expr> = Vec::new();
        let mut args = Vec::new();
        let mut cells: Vec<CellSpec> = Vec::new();
        let mut extract = Vec::with_capacity(aggregates.len());
        for a in aggregates {
            let kind = match a.func {
                AggFunc::Count => {
                    extract.push(Extract::Count);
                    continue;
                }
                AggFunc::CountNonNull => CellKind::NonNull,
                AggFunc::CountDistinct => CellKind::Distinct,
                AggFunc::Sum | AggFunc::Avg => CellKind::Sum,
                AggFunc::Stddev => CellKind::Moments,
                AggFunc::Min => CellKind::Min,
                AggFunc::Max => CellKind::Max,
                AggFunc::First => CellKind::First,
                AggFunc::Last => CellKind::Last,
                AggFunc::Percentile => CellKind::Values,
            };
            let Some(expr) = &a.arg else {
                // Only count() has no argument; a hand-made plan may lack one:
                // the aggregate is then always null.
                extract.push(Extract::Null);
                continue;
            };
            let arg = match arg_exprs.iter().position(|e| *e == expr) {
                Some(i) => i,
                None => {
                    args.push(CompiledExpr::compile(expr)?);
                    arg_exprs.push(expr);
                    arg_exprs.len() - 1
                }
            } as u32;
            let spec = CellSpec { kind, arg };
            let cell = match cells.iter().position(|c| *c == spec) {
                Some(i) => i,
                None => {
                    cells.push(spec);
                    cells.len() - 1
                }
            } as u32;
            extract.push(match a.func {
                AggFunc::CountNonNull => Extract::NonNull(cell),
                AggFunc::CountDistinct => Extract::Distinct(cell),
                AggFunc::Sum => Extract::Sum(cell),
                AggFunc::Avg => Extract::Avg(cell),
                AggFunc::Stddev => Extract::Stddev(cell),
                AggFunc::Min | AggFunc::Max => Extract::Extreme(cell),
                AggFunc::First | AggFunc::Last => Extract::Pick(cell),
                AggFunc::Percentile => Extract::Percentile(cell, a.quantile.unwrap_or(f64::NAN)),
                AggFunc::Count => unreachable!(),
            });
        }
        Ok((Layout { cells, extract }, Arguments { args }))
    }

    /// Number of aggregates (results).
    pub fn len(&self) -> usize {
        self.extract.len()
    }

    /// An empty accumulator.
    pub fn new_acc(&self) -> Acc {
        Acc {
            n: 0,
            cells: self.cells.iter().map(|c| Cell::new(c.kind)).collect(),
        }
    }

    /// Adds one event (its evaluated arguments and arrival number).
    #[inline]
    pub fn add(&self, acc: &mut Acc, args: &[Cow<'_, Value>], seq: u64) {
        acc.n += 1;
        for (cell, spec) in acc.cells.iter_mut().zip(&self.cells) {
            let v: &Value = &args[spec.arg as usize];
            if v.is_null() && !matches!(spec.kind, CellKind::First | CellKind::Last) {
                continue;
            }
            cell.add(v, seq);
        }
    }

    /// The aggregates' values, in plan order. Takes `acc` mutably only to
    /// select percentiles in place (the values stay a permutation).
    pub fn results(&self, acc: &mut Acc, out: &mut Vec<Value>) {
        out.clear();
        for e in &self.extract {
            let cell = |i: u32| acc.cells.get(i as usize);
            out.push(match *e {
                Extract::Null => Value::Null,
                Extract::Count => Value::Int(i64::try_from(acc.n).unwrap_or(i64::MAX)),
                Extract::NonNull(i) => match cell(i) {
                    Some(Cell::NonNull(n)) => Value::Int(*n as i64),
                    _ => Value::Null,
                },
                Extract::Sum(i) => match cell(i) {
                    Some(Cell::Sum(s)) => s.sum(),
                    _ => Value::Null,
                },
                Extract::Avg(i) => match cell(i) {
                    Some(Cell::Sum(s)) => s.avg(),
                    _ => Value::Null,
                },
                Extract::Stddev(i) => match cell(i) {
                    Some(Cell::Moments(m)) => m.stddev(),
                    _ => Value::Null,
                },
                Extract::Distinct(i) => match cell(i) {
                    Some(Cell::Distinct(s)) => Value::Int(s.len() as i64),
                    _ => Value::Null,
                },
                Extract::Extreme(i) => match cell(i) {
                    Some(Cell::Min(v) | Cell::Max(v)) => v.clone().unwrap_or(Value::Null),
                    _ => Value::Null,
                },
                Extract::Pick(i) => match cell(i) {
                    Some(Cell::First(p) | Cell::Last(p)) => p.as_ref().map_or(Value::Null, |p| p.value.clone()),
                    _ => Value::Null,
                },
                Extract::Percentile(i, q) => match acc.cells.get_mut(i as usize) {
                    Some(Cell::Values(v)) => v.percentile(q),
                    _ => Value::Null,
                },
            });
        }
    }
}

/// One window's (or pane's) accumulated state.
#[derive(Debug, Clone)]
pub(crate) struct Acc {
    /// Events added (`count()`).
    pub n: u64,
    cells: SmallVec<[Cell; 1]>,
}

impl Acc {
    /// A placeholder holding nothing (no allocation).
    pub fn placeholder() -> Acc {
        Acc {
            n: 0,
            cells: SmallVec::new(),
        }
    }

    /// Empties it, keeping allocations (scratch accumulators).
    pub fn reset(&mut self) {
        self.n = 0;
        for c in self.cells.iter_mut() {
            c.reset();
        }
    }

    /// Adds `other`'s contents (copied).
    pub fn merge_from(&mut self, other: &Acc) {
        self.n += other.n;
        for (a, b) in self.cells.iter_mut().zip(other.cells.iter()) {
            a.merge_from(b);
        }
    }

    /// Adds `other`'s contents (moved: no copy of sets and value lists).
    pub fn absorb(&mut self, other: Acc) {
        self.n += other.n;
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            a.absorb(b);
        }
    }

    /// Bytes held, inline and on the heap (an estimate for metrics: hash
    /// sets count their capacity, strings are shared and not counted).
    pub fn bytes(&self) -> usize {
        let mut b = size_of::<Acc>();
        if self.cells.spilled() {
            b += self.cells.capacity() * size_of::<Cell>();
        }
        for c in &self.cells {
            b += c.heap_bytes();
        }
        b
    }
}

/// A value (possibly null) with its event's arrival number.
#[derive(Debug, Clone)]
struct Stamped {
    seq: u64,
    value: Value,
}

#[derive(Debug, Clone)]
enum Cell {
    NonNull(u64),
    Sum(SumAcc),
    Moments(Moments),
    Distinct(HashSet<Value, FxBuild>),
    Min(Option<Value>),
    Max(Option<Value>),
    First(Option<Stamped>),
    Last(Option<Stamped>),
    Values(Values),
}

impl Cell {
    fn new(kind: CellKind) -> Cell {
        match kind {
            CellKind::NonNull => Cell::NonNull(0),
            CellKind::Sum => Cell::Sum(SumAcc::default()),
            CellKind::Moments => Cell::Moments(Moments::default()),
            CellKind::Distinct => Cell::Distinct(HashSet::default()),
            CellKind::Min => Cell::Min(None),
            CellKind::Max => Cell::Max(None),
            CellKind::First => Cell::First(None),
            CellKind::Last => Cell::Last(None),
            CellKind::Values => Cell::Values(Values::default()),
        }
    }

    fn reset(&mut self) {
        match self {
            Cell::NonNull(n) => *n = 0,
            Cell::Sum(s) => *s = SumAcc::default(),
            Cell::Moments(m) => *m = Moments::default(),
            Cell::Distinct(s) => s.clear(),
            Cell::Min(v) | Cell::Max(v) => *v = None,
            Cell::First(p) | Cell::Last(p) => *p = None,
            Cell::Values(v) => {
                v.values.clear();
                v.invalid = false;
            }
        }
    }

    /// Adds a value: null only for `first`/`last`, which keep nulls.
    #[inline]
    fn add(&mut self, v: &Value, seq: u64) {
        match self {
            Cell::NonNull(n) => *n += 1,
            Cell::Sum(s) => s.add(v),
            Cell::Moments(m) => m.add(v),
            Cell::Distinct(s) => {
                let v = distinct_form(v);
                if !s.contains(&*v) {
                    s.insert(v.into_owned());
                }
            }
            Cell::Min(best) => extreme(best, v, Ordering::Less),
            Cell::Max(best) => extreme(best, v, Ordering::Greater),
            Cell::First(p) => {
                if !matches!(p, Some(q) if q.seq <= seq) {
                    *p = Some(Stamped { seq, value: v.clone() });
                }
            }
            Cell::Last(p) => {
                if !matches!(p, Some(q) if q.seq >= seq) {
                    *p = Some(Stamped { seq, value: v.clone() });
                }
            }
            Cell::Values(vals) => vals.add(v),
        }
    }

    fn merge_from(&mut self, other: &Cell) {
        match (self, other) {
            (Cell::NonNull(a), Cell::NonNull(b)) => *a += b,
            (Cell::Sum(a), Cell::Sum(b)) => a.merge(b),
            (Cell::Moments(a), Cell::Moments(b)) => a.merge(b),
            (Cell::Distinct(a), Cell::Distinct(b)) => {
                for v in b {
                    if !a.contains(v) {
                        a.insert(v.clone());
                    }
                }
            }
            (Cell::Min(a), Cell::Min(b)) => {
                if let Some(v) = b {
                    extreme(a, v, Ordering::Less)
                }
            }
            (Cell::Max(a), Cell::Max(b)) => {
                if let Some(v) = b {
                    extreme(a, v, Ordering::Greater)
                }
            }
            (Cell::First(a), Cell::First(b)) => {
                if let Some(b) = b {
                    if !matches!(a, Some(q) if q.seq <= b.seq) {
                        *a = Some(b.clone());
                    }
                }
            }
            (Cell::Last(a), Cell::Last(b)) => {
                if let Some(b) = b {
                    if !matches!(a, Some(q) if q.seq >= b.seq) {
                        *a = Some(b.clone());
                    }
                }
            }
            (Cell::Values(a), Cell::Values(b)) => {
                a.values.extend_from_slice(&b.values);
                a.invalid |= b.invalid;
            }
            _ => debug_assert!(false, "cells of different layouts"),
        }
    }

    fn absorb(&mut self, other: Cell) {
        match (self, other) {
            (Cell::Distinct(a), Cell::Distinct(mut b)) => {
                if b.len() > a.len() {
                    std::mem::swap(a, &mut b);
                }
                a.extend(b);
            }
            (Cell::Values(a), Cell::Values(mut b)) => {
                if b.values.len() > a.values.len() {
                    std::mem::swap(&mut a.values, &mut b.values);
                }
                a.values.extend_from_slice(&b.values);
                a.invalid |= b.invalid;
            }
            (a, b) => a.merge_from(&b),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            // hashbrown: one control byte per bucket, buckets ~ 8/7 capacity
            Cell::Distinct(s) => s.capacity() * (size_of::<Value>() + 1) * 8 / 7,
            Cell::Values(v) => v.values.capacity() * size_of::<f64>(),
            _ => 0,
        }
    }
}

/// The form `count_distinct` compares: numbers by value (an int as the
/// float it converts to; `Value`'s `Eq` already takes `-0.0 = 0.0`).
#[inline]
fn distinct_form(v: &Value) -> Cow<'_, Value> {
    match v {
        Value::Int(i) => Cow::Owned(Value::Float(*i as f64)),
        other => Cow::Borrowed(other),
    }
}

/// Keeps the least (`Less`) or greatest (`Greater`) value; incomparable
/// values are skipped.
#[inline]
fn extreme(best: &mut Option<Value>, v: &Value, want: Ordering) {
    match best {
        None => *best = Some(v.clone()),
        Some(b) => {
            if v.sql_cmp(b) == Some(want) {
                *b = v.clone();
            }
        }
    }
}

const HAS_INT: u8 = 1;
const HAS_FLOAT: u8 = 2;
const HAS_DURATION: u8 = 4;
const INVALID: u8 = 8;

/// `sum` and `avg`: an exact 128-bit integer part (ints or durations), a
/// compensated float part, and the number of values.
#[derive(Debug, Clone, Copy, Default)]
struct SumAcc {
    n: u64,
    /// The integer sum as two words (avoids `i128`'s 16-byte alignment).
    int_lo: u64,
    int_hi: i64,
    /// Neumaier sum: running sum and compensation.
    f: f64,
    c: f64,
    flags: u8,
}

impl SumAcc {
    #[inline]
    fn int(&self) -> i128 {
        (i128::from(self.int_hi) << 64) | i128::from(self.int_lo)
    }

    #[inline]
    fn set_int(&mut self, x: i128) {
        self.int_lo = x as u64;
        self.int_hi = (x >> 64) as i64;
    }

    #[inline]
    fn add_float(&mut self, x: f64) {
        let t = self.f + x;
        if self.f.abs() >= x.abs() {
            self.c += (self.f - t) + x;
        } else {
            self.c += (x - t) + self.f;
        }
        self.f = t;
    }

    #[inline]
    fn add(&mut self, v: &Value) {
        self.n += 1;
        match v {
            Value::Int(i) => {
                self.set_int(self.int().wrapping_add(i128::from(*i)));
                self.flags |= HAS_INT;
            }
            Value::Float(x) => {
                self.add_float(*x);
                self.flags |= HAS_FLOAT;
            }
            Value::Duration(d) => {
                self.set_int(self.int().wrapping_add(i128::from(*d)));
                self.flags |= HAS_DURATION;
            }
            _ => self.flags |= INVALID,
        }
    }

    fn merge(&mut self, o: &SumAcc) {
        self.n += o.n;
        self.set_int(self.int().wrapping_add(o.int()));
        self.add_float(o.f);
        self.c += o.c;
        self.flags |= o.flags;
    }

    fn valid(&self) -> bool {
        self.n > 0
            && self.flags & INVALID == 0
            && !(self.flags & HAS_DURATION != 0 && self.flags & (HAS_INT | HAS_FLOAT) != 0)
    }

    fn total_f64(&self) -> f64 {
        if self.flags & (HAS_INT | HAS_DURATION) == 0 {
            return self.f + self.c;
        }
        self.int() as f64 + (self.f + self.c)
    }

    fn sum(&self) -> Value {
        if !self.valid() {
            return Value::Null;
        }
        if self.flags & HAS_DURATION != 0 {
            return i64::try_from(self.int()).map_or(Value::Null, Value::Duration);
        }
        if self.flags & HAS_FLOAT != 0 {
            return finite(self.total_f64());
        }
        i64::try_from(self.int()).map_or(Value::Null, Value::Int)
    }

    fn avg(&self) -> Value {
        if !self.valid() {
            return Value::Null;
        }
        if self.flags & HAS_DURATION != 0 {
            return i64::try_from(self.int() / i128::from(self.n)).map_or(Value::Null, Value::Duration);
        }
        finite(self.total_f64() / self.n as f64)
    }
}

fn finite(x: f64) -> Value {
    if x.is_finite() {
        Value::Float(x)
    } else {
        Value::Null
    }
}

/// Welford's running mean and sum of squared deviations.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    invalid: bool,
}

impl Moments {
    #[inline]
    fn add(&mut self, v: &Value) {
        let Some(x) = v.as_f64() else {
            self.invalid = true;
            return;
        };
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Chan, Golub & LeVeque's pairwise combination.
    fn merge(&mut self, o: &Moments) {
        self.invalid |= o.invalid;
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            let invalid = self.invalid;
            *self = *o;
            self.invalid = invalid;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        let (na, nb, nn) = (self.n as f64, o.n as f64, n as f64);
        self.mean += d * nb / nn;
        self.m2 += o.m2 + d * d * na * nb / nn;
        self.n = n;
    }

    fn stddev(&self) -> Value {
        if self.invalid || self.n < 2 {
            return Value::Null;
        }
        finite((self.m2.max(0.0) / (self.n - 1) as f64).sqrt())
    }
}

/// The values of `percentile`.
#[derive(Debug, Clone, Default)]
struct Values {
    values: Vec<f64>,
    invalid: bool,
}

impl Values {
    #[inline]
    fn add(&mut self, v: &Value) {
        match v.as_f64() {
            Some(x) => self.values.push(x),
            None => self.invalid = true,
        }
    }

    fn percentile(&mut self, q: f64) -> Value {
        if self.invalid || self.values.is_empty() || !(0.0..=1.0).contains(&q) {
            return Value::Null;
        }
        finite(percentile_in_place(&mut self.values, q))
    }
}

/// Nearest rank over `v` (not empty; `q` in `[0, 1]`), which it reorders:
/// the `ceil(q * n)`-th smallest, clamped to `1..=n`.
pub(crate) fn percentile_in_place(v: &mut [f64], q: f64) -> f64 {
    let n = v.len();
    let rank = (q * n as f64).ceil();
    let rank = if rank >= 1.0 { (rank as usize).min(n) } else { 1 };
    *v.select_nth_unstable_by(rank - 1, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let mut v = vec![50.0, 15.0, 40.0, 20.0, 35.0];
        assert_eq!(percentile_in_place(&mut v, 0.0), 15.0);
        assert_eq!(percentile_in_place(&mut v, 1.0), 50.0);
        // ceil(0.5 * 5) = 3rd
        assert_eq!(percentile_in_place(&mut v, 0.5), 35.0);
        // ceil(0.4 * 5) = 2nd; ceil(0.41 * 5) = 3rd
        assert_eq!(percentile_in_place(&mut v, 0.4), 20.0);
        assert_eq!(percentile_in_place(&mut v, 0.41), 35.0);
        assert_eq!(percentile_in_place(&mut v, 0.99), 50.0);
        let mut one = vec![7.0];
        assert_eq!(percentile_in_place(&mut one, 0.99), 7.0);
        // q * n in f64, as the peer computes it: 0.28 * 25 = 7.000000000000001 -> 8th
        let mut v: Vec<f64> = (1..=25).rev().map(f64::from).collect();
        assert_eq!(percentile_in_place(&mut v, 0.28), 8.0);
    }

    #[test]
    fn sum_is_exact_over_i64_overflow_in_between() {
        let mut s = SumAcc::default();
        for v in [i64::MAX, 5, -10] {
            s.add(&Value::Int(v));
        }
        assert_eq!(s.sum(), Value::Int(i64::MAX - 5));
        s.add(&Value::Int(10));
        assert_eq!(s.sum(), Value::Null, "out of range");
        let mut neg = SumAcc::default();
        for v in [-3, -4, i64::MIN + 7] {
            neg.add(&Value::Int(v));
        }
        assert_eq!(neg.sum(), Value::Int(i64::MIN));
    }

    #[test]
    fn moments_merge_equals_sequential() {
        let xs = [1.0, 2.5, -3.0, 4.0, 10.0, 0.5, 7.25];
        let mut all = Moments::default();
        for x in xs {
            all.add(&Value::Float(x));
        }
        let (mut a, mut b) = (Moments::default(), Moments::default());
        for x in &xs[..3] {
            a.add(&Value::Float(*x));
        }
        for x in &xs[3..] {
            b.add(&Value::Float(*x));
        }
        a.merge(&b);
        let (Value::Float(x), Value::Float(y)) = (all.stddev(), a.stddev()) else {
            panic!()
        };
        assert!((x - y).abs() < 1e-12);
        let mean = xs.iter().sum::<f64>() / 7.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 6.0;
        assert!((x - var.sqrt()).abs() < 1e-12);
    }
}
