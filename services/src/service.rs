//! The service's core, shared by REST and gRPC: the rule store, the catalog,
//! the engine, and the hot reload that ties them together.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use cepheus_alerts::Alert;
use cepheus_dsl::RulePlan;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::auth::Tokens;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::recent::Recent;
use crate::rules::RuleCatalog;
use crate::runtime::{RuleSpec, Runtime};
use crate::store::{RuleStore, RuleVersion, StoreError, StoredRule};

/// Names that would collide with fixed routes under `/rules/`.
const RESERVED: &[&str] = &["validate"];

pub struct Service {
    pub config: Config,
    pub catalog: RuleCatalog,
    pub store: RuleStore,
    pub metrics: Metrics,
    pub tokens: Tokens,
    pub recent: Recent,
    engine: OnceLock<Arc<dyn Runtime>>,
    /// Alert delivery, when `[delivery]` is configured: it applies each
    /// rule's `suppress` period, so it learns them at every reload.
    delivery: OnceLock<Arc<cepheus_alerts::Delivery>>,
    ready: AtomicBool,
    /// Serialises store changes with their reload, so the engine sees the
    /// active sets in the order they were stored.
    write: tokio::sync::Mutex<PlanCache>,
    /// The service's fan-out of live alerts (SSE, gRPC), fed from the engine.
    live: broadcast::Sender<Arc<Alert>>,
    /// Why each stored rule that does not run failed to compile.
    broken: std::sync::Mutex<HashMap<String, String>>,
    /// Set when the service stops: live streams (SSE, gRPC) end, so the
    /// servers can drain.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// Plans of stored versions, so a reload compiles only what changed.
type PlanCache = HashMap<(String, u64), RulePlan>;

/// The outcome of a rule change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleChange {
    pub rule: StoredRule,
    /// Whether the engine runs this rule now.
    pub active: bool,
    /// Warnings, in the JSON form of `cepheus rules check --format json`.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<cepheus_dsl::diagnostic::JsonDiagnostic>,
    /// Milliseconds from the request to the engine running the new set.
    pub reload_ms: Option<f64>,
}

impl Service {
    pub fn new(config: Config, catalog: RuleCatalog, store: RuleStore, metrics: Metrics) -> Service {
        let tokens = Tokens::new(&config.server.tokens);
        let recent = Recent::new(config.server.recent_alerts);
        let (live, _) = broadcast::channel(4096);
        Service {
            config,
            catalog,
            store,
            metrics,
            tokens,
            recent,
            engine: OnceLock::new(),
            delivery: OnceLock::new(),
            ready: AtomicBool::new(false),
            write: tokio::sync::Mutex::new(HashMap::new()),
            live,
            broken: Default::default(),
            stopping: tokio::sync::watch::channel(false).0,
        }
    }

    /// Installs alert delivery (before the engine, so the first reload
    /// already tells it the rules' `suppress` periods).
    pub fn attach_delivery(&self, delivery: Arc<cepheus_alerts::Delivery>) {
        let _ = self.delivery.set(delivery);
    }

    /// Not ready any more; live streams end.
    pub fn begin_shutdown(&self) {
        self.ready.store(false, Ordering::Release);
        self.stopping.send_replace(true);
    }

    /// Resolves when the service begins to stop.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn engine(&self) -> ApiResult<Arc<dyn Runtime>> {
        self.engine
            .get()
            .cloned()
            .ok_or_else(|| ApiError::unavailable("the engine is still restoring its checkpoint; retry in a moment (see /readyz)"))
    }

    /// Installs the started engine, swaps in the stored rules and starts
    /// forwarding its alerts; then the service is ready.
    pub async fn attach(self: &Arc<Self>, engine: Arc<dyn Runtime>) -> ApiResult<()> {
        let mut rx = engine.alerts();
        if self.engine.set(engine).is_err() {
            return Err(ApiError::internal("engine attached twice"));
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(a) => {
                        me.recent.push(Arc::clone(&a));
                        let _ = me.live.send(a);
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "alert tap lagged; recent alerts and live subscribers miss some");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let mut cache = self.write.lock().await;
        self.reload(&mut cache).await?;
        drop(cache);
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Alert>> {
        self.live.subscribe()
    }

    /// Stores rules from the config's files at start (before the engine).
    pub fn load_files(&self) -> Result<usize, String> {
        let mut n = 0;
        for path in &self.config.rules {
            let text = std::fs::read_to_string(path).map_err(|e| format!("rule file {}: {e}", path.display()))?;
            let compiled = cepheus_dsl::compile(&text, &self.catalog.catalog);
            if compiled.has_errors() {
                let name = path.display().to_string();
                return Err(format!(
                    "rule file {name} does not check:\n{}",
                    cepheus_dsl::diagnostic::render(&name, &text, &compiled.diagnostics)
                ));
            }
            for (id, source) in crate::rules::split_file(&text) {
                self.catalog
                    .compile_one(&source, Some(&id), true)
                    .map_err(|e| format!("rule file {}: rule '{id}': {e}", path.display()))?;
                self.store
                    .put(&id, &source, "config", &format!("file {}", path.display()), None, &now_rfc3339())
                    .map_err(|e| e.to_string())?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub async fn create(&self, source: &str, enabled: Option<bool>, author: &str) -> ApiResult<RuleChange> {
        let start = Instant::now();
        let compiled = self.catalog.compile_one(source, None, true)?;
        let id = compiled.plan.name.clone();
        if RESERVED.contains(&id.as_str()) {
            return Err(ApiError::bad_request(format!("'{id}' is reserved; name the rule differently")));
        }
        let mut cache = self.write.lock().await;
        if self.store.get(&id).is_ok() {
            return Err(ApiError::conflict(format!("rule '{id}' exists; replace it with PUT /rules/{id}")));
        }
        let (rule, _) = self.store.put(&id, source, author, "create", enabled, &now_rfc3339()).map_err(store_err)?;
        cache.insert((id, rule.version), compiled.plan);
        self.changed(&mut cache, rule, compiled.diagnostics, start).await
    }

    pub async fn replace(&self, id: &str, source: &str, enabled: Option<bool>, author: &str) -> ApiResult<RuleChange> {
        let start = Instant::now();
        let mut cache = self.write.lock().await;
        self.store.get(id).map_err(store_err)?;
        let compiled = self.catalog.compile_one(source, Some(id), true)?;
        let (rule, _) = self.store.put(id, source, author, "replace", enabled, &now_rfc3339()).map_err(store_err)?;
        cache.insert((id.to_string(), rule.version), compiled.plan);
        self.changed(&mut cache, rule, compiled.diagnostics, start).await
    }

    pub fn validate(&self, source: &str) -> ApiResult<crate::rules::Compiled> {
        self.catalog.compile_one(source, None, true)
    }

    pub async fn set_enabled(&self, id: &str, enabled: bool) -> ApiResult<RuleChange> {
        let start = Instant::now();
        let mut cache = self.write.lock().await;
        let rule = self.store.set_enabled(id, enabled).map_err(store_err)?;
        self.changed(&mut cache, rule, Vec::new(), start).await
    }

    pub async fn delete(&self, id: &str) -> ApiResult<()> {
        let mut cache = self.write.lock().await;
        self.store.delete(id).map_err(store_err)?;
        cache.retain(|(r, _), _| r != id);
        if self.engine.get().is_some() {
            self.reload(&mut cache).await?;
        }
        Ok(())
    }

    pub async fn rollback(&self, id: &str, version: u64, author: &str) -> ApiResult<RuleChange> {
        let start = Instant::now();
        let mut cache = self.write.lock().await;
        let old = self.store.version(id, version).map_err(store_err)?;
        // The catalog may have changed since: check the old text again.
        let compiled = self.catalog.compile_one(&old.source, Some(id), true)?;
        let (rule, _) = self
            .store
            .put(id, &old.source, author, &format!("rollback to {version}"), None, &now_rfc3339())
            .map_err(store_err)?;
        cache.insert((id.to_string(), rule.version), compiled.plan);
        self.changed(&mut cache, rule, compiled.diagnostics, start).await
    }

    pub fn get(&self, id: &str) -> ApiResult<StoredRule> {
        self.store.get(id).map_err(store_err)
    }

    pub fn list(&self) -> Vec<StoredRule> {
        self.store.list()
    }

    pub fn versions(&self, id: &str) -> ApiResult<Vec<RuleVersion>> {
        self.store.versions(id).map_err(store_err)
    }

    pub fn version(&self, id: &str, version: u64) -> ApiResult<RuleVersion> {
        self.store.version(id, version).map_err(store_err)
    }

    /// The plan a rule runs with now (for typed state queries).
    pub async fn active_plan(&self, id: &str) -> ApiResult<RulePlan> {
        let cache = self.write.lock().await;
        let (_, version, _) = self
            .store
            .active()
            .into_iter()
            .find(|(r, _, _)| r == id)
            .ok_or_else(|| ApiError::not_found(format!("rule '{id}' is not active (stored and enabled); see GET /rules")))?;
        cache
            .get(&(id.to_string(), version))
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("rule '{id}' is not running: {}", self.broken_reason(id))))
    }

    fn broken_reason(&self, id: &str) -> String {
        self.broken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_else(|| "the engine is not ready".into())
    }

    async fn changed(&self, cache: &mut PlanCache, rule: StoredRule, diagnostics: Vec<cepheus_dsl::diagnostic::JsonDiagnostic>, start: Instant) -> ApiResult<RuleChange> {
        let mut reload_ms = None;
        if self.engine.get().is_some() {
            self.reload(cache).await.map_err(|e| {
                let msg = format!("stored as version {} but the engine did not take it: {}", rule.version, e.message);
                ApiError { message: msg, ..e }
            })?;
            reload_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
        }
        let active = rule.enabled && reload_ms.is_some();
        Ok(RuleChange {
            rule,
            active,
            diagnostics,
            reload_ms,
        })
    }

    /// Compiles what is not cached and hands the whole active set to the
    /// engine. A stored rule that no longer compiles (the catalog changed)
    /// is left out and reported, rather than stopping the others.
    async fn reload(&self, cache: &mut PlanCache) -> ApiResult<()> {
        let engine = self.engine()?;
        let timer = self.metrics.rule_reload_seconds.start_timer();
        let mut specs = Vec::new();
        let mut broken = HashMap::new();
        for (id, version, source) in self.store.active() {
            let key = (id.clone(), version);
            let plan = match cache.get(&key) {
                Some(p) => p.clone(),
                None => match self.catalog.compile_one(&source, Some(&id), true) {
                    Ok(c) => {
                        cache.insert(key, c.plan.clone());
                        c.plan
                    }
                    Err(e) => {
                        tracing::error!(rule = %id, version, error = %e, "stored rule does not compile; left out of the active set");
                        broken.insert(id, e.message);
                        continue;
                    }
                },
            };
            specs.push(RuleSpec { id, version, source, plan });
        }
        let n = specs.len();
        if let Some(delivery) = self.delivery.get() {
            // Alerts carry the rule's name; `suppress` is per rule and key.
            let periods = specs
                .iter()
                .filter_map(|s| s.plan.suppress_ms.map(|ms| (s.plan.name.clone(), ms)))
                .collect();
            delivery.set_suppress_periods(periods);
        }
        *self.broken.lock().unwrap_or_else(|e| e.into_inner()) = broken;
        let result = tokio::task::spawn_blocking(move || engine.set_rules(specs))
            .await
            .map_err(|e| ApiError::internal(format!("rule swap task failed: {e}")))?;
        timer.observe_duration();
        match result {
            Ok(report) => {
                self.metrics.rule_reloads.with_label_values(&["ok"]).inc();
                self.metrics.rules_active.set(n as i64);
                tracing::info!(rules = n, report = %report, "active rule set swapped");
                Ok(())
            }
            Err(e) => {
                self.metrics.rule_reloads.with_label_values(&["error"]).inc();
                Err(e)
            }
        }
    }

    /// Engine status plus the service's own view of its rules.
    pub fn status(&self) -> serde_json::Value {
        let broken = self.broken.lock().unwrap_or_else(|e| e.into_inner()).clone();
        serde_json::json!({
            "instance_id": self.config.engine.instance_id,
            "ready": self.is_ready(),
            "rules": {
                "stored": self.store.list().len(),
                "active": self.metrics.rules_active.get(),
                "not_running": broken,
            },
            "engine": self.engine.get().map(|e| e.status()),
        })
    }

    /// Stops the engine (it checkpoints first).
    pub async fn shutdown(&self) -> ApiResult<()> {
        self.ready.store(false, Ordering::Release);
        if let Some(engine) = self.engine.get().cloned() {
            tokio::task::spawn_blocking(move || engine.shutdown())
                .await
                .map_err(|e| ApiError::internal(format!("engine shutdown task failed: {e}")))??;
        }
        Ok(())
    }
}

pub fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::NoRule(_) | StoreError::NoVersion { .. } => ApiError::not_found(e.to_string()),
        StoreError::BadName(_) => ApiError::bad_request(e.to_string()),
        StoreError::Io { .. } | StoreError::Corrupt { .. } => ApiError::internal(e.to_string()),
    }
}

/// The service (not an operator) reads the clock: for `stored_at` and
/// backtests' `detected_at`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn now_rfc3339() -> String {
    cepheus_runtime::time::format_rfc3339(now_ms())
}
