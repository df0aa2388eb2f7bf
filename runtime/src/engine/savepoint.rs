//! Savepoints: named, kept copies of one checkpoint id of every task, under
//! `savepoints/<name>/` in the checkpoint store (retention never deletes
//! them). A start can restore from one instead of the newest checkpoints.

use std::sync::Arc;

use crate::checkpoint::{CheckpointStore, StoreError};

pub fn savepoint_prefix(name: &str) -> String {
    format!("savepoints/{name}/")
}

/// A savepoint name: letters, digits, `-`, `_`, `.`, not starting with `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The store as seen from inside a savepoint: read-only.
pub struct SavepointView {
    inner: Arc<dyn CheckpointStore>,
    prefix: String,
}

impl SavepointView {
    pub fn new(inner: Arc<dyn CheckpointStore>, name: &str) -> Self {
        SavepointView {
            inner,
            prefix: savepoint_prefix(name),
        }
    }
}

impl CheckpointStore for SavepointView {
    fn put(&self, name: &str, _data: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::BadName(format!("{name}: savepoints are read-only")))
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(&format!("{}{name}", self.prefix))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let full = format!("{}{prefix}", self.prefix);
        Ok(self
            .inner
            .list(&full)?
            .into_iter()
            .filter_map(|n| n.strip_prefix(&self.prefix).map(str::to_string))
            .collect())
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        Err(StoreError::BadName(format!("{name}: savepoints are read-only")))
    }
}
