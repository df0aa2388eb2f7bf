//! The RocksDB backend (the default): state on local disk, LZ4-compressed,
//! with a write-ahead log, so a committed [`WriteBatch`] survives a crash of
//! the process whole or not at all.

use std::fs;
use std::path::{Path, PathBuf};

use rocksdb::{DBCompressionType, Options, WriteOptions, DB};

use super::{BatchOp, StateBackend, StateError, WriteBatch};

pub struct RocksDbBackend {
    path: PathBuf,
    db: Option<DB>,
}

impl std::fmt::Debug for RocksDbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbBackend").field("path", &self.path).finish()
    }
}

fn options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.set_compression_type(DBCompressionType::Lz4);
    // A task's state is one of many on the machine: keep the footprint small.
    o.set_max_background_jobs(2);
    o.set_write_buffer_size(32 << 20);
    o.set_keep_log_file_num(2);
    o
}

impl RocksDbBackend {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref().to_path_buf();
        fs::create_dir_all(&path)?;
        let db = DB::open(&options(), &path)?;
        Ok(RocksDbBackend { path, db: Some(db) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> Result<&DB, StateError> {
        self.db.as_ref().ok_or(StateError::Closed)
    }

    /// Flushes memtables to disk files.
    pub fn flush(&self) -> Result<(), StateError> {
        Ok(self.db()?.flush()?)
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

impl StateBackend for RocksDbBackend {
    fn kind(&self) -> &'static str {
        "rocksdb"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.db()?.get(key)?)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        Ok(self.db()?.put(key, value)?)
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StateError> {
        Ok(self.db()?.delete(key)?)
    }

    fn scan_prefix(&self, prefix: &[u8], visit: &mut dyn FnMut(&[u8], &[u8])) -> Result<(), StateError> {
        let mut it = self.db()?.raw_iterator();
        it.seek(prefix);
        while it.valid() {
            match (it.key(), it.value()) {
                (Some(k), Some(v)) if k.starts_with(prefix) => visit(k, v),
                _ => break,
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    /// One RocksDB `WriteBatch`, synced to the write-ahead log.
    fn commit(&mut self, batch: WriteBatch) -> Result<(), StateError> {
        let mut b = rocksdb::WriteBatch::default();
        for op in batch.ops {
            match op {
                BatchOp::Put(k, v) => b.put(k, v),
                BatchOp::Delete(k) => b.delete(k),
                BatchOp::DeleteRange(s, e) => b.delete_range(s, e),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        Ok(self.db()?.write_opt(b, &wo)?)
    }

    /// RocksDB's checkpoint: a consistent copy, files hard-linked where the
    /// file system allows.
    fn snapshot_to(&self, dir: &Path) -> Result<(), StateError> {
        let cp = rocksdb::checkpoint::Checkpoint::new(self.db()?)?;
        cp.create_checkpoint(dir)?;
        Ok(())
    }

    /// Closes the database, replaces its folder with a copy of `dir`, and
    /// opens it again. The copy is opened (validated) before the live folder
    /// is touched, so a bad snapshot leaves the current state in place.
    fn restore_from(&mut self, dir: &Path) -> Result<(), StateError> {
        let staging = self.path.with_extension("restoring");
        let _ = fs::remove_dir_all(&staging);
        copy_dir(dir, &staging)?;
        {
            let mut o = options();
            o.create_if_missing(false);
            let check = DB::open(&o, &staging)?;
            drop(check);
        }
        self.db = None;
        let old = self.path.with_extension("replaced");
        let _ = fs::remove_dir_all(&old);
        let swapped = fs::rename(&self.path, &old).and_then(|()| {
            fs::rename(&staging, &self.path).inspect_err(|_| {
                // Put the previous state back.
                let _ = fs::rename(&old, &self.path);
            })
        });
        if let Err(e) = swapped {
            self.db = DB::open(&options(), &self.path).ok();
            return Err(e.into());
        }
        let _ = fs::remove_dir_all(&old);
        self.db = Some(DB::open(&options(), &self.path)?);
        Ok(())
    }
}
