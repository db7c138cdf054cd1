//! `AWS::ApiGatewayV2::Integration`: what a route of an API calls (a Lambda function, an
//! HTTP endpoint).
//!
//! | property | notes |
//! | --- | --- |
//! | `ApiId` | the API, required, create-only |
//! | `IntegrationType` | `AWS_PROXY` (Lambda), `HTTP_PROXY`, and for WebSocket APIs `AWS`, `HTTP`, `MOCK`; required |
//! | `IntegrationUri` | the Lambda function's ARN, or the HTTP endpoint's URL |
//! | `IntegrationMethod` | the HTTP method (`POST` for Lambda, which API Gateway sets when left out) |
//! | `PayloadFormatVersion` | `1.0` or `2.0` (required by API Gateway for a Lambda integration of an HTTP API) |
//! | `TimeoutInMillis` | 50 to 30000, default 30000 (29000 for `AWS` and `MOCK`) |
//! | `Description` | string |
//! | `CredentialsArn` | the role API Gateway assumes to call the target |
//! | `ConnectionType`, `ConnectionId` | `INTERNET` (default) or `VPC_LINK` and the VPC link's id |
//!
//! Left out (refused by `check`): `ContentHandlingStrategy`, `IntegrationSubtype`,
//! `PassthroughBehavior`, `RequestParameters`, `RequestTemplates`, `ResponseParameters`,
//! `TemplateSelectionExpression`, `TlsConfig`.
//!
//! - `Ref`: the integration id.
//! - `Fn::GetAtt`: `IntegrationId`.
//!
//! `create` is one `CreateIntegration`; `update` is one `UpdateIntegration` with every
//! setting (a removed description is sent empty, a removed timeout as its default); a new
//! `ApiId` replaces. `delete` is `DeleteIntegration`. An integration has no name and no tags
//! by which to tell it from another of the same API, so `find` adopts nothing: after a
//! crash between `CreateIntegration` and the journal's record of it, the integration it
//! made is left in the API (and deleted with it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewayv2::types::{ConnectionType, IntegrationType};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{api_id_of, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGatewayV2::Integration";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAYV2_INTEGRATION, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the integration id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    api_id: String,
    integration_type: String,
    integration_uri: Option<String>,
    integration_method: Option<String>,
    payload_format_version: Option<String>,
    timeout_in_millis: Option<i32>,
    description: Option<String>,
    credentials_arn: Option<String>,
    connection_type: Option<String>,
    connection_id: Option<String>,
}

impl Props {
    /// API Gateway's timeout when none is given.
    fn default_timeout(&self) -> i32 {
        match self.integration_type.as_str() {
            "AWS" | "MOCK" => 29000,
            _ => 30000,
        }
    }
}

/// The `AWS::ApiGatewayV2::Integration` resource type.
pub struct Integration;

impl Integration {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Integration> {
        Typed::new(Integration, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([("IntegrationId".to_string(), Value::from(id))]),
    }
}

#[async_trait]
impl AwsType for Integration {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let out = apigw
            .create_integration()
            .api_id(&p.api_id)
            .integration_type(IntegrationType::from(p.integration_type.as_str()))
            .set_integration_uri(p.integration_uri.clone())
            .set_integration_method(p.integration_method.clone())
            .set_payload_format_version(p.payload_format_version.clone())
            .set_timeout_in_millis(p.timeout_in_millis)
            .set_description(p.description.clone())
            .set_credentials_arn(p.credentials_arn.clone())
            .set_connection_type(p.connection_type.as_deref().map(ConnectionType::from))
            .set_connection_id(p.connection_id.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.integration_id.ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "CreateIntegration returned no integration id")
        })?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let api_id = api_id_of(desired, TYPE_NAME, physical_id)?;
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let i = apigw.get_integration().api_id(api_id).integration_id(physical_id).send().await.map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let kind = i.integration_type.as_ref().map(|t| t.as_str().to_string()).unwrap_or_default();
        let mut props =
            BTreeMap::from([("ApiId".to_string(), json!(api_id)), ("IntegrationType".to_string(), json!(kind))]);
        let mut put = |k: &str, v: Option<Json>| {
            if let Some(v) = v {
                props.insert(k.to_string(), v);
            }
        };
        put("IntegrationUri", i.integration_uri.as_ref().map(|u| json!(u)));
        // API Gateway sets `POST` for a Lambda integration that names no method.
        let method = i
            .integration_method
            .as_ref()
            .filter(|m| wants("IntegrationMethod") || !(kind == "AWS_PROXY" && *m == "POST"));
        put("IntegrationMethod", method.map(|m| json!(m)));
        let format = i.payload_format_version.as_ref().filter(|v| wants("PayloadFormatVersion") || *v != "1.0");
        put("PayloadFormatVersion", format.map(|v| json!(v)));
        let default_timeout = if matches!(kind.as_str(), "AWS" | "MOCK") { 29000 } else { 30000 };
        let timeout = i.timeout_in_millis.filter(|t| wants("TimeoutInMillis") || *t != default_timeout);
        put("TimeoutInMillis", timeout.map(|t| json!(t)));
        put("Description", i.description.as_ref().filter(|d| wants("Description") || !d.is_empty()).map(|d| json!(d)));
        put("CredentialsArn", i.credentials_arn.as_ref().map(|a| json!(a)));
        let connection =
            i.connection_type.as_ref().filter(|c| wants("ConnectionType") || **c != ConnectionType::Internet);
        put("ConnectionType", connection.map(|c| json!(c.as_str())));
        put("ConnectionId", i.connection_id.as_ref().map(|c| json!(c)));
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        // `UpdateIntegration` keeps what it is not sent: what the template no longer sets
        // goes back to API Gateway's default.
        let timeout = new.timeout_in_millis.or(old.timeout_in_millis.map(|_| new.default_timeout()));
        let description = new.description.clone().or(old.description.as_ref().map(|_| String::new()));
        apigw
            .update_integration()
            .api_id(&new.api_id)
            .integration_id(physical_id)
            .integration_type(IntegrationType::from(new.integration_type.as_str()))
            .set_integration_uri(new.integration_uri.clone())
            .set_integration_method(new.integration_method.clone())
            .set_payload_format_version(new.payload_format_version.clone())
            .set_timeout_in_millis(timeout)
            .set_description(description)
            .set_credentials_arn(new.credentials_arn.clone())
            .set_connection_type(new.connection_type.as_deref().map(ConnectionType::from))
            .set_connection_id(new.connection_id.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        apigw.delete_integration().api_id(&p.api_id).integration_id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    fn fixture(&self) -> Fixture {
        let api = json!({"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}});
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let function = json!({"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Exec", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return {'statusCode': 200}\n"}
        }});
        let create = json!({
            "ApiId": {"Ref": "First"},
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": ["Handler", "Arn"]},
            "PayloadFormatVersion": "2.0",
            "Description": "cairn conformance"
        });
        let update = json!({
            "ApiId": {"Ref": "First"},
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": ["Handler", "Arn"]},
            "IntegrationMethod": "POST",
            "PayloadFormatVersion": "1.0",
            "TimeoutInMillis": 10000,
            "Description": "cairn conformance, updated"
        });
        let mut replace = update.clone();
        replace["ApiId"] = json!({"Ref": "Second"});
        Fixture {
            support: json!({"First": api, "Second": api, "Exec": role, "Handler": function}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (`CreateIntegration`).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Integration::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_a_lambda_integration() {
        let p = parse(json!({
            "ApiId": "a1b2c3",
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "PayloadFormatVersion": "2.0",
            "TimeoutInMillis": "5000"
        }))
        .unwrap();
        assert_eq!(p.timeout_in_millis, Some(5000));
        assert_eq!(p.default_timeout(), 30000);
        let e = parse(json!({"IntegrationType": "AWS_PROXY"})).unwrap_err();
        assert_eq!(e.message, "ApiId: required property `ApiId` is missing");
        let e = parse(json!({"ApiId": "a", "IntegrationType": "HTTP_PROXY", "TlsConfig": {}})).unwrap_err();
        assert!(e.message.starts_with("TlsConfig: "), "{}", e.message);
    }
}
