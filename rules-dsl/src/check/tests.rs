//! Unit tests of the checker's parts: field resolution, expression types,
//! variable scoping, quantifier mapping, message templates.

use crate::ast::{self, Contiguity, Count, Ident, LoopContiguity, PathStep, Term, TermKind};
use crate::diagnostic::Diagnostic;
use crate::plan::{self, Aggregate, FieldSchema, JsonStep, OutputField, StreamSchema, TemplatePart};
use crate::span::{Span, Spanned};
use crate::types::{BaseType, Type};

use super::expr::{ExprChecker, Typed};
use super::output::template;
use super::pattern::{build_stages, collect_vars, validate};
use super::scope::{resolve_field, Ctx, Scope, VarInfo};
use super::ty::Ty;

fn field(name: &str, base: BaseType, nullable: bool) -> FieldSchema {
    FieldSchema {
        name: name.to_string(),
        path: name.split('.').map(str::to_string).collect(),
        ty: Type { base, nullable },
    }
}

fn schema() -> StreamSchema {
    StreamSchema {
        name: "s".into(),
        fields: vec![
            field("amount", BaseType::Float, false),
            field("n", BaseType::Int, false),
            field("name", BaseType::String, false),
            field("ts", BaseType::Timestamp, false),
            field("vib", BaseType::Float, true),
            field("device.temp", BaseType::Float, false),
            field("payload", BaseType::Json, false),
            field("ok", BaseType::Bool, false),
            field("wait", BaseType::Duration, false),
        ],
        key: vec![],
        time: Some(3),
        lateness_ms: 0,
    }
}

fn id(name: &str) -> Ident {
    Ident::new(name, Span::default())
}

fn member(name: &str) -> PathStep {
    PathStep::Member(id(name))
}

/// The `where` expression of a one-line rule, parsed by the real parser.
fn where_expr(expr: &str) -> ast::Expr {
    let src = format!("rule r {{ from s where {expr} window tumbling 1m }}");
    let (file, diags) = crate::parse(&src);
    assert!(diags.is_empty(), "{expr}: {diags:?}");
    match file.items.into_iter().next() {
        Some(ast::Item::Rule(r)) => r.where_.expect("where"),
        other => panic!("{other:?}"),
    }
}

fn var(name: &str, id: u32, multi: bool, max: Option<u64>) -> VarInfo {
    VarInfo {
        name: name.into(),
        id,
        span: Span::default(),
        multi,
        max_events: max,
        negated: false,
        unbounded_loop: max.is_none(),
        in_group: false,
    }
}

/// Type-checks `expr` in context `ctx` with variables `small` (a loop, id 0)
/// and `big` (one event, id 1).
fn check_in(expr: &str, ctx: Ctx) -> (Typed, Vec<Diagnostic>) {
    let schema = schema();
    let vars = vec![var("small", 0, true, None), var("big", 1, false, Some(1))];
    let scope = Scope {
        stream: Some(&schema),
        vars: &vars,
        keys: &[],
        window_rule: false,
    };
    let mut diags = Vec::new();
    let mut aggs: Vec<Aggregate> = Vec::new();
    let e = where_expr(expr);
    let t = ExprChecker {
        scope: &scope,
        ctx,
        diags: &mut diags,
        aggs: &mut aggs,
    }
    .check(&e);
    (t, diags)
}

fn ty_of(expr: &str) -> Ty {
    let (t, diags) = check_in(expr, Ctx::Where);
    assert!(diags.is_empty(), "{expr}: {diags:?}");
    t.ty
}

fn codes_of(expr: &str, ctx: Ctx) -> Vec<&'static str> {
    check_in(expr, ctx).1.iter().map(|d| d.code).collect()
}

#[test]
fn resolves_declared_dotted_fields_and_json_steps() {
    let s = schema();
    let mut diags = Vec::new();
    let r = resolve_field(&s, &id("device"), &[member("temp")], &mut diags).expect("device.temp");
    assert_eq!((r.slot, r.steps.len(), r.ty.map(|t| t.base)), (5, 0, Some(BaseType::Float)));
    let r = resolve_field(
        &s,
        &id("payload"),
        &[member("a"), PathStep::Index(Spanned::new(-1, Span::default()))],
        &mut diags,
    )
    .expect("payload.a[-1]");
    assert_eq!(r.slot, 6);
    assert_eq!(r.steps, vec![JsonStep::Key("a".into()), JsonStep::Index(-1)]);
    assert!(r.ty.is_none(), "dynamic below json");
    assert!(diags.is_empty());
}

#[test]
fn reports_unknown_fields_with_suggestions_and_scalar_members() {
    let s = schema();
    let mut diags = Vec::new();
    assert!(resolve_field(&s, &id("amout"), &[], &mut diags).is_none());
    assert!(resolve_field(&s, &id("device"), &[member("tmp")], &mut diags).is_none());
    assert!(resolve_field(&s, &id("amount"), &[member("cents")], &mut diags).is_none());
    let got: Vec<(&str, Option<&str>)> = diags.iter().map(|d| (d.code, d.help.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("unknown-field", Some("did you mean 'amount'?")),
            ("unknown-field", Some("did you mean 'device.temp'?")),
            ("not-json", got[2].1),
        ]
    );
    assert_eq!(diags[0].message, "unknown field 'amout' on stream s");
}

#[test]
fn numeric_promotion_and_division() {
    assert_eq!(ty_of("amount + n"), Ty::FLOAT);
    assert_eq!(ty_of("n + n * 2"), Ty::INT);
    assert_eq!(ty_of("n / 2"), Ty::FLOAT);
    assert_eq!(ty_of("n % 2"), Ty::INT);
    assert_eq!(ty_of("-amount"), Ty::FLOAT);
    assert_eq!(ty_of("vib * 2"), Ty::FLOAT.with_null(true));
    assert_eq!(ty_of("amount > n and n between 1 and 2.5"), Ty::BOOL);
}

#[test]
fn time_arithmetic() {
    assert_eq!(ty_of("ts - ts"), Ty::DURATION);
    assert_eq!(ty_of("ts + 10m"), Ty::TIMESTAMP);
    assert_eq!(ty_of("10m + ts"), Ty::TIMESTAMP);
    assert_eq!(ty_of("wait * 2"), Ty::DURATION);
    assert_eq!(ty_of("wait / wait"), Ty::FLOAT);
    assert_eq!(ty_of("ts - ts > 5m"), Ty::BOOL);
    assert_eq!(codes_of("ts + 10 > ts", Ctx::Where), ["type-mismatch"]);
    assert_eq!(codes_of("wait > 10", Ctx::Where), ["type-mismatch"]);
}

#[test]
fn comparisons_need_comparable_types() {
    assert_eq!(codes_of("name = 1", Ctx::Where), ["type-mismatch"]);
    assert_eq!(codes_of("name < amount", Ctx::Where), ["type-mismatch"]);
    assert_eq!(codes_of("ok < ok", Ctx::Where), ["not-ordered"]);
    assert_eq!(codes_of("vib = null", Ctx::Where), ["compare-null"]);
    assert_eq!(codes_of("name in [\"a\", 2]", Ctx::Where), ["type-mismatch"]);
    assert_eq!(codes_of("name + 1 > 2", Ctx::Where), ["bad-operand"]);
    // Nullable and json values compare with anything of their kind.
    assert_eq!(ty_of("vib > 1 and vib is null"), Ty::BOOL);
    assert_eq!(ty_of("payload.x.y = \"a\" and payload.n > 3"), Ty::BOOL);
    assert_eq!(ty_of("payload.n + 1"), Ty::Dynamic);
}

#[test]
fn one_mistake_one_diagnostic() {
    // The unknown field poisons the expression; nothing else is reported.
    assert_eq!(codes_of("amout + 1 > name", Ctx::Where), ["unknown-field"]);
    assert_eq!(codes_of("lowr(amout) = 1", Ctx::Where), ["unknown-function", "unknown-field"]);
}

#[test]
fn functions() {
    assert_eq!(ty_of("abs(n)"), Ty::INT);
    assert_eq!(ty_of("round(amount)"), Ty::INT);
    assert_eq!(ty_of("len(lower(name))"), Ty::INT);
    assert_eq!(ty_of("contains(name, \"x\")"), Ty::BOOL);
    assert_eq!(ty_of("coalesce(vib, 0)"), Ty::FLOAT);
    assert_eq!(ty_of("coalesce(vib, vib)"), Ty::FLOAT.with_null(true));
    assert_eq!(ty_of("geo_distance_km(amount, amount, n, n)"), Ty::FLOAT);
    assert_eq!(ty_of("hour(ts) + day_of_week(ts)"), Ty::INT);
    assert_eq!(codes_of("abs(name) > 1", Ctx::Where), ["bad-argument"]);
    assert_eq!(codes_of("abs(n, n) > 1", Ctx::Where), ["wrong-arity"]);
    assert_eq!(codes_of("coalesce(vib, \"x\") = 1", Ctx::Where), ["type-mismatch"]);
    assert_eq!(codes_of("name matches \"(\"", Ctx::Where), ["bad-regex"]);
    assert_eq!(codes_of("n matches \"x\"", Ctx::Where), ["type-mismatch"]);
}

#[test]
fn variables_in_define() {
    let define_big = Ctx::Define { var: 1 };
    let (t, d) = check_in("amount > small[0].amount and count(small) > 2", define_big);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(t.ty, Ty::BOOL);
    let (t, d) = check_in("big.amount", Ctx::PatternOut);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        t.expr,
        plan::Expr::VarField {
            var: 1,
            pick: plan::Pick::Index(0),
            slot: 0,
            steps: vec![]
        }
    );
    let (t, _) = check_in("avg(small.amount)", define_big);
    assert_eq!(
        t.expr,
        plan::Expr::VarAgg {
            var: 0,
            func: plan::VarAggFunc::Avg,
            slot: Some(0)
        }
    );
    assert_eq!(codes_of("small.amount > 1", define_big), ["ambiguous-variable-field"]);
    assert_eq!(codes_of("big.amount > 1", Ctx::Define { var: 0 }), ["forward-reference"]);
    assert_eq!(codes_of("big.amount > 1", define_big), ["self-reference"]);
    // A loop may read its own accepted events.
    assert!(codes_of("amount > small[-1].amount", Ctx::Define { var: 0 }).is_empty());
    assert_eq!(codes_of("smal[0].amount > 1", define_big), ["unknown-variable"]);
    assert_eq!(codes_of("big[1].amount > 1", Ctx::PatternOut), ["index-out-of-range"]);
    assert_eq!(codes_of("small.amount > 1", Ctx::Where), ["variable-outside-pattern"]);
    assert_eq!(codes_of("sum(amount) > 1", define_big), ["aggregate-needs-variable"]);
    assert_eq!(codes_of("amount > 1", Ctx::PatternOut), ["field-needs-variable"]);
}

fn term(name: &str, count: Option<Count>, optional: bool, negated: bool) -> Term {
    Term {
        kind: TermKind::Var(id(name)),
        negated,
        quantifier: count.map(|count| ast::Quantifier {
            count,
            optional,
            greedy: false,
            looping: LoopContiguity::Relaxed,
            span: Span::default(),
        }),
        span: Span::default(),
    }
}

fn seq(terms: Vec<Term>, joins: &[Contiguity]) -> ast::Pattern {
    ast::Pattern {
        terms,
        joins: joins.iter().map(|j| Spanned::new(*j, Span::default())).collect(),
        span: Span::default(),
    }
}

fn pattern_codes(p: &ast::Pattern, within: bool) -> Vec<&'static str> {
    let mut diags = Vec::new();
    collect_vars(p, &mut diags);
    validate(p, within, &mut diags);
    diags.iter().map(|d| d.code).collect()
}

#[test]
fn quantifiers_map_like_flinkcep() {
    use plan::Quantifier as Q;
    let p = seq(
        vec![
            term("a", Some(Count::Range(0, 3)), false, false),
            term("b", Some(Count::AtLeast(0)), false, false),
            term("c", Some(Count::Exactly(2)), true, false),
            term("d", Some(Count::Once), true, false),
            term("e", None, false, false),
        ],
        &[Contiguity::Strict, Contiguity::Relaxed, Contiguity::NonDeterministic, Contiguity::Relaxed],
    );
    let mut diags = Vec::new();
    let vars = collect_vars(&p, &mut diags);
    let stages = build_stages(&p, &vars, &vec![(None, None); vars.len()]);
    let got: Vec<(plan::StageContiguity, Option<Q>, bool)> =
        stages.iter().map(|s| (s.contiguity, s.quantifier, s.optional)).collect();
    use plan::StageContiguity::*;
    assert_eq!(
        got,
        [
            (Begin, Some(Q::Times { from: 1, to: 3 }), true),
            (Next, Some(Q::OneOrMore), true),
            (FollowedBy, Some(Q::Times { from: 2, to: 2 }), true),
            (FollowedByAny, None, true),
            (FollowedBy, None, false),
        ]
    );
    assert_eq!(vars.iter().map(|v| v.max_events).collect::<Vec<_>>(), [Some(3), None, Some(2), Some(1), Some(1)]);
}

#[test]
fn flinkcep_pattern_rules() {
    let neg = |join| {
        seq(
            vec![term("a", None, false, false), term("c", None, false, true), term("b", None, false, false)],
            &[join, Contiguity::Relaxed],
        )
    };
    assert!(pattern_codes(&neg(Contiguity::Strict), false).is_empty());
    assert!(pattern_codes(&neg(Contiguity::Relaxed), false).is_empty());
    assert_eq!(pattern_codes(&neg(Contiguity::NonDeterministic), false), ["any-before-negation"]);
    let trailing = seq(vec![term("a", None, false, false), term("c", None, false, true)], &[Contiguity::Relaxed]);
    assert_eq!(pattern_codes(&trailing, false), ["unbounded-absence"]);
    assert!(pattern_codes(&trailing, true).is_empty());
    let strict_trailing = seq(vec![term("a", None, false, false), term("c", None, false, true)], &[Contiguity::Strict]);
    // FlinkCEP's trailing notNext: accepted, with or without `within`.
    assert!(pattern_codes(&strict_trailing, true).is_empty());
    assert!(pattern_codes(&strict_trailing, false).is_empty());
    let leading = seq(vec![term("c", None, false, true), term("a", None, false, false)], &[Contiguity::Relaxed]);
    assert_eq!(pattern_codes(&leading, true), ["leading-negation"]);
    let empty = seq(
        vec![term("a", Some(Count::Once), true, false), term("b", Some(Count::OneOrMore), true, false)],
        &[Contiguity::Relaxed],
    );
    assert_eq!(pattern_codes(&empty, true), ["empty-pattern"]);
    let optional_then_not = seq(
        vec![
            term("a", None, false, false),
            term("o", Some(Count::Once), true, false),
            term("c", None, false, true),
            term("b", None, false, false),
        ],
        &[Contiguity::Relaxed, Contiguity::Relaxed, Contiguity::Relaxed],
    );
    assert_eq!(pattern_codes(&optional_then_not, true), ["optional-before-negation"]);
    let dup = seq(vec![term("a", None, false, false), term("a", None, false, false)], &[Contiguity::Relaxed]);
    assert_eq!(pattern_codes(&dup, true), ["duplicate-variable"]);
    let counts = seq(
        vec![term("a", Some(Count::Exactly(0)), false, false), term("b", Some(Count::Range(3, 2)), false, false)],
        &[Contiguity::Relaxed],
    );
    assert_eq!(pattern_codes(&counts, true), ["zero-count", "bad-range"]);
    let negated_loop = seq(
        vec![term("a", None, false, false), term("c", Some(Count::OneOrMore), false, true), term("b", None, false, false)],
        &[Contiguity::Relaxed, Contiguity::Relaxed],
    );
    assert_eq!(pattern_codes(&negated_loop, true), ["negated-quantifier"]);
}

fn out(names: &[&str]) -> Vec<OutputField> {
    names
        .iter()
        .map(|n| OutputField {
            name: n.to_string(),
            expr: plan::Expr::Key(0),
            ty: Type::new(BaseType::String),
        })
        .collect()
}

fn lit(text: &str) -> (ast::StringLit, String) {
    let source = format!("\"{text}\"");
    (
        ast::StringLit {
            value: text.to_string(),
            span: Span::new(0, source.len()),
        },
        source,
    )
}

#[test]
fn message_templates() {
    let (l, src) = lit("Card {card_id}: {{n}} {n}!");
    let mut diags = Vec::new();
    let t = template(&l, &out(&["card_id", "n"]), &src, &mut diags).expect("template");
    assert!(diags.is_empty());
    assert_eq!(
        t.parts,
        [
            TemplatePart::Text("Card ".into()),
            TemplatePart::Field(0),
            TemplatePart::Text(": {n} ".into()),
            TemplatePart::Field(1),
            TemplatePart::Text("!".into()),
        ]
    );
    let (l, src) = lit("{tries} and {");
    assert!(template(&l, &out(&["tries2"]), &src, &mut diags).is_none());
    let got: Vec<(&str, usize, usize)> = diags
        .iter()
        .map(|d| (d.code, d.primary.span.start, d.primary.span.end))
        .collect();
    assert_eq!(got, [("unknown-placeholder", 1, 8), ("bad-message", 13, 14)]);
}

/// Error codes (unused defines aside) of a pattern rule over `s (id int, type string, ts timestamp)`.
fn rule_errors(pattern: &str, defines: &str) -> Vec<&'static str> {
    let src = format!(
        "stream s (id int, type string, ts timestamp) time ts;\nrule r {{ from s pattern {pattern} define {defines} within 1m }}"
    );
    let compiled = crate::compile(&src, &crate::Catalog::new());
    compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.code != "unused-define")
        .map(|d| d.code)
        .collect()
}

#[test]
fn open_loops_over_groups_that_can_be_empty_are_rejected() {
    let defs = r#"a as type = "a", b as type = "b", c as type = "c""#;
    for p in ["c -> (a* b?)+", "c -> (a? b*){2,}", "c -> (a?)*", "c -> ((a? b?){2} -> a2?){1,}"] {
        let defs = format!(r#"{defs}, a2 as type = "a""#);
        assert_eq!(rule_errors(p, &defs), vec!["empty-group-loop"], "{p}");
    }
    // A required term, or a bounded loop, is fine.
    for p in ["c -> (a* b)+", "c -> (a* b?){3}", "c -> (a? b?){1,4}"] {
        assert!(rule_errors(p, defs).is_empty(), "{p}");
    }
}

#[test]
fn optional_greedy_until_loops_after_a_negation_are_rejected() {
    let defs = r#"a as type = "a", x as type = "x", b as type = "b", y as type = "y" until type = "z", c as type = "c""#;
    for p in ["a -> !x -> y* greedy -> c", "a -> !x -> b? -> y{0,} greedy -> c", "a -> !x -> y{2,}? greedy -> c"] {
        assert_eq!(rule_errors(p, defs), vec!["greedy-until-after-negation"], "{p}");
    }
    // Required loop, no greedy, a required term in between, a strict
    // negation (notNext), or the loop inside a group: FlinkCEP builds them.
    for p in [
        "a -> !x -> y+ greedy -> c",
        "a -> !x -> y* -> c",
        "a -> !x -> b -> y* greedy -> c",
        "a !x y* greedy -> c",
        "a -> !x -> (y* greedy -> b) -> c",
    ] {
        assert!(
            !rule_errors(p, defs).contains(&"greedy-until-after-negation"),
            "{p}: {:?}",
            rule_errors(p, defs)
        );
    }
}
