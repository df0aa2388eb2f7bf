//! Delivery configuration, as the `[delivery]` section of the service's TOML.
//! Unknown keys are rejected; durations end in `_ms`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::retry::RetryConfig;

/// A secret string (webhook signing key, SMTP password, Slack URL). It is
/// never printed: `Debug` shows `Secret(***)`, and it is not `Serialize`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Sinks by name; rules name them in `notify`.
    #[serde(default)]
    pub sinks: BTreeMap<String, SinkConfig>,
    /// Sinks for alerts whose rule names none.
    #[serde(default)]
    pub default_sinks: Vec<String>,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub retry: RetryConfig,
    /// Hosts that webhook, Slack and Alertmanager URLs may name: exact
    /// (`hooks.example.com`, `127.0.0.1`) or a suffix (`*.example.com`).
    /// Empty: no HTTP sink may be configured.
    #[serde(default)]
    pub webhook_allowlist: Vec<String>,
    /// Networks (CIDR) exempt from the SSRF address checks, e.g.
    /// `127.0.0.1/32` for a receiver on loopback. Empty by default.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// How long a delivered id is remembered per sink, so that a replayed or
    /// re-emitted alert is not sent again.
    #[serde(default = "default_dedup_ttl_ms")]
    pub dedup_ttl_ms: u64,
    /// How long suppressed alerts stay queryable.
    #[serde(default = "default_dedup_ttl_ms")]
    pub suppressed_retention_ms: u64,
}

fn default_dedup_ttl_ms() -> u64 {
    24 * 3600 * 1000
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            sinks: BTreeMap::new(),
            default_sinks: Vec::new(),
            outbox: OutboxConfig::default(),
            retry: RetryConfig::default(),
            webhook_allowlist: Vec::new(),
            allowed_networks: Vec::new(),
            dedup_ttl_ms: default_dedup_ttl_ms(),
            suppressed_retention_ms: default_dedup_ttl_ms(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// fsync every enqueue (survives a machine crash, not only a process crash).
    pub sync_writes: bool,
    /// emit() fails (the partition waits) beyond this many pending deliveries.
    pub max_pending: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig { sync_writes: true, max_pending: 1_000_000 }
    }
}

// Parsed once at start: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkConfig {
    Webhook(WebhookConfig),
    Slack(SlackConfig),
    Alertmanager(AlertmanagerConfig),
    Kafka(KafkaSinkConfig),
    Email(EmailConfig),
    Log(LogConfig),
}

impl SinkConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Webhook(_) => "webhook",
            SinkConfig::Slack(_) => "slack",
            SinkConfig::Alertmanager(_) => "alertmanager",
            SinkConfig::Kafka(_) => "kafka",
            SinkConfig::Email(_) => "email",
            SinkConfig::Log(_) => "log",
        }
    }

    /// Deliveries in flight at once for this sink.
    pub fn concurrency(&self) -> usize {
        let c = match self {
            SinkConfig::Webhook(c) => c.concurrency,
            SinkConfig::Slack(c) => c.concurrency,
            SinkConfig::Alertmanager(c) => c.concurrency,
            SinkConfig::Kafka(c) => c.concurrency,
            SinkConfig::Email(c) => c.concurrency,
            SinkConfig::Log(_) => 1,
        };
        c.max(1)
    }

    /// Alerts per delivery: >1 groups a burst into one message.
    pub fn group_max(&self) -> usize {
        let g = match self {
            SinkConfig::Webhook(_) => 1,
            SinkConfig::Slack(c) => c.group_max,
            SinkConfig::Alertmanager(c) => c.group_max,
            SinkConfig::Kafka(c) => c.group_max,
            SinkConfig::Email(c) => c.group_max,
            SinkConfig::Log(_) => 256,
        };
        g.max(1)
    }
}

fn d_timeout() -> u64 {
    10_000
}
fn d_conc() -> usize {
    8
}
fn d_one() -> usize {
    1
}
fn d_message() -> String {
    "{message}".into()
}

/// JSON POST of the alert, signed per Standard Webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Signing secrets (`whsec_<base64>` or raw); two during a rotation.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "d_conc")]
    pub concurrency: usize,
}

/// Slack-compatible incoming webhook (the URL is a secret).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    pub url: Secret,
    #[serde(default = "d_message")]
    pub template: String,
    /// A link per alert, e.g. `https://cepheus.example.com/alerts/{id}`.
    #[serde(default)]
    pub link_template: Option<String>,
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "d_one")]
    pub concurrency: usize,
    #[serde(default = "d_one")]
    pub group_max: usize,
}

/// Prometheus Alertmanager, v2 API (`POST {url}/api/v2/alerts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    pub url: String,
    #[serde(default = "d_message")]
    pub template: String,
    #[serde(default)]
    pub link_template: Option<String>,
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "d_one")]
    pub concurrency: usize,
    #[serde(default = "d_am_group")]
    pub group_max: usize,
}

fn d_am_group() -> usize {
    64
}

/// A Kafka topic, written in transactions committed at checkpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    pub brokers: String,
    pub topic: String,
    /// Unique per instance and sink: a restart with the same id aborts the
    /// transaction the previous run left open.
    pub transactional_id: String,
    /// Commit at least this often even without a checkpoint request.
    #[serde(default = "d_commit")]
    pub commit_interval_ms: u64,
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    /// Extra librdkafka producer properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default = "d_kafka_conc")]
    pub concurrency: usize,
    #[serde(default = "d_kafka_group")]
    pub group_max: usize,
}

fn d_commit() -> u64 {
    1000
}
fn d_kafka_conc() -> usize {
    64
}
fn d_kafka_group() -> usize {
    500
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EmailTls {
    /// Plain SMTP (a relay on a trusted network or loopback).
    None,
    /// SMTP upgraded with STARTTLS (port 587).
    Starttls,
    /// SMTP over TLS from the start (port 465).
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    #[serde(default = "d_smtp_port")]
    pub port: u16,
    #[serde(default = "d_tls")]
    pub tls: EmailTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    #[serde(default = "d_subject")]
    pub subject_template: String,
    #[serde(default = "d_body")]
    pub body_template: String,
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "d_one")]
    pub concurrency: usize,
    #[serde(default = "d_one")]
    pub group_max: usize,
}

fn d_smtp_port() -> u16 {
    587
}
fn d_tls() -> EmailTls {
    EmailTls::Starttls
}
fn d_subject() -> String {
    "[{severity}] {rule}".into()
}
fn d_body() -> String {
    "{message}\n\nrule: {rule} (version {rule_version})\nkey: {key}\nevent time: {event_time}\nalert id: {id}\n".into()
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogTarget {
    Stdout,
    /// The service's structured log (tracing, target `cepheus::alerts`).
    Log,
    /// NDJSON appended to `path`.
    File,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub target: LogTarget,
    #[serde(default)]
    pub path: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_and_rejects_unknown_keys() {
        let c: DeliveryConfig = toml::from_str(
            r#"
            default_sinks = ["hook"]
            webhook_allowlist = ["hooks.example.com"]
            [sinks.hook]
            kind = "webhook"
            url = "https://hooks.example.com/cepheus"
            secrets = ["whsec_c2VjcmV0"]
            [sinks.out]
            kind = "log"
            target = "stdout"
            "#,
        )
        .unwrap();
        assert_eq!(c.sinks.len(), 2);
        assert_eq!(c.sinks["hook"].kind(), "webhook");
        assert!(!format!("{c:?}").contains("c2VjcmV0"), "secrets never in Debug");
        let bad = toml::from_str::<DeliveryConfig>("[sinks.x]\nkind = \"log\"\ntarget = \"stdout\"\ncolour = 1\n");
        assert!(bad.is_err());
        let bad = toml::from_str::<DeliveryConfig>("retries = 3\n");
        assert!(bad.is_err());
    }
}
