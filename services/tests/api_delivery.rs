//! `cepheus serve` with a `[delivery]` section: alerts go through the durable
//! outbox to a real sink (an NDJSON file), and a rule's `suppress` period
//! (DSL.md) is applied there: one alert per rule and key per period, by event
//! time; the engine's own alert feed (`GET /alerts`) still lists every alert.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "delivery-test-admin";

const RULES: &str = r#"
stream transactions (
  id string, card_id string, amount float, country string, merchant string, ts timestamp
)
key card_id
time ts
lateness 5s;

rule card_testing {
  severity high
  from transactions
  partition by card_id
  pattern small{3,} -> big
  define
    small as amount < 2.00,
    big   as amount > 500 and country != small[0].country
  within 10m
  after match skip past last event
  emit card_id, count(small) as tries, big.amount as amount
  message "Card {card_id}: {tries} tiny charges, then {amount}"
  notify audit
  suppress 30m
}
"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(dir: &Path) -> String {
    format!(
        r#"
rules = ["{rules}"]

[server]
listen = "127.0.0.1:0"
grpc_listen = "127.0.0.1:0"

[[server.tokens]]
name = "admin"
token = "{TOKEN}"
role = "admin"

[engine]
instance_id = "delivery-test"
state_dir = "{state}"
state_backend = "memory"
checkpoint_interval_ms = 0

[[streams]]
name = "transactions"
partitions = 2

[delivery]
default_sinks = ["audit"]

[delivery.sinks.audit]
kind = "log"
target = "file"
path = "{out}"
"#,
        rules = dir.join("rules.cep").display(),
        state = dir.join("state").display(),
        out = dir.join("delivered.ndjson").display(),
    )
}

/// Three tiny charges, then a big one from another country, from `minute`.
fn incident(card: &str, minute: u32) -> Vec<String> {
    let ev = |i: u32, amount: f64, country: &str, m: u32| {
        json!({"id": format!("{card}-{minute}-{i}"), "card_id": card, "amount": amount, "country": country,
               "merchant": "m", "ts": format!("2024-05-01T{:02}:{:02}:00Z", 10 + m / 60, m % 60)})
        .to_string()
    };
    vec![ev(1, 1.0, "FR", minute), ev(2, 1.5, "FR", minute + 1), ev(3, 0.5, "FR", minute + 2), ev(4, 812.0, "US", minute + 3)]
}

fn delivered(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppress_applies_at_delivery_and_alerts_reach_the_file_sink() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("rules.cep"), RULES).expect("rules");
    let cfg = dir.path().join("cepheus.toml");
    std::fs::write(&cfg, config(dir.path())).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cepheus"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts cepheus serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("listening line");
    let _server = Server(child);
    let http = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .unwrap_or_else(|| panic!("no http= in {line:?}"))
        .to_string();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(client.get(format!("http://{http}/readyz")).send().await, Ok(r) if r.status().is_success()) {
        assert!(Instant::now() < deadline, "not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // c-1: incidents at 10:00, 10:10 (inside the first's 30 minutes:
    // suppressed) and 11:00 (a new period); c-2: one incident at 10:10.
    // The last event moves the watermark past all of them.
    let mut events = Vec::new();
    events.extend(incident("c-1", 0));
    events.extend(incident("c-1", 10));
    events.extend(incident("c-2", 10));
    events.extend(incident("c-1", 60));
    events.push(json!({"id": "late", "card_id": "c-1", "amount": 5.0, "country": "FR", "merchant": "m", "ts": "2024-05-01T13:00:00Z"}).to_string());
    events.push(json!({"id": "late2", "card_id": "c-2", "amount": 5.0, "country": "FR", "merchant": "m", "ts": "2024-05-01T13:00:00Z"}).to_string());
    let resp = client
        .post(format!("http://{http}/streams/transactions/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(events.join("\n") + "\n")
        .send()
        .await
        .expect("post events");
    assert!(resp.status().is_success(), "append: {}", resp.status());

    // The engine produced four alerts; the sink receives three.
    let out = dir.path().join("delivered.ndjson");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (engine_alerts, sent) = loop {
        let all: Value = client
            .get(format!("http://{http}/alerts?rule=card_testing"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("alerts")
            .json()
            .await
            .expect("alerts json");
        let n = all.as_array().map_or(0, Vec::len);
        let sent = delivered(&out);
        if n >= 4 && sent.len() >= 3 {
            // Give a wrongly unsuppressed alert the time to show up too.
            tokio::time::sleep(Duration::from_millis(500)).await;
            break (n, delivered(&out));
        }
        assert!(Instant::now() < deadline, "timed out: engine {n} alerts, sink {} ({sent:?})", sent.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(engine_alerts, 4, "the engine's feed lists every alert");
    let mut got: Vec<(String, String)> = sent
        .iter()
        .map(|a| (a["key"]["card_id"].as_str().unwrap_or("?").to_string(), a["event_time"].as_str().unwrap_or("?").to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("c-1".to_string(), "2024-05-01T10:03:00.000Z".to_string()),
            ("c-1".to_string(), "2024-05-01T11:03:00.000Z".to_string()),
            ("c-2".to_string(), "2024-05-01T10:13:00.000Z".to_string()),
        ],
        "one alert per card per 30 minutes reaches the sink"
    );
}
