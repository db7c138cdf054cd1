//! `AWS::IAM::Role`: an IAM role, its managed policy attachments and inline policies.
//!
//! | property | notes |
//! | --- | --- |
//! | `AssumeRolePolicyDocument` | mapping or JSON text, required |
//! | `RoleName` | string, create-only; generated when absent (64 characters) |
//! | `Path` | string, create-only, default `/` |
//! | `Description`, `MaxSessionDuration`, `PermissionsBoundary` | |
//! | `ManagedPolicyArns` | list of policy ARNs to attach |
//! | `Policies` | list of `{PolicyName, PolicyDocument}` inline policies |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! - `Ref`: the role name.
//! - `Fn::GetAtt`: `Arn`, `RoleId`.
//!
//! `create` waits (bounded) until IAM shows the new role. `delete` first detaches the
//! role's managed policies and deletes its inline policies, as CloudFormation does; it does
//! not take the role out of instance profiles (an `AWS::IAM::InstanceProfile` that names
//! the role depends on it and is deleted first; a profile outside the stack makes IAM refuse
//! with `DeleteConflict`). `find` looks up the deterministic name and adopts the role when
//! its `cairn:logical-id` tag matches (a role is tagged in the same call that creates it).
//! Lists are read with up to 1,000 items (IAM's page limit).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use cairn_core::provider::{
    CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema,
};
use cairn_core::Value;
use serde_json::{json, Value as Json};

use crate::util::{
    check_by_parsing, iam_name_char, in_user_spelling, invalid, is_gone, loose_eq, opt_i32, opt_str,
    refuse_unsupported, sdk_error, str_list, tag_list, visible_tags,
};
use crate::{merged_tags, policy_doc, wait_until, Aws, CONSISTENCY_WAIT};

pub const TYPE_NAME: &str = "AWS::IAM::Role";

static SCHEMA: LazyLock<TypeSchema> =
    LazyLock::new(|| crate::schema::load(crate::schema::IAM_ROLE, Some("RoleName"), &[]));

const SUPPORTED: [&str; 9] = [
    "AssumeRolePolicyDocument",
    "RoleName",
    "Path",
    "Description",
    "MaxSessionDuration",
    "PermissionsBoundary",
    "ManagedPolicyArns",
    "Policies",
    "Tags",
];

pub(crate) const NO_ENTITY: [&str; 1] = ["NoSuchEntity"];

/// The `AWS::IAM::Role` resource type.
pub struct Role {
    aws: Arc<Aws>,
}

impl Role {
    pub fn new(aws: Arc<Aws>) -> Self {
        Role { aws }
    }
}

/// The role as the properties ask for it.
#[derive(Debug, PartialEq)]
struct Spec {
    trust: String,
    path: Option<String>,
    description: Option<String>,
    max_session: Option<i32>,
    boundary: Option<String>,
    managed: BTreeSet<String>,
    /// Inline policies by name: the document's text.
    inline: BTreeMap<String, String>,
}

fn parse(props: &Json) -> Result<Spec, ProviderError> {
    refuse_unsupported(props, &SUPPORTED, TYPE_NAME)?;
    tag_list(props)?;
    let trust = props
        .get("AssumeRolePolicyDocument")
        .and_then(policy_doc::to_text)
        .ok_or_else(|| invalid("AssumeRolePolicyDocument: expected a policy document (a mapping, or JSON text)"))?;
    let mut inline = BTreeMap::new();
    if let Some(list) = props.get("Policies").filter(|v| !v.is_null()) {
        let list =
            list.as_array().ok_or_else(|| invalid("Policies: expected a list of {PolicyName, PolicyDocument}"))?;
        for p in list {
            let name = opt_str(p, "PolicyName")?.ok_or_else(|| invalid("Policies: each policy needs a PolicyName"))?;
            let doc = p.get("PolicyDocument").and_then(policy_doc::to_text).ok_or_else(|| {
                invalid(format!("Policies: policy {name} needs a PolicyDocument (a mapping, or JSON text)"))
            })?;
            if inline.insert(name.clone(), doc).is_some() {
                return Err(invalid(format!("Policies: two policies are named {name}")));
            }
        }
    }
    Ok(Spec {
        trust,
        path: opt_str(props, "Path")?,
        description: opt_str(props, "Description")?,
        max_session: opt_i32(props, "MaxSessionDuration")?,
        boundary: opt_str(props, "PermissionsBoundary")?,
        managed: str_list(props, "ManagedPolicyArns")?.into_iter().collect(),
        inline,
    })
}

fn role_name(ctx: &OpContext, props: &Json) -> Result<String, ProviderError> {
    Ok(opt_str(props, "RoleName")?.unwrap_or_else(|| ctx.generated_name(64, false, iam_name_char)))
}

pub(crate) fn iam_tags(tags: BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| invalid(e.to_string()))).collect()
}

#[async_trait]
impl ResourceType for Role {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        check_by_parsing(self, properties, |p| parse(p).map(|_| ()))
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "AssumeRolePolicyDocument" => policy_doc::equivalent(old, new),
            "Policies" => {
                let map =
                    |v: &Json| parse(&json!({"AssumeRolePolicyDocument": {}, "Policies": v})).ok().map(|s| s.inline);
                match (map(old), map(new)) {
                    (Some(a), Some(b)) => {
                        a.len() == b.len()
                            && a.iter().all(|(k, d)| {
                                b.get(k).is_some_and(|e| {
                                    policy_doc::equivalent(&Json::String(d.clone()), &Json::String(e.clone()))
                                })
                            })
                    }
                    _ => old == new,
                }
            }
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let spec = parse(properties)?;
        let name = role_name(ctx, properties)?;
        let iam = self.aws.iam();
        let out = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(&spec.trust)
            .set_path(spec.path.clone())
            .set_description(spec.description.clone())
            .set_max_session_duration(spec.max_session)
            .set_permissions_boundary(spec.boundary.clone())
            .set_tags(Some(iam_tags(merged_tags(ctx, &tag_list(properties)?))?))
            .send()
            .await
            .map_err(sdk_error)?;
        let role =
            out.role.ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateRole returned no role"))?;
        // From here on the role exists: a failure says so (the engine tracks it as `read` finds it).
        let settle = async {
            wait_until(CONSISTENCY_WAIT, &format!("role {name} to exist"), || async {
                match iam.get_role().role_name(&name).send().await.map_err(sdk_error) {
                    Ok(_) => Ok(Some(())),
                    Err(e) if is_gone(&e, &NO_ENTITY) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
            for arn in &spec.managed {
                iam.attach_role_policy().role_name(&name).policy_arn(arn).send().await.map_err(sdk_error)?;
            }
            for (pname, doc) in &spec.inline {
                iam.put_role_policy()
                    .role_name(&name)
                    .policy_name(pname)
                    .policy_document(doc)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            Ok::<(), ProviderError>(())
        };
        settle.await.map_err(|e| e.after_creating(&role.role_name))?;
        Ok(data(&role.role_name, &role.arn, &role.role_id))
    }

    async fn read(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let iam = self.aws.iam();
        let role = match iam.get_role().role_name(physical_id).send().await.map_err(sdk_error) {
            Ok(out) => {
                out.role.ok_or_else(|| ProviderError::with_code("InvalidResponse", "GetRole returned no role"))?
            }
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(None),
            Err(e) => return Err(e),
        };
        let managed = self.attached(physical_id).await?;
        let inline = self.inline(physical_id).await?;
        let tags_out = iam.list_role_tags().role_name(physical_id).max_items(1000).send().await.map_err(sdk_error)?;
        let tags: BTreeMap<String, String> = tags_out.tags.into_iter().map(|t| (t.key, t.value)).collect();
        let wants = |k: &str| properties.get(k).is_some_and(|v| !v.is_null());
        let mut out = BTreeMap::new();
        out.insert(
            "AssumeRolePolicyDocument".to_string(),
            policy_doc::prefer_desired(
                &Json::String(role.assume_role_policy_document.clone().unwrap_or_default()),
                properties.get("AssumeRolePolicyDocument"),
            ),
        );
        if wants("RoleName") {
            out.insert("RoleName".into(), json!(role.role_name));
        }
        if wants("Path") || role.path != "/" {
            out.insert("Path".into(), json!(role.path));
        }
        if let Some(d) = role.description.clone().filter(|d| !d.is_empty() || wants("Description")) {
            out.insert("Description".into(), json!(d));
        }
        if let Some(m) = role.max_session_duration.filter(|m| *m != 3600 || wants("MaxSessionDuration")) {
            out.insert("MaxSessionDuration".into(), json!(m));
        }
        if let Some(b) = role.permissions_boundary.as_ref().and_then(|b| b.permissions_boundary_arn.clone()) {
            out.insert("PermissionsBoundary".into(), json!(b));
        }
        if !managed.is_empty() || wants("ManagedPolicyArns") {
            out.insert("ManagedPolicyArns".into(), json!(managed));
        }
        if !inline.is_empty() || wants("Policies") {
            let list: Vec<Json> = inline
                .iter()
                .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": policy_doc::parse(&Json::String(d.clone())).unwrap_or(json!(d))}))
                .collect();
            out.insert("Policies".into(), Json::Array(list));
        }
        if let Some(t) = visible_tags(&tags, ctx, properties) {
            out.insert("Tags".into(), t);
        }
        Ok(Some(ReadResult {
            data: data(&role.role_name, &role.arn, &role.role_id),
            properties: in_user_spelling(self, out, properties),
        }))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let before = parse(old)?;
        let after = parse(new)?;
        let iam = self.aws.iam();
        if !policy_doc::equivalent(&Json::String(before.trust.clone()), &Json::String(after.trust.clone())) {
            iam.update_assume_role_policy()
                .role_name(physical_id)
                .policy_document(&after.trust)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if before.description != after.description || before.max_session != after.max_session {
            iam.update_role()
                .role_name(physical_id)
                .description(after.description.clone().unwrap_or_default())
                .max_session_duration(after.max_session.unwrap_or(3600))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if before.boundary != after.boundary {
            match &after.boundary {
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
        for arn in after.managed.difference(&before.managed) {
            iam.attach_role_policy().role_name(physical_id).policy_arn(arn).send().await.map_err(sdk_error)?;
        }
        for arn in before.managed.difference(&after.managed) {
            ignore_gone(
                iam.detach_role_policy().role_name(physical_id).policy_arn(arn).send().await.map_err(sdk_error),
            )?;
        }
        for (pname, doc) in &after.inline {
            if before.inline.get(pname) != Some(doc) {
                iam.put_role_policy()
                    .role_name(physical_id)
                    .policy_name(pname)
                    .policy_document(doc)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        for pname in before.inline.keys().filter(|n| !after.inline.contains_key(*n)) {
            ignore_gone(
                iam.delete_role_policy().role_name(physical_id).policy_name(pname).send().await.map_err(sdk_error),
            )?;
        }
        // Tags: set the wanted ones, remove the rest (ownership tags are always wanted).
        let wanted = merged_tags(ctx, &tag_list(new)?);
        let live = iam.list_role_tags().role_name(physical_id).max_items(1000).send().await.map_err(sdk_error)?;
        let stale: Vec<String> =
            live.tags.iter().filter(|t| !wanted.contains_key(&t.key)).map(|t| t.key.clone()).collect();
        if !stale.is_empty() {
            iam.untag_role().role_name(physical_id).set_tag_keys(Some(stale)).send().await.map_err(sdk_error)?;
        }
        iam.tag_role().role_name(physical_id).set_tags(Some(iam_tags(wanted)?)).send().await.map_err(sdk_error)?;
        let role = iam.get_role().role_name(physical_id).send().await.map_err(sdk_error)?.role;
        let role = role.ok_or_else(|| ProviderError::with_code("InvalidResponse", "GetRole returned no role"))?;
        Ok(data(&role.role_name, &role.arn, &role.role_id))
    }

    async fn delete(&self, _ctx: &OpContext, physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        let iam = self.aws.iam();
        let attached = match self.attached(physical_id).await {
            Ok(a) => a,
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(()),
            Err(e) => return Err(e),
        };
        for arn in attached {
            ignore_gone(
                iam.detach_role_policy().role_name(physical_id).policy_arn(arn).send().await.map_err(sdk_error),
            )?;
        }
        for (pname, _) in self.inline(physical_id).await? {
            ignore_gone(
                iam.delete_role_policy().role_name(physical_id).policy_name(pname).send().await.map_err(sdk_error),
            )?;
        }
        ignore_gone(iam.delete_role().role_name(physical_id).send().await.map_err(sdk_error))
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let name = role_name(ctx, properties)?;
        let iam = self.aws.iam();
        let role = match iam.get_role().role_name(&name).send().await.map_err(sdk_error) {
            Ok(out) => out.role,
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(role) = role else { return Ok(None) };
        let tags = iam.list_role_tags().role_name(&name).max_items(1000).send().await.map_err(sdk_error)?;
        let tag = |k: &str| tags.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        let ours = tag("cairn:logical-id").as_deref() == Some(ctx.logical_id.as_str())
            && tag("cairn:stack").as_deref() == Some(ctx.stack.as_str());
        Ok(ours.then(|| data(&role.role_name, &role.arn, &role.role_id)))
    }
}

impl Role {
    async fn attached(&self, name: &str) -> Result<Vec<String>, ProviderError> {
        let out = self
            .aws
            .iam()
            .list_attached_role_policies()
            .role_name(name)
            .max_items(1000)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.attached_policies.unwrap_or_default().into_iter().filter_map(|p| p.policy_arn).collect())
    }

    /// Inline policies by name, with their decoded document text.
    async fn inline(&self, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let iam = self.aws.iam();
        let names =
            iam.list_role_policies().role_name(name).max_items(1000).send().await.map_err(sdk_error)?.policy_names;
        let mut out = BTreeMap::new();
        for pname in names {
            let doc = iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&pname)
                .send()
                .await
                .map_err(sdk_error)?
                .policy_document;
            out.insert(pname, policy_doc::percent_decode(&doc).unwrap_or(doc));
        }
        Ok(out)
    }
}

pub(crate) fn ignore_gone<T>(r: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_gone(&e, &NO_ENTITY) => Ok(()),
        Err(e) => Err(e),
    }
}

fn data(name: &str, arn: &str, id: &str) -> ResourceData {
    crate::util::data(
        name,
        BTreeMap::from([("Arn".to_string(), Value::from(arn)), ("RoleId".to_string(), Value::from(id))]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust() -> Json {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]})
    }

    #[test]
    fn parses_a_role() {
        let spec = parse(&json!({
            "AssumeRolePolicyDocument": trust(),
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}],
            "MaxSessionDuration": "7200"
        }))
        .unwrap();
        assert_eq!(spec.max_session, Some(7200));
        assert_eq!(spec.managed.len(), 1);
        assert!(spec.inline["p"].contains("2012-10-17"));
        assert!(parse(&json!({"AssumeRolePolicyDocument": 5})).is_err());
        let dup = json!({"AssumeRolePolicyDocument": trust(), "Policies": [{"PolicyName": "p", "PolicyDocument": {}}, {"PolicyName": "p", "PolicyDocument": {}}]});
        assert!(parse(&dup).unwrap_err().message.contains("two policies"));
    }

    #[test]
    fn equivalent_lists_and_documents() {
        let aws = Aws::from_config(
            aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build(),
        );
        let r = Role::new(aws);
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
        assert!(r.equivalent("AssumeRolePolicyDocument", &trust(), &json!(text)));
        let p1 = json!([{"PolicyName": "p", "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": ["s3:*"]}}}]);
        let p2 = json!([{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Action": "s3:*", "Effect": "Allow"}]}}]);
        assert!(r.equivalent("Policies", &p1, &p2));
        assert!(!r.equivalent("Policies", &p1, &json!([])));
    }

    #[test]
    fn generated_names_fit_iam() {
        let mut ctx = crate::test_ctx(TYPE_NAME, "Access.Role");
        ctx.stack = "a-very-long-stack-name-that-goes-on-and-on-and-on-and-on".into();
        let name = role_name(&ctx, &json!({})).unwrap();
        assert!(name.len() <= 64, "{name}");
        assert!(name.ends_with("-abcdefghijkl"));
        assert!(name.chars().all(iam_name_char));
    }
}
