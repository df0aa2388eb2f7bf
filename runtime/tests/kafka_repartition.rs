//! Re-keying a stream by a field on the real broker: every event of one
//! field value lands in one partition of `<prefix>.<stream>.by.<field>`,
//! carries its origin, and unkeyable events are refused for the DLQ.

mod kafka_common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cepheus_runtime::kafka::{
    names, origin, AssignedPartition, KafkaAdmin, KafkaSourceConfig, KeyError, OriginFilter, PartitionReader,
    RebalanceHandler, RepartitionError, Repartitioner, StreamConsumer, TopicSpec,
};

struct Readers(Mutex<Sender<PartitionReader>>);

impl RebalanceHandler for Readers {
    fn assigned(&self, partitions: &mut [AssignedPartition]) {
        for a in partitions {
            self.0.lock().unwrap().send(a.take_reader().unwrap()).unwrap();
        }
    }
    fn revoked(&self, _: &[i32], _: bool) {}
}

#[test]
fn one_field_value_lands_in_one_partition() {
    let Some(brokers) = kafka_common::brokers() else { return };
    let prefix = kafka_common::unique("repart");
    let conn = kafka_common::connection(&brokers, &prefix);
    let topic = names::repartition_topic(&prefix, "tx", "card_id");
    KafkaAdmin::new(&conn).unwrap().ensure_topics(&[TopicSpec::new(&topic, 6)]).unwrap();

    let rep = Repartitioner::new(&conn, "tx", "card_id").unwrap();
    assert_eq!(rep.topic(), topic);
    const EVENTS: i64 = 6000;
    for i in 0..EVENTS {
        // Cards as strings and as numbers; 7 and 7.0 are the same key.
        let card = if i % 3 == 0 { format!("{}", i % 40) } else { format!("\"c-{}\"", i % 50) };
        let payload = format!("{{\"i\":{i},\"card_id\":{card},\"amount\":1.5}}");
        rep.send(payload.as_bytes(), ((i % 4) as i32, i / 4)).unwrap();
    }
    rep.send(br#"{"i":-1,"card_id":7.0}"#, (9, 0)).unwrap();
    // Events that cannot be keyed are refused (the caller dead-letters them).
    match rep.send(br#"{"i":-2}"#, (9, 1)) {
        Err(RepartitionError::Key { source: KeyError::Missing(f), .. }) => assert_eq!(f, "card_id"),
        other => panic!("expected a missing-key error, got {other:?}"),
    }
    assert!(matches!(rep.send(b"not json", (9, 2)), Err(RepartitionError::Key { source: KeyError::NotJson(_), .. })));
    rep.flush(Duration::from_secs(30)).unwrap();

    // Read it back like any stream.
    let (tx, rx) = channel();
    let cfg = KafkaSourceConfig { group_id: Some(format!("{topic}.g")), ..KafkaSourceConfig::new(&brokers, &topic) };
    let consumer = StreamConsumer::start("tx.by.card_id", &cfg, Arc::new(Readers(Mutex::new(tx)))).unwrap();
    let readers: Vec<PartitionReader> = (0..6).map(|_| rx.recv_timeout(Duration::from_secs(30)).unwrap()).collect();
    let mut partitions_of: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    let mut origins = HashSet::new();
    // One filter per reading task (target partition), as a task keeps it.
    let mut filters: BTreeMap<i32, OriginFilter> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (origins.len() as i64) < EVENTS + 1 && Instant::now() < deadline {
        for r in &readers {
            while let Some(rec) = r.poll(Duration::from_millis(5)).unwrap() {
                let key = String::from_utf8(rec.key().unwrap().to_vec()).unwrap();
                let v: serde_json::Value = serde_json::from_slice(rec.payload()).unwrap();
                let expected = match &v["card_id"] {
                    serde_json::Value::String(s) => s.clone(),
                    n => format!("{}", n.as_f64().unwrap() as i64),
                };
                assert_eq!(key, expected, "record key is the field's canonical value");
                partitions_of.entry(key).or_default().insert(rec.partition());
                let o = origin(&rec).expect("origin header");
                assert!(filters.entry(rec.partition()).or_default().admit(o), "origin {o:?} out of order");
                assert!(origins.insert(o), "origin {o:?} seen twice");
            }
        }
    }
    assert_eq!(origins.len() as i64, EVENTS + 1, "all events read back");
    let split: Vec<_> = partitions_of.iter().filter(|(_, ps)| ps.len() != 1).collect();
    assert!(split.is_empty(), "values spread over several partitions: {split:?}");
    let used: BTreeSet<i32> = partitions_of.values().flatten().copied().collect();
    assert!(used.len() >= 4, "90 keys should use most of 6 partitions, used {used:?}");
    assert_eq!(partitions_of.len(), 90);
    assert!(origins.contains(&(9, 0)), "7.0 keyed like 7");
    consumer.close();
    drop(readers);
    kafka_common::delete_topics(&brokers, &[&topic]);
}
