//! `cepheus run --rules FILE --events FILE|-`: the bounded batch mode.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cepheus_dsl::diagnostic::render_with;
use cepheus_dsl::Catalog;
use cepheus_runtime::batch::{run_batch, BatchOptions};

use super::{read, CliError};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Rule file (`.cep`), with the streams its rules read.
    #[arg(long)]
    rules: PathBuf,
    /// Events, one JSON object per line; `-` reads standard input.
    #[arg(long)]
    events: String,
    /// The stream the events belong to (when the rules read several).
    #[arg(long)]
    stream: Option<String>,
    /// `detected_at` of the alerts (RFC 3339); default: now. Fix it to make
    /// runs byte-for-byte reproducible.
    #[arg(long)]
    now: Option<String>,
}

pub fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let src = read(&args.rules)?;
    let name = args.rules.display().to_string();
    let compiled = cepheus_dsl::compile(&src, &Catalog::new());
    if compiled.has_errors() {
        eprint!("{}", render_with(&name, &src, &compiled.diagnostics, std::io::stderr().is_terminal()));
        return Ok(ExitCode::from(1));
    }
    let now_ms = match &args.now {
        Some(s) => cepheus_runtime::time::parse_rfc3339(s)
            .ok_or_else(|| CliError::Usage(format!("--now: '{s}' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)")))?,
        None => wall_clock_ms(),
    };
    let opts = BatchOptions {
        stream: args.stream.clone(),
        now_ms,
        rule_version: 1,
    };
    let input: Box<dyn BufRead> = if args.events == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(&args.events).map_err(|source| CliError::Read {
            path: args.events.clone(),
            source,
        })?;
        Box::new(BufReader::new(f))
    };
    let out = run_batch(&compiled.plans, input, &opts)?;
    let mut stdout = std::io::stdout().lock();
    for a in &out.alerts {
        let line = serde_json::to_string(a).map_err(std::io::Error::other)?;
        writeln!(stdout, "{line}")?;
    }
    for m in &out.malformed {
        eprintln!("{}:{}: skipped malformed event: {}", args.events, m.line, m.error);
    }
    eprintln!(
        "{} event(s), {} alert(s), {} malformed, {} late",
        out.events,
        out.alerts.len(),
        out.malformed.len(),
        out.late_events
    );
    Ok(ExitCode::SUCCESS)
}

/// The CLI, not the operators, reads the clock: it stamps `detected_at`.
fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
