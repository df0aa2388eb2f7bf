//! Where checkpoint files go: the [`CheckpointStore`] trait and the local
//! folder store (the default). The trait is the shape of an object store
//! (put/get/list/delete of whole objects by name), so an `object_store`
//! implementation (S3-compatible, shared volume) can come later with no
//! change to the checkpoint code.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("checkpoint store: {0}")]
    Io(#[from] std::io::Error),
    #[error("checkpoint store: no object '{0}'")]
    NotFound(String),
    #[error("checkpoint store: bad object name '{0}'")]
    BadName(String),
}

/// Whole objects by name. Names are `/`-separated paths of plain segments.
pub trait CheckpointStore: Send + Sync {
    /// Stores `data` under `name`, replacing any object of that name.
    /// Atomic: a reader sees the old object, or all of the new one.
    fn put(&self, name: &str, data: &[u8]) -> Result<(), StoreError>;

    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError>;

    /// The names starting with `prefix`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Deleting a missing object is not an error.
    fn delete(&self, name: &str) -> Result<(), StoreError>;
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.starts_with(".tmp-") && !s.contains('\\'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(name.to_string()))
    }
}

/// Checkpoint files in a local folder: `<root>/<name>`. A put writes a
/// temporary file, syncs it, renames it into place and syncs the folder, so
/// a crash leaves either the old file or the complete new one.
#[derive(Debug, Clone)]
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(LocalDirStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file behind `name` (tests damage checkpoints through it).
    pub fn path_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        Ok(self.root.join(name))
    }

    fn walk(&self, dir: &Path, rel: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            if name.starts_with(".tmp-") {
                continue;
            }
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type()?.is_dir() {
                self.walk(&entry.path(), &child, out)?;
            } else {
                out.push(child);
            }
        }
        Ok(())
    }
}

impl CheckpointStore for LocalDirStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let path = self.path_of(name)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)?;
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
        let tmp = dir.join(format!(".tmp-{}-{file_name}", std::process::id()));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(name)?;
        fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound(name.to_string()),
            _ => StoreError::Io(e),
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Walk from the deepest folder the prefix names.
        let (dir_rel, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let start = if dir_rel.is_empty() {
            self.root.clone()
        } else {
            check_name(dir_rel)?;
            self.root.join(dir_rel)
        };
        let mut out = Vec::new();
        self.walk(&start, dir_rel, &mut out)?;
        out.retain(|n| n.starts_with(prefix));
        out.sort();
        Ok(out)
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path_of(name)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A store in memory (tests, and single-process runs that want no files).
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Replaces an object's bytes without any checks (tests damage objects).
    pub fn overwrite(&self, name: &str, data: Vec<u8>) {
        self.lock().insert(name.to_string(), data);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CheckpointStore for MemoryStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        check_name(name)?;
        self.lock().insert(name.to_string(), data.to_vec());
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        self.lock()
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(name.to_string()))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.lock().remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &dyn CheckpointStore) {
        s.put("job/t0/001.ckpt", b"one").unwrap();
        s.put("job/t0/002.ckpt", b"two").unwrap();
        s.put("job/t1/001.ckpt", b"x").unwrap();
        s.put("other/a", b"y").unwrap();
        assert_eq!(s.get("job/t0/002.ckpt").unwrap(), b"two");
        s.put("job/t0/002.ckpt", b"two!").unwrap();
        assert_eq!(s.get("job/t0/002.ckpt").unwrap(), b"two!");
        assert_eq!(
            s.list("job/").unwrap(),
            vec!["job/t0/001.ckpt", "job/t0/002.ckpt", "job/t1/001.ckpt"]
        );
        assert_eq!(s.list("job/t0/").unwrap().len(), 2);
        assert_eq!(s.list("job/t").unwrap().len(), 3);
        assert!(s.list("nothing/").unwrap().is_empty());
        s.delete("job/t0/001.ckpt").unwrap();
        s.delete("job/t0/001.ckpt").unwrap();
        assert!(matches!(s.get("job/t0/001.ckpt"), Err(StoreError::NotFound(_))));
        assert!(s.put("../escape", b"").is_err());
        assert!(s.put("a//b", b"").is_err());
    }

    #[test]
    fn local_dir_store() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDirStore::new(dir.path().join("store")).unwrap();
        exercise(&s);
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("store/job/t0")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn memory_store() {
        exercise(&MemoryStore::new());
    }
}
