//! The delivery layer's error type, classified for the API (user, external,
//! internal).

use serde::Serialize;

use crate::sink::SinkError;

/// Who must act on an error: the user (fix the request or config), an
/// external party (a sink, the disk), or us (a bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    User,
    External,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("delivery config: {0}")]
    Config(String),
    #[error("unknown sink `{0}`: name one of the sinks under [delivery.sinks]")]
    UnknownSink(String),
    #[error("no dead letter has alert id `{0}`: list them with dead_letters()")]
    DeadLetterNotFound(String),
    #[error("sink `{sink}` failed: {source}")]
    Sink {
        sink: String,
        #[source]
        source: SinkError,
    },
    #[error("outbox at {path}: {source}; check the disk and the state_dir permissions")]
    Outbox {
        path: String,
        #[source]
        source: rocksdb::Error,
    },
    #[error("outbox is full ({0} pending deliveries): a sink is down or slow; raise outbox.max_pending or fix the sink")]
    OutboxFull(usize),
    #[error("outbox record {0} is corrupt; it was written by an incompatible version")]
    Corrupt(String),
    #[error("delivery must be opened inside a tokio runtime")]
    NoRuntime,
    #[error("registering delivery metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl DeliveryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DeliveryError::Config(_) | DeliveryError::UnknownSink(_) | DeliveryError::DeadLetterNotFound(_) => {
                ErrorKind::User
            }
            DeliveryError::Sink { .. } | DeliveryError::Outbox { .. } | DeliveryError::OutboxFull(_) => {
                ErrorKind::External
            }
            DeliveryError::Corrupt(_) | DeliveryError::NoRuntime | DeliveryError::Metrics(_) => ErrorKind::Internal,
        }
    }
}
