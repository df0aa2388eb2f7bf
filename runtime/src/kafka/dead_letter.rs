//! Malformed events go to `<prefix>.<stream>.dlq`, byte for byte (key and
//! payload kept), with why and where from in headers, so they can be fixed
//! and replayed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::{names, KafkaConnection, KafkaError};

/// Header names on dead letters.
pub const REASON_HEADER: &str = "cepheus.reason";
pub const STREAM_HEADER: &str = "cepheus.stream";
/// `<topic>/<partition>@<offset>` of the original record.
pub const SOURCE_HEADER: &str = "cepheus.source";

/// One malformed record and why it was rejected.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetter<'a> {
    pub stream: &'a str,
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    pub reason: &'a str,
    pub source_topic: &'a str,
    pub source_partition: i32,
    pub source_offset: i64,
}

/// Counts deliveries the broker refused after librdkafka's own retries.
#[derive(Default)]
pub(crate) struct CountFailures {
    pub failed: AtomicU64,
}

impl ClientContext for CountFailures {}

impl ProducerContext for CountFailures {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "a dead letter could not be written");
        }
    }
}

pub struct DeadLetterProducer {
    producer: ThreadedProducer<CountFailures>,
    prefix: String,
    brokers: String,
    reported: AtomicU64,
}

/// How long `send` waits for room in a full local queue.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

impl DeadLetterProducer {
    pub fn new(conn: &KafkaConnection) -> Result<Self, KafkaError> {
        let mut cfg = conn.client_config()?;
        cfg.set("acks", "all").set("enable.idempotence", "true").set("linger.ms", "5");
        let producer = cfg
            .create_with_context(CountFailures::default())
            .map_err(|source| KafkaError::ClientConfig { what: "the dead-letter producer".into(), source: Box::new(source) })?;
        Ok(DeadLetterProducer {
            producer,
            prefix: conn.prefix.clone(),
            brokers: conn.brokers.clone(),
            reported: AtomicU64::new(0),
        })
    }

    /// Enqueues a dead letter (delivered in the background; see [`flush`](Self::flush)).
    pub fn send(&self, letter: &DeadLetter<'_>) -> Result<(), KafkaError> {
        let topic = names::dead_letter_topic(&self.prefix, letter.stream);
        let source = format!("{}/{}@{}", letter.source_topic, letter.source_partition, letter.source_offset);
        let headers = OwnedHeaders::new_with_capacity(3)
            .insert(Header { key: REASON_HEADER, value: Some(letter.reason) })
            .insert(Header { key: STREAM_HEADER, value: Some(letter.stream) })
            .insert(Header { key: SOURCE_HEADER, value: Some(source.as_str()) });
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(&topic).payload(letter.payload).headers(headers);
        if let Some(k) = letter.key {
            record = record.key(k);
        }
        send_waiting(&self.producer, record, &self.brokers, "writing a dead letter")
    }

    /// Waits until every enqueued dead letter is written; fails if any was
    /// refused since the last flush. Call it before checkpointing past them.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer
            .flush(timeout)
            .map_err(|e| KafkaError::broker("flushing dead letters", &self.brokers, e))?;
        let failed = self.producer.context().failed.load(Ordering::Relaxed);
        let before = self.reported.swap(failed, Ordering::Relaxed);
        if failed > before {
            return Err(KafkaError::broker(
                format!("writing {} dead letter(s)", failed - before),
                &self.brokers,
                RdKafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut),
            ));
        }
        Ok(())
    }
}

/// Enqueues `record`, waiting for room while the local queue is full.
pub(crate) fn send_waiting<C: ProducerContext>(
    producer: &ThreadedProducer<C>,
    mut record: BaseRecord<'_, [u8], [u8], C::DeliveryOpaque>,
    brokers: &str,
    what: &str,
) -> Result<(), KafkaError> {
    let deadline = Instant::now() + QUEUE_WAIT;
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((RdKafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) if Instant::now() < deadline => {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(KafkaError::broker(what, brokers, e)),
        }
    }
}
