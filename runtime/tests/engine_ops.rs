//! Malformed events (counted, dead-lettered, the partition goes on),
//! queryable state, per-key limits (throttled, not harmful), savepoints and
//! the metrics the engine registers.

#[path = "engine_support.rs"]
mod support;

use cepheus_runtime::engine::{Engine, ErrorKind, StateBackendKind};
use support::*;

#[test]
fn malformed_events_are_counted_and_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let (e, out, reg) = start(config(dir.path(), 1, 1, StateBackendKind::Memory));
    e.set_rules(rules(&[(TWO_BIG, 1)])).unwrap();
    let t = 1_700_000_000_000i64;
    let body = format!(
        "{{\"id\":1,\"card\":\"a\",\"amount\":900.0,\"ts\":{t}}}\n\
         {{\"id\":2,\"card\":\"a\",\"amount\":\"lots\",\"ts\":{t}}}\n\
         not json\n\
         \n\
         {{\"id\":3,\"card\":\"a\",\"amount\":1.0}}\n\
         {{\"id\":4,\"card\":\"a\",\"amount\":901.0,\"ts\":{}}}\n\
         {{\"id\":5,\"card\":\"b\",\"amount\":1.0,\"ts\":{}}}\n",
        t + 1_000,
        t + 60_000
    );
    let r = e.append("tx", body.as_bytes()).unwrap();
    assert_eq!((r.accepted, r.malformed), (3, 3), "{r:?}");
    let lines: Vec<u64> = r.errors.iter().map(|x| x.line).collect();
    assert_eq!(lines, vec![2, 3, 5]);
    let reasons: Vec<&str> = r.errors.iter().map(|x| x.reason.as_str()).collect();
    assert_eq!(reasons, vec!["type", "json", "missing_time"]);
    caught_up(&e);
    assert_eq!(out.take().len(), 1, "the good events still match");
    assert_eq!(metric(&reg, "cepheus_events_malformed_total", &[("stream", "tx"), ("reason", "json")]), Some(1.0));
    assert_eq!(metric(&reg, "cepheus_events_malformed_total", &[("reason", "type")]), Some(1.0));
    assert_eq!(metric(&reg, "cepheus_events_total", &[("stream", "tx")]), Some(3.0));
    let letters = e.dead_letters();
    assert_eq!(letters.len(), 3);
    assert_eq!(letters[1].payload, "not json");
    let file = std::fs::read_to_string(dir.path().join("state/dead-letters.ndjson")).unwrap();
    assert_eq!(file.lines().count(), 3);
    assert!(file.contains("\"reason\":\"missing_time\""));
    e.shutdown().unwrap();
}

#[test]
fn events_that_stop_decoding_in_a_partition_are_dead_lettered_there() {
    // Before any rule the log accepts any JSON object; the rules that come
    // later refuse some of them, in the task, with partition and offset.
    let dir = tempfile::tempdir().unwrap();
    let (e, out, reg) = start(config(dir.path(), 1, 1, StateBackendKind::Memory));
    let t = 1_700_000_000_000i64;
    let body = format!(
        "{{\"id\":1,\"card\":\"a\",\"amount\":900.0,\"ts\":{t}}}\n{{\"id\":\"x\",\"card\":\"a\",\"amount\":1.0,\"ts\":{t}}}\n"
    );
    assert_eq!(e.append("tx", body.as_bytes()).unwrap().accepted, 2);
    e.set_rules(rules(&[(TWO_BIG, 1)])).unwrap();
    caught_up(&e);
    let letters = e.dead_letters();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!((letters[0].partition, letters[0].offset), (Some(0), Some(1)));
    assert_eq!(metric(&reg, "cepheus_events_malformed_total", &[("reason", "type")]), Some(1.0));
    assert!(out.take().is_empty());
    e.shutdown().unwrap();
}

#[test]
fn query_state_shows_a_keys_partial_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _out, _) = start(config(dir.path(), 3, 2, StateBackendKind::Memory));
    e.set_rules(rules(&[(TWO_BIG, 1), (SMALL_THEN_BIG, 1)])).unwrap();
    let t = 1_700_000_000_000i64;
    let body = format!(
        "{{\"id\":1,\"card\":\"q\",\"amount\":2.0,\"ts\":{t}}}\n\
         {{\"id\":2,\"card\":\"q\",\"amount\":3.0,\"ts\":{}}}\n\
         {{\"id\":3,\"card\":\"q\",\"amount\":3.5,\"ts\":{}}}\n",
        t + 1_000,
        t + 10_000
    );
    e.append("tx", body.as_bytes()).unwrap();
    caught_up(&e);
    let mut key = serde_json::Map::new();
    key.insert("card".into(), "q".into());
    let s = e.query_state("small_then_big", &key).unwrap();
    assert_eq!(s["found"], true, "{s}");
    let state = &s["state"];
    assert!(state["partial_matches"].as_u64().unwrap() >= 1, "{s}");
    let held: Vec<i64> = state["events_in_partial_matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["event"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(held, vec![1, 2], "events at or before the watermark are in partial matches: {s}");
    assert_eq!(state["events_waiting_for_watermark"], 1);

    key.insert("card".into(), "nobody".into());
    assert_eq!(e.query_state("small_then_big", &key).unwrap()["found"], false);
    let err = e.query_state("missing", &key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    let mut wrong = serde_json::Map::new();
    wrong.insert("merchant".into(), "m".into());
    let err = e.query_state("two_big", &wrong).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    assert!(err.to_string().contains("partitioned by [card]"), "{err}");
    e.shutdown().unwrap();
}

#[test]
fn a_rule_over_its_per_key_limit_is_throttled_not_harmful() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 1, 1, StateBackendKind::Memory);
    cfg.max_partial_matches_per_key = Some(3);
    let (e, _out, reg) = start(cfg);
    let greedy = "rule many { from tx partition by card pattern a ->> b define a as amount > 0, b as amount < 0 }";
    e.set_rules(rules(&[(greedy, 1), (TWO_BIG, 1)])).unwrap();
    let t = 1_700_000_000_000i64;
    let lines: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"id":{i},"card":"hot","amount":1.0,"ts":{}}}"#, t + i * 1_000))
        .collect();
    append_all(&e, &lines, 50);
    caught_up(&e);
    let st = e.status();
    let many = st.rules.iter().find(|r| r.id == "many").unwrap();
    assert!(many.throttled, "{st:?}");
    assert!(many.partial_matches <= 3);
    assert!(!st.rules.iter().find(|r| r.id == "two_big").unwrap().throttled);
    assert_eq!(metric(&reg, "cepheus_rule_throttled", &[("rule", "many")]), Some(1.0));
    e.shutdown().unwrap();
}

#[test]
fn savepoints_are_kept_and_restored() {
    let lines = events(5, 600, 10);
    let expected = {
        let dir = tempfile::tempdir().unwrap();
        let (e, out, _) = start(config(dir.path(), 2, 1, StateBackendKind::Memory));
        e.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
        append_all(&e, &lines, 50);
        caught_up(&e);
        e.shutdown().unwrap();
        by_id(&out.take())
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, out_a, _) = start(config(dir.path(), 2, 1, StateBackendKind::RocksDb));
    a.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
    append_all(&a, &lines[..200], 50);
    caught_up(&a);
    let sp = a.savepoint("before-upgrade").unwrap();
    assert_eq!(sp.tasks, 2);
    assert!(a.savepoint("before-upgrade").is_err(), "names are not reused");
    // Later checkpoints push the savepoint's id out of the retained ones.
    for chunk in lines[200..].chunks(100) {
        append_all(&a, chunk, 50);
        caught_up(&a);
        a.checkpoint_now().unwrap();
    }
    a.shutdown().unwrap();
    assert!(a.list_checkpoints().unwrap().iter().all(|c| c.id != sp.checkpoint_id));
    let first = by_id(&out_a.take());
    assert_eq!(first, expected);

    let out_b = std::sync::Arc::new(cepheus_alerts::Collect::default());
    let b = Engine::start_from_savepoint(
        config(dir.path(), 2, 2, StateBackendKind::RocksDb),
        "before-upgrade",
        out_b.clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    b.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
    caught_up(&b);
    for p in &b.status().streams[0].partitions {
        assert_eq!(p.restored_from, Some(sp.checkpoint_id));
    }
    b.shutdown().unwrap();
    // Replaying from the savepoint gives exactly the alerts after it.
    let replay = by_id(&out_b.take());
    assert!(!replay.is_empty());
    for (id, a) in &replay {
        assert_eq!(expected.get(id), Some(a));
    }
    let missing = Engine::start_from_savepoint(
        config(dir.path(), 2, 2, StateBackendKind::RocksDb),
        "nope",
        std::sync::Arc::new(cepheus_alerts::Collect::default()),
        &prometheus::Registry::new(),
    );
    assert_eq!(missing.err().map(|e| e.kind()), Some(ErrorKind::User));
}

#[test]
fn the_engine_registers_the_documented_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _out, reg) = start(config(dir.path(), 2, 1, StateBackendKind::Memory));
    e.set_rules(rules(&[(TWO_BIG, 1)])).unwrap();
    append_all(&e, &events(1, 200, 5), 50);
    caught_up(&e);
    e.checkpoint_now().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_300));
    let names: Vec<String> = reg.gather().iter().map(|f| f.name().to_string()).collect();
    for n in [
        "cepheus_events_total",
        "cepheus_rule_matches_total",
        "cepheus_event_to_alert_seconds",
        "cepheus_watermark_lag_seconds",
        "cepheus_consumer_lag",
        "cepheus_partial_matches",
        "cepheus_state_bytes",
        "cepheus_checkpoint_duration_seconds",
        "cepheus_checkpoint_last_success_timestamp_seconds",
        "cepheus_alerts_total",
        "cepheus_checkpoints_total",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    assert_eq!(metric(&reg, "cepheus_checkpoints_total", &[("outcome", "success")]), Some(2.0));
    assert_eq!(metric(&reg, "cepheus_consumer_lag", &[("stream", "tx")]), Some(0.0));
    assert!(metric(&reg, "cepheus_state_bytes", &[]).unwrap() > 0.0);
    e.shutdown().unwrap();
}
