//! Checkpoint cost with many keys. The 100,000-key measurement is ignored
//! by default (run it with `cargo test --release -p cepheus-runtime --test
//! checkpoint_scale -- --ignored --nocapture`); a 5,000-key version runs
//! always.

use std::sync::Arc;
use std::time::Instant;

use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::checkpoint::{
    restore_latest, Assignment, LocalDirStore, PartitionProgress, Snapshot, SourcePartition, SourceState,
    TaskCheckpointer, TaskLayout,
};
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::pattern::PatternOperator;
use cepheus_runtime::record::Decoder;
use cepheus_runtime::state::{KeyGroups, RocksDbBackend};

const SRC: &str = r#"
stream tx (id int, card string, kind string, amount float, country string, ts timestamp) key card time ts lateness 1s;
rule r {
  from tx partition by card
  pattern small{2,} -> big
  define small as amount < 5, big as amount > 500 and country != small[0].country
  within 1h
}
"#;

fn measure(keys: u64) {
    let plan = compile(SRC, &Catalog::new()).plans[0].clone();
    let decoder = Decoder::new(&plan.stream);
    let mut op = PatternOperator::new(&plan, 1).unwrap();
    let mut out = Vec::new();
    // Two small charges per card: every key holds a partial match of two
    // events (about 110 bytes of JSON each).
    let mut offset = 0;
    for round in 0..2 {
        for k in 0..keys {
            let ts = 1_700_000_000_000i64 + (round * keys + k) as i64;
            let line = format!(
                r#"{{"id":{offset},"card":"card-{k:08}","kind":"purchase","amount":1.5,"country":"FR","ts":{ts}}}"#
            );
            op.on_event(
                Arc::new(Event {
                    record: decoder.decode(line.as_bytes()).unwrap(),
                    position: Position { partition: 0, offset },
                }),
                0,
                &mut out,
            );
            offset += 1;
        }
    }
    op.on_watermark(1_700_000_000_000 + 2 * keys as i64, 0, &mut out);
    assert_eq!(op.key_count() as u64, keys);
    assert!(op.partial_matches() as u64 >= keys, "every key holds partial matches");

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalDirStore::new(dir.path().join("store")).unwrap());
    let backend = RocksDbBackend::open(dir.path().join("rocks")).unwrap();
    let mut cp = TaskCheckpointer::new(Box::new(backend), store.clone(), "bench", TaskLayout::single("tx-p0", KeyGroups::default()))
        .unwrap();
    let mut sources = SourceState::default();
    sources.partitions.insert(
        SourcePartition::new("tx", 0),
        PartitionProgress {
            next_offset: offset,
            max_event_time: 0,
        },
    );
    for id in 1..=2 {
        let info = cp.checkpoint(id, &[&op as &dyn Snapshot], &sources).unwrap();
        eprintln!(
            "{keys} keys, checkpoint {id}: {} bytes ({:.1} bytes/key), total {:?} = snapshot into batch {:?} + RocksDB commit {:?} + read back, encode, store {:?}",
            info.bytes,
            info.bytes as f64 / keys as f64,
            info.total_time(),
            info.snapshot_time,
            info.commit_time,
            info.upload_time
        );
        assert_eq!(info.keys, keys);
    }
    let t = Instant::now();
    let outcome = restore_latest(store.as_ref(), "bench", &Assignment::whole(), |st| {
        PatternOperator::restore(&plan, 1, st.operator("r").unwrap()).map_err(|e| e.to_string())
    })
    .unwrap();
    let restored = outcome.restored.unwrap();
    eprintln!("{keys} keys: restore (read, verify, decode events, rebuild) {:?}", t.elapsed());
    assert_eq!(restored.value.key_count() as u64, keys);
    assert_eq!(restored.value.partial_matches(), op.partial_matches());
}

#[test]
fn checkpoint_of_5k_keys() {
    measure(5_000);
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn checkpoint_of_100k_keys() {
    measure(100_000);
}
