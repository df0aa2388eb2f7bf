//! Restore equivalence: a checkpointed, stopped and restored run gives the
//! alerts of one uninterrupted run.
//!
//! A recorded stream (generated deterministically: 48 cards, planted fraud
//! patterns, background noise, out-of-order and late events, about 2,400
//! events) is split over 4 source partitions by key, as a Kafka producer
//! would. A job of 1 to 3 tasks runs the rules: task `i` of `n` owns a range
//! of key groups, each event goes, for each rule, to the task owning its
//! key's group, and the watermark (min over partitions of max event time -
//! lateness - 1) is broadcast to every task after each event. For 20 random
//! cut points k: run events[..k], checkpoint, drop the job, restore from the
//! checkpoint store onto 1, 2 or 3 tasks (so keyed state is re-split by key
//! group), seek each partition to its restored offset and run the rest. The
//! alerts before the cut plus those after it equal the uninterrupted run's,
//! alert for alert. Damaged newest checkpoints (truncated, a flipped byte, a
//! body that verifies but does not restore) are skipped: the previous one is
//! used, the gap replayed, and the set of alert ids is still the same (the
//! replayed alerts repeat with equal ids and equal content).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use cepheus_alerts::Alert;
use cepheus_dsl::plan::RulePlan;
use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::checkpoint::format::{decode_body, encode_body, encode_file, parse_key, verify_file, EntryKey};
use cepheus_runtime::checkpoint::{
    object_name, restore_scope, Assignment, CheckpointStore, LocalDirStore, PartitionProgress, SourcePartition,
    SourceState, TaskCheckpointer, TaskLayout,
};
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::pattern::{PatternOperator, PatternStats};
use cepheus_runtime::record::Decoder;
use cepheus_runtime::state::{KeyGroups, MemoryBackend, RocksDbBackend, StateBackend};

const RULES: &str = r#"
stream tx (id int, card string, kind string, amount float, country string, ts timestamp)
key card time ts lateness 2s;

rule card_testing {
  severity high
  from tx
  partition by card
  pattern small{3,} -> big
  define
    small as kind = "purchase" and amount < 2.00,
    big   as kind = "purchase" and amount > 500 and country != small[0].country
  within 10m
  after match skip past last event
  emit card, count(small) as tries, big.amount as amount
}

rule escalating {
  from tx
  partition by card
  pattern a -> b -> c
  define
    a as kind = "purchase" and amount < 3,
    b as kind = "purchase" and amount > a[0].amount * 2,
    c as kind = "purchase" and amount > b[0].amount * 2
  within 5m
  after match skip to next
  on timeout emit card, a.amount as amount
}

rule never_captured {
  from tx
  partition by card
  pattern authorised -> !captured
  define
    authorised as kind = "auth",
    captured   as kind = "capture"
  within 3m
  on timeout emit card, authorised.amount as amount
}

rule reset_then_spend {
  from tx
  partition by card
  pattern r -> !v -> s+ -> big
  define
    r   as kind = "reset",
    v   as kind = "verify",
    s   as kind = "purchase" until kind = "refund",
    big as kind = "purchase" and amount > sum(s.amount)
  within 4m
  after match skip to first s
}

rule bursts {
  from tx
  partition by card, country
  pattern p{2,3} q? -> r
  define
    p as amount < 50,
    q as amount > 50,
    r as amount > 200
  within 30s
  after match skip to last p
}

rule global_big {
  from tx
  pattern x -> y
  define
    x as amount > 900,
    y as amount > 900 and country != x[0].country
  within 10m
  after match skip past last event
}
"#;

const PARTITIONS: u32 = 4;
const LATENESS_MS: i64 = 2_000;
const SOURCE: &str = "tx";
const SCOPE: &str = "jobs/fraud";

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One recorded event: its partition, offset and bytes.
#[derive(Clone)]
struct Recorded {
    partition: u32,
    offset: u64,
    bytes: Vec<u8>,
}

const COUNTRIES: &[&str] = &["FR", "DE", "US", "BR", "JP"];

/// The generator's state: the clock and the events so far.
struct Gen {
    rng: Rng,
    t: i64,
    raw: Vec<(u64, String, f64, &'static str, i64)>, // card, kind, amount, country, ts
}

impl Gen {
    fn push(&mut self, card: u64, kind: &str, amount: f64, country: &'static str) {
        self.t += self.rng.below(2_500) as i64;
        let mut ts = self.t - self.rng.below(1_500) as i64;
        if self.rng.chance(1) {
            ts -= 10_000; // late: behind the watermark
        }
        self.raw.push((card, kind.to_string(), amount, country, ts));
    }

    /// A random amount in `base + [0, span)`, in cents.
    fn amount(&mut self, base: f64, span_cents: u64) -> f64 {
        base + self.rng.below(span_cents) as f64 / 100.0
    }
}

/// The recorded stream, in arrival order.
fn recorded_stream() -> Vec<Recorded> {
    let cards = 48u64;
    let mut g = Gen {
        rng: Rng(0x00c0_ffee),
        t: 1_700_000_000_000,
        raw: Vec::new(),
    };
    while g.raw.len() < 2_400 {
        let card = g.rng.below(cards);
        let home = COUNTRIES[(card % 3) as usize];
        match g.rng.below(20) {
            // Card testing: tiny charges, then a big one abroad.
            0 => {
                for _ in 0..3 + g.rng.below(3) {
                    let a = g.amount(0.5, 150);
                    g.push(card, "purchase", a, home);
                }
                let abroad = COUNTRIES[(card % 3 + 1 + g.rng.below(3)) as usize % COUNTRIES.len()];
                let a = g.amount(600.0, 90_000);
                g.push(card, "purchase", a, abroad);
            }
            // Authorised, maybe captured.
            1 | 2 => {
                let a = g.amount(20.0, 30_000);
                g.push(card, "auth", a, home);
                if g.rng.chance(60) {
                    g.push(card, "capture", 0.0, home);
                }
            }
            // A password reset, maybe verified, then spending.
            3 => {
                g.push(card, "reset", 0.0, home);
                if g.rng.chance(40) {
                    g.push(card, "verify", 0.0, home);
                }
                for _ in 0..1 + g.rng.below(3) {
                    let a = g.amount(5.0, 6_000);
                    g.push(card, "purchase", a, home);
                }
                if g.rng.chance(30) {
                    g.push(card, "refund", 10.0, home);
                }
                let a = g.amount(100.0, 90_000);
                g.push(card, "purchase", a, home);
            }
            // A quiet spell (windows and absences time out).
            4 => g.t += 60_000 + g.rng.below(120_000) as i64,
            // Background purchases.
            _ => {
                let a = match g.rng.below(10) {
                    0 => g.amount(0.5, 200),
                    1 => g.amount(200.0, 100_000),
                    _ => g.amount(2.0, 15_000),
                };
                let country = if g.rng.chance(90) { home } else { COUNTRIES[g.rng.below(5) as usize] };
                g.push(card, "purchase", a, country);
            }
        }
    }
    let raw = g.raw;
    let mut offsets = [0u64; PARTITIONS as usize];
    raw.into_iter()
        .enumerate()
        .map(|(i, (card, kind, amount, country, ts))| {
            // Keyed producer: a card's events always go to the same partition.
            let partition = (card % u64::from(PARTITIONS)) as u32;
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            let json = format!(
                r#"{{"id":{i},"card":"c-{card:02}","kind":"{kind}","amount":{amount:.2},"country":"{country}","ts":{ts}}}"#
            );
            Recorded {
                partition,
                offset,
                bytes: json.into_bytes(),
            }
        })
        .collect()
}

fn plans() -> Vec<RulePlan> {
    let compiled = compile(RULES, &Catalog::new());
    assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
    assert_eq!(compiled.plans.len(), 6);
    compiled.plans
}

fn partitions_of(task: u32, tasks: u32) -> BTreeSet<u32> {
    (0..PARTITIONS).filter(|p| p % tasks == task).collect()
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    RocksDb,
}

struct Task {
    ops: Vec<PatternOperator>,
    checkpointer: Option<TaskCheckpointer>,
}

/// A job: `n` tasks over the key groups, fed the recorded stream in order.
struct Job<'a> {
    plans: &'a [RulePlan],
    decoder: Decoder,
    key_groups: KeyGroups,
    tasks: Vec<Task>,
    progress: BTreeMap<u32, PartitionProgress>,
    watermark: i64,
    alerts: Vec<Alert>,
}

impl<'a> Job<'a> {
    fn new(plans: &'a [RulePlan], tasks: u32) -> Self {
        let tasks = (0..tasks)
            .map(|_| Task {
                ops: plans.iter().map(|p| PatternOperator::new(p, 1).expect("builds")).collect(),
                checkpointer: None,
            })
            .collect();
        Job {
            plans,
            decoder: Decoder::new(&plans[0].stream),
            key_groups: KeyGroups::new(32),
            tasks,
            progress: BTreeMap::new(),
            watermark: i64::MIN,
            alerts: Vec::new(),
        }
    }

    fn with_checkpoints(mut self, store: &Arc<LocalDirStore>, dir: &Path, backend: Backend) -> Self {
        let n = self.tasks.len() as u32;
        for (i, t) in self.tasks.iter_mut().enumerate() {
            t.checkpointer = Some(checkpointer(store, dir, backend, i as u32, n, self.key_groups));
        }
        self
    }

    fn task_count(&self) -> u32 {
        self.tasks.len() as u32
    }

    /// Feeds every recorded event not yet in the state (at or after its
    /// partition's next offset), stopping before global index `until`.
    fn run(&mut self, events: &[Recorded], until: usize) {
        for e in &events[..until] {
            let next = self.progress.get(&e.partition).map_or(0, |p| p.next_offset);
            if e.offset < next {
                continue; // before the restored offset: already in the state
            }
            assert_eq!(e.offset, next, "partition {} is read in order", e.partition);
            self.process(e);
        }
    }

    fn process(&mut self, e: &Recorded) {
        let record = self.decoder.decode(&e.bytes).expect("valid event");
        let ts = record.time();
        let event = Arc::new(Event {
            record,
            position: Position {
                partition: e.partition,
                offset: e.offset,
            },
        });
        let n = self.task_count();
        for (i, _) in self.plans.iter().enumerate() {
            let key = self.tasks[0].ops[i].key_of(&event.record);
            let task = self.key_groups.task_for_group(self.key_groups.of_key(&key), n);
            self.tasks[task as usize].ops[i].on_event(Arc::clone(&event), 0, &mut self.alerts);
        }
        let p = self.progress.entry(e.partition).or_insert(PartitionProgress {
            next_offset: 0,
            max_event_time: i64::MIN,
        });
        p.next_offset = e.offset + 1;
        p.max_event_time = p.max_event_time.max(ts);
        // The watermark: the minimum over all partitions (one not yet read
        // holds it back), broadcast to every task.
        let wm = (0..PARTITIONS)
            .map(|p| {
                self.progress
                    .get(&p)
                    .map_or(i64::MIN, |g| g.max_event_time.saturating_sub(LATENESS_MS).saturating_sub(1))
            })
            .min()
            .unwrap_or(i64::MIN);
        self.advance(wm);
    }

    fn advance(&mut self, wm: i64) {
        if wm <= self.watermark {
            return;
        }
        self.watermark = wm;
        for t in &mut self.tasks {
            for op in &mut t.ops {
                op.on_watermark(wm, 0, &mut self.alerts);
            }
        }
    }

    fn finish(&mut self) {
        self.advance(i64::MAX);
    }

    fn checkpoint(&mut self, id: u64) -> Vec<cepheus_runtime::checkpoint::CheckpointInfo> {
        let n = self.task_count();
        let mut infos = Vec::new();
        for (i, t) in self.tasks.iter_mut().enumerate() {
            let mine = partitions_of(i as u32, n);
            let sources = SourceState {
                partitions: self
                    .progress
                    .iter()
                    .filter(|(p, _)| mine.contains(p))
                    .map(|(p, g)| (SourcePartition::new(SOURCE, *p), *g))
                    .collect(),
                watermark: self.watermark,
            };
            let ops: Vec<&dyn cepheus_runtime::checkpoint::Snapshot> = t
                .ops
                .iter()
                .map(|o| o as &dyn cepheus_runtime::checkpoint::Snapshot)
                .collect();
            let cp = t.checkpointer.as_mut().expect("checkpointing job");
            infos.push(cp.checkpoint(id, &ops, &sources).expect("checkpoint"));
        }
        infos
    }

    /// A new job of `tasks` tasks from the newest usable checkpoint in
    /// `store`. Returns the job, the checkpoint id used (if any) and what
    /// was skipped.
    fn restore(
        plans: &'a [RulePlan],
        store: &Arc<LocalDirStore>,
        tasks: u32,
        dir: &Path,
        backend: Backend,
    ) -> (Self, Option<u64>, Vec<String>) {
        let mut job = Job::new(plans, tasks);
        let assignments: Vec<Assignment> = (0..tasks)
            .map(|j| Assignment::new(j, tasks, partitions_of(j, tasks).into_iter().map(|p| SourcePartition::new(SOURCE, p))))
            .collect();
        let restored = restore_scope(store.as_ref(), SCOPE, &assignments, |_, st| {
            // New operators, returned only when all of them restored.
            plans
                .iter()
                .map(|p| {
                    let snap = st.operator(&p.name).ok_or_else(|| format!("no state for rule {}", p.name))?;
                    PatternOperator::restore(p, 1, snap).map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .expect("store lists");
        let skipped: Vec<String> = restored
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.checkpoint_id, s.reason))
            .collect();
        let used = restored.checkpoint_id;
        let mut watermark = None;
        for (j, r) in restored.tasks.into_iter().enumerate() {
            let Some(r) = r else {
                assert!(used.is_none());
                continue;
            };
            assert_eq!(Some(r.checkpoint_id), used, "all tasks restore one checkpoint");
            job.key_groups = r.key_groups;
            job.tasks[j].ops = r.value;
            for (p, g) in r.sources.partitions {
                assert!(partitions_of(j as u32, tasks).contains(&p.partition));
                job.progress.insert(p.partition, g);
            }
            watermark = Some(watermark.map_or(r.sources.watermark, |w: i64| w.min(r.sources.watermark)));
        }
        job.watermark = watermark.unwrap_or(i64::MIN);
        let kg = job.key_groups;
        for (i, t) in job.tasks.iter_mut().enumerate() {
            let cp = checkpointer(store, dir, backend, i as u32, tasks, kg);
            t.checkpointer = Some(match used {
                Some(id) => cp.resume_after(id),
                None => cp,
            });
        }
        (job, used, skipped)
    }

    /// Counters of each rule, summed over the tasks.
    fn stats(&self) -> Vec<PatternStats> {
        (0..self.plans.len())
            .map(|i| {
                let mut s = PatternStats::default();
                for t in &self.tasks {
                    let o = t.ops[i].stats();
                    s.events += o.events;
                    s.late_events += o.late_events;
                    s.filtered_out += o.filtered_out;
                    s.matches += o.matches;
                    s.timeouts += o.timeouts;
                    s.dropped_partial_matches += o.dropped_partial_matches;
                }
                s
            })
            .collect()
    }
}

fn checkpointer(
    store: &Arc<LocalDirStore>,
    dir: &Path,
    backend: Backend,
    index: u32,
    tasks: u32,
    key_groups: KeyGroups,
) -> TaskCheckpointer {
    let name = format!("t{index}-of-{tasks}");
    let b: Box<dyn StateBackend> = match backend {
        Backend::Memory => Box::new(MemoryBackend::new()),
        Backend::RocksDb => {
            let path = dir.join(format!("state-{name}-{}", rand_suffix()));
            Box::new(RocksDbBackend::open(path).expect("rocksdb opens"))
        }
    };
    let store: Arc<dyn CheckpointStore> = store.clone();
    TaskCheckpointer::new(b, store, SCOPE, TaskLayout::new(name, index, tasks, key_groups))
        .expect("checkpointer")
        .with_retain(2)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

struct Fixture {
    plans: Vec<RulePlan>,
    events: Vec<Recorded>,
    full: Vec<Alert>,
    full_stats: Vec<PatternStats>,
}

fn fixture() -> Fixture {
    let plans = plans();
    let events = recorded_stream();
    let mut job = Job::new(&plans, 1);
    job.run(&events, events.len());
    job.finish();
    let full = job.alerts.clone();
    let full_stats = job.stats();
    Fixture {
        plans,
        events,
        full,
        full_stats,
    }
}

fn by_id(alerts: &[Alert]) -> BTreeMap<String, Vec<Alert>> {
    let mut m: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    for a in alerts {
        m.entry(a.id.clone()).or_default().push(a.clone());
    }
    m
}

/// `got` has exactly the alerts of `want` (each id once, same content).
fn assert_same_alerts(want: &[Alert], got: &[Alert], what: &str) {
    let (w, g) = (by_id(want), by_id(got));
    let missing: Vec<&String> = w.keys().filter(|k| !g.contains_key(*k)).collect();
    let extra: Vec<&String> = g.keys().filter(|k| !w.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{what}: {} missing, {} new ids", missing.len(), extra.len());
    for (id, list) in &g {
        assert_eq!(list.len(), w[id].len(), "{what}: alert {id} repeated");
        assert_eq!(list, &w[id], "{what}: alert {id} differs");
    }
}

/// The same ids as `want`, each repeat identical to the original.
fn assert_same_ids_with_identical_repeats(want: &[Alert], got: &[Alert], what: &str) -> usize {
    let (w, g) = (by_id(want), by_id(got));
    assert_eq!(
        w.keys().collect::<Vec<_>>(),
        g.keys().collect::<Vec<_>>(),
        "{what}: the set of alert ids differs"
    );
    let mut repeats = 0;
    for (id, list) in &g {
        let original = &w[id][0];
        for a in list {
            assert_eq!(a, original, "{what}: repeat of {id} differs");
        }
        repeats += list.len() - w[id].len();
    }
    repeats
}

#[test]
fn the_fixture_is_rich_enough() {
    let f = fixture();
    assert!(f.events.len() >= 2_000);
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &f.full {
        *per_rule.entry(a.rule.as_str()).or_default() += 1;
    }
    for p in &f.plans {
        assert!(per_rule.get(p.name.as_str()).copied().unwrap_or(0) > 0, "rule {} never fires: {per_rule:?}", p.name);
    }
    assert!(f.full.iter().any(|a| a.timeout), "some partial match times out");
    assert!(f.full_stats.iter().any(|s| s.late_events > 0), "some events are late");
    assert_eq!(by_id(&f.full).len(), f.full.len(), "ids are unique");
    eprintln!("{} events, {} alerts: {per_rule:?}", f.events.len(), f.full.len());
}

#[test]
fn the_task_count_does_not_change_the_alerts() {
    let f = fixture();
    for tasks in 2..=3 {
        let mut job = Job::new(&f.plans, tasks);
        job.run(&f.events, f.events.len());
        job.finish();
        assert_same_alerts(&f.full, &job.alerts, &format!("{tasks} tasks"));
        assert_eq!(job.stats(), f.full_stats);
    }
}

#[test]
fn restore_at_twenty_random_cuts_onto_one_two_or_three_tasks() {
    let f = fixture();
    let n = f.events.len();
    let mut rng = Rng(20_260_101);
    let mut cuts: Vec<usize> = (0..18).map(|_| 1 + rng.below(n as u64 - 1) as usize).collect();
    cuts.push(1);
    cuts.push(n - 1);
    let mut combos = BTreeSet::new();
    for (i, &k) in cuts.iter().enumerate() {
        let old_tasks = 1 + (i % 3) as u32;
        let new_tasks = 1 + ((i / 3 + i) % 3) as u32;
        combos.insert((old_tasks, new_tasks));
        let backend = if i % 2 == 0 { Backend::RocksDb } else { Backend::Memory };
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalDirStore::new(dir.path().join("store")).unwrap());

        let mut before = Job::new(&f.plans, old_tasks).with_checkpoints(&store, dir.path(), backend);
        before.run(&f.events, k);
        let infos = before.checkpoint(1);
        assert_eq!(infos.len(), old_tasks as usize);
        let alerts_before = std::mem::take(&mut before.alerts);
        drop(before); // everything but the store is gone

        let (mut after, used, skipped) = Job::restore(&f.plans, &store, new_tasks, dir.path(), backend);
        assert_eq!(used, Some(1), "cut {k}");
        assert!(skipped.is_empty(), "{skipped:?}");
        after.run(&f.events, n);
        after.finish();
        let mut all = alerts_before;
        all.extend(after.alerts.iter().cloned());
        let what = format!("cut {k}, {old_tasks} -> {new_tasks} tasks, {backend:?}");
        assert_same_alerts(&f.full, &all, &what);
        assert_eq!(after.stats(), f.full_stats, "{what}: counters");
    }
    assert_eq!(combos.len(), 9, "every (old, new) task count pair is covered: {combos:?}");
}

/// Checkpoints at k1 and k2 (k1 < k2); `damage` spoils the newest.
fn damaged_newest(damage: impl Fn(&LocalDirStore, &str), old_tasks: u32, new_tasks: u32, expect_used: Option<u64>) {
    let f = fixture();
    let n = f.events.len();
    let (k1, k2) = (n / 3, 2 * n / 3);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalDirStore::new(dir.path().join("store")).unwrap());
    let mut before = Job::new(&f.plans, old_tasks).with_checkpoints(&store, dir.path(), Backend::RocksDb);
    before.run(&f.events, k1);
    before.checkpoint(1);
    before.run(&f.events, k2);
    before.checkpoint(2);
    let alerts_before = std::mem::take(&mut before.alerts);
    drop(before);

    // Spoil task 0's newest file (for several tasks, one bad file makes
    // the whole checkpoint id unusable).
    let name = object_name(SCOPE, &format!("t0-of-{old_tasks}"), 2);
    damage(&store, &name);

    let (mut after, used, skipped) = Job::restore(&f.plans, &store, new_tasks, dir.path(), Backend::Memory);
    assert_eq!(used, expect_used);
    assert!(
        skipped.iter().any(|s| s.starts_with("2: ")),
        "the damaged checkpoint is reported: {skipped:?}"
    );
    after.run(&f.events, n);
    after.finish();
    let mut all = alerts_before;
    all.extend(after.alerts.iter().cloned());
    let repeats = assert_same_ids_with_identical_repeats(&f.full, &all, "after a damaged checkpoint");
    // The gap k1..k2 was replayed, so its alerts came twice (same ids).
    assert!(repeats > 0, "the replayed gap repeats some alerts");
    // Counters restored from the older checkpoint plus the replay: as if
    // nothing had happened.
    assert_eq!(after.stats(), f.full_stats);
}

fn path(store: &LocalDirStore, name: &str) -> std::path::PathBuf {
    store.path_of(name).unwrap()
}

#[test]
fn a_truncated_newest_checkpoint_is_skipped_and_the_gap_replayed() {
    for (old, new) in [(1, 1), (2, 3), (3, 1)] {
        damaged_newest(
            |s, name| {
                let p = path(s, name);
                let data = std::fs::read(&p).unwrap();
                std::fs::write(&p, &data[..data.len() * 2 / 3]).unwrap();
            },
            old,
            new,
            Some(1),
        );
    }
}

#[test]
fn a_flipped_byte_in_the_newest_checkpoint_is_detected() {
    let mut rng = Rng(77);
    for (old, new) in [(1, 2), (3, 3)] {
        let at = rng.next();
        damaged_newest(
            move |s, name| {
                let p = path(s, name);
                let mut data = std::fs::read(&p).unwrap();
                let i = (at % data.len() as u64) as usize;
                data[i] ^= 0x10;
                std::fs::write(&p, &data).unwrap();
            },
            old,
            new,
            Some(1),
        );
    }
}

#[test]
fn a_missing_task_file_makes_the_checkpoint_unusable() {
    damaged_newest(|s, name| std::fs::remove_file(path(s, name)).unwrap(), 2, 2, Some(1));
}

/// The newest file verifies (valid checksums) but one key's state does not
/// restore: its operators are never swapped in; the previous checkpoint is.
#[test]
fn a_checkpoint_that_does_not_restore_is_never_half_served() {
    damaged_newest(
        |s, name| {
            let data = s.get(name).unwrap();
            let (header, body) = verify_file(&data).unwrap();
            let mut entries: Vec<(Vec<u8>, Vec<u8>)> =
                decode_body(body).unwrap().into_iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
            // Spoil the LAST key of the last operator: every other operator
            // and key restores fine before it fails.
            let last = entries
                .iter()
                .rposition(|(k, _)| matches!(parse_key(k), Ok(EntryKey::Keyed { .. })))
                .expect("keyed state");
            let v = &mut entries[last].1;
            v.truncate(v.len() / 2);
            let file = encode_file(&header.task, header.checkpoint_id, &encode_body(&entries));
            s.put(name, &file).unwrap();
        },
        1,
        2,
        Some(1),
    );
}

#[test]
fn with_every_checkpoint_damaged_the_task_starts_over_and_replays_everything() {
    let f = fixture();
    let n = f.events.len();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalDirStore::new(dir.path().join("store")).unwrap());
    let mut before = Job::new(&f.plans, 1).with_checkpoints(&store, dir.path(), Backend::Memory);
    before.run(&f.events, n / 4);
    before.checkpoint(1);
    before.run(&f.events, n / 2);
    before.checkpoint(2);
    let alerts_before = std::mem::take(&mut before.alerts);
    drop(before);
    for id in [1, 2] {
        let p = path(&store, &object_name(SCOPE, "t0-of-1", id));
        let mut data = std::fs::read(&p).unwrap();
        let i = data.len() - 5;
        data[i] ^= 0xff;
        std::fs::write(&p, &data).unwrap();
    }
    let (mut after, used, skipped) = Job::restore(&f.plans, &store, 2, dir.path(), Backend::Memory);
    assert_eq!(used, None);
    assert_eq!(skipped.len(), 2, "both ids: {skipped:?}");
    after.run(&f.events, n);
    after.finish();
    let mut all = alerts_before;
    all.extend(after.alerts.iter().cloned());
    assert_same_alerts(&f.full, &after.alerts, "a full replay");
    assert_same_ids_with_identical_repeats(&f.full, &all, "before + full replay");
}

#[test]
fn checkpoints_keep_going_after_a_restore() {
    // Restore, run on, checkpoint again (ids continue), restore again.
    let f = fixture();
    let n = f.events.len();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalDirStore::new(dir.path().join("store")).unwrap());
    let mut a = Job::new(&f.plans, 2).with_checkpoints(&store, dir.path(), Backend::RocksDb);
    a.run(&f.events, n / 5);
    a.checkpoint(1);
    let mut alerts = std::mem::take(&mut a.alerts);
    drop(a);
    let (mut b, used, _) = Job::restore(&f.plans, &store, 3, dir.path(), Backend::RocksDb);
    assert_eq!(used, Some(1));
    b.run(&f.events, n / 2);
    b.checkpoint(2);
    b.run(&f.events, 3 * n / 5);
    b.checkpoint(3);
    alerts.extend(std::mem::take(&mut b.alerts));
    drop(b);
    // Files of the 2-task layout (id 1) and of the 3-task one (ids 2, 3):
    // the newest complete one is used.
    let (mut c, used, skipped) = Job::restore(&f.plans, &store, 1, dir.path(), Backend::RocksDb);
    assert_eq!(used, Some(3));
    assert!(skipped.is_empty(), "{skipped:?}");
    c.run(&f.events, n);
    c.finish();
    alerts.extend(std::mem::take(&mut c.alerts));
    assert_same_alerts(&f.full, &alerts, "two restores");
    assert_eq!(c.stats(), f.full_stats);
}
