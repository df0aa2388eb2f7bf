//! The syntax tree of a rule file, exactly as written (with spans).
//!
//! The parser builds it, the formatter prints it, the checker turns it into
//! [`crate::plan::RulePlan`]s. Nothing here is resolved: names are just names.
//! Spans are ignored by `==` (see [`Span`]), so a formatted file re-parses to an
//! equal tree.

use serde::{Deserialize, Serialize};

use crate::span::{Span, Spanned};

/// A whole `.cep` file: any number of `stream` and `rule` blocks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct File {
    pub items: Vec<Item>,
}

// A file holds a handful of items; boxing the rule would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Item {
    Stream(StreamDecl),
    Rule(RuleDecl),
}

/// A name as written: a stream, rule, field, variable, function or sink.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl Ident {
    pub fn new(name: impl Into<String>, span: Span) -> Self {
        Ident {
            name: name.into(),
            span,
        }
    }
}

/// A duration literal such as `500ms`, `10s`, `5m`, `2h`, `1d`.
///
/// `unit` keeps what was written so that the formatter prints it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duration {
    pub amount: u64,
    pub unit: DurationUnit,
    pub span: Span,
}

impl Duration {
    /// The duration in milliseconds (saturating: absurd literals do not wrap).
    pub fn millis(&self) -> u64 {
        self.amount.saturating_mul(self.unit.millis())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DurationUnit {
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    pub fn millis(self) -> u64 {
        match self {
            DurationUnit::Millis => 1,
            DurationUnit::Seconds => 1_000,
            DurationUnit::Minutes => 60_000,
            DurationUnit::Hours => 3_600_000,
            DurationUnit::Days => 86_400_000,
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Millis => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }

    pub fn from_suffix(s: &str) -> Option<DurationUnit> {
        Some(match s {
            "ms" => DurationUnit::Millis,
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            "d" => DurationUnit::Days,
            _ => return None,
        })
    }
}

/// A double-quoted string literal; `value` has escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringLit {
    pub value: String,
    pub span: Span,
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// `stream name ( fields ) [key f, ...] [time f] [lateness d] ;`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamDecl {
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    /// How the source partitions the stream (the Kafka message key).
    pub key: Vec<FieldPath>,
    /// The event-time field; `None` means processing time.
    pub time: Option<FieldPath>,
    /// Bounded out-of-orderness for the watermark.
    pub lateness: Option<Duration>,
    pub span: Span,
}

/// One field of a stream schema. The name may be a dotted path
/// (`device.temp float`) to type a nested field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDecl {
    pub path: FieldPath,
    pub ty: TypeExpr,
}

/// A dotted field name in a schema, `key` or `time` clause: `device.temp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPath {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl FieldPath {
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeExpr {
    /// The type name as written (`float`); checked, not trusted, by the checker.
    pub name: Ident,
    /// Written with a trailing `?`.
    pub nullable: bool,
    pub span: Span,
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// `rule name { clauses }`. Each clause at most once, in any order; the parser
/// reports a repeated clause and keeps the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleDecl {
    pub name: Ident,
    pub severity: Option<Spanned<Severity>>,
    pub from: Option<Ident>,
    pub where_: Option<Expr>,
    pub partition_by: Vec<Expr>,
    pub pattern: Option<Pattern>,
    pub define: Vec<Define>,
    pub within: Option<Duration>,
    pub skip: Option<Spanned<SkipStrategy>>,
    pub on_timeout: Option<OnTimeout>,
    pub window: Option<Window>,
    pub allow_lateness: Option<Duration>,
    pub having: Option<Expr>,
    pub emit: Option<Vec<EmitItem>>,
    pub message: Option<StringLit>,
    pub notify: Vec<Ident>,
    pub labels: Vec<Label>,
    pub suppress: Option<Duration>,
    pub span: Span,
}

impl RuleDecl {
    /// A rule with a name and no clauses, for the parser to fill in.
    pub fn empty(name: Ident, span: Span) -> Self {
        RuleDecl {
            name,
            severity: None,
            from: None,
            where_: None,
            partition_by: Vec::new(),
            pattern: None,
            define: Vec::new(),
            within: None,
            skip: None,
            on_timeout: None,
            window: None,
            allow_lateness: None,
            having: None,
            emit: None,
            message: None,
            notify: Vec::new(),
            labels: Vec::new(),
            suppress: None,
            span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

/// `after match ...`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipStrategy {
    NoSkip,
    ToNext,
    PastLastEvent,
    ToFirst(Ident),
    ToLast(Ident),
}

/// `name as condition [until condition]` in a `define` clause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Define {
    pub var: Ident,
    pub condition: Expr,
    pub until: Option<Expr>,
    pub span: Span,
}

/// `on timeout emit items [message "..."]`: partial matches cut by `within`
/// become alerts of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnTimeout {
    pub emit: Vec<EmitItem>,
    pub message: Option<StringLit>,
    pub span: Span,
}

/// `expr [as name]` in `emit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmitItem {
    pub expr: Expr,
    pub alias: Option<Ident>,
    pub span: Span,
}

/// `name = "value"` in `labels (...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub name: Ident,
    pub value: StringLit,
}

// ---------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------

/// A sequence of terms joined by contiguity operators: `a b`, `a -> b`,
/// `a ->> b`. `joins[i]` is the operator between `terms[i]` and `terms[i + 1]`,
/// so `joins.len() + 1 == terms.len()` always holds for parsed patterns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    pub terms: Vec<Term>,
    pub joins: Vec<Spanned<Contiguity>>,
    pub span: Span,
}

/// How a term follows the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Contiguity {
    /// `a b`: the very next event (FlinkCEP `next`).
    Strict,
    /// `a -> b`: the next matching event, skipping others (`followedBy`).
    Relaxed,
    /// `a ->> b`: every later matching event (`followedByAny`).
    NonDeterministic,
}

/// One element of a pattern: a variable or a parenthesised group, possibly
/// negated (`!c`) and quantified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub kind: TermKind,
    /// Written as `!c`: FlinkCEP's `notNext` / `notFollowedBy`.
    pub negated: bool,
    pub quantifier: Option<Quantifier>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TermKind {
    Var(Ident),
    Group(Box<Pattern>),
}

/// `{n}`, `{n,m}`, `{n,}`, `+`, `*`, `?`, `{..}?`, then modifiers in any order:
/// `greedy`, `consecutive`, `any`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantifier {
    pub count: Count,
    /// `?`, or the optional half of `*`.
    pub optional: bool,
    pub greedy: bool,
    /// How loop iterations follow each other (`consecutive`, `any`).
    pub looping: LoopContiguity,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Count {
    /// No count: `a?` (optional is then set).
    Once,
    /// `{n}`
    Exactly(u32),
    /// `{n,m}`
    Range(u32, u32),
    /// `{n,}`
    AtLeast(u32),
    /// `+` (with optional: `*`)
    OneOrMore,
}

impl Count {
    /// Whether the term can take more than one event.
    pub fn loops(self) -> bool {
        match self {
            Count::Once => false,
            Count::Exactly(n) => n > 1,
            Count::Range(_, m) => m > 1,
            Count::AtLeast(_) | Count::OneOrMore => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum LoopContiguity {
    /// Default for loops, as in FlinkCEP.
    #[default]
    Relaxed,
    /// `consecutive`
    Consecutive,
    /// `any`: FlinkCEP's `allowCombinations`.
    Any,
}

// ---------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub kind: WindowKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WindowKind {
    /// `tumbling 1h`
    Tumbling { size: Duration },
    /// `sliding 5m every 1m`
    Sliding { size: Duration, every: Duration },
    /// `session gap 30m`
    Session { gap: Duration },
    /// `count 100` or `count 100 every 10`
    Count {
        size: Spanned<u64>,
        every: Option<Spanned<u64>>,
    },
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Literal(Literal),
    /// A name with optional member and index accesses: `amount`, `device.temp`,
    /// `tags[0]`, `small[0].amount`, `small[-1].amount`, `big.amount`, `window.start`.
    /// Whether the head is a field or a pattern variable is decided by the checker.
    Path(Path),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `x [not] in [a, b, c]`
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `x [not] between lo and hi` (inclusive)
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `x is [not] null`
    IsNull { expr: Box<Expr>, negated: bool },
    /// `x matches "regex"`
    Matches { expr: Box<Expr>, regex: StringLit },
    /// `f(args)`: scalar functions and aggregates alike (`count()`, `sum(x)`).
    Call { func: Ident, args: Vec<Expr> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    Int(i64),
    Float(f64),
    String(String),
    Bool(bool),
    Null,
    Duration(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Path {
    pub head: Ident,
    pub steps: Vec<PathStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathStep {
    /// `.name`
    Member(Ident),
    /// `[i]`, negative counts from the end (`small[-1]`).
    Index(Spanned<i64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    /// Binding strength, higher binds tighter. Shared by parser and formatter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 6,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}
