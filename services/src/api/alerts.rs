//! `/alerts`: the recent ones (by rule, severity, key) and a live stream
//! (Server-Sent Events).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use super::extract::{key_filters, pairs};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::recent::AlertFilter;
use crate::service::Service;

fn filter_from(raw: Option<&str>) -> ApiResult<(AlertFilter, usize)> {
    let pairs = pairs(raw)?;
    let mut f = AlertFilter {
        key: key_filters(&pairs),
        ..Default::default()
    };
    let mut limit = 100;
    for (k, v) in &pairs {
        match k.as_str() {
            "rule" => f.rule = Some(v.clone()),
            "severity" => f.severities.extend(v.split(',').map(str::to_string)),
            "limit" => {
                limit = v
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("limit: '{v}' is not a number")))?
            }
            k if k.starts_with("key.") => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter '{other}'; use rule, severity, limit or key.<field>"
                )))
            }
        }
    }
    Ok((f, limit))
}

/// Recent alerts, newest first. Filters: `rule`, `severity` (comma list),
/// `key.<field>=<value>`, `limit` (default 100).
#[utoipa::path(get, path = "/alerts", tag = "alerts", security(("bearer" = [])),
    params(("rule" = Option<String>, Query), ("severity" = Option<String>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, description = "alerts", body = Vec<Object>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn recent(State(svc): State<Arc<Service>>, RawQuery(q): RawQuery) -> ApiResult<axum::Json<Vec<cepheus_alerts::Alert>>> {
    let (f, limit) = filter_from(q.as_deref())?;
    Ok(axum::Json(svc.recent.query(&f, limit).iter().map(|a| (**a).clone()).collect()))
}

/// Live alerts as Server-Sent Events (`event: alert`, data: the alert JSON),
/// with the same filters as `/alerts`.
#[utoipa::path(get, path = "/alerts/stream", tag = "alerts", security(("bearer" = [])),
    params(("rule" = Option<String>, Query), ("severity" = Option<String>, Query)),
    responses((status = 200, description = "text/event-stream of alerts", content_type = "text/event-stream"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn stream(State(svc): State<Arc<Service>>, RawQuery(q): RawQuery) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (f, _) = filter_from(q.as_deref())?;
    let events = BroadcastStream::new(svc.subscribe()).filter_map(move |item| match item {
        Ok(a) if f.matches(&a) => Some(Ok(Event::default()
            .event("alert")
            .id(a.id.clone())
            .data(serde_json::to_string(&*a).unwrap_or_default()))),
        Ok(_) => None,
        // A slow client missed some: say so in the stream rather than hiding it.
        Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
            Some(Ok(Event::default().event("lagged").data(n.to_string())))
        }
    });
    let events = futures::StreamExt::take_until(events, svc.stopped());
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
