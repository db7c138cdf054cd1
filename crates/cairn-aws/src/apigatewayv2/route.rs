//! `AWS::ApiGatewayV2::Route`: a route of an API (`POST /batches`, `GET /public/b/{batchId}`,
//! `$default`) and what it calls.
//!
//! | property | notes |
//! | --- | --- |
//! | `ApiId` | the API, required, create-only |
//! | `RouteKey` | the method and path, or `$default`, required |
//! | `Target` | `integrations/{IntegrationId}` |
//! | `AuthorizationType` | `NONE` (default), `JWT`, `AWS_IAM`, `CUSTOM` |
//! | `AuthorizerId` | the authorizer's id, for `JWT` and `CUSTOM`; write-only in the schema |
//! | `AuthorizationScopes` | the scopes a JWT must carry |
//! | `OperationName` | string |
//! | `ApiKeyRequired` | boolean, default false (WebSocket APIs) |
//! | `ModelSelectionExpression`, `RouteResponseSelectionExpression` | strings (WebSocket APIs) |
//!
//! Left out (refused by `check`): `RequestModels`, `RequestParameters`.
//!
//! - `Ref`: the route id.
//! - `Fn::GetAtt`: `RouteId`.
//!
//! `create` is one `CreateRoute`; `update` is one `UpdateRoute` with every setting (a
//! removed target or operation name is sent empty, a removed authorization as `NONE`); a
//! new `ApiId` replaces. `delete` is `DeleteRoute`. A route key is unique within its API,
//! so `find` lists the API's routes (`GetRoutes`) and adopts the one with this key.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewayv2::types::AuthorizationType;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{api_id_of, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGatewayV2::Route";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAYV2_ROUTE, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the route id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    api_id: String,
    route_key: String,
    target: Option<String>,
    authorization_type: Option<String>,
    authorizer_id: Option<String>,
    authorization_scopes: Option<Vec<String>>,
    operation_name: Option<String>,
    api_key_required: Option<bool>,
    model_selection_expression: Option<String>,
    route_response_selection_expression: Option<String>,
}

impl Props {
    fn authorization(&self) -> AuthorizationType {
        AuthorizationType::from(self.authorization_type.as_deref().unwrap_or("NONE"))
    }
}

/// The `AWS::ApiGatewayV2::Route` resource type.
pub struct Route;

impl Route {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Route> {
        Typed::new(Route, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData { physical_id: id.to_string(), attributes: BTreeMap::from([("RouteId".to_string(), Value::from(id))]) }
}

#[async_trait]
impl AwsType for Route {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let needs_authorizer = matches!(p.authorization_type.as_deref(), Some("JWT" | "CUSTOM"));
        if needs_authorizer && p.authorizer_id.is_none() {
            return Err(PropsError {
                path: "AuthorizerId".into(),
                message: "a route with JWT or CUSTOM authorization needs the authorizer's id (`!Ref` the authorizer)"
                    .into(),
            });
        }
        if !needs_authorizer && p.authorizer_id.is_some() {
            return Err(PropsError {
                path: "AuthorizerId".into(),
                message: "only a route with `AuthorizationType: JWT` or `CUSTOM` takes an authorizer".into(),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let out = apigw
            .create_route()
            .api_id(&p.api_id)
            .route_key(&p.route_key)
            .set_target(p.target.clone())
            .set_authorization_type(p.authorization_type.as_ref().map(|_| p.authorization()))
            .set_authorizer_id(p.authorizer_id.clone())
            .set_authorization_scopes(p.authorization_scopes.clone())
            .set_operation_name(p.operation_name.clone())
            .set_api_key_required(p.api_key_required)
            .set_model_selection_expression(p.model_selection_expression.clone())
            .set_route_response_selection_expression(p.route_response_selection_expression.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out
            .route_id
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateRoute returned no route id"))?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let api_id = api_id_of(desired, TYPE_NAME, physical_id)?;
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let r = apigw.get_route().api_id(api_id).route_id(physical_id).send().await.map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::from([("ApiId".to_string(), json!(api_id))]);
        let mut put = |k: &str, v: Option<Json>| {
            if let Some(v) = v {
                props.insert(k.to_string(), v);
            }
        };
        put("RouteKey", r.route_key.as_ref().map(|k| json!(k)));
        put("Target", r.target.as_ref().filter(|t| !t.is_empty() || wants("Target")).map(|t| json!(t)));
        let auth =
            r.authorization_type.as_ref().filter(|a| wants("AuthorizationType") || **a != AuthorizationType::None);
        put("AuthorizationType", auth.map(|a| json!(a.as_str())));
        let scopes = r.authorization_scopes.as_ref().filter(|s| !s.is_empty() || wants("AuthorizationScopes"));
        put("AuthorizationScopes", scopes.map(|s| json!(s)));
        let operation = r.operation_name.as_ref().filter(|o| !o.is_empty() || wants("OperationName"));
        put("OperationName", operation.map(|o| json!(o)));
        put("ApiKeyRequired", r.api_key_required.filter(|k| *k || wants("ApiKeyRequired")).map(|k| json!(k)));
        put("ModelSelectionExpression", r.model_selection_expression.as_ref().map(|e| json!(e)));
        put("RouteResponseSelectionExpression", r.route_response_selection_expression.as_ref().map(|e| json!(e)));
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
        // `UpdateRoute` keeps what it is not sent: what the template no longer sets is sent
        // empty (or `NONE`), so that it is removed.
        let cleared = |new: &Option<String>, old: &Option<String>| new.clone().or(old.as_ref().map(|_| String::new()));
        let scopes = new.authorization_scopes.clone().or(old.authorization_scopes.as_ref().map(|_| Vec::new()));
        apigw
            .update_route()
            .api_id(&new.api_id)
            .route_id(physical_id)
            .route_key(&new.route_key)
            .set_target(cleared(&new.target, &old.target))
            .authorization_type(new.authorization())
            // `NONE` detaches the authorizer; an empty id is not a valid one to send.
            .set_authorizer_id(new.authorizer_id.clone())
            .set_authorization_scopes(scopes)
            .set_operation_name(cleared(&new.operation_name, &old.operation_name))
            .api_key_required(new.api_key_required.unwrap_or(false))
            .set_model_selection_expression(new.model_selection_expression.clone())
            .set_route_response_selection_expression(new.route_response_selection_expression.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        apigw.delete_route().api_id(&p.api_id).route_id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let mut token: Option<String> = None;
        loop {
            let page =
                apigw.get_routes().api_id(&p.api_id).set_next_token(token.take()).send().await.map_err(sdk_error)?;
            let found = page
                .items
                .unwrap_or_default()
                .into_iter()
                .find(|r| r.route_key.as_deref() == Some(p.route_key.as_str()));
            if let Some(id) = found.and_then(|r| r.route_id) {
                return Ok(Some(data(&id)));
            }
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(None),
            }
        }
    }

    fn fixture(&self) -> Fixture {
        let api = json!({"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}});
        let integration = |api: &str| {
            json!({"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": api},
                "IntegrationType": "HTTP_PROXY",
                "IntegrationUri": "https://example.com/{uid}",
                "IntegrationMethod": "ANY",
                "PayloadFormatVersion": "1.0"
            }})
        };
        let authorizer = json!({"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {
            "ApiId": {"Ref": "First"},
            "AuthorizerType": "JWT",
            "Name": "conf-authorizer",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Audience": ["conf-client-{uid}"], "Issuer": "https://issuer.example.com/{uid}"}
        }});
        let create = json!({
            "ApiId": {"Ref": "First"},
            "RouteKey": "GET /public/b/{batchId}",
            "Target": {"Fn::Sub": "integrations/${Backend}"},
            "AuthorizationType": "NONE",
            "OperationName": "getBatch"
        });
        let update = json!({
            "ApiId": {"Ref": "First"},
            "RouteKey": "POST /batches",
            "Target": {"Fn::Sub": "integrations/${Backend}"},
            "AuthorizationType": "JWT",
            "AuthorizerId": {"Ref": "Jwt"},
            "AuthorizationScopes": ["batches/write"],
            "OperationName": "createBatch"
        });
        let replace = json!({
            "ApiId": {"Ref": "Second"},
            "RouteKey": "POST /batches",
            "Target": {"Fn::Sub": "integrations/${OtherBackend}"},
            "AuthorizationType": "NONE",
            "OperationName": "createBatch"
        });
        Fixture {
            support: json!({
                "First": api,
                "Second": api,
                "Backend": integration("First"),
                "OtherBackend": integration("Second"),
                "Jwt": authorizer
            }),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (`CreateRoute`).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Route::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn jwt_routes_name_their_authorizer() {
        let p = parse(json!({
            "ApiId": "a1b2c3",
            "RouteKey": "POST /batches",
            "Target": "integrations/abc123",
            "AuthorizationType": "JWT",
            "AuthorizerId": "auth12"
        }))
        .unwrap();
        assert_eq!(p.authorization(), AuthorizationType::Jwt);
        let e = parse(json!({"ApiId": "a", "RouteKey": "GET /", "AuthorizationType": "JWT"})).unwrap_err();
        assert!(e.message.starts_with("AuthorizerId: a route with JWT"), "{}", e.message);
        let e = parse(json!({"ApiId": "a", "RouteKey": "GET /", "AuthorizerId": "x"})).unwrap_err();
        assert!(e.message.starts_with("AuthorizerId: only a route"), "{}", e.message);
        assert_eq!(
            parse(json!({"ApiId": "a", "RouteKey": "$default"})).unwrap().authorization(),
            AuthorizationType::None
        );
    }
}
