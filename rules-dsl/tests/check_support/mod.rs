//! Shared by the checker's integration tests: the catalog they compile
//! against, fixture loading, and a line diff for failure messages.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cepheus_dsl::Catalog;

/// The streams of the test catalog, in the language itself.
pub const CATALOG_STREAMS: &str = r#"
stream transactions (
  id        string,
  card_id   string,
  amount    float,
  country   string,
  merchant  string,
  lat       float,
  lon       float,
  ts        timestamp
)
key card_id
time ts
lateness 5s;

stream machines (
  machine_id  string,
  site        string,
  temp        float,
  rpm         int,
  status      string,
  vibration   float?,
  device.fw   string,
  payload     json,
  ts          timestamp
)
key machine_id
time ts
lateness 2s;

stream heartbeats (machine_id string, ts timestamp) key machine_id time ts;
"#;

pub const SINKS: [&str; 4] = ["fraud_webhook", "alerts_topic", "pagerduty", "slack_ops"];

/// The sinks above and the streams of [`CATALOG_STREAMS`].
pub fn catalog() -> Catalog {
    let compiled = cepheus_dsl::compile(CATALOG_STREAMS, &Catalog::new());
    assert!(
        compiled.diagnostics.is_empty(),
        "{}",
        cepheus_dsl::diagnostic::render("catalog", CATALOG_STREAMS, &compiled.diagnostics)
    );
    let mut catalog = Catalog::new().with_sinks(SINKS);
    for s in compiled.streams {
        catalog = catalog.with_stream(s);
    }
    catalog
}

/// Only the sinks, no streams: fixtures declare theirs.
pub fn sinks_only() -> Catalog {
    Catalog::new().with_sinks(SINKS)
}

/// The `.cep` files of a folder under `tests/`, sorted, with their text.
pub fn cep_files(folder: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(folder);
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cep"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect();
    files.sort();
    files
}

/// A minimal line diff for failure messages.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}
