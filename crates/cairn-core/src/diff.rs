//! Structural diffs: the leaf-level changes between two values of one property, as
//! previews show them (`--diff`) and `--json` carries them (`details`).
//!
//! Each change is a [`Detail`]: a `path` relative to the property, a [`Kind`] (`add`,
//! `delete`, `update`) and the old and new values at that path (the absent side is
//! `None`). Unchanged siblings give nothing.
//!
//! **Paths.** Map keys are joined with `.`, list elements are `[index]`:
//! `Rules[0].Transitions[0].TransitionInDays`. A key that is empty or holds `.`, `[`, `]`,
//! a quote or white space is written as a quoted index: `Variables["cost center"]`. The empty
//! path is the property itself (a property added, removed, or changed as a whole). A
//! `delete` names the element's position in the old list, an `add` its position in the
//! new list, and an `update` inside a list its position in the new list.
//!
//! **Lists.** An ordered list is aligned by content (a longest common subsequence), so
//! removing its first element is one `delete`, not an update of every element; elements
//! that stand in the same place of a changed stretch are diffed with each other. A list
//! whose order does not matter is matched by content: an element present on both sides is
//! unchanged wherever it sits, removed elements are `delete`s and added ones `add`s. Lists
//! are unordered where the type's schema says so (`TypeSchema::unordered_lists`, the
//! registry schema's `insertionOrder: false`, in the path syntax of
//! [`crate::provider::TypeSchema::unordered_lists`]), and inside IAM policy documents.
//!
//! **Policy documents.** A mapping whose keys are `Statement` and maybe `Version` and `Id`
//! is a policy document, wherever it sits. Its `Statement` list, and each statement's
//! `Action`, `NotAction`, `Resource`, `NotResource` lists and the value lists of
//! `Principal`/`NotPrincipal` (`{"AWS": [...]}`), are unordered; there a single value and a
//! one-element list mean the same (as a single statement and a one-statement list do).
//!
//! **JSON in strings.** A string holding a JSON object or array (a policy document given as
//! a string, a dashboard body) is diffed as JSON when the other side is JSON too (another
//! such string, a mapping or a list).
//!
//! **Scalars** are compared as CloudFormation spells them: `30` and `"30"`, `true` and
//! `"true"` are the same. A key whose value is null is the same as an absent key.
//!
//! **Markers.** A secret is a leaf: it is never looked into, and a change to it is one
//! `update` whose values stay secret (renderers show `[secret]`). An unknown value (known
//! after up) is never equal to anything: it is an `update` to `Unknown`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;

use crate::value::Value;

/// What happened at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Add,
    Delete,
    Update,
}

impl Kind {
    /// `add`, `delete`, `update`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Delete => "delete",
            Kind::Update => "update",
        }
    }
    /// The symbol previews show: `+`, `-`, `~`.
    pub fn symbol(self) -> &'static str {
        match self {
            Kind::Add => "+",
            Kind::Delete => "-",
            Kind::Update => "~",
        }
    }
}

/// One leaf-level change (see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detail {
    /// Relative to the property; empty for the property itself.
    pub path: String,
    pub kind: Kind,
    /// The value before (`None` for an `add`).
    pub old: Option<Value>,
    /// The value after (`None` for a `delete`).
    pub new: Option<Value>,
}

/// The changes of property `name` from `old` to `new` (`None`: absent). When the values
/// differ only in ways this diff treats as equal (a reordered unordered list, a number
/// respelled as a string) but the caller still counts them as changed, the whole value is
/// one `update` at the empty path, so that a changed property always has details.
/// `unordered` is the type's `TypeSchema::unordered_lists`.
pub fn property(name: &str, old: Option<&Value>, new: Option<&Value>, unordered: &[String]) -> Vec<Detail> {
    match (old, new) {
        (None, None) => Vec::new(),
        (Some(o), None) => vec![Detail { path: String::new(), kind: Kind::Delete, old: Some(o.clone()), new: None }],
        (None, Some(n)) => vec![Detail { path: String::new(), kind: Kind::Add, old: None, new: Some(n.clone()) }],
        (Some(o), Some(n)) => {
            let out = diff(o, n, name, unordered);
            if out.is_empty() {
                vec![Detail { path: String::new(), kind: Kind::Update, old: Some(o.clone()), new: Some(n.clone()) }]
            } else {
                out
            }
        }
    }
}

/// The changes from `old` to `new`, with paths relative to them. `schema_path` is where
/// the values sit in the resource's properties (a property name, `Policies[*].PolicyDocument`),
/// to find them in `unordered`. Empty when the two mean the same.
pub fn diff(old: &Value, new: &Value, schema_path: &str, unordered: &[String]) -> Vec<Detail> {
    let mut d = Differ { unordered, out: Vec::new() };
    d.at("", schema_path, Ctx::Plain, old, new);
    d.out
}

/// Whether two values mean the same to [`diff`] (it gives no change).
pub fn same(old: &Value, new: &Value, schema_path: &str, unordered: &[String]) -> bool {
    let k = Keys { unordered };
    matches!((k.key(old, Ctx::Plain, schema_path), k.key(new, Ctx::Plain, schema_path)), (Some(a), Some(b)) if a == b)
}

/// `path` followed by map key `key`.
pub fn key_path(path: &str, key: &str) -> String {
    let bare = !key.is_empty() && !key.chars().any(|c| matches!(c, '.' | '[' | ']' | '"' | '\'') || c.is_whitespace());
    if !bare {
        format!("{path}[{}]", serde_json::to_string(key).unwrap_or_default())
    } else if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `path` followed by list index `i`.
pub fn index_path(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The schema path of a map key (`A.B`) or of list elements (`A[*]`).
fn schema_key(spath: &str, key: &str) -> String {
    if spath.is_empty() {
        key.to_string()
    } else {
        format!("{spath}.{key}")
    }
}

fn schema_items(spath: &str) -> String {
    format!("{spath}[*]")
}

/// Where a value sits, for the rules of policy documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    Plain,
    /// A policy document (a mapping with `Statement`).
    Document,
    /// A document's `Statement`: one statement or a list of them, unordered.
    Statements,
    /// One statement.
    Statement,
    /// `Principal`/`NotPrincipal`: `"*"` or a mapping of value lists.
    Principal,
    /// `Action`, `Resource`, ... or a principal's values: one value or an unordered list.
    ValueSet,
}

/// The context of the value under `key` of a mapping in context `ctx`.
fn child_ctx(ctx: Ctx, key: &str) -> Ctx {
    match (ctx, key) {
        (Ctx::Document, "Statement") => Ctx::Statements,
        (Ctx::Statement, "Action" | "NotAction" | "Resource" | "NotResource") => Ctx::ValueSet,
        (Ctx::Statement, "Principal" | "NotPrincipal") => Ctx::Principal,
        (Ctx::Principal, _) => Ctx::ValueSet,
        _ => Ctx::Plain,
    }
}

/// A policy document: `Statement`, and otherwise only `Version` and `Id`.
fn is_document(v: &Value) -> bool {
    match v {
        Value::Map(m) => {
            m.contains_key("Statement") && m.keys().all(|k| matches!(k.as_str(), "Statement" | "Version" | "Id"))
        }
        _ => false,
    }
}

/// The structured form of a value: a mapping or list as it is, a string holding a JSON
/// object or array parsed; `None` for anything else.
fn structured(v: &Value) -> Option<Cow<'_, Value>> {
    match v {
        Value::Map(_) | Value::List(_) => Some(Cow::Borrowed(v)),
        Value::String(s) => {
            let t = s.trim_start();
            if !(t.starts_with('{') || t.starts_with('[')) {
                return None;
            }
            match serde_json::from_str::<serde_json::Value>(s) {
                Ok(j @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                    Some(Cow::Owned(Value::from_json(&j)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A scalar as CloudFormation spells it (`30`, `"30"` -> `30`), or `None` for null,
/// structures and markers.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Bool(_) | Value::Number(_) | Value::String(_) => v.to_cfn_string(),
        _ => None,
    }
}

/// Two values compared as leaves.
fn leaf_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        _ => matches!((scalar(a), scalar(b)), (Some(x), Some(y)) if x == y),
    }
}

/// The non-null entries of a mapping.
fn entries(m: &std::collections::BTreeMap<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    m.iter().filter(|(_, v)| !matches!(v, Value::Null))
}

struct Differ<'a> {
    unordered: &'a [String],
    out: Vec<Detail>,
}

impl Differ<'_> {
    fn push(&mut self, path: &str, kind: Kind, old: Option<&Value>, new: Option<&Value>) {
        self.out.push(Detail { path: path.to_string(), kind, old: old.cloned(), new: new.cloned() });
    }

    fn update(&mut self, path: &str, old: &Value, new: &Value) {
        self.push(path, Kind::Update, Some(old), Some(new));
    }

    fn keys(&self) -> Keys<'_> {
        Keys { unordered: self.unordered }
    }

    fn at(&mut self, path: &str, spath: &str, ctx: Ctx, old: &Value, new: &Value) {
        match (old, new) {
            (Value::Unknown, _) | (_, Value::Unknown) => return self.update(path, old, new),
            (Value::Secret(a), Value::Secret(b)) => {
                let k = self.keys();
                let same = matches!((k.key(a, ctx, spath), k.key(b, ctx, spath)), (Some(x), Some(y)) if x == y);
                if !same {
                    self.update(path, old, new);
                }
                return;
            }
            (Value::Secret(_), _) | (_, Value::Secret(_)) => return self.update(path, old, new),
            _ => {}
        }
        let is_list = |v: &Value| matches!(v, Value::List(_));
        let is_map = |v: &Value| matches!(v, Value::Map(_));
        match ctx {
            Ctx::ValueSet if is_list(old) || is_list(new) => {
                let (o, n) = (as_list(old), as_list(new));
                self.set(path, &schema_items(spath), Ctx::Plain, &o, &n);
            }
            Ctx::ValueSet => self.generic(path, spath, Ctx::Plain, old, new),
            Ctx::Statements => match (old, new) {
                (Value::Map(_), Value::Map(_)) => self.at(path, spath, Ctx::Statement, old, new),
                (a, b) if (is_list(a) || is_map(a)) && (is_list(b) || is_map(b)) => {
                    let (o, n) = (as_list(old), as_list(new));
                    self.set(path, &schema_items(spath), Ctx::Statement, &o, &n);
                }
                (a, b) if is_list(a) || is_map(a) || is_list(b) || is_map(b) => self.update(path, old, new),
                _ => self.generic(path, spath, Ctx::Plain, old, new),
            },
            Ctx::Principal => match (old, new) {
                (Value::Map(a), Value::Map(b)) => self.map(path, spath, Ctx::Principal, a, b),
                (a, b) if is_map(a) || is_map(b) => self.update(path, old, new),
                _ => self.generic(path, spath, Ctx::Plain, old, new),
            },
            Ctx::Plain | Ctx::Document | Ctx::Statement => self.generic(path, spath, ctx, old, new),
        }
    }

    /// Mappings key by key, lists element by element, JSON strings as JSON, else leaves.
    fn generic(&mut self, path: &str, spath: &str, ctx: Ctx, old: &Value, new: &Value) {
        match (structured(old), structured(new)) {
            (Some(o), Some(n)) => match (o.as_ref(), n.as_ref()) {
                (Value::Map(a), Value::Map(b)) => {
                    let ctx =
                        if ctx == Ctx::Plain && (is_document(&o) || is_document(&n)) { Ctx::Document } else { ctx };
                    self.map(path, spath, ctx, a, b);
                }
                (Value::List(a), Value::List(b)) => {
                    let items = schema_items(spath);
                    if self.unordered.iter().any(|u| u == spath) {
                        self.set(path, &items, Ctx::Plain, a, b);
                    } else {
                        self.ordered(path, &items, a, b);
                    }
                }
                _ => self.update(path, old, new),
            },
            _ => {
                if !leaf_eq(old, new) {
                    self.update(path, old, new);
                }
            }
        }
    }

    fn map(
        &mut self,
        path: &str,
        spath: &str,
        ctx: Ctx,
        a: &std::collections::BTreeMap<String, Value>,
        b: &std::collections::BTreeMap<String, Value>,
    ) {
        let mut keys: Vec<&String> = entries(a).chain(entries(b)).map(|(k, _)| k).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let p = key_path(path, k);
            let o = a.get(k).filter(|v| !matches!(v, Value::Null));
            let n = b.get(k).filter(|v| !matches!(v, Value::Null));
            match (o, n) {
                (Some(o), Some(n)) => self.at(&p, &schema_key(spath, k), child_ctx(ctx, k), o, n),
                (Some(o), None) => self.push(&p, Kind::Delete, Some(o), None),
                (None, Some(n)) => self.push(&p, Kind::Add, None, Some(n)),
                (None, None) => {}
            }
        }
    }

    /// Lists whose order does not matter: matched by content.
    fn set(&mut self, path: &str, items: &str, ctx: Ctx, a: &[Value], b: &[Value]) {
        let k = self.keys();
        let ka: Vec<Option<String>> = a.iter().map(|v| k.key(v, ctx, items)).collect();
        let kb: Vec<Option<String>> = b.iter().map(|v| k.key(v, ctx, items)).collect();
        let mut unmatched: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, key) in ka.iter().enumerate().rev() {
            if let Some(key) = key {
                unmatched.entry(key.as_str()).or_default().push(i);
            }
        }
        let mut kept = vec![false; a.len()];
        let mut added = Vec::new();
        for (j, key) in kb.iter().enumerate() {
            match key.as_deref().and_then(|key| unmatched.get_mut(key)).and_then(Vec::pop) {
                Some(i) => kept[i] = true,
                None => added.push(j),
            }
        }
        for (i, v) in a.iter().enumerate() {
            if !kept[i] {
                self.push(&index_path(path, i), Kind::Delete, Some(v), None);
            }
        }
        for j in added {
            self.push(&index_path(path, j), Kind::Add, None, Some(&b[j]));
        }
    }

    /// Ordered lists: aligned on equal elements; the elements of a changed stretch are
    /// diffed pairwise, the rest deleted or added.
    fn ordered(&mut self, path: &str, items: &str, a: &[Value], b: &[Value]) {
        let k = self.keys();
        let ka: Vec<Option<String>> = a.iter().map(|v| k.key(v, Ctx::Plain, items)).collect();
        let kb: Vec<Option<String>> = b.iter().map(|v| k.key(v, Ctx::Plain, items)).collect();
        let hunk = |d: &mut Self, (i0, i1): (usize, usize), (j0, j1): (usize, usize)| {
            let paired = (i1 - i0).min(j1 - j0);
            for t in 0..paired {
                d.at(&index_path(path, j0 + t), items, Ctx::Plain, &a[i0 + t], &b[j0 + t]);
            }
            for (i, v) in a.iter().enumerate().take(i1).skip(i0 + paired) {
                d.push(&index_path(path, i), Kind::Delete, Some(v), None);
            }
            for (j, v) in b.iter().enumerate().take(j1).skip(j0 + paired) {
                d.push(&index_path(path, j), Kind::Add, None, Some(v));
            }
        };
        let (mut i, mut j) = (0, 0);
        for (mi, mj) in matches(&ka, &kb) {
            if i < mi || j < mj {
                hunk(self, (i, mi), (j, mj));
            }
            i = mi + 1;
            j = mj + 1;
        }
        if i < a.len() || j < b.len() {
            hunk(self, (i, a.len()), (j, b.len()));
        }
    }
}

/// A value as a list: a list as it is, anything else as a one-element list.
fn as_list(v: &Value) -> Cow<'_, [Value]> {
    match v {
        Value::List(l) => Cow::Borrowed(l.as_slice()),
        other => Cow::Owned(vec![other.clone()]),
    }
}

/// Above this many cells, an ordered list is not aligned, only compared by position.
const MAX_ALIGNMENT_CELLS: usize = 1 << 20;

/// The index pairs of equal elements (`None` equals nothing) in a longest common
/// subsequence, in order.
fn matches(a: &[Option<String>], b: &[Option<String>]) -> Vec<(usize, usize)> {
    let eq = |i: usize, j: usize| a[i].is_some() && a[i] == b[j];
    let mut prefix = 0;
    while prefix < a.len() && prefix < b.len() && eq(prefix, prefix) {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < a.len() - prefix && suffix < b.len() - prefix && eq(a.len() - 1 - suffix, b.len() - 1 - suffix) {
        suffix += 1;
    }
    let mut out: Vec<(usize, usize)> = (0..prefix).map(|i| (i, i)).collect();
    let (n, m) = (a.len() - prefix - suffix, b.len() - prefix - suffix);
    if n > 0 && m > 0 && n.saturating_mul(m) <= MAX_ALIGNMENT_CELLS {
        // lcs[i][j]: the longest common subsequence of a[prefix+i..] and b[prefix+j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if eq(prefix + i, prefix + j) {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if eq(prefix + i, prefix + j) {
                out.push((prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    out.extend((0..suffix).map(|s| (a.len() - suffix + s, b.len() - suffix + s)));
    out
}

/// Canonical keys: two values have the same key exactly when [`Differ`] finds no change
/// between them; `None` (never equal) when a value holds an unknown.
struct Keys<'a> {
    unordered: &'a [String],
}

impl Keys<'_> {
    fn key(&self, v: &Value, ctx: Ctx, spath: &str) -> Option<String> {
        let mut out = String::new();
        self.write(&mut out, v, ctx, spath)?;
        Some(out)
    }

    fn write(&self, out: &mut String, v: &Value, ctx: Ctx, spath: &str) -> Option<()> {
        match v {
            Value::Unknown => return None,
            Value::Secret(inner) => {
                out.push_str("S(");
                self.write(out, inner, ctx, spath)?;
                out.push(')');
                return Some(());
            }
            _ => {}
        }
        match (ctx, v) {
            (Ctx::ValueSet, _) => self.write_set(out, &as_list(v), Ctx::Plain, &schema_items(spath)),
            (Ctx::Statements, Value::Map(_) | Value::List(_)) => {
                out.push('L');
                self.write_set(out, &as_list(v), Ctx::Statement, &schema_items(spath))
            }
            (Ctx::Principal, Value::Map(m)) => {
                out.push('M');
                self.write_map(out, m, Ctx::Principal, spath)
            }
            (Ctx::Statements | Ctx::Principal, _) => {
                out.push('P');
                self.write_generic(out, v, Ctx::Plain, spath)
            }
            (Ctx::Plain | Ctx::Document | Ctx::Statement, _) => self.write_generic(out, v, ctx, spath),
        }
    }

    fn write_generic(&self, out: &mut String, v: &Value, ctx: Ctx, spath: &str) -> Option<()> {
        match structured(v) {
            Some(s) => match s.as_ref() {
                Value::Map(m) => {
                    let ctx = if ctx == Ctx::Plain && is_document(&s) { Ctx::Document } else { ctx };
                    self.write_map(out, m, ctx, spath)
                }
                Value::List(l) => {
                    let items = schema_items(spath);
                    if self.unordered.iter().any(|u| u == spath) {
                        self.write_set(out, l, Ctx::Plain, &items)
                    } else {
                        out.push('[');
                        for x in l {
                            self.write(out, x, Ctx::Plain, &items)?;
                            out.push(',');
                        }
                        out.push(']');
                        Some(())
                    }
                }
                _ => unreachable!("structured values are mappings or lists"),
            },
            None => {
                match scalar(v) {
                    Some(s) => {
                        out.push('s');
                        out.push_str(&serde_json::to_string(&s).unwrap_or_default());
                    }
                    None => out.push('z'),
                }
                Some(())
            }
        }
    }

    fn write_map(
        &self,
        out: &mut String,
        m: &std::collections::BTreeMap<String, Value>,
        ctx: Ctx,
        spath: &str,
    ) -> Option<()> {
        out.push('{');
        for (k, x) in entries(m) {
            out.push_str(&serde_json::to_string(k).unwrap_or_default());
            out.push(':');
            self.write(out, x, child_ctx(ctx, k), &schema_key(spath, k))?;
            out.push(',');
        }
        out.push('}');
        Some(())
    }

    fn write_set(&self, out: &mut String, l: &[Value], ctx: Ctx, items: &str) -> Option<()> {
        let mut keys = l.iter().map(|x| self.key(x, ctx, items)).collect::<Option<Vec<String>>>()?;
        keys.sort_unstable();
        out.push('<');
        for k in keys {
            out.push_str(&k);
            out.push(',');
        }
        out.push('>');
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn v(j: serde_json::Value) -> Value {
        Value::from_json(&j)
    }

    /// `(path, kind, old, new)` with values as display JSON (secrets hidden).
    fn details(
        old: &Value,
        new: &Value,
        spath: &str,
        unordered: &[&str],
    ) -> Vec<(String, &'static str, String, String)> {
        let unordered: Vec<String> = unordered.iter().map(|s| s.to_string()).collect();
        let show = |x: &Option<Value>| x.as_ref().map(|x| x.to_display_json(false).to_string()).unwrap_or_default();
        diff(old, new, spath, &unordered)
            .into_iter()
            .map(|d| (d.path.clone(), d.kind.as_str(), show(&d.old), show(&d.new)))
            .collect()
    }

    fn d(path: &str, kind: &'static str, old: &str, new: &str) -> (String, &'static str, String, String) {
        (path.to_string(), kind, old.to_string(), new.to_string())
    }

    #[test]
    fn a_lifecycle_day_is_one_update() {
        let rule = |days: i64| {
            json!({"Rules": [
                {"Id": "archive", "Status": "Enabled", "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": days}]},
                {"Id": "expire", "Status": "Enabled", "ExpirationInDays": 365}
            ]})
        };
        assert_eq!(
            details(&v(rule(30)), &v(rule(60)), "LifecycleConfiguration", &[]),
            [d("Rules[0].Transitions[0].TransitionInDays", "update", "30", "60")]
        );
    }

    #[test]
    fn keys_added_and_removed_and_nulls_ignored() {
        let old = v(json!({"A": 1, "B": {"C": "x"}, "N": null}));
        let new = v(json!({"B": {"C": "x", "D": [1]}, "E": true}));
        assert_eq!(
            details(&old, &new, "P", &[]),
            [d("A", "delete", "1", ""), d("B.D", "add", "", "[1]"), d("E", "add", "", "true")]
        );
    }

    #[test]
    fn odd_keys_are_quoted() {
        let old = v(json!({"cost center": "a", "x.y": 1, "": 2}));
        let new = v(json!({"cost center": "b", "x.y": 2, "": 3}));
        assert_eq!(
            details(&old, &new, "P", &[]),
            [
                d(r#"[""]"#, "update", "2", "3"),
                d(r#"["cost center"]"#, "update", r#""a""#, r#""b""#),
                d(r#"["x.y"]"#, "update", "1", "2")
            ]
        );
    }

    #[test]
    fn ordered_lists_align_on_equal_elements() {
        let old = v(json!(["a", "b", "c"]));
        assert_eq!(details(&old, &v(json!(["b", "c"])), "L", &[]), [d("[0]", "delete", r#""a""#, "")]);
        assert_eq!(details(&old, &v(json!(["a", "x", "b", "c"])), "L", &[]), [d("[1]", "add", "", r#""x""#)]);
        assert_eq!(details(&old, &v(json!(["a", "B", "c"])), "L", &[]), [d("[1]", "update", r#""b""#, r#""B""#)]);
        // A reordering of an ordered list is a change.
        assert!(!details(&old, &v(json!(["c", "b", "a"])), "L", &[]).is_empty());
        // Updates in a changed stretch are named by their new position.
        let old = v(json!([{"Id": "keep"}, {"Id": "a", "Days": 1}]));
        let new = v(json!([{"Id": "new"}, {"Id": "keep"}, {"Id": "a", "Days": 2}]));
        assert_eq!(
            details(&old, &new, "L", &[]),
            [d("[0]", "add", "", r#"{"Id":"new"}"#), d("[2].Days", "update", "1", "2")]
        );
    }

    #[test]
    fn unordered_lists_match_by_content() {
        let tag = |k: &str, x: &str| json!({"Key": k, "Value": x});
        let old = v(json!([tag("a", "1"), tag("b", "2"), tag("c", "3")]));
        let new = v(json!([tag("c", "3"), tag("a", "1"), tag("b", "9"), tag("d", "4")]));
        assert_eq!(
            details(&old, &new, "Tags", &["Tags"]),
            [
                d("[1]", "delete", r#"{"Key":"b","Value":"2"}"#, ""),
                d("[2]", "add", "", r#"{"Key":"b","Value":"9"}"#),
                d("[3]", "add", "", r#"{"Key":"d","Value":"4"}"#),
            ]
        );
        // Reordered only: no change.
        let shuffled = v(json!([tag("c", "3"), tag("a", "1"), tag("b", "2")]));
        assert!(details(&old, &shuffled, "Tags", &["Tags"]).is_empty());
        // The same list is ordered where the schema does not say otherwise.
        assert!(!details(&old, &shuffled, "Tags", &[]).is_empty());
        // Nested schema paths.
        let conf = |rules: serde_json::Value| v(json!({"S3Key": {"Rules": rules}}));
        let a = conf(json!([{"Name": "prefix", "Value": "a/"}, {"Name": "suffix", "Value": ".json"}]));
        let b = conf(json!([{"Name": "suffix", "Value": ".json"}, {"Name": "prefix", "Value": "a/"}]));
        assert!(details(&a, &b, "Filter", &["Filter.S3Key.Rules"]).is_empty());
        assert!(same(&a, &b, "Filter", &["Filter.S3Key.Rules".to_string()]));
        let outer = |x: &Value| Value::List(vec![Value::Map(BTreeMap::from([("Filter".to_string(), x.clone())]))]);
        assert!(details(&outer(&a), &outer(&b), "Q", &["Q[*].Filter.S3Key.Rules"]).is_empty());
        assert!(!details(&outer(&a), &outer(&b), "Q", &["Q.Filter.S3Key.Rules"]).is_empty());
    }

    fn policy(statements: serde_json::Value) -> Value {
        v(json!({"Version": "2012-10-17", "Statement": statements}))
    }

    #[test]
    fn policy_statements_and_action_lists_are_sets() {
        let read = json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"});
        let write = json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::b/*"]});
        let deny = json!({"Effect": "Deny", "Principal": {"AWS": ["arn:a", "arn:b"]}, "Action": "*", "Resource": "*"});
        let old = policy(json!([read, write, deny]));
        // A statement removed: one delete, at its old position.
        assert_eq!(
            details(&old, &policy(json!([read, deny])), "PolicyDocument", &[]),
            [d("Statement[1]", "delete", &Value::from_json(&write).to_display_json(false).to_string(), "")]
        );
        // Reordered statements, actions, resources and principals; singletons as lists.
        let read2 = json!({"Resource": ["*"], "Action": ["s3:ListBucket", "s3:GetObject"], "Effect": "Allow"});
        let write2 = json!({"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::b/*"});
        let deny2 =
            json!({"Effect": "Deny", "Principal": {"AWS": ["arn:b", "arn:a"]}, "Action": ["*"], "Resource": "*"});
        assert!(details(&old, &policy(json!([deny2, write2, read2])), "PolicyDocument", &[]).is_empty());
        // One statement as a mapping equals a one-statement list.
        assert!(details(&policy(json!([read])), &policy(read.clone()), "PolicyDocument", &[]).is_empty());
        // An action added to a single statement.
        let read3 = json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetObjectTagging"], "Resource": "*"});
        assert_eq!(
            details(&policy(read.clone()), &policy(read3), "PolicyDocument", &[]),
            [d("Statement.Action[2]", "add", "", r#""s3:GetObjectTagging""#)]
        );
        // Two single actions: an update.
        let a = policy(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}));
        let b = policy(json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}));
        assert_eq!(
            details(&a, &b, "PolicyDocument", &[]),
            [d("Statement.Action", "update", r#""s3:GetObject""#, r#""s3:PutObject""#)]
        );
        // A principal's values.
        let p = |aws: serde_json::Value| {
            policy(json!({"Effect": "Allow", "Principal": {"AWS": aws}, "Action": "sts:AssumeRole"}))
        };
        assert_eq!(
            details(&p(json!("arn:a")), &p(json!(["arn:a", "arn:b"])), "D", &[]),
            [d("Statement.Principal.AWS[1]", "add", "", r#""arn:b""#)]
        );
        // In a list of statements, a changed statement is the old one removed and the new
        // one added (statements are matched by content only).
        let p = |aws: serde_json::Value| {
            policy(json!([read, {"Effect": "Allow", "Principal": {"AWS": aws}, "Action": "sts:AssumeRole"}]))
        };
        let kinds: Vec<(String, &str)> = details(&p(json!("arn:a")), &p(json!(["arn:a", "arn:b"])), "D", &[])
            .into_iter()
            .map(|x| (x.0, x.1))
            .collect();
        assert_eq!(kinds, [("Statement[1]".to_string(), "delete"), ("Statement[1]".to_string(), "add")]);
        // Outside a policy document, `Action` lists keep their order.
        let plain = |x: serde_json::Value| v(json!({"Action": x}));
        assert!(!details(&plain(json!(["a", "b"])), &plain(json!(["b", "a"])), "P", &[]).is_empty());
    }

    #[test]
    fn json_strings_are_diffed_as_json() {
        let doc =
            |days: i64| json!({"widgets": [{"type": "metric", "properties": {"period": days}}], "start": "-PT3H"});
        let text = |j: &serde_json::Value| Value::String(j.to_string());
        assert_eq!(
            details(&text(&doc(300)), &text(&doc(60)), "DashboardBody", &[]),
            [d("widgets[0].properties.period", "update", "300", "60")]
        );
        // A policy document given as a string, against the same as a mapping.
        let p =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["a", "b"], "Resource": "*"}]});
        let q =
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["b", "a"], "Resource": "*"}});
        assert!(details(&text(&p), &v(q), "PolicyDocument", &[]).is_empty());
        // Not JSON on one side: the whole string.
        assert_eq!(
            details(&text(&doc(1)), &Value::string("{not json"), "B", &[]),
            [d("", "update", &serde_json::to_string(&doc(1).to_string()).unwrap(), r#""{not json""#)]
        );
    }

    #[test]
    fn scalars_compare_as_cloudformation_spells_them() {
        assert!(details(&v(json!({"a": 30, "b": true})), &v(json!({"a": "30", "b": "true"})), "P", &[]).is_empty());
        assert_eq!(
            details(&v(json!({"a": 30})), &v(json!({"a": "31"})), "P", &[]),
            [d("a", "update", "30", r#""31""#)]
        );
        assert_eq!(
            details(&v(json!([null])), &v(json!(["null"])), "P", &[]),
            [d("[0]", "update", "null", r#""null""#)]
        );
    }

    #[test]
    fn secrets_are_leaves_and_never_shown() {
        let m = |x: Value| Value::Map(BTreeMap::from([("Password".to_string(), x), ("User".to_string(), "u".into())]));
        let a = m(Value::secret("hunter2".into()));
        let b = m(Value::secret("hunter3".into()));
        assert_eq!(details(&a, &b, "P", &[]), [d("Password", "update", r#""[secret]""#, r#""[secret]""#)]);
        assert!(details(&a, &a.clone(), "P", &[]).is_empty());
        // A secret mapping is not looked into: its keys are not shown either.
        let s = |x: &str| Value::secret(v(json!({"inner-key": x})));
        let out = diff(&s("a"), &s("b"), "P", &[]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "");
        // A value that became secret.
        assert_eq!(details(&m("x".into()), &a, "P", &[]), [d("Password", "update", r#""x""#, r#""[secret]""#)]);
    }

    #[test]
    fn unknowns_are_updates() {
        let old = v(json!({"Arn": "arn:x", "Same": 1}));
        let new = Value::Map(BTreeMap::from([("Arn".to_string(), Value::Unknown), ("Same".to_string(), 1.into())]));
        assert_eq!(details(&old, &new, "P", &[]), [d("Arn", "update", r#""arn:x""#, r#""(known after up)""#)]);
        // In a set, an element holding an unknown matches nothing.
        let set_old = policy(json!([{"Effect": "Allow", "Action": "a", "Resource": "arn:x"}]));
        let mut stmt = BTreeMap::new();
        stmt.insert("Effect".to_string(), Value::from("Allow"));
        stmt.insert("Action".to_string(), Value::from("a"));
        stmt.insert("Resource".to_string(), Value::Unknown);
        let set_new = Value::Map(BTreeMap::from([
            ("Version".to_string(), Value::from("2012-10-17")),
            ("Statement".to_string(), Value::List(vec![Value::Map(stmt)])),
        ]));
        let kinds: Vec<&str> = details(&set_old, &set_new, "D", &[]).iter().map(|x| x.1).collect();
        assert_eq!(kinds, ["delete", "add"]);
    }

    #[test]
    fn property_level() {
        let one = v(json!(1));
        assert_eq!(property("P", None, Some(&one), &[])[0].kind, Kind::Add);
        assert_eq!(property("P", Some(&one), None, &[])[0].kind, Kind::Delete);
        let u = property("P", Some(&one), Some(&v(json!(2))), &[]);
        assert_eq!((u.len(), u[0].path.as_str(), u[0].kind), (1, "", Kind::Update));
        // Equal to the diff but changed to the caller: the whole value.
        let u = property("P", Some(&v(json!(["a", "b"]))), Some(&v(json!(["b", "a"]))), &["P".to_string()]);
        assert_eq!((u.len(), u[0].path.as_str(), u[0].kind), (1, "", Kind::Update));
        assert!(property("P", None, None, &[]).is_empty());
    }

    const SECRET: &str = "SECRET-PAYLOAD";

    /// Values over a small alphabet, so that equal parts are frequent.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..4).prop_map(Value::from),
            prop::sample::select(vec!["a", "b", "0", "1", "true", "*", "s3:GetObject"]).prop_map(Value::from),
            Just(Value::Unknown),
            Just(Value::secret(Value::from(SECRET))),
            Just(Value::string(r#"{"Statement":[{"Action":["a","b"]}]}"#)),
            Just(Value::string(r#"{"Statement":{"Action":"b"}}"#)),
            Just(Value::string(r#"[1, "a"]"#)),
        ];
        let keys = prop::sample::select(vec![
            "a",
            "b",
            "Statement",
            "Version",
            "Action",
            "Resource",
            "Principal",
            "AWS",
            "Tags",
        ]);
        leaf.prop_recursive(4, 48, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
                prop::collection::btree_map(keys.clone().prop_map(str::to_string), inner.clone(), 0..4)
                    .prop_map(Value::Map),
                inner.prop_map(|x| Value::secret(Value::List(vec![x, Value::from(SECRET)]))),
            ]
        })
    }

    /// `x` with its lists shuffled by `seed` (reversed or rotated).
    fn mutate(x: &Value, seed: u8) -> Value {
        match x {
            Value::List(l) => {
                let mut l: Vec<Value> = l.iter().map(|e| mutate(e, seed)).collect();
                if seed.is_multiple_of(2) {
                    l.reverse();
                } else if !l.is_empty() {
                    l.rotate_left(1);
                }
                Value::List(l)
            }
            Value::Map(m) => Value::Map(m.iter().map(|(k, e)| (k.clone(), mutate(e, seed))).collect()),
            other => other.clone(),
        }
    }

    fn unordered() -> Vec<String> {
        ["P.Tags", "P[*].Tags", "P"].iter().map(|s| s.to_string()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// No change exactly when the canonical keys agree.
        #[test]
        fn no_change_iff_same(a in value(), b in value()) {
            let u = unordered();
            prop_assert_eq!(diff(&a, &b, "P", &u).is_empty(), same(&a, &b, "P", &u));
            prop_assert_eq!(diff(&a, &a, "P", &u).is_empty(), !a.contains_unknown());
        }

        /// Shuffled lists: still consistent, and sameness is symmetric.
        #[test]
        fn shuffled(a in value(), seed in any::<u8>()) {
            let u = unordered();
            let b = mutate(&a, seed);
            prop_assert_eq!(diff(&a, &b, "P", &u).is_empty(), same(&a, &b, "P", &u));
            prop_assert_eq!(diff(&a, &b, "P", &u).is_empty(), diff(&b, &a, "P", &u).is_empty());
        }

        /// Every detail is a real change, and a secret never shows.
        #[test]
        fn details_are_changes_and_hide_secrets(a in value(), b in value()) {
            let u = unordered();
            for x in diff(&a, &b, "P", &u) {
                match (&x.kind, &x.old, &x.new) {
                    (Kind::Add, None, Some(_)) | (Kind::Delete, Some(_), None) => {}
                    // Compared with every list ordered, the two sides still differ.
                    (Kind::Update, Some(o), Some(n)) => prop_assert!(!same(o, n, "", &[]), "{:?}", x),
                    other => prop_assert!(false, "malformed detail {:?}", other),
                }
                let shown = format!(
                    "{} {} {}",
                    x.path,
                    x.old.as_ref().map(|v| v.to_display_json(false).to_string()).unwrap_or_default(),
                    x.new.as_ref().map(|v| v.to_display_json(false).to_string()).unwrap_or_default()
                );
                prop_assert!(!shown.contains(SECRET), "{}", shown);
            }
        }
    }
}
