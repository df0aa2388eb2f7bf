//! Shared by the kafka_* integration tests: the real broker (started when
//! absent), unique topic names, a producer of test records.
#![allow(dead_code)]

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cepheus_runtime::kafka::{KafkaAdmin, KafkaConnection, TopicSpec};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

/// The broker address, starting `deploy/local/kafka.sh` when nothing
/// listens. `None` (and a loud note) only when CEPHEUS_SKIP_KAFKA=1.
pub fn brokers() -> Option<String> {
    if std::env::var("CEPHEUS_SKIP_KAFKA").as_deref() == Ok("1") {
        eprintln!("\n!!! SKIPPED: CEPHEUS_SKIP_KAFKA=1, this Kafka test did not run !!!\n");
        return None;
    }
    let brokers = std::env::var("CEPHEUS_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    if !reachable(&brokers) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local/kafka.sh");
        let status = Command::new("bash").arg(&script).arg("start").status().expect("running deploy/local/kafka.sh");
        assert!(status.success(), "deploy/local/kafka.sh start failed; see its output above");
    }
    Some(brokers)
}

fn reachable(brokers: &str) -> bool {
    let first = brokers.split(',').next().unwrap_or_default();
    first
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

/// A topic name no other run uses.
pub fn unique(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("test.{what}.{}.{}", std::process::id(), nanos % 1_000_000_000_000)
}

pub fn connection(brokers: &str, prefix: &str) -> KafkaConnection {
    KafkaConnection::new(brokers).with_prefix(prefix)
}

pub fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let admin = KafkaAdmin::new(&KafkaConnection::new(brokers)).unwrap();
    admin.ensure_topics(&[TopicSpec::new(topic, partitions)]).unwrap();
}

/// Deletes the test's topics (best effort: the broker is shared).
pub fn delete_topics(brokers: &str, topics: &[&str]) {
    if let Ok(admin) = KafkaAdmin::new(&KafkaConnection::new(brokers)) {
        let _ = admin.delete_topics(topics);
    }
}

pub fn producer(brokers: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("acks", "all")
        .create()
        .unwrap()
}

/// Writes `(partition, key, payload)` records and waits until all are stored.
pub fn produce<'a>(brokers: &str, topic: &str, records: impl IntoIterator<Item = (i32, Option<&'a [u8]>, Vec<u8>)>) {
    let p = producer(brokers);
    for (partition, key, payload) in records {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).partition(partition).payload(&payload[..]);
        if let Some(k) = key {
            rec = rec.key(k);
        }
        let mut rec = rec;
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
    p.flush(Duration::from_secs(30)).unwrap();
}
