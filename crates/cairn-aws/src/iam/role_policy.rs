//! `AWS::IAM::RolePolicy`: one inline policy embedded in one role.
//!
//! | property | notes |
//! | --- | --- |
//! | `PolicyName` | string, required, create-only |
//! | `RoleName` | string, required, create-only |
//! | `PolicyDocument` | mapping or JSON text; the schema does not require it, but IAM's `PutRolePolicy` does, so `check` does |
//!
//! - `Ref`: the registry's primary identifier, `{PolicyName}|{RoleName}` (the
//!   CloudFormation docs give no return value for this type).
//! - `Fn::GetAtt`: none.
//!
//! `create` refuses to take over an inline policy the role already has (`GetRolePolicy`
//! first: `PutRolePolicy` would overwrite it silently), then puts it. A changed document is
//! an update in place (`PutRolePolicy`); a new name or role replaces (`PolicyName` is the name
//! property: the old policy is deleted before the new one is put). `delete` is
//! `DeleteRolePolicy`. `find` adopts the policy when the role carries one of that name (an
//! inline policy has no tags to tell whose it is), as `AWS::IAM::Policy` does.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::policy::{get, put, remove};
use super::{document_text, live_document, Kind, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::IAM::RolePolicy";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::IAM_ROLE_POLICY, Some("PolicyName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the policy and role names, `PolicyName|RoleName`",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    policy_name: String,
    role_name: String,
    policy_document: Option<Json>,
}

impl Props {
    fn document(&self) -> Result<String, PropsError> {
        match &self.policy_document {
            Some(doc) => document_text(doc, "PolicyDocument"),
            None => Err(PropsError {
                path: "PolicyDocument".into(),
                message: "IAM needs a policy document to put an inline policy; add `PolicyDocument`".into(),
            }),
        }
    }
}

/// The `AWS::IAM::RolePolicy` resource type.
pub struct RolePolicy;

impl RolePolicy {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<RolePolicy> {
        Typed::new(RolePolicy, aws)
    }
}

fn physical_id(policy: &str, role: &str) -> String {
    format!("{policy}|{role}")
}

/// The policy and role names of a physical id (neither name can hold a `|`).
fn names(physical_id: &str) -> Result<(&str, &str), ProviderError> {
    physical_id.split_once('|').ok_or_else(|| {
        ProviderError::with_code(
            "InvalidPhysicalId",
            format!("`{physical_id}` is not a role policy id (`PolicyName|RoleName`); run `cairn refresh`"),
        )
    })
}

fn data(policy: &str, role: &str) -> ResourceData {
    ResourceData { physical_id: physical_id(policy, role), attributes: BTreeMap::new() }
}

#[async_trait]
impl AwsType for RolePolicy {
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
        let doc = p.document()?;
        let iam: aws_sdk_iam::Client = cx.client();
        if get(cx, &iam, Kind::Role, &p.role_name, &p.policy_name).await?.is_some() {
            return Err(ProviderError::with_code(
                "EntityAlreadyExists",
                format!(
                    "role {} already has an inline policy named {}; choose another `PolicyName`, or delete that policy first",
                    p.role_name, p.policy_name
                ),
            ));
        }
        put(&iam, Kind::Role, &p.role_name, &p.policy_name, &doc).await?;
        Ok(data(&p.policy_name, &p.role_name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let (policy, role) = names(physical_id)?;
        let iam: aws_sdk_iam::Client = cx.client();
        let Some(doc) = get(cx, &iam, Kind::Role, role, policy).await? else { return Ok(None) };
        let props = BTreeMap::from([
            ("PolicyName".to_string(), json!(policy)),
            ("RoleName".to_string(), json!(role)),
            ("PolicyDocument".to_string(), live_document(&doc)),
        ]);
        Ok(Some(Live { data: data(policy, role), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        // Only the document can change in place (the names are create-only).
        let (policy, role) = names(physical_id)?;
        let iam: aws_sdk_iam::Client = cx.client();
        put(&iam, Kind::Role, role, policy, &new.document()?).await?;
        Ok(data(policy, role))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let (policy, role) = names(physical_id)?;
        let iam: aws_sdk_iam::Client = cx.client();
        remove(cx, &iam, Kind::Role, role, policy).await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let found = get(cx, &iam, Kind::Role, &p.role_name, &p.policy_name).await?;
        Ok(found.map(|_| data(&p.policy_name, &p.role_name)))
    }

    fn fixture(&self) -> Fixture {
        let holder = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let doc = |action: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        Fixture {
            support: json!({"Holder": holder}),
            create: json!({"PolicyName": "conf-inline", "RoleName": {"Ref": "Holder"}, "PolicyDocument": doc("s3:GetObject")}),
            update: Some(
                json!({"PolicyName": "conf-inline", "RoleName": {"Ref": "Holder"}, "PolicyDocument": doc("s3:PutObject")}),
            ),
            replace: Some(
                json!({"PolicyName": "conf-inline-renamed", "RoleName": {"Ref": "Holder"}, "PolicyDocument": doc("s3:PutObject")}),
            ),
            nested_replace: None,
            // `GetRolePolicy` then `PutRolePolicy`, which makes it: nothing after.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        RolePolicy::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn needs_names_and_a_document() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        let p = parse(json!({"PolicyName": "p", "RoleName": "r", "PolicyDocument": doc})).unwrap();
        assert!(p.document().unwrap().contains("2012-10-17"));
        let e = parse(json!({"PolicyName": "p", "RoleName": "r"})).unwrap_err();
        assert!(e.message.starts_with("PolicyDocument: IAM needs a policy document"), "{}", e.message);
        let e = parse(json!({"PolicyName": "p", "PolicyDocument": doc})).unwrap_err();
        assert_eq!(e.message, "RoleName: required property `RoleName` is missing");
    }

    #[test]
    fn the_id_is_policy_then_role() {
        assert_eq!(physical_id("read", "app-role"), "read|app-role");
        assert_eq!(names("read|app-role").unwrap(), ("read", "app-role"));
        assert_eq!(names("read").unwrap_err().code.as_deref(), Some("InvalidPhysicalId"));
    }
}
