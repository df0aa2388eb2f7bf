//! Crash: a child process enqueues alerts, is killed with SIGKILL before it
//! delivered them, and a reopened outbox delivers every one. The child is
//! this test binary run again with `crash_child` and an environment.

mod common;

use std::time::Duration;

use cepheus_alerts::Delivery;
use common::*;

const N: usize = CHILD_ALERTS;

#[test]
fn crash_child() {
    crash_child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_undelivered_alerts_then_reopened_delivers_all() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    // The receiver is down while the child runs: nothing can be delivered.
    let url = format!("http://127.0.0.1:{port}/hook");
    let config = format!(
        r#"
        default_sinks = ["hook"]
        webhook_allowlist = ["127.0.0.1"]
        allowed_networks = ["127.0.0.1/32"]
        [retry]
        initial_backoff_ms = 100
        max_backoff_ms = 500
        breaker_cooldown_ms = 300
        [sinks.hook]
        kind = "webhook"
        url = "{url}"
        concurrency = 16
        "#
    );
    let said = tokio::task::spawn_blocking({
        let (dir, config) = (dir.path().to_path_buf(), config.clone());
        move || run_and_kill_child(&dir, &config, 200)
    })
    .await
    .unwrap();
    assert_eq!(said, format!("ENQUEUED {N}"));

    let rx = Receiver::start(port, &[]).await;
    let reg = prometheus::Registry::new();
    let d = Delivery::open(toml::from_str(&config).unwrap(), dir.path(), &reg).unwrap();
    assert_eq!(d.outbox_depth(), N, "every alert is still in the outbox after SIGKILL");
    assert!(wait_until(Duration::from_secs(30), || rx.state.distinct() == N).await, "{} of {N}", rx.state.distinct());
    assert!(wait_until(Duration::from_secs(5), || d.outbox_depth() == 0).await);
    assert_eq!(rx.state.duplicates(), 0);
    d.shutdown().await;
}
