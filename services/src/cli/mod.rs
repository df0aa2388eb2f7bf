//! Command-line interface: `cepheus rules check|fmt|explain|push|list|test`,
//! `cepheus run`, `cepheus serve`, `cepheus alerts tail`.

mod rules;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use thiserror::Error;

#[derive(Debug, Parser)]
#[command(name = "cepheus", version, about = "Complex event processing and real-time rules")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with rule files: check, format, explain.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run rules over a file of events (NDJSON) and print the alerts, one
    /// JSON object per line. The run ends with a final watermark at +infinity.
    Run(run::RunArgs),
    /// Run the service: REST and gRPC APIs over the engine.
    Serve {
        /// TOML config (embedded defaults < this file < CEPHEUS__* env).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Restore from this savepoint instead of the newest checkpoints.
        #[arg(long)]
        from_savepoint: Option<String>,
    },
    /// Work with the alerts of a running server.
    #[command(subcommand)]
    Alerts(AlertsCommand),
}

/// Where a running server is (for the commands that talk to one).
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server's REST address.
    #[arg(long, env = "CEPHEUS_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A bearer token from the server's config.
    #[arg(long, env = "CEPHEUS_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl ServerArgs {
    fn target(&self) -> cepheus::client::Target {
        cepheus::client::Target {
            server: self.server.clone(),
            token: self.token.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Print live alerts, one JSON line each, until interrupted.
    Tail {
        #[command(flatten)]
        server: ServerArgs,
        /// Only this rule's alerts.
        #[arg(long)]
        rule: Option<String>,
        /// Only these severities (comma list).
        #[arg(long)]
        severity: Option<String>,
        /// Stop after this many alerts.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Check rule files: exit 0 when every rule is valid, 1 with diagnostics.
    Check {
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Sink names rules may `notify` (unchecked when not given).
        #[arg(long, value_delimiter = ',')]
        sinks: Option<Vec<String>>,
    },
    /// Format rule files in place (canonical layout).
    Fmt {
        files: Vec<PathBuf>,
        /// Change nothing; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Print the plan each rule compiles to (JSON).
    Explain {
        file: PathBuf,
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
    },
    /// Store every rule of the files on a running server (new rules or new
    /// versions); they run within a second.
    Push {
        files: Vec<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
        /// Store them disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List the rules stored on a running server.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Backtest a rule on a running server over a file of events (NDJSON):
    /// prints the alerts it would have given; nothing is notified.
    Test {
        file: PathBuf,
        #[arg(long)]
        events: PathBuf,
        /// The rule, when the file holds several.
        #[arg(long)]
        rule: Option<String>,
        /// `detected_at` of the alerts (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Batch(#[from] cepheus_runtime::batch::BatchError),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Client(#[from] cepheus::client::ClientError),
    #[error(transparent)]
    Config(#[from] cepheus::config::ConfigError),
    #[error(transparent)]
    Serve(#[from] cepheus::serve::ServeError),
}

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Rules(RulesCommand::Check { files, format, sinks }) => rules::check(&files, format, sinks),
        Command::Rules(RulesCommand::Fmt { files, check }) => rules::fmt(&files, check),
        Command::Rules(RulesCommand::Explain { file, rule }) => rules::explain(&file, rule.as_deref()),
        Command::Run(args) => run::run(args),
        Command::Rules(RulesCommand::Push { files, server, disabled }) => {
            Ok(exit(cepheus::client::push(&server.target(), &files, disabled)?))
        }
        Command::Rules(RulesCommand::List { server }) => {
            cepheus::client::list(&server.target())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Test { file, events, rule, now, server }) => Ok(exit(cepheus::client::test(
            &server.target(),
            &file,
            rule.as_deref(),
            &events,
            now.as_deref(),
        )?)),
        Command::Serve { config, from_savepoint } => serve(config, from_savepoint),
        Command::Alerts(AlertsCommand::Tail { server, rule, severity, limit }) => {
            cepheus::client::tail(&server.target(), rule.as_deref(), severity.as_deref(), limit)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(config: Option<PathBuf>, from_savepoint: Option<String>) -> Result<ExitCode, CliError> {
    let config = cepheus::config::Config::load(config.as_deref())?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let opts = cepheus::serve::ServeOptions { from_savepoint };
    rt.block_on(cepheus::serve::run(config, opts, cepheus::serve::signal()))?;
    Ok(ExitCode::SUCCESS)
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}


pub(crate) fn read(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}
