//! `AWS::Cognito::UserPool`: a Cognito user pool.
//!
//! | property | notes |
//! | --- | --- |
//! | `UserPoolName` | string; generated when absent (`{stack}-{logical id}-{seed}`, 128 characters) |
//! | `UsernameAttributes` | `email`, `phone_number`; set when the pool is made (Cognito cannot change it) |
//! | `AliasAttributes` | `email`, `phone_number`, `preferred_username`; set when the pool is made |
//! | `AutoVerifiedAttributes` | `email`, `phone_number` |
//! | `MfaConfiguration` | `OFF` (default), `OPTIONAL`, `ON`; `OPTIONAL` and `ON` need `EnabledMfas` |
//! | `EnabledMfas` | `SOFTWARE_TOKEN_MFA`, `EMAIL_OTP` (write-only); `SMS_MFA` needs `SmsConfiguration`, left out |
//! | `AccountRecoverySetting` | `{RecoveryMechanisms: [{Name, Priority}]}` |
//! | `Policies.PasswordPolicy` | `MinimumLength`, `Require*`, `TemporaryPasswordValidityDays`, `PasswordHistorySize` |
//! | `EmailConfiguration` | `EmailSendingAccount`, `SourceArn`, `From`, `ReplyToEmailAddress`, `ConfigurationSet` |
//! | `Schema` | attributes; custom ones added in place (`AddCustomAttributes`); standard ones only when the pool is made |
//! | `AdminCreateUserConfig` | `AllowAdminCreateUserOnly`, `UnusedAccountValidityDays`, `InviteMessageTemplate` |
//! | `DeletionProtection` | `ACTIVE` or `INACTIVE` (default): while `ACTIVE`, cairn deletes and replaces nothing of the pool |
//! | `UserPoolTags` | a map, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `DeviceConfiguration`, `EmailAuthenticationMessage`,
//! `EmailAuthenticationSubject`, `EmailVerificationMessage`, `EmailVerificationSubject`,
//! `IssuerConfiguration`, `KeyConfiguration`, `LambdaConfig`, `Policies.SignInPolicy`,
//! `SmsAuthenticationMessage`, `SmsConfiguration`, `SmsVerificationMessage`,
//! `UserAttributeUpdateSettings`, `UserPoolAddOns`, `UserPoolTier`, `UsernameConfiguration`,
//! `VerificationMessageTemplate`, `WebAuthnFactorConfiguration`, `WebAuthnRelyingPartyID`,
//! `WebAuthnUserVerification`.
//!
//! - `Ref`: the user pool id (`us-east-1_AbCdEf123`).
//! - `Fn::GetAtt`: `Arn`, `ProviderName` (`cognito-idp.<region>.amazonaws.com/<id>`),
//!   `ProviderURL` (`https://` and the provider name), `UserPoolId`.
//!
//! The registry schema marks no property create-only, so every change is an update.
//! `create` calls `CreateUserPool` (with `MfaConfiguration` `OFF` when `EnabledMfas` is
//! given), then `SetUserPoolMfaConfig` with the MFA setting and methods, as CloudFormation
//! does: Cognito refuses MFA on a pool without an MFA method. `update`: new custom
//! attributes are `AddCustomAttributes`; then `SetUserPoolMfaConfig` when `EnabledMfas` is
//! given; then `UpdateUserPool` with the whole desired configuration and tags (it resets
//! what it is not given). A change Cognito cannot make (`UsernameAttributes`,
//! `AliasAttributes`, a standard attribute, a changed or removed custom attribute) fails
//! before any call, naming the property. `read` is `DescribeUserPool`; what the template
//! leaves out and Cognito fills with its defaults (password policy, admin create user
//! config, recovery, email configuration, the standard attributes) is not shown, and a
//! nested setting shows the members the template gives. `find` lists the pools with the
//! name and adopts the one carrying this resource's ownership tags (a pool is tagged in the
//! call that makes it).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AdminCreateUserConfigType, AliasAttributeType, AttributeDataType,
    DeletionProtectionType, EmailConfigurationType, EmailMfaConfigType, EmailSendingAccountType, MessageTemplateType,
    NumberAttributeConstraintsType, PasswordPolicyType, RecoveryOptionNameType, RecoveryOptionType,
    SchemaAttributeType, SoftwareTokenMfaConfigType, StringAttributeConstraintsType, UserPoolMfaType,
    UserPoolPolicyType, UserPoolType, UsernameAttributeType, VerifiedAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;
use cairn_core::provider::{ProviderError, ResourceData, TypeSchema};
use cairn_core::Value;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::project;
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Cognito::UserPool";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| TypeSchema {
        // While it is `ACTIVE`, cairn deletes and replaces nothing of the pool.
        deletion_protection: Some("DeletionProtection".to_string()),
        ..crate::schema::load(crate::schema::COGNITO_USER_POOL, Some("UserPoolName"), &[])
    }),
    not_found: &["ResourceNotFoundException"],
    timeout: Duration::from_secs(120),
    reference: "the user pool id",
};

/// The standard attributes of every user pool (a `Schema` entry of another name is custom).
const STANDARD: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "sub",
    "updated_at",
    "website",
    "zoneinfo",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    user_pool_name: Option<String>,
    username_attributes: Option<Vec<String>>,
    alias_attributes: Option<Vec<String>>,
    auto_verified_attributes: Option<Vec<String>>,
    mfa_configuration: Option<String>,
    enabled_mfas: Option<Vec<String>>,
    account_recovery_setting: Option<AccountRecovery>,
    policies: Option<Policies>,
    email_configuration: Option<EmailConfiguration>,
    #[serde(default)]
    schema: Vec<Attribute>,
    admin_create_user_config: Option<AdminCreateUser>,
    deletion_protection: Option<String>,
    #[serde(default)]
    user_pool_tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AccountRecovery {
    #[serde(default)]
    recovery_mechanisms: Vec<RecoveryOption>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RecoveryOption {
    name: String,
    priority: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Policies {
    password_policy: Option<PasswordPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PasswordPolicy {
    minimum_length: Option<i32>,
    password_history_size: Option<i32>,
    require_lowercase: Option<bool>,
    require_numbers: Option<bool>,
    require_symbols: Option<bool>,
    require_uppercase: Option<bool>,
    temporary_password_validity_days: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct EmailConfiguration {
    configuration_set: Option<String>,
    email_sending_account: Option<String>,
    from: Option<String>,
    reply_to_email_address: Option<String>,
    source_arn: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq, Clone)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Attribute {
    name: String,
    attribute_data_type: Option<String>,
    developer_only_attribute: Option<bool>,
    mutable: Option<bool>,
    required: Option<bool>,
    number_attribute_constraints: Option<Range>,
    string_attribute_constraints: Option<Length>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq, Clone)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Range {
    max_value: Option<String>,
    min_value: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq, Clone)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Length {
    max_length: Option<String>,
    min_length: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AdminCreateUser {
    allow_admin_create_user_only: Option<bool>,
    invite_message_template: Option<InviteMessage>,
    unused_account_validity_days: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct InviteMessage {
    email_message: Option<String>,
    email_subject: Option<String>,
    #[serde(rename = "SMSMessage")]
    sms_message: Option<String>,
}

impl Attribute {
    fn is_custom(&self) -> bool {
        !STANDARD.contains(&self.name.as_str())
    }

    fn sdk(&self) -> SchemaAttributeType {
        SchemaAttributeType::builder()
            .name(&self.name)
            .set_attribute_data_type(self.attribute_data_type.as_deref().map(AttributeDataType::from))
            .set_developer_only_attribute(self.developer_only_attribute)
            .set_mutable(self.mutable)
            .set_required(self.required)
            .set_number_attribute_constraints(self.number_attribute_constraints.as_ref().map(|r| {
                NumberAttributeConstraintsType::builder()
                    .set_min_value(r.min_value.clone())
                    .set_max_value(r.max_value.clone())
                    .build()
            }))
            .set_string_attribute_constraints(self.string_attribute_constraints.as_ref().map(|l| {
                StringAttributeConstraintsType::builder()
                    .set_min_length(l.min_length.clone())
                    .set_max_length(l.max_length.clone())
                    .build()
            }))
            .build()
    }
}

impl Props {
    fn tags(&self) -> Vec<Tag> {
        self.user_pool_tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect()
    }

    fn mfa(&self) -> UserPoolMfaType {
        UserPoolMfaType::from(self.mfa_configuration.as_deref().unwrap_or("OFF"))
    }

    fn policies(&self) -> Option<UserPoolPolicyType> {
        let p = self.policies.as_ref()?.password_policy.as_ref()?;
        let policy = PasswordPolicyType::builder()
            .set_minimum_length(p.minimum_length)
            .set_password_history_size(p.password_history_size)
            .set_require_lowercase(p.require_lowercase)
            .set_require_numbers(p.require_numbers)
            .set_require_symbols(p.require_symbols)
            .set_require_uppercase(p.require_uppercase)
            .set_temporary_password_validity_days(p.temporary_password_validity_days)
            .build();
        Some(UserPoolPolicyType::builder().password_policy(policy).build())
    }

    fn recovery(&self) -> Result<Option<AccountRecoverySettingType>, ProviderError> {
        let Some(r) = &self.account_recovery_setting else { return Ok(None) };
        let options = r
            .recovery_mechanisms
            .iter()
            .map(|o| {
                RecoveryOptionType::builder()
                    .name(RecoveryOptionNameType::from(o.name.as_str()))
                    .priority(o.priority)
                    .build()
                    .map_err(|e| ProviderError::new(format!("AccountRecoverySetting.RecoveryMechanisms: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(AccountRecoverySettingType::builder().set_recovery_mechanisms(Some(options)).build()))
    }

    fn email(&self) -> Option<EmailConfigurationType> {
        let e = self.email_configuration.as_ref()?;
        Some(
            EmailConfigurationType::builder()
                .set_configuration_set(e.configuration_set.clone())
                .set_email_sending_account(e.email_sending_account.as_deref().map(EmailSendingAccountType::from))
                .set_from(e.from.clone())
                .set_reply_to_email_address(e.reply_to_email_address.clone())
                .set_source_arn(e.source_arn.clone())
                .build(),
        )
    }

    fn admin_create_user(&self) -> Option<AdminCreateUserConfigType> {
        let a = self.admin_create_user_config.as_ref()?;
        Some(
            AdminCreateUserConfigType::builder()
                .set_allow_admin_create_user_only(a.allow_admin_create_user_only)
                .set_unused_account_validity_days(a.unused_account_validity_days)
                .set_invite_message_template(a.invite_message_template.as_ref().map(|t| {
                    MessageTemplateType::builder()
                        .set_email_message(t.email_message.clone())
                        .set_email_subject(t.email_subject.clone())
                        .set_sms_message(t.sms_message.clone())
                        .build()
                }))
                .build(),
        )
    }

    fn auto_verified(&self) -> Option<Vec<VerifiedAttributeType>> {
        self.auto_verified_attributes
            .as_ref()
            .map(|a| a.iter().map(|s| VerifiedAttributeType::from(s.as_str())).collect())
    }

    fn deletion_protection(&self) -> Option<DeletionProtectionType> {
        self.deletion_protection.as_deref().map(DeletionProtectionType::from)
    }

    fn has_mfa_methods(&self) -> bool {
        self.enabled_mfas.as_ref().is_some_and(|m| !m.is_empty())
    }
}

/// The `AWS::Cognito::UserPool` resource type.
pub struct UserPool;

impl UserPool {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<UserPool> {
        Typed::new(UserPool, aws)
    }
}

/// A character Cognito accepts in a pool name (`[\w\s+=,.@-]`).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn pool_name(cx: &Cx<'_>, p: &Props) -> String {
    p.user_pool_name.clone().unwrap_or_else(|| cx.generated_name(128, false, name_char))
}

fn data(cx: &Cx<'_>, id: &str, arn: &str) -> ResourceData {
    let provider = format!("cognito-idp.{}.amazonaws.com/{id}", cx.region());
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::from(arn)),
            ("ProviderName".to_string(), Value::from(provider.as_str())),
            ("ProviderURL".to_string(), Value::from(format!("https://{provider}").as_str())),
            ("UserPoolId".to_string(), Value::from(id)),
        ]),
    }
}

/// `SetUserPoolMfaConfig`: the MFA setting and the methods `EnabledMfas` turns on (the
/// others off).
async fn set_mfa(cognito: &Client, id: &str, p: &Props) -> Result<(), ProviderError> {
    let methods = p.enabled_mfas.clone().unwrap_or_default();
    let on = |m: &str| methods.iter().any(|x| x == m);
    let mut call = cognito
        .set_user_pool_mfa_config()
        .user_pool_id(id)
        .mfa_configuration(p.mfa())
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(on("SOFTWARE_TOKEN_MFA")).build(),
        );
    if on("EMAIL_OTP") {
        call = call.email_mfa_configuration(EmailMfaConfigType::builder().build());
    }
    call.send().await.map_err(sdk_error)?;
    Ok(())
}

/// A change Cognito cannot make to an existing pool, as an error naming the property.
fn not_updatable(id: &str, path: &str, what: &str) -> ProviderError {
    ProviderError::with_code(
        "NotUpdatable",
        format!(
            "user pool {id}: Cognito cannot {what} of an existing user pool (`{path}`); put back the deployed value, or give the pool a new logical id to make a new pool (its users are not moved)"
        ),
    )
}

/// The custom attributes an update adds, or the error for a schema change Cognito cannot
/// make (a standard attribute, a changed or removed custom attribute).
fn added_attributes<'a>(
    id: &str,
    old: &'a [Attribute],
    new: &'a [Attribute],
) -> Result<Vec<&'a Attribute>, ProviderError> {
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => return Err(not_updatable(id, &format!("Schema[{}]", o.name), "remove an attribute")),
            Some(n) if n != o => return Err(not_updatable(id, &format!("Schema[{}]", o.name), "change an attribute")),
            Some(_) => {}
        }
    }
    let added: Vec<&Attribute> = new.iter().filter(|n| !old.iter().any(|o| o.name == n.name)).collect();
    if let Some(standard) = added.iter().find(|a| !a.is_custom()) {
        return Err(not_updatable(id, &format!("Schema[{}]", standard.name), "add a standard attribute"));
    }
    Ok(added)
}

/// What `DescribeUserPool` gives, in the template's shape (all supported properties).
fn live_json(pool: &UserPoolType) -> Map<String, Json> {
    let mut out = Map::new();
    let strs = |v: Vec<&str>| json!(v);
    if let Some(n) = pool.name() {
        out.insert("UserPoolName".into(), json!(n));
    }
    out.insert("UsernameAttributes".into(), strs(pool.username_attributes().iter().map(|a| a.as_str()).collect()));
    out.insert("AliasAttributes".into(), strs(pool.alias_attributes().iter().map(|a| a.as_str()).collect()));
    out.insert(
        "AutoVerifiedAttributes".into(),
        strs(pool.auto_verified_attributes().iter().map(|a| a.as_str()).collect()),
    );
    out.insert("MfaConfiguration".into(), json!(pool.mfa_configuration().map(|m| m.as_str()).unwrap_or("OFF")));
    out.insert(
        "DeletionProtection".into(),
        json!(pool.deletion_protection().map(|d| d.as_str()).unwrap_or("INACTIVE")),
    );
    if let Some(r) = pool.account_recovery_setting() {
        let options: Vec<Json> = r
            .recovery_mechanisms()
            .iter()
            .map(|o| json!({"Name": o.name().as_str(), "Priority": o.priority()}))
            .collect();
        out.insert("AccountRecoverySetting".into(), json!({"RecoveryMechanisms": options}));
    }
    if let Some(p) = pool.policies().and_then(|p| p.password_policy()) {
        let mut pp = Map::new();
        if let Some(v) = p.minimum_length() {
            pp.insert("MinimumLength".into(), json!(v));
        }
        if let Some(v) = p.password_history_size() {
            pp.insert("PasswordHistorySize".into(), json!(v));
        }
        pp.insert("RequireLowercase".into(), json!(p.require_lowercase()));
        pp.insert("RequireNumbers".into(), json!(p.require_numbers()));
        pp.insert("RequireSymbols".into(), json!(p.require_symbols()));
        pp.insert("RequireUppercase".into(), json!(p.require_uppercase()));
        pp.insert("TemporaryPasswordValidityDays".into(), json!(p.temporary_password_validity_days()));
        out.insert("Policies".into(), json!({"PasswordPolicy": pp}));
    }
    if let Some(e) = pool.email_configuration() {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        };
        put("ConfigurationSet", e.configuration_set());
        put("EmailSendingAccount", e.email_sending_account().map(|a| a.as_str()));
        put("From", e.from());
        put("ReplyToEmailAddress", e.reply_to_email_address());
        put("SourceArn", e.source_arn());
        out.insert("EmailConfiguration".into(), Json::Object(m));
    }
    if let Some(a) = pool.admin_create_user_config() {
        let mut m = Map::new();
        m.insert("AllowAdminCreateUserOnly".into(), json!(a.allow_admin_create_user_only()));
        if let Some(t) = a.invite_message_template() {
            let mut tm = Map::new();
            for (k, v) in [
                ("EmailMessage", t.email_message()),
                ("EmailSubject", t.email_subject()),
                ("SMSMessage", t.sms_message()),
            ] {
                if let Some(v) = v {
                    tm.insert(k.into(), json!(v));
                }
            }
            m.insert("InviteMessageTemplate".into(), Json::Object(tm));
        }
        m.insert("UnusedAccountValidityDays".into(), json!(a.unused_account_validity_days()));
        out.insert("AdminCreateUserConfig".into(), Json::Object(m));
    }
    let schema: Vec<Json> = pool
        .schema_attributes()
        .iter()
        .map(|a| {
            let mut m = Map::new();
            m.insert("Name".into(), json!(a.name().unwrap_or_default()));
            if let Some(t) = a.attribute_data_type() {
                m.insert("AttributeDataType".into(), json!(t.as_str()));
            }
            for (k, v) in [
                ("DeveloperOnlyAttribute", a.developer_only_attribute()),
                ("Mutable", a.mutable()),
                ("Required", a.required()),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            if let Some(r) = a.number_attribute_constraints() {
                m.insert(
                    "NumberAttributeConstraints".into(),
                    json!({"MinValue": r.min_value(), "MaxValue": r.max_value()}),
                );
            }
            if let Some(l) = a.string_attribute_constraints() {
                m.insert(
                    "StringAttributeConstraints".into(),
                    json!({"MinLength": l.min_length(), "MaxLength": l.max_length()}),
                );
            }
            Json::Object(m)
        })
        .collect();
    out.insert("Schema".into(), Json::Array(schema));
    out
}

/// The live name of a `Schema` entry: a custom attribute is `custom:<name>` in Cognito
/// (`dev:custom:<name>` for a developer-only one).
fn template_name(live: &str) -> &str {
    live.strip_prefix("dev:").unwrap_or(live).strip_prefix("custom:").unwrap_or(live)
}

/// `Schema` as the template gives it: each attribute it lists, with the members it gives;
/// then any custom attribute it does not list (the standard ones always exist).
fn schema_shown(live: &[Json], desired: &[Json]) -> Vec<Json> {
    let name = |v: &Json| v["Name"].as_str().map(template_name).unwrap_or_default().to_string();
    let mut out = Vec::new();
    for d in desired {
        let wanted = d["Name"].as_str().unwrap_or_default();
        if let Some(l) = live.iter().find(|l| name(l) == wanted) {
            let mut shown = project(l, d);
            shown["Name"] = json!(wanted);
            out.push(shown);
        }
    }
    for l in live {
        let n = name(l);
        let custom = l["Name"].as_str().is_some_and(|s| s != n);
        if custom && !desired.iter().any(|d| d["Name"].as_str() == Some(n.as_str())) {
            let mut shown = l.clone();
            shown["Name"] = json!(n);
            out.push(shown);
        }
    }
    out
}

/// The live properties to show, given the template's.
fn shown(live: Map<String, Json>, desired: &Json) -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    for (k, v) in live {
        let wanted = desired.get(&k).filter(|d| !d.is_null());
        let value = match (k.as_str(), wanted) {
            ("Schema", d) => {
                let d = d.and_then(Json::as_array).cloned().unwrap_or_default();
                let s = schema_shown(v.as_array().map(Vec::as_slice).unwrap_or_default(), &d);
                (!s.is_empty() || !d.is_empty()).then_some(json!(s))
            }
            (_, Some(d)) => Some(project(&v, d)),
            // Not in the template: shown only where it is not Cognito's default.
            ("UsernameAttributes" | "AliasAttributes" | "AutoVerifiedAttributes", None) => {
                v.as_array().is_some_and(|a| !a.is_empty()).then_some(v)
            }
            ("MfaConfiguration", None) => (v != "OFF").then_some(v),
            ("DeletionProtection", None) => (v != "INACTIVE").then_some(v),
            ("UserPoolName", None) => None,
            (_, None) => None,
        };
        if let Some(value) = value {
            out.insert(k, value);
        }
    }
    out
}

#[async_trait]
impl AwsType for UserPool {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let err = |path: &str, message: &str| Err(PropsError { path: path.into(), message: message.into() });
        for (i, m) in p.enabled_mfas.iter().flatten().enumerate() {
            match m.as_str() {
                "SOFTWARE_TOKEN_MFA" | "EMAIL_OTP" => {}
                "SMS_MFA" => return err(&format!("EnabledMfas[{i}]"), "SMS_MFA needs `SmsConfiguration`, which cairn does not support yet; use SOFTWARE_TOKEN_MFA or EMAIL_OTP"),
                _ => return err(&format!("EnabledMfas[{i}]"), "expected one of SOFTWARE_TOKEN_MFA, EMAIL_OTP, SMS_MFA"),
            }
        }
        let mfa = p.mfa_configuration.as_deref().unwrap_or("OFF");
        if mfa != "OFF" && !p.has_mfa_methods() {
            return err(
                "MfaConfiguration",
                "OPTIONAL and ON need an MFA method: give `EnabledMfas` (SOFTWARE_TOKEN_MFA or EMAIL_OTP)",
            );
        }
        if p.username_attributes.as_ref().is_some_and(|a| !a.is_empty())
            && p.alias_attributes.as_ref().is_some_and(|a| !a.is_empty())
        {
            return err("AliasAttributes", "a user pool takes `UsernameAttributes` or `AliasAttributes`, not both");
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = pool_name(cx, p);
        let cognito: Client = cx.client();
        let tags: HashMap<String, String> = cx.tags(&p.tags()).into_iter().collect();
        // With MFA methods, MFA is turned on after them (`SetUserPoolMfaConfig`).
        let mfa = if p.has_mfa_methods() { UserPoolMfaType::Off } else { p.mfa() };
        let out = cognito
            .create_user_pool()
            .pool_name(&name)
            .set_username_attributes(
                p.username_attributes
                    .as_ref()
                    .map(|a| a.iter().map(|s| UsernameAttributeType::from(s.as_str())).collect()),
            )
            .set_alias_attributes(
                p.alias_attributes.as_ref().map(|a| a.iter().map(|s| AliasAttributeType::from(s.as_str())).collect()),
            )
            .set_auto_verified_attributes(p.auto_verified())
            .mfa_configuration(mfa)
            .set_account_recovery_setting(p.recovery()?)
            .set_policies(p.policies())
            .set_email_configuration(p.email())
            .set_schema((!p.schema.is_empty()).then(|| p.schema.iter().map(Attribute::sdk).collect()))
            .set_admin_create_user_config(p.admin_create_user())
            .set_deletion_protection(p.deletion_protection())
            .set_user_pool_tags(Some(tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let pool = out.user_pool.unwrap_or_else(|| UserPoolType::builder().build());
        let id = pool.id().unwrap_or_default().to_string();
        let arn = pool.arn().unwrap_or_default().to_string();
        if p.has_mfa_methods() {
            cx.created(&id, set_mfa(&cognito, &id, p)).await?;
        }
        Ok(data(cx, &id, &arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let cognito: Client = cx.client();
        let out = cognito.describe_user_pool().user_pool_id(physical_id).send().await.map_err(sdk_error)?;
        let Some(pool) = out.user_pool else { return Ok(None) };
        let mut props = shown(live_json(&pool), desired);
        let tags: BTreeMap<String, String> =
            pool.user_pool_tags().map(|t| t.clone().into_iter().collect()).unwrap_or_default();
        if let Some(t) = crate::kit::tags::visible_map(&tags, cx.ctx, desired.get("UserPoolTags")) {
            props.insert("UserPoolTags".into(), t);
        }
        let arn = pool.arn().unwrap_or_default();
        // The tags are shown here, as the map `UserPoolTags` is (the kit's are `[{Key, Value}]`).
        Ok(Some(Live { data: data(cx, physical_id, arn), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let id = physical_id;
        let list = |v: &Option<Vec<String>>| {
            let mut v = v.clone().unwrap_or_default();
            v.sort();
            v
        };
        if list(&old.username_attributes) != list(&new.username_attributes) {
            return Err(not_updatable(id, "UsernameAttributes", "change the username attributes"));
        }
        if list(&old.alias_attributes) != list(&new.alias_attributes) {
            return Err(not_updatable(id, "AliasAttributes", "change the alias attributes"));
        }
        let added = added_attributes(id, &old.schema, &new.schema)?;
        let cognito: Client = cx.client();
        if !added.is_empty() {
            cognito
                .add_custom_attributes()
                .user_pool_id(id)
                .set_custom_attributes(Some(added.iter().map(|a| a.sdk()).collect()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if new.has_mfa_methods() {
            set_mfa(&cognito, id, new).await?;
        }
        // `UpdateUserPool` resets what it is not given: the whole desired configuration.
        let live = cognito.describe_user_pool().user_pool_id(id).send().await.map_err(sdk_error)?;
        let live_tags: BTreeMap<String, String> = live
            .user_pool
            .as_ref()
            .and_then(|p| p.user_pool_tags())
            .map(|t| t.clone().into_iter().collect())
            .unwrap_or_default();
        let arn = live.user_pool.as_ref().and_then(|p| p.arn()).unwrap_or_default().to_string();
        let diff = cx.tag_update(&live_tags, &new.tags());
        let mut tags = live_tags;
        tags.retain(|k, _| !diff.remove.contains(k));
        tags.extend(diff.set);
        cognito
            .update_user_pool()
            .user_pool_id(id)
            .pool_name(pool_name(cx, new))
            .set_auto_verified_attributes(Some(new.auto_verified().unwrap_or_default()))
            .mfa_configuration(new.mfa())
            .set_account_recovery_setting(new.recovery()?)
            .set_policies(new.policies())
            .set_email_configuration(new.email())
            .set_admin_create_user_config(new.admin_create_user())
            .deletion_protection(new.deletion_protection().unwrap_or(DeletionProtectionType::Inactive))
            .set_user_pool_tags(Some(tags.into_iter().collect()))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(cx, id, &arn))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let cognito: Client = cx.client();
        cognito.delete_user_pool().user_pool_id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = pool_name(cx, p);
        let cognito: Client = cx.client();
        let pools =
            crate::kit::paging::all(cognito.list_user_pools().max_results(60).into_paginator().items().send()).await?;
        for pool in pools.iter().filter(|pl| pl.name() == Some(name.as_str())) {
            let Some(id) = pool.id() else { continue };
            let out = cognito.describe_user_pool().user_pool_id(id).send().await.map_err(sdk_error)?;
            let Some(live) = out.user_pool else { continue };
            let tags: BTreeMap<String, String> =
                live.user_pool_tags().map(|t| t.clone().into_iter().collect()).unwrap_or_default();
            if ids::is_owned(cx.ctx, &tags) {
                return Ok(Some(data(cx, id, live.arn().unwrap_or_default())));
            }
        }
        Ok(None)
    }

    fn fixture(&self) -> Fixture {
        // The kefir example's pool (email recovery, a lax password policy, Cognito's email,
        // an immutable required email), with two departures for moto 5.2.5
        // (`moto/cognitoidp/models.py`): its `UpdateUserPool` rebuilds the pool's settings
        // from its defaults and the update's parameters, so it forgets `UsernameAttributes`
        // (which AWS keeps: the call does not take it), and its `DescribeUserPool` reports
        // the `MfaConfiguration` given to `CreateUserPool`, not the one
        // `SetUserPoolMfaConfig` set. So `UsernameAttributes` is left out, and MFA is
        // turned on by the update (`SetUserPoolMfaConfig`, then `UpdateUserPool` with it)
        // rather than at create. Its `UpdateUserPool` ignores `PoolName` too: the name
        // stays.
        let create = json!({
            "UserPoolName": "kefir-{uid}",
            "AutoVerifiedAttributes": ["email"],
            "MfaConfiguration": "OFF",
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
            "Policies": {"PasswordPolicy": {
                "MinimumLength": 8, "RequireLowercase": false, "RequireNumbers": false,
                "RequireSymbols": false, "RequireUppercase": false}},
            "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
            "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": true, "Mutable": false}],
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": false},
            "DeletionProtection": "INACTIVE",
            "UserPoolTags": {"Environment": "conformance", "Application": "kefir-app"}
        });
        let update = json!({
            "UserPoolName": "kefir-{uid}",
            "AutoVerifiedAttributes": ["email"],
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "AccountRecoverySetting": {"RecoveryMechanisms": [
                {"Name": "verified_email", "Priority": 1}, {"Name": "admin_only", "Priority": 2}]},
            "Policies": {"PasswordPolicy": {
                "MinimumLength": 12, "RequireLowercase": true, "RequireNumbers": true,
                "RequireSymbols": false, "RequireUppercase": false, "TemporaryPasswordValidityDays": 3}},
            "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
            "Schema": [
                {"Name": "email", "AttributeDataType": "String", "Required": true, "Mutable": false},
                {"Name": "tenant", "AttributeDataType": "String", "Mutable": true,
                 "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}}],
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": true},
            "DeletionProtection": "INACTIVE",
            "UserPoolTags": {"Environment": "conformance", "Stage": "update"}
        });
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            // No property is create-only in the registry schema.
            replace: None,
            nested_replace: None,
            // Without MFA methods, `CreateUserPool` is the whole create.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        UserPool::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn mfa_needs_a_method_and_sms_is_refused() {
        let e = parse(json!({"MfaConfiguration": "OPTIONAL"})).unwrap_err();
        assert!(e.message.starts_with("MfaConfiguration: OPTIONAL and ON need an MFA method"), "{}", e.message);
        let e = parse(json!({"MfaConfiguration": "ON", "EnabledMfas": ["SMS_MFA"]})).unwrap_err();
        assert!(e.message.starts_with("EnabledMfas[0]: SMS_MFA needs `SmsConfiguration`"), "{}", e.message);
        assert!(parse(json!({"MfaConfiguration": "ON", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"]})).is_ok());
        let e = parse(json!({"UsernameAttributes": ["email"], "AliasAttributes": ["email"]})).unwrap_err();
        assert!(e.message.starts_with("AliasAttributes: "), "{}", e.message);
    }

    #[test]
    fn cognito_defaults_do_not_show_and_custom_attributes_keep_the_template_name() {
        let live = json!({
            "UserPoolName": "p", "UsernameAttributes": [], "AliasAttributes": [], "AutoVerifiedAttributes": ["email"],
            "MfaConfiguration": "OFF", "DeletionProtection": "INACTIVE",
            "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireLowercase": true, "TemporaryPasswordValidityDays": 7}},
            "Schema": [
                {"Name": "sub", "AttributeDataType": "String", "Mutable": false, "Required": true},
                {"Name": "email", "AttributeDataType": "String", "Mutable": false, "Required": true, "DeveloperOnlyAttribute": false,
                 "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}},
                {"Name": "custom:tenant", "AttributeDataType": "String", "Mutable": true}]
        });
        let desired = json!({
            "UserPoolName": "p",
            "Policies": {"PasswordPolicy": {"MinimumLength": 8}},
            "Schema": [{"Name": "email", "Required": true}, {"Name": "tenant", "Mutable": true}]
        });
        let out = shown(live.as_object().unwrap().clone(), &desired);
        assert_eq!(
            Json::Object(out.into_iter().collect()),
            json!({
                "UserPoolName": "p",
                "AutoVerifiedAttributes": ["email"],
                "Policies": {"PasswordPolicy": {"MinimumLength": 8}},
                "Schema": [{"Name": "email", "Required": true}, {"Name": "tenant", "Mutable": true}]
            })
        );
        // A custom attribute the template does not list shows (drift).
        let out = shown(live.as_object().unwrap().clone(), &json!({}));
        assert_eq!(out["Schema"], json!([{"Name": "tenant", "AttributeDataType": "String", "Mutable": true}]));
    }

    #[test]
    fn only_custom_attributes_are_added_in_place() {
        let a = |v: Json| serde_json::from_value::<Attribute>(v).unwrap();
        let email = a(json!({"Name": "email", "Required": true}));
        let tenant = a(json!({"Name": "tenant", "AttributeDataType": "String"}));
        let old = vec![email.clone()];
        let new = vec![email.clone(), tenant.clone()];
        assert_eq!(added_attributes("p", &old, &new).unwrap(), vec![&tenant]);
        let e = added_attributes("p", &new, &old).unwrap_err();
        assert!(
            e.message.contains("cannot remove an attribute of an existing user pool (`Schema[tenant]`)"),
            "{}",
            e.message
        );
        let e = added_attributes("p", &old, &[email, a(json!({"Name": "name"}))]).unwrap_err();
        assert!(e.message.contains("`Schema[name]`"), "{}", e.message);
    }
}
