//! Snapshots of the pattern operator ([`PatternOperator`]).
//!
//! Shared blob (one per task): format, rule name and version, watermark,
//! counters. One keyed entry per key:
//!
//! ```text
//! format u8 | ordinal | events | pending | timers | nfa
//! events  = n, then per event: partition, offset, time, kind (0 bytes, 1 JSON text), bytes
//! pending = n timestamps, then per timestamp: ts, m, m event indexes (arrival order)
//! timers  = n, then n times
//! nfa     = the key's NfaState with events replaced by their index (postcard)
//! ```
//!
//! Events are stored once per key as their position, time and original
//! bytes, and decoded again with the stream's [`Decoder`] on restore;
//! partial matches (the NFA's shared buffer) and the watermark buffer refer
//! to them by index. The ordinal (the key's arrival order in the operator)
//! keeps key order, and so the order of alerts that fire on the same timer,
//! the same after a restore onto the same layout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use cepheus_dsl::plan::RulePlan;

use super::snapshot::{OperatorSnapshot, RestoreContext, RestoreError, Snapshot, SnapshotError, SnapshotWriter};
use crate::event::{Event, EventRef, Position};
use crate::nfa::NfaState;
use crate::pattern::{BuildError, KeyState, PatternOperator, PatternStats, Pending};
use crate::record::{Decoder, Record};
use crate::state::codec::{CodecError, Reader, Writer};
use crate::state::key_group::{decode_key, encode_key};
use crate::state::KeyGroups;
use crate::value::Value;

const FORMAT: u8 = 1;
pub const KIND: &str = "pattern";

impl PatternOperator {
    /// The key (partition values) `record` belongs to: what routes an event
    /// to the task owning its key group.
    pub fn key_of(&self, record: &Record) -> Vec<Value> {
        self.key_slots.iter().map(|s| record.get(*s).clone()).collect()
    }

    /// The operator's state, keys hashed into the default key groups.
    pub fn snapshot(&self) -> OperatorSnapshot {
        self.snapshot_with(KeyGroups::default())
    }

    pub fn snapshot_with(&self, key_groups: KeyGroups) -> OperatorSnapshot {
        // Writing the pattern operator's snapshot cannot fail.
        OperatorSnapshot::capture(self, key_groups).unwrap_or_default()
    }

    /// A new operator for `plan` holding the state of `snap`.
    pub fn restore(plan: &RulePlan, version: u64, snap: &OperatorSnapshot) -> Result<PatternOperator, PatternRestoreError> {
        let decoder = Decoder::new(&plan.stream);
        let mut op = PatternOperator::new(plan, version)?;
        op.restore_snapshot(snap, &RestoreContext { decoder: &decoder })?;
        Ok(op)
    }
}

impl PatternOperator {
    /// Takes over the keyed state, watermark and counters of `old`: a new
    /// version of the same rule whose pattern has the same structure and key
    /// (see `task::swap`), so its NFA states mean the same.
    pub fn adopt_state(&mut self, old: PatternOperator) {
        self.keys = old.keys;
        self.key_index = old.key_index;
        self.timers = old.timers;
        self.watermark = old.watermark;
        self.stats = old.stats;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PatternRestoreError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

fn encode_stats(w: &mut Writer, s: &PatternStats) {
    w.u64(s.events)
        .u64(s.late_events)
        .u64(s.filtered_out)
        .u64(s.matches)
        .u64(s.timeouts)
        .u64(s.dropped_partial_matches);
}

fn decode_stats(r: &mut Reader<'_>) -> Result<PatternStats, CodecError> {
    Ok(PatternStats {
        events: r.u64()?,
        late_events: r.u64()?,
        filtered_out: r.u64()?,
        matches: r.u64()?,
        timeouts: r.u64()?,
        dropped_partial_matches: r.u64()?,
    })
}

fn add_stats(a: &mut PatternStats, b: &PatternStats) {
    a.events += b.events;
    a.late_events += b.late_events;
    a.filtered_out += b.filtered_out;
    a.matches += b.matches;
    a.timeouts += b.timeouts;
    a.dropped_partial_matches += b.dropped_partial_matches;
}

/// Gives each distinct event (by identity) an index.
struct EventTable {
    index: HashMap<*const Event, u32>,
    events: Vec<EventRef>,
}

impl EventTable {
    fn id(&mut self, e: &EventRef) -> u32 {
        let n = self.events.len() as u32;
        let events = &mut self.events;
        *self.index.entry(Arc::as_ptr(e)).or_insert_with(|| {
            events.push(Arc::clone(e));
            n
        })
    }
}

fn encode_key_state(k: &KeyState, ordinal: u32, timers: &[i64]) -> Vec<u8> {
    let mut table = EventTable {
        index: HashMap::new(),
        events: Vec::new(),
    };
    let pending: Vec<(i64, Vec<u32>)> = k
        .pending
        .groups()
        .iter()
        .map(|(ts, evs)| (*ts, evs.iter().map(|e| table.id(e)).collect()))
        .collect();
    let nfa: NfaState<u32> = match k.nfa.try_map_events(|e| Ok::<_, ()>(table.id(e))) {
        Ok(n) => n,
        Err(()) => unreachable!("the mapping never fails"),
    };
    let nfa_bytes = postcard::to_allocvec(&nfa).unwrap_or_default();
    let mut w = Writer::with_capacity(64 + nfa_bytes.len());
    w.u8(FORMAT).u32(ordinal);
    w.usize(table.events.len());
    for e in &table.events {
        w.u32(e.position.partition).u64(e.position.offset).i64(e.time());
        match e.record.bytes() {
            Some(b) => {
                w.u8(0).bytes(b);
            }
            None => {
                let text = serde_json::to_vec(&*e.record.json()).unwrap_or_default();
                w.u8(1).bytes(&text);
            }
        }
    }
    w.usize(pending.len());
    for (ts, ids) in &pending {
        w.i64(*ts).usize(ids.len());
        for id in ids {
            w.u32(*id);
        }
    }
    w.usize(timers.len());
    for t in timers {
        w.i64(*t);
    }
    w.raw(&nfa_bytes);
    w.into_bytes()
}

struct DecodedKey {
    ordinal: u32,
    key: Vec<Value>,
    state: KeyState,
    timers: Vec<i64>,
}

fn decode_key_state(
    operator: &str,
    key_bytes: &[u8],
    value: &[u8],
    ctx: &RestoreContext<'_>,
) -> Result<DecodedKey, RestoreError> {
    let corrupt = |source: CodecError| RestoreError::Corrupt {
        operator: operator.to_string(),
        source,
    };
    let key = decode_key(key_bytes).map_err(corrupt)?;
    let mut r = Reader::new(value);
    let format = r.u8().map_err(corrupt)?;
    if format != FORMAT {
        return Err(RestoreError::Incompatible {
            operator: operator.to_string(),
            reason: format!("key state format {format}, this build reads {FORMAT}"),
        });
    }
    let ordinal = r.u32().map_err(corrupt)?;
    let n = r.count(4).map_err(corrupt)?;
    let mut events: Vec<EventRef> = Vec::with_capacity(n);
    for _ in 0..n {
        let partition = r.u32().map_err(corrupt)?;
        let offset = r.u64().map_err(corrupt)?;
        let time = r.i64().map_err(corrupt)?;
        let kind = r.u8().map_err(corrupt)?;
        let bytes = r.bytes().map_err(corrupt)?;
        if kind > 1 {
            return Err(corrupt(CodecError::new(format!("event kind {kind}"))));
        }
        let mut record = ctx.decoder.decode_at(bytes, time).map_err(|e| RestoreError::Event {
            operator: operator.to_string(),
            partition,
            offset,
            reason: e.to_string(),
        })?;
        record.set_time(time);
        events.push(Arc::new(Event {
            record,
            position: Position { partition, offset },
        }));
    }
    let get = |i: u32| {
        events
            .get(i as usize)
            .cloned()
            .ok_or_else(|| CodecError::new(format!("event index {i} out of range")))
    };
    let n = r.count(2).map_err(corrupt)?;
    let mut pending = BTreeMap::new();
    for _ in 0..n {
        let ts = r.i64().map_err(corrupt)?;
        let m = r.count(1).map_err(corrupt)?;
        let mut list = Vec::with_capacity(m);
        for _ in 0..m {
            list.push(get(r.u32().map_err(corrupt)?).map_err(corrupt)?);
        }
        pending.insert(ts, list);
    }
    let n = r.count(1).map_err(corrupt)?;
    let mut timers = Vec::with_capacity(n);
    for _ in 0..n {
        timers.push(r.i64().map_err(corrupt)?);
    }
    let rest = r.raw(r.remaining()).map_err(corrupt)?;
    let nfa: NfaState<u32> =
        postcard::from_bytes(rest).map_err(|e| corrupt(CodecError::new(format!("NFA state: {e}"))))?;
    let nfa = nfa.try_map_events(|i| get(*i)).map_err(corrupt)?;
    Ok(DecodedKey {
        ordinal,
        key: key.clone(),
        state: KeyState {
            key,
            nfa,
            pending: Pending::from_groups(pending),
        },
        timers,
    })
}

impl Snapshot for PatternOperator {
    fn operator_id(&self) -> &str {
        &self.rule.name
    }

    fn operator_kind(&self) -> &'static str {
        KIND
    }

    fn write_snapshot(&self, w: &mut dyn SnapshotWriter) -> Result<(), SnapshotError> {
        let mut shared = Writer::new();
        shared
            .u8(FORMAT)
            .str(&self.rule.name)
            .u64(self.rule.version)
            .i64(self.watermark);
        encode_stats(&mut shared, &self.stats);
        shared.usize(self.keys.len());
        w.shared(shared.into_bytes());

        let mut timers: Vec<Vec<i64>> = vec![Vec::new(); self.keys.len()];
        for &(t, id) in &self.timers {
            if let Some(list) = timers.get_mut(id as usize) {
                list.push(t);
            }
        }
        for (id, k) in self.keys.iter().enumerate() {
            w.keyed(encode_key(&k.key), encode_key_state(k, id as u32, &timers[id]));
        }
        Ok(())
    }

    fn restore_snapshot(&mut self, snap: &OperatorSnapshot, ctx: &RestoreContext<'_>) -> Result<(), RestoreError> {
        let name = self.rule.name.clone();
        let incompatible = |reason: String| RestoreError::Incompatible {
            operator: name.clone(),
            reason,
        };
        if snap.kind != KIND {
            return Err(incompatible(format!("state of a {} operator", snap.kind)));
        }
        let corrupt = |source: CodecError| RestoreError::Corrupt {
            operator: name.clone(),
            source,
        };
        let mut watermark: Option<i64> = None;
        let mut stats = PatternStats::default();
        for s in &snap.shared {
            let mut r = Reader::new(&s.bytes);
            let format = r.u8().map_err(corrupt)?;
            if format != FORMAT {
                return Err(incompatible(format!("state format {format}, this build reads {FORMAT}")));
            }
            let rule = r.str().map_err(corrupt)?;
            let version = r.u64().map_err(corrupt)?;
            if rule != self.rule.name || version != self.rule.version {
                return Err(incompatible(format!(
                    "state of rule '{rule}' version {version}, not version {}",
                    self.rule.version
                )));
            }
            let wm = r.i64().map_err(corrupt)?;
            let st = decode_stats(&mut r).map_err(corrupt)?;
            let _keys = r.usize().map_err(corrupt)?;
            r.finish().map_err(corrupt)?;
            // Tasks share one watermark; should they differ, the lowest is
            // the one no task has passed.
            watermark = Some(watermark.map_or(wm, |w| w.min(wm)));
            if s.owner {
                add_stats(&mut stats, &st);
            }
        }
        let mut decoded = Vec::with_capacity(snap.keyed.len());
        for (i, e) in snap.keyed.iter().enumerate() {
            let d = decode_key_state(&name, &e.key, &e.value, ctx)?;
            decoded.push((d.ordinal, i, d));
        }
        decoded.sort_by_key(|(ord, i, _)| (*ord, *i));

        // Built aside, swapped in at the end.
        let mut keys = Vec::with_capacity(decoded.len());
        let mut key_index = HashMap::with_capacity_and_hasher(decoded.len(), Default::default());
        let mut timer_set = BTreeSet::new();
        for (_, _, d) in decoded {
            let id = keys.len() as u32;
            if key_index.insert(d.key, id).is_some() {
                return Err(corrupt(CodecError::new("a key is stored twice")));
            }
            for t in d.timers {
                timer_set.insert((t, id));
            }
            keys.push(d.state);
        }
        self.keys = keys;
        self.key_index = key_index;
        self.timers = timer_set;
        self.watermark = watermark.unwrap_or(i64::MIN);
        self.stats = stats;
        Ok(())
    }
}
