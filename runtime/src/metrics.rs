//! The runtime's Prometheus metrics (names as DESIGN.md's "Observability"),
//! registered in the registry the service exposes on `/metrics`.

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct EngineMetrics {
    pub events: IntCounterVec,
    pub events_malformed: IntCounterVec,
    pub events_late: IntCounterVec,
    pub rule_matches: IntCounterVec,
    pub alerts: IntCounterVec,
    pub event_to_alert: Histogram,
    pub watermark_lag: GaugeVec,
    pub consumer_lag: IntGaugeVec,
    pub partial_matches: IntGaugeVec,
    pub open_windows: IntGaugeVec,
    pub rule_throttled: IntGaugeVec,
    pub state_bytes: IntGauge,
    pub checkpoint_duration: Histogram,
    pub checkpoint_last_success: Gauge,
    pub checkpoints: IntCounterVec,
}

impl EngineMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<EngineMetrics, prometheus::Error> {
        let m = EngineMetrics {
            events: IntCounterVec::new(
                Opts::new("cepheus_events_total", "Events read and decoded, per stream"),
                &["stream"],
            )?,
            events_malformed: IntCounterVec::new(
                Opts::new(
                    "cepheus_events_malformed_total",
                    "Events that did not decode (dead-lettered), per stream and reason",
                ),
                &["stream", "reason"],
            )?,
            events_late: IntCounterVec::new(
                Opts::new("cepheus_events_late_total", "Events dropped as late, per rule"),
                &["rule"],
            )?,
            rule_matches: IntCounterVec::new(
                Opts::new("cepheus_rule_matches_total", "Matches and fired windows, per rule"),
                &["rule"],
            )?,
            alerts: IntCounterVec::new(
                Opts::new("cepheus_alerts_total", "Alerts produced, per rule and severity"),
                &["rule", "severity"],
            )?,
            event_to_alert: Histogram::with_opts(
                HistogramOpts::new(
                    "cepheus_event_to_alert_seconds",
                    "From the source receiving the newest event of a batch to its alerts being emitted",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
            )?,
            watermark_lag: GaugeVec::new(
                Opts::new(
                    "cepheus_watermark_lag_seconds",
                    "Wall clock minus the lowest task watermark, per event-time stream",
                ),
                &["stream"],
            )?,
            consumer_lag: IntGaugeVec::new(
                Opts::new("cepheus_consumer_lag", "Records not yet read, summed over owned partitions"),
                &["stream"],
            )?,
            partial_matches: IntGaugeVec::new(
                Opts::new("cepheus_partial_matches", "Partial matches in progress, per rule"),
                &["rule"],
            )?,
            open_windows: IntGaugeVec::new(
                Opts::new("cepheus_open_windows", "Open windows (window state units), per rule"),
                &["rule"],
            )?,
            rule_throttled: IntGaugeVec::new(
                Opts::new(
                    "cepheus_rule_throttled",
                    "1 while a rule hits its per-key limit (partial matches or open windows) in the last minute",
                ),
                &["rule"],
            )?,
            state_bytes: IntGauge::new(
                "cepheus_state_bytes",
                "Bytes of operator state: the size of the last checkpoint of every task",
            )?,
            checkpoint_duration: Histogram::with_opts(
                HistogramOpts::new("cepheus_checkpoint_duration_seconds", "Duration of a task checkpoint")
                    .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            )?,
            checkpoint_last_success: Gauge::new(
                "cepheus_checkpoint_last_success_timestamp_seconds",
                "Wall-clock time of the last successful task checkpoint",
            )?,
            checkpoints: IntCounterVec::new(
                Opts::new("cepheus_checkpoints_total", "Task checkpoints, per outcome (success, failure)"),
                &["outcome"],
            )?,
        };
        registry.register(Box::new(m.events.clone()))?;
        registry.register(Box::new(m.events_malformed.clone()))?;
        registry.register(Box::new(m.events_late.clone()))?;
        registry.register(Box::new(m.rule_matches.clone()))?;
        registry.register(Box::new(m.alerts.clone()))?;
        registry.register(Box::new(m.event_to_alert.clone()))?;
        registry.register(Box::new(m.watermark_lag.clone()))?;
        registry.register(Box::new(m.consumer_lag.clone()))?;
        registry.register(Box::new(m.partial_matches.clone()))?;
        registry.register(Box::new(m.open_windows.clone()))?;
        registry.register(Box::new(m.rule_throttled.clone()))?;
        registry.register(Box::new(m.state_bytes.clone()))?;
        registry.register(Box::new(m.checkpoint_duration.clone()))?;
        registry.register(Box::new(m.checkpoint_last_success.clone()))?;
        registry.register(Box::new(m.checkpoints.clone()))?;
        Ok(m)
    }
}
