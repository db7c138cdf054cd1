//! `AWS::ECR::Repository`: an Amazon ECR private image repository.
//!
//! | property | notes |
//! | --- | --- |
//! | `RepositoryName` | string, create-only; generated when absent (lower case, 256 characters) |
//! | `ImageScanningConfiguration` | `{ScanOnPush}`; absent: `false` |
//! | `ImageTagMutability` | `MUTABLE` (the default) or `IMMUTABLE` |
//! | `LifecyclePolicy` | `{LifecyclePolicyText, RegistryId}`: the lifecycle policy JSON text, compared by meaning |
//! | `EncryptionConfiguration` | `{EncryptionType, KmsKey}`, create-only at every path; absent: `AES256` |
//! | `EmptyOnDelete` | write-only: when `true`, deleting the repository deletes its images too |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `RepositoryPolicyText`, `ImageTagMutabilityExclusionFilters`
//! (and with them the `*_WITH_EXCLUSION` mutability settings).
//!
//! - `Ref`: the repository name.
//! - `Fn::GetAtt`: `Arn`, `RepositoryUri`.
//!
//! `create` is `CreateRepository` (scanning, mutability, encryption and tags), then
//! `PutLifecyclePolicy` when there is a policy. `update` sends only what changed:
//! `PutImageScanningConfiguration`, `PutImageTagMutability`, `PutLifecyclePolicy` (or
//! `DeleteLifecyclePolicy` when it is removed), and the tags compared with the live ones
//! ([`Cx::tag_update`](crate::kit::Cx::tag_update)): `UntagResource`, `TagResource`, each
//! only when needed. `delete` is `DeleteRepository`, with `force` when `EmptyOnDelete` is
//! true; a repository that still holds images is otherwise refused by ECR
//! (`RepositoryNotEmptyException`), and the error says how to go on. `find` looks up the
//! name (given or generated) and adopts the repository when it carries this resource's
//! ownership tags (they are put in the call that creates it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecr::types::{EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ECR::Repository";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::ECR_REPOSITORY, Some("RepositoryName"), &[])),
    not_found: &["RepositoryNotFoundException"],
    timeout: Duration::from_secs(60),
    reference: "the repository name",
};

/// What `ImageTagMutability` is when it is not set.
const DEFAULT_MUTABILITY: &str = "MUTABLE";
/// What `EncryptionConfiguration.EncryptionType` is when it is not set.
const DEFAULT_ENCRYPTION: &str = "AES256";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    repository_name: Option<String>,
    image_scanning_configuration: Option<Scanning>,
    image_tag_mutability: Option<String>,
    lifecycle_policy: Option<Lifecycle>,
    encryption_configuration: Option<Encryption>,
    #[serde(default)]
    empty_on_delete: bool,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Scanning {
    #[serde(default)]
    scan_on_push: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Lifecycle {
    lifecycle_policy_text: Option<String>,
    registry_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Encryption {
    encryption_type: String,
    kms_key: Option<String>,
}

impl Props {
    fn scan_on_push(&self) -> bool {
        self.image_scanning_configuration.as_ref().is_some_and(|s| s.scan_on_push)
    }

    fn mutability(&self) -> &str {
        self.image_tag_mutability.as_deref().unwrap_or(DEFAULT_MUTABILITY)
    }

    /// The lifecycle policy text, if there is one.
    fn lifecycle_text(&self) -> Option<&str> {
        self.lifecycle_policy.as_ref().and_then(|l| l.lifecycle_policy_text.as_deref())
    }
}

/// The `AWS::ECR::Repository` resource type.
pub struct Repository;

impl Repository {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Repository> {
        Typed::new(Repository, aws)
    }
}

fn repository_name(cx: &Cx<'_>, p: &Props) -> String {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    p.repository_name.clone().unwrap_or_else(|| cx.generated_name(256, true, allowed))
}

fn data(r: &aws_sdk_ecr::types::Repository) -> ResourceData {
    ResourceData {
        physical_id: r.repository_name.clone().unwrap_or_default(),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::from(r.repository_arn.as_deref().unwrap_or_default())),
            ("RepositoryUri".to_string(), Value::from(r.repository_uri.as_deref().unwrap_or_default())),
        ]),
    }
}

fn ecr_tags(tags: BTreeMap<String, String>) -> Result<Vec<aws_sdk_ecr::types::Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_ecr::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::with_code("InvalidRequest", format!("Tags: {e}")))
        })
        .collect()
}

fn invalid(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::with_code("InvalidRequest", e.to_string())
}

async fn describe(ecr: &aws_sdk_ecr::Client, name: &str) -> Result<aws_sdk_ecr::types::Repository, ProviderError> {
    let out = ecr.describe_repositories().repository_names(name).send().await.map_err(sdk_error)?;
    out.repositories.unwrap_or_default().into_iter().next().ok_or_else(|| {
        ProviderError::with_code(
            "RepositoryNotFoundException",
            format!("DescribeRepositories returned no repository {name}"),
        )
    })
}

async fn live_tags(ecr: &aws_sdk_ecr::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = ecr.list_tags_for_resource().resource_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect())
}

async fn put_lifecycle(ecr: &aws_sdk_ecr::Client, name: &str, p: &Props) -> Result<(), ProviderError> {
    let Some(text) = p.lifecycle_text() else { return Ok(()) };
    ecr.put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(text)
        .set_registry_id(p.lifecycle_policy.as_ref().and_then(|l| l.registry_id.clone()))
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// Two lifecycle policy texts mean the same when they are the same JSON.
fn same_policy_text(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Json>(a), serde_json::from_str::<Json>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[async_trait]
impl AwsType for Repository {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.mutability().ends_with("_WITH_EXCLUSION") {
            return Err(PropsError {
                path: "ImageTagMutability".into(),
                message: "cairn takes MUTABLE or IMMUTABLE here (ImageTagMutabilityExclusionFilters is not supported)"
                    .into(),
            });
        }
        if let Some(text) = p.lifecycle_text() {
            serde_json::from_str::<Json>(text).map_err(|e| PropsError {
                path: "LifecyclePolicy.LifecyclePolicyText".into(),
                message: format!("expected a lifecycle policy in JSON text: {e}"),
            })?;
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        let text = |v: &Json| v.get("LifecyclePolicyText").and_then(Json::as_str).map(str::to_string);
        match property {
            "LifecyclePolicy" => {
                old.get("RegistryId") == new.get("RegistryId")
                    && match (text(old), text(new)) {
                        (Some(a), Some(b)) => same_policy_text(&a, &b),
                        (a, b) => a == b,
                    }
            }
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = repository_name(cx, p);
        let ecr: aws_sdk_ecr::Client = cx.client();
        let encryption = match &p.encryption_configuration {
            Some(e) => Some(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::from(e.encryption_type.as_str()))
                    .set_kms_key(e.kms_key.clone())
                    .build()
                    .map_err(invalid)?,
            ),
            None => None,
        };
        let out = ecr
            .create_repository()
            .repository_name(&name)
            .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(p.scan_on_push()).build())
            .image_tag_mutability(ImageTagMutability::from(p.mutability()))
            .set_encryption_configuration(encryption)
            .set_tags(Some(ecr_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(sdk_error)?;
        let repo = out
            .repository
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateRepository returned no repository"))?;
        cx.created(&name, put_lifecycle(&ecr, &name, p)).await?;
        Ok(data(&repo))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ecr: aws_sdk_ecr::Client = cx.client();
        let repo = describe(&ecr, physical_id).await?;
        let lifecycle = ecr.get_lifecycle_policy().repository_name(physical_id).send().await.map_err(sdk_error);
        let lifecycle = match lifecycle {
            Ok(l) => Some(l),
            Err(e) if e.code.as_deref() == Some("LifecyclePolicyNotFoundException") => None,
            Err(e) => return Err(e),
        };
        let tags = live_tags(&ecr, repo.repository_arn.as_deref().unwrap_or_default()).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if wants("RepositoryName") {
            props.insert("RepositoryName".to_string(), json!(repo.repository_name));
        }
        let scan = repo.image_scanning_configuration.as_ref().is_some_and(|s| s.scan_on_push);
        if scan || wants("ImageScanningConfiguration") {
            props.insert("ImageScanningConfiguration".to_string(), json!({"ScanOnPush": scan}));
        }
        let mutability = repo.image_tag_mutability.as_ref().map_or(DEFAULT_MUTABILITY, |m| m.as_str());
        if mutability != DEFAULT_MUTABILITY || wants("ImageTagMutability") {
            props.insert("ImageTagMutability".to_string(), json!(mutability));
        }
        if let Some(l) = lifecycle {
            let mut v = json!({"LifecyclePolicyText": l.lifecycle_policy_text});
            if desired.pointer("/LifecyclePolicy/RegistryId").is_some() {
                v["RegistryId"] = json!(l.registry_id);
            }
            props.insert("LifecyclePolicy".to_string(), v);
        }
        if let Some(e) = &repo.encryption_configuration {
            let kind = e.encryption_type.as_str();
            if kind != DEFAULT_ENCRYPTION || wants("EncryptionConfiguration") {
                let mut v = json!({"EncryptionType": kind});
                if let Some(key) = &e.kms_key {
                    // The user's key id or ARN, where the live ARN is that key's.
                    let given = desired.pointer("/EncryptionConfiguration/KmsKey").and_then(Json::as_str);
                    let shown = given.filter(|g| key == g || key.ends_with(&format!("/{g}"))).unwrap_or(key);
                    v["KmsKey"] = json!(shown);
                }
                if desired.pointer("/EncryptionConfiguration/KmsKey").is_none() && kind != "AES256" {
                    // A KMS type without a key given: ECR's own key, which the user did not name.
                    v.as_object_mut().map(|o| o.remove("KmsKey"));
                }
                props.insert("EncryptionConfiguration".to_string(), v);
            }
        }
        Ok(Some(Live { data: data(&repo), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ecr: aws_sdk_ecr::Client = cx.client();
        if old.scan_on_push() != new.scan_on_push() {
            ecr.put_image_scanning_configuration()
                .repository_name(physical_id)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder().scan_on_push(new.scan_on_push()).build(),
                )
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if old.mutability() != new.mutability() {
            ecr.put_image_tag_mutability()
                .repository_name(physical_id)
                .image_tag_mutability(ImageTagMutability::from(new.mutability()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let same_policy = match (old.lifecycle_text(), new.lifecycle_text()) {
            (Some(a), Some(b)) => same_policy_text(a, b),
            (a, b) => a == b,
        };
        if !same_policy {
            match new.lifecycle_text() {
                Some(_) => put_lifecycle(&ecr, physical_id, new).await?,
                None => {
                    let deleted = ecr.delete_lifecycle_policy().repository_name(physical_id).send().await;
                    match deleted.map_err(sdk_error) {
                        Err(e) if e.code.as_deref() != Some("LifecyclePolicyNotFoundException") => return Err(e),
                        _ => {}
                    }
                }
            }
        }
        let repo = describe(&ecr, physical_id).await?;
        let arn = repo.repository_arn.clone().unwrap_or_default();
        let diff = cx.tag_update(&live_tags(&ecr, &arn).await?, &new.tags);
        diff.apply(
            |keys| async {
                ecr.untag_resource().resource_arn(&arn).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async {
                ecr.tag_resource().resource_arn(&arn).set_tags(Some(ecr_tags(set)?)).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(data(&repo))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let ecr: aws_sdk_ecr::Client = cx.client();
        let deleted = ecr.delete_repository().repository_name(physical_id).force(p.empty_on_delete).send().await;
        match deleted.map_err(sdk_error) {
            Ok(_) => Ok(()),
            Err(mut e) if e.code.as_deref() == Some("RepositoryNotEmptyException") => {
                e.message = format!(
                    "{}; set `EmptyOnDelete: true` on the repository and run `cairn up` to delete it with its images, or delete the images first",
                    e.message.trim_end_matches('.')
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = repository_name(cx, p);
        let ecr: aws_sdk_ecr::Client = cx.client();
        let repo = describe(&ecr, &name).await?;
        let tags = live_tags(&ecr, repo.repository_arn.as_deref().unwrap_or_default()).await?;
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&repo)))
    }

    fn fixture(&self) -> Fixture {
        let policy = |count: u32| {
            json!({"rules": [{"rulePriority": 1, "description": "keep the newest images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
                "action": {"type": "expire"}}]})
            .to_string()
        };
        // Scanning goes from off to on: the SDK sends `ScanOnPush: false` as an empty
        // configuration, which moto 5.2.5 ignores in `PutImageScanningConfiguration`
        // (`_update_image_scanning_configuration` in moto/ecr/models.py); AWS turns it off.
        let create = json!({
            "ImageScanningConfiguration": {"ScanOnPush": false},
            "ImageTagMutability": "IMMUTABLE",
            "LifecyclePolicy": {"LifecyclePolicyText": policy(10)},
            "EncryptionConfiguration": {"EncryptionType": "AES256"},
            "EmptyOnDelete": true,
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let update = json!({
            "ImageScanningConfiguration": {"ScanOnPush": true},
            "ImageTagMutability": "MUTABLE",
            "LifecyclePolicy": {"LifecyclePolicyText": policy(20)},
            "EncryptionConfiguration": {"EncryptionType": "AES256"},
            "EmptyOnDelete": true,
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["RepositoryName"] = json!("cairn-conformance/{uid}");
        let mut nested_replace = update.clone();
        nested_replace["EncryptionConfiguration"] = json!({"EncryptionType": "KMS"});
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: Some(nested_replace),
            partial_after: Some("PutLifecyclePolicy"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Repository::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_a_repository() {
        let p = parse(json!({
            "ImageScanningConfiguration": {"ScanOnPush": "true"},
            "LifecyclePolicy": {"LifecyclePolicyText": "{\"rules\": []}"},
            "EmptyOnDelete": true
        }))
        .unwrap();
        assert!(p.scan_on_push() && p.empty_on_delete);
        assert_eq!(p.mutability(), "MUTABLE");
        let e = parse(json!({"LifecyclePolicy": {"LifecyclePolicyText": "not json"}})).unwrap_err();
        assert!(
            e.message.starts_with("LifecyclePolicy.LifecyclePolicyText: expected a lifecycle policy"),
            "{}",
            e.message
        );
        let e = parse(json!({"RepositoryPolicyText": {}})).unwrap_err();
        assert!(e.message.starts_with("RepositoryPolicyText: "), "{}", e.message);
    }

    #[test]
    fn policy_texts_compare_by_meaning() {
        let a = json!({"LifecyclePolicyText": "{\"rules\": [{\"rulePriority\": 1}]}"});
        let b = json!({"LifecyclePolicyText": "{\"rules\":[{\"rulePriority\":1}]}"});
        assert!(Repository.equivalent("LifecyclePolicy", &a, &b));
        let c = json!({"LifecyclePolicyText": "{\"rules\":[{\"rulePriority\":2}]}"});
        assert!(!Repository.equivalent("LifecyclePolicy", &a, &c));
    }

    #[test]
    fn generated_names_are_lower_case() {
        let ctx = crate::test_ctx(TYPE_NAME, "Images.Repo");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let name = repository_name(&cx, &parse(json!({})).unwrap());
        assert_eq!(name, name.to_lowercase());
        assert!(name.ends_with("abcdefghijkl"), "{name}");
    }
}
