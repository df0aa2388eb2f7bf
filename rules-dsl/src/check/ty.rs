//! The checker's view of expression types.
//!
//! [`Type`] is what a schema field or an output field has. While checking,
//! an expression can also be the `null` literal, a value of unknown shape
//! (a step into a `json` field, typed at run time) or already wrong (an error
//! was reported: everything is accepted from it, so one mistake gives one
//! diagnostic, not a cascade).

use crate::types::{BaseType, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Known(Type),
    /// The `null` literal.
    Null,
    /// A value inside a `json` field: typed at run time.
    Dynamic,
    /// Already reported; accept anything.
    Error,
}

impl Ty {
    pub const fn of(base: BaseType) -> Ty {
        Ty::Known(Type::new(base))
    }

    pub const BOOL: Ty = Ty::of(BaseType::Bool);
    pub const INT: Ty = Ty::of(BaseType::Int);
    pub const FLOAT: Ty = Ty::of(BaseType::Float);
    pub const STRING: Ty = Ty::of(BaseType::String);
    pub const TIMESTAMP: Ty = Ty::of(BaseType::Timestamp);
    pub const DURATION: Ty = Ty::of(BaseType::Duration);

    pub fn base(self) -> Option<BaseType> {
        match self {
            Ty::Known(t) => Some(t.base),
            _ => None,
        }
    }

    /// Whether the checker cannot say anything against this type.
    pub fn is_lenient(self) -> bool {
        matches!(self, Ty::Dynamic | Ty::Error)
            || self.base() == Some(BaseType::Json)
    }

    pub fn is_nullable(self) -> bool {
        match self {
            Ty::Known(t) => t.nullable,
            Ty::Null | Ty::Dynamic => true,
            Ty::Error => false,
        }
    }

    pub fn is_numeric(self) -> bool {
        self.base().is_some_and(BaseType::is_numeric)
    }

    /// The same type, nullable when `nullable` is set.
    pub fn with_null(self, nullable: bool) -> Ty {
        match self {
            Ty::Known(t) if nullable => Ty::Known(Type::nullable(t.base)),
            other => other,
        }
    }

    /// For messages: `string`, `float?`, `null`, `json`.
    pub fn describe(self) -> String {
        match self {
            Ty::Known(t) => t.to_string(),
            Ty::Null => "null".to_string(),
            Ty::Dynamic => "json".to_string(),
            Ty::Error => "unknown".to_string(),
        }
    }

    /// The type of an output field or aggregate.
    pub fn to_type(self) -> Type {
        match self {
            Ty::Known(t) => t,
            Ty::Null | Ty::Dynamic | Ty::Error => Type::nullable(BaseType::Json),
        }
    }

    /// Whether values of the two types can be compared with `=` (and, when
    /// both are ordered, with `<`). Numbers compare with numbers.
    pub fn comparable(self, other: Ty) -> bool {
        if self.is_lenient() || other.is_lenient() || self == Ty::Null || other == Ty::Null {
            return true;
        }
        match (self.base(), other.base()) {
            (Some(a), Some(b)) => a == b || (a.is_numeric() && b.is_numeric()),
            _ => true,
        }
    }

    /// Whether `<`, `>`, `between`, `min`, `max` apply.
    pub fn is_ordered(self) -> bool {
        match self.base() {
            Some(b) => !matches!(b, BaseType::Bool),
            None => true,
        }
    }

    /// Whether the type can be a condition.
    pub fn is_boolish(self) -> bool {
        self.is_lenient() || self.base() == Some(BaseType::Bool)
    }

    /// The common type of two comparable types (for `coalesce`, `in`).
    pub fn unify(self, other: Ty) -> Ty {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => Ty::Error,
            (Ty::Null, t) | (t, Ty::Null) => t.with_null(true),
            (Ty::Dynamic, _) | (_, Ty::Dynamic) => Ty::Dynamic,
            (Ty::Known(a), Ty::Known(b)) => {
                let nullable = a.nullable || b.nullable;
                if a.base == b.base {
                    Ty::of(a.base).with_null(nullable)
                } else if a.base.is_numeric() && b.base.is_numeric() {
                    Ty::FLOAT.with_null(nullable)
                } else if a.base == BaseType::Json || b.base == BaseType::Json {
                    Ty::Dynamic
                } else {
                    Ty::Error
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_with_numbers() {
        assert!(Ty::INT.comparable(Ty::FLOAT));
        assert!(!Ty::STRING.comparable(Ty::FLOAT));
        assert!(Ty::STRING.comparable(Ty::Dynamic));
        assert!(Ty::TIMESTAMP.comparable(Ty::TIMESTAMP));
        assert!(!Ty::TIMESTAMP.comparable(Ty::INT));
    }

    #[test]
    fn unify_promotes_and_keeps_nulls() {
        assert_eq!(Ty::INT.unify(Ty::FLOAT), Ty::FLOAT);
        assert_eq!(Ty::INT.unify(Ty::Null), Ty::INT.with_null(true));
        assert_eq!(Ty::STRING.unify(Ty::INT), Ty::Error);
    }

    #[test]
    fn describes_nullable() {
        assert_eq!(Ty::FLOAT.with_null(true).describe(), "float?");
        assert_eq!(Ty::Null.describe(), "null");
    }
}
