//! The formatter's contract, on random valid trees:
//! `parse(format(ast)) == ast` with no diagnostic, and formatting is idempotent.

use cepheus_dsl::ast::*;
use cepheus_dsl::span::{Span, Spanned};
use proptest::collection::vec;
use proptest::prelude::*;

fn sp() -> Span {
    Span::default()
}

fn ident_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z_][a-z0-9_]{0,6}",
        1 => "[A-Z][a-zA-Z0-9]{0,5}",
        // Keywords and odd names, which the formatter writes in backticks.
        1 => prop::sample::select(vec![
            "where", "window", "emit", "and", "not", "null", "true", "as", "until", "any",
            "greedy", "count", "first", "last", "key", "time", "by", "skip", "stream", "rule",
            "Where", "my field", "a-b", "été",
        ])
        .prop_map(str::to_string),
    ]
}

fn ident() -> impl Strategy<Value = Ident> {
    ident_name().prop_map(|n| Ident::new(n, sp()))
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,12}",
        1 => any::<String>(),
        1 => prop::sample::select(vec!["\"", "\\", "\n", "\t", "a\\nb", "--", "//", "{x}", "\r\n"])
            .prop_map(str::to_string),
    ]
}

fn string_lit() -> impl Strategy<Value = StringLit> {
    text().prop_map(|value| StringLit { value, span: sp() })
}

fn duration() -> impl Strategy<Value = Duration> {
    let unit = prop::sample::select(vec![
        DurationUnit::Millis,
        DurationUnit::Seconds,
        DurationUnit::Minutes,
        DurationUnit::Hours,
        DurationUnit::Days,
    ]);
    (prop_oneof![0u64..1000, any::<u64>()], unit).prop_map(|(amount, unit)| Duration {
        amount,
        unit,
        span: sp(),
    })
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..100_000).prop_map(|i| f64::from(i) / 100.0),
        any::<f64>().prop_filter("finite, non-negative", |f| f.is_finite() && f.is_sign_positive()),
        prop::sample::select(vec![0.0, 2.0, 1e300, 1.5e-7, f64::MAX, f64::MIN_POSITIVE, 5e-324]),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        prop_oneof![0i64..1000, 0i64..=i64::MAX].prop_map(Literal::Int),
        float().prop_map(Literal::Float),
        text().prop_map(Literal::String),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
        duration().prop_map(Literal::Duration),
    ]
}

fn path() -> impl Strategy<Value = Path> {
    let step = prop_oneof![
        ident().prop_map(PathStep::Member),
        prop_oneof![-3i64..3, any::<i64>()].prop_map(|i| PathStep::Index(Spanned::new(i, sp()))),
    ];
    (ident(), vec(step, 0..3)).prop_map(|(head, steps)| Path { head, steps })
}

fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: sp() }
}

fn bx(x: Expr) -> Box<Expr> {
    Box::new(x)
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(|l| e(ExprKind::Literal(l))),
        path().prop_map(|p| e(ExprKind::Path(p))),
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let binop = prop::sample::select(vec![
            BinaryOp::Or,
            BinaryOp::And,
            BinaryOp::Eq,
            BinaryOp::Ne,
            BinaryOp::Lt,
            BinaryOp::Le,
            BinaryOp::Gt,
            BinaryOp::Ge,
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Rem,
        ]);
        let unop = prop::sample::select(vec![UnaryOp::Not, UnaryOp::Neg]);
        prop_oneof![
            (unop, inner.clone()).prop_map(|(op, x)| e(ExprKind::Unary { op, expr: bx(x) })),
            (binop, inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| e(ExprKind::Binary { op, lhs: bx(l), rhs: bx(r) })),
            (inner.clone(), vec(inner.clone(), 0..3), any::<bool>()).prop_map(|(x, list, negated)| e(
                ExprKind::In {
                    expr: bx(x),
                    list,
                    negated
                }
            )),
            (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(
                |(x, low, high, negated)| e(ExprKind::Between {
                    expr: bx(x),
                    low: bx(low),
                    high: bx(high),
                    negated
                })
            ),
            (inner.clone(), any::<bool>())
                .prop_map(|(x, negated)| e(ExprKind::IsNull { expr: bx(x), negated })),
            (inner.clone(), string_lit()).prop_map(|(x, regex)| e(ExprKind::Matches { expr: bx(x), regex })),
            (ident(), vec(inner, 0..3)).prop_map(|(func, args)| e(ExprKind::Call { func, args })),
        ]
    })
}

fn quantifier() -> impl Strategy<Value = Quantifier> {
    let looping = prop::sample::select(vec![
        LoopContiguity::Relaxed,
        LoopContiguity::Consecutive,
        LoopContiguity::Any,
    ]);
    let count = prop_oneof![
        (0u32..5).prop_map(Count::Exactly),
        (0u32..5, 0u32..9).prop_map(|(n, m)| Count::Range(n, m)),
        (0u32..5).prop_map(Count::AtLeast),
        Just(Count::OneOrMore),
        any::<u32>().prop_map(Count::Exactly),
    ];
    prop_oneof![
        // `?`: no modifiers.
        Just(Quantifier {
            count: Count::Once,
            optional: true,
            greedy: false,
            looping: LoopContiguity::Relaxed,
            span: sp(),
        }),
        (count, any::<bool>(), any::<bool>(), looping).prop_map(|(count, optional, greedy, looping)| {
            Quantifier {
                count,
                optional,
                greedy,
                looping,
                span: sp(),
            }
        }),
    ]
}

fn contiguity() -> impl Strategy<Value = Spanned<Contiguity>> {
    prop::sample::select(vec![Contiguity::Strict, Contiguity::Relaxed, Contiguity::NonDeterministic])
        .prop_map(|c| Spanned::new(c, sp()))
}

fn pattern_of(term: BoxedStrategy<Term>) -> impl Strategy<Value = Pattern> {
    vec((contiguity(), term), 1..4).prop_map(|parts| {
        let mut terms = Vec::new();
        let mut joins = Vec::new();
        for (i, (join, term)) in parts.into_iter().enumerate() {
            if i > 0 {
                joins.push(join);
            }
            terms.push(term);
        }
        Pattern {
            terms,
            joins,
            span: sp(),
        }
    })
}

fn pattern() -> impl Strategy<Value = Pattern> {
    let var_term = (ident(), any::<bool>(), prop::option::of(quantifier())).prop_map(|(v, negated, quantifier)| Term {
        kind: TermKind::Var(v),
        negated,
        quantifier,
        span: sp(),
    });
    let term = var_term.prop_recursive(3, 12, 3, |inner| {
        (pattern_of(inner.boxed()), any::<bool>(), prop::option::of(quantifier())).prop_map(
            |(p, negated, quantifier)| Term {
                kind: TermKind::Group(Box::new(p)),
                negated,
                quantifier,
                span: sp(),
            },
        )
    });
    pattern_of(term.boxed())
}

fn emit_items() -> impl Strategy<Value = Vec<EmitItem>> {
    vec(
        (expr(), prop::option::of(ident())).prop_map(|(expr, alias)| EmitItem {
            expr,
            alias,
            span: sp(),
        }),
        1..3,
    )
}

fn window() -> impl Strategy<Value = Window> {
    let kind = prop_oneof![
        duration().prop_map(|size| WindowKind::Tumbling { size }),
        (duration(), duration()).prop_map(|(size, every)| WindowKind::Sliding { size, every }),
        duration().prop_map(|gap| WindowKind::Session { gap }),
        (any::<u64>(), prop::option::of(any::<u64>())).prop_map(|(size, every)| WindowKind::Count {
            size: Spanned::new(size, sp()),
            every: every.map(|n| Spanned::new(n, sp())),
        }),
    ];
    kind.prop_map(|kind| Window { kind, span: sp() })
}

fn skip() -> impl Strategy<Value = SkipStrategy> {
    prop_oneof![
        Just(SkipStrategy::NoSkip),
        Just(SkipStrategy::ToNext),
        Just(SkipStrategy::PastLastEvent),
        ident().prop_map(SkipStrategy::ToFirst),
        ident().prop_map(SkipStrategy::ToLast),
    ]
}

fn define() -> impl Strategy<Value = Define> {
    (ident(), expr(), prop::option::of(expr())).prop_map(|(var, condition, until)| Define {
        var,
        condition,
        until,
        span: sp(),
    })
}

fn rule() -> impl Strategy<Value = RuleDecl> {
    let severity = prop::sample::select(Severity::ALL.to_vec()).prop_map(|s| Spanned::new(s, sp()));
    let on_timeout = (emit_items(), prop::option::of(string_lit())).prop_map(|(emit, message)| OnTimeout {
        emit,
        message,
        span: sp(),
    });
    let label = (ident(), string_lit()).prop_map(|(name, value)| Label { name, value });
    let a = (
        ident(),
        prop::option::of(severity),
        prop::option::of(ident()),
        prop::option::of(expr()),
        vec(expr(), 0..3),
        prop::option::of(pattern()),
        vec(define(), 0..3),
        prop::option::of(duration()),
        prop::option::of(skip().prop_map(|s| Spanned::new(s, sp()))),
    );
    let b = (
        prop::option::of(on_timeout),
        prop::option::of(window()),
        prop::option::of(duration()),
        prop::option::of(expr()),
        prop::option::of(emit_items()),
        prop::option::of(string_lit()),
        vec(ident(), 0..3),
        vec(label, 0..3),
        prop::option::of(duration()),
    );
    (a, b).prop_map(
        |(
            (name, severity, from, where_, partition_by, pattern, define, within, skip),
            (on_timeout, window, allow_lateness, having, emit, message, notify, labels, suppress),
        )| RuleDecl {
            name,
            severity,
            from,
            where_,
            partition_by,
            pattern,
            define,
            within,
            skip,
            on_timeout,
            window,
            allow_lateness,
            having,
            emit,
            message,
            notify,
            labels,
            suppress,
            span: sp(),
        },
    )
}

fn field_path() -> impl Strategy<Value = FieldPath> {
    vec(ident(), 1..3).prop_map(|segments| FieldPath { segments, span: sp() })
}

fn stream() -> impl Strategy<Value = StreamDecl> {
    let field = (field_path(), ident(), any::<bool>()).prop_map(|(path, name, nullable)| FieldDecl {
        path,
        ty: TypeExpr {
            name,
            nullable,
            span: sp(),
        },
    });
    (
        ident(),
        vec(field, 0..4),
        vec(field_path(), 0..3),
        prop::option::of(field_path()),
        prop::option::of(duration()),
    )
        .prop_map(|(name, fields, key, time, lateness)| StreamDecl {
            name,
            fields,
            key,
            time,
            lateness,
            span: sp(),
        })
}

fn file() -> impl Strategy<Value = File> {
    let item = prop_oneof![stream().prop_map(Item::Stream), rule().prop_map(Item::Rule)];
    vec(item, 0..4).prop_map(|items| File { items })
}

fn check_round_trip(file: &File) -> Result<(), TestCaseError> {
    let text = cepheus_dsl::format(file);
    let (again, diags) = cepheus_dsl::parse(&text);
    prop_assert!(
        diags.is_empty(),
        "formatted text has diagnostics:\n{text}\n{}",
        cepheus_dsl::diagnostic::render("fmt.cep", &text, &diags)
    );
    prop_assert_eq!(&again, file, "formatted text parses differently:\n{}", text);
    prop_assert_eq!(cepheus_dsl::format(&again), text, "formatting is not idempotent");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn files_round_trip(file in file()) {
        check_round_trip(&file)?;
    }

    #[test]
    fn expressions_round_trip(x in expr()) {
        let mut rule = RuleDecl::empty(Ident::new("r", sp()), sp());
        rule.where_ = Some(x);
        check_round_trip(&File { items: vec![Item::Rule(rule)] })?;
    }

    #[test]
    fn patterns_round_trip(p in pattern()) {
        let mut rule = RuleDecl::empty(Ident::new("r", sp()), sp());
        rule.pattern = Some(p);
        check_round_trip(&File { items: vec![Item::Rule(rule)] })?;
    }
}

/// Formatting what the parser made of real examples is a fixed point.
#[test]
fn formatting_parsed_text_is_idempotent() {
    let src = "rule r { where not (a or b) and -x.y[-2] * (3 - -4) between 1 and 2 emit last(v).f as `as` }";
    let (file, diags) = cepheus_dsl::parse(src);
    assert!(diags.is_empty(), "{diags:?}");
    let once = cepheus_dsl::format(&file);
    let (again, _) = cepheus_dsl::parse(&once);
    assert_eq!(cepheus_dsl::format(&again), once);
}
