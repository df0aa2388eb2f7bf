//! gRPC (tonic): the rule operations and a server-streaming subscription to
//! live alerts. Same roles as REST, from `authorization: Bearer <token>`.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::recent::AlertFilter;
use crate::service::{RuleChange, Service};
use crate::store::StoredRule;

pub mod proto {
    tonic::include_proto!("cepheus.v1");
}

use proto::alerts_server::{Alerts, AlertsServer};
use proto::rules_server::{Rules, RulesServer};

#[derive(Clone)]
pub struct Grpc {
    svc: Arc<Service>,
}

/// The gRPC services, ready for `tonic::transport::Server::add_service`.
pub fn services(svc: Arc<Service>) -> (RulesServer<Grpc>, AlertsServer<Grpc>) {
    let g = Grpc { svc };
    (RulesServer::new(g.clone()), AlertsServer::new(g))
}

impl Grpc {
    fn auth<T>(&self, req: &Request<T>, role: Role) -> Result<Caller, Status> {
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        self.svc.tokens.authorize(header, role).map_err(status)
    }
}

/// One mapping from the service's error classes to gRPC codes; the JSON
/// error body (with diagnostics) travels as the status details.
pub fn status(e: ApiError) -> Status {
    use axum::http::StatusCode as S;
    use tonic::Code;
    let code = match e.status {
        S::BAD_REQUEST => Code::InvalidArgument,
        S::UNAUTHORIZED => Code::Unauthenticated,
        S::FORBIDDEN => Code::PermissionDenied,
        S::NOT_FOUND => Code::NotFound,
        S::CONFLICT => Code::AlreadyExists,
        S::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        S::SERVICE_UNAVAILABLE | S::BAD_GATEWAY => Code::Unavailable,
        _ => Code::Internal,
    };
    let details = serde_json::to_vec(&e.body()).unwrap_or_default();
    Status::with_details(code, e.message, details.into())
}

fn rule(r: StoredRule) -> proto::Rule {
    proto::Rule {
        id: r.id,
        version: r.version,
        enabled: r.enabled,
        source: r.source,
        stored_at: r.stored_at,
        versions: r.versions,
    }
}

fn change(c: RuleChange) -> proto::RuleChange {
    proto::RuleChange {
        rule: Some(rule(c.rule)),
        active: c.active,
        diagnostics_json: serde_json::to_string(&c.diagnostics).unwrap_or_else(|_| "[]".into()),
        reload_ms: c.reload_ms,
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Rules for Grpc {
    async fn list_rules(&self, req: Request<proto::ListRulesRequest>) -> R<proto::ListRulesResponse> {
        self.auth(&req, Role::Viewer)?;
        Ok(Response::new(proto::ListRulesResponse {
            rules: self.svc.list().into_iter().map(rule).collect(),
        }))
    }

    async fn get_rule(&self, req: Request<proto::RuleRef>) -> R<proto::Rule> {
        self.auth(&req, Role::Viewer)?;
        Ok(Response::new(rule(self.svc.get(&req.get_ref().id).map_err(status)?)))
    }

    async fn create_rule(&self, req: Request<proto::CreateRuleRequest>) -> R<proto::RuleChange> {
        let caller = self.auth(&req, Role::Analyst)?;
        let r = req.into_inner();
        Ok(Response::new(change(self.svc.create(&r.source, r.enabled, &caller.name).await.map_err(status)?)))
    }

    async fn replace_rule(&self, req: Request<proto::ReplaceRuleRequest>) -> R<proto::RuleChange> {
        let caller = self.auth(&req, Role::Analyst)?;
        let r = req.into_inner();
        Ok(Response::new(change(self.svc.replace(&r.id, &r.source, r.enabled, &caller.name).await.map_err(status)?)))
    }

    async fn validate_rule(&self, req: Request<proto::ValidateRuleRequest>) -> R<proto::ValidateRuleResponse> {
        self.auth(&req, Role::Analyst)?;
        let c = self.svc.validate(&req.get_ref().source).map_err(status)?;
        Ok(Response::new(proto::ValidateRuleResponse {
            rule: c.plan.name.clone(),
            stream: c.plan.stream.name.clone(),
            diagnostics_json: serde_json::to_string(&c.diagnostics).unwrap_or_else(|_| "[]".into()),
        }))
    }

    async fn delete_rule(&self, req: Request<proto::RuleRef>) -> R<proto::DeleteRuleResponse> {
        self.auth(&req, Role::Analyst)?;
        self.svc.delete(&req.get_ref().id).await.map_err(status)?;
        Ok(Response::new(proto::DeleteRuleResponse {}))
    }

    async fn enable_rule(&self, req: Request<proto::RuleRef>) -> R<proto::RuleChange> {
        self.auth(&req, Role::Analyst)?;
        Ok(Response::new(change(self.svc.set_enabled(&req.get_ref().id, true).await.map_err(status)?)))
    }

    async fn disable_rule(&self, req: Request<proto::RuleRef>) -> R<proto::RuleChange> {
        self.auth(&req, Role::Analyst)?;
        Ok(Response::new(change(self.svc.set_enabled(&req.get_ref().id, false).await.map_err(status)?)))
    }

    async fn list_versions(&self, req: Request<proto::RuleRef>) -> R<proto::ListVersionsResponse> {
        self.auth(&req, Role::Viewer)?;
        let versions = self
            .svc
            .versions(&req.get_ref().id)
            .map_err(status)?
            .into_iter()
            .map(|v| proto::RuleVersion {
                version: v.version,
                source: v.source,
                stored_at: v.stored_at,
                author: v.author,
                change: v.change,
            })
            .collect();
        Ok(Response::new(proto::ListVersionsResponse { versions }))
    }

    async fn rollback_rule(&self, req: Request<proto::RollbackRuleRequest>) -> R<proto::RuleChange> {
        let caller = self.auth(&req, Role::Analyst)?;
        let r = req.into_inner();
        Ok(Response::new(change(self.svc.rollback(&r.id, r.version, &caller.name).await.map_err(status)?)))
    }
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<proto::Alert, Status>> + Send>>;

#[tonic::async_trait]
impl Alerts for Grpc {
    type SubscribeAlertsStream = AlertStream;

    async fn subscribe_alerts(&self, req: Request<proto::SubscribeAlertsRequest>) -> R<AlertStream> {
        self.auth(&req, Role::Viewer)?;
        let r = req.into_inner();
        let rules = r.rules;
        let filter = AlertFilter {
            rule: None,
            severities: r.severities,
            key: Vec::new(),
        };
        let stream = BroadcastStream::new(self.svc.subscribe()).filter_map(move |item| match item {
            Ok(a) if filter.matches(&a) && (rules.is_empty() || rules.contains(&a.rule)) => Some(Ok(proto::Alert {
                id: a.id.clone(),
                rule: a.rule.clone(),
                rule_version: a.rule_version,
                severity: a.severity.clone(),
                message: a.message.clone(),
                event_time: a.event_time.clone(),
                detected_at: a.detected_at.clone(),
                key_json: serde_json::to_string(&a.key).unwrap_or_default(),
                json: serde_json::to_string(&*a).unwrap_or_default(),
            })),
            Ok(_) => None,
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                Some(Err(Status::data_loss(format!("subscriber too slow: {n} alerts skipped; resubscribe"))))
            }
        });
        let stream = futures::StreamExt::take_until(stream, self.svc.stopped());
        Ok(Response::new(Box::pin(stream)))
    }
}
