//! One consumer-group member per stream topic: cooperative-sticky
//! assignment, a control thread that serves rebalances (through the
//! [`RebalanceHandler`]) and keeps the lag table, and one queue per partition.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::context::{Shared, StreamContext, UNKNOWN_OFFSET};
use super::{admin, KafkaError, KafkaSourceConfig, RebalanceHandler, StartFrom, StartPosition};

/// How far one partition is behind its log end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PartitionLag {
    pub partition: i32,
    /// Next offset this instance reads (`None` before the first record).
    pub position: Option<i64>,
    /// The partition's log end offset as last fetched.
    pub high_watermark: i64,
    pub lag: i64,
}

/// A group member reading one stream topic. Dropping it (or [`close`](Self::close))
/// leaves the group: the handler is asked to revoke everything first.
pub struct StreamConsumer {
    consumer: Arc<BaseConsumer<StreamContext>>,
    shared: Arc<Shared>,
    lag: Arc<Mutex<Vec<PartitionLag>>>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    topic: Arc<str>,
    brokers: Arc<str>,
    partitions: i32,
}

/// How often the control thread serves callbacks, and refreshes lag.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const LAG_INTERVAL: Duration = Duration::from_millis(500);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(60);

impl StreamConsumer {
    /// Joins the stream's group and starts the control thread. Fails when
    /// the topic does not exist.
    pub fn start(
        stream: &str,
        config: &KafkaSourceConfig,
        handler: Arc<dyn RebalanceHandler>,
    ) -> Result<StreamConsumer, KafkaError> {
        let cfg = config.consumer_config(stream)?;
        let shared = Arc::new(Shared::default());
        let topic: Arc<str> = Arc::from(config.topic.as_str());
        let brokers: Arc<str> = Arc::from(config.brokers.as_str());
        let context = StreamContext {
            topic: topic.clone(),
            brokers: brokers.clone(),
            default_start: match config.start {
                StartPosition::Earliest => StartFrom::Earliest,
                StartPosition::Latest => StartFrom::Latest,
            },
            handler,
            shared: shared.clone(),
            consumer: OnceLock::new(),
        };
        let consumer = Arc::new(
            BaseConsumer::from_config_and_context(&cfg, context)
                .map_err(|source| KafkaError::ClientConfig { what: format!("the consumer of '{stream}'"), source: Box::new(source) })?,
        );
        // Cannot fail: the lock was created empty just above.
        let _ = consumer.context().consumer.set(Arc::downgrade(&consumer));
        let partitions = admin::partition_count(consumer.client(), &topic, &brokers, Duration::from_secs(5))?;
        consumer
            .subscribe(&[&topic])
            .map_err(|e| KafkaError::broker(format!("subscribing to '{topic}'"), &brokers, e))?;

        let stop = Arc::new(AtomicBool::new(false));
        let lag = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (consumer, stop, lag, shared, topic) =
                (consumer.clone(), stop.clone(), lag.clone(), shared.clone(), topic.clone());
            std::thread::Builder::new()
                .name(format!("kafka-{stream}"))
                .spawn(move || control_loop(&consumer, &stop, &lag, &shared, &topic))
                .map_err(|e| KafkaError::Internal(format!("cannot start the consumer thread: {e}")))?
        };
        Ok(StreamConsumer {
            consumer,
            shared,
            lag,
            stop,
            thread: Mutex::new(Some(thread)),
            topic,
            brokers,
            partitions,
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic's partition count when the consumer started.
    pub fn partition_count(&self) -> i32 {
        self.partitions
    }

    /// Partitions this instance owns now.
    pub fn assigned(&self) -> Vec<i32> {
        self.shared.positions.lock().unwrap_or_else(|e| e.into_inner()).keys().copied().collect()
    }

    /// Rebalance callbacks served so far (assign and revoke each count one).
    pub fn rebalances(&self) -> u64 {
        self.shared.rebalances.load(Ordering::Relaxed)
    }

    /// Lag of each owned partition, refreshed every 0.5 s from the
    /// consumer's cached log-end offsets (no broker round trip).
    pub fn lag(&self) -> Vec<PartitionLag> {
        self.lag.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sum of [`lag`](Self::lag): `cepheus_consumer_lag{stream}`.
    pub fn total_lag(&self) -> i64 {
        self.lag().iter().map(|l| l.lag).sum()
    }

    /// Commits checkpointed offsets to the group, for lag display in Kafka
    /// tools only (restores never read them). Asynchronous.
    pub fn commit_progress(&self, offsets: &[(i32, i64)]) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for &(p, o) in offsets {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| KafkaError::Internal(format!("offset list: {e}")))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Async)
            .map_err(|e| KafkaError::broker(format!("committing offsets of '{}'", self.topic), &self.brokers, e))
    }

    /// Leaves the group: every owned partition is revoked through the
    /// handler (so it checkpoints), then the control thread ends.
    pub fn close(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                tracing::error!(topic = %self.topic, "the consumer thread panicked");
            }
        }
    }
}

impl Drop for StreamConsumer {
    fn drop(&mut self) {
        self.close();
    }
}

fn control_loop(
    consumer: &BaseConsumer<StreamContext>,
    stop: &AtomicBool,
    lag: &Mutex<Vec<PartitionLag>>,
    shared: &Shared,
    topic: &str,
) {
    let ctopic = CString::new(topic).unwrap_or_default();
    let mut last_lag = Instant::now() - LAG_INTERVAL;
    while !stop.load(Ordering::SeqCst) {
        serve(consumer, topic, POLL_INTERVAL);
        if last_lag.elapsed() >= LAG_INTERVAL {
            let table = compute_lag(consumer, &ctopic, shared);
            *lag.lock().unwrap_or_else(|e| e.into_inner()) = table;
            last_lag = Instant::now();
        }
    }
    // Leave the group; the revoke callback runs inside these polls.
    if let Err(e) = consumer.close_queue() {
        tracing::error!(topic, error = %e, "closing the consumer");
        return;
    }
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    while !consumer.closed() && Instant::now() < deadline {
        serve(consumer, topic, POLL_INTERVAL);
    }
    lag.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Serves callbacks on the main queue. Records never arrive here (every
/// partition has its own queue); if one does, it is reported, not processed.
fn serve(consumer: &BaseConsumer<StreamContext>, topic: &str, timeout: Duration) {
    match consumer.poll(timeout) {
        None => {}
        Some(Ok(m)) => tracing::error!(
            topic,
            partition = m.partition(),
            offset = m.offset(),
            "record on the main queue ignored; its partition task will read it after a seek"
        ),
        Some(Err(e)) => tracing::warn!(topic, error = %e, "consumer error"),
    }
}

fn compute_lag(consumer: &BaseConsumer<StreamContext>, topic: &CString, shared: &Shared) -> Vec<PartitionLag> {
    let positions: Vec<(i32, i64)> = shared
        .positions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(&p, pos)| (p, pos.load(Ordering::Relaxed)))
        .collect();
    positions
        .into_iter()
        .filter_map(|(partition, pos)| {
            let (low, high) = cached_watermarks(consumer, topic, partition)?;
            let position = (pos != UNKNOWN_OFFSET).then_some(pos);
            let from = position.unwrap_or(low);
            Some(PartitionLag { partition, position, high_watermark: high, lag: (high - from).max(0) })
        })
        .collect()
}

/// The partition's low and high watermarks as last seen in fetch responses.
fn cached_watermarks(consumer: &BaseConsumer<StreamContext>, topic: &CString, partition: i32) -> Option<(i64, i64)> {
    let (mut low, mut high) = (UNKNOWN_OFFSET, UNKNOWN_OFFSET);
    // SAFETY: a live client handle, a NUL-terminated topic name and two
    // out-pointers to locals; librdkafka only reads its own cache here.
    let err = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
        .then_some((low.max(0), high))
}
