//! Signatures of the scalar functions and the names of the aggregates.

use crate::plan::{AggFunc, Func};
use crate::types::BaseType;

use super::ty::Ty;

/// What a function argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Number,
    String,
    Timestamp,
    Any,
}

impl Want {
    pub fn accepts(self, ty: Ty) -> bool {
        if ty.is_lenient() || ty == Ty::Null {
            return true;
        }
        match self {
            Want::Number => ty.is_numeric(),
            Want::String => ty.base() == Some(BaseType::String),
            Want::Timestamp => ty.base() == Some(BaseType::Timestamp),
            Want::Any => true,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Want::Number => "a number (int or float)",
            Want::String => "a string",
            Want::Timestamp => "a timestamp",
            Want::Any => "a value",
        }
    }
}

/// Argument kinds; `variadic` repeats the last one (at least `params.len()`).
pub(crate) struct Signature {
    pub params: &'static [Want],
    pub variadic: bool,
    /// For help texts: `abs(x: number)`.
    pub display: &'static str,
}

pub(crate) fn signature(f: Func) -> Signature {
    use Want::*;
    let (params, variadic, display): (&'static [Want], bool, &'static str) = match f {
        Func::Abs => (&[Number], false, "abs(x: number) -> same type"),
        Func::Round => (&[Number], false, "round(x: number) -> int"),
        Func::Floor => (&[Number], false, "floor(x: number) -> int"),
        Func::Ceil => (&[Number], false, "ceil(x: number) -> int"),
        Func::Lower => (&[String], false, "lower(s: string) -> string"),
        Func::Upper => (&[String], false, "upper(s: string) -> string"),
        Func::Len => (&[String], false, "len(s: string) -> int"),
        Func::Contains => (&[String, String], false, "contains(s: string, part: string) -> bool"),
        Func::StartsWith => (&[String, String], false, "starts_with(s: string, prefix: string) -> bool"),
        Func::EndsWith => (&[String, String], false, "ends_with(s: string, suffix: string) -> bool"),
        Func::Coalesce => (&[Any, Any], true, "coalesce(a, b, ...) -> the first non-null, all of one type"),
        Func::GeoDistanceKm => (
            &[Number, Number, Number, Number],
            false,
            "geo_distance_km(lat1, lon1, lat2, lon2: number) -> float",
        ),
        Func::Hour => (&[Timestamp], false, "hour(t: timestamp) -> int (0-23, UTC)"),
        Func::DayOfWeek => (&[Timestamp], false, "day_of_week(t: timestamp) -> int (1 = Monday ... 7 = Sunday, UTC)"),
    };
    Signature {
        params,
        variadic,
        display,
    }
}

/// The result type of a call whose arguments passed their [`Want`]s.
pub(crate) fn result(f: Func, args: &[Ty]) -> Ty {
    let any_null = args.iter().any(|t| t.is_nullable());
    match f {
        Func::Abs => match args.first() {
            Some(t) if t.base().is_some() => *t,
            _ => Ty::Dynamic,
        },
        Func::Round | Func::Floor | Func::Ceil | Func::Len | Func::Hour | Func::DayOfWeek => {
            Ty::INT.with_null(any_null)
        }
        Func::Lower | Func::Upper => Ty::STRING.with_null(any_null),
        Func::Contains | Func::StartsWith | Func::EndsWith => Ty::BOOL.with_null(any_null),
        Func::GeoDistanceKm => Ty::FLOAT.with_null(any_null),
        Func::Coalesce => {
            let mut ty = Ty::Null;
            for t in args {
                ty = ty.unify(*t);
            }
            // Not null as soon as one argument cannot be null.
            let nullable = args.iter().all(|t| t.is_nullable());
            match ty {
                Ty::Known(t) => Ty::of(t.base).with_null(nullable),
                other => other,
            }
        }
    }
}

/// The aggregate functions, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggName {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Stddev,
    First,
    Last,
    Percentile,
}

impl AggName {
    pub const ALL: [AggName; 10] = [
        AggName::Count,
        AggName::CountDistinct,
        AggName::Sum,
        AggName::Avg,
        AggName::Min,
        AggName::Max,
        AggName::Stddev,
        AggName::First,
        AggName::Last,
        AggName::Percentile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AggName::Count => "count",
            AggName::CountDistinct => "count_distinct",
            AggName::Sum => "sum",
            AggName::Avg => "avg",
            AggName::Min => "min",
            AggName::Max => "max",
            AggName::Stddev => "stddev",
            AggName::First => "first",
            AggName::Last => "last",
            AggName::Percentile => "percentile",
        }
    }

    pub fn parse(name: &str) -> Option<AggName> {
        AggName::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The window aggregate (`count` depends on its arity).
    pub fn window_func(self, nargs: usize) -> AggFunc {
        match self {
            AggName::Count if nargs == 0 => AggFunc::Count,
            AggName::Count => AggFunc::CountNonNull,
            AggName::CountDistinct => AggFunc::CountDistinct,
            AggName::Sum => AggFunc::Sum,
            AggName::Avg => AggFunc::Avg,
            AggName::Min => AggFunc::Min,
            AggName::Max => AggFunc::Max,
            AggName::Stddev => AggFunc::Stddev,
            AggName::First => AggFunc::First,
            AggName::Last => AggFunc::Last,
            AggName::Percentile => AggFunc::Percentile,
        }
    }
}

/// Every callable name, for did-you-mean.
pub(crate) fn all_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Func::ALL.iter().map(|f| f.name()).collect();
    names.extend(AggName::ALL.iter().map(|a| a.name()));
    names
}
