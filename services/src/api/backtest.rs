//! `/backtest`: a rule (text or stored version) over uploaded NDJSON events,
//! run by the same operators as the live engine, ending with a final
//! watermark at +infinity. Nothing is notified.

use std::sync::Arc;

use axum::extract::State;
use cepheus_runtime::batch::{run_batch, BatchOptions};
use serde::{Deserialize, Serialize};

use super::extract::Json;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::Service;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// A rule text to try (give this or `rule`).
    pub source: Option<String>,
    /// A stored rule's name (its latest version unless `version` is given).
    pub rule: Option<String>,
    pub version: Option<u64>,
    /// The events, one JSON object per line.
    pub events: String,
    /// `detected_at` of the alerts (RFC 3339); default: now.
    pub now: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BacktestResult {
    pub rule: String,
    /// The version alerts name (0 for a text that is not stored).
    pub version: u64,
    pub events: u64,
    pub late_events: u64,
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<cepheus_alerts::Alert>,
    pub malformed: Vec<MalformedLine>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MalformedLine {
    pub line: u64,
    pub error: String,
}

/// The alerts a rule would have given over the events.
#[utoipa::path(post, path = "/backtest", tag = "backtest", security(("bearer" = [])), request_body = BacktestRequest, responses(
    (status = 200, body = BacktestResult),
    (status = 400, description = "bad request or the rule does not check", body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 404, description = "no such stored rule or version", body = ErrorBody),
    (status = 413, body = ErrorBody)))]
pub async fn backtest(State(svc): State<Arc<Service>>, Json(req): Json<BacktestRequest>) -> ApiResult<axum::Json<BacktestResult>> {
    let (source, version) = match (&req.source, &req.rule) {
        (Some(s), None) => (s.clone(), 0),
        (None, Some(id)) => {
            let v = match req.version {
                Some(v) => svc.version(id, v)?,
                None => {
                    let r = svc.get(id)?;
                    svc.version(id, r.version)?
                }
            };
            (v.source, v.version)
        }
        _ => return Err(ApiError::bad_request("give either `source` (a rule text) or `rule` (a stored rule's name)")),
    };
    let compiled = svc.catalog.compile_one(&source, req.rule.as_deref(), false)?;
    let now_ms = match &req.now {
        Some(s) => cepheus_runtime::time::parse_rfc3339(s)
            .ok_or_else(|| ApiError::bad_request(format!("now: '{s}' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)")))?,
        None => crate::service::now_ms(),
    };
    let plan = compiled.plan;
    let name = plan.name.clone();
    let opts = BatchOptions {
        stream: Some(plan.stream.name.clone()),
        now_ms,
        rule_version: version,
    };
    let events = req.events;
    let out = tokio::task::spawn_blocking(move || run_batch(std::slice::from_ref(&plan), events.as_bytes(), &opts))
        .await
        .map_err(|e| ApiError::internal(format!("backtest task failed: {e}")))?
        .map_err(|e| ApiError::bad_request(format!("backtest: {e}")))?;
    Ok(axum::Json(BacktestResult {
        rule: name,
        version,
        events: out.events,
        late_events: out.late_events,
        alerts: out.alerts,
        malformed: out
            .malformed
            .into_iter()
            .map(|m| MalformedLine { line: m.line, error: m.error })
            .collect(),
    }))
}
