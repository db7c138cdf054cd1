//! Typed properties: a type reads its CloudFormation properties into a `serde` struct
//! (CloudFormation names, `#[serde(rename_all = "PascalCase", deny_unknown_fields)]`), after
//! the values are coerced to the types the registry schema declares. A property the struct
//! does not take is refused with its path and the list of what the type takes there.
//!
//! ```ignore
//! #[derive(Deserialize)]
//! #[serde(rename_all = "PascalCase", deny_unknown_fields)]
//! struct Props {
//!     roles: Vec<String>,
//!     instance_profile_name: Option<String>,
//!     path: Option<String>,
//! }
//! let p: Props = kit::props::parse(&SPEC, properties)?;
//! ```

use cairn_core::provider::{ProviderError, TypeSchema};
use cairn_core::schema as paths;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

/// A property problem at a path (`LifecycleConfiguration.Rules[0].Status`; empty for the
/// whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropsError {
    pub path: String,
    pub message: String,
}

impl From<PropsError> for ProviderError {
    fn from(e: PropsError) -> ProviderError {
        let message = if e.path.is_empty() { e.message } else { format!("{}: {}", e.path, e.message) };
        ProviderError::with_code("InvalidRequest", message)
    }
}

/// Read `properties` into `P`: values coerced by the schema's declared scalar types
/// ([`coerce`]), then deserialised; the first problem is reported at its path.
pub fn parse<P: DeserializeOwned>(schema: &TypeSchema, properties: &Json) -> Result<P, PropsError> {
    let mut value = if properties.is_null() { Json::Object(Default::default()) } else { properties.clone() };
    coerce(schema, &mut value);
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(&value, &mut track);
    match P::deserialize(de) {
        Ok(p) => Ok(p),
        Err(e) => {
            let path = track.path();
            Err(located(schema, &value, &path, &e.to_string()))
        }
    }
}

/// Turn serde's message into cairn's: the path in CloudFormation's spelling, and for an
/// unknown property the properties the type takes at that place.
fn located(schema: &TypeSchema, value: &Json, path: &serde_path_to_error::Path, message: &str) -> PropsError {
    let mut at = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => at.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        // serde's path ends at the field.
        let field_path = if at.is_empty() { field.to_string() } else { at.clone() };
        // Known when the schema has it, or something below it (a mapping of scalars).
        let at_field = paths::schema_path_of(&field_path);
        let known_to_schema = !paths::is_nested(&field_path) && schema.properties.contains_key(field)
            || schema.scalar_types.keys().any(|p| paths::covers(&at_field, p))
            || schema.defaults.keys().chain(schema.unordered_lists.iter()).any(|p| paths::covers(&at_field, p));
        let mut message = if known_to_schema {
            format!("cairn does not support `{field}` of `{}` yet", schema.type_name)
        } else {
            format!("`{}` has no property `{field}` here", schema.type_name)
        };
        if let Some(h) = cairn_core::diag::did_you_mean(field, expected.iter().copied()) {
            message.push_str(&format!(" ({h})"));
        }
        if !expected.is_empty() {
            message.push_str(&format!("; it takes: {}", expected.join(", ")));
        }
        let _ = value;
        return PropsError { path: field_path, message };
    }
    if let Some(field) = message.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        let field_path = if at.is_empty() { field.to_string() } else { format!("{at}.{field}") };
        return PropsError { path: field_path, message: format!("required property `{field}` is missing") };
    }
    let message = message.split(" at line ").next().unwrap_or(message);
    PropsError { path: at, message: reword(message) }
}

/// serde's "invalid type: map, expected a sequence" in cairn's words: "expected a list,
/// found a mapping"; "unknown variant `On`, expected `Enabled` or `Suspended`" (a closed set
/// of strings, a Rust enum) as "expected `Enabled` or `Suspended`, found `On`".
fn reword(m: &str) -> String {
    if let Some((variant, wanted)) = m.strip_prefix("unknown variant ").and_then(|r| r.split_once(", expected ")) {
        return format!("expected {wanted}, found {variant}");
    }
    let Some((found, wanted)) = m.strip_prefix("invalid type: ").and_then(|r| r.split_once(", expected ")) else {
        return m.to_string();
    };
    let kind = |s: &str| -> String {
        match s {
            "map" | "a map" => "a mapping".into(),
            "sequence" | "a sequence" => "a list".into(),
            "i64" | "i32" | "u64" | "u32" | "an integer" => "an integer".into(),
            "f64" => "a number".into(),
            "a boolean" | "boolean" => "a boolean".into(),
            "null" | "unit value" => "nothing (null)".into(),
            s if s.starts_with("struct ") => "a mapping".into(),
            s if s.starts_with("string ") => format!("the string {}", &s[7..]),
            s if s.starts_with("integer ") || s.starts_with("floating point ") => {
                format!("the number {}", s.rsplit(' ').next().unwrap_or(s).trim_matches('`'))
            }
            s if s.starts_with("boolean ") => s.rsplit(' ').next().unwrap_or(s).trim_matches('`').to_string(),
            s => s.into(),
        }
    };
    format!("expected {}, found {}", kind(wanted), kind(found))
}

/// Coerce scalars to the types the schema declares at their paths, as CloudFormation does:
/// `"30"` where an integer is declared becomes `30`, `"true"` a boolean, and a number or a
/// boolean where a string is declared becomes its spelling. Anything else is left for the
/// typed read to refuse.
pub fn coerce(schema: &TypeSchema, v: &mut Json) {
    if let Json::Object(map) = v {
        for (k, child) in map.iter_mut() {
            coerce_at(schema, k, child);
        }
    }
}

fn coerce_at(schema: &TypeSchema, spath: &str, v: &mut Json) {
    match v {
        Json::Object(map) => {
            for (k, child) in map.iter_mut() {
                coerce_at(schema, &format!("{spath}.{k}"), child);
            }
        }
        Json::Array(items) => {
            let item_path = format!("{spath}[*]");
            for child in items {
                coerce_at(schema, &item_path, child);
            }
        }
        scalar => {
            let Some(ty) = schema.scalar_types.get(spath) else { return };
            let coerced =
                match (*ty, &*scalar) {
                    ("string", Json::Number(n)) => Some(Json::String(n.to_string())),
                    ("string", Json::Bool(b)) => Some(Json::String(b.to_string())),
                    ("integer", Json::String(s)) => s.trim().parse::<i64>().ok().map(Json::from),
                    ("number", Json::String(s)) => s.trim().parse::<i64>().map(Json::from).ok().or_else(|| {
                        s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Json::Number)
                    }),
                    ("boolean", Json::String(s)) if s.eq_ignore_ascii_case("true") => Some(Json::Bool(true)),
                    ("boolean", Json::String(s)) if s.eq_ignore_ascii_case("false") => Some(Json::Bool(false)),
                    _ => None,
                };
            if let Some(c) = coerced {
                *scalar = c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Rule {
        id: Option<String>,
        status: String,
        expiration_in_days: Option<i64>,
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Mode {
        Fast,
        Off,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Props {
        bucket_name: Option<String>,
        #[serde(default)]
        rules: Vec<Rule>,
        enabled: Option<bool>,
    }

    fn schema() -> TypeSchema {
        TypeSchema {
            type_name: "AWS::Test::Thing".into(),
            properties: [("BucketName", "string"), ("Rules", "array"), ("Enabled", "boolean"), ("Other", "string")]
                .into_iter()
                .map(|(k, t)| (k.to_string(), t))
                .collect(),
            scalar_types: [
                ("BucketName", "string"),
                ("Rules[*].Id", "string"),
                ("Rules[*].Status", "string"),
                ("Rules[*].ExpirationInDays", "integer"),
                ("Rules[*].Prefix", "string"),
                ("Rules[*].Window.Start", "string"),
                ("Enabled", "boolean"),
                ("Other", "string"),
            ]
            .into_iter()
            .map(|(k, t)| (k.to_string(), t))
            .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn values_are_coerced_to_the_schema_types() {
        let p: Props = parse(
            &schema(),
            &json!({"BucketName": 42, "Rules": [{"Id": 7, "Status": "Enabled", "ExpirationInDays": "30"}], "Enabled": "TRUE"}),
        )
        .unwrap();
        assert_eq!(p.bucket_name.as_deref(), Some("42"));
        assert_eq!(p.rules[0].expiration_in_days, Some(30));
        assert_eq!(p.rules[0].id.as_deref(), Some("7"));
        assert_eq!(p.enabled, Some(true));
        let p: Props = parse(&schema(), &Json::Null).unwrap();
        assert_eq!(p, Props { bucket_name: None, rules: vec![], enabled: None });
    }

    #[test]
    fn errors_name_the_path_and_what_the_type_takes() {
        let e = parse::<Props>(&schema(), &json!({"Rules": [{"Status": "Enabled"}, {"Status": "x", "Prefix": "a"}]}))
            .unwrap_err();
        assert_eq!(e.path, "Rules[1].Prefix");
        assert!(e.message.starts_with("cairn does not support `Prefix` of `AWS::Test::Thing` yet"), "{}", e.message);
        assert!(e.message.contains("it takes: Id, Status, ExpirationInDays"), "{}", e.message);
        let e = parse::<Props>(&schema(), &json!({"Rules": [{"Statu": "Enabled"}]})).unwrap_err();
        assert_eq!(e.path, "Rules[0].Statu");
        assert!(
            e.message.starts_with("`AWS::Test::Thing` has no property `Statu` here (did you mean `Status`?)"),
            "{}",
            e.message
        );
        // A mapping the schema has (something below it), that the type does not take.
        let e = parse::<Props>(&schema(), &json!({"Rules": [{"Status": "x", "Window": {}}]})).unwrap_err();
        assert_eq!(e.path, "Rules[0].Window");
        assert!(e.message.starts_with("cairn does not support `Window` of `AWS::Test::Thing` yet"), "{}", e.message);
        let e = parse::<Props>(&schema(), &json!({"Rules": [{"Status": "x", "Mode": "Slow"}]})).unwrap_err();
        assert_eq!((e.path.as_str(), e.message.as_str()), ("Rules[0].Mode", "expected `Fast` or `Off`, found `Slow`"));
        let e = parse::<Props>(&schema(), &json!({"Other": "x"})).unwrap_err();
        assert_eq!(e.path, "Other");
        assert!(e.message.contains("cairn does not support `Other`"), "{}", e.message);
        let e = parse::<Props>(&schema(), &json!({"Rules": [{"Id": "a"}]})).unwrap_err();
        assert_eq!((e.path.as_str(), e.message.as_str()), ("Rules[0].Status", "required property `Status` is missing"));
        let e =
            parse::<Props>(&schema(), &json!({"Rules": [{"Status": "a", "ExpirationInDays": "soon"}]})).unwrap_err();
        assert_eq!(e.path, "Rules[0].ExpirationInDays");
        assert_eq!(e.message, "expected an integer, found the string \"soon\"");
        let e = parse::<Props>(&schema(), &json!({"Rules": {"Status": "a"}})).unwrap_err();
        assert_eq!(e.path, "Rules");
        assert_eq!(e.message, "expected a list, found a mapping");
        let pe: ProviderError = e.into();
        assert!(pe.message.starts_with("Rules: "), "{}", pe.message);
    }
}
