//! Restore equivalence at the engine level: for 20 random cut points k of a
//! recorded stream, run events[..k], checkpoint, stop, restore (onto another
//! number of worker threads, and alternately the memory and RocksDB
//! backends), run events[k..]: the alerts equal those of one uninterrupted
//! run. Half of the cuts also crash (no clean shutdown) after more events
//! past the checkpoint: the replay repeats alerts, but only with the same
//! ids and contents.

#[path = "engine_support.rs"]
mod support;

use std::collections::BTreeMap;

use cepheus_runtime::engine::StateBackendKind;
use support::*;

const N: usize = 1_200;

fn uninterrupted(lines: &[String]) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let (engine, out, _) = start(config(dir.path(), 3, 2, StateBackendKind::Memory));
    engine.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
    append_all(&engine, lines, 97);
    caught_up(&engine);
    engine.shutdown().unwrap();
    let alerts = out.take();
    let m = by_id(&alerts);
    assert_eq!(m.len(), alerts.len(), "an uninterrupted run repeats no alert");
    m
}

#[test]
fn restore_equivalence_at_20_cut_points() {
    let lines = events(7, N, 25);
    let expected = uninterrupted(&lines);
    assert!(expected.len() > 30, "the stream plants enough matches ({})", expected.len());

    let mut seed = 0x5eed_u64;
    for round in 0..20 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let k = 1 + (seed >> 33) as usize % (N - 1);
        let backend = if round % 2 == 0 { StateBackendKind::RocksDb } else { StateBackendKind::Memory };
        let crash = round % 4 >= 2;
        let dir = tempfile::tempdir().unwrap();

        let (a, out_a, _) = start(config(dir.path(), 3, 1, backend));
        a.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
        let past = if crash { (k + 150).min(N) } else { k };
        append_all(&a, &lines[..k], 61);
        caught_up(&a);
        a.checkpoint_now().unwrap();
        if crash {
            // Events after the checkpoint, then a stop without a checkpoint.
            append_all(&a, &lines[k..past], 61);
            caught_up(&a);
            drop(a);
        } else {
            a.shutdown().unwrap();
            drop(a);
        }

        let (b, out_b, _) = start(config(dir.path(), 3, 1 + round % 3, backend));
        b.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
        append_all(&b, &lines[past..], 61);
        caught_up(&b);
        let status = b.status();
        for p in &status.streams[0].partitions {
            assert!(p.restored_from.is_some(), "round {round}: partition {} restored", p.partition);
        }
        b.shutdown().unwrap();

        let first = out_a.take();
        let second = out_b.take();
        let mut all = first.clone();
        all.extend(second.iter().cloned());
        let got = by_id(&all);
        assert_eq!(got, expected, "round {round}: cut {k}, crash {crash}");
        if !crash {
            assert_eq!(first.len() + second.len(), expected.len(), "round {round}: no repeats after a clean cut");
        }
    }
}
