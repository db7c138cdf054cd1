//! `AWS::SQS::Queue`: an SQS queue, standard or FIFO.
//!
//! | property | notes |
//! | --- | --- |
//! | `QueueName` | string, create-only; generated when absent (80 characters, `.fifo` appended for a FIFO queue) |
//! | `FifoQueue` | boolean, create-only (a FIFO queue's name must end in `.fifo`) |
//! | `ContentBasedDeduplication`, `DeduplicationScope`, `FifoThroughputLimit` | FIFO settings |
//! | `VisibilityTimeout`, `MessageRetentionPeriod`, `DelaySeconds`, `MaximumMessageSize`, `ReceiveMessageWaitTimeSeconds` | integers (seconds, bytes) |
//! | `RedrivePolicy` | `{deadLetterTargetArn, maxReceiveCount}`, as a mapping or JSON text |
//! | `RedriveAllowPolicy` | `{redrivePermission, sourceQueueArns}`, as a mapping or JSON text |
//! | `SqsManagedSseEnabled`, `KmsMasterKeyId`, `KmsDataKeyReusePeriodSeconds` | encryption at rest |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! That is every property of the schema.
//!
//! - `Ref`: the queue URL.
//! - `Fn::GetAtt`: `Arn`, `QueueName`, `QueueUrl`.
//!
//! A create refuses a name that is already a queue's (SQS's `CreateQueue` would hand back
//! an existing queue whose attributes match), then makes the queue with its attributes and
//! tags in one `CreateQueue`, and waits until SQS answers for it. SQS refuses to re-create a
//! name deleted less than 60 seconds ago (`QueueDeletedRecently`): a replacement that keeps
//! a fixed `QueueName` deletes first and then retries `CreateQueue` until SQS accepts it
//! (within the type's timeout, two minutes). An update sends the changed attributes in one
//! `SetQueueAttributes`; an attribute removed from the template goes back to SQS's default
//! (a removed `RedrivePolicy`, `RedriveAllowPolicy` or `KmsMasterKeyId` is cleared). Tags
//! are compared with the queue's live tags: `TagQueue` with the new and changed ones,
//! `UntagQueue` with the removed keys. `delete` deletes the queue and waits until SQS no
//! longer answers for it. `find` (after a crash mid-create) looks up the deterministic name
//! and adopts the queue when it carries this resource's ownership tags (they are set in
//! `CreateQueue`).
//!
//! `read` reports an attribute when the template sets it or when it differs from SQS's
//! default for a new queue.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::wait::Transient;
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::SQS::Queue";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        let schema = crate::schema::load(crate::schema::SQS_QUEUE, Some("QueueName"), &[]);
        crate::schema::with_attributes(schema, &["QueueName"])
    }),
    // The JSON protocol's code, and the query protocol's (which SQS still sends for
    // compatibility).
    not_found: &["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"],
    // A fixed name is refused for 60 seconds after its queue was deleted.
    timeout: Duration::from_secs(120),
    reference: "the queue URL",
};

/// SQS refuses a name whose queue was deleted less than 60 seconds ago.
const DELETED_RECENTLY: Transient = Transient {
    code: "QueueDeletedRecently",
    message_contains: None,
    waiting_for: "SQS to accept the name of a queue deleted less than 60 seconds ago",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    queue_name: Option<String>,
    fifo_queue: Option<bool>,
    content_based_deduplication: Option<bool>,
    deduplication_scope: Option<String>,
    fifo_throughput_limit: Option<String>,
    visibility_timeout: Option<i64>,
    message_retention_period: Option<i64>,
    delay_seconds: Option<i64>,
    maximum_message_size: Option<i64>,
    receive_message_wait_time_seconds: Option<i64>,
    redrive_policy: Option<Json>,
    redrive_allow_policy: Option<Json>,
    sqs_managed_sse_enabled: Option<bool>,
    kms_master_key_id: Option<String>,
    kms_data_key_reuse_period_seconds: Option<i64>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// SQS's value of each attribute for a new queue (what a removed attribute goes back to).
/// `MaximumMessageSize` has been 1 MiB since August 2025 (256 KiB before).
const DEFAULTS: &[(&str, &str)] = &[
    ("VisibilityTimeout", "30"),
    ("MessageRetentionPeriod", "345600"),
    ("DelaySeconds", "0"),
    ("MaximumMessageSize", "1048576"),
    ("ReceiveMessageWaitTimeSeconds", "0"),
    ("ContentBasedDeduplication", "false"),
    ("DeduplicationScope", "queue"),
    ("FifoThroughputLimit", "perQueue"),
    ("KmsDataKeyReusePeriodSeconds", "300"),
    ("RedrivePolicy", ""),
    ("RedriveAllowPolicy", ""),
    ("KmsMasterKeyId", ""),
];

/// The attributes that hold JSON text.
const JSON_ATTRIBUTES: [&str; 2] = ["RedrivePolicy", "RedriveAllowPolicy"];

/// A policy given as a mapping or as JSON text, as SQS takes it (JSON text).
fn policy_text(v: &Json, path: &str) -> Result<String, PropsError> {
    match v {
        Json::Object(_) => Ok(v.to_string()),
        Json::String(s) if serde_json::from_str::<Json>(s).is_ok_and(|j| j.is_object()) => Ok(s.clone()),
        _ => Err(PropsError { path: path.into(), message: "expected a mapping, or JSON text of one".into() }),
    }
}

/// A policy as a mapping (JSON text parsed), for comparison.
fn policy_value(v: &Json) -> Json {
    match v {
        Json::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

impl Props {
    fn fifo(&self) -> bool {
        self.fifo_queue == Some(true)
    }

    /// The queue attributes the template sets, as SQS takes them.
    fn attributes(&self) -> Result<BTreeMap<&'static str, String>, PropsError> {
        let mut out = BTreeMap::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.insert(k, v);
            }
        };
        let n = |v: Option<i64>| v.map(|n| n.to_string());
        let b = |v: Option<bool>| v.map(|b| b.to_string());
        // SQS takes `FifoQueue` only as `true`; a standard queue is one without it.
        put("FifoQueue", self.fifo().then(|| "true".to_string()));
        put("ContentBasedDeduplication", b(self.content_based_deduplication));
        put("DeduplicationScope", self.deduplication_scope.clone());
        put("FifoThroughputLimit", self.fifo_throughput_limit.clone());
        put("VisibilityTimeout", n(self.visibility_timeout));
        put("MessageRetentionPeriod", n(self.message_retention_period));
        put("DelaySeconds", n(self.delay_seconds));
        put("MaximumMessageSize", n(self.maximum_message_size));
        put("ReceiveMessageWaitTimeSeconds", n(self.receive_message_wait_time_seconds));
        put("SqsManagedSseEnabled", b(self.sqs_managed_sse_enabled));
        put("KmsMasterKeyId", self.kms_master_key_id.clone());
        put("KmsDataKeyReusePeriodSeconds", n(self.kms_data_key_reuse_period_seconds));
        if let Some(p) = &self.redrive_policy {
            out.insert("RedrivePolicy", policy_text(p, "RedrivePolicy")?);
        }
        if let Some(p) = &self.redrive_allow_policy {
            out.insert("RedriveAllowPolicy", policy_text(p, "RedriveAllowPolicy")?);
        }
        Ok(out)
    }
}

/// The `AWS::SQS::Queue` resource type.
pub struct Queue;

impl Queue {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Queue> {
        Typed::new(Queue, aws)
    }
}

/// The queue's name: the template's, or one generated from the seed (80 characters at most,
/// `.fifo` included for a FIFO queue).
fn queue_name(cx: &Cx<'_>, p: &Props) -> String {
    match &p.queue_name {
        Some(n) => n.clone(),
        None => cx.generated_fifo_name(80, p.fifo()),
    }
}

/// The name at the end of a queue URL.
fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

fn data(url: &str, arn: &str) -> ResourceData {
    ResourceData {
        physical_id: url.to_string(),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::from(arn)),
            ("QueueName".to_string(), Value::from(name_of(url))),
            ("QueueUrl".to_string(), Value::from(url)),
        ]),
    }
}

fn sqs_attributes(attrs: &BTreeMap<&'static str, String>) -> HashMap<QueueAttributeName, String> {
    attrs.iter().map(|(k, v)| (QueueAttributeName::from(*k), v.clone())).collect()
}

/// Every attribute of the queue, by name.
async fn attributes(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out.attributes.unwrap_or_default().into_iter().map(|(k, v)| (k.as_str().to_string(), v)).collect())
}

async fn tags(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = sqs.list_queue_tags().queue_url(url).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().collect())
}

/// The URL of the queue named `name`, `None` when there is none.
async fn url_of(cx: &Cx<'_>, sqs: &aws_sdk_sqs::Client, name: &str) -> Result<Option<String>, ProviderError> {
    let out = cx.found(sqs.get_queue_url().queue_name(name).send().await.map_err(sdk_error))?;
    Ok(out.and_then(|o| o.queue_url))
}

fn arn_of(attrs: &BTreeMap<String, String>) -> &str {
    attrs.get("QueueArn").map(String::as_str).unwrap_or_default()
}

#[async_trait]
impl AwsType for Queue {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.attributes()?;
        if let Some(name) = &p.queue_name {
            if p.fifo() != name.ends_with(".fifo") {
                let message = if p.fifo() {
                    "a FIFO queue's name must end in `.fifo`"
                } else {
                    "only a FIFO queue's name ends in `.fifo` (set `FifoQueue: true`)"
                };
                return Err(PropsError { path: "QueueName".into(), message: message.into() });
            }
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        if JSON_ATTRIBUTES.contains(&property) {
            loose_eq(&policy_value(old), &policy_value(new))
        } else {
            loose_eq(old, new)
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = queue_name(cx, p);
        let sqs: aws_sdk_sqs::Client = cx.client();
        if let Some(url) = url_of(cx, &sqs, &name).await? {
            return Err(ProviderError::with_code(
                "AlreadyExists",
                format!(
                    "queue {name} already exists ({url}): choose another QueueName, or remove it to let cairn generate one"
                ),
            ));
        }
        let attrs = sqs_attributes(&p.attributes()?);
        let tags: HashMap<String, String> = cx.tags(&p.tags).into_iter().collect();
        let out = cx
            .retrying(&[DELETED_RECENTLY], || async {
                sqs.create_queue()
                    .queue_name(&name)
                    .set_attributes(Some(attrs.clone()))
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map_err(sdk_error)
            })
            .await?;
        let url = out
            .queue_url
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "SQS CreateQueue returned no queue URL"))?;
        let live = cx
            .created(&url, async {
                cx.wait_until(&format!("queue {name} to exist"), || async { cx.found(attributes(&sqs, &url).await) })
                    .await
            })
            .await?;
        Ok(data(&url, arn_of(&live)))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let sqs: aws_sdk_sqs::Client = cx.client();
        let live = attributes(&sqs, physical_id).await?;
        let tags = tags(&sqs, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let default = |k: &str| DEFAULTS.iter().find(|(d, _)| *d == k).map(|(_, v)| *v);
        let mut props = BTreeMap::new();
        if wants("QueueName") {
            props.insert("QueueName".to_string(), json!(name_of(physical_id)));
        }
        let fifo = live.get("FifoQueue").is_some_and(|v| v == "true");
        if fifo || wants("FifoQueue") {
            props.insert("FifoQueue".into(), json!(fifo));
        }
        let kms = live.get("KmsMasterKeyId").filter(|k| !k.is_empty());
        for (k, v) in &live {
            let value = match k.as_str() {
                "VisibilityTimeout"
                | "MessageRetentionPeriod"
                | "DelaySeconds"
                | "MaximumMessageSize"
                | "ReceiveMessageWaitTimeSeconds" => v.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(v)),
                "KmsDataKeyReusePeriodSeconds" if kms.is_some() || wants(k) => {
                    v.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(v))
                }
                "ContentBasedDeduplication" | "SqsManagedSseEnabled" => json!(v == "true"),
                "DeduplicationScope" | "FifoThroughputLimit" => json!(v),
                "KmsMasterKeyId" if !v.is_empty() => json!(v),
                "RedrivePolicy" | "RedriveAllowPolicy" if !v.is_empty() => policy_value(&json!(v)),
                _ => continue,
            };
            let at_default = match k.as_str() {
                // New queues are encrypted with SQS-owned keys unless a KMS key is set.
                "SqsManagedSseEnabled" => v == "true" || kms.is_some(),
                _ => default(k) == Some(v.as_str()),
            };
            if wants(k) || !at_default {
                props.insert(k.clone(), value);
            }
        }
        Ok(Some(Live { data: data(physical_id, arn_of(&live)), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let sqs: aws_sdk_sqs::Client = cx.client();
        let (before, after) = (old.attributes()?, new.attributes()?);
        let mut changed: BTreeMap<&'static str, String> =
            after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (*k, v.clone())).collect();
        for k in before.keys().filter(|k| !after.contains_key(*k)) {
            match (*k, DEFAULTS.iter().find(|(d, _)| d == k)) {
                (_, Some((_, v))) => {
                    changed.insert(k, v.to_string());
                }
                // Encryption with SQS-owned keys left out: SQS's default for a new queue.
                ("SqsManagedSseEnabled", None) if new.kms_master_key_id.is_none() => {
                    changed.insert(k, "true".into());
                }
                _ => {}
            }
        }
        if !changed.is_empty() {
            sqs.set_queue_attributes()
                .queue_url(physical_id)
                .set_attributes(Some(sqs_attributes(&changed)))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let tags = cx.tag_update(&tags(&sqs, physical_id).await?, &new.tags);
        if !tags.remove.is_empty() {
            sqs.untag_queue().queue_url(physical_id).set_tag_keys(Some(tags.remove)).send().await.map_err(sdk_error)?;
        }
        if !tags.set.is_empty() {
            sqs.tag_queue()
                .queue_url(physical_id)
                .set_tags(Some(tags.set.into_iter().collect()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(data(physical_id, arn_of(&attributes(&sqs, physical_id).await?)))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let sqs: aws_sdk_sqs::Client = cx.client();
        sqs.delete_queue().queue_url(physical_id).send().await.map_err(sdk_error)?;
        cx.wait_until(&format!("queue {} to be deleted", name_of(physical_id)), || async {
            Ok(cx.found(attributes(&sqs, physical_id).await)?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let sqs: aws_sdk_sqs::Client = cx.client();
        let Some(url) = url_of(cx, &sqs, &queue_name(cx, p)).await? else { return Ok(None) };
        if !ids::is_owned(cx.ctx, &tags(&sqs, &url).await?) {
            return Ok(None);
        }
        Ok(Some(data(&url, arn_of(&attributes(&sqs, &url).await?))))
    }

    fn fixture(&self) -> Fixture {
        // A dead-letter queue for the redrive policy (generated name).
        let dlq = json!({"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}});
        let redrive =
            |n: u32| json!({"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}, "maxReceiveCount": n});
        let create = json!({
            "VisibilityTimeout": 60,
            "MessageRetentionPeriod": 86400,
            "RedrivePolicy": redrive(3),
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let update = json!({
            "VisibilityTimeout": 120,
            "DelaySeconds": 5,
            "MaximumMessageSize": 2048,
            "ReceiveMessageWaitTimeSeconds": 10,
            "SqsManagedSseEnabled": false,
            "RedrivePolicy": redrive(5),
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["QueueName"] = json!("conf-queue-{uid}.fifo");
        replace["FifoQueue"] = json!(true);
        replace["ContentBasedDeduplication"] = json!(true);
        replace.as_object_mut().map(|m| m.remove("RedrivePolicy"));
        Fixture {
            support: json!({"DeadLetters": dlq}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // One call makes the queue with all of its settings and tags: a refused
            // `CreateQueue` is the partial failure (nothing is made).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Queue::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn attributes_as_sqs_takes_them() {
        let p = parse(json!({
            "VisibilityTimeout": "60",
            "FifoQueue": true,
            "QueueName": "jobs.fifo",
            "RedrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq", "maxReceiveCount": 3}
        }))
        .unwrap();
        let a = p.attributes().unwrap();
        assert_eq!(a["VisibilityTimeout"], "60");
        assert_eq!(a["FifoQueue"], "true");
        assert_eq!(a["RedrivePolicy"], r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":3}"#);
        // A standard queue is sent without `FifoQueue`.
        let p = parse(json!({"FifoQueue": false})).unwrap();
        assert!(!p.attributes().unwrap().contains_key("FifoQueue"));
        let e = parse(json!({"RedrivePolicy": "not json"})).unwrap_err();
        assert_eq!(e.message, "RedrivePolicy: expected a mapping, or JSON text of one");
    }

    #[test]
    fn fifo_names_end_in_fifo() {
        let e = parse(json!({"FifoQueue": true, "QueueName": "jobs"})).unwrap_err();
        assert_eq!(e.message, "QueueName: a FIFO queue's name must end in `.fifo`");
        let e = parse(json!({"QueueName": "jobs.fifo"})).unwrap_err();
        assert!(e.message.starts_with("QueueName: only a FIFO queue's name"), "{}", e.message);
        let ctx = crate::test_ctx(TYPE_NAME, "Jobs");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        assert_eq!(queue_name(&cx, &parse(json!({})).unwrap()), "dev-Jobs-abcdefghijkl");
        assert_eq!(queue_name(&cx, &parse(json!({"FifoQueue": true})).unwrap()), "dev-Jobs-abcdefghijkl.fifo");
    }

    #[test]
    fn redrive_policies_compare_by_meaning() {
        let text = json!(r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":"3"}"#);
        let map = json!({"maxReceiveCount": 3, "deadLetterTargetArn": "arn:x"});
        assert!(Queue.equivalent("RedrivePolicy", &text, &map));
        assert!(!Queue.equivalent(
            "RedrivePolicy",
            &text,
            &json!({"maxReceiveCount": 4, "deadLetterTargetArn": "arn:x"})
        ));
        assert_eq!(name_of("https://sqs.us-east-1.amazonaws.com/123456789012/jobs"), "jobs");
    }
}
