//! The service's Prometheus registry (the engine and delivery register their
//! metrics in it too) and the service's own metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pub rules_active: IntGauge,
    pub rule_reloads: IntCounterVec,
    pub rule_reload_seconds: prometheus::Histogram,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("cepheus_http_requests_total", "HTTP requests by route template and status code"),
            &["route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("cepheus_http_request_duration_seconds", "HTTP request duration by route template")
                .buckets(vec![0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            &["route"],
        )?;
        let rules_active = IntGauge::new("cepheus_rules_active", "Rules in the engine's active set")?;
        let rule_reloads = IntCounterVec::new(
            Opts::new("cepheus_rule_reloads_total", "Swaps of the engine's active rule set, by outcome"),
            &["outcome"],
        )?;
        let rule_reload_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new("cepheus_rule_reload_duration_seconds", "Time to compile and swap in the active rule set")
                .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(rules_active.clone()))?;
        registry.register(Box::new(rule_reloads.clone()))?;
        registry.register(Box::new(rule_reload_seconds.clone()))?;
        // Show both outcomes from the start, so a dashboard's rate() is defined.
        rule_reloads.with_label_values(&["ok"]);
        rule_reloads.with_label_values(&["error"]);
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            rules_active,
            rule_reloads,
            rule_reload_seconds,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec fails only on a malformed family, which the
        // registry rules out at registration.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Middleware: counts and times every request by its route template (not
    /// the raw path, so labels stay few).
    pub async fn track(metrics: Metrics, req: Request, next: Next) -> Response {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
        let start = Instant::now();
        let resp = next.run(req).await;
        metrics
            .http_requests
            .with_label_values(&[route.as_str(), resp.status().as_str()])
            .inc();
        metrics
            .http_duration
            .with_label_values(&[route.as_str()])
            .observe(start.elapsed().as_secs_f64());
        resp
    }
}
