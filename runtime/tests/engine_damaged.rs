//! Damaged checkpoints: the newest checkpoint of every partition truncated
//! or with a flipped byte is detected by its checksums, the one before it is
//! restored, and the gap is replayed from its offsets: the alerts of both
//! runs together equal one uninterrupted run.

#[path = "engine_support.rs"]
mod support;

use cepheus_runtime::checkpoint::{CheckpointStore, LocalDirStore};
use cepheus_runtime::engine::StateBackendKind;
use support::*;

fn damage(dir: &std::path::Path, id: u64, how: &str) {
    let store = LocalDirStore::new(dir.join("checkpoints")).unwrap();
    let mut hit = 0;
    for name in store.list("streams/").unwrap() {
        if !name.ends_with(&format!("{id:020}.ckpt")) {
            continue;
        }
        let path = store.path_of(&name).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        match how {
            "truncate" => bytes.truncate(bytes.len() * 2 / 3),
            _ => {
                let at = bytes.len() - 7;
                bytes[at] ^= 0x10;
            }
        }
        std::fs::write(&path, bytes).unwrap();
        hit += 1;
    }
    assert!(hit > 0, "checkpoint {id} has files");
}

#[test]
fn damaged_newest_checkpoint_falls_back_and_replays_the_gap() {
    let lines = events(11, 900, 20);
    let expected = {
        let dir = tempfile::tempdir().unwrap();
        let (e, out, _) = start(config(dir.path(), 2, 2, StateBackendKind::Memory));
        e.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
        append_all(&e, &lines, 50);
        caught_up(&e);
        e.shutdown().unwrap();
        by_id(&out.take())
    };
    for how in ["truncate", "flip"] {
        let dir = tempfile::tempdir().unwrap();
        let (a, out_a, _) = start(config(dir.path(), 2, 2, StateBackendKind::RocksDb));
        a.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
        append_all(&a, &lines[..300], 50);
        caught_up(&a);
        let older = a.checkpoint_now().unwrap();
        append_all(&a, &lines[300..600], 50);
        caught_up(&a);
        let newest = a.checkpoint_now().unwrap();
        assert!(newest.id > older.id);
        assert_eq!(a.list_checkpoints().unwrap().len(), 2, "both checkpoints are kept");
        drop(a);
        damage(dir.path(), newest.id, how);

        let (b, out_b, _) = start(config(dir.path(), 2, 1, StateBackendKind::RocksDb));
        b.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
        append_all(&b, &lines[600..], 50);
        caught_up(&b);
        let st = b.status();
        for p in &st.streams[0].partitions {
            assert_eq!(p.restored_from, Some(older.id), "{how}: partition {} used the older checkpoint", p.partition);
            assert!(
                p.skipped_checkpoints.iter().any(|s| s.starts_with(&format!("{}:", newest.id))),
                "{how}: the damaged one is reported: {:?}",
                p.skipped_checkpoints
            );
        }
        b.shutdown().unwrap();
        let second = out_b.take();
        let mut all = out_a.take();
        all.extend(second.iter().cloned());
        assert_eq!(by_id(&all), expected, "{how}: nothing lost, nothing invented");
        // The gap 300..600 was replayed: its alerts came again, same ids.
        assert!(second.iter().any(|a| by_id(&all).contains_key(&a.id)));
    }
}
