//! Keyed-state storage: the [`StateBackend`] trait and its two backends,
//! [`MemoryBackend`] and [`RocksDbBackend`] (the default).
//!
//! A backend is an ordered byte-key/byte-value store with prefix scans and an
//! atomic [`WriteBatch`]: either every operation of a batch is visible (and,
//! for RocksDB, durable) or none is. Checkpoints ([`crate::checkpoint`]) rely
//! on that: a partition task's operator state and its input offsets are one
//! batch, so the local store never holds state of one moment with offsets of
//! another.
//!
//! Operators keep their working state in memory (the NFA's shared buffer, the
//! window accumulators) and write it to the backend when a checkpoint is
//! taken; keys are grouped into [`KeyGroups`] so keyed state can be split
//! over any number of tasks on restore.

pub mod codec;
pub mod key_group;
pub mod memory;
pub mod rocks;

use std::path::Path;

use thiserror::Error;

pub use key_group::{KeyGroup, KeyGroupRange, KeyGroups};
pub use memory::MemoryBackend;
pub use rocks::RocksDbBackend;

#[derive(Debug, Error)]
pub enum StateError {
    #[error("state backend I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("RocksDB: {0}")]
    RocksDb(#[from] rocksdb::Error),
    #[error("state snapshot at {path}: {reason}")]
    BadSnapshot { path: String, reason: String },
    #[error("the state backend is closed")]
    Closed,
}

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    /// Deletes every key in `[start, end)`.
    DeleteRange(Vec<u8>, Vec<u8>),
}

/// Operations applied atomically, in order, by [`StateBackend::commit`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
    bytes: usize,
}

impl WriteBatch {
    pub fn new() -> Self {
        WriteBatch::default()
    }

    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        let (k, v) = (key.into(), value.into());
        self.bytes += k.len() + v.len();
        self.ops.push(BatchOp::Put(k, v));
        self
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Self {
        let k = key.into();
        self.bytes += k.len();
        self.ops.push(BatchOp::Delete(k));
        self
    }

    /// Deletes every key in `[start, end)`.
    pub fn delete_range(&mut self, start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(BatchOp::DeleteRange(start.into(), end.into()));
        self
    }

    /// Deletes every key that starts with `prefix`.
    pub fn delete_prefix(&mut self, prefix: &[u8]) -> &mut Self {
        match prefix_end(prefix) {
            Some(end) => self.delete_range(prefix.to_vec(), end),
            // An all-0xff (or empty) prefix: up to the end of the key space.
            None => self.delete_range(prefix.to_vec(), vec![0xff; prefix.len() + 256]),
        }
    }

    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Bytes of keys and values put (a size estimate).
    pub fn payload_bytes(&self) -> usize {
        self.bytes
    }
}

/// The first key after every key that starts with `prefix`, if any.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// An ordered key-value store for operator state.
pub trait StateBackend: Send {
    /// `"memory"` or `"rocksdb"`.
    fn kind(&self) -> &'static str;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StateError>;

    fn delete(&mut self, key: &[u8]) -> Result<(), StateError>;

    /// Visits every entry whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8], visit: &mut dyn FnMut(&[u8], &[u8])) -> Result<(), StateError>;

    /// Applies `batch` atomically (and durably, for a persistent backend).
    fn commit(&mut self, batch: WriteBatch) -> Result<(), StateError>;

    /// Writes a consistent copy of the whole store into `dir` (which must
    /// not exist yet): RocksDB's checkpoint (hard-linked files), or one file
    /// for the memory backend.
    fn snapshot_to(&self, dir: &Path) -> Result<(), StateError>;

    /// Replaces the whole content of the store with the copy in `dir`
    /// written by [`StateBackend::snapshot_to`] of the same kind of backend.
    fn restore_from(&mut self, dir: &Path) -> Result<(), StateError>;

    /// The entries under `prefix`, collected.
    fn scan_prefix_vec(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StateError> {
        let mut out = Vec::new();
        self.scan_prefix(prefix, &mut |k, v| out.push((k.to_vec(), v.to_vec())))?;
        Ok(out)
    }
}

/// Which backend a task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    Memory,
    #[default]
    RocksDb,
}

/// Opens the backend of `kind`; RocksDB keeps its files in `dir`.
pub fn open_backend(kind: BackendKind, dir: &Path) -> Result<Box<dyn StateBackend>, StateError> {
    Ok(match kind {
        BackendKind::Memory => Box::new(MemoryBackend::new()),
        BackendKind::RocksDb => Box::new(RocksDbBackend::open(dir)?),
    })
}

#[cfg(test)]
mod tests;
