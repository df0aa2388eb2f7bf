//! The Cepheus correctness harness.
//!
//! - [`engine`] runs a rule through Cepheus' real pipeline (DSL compiler,
//!   plan, runtime pattern engine) over a batch of events;
//! - [`peer`] runs the same cases through FlinkCEP itself (the Java peer in
//!   `peers/flinkcep/`), all in one JVM;
//! - [`plan_to_peer`] translates a checked pattern plan into the peer's
//!   `PatternSpec` JSON;
//! - [`gen`] makes random (rule, events) cases that cover the pattern
//!   language; [`shrink`] reduces a failing case to a small one;
//! - [`diff`] runs a batch of cases through both and compares them;
//! - [`scenario`] loads the FlinkCEP scenarios in `scenarios/flinkcep/`.
//!
//! See `README.md` for how the tests use them.

pub mod case;
pub mod diff;
pub mod engine;
pub mod gen;
pub mod measure;
pub mod peer;
pub mod plan_to_peer;
pub mod scenario;
pub mod shrink;
pub mod window_gen;

pub use case::{Case, MatchRec, Outcome};
