//! Checkpoints of partition tasks, and restoring them.
//!
//! # What a checkpoint is
//!
//! A partition task runs the operators of the rules over its input (one or
//! more source partitions). Its checkpoint is, for one moment between two
//! events:
//!
//! * every operator's state ([`Snapshot`]): operator-wide state (watermark,
//!   counters) and keyed state (per key: the key, the NFA state, events held
//!   for the watermark, timers);
//! * the input offsets: for each source partition the next offset to read,
//!   and the highest event time read (the partition's watermark generator);
//! * the task's watermark.
//!
//! # Why the offsets live inside the checkpoint
//!
//! State and offsets are only meaningful together: the state says "every
//! event before these offsets has been applied". Were the offsets kept
//! elsewhere (Kafka's committed group offsets, say) a crash between writing
//! the two would restore state that already contains events the source then
//! delivers again (counted twice), or misses events the source will not
//! deliver again (lost). Kept in the same atomic write, they cannot
//! disagree. Restoring a checkpoint therefore returns the offsets to seek
//! to, and everything after them is replayed; since alert ids are
//! deterministic, an alert that was emitted before the crash and again by
//! the replay carries the same id (and sinks deduplicate by id). Committed
//! consumer-group offsets are, at most, a progress display.
//!
//! # Atomicity
//!
//! [`TaskCheckpointer::checkpoint`] writes all of it as ONE
//! [`crate::state::WriteBatch`] to the task's state backend (RocksDB by
//! default: one RocksDB write batch, synced to its write-ahead log): the
//! previous checkpoint's entries are deleted and the new ones put in the
//! same batch, so the backend holds one whole checkpoint, the old or the new,
//! never a mix. The committed entries are then read back from the backend and
//! copied to the [`CheckpointStore`] as one numbered file; the store's put is
//! atomic too (a temporary file, fsync, rename, folder fsync for the local
//! folder store; a single-object PUT for object stores). A crash at any point
//! leaves the previous files intact.
//!
//! # File format and naming
//!
//! Files are named `<scope>/<task>/<checkpoint id, 20 digits>.ckpt`. The
//! format ([`format`]) is a header (magic, format version, task name,
//! checkpoint id, body length, body CRC32, header CRC32) and a body (the
//! backend entries: a metadata entry, then per operator its shared blobs and
//! one entry per key, `o <op> k <key group, big-endian> <key>`). At least two
//! checkpoints per task are kept (three by default): the newest may be
//! damaged (a torn upload, a flipped bit, a truncated copy) and then the one
//! before it is used.
//!
//! # Restore
//!
//! [`restore_latest`] lists the scope, and tries checkpoint ids newest
//! first. A checkpoint id is used only if every file of it verifies (both
//! checksums, exact length, decodable entries), the files' key-group ranges
//! cover all key groups exactly once (no task's file is missing), and the
//! caller's `build` step succeeds: `build` makes NEW operators from the
//! restored snapshots, and only when all of them are complete does
//! `restore_latest` return them for the caller to swap in. A damaged or
//! incompatible checkpoint is reported in [`RestoreOutcome::skipped`] and the
//! previous one is tried; partly restored state is never served. When no
//! checkpoint is usable the task starts empty, from the beginning of its
//! input (or its configured start).
//!
//! # Key groups: restoring onto a different number of tasks
//!
//! Keyed state is stored by key group ([`crate::state::KeyGroups`]): a key's
//! group is a stable hash of its canonical bytes modulo a count fixed for the
//! life of the job (128 by default, Flink's max parallelism), and task `i` of
//! `n` owns a contiguous range of groups. A checkpoint taken by `n` tasks can
//! be restored onto `m` tasks: new task `j` reads, from every old task's file
//! of the chosen checkpoint id, the keyed entries of the groups in its new
//! range. Events are routed to the task owning their key's group with the
//! same hash, so a key's events meet its state. Operator-wide state is
//! redistributed as Flink's union state: every new task receives every old
//! blob (so each restores the same watermark) and exactly one new task owns
//! each blob's counters (old task `k` goes to new task `k mod m`). Source
//! partitions are assigned to new tasks by the caller
//! ([`Assignment::partitions`]); each gets the offsets stored for its
//! partitions, whichever old task read them.
//!
//! Which tasks must agree on a checkpoint id depends on where keys come
//! from. A partition task whose keys all arrive through its own partitions
//! (the Kafka topic's key, or a repartition topic, is the rule's key) is a
//! scope of its own: its newest valid file is consistent by itself, and it
//! moves between instances whole. Tasks that exchange events by key (one
//! source partition feeding keys owned by several tasks) form one scope, and
//! restore the newest checkpoint id that ALL of them completed, which is the
//! only cut that is consistent across them; it is also what a savepoint of a
//! job is, and what rescaling restores.
//!
//! # What is not here yet
//!
//! Checkpoints are full, not incremental (operators keep working state in
//! memory and write all keys at each checkpoint; dirty-key tracking would
//! make them incremental). Savepoints are checkpoints kept under a name by
//! the service. Restoring state of a different rule version is refused
//! ([`RestoreError::Incompatible`]).

pub mod format;
pub mod pattern;
pub mod snapshot;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::state::{KeyGroupRange, KeyGroups, StateBackend, StateError, WriteBatch};
pub use format::{PartitionProgress, SourcePartition, SourceState, TaskLayout};
use format::{EntryKey, FormatError, Meta};
pub use snapshot::{
    KeyedEntry, OperatorSnapshot, RestoreContext, RestoreError, SharedState, Snapshot, SnapshotError, SnapshotWriter,
};
pub use store::{CheckpointStore, LocalDirStore, MemoryStore, StoreError};

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("checkpoint {id} is not newer than checkpoint {last} of this task")]
    NotNewer { id: u64, last: u64 },
    #[error("task name '{0}' must be one non-empty path segment")]
    BadTaskName(String),
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The object name of a task's checkpoint.
pub fn object_name(scope: &str, task: &str, id: u64) -> String {
    format!("{scope}/{task}/{id:020}.ckpt")
}

/// `(task, id)` of an object name under `scope`.
pub fn parse_object_name<'a>(scope: &str, name: &'a str) -> Option<(&'a str, u64)> {
    let rest = name.strip_prefix(scope)?.strip_prefix('/')?;
    let (task, file) = rest.split_once('/')?;
    let id = file.strip_suffix(".ckpt")?;
    if id.len() != 20 || !id.bytes().all(|b| b.is_ascii_digit()) || task.is_empty() {
        return None;
    }
    Some((task, id.parse().ok()?))
}

/// What a checkpoint cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    pub id: u64,
    pub object: String,
    /// Size of the file.
    pub bytes: usize,
    pub keys: u64,
    /// Operators writing their state into the batch.
    pub snapshot_time: Duration,
    /// The atomic backend commit.
    pub commit_time: Duration,
    /// Reading the committed entries back, encoding and storing the file.
    pub upload_time: Duration,
    /// Older checkpoints deleted by retention.
    pub pruned: Vec<u64>,
}

impl CheckpointInfo {
    pub fn total_time(&self) -> Duration {
        self.snapshot_time + self.commit_time + self.upload_time
    }
}

/// Writes a [`SnapshotWriter`]'s output straight into a batch.
struct BatchWriter<'a> {
    batch: &'a mut WriteBatch,
    ns: &'a [u8],
    op: &'a str,
    key_groups: KeyGroups,
    range: KeyGroupRange,
    shared: u32,
    keys: u64,
    outside: u64,
}

impl SnapshotWriter for BatchWriter<'_> {
    fn key_groups(&self) -> KeyGroups {
        self.key_groups
    }

    fn shared(&mut self, bytes: Vec<u8>) {
        let mut k = self.ns.to_vec();
        k.extend_from_slice(&format::shared_key(self.op, self.shared));
        self.shared += 1;
        self.batch.put(k, bytes);
    }

    fn keyed(&mut self, key: Vec<u8>, value: Vec<u8>) {
        let group = self.key_groups.of_bytes(&key);
        if !self.range.contains(group) {
            // Routing put a key in the wrong task; keep it anyway (restore
            // files it under its group), but count it.
            self.outside += 1;
        }
        let mut k = self.ns.to_vec();
        k.extend_from_slice(&format::keyed_key(self.op, group, &key));
        self.keys += 1;
        self.batch.put(k, value);
    }
}

/// Takes the checkpoints of one partition task.
pub struct TaskCheckpointer {
    backend: Box<dyn StateBackend>,
    store: Arc<dyn CheckpointStore>,
    scope: String,
    layout: TaskLayout,
    retain: usize,
    last_id: Option<u64>,
    /// Keys written outside the task's key-group range (a routing bug).
    pub keys_outside_range: u64,
}

impl TaskCheckpointer {
    /// Keeps the newest 3 checkpoints.
    pub fn new(
        backend: Box<dyn StateBackend>,
        store: Arc<dyn CheckpointStore>,
        scope: impl Into<String>,
        layout: TaskLayout,
    ) -> Result<Self, CheckpointError> {
        if layout.name.is_empty() || layout.name.contains('/') || layout.name.starts_with('.') {
            return Err(CheckpointError::BadTaskName(layout.name));
        }
        Ok(TaskCheckpointer {
            backend,
            store,
            scope: scope.into(),
            layout,
            retain: 3,
            last_id: None,
            keys_outside_range: 0,
        })
    }

    /// Keeps the newest `n` checkpoints (at least 2).
    pub fn with_retain(mut self, n: usize) -> Self {
        self.retain = n.max(2);
        self
    }

    /// After a restore of checkpoint `id`: the next checkpoint must be newer.
    pub fn resume_after(mut self, id: u64) -> Self {
        self.last_id = Some(id);
        self
    }

    /// The id of the last checkpoint taken (or resumed after).
    pub fn last_checkpoint_id(&self) -> Option<u64> {
        self.last_id
    }

    pub fn layout(&self) -> &TaskLayout {
        &self.layout
    }

    pub fn scope(&self) -> &str {
        &self.scope
    }

    pub fn backend(&self) -> &dyn StateBackend {
        self.backend.as_ref()
    }

    fn namespace(&self) -> Vec<u8> {
        format!("ckpt/{}/", self.layout.name).into_bytes()
    }

    /// The metadata of the checkpoint the local backend holds.
    pub fn local_meta(&self) -> Result<Option<Meta>, StateError> {
        let mut k = self.namespace();
        k.extend_from_slice(format::META_KEY);
        Ok(self.backend.get(&k)?.and_then(|b| format::decode_meta(&b).ok()))
    }

    /// Checkpoint `id` (increasing) of `operators` and `sources`: one atomic
    /// backend batch, then one file in the store; then old files beyond the
    /// retention are deleted.
    pub fn checkpoint(
        &mut self,
        id: u64,
        operators: &[&dyn Snapshot],
        sources: &SourceState,
    ) -> Result<CheckpointInfo, CheckpointError> {
        if let Some(last) = self.last_id {
            if id <= last {
                return Err(CheckpointError::NotNewer { id, last });
            }
        }
        let t0 = Instant::now();
        let ns = self.namespace();
        let mut batch = WriteBatch::new();
        batch.delete_prefix(&ns);
        let mut listed = Vec::with_capacity(operators.len());
        let mut total_keys = 0;
        for op in operators {
            let mut w = BatchWriter {
                batch: &mut batch,
                ns: &ns,
                op: op.operator_id(),
                key_groups: self.layout.key_groups,
                range: self.layout.range,
                shared: 0,
                keys: 0,
                outside: 0,
            };
            op.write_snapshot(&mut w)?;
            let (keys, outside) = (w.keys, w.outside);
            total_keys += keys;
            self.keys_outside_range += outside;
            listed.push((op.operator_id().to_string(), op.operator_kind().to_string(), keys));
        }
        let meta = Meta {
            checkpoint_id: id,
            task: self.layout.clone(),
            sources: sources.clone(),
            operators: listed,
            created_at_ms: wall_clock_ms(),
        };
        let mut mk = ns.clone();
        mk.extend_from_slice(format::META_KEY);
        batch.put(mk, format::encode_meta(&meta));
        let t1 = Instant::now();
        self.backend.commit(batch)?;
        let t2 = Instant::now();

        let mut entries = Vec::new();
        let strip = ns.len();
        self.backend
            .scan_prefix(&ns, &mut |k, v| entries.push((k[strip..].to_vec(), v.to_vec())))?;
        let body = format::encode_body(&entries);
        drop(entries);
        let file = format::encode_file(&self.layout.name, id, &body);
        let object = object_name(&self.scope, &self.layout.name, id);
        self.store.put(&object, &file)?;
        self.last_id = Some(id);
        let t3 = Instant::now();
        let pruned = self.prune(id)?;
        Ok(CheckpointInfo {
            id,
            object,
            bytes: file.len(),
            keys: total_keys,
            snapshot_time: t1 - t0,
            commit_time: t2 - t1,
            upload_time: t3 - t2,
            pruned,
        })
    }

    fn prune(&self, newest: u64) -> Result<Vec<u64>, StoreError> {
        let prefix = format!("{}/{}/", self.scope, self.layout.name);
        let mut ids: Vec<(u64, String)> = self
            .store
            .list(&prefix)?
            .into_iter()
            .filter_map(|n| {
                let (task, id) = parse_object_name(&self.scope, &n)?;
                (task == self.layout.name && id <= newest).then_some((id, n))
            })
            .collect();
        ids.sort_by(|a, b| b.0.cmp(&a.0));
        let mut pruned = Vec::new();
        for (id, name) in ids.into_iter().skip(self.retain) {
            self.store.delete(&name)?;
            pruned.push(id);
        }
        Ok(pruned)
    }
}

/// What a restoring task is in the new layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub index: u32,
    pub count: u32,
    /// The source partitions it will read; `None`: all the checkpoint has.
    pub partitions: Option<BTreeSet<SourcePartition>>,
}

impl Assignment {
    /// The only task: every key group, every partition.
    pub fn whole() -> Self {
        Assignment {
            index: 0,
            count: 1,
            partitions: None,
        }
    }

    pub fn new(index: u32, count: u32, partitions: impl IntoIterator<Item = SourcePartition>) -> Self {
        Assignment {
            index,
            count: count.max(1),
            partitions: Some(partitions.into_iter().collect()),
        }
    }
}

/// The part of a checkpoint a restoring task gets, for its `build` step.
#[derive(Debug, Clone)]
pub struct RestoredState {
    pub checkpoint_id: u64,
    pub key_groups: KeyGroups,
    /// The new task's key groups.
    pub range: KeyGroupRange,
    /// Offsets of the assigned partitions; the watermark the tasks had.
    pub sources: SourceState,
    /// By operator id.
    pub operators: BTreeMap<String, OperatorSnapshot>,
}

impl RestoredState {
    pub fn operator(&self, id: &str) -> Option<&OperatorSnapshot> {
        self.operators.get(id)
    }
}

/// A checkpoint that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub checkpoint_id: u64,
    pub reason: String,
}

#[derive(Debug)]
pub struct Restored<T> {
    pub checkpoint_id: u64,
    /// What `build` made.
    pub value: T,
    pub key_groups: KeyGroups,
    pub range: KeyGroupRange,
    /// Where to seek: the next offset of each assigned partition.
    pub sources: SourceState,
}

#[derive(Debug)]
pub struct RestoreOutcome<T> {
    /// `None`: no usable checkpoint; start from the beginning.
    pub restored: Option<Restored<T>>,
    /// Newer checkpoints that were damaged, incomplete or incompatible.
    pub skipped: Vec<Skipped>,
}

/// One verified file, parsed.
struct TaskFile {
    meta: Meta,
    /// op -> (shared blobs by index, keyed entries)
    ops: BTreeMap<String, (Vec<Vec<u8>>, Vec<KeyedEntry>)>,
}

fn load_file(store: &dyn CheckpointStore, name: &str, task: &str, id: u64) -> Result<TaskFile, String> {
    let data = store.get(name).map_err(|e| e.to_string())?;
    let (header, body) = format::verify_file(&data).map_err(|e| e.to_string())?;
    if header.checkpoint_id != id || header.task != task {
        return Err(FormatError::WrongFile {
            expected: id.to_string(),
            task: task.to_string(),
            found: format!("checkpoint {} of task '{}'", header.checkpoint_id, header.task),
        }
        .to_string());
    }
    let entries = format::decode_body(body).map_err(|e| e.to_string())?;
    let mut meta = None;
    let mut ops: BTreeMap<String, (Vec<Vec<u8>>, Vec<KeyedEntry>)> = BTreeMap::new();
    for (k, v) in entries {
        match format::parse_key(k).map_err(|e| e.to_string())? {
            EntryKey::Meta => meta = Some(format::decode_meta(v).map_err(|e| format!("metadata: {e}"))?),
            EntryKey::Shared { op, .. } => ops.entry(op.to_string()).or_default().0.push(v.to_vec()),
            EntryKey::Keyed { op, group, key } => ops.entry(op.to_string()).or_default().1.push(KeyedEntry {
                group,
                key: key.to_vec(),
                value: v.to_vec(),
            }),
        }
    }
    let meta = meta.ok_or("no metadata entry")?;
    if meta.checkpoint_id != id || meta.task.name != task {
        return Err("metadata names another checkpoint".into());
    }
    for (op, _, _) in &meta.operators {
        ops.entry(op.clone()).or_default();
    }
    Ok(TaskFile { meta, ops })
}

/// Checks that the files of one checkpoint id are one whole job layout.
fn check_complete(files: &[TaskFile]) -> Result<KeyGroups, String> {
    let first = files.first().ok_or("no files")?;
    let kg = first.meta.task.key_groups;
    let count = first.meta.task.count;
    let mut ranges = Vec::new();
    let mut indexes = BTreeSet::new();
    for f in files {
        let t = &f.meta.task;
        if t.key_groups != kg || t.count != count {
            return Err(format!("task '{}' has another layout", t.name));
        }
        if !indexes.insert(t.index) {
            return Err(format!("two files for task index {}", t.index));
        }
        ranges.push((t.range.start, t.range.end));
    }
    ranges.sort_unstable();
    let mut next = 0u16;
    for (s, e) in ranges {
        if s != next {
            return Err(format!(
                "key groups {next}..{s} are in no file (a task's checkpoint is missing)"
            ));
        }
        next = e;
    }
    if next != kg.count() {
        return Err(format!(
            "key groups {next}..{} are in no file (a task's checkpoint is missing)",
            kg.count()
        ));
    }
    Ok(kg)
}

fn assemble(files: &[TaskFile], kg: KeyGroups, a: &Assignment, id: u64) -> RestoredState {
    let range = kg.range_for_task(a.index, a.count);
    let mut operators: BTreeMap<String, OperatorSnapshot> = BTreeMap::new();
    let mut sources = SourceState {
        partitions: BTreeMap::new(),
        watermark: i64::MAX,
    };
    for f in files {
        let old = f.meta.task.index;
        sources.watermark = sources.watermark.min(f.meta.sources.watermark);
        for (p, g) in &f.meta.sources.partitions {
            let assigned = match &a.partitions {
                Some(set) => set.contains(p),
                None => true,
            };
            if assigned {
                sources.partitions.insert(p.clone(), *g);
            }
        }
        let kinds: BTreeMap<&str, &str> = f.meta.operators.iter().map(|(i, k, _)| (i.as_str(), k.as_str())).collect();
        for (op, (shared, keyed)) in &f.ops {
            let snap = operators.entry(op.clone()).or_insert_with(|| OperatorSnapshot {
                id: op.clone(),
                kind: kinds.get(op.as_str()).unwrap_or(&"").to_string(),
                shared: Vec::new(),
                keyed: Vec::new(),
            });
            for b in shared {
                snap.shared.push(SharedState {
                    task: old,
                    owner: old % a.count == a.index,
                    bytes: b.clone(),
                });
            }
            snap.keyed.extend(keyed.iter().filter(|e| range.contains(e.group)).cloned());
        }
    }
    for snap in operators.values_mut() {
        snap.keyed.sort_by(|x, y| (x.group, &x.key).cmp(&(y.group, &y.key)));
    }
    if files.is_empty() {
        sources.watermark = i64::MIN;
    }
    RestoredState {
        checkpoint_id: id,
        key_groups: kg,
        range,
        sources,
        operators,
    }
}

/// Restores the newest usable checkpoint of `scope` for the task
/// `assignment`: see the module docs. `build` makes the task's new
/// operators from the restored state; an error from it rejects that
/// checkpoint like a damaged file would. Only store errors (the store
/// cannot be listed) are returned as errors.
pub fn restore_latest<T, E: Display>(
    store: &dyn CheckpointStore,
    scope: &str,
    assignment: &Assignment,
    build: impl FnMut(&RestoredState) -> Result<T, E>,
) -> Result<RestoreOutcome<T>, StoreError> {
    restore_latest_at_most(store, scope, assignment, u64::MAX, build)
}

/// [`restore_latest`] among checkpoint ids `<= max_id`.
pub fn restore_latest_at_most<T, E: Display>(
    store: &dyn CheckpointStore,
    scope: &str,
    assignment: &Assignment,
    max_id: u64,
    mut build: impl FnMut(&RestoredState) -> Result<T, E>,
) -> Result<RestoreOutcome<T>, StoreError> {
    let mut by_id: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for name in store.list(&format!("{scope}/"))? {
        if let Some((task, id)) = parse_object_name(scope, &name) {
            if id <= max_id {
                by_id.entry(id).or_default().push((task.to_string(), name));
            }
        }
    }
    let mut skipped = Vec::new();
    'ids: for (&id, names) in by_id.iter().rev() {
        let mut files = Vec::with_capacity(names.len());
        for (task, name) in names {
            match load_file(store, name, task, id) {
                Ok(f) => files.push(f),
                Err(reason) => {
                    skipped.push(Skipped {
                        checkpoint_id: id,
                        reason: format!("task '{task}': {reason}"),
                    });
                    continue 'ids;
                }
            }
        }
        let kg = match check_complete(&files) {
            Ok(kg) => kg,
            Err(reason) => {
                skipped.push(Skipped {
                    checkpoint_id: id,
                    reason,
                });
                continue;
            }
        };
        let state = assemble(&files, kg, assignment, id);
        drop(files);
        match build(&state) {
            Ok(value) => {
                return Ok(RestoreOutcome {
                    restored: Some(Restored {
                        checkpoint_id: id,
                        value,
                        key_groups: state.key_groups,
                        range: state.range,
                        sources: state.sources,
                    }),
                    skipped,
                })
            }
            Err(e) => skipped.push(Skipped {
                checkpoint_id: id,
                reason: format!("restoring operators: {e}"),
            }),
        }
    }
    Ok(RestoreOutcome {
        restored: None,
        skipped,
    })
}

/// The restore of every task of a scope, all from ONE checkpoint id.
#[derive(Debug)]
pub struct ScopeRestore<T> {
    /// `None`: no checkpoint is usable by all tasks; they all start over.
    pub checkpoint_id: Option<u64>,
    /// Per assignment, in order (all `Some` or all `None`).
    pub tasks: Vec<Option<Restored<T>>>,
    pub skipped: Vec<Skipped>,
}

/// Restores every task of a scope whose tasks exchange events by key, so
/// that they all use the same checkpoint id (the only consistent cut): the
/// newest id every task can restore. A task whose `build` fails for an id
/// (its part of that checkpoint is bad) makes all of them fall back; what
/// the others built from the newer id is dropped, never served. In a
/// cluster the same choice is made by whichever instance coordinates the
/// restore; every task computing it from the same files gets the same id.
pub fn restore_scope<T, E: Display>(
    store: &dyn CheckpointStore,
    scope: &str,
    assignments: &[Assignment],
    mut build: impl FnMut(&Assignment, &RestoredState) -> Result<T, E>,
) -> Result<ScopeRestore<T>, StoreError> {
    let mut bound = u64::MAX;
    let mut skipped: Vec<Skipped> = Vec::new();
    loop {
        let mut tasks = Vec::with_capacity(assignments.len());
        let mut lowest: Option<Option<u64>> = None;
        for a in assignments {
            let out = restore_latest_at_most(store, scope, a, bound, |st| build(a, st))?;
            for s in out.skipped {
                if !skipped.contains(&s) {
                    skipped.push(s);
                }
            }
            let id = out.restored.as_ref().map(|r| r.checkpoint_id);
            lowest = Some(match lowest {
                None => id,
                Some(l) => l.min(id),
            });
            tasks.push(out.restored);
        }
        let lowest = lowest.flatten();
        let agreed = tasks.iter().all(|t| t.as_ref().map(|r| r.checkpoint_id) == lowest);
        match lowest {
            _ if agreed => {
                return Ok(ScopeRestore {
                    checkpoint_id: lowest,
                    tasks,
                    skipped,
                })
            }
            None => {
                // Some task can use no checkpoint: all start over.
                return Ok(ScopeRestore {
                    checkpoint_id: None,
                    tasks: assignments.iter().map(|_| None).collect(),
                    skipped,
                });
            }
            Some(id) => {
                for t in tasks.iter().flatten() {
                    if t.checkpoint_id > id {
                        let s = Skipped {
                            checkpoint_id: t.checkpoint_id,
                            reason: format!("another task cannot restore it; all tasks use checkpoint {id}"),
                        };
                        if !skipped.contains(&s) {
                            skipped.push(s);
                        }
                    }
                }
                bound = id;
            }
        }
    }
}

#[cfg(test)]
mod tests;
