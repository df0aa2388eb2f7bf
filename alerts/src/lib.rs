//! Alerts: what a rule produces, and (later) how it reaches its sinks.
//!
//! This crate depends on no other crate of ours: the runtime emits
//! [`Alert`] values into it.

pub mod alert;
pub mod id;
pub mod output;

pub use alert::{Alert, WindowBounds};
pub use id::AlertIdBuilder;
pub use output::{AlertOutput, Collect, OutputError};
