//! What an operator hands to a checkpoint, and gets back on restore.

use thiserror::Error;

use crate::record::Decoder;
use crate::state::codec::CodecError;
use crate::state::{KeyGroup, KeyGroupRange, KeyGroups};

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("operator '{operator}': {reason}")]
    Operator { operator: String, reason: String },
}

#[derive(Debug, Error)]
pub enum RestoreError {
    #[error("operator '{operator}': {source}")]
    Corrupt {
        operator: String,
        #[source]
        source: CodecError,
    },
    #[error("operator '{operator}': {reason}")]
    Incompatible { operator: String, reason: String },
    #[error("operator '{operator}': stored event {partition}:{offset} does not decode: {reason}")]
    Event {
        operator: String,
        partition: u32,
        offset: u64,
        reason: String,
    },
}

/// Operator-wide state written by one task: for a pattern operator its
/// watermark and counters. On restore every new task receives every blob
/// (Flink's union redistribution, so each can take e.g. the watermark) and
/// exactly one new task is the blob's `owner` (it takes over the counters,
/// so totals are neither lost nor doubled when the task count changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedState {
    /// The index of the task that wrote it.
    pub task: u32,
    pub owner: bool,
    pub bytes: Vec<u8>,
}

/// One key's state: its canonical key bytes
/// ([`crate::state::key_group::encode_key`]) and the operator's encoding of
/// everything the key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedEntry {
    pub group: KeyGroup,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// The state of one operator: what [`Snapshot::write_snapshot`] wrote, or
/// (on restore) the part of it a task owns after redistribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorSnapshot {
    /// The operator's id within the task (the rule name).
    pub id: String,
    /// `"pattern"`, `"window"`, ...
    pub kind: String,
    pub shared: Vec<SharedState>,
    /// Sorted by (group, key).
    pub keyed: Vec<KeyedEntry>,
}

impl OperatorSnapshot {
    /// Takes the snapshot of `op` with keys hashed into `key_groups`.
    pub fn capture(op: &dyn Snapshot, key_groups: KeyGroups) -> Result<OperatorSnapshot, SnapshotError> {
        let mut w = CollectingWriter {
            key_groups,
            shared: Vec::new(),
            keyed: Vec::new(),
        };
        op.write_snapshot(&mut w)?;
        let mut keyed = w.keyed;
        keyed.sort_by(|a, b| (a.group, &a.key).cmp(&(b.group, &b.key)));
        Ok(OperatorSnapshot {
            id: op.operator_id().to_string(),
            kind: op.operator_kind().to_string(),
            shared: w
                .shared
                .into_iter()
                .map(|bytes| SharedState {
                    task: 0,
                    owner: true,
                    bytes,
                })
                .collect(),
            keyed,
        })
    }

    /// Only the keys of `range` (what a task owning `range` restores).
    pub fn for_range(&self, range: KeyGroupRange) -> OperatorSnapshot {
        OperatorSnapshot {
            id: self.id.clone(),
            kind: self.kind.clone(),
            shared: self.shared.clone(),
            keyed: self.keyed.iter().filter(|e| range.contains(e.group)).cloned().collect(),
        }
    }

    /// Bytes of keyed state.
    pub fn keyed_bytes(&self) -> usize {
        self.keyed.iter().map(|e| e.key.len() + e.value.len()).sum()
    }
}

/// Where an operator writes its snapshot.
pub trait SnapshotWriter {
    /// The key groups keys are hashed into.
    fn key_groups(&self) -> KeyGroups;

    /// Operator-wide state (see [`SharedState`]); usually one blob.
    fn shared(&mut self, bytes: Vec<u8>);

    /// One key's state. The key group is the hash of `key`, so `key` must be
    /// the canonical key bytes that routing hashes too
    /// ([`crate::state::key_group::encode_key`] of the partition values).
    /// An operator keeping several entries per key (windows) writes them into
    /// one value, so a key never straddles two groups.
    fn keyed(&mut self, key: Vec<u8>, value: Vec<u8>);
}

/// What a restoring operator may need besides its snapshot.
pub struct RestoreContext<'a> {
    /// The stream's decoder: stored events are kept as their original bytes
    /// and decoded again (decoding is deterministic).
    pub decoder: &'a Decoder,
}

/// An operator whose state can be checkpointed and restored. The pattern
/// operator implements it; the window operator is meant to, the same way:
/// one shared blob (watermark, counters) and one keyed entry per key.
pub trait Snapshot {
    /// Unique within a task: the rule name.
    fn operator_id(&self) -> &str;

    fn operator_kind(&self) -> &'static str;

    fn write_snapshot(&self, w: &mut dyn SnapshotWriter) -> Result<(), SnapshotError>;

    /// Loads `snap` into this operator, freshly built from its plan and still
    /// empty. On error the operator must be discarded (restore builds new
    /// operators and swaps them in only when all of them succeeded).
    fn restore_snapshot(&mut self, snap: &OperatorSnapshot, ctx: &RestoreContext<'_>) -> Result<(), RestoreError>;
}

struct CollectingWriter {
    key_groups: KeyGroups,
    shared: Vec<Vec<u8>>,
    keyed: Vec<KeyedEntry>,
}

impl SnapshotWriter for CollectingWriter {
    fn key_groups(&self) -> KeyGroups {
        self.key_groups
    }

    fn shared(&mut self, bytes: Vec<u8>) {
        self.shared.push(bytes);
    }

    fn keyed(&mut self, key: Vec<u8>, value: Vec<u8>) {
        let group = self.key_groups.of_bytes(&key);
        self.keyed.push(KeyedEntry { group, key, value });
    }
}
