//! `cepheus rules check | fmt | explain`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cepheus_dsl::diagnostic::{render_with, JsonDiagnostic};
use cepheus_dsl::Catalog;

use super::{read, CliError, Format};

pub fn check(files: &[PathBuf], format: Format, sinks: Option<Vec<String>>) -> Result<ExitCode, CliError> {
    if files.is_empty() {
        return Err(CliError::Usage("give at least one rule file".into()));
    }
    let mut catalog = Catalog::new();
    if let Some(s) = sinks {
        catalog = catalog.with_sinks(s);
    }
    let color = std::io::stderr().is_terminal() && format == Format::Text;
    let mut failed = false;
    let mut json: Vec<JsonDiagnostic> = Vec::new();
    let mut rules = 0usize;
    for path in files {
        let src = read(path)?;
        let name = path.display().to_string();
        let compiled = cepheus_dsl::compile(&src, &catalog);
        failed |= compiled.has_errors();
        rules += compiled.plans.len();
        match format {
            Format::Text => eprint!("{}", render_with(&name, &src, &compiled.diagnostics, color)),
            Format::Json => json.extend(compiled.diagnostics.iter().map(|d| d.to_json(&name, &src))),
        }
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&json).unwrap_or_else(|_| "[]".into())),
        Format::Text if !failed => eprintln!("ok: {rules} rule(s) in {} file(s)", files.len()),
        Format::Text => {}
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub fn fmt(files: &[PathBuf], check_only: bool) -> Result<ExitCode, CliError> {
    if files.is_empty() {
        return Err(CliError::Usage("give at least one rule file".into()));
    }
    let mut failed = false;
    for path in files {
        let src = read(path)?;
        let name = path.display().to_string();
        let (file, diagnostics) = cepheus_dsl::parse(&src);
        if diagnostics.iter().any(|d| d.is_error()) {
            eprint!("{}", render_with(&name, &src, &diagnostics, std::io::stderr().is_terminal()));
            eprintln!("{name}: not formatted: fix the syntax errors first");
            failed = true;
            continue;
        }
        let formatted = cepheus_dsl::format(&file);
        if formatted == src {
            continue;
        }
        if check_only {
            eprintln!("{name}: not formatted (run `cepheus rules fmt {name}`)");
            failed = true;
        } else {
            std::fs::write(path, formatted).map_err(|source| CliError::Write {
                path: name.clone(),
                source,
            })?;
            eprintln!("formatted {name}");
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub fn explain(path: &std::path::Path, rule: Option<&str>) -> Result<ExitCode, CliError> {
    let src = read(path)?;
    let name = path.display().to_string();
    let compiled = cepheus_dsl::compile(&src, &Catalog::new());
    if compiled.has_errors() {
        eprint!("{}", render_with(&name, &src, &compiled.diagnostics, std::io::stderr().is_terminal()));
        return Ok(ExitCode::from(1));
    }
    let plans: Vec<_> = compiled
        .plans
        .iter()
        .filter(|p| rule.is_none_or(|r| p.name == r))
        .collect();
    if plans.is_empty() {
        return Err(CliError::Usage(format!(
            "{name}: no rule named '{}'",
            rule.unwrap_or_default()
        )));
    }
    let mut out = std::io::stdout().lock();
    for p in plans {
        let text = serde_json::to_string_pretty(p).map_err(std::io::Error::other)?;
        writeln!(out, "{text}")?;
    }
    Ok(ExitCode::SUCCESS)
}
