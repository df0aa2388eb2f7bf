//! Key groups: how keyed state is split over tasks, as in Flink.
//!
//! Every key is hashed (a stable hash of its canonical bytes, the same on
//! every machine and every run) into one of `count` key groups; `count` is
//! fixed for the life of a job (Flink's "max parallelism"). A task owns a
//! contiguous [`KeyGroupRange`]; checkpoints store keyed state by key group,
//! so a checkpoint taken with `n` tasks can be restored onto `m` tasks: each
//! new task reads the key groups of its range from whichever old task files
//! hold them. Routing an event to a task uses the same hash, so the events
//! of a key and its restored state meet in the same task.

use std::sync::Arc;

use super::codec::{CodecError, Reader, Writer};
use crate::value::Value;

pub type KeyGroup = u16;

/// The number of key groups of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyGroups {
    count: u16,
}

impl Default for KeyGroups {
    /// 128 groups, Flink's default max parallelism.
    fn default() -> Self {
        KeyGroups { count: 128 }
    }
}

impl KeyGroups {
    /// `count` is clamped to `1..=32768`.
    pub fn new(count: u16) -> Self {
        KeyGroups {
            count: count.clamp(1, 32768),
        }
    }

    pub fn count(&self) -> u16 {
        self.count
    }

    /// The key group of a key given as canonical bytes ([`encode_key`]).
    pub fn of_bytes(&self, key: &[u8]) -> KeyGroup {
        (stable_hash(key) % u64::from(self.count)) as KeyGroup
    }

    /// The key group of a key.
    pub fn of_key(&self, key: &[Value]) -> KeyGroup {
        self.of_bytes(&encode_key(key))
    }

    /// All key groups.
    pub fn full_range(&self) -> KeyGroupRange {
        KeyGroupRange {
            start: 0,
            end: self.count,
        }
    }

    /// The range task `index` of `tasks` owns (Flink's
    /// `computeKeyGroupRangeForOperatorIndex`): contiguous, disjoint, and
    /// together covering every group; sizes differ by at most one.
    pub fn range_for_task(&self, index: u32, tasks: u32) -> KeyGroupRange {
        let tasks = u64::from(tasks.max(1));
        let index = u64::from(index).min(tasks - 1);
        let n = u64::from(self.count);
        let start = (index * n).div_ceil(tasks);
        let end = ((index + 1) * n).div_ceil(tasks);
        KeyGroupRange {
            start: start as u16,
            end: end as u16,
        }
    }

    /// The task (of `tasks`) that owns `group`.
    pub fn task_for_group(&self, group: KeyGroup, tasks: u32) -> u32 {
        let tasks = tasks.max(1);
        (0..tasks)
            .find(|&t| self.range_for_task(t, tasks).contains(group))
            .unwrap_or(tasks - 1)
    }
}

/// Key groups `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyGroupRange {
    pub start: KeyGroup,
    /// Exclusive; `u16` holds up to 32768 groups, so `end` fits.
    pub end: KeyGroup,
}

impl KeyGroupRange {
    pub fn contains(&self, g: KeyGroup) -> bool {
        self.start <= g && g < self.end
    }

    pub fn len(&self) -> usize {
        usize::from(self.end.saturating_sub(self.start))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// 64-bit FNV-1a followed by MurmurHash3's finalizer: stable across
/// processes and versions (unlike `std`'s randomly seeded hasher), and well
/// spread even for short, similar keys.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// A key (the rule's `partition by` values) as canonical bytes: a tag per
/// value, then its payload. Equal keys (Rust `Eq` on [`Value`]) give equal
/// bytes, so the bytes hash and compare as the key does.
pub fn encode_key(key: &[Value]) -> Vec<u8> {
    let mut w = Writer::with_capacity(16 * key.len() + 1);
    encode_key_into(&mut w, key);
    w.into_bytes()
}

pub fn encode_key_into(w: &mut Writer, key: &[Value]) {
    w.usize(key.len());
    for v in key {
        encode_value(w, v);
    }
}

pub fn decode_key(bytes: &[u8]) -> Result<Vec<Value>, CodecError> {
    let mut r = Reader::new(bytes);
    let key = decode_key_from(&mut r)?;
    r.finish()?;
    Ok(key)
}

pub fn decode_key_from(r: &mut Reader<'_>) -> Result<Vec<Value>, CodecError> {
    let n = r.count(1)?;
    (0..n).map(|_| decode_value(r)).collect()
}

/// One value with a type tag. Floats are normalised as `Value`'s `Eq` is
/// (`-0.0` as `0.0`, one NaN), so equal values encode equally.
pub fn encode_value(w: &mut Writer, v: &Value) {
    match v {
        Value::Null => {
            w.u8(0);
        }
        Value::Bool(b) => {
            w.u8(1).bool(*b);
        }
        Value::Int(i) => {
            w.u8(2).i64(*i);
        }
        Value::Float(f) => {
            let f = if *f == 0.0 {
                0.0
            } else if f.is_nan() {
                f64::NAN
            } else {
                *f
            };
            w.u8(3).f64(f);
        }
        Value::Str(s) => {
            w.u8(4).str(s);
        }
        Value::Timestamp(t) => {
            w.u8(5).i64(*t);
        }
        Value::Duration(d) => {
            w.u8(6).i64(*d);
        }
        Value::Json(j) => {
            let text = serde_json::to_string(&**j).unwrap_or_default();
            w.u8(7).str(&text);
        }
    }
}

pub fn decode_value(r: &mut Reader<'_>) -> Result<Value, CodecError> {
    Ok(match r.u8()? {
        0 => Value::Null,
        1 => Value::Bool(r.bool()?),
        2 => Value::Int(r.i64()?),
        3 => Value::Float(r.f64()?),
        4 => Value::Str(Arc::from(r.str()?)),
        5 => Value::Timestamp(r.i64()?),
        6 => Value::Duration(r.i64()?),
        7 => {
            let j: serde_json::Value =
                serde_json::from_str(r.str()?).map_err(|e| CodecError::new(format!("json key: {e}")))?;
            Value::Json(Arc::new(j))
        }
        t => return Err(CodecError::new(format!("unknown value tag {t}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_partition_the_groups() {
        for count in [1u16, 7, 128, 1000] {
            let kg = KeyGroups::new(count);
            for tasks in 1..=9u32 {
                let mut next = 0u16;
                for t in 0..tasks {
                    let r = kg.range_for_task(t, tasks);
                    assert_eq!(r.start, next, "count {count} tasks {tasks}");
                    next = r.end;
                    for g in r.start..r.end {
                        assert_eq!(kg.task_for_group(g, tasks), t);
                    }
                }
                assert_eq!(next, count);
            }
        }
    }

    #[test]
    fn keys_round_trip_and_hash_stably() {
        let key = vec![
            Value::str("card-17"),
            Value::Int(-4),
            Value::Float(-0.0),
            Value::Timestamp(1_700_000_000_000),
            Value::Duration(5),
            Value::Null,
            Value::Bool(true),
            Value::Json(Arc::new(serde_json::json!({"a": [1, 2]}))),
        ];
        let b = encode_key(&key);
        let back = decode_key(&b).unwrap();
        assert_eq!(back, key);
        assert_eq!(encode_key(&[Value::Float(0.0)]), encode_key(&[Value::Float(-0.0)]));
        // The hash and the key encoding are part of the checkpoint format
        // (keys are filed by group): they must never change.
        assert_eq!(stable_hash(b""), 0xefd0_1f60_ba99_2926);
        assert_eq!(stable_hash(b"card-17"), 0x8774_c623_7491_5fd4);
        assert_eq!(encode_key(&[Value::str("card-17")]), b"\x01\x04\x07card-17");
        assert_eq!(KeyGroups::default().of_key(&[Value::str("card-17")]), 22);
        assert!(decode_key(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn groups_spread() {
        let kg = KeyGroups::new(16);
        let mut hits = [0u32; 16];
        for i in 0..16_000 {
            hits[usize::from(kg.of_key(&[Value::str(format!("card-{i}"))]))] += 1;
        }
        for h in hits {
            assert!((800..1200).contains(&h), "{hits:?}");
        }
    }
}
