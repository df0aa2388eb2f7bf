//! Buffers the matcher reuses from event to event (and key to key), so that
//! feeding an event allocates nothing in the common case, plus the per-event
//! memo of predicates that do not read earlier events.

use std::cell::RefCell;

use super::dewey::Dewey;
use super::graph::{PredId, StateId};
use super::java_heap::JavaHeap;
use super::matcher::Computation;
use super::shared_buffer::{EventId, NodeId, SharedBuffer};

/// What [`Scratch::inert`] knows about a state for the current event.
pub(super) const UNKNOWN: u8 = 0;
pub(super) const INERT: u8 = 1;
pub(super) const ACTIVE: u8 = 2;

/// Working memory of [`super::Nfa`]: keep one per operator (or thread) and
/// pass it to the `_with` methods. It holds nothing between calls.
#[derive(Default)]
pub struct Scratch {
    pub(super) old: Vec<Computation>,
    pub(super) next: Vec<Computation>,
    pub(super) keep: Vec<Computation>,
    pub(super) potential: JavaHeap<Computation>,
    /// The decision graph: (state, transition index).
    pub(super) edges: Vec<(StateId, u32)>,
    pub(super) stack: Vec<StateId>,
    /// Per state, whether the current event leaves its partial matches as
    /// they are.
    pub(super) inert: Vec<u8>,
    pub(super) memo: Memo,
    pub(super) vars: RefCell<VarEvents>,
}

impl Scratch {
    /// Resets the per-event parts: the predicate memo and the inert states.
    pub(super) fn begin_event(&mut self, preds: usize, states: usize, reads_bindings: impl Fn(PredId) -> bool) {
        let mut free = 0u64;
        for p in 0..preds.min(64) {
            if !reads_bindings(p as PredId) {
                free |= 1 << p;
            }
        }
        self.memo = Memo {
            free,
            known: 0,
            value: 0,
        };
        self.inert.clear();
        self.inert.resize(states, UNKNOWN);
    }
}

/// Values of the predicates that do not read earlier events: the same for
/// every partial match, so each is evaluated at most once per event.
#[derive(Default, Clone, Copy)]
pub(super) struct Memo {
    free: u64,
    known: u64,
    value: u64,
}

impl Memo {
    /// `pred`'s value, from the memo when it is binding-free.
    #[inline]
    pub(super) fn eval(&mut self, pred: PredId, f: impl FnOnce() -> bool) -> bool {
        let bit = 1u64.checked_shl(pred).unwrap_or(0);
        if self.free & bit == 0 {
            return f();
        }
        if self.known & bit == 0 {
            self.known |= bit;
            if f() {
                self.value |= bit;
            }
        }
        self.value & bit != 0
    }

    /// `pred`'s value if it is binding-free (computed once), else `None`.
    #[inline]
    pub(super) fn free(&mut self, pred: PredId, f: impl FnOnce() -> bool) -> Option<bool> {
        let bit = 1u64.checked_shl(pred)?;
        if self.free & bit == 0 {
            return None;
        }
        if self.known & bit == 0 {
            self.known |= bit;
            if f() {
                self.value |= bit;
            }
        }
        Some(self.value & bit != 0)
    }
}

/// The events of one partial match per variable, filled on first use.
#[derive(Default)]
pub struct VarEvents {
    pub(super) loaded: bool,
    vars: Vec<Vec<EventId>>,
}

impl VarEvents {
    pub(super) fn load<E>(&mut self, buffer: &SharedBuffer<E>, prev: Option<NodeId>, version: &Dewey) {
        self.loaded = true;
        self.vars.iter_mut().for_each(Vec::clear);
        let paths = buffer.extract_paths(prev, version);
        if let Some(path) = paths.first() {
            for &(var, ev) in path {
                let i = var as usize;
                if self.vars.len() <= i {
                    self.vars.resize_with(i + 1, Vec::new);
                }
                self.vars[i].push(ev);
            }
        }
    }

    pub(super) fn len(&self, var: u32) -> usize {
        self.vars.get(var as usize).map_or(0, Vec::len)
    }

    pub(super) fn get(&self, var: u32, i: usize) -> Option<EventId> {
        self.vars.get(var as usize)?.get(i).copied()
    }
}
