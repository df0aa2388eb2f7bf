//! The streaming engine: sources, partition tasks on a fixed pool of worker
//! threads, rule-set hot swap, checkpoints and savepoints, queryable state,
//! metrics. The service (`cepheus serve`) drives it through [`Engine`].
//!
//! * Every bound stream has a source ([`crate::source`]): the embedded log
//!   (events posted through [`Engine::append`]) or Kafka. The source tells
//!   the engine which partitions this instance owns; the engine runs one
//!   [`crate::task::PartitionTask`] per owned partition.
//! * Tasks start when the first rule set arrives ([`Engine::set_rules`]):
//!   each restores its newest usable checkpoint (falling back past damaged
//!   ones) with the operators of the active rules, and replays its partition
//!   from the checkpoint's offsets.
//! * Workers (`workers` threads) step their tasks round-robin, a batch at a
//!   time, and sleep when no task has input.
//! * Rule swaps, checkpoints on request, status and queries lock each task
//!   between two batches; nothing restarts.

mod config;
mod error;
mod query;
mod savepoint;
mod status;
mod workers;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cepheus_alerts::{Alert, AlertOutput};
use tokio::sync::broadcast;

pub use config::{ActiveRule, EngineConfig, SourceConfig, StateBackendKind, StreamBinding};
pub use error::{EngineError, ErrorKind};
pub use status::{
    AppendError, AppendReport, CheckpointSummary, EngineStatus, RuleStatus, RuleSwapReport, SavepointSummary,
    StreamStatus,
};

use crate::checkpoint::{parse_object_name, CheckpointStore, LocalDirStore};
use crate::metrics::EngineMetrics;
use crate::source::{
    AssignmentListener, DeadLetter, DeadLetterLog, EmbeddedLog, SourceFactory, StreamSource,
};
use crate::state::open_backend;
use crate::task::{swap, Limits, Operator, PartitionTask, RuleSpec, TaskContext};

/// How to start besides the configuration.
#[derive(Default, Clone)]
pub struct StartOptions {
    /// Opens sources other than the embedded log (Kafka).
    pub sources: Option<Arc<dyn SourceFactory>>,
    /// Restore from this savepoint instead of the newest checkpoints.
    pub from_savepoint: Option<String>,
}

/// One owned partition's task, stepped by one worker.
struct Slot {
    stream: String,
    partition: u32,
    worker: usize,
    task: Mutex<PartitionTask>,
    removed: AtomicBool,
}

struct Wake {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    fn notify(&self) {
        let mut g = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        *g = g.wrapping_add(1);
        self.cv.notify_all();
    }

    fn current(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the generation moves past `seen` or `timeout` passes.
    fn wait(&self, seen: u64, timeout: Duration) {
        let g = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        if *g != seen {
            return;
        }
        let _ = self.cv.wait_timeout(g, timeout);
    }
}

struct Shared {
    config: EngineConfig,
    workers: usize,
    ctx: Arc<TaskContext>,
    store: Arc<LocalDirStore>,
    /// Where tasks restore from: the store, or a savepoint in it (used by
    /// the first assignment only).
    restore_store: Mutex<Option<Arc<dyn CheckpointStore>>>,
    sources: BTreeMap<String, Arc<dyn StreamSource>>,
    rules: RwLock<Option<Vec<ActiveRule>>>,
    slots: RwLock<Vec<Arc<Slot>>>,
    /// Partitions owned before the first rule set (or that failed to open).
    waiting: Mutex<Vec<(String, u32)>>,
    wake: Wake,
    stop: AtomicBool,
    shut_down: AtomicBool,
    next_worker: AtomicUsize,
    last_checkpoint: Mutex<Option<CheckpointSummary>>,
    /// Serialises set_rules, checkpoints, savepoints and shutdown.
    control: Mutex<()>,
}

/// The streaming engine. `Send + Sync`; share it in an `Arc`.
pub struct Engine {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn io_err(path: &std::path::Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The highest checkpoint id in the store (tasks' regular checkpoints).
fn max_checkpoint_id(store: &dyn CheckpointStore) -> Result<u64, EngineError> {
    let mut max = 0;
    for name in store.list("streams/")? {
        let Some((scope, _)) = name.rsplit_once('/').and_then(|(rest, _)| rest.rsplit_once('/')) else {
            continue;
        };
        if let Some((_, id)) = parse_object_name(scope, &name) {
            max = max.max(id);
        }
    }
    Ok(max)
}

struct Listener(Weak<Shared>);

impl AssignmentListener for Listener {
    fn assigned(&self, stream: &str, partitions: &[u32]) {
        if let Some(shared) = self.0.upgrade() {
            shared.assign(stream, partitions);
        }
    }

    fn revoked(&self, stream: &str, partitions: &[u32]) {
        if let Some(shared) = self.0.upgrade() {
            shared.revoke(stream, partitions);
        }
    }
}

impl Shared {
    fn specs_for(&self, stream: &str) -> Option<Vec<RuleSpec>> {
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        rules.as_ref().map(|rules| specs_for(rules, stream))
    }

    fn assign(&self, stream: &str, partitions: &[u32]) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for &p in partitions {
            if !waiting.iter().any(|(s, q)| s == stream && *q == p) {
                waiting.push((stream.to_string(), p));
            }
        }
        drop(waiting);
        self.open_waiting();
    }

    /// Opens the tasks of waiting partitions, once rules are known.
    fn open_waiting(&self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let mut still = Vec::new();
        for (stream, p) in waiting.drain(..) {
            let Some(specs) = self.specs_for(&stream) else {
                still.push((stream, p));
                continue;
            };
            let exists = self
                .slots
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|s| s.stream == stream && s.partition == p);
            if exists {
                continue;
            }
            match self.open_task(&stream, p, &specs) {
                Ok(task) => {
                    let worker = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers;
                    self.slots.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(Slot {
                        stream,
                        partition: p,
                        worker,
                        task: Mutex::new(task),
                        removed: AtomicBool::new(false),
                    }));
                }
                Err(e) => {
                    tracing::error!(stream = %stream, partition = p, error = %e, "partition task did not open; retried at the next rule change");
                    still.push((stream, p));
                }
            }
        }
        *waiting = still;
        drop(waiting);
        self.wake.notify();
    }

    fn open_task(&self, stream: &str, p: u32, specs: &[RuleSpec]) -> Result<PartitionTask, EngineError> {
        let source = self
            .sources
            .get(stream)
            .cloned()
            .ok_or_else(|| EngineError::UnknownStream(stream.to_string()))?;
        let name = crate::task::task_name(stream, p);
        let dir = self.config.state_dir.join("tasks").join(&name);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let backend = open_backend(self.config.state_backend.into(), &dir).map_err(|e| EngineError::Io {
            path: dir.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let restore_store: Arc<dyn CheckpointStore> = self
            .restore_store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| self.store.clone());
        let store: Arc<dyn CheckpointStore> = self.store.clone();
        PartitionTask::open(source, p, specs, backend, store, restore_store.as_ref(), Arc::clone(&self.ctx))
            .map_err(|source| EngineError::Task { task: name, source })
    }

    fn revoke(&self, stream: &str, partitions: &[u32]) {
        let _g = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let mut removed = Vec::new();
        {
            let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
            slots.retain(|s| {
                let hit = s.stream == stream && partitions.contains(&s.partition);
                if hit {
                    s.removed.store(true, Ordering::SeqCst);
                    removed.push(Arc::clone(s));
                }
                !hit
            });
        }
        for slot in removed {
            let mut task = slot.task.lock().unwrap_or_else(|e| e.into_inner());
            let id = self.ctx.take_checkpoint_id();
            if let Err(e) = task.checkpoint(id) {
                tracing::error!(task = %task.name(), error = %e, "checkpoint on revoke failed; the new owner replays from the previous one");
            }
        }
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(s, p)| !(s == stream && partitions.contains(p)));
    }

    fn slots(&self) -> Vec<Arc<Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn checkpoint_all(&self) -> Result<CheckpointSummary, EngineError> {
        let id = self.ctx.take_checkpoint_id();
        let mut summary = CheckpointSummary {
            id,
            tasks: 0,
            bytes: 0,
            keys: 0,
            duration_ms: 0.0,
            created_at: crate::time::format_rfc3339(wall_ms()),
        };
        let mut first_error = None;
        for slot in self.slots() {
            let mut task = slot.task.lock().unwrap_or_else(|e| e.into_inner());
            match task.checkpoint(id) {
                Ok(cp) => {
                    summary.tasks += 1;
                    summary.bytes += cp.bytes as u64;
                    summary.keys += cp.keys;
                    summary.duration_ms = summary.duration_ms.max(cp.duration_ms);
                }
                Err(source) => {
                    if first_error.is_none() {
                        first_error = Some(EngineError::Task {
                            task: task.name().to_string(),
                            source,
                        });
                    }
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        *self.last_checkpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(summary.clone());
        Ok(summary)
    }
}

fn specs_for(rules: &[ActiveRule], stream: &str) -> Vec<RuleSpec> {
    rules
        .iter()
        .filter(|r| r.plan.stream.name == stream)
        .map(|r| RuleSpec {
            id: r.id.clone(),
            version: r.version,
            plan: Arc::new(r.plan.clone()),
        })
        .collect()
}

impl Engine {
    /// Starts the engine: opens the sources, takes the assignment, and
    /// starts the workers. Tasks restore their newest usable checkpoint when
    /// the first rule set arrives.
    pub fn start(
        config: EngineConfig,
        output: Arc<dyn AlertOutput>,
        registry: &prometheus::Registry,
    ) -> Result<Engine, EngineError> {
        Engine::start_with(config, output, registry, StartOptions::default())
    }

    /// [`Engine::start`] from the savepoint `name`.
    pub fn start_from_savepoint(
        config: EngineConfig,
        name: &str,
        output: Arc<dyn AlertOutput>,
        registry: &prometheus::Registry,
    ) -> Result<Engine, EngineError> {
        Engine::start_with(
            config,
            output,
            registry,
            StartOptions {
                from_savepoint: Some(name.to_string()),
                ..StartOptions::default()
            },
        )
    }

    pub fn start_with(
        config: EngineConfig,
        output: Arc<dyn AlertOutput>,
        registry: &prometheus::Registry,
        options: StartOptions,
    ) -> Result<Engine, EngineError> {
        if config.checkpoints_retained < 2 {
            return Err(EngineError::Config(format!(
                "checkpoints_retained is {}; keep at least 2 (the newest may be damaged)",
                config.checkpoints_retained
            )));
        }
        std::fs::create_dir_all(&config.state_dir).map_err(io_err(&config.state_dir))?;
        let store = Arc::new(LocalDirStore::new(&config.checkpoint_dir)?);
        let restore_store: Option<Arc<dyn CheckpointStore>> = match &options.from_savepoint {
            Some(name) => {
                if !savepoint::valid_name(name) || store.list(&savepoint::savepoint_prefix(name))?.is_empty() {
                    return Err(EngineError::NoSavepoint(name.clone()));
                }
                Some(Arc::new(savepoint::SavepointView::new(store.clone(), name)))
            }
            None => None,
        };
        let metrics = EngineMetrics::register(registry)?;
        let dl_path: PathBuf = config.state_dir.join("dead-letters.ndjson");
        let dead_letters = Arc::new(DeadLetterLog::open(&dl_path, 1000).map_err(io_err(&dl_path))?);
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (alerts_tx, _) = broadcast::channel(4096);
        let ctx = Arc::new(TaskContext {
            output,
            alerts_tx,
            metrics,
            dead_letters,
            limits: Limits {
                max_partial_matches_per_key: config.max_partial_matches_per_key,
                max_open_windows_per_key: config.max_open_windows_per_key,
            },
            idle_timeout_ms: config.idle_partition_timeout_ms,
            checkpoint_interval_ms: config.checkpoint_interval_ms,
            retained: config.checkpoints_retained,
            next_checkpoint_id: AtomicU64::new(max_checkpoint_id(store.as_ref())? + 1),
        });
        let mut sources: BTreeMap<String, Arc<dyn StreamSource>> = BTreeMap::new();
        for b in &config.streams {
            if sources.contains_key(&b.name) {
                return Err(EngineError::Config(format!("stream '{}' is bound twice", b.name)));
            }
            let src: Arc<dyn StreamSource> = match &b.source {
                SourceConfig::Embedded { partitions } => {
                    EmbeddedLog::open_stream(&config.state_dir, &b.name, *partitions)?
                }
                SourceConfig::Kafka(_) => match &options.sources {
                    Some(f) => f.open(b, &config.instance_id)?,
                    None => {
                        return Err(EngineError::Config(format!(
                            "stream '{}' reads Kafka, but this engine was started without a Kafka source factory",
                            b.name
                        )))
                    }
                },
            };
            sources.insert(b.name.clone(), src);
        }
        let shared = Arc::new(Shared {
            config,
            workers,
            ctx,
            store,
            restore_store: Mutex::new(restore_store),
            sources,
            rules: RwLock::new(None),
            slots: RwLock::new(Vec::new()),
            waiting: Mutex::new(Vec::new()),
            wake: Wake {
                generation: Mutex::new(0),
                cv: Condvar::new(),
            },
            stop: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            next_worker: AtomicUsize::new(0),
            last_checkpoint: Mutex::new(None),
            control: Mutex::new(()),
        });
        for src in shared.sources.values() {
            if let Some(e) = src.as_embedded() {
                let weak = Arc::downgrade(&shared);
                e.set_waker(Arc::new(move || {
                    if let Some(s) = weak.upgrade() {
                        s.wake.notify();
                    }
                }));
            }
        }
        let listener: Arc<dyn AssignmentListener> = Arc::new(Listener(Arc::downgrade(&shared)));
        for src in shared.sources.values() {
            src.start(Arc::clone(&listener))?;
        }
        let mut threads = Vec::with_capacity(workers + 1);
        for i in 0..workers {
            let s = Arc::clone(&shared);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("cepheus-worker-{i}"))
                    .spawn(move || workers::run_worker(&s, i))
                    .map_err(|e| EngineError::Internal(format!("spawning a worker thread: {e}")))?,
            );
        }
        let s = Arc::clone(&shared);
        threads.push(
            std::thread::Builder::new()
                .name("cepheus-housekeeping".into())
                .spawn(move || workers::run_housekeeping(&s))
                .map_err(|e| EngineError::Internal(format!("spawning the housekeeping thread: {e}")))?,
        );
        Ok(Engine {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Replaces the whole active rule set. Rules are checked first (nothing
    /// changes if one is refused); then every task swaps between two
    /// batches: unchanged rules keep their state, see [`crate::task::swap`].
    pub fn set_rules(&self, rules: Vec<ActiveRule>) -> Result<RuleSwapReport, EngineError> {
        let sh = &self.shared;
        let _g = sh.control.lock().unwrap_or_else(|e| e.into_inner());
        if sh.shut_down.load(Ordering::SeqCst) {
            return Err(EngineError::ShutDown);
        }
        let mut schemas: BTreeMap<&str, (&str, &cepheus_dsl::plan::StreamSchema)> = BTreeMap::new();
        let mut ids = std::collections::BTreeSet::new();
        for r in &rules {
            if !ids.insert(r.id.as_str()) {
                return Err(EngineError::BadRule {
                    rule: r.id.clone(),
                    reason: "the rule set names it twice".into(),
                });
            }
            let stream = r.plan.stream.name.as_str();
            if !sh.sources.contains_key(stream) {
                return Err(EngineError::BadRule {
                    rule: r.id.clone(),
                    reason: format!("it reads stream '{stream}', which is not bound under [[streams]]"),
                });
            }
            match schemas.get(stream) {
                Some((first, schema)) if **schema != r.plan.stream => {
                    return Err(EngineError::SchemaConflict {
                        stream: stream.to_string(),
                        first: first.to_string(),
                        second: r.id.clone(),
                    })
                }
                Some(_) => {}
                None => {
                    schemas.insert(stream, (r.id.as_str(), &r.plan.stream));
                }
            }
            Operator::build(&r.plan, r.version, &sh.ctx.limits).map_err(|reason| EngineError::BadRule {
                rule: r.id.clone(),
                reason,
            })?;
        }
        let report = {
            let old = sh.rules.read().unwrap_or_else(|e| e.into_inner());
            swap_report(old.as_deref().unwrap_or(&[]), &rules)
        };
        for (name, src) in &sh.sources {
            if let Some(e) = src.as_embedded() {
                e.set_schema(schemas.get(name.as_str()).map(|(_, s)| *s));
            }
        }
        *sh.rules.write().unwrap_or_else(|e| e.into_inner()) = Some(rules.clone());
        for slot in sh.slots() {
            let specs = specs_for(&rules, &slot.stream);
            slot.task.lock().unwrap_or_else(|e| e.into_inner()).apply_rules(&specs);
        }
        sh.open_waiting();
        Ok(report)
    }

    /// Appends NDJSON events to an embedded stream. Lines that do not decode
    /// are refused, counted and dead-lettered; the rest are accepted.
    pub fn append(&self, stream: &str, ndjson: &[u8]) -> Result<AppendReport, EngineError> {
        let sh = &self.shared;
        let src = sh
            .sources
            .get(stream)
            .ok_or_else(|| EngineError::UnknownStream(stream.to_string()))?;
        let log = src.as_embedded().ok_or_else(|| EngineError::NotEmbedded(stream.to_string()))?;
        let now = wall_ms();
        let mut errors = Vec::new();
        let ctx = &sh.ctx;
        let outcome = log.append(ndjson, now, &mut |r| {
            let reason = r.error.kind();
            ctx.metrics.events_malformed.with_label_values(&[stream, reason]).inc();
            if errors.len() < 20 {
                errors.push(AppendError {
                    line: r.line,
                    reason: reason.to_string(),
                    error: r.error.to_string(),
                });
            }
            let letter = DeadLetter {
                stream: stream.to_string(),
                partition: None,
                offset: None,
                reason: reason.to_string(),
                error: r.error.to_string(),
                payload: String::from_utf8_lossy(r.payload).into_owned(),
                at_ms: now,
            };
            if let Err(e) = ctx.dead_letters.push(letter) {
                tracing::warn!(stream, error = %e, "dead-letter log write failed");
            }
        })?;
        Ok(AppendReport {
            accepted: outcome.accepted,
            malformed: outcome.malformed,
            errors,
            offsets: outcome.offsets,
        })
    }

    /// Every alert as it is emitted (after the output accepted it).
    pub fn alerts(&self) -> broadcast::Receiver<Arc<Alert>> {
        self.shared.ctx.alerts_tx.subscribe()
    }

    /// Checkpoints every task now, all under one new id.
    pub fn checkpoint_now(&self) -> Result<CheckpointSummary, EngineError> {
        let sh = &self.shared;
        let _g = sh.control.lock().unwrap_or_else(|e| e.into_inner());
        if sh.shut_down.load(Ordering::SeqCst) {
            return Err(EngineError::ShutDown);
        }
        sh.checkpoint_all()
    }

    /// Checkpoints every task and keeps the files under `name`.
    pub fn savepoint(&self, name: &str) -> Result<SavepointSummary, EngineError> {
        if !savepoint::valid_name(name) {
            return Err(EngineError::Config(format!(
                "savepoint name '{name}': use letters, digits, '-', '_' and '.', not starting with '.'"
            )));
        }
        let sh = &self.shared;
        let _g = sh.control.lock().unwrap_or_else(|e| e.into_inner());
        if sh.shut_down.load(Ordering::SeqCst) {
            return Err(EngineError::ShutDown);
        }
        if !sh.store.list(&savepoint::savepoint_prefix(name))?.is_empty() {
            return Err(EngineError::Config(format!("savepoint '{name}' exists already; choose another name")));
        }
        let cp = sh.checkpoint_all()?;
        let mut bytes = 0u64;
        let mut tasks = 0;
        for slot in sh.slots() {
            let scope = crate::task::task_scope(&slot.stream, slot.partition);
            let object = crate::checkpoint::object_name(&scope, &crate::task::task_name(&slot.stream, slot.partition), cp.id);
            let data = sh.store.get(&object)?;
            bytes += data.len() as u64;
            sh.store.put(&format!("{}{object}", savepoint::savepoint_prefix(name)), &data)?;
            tasks += 1;
        }
        Ok(SavepointSummary {
            name: name.to_string(),
            checkpoint_id: cp.id,
            tasks,
            bytes,
        })
    }

    /// The checkpoints in the store, newest first, one entry per id.
    pub fn list_checkpoints(&self) -> Result<Vec<CheckpointSummary>, EngineError> {
        let sh = &self.shared;
        let mut by_id: BTreeMap<u64, CheckpointSummary> = BTreeMap::new();
        for name in sh.store.list("streams/")? {
            let Some((scope, _)) = name.rsplit_once('/').and_then(|(rest, _)| rest.rsplit_once('/')) else {
                continue;
            };
            let Some((_, id)) = parse_object_name(scope, &name) else { continue };
            let path = sh.store.path_of(&name)?;
            let meta = std::fs::metadata(&path).ok();
            let e = by_id.entry(id).or_insert_with(|| CheckpointSummary {
                id,
                tasks: 0,
                bytes: 0,
                keys: 0,
                duration_ms: 0.0,
                created_at: String::new(),
            });
            e.tasks += 1;
            if let Some(m) = meta {
                e.bytes += m.len();
                if let Ok(t) = m.modified() {
                    if let Ok(d) = t.duration_since(std::time::UNIX_EPOCH) {
                        let at = crate::time::format_rfc3339(d.as_millis() as i64);
                        if at > e.created_at {
                            e.created_at = at;
                        }
                    }
                }
            }
        }
        Ok(by_id.into_values().rev().collect())
    }

    /// The live state of one key in one rule: partial matches and held
    /// events of a pattern rule. `key` names every `partition by` field, as
    /// alerts show the key.
    pub fn query_state(
        &self,
        rule: &str,
        key: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, EngineError> {
        let sh = &self.shared;
        let (stream, key_names) = {
            let rules = sh.rules.read().unwrap_or_else(|e| e.into_inner());
            let r = rules
                .as_ref()
                .and_then(|rs| rs.iter().find(|r| r.id == rule))
                .ok_or_else(|| EngineError::UnknownRule(rule.to_string()))?;
            let names: Vec<String> = r.plan.partition_by.iter().map(|k| k.name.clone()).collect();
            (r.plan.stream.name.clone(), names)
        };
        let mut given: Vec<&String> = key.keys().collect();
        given.sort();
        let mut wanted: Vec<&String> = key_names.iter().collect();
        wanted.sort();
        if given != wanted {
            return Err(EngineError::BadQuery(format!(
                "rule '{rule}' is partitioned by [{}]; give exactly those fields (got [{}])",
                key_names.join(", "),
                key.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        for slot in sh.slots().into_iter().filter(|s| s.stream == stream) {
            let task = slot.task.lock().unwrap_or_else(|e| e.into_inner());
            let Some(op) = task.op(rule) else { continue };
            if let Some(state) = query::key_state(op, key) {
                return Ok(serde_json::json!({
                    "rule": rule,
                    "version": op.version,
                    "key": key,
                    "found": true,
                    "stream": stream,
                    "partition": slot.partition,
                    "state": state,
                }));
            }
        }
        Ok(serde_json::json!({"rule": rule, "key": key, "found": false, "stream": stream}))
    }

    pub fn status(&self) -> EngineStatus {
        let sh = &self.shared;
        let rules = sh.rules.read().unwrap_or_else(|e| e.into_inner()).clone();
        let slots = sh.slots();
        let waiting = sh.waiting.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut streams = Vec::new();
        let mut per_rule: BTreeMap<String, (u64, u64, bool)> = BTreeMap::new();
        for (name, src) in &sh.sources {
            let mut parts = Vec::new();
            for slot in slots.iter().filter(|s| &s.stream == name) {
                let task = slot.task.lock().unwrap_or_else(|e| e.into_inner());
                parts.push(task.status());
                for op in &task.ops {
                    let e = per_rule.entry(op.id.clone()).or_default();
                    e.0 += op.op.partial_matches() as u64;
                    e.1 += op.op.open_windows() as u64;
                    e.2 |= op.throttled_at.is_some_and(|t| t.elapsed() < workers::THROTTLE_HOLD);
                }
            }
            parts.sort_by_key(|p| p.partition);
            streams.push(StreamStatus {
                name: name.clone(),
                source: if src.as_embedded().is_some() { "embedded" } else { "kafka" }.to_string(),
                partitions: parts,
                waiting_partitions: waiting.iter().filter(|(s, _)| s == name).map(|(_, p)| *p).collect(),
            });
        }
        let rule_status = rules
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|r| {
                let (pm, ow, th) = per_rule.get(&r.id).copied().unwrap_or_default();
                let kind = crate::task::operator::plan_kind(&r.plan);
                RuleStatus {
                    id: r.id.clone(),
                    version: r.version,
                    stream: r.plan.stream.name.clone(),
                    kind: kind.to_string(),
                    partial_matches: pm,
                    open_windows: ow,
                    throttled: th,
                    checkpointed: kind == "pattern",
                }
            })
            .collect();
        EngineStatus {
            instance_id: sh.config.instance_id.clone(),
            workers: sh.workers,
            rules_loaded: rules.is_some(),
            streams,
            rules: rule_status,
            last_checkpoint: sh.last_checkpoint.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            shut_down: sh.shut_down.load(Ordering::SeqCst),
        }
    }

    /// Recent dead letters (malformed events), oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.shared.ctx.dead_letters.recent()
    }

    /// Waits until every task has read everything its partition holds now
    /// and emitted its alerts (tests, backfills). False on timeout.
    pub fn wait_caught_up(&self, timeout: Duration) -> bool {
        let t0 = Instant::now();
        loop {
            let waiting = !self.shared.waiting.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
            let done = !waiting
                && self.shared.slots().iter().all(|s| {
                    let t = s.task.lock().unwrap_or_else(|e| e.into_inner());
                    let st = t.status();
                    st.pending_alerts == 0 && !matches!(st.end_offset, Some(e) if st.next_offset < e)
                });
            if done {
                return true;
            }
            if t0.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the workers, checkpoints every task and closes the sources.
    /// Further calls do nothing.
    pub fn shutdown(&self) -> Result<(), EngineError> {
        let sh = &self.shared;
        {
            let _g = sh.control.lock().unwrap_or_else(|e| e.into_inner());
            if sh.shut_down.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
        }
        self.stop_threads();
        let result = {
            let _g = sh.control.lock().unwrap_or_else(|e| e.into_inner());
            if sh.slots().is_empty() {
                Ok(())
            } else {
                sh.checkpoint_all().map(|_| ())
            }
        };
        for src in sh.sources.values() {
            if let Err(e) = src.stop() {
                tracing::warn!(stream = %src.stream(), error = %e, "source did not stop cleanly");
            }
        }
        sh.slots.write().unwrap_or_else(|e| e.into_inner()).clear();
        result
    }

    fn stop_threads(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify();
        let threads: Vec<_> = self.threads.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    /// Stops the threads without a checkpoint (as a crash would, minus the
    /// process): call [`Engine::shutdown`] for a clean stop.
    fn drop(&mut self) {
        self.stop_threads();
        self.shared.slots.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn swap_report(old: &[ActiveRule], new: &[ActiveRule]) -> RuleSwapReport {
    let mut r = RuleSwapReport::default();
    for n in new {
        match old.iter().find(|o| o.id == n.id) {
            None => r.added.push(n.id.clone()),
            Some(o) => match swap::swap_action(o.version, &o.plan, n.version, &n.plan) {
                swap::SwapAction::Keep => r.unchanged.push(n.id.clone()),
                swap::SwapAction::CarryState => r.updated_in_place.push(n.id.clone()),
                swap::SwapAction::Fresh => r.replaced.push(n.id.clone()),
            },
        }
    }
    for o in old {
        if !new.iter().any(|n| n.id == o.id) {
            r.removed.push(o.id.clone());
        }
    }
    r
}
