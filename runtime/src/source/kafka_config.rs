//! How a stream binds to a Kafka topic (read by the Kafka source).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// `host:port,...`
    pub brokers: String,
    pub topic: String,
    /// Consumer group; default `cepheus.<stream>`.
    #[serde(default)]
    pub group_id: Option<String>,
    /// Dead-letter topic for malformed events; default `<topic>.dlq`.
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
    /// Where a partition without a checkpoint starts: `earliest` or `latest`.
    #[serde(default = "default_start")]
    pub start: String,
    /// Extra librdkafka properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_start() -> String {
    "earliest".to_string()
}
