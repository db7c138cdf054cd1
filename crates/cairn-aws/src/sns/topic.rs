//! `AWS::SNS::Topic`: an SNS topic, standard or FIFO.
//!
//! | property | notes |
//! | --- | --- |
//! | `TopicName` | string, create-only; generated when absent (256 characters, `.fifo` appended for a FIFO topic) |
//! | `FifoTopic` | boolean, create-only (a FIFO topic's name must end in `.fifo`) |
//! | `ContentBasedDeduplication` | boolean, FIFO topics |
//! | `DisplayName`, `KmsMasterKeyId`, `SignatureVersion`, `TracingConfig` | topic attributes |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Not taken (refused by `check`, never ignored): `Subscription` (subscriptions whose
//! confirmation depends on the protocol; declare `AWS::SNS::Subscription` resources once
//! cairn has them), `DeliveryStatusLogging`, `DataProtectionPolicy`, `ArchivePolicy`,
//! `FifoThroughputScope`, `MaximumMessageSize`.
//!
//! - `Ref`: the topic ARN.
//! - `Fn::GetAtt`: `TopicArn`, `TopicName`.
//!
//! A create refuses a name that is already a topic's (SNS's `CreateTopic` hands back an
//! existing topic of that name), then makes the topic with its attributes and tags in one
//! `CreateTopic`. An update sends each changed attribute with `SetTopicAttributes` (SNS
//! takes one at a time); a removed attribute goes back to SNS's default (`DisplayName` and
//! `KmsMasterKeyId` cleared, `SignatureVersion` `1`, `TracingConfig` `PassThrough`,
//! `ContentBasedDeduplication` `false`). Tags are compared with the topic's live tags:
//! `TagResource` with the new and changed ones, `UntagResource` with the removed keys.
//! `delete` deletes the topic (and with it its subscriptions, as SNS does). `find` (after
//! a crash mid-create) looks up the deterministic name's ARN and adopts the topic when it
//! carries this resource's ownership tags (they are set in `CreateTopic`).
//!
//! `read` reports an attribute when the template sets it or when it differs from SNS's
//! default for a new topic.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::SNS::Topic";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        let schema = crate::schema::load(crate::schema::SNS_TOPIC, Some("TopicName"), &[]);
        crate::schema::with_attributes(schema, &["TopicName"])
    }),
    not_found: &["NotFound", "NotFoundException"],
    timeout: Duration::from_secs(60),
    reference: "the topic ARN",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    topic_name: Option<String>,
    fifo_topic: Option<bool>,
    content_based_deduplication: Option<bool>,
    display_name: Option<String>,
    kms_master_key_id: Option<String>,
    signature_version: Option<String>,
    tracing_config: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// SNS's value of each updatable attribute on a new topic (what a removed one goes back to).
const DEFAULTS: &[(&str, &str)] = &[
    ("DisplayName", ""),
    ("KmsMasterKeyId", ""),
    ("SignatureVersion", "1"),
    ("TracingConfig", "PassThrough"),
    ("ContentBasedDeduplication", "false"),
];

impl Props {
    fn fifo(&self) -> bool {
        self.fifo_topic == Some(true)
    }

    /// The topic attributes the template sets, as SNS takes them.
    fn attributes(&self) -> BTreeMap<&'static str, String> {
        let mut out = BTreeMap::new();
        if self.fifo() {
            out.insert("FifoTopic", "true".to_string());
        }
        let b = |v: Option<bool>| v.map(|b| b.to_string());
        for (k, v) in [
            ("ContentBasedDeduplication", b(self.content_based_deduplication)),
            ("DisplayName", self.display_name.clone()),
            ("KmsMasterKeyId", self.kms_master_key_id.clone()),
            ("SignatureVersion", self.signature_version.clone()),
            ("TracingConfig", self.tracing_config.clone()),
        ] {
            if let Some(v) = v {
                out.insert(k, v);
            }
        }
        out
    }
}

/// The `AWS::SNS::Topic` resource type.
pub struct Topic;

impl Topic {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Topic> {
        Typed::new(Topic, aws)
    }
}

fn topic_name(cx: &Cx<'_>, p: &Props) -> String {
    match &p.topic_name {
        Some(n) => n.clone(),
        None => cx.generated_fifo_name(256, p.fifo()),
    }
}

/// The ARN a topic of this name has in the resource's region and account.
fn arn_for(cx: &Cx<'_>, name: &str) -> String {
    format!("arn:{}:sns:{}:{}:{name}", cx.ctx.partition, cx.region(), cx.ctx.account_id)
}

fn name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn data(arn: &str) -> ResourceData {
    ResourceData {
        physical_id: arn.to_string(),
        attributes: BTreeMap::from([
            ("TopicArn".to_string(), Value::from(arn)),
            ("TopicName".to_string(), Value::from(name_of(arn))),
        ]),
    }
}

fn sns_tags(tags: BTreeMap<String, String>) -> Result<Vec<aws_sdk_sns::types::Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::with_code("InvalidRequest", format!("Tags: {e}")))
        })
        .collect()
}

async fn attributes(sns: &aws_sdk_sns::Client, arn: &str) -> Result<HashMap<String, String>, ProviderError> {
    let out = sns.get_topic_attributes().topic_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.attributes.unwrap_or_default())
}

async fn tags(sns: &aws_sdk_sns::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = sns.list_tags_for_resource().resource_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect())
}

#[async_trait]
impl AwsType for Topic {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if let Some(name) = &p.topic_name {
            if p.fifo() != name.ends_with(".fifo") {
                let message = if p.fifo() {
                    "a FIFO topic's name must end in `.fifo`"
                } else {
                    "only a FIFO topic's name ends in `.fifo` (set `FifoTopic: true`)"
                };
                return Err(PropsError { path: "TopicName".into(), message: message.into() });
            }
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = topic_name(cx, p);
        let sns: aws_sdk_sns::Client = cx.client();
        let arn = arn_for(cx, &name);
        if cx.found(attributes(&sns, &arn).await)?.is_some() {
            return Err(ProviderError::with_code(
                "AlreadyExists",
                format!("topic {name} already exists ({arn}): choose another TopicName, or remove it to let cairn generate one"),
            ));
        }
        let attrs: HashMap<String, String> = p.attributes().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let out = sns
            .create_topic()
            .name(&name)
            .set_attributes(Some(attrs))
            .set_tags(Some(sns_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = out
            .topic_arn
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "SNS CreateTopic returned no topic ARN"))?;
        Ok(data(&arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let sns: aws_sdk_sns::Client = cx.client();
        let live = attributes(&sns, physical_id).await?;
        let tags = tags(&sns, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if wants("TopicName") {
            props.insert("TopicName".to_string(), json!(name_of(physical_id)));
        }
        let fifo = live.get("FifoTopic").is_some_and(|v| v == "true");
        if fifo || wants("FifoTopic") {
            props.insert("FifoTopic".into(), json!(fifo));
        }
        for (k, default) in DEFAULTS {
            let Some(v) = live.get(*k) else { continue };
            if wants(k) || v != default {
                let value = if *k == "ContentBasedDeduplication" { json!(v == "true") } else { json!(v) };
                props.insert(k.to_string(), value);
            }
        }
        Ok(Some(Live { data: data(physical_id), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let sns: aws_sdk_sns::Client = cx.client();
        let (before, after) = (old.attributes(), new.attributes());
        for (k, default) in DEFAULTS {
            let value = after.get(k).map(String::as_str).unwrap_or(default);
            if before.get(k).map(String::as_str).unwrap_or(default) != value {
                sns.set_topic_attributes()
                    .topic_arn(physical_id)
                    .attribute_name(*k)
                    .attribute_value(value)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        let tags = cx.tag_update(&tags(&sns, physical_id).await?, &new.tags);
        if !tags.remove.is_empty() {
            sns.untag_resource()
                .resource_arn(physical_id)
                .set_tag_keys(Some(tags.remove))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if !tags.set.is_empty() {
            sns.tag_resource()
                .resource_arn(physical_id)
                .set_tags(Some(sns_tags(tags.set)?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let sns: aws_sdk_sns::Client = cx.client();
        sns.delete_topic().topic_arn(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let sns: aws_sdk_sns::Client = cx.client();
        let arn = arn_for(cx, &topic_name(cx, p));
        if cx.found(attributes(&sns, &arn).await)?.is_none() {
            return Ok(None);
        }
        Ok(ids::is_owned(cx.ctx, &tags(&sns, &arn).await?).then(|| data(&arn)))
    }

    fn fixture(&self) -> Fixture {
        let create = json!({
            "DisplayName": "cairn conformance",
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let update = json!({
            "DisplayName": "cairn conformance, updated",
            "KmsMasterKeyId": "alias/aws/sns",
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["TopicName"] = json!("conf-topic-{uid}.fifo");
        replace["FifoTopic"] = json!(true);
        replace["ContentBasedDeduplication"] = json!(true);
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // One call makes the topic with its attributes and tags: a refused
            // `CreateTopic` is the partial failure (nothing is made).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Topic::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn attributes_names_and_arns() {
        let p = parse(json!({"DisplayName": "d", "FifoTopic": "true", "TopicName": "t.fifo"})).unwrap();
        let a = p.attributes();
        assert_eq!(a["FifoTopic"], "true");
        assert_eq!(a["DisplayName"], "d");
        let e = parse(json!({"TopicName": "t.fifo"})).unwrap_err();
        assert!(e.message.starts_with("TopicName: only a FIFO topic's name"), "{}", e.message);
        let e = parse(json!({"Subscription": []})).unwrap_err();
        assert!(e.message.starts_with("Subscription: cairn does not support `Subscription`"), "{}", e.message);
        let ctx = crate::test_ctx(TYPE_NAME, "Events");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let name = topic_name(&cx, &parse(json!({"FifoTopic": true})).unwrap());
        assert_eq!(name, "dev-Events-abcdefghijkl.fifo");
        assert_eq!(arn_for(&cx, &name), "arn:aws:sns:us-east-1:123456789012:dev-Events-abcdefghijkl.fifo");
        assert_eq!(name_of(&arn_for(&cx, &name)), name);
    }
}
