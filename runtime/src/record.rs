//! Decoded events ([`Record`]) and the per-stream [`Decoder`] that makes them.
//!
//! A stream's schema is flattened into slots when rules are compiled
//! (`StreamSchema.fields[i]` lives in slot `i`), so operators read fields by
//! index and never by name. The decoder is built once per stream and turns an
//! event's JSON into a record in one pass:
//!
//! * From bytes ([`Decoder::decode`]) it drives `serde_json`'s parser directly
//!   with a schema-shaped visitor: each key of the event object is matched once
//!   against the schema's keys at that level, declared fields are typed in
//!   place, undeclared ones are skipped without being built. No
//!   `serde_json::Value` tree is allocated (except for fields declared `json`).
//!   The bytes are kept in the record, and the whole event is parsed into a
//!   tree only if someone asks for it ([`Record::json`], e.g. to put the
//!   matched events into an alert).
//! * From an already parsed tree ([`Decoder::decode_value`]) it walks each
//!   declared path with one object lookup per segment.
//!
//! # Typing rules (decisions)
//!
//! * `int`: JSON integers in `i64`; a float with no fractional part (`5.0`) is
//!   accepted; `5.5` or an integer past `i64` is an error.
//! * `float`: any JSON number (integers are promoted).
//! * `string`, `bool`: only JSON strings / booleans (no coercion from numbers).
//! * `timestamp`: an RFC 3339 string or epoch milliseconds (an integer, or an
//!   integral float).
//! * `duration`: integer milliseconds, or a string as rules write durations
//!   (`"5m"`, `"1h30m"`, `"500ms"`).
//! * `json`: anything; scalars become the matching scalar value, arrays and
//!   objects are kept as `Value::Json`.
//!
//! # Missing fields and null (decision)
//!
//! A missing field, or an explicit JSON `null`, decodes to `Value::Null`
//! whether or not the type is declared nullable (`float?`): real event streams
//! have optional fields, and dropping whole events for one absent field would
//! hide them from every rule. Null then flows through the language's
//! three-valued logic (a condition on a null field is not satisfied). The one
//! exception is the stream's `time` field: an event without a valid event time
//! cannot be placed on the time line, so a missing or null `time` field is a
//! [`DecodeError::MissingTime`]. Nullability stays a checker-level promise.
//!
//! A value of the wrong JSON type (a string in a `float` field) is always an
//! error ([`DecodeError::Type`]), naming the field, the declared type and what
//! was found, so that malformed events can be counted and dead-lettered with
//! their reason. A field path that runs into a non-object (`device.temp` when
//! `device` is `5`) counts as missing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use cepheus_dsl::plan::{Slot, StreamSchema};
use cepheus_dsl::types::{BaseType, Type};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::time;
use crate::value::{Value, NULL};

/// One decoded event.
#[derive(Clone)]
pub struct Record {
    values: Box<[Value]>,
    time: i64,
    source: Source,
}

#[derive(Clone)]
enum Source {
    /// The event's bytes as received; parsed into a tree on first demand.
    Bytes {
        bytes: Arc<[u8]>,
        tree: OnceLock<Arc<serde_json::Value>>,
    },
    Tree(Arc<serde_json::Value>),
}

impl Record {
    /// A record from values already in slot order (tests, replays, operators
    /// that build records themselves). `event` is the whole original event.
    pub fn new(values: Vec<Value>, time: i64, event: Arc<serde_json::Value>) -> Record {
        Record {
            values: values.into_boxed_slice(),
            time,
            source: Source::Tree(event),
        }
    }

    /// The value in `slot`; null for a slot past the schema (never panics).
    #[inline]
    pub fn get(&self, slot: Slot) -> &Value {
        self.values.get(slot as usize).unwrap_or(&NULL)
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Event time (epoch ms), or the processing time it was decoded at.
    #[inline]
    pub fn time(&self) -> i64 {
        self.time
    }

    pub fn set_time(&mut self, time: i64) {
        self.time = time;
    }

    /// The whole original event as a JSON tree (for alerts). Parsed from the
    /// kept bytes on the first call and cached.
    pub fn json(&self) -> Arc<serde_json::Value> {
        match &self.source {
            Source::Tree(t) => t.clone(),
            Source::Bytes { bytes, tree } => tree
                .get_or_init(|| {
                    // The bytes were parsed once already when decoded; this
                    // fallback is for bytes the skipping parser tolerated
                    // (invalid UTF-8 inside an undeclared string).
                    Arc::new(serde_json::from_slice(bytes).unwrap_or_else(|_| {
                        serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
                    }))
                })
                .clone(),
        }
    }

    /// The original bytes, when the record was decoded from bytes.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.source {
            Source::Bytes { bytes, .. } => Some(bytes),
            Source::Tree(_) => None,
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("time", &format_args!("{}", time::Rfc3339(self.time)))
            .field("values", &self.values)
            .finish()
    }
}

/// Why an event could not be decoded. `Display` is the reason to show in a
/// dead-letter record or a log line; [`DecodeError::kind`] is a short label
/// for metrics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("event is not a JSON object (found {found})")]
    NotAnObject { found: &'static str },
    #[error("field '{field}': expected {expected}, found {found}")]
    Type {
        field: Arc<str>,
        expected: Type,
        found: String,
    },
    #[error("time field '{field}' is missing or null; stream '{stream}' takes event time from it")]
    MissingTime { field: Arc<str>, stream: Arc<str> },
}

impl DecodeError {
    /// The field concerned, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            DecodeError::Type { field, .. } | DecodeError::MissingTime { field, .. } => Some(field),
            _ => None,
        }
    }

    /// A short label for metrics: `json`, `not_object`, `type`, `missing_time`.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json(_) => "json",
            DecodeError::NotAnObject { .. } => "not_object",
            DecodeError::Type { .. } => "type",
            DecodeError::MissingTime { .. } => "missing_time",
        }
    }
}

/// Decodes one stream's events into [`Record`]s. Build it once per schema.
#[derive(Debug, Clone)]
pub struct Decoder {
    stream: Arc<str>,
    fields: Vec<FieldInfo>,
    root: Node,
    time: Option<Slot>,
}

#[derive(Debug, Clone)]
struct FieldInfo {
    name: Arc<str>,
    ty: Type,
}

/// The schema's keys at one level of nesting.
#[derive(Debug, Clone, Default)]
struct Node {
    keys: Vec<Box<str>>,
    entries: Vec<Entry>,
    /// For wide levels, key -> index into `entries`.
    index: Option<HashMap<Box<str>, usize>>,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// The field declared at this exact path.
    leaf: Option<Slot>,
    /// Fields declared below this path.
    child: Option<Box<Node>>,
}

/// Above this many keys at a level, keys are found by hashing rather than by
/// scanning (a scan of short keys is faster for typical event widths).
const SCAN_LIMIT: usize = 12;

impl Node {
    fn entry_mut(&mut self, key: &str) -> &mut Entry {
        let i = match self.keys.iter().position(|k| &**k == key) {
            Some(i) => i,
            None => {
                self.keys.push(key.into());
                self.entries.push(Entry::default());
                self.entries.len() - 1
            }
        };
        &mut self.entries[i]
    }

    fn finish(&mut self) {
        if self.keys.len() > SCAN_LIMIT {
            self.index = Some(
                self.keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.clone(), i))
                    .collect(),
            );
        }
        for e in &mut self.entries {
            if let Some(c) = &mut e.child {
                c.finish();
            }
        }
    }

    #[inline]
    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(map) => map.get(key).copied(),
            // Length and first byte rule out almost every other key before
            // a full comparison.
            None => {
                let (len, first) = (key.len(), key.as_bytes().first());
                self.keys
                    .iter()
                    .position(|k| k.len() == len && k.as_bytes().first() == first && &**k == key)
            }
        }
    }
}

impl Decoder {
    pub fn new(schema: &StreamSchema) -> Decoder {
        let mut root = Node::default();
        for (slot, f) in schema.fields.iter().enumerate() {
            let mut node = &mut root;
            let (last, init) = match f.path.split_last() {
                Some(x) => x,
                None => continue,
            };
            for seg in init {
                node = node
                    .entry_mut(seg)
                    .child
                    .get_or_insert_with(Default::default);
            }
            node.entry_mut(last).leaf = Some(slot as Slot);
        }
        root.finish();
        Decoder {
            stream: schema.name.as_str().into(),
            fields: schema
                .fields
                .iter()
                .map(|f| FieldInfo {
                    name: f.name.as_str().into(),
                    ty: f.ty,
                })
                .collect(),
            root,
            time: schema.time,
        }
    }

    /// Number of slots in the records this decoder makes.
    pub fn width(&self) -> usize {
        self.fields.len()
    }

    /// Decodes an event from its JSON bytes. The record's time is the event
    /// time, or the current wall-clock time for a processing-time stream.
    pub fn decode(&self, json: &[u8]) -> Result<Record, DecodeError> {
        self.decode_at(json, now_ms())
    }

    /// [`Decoder::decode`] with an explicit processing time (used only if the
    /// stream has no `time` field).
    pub fn decode_at(&self, json: &[u8], processing_time_ms: i64) -> Result<Record, DecodeError> {
        let mut values = vec![Value::Null; self.fields.len()];
        let mut error = None;
        let mut de = serde_json::Deserializer::from_slice(json);
        let top = ObjectSeed {
            decoder: self,
            node: &self.root,
            out: &mut values,
            error: &mut error,
        }
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top))
        .map_err(|e| DecodeError::Json(e.to_string()))?;
        if let Err(found) = top {
            return Err(DecodeError::NotAnObject { found });
        }
        if let Some(e) = error {
            return Err(e);
        }
        let time = self.event_time(&values, processing_time_ms)?;
        Ok(Record {
            values: values.into_boxed_slice(),
            time,
            source: Source::Bytes {
                bytes: Arc::from(json),
                tree: OnceLock::new(),
            },
        })
    }

    /// Decodes an event already parsed into a tree; the record keeps it.
    pub fn decode_value(
        &self,
        json: impl Into<Arc<serde_json::Value>>,
    ) -> Result<Record, DecodeError> {
        self.decode_value_at(json, now_ms())
    }

    /// [`Decoder::decode_value`] with an explicit processing time.
    pub fn decode_value_at(
        &self,
        json: impl Into<Arc<serde_json::Value>>,
        processing_time_ms: i64,
    ) -> Result<Record, DecodeError> {
        let json = json.into();
        let obj = match &*json {
            serde_json::Value::Object(o) => o,
            other => {
                return Err(DecodeError::NotAnObject {
                    found: json_kind(other),
                })
            }
        };
        let mut values = vec![Value::Null; self.fields.len()];
        self.fill_from_tree(&self.root, obj, &mut values)?;
        let time = self.event_time(&values, processing_time_ms)?;
        Ok(Record {
            values: values.into_boxed_slice(),
            time,
            source: Source::Tree(json),
        })
    }

    fn fill_from_tree(
        &self,
        node: &Node,
        obj: &serde_json::Map<String, serde_json::Value>,
        out: &mut [Value],
    ) -> Result<(), DecodeError> {
        for (key, entry) in node.keys.iter().zip(&node.entries) {
            let Some(v) = obj.get(&**key) else { continue };
            if let Some(slot) = entry.leaf {
                out[slot as usize] = self.convert_tree(slot, v)?;
            }
            if let (Some(child), serde_json::Value::Object(o)) = (&entry.child, v) {
                self.fill_from_tree(child, o, out)?;
            }
        }
        Ok(())
    }

    fn convert_tree(&self, slot: Slot, v: &serde_json::Value) -> Result<Value, DecodeError> {
        let ty = self.fields[slot as usize].ty.base;
        let r = match v {
            serde_json::Value::Null => Ok(Value::Null),
            _ if ty == BaseType::Json => Ok(Value::from_json(v)),
            serde_json::Value::Bool(b) => typed_bool(ty, *b),
            serde_json::Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    typed_u64(ty, u)
                } else if let Some(i) = n.as_i64() {
                    typed_i64(ty, i)
                } else {
                    typed_f64(ty, n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => typed_str(ty, s),
            serde_json::Value::Array(_) => Err(Found::Kind("an array")),
            serde_json::Value::Object(_) => Err(Found::Kind("an object")),
        };
        r.map_err(|found| self.type_error(slot, found))
    }

    fn type_error(&self, slot: Slot, found: Found) -> DecodeError {
        let f = &self.fields[slot as usize];
        DecodeError::Type {
            field: f.name.clone(),
            expected: f.ty,
            found: found.to_string(),
        }
    }

    fn event_time(&self, values: &[Value], processing_time_ms: i64) -> Result<i64, DecodeError> {
        let Some(slot) = self.time else {
            return Ok(processing_time_ms);
        };
        match values.get(slot as usize) {
            Some(Value::Timestamp(t) | Value::Int(t)) => Ok(*t),
            _ => Err(DecodeError::MissingTime {
                field: self
                    .fields
                    .get(slot as usize)
                    .map_or_else(|| Arc::from("?"), |f| f.name.clone()),
                stream: self.stream.clone(),
            }),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------
// Typing of JSON scalars, shared by both decoding paths.
// ---------------------------------------------------------------------------

/// What was found instead of the declared type (built only on error).
enum Found {
    Kind(&'static str),
    Int(i128),
    Float(f64),
    FloatFraction(f64),
    Bool(bool),
    Str(String),
    BadTimestamp(String),
    BadDuration(String),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Kind(k) => f.write_str(k),
            Found::Int(i) => write!(f, "integer {i}"),
            Found::Float(x) => write!(f, "number {x:?}"),
            Found::FloatFraction(x) => write!(f, "number {x:?} (has a fractional part)"),
            Found::Bool(b) => write!(f, "bool {b}"),
            Found::Str(s) => write!(f, "string {}", Quoted(s)),
            Found::BadTimestamp(s) => write!(
                f,
                "string {} (not an RFC 3339 timestamp like 2024-05-01T10:00:00Z)",
                Quoted(s)
            ),
            Found::BadDuration(s) => write!(
                f,
                "string {} (not a duration like 500ms, 10s, 5m, 2h, 1d)",
                Quoted(s)
            ),
        }
    }
}

/// A string quoted for a message, cut to a readable length.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 40;
        match self.0.char_indices().nth(MAX) {
            Some((cut, _)) => write!(f, "{:?}...", &self.0[..cut]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

fn typed_i64(ty: BaseType, i: i64) -> Result<Value, Found> {
    match ty {
        BaseType::Int => Ok(Value::Int(i)),
        BaseType::Float => Ok(Value::Float(i as f64)),
        BaseType::Timestamp => Ok(Value::Timestamp(i)),
        BaseType::Duration => Ok(Value::Duration(i)),
        BaseType::Json => Ok(Value::Int(i)),
        BaseType::String | BaseType::Bool => Err(Found::Int(i128::from(i))),
    }
}

fn typed_u64(ty: BaseType, u: u64) -> Result<Value, Found> {
    match i64::try_from(u) {
        Ok(i) => typed_i64(ty, i),
        Err(_) => match ty {
            BaseType::Float | BaseType::Json => Ok(Value::Float(u as f64)),
            _ => Err(Found::Int(i128::from(u))),
        },
    }
}

/// An integral float that fits `i64`, as that integer.
fn integral(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&f))
        .then_some(f as i64)
}

fn typed_f64(ty: BaseType, f: f64) -> Result<Value, Found> {
    match ty {
        BaseType::Float | BaseType::Json => Ok(Value::Float(f)),
        BaseType::Int => integral(f).map(Value::Int).ok_or(Found::FloatFraction(f)),
        BaseType::Timestamp => integral(f)
            .map(Value::Timestamp)
            .ok_or(Found::FloatFraction(f)),
        BaseType::Duration => integral(f)
            .map(Value::Duration)
            .ok_or(Found::FloatFraction(f)),
        BaseType::String | BaseType::Bool => Err(Found::Float(f)),
    }
}

fn typed_bool(ty: BaseType, b: bool) -> Result<Value, Found> {
    match ty {
        BaseType::Bool | BaseType::Json => Ok(Value::Bool(b)),
        _ => Err(Found::Bool(b)),
    }
}

fn typed_str(ty: BaseType, s: &str) -> Result<Value, Found> {
    match ty {
        BaseType::String | BaseType::Json => Ok(Value::Str(Arc::from(s))),
        BaseType::Timestamp => time::parse_rfc3339(s)
            .map(Value::Timestamp)
            .ok_or_else(|| Found::BadTimestamp(s.to_owned())),
        BaseType::Duration => time::parse_duration(s)
            .map(Value::Duration)
            .ok_or_else(|| Found::BadDuration(s.to_owned())),
        BaseType::Int | BaseType::Float | BaseType::Bool => Err(Found::Str(s.to_owned())),
    }
}

// ---------------------------------------------------------------------------
// The streaming path: serde visitors shaped by the schema.
// ---------------------------------------------------------------------------

/// Visits one JSON object at `node`'s level, filling `out`. Returns
/// `Err(kind)` (as a value, not a parse error) when the JSON is not an object.
struct ObjectSeed<'a> {
    decoder: &'a Decoder,
    node: &'a Node,
    out: &'a mut [Value],
    /// The first type error met; decoding goes on to the end of the input so
    /// that syntax errors still win (they make the whole event unreadable).
    error: &'a mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Result<(), &'static str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Result<(), &'static str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ObjectSeed {
            decoder,
            node,
            out,
            error,
        } = self;
        while let Some(found) = map.next_key_seed(KeySeed(node))? {
            let Some(i) = found else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let entry = &node.entries[i];
            match (entry.leaf, &entry.child) {
                (Some(slot), None) => {
                    let ty = decoder.fields[slot as usize].ty.base;
                    match map.next_value_seed(LeafSeed(ty))? {
                        Ok(v) => out[slot as usize] = v,
                        Err(found) => {
                            if error.is_none() {
                                *error = Some(decoder.type_error(slot, found));
                            }
                        }
                    }
                }
                (None, Some(child)) => {
                    // A non-object where an object was expected: the fields
                    // below it are missing.
                    let _ = map.next_value_seed(ObjectSeed {
                        decoder,
                        node: child,
                        out: &mut *out,
                        error: &mut *error,
                    })?;
                }
                (Some(slot), Some(child)) => {
                    // Declared both as a field and as a prefix of others
                    // (`device json`, `device.temp float`): build the subtree.
                    let v: serde_json::Value = map.next_value()?;
                    match decoder.convert_tree(slot, &v) {
                        Ok(x) => out[slot as usize] = x,
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    }
                    if let serde_json::Value::Object(o) = &v {
                        if let Err(e) = decoder.fill_from_tree(child, o, out) {
                            error.get_or_insert(e);
                        }
                    }
                }
                (None, None) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Ok(()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err("an array"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a bool"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }
}

/// Matches an object key against the schema's keys at one level, without
/// allocating (borrowed or transient `&str` from the parser).
struct KeySeed<'a>(&'a Node);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.find(key))
    }
}

/// Types one declared field's JSON value in place.
struct LeafSeed(BaseType);

impl<'de> DeserializeSeed<'de> for LeafSeed {
    type Value = Result<Value, Found>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0 == BaseType::Json {
            return serde_json::Value::deserialize(d).map(|v| Ok(Value::from_json_owned(v)));
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LeafSeed {
    type Value = Result<Value, Found>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {}", self.0.name())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Value::Null))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(typed_bool(self.0, b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        Ok(typed_i64(self.0, i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        Ok(typed_u64(self.0, u))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        Ok(typed_f64(self.0, f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(typed_str(self.0, s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(Found::Kind("an array")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Err(Found::Kind("an object")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cepheus_dsl::plan::FieldSchema;
    use serde_json::json;

    fn field(name: &str, ty: Type) -> FieldSchema {
        FieldSchema {
            name: name.to_string(),
            path: name.split('.').map(str::to_string).collect(),
            ty,
        }
    }

    fn schema(fields: Vec<FieldSchema>, time: Option<&str>) -> StreamSchema {
        let time = time.and_then(|t| fields.iter().position(|f| f.name == t).map(|i| i as Slot));
        StreamSchema {
            name: "s".into(),
            fields,
            key: vec![],
            time,
            lateness_ms: 0,
        }
    }

    fn t(b: BaseType) -> Type {
        Type::new(b)
    }

    /// Decodes `v` both ways and checks the two paths agree.
    fn both(d: &Decoder, v: serde_json::Value) -> Result<Record, DecodeError> {
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        let a = d.decode_at(&bytes, 7);
        let b = d.decode_value_at(v, 7);
        match (&a, &b) {
            (Ok(x), Ok(y)) => {
                assert_eq!(x.values(), y.values());
                assert_eq!(x.time(), y.time());
            }
            (Err(x), Err(y)) => assert_eq!(x, y),
            _ => panic!("paths disagree: {a:?} vs {b:?}"),
        }
        a
    }

    fn tx() -> Decoder {
        Decoder::new(&schema(
            vec![
                field("id", t(BaseType::String)),
                field("amount", t(BaseType::Float)),
                field("n", t(BaseType::Int)),
                field("ok", t(BaseType::Bool)),
                field("ts", t(BaseType::Timestamp)),
                field("gap", Type::nullable(BaseType::Duration)),
                field("device.temp", t(BaseType::Float)),
                field("device.id", t(BaseType::String)),
                field("meta", Type::nullable(BaseType::Json)),
            ],
            Some("ts"),
        ))
    }

    #[test]
    fn decodes_all_types() {
        let d = tx();
        let r = both(
            &d,
            json!({
                "id": "t1", "amount": 12, "n": 5.0, "ok": true,
                "ts": "2024-05-01T10:00:00.123Z", "gap": "5m",
                "device": {"temp": 81.5, "id": "d9", "other": [1, 2]},
                "meta": {"tags": ["a"]}, "unused": {"deep": [1, {"x": null}]}
            }),
        )
        .unwrap();
        assert_eq!(r.get(0), &Value::from("t1"));
        assert_eq!(r.get(1), &Value::Float(12.0));
        assert_eq!(r.get(2), &Value::Int(5));
        assert_eq!(r.get(3), &Value::Bool(true));
        assert_eq!(r.get(4), &Value::Timestamp(1_714_557_600_123));
        assert_eq!(r.get(5), &Value::Duration(300_000));
        assert_eq!(r.get(6), &Value::Float(81.5));
        assert_eq!(r.get(7), &Value::from("d9"));
        assert!(matches!(r.get(8), Value::Json(_)));
        assert_eq!(r.get(99), &Value::Null);
        assert_eq!(r.time(), 1_714_557_600_123);
        assert_eq!(r.json()["device"]["id"], json!("d9"));
    }

    #[test]
    fn epoch_millis_and_duration_ms() {
        let d = tx();
        let r = both(&d, json!({"ts": 1_714_557_600_123i64, "gap": 1500})).unwrap();
        assert_eq!(r.time(), 1_714_557_600_123);
        assert_eq!(r.get(5), &Value::Duration(1500));
        let r = both(&d, json!({"ts": 1.0e12})).unwrap();
        assert_eq!(r.time(), 1_000_000_000_000);
    }

    #[test]
    fn missing_and_null_fields_are_null() {
        let d = tx();
        let r = both(&d, json!({"ts": 0, "amount": null, "device": 5})).unwrap();
        for slot in [0, 1, 2, 3, 5, 6, 7, 8] {
            assert_eq!(r.get(slot), &Value::Null, "slot {slot}");
        }
        let r = both(&d, json!({"ts": 0, "device": {"temp": null}})).unwrap();
        assert_eq!(r.get(6), &Value::Null);
    }

    #[test]
    fn missing_time_is_an_error() {
        let d = tx();
        let e = both(&d, json!({"id": "x"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "time field 'ts' is missing or null; stream 's' takes event time from it"
        );
        assert_eq!(e.kind(), "missing_time");
        assert_eq!(e.field(), Some("ts"));
        let e = both(&d, json!({"ts": null})).unwrap_err();
        assert_eq!(e.kind(), "missing_time");
    }

    #[test]
    fn type_errors_name_field_type_and_found() {
        let d = tx();
        let cases = [
            (json!({"ts": 0, "amount": "12"}), "field 'amount': expected float, found string \"12\""),
            (json!({"ts": 0, "n": 5.5}), "field 'n': expected int, found number 5.5 (has a fractional part)"),
            (json!({"ts": 0, "n": u64::MAX}), "field 'n': expected int, found integer 18446744073709551615"),
            (json!({"ts": 0, "id": 7}), "field 'id': expected string, found integer 7"),
            (json!({"ts": 0, "ok": "yes"}), "field 'ok': expected bool, found string \"yes\""),
            (json!({"ts": 0, "amount": [1]}), "field 'amount': expected float, found an array"),
            (json!({"ts": 0, "amount": {"v": 1}}), "field 'amount': expected float, found an object"),
            (json!({"ts": 0, "gap": "5 minutes"}), "field 'gap': expected duration?, found string \"5 minutes\" (not a duration like 500ms, 10s, 5m, 2h, 1d)"),
            (json!({"ts": "yesterday"}), "field 'ts': expected timestamp, found string \"yesterday\" (not an RFC 3339 timestamp like 2024-05-01T10:00:00Z)"),
            (json!({"ts": 1.5}), "field 'ts': expected timestamp, found number 1.5 (has a fractional part)"),
            (json!({"ts": 0, "device": {"temp": true}}), "field 'device.temp': expected float, found bool true"),
        ];
        for (event, msg) in cases {
            let e = both(&d, event.clone()).unwrap_err();
            assert_eq!(e.to_string(), msg, "{event}");
            assert_eq!(e.kind(), "type");
        }
    }

    #[test]
    fn long_strings_are_cut_in_messages() {
        let d = tx();
        let long = "x".repeat(100);
        let e = both(&d, json!({"ts": 0, "amount": long})).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "field 'amount': expected float, found string \"{}\"...",
                "x".repeat(40)
            )
        );
    }

    #[test]
    fn not_an_object_and_bad_json() {
        let d = tx();
        assert_eq!(
            both(&d, json!([1, 2])).unwrap_err().to_string(),
            "event is not a JSON object (found an array)"
        );
        assert_eq!(
            both(&d, json!("x")).unwrap_err(),
            DecodeError::NotAnObject { found: "a string" }
        );
        for bad in [&b"{"[..], b"{\"ts\": 0,}", b"{\"ts\": 0} x", b"", b"nul"] {
            let e = d.decode_at(bad, 0).unwrap_err();
            assert_eq!(e.kind(), "json", "{:?}", String::from_utf8_lossy(bad));
            assert!(e.to_string().starts_with("invalid JSON: "));
        }
        // Syntax errors after a type error still make the event unreadable.
        let e = d.decode_at(br#"{"ts": 0, "amount": "x", "#, 0).unwrap_err();
        assert_eq!(e.kind(), "json");
    }

    #[test]
    fn processing_time_streams_take_the_given_time() {
        let d = Decoder::new(&schema(vec![field("a", t(BaseType::Int))], None));
        let r = both(&d, json!({"a": 1})).unwrap();
        assert_eq!(r.time(), 7);
        let before = now_ms();
        let r = d.decode(br#"{"a": 1}"#).unwrap();
        assert!(r.time() >= before);
    }

    #[test]
    fn escaped_keys_and_duplicate_keys() {
        let d = tx();
        let r = d
            .decode_at(
                br#"{"ts": 0, "\u0069d": "esc", "amount": 1, "amount": 2}"#,
                0,
            )
            .unwrap();
        assert_eq!(r.get(0), &Value::from("esc"));
        assert_eq!(r.get(1), &Value::Float(2.0));
    }

    #[test]
    fn field_that_is_also_a_prefix() {
        let d = Decoder::new(&schema(
            vec![
                field("device", t(BaseType::Json)),
                field("device.temp", t(BaseType::Float)),
            ],
            None,
        ));
        let r = both(&d, json!({"device": {"temp": 3}})).unwrap();
        assert!(matches!(r.get(0), Value::Json(_)));
        assert_eq!(r.get(1), &Value::Float(3.0));
        let e = both(&d, json!({"device": {"temp": "hot"}})).unwrap_err();
        assert_eq!(e.field(), Some("device.temp"));
    }

    #[test]
    fn json_fields_keep_scalars_typed() {
        let d = Decoder::new(&schema(vec![field("j", t(BaseType::Json))], None));
        for (v, want) in [
            (json!(5), Value::Int(5)),
            (json!(5.5), Value::Float(5.5)),
            (json!("s"), Value::from("s")),
            (json!(false), Value::Bool(false)),
            (json!(null), Value::Null),
        ] {
            let r = both(&d, json!({ "j": v })).unwrap();
            assert_eq!(r.get(0), &want);
        }
    }

    #[test]
    fn wide_schemas_use_the_index() {
        let fields: Vec<_> = (0..40)
            .map(|i| field(&format!("f{i}"), t(BaseType::Int)))
            .collect();
        let d = Decoder::new(&schema(fields, None));
        let r = both(&d, json!({"f0": 0, "f39": 39, "f17": 17, "zz": 1})).unwrap();
        assert_eq!(r.get(0), &Value::Int(0));
        assert_eq!(r.get(17), &Value::Int(17));
        assert_eq!(r.get(39), &Value::Int(39));
        assert_eq!(r.get(1), &Value::Null);
        assert_eq!(d.width(), 40);
    }

    #[test]
    fn record_json_from_bytes_is_cached() {
        let d = tx();
        let r = d.decode_at(br#"{"ts": 0, "x": [1, 2]}"#, 0).unwrap();
        assert_eq!(r.bytes(), Some(&br#"{"ts": 0, "x": [1, 2]}"#[..]));
        let a = r.json();
        let b = r.json();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, json!({"ts": 0, "x": [1, 2]}));
        let r2 = Record::new(vec![Value::Int(1)], 5, Arc::new(json!({"a": 1})));
        assert_eq!(r2.bytes(), None);
        assert_eq!(r2.time(), 5);
        assert!(format!("{r2:?}").contains("1970-01-01T00:00:00.005Z"));
    }
}
