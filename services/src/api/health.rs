//! Liveness, readiness, metrics, and the API description.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::Service;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness: the engine has restored its checkpoint and runs the stored rules.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, body = Health),
    (status = 503, description = "still restoring, or shutting down", body = ErrorBody)))]
pub async fn readyz(State(svc): State<Arc<Service>>) -> ApiResult<axum::Json<Health>> {
    if svc.is_ready() {
        Ok(axum::Json(Health { status: "ready" }))
    } else {
        Err(ApiError::unavailable("not ready: the engine is restoring its checkpoint or the service is stopping"))
    }
}

/// Prometheus metrics, text format.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(State(svc): State<Arc<Service>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        svc.metrics.render(),
    )
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "health", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> impl IntoResponse {
    axum::Json(super::openapi_doc())
}

/// The engine's status: streams, partitions, offsets, watermarks, rules, last checkpoint.
#[utoipa::path(get, path = "/status", tag = "health", security(("bearer" = [])), responses(
    (status = 200, description = "status", body = Object),
    (status = 401, body = ErrorBody)))]
pub async fn status(State(svc): State<Arc<Service>>) -> axum::Json<serde_json::Value> {
    axum::Json(svc.status())
}
