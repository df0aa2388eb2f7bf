//! `rule NAME { clause* }` and its clauses.

use crate::ast::{
    Define, Duration, EmitItem, Expr, Ident, Label, OnTimeout, Pattern, RuleDecl, Severity,
    SkipStrategy, StringLit, Window, WindowKind,
};
use crate::diagnostic::Diagnostic;
use crate::span::{Span, Spanned};
use crate::suggest;

use super::keywords::{CLAUSE_KEYWORDS, CLAUSE_NAMES};
use super::lexical::{Punct, Tok};
use super::{describe, PResult, Parser};

/// The clauses, in the order of [`CLAUSE_KEYWORDS`] (also the canonical order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    Severity,
    From,
    Where,
    PartitionBy,
    Pattern,
    Define,
    Within,
    AfterMatch,
    OnTimeout,
    Window,
    AllowLateness,
    Having,
    Emit,
    Message,
    Notify,
    Labels,
    Suppress,
}

const ALL_CLAUSES: [Clause; 17] = [
    Clause::Severity,
    Clause::From,
    Clause::Where,
    Clause::PartitionBy,
    Clause::Pattern,
    Clause::Define,
    Clause::Within,
    Clause::AfterMatch,
    Clause::OnTimeout,
    Clause::Window,
    Clause::AllowLateness,
    Clause::Having,
    Clause::Emit,
    Clause::Message,
    Clause::Notify,
    Clause::Labels,
    Clause::Suppress,
];

impl Clause {
    fn from_keyword(word: &str) -> Option<Clause> {
        CLAUSE_KEYWORDS
            .iter()
            .position(|k| k.eq_ignore_ascii_case(word))
            .and_then(|i| ALL_CLAUSES.get(i).copied())
    }

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        CLAUSE_NAMES.get(self.index()).copied().unwrap_or("clause")
    }
}

/// What one clause parsed to.
enum Value {
    Severity(Spanned<Severity>),
    From(Ident),
    Where(Expr),
    PartitionBy(Vec<Expr>),
    Pattern(Pattern),
    Define(Vec<Define>),
    Within(Duration),
    Skip(Spanned<SkipStrategy>),
    OnTimeout(OnTimeout),
    Window(Window),
    AllowLateness(Duration),
    Having(Expr),
    Emit(Vec<EmitItem>),
    Message(StringLit),
    Notify(Vec<Ident>),
    Labels(Vec<Label>),
    Suppress(Duration),
}

fn apply(rule: &mut RuleDecl, value: Value) {
    match value {
        Value::Severity(v) => rule.severity = Some(v),
        Value::From(v) => rule.from = Some(v),
        Value::Where(v) => rule.where_ = Some(v),
        Value::PartitionBy(v) => rule.partition_by = v,
        Value::Pattern(v) => rule.pattern = Some(v),
        Value::Define(v) => rule.define = v,
        Value::Within(v) => rule.within = Some(v),
        Value::Skip(v) => rule.skip = Some(v),
        Value::OnTimeout(v) => rule.on_timeout = Some(v),
        Value::Window(v) => rule.window = Some(v),
        Value::AllowLateness(v) => rule.allow_lateness = Some(v),
        Value::Having(v) => rule.having = Some(v),
        Value::Emit(v) => rule.emit = Some(v),
        Value::Message(v) => rule.message = Some(v),
        Value::Notify(v) => rule.notify = v,
        Value::Labels(v) => rule.labels = v,
        Value::Suppress(v) => rule.suppress = Some(v),
    }
}

const WINDOW_KINDS: [&str; 4] = ["tumbling", "sliding", "session", "count"];

impl Parser<'_> {
    /// At `rule`. `None` when the head (`rule NAME {`) is broken.
    pub(crate) fn rule_decl(&mut self) -> Option<RuleDecl> {
        let start = self.bump().span.start;
        let head = self.name("a rule name", true).and_then(|name| {
            let open = self.expect_punct(Punct::LBrace, " to open the rule body")?;
            Ok((name, open))
        });
        let Ok((name, open)) = head else {
            self.skip_to_item();
            return None;
        };
        let rule_name = name.name.clone();
        let mut rule = RuleDecl::empty(name, Span::new(start, start));
        let mut seen: [Option<Span>; 17] = [None; 17];
        loop {
            let t = self.peek().clone();
            match &t.tok {
                Tok::Punct(Punct::RBrace) => {
                    self.bump();
                    break;
                }
                Tok::Eof => {
                    self.unclosed_rule(&rule_name, open);
                    break;
                }
                _ if self.at_item_start() => {
                    self.unclosed_rule(&rule_name, open);
                    break;
                }
                Tok::Ident(w) => match Clause::from_keyword(w) {
                    Some(clause) => match self.clause(clause) {
                        Ok((value, kw)) => {
                            let slot = seen.get_mut(clause.index());
                            match slot {
                                Some(Some(first)) => {
                                    let first = *first;
                                    self.report(
                                        Diagnostic::error(
                                            "duplicate-clause",
                                            format!("`{}` given twice in rule `{rule_name}`", clause.name()),
                                            kw,
                                        )
                                        .with_label("again here")
                                        .with_secondary(first, "first here")
                                        .with_help("a clause comes at most once per rule; the first is kept"),
                                    );
                                }
                                Some(slot) => {
                                    *slot = Some(kw);
                                    apply(&mut rule, value);
                                }
                                None => {}
                            }
                        }
                        Err(_) => self.skip_clause(),
                    },
                    None => {
                        self.unknown_clause(w, t.span);
                        self.bump();
                        self.skip_clause();
                    }
                },
                Tok::Error => {
                    self.bump();
                    self.skip_clause();
                }
                _ => {
                    self.expected("a clause keyword or `}`");
                    self.bump();
                    self.skip_clause();
                }
            }
        }
        rule.span = self.since(start);
        Some(rule)
    }

    fn unclosed_rule(&mut self, name: &str, open: Span) {
        let t = self.peek().clone();
        let d = Diagnostic::error(
            "syntax",
            format!("expected `}}` to close rule `{name}`, found {}", describe(&t.tok)),
            t.span,
        )
        .with_label("expected `}`")
        .with_secondary(open, "the rule body opens here");
        self.report(d);
    }

    fn unknown_clause(&mut self, word: &str, span: Span) {
        let operators = ["and", "or", "not", "in", "between", "is", "matches", "as", "until"];
        if suggest::closest(word, CLAUSE_KEYWORDS).is_none() {
            if let Some(op) = suggest::closest(word, operators) {
                let d = Diagnostic::error("syntax", format!("unexpected `{word}`"), span)
                    .with_label("expected an operator or a clause keyword")
                    .with_help(format!("did you mean '{op}'?"));
                self.report(d);
                return;
            }
        }
        let mut d = Diagnostic::error("unknown-clause", format!("unknown clause `{word}`"), span)
            .with_label("not a clause keyword");
        let close = suggest::closest(word, CLAUSE_KEYWORDS)
            .and_then(|k| CLAUSE_KEYWORDS.iter().position(|c| *c == k))
            .and_then(|i| CLAUSE_NAMES.get(i));
        if let Some(name) = close {
            d = d.with_help(format!("did you mean '{name}'?"));
        }
        d = d.with_note(format!("the clauses are: {}", CLAUSE_NAMES.join(", ")));
        self.report(d);
    }

    /// The clause must end here: at the next clause, `}` or the end.
    fn end_of_clause(&mut self, what: &str) -> PResult<()> {
        // A word that is no clause keyword is reported by the clause loop as
        // an unknown (likely misspelt) clause.
        if self.at_clause_start()
            || self.at_punct(Punct::RBrace)
            || self.at_eof()
            || matches!(self.peek().tok, Tok::Ident(_))
        {
            return Ok(());
        }
        Err(self.expected(what))
    }

    /// One clause, from its keyword on; returns the value and the keyword span.
    fn clause(&mut self, clause: Clause) -> PResult<(Value, Span)> {
        let kw = self.bump().span;
        let (value, kw, end) = match clause {
            Clause::Severity => (self.severity()?, kw, "the next clause after the severity"),
            Clause::From => (
                Value::From(self.name("a stream name", false)?),
                kw,
                "the next clause after the stream name",
            ),
            Clause::Where => (Value::Where(self.expr()?), kw, "an operator or the next clause"),
            Clause::PartitionBy => {
                let by = self.expect_kw("by", " after `partition`")?;
                (
                    Value::PartitionBy(self.expr_list()?),
                    kw.to(by),
                    "an operator, `,` or the next clause",
                )
            }
            Clause::Pattern => (
                Value::Pattern(self.pattern_clause()?),
                kw,
                "`->`, `->>`, another pattern term, or the next clause",
            ),
            Clause::Define => (
                Value::Define(self.defines()?),
                kw,
                "an operator, `until`, `,` or the next clause",
            ),
            Clause::Within => (
                Value::Within(self.duration(" after `within`")?),
                kw,
                "the next clause after the duration",
            ),
            Clause::AfterMatch => {
                let m = self.expect_kw("match", " after `after`")?;
                (self.skip_strategy()?, kw.to(m), "the next clause after the skip strategy")
            }
            Clause::OnTimeout => {
                let t = self.expect_kw("timeout", " after `on`")?;
                (self.on_timeout(kw)?, kw.to(t), "an operator, `as`, `,`, `message` or the next clause")
            }
            Clause::Window => (self.window()?, kw, "the next clause after the window"),
            Clause::AllowLateness => {
                let l = self.expect_kw("lateness", " after `allow`")?;
                (
                    Value::AllowLateness(self.duration(" after `allow lateness`")?),
                    kw.to(l),
                    "the next clause after the duration",
                )
            }
            Clause::Having => (Value::Having(self.expr()?), kw, "an operator or the next clause"),
            Clause::Emit => (
                Value::Emit(self.emit_items()?),
                kw,
                "an operator, `as`, `,` or the next clause",
            ),
            Clause::Message => (
                Value::Message(self.string_lit("a message in double quotes")?),
                kw,
                "the next clause after the message",
            ),
            Clause::Notify => (
                Value::Notify(self.name_list("a sink name")?),
                kw,
                "`,` or the next clause",
            ),
            Clause::Labels => (Value::Labels(self.labels()?), kw, "the next clause after the labels"),
            Clause::Suppress => (
                Value::Suppress(self.duration(" after `suppress`")?),
                kw,
                "the next clause after the duration",
            ),
        };
        self.end_of_clause(end)?;
        Ok((value, kw))
    }

    fn severity(&mut self) -> PResult<Value> {
        let t = self.peek().clone();
        let word = match &t.tok {
            Tok::Ident(w) | Tok::Quoted(w) => w.clone(),
            _ => return Err(self.expected("a severity (info, low, medium, high or critical)")),
        };
        self.bump();
        match Severity::parse(&word) {
            Some(s) => Ok(Value::Severity(Spanned::new(s, t.span))),
            None => {
                let names = Severity::ALL.map(Severity::as_str);
                let mut d = Diagnostic::error(
                    "unknown-severity",
                    format!("unknown severity '{word}': expected info, low, medium, high or critical"),
                    t.span,
                )
                .with_label("not a severity");
                if let Some(help) = suggest::did_you_mean(&word, names) {
                    d = d.with_help(help);
                }
                Err(self.report(d))
            }
        }
    }

    fn expr_list(&mut self) -> PResult<Vec<Expr>> {
        let mut list = vec![self.expr()?];
        while self.eat_punct(Punct::Comma).is_some() {
            list.push(self.expr()?);
        }
        Ok(list)
    }

    fn name_list(&mut self, what: &str) -> PResult<Vec<Ident>> {
        let mut list = vec![self.name(what, false)?];
        while self.eat_punct(Punct::Comma).is_some() {
            list.push(self.name(what, false)?);
        }
        Ok(list)
    }

    fn defines(&mut self) -> PResult<Vec<Define>> {
        let mut list = Vec::new();
        loop {
            let var = self.name("a pattern variable", false)?;
            self.expect_kw("as", &format!(" after `{}`", var.name))?;
            let condition = self.expr()?;
            let until = if self.eat_kw("until").is_some() {
                Some(self.expr()?)
            } else {
                None
            };
            let span = self.since(var.span.start);
            list.push(Define {
                var,
                condition,
                until,
                span,
            });
            if self.eat_punct(Punct::Comma).is_none() {
                return Ok(list);
            }
        }
    }

    fn emit_items(&mut self) -> PResult<Vec<EmitItem>> {
        let mut list = Vec::new();
        loop {
            let expr = self.expr()?;
            let start = expr.span.start;
            let alias = if self.eat_kw("as").is_some() {
                Some(self.name("a name after `as`", false)?)
            } else {
                None
            };
            let span = self.since(start);
            list.push(EmitItem { expr, alias, span });
            if self.eat_punct(Punct::Comma).is_none() {
                return Ok(list);
            }
        }
    }

    fn skip_strategy(&mut self) -> PResult<Value> {
        let start = self.span().start;
        let what = "`skip to next`, `skip past last event`, `skip to first <variable>`, `skip to last <variable>` or `no skip`";
        let strategy = if self.eat_kw("no").is_some() {
            self.expect_kw("skip", " after `no`")?;
            SkipStrategy::NoSkip
        } else if self.eat_kw("skip").is_some() {
            if self.eat_kw("to").is_some() {
                if self.eat_kw("next").is_some() {
                    SkipStrategy::ToNext
                } else if self.eat_kw("first").is_some() {
                    SkipStrategy::ToFirst(self.name("a pattern variable after `skip to first`", false)?)
                } else if self.eat_kw("last").is_some() {
                    SkipStrategy::ToLast(self.name("a pattern variable after `skip to last`", false)?)
                } else {
                    return Err(self.expected("`next`, `first <variable>` or `last <variable>` after `skip to`"));
                }
            } else if self.eat_kw("past").is_some() {
                self.expect_kw("last", " after `skip past`")?;
                self.expect_kw("event", " after `skip past last`")?;
                SkipStrategy::PastLastEvent
            } else {
                return Err(self.expected("`to` or `past` after `skip`"));
            }
        } else {
            return Err(self.expected(what));
        };
        Ok(Value::Skip(Spanned::new(strategy, self.since(start))))
    }

    fn on_timeout(&mut self, kw: Span) -> PResult<Value> {
        self.expect_kw("emit", " after `on timeout`")?;
        let emit = self.emit_items()?;
        let message = if self.at_kw("message") && matches!(self.peek_at(1).tok, Tok::Str(_)) {
            self.bump();
            Some(self.string_lit("a message in double quotes")?)
        } else {
            None
        };
        Ok(Value::OnTimeout(OnTimeout {
            emit,
            message,
            span: self.since(kw.start),
        }))
    }

    fn window(&mut self) -> PResult<Value> {
        let t = self.peek().clone();
        let word = match &t.tok {
            Tok::Ident(w) => w.to_ascii_lowercase(),
            _ => return Err(self.expected("a window kind (tumbling, sliding, session or count)")),
        };
        let start = t.span.start;
        let kind = match word.as_str() {
            "tumbling" => {
                self.bump();
                WindowKind::Tumbling {
                    size: self.duration(" after `tumbling`")?,
                }
            }
            "sliding" => {
                self.bump();
                let size = self.duration(" after `sliding`")?;
                self.expect_kw("every", " after the size of a sliding window (`sliding 5m every 1m`)")?;
                let every = self.duration(" after `every`")?;
                WindowKind::Sliding { size, every }
            }
            "session" => {
                self.bump();
                self.expect_kw("gap", " after `session` (`session gap 30m`)")?;
                WindowKind::Session {
                    gap: self.duration(" after `session gap`")?,
                }
            }
            "count" => {
                self.bump();
                let (size, span) = self.whole_number::<u64>("a number of events after `count`")?;
                let every = if self.eat_kw("every").is_some() {
                    let (n, s) = self.whole_number::<u64>("a number of events after `every`")?;
                    Some(Spanned::new(n, s))
                } else {
                    None
                };
                WindowKind::Count {
                    size: Spanned::new(size, span),
                    every,
                }
            }
            _ => {
                self.bump();
                let mut d = Diagnostic::error(
                    "unknown-window-kind",
                    format!("unknown window kind '{word}': expected tumbling, sliding, session or count"),
                    t.span,
                )
                .with_label("not a window kind");
                if word == "hopping" || word == "hop" {
                    d = d.with_help("a hopping window is `sliding 5m every 1m`");
                } else if let Some(help) = suggest::did_you_mean(&word, WINDOW_KINDS) {
                    d = d.with_help(help);
                }
                return Err(self.report(d));
            }
        };
        Ok(Value::Window(Window {
            kind,
            span: self.since(start),
        }))
    }

    fn labels(&mut self) -> PResult<Vec<Label>> {
        self.expect_punct(Punct::LParen, " after `labels` (`labels (team = \"fraud\")`)")?;
        let mut list = Vec::new();
        if self.eat_punct(Punct::RParen).is_some() {
            return Ok(list);
        }
        loop {
            let name = self.name("a label name", true)?;
            self.expect_punct(Punct::Eq, " after the label name")?;
            let value = self.string_lit("a label value in double quotes")?;
            list.push(Label { name, value });
            if self.eat_punct(Punct::Comma).is_some() {
                continue;
            }
            self.expect_punct(Punct::RParen, " or `,` in the labels")?;
            return Ok(list);
        }
    }
}
