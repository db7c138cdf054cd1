//! A create that made the resource and then failed a later call says so: the error names
//! the refused operation and carries the resource's physical id (`ProviderError::created`),
//! so that the engine tracks what exists. Calls are refused by `cairn-faultproxy` in front
//! of moto; what exists is read back directly.

mod common;

use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use cairn_aws::iam::{instance_profile::InstanceProfile, managed_policy::ManagedPolicy, policy::Policy, role::Role};
use cairn_aws::s3::bucket::Bucket;
use cairn_aws::Aws;
use cairn_core::provider::{ProviderError, ResourceType};
use cairn_faultproxy::{Config, Fault, Proxy, Rule};
use serde_json::json;

fn access_denied() -> Fault {
    Fault::Refuse { status: 403, code: "AccessDenied".into(), message: "Access Denied".into() }
}

/// The types' clients, pointed at a proxy in front of the emulator that refuses `rules`.
async fn through(rules: Vec<Rule>) -> Option<(Proxy, Arc<Aws>)> {
    common::aws().await?;
    let mut config = Config::new(&std::env::var("AWS_ENDPOINT_URL").unwrap());
    config.rules = rules;
    let proxy = Proxy::start(config).expect("fault proxy");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(proxy.url())
        .load()
        .await;
    Some((proxy, Aws::from_config(sdk)))
}

#[track_caller]
fn refused(e: &ProviderError, operation: &str, created: Option<&str>) {
    assert_eq!(e.operation.as_deref(), Some(operation), "{e:?}");
    assert_eq!(e.code.as_deref(), Some("AccessDenied"), "{e:?}");
    assert_eq!(e.status, Some(403));
    assert_eq!(e.created.as_deref(), created, "{e:?}");
}

fn trust() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
}

#[tokio::test]
async fn a_bucket_whose_encryption_is_refused_is_reported_created() {
    let Some((proxy, aws)) = through(vec![Rule::new("PutBucketEncryption", 1, access_denied())]).await else { return };
    let direct = common::aws().await.unwrap();
    let seed = common::suffix();
    let ctx = common::ctx("AWS::S3::Bucket", "Data", &seed);
    let props = json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}});
    let t = Bucket::new(aws.clone());
    let e = t.create(&ctx, &props).await.unwrap_err();
    let name = format!("dev-data-{seed}");
    refused(&e, "PutBucketEncryption", Some(&name));
    assert_eq!(proxy.counts().refused, 1);
    let s3 = direct.s3("us-east-1");
    s3.head_bucket().bucket(&name).send().await.expect("the bucket exists");
    let enc = s3.get_bucket_encryption().bucket(&name).send().await.unwrap_err();
    assert_eq!(enc.code(), Some("ServerSideEncryptionConfigurationNotFoundError"));
    // What read finds is what the engine records: no encryption.
    let live = t.read(&ctx, &name, &props).await.unwrap().expect("the bucket reads");
    assert_eq!(live.properties.get("BucketEncryption"), None, "{}", live.properties);
    t.delete(&ctx, &name, &props).await.unwrap();

    // A refused CreateBucket made nothing: no physical id.
    let (_proxy, aws) = through(vec![Rule::new("CreateBucket", 1, access_denied())]).await.unwrap();
    let e = Bucket::new(aws).create(&ctx, &props).await.unwrap_err();
    refused(&e, "CreateBucket", None);
}

#[tokio::test]
async fn a_bucket_whose_tagging_is_refused_gets_its_ownership_tags_from_the_next_update() {
    let Some((proxy, aws)) = through(vec![Rule::new("PutBucketTagging", 1, access_denied())]).await else { return };
    let direct = common::aws().await.unwrap();
    let seed = common::suffix();
    let ctx = common::ctx("AWS::S3::Bucket", "Logs", &seed);
    // No `Tags` of its own: the recorded properties cannot show that the tags are missing.
    let props = json!({"VersioningConfiguration": {"Status": "Enabled"}});
    let t = Bucket::new(aws.clone());
    let e = t.create(&ctx, &props).await.unwrap_err();
    let name = format!("dev-logs-{seed}");
    refused(&e, "PutBucketTagging", Some(&name));
    assert_eq!(proxy.counts().refused, 1);
    let s3 = direct.s3("us-east-1");
    let tags = s3.get_bucket_tagging().bucket(&name).send().await;
    assert_eq!(tags.unwrap_err().code(), Some("NoSuchTagSet"));

    // The engine records what read finds, then updates from it.
    let recorded = t.read(&ctx, &name, &props).await.unwrap().expect("the bucket reads").properties;
    assert_eq!(recorded, json!({}));
    t.update(&ctx, &name, &recorded, &props).await.unwrap();
    let tags: Vec<(String, String)> = s3
        .get_bucket_tagging()
        .bucket(&name)
        .send()
        .await
        .expect("tagged")
        .tag_set
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    for (k, v) in
        [("cairn:logical-id", "Logs"), ("cairn:stack", "dev"), ("cairn:project", "itest"), ("Environment", "test")]
    {
        assert!(tags.contains(&(k.to_string(), v.to_string())), "{k}={v} missing from {tags:?}");
    }
    let v = s3.get_bucket_versioning().bucket(&name).send().await.unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));

    // S3 replaces the whole tag set: an update sends it only when the tags changed.
    let (refusing, aws) = through(vec![Rule::new("PutBucketTagging", 100, access_denied())]).await.unwrap();
    let t = Bucket::new(aws);
    let suspended = json!({"VersioningConfiguration": {"Status": "Suspended"}});
    t.update(&ctx, &name, &props, &suspended).await.unwrap();
    assert_eq!(refusing.counts().refused, 0, "no PutBucketTagging when the tags did not change");
    let tagged = json!({"VersioningConfiguration": {"Status": "Suspended"}, "Tags": [{"Key": "Team", "Value": "ml"}]});
    let e = t.update(&ctx, &name, &suspended, &tagged).await.unwrap_err();
    assert_eq!(e.operation.as_deref(), Some("PutBucketTagging"));
    Bucket::new(direct.clone()).delete(&ctx, &name, &suspended).await.unwrap();
}

#[tokio::test]
async fn iam_creates_refused_after_their_first_call_are_reported_created() {
    let rules = vec![
        Rule::new("AttachRolePolicy", 1, access_denied()),
        Rule::new("AddRoleToInstanceProfile", 1, access_denied()),
        Rule { skip: 1, ..Rule::new("PutRolePolicy", 1, access_denied()) },
    ];
    let Some((_proxy, aws)) = through(rules).await else { return };
    let direct = common::aws().await.unwrap();
    let seed = common::suffix();

    // A role whose managed policy attachment is refused.
    let role_ctx = common::ctx("AWS::IAM::Role", "Role", &seed);
    let role_props =
        json!({"AssumeRolePolicyDocument": trust(), "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]});
    let roles = Role::new(aws.clone());
    let e = roles.create(&role_ctx, &role_props).await.unwrap_err();
    let role = format!("dev-Role-{seed}");
    refused(&e, "AttachRolePolicy", Some(&role));
    let attached = direct.iam().list_attached_role_policies().role_name(&role).send().await.expect("the role exists");
    assert!(attached.attached_policies().is_empty());
    // A second role, for the inline policy on two roles.
    let other_ctx = common::ctx("AWS::IAM::Role", "Other", &seed);
    let other_props = json!({"AssumeRolePolicyDocument": trust()});
    let other = roles.create(&other_ctx, &other_props).await.unwrap().physical_id;

    // A managed policy whose attachment to the role is refused (the rule is spent: use a
    // fresh one).
    let (_p2, aws2) = through(vec![Rule::new("AttachRolePolicy", 1, access_denied())]).await.unwrap();
    let policy_ctx = common::ctx("AWS::IAM::ManagedPolicy", "Access", &seed);
    let doc =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let policy_props = json!({"PolicyDocument": doc, "Roles": [role]});
    let e = ManagedPolicy::new(aws2).create(&policy_ctx, &policy_props).await.unwrap_err();
    let arn = format!("arn:aws:iam::123456789012:policy/dev-Access-{seed}");
    refused(&e, "AttachRolePolicy", Some(&arn));
    direct.iam().get_policy().policy_arn(&arn).send().await.expect("the policy exists");
    ManagedPolicy::new(direct.clone()).delete(&policy_ctx, &arn, &policy_props).await.unwrap();

    // An inline policy on two roles: the second put is refused.
    let inline_ctx = common::ctx("AWS::IAM::Policy", "Inline", &seed);
    let inline_props = json!({"PolicyName": "inline", "PolicyDocument": doc, "Roles": [role, other]});
    let e = Policy::new(aws.clone()).create(&inline_ctx, &inline_props).await.unwrap_err();
    refused(&e, "PutRolePolicy", Some(&format!("dev-Inline-{seed}")));
    Policy::new(direct.clone()).delete(&inline_ctx, "", &inline_props).await.unwrap();

    // An instance profile whose role is refused.
    let profile_ctx = common::ctx("AWS::IAM::InstanceProfile", "Profile", &seed);
    let profile_props = json!({"Roles": [role]});
    let e = InstanceProfile::new(aws.clone()).create(&profile_ctx, &profile_props).await.unwrap_err();
    let profile = format!("dev-Profile-{seed}");
    refused(&e, "AddRoleToInstanceProfile", Some(&profile));
    let p = direct.iam().get_instance_profile().instance_profile_name(&profile).send().await.expect("it exists");
    assert!(p.instance_profile().unwrap().roles().is_empty());

    InstanceProfile::new(direct.clone()).delete(&profile_ctx, &profile, &profile_props).await.unwrap();
    Role::new(direct.clone()).delete(&role_ctx, &role, &role_props).await.unwrap();
    Role::new(direct.clone()).delete(&other_ctx, &other, &other_props).await.unwrap();
}
