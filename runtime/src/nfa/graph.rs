//! The compiled automaton: states, transitions and their conditions.
//!
//! This is data built once per rule by [`super::compile`]; the matcher walks it
//! per event. Its shape is FlinkCEP's (states with TAKE / IGNORE / PROCEED
//! edges), because producing exactly FlinkCEP's matches is the contract.

use cepheus_dsl::plan::VarId;

pub type StateId = u32;

/// Index of a predicate in [`Graph::predicates`].
pub type PredId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    Start,
    Normal,
    /// Reaching it completes a match.
    Final,
    /// A trailing absence (`a -> !c within ..`): the match completes when the
    /// window ends without a `c`.
    Pending,
    /// Reaching it kills the partial match (a negation saw its event).
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Consume the event into the match and move.
    Take,
    /// Skip the event and move (or stay).
    Ignore,
    /// Move without consuming: an epsilon edge.
    Proceed,
}

/// A condition on an edge, built from the rule's predicates.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    True,
    Pred(PredId),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
}

impl Cond {
    pub fn not(c: Cond) -> Cond {
        Cond::Not(Box::new(c))
    }

    pub fn and(a: Cond, b: Cond) -> Cond {
        Cond::And(Box::new(a), Box::new(b))
    }

    /// Evaluates with `pred` deciding each predicate.
    #[inline]
    pub fn eval(&self, pred: &mut impl FnMut(PredId) -> bool) -> bool {
        match self {
            Cond::True => true,
            Cond::Pred(p) => pred(*p),
            Cond::Not(c) => !c.eval(pred),
            Cond::And(a, b) => a.eval(pred) && b.eval(pred),
        }
    }

    /// As [`Cond::eval`], with predicates that may be undecidable (`None`):
    /// `None` when the outcome needs one of them.
    #[inline]
    pub fn try_eval(&self, pred: &mut impl FnMut(PredId) -> Option<bool>) -> Option<bool> {
        match self {
            Cond::True => Some(true),
            Cond::Pred(p) => pred(*p),
            Cond::Not(c) => c.try_eval(pred).map(|b| !b),
            Cond::And(a, b) => match a.try_eval(pred)? {
                true => b.try_eval(pred),
                false => Some(false),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub action: Action,
    pub source: StateId,
    pub target: StateId,
    pub cond: Cond,
}

#[derive(Debug, Clone)]
pub struct State {
    /// The pattern variable the state belongs to; `None` for the final state.
    pub var: Option<VarId>,
    pub kind: StateKind,
    pub transitions: Vec<Transition>,
}

impl State {
    pub fn is_final(&self) -> bool {
        self.kind == StateKind::Final
    }
    pub fn is_start(&self) -> bool {
        self.kind == StateKind::Start
    }
    pub fn is_stop(&self) -> bool {
        self.kind == StateKind::Stop
    }
    pub fn is_pending(&self) -> bool {
        self.kind == StateKind::Pending
    }
}

/// What a predicate id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// The `define` condition of a variable.
    Condition(VarId),
    /// The `until` condition of a loop variable.
    Until(VarId),
}

#[derive(Debug, Clone)]
pub struct Graph {
    pub states: Vec<State>,
    pub start: StateId,
    /// `within` in milliseconds; 0 means none.
    pub window_ms: i64,
    pub predicates: Vec<Predicate>,
}

impl Graph {
    #[inline]
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id as usize]
    }
}
