//! Where the runtime puts the alerts it produces.
//!
//! The runtime knows nothing of sinks: a partition task hands the alerts an
//! input batch produced to an [`AlertOutput`], and only then moves its
//! checkpoint past that input. An implementation that returns `Ok` must have
//! made the alerts durable (the delivery outbox) or be content to lose them
//! on a crash (a test collector, stdout in `cepheus run`).

use crate::Alert;

/// Why alerts could not be taken. The task retries the same batch later, so
/// an error loses nothing; it only holds the partition back.
#[derive(Debug, thiserror::Error)]
#[error("alert output failed: {reason}")]
pub struct OutputError {
    pub reason: String,
}

impl OutputError {
    pub fn new(reason: impl Into<String>) -> Self {
        OutputError { reason: reason.into() }
    }
}

/// Receives the alerts of partition tasks, in order per task. Called from the
/// task's worker thread: it must not block for long.
pub trait AlertOutput: Send + Sync + 'static {
    fn emit(&self, alerts: &[Alert]) -> Result<(), OutputError>;
}

/// Keeps every alert in memory: for tests and bounded runs.
#[derive(Debug, Default)]
pub struct Collect {
    alerts: std::sync::Mutex<Vec<Alert>>,
}

impl Collect {
    /// The alerts so far, in emission order.
    pub fn take(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.alerts.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl AlertOutput for Collect {
    fn emit(&self, alerts: &[Alert]) -> Result<(), OutputError> {
        self.alerts.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(alerts);
        Ok(())
    }
}
