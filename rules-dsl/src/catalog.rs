//! The streams (and sinks) rules are checked against.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::plan::StreamSchema;

/// What a rule file may refer to besides what it declares itself: the
/// server's streams (from config) and, when known, the names of its sinks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    pub streams: BTreeMap<String, StreamSchema>,
    /// `None`: sinks are not known here (a standalone `rules check`), so
    /// `notify` names are not checked.
    pub sinks: Option<BTreeSet<String>>,
}

impl Catalog {
    pub fn new() -> Self {
        Catalog::default()
    }

    pub fn with_stream(mut self, schema: StreamSchema) -> Self {
        self.streams.insert(schema.name.clone(), schema);
        self
    }

    pub fn with_sinks<I, S>(mut self, sinks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sinks = Some(sinks.into_iter().map(Into::into).collect());
        self
    }
}
