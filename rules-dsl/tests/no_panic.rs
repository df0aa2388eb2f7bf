//! No input makes the parser (or the checker behind `compile`) panic or
//! overflow the stack.

use cepheus_dsl::Catalog;
use proptest::collection::vec;
use proptest::prelude::*;

const CARD_TESTING: &str = include_str!("fixtures/dsl_md/rule_card_testing.cep");
const VELOCITY: &str = include_str!("fixtures/dsl_md/rule_velocity.cep");

fn run(src: &str) {
    let (file, _) = cepheus_dsl::parse(src);
    // Whatever parsed can be printed and parsed again.
    let text = cepheus_dsl::format(&file);
    let _ = cepheus_dsl::parse(&text);
    let compiled = cepheus_dsl::compile(src, &Catalog::new());
    for d in &compiled.diagnostics {
        assert!(d.primary.span.start <= d.primary.span.end, "{d:?}");
        assert!(d.primary.span.end <= src.len(), "span past the end: {d:?}");
        assert!(src.is_char_boundary(d.primary.span.start) && src.is_char_boundary(d.primary.span.end));
    }
    let _ = cepheus_dsl::diagnostic::render("x.cep", src, &compiled.diagnostics);
}

const WORDS: &[&str] = &[
    // clause and other keywords
    "stream", "rule", "key", "time", "lateness", "severity", "from", "where", "partition", "by",
    "pattern", "define", "as", "until", "within", "after", "match", "skip", "to", "next", "past",
    "last", "event", "first", "no", "on", "timeout", "emit", "message", "window", "tumbling",
    "sliding", "every", "session", "gap", "count", "allow", "having", "notify", "labels",
    "suppress", "greedy", "consecutive", "any", "and", "or", "not", "in", "between", "is", "null",
    "matches", "true", "false", "high", "info", "hopping",
    // names
    "a", "b", "c", "small", "big", "amount", "transactions", "card_id", "float", "string", "ts",
    "`where`", "`a b`", "sum", "avg", "window.start",
    // literals
    "0", "1", "3", "-1", "2.00", "1e3", "1e999", "10s", "500ms", "5m", "10x", "1.5m",
    "99999999999999999999", "\"s\"", "\"a\\\"b\"", "\"bad\\q\"", "\"open", "`open",
    // punctuation
    "(", ")", "[", "]", "{", "}", ",", ".", ";", "+", "-", "*", "/", "%", "=", "==", "!=", "<>",
    "<", "<=", ">", ">=", "->", "->>", "!", "?", "&&", "@", "é",
    // layout
    "\n", "-- comment\n", "// comment\n",
];

fn soup() -> impl Strategy<Value = String> {
    vec((prop::sample::select(WORDS), any::<bool>()), 0..80).prop_map(|parts| {
        let mut s = String::new();
        for (w, space) in parts {
            s.push_str(w);
            if space {
                s.push(' ');
            }
        }
        s
    })
}

/// A valid file with a few byte ranges cut out or doubled.
fn mutated() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![CARD_TESTING, VELOCITY]);
    (base, vec((any::<prop::sample::Index>(), 0usize..20, any::<bool>()), 1..5)).prop_map(|(base, edits)| {
        let mut bytes = base.as_bytes().to_vec();
        for (at, len, cut) in edits {
            if bytes.is_empty() {
                break;
            }
            let start = at.index(bytes.len());
            let end = (start + len).min(bytes.len());
            if cut {
                bytes.drain(start..end);
            } else {
                let chunk: Vec<u8> = bytes[start..end].to_vec();
                bytes.splice(start..start, chunk);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_do_not_panic(bytes in vec(any::<u8>(), 0..300)) {
        run(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_does_not_panic(src in soup()) {
        run(&src);
    }

    #[test]
    fn mutated_examples_do_not_panic(src in mutated()) {
        run(&src);
    }
}

/// Adversarial nesting. The parser alone runs on a small stack (512 KiB,
/// debug build); parse, format and check together on 4 MiB.
#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let n = 20_000;
    let rejected = vec![
        format!("rule r {{ where {}x{} }}", "(".repeat(n), ")".repeat(n)),
        format!("rule r {{ where {}x }}", "(".repeat(n)),
        format!("rule r {{ where {}x }}", "not ".repeat(n)),
        format!("rule r {{ where {}x }}", "- ".repeat(n)),
        format!("rule r {{ where x{} }}", " + x".repeat(n)),
        format!("rule r {{ where x{} }}", " and x".repeat(n)),
        format!("rule r {{ where f({}x{}) }}", "f(".repeat(n), ")".repeat(n)),
        format!("rule r {{ where x in [{}] }}", "[".repeat(n)),
        format!("rule r {{ pattern {}a{} }}", "(".repeat(n), ")".repeat(n)),
        format!("rule r {{ pattern {}a }}", "(".repeat(n)),
        "{".repeat(n),
        "}".repeat(n),
    ];
    for src in &rejected {
        let (_, diags) = cepheus_dsl::parse(src);
        assert!(!diags.is_empty());
    }
    // Just under the limit: accepted, then printed and checked.
    let m = 60;
    let accepted = vec![
        format!("rule r {{ where {}x{} }}", "(".repeat(m), ")".repeat(m)),
        format!("rule r {{ where {}x }}", "not ".repeat(m)),
        format!("rule r {{ where {}x > 0 }}", "- ".repeat(m)),
        format!("rule r {{ where {}x{} > 0 }}", "abs(".repeat(m), ")".repeat(m)),
        format!("rule r {{ where x{} > 0 }}", " + x".repeat(m)),
        format!("rule r {{ where {}x{} > 0 }}", "(x - ".repeat(m), ")".repeat(m)),
        format!("rule r {{ from s pattern {}a{} }}", "(".repeat(m), ")".repeat(m)),
        format!("rule r {{ from s pattern {}a{} }}", "(a -> ".repeat(m), ")+".repeat(m)),
    ];
    for src in &accepted {
        let (_, diags) = cepheus_dsl::parse(src);
        assert!(diags.is_empty(), "{src}: {diags:?}");
    }
    let inputs: Vec<String> = rejected.into_iter().chain(accepted).collect();
    let parse_only = inputs.clone();
    std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || {
            for src in parse_only {
                let _ = cepheus_dsl::parse(&src);
            }
        })
        .expect("thread")
        .join()
        .expect("the parser fits in 512 KiB");
    std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || {
            for src in inputs {
                run(&src);
            }
            // Many items and long flat lists stay cheap.
            run(&"rule r { ".repeat(300));
            run(&format!("rule r {{ pattern a{} }}", " -> a".repeat(300)));
        })
        .expect("thread")
        .join()
        .expect("no panic, no overflow");
}
