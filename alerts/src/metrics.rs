//! Delivery metrics (names from the contract), registered in the service's
//! registry.

use prometheus::{exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// `outcome` label values of `cepheus_alerts_delivered_total`.
pub mod outcome {
    /// The sink acknowledged it.
    pub const SUCCESS: &str = "success";
    /// An attempt failed; it will be retried.
    pub const RETRY: &str = "retry";
    /// Out of attempts or refused for good: moved to the dead letters.
    pub const DEAD_LETTER: &str = "dead_letter";
    /// Already delivered to this sink within the dedup TTL: not sent again.
    pub const DUPLICATE: &str = "duplicate";
}

#[derive(Clone)]
pub struct Metrics {
    pub delivered: IntCounterVec,
    pub latency: HistogramVec,
    pub depth: IntGauge,
    pub dead: IntCounterVec,
    pub suppressed: IntCounterVec,
    pub circuit_open: IntGaugeVec,
}

impl Metrics {
    pub fn register(registry: &Registry) -> Result<Metrics, prometheus::Error> {
        let m = Metrics {
            delivered: IntCounterVec::new(
                Opts::new("cepheus_alerts_delivered_total", "Alert deliveries by sink and outcome (success, retry, dead_letter, duplicate)"),
                &["sink", "outcome"],
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new("cepheus_alert_delivery_seconds", "From enqueue in the outbox to the sink's acknowledgement")
                    .buckets(exponential_buckets(0.001, 2.0, 20)?),
                &["sink"],
            )?,
            depth: IntGauge::new("cepheus_outbox_depth", "Deliveries (alert x sink) waiting in the outbox")?,
            dead: IntCounterVec::new(Opts::new("cepheus_alerts_dead_letter_total", "Alerts moved to the dead-letter store"), &["sink"])?,
            suppressed: IntCounterVec::new(
                Opts::new("cepheus_alerts_suppressed_total", "Alerts not sent because of the rule's suppress period"),
                &["rule"],
            )?,
            circuit_open: IntGaugeVec::new(
                Opts::new("cepheus_alerts_circuit_open", "1 while a sink's circuit breaker is open or probing"),
                &["sink"],
            )?,
        };
        registry.register(Box::new(m.delivered.clone()))?;
        registry.register(Box::new(m.latency.clone()))?;
        registry.register(Box::new(m.depth.clone()))?;
        registry.register(Box::new(m.dead.clone()))?;
        registry.register(Box::new(m.suppressed.clone()))?;
        registry.register(Box::new(m.circuit_open.clone()))?;
        Ok(m)
    }
}
