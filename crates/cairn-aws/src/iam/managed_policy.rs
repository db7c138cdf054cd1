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
//! A changed document becomes a new default policy version (the oldest non-default version
//! is deleted first when the policy already has IAM's maximum of five). `delete` detaches
//! the policy from every entity and deletes its non-default versions first. The type is not
//! taggable in the schema: `find` adopts a policy with a generated name, never one with an
//! explicit name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use cairn_core::provider::{
    CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema,
};
use cairn_core::Value;
use serde_json::{json, Value as Json};

use super::role::{ignore_gone, NO_ENTITY};
use crate::util::{
    check_by_parsing, iam_name_char, in_user_spelling, invalid, is_gone, opt_str, refuse_unsupported, sdk_error,
    str_list,
};
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::IAM::ManagedPolicy";

static SCHEMA: LazyLock<TypeSchema> = LazyLock::new(|| {
    crate::schema::load(
        crate::schema::IAM_MANAGED_POLICY,
        Some("ManagedPolicyName"),
        &["DefaultVersionId", "UpdateDate", "AttachmentCount"],
    )
});

const SUPPORTED: [&str; 7] = ["PolicyDocument", "ManagedPolicyName", "Description", "Path", "Roles", "Users", "Groups"];

/// The `AWS::IAM::ManagedPolicy` resource type.
pub struct ManagedPolicy {
    aws: Arc<Aws>,
}

impl ManagedPolicy {
    pub fn new(aws: Arc<Aws>) -> Self {
        ManagedPolicy { aws }
    }
}

/// The entities a policy is attached to.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Attachments {
    pub roles: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

impl Attachments {
    pub(crate) fn parse(props: &Json) -> Result<Attachments, ProviderError> {
        let set = |k: &str| str_list(props, k).map(|l| l.into_iter().collect());
        Ok(Attachments { roles: set("Roles")?, users: set("Users")?, groups: set("Groups")? })
    }
}

fn parse(props: &Json) -> Result<(String, Attachments), ProviderError> {
    refuse_unsupported(props, &SUPPORTED, TYPE_NAME)?;
    let doc = props
        .get("PolicyDocument")
        .and_then(policy_doc::to_text)
        .ok_or_else(|| invalid("PolicyDocument: expected a policy document (a mapping, or JSON text)"))?;
    Ok((doc, Attachments::parse(props)?))
}

fn policy_name(ctx: &OpContext, props: &Json) -> Result<String, ProviderError> {
    Ok(opt_str(props, "ManagedPolicyName")?.unwrap_or_else(|| ctx.generated_name(128, false, iam_name_char)))
}

#[async_trait]
impl ResourceType for ManagedPolicy {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        check_by_parsing(self, properties, |p| parse(p).map(|_| ()))
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        super::policy_property_equivalent(property, old, new)
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let (doc, attach) = parse(properties)?;
        let name = policy_name(ctx, properties)?;
        let out = self
            .aws
            .iam()
            .create_policy()
            .policy_name(&name)
            .policy_document(doc)
            .set_description(opt_str(properties, "Description")?)
            .set_path(opt_str(properties, "Path")?)
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = out
            .policy
            .and_then(|p| p.arn)
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreatePolicy returned no ARN"))?;
        // From here on the policy exists: a failure says so (the engine tracks it as `read` finds it).
        let settle = async {
            self.attach(&arn, &Attachments::default(), &attach).await?;
            self.data(&arn).await
        };
        settle.await.map_err(|e| e.after_creating(&arn))
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let iam = self.aws.iam();
        let policy = match iam.get_policy().policy_arn(physical_id).send().await.map_err(sdk_error) {
            Ok(out) => {
                out.policy.ok_or_else(|| ProviderError::with_code("InvalidResponse", "GetPolicy returned no policy"))?
            }
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(None),
            Err(e) => return Err(e),
        };
        let version = iam
            .get_policy_version()
            .policy_arn(physical_id)
            .version_id(policy.default_version_id.clone().unwrap_or_default())
            .send()
            .await
            .map_err(sdk_error)?;
        let doc = version.policy_version.and_then(|v| v.document).unwrap_or_default();
        let attached = self.entities(physical_id).await?;
        let wants = |k: &str| properties.get(k).is_some_and(|v| !v.is_null());
        let mut out = BTreeMap::new();
        out.insert(
            "PolicyDocument".to_string(),
            policy_doc::prefer_desired(&Json::String(doc), properties.get("PolicyDocument")),
        );
        if wants("ManagedPolicyName") {
            out.insert("ManagedPolicyName".into(), json!(policy.policy_name));
        }
        if wants("Path") || policy.path.as_deref().is_some_and(|p| p != "/") {
            out.insert("Path".into(), json!(policy.path));
        }
        if let Some(d) = policy.description.clone().filter(|d| !d.is_empty() || wants("Description")) {
            out.insert("Description".into(), json!(d));
        }
        for (k, set) in [("Roles", &attached.roles), ("Users", &attached.users), ("Groups", &attached.groups)] {
            if !set.is_empty() || wants(k) {
                out.insert(k.into(), json!(set));
            }
        }
        Ok(Some(ReadResult { data: policy_data(&policy), properties: in_user_spelling(self, out, properties) }))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let (old_doc, before) = parse(old)?;
        let (new_doc, after) = parse(new)?;
        if !policy_doc::equivalent(&Json::String(old_doc), &Json::String(new_doc.clone())) {
            let iam = self.aws.iam();
            let versions = iam
                .list_policy_versions()
                .policy_arn(physical_id)
                .send()
                .await
                .map_err(sdk_error)?
                .versions
                .unwrap_or_default();
            if versions.len() >= 5 {
                let oldest =
                    versions.iter().filter(|v| !v.is_default_version).min_by_key(|v| v.create_date.map(|d| d.secs()));
                if let Some(id) = oldest.and_then(|v| v.version_id.clone()) {
                    iam.delete_policy_version()
                        .policy_arn(physical_id)
                        .version_id(id)
                        .send()
                        .await
                        .map_err(sdk_error)?;
                }
            }
            iam.create_policy_version()
                .policy_arn(physical_id)
                .policy_document(new_doc)
                .set_as_default(true)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        self.attach(physical_id, &before, &after).await?;
        self.data(physical_id).await
    }

    async fn delete(&self, _ctx: &OpContext, physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        let iam = self.aws.iam();
        let attached = match self.entities(physical_id).await {
            Ok(a) => a,
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.attach(physical_id, &attached, &Attachments::default()).await?;
        let versions = match iam.list_policy_versions().policy_arn(physical_id).send().await.map_err(sdk_error) {
            Ok(out) => out.versions.unwrap_or_default(),
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(()),
            Err(e) => return Err(e),
        };
        for v in versions.iter().filter(|v| !v.is_default_version) {
            if let Some(id) = &v.version_id {
                ignore_gone(
                    iam.delete_policy_version().policy_arn(physical_id).version_id(id).send().await.map_err(sdk_error),
                )?;
            }
        }
        ignore_gone(iam.delete_policy().policy_arn(physical_id).send().await.map_err(sdk_error))
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        if opt_str(properties, "ManagedPolicyName")?.is_some() {
            return Ok(None);
        }
        let path = opt_str(properties, "Path")?.unwrap_or_else(|| "/".into());
        let partition = if ctx.partition.is_empty() { "aws" } else { ctx.partition.as_str() };
        let arn = format!("arn:{partition}:iam::{}:policy{path}{}", ctx.account_id, policy_name(ctx, properties)?);
        match self.data(&arn).await {
            Ok(d) => Ok(Some(d)),
            Err(e) if is_gone(&e, &NO_ENTITY) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl ManagedPolicy {
    async fn data(&self, arn: &str) -> Result<ResourceData, ProviderError> {
        let policy = self.aws.iam().get_policy().policy_arn(arn).send().await.map_err(sdk_error)?.policy;
        Ok(policy_data(
            &policy.ok_or_else(|| ProviderError::with_code("InvalidResponse", "GetPolicy returned no policy"))?,
        ))
    }

    /// Attach and detach so that the policy goes from `before`'s entities to `after`'s.
    async fn attach(&self, arn: &str, before: &Attachments, after: &Attachments) -> Result<(), ProviderError> {
        let iam = self.aws.iam();
        for r in after.roles.difference(&before.roles) {
            iam.attach_role_policy().role_name(r).policy_arn(arn).send().await.map_err(sdk_error)?;
        }
        for u in after.users.difference(&before.users) {
            iam.attach_user_policy().user_name(u).policy_arn(arn).send().await.map_err(sdk_error)?;
        }
        for g in after.groups.difference(&before.groups) {
            iam.attach_group_policy().group_name(g).policy_arn(arn).send().await.map_err(sdk_error)?;
        }
        for r in before.roles.difference(&after.roles) {
            ignore_gone(iam.detach_role_policy().role_name(r).policy_arn(arn).send().await.map_err(sdk_error))?;
        }
        for u in before.users.difference(&after.users) {
            ignore_gone(iam.detach_user_policy().user_name(u).policy_arn(arn).send().await.map_err(sdk_error))?;
        }
        for g in before.groups.difference(&after.groups) {
            ignore_gone(iam.detach_group_policy().group_name(g).policy_arn(arn).send().await.map_err(sdk_error))?;
        }
        Ok(())
    }

    async fn entities(&self, arn: &str) -> Result<Attachments, ProviderError> {
        let out = self
            .aws
            .iam()
            .list_entities_for_policy()
            .policy_arn(arn)
            .max_items(1000)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(Attachments {
            roles: out.policy_roles.unwrap_or_default().into_iter().filter_map(|r| r.role_name).collect(),
            users: out.policy_users.unwrap_or_default().into_iter().filter_map(|u| u.user_name).collect(),
            groups: out.policy_groups.unwrap_or_default().into_iter().filter_map(|g| g.group_name).collect(),
        })
    }
}

fn policy_data(p: &aws_sdk_iam::types::Policy) -> ResourceData {
    let arn = p.arn.clone().unwrap_or_default();
    let date = |d: Option<aws_sdk_iam::primitives::DateTime>| {
        d.and_then(|d| d.fmt(aws_sdk_iam::primitives::DateTimeFormat::DateTime).ok())
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let mut attrs = BTreeMap::from([
        ("PolicyArn".to_string(), Value::from(arn.clone())),
        ("PolicyId".to_string(), Value::from(p.policy_id.clone().unwrap_or_default())),
        ("DefaultVersionId".to_string(), Value::from(p.default_version_id.clone().unwrap_or_default())),
        ("IsAttachable".to_string(), Value::from(p.is_attachable)),
        ("CreateDate".to_string(), date(p.create_date)),
        ("UpdateDate".to_string(), date(p.update_date)),
    ]);
    attrs.insert("AttachmentCount".into(), Value::from(i64::from(p.attachment_count.unwrap_or(0))));
    attrs.insert(
        "PermissionsBoundaryUsageCount".into(),
        Value::from(i64::from(p.permissions_boundary_usage_count.unwrap_or(0))),
    );
    crate::util::data(arn, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_document_and_attachments() {
        let (doc, a) = parse(&json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": []}, "Roles": ["r1", "r2"], "Groups": ["g"]})).unwrap();
        assert!(doc.starts_with('{'));
        assert_eq!(a.roles.len(), 2);
        assert!(a.users.is_empty());
        assert!(parse(&json!({"PolicyDocument": {}, "Tags": []})).is_err());
        assert!(parse(&json!({"Roles": ["r"]})).is_err());
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
