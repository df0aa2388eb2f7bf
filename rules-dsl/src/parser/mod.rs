//! The parser: text -> [`crate::ast::File`] with byte spans.
//!
//! Two layers: [`lexical`] turns the text into tokens with nom; the grammar
//! ([`stream`], [`clause`], [`pattern`], [`expr`]) is recursive descent over the
//! tokens. Parsing never stops at the first error: a failed clause is skipped
//! up to the next clause keyword (or the rule's closing `}`), a failed item up
//! to the next `stream`/`rule` ([`recovery`]), so one run reports every error.
//! Nesting is capped at [`MAX_DEPTH`], so no input can exhaust the stack.
//!
//! Diagnostic codes: `syntax`, `duplicate-clause`, `unknown-clause`,
//! `unknown-severity`, `unknown-window-kind`, `bad-duration`, `bad-number`,
//! `unterminated-string`, `bad-escape`, `bad-quantifier`,
//! `modifier-needs-loop`, `duplicate-modifier`, `conflicting-modifiers`,
//! `nesting-too-deep`.

mod clause;
mod expr;
mod literal;
pub mod keywords;
pub mod lexical;
mod pattern;
mod recovery;
mod stream;

use crate::ast::{File, Ident, Item};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use lexical::{Punct, Tok, Token};

/// How deeply groups, parentheses and operators may nest.
pub const MAX_DEPTH: usize = 64;

/// Parses a whole file; see the module documentation.
pub fn parse_file(source: &str) -> (File, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let tokens = lexical::tokenize(source, &mut diags);
    let mut p = Parser::new(source, tokens, diags);
    let file = p.file();
    let mut diags = p.diags;
    diags.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    (file, diags)
}

/// The grammar failed here; the diagnostic has been pushed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail;

pub(crate) type PResult<T> = Result<T, Fail>;

pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    eof: Token,
    pub diags: Vec<Diagnostic>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, toks: Vec<Token>, diags: Vec<Diagnostic>) -> Self {
        let end = src.len();
        Parser {
            src,
            toks,
            pos: 0,
            eof: Token {
                tok: Tok::Eof,
                span: Span::new(end, end),
            },
            diags,
            depth: 0,
        }
    }

    // --- looking at tokens ---------------------------------------------------

    pub(crate) fn peek(&self) -> &Token {
        self.toks.get(self.pos).unwrap_or(&self.eof)
    }

    pub(crate) fn peek_at(&self, n: usize) -> &Token {
        self.toks.get(self.pos.saturating_add(n)).unwrap_or(&self.eof)
    }

    pub(crate) fn span(&self) -> Span {
        self.peek().span
    }

    /// The end of the last consumed token.
    pub(crate) fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.span.end)
    }

    /// A span from `start` to the end of the last consumed token.
    pub(crate) fn since(&self, start: usize) -> Span {
        Span::new(start, self.prev_end().max(start))
    }

    pub(crate) fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn at_eof(&self) -> bool {
        matches!(self.peek().tok, Tok::Eof)
    }

    pub(crate) fn at_punct(&self, p: Punct) -> bool {
        self.peek().tok == Tok::Punct(p)
    }

    pub(crate) fn at_kw(&self, kw: &str) -> bool {
        tok_is_kw(&self.peek().tok, kw)
    }

    pub(crate) fn at_kw_n(&self, n: usize, kw: &str) -> bool {
        tok_is_kw(&self.peek_at(n).tok, kw)
    }

    pub(crate) fn eat_punct(&mut self, p: Punct) -> Option<Span> {
        if self.at_punct(p) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    pub(crate) fn eat_kw(&mut self, kw: &str) -> Option<Span> {
        if self.at_kw(kw) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    pub(crate) fn expect_punct(&mut self, p: Punct, context: &str) -> PResult<Span> {
        match self.eat_punct(p) {
            Some(s) => Ok(s),
            None => Err(self.expected(&format!("`{}`{context}", p.as_str()))),
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: &str, context: &str) -> PResult<Span> {
        match self.eat_kw(kw) {
            Some(s) => Ok(s),
            None => Err(self.expected(&format!("`{kw}`{context}"))),
        }
    }

    // --- reporting -----------------------------------------------------------

    pub(crate) fn report(&mut self, d: Diagnostic) -> Fail {
        self.diags.push(d);
        Fail
    }

    /// A `syntax` error at the current token: "expected X, found Y". Nothing is
    /// reported at a token the lexer has reported already.
    pub(crate) fn expected(&mut self, what: &str) -> Fail {
        let t = self.peek().clone();
        if t.tok == Tok::Error {
            return Fail;
        }
        let found = describe(&t.tok);
        let d = Diagnostic::error("syntax", format!("expected {what}, found {found}"), t.span)
            .with_label(format!("expected {what}"));
        self.report(d)
    }

    // --- nesting ---------------------------------------------------------------

    /// Enters one level of nesting, or reports that the input nests too deeply.
    pub(crate) fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.nested_too_deeply());
        }
        self.depth += 1;
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn nested_too_deeply(&mut self) -> Fail {
        let span = self.span();
        self.report(
            Diagnostic::error("nesting-too-deep", "expression nested too deeply", span)
                .with_label(format!("more than {MAX_DEPTH} levels of nesting"))
                .with_help("split the condition, or remove needless parentheses"),
        )
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // --- names -----------------------------------------------------------------

    /// A name: a bare word, or any text in backticks. Unless `keywords_ok`, a
    /// reserved word is refused (it most likely starts the next clause).
    pub(crate) fn name(&mut self, what: &str, keywords_ok: bool) -> PResult<Ident> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Ident(word) => {
                if !keywords_ok && keywords::is_reserved(&word) {
                    let d = Diagnostic::error(
                        "syntax",
                        format!("expected {what}, found keyword `{word}`"),
                        t.span,
                    )
                    .with_label(format!("expected {what}"))
                    .with_help(format!("to use `{word}` as a name, write it in backticks: `` `{word}` ``"));
                    return Err(self.report(d));
                }
                self.bump();
                Ok(Ident::new(word, t.span))
            }
            Tok::Quoted(word) => {
                self.bump();
                Ok(Ident::new(word, t.span))
            }
            _ => Err(self.expected(what)),
        }
    }

    /// Whether the current token can be a name where reserved words are not.
    pub(crate) fn at_name(&self) -> bool {
        match &self.peek().tok {
            Tok::Ident(w) => !keywords::is_reserved(w),
            Tok::Quoted(_) => true,
            _ => false,
        }
    }

    // --- the file ----------------------------------------------------------------

    fn file(&mut self) -> File {
        let mut items = Vec::new();
        loop {
            let t = self.peek().clone();
            match &t.tok {
                Tok::Eof => break,
                Tok::Ident(w) if w.eq_ignore_ascii_case("stream") => {
                    if let Some(s) = self.stream_decl() {
                        items.push(Item::Stream(s));
                    }
                }
                Tok::Ident(w) if w.eq_ignore_ascii_case("rule") => {
                    if let Some(r) = self.rule_decl() {
                        items.push(Item::Rule(r));
                    }
                }
                Tok::Error => {
                    self.bump();
                    self.skip_to_item();
                }
                Tok::Ident(w) => {
                    let mut d = Diagnostic::error(
                        "syntax",
                        format!("expected `stream` or `rule`, found `{w}`"),
                        t.span,
                    )
                    .with_label("a file holds `stream` and `rule` blocks");
                    if let Some(help) = crate::suggest::did_you_mean(w, ["stream", "rule"]) {
                        d = d.with_help(help);
                    }
                    self.report(d);
                    self.bump();
                    self.skip_to_item();
                }
                _ => {
                    self.expected("`stream` or `rule`");
                    self.bump();
                    self.skip_to_item();
                }
            }
        }
        File { items }
    }
}

pub(crate) fn tok_is_kw(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
}

/// How a token is named in "found ..." messages.
pub(crate) fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(w) if keywords::is_reserved(w) => format!("keyword `{w}`"),
        Tok::Ident(w) => format!("`{w}`"),
        Tok::Quoted(w) => format!("`` `{w}` ``"),
        Tok::Number(n) => format!("`{}{}`", n.digits, n.suffix.as_deref().unwrap_or("")),
        Tok::Str(_) => "a string".to_string(),
        Tok::Punct(p) => format!("`{}`", p.as_str()),
        Tok::Error => "an invalid token".to_string(),
        Tok::Eof => "end of file".to_string(),
    }
}
