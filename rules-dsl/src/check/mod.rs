//! Checker: AST -> plans.
//!
//! [`check_file`] resolves every name of a file against its own `stream`
//! blocks and the catalog, checks types and FlinkCEP's pattern rules, and
//! builds a [`crate::plan::RulePlan`] for every rule without errors. It
//! reports every problem of the file, not only the first: a rule with errors
//! gives no plan, the other rules still do.
//!
//! - `streams`: `stream` blocks -> schemas;
//! - `scope`: what names mean where (fields, pattern variables, keys);
//! - `ty`, `funcs`, `expr`: expressions, their types and lowering;
//! - `pattern`: FlinkCEP's pattern rules and the pattern plan;
//! - `window`: windows and aggregates;
//! - `output`: `emit`, `message`, `notify`, `labels`;
//! - `rule`: one rule, from `from` to its plan.

mod expr;
mod funcs;
mod output;
mod pattern;
mod rule;
mod scope;
mod streams;
mod ty;
mod window;

use std::collections::HashMap;

use crate::ast::{File, Item};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::{Catalog, Checked};

pub fn check_file(file: &File, source: &str, catalog: &Catalog) -> Checked {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let streams = streams::check_streams(file, catalog, &mut diags);
    let mut plans = Vec::new();
    let mut first: HashMap<&str, Span> = HashMap::new();
    for item in &file.items {
        let Item::Rule(r) = item else { continue };
        let duplicate = first.get(r.name.name.as_str()).copied();
        if let Some(earlier) = duplicate {
            diags.push(
                Diagnostic::error(
                    "duplicate-rule",
                    format!("rule '{}' is declared twice", r.name.name),
                    r.name.span,
                )
                .with_label("declared again here")
                .with_secondary(earlier, "first declared here")
                .with_help("rule names identify rules (alerts, versions, metrics): rename one"),
            );
        } else {
            first.insert(&r.name.name, r.name.span);
        }
        let plan = rule::check_rule(r, source, &streams, catalog, &mut diags);
        if let (Some(plan), None) = (plan, duplicate) {
            plans.push(plan);
        }
    }
    diags.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    Checked {
        plans,
        streams: streams.into_clean(),
        diagnostics: diags,
    }
}

#[cfg(test)]
mod tests;
