//! Window (aggregation) rules: the window, `allow lateness`, `having`,
//! `emit`, and the aggregates they use.

use crate::ast::{Duration, RuleDecl, Window, WindowKind as AstKind};
use crate::diagnostic::Diagnostic;
use crate::plan::{Aggregate, OutputPlan, WindowKind, WindowPlan};

use super::expr::ExprChecker;
use super::output;
use super::scope::{Ctx, Scope};

pub(crate) fn check_window_rule(
    rule: &RuleDecl,
    window: &Window,
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
    source: &str,
) -> (WindowPlan, OutputPlan) {
    let kind = window_kind(window, diags);
    if let Some(l) = &rule.allow_lateness {
        if let WindowKind::Count { .. } = kind {
            diags.push(
                Diagnostic::error(
                    "lateness-on-count-window",
                    "`allow lateness` does not apply to count windows",
                    l.span,
                )
                .with_label("count windows have no end time")
                .with_secondary(window.span, "count window")
                .with_help("remove `allow lateness`, or use a time window (`tumbling 1m`)"),
            );
        } else if scope.stream.is_some_and(|s| s.time.is_none()) {
            diags.push(
                Diagnostic::warning(
                    "lateness-without-time",
                    "`allow lateness` has no effect: the stream has no `time` field, so windows run on processing time",
                    l.span,
                )
                .with_label("ignored")
                .with_help("declare the stream's event-time field with `time <field>`"),
            );
        }
    }
    let mut aggs: Vec<Aggregate> = Vec::new();
    let (having, out) = {
        let mut ec = ExprChecker {
            scope,
            ctx: Ctx::WindowOut,
            diags,
            aggs: &mut aggs,
        };
        let having = rule.having.as_ref().map(|h| ec.condition(h, "`having`"));
        let out = output::output(rule.emit.as_deref(), super::rule::checked_message(source, rule), &mut ec, source);
        (having, out)
    };
    let plan = WindowPlan {
        kind,
        allowed_lateness_ms: rule.allow_lateness.as_ref().map_or(0, |d| d.millis()),
        aggregates: aggs,
        having,
    };
    (plan, out)
}

fn positive(d: &Duration, what: &str, diags: &mut Vec<Diagnostic>) -> u64 {
    let ms = d.millis();
    if ms == 0 {
        diags.push(
            Diagnostic::error(
                "zero-window",
                format!("the {what} must be longer than 0"),
                d.span,
            )
            .with_label("zero")
            .with_help("give a positive duration such as `1m`"),
        );
    }
    ms
}

fn window_kind(window: &Window, diags: &mut Vec<Diagnostic>) -> WindowKind {
    match &window.kind {
        AstKind::Tumbling { size } => WindowKind::Tumbling {
            size_ms: positive(size, "window size", diags),
        },
        AstKind::Sliding { size, every } => {
            let size_ms = positive(size, "window size", diags);
            let slide_ms = positive(every, "slide (`every`)", diags);
            if size_ms > 0 && slide_ms > size_ms {
                diags.push(
                    Diagnostic::error(
                        "slide-exceeds-size",
                        format!(
                            "a sliding window cannot move by more than its size ({} > {})",
                            text(every),
                            text(size)
                        ),
                        every.span,
                    )
                    .with_label("events between windows would be skipped")
                    .with_secondary(size.span, "window size")
                    .with_help("make `every` at most the size; `every` equal to the size is a tumbling window"),
                );
            }
            WindowKind::Sliding { size_ms, slide_ms }
        }
        AstKind::Session { gap } => WindowKind::Session {
            gap_ms: positive(gap, "session gap", diags),
        },
        AstKind::Count { size, every } => {
            if size.node == 0 {
                diags.push(
                    Diagnostic::error("zero-window", "a count window must hold at least 1 event", size.span)
                        .with_label("zero")
                        .with_help("e.g. `count 100`"),
                );
            }
            if let Some(e) = every {
                if e.node == 0 {
                    diags.push(
                        Diagnostic::error("zero-window", "a count window must slide by at least 1 event", e.span)
                            .with_label("zero")
                            .with_help("e.g. `count 100 every 10`"),
                    );
                } else if e.node > size.node && size.node > 0 {
                    diags.push(
                        Diagnostic::error(
                            "slide-exceeds-size",
                            format!(
                                "a count window cannot slide by more than its size ({} > {})",
                                e.node, size.node
                            ),
                            e.span,
                        )
                        .with_label("events between windows would be skipped")
                        .with_secondary(size.span, "window size")
                        .with_help("make `every` at most the size"),
                    );
                }
            }
            WindowKind::Count {
                size: size.node,
                slide: every.as_ref().map(|e| e.node),
            }
        }
    }
}

fn text(d: &Duration) -> String {
    format!("{}{}", d.amount, d.unit.suffix())
}
