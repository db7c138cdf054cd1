//! The located syntax tree of a template, stack file or project file.
//!
//! YAML and JSON both parse into [`Node`]s (JSON is read by the same YAML 1.2 parser). The
//! short-form tags are rewritten at parse time into their long form, so evaluation sees
//! one shape: `!Ref X` becomes the mapping `{Ref: X}`, `!GetAtt A.B` becomes
//! `{Fn::GetAtt: "A.B"}`, `!Condition C` becomes `{Condition: C}`, and any other `!Name`
//! becomes `{Fn::Name: ...}`. The key of such a rewritten mapping carries the tag's span.

use crate::diag::Span;
use crate::value::{Number, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    Map(Mapping),
}

/// A mapping that keeps its keys' order and locations. Duplicate keys are rejected by
/// the parser, so a key occurs at most once.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Mapping {
    pub entries: Vec<(Key, Node)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Mapping {
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
    }
    pub fn get_entry(&self, name: &str) -> Option<(&Key, &Node)> {
        self.entries.iter().find(|(k, _)| k.name == name).map(|(k, v)| (k, v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.name.as_str())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Node)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Node {
    pub fn new(value: NodeValue, span: Span) -> Node {
        Node { value, span }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&Mapping> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar rendered as a string (numbers and booleans as written), as CloudFormation
    /// reads e.g. parameter defaults and `AllowedValues`.
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            NodeValue::String(s) => Some(s.clone()),
            NodeValue::Number(n) => Some(n.to_string()),
            NodeValue::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// When this node is an intrinsic function call (a one-key mapping whose key is `Ref`,
    /// `Condition` or starts with `Fn::`), its name, key span and argument.
    pub fn as_intrinsic(&self) -> Option<(&str, &Span, &Node)> {
        let m = self.as_map()?;
        if m.len() != 1 {
            return None;
        }
        let (k, v) = &m.entries[0];
        if k.name == "Ref" || k.name == "Condition" || k.name.starts_with("Fn::") {
            Some((k.name.as_str(), &k.span, v))
        } else {
            None
        }
    }

    /// A short description of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// A node for a known plain value (located at `span`): `None` when any part is
    /// unknown or secret.
    pub fn from_value(v: &Value, span: &Span) -> Option<Node> {
        let value = match v {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => NodeValue::Number(n.clone()),
            Value::String(s) => NodeValue::String(s.clone()),
            Value::List(l) => NodeValue::Seq(l.iter().map(|x| Node::from_value(x, span)).collect::<Option<_>>()?),
            Value::Map(m) => NodeValue::Map(Mapping {
                entries: m
                    .iter()
                    .map(|(k, x)| Some((Key { name: k.clone(), span: span.clone() }, Node::from_value(x, span)?)))
                    .collect::<Option<_>>()?,
            }),
            Value::Unknown | Value::Secret(_) => return None,
        };
        Some(Node::new(value, span.clone()))
    }

    /// The node as a plain value, when it contains no intrinsic function.
    pub fn to_literal(&self) -> Option<Value> {
        if self.as_intrinsic().is_some() {
            return None;
        }
        Some(match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(s) => Value::List(s.iter().map(Node::to_literal).collect::<Option<_>>()?),
            NodeValue::Map(m) => Value::Map(
                m.entries.iter().map(|(k, v)| Some((k.name.clone(), v.to_literal()?))).collect::<Option<_>>()?,
            ),
        })
    }
}
