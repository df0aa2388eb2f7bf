//! Dead letters: alerts a sink refused for good, or that ran out of
//! attempts. Kept in the outbox's store until replayed.

use serde::{Deserialize, Serialize};

use crate::Alert;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub alert: Alert,
    pub sink: String,
    pub attempts: u32,
    pub last_error: String,
    /// RFC 3339 UTC.
    pub failed_at: String,
}

/// A configured sink as the API may show it: never its URL or secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkInfo {
    pub name: String,
    pub kind: String,
}
