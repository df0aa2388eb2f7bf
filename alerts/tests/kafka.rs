//! The Kafka sink against the real broker (127.0.0.1:9092, or
//! CEPHEUS_KAFKA_BROKERS): a process is killed with SIGKILL while its
//! transaction holds alerts; the reopened outbox sends them again, and a
//! read_committed consumer sees each alert exactly once.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cepheus_alerts::Delivery;
use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;

#[test]
fn crash_child() {
    crash_child_main();
}

fn brokers() -> Option<String> {
    let b = std::env::var("CEPHEUS_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let addr = b.split(',').next().unwrap_or_default().to_string();
    if std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).is_ok() {
        return Some(b);
    }
    if std::env::var("CEPHEUS_SKIP_KAFKA").as_deref() == Ok("1") {
        eprintln!("SKIPPED: no Kafka broker at {b} and CEPHEUS_SKIP_KAFKA=1");
        return None;
    }
    panic!("no Kafka broker at {b}: run deploy/local/kafka.sh start (or set CEPHEUS_SKIP_KAFKA=1 to skip)");
}

/// Every record of the topic, as alert ids, read with `isolation`.
fn read_all(brokers: &str, topic: &str, isolation: &str, expect_at_least: usize) -> Vec<(String, String)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("cepheus-test-{}", rand::random::<u64>()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let start = Instant::now();
    let mut quiet_since = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
                let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
                out.push((v["id"].as_str().unwrap().to_string(), key));
                quiet_since = Instant::now();
            }
            Some(Err(e)) => panic!("consumer: {e}"),
            None => {}
        }
        if out.len() >= expect_at_least && quiet_since.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_consumer_sees_each_alert_once_after_a_crash() {
    let Some(brokers) = brokers() else { return };
    let topic = format!("cepheus-alerts-test-{:016x}", rand::random::<u64>());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let r = admin
        .create_topics(&[NewTopic::new(&topic, 3, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
        default_sinks = ["bus"]
        [retry]
        initial_backoff_ms = 100
        max_backoff_ms = 1000
        [sinks.bus]
        kind = "kafka"
        brokers = "{brokers}"
        topic = "{topic}"
        transactional_id = "cepheus-test-{topic}"
        commit_interval_ms = 600000
        "#
    );
    // The child produces all its alerts into one open transaction (commits
    // only every 10 min), then dies.
    let said = tokio::task::spawn_blocking({
        let (dir, config) = (dir.path().to_path_buf(), config.clone());
        move || run_and_kill_child(&dir, &config, 4000)
    })
    .await
    .unwrap();
    assert_eq!(said, format!("ENQUEUED {CHILD_ALERTS}"), "nothing is acknowledged before a commit");

    let reg = prometheus::Registry::new();
    let d = Delivery::open(toml::from_str(&config).unwrap(), dir.path(), &reg).unwrap();
    assert_eq!(d.outbox_depth(), CHILD_ALERTS);
    // A checkpoint commits; repeat until the outbox is empty.
    let start = Instant::now();
    while d.outbox_depth() > 0 && start.elapsed() < Duration::from_secs(40) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        d.flush_for_checkpoint().await.unwrap();
    }
    assert_eq!(d.outbox_depth(), 0);
    d.shutdown().await;

    let (b, t) = (brokers.clone(), topic.clone());
    let committed = tokio::task::spawn_blocking(move || read_all(&b, &t, "read_committed", CHILD_ALERTS)).await.unwrap();
    let (b, t) = (brokers.clone(), topic.clone());
    let everything = tokio::task::spawn_blocking(move || read_all(&b, &t, "read_uncommitted", CHILD_ALERTS)).await.unwrap();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for (id, key) in &committed {
        *per_id.entry(id).or_default() += 1;
        assert!(key.starts_with("crash/card=c"), "{key}");
    }
    eprintln!(
        "kafka: {} committed records, {} distinct ids; {} records incl. the aborted transaction",
        committed.len(),
        per_id.len(),
        everything.len()
    );
    assert_eq!(per_id.len(), CHILD_ALERTS);
    assert!(per_id.values().all(|&n| n == 1), "an id was seen twice by read_committed");
    assert!(everything.len() >= committed.len());
}
