//! `cepheus serve --config FILE`: the long-running service.
//!
//! Start order: config, registry, catalog, rule store (rule files stored),
//! HTTP and gRPC listeners (live, not ready), delivery, engine (restores),
//! stored rules swapped in: ready. Stop order (SIGTERM, ctrl-c): not ready,
//! live streams end, listeners stop accepting and drain, engine checkpoints
//! and stops, delivery drains.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cepheus_runtime::engine::{Engine, EngineConfig, SourceConfig, StateBackendKind, StreamBinding};
use tokio::net::TcpListener;

use crate::config::{Config, StateBackend, DEFAULT_PARTITIONS};
use crate::engine_adapter::EngineRuntime;
use crate::metrics::Metrics;
use crate::rules::RuleCatalog;
use crate::service::Service;
use crate::store::RuleStore;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source} (is another process using it? change server.listen / server.grpc_listen)")]
    Bind { addr: String, source: std::io::Error },
    #[error("engine: {0}")]
    Engine(String),
    #[error("delivery: {0}")]
    Delivery(String),
    #[error("{0}")]
    Internal(String),
}

#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Restore from this savepoint instead of the newest checkpoints.
    pub from_savepoint: Option<String>,
}

/// The engine's configuration from the service's.
pub fn engine_config(config: &Config) -> EngineConfig {
    EngineConfig {
        instance_id: config.engine.instance_id.clone(),
        state_dir: config.engine.state_dir.join("engine"),
        checkpoint_dir: config.checkpoint_dir(),
        checkpoint_interval_ms: config.engine.checkpoint_interval_ms,
        checkpoints_retained: config.engine.checkpoints_retained,
        workers: config.engine.workers,
        state_backend: match config.engine.state_backend {
            StateBackend::Memory => StateBackendKind::Memory,
            StateBackend::Rocksdb => StateBackendKind::RocksDb,
        },
        idle_partition_timeout_ms: config.engine.idle_partition_timeout_ms,
        max_partial_matches_per_key: config.engine.max_partial_matches_per_key,
        max_open_windows_per_key: config.engine.max_open_windows_per_key,
        streams: config
            .streams
            .iter()
            .map(|s| StreamBinding {
                name: s.name.clone(),
                source: SourceConfig::Embedded {
                    partitions: s.partitions.unwrap_or(DEFAULT_PARTITIONS),
                },
            })
            .collect(),
    }
}

/// Runs until `shutdown` resolves (the binary passes SIGTERM / ctrl-c).
pub async fn run(config: Config, opts: ServeOptions, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    if config.kafka.is_some() {
        return Err(ServeError::Config(
            "[kafka]: Kafka sources are not wired into `serve` in this version; remove [kafka] to use the embedded log".into(),
        ));
    }
    let metrics = Metrics::new().map_err(|e| ServeError::Internal(format!("metrics registry: {e}")))?;
    let sinks = config.delivery.as_ref().map(|d| d.sinks.keys().cloned().collect());
    let catalog = RuleCatalog::new(&config.streams, sinks).map_err(|e| ServeError::Config(e.to_string()))?;
    std::fs::create_dir_all(&config.engine.state_dir)
        .map_err(|e| ServeError::Config(format!("engine.state_dir {}: {e}", config.engine.state_dir.display())))?;
    let store = RuleStore::open(&config.engine.state_dir).map_err(|e| ServeError::Config(e.to_string()))?;
    let svc = Arc::new(Service::new(config.clone(), catalog, store, metrics.clone()));
    let loaded = svc.load_files().map_err(ServeError::Config)?;
    if !svc.tokens.enabled() {
        tracing::warn!("server.tokens is empty: authentication is OFF, every caller is admin; configure tokens before exposing the service");
    }

    let http = TcpListener::bind(config.server.listen).await.map_err(|source| ServeError::Bind {
        addr: config.server.listen.to_string(),
        source,
    })?;
    let http_addr = http.local_addr().map_err(|e| ServeError::Internal(e.to_string()))?;
    let grpc = match config.server.grpc_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?),
        None => None,
    };
    let grpc_addr = grpc.as_ref().and_then(|l| l.local_addr().ok());
    // One machine-readable line on stdout, for scripts and tests that asked
    // for port 0.
    println!(
        "cepheus: listening http={http_addr} grpc={}",
        grpc_addr.map_or_else(|| "off".to_string(), |a| a.to_string())
    );
    tracing::info!(%http_addr, grpc = ?grpc_addr, rule_files_rules = loaded, "listening; starting the engine");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let http_task = {
        let app = crate::api::router(Arc::clone(&svc));
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            axum::serve(http, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let grpc_task = grpc.map(|listener| {
        let (rules, alerts) = crate::grpc::services(Arc::clone(&svc));
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(rules)
                .add_service(alerts)
                .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        })
    });

    // The engine restores from its checkpoints: slow, blocking work.
    let engine_cfg = engine_config(&config);
    let registry = metrics.registry.clone();
    let delivery = match config.delivery.clone() {
        Some(d) => Some(
            cepheus_alerts::Delivery::open(d, &config.engine.state_dir.join("delivery"), &metrics.registry)
                .map_err(|e| ServeError::Delivery(e.to_string()))?,
        ),
        None => None,
    };
    if let Some(d) = &delivery {
        svc.attach_delivery(Arc::clone(d));
    }
    let output: Arc<dyn cepheus_alerts::AlertOutput> = match &delivery {
        Some(d) => d.clone(),
        None => Arc::new(crate::engine_adapter::LogOutput),
    };
    let from = opts.from_savepoint.clone();
    let engine = tokio::task::spawn_blocking(move || match from {
        Some(name) => Engine::start_from_savepoint(engine_cfg, &name, output, &registry),
        None => Engine::start(engine_cfg, output, &registry),
    })
    .await
    .map_err(|e| ServeError::Internal(format!("engine start task: {e}")))?
    .map_err(|e| ServeError::Engine(e.to_string()))?;
    let engine: Arc<dyn crate::runtime::Runtime> = Arc::new(EngineRuntime::new(engine));
    svc.attach(Arc::clone(&engine)).await.map_err(|e| ServeError::Engine(e.message))?;
    tracing::info!(rules = svc.metrics.rules_active.get(), "ready");

    shutdown.await;
    tracing::info!("shutting down: draining requests, then checkpointing");
    svc.begin_shutdown();
    let _ = stop_tx.send(true);
    let drain = async {
        let _ = http_task.await;
        if let Some(t) = grpc_task {
            let _ = t.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), drain).await.is_err() {
        tracing::warn!("requests still open after 10 s; stopping anyway");
    }
    svc.shutdown().await.map_err(|e| ServeError::Engine(e.message))?;
    if let Some(d) = delivery {
        d.shutdown().await;
    }
    tracing::info!("stopped after a final checkpoint");
    Ok(())
}

/// SIGTERM or ctrl-c.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
