//! Running the automaton over one key's events.
//!
//! [`Nfa::process`] feeds one event, [`Nfa::advance_time`] moves time (prunes
//! `within`, completes trailing absences, reports timeouts). The caller gives
//! events in timestamp order and calls `advance_time(ts)` before the events of
//! each timestamp, as FlinkCEP's operator does; nothing here reads a clock.
//! The steps mirror FlinkCEP's `NFA` (decision graph, Dewey versions, skip
//! strategies, the order of partial matches) so the matches are the same.
//!
//! The `_with` variants take a [`Scratch`] the caller keeps across events, so
//! that the hot path does not allocate; the plain ones make a fresh one.

use std::cell::RefCell;
use std::cmp::Ordering;

use cepheus_dsl::plan::{Skip, VarId};
use serde::{Deserialize, Serialize};

use super::dewey::Dewey;
use super::graph::{Action, Graph, PredId, StateId};
use super::java_heap::JavaHeap;
use super::scratch::{Scratch, VarEvents, ACTIVE, INERT};
use super::shared_buffer::{group_by_var, EventId, NodeId, Path, SharedBuffer};

/// Decides the rule's predicates (`define` and `until` conditions).
pub trait Predicates<E> {
    /// Evaluates predicate `pred` on `event`; `bindings` are the events the
    /// partial match accepted so far.
    fn eval(&self, pred: PredId, event: &E, bindings: &Bindings<'_, E>) -> bool;

    /// Whether any predicate reads earlier events.
    fn needs_bindings(&self) -> bool;

    /// Whether predicate `pred` reads earlier events. One that does not has
    /// the same value for every partial match, so it is evaluated once per
    /// event. Defaults to [`Predicates::needs_bindings`].
    fn reads_bindings(&self, pred: PredId) -> bool {
        let _ = pred;
        self.needs_bindings()
    }
}

/// The events of a partial match, per variable, oldest first. They are
/// extracted from the shared buffer on first use only: most predicates that
/// read earlier events are guarded by one that does not (`type = "b" and
/// v > a[0].v`).
pub struct Bindings<'a, E> {
    buffer: &'a SharedBuffer<E>,
    prev: Option<NodeId>,
    version: &'a Dewey,
    vars: &'a RefCell<VarEvents>,
}

impl<'a, E> Bindings<'a, E> {
    fn loaded(&self) -> std::cell::Ref<'a, VarEvents> {
        if !self.vars.borrow().loaded {
            self.vars.borrow_mut().load(self.buffer, self.prev, self.version);
        }
        self.vars.borrow()
    }

    pub fn len(&self, var: VarId) -> usize {
        self.loaded().len(var)
    }

    pub fn is_empty(&self, var: VarId) -> bool {
        self.len(var) == 0
    }

    pub fn get(&self, var: VarId, i: usize) -> Option<&'a E> {
        let id = self.loaded().get(var, i)?;
        self.buffer.event(id)
    }
}

/// A partial match in progress (FlinkCEP's `ComputationState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Computation {
    state: StateId,
    prev: Option<NodeId>,
    version: Dewey,
    start_ts: i64,
    prev_ts: i64,
    start_event: Option<EventId>,
}

impl Computation {
    fn start(state: StateId, version: Dewey) -> Self {
        Computation {
            state,
            prev: None,
            version,
            start_ts: -1,
            prev_ts: -1,
            start_event: None,
        }
    }
}

/// FlinkCEP orders partial matches by their first event; not-yet-started
/// ones last.
fn by_start(a: &Computation, b: &Computation) -> Ordering {
    let key = |c: &Computation| match c.start_event {
        Some(e) => (e.ts, e.seq),
        None => (i64::MAX, u64::MAX),
    };
    key(a).cmp(&key(b))
}

/// The matching state of one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NfaState<E> {
    partial: JavaHeap<Computation>,
    completed: JavaHeap<Computation>,
    buffer: SharedBuffer<E>,
    next_seq: u64,
    /// FlinkCEP's `NFAState.isNewStartPartialMatch`: set by [`Nfa::process`]
    /// when a partial match leaves the start state with a start timestamp
    /// `> 0`; cleared only by [`NfaState::reset_new_start_partial_match`].
    #[serde(default)]
    new_start_partial_match: bool,
}

impl<E> NfaState<E> {
    /// Partial matches in progress, not counting the one waiting at the start.
    pub fn partial_matches(&self) -> usize {
        self.partial.iter().filter(|c| c.start_event.is_some()).count()
    }

    /// Whether the key holds nothing but the initial state (its state can be dropped).
    pub fn is_idle(&self) -> bool {
        self.completed.is_empty() && self.partial.iter().all(|c| c.start_event.is_none()) && self.buffer.is_empty()
    }

    pub fn buffered_events(&self) -> usize {
        self.buffer.event_count()
    }

    /// Keeps at most `limit` partial matches, dropping the oldest-started
    /// first (their events are freed). Returns how many were dropped. Used
    /// only when a rule exceeds its configured limit, where matching FlinkCEP
    /// is no longer the point: protecting the service is.
    pub fn shed_oldest(&mut self, limit: usize) -> usize {
        let mut dropped = 0;
        while self.partial_matches() > limit {
            let Some(c) = self.partial.pop(&by_start) else { break };
            if c.start_event.is_none() {
                // The waiting start state sorts last: nothing older is left.
                self.partial.push(c, &by_start);
                break;
            }
            self.buffer.release_node(c.prev, &c.version);
            dropped += 1;
        }
        dropped
    }

    /// Whether a new partial match started since the last reset (FlinkCEP's
    /// `NFAState.isNewStartPartialMatch`). FlinkCEP's `CepOperator` reads it
    /// after every processed event and, when set and the pattern has a
    /// window, registers an event-time timer at `event ts + within`; it
    /// resets it only when it stores the NFA state at the end of
    /// `onEventTime` (`updateNFA`), so it stays set for the rest of that call.
    /// As in FlinkCEP, a partial match starting at timestamp `0` (or below)
    /// does not set it (`startTimestamp > 0`).
    pub fn new_start_partial_match(&self) -> bool {
        self.new_start_partial_match
    }

    /// The same state with every buffered event replaced by `f(event)`
    /// (checkpoints: events are stored once and mapped back on restore).
    pub fn try_map_events<E2, Err>(&self, f: impl FnMut(&E) -> Result<E2, Err>) -> Result<NfaState<E2>, Err> {
        Ok(NfaState {
            partial: self.partial.clone(),
            completed: self.completed.clone(),
            buffer: self.buffer.try_map_events(f)?,
            next_seq: self.next_seq,
            new_start_partial_match: self.new_start_partial_match,
        })
    }

    /// The buffered events, in no particular order.
    pub fn events(&self) -> impl Iterator<Item = &E> {
        self.buffer.events().map(|(_, e)| e)
    }

    /// FlinkCEP's `NFAState.resetNewStartPartialMatch`.
    pub fn reset_new_start_partial_match(&mut self) {
        self.new_start_partial_match = false;
    }
}

/// A match: per variable (in order of first event), its events in order.
pub type Match<E> = Vec<(VarId, Vec<E>)>;

/// A partial match cut by `within`, and when its window ended.
#[derive(Debug, Clone)]
pub struct Timeout<E> {
    pub partial: Match<E>,
    pub timestamp: i64,
}

/// A compiled pattern, ready to run for any number of keys.
#[derive(Debug, Clone)]
pub struct Nfa {
    graph: Graph,
    skip: Skip,
    report_timeouts: bool,
}

fn increasing_self_state(ignores: u32, takes: u32) -> u32 {
    if takes == 0 && ignores == 0 {
        0
    } else {
        ignores + takes.max(1)
    }
}

impl Nfa {
    pub fn new(graph: Graph, skip: Skip, report_timeouts: bool) -> Self {
        Nfa {
            graph,
            skip,
            report_timeouts,
        }
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn window_ms(&self) -> i64 {
        self.graph.window_ms
    }

    pub fn initial_state<E>(&self) -> NfaState<E> {
        let mut partial = JavaHeap::new();
        partial.push(Computation::start(self.graph.start, Dewey::new(1)), &by_start);
        NfaState {
            partial,
            completed: JavaHeap::new(),
            buffer: SharedBuffer::default(),
            next_seq: 0,
            new_start_partial_match: false,
        }
    }

    /// Feeds one event at `ts`; completed matches go to `out`.
    pub fn process<E: Clone>(
        &self,
        st: &mut NfaState<E>,
        event: &E,
        ts: i64,
        preds: &impl Predicates<E>,
        out: &mut Vec<Match<E>>,
    ) {
        self.process_with(st, &mut Scratch::default(), event, ts, preds, out);
    }

    /// [`Nfa::process`] with the caller's scratch buffers.
    pub fn process_with<E: Clone>(
        &self,
        st: &mut NfaState<E>,
        sc: &mut Scratch,
        event: &E,
        ts: i64,
        preds: &impl Predicates<E>,
        out: &mut Vec<Match<E>>,
    ) {
        let id = EventId { ts, seq: st.next_seq };
        st.next_seq += 1;
        sc.begin_event(self.graph.predicates.len(), self.graph.states.len(), |p| preds.reads_bindings(p));
        if st.completed.is_empty() && self.all_inert(st, sc, event, preds) {
            // Every partial match would stay exactly as it is: same state,
            // same node, same version (a lock and a release of the same
            // node and version cancel out), and none completes.
            return;
        }
        let mut registered = false;
        let mut old = std::mem::take(&mut sc.old);
        let mut next = std::mem::take(&mut sc.next);
        let mut keep = std::mem::take(&mut sc.keep);
        let mut potential = std::mem::take(&mut sc.potential);
        old.clear();
        potential.clear();
        st.partial.drain_into(&mut old);
        for cs in old.drain(..) {
            next.clear();
            keep.clear();
            self.compute_next_states(st, sc, &cs, event, id, &mut registered, preds, &mut next);
            let from_start = self.graph.state(cs.state).is_start();
            let mut discard = false;
            for n in next.drain(..) {
                // FlinkCEP NFA.doProcess: `isStartState(cs) && new.getStartTimestamp() > 0`,
                // before the final/stop checks.
                if from_start && n.start_ts > 0 {
                    st.new_start_partial_match = true;
                }
                let state = self.graph.state(n.state);
                if state.is_final() {
                    potential.push(n, &by_start);
                } else if state.is_stop() {
                    discard = true;
                    st.buffer.release_node(n.prev, &n.version);
                } else {
                    keep.push(n);
                }
            }
            for n in keep.drain(..) {
                if discard {
                    st.buffer.release_node(n.prev, &n.version);
                } else {
                    st.partial.push(n, &by_start);
                }
            }
        }
        self.emit_matches(st, &mut potential, out);
        if registered {
            st.buffer.release_event(id);
        }
        sc.old = old;
        sc.next = next;
        sc.keep = keep;
        sc.potential = potential;
    }

    /// Whether no partial match of `st` can change on `event`: each one's
    /// decision is a single IGNORE back to its own state (the start state:
    /// nothing but such edges), with predicates that do not read bindings.
    fn all_inert<E>(&self, st: &NfaState<E>, sc: &mut Scratch, event: &E, preds: &impl Predicates<E>) -> bool {
        let Scratch {
            inert, memo, stack, vars, ..
        } = sc;
        let none = Dewey::new(0);
        let view = Bindings {
            buffer: &st.buffer,
            prev: None,
            version: &none,
            vars,
        };
        let mut eval = |p: PredId| memo.free(p, || preds.eval(p, event, &view));
        for cs in st.partial.iter() {
            let slot = cs.state as usize;
            match inert.get(slot).copied() {
                Some(INERT) => continue,
                Some(ACTIVE) | None => return false,
                Some(_) => {}
            }
            let is = self.state_is_inert(cs.state, stack, &mut eval);
            inert[slot] = if is { INERT } else { ACTIVE };
            if !is {
                return false;
            }
        }
        true
    }

    fn state_is_inert(
        &self,
        s: StateId,
        stack: &mut Vec<StateId>,
        eval: &mut impl FnMut(PredId) -> Option<bool>,
    ) -> bool {
        let (mut takes, mut others, mut selfs) = (0u32, 0u32, 0u32);
        stack.clear();
        stack.push(s);
        while let Some(x) = stack.pop() {
            for t in &self.graph.state(x).transitions {
                match t.cond.try_eval(eval) {
                    None => return false,
                    Some(false) => continue,
                    Some(true) => {}
                }
                match t.action {
                    Action::Proceed => stack.push(t.target),
                    Action::Take => takes += 1,
                    Action::Ignore if t.target == s => selfs += 1,
                    Action::Ignore => others += 1,
                }
            }
        }
        if self.graph.state(s).is_start() {
            takes == 0 && others == 0
        } else {
            takes == 0 && others == 0 && selfs == 1
        }
    }

    /// Moves time to `ts`: partial matches whose window has passed are
    /// dropped (reported in `timeouts` when the rule asks), trailing
    /// absences complete into `out`.
    pub fn advance_time<E: Clone>(
        &self,
        st: &mut NfaState<E>,
        ts: i64,
        out: &mut Vec<Match<E>>,
        timeouts: &mut Vec<Timeout<E>>,
    ) {
        self.advance_time_with(st, &mut Scratch::default(), ts, out, timeouts);
    }

    /// [`Nfa::advance_time`] with the caller's scratch buffers.
    pub fn advance_time_with<E: Clone>(
        &self,
        st: &mut NfaState<E>,
        sc: &mut Scratch,
        ts: i64,
        out: &mut Vec<Match<E>>,
        timeouts: &mut Vec<Timeout<E>>,
    ) {
        let window = self.graph.window_ms;
        if st.completed.is_empty() {
            if window <= 0 {
                return;
            }
            // Nothing times out: re-inserting the partial matches in array
            // order would rebuild the very same heap.
            let expired = |c: &Computation| !self.graph.state(c.state).is_start() && ts.saturating_sub(c.start_ts) >= window;
            if !st.partial.iter().any(expired) {
                return;
            }
        }
        let mut old = std::mem::take(&mut sc.old);
        let mut potential = std::mem::take(&mut sc.potential);
        old.clear();
        potential.clear();
        st.partial.drain_into(&mut old);
        for cs in old.drain(..) {
            let state = self.graph.state(cs.state);
            let timed_out = !state.is_start() && window > 0 && ts.saturating_sub(cs.start_ts) >= window;
            if !timed_out {
                st.partial.push(cs, &by_start);
                continue;
            }
            if state.is_pending() {
                potential.push(cs, &by_start);
                continue;
            }
            if self.report_timeouts {
                let paths = st.buffer.extract_paths(cs.prev, &cs.version);
                let partial = paths.first().map(|p| materialize(&st.buffer, p)).unwrap_or_default();
                timeouts.push(Timeout {
                    partial,
                    timestamp: cs.start_ts.saturating_add(window),
                });
            }
            st.buffer.release_node(cs.prev, &cs.version);
        }
        self.emit_matches(st, &mut potential, out);
        sc.old = old;
        sc.potential = potential;
    }

    /// FlinkCEP `processMatchesAccordingToSkipStrategy`: completed matches
    /// leave in start order; under a skip strategy a match waits while an
    /// earlier-started partial match may still complete.
    fn emit_matches<E: Clone>(&self, st: &mut NfaState<E>, potential: &mut JavaHeap<Computation>, out: &mut Vec<Match<E>>) {
        for c in potential.drain() {
            st.completed.push(c, &by_start);
        }
        let skipping = self.skip != Skip::NoSkip;
        while let Some(earliest) = st.completed.peek() {
            if skipping {
                if let Some(p) = st.partial.peek() {
                    if by_start(earliest, p) == Ordering::Greater {
                        break;
                    }
                }
            }
            let Some(m) = st.completed.pop(&by_start) else { break };
            let paths = st.buffer.extract_paths(m.prev, &m.version);
            if let Some(pruning) = self.pruning_id(&paths) {
                let strict = matches!(self.skip, Skip::ToFirst(_) | Skip::ToLast(_));
                let prune = |c: &Computation| match c.start_event {
                    Some(s) if strict => s < pruning,
                    Some(s) => s <= pruning,
                    None => false,
                };
                for c in st.partial.remove_where(prune, &by_start) {
                    st.buffer.release_node(c.prev, &c.version);
                }
                for c in st.completed.remove_where(prune, &by_start) {
                    st.buffer.release_node(c.prev, &c.version);
                }
            }
            if let Some(first) = paths.first() {
                out.push(materialize(&st.buffer, first));
            }
            st.buffer.release_node(m.prev, &m.version);
        }
    }

    fn pruning_id(&self, paths: &[Path]) -> Option<EventId> {
        let mut id: Option<EventId> = None;
        match &self.skip {
            Skip::NoSkip => return None,
            Skip::ToNext => {
                for p in paths {
                    for (_, evs) in group_by_var(p) {
                        if let Some(&first) = evs.first() {
                            id = Some(id.map_or(first, |x| x.min(first)));
                        }
                    }
                }
            }
            Skip::PastLastEvent => {
                for p in paths {
                    for (_, evs) in group_by_var(p) {
                        if let Some(&last) = evs.last() {
                            id = Some(id.map_or(last, |x| x.max(last)));
                        }
                    }
                }
            }
            Skip::ToFirst(var) | Skip::ToLast(var) => {
                let to_first = matches!(self.skip, Skip::ToFirst(_));
                for p in paths {
                    let evs: Vec<EventId> = p.iter().filter(|(v, _)| v == var).map(|(_, e)| *e).collect();
                    let pick = if to_first { evs.first() } else { evs.last() };
                    if let Some(&e) = pick {
                        id = Some(id.map_or(e, |x| x.max(e)));
                    }
                }
            }
        }
        id
    }

    /// FlinkCEP `computeNextStates`: the partial matches `cs` becomes on
    /// `event`, pushed to `result`.
    #[allow(clippy::too_many_arguments)]
    fn compute_next_states<E: Clone>(
        &self,
        st: &mut NfaState<E>,
        sc: &mut Scratch,
        cs: &Computation,
        event: &E,
        id: EventId,
        registered: &mut bool,
        preds: &impl Predicates<E>,
        result: &mut Vec<Computation>,
    ) {
        sc.vars.get_mut().loaded = false;
        let (takes, ignores) = self.decision_graph(&st.buffer, sc, cs, event, preds);
        let mut takes_to_visit = takes.saturating_sub(1);
        let mut ignores_to_visit = ignores;
        let takes_to_skip = takes.saturating_sub(1);
        let is_start = self.graph.state(cs.state).is_start();
        // Whether a result kept `cs`'s own node and version: it inherits
        // `cs`'s locks instead of taking new ones that `cs`'s release would
        // undo (the same counts, as no lock of a live edge is ever zero).
        let mut inherited = false;
        let mut add = |buffer: &mut SharedBuffer<E>, result: &mut Vec<Computation>, c: Computation| {
            if !inherited && c.prev == cs.prev && c.version == cs.version {
                inherited = true;
            } else if let Some(prev) = c.prev {
                buffer.lock_node(prev, &c.version);
            }
            result.push(c);
        };
        for i in 0..sc.edges.len() {
            let (source, index) = sc.edges[i];
            let edge = &self.graph.state(source).transitions[index as usize];
            match edge.action {
                Action::Ignore => {
                    if is_start {
                        continue;
                    }
                    let version = if edge.target == cs.state {
                        cs.version.increase(increasing_self_state(ignores, takes))
                    } else {
                        let v = cs.version.increase(takes_to_skip + ignores_to_visit).add_stage();
                        ignores_to_visit = ignores_to_visit.saturating_sub(1);
                        v
                    };
                    add(
                        &mut st.buffer,
                        result,
                        Computation {
                            state: edge.target,
                            prev: cs.prev,
                            version,
                            start_ts: cs.start_ts,
                            prev_ts: cs.prev_ts,
                            start_event: cs.start_event,
                        },
                    );
                }
                Action::Take => {
                    let current_version = cs.version.increase(takes_to_visit);
                    let next_version = current_version.add_stage();
                    takes_to_visit = takes_to_visit.saturating_sub(1);
                    if !*registered {
                        st.buffer.register_event(id, event.clone());
                        *registered = true;
                    }
                    let var = self.graph.state(edge.source).var.unwrap_or(0);
                    let entry = st.buffer.put(var, id, cs.prev, &current_version);
                    let (start_ts, start_event) = if is_start {
                        (id.ts, Some(id))
                    } else {
                        (cs.start_ts, cs.start_event)
                    };
                    let next = Computation {
                        state: edge.target,
                        prev: Some(entry),
                        version: next_version,
                        start_ts,
                        prev_ts: id.ts,
                        start_event,
                    };
                    let fin = self.final_after_proceed(&st.buffer, sc, cs, edge.target, event, preds);
                    match fin {
                        Some(f) => {
                            add(&mut st.buffer, result, next.clone());
                            add(&mut st.buffer, result, Computation { state: f, ..next });
                        }
                        None => add(&mut st.buffer, result, next),
                    }
                }
                Action::Proceed => {}
            }
        }
        if is_start {
            let version = cs.version.increase(increasing_self_state(ignores, takes));
            // FlinkCEP adds the start state back without locking anything.
            result.push(Computation::start(cs.state, version));
        }
        if !inherited {
            st.buffer.release_node(cs.prev, &cs.version);
        }
    }

    /// The TAKE and IGNORE edges whose conditions hold, reached from the
    /// state through PROCEED edges (depth first, as FlinkCEP's stack), into
    /// `sc.edges`; returns the numbers of TAKE and of non-self IGNORE edges.
    fn decision_graph<E>(
        &self,
        buffer: &SharedBuffer<E>,
        sc: &mut Scratch,
        cs: &Computation,
        event: &E,
        preds: &impl Predicates<E>,
    ) -> (u32, u32) {
        let Scratch {
            edges, stack, memo, vars, ..
        } = sc;
        let view = Bindings {
            buffer,
            prev: cs.prev,
            version: &cs.version,
            vars,
        };
        let mut eval = |p: PredId| memo.eval(p, || preds.eval(p, event, &view));
        let (mut takes, mut ignores) = (0, 0);
        edges.clear();
        stack.clear();
        stack.push(cs.state);
        while let Some(s) = stack.pop() {
            for (i, t) in self.graph.state(s).transitions.iter().enumerate() {
                if !t.cond.eval(&mut eval) {
                    continue;
                }
                match t.action {
                    Action::Proceed => stack.push(t.target),
                    Action::Take => {
                        takes += 1;
                        edges.push((s, i as u32));
                    }
                    Action::Ignore => {
                        if t.target != cs.state {
                            ignores += 1;
                        }
                        edges.push((s, i as u32));
                    }
                }
            }
        }
        (takes, ignores)
    }

    /// After a TAKE into `state`, whether PROCEED edges reach the final state
    /// on this same event (conditions see `cs`'s bindings).
    fn final_after_proceed<E>(
        &self,
        buffer: &SharedBuffer<E>,
        sc: &mut Scratch,
        cs: &Computation,
        state: StateId,
        event: &E,
        preds: &impl Predicates<E>,
    ) -> Option<StateId> {
        let Scratch { stack, memo, vars, .. } = sc;
        let view = Bindings {
            buffer,
            prev: cs.prev,
            version: &cs.version,
            vars,
        };
        let mut eval = |p: PredId| memo.eval(p, || preds.eval(p, event, &view));
        stack.clear();
        stack.push(state);
        while let Some(s) = stack.pop() {
            for t in &self.graph.state(s).transitions {
                if t.action == Action::Proceed && t.cond.eval(&mut eval) {
                    if self.graph.state(t.target).is_final() {
                        return Some(t.target);
                    }
                    stack.push(t.target);
                }
            }
        }
        None
    }
}

fn materialize<E: Clone>(buffer: &SharedBuffer<E>, path: &Path) -> Match<E> {
    group_by_var(path)
        .into_iter()
        .map(|(var, ids)| (var, ids.into_iter().filter_map(|id| buffer.event(id).cloned()).collect()))
        .collect()
}
