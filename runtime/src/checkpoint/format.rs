//! The checkpoint file: a checksummed header, then a checksummed body.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "CEPHCKPT"
//! 8       2     format version (u16 LE), 1
//! 10      2     header length H in bytes, header CRC included (u16 LE)
//! 12      8     checkpoint id (u64 LE)
//! 20      8     body length (u64 LE)
//! 28      4     CRC32 (IEEE) of the body (u32 LE)
//! 32      2     task name length n (u16 LE)
//! 34      n     task name, UTF-8 (the partition task, e.g. "transactions-p3")
//! 34+n    4     CRC32 of bytes 0..34+n (u32 LE)
//! H       ...   body: the task's checkpoint entries, as the state backend
//!               holds them: count, then (key, value) pairs, varint lengths
//! ```
//!
//! A file is accepted only if its magic and version are known, the header
//! checksum holds, the file is exactly `H + body length` bytes (a truncated
//! or extended file is refused) and the body checksum holds. A flipped bit
//! anywhere is caught by one of the two checksums.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::state::codec::{CodecError, Reader, Writer};
use crate::state::{KeyGroup, KeyGroupRange, KeyGroups};

pub const MAGIC: &[u8; 8] = b"CEPHCKPT";
pub const FORMAT_VERSION: u16 = 1;
const META_FORMAT: u8 = 1;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a checkpoint file (bad magic)")]
    BadMagic,
    #[error("checkpoint format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion(u16),
    #[error("header too short ({0} bytes)")]
    TooShort(usize),
    #[error("header checksum mismatch")]
    HeaderChecksum,
    #[error("truncated: the header announces {expected} bytes, the file has {actual}")]
    Truncated { expected: u64, actual: u64 },
    #[error("{0} unexpected bytes after the body")]
    TrailingBytes(u64),
    #[error("body checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    BodyChecksum { stored: u32, computed: u32 },
    #[error("corrupt body: {0}")]
    Body(#[from] CodecError),
    #[error("the file names checkpoint {expected} of task '{task}', its header says {found}")]
    WrongFile { expected: String, task: String, found: String },
}

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub task: String,
    pub checkpoint_id: u64,
    pub body_len: u64,
    pub body_crc: u32,
}

/// Header + body, ready to store.
pub fn encode_file(task: &str, checkpoint_id: u64, body: &[u8]) -> Vec<u8> {
    let name = task.as_bytes();
    let name_len = name.len().min(u16::MAX as usize - 64);
    let header_len = 34 + name_len + 4;
    let mut out = Vec::with_capacity(header_len + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(&checkpoint_id.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(&(name_len as u16).to_le_bytes());
    out.extend_from_slice(&name[..name_len]);
    let hcrc = crc32fast::hash(&out);
    out.extend_from_slice(&hcrc.to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Checks a whole file; returns its header and body.
pub fn verify_file(data: &[u8]) -> Result<(Header, &[u8]), FormatError> {
    if data.len() < 12 {
        return Err(FormatError::TooShort(data.len()));
    }
    if &data[..8] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let version = le16(data, 8);
    if version != FORMAT_VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    let header_len = usize::from(le16(data, 10));
    if header_len < 38 || data.len() < header_len {
        return Err(FormatError::TooShort(data.len().min(header_len)));
    }
    let name_len = usize::from(le16(data, 32));
    if 34 + name_len + 4 != header_len {
        return Err(FormatError::HeaderChecksum);
    }
    if crc32fast::hash(&data[..header_len - 4]) != le32(data, header_len - 4) {
        return Err(FormatError::HeaderChecksum);
    }
    let header = Header {
        version,
        task: String::from_utf8_lossy(&data[34..34 + name_len]).into_owned(),
        checkpoint_id: le64(data, 12),
        body_len: le64(data, 20),
        body_crc: le32(data, 28),
    };
    let actual = (data.len() - header_len) as u64;
    if actual < header.body_len {
        return Err(FormatError::Truncated {
            expected: header_len as u64 + header.body_len,
            actual: data.len() as u64,
        });
    }
    if actual > header.body_len {
        return Err(FormatError::TrailingBytes(actual - header.body_len));
    }
    let body = &data[header_len..];
    let computed = crc32fast::hash(body);
    if computed != header.body_crc {
        return Err(FormatError::BodyChecksum {
            stored: header.body_crc,
            computed,
        });
    }
    Ok((header, body))
}

/// The body: the backend's entries under the task's namespace (keys
/// relative to it), in key order.
pub fn encode_body(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let size: usize = entries.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut w = Writer::with_capacity(size + 8);
    w.usize(entries.len());
    for (k, v) in entries {
        w.bytes(k).bytes(v);
    }
    w.into_bytes()
}

pub fn decode_body(body: &[u8]) -> Result<Vec<(&[u8], &[u8])>, CodecError> {
    let mut r = Reader::new(body);
    let n = r.count(2)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = r.bytes()?;
        let v = r.bytes()?;
        out.push((k, v));
    }
    r.finish()?;
    Ok(out)
}

// Entry keys, relative to the task's namespace.
pub const META_KEY: &[u8] = b"m";
const OP_TAG: u8 = b'o';
const SHARED_TAG: u8 = b's';
const KEYED_TAG: u8 = b'k';

fn op_prefix(op: &str) -> Writer {
    let mut w = Writer::new();
    w.u8(OP_TAG).str(op);
    w
}

pub fn shared_key(op: &str, index: u32) -> Vec<u8> {
    let mut w = op_prefix(op);
    w.u8(SHARED_TAG).raw(&index.to_be_bytes());
    w.into_bytes()
}

/// Big-endian group first, so a task's key groups are contiguous.
pub fn keyed_key(op: &str, group: KeyGroup, key: &[u8]) -> Vec<u8> {
    let mut w = op_prefix(op);
    w.u8(KEYED_TAG).raw(&group.to_be_bytes()).raw(key);
    w.into_bytes()
}

/// A parsed entry key.
#[derive(Debug, PartialEq, Eq)]
pub enum EntryKey<'a> {
    Meta,
    Shared { op: &'a str, index: u32 },
    Keyed { op: &'a str, group: KeyGroup, key: &'a [u8] },
}

pub fn parse_key(k: &[u8]) -> Result<EntryKey<'_>, CodecError> {
    if k == META_KEY {
        return Ok(EntryKey::Meta);
    }
    let mut r = Reader::new(k);
    if r.u8()? != OP_TAG {
        return Err(CodecError::new("unknown entry"));
    }
    let op = r.str()?;
    match r.u8()? {
        SHARED_TAG => {
            let b = r.raw(4)?;
            r.finish()?;
            Ok(EntryKey::Shared {
                op,
                index: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            })
        }
        KEYED_TAG => {
            let g = r.raw(2)?;
            let key = r.raw(r.remaining())?;
            Ok(EntryKey::Keyed {
                op,
                group: u16::from_be_bytes([g[0], g[1]]),
                key,
            })
        }
        t => Err(CodecError::new(format!("unknown entry tag {t}"))),
    }
}

/// A source partition a task reads: the stream (topic) and partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourcePartition {
    pub source: String,
    pub partition: u32,
}

impl SourcePartition {
    pub fn new(source: impl Into<String>, partition: u32) -> Self {
        SourcePartition {
            source: source.into(),
            partition,
        }
    }
}

/// How far a task has read a source partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The next offset to read: everything before it is in the state.
    pub next_offset: u64,
    /// The highest event time read (the partition's watermark generator).
    pub max_event_time: i64,
}

/// The input side of a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    pub partitions: BTreeMap<SourcePartition, PartitionProgress>,
    /// The watermark the task's operators have seen.
    pub watermark: i64,
}

/// Which part of the job a task is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLayout {
    /// Unique in its scope; also the file folder (e.g. "transactions-p3").
    pub name: String,
    pub index: u32,
    pub count: u32,
    pub key_groups: KeyGroups,
    /// The key groups whose state this task holds.
    pub range: KeyGroupRange,
}

impl TaskLayout {
    /// Task `index` of `count`, owning its share of the key groups.
    pub fn new(name: impl Into<String>, index: u32, count: u32, key_groups: KeyGroups) -> Self {
        TaskLayout {
            name: name.into(),
            index,
            count,
            key_groups,
            range: key_groups.range_for_task(index, count),
        }
    }

    /// The only task of its scope, owning every key group (a partition task
    /// whose keys all arrive through its own partitions).
    pub fn single(name: impl Into<String>, key_groups: KeyGroups) -> Self {
        TaskLayout::new(name, 0, 1, key_groups)
    }
}

/// The metadata entry of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub checkpoint_id: u64,
    pub task: TaskLayout,
    pub sources: SourceState,
    /// (operator id, kind, keys).
    pub operators: Vec<(String, String, u64)>,
    /// Wall-clock time it was taken (informational).
    pub created_at_ms: i64,
}

pub fn encode_meta(m: &Meta) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(META_FORMAT).u64(m.checkpoint_id);
    w.str(&m.task.name).u32(m.task.index).u32(m.task.count);
    w.u32(u32::from(m.task.key_groups.count()))
        .u32(u32::from(m.task.range.start))
        .u32(u32::from(m.task.range.end));
    w.i64(m.sources.watermark).usize(m.sources.partitions.len());
    for (p, g) in &m.sources.partitions {
        w.str(&p.source).u32(p.partition).u64(g.next_offset).i64(g.max_event_time);
    }
    w.usize(m.operators.len());
    for (id, kind, keys) in &m.operators {
        w.str(id).str(kind).u64(*keys);
    }
    w.i64(m.created_at_ms);
    w.into_bytes()
}

pub fn decode_meta(b: &[u8]) -> Result<Meta, CodecError> {
    let mut r = Reader::new(b);
    let f = r.u8()?;
    if f != META_FORMAT {
        return Err(CodecError::new(format!("metadata format {f}")));
    }
    let checkpoint_id = r.u64()?;
    let name = r.str()?.to_string();
    let index = r.u32()?;
    let count = r.u32()?;
    let group_count = u16::try_from(r.u32()?).map_err(|_| CodecError::new("key group count"))?;
    let start = u16::try_from(r.u32()?).map_err(|_| CodecError::new("key group range"))?;
    let end = u16::try_from(r.u32()?).map_err(|_| CodecError::new("key group range"))?;
    if group_count == 0 || start > end || end > group_count || index >= count.max(1) {
        return Err(CodecError::new("inconsistent task layout"));
    }
    let watermark = r.i64()?;
    let n = r.count(4)?;
    let mut partitions = BTreeMap::new();
    for _ in 0..n {
        let source = r.str()?.to_string();
        let partition = r.u32()?;
        let next_offset = r.u64()?;
        let max_event_time = r.i64()?;
        partitions.insert(
            SourcePartition { source, partition },
            PartitionProgress {
                next_offset,
                max_event_time,
            },
        );
    }
    let n = r.count(3)?;
    let mut operators = Vec::with_capacity(n);
    for _ in 0..n {
        operators.push((r.str()?.to_string(), r.str()?.to_string(), r.u64()?));
    }
    let created_at_ms = r.i64()?;
    r.finish()?;
    Ok(Meta {
        checkpoint_id,
        task: TaskLayout {
            name,
            index,
            count,
            key_groups: KeyGroups::new(group_count),
            range: KeyGroupRange { start, end },
        },
        sources: SourceState {
            partitions,
            watermark,
        },
        operators,
        created_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_and_damage() {
        let body = encode_body(&[(b"m".to_vec(), b"meta".to_vec()), (b"o1".to_vec(), vec![7; 300])]);
        let file = encode_file("stream-p3", 42, &body);
        let (h, b) = verify_file(&file).unwrap();
        assert_eq!(h.task, "stream-p3");
        assert_eq!(h.checkpoint_id, 42);
        assert_eq!(b, &body[..]);
        assert_eq!(decode_body(b).unwrap().len(), 2);
        // Every truncation and every single-bit flip is detected.
        for n in 0..file.len() {
            assert!(verify_file(&file[..n]).is_err(), "truncated to {n}");
        }
        for i in 0..file.len() {
            for bit in 0..8 {
                let mut f = file.clone();
                f[i] ^= 1 << bit;
                assert!(verify_file(&f).is_err(), "flip byte {i} bit {bit}");
            }
        }
        let mut longer = file.clone();
        longer.push(0);
        assert!(matches!(verify_file(&longer), Err(FormatError::TrailingBytes(1))));
    }

    #[test]
    fn keys_parse_back() {
        assert_eq!(parse_key(META_KEY).unwrap(), EntryKey::Meta);
        assert_eq!(parse_key(&shared_key("r1", 3)).unwrap(), EntryKey::Shared { op: "r1", index: 3 });
        assert_eq!(
            parse_key(&keyed_key("r1", 300, b"\x01\x04abc")).unwrap(),
            EntryKey::Keyed {
                op: "r1",
                group: 300,
                key: b"\x01\x04abc"
            }
        );
        // Keyed entries of one operator sort by group.
        assert!(keyed_key("r", 1, b"\xff") < keyed_key("r", 2, b"\x00"));
    }

    #[test]
    fn meta_round_trip() {
        let mut sources = SourceState {
            watermark: 1234,
            ..SourceState::default()
        };
        sources.partitions.insert(
            SourcePartition::new("tx", 2),
            PartitionProgress {
                next_offset: 99,
                max_event_time: -5,
            },
        );
        let m = Meta {
            checkpoint_id: 7,
            task: TaskLayout::new("job-t1", 1, 3, KeyGroups::new(128)),
            sources,
            operators: vec![("r".into(), "pattern".into(), 12)],
            created_at_ms: 5,
        };
        assert_eq!(decode_meta(&encode_meta(&m)).unwrap(), m);
    }
}
