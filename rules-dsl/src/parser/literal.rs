//! Numbers, durations and strings as the grammar uses them.

use crate::ast::{Duration, DurationUnit, Literal, StringLit};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::lexical::{NumTok, Tok};
use super::{PResult, Parser};

const UNITS_HELP: &str = "a duration is a whole number glued to a unit: ms, s, m, h or d (e.g. `500ms`, `10s`, `5m`, `2h`, `1d`)";

impl Parser<'_> {
    /// A duration where one is required (`within 10m`).
    pub(crate) fn duration(&mut self, context: &str) -> PResult<Duration> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Number(n) => {
                self.bump();
                match n.suffix {
                    None if !n.is_float => {
                        let d = Diagnostic::error(
                            "bad-duration",
                            format!("`{}` has no unit{context}", n.digits),
                            t.span,
                        )
                        .with_label("expected a duration")
                        .with_help(UNITS_HELP);
                        Err(self.report(d))
                    }
                    _ => self.duration_of(n, t.span),
                }
            }
            _ => Err(self.expected(&format!("a duration such as `10s`{context}"))),
        }
    }

    /// A number token with a suffix, as a duration.
    fn duration_of(&mut self, n: &NumTok, span: Span) -> PResult<Duration> {
        let written = format!("{}{}", n.digits, n.suffix.as_deref().unwrap_or(""));
        if n.is_float {
            let d = Diagnostic::error(
                "bad-duration",
                format!("bad duration `{written}`: durations are whole numbers"),
                span,
            )
            .with_label("not a whole number")
            .with_help(UNITS_HELP);
            return Err(self.report(d));
        }
        let suffix = n.suffix.as_deref().unwrap_or("");
        let Some(unit) = DurationUnit::from_suffix(suffix) else {
            let mut d = Diagnostic::error(
                "bad-duration",
                format!("bad duration `{written}`: unknown unit '{suffix}'"),
                span,
            )
            .with_label("unknown unit")
            .with_help(UNITS_HELP);
            if DurationUnit::from_suffix(&suffix.to_ascii_lowercase()).is_some() {
                d = d.with_note(format!(
                    "units are lowercase: `{}{}`",
                    n.digits,
                    suffix.to_ascii_lowercase()
                ));
            }
            return Err(self.report(d));
        };
        match n.digits.parse::<u64>() {
            Ok(amount) => Ok(Duration { amount, unit, span }),
            Err(_) => {
                let d = Diagnostic::error(
                    "bad-duration",
                    format!("duration `{written}` is too large"),
                    span,
                )
                .with_label("too large")
                .with_help(UNITS_HELP);
                Err(self.report(d))
            }
        }
    }

    /// A number token in an expression: int, float or duration.
    pub(crate) fn number_literal(&mut self, n: &NumTok, span: Span) -> PResult<Literal> {
        if n.suffix.is_some() {
            return self.duration_of(n, span).map(Literal::Duration);
        }
        if n.is_float {
            return match n.digits.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Literal::Float(f)),
                _ => Err(self.report(
                    Diagnostic::error("bad-number", format!("number `{}` is out of range", n.digits), span)
                        .with_label("too large for a float"),
                )),
            };
        }
        match n.digits.parse::<i64>() {
            Ok(i) => Ok(Literal::Int(i)),
            Err(_) => Err(self.report(
                Diagnostic::error("bad-number", format!("integer `{}` is too large", n.digits), span)
                    .with_label(format!("the largest integer is {}", i64::MAX)),
            )),
        }
    }

    /// A whole number without a unit (quantifiers, `count 100`).
    pub(crate) fn whole_number<T: TryFrom<u64>>(&mut self, what: &str) -> PResult<(T, Span)> {
        let t = self.peek().clone();
        let Tok::Number(n) = &t.tok else {
            return Err(self.expected(what));
        };
        if n.is_float || n.suffix.is_some() {
            let written = format!("{}{}", n.digits, n.suffix.as_deref().unwrap_or(""));
            return Err(self.report(
                Diagnostic::error("syntax", format!("expected {what}, found `{written}`"), t.span)
                    .with_label(format!("expected {what}")),
            ));
        }
        self.bump();
        match n.digits.parse::<u64>().ok().and_then(|v| T::try_from(v).ok()) {
            Some(v) => Ok((v, t.span)),
            None => Err(self.report(
                Diagnostic::error("bad-number", format!("number `{}` is too large", n.digits), t.span)
                    .with_label("too large"),
            )),
        }
    }

    /// A string literal.
    pub(crate) fn string_lit(&mut self, what: &str) -> PResult<StringLit> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Str(value) => {
                self.bump();
                Ok(StringLit { value, span: t.span })
            }
            _ => Err(self.expected(what)),
        }
    }
}
