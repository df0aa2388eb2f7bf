//! `stream NAME ( path type[?], ... ) [key path, ...] [time path] [lateness DUR] [;]`

use crate::ast::{FieldDecl, FieldPath, StreamDecl, TypeExpr};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::lexical::{Punct, Tok};
use super::{PResult, Parser};

impl Parser<'_> {
    /// At `stream`. `None` when the head (`stream NAME (`) is broken.
    pub(crate) fn stream_decl(&mut self) -> Option<StreamDecl> {
        let start = self.bump().span.start;
        let head = self.name("a stream name", true).and_then(|name| {
            self.expect_punct(Punct::LParen, " to start the fields of the stream")?;
            Ok(name)
        });
        let Ok(name) = head else {
            self.skip_to_item();
            return None;
        };
        let fields = self.field_list();
        let mut stream = StreamDecl {
            name,
            fields,
            key: Vec::new(),
            time: None,
            lateness: None,
            span: Span::new(start, start),
        };
        if self.stream_tail(&mut stream).is_err() {
            // Skip what is left of the declaration, keeping what parsed.
            while !self.at_eof() && !self.at_item_start() {
                if self.bump().tok == Tok::Punct(Punct::Semi) {
                    break;
                }
            }
        }
        stream.span = self.since(start);
        Some(stream)
    }

    /// The fields after `(`, up to and including `)`. A broken field is
    /// reported and left out.
    fn field_list(&mut self) -> Vec<FieldDecl> {
        let mut fields = Vec::new();
        if self.eat_punct(Punct::RParen).is_some() {
            return fields;
        }
        loop {
            let field = self.field_decl().and_then(|f| {
                if self.at_punct(Punct::Comma) || self.at_punct(Punct::RParen) {
                    Ok(f)
                } else {
                    Err(self.expected("`,` or `)` after a field"))
                }
            });
            let failed = field.is_err();
            match field {
                Ok(f) => fields.push(f),
                Err(_) => self.skip_list_item(Punct::RParen),
            }
            if self.eat_punct(Punct::Comma).is_some() {
                // A trailing comma is allowed.
                if self.eat_punct(Punct::RParen).is_some() {
                    return fields;
                }
                continue;
            }
            if self.eat_punct(Punct::RParen).is_none() && !failed {
                // The list ended without `)`: at the next item or the end.
                self.expected("`)` to close the fields");
            }
            return fields;
        }
    }

    fn field_decl(&mut self) -> PResult<FieldDecl> {
        let path = self.field_path("a field name")?;
        let ty_name = self.name("a type (string, int, float, bool, timestamp, duration, json)", true)?;
        let nullable = self.eat_punct(Punct::Question).is_some();
        let span = self.since(ty_name.span.start);
        Ok(FieldDecl {
            path,
            ty: TypeExpr {
                name: ty_name,
                nullable,
                span,
            },
        })
    }

    /// `a.b.c`
    pub(crate) fn field_path(&mut self, what: &str) -> PResult<FieldPath> {
        let first = self.name(what, true)?;
        let start = first.span.start;
        let mut segments = vec![first];
        while self.eat_punct(Punct::Dot).is_some() {
            segments.push(self.name("a field name after `.`", true)?);
        }
        Ok(FieldPath {
            segments,
            span: self.since(start),
        })
    }

    /// `key ...`, `time ...`, `lateness ...` in any order, each at most once,
    /// then an optional `;`.
    fn stream_tail(&mut self, stream: &mut StreamDecl) -> PResult<()> {
        let mut seen: [Option<Span>; 3] = [None; 3];
        loop {
            let (i, word) = if self.at_kw("key") {
                (0, "key")
            } else if self.at_kw("time") {
                (1, "time")
            } else if self.at_kw("lateness") {
                (2, "lateness")
            } else {
                self.eat_punct(Punct::Semi);
                return Ok(());
            };
            let kw = self.bump().span;
            let first = seen.get(i).copied().flatten();
            if let Some(slot) = seen.get_mut(i) {
                slot.get_or_insert(kw);
            }
            match i {
                0 => {
                    let mut key = vec![self.field_path("a key field")?];
                    while self.eat_punct(Punct::Comma).is_some() {
                        key.push(self.field_path("a key field")?);
                    }
                    if first.is_none() {
                        stream.key = key;
                    }
                }
                1 => {
                    let time = self.field_path("the event-time field")?;
                    if first.is_none() {
                        stream.time = Some(time);
                    }
                }
                _ => {
                    let lateness = self.duration(" after `lateness`")?;
                    if first.is_none() {
                        stream.lateness = Some(lateness);
                    }
                }
            }
            if let Some(first) = first {
                let d = Diagnostic::error("duplicate-clause", format!("`{word}` given twice"), kw)
                    .with_label("again here")
                    .with_secondary(first, "first here")
                    .with_help("keep one; the first is used");
                self.report(d);
            }
        }
    }
}
