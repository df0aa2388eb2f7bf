//! The embedded log: an in-process partitioned log for running without a
//! broker (`POST /streams/{name}/events`).
//!
//! Each partition is an append-only file `<state_dir>/log/<stream>/<p>.log`
//! of lines `<append time ms> <event JSON>`; the offset of a line is its
//! number (from 0). Memory stays bounded: only a sparse index (one byte
//! position per [`INDEX_EVERY`] offsets) is kept, readers stream from the
//! file. The log survives restarts, so a restored task replays the gap after
//! its checkpoint from it. It is never truncated in this version (retention
//! is left to the operator: delete the folder when the service is stopped).
//!
//! Routing: an event goes to `stable_hash(key) % partitions` when the
//! stream declares a `key`, else round-robin. Events that do not decode
//! under the stream's schema are refused at append (and dead-lettered by the
//! caller); while no rule declares the stream, any JSON object is accepted.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use cepheus_dsl::plan::StreamSchema;
use serde::Serialize;

use super::{AssignmentListener, PartitionReader, SourceError, SourceRecord, StartAt, StreamSource};
use crate::record::{DecodeError, Decoder};
use crate::state::key_group::{encode_key, stable_hash};
use crate::value::Value;

/// One index entry per this many offsets (a power of two).
pub const INDEX_EVERY: u64 = 256;

struct Writer {
    file: File,
    /// Byte position of the end of the file.
    len: u64,
    /// Byte position of offsets 0, INDEX_EVERY, 2 * INDEX_EVERY, ...
    index: Vec<u64>,
    dirty: bool,
}

struct Partition {
    path: PathBuf,
    writer: Mutex<Writer>,
    /// Offsets below it are complete lines in the file.
    end: AtomicU64,
}

/// Where the events of one append call went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppendOutcome {
    pub accepted: u64,
    pub malformed: u64,
    /// Per partition written: (partition, first offset, last offset).
    pub offsets: Vec<PartitionRange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionRange {
    pub partition: u32,
    pub first: u64,
    pub last: u64,
}

/// A line refused at append.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused<'a> {
    /// 1-based line number in the append.
    pub line: u64,
    pub error: DecodeError,
    pub payload: &'a [u8],
}

type Waker = Arc<dyn Fn() + Send + Sync>;

/// One stream of the embedded log.
pub struct EmbeddedStream {
    name: String,
    partitions: Vec<Arc<Partition>>,
    schema: RwLock<Option<(StreamSchema, Decoder)>>,
    round_robin: AtomicU64,
    waker: RwLock<Option<Waker>>,
    append_lock: Mutex<()>,
}

/// The embedded log of every stream bound to it.
pub struct EmbeddedLog;

impl EmbeddedLog {
    /// Opens (or creates) stream `name` with `partitions` partitions under
    /// `<state_dir>/log/<name>/`.
    pub fn open_stream(state_dir: &Path, name: &str, partitions: u32) -> Result<Arc<EmbeddedStream>, SourceError> {
        EmbeddedStream::open(&state_dir.join("log").join(name), name, partitions).map(Arc::new)
    }
}

fn io(stream: &str, partition: u32) -> impl Fn(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        stream: stream.to_string(),
        partition,
        source,
    }
}

impl EmbeddedStream {
    fn open(dir: &Path, name: &str, partitions: u32) -> Result<EmbeddedStream, SourceError> {
        if partitions == 0 {
            return Err(SourceError::Config {
                stream: name.to_string(),
                reason: "an embedded stream needs at least 1 partition".into(),
            });
        }
        std::fs::create_dir_all(dir).map_err(io(name, 0))?;
        // A log written with another partition count would route keys
        // elsewhere than their state: refuse it.
        let existing = std::fs::read_dir(dir)
            .map_err(io(name, 0))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .count();
        if existing != 0 && existing != partitions as usize {
            return Err(SourceError::Config {
                stream: name.to_string(),
                reason: format!(
                    "the embedded log in {} has {existing} partitions, the configuration says {partitions}; \
                     rescaling the embedded log is not supported: restore the setting or move the folder away",
                    dir.display()
                ),
            });
        }
        let mut parts = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            parts.push(Arc::new(open_partition(&dir.join(format!("{p}.log")), name, p)?));
        }
        // Round-robin continues where it stopped, so a restarted log routes
        // the same events to the same partitions as an uninterrupted one.
        let appended: u64 = parts.iter().map(|p| p.end.load(Ordering::Acquire)).sum();
        Ok(EmbeddedStream {
            name: name.to_string(),
            partitions: parts,
            schema: RwLock::new(None),
            round_robin: AtomicU64::new(appended),
            waker: RwLock::new(None),
            append_lock: Mutex::new(()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// The next offset of each partition.
    pub fn end_offsets(&self) -> Vec<u64> {
        self.partitions.iter().map(|p| p.end.load(Ordering::Acquire)).collect()
    }

    /// The schema appends are checked against and routed by.
    pub fn set_schema(&self, schema: Option<&StreamSchema>) {
        let mut s = self.schema.write().unwrap_or_else(|e| e.into_inner());
        let same = match (&*s, schema) {
            (Some((old, _)), Some(new)) => old == new,
            (None, None) => true,
            _ => false,
        };
        if !same {
            *s = schema.map(|sc| (sc.clone(), Decoder::new(sc)));
        }
    }

    /// Called after every append (wakes the workers).
    pub fn set_waker(&self, waker: Waker) {
        *self.waker.write().unwrap_or_else(|e| e.into_inner()) = Some(waker);
    }

    /// Appends NDJSON `lines` (blank lines skipped). Lines that do not decode
    /// are passed to `refused` and not appended. `now_ms` is the append time.
    pub fn append(
        &self,
        ndjson: &[u8],
        now_ms: i64,
        refused: &mut dyn FnMut(Refused<'_>),
    ) -> Result<AppendOutcome, SourceError> {
        let n = self.partitions.len();
        let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); n];
        let mut counts = vec![0u64; n];
        let mut out = AppendOutcome::default();
        {
            let schema = self.schema.read().unwrap_or_else(|e| e.into_inner());
            for (i, raw) in ndjson.split(|&b| b == b'\n').enumerate() {
                let line = trim(raw);
                if line.is_empty() {
                    continue;
                }
                let p = match &*schema {
                    Some((sc, decoder)) => match decoder.decode_at(line, now_ms) {
                        Ok(rec) if !sc.key.is_empty() && n > 1 => {
                            let key: Vec<Value> = sc.key.iter().map(|s| rec.get(*s).clone()).collect();
                            (stable_hash(&encode_key(&key)) % n as u64) as usize
                        }
                        Ok(_) => self.next_round_robin(n),
                        Err(error) => {
                            out.malformed += 1;
                            refused(Refused {
                                line: i as u64 + 1,
                                error,
                                payload: line,
                            });
                            continue;
                        }
                    },
                    None => match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
                        Ok(_) if line.first() == Some(&b'{') => self.next_round_robin(n),
                        Ok(_) => {
                            out.malformed += 1;
                            refused(Refused {
                                line: i as u64 + 1,
                                error: DecodeError::NotAnObject { found: "a non-object value" },
                                payload: line,
                            });
                            continue;
                        }
                        Err(e) => {
                            out.malformed += 1;
                            refused(Refused {
                                line: i as u64 + 1,
                                error: DecodeError::Json(e.to_string()),
                                payload: line,
                            });
                            continue;
                        }
                    },
                };
                let b = &mut buffers[p];
                let _ = write!(b, "{now_ms} ");
                b.extend_from_slice(line);
                b.push(b'\n');
                counts[p] += 1;
                out.accepted += 1;
            }
        }
        // One append at a time keeps a multi-partition append's order simple
        // to reason about; partitions are written one after the other.
        let _guard = self.append_lock.lock().unwrap_or_else(|e| e.into_inner());
        for (p, buf) in buffers.iter().enumerate() {
            if counts[p] == 0 {
                continue;
            }
            let part = &self.partitions[p];
            let mut w = part.writer.lock().unwrap_or_else(|e| e.into_inner());
            let first = part.end.load(Ordering::Acquire);
            w.file.write_all(buf).map_err(io(&self.name, p as u32))?;
            // Index the new lines.
            let mut pos = w.len;
            let mut off = first;
            for line in buf.split_inclusive(|&b| b == b'\n') {
                if off & (INDEX_EVERY - 1) == 0 {
                    w.index.push(pos);
                }
                pos += line.len() as u64;
                off += 1;
            }
            w.len = pos;
            w.dirty = true;
            part.end.store(off, Ordering::Release);
            out.offsets.push(PartitionRange {
                partition: p as u32,
                first,
                last: off - 1,
            });
        }
        drop(_guard);
        if out.accepted > 0 {
            if let Some(w) = &*self.waker.read().unwrap_or_else(|e| e.into_inner()) {
                w();
            }
        }
        Ok(out)
    }

    fn next_round_robin(&self, n: usize) -> usize {
        (self.round_robin.fetch_add(1, Ordering::Relaxed) % n as u64) as usize
    }

    fn reader(&self, partition: u32) -> Result<EmbeddedReader, SourceError> {
        let part = self
            .partitions
            .get(partition as usize)
            .cloned()
            .ok_or_else(|| SourceError::Config {
                stream: self.name.clone(),
                reason: format!("no partition {partition} (the stream has {})", self.partitions.len()),
            })?;
        let file = File::open(&part.path).map_err(io(&self.name, partition))?;
        Ok(EmbeddedReader {
            stream: self.name.clone(),
            partition,
            part,
            file: BufReader::with_capacity(256 * 1024, file),
            next: 0,
            line: Vec::new(),
        })
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Opens a partition file: rebuilds the index, cuts a torn last line.
fn open_partition(path: &Path, stream: &str, p: u32) -> Result<Partition, SourceError> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(io(stream, p))?;
    let mut index = Vec::new();
    let mut pos = 0u64;
    let mut complete = 0u64;
    let mut offsets = 0u64;
    {
        let mut r = BufReader::with_capacity(1 << 20, &mut file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(io(stream, p))?;
            if n == 0 || line.last() != Some(&b'\n') {
                break;
            }
            if offsets & (INDEX_EVERY - 1) == 0 {
                index.push(pos);
            }
            pos += n as u64;
            complete = pos;
            offsets += 1;
        }
    }
    let len = file.metadata().map_err(io(stream, p))?.len();
    if len != complete {
        // A crash tore the last line: it was never acknowledged.
        file.set_len(complete).map_err(io(stream, p))?;
    }
    Ok(Partition {
        path: path.to_path_buf(),
        writer: Mutex::new(Writer {
            file,
            len: complete,
            index,
            dirty: false,
        }),
        end: AtomicU64::new(offsets),
    })
}

/// Reads one partition of the embedded log from its file.
pub struct EmbeddedReader {
    stream: String,
    partition: u32,
    part: Arc<Partition>,
    file: BufReader<File>,
    next: u64,
    line: Vec<u8>,
}

impl PartitionReader for EmbeddedReader {
    fn partition(&self) -> u32 {
        self.partition
    }

    fn seek(&mut self, at: StartAt) -> Result<(), SourceError> {
        let target = match at {
            StartAt::Offset(o) => o,
            StartAt::Default => 0,
        };
        let end = self.part.end.load(Ordering::Acquire);
        let target = target.min(end);
        let (base, pos) = {
            let w = self.part.writer.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (target / INDEX_EVERY) as usize;
            match w.index.get(slot) {
                Some(&pos) => (slot as u64 * INDEX_EVERY, pos),
                None => (0, 0),
            }
        };
        self.file
            .seek(SeekFrom::Start(pos))
            .map_err(io(&self.stream, self.partition))?;
        self.next = base;
        while self.next < target {
            self.line.clear();
            let n = self
                .file
                .read_until(b'\n', &mut self.line)
                .map_err(io(&self.stream, self.partition))?;
            if n == 0 {
                break;
            }
            self.next += 1;
        }
        Ok(())
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<usize, SourceError> {
        let end = self.part.end.load(Ordering::Acquire);
        let mut got = 0;
        while got < max && self.next < end {
            self.line.clear();
            let n = self
                .file
                .read_until(b'\n', &mut self.line)
                .map_err(io(&self.stream, self.partition))?;
            if n == 0 || self.line.last() != Some(&b'\n') {
                // Not fully visible yet: read it again on the next poll.
                let back = n as i64;
                self.file
                    .seek_relative(-back)
                    .map_err(io(&self.stream, self.partition))?;
                break;
            }
            let body = &self.line[..self.line.len() - 1];
            let (ts, payload) = match body.iter().position(|&b| b == b' ') {
                Some(i) => (
                    std::str::from_utf8(&body[..i]).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
                    &body[i + 1..],
                ),
                None => (0, body),
            };
            out.push(SourceRecord {
                partition: self.partition,
                offset: self.next,
                key: None,
                payload: payload.to_vec(),
                timestamp_ms: ts,
            });
            self.next += 1;
            got += 1;
        }
        Ok(got)
    }

    fn checkpointed(&mut self, _next_offset: u64) -> Result<(), SourceError> {
        // The checkpoint names offsets in this file: they must survive a
        // power loss as long as the checkpoint does.
        let mut w = self.part.writer.lock().unwrap_or_else(|e| e.into_inner());
        if w.dirty {
            w.file.sync_data().map_err(io(&self.stream, self.partition))?;
            w.dirty = false;
        }
        Ok(())
    }

    fn end_offset(&self) -> Option<u64> {
        Some(self.part.end.load(Ordering::Acquire))
    }
}

impl StreamSource for EmbeddedStream {
    fn stream(&self) -> &str {
        &self.name
    }

    fn start(&self, listener: Arc<dyn AssignmentListener>) -> Result<(), SourceError> {
        let all: Vec<u32> = (0..self.partition_count()).collect();
        listener.assigned(&self.name, &all);
        Ok(())
    }

    fn open_partition(&self, partition: u32) -> Result<Box<dyn PartitionReader>, SourceError> {
        Ok(Box::new(self.reader(partition)?))
    }

    fn stop(&self) -> Result<(), SourceError> {
        for (p, part) in self.partitions.iter().enumerate() {
            let w = part.writer.lock().unwrap_or_else(|e| e.into_inner());
            w.file.sync_data().map_err(io(&self.name, p as u32))?;
        }
        Ok(())
    }

    fn as_embedded(&self) -> Option<&EmbeddedStream> {
        Some(self)
    }
}

