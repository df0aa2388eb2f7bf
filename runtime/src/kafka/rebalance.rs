//! What the owner of a stream consumer is told when partitions come and go.

use super::PartitionReader;

/// Where an assigned partition starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// This offset (the one stored in the partition's checkpoint).
    Offset(i64),
    /// The oldest retained record.
    Earliest,
    /// Records written from now on.
    Latest,
    /// The group's committed offset (progress display only; never the
    /// source of truth), else `Earliest`.
    Committed,
}

/// A partition just assigned to this instance.
pub struct AssignedPartition {
    pub partition: i32,
    /// Where reading starts; preset from the stream's `start` setting.
    pub start: StartFrom,
    reader: Option<PartitionReader>,
}

impl AssignedPartition {
    pub(crate) fn new(partition: i32, start: StartFrom, reader: Option<PartitionReader>) -> Self {
        AssignedPartition { partition, start, reader }
    }

    /// The partition's reader, for the task that will process it. Taken once.
    pub fn take_reader(&mut self) -> Option<PartitionReader> {
        self.reader.take()
    }
}

/// The owner's side of a rebalance. Both calls run on the consumer's control
/// thread, one at a time, and the rebalance does not go on until they return.
pub trait RebalanceHandler: Send + Sync + 'static {
    /// Partitions were assigned: set each `start` (from the partition's
    /// checkpoint) and take each reader. Runs before any record is fetched.
    fn assigned(&self, partitions: &mut [AssignedPartition]);

    /// Partitions are leaving. Return only once their tasks have stopped and,
    /// unless `lost`, checkpointed: the next owner restores that checkpoint.
    /// `lost` means the group already gave them away (session timeout): do
    /// not checkpoint, another instance may be writing them.
    fn revoked(&self, partitions: &[i32], lost: bool);
}
