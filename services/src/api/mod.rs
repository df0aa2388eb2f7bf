//! The REST API: one file per resource; this file puts the routes together
//! with the role each needs, and generates the OpenAPI document from the
//! handlers' annotations.

pub mod alerts;
pub mod backtest;
pub mod checkpoints;
pub mod extract;
pub mod health;
pub mod rules;
pub mod state;
pub mod streams;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::{Role, Tokens};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::service::Service;

#[derive(OpenApi)]
#[openapi(
    info(title = "Cepheus", description = "Complex event processing and real-time rules: rules, backtests, alerts, state, streams, checkpoints."),
    paths(
        health::healthz, health::readyz, health::metrics, health::openapi, health::status,
        rules::list, rules::create, rules::validate, rules::get, rules::replace, rules::delete,
        rules::enable, rules::disable, rules::versions, rules::version, rules::rollback,
        state::query,
        backtest::backtest,
        alerts::recent, alerts::stream,
        streams::list, streams::append,
        checkpoints::list, checkpoints::take, checkpoints::savepoint,
    ),
    components(schemas(crate::error::ErrorBody, crate::auth::Role)),
    modifiers(&Bearer),
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// One served route: method, path template, the role it needs (`None`: public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub role: Option<Role>,
}

/// Every route the service serves. The router is built from this table, so
/// a test can compare it with the OpenAPI document.
pub fn route_table() -> Vec<RouteInfo> {
    use Role::*;
    let r = |method: Method, path: &'static str, role: Option<Role>| RouteInfo { method, path, role };
    vec![
        r(Method::GET, "/healthz", None),
        r(Method::GET, "/readyz", None),
        r(Method::GET, "/metrics", None),
        r(Method::GET, "/openapi.json", None),
        r(Method::GET, "/status", Some(Viewer)),
        r(Method::GET, "/rules", Some(Viewer)),
        r(Method::POST, "/rules", Some(Analyst)),
        r(Method::POST, "/rules/validate", Some(Analyst)),
        r(Method::GET, "/rules/{id}", Some(Viewer)),
        r(Method::PUT, "/rules/{id}", Some(Analyst)),
        r(Method::DELETE, "/rules/{id}", Some(Analyst)),
        r(Method::POST, "/rules/{id}/enable", Some(Analyst)),
        r(Method::POST, "/rules/{id}/disable", Some(Analyst)),
        r(Method::GET, "/rules/{id}/versions", Some(Viewer)),
        r(Method::GET, "/rules/{id}/versions/{version}", Some(Viewer)),
        r(Method::POST, "/rules/{id}/rollback", Some(Analyst)),
        r(Method::GET, "/rules/{id}/state", Some(Viewer)),
        r(Method::POST, "/backtest", Some(Analyst)),
        r(Method::GET, "/alerts", Some(Viewer)),
        r(Method::GET, "/alerts/stream", Some(Viewer)),
        r(Method::GET, "/streams", Some(Viewer)),
        r(Method::POST, "/streams/{name}/events", Some(Analyst)),
        r(Method::GET, "/checkpoints", Some(Viewer)),
        r(Method::POST, "/checkpoints", Some(Admin)),
        r(Method::POST, "/savepoints", Some(Admin)),
    ]
}

fn handler(method: &Method, path: &str) -> Option<axum::routing::MethodRouter<Arc<Service>>> {
    use axum::routing::{delete, get, post, put};
    Some(match (method.as_str(), path) {
        ("GET", "/healthz") => get(health::healthz),
        ("GET", "/readyz") => get(health::readyz),
        ("GET", "/metrics") => get(health::metrics),
        ("GET", "/openapi.json") => get(health::openapi),
        ("GET", "/status") => get(health::status),
        ("GET", "/rules") => get(rules::list),
        ("POST", "/rules") => post(rules::create),
        ("POST", "/rules/validate") => post(rules::validate),
        ("GET", "/rules/{id}") => get(rules::get),
        ("PUT", "/rules/{id}") => put(rules::replace),
        ("DELETE", "/rules/{id}") => delete(rules::delete),
        ("POST", "/rules/{id}/enable") => post(rules::enable),
        ("POST", "/rules/{id}/disable") => post(rules::disable),
        ("GET", "/rules/{id}/versions") => get(rules::versions),
        ("GET", "/rules/{id}/versions/{version}") => get(rules::version),
        ("POST", "/rules/{id}/rollback") => post(rules::rollback),
        ("GET", "/rules/{id}/state") => get(state::query),
        ("POST", "/backtest") => post(backtest::backtest),
        ("GET", "/alerts") => get(alerts::recent),
        ("GET", "/alerts/stream") => get(alerts::stream),
        ("GET", "/streams") => get(streams::list),
        ("POST", "/streams/{name}/events") => post(streams::append),
        ("GET", "/checkpoints") => get(checkpoints::list),
        ("POST", "/checkpoints") => post(checkpoints::take),
        ("POST", "/savepoints") => post(checkpoints::savepoint),
        _ => return None,
    })
}

/// The whole HTTP surface: routes with their roles, body limit, request
/// metrics, JSON 404s.
pub fn router(svc: Arc<Service>) -> Router {
    let mut app: Router<Arc<Service>> = Router::new();
    for route in route_table() {
        let Some(mut h) = handler(&route.method, route.path) else {
            // The table and the match above are kept together; a gap is a
            // programming error caught by the unit test below.
            tracing::error!(method = %route.method, path = route.path, "route without handler");
            continue;
        };
        if let Some(role) = route.role {
            let tokens = svc.tokens.clone();
            h = h.route_layer(axum::middleware::from_fn(move |req: Request, next: Next| {
                let tokens = tokens.clone();
                async move { require(tokens, role, req, next).await }
            }));
        }
        app = app.route(route.path, h);
    }
    let metrics: Metrics = svc.metrics.clone();
    let limit = svc.config.server.body_limit_bytes;
    app.fallback(not_found)
        .with_state(svc)
        // The web console's page and files (not part of the API document).
        .merge(crate::console::router())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(move |req: Request, next: Next| {
            let m = metrics.clone();
            async move { Metrics::track(m, req, next).await }
        }))
}

async fn require(tokens: Tokens, role: Role, mut req: Request, next: Next) -> Response {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match tokens.authorize(header, role) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}; see /openapi.json", req.method(), req.uri().path()))
        .with_details(serde_json::json!({ "route": null }))
}

#[cfg(test)]
#[test]
fn every_table_route_has_a_handler() {
    for r in route_table() {
        assert!(handler(&r.method, r.path).is_some(), "{} {}", r.method, r.path);
    }
}
