//! The one error type of the Kafka layer, classified so callers can answer
//! "whose fault is it": the user's configuration, the broker, or ours.

use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};
use thiserror::Error;

/// Whose problem an error is (the service maps it to HTTP statuses / exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// Bad configuration or input: the user must change something.
    User,
    /// The broker or network failed: retrying later may help.
    External,
    /// A bug in Cepheus.
    Internal,
}

#[derive(Debug, Error)]
pub enum KafkaError {
    #[error("kafka: client setting rejected for {what}: {source}; check the [kafka] client overrides")]
    ClientConfig { what: String, #[source] source: Box<RdKafkaError> },
    #[error("kafka: {what} on brokers {brokers}: {source}; is the broker running (deploy/local/kafka.sh status)?")]
    Broker { what: String, brokers: String, #[source] source: Box<RdKafkaError> },
    #[error("kafka: topic '{topic}' exists but {problem}; {fix}")]
    TopicMismatch { topic: String, problem: String, fix: String },
    #[error("kafka: topic '{0}' does not exist; create it or check the stream's `topic` setting")]
    NoSuchTopic(String),
    #[error("kafka: invalid setting {setting}: {problem}")]
    InvalidSetting { setting: &'static str, problem: String },
    #[error("kafka: timed out after {ms} ms {what}")]
    Timeout { what: String, ms: u64 },
    #[error("kafka: record at {topic}/{partition}@{offset} is not a valid {what}: {problem}")]
    BadRecord { topic: String, partition: i32, offset: i64, what: &'static str, problem: String },
    #[error("kafka: internal error: {0}")]
    Internal(String),
}

impl KafkaError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            KafkaError::ClientConfig { .. }
            | KafkaError::TopicMismatch { .. }
            | KafkaError::NoSuchTopic(_)
            | KafkaError::InvalidSetting { .. } => ErrorKind::User,
            KafkaError::Broker { source, .. } if is_user_code(source) => ErrorKind::User,
            KafkaError::Broker { .. } | KafkaError::Timeout { .. } | KafkaError::BadRecord { .. } => {
                ErrorKind::External
            }
            KafkaError::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn broker(what: impl Into<String>, brokers: &str, source: RdKafkaError) -> Self {
        KafkaError::Broker { what: what.into(), brokers: brokers.to_string(), source: Box::new(source) }
    }
}

/// Broker answers that no retry fixes (bad names, missing rights, bad configs).
fn is_user_code(e: &RdKafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidConfig
                | RDKafkaErrorCode::InvalidPartitions
                | RDKafkaErrorCode::InvalidReplicationFactor
                | RDKafkaErrorCode::PolicyViolation
        )
    )
}
