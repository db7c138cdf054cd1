//! `AWS::IAM::Role`: an IAM role, its managed policy attachments and inline policies.
//!
//! | property | notes |
//! | --- | --- |
//! | `AssumeRolePolicyDocument` | mapping or JSON text, required |
//! | `RoleName` | string, create-only; generated when absent (64 characters) |
//! | `Path` | string, create-only, default `/` |
//! | `Description`, `MaxSessionDuration`, `PermissionsBoundary` | |
//! | `ManagedPolicyArns` | set of policy ARNs to attach |
//! | `Policies` | list of `{PolicyName, PolicyDocument}` inline policies |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! - `Ref`: the role name.
//! - `Fn::GetAtt`: `Arn`, `RoleId`.
//!
//! `create` tags the role in `CreateRole`, waits until IAM shows it, then attaches and puts
//! its policies. `update` sends only what changed. Tags are compared with the role's live
//! tags ([`Cx::tag_update`](crate::kit::Cx::tag_update): a changed stack tag and missing
//! ownership tags are put right too): `TagRole` with the new and changed tags, `UntagRole`
//! with the removed keys, each only when there are any. `delete` first detaches the role's
//! managed policies and deletes its inline policies, as CloudFormation does, every page of
//! them; it does not take the role out of instance profiles (an
//! `AWS::IAM::InstanceProfile` that names the role depends on it and is deleted first; a
//! profile outside the stack makes IAM refuse with `DeleteConflict`). `find` looks up the
//! deterministic name and adopts the role when it carries this resource's ownership tags (a
//! role is tagged in the call that creates it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::iam_name_char;
use super::{document_text, live_document, NOT_FOUND};
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::IAM::Role";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::IAM_ROLE, Some("RoleName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the role name",
};

/// IAM's maximum session duration when none is set (one hour).
const DEFAULT_MAX_SESSION: i32 = 3600;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    assume_role_policy_document: Json,
    role_name: Option<String>,
    path: Option<String>,
    description: Option<String>,
    max_session_duration: Option<i32>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    managed_policy_arns: BTreeSet<String>,
    #[serde(default)]
    policies: Vec<InlinePolicy>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct InlinePolicy {
    policy_name: String,
    policy_document: Json,
}

impl Props {
    fn trust(&self) -> Result<String, PropsError> {
        document_text(&self.assume_role_policy_document, "AssumeRolePolicyDocument")
    }

    /// The inline policies by name, each document as IAM takes it.
    fn inline(&self) -> Result<BTreeMap<String, String>, PropsError> {
        let mut out = BTreeMap::new();
        for (i, p) in self.policies.iter().enumerate() {
            let doc = document_text(&p.policy_document, &format!("Policies[{i}].PolicyDocument"))?;
            if out.insert(p.policy_name.clone(), doc).is_some() {
                return Err(PropsError {
                    path: format!("Policies[{i}].PolicyName"),
                    message: format!("two policies are named {}", p.policy_name),
                });
            }
        }
        Ok(out)
    }
}

/// The `AWS::IAM::Role` resource type.
pub struct Role;

impl Role {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Role> {
        Typed::new(Role, aws)
    }
}

fn role_name(cx: &Cx<'_>, p: &Props) -> String {
    p.role_name.clone().unwrap_or_else(|| cx.generated_name(64, false, iam_name_char))
}

fn data(role: &aws_sdk_iam::types::Role) -> ResourceData {
    ResourceData {
        physical_id: role.role_name.clone(),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::from(role.arn.as_str())),
            ("RoleId".to_string(), Value::from(role.role_id.as_str())),
        ]),
    }
}

async fn get_role(iam: &aws_sdk_iam::Client, name: &str) -> Result<aws_sdk_iam::types::Role, ProviderError> {
    iam.get_role()
        .role_name(name)
        .send()
        .await
        .map_err(sdk_error)?
        .role
        .ok_or_else(|| ProviderError::with_code("InvalidResponse", format!("GetRole returned no role for {name}")))
}

/// The ARNs of the managed policies attached to the role, every page.
async fn attached(iam: &aws_sdk_iam::Client, name: &str) -> Result<Vec<String>, ProviderError> {
    let items = paging::all(iam.list_attached_role_policies().role_name(name).into_paginator().items().send()).await?;
    Ok(items.into_iter().filter_map(|p| p.policy_arn).collect())
}

/// The names of the role's inline policies, every page.
async fn inline_names(iam: &aws_sdk_iam::Client, name: &str) -> Result<Vec<String>, ProviderError> {
    paging::all(iam.list_role_policies().role_name(name).into_paginator().items().send()).await
}

/// All of the role's tags, every page.
async fn tags(iam: &aws_sdk_iam::Client, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let items = paging::all(iam.list_role_tags().role_name(name).into_paginator().items().send()).await?;
    Ok(items.into_iter().map(|t| (t.key, t.value)).collect())
}

/// A `Policies` value as documents by policy name (`None` when it is not a list of distinct
/// `{PolicyName, PolicyDocument}`).
fn inline_by_name(v: &Json) -> Option<BTreeMap<String, Json>> {
    let list: Vec<InlinePolicy> = serde_json::from_value(v.clone()).ok()?;
    let n = list.len();
    let map: BTreeMap<String, Json> = list.into_iter().map(|p| (p.policy_name, p.policy_document)).collect();
    (map.len() == n).then_some(map)
}

#[async_trait]
impl AwsType for Role {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.trust()?;
        p.inline()?;
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "AssumeRolePolicyDocument" => policy_doc::equivalent(old, new),
            "Policies" => match (inline_by_name(old), inline_by_name(new)) {
                (Some(a), Some(b)) => {
                    a.len() == b.len() && a.iter().all(|(k, d)| b.get(k).is_some_and(|e| policy_doc::equivalent(d, e)))
                }
                _ => old == new,
            },
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = role_name(cx, p);
        let inline = p.inline()?;
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(p.trust()?)
            .set_path(p.path.clone())
            .set_description(p.description.clone())
            .set_max_session_duration(p.max_session_duration)
            .set_permissions_boundary(p.permissions_boundary.clone())
            .set_tags(Some(super::iam_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(sdk_error)?;
        let role =
            out.role.ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateRole returned no role"))?;
        cx.created(&role.role_name, async {
            cx.wait_visible(&format!("role {name} to exist"), || get_role(&iam, &name)).await?;
            for arn in &p.managed_policy_arns {
                iam.attach_role_policy().role_name(&name).policy_arn(arn).send().await.map_err(sdk_error)?;
            }
            for (policy, doc) in &inline {
                iam.put_role_policy()
                    .role_name(&name)
                    .policy_name(policy)
                    .policy_document(doc)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            Ok(())
        })
        .await?;
        Ok(data(&role))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let role = get_role(&iam, physical_id).await?;
        let managed = attached(&iam, physical_id).await?;
        let mut inline = Vec::new();
        for policy in inline_names(&iam, physical_id).await? {
            // A policy deleted since the list is no longer the role's.
            let got = iam.get_role_policy().role_name(physical_id).policy_name(&policy).send().await;
            if let Some(got) = cx.found(got.map_err(sdk_error))? {
                inline.push(json!({"PolicyName": policy, "PolicyDocument": live_document(&got.policy_document)}));
            }
        }
        let tags = tags(&iam, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        props.insert(
            "AssumeRolePolicyDocument".to_string(),
            live_document(role.assume_role_policy_document.as_deref().unwrap_or_default()),
        );
        if wants("RoleName") {
            props.insert("RoleName".into(), json!(role.role_name));
        }
        if wants("Path") || role.path != "/" {
            props.insert("Path".into(), json!(role.path));
        }
        if let Some(d) = role.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(d));
        }
        if let Some(m) = role.max_session_duration.filter(|m| *m != DEFAULT_MAX_SESSION || wants("MaxSessionDuration"))
        {
            props.insert("MaxSessionDuration".into(), json!(m));
        }
        if let Some(b) = role.permissions_boundary.as_ref().and_then(|b| b.permissions_boundary_arn.as_ref()) {
            props.insert("PermissionsBoundary".into(), json!(b));
        }
        if !managed.is_empty() || wants("ManagedPolicyArns") {
            props.insert("ManagedPolicyArns".into(), json!(managed));
        }
        if !inline.is_empty() || wants("Policies") {
            props.insert("Policies".into(), Json::Array(inline));
        }
        Ok(Some(Live { data: data(&role), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let trust = new.trust()?;
        if !policy_doc::equivalent(&old.assume_role_policy_document, &new.assume_role_policy_document) {
            iam.update_assume_role_policy()
                .role_name(physical_id)
                .policy_document(trust)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if old.description != new.description || old.max_session_duration != new.max_session_duration {
            iam.update_role()
                .role_name(physical_id)
                .description(new.description.clone().unwrap_or_default())
                .max_session_duration(new.max_session_duration.unwrap_or(DEFAULT_MAX_SESSION))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if old.permissions_boundary != new.permissions_boundary {
            match &new.permissions_boundary {
                Some(b) => {
                    iam.put_role_permissions_boundary()
                        .role_name(physical_id)
                        .permissions_boundary(b)
                        .send()
                        .await
                        .map_err(sdk_error)?;
                }
                None => {
                    iam.delete_role_permissions_boundary().role_name(physical_id).send().await.map_err(sdk_error)?;
                }
            }
        }
        for arn in new.managed_policy_arns.difference(&old.managed_policy_arns) {
            iam.attach_role_policy().role_name(physical_id).policy_arn(arn).send().await.map_err(sdk_error)?;
        }
        for arn in old.managed_policy_arns.difference(&new.managed_policy_arns) {
            let detached = iam.detach_role_policy().role_name(physical_id).policy_arn(arn).send().await;
            cx.found(detached.map_err(sdk_error))?;
        }
        let (before, after) = (old.inline()?, new.inline()?);
        for (policy, doc) in &after {
            let same = before
                .get(policy)
                .is_some_and(|d| policy_doc::equivalent(&Json::String(d.clone()), &Json::String(doc.clone())));
            if !same {
                iam.put_role_policy()
                    .role_name(physical_id)
                    .policy_name(policy)
                    .policy_document(doc)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        for policy in before.keys().filter(|n| !after.contains_key(*n)) {
            let deleted = iam.delete_role_policy().role_name(physical_id).policy_name(policy).send().await;
            cx.found(deleted.map_err(sdk_error))?;
        }
        let tags = cx.tag_update(&tags(&iam, physical_id).await?, &new.tags);
        if !tags.remove.is_empty() {
            iam.untag_role().role_name(physical_id).set_tag_keys(Some(tags.remove)).send().await.map_err(sdk_error)?;
        }
        if !tags.set.is_empty() {
            iam.tag_role()
                .role_name(physical_id)
                .set_tags(Some(super::iam_tags(tags.set)?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(data(&get_role(&iam, physical_id).await?))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        for arn in attached(&iam, physical_id).await? {
            let detached = iam.detach_role_policy().role_name(physical_id).policy_arn(arn).send().await;
            cx.found(detached.map_err(sdk_error))?;
        }
        for policy in inline_names(&iam, physical_id).await? {
            let deleted = iam.delete_role_policy().role_name(physical_id).policy_name(policy).send().await;
            cx.found(deleted.map_err(sdk_error))?;
        }
        iam.delete_role().role_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = role_name(cx, p);
        let iam: aws_sdk_iam::Client = cx.client();
        let role = get_role(&iam, &name).await?;
        Ok(ids::is_owned(cx.ctx, &tags(&iam, &name).await?).then(|| data(&role)))
    }

    fn fixture(&self) -> Fixture {
        let trust = |service: &str| {
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
        };
        let doc = |action: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        let create = json!({
            "AssumeRolePolicyDocument": trust("ec2.amazonaws.com"),
            "Path": "/conformance/",
            "Description": "cairn conformance",
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "Policies": [{"PolicyName": "read", "PolicyDocument": doc("s3:GetObject")}],
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let update = json!({
            "AssumeRolePolicyDocument": trust("lambda.amazonaws.com"),
            "Path": "/conformance/",
            "Description": "cairn conformance, updated",
            "MaxSessionDuration": 7200,
            "PermissionsBoundary": "arn:aws:iam::aws:policy/PowerUserAccess",
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
            "Policies": [
                {"PolicyName": "read", "PolicyDocument": doc("s3:ListBucket")},
                {"PolicyName": "write", "PolicyDocument": doc("s3:PutObject")}
            ],
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["RoleName"] = json!("conf-role-{uid}");
        Fixture {
            support: json!({}),
            create,
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

    fn trust() -> Json {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]})
    }

    fn role() -> Typed<Role> {
        Role::new(Aws::unconfigured())
    }

    #[test]
    fn parses_a_role() {
        let p = role()
            .parse(&json!({
                "AssumeRolePolicyDocument": trust(),
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}],
                "MaxSessionDuration": "7200"
            }))
            .unwrap();
        assert_eq!(p.max_session_duration, Some(7200));
        assert_eq!(p.managed_policy_arns.len(), 1);
        assert!(p.inline().unwrap()["p"].contains("2012-10-17"));
        let e = role().parse(&json!({"AssumeRolePolicyDocument": 5})).unwrap_err();
        assert_eq!(e.message, "AssumeRolePolicyDocument: expected a policy document (a mapping, or JSON text)");
        let dup = json!({"AssumeRolePolicyDocument": trust(), "Policies": [{"PolicyName": "p", "PolicyDocument": {}}, {"PolicyName": "p", "PolicyDocument": {}}]});
        assert_eq!(role().parse(&dup).unwrap_err().message, "Policies[1].PolicyName: two policies are named p");
        let e = role()
            .parse(&json!({"AssumeRolePolicyDocument": trust(), "Policies": [{"PolicyName": "p", "PolicyDocument": "not json"}]}))
            .unwrap_err();
        assert!(e.message.starts_with("Policies[0].PolicyDocument: expected a policy document"), "{}", e.message);
        let e = role()
            .parse(&json!({"AssumeRolePolicyDocument": trust(), "Policies": [{"PolicyName": "p", "Document": {}}]}))
            .unwrap_err();
        assert!(e.message.starts_with("Policies[0].Document: "), "{}", e.message);
        assert!(e.message.contains("it takes: PolicyName, PolicyDocument"), "{}", e.message);
    }

    #[test]
    fn equivalent_lists_and_documents() {
        let r = role();
        // Set-like lists (`insertionOrder: false`) compare as sets through the schema.
        let same = |k: &str, a: Json, b: Json| cairn_core::schema::same_property(&r, k, Some(&a), Some(&b));
        assert!(same("ManagedPolicyArns", json!(["a", "b"]), json!(["b", "a", "a"])));
        assert!(!same("ManagedPolicyArns", json!(["a"]), json!(["b", "a"])));
        let a = json!([{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]);
        assert!(same("Tags", a.clone(), json!([{"Key": "b", "Value": "2"}, {"Key": "a", "Value": 1}])));
        assert!(!same("Tags", a, json!([{"Key": "a", "Value": "1"}])));
        // The schema default: `Path: /` and no `Path` are the same.
        assert!(cairn_core::schema::same_property(&r, "Path", Some(&json!("/")), None));
        let text = serde_json::to_string(&trust()).unwrap();
        assert!(Role.equivalent("AssumeRolePolicyDocument", &trust(), &json!(text)));
        let p1 = json!([{"PolicyName": "p", "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": ["s3:*"]}}}]);
        let p2 = json!([{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Action": "s3:*", "Effect": "Allow"}]}}]);
        assert!(Role.equivalent("Policies", &p1, &p2));
        assert!(!Role.equivalent("Policies", &p1, &json!([])));
    }

    #[test]
    fn generated_names_fit_iam() {
        let mut ctx = crate::test_ctx(TYPE_NAME, "Access.Role");
        ctx.stack = "a-very-long-stack-name-that-goes-on-and-on-and-on-and-on".into();
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let name = role_name(&cx, &role().parse(&json!({"AssumeRolePolicyDocument": trust()})).unwrap());
        assert!(name.len() <= 64, "{name}");
        assert!(name.ends_with("-abcdefghijkl"));
        assert!(name.chars().all(iam_name_char));
    }
}
