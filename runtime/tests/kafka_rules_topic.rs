//! The compacted rules topic on the real broker: a writer stores rules and
//! deletes them with tombstones; two readers (no group) each see the whole
//! current rule set at start and then every change; the broker really
//! compacts old versions away.

mod kafka_common;

use std::time::{Duration, Instant};

use cepheus_runtime::kafka::{names, KafkaAdmin, RuleChange, RuleRecord, RulesReader, RulesWriter, TopicSpec};
use futures::executor::block_on;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

fn rule(id: &str, version: u64, enabled: bool) -> RuleRecord {
    RuleRecord {
        id: id.into(),
        version,
        text: format!("stream s (x int); rule {id} {{ from s pattern a define a as x > {version} }}"),
        enabled,
    }
}

fn next_change(reader: &mut RulesReader) -> RuleChange {
    reader.poll(Duration::from_secs(15)).unwrap().expect("a change within 15 s")
}

#[test]
fn rules_are_broadcast_to_every_reader_and_compacted() {
    let Some(brokers) = kafka_common::brokers() else { return };
    let prefix = kafka_common::unique("rules");
    let conn = kafka_common::connection(&brokers, &prefix);
    let topic = names::rules_topic(&prefix);
    // Production settings plus a cleaner that runs at once, to see compaction in a test.
    let spec = TopicSpec::new(&topic, 3)
        .compacted()
        .config("segment.ms", "100")
        .config("min.cleanable.dirty.ratio", "0.01")
        .config("delete.retention.ms", "100");
    let admin = KafkaAdmin::new(&conn).unwrap();
    assert!(admin.ensure_topics(std::slice::from_ref(&spec)).unwrap()[0].created);
    assert!(!admin.ensure_topics(&[spec]).unwrap()[0].created);

    let writer = RulesWriter::new(&conn).unwrap();
    for v in 1..=20 {
        block_on(writer.put(&rule("velocity", v, true))).unwrap();
    }
    block_on(writer.put(&rule("overheat", 1, true))).unwrap();
    block_on(writer.put(&rule("travel", 1, true))).unwrap();
    block_on(writer.delete("travel")).unwrap();

    // Two instances start: both read the whole topic to its end.
    let mut r1 = RulesReader::open(&conn, Duration::from_secs(20)).unwrap();
    let mut r2 = RulesReader::open(&conn, Duration::from_secs(20)).unwrap();
    for r in [&r1, &r2] {
        assert_eq!(r.rules().keys().collect::<Vec<_>>(), vec!["overheat", "velocity"]);
        assert_eq!(r.rules()["velocity"], rule("velocity", 20, true));
    }

    // A change through "one instance" reaches both.
    block_on(writer.put(&rule("overheat", 2, false))).unwrap();
    block_on(writer.delete("velocity")).unwrap();
    for r in [&mut r1, &mut r2] {
        assert_eq!(next_change(r), RuleChange::Put(rule("overheat", 2, false)));
        assert_eq!(next_change(r), RuleChange::Delete("velocity".into()));
        assert_eq!(r.rules().keys().collect::<Vec<_>>(), vec!["overheat"]);
    }

    // Compaction: new segments roll every 100 ms; the broker's cleaner then
    // drops superseded versions, so a fresh read returns fewer records than
    // were written while the rule set stays the same.
    let mut written = 25u64;
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut stored = written;
    while Instant::now() < deadline {
        // A write rolls the active segment so the older one becomes cleanable.
        block_on(writer.put(&rule("overheat", 2, false))).unwrap();
        written += 1;
        std::thread::sleep(Duration::from_millis(500));
        stored = count_records(&brokers, &topic);
        if stored < written {
            break;
        }
    }
    assert!(stored < written, "the broker compacted nothing within 40 s ({stored} records)");
    let r3 = RulesReader::open(&conn, Duration::from_secs(20)).unwrap();
    assert_eq!(r3.rules().keys().collect::<Vec<_>>(), vec!["overheat"]);
    assert_eq!(r3.rules()["overheat"], rule("overheat", 2, false));
    drop((r1, r2, r3));
    kafka_common::delete_topics(&brokers, &[&topic]);
}

/// Records still stored: the sum over partitions of high minus low watermark
/// is not enough after compaction (gaps), so read them all.
fn count_records(brokers: &str, topic: &str) -> u64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "count")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning).unwrap();
    }
    c.assign(&tpl).unwrap();
    let (mut n, mut eof) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while eof < 3 && Instant::now() < deadline {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(_)) => n += 1,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => eof += 1,
            _ => {}
        }
    }
    n
}
