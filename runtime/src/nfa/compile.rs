//! Pattern plan -> automaton.
//!
//! The construction follows FlinkCEP's `NFACompiler` step by step (walk the
//! pattern from its last stage to its first, building each stage's states in
//! front of the states already built), because the matches a rule produces
//! must be exactly FlinkCEP's, down to the order of edges, which decides the
//! Dewey versions and the order of emitted matches. The code is our own; the
//! comments name the FlinkCEP concept each step mirrors.

use std::collections::HashMap;

use cepheus_dsl::plan::{PatternPlan, Quantifier, Stage, StageContiguity, StageKind, VarId};
use thiserror::Error;

use super::graph::{Action, Cond, Graph, PredId, Predicate, State, StateId, StateKind, Transition};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CompileError {
    #[error("the pattern is empty")]
    Empty,
    #[error("a pattern cannot start with a negation")]
    StartsWithNegation,
    #[error("a trailing absence (`-> !x` at the end) needs `within`")]
    TrailingAbsenceWithoutWithin,
    #[error("a negated group is not supported; negate single variables")]
    NegatedGroup,
    #[error("`greedy` with `until` on an optional loop is not supported")]
    GreedyUntilUnsupported,
}

/// How a stage consumes events relative to the previous one (FlinkCEP's
/// `ConsumingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consuming {
    Strict,
    SkipTillNext,
    SkipTillAny,
    NotNext,
    NotFollow,
}

/// A stage's quantifier, normalised as FlinkCEP stores it.
#[derive(Debug, Clone, Copy)]
struct Quant {
    looping: bool,
    times: bool,
    from: u32,
    to: u32,
    optional: bool,
    greedy: bool,
}

/// A stage in its chain: `chain[idx]`. `idx - 1` is FlinkCEP's `previous`.
#[derive(Clone, Copy)]
struct Node<'a> {
    chain: &'a [Stage],
    idx: usize,
}

impl<'a> Node<'a> {
    fn stage(&self) -> &'a Stage {
        &self.chain[self.idx]
    }

    fn previous(&self) -> Option<Node<'a>> {
        (self.idx > 0).then(|| Node {
            chain: self.chain,
            idx: self.idx - 1,
        })
    }

    fn var(&self) -> Option<VarId> {
        match &self.stage().kind {
            StageKind::Var { var, .. } => Some(*var),
            StageKind::Group { .. } => None,
        }
    }

    fn group(&self) -> Option<&'a [Stage]> {
        match &self.stage().kind {
            StageKind::Group { stages } => Some(stages),
            StageKind::Var { .. } => None,
        }
    }

    /// Identity of a stage, for the per-group bookkeeping.
    fn key(&self) -> *const Stage {
        self.stage() as *const Stage
    }

    fn consuming(&self) -> Consuming {
        match self.stage().contiguity {
            StageContiguity::Begin | StageContiguity::Next => Consuming::Strict,
            StageContiguity::FollowedBy => Consuming::SkipTillNext,
            StageContiguity::FollowedByAny => Consuming::SkipTillAny,
            StageContiguity::NotNext => Consuming::NotNext,
            StageContiguity::NotFollowedBy => Consuming::NotFollow,
        }
    }

    fn inner_consuming(&self) -> Consuming {
        let s = self.stage();
        if s.consecutive {
            Consuming::Strict
        } else if s.allow_combinations {
            Consuming::SkipTillAny
        } else {
            Consuming::SkipTillNext
        }
    }

    fn quant(&self) -> Quant {
        let s = self.stage();
        let mut q = Quant {
            looping: false,
            times: false,
            from: 1,
            to: 1,
            optional: s.optional,
            greedy: s.greedy,
        };
        match s.quantifier {
            None => {}
            Some(Quantifier::Times { from, to }) => {
                q.times = true;
                q.from = from;
                q.to = to;
            }
            Some(Quantifier::TimesOrMore { from }) => {
                q.looping = true;
                q.from = from;
                q.to = from;
            }
            Some(Quantifier::OneOrMore) => q.looping = true,
        }
        // FlinkCEP: `times(0, n)` is `times(1, n).optional()`.
        if q.from == 0 {
            q.optional = true;
            q.from = 1;
            q.to = q.to.max(1);
        }
        q
    }
}

/// Compiles a pattern plan. Predicate ids index [`Graph::predicates`].
pub fn compile(plan: &PatternPlan) -> Result<Graph, CompileError> {
    let stages = plan.stages.as_slice();
    let last = stages.len().checked_sub(1).ok_or(CompileError::Empty)?;
    if stages[0].contiguity.is_negation() {
        return Err(CompileError::StartsWithNegation);
    }
    check_no_negated_group(stages)?;
    let window_ms = plan.within_ms.map_or(0, |w| w as i64);
    let mut c = Compiler {
        states: Vec::new(),
        predicates: Vec::new(),
        pred_ids: HashMap::new(),
        stop_states: HashMap::new(),
        first_of_loop: HashMap::new(),
        original_state: HashMap::new(),
        current: Node {
            chain: stages,
            idx: last,
        },
        following: None,
        current_group: None,
        window_ms,
    };
    let last_node = c.current;
    let end = c.new_state(None, StateKind::Final);
    let sink = c.create_middle_states(end)?;
    let start = c.convert_pattern(sink)?;
    c.states[start as usize].kind = StateKind::Start;
    if last_node.consuming() == Consuming::NotFollow && window_ms <= 0 {
        return Err(CompileError::TrailingAbsenceWithoutWithin);
    }
    Ok(Graph {
        states: c.states,
        start,
        window_ms,
        predicates: c.predicates,
    })
}

fn check_no_negated_group(stages: &[Stage]) -> Result<(), CompileError> {
    for s in stages {
        if let StageKind::Group { stages } = &s.kind {
            if s.contiguity.is_negation() {
                return Err(CompileError::NegatedGroup);
            }
            check_no_negated_group(stages)?;
        }
    }
    Ok(())
}

struct Compiler<'a> {
    states: Vec<State>,
    predicates: Vec<Predicate>,
    pred_ids: HashMap<Predicate, PredId>,
    /// One stop state per negated variable (FlinkCEP's `stopStates`).
    stop_states: HashMap<VarId, StateId>,
    /// Per group: whether the stage being built is its first iteration.
    first_of_loop: HashMap<*const Stage, bool>,
    /// Greedy loops with `until`: state -> its copy without the greedy guard.
    original_state: HashMap<StateId, StateId>,
    current: Node<'a>,
    following: Option<Node<'a>>,
    current_group: Option<Node<'a>>,
    window_ms: i64,
}

impl<'a> Compiler<'a> {
    // -- states and edges ---------------------------------------------------

    fn new_state(&mut self, var: Option<VarId>, kind: StateKind) -> StateId {
        let id = self.states.len() as StateId;
        self.states.push(State {
            var,
            kind,
            transitions: Vec::new(),
        });
        id
    }

    fn state_for_current(&mut self, kind: StateKind) -> StateId {
        let var = self.current.var();
        self.new_state(var, kind)
    }

    fn add(&mut self, source: StateId, action: Action, target: StateId, cond: Cond) {
        self.states[source as usize].transitions.push(Transition {
            action,
            source,
            target,
            cond,
        });
    }

    fn is_final(&self, s: StateId) -> bool {
        self.states[s as usize].is_final()
    }

    fn predicate(&mut self, p: Predicate) -> Cond {
        let next = self.predicates.len() as PredId;
        let id = *self.pred_ids.entry(p).or_insert(next);
        if id == next {
            self.predicates.push(p);
        }
        Cond::Pred(id)
    }

    // -- conditions -----------------------------------------------------------

    /// The stage's `define` condition; `True` for undefined variables and groups.
    fn take_condition(&mut self, n: Node<'a>) -> Cond {
        match &n.stage().kind {
            StageKind::Var {
                var,
                condition: Some(_),
                ..
            } => self.predicate(Predicate::Condition(*var)),
            _ => Cond::True,
        }
    }

    fn until_condition(&mut self, n: Node<'a>) -> Option<Cond> {
        match &n.stage().kind {
            StageKind::Var {
                var,
                until: Some(_),
                ..
            } => Some(self.predicate(Predicate::Until(*var))),
            _ => None,
        }
    }

    fn ignore_for(&mut self, strategy: Consuming, n: Node<'a>) -> Option<Cond> {
        match strategy {
            Consuming::SkipTillNext => Some(Cond::not(self.take_condition(n))),
            Consuming::SkipTillAny => Some(Cond::True),
            Consuming::Strict | Consuming::NotNext | Consuming::NotFollow => None,
        }
    }

    /// Ignore edge between iterations of a loop (FlinkCEP `getInnerIgnoreCondition`).
    fn inner_ignore_condition(&mut self, n: Node<'a>) -> Option<Cond> {
        let strategy = match self.head_group(n) {
            Some(g) => g.inner_consuming(),
            None => n.inner_consuming(),
        };
        self.ignore_for(strategy, n)
    }

    /// Ignore edge before the stage's first event (FlinkCEP `getIgnoreCondition`).
    fn ignore_condition(&mut self, n: Node<'a>) -> Option<Cond> {
        let strategy = match self.head_group(n) {
            Some(g) if self.is_group_first_of_loop() => g.consuming(),
            Some(g) => g.inner_consuming(),
            None => n.consuming(),
        };
        self.ignore_for(strategy, n)
    }

    fn extend_with_until(cond: Option<Cond>, until: &Option<Cond>, is_take: bool) -> Option<Cond> {
        match (cond, until) {
            (Some(c), Some(u)) => Some(Cond::and(Cond::not(u.clone()), c)),
            (None, Some(u)) if is_take => Some(Cond::not(u.clone())),
            (c, _) => c,
        }
    }

    // -- groups ---------------------------------------------------------------

    /// The enclosing group if `n` is the first stage inside it.
    fn head_group(&self, n: Node<'a>) -> Option<Node<'a>> {
        match self.current_group {
            Some(g) if n.previous().is_none() => Some(g),
            _ => None,
        }
    }

    fn set_first_of_loop(&mut self, first: bool) {
        if self.current.group().is_some() {
            self.first_of_loop.insert(self.current.key(), first);
        }
    }

    fn is_group_first_of_loop(&self) -> bool {
        self.current_group
            .and_then(|g| self.first_of_loop.get(&g.key()).copied())
            .unwrap_or(true)
    }

    fn is_head_of_optional_group(&self, n: Node<'a>) -> bool {
        match self.head_group(n) {
            Some(g) => self.is_group_first_of_loop() && g.quant().optional,
            None => false,
        }
    }

    // -- negations --------------------------------------------------------------

    /// Negations reachable backwards through optional stages: each becomes a
    /// PROCEED edge into its stop state (FlinkCEP `getCurrentNotCondition`).
    fn current_not_conditions(&mut self) -> Vec<(Cond, VarId)> {
        let mut out = Vec::new();
        let mut p = self.current;
        while let Some(prev) = p.previous() {
            let c = prev.consuming();
            if !(prev.quant().optional || c == Consuming::NotFollow) {
                break;
            }
            p = prev;
            if c == Consuming::NotFollow {
                if let Some(var) = prev.var() {
                    let cond = self.take_condition(prev);
                    out.push((cond, var));
                }
            }
        }
        out
    }

    fn stop_state(&mut self, cond: Cond, var: VarId) -> StateId {
        if let Some(&s) = self.stop_states.get(&var) {
            return s;
        }
        let s = self.new_state(Some(var), StateKind::Stop);
        self.add(s, Action::Take, s, cond);
        self.stop_states.insert(var, s);
        s
    }

    fn add_stop_states(&mut self, state: StateId) {
        for (cond, var) in self.current_not_conditions() {
            let stop = self.stop_state(cond.clone(), var);
            self.add(state, Action::Proceed, stop, cond);
        }
    }

    fn add_stop_state_to_looping(&mut self, state: StateId) {
        if let Some(f) = self.following {
            if f.consuming() == Consuming::NotFollow {
                if let Some(var) = f.var() {
                    let cond = self.take_condition(f);
                    let stop = self.stop_state(cond.clone(), var);
                    self.add(state, Action::Proceed, stop, cond);
                }
            }
        }
    }

    /// After an optional stage takes an event, negations before it no longer
    /// apply: build a copy of `sink` without their stop edges.
    fn copy_without_transitive_nots(&mut self, sink: StateId) -> StateId {
        let nots = self.current_not_conditions();
        if nots.is_empty() || !self.current.quant().optional {
            return sink;
        }
        let (var, kind) = {
            let s = &self.states[sink as usize];
            (s.var, s.kind)
        };
        let copy = self.new_state(var, kind);
        let transitions = self.states[sink as usize].transitions.clone();
        for t in transitions {
            if t.action == Action::Proceed {
                let target_state = &self.states[t.target as usize];
                if target_state.is_stop() {
                    let negated = target_state.var;
                    if nots.iter().any(|(_, v)| Some(*v) == negated) {
                        continue;
                    }
                    self.add(copy, t.action, t.target, t.cond);
                } else {
                    let target = self.copy_without_transitive_nots(t.target);
                    self.add(copy, t.action, target, t.cond);
                }
            } else {
                let target = if t.target == t.source { copy } else { t.target };
                self.add(copy, t.action, target, t.cond);
            }
        }
        copy
    }

    fn copy_state(&mut self, state: StateId) -> StateId {
        let (var, kind) = {
            let s = &self.states[state as usize];
            (s.var, s.kind)
        };
        let copy = self.new_state(var, kind);
        let transitions = self.states[state as usize].transitions.clone();
        for t in transitions {
            let target = if t.target == t.source { copy } else { t.target };
            self.add(copy, t.action, target, t.cond);
        }
        copy
    }

    /// Greedy loops: the states after the loop only move when the loop cannot
    /// take the event.
    fn update_with_greedy_condition(&mut self, state: StateId, take: &Cond) {
        for t in &mut self.states[state as usize].transitions {
            let old = std::mem::replace(&mut t.cond, Cond::True);
            t.cond = Cond::and(old, Cond::not(take.clone()));
        }
    }

    // -- stages -----------------------------------------------------------------

    fn create_middle_states(&mut self, sink: StateId) -> Result<StateId, CompileError> {
        let mut last_sink = sink;
        while let Some(prev) = self.current.previous() {
            match self.current.consuming() {
                Consuming::NotFollow => {
                    // Only a trailing absence gets states; a middle one
                    // becomes stop edges of its neighbours.
                    if self.window_ms > 0 && self.is_final(last_sink) {
                        let pending = self.state_for_current(StateKind::Pending);
                        let cond = self.take_condition(self.current);
                        let var = self.current.var().ok_or(CompileError::NegatedGroup)?;
                        let stop = self.stop_state(cond.clone(), var);
                        self.add(pending, Action::Proceed, stop, cond.clone());
                        self.add(pending, Action::Ignore, pending, Cond::not(cond));
                        last_sink = pending;
                    }
                }
                Consuming::NotNext => {
                    let not_next = self.state_for_current(StateKind::Normal);
                    let cond = self.take_condition(self.current);
                    let var = self.current.var().ok_or(CompileError::NegatedGroup)?;
                    let stop = self.stop_state(cond.clone(), var);
                    let action = if self.is_final(last_sink) {
                        Action::Ignore
                    } else {
                        Action::Proceed
                    };
                    self.add(not_next, action, last_sink, Cond::not(cond.clone()));
                    self.add(not_next, Action::Proceed, stop, cond);
                    last_sink = not_next;
                }
                _ => last_sink = self.convert_pattern(last_sink)?,
            }
            self.following = Some(self.current);
            self.current = prev;
        }
        Ok(last_sink)
    }

    fn convert_pattern(&mut self, sink: StateId) -> Result<StateId, CompileError> {
        let q = self.current.quant();
        let last = if q.looping {
            self.set_first_of_loop(false);
            let s = self.copy_without_transitive_nots(sink);
            let looping = self.create_looping(s)?;
            self.set_first_of_loop(true);
            self.create_times_state(looping, sink, q.from, q.to)?
        } else if q.times {
            self.create_times_state(sink, sink, q.from, q.to)?
        } else {
            let take = self.take_condition(self.current);
            let ignore = self.ignore_condition(self.current);
            self.create_singleton_state(sink, Some(sink), take, ignore, q.optional)?
        };
        self.add_stop_states(last);
        Ok(last)
    }

    fn create_times_state(
        &mut self,
        sink: StateId,
        proceed: StateId,
        from: u32,
        to: u32,
    ) -> Result<StateId, CompileError> {
        let mut last = sink;
        self.set_first_of_loop(false);
        let cur = self.current;
        let until = self.until_condition(cur);
        let inner = self.inner_ignore_condition(cur);
        let inner_ignore = Self::extend_with_until(inner, &until, false);
        let take_raw = self.take_condition(cur);
        let take = Self::extend_with_until(Some(take_raw), &until, true).unwrap_or(Cond::True);
        if cur.quant().greedy && from != to {
            if until.is_some() {
                let copy = self.copy_state(sink);
                self.original_state.insert(sink, copy);
            }
            self.update_with_greedy_condition(sink, &take);
        }
        for _ in from..to {
            last = self.create_singleton_state(last, Some(proceed), take.clone(), inner_ignore.clone(), true)?;
            self.add_stop_state_to_looping(last);
        }
        for _ in 0..from.saturating_sub(1) {
            last = self.create_singleton_state(last, None, take.clone(), inner_ignore.clone(), false)?;
            self.add_stop_state_to_looping(last);
        }
        self.set_first_of_loop(true);
        let ignore = self.ignore_condition(cur);
        let optional = cur.quant().optional;
        self.create_singleton_state(last, Some(proceed), take, ignore, optional)
    }

    fn create_singleton_state(
        &mut self,
        sink: StateId,
        proceed: Option<StateId>,
        take: Cond,
        ignore: Option<Cond>,
        optional: bool,
    ) -> Result<StateId, CompileError> {
        if let Some(inner) = self.current.group() {
            return self.create_group_state(inner, sink, proceed, optional);
        }
        let cur = self.current;
        let single = self.state_for_current(StateKind::Normal);
        let s = self.copy_without_transitive_nots(sink);
        self.add(single, Action::Take, s, take.clone());
        if optional {
            if let Some(proceed) = proceed {
                if cur.quant().greedy {
                    let until = self.until_condition(cur);
                    if let Some(u) = &until {
                        let original = *self
                            .original_state
                            .get(&proceed)
                            .ok_or(CompileError::GreedyUntilUnsupported)?;
                        self.add(single, Action::Proceed, original, Cond::and(Cond::True, u.clone()));
                    }
                    let cond = match until {
                        Some(u) => Cond::and(Cond::True, Cond::not(u)),
                        None => Cond::True,
                    };
                    self.add(single, Action::Proceed, proceed, cond);
                } else {
                    self.add(single, Action::Proceed, proceed, Cond::True);
                }
            }
        }
        if let Some(ignore) = ignore {
            let ignore_state = if optional || self.is_head_of_optional_group(cur) {
                let st = self.state_for_current(StateKind::Normal);
                self.add(st, Action::Take, s, take);
                self.add(st, Action::Ignore, st, ignore.clone());
                self.add_stop_states(st);
                st
            } else {
                single
            };
            self.add(single, Action::Ignore, ignore_state, ignore);
        }
        Ok(single)
    }

    fn create_group_state(
        &mut self,
        inner: &'a [Stage],
        sink: StateId,
        proceed: Option<StateId>,
        optional: bool,
    ) -> Result<StateId, CompileError> {
        let (saved_current, saved_following, saved_group) = (self.current, self.following, self.current_group);
        self.current_group = Some(self.current);
        self.current = Node {
            chain: inner,
            idx: inner.len() - 1,
        };
        let mut last = self.create_middle_states(sink)?;
        last = self.convert_pattern(last)?;
        if optional {
            if let Some(proceed) = proceed {
                self.add(last, Action::Proceed, proceed, Cond::True);
            }
        }
        self.current = saved_current;
        self.following = saved_following;
        self.current_group = saved_group;
        Ok(last)
    }

    fn create_looping_group_state(&mut self, inner: &'a [Stage], sink: StateId) -> Result<StateId, CompileError> {
        let (saved_current, saved_following, saved_group) = (self.current, self.following, self.current_group);
        let dummy = self.state_for_current(StateKind::Normal);
        self.current_group = Some(self.current);
        self.current = Node {
            chain: inner,
            idx: inner.len() - 1,
        };
        let mut last = self.create_middle_states(dummy)?;
        last = self.convert_pattern(last)?;
        self.add(last, Action::Proceed, sink, Cond::True);
        self.add(dummy, Action::Proceed, last, Cond::True);
        self.current = saved_current;
        self.following = saved_following;
        self.current_group = saved_group;
        Ok(last)
    }

    fn create_looping(&mut self, sink: StateId) -> Result<StateId, CompileError> {
        if let Some(inner) = self.current.group() {
            return self.create_looping_group_state(inner, sink);
        }
        let cur = self.current;
        let until = self.until_condition(cur);
        let inner = self.inner_ignore_condition(cur);
        let ignore = Self::extend_with_until(inner, &until, false);
        let take_raw = self.take_condition(cur);
        let take = Self::extend_with_until(Some(take_raw.clone()), &until, true).unwrap_or(Cond::True);
        let looping = self.state_for_current(StateKind::Normal);
        if cur.quant().greedy {
            if let Some(u) = &until {
                let copy = self.copy_state(sink);
                self.add(looping, Action::Proceed, copy, Cond::and(Cond::True, u.clone()));
                self.original_state.insert(sink, copy);
            }
            let cond = match &until {
                Some(u) => Cond::and(Cond::True, Cond::not(u.clone())),
                None => Cond::True,
            };
            self.add(looping, Action::Proceed, sink, cond);
            self.update_with_greedy_condition(sink, &take_raw);
        } else {
            self.add(looping, Action::Proceed, sink, Cond::True);
        }
        self.add(looping, Action::Take, looping, take.clone());
        self.add_stop_state_to_looping(looping);
        if let Some(ignore) = ignore {
            let ignore_state = self.state_for_current(StateKind::Normal);
            self.add(ignore_state, Action::Take, looping, take);
            self.add(ignore_state, Action::Ignore, ignore_state, ignore.clone());
            self.add(looping, Action::Ignore, ignore_state, ignore);
            self.add_stop_state_to_looping(ignore_state);
        }
        Ok(looping)
    }
}
