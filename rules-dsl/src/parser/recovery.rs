//! Error recovery: after an error, skip to a place where parsing can resume.

use super::keywords;
use super::lexical::{Punct, Tok};
use super::Parser;

impl Parser<'_> {
    /// Whether a `stream NAME (` or `rule NAME {` starts here.
    pub(crate) fn at_item_start(&self) -> bool {
        let name_next = matches!(self.peek_at(1).tok, Tok::Ident(_) | Tok::Quoted(_));
        if !name_next {
            return false;
        }
        (self.at_kw("stream") && self.peek_at(2).tok == Tok::Punct(Punct::LParen))
            || (self.at_kw("rule") && self.peek_at(2).tok == Tok::Punct(Punct::LBrace))
    }

    /// Whether a clause keyword starts a clause here (and is not the head of a
    /// path such as `window.start`, nor a member after a `.`).
    pub(crate) fn at_clause_start(&self) -> bool {
        let Tok::Ident(w) = &self.peek().tok else {
            return false;
        };
        if !keywords::is_clause_keyword(w) {
            return false;
        }
        let after_dot = self
            .pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .is_some_and(|t| t.tok == Tok::Punct(Punct::Dot));
        !after_dot && !self.peek_at(1).tok.eq(&Tok::Punct(Punct::Dot))
    }

    /// Top level: skip to the next `stream` or `rule` keyword.
    pub(crate) fn skip_to_item(&mut self) {
        while !self.at_eof() {
            if self.at_kw("stream") || self.at_kw("rule") {
                return;
            }
            self.bump();
        }
    }

    /// Inside a rule: skip to the next clause keyword or the rule's closing `}`
    /// (brackets opened while skipping are skipped whole), or to the next item.
    pub(crate) fn skip_clause(&mut self) {
        let mut depth = 0usize;
        while !self.at_eof() {
            if depth == 0 && (self.at_clause_start() || self.at_punct(Punct::RBrace)) {
                return;
            }
            if self.at_item_start() {
                return;
            }
            match self.peek().tok {
                Tok::Punct(Punct::LParen | Punct::LBracket | Punct::LBrace) => depth += 1,
                Tok::Punct(Punct::RParen | Punct::RBracket | Punct::RBrace) => {
                    depth = depth.saturating_sub(1)
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// Inside a list delimited by `close`: skip to the next `,` or to `close`
    /// at this level (not consuming it), or to the next item.
    pub(crate) fn skip_list_item(&mut self, close: Punct) {
        let mut depth = 0usize;
        while !self.at_eof() {
            if depth == 0 && (self.at_punct(Punct::Comma) || self.at_punct(close)) {
                return;
            }
            if self.at_item_start() {
                return;
            }
            match self.peek().tok {
                Tok::Punct(Punct::LParen | Punct::LBracket | Punct::LBrace) => depth += 1,
                Tok::Punct(Punct::RParen | Punct::RBracket | Punct::RBrace) => {
                    if depth == 0 {
                        // A closer of an outer level: the list is unbalanced.
                        return;
                    }
                    depth -= 1;
                }
                _ => {}
            }
            self.bump();
        }
    }
}
