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
//! means the same as the desired one.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use cairn_core::provider::{
    CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema,
};
use cairn_core::Value;
use serde_json::{Map, Value as Json};

use crate::util::{check_by_parsing, invalid, is_gone, refuse_unsupported, req_str, sdk_error};
use crate::{policy_doc, Aws};

pub const TYPE_NAME: &str = "AWS::S3::BucketPolicy";

/// `Bucket` is the name property: a bucket has one policy, so a replacement on the same
/// bucket (`--replace`) must delete before it creates (creating first would overwrite the
/// policy, and the delete of the old one would then remove it).
static SCHEMA: LazyLock<TypeSchema> =
    LazyLock::new(|| crate::schema::load(crate::schema::S3_BUCKET_POLICY, Some("Bucket"), &[]));

const GONE: [&str; 3] = ["NoSuchBucket", "NoSuchBucketPolicy", "NotFound"];

/// The `AWS::S3::BucketPolicy` resource type.
pub struct BucketPolicy {
    aws: Arc<Aws>,
}

impl BucketPolicy {
    pub fn new(aws: Arc<Aws>) -> Self {
        BucketPolicy { aws }
    }
}

#[async_trait]
impl ResourceType for BucketPolicy {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        check_by_parsing(self, properties, |p| parse(p).map(|_| ()))
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        if property == "PolicyDocument" {
            policy_doc::equivalent(old, new)
        } else {
            old == new
        }
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let (bucket, doc) = parse(properties)?;
        self.put(ctx, &bucket, doc).await?;
        Ok(data(&bucket))
    }

    async fn read(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let Some(live) = self.get(ctx, physical_id).await? else { return Ok(None) };
        let mut out = Map::new();
        out.insert("Bucket".into(), Json::String(physical_id.to_string()));
        out.insert(
            "PolicyDocument".into(),
            policy_doc::prefer_desired(&Json::String(live), properties.get("PolicyDocument")),
        );
        Ok(Some(ReadResult { data: data(physical_id), properties: Json::Object(out) }))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        _old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let (_, doc) = parse(new)?;
        self.put(ctx, physical_id, doc).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, ctx: &OpContext, physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        match self.aws.s3(&ctx.region).delete_bucket_policy().bucket(physical_id).send().await.map_err(sdk_error) {
            Ok(_) => Ok(()),
            Err(e) if is_gone(&e, &GONE) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let (bucket, doc) = parse(properties)?;
        let live = self.get(ctx, &bucket).await?;
        Ok(live
            .filter(|l| policy_doc::equivalent(&Json::String(l.clone()), &Json::String(doc.clone())))
            .map(|_| data(&bucket)))
    }
}

impl BucketPolicy {
    async fn put(&self, ctx: &OpContext, bucket: &str, doc: String) -> Result<(), ProviderError> {
        self.aws.s3(&ctx.region).put_bucket_policy().bucket(bucket).policy(doc).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn get(&self, ctx: &OpContext, bucket: &str) -> Result<Option<String>, ProviderError> {
        match self.aws.s3(&ctx.region).get_bucket_policy().bucket(bucket).send().await.map_err(sdk_error) {
            Ok(out) => Ok(out.policy),
            Err(e) if is_gone(&e, &GONE) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The bucket and the policy text to send.
fn parse(props: &Json) -> Result<(String, String), ProviderError> {
    refuse_unsupported(props, &["Bucket", "PolicyDocument"], TYPE_NAME)?;
    let bucket = req_str(props, "Bucket")?;
    let doc = props.get("PolicyDocument").ok_or_else(|| invalid("required property `PolicyDocument` is missing"))?;
    let text = policy_doc::to_text(doc)
        .ok_or_else(|| invalid("PolicyDocument: expected a policy document (a mapping, or JSON text)"))?;
    Ok((bucket, text))
}

fn data(bucket: &str) -> ResourceData {
    crate::util::data(bucket, BTreeMap::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_object_and_text_documents() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        let (b, text) = parse(&json!({"Bucket": "b", "PolicyDocument": doc})).unwrap();
        assert_eq!(b, "b");
        assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), doc);
        let (_, text2) = parse(&json!({"Bucket": "b", "PolicyDocument": text.clone()})).unwrap();
        assert_eq!(text2, text);
        assert!(parse(&json!({"Bucket": "b", "PolicyDocument": "nope"}))
            .unwrap_err()
            .message
            .starts_with("PolicyDocument:"));
        assert!(parse(&json!({"PolicyDocument": doc})).is_err());
    }
}
