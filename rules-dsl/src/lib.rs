//! The Cepheus rule language (see `README.md` for the language reference).
//!
//! Source text goes through three steps, each usable alone:
//! [`parse`] (text -> [`ast::File`] with spans), [`check`] (names and types
//! resolved against a [`Catalog`] -> [`plan::RulePlan`]s), and [`format`]
//! (AST -> canonical text). [`compile`] runs the first two. Every step reports
//! all the problems it finds as [`Diagnostic`]s, never only the first.

pub mod ast;
pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod fmt;
pub mod parser;
pub mod plan;
pub mod span;
pub mod suggest;
pub mod types;

pub use catalog::Catalog;
pub use diagnostic::{Diagnostic, Level};
pub use plan::RulePlan;

/// Parses a whole file. Always returns a tree: clauses or rules that failed to
/// parse are left out and described in the diagnostics.
pub fn parse(source: &str) -> (ast::File, Vec<Diagnostic>) {
    parser::parse_file(source)
}

/// Checks a parsed file against the catalog (plus the streams the file itself
/// declares) and builds a plan for every rule that has no errors.
pub fn check(file: &ast::File, source: &str, catalog: &Catalog) -> Checked {
    check::check_file(file, source, catalog)
}

/// Prints a file in canonical form; the output parses back to an equal tree.
pub fn format(file: &ast::File) -> String {
    fmt::format_file(file)
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// One plan per rule that checked clean, in file order.
    pub plans: Vec<RulePlan>,
    /// The streams declared in the file, resolved.
    pub streams: Vec<plan::StreamSchema>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The outcome of [`compile`]: the tree, the plans, and every diagnostic of
/// both steps, in source order.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub file: ast::File,
    pub plans: Vec<RulePlan>,
    pub streams: Vec<plan::StreamSchema>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks. Rules are checked even when other parts of the file
/// failed to parse, so one run reports every problem.
pub fn compile(source: &str, catalog: &Catalog) -> Compiled {
    let (file, mut diagnostics) = parse(source);
    let mut checked = check(&file, source, catalog);
    // A clause that failed to parse is missing from its rule's tree: such a
    // rule must not run as if the clause were not there.
    let broken: Vec<&str> = file
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Rule(r) => Some(r),
            ast::Item::Stream(_) => None,
        })
        .filter(|r| {
            diagnostics.iter().any(|d| {
                d.is_error() && d.primary.span.start >= r.span.start && d.primary.span.start < r.span.end.max(r.span.start + 1)
            })
        })
        .map(|r| r.name.name.as_str())
        .collect();
    checked.plans.retain(|p| !broken.contains(&p.name.as_str()));
    diagnostics.extend(checked.diagnostics);
    diagnostics.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    Compiled {
        file,
        plans: checked.plans,
        streams: checked.streams,
        diagnostics,
    }
}
