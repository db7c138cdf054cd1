//! `AWS::ApiGateway::Method`: what a REST API does for one HTTP method of one resource
//! (`ANY /{proxy+}` to a Lambda function, a CORS `OPTIONS` answered by a mock).
//!
//! | property | notes |
//! | --- | --- |
//! | `RestApiId` | the API, required, create-only |
//! | `ResourceId` | the resource (`!Ref` an `AWS::ApiGateway::Resource`, or the API's `RootResourceId`), required, create-only |
//! | `HttpMethod` | `ANY`, `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` or `OPTIONS`, required, create-only |
//! | `AuthorizationType` | `NONE` (when absent), `AWS_IAM`, `CUSTOM`, `COGNITO_USER_POOLS` |
//! | `AuthorizerId`, `AuthorizationScopes` | for `CUSTOM` and `COGNITO_USER_POOLS` |
//! | `ApiKeyRequired` | boolean, default false |
//! | `OperationName` | string |
//! | `RequestParameters` | `method.request.{path,querystring,header}.{name}` to whether it is required |
//! | `RequestModels` | content type to model name |
//! | `MethodResponses` | `[{StatusCode, ResponseParameters, ResponseModels}]`: `ResponseParameters` maps `method.response.header.{name}` to whether it is required |
//! | `Integration` | `{Type, IntegrationHttpMethod, Uri, Credentials, RequestTemplates, RequestParameters, PassthroughBehavior, ContentHandling, TimeoutInMillis, IntegrationResponses}`; `Type` is `AWS_PROXY` (a Lambda function: `IntegrationHttpMethod: POST`, `Uri: arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations`), `AWS`, `HTTP`, `HTTP_PROXY` or `MOCK` |
//! | `Integration.IntegrationResponses` | `[{StatusCode, SelectionPattern, ResponseParameters, ResponseTemplates, ContentHandling}]`; each status code needs its method response |
//!
//! An empty template (`"application/json": ""`, common in CORS mocks) is refused by
//! `check`: API Gateway answers it as `null`, which aws-sdk-rust cannot read, so the method
//! could not be read or updated again; `{}` does the same for a mock.
//!
//! Left out (refused by `check`): `RequestValidatorId`; `Integration.CacheKeyParameters`,
//! `CacheNamespace`, `ConnectionType`, `ConnectionId`, `IntegrationTarget`,
//! `ResponseTransferMode`.
//!
//! - `Ref`: the registry's primary identifier, `RestApiId|ResourceId|HttpMethod` (a method
//!   has no id of its own), which is also the physical id.
//! - `Fn::GetAtt`: none.
//!
//! `create` is `PutMethod`, then `PutMethodResponse` for each method response,
//! `PutIntegration` and `PutIntegrationResponse` for each integration response (a failure
//! after `PutMethod` reports the method as made; the next `up` completes it). `update`
//! reads the method (`GetMethod`, which includes its responses and integration) and sends
//! only the differences, in an order API Gateway accepts: `UpdateMethod` with patch
//! operations for the method's settings (`replace /authorizationType`, `/apiKeyRequired`,
//! ...; `add`, `replace` and `remove /requestParameters/{name}` and `/requestModels/{type}`),
//! `PutMethodResponse` for a new status code and `UpdateMethodResponse` (patches of
//! `/responseParameters/...` and `/responseModels/...`) for a changed one; `PutIntegration`
//! when the integration itself changed (`DeleteIntegration` when it was removed), then
//! `PutIntegrationResponse` for each integration response that differs from what AWS then
//! holds and `DeleteIntegrationResponse` for those gone; last `DeleteMethodResponse` for
//! the method responses gone. A new API, resource or HTTP method replaces. `delete` is
//! `DeleteMethod` (its responses and integration go with it). A resource has one method per
//! HTTP method, so `find` adopts the method that `GetMethod` finds there.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigateway::operation::get_method::GetMethodOutput;
use aws_sdk_apigateway::types::{
    ContentHandlingStrategy, Integration as SdkIntegration, IntegrationResponse as SdkIntegrationResponse,
    IntegrationType, MethodResponse as SdkMethodResponse, Op, PatchOperation,
};
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{map_patch, patch, sorted, strings, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGateway::Method";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAY_METHOD, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the API, resource and HTTP method, `RestApiId|ResourceId|HttpMethod`",
};

const HTTP_METHODS: &[&str] = &["ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// An integration's timeout when none is set.
const DEFAULT_TIMEOUT: i32 = 29_000;
const DEFAULT_PASSTHROUGH: &str = "WHEN_NO_MATCH";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    rest_api_id: String,
    resource_id: String,
    http_method: String,
    authorization_type: Option<String>,
    authorizer_id: Option<String>,
    authorization_scopes: Option<Vec<String>>,
    api_key_required: Option<bool>,
    operation_name: Option<String>,
    #[serde(default)]
    request_parameters: BTreeMap<String, Json>,
    #[serde(default)]
    request_models: BTreeMap<String, String>,
    #[serde(default)]
    method_responses: Vec<MethodResponse>,
    integration: Option<Integration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct MethodResponse {
    status_code: String,
    #[serde(default)]
    response_parameters: BTreeMap<String, Json>,
    #[serde(default)]
    response_models: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Integration {
    #[serde(rename = "Type")]
    kind: String,
    integration_http_method: Option<String>,
    uri: Option<String>,
    credentials: Option<String>,
    #[serde(default)]
    request_templates: BTreeMap<String, String>,
    #[serde(default)]
    request_parameters: BTreeMap<String, String>,
    passthrough_behavior: Option<String>,
    content_handling: Option<String>,
    timeout_in_millis: Option<i32>,
    #[serde(default)]
    integration_responses: Vec<IntegrationResponse>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct IntegrationResponse {
    status_code: String,
    selection_pattern: Option<String>,
    #[serde(default)]
    response_parameters: BTreeMap<String, String>,
    #[serde(default)]
    response_templates: BTreeMap<String, String>,
    content_handling: Option<String>,
}

/// A map of parameter name to "required" (`true`, or CloudFormation's `"true"`).
fn flags(m: &BTreeMap<String, Json>, path: &str) -> Result<BTreeMap<String, bool>, PropsError> {
    m.iter()
        .map(|(k, v)| match crate::util::scalar_string(v).as_deref() {
            Some("true") => Ok((k.clone(), true)),
            Some("false") => Ok((k.clone(), false)),
            _ => Err(PropsError { path: format!("{path}.{k}"), message: "expected true or false".into() }),
        })
        .collect()
}

impl Props {
    fn authorization(&self) -> &str {
        self.authorization_type.as_deref().unwrap_or("NONE")
    }
}

/// The method a call addresses.
#[derive(Clone, Copy)]
struct Key<'a> {
    api: &'a str,
    resource: &'a str,
    method: &'a str,
}

impl<'a> Key<'a> {
    fn of(p: &'a Props) -> Self {
        Key { api: &p.rest_api_id, resource: &p.resource_id, method: &p.http_method }
    }

    /// The method of a physical id, `RestApiId|ResourceId|HttpMethod` (none of which holds a `|`).
    fn parse(physical_id: &'a str) -> Result<Self, ProviderError> {
        let mut parts = physical_id.splitn(3, '|');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(api), Some(resource), Some(method)) if !api.is_empty() && !resource.is_empty() => {
                Ok(Key { api, resource, method })
            }
            _ => Err(ProviderError::with_code(
                "InvalidRequest",
                format!("`{physical_id}` is not a method id (`RestApiId|ResourceId|HttpMethod`); run `cairn refresh`"),
            )),
        }
    }

    fn id(&self) -> String {
        format!("{}|{}|{}", self.api, self.resource, self.method)
    }
}

/// The `AWS::ApiGateway::Method` resource type.
pub struct Method;

impl Method {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Method> {
        Typed::new(Method, aws)
    }
}

fn data(key: Key<'_>) -> ResourceData {
    ResourceData { physical_id: key.id(), attributes: BTreeMap::new() }
}

fn non_empty<K: Ord + Clone + std::hash::Hash + Eq, V: Clone>(
    m: &BTreeMap<K, V>,
) -> Option<std::collections::HashMap<K, V>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Why an empty template is refused: API Gateway stores it as `null` and answers
/// `"application/json": null`, which aws-sdk-rust refuses to read ("dense map cannot contain
/// null values"), so neither `read` nor `update` could read the method again.
const EMPTY_TEMPLATE: &str = "API Gateway answers an empty template as null, which the AWS SDK cairn uses cannot read back (the method could not be read or updated again); write a template that is not empty, such as `{}`";

fn no_empty_template(templates: &BTreeMap<String, String>, path: &str) -> Result<(), PropsError> {
    match templates.iter().find(|(_, v)| v.trim().is_empty()) {
        Some((k, _)) => Err(PropsError { path: format!("{path}.{k}"), message: EMPTY_TEMPLATE.into() }),
        None => Ok(()),
    }
}

async fn put_method_response(
    apigw: &aws_sdk_apigateway::Client,
    key: Key<'_>,
    r: &MethodResponse,
) -> Result<(), ProviderError> {
    let params = flags(&r.response_parameters, "MethodResponses.ResponseParameters")?;
    apigw
        .put_method_response()
        .rest_api_id(key.api)
        .resource_id(key.resource)
        .http_method(key.method)
        .status_code(&r.status_code)
        .set_response_parameters(non_empty(&params))
        .set_response_models(non_empty(&r.response_models))
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

async fn put_integration(
    apigw: &aws_sdk_apigateway::Client,
    key: Key<'_>,
    i: &Integration,
) -> Result<(), ProviderError> {
    apigw
        .put_integration()
        .rest_api_id(key.api)
        .resource_id(key.resource)
        .http_method(key.method)
        .r#type(IntegrationType::from(i.kind.as_str()))
        .set_integration_http_method(i.integration_http_method.clone())
        .set_uri(i.uri.clone())
        .set_credentials(i.credentials.clone())
        .set_request_templates(non_empty(&i.request_templates))
        .set_request_parameters(non_empty(&i.request_parameters))
        .set_passthrough_behavior(i.passthrough_behavior.clone())
        .set_content_handling(i.content_handling.as_deref().map(ContentHandlingStrategy::from))
        .set_timeout_in_millis(i.timeout_in_millis)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

async fn put_integration_response(
    apigw: &aws_sdk_apigateway::Client,
    key: Key<'_>,
    r: &IntegrationResponse,
) -> Result<(), ProviderError> {
    apigw
        .put_integration_response()
        .rest_api_id(key.api)
        .resource_id(key.resource)
        .http_method(key.method)
        .status_code(&r.status_code)
        .set_selection_pattern(r.selection_pattern.clone())
        .set_response_parameters(non_empty(&r.response_parameters))
        .set_response_templates(non_empty(&r.response_templates))
        .set_content_handling(r.content_handling.as_deref().map(ContentHandlingStrategy::from))
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// Whether the integration's own settings (not its responses) differ from the live ones.
fn integration_differs(i: &Integration, live: &SdkIntegration) -> bool {
    let live_timeout = if live.timeout_in_millis == 0 { DEFAULT_TIMEOUT } else { live.timeout_in_millis };
    live.r#type.as_ref().map(IntegrationType::as_str) != Some(i.kind.as_str())
        || (i.integration_http_method.is_some() && live.http_method != i.integration_http_method)
        || live.uri != i.uri
        || live.credentials != i.credentials
        || sorted(&live.request_templates) != i.request_templates
        || sorted(&live.request_parameters) != i.request_parameters
        || live.passthrough_behavior.as_deref().unwrap_or(DEFAULT_PASSTHROUGH)
            != i.passthrough_behavior.as_deref().unwrap_or(DEFAULT_PASSTHROUGH)
        || live.content_handling.as_ref().map(ContentHandlingStrategy::as_str) != i.content_handling.as_deref()
        || live_timeout != i.timeout_in_millis.unwrap_or(DEFAULT_TIMEOUT)
}

fn integration_response_differs(r: &IntegrationResponse, live: &SdkIntegrationResponse) -> bool {
    live.selection_pattern.as_deref().unwrap_or_default() != r.selection_pattern.as_deref().unwrap_or_default()
        || sorted(&live.response_parameters) != r.response_parameters
        || sorted(&live.response_templates) != r.response_templates
        || live.content_handling.as_ref().map(ContentHandlingStrategy::as_str) != r.content_handling.as_deref()
}

/// The patch operations of `UpdateMethod` from the live method to `p`.
fn method_patch(live: &GetMethodOutput, p: &Props) -> Result<Vec<PatchOperation>, PropsError> {
    let mut ops = Vec::new();
    let mut replace = |path: &str, live: Option<String>, new: Option<String>| {
        if live != new {
            ops.push(patch(Op::Replace, path, new));
        }
    };
    replace("/authorizationType", live.authorization_type.clone(), Some(p.authorization().to_string()));
    if p.authorizer_id.is_some() || live.authorizer_id.is_some() {
        replace("/authorizerId", live.authorizer_id.clone(), p.authorizer_id.clone());
    }
    replace(
        "/apiKeyRequired",
        Some(live.api_key_required.unwrap_or(false).to_string()),
        Some(p.api_key_required.unwrap_or(false).to_string()),
    );
    let live_operation = live.operation_name.clone().filter(|o| !o.is_empty());
    if live_operation != p.operation_name {
        replace("/operationName", live_operation, Some(p.operation_name.clone().unwrap_or_default()));
    }
    let live_scopes = live.authorization_scopes.clone().unwrap_or_default();
    let scopes = p.authorization_scopes.clone().unwrap_or_default();
    for s in scopes.iter().filter(|s| !live_scopes.contains(s)) {
        ops.push(patch(Op::Add, "/authorizationScopes", Some(s.clone())));
    }
    for s in live_scopes.iter().filter(|s| !scopes.contains(s)) {
        ops.push(patch(Op::Remove, "/authorizationScopes", Some(s.clone())));
    }
    let params = strings(&flags(&p.request_parameters, "RequestParameters")?);
    ops.extend(map_patch("/requestParameters", &strings(&sorted(&live.request_parameters)), &params));
    ops.extend(map_patch("/requestModels", &sorted(&live.request_models), &p.request_models));
    Ok(ops)
}

/// The live method responses in the template's shape, in the template's order (AWS holds
/// them by status code), then any others by status code.
fn method_responses_json(live: &BTreeMap<String, SdkMethodResponse>, desired: Option<&Json>) -> Vec<Json> {
    let desired: Vec<&Json> = desired.and_then(Json::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let code_of = |d: &Json| d.get("StatusCode").and_then(crate::util::scalar_string);
    let mut codes: Vec<String> = desired.iter().filter_map(|d| code_of(d)).filter(|c| live.contains_key(c)).collect();
    codes.extend(live.keys().filter(|c| !codes.contains(c)).cloned().collect::<Vec<_>>());
    codes
        .iter()
        .map(|code| {
            let r = &live[code];
            let want = desired.iter().find(|d| code_of(d).as_deref() == Some(code.as_str()));
            let wants = |k: &str| want.and_then(|d| d.get(k)).is_some_and(|v| !v.is_null());
            let mut out = Map::from_iter([("StatusCode".to_string(), json!(code))]);
            let params = sorted(&r.response_parameters);
            if !params.is_empty() || wants("ResponseParameters") {
                out.insert("ResponseParameters".into(), json!(params));
            }
            let models = sorted(&r.response_models);
            if !models.is_empty() || wants("ResponseModels") {
                out.insert("ResponseModels".into(), json!(models));
            }
            Json::Object(out)
        })
        .collect()
}

/// The live integration in the template's shape: members at API Gateway's defaults only
/// where the template sets them.
fn integration_json(i: &SdkIntegration, desired: Option<&Json>) -> Json {
    let wants = |k: &str| desired.and_then(|d| d.get(k)).is_some_and(|v| !v.is_null());
    let mut out = Map::new();
    if let Some(t) = &i.r#type {
        out.insert("Type".into(), json!(t.as_str()));
    }
    if let Some(m) = &i.http_method {
        out.insert("IntegrationHttpMethod".into(), json!(m));
    }
    if let Some(u) = &i.uri {
        out.insert("Uri".into(), json!(u));
    }
    if let Some(c) = &i.credentials {
        out.insert("Credentials".into(), json!(c));
    }
    let templates = sorted(&i.request_templates);
    if !templates.is_empty() || wants("RequestTemplates") {
        out.insert("RequestTemplates".into(), json!(templates));
    }
    let params = sorted(&i.request_parameters);
    if !params.is_empty() || wants("RequestParameters") {
        out.insert("RequestParameters".into(), json!(params));
    }
    if let Some(b) =
        i.passthrough_behavior.as_ref().filter(|b| *b != DEFAULT_PASSTHROUGH || wants("PassthroughBehavior"))
    {
        out.insert("PassthroughBehavior".into(), json!(b));
    }
    if let Some(c) = &i.content_handling {
        out.insert("ContentHandling".into(), json!(c.as_str()));
    }
    let timeout = if i.timeout_in_millis == 0 { DEFAULT_TIMEOUT } else { i.timeout_in_millis };
    if timeout != DEFAULT_TIMEOUT || wants("TimeoutInMillis") {
        out.insert("TimeoutInMillis".into(), json!(timeout));
    }
    let live = sorted(&i.integration_responses);
    if !live.is_empty() || wants("IntegrationResponses") {
        let desired: Vec<&Json> = desired
            .and_then(|d| d.get("IntegrationResponses"))
            .and_then(Json::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let code_of = |d: &Json| d.get("StatusCode").and_then(crate::util::scalar_string);
        let mut codes: Vec<String> =
            desired.iter().filter_map(|d| code_of(d)).filter(|c| live.contains_key(c)).collect();
        codes.extend(live.keys().filter(|c| !codes.contains(c)).cloned().collect::<Vec<_>>());
        let responses: Vec<Json> = codes
            .iter()
            .map(|code| {
                let r = &live[code];
                let want = desired.iter().find(|d| code_of(d).as_deref() == Some(code.as_str()));
                let wants = |k: &str| want.and_then(|d| d.get(k)).is_some_and(|v| !v.is_null());
                let mut o = Map::from_iter([("StatusCode".to_string(), json!(code))]);
                if let Some(s) = r.selection_pattern.as_ref().filter(|s| !s.is_empty() || wants("SelectionPattern")) {
                    o.insert("SelectionPattern".into(), json!(s));
                }
                let params = sorted(&r.response_parameters);
                if !params.is_empty() || wants("ResponseParameters") {
                    o.insert("ResponseParameters".into(), json!(params));
                }
                let templates = sorted(&r.response_templates);
                if !templates.is_empty() || wants("ResponseTemplates") {
                    o.insert("ResponseTemplates".into(), json!(templates));
                }
                if let Some(c) = &r.content_handling {
                    o.insert("ContentHandling".into(), json!(c.as_str()));
                }
                Json::Object(o)
            })
            .collect();
        out.insert("IntegrationResponses".into(), Json::Array(responses));
    }
    Json::Object(out)
}

#[async_trait]
impl AwsType for Method {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let err = |path: &str, message: String| Err(PropsError { path: path.into(), message });
        if !HTTP_METHODS.contains(&p.http_method.as_str()) {
            return err(
                "HttpMethod",
                format!("expected one of {}, found `{}`", HTTP_METHODS.join(", "), p.http_method),
            );
        }
        flags(&p.request_parameters, "RequestParameters")?;
        let mut codes = std::collections::BTreeSet::new();
        for (n, r) in p.method_responses.iter().enumerate() {
            flags(&r.response_parameters, &format!("MethodResponses[{n}].ResponseParameters"))?;
            if !codes.insert(r.status_code.as_str()) {
                return err(
                    &format!("MethodResponses[{n}].StatusCode"),
                    format!("status code {} appears twice", r.status_code),
                );
            }
        }
        let needs_authorizer = matches!(p.authorization(), "CUSTOM" | "COGNITO_USER_POOLS");
        if needs_authorizer != p.authorizer_id.is_some() {
            return err(
                "AuthorizerId",
                "a method with `AuthorizationType: CUSTOM` or `COGNITO_USER_POOLS` names its authorizer, and only such a method does".into(),
            );
        }
        if let Some(i) = &p.integration {
            if i.kind != "MOCK" && (i.uri.is_none() || i.integration_http_method.is_none()) {
                return err(
                    "Integration",
                    format!(
                        "a `{}` integration needs `Uri` and `IntegrationHttpMethod` (`POST` for a Lambda function)",
                        i.kind
                    ),
                );
            }
            no_empty_template(&i.request_templates, "Integration.RequestTemplates")?;
            for (n, r) in i.integration_responses.iter().enumerate() {
                no_empty_template(
                    &r.response_templates,
                    &format!("Integration.IntegrationResponses[{n}].ResponseTemplates"),
                )?;
                if !codes.contains(r.status_code.as_str()) {
                    return err(
                        &format!("Integration.IntegrationResponses[{n}].StatusCode"),
                        format!(
                            "API Gateway needs a method response for status code {}; add it to `MethodResponses`",
                            r.status_code
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let key = Key::of(p);
        let params = flags(&p.request_parameters, "RequestParameters")?;
        apigw
            .put_method()
            .rest_api_id(key.api)
            .resource_id(key.resource)
            .http_method(key.method)
            .authorization_type(p.authorization())
            .set_authorizer_id(p.authorizer_id.clone())
            .set_authorization_scopes(p.authorization_scopes.clone())
            .set_api_key_required(p.api_key_required)
            .set_operation_name(p.operation_name.clone())
            .set_request_parameters(non_empty(&params))
            .set_request_models(non_empty(&p.request_models))
            .send()
            .await
            .map_err(sdk_error)?;
        cx.created(&key.id(), async {
            for r in &p.method_responses {
                put_method_response(&apigw, key, r).await?;
            }
            if let Some(i) = &p.integration {
                put_integration(&apigw, key, i).await?;
                for r in &i.integration_responses {
                    put_integration_response(&apigw, key, r).await?;
                }
            }
            Ok(())
        })
        .await?;
        Ok(data(key))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let key = Key::parse(physical_id)?;
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let m = apigw
            .get_method()
            .rest_api_id(key.api)
            .resource_id(key.resource)
            .http_method(key.method)
            .send()
            .await
            .map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::from([
            ("RestApiId".to_string(), json!(key.api)),
            ("ResourceId".to_string(), json!(key.resource)),
            ("HttpMethod".to_string(), json!(m.http_method.as_deref().unwrap_or(key.method))),
        ]);
        if let Some(a) = m.authorization_type.as_ref().filter(|a| *a != "NONE" || wants("AuthorizationType")) {
            props.insert("AuthorizationType".into(), json!(a));
        }
        if let Some(a) = &m.authorizer_id {
            props.insert("AuthorizerId".into(), json!(a));
        }
        if let Some(s) = m.authorization_scopes.as_ref().filter(|s| !s.is_empty() || wants("AuthorizationScopes")) {
            props.insert("AuthorizationScopes".into(), json!(s));
        }
        if let Some(k) = m.api_key_required.filter(|k| *k || wants("ApiKeyRequired")) {
            props.insert("ApiKeyRequired".into(), json!(k));
        }
        if let Some(o) = m.operation_name.as_ref().filter(|o| !o.is_empty() || wants("OperationName")) {
            props.insert("OperationName".into(), json!(o));
        }
        let params = sorted(&m.request_parameters);
        if !params.is_empty() || wants("RequestParameters") {
            props.insert("RequestParameters".into(), json!(params));
        }
        let models = sorted(&m.request_models);
        if !models.is_empty() || wants("RequestModels") {
            props.insert("RequestModels".into(), json!(models));
        }
        let responses = sorted(&m.method_responses);
        if !responses.is_empty() || wants("MethodResponses") {
            props.insert(
                "MethodResponses".into(),
                json!(method_responses_json(&responses, desired.get("MethodResponses"))),
            );
        }
        if let Some(i) = &m.method_integration {
            props.insert("Integration".into(), integration_json(i, desired.get("Integration")));
        }
        Ok(Some(Live { data: data(key), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let key = Key::parse(physical_id)?;
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let get = || apigw.get_method().rest_api_id(key.api).resource_id(key.resource).http_method(key.method).send();
        let live = get().await.map_err(sdk_error)?;
        let ops = method_patch(&live, new)?;
        if !ops.is_empty() {
            apigw
                .update_method()
                .rest_api_id(key.api)
                .resource_id(key.resource)
                .http_method(key.method)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        // Method responses first: an integration response needs its method response.
        let live_responses = sorted(&live.method_responses);
        for r in &new.method_responses {
            match live_responses.get(&r.status_code) {
                None => put_method_response(&apigw, key, r).await?,
                Some(l) => {
                    let params = strings(&flags(&r.response_parameters, "MethodResponses.ResponseParameters")?);
                    let mut ops = map_patch("/responseParameters", &strings(&sorted(&l.response_parameters)), &params);
                    ops.extend(map_patch("/responseModels", &sorted(&l.response_models), &r.response_models));
                    if !ops.is_empty() {
                        apigw
                            .update_method_response()
                            .rest_api_id(key.api)
                            .resource_id(key.resource)
                            .http_method(key.method)
                            .status_code(&r.status_code)
                            .set_patch_operations(Some(ops))
                            .send()
                            .await
                            .map_err(sdk_error)?;
                    }
                }
            }
        }
        match (&new.integration, &live.method_integration) {
            (None, Some(_)) => {
                let deleted = apigw
                    .delete_integration()
                    .rest_api_id(key.api)
                    .resource_id(key.resource)
                    .http_method(key.method)
                    .send();
                cx.found(deleted.await.map_err(sdk_error))?;
            }
            (None, None) => {}
            (Some(i), live_integration) => {
                let mut live_integration = live_integration.clone();
                if live_integration.as_ref().is_none_or(|l| integration_differs(i, l)) {
                    put_integration(&apigw, key, i).await?;
                    // What a new integration kept of the old one's responses.
                    live_integration = get().await.map_err(sdk_error)?.method_integration;
                }
                let live_responses =
                    live_integration.as_ref().map(|l| sorted(&l.integration_responses)).unwrap_or_default();
                for r in &i.integration_responses {
                    if live_responses.get(&r.status_code).is_none_or(|l| integration_response_differs(r, l)) {
                        put_integration_response(&apigw, key, r).await?;
                    }
                }
                for code in
                    live_responses.keys().filter(|c| !i.integration_responses.iter().any(|r| &r.status_code == *c))
                {
                    let deleted = apigw
                        .delete_integration_response()
                        .rest_api_id(key.api)
                        .resource_id(key.resource)
                        .http_method(key.method)
                        .status_code(code)
                        .send();
                    cx.found(deleted.await.map_err(sdk_error))?;
                }
            }
        }
        for code in live_responses.keys().filter(|c| !new.method_responses.iter().any(|r| &r.status_code == *c)) {
            let deleted = apigw
                .delete_method_response()
                .rest_api_id(key.api)
                .resource_id(key.resource)
                .http_method(key.method)
                .status_code(code)
                .send();
            cx.found(deleted.await.map_err(sdk_error))?;
        }
        Ok(data(key))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let key = Key::parse(physical_id)?;
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw
            .delete_method()
            .rest_api_id(key.api)
            .resource_id(key.resource)
            .http_method(key.method)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let key = Key::of(p);
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw
            .get_method()
            .rest_api_id(key.api)
            .resource_id(key.resource)
            .http_method(key.method)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(Some(data(key)))
    }

    fn fixture(&self) -> Fixture {
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let function = json!({"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Exec", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"}
        }});
        let api = json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "conf-method-{uid}"}});
        let proxy = json!({"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "PathPart": "{proxy+}"
        }});
        let header = |h: &str| format!("method.response.header.Access-Control-Allow-{h}");
        let cors = |origin: &str, passthrough: &str, extra: Option<Json>| {
            let mut responses = vec![json!({
                "StatusCode": "200",
                "ResponseParameters": {header("Headers"): true, header("Methods"): true, header("Origin"): true},
                "ResponseModels": {"application/json": "Empty"}
            })];
            responses.extend(extra);
            json!({
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Ref": "Proxy"},
                "HttpMethod": "OPTIONS",
                "AuthorizationType": "NONE",
                "MethodResponses": responses,
                "Integration": {
                    "Type": "MOCK",
                    "RequestTemplates": {"application/json": format!("{{\"statusCode\": 200, \"run\": \"{passthrough}\"}}")},
                    "PassthroughBehavior": passthrough,
                    "IntegrationResponses": [{
                        "StatusCode": "200",
                        "ResponseParameters": {
                            header("Headers"): "'Content-Type,Authorization,X-Api-Key'",
                            header("Methods"): "'OPTIONS,GET,POST,PUT,DELETE'",
                            header("Origin"): format!("'{origin}'")
                        },
                        "ResponseTemplates": {"application/json": "{}"}
                    }]
                }
            })
        };
        let create = cors("*", "WHEN_NO_MATCH", None);
        // A new method response (`PutMethodResponse`), a changed integration
        // (`PutIntegration`) and integration response (`PutIntegrationResponse`); the
        // method's own settings stay (moto 5.2.5 has no `UpdateMethod`).
        let update = cors(
            "https://app.example.com",
            "WHEN_NO_TEMPLATES",
            Some(json!({"StatusCode": "204", "ResponseParameters": {header("Origin"): false}})),
        );
        let replace = json!({
            "RestApiId": {"Ref": "Api"},
            "ResourceId": {"Ref": "Proxy"},
            "HttpMethod": "ANY",
            "AuthorizationType": "NONE",
            "RequestParameters": {"method.request.path.proxy": true},
            "Integration": {
                "Type": "AWS_PROXY",
                "IntegrationHttpMethod": "POST",
                "Uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"},
                "TimeoutInMillis": 20000
            }
        });
        Fixture {
            support: json!({"Exec": role, "Fn": function, "Api": api, "Proxy": proxy}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The first call after `PutMethod` made the method.
            partial_after: Some("PutMethodResponse"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Method::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_a_cors_mock_and_a_lambda_proxy() {
        let p = parse(json!({
            "RestApiId": "a", "ResourceId": "r", "HttpMethod": "OPTIONS", "AuthorizationType": "NONE",
            "MethodResponses": [{"StatusCode": 200, "ResponseParameters": {"method.response.header.Access-Control-Allow-Origin": "true"}}],
            "Integration": {"Type": "MOCK", "RequestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "IntegrationResponses": [{"StatusCode": "200", "ResponseTemplates": {"application/json": "{}"}}]}
        }))
        .unwrap();
        assert_eq!(p.method_responses[0].status_code, "200");
        assert_eq!(flags(&p.method_responses[0].response_parameters, "x").unwrap().values().next(), Some(&true));
        let p = parse(json!({
            "RestApiId": "a", "ResourceId": "r", "HttpMethod": "ANY",
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations"}
        }))
        .unwrap();
        assert_eq!(p.authorization(), "NONE");
        assert_eq!(Key::of(&p).id(), "a|r|ANY");
        let k = Key::parse("a|r|ANY").unwrap();
        assert_eq!((k.api, k.resource, k.method), ("a", "r", "ANY"));
        assert!(Key::parse("a|r").is_err());
    }

    #[test]
    fn refuses_what_api_gateway_would() {
        let base = |extra: Json| {
            let mut v = json!({"RestApiId": "a", "ResourceId": "r", "HttpMethod": "GET"});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            parse(v)
        };
        let e = base(json!({"HttpMethod": "get"})).unwrap_err();
        assert!(e.message.starts_with("HttpMethod: "), "{}", e.message);
        let e = base(json!({"Integration": {"Type": "AWS_PROXY"}})).unwrap_err();
        assert!(e.message.starts_with("Integration: "), "{}", e.message);
        let e = base(json!({"Integration": {"Type": "MOCK", "IntegrationResponses": [{"StatusCode": "200"}]}}))
            .unwrap_err();
        assert!(e.message.starts_with("Integration.IntegrationResponses[0].StatusCode: "), "{}", e.message);
        let e = base(json!({"AuthorizationType": "COGNITO_USER_POOLS"})).unwrap_err();
        assert!(e.message.starts_with("AuthorizerId: "), "{}", e.message);
        let e = base(json!({"RequestParameters": {"method.request.path.proxy": "yes"}})).unwrap_err();
        assert!(e.message.starts_with("RequestParameters.method.request.path.proxy: "), "{}", e.message);
    }

    #[test]
    fn empty_templates_are_refused_at_their_path() {
        let e = parse(json!({
            "RestApiId": "a", "ResourceId": "r", "HttpMethod": "OPTIONS",
            "MethodResponses": [{"StatusCode": "200"}],
            "Integration": {"Type": "MOCK", "IntegrationResponses": [{"StatusCode": "200", "ResponseTemplates": {"application/json": ""}}]}
        }))
        .unwrap_err();
        assert!(
            e.message.starts_with(
                "Integration.IntegrationResponses[0].ResponseTemplates.application/json: API Gateway answers"
            ),
            "{}",
            e.message
        );
    }
}
