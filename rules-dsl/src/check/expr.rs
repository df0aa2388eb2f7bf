//! Expressions: names resolved, types checked, lowered to [`plan::Expr`].
//!
//! Every check reports and goes on with an error type ([`Ty::Error`]) that
//! accepts everything, so one mistake gives one diagnostic.

use crate::ast::{self, BinaryOp, ExprKind, Ident, Literal, Path, PathStep, UnaryOp};
use crate::diagnostic::Diagnostic;
use crate::plan::{self, Aggregate, Func, Pick, Value, VarAggFunc};
use crate::span::Span;
use crate::suggest;
use crate::types::BaseType;

use super::funcs::{self, AggName, Want};
use super::scope::{resolve_field, Ctx, FieldRef, Scope, VarInfo};
use super::ty::Ty;

/// A checked expression.
#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub expr: plan::Expr,
    pub ty: Ty,
}

impl Typed {
    fn error() -> Typed {
        Typed {
            expr: plan::Expr::Literal(Value::Null),
            ty: Ty::Error,
        }
    }
}

/// Checks the expressions of one rule in one context.
pub(crate) struct ExprChecker<'s, 'd> {
    pub scope: &'s Scope<'s>,
    pub ctx: Ctx,
    pub diags: &'d mut Vec<Diagnostic>,
    /// A window rule's aggregates, shared by its `having` and `emit`.
    pub aggs: &'d mut Vec<Aggregate>,
}

impl<'s, 'd> ExprChecker<'s, 'd> {
    /// Checks a condition (`where`, `define`, `until`, `having`): it must be
    /// bool. `what` names it in the message (`the condition of 'small'`).
    pub fn condition(&mut self, e: &ast::Expr, what: &str) -> plan::Expr {
        let t = self.check(e);
        if !t.ty.is_boolish() {
            self.diags.push(
                Diagnostic::error(
                    "condition-not-bool",
                    format!("{what} must be true or false, but this is {}", t.ty.describe()),
                    e.span,
                )
                .with_label(format!("this is {}", t.ty.describe()))
                .with_help("compare it with something, e.g. `amount > 100`, or combine conditions with `and` / `or`"),
            );
        }
        t.expr
    }

    pub fn check(&mut self, e: &ast::Expr) -> Typed {
        match &e.kind {
            ExprKind::Literal(lit) => literal(lit),
            ExprKind::Path(p) => self.path(p, e.span),
            ExprKind::Unary { op, expr } => self.unary(*op, expr, e.span),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            ExprKind::In {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated),
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => self.between(expr, low, high, *negated),
            ExprKind::IsNull { expr, negated } => {
                let t = self.check(expr);
                Typed {
                    expr: plan::Expr::IsNull {
                        expr: Box::new(t.expr),
                        negated: *negated,
                    },
                    ty: Ty::BOOL,
                }
            }
            ExprKind::Matches { expr, regex } => self.matches(expr, regex),
            ExprKind::Call { func, args } => self.call(func, args, e.span),
        }
    }

    // -----------------------------------------------------------------
    // Names
    // -----------------------------------------------------------------

    fn path(&mut self, p: &Path, span: Span) -> Typed {
        if p.head.name == "window" {
            if let Some(t) = self.window_bound(p, span) {
                return t;
            }
        }
        if let Some(var) = self.scope.var(&p.head.name) {
            return self.var_path(var, p, span);
        }
        if self.looks_like_variable(p) {
            let vars: Vec<&str> = self
                .scope
                .vars
                .iter()
                .filter(|v| !v.negated)
                .map(|v| v.name.as_str())
                .collect();
            let mut d = Diagnostic::error(
                "unknown-variable",
                format!("unknown pattern variable '{}'", p.head.name),
                p.head.span,
            )
            .with_label("not in the pattern");
            d = match suggest::did_you_mean(&p.head.name, vars.iter().copied()) {
                Some(h) => d.with_help(h),
                None => d.with_help(format!("the pattern's variables are: {}", vars.join(", "))),
            };
            self.diags.push(d);
            return Typed::error();
        }
        self.field_path(p, span)
    }

    /// A name that is no field but is indexed (`smal[0]`) or close to a
    /// pattern variable's name: a misspelt variable rather than a field.
    fn looks_like_variable(&self, p: &Path) -> bool {
        if self.scope.vars.is_empty() || !matches!(self.ctx, Ctx::Define { .. } | Ctx::PatternOut) {
            return false;
        }
        let Some(schema) = self.scope.stream else {
            return false;
        };
        let head = p.head.name.as_str();
        let prefix = format!("{head}.");
        if schema.fields.iter().any(|f| f.name == head || f.name.starts_with(&prefix)) {
            return false;
        }
        // `amout` is closer to the field `amount` than to any variable.
        let field_match = suggest::closest(head, schema.fields.iter().map(|f| f.name.as_str()));
        let var_match = suggest::closest(head, self.scope.vars.iter().map(|v| v.name.as_str()));
        matches!(p.steps.first(), Some(PathStep::Index(_))) || (var_match.is_some() && field_match.is_none())
    }

    /// `window.start` / `window.end`; `None` when `window` is a field here.
    fn window_bound(&mut self, p: &Path, span: Span) -> Option<Typed> {
        let is_field = self.scope.stream.is_some_and(|s| {
            s.fields
                .iter()
                .any(|f| f.name == "window" || f.name.starts_with("window."))
        });
        let bound = match p.steps.as_slice() {
            [PathStep::Member(m)] if m.name == "start" => Some(plan::Expr::WindowStart),
            [PathStep::Member(m)] if m.name == "end" => Some(plan::Expr::WindowEnd),
            _ => None,
        };
        if self.ctx == Ctx::WindowOut {
            return Some(match bound {
                Some(expr) => Typed {
                    expr,
                    ty: Ty::TIMESTAMP,
                },
                None if is_field => return None,
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-window-field",
                            "a window has only `window.start` and `window.end`",
                            span,
                        )
                        .with_label("not a window bound")
                        .with_help("use `window.start` or `window.end` (both timestamps)"),
                    );
                    Typed::error()
                }
            });
        }
        if is_field || bound.is_none() {
            return None;
        }
        let why = if self.scope.window_rule {
            "they exist only in `having` and `emit`, after the window has fired"
        } else {
            "they exist only in window rules (rules with `window`)"
        };
        self.diags.push(
            Diagnostic::error(
                "window-bound-outside-window",
                format!("`window.start` and `window.end` cannot be used in {}: {why}", self.ctx.describe()),
                span,
            )
            .with_label("no window here"),
        );
        Some(Typed::error())
    }

    fn field_path(&mut self, p: &Path, span: Span) -> Typed {
        let Some(schema) = self.scope.stream else {
            return Typed::error();
        };
        let Some(FieldRef {
            slot,
            steps,
            ty,
            name,
        }) = resolve_field(schema, &p.head, &p.steps, self.diags)
        else {
            return Typed::error();
        };
        let ty = ty.map_or(Ty::Dynamic, Ty::Known);
        match self.ctx {
            Ctx::Where | Ctx::Define { .. } | Ctx::AggArg => Typed {
                expr: plan::Expr::Field { slot, steps },
                ty,
            },
            Ctx::PatternOut | Ctx::WindowOut => {
                if steps.is_empty() {
                    if let Some(i) = self.scope.key_index(slot) {
                        return Typed {
                            expr: plan::Expr::Key(i),
                            ty,
                        };
                    }
                }
                let d = if self.ctx == Ctx::PatternOut {
                    let examples = self.var_examples(&name);
                    Diagnostic::error(
                        "field-needs-variable",
                        format!("field '{name}' is not in `partition by`: which event of the match should it come from?"),
                        span,
                    )
                    .with_label("a match has several events")
                    .with_help(if examples.is_empty() {
                        "name a pattern variable's event, or add the field to `partition by`".to_string()
                    } else {
                        format!("name a pattern variable's event: {examples}")
                    })
                } else {
                    Diagnostic::error(
                        "not-aggregated",
                        format!("field '{name}' is neither aggregated nor in `partition by`"),
                        span,
                    )
                    .with_label("a window holds many events")
                    .with_help(format!(
                        "use first({name}), last({name}) or an aggregate such as max({name}), or add it to `partition by`"
                    ))
                };
                self.diags.push(d);
                Typed::error()
            }
        }
    }

    /// `big.amount, small[0].amount` for help texts.
    fn var_examples(&self, field: &str) -> String {
        let shown: Vec<String> = self
            .scope
            .vars
            .iter()
            .filter(|v| !v.negated)
            .take(3)
            .map(|v| {
                if v.multi {
                    format!("{}[0].{field}", v.name)
                } else {
                    format!("{}.{field}", v.name)
                }
            })
            .collect();
        shown.join(", ")
    }

    fn var_path(&mut self, var: &VarInfo, p: &Path, span: Span) -> Typed {
        if !self.var_allowed(var, p.head.span) {
            return Typed::error();
        }
        let (pick, rest) = match p.steps.first() {
            Some(PathStep::Index(i)) => {
                if !self.index_in_range(var, i.node, i.span) {
                    return Typed::error();
                }
                (i.node, &p.steps[1..])
            }
            Some(PathStep::Member(m)) => {
                if var.multi {
                    let name = &m.name;
                    let v = &var.name;
                    self.diags.push(
                        Diagnostic::error(
                            "ambiguous-variable-field",
                            format!("'{v}' can hold several events: which one's '{name}'?"),
                            span,
                        )
                        .with_label(format!("'{v}' is a loop"))
                        .with_help(format!(
                            "use {v}[0].{name} (first), {v}[-1].{name} (latest) or an aggregate such as sum({v}.{name})"
                        )),
                    );
                    return Typed::error();
                }
                (0, &p.steps[..])
            }
            None => {
                self.variable_as_value(var, span);
                return Typed::error();
            }
        };
        let Some(PathStep::Member(first)) = rest.first() else {
            self.variable_as_value(var, span);
            return Typed::error();
        };
        let Some(schema) = self.scope.stream else {
            return Typed::error();
        };
        let Some(fr) = resolve_field(schema, first, &rest[1..], self.diags) else {
            return Typed::error();
        };
        Typed {
            expr: plan::Expr::VarField {
                var: var.id,
                pick: Pick::Index(pick),
                slot: fr.slot,
                steps: fr.steps,
            },
            ty: fr.ty.map_or(Ty::Dynamic, Ty::Known),
        }
    }

    fn variable_as_value(&mut self, var: &VarInfo, span: Span) {
        let v = &var.name;
        let example = if var.multi {
            format!("{v}[0].amount, {v}[-1].amount or count({v})")
        } else {
            format!("{v}.amount")
        };
        self.diags.push(
            Diagnostic::error(
                "variable-as-value",
                format!("'{v}' is a pattern variable, not a value"),
                span,
            )
            .with_label("name one of its fields")
            .with_help(format!("read a field of its events, e.g. {example}")),
        );
    }

    fn index_in_range(&mut self, var: &VarInfo, i: i64, span: Span) -> bool {
        let Some(max) = var.max_events else {
            return true;
        };
        let max = max as i64;
        if i >= max || i < -max {
            let v = &var.name;
            let help = if max == 1 {
                format!("'{v}' takes one event: read it as {v}[0] (or simply {v}.field)")
            } else {
                format!("use an index from 0 to {} (or from -1 to -{max} counting from the latest)", max - 1)
            };
            self.diags.push(
                Diagnostic::error(
                    "index-out-of-range",
                    format!(
                        "'{v}' holds at most {max} event{}, so {v}[{i}] never exists",
                        if max == 1 { "" } else { "s" }
                    ),
                    span,
                )
                .with_label("out of range")
                .with_help(help),
            );
            return false;
        }
        true
    }

    /// Whether `var` may be read here; reports why not.
    fn var_allowed(&mut self, var: &VarInfo, span: Span) -> bool {
        let v = &var.name;
        match self.ctx {
            Ctx::Where => {
                let clause = "where";
                self.diags.push(
                    Diagnostic::error(
                        "variable-outside-pattern",
                        format!("pattern variable '{v}' cannot be used in `{clause}`"),
                        span,
                    )
                    .with_label("a pattern variable")
                    .with_help(format!(
                        "`{clause}` sees one event before it reaches the pattern; put conditions on '{v}' in `define {v} as ...`"
                    )),
                );
                return false;
            }
            Ctx::WindowOut | Ctx::AggArg => return true,
            Ctx::Define { .. } | Ctx::PatternOut => {}
        }
        if var.negated {
            self.diags.push(
                Diagnostic::error(
                    "negated-variable-reference",
                    format!("'{v}' is negated (`!{v}`) in the pattern: it never holds events"),
                    span,
                )
                .with_label("always empty")
                .with_help(format!("a negated variable can only be defined (`define {v} as ...`), not read")),
            );
            return false;
        }
        if let Ctx::Define { var: current } = self.ctx {
            let cur = self
                .scope
                .vars
                .get(current as usize)
                .map_or("?", |c| c.name.as_str());
            if var.id == current && !var.multi {
                self.diags.push(
                    Diagnostic::error(
                        "self-reference",
                        format!("'{v}' takes one event and has none yet while its own condition runs"),
                        span,
                    )
                    .with_label("no events yet")
                    .with_help("fields of the event being tested are plain names: write `amount`, not `big.amount`"),
                );
                return false;
            }
            if var.id > current {
                self.diags.push(
                    Diagnostic::error(
                        "forward-reference",
                        format!("'{v}' comes after '{cur}' in the pattern: it has no events yet when '{cur}' is tested"),
                        span,
                    )
                    .with_label(format!("'{v}' is matched later"))
                    .with_secondary(var.span, format!("'{v}' is here in the pattern"))
                    .with_help(format!(
                        "conditions can read earlier variables only; move this comparison into `define {v} as ...`"
                    )),
                );
                return false;
            }
        }
        true
    }

    // -----------------------------------------------------------------
    // Operators
    // -----------------------------------------------------------------

    fn unary(&mut self, op: UnaryOp, e: &ast::Expr, span: Span) -> Typed {
        let t = self.check(e);
        let ty = match op {
            UnaryOp::Not => {
                if !t.ty.is_boolish() && t.ty != Ty::Null {
                    self.diags.push(
                        Diagnostic::error(
                            "condition-not-bool",
                            format!("`not` needs true or false, but this is {}", t.ty.describe()),
                            e.span,
                        )
                        .with_label(format!("this is {}", t.ty.describe()))
                        .with_help("`not` applies to conditions, e.g. `not (amount > 100)`"),
                    );
                }
                Ty::BOOL.with_null(t.ty.is_nullable())
            }
            UnaryOp::Neg => match t.ty.base() {
                _ if t.ty.is_lenient() => t.ty,
                Some(b) if b.is_numeric() || b == BaseType::Duration => t.ty,
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            "bad-operand",
                            format!("cannot negate a {}", t.ty.describe()),
                            span,
                        )
                        .with_label(format!("this is {}", t.ty.describe()))
                        .with_help("`-` applies to numbers and durations"),
                    );
                    Ty::Error
                }
            },
        };
        Typed {
            expr: plan::Expr::Unary {
                op,
                expr: Box::new(t.expr),
            },
            ty,
        }
    }

    fn binary(&mut self, op: BinaryOp, le: &ast::Expr, re: &ast::Expr) -> Typed {
        let l = self.check(le);
        let r = self.check(re);
        let ty = match op {
            BinaryOp::And | BinaryOp::Or => {
                for (t, e) in [(&l, le), (&r, re)] {
                    if !t.ty.is_boolish() && t.ty != Ty::Null {
                        self.diags.push(
                            Diagnostic::error(
                                "condition-not-bool",
                                format!(
                                    "`{}` joins conditions, but this is {}",
                                    op.symbol(),
                                    t.ty.describe()
                                ),
                                e.span,
                            )
                            .with_label(format!("this is {}", t.ty.describe()))
                            .with_help("each side must be true or false, e.g. `amount > 100 and country = \"FR\"`"),
                        );
                    }
                }
                Ty::BOOL
            }
            _ if op.is_comparison() => {
                self.comparison(op, (&l, le), (&r, re));
                Ty::BOOL
            }
            _ => self.arith(op, (&l, le), (&r, re)),
        };
        Typed {
            expr: plan::Expr::Binary {
                op,
                lhs: Box::new(l.expr),
                rhs: Box::new(r.expr),
            },
            ty,
        }
    }

    /// Reports when `l op r` cannot be compared.
    fn comparison(&mut self, op: BinaryOp, l: (&Typed, &ast::Expr), r: (&Typed, &ast::Expr)) {
        if l.0.ty == Ty::Null || r.0.ty == Ty::Null {
            let (null_side, other) = if l.0.ty == Ty::Null { (l.1, r.1) } else { (r.1, l.1) };
            let _ = other;
            let negated = op == BinaryOp::Ne;
            self.diags.push(
                Diagnostic::error(
                    "compare-null",
                    format!("comparing with null with `{}` is never true", op.symbol()),
                    null_side.span,
                )
                .with_label("null")
                .with_help(if negated {
                    "test for a missing value with `x is not null`"
                } else {
                    "test for a missing value with `x is null`"
                }),
            );
            return;
        }
        if !l.0.ty.comparable(r.0.ty) {
            let (lt, rt) = (l.0.ty.describe(), r.0.ty.describe());
            let d = Diagnostic::error(
                "type-mismatch",
                format!("cannot compare {lt} with {rt}"),
                l.1.span,
            )
            .with_label(format!("this is {lt}"))
            .with_secondary(r.1.span, format!("this is {rt}"));
            let d = match mismatch_help(l, r) {
                Some(h) => d.with_help(h),
                None => d,
            };
            self.diags.push(d);
            return;
        }
        let ordering = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        if ordering {
            for (t, e) in [l, r] {
                if !t.ty.is_ordered() {
                    self.diags.push(
                        Diagnostic::error(
                            "not-ordered",
                            format!("{} values have no order: `{}` does not apply", t.ty.describe(), op.symbol()),
                            e.span,
                        )
                        .with_label(format!("this is {}", t.ty.describe()))
                        .with_help("compare booleans with `=` or `!=`, or use the condition directly"),
                    );
                    return;
                }
            }
        }
    }

    fn arith(&mut self, op: BinaryOp, l: (&Typed, &ast::Expr), r: (&Typed, &ast::Expr)) -> Ty {
        use BaseType::*;
        let sym = op.symbol();
        for (t, e) in [l, r] {
            let bad = match t.ty {
                Ty::Null => Some("arithmetic with null is always null"),
                Ty::Known(k) if matches!(k.base, String | Bool) => Some(""),
                _ => None,
            };
            if let Some(why) = bad {
                let d = Diagnostic::error(
                    "bad-operand",
                    format!("cannot apply `{sym}` to {}", t.ty.describe()),
                    e.span,
                )
                .with_label(format!("this is {}", t.ty.describe()));
                let d = if why.is_empty() {
                    d.with_help("arithmetic applies to numbers, timestamps and durations")
                } else {
                    d.with_help(why)
                };
                self.diags.push(d);
                return Ty::Error;
            }
        }
        let (lt, rt) = (l.0.ty, r.0.ty);
        if lt == Ty::Error || rt == Ty::Error {
            return Ty::Error;
        }
        if lt.is_lenient() || rt.is_lenient() {
            return Ty::Dynamic;
        }
        let nullable = lt.is_nullable() || rt.is_nullable();
        let (Some(a), Some(b)) = (lt.base(), rt.base()) else {
            return Ty::Dynamic;
        };
        let result = match (a, op, b) {
            (Int, BinaryOp::Div, Int) => Some(Float),
            (Int, _, Int) => Some(Int),
            (x, _, y) if x.is_numeric() && y.is_numeric() => Some(Float),
            (Timestamp, BinaryOp::Sub, Timestamp) => Some(Duration),
            (Timestamp, BinaryOp::Add | BinaryOp::Sub, Duration) => Some(Timestamp),
            (Duration, BinaryOp::Add, Timestamp) => Some(Timestamp),
            (Duration, BinaryOp::Add | BinaryOp::Sub, Duration) => Some(Duration),
            (Duration, BinaryOp::Mul | BinaryOp::Div, y) if y.is_numeric() => Some(Duration),
            (x, BinaryOp::Mul, Duration) if x.is_numeric() => Some(Duration),
            (Duration, BinaryOp::Div, Duration) => Some(Float),
            _ => None,
        };
        match result {
            Some(base) => Ty::of(base).with_null(nullable),
            None => {
                let help = if matches!((a, b), (Timestamp, Int | Float) | (Int | Float, Timestamp)) {
                    "add or subtract durations to timestamps, written with a unit: `ts + 10m`"
                } else {
                    "timestamp - timestamp is a duration; timestamp ± duration is a timestamp; durations scale by numbers"
                };
                self.diags.push(
                    Diagnostic::error(
                        "type-mismatch",
                        format!("cannot apply `{sym}` to {} and {}", lt.describe(), rt.describe()),
                        l.1.span,
                    )
                    .with_label(format!("this is {}", lt.describe()))
                    .with_secondary(r.1.span, format!("this is {}", rt.describe()))
                    .with_help(help),
                );
                Ty::Error
            }
        }
    }

    fn in_list(&mut self, e: &ast::Expr, list: &[ast::Expr], negated: bool) -> Typed {
        let t = self.check(e);
        let mut items = Vec::with_capacity(list.len());
        for item in list {
            let it = self.check(item);
            if it.ty == Ty::Null {
                self.diags.push(
                    Diagnostic::error("compare-null", "`null` in an `in` list never matches", item.span)
                        .with_label("null")
                        .with_help("test for a missing value with `x is null`"),
                );
            } else if !t.ty.comparable(it.ty) {
                let (lt, rt) = (t.ty.describe(), it.ty.describe());
                let d = Diagnostic::error(
                    "type-mismatch",
                    format!("`in` list holds {rt}, but the tested value is {lt}"),
                    item.span,
                )
                .with_label(format!("this is {rt}"))
                .with_secondary(e.span, format!("this is {lt}"));
                let d = match mismatch_help((&it, item), (&t, e)) {
                    Some(h) => d.with_help(h),
                    None => d,
                };
                self.diags.push(d);
            }
            items.push(it.expr);
        }
        Typed {
            expr: plan::Expr::In {
                expr: Box::new(t.expr),
                list: items,
                negated,
            },
            ty: Ty::BOOL,
        }
    }

    fn between(&mut self, e: &ast::Expr, low: &ast::Expr, high: &ast::Expr, negated: bool) -> Typed {
        let t = self.check(e);
        let lo = self.check(low);
        let hi = self.check(high);
        self.comparison(BinaryOp::Ge, (&t, e), (&lo, low));
        self.comparison(BinaryOp::Le, (&t, e), (&hi, high));
        Typed {
            expr: plan::Expr::Between {
                expr: Box::new(t.expr),
                low: Box::new(lo.expr),
                high: Box::new(hi.expr),
                negated,
            },
            ty: Ty::BOOL,
        }
    }

    fn matches(&mut self, e: &ast::Expr, regex: &ast::StringLit) -> Typed {
        let t = self.check(e);
        if !Want::String.accepts(t.ty) {
            self.diags.push(
                Diagnostic::error(
                    "type-mismatch",
                    format!("`matches` tests strings, but this is {}", t.ty.describe()),
                    e.span,
                )
                .with_label(format!("this is {}", t.ty.describe()))
                .with_help("apply `matches` to a string field"),
            );
        }
        if let Err(err) = regex::Regex::new(&regex.value) {
            let text = err.to_string();
            let mut d = Diagnostic::error("bad-regex", "invalid regular expression", regex.span)
                .with_label("does not compile")
                .with_help("the syntax is Rust's `regex` crate (no look-around, no backreferences); escape `\\` in strings as `\\\\`");
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                d = d.with_note(line.to_string());
            }
            self.diags.push(d);
        }
        Typed {
            expr: plan::Expr::Matches {
                expr: Box::new(t.expr),
                regex: regex.value.clone(),
            },
            ty: Ty::BOOL,
        }
    }

    // -----------------------------------------------------------------
    // Calls
    // -----------------------------------------------------------------

    fn call(&mut self, func: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        if let Some(agg) = AggName::parse(&func.name) {
            return self.aggregate(agg, func, args, span);
        }
        let Some(f) = Func::from_name(&func.name) else {
            let names = funcs::all_names();
            let mut d = Diagnostic::error(
                "unknown-function",
                format!("unknown function '{}'", func.name),
                func.span,
            )
            .with_label("not a function");
            d = match suggest::did_you_mean(&func.name, names.iter().copied()) {
                Some(h) => d.with_help(h),
                None => d.with_note(format!("functions: {}", names.join(", "))),
            };
            self.diags.push(d);
            for a in args {
                self.check(a);
            }
            return Typed::error();
        };
        let sig = funcs::signature(f);
        let n = args.len();
        let min = sig.params.len();
        let arity_ok = if sig.variadic { n >= min } else { n == min };
        let checked: Vec<Typed> = args.iter().map(|a| self.check(a)).collect();
        if !arity_ok {
            let expected = if sig.variadic {
                format!("at least {min} arguments")
            } else if min == 1 {
                "1 argument".to_string()
            } else {
                format!("{min} arguments")
            };
            self.diags.push(
                Diagnostic::error(
                    "wrong-arity",
                    format!(
                        "{} takes {expected}, but {n} {} given",
                        f.name(),
                        if n == 1 { "was" } else { "were" }
                    ),
                    span,
                )
                .with_label(format!("{n} argument{}", if n == 1 { "" } else { "s" }))
                .with_help(sig.display),
            );
            return Typed::error();
        }
        let mut ok = true;
        for (i, (t, a)) in checked.iter().zip(args).enumerate() {
            let want = sig.params[i.min(min - 1)];
            if !want.accepts(t.ty) {
                ok = false;
                self.diags.push(
                    Diagnostic::error(
                        "bad-argument",
                        format!(
                            "{} expects {} as argument {}, but this is {}",
                            f.name(),
                            want.describe(),
                            i + 1,
                            t.ty.describe()
                        ),
                        a.span,
                    )
                    .with_label(format!("this is {}", t.ty.describe()))
                    .with_help(sig.display),
                );
            }
        }
        if f == Func::Coalesce && ok {
            let first = &checked[0];
            for (t, a) in checked.iter().zip(args).skip(1) {
                if !first.ty.comparable(t.ty) {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(
                            "type-mismatch",
                            format!(
                                "coalesce arguments must have one type, but this is {} and the first is {}",
                                t.ty.describe(),
                                first.ty.describe()
                            ),
                            a.span,
                        )
                        .with_label(format!("this is {}", t.ty.describe()))
                        .with_secondary(args[0].span, format!("this is {}", first.ty.describe()))
                        .with_help("give a fallback of the same type, e.g. coalesce(amount, 0.0)"),
                    );
                }
            }
        }
        let tys: Vec<Ty> = checked.iter().map(|t| t.ty).collect();
        let ty = if ok { funcs::result(f, &tys) } else { Ty::Error };
        Typed {
            expr: plan::Expr::Call {
                func: f,
                args: checked.into_iter().map(|t| t.expr).collect(),
            },
            ty,
        }
    }

    fn aggregate(&mut self, agg: AggName, func: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        match self.ctx {
            Ctx::WindowOut => self.window_aggregate(agg, func, args, span),
            Ctx::Define { .. } | Ctx::PatternOut => self.var_aggregate(agg, func, args, span),
            Ctx::AggArg => {
                self.diags.push(
                    Diagnostic::error(
                        "nested-aggregate",
                        format!("{} cannot be used inside another aggregate", agg.name()),
                        span,
                    )
                    .with_label("nested aggregate")
                    .with_help("aggregate the event fields directly, e.g. max(amount)"),
                );
                Typed::error()
            }
            Ctx::Where => {
                let clause = "where";
                self.diags.push(
                    Diagnostic::error(
                        "aggregate-not-allowed",
                        format!("{} is an aggregate; `{clause}` looks at one event at a time", agg.name()),
                        span,
                    )
                    .with_label("aggregate")
                    .with_help("test aggregates in a window rule's `having`, or over a pattern variable in `define`"),
                );
                Typed::error()
            }
        }
    }

    fn agg_arity(&mut self, agg: AggName, args: &[ast::Expr], span: Span, allowed: &[usize]) -> bool {
        if allowed.contains(&args.len()) {
            return true;
        }
        let usage = match agg {
            AggName::Count => "count() or count(x)",
            AggName::Percentile => "percentile(x, 0.99)",
            _ => "one argument",
        };
        let n = args.len();
        self.diags.push(
            Diagnostic::error(
                "wrong-arity",
                format!(
                    "{} takes {usage}, but {n} argument{} {} given",
                    agg.name(),
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "was" } else { "were" }
                ),
                span,
            )
            .with_label(format!("{n} argument{}", if n == 1 { "" } else { "s" })),
        );
        false
    }

    fn window_aggregate(&mut self, agg: AggName, _func: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        let allowed: &[usize] = match agg {
            AggName::Count => &[0, 1],
            AggName::Percentile => &[2],
            _ => &[1],
        };
        if !self.agg_arity(agg, args, span, allowed) {
            return Typed::error();
        }
        let saved = self.ctx;
        self.ctx = Ctx::AggArg;
        let arg = args.first().map(|a| (self.check(a), a));
        self.ctx = saved;
        let mut quantile = None;
        if agg == AggName::Percentile {
            match args.get(1).and_then(literal_number) {
                Some(q) if (0.0..=1.0).contains(&q) => quantile = Some(q),
                _ => {
                    let at = args.get(1).map_or(span, |a| a.span);
                    self.diags.push(
                        Diagnostic::error(
                            "bad-percentile",
                            "percentile's second argument must be a number literal from 0 to 1",
                            at,
                        )
                        .with_label("not a quantile")
                        .with_help("e.g. percentile(latency_ms, 0.99) for the 99th percentile"),
                    );
                    return Typed::error();
                }
            }
        }
        let arg_ty = arg.as_ref().map_or(Ty::Error, |(t, _)| t.ty);
        if let Some((t, a)) = &arg {
            let want_ok = match agg {
                AggName::Sum | AggName::Avg | AggName::Stddev | AggName::Percentile => {
                    Want::Number.accepts(t.ty)
                }
                AggName::Min | AggName::Max => t.ty.is_ordered() && t.ty != Ty::Null,
                _ => true,
            };
            if !want_ok {
                let what = match agg {
                    AggName::Min | AggName::Max => "an ordered value (number, string, timestamp or duration)",
                    _ => "numbers",
                };
                self.diags.push(
                    Diagnostic::error(
                        "bad-argument",
                        format!("{} needs {what}, but this is {}", agg.name(), t.ty.describe()),
                        a.span,
                    )
                    .with_label(format!("this is {}", t.ty.describe()))
                    .with_help("count(x) and count_distinct(x) take any type"),
                );
                return Typed::error();
            }
        }
        let ty = match agg {
            AggName::Count | AggName::CountDistinct => Ty::INT,
            AggName::Sum => match arg_ty.base() {
                Some(BaseType::Int) => arg_ty,
                _ => Ty::FLOAT.with_null(arg_ty.is_nullable()),
            },
            AggName::Avg | AggName::Stddev | AggName::Percentile => Ty::FLOAT.with_null(true),
            AggName::Min | AggName::Max | AggName::First | AggName::Last => arg_ty,
        };
        let aggregate = Aggregate {
            func: agg.window_func(args.len()),
            arg: arg.map(|(t, _)| t.expr),
            quantile,
            ty: ty.to_type(),
        };
        let index = match self.aggs.iter().position(|a| *a == aggregate) {
            Some(i) => i,
            None => {
                self.aggs.push(aggregate);
                self.aggs.len() - 1
            }
        };
        Typed {
            expr: plan::Expr::Agg(index as u32),
            ty,
        }
    }

    /// `count(small)`, `sum(small.amount)`, `first(small.amount)` in a pattern rule.
    fn var_aggregate(&mut self, agg: AggName, func: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        let name = agg.name();
        let func_kind = match agg {
            AggName::Count => Some(VarAggFunc::Count),
            AggName::Sum => Some(VarAggFunc::Sum),
            AggName::Avg => Some(VarAggFunc::Avg),
            AggName::Min => Some(VarAggFunc::Min),
            AggName::Max => Some(VarAggFunc::Max),
            AggName::First | AggName::Last => None,
            AggName::CountDistinct | AggName::Stddev | AggName::Percentile => {
                self.diags.push(
                    Diagnostic::error(
                        "aggregate-not-for-variables",
                        format!("{name} works in window rules only"),
                        func.span,
                    )
                    .with_label("not available over pattern variables")
                    .with_help("over a pattern variable use count, sum, avg, min, max, first or last"),
                );
                return Typed::error();
            }
        };
        if agg == AggName::Count && args.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "aggregate-needs-variable",
                    "count() counts a window's events; a pattern rule counts a variable's events",
                    span,
                )
                .with_label("count of what?")
                .with_help(format!("name a variable: {}", self.example_agg("count", None))),
            );
            return Typed::error();
        }
        if !self.agg_arity(agg, args, span, &[1]) {
            return Typed::error();
        }
        let arg = &args[0];
        let target = match &arg.kind {
            ExprKind::Path(p) => self.scope.var(&p.head.name).map(|v| (v, p)),
            _ => None,
        };
        let Some((var, p)) = target else {
            let field = match &arg.kind {
                ExprKind::Path(p) => Some(p.head.name.as_str()),
                _ => None,
            };
            self.diags.push(
                Diagnostic::error(
                    "aggregate-needs-variable",
                    format!("in a pattern rule, {name} runs over a pattern variable's events"),
                    arg.span,
                )
                .with_label("not a pattern variable")
                .with_help(format!("e.g. {}", self.example_agg(name, field))),
            );
            return Typed::error();
        };
        if !self.var_allowed(var, p.head.span) {
            return Typed::error();
        }
        // The field part, after the variable.
        let field = match p.steps.first() {
            None => None,
            Some(PathStep::Member(m)) => Some(m),
            Some(PathStep::Index(i)) => {
                self.diags.push(
                    Diagnostic::error(
                        "aggregate-needs-variable",
                        format!("{name} aggregates all of '{}''s events, not one", var.name),
                        i.span,
                    )
                    .with_label("remove the index")
                    .with_help(format!(
                        "write {name}({}.field) over all events, or {}[i].field for one event",
                        var.name, var.name
                    )),
                );
                return Typed::error();
            }
        };
        let Some(schema) = self.scope.stream else {
            return Typed::error();
        };
        let fr = match field {
            None => None,
            Some(first) => match resolve_field(schema, first, &p.steps[1..], self.diags) {
                Some(fr) => Some(fr),
                None => return Typed::error(),
            },
        };
        let Some(kind) = func_kind else {
            // first(x.f) / last(x.f): one event's field.
            let Some(fr) = fr else {
                self.variable_as_value(var, arg.span);
                return Typed::error();
            };
            let pick = if agg == AggName::First { 0 } else { -1 };
            return Typed {
                expr: plan::Expr::VarField {
                    var: var.id,
                    pick: Pick::Index(pick),
                    slot: fr.slot,
                    steps: fr.steps,
                },
                ty: fr.ty.map_or(Ty::Dynamic, |t| Ty::Known(t).with_null(true)),
            };
        };
        let (slot, field_ty) = match fr {
            None if kind == VarAggFunc::Count => (None, Ty::Error),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "aggregate-needs-variable",
                        format!("{name}({}) needs a field to aggregate", var.name),
                        arg.span,
                    )
                    .with_label("which field?")
                    .with_help(format!("e.g. {name}({}.amount)", var.name)),
                );
                return Typed::error();
            }
            Some(fr) if !fr.steps.is_empty() => {
                self.diags.push(
                    Diagnostic::error(
                        "aggregate-json-path",
                        format!("{name} over a variable takes a declared field, not a path into json field '{}'", fr.name),
                        arg.span,
                    )
                    .with_label("inside a json field")
                    .with_help("declare the nested field with its type in the stream (`payload.value float`)"),
                );
                return Typed::error();
            }
            Some(fr) => (Some(fr.slot), fr.ty.map_or(Ty::Dynamic, Ty::Known)),
        };
        let ty = match kind {
            VarAggFunc::Count => Ty::INT,
            VarAggFunc::Sum | VarAggFunc::Avg => {
                if !Want::Number.accepts(field_ty) {
                    self.bad_var_agg_arg(name, field_ty, arg.span, "numbers");
                    return Typed::error();
                }
                if kind == VarAggFunc::Avg || field_ty.base() != Some(BaseType::Int) {
                    Ty::FLOAT.with_null(kind == VarAggFunc::Avg)
                } else {
                    Ty::INT
                }
            }
            VarAggFunc::Min | VarAggFunc::Max => {
                if !field_ty.is_ordered() {
                    self.bad_var_agg_arg(name, field_ty, arg.span, "an ordered value (number, string, timestamp or duration)");
                    return Typed::error();
                }
                field_ty.with_null(true)
            }
        };
        Typed {
            expr: plan::Expr::VarAgg {
                var: var.id,
                func: kind,
                slot,
            },
            ty,
        }
    }

    fn bad_var_agg_arg(&mut self, name: &str, ty: Ty, span: Span, what: &str) {
        self.diags.push(
            Diagnostic::error(
                "bad-argument",
                format!("{name} needs {what}, but this is {}", ty.describe()),
                span,
            )
            .with_label(format!("this is {}", ty.describe())),
        );
    }

    fn example_agg(&self, name: &str, field: Option<&str>) -> String {
        let var = self
            .scope
            .vars
            .iter()
            .find(|v| !v.negated && v.multi)
            .or_else(|| self.scope.vars.iter().find(|v| !v.negated))
            .map_or("x", |v| v.name.as_str());
        if name == "count" {
            format!("count({var})")
        } else {
            format!("{name}({var}.{})", field.unwrap_or("amount"))
        }
    }
}

fn literal(lit: &Literal) -> Typed {
    let (value, ty) = match lit {
        Literal::Int(i) => (Value::Int(*i), Ty::INT),
        Literal::Float(f) => (Value::Float(*f), Ty::FLOAT),
        Literal::String(s) => (Value::String(s.clone()), Ty::STRING),
        Literal::Bool(b) => (Value::Bool(*b), Ty::BOOL),
        Literal::Null => (Value::Null, Ty::Null),
        Literal::Duration(d) => (
            Value::Duration(i64::try_from(d.millis()).unwrap_or(i64::MAX)),
            Ty::DURATION,
        ),
    };
    Typed {
        expr: plan::Expr::Literal(value),
        ty,
    }
}

/// A number literal's value (`0.99`, `1`).
fn literal_number(e: &ast::Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Literal(Literal::Float(f)) => Some(*f),
        ExprKind::Literal(Literal::Int(i)) => Some(*i as f64),
        _ => None,
    }
}

/// A hint for the common string-versus-number mistakes.
fn mismatch_help(l: (&Typed, &ast::Expr), r: (&Typed, &ast::Expr)) -> Option<String> {
    for (a, b) in [(l, r), (r, l)] {
        if let ExprKind::Literal(Literal::String(s)) = &a.1.kind {
            if b.0.ty.is_numeric() && s.trim().parse::<f64>().is_ok() {
                return Some(format!("did you mean the number {} (without quotes)?", s.trim()));
            }
        }
        if b.0.ty.base() == Some(BaseType::String) {
            match &a.1.kind {
                ExprKind::Literal(Literal::Int(i)) => {
                    return Some(format!("strings are written in double quotes: \"{i}\""));
                }
                ExprKind::Literal(Literal::Float(f)) => {
                    return Some(format!("strings are written in double quotes: \"{f}\""));
                }
                _ => {}
            }
        }
        if a.0.ty.base() == Some(BaseType::Timestamp) && b.0.ty.is_numeric() {
            return Some("timestamps compare with timestamps; to compare a time span, subtract: `ts - big.ts > 10m`".to_string());
        }
        if a.0.ty.base() == Some(BaseType::Duration) && b.0.ty.is_numeric() {
            return Some("write durations with a unit: `10s`, `5m`, `2h`".to_string());
        }
    }
    Some("numbers compare with numbers, strings with strings, timestamps with timestamps".to_string())
}
