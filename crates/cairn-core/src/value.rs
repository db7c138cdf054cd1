//! Runtime values: what template expressions evaluate to and what resources take and give.
//!
//! Two markers travel with values:
//! - [`Value::Unknown`]: a value that is only known after `up` (an attribute of a resource
//!   that is yet to be created). Previews show it as `(known after up)`.
//! - [`Value::Secret`]: a value that must never be printed unless asked (NoEcho parameters,
//!   secret config, anything computed from them). Secrecy is contagious: `Fn::Join` of a
//!   secret is a secret.
//!
//! Maps are ordered by key so that everything derived from values (plans, state, output)
//! is deterministic.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

pub use serde_json::Number;

/// The key used to mark a secret when a value is serialized (state, journal, JSON output).
/// Issue 4 replaces the plain payload with ciphertext; the marker stays.
pub const SECRET_KEY: &str = "cairn:secret";

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Known only after `up`.
    Unknown,
    /// A secret; the inner value is never itself a `Secret`.
    Secret(Box<Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn secret(v: Value) -> Value {
        match v {
            Value::Secret(_) | Value::Unknown => v,
            other => Value::Secret(Box::new(other)),
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when the value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(l) => l.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            Value::Secret(v) => v.contains_unknown(),
            _ => false,
        }
    }

    /// True when the value or anything inside it is secret.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(l) => l.iter().any(Value::contains_secret),
            Value::Map(m) => m.values().any(Value::contains_secret),
            _ => false,
        }
    }

    /// The value without its secret marker (top level only).
    pub fn reveal(&self) -> &Value {
        match self {
            Value::Secret(v) => v,
            v => v,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.reveal() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.reveal() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&Vec<Value>> {
        match self.reveal() {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.reveal() {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// A number, also from a numeric string (CloudFormation passes numbers as strings).
    pub fn as_f64(&self) -> Option<f64> {
        match self.reveal() {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages ("expected a string, found a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Unknown => "a value known only after up",
            Value::Secret(v) => v.kind(),
        }
    }

    /// The plain JSON a provider receives: secret markers removed. `None` when any part is
    /// still unknown (the engine only calls providers with fully known values).
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect::<Option<_>>()?),
            Value::Map(m) => serde_json::Value::Object(
                m.iter().map(|(k, v)| Some((k.clone(), v.to_json()?))).collect::<Option<_>>()?,
            ),
            Value::Unknown => return None,
            Value::Secret(v) => v.to_json()?,
        })
    }

    /// A value from plain JSON (no markers are interpreted).
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// JSON for display: secrets as `"[secret]"` unless `show_secrets`, unknowns as
    /// `"(known after up)"`.
    pub fn to_display_json(&self, show_secrets: bool) -> serde_json::Value {
        match self {
            Value::Secret(v) if show_secrets => v.to_display_json(true),
            Value::Secret(_) => serde_json::Value::String("[secret]".into()),
            Value::Unknown => serde_json::Value::String("(known after up)".into()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(|v| v.to_display_json(show_secrets)).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_display_json(show_secrets))).collect())
            }
            other => other.to_json().unwrap_or(serde_json::Value::Null),
        }
    }

    /// The JSON stored in state and journals: secrets wrapped as `{"cairn:secret": ...}`.
    /// Unknown values are never stored; they serialize as null.
    pub fn to_state_json(&self) -> serde_json::Value {
        match self {
            Value::Secret(v) => {
                let mut m = serde_json::Map::new();
                m.insert(SECRET_KEY.to_string(), v.to_state_json());
                serde_json::Value::Object(m)
            }
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_state_json).collect()),
            Value::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_state_json())).collect()),
            other => other.to_json().unwrap_or(serde_json::Value::Null),
        }
    }

    /// The inverse of [`Value::to_state_json`].
    pub fn from_state_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Object(o) if o.len() == 1 && o.contains_key(SECRET_KEY) => {
                Value::secret(Value::from_state_json(&o[SECRET_KEY]))
            }
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_state_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_state_json(v))).collect())
            }
            other => Value::from_json(other),
        }
    }

    /// A string rendering as CloudFormation would coerce a scalar into a string
    /// (`Fn::Join`, `Fn::Sub`): numbers and booleans print plainly.
    pub fn to_cfn_string(&self) -> Option<String> {
        match self.reveal() {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_state_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = serde_json::Value::deserialize(d)?;
        Ok(Value::from_state_json(&j))
    }
}

impl fmt::Display for Value {
    /// Display never reveals secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s:?}"),
            other => write!(f, "{}", other.to_display_json(false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_json_round_trips_secrets() {
        let v = Value::Map(BTreeMap::from([
            ("a".to_string(), Value::secret("hunter2".into())),
            ("b".to_string(), Value::List(vec![1.into(), true.into()])),
        ]));
        let j = v.to_state_json();
        assert_eq!(Value::from_state_json(&j), v);
        assert!(!v.to_string().contains("hunter2"));
        assert_eq!(v.to_json().unwrap()["a"], "hunter2");
    }

    #[test]
    fn unknown_blocks_to_json() {
        let v = Value::List(vec![Value::Unknown]);
        assert!(v.contains_unknown());
        assert!(v.to_json().is_none());
        assert_eq!(v.to_display_json(false)[0], "(known after up)");
    }
}
