//! An input event as operators see it: a decoded record and where it came from.

use std::sync::Arc;

use crate::record::Record;

/// Where an event was read: a source partition and its offset there (a
/// Kafka offset, or a line number for files). Alert ids hash positions, so a
/// replay of the same input gives the same ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub partition: u32,
    pub offset: u64,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub record: Record,
    pub position: Position,
}

impl Event {
    pub fn time(&self) -> i64 {
        self.record.time()
    }
}

/// Events are shared between the operators and partial matches that hold them.
pub type EventRef = Arc<Event>;
