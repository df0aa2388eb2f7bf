//! The engine's error type.

use serde::Serialize;
use thiserror::Error;

use crate::checkpoint::{CheckpointError, StoreError};
use crate::source::SourceError;

/// Who has to act: the caller (`User`), something outside (`External`: disk,
/// broker), or us (`Internal`: a bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    User,
    External,
    Internal,
}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("unknown stream '{0}': bind it under [[streams]] in the configuration")]
    UnknownStream(String),
    #[error("stream '{0}' reads Kafka; post events to its topic, not to the embedded log")]
    NotEmbedded(String),
    #[error("unknown rule '{0}'")]
    UnknownRule(String),
    #[error("rule '{rule}': {reason}")]
    BadRule { rule: String, reason: String },
    #[error("rules '{first}' and '{second}' declare stream '{stream}' differently; give every rule the same declaration")]
    SchemaConflict { stream: String, first: String, second: String },
    #[error("query: {0}")]
    BadQuery(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("savepoint '{0}' not found in the checkpoint store")]
    NoSavepoint(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("checkpoint of task '{task}': {source}")]
    Checkpoint {
        task: String,
        #[source]
        source: CheckpointError,
    },
    #[error("task '{task}': {source}")]
    Task {
        task: String,
        #[source]
        source: crate::task::TaskError,
    },
    #[error("checkpoint store: {0}")]
    Store(#[from] StoreError),
    #[error("state folder {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("the engine is shut down")]
    ShutDown,
    #[error("internal: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::UnknownStream(_)
            | EngineError::NotEmbedded(_)
            | EngineError::UnknownRule(_)
            | EngineError::BadRule { .. }
            | EngineError::SchemaConflict { .. }
            | EngineError::BadQuery(_)
            | EngineError::Config(_)
            | EngineError::NoSavepoint(_) => ErrorKind::User,
            EngineError::Source(SourceError::Config { .. }) => ErrorKind::User,
            EngineError::Source(_)
            | EngineError::Checkpoint { .. }
            | EngineError::Task { .. }
            | EngineError::Store(_)
            | EngineError::Io { .. }
            | EngineError::ShutDown => ErrorKind::External,
            EngineError::Metrics(_) | EngineError::Internal(_) => ErrorKind::Internal,
        }
    }
}
