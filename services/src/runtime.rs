//! What the service needs from the engine, as a trait: the real
//! `cepheus_runtime::engine::Engine` implements it (see `engine_adapter`), and
//! unit tests use an in-memory double. Integration tests always run the real
//! engine.

use std::sync::Arc;

use cepheus_alerts::Alert;
use cepheus_dsl::RulePlan;
use tokio::sync::broadcast;

use crate::error::ApiError;

/// One rule of the active set.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub id: String,
    pub version: u64,
    pub source: String,
    pub plan: RulePlan,
}

pub trait Runtime: Send + Sync + 'static {
    /// Replaces the whole active set; unchanged rules keep their state.
    fn set_rules(&self, rules: Vec<RuleSpec>) -> Result<serde_json::Value, ApiError>;
    /// Appends NDJSON events to a stream of the embedded log.
    fn append(&self, stream: &str, ndjson: &[u8]) -> Result<serde_json::Value, ApiError>;
    /// Live alerts.
    fn alerts(&self) -> broadcast::Receiver<Arc<Alert>>;
    fn checkpoint_now(&self) -> Result<serde_json::Value, ApiError>;
    fn savepoint(&self, name: &str) -> Result<serde_json::Value, ApiError>;
    fn list_checkpoints(&self) -> Result<serde_json::Value, ApiError>;
    fn query_state(&self, rule: &str, key: &serde_json::Map<String, serde_json::Value>) -> Result<serde_json::Value, ApiError>;
    fn status(&self) -> serde_json::Value;
    /// Checkpoints, then stops.
    fn shutdown(&self) -> Result<(), ApiError>;
}
