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
use super::{PResult, Parser, MAX_DEPTH};

/// An expression and the depth of its tree.
type Pe = (Expr, usize);

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
        let r = self.or_expr();
        self.leave();
        r
    }

    fn check_depth(&mut self, depth: usize, span: Span) -> PResult<usize> {
        if depth > MAX_DEPTH {
            return Err(self.report(
                Diagnostic::error("nesting-too-deep", "expression nested too deeply", span)
                    .with_label(format!("more than {MAX_DEPTH} levels of operators"))
                    .with_help("split the condition into simpler parts"),
            ));
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

    fn or_expr(&mut self) -> PResult<Pe> {
        let mut lhs = self.and_expr()?;
        while self.eat_kw("or").is_some() {
            let rhs = self.and_expr()?;
            lhs = self.binary(BinaryOp::Or, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> PResult<Pe> {
        let mut lhs = self.not_expr()?;
        while self.eat_kw("and").is_some() {
            let rhs = self.not_expr()?;
            lhs = self.binary(BinaryOp::And, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn not_expr(&mut self) -> PResult<Pe> {
        let Some(not) = self.eat_kw("not") else {
            return self.cmp_expr();
        };
        self.enter()?;
        let inner = self.not_expr();
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

    fn cmp_expr(&mut self) -> PResult<Pe> {
        let lhs = self.add_expr()?;
        if !self.at_comparison() {
            return Ok(lhs);
        }
        let result = self.comparison(lhs)?;
        if self.at_comparison() {
            let span = self.span();
            return Err(self.report(
                Diagnostic::error("syntax", "comparisons cannot be chained", span)
                    .with_label("a second comparison")
                    .with_secondary(result.0.span, "after this comparison")
                    .with_help("join comparisons with `and`, or add parentheses"),
            ));
        }
        Ok(result)
    }

    /// The comparison or predicate after its left operand.
    fn comparison(&mut self, lhs: Pe) -> PResult<Pe> {
        if let Some(op) = self.cmp_op() {
            self.bump();
            let rhs = self.add_expr()?;
            return self.binary(op, lhs, rhs);
        }
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
        if self.eat_kw("between").is_some() {
            let (low, dl) = self.add_expr()?;
            self.expect_kw("and", " between the bounds of `between`")?;
            let (high, dh) = self.add_expr()?;
            let span = start.to(high.span);
            let depth = self.check_depth(ld.max(dl).max(dh) + 1, span)?;
            let kind = ExprKind::Between {
                expr: Box::new(lhs),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            };
            return Ok((node(kind, span), depth));
        }
        Err(self.expected("`in` or `between` after `not`"))
    }

    fn add_expr(&mut self) -> PResult<Pe> {
        let mut lhs = self.mul_expr()?;
        loop {
            let op = if self.at_punct(Punct::Plus) {
                BinaryOp::Add
            } else if self.at_punct(Punct::Minus) {
                BinaryOp::Sub
            } else {
                return Ok(lhs);
            };
            self.bump();
            let rhs = self.mul_expr()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn mul_expr(&mut self) -> PResult<Pe> {
        let mut lhs = self.unary_expr()?;
        loop {
            let op = if self.at_punct(Punct::Star) {
                BinaryOp::Mul
            } else if self.at_punct(Punct::Slash) {
                BinaryOp::Div
            } else if self.at_punct(Punct::Percent) {
                BinaryOp::Rem
            } else {
                return Ok(lhs);
            };
            self.bump();
            let rhs = self.unary_expr()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
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

    fn primary(&mut self) -> PResult<Pe> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Number(n) => {
                self.bump();
                let lit = self.number_literal(n, t.span)?;
                self.no_postfix("a number")?;
                Ok((node(ExprKind::Literal(lit), t.span), 1))
            }
            Tok::Str(s) => {
                self.bump();
                self.no_postfix("a string")?;
                Ok((node(ExprKind::Literal(Literal::String(s.clone())), t.span), 1))
            }
            Tok::Punct(Punct::LParen) => {
                self.bump();
                let (mut e, d) = self.expr_d()?;
                let close = self.expect_punct(Punct::RParen, " to close `(`")?;
                e.span = t.span.to(close);
                self.no_postfix("a parenthesised expression")?;
                Ok((e, d))
            }
            Tok::Ident(w) => {
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
                if keywords::is_reserved(w) {
                    // `window.start`: a clause keyword followed by `.` is a path.
                    let path_head = keywords::is_clause_keyword(w)
                        && self.peek_at(1).tok == Tok::Punct(Punct::Dot);
                    if !path_head {
                        let d = Diagnostic::error(
                            "syntax",
                            format!("expected an expression, found keyword `{w}`"),
                            t.span,
                        )
                        .with_label("expected an expression")
                        .with_help(format!(
                            "to use `{w}` as a name, write it in backticks: `` `{w}` ``"
                        ));
                        return Err(self.report(d));
                    }
                }
                self.bump();
                self.name_expr(Ident::new(w.clone(), t.span))
            }
            Tok::Quoted(w) => {
                self.bump();
                self.name_expr(Ident::new(w.clone(), t.span))
            }
            _ => Err(self.expected("an expression")),
        }
    }

    /// Refuses `.x`, `[i]` and `(...)` after something that is not a name.
    fn no_postfix(&mut self, what: &str) -> PResult<()> {
        if self.at_punct(Punct::Dot) || self.at_punct(Punct::LBracket) || self.at_punct(Punct::LParen) {
            let span = self.span();
            let found = super::describe(&self.peek().tok);
            return Err(self.report(
                Diagnostic::error("syntax", format!("unexpected {found} after {what}"), span)
                    .with_label("only names have fields, elements or calls"),
            ));
        }
        Ok(())
    }

    /// After a name: a path (`a.b[0].c`) or a call (`f(x)`, `last(x).f`).
    fn name_expr(&mut self, head: Ident) -> PResult<Pe> {
        let start = head.span;
        let mut steps = Vec::new();
        let mut depth = 1;
        let mut head = head;
        if self.at_punct(Punct::LParen) {
            self.bump();
            let mut args = Vec::new();
            if self.eat_punct(Punct::RParen).is_none() {
                loop {
                    let (arg, d) = self.expr_d()?;
                    depth = depth.max(d + 1);
                    args.push(arg);
                    if self.eat_punct(Punct::Comma).is_some() {
                        continue;
                    }
                    self.expect_punct(Punct::RParen, " or `,` after a function argument")?;
                    break;
                }
            }
            let call_span = start.to(Span::new(self.prev_end(), self.prev_end()));
            if !self.at_punct(Punct::Dot) {
                self.no_postfix("a function call")?;
                let depth = self.check_depth(depth, call_span)?;
                return Ok((node(ExprKind::Call { func: head, args }, call_span), depth));
            }
            // `last(x).f` is `x[-1].f`, `first(x).f` is `x[0].f`.
            let index = if head.name.eq_ignore_ascii_case("last") {
                Some(-1)
            } else if head.name.eq_ignore_ascii_case("first") {
                Some(0)
            } else {
                None
            };
            let var = match (index, args.as_slice()) {
                (
                    Some(i),
                    [Expr {
                        kind: ExprKind::Path(Path { head: var, steps: s }),
                        ..
                    }],
                ) if s.is_empty() => Some((i, var.clone())),
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
            head = var;
            steps.push(PathStep::Index(Spanned::new(i, call_span)));
            depth = 1;
        }
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
        Ok((node(ExprKind::Path(Path { head, steps }), span), depth))
    }
}
