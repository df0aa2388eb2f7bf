//! The in-memory backend: a sorted map. For tests, small deployments and
//! processing-time rules whose state is worthless after a restart; its
//! [`StateBackend::snapshot_to`] writes one checksummed file.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::ops::Bound;
use std::path::Path;

use super::codec::{Reader, Writer};
use super::{BatchOp, StateBackend, StateError, WriteBatch};

const FILE: &str = "memory-state.bin";
const MAGIC: &[u8; 8] = b"CEPHMEM1";

#[derive(Debug, Default, Clone)]
pub struct MemoryBackend {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn delete_range(&mut self, start: &[u8], end: &[u8]) {
        if start >= end {
            return;
        }
        let doomed: Vec<Vec<u8>> = self
            .map
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.map.remove(&k);
        }
    }
}

impl StateBackend for MemoryBackend {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StateError> {
        self.map.remove(key);
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8], visit: &mut dyn FnMut(&[u8], &[u8])) -> Result<(), StateError> {
        for (k, v) in self.map.range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded)) {
            if !k.starts_with(prefix) {
                break;
            }
            visit(k, v);
        }
        Ok(())
    }

    /// Applying operations to a map cannot fail half way: atomic.
    fn commit(&mut self, batch: WriteBatch) -> Result<(), StateError> {
        for op in batch.ops {
            match op {
                BatchOp::Put(k, v) => {
                    self.map.insert(k, v);
                }
                BatchOp::Delete(k) => {
                    self.map.remove(&k);
                }
                BatchOp::DeleteRange(s, e) => self.delete_range(&s, &e),
            }
        }
        Ok(())
    }

    fn snapshot_to(&self, dir: &Path) -> Result<(), StateError> {
        if dir.exists() {
            return Err(StateError::BadSnapshot {
                path: dir.display().to_string(),
                reason: "the target folder exists already".into(),
            });
        }
        let mut w = Writer::new();
        w.usize(self.map.len());
        for (k, v) in &self.map {
            w.bytes(k).bytes(v);
        }
        let body = w.into_bytes();
        let crc = crc32fast::hash(&body);
        let tmp = dir.with_extension("tmp-snapshot");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp)?;
        {
            let mut f = fs::File::create(tmp.join(FILE))?;
            f.write_all(MAGIC)?;
            f.write_all(&(body.len() as u64).to_le_bytes())?;
            f.write_all(&crc.to_le_bytes())?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, dir)?;
        Ok(())
    }

    fn restore_from(&mut self, dir: &Path) -> Result<(), StateError> {
        let path = dir.join(FILE);
        let bad = |reason: &str| StateError::BadSnapshot {
            path: path.display().to_string(),
            reason: reason.to_string(),
        };
        let data = fs::read(&path)?;
        if data.len() < 20 || &data[..8] != MAGIC {
            return Err(bad("not a memory-backend snapshot"));
        }
        let len = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(data[16..20].try_into().unwrap_or_default());
        let body = &data[20..];
        if body.len() != len {
            return Err(bad("truncated"));
        }
        if crc32fast::hash(body) != crc {
            return Err(bad("checksum mismatch"));
        }
        let mut r = Reader::new(body);
        let n = r.count(2).map_err(|e| bad(&e.to_string()))?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = r.bytes().map_err(|e| bad(&e.to_string()))?;
            let v = r.bytes().map_err(|e| bad(&e.to_string()))?;
            map.insert(k.to_vec(), v.to_vec());
        }
        r.finish().map_err(|e| bad(&e.to_string()))?;
        // Swapped in only when the whole file decoded.
        self.map = map;
        Ok(())
    }
}
