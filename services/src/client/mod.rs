//! The `cepheus` commands that talk to a running server:
//! `rules push|list|test` and `alerts tail`.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot reach the server at {server}: {source} (is `cepheus serve` running? set --server or CEPHEUS_SERVER)")]
    Connect { server: String, source: reqwest::Error },
    #[error("{0}")]
    Server(String),
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Where the server is and who we are.
#[derive(Debug, Clone)]
pub struct Target {
    pub server: String,
    pub token: Option<String>,
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.trim_end_matches('/'), path)
    }

    async fn call(&self, http: &reqwest::Client, method: Method, path: &str, body: Option<Value>) -> Result<(StatusCode, Value), ClientError> {
        let mut req = http.request(method, self.url(path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|source| ClientError::Connect {
            server: self.server.clone(),
            source,
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|source| ClientError::Connect {
            server: self.server.clone(),
            source,
        })?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClientError::Output)
}

fn read(path: &Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|source| ClientError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// A server error as the user should see it: the message, and rendered
/// rule diagnostics when there are some.
fn server_error(status: StatusCode, body: &Value) -> String {
    let mut msg = format!("server answered {status}: {}", body["error"].as_str().unwrap_or("(no message)"));
    if let Some(diags) = body["details"]["diagnostics"].as_array() {
        for d in diags {
            if let Some(r) = d["rendered"].as_str() {
                msg.push('\n');
                msg.push_str(r.trim_end());
            }
        }
    }
    msg
}

/// `cepheus rules push FILE...`: stores every rule of the files (create or
/// new version). Returns false if any was rejected.
pub fn push(target: &Target, files: &[PathBuf], disabled: bool) -> Result<bool, ClientError> {
    if files.is_empty() {
        return Err(ClientError::Usage("give at least one rule file".into()));
    }
    let rt = runtime()?;
    let http = reqwest::Client::new();
    let mut ok = true;
    for path in files {
        let text = read(path)?;
        let rules = crate::rules::split_file(&text);
        if rules.is_empty() {
            eprintln!("{}: no rules (check it with `cepheus rules check {}`)", path.display(), path.display());
            ok = false;
        }
        for (id, source) in rules {
            let enabled = if disabled { Some(false) } else { None };
            let body = json!({ "source": source, "enabled": enabled });
            let (status, value) = rt.block_on(async {
                let (s, _) = target.call(&http, Method::GET, &format!("/rules/{id}"), None).await?;
                if s == StatusCode::NOT_FOUND {
                    target.call(&http, Method::POST, "/rules", Some(body)).await
                } else {
                    target.call(&http, Method::PUT, &format!("/rules/{id}"), Some(body)).await
                }
            })?;
            if status.is_success() {
                let r = &value["rule"];
                println!(
                    "{id}: version {} {}",
                    r["version"],
                    if value["active"].as_bool() == Some(true) { "active" } else if r["enabled"].as_bool() == Some(false) { "disabled" } else { "stored" }
                );
            } else {
                eprintln!("{}: rule '{id}': {}", path.display(), server_error(status, &value));
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// `cepheus rules list`.
pub fn list(target: &Target) -> Result<(), ClientError> {
    let rt = runtime()?;
    let http = reqwest::Client::new();
    let (status, value) = rt.block_on(target.call(&http, Method::GET, "/rules", None))?;
    if !status.is_success() {
        return Err(ClientError::Server(server_error(status, &value)));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<32} {:>7} {:<8} stored_at", "rule", "version", "enabled")?;
    for r in value.as_array().into_iter().flatten() {
        writeln!(
            out,
            "{:<32} {:>7} {:<8} {}",
            r["id"].as_str().unwrap_or(""),
            r["version"],
            r["enabled"],
            r["stored_at"].as_str().unwrap_or("")
        )?;
    }
    Ok(())
}

/// `cepheus rules test FILE --events FILE`: a backtest on the server; prints
/// the alerts as JSON lines and a summary on standard error.
pub fn test(target: &Target, file: &Path, rule: Option<&str>, events: &Path, now: Option<&str>) -> Result<bool, ClientError> {
    let text = read(file)?;
    let rules = crate::rules::split_file(&text);
    let source = match (rule, rules.len()) {
        (Some(r), _) => rules
            .into_iter()
            .find(|(id, _)| id == r)
            .map(|(_, s)| s)
            .ok_or_else(|| ClientError::Usage(format!("{}: no rule named '{r}'", file.display())))?,
        (None, 1) => rules.into_iter().next().map(|(_, s)| s).unwrap_or_default(),
        (None, n) => return Err(ClientError::Usage(format!("{}: {n} rules; say which with --rule", file.display()))),
    };
    let events = read(events)?;
    let rt = runtime()?;
    let http = reqwest::Client::new();
    let body = json!({ "source": source, "events": events, "now": now });
    let (status, value) = rt.block_on(target.call(&http, Method::POST, "/backtest", Some(body)))?;
    if !status.is_success() {
        eprintln!("{}: {}", file.display(), server_error(status, &value));
        return Ok(false);
    }
    let mut out = std::io::stdout().lock();
    for a in value["alerts"].as_array().into_iter().flatten() {
        writeln!(out, "{a}")?;
    }
    for m in value["malformed"].as_array().into_iter().flatten() {
        eprintln!("line {}: skipped malformed event: {}", m["line"], m["error"].as_str().unwrap_or(""));
    }
    eprintln!(
        "{} event(s), {} alert(s), {} malformed, {} late",
        value["events"],
        value["alerts"].as_array().map_or(0, Vec::len),
        value["malformed"].as_array().map_or(0, Vec::len),
        value["late_events"]
    );
    Ok(true)
}

/// `cepheus alerts tail`: live alerts (Server-Sent Events), one JSON line
/// each, until interrupted or `limit` alerts were printed.
pub fn tail(target: &Target, rule: Option<&str>, severity: Option<&str>, limit: Option<usize>) -> Result<(), ClientError> {
    let rt = runtime()?;
    rt.block_on(async {
        let mut query = Vec::new();
        if let Some(r) = rule {
            query.push(("rule", r));
        }
        if let Some(s) = severity {
            query.push(("severity", s));
        }
        let mut req = reqwest::Client::new().get(target.url("/alerts/stream")).query(&query);
        if let Some(t) = &target.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|source| ClientError::Connect {
            server: target.server.clone(),
            source,
        })?;
        let status = resp.status();
        if !status.is_success() {
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            return Err(ClientError::Server(server_error(status, &body)));
        }
        let mut body = resp.bytes_stream();
        let mut buf: Vec<u8> = Vec::new();
        let mut printed = 0usize;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| ClientError::Connect {
                server: target.server.clone(),
                source,
            })?;
            buf.extend_from_slice(&chunk);
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let line = String::from_utf8_lossy(&line);
                if let Some(data) = line.trim_end().strip_prefix("data:") {
                    let data = data.trim_start();
                    if data.starts_with('{') {
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "{data}")?;
                        out.flush()?;
                        printed += 1;
                        if limit.is_some_and(|l| printed >= l) {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    })
}
