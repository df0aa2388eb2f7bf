//! Creating the topics Cepheus needs, idempotently: a topic that exists is
//! checked (compaction where required) and reported, never recreated.

use std::time::Duration;

use futures::executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::{names, KafkaConnection, KafkaError};

/// A topic to ensure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// `cleanup.policy=compact` (the rules topic): the latest record per key is kept.
    pub compacted: bool,
    /// Further topic configs, e.g. `("retention.ms", "604800000")`.
    pub configs: Vec<(String, String)>,
}

impl TopicSpec {
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        TopicSpec { name: name.into(), partitions, compacted: false, configs: Vec::new() }
    }

    pub fn compacted(mut self) -> Self {
        self.compacted = true;
        self
    }

    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// What [`KafkaAdmin::ensure_topics`] found or did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnsuredTopic {
    pub name: String,
    /// The topic's real partition count (an existing topic keeps its own).
    pub partitions: i32,
    pub created: bool,
}

pub struct KafkaAdmin {
    client: AdminClient<DefaultClientContext>,
    brokers: String,
    timeout: Duration,
}

impl KafkaAdmin {
    pub fn new(conn: &KafkaConnection) -> Result<Self, KafkaError> {
        let mut cfg = conn.client_config()?;
        // A metadata lookup must never create a topic as a side effect.
        cfg.set("allow.auto.create.topics", "false");
        let client = cfg
            .create()
            .map_err(|source| KafkaError::ClientConfig { what: "the admin client".into(), source: Box::new(source) })?;
        Ok(KafkaAdmin { client, brokers: conn.brokers.clone(), timeout: Duration::from_secs(30) })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(self.timeout)).request_timeout(Some(self.timeout))
    }

    /// Creates the missing topics; existing ones are checked and reported.
    /// Blocks the calling thread (call it from a plain thread or `spawn_blocking`).
    pub fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<Vec<EnsuredTopic>, KafkaError> {
        for s in specs {
            names::check_topic_name(&s.name)?;
            if s.partitions < 1 {
                return Err(KafkaError::InvalidSetting {
                    setting: "partitions",
                    problem: format!("topic '{}' needs at least 1 partition, not {}", s.name, s.partitions),
                });
            }
        }
        let new_topics: Vec<NewTopic<'_>> = specs
            .iter()
            .map(|s| {
                // -1: the broker's default.replication.factor.
                let mut t = NewTopic::new(&s.name, s.partitions, TopicReplication::Fixed(-1));
                if s.compacted {
                    t = t.set("cleanup.policy", "compact");
                }
                for (k, v) in &s.configs {
                    t = t.set(k, v);
                }
                t
            })
            .collect();
        let results = block_on(self.client.create_topics(&new_topics, &self.options()))
            .map_err(|e| KafkaError::broker("creating topics", &self.brokers, e))?;
        let mut out = Vec::with_capacity(specs.len());
        for (spec, result) in specs.iter().zip(results) {
            let created = match result {
                Ok(_) => true,
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => false,
                Err((name, code)) => {
                    return Err(KafkaError::broker(
                        format!("creating topic '{name}'"),
                        &self.brokers,
                        rdkafka::error::KafkaError::AdminOp(code),
                    ))
                }
            };
            if !created && spec.compacted {
                self.check_compacted(&spec.name)?;
            }
            let partitions = self.partition_count(&spec.name)?;
            out.push(EnsuredTopic { name: spec.name.clone(), partitions, created });
        }
        Ok(out)
    }

    /// The topic's partition count; [`KafkaError::NoSuchTopic`] if it is missing.
    /// Right after creation metadata may lag, so a missing topic is asked again briefly.
    pub fn partition_count(&self, topic: &str) -> Result<i32, KafkaError> {
        partition_count(self.client.inner(), topic, &self.brokers, Duration::from_secs(10))
    }

    fn check_compacted(&self, topic: &str) -> Result<(), KafkaError> {
        let spec = ResourceSpecifier::Topic(topic);
        let results = block_on(self.client.describe_configs([&spec], &self.options()))
            .map_err(|e| KafkaError::broker(format!("describing topic '{topic}'"), &self.brokers, e))?;
        let policy = results
            .into_iter()
            .next()
            .and_then(|r| r.ok())
            .and_then(|r| r.get("cleanup.policy").and_then(|e| e.value.clone()))
            .unwrap_or_default();
        if policy.split(',').any(|p| p.trim() == "compact") {
            Ok(())
        } else {
            Err(KafkaError::TopicMismatch {
                topic: topic.to_string(),
                problem: format!("has cleanup.policy={policy:?}, and it must be compacted"),
                fix: format!(
                    "set it with: kafka-configs --bootstrap-server {} --alter --entity-type topics \
                     --entity-name {topic} --add-config cleanup.policy=compact",
                    self.brokers
                ),
            })
        }
    }

    /// Deletes topics (tests, and tearing down a deployment's own topics).
    pub fn delete_topics(&self, topics: &[&str]) -> Result<(), KafkaError> {
        block_on(self.client.delete_topics(topics, &self.options()))
            .map_err(|e| KafkaError::broker("deleting topics", &self.brokers, e))?;
        Ok(())
    }
}

/// Partition count of `topic` as the cluster's metadata reports it; a
/// missing topic is asked for again until `retry_for` has passed.
pub(crate) fn partition_count<C: rdkafka::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
    brokers: &str,
    retry_for: Duration,
) -> Result<i32, KafkaError> {
    let timeout = Duration::from_secs(10);
    let deadline = std::time::Instant::now() + retry_for;
    loop {
        let md = client
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| KafkaError::broker(format!("reading metadata of '{topic}'"), brokers, e))?;
        let found = md.topics().iter().find(|t| t.name() == topic);
        match found {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => return Ok(t.partitions().len() as i32),
            _ if std::time::Instant::now() >= deadline => return Err(KafkaError::NoSuchTopic(topic.to_string())),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
