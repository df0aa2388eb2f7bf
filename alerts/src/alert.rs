//! The alert value, in the JSON form the rule language documents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One alert. Serialises to the form of DSL.md's "Output" section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic: the same input gives the same id, also after a restart.
    pub id: String,
    pub rule: String,
    pub rule_version: u64,
    pub severity: String,
    /// The partition key of the rule (`partition by`), field by field.
    pub key: serde_json::Map<String, serde_json::Value>,
    /// The `emit` fields.
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub message: String,
    /// Event time of the alert (the last matched event, the window end, or
    /// the moment a partial match timed out), RFC 3339 UTC.
    pub event_time: String,
    /// When the service produced it, RFC 3339 UTC.
    pub detected_at: String,
    /// Pattern alerts: the matched events per variable, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<serde_json::Map<String, serde_json::Value>>,
    /// Window alerts: the window's bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowBounds>,
    /// Made by `on timeout` from a partial match that timed out.
    #[serde(default, skip_serializing_if = "is_false")]
    pub timeout: bool,
    /// A window fired again by a late event (`allow lateness`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub update: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Sinks named by the rule; empty means the default sinks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBounds {
    pub start: String,
    pub end: String,
}
