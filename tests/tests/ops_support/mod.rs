//! Shared by the `ops_*` tests: the repository's dashboards and alert rules as
//! data, the metric contract (`dashboards/metrics.tsv`), a small PromQL lexer
//! that names the metrics an expression reads, and a real Prometheus server
//! (the Debian package) started on a free port.
#![allow(dead_code)] // each ops_* test binary uses a different part

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Where a PromQL expression came from, for failure messages.
#[derive(Debug, Clone)]
pub struct Expr {
    pub origin: String,
    pub promql: String,
}

/// One metric of the contract.
#[derive(Debug, Clone)]
pub struct ContractMetric {
    pub kind: String,
    pub labels: BTreeSet<String>,
}

/// `dashboards/metrics.tsv`: name -> type and labels.
pub fn contract() -> BTreeMap<String, ContractMetric> {
    let mut out = BTreeMap::new();
    for (n, line) in read("dashboards/metrics.tsv").lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "dashboards/metrics.tsv:{}: want name<TAB>type<TAB>labels", n + 1);
        let labels = if cols[2] == "-" {
            BTreeSet::new()
        } else {
            cols[2].split(',').map(str::to_owned).collect()
        };
        out.insert(cols[0].to_owned(), ContractMetric { kind: cols[1].to_owned(), labels });
    }
    assert!(!out.is_empty(), "dashboards/metrics.tsv lists no metric");
    out
}

/// The metric a series name belongs to: histogram series map to their family.
pub fn family<'a>(name: &'a str, contract: &BTreeMap<String, ContractMetric>) -> Option<&'a str> {
    if contract.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if contract.get(base).is_some_and(|m| m.kind == "histogram") {
                return Some(base);
            }
        }
    }
    None
}

pub const DASHBOARDS: [&str; 2] = [
    "dashboards/grafana/dashboards/cepheus-overview.json",
    "dashboards/grafana/dashboards/cepheus-rule.json",
];
pub const ALERT_RULES: &str = "dashboards/prometheus/cepheus-rules.yml";

pub fn dashboard(rel: &str) -> Json {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid JSON: {e}"))
}

/// Every panel, rows' nested panels included.
pub fn panels(dash: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// Values for the dashboards' variables, so their queries can be run as PromQL:
/// Grafana's interval macros become a fixed range, `$instance` (a regex, "All"
/// is `.*`) matches everything, `$rule` one rule name.
pub fn substitute(expr: &str, rule: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m")
        .replace("$instance", ".*")
        .replace("$rule", rule)
}

/// Each panel target's expression in every dashboard (variables substituted),
/// and each template variable's `label_values(metric, label)` metric.
pub fn dashboard_exprs(rule: &str) -> Vec<Expr> {
    let mut out = Vec::new();
    for rel in DASHBOARDS {
        let dash = dashboard(rel);
        for p in panels(&dash) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let raw = t["expr"].as_str().unwrap_or_default();
                out.push(Expr {
                    origin: format!("{rel}: panel {:?} target {}", p["title"], t["refId"]),
                    promql: substitute(raw, rule),
                });
            }
        }
        for v in dash["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "query" {
                let def = v["definition"].as_str().unwrap_or_default();
                let (metric, _) = label_values(def)
                    .unwrap_or_else(|| panic!("{rel}: variable {} query {def:?} is not label_values(metric, label)", v["name"]));
                out.push(Expr { origin: format!("{rel}: variable {}", v["name"]), promql: metric });
            }
        }
    }
    out
}

/// `label_values(metric, label)` -> (metric, label).
pub fn label_values(def: &str) -> Option<(String, String)> {
    let inner = def.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (metric, label) = inner.split_once(',')?;
    Some((metric.trim().to_owned(), label.trim().to_owned()))
}

/// Each alerting rule's expression in `dashboards/prometheus/cepheus-rules.yml`.
pub fn alert_exprs() -> Vec<Expr> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(ALERT_RULES)).unwrap_or_else(|e| panic!("{ALERT_RULES}: {e}"));
    let mut out = Vec::new();
    for g in doc["groups"].as_sequence().expect("groups").iter() {
        for r in g["rules"].as_sequence().expect("rules").iter() {
            let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
            out.push(Expr {
                origin: format!("{ALERT_RULES}: {name}"),
                promql: r["expr"].as_str().expect("expr").to_owned(),
            });
        }
    }
    out
}

const KEYWORDS: [&str; 9] = ["and", "or", "unless", "bool", "offset", "inf", "nan", "atan2", "start"];
const AGGREGATIONS: [&str; 14] = [
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
    "limitk", "limit_ratio",
];
const GROUPING: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names an expression selects. A small lexer: strings, label
/// matchers `{...}`, ranges `[...]` and grouping label lists are skipped; an
/// identifier followed by `(` is a function; the rest are metric names.
pub fn metric_names(promql: &str) -> BTreeSet<String> {
    let b = promql.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    let skip_to = |from: usize, close: u8| -> usize {
        let mut j = from;
        let mut quote = None;
        while j < b.len() {
            match (quote, b[j]) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), b'\\') => j += 1,
                (Some(_), _) => {}
                (None, b'"' | b'\'' | b'`') => quote = Some(b[j]),
                (None, c) if c == close => return j + 1,
                _ => {}
            }
            j += 1;
        }
        j
    };
    while i < b.len() {
        let c = b[i];
        if c == b'{' {
            i = skip_to(i + 1, b'}');
        } else if c == b'[' {
            i = skip_to(i + 1, b']');
        } else if c == b'"' || c == b'\'' || c == b'`' {
            let q = c;
            i += 1;
            while i < b.len() && b[i] != q {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1; // numbers and durations (1e3, 5m, 0x1f)
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let word = &promql[start..i];
            let mut k = i;
            while k < b.len() && b[k].is_ascii_whitespace() {
                k += 1;
            }
            let lower = word.to_ascii_lowercase();
            if GROUPING.contains(&lower.as_str()) {
                if b.get(k) == Some(&b'(') {
                    i = skip_to(k + 1, b')');
                }
            } else if b.get(k) == Some(&b'(')
                || KEYWORDS.contains(&lower.as_str())
                || (AGGREGATIONS.contains(&lower.as_str())
                    && ["by", "without"].iter().any(|m| promql[k..].to_ascii_lowercase().starts_with(m)))
            {
                // a function or aggregation, or an operator keyword
            } else {
                out.insert(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("local addr").port()
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().expect("HTTP client")
}

/// A real Prometheus server (`/usr/bin/prometheus`, or `$CEPHEUS_PROMETHEUS_BIN`)
/// with its own data folder; killed on drop.
pub struct Prometheus {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus with `config` (a prometheus.yml text; `rule_files`
    /// resolve against `config_dir` when given) and waits until it is ready.
    pub fn start(config: &str, extra_files: &[(&str, &str)]) -> Prometheus {
        let bin = std::env::var("CEPHEUS_PROMETHEUS_BIN").unwrap_or_else(|_| "/usr/bin/prometheus".into());
        assert!(
            Path::new(&bin).exists(),
            "{bin} not found: install Debian's `prometheus` package (.ci/run does) or set CEPHEUS_PROMETHEUS_BIN"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config).expect("write prometheus.yml");
        for (name, text) in extra_files {
            std::fs::write(dir.path().join(name), text).expect("write a Prometheus file");
        }
        let port = free_port();
        let log = dir.path().join("prometheus.log");
        let logf = std::fs::File::create(&log).expect("log file");
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-lifecycle")
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let mut prom = Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir, log };
        prom.wait_ready();
        prom
    }

    fn wait_ready(&mut self) {
        let client = http();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}) before it was ready:\n{}", self.log_tail());
            }
            if client.get(format!("{}/-/ready", self.url)).send().is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(Instant::now() < deadline, "prometheus not ready after 30 s:\n{}", self.log_tail());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Runs an instant query; `Err` carries Prometheus's error (a parse error, say).
    pub fn query(&self, promql: &str) -> Result<Vec<Json>, String> {
        let resp = http()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql)])
            .send()
            .map_err(|e| format!("request failed: {e}"))?;
        let body: Json = resp.json().map_err(|e| format!("response is not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        let result = &body["data"]["result"];
        match (body["data"]["resultType"].as_str(), result) {
            (Some("vector" | "matrix"), Json::Array(items)) => Ok(items.clone()),
            _ => Ok(vec![result.clone()]), // a scalar or string: one value
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
