//! Rebalance drain on the real broker: 125,000 events over 6 partitions,
//! a second and a third group member join after 2 s and 4 s, partitions move
//! cooperatively; processing is checkpoint-driven (offsets + processed
//! events committed together, the previous owner checkpoints on revoke, the
//! next one starts at the checkpoint), so every offset must be processed
//! exactly once across the three, and a late fourth member finds nothing.

mod kafka_common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cepheus_runtime::kafka::{
    AssignedPartition, KafkaSourceConfig, PartitionReader, RebalanceHandler, StartFrom, StreamConsumer,
};

const EVENTS: usize = 125_000;
const PARTITIONS: i32 = 6;

/// The checkpoint store shared by all members: per partition the next
/// offset, and how often each offset was committed as processed.
#[derive(Default)]
struct Checkpoints {
    next: Mutex<HashMap<i32, i64>>,
    processed: Mutex<HashMap<(i32, i64), u32>>,
    gaps: Mutex<Vec<String>>,
}

impl Checkpoints {
    fn commit(&self, partition: i32, next: i64, done: &mut Vec<i64>) {
        let mut processed = self.processed.lock().unwrap();
        let mut offsets = self.next.lock().unwrap();
        for &o in done.iter() {
            *processed.entry((partition, o)).or_default() += 1;
        }
        offsets.insert(partition, next);
        done.clear();
    }
    fn total(&self) -> usize {
        self.processed.lock().unwrap().len()
    }
}

struct Task {
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

struct Member {
    name: &'static str,
    store: Arc<Checkpoints>,
    tasks: Mutex<HashMap<i32, Task>>,
    /// Records this member read / committed as processed.
    read: Arc<AtomicU64>,
    committed: Arc<AtomicU64>,
    ever_assigned: Mutex<Vec<i32>>,
}

impl Member {
    fn new(name: &'static str, store: Arc<Checkpoints>) -> Arc<Self> {
        Arc::new(Member {
            name,
            store,
            tasks: Mutex::new(HashMap::new()),
            read: Arc::default(),
            committed: Arc::default(),
            ever_assigned: Mutex::new(Vec::new()),
        })
    }
}

/// A partition task: reads its queue, processes slowly (so rebalances
/// happen mid-stream), checkpoints every 200 ms and when stopped.
fn run_task(
    reader: PartitionReader,
    mut next: Option<i64>,
    store: Arc<Checkpoints>,
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    read: Arc<AtomicU64>,
    committed: Arc<AtomicU64>,
) {
    let p = reader.partition();
    let mut done: Vec<i64> = Vec::new();
    let mut last_checkpoint = Instant::now();
    let mut since_pause = 0;
    while !stop.load(Ordering::SeqCst) {
        if let Some(rec) = reader.poll(Duration::from_millis(20)).unwrap() {
            let o = rec.offset();
            if let Some(n) = next {
                if o != n {
                    store.gaps.lock().unwrap().push(format!("p{p}: expected {n}, read {o}"));
                }
            }
            next = Some(o + 1);
            done.push(o);
            read.fetch_add(1, Ordering::Relaxed);
            since_pause += 1;
            if since_pause == 30 {
                since_pause = 0;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if last_checkpoint.elapsed() >= Duration::from_millis(200) {
            if let Some(n) = next {
                committed.fetch_add(done.len() as u64, Ordering::Relaxed);
                store.commit(p, n, &mut done);
            }
            last_checkpoint = Instant::now();
        }
    }
    // Revoked: checkpoint before the partition goes, unless it is already lost.
    if !lost.load(Ordering::SeqCst) {
        if let Some(n) = next {
            committed.fetch_add(done.len() as u64, Ordering::Relaxed);
            store.commit(p, n, &mut done);
        }
    }
}

impl RebalanceHandler for Member {
    fn assigned(&self, partitions: &mut [AssignedPartition]) {
        let mut tasks = self.tasks.lock().unwrap();
        for a in partitions.iter_mut() {
            let restored = self.store.next.lock().unwrap().get(&a.partition).copied();
            a.start = restored.map(StartFrom::Offset).unwrap_or(StartFrom::Earliest);
            let reader = a.take_reader().expect("reader");
            let (stop, lost) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
            let args = (self.store.clone(), stop.clone(), lost.clone(), self.read.clone(), self.committed.clone());
            let handle = std::thread::spawn(move || run_task(reader, restored, args.0, args.1, args.2, args.3, args.4));
            tasks.insert(a.partition, Task { stop, lost, handle });
            self.ever_assigned.lock().unwrap().push(a.partition);
        }
        eprintln!("{}: assigned {:?}", self.name, partitions.iter().map(|a| a.partition).collect::<Vec<_>>());
    }

    fn revoked(&self, partitions: &[i32], lost: bool) {
        let mut tasks = self.tasks.lock().unwrap();
        for p in partitions {
            if let Some(t) = tasks.remove(p) {
                t.lost.store(lost, Ordering::SeqCst);
                t.stop.store(true, Ordering::SeqCst);
                t.handle.join().unwrap();
            }
        }
        eprintln!("{}: revoked {partitions:?} (lost: {lost})", self.name);
    }
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rebalance_drain_processes_every_offset_exactly_once() {
    let Some(brokers) = kafka_common::brokers() else { return };
    let topic = kafka_common::unique("rebalance");
    kafka_common::create_topic(&brokers, &topic, PARTITIONS);
    let payloads = (0..EVENTS).map(|i| ((i % PARTITIONS as usize) as i32, None, format!("{{\"i\":{i}}}").into_bytes()));
    kafka_common::produce(&brokers, &topic, payloads);
    let per_partition: Vec<i64> =
        (0..PARTITIONS).map(|p| (0..EVENTS).filter(|i| i % PARTITIONS as usize == p as usize).count() as i64).collect();

    let mut cfg = KafkaSourceConfig::new(&brokers, &topic);
    cfg.group_id = Some(format!("{topic}.group"));
    // A member that vanished is noticed quickly (not needed here: all leave cleanly).
    cfg.client.insert("session.timeout.ms".into(), "10000".into());
    let store = Arc::new(Checkpoints::default());
    let start = Instant::now();

    let (a, b, c) = (Member::new("a", store.clone()), Member::new("b", store.clone()), Member::new("c", store.clone()));
    let ca = StreamConsumer::start("s", &cfg, a.clone()).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let cb = StreamConsumer::start("s", &cfg, b.clone()).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let cc = StreamConsumer::start("s", &cfg, c.clone()).unwrap();

    wait_until("all events to be checkpointed", Duration::from_secs(40), || store.total() == EVENTS);
    let drained = start.elapsed();
    eprintln!(
        "drained {EVENTS} events in {drained:?}; committed a={} b={} c={}",
        a.committed.load(Ordering::Relaxed),
        b.committed.load(Ordering::Relaxed),
        c.committed.load(Ordering::Relaxed)
    );
    // The later members really took over partitions mid-stream.
    assert!(b.committed.load(Ordering::Relaxed) > 0, "the second member processed nothing");
    assert!(c.committed.load(Ordering::Relaxed) > 0, "the third member processed nothing");
    assert!(ca.rebalances() >= 2, "the first member saw no revoke");

    // A late fourth member: gets partitions, starts at their checkpoints, reads nothing.
    let d = Member::new("d", store.clone());
    let cd = StreamConsumer::start("s", &cfg, d.clone()).unwrap();
    wait_until("the fourth member's assignment", Duration::from_secs(30), || !d.ever_assigned.lock().unwrap().is_empty());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(d.read.load(Ordering::Relaxed), 0, "the late member found events left");

    for consumer in [&cd, &cc, &cb, &ca] {
        consumer.close();
    }
    let processed = store.processed.lock().unwrap();
    let twice: Vec<_> = processed.iter().filter(|(_, &n)| n != 1).take(10).collect();
    assert!(twice.is_empty(), "offsets processed more than once: {twice:?}");
    for (p, &n) in per_partition.iter().enumerate() {
        for o in 0..n {
            assert!(processed.contains_key(&(p as i32, o)), "offset {p}/{o} never processed");
        }
    }
    assert_eq!(processed.len(), EVENTS);
    assert!(store.gaps.lock().unwrap().is_empty(), "gaps: {:?}", store.gaps.lock().unwrap());
    let next = store.next.lock().unwrap();
    for (p, &n) in per_partition.iter().enumerate() {
        assert_eq!(next.get(&(p as i32)), Some(&n), "checkpointed offset of partition {p}");
    }
    eprintln!("total test time {:?}", start.elapsed());
    drop((ca, cb, cc, cd));
    kafka_common::delete_topics(&brokers, &[&topic]);
}
