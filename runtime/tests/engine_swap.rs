//! Rule-set hot swap: untouched rules keep their state (their alerts equal a
//! run without swaps), a new version with the same pattern structure keeps
//! its partial matches, removed rules drop theirs.

#[path = "engine_support.rs"]
mod support;

use cepheus_runtime::engine::StateBackendKind;
use support::*;

const TWO_BIG_V2: &str = "rule two_big { severity critical from tx partition by card pattern x -> y \
    define x as amount > 900, y as amount > 900 within 1h emit card, y.amount as second, 2 as v }";
const TWO_BIG_LONGER: &str = "rule two_big { from tx partition by card pattern x -> y \
    define x as amount > 800, y as amount > 800 within 2h emit card }";

#[test]
fn untouched_rules_keep_their_state_across_swaps() {
    let lines = events(3, 1_000, 15);
    let baseline = {
        let dir = tempfile::tempdir().unwrap();
        let (e, out, _) = start(config(dir.path(), 2, 2, StateBackendKind::Memory));
        e.set_rules(rules(&[(SMALL_THEN_BIG, 1)])).unwrap();
        append_all(&e, &lines, 40);
        caught_up(&e);
        e.shutdown().unwrap();
        by_id(&out.take())
    };
    let dir = tempfile::tempdir().unwrap();
    let (e, out, _) = start(config(dir.path(), 2, 2, StateBackendKind::Memory));
    let r = e.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG, 1)])).unwrap();
    assert_eq!(r.added, vec!["small_then_big", "two_big"]);
    append_all(&e, &lines[..250], 40);
    let r = e.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG_V2, 2)])).unwrap();
    assert_eq!(r.unchanged, vec!["small_then_big"]);
    assert_eq!(r.updated_in_place, vec!["two_big"]);
    append_all(&e, &lines[250..500], 40);
    let r = e.set_rules(rules(&[(SMALL_THEN_BIG, 1), (TWO_BIG_LONGER, 3)])).unwrap();
    assert_eq!(r.replaced, vec!["two_big"]);
    append_all(&e, &lines[500..750], 40);
    let r = e.set_rules(rules(&[(SMALL_THEN_BIG, 1)])).unwrap();
    assert_eq!(r.removed, vec!["two_big"]);
    append_all(&e, &lines[750..], 40);
    caught_up(&e);
    e.shutdown().unwrap();
    let alerts = out.take();
    let small: Vec<_> = alerts.iter().filter(|a| a.rule == "small_then_big").cloned().collect();
    assert_eq!(by_id(&small), baseline, "the untouched rule's alerts equal a run without swaps");
    assert!(alerts.iter().any(|a| a.rule == "two_big" && a.rule_version == 2 && a.severity == "critical"));
}

#[test]
fn a_new_version_with_the_same_pattern_keeps_partial_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (e, out, _) = start(config(dir.path(), 1, 1, StateBackendKind::Memory));
    e.set_rules(rules(&[(TWO_BIG, 1)])).unwrap();
    let t = 1_700_000_000_000i64;
    let first = format!(r#"{{"id":1,"card":"k","amount":950.0,"ts":{t}}}"#);
    // Moves the watermark past the first event so it is matched.
    let other = format!(r#"{{"id":2,"card":"z","amount":1.0,"ts":{}}}"#, t + 10_000);
    append_all(&e, &[first, other], 10);
    caught_up(&e);
    let mut key = serde_json::Map::new();
    key.insert("card".into(), "k".into());
    let before = e.query_state("two_big", &key).unwrap();
    assert_eq!(before["state"]["partial_matches"], 1, "{before}");
    let r = e.set_rules(rules(&[(TWO_BIG_V2, 2)])).unwrap();
    assert_eq!(r.updated_in_place, vec!["two_big"]);
    let after = e.query_state("two_big", &key).unwrap();
    assert_eq!(after["state"]["partial_matches"], 1, "{after}");
    assert_eq!(after["version"], 2);
    let second = format!(r#"{{"id":3,"card":"k","amount":990.0,"ts":{}}}"#, t + 20_000);
    let late = format!(r#"{{"id":4,"card":"z","amount":1.0,"ts":{}}}"#, t + 40_000);
    append_all(&e, &[second, late], 10);
    caught_up(&e);
    e.shutdown().unwrap();
    let alerts = out.take();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule_version, 2);
    assert_eq!(alerts[0].fields["v"], 2);
}
