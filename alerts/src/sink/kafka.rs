//! Kafka topic sink: each alert is a JSON record keyed by `rule/key`, written
//! in a transaction. A delivery is acknowledged only when its transaction
//! commits, so the outbox keeps an alert until a read_committed consumer can
//! see it; a failed or interrupted transaction is aborted and its alerts are
//! retried (same ids). Commits happen at `flush_for_checkpoint` (call it
//! before recording a checkpoint) and at least every `commit_interval_ms`.
//!
//! librdkafka's transactional calls block, so one thread owns the producer.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use tokio::sync::oneshot;

use super::{Sink, SinkError};
use crate::config::KafkaSinkConfig;
use crate::template::key_text;
use crate::Alert;

type Done = oneshot::Sender<Result<(), SinkError>>;

enum Cmd {
    Produce(Vec<(String, Vec<u8>)>, Done),
    Commit(Done),
    Stop,
}

pub struct KafkaSink {
    tx: Mutex<mpsc::Sender<Cmd>>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

/// The record key: rule and key, so one key's alerts stay in one partition.
pub fn record_key(a: &Alert) -> String {
    format!("{}/{}", a.rule, key_text(a))
}

impl KafkaSink {
    pub fn new(name: &str, c: &KafkaSinkConfig) -> Result<Self, String> {
        if c.topic.is_empty() || c.transactional_id.is_empty() {
            return Err("`topic` and `transactional_id` must not be empty".into());
        }
        // Brokers cap transactions at 15 min (transaction.max.timeout.ms).
        let tx_timeout_ms = (c.commit_interval_ms * 2 + c.timeout_ms).clamp(60_000, 900_000);
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &c.brokers)
            .set("transactional.id", &c.transactional_id)
            .set("enable.idempotence", "true")
            .set("transaction.timeout.ms", tx_timeout_ms.to_string())
            .set("message.timeout.ms", (c.timeout_ms * 3).clamp(30_000, tx_timeout_ms).to_string());
        for (k, v) in &c.properties {
            cc.set(k, v);
        }
        let (tx, rx) = mpsc::channel();
        let worker = Worker {
            config: cc,
            topic: c.topic.clone(),
            timeout: Duration::from_millis(c.timeout_ms.max(1000)),
            interval: Duration::from_millis(c.commit_interval_ms.max(10)),
            producer: None,
            waiters: Vec::new(),
            failed: None,
        };
        let thread = thread::Builder::new()
            .name(format!("kafka-sink-{name}"))
            .spawn(move || worker.run(rx))
            .map_err(|e| format!("starting the producer thread: {e}"))?;
        Ok(KafkaSink { tx: Mutex::new(tx), thread: Mutex::new(Some(thread)) })
    }

    fn send(&self, cmd: Cmd) -> Result<(), SinkError> {
        self.tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(cmd)
            .map_err(|_| SinkError::retry("the Kafka producer thread has stopped"))
    }
}

#[async_trait]
impl Sink for KafkaSink {
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError> {
        let mut records = Vec::with_capacity(alerts.len());
        for a in alerts {
            let body = serde_json::to_vec(&**a).map_err(|e| SinkError::permanent(format!("encoding alert: {e}")))?;
            records.push((record_key(a), body));
        }
        let (done, wait) = oneshot::channel();
        self.send(Cmd::Produce(records, done))?;
        wait.await.unwrap_or_else(|_| Err(SinkError::retry("the Kafka producer thread stopped mid-transaction")))
    }

    async fn flush_for_checkpoint(&self) -> Result<(), SinkError> {
        let (done, wait) = oneshot::channel();
        self.send(Cmd::Commit(done))?;
        wait.await.unwrap_or_else(|_| Err(SinkError::retry("the Kafka producer thread stopped mid-commit")))
    }

    async fn close(&self) {
        let _ = self.send(Cmd::Stop);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

struct Worker {
    config: ClientConfig,
    topic: String,
    timeout: Duration,
    interval: Duration,
    /// The producer with an open transaction.
    producer: Option<BaseProducer>,
    /// Deliveries in the open transaction, answered at commit.
    waiters: Vec<Done>,
    /// A send into the open transaction failed: it must abort.
    failed: Option<String>,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Cmd>) {
        let mut last_commit = Instant::now();
        loop {
            let wait = (last_commit + self.interval).saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Cmd::Produce(records, done)) => self.produce(records, done),
                Ok(Cmd::Commit(done)) => {
                    let r = self.commit();
                    last_commit = Instant::now();
                    let _ = done.send(r);
                }
                Ok(Cmd::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.commit();
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Some(p) = &self.producer {
                p.poll(Duration::ZERO);
            }
            if Instant::now() >= last_commit + self.interval {
                let _ = self.commit();
                last_commit = Instant::now();
            }
        }
    }

    fn producer(&mut self) -> Result<&BaseProducer, SinkError> {
        if self.producer.is_none() {
            let p: BaseProducer = self.config.create().map_err(|e| SinkError::permanent(format!("Kafka producer config: {e}")))?;
            // Fences an earlier run with the same transactional.id and aborts
            // what it left open.
            p.init_transactions(self.timeout).map_err(|e| SinkError::retry(format!("Kafka init_transactions: {e}")))?;
            p.begin_transaction().map_err(|e| SinkError::retry(format!("Kafka begin_transaction: {e}")))?;
            self.producer = Some(p);
        }
        Ok(self.producer.as_ref().expect("just set"))
    }

    fn produce(&mut self, records: Vec<(String, Vec<u8>)>, done: Done) {
        let topic = self.topic.clone();
        let p = match self.producer() {
            Ok(p) => p,
            Err(e) => {
                let _ = done.send(Err(e));
                return;
            }
        };
        let mut error = None;
        for (key, body) in &records {
            let mut record = BaseRecord::to(&topic).key(key.as_str()).payload(body.as_slice());
            loop {
                match p.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        p.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => {
                        error = Some(format!("Kafka send: {e}"));
                        break;
                    }
                }
            }
            if error.is_some() {
                break;
            }
        }
        if let Some(e) = error {
            self.failed.get_or_insert(e);
        }
        self.waiters.push(done);
    }

    /// Commits the open transaction and answers its deliveries; on failure
    /// aborts it (its alerts stay in the outbox and are retried).
    fn commit(&mut self) -> Result<(), SinkError> {
        if self.waiters.is_empty() && self.failed.is_none() {
            return Ok(());
        }
        let waiters = std::mem::take(&mut self.waiters);
        let result = match (self.failed.take(), &self.producer) {
            (Some(e), _) => Err(SinkError::retry(e)),
            (None, None) => Err(SinkError::retry("no Kafka producer")),
            (None, Some(p)) => p.commit_transaction(self.timeout).map_err(|e| SinkError::retry(format!("Kafka commit: {e}"))),
        };
        if result.is_err() {
            let aborted = self.producer.as_ref().map(|p| p.abort_transaction(self.timeout).is_ok()).unwrap_or(false);
            if !aborted {
                // Unusable: a new producer fences this one's transaction.
                self.producer = None;
            }
        }
        if let Some(p) = &self.producer {
            if p.begin_transaction().is_err() {
                self.producer = None;
            }
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
        if let Err(e) = &result {
            tracing::warn!(error = %e, "Kafka transaction aborted; its alerts will be retried");
        }
        result
    }
}
