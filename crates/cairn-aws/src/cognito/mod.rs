//! Amazon Cognito user pool resource types.

use serde_json::Value as Json;

pub mod user_pool;
pub mod user_pool_client;

/// `live` with only the members `desired` gives, recursively (objects by key, lists of the
/// same length element by element); what Cognito fills in that the template leaves out
/// does not show.
pub(crate) fn project(live: &Json, desired: &Json) -> Json {
    match (live, desired) {
        (Json::Object(l), Json::Object(d)) => Json::Object(
            d.iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, dv)| l.get(k).filter(|v| !v.is_null()).map(|lv| (k.clone(), project(lv, dv))))
                .collect(),
        ),
        (Json::Array(l), Json::Array(d)) if l.len() == d.len() => {
            Json::Array(l.iter().zip(d).map(|(lv, dv)| project(lv, dv)).collect())
        }
        _ => live.clone(),
    }
}
