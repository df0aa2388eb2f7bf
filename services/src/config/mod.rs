//! `cepheus serve --config FILE`: embedded defaults < TOML file < `CEPHEUS__*`
//! environment (`CEPHEUS__SERVER__LISTEN=0.0.0.0:8080`). Unknown keys are
//! rejected everywhere, with the key and the file named. Relative paths in the
//! file are relative to the file's folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::auth::Role;

const DEFAULTS: &str = include_str!("defaults.toml");

/// Partitions of an embedded stream that does not say.
pub const DEFAULT_PARTITIONS: u32 = 4;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Rule files loaded at start (each rule becomes a stored, enabled rule
    /// unless the store already has that exact text).
    pub rules: Vec<PathBuf>,
    pub server: ServerConfig,
    pub engine: EngineSection,
    /// The stream catalog: one entry per stream the instance serves.
    pub streams: Vec<StreamConfig>,
    /// Present: streams read Kafka topics. Absent: the embedded log.
    pub kafka: Option<KafkaSection>,
    /// Sinks and the durable outbox (cepheus-alerts). Absent: alerts go to
    /// the log (and to the API's recent list and live streams).
    pub delivery: Option<cepheus_alerts::DeliveryConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// REST address (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// gRPC address; absent disables gRPC.
    pub grpc_listen: Option<SocketAddr>,
    /// Largest accepted request body; larger ones get 413.
    pub body_limit_bytes: usize,
    /// How many recent alerts `GET /alerts` keeps.
    pub recent_alerts: usize,
    /// Bearer tokens. None configured: authentication is off (every caller is
    /// admin) and the service says so in its log at start.
    pub tokens: Vec<TokenConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (logged, never the token).
    pub name: String,
    pub token: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    pub instance_id: String,
    /// Local state (RocksDB, the rule store, the delivery outbox).
    pub state_dir: PathBuf,
    /// Checkpoint store; default `<state_dir>/checkpoints`.
    pub checkpoint_dir: Option<PathBuf>,
    /// 0: checkpoints only on request.
    pub checkpoint_interval_ms: u64,
    pub checkpoints_retained: usize,
    /// Worker threads; 0: the number of cores.
    pub workers: usize,
    pub state_backend: StateBackend,
    pub idle_partition_timeout_ms: u64,
    /// Per-rule limits: past them the rule is throttled and flagged.
    pub max_partial_matches_per_key: Option<usize>,
    pub max_open_windows_per_key: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    Memory,
    Rocksdb,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    pub name: String,
    /// The stream's schema as a rule-language declaration
    /// (`stream transactions (...) key card_id time ts;`). Without it (and
    /// without `schema_file`) rules must declare the stream themselves.
    pub schema: Option<String>,
    /// The same, read from a `.cep` file.
    pub schema_file: Option<PathBuf>,
    /// Embedded log: number of partitions (default 4).
    pub partitions: Option<u32>,
    /// Kafka: the topic (default `<prefix>.<name>`); needs `[kafka]`.
    pub topic: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    pub brokers: String,
    /// Compacted topic of rule changes (default `<prefix>.rules`).
    pub rules_topic: Option<String>,
    pub topic_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0}: no such file (give an existing TOML file to --config)")]
    Missing(PathBuf),
    #[error("config: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the layers; `file` may be `None` (defaults and env only).
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(file, Env::prefixed("CEPHEUS__").split("__"))
    }

    fn load_with_env(file: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            fig = fig.merge(Toml::file(path));
        }
        fig = fig.merge(env);
        let mut config: Config = fig.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
        let base = file
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        config.resolve_paths(&base);
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        self.rules.iter_mut().for_each(fix);
        fix(&mut self.engine.state_dir);
        if let Some(c) = self.engine.checkpoint_dir.as_mut() {
            fix(c);
        }
        for s in &mut self.streams {
            if let Some(f) = s.schema_file.as_mut() {
                fix(f);
            }
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let mut names = std::collections::BTreeSet::new();
        for s in &self.streams {
            if !names.insert(s.name.as_str()) {
                return bad(format!("streams: '{}' is listed twice; keep one [[streams]] entry per name", s.name));
            }
            if s.schema.is_some() && s.schema_file.is_some() {
                return bad(format!("streams.{}: give `schema` or `schema_file`, not both", s.name));
            }
            if s.topic.is_some() && self.kafka.is_none() {
                return bad(format!("streams.{}: `topic` needs a [kafka] section (or remove it to use the embedded log)", s.name));
            }
            if s.partitions == Some(0) {
                return bad(format!("streams.{}: partitions must be at least 1", s.name));
            }
        }
        if self.engine.checkpoints_retained < 2 {
            return bad("engine.checkpoints_retained: keep at least 2 checkpoints".into());
        }
        let mut tokens = std::collections::BTreeSet::new();
        for t in &self.server.tokens {
            if t.token.len() < 8 {
                return bad(format!("server.tokens ({}): a token needs at least 8 characters", t.name));
            }
            if !tokens.insert(t.token.as_str()) {
                return bad(format!("server.tokens ({}): the same token is given twice", t.name));
            }
        }
        Ok(())
    }

    pub fn checkpoint_dir(&self) -> PathBuf {
        self.engine
            .checkpoint_dir
            .clone()
            .unwrap_or_else(|| self.engine.state_dir.join("checkpoints"))
    }
}

/// figment's message names the key and the file; keep all of it, one line each.
fn describe(e: figment::Error) -> String {
    e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // Env reads the process environment; these tests use a prefix no
        // one else sets, so parallel tests do not see each other.
        for (k, v) in &owned {
            std::env::set_var(k, v);
        }
        let prefix = owned.first().map(|(k, _)| k.split("__").next().unwrap_or("X").to_string() + "__");
        Env::prefixed(&prefix.unwrap_or_else(|| "CEPHEUS_TEST_NONE__".into())).split("__")
    }

    #[test]
    fn defaults_alone_load() {
        let c = Config::load_with_env(None, env(&[])).expect("defaults are valid");
        assert_eq!(c.server.listen.port(), 8080);
        assert_eq!(c.engine.state_backend, StateBackend::Rocksdb);
        assert!(c.kafka.is_none());
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[server]\nlisten = \"127.0.0.1:9000\"\nbody_limit_bytes = 5\n").expect("write");
        let c = Config::load_with_env(Some(&f), env(&[("CEPHEUS_T1__SERVER__BODY_LIMIT_BYTES", "7")])).expect("loads");
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.server.body_limit_bytes, 7);
        assert_eq!(c.engine.state_dir, dir.path().join("cepheus-state"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_key_and_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[server]\nlisten_addr = \"127.0.0.1:9000\"\n").expect("write");
        let e = Config::load_with_env(Some(&f), env(&[])).expect_err("unknown key").to_string();
        assert!(e.contains("listen_addr"), "{e}");
        assert!(e.contains("c.toml"), "{e}");
    }

    #[test]
    fn unknown_env_keys_are_rejected() {
        let e = Config::load_with_env(None, env(&[("CEPHEUS_T2__ENGINE__NOPE", "1")])).expect_err("unknown").to_string();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = Config::load_with_env(Some(Path::new("/nonexistent/c.toml")), env(&[])).expect_err("missing");
        assert!(e.to_string().contains("no such file"));
    }

    #[test]
    fn delivery_section_is_the_alerts_crate_config() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[delivery]\ndefault_sinks = []\n").expect("write");
        let c = Config::load_with_env(Some(&f), env(&[])).expect("loads");
        assert!(c.delivery.is_some_and(|d| d.default_sinks.is_empty()));
        std::fs::write(&f, "[delivery]\nnope = 1\n").expect("write");
        assert!(Config::load_with_env(Some(&f), env(&[])).expect_err("unknown").to_string().contains("nope"));
    }

    #[test]
    fn topic_without_kafka_is_rejected() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[[streams]]\nname = \"s\"\ntopic = \"t\"\n").expect("write");
        let e = Config::load_with_env(Some(&f), env(&[])).expect_err("needs kafka").to_string();
        assert!(e.contains("[kafka]"), "{e}");
    }
}
