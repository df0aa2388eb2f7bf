//! Reserved words, shared by the parser and the formatter.
//!
//! Keywords are case-insensitive. Only the words listed in [`RESERVED`] are
//! reserved, and only inside rules (where expressions and patterns end at the
//! next clause keyword); every other keyword (`by`, `skip`, `count`, `first`,
//! `key`, `time`, ...) is recognised by its position and stays usable as a name.
//! A reserved word is still usable as a name when written in backticks.

/// Words that start a clause of a rule (the first word of the clause).
pub const CLAUSE_KEYWORDS: [&str; 17] = [
    "severity",
    "from",
    "where",
    "partition",
    "pattern",
    "define",
    "within",
    "after",
    "on",
    "window",
    "allow",
    "having",
    "emit",
    "message",
    "notify",
    "labels",
    "suppress",
];

/// Words of the expression language.
pub const EXPR_KEYWORDS: [&str; 12] = [
    "and", "or", "not", "in", "between", "is", "null", "matches", "true", "false", "as", "until",
];

/// Loop modifiers of pattern terms.
pub const PATTERN_MODIFIERS: [&str; 3] = ["greedy", "consecutive", "any"];

/// Clause keywords as written in full, for messages and did-you-mean.
pub const CLAUSE_NAMES: [&str; 17] = [
    "severity",
    "from",
    "where",
    "partition by",
    "pattern",
    "define",
    "within",
    "after match",
    "on timeout",
    "window",
    "allow lateness",
    "having",
    "emit",
    "message",
    "notify",
    "labels",
    "suppress",
];

fn contains(list: &[&str], word: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

pub fn is_clause_keyword(word: &str) -> bool {
    contains(&CLAUSE_KEYWORDS, word)
}

/// Whether `word` cannot be a bare name inside a rule.
pub fn is_reserved(word: &str) -> bool {
    is_clause_keyword(word) || contains(&EXPR_KEYWORDS, word) || contains(&PATTERN_MODIFIERS, word)
}

/// Whether `name` has the shape of a plain identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether the formatter must write `name` in backticks.
pub fn needs_backticks(name: &str) -> bool {
    !is_plain_ident(name)
        || is_reserved(name)
        || name.eq_ignore_ascii_case("stream")
        || name.eq_ignore_ascii_case("rule")
}
