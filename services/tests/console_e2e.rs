//! The web console (services/console/):
//! - `console_bundle_is_current`: its TypeScript type-checks, its unit tests
//!   pass, and the committed dist/ (embedded in the binary) is what the
//!   sources build to. Needs Node.js; skipped with a notice without it.
//! - `console_in_headless_chromium`: Debian's Chromium, driven by Playwright
//!   (services/console/e2e/console.e2e.mjs), against a real `cepheus serve`:
//!   diagnostics as the user types, a backtest over a file, enabling a rule,
//!   live alerts after posting events, state, overview, a viewer who cannot
//!   edit. Screenshots of every page go to
//!   `<target>/tmp/console-screenshots/`. `CEPHEUS_SKIP_CONSOLE_E2E=1` skips it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// `npm ci` once, when node_modules is missing (the npm registry is one of
/// the reachable registries; the lock file pins every package).
fn npm_ci() {
    let dir = console_dir();
    if dir.join("node_modules/.package-lock.json").exists() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .expect("run npm ci in services/console");
    assert!(out.status.success(), "npm ci in services/console failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn console_bundle_is_current() {
    if !have("node") || !have("npm") {
        eprintln!("SKIPPED console_bundle_is_current: Node.js is not installed (apt-get install nodejs npm), so the committed services/console/dist is not checked against its sources");
        return;
    }
    npm_ci();
    let out = Command::new("npm").args(["run", "--silent", "check"]).current_dir(console_dir()).output().expect("run npm run check");
    assert!(
        out.status.success(),
        "services/console: `npm run check` failed (type errors, unit tests, or dist/ out of date: run `npm run build` there and commit dist/):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server under test; killed on drop.
struct Server {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ANALYST: &str = "console-e2e-analyst-0123456789";
const VIEWER: &str = "console-e2e-viewer-0123456789";
const ADMIN: &str = "console-e2e-admin-0123456789";

fn start_server() -> (Server, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let schema = std::fs::read_to_string(examples.join("fraud.cep")).expect("examples/fraud.cep");
    let schema = &schema[schema.find("stream transactions").expect("stream decl")..schema.find("rule card_testing").expect("rule")];
    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"
grpc_listen = "127.0.0.1:0"
tokens = [
  {{ name = "ana", token = "{ANALYST}", role = "analyst" }},
  {{ name = "vic", token = "{VIEWER}", role = "viewer" }},
  {{ name = "adm", token = "{ADMIN}", role = "admin" }},
]

[engine]
state_dir = "state"
checkpoint_interval_ms = 0
state_backend = "memory"
idle_partition_timeout_ms = 200

[[streams]]
name = "transactions"
partitions = 1
schema = """{schema}"""
"#
    );
    let cfg = dir.path().join("cepheus.toml");
    std::fs::write(&cfg, config).expect("write config");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cepheus"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start cepheus serve");
    // The server prints `cepheus: listening http=ADDR grpc=...` once bound.
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("cepheus: listening http=") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let server = Server { child, _dir: dir };
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("cepheus serve did not listen within 30 s:\n{}", server_log(&server)));
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get_status(&addr, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "cepheus serve not ready within 30 s:\n{}", server_log(&server));
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, format!("http://{addr}"))
}

fn server_log(s: &Server) -> String {
    std::fs::read_to_string(s._dir.path().join("server.log")).unwrap_or_default()
}

/// A bare HTTP/1.0 GET (the test needs no HTTP client crate for this).
fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn console_in_headless_chromium() {
    if std::env::var("CEPHEUS_SKIP_CONSOLE_E2E").as_deref() == Ok("1") {
        eprintln!("SKIPPED console_in_headless_chromium: CEPHEUS_SKIP_CONSOLE_E2E=1");
        return;
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists() && have("node"),
        "the console e2e test needs Chromium at {chromium} and Node.js (apt-get install -y chromium nodejs npm; .ci/run does) or CEPHEUS_SKIP_CONSOLE_E2E=1"
    );
    npm_ci();
    let (server, url) = start_server();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/transactions.jsonl");
    let out = Command::new("node")
        .arg("e2e/console.e2e.mjs")
        .current_dir(console_dir())
        .env("CEPHEUS_URL", &url)
        .env("CEPHEUS_ANALYST_TOKEN", ANALYST)
        .env("CEPHEUS_VIEWER_TOKEN", VIEWER)
        .env("CEPHEUS_EVENTS", &events)
        .env("CEPHEUS_SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node e2e/console.e2e.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "console e2e failed:\n{stdout}{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        server_log(&server)
    );
    for name in ["01-rules-empty", "02-editor-diagnostic", "03-editor-backtest", "04-rules", "05-alerts-live", "06-state", "07-overview", "08-viewer-editor"] {
        let p = shots.join(format!("{name}.png"));
        assert!(p.metadata().is_ok_and(|m| m.len() > 1000), "screenshot {} missing", p.display());
    }
}
