//! `emit`, `message`, `notify`, `labels`, `suppress`.

use std::collections::{BTreeMap, HashMap};

use crate::ast::{EmitItem, ExprKind, Ident, Label, PathStep, StringLit};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::plan::{self, OutputField, OutputPlan, Template, TemplatePart};
use crate::span::Span;
use crate::suggest;

use super::expr::ExprChecker;

/// Checks `emit items` (`None`: the partition fields) and `message`.
pub(crate) fn output(
    items: Option<&[EmitItem]>,
    message: Option<&StringLit>,
    ec: &mut ExprChecker<'_, '_>,
    source: &str,
) -> OutputPlan {
    let mut fields: Vec<OutputField> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    match items {
        None => {
            for (i, k) in ec.scope.keys.iter().enumerate() {
                let ty = ec
                    .scope
                    .stream
                    .and_then(|s| s.fields.get(k.slot as usize))
                    .map_or(
                        crate::types::Type::nullable(crate::types::BaseType::Json),
                        |f| f.ty,
                    );
                fields.push(OutputField {
                    name: k.name.clone(),
                    expr: plan::Expr::Key(i as u32),
                    ty,
                });
                spans.push(Span::default());
            }
        }
        Some(items) => {
            for item in items {
                let t = ec.check(&item.expr);
                let (name, name_span) = match (&item.alias, derived_name(item)) {
                    (Some(a), _) => (a.name.clone(), a.span),
                    (None, Some(id)) => (id.name.clone(), item.expr.span),
                    (None, None) => {
                        let text = source.get(item.expr.span.range()).unwrap_or("expr");
                        let suggested = suggested_name(item);
                        ec.diags.push(
                            Diagnostic::error(
                                "emit-needs-name",
                                "this emitted value needs a name",
                                item.expr.span,
                            )
                            .with_label("no name")
                            .with_help(format!("add `as <name>`, e.g. `{text} as {suggested}`")),
                        );
                        continue;
                    }
                };
                if let Some(i) = fields.iter().position(|f| f.name == name) {
                    ec.diags.push(
                        Diagnostic::error(
                            "duplicate-output",
                            format!("the alert would have two fields named '{name}'"),
                            name_span,
                        )
                        .with_label("second")
                        .with_secondary(spans[i], "first")
                        .with_help("rename one with `as <name>`"),
                    );
                    continue;
                }
                fields.push(OutputField {
                    name,
                    expr: t.expr,
                    ty: t.ty.to_type(),
                });
                spans.push(name_span);
            }
        }
    }
    let message = message.and_then(|m| template(m, &fields, source, ec.diags));
    OutputPlan { fields, message }
}

/// The name an emitted path gets: its last member (`big.amount` -> `amount`).
fn derived_name(item: &EmitItem) -> Option<&Ident> {
    let ExprKind::Path(p) = &item.expr.kind else {
        return None;
    };
    p.steps
        .iter()
        .rev()
        .find_map(|s| match s {
            PathStep::Member(id) => Some(id),
            PathStep::Index(_) => None,
        })
        .or(Some(&p.head))
}

/// A name for a call or an expression: `count(small)` -> `count_small`.
fn suggested_name(item: &EmitItem) -> String {
    match &item.expr.kind {
        ExprKind::Call { func, args } => {
            let mut name = func.name.clone();
            if let Some(ExprKind::Path(p)) = args.first().map(|a| &a.kind) {
                name.push('_');
                name.push_str(&p.head.name);
                for s in &p.steps {
                    if let PathStep::Member(m) = s {
                        name.push('_');
                        name.push_str(&m.name);
                    }
                }
            }
            name
        }
        _ => "value".to_string(),
    }
}

/// Parses `"Card {card_id}: {{literal}}"` into parts.
pub(crate) fn template(
    lit: &StringLit,
    fields: &[OutputField],
    source: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Template> {
    // Where the value's characters stand in the source, when the literal has
    // no escapes (then offsets map one to one).
    let raw = source
        .get(lit.span.start.saturating_add(1)..lit.span.end.saturating_sub(1))
        .filter(|raw| *raw == lit.value);
    let at = |start: usize, end: usize| -> Span {
        match raw {
            Some(_) => Span::new(lit.span.start + 1 + start, lit.span.start + 1 + end),
            None => lit.span,
        }
    };
    let value = &lit.value;
    let mut parts: Vec<TemplatePart> = Vec::new();
    let mut text = String::new();
    let mut ok = true;
    let mut i = 0;
    let bytes = value.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                text.push('{');
                i += 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                text.push('}');
                i += 2;
            }
            b'{' => {
                let Some(len) = value[i + 1..].find(['}', '{']).filter(|&l| bytes[i + 1 + l] == b'}') else {
                    ok = false;
                    diags.push(
                        Diagnostic::error("bad-message", "unclosed `{` in message", at(i, i + 1))
                            .with_label("opened here")
                            .with_help("close the placeholder (`{card_id}`), or write `{{` for a literal brace"),
                    );
                    break;
                };
                let name = value[i + 1..i + 1 + len].trim();
                let span = at(i, i + len + 2);
                match fields.iter().position(|f| f.name == name) {
                    Some(idx) => {
                        if !text.is_empty() {
                            parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                        }
                        parts.push(TemplatePart::Field(idx as u32));
                    }
                    None => {
                        ok = false;
                        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                        let mut d = Diagnostic::error(
                            "unknown-placeholder",
                            if name.is_empty() {
                                "empty placeholder `{}` in message".to_string()
                            } else {
                                format!("message placeholder '{name}' is not an emitted field")
                            },
                            span,
                        )
                        .with_label("not in `emit`");
                        d = match suggest::did_you_mean(name, names.iter().copied()) {
                            Some(h) => d.with_help(h),
                            None if names.is_empty() => d.with_help(
                                "the alert has no fields: add them with `emit`, e.g. `emit card_id, big.amount as amount`",
                            ),
                            None => d.with_help(format!(
                                "emit it (`emit ..., <value> as {name}`) or use a field of `emit`: {}; write `{{{{` for a literal brace",
                                names.join(", ")
                            )),
                        };
                        diags.push(d);
                    }
                }
                i += len + 2;
            }
            b'}' => {
                ok = false;
                diags.push(
                    Diagnostic::error("bad-message", "unmatched `}` in message", at(i, i + 1))
                        .with_label("no `{` before it")
                        .with_help("write `}}` for a literal brace"),
                );
                i += 1;
            }
            _ => {
                // Copy one whole UTF-8 character.
                let ch_len = value[i..].chars().next().map_or(1, char::len_utf8);
                text.push_str(&value[i..i + ch_len]);
                i += ch_len;
            }
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    ok.then_some(Template { parts })
}

/// `notify`: names checked against the catalog's sinks when it knows them.
pub(crate) fn notify(names: &[Ident], catalog: &Catalog, diags: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut first: HashMap<&str, Span> = HashMap::new();
    for id in names {
        if let Some(&span) = first.get(id.name.as_str()) {
            diags.push(
                Diagnostic::warning(
                    "duplicate-sink",
                    format!("sink '{}' is named twice in `notify`", id.name),
                    id.span,
                )
                .with_label("repeated")
                .with_secondary(span, "first here")
                .with_help("each alert goes to a sink once; remove the repeat"),
            );
            continue;
        }
        first.insert(&id.name, id.span);
        if let Some(sinks) = &catalog.sinks {
            if !sinks.contains(&id.name) {
                let mut d = Diagnostic::error(
                    "unknown-sink",
                    format!("unknown sink '{}'", id.name),
                    id.span,
                )
                .with_label("not configured on this server");
                d = match suggest::did_you_mean(&id.name, sinks.iter().map(String::as_str)) {
                    Some(h) => d.with_help(h),
                    None => {
                        let all: Vec<&str> = sinks.iter().map(String::as_str).collect();
                        d.with_note(format!("sinks: {}", all.join(", ")))
                    }
                };
                diags.push(d);
                continue;
            }
        }
        out.push(id.name.clone());
    }
    out
}

pub(crate) fn labels(labels: &[Label], diags: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut first: HashMap<&str, Span> = HashMap::new();
    for l in labels {
        if let Some(&span) = first.get(l.name.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-label",
                    format!("label '{}' is given twice", l.name.name),
                    l.name.span,
                )
                .with_label("again here")
                .with_secondary(span, "first here")
                .with_help("keep one value per label"),
            );
            continue;
        }
        first.insert(&l.name.name, l.name.span);
        out.insert(l.name.name.clone(), l.value.value.clone());
    }
    out
}
