//! `/checkpoints` and `/savepoints`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::Json;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::Service;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavepointRequest {
    /// Letters, digits, '_' and '-'.
    pub name: String,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("engine task failed: {e}")))?
}

/// The retained checkpoints (and savepoints), newest last.
#[utoipa::path(get, path = "/checkpoints", tag = "checkpoints", security(("bearer" = [])), responses(
    (status = 200, body = Object), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(State(svc): State<Arc<Service>>) -> ApiResult<axum::Json<serde_json::Value>> {
    let engine = svc.engine()?;
    Ok(axum::Json(blocking(move || engine.list_checkpoints()).await?))
}

/// Take a checkpoint now.
#[utoipa::path(post, path = "/checkpoints", tag = "checkpoints", security(("bearer" = [])), responses(
    (status = 201, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn take(State(svc): State<Arc<Service>>) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let engine = svc.engine()?;
    Ok((StatusCode::CREATED, axum::Json(blocking(move || engine.checkpoint_now()).await?)))
}

/// Take a named savepoint (kept until removed; `serve --from-savepoint`).
#[utoipa::path(post, path = "/savepoints", tag = "checkpoints", security(("bearer" = [])), request_body = SavepointRequest, responses(
    (status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn savepoint(State(svc): State<Arc<Service>>, Json(req): Json<SavepointRequest>) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    crate::store::valid_name(&req.name).map_err(|e| ApiError::bad_request(format!("savepoint {e}")))?;
    let engine = svc.engine()?;
    Ok((StatusCode::CREATED, axum::Json(blocking(move || engine.savepoint(&req.name)).await?)))
}
