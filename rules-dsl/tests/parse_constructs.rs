//! The parser on every construct of the language (valid input).

mod common;

use cepheus_dsl::ast::*;
use common::*;

// --- streams ------------------------------------------------------------------

#[test]
fn stream_with_paths_nullable_types_and_tail() {
    let src = "stream sensors ( device.temp float?, id string, tags json ) key id, device.site time ts lateness 500ms";
    let file = parse_ok(src);
    let Some(Item::Stream(s)) = file.items.first() else {
        panic!("no stream")
    };
    assert_eq!(s.name.name, "sensors");
    assert_eq!(s.fields.len(), 3);
    assert_eq!(s.fields[0].path.dotted(), "device.temp");
    assert_eq!(s.fields[0].ty.name.name, "float");
    assert!(s.fields[0].ty.nullable);
    assert!(!s.fields[1].ty.nullable);
    let keys: Vec<String> = s.key.iter().map(FieldPath::dotted).collect();
    assert_eq!(keys, ["id", "device.site"]);
    assert_eq!(s.time.as_ref().map(FieldPath::dotted).as_deref(), Some("ts"));
    let lateness = s.lateness.as_ref().expect("lateness");
    assert_eq!((lateness.amount, lateness.unit), (500, DurationUnit::Millis));
    // Spans are byte offsets into the source.
    assert_eq!(&src[s.name.span.range()], "sensors");
    assert_eq!(&src[s.fields[0].path.span.range()], "device.temp");
    assert_eq!(&src[s.fields[0].ty.span.range()], "float?");
    assert_eq!(s.span.start, 0);
}

#[test]
fn stream_semicolon_is_optional_and_type_names_are_not_checked() {
    let file = parse_ok("stream a ( x flaot ) stream b ( y int ); rule r { from a }");
    assert_eq!(file.items.len(), 3);
    let Some(Item::Stream(a)) = file.items.first() else {
        panic!()
    };
    assert_eq!(a.fields[0].ty.name.name, "flaot");
}

#[test]
fn stream_fields_may_be_named_like_keywords() {
    let file = parse_ok("stream s ( time timestamp, key string, `where` int ) key key time time");
    let Some(Item::Stream(s)) = file.items.first() else {
        panic!()
    };
    assert_eq!(s.fields[2].path.dotted(), "where");
    assert_eq!(s.key[0].dotted(), "key");
    assert_eq!(s.time.as_ref().map(FieldPath::dotted).as_deref(), Some("time"));
}

// --- rules and clauses ------------------------------------------------------------

#[test]
fn keywords_are_case_insensitive_and_names_are_not() {
    let src = "RULE Card { SEVERITY High FROM Tx PARTITION BY Card_Id WITHIN 10m AFTER MATCH SKIP TO NEXT }";
    let file = parse_ok(src);
    let Some(Item::Rule(r)) = file.items.first() else {
        panic!()
    };
    assert_eq!(r.name.name, "Card");
    assert_eq!(r.severity.as_ref().map(|s| s.node), Some(Severity::High));
    assert_eq!(r.from.as_ref().map(|f| f.name.as_str()), Some("Tx"));
    assert_eq!(sexp(&r.partition_by[0]), "Card_Id");
    assert_eq!(r.skip.as_ref().map(|s| s.node.clone()), Some(SkipStrategy::ToNext));
}

#[test]
fn clauses_come_in_any_order() {
    let r = rule("suppress 30m emit a from t severity low pattern a");
    assert_eq!(r.suppress.map(|d| d.amount), Some(30));
    assert_eq!(r.from.map(|f| f.name), Some("t".to_string()));
    assert_eq!(r.severity.map(|s| s.node), Some(Severity::Low));
}

#[test]
fn every_severity() {
    for s in Severity::ALL {
        let r = rule(&format!("severity {}", s.as_str()));
        assert_eq!(r.severity.map(|v| v.node), Some(s));
    }
}

#[test]
fn every_skip_strategy() {
    let cases = [
        ("skip to next", SkipStrategy::ToNext),
        ("skip past last event", SkipStrategy::PastLastEvent),
        ("no skip", SkipStrategy::NoSkip),
    ];
    for (text, want) in cases {
        let r = rule(&format!("after match {text}"));
        assert_eq!(r.skip.map(|s| s.node), Some(want), "{text}");
    }
    let r = rule("after match skip to first b");
    assert!(matches!(r.skip.map(|s| s.node), Some(SkipStrategy::ToFirst(v)) if v.name == "b"));
    let r = rule("after match skip to last b");
    assert!(matches!(r.skip.map(|s| s.node), Some(SkipStrategy::ToLast(v)) if v.name == "b"));
}

#[test]
fn every_window_kind() {
    let w = |s: &str| rule(&format!("window {s}")).window.expect("window").kind;
    match w("tumbling 1h") {
        WindowKind::Tumbling { size } => assert_eq!((size.amount, size.unit), (1, DurationUnit::Hours)),
        other => panic!("{other:?}"),
    }
    match w("sliding 5m every 1m") {
        WindowKind::Sliding { size, every } => {
            assert_eq!(size.millis(), 300_000);
            assert_eq!(every.millis(), 60_000);
        }
        other => panic!("{other:?}"),
    }
    match w("session gap 30m") {
        WindowKind::Session { gap } => assert_eq!(gap.millis(), 1_800_000),
        other => panic!("{other:?}"),
    }
    match w("count 100") {
        WindowKind::Count { size, every } => assert_eq!((size.node, every), (100, None)),
        other => panic!("{other:?}"),
    }
    match w("count 100 every 10") {
        WindowKind::Count { size, every } => {
            assert_eq!((size.node, every.map(|e| e.node)), (100, Some(10)))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn define_with_until_and_several_variables() {
    let r = rule("define a as x > 1 until y < 2, b as true");
    assert_eq!(r.define.len(), 2);
    assert_eq!(r.define[0].var.name, "a");
    assert_eq!(sexp(&r.define[0].condition), "(> x 1)");
    assert_eq!(r.define[0].until.as_ref().map(sexp).as_deref(), Some("(< y 2)"));
    assert_eq!(sexp(&r.define[1].condition), "true");
    assert!(r.define[1].until.is_none());
}

#[test]
fn emit_on_timeout_message_notify_labels() {
    let r = rule(
        r#"on timeout emit card_id, a.amount as amt message "timed out"
           emit card_id, count(small) as tries
           message "Card {card_id}"
           notify fraud_webhook, alerts_topic
           labels (team = "fraud", runbook = "https://x")
           allow lateness 1m"#,
    );
    let t = r.on_timeout.expect("on timeout");
    assert_eq!(t.emit.len(), 2);
    assert_eq!(t.emit[1].alias.as_ref().map(|a| a.name.as_str()), Some("amt"));
    assert_eq!(t.message.map(|m| m.value).as_deref(), Some("timed out"));
    let emit = r.emit.expect("emit");
    assert_eq!(sexp(&emit[1].expr), "count(small)");
    assert_eq!(emit[1].alias.as_ref().map(|a| a.name.as_str()), Some("tries"));
    assert_eq!(r.message.map(|m| m.value).as_deref(), Some("Card {card_id}"));
    let sinks: Vec<&str> = r.notify.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(sinks, ["fraud_webhook", "alerts_topic"]);
    assert_eq!(r.labels.len(), 2);
    assert_eq!(r.labels[1].name.name, "runbook");
    assert_eq!(r.labels[1].value.value, "https://x");
    assert_eq!(r.allow_lateness.map(|d| d.millis()), Some(60_000));
}

#[test]
fn comments_of_both_kinds() {
    let r = rule("-- a comment\n from t // another\n where a -- trailing\n > 1");
    assert_eq!(sexp(&r.where_.expect("where")), "(> a 1)");
}

#[test]
fn backticks_make_keywords_names() {
    let r = rule("from `window` emit `message` as `where` pattern `any`+ any notify `emit`");
    assert_eq!(r.from.map(|f| f.name).as_deref(), Some("window"));
    let emit = r.emit.expect("emit");
    assert_eq!(sexp(&emit[0].expr), "message");
    assert_eq!(emit[0].alias.as_ref().map(|a| a.name.as_str()), Some("where"));
    let p = r.pattern.expect("pattern");
    assert!(matches!(&p.terms[0].kind, TermKind::Var(v) if v.name == "any"));
    assert_eq!(p.terms[0].quantifier.as_ref().map(|q| q.looping), Some(LoopContiguity::Any));
    assert_eq!(r.notify[0].name, "emit");
}

#[test]
fn several_items() {
    let file = parse_ok("stream s (a int) rule r1 { from s } rule r2 { from s }");
    assert_eq!(file.items.len(), 3);
}

#[test]
fn empty_file_and_empty_rule() {
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("  -- only a comment\n").items.is_empty());
    let r = rule("");
    assert_eq!(r, RuleDecl::empty(r.name.clone(), r.span));
}

#[test]
fn clause_spans_point_at_the_source() {
    let src = "rule r { from tx within 10m window sliding 5m every 1m }";
    let file = parse_ok(src);
    let Some(Item::Rule(r)) = file.items.first() else {
        panic!()
    };
    assert_eq!(&src[r.from.as_ref().expect("from").span.range()], "tx");
    assert_eq!(&src[r.within.as_ref().expect("within").span.range()], "10m");
    assert_eq!(&src[r.window.as_ref().expect("window").span.range()], "sliding 5m every 1m");
    assert_eq!(&src[r.span.range()], src);
}

// --- patterns ------------------------------------------------------------------------

fn joins(p: &Pattern) -> Vec<Contiguity> {
    p.joins.iter().map(|j| j.node).collect()
}

fn var(t: &Term) -> &str {
    match &t.kind {
        TermKind::Var(v) => &v.name,
        TermKind::Group(_) => "(group)",
    }
}

#[test]
fn pattern_contiguity_operators() {
    let p = pattern("a b -> c ->> d");
    let vars: Vec<&str> = p.terms.iter().map(var).collect();
    assert_eq!(vars, ["a", "b", "c", "d"]);
    assert_eq!(joins(&p), [Contiguity::Strict, Contiguity::Relaxed, Contiguity::NonDeterministic]);
    assert_eq!(p.joins.len() + 1, p.terms.len());
}

#[test]
fn pattern_negation() {
    let p = pattern("a !c b -> !d -> e");
    let negated: Vec<bool> = p.terms.iter().map(|t| t.negated).collect();
    assert_eq!(negated, [false, true, false, true, false]);
    assert_eq!(
        joins(&p),
        [Contiguity::Strict, Contiguity::Strict, Contiguity::Relaxed, Contiguity::Relaxed]
    );
}

fn quant(src: &str) -> Option<Quantifier> {
    pattern(src).terms.into_iter().next().expect("term").quantifier
}

#[test]
fn pattern_quantifiers() {
    let q = |s: &str| {
        let q = quant(s).unwrap_or_else(|| panic!("no quantifier in {s}"));
        (q.count, q.optional)
    };
    assert_eq!(q("a{3}"), (Count::Exactly(3), false));
    assert_eq!(q("a{2,4}"), (Count::Range(2, 4), false));
    assert_eq!(q("a{0,2}"), (Count::Range(0, 2), false));
    assert_eq!(q("a{2,}"), (Count::AtLeast(2), false));
    assert_eq!(q("a+"), (Count::OneOrMore, false));
    assert_eq!(q("a*"), (Count::OneOrMore, true));
    assert_eq!(q("a?"), (Count::Once, true));
    assert_eq!(q("a{2,4}?"), (Count::Range(2, 4), true));
    assert_eq!(q("a{3}?"), (Count::Exactly(3), true));
    assert_eq!(q("a{2,}?"), (Count::AtLeast(2), true));
    assert!(quant("a").is_none());
}

#[test]
fn pattern_modifiers_in_any_order() {
    let q = quant("a+ greedy consecutive").expect("quantifier");
    assert!(q.greedy);
    assert_eq!(q.looping, LoopContiguity::Consecutive);
    let q = quant("a{2,} any greedy").expect("quantifier");
    assert!(q.greedy);
    assert_eq!(q.looping, LoopContiguity::Any);
    let q = quant("a*").expect("quantifier");
    assert!(!q.greedy);
    assert_eq!(q.looping, LoopContiguity::Relaxed);
}

#[test]
fn pattern_groups_nest_and_take_quantifiers() {
    let p = pattern("(a -> (b c)+){2} ->> !(d)");
    assert_eq!(p.terms.len(), 2);
    let TermKind::Group(g) = &p.terms[0].kind else {
        panic!("not a group")
    };
    assert_eq!(p.terms[0].quantifier.as_ref().map(|q| q.count), Some(Count::Exactly(2)));
    assert_eq!(g.terms.len(), 2);
    let TermKind::Group(inner) = &g.terms[1].kind else {
        panic!("not a group")
    };
    assert_eq!(joins(inner), [Contiguity::Strict]);
    assert!(p.terms[1].negated);
    assert!(matches!(&p.terms[1].kind, TermKind::Group(g) if g.terms.len() == 1));
}

#[test]
fn pattern_ends_at_the_next_clause() {
    let r = rule("pattern a -> b within 5m define a as x > 1");
    assert_eq!(r.pattern.map(|p| p.terms.len()), Some(2));
    assert!(r.within.is_some());
    assert_eq!(r.define.len(), 1);
}

#[test]
fn pattern_spans() {
    let src = "rule r { pattern small{3,} greedy -> !big }";
    let file = parse_ok(src);
    let Some(Item::Rule(r)) = file.items.first() else {
        panic!()
    };
    let p = r.pattern.as_ref().expect("pattern");
    assert_eq!(&src[p.span.range()], "small{3,} greedy -> !big");
    assert_eq!(&src[p.terms[0].span.range()], "small{3,} greedy");
    assert_eq!(&src[p.terms[1].span.range()], "!big");
    let q = p.terms[0].quantifier.as_ref().expect("quantifier");
    assert_eq!(&src[q.span.range()], "{3,} greedy");
    assert_eq!(&src[p.joins[0].span.range()], "->");
}

// --- expressions ---------------------------------------------------------------------

#[test]
fn precedence_of_boolean_operators() {
    assert_eq!(sexp(&expr("a or b and c")), "(or a (and b c))");
    assert_eq!(sexp(&expr("a and b or c")), "(or (and a b) c)");
    assert_eq!(sexp(&expr("not a and b")), "(and (not a) b)");
    assert_eq!(sexp(&expr("not a = b")), "(not (= a b))");
    assert_eq!(sexp(&expr("not not a")), "(not (not a))");
    assert_eq!(sexp(&expr("a and not b or c")), "(or (and a (not b)) c)");
}

#[test]
fn precedence_of_arithmetic() {
    assert_eq!(sexp(&expr("a + b * c = d")), "(= (+ a (* b c)) d)");
    assert_eq!(sexp(&expr("a - b - c > 0")), "(> (- (- a b) c) 0)");
    assert_eq!(sexp(&expr("a / b * c % d > 0")), "(> (% (* (/ a b) c) d) 0)");
    assert_eq!(sexp(&expr("-a * b > 0")), "(> (* (neg a) b) 0)");
    assert_eq!(sexp(&expr("(a + b) * c > 0")), "(> (* (+ a b) c) 0)");
    assert_eq!(sexp(&expr("a - -b > 0")), "(> (- a (neg b)) 0)");
    assert_eq!(sexp(&expr("- - a > 0")), "(> (neg (neg a)) 0)");
    assert_eq!(sexp(&expr("-a.b > 0")), "(> (neg a.b) 0)");
}

#[test]
fn negative_numbers_are_not_folded() {
    let e = expr("x = -5");
    let ExprKind::Binary { rhs, .. } = &e.kind else {
        panic!()
    };
    assert!(matches!(
        &rhs.kind,
        ExprKind::Unary { op: UnaryOp::Neg, expr } if matches!(expr.kind, ExprKind::Literal(Literal::Int(5)))
    ));
}

#[test]
fn comparison_operators_and_synonyms() {
    assert_eq!(sexp(&expr("a = 1")), "(= a 1)");
    assert_eq!(sexp(&expr("a == 1")), "(= a 1)");
    assert_eq!(sexp(&expr("a != 1")), "(!= a 1)");
    assert_eq!(sexp(&expr("a <> 1")), "(!= a 1)");
    assert_eq!(sexp(&expr("a < 1")), "(< a 1)");
    assert_eq!(sexp(&expr("a <= 1")), "(<= a 1)");
    assert_eq!(sexp(&expr("a > 1")), "(> a 1)");
    assert_eq!(sexp(&expr("a >= 1")), "(>= a 1)");
}

#[test]
fn predicates() {
    assert_eq!(sexp(&expr(r#"c in ["FR", "DE"]"#)), r#"(in c ["FR" "DE"])"#);
    assert_eq!(sexp(&expr("c not in [1, -2]")), "(not-in c [1 (neg 2)])");
    assert_eq!(sexp(&expr("c in []")), "(in c [])");
    assert_eq!(sexp(&expr("a between 1 and 2 + 3")), "(between a 1 (+ 2 3))");
    assert_eq!(sexp(&expr("a not between 1 and 2 and b")), "(and (not-between a 1 2) b)");
    assert_eq!(sexp(&expr("a is null")), "(is-null a)");
    assert_eq!(sexp(&expr("a is not null or b")), "(or (is-not-null a) b)");
    assert_eq!(sexp(&expr(r#"m matches "^a\\d+""#)), r#"(matches m "^a\\d+")"#);
    assert_eq!(sexp(&expr("a + 1 in [2]")), "(in (+ a 1) [2])");
}

#[test]
fn literals() {
    assert_eq!(sexp(&expr("x = 2.00")), "(= x 2.0)");
    assert_eq!(sexp(&expr("x = 1.5e3")), "(= x 1500.0)");
    assert_eq!(sexp(&expr("x = 1e-3")), "(= x 0.001)");
    assert_eq!(sexp(&expr("x = TRUE or y = False")), "(or (= x true) (= y false))");
    assert_eq!(sexp(&expr("x = NULL")), "(= x null)");
    assert_eq!(sexp(&expr(r#"x = "a\"b\\c\nd\te""#)), r#"(= x "a\"b\\c\nd\te")"#);
    assert_eq!(sexp(&expr("x = 9223372036854775807")), "(= x 9223372036854775807)");
}

#[test]
fn durations_everywhere() {
    for (text, amount, unit) in [
        ("500ms", 500, DurationUnit::Millis),
        ("10s", 10, DurationUnit::Seconds),
        ("5m", 5, DurationUnit::Minutes),
        ("2h", 2, DurationUnit::Hours),
        ("1d", 1, DurationUnit::Days),
    ] {
        let d = rule(&format!("within {text}")).within.expect("within");
        assert_eq!((d.amount, d.unit), (amount, unit), "{text}");
    }
    let e = expr("b.ts - a.ts < 5m");
    assert_eq!(sexp(&e), "(< (- b.ts a.ts) 5m)");
}

#[test]
fn paths_indices_and_calls() {
    assert_eq!(sexp(&expr("device.temp > 1")), "(> device.temp 1)");
    assert_eq!(sexp(&expr("tags[0] = 1")), "(= tags[0] 1)");
    assert_eq!(sexp(&expr("small[-1].amount > small[0].amount")), "(> small[-1].amount small[0].amount)");
    assert_eq!(sexp(&expr("small[- 1].amount > 0")), "(> small[-1].amount 0)");
    assert_eq!(sexp(&expr("count() > 20")), "(> count() 20)");
    assert_eq!(sexp(&expr("count(small) > 2")), "(> count(small) 2)");
    assert_eq!(sexp(&expr("sum(small.amount) > 2")), "(> sum(small.amount) 2)");
    assert_eq!(
        sexp(&expr("geo_distance_km(lat, lon, a[0].lat, a[0].lon) > 500")),
        "(> geo_distance_km(lat, lon, a[0].lat, a[0].lon) 500)"
    );
    assert_eq!(sexp(&expr("percentile(x, 0.99) > 1")), "(> percentile(x, 0.99) 1)");
    assert_eq!(sexp(&expr("window.start < window.end")), "(< window.start window.end)");
    assert_eq!(sexp(&expr("x.`where` = 1")), "(= x.where 1)");
    assert_eq!(sexp(&expr("x.where = 1")), "(= x.where 1)");
}

#[test]
fn last_and_first_with_a_member_become_indexed_paths() {
    assert_eq!(sexp(&expr("last(small).amount > 1")), "(> small[-1].amount 1)");
    assert_eq!(sexp(&expr("first(small).amount > 1")), "(> small[0].amount 1)");
    assert_eq!(sexp(&expr("last(small).a.b > 1")), "(> small[-1].a.b 1)");
    assert_eq!(expr("last(small).amount > 1"), expr("small[-1].amount > 1"));
    // Without a member it stays an aggregate call.
    assert_eq!(sexp(&expr("last(small.amount) > 1")), "(> last(small.amount) 1)");
    assert_eq!(sexp(&expr("last(amount) > 1")), "(> last(amount) 1)");
}

#[test]
fn expression_lists_end_at_clause_keywords() {
    let r = rule("partition by a, b.c emit x + 1 as y, z window tumbling 1h");
    assert_eq!(r.partition_by.len(), 2);
    assert_eq!(r.emit.map(|e| e.len()), Some(2));
    assert!(r.window.is_some());
}

#[test]
fn expression_spans() {
    let src = "rule r { where (a + b) * c > small[-1].amount }";
    let file = parse_ok(src);
    let Some(Item::Rule(r)) = file.items.first() else {
        panic!()
    };
    let e = r.where_.as_ref().expect("where");
    assert_eq!(&src[e.span.range()], "(a + b) * c > small[-1].amount");
    let ExprKind::Binary { lhs, rhs, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(&src[lhs.span.range()], "(a + b) * c");
    assert_eq!(&src[rhs.span.range()], "small[-1].amount");
    let ExprKind::Path(p) = &rhs.kind else { panic!() };
    let PathStep::Index(i) = &p.steps[0] else { panic!() };
    assert_eq!(i.node, -1);
    assert_eq!(&src[i.span.range()], "[-1]");
}

#[test]
fn nesting_up_to_the_limit_parses() {
    let depth = 60;
    let src = format!("{}x{} = 1", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(sexp(&expr(&src)), "(= x 1)");
    let src = format!("{}a{}", "(".repeat(30), " -> b)".repeat(30));
    let p = pattern(&src);
    assert_eq!(p.terms.len(), 1);
}
