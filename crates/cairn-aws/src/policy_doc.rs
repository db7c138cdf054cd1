//! Policy documents (IAM and S3 bucket policies) compared by meaning.
//!
//! Two documents are [`equivalent`] when their canonical forms are equal. The canonical form:
//! - a document given as a string is parsed as JSON (IAM returns documents URL-encoded:
//!   [`parse`] decodes them first);
//! - key order does not matter;
//! - a single value and a one-element list are the same (`"Action": "s3:GetObject"` and
//!   `"Action": ["s3:GetObject"]`, also a single statement object and a one-statement list);
//! - order and repeats inside a list do not matter (IAM evaluates lists as sets);
//! - numbers and booleans equal their string spellings (`"aws:SecureTransport": false` and
//!   `"false"`);
//! - an AWS principal given as a 12-digit account id equals that account's root ARN;
//! - an absent `Version` is `2008-10-17`, the version AWS assumes.

use serde_json::{Map, Value as Json};

/// A document from a property (mapping or JSON string) or from AWS (maybe URL-encoded).
pub fn parse(v: &Json) -> Option<Json> {
    match v {
        Json::String(s) => {
            let text = if s.trim_start().starts_with('{') { s.clone() } else { percent_decode(s)? };
            serde_json::from_str(&text).ok()
        }
        Json::Object(_) => Some(v.clone()),
        _ => None,
    }
}

/// The document as AWS wants it: compact JSON text.
pub fn to_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => parse(v).map(|_| s.clone()),
        Json::Object(_) => serde_json::to_string(v).ok(),
        _ => None,
    }
}

/// A typed `PolicyDocument` property (`#[serde(deserialize_with = "policy_doc::text")]`): a
/// mapping or JSON text, read as the compact text AWS takes ([`to_text`]).
pub fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::Deserialize;
    to_text(&Json::deserialize(d)?)
        .ok_or_else(|| serde::de::Error::custom("expected a policy document (a mapping, or JSON text)"))
}

/// Whether two documents mean the same (see the module doc). Values that are not documents
/// are equal only when identical.
pub fn equivalent(a: &Json, b: &Json) -> bool {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => canonical(&x, None) == canonical(&y, None),
        _ => a == b,
    }
}

/// The canonical form (see the module doc). `key` is the key this value sits under.
pub fn canonical(v: &Json, key: Option<&str>) -> Json {
    match v {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&map[k], Some(k)));
            }
            if key.is_none() && !out.contains_key("Version") {
                out.insert("Version".into(), Json::String("2008-10-17".into()));
            }
            Json::Object(out)
        }
        Json::Array(items) => {
            let mut items: Vec<Json> = items.iter().map(|i| canonical(i, key)).collect();
            items.sort_by_key(|i| i.to_string());
            items.dedup();
            if items.len() == 1 {
                items.pop().unwrap_or(Json::Null)
            } else {
                Json::Array(items)
            }
        }
        Json::Number(n) => Json::String(n.to_string()),
        Json::Bool(b) => Json::String(b.to_string()),
        Json::String(s) if key == Some("AWS") => Json::String(account_root(s)),
        other => other.clone(),
    }
}

/// `arn:<partition>:iam::123456789012:root` and `123456789012` both become the account id.
fn account_root(s: &str) -> String {
    let is_account = |t: &str| t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() == 5 && parts[1] == "iam" && parts[2].is_empty() && is_account(parts[3]) && parts[4] == "root" {
            return parts[3].to_string();
        }
    }
    s.to_string()
}

/// Decode `%XX` escapes (RFC 3986; `+` stays `+`). `None` on a malformed escape or
/// non-UTF-8 result.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The live document in the user's spelling when the two mean the same.
pub fn prefer_desired(live: &Json, desired: Option<&Json>) -> Json {
    match desired {
        Some(d) if equivalent(live, d) => d.clone(),
        _ => parse(live).unwrap_or_else(|| live.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn order_and_singletons_do_not_matter() {
        let a = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"]}]
        });
        let b = json!({
            "Statement": {"Resource": "arn:aws:s3:::b/*", "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObject"], "Effect": "Allow"},
            "Version": "2012-10-17"
        });
        assert!(equivalent(&a, &b));
        let c = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]});
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn numbers_booleans_and_versions() {
        let a = json!({"Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": false}, "NumericLessThan": {"s3:max-keys": 10}}}]});
        let b = json!({"Version": "2008-10-17", "Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}, "NumericLessThan": {"s3:max-keys": "10"}}}]});
        assert!(equivalent(&a, &b));
        let c = json!({"Version": "2012-10-17", "Statement": b["Statement"].clone()});
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn strings_and_url_encoded_documents() {
        let obj = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let text = serde_json::to_string(&obj).unwrap();
        let encoded: String = text
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert!(equivalent(&obj, &Json::String(text)));
        assert!(equivalent(&Json::String(encoded.clone()), &obj));
        assert_eq!(parse(&Json::String(encoded)), Some(obj.clone()));
        assert_eq!(percent_decode("a%2Bb+c%7B"), Some("a+b+c{".to_string()));
        assert_eq!(percent_decode("bad%2"), None);
        assert!(!equivalent(&json!("not json"), &obj));
    }

    #[test]
    fn account_principals() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:GetObject", "Resource": "*"}]});
        let b = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": "*"}]});
        assert!(equivalent(&a, &b));
        let c = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/x"}, "Action": "s3:GetObject", "Resource": "*"}]});
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn prefer_desired_keeps_the_users_spelling() {
        let desired = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]});
        let live = Json::String(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#.into(),
        );
        assert_eq!(prefer_desired(&live, Some(&desired)), desired);
        let other = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(prefer_desired(&live, Some(&other)), parse(&live).unwrap());
    }
}
