//! Schema paths, and what the engine does with the schema facts that sit below the top
//! level ([`TypeSchema`]'s nested create-only, write-only and read-only paths, defaults,
//! set-like lists, enums and patterns).
//!
//! **Path syntax.** One syntax for every path in a [`TypeSchema`]: property names from the
//! top level joined with `.`, and `[*]` for the elements of a list: `BucketName`,
//! `Code.ZipFile`, `LifecycleConfiguration.Rules[*].Transition`. The registry schema's
//! JSON pointers (`/properties/A/*/C`) become `A[*].C` ([`from_pointer`]). A *concrete*
//! path names one place in a value, in [`crate::diff`]'s syntax: `[index]` for a list
//! element (`Rules[0].Status`), and a quoted index for an odd key (`Variables["a b"]`).
//! [`matches`] and [`covers`] compare a schema path with a concrete one (`[*]` matches any
//! index); [`values_at`] finds the values a schema path names in a value.
//!
//! **Comparison.** [`same_property`] is how the engine decides whether two values of one
//! top-level property mean the same (plan, refresh, read-back after a failed step): both
//! sides are first put in [`TypeSchema::canonical`] form (a value equal to its schema
//! default is left out, a set-like list is sorted), then compared, then handed to the
//! type's [`ResourceType::equivalent`]. [`same_as_live`] compares what cairn recorded with
//! what a `read` returned: it first drops the write-only paths (AWS never returns them) and
//! the nested read-only ones (the user never writes them).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde_json::Value as Json;

use crate::provider::{CheckFailure, ResourceType, TypeSchema};
use crate::value::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
    /// `[*]`: any element of a list (schema paths only).
    Any,
}

/// The steps of a path (schema or concrete). A malformed bracket is read as a key.
pub fn parse(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('[') {
            if let Some(r2) = r.strip_prefix("*]") {
                out.push(Seg::Any);
                rest = r2;
                continue;
            }
            if r.starts_with('"') {
                // A quoted key: a JSON string up to the closing `"]`.
                let mut de = serde_json::Deserializer::from_str(r).into_iter::<String>();
                if let Some(Ok(key)) = de.next() {
                    let used = de.byte_offset();
                    if let Some(r2) = r[used..].strip_prefix(']') {
                        out.push(Seg::Key(key));
                        rest = r2;
                        continue;
                    }
                }
            }
            if let Some(end) = r.find(']') {
                if let Ok(i) = r[..end].parse::<usize>() {
                    out.push(Seg::Index(i));
                    rest = &r[end + 1..];
                    continue;
                }
            }
        }
        let end = rest.find(['.', '[']).filter(|&e| e > 0).unwrap_or(rest.len());
        out.push(Seg::Key(rest[..end].to_string()));
        rest = &rest[end..];
    }
    out
}

/// A registry schema pointer (`/properties/A/*/C`) in the path syntax (`A[*].C`); `None`
/// for a pointer outside `/properties`.
pub fn from_pointer(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/properties/")?;
    let mut out = String::new();
    for part in rest.split('/') {
        if part == "*" {
            out.push_str("[*]");
        } else {
            let key = part.replace("~1", "/").replace("~0", "~");
            out = crate::diff::key_path(&out, &key);
        }
    }
    Some(out)
}

/// The top-level property a path starts with.
pub fn property_of(path: &str) -> String {
    match parse(path).into_iter().next() {
        Some(Seg::Key(k)) => k,
        _ => String::new(),
    }
}

/// The schema path of a concrete one: each `[index]` becomes `[*]` (`Rules[0].Status` gives
/// `Rules[*].Status`).
pub fn schema_path_of(concrete: &str) -> String {
    let mut out = String::new();
    for seg in parse(concrete) {
        match seg {
            Seg::Key(k) => out = join_key(&out, &k),
            Seg::Index(_) | Seg::Any => out.push_str("[*]"),
        }
    }
    out
}

/// Whether a path names something below its top-level property.
pub fn is_nested(path: &str) -> bool {
    parse(path).len() > 1
}

fn seg_matches(pattern: &Seg, seg: &Seg) -> bool {
    match (pattern, seg) {
        (Seg::Any, Seg::Index(_) | Seg::Any) => true,
        (a, b) => a == b,
    }
}

/// Whether the concrete `path` is the place the schema path `pattern` names.
pub fn matches(pattern: &str, path: &str) -> bool {
    let (p, c) = (parse(pattern), parse(path));
    p.len() == c.len() && p.iter().zip(&c).all(|(a, b)| seg_matches(a, b))
}

/// Whether the concrete `path` is at or below the place the schema path `pattern` names.
pub fn covers(pattern: &str, path: &str) -> bool {
    let (p, c) = (parse(pattern), parse(path));
    p.len() <= c.len() && p.iter().zip(&c).all(|(a, b)| seg_matches(a, b))
}

/// The values the schema path `pattern` names inside `properties` (a mapping of the
/// top-level properties), each with its concrete path.
pub fn values_at<'a>(pattern: &str, properties: &'a Json) -> Vec<(String, &'a Json)> {
    let mut out = Vec::new();
    collect(&parse(pattern), properties, String::new(), &mut out);
    out
}

fn collect<'a>(segs: &[Seg], v: &'a Json, path: String, out: &mut Vec<(String, &'a Json)>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push((path, v));
        return;
    };
    match (first, v) {
        (Seg::Key(k), Json::Object(m)) => {
            if let Some(x) = m.get(k).filter(|x| !x.is_null()) {
                collect(rest, x, crate::diff::key_path(&path, k), out);
            }
        }
        (Seg::Index(i), Json::Array(a)) => {
            if let Some(x) = a.get(*i) {
                collect(rest, x, crate::diff::index_path(&path, *i), out);
            }
        }
        (Seg::Any, Json::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                collect(rest, x, crate::diff::index_path(&path, i), out);
            }
        }
        _ => {}
    }
}

/// Remove what the schema path `segs` names from `v` (a mapping of top-level properties).
fn remove_at(segs: &[Seg], v: &mut Json) {
    match (segs, v) {
        ([Seg::Key(k)], Json::Object(m)) => {
            m.remove(k);
        }
        ([Seg::Key(k), rest @ ..], Json::Object(m)) => {
            if let Some(x) = m.get_mut(k) {
                remove_at(rest, x);
            }
        }
        ([Seg::Any, rest @ ..], Json::Array(a)) if !rest.is_empty() => {
            for x in a {
                remove_at(rest, x);
            }
        }
        ([Seg::Index(i), rest @ ..], Json::Array(a)) if !rest.is_empty() => {
            if let Some(x) = a.get_mut(*i) {
                remove_at(rest, x);
            }
        }
        _ => {}
    }
}

/// Put `value` at the concrete `path` of `v`, making the mappings on the way; nothing when
/// a list element on the way does not exist.
fn put_at(segs: &[Seg], v: &mut Json, value: Json) {
    let Some((first, rest)) = segs.split_first() else {
        *v = value;
        return;
    };
    match first {
        Seg::Key(k) => {
            if v.is_null() {
                *v = Json::Object(Default::default());
            }
            if let Json::Object(m) = v {
                put_at(rest, m.entry(k.clone()).or_insert(Json::Null), value);
            }
        }
        Seg::Index(i) => {
            if let Some(x) = v.as_array_mut().and_then(|a| a.get_mut(*i)) {
                put_at(rest, x, value);
            }
        }
        Seg::Any => {}
    }
}

/// Scalars as CloudFormation spells them (`30` and `"30"` are the same).
fn spelling(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn loose_scalar_eq(a: &Json, b: &Json) -> bool {
    match (spelling(a), spelling(b)) {
        (Some(x), Some(y)) => x == y || matches!((x.parse::<f64>(), y.parse::<f64>()), (Ok(p), Ok(q)) if p == q),
        _ => a == b,
    }
}

/// `v` with every scalar as its spelling (a sort key).
fn spelled(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), spelled(x))).collect()),
        Json::Array(a) => Json::Array(a.iter().map(spelled).collect()),
        other => spelling(other).map(Json::String).unwrap_or(Json::Null),
    }
}

fn join_key(spath: &str, key: &str) -> String {
    if spath.is_empty() {
        key.to_string()
    } else {
        format!("{spath}.{key}")
    }
}

impl TypeSchema {
    /// A top-level property's value in the form comparisons use: at every path, a value
    /// equal to the schema's `default` there is left out (the whole property becomes
    /// null), null keys are dropped, and the lists of [`TypeSchema::unordered_lists`] are
    /// sorted and their duplicates dropped (set-like lists).
    pub fn canonical(&self, property: &str, v: &Json) -> Json {
        let c = self.canon(property, v);
        if self.is_default(property, &c) {
            Json::Null
        } else {
            c
        }
    }

    fn canon(&self, spath: &str, v: &Json) -> Json {
        match v {
            Json::Object(m) => Json::Object(
                m.iter()
                    .filter(|(_, x)| !x.is_null())
                    .filter_map(|(k, x)| {
                        let sp = join_key(spath, k);
                        let c = self.canon(&sp, x);
                        (!self.is_default(&sp, &c)).then(|| (k.clone(), c))
                    })
                    .collect(),
            ),
            Json::Array(a) => {
                let sp = format!("{spath}[*]");
                let mut items: Vec<Json> = a.iter().map(|x| self.canon(&sp, x)).collect();
                if self.unordered_lists.iter().any(|u| u == spath) {
                    // Sorted by content with scalars in their spelling (`1` and `"1"` sort
                    // alike), duplicates dropped: a set.
                    items.sort_by_cached_key(|x| spelled(x).to_string());
                    items.dedup_by(|a, b| loose_eq(a, b));
                }
                Json::Array(items)
            }
            other => other.clone(),
        }
    }

    /// Whether `v` is the schema's default at the schema path `spath`.
    pub fn is_default(&self, spath: &str, v: &Json) -> bool {
        self.defaults.get(spath).is_some_and(|d| loose_scalar_eq(d, v))
    }

    /// Whether `property` (a top-level name) is write-only as a whole.
    pub fn is_write_only(&self, property: &str) -> bool {
        self.write_only.iter().any(|w| w == property)
    }

    /// The nested paths of `list` that start at `property`.
    fn nested<'a>(&self, list: &'a [String], property: &str) -> impl Iterator<Item = &'a String> {
        let property = property.to_string();
        list.iter().filter(move |p| is_nested(p) && property_of(p) == property)
    }

    /// `v` (a value of `property`) without what AWS never returns (its nested write-only
    /// paths) and what the user never writes (its nested read-only paths).
    pub fn comparable(&self, property: &str, v: &Json) -> Json {
        let mut whole = Json::Object([(property.to_string(), v.clone())].into_iter().collect());
        for p in self.nested(&self.write_only, property).chain(self.nested(&self.read_only, property)) {
            remove_at(&parse(p), &mut whole);
        }
        whole.as_object_mut().and_then(|m| m.remove(property)).unwrap_or(Json::Null)
    }

    /// `properties` (a mapping of top-level properties) without any write-only path: what a
    /// `read` gives back.
    pub fn without_write_only(&self, properties: &Json) -> Json {
        let mut out = properties.clone();
        for p in &self.write_only {
            remove_at(&parse(p), &mut out);
        }
        out
    }

    /// `live` (a value of `property` as `read` returns it) with the nested write-only
    /// values of `desired` put back: what to record when the rest of `live` differs.
    pub fn with_write_only(&self, property: &str, desired: &Json, live: &Json) -> Json {
        let d = Json::Object([(property.to_string(), desired.clone())].into_iter().collect());
        let mut out = Json::Object([(property.to_string(), live.clone())].into_iter().collect());
        for p in self.nested(&self.write_only, property) {
            for (path, v) in values_at(p, &d) {
                put_at(&parse(&path), &mut out, v.clone());
            }
        }
        out.as_object_mut().and_then(|m| m.remove(property)).unwrap_or(Json::Null)
    }

    /// The concrete create-only paths below `property` whose values differ between `old`
    /// and `new` (both as the provider receives them): the reason a change of a property
    /// that is not create-only as a whole forces replacement. Values are compared in
    /// [`TypeSchema::canonical`] form, as multisets per path (an element that moved inside
    /// a list forces nothing); the paths are those of the side that has the value.
    pub fn create_only_changes(&self, property: &str, old: Option<&Json>, new: Option<&Json>) -> Vec<String> {
        let wrap = |v: Option<&Json>| {
            let c = v.map(|v| self.canonical(property, v)).unwrap_or(Json::Null);
            Json::Object([(property.to_string(), c)].into_iter().collect())
        };
        let (o, n) = (wrap(old), wrap(new));
        let mut out = Vec::new();
        for c in self.nested(&self.create_only, property) {
            let mut olds = values_at(c, &o);
            let news = values_at(c, &n);
            for (path, v) in news {
                match olds.iter().position(|(_, x)| loose_eq(x, v)) {
                    Some(i) => {
                        olds.remove(i);
                    }
                    None => out.push(path),
                }
            }
            out.extend(olds.into_iter().map(|(p, _)| p));
        }
        out.sort();
        out.dedup();
        out
    }
}

fn loose_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| loose_eq(v, w)))
        }
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| loose_eq(a, b)),
        _ => loose_scalar_eq(a, b),
    }
}

/// Whether two values of the top-level `property` (as the provider receives them; `None`:
/// absent) mean the same: equal in [`TypeSchema::canonical`] form, or, both present, the
/// same to the type's [`ResourceType::equivalent`] (given the canonical forms).
pub fn same_property(t: &dyn ResourceType, property: &str, a: Option<&Json>, b: Option<&Json>) -> bool {
    let schema = t.schema();
    let ca = a.map(|v| schema.canonical(property, v)).unwrap_or(Json::Null);
    let cb = b.map(|v| schema.canonical(property, v)).unwrap_or(Json::Null);
    if ca == cb {
        return true;
    }
    if ca.is_null() || cb.is_null() {
        // One side absent (or at its default) and the other not: only a type that defines
        // what absent means may say they are the same.
        return a.is_some()
            && b.is_some()
            && t.equivalent(property, a.unwrap_or(&Json::Null), b.unwrap_or(&Json::Null));
    }
    t.equivalent(property, &ca, &cb)
}

/// [`same_property`] for what cairn recorded (`recorded`) against what `read` returned
/// (`live`), both without the paths AWS never returns ([`TypeSchema::comparable`]). A
/// property write-only as a whole is always the same.
pub fn same_as_live(t: &dyn ResourceType, property: &str, recorded: Option<&Json>, live: Option<&Json>) -> bool {
    let schema = t.schema();
    if schema.is_write_only(property) {
        return true;
    }
    let r = recorded.map(|v| schema.comparable(property, v));
    let l = live.map(|v| schema.comparable(property, v));
    same_property(t, property, r.as_ref(), l.as_ref())
}

/// Regexes of registry `pattern`s, compiled once. `None`: the pattern uses what the `regex`
/// crate does not support (look-around, back-references): not checked.
static PATTERNS: LazyLock<Mutex<HashMap<String, Option<regex::Regex>>>> = LazyLock::new(Default::default);

fn pattern_matches(pattern: &str, s: &str) -> bool {
    let mut cache = PATTERNS.lock().unwrap_or_else(|e| e.into_inner());
    let re = cache.entry(pattern.to_string()).or_insert_with(|| regex::Regex::new(&ecma_escapes(pattern)).ok());
    re.as_ref().is_none_or(|re| re.is_match(s))
}

/// A registry pattern (ECMA-262 syntax) with its `\uXXXX` escapes written as the `regex`
/// crate spells them (`\x{XXXX}`).
fn ecma_escapes(pattern: &str) -> String {
    static U: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\\u([0-9A-Fa-f]{4})").expect("valid regex"));
    U.replace_all(pattern, r"\x{$1}").into_owned()
}

/// The enum and pattern failures in `properties`, each at its concrete path. Unknown values
/// are skipped; a secret's value is never shown.
pub fn check_values(schema: &TypeSchema, properties: &Value) -> Vec<CheckFailure> {
    let mut out = Vec::new();
    if schema.enums.is_empty() && schema.patterns.is_empty() {
        return out;
    }
    if let Some(m) = properties.as_map() {
        for (k, v) in m {
            check_value(schema, k, k, v, false, &mut out);
        }
    }
    out
}

fn check_value(schema: &TypeSchema, spath: &str, path: &str, v: &Value, secret: bool, out: &mut Vec<CheckFailure>) {
    let secret = secret || matches!(v, Value::Secret(_));
    match v.reveal() {
        Value::Map(m) => {
            for (k, x) in m {
                check_value(schema, &join_key(spath, k), &crate::diff::key_path(path, k), x, secret, out);
            }
        }
        Value::List(l) => {
            let sp = format!("{spath}[*]");
            for (i, x) in l.iter().enumerate() {
                check_value(schema, &sp, &crate::diff::index_path(path, i), x, secret, out);
            }
        }
        Value::Unknown | Value::Null => {}
        scalar => {
            let Some(j) = scalar.to_json() else { return };
            let Some(s) = spelling(&j) else { return };
            let shown = if secret { "a secret value".to_string() } else { format!("`{s}`") };
            if let Some(allowed) = schema.enums.get(spath) {
                if !allowed.iter().any(|a| loose_scalar_eq(a, &j)) {
                    let list: Vec<String> =
                        allowed.iter().map(|a| format!("`{}`", spelling(a).unwrap_or_else(|| a.to_string()))).collect();
                    out.push(CheckFailure {
                        path: path.to_string(),
                        message: format!("expected one of {}, found {shown}", list.join(", ")),
                    });
                }
            }
            if let Some(p) = schema.patterns.get(spath) {
                if matches!(j, Json::String(_)) && !pattern_matches(p, &s) {
                    out.push(CheckFailure {
                        path: path.to_string(),
                        message: format!("{shown} does not match the pattern `{p}`"),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn paths_parse_match_and_cover() {
        assert_eq!(parse("A.B[*].C"), [Seg::Key("A".into()), Seg::Key("B".into()), Seg::Any, Seg::Key("C".into())]);
        assert_eq!(parse("A[3][\"x y\"]"), [Seg::Key("A".into()), Seg::Index(3), Seg::Key("x y".into())]);
        assert!(matches("A.B[*].C", "A.B[2].C"));
        assert!(!matches("A.B[*].C", "A.B[2]"));
        assert!(!matches("A.B[*].C", "A.B[2].D"));
        assert!(covers("A.B", "A.B[0].X"));
        assert!(covers("Code", "Code.ZipFile"));
        assert!(!covers("Code.ZipFile", "Code"));
        assert_eq!(from_pointer("/properties/A/*/C").as_deref(), Some("A[*].C"));
        assert_eq!(from_pointer("/properties/Code/ZipFile").as_deref(), Some("Code.ZipFile"));
        assert_eq!(from_pointer("/definitions/X"), None);
        assert_eq!(property_of("A.B[*].C"), "A");
        assert_eq!(schema_path_of("A.B[2].C[0]"), "A.B[*].C[*]");
        assert!(!is_nested("Tags") && is_nested("Tags[*].Key"));
    }

    #[test]
    fn values_at_finds_every_element() {
        let v = json!({"A": {"B": [{"C": 1}, {"D": 2}, {"C": 3}]}});
        let got: Vec<(String, Json)> = values_at("A.B[*].C", &v).into_iter().map(|(p, x)| (p, x.clone())).collect();
        assert_eq!(got, [("A.B[0].C".to_string(), json!(1)), ("A.B[2].C".to_string(), json!(3))]);
    }

    fn schema() -> TypeSchema {
        TypeSchema {
            type_name: "Test::Schema::Thing".into(),
            create_only: vec!["Name".into(), "Config.Engine".into(), "Rules[*].Kind".into()],
            write_only: vec!["Code.ZipFile".into(), "Password".into()],
            read_only: vec!["Arn".into(), "Config.Endpoint".into()],
            unordered_lists: vec!["Ids".into()],
            defaults: BTreeMap::from([("Config.Port".into(), json!(5432)), ("Path".into(), json!("/"))]),
            enums: BTreeMap::from([("Rules[*].Kind".into(), vec![json!("a"), json!("b")])]),
            patterns: BTreeMap::from([("Name".into(), "^[a-z]+$".into())]),
            ..Default::default()
        }
    }

    #[test]
    fn canonical_drops_defaults_and_sorts_sets() {
        let s = schema();
        assert_eq!(s.canonical("Path", &json!("/")), Json::Null);
        assert_eq!(s.canonical("Config", &json!({"Port": "5432", "Engine": "pg"})), json!({"Engine": "pg"}));
        assert_eq!(s.canonical("Ids", &json!(["b", "a", "b"])), json!(["a", "b"]));
        assert_eq!(s.canonical("Ids", &json!([2, "1"])), json!(["1", 2]));
        assert_eq!(s.canonical("Other", &json!(["b", "a"])), json!(["b", "a"]));
    }

    #[test]
    fn nested_create_only_changes_name_their_paths() {
        let s = schema();
        let c = |o: Json, n: Json| s.create_only_changes("Config", Some(&o), Some(&n));
        assert_eq!(c(json!({"Engine": "pg"}), json!({"Engine": "mysql"})), ["Config.Engine"]);
        assert!(c(json!({"Engine": "pg"}), json!({"Engine": "pg", "Port": 1})).is_empty());
        let r = |o: Json, n: Json| s.create_only_changes("Rules", Some(&o), Some(&n));
        // A moved element forces nothing; a changed or added one does.
        assert!(r(json!([{"Kind": "a"}, {"Kind": "b"}]), json!([{"Kind": "b"}, {"Kind": "a"}])).is_empty());
        assert_eq!(r(json!([{"Kind": "a"}]), json!([{"Kind": "a"}, {"Kind": "b"}])), ["Rules[1].Kind"]);
        assert_eq!(s.create_only_changes("Rules", None, Some(&json!([{"Kind": "a"}]))), ["Rules[0].Kind"]);
    }

    #[test]
    fn write_only_and_read_only_are_not_compared_with_aws() {
        let s = schema();
        let desired = json!({"ZipFile": "code", "Handler": "x"});
        assert_eq!(s.comparable("Code", &desired), json!({"Handler": "x"}));
        assert_eq!(s.comparable("Config", &json!({"Endpoint": "e", "Engine": "pg"})), json!({"Engine": "pg"}));
        let live = json!({"Handler": "y"});
        assert_eq!(s.with_write_only("Code", &desired, &live), json!({"Handler": "y", "ZipFile": "code"}));
    }

    #[test]
    fn registry_patterns_compile_with_their_unicode_escapes() {
        let path = r"^(\u002F)|(\u002F[\u0021-\u007E]+\u002F)$";
        assert_eq!(ecma_escapes(path), r"^(\x{002F})|(\x{002F}[\x{0021}-\x{007E}]+\x{002F})$");
        assert!(pattern_matches(path, "/"));
        assert!(pattern_matches(path, "/app/"));
        assert!(!pattern_matches(path, "app"));
    }

    #[test]
    fn enum_and_pattern_failures_are_located() {
        let s = schema();
        let props = Value::from_json(&json!({"Name": "UPPER", "Rules": [{"Kind": "a"}, {"Kind": "c"}]}));
        let f = check_values(&s, &props);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].path, "Name");
        assert_eq!(f[0].message, "`UPPER` does not match the pattern `^[a-z]+$`");
        assert_eq!(f[1].path, "Rules[1].Kind");
        assert_eq!(f[1].message, "expected one of `a`, `b`, found `c`");
        let secret = Value::Map(BTreeMap::from([("Name".to_string(), Value::secret(Value::string("X")))]));
        assert_eq!(check_values(&s, &secret)[0].message, "a secret value does not match the pattern `^[a-z]+$`");
    }
}
