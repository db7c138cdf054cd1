//! Small helpers the types share: scalar spelling, loose comparison (SDK error mapping is in the cairn-aws-errors crate, shared with cairn-state;
//! everything else is in [`crate::kit`]).

pub(crate) use cairn_aws_errors::sdk_error;
use serde_json::Value as Json;

/// A scalar property as a string (numbers and booleans too, as CloudFormation passes them).
pub(crate) fn scalar_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
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
}
