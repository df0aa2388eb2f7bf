//! Sources: partitioned, offset-addressed input.
//!
//! A stream is read through a [`StreamSource`]: it owns the stream's
//! partitions as a whole (for Kafka: the consumer group membership) and tells
//! the engine which partitions this instance owns through an
//! [`AssignmentListener`] (`assigned` / `revoked`). For every owned partition
//! the engine opens a [`PartitionReader`] and runs one partition task over
//! it: `seek` to the offset the task's checkpoint stores (or the source's
//! configured start), then `poll` batches of [`SourceRecord`]s.
//!
//! Offsets belong to the checkpoint, not to the source: a reader never
//! decides where to resume. [`PartitionReader::checkpointed`] only tells it
//! how far state is durable (Kafka may commit that offset for display, the
//! embedded log may sync its file).
//!
//! Implementations: the embedded in-process log ([`embedded`]), and Kafka
//! (`crate::kafka`, plugged in through [`SourceFactory`]).

pub mod dead_letter;
pub mod embedded;
pub mod kafka_config;

use std::sync::Arc;

use thiserror::Error;

pub use dead_letter::{DeadLetter, DeadLetterLog};
pub use embedded::{EmbeddedLog, EmbeddedStream};
pub use kafka_config::KafkaSourceConfig;

/// Why a source failed. `External`: the broker or the disk; the task
/// retries. `User`: the configuration is wrong.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("source '{stream}': {reason}")]
    External { stream: String, reason: String },
    #[error("source '{stream}': {reason}")]
    Config { stream: String, reason: String },
    #[error("source '{stream}' partition {partition}: {source}")]
    Io {
        stream: String,
        partition: u32,
        #[source]
        source: std::io::Error,
    },
}

/// One input record as read from a partition.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub partition: u32,
    pub offset: u64,
    /// The message key, if the source has one (Kafka); informational.
    pub key: Option<Vec<u8>>,
    /// The event, one JSON object.
    pub payload: Vec<u8>,
    /// When the source received it (append time, Kafka timestamp), epoch
    /// ms: the start of the event-to-alert latency.
    pub timestamp_ms: i64,
}

/// Where a reader starts when no checkpoint names an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The next offset to read.
    Offset(u64),
    /// The source's configured start (embedded: the beginning; Kafka: its
    /// `start` setting).
    Default,
}

/// Reads one partition. Owned by one partition task, used from one worker
/// thread at a time.
pub trait PartitionReader: Send {
    fn partition(&self) -> u32;

    /// Positions the reader: the next `poll` returns the record at that
    /// offset (or the first one after it).
    fn seek(&mut self, at: StartAt) -> Result<(), SourceError>;

    /// Appends up to `max` records, in offset order, to `out`; returns how
    /// many. Never blocks for long: 0 means nothing is available now.
    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<usize, SourceError>;

    /// State up to `next_offset` (exclusive) is durably checkpointed.
    fn checkpointed(&mut self, _next_offset: u64) -> Result<(), SourceError> {
        Ok(())
    }

    /// The offset after the last record of the partition, if known (lag).
    fn end_offset(&self) -> Option<u64>;
}

/// Told by a [`StreamSource`] which partitions this instance owns.
pub trait AssignmentListener: Send + Sync {
    /// Partitions now owned: the engine restores their tasks and starts them.
    fn assigned(&self, stream: &str, partitions: &[u32]);

    /// Partitions about to be lost: returns only after their tasks took a
    /// checkpoint and stopped (the new owner restores that checkpoint).
    fn revoked(&self, stream: &str, partitions: &[u32]);
}

/// One stream's source on this instance.
pub trait StreamSource: Send + Sync {
    fn stream(&self) -> &str;

    /// Starts membership: the source calls `listener` for every assignment
    /// change, now (an embedded log assigns every partition at once) or
    /// later (Kafka rebalances).
    fn start(&self, listener: Arc<dyn AssignmentListener>) -> Result<(), SourceError>;

    /// A reader for an assigned partition.
    fn open_partition(&self, partition: u32) -> Result<Box<dyn PartitionReader>, SourceError>;

    /// Leaves the group (revoking everything through the listener).
    fn stop(&self) -> Result<(), SourceError>;

    /// Where a malformed record goes besides the engine's dead-letter log
    /// (Kafka: the dead-letter topic). Errors are logged, never fatal.
    fn dead_letter(&self, _letter: &DeadLetter) -> Result<(), SourceError> {
        Ok(())
    }

    /// The embedded log, when this source is one (appends go there).
    fn as_embedded(&self) -> Option<&EmbeddedStream> {
        None
    }
}

/// Opens the sources the engine cannot open itself (Kafka). The engine
/// handles [`crate::engine::SourceConfig::Embedded`]; everything else goes
/// to the factory given to [`crate::engine::Engine::start_with`].
pub trait SourceFactory: Send + Sync {
    fn open(
        &self,
        binding: &crate::engine::StreamBinding,
        instance_id: &str,
    ) -> Result<Arc<dyn StreamSource>, SourceError>;
}
