//! `Delivery`: the runtime's [`AlertOutput`]. `emit` applies suppression,
//! writes one outbox record per target sink and returns once that write is
//! durable; a worker per sink then delivers with retries (backoff with
//! jitter), a concurrency limit and a circuit breaker, and removes the
//! record when the sink acknowledges. Out of attempts, an alert becomes a
//! dead letter, listable and replayable. Opening the same `state_dir` again
//! (after a crash too) resumes every pending delivery.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use rocksdb::WriteBatch;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::config::DeliveryConfig;
use crate::dead_letter::{DeadLetter, SinkInfo};
use crate::error::DeliveryError;
use crate::metrics::{outcome, Metrics};
use crate::outbox::{Outbox, PendingRecord};
use crate::retry::{CircuitBreaker, RetryConfig, Ticket};
use crate::sink::{Sink, SinkError};
use crate::ssrf::SsrfPolicy;
use crate::suppress::{Decision, SuppressedAlert, Suppressor};
use crate::time::{format_rfc3339_ms, now_ms};
use crate::{Alert, AlertOutput, OutputError};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Item {
    seq: u64,
    alert: Arc<Alert>,
    enqueued_ms: i64,
    attempts: u32,
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Item>,
    /// Ids pending for this sink: ready, in flight or waiting to retry.
    ids: HashSet<String>,
}

struct Slot {
    name: String,
    kind: &'static str,
    sink: Arc<dyn Sink>,
    concurrency: usize,
    group_max: usize,
    queue: Mutex<Queue>,
    notify: Notify,
    breaker: Mutex<CircuitBreaker>,
}

impl Slot {
    fn push(&self, item: Item) {
        let mut q = lock(&self.queue);
        q.ids.insert(item.alert.id.clone());
        q.ready.push_back(item);
        drop(q);
        self.notify.notify_one();
    }

    /// Queues several at once, so a worker sees the whole burst.
    fn push_all(&self, items: Vec<Item>) {
        let mut q = lock(&self.queue);
        for item in items {
            q.ids.insert(item.alert.id.clone());
            q.ready.push_back(item);
        }
        drop(q);
        self.notify.notify_one();
    }
}

struct Inner {
    outbox: Outbox,
    slots: BTreeMap<String, Arc<Slot>>,
    default_sinks: Vec<String>,
    retry: RetryConfig,
    metrics: Metrics,
    seq: AtomicU64,
    pending: AtomicUsize,
    max_pending: usize,
    dedup_ttl_ms: i64,
    suppressed_retention_ms: i64,
    /// Serialises enqueues (emit, replay) and guards suppression state.
    emit: Mutex<Suppressor>,
    periods: RwLock<HashMap<String, u64>>,
    stop: watch::Sender<bool>,
}

pub struct Delivery {
    inner: Arc<Inner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("sinks", &self.sinks()).field("outbox_depth", &self.outbox_depth()).finish()
    }
}

impl Delivery {
    /// Opens (or reopens) the outbox under `state_dir/outbox`, builds the
    /// sinks and spawns their workers on the current tokio runtime.
    pub fn open(config: DeliveryConfig, state_dir: &Path, registry: &prometheus::Registry) -> Result<Arc<Delivery>, DeliveryError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| DeliveryError::NoRuntime)?;
        validate(&config)?;
        let policy = Arc::new(SsrfPolicy::new(&config.webhook_allowlist, &config.allowed_networks).map_err(DeliveryError::Config)?);
        let mut slots = BTreeMap::new();
        for (name, sc) in &config.sinks {
            let sink = crate::sink::build(name, sc, &config, &policy)
                .map_err(|e| DeliveryError::Config(format!("sink `{name}` ({}): {e}", sc.kind())))?;
            slots.insert(
                name.clone(),
                Arc::new(Slot {
                    name: name.clone(),
                    kind: sc.kind(),
                    sink,
                    concurrency: sc.concurrency(),
                    group_max: sc.group_max(),
                    queue: Mutex::new(Queue::default()),
                    notify: Notify::new(),
                    breaker: Mutex::new(CircuitBreaker::new(
                        config.retry.breaker_failures,
                        Duration::from_millis(config.retry.breaker_cooldown_ms),
                    )),
                }),
            );
        }
        let dir = state_dir.join("outbox");
        std::fs::create_dir_all(&dir)
            .map_err(|e| DeliveryError::Config(format!("cannot create the outbox folder {}: {e}", dir.display())))?;
        let outbox = Outbox::open(&dir, config.outbox.sync_writes)?;
        let metrics = Metrics::register(registry)?;
        for name in slots.keys() {
            metrics.circuit_open.with_label_values(&[name]).set(0);
        }

        let mut suppressor = Suppressor::default();
        for (group, last) in outbox.suppress_state()? {
            suppressor.record(group, last);
        }
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            seq: AtomicU64::new(outbox.seq()?),
            outbox,
            slots,
            default_sinks: config.default_sinks.clone(),
            retry: config.retry.clone(),
            metrics,
            pending: AtomicUsize::new(0),
            max_pending: config.outbox.max_pending,
            dedup_ttl_ms: config.dedup_ttl_ms as i64,
            suppressed_retention_ms: config.suppressed_retention_ms as i64,
            emit: Mutex::new(suppressor),
            periods: RwLock::new(HashMap::new()),
            stop,
        });
        inner.resume()?;

        let mut tasks = Vec::new();
        for slot in inner.slots.values() {
            tasks.push(rt.spawn(run_sink(inner.clone(), slot.clone())));
        }
        tasks.push(rt.spawn(janitor(Arc::downgrade(&inner), inner.stop.subscribe())));
        Ok(Arc::new(Delivery { inner, tasks: Mutex::new(tasks) }))
    }

    /// The `suppress` period of each rule (from its plan's `suppress_ms`);
    /// the whole set, replaced on every rule change. Rules not named are not
    /// suppressed.
    pub fn set_suppress_periods(&self, periods: HashMap<String, u64>) {
        *self.inner.periods.write().unwrap_or_else(|e| e.into_inner()) = periods;
    }

    /// Suppressed alerts still retained, oldest first; of one rule if given.
    pub fn suppressed(&self, rule: Option<&str>) -> Result<Vec<SuppressedAlert>, DeliveryError> {
        self.inner.outbox.suppressed(rule)
    }

    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, DeliveryError> {
        Ok(self.inner.outbox.dead()?.into_iter().map(|(_, _, d)| d).collect())
    }

    /// Puts every dead letter of this alert back into the outbox. An alert
    /// that its sink already acknowledged within the dedup TTL is not sent
    /// again.
    pub fn replay_dead_letter(&self, alert_id: &str) -> Result<(), DeliveryError> {
        let inner = &self.inner;
        let _guard = lock(&inner.emit);
        let dead: Vec<_> = inner.outbox.dead()?.into_iter().filter(|(_, _, d)| d.alert.id == alert_id).collect();
        if dead.is_empty() {
            return Err(DeliveryError::DeadLetterNotFound(alert_id.to_string()));
        }
        let now = now_ms();
        let mut batch = WriteBatch::default();
        let mut seq = inner.seq.load(Ordering::SeqCst);
        let mut items = Vec::new();
        for (sink, old, d) in dead {
            let slot = inner
                .slots
                .get(&sink)
                .ok_or_else(|| DeliveryError::Config(format!("sink `{sink}` of this dead letter is no longer configured")))?;
            inner.outbox.del_dead(&mut batch, &sink, old);
            if lock(&slot.queue).ids.contains(alert_id) {
                continue;
            }
            seq += 1;
            inner.outbox.put_pending(&mut batch, &sink, seq, &PendingRecord { alert: d.alert.clone(), enqueued_ms: now });
            items.push((slot.clone(), Item { seq, alert: Arc::new(d.alert), enqueued_ms: now, attempts: 0 }));
        }
        inner.outbox.put_seq(&mut batch, seq);
        inner.outbox.write(batch)?;
        inner.seq.store(seq, Ordering::SeqCst);
        inner.add_pending(items.len() as i64);
        for (slot, item) in items {
            slot.push(item);
        }
        Ok(())
    }

    /// Deliveries (alert x sink) not yet acknowledged.
    pub fn outbox_depth(&self) -> usize {
        self.inner.pending.load(Ordering::SeqCst)
    }

    pub fn sinks(&self) -> Vec<SinkInfo> {
        self.inner.slots.values().map(|s| SinkInfo { name: s.name.clone(), kind: s.kind.to_string() }).collect()
    }

    /// Whether a sink of this name is configured (to check a rule's `notify`).
    pub fn has_sink(&self, name: &str) -> bool {
        self.inner.slots.contains_key(name)
    }

    /// Sends a test alert straight to the sink (not through the outbox).
    pub async fn test_sink(&self, name: &str) -> Result<(), DeliveryError> {
        let slot = self.inner.slots.get(name).ok_or_else(|| DeliveryError::UnknownSink(name.to_string()))?;
        let now = now_ms();
        let alert = Arc::new(Alert {
            id: format!("test-{now:x}"),
            rule: "cepheus_sink_test".into(),
            rule_version: 0,
            severity: "info".into(),
            key: serde_json::Map::new(),
            fields: serde_json::Map::new(),
            message: format!("Test delivery to sink `{name}` from Cepheus"),
            event_time: format_rfc3339_ms(now),
            detected_at: format_rfc3339_ms(now),
            matched: None,
            window: None,
            timeout: false,
            update: false,
            labels: BTreeMap::new(),
            notify: vec![name.to_string()],
        });
        let sink_err = |source| DeliveryError::Sink { sink: name.to_string(), source };
        slot.sink.deliver(&[alert]).await.map_err(sink_err)?;
        slot.sink.flush_for_checkpoint().await.map_err(sink_err)
    }

    /// Makes every sink's deliveries so far visible (commits the Kafka
    /// sinks' transactions). Call before recording a checkpoint.
    pub async fn flush_for_checkpoint(&self) -> Result<(), DeliveryError> {
        for slot in self.inner.slots.values() {
            slot.sink
                .flush_for_checkpoint()
                .await
                .map_err(|source| DeliveryError::Sink { sink: slot.name.clone(), source })?;
        }
        Ok(())
    }

    /// Stops the workers (deliveries in flight finish, up to 10 s) and the
    /// sinks. What is still pending stays in the outbox for the next open.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        // Deliveries waiting for a Kafka commit finish now, not at the interval.
        if let Err(e) = self.flush_for_checkpoint().await {
            tracing::warn!(error = %e, "flush at shutdown failed; the alerts stay in the outbox");
        }
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for t in tasks {
            let _ = t.await;
        }
        for slot in self.inner.slots.values() {
            slot.sink.close().await;
        }
    }
}

impl AlertOutput for Delivery {
    fn emit(&self, alerts: &[Alert]) -> Result<(), OutputError> {
        self.inner.enqueue(alerts).map_err(|e| OutputError::new(e.to_string()))
    }
}

fn validate(c: &DeliveryConfig) -> Result<(), DeliveryError> {
    for name in c.sinks.keys() {
        if name.is_empty() || name.contains('\0') {
            return Err(DeliveryError::Config(format!("sink name {name:?} must be non-empty without NUL")));
        }
    }
    for d in &c.default_sinks {
        if !c.sinks.contains_key(d) {
            return Err(DeliveryError::Config(format!("default_sinks names `{d}`, which is not under [delivery.sinks]")));
        }
    }
    if c.retry.max_attempts == 0 {
        return Err(DeliveryError::Config("retry.max_attempts must be at least 1".into()));
    }
    if c.dedup_ttl_ms == 0 {
        return Err(DeliveryError::Config("dedup_ttl_ms must be positive".into()));
    }
    Ok(())
}

impl Inner {
    fn add_pending(&self, n: i64) {
        let v = if n >= 0 {
            self.pending.fetch_add(n as usize, Ordering::SeqCst) + n as usize
        } else {
            self.pending.fetch_sub((-n) as usize, Ordering::SeqCst) - (-n) as usize
        };
        self.metrics.depth.set(v as i64);
    }

    /// Loads the outbox into the sinks' queues (at open). Records of sinks no
    /// longer configured become dead letters.
    fn resume(&self) -> Result<(), DeliveryError> {
        let mut orphans = WriteBatch::default();
        let mut n = 0;
        let now = now_ms();
        for (sink, seq, rec) in self.outbox.pending()? {
            match self.slots.get(&sink) {
                Some(slot) => {
                    slot.push(Item { seq, alert: Arc::new(rec.alert), enqueued_ms: rec.enqueued_ms, attempts: 0 });
                    n += 1;
                }
                None => {
                    self.outbox.del_pending(&mut orphans, &sink, seq);
                    let d = DeadLetter {
                        alert: rec.alert,
                        sink: sink.clone(),
                        attempts: 0,
                        last_error: format!("sink `{sink}` is no longer configured"),
                        failed_at: format_rfc3339_ms(now),
                    };
                    self.outbox.put_dead(&mut orphans, &sink, seq, &d);
                }
            }
        }
        self.outbox.write(orphans)?;
        self.add_pending(n);
        Ok(())
    }

    fn targets(&self, a: &Alert) -> Vec<Arc<Slot>> {
        let names = if a.notify.is_empty() { &self.default_sinks } else { &a.notify };
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            match self.slots.get(n) {
                Some(s) => out.push(s.clone()),
                None => {
                    // Not lost: such an alert goes to the default sinks.
                    tracing::warn!(rule = %a.rule, sink = %n, "alert names an unknown sink; using the default sinks");
                    for d in &self.default_sinks {
                        if let Some(s) = self.slots.get(d) {
                            out.push(s.clone());
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        out
    }

    fn enqueue(&self, alerts: &[Alert]) -> Result<(), DeliveryError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut suppressor = lock(&self.emit);
        let depth = self.pending.load(Ordering::SeqCst);
        if depth >= self.max_pending {
            return Err(DeliveryError::OutboxFull(depth));
        }
        let now = now_ms();
        let periods = self.periods.read().unwrap_or_else(|e| e.into_inner());
        let mut batch = WriteBatch::default();
        let mut seq = self.seq.load(Ordering::SeqCst);
        let mut items: Vec<(Arc<Slot>, Item)> = Vec::new();
        // Suppression decisions apply at once (a later alert of this batch
        // must see them) and are undone if the write fails.
        let mut undo: Vec<(String, Option<crate::suppress::Last>)> = Vec::new();
        let mut suppressed: HashMap<&str, u64> = HashMap::new();
        let mut duplicates: HashMap<String, u64> = HashMap::new();
        let mut seen: HashSet<(String, &str)> = HashSet::new();
        for a in alerts {
            if let Some(&period) = periods.get(&a.rule) {
                match suppressor.decide(a, period) {
                    Decision::Suppress => {
                        seq += 1;
                        let s = SuppressedAlert { alert: a.clone(), suppressed_at: format_rfc3339_ms(now) };
                        self.outbox.put_suppressed(&mut batch, seq, &s);
                        *suppressed.entry(&a.rule).or_default() += 1;
                        continue;
                    }
                    Decision::Send { group, last } => {
                        self.outbox.put_suppress(&mut batch, &group, &last);
                        let previous = suppressor.record(group.clone(), last);
                        undo.push((group, previous));
                    }
                    Decision::Pass => {}
                }
            }
            let targets = self.targets(a);
            if targets.is_empty() {
                tracing::warn!(rule = %a.rule, id = %a.id, "alert has no sink: configure default_sinks");
                continue;
            }
            let shared = Arc::new(a.clone());
            for slot in targets {
                if !seen.insert((slot.name.clone(), a.id.as_str())) || lock(&slot.queue).ids.contains(&a.id) {
                    continue;
                }
                let delivered = self.outbox.delivered_at(&slot.name, &a.id)?;
                if delivered.is_some_and(|t| crate::dedup::fresh(t, now, self.dedup_ttl_ms)) {
                    *duplicates.entry(slot.name.clone()).or_default() += 1;
                    continue;
                }
                seq += 1;
                self.outbox.put_pending(&mut batch, &slot.name, seq, &PendingRecord { alert: a.clone(), enqueued_ms: now });
                items.push((slot.clone(), Item { seq, alert: shared.clone(), enqueued_ms: now, attempts: 0 }));
            }
        }
        self.outbox.put_seq(&mut batch, seq);
        if let Err(e) = self.outbox.write(batch) {
            for (group, previous) in undo.into_iter().rev() {
                suppressor.undo(group, previous);
            }
            return Err(e);
        }
        self.seq.store(seq, Ordering::SeqCst);
        for (rule, n) in suppressed {
            self.metrics.suppressed.with_label_values(&[rule]).inc_by(n);
        }
        for (sink, n) in duplicates {
            self.metrics.delivered.with_label_values(&[sink.as_str(), outcome::DUPLICATE]).inc_by(n);
        }
        self.add_pending(items.len() as i64);
        let mut by_slot: BTreeMap<String, (Arc<Slot>, Vec<Item>)> = BTreeMap::new();
        for (slot, item) in items {
            by_slot.entry(slot.name.clone()).or_insert_with(|| (slot.clone(), Vec::new())).1.push(item);
        }
        for (_, (slot, items)) in by_slot {
            slot.push_all(items);
        }
        Ok(())
    }

    /// Removes delivered (or duplicate) items from the outbox, remembering
    /// their ids.
    fn acknowledge(&self, slot: &Slot, items: &[Item], result: &'static str) {
        let now = now_ms();
        let mut batch = WriteBatch::default();
        for it in items {
            self.outbox.del_pending(&mut batch, &slot.name, it.seq);
            self.outbox.put_delivered(&mut batch, &slot.name, &it.alert.id, now);
        }
        if let Err(e) = self.outbox.write(batch) {
            // They stay in the outbox on disk and go again after a restart.
            tracing::error!(sink = %slot.name, error = %e, "could not record deliveries in the outbox");
        }
        let mut q = lock(&slot.queue);
        for it in items {
            q.ids.remove(&it.alert.id);
        }
        drop(q);
        self.add_pending(-(items.len() as i64));
        self.metrics.delivered.with_label_values(&[slot.name.as_str(), result]).inc_by(items.len() as u64);
        if result == outcome::SUCCESS {
            let h = self.metrics.latency.with_label_values(&[slot.name.as_str()]);
            for it in items {
                h.observe((now - it.enqueued_ms).max(0) as f64 / 1000.0);
            }
        }
    }

    fn dead_letter(&self, slot: &Slot, it: &Item, err: &SinkError) {
        let d = DeadLetter {
            alert: (*it.alert).clone(),
            sink: slot.name.clone(),
            attempts: it.attempts,
            last_error: err.message.clone(),
            failed_at: format_rfc3339_ms(now_ms()),
        };
        let mut batch = WriteBatch::default();
        self.outbox.del_pending(&mut batch, &slot.name, it.seq);
        self.outbox.put_dead(&mut batch, &slot.name, it.seq, &d);
        if let Err(e) = self.outbox.write(batch) {
            tracing::error!(sink = %slot.name, error = %e, "could not move an alert to the dead letters");
        }
        lock(&slot.queue).ids.remove(&it.alert.id);
        self.add_pending(-1);
        self.metrics.delivered.with_label_values(&[slot.name.as_str(), outcome::DEAD_LETTER]).inc();
        self.metrics.dead.with_label_values(&[slot.name.as_str()]).inc();
        tracing::warn!(sink = %slot.name, id = %it.alert.id, attempts = it.attempts, error = %err, "alert moved to the dead letters");
    }
}

/// One sink's worker: takes ready alerts while the breaker and the
/// concurrency limit allow, and delivers each group on its own task.
async fn run_sink(inner: Arc<Inner>, slot: Arc<Slot>) {
    let mut stop = inner.stop.subscribe();
    let permits = Arc::new(Semaphore::new(slot.concurrency));
    'outer: loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        loop {
            let notified = slot.notify.notified();
            if *stop.borrow() {
                break 'outer;
            }
            if !lock(&slot.queue).ready.is_empty() {
                break;
            }
            tokio::select! {
                _ = notified => {}
                _ = stop.changed() => break 'outer,
            }
        }
        let ticket = loop {
            let r = lock(&slot.breaker).acquire(Instant::now());
            match r {
                Ok(t) => break t,
                Err(wait) => {
                    inner.metrics.circuit_open.with_label_values(&[slot.name.as_str()]).set(1);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => break 'outer,
                    }
                }
            }
        };
        let batch: Vec<Item> = {
            let mut q = lock(&slot.queue);
            let n = q.ready.len().min(slot.group_max);
            q.ready.drain(..n).collect()
        };
        if batch.is_empty() {
            lock(&slot.breaker).release(ticket);
            continue;
        }
        tokio::spawn(deliver(inner.clone(), slot.clone(), batch, ticket, permit));
    }
    // Let deliveries in flight finish (their results are recorded).
    let _ = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(slot.concurrency as u32)).await;
}

/// Holds the permit until everything else of the delivery is gone, so that
/// `shutdown` returning means the outbox is no longer referenced.
async fn deliver(inner: Arc<Inner>, slot: Arc<Slot>, batch: Vec<Item>, ticket: Ticket, permit: OwnedSemaphorePermit) {
    deliver_group(inner, slot, batch, ticket).await;
    drop(permit);
}

async fn deliver_group(inner: Arc<Inner>, slot: Arc<Slot>, batch: Vec<Item>, ticket: Ticket) {
    let now = now_ms();
    let mut fresh = Vec::with_capacity(batch.len());
    let mut dups = Vec::new();
    for it in batch {
        match inner.outbox.delivered_at(&slot.name, &it.alert.id) {
            Ok(Some(t)) if crate::dedup::fresh(t, now, inner.dedup_ttl_ms) => dups.push(it),
            _ => fresh.push(it),
        }
    }
    if !dups.is_empty() {
        inner.acknowledge(&slot, &dups, outcome::DUPLICATE);
    }
    if fresh.is_empty() {
        lock(&slot.breaker).release(ticket);
        return;
    }
    let alerts: Vec<Arc<Alert>> = fresh.iter().map(|i| i.alert.clone()).collect();
    match slot.sink.deliver(&alerts).await {
        Ok(()) => {
            lock(&slot.breaker).on_success(ticket);
            inner.metrics.circuit_open.with_label_values(&[slot.name.as_str()]).set(0);
            inner.acknowledge(&slot, &fresh, outcome::SUCCESS);
        }
        Err(e) => {
            lock(&slot.breaker).on_failure(ticket, Instant::now());
            tracing::debug!(sink = %slot.name, error = %e, n = fresh.len(), "delivery failed");
            for mut it in fresh {
                it.attempts += 1;
                if e.permanent || it.attempts >= inner.retry.max_attempts {
                    inner.dead_letter(&slot, &it, &e);
                } else {
                    inner.metrics.delivered.with_label_values(&[slot.name.as_str(), outcome::RETRY]).inc();
                    let delay = inner.retry.backoff(it.attempts, rand::random::<f64>());
                    let (weak, slot) = (Arc::downgrade(&inner), slot.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        if weak.upgrade().is_some() {
                            slot.push(it);
                        }
                    });
                }
            }
        }
    }
}

/// Forgets delivered ids past their TTL and suppressed alerts past their
/// retention, every minute.
async fn janitor(inner: Weak<Inner>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        let Some(inner) = inner.upgrade() else { return };
        let now = now_ms();
        if let Err(e) = inner.outbox.purge(now - inner.dedup_ttl_ms, now - inner.suppressed_retention_ms) {
            tracing::warn!(error = %e, "outbox purge failed");
        }
        let max_period = inner.periods.read().unwrap_or_else(|e| e.into_inner()).values().copied().max().unwrap_or(0);
        let mut s = lock(&inner.emit);
        // Event time runs close to wall time in a live service; a generous
        // margin keeps replays of older input correct.
        let gone = s.expire(now - 7 * 24 * 3600 * 1000, max_period);
        if !gone.is_empty() {
            let mut b = WriteBatch::default();
            for g in &gone {
                inner.outbox.del_suppress(&mut b, g);
            }
            if let Err(e) = inner.outbox.write(b) {
                tracing::warn!(error = %e, "suppression state purge failed");
            }
        }
    }
}
