//! Command-line interface: `cepheus rules check|fmt|explain`, `cepheus run`.

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
}

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Rules(RulesCommand::Check { files, format, sinks }) => rules::check(&files, format, sinks),
        Command::Rules(RulesCommand::Fmt { files, check }) => rules::fmt(&files, check),
        Command::Rules(RulesCommand::Explain { file, rule }) => rules::explain(&file, rule.as_deref()),
        Command::Run(args) => run::run(args),
    }
}

pub(crate) fn read(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}
