//! The pattern operator: FlinkCEP's NFA semantics, in Rust.
//!
//! - [`compile`] turns a rule's [`cepheus_dsl::plan::PatternPlan`] into a
//!   [`graph::Graph`] of states and edges;
//! - [`matcher`] runs it per key over events in timestamp order, sharing
//!   event storage between partial matches ([`shared_buffer`]).
//!
//! `FLINKCEP_SEMANTICS.md` beside the crate explains the semantics.

pub mod compile;
pub mod dewey;
pub mod graph;
pub(crate) mod hash;
pub mod java_heap;
pub mod matcher;
pub mod scratch;
pub mod shared_buffer;

pub use compile::{compile, CompileError};
pub use matcher::{Bindings, Match, Nfa, NfaState, Predicates, Timeout};
pub use scratch::Scratch;

#[cfg(test)]
mod tests;
