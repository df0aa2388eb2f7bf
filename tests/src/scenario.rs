//! The FlinkCEP scenarios in `scenarios/flinkcep/*.toml` (format: that
//! folder's README.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::case::{json_id, Case, MatchRec};

#[derive(Debug, Clone)]
pub struct Scenario {
    /// File stem: `NFAITCase__testOptional`.
    pub name: String,
    pub path: PathBuf,
    /// `"NFAITCase#testOptional"`.
    pub source: String,
    pub case: Case,
    /// Expected matches (single partition: key `None`), sorted.
    pub matches: Vec<MatchRec>,
    /// Expected timed-out partial matches, where the Java test checks them (no timestamps).
    pub timeouts: Option<Vec<MatchRec>>,
}

pub fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join("flinkcep")
}

fn recs(v: &Json, what: &str) -> Result<Vec<MatchRec>, String> {
    let arr = v.as_array().ok_or_else(|| format!("`{what}` is not an array"))?;
    let mut out = Vec::new();
    for m in arr {
        let obj = m.as_object().ok_or_else(|| format!("an entry of `{what}` is not a table"))?;
        let mut vars = BTreeMap::new();
        for (var, ids) in obj {
            let ids = ids
                .as_array()
                .ok_or_else(|| format!("`{what}`.{var} is not an array"))?
                .iter()
                .map(|x| json_id(x).ok_or_else(|| format!("bad id {x} in `{what}`")))
                .collect::<Result<Vec<i64>, String>>()?;
            if !ids.is_empty() {
                vars.insert(var.clone(), ids);
            }
        }
        out.push(MatchRec {
            key: None,
            vars,
            timeout_ts: None,
        });
    }
    out.sort();
    Ok(out)
}

pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Json = serde_json::to_value(&table).map_err(|e| e.to_string())?;
    let field = |k: &str| v.get(k).ok_or_else(|| format!("{}: missing `{k}`", path.display()));
    let rule = field("rule")?.as_str().ok_or("`rule` is not a string")?.to_string();
    let source = field("source")?.as_str().unwrap_or_default().to_string();
    let events = field("events")?.as_array().ok_or("`events` is not an array")?.clone();
    let matches = recs(field("matches")?, "matches").map_err(|e| format!("{}: {e}", path.display()))?;
    let timeouts = match v.get("timeouts") {
        Some(t) => Some(recs(t, "timeouts").map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    Ok(Scenario {
        name: path.file_stem().unwrap_or_default().to_string_lossy().into_owned(),
        path: path.to_path_buf(),
        source,
        case: Case { rule, events },
        matches,
        timeouts,
    })
}

/// Every scenario, sorted by file name.
pub fn load_all() -> Vec<Result<Scenario, String>> {
    let dir = scenario_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

/// Timeouts without their timestamps, as the scenarios record them.
pub fn strip_timeout_ts(recs: &[MatchRec]) -> Vec<MatchRec> {
    let mut out: Vec<MatchRec> = recs
        .iter()
        .map(|m| MatchRec {
            timeout_ts: None,
            ..m.clone()
        })
        .collect();
    out.sort();
    out
}
