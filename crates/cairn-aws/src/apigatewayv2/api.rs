//! `AWS::ApiGatewayV2::Api`: an HTTP (or WebSocket) API.
//!
//! | property | notes |
//! | --- | --- |
//! | `Name` | string; generated when absent (128 characters) |
//! | `ProtocolType` | `HTTP` or `WEBSOCKET`, required (cairn imports no OpenAPI body), create-only |
//! | `Description` | string |
//! | `CorsConfiguration` | `{AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders, MaxAge, AllowCredentials}`, HTTP APIs only |
//! | `DisableExecuteApiEndpoint` | boolean, default false |
//! | `RouteSelectionExpression` | required for a WebSocket API (`$request.body.action`); an HTTP API's is `$request.method $request.path` |
//! | `ApiKeySelectionExpression` | `$request.header.x-api-key` (the default) or `$context.authorizer.usageIdentifierKey` |
//! | `Version` | string |
//! | `Tags` | a map of key to value (not a list), merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): the quick-create properties `Target`, `RouteKey` and
//! `CredentialsArn`; the OpenAPI import `Body`, `BodyS3Location`, `BasePath`,
//! `FailOnWarnings` and `DisableSchemaValidation`; `IpAddressType`.
//!
//! - `Ref`: the API id.
//! - `Fn::GetAtt`: `ApiId`, `ApiEndpoint` (`https://{id}.execute-api.{region}.amazonaws.com`),
//!   `ExecuteApiArn` (`arn:{partition}:execute-api:{region}:{account}:{id}`).
//!
//! `create` is one `CreateApi` (settings and tags). `update` is `UpdateApi` with every
//! setting; a `CorsConfiguration` removed from the template is `DeleteCorsConfiguration`
//! (`UpdateApi` leaves out what it is not sent); tags are compared with the live ones and
//! changed by `TagResource` and `UntagResource` on the API's ARN
//! (`arn:{partition}:apigateway:{region}::/apis/{id}`). A new `ProtocolType` replaces.
//! `delete` is `DeleteApi` (which deletes its routes, integrations, authorizers and stages
//! with it). API names need not be unique, so `find` lists the APIs (`GetApis`) and adopts
//! the one that carries this resource's ownership tags.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewayv2::types::{Cors as SdkCors, ProtocolType};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{resource_arn, NOT_FOUND};
use crate::kit::{ids, tags, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGatewayV2::Api";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAYV2_API, Some("Name"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the API id",
};

/// An HTTP API's route selection expression, the only one it takes.
const HTTP_ROUTE_SELECTION: &str = "$request.method $request.path";
/// The API key selection expression when none is given.
const DEFAULT_API_KEY_SELECTION: &str = "$request.header.x-api-key";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    name: Option<String>,
    protocol_type: Option<String>,
    description: Option<String>,
    cors_configuration: Option<Cors>,
    disable_execute_api_endpoint: Option<bool>,
    route_selection_expression: Option<String>,
    api_key_selection_expression: Option<String>,
    version: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Cors {
    allow_origins: Option<Vec<String>>,
    allow_methods: Option<Vec<String>>,
    allow_headers: Option<Vec<String>>,
    expose_headers: Option<Vec<String>>,
    max_age: Option<i32>,
    allow_credentials: Option<bool>,
}

impl Cors {
    fn sdk(&self) -> SdkCors {
        SdkCors::builder()
            .set_allow_origins(self.allow_origins.clone())
            .set_allow_methods(self.allow_methods.clone())
            .set_allow_headers(self.allow_headers.clone())
            .set_expose_headers(self.expose_headers.clone())
            .set_max_age(self.max_age)
            .set_allow_credentials(self.allow_credentials)
            .build()
    }
}

/// A live CORS configuration in the template's shape (members AWS does not return left out).
fn cors_json(c: &SdkCors) -> Json {
    let mut out = serde_json::Map::new();
    let mut list = |k: &str, v: &Option<Vec<String>>| {
        if let Some(v) = v {
            out.insert(k.to_string(), json!(v));
        }
    };
    list("AllowOrigins", &c.allow_origins);
    list("AllowMethods", &c.allow_methods);
    list("AllowHeaders", &c.allow_headers);
    list("ExposeHeaders", &c.expose_headers);
    if let Some(m) = c.max_age {
        out.insert("MaxAge".into(), json!(m));
    }
    if let Some(b) = c.allow_credentials {
        out.insert("AllowCredentials".into(), json!(b));
    }
    Json::Object(out)
}

impl Props {
    fn protocol(&self) -> &str {
        self.protocol_type.as_deref().unwrap_or_default()
    }
}

/// The `AWS::ApiGatewayV2::Api` resource type.
pub struct Api;

impl Api {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Api> {
        Typed::new(Api, aws)
    }
}

fn api_name(cx: &Cx<'_>, p: &Props) -> String {
    p.name
        .clone()
        .unwrap_or_else(|| cx.generated_name(128, false, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

fn api_arn(cx: &Cx<'_>, id: &str) -> String {
    resource_arn(&cx.ctx.partition, cx.region(), &format!("/apis/{id}"))
}

fn data(cx: &Cx<'_>, id: &str, endpoint: &str) -> ResourceData {
    let execute_arn = format!("arn:{}:execute-api:{}:{}:{id}", cx.ctx.partition, cx.region(), cx.ctx.account_id);
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([
            ("ApiId".to_string(), Value::from(id)),
            ("ApiEndpoint".to_string(), Value::from(endpoint)),
            ("ExecuteApiArn".to_string(), Value::from(execute_arn.as_str())),
        ]),
    }
}

#[async_trait]
impl AwsType for Api {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let err = |path: &str, message: &str| Err(PropsError { path: path.into(), message: message.into() });
        match p.protocol_type.as_deref() {
            None => err(
                "ProtocolType",
                "required: `HTTP` or `WEBSOCKET` (cairn does not import an OpenAPI `Body`, which would set it)",
            ),
            Some("HTTP") if p.route_selection_expression.as_deref().is_some_and(|e| e != HTTP_ROUTE_SELECTION) => err(
                "RouteSelectionExpression",
                "an HTTP API's route selection expression can only be `$request.method $request.path`; leave it out",
            ),
            Some("WEBSOCKET") if p.route_selection_expression.is_none() => {
                err("RouteSelectionExpression", "a WebSocket API needs one, such as `$request.body.action`")
            }
            Some("WEBSOCKET") if p.cors_configuration.is_some() => {
                err("CorsConfiguration", "only HTTP APIs take a CORS configuration; leave it out")
            }
            Some("HTTP" | "WEBSOCKET") => Ok(()),
            Some(other) => err("ProtocolType", &format!("expected `HTTP` or `WEBSOCKET`, found `{other}`")),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let out = apigw
            .create_api()
            .name(api_name(cx, p))
            .protocol_type(ProtocolType::from(p.protocol()))
            .set_description(p.description.clone())
            .set_cors_configuration(p.cors_configuration.as_ref().map(Cors::sdk))
            .set_disable_execute_api_endpoint(p.disable_execute_api_endpoint)
            .set_route_selection_expression(p.route_selection_expression.clone())
            .set_api_key_selection_expression(p.api_key_selection_expression.clone())
            .set_version(p.version.clone())
            .set_tags(Some(cx.tags(&tags::from_map(&p.tags)).into_iter().collect()))
            .send()
            .await
            .map_err(sdk_error)?;
        let id =
            out.api_id.ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateApi returned no API id"))?;
        Ok(data(cx, &id, out.api_endpoint.as_deref().unwrap_or_default()))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let a = apigw.get_api().api_id(physical_id).send().await.map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if let Some(n) = &a.name {
            props.insert("Name".to_string(), json!(n));
        }
        let protocol = a.protocol_type.as_ref().map(|t| t.as_str().to_string()).unwrap_or_default();
        props.insert("ProtocolType".to_string(), json!(protocol));
        if let Some(d) = a.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".to_string(), json!(d));
        }
        if let Some(c) = &a.cors_configuration {
            let c = cors_json(c);
            if c.as_object().is_some_and(|o| !o.is_empty()) || wants("CorsConfiguration") {
                props.insert("CorsConfiguration".to_string(), c);
            }
        }
        if let Some(d) = a.disable_execute_api_endpoint.filter(|d| *d || wants("DisableExecuteApiEndpoint")) {
            props.insert("DisableExecuteApiEndpoint".to_string(), json!(d));
        }
        if let Some(e) = a
            .route_selection_expression
            .as_ref()
            .filter(|e| protocol != "HTTP" || *e != HTTP_ROUTE_SELECTION || wants("RouteSelectionExpression"))
        {
            props.insert("RouteSelectionExpression".to_string(), json!(e));
        }
        if let Some(e) = a
            .api_key_selection_expression
            .as_ref()
            .filter(|e| *e != DEFAULT_API_KEY_SELECTION || wants("ApiKeySelectionExpression"))
        {
            props.insert("ApiKeySelectionExpression".to_string(), json!(e));
        }
        if let Some(v) = a.version.as_ref().filter(|v| !v.is_empty() || wants("Version")) {
            props.insert("Version".to_string(), json!(v));
        }
        let live_tags = a.tags.clone().unwrap_or_default().into_iter().collect();
        Ok(Some(Live {
            data: data(cx, physical_id, a.api_endpoint.as_deref().unwrap_or_default()),
            properties: props,
            tags: Some(live_tags),
        }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        // `UpdateApi` keeps what it is not sent: a removed description or version is sent
        // empty, a removed CORS configuration deleted below.
        let out = apigw
            .update_api()
            .api_id(physical_id)
            .name(api_name(cx, new))
            .description(new.description.clone().unwrap_or_default())
            .set_cors_configuration(new.cors_configuration.as_ref().map(Cors::sdk))
            .disable_execute_api_endpoint(new.disable_execute_api_endpoint.unwrap_or(false))
            .set_route_selection_expression(new.route_selection_expression.clone())
            .api_key_selection_expression(
                new.api_key_selection_expression.as_deref().unwrap_or(DEFAULT_API_KEY_SELECTION),
            )
            .set_version(new.version.clone().or_else(|| old.version.as_ref().map(|_| String::new())))
            .send()
            .await
            .map_err(sdk_error)?;
        if new.cors_configuration.is_none() && old.cors_configuration.is_some() {
            let deleted = apigw.delete_cors_configuration().api_id(physical_id).send().await.map_err(sdk_error);
            cx.found(deleted)?;
        }
        let arn = api_arn(cx, physical_id);
        let live = apigw.get_tags().resource_arn(&arn).send().await.map_err(sdk_error)?;
        super::retag(cx, &apigw, &arn, live.tags, &new.tags).await?;
        Ok(data(cx, physical_id, out.api_endpoint.as_deref().unwrap_or_default()))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        apigw.delete_api().api_id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let mut candidates = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = apigw.get_apis().set_next_token(token.take()).send().await.map_err(sdk_error)?;
            for a in page.items.unwrap_or_default() {
                if let Some(id) = a.api_id {
                    let endpoint = a.api_endpoint.unwrap_or_default();
                    candidates.push((id, endpoint, a.tags.unwrap_or_default().into_iter().collect::<BTreeMap<_, _>>()));
                }
            }
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        let owned = ids::owned(cx.ctx, candidates.iter().map(|(id, _, tags)| (id.clone(), tags.clone())))?;
        Ok(owned.and_then(|id| candidates.iter().find(|(i, _, _)| *i == id).map(|(i, e, _)| data(cx, i, e))))
    }

    fn fixture(&self) -> Fixture {
        let create = json!({
            "Name": "conf-api-{uid}",
            "ProtocolType": "HTTP",
            "Description": "cairn conformance",
            "CorsConfiguration": {
                "AllowOrigins": ["*"],
                "AllowMethods": ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                "AllowHeaders": ["Content-Type", "Authorization"],
                "ExposeHeaders": ["Content-Type"],
                "MaxAge": 300,
                "AllowCredentials": false
            },
            "Tags": {"Application": "conformance", "Environment": "create"}
        });
        let update = json!({
            "Name": "conf-api-{uid}-renamed",
            "ProtocolType": "HTTP",
            "Description": "cairn conformance, updated",
            "DisableExecuteApiEndpoint": true,
            "Tags": {"Application": "conformance", "Stage": "update"}
        });
        let replace = json!({
            "Name": "conf-api-{uid}-ws",
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": "$request.body.action",
            "Tags": {"Application": "conformance"}
        });
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // `CreateApi` makes it whole (settings and tags): nothing after.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Api::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_an_http_api_with_cors_and_map_tags() {
        let p = parse(json!({
            "Name": "kefir",
            "ProtocolType": "HTTP",
            "CorsConfiguration": {"AllowOrigins": ["*"], "MaxAge": "300", "AllowCredentials": false},
            "Tags": {"Environment": "dev"}
        }))
        .unwrap();
        let cors = p.cors_configuration.as_ref().unwrap();
        assert_eq!(cors.max_age, Some(300));
        assert_eq!(cors_json(&cors.sdk()), json!({"AllowOrigins": ["*"], "MaxAge": 300, "AllowCredentials": false}));
        assert_eq!(p.tags["Environment"], "dev");
    }

    #[test]
    fn refuses_what_an_api_cannot_take() {
        let e = parse(json!({"Name": "a"})).unwrap_err();
        assert!(e.message.starts_with("ProtocolType: required"), "{}", e.message);
        let e = parse(json!({"Name": "a", "ProtocolType": "WEBSOCKET"})).unwrap_err();
        assert!(e.message.starts_with("RouteSelectionExpression: a WebSocket API needs one"), "{}", e.message);
        let e = parse(json!({"ProtocolType": "HTTP", "RouteSelectionExpression": "$request.body.action"})).unwrap_err();
        assert!(e.message.starts_with("RouteSelectionExpression: an HTTP API"), "{}", e.message);
        let e = parse(json!({"ProtocolType": "HTTP", "Target": "arn:aws:lambda:us-east-1:123456789012:function:f"}))
            .unwrap_err();
        assert!(e.message.starts_with("Target: "), "{}", e.message);
        let e = parse(json!({"ProtocolType": "HTTP", "Tags": [{"Key": "a", "Value": "b"}]})).unwrap_err();
        assert!(e.message.starts_with("Tags"), "{}", e.message);
    }
}
