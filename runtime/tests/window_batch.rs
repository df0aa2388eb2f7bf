//! Aggregation rules in batch runs (`cepheus run`): the DSL.md `velocity`
//! rule over NDJSON, mixed with a pattern rule, late events reported.

use cepheus_dsl::{compile, Catalog};
use cepheus_runtime::batch::{run_batch, BatchOptions};
use serde_json::{json, Value as Json};

const RULES: &str = r#"
stream transactions (
  id        string,
  card_id   string,
  amount    float,
  country   string,
  merchant  string,
  lat       float,
  lon       float,
  ts        timestamp          -- RFC 3339 string or epoch milliseconds
)
key card_id                    -- how the source partitions it (Kafka message key)
time ts                        -- event time; without it, processing time
lateness 5s;                   -- bounded out-of-orderness for the watermark

rule velocity {
  severity medium
  from transactions
  where amount > 0
  partition by card_id
  window sliding 5m every 1m
  having count() > 20 or sum(amount) > 5000
  emit card_id, count() as n, sum(amount) as total
  notify fraud_webhook
}

rule big_spender {
  from transactions
  partition by card_id
  pattern big
  define big as amount > 5000
}
"#;

fn events() -> String {
    let mut lines = Vec::new();
    let mut push = |id: String, card: &str, amount: f64, ts: Json| {
        lines.push(
            json!({"id": id, "card_id": card, "amount": amount, "country": "FR",
                   "merchant": "m", "lat": 48.85, "lon": 2.35, "ts": ts})
            .to_string(),
        );
    };
    // c-17: 22 small payments in 2 minutes -> velocity
    let ten = 1_714_557_600_000i64; // 2024-05-01T10:00:00Z, as epoch ms
    for i in 0..22 {
        push(format!("a{i}"), "c-17", 3.0, json!(ten + i * 5_000));
    }
    // c-99: one big payment -> both rules
    push("b".into(), "c-99", 6000.0, json!("2024-05-01T10:03:00Z"));
    // c-1: refunds only (amount <= 0): filtered by `where`
    push("c".into(), "c-1", -10.0, json!("2024-05-01T10:03:30Z"));
    // far later, then a straggler for c-17 that is past every window
    push("d".into(), "c-5", 1.0, json!("2024-05-01T11:00:00Z"));
    push("e".into(), "c-17", 3.0, json!("2024-05-01T10:00:30Z"));
    lines.join("\n")
}

#[test]
fn velocity_runs_in_batch_mode() {
    let c = compile(RULES, &Catalog::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let opts = BatchOptions {
        now_ms: 1_714_561_200_000,
        ..BatchOptions::default()
    };
    let out = run_batch(&c.plans, events().as_bytes(), &opts).expect("batch run");
    assert_eq!(out.events, 26);
    // the c-17 straggler, once per rule: behind the watermark for the
    // pattern, past every window's cleanup time for the aggregation
    assert_eq!(out.late_events, 2);
    let velocity: Vec<_> = out.alerts.iter().filter(|a| a.rule == "velocity").collect();
    let pattern: Vec<_> = out.alerts.iter().filter(|a| a.rule == "big_spender").collect();
    assert_eq!(pattern.len(), 1);
    // c-17's 22 payments (10:00:00 .. 10:01:45) are all in the windows
    // starting 09:57, 09:58, 09:59 and 10:00; c-99's 6000 is in 5 windows.
    let c17: Vec<_> = velocity.iter().filter(|a| a.key["card_id"] == "c-17").collect();
    let c99: Vec<_> = velocity.iter().filter(|a| a.key["card_id"] == "c-99").collect();
    assert_eq!(c17.len(), 4);
    assert_eq!(c99.len(), 5);
    assert_eq!(velocity.len(), 9);
    for a in &c17 {
        assert_eq!(a.fields["n"], json!(22));
        assert_eq!(a.fields["total"], json!(66.0));
        assert!(a.window.is_some());
        assert!(a.matched.is_none());
        assert_eq!(a.notify, vec!["fraud_webhook".to_string()]);
        assert_eq!(a.severity, "medium");
        assert_eq!(a.detected_at, "2024-05-01T11:00:00.000Z");
    }
    let first = c17[0].window.as_ref().unwrap();
    assert_eq!(first.start, "2024-05-01T09:57:00.000Z");
    assert_eq!(first.end, "2024-05-01T10:02:00.000Z");
    assert_eq!(c17[0].event_time, "2024-05-01T10:01:59.999Z");
    // same input, same alerts and ids
    let again = run_batch(&c.plans, events().as_bytes(), &opts).unwrap();
    assert_eq!(again.alerts, out.alerts);
}

#[test]
fn processing_time_window_rules_fire_at_the_end_of_input() {
    let c = compile(
        "stream clicks (user string, page string) key user;
         rule busy { from clicks partition by user window tumbling 1m having count() >= 2
                     emit user, count() as n, count_distinct(page) as pages }",
        &Catalog::new(),
    );
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let input = r#"{"user": "u1", "page": "a"}
{"user": "u1", "page": "b"}
{"user": "u2", "page": "a"}
{"user": "u1", "page": "a"}"#;
    let opts = BatchOptions {
        now_ms: 90_000,
        ..BatchOptions::default()
    };
    let out = run_batch(&c.plans, input.as_bytes(), &opts).unwrap();
    assert_eq!(out.alerts.len(), 1);
    let a = &out.alerts[0];
    assert_eq!(a.fields["n"], json!(3));
    assert_eq!(a.fields["pages"], json!(2));
    assert_eq!(a.window.as_ref().unwrap().start, "1970-01-01T00:01:00.000Z");
}
