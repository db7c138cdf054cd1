//! `AWS::SSM::Parameter`: a Systems Manager Parameter Store parameter.
//!
//! | property | notes |
//! | --- | --- |
//! | `Name` | string, create-only; generated when absent (`{stack}-{logical id}-{seed}`, 128 characters) |
//! | `Type` | `String`, `StringList`, or `SecureString` (cairn's extension, below), required |
//! | `Value` | string, required; a `StringList` is comma-separated |
//! | `Description`, `Tier`, `AllowedPattern`, `Policies` | write-only in the schema: sent, never compared with the live parameter |
//! | `DataType` | `text` (the default) or `aws:ec2:image` |
//! | `KeyId` | cairn's own, `SecureString` only: the KMS key that encrypts the value (an id, ARN or alias; AWS's default `alias/aws/ssm`); write-only: sent, never compared |
//! | `Tags` | a map of key to value (not a list), merged with the stack's tags and cairn's ownership tags |
//!
//! ## `Type: SecureString`, a cairn extension
//!
//! CloudFormation refuses it: the registry schema's `Type` enum is `String`, `StringList`
//! ("Parameters of type SecureString are not supported by CloudFormation"), and a template
//! can only read one (`{{resolve:ssm-secure:NAME}}` in the properties that take it). cairn
//! takes it for this type (its `Type` enum is widened when the schema is loaded), because
//! a platform that keeps its database password in Parameter Store
//! (`/epistemix/{env}/database/password`) should make that parameter with the stack that
//! makes the database.
//!
//! **Give the value from a `NoEcho` parameter** (in the stack file, set with
//! `cairn config set --secret`, or `{env: NAME}`): cairn then keeps it encrypted in the
//! state, and never shows it in a preview, an error or a log. A literal value in the
//! template is in the template, and in the state in plain text, like any other property.
//! `PutParameter` sends it with `Type: SecureString` (and `KeyId` when given); AWS encrypts
//! it with KMS. `read` is `GetParameter` with `WithDecryption`, so a drift check compares
//! the live value with the desired one (cairn does not compare a value that holds a
//! secret: a refresh records no drift of it, and never writes it in the state in plain text).
//!
//! `Fn::GetAtt Param.Value` of a `SecureString` parameter is refused before anything is
//! created (attributes are kept in the state in plain text): give the consumer the same
//! `NoEcho` parameter, or the parameter's name (`Ref`) to read at run time.
//!
//! - `Ref`: the parameter name.
//! - `Fn::GetAtt`: `Type`, `Value` (the CloudFormation documentation's; not of a
//!   `SecureString`), and `Arn`.
//!
//! `create` is one `PutParameter` (without `Overwrite`, so an existing parameter of the
//! same name is refused with `ParameterAlreadyExists`, not taken over), with the tags.
//! `update` is `PutParameter` with `Overwrite` and every setting (AWS takes no tags with
//! `Overwrite`), then the tags compared with the live ones
//! ([`Cx::tag_update`](crate::kit::Cx::tag_update)): `RemoveTagsFromResource`,
//! `AddTagsToResource`, each only when needed. `read` is `GetParameter` (`WithDecryption`)
//! and `ListTagsForResource`. `find` looks up the name (given or generated) and adopts the
//! parameter when it carries this resource's ownership tags (they are put in the call that
//! creates it). The value is never written in an error or a log line by cairn (`Props` has
//! no `Debug`); AWS's own error messages for a rejected value name the pattern, not the value.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging};
use cairn_core::provider::{ProviderError, RefusedAttribute, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::{ids, tags, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::SSM::Parameter";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        let mut schema = crate::schema::with_attributes(
            crate::schema::load(crate::schema::SSM_PARAMETER, Some("Name"), &["Type", "Value"]),
            &["Type", "Value"],
        );
        // cairn's extension: `SecureString`, with its `KeyId` (module doc).
        schema.enums.entry("Type".to_string()).or_default().push(json!(SECURE_STRING));
        schema.properties.insert("KeyId".to_string(), "string");
        schema.scalar_types.insert("KeyId".to_string(), "string");
        schema.write_only.push("KeyId".to_string());
        schema.refused_attributes.push(RefusedAttribute {
            attribute: "Value".to_string(),
            property: "Type".to_string(),
            value: SECURE_STRING.to_string(),
            why: "a SecureString parameter's value is not an attribute (attributes are kept in the state in \
                  plain text); give the consumer the NoEcho parameter the value comes from, or the parameter's \
                  name (Ref) to read it at run time"
                .to_string(),
        });
        schema
    }),
    not_found: &["ParameterNotFound"],
    timeout: Duration::from_secs(60),
    reference: "the parameter name",
};

/// cairn's extension of `Type` (module doc).
const SECURE_STRING: &str = "SecureString";

/// What `DataType` is when it is not set.
const DEFAULT_DATA_TYPE: &str = "text";

/// No `Debug`: `Value` may be a secret.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    name: Option<String>,
    r#type: String,
    value: String,
    description: Option<String>,
    tier: Option<String>,
    allowed_pattern: Option<String>,
    data_type: Option<String>,
    policies: Option<String>,
    key_id: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// The `AWS::SSM::Parameter` resource type.
pub struct Parameter;

impl Parameter {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Parameter> {
        Typed::new(Parameter, aws)
    }
}

/// The characters of a generated name (a name's path separators `/` are the user's).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn parameter_name(cx: &Cx<'_>, p: &Props) -> String {
    p.name.clone().unwrap_or_else(|| cx.generated_name(128, false, name_char))
}

/// The attributes: no `Value` for a `SecureString` (attributes are kept in plain text).
fn data(name: &str, arn: &str, kind: &str, value: &str) -> ResourceData {
    let mut attributes =
        BTreeMap::from([("Arn".to_string(), Value::from(arn)), ("Type".to_string(), Value::from(kind))]);
    if kind != SECURE_STRING {
        attributes.insert("Value".to_string(), Value::from(value));
    }
    ResourceData { physical_id: name.to_string(), attributes }
}

fn ssm_tags(tags: BTreeMap<String, String>) -> Result<Vec<aws_sdk_ssm::types::Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_ssm::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::with_code("InvalidRequest", format!("Tags: {e}")))
        })
        .collect()
}

/// `PutParameter` with every setting of `p`; `Overwrite` for an update (which takes no tags).
fn put(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    p: &Props,
) -> aws_sdk_ssm::operation::put_parameter::builders::PutParameterFluentBuilder {
    ssm.put_parameter()
        .name(name)
        .value(&p.value)
        .r#type(ParameterType::from(p.r#type.as_str()))
        .set_description(p.description.clone())
        .set_tier(p.tier.as_deref().map(ParameterTier::from))
        .set_allowed_pattern(p.allowed_pattern.clone())
        .set_data_type(p.data_type.clone())
        .set_policies(p.policies.clone())
        .set_key_id(p.key_id.clone())
}

async fn get(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<aws_sdk_ssm::types::Parameter, ProviderError> {
    ssm.get_parameter().name(name).with_decryption(true).send().await.map_err(sdk_error)?.parameter.ok_or_else(|| {
        ProviderError::with_code("InvalidResponse", format!("GetParameter returned no parameter for {name}"))
    })
}

/// All of the parameter's tags.
async fn live_tags(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out.tag_list.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect())
}

fn parameter_data(name: &str, p: &aws_sdk_ssm::types::Parameter) -> ResourceData {
    let kind = p.r#type.as_ref().map(|t| t.as_str()).unwrap_or_default();
    data(name, p.arn.as_deref().unwrap_or_default(), kind, p.value.as_deref().unwrap_or_default())
}

#[async_trait]
impl AwsType for Parameter {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        match (&p.key_id, p.r#type.as_str()) {
            (Some(_), t) if t != SECURE_STRING => Err(PropsError {
                path: "KeyId".into(),
                message: format!("KeyId is for a SecureString parameter only; this one is a {t}"),
            }),
            _ => Ok(()),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = parameter_name(cx, p);
        let ssm: aws_sdk_ssm::Client = cx.client();
        put(&ssm, &name, p)
            .set_tags(Some(ssm_tags(cx.tags(&tags::from_map(&p.tags)))?))
            .send()
            .await
            .map_err(sdk_error)?;
        let got = cx.created(&name, get(&ssm, &name)).await?;
        Ok(parameter_data(&name, &got))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ssm: aws_sdk_ssm::Client = cx.client();
        let p = get(&ssm, physical_id).await?;
        let tags = live_tags(&ssm, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if wants("Name") {
            props.insert("Name".to_string(), json!(p.name));
        }
        props.insert("Type".to_string(), json!(p.r#type.as_ref().map(|t| t.as_str())));
        props.insert("Value".to_string(), json!(p.value));
        if let Some(d) = p.data_type.as_ref().filter(|d| *d != DEFAULT_DATA_TYPE || wants("DataType")) {
            props.insert("DataType".to_string(), json!(d));
        }
        Ok(Some(Live { data: parameter_data(physical_id, &p), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ssm: aws_sdk_ssm::Client = cx.client();
        put(&ssm, physical_id, new).overwrite(true).send().await.map_err(sdk_error)?;
        let diff = cx.tag_update(&live_tags(&ssm, physical_id).await?, &tags::from_map(&new.tags));
        diff.apply(
            |keys| async {
                ssm.remove_tags_from_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(physical_id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(())
            },
            |set| async {
                ssm.add_tags_to_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(physical_id)
                    .set_tags(Some(ssm_tags(set)?))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(parameter_data(physical_id, &get(&ssm, physical_id).await?))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ssm: aws_sdk_ssm::Client = cx.client();
        ssm.delete_parameter().name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = parameter_name(cx, p);
        let ssm: aws_sdk_ssm::Client = cx.client();
        let got = get(&ssm, &name).await?;
        Ok(ids::is_owned(cx.ctx, &live_tags(&ssm, &name).await?).then(|| parameter_data(&name, &got)))
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({
                "Type": "String",
                "Value": "db.internal",
                "Description": "cairn conformance",
                "AllowedPattern": "^[a-z.]+$",
                "Tags": {"Team": "conformance", "Stage": "create"}
            }),
            update: Some(json!({
                "Type": "StringList",
                "Value": "5432,5433",
                "Description": "cairn conformance, updated",
                "Tier": "Standard",
                "Tags": {"Team": "conformance", "Owner": "cairn"}
            })),
            replace: Some(json!({
                "Name": "/cairn/conformance/{uid}/database/port",
                "Type": "StringList",
                "Value": "5432,5433",
                "Description": "cairn conformance, updated",
                "Tier": "Standard",
                "Tags": {"Team": "conformance", "Owner": "cairn"}
            })),
            nested_replace: None,
            // `PutParameter` makes it whole (value and tags): nothing after.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(v: Json) -> ProviderError {
        match parse(v) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Parameter::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_a_parameter_with_map_tags() {
        let p = parse(json!({"Type": "String", "Value": "5432", "Tags": {"Env": "dev"}})).unwrap();
        assert_eq!((p.r#type.as_str(), p.value.as_str()), ("String", "5432"));
        assert_eq!(p.tags["Env"], "dev");
        let e = refused(json!({"Type": "String", "Value": "x", "KeyId": "alias/aws/ssm"}));
        assert!(e.message.starts_with("KeyId: "), "{}", e.message);
        assert!(e.message.contains("SecureString parameter only"), "{}", e.message);
    }

    #[test]
    fn secure_string_is_cairns_extension_of_the_type_enum() {
        use cairn_core::provider::ResourceType;
        let t = Parameter::new(Aws::unconfigured());
        let ok = Value::from_json(&json!({"Type": "SecureString", "Value": "hunter2", "KeyId": "alias/epistemix"}));
        assert!(t.check(&ok).is_empty(), "{:?}", t.check(&ok));
        let p = parse(json!({"Type": "SecureString", "Value": "hunter2", "KeyId": "alias/epistemix"})).unwrap();
        assert_eq!(p.key_id.as_deref(), Some("alias/epistemix"));
        // The rest of the enum still holds.
        let failures = t.check(&Value::from_json(&json!({"Type": "Secret", "Value": "hunter2"})));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].path, "Type");
        assert!(failures[0].message.contains("`SecureString`"), "{}", failures[0].message);
        assert!(!failures[0].message.contains("hunter2"));
        // Only the loaded schema is widened: the vendored one is CloudFormation's.
        assert!(!crate::schema::SSM_PARAMETER.contains("SecureString\""));
        assert!(SPEC.schema.write_only.iter().any(|p| p == "KeyId"));
    }

    #[test]
    fn a_secure_string_has_no_value_attribute() {
        let d = data("/app/password", "arn:aws:ssm:us-east-1:1:parameter/app/password", "SecureString", "hunter2");
        assert!(!d.attributes.contains_key("Value"));
        assert_eq!(d.attributes["Type"], Value::from("SecureString"));
        let d = data("/app/host", "arn", "String", "db.internal");
        assert_eq!(d.attributes["Value"], Value::from("db.internal"));
        let refused = &SPEC.schema.refused_attributes;
        assert_eq!(refused.len(), 1);
        assert_eq!((refused[0].attribute.as_str(), refused[0].value.as_str()), ("Value", "SecureString"));
    }

    #[test]
    fn attributes_and_generated_names() {
        assert_eq!(SPEC.schema.attributes, ["Arn", "Type", "Value"]);
        let ctx = crate::test_ctx(TYPE_NAME, "Db.Host");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let p = parse(json!({"Type": "String", "Value": "x"})).unwrap();
        assert_eq!(parameter_name(&cx, &p), "dev-Db-Host-abcdefghijkl");
    }
}
