//! `AWS::KMS::Key`: a KMS key.
//!
//! | property | notes |
//! | --- | --- |
//! | `Description` | string |
//! | `KeyPolicy` | a policy document (a mapping, or JSON text), compared by meaning; default: the policy CloudFormation gives a key (`kms:*` to the account's root) |
//! | `KeySpec` | default `SYMMETRIC_DEFAULT`; KMS cannot change it (see below) |
//! | `KeyUsage` | default `ENCRYPT_DECRYPT`; KMS cannot change it |
//! | `Origin` | default `AWS_KMS`; KMS cannot change it |
//! | `MultiRegion` | boolean, default `false`; KMS cannot change it |
//! | `EnableKeyRotation` | boolean, default `false` |
//! | `RotationPeriodInDays` | integer, write-only, default 365 (sent with `EnableKeyRotation`) |
//! | `Enabled` | boolean, default `true` |
//! | `PendingWindowInDays` | integer 7 to 30, write-only: the waiting period of the deletion (default 30) |
//! | `BypassPolicyLockoutSafetyCheck` | boolean, write-only, sent with `CreateKey` and `PutKeyPolicy` |
//! | `Tags` | `[{Key, Value}]` |
//!
//! The schema leaves nothing out that this type refuses.
//!
//! - `Ref`: the key id (a UUID).
//! - `Fn::GetAtt`: `Arn`, `KeyId`.
//!
//! `create` is `CreateKey` (policy, description, spec, usage, origin, multi-Region, tags),
//! then `EnableKeyRotation` (with the period) when asked, then `DisableKey` when `Enabled`
//! is `false`. An update sends what changed: `PutKeyPolicy`, `UpdateKeyDescription`,
//! `EnableKeyRotation`/`DisableKeyRotation`, `EnableKey`/`DisableKey`,
//! `UntagResource`/`TagResource` (against the live tags). A change of `KeySpec`, `KeyUsage`,
//! `Origin` or `MultiRegion` is refused, as CloudFormation refuses it: KMS cannot change
//! them, and replacing a key would schedule the deletion of the old one and with it of all
//! the data it encrypted; to change them, add a key under a new logical id and move the data.
//!
//! `delete` is `ScheduleKeyDeletion` with `PendingWindowInDays` (default 30): the key is
//! disabled and deleted at the end of the window, as KMS allows nothing quicker. A key
//! `PendingDeletion` counts as gone for `read` and `find`. `find` (after a crash
//! mid-create) adopts the key that carries this resource's ownership tags (`ListKeys`,
//! then `ListResourceTags` of each key): a key has no name, `CreateKey` takes no
//! idempotency token, and the tags are on the key from `CreateKey`.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{kms_tags, NOT_FOUND};
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::policy_doc;
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::KMS::Key";

pub(crate) static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::KMS_KEY, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(120),
    reference: "the key id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    description: Option<String>,
    #[serde(default, deserialize_with = "optional_document")]
    key_policy: Option<String>,
    key_spec: Option<String>,
    key_usage: Option<String>,
    enable_key_rotation: Option<bool>,
    rotation_period_in_days: Option<i32>,
    enabled: Option<bool>,
    multi_region: Option<bool>,
    origin: Option<String>,
    pending_window_in_days: Option<i32>,
    bypass_policy_lockout_safety_check: Option<bool>,
    #[serde(default)]
    tags: Vec<Tag>,
}

fn optional_document<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    policy_doc::text(d).map(Some)
}

impl Props {
    fn key_spec(&self) -> &str {
        self.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT")
    }
    fn key_usage(&self) -> &str {
        self.key_usage.as_deref().unwrap_or("ENCRYPT_DECRYPT")
    }
    fn origin(&self) -> &str {
        self.origin.as_deref().unwrap_or("AWS_KMS")
    }
    fn multi_region(&self) -> bool {
        self.multi_region.unwrap_or(false)
    }
    fn rotation(&self) -> bool {
        self.enable_key_rotation.unwrap_or(false)
    }
    fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
    fn bypass(&self) -> bool {
        self.bypass_policy_lockout_safety_check.unwrap_or(false)
    }
}

/// The policy CloudFormation gives a key whose template has no `KeyPolicy`: every KMS
/// action to the account's root (so IAM policies of the account decide).
fn default_policy(partition: &str, account: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
}

fn policy_text(cx: &Cx<'_>, p: &Props) -> String {
    p.key_policy.clone().unwrap_or_else(|| default_policy(&cx.ctx.partition, &cx.ctx.account_id).to_string())
}

/// What `ListResourceTags` answers for a key that `find` passes over.
const UNLISTABLE: &[&str] = &["AccessDeniedException", "NotFoundException", "KMSInvalidStateException"];

/// The `AWS::KMS::Key` resource type.
pub struct Key;

impl Key {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Key> {
        Typed::new(Key, aws)
    }
}

fn data(k: &KeyMetadata) -> ResourceData {
    ResourceData {
        physical_id: k.key_id.clone(),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::from(k.arn.clone().unwrap_or_default())),
            ("KeyId".to_string(), Value::from(k.key_id.as_str())),
        ]),
    }
}

/// Whether a key is on its way out (deletion scheduled): gone, for cairn.
fn going(k: &KeyMetadata) -> bool {
    matches!(k.key_state, Some(KeyState::PendingDeletion) | Some(KeyState::PendingReplicaDeletion))
}

/// The key's metadata, `None` once its deletion is scheduled.
async fn describe(kms: &aws_sdk_kms::Client, id: &str) -> Result<Option<KeyMetadata>, ProviderError> {
    let out = kms.describe_key().key_id(id).send().await.map_err(sdk_error)?;
    Ok(out.key_metadata.filter(|k| !going(k)))
}

async fn live_tags(kms: &aws_sdk_kms::Client, id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let tags = paging::all(kms.list_resource_tags().key_id(id).into_paginator().items().send()).await?;
    Ok(tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect())
}

async fn set_rotation(kms: &aws_sdk_kms::Client, id: &str, p: &Props) -> Result<(), ProviderError> {
    if p.rotation() {
        kms.enable_key_rotation()
            .key_id(id)
            .set_rotation_period_in_days(p.rotation_period_in_days)
            .send()
            .await
            .map_err(sdk_error)?;
    } else {
        kms.disable_key_rotation().key_id(id).send().await.map_err(sdk_error)?;
    }
    Ok(())
}

#[async_trait]
impl AwsType for Key {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if let Some(days) = p.pending_window_in_days {
            if !(7..=30).contains(&days) {
                return Err(PropsError {
                    path: "PendingWindowInDays".into(),
                    message: format!("KMS waits 7 to 30 days before it deletes a key, not {days}"),
                });
            }
        }
        if let Some(days) = p.rotation_period_in_days {
            if !(90..=2560).contains(&days) {
                return Err(PropsError {
                    path: "RotationPeriodInDays".into(),
                    message: format!("KMS rotates a key every 90 to 2560 days, not {days}"),
                });
            }
        }
        if p.rotation() && p.key_spec() != "SYMMETRIC_DEFAULT" {
            return Err(PropsError {
                path: "EnableKeyRotation".into(),
                message: format!(
                    "KMS rotates symmetric encryption keys only (`KeySpec: SYMMETRIC_DEFAULT`), not `{}` keys",
                    p.key_spec()
                ),
            });
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "KeyPolicy" => policy_doc::equivalent(old, new),
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        let out = kms
            .create_key()
            .policy(policy_text(cx, p))
            .set_description(p.description.clone())
            .key_spec(KeySpec::from(p.key_spec()))
            .key_usage(KeyUsageType::from(p.key_usage()))
            .origin(OriginType::from(p.origin()))
            .multi_region(p.multi_region())
            .bypass_policy_lockout_safety_check(p.bypass())
            .set_tags(Some(kms_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(sdk_error)?;
        let key = out.key_metadata.ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "KMS CreateKey answered without the key's metadata")
        })?;
        let id = key.key_id.clone();
        cx.created(&id, async {
            if p.rotation() {
                set_rotation(&kms, &id, p).await?;
            }
            if !p.enabled() {
                kms.disable_key().key_id(&id).send().await.map_err(sdk_error)?;
            }
            Ok(())
        })
        .await?;
        Ok(data(&key))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        let Some(k) = describe(&kms, physical_id).await? else { return Ok(None) };
        let wants = |name: &str| desired.get(name).is_some();
        let mut props = BTreeMap::new();
        let description = k.description.clone().unwrap_or_default();
        if wants("Description") || !description.is_empty() {
            props.insert("Description".to_string(), json!(description));
        }
        if let Some(s) = &k.key_spec {
            props.insert("KeySpec".into(), json!(s.as_str()));
        }
        if let Some(u) = &k.key_usage {
            props.insert("KeyUsage".into(), json!(u.as_str()));
        }
        if let Some(o) = &k.origin {
            props.insert("Origin".into(), json!(o.as_str()));
        }
        props.insert("MultiRegion".into(), json!(k.multi_region.unwrap_or(false)));
        if wants("Enabled") || !k.enabled {
            props.insert("Enabled".into(), json!(k.enabled));
        }
        let policy = kms.get_key_policy().key_id(physical_id).policy_name("default").send().await.map_err(sdk_error)?;
        if let Some(text) = policy.policy {
            let live = Json::String(text);
            let default = default_policy(&cx.ctx.partition, &cx.ctx.account_id);
            if wants("KeyPolicy") || !policy_doc::equivalent(&live, &default) {
                props.insert("KeyPolicy".into(), policy_doc::prefer_desired(&live, desired.get("KeyPolicy")));
            }
        }
        // KMS answers rotation questions for symmetric encryption keys only.
        if k.key_spec.as_ref().is_none_or(|s| *s == KeySpec::SymmetricDefault) && k.origin != Some(OriginType::External)
        {
            let r = kms.get_key_rotation_status().key_id(physical_id).send().await.map_err(sdk_error)?;
            if wants("EnableKeyRotation") || r.key_rotation_enabled {
                props.insert("EnableKeyRotation".into(), json!(r.key_rotation_enabled));
            }
        }
        let tags = live_tags(&kms, physical_id).await?;
        Ok(Some(Live { data: data(&k), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let fixed = [
            ("KeySpec", old.key_spec().to_string(), new.key_spec().to_string()),
            ("KeyUsage", old.key_usage().to_string(), new.key_usage().to_string()),
            ("Origin", old.origin().to_string(), new.origin().to_string()),
            ("MultiRegion", old.multi_region().to_string(), new.multi_region().to_string()),
        ];
        if let Some((name, was, now)) = fixed.iter().find(|(_, a, b)| a != b) {
            return Err(ProviderError::with_code(
                "NotUpdatable",
                format!(
                    "KMS cannot change the {name} of key {physical_id} (`{was}` to `{now}`), and cairn does not replace a key: deleting the old one would make what it encrypted unreadable. Put `{was}` back, or add a key under a new logical id and move what uses this one to it"
                ),
            ));
        }
        let kms: aws_sdk_kms::Client = cx.client();
        let (old_policy, new_policy) = (policy_text(cx, old), policy_text(cx, new));
        if !policy_doc::equivalent(&Json::String(old_policy), &Json::String(new_policy.clone())) {
            kms.put_key_policy()
                .key_id(physical_id)
                .policy_name("default")
                .policy(new_policy)
                .bypass_policy_lockout_safety_check(new.bypass())
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if old.description.as_deref().unwrap_or("") != new.description.as_deref().unwrap_or("") {
            kms.update_key_description()
                .key_id(physical_id)
                .description(new.description.clone().unwrap_or_default())
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if old.enabled() != new.enabled() {
            if new.enabled() {
                kms.enable_key().key_id(physical_id).send().await.map_err(sdk_error)?;
            } else {
                kms.disable_key().key_id(physical_id).send().await.map_err(sdk_error)?;
            }
        }
        let period_changed = new.rotation() && old.rotation_period_in_days != new.rotation_period_in_days;
        if old.rotation() != new.rotation() || period_changed {
            set_rotation(&kms, physical_id, new).await?;
        }
        let diff = cx.tag_update(&live_tags(&kms, physical_id).await?, &new.tags);
        let client = &kms;
        diff.apply(
            |keys| async move {
                client.untag_resource().key_id(physical_id).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                client
                    .tag_resource()
                    .key_id(physical_id)
                    .set_tags(Some(kms_tags(set)?))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        let k = describe(&kms, physical_id).await?.ok_or_else(|| {
            ProviderError::with_code(
                "NotFoundException",
                format!("key {physical_id} is gone or scheduled for deletion"),
            )
        })?;
        Ok(data(&k))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        if describe(&kms, physical_id).await?.is_none() {
            return Ok(());
        }
        kms.schedule_key_deletion()
            .key_id(physical_id)
            .pending_window_in_days(p.pending_window_in_days.unwrap_or(30))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let kms: aws_sdk_kms::Client = cx.client();
        let keys = paging::all(kms.list_keys().into_paginator().items().send()).await?;
        let mut candidates = Vec::new();
        for key in keys {
            let Some(id) = key.key_id else { continue };
            // A key made elsewhere may refuse to list its tags (a key whose policy leaves
            // these credentials out), or be on its way out: not ours. Anything else (a
            // throttled call) is an error, not a reason to make a second key.
            match live_tags(&kms, &id).await {
                Ok(tags) => candidates.push((id, tags)),
                Err(e) if matches!(e.code.as_deref(), Some(c) if UNLISTABLE.contains(&c)) => {}
                Err(e) => return Err(e),
            }
        }
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        Ok(describe(&kms, &id).await?.map(|k| data(&k)))
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({
                "Description": "conformance key {uid}",
                "EnableKeyRotation": true,
                "PendingWindowInDays": 7,
                "Tags": [{"Key": "team", "Value": "platform"}]
            }),
            update: Some(json!({
                "Description": "conformance key {uid}, updated",
                "EnableKeyRotation": false,
                "Enabled": false,
                "PendingWindowInDays": 7,
                "KeyPolicy": {"Version": "2012-10-17", "Id": "key-policy", "Statement": [{
                    "Sid": "Root", "Effect": "Allow",
                    "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                    "Action": "kms:*", "Resource": "*"}]},
                "Tags": [{"Key": "team", "Value": "data"}]
            })),
            replace: None,
            nested_replace: None,
            partial_after: Some("EnableKeyRotation"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Key::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn policies_windows_and_rotation_are_checked() {
        let p = parse(json!({"KeyPolicy": {"Version": "2012-10-17", "Statement": []}})).unwrap();
        assert_eq!(p.key_policy.as_deref(), Some(r#"{"Version":"2012-10-17","Statement":[]}"#));
        let p = parse(json!({"KeyPolicy": "{\"Version\": \"2012-10-17\"}"})).unwrap();
        assert_eq!(p.key_policy.as_deref(), Some("{\"Version\": \"2012-10-17\"}"));
        let e = parse(json!({"PendingWindowInDays": 3})).unwrap_err();
        assert_eq!(e.message, "PendingWindowInDays: KMS waits 7 to 30 days before it deletes a key, not 3");
        let e =
            parse(json!({"EnableKeyRotation": true, "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})).unwrap_err();
        assert!(e.message.starts_with("EnableKeyRotation: KMS rotates symmetric"), "{}", e.message);
    }

    #[test]
    fn the_default_policy_is_the_one_cloudformation_gives() {
        let d = default_policy("aws", "123456789012");
        assert_eq!(d["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::123456789012:root");
        assert_eq!(d["Statement"][0]["Action"], "kms:*");
        // The schema's default, with its placeholders filled, means the same.
        let schema = crate::schema::load(crate::schema::KMS_KEY, None, &[]);
        let text = schema.defaults["KeyPolicy"].as_str().unwrap().replace("<partition>", "aws");
        let text = text.replace("<account-id>", "123456789012");
        assert!(policy_doc::equivalent(&Json::String(text), &d));
    }
}
