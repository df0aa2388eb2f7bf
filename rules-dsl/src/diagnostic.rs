//! Diagnostics: what is wrong, where, and how to fix it.
//!
//! One value type for parser and checker alike. It renders in the rustc style
//! through `codespan-reporting` (file, line, column, source line, caret) and
//! serialises to JSON with spans and line/column positions for editors and the
//! REST API.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use serde::{Deserialize, Serialize};

use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// A span with a short note under its caret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub level: Level,
    /// Stable identifier such as `unknown-field`, for docs and tests.
    pub code: &'static str,
    pub message: String,
    /// Where the problem is.
    pub primary: Label,
    /// Related places (the other side of a type mismatch, a first definition).
    pub secondary: Vec<Label>,
    /// How to fix it, when we know (`did you mean 'amount'?`).
    pub help: Option<String>,
    /// Extra facts (`expected one of: ...`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            level: Level::Error,
            code,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            level: Level::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// The note under the primary caret.
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }

    fn to_codespan(&self) -> cs::Diagnostic<()> {
        let severity = match self.level {
            Level::Error => cs::Severity::Error,
            Level::Warning => cs::Severity::Warning,
        };
        let mut labels =
            vec![cs::Label::primary((), self.primary.span.range()).with_message(&self.primary.message)];
        labels.extend(
            self.secondary
                .iter()
                .map(|l| cs::Label::secondary((), l.span.range()).with_message(&l.message)),
        );
        let mut notes = self.notes.clone();
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        cs::Diagnostic::new(severity)
            .with_code(self.code)
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// Renders diagnostics as plain text in the rustc style (no colours), the form
/// checked in by the golden tests and printed by `cepheus rules check`.
pub fn render(file_name: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    render_with(file_name, source, diagnostics, false)
}

/// Like [`render`], with ANSI colours when `color` is set (for terminals).
pub fn render_with(file_name: &str, source: &str, diagnostics: &[Diagnostic], color: bool) -> String {
    let file = SimpleFile::new(file_name, source);
    let config = term::Config::default();
    let mut buffer = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    for d in diagnostics {
        // Writing into memory cannot fail for I/O reasons; a span outside the
        // source would be our bug, so say so rather than panic.
        if term::emit(&mut buffer, &config, &file, &d.to_codespan()).is_err() {
            buffer_write_fallback(&mut buffer, d);
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

fn buffer_write_fallback(buffer: &mut termcolor::Buffer, d: &Diagnostic) {
    use std::io::Write;
    let _ = writeln!(
        buffer,
        "{}[{}]: {} (at bytes {}..{})",
        match d.level {
            Level::Error => "error",
            Level::Warning => "warning",
        },
        d.code,
        d.message,
        d.primary.span.start,
        d.primary.span.end
    );
}

/// A 1-based line and column (in characters) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

pub fn line_col(source: &str, offset: usize) -> LineCol {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    LineCol { line, column }
}

/// The machine-readable form (`cepheus rules check --format json`, REST 400s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub level: Level,
    pub code: String,
    pub message: String,
    pub span: Span,
    pub start: LineCol,
    pub end: LineCol,
    pub label: String,
    pub secondary: Vec<JsonLabel>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// The rendered text, as `rules check` prints it.
    pub rendered: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonLabel {
    pub span: Span,
    pub start: LineCol,
    pub end: LineCol,
    pub message: String,
}

impl Diagnostic {
    pub fn to_json(&self, file_name: &str, source: &str) -> JsonDiagnostic {
        JsonDiagnostic {
            file: file_name.to_string(),
            level: self.level,
            code: self.code.to_string(),
            message: self.message.clone(),
            span: self.primary.span,
            start: line_col(source, self.primary.span.start),
            end: line_col(source, self.primary.span.end),
            label: self.primary.message.clone(),
            secondary: self
                .secondary
                .iter()
                .map(|l| JsonLabel {
                    span: l.span,
                    start: line_col(source, l.span.start),
                    end: line_col(source, l.span.end),
                    message: l.message.clone(),
                })
                .collect(),
            help: self.help.clone(),
            notes: self.notes.clone(),
            rendered: render(file_name, source, std::slice::from_ref(self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let src = "ab\ncd";
        assert_eq!(line_col(src, 0), LineCol { line: 1, column: 1 });
        assert_eq!(line_col(src, 4), LineCol { line: 2, column: 2 });
    }

    #[test]
    fn renders_caret_under_span() {
        let src = "rule r { from transactoins }";
        let d = Diagnostic::error("unknown-stream", "unknown stream 'transactoins'", Span::new(14, 26))
            .with_label("not declared")
            .with_help("did you mean 'transactions'?");
        let text = render("r.cep", src, &[d]);
        assert!(text.contains("r.cep:1:15"), "{text}");
        assert!(text.contains("^^^^^^^^^^^^"), "{text}");
        assert!(text.contains("did you mean 'transactions'?"), "{text}");
    }
}
