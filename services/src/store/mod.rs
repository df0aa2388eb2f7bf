//! The local rule store: every stored change of a rule is a new version;
//! rules are enabled or disabled; a roll back stores an old text again as a
//! new version (so an alert's `rule_version` always names one text).
//!
//! Layout under `<state_dir>/rules/<rule>/`: `v<N>.json` per version (never
//! rewritten) and `meta.json` (enabled, deleted), each written atomically.

mod atomic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rule store at {path}: {source} (check the folder exists and is writable)")]
    Io { path: String, source: std::io::Error },
    #[error("rule store file {path} is damaged: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("no rule '{0}'")]
    NoRule(String),
    #[error("rule '{id}' has no version {version}")]
    NoVersion { id: String, version: u64 },
    #[error("'{0}' is not a valid name (use letters, digits, '_' and '-' only)")]
    BadName(String),
}

/// One stored version of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleVersion {
    pub version: u64,
    /// The rule text, with the stream declarations it needs.
    pub source: String,
    /// When it was stored (RFC 3339).
    pub stored_at: String,
    /// The token name that stored it.
    pub author: String,
    /// What made this version: `create`, `replace`, `rollback to N`, `file`.
    pub change: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    enabled: bool,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    meta: Meta,
    versions: Vec<RuleVersion>,
}

/// A rule as the API shows it: its latest version and whether it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredRule {
    pub id: String,
    pub version: u64,
    pub enabled: bool,
    pub source: String,
    pub stored_at: String,
    pub versions: u64,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    NewVersion,
    Unchanged,
}

pub struct RuleStore {
    dir: PathBuf,
    rules: Mutex<BTreeMap<String, Entry>>,
}

impl RuleStore {
    pub fn open(state_dir: &Path) -> Result<RuleStore, StoreError> {
        let dir = state_dir.join("rules");
        std::fs::create_dir_all(&dir).map_err(|source| io(&dir, source))?;
        let mut rules = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(|source| io(&dir, source))? {
            let entry = entry.map_err(|source| io(&dir, source))?;
            let id = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_dir() || valid_name(&id).is_err() {
                continue;
            }
            rules.insert(id, load_entry(&entry.path())?);
        }
        Ok(RuleStore {
            dir,
            rules: Mutex::new(rules),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `source` as the rule's next version (or creates the rule). The
    /// same text as the latest version stores nothing. `enabled: None` keeps
    /// the current state (new rules: enabled).
    pub fn put(&self, id: &str, source: &str, author: &str, change: &str, enabled: Option<bool>, now: &str) -> Result<(StoredRule, Written), StoreError> {
        valid_name(id)?;
        let mut rules = self.lock();
        let existed = rules.get(id).is_some_and(|e| !e.meta.deleted);
        let entry = rules.entry(id.to_string()).or_insert_with(|| Entry {
            meta: Meta { enabled: true, deleted: false },
            versions: Vec::new(),
        });
        let same_text = existed && entry.versions.last().is_some_and(|v| v.source == source);
        let mut meta = entry.meta.clone();
        if !existed {
            meta = Meta { enabled: true, deleted: false };
        }
        if let Some(e) = enabled {
            meta.enabled = e;
        }
        let written = if same_text {
            Written::Unchanged
        } else {
            let v = RuleVersion {
                // Numbers continue after a delete: an old alert's version
                // never names a different text.
                version: entry.versions.last().map_or(1, |v| v.version + 1),
                source: source.to_string(),
                stored_at: now.to_string(),
                author: author.to_string(),
                change: change.to_string(),
            };
            write_json(&self.dir.join(id).join(format!("v{}.json", v.version)), &v)?;
            entry.versions.push(v);
            if existed {
                Written::NewVersion
            } else {
                Written::Created
            }
        };
        if written != Written::Unchanged || meta.enabled != entry.meta.enabled || meta.deleted != entry.meta.deleted {
            write_json(&self.dir.join(id).join("meta.json"), &meta)?;
            entry.meta = meta;
        }
        Ok((view(id, entry), written))
    }

    pub fn get(&self, id: &str) -> Result<StoredRule, StoreError> {
        let rules = self.lock();
        live(&rules, id).map(|e| view(id, e))
    }

    pub fn list(&self) -> Vec<StoredRule> {
        self.lock()
            .iter()
            .filter(|(_, e)| !e.meta.deleted)
            .map(|(id, e)| view(id, e))
            .collect()
    }

    pub fn versions(&self, id: &str) -> Result<Vec<RuleVersion>, StoreError> {
        Ok(live(&self.lock(), id)?.versions.clone())
    }

    pub fn version(&self, id: &str, version: u64) -> Result<RuleVersion, StoreError> {
        live(&self.lock(), id)?
            .versions
            .iter()
            .find(|v| v.version == version)
            .cloned()
            .ok_or_else(|| StoreError::NoVersion { id: id.to_string(), version })
    }

    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<StoredRule, StoreError> {
        let mut rules = self.lock();
        let entry = rules
            .get_mut(id)
            .filter(|e| !e.meta.deleted)
            .ok_or_else(|| StoreError::NoRule(id.to_string()))?;
        if entry.meta.enabled != enabled {
            let meta = Meta { enabled, deleted: false };
            write_json(&self.dir.join(id).join("meta.json"), &meta)?;
            entry.meta = meta;
        }
        Ok(view(id, entry))
    }

    /// Takes the rule out of the store's listing and the active set. Its
    /// versions stay on disk, so numbering continues if it comes back.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut rules = self.lock();
        let entry = rules
            .get_mut(id)
            .filter(|e| !e.meta.deleted)
            .ok_or_else(|| StoreError::NoRule(id.to_string()))?;
        let meta = Meta { enabled: false, deleted: true };
        write_json(&self.dir.join(id).join("meta.json"), &meta)?;
        entry.meta = meta;
        Ok(())
    }

    /// The enabled rules: (id, version, source) of their latest versions.
    pub fn active(&self) -> Vec<(String, u64, String)> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.meta.enabled && !e.meta.deleted)
            .filter_map(|(id, e)| e.versions.last().map(|v| (id.clone(), v.version, v.source.clone())))
            .collect()
    }
}

fn live<'a>(rules: &'a BTreeMap<String, Entry>, id: &str) -> Result<&'a Entry, StoreError> {
    rules
        .get(id)
        .filter(|e| !e.meta.deleted)
        .ok_or_else(|| StoreError::NoRule(id.to_string()))
}

fn view(id: &str, e: &Entry) -> StoredRule {
    let last = e.versions.last();
    StoredRule {
        id: id.to_string(),
        version: last.map_or(0, |v| v.version),
        enabled: e.meta.enabled,
        source: last.map(|v| v.source.clone()).unwrap_or_default(),
        stored_at: last.map(|v| v.stored_at.clone()).unwrap_or_default(),
        versions: e.versions.len() as u64,
    }
}

pub fn valid_name(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(id.to_string()))
    }
}

fn load_entry(dir: &Path) -> Result<Entry, StoreError> {
    let mut versions = Vec::new();
    let mut meta = Meta { enabled: true, deleted: false };
    for f in std::fs::read_dir(dir).map_err(|source| io(dir, source))? {
        let path = f.map_err(|source| io(dir, source))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name == "meta.json" {
            meta = read_json(&path)?;
        } else if name.starts_with('v') && name.ends_with(".json") {
            versions.push(read_json::<RuleVersion>(&path)?);
        }
    }
    versions.sort_by_key(|v| v.version);
    Ok(Entry { meta, versions })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let bytes = std::fs::read(path).map_err(|source| io(path, source))?;
    serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    atomic::write(path, &bytes).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_enable_delete_and_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = RuleStore::open(dir.path()).expect("open");
        let (r, w) = s.put("r1", "text 1", "t", "create", None, "now").expect("put");
        assert_eq!((r.version, r.enabled, w), (1, true, Written::Created));
        let (_, w) = s.put("r1", "text 1", "t", "replace", None, "now").expect("same");
        assert_eq!(w, Written::Unchanged);
        let (r, w) = s.put("r1", "text 2", "t", "replace", None, "now").expect("put");
        assert_eq!((r.version, w), (2, Written::NewVersion));
        s.set_enabled("r1", false).expect("disable");
        assert!(s.active().is_empty());
        s.put("r2", "other", "t", "create", Some(true), "now").expect("put");

        let s = RuleStore::open(dir.path()).expect("reopen");
        assert_eq!(s.versions("r1").expect("versions").len(), 2);
        assert!(!s.get("r1").expect("r1").enabled);
        assert_eq!(s.active(), vec![("r2".to_string(), 1, "other".to_string())]);
        s.delete("r2").expect("delete");
        assert!(matches!(s.get("r2"), Err(StoreError::NoRule(_))));
        // Numbering continues after a delete.
        let (r, w) = s.put("r2", "again", "t", "create", None, "now").expect("recreate");
        assert_eq!((r.version, w), (2, Written::Created));
    }

    #[test]
    fn names_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = RuleStore::open(dir.path()).expect("open");
        assert!(matches!(s.put("../x", "t", "a", "c", None, "n"), Err(StoreError::BadName(_))));
    }
}
