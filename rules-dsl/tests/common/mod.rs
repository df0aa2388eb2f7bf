//! Helpers shared by the parser tests.
#![allow(dead_code)]

use cepheus_dsl::ast::*;
use cepheus_dsl::Diagnostic;

/// Parses `src`, which must have no diagnostic.
pub fn parse_ok(src: &str) -> File {
    let (file, diags) = cepheus_dsl::parse(src);
    assert!(
        diags.is_empty(),
        "unexpected diagnostics for {src:?}:\n{}",
        cepheus_dsl::diagnostic::render("test.cep", src, &diags)
    );
    file
}

/// The one rule of `rule r { BODY }`.
pub fn rule(body: &str) -> RuleDecl {
    let src = format!("rule r {{ {body} }}");
    let file = parse_ok(&src);
    match file.items.into_iter().next() {
        Some(Item::Rule(r)) => r,
        other => panic!("expected a rule, got {other:?}"),
    }
}

/// The expression `src`, parsed as a `where` condition.
pub fn expr(src: &str) -> Expr {
    rule(&format!("where {src}")).where_.expect("where clause")
}

/// The pattern `src`.
pub fn pattern(src: &str) -> Pattern {
    rule(&format!("pattern {src}")).pattern.expect("pattern clause")
}

/// A fully parenthesised rendering of an expression tree.
pub fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Literal(Literal::Int(i)) => i.to_string(),
        ExprKind::Literal(Literal::Float(f)) => format!("{f:?}"),
        ExprKind::Literal(Literal::String(s)) => format!("{s:?}"),
        ExprKind::Literal(Literal::Bool(b)) => b.to_string(),
        ExprKind::Literal(Literal::Null) => "null".into(),
        ExprKind::Literal(Literal::Duration(d)) => format!("{}{}", d.amount, d.unit.suffix()),
        ExprKind::Path(p) => {
            let mut s = p.head.name.clone();
            for step in &p.steps {
                match step {
                    PathStep::Member(m) => {
                        s.push('.');
                        s.push_str(&m.name);
                    }
                    PathStep::Index(i) => s.push_str(&format!("[{}]", i.node)),
                }
            }
            s
        }
        ExprKind::Unary { op, expr } => {
            let op = match op {
                UnaryOp::Not => "not",
                UnaryOp::Neg => "neg",
            };
            format!("({op} {})", sexp(expr))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
        }
        ExprKind::In { expr, list, negated } => {
            let items: Vec<String> = list.iter().map(sexp).collect();
            let op = if *negated { "not-in" } else { "in" };
            format!("({op} {} [{}])", sexp(expr), items.join(" "))
        }
        ExprKind::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let op = if *negated { "not-between" } else { "between" };
            format!("({op} {} {} {})", sexp(expr), sexp(low), sexp(high))
        }
        ExprKind::IsNull { expr, negated } => {
            let op = if *negated { "is-not-null" } else { "is-null" };
            format!("({op} {})", sexp(expr))
        }
        ExprKind::Matches { expr, regex } => format!("(matches {} {:?})", sexp(expr), regex.value),
        ExprKind::Call { func, args } => {
            let items: Vec<String> = args.iter().map(sexp).collect();
            format!("{}({})", func.name, items.join(", "))
        }
    }
}

/// Parses `src` and returns its diagnostics (at least one is expected).
pub fn diags(src: &str) -> Vec<Diagnostic> {
    let (_, diags) = cepheus_dsl::parse(src);
    assert!(!diags.is_empty(), "expected diagnostics for {src:?}");
    diags
}

/// The text under a diagnostic's primary span.
pub fn under<'a>(src: &'a str, d: &Diagnostic) -> &'a str {
    src.get(d.primary.span.range()).unwrap_or("<bad span>")
}

/// `(code, text under the caret)` of every diagnostic.
pub fn codes(src: &str) -> Vec<(&'static str, &str)> {
    diags(src).iter().map(|d| (d.code, under(src, d))).collect()
}
