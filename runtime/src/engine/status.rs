//! What the engine reports: swap, append and checkpoint results, status.

use serde::Serialize;

use crate::source::embedded::PartitionRange;
use crate::task::TaskStatus;

/// What [`super::Engine::set_rules`] did, by rule id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleSwapReport {
    pub added: Vec<String>,
    /// Same id and version: state kept.
    pub unchanged: Vec<String>,
    /// A new version that kept its state (outputs, thresholds changed in place).
    pub updated_in_place: Vec<String>,
    /// A new version that starts with empty state.
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
}

/// One line refused by an append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendError {
    /// 1-based line number in the request body.
    pub line: u64,
    pub reason: String,
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppendReport {
    pub accepted: u64,
    pub malformed: u64,
    /// The first refused lines (at most 20).
    pub errors: Vec<AppendError>,
    /// Where the accepted events went.
    pub offsets: Vec<PartitionRange>,
}

/// One checkpoint id over the tasks that took it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointSummary {
    pub id: u64,
    pub tasks: usize,
    pub bytes: u64,
    /// Keys written (0 when listed from the store).
    pub keys: u64,
    /// The slowest task's duration (0 when listed from the store).
    pub duration_ms: f64,
    /// RFC 3339; empty when unknown.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavepointSummary {
    pub name: String,
    pub checkpoint_id: u64,
    pub tasks: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamStatus {
    pub name: String,
    /// `embedded` or `kafka`.
    pub source: String,
    pub partitions: Vec<TaskStatus>,
    /// Owned partitions waiting for the first rule set to start.
    pub waiting_partitions: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleStatus {
    pub id: String,
    pub version: u64,
    pub stream: String,
    pub kind: String,
    pub partial_matches: u64,
    pub open_windows: u64,
    pub throttled: bool,
    /// Whether checkpoints hold this rule's state (window rules: not yet).
    pub checkpointed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    pub instance_id: String,
    pub workers: usize,
    pub rules_loaded: bool,
    pub streams: Vec<StreamStatus>,
    pub rules: Vec<RuleStatus>,
    pub last_checkpoint: Option<CheckpointSummary>,
    pub shut_down: bool,
}
