//! The FlinkCEP peer: `peers/flinkcep/`, a Java program that runs cases
//! through the real `CepOperator` (see its README.md for the contract).
//!
//! [`Peer::locate`] finds Java and the built peer (`peers/flinkcep/build.sh`
//! builds it when it is missing or older than its sources, and says where
//! its classpath is);
//! [`Peer::run`] sends a whole batch of cases to ONE JVM and parses one
//! result line per case.
//!
//! Tests call [`peer_or_skip`]: when Java, Maven or the peer are missing the
//! test fails with a message saying what is missing, unless the environment
//! sets `CEPHEUS_SKIP_PEER=1`, in which case it prints a loud banner and the
//! peer part is skipped.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use serde_json::{json, Value as Json};

use crate::case::{json_id, MatchRec, Outcome};

/// A located, built peer.
#[derive(Debug, Clone)]
pub struct Peer {
    java: PathBuf,
    classpath: String,
    /// Per-case time budget handed to the peer (`--case-budget-ms`).
    pub case_budget_ms: u64,
}

/// What the peer said about one case.
#[derive(Debug, Clone)]
pub struct PeerResult {
    /// FlinkCEP's matches and timed-out partial matches (empty on error).
    pub outcome: Outcome,
    /// FlinkCEP threw (malformed pattern, budget exceeded, ...).
    pub error: Option<String>,
    /// Peer-side time for the case, when the peer reported it.
    pub elapsed_ms: Option<f64>,
}

/// The peer's folder: `tests/peers/flinkcep`.
pub fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers").join("flinkcep")
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn find_java() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let p = PathBuf::from(home).join("bin").join("java");
        if p.is_file() {
            return Some(p);
        }
    }
    on_path("java")
}

/// Runs `build.sh` (it builds only when `pom.xml` or `src/` changed) and
/// returns the classpath file it reports.
fn build(dir: &Path) -> Result<PathBuf, String> {
    let script = dir.join("build.sh");
    if !script.is_file() {
        return Err(format!("{} does not exist", script.display()));
    }
    if on_path("mvn").is_none() && !dir.join("target").join("classpath.txt").is_file() {
        return Err("Maven (`mvn`) is not on PATH and the peer has not been built".into());
    }
    let t0 = Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 40)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let cp = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEER_CLASSPATH_FILE="))
        .ok_or_else(|| format!("{} printed no PEER_CLASSPATH_FILE:\n{stdout}", script.display()))?;
    if t0.elapsed().as_secs() >= 2 {
        eprintln!("[peer] build.sh took {:.1}s", t0.elapsed().as_secs_f64());
    }
    Ok(PathBuf::from(cp.trim()))
}

impl Peer {
    /// Finds Java and the peer, building the peer if needed.
    pub fn locate() -> Result<Peer, String> {
        let dir = peer_dir();
        if !dir.join("pom.xml").is_file() {
            return Err(format!("the FlinkCEP peer is not at {}", dir.display()));
        }
        let java = find_java().ok_or("Java (`java`, 17+) is not on PATH and JAVA_HOME is not set")?;
        let cp = build(&dir)?;
        let classpath = fs::read_to_string(&cp)
            .map_err(|e| format!("reading {}: {e}", cp.display()))?
            .trim()
            .to_string();
        Ok(Peer {
            java,
            classpath,
            case_budget_ms: 10_000,
        })
    }

    /// Runs cases (each `{"pattern": PatternSpec, "events": [...]}`; a `"case"`
    /// number is added) in one JVM. One result per case, in order.
    pub fn run(&self, cases: &[Json]) -> Result<Vec<PeerResult>, String> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let path = std::env::temp_dir().join(format!(
            "cepheus-peer-{}-{}.jsonl",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        {
            let mut f = std::io::BufWriter::new(
                fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?,
            );
            for (i, c) in cases.iter().enumerate() {
                let mut c = c.clone();
                c["case"] = json!(i);
                serde_json::to_writer(&mut f, &c).map_err(|e| e.to_string())?;
                f.write_all(b"\n").map_err(|e| e.to_string())?;
            }
            f.flush().map_err(|e| e.to_string())?;
        }
        let output = Command::new(&self.java)
            .args(["-Xss16m", "-XX:+UseSerialGC", "-Xshare:auto", "-cp"])
            .arg(&self.classpath)
            .arg("cepheus.peer.Main")
            .arg("--timing")
            .arg("--case-budget-ms")
            .arg(self.case_budget_ms.to_string())
            .arg(&path)
            .stdin(Stdio::null())
            .output();
        let _ = fs::remove_file(&path);
        let output = output.map_err(|e| format!("could not start {}: {e}", self.java.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "the FlinkCEP peer exited with {}:\n{}",
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), 40)
            ));
        }
        let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != cases.len() {
            return Err(format!(
                "the FlinkCEP peer answered {} lines for {} cases; stderr:\n{}",
                lines.len(),
                cases.len(),
                tail(&String::from_utf8_lossy(&output.stderr), 40)
            ));
        }
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| parse_result(i, l))
            .collect()
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn parse_match(m: &Json, timeout: bool) -> Result<MatchRec, String> {
    let key = match m.get("key") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let mut vars = std::collections::BTreeMap::new();
    let obj = m
        .get("vars")
        .and_then(Json::as_object)
        .ok_or_else(|| format!("peer match without vars: {m}"))?;
    for (var, ids) in obj {
        let ids = ids
            .as_array()
            .ok_or_else(|| format!("peer vars.{var} is not an array: {m}"))?
            .iter()
            .map(|x| json_id(x).ok_or_else(|| format!("bad id {x}")))
            .collect::<Result<Vec<i64>, String>>()?;
        if !ids.is_empty() {
            vars.insert(var.clone(), ids);
        }
    }
    let timeout_ts = if timeout { m.get("timeout_ts").and_then(Json::as_i64) } else { None };
    Ok(MatchRec { key, vars, timeout_ts })
}

fn parse_result(i: usize, line: &str) -> Result<PeerResult, String> {
    let v: Json = serde_json::from_str(line).map_err(|e| format!("peer line {i} is not JSON ({e}): {line}"))?;
    if v.get("case").and_then(Json::as_u64) != Some(i as u64) {
        return Err(format!("peer line {i} answers case {:?}", v.get("case")));
    }
    let error = v.get("error").and_then(Json::as_str).map(str::to_string);
    let list = |name: &str, timeout: bool| -> Result<Vec<MatchRec>, String> {
        v.get(name)
            .and_then(Json::as_array)
            .map(|a| a.iter().map(|m| parse_match(m, timeout)).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    };
    Ok(PeerResult {
        outcome: Outcome::new(list("matches", false)?, list("timeouts", true)?),
        error,
        elapsed_ms: v.get("elapsed_ms").and_then(Json::as_f64),
    })
}

/// The peer for a test, or `None` if `CEPHEUS_SKIP_PEER=1` and it is not
/// available. Panics (fails the test) when it is missing and skipping was not
/// asked for.
pub fn peer_or_skip(test: &str) -> Option<Peer> {
    match Peer::locate() {
        Ok(p) => Some(p),
        Err(why) => {
            if std::env::var("CEPHEUS_SKIP_PEER").is_ok_and(|v| v == "1") {
                let bar = "!".repeat(78);
                eprintln!("\n{bar}\n!!! {test}: SKIPPING the FlinkCEP peer (CEPHEUS_SKIP_PEER=1)\n!!! reason: {why}\n!!! The comparison with FlinkCEP did NOT run.\n{bar}\n");
                println!("{test}: FlinkCEP peer SKIPPED (CEPHEUS_SKIP_PEER=1): {why}");
                None
            } else {
                panic!(
                    "{test}: the FlinkCEP peer is not available: {why}\n\
                     Install Java 17 and Maven (CI does), or set CEPHEUS_SKIP_PEER=1 to skip the comparison with FlinkCEP."
                );
            }
        }
    }
}
