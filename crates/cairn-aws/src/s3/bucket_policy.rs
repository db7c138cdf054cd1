//! `AWS::S3::BucketPolicy`: the policy of a bucket.
//!
//! | property | notes |
//! | --- | --- |
//! | `Bucket` | string, required, create-only: the bucket's name |
//! | `PolicyDocument` | mapping or JSON text, required |
//!
//! - `Ref`: the bucket name.
//! - `Fn::GetAtt`: none.
//!
//! `PolicyDocument` compares by meaning ([`crate::policy_doc`]). `delete` removes the
//! policy (a bucket already gone counts as done). `find` adopts the bucket's policy when it
//! means the same as the desired one. The type takes no tags (the schema says so).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::util::sdk_error;
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::S3::BucketPolicy";

/// `Bucket` is the name property: a bucket has one policy, so a replacement on the same
/// bucket (`--replace`) must delete before it creates (creating first would overwrite the
/// policy, and the delete of the old one would then remove it).
static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::S3_BUCKET_POLICY, Some("Bucket"), &[])),
    not_found: &["NoSuchBucket", "NoSuchBucketPolicy", "NotFound"],
    timeout: Duration::from_secs(60),
    reference: "the bucket name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    bucket: String,
    /// The policy as the text S3 takes.
    #[serde(deserialize_with = "policy_doc::text")]
    policy_document: String,
}

/// The `AWS::S3::BucketPolicy` resource type.
pub struct BucketPolicy;

impl BucketPolicy {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<BucketPolicy> {
        Typed::new(BucketPolicy, aws)
    }
}

fn data(bucket: &str) -> ResourceData {
    ResourceData { physical_id: bucket.to_string(), attributes: BTreeMap::new() }
}

async fn put(cx: &Cx<'_>, bucket: &str, doc: &str) -> Result<ResourceData, ProviderError> {
    let s3: aws_sdk_s3::Client = cx.client();
    s3.put_bucket_policy().bucket(bucket).policy(doc).send().await.map_err(sdk_error)?;
    Ok(data(bucket))
}

/// The bucket's policy text (a bucket without one, or no bucket: a not-found error).
async fn get(cx: &Cx<'_>, bucket: &str) -> Result<Option<String>, ProviderError> {
    let s3: aws_sdk_s3::Client = cx.client();
    Ok(s3.get_bucket_policy().bucket(bucket).send().await.map_err(sdk_error)?.policy)
}

#[async_trait]
impl AwsType for BucketPolicy {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        if property == "PolicyDocument" {
            policy_doc::equivalent(old, new)
        } else {
            old == new
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        put(cx, &p.bucket, &p.policy_document).await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let Some(live) = get(cx, physical_id).await? else { return Ok(None) };
        let properties = BTreeMap::from([
            ("Bucket".to_string(), Json::String(physical_id.to_string())),
            (
                "PolicyDocument".to_string(),
                policy_doc::prefer_desired(&Json::String(live), desired.get("PolicyDocument")),
            ),
        ]);
        Ok(Some(Live { data: data(physical_id), properties, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        put(cx, physical_id, &new.policy_document).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let s3: aws_sdk_s3::Client = cx.client();
        s3.delete_bucket_policy().bucket(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let live = get(cx, &p.bucket).await?;
        Ok(live
            .filter(|l| policy_doc::equivalent(&Json::String(l.clone()), &Json::String(p.policy_document.clone())))
            .map(|_| data(&p.bucket)))
    }

    fn fixture(&self) -> Fixture {
        let bucket = |name: &str| json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}});
        let policy = |on: &str, name: &str, actions: Json| {
            json!({"Bucket": {"Ref": on}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": actions,
                "Resource": format!("arn:aws:s3:::{name}/*")}]}})
        };
        let (first, second) = ("cairn-conf-policy-a-{uid}", "cairn-conf-policy-b-{uid}");
        Fixture {
            support: json!({"First": bucket(first), "Second": bucket(second)}),
            create: policy("First", first, json!(["s3:DeleteObject"])),
            update: Some(policy("First", first, json!(["s3:DeleteObject", "s3:PutObject"]))),
            replace: Some(policy("Second", second, json!(["s3:DeleteObject", "s3:PutObject"]))),
            nested_replace: None,
            // The create is one call (PutBucketPolicy).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        BucketPolicy::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_object_and_text_documents() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        let p = parse(json!({"Bucket": "b", "PolicyDocument": doc})).unwrap();
        assert_eq!(p.bucket, "b");
        assert_eq!(serde_json::from_str::<Json>(&p.policy_document).unwrap(), doc);
        let text = p.policy_document;
        assert_eq!(parse(json!({"Bucket": "b", "PolicyDocument": text.clone()})).unwrap().policy_document, text);
        let e = parse(json!({"Bucket": "b", "PolicyDocument": "nope"})).unwrap_err();
        assert_eq!(e.message, "PolicyDocument: expected a policy document (a mapping, or JSON text)");
        let e = parse(json!({"PolicyDocument": doc})).unwrap_err();
        assert_eq!(e.message, "Bucket: required property `Bucket` is missing");
        let e = parse(json!({"Bucket": "b", "PolicyDocument": doc, "Policy": doc})).unwrap_err();
        assert!(
            e.message.starts_with("Policy: `AWS::S3::BucketPolicy` has no property `Policy` here"),
            "{}",
            e.message
        );
        assert!(e.message.contains("it takes: Bucket, PolicyDocument"), "{}", e.message);
    }

    #[test]
    fn the_fixture_is_valid_and_moves_to_the_second_bucket() {
        let f = BucketPolicy.fixture();
        assert_eq!(f.create["Bucket"], json!({"Ref": "First"}));
        let replace = f.replace.as_ref().expect("Bucket is create-only");
        assert_eq!(replace["Bucket"], json!({"Ref": "Second"}));
        for p in [&f.create, f.update.as_ref().unwrap(), replace] {
            let mut p = p.clone();
            p["Bucket"] = json!("b");
            parse(p).unwrap();
        }
        assert_eq!(SPEC.schema.create_only, ["Bucket"]);
    }
}
