//! `/streams`: the catalog, and events into the embedded log.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use serde::Serialize;

use super::extract::Path;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::Service;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamInfo {
    pub name: String,
    /// `embedded` or `kafka`.
    pub source: String,
    pub topic: Option<String>,
    pub partitions: Option<u32>,
    /// The schema's fields, when the config gives one.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<cepheus_dsl::plan::StreamSchema>,
}

/// The streams this instance serves, and the engine's view of them.
#[utoipa::path(get, path = "/streams", tag = "streams", security(("bearer" = [])), responses(
    (status = 200, body = Vec<StreamInfo>), (status = 401, body = ErrorBody)))]
pub async fn list(State(svc): State<Arc<Service>>) -> axum::Json<Vec<StreamInfo>> {
    let kafka = svc.config.kafka.as_ref();
    let list = svc
        .config
        .streams
        .iter()
        .map(|s| StreamInfo {
            name: s.name.clone(),
            source: if kafka.is_some() { "kafka" } else { "embedded" }.into(),
            topic: kafka.map(|k| s.topic.clone().unwrap_or_else(|| format!("{}.{}", k.topic_prefix, s.name))),
            partitions: if kafka.is_some() { None } else { Some(s.partitions.unwrap_or(crate::config::DEFAULT_PARTITIONS)) },
            schema: svc.catalog.catalog.streams.get(&s.name).cloned(),
        })
        .collect();
    axum::Json(list)
}

/// Append events (NDJSON, one JSON object per line) to a stream of the
/// embedded log. Malformed lines are counted, not fatal.
#[utoipa::path(post, path = "/streams/{name}/events", tag = "streams", security(("bearer" = [])),
    params(("name" = String, Path, description = "stream name")),
    request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 200, description = "accepted and malformed counts, offsets", body = Object),
        (status = 400, description = "the stream reads Kafka", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn append(State(svc): State<Arc<Service>>, Path(name): Path<String>, body: Result<Bytes, axum::extract::rejection::BytesRejection>) -> ApiResult<axum::Json<serde_json::Value>> {
    let body = body?;
    if !svc.config.streams.iter().any(|s| s.name == name) {
        return Err(ApiError::not_found(format!("no stream '{name}'; see GET /streams")));
    }
    if svc.config.kafka.is_some() {
        return Err(ApiError::bad_request(format!(
            "stream '{name}' reads a Kafka topic; produce the events to the topic instead"
        )));
    }
    let engine = svc.engine()?;
    let report = tokio::task::spawn_blocking(move || engine.append(&name, &body))
        .await
        .map_err(|e| ApiError::internal(format!("append task failed: {e}")))??;
    Ok(axum::Json(report))
}
