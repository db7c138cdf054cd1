//! Amazon API Gateway v2 resource types (HTTP APIs): the API, and its integrations,
//! authorizers, routes and stages.
//!
//! An API's sub-resources are identified in AWS by the API's id and their own id (the
//! registry's `primaryIdentifier` is `[ApiId, IntegrationId]` and so on); CloudFormation's
//! `Ref` of each is its own id (or, for a stage, its name), so the physical id is that, and
//! the calls take the API's id from the resource's recorded `ApiId` (a create-only
//! property: a new API replaces the sub-resource).

use std::collections::{BTreeMap, HashMap};

use cairn_core::provider::ProviderError;
use serde_json::Value as Json;

use crate::kit::{tags, Cx};
use crate::util::sdk_error;

pub mod api;
pub mod authorizer;
pub mod integration;
pub mod route;
pub mod stage;

/// The error code API Gateway v2 answers for an API, or a part of one, that does not exist.
pub(crate) const NOT_FOUND: &[&str] = &["NotFoundException"];

/// The ARN that API Gateway's tagging calls take for an API (`/apis/{id}`) or a stage
/// (`/apis/{id}/stages/{name}`).
pub(crate) fn resource_arn(partition: &str, region: &str, path: &str) -> String {
    format!("arn:{partition}:apigateway:{region}::{path}")
}

/// The `ApiId` a sub-resource's recorded or desired properties name.
pub(crate) fn api_id_of<'a>(
    properties: &'a Json,
    type_name: &str,
    physical_id: &str,
) -> Result<&'a str, ProviderError> {
    properties.get("ApiId").and_then(Json::as_str).ok_or_else(|| {
        ProviderError::with_code(
            "InvalidRequest",
            format!(
                "{type_name} {physical_id} has no recorded `ApiId`, so it cannot be looked up; run `cairn refresh`"
            ),
        )
    })
}

/// Bring the tags of the API or stage at `arn` from `live` to `own` (merged with the
/// stack's and the ownership tags): `UntagResource` and `TagResource`, each only when needed.
pub(crate) async fn retag(
    cx: &Cx<'_>,
    apigw: &aws_sdk_apigatewayv2::Client,
    arn: &str,
    live: Option<HashMap<String, String>>,
    own: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let diff = cx.tag_update(&live.unwrap_or_default().into_iter().collect(), &tags::from_map(own));
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
