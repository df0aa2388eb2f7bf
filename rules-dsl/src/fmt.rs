//! The formatter: AST -> canonical text.
//!
//! Items are separated by a blank line; streams list one field per line;
//! rules hold one clause per line in the canonical order (severity, from,
//! where, partition by, pattern, define, within, after match, on timeout,
//! window, allow lateness, having, emit, message, notify, labels, suppress).
//! Expressions get the fewest parentheses that keep their tree, keywords are
//! lowercase, and names that are keywords are written in backticks.
//!
//! The output parses back to an equal tree (`parse(format(ast)) == ast`), and
//! formatting is idempotent.

use std::borrow::Cow;
use std::fmt::Write;

use crate::ast::{
    Contiguity, Count, Define, Duration, EmitItem, Expr, ExprKind, FieldPath, File, Item, Literal,
    LoopContiguity, OnTimeout, Path, PathStep, Pattern, Quantifier, RuleDecl, SkipStrategy,
    StreamDecl, Term, TermKind, UnaryOp, WindowKind,
};
use crate::parser::keywords;

/// Prints a file in canonical form.
pub fn format_file(file: &File) -> String {
    let mut out = String::new();
    for (i, item) in file.items.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match item {
            Item::Stream(s) => stream(&mut out, s),
            Item::Rule(r) => rule(&mut out, r),
        }
    }
    out
}

/// Prints one expression (as it would appear in a clause).
pub fn format_expr(e: &Expr) -> String {
    let mut out = String::new();
    expr(&mut out, e, 0);
    out
}

/// Prints one pattern (as it would appear after `pattern`).
pub fn format_pattern(p: &Pattern) -> String {
    let mut out = String::new();
    pattern(&mut out, p);
    out
}

/// A name, in backticks when it could not be read back as a bare name.
fn name(n: &str) -> Cow<'_, str> {
    if keywords::needs_backticks(n) {
        Cow::Owned(format!("`{n}`"))
    } else {
        Cow::Borrowed(n)
    }
}

fn field_path(p: &FieldPath) -> String {
    let parts: Vec<Cow<'_, str>> = p.segments.iter().map(|s| name(&s.name)).collect();
    parts.join(".")
}

fn duration(d: &Duration) -> String {
    format!("{}{}", d.amount, d.unit.suffix())
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

fn stream(out: &mut String, s: &StreamDecl) {
    let _ = write!(out, "stream {} (", name(&s.name.name));
    if !s.fields.is_empty() {
        out.push('\n');
        let paths: Vec<String> = s.fields.iter().map(|f| field_path(&f.path)).collect();
        let width = paths.iter().map(|p| p.chars().count()).max().unwrap_or(0);
        let last = s.fields.len().saturating_sub(1);
        for (i, (f, p)) in s.fields.iter().zip(&paths).enumerate() {
            let pad = width.saturating_sub(p.chars().count());
            let _ = write!(
                out,
                "  {p}{} {}{}",
                " ".repeat(pad),
                name(&f.ty.name.name),
                if f.ty.nullable { "?" } else { "" }
            );
            out.push_str(if i == last { "\n" } else { ",\n" });
        }
    }
    out.push(')');
    let mut tail = Vec::new();
    if !s.key.is_empty() {
        let keys: Vec<String> = s.key.iter().map(field_path).collect();
        tail.push(format!("key {}", keys.join(", ")));
    }
    if let Some(t) = &s.time {
        tail.push(format!("time {}", field_path(t)));
    }
    if let Some(l) = &s.lateness {
        tail.push(format!("lateness {}", duration(l)));
    }
    for line in tail {
        out.push('\n');
        out.push_str(&line);
    }
    out.push_str(";\n");
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

fn rule(out: &mut String, r: &RuleDecl) {
    let mut clauses: Vec<String> = Vec::new();
    if let Some(s) = &r.severity {
        clauses.push(format!("severity {}", s.node.as_str()));
    }
    if let Some(f) = &r.from {
        clauses.push(format!("from {}", name(&f.name)));
    }
    if let Some(w) = &r.where_ {
        clauses.push(format!("where {}", format_expr(w)));
    }
    if !r.partition_by.is_empty() {
        let list: Vec<String> = r.partition_by.iter().map(format_expr).collect();
        clauses.push(format!("partition by {}", list.join(", ")));
    }
    if let Some(p) = &r.pattern {
        clauses.push(format!("pattern {}", format_pattern(p)));
    }
    if !r.define.is_empty() {
        clauses.push(defines(&r.define));
    }
    if let Some(d) = &r.within {
        clauses.push(format!("within {}", duration(d)));
    }
    if let Some(s) = &r.skip {
        clauses.push(format!("after match {}", skip(&s.node)));
    }
    // `on timeout emit x` directly followed by `message "..."` would read the
    // message as its own: then the rule's message goes first.
    let timeout_before_message = r.on_timeout.as_ref().is_some_and(|t| {
        t.message.is_some()
            || r.message.is_none()
            || r.window.is_some()
            || r.allow_lateness.is_some()
            || r.having.is_some()
            || r.emit.is_some()
    });
    if let (Some(t), true) = (&r.on_timeout, timeout_before_message) {
        clauses.push(on_timeout(t));
    }
    if let Some(w) = &r.window {
        clauses.push(format!("window {}", window(&w.kind)));
    }
    if let Some(d) = &r.allow_lateness {
        clauses.push(format!("allow lateness {}", duration(d)));
    }
    if let Some(h) = &r.having {
        clauses.push(format!("having {}", format_expr(h)));
    }
    if let Some(items) = &r.emit {
        clauses.push(format!("emit {}", emit_items(items)));
    }
    if let Some(m) = &r.message {
        let mut line = String::from("message ");
        string(&mut line, &m.value);
        clauses.push(line);
    }
    if let (Some(t), false) = (&r.on_timeout, timeout_before_message) {
        clauses.push(on_timeout(t));
    }
    if !r.notify.is_empty() {
        let list: Vec<Cow<'_, str>> = r.notify.iter().map(|n| name(&n.name)).collect();
        clauses.push(format!("notify {}", list.join(", ")));
    }
    if !r.labels.is_empty() {
        let mut line = String::from("labels (");
        for (i, l) in r.labels.iter().enumerate() {
            if i > 0 {
                line.push_str(", ");
            }
            let _ = write!(line, "{} = ", name(&l.name.name));
            string(&mut line, &l.value.value);
        }
        line.push(')');
        clauses.push(line);
    }
    if let Some(d) = &r.suppress {
        clauses.push(format!("suppress {}", duration(d)));
    }

    let _ = write!(out, "rule {} {{", name(&r.name.name));
    if clauses.is_empty() {
        out.push_str("}\n");
        return;
    }
    out.push('\n');
    for c in clauses {
        for line in c.lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("}\n");
}

fn defines(list: &[Define]) -> String {
    let vars: Vec<Cow<'_, str>> = list.iter().map(|d| name(&d.var.name)).collect();
    let width = vars.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    let mut text = String::from("define");
    let last = list.len().saturating_sub(1);
    for (i, (d, v)) in list.iter().zip(&vars).enumerate() {
        let pad = width.saturating_sub(v.chars().count());
        let _ = write!(text, "\n  {v}{} as {}", " ".repeat(pad), format_expr(&d.condition));
        if let Some(u) = &d.until {
            let _ = write!(text, " until {}", format_expr(u));
        }
        if i != last {
            text.push(',');
        }
    }
    text
}

fn skip(s: &SkipStrategy) -> String {
    match s {
        SkipStrategy::NoSkip => "no skip".to_string(),
        SkipStrategy::ToNext => "skip to next".to_string(),
        SkipStrategy::PastLastEvent => "skip past last event".to_string(),
        SkipStrategy::ToFirst(v) => format!("skip to first {}", name(&v.name)),
        SkipStrategy::ToLast(v) => format!("skip to last {}", name(&v.name)),
    }
}

fn on_timeout(t: &OnTimeout) -> String {
    let mut line = format!("on timeout emit {}", emit_items(&t.emit));
    if let Some(m) = &t.message {
        line.push_str(" message ");
        string(&mut line, &m.value);
    }
    line
}

fn window(k: &WindowKind) -> String {
    match k {
        WindowKind::Tumbling { size } => format!("tumbling {}", duration(size)),
        WindowKind::Sliding { size, every } => {
            format!("sliding {} every {}", duration(size), duration(every))
        }
        WindowKind::Session { gap } => format!("session gap {}", duration(gap)),
        WindowKind::Count { size, every } => match every {
            Some(e) => format!("count {} every {}", size.node, e.node),
            None => format!("count {}", size.node),
        },
    }
}

fn emit_items(items: &[EmitItem]) -> String {
    let list: Vec<String> = items
        .iter()
        .map(|i| match &i.alias {
            Some(a) => format!("{} as {}", format_expr(&i.expr), name(&a.name)),
            None => format_expr(&i.expr),
        })
        .collect();
    list.join(", ")
}

// ---------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------

fn pattern(out: &mut String, p: &Pattern) {
    for (i, t) in p.terms.iter().enumerate() {
        if i > 0 {
            let join = p.joins.get(i - 1).map_or(Contiguity::Strict, |j| j.node);
            out.push_str(match join {
                Contiguity::Strict => " ",
                Contiguity::Relaxed => " -> ",
                Contiguity::NonDeterministic => " ->> ",
            });
        }
        term(out, t);
    }
}

fn term(out: &mut String, t: &Term) {
    if t.negated {
        out.push('!');
    }
    match &t.kind {
        TermKind::Var(v) => out.push_str(&name(&v.name)),
        TermKind::Group(g) => {
            out.push('(');
            pattern(out, g);
            out.push(')');
        }
    }
    if let Some(q) = &t.quantifier {
        quantifier(out, q);
    }
}

fn quantifier(out: &mut String, q: &Quantifier) {
    let _ = match q.count {
        Count::Once => Ok(()),
        Count::Exactly(n) => write!(out, "{{{n}}}"),
        Count::Range(n, m) => write!(out, "{{{n},{m}}}"),
        Count::AtLeast(n) => write!(out, "{{{n},}}"),
        Count::OneOrMore => {
            out.push(if q.optional { '*' } else { '+' });
            Ok(())
        }
    };
    if q.optional && q.count != Count::OneOrMore {
        out.push('?');
    }
    if q.greedy {
        out.push_str(" greedy");
    }
    match q.looping {
        LoopContiguity::Relaxed => {}
        LoopContiguity::Consecutive => out.push_str(" consecutive"),
        LoopContiguity::Any => out.push_str(" any"),
    }
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/// Binding strength as printed: `or` 1, `and` 2, `not` 3, comparisons and
/// predicates 4, `+ -` 5, `* / %` 6, unary `-` 7, the rest 8.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Unary { op: UnaryOp::Not, .. } => 3,
        ExprKind::In { .. }
        | ExprKind::Between { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::Matches { .. } => 4,
        ExprKind::Unary { op: UnaryOp::Neg, .. } => 7,
        ExprKind::Literal(_) | ExprKind::Path(_) | ExprKind::Call { .. } => 8,
    }
}

/// Operands of comparisons and predicates: additive expressions and tighter.
const OPERAND: u8 = 5;

/// Writes `e`, in parentheses if it binds less tightly than `min`.
fn expr(out: &mut String, e: &Expr, min: u8) {
    if precedence(e) < min {
        out.push('(');
        expr_bare(out, e);
        out.push(')');
    } else {
        expr_bare(out, e);
    }
}

fn expr_bare(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Literal(l) => literal(out, l),
        ExprKind::Path(p) => path(out, p),
        ExprKind::Unary { op: UnaryOp::Not, expr: inner } => {
            out.push_str("not ");
            expr(out, inner, 3);
        }
        ExprKind::Unary { op: UnaryOp::Neg, expr: inner } => {
            let mut operand = String::new();
            expr(&mut operand, inner, 7);
            // `--` would start a comment.
            out.push_str(if operand.starts_with('-') { "- " } else { "-" });
            out.push_str(&operand);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            let (lmin, rmin) = if op.is_comparison() {
                (OPERAND, OPERAND)
            } else {
                (p, p + 1)
            };
            expr(out, lhs, lmin);
            let _ = write!(out, " {} ", op.symbol());
            expr(out, rhs, rmin);
        }
        ExprKind::In {
            expr: inner,
            list,
            negated,
        } => {
            expr(out, inner, OPERAND);
            out.push_str(if *negated { " not in [" } else { " in [" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, item, 0);
            }
            out.push(']');
        }
        ExprKind::Between {
            expr: inner,
            low,
            high,
            negated,
        } => {
            expr(out, inner, OPERAND);
            out.push_str(if *negated { " not between " } else { " between " });
            expr(out, low, OPERAND);
            out.push_str(" and ");
            expr(out, high, OPERAND);
        }
        ExprKind::IsNull {
            expr: inner,
            negated,
        } => {
            expr(out, inner, OPERAND);
            out.push_str(if *negated { " is not null" } else { " is null" });
        }
        ExprKind::Matches { expr: inner, regex } => {
            expr(out, inner, OPERAND);
            out.push_str(" matches ");
            string(out, &regex.value);
        }
        ExprKind::Call { func, args } => {
            out.push_str(&name(&func.name));
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, a, 0);
            }
            out.push(')');
        }
    }
}

fn literal(out: &mut String, l: &Literal) {
    let _ = match l {
        Literal::Int(i) => write!(out, "{i}"),
        // `{:?}` prints the shortest text that reads back as the same f64,
        // always with a `.` or an exponent (`2.0`, `1e300`).
        Literal::Float(f) => write!(out, "{f:?}"),
        Literal::String(s) => {
            string(out, s);
            Ok(())
        }
        Literal::Bool(b) => write!(out, "{b}"),
        Literal::Null => write!(out, "null"),
        Literal::Duration(d) => write!(out, "{}", duration(d)),
    };
}

fn path(out: &mut String, p: &Path) {
    // `window.start`: a clause keyword followed by `.` reads as a path head.
    let bare_head = keywords::is_clause_keyword(&p.head.name)
        && keywords::is_plain_ident(&p.head.name)
        && matches!(p.steps.first(), Some(PathStep::Member(_)));
    if bare_head {
        out.push_str(&p.head.name);
    } else {
        out.push_str(&name(&p.head.name));
    }
    for s in &p.steps {
        match s {
            PathStep::Member(m) => {
                out.push('.');
                out.push_str(&name(&m.name));
            }
            PathStep::Index(i) => {
                let _ = write!(out, "[{}]", i.node);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(src: &str) -> String {
        let (file, diags) = crate::parser::parse_file(src);
        assert!(diags.is_empty(), "{diags:?}");
        let text = format_file(&file);
        let (again, diags) = crate::parser::parse_file(&text);
        assert!(diags.is_empty(), "{text}\n{diags:?}");
        assert_eq!(again, file, "{text}");
        assert_eq!(format_file(&again), text);
        text
    }

    #[test]
    fn minimal_parentheses() {
        let text = round("rule r { where (a - (b - c)) * -(-d) = (x or y) and not (p and q) }");
        assert!(text.contains("where (a - (b - c)) * - -d = (x or y) and not (p and q)"), "{text}");
    }

    #[test]
    fn comparisons_need_parentheses_as_operands() {
        let text = round("rule r { where (a < b) = (c in [1]) or (not x) is null }");
        assert!(text.contains("where (a < b) = (c in [1]) or (not x) is null"), "{text}");
    }

    #[test]
    fn keywords_as_names_get_backticks() {
        let text = round("rule r { emit `where` as `message`, window.start, `and`.x, `count`(y) }");
        assert!(text.contains("emit `where` as `message`, window.start, `and`.x, count(y)"), "{text}");
    }

    #[test]
    fn timeout_message_stays_with_its_clause() {
        let text = round("rule r { message \"m\" on timeout emit a pattern a }");
        let (file, _) = crate::parser::parse_file(&text);
        let Some(Item::Rule(r)) = file.items.first() else {
            panic!()
        };
        assert!(r.message.is_some() && r.on_timeout.as_ref().is_some_and(|t| t.message.is_none()));
    }
}
