//! The checked, resolved form of a rule that the runtime executes.
//!
//! Everything here is data (serde), so a plan can be printed
//! (`cepheus rules explain`), stored and shipped. Names are resolved: fields are
//! slots of the stream's record, pattern variables are indices. The pattern part
//! mirrors the FlinkCEP Pattern API call for call (`begin`, `next`,
//! `followedBy`, `times`, `optional`, ...), because its semantics are FlinkCEP's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ast::{BinaryOp, Severity, UnaryOp};
use crate::types::Type;

/// One executable rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulePlan {
    pub name: String,
    pub severity: Severity,
    /// The schema of the stream the rule reads (`from`).
    pub stream: StreamSchema,
    /// `where`: events failing it never reach the rule.
    pub filter: Option<Expr>,
    /// `partition by`: the key of the rule's state. Empty means one partition.
    pub partition_by: Vec<KeyField>,
    pub body: RuleBody,
    /// What an alert carries (`emit`, `message`).
    pub output: OutputPlan,
    /// Sinks named by `notify`; empty means the default sinks.
    pub notify: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// `suppress`: at most one alert per rule and key in this period.
    pub suppress_ms: Option<u64>,
    /// The rule's source text, as written.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleBody {
    Pattern(PatternPlan),
    Window(WindowPlan),
}

/// A stream's schema, flattened into slots: the event record the runtime
/// decodes holds field `i` at slot `i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSchema {
    pub name: String,
    pub fields: Vec<FieldSchema>,
    /// Slots of the source's partition key (Kafka message key).
    pub key: Vec<Slot>,
    /// Slot of the event-time field; `None`: processing time.
    pub time: Option<Slot>,
    /// Bounded out-of-orderness for watermarks, in milliseconds.
    pub lateness_ms: u64,
}

impl StreamSchema {
    pub fn field(&self, dotted: &str) -> Option<Slot> {
        self.fields
            .iter()
            .position(|f| f.name == dotted)
            .map(|i| i as Slot)
    }
}

/// Index of a field in a stream's record.
pub type Slot = u32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// Dotted name as declared: `amount`, `device.temp`.
    pub name: String,
    /// The same, split into JSON object keys: `["device", "temp"]`.
    pub path: Vec<String>,
    pub ty: Type,
}

/// One field of the rule's partition key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyField {
    /// The name the key has in alerts (`"key": {"card_id": ...}`).
    pub name: String,
    pub slot: Slot,
}

// ---------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternPlan {
    /// Variable index -> name. Conditions refer to variables by index.
    pub vars: Vec<String>,
    /// The FlinkCEP pattern: `stages[0]` is `begin`.
    pub stages: Vec<Stage>,
    /// `within`: first to last event of a match.
    pub within_ms: Option<u64>,
    pub skip: Skip,
    /// `on timeout emit`: alerts from partial matches cut by `within`.
    pub on_timeout: Option<OutputPlan>,
}

/// One `Pattern` of FlinkCEP's API: a single variable or a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub kind: StageKind,
    /// How it follows the previous stage (`Begin` for the first).
    pub contiguity: StageContiguity,
    pub quantifier: Option<Quantifier>,
    pub optional: bool,
    pub greedy: bool,
    /// Loop iterations strictly contiguous (`consecutive`).
    pub consecutive: bool,
    /// Loop iterations non-deterministic relaxed (`any`).
    pub allow_combinations: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// A variable with its condition (`None`: matches every event) and `until`.
    Var {
        var: VarId,
        condition: Option<Expr>,
        until: Option<Expr>,
    },
    /// A parenthesised group; its inner stages form one FlinkCEP `GroupPattern`.
    Group { stages: Vec<Stage> },
}

pub type VarId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageContiguity {
    Begin,
    /// `a b`
    Next,
    /// `a -> b`
    FollowedBy,
    /// `a ->> b`
    FollowedByAny,
    /// `a !c b`
    NotNext,
    /// `a -> !c`
    NotFollowedBy,
}

impl StageContiguity {
    pub fn is_negation(self) -> bool {
        matches!(self, StageContiguity::NotNext | StageContiguity::NotFollowedBy)
    }
}

/// FlinkCEP's `times(from, to)`, `timesOrMore(from)`, `oneOrMore()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    Times { from: u32, to: u32 },
    TimesOrMore { from: u32 },
    OneOrMore,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    NoSkip,
    ToNext,
    PastLastEvent,
    ToFirst(VarId),
    ToLast(VarId),
}

// ---------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPlan {
    pub kind: WindowKind,
    /// `allow lateness`: windows stay open this long past their end.
    pub allowed_lateness_ms: u64,
    /// Every aggregate the rule uses; `Expr::Agg(i)` reads `aggregates[i]`.
    pub aggregates: Vec<Aggregate>,
    /// `having`: fired windows failing it give no alert.
    pub having: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Tumbling { size_ms: u64 },
    Sliding { size_ms: u64, slide_ms: u64 },
    Session { gap_ms: u64 },
    Count { size: u64, slide: Option<u64> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub func: AggFunc,
    /// The aggregated expression; `None` only for `count()`.
    pub arg: Option<Expr>,
    /// `percentile(x, q)`: the quantile in `[0, 1]`.
    pub quantile: Option<f64>,
    /// The result type.
    pub ty: Type,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFunc {
    /// `count()`: events in the window.
    Count,
    /// `count(x)`: events where `x` is not null.
    CountNonNull,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    /// Sample standard deviation, as Flink SQL's `STDDEV`.
    Stddev,
    First,
    Last,
    Percentile,
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// The fields of an alert and its message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputPlan {
    pub fields: Vec<OutputField>,
    pub message: Option<Template>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputField {
    pub name: String,
    pub expr: Expr,
    pub ty: Type,
}

/// A `message` with its `{field}` placeholders resolved to output fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Text(String),
    /// Index into `OutputPlan::fields`.
    Field(u32),
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/// A resolved expression. The runtime compiles it once per rule; nothing here
/// is looked up by name at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Literal(Value),
    /// A field of the current event, with extra steps into a `json` field.
    Field { slot: Slot, steps: Vec<JsonStep> },
    /// One earlier event of a pattern variable (`small[0].amount`,
    /// `last(small).amount`, `big.amount`): `field` of the event picked.
    VarField {
        var: VarId,
        pick: Pick,
        slot: Slot,
        steps: Vec<JsonStep>,
    },
    /// An aggregate over a pattern variable's accepted events
    /// (`count(small)`, `sum(small.amount)`).
    VarAgg {
        var: VarId,
        func: VarAggFunc,
        /// `None` for `count(var)`; with `count(var.field)`, the events whose
        /// field is not null.
        slot: Option<Slot>,
    },
    /// Result `i` of a window rule's aggregates.
    Agg(u32),
    /// Field `i` of the rule's partition key.
    Key(u32),
    WindowStart,
    WindowEnd,
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    /// Types as checked: `int op int` is `int` except `/`, which always
    /// gives a float; `timestamp - timestamp` is a duration (ms);
    /// `timestamp ± duration` a timestamp; comparisons with null are false.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// The regex is checked to compile; the runtime compiles it once.
    Matches {
        expr: Box<Expr>,
        regex: String,
    },
    Call {
        func: Func,
        args: Vec<Expr>,
    },
}

/// A step into a `json` field below its declared slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonStep {
    Key(String),
    Index(i64),
}

/// Which accepted event of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// `x[i]`; negative counts from the end (`x[-1]` is the latest).
    Index(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarAggFunc {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// Scalar functions. As checked: `round`, `floor`, `ceil` give an int;
/// `hour` is 0-23 and `day_of_week` 1 (Monday) to 7 (Sunday), both in UTC;
/// `geo_distance_km` is the great-circle distance of two (lat, lon) points in
/// degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    Abs,
    Lower,
    Upper,
    Len,
    Contains,
    StartsWith,
    EndsWith,
    Round,
    Floor,
    Ceil,
    Coalesce,
    GeoDistanceKm,
    Hour,
    DayOfWeek,
}

impl Func {
    pub const ALL: [Func; 14] = [
        Func::Abs,
        Func::Lower,
        Func::Upper,
        Func::Len,
        Func::Contains,
        Func::StartsWith,
        Func::EndsWith,
        Func::Round,
        Func::Floor,
        Func::Ceil,
        Func::Coalesce,
        Func::GeoDistanceKm,
        Func::Hour,
        Func::DayOfWeek,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Func::Abs => "abs",
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Len => "len",
            Func::Contains => "contains",
            Func::StartsWith => "starts_with",
            Func::EndsWith => "ends_with",
            Func::Round => "round",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Coalesce => "coalesce",
            Func::GeoDistanceKm => "geo_distance_km",
            Func::Hour => "hour",
            Func::DayOfWeek => "day_of_week",
        }
    }

    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A constant value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    /// Epoch milliseconds.
    Timestamp(i64),
    /// Milliseconds.
    Duration(i64),
}
