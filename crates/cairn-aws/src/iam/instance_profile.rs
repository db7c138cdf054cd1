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

use async_trait::async_trait;
use cairn_core::provider::{
    CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema,
};
use cairn_core::Value;
use serde_json::{json, Value as Json};

use super::role::{ignore_gone, NO_ENTITY};
use crate::util::{
    check_by_parsing, iam_name_char, in_user_spelling, invalid, is_gone, loose_eq, opt_str, refuse_unsupported,
    sdk_error, str_list,
};
use crate::{wait_until, Aws, CONSISTENCY_WAIT};

pub const TYPE_NAME: &str = "AWS::IAM::InstanceProfile";

static SCHEMA: LazyLock<TypeSchema> =
    LazyLock::new(|| crate::schema::load(crate::schema::IAM_INSTANCE_PROFILE, Some("InstanceProfileName"), &[]));

/// The `AWS::IAM::InstanceProfile` resource type.
pub struct InstanceProfile {
    aws: Arc<Aws>,
}

impl InstanceProfile {
    pub fn new(aws: Arc<Aws>) -> Self {
        InstanceProfile { aws }
    }
}

fn roles(props: &Json) -> Result<BTreeSet<String>, ProviderError> {
    refuse_unsupported(props, &["Roles", "InstanceProfileName", "Path"], TYPE_NAME)?;
    let roles: BTreeSet<String> = str_list(props, "Roles")?.into_iter().collect();
    if roles.len() > 1 {
        return Err(invalid("Roles: an instance profile holds at most one role"));
    }
    Ok(roles)
}

fn profile_name(ctx: &OpContext, props: &Json) -> Result<String, ProviderError> {
    Ok(opt_str(props, "InstanceProfileName")?.unwrap_or_else(|| ctx.generated_name(128, false, iam_name_char)))
}

#[async_trait]
impl ResourceType for InstanceProfile {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        check_by_parsing(self, properties, |p| roles(p).map(|_| ()))
    }

    fn equivalent(&self, _property: &str, old: &Json, new: &Json) -> bool {
        loose_eq(old, new)
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let roles = roles(properties)?;
        let name = profile_name(ctx, properties)?;
        let iam = self.aws.iam();
        let out = iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .set_path(opt_str(properties, "Path")?)
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = out.instance_profile.map(|p| p.arn).unwrap_or_default();
        // From here on the profile exists: a failure says so (the engine tracks it as `read` finds it).
        let settle = async {
            wait_until(CONSISTENCY_WAIT, &format!("instance profile {name} to exist"), || async {
                match iam.get_instance_profile().instance_profile_name(&name).send().await.map_err(sdk_error) {
                    Ok(_) => Ok(Some(())),
                    Err(e) if is_gone(&e, &NO_ENTITY) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
            for role in roles {
                iam.add_role_to_instance_profile()
                    .instance_profile_name(&name)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            Ok::<(), ProviderError>(())
        };
        settle.await.map_err(|e| e.after_creating(&name))?;
        Ok(data(&name, &arn))
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let profile = match self
            .aws
            .iam()
            .get_instance_profile()
            .instance_profile_name(physical_id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => out.instance_profile,
            Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(p) = profile else { return Ok(None) };
        let mut out = BTreeMap::new();
        out.insert("Roles".to_string(), json!(p.roles.iter().map(|r| r.role_name.clone()).collect::<Vec<_>>()));
        if properties.get("InstanceProfileName").is_some() {
            out.insert("InstanceProfileName".into(), json!(p.instance_profile_name));
        }
        if properties.get("Path").is_some() || p.path != "/" {
            out.insert("Path".into(), json!(p.path));
        }
        Ok(Some(ReadResult {
            data: data(&p.instance_profile_name, &p.arn),
            properties: in_user_spelling(self, out, properties),
        }))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let (before, after) = (roles(old)?, roles(new)?);
        let iam = self.aws.iam();
        for role in before.difference(&after) {
            ignore_gone(
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(physical_id)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(sdk_error),
            )?;
        }
        for role in after.difference(&before) {
            iam.add_role_to_instance_profile()
                .instance_profile_name(physical_id)
                .role_name(role)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let p = iam
            .get_instance_profile()
            .instance_profile_name(physical_id)
            .send()
            .await
            .map_err(sdk_error)?
            .instance_profile;
        Ok(data(physical_id, &p.map(|p| p.arn).unwrap_or_default()))
    }

    async fn delete(&self, _ctx: &OpContext, physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        let iam = self.aws.iam();
        let profile =
            match iam.get_instance_profile().instance_profile_name(physical_id).send().await.map_err(sdk_error) {
                Ok(out) => out.instance_profile,
                Err(e) if is_gone(&e, &NO_ENTITY) => return Ok(()),
                Err(e) => return Err(e),
            };
        for role in profile.map(|p| p.roles).unwrap_or_default() {
            ignore_gone(
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(physical_id)
                    .role_name(role.role_name)
                    .send()
                    .await
                    .map_err(sdk_error),
            )?;
        }
        ignore_gone(iam.delete_instance_profile().instance_profile_name(physical_id).send().await.map_err(sdk_error))
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        if opt_str(properties, "InstanceProfileName")?.is_some() {
            return Ok(None);
        }
        let name = profile_name(ctx, properties)?;
        match self.aws.iam().get_instance_profile().instance_profile_name(&name).send().await.map_err(sdk_error) {
            Ok(out) => Ok(out.instance_profile.map(|p| data(&name, &p.arn))),
            Err(e) if is_gone(&e, &NO_ENTITY) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn data(name: &str, arn: &str) -> ResourceData {
    crate::util::data(name, BTreeMap::from([("Arn".to_string(), Value::from(arn))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_role_at_most() {
        assert_eq!(roles(&json!({"Roles": ["a"]})).unwrap().len(), 1);
        assert!(roles(&json!({"Roles": ["a", "b"]})).unwrap_err().message.contains("at most one role"));
        assert!(roles(&json!({"Roles": ["a"], "Tags": []})).is_err());
        let ctx = crate::test_ctx(TYPE_NAME, "Access.Profile");
        assert_eq!(profile_name(&ctx, &json!({})).unwrap(), "dev-Access-Profile-abcdefghijkl");
    }
}
