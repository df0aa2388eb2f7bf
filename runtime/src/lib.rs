#![doc = include_str!("../README.md")]

pub mod expr;
pub mod record;
pub mod time;
pub mod value;
pub mod nfa;
pub mod batch;
pub mod event;
pub mod output;
pub mod pattern;
pub mod state;
pub mod checkpoint;
pub mod window;
pub mod engine;
pub mod metrics;
pub mod source;
pub mod task;
