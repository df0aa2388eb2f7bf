//! The durable outbox (RocksDB). One record per (sink, alert) still to be
//! delivered, keyed `sink \0 seq` so each sink reads its own FIFO. A record
//! is written (and, with `sync_writes`, fsynced) before `emit` returns, and
//! deleted in the same atomic batch that records the delivered id. Dead
//! letters, delivered ids, suppression state and suppressed alerts live in
//! other column families of the same database, so every state change is one
//! atomic write.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::dead_letter::DeadLetter;
use crate::error::DeliveryError;
use crate::suppress::{Last, SuppressedAlert};
use crate::Alert;

const PENDING: &str = "pending";
const DEAD: &str = "dead";
const DELIVERED: &str = "delivered";
const SUPPRESS: &str = "suppress";
const SUPPRESSED: &str = "suppressed";
const META: &str = "meta";
const SEQ_KEY: &[u8] = b"seq";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRecord {
    pub alert: Alert,
    pub enqueued_ms: i64,
}

pub struct Outbox {
    db: DB,
    path: String,
    sync: bool,
}

pub fn sink_key(sink: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(sink.len() + 9);
    k.extend_from_slice(sink.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn split_sink_key(k: &[u8]) -> Option<(String, u64)> {
    let at = k.len().checked_sub(9)?;
    if k[at] != 0 {
        return None;
    }
    let sink = String::from_utf8(k[..at].to_vec()).ok()?;
    Some((sink, u64::from_be_bytes(k[at + 1..].try_into().ok()?)))
}

impl Outbox {
    pub fn open(dir: &Path, sync: bool) -> Result<Outbox, DeliveryError> {
        let path = dir.display().to_string();
        let err = |source| DeliveryError::Outbox { path: path.clone(), source };
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [PENDING, DEAD, DELIVERED, SUPPRESS, SUPPRESSED, META]
            .into_iter()
            .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(err)?;
        Ok(Outbox { db, path, sync })
    }

    fn err(&self, source: rocksdb::Error) -> DeliveryError {
        DeliveryError::Outbox { path: self.path.clone(), source }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column families are created at open")
    }

    pub fn write(&self, batch: WriteBatch) -> Result<(), DeliveryError> {
        let mut w = WriteOptions::default();
        w.set_sync(self.sync);
        self.db.write_opt(batch, &w).map_err(|e| self.err(e))
    }

    pub fn put_pending(&self, b: &mut WriteBatch, sink: &str, seq: u64, rec: &PendingRecord) {
        b.put_cf(self.cf(PENDING), sink_key(sink, seq), encode(rec));
    }

    pub fn del_pending(&self, b: &mut WriteBatch, sink: &str, seq: u64) {
        b.delete_cf(self.cf(PENDING), sink_key(sink, seq));
    }

    pub fn put_dead(&self, b: &mut WriteBatch, sink: &str, seq: u64, d: &DeadLetter) {
        b.put_cf(self.cf(DEAD), sink_key(sink, seq), encode(d));
    }

    pub fn del_dead(&self, b: &mut WriteBatch, sink: &str, seq: u64) {
        b.delete_cf(self.cf(DEAD), sink_key(sink, seq));
    }

    pub fn put_delivered(&self, b: &mut WriteBatch, sink: &str, id: &str, at_ms: i64) {
        b.put_cf(self.cf(DELIVERED), crate::dedup::key(sink, id), at_ms.to_be_bytes());
    }

    pub fn delivered_at(&self, sink: &str, id: &str) -> Result<Option<i64>, DeliveryError> {
        let v = self.db.get_pinned_cf(self.cf(DELIVERED), crate::dedup::key(sink, id)).map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes)))
    }

    pub fn put_seq(&self, b: &mut WriteBatch, seq: u64) {
        b.put_cf(self.cf(META), SEQ_KEY, seq.to_be_bytes());
    }

    pub fn seq(&self) -> Result<u64, DeliveryError> {
        let v = self.db.get_pinned_cf(self.cf(META), SEQ_KEY).map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)).unwrap_or(0))
    }

    pub fn put_suppress(&self, b: &mut WriteBatch, group: &str, last: &Last) {
        b.put_cf(self.cf(SUPPRESS), group.as_bytes(), encode(last));
    }

    pub fn del_suppress(&self, b: &mut WriteBatch, group: &str) {
        b.delete_cf(self.cf(SUPPRESS), group.as_bytes());
    }

    pub fn put_suppressed(&self, b: &mut WriteBatch, seq: u64, s: &SuppressedAlert) {
        b.put_cf(self.cf(SUPPRESSED), sink_key(&s.alert.rule, seq), encode(s));
    }

    pub fn pending(&self) -> Result<Vec<(String, u64, PendingRecord)>, DeliveryError> {
        self.scan(PENDING)
    }

    pub fn dead(&self) -> Result<Vec<(String, u64, DeadLetter)>, DeliveryError> {
        self.scan(DEAD)
    }

    /// Suppressed alerts, oldest first; of one rule if given (key prefix).
    pub fn suppressed(&self, rule: Option<&str>) -> Result<Vec<SuppressedAlert>, DeliveryError> {
        let all: Vec<(String, u64, SuppressedAlert)> = self.scan(SUPPRESSED)?;
        Ok(all.into_iter().filter(|(r, _, _)| match rule { Some(x) => x == r, None => true }).map(|(_, _, s)| s).collect())
    }

    pub fn suppress_state(&self) -> Result<Vec<(String, Last)>, DeliveryError> {
        let mut out = Vec::new();
        for kv in self.db.iterator_cf(self.cf(SUPPRESS), IteratorMode::Start) {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            let key = String::from_utf8_lossy(&k).into_owned();
            out.push((key.clone(), decode(&v, SUPPRESS, &key)?));
        }
        Ok(out)
    }

    fn scan<T: DeserializeOwned>(&self, cf: &str) -> Result<Vec<(String, u64, T)>, DeliveryError> {
        let mut out = Vec::new();
        for kv in self.db.iterator_cf(self.cf(cf), IteratorMode::Start) {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            let (sink, seq) = split_sink_key(&k).ok_or_else(|| DeliveryError::Corrupt(format!("{cf} key {k:?}")))?;
            out.push((sink.clone(), seq, decode(&v, cf, &format!("{sink}/{seq}"))?));
        }
        Ok(out)
    }

    /// Deletes delivered ids older than `before_ms` and suppressed alerts
    /// suppressed before `suppressed_before_ms`. Returns how many went.
    pub fn purge(&self, before_ms: i64, suppressed_before_ms: i64) -> Result<usize, DeliveryError> {
        let mut b = WriteBatch::default();
        let mut n = 0;
        for kv in self.db.iterator_cf(self.cf(DELIVERED), IteratorMode::Start) {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            let at = v.as_ref().try_into().map(i64::from_be_bytes).unwrap_or(0);
            if at < before_ms {
                b.delete_cf(self.cf(DELIVERED), k);
                n += 1;
            }
        }
        for (rule, seq, s) in self.scan::<SuppressedAlert>(SUPPRESSED)? {
            if crate::time::parse_rfc3339_ms(&s.suppressed_at).unwrap_or(0) < suppressed_before_ms {
                b.delete_cf(self.cf(SUPPRESSED), sink_key(&rule, seq));
                n += 1;
            }
        }
        if n > 0 {
            self.write(b)?;
        }
        Ok(n)
    }
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("outbox records are plain data")
}

fn decode<T: DeserializeOwned>(v: &[u8], cf: &str, key: &str) -> Result<T, DeliveryError> {
    serde_json::from_slice(v).map_err(|e| DeliveryError::Corrupt(format!("{cf}/{key}: {e}")))
}
