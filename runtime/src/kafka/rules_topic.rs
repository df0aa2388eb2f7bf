//! The compacted rules topic `<prefix>.rules`: keyed by rule id, the value
//! is the rule as JSON, a tombstone (null value) deletes it. Any instance
//! writes it ([`RulesWriter`]); every instance reads all of it
//! ([`RulesReader`]: no group, every partition from the beginning), so a
//! rule stored through one instance becomes active on all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::{admin, names, KafkaConnection, KafkaError};

/// A rule as stored in the rules topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRecord {
    pub id: String,
    pub version: u64,
    /// The rule's source text (with the stream declarations it needs).
    pub text: String,
    pub enabled: bool,
}

/// One change read from the rules topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleChange {
    Put(RuleRecord),
    Delete(String),
}

/// Writes rules: acks from all in-sync replicas, idempotent (no duplicates
/// from retries, order per rule kept).
pub struct RulesWriter {
    producer: FutureProducer,
    topic: String,
    brokers: String,
}

impl RulesWriter {
    pub fn new(conn: &KafkaConnection) -> Result<Self, KafkaError> {
        let mut cfg = conn.client_config()?;
        cfg.set("acks", "all").set("enable.idempotence", "true").set("linger.ms", "0");
        let producer = cfg
            .create()
            .map_err(|source| KafkaError::ClientConfig { what: "the rules writer".into(), source: Box::new(source) })?;
        Ok(RulesWriter { producer, topic: names::rules_topic(&conn.prefix), brokers: conn.brokers.clone() })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Stores a rule; resolves once the broker has it (partition, offset).
    pub async fn put(&self, rule: &RuleRecord) -> Result<(i32, i64), KafkaError> {
        check_id(&rule.id)?;
        let value = serde_json::to_vec(rule).map_err(|e| KafkaError::Internal(format!("rule to JSON: {e}")))?;
        self.write(&rule.id, Some(&value)).await
    }

    /// Deletes a rule (a tombstone; compaction drops its older versions).
    pub async fn delete(&self, id: &str) -> Result<(i32, i64), KafkaError> {
        check_id(id)?;
        self.write(id, None).await
    }

    async fn write(&self, id: &str, value: Option<&[u8]>) -> Result<(i32, i64), KafkaError> {
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).key(id);
        if let Some(v) = value {
            record = record.payload(v);
        }
        let what = || format!("writing rule '{id}' to '{}'", self.topic);
        let delivery = self.producer.send_result(record).map_err(|(e, _)| KafkaError::broker(what(), &self.brokers, e))?;
        match delivery.await {
            Ok(Ok(d)) => Ok((d.partition, d.offset)),
            Ok(Err((e, _))) => Err(KafkaError::broker(what(), &self.brokers, e)),
            Err(_) => Err(KafkaError::Internal(format!("{}: the producer dropped the delivery", what()))),
        }
    }
}

fn check_id(id: &str) -> Result<(), KafkaError> {
    if id.is_empty() {
        return Err(KafkaError::InvalidSetting { setting: "rule id", problem: "is empty".into() });
    }
    Ok(())
}

/// Reads the whole rules topic, then follows it. No consumer group: every
/// instance sees every rule.
pub struct RulesReader {
    consumer: BaseConsumer,
    topic: String,
    brokers: String,
    rules: BTreeMap<String, RuleRecord>,
}

impl RulesReader {
    /// Reads every partition to its end (the current rule set), waiting at
    /// most `timeout`.
    pub fn open(conn: &KafkaConnection, timeout: Duration) -> Result<Self, KafkaError> {
        let topic = names::rules_topic(&conn.prefix);
        let mut cfg = conn.client_config()?;
        // The group id is never joined (partitions are assigned, not
        // subscribed) and nothing is committed; librdkafka wants one anyway.
        cfg.set("group.id", format!("{}.rules-reader", conn.prefix))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .set("allow.auto.create.topics", "false");
        let consumer: BaseConsumer = cfg
            .create()
            .map_err(|source| KafkaError::ClientConfig { what: "the rules reader".into(), source: Box::new(source) })?;
        let partitions = admin::partition_count(consumer.client(), &topic, &conn.brokers, Duration::from_secs(5))?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .map_err(|e| KafkaError::Internal(format!("offset list: {e}")))?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| KafkaError::broker(format!("assigning '{topic}'"), &conn.brokers, e))?;
        let mut reader = RulesReader { consumer, topic, brokers: conn.brokers.clone(), rules: BTreeMap::new() };
        reader.read_to_end(partitions, timeout)?;
        Ok(reader)
    }

    fn read_to_end(&mut self, partitions: i32, timeout: Duration) -> Result<(), KafkaError> {
        let mut pending: BTreeSet<i32> = (0..partitions).collect();
        let deadline = Instant::now() + timeout;
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(KafkaError::Timeout {
                    what: format!("reading '{}' to its end ({} partition(s) left)", self.topic, pending.len()),
                    ms: timeout.as_millis() as u64,
                });
            }
            match self.next_record(left.min(Duration::from_millis(200)))? {
                Next::Eof(p) => {
                    pending.remove(&p);
                }
                Next::Change(_) | Next::Nothing => {}
            }
        }
        Ok(())
    }

    /// The current rule set (latest version of each rule not deleted).
    pub fn rules(&self) -> &BTreeMap<String, RuleRecord> {
        &self.rules
    }

    /// The next change written by any instance, waiting up to `timeout`;
    /// [`rules`](Self::rules) already includes it.
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<RuleChange>, KafkaError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_record(left)? {
                Next::Change(c) => return Ok(Some(c)),
                _ if left.is_zero() => return Ok(None),
                _ => {}
            }
        }
    }

    fn next_record(&mut self, timeout: Duration) -> Result<Next, KafkaError> {
        let msg = match self.consumer.poll(timeout) {
            None => return Ok(Next::Nothing),
            Some(Err(RdKafkaError::PartitionEOF(p))) => return Ok(Next::Eof(p)),
            Some(Err(e)) => return Err(KafkaError::broker(format!("reading '{}'", self.topic), &self.brokers, e)),
            Some(Ok(m)) => m,
        };
        let at = (msg.partition(), msg.offset());
        let bad = |problem: String| KafkaError::BadRecord {
            topic: self.topic.clone(),
            partition: at.0,
            offset: at.1,
            what: "rule record",
            problem,
        };
        let parsed = (|| {
            let key = msg.key().ok_or_else(|| bad("it has no key (the rule id)".into()))?;
            let id = std::str::from_utf8(key).map_err(|_| bad("its key is not UTF-8".into()))?.to_string();
            let Some(value) = msg.payload() else { return Ok(RuleChange::Delete(id)) };
            let rule: RuleRecord = serde_json::from_slice(value).map_err(|e| bad(format!("value: {e}")))?;
            if rule.id != id {
                return Err(bad(format!("key '{id}' differs from the value's id '{}'", rule.id)));
            }
            Ok(RuleChange::Put(rule))
        })();
        match parsed {
            Ok(change) => {
                match &change {
                    RuleChange::Put(r) => {
                        self.rules.insert(r.id.clone(), r.clone());
                    }
                    RuleChange::Delete(id) => {
                        self.rules.remove(id);
                    }
                }
                Ok(Next::Change(change))
            }
            // Another tool's bad record must not stop every instance: skip it, loudly.
            Err(e) => {
                tracing::warn!(error = %e, "skipped a record of the rules topic");
                Ok(Next::Nothing)
            }
        }
    }
}

enum Next {
    Change(RuleChange),
    Eof(i32),
    Nothing,
}
