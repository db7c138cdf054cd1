//! `AWS::Logs::LogGroup`: a CloudWatch Logs log group.
//!
//! | property | notes |
//! | --- | --- |
//! | `LogGroupName` | string, create-only; generated when absent (`{stack}-{logical id}-{seed}`, 512 characters) |
//! | `RetentionInDays` | one of the schema's day counts; absent: the events never expire |
//! | `KmsKeyId` | the ARN of a KMS key that encrypts the log data |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `LogGroupClass`, `DataProtectionPolicy`,
//! `FieldIndexPolicies`, `ResourcePolicyDocument`, `DeletionProtectionEnabled`,
//! `BearerTokenAuthenticationEnabled`.
//!
//! - `Ref`: the log group name.
//! - `Fn::GetAtt`: `Arn` (`arn:aws:logs:{region}:{account}:log-group:{name}:*`, as
//!   `DescribeLogGroups` gives it).
//!
//! `create` makes the group with its KMS key and tags in `CreateLogGroup`, waits until
//! `DescribeLogGroups` shows it, then puts the retention policy. `update`: a changed
//! retention is `PutRetentionPolicy` (or `DeleteRetentionPolicy` when removed), a changed key
//! `AssociateKmsKey` (or `DisassociateKmsKey`), tags compared with the live ones
//! ([`Cx::tag_update`](crate::kit::Cx::tag_update)): `TagResource`, `UntagResource`, each
//! only when needed. `find` looks up the deterministic name and adopts the group when it
//! carries this resource's ownership tags (a group is tagged in the call that creates it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as Group;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Logs::LogGroup";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::LOGS_LOG_GROUP, Some("LogGroupName"), &[])),
    not_found: &["ResourceNotFoundException"],
    timeout: Duration::from_secs(60),
    reference: "the log group name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    log_group_name: Option<String>,
    retention_in_days: Option<i32>,
    kms_key_id: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::Logs::LogGroup` resource type.
pub struct LogGroup;

impl LogGroup {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<LogGroup> {
        Typed::new(LogGroup, aws)
    }
}

/// A character CloudWatch Logs accepts in a log group name (`[.\-_/#A-Za-z0-9]`).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/#".contains(c)
}

fn group_name(cx: &Cx<'_>, p: &Props) -> String {
    p.log_group_name.clone().unwrap_or_else(|| cx.generated_name(512, false, name_char))
}

fn data(name: &str, arn: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::from([("Arn".to_string(), Value::from(arn))]) }
}

/// The group of exactly this name, every page of `DescribeLogGroups` by prefix.
async fn describe(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) -> Result<Option<Group>, ProviderError> {
    let groups =
        paging::all(logs.describe_log_groups().log_group_name_prefix(name).into_paginator().items().send()).await?;
    Ok(groups.into_iter().find(|g| g.log_group_name.as_deref() == Some(name)))
}

/// The group's `Arn` attribute (ending in `:*`) and the ARN its tags are kept under
/// (without it).
fn arns(g: &Group) -> (String, String) {
    let arn = g.arn.clone().unwrap_or_default();
    let bare = g.log_group_arn.clone().unwrap_or_else(|| arn.trim_end_matches(":*").to_string());
    (arn, bare)
}

async fn tags(logs: &aws_sdk_cloudwatchlogs::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = logs.list_tags_for_resource().resource_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().collect())
}

/// The group, or a `ResourceNotFoundException` naming it (what AWS says of a call on a
/// missing group).
async fn existing(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) -> Result<Group, ProviderError> {
    describe(logs, name).await?.ok_or_else(|| {
        ProviderError::with_code("ResourceNotFoundException", format!("log group {name} does not exist"))
    })
}

async fn set_retention(
    logs: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
    days: Option<i32>,
) -> Result<(), ProviderError> {
    match days {
        Some(d) => {
            logs.put_retention_policy().log_group_name(name).retention_in_days(d).send().await.map_err(sdk_error)?;
        }
        None => {
            logs.delete_retention_policy().log_group_name(name).send().await.map_err(sdk_error)?;
        }
    }
    Ok(())
}

#[async_trait]
impl AwsType for LogGroup {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = group_name(cx, p);
        let logs: aws_sdk_cloudwatchlogs::Client = cx.client();
        logs.create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(p.kms_key_id.clone())
            .set_tags(Some(cx.tags(&p.tags).into_iter().collect()))
            .send()
            .await
            .map_err(sdk_error)?;
        cx.created(&name, async {
            let group =
                cx.wait_until(&format!("log group {name} to exist"), || async { describe(&logs, &name).await }).await?;
            if p.retention_in_days.is_some() {
                set_retention(&logs, &name, p.retention_in_days).await?;
            }
            Ok(data(&name, &arns(&group).0))
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let logs: aws_sdk_cloudwatchlogs::Client = cx.client();
        let Some(g) = describe(&logs, physical_id).await? else { return Ok(None) };
        let (arn, bare) = arns(&g);
        let mut props = BTreeMap::new();
        if desired.get("LogGroupName").is_some_and(|v| !v.is_null()) {
            props.insert("LogGroupName".to_string(), json!(physical_id));
        }
        if let Some(d) = g.retention_in_days {
            props.insert("RetentionInDays".into(), json!(d));
        }
        if let Some(k) = &g.kms_key_id {
            props.insert("KmsKeyId".into(), json!(k));
        }
        let tags = tags(&logs, &bare).await?;
        Ok(Some(Live { data: data(physical_id, &arn), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let logs: aws_sdk_cloudwatchlogs::Client = cx.client();
        let group = existing(&logs, physical_id).await?;
        if old.retention_in_days != new.retention_in_days || group.retention_in_days != new.retention_in_days {
            set_retention(&logs, physical_id, new.retention_in_days).await?;
        }
        if old.kms_key_id != new.kms_key_id {
            match &new.kms_key_id {
                Some(k) => {
                    logs.associate_kms_key()
                        .log_group_name(physical_id)
                        .kms_key_id(k)
                        .send()
                        .await
                        .map_err(sdk_error)?;
                }
                None => {
                    logs.disassociate_kms_key().log_group_name(physical_id).send().await.map_err(sdk_error)?;
                }
            }
        }
        let (arn, bare) = arns(&group);
        let diff = cx.tag_update(&tags(&logs, &bare).await?, &new.tags);
        let (client, bare) = (&logs, bare.as_str());
        diff.apply(
            |keys| async move {
                client.untag_resource().resource_arn(bare).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                let tags = set.into_iter().collect();
                client.tag_resource().resource_arn(bare).set_tags(Some(tags)).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(data(physical_id, &arn))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let logs: aws_sdk_cloudwatchlogs::Client = cx.client();
        logs.delete_log_group().log_group_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = group_name(cx, p);
        let logs: aws_sdk_cloudwatchlogs::Client = cx.client();
        let Some(group) = describe(&logs, &name).await? else { return Ok(None) };
        let (arn, bare) = arns(&group);
        Ok(ids::is_owned(cx.ctx, &tags(&logs, &bare).await?).then(|| data(&name, &arn)))
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({"RetentionInDays": 7, "Tags": [{"Key": "Team", "Value": "conformance"}]}),
            update: Some(
                json!({"RetentionInDays": 14, "Tags": [{"Key": "Team", "Value": "platform"}, {"Key": "Stage", "Value": "update"}]}),
            ),
            replace: Some(json!({
                "LogGroupName": "/cairn/conformance/{uid}",
                "RetentionInDays": 14,
                "Tags": [{"Key": "Team", "Value": "platform"}, {"Key": "Stage", "Value": "update"}]
            })),
            nested_replace: None,
            partial_after: Some("PutRetentionPolicy"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        LogGroup::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn retention_is_an_integer_from_the_schema_list() {
        assert_eq!(parse(json!({"RetentionInDays": "30"})).unwrap().retention_in_days, Some(30));
        let t = LogGroup::new(Aws::unconfigured());
        use cairn_core::provider::ResourceType;
        let failures = t.check(&cairn_core::Value::from_json(&json!({"RetentionInDays": 2})));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].path, "RetentionInDays");
        let e = parse(json!({"LogGroupClass": "STANDARD"})).unwrap_err();
        assert!(e.message.starts_with("LogGroupClass: cairn does not support `LogGroupClass`"), "{}", e.message);
    }

    #[test]
    fn generated_names_keep_slashes_and_follow_the_seed() {
        let ctx = crate::test_ctx(TYPE_NAME, "App.Logs");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        assert_eq!(group_name(&cx, &parse(json!({})).unwrap()), "dev-App-Logs-abcdefghijkl");
        assert!(name_char('/') && name_char('#') && !name_char(':') && !name_char(' '));
    }
}
