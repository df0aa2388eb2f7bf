//! `/rules`: create, replace, validate, delete, enable, disable, versions,
//! roll back. Every stored change is a new version and takes effect in the
//! engine before the response returns.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use serde::{Deserialize, Serialize};

use super::extract::{Json, Path};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::service::{RuleChange, Service};
use crate::store::{RuleVersion, StoredRule};

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// The rule text (one rule), with any stream declarations it needs.
    pub source: String,
    /// Run it (default: true for a new rule, unchanged for a replace).
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    pub source: String,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The version whose text becomes the new latest version.
    pub version: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Validation {
    pub valid: bool,
    pub rule: String,
    pub stream: String,
    /// Warnings (errors answer 400), as `cepheus rules check --format json`.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<cepheus_dsl::diagnostic::JsonDiagnostic>,
    /// The compiled plan (as `cepheus rules explain`).
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
}

/// All stored rules (latest versions).
#[utoipa::path(get, path = "/rules", tag = "rules", security(("bearer" = [])), responses(
    (status = 200, body = Vec<StoredRule>), (status = 401, body = ErrorBody)))]
pub async fn list(State(svc): State<Arc<Service>>) -> axum::Json<Vec<StoredRule>> {
    axum::Json(svc.list())
}

/// Store a new rule (version 1); it runs within a second unless `enabled: false`.
#[utoipa::path(post, path = "/rules", tag = "rules", security(("bearer" = [])), request_body = RuleBody, responses(
    (status = 201, body = RuleChange),
    (status = 400, description = "the rule does not check: diagnostics in details", body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 409, description = "a rule of that name exists", body = ErrorBody),
    (status = 413, body = ErrorBody)))]
pub async fn create(State(svc): State<Arc<Service>>, Extension(caller): Extension<Caller>, Json(body): Json<RuleBody>) -> ApiResult<(StatusCode, axum::Json<RuleChange>)> {
    let change = svc.create(&body.source, body.enabled, &caller.name).await?;
    Ok((StatusCode::CREATED, axum::Json(change)))
}

/// Check a rule without storing it.
#[utoipa::path(post, path = "/rules/validate", tag = "rules", security(("bearer" = [])), request_body = SourceBody, responses(
    (status = 200, body = Validation),
    (status = 400, description = "diagnostics in details", body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn validate(State(svc): State<Arc<Service>>, Json(body): Json<SourceBody>) -> ApiResult<axum::Json<Validation>> {
    let c = svc.validate(&body.source)?;
    Ok(axum::Json(Validation {
        valid: true,
        rule: c.plan.name.clone(),
        stream: c.plan.stream.name.clone(),
        plan: serde_json::to_value(&c.plan).unwrap_or_default(),
        diagnostics: c.diagnostics,
    }))
}

/// One rule (its latest version).
#[utoipa::path(get, path = "/rules/{id}", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), responses(
    (status = 200, body = StoredRule), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(svc): State<Arc<Service>>, Path(id): Path<String>) -> ApiResult<axum::Json<StoredRule>> {
    Ok(axum::Json(svc.get(&id)?))
}

/// Store a new version of a rule.
#[utoipa::path(put, path = "/rules/{id}", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), request_body = RuleBody, responses(
    (status = 200, body = RuleChange),
    (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn replace(State(svc): State<Arc<Service>>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Json(body): Json<RuleBody>) -> ApiResult<axum::Json<RuleChange>> {
    Ok(axum::Json(svc.replace(&id, &body.source, body.enabled, &caller.name).await?))
}

/// Remove a rule: it stops at once; its versions stay numbered.
#[utoipa::path(delete, path = "/rules/{id}", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), responses(
    (status = 204, description = "deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(State(svc): State<Arc<Service>>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    svc.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a stored rule.
#[utoipa::path(post, path = "/rules/{id}/enable", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), responses(
    (status = 200, body = RuleChange), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn enable(State(svc): State<Arc<Service>>, Path(id): Path<String>) -> ApiResult<axum::Json<RuleChange>> {
    Ok(axum::Json(svc.set_enabled(&id, true).await?))
}

/// Stop a rule but keep it stored.
#[utoipa::path(post, path = "/rules/{id}/disable", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), responses(
    (status = 200, body = RuleChange), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable(State(svc): State<Arc<Service>>, Path(id): Path<String>) -> ApiResult<axum::Json<RuleChange>> {
    Ok(axum::Json(svc.set_enabled(&id, false).await?))
}

/// Every version of a rule, oldest first.
#[utoipa::path(get, path = "/rules/{id}/versions", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), responses(
    (status = 200, body = Vec<RuleVersion>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn versions(State(svc): State<Arc<Service>>, Path(id): Path<String>) -> ApiResult<axum::Json<Vec<RuleVersion>>> {
    Ok(axum::Json(svc.versions(&id)?))
}

/// One version of a rule.
#[utoipa::path(get, path = "/rules/{id}/versions/{version}", tag = "rules", security(("bearer" = [])),
    params(("id" = String, Path, description = "rule name"), ("version" = u64, Path, description = "version number")), responses(
    (status = 200, body = RuleVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn version(State(svc): State<Arc<Service>>, Path((id, version)): Path<(String, u64)>) -> ApiResult<axum::Json<RuleVersion>> {
    Ok(axum::Json(svc.version(&id, version)?))
}

/// Store an earlier version's text again, as a new version.
#[utoipa::path(post, path = "/rules/{id}/rollback", tag = "rules", security(("bearer" = [])), params(("id" = String, Path, description = "rule name")), request_body = RollbackBody, responses(
    (status = 200, body = RuleChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rollback(State(svc): State<Arc<Service>>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Json(body): Json<RollbackBody>) -> ApiResult<axum::Json<RuleChange>> {
    Ok(axum::Json(svc.rollback(&id, body.version, &caller.name).await?))
}
