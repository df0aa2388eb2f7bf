//! Pattern rules: the pattern's shape checked against FlinkCEP's rules, its
//! variables, `define`, `within`, `after match`, `on timeout`, and the
//! resulting [`PatternPlan`].
//!
//! FlinkCEP's own validation (Pattern, Quantifier, NFACompiler) rejects:
//! duplicate names; quantifiers, `optional` and `greedy` on NOT patterns;
//! `times(0)` and `times(a, b)` with `b < a`; `until` on non-looping
//! patterns; `consecutive` / `allowCombinations` on singletons and together;
//! `greedy` on singletons, groups and `allowCombinations` loops; an optional
//! pattern right after a greedy one; a NOT pattern right after an optional
//! one; a trailing `notFollowedBy` without a window; a skip-to name that is
//! not a top-level pattern. Flink's SQL layer further rejects patterns that
//! can match no event and a greedy last element. Cepheus rejects all of
//! these, plus a few shapes that can never match or never end (see
//! README.md, "Rejected patterns").

use std::collections::HashMap;

use crate::ast::{
    Contiguity, Count, LoopContiguity, Pattern, RuleDecl, SkipStrategy, Term, TermKind,
};
use crate::diagnostic::Diagnostic;
use crate::plan::{
    self, Aggregate, PatternPlan, Quantifier, Skip, Stage, StageContiguity, StageKind,
};
use crate::span::Span;
use crate::suggest;

use super::expr::ExprChecker;
use super::output;
use super::scope::{Ctx, Scope, VarInfo};

/// Collects the pattern's variables in order of first appearance.
pub(crate) fn collect_vars(p: &Pattern, diags: &mut Vec<Diagnostic>) -> Vec<VarInfo> {
    let mut vars = Vec::new();
    walk_vars(p, Some(1), false, false, &mut vars, diags);
    vars
}

fn own_max(count: Count) -> Option<u64> {
    match count {
        Count::Once => Some(1),
        Count::Exactly(n) => Some(u64::from(n)),
        Count::Range(_, m) => Some(u64::from(m)),
        Count::AtLeast(_) | Count::OneOrMore => None,
    }
}

fn walk_vars(
    p: &Pattern,
    mult: Option<u64>,
    multi: bool,
    in_group: bool,
    vars: &mut Vec<VarInfo>,
    diags: &mut Vec<Diagnostic>,
) {
    for term in &p.terms {
        let count = term.quantifier.as_ref().map_or(Count::Once, |q| q.count);
        let max = match (mult, own_max(count)) {
            (Some(a), Some(b)) => Some(a.saturating_mul(b)),
            _ => None,
        };
        let loops = count.loops();
        match &term.kind {
            TermKind::Var(id) => {
                if let Some(first) = vars.iter().find(|v| v.name == id.name) {
                    diags.push(
                        Diagnostic::error(
                            "duplicate-variable",
                            format!("variable '{}' appears twice in the pattern", id.name),
                            id.span,
                        )
                        .with_label("used again here")
                        .with_secondary(first.span, "first used here")
                        .with_help(format!(
                            "each variable names one step of the pattern (as in FlinkCEP); use a quantifier (`{}+`, `{}{{2}}`) or a new name such as '{}2' with its own define",
                            id.name, id.name, id.name
                        )),
                    );
                    continue;
                }
                vars.push(VarInfo {
                    name: id.name.clone(),
                    id: vars.len() as u32,
                    span: id.span,
                    multi: multi || loops,
                    max_events: max,
                    negated: term.negated,
                    unbounded_loop: matches!(count, Count::AtLeast(_) | Count::OneOrMore),
                    in_group,
                });
            }
            TermKind::Group(inner) => {
                walk_vars(inner, max, multi || loops, true, vars, diags);
            }
        }
    }
}

/// Whether a term can be passed without taking an event.
fn can_be_empty(term: &Term) -> bool {
    if term.negated {
        return true;
    }
    if term.quantifier.as_ref().is_some_and(is_optional) {
        return true;
    }
    match &term.kind {
        TermKind::Var(_) => false,
        TermKind::Group(inner) => inner.terms.iter().all(can_be_empty),
    }
}

fn is_optional(q: &crate::ast::Quantifier) -> bool {
    q.optional || matches!(q.count, Count::Range(0, _) | Count::AtLeast(0))
}

fn term_name(term: &Term) -> String {
    match &term.kind {
        TermKind::Var(id) => id.name.clone(),
        TermKind::Group(_) => "(...)".to_string(),
    }
}

/// Checks the shape of the pattern; `within` decides whether a trailing
/// absence can end.
pub(crate) fn validate(p: &Pattern, has_within: bool, diags: &mut Vec<Diagnostic>) {
    validate_seq(p, true, has_within, diags);
}

fn validate_seq(p: &Pattern, top: bool, has_within: bool, diags: &mut Vec<Diagnostic>) {
    let Some(last_index) = p.terms.len().checked_sub(1) else {
        diags.push(Diagnostic::error("empty-pattern", "the pattern has no terms", p.span));
        return;
    };
    let mut leading_negation = false;
    for (i, term) in p.terms.iter().enumerate() {
        validate_term(term, diags);
        if let TermKind::Group(inner) = &term.kind {
            validate_seq(inner, false, has_within, diags);
        }
        let join = if i == 0 {
            None
        } else {
            Some(p.joins.get(i - 1).map_or(Contiguity::Relaxed, |j| j.node))
        };
        let join_span = if i == 0 { None } else { p.joins.get(i - 1).map(|j| j.span) };
        let name = term_name(term);
        if term.negated {
            if i == 0 {
                leading_negation = true;
                let (what, help) = if top {
                    ("a pattern cannot start with a negation", format!(
                        "FlinkCEP's begin() cannot be a NOT pattern: put the event the absence follows first, e.g. `a -> !{name} -> b`"
                    ))
                } else {
                    ("a group cannot start with a negation", format!(
                        "start the group with the event the absence follows, e.g. `(a -> !{name} -> b)`"
                    ))
                };
                diags.push(
                    Diagnostic::error("leading-negation", what, term.span)
                        .with_label("nothing comes before this")
                        .with_help(help),
                );
            } else {
                if join == Some(Contiguity::NonDeterministic) {
                    diags.push(
                        Diagnostic::error(
                            "any-before-negation",
                            format!("`->>` cannot come before a negation (`!{name}`)"),
                            join_span.unwrap_or(term.span),
                        )
                        .with_label("non-deterministic relaxed")
                        .with_help(format!(
                            "FlinkCEP has no `notFollowedByAny`: write `-> !{name}` (no such event in between) or `!{name}` right after the previous term (not the very next event)"
                        )),
                    );
                }
                let prev = &p.terms[i - 1];
                if can_be_empty(prev) && !prev.negated {
                    diags.push(
                        Diagnostic::error(
                            "optional-before-negation",
                            format!("a negation (`!{name}`) cannot follow an optional term"),
                            term.span,
                        )
                        .with_label("negation")
                        .with_secondary(prev.span, "this term is optional")
                        .with_help("FlinkCEP does not support an optional path into a NOT pattern: write two rules, one with and one without the optional term"),
                    );
                }
            }
            if i == last_index && !leading_negation {
                if !top {
                    diags.push(
                        Diagnostic::error(
                            "group-ends-with-negation",
                            format!("a group cannot end with a negation (`!{name}`)"),
                            term.span,
                        )
                        .with_label("nothing after it in the group")
                        .with_help("move the negation out of the group, between the group and the next term"),
                    );
                } else if join != Some(Contiguity::Strict) && !has_within {
                    // (`a !c` at the end is FlinkCEP's trailing notNext: the
                    // match completes when the next event is not a `c`.)
                    diags.push(
                        Diagnostic::error(
                            "unbounded-absence",
                            format!("`-> !{name}` at the end never completes without `within`"),
                            term.span,
                        )
                        .with_label("waits forever for the absence to be over")
                        .with_help("add `within 10m` (or another duration): the match is emitted when that time has passed with no such event"),
                    );
                }
            }
        }
        // FlinkCEP's optional() (also behind `*` and `{0,}`) checks the
        // previous pattern; `{0,m}` sets the property without that check.
        let explicit_optional = term
            .quantifier
            .as_ref()
            .is_some_and(|q| q.optional || q.count == Count::AtLeast(0));
        if i > 0 && explicit_optional {
            let prev = &p.terms[i - 1];
            if prev.quantifier.as_ref().is_some_and(|q| q.greedy) {
                diags.push(
                    Diagnostic::error(
                        "optional-after-greedy",
                        format!("optional term '{name}' cannot follow a greedy loop"),
                        term.span,
                    )
                    .with_label("optional")
                    .with_secondary(prev.span, "greedy")
                    .with_help("FlinkCEP rejects an optional pattern after a greedy one: drop `greedy`, or make this term required"),
                );
            }
        }
    }
    if top && !leading_negation && p.terms.iter().all(can_be_empty) {
        diags.push(
            Diagnostic::warning(
                "empty-pattern",
                "every term of this pattern is optional: a match still needs at least one event",
                p.span,
            )
            .with_label("every term is optional or negated")
            .with_help("make at least one term required (drop `?`, use `+` instead of `*`, `{1,3}` instead of `{0,3}`)"),
        );
    }
}



fn validate_term(term: &Term, diags: &mut Vec<Diagnostic>) {
    let name = term_name(term);
    let Some(q) = &term.quantifier else {
        if term.negated {
            if let TermKind::Group(_) = term.kind {
                diags.push(negated_group(term));
            }
        }
        return;
    };
    if term.negated {
        if let TermKind::Group(_) = term.kind {
            diags.push(negated_group(term));
        }
        diags.push(
            Diagnostic::error(
                "negated-quantifier",
                format!("a negation (`!{name}`) cannot have a quantifier or modifier"),
                q.span,
            )
            .with_label("not applicable to a negation")
            .with_help(format!(
                "FlinkCEP's NOT patterns take no quantifier: `!{name}` already means \"no {name}\", however many there would be"
            )),
        );
        return;
    }
    match q.count {
        Count::Exactly(0) | Count::Range(0, 0) => {
            diags.push(
                Diagnostic::error(
                    "zero-count",
                    format!("'{name}' would be matched zero times"),
                    q.span,
                )
                .with_label("zero repetitions")
                .with_help(format!(
                    "use `{name}?` for an optional term, `!{name}` for an absence, or remove it"
                )),
            );
            return;
        }
        Count::Range(a, b) if b < a => {
            diags.push(
                Diagnostic::error(
                    "bad-range",
                    format!("the range {{{a},{b}}} is empty: its upper bound is below its lower bound"),
                    q.span,
                )
                .with_label("empty range")
                .with_help(format!("write `{{{b},{a}}}`")),
            );
            return;
        }
        _ => {}
    }
    let loops = q.count.loops();
    let modifier = if q.greedy {
        Some("greedy")
    } else {
        match q.looping {
            LoopContiguity::Relaxed => None,
            LoopContiguity::Consecutive => Some("consecutive"),
            LoopContiguity::Any => Some("any"),
        }
    };
    if let (false, Some(m)) = (loops, modifier) {
        diags.push(
            Diagnostic::error(
                "modifier-on-non-loop",
                format!("`{m}` applies to loops, but '{name}' takes at most one event"),
                q.span,
            )
            .with_label("not a loop")
            .with_help(format!(
                "use it on a loop (`{name}+ {m}`, `{name}{{2,}} {m}`) or remove `{m}`"
            )),
        );
        return;
    }
    if let TermKind::Group(inner) = &term.kind {
        if matches!(q.count, Count::AtLeast(_) | Count::OneOrMore) && inner.terms.iter().all(can_be_empty) {
            diags.push(
                Diagnostic::error(
                    "empty-group-loop",
                    "an open-ended loop over a group that can match no event never ends",
                    term.span,
                )
                .with_label("every term of this group is optional or negated")
                .with_secondary(q.span, "repeats without limit")
                .with_help("each iteration may take no event, so the loop could repeat forever (FlinkCEP cycles endlessly on it): make one term of the group required (`a+` instead of `a*`, `b` instead of `b?`), or bound the loop (`{1,3}`)"),
            );
        }
    }
    if q.greedy {
        if let TermKind::Group(_) = term.kind {
            diags.push(
                Diagnostic::error(
                    "greedy-group",
                    "`greedy` cannot be applied to a group",
                    q.span,
                )
                .with_label("group")
                .with_help("FlinkCEP supports greedy only on single-variable loops: put `greedy` on a loop inside the group"),
            );
        } else if q.looping == LoopContiguity::Any {
            diags.push(
                Diagnostic::error(
                    "greedy-with-any",
                    "`greedy` and `any` exclude each other",
                    q.span,
                )
                .with_label("both given")
                .with_help("`any` (allowCombinations) keeps every combination, `greedy` only the longest: choose one"),
            );
        }
    }
}

fn negated_group(term: &Term) -> Diagnostic {
    Diagnostic::error(
        "negated-group",
        "a group cannot be negated",
        term.span,
    )
    .with_label("negated group")
    .with_help("FlinkCEP negates single patterns only: negate each variable (`!c`) instead")
}

/// The FlinkCEP quantifier of a term, and whether it is optional.
fn quantifier(q: Option<&crate::ast::Quantifier>) -> (Option<Quantifier>, bool) {
    let Some(q) = q else {
        return (None, false);
    };
    match q.count {
        Count::Once => (None, q.optional),
        Count::Exactly(n) => (Some(Quantifier::Times { from: n, to: n }), q.optional),
        // FlinkCEP's times(0, m) is times(1, m).optional().
        Count::Range(0, m) => (Some(Quantifier::Times { from: 1, to: m }), true),
        Count::Range(a, b) => (Some(Quantifier::Times { from: a, to: b }), q.optional),
        // `{0,}` is `*`: FlinkCEP's timesOrMore needs at least 1.
        Count::AtLeast(0) => (Some(Quantifier::OneOrMore), true),
        Count::AtLeast(n) => (Some(Quantifier::TimesOrMore { from: n }), q.optional),
        Count::OneOrMore => (Some(Quantifier::OneOrMore), q.optional),
    }
}

/// Conditions of each variable, by id: (`define`, `until`).
pub(crate) type Conditions = Vec<(Option<plan::Expr>, Option<plan::Expr>)>;

pub(crate) fn build_stages(p: &Pattern, vars: &[VarInfo], conds: &Conditions) -> Vec<Stage> {
    let mut stages = Vec::with_capacity(p.terms.len());
    for (i, term) in p.terms.iter().enumerate() {
        let contiguity = if i == 0 {
            StageContiguity::Begin
        } else {
            let join = p.joins.get(i - 1).map_or(Contiguity::Relaxed, |j| j.node);
            match (join, term.negated) {
                (Contiguity::Strict, false) => StageContiguity::Next,
                (Contiguity::Strict, true) => StageContiguity::NotNext,
                (Contiguity::Relaxed, false) => StageContiguity::FollowedBy,
                (Contiguity::Relaxed, true) => StageContiguity::NotFollowedBy,
                // `->> !c` is rejected before plans are built.
                (Contiguity::NonDeterministic, false) => StageContiguity::FollowedByAny,
                (Contiguity::NonDeterministic, true) => StageContiguity::NotFollowedBy,
            }
        };
        let kind = match &term.kind {
            TermKind::Var(id) => {
                let var = vars.iter().find(|v| v.name == id.name).map_or(0, |v| v.id);
                let (condition, until) = conds.get(var as usize).cloned().unwrap_or((None, None));
                StageKind::Var {
                    var,
                    condition,
                    until,
                }
            }
            TermKind::Group(inner) => StageKind::Group {
                stages: build_stages(inner, vars, conds),
            },
        };
        let (quantifier, optional) = quantifier(term.quantifier.as_ref());
        let q = term.quantifier.as_ref();
        stages.push(Stage {
            kind,
            contiguity,
            quantifier,
            optional,
            greedy: q.is_some_and(|q| q.greedy),
            consecutive: q.is_some_and(|q| q.looping == LoopContiguity::Consecutive),
            allow_combinations: q.is_some_and(|q| q.looping == LoopContiguity::Any),
        });
    }
    stages
}

/// Checks a pattern rule's pattern-specific clauses and builds its plan.
/// `None` in the plan only when something is structurally missing; errors
/// are in `diags` either way.
pub(crate) fn check_pattern_rule(
    rule: &RuleDecl,
    pattern: &Pattern,
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
    source: &str,
) -> (PatternPlan, crate::plan::OutputPlan) {
    let vars = scope.vars;
    if let Some(w) = &rule.within {
        if w.millis() == 0 {
            diags.push(
                Diagnostic::error("zero-within", "`within` must be longer than 0", w.span)
                    .with_label("zero")
                    .with_help("give the longest time from the first to the last event of a match, e.g. `within 10m`"),
            );
        }
    }
    validate(pattern, rule.within.is_some(), diags);

    let mut no_aggs: Vec<Aggregate> = Vec::new();
    let mut conds: Conditions = vec![(None, None); vars.len()];
    let mut defined: HashMap<&str, Span> = HashMap::new();
    for d in &rule.define {
        let Some(var) = vars.iter().find(|v| v.name == d.var.name) else {
            let mut diag = Diagnostic::error(
                "unused-define",
                format!("'{}' is defined but not used in the pattern", d.var.name),
                d.var.span,
            )
            .with_label("not in the pattern");
            diag = match suggest::did_you_mean(&d.var.name, vars.iter().map(|v| v.name.as_str())) {
                Some(h) => diag.with_help(h),
                None => diag.with_help("add it to the pattern or remove this define"),
            };
            diags.push(diag);
            // Still check its expressions for their own mistakes.
            let mut ec = ExprChecker {
                scope,
                ctx: Ctx::Define {
                    var: vars.len() as u32,
                },
                diags,
                aggs: &mut no_aggs,
            };
            let _ = ec.check(&d.condition);
            continue;
        };
        if let Some(&first) = defined.get(var.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-define",
                    format!("'{}' is defined twice", var.name),
                    d.var.span,
                )
                .with_label("defined again here")
                .with_secondary(first, "first defined here")
                .with_help("combine both conditions with `and` in one define"),
            );
            continue;
        }
        defined.insert(&var.name, d.var.span);
        let mut ec = ExprChecker {
            scope,
            ctx: Ctx::Define { var: var.id },
            diags,
            aggs: &mut no_aggs,
        };
        let cond = ec.condition(&d.condition, &format!("the condition of '{}'", var.name));
        let until = d.until.as_ref().map(|u| ec.condition(u, &format!("the `until` of '{}'", var.name)));
        if let Some(u) = &d.until {
            if !var.unbounded_loop || var.negated {
                diags.push(
                    Diagnostic::error(
                        "until-on-non-loop",
                        format!("`until` applies to open-ended loops, and '{}' is not one", var.name),
                        u.span,
                    )
                    .with_label("until")
                    .with_secondary(var.span, "not `+`, `*` or `{n,}`")
                    .with_help(format!(
                        "FlinkCEP's until() stops a looping pattern: use `{0}+`, `{0}*` or `{0}{{n,}}`, or fold the condition into the define with `and not (...)`",
                        var.name
                    )),
                );
            }
        }
        conds[var.id as usize] = (Some(cond), until);
    }
    let has_until = |name: &str| rule.define.iter().any(|d| d.var.name == name && d.until.is_some());
    greedy_until_after_negation(pattern, &has_until, diags);
    // `a !c b` with no define for `c`: the event after `a` is always a `c`,
    // so the rule can never match. (`a -> !c -> b` and a final `a -> !c`
    // without define mean "no other event in between" / "no event at all".)
    let mut strict = Vec::new();
    strict_negations(pattern, &mut strict);
    for id in strict {
        if !defined.contains_key(id.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    "negation-without-define",
                    format!("`!{}` has no define, so it matches every event and the pattern can never match", id.name),
                    id.span,
                )
                .with_label("matches every event")
                .with_help(format!(
                    "the event right after the previous term always matches an undefined '{0}': say which events must not come next with `define {0} as ...`",
                    id.name
                )),
            );
        }
    }

    let skip = match &rule.skip {
        None => Skip::NoSkip,
        Some(s) => match &s.node {
            SkipStrategy::NoSkip => Skip::NoSkip,
            SkipStrategy::ToNext => Skip::ToNext,
            SkipStrategy::PastLastEvent => Skip::PastLastEvent,
            SkipStrategy::ToFirst(id) | SkipStrategy::ToLast(id) => {
                let first = matches!(s.node, SkipStrategy::ToFirst(_));
                match skip_var(id, vars, diags) {
                    Some(v) if first => Skip::ToFirst(v),
                    Some(v) => Skip::ToLast(v),
                    None => Skip::NoSkip,
                }
            }
        },
    };

    let on_timeout = rule.on_timeout.as_ref().map(|t| {
        if rule.within.is_none() {
            diags.push(
                Diagnostic::error(
                    "timeout-needs-within",
                    "`on timeout` needs `within`: without it, partial matches never time out",
                keyword_span(source, t.span, "on timeout"),
                )
                .with_label("never fires")
                .with_help("add `within 15m` (the longest time a match may take)"),
            );
        }
        let mut ec = ExprChecker {
            scope,
            ctx: Ctx::PatternOut,
            diags,
            aggs: &mut no_aggs,
        };
        output::output(Some(&t.emit), t.message.as_ref(), &mut ec, source)
    });

    let mut ec = ExprChecker {
        scope,
        ctx: Ctx::PatternOut,
        diags,
        aggs: &mut no_aggs,
    };
    let out = output::output(rule.emit.as_deref(), super::rule::checked_message(source, rule), &mut ec, source);

    let plan = PatternPlan {
        vars: vars.iter().map(|v| v.name.clone()).collect(),
        stages: build_stages(pattern, vars, &conds),
        within_ms: rule.within.as_ref().map(|w| w.millis()),
        skip,
        on_timeout,
    };
    (plan, out)
}

fn skip_var(id: &crate::ast::Ident, vars: &[VarInfo], diags: &mut Vec<Diagnostic>) -> Option<u32> {
    let Some(var) = vars.iter().find(|v| v.name == id.name) else {
        let mut d = Diagnostic::error(
            "unknown-skip-variable",
            format!("`after match skip to` names '{}', which is not a pattern variable", id.name),
            id.span,
        )
        .with_label("not in the pattern");
        d = match suggest::did_you_mean(&id.name, vars.iter().map(|v| v.name.as_str())) {
            Some(h) => d.with_help(h),
            None => {
                let names: Vec<&str> = vars.iter().filter(|v| !v.negated).map(|v| v.name.as_str()).collect();
                d.with_help(format!("name one of: {}", names.join(", ")))
            }
        };
        diags.push(d);
        return None;
    };
    if var.negated {
        diags.push(
            Diagnostic::error(
                "skip-to-negated",
                format!("cannot skip to '{}': it is negated and never holds events", var.name),
                id.span,
            )
            .with_label("negated in the pattern")
            .with_secondary(var.span, "here"),
        );
        return None;
    }
    if var.in_group {
        diags.push(
            Diagnostic::error(
                "skip-variable-in-group",
                format!("cannot skip to '{}': it is inside a group", var.name),
                id.span,
            )
            .with_label("inside a group")
            .with_secondary(var.span, "in this group")
            .with_help("FlinkCEP looks up skip targets among the top-level variables only: name one outside the group"),
        );
        return None;
    }
    Some(var.id)
}

/// The span of a clause's leading keywords (`on timeout`) when the clause
/// starts with them, else the whole clause.
pub(crate) fn keyword_span(source: &str, span: Span, keywords: &str) -> Span {
    let end = span.start + keywords.len();
    match source.get(span.start..end) {
        Some(text) if text.eq_ignore_ascii_case(keywords) => Span::new(span.start, end),
        _ => span,
    }
}

/// An optional greedy loop with `until` (`y* greedy`, `y{0,} greedy`)
/// reached from a `-> !x` in the same sequence through optional terms only:
/// FlinkCEP's NFACompiler leaves that loop's `until` edge pointing at a state
/// it never built (a NullPointerException at run time), and our compiler
/// refuses it (`GreedyUntilUnsupported`); say so here, with a way out.
fn greedy_until_after_negation(p: &Pattern, has_until: &dyn Fn(&str) -> bool, diags: &mut Vec<Diagnostic>) {
    for (i, term) in p.terms.iter().enumerate() {
        let id = match &term.kind {
            TermKind::Group(inner) => {
                greedy_until_after_negation(inner, has_until, diags);
                continue;
            }
            TermKind::Var(id) => id,
        };
        let Some(q) = &term.quantifier else { continue };
        let open = matches!(q.count, Count::AtLeast(_) | Count::OneOrMore);
        if term.negated || !q.greedy || !open || !is_optional(q) || !has_until(&id.name) {
            continue;
        }
        // Walk back as FlinkCEP's getCurrentNotCondition does.
        let mut negation = None;
        let mut j = i;
        while j > 0 {
            let prev = &p.terms[j - 1];
            let relaxed = j >= 2 && !matches!(p.joins.get(j - 2), Some(jn) if jn.node == Contiguity::Strict);
            let not_follow = prev.negated && relaxed;
            if !(not_follow || prev.quantifier.as_ref().is_some_and(is_optional)) {
                break;
            }
            if not_follow {
                negation = Some(prev);
                break;
            }
            j -= 1;
        }
        let Some(neg) = negation else { continue };
        let name = &id.name;
        diags.push(
            Diagnostic::error(
                "greedy-until-after-negation",
                format!("the optional greedy loop '{name}' with `until` cannot follow a negation (`!{}`)", term_name(neg)),
                q.span,
            )
            .with_label("optional, greedy, and stopped by `until`")
            .with_secondary(neg.span, "after this negation")
            .with_help(format!(
                "FlinkCEP cannot run this shape (its compiler links the `until` to a state it never builds, and the job fails with a NullPointerException when an event meets the `until`): drop `greedy`, make the loop required (`{name}+`), or put a required term between `!{}` and '{name}'",
                term_name(neg)
            )),
        );
    }
}

/// Negated variables in strict position (`a !c b`), groups included.
fn strict_negations<'p>(p: &'p Pattern, out: &mut Vec<&'p crate::ast::Ident>) {
    for (i, term) in p.terms.iter().enumerate() {
        match &term.kind {
            TermKind::Var(id) if term.negated && i > 0 => {
                if p.joins.get(i - 1).is_some_and(|j| j.node == Contiguity::Strict) {
                    out.push(id);
                }
            }
            TermKind::Group(inner) => strict_negations(inner, out),
            TermKind::Var(_) => {}
        }
    }
}
