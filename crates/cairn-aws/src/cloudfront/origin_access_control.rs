//! `AWS::CloudFront::OriginAccessControl`: an origin access control (OAC), which a
//! distribution's S3 origin names (`OriginAccessControlId`) so that CloudFront signs its
//! requests to the bucket and the bucket can refuse everyone else.
//!
//! | property | notes |
//! | --- | --- |
//! | `OriginAccessControlConfig.Name` | string, required; unique in the account (AWS refuses a second OAC of the same name) |
//! | `OriginAccessControlConfig.Description` | string |
//! | `OriginAccessControlConfig.OriginAccessControlOriginType` | `s3`, `mediastore`, `lambda` or `mediapackagev2`, required |
//! | `OriginAccessControlConfig.SigningBehavior` | `always`, `never`, `no-override` or `always-amz-auth`, required |
//! | `OriginAccessControlConfig.SigningProtocol` | `sigv4` or `sigv4a`, required |
//!
//! Every property of the schema is supported; none is create-only, so every change is an
//! update. The type is not taggable.
//!
//! - `Ref`: the OAC id.
//! - `Fn::GetAtt`: `Id`.
//!
//! `create` is `CreateOriginAccessControl`. An update is `UpdateOriginAccessControl` with
//! the whole config and the `ETag` of a `GetOriginAccessControl` just before (`If-Match`);
//! `delete` reads the `ETag` the same way, then `DeleteOriginAccessControl` (AWS refuses
//! while a distribution still uses it: the engine deletes the distribution first). `find`
//! (after a crash mid-create) adopts the OAC of the template's name
//! (`ListOriginAccessControls`, every page): the name is required and unique in the
//! account, and the type carries no tags to tell its own from another's.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudfront::types::{
    OriginAccessControlConfig as SdkConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols,
};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{built, etag};
use crate::kit::{paging, AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::CloudFront::OriginAccessControl";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::CLOUDFRONT_ORIGIN_ACCESS_CONTROL, None, &[])),
    not_found: &["NoSuchOriginAccessControl"],
    timeout: Duration::from_secs(60),
    reference: "the origin access control id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    origin_access_control_config: Config,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Config {
    name: String,
    description: Option<String>,
    origin_access_control_origin_type: String,
    signing_behavior: String,
    signing_protocol: String,
}

/// The `AWS::CloudFront::OriginAccessControl` resource type.
pub struct OriginAccessControl;

impl OriginAccessControl {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<OriginAccessControl> {
        Typed::new(OriginAccessControl, aws)
    }
}

fn sdk_config(c: &Config) -> Result<SdkConfig, ProviderError> {
    built(
        SdkConfig::builder()
            .name(&c.name)
            // AWS keeps an absent description as "": send it so, and an update clears it.
            .description(c.description.clone().unwrap_or_default())
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::from(
                c.origin_access_control_origin_type.as_str(),
            ))
            .signing_behavior(OriginAccessControlSigningBehaviors::from(c.signing_behavior.as_str()))
            .signing_protocol(OriginAccessControlSigningProtocols::from(c.signing_protocol.as_str()))
            .build(),
    )
}

fn data(id: &str) -> ResourceData {
    ResourceData { physical_id: id.to_string(), attributes: BTreeMap::from([("Id".to_string(), Value::from(id))]) }
}

/// The OAC's current `ETag` (for `If-Match`).
async fn current_etag(cf: &aws_sdk_cloudfront::Client, id: &str) -> Result<String, ProviderError> {
    let out = cf.get_origin_access_control().id(id).send().await.map_err(sdk_error)?;
    etag(out.e_tag(), "GetOriginAccessControl", id)
}

#[async_trait]
impl AwsType for OriginAccessControl {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let out = cf
            .create_origin_access_control()
            .origin_access_control_config(sdk_config(&p.origin_access_control_config)?)
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.origin_access_control.map(|o| o.id).ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "CloudFront CreateOriginAccessControl answered without an id")
        })?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let out = cf.get_origin_access_control().id(physical_id).send().await.map_err(sdk_error)?;
        let Some(c) = out.origin_access_control.and_then(|o| o.origin_access_control_config) else {
            return Ok(None);
        };
        let mut config = serde_json::Map::new();
        config.insert("Name".into(), json!(c.name));
        let wanted = desired.pointer("/OriginAccessControlConfig/Description").is_some();
        match c.description.as_deref() {
            Some(d) if wanted || !d.is_empty() => config.insert("Description".into(), json!(d)),
            None if wanted => config.insert("Description".into(), json!("")),
            _ => None,
        };
        config.insert("OriginAccessControlOriginType".into(), json!(c.origin_access_control_origin_type.as_str()));
        config.insert("SigningBehavior".into(), json!(c.signing_behavior.as_str()));
        config.insert("SigningProtocol".into(), json!(c.signing_protocol.as_str()));
        let properties = BTreeMap::from([("OriginAccessControlConfig".to_string(), Json::Object(config))]);
        Ok(Some(Live { data: data(physical_id), properties, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let if_match = current_etag(&cf, physical_id).await?;
        cf.update_origin_access_control()
            .id(physical_id)
            .if_match(if_match)
            .origin_access_control_config(sdk_config(&new.origin_access_control_config)?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let if_match = current_etag(&cf, physical_id).await?;
        cf.delete_origin_access_control().id(physical_id).if_match(if_match).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let all = paging::all(cf.list_origin_access_controls().into_paginator().items().send()).await?;
        let name = &p.origin_access_control_config.name;
        Ok(all.iter().find(|o| o.name() == name).map(|o| data(o.id())))
    }

    fn fixture(&self) -> Fixture {
        let config = |description: &str, signing: &str| {
            json!({"OriginAccessControlConfig": {
                "Name": "conformance-{uid}",
                "Description": description,
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": signing,
                "SigningProtocol": "sigv4"}})
        };
        Fixture {
            support: json!({}),
            create: config("the frontend bucket", "always"),
            update: Some(config("the frontend bucket, signed unless the viewer signs", "no-override")),
            // No property is create-only.
            replace: None,
            nested_replace: None,
            // One call makes it.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        OriginAccessControl::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn the_config_is_typed_and_sent_whole() {
        let p = parse(json!({"OriginAccessControlConfig": {"Name": "site", "OriginAccessControlOriginType": "s3",
            "SigningBehavior": "always", "SigningProtocol": "sigv4"}}))
        .unwrap();
        let c = sdk_config(&p.origin_access_control_config).unwrap();
        assert_eq!(c.name(), "site");
        assert_eq!(c.description(), Some(""));
        assert_eq!(c.signing_behavior().as_str(), "always");
        assert_eq!(c.origin_access_control_origin_type().as_str(), "s3");
        let e = parse(json!({"OriginAccessControlConfig": {"Name": "site"}})).unwrap_err();
        assert!(e.message.contains("OriginAccessControlConfig"), "{}", e.message);
        use cairn_core::provider::ResourceType;
        let t = OriginAccessControl::new(Aws::unconfigured());
        let bad = json!({"OriginAccessControlConfig": {"Name": "site", "OriginAccessControlOriginType": "s3",
            "SigningBehavior": "sometimes", "SigningProtocol": "sigv4"}});
        let failures = t.check(&Value::from_json(&bad));
        assert!(failures.iter().any(|f| f.path.contains("SigningBehavior")), "{failures:?}");
    }
}
