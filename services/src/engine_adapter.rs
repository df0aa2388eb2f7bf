//! The real engine behind the service's `Runtime` trait.

use std::sync::Arc;

use cepheus_alerts::{Alert, AlertOutput, OutputError};
use cepheus_runtime::engine::{ActiveRule, Engine, EngineError, ErrorKind};
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::runtime::{RuleSpec, Runtime};

pub struct EngineRuntime {
    engine: Engine,
}

impl EngineRuntime {
    pub fn new(engine: Engine) -> Self {
        EngineRuntime { engine }
    }
}

/// The engine's classification decides the status; a few user errors get a
/// more precise one.
fn api(e: EngineError) -> ApiError {
    let msg = e.to_string();
    match (&e, e.kind()) {
        (EngineError::UnknownStream(_) | EngineError::UnknownRule(_) | EngineError::NoSavepoint(_), _) => ApiError::not_found(msg),
        (_, ErrorKind::User) => ApiError::bad_request(msg),
        (_, ErrorKind::External) => ApiError::external(msg),
        (_, ErrorKind::Internal) => ApiError::internal(msg),
    }
}

fn json<T: serde::Serialize>(v: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(format!("engine report as JSON: {e}")))
}

impl Runtime for EngineRuntime {
    fn set_rules(&self, rules: Vec<RuleSpec>) -> Result<serde_json::Value, ApiError> {
        let active = rules
            .into_iter()
            .map(|r| ActiveRule {
                id: r.id,
                version: r.version,
                source: r.source,
                plan: r.plan,
            })
            .collect();
        json(self.engine.set_rules(active).map_err(api)?)
    }

    fn append(&self, stream: &str, ndjson: &[u8]) -> Result<serde_json::Value, ApiError> {
        json(self.engine.append(stream, ndjson).map_err(api)?)
    }

    fn alerts(&self) -> broadcast::Receiver<Arc<Alert>> {
        self.engine.alerts()
    }

    fn checkpoint_now(&self) -> Result<serde_json::Value, ApiError> {
        json(self.engine.checkpoint_now().map_err(api)?)
    }

    fn savepoint(&self, name: &str) -> Result<serde_json::Value, ApiError> {
        json(self.engine.savepoint(name).map_err(api)?)
    }

    fn list_checkpoints(&self) -> Result<serde_json::Value, ApiError> {
        json(self.engine.list_checkpoints().map_err(api)?)
    }

    fn query_state(&self, rule: &str, key: &serde_json::Map<String, serde_json::Value>) -> Result<serde_json::Value, ApiError> {
        self.engine.query_state(rule, key).map_err(api)
    }

    fn status(&self) -> serde_json::Value {
        serde_json::to_value(self.engine.status()).unwrap_or_default()
    }

    fn shutdown(&self) -> Result<(), ApiError> {
        self.engine.shutdown().map_err(api)
    }
}

/// Alerts to the log, for an instance without `[delivery]` sinks.
pub struct LogOutput;

impl AlertOutput for LogOutput {
    fn emit(&self, alerts: &[Alert]) -> Result<(), OutputError> {
        for a in alerts {
            tracing::info!(target: "cepheus::alerts", id = %a.id, rule = %a.rule, severity = %a.severity, message = %a.message, "alert");
        }
        Ok(())
    }
}
