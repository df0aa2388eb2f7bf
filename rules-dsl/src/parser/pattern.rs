//! Patterns: `small{3,} -> big`, `a !c b`, `(a -> b){2} ->> c+ greedy`.

use crate::ast::{Contiguity, Count, LoopContiguity, Pattern, Quantifier, Term, TermKind};
use crate::diagnostic::Diagnostic;
use crate::span::{Span, Spanned};

use super::lexical::{Punct, Tok};
use super::{PResult, Parser};

impl Parser<'_> {
    /// The pattern of a `pattern` clause: it must end at the next clause or `}`.
    pub(crate) fn pattern_clause(&mut self) -> PResult<Pattern> {
        let pattern = self.pattern()?;
        let ends = self.at_clause_start()
            || self.at_punct(Punct::RBrace)
            || self.at_eof()
            || self.at_item_start();
        if !ends {
            return Err(self.expected("`->`, `->>`, another pattern term, or the next clause"));
        }
        Ok(pattern)
    }

    fn at_term_start(&self) -> bool {
        self.at_punct(Punct::Bang) || self.at_punct(Punct::LParen) || self.at_name()
    }

    fn pattern(&mut self) -> PResult<Pattern> {
        let first = self.term()?;
        let start = first.span;
        let mut terms = vec![first];
        let mut joins = Vec::new();
        loop {
            let join = if let Some(s) = self.eat_punct(Punct::ArrowArrow) {
                Spanned::new(Contiguity::NonDeterministic, s)
            } else if let Some(s) = self.eat_punct(Punct::Arrow) {
                Spanned::new(Contiguity::Relaxed, s)
            } else if self.at_term_start() {
                let at = self.span().start;
                Spanned::new(Contiguity::Strict, Span::new(at, at))
            } else {
                break;
            };
            if !self.at_term_start() {
                let op = if join.node == Contiguity::NonDeterministic { "->>" } else { "->" };
                return Err(self.expected(&format!("a pattern variable or `(` after `{op}`")));
            }
            joins.push(join);
            terms.push(self.term()?);
        }
        let span = terms.last().map_or(start, |t| start.to(t.span));
        Ok(Pattern { terms, joins, span })
    }

    fn term(&mut self) -> PResult<Term> {
        let start = self.span();
        let negated = self.eat_punct(Punct::Bang).is_some();
        let kind = if let Some(open) = self.eat_punct(Punct::LParen) {
            self.enter()?;
            let inner = self.pattern();
            self.leave();
            let inner = inner?;
            if self.eat_punct(Punct::RParen).is_none() {
                let span = self.span();
                let found = super::describe(&self.peek().tok);
                if self.peek().tok == Tok::Error {
                    return Err(super::Fail);
                }
                return Err(self.report(
                    Diagnostic::error("syntax", format!("expected `)` to close the group, found {found}"), span)
                        .with_label("expected `)`")
                        .with_secondary(open, "the group opens here"),
                ));
            }
            TermKind::Group(Box::new(inner))
        } else {
            let what = if negated {
                "a pattern variable or `(` after `!`"
            } else {
                "a pattern variable or `(`"
            };
            TermKind::Var(self.name(what, false)?)
        };
        let quantifier = self.quantifier()?;
        let span = self.since(start.start);
        Ok(Term {
            kind,
            negated,
            quantifier,
            span,
        })
    }

    fn quantifier(&mut self) -> PResult<Option<Quantifier>> {
        let start = self.span();
        let (count, optional) = if let Some(open) = self.eat_punct(Punct::LBrace) {
            let count = self.count(open);
            if count.is_err() {
                // Do not leave a `}` behind to be read as the end of the rule.
                while matches!(self.peek().tok, Tok::Number(_) | Tok::Punct(Punct::Comma) | Tok::Error)
                    || (self.at_name() && !self.at_item_start())
                {
                    self.bump();
                }
                self.eat_punct(Punct::RBrace);
            }
            (count?, self.eat_punct(Punct::Question).is_some())
        } else if self.eat_punct(Punct::Plus).is_some() {
            (Count::OneOrMore, false)
        } else if self.eat_punct(Punct::Star).is_some() {
            (Count::OneOrMore, true)
        } else if self.eat_punct(Punct::Question).is_some() {
            (Count::Once, true)
        } else {
            // No quantifier: modifiers are out of place.
            self.modifiers_without_loop()?;
            return Ok(None);
        };
        if let Tok::Punct(p @ (Punct::Question | Punct::Plus | Punct::Star | Punct::LBrace)) = self.peek().tok {
            let span = self.span();
            let written = self.src.get(start.start..span.end).unwrap_or("").to_string();
            let help = if p == Punct::Question && count == Count::OneOrMore {
                "reluctant loops are not supported: use `*` for zero or more, or `{n,m}` with a lower bound of 0".to_string()
            } else {
                "a term takes one quantifier: `+`, `*`, `?`, `{n}`, `{n,m}` or `{n,}` (and `?` after a count makes it optional)".to_string()
            };
            return Err(self.report(
                Diagnostic::error("bad-quantifier", format!("`{written}` is not a quantifier"), start.to(span))
                    .with_label("second quantifier")
                    .with_help(help),
            ));
        }
        let mut q = Quantifier {
            count,
            optional,
            greedy: false,
            looping: LoopContiguity::Relaxed,
            span: start,
        };
        self.modifiers(&mut q)?;
        q.span = self.since(start.start);
        Ok(Some(q))
    }

    /// `n}`, `n,}` or `n,m}` after `{`.
    fn count(&mut self, open: Span) -> PResult<Count> {
        let (n, _) = self.whole_number::<u32>("a count in `{...}`")?;
        let count = if self.eat_punct(Punct::Comma).is_some() {
            if self.at_punct(Punct::RBrace) {
                Count::AtLeast(n)
            } else {
                let (m, _) = self.whole_number::<u32>("an upper bound or `}`")?;
                Count::Range(n, m)
            }
        } else {
            Count::Exactly(n)
        };
        if self.eat_punct(Punct::RBrace).is_none() {
            let span = self.span();
            if self.peek().tok == Tok::Error {
                return Err(super::Fail);
            }
            let found = super::describe(&self.peek().tok);
            return Err(self.report(
                Diagnostic::error("syntax", format!("expected `}}` to close the count, found {found}"), span)
                    .with_label("expected `}`")
                    .with_secondary(open, "the count opens here")
                    .with_help("counts are written `{3}`, `{2,4}` or `{2,}`"),
            ));
        }
        Ok(count)
    }

    fn at_modifier(&self) -> Option<&'static str> {
        super::keywords::PATTERN_MODIFIERS
            .into_iter()
            .find(|m| self.at_kw(m))
    }

    /// `greedy`, `consecutive`, `any` in any order, each at most once.
    fn modifiers(&mut self, q: &mut Quantifier) -> PResult<()> {
        let mut greedy_at: Option<Span> = None;
        let mut looping_at: Option<(Span, &'static str)> = None;
        while let Some(m) = self.at_modifier() {
            let span = self.bump().span;
            if q.count == Count::Once {
                self.report(
                    Diagnostic::error("modifier-needs-loop", format!("`{m}` needs a looping term"), span)
                        .with_label("the term does not loop")
                        .with_help("modifiers apply to loops: `a+ greedy`, `a{2,} consecutive`"),
                );
                continue;
            }
            match m {
                "greedy" => {
                    if let Some(first) = greedy_at {
                        self.report(
                            Diagnostic::error("duplicate-modifier", "`greedy` given twice", span)
                                .with_label("again here")
                                .with_secondary(first, "first here"),
                        );
                    } else {
                        greedy_at = Some(span);
                        q.greedy = true;
                    }
                }
                _ => {
                    if let Some((first, first_name)) = looping_at {
                        if first_name == m {
                            self.report(
                                Diagnostic::error("duplicate-modifier", format!("`{m}` given twice"), span)
                                    .with_label("again here")
                                    .with_secondary(first, "first here"),
                            );
                        } else {
                            self.report(
                                Diagnostic::error(
                                    "conflicting-modifiers",
                                    "`consecutive` and `any` exclude each other",
                                    span,
                                )
                                .with_label(format!("`{m}` conflicts"))
                                .with_secondary(first, format!("with `{first_name}` here"))
                                .with_help("keep one: `consecutive` (strictly contiguous iterations) or `any` (allow combinations)"),
                            );
                        }
                    } else {
                        looping_at = Some((span, m));
                        q.looping = if m == "any" {
                            LoopContiguity::Any
                        } else {
                            LoopContiguity::Consecutive
                        };
                    }
                }
            }
        }
        Ok(())
    }

    fn modifiers_without_loop(&mut self) -> PResult<()> {
        while let Some(m) = self.at_modifier() {
            let span = self.bump().span;
            self.report(
                Diagnostic::error("modifier-needs-loop", format!("`{m}` needs a loop"), span)
                    .with_label("this term has no quantifier")
                    .with_help(format!("modifiers follow a loop quantifier: `a+ {m}`, `a{{2,}} {m}`")),
            );
        }
        Ok(())
    }
}
