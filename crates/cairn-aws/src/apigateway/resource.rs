//! `AWS::ApiGateway::Resource`: a path segment of a REST API (`batches`, `{batchId}`, the
//! greedy `{proxy+}`), under the API's root resource or another resource.
//!
//! | property | notes |
//! | --- | --- |
//! | `RestApiId` | the API, required, create-only |
//! | `ParentId` | the parent resource's id (the API's `RootResourceId` for a top-level path), required, create-only |
//! | `PathPart` | the segment, required, create-only: a name, a `{parameter}`, or `{parameter+}` for the rest of the path |
//!
//! - `Ref`: the resource id.
//! - `Fn::GetAtt`: `ResourceId`.
//!
//! `create` is one `CreateResource`. Every property is create-only: a change replaces.
//! `delete` is `DeleteResource` (which deletes its methods and child resources with it).
//! A path segment is unique under its parent, so `find` lists the API's resources
//! (`GetResources`) and adopts the one with this parent and segment.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{rest_api_id_of, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGateway::Resource";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAY_RESOURCE, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the resource id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    rest_api_id: String,
    parent_id: String,
    path_part: String,
}

/// The `AWS::ApiGateway::Resource` resource type.
pub struct Resource;

impl Resource {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Resource> {
        Typed::new(Resource, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([("ResourceId".to_string(), Value::from(id))]),
    }
}

/// Whether a path part is one API Gateway takes: letters, digits and `-._:~`, or one
/// `{name}` or `{name+}`, with no `/`.
fn valid_path_part(s: &str) -> bool {
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._:~@$&'*,;=!".contains(c));
    match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => plain(inner.strip_suffix('+').unwrap_or(inner)),
        None => plain(s),
    }
}

#[async_trait]
impl AwsType for Resource {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if !valid_path_part(&p.path_part) {
            return Err(PropsError {
                path: "PathPart".into(),
                message: format!(
                    "`{}` is not one path segment: write a name (`batches`), a parameter (`{{batchId}}`) or a greedy parameter (`{{proxy+}}`), without `/`",
                    p.path_part
                ),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let out = apigw
            .create_resource()
            .rest_api_id(&p.rest_api_id)
            .parent_id(&p.parent_id)
            .path_part(&p.path_part)
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.id.ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateResource returned no id"))?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let api = rest_api_id_of(desired, TYPE_NAME, physical_id)?;
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let r = apigw.get_resource().rest_api_id(api).resource_id(physical_id).send().await.map_err(sdk_error)?;
        let mut props = BTreeMap::from([("RestApiId".to_string(), json!(api))]);
        if let Some(parent) = &r.parent_id {
            props.insert("ParentId".into(), json!(parent));
        }
        if let Some(part) = &r.path_part {
            props.insert("PathPart".into(), json!(part));
        }
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        _cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        _new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        Err(ProviderError::new(format!(
            "resource {physical_id}: every property of `{TYPE_NAME}` is create-only, so it is replaced, never updated; this is a bug in cairn's plan, please report it"
        )))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw.delete_resource().rest_api_id(&p.rest_api_id).resource_id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let all =
            crate::kit::paging::all(apigw.get_resources().rest_api_id(&p.rest_api_id).into_paginator().items().send())
                .await?;
        Ok(all
            .into_iter()
            .find(|r| {
                r.parent_id.as_deref() == Some(p.parent_id.as_str())
                    && r.path_part.as_deref() == Some(p.path_part.as_str())
            })
            .and_then(|r| r.id)
            .map(|id| data(&id)))
    }

    fn fixture(&self) -> Fixture {
        let api = json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "conf-resource-{uid}"}});
        let create = json!({
            "RestApiId": {"Ref": "Api"},
            "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "PathPart": "{proxy+}"
        });
        let replace = json!({
            "RestApiId": {"Ref": "Api"},
            "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "PathPart": "batches"
        });
        Fixture {
            support: json!({"Api": api}),
            create,
            // Every property is create-only.
            update: None,
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (`CreateResource`).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Resource::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn takes_one_segment_greedy_or_not() {
        for part in ["{proxy+}", "batches", "{batchId}", "v1.2"] {
            parse(json!({"RestApiId": "a", "ParentId": "r", "PathPart": part})).unwrap();
        }
        for part in ["a/b", "", "{}", "{a+", "{a+}x"] {
            let e = parse(json!({"RestApiId": "a", "ParentId": "r", "PathPart": part})).unwrap_err();
            assert!(e.message.starts_with("PathPart: "), "{part}: {}", e.message);
        }
    }
}
