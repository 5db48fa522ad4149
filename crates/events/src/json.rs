//! Typed access to the fields of a JSON object, with errors that name the field.

use serde_json::{Map, Value};

use crate::error::DecodeError;

/// The JSON type name of a value, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One JSON object, with the path that leads to it and the event it belongs to.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub map: &'a Map<String, Value>,
    pub context: &'a str,
    pub path: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>, context: &'a str) -> Self {
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

    pub fn wrong(&self, name: &str, expected: &'static str, v: &Value) -> DecodeError {
        DecodeError::WrongType {
            field: self.path_of(name),
            context: self.context.to_owned(),
            expected,
            found: type_name(v),
        }
    }

    /// The field's value; `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(name, "a string", v)),
        }
    }

    pub fn str(&self, name: &str) -> Result<&'a str, DecodeError> {
        self.opt_str(name)?.ok_or_else(|| self.missing(name))
    }

    /// A name: a string that is not empty.
    pub fn opt_name(&self, name: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.opt_str(name)? {
            Some("") => Err(DecodeError::EmptyName {
                field: self.path_of(name),
                context: self.context.to_owned(),
            }),
            other => Ok(other),
        }
    }

    pub fn name(&self, name: &str) -> Result<&'a str, DecodeError> {
        self.opt_name(name)?.ok_or_else(|| self.missing(name))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "an integer", v)),
            Some(v) => Err(self.wrong(name, "an integer", v)),
        }
    }

    pub fn i64(&self, name: &str) -> Result<i64, DecodeError> {
        self.opt_i64(name)?.ok_or_else(|| self.missing(name))
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(name, "a boolean", v)),
        }
    }

    pub fn opt_object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(name, "an object", v)),
        }
    }

    pub fn opt_array(&self, name: &str) -> Result<Option<&'a [Value]>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(name, "an array", v)),
        }
    }
}
