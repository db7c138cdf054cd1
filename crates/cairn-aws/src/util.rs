//! Helpers shared by the types: property access, loose comparison (SDK error mapping is
//! in the cairn-aws-errors crate, shared with cairn-state).

use std::collections::BTreeMap;

pub(crate) use cairn_aws_errors::sdk_error;
use cairn_core::provider::{CheckFailure, ProviderError, ResourceData, ResourceType};
use cairn_core::Value;
use serde_json::{Map, Value as Json};

/// Whether the error says the thing does not exist.
pub(crate) fn is_gone(err: &ProviderError, codes: &[&str]) -> bool {
    err.code.as_deref().is_some_and(|c| codes.contains(&c))
}

pub(crate) fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::with_code("InvalidRequest", message)
}

/// A scalar property as a string (numbers and booleans too, as CloudFormation passes them).
pub(crate) fn scalar_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn opt_str(props: &Json, key: &str) -> Result<Option<String>, ProviderError> {
    match props.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => scalar_string(v).map(Some).ok_or_else(|| invalid(format!("{key}: expected a string, found {v}"))),
    }
}

pub(crate) fn req_str(props: &Json, key: &str) -> Result<String, ProviderError> {
    opt_str(props, key)?.ok_or_else(|| invalid(format!("required property `{key}` is missing")))
}

pub(crate) fn opt_i32(props: &Json, key: &str) -> Result<Option<i32>, ProviderError> {
    match props.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => scalar_string(v)
            .and_then(|s| s.trim().parse::<i32>().ok())
            .map(Some)
            .ok_or_else(|| invalid(format!("{key}: expected an integer, found {v}"))),
    }
}

/// A list of strings (absent: empty).
pub(crate) fn str_list(props: &Json, key: &str) -> Result<Vec<String>, ProviderError> {
    match props.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| scalar_string(v).ok_or_else(|| invalid(format!("{key}: expected strings, found {v}"))))
            .collect(),
        Some(v) => Err(invalid(format!("{key}: expected a list of strings, found {v}"))),
    }
}

/// `Tags: [{Key, Value}]` as pairs, in order.
pub(crate) fn tag_list(props: &Json) -> Result<Vec<(String, String)>, ProviderError> {
    match props.get("Tags") {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|t| {
                let k = t.get("Key").and_then(scalar_string);
                let v = t.get("Value").and_then(scalar_string);
                match (k, v) {
                    (Some(k), Some(v)) => Ok((k, v)),
                    _ => Err(invalid(format!("Tags: each tag needs a Key and a Value, found {t}"))),
                }
            })
            .collect(),
        Some(v) => Err(invalid(format!("Tags: expected a list of {{Key, Value}}, found {v}"))),
    }
}

/// The user-visible `Tags` of a live resource: its tags without cairn's ownership tags and
/// without the stack's tags (unless the user's own `Tags` name them), in the user's order
/// and then by key. `None` when there is nothing to show and the user set no `Tags`.
pub(crate) fn visible_tags(
    live: &BTreeMap<String, String>,
    ctx: &cairn_core::provider::OpContext,
    desired: &Json,
) -> Option<Json> {
    let own = tag_list(desired).unwrap_or_default();
    let mut out: Vec<Json> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in &own {
        if let Some(v) = live.get(k) {
            if seen.insert(k.clone()) {
                out.push(serde_json::json!({"Key": k, "Value": v}));
            }
        }
    }
    for (k, v) in live {
        if seen.contains(k) || k.starts_with("cairn:") || ctx.stack_tags.get(k) == Some(v) {
            continue;
        }
        out.push(serde_json::json!({"Key": k, "Value": v}));
    }
    if out.is_empty() && desired.get("Tags").is_none() {
        None
    } else {
        Some(Json::Array(out))
    }
}

/// Equality where a number or boolean equals its string spelling (`30` and `"30"`), and a
/// key whose value is null equals an absent key.
pub(crate) fn loose_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> =
                x.iter().chain(y.iter()).filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect();
            keys.into_iter().all(|k| loose_eq(x.get(k).unwrap_or(&Json::Null), y.get(k).unwrap_or(&Json::Null)))
        }
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| loose_eq(a, b)),
        (Json::Null, Json::Null) => true,
        (Json::Null, _) | (_, Json::Null) => false,
        _ => match (scalar_string(a), scalar_string(b)) {
            (Some(x), Some(y)) => x == y || matches!((x.parse::<f64>(), y.parse::<f64>()), (Ok(p), Ok(q)) if p == q),
            _ => false,
        },
    }
}

/// Build `read`'s properties: each live value, but in the user's spelling when the two mean
/// the same (so that a read right after a write is byte-equal to the desired properties).
/// "The same" is the engine's comparison: schema defaults and set-like lists normalised,
/// then the type's `equivalent` ([`cairn_core::schema::same_property`]).
pub(crate) fn in_user_spelling(t: &dyn ResourceType, live: BTreeMap<String, Json>, desired: &Json) -> Json {
    let mut out = Map::new();
    for (k, v) in live {
        match desired.get(&k) {
            Some(d) if cairn_core::schema::same_property(t, &k, Some(&v), Some(d)) => out.insert(k, d.clone()),
            _ => out.insert(k, v),
        };
    }
    Json::Object(out)
}

/// `check` for types whose request building is pure: the schema check, then, when every
/// value is known, the same parsing `create` does.
pub(crate) fn check_by_parsing(
    t: &dyn ResourceType,
    properties: &Value,
    parse: impl Fn(&Json) -> Result<(), ProviderError>,
) -> Vec<CheckFailure> {
    let mut out = cairn_core::provider::check_against_schema(t.schema(), properties);
    if !out.is_empty() {
        return out;
    }
    let Some(props) = properties.reveal().to_json() else { return out };
    if let Err(e) = parse(&props) {
        let (path, message) = match e.message.split_once(": ") {
            Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
            _ => (String::new(), e.message.clone()),
        };
        out.push(CheckFailure { path, message });
    }
    out
}

/// Properties the schema knows but cairn does not implement yet, as a request error.
pub(crate) fn refuse_unsupported(props: &Json, supported: &[&str], type_name: &str) -> Result<(), ProviderError> {
    if let Json::Object(map) = props {
        for (k, v) in map {
            if !v.is_null() && !supported.contains(&k.as_str()) {
                return Err(invalid(format!("{k}: cairn does not support this property of `{type_name}` yet")));
            }
        }
    }
    Ok(())
}

pub(crate) fn data(physical_id: impl Into<String>, attributes: BTreeMap<String, Value>) -> ResourceData {
    ResourceData { physical_id: physical_id.into(), attributes }
}

/// A character IAM accepts in role, policy and instance profile names (`[\w+=,.@-]`).
pub(crate) fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn loose_eq_accepts_spellings() {
        assert!(loose_eq(&json!({"a": 30, "b": null}), &json!({"a": "30"})));
        assert!(loose_eq(&json!([true, 1.0]), &json!(["true", 1])));
        assert!(!loose_eq(&json!({"a": 30}), &json!({"a": 31})));
        assert!(!loose_eq(&json!({"a": 30}), &json!({})));
        assert!(!loose_eq(&json!([1]), &json!([1, 1])));
    }

    #[test]
    fn visible_tags_hide_ownership_and_stack_tags() {
        let ctx = crate::test_ctx("AWS::S3::Bucket", "Data");
        let live: BTreeMap<String, String> = [("cairn:stack", "dev"), ("Team", "data"), ("Owner", "me"), ("Cost", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let desired = json!({"Tags": [{"Key": "Owner", "Value": "me"}]});
        assert_eq!(
            visible_tags(&live, &ctx, &desired),
            Some(json!([{"Key": "Owner", "Value": "me"}, {"Key": "Cost", "Value": "1"}]))
        );
        // The user's own tag that repeats a stack tag stays visible.
        let desired = json!({"Tags": [{"Key": "Team", "Value": "data"}]});
        assert_eq!(
            visible_tags(&live, &ctx, &desired),
            Some(
                json!([{"Key": "Team", "Value": "data"}, {"Key": "Cost", "Value": "1"}, {"Key": "Owner", "Value": "me"}])
            )
        );
        let only_ours: BTreeMap<String, String> = [("cairn:stack".to_string(), "dev".to_string())].into();
        assert_eq!(visible_tags(&only_ours, &ctx, &json!({})), None);
    }
}
