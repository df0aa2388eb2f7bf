//! Event storage shared by all partial matches of one key.
//!
//! Each accepted event is stored once; partial matches are paths of nodes
//! `(event, variable)` linked backwards by edges tagged with Dewey versions,
//! and reference counts free what no partial match can reach any more. This
//! is FlinkCEP's shared buffer, kept in memory, so loops never copy events.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use cepheus_dsl::plan::VarId;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::dewey::Dewey;
use super::hash::BuildWordHasher;

type Map<K, V> = HashMap<K, V, BuildWordHasher>;

/// An event's identity: its timestamp, then its arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventId {
    pub ts: i64,
    pub seq: u64,
}

/// A node: one event accepted into one variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeId {
    pub event: EventId,
    pub var: VarId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Edge {
    /// The previous node of the path; `None` ends it.
    target: Option<NodeId>,
    version: Dewey,
    refs: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Node {
    edges: Vec<Edge>,
    refs: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored<E> {
    event: E,
    refs: u32,
}

/// Decrements a reference count; true when it reached (or was at) zero.
fn release(refs: &mut u32) -> bool {
    if *refs == 0 {
        return true;
    }
    *refs -= 1;
    *refs == 0
}

/// One path through the buffer: `(variable, event)` pairs, oldest first.
pub type Path = Vec<(VarId, EventId)>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharedBuffer<E> {
    events: Map<EventId, Stored<E>>,
    nodes: Map<NodeId, Node>,
}

impl<E> Default for SharedBuffer<E> {
    fn default() -> Self {
        SharedBuffer {
            events: Map::default(),
            nodes: Map::default(),
        }
    }
}

impl<E> SharedBuffer<E> {
    pub fn event(&self, id: EventId) -> Option<&E> {
        self.events.get(&id).map(|s| &s.event)
    }

    /// Events held (for limits and metrics).
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.nodes.is_empty()
    }

    /// The same buffer with every event replaced by `f(event)` (checkpoints
    /// store events once, by index, and map them back on restore).
    pub fn try_map_events<E2, Err>(&self, mut f: impl FnMut(&E) -> Result<E2, Err>) -> Result<SharedBuffer<E2>, Err> {
        let mut events = Map::with_capacity_and_hasher(self.events.len(), BuildWordHasher::default());
        for (id, s) in &self.events {
            events.insert(
                *id,
                Stored {
                    event: f(&s.event)?,
                    refs: s.refs,
                },
            );
        }
        Ok(SharedBuffer {
            events,
            nodes: self.nodes.clone(),
        })
    }

    /// The stored events, in no particular order.
    pub fn events(&self) -> impl Iterator<Item = (EventId, &E)> {
        self.events.iter().map(|(id, s)| (*id, &s.event))
    }

    /// Stores the event being processed, held once until [`Self::release_event`].
    pub fn register_event(&mut self, id: EventId, event: E) {
        self.events.insert(id, Stored { event, refs: 1 });
    }

    pub fn release_event(&mut self, id: EventId) {
        if let Some(s) = self.events.get_mut(&id) {
            if release(&mut s.refs) {
                self.events.remove(&id);
            }
        }
    }

    /// Adds `event` as `var` after `prev` on the branch `version`.
    pub fn put(&mut self, var: VarId, event: EventId, prev: Option<NodeId>, version: &Dewey) -> NodeId {
        if let Some(prev) = prev {
            self.lock_node(prev, version);
        }
        let id = NodeId { event, var };
        let node = match self.nodes.entry(id) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                if let Some(s) = self.events.get_mut(&event) {
                    s.refs += 1;
                }
                v.insert(Node::default())
            }
        };
        node.edges.push(Edge {
            target: prev,
            version: version.clone(),
            refs: 0,
        });
        id
    }

    /// A partial match on `version` now refers to `node`.
    pub fn lock_node(&mut self, node: NodeId, version: &Dewey) {
        if let Some(n) = self.nodes.get_mut(&node) {
            n.refs += 1;
            for e in &mut n.edges {
                if version.is_compatible_with(&e.version) {
                    e.refs += 1;
                }
            }
        }
    }

    /// A partial match on `version` no longer refers to `node`: free what
    /// nothing refers to any more, walking back along the path.
    pub fn release_node(&mut self, node: Option<NodeId>, version: &Dewey) {
        let Some(node) = node else { return };
        // Most releases free nothing: the walk's stack stays inline.
        let mut stack: SmallVec<[(NodeId, Dewey); 2]> = SmallVec::new();
        stack.push((node, version.clone()));
        while let Some((cur, cur_version)) = stack.pop() {
            // FlinkCEP stops the whole walk at the first node already gone.
            let Some(n) = self.nodes.get_mut(&cur) else { break };
            let mut i = 0;
            while i < n.edges.len() {
                let e = &mut n.edges[i];
                if cur_version.is_compatible_with(&e.version) && release(&mut e.refs) {
                    let e = n.edges.remove(i);
                    if let Some(t) = e.target {
                        stack.push((t, e.version));
                    }
                    continue;
                }
                i += 1;
            }
            if release(&mut n.refs) {
                self.nodes.remove(&cur);
                self.release_event(cur.event);
            }
        }
    }

    /// Every path that ends at `node` on branch `version`, in FlinkCEP's order.
    pub fn extract_paths(&self, node: Option<NodeId>, version: &Dewey) -> Vec<Path> {
        let mut result = Vec::new();
        let Some(node) = node else { return result };
        if !self.nodes.contains_key(&node) {
            return result;
        }
        // (node or end of path, version, nodes so far newest first)
        let mut stack: Vec<(Option<NodeId>, Dewey, Vec<NodeId>)> = vec![(Some(node), version.clone(), Vec::new())];
        while let Some((entry, v, mut path)) = stack.pop() {
            match entry {
                None => {
                    result.push(path.iter().rev().map(|n| (n.var, n.event)).collect());
                }
                Some(id) => {
                    path.push(id);
                    let Some(n) = self.nodes.get(&id) else { continue };
                    for e in &n.edges {
                        if v.is_compatible_with(&e.version) {
                            if let Some(t) = e.target {
                                if !self.nodes.contains_key(&t) {
                                    continue;
                                }
                            }
                            stack.push((e.target, e.version.clone(), path.clone()));
                        }
                    }
                }
            }
        }
        result
    }
}

/// Groups a path by variable, in order of each variable's first event.
pub fn group_by_var(path: &Path) -> Vec<(VarId, Vec<EventId>)> {
    let mut out: Vec<(VarId, Vec<EventId>)> = Vec::new();
    for &(var, ev) in path {
        match out.iter_mut().find(|(v, _)| *v == var) {
            Some((_, evs)) => evs.push(ev),
            None => out.push((var, vec![ev])),
        }
    }
    out
}
