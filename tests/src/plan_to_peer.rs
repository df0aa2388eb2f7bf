//! A checked [`PatternPlan`] as the FlinkCEP peer's `PatternSpec` JSON.
//!
//! Stages map one to one onto the Pattern API calls the peer makes
//! (contiguity, `where`, quantifier, `until`, `consecutive`,
//! `allowCombinations`, `optional`, `greedy`; groups nest). Conditions become
//! the peer's small `Expr` language.
//!
//! # Conditions are translated exactly, null included
//!
//! Our expressions use SQL's three-valued logic (a comparison with null is
//! unknown, `not unknown` is unknown, a condition holds only when it is
//! `true`); the peer's are two-valued (a comparison with null is `false`).
//! A naive translation would differ under `not`: `not (v > a[0].v)` is
//! unknown (not met) for us when `a` is empty, but `true` in the peer. So the
//! translation pushes negations down to the comparisons (De Morgan) and
//! negates the comparison operator instead (`not (x > y)` -> `x <= y`), which
//! is false on null in both languages: `T(e)` is the peer expression that
//! holds exactly when `e` is true for us, `F(e)` the one that holds exactly
//! when `e` is false.
//!
//! `sum(x.f)` over no values is null for us and `0` in the peer; it becomes
//! `sum + (min - min)` in the peer, which is null exactly when there is no
//! value (the peer's `min` of nothing is null). `coalesce(sum(x.f), 0)` is
//! the peer's plain `sum`.
//!
//! Anything the peer cannot express is an [`Unsupported`] error naming the
//! construct; the generator never produces those.
//!
//! # Precomputed conditions (scenarios only)
//!
//! With [`Precompute::EventLocal`], a sub-expression the peer cannot express
//! (`contains(name, "a")`, `in`, `between`, ...) that reads only the current
//! event is evaluated by Cepheus' expression evaluator into an extra event
//! field (`__pre0`, ...) that the peer reads instead. This keeps the
//! comparison about *pattern* semantics: the FlinkCEP scenarios use string
//! functions the peer lacks. The differential test does not use it.

use cepheus_dsl::ast::{BinaryOp, UnaryOp};
use cepheus_dsl::plan::{
    Expr, JsonStep, PatternPlan, Pick, Quantifier, RulePlan, Skip, Slot, Stage, StageContiguity,
    StageKind, StreamSchema, Value, VarAggFunc,
};
use cepheus_dsl::types::BaseType;
use cepheus_runtime::expr::CompiledExpr;
use serde_json::{json, Value as Json};
use std::cell::RefCell;

/// Whether event-local sub-expressions the peer cannot express may be precomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precompute {
    /// Strict: refuse them.
    No,
    /// Evaluate them on our side into extra event fields.
    EventLocal,
}

/// A precomputed field: its name in the peer's events and the expression.
pub type Precomputed = Vec<(String, Expr)>;

/// Something in the plan the peer cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the FlinkCEP peer cannot express {}", self.0)
    }
}

type R<T> = Result<T, Unsupported>;

fn unsupported<T>(what: impl Into<String>) -> R<T> {
    Err(Unsupported(what.into()))
}

/// A whole pattern rule: the plan's pattern, refusing what the peer does not model
/// (a `where` filter).
pub fn rule_to_peer(plan: &RulePlan) -> R<Json> {
    rule_to_peer_with(plan, Precompute::No).map(|(j, _)| j)
}

pub fn rule_to_peer_with(plan: &RulePlan, pre: Precompute) -> R<(Json, Precomputed)> {
    if plan.filter.is_some() {
        return unsupported("a `where` filter");
    }
    match &plan.body {
        cepheus_dsl::plan::RuleBody::Pattern(p) => pattern_to_peer_with(p, &plan.stream, pre),
        cepheus_dsl::plan::RuleBody::Window(_) => unsupported("a window rule"),
    }
}

/// The peer's PatternSpec for a pattern plan over `schema`.
pub fn pattern_to_peer(plan: &PatternPlan, schema: &StreamSchema) -> R<Json> {
    pattern_to_peer_with(plan, schema, Precompute::No).map(|(j, _)| j)
}

/// [`pattern_to_peer`], optionally precomputing event-local sub-expressions.
pub fn pattern_to_peer_with(plan: &PatternPlan, schema: &StreamSchema, pre: Precompute) -> R<(Json, Precomputed)> {
    let cx = Cx {
        plan,
        schema,
        pre,
        precomputed: RefCell::new(Vec::new()),
    };
    let stages = cx.stages(&plan.stages)?;
    let skip = match &plan.skip {
        Skip::NoSkip => json!({"strategy": "noSkip"}),
        Skip::ToNext => json!({"strategy": "skipToNext"}),
        Skip::PastLastEvent => json!({"strategy": "skipPastLastEvent"}),
        Skip::ToFirst(v) => json!({"strategy": "skipToFirst", "var": cx.var(*v)?}),
        Skip::ToLast(v) => json!({"strategy": "skipToLast", "var": cx.var(*v)?}),
    };
    let mut spec = json!({"stages": stages, "skip": skip});
    if let Some(w) = plan.within_ms {
        spec["within_ms"] = json!(w);
    }
    Ok((spec, cx.precomputed.into_inner()))
}

struct Cx<'a> {
    plan: &'a PatternPlan,
    schema: &'a StreamSchema,
    pre: Precompute,
    precomputed: RefCell<Precomputed>,
}

/// Whether an expression reads only the current event.
fn event_local(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) | Expr::Field { .. } => true,
        Expr::VarField { .. } | Expr::VarAgg { .. } | Expr::Agg(_) | Expr::Key(_) => false,
        Expr::WindowStart | Expr::WindowEnd => false,
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Matches { expr, .. } => event_local(expr),
        Expr::Binary { lhs, rhs, .. } => event_local(lhs) && event_local(rhs),
        Expr::In { expr, list, .. } => event_local(expr) && list.iter().all(event_local),
        Expr::Between { expr, low, high, .. } => event_local(expr) && event_local(low) && event_local(high),
        Expr::Call { args, .. } => args.iter().all(event_local),
    }
}

impl Cx<'_> {
    fn precompute(&self, e: &Expr) -> Option<Json> {
        if self.pre != Precompute::EventLocal || !event_local(e) {
            return None;
        }
        let mut pre = self.precomputed.borrow_mut();
        let name = match pre.iter().find(|(_, x)| x == e) {
            Some((n, _)) => n.clone(),
            None => {
                let n = format!("__pre{}", pre.len());
                pre.push((n.clone(), e.clone()));
                n
            }
        };
        Some(json!({"field": name}))
    }

    fn truth(&self, e: &Expr, want: bool) -> R<Json> {
        match self.truth_exact(e, want) {
            Ok(j) => Ok(j),
            Err(err) => match self.precompute(e) {
                Some(f) => Ok(json!({"op": "==", "args": [f, {"lit": want}]})),
                None => Err(err),
            },
        }
    }

    fn value(&self, e: &Expr) -> R<(Json, Option<BaseType>)> {
        match self.value_exact(e) {
            Ok(j) => Ok(j),
            Err(err) => match self.precompute(e) {
                Some(f) => Ok((f, None)),
                None => Err(err),
            },
        }
    }

    fn var(&self, v: u32) -> R<String> {
        match self.plan.vars.get(v as usize) {
            Some(n) => Ok(n.clone()),
            None => unsupported(format!("unknown variable #{v}")),
        }
    }

    fn field(&self, slot: Slot, steps: &[JsonStep]) -> R<(String, BaseType)> {
        if !steps.is_empty() {
            return unsupported("a path into a json field");
        }
        let Some(f) = self.schema.fields.get(slot as usize) else {
            return unsupported(format!("unknown field slot {slot}"));
        };
        if f.path.len() != 1 {
            return unsupported(format!("the nested field `{}` (the peer reads top-level fields)", f.name));
        }
        Ok((f.name.clone(), f.ty.base))
    }

    fn stages(&self, stages: &[Stage]) -> R<Vec<Json>> {
        stages.iter().map(|s| self.stage(s)).collect()
    }

    fn stage(&self, s: &Stage) -> R<Json> {
        let contiguity = match s.contiguity {
            StageContiguity::Begin => "begin",
            StageContiguity::Next => "next",
            StageContiguity::FollowedBy => "followedBy",
            StageContiguity::FollowedByAny => "followedByAny",
            StageContiguity::NotNext => "notNext",
            StageContiguity::NotFollowedBy => "notFollowedBy",
        };
        let mut o = json!({"contiguity": contiguity});
        match &s.kind {
            StageKind::Var { var, condition, until } => {
                o["name"] = json!(self.var(*var)?);
                if let Some(c) = condition {
                    o["condition"] = self.cond(c)?;
                }
                if let Some(u) = until {
                    o["until"] = self.cond(u)?;
                }
            }
            StageKind::Group { stages } => {
                o["group"] = json!(self.stages(stages)?);
            }
        }
        let mut optional = s.optional;
        match s.quantifier {
            None => {}
            // The plan stores `x{0,m}` as FlinkCEP stores `times(0, m)`: times(1, m) + optional.
            // Sent as `times(0, m)`, the call `{0,m}` stands for (DSL.md): the same NFA, but
            // FlinkCEP's `optional()` also refuses to follow a greedy loop and `times(0, m)`
            // does not (`a+ greedy -> b{0,3}` is valid FlinkCEP; `{1,3}?` there is rejected
            // by our checker, as by FlinkCEP).
            Some(Quantifier::Times { from: 1, to }) if optional => {
                optional = false;
                o["quantifier"] = json!({"kind": "times", "from": 0, "to": to});
            }
            Some(Quantifier::Times { from, to }) => o["quantifier"] = json!({"kind": "times", "from": from, "to": to}),
            Some(Quantifier::TimesOrMore { from }) => o["quantifier"] = json!({"kind": "timesOrMore", "from": from}),
            Some(Quantifier::OneOrMore) => o["quantifier"] = json!({"kind": "oneOrMore"}),
        }
        for (flag, name) in [
            (optional, "optional"),
            (s.greedy, "greedy"),
            (s.consecutive, "consecutive"),
            (s.allow_combinations, "allowCombinations"),
        ] {
            if flag {
                o[name] = json!(true);
            }
        }
        Ok(o)
    }

    /// A condition: holds in the peer exactly when it is `true` for us.
    fn cond(&self, e: &Expr) -> R<Json> {
        self.truth(e, true)
    }

    /// `want = true`: holds exactly when `e` is true; `false`: exactly when `e` is false.
    fn truth_exact(&self, e: &Expr, want: bool) -> R<Json> {
        match e {
            Expr::Literal(Value::Bool(b)) => Ok(json!({"lit": *b == want})),
            Expr::Literal(Value::Null) => Ok(json!({"lit": false})),
            Expr::Unary { op: UnaryOp::Not, expr } => self.truth(expr, !want),
            Expr::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), lhs, rhs } => {
                let is_and = (*op == BinaryOp::And) == want;
                Ok(json!({
                    "op": if is_and { "and" } else { "or" },
                    "args": [self.truth(lhs, want)?, self.truth(rhs, want)?]
                }))
            }
            Expr::Binary { op, lhs, rhs } if is_comparison(*op) => {
                let (l, lt) = self.value(lhs)?;
                let (r, rt) = self.value(rhs)?;
                let ordering = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
                if ordering && (lt == Some(BaseType::Bool) || rt == Some(BaseType::Bool)) {
                    return unsupported("ordering booleans");
                }
                let op = if want { *op } else { negate(*op) };
                Ok(json!({"op": cmp_name(op), "args": [l, r]}))
            }
            // A boolean-valued leaf (a bool field): compare with the literal.
            other => {
                let (v, t) = self.value(other)?;
                if t != Some(BaseType::Bool) {
                    return unsupported(format!("a non-boolean condition {other:?}"));
                }
                Ok(json!({"op": "==", "args": [v, {"lit": want}]}))
            }
        }
    }

    /// A value expression and its type where known.
    fn value_exact(&self, e: &Expr) -> R<(Json, Option<BaseType>)> {
        match e {
            Expr::Literal(v) => Ok(match v {
                Value::Null => (json!({"lit": null}), None),
                Value::Bool(b) => (json!({"lit": b}), Some(BaseType::Bool)),
                Value::Int(i) => {
                    if i.unsigned_abs() > (1u64 << 53) {
                        return unsupported("an integer literal beyond 2^53 (the peer computes in doubles)");
                    }
                    (json!({"lit": i}), Some(BaseType::Int))
                }
                Value::Float(f) => (json!({"lit": f}), Some(BaseType::Float)),
                Value::String(s) => (json!({"lit": s}), Some(BaseType::String)),
                Value::Timestamp(_) | Value::Duration(_) => {
                    return unsupported("timestamp and duration literals");
                }
            }),
            Expr::Field { slot, steps } => {
                let (name, ty) = self.field(*slot, steps)?;
                if matches!(ty, BaseType::Timestamp | BaseType::Duration | BaseType::Json) {
                    return unsupported(format!("reading the {} field `{name}`", ty.name()));
                }
                Ok((json!({"field": name}), Some(ty)))
            }
            Expr::VarField { var, pick, slot, steps } => {
                let (name, ty) = self.field(*slot, steps)?;
                if matches!(ty, BaseType::Timestamp | BaseType::Duration | BaseType::Json) {
                    return unsupported(format!("reading the {} field `{name}`", ty.name()));
                }
                let agg = match pick {
                    Pick::Index(0) => "first",
                    Pick::Index(-1) => "last",
                    Pick::Index(i) => return unsupported(format!("`x[{i}]` (only [0] and [-1])")),
                };
                Ok((json!({"agg": agg, "var": self.var(*var)?, "field": name}), Some(ty)))
            }
            Expr::VarAgg { var, func, slot } => {
                let var = self.var(*var)?;
                let field = match slot {
                    Some(s) => {
                        let (name, ty) = self.field(*s, &[])?;
                        if !matches!(ty, BaseType::Int | BaseType::Float) {
                            return unsupported(format!("aggregating the {} field `{name}`", ty.name()));
                        }
                        Some(name)
                    }
                    None => None,
                };
                let agg = |name: &str| json!({"agg": name, "var": var, "field": field});
                let v = match func {
                    VarAggFunc::Count => json!({"agg": "count", "var": var}),
                    VarAggFunc::Sum => {
                        // null over no values, as ours: sum + (min - min)
                        json!({"op": "+", "args": [agg("sum"), {"op": "-", "args": [agg("min"), agg("min")]}]})
                    }
                    VarAggFunc::Avg => agg("avg"),
                    VarAggFunc::Min => agg("min"),
                    VarAggFunc::Max => agg("max"),
                };
                let ty = if *func == VarAggFunc::Count { BaseType::Int } else { BaseType::Float };
                Ok((v, Some(ty)))
            }
            Expr::Unary { op: UnaryOp::Neg, expr } => {
                let (v, t) = self.value(expr)?;
                if !matches!(t, Some(BaseType::Int | BaseType::Float)) {
                    return unsupported("negating a non-number");
                }
                Ok((json!({"op": "-", "args": [{"lit": 0}, v]}), t))
            }
            Expr::Binary { op, lhs, rhs } if is_arith(*op) => {
                let (l, lt) = self.value(lhs)?;
                let (r, rt) = self.value(rhs)?;
                for t in [lt, rt] {
                    if !matches!(t, Some(BaseType::Int | BaseType::Float)) {
                        return unsupported("arithmetic on non-numbers");
                    }
                }
                let name = match op {
                    BinaryOp::Add => "+",
                    BinaryOp::Sub => "-",
                    BinaryOp::Mul => "*",
                    BinaryOp::Div => "/",
                    _ => return unsupported("`%`"),
                };
                let ty = if lt == Some(BaseType::Int) && rt == Some(BaseType::Int) && *op != BinaryOp::Div {
                    BaseType::Int
                } else {
                    BaseType::Float
                };
                Ok((json!({"op": name, "args": [l, r]}), Some(ty)))
            }
            // `coalesce(sum(x.f), 0)`: the peer's own `sum` (0 over no values).
            Expr::Call {
                func: cepheus_dsl::plan::Func::Coalesce,
                args,
            } if matches!(
                args.as_slice(),
                [Expr::VarAgg { func: VarAggFunc::Sum, slot: Some(_), .. }, Expr::Literal(Value::Int(0))]
                    | [Expr::VarAgg { func: VarAggFunc::Sum, slot: Some(_), .. }, Expr::Literal(Value::Float(_))]
            ) && !matches!(&args[1], Expr::Literal(Value::Float(f)) if *f != 0.0) =>
            {
                let Expr::VarAgg { var, slot: Some(slot), .. } = &args[0] else { unreachable!() };
                let (name, _) = self.field(*slot, &[])?;
                Ok((json!({"agg": "sum", "var": self.var(*var)?, "field": name}), Some(BaseType::Float)))
            }
            Expr::Binary { .. } | Expr::Unary { .. } => {
                // a boolean sub-expression used as a value (`(a > 1) = true`)
                unsupported("a boolean expression used as a value")
            }
            other => unsupported(format!("the expression {}", kind_name(other))),
        }
    }
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
    )
}

fn is_arith(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
    )
}

fn negate(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Eq => BinaryOp::Ne,
        BinaryOp::Ne => BinaryOp::Eq,
        BinaryOp::Lt => BinaryOp::Ge,
        BinaryOp::Le => BinaryOp::Gt,
        BinaryOp::Gt => BinaryOp::Le,
        BinaryOp::Ge => BinaryOp::Lt,
        other => other,
    }
}

fn cmp_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        _ => ">=",
    }
}

fn kind_name(e: &Expr) -> &'static str {
    match e {
        Expr::Literal(_) => "literal",
        Expr::Field { .. } => "field",
        Expr::VarField { .. } => "variable field",
        Expr::VarAgg { .. } => "variable aggregate",
        Expr::Agg(_) => "window aggregate",
        Expr::Key(_) => "partition key",
        Expr::WindowStart | Expr::WindowEnd => "window bound",
        Expr::Unary { .. } => "unary",
        Expr::Binary { .. } => "binary",
        Expr::In { .. } => "`in`",
        Expr::Between { .. } => "`between`",
        Expr::IsNull { .. } => "`is null`",
        Expr::Matches { .. } => "`matches`",
        Expr::Call { func, .. } => func.name(),
    }
}

/// The events as the peer reads them. Without `partition by` the rule sees
/// one partition, so the `key` field (which the peer partitions by) is
/// dropped.
pub fn events_to_peer(plan: &RulePlan, events: &[Json]) -> R<Vec<Json>> {
    let key_field = match plan.partition_by.as_slice() {
        [] => None,
        [k] => Some(k.name.clone()),
        _ => return unsupported("partitioning by more than one field"),
    };
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let obj = e.as_object_mut().ok_or_else(|| Unsupported("a non-object event".into()))?;
            match &key_field {
                None => {
                    obj.remove("key");
                }
                Some(k) if k == "key" => {}
                Some(k) => {
                    let v = obj.get(k).cloned().unwrap_or(Json::Null);
                    obj.insert("key".into(), v);
                }
            }
            Ok(e)
        })
        .collect()
}

/// When the peer sends watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Only the final watermark (+infinity) after all events.
    FinalOnly,
    /// As `cepheus run` (`runtime::batch`): after every event the watermark
    /// `max ts - lateness - 1` (the stream's `lateness`), then +infinity.
    Batch,
}

/// A whole peer case for a rule and its events, with the watermark
/// schedule of our batch mode.
pub fn case_to_peer(plan: &RulePlan, events: &[Json]) -> R<Json> {
    case_to_peer_with(plan, events, Precompute::No, Schedule::Batch)
}

/// [`case_to_peer`], optionally precomputing event-local sub-expressions
/// into extra event fields, with a chosen watermark schedule.
pub fn case_to_peer_with(plan: &RulePlan, events: &[Json], pre: Precompute, schedule: Schedule) -> R<Json> {
    let (pattern, precomputed) = rule_to_peer_with(plan, pre)?;
    let mut events = events_to_peer(plan, events)?;
    if !precomputed.is_empty() {
        let compiled: Vec<(String, CompiledExpr)> = precomputed
            .iter()
            .map(|(n, e)| {
                CompiledExpr::compile(e)
                    .map(|c| (n.clone(), c))
                    .map_err(|err| Unsupported(format!("an expression our evaluator refuses: {err}")))
            })
            .collect::<R<_>>()?;
        let records = crate::engine::decode_events(&plan.stream, &events)
            .map_err(|e| Unsupported(format!("an event we cannot decode: {e}")))?;
        for (ev, rec) in events.iter_mut().zip(&records) {
            for (name, c) in &compiled {
                ev[name.as_str()] = c.eval(rec).to_json();
            }
        }
    }
    let mut case = json!({"pattern": pattern, "events": events});
    if schedule == Schedule::Batch {
        if plan.stream.time.is_none() {
            return unsupported("a processing-time stream (the peer runs in event time)");
        }
        case["watermark_lag_ms"] = json!(plan.stream.lateness_ms);
    }
    Ok(case)
}
