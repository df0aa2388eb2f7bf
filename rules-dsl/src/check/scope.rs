//! What names mean where: the rule's stream, its pattern variables, its
//! partition key, and which of them an expression may use.

use crate::ast::{Ident, PathStep};
use crate::diagnostic::Diagnostic;
use crate::plan::{JsonStep, KeyField, Slot, StreamSchema, VarId};
use crate::span::Span;
use crate::suggest;
use crate::types::{BaseType, Type};

/// A pattern variable.
#[derive(Debug, Clone)]
pub(crate) struct VarInfo {
    pub name: String,
    pub id: VarId,
    /// Where it first appears in the pattern.
    pub span: Span,
    /// Can hold several events (its own loop, or a looping group around it).
    pub multi: bool,
    /// Most events it can hold; `None`: unbounded.
    pub max_events: Option<u64>,
    /// Written `!x`: it never holds events.
    pub negated: bool,
    /// Its own quantifier takes `until` (FlinkCEP's LOOPING: `+`, `*`, `{n,}`).
    pub unbounded_loop: bool,
    /// Inside a parenthesised group.
    pub in_group: bool,
}

/// Where an expression stands, which decides what its names can mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// `where`: the current event's fields only.
    Where,
    /// `define v as ...` / `until`: the current event's fields and the events
    /// of earlier variables (and of `v` itself when it loops).
    Define { var: VarId },
    /// A pattern rule's `emit` (`timeout`: of `on timeout`): the variables'
    /// events and the partition key.
    PatternOut,
    /// A window rule's `having` and `emit`: aggregates, the partition key,
    /// `window.start`, `window.end`.
    WindowOut,
    /// Inside a window aggregate's argument: the current event's fields.
    AggArg,
}

impl Ctx {
    pub fn describe(self) -> &'static str {
        match self {
            Ctx::Where => "`where`",
            Ctx::Define { .. } => "`define`",
            Ctx::PatternOut => "a pattern rule's `emit`",
            Ctx::WindowOut => "a window rule's `having` or `emit`",
            Ctx::AggArg => "an aggregate's argument",
        }
    }
}

/// The names an expression of one rule may use.
pub(crate) struct Scope<'a> {
    /// `None` when `from` is missing or unknown: fields are then not checked.
    pub stream: Option<&'a StreamSchema>,
    pub vars: &'a [VarInfo],
    pub keys: &'a [KeyField],
    /// A window rule (so `window.start` / `window.end` exist in its outputs).
    pub window_rule: bool,
}

impl<'a> Scope<'a> {
    pub fn var(&self, name: &str) -> Option<&'a VarInfo> {
        self.vars.iter().find(|v| v.name == name)
    }

    pub fn key_index(&self, slot: Slot) -> Option<u32> {
        self.keys.iter().position(|k| k.slot == slot).map(|i| i as u32)
    }
}

/// A resolved field reference.
#[derive(Debug, Clone)]
pub(crate) struct FieldRef {
    pub slot: Slot,
    pub steps: Vec<JsonStep>,
    /// The declared type, or `None` when steps go into a json field.
    pub ty: Option<Type>,
    /// The declared dotted name.
    pub name: String,
}

/// Resolves `first` followed by `rest` against the stream's fields: the
/// longest declared dotted prefix, then steps into it if it is `json`.
/// Reports and returns `None` when it does not resolve.
pub(crate) fn resolve_field(
    schema: &StreamSchema,
    first: &Ident,
    rest: &[PathStep],
    diags: &mut Vec<Diagnostic>,
) -> Option<FieldRef> {
    // The leading run of member names.
    let mut names: Vec<&Ident> = vec![first];
    for step in rest {
        match step {
            PathStep::Member(id) => names.push(id),
            PathStep::Index(_) => break,
        }
    }
    let mut found = None;
    for k in (1..=names.len()).rev() {
        let dotted = join(&names[..k]);
        if let Some(slot) = schema.field(&dotted) {
            found = Some((k, slot, dotted));
            break;
        }
    }
    let Some((k, slot, name)) = found else {
        diags.push(unknown_field(schema, &names));
        return None;
    };
    let field_ty = schema.fields[slot as usize].ty;
    let extra = &rest[k - 1..];
    if extra.is_empty() {
        return Some(FieldRef {
            slot,
            steps: Vec::new(),
            ty: Some(field_ty),
            name,
        });
    }
    if field_ty.base != BaseType::Json {
        let step_span = step_span(&extra[0]);
        let what = match &extra[0] {
            PathStep::Member(id) => format!("member '{}'", id.name),
            PathStep::Index(i) => format!("index [{}]", i.node),
        };
        // A typo in a nested declared name reads better as an unknown field.
        if let PathStep::Member(_) = &extra[0] {
            let longer = format!("{name}.");
            if schema.fields.iter().any(|f| f.name.starts_with(&longer)) {
                diags.push(unknown_field(schema, &names));
                return None;
            }
        }
        diags.push(
            Diagnostic::error(
                "not-json",
                format!("field '{name}' is {field_ty}: it has no {what}"),
                step_span,
            )
            .with_label(format!("'{name}' is {field_ty}, not json"))
            .with_help("only `json` fields can be reached into with `.name` or `[i]`; declare the nested field in the stream (`device.temp float`) or the field as json"),
        );
        return None;
    }
    let steps = extra
        .iter()
        .map(|s| match s {
            PathStep::Member(id) => JsonStep::Key(id.name.clone()),
            PathStep::Index(i) => JsonStep::Index(i.node),
        })
        .collect();
    Some(FieldRef {
        slot,
        steps,
        ty: None,
        name,
    })
}

fn join(names: &[&Ident]) -> String {
    let parts: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
    parts.join(".")
}

fn unknown_field(schema: &StreamSchema, names: &[&Ident]) -> Diagnostic {
    // Report the shortest written prefix that matches nothing, so that
    // `amout` is reported as `amout` and `device.tmp` as `device.tmp`.
    let mut k = 1;
    while k < names.len() {
        let prefix = format!("{}.", join(&names[..k]));
        if schema.fields.iter().any(|f| f.name.starts_with(&prefix)) {
            k += 1;
        } else {
            break;
        }
    }
    let dotted = join(&names[..k]);
    let span = names[0].span.to(names[k - 1].span);
    let mut d = Diagnostic::error(
        "unknown-field",
        format!("unknown field '{dotted}' on stream {}", schema.name),
        span,
    )
    .with_label(format!("not a field of {}", schema.name));
    let all = schema.fields.iter().map(|f| f.name.as_str());
    if let Some(help) = suggest::did_you_mean(&dotted, all) {
        d = d.with_help(help);
    } else {
        let under = format!("{dotted}.");
        let nested: Vec<&str> = schema
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| n.starts_with(&under))
            .collect();
        if !nested.is_empty() {
            d = d.with_note(format!("'{dotted}' has the fields: {}", nested.join(", ")));
        } else {
            let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
            d = d.with_note(format!("{} has: {}", schema.name, names.join(", ")));
        }
    }
    d
}

pub(crate) fn step_span(step: &PathStep) -> Span {
    match step {
        PathStep::Member(id) => id.span,
        PathStep::Index(i) => i.span,
    }
}
