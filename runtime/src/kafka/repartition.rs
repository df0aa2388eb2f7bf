//! Re-keying a stream by a field that is not its topic key: events go to
//! `<prefix>.<stream>.by.<field>` keyed by the field's value, so all events
//! of one value meet in one partition, hence one task, on any number of
//! instances. The repartition topic is then read like any stream.
//!
//! Each record carries its origin (partition and offset in the stream
//! topic) in a header. A replay after a crash may write an event twice; the
//! reader keeps the highest origin offset seen per origin partition
//! ([`OriginFilter`], part of its checkpoint) and drops the repeat, and uses
//! the origin as the event's position, so alert ids do not depend on where
//! the copy landed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};

use super::dead_letter::{send_waiting, CountFailures};
use super::field_key::{field_key, KeyError};
use super::{names, KafkaConnection, KafkaError, KafkaRecord};

/// Binary header: origin partition (i32) then offset (i64), big-endian.
pub const ORIGIN_HEADER: &str = "cepheus.origin";

#[derive(Debug, thiserror::Error)]
pub enum RepartitionError {
    /// The event cannot be keyed: send it to the dead-letter topic.
    #[error("cannot key the event by '{field}': {source}")]
    Key { field: String, #[source] source: KeyError },
    #[error(transparent)]
    Kafka(#[from] KafkaError),
}

pub struct Repartitioner {
    producer: ThreadedProducer<CountFailures>,
    topic: String,
    field: String,
    brokers: String,
    reported: std::sync::atomic::AtomicU64,
}

thread_local! {
    static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Repartitioner {
    pub fn new(conn: &KafkaConnection, stream: &str, field: &str) -> Result<Self, KafkaError> {
        let topic = names::repartition_topic(&conn.prefix, stream, field);
        names::check_topic_name(&topic)?;
        let mut cfg = conn.client_config()?;
        // murmur2: the Java client's partitioner, so other producers keyed the
        // same way agree on partitions; idempotence keeps per-key order.
        cfg.set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "5");
        let producer = cfg
            .create_with_context(CountFailures::default())
            .map_err(|source| KafkaError::ClientConfig { what: format!("the repartitioner of '{topic}'"), source: Box::new(source) })?;
        Ok(Repartitioner {
            producer,
            topic,
            field: field.to_string(),
            brokers: conn.brokers.clone(),
            reported: Default::default(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Enqueues one event (its JSON bytes) keyed by the field; `origin` is
    /// its partition and offset in the stream topic.
    pub fn send(&self, payload: &[u8], origin: (i32, i64)) -> Result<(), RepartitionError> {
        KEY.with(|k| {
            let mut key = k.borrow_mut();
            field_key(payload, &self.field, &mut key)
                .map_err(|source| RepartitionError::Key { field: self.field.clone(), source })?;
            let mut o = [0u8; 12];
            o[..4].copy_from_slice(&origin.0.to_be_bytes());
            o[4..].copy_from_slice(&origin.1.to_be_bytes());
            let headers = OwnedHeaders::new_with_capacity(1).insert(Header { key: ORIGIN_HEADER, value: Some(&o[..]) });
            let record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&self.topic).key(&key[..]).payload(payload).headers(headers);
            send_waiting(&self.producer, record, &self.brokers, "writing to a repartition topic")?;
            Ok(())
        })
    }

    /// Waits until every enqueued event is written (before checkpointing
    /// the stream offsets they came from).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer
            .flush(timeout)
            .map_err(|e| KafkaError::broker(format!("flushing '{}'", self.topic), &self.brokers, e))?;
        let failed = self.producer.context().failed.load(Ordering::Relaxed);
        let before = self.reported.swap(failed, Ordering::Relaxed);
        if failed > before {
            return Err(KafkaError::Internal(format!(
                "{} event(s) could not be written to '{}' (see the log); replay from the last checkpoint",
                failed - before,
                self.topic
            )));
        }
        Ok(())
    }
}

/// The origin (stream partition, offset) of a repartitioned record.
pub fn origin(record: &KafkaRecord<'_>) -> Option<(i32, i64)> {
    let h = record.header(ORIGIN_HEADER)?;
    if h.len() != 12 {
        return None;
    }
    let p = i32::from_be_bytes(h[..4].try_into().ok()?);
    let o = i64::from_be_bytes(h[4..].try_into().ok()?);
    Some((p, o))
}

/// Drops repeats of repartitioned events: per origin partition, events
/// arrive in origin-offset order, so one at or below the highest seen is a
/// repeat written by a replay. Keep it in the task's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OriginFilter {
    highest: BTreeMap<i32, i64>,
}

impl OriginFilter {
    /// True the first time an origin is seen.
    pub fn admit(&mut self, origin: (i32, i64)) -> bool {
        match self.highest.get_mut(&origin.0) {
            Some(h) if *h >= origin.1 => false,
            Some(h) => {
                *h = origin.1;
                true
            }
            None => {
                self.highest.insert(origin.0, origin.1);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_filter_drops_repeats_per_partition() {
        let mut f = OriginFilter::default();
        assert!(f.admit((0, 5)));
        assert!(f.admit((1, 2)));
        assert!(!f.admit((0, 5)));
        assert!(!f.admit((0, 3)));
        assert!(f.admit((0, 6)));
        assert!(f.admit((1, 3)));
    }
}
