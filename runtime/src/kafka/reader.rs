//! One assigned partition's own queue: the partition task polls it directly,
//! so partitions never wait on each other and need no shared dispatcher.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset};

use super::context::StreamContext;
use super::KafkaError;

/// Reads one partition. Dropping it stops delivery of that partition's
/// records (they stay in Kafka for the next owner).
pub struct PartitionReader {
    queue: PartitionQueue<StreamContext>,
    consumer: Arc<BaseConsumer<StreamContext>>,
    topic: Arc<str>,
    partition: i32,
    brokers: Arc<str>,
    /// Next offset to read, shared with the consumer's lag computation.
    position: Arc<AtomicI64>,
}

/// A record borrowed from the consumer's buffers (no copy of the payload).
pub struct KafkaRecord<'a> {
    msg: BorrowedMessage<'a>,
}

impl KafkaRecord<'_> {
    pub fn partition(&self) -> i32 {
        self.msg.partition()
    }
    pub fn offset(&self) -> i64 {
        self.msg.offset()
    }
    pub fn key(&self) -> Option<&[u8]> {
        self.msg.key()
    }
    pub fn payload(&self) -> &[u8] {
        self.msg.payload().unwrap_or_default()
    }
    /// The record's Kafka timestamp in ms since the epoch, when it has one.
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.msg.timestamp().to_millis()
    }
    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let headers = self.msg.headers()?;
        headers.iter().find(|h| h.key == name).and_then(|h| h.value)
    }
}

impl PartitionReader {
    pub(crate) fn new(
        queue: PartitionQueue<StreamContext>,
        consumer: Arc<BaseConsumer<StreamContext>>,
        topic: Arc<str>,
        partition: i32,
        brokers: Arc<str>,
        position: Arc<AtomicI64>,
    ) -> Self {
        PartitionReader { queue, consumer, topic, partition, brokers, position }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The next record of this partition, waiting up to `timeout`.
    pub fn poll(&self, timeout: Duration) -> Result<Option<KafkaRecord<'_>>, KafkaError> {
        match self.queue.poll(timeout) {
            None => Ok(None),
            Some(Ok(msg)) => {
                self.position.store(msg.offset() + 1, Ordering::Relaxed);
                Ok(Some(KafkaRecord { msg }))
            }
            Some(Err(e)) => Err(KafkaError::broker(
                format!("reading {}/{}", self.topic, self.partition),
                &self.brokers,
                e,
            )),
        }
    }

    /// Reads from `offset` next (records already buffered are discarded).
    pub fn seek(&self, offset: i64, timeout: Duration) -> Result<(), KafkaError> {
        self.consumer
            .seek(&self.topic, self.partition, Offset::Offset(offset), timeout)
            .map_err(|e| {
                KafkaError::broker(format!("seeking {}/{} to {offset}", self.topic, self.partition), &self.brokers, e)
            })?;
        self.position.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// Calls `wake` whenever the queue goes from empty to non-empty, so a
    /// worker pool can schedule this partition's task instead of blocking on it.
    pub fn set_wakeup(&mut self, wake: impl Fn() + Send + Sync + 'static) {
        self.queue.set_nonempty_callback(wake);
    }
}
