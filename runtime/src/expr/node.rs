//! The compiled form of an expression and its compilation from a plan.

use cepheus_dsl::ast::{BinaryOp, UnaryOp};
use cepheus_dsl::plan::{self, Func, JsonStep, Slot, VarAggFunc, VarId};
use regex::Regex;
use std::collections::HashSet;

use super::{CompileError, NoScope};
use crate::value::Value;

/// One node of a compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Lit(Value),
    /// A field of the current event.
    Field(Slot),
    /// A field of the current event, then steps into its JSON.
    FieldPath(Slot, Box<[JsonStep]>),
    VarField {
        var: VarId,
        /// Negative: from the end.
        index: i64,
        slot: Slot,
        steps: Box<[JsonStep]>,
    },
    VarAgg {
        var: VarId,
        func: VarAggFunc,
        slot: Option<Slot>,
    },
    Agg(u32),
    Key(u32),
    WindowStart,
    WindowEnd,
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `= != < <= > >=`
    Cmp(BinaryOp, Box<Node>, Box<Node>),
    /// `field op literal` (or `literal op field`, flipped): the most common
    /// condition, evaluated in one step.
    CmpFieldLit {
        op: BinaryOp,
        slot: Slot,
        lit: Value,
    },
    /// `+ - * / %`
    Arith(BinaryOp, Box<Node>, Box<Node>),
    In {
        expr: Box<Node>,
        list: Box<[Node]>,
        negated: bool,
    },
    /// `x in [...]` over a long list of string literals: a hash lookup for
    /// string values (other values fall back to comparing with `list`).
    InStrings {
        expr: Box<Node>,
        set: HashSet<Box<str>>,
        list: Box<[Node]>,
        negated: bool,
    },
    Between {
        expr: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
        negated: bool,
    },
    IsNull {
        expr: Box<Node>,
        negated: bool,
    },
    Matches {
        expr: Box<Node>,
        regex: Regex,
    },
    Call(Func, Box<[Node]>),
}

impl Node {
    pub(crate) fn compile(e: &plan::Expr) -> Result<Node, CompileError> {
        let b = |e: &plan::Expr| Node::compile(e).map(Box::new);
        let node = match e {
            plan::Expr::Literal(v) => Node::Lit(Value::from(v)),
            plan::Expr::Field { slot, steps } if steps.is_empty() => Node::Field(*slot),
            plan::Expr::Field { slot, steps } => Node::FieldPath(*slot, steps.clone().into()),
            plan::Expr::VarField {
                var,
                pick: plan::Pick::Index(index),
                slot,
                steps,
            } => Node::VarField {
                var: *var,
                index: *index,
                slot: *slot,
                steps: steps.clone().into(),
            },
            plan::Expr::VarAgg { var, func, slot } => Node::VarAgg {
                var: *var,
                func: *func,
                slot: *slot,
            },
            plan::Expr::Agg(i) => Node::Agg(*i),
            plan::Expr::Key(i) => Node::Key(*i),
            plan::Expr::WindowStart => Node::WindowStart,
            plan::Expr::WindowEnd => Node::WindowEnd,
            plan::Expr::Unary { op, expr } => match op {
                UnaryOp::Not => Node::Not(b(expr)?),
                UnaryOp::Neg => Node::Neg(b(expr)?),
            },
            plan::Expr::Binary { op, lhs, rhs } => {
                let (l, r) = (b(lhs)?, b(rhs)?);
                match op {
                    BinaryOp::And => Node::And(l, r),
                    BinaryOp::Or => Node::Or(l, r),
                    op if op.is_comparison() => match (*l, *r) {
                        (Node::Field(slot), Node::Lit(lit)) => {
                            Node::CmpFieldLit { op: *op, slot, lit }
                        }
                        (Node::Lit(lit), Node::Field(slot)) => Node::CmpFieldLit {
                            op: flip(*op),
                            slot,
                            lit,
                        },
                        (l, r) => Node::Cmp(*op, Box::new(l), Box::new(r)),
                    },
                    op => Node::Arith(*op, l, r),
                }
            }
            plan::Expr::In {
                expr,
                list,
                negated,
            } => {
                let expr = b(expr)?;
                let list: Box<[Node]> = list.iter().map(Node::compile).collect::<Result<_, _>>()?;
                let strings: Option<HashSet<Box<str>>> = list
                    .iter()
                    .map(|n| match n {
                        Node::Lit(Value::Str(s)) => Some(Box::from(&**s)),
                        _ => None,
                    })
                    .collect();
                match strings {
                    Some(set) if list.len() >= IN_SET_MIN && !matches!(*expr, Node::Lit(_)) => {
                        Node::InStrings {
                            expr,
                            set,
                            list,
                            negated: *negated,
                        }
                    }
                    _ => Node::In {
                        expr,
                        list,
                        negated: *negated,
                    },
                }
            }
            plan::Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Node::Between {
                expr: b(expr)?,
                low: b(low)?,
                high: b(high)?,
                negated: *negated,
            },
            plan::Expr::IsNull { expr, negated } => Node::IsNull {
                expr: b(expr)?,
                negated: *negated,
            },
            plan::Expr::Matches { expr, regex } => Node::Matches {
                expr: b(expr)?,
                regex: Regex::new(regex).map_err(|e| CompileError::Regex {
                    pattern: regex.clone(),
                    message: e.to_string(),
                })?,
            },
            plan::Expr::Call { func, args } => {
                check_arity(*func, args.len())?;
                Node::Call(
                    *func,
                    args.iter().map(Node::compile).collect::<Result<_, _>>()?,
                )
            }
        };
        Ok(node.fold())
    }

    /// Replaces a node whose inputs are all constants by its value, and
    /// `false and x` / `true or x` by their constant.
    fn fold(self) -> Node {
        match &self {
            Node::And(l, r) if is_lit(l, false) || is_lit(r, false) => {
                return Node::Lit(Value::Bool(false))
            }
            Node::Or(l, r) if is_lit(l, true) || is_lit(r, true) => {
                return Node::Lit(Value::Bool(true))
            }
            _ => {}
        }
        if self.is_constant_op() {
            Node::Lit(self.eval(&NoScope).into_owned())
        } else {
            self
        }
    }

    /// An operation (not a leaf) whose operands are all literals.
    fn is_constant_op(&self) -> bool {
        let lit = |n: &Node| matches!(n, Node::Lit(_));
        match self {
            Node::Lit(_)
            | Node::Field(_)
            | Node::FieldPath(..)
            | Node::VarField { .. }
            | Node::VarAgg { .. }
            | Node::CmpFieldLit { .. }
            | Node::Agg(_)
            | Node::Key(_)
            | Node::WindowStart
            | Node::WindowEnd => false,
            Node::Not(e) | Node::Neg(e) => lit(e),
            Node::IsNull { expr, .. } | Node::Matches { expr, .. } => lit(expr),
            Node::And(l, r) | Node::Or(l, r) | Node::Cmp(_, l, r) | Node::Arith(_, l, r) => {
                lit(l) && lit(r)
            }
            Node::In { expr, list, .. } | Node::InStrings { expr, list, .. } => {
                lit(expr) && list.iter().all(lit)
            }
            Node::Between {
                expr, low, high, ..
            } => lit(expr) && lit(low) && lit(high),
            Node::Call(_, args) => args.iter().all(lit),
        }
    }
}

/// The comparison with its operands swapped: `1 < x` is `x > 1`.
fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

fn is_lit(n: &Node, b: bool) -> bool {
    matches!(n, Node::Lit(Value::Bool(x)) if *x == b)
}

/// From this many string literals on, `in` hashes instead of scanning.
const IN_SET_MIN: usize = 8;

fn check_arity(func: Func, got: usize) -> Result<(), CompileError> {
    let (ok, expected) = match func {
        Func::Abs
        | Func::Lower
        | Func::Upper
        | Func::Len
        | Func::Round
        | Func::Floor
        | Func::Ceil
        | Func::Hour
        | Func::DayOfWeek => (got == 1, "1"),
        Func::Contains | Func::StartsWith | Func::EndsWith => (got == 2, "2"),
        Func::GeoDistanceKm => (got == 4, "4"),
        Func::Coalesce => (got >= 1, "at least 1"),
    };
    if ok {
        Ok(())
    } else {
        Err(CompileError::Arity {
            func: func.name(),
            expected,
            got,
        })
    }
}
