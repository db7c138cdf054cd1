//! `AWS::ApiGateway::Deployment`: a snapshot of a REST API's resources and methods, which
//! a stage serves.
//!
//! | property | notes |
//! | --- | --- |
//! | `RestApiId` | the API, required, create-only; it must have a method with an integration |
//! | `Description` | string |
//!
//! Left out (refused by `check`): `StageName`, `StageDescription` and
//! `DeploymentCanarySettings` (the stage a deployment would make is declared as its own
//! `AWS::ApiGateway::Stage`, which names the deployment).
//!
//! - `Ref`: the deployment id.
//! - `Fn::GetAtt`: `DeploymentId`.
//!
//! `create` is one `CreateDeployment`, which snapshots the API as it is: the template
//! should make the deployment depend on the methods it deploys (`DependsOn`). As in
//! CloudFormation, a deployment is never redeployed in place: a changed `Description` is
//! one `UpdateDeployment` (`replace /description`), and a changed API is only deployed by a
//! new deployment (a new logical id, or a new `RestApiId`, which replaces). `delete` is
//! `DeleteDeployment`; API Gateway refuses to delete a deployment a stage serves, and the
//! stage depends on the deployment, so it is deleted first. Deployments carry no name
//! and no tags, so `find` adopts nothing: a create cut short by a crash leaves a
//! deployment that only `DeleteDeployment` by hand removes.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigateway::types::Op;
use cairn_core::provider::{ProviderError, ResourceData, Step};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{patch, rest_api_id_of, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGateway::Deployment";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAY_DEPLOYMENT, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the deployment id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    rest_api_id: String,
    description: Option<String>,
}

/// The `AWS::ApiGateway::Deployment` resource type.
pub struct Deployment;

impl Deployment {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Deployment> {
        Typed::new(Deployment, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([("DeploymentId".to_string(), Value::from(id))]),
    }
}

/// A support method for the fixtures of the deployment and the stage: an API can only be
/// deployed once it has a method with an integration.
pub(crate) fn fixture_support() -> serde_json::Map<String, Json> {
    let support = json!({
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "conf-deploy-{uid}"}},
        "OtherApi": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "conf-deploy-other-{uid}"}},
        "Ping": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "HttpMethod": "GET",
            "AuthorizationType": "NONE",
            "MethodResponses": [{"StatusCode": "200"}],
            "Integration": {
                "Type": "MOCK",
                "RequestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "IntegrationResponses": [{"StatusCode": "200"}]
            }
        }},
        "OtherPing": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "OtherApi"},
            "ResourceId": {"Fn::GetAtt": ["OtherApi", "RootResourceId"]},
            "HttpMethod": "GET",
            "AuthorizationType": "NONE",
            "Integration": {"Type": "MOCK", "RequestTemplates": {"application/json": "{\"statusCode\": 200}"}}
        }}
    });
    match support {
        Json::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

#[async_trait]
impl AwsType for Deployment {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let out = apigw
            .create_deployment()
            .rest_api_id(&p.rest_api_id)
            .set_description(p.description.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let id =
            out.id.ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateDeployment returned no id"))?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let api = rest_api_id_of(desired, TYPE_NAME, physical_id)?;
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let d = apigw.get_deployment().rest_api_id(api).deployment_id(physical_id).send().await.map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::from([("RestApiId".to_string(), json!(api))]);
        if let Some(s) = d.description.as_ref().filter(|s| !s.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(s));
        }
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw
            .update_deployment()
            .rest_api_id(&new.rest_api_id)
            .deployment_id(physical_id)
            .patch_operations(patch(Op::Replace, "/description", Some(new.description.clone().unwrap_or_default())))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw
            .delete_deployment()
            .rest_api_id(&p.rest_api_id)
            .deployment_id(physical_id)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    fn fixture(&self) -> Fixture {
        // The subject cannot carry `DependsOn`: its description names the method, so that
        // it is made after it.
        let create = json!({"RestApiId": {"Ref": "Api"}, "Description": {"Fn::Sub": "cairn conformance, ${Ping}"}});
        let update =
            json!({"RestApiId": {"Ref": "Api"}, "Description": {"Fn::Sub": "cairn conformance, updated, ${Ping}"}});
        let replace =
            json!({"RestApiId": {"Ref": "OtherApi"}, "Description": {"Fn::Sub": "cairn conformance, ${OtherPing}"}});
        Fixture {
            support: Json::Object(fixture_support()),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (`CreateDeployment`).
            partial_after: None,
            unverified: &[
                (
                    Step::Update,
                    "moto 5.2.5 has no UpdateDeployment (moto/apigateway/responses.py has no update_deployment: a PATCH of /restapis/{id}/deployments/{id} answers 500)",
                ),
                (
                    Step::Replace,
                    "moto 5.2.5 answers GetDeployment of a deleted deployment with a 500, not NotFoundException (RestAPI.get_deployment in moto/apigateway/models.py indexes a dict), so the old deployment cannot be read back as gone",
                ),
                (
                    Step::Gone,
                    "moto 5.2.5 answers GetDeployment of a deleted deployment with a 500, not NotFoundException (RestAPI.get_deployment in moto/apigateway/models.py indexes a dict)",
                ),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_an_api_and_a_description_only() {
        let t = Deployment::new(Aws::unconfigured());
        let p = t.parse(&json!({"RestApiId": "a1", "Description": "v1"})).unwrap();
        assert_eq!(p.description.as_deref(), Some("v1"));
        let e = t.parse(&json!({"RestApiId": "a1", "StageName": "v1"})).unwrap_err();
        assert!(e.message.starts_with("StageName: "), "{}", e.message);
    }
}
