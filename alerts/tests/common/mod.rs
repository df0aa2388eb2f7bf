//! Shared parts of the delivery tests: a real HTTP receiver on loopback that
//! verifies Standard Webhooks signatures, alert makers, config helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use cepheus_alerts::sink::webhook::{secret_key, verify};
use cepheus_alerts::{Alert, AlertOutput, Delivery, DeliveryConfig, Secret};

pub const OK: u8 = 0;
pub const FAIL_500: u8 = 1;
pub const SLOW: u8 = 2;

#[derive(Default)]
pub struct RxState {
    pub mode: AtomicU8,
    pub slow_ms: AtomicU64,
    /// Requests seen, whatever the answer.
    pub requests: AtomicU64,
    pub bad_signatures: AtomicU64,
    /// Accepted (2xx) deliveries per alert id.
    pub accepted: Mutex<HashMap<String, u32>>,
    pub bodies: Mutex<Vec<serde_json::Value>>,
    /// Every key must have signed each request (all are checked).
    pub keys: Vec<Vec<u8>>,
}

impl RxState {
    pub fn distinct(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
    pub fn duplicates(&self) -> u64 {
        self.accepted.lock().unwrap().values().map(|&n| u64::from(n.saturating_sub(1))).sum()
    }
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub state: Arc<RxState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook(State(st): State<Arc<RxState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    st.requests.fetch_add(1, Ordering::SeqCst);
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (id, ts, sig) = (h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"));
    let ts: i64 = ts.parse().unwrap_or(0);
    if !st.keys.is_empty() && !st.keys.iter().all(|k| verify(k, &id, ts, &body, &sig)) {
        st.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    match st.mode.load(Ordering::SeqCst) {
        FAIL_500 => return StatusCode::INTERNAL_SERVER_ERROR,
        SLOW => tokio::time::sleep(Duration::from_millis(st.slow_ms.load(Ordering::SeqCst))).await,
        _ => {}
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return StatusCode::BAD_REQUEST,
    };
    let id = if id.is_empty() { value["id"].as_str().unwrap_or("").to_string() } else { id };
    *st.accepted.lock().unwrap().entry(id).or_default() += 1;
    st.bodies.lock().unwrap().push(value);
    StatusCode::NO_CONTENT
}

impl Receiver {
    /// Starts on `port` (0: any free port) with the given signing secrets.
    pub async fn start(port: u16, secrets: &[&str]) -> Receiver {
        let keys = secrets.iter().map(|s| secret_key(&Secret::new(*s)).unwrap()).collect();
        Self::start_with(port, Arc::new(RxState { keys, ..Default::default() })).await
    }

    pub async fn start_with(port: u16, state: Arc<RxState>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind receiver");
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/hook", post(hook)).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn alert(i: usize, rule: &str) -> Alert {
    let mut a = cepheus_alerts::test_alert(&format!("{rule}-{i:06}"), rule, "2026-01-01T00:00:00Z");
    a.key.insert("card".into(), format!("c{}", i % 97).into());
    a.fields.insert("n".into(), (i as u64).into());
    a.labels.insert("team".into(), "fraud".into());
    a
}

/// Polls `f` every 50 ms until it holds or `limit` passes.
pub async fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// The value of a metric sample in the registry's text exposition.
pub fn metric(registry: &prometheus::Registry, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut total = 0.0;
    for fam in registry.gather() {
        if fam.name() != name {
            continue;
        }
        for m in fam.get_metric() {
            let ok = labels.iter().all(|(k, v)| m.get_label().iter().any(|l| l.name() == *k && l.value() == *v));
            if ok {
                // Unset parts read as zero: the sum is the one that is set.
                total += m.get_counter().get_value() + m.get_gauge().get_value() + m.get_histogram().get_sample_count() as f64;
            }
        }
    }
    total
}

/// A delivery config for a webhook on loopback (explicitly allowed).
pub fn webhook_config(url: &str, secrets: &[&str], extra: &str) -> cepheus_alerts::DeliveryConfig {
    let secrets = secrets.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    let text = format!(
        r#"
        default_sinks = ["hook"]
        webhook_allowlist = ["127.0.0.1"]
        allowed_networks = ["127.0.0.1/32"]
        [outbox]
        sync_writes = false
        [retry]
        initial_backoff_ms = 100
        max_backoff_ms = 1000
        breaker_failures = 5
        breaker_cooldown_ms = 500
        [sinks.hook]
        kind = "webhook"
        url = "{url}"
        secrets = [{secrets}]
        timeout_ms = 3000
        concurrency = 16
        {extra}
        "#
    );
    toml::from_str(&text).expect("test config")
}

/// Alerts the crash child enqueues.
pub const CHILD_ALERTS: usize = 2000;

/// Only does something in a child (CEPHEUS_CRASH_CHILD_DIR set): opens the
/// outbox, emits `CHILD_ALERTS` alerts, says so, and waits to be killed.
pub fn crash_child_main() {
    let Ok(dir) = std::env::var("CEPHEUS_CRASH_CHILD_DIR") else { return };
    let cfg: DeliveryConfig = toml::from_str(&std::env::var("CEPHEUS_CRASH_CHILD_CONFIG").unwrap()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let d = Delivery::open(cfg, std::path::Path::new(&dir), &prometheus::Registry::new()).unwrap();
        for b in 0..CHILD_ALERTS / 100 {
            let batch: Vec<_> = (b * 100..(b + 1) * 100).map(|i| alert(i, "crash")).collect();
            d.emit(&batch).unwrap();
        }
        let wait: u64 = std::env::var("CEPHEUS_CRASH_CHILD_WAIT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        println!("ENQUEUED {}", d.outbox_depth());
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

/// Runs the child with `config`, waits for it to enqueue, kills it (SIGKILL).
pub fn run_and_kill_child(dir: &std::path::Path, config: &str, wait_ms: u64) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("CEPHEUS_CRASH_CHILD_DIR", dir)
        .env("CEPHEUS_CRASH_CHILD_CONFIG", config)
        .env("CEPHEUS_CRASH_CHILD_WAIT_MS", wait_ms.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("the child exited before enqueuing");
        }
        // libtest prints "test crash_child ... " before the child's output.
        if let Some(at) = line.find("ENQUEUED") {
            line = line[at..].to_string();
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    line.trim().to_string()
}

