//! The bridge from a rule's `define`/`until` expressions to the NFA's
//! predicates.

use cepheus_dsl::plan::{Expr, PatternPlan, Stage, StageKind, VarId};

use crate::event::EventRef;
use crate::expr::{CompileError, CompiledExpr, Scope};
use crate::nfa::graph::{Graph, Predicate};
use crate::nfa::{Bindings, Predicates};
use crate::record::Record;

/// One compiled expression per predicate id of the graph.
pub struct RulePredicates {
    exprs: Vec<CompiledExpr>,
    needs_bindings: bool,
}

impl RulePredicates {
    pub fn new(plan: &PatternPlan, graph: &Graph) -> Result<Self, CompileError> {
        let mut exprs = Vec::with_capacity(graph.predicates.len());
        let mut needs_bindings = false;
        for p in &graph.predicates {
            let (var, until) = match *p {
                Predicate::Condition(v) => (v, false),
                Predicate::Until(v) => (v, true),
            };
            let expr = find(&plan.stages, var, until).unwrap_or(&TRUE);
            needs_bindings |= reads_variables(expr);
            exprs.push(CompiledExpr::compile(expr)?);
        }
        Ok(RulePredicates { exprs, needs_bindings })
    }
}

const TRUE: Expr = Expr::Literal(cepheus_dsl::plan::Value::Bool(true));

fn find(stages: &[Stage], want: VarId, until: bool) -> Option<&Expr> {
    for s in stages {
        match &s.kind {
            StageKind::Var { var, condition, until: u } if *var == want => {
                return if until { u.as_ref() } else { condition.as_ref() };
            }
            StageKind::Group { stages } => {
                if let Some(e) = find(stages, want, until) {
                    return Some(e);
                }
            }
            StageKind::Var { .. } => {}
        }
    }
    None
}

/// Whether an expression reads earlier events of the match.
fn reads_variables(e: &Expr) -> bool {
    match e {
        Expr::VarField { .. } | Expr::VarAgg { .. } => true,
        Expr::Literal(_)
        | Expr::Field { .. }
        | Expr::Agg(_)
        | Expr::Key(_)
        | Expr::WindowStart
        | Expr::WindowEnd => false,
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Matches { expr, .. } => reads_variables(expr),
        Expr::Binary { lhs, rhs, .. } => reads_variables(lhs) || reads_variables(rhs),
        Expr::In { expr, list, .. } => reads_variables(expr) || list.iter().any(reads_variables),
        Expr::Between { expr, low, high, .. } => {
            reads_variables(expr) || reads_variables(low) || reads_variables(high)
        }
        Expr::Call { args, .. } => args.iter().any(reads_variables),
    }
}

struct DefineScope<'a, 'b> {
    event: &'a Record,
    bindings: &'a Bindings<'b, EventRef>,
}

impl Scope for DefineScope<'_, '_> {
    fn event(&self) -> Option<&Record> {
        Some(self.event)
    }
    fn var_len(&self, var: VarId) -> usize {
        self.bindings.len(var)
    }
    fn var_event(&self, var: VarId, i: usize) -> Option<&Record> {
        self.bindings.get(var, i).map(|e| &e.record)
    }
}

impl Predicates<EventRef> for RulePredicates {
    #[inline]
    fn eval(&self, pred: u32, event: &EventRef, bindings: &Bindings<'_, EventRef>) -> bool {
        match self.exprs.get(pred as usize) {
            Some(e) => e.eval_bool(&DefineScope {
                event: &event.record,
                bindings,
            }),
            None => false,
        }
    }

    fn needs_bindings(&self) -> bool {
        self.needs_bindings
    }
}
