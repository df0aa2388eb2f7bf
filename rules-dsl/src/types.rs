//! Value types of the language.

use serde::{Deserialize, Serialize};

/// The scalar types a field or expression can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseType {
    String,
    Int,
    Float,
    Bool,
    /// Epoch milliseconds; parsed from RFC 3339 strings or integers.
    Timestamp,
    /// Milliseconds.
    Duration,
    /// Opaque JSON, reachable by path; typed dynamically at run time.
    Json,
}

impl BaseType {
    pub const ALL: [BaseType; 7] = [
        BaseType::String,
        BaseType::Int,
        BaseType::Float,
        BaseType::Bool,
        BaseType::Timestamp,
        BaseType::Duration,
        BaseType::Json,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BaseType::String => "string",
            BaseType::Int => "int",
            BaseType::Float => "float",
            BaseType::Bool => "bool",
            BaseType::Timestamp => "timestamp",
            BaseType::Duration => "duration",
            BaseType::Json => "json",
        }
    }

    pub fn parse(name: &str) -> Option<BaseType> {
        BaseType::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, BaseType::Int | BaseType::Float)
    }
}

/// A type with its nullability (`float?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Type {
    pub base: BaseType,
    pub nullable: bool,
}

impl Type {
    pub const fn new(base: BaseType) -> Self {
        Type {
            base,
            nullable: false,
        }
    }

    pub const fn nullable(base: BaseType) -> Self {
        Type {
            base,
            nullable: true,
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.base.name())?;
        if self.nullable {
            f.write_str("?")?;
        }
        Ok(())
    }
}
