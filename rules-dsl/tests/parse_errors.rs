//! Parse errors: codes, spans, messages, help, and recovery.

mod common;

use cepheus_dsl::ast::*;
use common::*;

fn one(src: &str) -> cepheus_dsl::Diagnostic {
    let mut d = diags(src);
    assert_eq!(d.len(), 1, "expected one diagnostic for {src:?}, got {d:#?}");
    d.remove(0)
}

fn the_rule(src: &str) -> RuleDecl {
    let (file, _) = cepheus_dsl::parse(src);
    file.items
        .into_iter()
        .find_map(|i| match i {
            Item::Rule(r) => Some(r),
            Item::Stream(_) => None,
        })
        .expect("a rule")
}

#[test]
fn duplicate_clause_points_at_the_second_and_keeps_the_first() {
    let src = "rule r { within 10m from t within 5m }";
    let d = one(src);
    assert_eq!(d.code, "duplicate-clause");
    assert_eq!(under(src, &d), "within");
    assert_eq!(d.primary.span.start, src.rfind("within").unwrap());
    assert_eq!(d.secondary.len(), 1);
    assert_eq!(d.secondary[0].span.start, src.find("within").unwrap());
    assert_eq!(the_rule(src).within.map(|w| w.amount), Some(10));
}

#[test]
fn duplicate_two_word_clause_spans_both_words() {
    let src = "rule r { partition by a partition  by b }";
    let d = one(src);
    assert_eq!(d.code, "duplicate-clause");
    assert_eq!(under(src, &d), "partition  by");
}

#[test]
fn duplicate_stream_tail_clause() {
    let src = "stream s (a int) key a key a";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("duplicate-clause", "key"));
}

#[test]
fn unknown_clause_suggests_the_closest_keyword() {
    let src = "rule r { from t wihtin 10m }";
    let d = one(src);
    assert_eq!(d.code, "unknown-clause");
    assert_eq!(under(src, &d), "wihtin");
    assert_eq!(d.help.as_deref(), Some("did you mean 'within'?"));
    let src = "rule r { partiton by a }";
    let d = one(src);
    assert_eq!(d.help.as_deref(), Some("did you mean 'partition by'?"));
    // The rest of the rule still parses.
    let r = the_rule("rule r { from t wihtin 10m suppress 5m }");
    assert!(r.from.is_some() && r.suppress.is_some() && r.within.is_none());
    // A misspelt operator gets an operator suggestion.
    let src = "rule r { where a = 1 adn b = 2 }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "adn"));
    assert_eq!(d.help.as_deref(), Some("did you mean 'and'?"));
}

#[test]
fn unknown_severity_lists_the_five() {
    let src = "rule r { severity hgih }";
    let d = one(src);
    assert_eq!(d.code, "unknown-severity");
    assert_eq!(under(src, &d), "hgih");
    for s in ["info", "low", "medium", "high", "critical"] {
        assert!(d.message.contains(s), "{}", d.message);
    }
    assert_eq!(d.help.as_deref(), Some("did you mean 'high'?"));
}

#[test]
fn unknown_window_kind() {
    let src = "rule r { window hopping 5m }";
    let d = one(src);
    assert_eq!(d.code, "unknown-window-kind");
    assert_eq!(under(src, &d), "hopping");
    assert!(d.message.contains("expected tumbling, sliding, session or count"), "{}", d.message);
    assert!(d.help.as_deref().is_some_and(|h| h.contains("sliding 5m every 1m")));
    let d = one("rule r { window tumbeling 5m }");
    assert_eq!(d.help.as_deref(), Some("did you mean 'tumbling'?"));
}

#[test]
fn bad_durations() {
    for (src, under_caret) in [
        ("rule r { within 10x }", "10x"),
        ("rule r { within 10 }", "10"),
        ("rule r { within 1.5m }", "1.5m"),
        ("rule r { suppress 5M }", "5M"),
        ("rule r { where b.ts - a.ts < 5y }", "5y"),
        ("stream s (a int) lateness 3", "3"),
        ("rule r { within 99999999999999999999s }", "99999999999999999999s"),
    ] {
        let d = one(src);
        assert_eq!((d.code, under(src, &d)), ("bad-duration", under_caret), "{src}");
        assert!(d.help.as_deref().is_some_and(|h| h.contains("ms, s, m, h or d")), "{src}: {d:?}");
    }
}

#[test]
fn unterminated_string() {
    let src = "rule r { message \"oops\n from t }";
    let d = one(src);
    assert_eq!(d.code, "unterminated-string");
    assert_eq!(under(src, &d), "\"oops");
    // Parsing goes on with the next line.
    assert!(the_rule(src).from.is_some());
    let src = "rule r { message \"oops";
    let ds = diags(src);
    assert_eq!(ds[0].code, "unterminated-string");
    assert_eq!(under(src, &ds[0]), "\"oops");
}

#[test]
fn bad_escape() {
    let src = r#"rule r { message "a\qb" }"#;
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("bad-escape", r"\q"));
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let src = "rule r { where a > }";
    let d = one(src);
    assert_eq!(d.code, "syntax");
    assert_eq!(under(src, &d), "}");
    assert!(d.message.contains("expected an expression"), "{}", d.message);

    let src = "rule r { where a > 1 1 }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "1"));
    assert!(d.message.contains("expected an operator or the next clause"), "{}", d.message);

    let src = "rule r { after match skip to nowhere }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "nowhere"));
    assert!(d.message.contains("`next`"), "{}", d.message);

    // (The `where` then starts a clause of its own, which is reported too.)
    let src = "rule r { emit where }";
    let d = diags(src).remove(0);
    assert_eq!((d.code, under(src, &d)), ("syntax", "where"));
    assert!(d.help.as_deref().is_some_and(|h| h.contains("backticks")));
}

#[test]
fn comparisons_do_not_chain() {
    let src = "rule r { where a < b < c }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "<"));
    assert_eq!(d.primary.span.start, src.rfind('<').unwrap());
    let src = "rule r { where a = b is null }";
    assert_eq!(one(src).code, "syntax");
    let src = "rule r { where a is null + 1 }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "+"));
    let src = "rule r { where a in [1] * 2 }";
    assert_eq!(one(src).code, "syntax");
}

#[test]
fn calls_only_on_names_and_members_only_after_first_and_last() {
    let src = "rule r { where sum(x).y > 1 }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "."));
    assert!(d.help.is_some());
    let src = "rule r { where a.b(x) > 1 }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "("));
    let src = "rule r { where last(a.b).c > 1 }";
    assert_eq!(one(src).code, "syntax");
    let src = "rule r { where (a).b > 1 }";
    assert_eq!(one(src).code, "syntax");
}

#[test]
fn quantifier_errors() {
    let src = "rule r { pattern a+? b }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("bad-quantifier", "+?"));
    assert!(d.help.as_deref().is_some_and(|h| h.contains('*')));
    let src = "rule r { pattern a*? }";
    assert_eq!(one(src).code, "bad-quantifier");
    let src = "rule r { pattern a?? }";
    assert_eq!(one(src).code, "bad-quantifier");
    let src = "rule r { pattern a{2,4}?? }";
    assert_eq!(one(src).code, "bad-quantifier");
    let src = "rule r { pattern a{2 }";
    assert_eq!(one(src).code, "syntax");
}

#[test]
fn modifiers_need_a_loop() {
    let src = "rule r { pattern a greedy -> b }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("modifier-needs-loop", "greedy"));
    let src = "rule r { pattern a? consecutive }";
    assert_eq!(one(src).code, "modifier-needs-loop");
}

#[test]
fn conflicting_and_repeated_modifiers() {
    let src = "rule r { pattern a+ consecutive greedy any -> b }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("conflicting-modifiers", "any"));
    assert_eq!(d.secondary[0].span.start, src.find("consecutive").unwrap());
    // The first is kept, and the pattern is kept.
    let r = the_rule(src);
    let q = r.pattern.expect("pattern").terms[0].quantifier.clone().expect("quantifier");
    assert_eq!(q.looping, LoopContiguity::Consecutive);
    assert!(q.greedy);
    let src = "rule r { pattern a+ greedy greedy }";
    assert_eq!(one(src).code, "duplicate-modifier");
}

#[test]
fn pattern_syntax_errors() {
    let src = "rule r { pattern a -> }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "}"));
    let src = "rule r { pattern a, b }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", ","));
    let src = "rule r { pattern (a -> b }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("syntax", "}"));
    let src = "rule r { pattern () }";
    assert_eq!(one(src).code, "syntax");
}

#[test]
fn numbers_out_of_range() {
    let src = "rule r { where x = 9223372036854775808 }";
    let d = one(src);
    assert_eq!((d.code, under(src, &d)), ("bad-number", "9223372036854775808"));
    let src = "rule r { where x = 1e999 }";
    assert_eq!(one(src).code, "bad-number");
    let src = "rule r { pattern a{99999999999} }";
    assert_eq!(one(src).code, "bad-number");
    let src = "rule r { pattern a{1,x} from t }";
    assert_eq!(one(src).code, "syntax");
    assert!(the_rule(src).from.is_some());
}

#[test]
fn nesting_too_deep() {
    let src = format!("rule r {{ where {}x{} }}", "(".repeat(200), ")".repeat(200));
    let d = one(&src);
    assert_eq!(d.code, "nesting-too-deep");
    assert_eq!(d.message, "expression nested too deeply");
    let src = format!("rule r {{ where {}x }}", "-".to_string() + &" -".repeat(200));
    assert_eq!(one(&src).code, "nesting-too-deep");
    let src = format!("rule r {{ where {}x }}", "not ".repeat(200));
    assert_eq!(one(&src).code, "nesting-too-deep");
    let src = format!("rule r {{ where x{} }}", " + x".repeat(200));
    assert_eq!(one(&src).code, "nesting-too-deep");
    let src = format!("rule r {{ pattern {}a{} }}", "(".repeat(200), ")".repeat(200));
    assert_eq!(one(&src).code, "nesting-too-deep");
    // Long flat lists are fine.
    let src = format!("rule r {{ where x in [{}] }}", vec!["1"; 5000].join(", "));
    assert!(cepheus_dsl::parse(&src).1.is_empty());
}

#[test]
fn stray_characters() {
    let src = "rule r { where a && b }";
    let ds = diags(src);
    assert_eq!(ds[0].code, "syntax");
    assert_eq!(under(src, &ds[0]), "&&");
    assert_eq!(ds[0].help.as_deref(), Some("write `and`"));
}

#[test]
fn top_level_garbage() {
    let src = "strem s (a int) rule r { from s }";
    let ds = diags(src);
    assert_eq!(ds.len(), 1);
    assert_eq!((ds[0].code, under(src, &ds[0])), ("syntax", "strem"));
    assert_eq!(ds[0].help.as_deref(), Some("did you mean 'stream'?"));
    let (file, _) = cepheus_dsl::parse(src);
    assert_eq!(file.items.len(), 1);
}

#[test]
fn unclosed_rule() {
    let src = "rule a { from t\nrule b { from u }";
    let ds = diags(src);
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, "syntax");
    assert!(ds[0].message.contains("expected `}` to close rule `a`"), "{}", ds[0].message);
    let (file, _) = cepheus_dsl::parse(src);
    assert_eq!(file.items.len(), 2);
    let src = "rule a { from t";
    let ds = diags(src);
    assert_eq!(ds[0].primary.span.start, src.len());
}

#[test]
fn many_errors_in_one_file_are_all_reported() {
    let src = r#"
stream transactions (
  id string,
  amount flaot,
  bad bad bad,
  country string
)
key id;

rule one {
  severity hgih
  from transactions
  wihtin 10m
  where amount > > 1
  window hopping 5m
  suppress 10x
  emit id
}

rule two {
  from transactions
  pattern a+? -> b
  define a as amount < 1, b as amount >
  within 5m
  within 6m
}

rule three {
  from transactions
  message "unterminated
}
"#;
    let found: Vec<(&str, &str)> = codes(src);
    let want = [
        ("syntax", "bad"),
        ("unknown-severity", "hgih"),
        ("unknown-clause", "wihtin"),
        ("syntax", ">"),
        ("unknown-window-kind", "hopping"),
        ("bad-duration", "10x"),
        ("bad-quantifier", "+?"),
        ("syntax", "within"),
        ("duplicate-clause", "within"),
        ("unterminated-string", "\"unterminated"),
    ];
    assert_eq!(found, want);
    // What parsed is kept.
    let (file, _) = cepheus_dsl::parse(src);
    assert_eq!(file.items.len(), 4);
    let Some(Item::Stream(s)) = file.items.first() else {
        panic!()
    };
    let names: Vec<String> = s.fields.iter().map(|f| f.path.dotted()).collect();
    assert_eq!(names, ["id", "amount", "country"]);
    assert_eq!(s.key.len(), 1);
    let Some(Item::Rule(one)) = file.items.get(1) else {
        panic!()
    };
    assert!(one.from.is_some() && one.emit.is_some());
    assert!(one.severity.is_none() && one.where_.is_none() && one.window.is_none());
    let Some(Item::Rule(two)) = file.items.get(2) else {
        panic!()
    };
    assert_eq!(two.within.as_ref().map(|w| w.amount), Some(5));
    assert!(two.pattern.is_none() && two.define.is_empty());
}

#[test]
fn diagnostics_render_with_line_and_column() {
    let src = "rule r {\n  from t\n  within 10x\n}\n";
    let (_, ds) = cepheus_dsl::parse(src);
    let text = cepheus_dsl::diagnostic::render("r.cep", src, &ds);
    assert!(text.contains("r.cep:3:10"), "{text}");
    assert!(text.contains("^^^"), "{text}");
}
