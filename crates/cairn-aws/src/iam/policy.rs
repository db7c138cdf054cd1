//! `AWS::IAM::Policy`: an inline policy put on roles, users and groups.
//!
//! | property | notes |
//! | --- | --- |
//! | `PolicyName` | string, required |
//! | `PolicyDocument` | mapping or JSON text, required |
//! | `Roles`, `Users`, `Groups` | names of the entities that carry the policy (at least one) |
//!
//! - `Ref` and `Fn::GetAtt` `Id`: an id made from the stack, the logical id and the name
//!   seed (`{stack}-{logical id}-{seed}`); the policy itself has no id in IAM.
//!
//! The schema marks no property create-only: every change is an update in place. A rename
//! puts the policy under its new name on every entity, then deletes the old name; a changed
//! document or a new entity gets a put, an entity left out a delete. `PolicyName` is the name
//! property, so a forced replacement (`--replace`) deletes before it creates (creating first
//! would put the same policy again, and the delete of the old one would then remove it).
//! `read` reports the entities that carry a policy of this name; when none does, the
//! resource is gone. `find` adopts the policy when an entity named in the properties
//! carries it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::iam_name_char;
use super::{document_text, live_document, Kind, NOT_FOUND};
use crate::kit::{props, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::IAM::Policy";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::IAM_POLICY, Some("PolicyName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "an id of the stack, the logical id and the name seed",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    policy_name: String,
    policy_document: Json,
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

/// The `AWS::IAM::Policy` resource type.
pub struct Policy;

impl Policy {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Policy> {
        Typed::new(Policy, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData { physical_id: id.to_string(), attributes: BTreeMap::from([("Id".to_string(), Value::from(id))]) }
}

pub(super) async fn put(
    iam: &aws_sdk_iam::Client,
    kind: Kind,
    entity: &str,
    name: &str,
    doc: &str,
) -> Result<(), ProviderError> {
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

/// The entity's policy document of that name, or `None` when the entity or its policy does
/// not exist.
pub(super) async fn get(
    cx: &Cx<'_>,
    iam: &aws_sdk_iam::Client,
    kind: Kind,
    entity: &str,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let doc = match kind {
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
    cx.found(doc)
}

/// Delete the entity's policy of that name; done already when the entity or the policy is
/// gone.
pub(super) async fn remove(
    cx: &Cx<'_>,
    iam: &aws_sdk_iam::Client,
    kind: Kind,
    entity: &str,
    name: &str,
) -> Result<(), ProviderError> {
    let deleted = match kind {
        Kind::Role => {
            iam.delete_role_policy().role_name(entity).policy_name(name).send().await.map(|_| ()).map_err(sdk_error)
        }
        Kind::User => {
            iam.delete_user_policy().user_name(entity).policy_name(name).send().await.map(|_| ()).map_err(sdk_error)
        }
        Kind::Group => {
            iam.delete_group_policy().group_name(entity).policy_name(name).send().await.map(|_| ()).map_err(sdk_error)
        }
    };
    cx.found(deleted).map(|_| ())
}

#[async_trait]
impl AwsType for Policy {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.document()?;
        if p.entities().is_empty() {
            return Err(PropsError {
                path: String::new(),
                message: "at least one of `Roles`, `Users` and `Groups` must name an entity".into(),
            });
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        super::policy_property_equivalent(property, old, new)
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let id = cx.generated_name(128, false, iam_name_char);
        let doc = p.document()?;
        let iam: aws_sdk_iam::Client = cx.client();
        let mut targets = p.entities().into_iter();
        // The first put makes the policy: a later failure says that it exists.
        if let Some((kind, entity)) = targets.next() {
            put(&iam, kind, entity, &p.policy_name, &doc).await?;
        }
        cx.created(&id, async {
            for (kind, entity) in targets {
                put(&iam, kind, entity, &p.policy_name, &doc).await?;
            }
            Ok(())
        })
        .await?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let p: Props = props::parse(&SPEC.schema, desired)?;
        let iam: aws_sdk_iam::Client = cx.client();
        let mut found: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
        let mut doc: Option<String> = None;
        for (kind, entity) in p.entities() {
            let Some(live) = get(cx, &iam, kind, entity, &p.policy_name).await? else { continue };
            found.entry(kind).or_default().insert(entity.to_string());
            // Report a document that differs from the desired one, if any entity has one.
            let same = policy_doc::equivalent(&live_document(&live), &p.policy_document);
            if doc.is_none() || !same {
                doc = Some(live);
            }
        }
        let Some(doc) = doc else { return Ok(None) };
        let mut out = BTreeMap::new();
        out.insert("PolicyName".to_string(), json!(p.policy_name));
        out.insert("PolicyDocument".to_string(), live_document(&doc));
        for kind in [Kind::Role, Kind::User, Kind::Group] {
            let names = found.remove(&kind).unwrap_or_default();
            if !names.is_empty() || desired.get(kind.property()).is_some_and(|v| !v.is_null()) {
                out.insert(kind.property().to_string(), json!(names));
            }
        }
        Ok(Some(Live { data: data(physical_id), properties: out, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let doc = new.document()?;
        let renamed = old.policy_name != new.policy_name;
        let same_doc = policy_doc::equivalent(&old.policy_document, &new.policy_document);
        let (before, after) = (old.entities(), new.entities());
        for (kind, entity) in &after {
            if renamed || !same_doc || !before.contains(&(*kind, *entity)) {
                put(&iam, *kind, entity, &new.policy_name, &doc).await?;
            }
        }
        for (kind, entity) in &before {
            if renamed || !after.contains(&(*kind, *entity)) {
                remove(cx, &iam, *kind, entity, &old.policy_name).await?;
            }
        }
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, _physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        for (kind, entity) in p.entities() {
            remove(cx, &iam, kind, entity, &p.policy_name).await?;
        }
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        for (kind, entity) in p.entities() {
            if get(cx, &iam, kind, entity, &p.policy_name).await?.is_some() {
                return Ok(Some(data(&cx.generated_name(128, false, iam_name_char))));
            }
        }
        Ok(None)
    }

    fn fixture(&self) -> Fixture {
        let holder = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let doc = |action: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        Fixture {
            support: json!({"First": holder.clone(), "Second": holder}),
            create: json!({"PolicyName": "conf-inline", "PolicyDocument": doc("s3:GetObject"), "Roles": [{"Ref": "First"}]}),
            // A rename, another document and a second role: all in place.
            update: Some(json!({
                "PolicyName": "conf-inline-renamed",
                "PolicyDocument": doc("s3:PutObject"),
                "Roles": [{"Ref": "First"}, {"Ref": "Second"}]
            })),
            // The schema marks no property create-only: no change of properties replaces.
            replace: None,
            nested_replace: None,
            // The first put is the create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Policy::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn needs_a_name_a_document_and_an_entity() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        let p = parse(json!({"PolicyName": "p", "PolicyDocument": doc, "Roles": ["r"], "Users": ["u"]})).unwrap();
        let list: Vec<(Kind, &str)> = p.entities().into_iter().collect();
        assert_eq!(list, [(Kind::Role, "r"), (Kind::User, "u")]);
        let e = parse(json!({"PolicyName": "p", "PolicyDocument": doc, "Roles": []})).unwrap_err();
        assert_eq!(e.message, "at least one of `Roles`, `Users` and `Groups` must name an entity");
        let e = parse(json!({"PolicyDocument": doc, "Roles": ["r"]})).unwrap_err();
        assert_eq!(e.message, "PolicyName: required property `PolicyName` is missing");
    }

    #[test]
    fn the_schema_marks_nothing_create_only() {
        assert!(SPEC.schema.create_only.is_empty());
        assert!(Policy.fixture().conformance().verified.iter().all(|s| *s != cairn_core::provider::Step::Replace));
    }
}
