//! The canonical key bytes of one top-level JSON field, read without
//! building the document: other fields are skipped, the value is written
//! into a reused buffer.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// Why an event has no usable key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a JSON object: {0}")]
    NotJson(String),
    #[error("field '{0}' is missing or null")]
    Missing(String),
    #[error("field '{0}' is an object or array; a key must be a string, number or boolean")]
    NotScalar(String),
}

/// Writes the key of `field` in `json` into `out` (cleared first): a
/// string's characters, a number's shortest text (`7` and `7.0` agree), or
/// `true`/`false`.
pub fn field_key(json: &[u8], field: &str, out: &mut Vec<u8>) -> Result<(), KeyError> {
    out.clear();
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = de::Deserializer::deserialize_map(&mut de, Finder { field, out })
        .map_err(|e| KeyError::NotJson(e.to_string()))?;
    match found {
        Found::Yes => Ok(()),
        Found::Missing => Err(KeyError::Missing(field.to_string())),
        Found::NotScalar => Err(KeyError::NotScalar(field.to_string())),
    }
}

enum Found {
    Yes,
    Missing,
    NotScalar,
}

struct Finder<'f, 'o> {
    field: &'f str,
    out: &'o mut Vec<u8>,
}

impl<'de> Visitor<'de> for Finder<'_, '_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut found = Found::Missing;
        while let Some(key) = map.next_key::<KeyName<'_>>()? {
            if key.0 == self.field && matches!(found, Found::Missing) {
                found = map.next_value_seed(Scalar { out: &mut *self.out })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A field name, borrowed when it has no escapes.
struct KeyName<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> de::Deserialize<'de> for KeyName<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(KeyName(<std::borrow::Cow<'a, str> as de::Deserialize>::deserialize(d)?))
    }
}

struct Scalar<'o> {
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Scalar<'_> {
    type Value = Found;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scalar<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E>(self, v: &str) -> Result<Found, E> {
        self.out.extend_from_slice(v.as_bytes());
        Ok(Found::Yes)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Found, E> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(Found::Yes)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Found, E> {
        use std::io::Write;
        let _ = write!(self.out, "{v}");
        Ok(Found::Yes)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Found, E> {
        use std::io::Write;
        let _ = write!(self.out, "{v}");
        Ok(Found::Yes)
    }
    fn visit_f64<E>(self, v: f64) -> Result<Found, E> {
        use std::io::Write;
        // An integral float keys like the integer (7.0 and 7 meet in one task).
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            let _ = write!(self.out, "{}", v as i64);
        } else {
            let _ = write!(self.out, "{v}");
        }
        Ok(Found::Yes)
    }
    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(Found::Missing)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Found::NotScalar)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::NotScalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(json: &str, field: &str) -> Result<String, KeyError> {
        let mut out = Vec::new();
        field_key(json.as_bytes(), field, &mut out).map(|_| String::from_utf8(out).unwrap())
    }

    #[test]
    fn scalars_give_canonical_keys() {
        assert_eq!(key(r#"{"a":{"x":[1,2]},"card":"c-1","z":3}"#, "card").unwrap(), "c-1");
        assert_eq!(key(r#"{"card":"c\"1"}"#, "card").unwrap(), "c\"1");
        assert_eq!(key(r#"{"n":7}"#, "n").unwrap(), "7");
        assert_eq!(key(r#"{"n":7.0}"#, "n").unwrap(), "7");
        assert_eq!(key(r#"{"n":-2.5}"#, "n").unwrap(), "-2.5");
        assert_eq!(key(r#"{"b":true}"#, "b").unwrap(), "true");
        assert_eq!(key(r#"{"c\u0061rd":"x"}"#, "card").unwrap(), "x");
    }

    #[test]
    fn unusable_keys_are_errors() {
        assert_eq!(key(r#"{"x":1}"#, "card"), Err(KeyError::Missing("card".into())));
        assert_eq!(key(r#"{"card":null}"#, "card"), Err(KeyError::Missing("card".into())));
        assert_eq!(key(r#"{"card":[1]}"#, "card"), Err(KeyError::NotScalar("card".into())));
        assert!(matches!(key(r#"{"card":"#, "card"), Err(KeyError::NotJson(_))));
        assert!(matches!(key("[1,2]", "card"), Err(KeyError::NotJson(_))));
    }
}
