//! Partition tasks: one per owned source partition, run by the engine's
//! worker threads.
//!
//! A task reads its partition in batches, decodes each event once with the
//! stream's [`Decoder`] and hands it to the operator of every active rule
//! over the stream. Event time: the partition's watermark is the highest
//! event time read minus the stream's lateness minus 1 ms (Flink's bounded
//! out-of-orderness), advanced after every event so a run's alerts do not
//! depend on batch boundaries. Processing time: the task reads the clock
//! once per batch and passes it to the operators (they never read it).
//!
//! The alerts of a batch go to the [`AlertOutput`] before anything else
//! happens; only when it accepted them can the task checkpoint past the
//! batch. A checkpoint is the operators' snapshots, the next offset and the
//! watermark, written atomically by the [`TaskCheckpointer`]. A task is its
//! own checkpoint scope (`streams/<stream>/p<partition>`): every key's events
//! arrive through its partition, so its newest valid checkpoint is
//! consistent on its own and moves to another instance whole.

pub mod operator;
pub mod swap;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cepheus_alerts::{Alert, AlertOutput};
use cepheus_dsl::plan::{RulePlan, StreamSchema};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::checkpoint::{
    restore_latest, CheckpointError, CheckpointInfo, CheckpointStore, PartitionProgress, RestoreError,
    RestoreContext, RestoredState, Skipped, SourcePartition, SourceState, TaskCheckpointer, TaskLayout,
};
use crate::event::{Event, Position};
use crate::metrics::EngineMetrics;
use crate::record::Decoder;
use crate::source::{DeadLetter, DeadLetterLog, PartitionReader, SourceRecord, StartAt, StreamSource};
use crate::state::{KeyGroups, StateBackend};
pub use operator::{Limits, OpCounters, Operator};
use swap::{swap_action, SwapAction};

/// One rule of the active set, as tasks see it.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub id: String,
    pub version: u64,
    pub plan: Arc<RulePlan>,
}

/// What every task shares with the engine.
pub struct TaskContext {
    pub output: Arc<dyn AlertOutput>,
    pub alerts_tx: broadcast::Sender<Arc<Alert>>,
    pub metrics: EngineMetrics,
    pub dead_letters: Arc<DeadLetterLog>,
    pub limits: Limits,
    pub idle_timeout_ms: u64,
    pub checkpoint_interval_ms: u64,
    pub retained: usize,
    /// The next checkpoint id (ids grow across tasks and restarts).
    pub next_checkpoint_id: AtomicU64,
}

impl TaskContext {
    pub fn take_checkpoint_id(&self) -> u64 {
        self.next_checkpoint_id.fetch_add(1, Ordering::SeqCst)
    }
}

/// The operator of one rule in a task.
pub struct RuleOp {
    pub id: String,
    pub version: u64,
    pub plan: Arc<RulePlan>,
    pub op: Operator,
    /// Counters already added to the metrics.
    reported: OpCounters,
    /// When the rule last hit a per-key limit.
    pub throttled_at: Option<Instant>,
}

impl RuleOp {
    fn new(spec: &RuleSpec, op: Operator) -> RuleOp {
        RuleOp {
            id: spec.id.clone(),
            version: spec.version,
            plan: Arc::clone(&spec.plan),
            reported: op.counters(),
            op,
            throttled_at: None,
        }
    }
}

/// The checkpoint scope of a partition task.
pub fn task_scope(stream: &str, partition: u32) -> String {
    format!("streams/{stream}/p{partition}")
}

pub fn task_name(stream: &str, partition: u32) -> String {
    format!("{stream}-p{partition}")
}

/// A task's last checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct TaskCheckpoint {
    pub id: u64,
    pub bytes: usize,
    pub keys: u64,
    pub duration_ms: f64,
    pub at_ms: i64,
}

/// What a task reports in the engine status.
#[derive(Debug, Clone, Serialize)]
pub struct TaskStatus {
    pub stream: String,
    pub partition: u32,
    pub next_offset: u64,
    pub end_offset: Option<u64>,
    pub watermark: Option<i64>,
    pub idle: bool,
    pub restored_from: Option<u64>,
    pub skipped_checkpoints: Vec<String>,
    pub last_checkpoint: Option<TaskCheckpoint>,
    pub pending_alerts: usize,
}

/// Why a task could not be opened or checkpointed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Store(#[from] crate::checkpoint::StoreError),
    #[error("alert output: {0}")]
    Output(String),
}

pub struct PartitionTask {
    stream: String,
    partition: u32,
    name: String,
    reader: Box<dyn PartitionReader>,
    source: Arc<dyn StreamSource>,
    schema: Option<StreamSchema>,
    decoder: Option<Decoder>,
    pub ops: Vec<RuleOp>,
    next_offset: u64,
    max_event_time: i64,
    watermark: i64,
    last_event_at: Instant,
    checkpointer: TaskCheckpointer,
    last_checkpoint: Option<TaskCheckpoint>,
    last_checkpoint_at: Instant,
    pending: Vec<Alert>,
    records: Vec<SourceRecord>,
    alerts: Vec<Alert>,
    ctx: Arc<TaskContext>,
    restored_from: Option<u64>,
    skipped: Vec<Skipped>,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn build_ops(rules: &[RuleSpec], limits: &Limits, restored: Option<&RestoredState>) -> Result<Vec<RuleOp>, RestoreError> {
    let mut ops = Vec::with_capacity(rules.len());
    for spec in rules {
        let fresh = || {
            Operator::build(&spec.plan, spec.version, limits).map_err(|reason| RestoreError::Incompatible {
                operator: spec.id.clone(),
                reason,
            })
        };
        let mut op = fresh()?;
        if let (Some(st), Some(snap_target)) = (restored, op.snapshot_mut()) {
            if let Some(snap) = st.operator(&spec.id) {
                let decoder = Decoder::new(&spec.plan.stream);
                match snap_target.restore_snapshot(snap, &RestoreContext { decoder: &decoder }) {
                    Ok(()) => {}
                    // The rule changed since the checkpoint: it starts
                    // fresh, the other rules keep their state.
                    Err(RestoreError::Incompatible { operator, reason }) => {
                        tracing::warn!(rule = %operator, %reason, "rule state not restored: it starts empty");
                        op = fresh()?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        ops.push(RuleOp::new(spec, op));
    }
    Ok(ops)
}

impl PartitionTask {
    /// Opens the task of `partition`: restores its newest usable checkpoint
    /// from `restore_store` (the checkpoint store, or a savepoint) and seeks
    /// the reader to its offsets.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        source: Arc<dyn StreamSource>,
        partition: u32,
        rules: &[RuleSpec],
        backend: Box<dyn StateBackend>,
        store: Arc<dyn CheckpointStore>,
        restore_store: &dyn CheckpointStore,
        ctx: Arc<TaskContext>,
    ) -> Result<PartitionTask, TaskError> {
        let stream = source.stream().to_string();
        let name = task_name(&stream, partition);
        let scope = task_scope(&stream, partition);
        let mut reader = source.open_partition(partition)?;
        let outcome = restore_latest(
            restore_store,
            &scope,
            &crate::checkpoint::Assignment::whole(),
            |st: &RestoredState| build_ops(rules, &ctx.limits, Some(st)),
        )?;
        let layout = TaskLayout::single(name.clone(), KeyGroups::default());
        let mut checkpointer = TaskCheckpointer::new(backend, store, scope, layout)?.with_retain(ctx.retained);
        let sp = SourcePartition::new(stream.clone(), partition);
        let (ops, next_offset, max_event_time, watermark, restored_from) = match outcome.restored {
            Some(r) => {
                let progress = r.sources.partitions.get(&sp).copied();
                ctx.next_checkpoint_id.fetch_max(r.checkpoint_id + 1, Ordering::SeqCst);
                checkpointer = checkpointer.resume_after(r.checkpoint_id);
                match progress {
                    Some(p) => {
                        reader.seek(StartAt::Offset(p.next_offset))?;
                        (r.value, p.next_offset, p.max_event_time, r.sources.watermark, Some(r.checkpoint_id))
                    }
                    None => {
                        reader.seek(StartAt::Default)?;
                        (r.value, 0, i64::MIN, r.sources.watermark, Some(r.checkpoint_id))
                    }
                }
            }
            None => {
                reader.seek(StartAt::Default)?;
                let ops = build_ops(rules, &ctx.limits, None).map_err(|e| {
                    TaskError::Checkpoint(CheckpointError::Snapshot(crate::checkpoint::SnapshotError::Operator {
                        operator: name.clone(),
                        reason: e.to_string(),
                    }))
                })?;
                (ops, 0, i64::MIN, i64::MIN, None)
            }
        };
        for s in &outcome.skipped {
            tracing::warn!(task = %name, checkpoint = s.checkpoint_id, reason = %s.reason, "checkpoint skipped");
        }
        let schema = rules.first().map(|r| r.plan.stream.clone());
        let decoder = schema.as_ref().map(Decoder::new);
        Ok(PartitionTask {
            stream,
            partition,
            name,
            reader,
            source,
            decoder,
            schema,
            ops,
            next_offset,
            max_event_time,
            watermark,
            last_event_at: Instant::now(),
            checkpointer,
            last_checkpoint: None,
            last_checkpoint_at: Instant::now(),
            pending: Vec::new(),
            records: Vec::with_capacity(1024),
            alerts: Vec::new(),
            ctx,
            restored_from,
            skipped: outcome.skipped,
        })
    }

    pub fn stream(&self) -> &str {
        &self.stream
    }

    pub fn partition(&self) -> u32 {
        self.partition
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the rules (between batches): see [`swap`].
    pub fn apply_rules(&mut self, rules: &[RuleSpec]) {
        let mut old: BTreeMap<String, RuleOp> = self.ops.drain(..).map(|o| (o.id.clone(), o)).collect();
        let mut ops = Vec::with_capacity(rules.len());
        for spec in rules {
            let op = match old.remove(&spec.id) {
                Some(prev) => match swap_action(prev.version, &prev.plan, spec.version, &spec.plan) {
                    SwapAction::Keep => prev,
                    SwapAction::CarryState => match Operator::build(&spec.plan, spec.version, &self.ctx.limits) {
                        Ok(mut op) => {
                            if let (Operator::Pattern(new), Operator::Pattern(old_op)) = (&mut op, prev.op) {
                                new.adopt_state(old_op);
                            }
                            RuleOp::new(spec, op)
                        }
                        Err(e) => {
                            tracing::error!(rule = %spec.id, error = %e, "rule does not build; it is not run");
                            continue;
                        }
                    },
                    SwapAction::Fresh => match Operator::build(&spec.plan, spec.version, &self.ctx.limits) {
                        Ok(op) => RuleOp::new(spec, op),
                        Err(e) => {
                            tracing::error!(rule = %spec.id, error = %e, "rule does not build; it is not run");
                            continue;
                        }
                    },
                },
                None => match Operator::build(&spec.plan, spec.version, &self.ctx.limits) {
                    Ok(op) => RuleOp::new(spec, op),
                    Err(e) => {
                        tracing::error!(rule = %spec.id, error = %e, "rule does not build; it is not run");
                        continue;
                    }
                },
            };
            ops.push(op);
        }
        self.ops = ops;
        let schema = rules.first().map(|r| r.plan.stream.clone());
        if schema != self.schema {
            self.decoder = schema.as_ref().map(Decoder::new);
            self.schema = schema;
        }
    }

    fn event_time(&self) -> bool {
        self.schema.as_ref().is_some_and(|s| s.time.is_some())
    }

    /// One batch of at most `max` records. Returns whether it did any work
    /// (read records or emitted held alerts).
    pub fn step(&mut self, max: usize) -> bool {
        if !self.pending.is_empty() && !self.flush_pending() {
            return false;
        }
        self.records.clear();
        if let Err(e) = self.reader.poll(max, &mut self.records) {
            tracing::warn!(task = %self.name, error = %e, "poll failed; retrying");
            return false;
        }
        let now = wall_ms();
        let n = self.records.len();
        let mut newest_source_ts = i64::MIN;
        if n > 0 {
            self.last_event_at = Instant::now();
        }
        let records = std::mem::take(&mut self.records);
        let mut alerts = std::mem::take(&mut self.alerts);
        let event_time = self.event_time();
        let lateness = self.schema.as_ref().map_or(0, |s| s.lateness_ms as i64);
        let mut decoded = 0u64;
        for rec in &records {
            self.next_offset = rec.offset + 1;
            newest_source_ts = newest_source_ts.max(rec.timestamp_ms);
            if self.ops.is_empty() {
                continue;
            }
            let Some(decoder) = &self.decoder else { continue };
            let record = match decoder.decode_at(&rec.payload, now) {
                Ok(r) => r,
                Err(e) => {
                    self.dead_letter(rec, e.kind(), e.to_string(), now);
                    continue;
                }
            };
            decoded += 1;
            let event = Arc::new(Event {
                record,
                position: Position {
                    partition: rec.partition,
                    offset: rec.offset,
                },
            });
            for op in &mut self.ops {
                op.op.on_event(&event, now, &mut alerts);
            }
            if event_time {
                let t = event.time();
                if t > self.max_event_time {
                    self.max_event_time = t;
                    let wm = t.saturating_sub(lateness).saturating_sub(1);
                    if wm > self.watermark {
                        self.watermark = wm;
                        for op in &mut self.ops {
                            op.op.on_watermark(wm, now, &mut alerts);
                        }
                    }
                }
            }
        }
        self.records = records;
        if !event_time && !self.ops.is_empty() {
            for op in &mut self.ops {
                op.op.on_processing_time(now, now, &mut alerts);
            }
        }
        if decoded > 0 {
            self.ctx.metrics.events.with_label_values(&[&self.stream]).inc_by(decoded);
        }
        self.report_counters();
        if !alerts.is_empty() {
            self.pending.append(&mut alerts);
            if newest_source_ts > 0 {
                self.ctx
                    .metrics
                    .event_to_alert
                    .observe(((wall_ms() - newest_source_ts).max(0) as f64) / 1000.0);
            }
            self.flush_pending();
        }
        self.alerts = alerts;
        if self.pending.is_empty() && self.ctx.checkpoint_interval_ms > 0 {
            let due = Duration::from_millis(self.ctx.checkpoint_interval_ms);
            if self.last_checkpoint_at.elapsed() >= due {
                let id = self.ctx.take_checkpoint_id();
                if let Err(e) = self.checkpoint(id) {
                    tracing::error!(task = %self.name, error = %e, "periodic checkpoint failed");
                }
            }
        }
        n > 0
    }

    fn dead_letter(&self, rec: &SourceRecord, reason: &str, error: String, now: i64) {
        self.ctx
            .metrics
            .events_malformed
            .with_label_values(&[&self.stream, reason])
            .inc();
        let letter = DeadLetter {
            stream: self.stream.clone(),
            partition: Some(rec.partition),
            offset: Some(rec.offset),
            reason: reason.to_string(),
            error,
            payload: String::from_utf8_lossy(&rec.payload).into_owned(),
            at_ms: now,
        };
        if let Err(e) = self.source.dead_letter(&letter) {
            tracing::warn!(task = %self.name, error = %e, "dead-letter topic write failed");
        }
        if let Err(e) = self.ctx.dead_letters.push(letter) {
            tracing::warn!(task = %self.name, error = %e, "dead-letter log write failed");
        }
    }

    /// Hands held alerts to the output; true when none are left.
    fn flush_pending(&mut self) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        match self.ctx.output.emit(&self.pending) {
            Ok(()) => {
                for a in self.pending.drain(..) {
                    self.ctx.metrics.alerts.with_label_values(&[&a.rule, &a.severity]).inc();
                    // Nobody listening is fine.
                    let _ = self.ctx.alerts_tx.send(Arc::new(a));
                }
                true
            }
            Err(e) => {
                tracing::warn!(task = %self.name, error = %e, held = self.pending.len(), "alert output refused; holding the partition");
                false
            }
        }
    }

    fn report_counters(&mut self) {
        let m = &self.ctx.metrics;
        for op in &mut self.ops {
            let c = op.op.counters();
            if c == op.reported {
                continue;
            }
            if c.matches > op.reported.matches {
                m.rule_matches.with_label_values(&[&op.id]).inc_by(c.matches - op.reported.matches);
            }
            if c.late > op.reported.late {
                m.events_late.with_label_values(&[&op.id]).inc_by(c.late - op.reported.late);
            }
            if c.limited > op.reported.limited {
                op.throttled_at = Some(Instant::now());
                m.rule_throttled.with_label_values(&[&op.id]).set(1);
            }
            op.reported = c;
        }
    }

    /// Checkpoint `id`: held alerts are emitted first (they must be durable
    /// before the offsets move past their input).
    pub fn checkpoint(&mut self, id: u64) -> Result<TaskCheckpoint, TaskError> {
        if !self.flush_pending() {
            self.ctx.metrics.checkpoints.with_label_values(&["failure"]).inc();
            return Err(TaskError::Output(format!(
                "{} alerts could not be emitted; the checkpoint waits for them",
                self.pending.len()
            )));
        }
        let snaps: Vec<&dyn crate::checkpoint::Snapshot> = self.ops.iter().filter_map(|o| o.op.snapshot()).collect();
        let mut sources = SourceState {
            partitions: BTreeMap::new(),
            watermark: self.watermark,
        };
        sources.partitions.insert(
            SourcePartition::new(self.stream.clone(), self.partition),
            PartitionProgress {
                next_offset: self.next_offset,
                max_event_time: self.max_event_time,
            },
        );
        let t0 = Instant::now();
        let result = self.checkpointer.checkpoint(id, &snaps, &sources);
        self.last_checkpoint_at = Instant::now();
        let info: CheckpointInfo = match result {
            Ok(i) => i,
            Err(e) => {
                self.ctx.metrics.checkpoints.with_label_values(&["failure"]).inc();
                return Err(e.into());
            }
        };
        let secs = t0.elapsed().as_secs_f64();
        let m = &self.ctx.metrics;
        m.checkpoints.with_label_values(&["success"]).inc();
        m.checkpoint_duration.observe(secs);
        let at_ms = wall_ms();
        m.checkpoint_last_success.set(at_ms as f64 / 1000.0);
        if let Err(e) = self.reader.checkpointed(self.next_offset) {
            tracing::warn!(task = %self.name, error = %e, "source did not take the checkpointed offset");
        }
        let cp = TaskCheckpoint {
            id: info.id,
            bytes: info.bytes,
            keys: info.keys,
            duration_ms: secs * 1000.0,
            at_ms,
        };
        self.last_checkpoint = Some(cp.clone());
        Ok(cp)
    }

    pub fn last_checkpoint(&self) -> Option<&TaskCheckpoint> {
        self.last_checkpoint.as_ref()
    }

    pub fn status(&self) -> TaskStatus {
        let idle = self.last_event_at.elapsed() >= Duration::from_millis(self.ctx.idle_timeout_ms.max(1));
        TaskStatus {
            stream: self.stream.clone(),
            partition: self.partition,
            next_offset: self.next_offset,
            end_offset: self.reader.end_offset(),
            watermark: (self.watermark != i64::MIN).then_some(self.watermark),
            idle,
            restored_from: self.restored_from,
            skipped_checkpoints: self
                .skipped
                .iter()
                .map(|s| format!("{}: {}", s.checkpoint_id, s.reason))
                .collect(),
            last_checkpoint: self.last_checkpoint.clone(),
            pending_alerts: self.pending.len(),
        }
    }

    /// Offsets the task has read: everything before it is applied.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    pub fn lag(&self) -> u64 {
        self.reader.end_offset().map_or(0, |e| e.saturating_sub(self.next_offset))
    }

    pub fn op(&self, rule: &str) -> Option<&RuleOp> {
        self.ops.iter().find(|o| o.id == rule)
    }
}
