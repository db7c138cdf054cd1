//! `AWS::S3::Bucket` and `AWS::S3::BucketPolicy` against moto.

mod common;

use std::sync::Arc;

use cairn_aws::s3::{bucket::Bucket, bucket_policy::BucketPolicy};
use cairn_core::provider::ResourceType;
use cairn_core::Value;
use serde_json::json;

#[tokio::test]
async fn bucket_lifecycle() {
    let Some(aws) = common::aws().await else { return };
    let seed = common::suffix();
    let ctx = common::ctx("AWS::S3::Bucket", "Data.Bucket", &seed);
    let t = Bucket::new(aws.clone());
    let desired = json!({
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
        "LifecycleConfiguration": {"Rules": [{"Id": "archive", "Status": "Enabled", "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}]}]},
        "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAge": 300}]},
        "Tags": [{"Key": "Owner", "Value": "data"}]
    });
    assert!(t.check(&Value::from_json(&desired)).is_empty());

    let data = t.create(&ctx, &desired).await.unwrap();
    let name = data.physical_id.clone();
    assert_eq!(name, format!("dev-data-bucket-{seed}"));
    assert_eq!(data.attributes["Arn"], Value::from(format!("arn:aws:s3:::{name}")));

    // Read every setting back through the SDK directly.
    let s3 = aws.s3("us-east-1");
    let v = s3.get_bucket_versioning().bucket(&name).send().await.unwrap();
    assert_eq!(v.status.unwrap().as_str(), "Enabled");
    let e = s3.get_bucket_encryption().bucket(&name).send().await.unwrap();
    let rule = &e.server_side_encryption_configuration.unwrap().rules[0];
    assert_eq!(rule.apply_server_side_encryption_by_default.as_ref().unwrap().sse_algorithm.as_str(), "AES256");
    let p = s3.get_public_access_block().bucket(&name).send().await.unwrap().public_access_block_configuration.unwrap();
    assert_eq!(p.block_public_acls, Some(true));
    assert_eq!(p.restrict_public_buckets, Some(true));
    let l = s3.get_bucket_lifecycle_configuration().bucket(&name).send().await.unwrap().rules.unwrap();
    assert_eq!(l[0].id.as_deref(), Some("archive"));
    assert_eq!(l[0].transitions.as_ref().unwrap()[0].days, Some(90));
    let c = s3.get_bucket_cors().bucket(&name).send().await.unwrap().cors_rules.unwrap();
    assert_eq!(c[0].max_age_seconds, Some(300));
    let tags = s3.get_bucket_tagging().bucket(&name).send().await.unwrap().tag_set;
    let tag = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
    assert_eq!(tag("Owner").as_deref(), Some("data"));
    assert_eq!(tag("Environment").as_deref(), Some("test"));
    assert_eq!(tag("cairn:logical-id").as_deref(), Some("Data.Bucket"));

    // No perpetual diff: read gives back exactly what was asked for.
    let read = t.read(&ctx, &name, &desired).await.unwrap().unwrap();
    assert_eq!(read.properties, desired);
    assert_eq!(read.data, data);
    assert_eq!(t.find(&ctx, &desired).await.unwrap(), Some(data.clone()));

    // In-place update: suspend versioning, change the lifecycle, drop CORS, change a tag.
    let mut updated = desired.clone();
    updated["VersioningConfiguration"] = json!({"Status": "Suspended"});
    updated["LifecycleConfiguration"]["Rules"][0]["Transitions"][0]["TransitionInDays"] = json!(60);
    updated.as_object_mut().unwrap().remove("CorsConfiguration");
    updated["Tags"] = json!([{"Key": "Owner", "Value": "ml"}]);
    t.update(&ctx, &name, &desired, &updated).await.unwrap();
    assert_eq!(s3.get_bucket_versioning().bucket(&name).send().await.unwrap().status.unwrap().as_str(), "Suspended");
    assert!(s3.get_bucket_cors().bucket(&name).send().await.is_err());
    let read = t.read(&ctx, &name, &updated).await.unwrap().unwrap();
    assert_eq!(read.properties, updated);

    // A new name is a replacement, per the schema.
    assert!(t.schema().create_only.contains(&"BucketName".to_string()));

    // Not emptied on delete, as in CloudFormation.
    s3.put_object().bucket(&name).key("k").body(b"x".to_vec().into()).send().await.unwrap();
    let err = t.delete(&ctx, &name, &updated).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("BucketNotEmpty"));
    let versions = s3.list_object_versions().bucket(&name).send().await.unwrap();
    for v in versions.versions() {
        s3.delete_object()
            .bucket(&name)
            .key(v.key().unwrap())
            .set_version_id(v.version_id().map(str::to_string))
            .send()
            .await
            .unwrap();
    }
    t.delete(&ctx, &name, &updated).await.unwrap();
    assert_eq!(t.read(&ctx, &name, &updated).await.unwrap(), None);
    assert!(s3.head_bucket().bucket(&name).send().await.is_err());
    t.delete(&ctx, &name, &updated).await.unwrap();
    assert_eq!(t.find(&ctx, &desired).await.unwrap(), None);
}

#[tokio::test]
async fn bucket_policy_lifecycle() {
    let Some(aws) = common::aws().await else { return };
    let seed = common::suffix();
    let bucket_ctx = common::ctx("AWS::S3::Bucket", "B", &seed);
    let bucket = Bucket::new(aws.clone());
    let name = bucket.create(&bucket_ctx, &json!({})).await.unwrap().physical_id;
    let ctx = common::ctx("AWS::S3::BucketPolicy", "P", &seed);
    let t = BucketPolicy::new(aws.clone());
    let doc = |effect: &str| json!({"Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": effect, "Principal": "*", "Action": ["s3:GetObject"], "Resource": [format!("arn:aws:s3:::{name}/*")]}]});
    let desired = json!({"Bucket": name, "PolicyDocument": doc("Deny")});
    let data = t.create(&ctx, &desired).await.unwrap();
    assert_eq!(data.physical_id, name);
    let live = aws.s3("us-east-1").get_bucket_policy().bucket(&name).send().await.unwrap().policy.unwrap();
    assert!(cairn_aws::policy_doc::equivalent(&json!(live), &doc("Deny")));
    assert_eq!(t.read(&ctx, &name, &desired).await.unwrap().unwrap().properties, desired);
    assert!(t.find(&ctx, &desired).await.unwrap().is_some());
    let updated = json!({"Bucket": name, "PolicyDocument": doc("Allow")});
    t.update(&ctx, &name, &desired, &updated).await.unwrap();
    assert_eq!(t.read(&ctx, &name, &updated).await.unwrap().unwrap().properties, updated);
    assert_eq!(t.schema().create_only, ["Bucket"]);
    t.delete(&ctx, &name, &updated).await.unwrap();
    assert_eq!(t.read(&ctx, &name, &updated).await.unwrap(), None);
    t.delete(&ctx, &name, &updated).await.unwrap();
    bucket.delete(&bucket_ctx, &name, &json!({})).await.unwrap();
    let _ = Arc::strong_count(&aws);
}
