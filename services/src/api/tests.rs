//! Router-level unit tests with an in-memory engine double. (The integration
//! tests in `tests/api_*.rs` run the real binary with the real engine.)

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tokio::sync::broadcast;
use tower::ServiceExt;

use super::{openapi_doc, route_table, router};
use crate::auth::Role;
use crate::config::{Config, StreamConfig, TokenConfig};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::rules::RuleCatalog;
use crate::runtime::{RuleSpec, Runtime};
use crate::service::Service;
use crate::store::RuleStore;

const FRAUD: &str = include_str!("../../../examples/fraud.cep");

#[derive(Default)]
struct Double {
    sets: Mutex<Vec<Vec<(String, u64)>>>,
    tx: Mutex<Option<broadcast::Sender<Arc<cepheus_alerts::Alert>>>>,
}

impl Runtime for Double {
    fn set_rules(&self, rules: Vec<RuleSpec>) -> Result<Value, ApiError> {
        self.sets.lock().unwrap().push(rules.iter().map(|r| (r.id.clone(), r.version)).collect());
        Ok(json!({}))
    }
    fn append(&self, _: &str, ndjson: &[u8]) -> Result<Value, ApiError> {
        Ok(json!({ "accepted": ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() }))
    }
    fn alerts(&self) -> broadcast::Receiver<Arc<cepheus_alerts::Alert>> {
        let (tx, rx) = broadcast::channel(16);
        *self.tx.lock().unwrap() = Some(tx);
        rx
    }
    fn checkpoint_now(&self) -> Result<Value, ApiError> {
        Ok(json!({ "id": 1 }))
    }
    fn savepoint(&self, name: &str) -> Result<Value, ApiError> {
        Ok(json!({ "name": name }))
    }
    fn list_checkpoints(&self) -> Result<Value, ApiError> {
        Ok(json!([]))
    }
    fn query_state(&self, rule: &str, key: &serde_json::Map<String, Value>) -> Result<Value, ApiError> {
        Ok(json!({ "rule": rule, "key": key }))
    }
    fn status(&self) -> Value {
        json!({})
    }
    fn shutdown(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

const TOKENS: [(&str, Role); 3] = [("viewer-token", Role::Viewer), ("analyst-token", Role::Analyst), ("admin-token", Role::Admin)];

async fn setup(body_limit: usize) -> (axum::Router, Arc<Double>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config::load(None).expect("defaults");
    config.server.body_limit_bytes = body_limit;
    config.server.tokens = TOKENS
        .iter()
        .map(|(t, r)| TokenConfig { name: r.as_str().into(), token: t.to_string(), role: *r })
        .collect();
    config.streams = vec![StreamConfig { name: "transactions".into(), schema: None, schema_file: None, partitions: None, topic: None }];
    let catalog = RuleCatalog::new(&config.streams, None).expect("catalog");
    let store = RuleStore::open(dir.path()).expect("store");
    let svc = Arc::new(Service::new(config, catalog, store, Metrics::new().expect("metrics")));
    let double = Arc::new(Double::default());
    svc.attach(double.clone()).await.expect("attach");
    (router(svc), double, dir)
}

async fn call(app: &axum::Router, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The status only: the body of a live stream never ends.
async fn status_of(app: &axum::Router, method: Method, path: &str, token: Option<&str>) -> StatusCode {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    app.clone().oneshot(req.body(Body::empty()).expect("request")).await.expect("response").status()
}

#[test]
fn openapi_document_lists_exactly_the_served_routes() {
    let doc = serde_json::to_value(openapi_doc()).expect("doc");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut served: Vec<(String, String)> = route_table().iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_protected_route_answers_401_without_a_token_and_403_below_its_role() {
    let (app, _, _dir) = setup(1 << 20).await;
    for r in route_table() {
        let path = r.path.replace("{id}", "card_testing").replace("{version}", "1").replace("{name}", "transactions");
        let Some(role) = r.role else { continue };
        let (s, body) = call(&app, r.method.clone(), &path, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{} {path}", r.method);
        assert_eq!(body["kind"], "user");
        let (s, _) = call(&app, r.method.clone(), &path, Some("wrong-token"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{} {path}", r.method);
        for (token, has) in TOKENS {
            let s = status_of(&app, r.method.clone(), &path, Some(token)).await;
            if has < role {
                assert_eq!(s, StatusCode::FORBIDDEN, "{} {path} as {has:?}", r.method);
            } else {
                assert!(s != StatusCode::FORBIDDEN && s != StatusCode::UNAUTHORIZED, "{} {path} as {has:?}: {s}", r.method);
            }
        }
    }
}

#[tokio::test]
async fn rule_lifecycle_swaps_the_engine_set_each_time() {
    let (app, double, _dir) = setup(1 << 20).await;
    let a = Some("analyst-token");
    let (s, body) = call(&app, Method::POST, "/rules", a, Some(json!({ "source": FRAUD }))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["rule"]["version"], 1);
    assert_eq!(body["active"], true);
    let (s, _) = call(&app, Method::POST, "/rules", a, Some(json!({ "source": FRAUD }))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let v2 = FRAUD.replace("amount > 500", "amount > 600");
    let (s, body) = call(&app, Method::PUT, "/rules/card_testing", a, Some(json!({ "source": v2 }))).await;
    assert_eq!((s, body["rule"]["version"].clone()), (StatusCode::OK, json!(2)));
    let (s, _) = call(&app, Method::POST, "/rules/card_testing/disable", a, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = call(&app, Method::POST, "/rules/card_testing/rollback", a, Some(json!({ "version": 1 }))).await;
    assert_eq!((s, body["rule"]["version"].clone()), (StatusCode::OK, json!(3)));
    let (s, _) = call(&app, Method::POST, "/rules/card_testing/enable", a, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = call(&app, Method::GET, "/rules/card_testing/versions", Some("viewer-token"), None).await;
    assert_eq!((s, body.as_array().map(Vec::len)), (StatusCode::OK, Some(3)));
    let (s, body) = call(&app, Method::GET, "/rules/card_testing/versions/3", Some("viewer-token"), None).await;
    assert_eq!((s, body["change"].clone()), (StatusCode::OK, json!("rollback to 1")));
    let (s, _) = call(&app, Method::DELETE, "/rules/card_testing", a, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&app, Method::GET, "/rules/card_testing", a, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let sets = double.sets.lock().unwrap().clone();
    let ct = |v: u64| vec![("card_testing".to_string(), v)];
    // attach, create, replace, disable, rollback (disabled), enable, delete
    assert_eq!(sets, vec![vec![], ct(1), ct(2), vec![], vec![], ct(3), vec![]]);
}

#[tokio::test]
async fn bad_rules_get_400_with_check_diagnostics_and_big_bodies_413() {
    let (app, _, _dir) = setup(4096).await;
    let bad = FRAUD.replace("amount < 2.00", "amout < 2.00");
    let (s, body) = call(&app, Method::POST, "/rules", Some("analyst-token"), Some(json!({ "source": bad }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["kind"], "user");
    assert_eq!(body["details"]["diagnostics"][0]["code"], "unknown-field");
    assert_eq!(body["details"]["diagnostics"][0]["start"]["line"], 20);
    let (s, body) = call(&app, Method::POST, "/rules/validate", Some("analyst-token"), Some(json!({ "source": FRAUD }))).await;
    assert_eq!((s, body["rule"].clone()), (StatusCode::OK, json!("card_testing")));
    let (s, body) = call(&app, Method::POST, "/rules", Some("analyst-token"), Some(json!({ "source": "x".repeat(5000) }))).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["kind"], "user");
    let (s, body) = call(&app, Method::GET, "/nope", None, None).await;
    assert_eq!((s, body["kind"].clone()), (StatusCode::NOT_FOUND, json!("user")));
}

#[tokio::test]
async fn state_queries_type_the_key_and_need_every_key_field() {
    let (app, _, _dir) = setup(1 << 20).await;
    call(&app, Method::POST, "/rules", Some("analyst-token"), Some(json!({ "source": FRAUD }))).await;
    let (s, body) = call(&app, Method::GET, "/rules/card_testing/state?key.card_id=c-17", Some("viewer-token"), None).await;
    assert_eq!((s, body["key"].clone()), (StatusCode::OK, json!({ "card_id": "c-17" })));
    let (s, _) = call(&app, Method::GET, "/rules/card_testing/state", Some("viewer-token"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(&app, Method::GET, "/rules/nope/state?key.card_id=1", Some("viewer-token"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
