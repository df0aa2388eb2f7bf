//! Kafka settings (serde, unknown keys rejected) and the librdkafka client
//! configurations built from them.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};

use super::{names, KafkaError};

fn default_prefix() -> String {
    "cepheus".to_string()
}

/// Where a partition starts when it has no checkpoint yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartPosition {
    /// The oldest retained record (a new stream is read whole).
    #[default]
    Earliest,
    /// Only records written from now on.
    Latest,
}

/// A cluster and the names Cepheus derives in it (rules, dead-letter and
/// repartition topics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConnection {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// Prefix of the topics and groups Cepheus owns.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Extra librdkafka settings (security, timeouts); keys Cepheus manages
    /// itself (offsets, group, assignment strategy) are refused.
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

impl KafkaConnection {
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConnection { brokers: brokers.into(), prefix: default_prefix(), client: BTreeMap::new() }
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Base client settings: brokers plus the user's overrides.
    pub fn client_config(&self) -> Result<ClientConfig, KafkaError> {
        if self.brokers.trim().is_empty() {
            return Err(KafkaError::InvalidSetting {
                setting: "brokers",
                problem: "is empty; give host:port of at least one broker, e.g. \"127.0.0.1:9092\"".into(),
            });
        }
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client {
            if MANAGED_KEYS.contains(&key.as_str()) {
                return Err(KafkaError::InvalidSetting {
                    setting: "client",
                    problem: format!(
                        "'{key}' is managed by Cepheus (offsets live in checkpoints, groups and \
                         assignment follow the stream); remove it from the client overrides"
                    ),
                });
            }
            cfg.set(key, value);
        }
        Ok(cfg)
    }
}

/// Settings whose value the exactly-once design depends on.
const MANAGED_KEYS: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "partition.assignment.strategy",
    "auto.offset.reset",
    "enable.partition.eof",
];

/// One stream bound to a Kafka topic (`SourceConfig::Kafka`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// The topic the stream's events are read from.
    pub topic: String,
    /// Consumer group shared by all instances; default `<prefix>.<stream>`.
    #[serde(default)]
    pub group_id: Option<String>,
    /// Prefix of the topics and groups Cepheus owns.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Where a partition without a checkpoint starts.
    #[serde(default)]
    pub start: StartPosition,
    /// Extra librdkafka settings (see [`KafkaConnection::client`]).
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

impl KafkaSourceConfig {
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        KafkaSourceConfig {
            brokers: brokers.into(),
            topic: topic.into(),
            group_id: None,
            prefix: default_prefix(),
            start: StartPosition::Earliest,
            client: BTreeMap::new(),
        }
    }

    pub fn connection(&self) -> KafkaConnection {
        KafkaConnection { brokers: self.brokers.clone(), prefix: self.prefix.clone(), client: self.client.clone() }
    }

    pub fn group(&self, stream: &str) -> String {
        self.group_id.clone().unwrap_or_else(|| names::stream_group(&self.prefix, stream))
    }

    /// The group consumer's settings: cooperative-sticky assignment, no
    /// automatic commits or offset stores (offsets live in checkpoints).
    pub fn consumer_config(&self, stream: &str) -> Result<ClientConfig, KafkaError> {
        names::check_topic_name(&self.topic)?;
        let mut cfg = self.connection().client_config()?;
        cfg.set("group.id", self.group(stream))
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set(
                "auto.offset.reset",
                match self.start {
                    StartPosition::Earliest => "earliest",
                    StartPosition::Latest => "latest",
                },
            );
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_config_rejects_unknown_keys_and_fills_defaults() {
        let c: KafkaSourceConfig =
            serde_json::from_str(r#"{"brokers":"b:9092","topic":"tx"}"#).unwrap();
        assert_eq!(c.prefix, "cepheus");
        assert_eq!(c.group("tx"), "cepheus.tx");
        assert_eq!(c.start, StartPosition::Earliest);
        let bad = serde_json::from_str::<KafkaSourceConfig>(r#"{"brokers":"b","topic":"t","topik":"x"}"#);
        assert!(bad.unwrap_err().to_string().contains("topik"));
    }

    #[test]
    fn managed_client_keys_are_refused() {
        let mut c = KafkaSourceConfig::new("b:9092", "tx");
        c.client.insert("enable.auto.commit".into(), "true".into());
        let e = c.consumer_config("tx").unwrap_err();
        assert_eq!(e.kind(), super::super::ErrorKind::User);
        assert!(e.to_string().contains("enable.auto.commit"), "{e}");
    }

    #[test]
    fn consumer_config_is_cooperative_and_manual() {
        let c = KafkaSourceConfig::new("b:9092", "tx");
        let cfg = c.consumer_config("tx").unwrap();
        assert_eq!(cfg.get("partition.assignment.strategy"), Some("cooperative-sticky"));
        assert_eq!(cfg.get("enable.auto.commit"), Some("false"));
        assert_eq!(cfg.get("group.id"), Some("cepheus.tx"));
    }
}
