//! Measures a checkpoint of 100,000 keys each holding a partial match
//! (`cargo test --release -p cepheus-runtime --test engine_checkpoint_size
//! -- --ignored --nocapture`): size and duration, printed. Ignored by
//! default: it is a measurement, not a check.

#[path = "engine_support.rs"]
mod support;

use std::time::Instant;

use cepheus_runtime::engine::StateBackendKind;
use support::*;

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn checkpoint_of_100k_keys() {
    for backend in [StateBackendKind::RocksDb, StateBackendKind::Memory] {
        let dir = tempfile::tempdir().unwrap();
        let (e, _out, _) = start(config(dir.path(), 1, 1, backend));
        e.set_rules(rules(&[(TWO_BIG, 1)])).unwrap();
        let t = 1_700_000_000_000i64;
        let lines: Vec<String> = (0..100_000)
            .map(|i| format!(r#"{{"id":{i},"card":"card-{i}","amount":900.0,"ts":{}}}"#, t + i))
            .collect();
        let t0 = Instant::now();
        append_all(&e, &lines, 5_000);
        caught_up(&e);
        let run = t0.elapsed();
        let mut rows = Vec::new();
        for _ in 0..3 {
            let t1 = Instant::now();
            let cp = e.checkpoint_now().unwrap();
            rows.push((cp.bytes, cp.keys, t1.elapsed()));
        }
        println!("{backend:?}: 100k events in {run:?}; checkpoints (bytes, keys, duration): {rows:?}");
        e.shutdown().unwrap();
    }
}
