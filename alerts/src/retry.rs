//! Retry timing: exponential backoff with jitter, and a per-sink circuit
//! breaker. Both take the time as an argument so tests drive them.

use std::time::{Duration, Instant};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Failed attempts after which an alert goes to the dead-letter store.
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Fraction of each delay that is random (0 = none, 1 = "full jitter").
    pub jitter: f64,
    /// Consecutive failures that open a sink's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one probe is let through.
    pub breaker_cooldown_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 12,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            jitter: 0.5,
            breaker_failures: 5,
            breaker_cooldown_ms: 10_000,
        }
    }
}

impl RetryConfig {
    /// Delay before retry number `attempt` (1 = after the first failure);
    /// `unit` is a uniform random number in [0, 1).
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self.initial_backoff_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
        let base = exp.min(self.max_backoff_ms) as f64;
        let jitter = self.jitter.clamp(0.0, 1.0);
        Duration::from_millis((base * (1.0 - jitter * unit.clamp(0.0, 1.0))) as u64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Closed: everything passes. After `threshold` consecutive failures, open:
/// nothing passes for `cooldown`. Then half-open: one probe passes; its
/// success closes the circuit, its failure opens it again.
#[derive(Debug)]
pub struct CircuitBreaker {
    state: State,
    threshold: u32,
    cooldown: Duration,
}

/// Permission for one attempt; `probe` tells the breaker which one it was.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub probe: bool,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker { state: State::Closed { failures: 0 }, threshold: threshold.max(1), cooldown }
    }

    /// A ticket, or how long to wait before asking again.
    pub fn acquire(&mut self, now: Instant) -> Result<Ticket, Duration> {
        match self.state {
            State::Closed { .. } => Ok(Ticket { probe: false }),
            State::Open { until } if now < until => Err(until - now),
            State::Open { .. } | State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                Ok(Ticket { probe: true })
            }
            State::HalfOpen { probing: true } => Err(Duration::from_millis(50)),
        }
    }

    pub fn on_success(&mut self, _t: Ticket) {
        self.state = State::Closed { failures: 0 };
    }

    pub fn on_failure(&mut self, t: Ticket, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 >= self.threshold => State::Open { until: now + self.cooldown },
            State::Closed { failures } => State::Closed { failures: failures + 1 },
            State::HalfOpen { .. } if t.probe => State::Open { until: now + self.cooldown },
            s => s,
        };
    }

    /// A ticket given out but not used (nothing to deliver).
    pub fn release(&mut self, t: Ticket) {
        if t.probe {
            if let State::HalfOpen { .. } = self.state {
                self.state = State::HalfOpen { probing: false };
            }
        }
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let c = RetryConfig { initial_backoff_ms: 100, max_backoff_ms: 1000, jitter: 0.5, ..Default::default() };
        assert_eq!(c.backoff(1, 0.0), Duration::from_millis(100));
        assert_eq!(c.backoff(2, 0.0), Duration::from_millis(200));
        assert_eq!(c.backoff(4, 0.0), Duration::from_millis(800));
        assert_eq!(c.backoff(5, 0.0), Duration::from_millis(1000));
        assert_eq!(c.backoff(60, 0.0), Duration::from_millis(1000));
        assert_eq!(c.backoff(2, 0.999), Duration::from_millis(100));
    }

    #[test]
    fn breaker_opens_probes_and_closes() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(3, Duration::from_secs(10));
        for _ in 0..3 {
            let t = b.acquire(t0).unwrap();
            b.on_failure(t, t0);
        }
        assert!(b.is_open());
        assert_eq!(b.acquire(t0 + Duration::from_secs(4)).unwrap_err(), Duration::from_secs(6));
        let probe = b.acquire(t0 + Duration::from_secs(10)).unwrap();
        assert!(probe.probe);
        assert!(b.acquire(t0 + Duration::from_secs(10)).is_err(), "one probe at a time");
        b.on_failure(probe, t0 + Duration::from_secs(11));
        assert!(b.acquire(t0 + Duration::from_secs(12)).is_err(), "failed probe reopens");
        let probe = b.acquire(t0 + Duration::from_secs(21)).unwrap();
        b.on_success(probe);
        assert!(!b.is_open());
        assert!(!b.acquire(t0 + Duration::from_secs(21)).unwrap().probe);
    }
}
