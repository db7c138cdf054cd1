//! `AWS::IAM::InstanceProfile`: an instance profile holding (at most) one role.
//!
//! | property | notes |
//! | --- | --- |
//! | `Roles` | list of one role name, required |
//! | `InstanceProfileName` | string, create-only; generated when absent (128 characters) |
//! | `Path` | string, create-only, default `/` |
//!
//! - `Ref`: the instance profile name.
//! - `Fn::GetAtt`: `Arn`.
//!
//! The schema marks the type as not taggable, so `find` relies on the deterministic name:
//! it adopts a profile with a generated name, never one with an explicit name (which it
//! cannot tell from someone else's).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::iam_name_char;
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::IAM::InstanceProfile";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::load(crate::schema::IAM_INSTANCE_PROFILE, Some("InstanceProfileName"), &[])
    }),
    not_found: &["NoSuchEntity"],
    timeout: Duration::from_secs(60),
    reference: "the instance profile name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    roles: BTreeSet<String>,
    instance_profile_name: Option<String>,
    path: Option<String>,
}

/// The `AWS::IAM::InstanceProfile` resource type.
pub struct InstanceProfile;

impl InstanceProfile {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<InstanceProfile> {
        Typed::new(InstanceProfile, aws)
    }
}

fn profile_name(cx: &Cx<'_>, p: &Props) -> String {
    p.instance_profile_name.clone().unwrap_or_else(|| cx.generated_name(128, false, iam_name_char))
}

fn data(name: &str, arn: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::from([("Arn".to_string(), Value::from(arn))]) }
}

#[async_trait]
impl AwsType for InstanceProfile {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.roles.len() > 1 {
            return Err(PropsError {
                path: "Roles".into(),
                message: "an instance profile holds at most one role".into(),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = profile_name(cx, p);
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .set_path(p.path.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = out.instance_profile.map(|p| p.arn).unwrap_or_default();
        cx.created(&name, async {
            cx.wait_visible(&format!("instance profile {name} to exist"), || async {
                iam.get_instance_profile().instance_profile_name(&name).send().await.map_err(sdk_error)
            })
            .await?;
            for role in &p.roles {
                iam.add_role_to_instance_profile()
                    .instance_profile_name(&name)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            Ok(())
        })
        .await?;
        Ok(data(&name, &arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam.get_instance_profile().instance_profile_name(physical_id).send().await.map_err(sdk_error)?;
        let Some(p) = out.instance_profile else { return Ok(None) };
        let mut props = BTreeMap::new();
        props.insert("Roles".to_string(), json!(p.roles.iter().map(|r| r.role_name.clone()).collect::<Vec<_>>()));
        if desired.get("InstanceProfileName").is_some() {
            props.insert("InstanceProfileName".into(), json!(p.instance_profile_name));
        }
        if desired.get("Path").is_some() || p.path != "/" {
            props.insert("Path".into(), json!(p.path));
        }
        Ok(Some(Live { data: data(&p.instance_profile_name, &p.arn), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        for role in old.roles.difference(&new.roles) {
            cx.found(
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(physical_id)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(sdk_error),
            )?;
        }
        for role in new.roles.difference(&old.roles) {
            iam.add_role_to_instance_profile()
                .instance_profile_name(physical_id)
                .role_name(role)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let p = iam.get_instance_profile().instance_profile_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(data(physical_id, &p.instance_profile.map(|p| p.arn).unwrap_or_default()))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam.get_instance_profile().instance_profile_name(physical_id).send().await.map_err(sdk_error)?;
        for role in out.instance_profile.map(|p| p.roles).unwrap_or_default() {
            cx.found(
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(physical_id)
                    .role_name(role.role_name)
                    .send()
                    .await
                    .map_err(sdk_error),
            )?;
        }
        iam.delete_instance_profile().instance_profile_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        if p.instance_profile_name.is_some() {
            return Ok(None);
        }
        let name = profile_name(cx, p);
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam.get_instance_profile().instance_profile_name(&name).send().await.map_err(sdk_error)?;
        Ok(out.instance_profile.map(|p| data(&name, &p.arn)))
    }

    fn fixture(&self) -> Fixture {
        // Generated role names: the suite's stacks of this fixture (lifecycle, partial
        // failure) do not collide.
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        Fixture {
            support: json!({"First": role.clone(), "Second": role}),
            create: json!({"Roles": [{"Ref": "First"}], "Path": "/conformance/"}),
            update: Some(json!({"Roles": [{"Ref": "Second"}], "Path": "/conformance/"})),
            replace: Some(json!({"Roles": [{"Ref": "Second"}], "Path": "/conformance/moved/"})),
            nested_replace: None,
            partial_after: Some("AddRoleToInstanceProfile"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        InstanceProfile::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn one_role_at_most_and_nothing_else() {
        assert_eq!(parse(json!({"Roles": ["a"]})).unwrap().roles.len(), 1);
        let e = parse(json!({"Roles": ["a", "b"]})).unwrap_err();
        assert_eq!(e.message, "Roles: an instance profile holds at most one role");
        let e = parse(json!({"Roles": ["a"], "Tags": []})).unwrap_err();
        assert!(
            e.message.starts_with("Tags: `AWS::IAM::InstanceProfile` has no property `Tags` here"),
            "{}",
            e.message
        );
        assert!(e.message.contains("it takes: Roles, InstanceProfileName, Path"), "{}", e.message);
    }

    #[test]
    fn generated_names_follow_the_seed() {
        let ctx = crate::test_ctx(TYPE_NAME, "Access.Profile");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let p = parse(json!({"Roles": ["a"]})).unwrap();
        assert_eq!(profile_name(&cx, &p), "dev-Access-Profile-abcdefghijkl");
    }
}
