//! `/rules/{id}/state`: a rule's live state for one key (open windows,
//! partial matches): Flink's queryable state.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use cepheus_dsl::types::BaseType;
use serde_json::Value;

use super::extract::{key_filters, pairs, Path};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::Service;

/// The state of an active rule for the key given as `key.<field>=<value>`
/// (every `partition by` field).
#[utoipa::path(get, path = "/rules/{id}/state", tag = "state", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule name")),
    responses((status = 200, description = "open windows and partial matches of the key", body = Object),
        (status = 400, description = "a key field is missing or mistyped", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, description = "the rule is not active", body = ErrorBody),
        (status = 503, description = "not ready", body = ErrorBody)))]
pub async fn query(State(svc): State<Arc<Service>>, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult<axum::Json<Value>> {
    let plan = svc.active_plan(&id).await?;
    let given = key_filters(&pairs(q.as_deref())?);
    let mut key = serde_json::Map::new();
    for k in &plan.partition_by {
        let raw = given
            .iter()
            .find(|(f, _)| *f == k.name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::bad_request(format!("give the key field `key.{}=<value>` (rule '{id}' is partitioned by it)", k.name)))?;
        let ty = plan.stream.fields.get(k.slot as usize).map(|f| f.ty.base);
        key.insert(k.name.clone(), typed(raw, ty).ok_or_else(|| {
            ApiError::bad_request(format!("key.{}: '{raw}' is not a {}", k.name, ty.map_or("value", BaseType::name)))
        })?);
    }
    if let Some((extra, _)) = given.iter().find(|(f, _)| !plan.partition_by.iter().any(|k| k.name == *f)) {
        return Err(ApiError::bad_request(format!("key.{extra}: rule '{id}' is not partitioned by '{extra}'")));
    }
    let engine = svc.engine()?;
    let id2 = id.clone();
    let state = tokio::task::spawn_blocking(move || engine.query_state(&id2, &key))
        .await
        .map_err(|e| ApiError::internal(format!("state query task failed: {e}")))??;
    Ok(axum::Json(state))
}

/// A query-string value as the JSON value of the key field's type.
fn typed(raw: &str, ty: Option<BaseType>) -> Option<Value> {
    match ty {
        Some(BaseType::Int | BaseType::Timestamp | BaseType::Duration) => raw.parse::<i64>().ok().map(Value::from),
        Some(BaseType::Float) => raw.parse::<f64>().ok().map(Value::from),
        Some(BaseType::Bool) => raw.parse::<bool>().ok().map(Value::from),
        Some(BaseType::Json) => serde_json::from_str(raw).ok().or_else(|| Some(Value::from(raw))),
        Some(BaseType::String) | None => Some(Value::from(raw)),
    }
}
