//! `AWS::IAM::ManagedPolicy`: a customer managed policy and its attachments.
//!
//! | property | notes |
//! | --- | --- |
//! | `PolicyDocument` | mapping or JSON text, required |
//! | `ManagedPolicyName` | string, create-only; generated when absent (128 characters) |
//! | `Description`, `Path` | string, create-only |
//! | `Roles`, `Users`, `Groups` | names of the entities to attach the policy to |
//!
//! - `Ref`: the policy ARN.
//! - `Fn::GetAtt`: `PolicyArn`, `PolicyId`, `DefaultVersionId`, `AttachmentCount`,
//!   `IsAttachable`, `PermissionsBoundaryUsageCount`, `CreateDate`, `UpdateDate`.
//!
//! `create` waits until IAM shows the new policy before it attaches it. A changed document
//! becomes a new default policy version (the oldest non-default version is deleted first
//! when the policy already has IAM's maximum of five). `read` reports every entity the
//! policy is attached to (every page of `ListEntitiesForPolicy`). `delete` detaches the
//! policy from every entity and deletes its non-default versions first. The type is not
//! taggable in the schema: `find` adopts a policy with a generated name, never one with an
//! explicit name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::iam_name_char;
use super::{document_text, live_document, Kind, NOT_FOUND};
use crate::kit::{paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::IAM::ManagedPolicy";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::load(
            crate::schema::IAM_MANAGED_POLICY,
            Some("ManagedPolicyName"),
            &["DefaultVersionId", "UpdateDate", "AttachmentCount"],
        )
    }),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the policy ARN",
};

/// IAM keeps at most five versions of a managed policy.
const MAX_VERSIONS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    policy_document: Json,
    managed_policy_name: Option<String>,
    description: Option<String>,
    path: Option<String>,
    #[serde(default)]
    roles: BTreeSet<String>,
    #[serde(default)]
    users: BTreeSet<String>,
    #[serde(default)]
    groups: BTreeSet<String>,
}

impl Props {
    fn document(&self) -> Result<String, PropsError> {
        document_text(&self.policy_document, "PolicyDocument")
    }

    fn entities(&self) -> BTreeSet<(Kind, &str)> {
        super::entities(&self.roles, &self.users, &self.groups)
    }
}

/// The `AWS::IAM::ManagedPolicy` resource type.
pub struct ManagedPolicy;

impl ManagedPolicy {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<ManagedPolicy> {
        Typed::new(ManagedPolicy, aws)
    }
}

fn policy_name(cx: &Cx<'_>, p: &Props) -> String {
    p.managed_policy_name.clone().unwrap_or_else(|| cx.generated_name(128, false, iam_name_char))
}

async fn get_policy(iam: &aws_sdk_iam::Client, arn: &str) -> Result<aws_sdk_iam::types::Policy, ProviderError> {
    iam.get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(sdk_error)?
        .policy
        .ok_or_else(|| ProviderError::with_code("InvalidResponse", format!("GetPolicy returned no policy for {arn}")))
}

/// Attach and detach so that the policy goes from the `before` entities to the `after` ones.
async fn attach(
    cx: &Cx<'_>,
    iam: &aws_sdk_iam::Client,
    arn: &str,
    before: &BTreeSet<(Kind, &str)>,
    after: &BTreeSet<(Kind, &str)>,
) -> Result<(), ProviderError> {
    for (kind, name) in after.difference(before) {
        match kind {
            Kind::Role => {
                iam.attach_role_policy().role_name(*name).policy_arn(arn).send().await.map(|_| ()).map_err(sdk_error)
            }
            Kind::User => {
                iam.attach_user_policy().user_name(*name).policy_arn(arn).send().await.map(|_| ()).map_err(sdk_error)
            }
            Kind::Group => {
                iam.attach_group_policy().group_name(*name).policy_arn(arn).send().await.map(|_| ()).map_err(sdk_error)
            }
        }?;
    }
    for (kind, name) in before.difference(after) {
        // Detached already, or the entity is gone: either way it no longer holds the policy.
        let detached = match kind {
            Kind::Role => {
                iam.detach_role_policy().role_name(*name).policy_arn(arn).send().await.map(|_| ()).map_err(sdk_error)
            }
            Kind::User => {
                iam.detach_user_policy().user_name(*name).policy_arn(arn).send().await.map(|_| ()).map_err(sdk_error)
            }
            Kind::Group => {
                iam.detach_group_policy().group_name(*name).policy_arn(arn).send().await.map(|_| ()).map_err(sdk_error)
            }
        };
        cx.found(detached)?;
    }
    Ok(())
}

/// The entities the policy is attached to, by kind (every page).
async fn attached(iam: &aws_sdk_iam::Client, arn: &str) -> Result<BTreeMap<Kind, BTreeSet<String>>, ProviderError> {
    let pages = paging::all(iam.list_entities_for_policy().policy_arn(arn).into_paginator().send()).await?;
    let mut out: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
    for page in pages {
        let roles = page.policy_roles.unwrap_or_default().into_iter().filter_map(|r| r.role_name);
        out.entry(Kind::Role).or_default().extend(roles);
        let users = page.policy_users.unwrap_or_default().into_iter().filter_map(|u| u.user_name);
        out.entry(Kind::User).or_default().extend(users);
        let groups = page.policy_groups.unwrap_or_default().into_iter().filter_map(|g| g.group_name);
        out.entry(Kind::Group).or_default().extend(groups);
    }
    Ok(out)
}

fn entity_set(attached: &BTreeMap<Kind, BTreeSet<String>>) -> BTreeSet<(Kind, &str)> {
    attached.iter().flat_map(|(kind, names)| names.iter().map(move |n| (*kind, n.as_str()))).collect()
}

/// Make `document` the policy's default version, deleting the oldest non-default version
/// first when the policy has IAM's maximum of five.
async fn new_version(iam: &aws_sdk_iam::Client, arn: &str, document: String) -> Result<(), ProviderError> {
    let versions = paging::all(iam.list_policy_versions().policy_arn(arn).into_paginator().items().send()).await?;
    if versions.len() >= MAX_VERSIONS {
        let number = |id: &str| id.trim_start_matches('v').parse::<u64>().unwrap_or(u64::MAX);
        let oldest = versions
            .iter()
            .filter(|v| !v.is_default_version)
            .filter_map(|v| Some((v.create_date.map(|d| (d.secs(), d.subsec_nanos())), number(v.version_id()?), v)))
            .min_by_key(|(date, n, _)| (*date, *n))
            .and_then(|(_, _, v)| v.version_id.clone());
        if let Some(id) = oldest {
            iam.delete_policy_version().policy_arn(arn).version_id(id).send().await.map_err(sdk_error)?;
        }
    }
    iam.create_policy_version()
        .policy_arn(arn)
        .policy_document(document)
        .set_as_default(true)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

fn policy_data(p: &aws_sdk_iam::types::Policy) -> ResourceData {
    let arn = p.arn.clone().unwrap_or_default();
    let date = |d: Option<DateTime>| {
        d.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok()).map(Value::from).unwrap_or(Value::Null)
    };
    let attributes = BTreeMap::from([
        ("PolicyArn".to_string(), Value::from(arn.clone())),
        ("PolicyId".to_string(), Value::from(p.policy_id.clone().unwrap_or_default())),
        ("DefaultVersionId".to_string(), Value::from(p.default_version_id.clone().unwrap_or_default())),
        ("IsAttachable".to_string(), Value::from(p.is_attachable)),
        ("CreateDate".to_string(), date(p.create_date)),
        ("UpdateDate".to_string(), date(p.update_date)),
        ("AttachmentCount".to_string(), Value::from(i64::from(p.attachment_count.unwrap_or(0)))),
        (
            "PermissionsBoundaryUsageCount".to_string(),
            Value::from(i64::from(p.permissions_boundary_usage_count.unwrap_or(0))),
        ),
    ]);
    ResourceData { physical_id: arn, attributes }
}

#[async_trait]
impl AwsType for ManagedPolicy {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.document().map(|_| ())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        super::policy_property_equivalent(property, old, new)
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam
            .create_policy()
            .policy_name(policy_name(cx, p))
            .policy_document(p.document()?)
            .set_description(p.description.clone())
            .set_path(p.path.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = out
            .policy
            .and_then(|p| p.arn)
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreatePolicy returned no ARN"))?;
        cx.created(&arn, async {
            let entities = p.entities();
            if !entities.is_empty() {
                cx.wait_visible(&format!("policy {arn} to exist"), || get_policy(&iam, &arn)).await?;
            }
            attach(cx, &iam, &arn, &BTreeSet::new(), &entities).await?;
            Ok(policy_data(&get_policy(&iam, &arn).await?))
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let policy = get_policy(&iam, physical_id).await?;
        let version = iam
            .get_policy_version()
            .policy_arn(physical_id)
            .version_id(policy.default_version_id.clone().unwrap_or_default())
            .send()
            .await
            .map_err(sdk_error)?;
        let document = version.policy_version.and_then(|v| v.document).unwrap_or_default();
        let attached = attached(&iam, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        props.insert("PolicyDocument".to_string(), live_document(&document));
        if wants("ManagedPolicyName") {
            props.insert("ManagedPolicyName".into(), json!(policy.policy_name));
        }
        if wants("Path") || policy.path.as_deref().is_some_and(|p| p != "/") {
            props.insert("Path".into(), json!(policy.path));
        }
        if let Some(d) = policy.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(d));
        }
        for kind in [Kind::Role, Kind::User, Kind::Group] {
            let names = attached.get(&kind).cloned().unwrap_or_default();
            if !names.is_empty() || wants(kind.property()) {
                props.insert(kind.property().into(), json!(names));
            }
        }
        Ok(Some(Live { data: policy_data(&policy), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        if !policy_doc::equivalent(&old.policy_document, &new.policy_document) {
            new_version(&iam, physical_id, new.document()?).await?;
        }
        attach(cx, &iam, physical_id, &old.entities(), &new.entities()).await?;
        Ok(policy_data(&get_policy(&iam, physical_id).await?))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let live = attached(&iam, physical_id).await?;
        attach(cx, &iam, physical_id, &entity_set(&live), &BTreeSet::new()).await?;
        let versions =
            paging::all(iam.list_policy_versions().policy_arn(physical_id).into_paginator().items().send()).await?;
        for id in versions.iter().filter(|v| !v.is_default_version).filter_map(|v| v.version_id.as_deref()) {
            let deleted = iam.delete_policy_version().policy_arn(physical_id).version_id(id).send().await;
            cx.found(deleted.map_err(sdk_error))?;
        }
        iam.delete_policy().policy_arn(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        if p.managed_policy_name.is_some() {
            return Ok(None);
        }
        let ctx = cx.ctx;
        let path = p.path.as_deref().unwrap_or("/");
        let partition = if ctx.partition.is_empty() { "aws" } else { ctx.partition.as_str() };
        let arn = format!("arn:{partition}:iam::{}:policy{path}{}", ctx.account_id, policy_name(cx, p));
        let iam: aws_sdk_iam::Client = cx.client();
        Ok(Some(policy_data(&get_policy(&iam, &arn).await?)))
    }

    fn fixture(&self) -> Fixture {
        let holder = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let doc = |actions: &[&str]| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]});
        let update = json!({
            "PolicyDocument": doc(&["s3:GetObject", "s3:ListBucket"]),
            "Description": "cairn conformance",
            "Path": "/conformance/",
            "Roles": [{"Ref": "Second"}]
        });
        let mut replace = update.clone();
        replace["ManagedPolicyName"] = json!("conf-mp-{uid}");
        Fixture {
            support: json!({"First": holder.clone(), "Second": holder}),
            create: json!({
                "PolicyDocument": doc(&["s3:GetObject"]),
                "Description": "cairn conformance",
                "Path": "/conformance/",
                "Roles": [{"Ref": "First"}]
            }),
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            partial_after: Some("AttachRolePolicy"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        ManagedPolicy::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_document_and_attachments() {
        let p = parse(json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": []}, "Roles": ["r1", "r2"], "Groups": ["g"]})).unwrap();
        assert!(p.document().unwrap().starts_with('{'));
        assert_eq!(p.entities().len(), 3);
        assert!(p.entities().contains(&(Kind::Group, "g")));
        let e = parse(json!({"PolicyDocument": {}, "Tags": []})).unwrap_err();
        assert!(e.message.starts_with("Tags: `AWS::IAM::ManagedPolicy` has no property `Tags`"), "{}", e.message);
        let e = parse(json!({"Roles": ["r"]})).unwrap_err();
        assert_eq!(e.message, "PolicyDocument: required property `PolicyDocument` is missing");
        let e = parse(json!({"PolicyDocument": "{not json"})).unwrap_err();
        assert_eq!(e.message, "PolicyDocument: expected a policy document (a mapping, or JSON text)");
    }

    #[test]
    fn attributes_from_a_policy() {
        let p = aws_sdk_iam::types::Policy::builder()
            .arn("arn:aws:iam::123456789012:policy/p")
            .policy_id("ANPA1")
            .default_version_id("v2")
            .is_attachable(true)
            .attachment_count(3)
            .build();
        let d = policy_data(&p);
        assert_eq!(d.physical_id, "arn:aws:iam::123456789012:policy/p");
        assert_eq!(d.attributes["DefaultVersionId"], Value::from("v2"));
        assert_eq!(d.attributes["AttachmentCount"], Value::from(3i64));
        assert_eq!(d.attributes["CreateDate"], Value::Null);
    }
}
