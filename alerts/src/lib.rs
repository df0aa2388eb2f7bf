//! Alerts: what a rule produces, and how it reaches its sinks without loss.
//!
//! This crate depends on no other crate of ours: the runtime emits
//! [`Alert`] values into an [`AlertOutput`]; [`Delivery`] is the one the
//! service uses (durable outbox, retries, dead letters, suppression, sinks).
#![doc = include_str!("../README.md")]

pub mod alert;
pub mod config;
pub mod dead_letter;
pub mod dedup;
pub mod delivery;
pub mod error;
pub mod id;
pub mod metrics;
pub mod outbox;
pub mod output;
pub mod retry;
pub mod sink;
pub mod ssrf;
pub mod suppress;
pub mod template;
pub mod time;

pub use alert::{Alert, WindowBounds};
pub use config::{DeliveryConfig, Secret, SinkConfig};
pub use dead_letter::{DeadLetter, SinkInfo};
pub use delivery::Delivery;
pub use error::{DeliveryError, ErrorKind};
pub use id::AlertIdBuilder;
pub use output::{AlertOutput, Collect, OutputError};
pub use suppress::{SuppressedAlert, Suppressor};

/// An alert for tests and examples.
#[doc(hidden)]
pub fn test_alert(id: &str, rule: &str, event_time: &str) -> Alert {
    Alert {
        id: id.into(),
        rule: rule.into(),
        rule_version: 1,
        severity: "high".into(),
        key: serde_json::Map::new(),
        fields: serde_json::Map::new(),
        message: format!("{rule} fired"),
        event_time: event_time.into(),
        detected_at: event_time.into(),
        matched: None,
        window: None,
        timeout: false,
        update: false,
        labels: Default::default(),
        notify: Vec::new(),
    }
}
