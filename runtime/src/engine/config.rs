//! The engine's configuration (the service's `[engine]` and `[[streams]]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::source::KafkaSourceConfig;
use crate::state::BackendKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Names this instance (checkpoint metadata, Kafka client id).
    pub instance_id: String,
    /// Local state: RocksDB per task, the embedded log, dead letters.
    pub state_dir: PathBuf,
    /// The checkpoint store (a local folder).
    pub checkpoint_dir: PathBuf,
    /// 0: only on request.
    pub checkpoint_interval_ms: u64,
    /// At least 2 (the newest may be damaged).
    pub checkpoints_retained: usize,
    /// Worker threads; 0: the number of cores.
    pub workers: usize,
    #[serde(default)]
    pub state_backend: StateBackendKind,
    /// A partition without events this long stops holding the watermark back.
    pub idle_partition_timeout_ms: u64,
    pub max_partial_matches_per_key: Option<usize>,
    pub max_open_windows_per_key: Option<usize>,
    /// One per stream in the catalog.
    pub streams: Vec<StreamBinding>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            instance_id: "cepheus-0".into(),
            state_dir: PathBuf::from("state"),
            checkpoint_dir: PathBuf::from("checkpoints"),
            checkpoint_interval_ms: 10_000,
            checkpoints_retained: 3,
            workers: 0,
            state_backend: StateBackendKind::RocksDb,
            idle_partition_timeout_ms: 30_000,
            max_partial_matches_per_key: Some(10_000),
            max_open_windows_per_key: Some(10_000),
            streams: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateBackendKind {
    Memory,
    #[default]
    #[serde(alias = "rocks_db")]
    RocksDb,
}

impl From<StateBackendKind> for BackendKind {
    fn from(k: StateBackendKind) -> BackendKind {
        match k {
            StateBackendKind::Memory => BackendKind::Memory,
            StateBackendKind::RocksDb => BackendKind::RocksDb,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamBinding {
    pub name: String,
    pub source: SourceConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    /// The in-process log; events come through [`super::Engine::append`].
    Embedded { partitions: u32 },
    Kafka(KafkaSourceConfig),
}

/// One rule of the active set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveRule {
    pub id: String,
    pub version: u64,
    /// Rule text including its stream declarations.
    pub source: String,
    pub plan: cepheus_dsl::plan::RulePlan,
}
