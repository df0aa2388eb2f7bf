//! Produce, then consume through the stream consumer on the real broker:
//! each partition starts where the rebalance handler says (as it would from
//! a checkpoint), reads its own queue, seeks, reports lag; topics are
//! created idempotently.

mod kafka_common;

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cepheus_runtime::kafka::{
    AssignedPartition, ErrorKind, KafkaAdmin, KafkaError, KafkaSourceConfig, PartitionReader, RebalanceHandler,
    StartFrom, StreamConsumer, TopicSpec,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Starts p0 at 40, p1 at the beginning, p2 at its end, and hands the
/// readers to the test thread.
struct Handler {
    readers: Mutex<Sender<PartitionReader>>,
    revoked: Mutex<Vec<i32>>,
}

impl RebalanceHandler for Handler {
    fn assigned(&self, partitions: &mut [AssignedPartition]) {
        for a in partitions.iter_mut() {
            a.start = match a.partition {
                0 => StartFrom::Offset(40),
                1 => StartFrom::Earliest,
                _ => StartFrom::Offset(100),
            };
            let reader = a.take_reader().expect("a reader per assigned partition");
            self.readers.lock().unwrap().send(reader).unwrap();
        }
    }
    fn revoked(&self, partitions: &[i32], _lost: bool) {
        self.revoked.lock().unwrap().extend_from_slice(partitions);
    }
}

fn read_all(reader: &PartitionReader, quiet: Duration) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        if let Some(r) = reader.poll(Duration::from_millis(100)).unwrap() {
            assert_eq!(r.partition(), reader.partition(), "a record of another partition in this queue");
            out.push((r.offset(), r.payload().to_vec()));
            last = Instant::now();
        }
    }
    out
}

#[test]
fn partitions_start_where_the_handler_says_and_seek() {
    let Some(brokers) = kafka_common::brokers() else { return };
    let topic = kafka_common::unique("roundtrip");
    kafka_common::create_topic(&brokers, &topic, 3);
    let records = (0..3).flat_map(|p| (0..100).map(move |i| (p, None, format!("{{\"p\":{p},\"i\":{i}}}").into_bytes())));
    kafka_common::produce(&brokers, &topic, records);

    let (tx, rx) = channel();
    let handler = Arc::new(Handler { readers: Mutex::new(tx), revoked: Mutex::new(Vec::new()) });
    let mut cfg = KafkaSourceConfig::new(&brokers, &topic);
    cfg.group_id = Some(format!("{topic}.group"));
    let consumer = StreamConsumer::start("s", &cfg, handler.clone()).unwrap();
    assert_eq!(consumer.partition_count(), 3);

    let mut readers: Vec<PartitionReader> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(30)).unwrap()).collect();
    readers.sort_by_key(|r| r.partition());
    assert_eq!(consumer.assigned(), vec![0, 1, 2]);

    let p0 = read_all(&readers[0], Duration::from_millis(1500));
    let p1 = read_all(&readers[1], Duration::from_millis(500));
    let p2 = read_all(&readers[2], Duration::from_millis(500));
    assert_eq!(p0.iter().map(|r| r.0).collect::<Vec<_>>(), (40..100).collect::<Vec<_>>());
    assert_eq!(p0[0].1, b"{\"p\":0,\"i\":40}");
    assert_eq!(p1.iter().map(|r| r.0).collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    assert!(p2.is_empty(), "p2 started at its end: {} records", p2.len());

    // Seek back: the partition is read again from 90.
    readers[1].seek(90, Duration::from_secs(5)).unwrap();
    let again = read_all(&readers[1], Duration::from_millis(800));
    assert_eq!(again.iter().map(|r| r.0).collect::<Vec<_>>(), (90..100).collect::<Vec<_>>());

    // New records reach the partition at its end.
    kafka_common::produce(&brokers, &topic, [(2, None, b"{\"late\":1}".to_vec())]);
    let late = read_all(&readers[2], Duration::from_millis(1500));
    assert_eq!(late.iter().map(|r| r.0).collect::<Vec<_>>(), vec![100]);

    // Lag: everything read, so 0 on each partition once the cache refreshed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lag = loop {
        let lag = consumer.lag();
        if lag.len() == 3 && lag.iter().all(|l| l.lag == 0) || Instant::now() > deadline {
            break lag;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(lag.len(), 3, "{lag:?}");
    assert!(lag.iter().all(|l| l.lag == 0), "{lag:?}");
    assert_eq!(lag.iter().find(|l| l.partition == 2).unwrap().high_watermark, 101);

    // Progress commits are visible to Kafka tools (and nothing else).
    consumer.commit_progress(&[(0, 100), (1, 100), (2, 101)]).unwrap();
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{topic}.group"))
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&topic, 0);
    tpl.add_partition(&topic, 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = probe.committed_offsets(tpl.clone(), Duration::from_secs(5)).unwrap();
        let got: Vec<Offset> = c.elements().iter().map(|e| e.offset()).collect();
        if got == vec![Offset::Offset(100), Offset::Offset(101)] {
            break;
        }
        assert!(Instant::now() < deadline, "committed offsets: {got:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Closing leaves the group through the handler's revoke.
    consumer.close();
    let mut revoked = handler.revoked.lock().unwrap().clone();
    revoked.sort();
    assert_eq!(revoked, vec![0, 1, 2]);
    drop(readers);
    drop(consumer);
    kafka_common::delete_topics(&brokers, &[&topic]);
}

#[test]
fn topics_are_ensured_idempotently_and_checked() {
    let Some(brokers) = kafka_common::brokers() else { return };
    let admin = KafkaAdmin::new(&kafka_common::connection(&brokers, "t")).unwrap();
    let a = kafka_common::unique("ensure-a");
    let b = kafka_common::unique("ensure-b");
    let first = admin.ensure_topics(&[TopicSpec::new(&a, 4), TopicSpec::new(&b, 2).compacted()]).unwrap();
    assert!(first.iter().all(|t| t.created));
    assert_eq!(first.iter().map(|t| t.partitions).collect::<Vec<_>>(), vec![4, 2]);
    // Again: nothing created; an existing topic keeps its own partition count.
    let again = admin.ensure_topics(&[TopicSpec::new(&a, 8), TopicSpec::new(&b, 2).compacted()]).unwrap();
    assert!(again.iter().all(|t| !t.created));
    assert_eq!(again[0].partitions, 4);
    // A topic that must be compacted but is not is refused, with the fix.
    let e = admin.ensure_topics(&[TopicSpec::new(&a, 4).compacted()]).unwrap_err();
    assert!(matches!(e, KafkaError::TopicMismatch { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::User);
    assert!(e.to_string().contains("cleanup.policy=compact"), "{e}");
    // Bad names never reach the broker.
    assert_eq!(admin.ensure_topics(&[TopicSpec::new("bad name", 1)]).unwrap_err().kind(), ErrorKind::User);
    admin.delete_topics(&[&a, &b]).unwrap();
}

#[test]
fn a_missing_stream_topic_is_a_user_error() {
    let Some(brokers) = kafka_common::brokers() else { return };
    struct Nothing;
    impl RebalanceHandler for Nothing {
        fn assigned(&self, _: &mut [AssignedPartition]) {}
        fn revoked(&self, _: &[i32], _: bool) {}
    }
    let cfg = KafkaSourceConfig::new(&brokers, kafka_common::unique("missing"));
    let e = StreamConsumer::start("s", &cfg, Arc::new(Nothing)).err().expect("no such topic");
    assert!(matches!(e, KafkaError::NoSuchTopic(_)), "{e}");
    assert_eq!(e.kind(), ErrorKind::User);
}
