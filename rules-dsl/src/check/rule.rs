//! One `rule` block -> one [`RulePlan`] (when it has no errors).

use crate::ast::{ExprKind, RuleDecl, Severity};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::plan::{Aggregate, KeyField, RuleBody, RulePlan};
use crate::span::Span;
use crate::suggest;

use super::expr::ExprChecker;
use super::output;
use super::pattern;
use super::scope::{resolve_field, Ctx, Scope, VarInfo};
use super::streams::{error_count, Streams};
use super::window;

pub(crate) fn check_rule(
    rule: &RuleDecl,
    source: &str,
    streams: &Streams<'_>,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Option<RulePlan> {
    let errors_before = error_count(diags);
    let name = &rule.name.name;

    let (stream, broken) = match &rule.from {
        // Written, but the parser could not read it (and said so).
        None if clause_written(source, rule, &["from"]) => (None, false),
        None => {
            let names = streams.names();
            let mut d = Diagnostic::error(
                "missing-from",
                format!("rule '{name}' does not say which stream it reads"),
                rule.name.span,
            )
            .with_label("no `from`");
            d = if names.is_empty() {
                d.with_help("add `from <stream>`, and declare the stream (`stream name (...)`) if the server does not have it")
            } else {
                d.with_help(format!("add `from <stream>`; streams: {}", names.join(", ")))
            };
            diags.push(d);
            (None, false)
        }
        Some(id) => match streams.get(&id.name) {
            Some((s, broken)) => (Some(s), broken),
            None => {
                let names = streams.names();
                let mut d = Diagnostic::error(
                    "unknown-stream",
                    format!("unknown stream '{}'", id.name),
                    id.span,
                )
                .with_label("not declared in this file or the server's catalog");
                d = match suggest::did_you_mean(&id.name, names.iter().copied()) {
                    Some(h) => d.with_help(h),
                    None if names.is_empty() => d.with_help(
                        "declare it in the file: `stream name (field type, ...) time ts;`",
                    ),
                    None => d.with_note(format!("streams: {}", names.join(", "))),
                };
                diags.push(d);
                (None, false)
            }
        },
    };

    let body_kind = match (&rule.pattern, &rule.window) {
        (Some(p), Some(w)) => {
            diags.push(
                Diagnostic::error(
                    "pattern-and-window",
                    format!("rule '{name}' has both `pattern` and `window`"),
                    w.span,
                )
                .with_label("window")
                .with_secondary(p.span, "pattern")
                .with_help("a rule is either a pattern rule or a window rule: split it into two rules"),
            );
            None
        }
        (Some(p), None) => Some(Ok(p)),
        (None, Some(w)) => Some(Err(w)),
        (None, None) if clause_written(source, rule, &["pattern", "window"]) => None,
        (None, None) => {
            diags.push(
                Diagnostic::error(
                    "missing-body",
                    format!("rule '{name}' has neither `pattern` nor `window`"),
                    rule.name.span,
                )
                .with_label("nothing to match")
                .with_help("add `pattern a -> b` (with `define`) to match a sequence, or `window tumbling 5m` (with `having`) to aggregate"),
            );
            None
        }
    };
    match body_kind {
        Some(Ok(_)) => misplaced_in_pattern_rule(rule, diags),
        Some(Err(_)) => misplaced_in_window_rule(rule, diags),
        None => {}
    }

    let vars: Vec<VarInfo> = match body_kind {
        Some(Ok(p)) => pattern::collect_vars(p, diags),
        _ => Vec::new(),
    };
    let window_rule = matches!(body_kind, Some(Err(_)));
    let no_keys: [KeyField; 0] = [];
    let base = Scope {
        stream,
        vars: &vars,
        keys: &no_keys,
        window_rule,
    };
    let mut no_aggs: Vec<Aggregate> = Vec::new();
    let filter = rule.where_.as_ref().map(|w| {
        let mut ec = ExprChecker {
            scope: &base,
            ctx: Ctx::Where,
            diags,
            aggs: &mut no_aggs,
        };
        ec.condition(w, "`where`")
    });
    let keys = partition(rule, &base, diags);
    let scope = Scope {
        stream,
        vars: &vars,
        keys: &keys,
        window_rule,
    };

    let body = match body_kind {
        Some(Ok(p)) => {
            let (plan, out) = pattern::check_pattern_rule(rule, p, &scope, diags, source);
            Some((RuleBody::Pattern(plan), out))
        }
        Some(Err(w)) => {
            let (plan, out) = window::check_window_rule(rule, w, &scope, diags, source);
            Some((RuleBody::Window(plan), out))
        }
        None => None,
    };

    let notify = output::notify(&rule.notify, catalog, diags);
    let labels = output::labels(&rule.labels, diags);
    if let Some(s) = &rule.suppress {
        if s.millis() == 0 {
            diags.push(
                Diagnostic::error("zero-suppress", "`suppress` must be longer than 0", s.span)
                    .with_label("zero")
                    .with_help("give the quiet period per key, e.g. `suppress 30m`, or remove `suppress`"),
            );
        }
    }

    if error_count(diags) > errors_before || broken {
        return None;
    }
    let (body, output) = body?;
    let stream = stream?;
    Some(RulePlan {
        name: name.clone(),
        severity: rule.severity.as_ref().map_or(Severity::Medium, |s| s.node),
        stream: stream.clone(),
        filter,
        partition_by: keys,
        body,
        output,
        notify,
        labels,
        suppress_ms: rule.suppress.as_ref().map(|d| d.millis()),
        source: source.get(rule.span.range()).unwrap_or_default().to_string(),
    })
}

fn misplaced(diags: &mut Vec<Diagnostic>, code: &'static str, clause: &str, kind: &str, span: Span, help: &str) {
    diags.push(
        Diagnostic::error(code, format!("`{clause}` belongs to {kind} rules"), span)
            .with_label(format!("not for a {} rule", if kind == "window" { "pattern" } else { "window" }))
            .with_help(help.to_string()),
    );
}

fn misplaced_in_pattern_rule(rule: &RuleDecl, diags: &mut Vec<Diagnostic>) {
    const CODE: &str = "clause-not-for-pattern";
    if let Some(h) = &rule.having {
        misplaced(diags, CODE, "having", "window", h.span,
            "`having` tests a window's aggregates; in a pattern rule, put conditions in `define` (per variable) or `where` (per event)");
    }
    if let Some(l) = &rule.allow_lateness {
        misplaced(diags, CODE, "allow lateness", "window", l.span,
            "pattern rules wait for the stream's watermark: set `lateness` on the stream instead");
    }
}

fn misplaced_in_window_rule(rule: &RuleDecl, diags: &mut Vec<Diagnostic>) {
    const CODE: &str = "clause-not-for-window";
    if let Some(w) = &rule.within {
        misplaced(diags, CODE, "within", "pattern", w.span,
            "a window's length is its size (`window tumbling 10m`); `within` bounds a pattern match");
    }
    if let Some(d) = rule.define.first() {
        misplaced(diags, CODE, "define", "pattern", d.span,
            "`define` names pattern variables; filter events with `where` and test aggregates with `having`");
    }
    if let Some(s) = &rule.skip {
        misplaced(diags, CODE, "after match", "pattern", s.span,
            "skip strategies decide where the next pattern match may start; windows do not need one");
    }
    if let Some(t) = &rule.on_timeout {
        misplaced(diags, CODE, "on timeout", "pattern", t.span,
            "a window always fires when it ends: emit from it with `having` and `emit`");
    }
}

/// `partition by`: declared fields only.
fn partition(rule: &RuleDecl, scope: &Scope<'_>, diags: &mut Vec<Diagnostic>) -> Vec<KeyField> {
    let mut keys: Vec<KeyField> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    for e in &rule.partition_by {
        let ExprKind::Path(p) = &e.kind else {
            diags.push(
                Diagnostic::error(
                    "partition-not-field",
                    "`partition by` takes field names, not expressions",
                    e.span,
                )
                .with_label("not a field")
                .with_help("partition by declared fields (`partition by card_id, merchant`)"),
            );
            continue;
        };
        if let Some(var) = scope.var(&p.head.name) {
            diags.push(
                Diagnostic::error(
                    "variable-outside-pattern",
                    format!("pattern variable '{}' cannot be used in `partition by`", var.name),
                    p.head.span,
                )
                .with_label("a pattern variable")
                .with_help("`partition by` names fields of the stream; every event of a match has the same key"),
            );
            continue;
        }
        let Some(schema) = scope.stream else { continue };
        let Some(fr) = resolve_field(schema, &p.head, &p.steps, diags) else {
            continue;
        };
        if !fr.steps.is_empty() {
            diags.push(
                Diagnostic::error(
                    "partition-not-field",
                    format!("`partition by` takes declared fields, not paths into json field '{}'", fr.name),
                    e.span,
                )
                .with_label("inside a json field")
                .with_help("declare the nested field with its type in the stream (`device.id string`)"),
            );
            continue;
        }
        if let Some(i) = keys.iter().position(|k| k.slot == fr.slot) {
            diags.push(
                Diagnostic::error(
                    "duplicate-partition",
                    format!("'{}' appears twice in `partition by`", fr.name),
                    e.span,
                )
                .with_label("repeated")
                .with_secondary(spans[i], "first here")
                .with_help("name each field once"),
            );
            continue;
        }
        keys.push(KeyField {
            name: fr.name,
            slot: fr.slot,
        });
        spans.push(e.span);
    }
    keys
}

/// The `message` to check: none when `emit` was written but did not parse
/// (its placeholders cannot be checked against fields the parser dropped).
pub(crate) fn checked_message<'r>(source: &str, rule: &'r RuleDecl) -> Option<&'r crate::ast::StringLit> {
    if rule.emit.is_none() && clause_written(source, rule, &["emit"]) {
        return None;
    }
    rule.message.as_ref()
}

/// Whether a line of the rule starts with one of `keywords`: the clause was
/// written but did not parse, and the parser has reported it already, so a
/// "missing clause" error would only repeat it.
pub(crate) fn clause_written(source: &str, rule: &RuleDecl, keywords: &[&str]) -> bool {
    let Some(text) = source.get(rule.span.range()) else {
        return false;
    };
    text.lines().any(|line| {
        let word = line
            .trim_start()
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .next()
            .unwrap_or("");
        keywords.iter().any(|k| word.eq_ignore_ascii_case(k))
    })
}
