//! Malformed events reach `<prefix>.<stream>.dlq` on the real broker with
//! their key and payload untouched and the reason and origin in headers.

mod kafka_common;

use std::time::{Duration, Instant};

use cepheus_runtime::kafka::{
    names, DeadLetter, DeadLetterProducer, KafkaAdmin, TopicSpec, REASON_HEADER, SOURCE_HEADER, STREAM_HEADER,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

#[test]
fn dead_letters_keep_key_payload_and_carry_the_reason() {
    let Some(brokers) = kafka_common::brokers() else { return };
    let prefix = kafka_common::unique("dlq");
    let conn = kafka_common::connection(&brokers, &prefix);
    let topic = names::dead_letter_topic(&prefix, "tx");
    KafkaAdmin::new(&conn).unwrap().ensure_topics(&[TopicSpec::new(&topic, 1)]).unwrap();

    let dlq = DeadLetterProducer::new(&conn).unwrap();
    let letters = [
        (Some(&b"card-1"[..]), &b"{\"amount\": oops}"[..], "invalid JSON: expected value at line 1 column 12"),
        (None, &b"\xff\xfe"[..], "not UTF-8"),
        (Some(&b"card-2"[..]), &b"{\"amount\":\"12\"}"[..], "field 'amount': expected a number, got a string"),
    ];
    for (i, (key, payload, reason)) in letters.iter().enumerate() {
        dlq.send(&DeadLetter {
            stream: "tx",
            key: *key,
            payload,
            reason,
            source_topic: "transactions",
            source_partition: 3,
            source_offset: 100 + i as i64,
        })
        .unwrap();
    }
    dlq.flush(Duration::from_secs(30)).unwrap();

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{prefix}.check"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < letters.len() && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let header = |name: &str| {
                let h = m.headers().expect("headers");
                h.iter().find(|h| h.key == name).and_then(|h| h.value).map(|v| String::from_utf8(v.to_vec()).unwrap())
            };
            got.push((
                m.key().map(|k| k.to_vec()),
                m.payload().unwrap_or_default().to_vec(),
                header(REASON_HEADER),
                header(STREAM_HEADER),
                header(SOURCE_HEADER),
            ));
        }
    }
    assert_eq!(got.len(), letters.len(), "dead letters read back: {got:?}");
    for (i, ((key, payload, reason), g)) in letters.iter().zip(&got).enumerate() {
        assert_eq!(g.0.as_deref(), *key);
        assert_eq!(g.1, *payload);
        assert_eq!(g.2.as_deref(), Some(*reason));
        assert_eq!(g.3.as_deref(), Some("tx"));
        assert_eq!(g.4, Some(format!("transactions/3@{}", 100 + i)));
    }
    drop(consumer);
    kafka_common::delete_topics(&brokers, &[&topic]);
}
