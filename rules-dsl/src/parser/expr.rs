//! Expressions (`define`, `where`, `having`, `emit`, `partition by`).
//!
//! Lowest to highest precedence: `or`, `and`, prefix `not`, comparisons and
//! predicates (non-associative), `+ -`, `* / %`, prefix `-`, postfix (`.name`,
//! `[int]`, calls), primaries. Binary operators are left-associative.
//! Every parsing function returns the expression with its tree depth, which
//! is capped at [`MAX_DEPTH`].

use crate::ast::{BinaryOp, Expr, ExprKind, Ident, Literal, Path, PathStep, UnaryOp};
use crate::diagnostic::Diagnostic;
use crate::span::{Span, Spanned};

use super::keywords;
use super::lexical::{Punct, Tok};
use super::{Fail, PResult, Parser, MAX_DEPTH};

/// An expression and the depth of its tree.
type Pe = (Expr, usize);

#[derive(Clone, Copy)]
enum Infix {
    Binary(BinaryOp),
    Predicate,
}

fn node(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

impl Parser<'_> {
    /// A whole expression.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.expr_d().map(|(e, _)| e)
    }

    fn expr_d(&mut self) -> PResult<Pe> {
        self.enter()?;
        let r = self.binary_expr(1);
        self.leave();
        r
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&mut self, span: Span) -> Fail {
        self.report(
            Diagnostic::error("nesting-too-deep", "expression nested too deeply", span)
                .with_label(format!("more than {MAX_DEPTH} levels of operators"))
                .with_help("split the condition into simpler parts"),
        )
    }

    fn check_depth(&mut self, depth: usize, span: Span) -> PResult<usize> {
        if depth > MAX_DEPTH {
            return Err(self.too_deep(span));
        }
        Ok(depth)
    }

    fn binary(&mut self, op: BinaryOp, lhs: Pe, rhs: Pe) -> PResult<Pe> {
        let span = lhs.0.span.to(rhs.0.span);
        let depth = self.check_depth(lhs.1.max(rhs.1) + 1, span)?;
        let kind = ExprKind::Binary {
            op,
            lhs: Box::new(lhs.0),
            rhs: Box::new(rhs.0),
        };
        Ok((node(kind, span), depth))
    }

    /// The infix operator here and its precedence: `or` 1, `and` 2,
    /// comparisons and predicates 4, `+ -` 5, `* / %` 6.
    fn infix(&self) -> Option<(Infix, u8)> {
        if let Some(op) = self.cmp_op() {
            return Some((Infix::Binary(op), 4));
        }
        if self.at_comparison() {
            return Some((Infix::Predicate, 4));
        }
        let op = match &self.peek().tok {
            Tok::Punct(Punct::Plus) => BinaryOp::Add,
            Tok::Punct(Punct::Minus) => BinaryOp::Sub,
            Tok::Punct(Punct::Star) => BinaryOp::Mul,
            Tok::Punct(Punct::Slash) => BinaryOp::Div,
            Tok::Punct(Punct::Percent) => BinaryOp::Rem,
            Tok::Ident(w) if w.eq_ignore_ascii_case("and") => BinaryOp::And,
            Tok::Ident(w) if w.eq_ignore_ascii_case("or") => BinaryOp::Or,
            _ => return None,
        };
        Some((Infix::Binary(op), op.precedence()))
    }

    /// Precedence climbing: an expression whose operators all bind at least
    /// as tightly as `min`. Prefix `not` (precedence 3) is taken when `min`
    /// allows it.
    fn binary_expr(&mut self, min: u8) -> PResult<Pe> {
        let mut lhs = if min <= 3 && self.at_kw("not") {
            self.not_expr()?
        } else {
            self.unary_expr()?
        };
        while let Some((infix, prec)) = self.infix() {
            if prec < min {
                break;
            }
            lhs = self.fold(lhs, infix, prec)?;
        }
        Ok(lhs)
    }

    /// `lhs OP rhs` (or a predicate) at the operator.
    #[inline(never)]
    fn fold(&mut self, lhs: Pe, infix: Infix, prec: u8) -> PResult<Pe> {
        let folded = match infix {
            Infix::Binary(op) => {
                self.bump();
                // Comparisons are non-associative: both operands are additive.
                let rhs = self.binary_expr(if prec == 4 { 5 } else { prec + 1 })?;
                self.binary(op, lhs, rhs)?
            }
            Infix::Predicate => self.predicate(lhs)?,
        };
        if prec == 4 && self.infix().is_some_and(|(_, p)| p >= 4) {
            return Err(self.chained(folded.0.span));
        }
        Ok(folded)
    }

    fn not_expr(&mut self) -> PResult<Pe> {
        let not = self.bump().span;
        self.enter()?;
        let inner = self.binary_expr(3);
        self.leave();
        let (e, d) = inner?;
        let span = not.to(e.span);
        let depth = self.check_depth(d + 1, span)?;
        let kind = ExprKind::Unary {
            op: UnaryOp::Not,
            expr: Box::new(e),
        };
        Ok((node(kind, span), depth))
    }

    #[cold]
    #[inline(never)]
    fn chained(&mut self, first: Span) -> Fail {
        let span = self.span();
        if !self.at_comparison() {
            let found = super::describe(&self.peek().tok);
            return self.report(
                Diagnostic::error("syntax", format!("unexpected {found} after a comparison"), span)
                    .with_label("comparisons bind less tightly than arithmetic")
                    .with_secondary(first, "this comparison")
                    .with_help("add parentheses around the comparison"),
            );
        }
        self.report(
            Diagnostic::error("syntax", "comparisons cannot be chained", span)
                .with_label("a second comparison")
                .with_secondary(first, "after this comparison")
                .with_help("join comparisons with `and`, or add parentheses"),
        )
    }

    fn cmp_op(&self) -> Option<BinaryOp> {
        let Tok::Punct(p) = self.peek().tok else {
            return None;
        };
        Some(match p {
            Punct::Eq | Punct::EqEq => BinaryOp::Eq,
            Punct::Ne | Punct::LtGt => BinaryOp::Ne,
            Punct::Lt => BinaryOp::Lt,
            Punct::Le => BinaryOp::Le,
            Punct::Gt => BinaryOp::Gt,
            Punct::Ge => BinaryOp::Ge,
            _ => return None,
        })
    }

    /// Whether a comparison or predicate could start here.
    fn at_comparison(&self) -> bool {
        self.cmp_op().is_some()
            || self.at_kw("in")
            || self.at_kw("between")
            || self.at_kw("is")
            || self.at_kw("matches")
            || (self.at_kw("not") && (self.at_kw_n(1, "in") || self.at_kw_n(1, "between")))
    }

    /// `in`, `between`, `is null`, `matches` after their left operand.
    fn predicate(&mut self, lhs: Pe) -> PResult<Pe> {
        let (lhs, ld) = lhs;
        let start = lhs.span;
        if self.eat_kw("is").is_some() {
            let negated = self.eat_kw("not").is_some();
            self.expect_kw("null", " after `is`")?;
            let span = start.to(Span::new(self.prev_end(), self.prev_end()));
            let depth = self.check_depth(ld + 1, span)?;
            let kind = ExprKind::IsNull {
                expr: Box::new(lhs),
                negated,
            };
            return Ok((node(kind, span), depth));
        }
        if self.eat_kw("matches").is_some() {
            let regex = self.string_lit("a regular expression in double quotes after `matches`")?;
            let span = start.to(regex.span);
            let depth = self.check_depth(ld + 1, span)?;
            let kind = ExprKind::Matches {
                expr: Box::new(lhs),
                regex,
            };
            return Ok((node(kind, span), depth));
        }
        let negated = self.eat_kw("not").is_some();
        if self.eat_kw("in").is_some() {
            self.expect_punct(Punct::LBracket, " to open the list after `in`")?;
            let mut list = Vec::new();
            let mut depth = ld;
            if self.eat_punct(Punct::RBracket).is_none() {
                loop {
                    let (item, d) = self.expr_d()?;
                    depth = depth.max(d);
                    list.push(item);
                    if self.eat_punct(Punct::Comma).is_some() {
                        continue;
                    }
                    self.expect_punct(Punct::RBracket, " or `,` in the list")?;
                    break;
                }
            }
            let span = start.to(Span::new(self.prev_end(), self.prev_end()));
            let depth = self.check_depth(depth + 1, span)?;
            let kind = ExprKind::In {
                expr: Box::new(lhs),
                list,
                negated,
            };
            return Ok((node(kind, span), depth));
        }
        // `between` (the only predicate left, see `at_comparison`).
        self.expect_kw("between", " after `not`")?;
        let (low, dl) = self.binary_expr(5)?;
        self.expect_kw("and", " between the bounds of `between`")?;
        let (high, dh) = self.binary_expr(5)?;
        let span = start.to(high.span);
        let depth = self.check_depth(ld.max(dl).max(dh) + 1, span)?;
        let kind = ExprKind::Between {
            expr: Box::new(lhs),
            low: Box::new(low),
            high: Box::new(high),
            negated,
        };
        Ok((node(kind, span), depth))
    }

    fn unary_expr(&mut self) -> PResult<Pe> {
        let Some(minus) = self.eat_punct(Punct::Minus) else {
            return self.primary();
        };
        self.enter()?;
        let inner = self.unary_expr();
        self.leave();
        let (e, d) = inner?;
        let span = minus.to(e.span);
        let depth = self.check_depth(d + 1, span)?;
        let kind = ExprKind::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(e),
        };
        Ok((node(kind, span), depth))
    }

    // The functions on the recursion path (`expr_d`, `binary_expr`,
    // `unary_expr`, `primary`, `name_expr`, `call_args`) are kept small, with
    // every diagnostic built in an out-of-line function, so that the deepest
    // input allowed fits in a small stack even in a debug build.

    fn primary(&mut self) -> PResult<Pe> {
        match &self.peek().tok {
            Tok::Punct(Punct::LParen) => {
                let open = self.bump().span;
                let (mut e, d) = self.expr_d()?;
                let close = self.expect_punct(Punct::RParen, " to close `(`")?;
                e.span = open.to(close);
                self.no_postfix("a parenthesised expression")?;
                Ok((e, d))
            }
            Tok::Ident(w) if keywords::is_reserved(w) => self.keyword_primary(),
            Tok::Ident(_) | Tok::Quoted(_) => {
                let t = self.bump();
                let (Tok::Ident(w) | Tok::Quoted(w)) = t.tok else {
                    return Err(Fail);
                };
                self.name_expr(Ident::new(w, t.span))
            }
            _ => self.literal_primary(),
        }
    }

    /// A literal, or an error where an expression should start.
    #[inline(never)]
    fn literal_primary(&mut self) -> PResult<Pe> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Number(n) => {
                self.bump();
                self.number_literal(n, t.span)?
            }
            Tok::Str(s) => {
                self.bump();
                Literal::String(s.clone())
            }
            _ => return Err(self.expected("an expression")),
        };
        self.no_postfix("a literal")?;
        Ok((node(ExprKind::Literal(lit), t.span), 1))
    }

    /// At a reserved word: `true`, `false`, `null`, a clause keyword used as
    /// the head of a path (`window.start`), or an error.
    #[inline(never)]
    fn keyword_primary(&mut self) -> PResult<Pe> {
        let t = self.peek().clone();
        let Tok::Ident(w) = &t.tok else {
            return Err(self.expected("an expression"));
        };
        let lit = if w.eq_ignore_ascii_case("true") {
            Some(Literal::Bool(true))
        } else if w.eq_ignore_ascii_case("false") {
            Some(Literal::Bool(false))
        } else if w.eq_ignore_ascii_case("null") {
            Some(Literal::Null)
        } else {
            None
        };
        if let Some(lit) = lit {
            self.bump();
            self.no_postfix("a literal")?;
            return Ok((node(ExprKind::Literal(lit), t.span), 1));
        }
        // `window.start`: a clause keyword followed by `.` is a path.
        if keywords::is_clause_keyword(w) && self.peek_at(1).tok == Tok::Punct(Punct::Dot) {
            self.bump();
            return self.name_expr(Ident::new(w.clone(), t.span));
        }
        let d = Diagnostic::error("syntax", format!("expected an expression, found keyword `{w}`"), t.span)
            .with_label("expected an expression")
            .with_help(format!("to use `{w}` as a name, write it in backticks: `` `{w}` ``"));
        Err(self.report(d))
    }

    /// Refuses `.x`, `[i]` and `(...)` after something that is not a name.
    fn no_postfix(&mut self, what: &str) -> PResult<()> {
        if self.at_punct(Punct::Dot) || self.at_punct(Punct::LBracket) || self.at_punct(Punct::LParen) {
            return Err(self.postfix_error(what));
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn postfix_error(&mut self, what: &str) -> Fail {
        let span = self.span();
        let found = super::describe(&self.peek().tok);
        self.report(
            Diagnostic::error("syntax", format!("unexpected {found} after {what}"), span)
                .with_label("only names have fields, elements or calls"),
        )
    }

    /// After a name: a path (`a.b[0].c`) or a call (`f(x)`, `last(x).f`).
    fn name_expr(&mut self, head: Ident) -> PResult<Pe> {
        if !self.at_punct(Punct::LParen) {
            return self.path_steps(head, Vec::new());
        }
        let (args, depth) = self.call_args()?;
        let call_span = head.span.to(Span::new(self.prev_end(), self.prev_end()));
        if self.at_punct(Punct::Dot) {
            return self.call_member(head, args, call_span);
        }
        self.no_postfix("a function call")?;
        let depth = self.check_depth(depth + 1, call_span)?;
        Ok((node(ExprKind::Call { func: head, args }, call_span), depth))
    }

    /// `( args )`, with the deepest argument's depth.
    fn call_args(&mut self) -> PResult<(Vec<Expr>, usize)> {
        self.bump();
        let mut args = Vec::new();
        let mut depth = 0;
        if self.eat_punct(Punct::RParen).is_some() {
            return Ok((args, depth));
        }
        loop {
            let (arg, d) = self.expr_d()?;
            depth = depth.max(d);
            args.push(arg);
            if self.eat_punct(Punct::Comma).is_some() {
                continue;
            }
            self.expect_punct(Punct::RParen, " or `,` after a function argument")?;
            return Ok((args, depth));
        }
    }

    /// `last(x).f` is `x[-1].f`, `first(x).f` is `x[0].f`; other calls have
    /// no members.
    #[inline(never)]
    fn call_member(&mut self, func: Ident, args: Vec<Expr>, call_span: Span) -> PResult<Pe> {
        let index = if func.name.eq_ignore_ascii_case("last") {
            Some(-1)
        } else if func.name.eq_ignore_ascii_case("first") {
            Some(0)
        } else {
            None
        };
        let var = match (index, args.as_slice()) {
            (
                Some(i),
                [Expr {
                    kind: ExprKind::Path(Path { head: var, steps }),
                    ..
                }],
            ) if steps.is_empty() => Some((i, var.clone())),
            _ => None,
        };
        let Some((i, var)) = var else {
            let span = self.span();
            return Err(self.report(
                Diagnostic::error("syntax", "a function call has no fields", span)
                    .with_label("`.` after a call")
                    .with_secondary(call_span, "this call")
                    .with_help("`last(v).f` and `first(v).f` take one pattern variable `v`; elsewhere write `v[-1].f` or `v[0].f`"),
            ));
        };
        let mut path = self.path_steps(var, vec![PathStep::Index(Spanned::new(i, call_span))])?;
        path.0.span = call_span.to(path.0.span);
        Ok(path)
    }

    /// `.name` and `[int]` steps after a path head.
    #[inline(never)]
    fn path_steps(&mut self, head: Ident, mut steps: Vec<PathStep>) -> PResult<Pe> {
        let start = head.span;
        loop {
            if self.eat_punct(Punct::Dot).is_some() {
                let member = self.name("a field name after `.`", true)?;
                steps.push(PathStep::Member(member));
            } else if let Some(open) = self.eat_punct(Punct::LBracket) {
                let neg = self.eat_punct(Punct::Minus).is_some();
                let (v, _) = self.whole_number::<u64>("an integer index")?;
                let value = if neg {
                    0i64.checked_sub_unsigned(v)
                } else {
                    i64::try_from(v).ok()
                };
                let close = self.expect_punct(Punct::RBracket, " to close the index")?;
                let span = open.to(close);
                let Some(value) = value else {
                    return Err(self.report(
                        Diagnostic::error("bad-number", "index out of range", span)
                            .with_label("too large"),
                    ));
                };
                steps.push(PathStep::Index(Spanned::new(value, span)));
            } else if self.at_punct(Punct::LParen) {
                let span = self.span();
                return Err(self.report(
                    Diagnostic::error("syntax", "only a plain name can be called", span)
                        .with_label("call of a path")
                        .with_help("functions are called by name: `f(x)`"),
                ));
            } else {
                break;
            }
        }
        let span = start.to(Span::new(self.prev_end(), self.prev_end()));
        Ok((node(ExprKind::Path(Path { head, steps }), span), 1))
    }
}
