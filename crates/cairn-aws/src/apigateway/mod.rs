//! Amazon API Gateway resource types (REST APIs, v1): the API, its resources and methods,
//! deployments and stages, and the account's CloudWatch role.
//!
//! A REST API's parts are identified in AWS by the API's id and their own id (the registry's
//! `primaryIdentifier` is `[RestApiId, ResourceId]` and so on); CloudFormation's `Ref` of a
//! resource or deployment is its own id, of a stage its name, so that is the physical id,
//! and the calls take the API's id from the recorded `RestApiId` (create-only: a new API
//! replaces the part). A method has no id of its own: its physical id is
//! `RestApiId|ResourceId|HttpMethod`.
//!
//! Updates are patch operations (`op`, `path`, `value`); [`patch`] builds them, and a path
//! segment holding `/` (a media type, a resource path) is escaped as `~1` ([`escape`]).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::types::{Op, PatchOperation};
use cairn_core::provider::ProviderError;
use serde_json::Value as Json;

use crate::kit::{Cx, Tag};
use crate::util::sdk_error;

pub mod account;
pub mod deployment;
pub mod method;
pub mod resource;
pub mod rest_api;
pub mod stage;

/// The error code API Gateway answers for an API, or a part of one, that does not exist.
pub(crate) const NOT_FOUND: &[&str] = &["NotFoundException"];

/// The ARN that API Gateway's tagging calls take for a REST API (`/restapis/{id}`) or a
/// stage (`/restapis/{id}/stages/{name}`).
pub(crate) fn resource_arn(cx: &Cx<'_>, path: &str) -> String {
    format!("arn:{}:apigateway:{}::{path}", cx.ctx.partition, cx.region())
}

/// The `RestApiId` a part's recorded or desired properties name.
pub(crate) fn rest_api_id_of<'a>(
    properties: &'a Json,
    type_name: &str,
    physical_id: &str,
) -> Result<&'a str, ProviderError> {
    properties.get("RestApiId").and_then(Json::as_str).ok_or_else(|| {
        ProviderError::with_code(
            "InvalidRequest",
            format!(
                "{type_name} {physical_id} has no recorded `RestApiId`, so it cannot be looked up; run `cairn refresh`"
            ),
        )
    })
}

/// One patch operation.
pub(crate) fn patch(op: Op, path: impl Into<String>, value: Option<String>) -> PatchOperation {
    PatchOperation::builder().op(op).path(path).set_value(value).build()
}

/// A key as one segment of a patch path: `~` as `~0`, `/` as `~1` (JSON pointer).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The patch operations that make the map at `path` (`/requestParameters`) go from `old` to
/// `new`: `add` for a new key, `replace` for a changed value, `remove` for a key gone.
pub(crate) fn map_patch(
    path: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    for (k, v) in new {
        match old.get(k) {
            None => ops.push(patch(Op::Add, format!("{path}/{}", escape(k)), Some(v.clone()))),
            Some(o) if o != v => ops.push(patch(Op::Replace, format!("{path}/{}", escape(k)), Some(v.clone()))),
            Some(_) => {}
        }
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        ops.push(patch(Op::Remove, format!("{path}/{}", escape(k)), None));
    }
    ops
}

/// A map of scalars (booleans of `RequestParameters`, strings of templates) as the strings
/// that API Gateway's patch operations take.
pub(crate) fn strings<V: ToString>(m: &BTreeMap<String, V>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
}

/// Bring the tags of the REST API or stage at `arn` from `live` to `own` (merged with the
/// stack's and the ownership tags): `UntagResource` and `TagResource`, each only when needed.
pub(crate) async fn retag(
    cx: &Cx<'_>,
    apigw: &aws_sdk_apigateway::Client,
    arn: &str,
    live: Option<HashMap<String, String>>,
    own: &[Tag],
) -> Result<(), ProviderError> {
    let diff = cx.tag_update(&live.unwrap_or_default().into_iter().collect(), own);
    diff.apply(
        |keys| async move {
            apigw.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
            Ok(())
        },
        |set| async move {
            let tags = set.into_iter().collect();
            apigw.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(sdk_error)?;
            Ok(())
        },
    )
    .await
}

/// The tags a new REST API or stage is made with, in the SDK's shape.
pub(crate) fn create_tags(cx: &Cx<'_>, own: &[Tag]) -> HashMap<String, String> {
    cx.tags(own).into_iter().collect()
}

/// A map of the SDK's as a sorted map.
pub(crate) fn sorted<V: Clone>(m: &Option<HashMap<String, V>>) -> BTreeMap<String, V> {
    m.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_patches_add_replace_and_remove_with_escaped_keys() {
        let old = BTreeMap::from([("a".to_string(), "1".to_string()), ("b/c".to_string(), "2".to_string())]);
        let new =
            BTreeMap::from([("a".to_string(), "9".to_string()), ("application/json".to_string(), "x".to_string())]);
        let ops: Vec<(String, String, Option<String>)> = map_patch("/responseTemplates", &old, &new)
            .into_iter()
            .map(|o| (o.op.unwrap().as_str().to_string(), o.path.unwrap(), o.value))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("replace".into(), "/responseTemplates/a".into(), Some("9".into())),
                ("add".into(), "/responseTemplates/application~1json".into(), Some("x".into())),
                ("remove".into(), "/responseTemplates/b~1c".into(), None),
            ]
        );
    }
}
