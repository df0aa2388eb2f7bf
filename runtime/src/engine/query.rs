//! Queryable state: the live state one key holds in one rule's operator.

use serde_json::{json, Map, Value as Json};

use crate::pattern::PatternOperator;
use crate::task::{Operator, RuleOp};

/// At most this many held events are listed.
const MAX_EVENTS: usize = 100;

/// The key's state in `op`, or `None` when the operator holds nothing for it.
pub fn key_state(op: &RuleOp, key: &Map<String, Json>) -> Option<Json> {
    match &op.op {
        Operator::Pattern(p) => pattern_key_state(p, &op.plan.partition_by, key),
        Operator::Window(w) => {
            // Per-key window state is not reachable through the window
            // operator's API yet; report what it exposes.
            Some(json!({
                "kind": "window",
                "key_state_available": false,
                "operator_open_windows": w.open_windows(),
                "operator_keys": w.key_count(),
            }))
        }
    }
}

fn pattern_key_state(
    op: &PatternOperator,
    key_fields: &[cepheus_dsl::plan::KeyField],
    key: &Map<String, Json>,
) -> Option<Json> {
    let k = op.keys.iter().find(|k| {
        k.key.len() == key_fields.len()
            && key_fields
                .iter()
                .zip(&k.key)
                .all(|(f, v)| key.get(&f.name).is_some_and(|want| *want == v.to_json()))
    })?;
    let mut held: Vec<_> = k.nfa.events().collect();
    held.sort_by_key(|e| e.position);
    held.dedup_by_key(|e| e.position);
    let events: Vec<Json> = held
        .iter()
        .take(MAX_EVENTS)
        .map(|e| {
            json!({
                "partition": e.position.partition,
                "offset": e.position.offset,
                "event_time": crate::time::format_rfc3339(e.time()),
                "event": *e.record.json(),
            })
        })
        .collect();
    let pending: usize = k.pending.len();
    Some(json!({
        "kind": "pattern",
        "partial_matches": k.nfa.partial_matches(),
        "events_in_partial_matches": events,
        "events_waiting_for_watermark": pending,
        "watermark": (op.watermark() != i64::MIN).then(|| crate::time::format_rfc3339(op.watermark())),
    }))
}
