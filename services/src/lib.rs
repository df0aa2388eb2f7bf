//! The Cepheus service: REST and gRPC APIs over the engine, the rule store,
//! auth, metrics, and the `cepheus` command's server and client parts.

pub mod api;
pub mod auth;
pub mod client;
pub mod config;
pub mod console;
pub mod engine_adapter;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod recent;
pub mod rules;
pub mod runtime;
pub mod serve;
pub mod service;
pub mod store;
