//! The dead-letter log of malformed events: the newest ones in memory (for
//! the API), every one appended to an NDJSON file in the state folder. A
//! malformed event is counted and written here, and the partition goes on.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One malformed event and why it was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub stream: String,
    /// `None`: refused before it entered a partition (embedded append).
    pub partition: Option<u32>,
    pub offset: Option<u64>,
    /// Short label, as in `cepheus_events_malformed_total{reason}`.
    pub reason: String,
    /// The full explanation.
    pub error: String,
    /// The event as received (lossy UTF-8).
    pub payload: String,
    /// When it was refused, epoch ms.
    pub at_ms: i64,
}

pub struct DeadLetterLog {
    path: PathBuf,
    recent: Mutex<VecDeque<DeadLetter>>,
    file: Mutex<Option<File>>,
    capacity: usize,
}

impl DeadLetterLog {
    /// Appends to `path` (created with its folder); keeps the newest
    /// `capacity` letters in memory.
    pub fn open(path: &Path, capacity: usize) -> std::io::Result<DeadLetterLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(DeadLetterLog {
            path: path.to_path_buf(),
            recent: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            file: Mutex::new(Some(file)),
            capacity: capacity.max(1),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one letter. A write error is returned but the letter stays in
    /// memory: the caller logs it and goes on.
    pub fn push(&self, letter: DeadLetter) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&letter).unwrap_or_default();
        line.push(b'\n');
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == self.capacity {
                recent.pop_front();
            }
            recent.push_back(letter);
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        match file.as_mut() {
            Some(f) => f.write_all(&line),
            None => Ok(()),
        }
    }

    /// The newest letters, oldest first.
    pub fn recent(&self) -> Vec<DeadLetter> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }
}
