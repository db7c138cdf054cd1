//! `AWS::IAM::Policy`: an inline policy put on roles, users and groups.
//!
//! | property | notes |
//! | --- | --- |
//! | `PolicyName` | string, required |
//! | `PolicyDocument` | mapping or JSON text, required |
//! | `Roles`, `Users`, `Groups` | names of the entities that carry the policy |
//!
//! - `Ref` and `Fn::GetAtt` `Id`: an id made from the stack, the logical id and the name
//!   seed (`{stack}-{logical id}-{seed}`); the policy itself has no id in IAM.
//!
//! A rename or a changed document is put on every entity (the old name is deleted). `read`
//! reports the entities that carry a policy of this name; when none does, the resource is
//! gone. `find` adopts the policy when an entity named in the properties carries it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use cairn_core::provider::{
    CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema,
};
use cairn_core::Value;
use serde_json::{json, Value as Json};

use super::managed_policy::Attachments;
use super::role::{ignore_gone, NO_ENTITY};
use crate::util::{
    check_by_parsing, iam_name_char, in_user_spelling, invalid, is_gone, refuse_unsupported, req_str, sdk_error,
};
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::IAM::Policy";

/// `PolicyName` is the name property: the policy is an entity's policy of that name, so a
/// replacement that keeps the name must delete before it creates (creating first would put
/// the same policy again, and the delete of the old one would then remove it).
static SCHEMA: LazyLock<TypeSchema> =
    LazyLock::new(|| crate::schema::load(crate::schema::IAM_POLICY, Some("PolicyName"), &[]));

/// The `AWS::IAM::Policy` resource type.
pub struct Policy {
    aws: Arc<Aws>,
}

impl Policy {
    pub fn new(aws: Arc<Aws>) -> Self {
        Policy { aws }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Role,
    User,
    Group,
}

#[derive(Debug)]
struct Spec {
    name: String,
    doc: String,
    on: Attachments,
}

fn parse(props: &Json) -> Result<Spec, ProviderError> {
    refuse_unsupported(props, &["PolicyName", "PolicyDocument", "Roles", "Users", "Groups"], TYPE_NAME)?;
    let doc = props
        .get("PolicyDocument")
        .and_then(policy_doc::to_text)
        .ok_or_else(|| invalid("PolicyDocument: expected a policy document (a mapping, or JSON text)"))?;
    let on = Attachments::parse(props)?;
    if on.roles.is_empty() && on.users.is_empty() && on.groups.is_empty() {
        return Err(invalid("at least one of `Roles`, `Users` and `Groups` must name an entity"));
    }
    Ok(Spec { name: req_str(props, "PolicyName")?, doc, on })
}

fn entities(a: &Attachments) -> impl Iterator<Item = (Kind, &String)> {
    a.roles
        .iter()
        .map(|n| (Kind::Role, n))
        .chain(a.users.iter().map(|n| (Kind::User, n)))
        .chain(a.groups.iter().map(|n| (Kind::Group, n)))
}

fn data(id: &str) -> ResourceData {
    crate::util::data(id, BTreeMap::from([("Id".to_string(), Value::from(id))]))
}

#[async_trait]
impl ResourceType for Policy {
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
        let spec = parse(properties)?;
        let id = ctx.generated_name(128, false, iam_name_char);
        // Once one entity has the policy, the policy exists: a later failure says so (the
        // engine tracks it as `read` finds it).
        for (n, (kind, entity)) in entities(&spec.on).enumerate() {
            self.put(kind, entity, &spec.name, &spec.doc).await.map_err(|e| {
                if n > 0 {
                    e.after_creating(&id)
                } else {
                    e
                }
            })?;
        }
        Ok(data(&id))
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let spec = parse(properties)?;
        let mut found = Attachments::default();
        let mut doc: Option<String> = None;
        for (kind, entity) in entities(&spec.on) {
            let Some(live) = self.get(kind, entity, &spec.name).await? else { continue };
            match kind {
                Kind::Role => found.roles.insert(entity.clone()),
                Kind::User => found.users.insert(entity.clone()),
                Kind::Group => found.groups.insert(entity.clone()),
            };
            // Report a document that differs from the desired one, if any entity has one.
            let same = policy_doc::equivalent(&Json::String(live.clone()), &Json::String(spec.doc.clone()));
            if doc.is_none() || !same {
                doc = Some(live);
            }
        }
        let Some(doc) = doc else { return Ok(None) };
        let mut out = BTreeMap::new();
        out.insert("PolicyName".to_string(), json!(spec.name));
        out.insert(
            "PolicyDocument".to_string(),
            policy_doc::prefer_desired(&Json::String(doc), properties.get("PolicyDocument")),
        );
        for (k, set) in [("Roles", &found.roles), ("Users", &found.users), ("Groups", &found.groups)] {
            if !set.is_empty() || properties.get(k).is_some() {
                out.insert(k.to_string(), json!(set));
            }
        }
        Ok(Some(ReadResult { data: data(physical_id), properties: in_user_spelling(self, out, properties) }))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let (before, after) = (parse(old)?, parse(new)?);
        for (kind, entity) in entities(&after.on) {
            self.put(kind, entity, &after.name, &after.doc).await?;
        }
        let after_set: BTreeSet<(String, String)> =
            entities(&after.on).map(|(k, e)| (format!("{k:?}"), e.clone())).collect();
        for (kind, entity) in entities(&before.on) {
            if before.name != after.name || !after_set.contains(&(format!("{kind:?}"), entity.clone())) {
                self.remove(kind, entity, &before.name).await?;
            }
        }
        Ok(data(physical_id))
    }

    async fn delete(&self, _ctx: &OpContext, _physical_id: &str, properties: &Json) -> Result<(), ProviderError> {
        let spec = parse(properties)?;
        for (kind, entity) in entities(&spec.on) {
            self.remove(kind, entity, &spec.name).await?;
        }
        Ok(())
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let spec = parse(properties)?;
        for (kind, entity) in entities(&spec.on) {
            if self.get(kind, entity, &spec.name).await?.is_some() {
                return Ok(Some(data(&ctx.generated_name(128, false, iam_name_char))));
            }
        }
        Ok(None)
    }
}

impl Policy {
    async fn put(&self, kind: Kind, entity: &str, name: &str, doc: &str) -> Result<(), ProviderError> {
        let iam = self.aws.iam();
        match kind {
            Kind::Role => iam
                .put_role_policy()
                .role_name(entity)
                .policy_name(name)
                .policy_document(doc)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error),
            Kind::User => iam
                .put_user_policy()
                .user_name(entity)
                .policy_name(name)
                .policy_document(doc)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error),
            Kind::Group => iam
                .put_group_policy()
                .group_name(entity)
                .policy_name(name)
                .policy_document(doc)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error),
        }
    }

    /// The decoded document, or `None` when the entity or its policy does not exist.
    async fn get(&self, kind: Kind, entity: &str, name: &str) -> Result<Option<String>, ProviderError> {
        let iam = self.aws.iam();
        let r = match kind {
            Kind::Role => iam
                .get_role_policy()
                .role_name(entity)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(sdk_error),
            Kind::User => iam
                .get_user_policy()
                .user_name(entity)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(sdk_error),
            Kind::Group => iam
                .get_group_policy()
                .group_name(entity)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(sdk_error),
        };
        match r {
            Ok(doc) => Ok(Some(policy_doc::percent_decode(&doc).unwrap_or(doc))),
            Err(e) if is_gone(&e, &NO_ENTITY) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn remove(&self, kind: Kind, entity: &str, name: &str) -> Result<(), ProviderError> {
        let iam = self.aws.iam();
        ignore_gone(match kind {
            Kind::Role => {
                iam.delete_role_policy().role_name(entity).policy_name(name).send().await.map(|_| ()).map_err(sdk_error)
            }
            Kind::User => {
                iam.delete_user_policy().user_name(entity).policy_name(name).send().await.map(|_| ()).map_err(sdk_error)
            }
            Kind::Group => iam
                .delete_group_policy()
                .group_name(entity)
                .policy_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_name_a_document_and_an_entity() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        let spec = parse(&json!({"PolicyName": "p", "PolicyDocument": doc, "Roles": ["r"], "Users": ["u"]})).unwrap();
        let list: Vec<(Kind, &String)> = entities(&spec.on).collect();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].0, Kind::Role);
        assert!(parse(&json!({"PolicyName": "p", "PolicyDocument": doc}))
            .unwrap_err()
            .message
            .contains("at least one"));
        assert!(parse(&json!({"PolicyDocument": doc, "Roles": ["r"]})).is_err());
    }
}
