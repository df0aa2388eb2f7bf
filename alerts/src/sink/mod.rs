//! Sinks: where alerts go. Each is configured by an admin (rules only name
//! them). A sink delivers a group of alerts (one unless it asks for grouping)
//! and says whether a failure is worth retrying.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{DeliveryConfig, SinkConfig};
use crate::ssrf::SsrfPolicy;
use crate::Alert;

pub mod alertmanager;
pub mod email;
pub mod kafka;
pub mod log;
pub mod slack;
pub mod webhook;

/// A failed delivery. `permanent` failures (a 4xx, an address the SSRF
/// policy refuses) go straight to the dead-letter store.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub message: String,
    pub permanent: bool,
}

impl SinkError {
    pub fn retry(message: impl Into<String>) -> Self {
        SinkError { message: message.into(), permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        SinkError { message: message.into(), permanent: true }
    }
}

#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// Delivers the alerts; `Ok` means the receiver has taken all of them.
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError>;

    /// Makes everything delivered so far visible (Kafka: commit the open
    /// transaction). Called before a checkpoint is recorded.
    async fn flush_for_checkpoint(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Stops background work; further deliveries fail.
    async fn close(&self) {}
}

/// Builds the sink a config entry describes.
pub fn build(name: &str, cfg: &SinkConfig, all: &DeliveryConfig, policy: &Arc<SsrfPolicy>) -> Result<Arc<dyn Sink>, String> {
    let _ = all;
    let sink: Arc<dyn Sink> = match cfg {
        SinkConfig::Webhook(c) => Arc::new(webhook::WebhookSink::new(c, policy.clone())?),
        SinkConfig::Slack(c) => Arc::new(slack::SlackSink::new(c, policy.clone())?),
        SinkConfig::Alertmanager(c) => Arc::new(alertmanager::AlertmanagerSink::new(c, policy.clone())?),
        SinkConfig::Kafka(c) => Arc::new(kafka::KafkaSink::new(name, c)?),
        SinkConfig::Email(c) => Arc::new(email::EmailSink::new(c)?),
        SinkConfig::Log(c) => Arc::new(log::LogSink::new(c)?),
    };
    Ok(sink)
}

/// Maps an HTTP outcome to a delivery result: 2xx is success; 408, 429 and
/// 5xx are retried; other statuses are permanent.
pub(crate) fn http_result(res: Result<reqwest::Response, reqwest::Error>) -> Result<(), SinkError> {
    match res {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let s = r.status();
            let msg = format!("receiver answered {s}");
            if s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429 {
                Err(SinkError::retry(msg))
            } else {
                Err(SinkError::permanent(msg))
            }
        }
        Err(e) if crate::ssrf::is_blocked(&e) => Err(SinkError::permanent(error_chain(&e))),
        Err(e) => Err(SinkError::retry(error_chain(&e))),
    }
}

/// An error and its causes on one line (reqwest hides the cause otherwise).
/// URLs are left out: a Slack URL is a secret.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = match e.downcast_ref::<reqwest::Error>() {
        Some(r) => {
            let kind = if r.is_timeout() {
                "timed out"
            } else if r.is_connect() {
                "connect failed"
            } else {
                "request failed"
            };
            kind.to_string()
        }
        None => e.to_string(),
    };
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
