//! `AWS::KMS::Alias`: a friendly name for a KMS key.
//!
//! | property | notes |
//! | --- | --- |
//! | `AliasName` | string, required, create-only: `alias/` then letters, digits, `/_-`; `alias/aws/` is AWS's own |
//! | `TargetKeyId` | string, required: the key's id or ARN (compared by key id) |
//!
//! - `Ref`: the alias name (`alias/...`).
//! - `Fn::GetAtt`: none (the schema lists no read-only property).
//!
//! `create` is `CreateAlias`; an update of `TargetKeyId` is `UpdateAlias`; `delete` is
//! `DeleteAlias`. `read` finds the alias in `ListAliases` (of every page). `find` (after a
//! crash mid-create) adopts the alias of this name when it already points at the key the
//! template names: an alias has no tags, and its name is the user's.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kms::types::AliasListEntry;
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::NOT_FOUND;
use crate::kit::{paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::KMS::Alias";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::KMS_ALIAS, Some("AliasName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the alias name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    alias_name: String,
    target_key_id: String,
}

/// The `AWS::KMS::Alias` resource type.
pub struct Alias;

impl Alias {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Alias> {
        Typed::new(Alias, aws)
    }
}

/// A key's id from its id or ARN (`arn:aws:kms:us-east-1:1:key/ID` gives `ID`).
fn key_id(id_or_arn: &str) -> &str {
    match id_or_arn.starts_with("arn:") {
        true => id_or_arn.rsplit_once(":key/").map(|(_, id)| id).unwrap_or(id_or_arn),
        false => id_or_arn,
    }
}

fn data(name: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::new() }
}

async fn lookup(kms: &aws_sdk_kms::Client, name: &str) -> Result<Option<AliasListEntry>, ProviderError> {
    let aliases = paging::all(kms.list_aliases().into_paginator().items().send()).await?;
    Ok(aliases.into_iter().find(|a| a.alias_name.as_deref() == Some(name)))
}

#[async_trait]
impl AwsType for Alias {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let Some(rest) = p.alias_name.strip_prefix("alias/") else {
            return Err(PropsError {
                path: "AliasName".into(),
                message: format!("a KMS alias name begins with `alias/` (`alias/{}`)", p.alias_name),
            });
        };
        if rest.starts_with("aws/") {
            return Err(PropsError {
                path: "AliasName".into(),
                message: "`alias/aws/` names are AWS's own (the keys AWS services manage); choose another name".into(),
            });
        }
        if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c)) {
            return Err(PropsError {
                path: "AliasName".into(),
                message: format!(
                    "`{}`: after `alias/`, a KMS alias name takes letters, digits, `/`, `_` and `-`",
                    p.alias_name
                ),
            });
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match (property, old.as_str(), new.as_str()) {
            ("TargetKeyId", Some(a), Some(b)) => key_id(a) == key_id(b),
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        kms.create_alias().alias_name(&p.alias_name).target_key_id(&p.target_key_id).send().await.map_err(sdk_error)?;
        Ok(data(&p.alias_name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        let Some(a) = lookup(&kms, physical_id).await? else { return Ok(None) };
        let props = BTreeMap::from([
            ("AliasName".to_string(), json!(physical_id)),
            ("TargetKeyId".to_string(), json!(a.target_key_id.unwrap_or_default())),
        ]);
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        if key_id(&old.target_key_id) != key_id(&new.target_key_id) {
            let kms: aws_sdk_kms::Client = cx.client();
            kms.update_alias()
                .alias_name(physical_id)
                .target_key_id(&new.target_key_id)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        kms.delete_alias().alias_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        let Some(a) = lookup(&kms, &p.alias_name).await? else { return Ok(None) };
        let target = a.target_key_id.unwrap_or_default();
        let ours = target == key_id(&p.target_key_id)
            || match kms.describe_key().key_id(&p.target_key_id).send().await {
                Ok(out) => out.key_metadata.is_some_and(|k| k.key_id == target),
                Err(_) => false,
            };
        Ok(ours.then(|| data(&p.alias_name)))
    }

    fn fixture(&self) -> Fixture {
        let key = json!({"Type": "AWS::KMS::Key", "Properties": {"PendingWindowInDays": 7}});
        Fixture {
            support: json!({"First": key.clone(), "Second": key}),
            create: json!({"AliasName": "alias/conformance-{uid}", "TargetKeyId": {"Ref": "First"}}),
            update: Some(
                json!({"AliasName": "alias/conformance-{uid}", "TargetKeyId": {"Fn::GetAtt": ["Second", "Arn"]}}),
            ),
            replace: Some(json!({"AliasName": "alias/conformance-{uid}-moved", "TargetKeyId": {"Ref": "Second"}})),
            nested_replace: None,
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Alias::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn names_are_checked_and_keys_compared_by_id() {
        assert!(parse(json!({"AliasName": "alias/app/data-1", "TargetKeyId": "k"})).is_ok());
        let e = parse(json!({"AliasName": "app", "TargetKeyId": "k"})).unwrap_err();
        assert!(e.message.contains("begins with `alias/`"), "{}", e.message);
        let e = parse(json!({"AliasName": "alias/aws/s3", "TargetKeyId": "k"})).unwrap_err();
        assert!(e.message.contains("AWS's own"), "{}", e.message);
        assert_eq!(key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd"), "1234abcd");
        assert_eq!(key_id("1234abcd"), "1234abcd");
        assert!(Alias.equivalent("TargetKeyId", &json!("arn:aws:kms:us-east-1:1:key/ab"), &json!("ab")));
    }
}
