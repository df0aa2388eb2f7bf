//! Checkpoint files: the atomic backend batch, the numbered files in the
//! store, retention, verification and fallback, on both backends.

use std::collections::BTreeSet;
use std::sync::Arc;

use cepheus_dsl::plan::RulePlan;
use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::checkpoint::format::verify_file;
use cepheus_runtime::checkpoint::{
    object_name, restore_latest, Assignment, CheckpointError, CheckpointStore, LocalDirStore, MemoryStore,
    PartitionProgress, Snapshot, SourcePartition, SourceState, TaskCheckpointer, TaskLayout,
};
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::pattern::PatternOperator;
use cepheus_runtime::record::Decoder;
use cepheus_runtime::state::{KeyGroups, MemoryBackend, RocksDbBackend, StateBackend};

const SRC: &str = r#"
stream s (key string, type string, v int, ts timestamp) key key time ts lateness 0ms;
rule r { from s partition by key pattern a -> b define a as type = "a", b as type = "b" within 1h }
"#;

fn plan() -> RulePlan {
    let c = compile(SRC, &Catalog::new());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.plans[0].clone()
}

fn feed(op: &mut PatternOperator, decoder: &Decoder, from: u64, to: u64) {
    let mut out = Vec::new();
    for i in from..to {
        let line = format!(r#"{{"key":"k{}","type":"a","v":{i},"ts":{i}}}"#, i % 50);
        op.on_event(
            Arc::new(Event {
                record: decoder.decode(line.as_bytes()).unwrap(),
                position: Position { partition: 0, offset: i },
            }),
            0,
            &mut out,
        );
    }
    op.on_watermark(to as i64 - 1, 0, &mut out);
}

fn sources(next: u64) -> SourceState {
    let mut s = SourceState {
        watermark: next as i64 - 1,
        ..SourceState::default()
    };
    s.partitions.insert(
        SourcePartition::new("s", 0),
        PartitionProgress {
            next_offset: next,
            max_event_time: next as i64 - 1,
        },
    );
    s
}

fn backends(dir: &std::path::Path) -> Vec<Box<dyn StateBackend>> {
    vec![
        Box::new(MemoryBackend::new()),
        Box::new(RocksDbBackend::open(dir.join("rocks")).unwrap()),
    ]
}

fn restore_ops(store: &dyn CheckpointStore, scope: &str, plan: &RulePlan) -> (Option<(u64, PatternOperator, SourceState)>, Vec<String>) {
    let out = restore_latest(store, scope, &Assignment::whole(), |st| {
        PatternOperator::restore(plan, 1, st.operator("r").ok_or("no operator")?).map_err(|e| e.to_string())
    })
    .unwrap();
    let skipped = out.skipped.iter().map(|s| format!("{}: {}", s.checkpoint_id, s.reason)).collect();
    (out.restored.map(|r| (r.checkpoint_id, r.value, r.sources)), skipped)
}

#[test]
fn numbered_files_retention_and_the_local_copy() {
    let plan = plan();
    let decoder = Decoder::new(&plan.stream);
    let dir = tempfile::tempdir().unwrap();
    for backend in backends(dir.path()) {
        let kind = backend.kind();
        let store = Arc::new(LocalDirStore::new(dir.path().join(format!("store-{kind}"))).unwrap());
        let layout = TaskLayout::single("s-p0", KeyGroups::default());
        let mut cp = TaskCheckpointer::new(backend, store.clone(), "job", layout).unwrap();
        let mut op = PatternOperator::new(&plan, 1).unwrap();
        for id in 1..=5u64 {
            feed(&mut op, &decoder, (id - 1) * 100, id * 100);
            let info = cp.checkpoint(id, &[&op as &dyn Snapshot], &sources(id * 100)).unwrap();
            assert_eq!(info.keys, 50);
            assert_eq!(info.object, object_name("job", "s-p0", id));
            let data = store.get(&info.object).unwrap();
            assert_eq!(data.len(), info.bytes);
            let (h, _) = verify_file(&data).unwrap();
            assert_eq!((h.checkpoint_id, h.task.as_str()), (id, "s-p0"));
            // The backend holds exactly the newest checkpoint.
            let meta = cp.local_meta().unwrap().unwrap();
            assert_eq!(meta.checkpoint_id, id, "{kind}");
            assert_eq!(meta.sources, sources(id * 100));
            assert_eq!(meta.operators, vec![("r".to_string(), "pattern".to_string(), 50)]);
        }
        // Three kept by default; older ones deleted.
        let names = store.list("job/").unwrap();
        assert_eq!(
            names,
            (3..=5).map(|id| object_name("job", "s-p0", id)).collect::<Vec<_>>(),
            "{kind}"
        );
        assert!(matches!(
            cp.checkpoint(5, &[&op as &dyn Snapshot], &sources(500)),
            Err(CheckpointError::NotNewer { id: 5, last: 5 })
        ));
        let (restored, skipped) = restore_ops(store.as_ref(), "job", &plan);
        let (id, back, src) = restored.unwrap();
        assert!(skipped.is_empty());
        assert_eq!(id, 5);
        assert_eq!(src, sources(500));
        assert_eq!(back.key_count(), 50);
        assert_eq!(back.stats(), op.stats());
    }
}

#[test]
fn at_least_two_are_kept() {
    let plan = plan();
    let store = Arc::new(MemoryStore::new());
    let mut cp = TaskCheckpointer::new(
        Box::new(MemoryBackend::new()),
        store.clone(),
        "j",
        TaskLayout::single("t", KeyGroups::default()),
    )
    .unwrap()
    .with_retain(1);
    let op = PatternOperator::new(&plan, 1).unwrap();
    for id in [3, 7, 8, 20] {
        cp.checkpoint(id, &[&op as &dyn Snapshot], &sources(0)).unwrap();
    }
    assert_eq!(store.list("j/").unwrap(), vec![object_name("j", "t", 8), object_name("j", "t", 20)]);
}

#[test]
fn damaged_newest_falls_back_with_a_reason() {
    let plan = plan();
    let decoder = Decoder::new(&plan.stream);
    let store = Arc::new(MemoryStore::new());
    let mut cp = TaskCheckpointer::new(
        Box::new(MemoryBackend::new()),
        store.clone(),
        "j",
        TaskLayout::single("t", KeyGroups::default()),
    )
    .unwrap();
    let mut op = PatternOperator::new(&plan, 1).unwrap();
    feed(&mut op, &decoder, 0, 100);
    cp.checkpoint(1, &[&op as &dyn Snapshot], &sources(100)).unwrap();
    feed(&mut op, &decoder, 100, 200);
    cp.checkpoint(2, &[&op as &dyn Snapshot], &sources(200)).unwrap();
    let newest = object_name("j", "t", 2);
    let good = store.get(&newest).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 1].to_vec()),
        ("empty", Vec::new()),
        ("header only", good[..40].to_vec()),
        ("flipped body byte", {
            let mut d = good.clone();
            let i = d.len() / 2;
            d[i] ^= 1;
            d
        }),
        ("flipped header byte", {
            let mut d = good.clone();
            d[14] ^= 0x80;
            d
        }),
        ("extended", {
            let mut d = good.clone();
            d.extend_from_slice(b"junk");
            d
        }),
        ("another task's file", store.get(&object_name("j", "t", 1)).unwrap()),
    ];
    for (what, data) in cases {
        store.overwrite(&newest, data);
        let (restored, skipped) = restore_ops(store.as_ref(), "j", &plan);
        let (id, _, src) = restored.unwrap_or_else(|| panic!("{what}: nothing restored"));
        assert_eq!(id, 1, "{what}");
        assert_eq!(src.partitions[&SourcePartition::new("s", 0)].next_offset, 100, "{what}: seek to the gap");
        assert_eq!(skipped.len(), 1, "{what}: {skipped:?}");
        assert!(skipped[0].starts_with("2: "), "{what}: {skipped:?}");
        eprintln!("{what}: {}", skipped[0]);
    }
    store.overwrite(&newest, good);
    let (restored, _) = restore_ops(store.as_ref(), "j", &plan);
    assert_eq!(restored.unwrap().0, 2);
}

#[test]
fn partition_scopes_are_independent() {
    // Kafka-style: each partition task is its own scope; one partition's
    // damaged checkpoint does not hold back another's.
    let plan = plan();
    let decoder = Decoder::new(&plan.stream);
    let store = Arc::new(MemoryStore::new());
    let mut cps: Vec<TaskCheckpointer> = (0..2)
        .map(|p| {
            TaskCheckpointer::new(
                Box::new(MemoryBackend::new()),
                store.clone(),
                format!("job/s-p{p}"),
                TaskLayout::single(format!("s-p{p}"), KeyGroups::default()),
            )
            .unwrap()
        })
        .collect();
    let mut op = PatternOperator::new(&plan, 1).unwrap();
    for id in 1..=2u64 {
        feed(&mut op, &decoder, (id - 1) * 10, id * 10);
        for cp in &mut cps {
            cp.checkpoint(id, &[&op as &dyn Snapshot], &sources(id * 10)).unwrap();
        }
    }
    store.overwrite(&object_name("job/s-p1", "s-p1", 2), b"garbage".to_vec());
    assert_eq!(restore_ops(store.as_ref(), "job/s-p0", &plan).0.unwrap().0, 2);
    assert_eq!(restore_ops(store.as_ref(), "job/s-p1", &plan).0.unwrap().0, 1);
    assert!(restore_ops(store.as_ref(), "job/s-p2", &plan).0.is_none());
}

#[test]
fn offsets_go_to_the_task_that_reads_the_partition() {
    let plan = plan();
    let store = Arc::new(MemoryStore::new());
    let kg = KeyGroups::new(8);
    let op = PatternOperator::new(&plan, 1).unwrap();
    for t in 0..2u32 {
        let mut cp = TaskCheckpointer::new(
            Box::new(MemoryBackend::new()),
            store.clone(),
            "j",
            TaskLayout::new(format!("t{t}"), t, 2, kg),
        )
        .unwrap();
        let mut src = SourceState::default();
        for p in [t, t + 2] {
            src.partitions.insert(
                SourcePartition::new("s", p),
                PartitionProgress {
                    next_offset: 100 + u64::from(p),
                    max_event_time: 5,
                },
            );
        }
        cp.checkpoint(1, &[&op as &dyn Snapshot], &src).unwrap();
    }
    for tasks in 1..=4u32 {
        let mut seen = BTreeSet::new();
        for j in 0..tasks {
            let mine: Vec<SourcePartition> =
                (0..4).filter(|p| p % tasks == j).map(|p| SourcePartition::new("s", p)).collect();
            let out = restore_latest(store.as_ref(), "j", &Assignment::new(j, tasks, mine.clone()), |_| {
                Ok::<_, String>(())
            })
            .unwrap();
            let r = out.restored.unwrap();
            assert_eq!(r.range, kg.range_for_task(j, tasks));
            for (p, g) in &r.sources.partitions {
                assert!(mine.contains(p));
                assert_eq!(g.next_offset, 100 + u64::from(p.partition));
                assert!(seen.insert(p.partition));
            }
        }
        assert_eq!(seen.len(), 4, "{tasks} tasks: every partition's offset is restored once");
    }
}

#[test]
fn the_backend_holds_one_whole_checkpoint() {
    // A checkpoint replaces the previous one in one batch: no key of the old
    // one survives next to the new one, and the batch survives a reopen.
    let plan = plan();
    let decoder = Decoder::new(&plan.stream);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let layout = TaskLayout::single("t", KeyGroups::default());
    let mut op = PatternOperator::new(&plan, 1).unwrap();
    feed(&mut op, &decoder, 0, 100);
    {
        let backend = RocksDbBackend::open(dir.path().join("db")).unwrap();
        let mut cp = TaskCheckpointer::new(Box::new(backend), store.clone(), "j", layout.clone()).unwrap();
        cp.checkpoint(1, &[&op as &dyn Snapshot], &sources(100)).unwrap();
        assert_eq!(cp.backend().scan_prefix_vec(b"ckpt/t/").unwrap().len(), 1 + 1 + 50);
        let empty = PatternOperator::new(&plan, 1).unwrap();
        cp.checkpoint(2, &[&empty as &dyn Snapshot], &sources(0)).unwrap();
        assert_eq!(cp.backend().scan_prefix_vec(b"ckpt/t/").unwrap().len(), 1 + 1, "meta + shared only");
    }
    let backend = RocksDbBackend::open(dir.path().join("db")).unwrap();
    let cp = TaskCheckpointer::new(Box::new(backend), store.clone(), "j", layout)
        .unwrap()
        .resume_after(2);
    assert_eq!(cp.local_meta().unwrap().unwrap().checkpoint_id, 2);
    assert_eq!(cp.last_checkpoint_id(), Some(2));
    // What the store holds is what the backend held.
    let file = store.get(&object_name("j", "t", 2)).unwrap();
    let (_, body) = verify_file(&file).unwrap();
    let entries = cepheus_runtime::checkpoint::format::decode_body(body).unwrap();
    let local = cp.backend().scan_prefix_vec(b"ckpt/t/").unwrap();
    assert_eq!(entries.len(), local.len());
    for ((k, v), (lk, lv)) in entries.iter().zip(&local) {
        assert_eq!(&lk[b"ckpt/t/".len()..], *k);
        assert_eq!(lv.as_slice(), *v);
    }
}
