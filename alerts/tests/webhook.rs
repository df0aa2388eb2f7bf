//! The webhook and Slack sinks against real HTTP receivers on loopback:
//! signatures (also during a rotation), dedup of re-emitted ids, dead
//! letters and their replay, suppression, metrics.

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cepheus_alerts::{AlertOutput, Delivery, DeliveryConfig};
use common::*;

const S1: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const S2: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_delivery_with_rotation_and_dedup() {
    // The receiver checks that both the old and the new secret signed.
    let rx = Receiver::start(0, &[S1, S2]).await;
    let dir = tempfile::tempdir().unwrap();
    let reg = prometheus::Registry::new();
    let d = Delivery::open(webhook_config(&rx.url(), &[S1, S2], ""), dir.path(), &reg).unwrap();
    let alerts: Vec<_> = (0..50).map(|i| alert(i, "card_testing")).collect();
    d.emit(&alerts).unwrap();
    assert!(wait_until(Duration::from_secs(20), || rx.state.distinct() == 50).await, "got {}", rx.state.distinct());
    assert!(wait_until(Duration::from_secs(5), || d.outbox_depth() == 0).await);
    // Re-emitting the same ids (a replay after a crash) sends nothing.
    d.emit(&alerts).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.state.bad_signatures.load(Ordering::SeqCst), 0);
    assert_eq!(rx.state.duplicates(), 0);
    assert_eq!(rx.state.requests.load(Ordering::SeqCst), 50);
    let body = rx.state.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["rule"], "card_testing");
    assert_eq!(metric(&reg, "cepheus_alerts_delivered_total", &[("sink", "hook"), ("outcome", "success")]), 50.0);
    assert_eq!(metric(&reg, "cepheus_alerts_delivered_total", &[("sink", "hook"), ("outcome", "duplicate")]), 50.0);
    assert_eq!(metric(&reg, "cepheus_alert_delivery_seconds", &[("sink", "hook")]), 50.0);
    assert_eq!(metric(&reg, "cepheus_outbox_depth", &[]), 0.0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_by_the_receiver() {
    let rx = Receiver::start(0, &[S2]).await;
    let dir = tempfile::tempdir().unwrap();
    let reg = prometheus::Registry::new();
    let mut cfg = webhook_config(&rx.url(), &[S1], "");
    cfg.retry.max_attempts = 1;
    let d = Delivery::open(cfg, dir.path(), &reg).unwrap();
    d.emit(&[alert(1, "r")]).unwrap();
    // 401 is permanent: straight to the dead letters.
    assert!(wait_until(Duration::from_secs(10), || d.dead_letters().unwrap().len() == 1).await);
    assert_eq!(rx.state.bad_signatures.load(Ordering::SeqCst), 1);
    assert_eq!(rx.state.distinct(), 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed_once() {
    let rx = Receiver::start(0, &[S1]).await;
    rx.state.mode.store(FAIL_500, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let reg = prometheus::Registry::new();
    let mut cfg = webhook_config(&rx.url(), &[S1], "");
    cfg.retry.max_attempts = 3;
    cfg.retry.breaker_failures = 100;
    let d = Delivery::open(cfg, dir.path(), &reg).unwrap();
    d.emit(&[alert(1, "r"), alert(2, "r")]).unwrap();
    assert!(wait_until(Duration::from_secs(15), || d.dead_letters().unwrap().len() == 2).await);
    let dl = d.dead_letters().unwrap();
    assert_eq!(dl[0].attempts, 3);
    assert!(dl[0].last_error.contains("500"), "{}", dl[0].last_error);
    assert_eq!(rx.state.requests.load(Ordering::SeqCst), 6);
    assert_eq!(metric(&reg, "cepheus_alerts_dead_letter_total", &[("sink", "hook")]), 2.0);
    assert_eq!(metric(&reg, "cepheus_alerts_delivered_total", &[("outcome", "retry")]), 4.0);

    rx.state.mode.store(OK, Ordering::SeqCst);
    d.replay_dead_letter("r-000001").unwrap();
    assert!(wait_until(Duration::from_secs(10), || rx.state.distinct() == 1).await);
    assert_eq!(d.dead_letters().unwrap().len(), 1);
    let err = d.replay_dead_letter("r-000001").unwrap_err();
    assert_eq!(err.kind(), cepheus_alerts::ErrorKind::User);
    // Delivered ids are remembered: emitting it again sends nothing.
    d.emit(&[alert(1, "r")]).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.state.duplicates(), 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppression_sends_one_per_rule_and_key_per_period() {
    let rx = Receiver::start(0, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let reg = prometheus::Registry::new();
    let d = Delivery::open(webhook_config(&rx.url(), &[], ""), dir.path(), &reg).unwrap();
    d.set_suppress_periods(HashMap::from([("velocity".to_string(), 30 * 60_000)]));
    let mk = |i: usize, minute: u32, card: &str| {
        let mut a = alert(i, "velocity");
        a.event_time = format!("2026-01-01T00:{minute:02}:00Z");
        a.key.insert("card".into(), card.into());
        a
    };
    // card a: 00:00 sent, 00:10 and 00:20 suppressed, 00:40 sent; card b: sent.
    d.emit(&[mk(1, 0, "a"), mk(2, 10, "a"), mk(3, 0, "b")]).unwrap();
    d.emit(&[mk(4, 20, "a"), mk(5, 40, "a")]).unwrap();
    d.emit(&[alert(9, "other")]).unwrap();
    assert!(wait_until(Duration::from_secs(10), || rx.state.distinct() == 4).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got: Vec<String> = rx.state.accepted.lock().unwrap().keys().cloned().collect();
    got.sort();
    assert_eq!(got, ["other-000009", "velocity-000001", "velocity-000003", "velocity-000005"]);
    assert_eq!(metric(&reg, "cepheus_alerts_suppressed_total", &[("rule", "velocity")]), 2.0);
    let kept: Vec<String> = d.suppressed(Some("velocity")).unwrap().into_iter().map(|s| s.alert.id).collect();
    assert_eq!(kept, ["velocity-000002", "velocity-000004"]);
    d.shutdown().await;
    drop(d);
    // The state survives a reopen: 00:50 for card a is still suppressed.
    let reg = prometheus::Registry::new();
    let d = Delivery::open(webhook_config(&rx.url(), &[], ""), dir.path(), &reg).unwrap();
    d.set_suppress_periods(HashMap::from([("velocity".to_string(), 30 * 60_000)]));
    d.emit(&[mk(6, 50, "a")]).unwrap();
    assert_eq!(d.suppressed(Some("velocity")).unwrap().len(), 3);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_policy_refuses_loopback_unless_allowed() {
    let rx = Receiver::start(0, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = webhook_config(&rx.url(), &[], "");
    cfg.allowed_networks.clear();
    let err = Delivery::open(cfg, dir.path(), &prometheus::Registry::new()).unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    let mut cfg = webhook_config(&rx.url(), &[], "");
    cfg.webhook_allowlist = vec!["hooks.example.com".into()];
    let err = Delivery::open(cfg, dir.path(), &prometheus::Registry::new()).unwrap_err();
    assert!(err.to_string().contains("webhook_allowlist"), "{err}");
    // A name on the allowlist that resolves to loopback is refused when it
    // connects: the alert becomes a dead letter, nothing reaches the receiver.
    let url = format!("http://localhost:{}/hook", rx.addr.port());
    let mut cfg = webhook_config(&url, &[], "");
    cfg.webhook_allowlist = vec!["localhost".into()];
    cfg.allowed_networks.clear();
    let d = Delivery::open(cfg, dir.path(), &prometheus::Registry::new()).unwrap();
    d.emit(&[alert(1, "r")]).unwrap();
    assert!(wait_until(Duration::from_secs(10), || d.dead_letters().unwrap().len() == 1).await);
    assert!(d.dead_letters().unwrap()[0].last_error.contains("SSRF"), "{:?}", d.dead_letters().unwrap()[0]);
    assert_eq!(rx.state.requests.load(Ordering::SeqCst), 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_gets_blocks_and_a_group_per_burst() {
    let rx = Receiver::start(0, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg: DeliveryConfig = toml::from_str(&format!(
        r#"
        default_sinks = ["slack"]
        webhook_allowlist = ["127.0.0.1"]
        allowed_networks = ["127.0.0.1/32"]
        [sinks.slack]
        kind = "slack"
        url = "{}"
        template = "{{message}} (card {{key.card}}, n={{fields.n}})"
        link_template = "https://cepheus.example.com/alerts/{{id}}"
        group_max = 20
        "#,
        rx.url()
    ))
    .unwrap();
    assert!(!format!("{cfg:?}").contains(&rx.url()), "the Slack URL is a secret");
    let d = Delivery::open(cfg, dir.path(), &prometheus::Registry::new()).unwrap();
    assert_eq!(d.sinks()[0].kind, "slack");
    d.emit(&(0..5).map(|i| alert(i, "card_testing")).collect::<Vec<_>>()).unwrap();
    assert!(wait_until(Duration::from_secs(10), || d.outbox_depth() == 0).await);
    let bodies = rx.state.bodies.lock().unwrap().clone();
    let text: String = bodies.iter().map(|b| b["text"].as_str().unwrap().to_string()).collect::<Vec<_>>().join("\n");
    for i in 0..5 {
        assert!(text.contains(&format!("card_testing fired (card c{i}, n={i})")), "{text}");
    }
    assert!(bodies.len() < 5, "a burst is grouped: {} messages", bodies.len());
    let blocks = bodies[0]["blocks"].to_string();
    assert!(blocks.contains("*Severity*\\nhigh") && blocks.contains("card=c0") && blocks.contains("alerts/card_testing-000000"), "{blocks}");
    d.test_sink("slack").await.unwrap();
    assert!(rx.state.bodies.lock().unwrap().last().unwrap()["text"].as_str().unwrap().contains("Test delivery"));
    d.shutdown().await;
}
