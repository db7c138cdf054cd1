//! `AWS::Cognito::UserPoolClient`: an app client of a Cognito user pool.
//!
//! | property | notes |
//! | --- | --- |
//! | `UserPoolId` | required, create-only |
//! | `ClientName` | string; generated when absent (`{stack}-{logical id}-{seed}`, 128 characters) |
//! | `GenerateSecret` | boolean, create-only: the client gets a secret |
//! | `ExplicitAuthFlows` | `ALLOW_CUSTOM_AUTH`, `ALLOW_REFRESH_TOKEN_AUTH`, `ALLOW_USER_SRP_AUTH`, ... |
//! | `AccessTokenValidity`, `IdTokenValidity`, `RefreshTokenValidity` | integers, in `TokenValidityUnits` |
//! | `TokenValidityUnits` | `{AccessToken, IdToken, RefreshToken}`: `seconds`, `minutes`, `hours`, `days` |
//! | `PreventUserExistenceErrors` | `ENABLED` or `LEGACY` |
//! | `SupportedIdentityProviders` | `COGNITO`, or identity provider names |
//! | `CallbackURLs`, `LogoutURLs`, `DefaultRedirectURI` | URLs of the hosted UI |
//! | `AllowedOAuthFlows`, `AllowedOAuthScopes`, `AllowedOAuthFlowsUserPoolClient` | OAuth 2.0 |
//! | `ReadAttributes`, `WriteAttributes` | the user attributes the client may read and write |
//! | `EnableTokenRevocation` | boolean |
//! | `AuthSessionValidity` | minutes, 3 to 15 |
//!
//! Left out (refused by `check`): `AnalyticsConfiguration`,
//! `EnablePropagateAdditionalUserContextData`, `RefreshTokenRotation`.
//!
//! - `Ref`: the client id.
//! - `Fn::GetAtt`: `ClientId`, `Name` (the client name), `ClientSecret` (only with
//!   `GenerateSecret: true`). The secret is a secret value to the engine
//!   ([`Value::secret`]): sealed in the state and never printed unless asked.
//!
//! `create` is `CreateUserPoolClient`. `update` is `UpdateUserPoolClient` with the whole
//! desired configuration: the call resets what it is not given to Cognito's defaults, as
//! CloudFormation's update does for what the template leaves out. `read` is
//! `DescribeUserPoolClient` (the pool id from the properties); what the template leaves
//! out and Cognito fills in (token validities, read and write attributes, ...) is not
//! shown. `delete` is `DeleteUserPoolClient`. The type is not taggable, so `find` relies
//! on the deterministic name: it adopts a client with a generated name, never one with a
//! name the template gives (which it cannot tell from someone else's).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, OAuthFlowType, PreventUserExistenceErrorTypes, TimeUnitsType, TokenValidityUnitsType,
    UserPoolClientType,
};
use aws_sdk_cognitoidentityprovider::Client;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::project;
use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Cognito::UserPoolClient";

// Client names need not be unique in a pool: no name property, so a replacement makes
// the new client before it deletes the old one.
static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::COGNITO_USER_POOL_CLIENT, None, &[])),
    not_found: &["ResourceNotFoundException"],
    timeout: Duration::from_secs(60),
    reference: "the client id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    user_pool_id: String,
    client_name: Option<String>,
    generate_secret: Option<bool>,
    explicit_auth_flows: Option<Vec<String>>,
    access_token_validity: Option<i32>,
    id_token_validity: Option<i32>,
    refresh_token_validity: Option<i32>,
    token_validity_units: Option<Units>,
    prevent_user_existence_errors: Option<String>,
    supported_identity_providers: Option<Vec<String>>,
    #[serde(rename = "CallbackURLs")]
    callback_urls: Option<Vec<String>>,
    #[serde(rename = "LogoutURLs")]
    logout_urls: Option<Vec<String>>,
    #[serde(rename = "DefaultRedirectURI")]
    default_redirect_uri: Option<String>,
    #[serde(rename = "AllowedOAuthFlows")]
    allowed_oauth_flows: Option<Vec<String>>,
    #[serde(rename = "AllowedOAuthScopes")]
    allowed_oauth_scopes: Option<Vec<String>>,
    #[serde(rename = "AllowedOAuthFlowsUserPoolClient")]
    allowed_oauth_flows_user_pool_client: Option<bool>,
    read_attributes: Option<Vec<String>>,
    write_attributes: Option<Vec<String>>,
    enable_token_revocation: Option<bool>,
    auth_session_validity: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Units {
    access_token: Option<String>,
    id_token: Option<String>,
    refresh_token: Option<String>,
}

impl Props {
    fn units(&self) -> Option<TokenValidityUnitsType> {
        let u = self.token_validity_units.as_ref()?;
        let unit = |s: &Option<String>| s.as_deref().map(TimeUnitsType::from);
        Some(
            TokenValidityUnitsType::builder()
                .set_access_token(unit(&u.access_token))
                .set_id_token(unit(&u.id_token))
                .set_refresh_token(unit(&u.refresh_token))
                .build(),
        )
    }

    fn auth_flows(&self) -> Option<Vec<ExplicitAuthFlowsType>> {
        self.explicit_auth_flows.as_ref().map(|f| f.iter().map(|s| ExplicitAuthFlowsType::from(s.as_str())).collect())
    }

    fn oauth_flows(&self) -> Option<Vec<OAuthFlowType>> {
        self.allowed_oauth_flows.as_ref().map(|f| f.iter().map(|s| OAuthFlowType::from(s.as_str())).collect())
    }

    fn prevent_errors(&self) -> Option<PreventUserExistenceErrorTypes> {
        self.prevent_user_existence_errors.as_deref().map(PreventUserExistenceErrorTypes::from)
    }
}

/// The `AWS::Cognito::UserPoolClient` resource type.
pub struct UserPoolClient;

impl UserPoolClient {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<UserPoolClient> {
        Typed::new(UserPoolClient, aws)
    }
}

/// A character Cognito accepts in a client name (`[\w\s+=,.@-]`).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn client_name(cx: &Cx<'_>, p: &Props) -> String {
    p.client_name.clone().unwrap_or_else(|| cx.generated_name(128, false, name_char))
}

/// The attributes; `ClientSecret` as a secret value, and only when the client has one.
fn data(c: &UserPoolClientType) -> ResourceData {
    let id = c.client_id().unwrap_or_default();
    let mut attributes = BTreeMap::from([
        ("ClientId".to_string(), Value::from(id)),
        ("Name".to_string(), Value::from(c.client_name().unwrap_or_default())),
    ]);
    if let Some(secret) = c.client_secret() {
        attributes.insert("ClientSecret".to_string(), Value::secret(Value::from(secret)));
    }
    ResourceData { physical_id: id.to_string(), attributes }
}

/// What `DescribeUserPoolClient` gives, in the template's shape.
fn live_json(c: &UserPoolClientType) -> Map<String, Json> {
    let mut m = Map::new();
    let strs = |v: &[String]| json!(v);
    m.insert("UserPoolId".into(), json!(c.user_pool_id().unwrap_or_default()));
    m.insert("ClientName".into(), json!(c.client_name().unwrap_or_default()));
    m.insert("GenerateSecret".into(), json!(c.client_secret().is_some()));
    m.insert("ExplicitAuthFlows".into(), json!(c.explicit_auth_flows().iter().map(|f| f.as_str()).collect::<Vec<_>>()));
    if let Some(v) = c.access_token_validity() {
        m.insert("AccessTokenValidity".into(), json!(v));
    }
    if let Some(v) = c.id_token_validity() {
        m.insert("IdTokenValidity".into(), json!(v));
    }
    m.insert("RefreshTokenValidity".into(), json!(c.refresh_token_validity()));
    if let Some(u) = c.token_validity_units() {
        let mut units = Map::new();
        for (k, v) in
            [("AccessToken", u.access_token()), ("IdToken", u.id_token()), ("RefreshToken", u.refresh_token())]
        {
            if let Some(v) = v {
                units.insert(k.into(), json!(v.as_str()));
            }
        }
        m.insert("TokenValidityUnits".into(), Json::Object(units));
    }
    if let Some(v) = c.prevent_user_existence_errors() {
        m.insert("PreventUserExistenceErrors".into(), json!(v.as_str()));
    }
    m.insert("SupportedIdentityProviders".into(), strs(c.supported_identity_providers()));
    m.insert("CallbackURLs".into(), strs(c.callback_urls()));
    m.insert("LogoutURLs".into(), strs(c.logout_urls()));
    if let Some(v) = c.default_redirect_uri() {
        m.insert("DefaultRedirectURI".into(), json!(v));
    }
    m.insert(
        "AllowedOAuthFlows".into(),
        json!(c.allowed_o_auth_flows().iter().map(|f| f.as_str()).collect::<Vec<_>>()),
    );
    m.insert("AllowedOAuthScopes".into(), strs(c.allowed_o_auth_scopes()));
    if let Some(v) = c.allowed_o_auth_flows_user_pool_client() {
        m.insert("AllowedOAuthFlowsUserPoolClient".into(), json!(v));
    }
    m.insert("ReadAttributes".into(), strs(c.read_attributes()));
    m.insert("WriteAttributes".into(), strs(c.write_attributes()));
    if let Some(v) = c.enable_token_revocation() {
        m.insert("EnableTokenRevocation".into(), json!(v));
    }
    if let Some(v) = c.auth_session_validity() {
        m.insert("AuthSessionValidity".into(), json!(v));
    }
    m
}

/// The live properties to show: those the template gives (with the members it gives);
/// Cognito fills in every other one with its defaults, which are not shown. `UserPoolId`
/// and `ClientName` always show (the client is named, generated or not, and in one pool).
fn shown(live: Map<String, Json>, desired: &Json) -> BTreeMap<String, Json> {
    live.into_iter()
        .filter_map(|(k, v)| match desired.get(&k).filter(|d| !d.is_null()) {
            Some(d) => Some((k, project(&v, d))),
            None if k == "UserPoolId" => Some((k, v)),
            // A generated name is not compared (the template gives none).
            None => None,
        })
        .collect()
}

async fn describe(cognito: &Client, pool: &str, id: &str) -> Result<UserPoolClientType, ProviderError> {
    let out = cognito.describe_user_pool_client().user_pool_id(pool).client_id(id).send().await.map_err(sdk_error)?;
    out.user_pool_client.ok_or_else(|| {
        ProviderError::with_code(
            "ResourceNotFoundException",
            format!("DescribeUserPoolClient gave no client {id} in user pool {pool}"),
        )
    })
}

/// The client's settings on a `CreateUserPoolClient` or `UpdateUserPoolClient` call (two
/// builder types with the same setters): all of them, since an update resets what it is not
/// given.
macro_rules! with_settings {
    ($call:expr, $p:expr) => {
        $call
            .set_explicit_auth_flows($p.auth_flows())
            .set_access_token_validity($p.access_token_validity)
            .set_id_token_validity($p.id_token_validity)
            .set_refresh_token_validity($p.refresh_token_validity)
            .set_token_validity_units($p.units())
            .set_prevent_user_existence_errors($p.prevent_errors())
            .set_supported_identity_providers($p.supported_identity_providers.clone())
            .set_callback_urls($p.callback_urls.clone())
            .set_logout_urls($p.logout_urls.clone())
            .set_default_redirect_uri($p.default_redirect_uri.clone())
            .set_allowed_o_auth_flows($p.oauth_flows())
            .set_allowed_o_auth_scopes($p.allowed_oauth_scopes.clone())
            .set_allowed_o_auth_flows_user_pool_client($p.allowed_oauth_flows_user_pool_client)
            .set_read_attributes($p.read_attributes.clone())
            .set_write_attributes($p.write_attributes.clone())
            .set_enable_token_revocation($p.enable_token_revocation)
            .set_auth_session_validity($p.auth_session_validity)
    };
}

#[async_trait]
impl AwsType for UserPoolClient {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let cognito: Client = cx.client();
        let call = cognito
            .create_user_pool_client()
            .user_pool_id(&p.user_pool_id)
            .client_name(client_name(cx, p))
            .set_generate_secret(p.generate_secret);
        let out = with_settings!(call, p).send().await.map_err(sdk_error)?;
        let client = out.user_pool_client.ok_or_else(|| {
            ProviderError::with_code(
                "InvalidResponse",
                format!(
                    "CreateUserPoolClient in user pool {} answered without the client; run `cairn refresh`, then `cairn up`",
                    p.user_pool_id
                ),
            )
        })?;
        Ok(data(&client))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let pool = desired.get("UserPoolId").and_then(Json::as_str).unwrap_or_default();
        let cognito: Client = cx.client();
        let c = describe(&cognito, pool, physical_id).await?;
        Ok(Some(Live { data: data(&c), properties: shown(live_json(&c), desired), tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        p: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let cognito: Client = cx.client();
        // `UpdateUserPoolClient` resets what it is not given: the whole desired configuration.
        let call = cognito
            .update_user_pool_client()
            .user_pool_id(&p.user_pool_id)
            .client_id(physical_id)
            .client_name(client_name(cx, p));
        let out = with_settings!(call, p).send().await.map_err(sdk_error)?;
        match out.user_pool_client {
            Some(c) => Ok(data(&c)),
            None => Ok(data(&describe(&cognito, &p.user_pool_id, physical_id).await?)),
        }
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let cognito: Client = cx.client();
        cognito
            .delete_user_pool_client()
            .user_pool_id(&p.user_pool_id)
            .client_id(physical_id)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        // Only a generated name is this resource's for sure.
        if p.client_name.is_some() {
            return Ok(None);
        }
        let name = client_name(cx, p);
        let cognito: Client = cx.client();
        let clients = crate::kit::paging::all(
            cognito
                .list_user_pool_clients()
                .user_pool_id(&p.user_pool_id)
                .max_results(60)
                .into_paginator()
                .items()
                .send(),
        )
        .await?;
        let Some(id) = clients.iter().find(|c| c.client_name() == Some(name.as_str())).and_then(|c| c.client_id())
        else {
            return Ok(None);
        };
        Ok(Some(data(&describe(&cognito, &p.user_pool_id, id).await?)))
    }

    fn fixture(&self) -> Fixture {
        let pool = json!({"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "clients-{uid}"}});
        // The kefir example's client: custom auth and refresh tokens, hours and days, no
        // secret (a public mobile app).
        let create = json!({
            "UserPoolId": {"Ref": "Pool"},
            "ClientName": "kefir-{uid}-client",
            "ExplicitAuthFlows": ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "AccessTokenValidity": 1,
            "IdTokenValidity": 1,
            "RefreshTokenValidity": 30,
            "TokenValidityUnits": {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"},
            "GenerateSecret": false,
            "PreventUserExistenceErrors": "ENABLED"
        });
        let update = json!({
            "UserPoolId": {"Ref": "Pool"},
            "ClientName": "kefir-{uid}-web",
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "AccessTokenValidity": 30,
            "IdTokenValidity": 30,
            "RefreshTokenValidity": 7,
            "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
            "GenerateSecret": false,
            "PreventUserExistenceErrors": "LEGACY",
            "SupportedIdentityProviders": ["COGNITO"],
            "CallbackURLs": ["https://app.example.com/callback"],
            "LogoutURLs": ["https://app.example.com/logout"],
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": ["openid", "email"],
            "AllowedOAuthFlowsUserPoolClient": true
        });
        // Into another pool. (`GenerateSecret: true` would replace too, but its secret is
        // sealed in the state with the stack's passphrase, which the suite does not set.)
        let mut replace = update.clone();
        replace["UserPoolId"] = json!({"Ref": "Other"});
        let other = json!({"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "clients-{uid}-other"}});
        Fixture {
            support: json!({"Pool": pool, "Other": other}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // `CreateUserPoolClient` is the whole create.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cognito_defaults_do_not_show() {
        let c = UserPoolClientType::builder()
            .user_pool_id("us-east-1_p")
            .client_id("abc")
            .client_name("generated-name")
            .refresh_token_validity(30)
            .enable_token_revocation(true)
            .read_attributes("email")
            .token_validity_units(
                TokenValidityUnitsType::builder()
                    .access_token(TimeUnitsType::Hours)
                    .id_token(TimeUnitsType::Hours)
                    .refresh_token(TimeUnitsType::Days)
                    .build(),
            )
            .build();
        let desired = json!({"UserPoolId": "us-east-1_p", "TokenValidityUnits": {"AccessToken": "hours"}});
        let out = shown(live_json(&c), &desired);
        assert_eq!(
            Json::Object(out.into_iter().collect()),
            json!({"UserPoolId": "us-east-1_p", "TokenValidityUnits": {"AccessToken": "hours"}})
        );
        let d = data(&c);
        assert_eq!(d.physical_id, "abc");
        assert!(!d.attributes.contains_key("ClientSecret"));
    }

    #[test]
    fn the_secret_is_a_secret_value() {
        let c = UserPoolClientType::builder().client_id("abc").client_name("n").client_secret("s3cr3t").build();
        let d = data(&c);
        assert!(matches!(d.attributes["ClientSecret"], Value::Secret(_)));
        assert_eq!(live_json(&c)["GenerateSecret"], json!(true));
    }
}
