//! `stream` blocks -> [`StreamSchema`]s, and the streams a rule may read.
//!
//! Decisions (documented in README.md):
//! - a field's type name is matched case-insensitively (`Float` is `float`);
//! - a dotted field (`device.temp float`) may sit under a `json` field or
//!   under no declared field, never under a scalar one;
//! - `time` names a `timestamp` field (RFC 3339 string or epoch ms) or an
//!   `int` field (epoch milliseconds); it cannot be nullable;
//! - a stream declared in the file replaces the catalog's stream of the same
//!   name for that file; a warning says so when the two schemas differ.

use std::collections::{HashMap, HashSet};

use crate::ast::{FieldPath, File, Item, StreamDecl};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::plan::{FieldSchema, Slot, StreamSchema};
use crate::span::Span;
use crate::suggest;
use crate::types::{BaseType, Type};

/// The streams visible to the rules of one file.
pub(crate) struct Streams<'c> {
    /// Declared in the file, in order (first declaration of each name).
    pub file: Vec<StreamSchema>,
    /// File streams whose declaration has errors: rules over them are checked
    /// but give no plan.
    broken: HashSet<String>,
    catalog: &'c Catalog,
}

impl<'c> Streams<'c> {
    /// The schema of `name` (the file's declaration wins), and whether it is
    /// broken.
    pub fn get(&self, name: &str) -> Option<(&StreamSchema, bool)> {
        if let Some(s) = self.file.iter().find(|s| s.name == name) {
            return Some((s, self.broken.contains(name)));
        }
        self.catalog.streams.get(name).map(|s| (s, false))
    }

    /// The file's streams that checked clean.
    pub fn into_clean(self) -> Vec<StreamSchema> {
        let broken = self.broken;
        self.file.into_iter().filter(|s| !broken.contains(&s.name)).collect()
    }

    /// Every stream name, for did-you-mean.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.file.iter().map(|s| s.name.as_str()).collect();
        for name in self.catalog.streams.keys() {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }
}

/// Checks every `stream` block of the file.
pub(crate) fn check_streams<'c>(
    file: &File,
    catalog: &'c Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Streams<'c> {
    let mut streams = Streams {
        file: Vec::new(),
        broken: HashSet::new(),
        catalog,
    };
    let mut first: HashMap<&str, Span> = HashMap::new();
    for item in &file.items {
        let Item::Stream(decl) = item else { continue };
        if let Some(&earlier) = first.get(decl.name.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-stream",
                    format!("stream '{}' is declared twice", decl.name.name),
                    decl.name.span,
                )
                .with_label("declared again here")
                .with_secondary(earlier, "first declared here")
                .with_help("rename one of them or remove the second declaration"),
            );
            // Still check it, for its own mistakes.
            let _ = check_stream(decl, diags);
            continue;
        }
        first.insert(&decl.name.name, decl.name.span);
        let (schema, ok) = check_stream(decl, diags);
        if let Some(theirs) = catalog.streams.get(&schema.name) {
            if *theirs != schema {
                diags.push(
                    Diagnostic::warning(
                        "shadows-catalog-stream",
                        format!(
                            "stream '{}' is also in the server's catalog, with another schema",
                            schema.name
                        ),
                        decl.name.span,
                    )
                    .with_label("this declaration is used by the rules of this file")
                    .with_help("rename the stream, or remove the declaration to use the catalog's"),
                );
            }
        }
        if !ok {
            streams.broken.insert(schema.name.clone());
        }
        streams.file.push(schema);
    }
    streams
}

/// One stream block; `false` when it had errors.
pub(crate) fn check_stream(decl: &StreamDecl, diags: &mut Vec<Diagnostic>) -> (StreamSchema, bool) {
    let errors_before = error_count(diags);
    let mut fields: Vec<FieldSchema> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    for f in &decl.fields {
        let dotted = f.path.dotted();
        let ty = match parse_type(&f.ty.name.name) {
            Some(base) => Type {
                base,
                nullable: f.ty.nullable,
            },
            None => {
                let names: Vec<&str> = BaseType::ALL.iter().map(|t| t.name()).collect();
                let mut d = Diagnostic::error(
                    "unknown-type",
                    format!("unknown type '{}' for field '{dotted}'", f.ty.name.name),
                    f.ty.name.span,
                )
                .with_label("not a type")
                .with_note(format!(
                    "types: {}; add `?` for a nullable field (`float?`)",
                    names.join(", ")
                ));
                if let Some(help) = suggest::did_you_mean(&f.ty.name.name, names.iter().copied()) {
                    d = d.with_help(help);
                }
                diags.push(d);
                // Keep the field, typed dynamically, so rules using it do not
                // report it again as unknown.
                Type::nullable(BaseType::Json)
            }
        };
        if let Some(i) = fields.iter().position(|g| g.name == dotted) {
            diags.push(
                Diagnostic::error(
                    "duplicate-field",
                    format!("field '{dotted}' is declared twice in stream '{}'", decl.name.name),
                    f.path.span,
                )
                .with_label("declared again here")
                .with_secondary(spans[i], "first declared here")
                .with_help("remove one of the two declarations"),
            );
            continue;
        }
        fields.push(FieldSchema {
            name: dotted,
            path: f.path.segments.iter().map(|s| s.name.clone()).collect(),
            ty,
        });
        spans.push(f.path.span);
    }
    // A dotted field may not sit under a scalar one.
    for (i, f) in fields.iter().enumerate() {
        for k in 1..f.path.len() {
            let prefix = f.path[..k].join(".");
            if let Some(j) = fields.iter().position(|g| g.name == prefix) {
                if fields[j].ty.base != BaseType::Json {
                    diags.push(
                        Diagnostic::error(
                            "field-under-scalar",
                            format!(
                                "field '{}' is declared under '{prefix}', which is {}, not json",
                                f.name, fields[j].ty
                            ),
                            spans[i],
                        )
                        .with_label("nested field")
                        .with_secondary(spans[j], format!("'{prefix}' is {}", fields[j].ty))
                        .with_help(format!(
                            "declare '{prefix}' as json, or drop it and keep only its typed sub-fields"
                        )),
                    );
                }
            }
        }
    }
    let mut schema = StreamSchema {
        name: decl.name.name.clone(),
        fields,
        key: Vec::new(),
        time: None,
        lateness_ms: decl.lateness.as_ref().map_or(0, |d| d.millis()),
    };
    for k in &decl.key {
        if let Some(slot) = declared_slot(&schema, k, "key", diags) {
            if schema.key.contains(&slot) {
                diags.push(
                    Diagnostic::error(
                        "duplicate-key",
                        format!("'{}' appears twice in the key of stream '{}'", k.dotted(), schema.name),
                        k.span,
                    )
                    .with_label("repeated")
                    .with_help("name each key field once"),
                );
            } else {
                schema.key.push(slot);
            }
        }
    }
    if let Some(t) = &decl.time {
        if let Some(slot) = declared_slot(&schema, t, "time", diags) {
            let ty = schema.fields[slot as usize].ty;
            let time_type = matches!(ty.base, BaseType::Timestamp | BaseType::Int);
            if !time_type || ty.nullable {
                diags.push(
                    Diagnostic::error(
                        "bad-time-field",
                        format!(
                            "the event-time field '{}' is {ty}; it must be timestamp or int (epoch milliseconds), not nullable",
                            t.dotted()
                        ),
                        t.span,
                    )
                    .with_label(format!("this field is {ty}"))
                    .with_help("declare it as `timestamp` (RFC 3339 string or epoch ms) or `int` (epoch ms), or drop `time` to use processing time"),
                );
            } else {
                schema.time = Some(slot);
            }
        }
    }
    if let (Some(lateness), None) = (&decl.lateness, &decl.time) {
        diags.push(
            Diagnostic::warning(
                "lateness-without-time",
                format!(
                    "stream '{}' has `lateness` but no `time` field: it runs on processing time, where lateness has no effect",
                    schema.name
                ),
                lateness.span,
            )
            .with_label("ignored")
            .with_help("add `time <field>` to use event time, or remove `lateness`"),
        );
    }
    let ok = error_count(diags) == errors_before;
    (schema, ok)
}

fn parse_type(name: &str) -> Option<BaseType> {
    BaseType::parse(&name.to_ascii_lowercase())
}

/// The slot of a field named in `key` or `time`.
fn declared_slot(
    schema: &StreamSchema,
    path: &FieldPath,
    clause: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Slot> {
    let dotted = path.dotted();
    if let Some(slot) = schema.field(&dotted) {
        return Some(slot);
    }
    let mut d = Diagnostic::error(
        "unknown-field",
        format!("unknown field '{dotted}' in `{clause}` of stream {}", schema.name),
        path.span,
    )
    .with_label("not declared in this stream");
    if let Some(help) = suggest::did_you_mean(&dotted, schema.fields.iter().map(|f| f.name.as_str())) {
        d = d.with_help(help);
    } else {
        d = d.with_help(format!("`{clause}` must name one of the fields declared above"));
    }
    diags.push(d);
    None
}

pub(crate) fn error_count(diags: &[Diagnostic]) -> usize {
    diags.iter().filter(|d| d.is_error()).count()
}
