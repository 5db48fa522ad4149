//! A borrowed JSON tree (strings without escapes point into the input; objects are
//! vectors of pairs, not maps) and typed access to the fields of an object, with
//! errors that name the field.
//!
//! `decode` spends nearly all its time building the tree, so it is kept cheap: no map
//! nodes, no copies of plain strings. A repeated key keeps its last value, as
//! `serde_json::Value` does.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::DecodeError;

/// A JSON object: its members in input order.
pub(crate) type Object<'a> = [(Str<'a>, Json<'a>)];

/// A string, borrowed from the input when it has no escapes.
#[derive(Debug)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

/// A JSON value.
#[derive(Debug)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    /// A number that is not an integer (its value is never needed).
    Float,
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Str<'a>, Json<'a>)>),
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Uint(v))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Json::Float)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(k) = map.next_key::<Str<'de>>()? {
            let v = map.next_value::<Json<'de>>()?;
            out.push((k, v));
        }
        Ok(Json::Object(out))
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

impl<'a> Json<'a> {
    /// The JSON type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Int(_) | Json::Uint(_) | Json::Float => "a number",
            Json::Str(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(i) => Some(*i),
            Json::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }
}

/// The last member of an object with this key (null included).
pub(crate) fn member<'o, 'a>(map: &'o Object<'a>, name: &str) -> Option<&'o Json<'a>> {
    map.iter().rev().find(|(k, _)| k.0 == name).map(|(_, v)| v)
}

/// One JSON object, with the path that leads to it and the event it belongs to.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'o, 'a> {
    pub map: &'o Object<'a>,
    pub context: &'o str,
    pub path: &'o str,
}

impl<'o, 'a> Fields<'o, 'a> {
    pub fn new(map: &'o Object<'a>, context: &'o str) -> Self {
        Fields {
            map,
            context,
            path: "",
        }
    }

    pub fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn missing(&self, name: &str) -> DecodeError {
        DecodeError::MissingField {
            field: self.path_of(name),
            context: self.context.to_owned(),
        }
    }

    pub fn wrong(&self, name: &str, expected: &'static str, v: &Json<'_>) -> DecodeError {
        DecodeError::WrongType {
            field: self.path_of(name),
            context: self.context.to_owned(),
            expected,
            found: v.type_name(),
        }
    }

    /// The field's value; `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&'o Json<'a>> {
        member(self.map, name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'o str>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(name, "a string", v)),
        }
    }

    pub fn str(&self, name: &str) -> Result<&'o str, DecodeError> {
        self.opt_str(name)?.ok_or_else(|| self.missing(name))
    }

    /// A name: a string that is not empty.
    pub fn opt_name(&self, name: &str) -> Result<Option<&'o str>, DecodeError> {
        match self.opt_str(name)? {
            Some("") => Err(DecodeError::EmptyName {
                field: self.path_of(name),
                context: self.context.to_owned(),
            }),
            other => Ok(other),
        }
    }

    pub fn name(&self, name: &str) -> Result<&'o str, DecodeError> {
        self.opt_name(name)?.ok_or_else(|| self.missing(name))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "an integer", v)),
        }
    }

    pub fn i64(&self, name: &str) -> Result<i64, DecodeError> {
        self.opt_i64(name)?.ok_or_else(|| self.missing(name))
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(name, "a boolean", v)),
        }
    }

    pub fn opt_object(&self, name: &str) -> Result<Option<&'o Object<'a>>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(name, "an object", v)),
        }
    }

    pub fn opt_array(&self, name: &str) -> Result<Option<&'o [Json<'a>]>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(name, "an array", v)),
        }
    }
}
