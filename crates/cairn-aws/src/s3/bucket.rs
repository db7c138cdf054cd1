//! `AWS::S3::Bucket`: an S3 bucket and its settings.
//!
//! | property | notes |
//! | --- | --- |
//! | `BucketName` | string, create-only; generated when absent (`{stack}-{logical id}-{seed}`, 63 characters, lower case) |
//! | `VersioningConfiguration` | `{Status: Enabled \| Suspended}` |
//! | `BucketEncryption` | `{ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256 \| aws:kms \| aws:kms:dsse, KMSMasterKeyID}, BucketKeyEnabled}]}` |
//! | `PublicAccessBlockConfiguration` | `{BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets}` (absent: false) |
//! | `LifecycleConfiguration` | `{Rules: [{Id, Status, Prefix, TagFilters, ObjectSizeGreaterThan, ObjectSizeLessThan, Transitions: [{StorageClass, TransitionInDays}], ExpirationInDays, ExpiredObjectDeleteMarker, NoncurrentVersionTransitions: [{StorageClass, TransitionInDays, NewerNoncurrentVersions}], NoncurrentVersionExpiration: {NoncurrentDays, NewerNoncurrentVersions}, NoncurrentVersionExpirationInDays, AbortIncompleteMultipartUpload: {DaysAfterInitiation}}]}` |
//! | `CorsConfiguration` | `{CorsRules: [{Id, AllowedHeaders, AllowedMethods, AllowedOrigins, ExposedHeaders, MaxAge}]}` |
//! | `OwnershipControls` | `{Rules: [{ObjectOwnership: BucketOwnerEnforced \| BucketOwnerPreferred \| ObjectWriter}]}` |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Other properties of the CloudFormation schema are refused by `check` ("not supported
//! yet"), never silently ignored.
//!
//! - `Ref`: the bucket name.
//! - `Fn::GetAtt`: `Arn`, `DomainName`, `RegionalDomainName`, `DualStackDomainName`,
//!   `WebsiteURL`.
//!
//! An update applies each changed setting (a put, or a delete when the setting was
//! removed). Like CloudFormation, `delete` does not empty the bucket: deleting a bucket that
//! still holds objects fails with AWS's `BucketNotEmpty`. `find` (after a crash mid-create)
//! looks up the deterministic name and adopts the bucket when its `cairn:logical-id` tag
//! matches, or, for a generated name, when it has no tags yet (the crash came before
//! tagging); a bucket with an explicit name and no matching tag is never adopted.
//!
//! `read` reports a setting when the user set it or when it differs from a new bucket's
//! default, in the user's spelling when the two mean the same.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use aws_sdk_s3::types as s3t;
use cairn_core::provider::{
    CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema,
};
use cairn_core::Value;
use serde_json::{json, Map, Value as Json};

use crate::util::{
    build_err, check_by_parsing, in_user_spelling, invalid, is_gone, loose_eq, only_keys, opt_bool, opt_i32, opt_str,
    refuse_unsupported, sdk_error, str_list, tag_list, visible_tags,
};
use crate::{merged_tags, wait_until, Aws, CONSISTENCY_WAIT};

pub const TYPE_NAME: &str = "AWS::S3::Bucket";

static SCHEMA: LazyLock<TypeSchema> =
    LazyLock::new(|| crate::schema::load(crate::schema::S3_BUCKET, Some("BucketName"), &[]));

/// The properties cairn implements.
pub const SUPPORTED: [&str; 8] = [
    "BucketName",
    "VersioningConfiguration",
    "BucketEncryption",
    "PublicAccessBlockConfiguration",
    "LifecycleConfiguration",
    "CorsConfiguration",
    "OwnershipControls",
    "Tags",
];

/// Error codes meaning the bucket (or the setting asked for) does not exist.
const NO_BUCKET: [&str; 2] = ["NoSuchBucket", "NotFound"];

/// The `AWS::S3::Bucket` resource type.
pub struct Bucket {
    aws: Arc<Aws>,
}

impl Bucket {
    pub fn new(aws: Arc<Aws>) -> Self {
        Bucket { aws }
    }
}

#[async_trait]
impl ResourceType for Bucket {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        check_by_parsing(self, properties, |p| Settings::parse(p).map(|_| ()))
    }

    fn equivalent(&self, _property: &str, old: &Json, new: &Json) -> bool {
        loose_eq(old, new)
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let settings = Settings::parse(properties)?;
        let name = bucket_name(ctx, properties)?;
        let s3 = self.aws.s3(&ctx.region);
        let mut req = s3.create_bucket().bucket(&name);
        if !ctx.region.is_empty() && ctx.region != "us-east-1" {
            req = req.create_bucket_configuration(
                s3t::CreateBucketConfiguration::builder()
                    .location_constraint(s3t::BucketLocationConstraint::from(ctx.region.as_str()))
                    .build(),
            );
        }
        req.send().await.map_err(sdk_error)?;
        // From here on the bucket exists: a failure says so, and the engine tracks the
        // bucket with what `read` finds.
        let settle = async {
            wait_until(CONSISTENCY_WAIT, &format!("bucket {name} to exist"), || async {
                match s3.head_bucket().bucket(&name).send().await.map_err(sdk_error) {
                    Ok(_) => Ok(Some(())),
                    Err(e) if is_gone(&e, &NO_BUCKET) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
            // Tags first: a crash after this point leaves a bucket `find` can confirm as ours.
            self.put_tags(&s3, &name, ctx, properties).await?;
            apply(&s3, &name, &Settings::default(), &settings).await
        };
        settle.await.map_err(|e| e.after_creating(&name))?;
        Ok(resource_data(ctx, &name))
    }

    async fn read(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let s3 = self.aws.s3(&ctx.region);
        match s3.head_bucket().bucket(physical_id).send().await.map_err(sdk_error) {
            Ok(_) => {}
            Err(e) if is_gone(&e, &NO_BUCKET) => return Ok(None),
            Err(e) => return Err(e),
        }
        let live = match read_settings(&s3, physical_id).await {
            Ok(live) => live,
            Err(e) if is_gone(&e, &NO_BUCKET) => return Ok(None),
            Err(e) => return Err(e),
        };
        let tags = get_tags(&s3, physical_id).await?;
        let mut out = live.to_user_shape(properties);
        if properties.get("BucketName").is_some() {
            out.insert("BucketName".into(), Json::String(physical_id.to_string()));
        }
        if let Some(t) = visible_tags(&tags, ctx, properties) {
            out.insert("Tags".into(), t);
        }
        Ok(Some(ReadResult {
            data: resource_data(ctx, physical_id),
            properties: in_user_spelling(self, out, properties),
        }))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let before = Settings::parse(old)?;
        let after = Settings::parse(new)?;
        let s3 = self.aws.s3(&ctx.region);
        self.put_tags(&s3, physical_id, ctx, new).await?;
        apply(&s3, physical_id, &before, &after).await?;
        Ok(resource_data(ctx, physical_id))
    }

    async fn delete(&self, ctx: &OpContext, physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        let s3 = self.aws.s3(&ctx.region);
        match s3.delete_bucket().bucket(physical_id).send().await.map_err(sdk_error) {
            Ok(_) => Ok(()),
            Err(e) if is_gone(&e, &NO_BUCKET) => Ok(()),
            Err(mut e) => {
                if e.code.as_deref() == Some("BucketNotEmpty") {
                    e.message = format!(
                        "{}; like CloudFormation, cairn does not delete the objects in a bucket: empty it first, or set `DeletionPolicy: Retain`",
                        e.message
                    );
                }
                Err(e)
            }
        }
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let explicit = opt_str(properties, "BucketName")?.is_some();
        let name = bucket_name(ctx, properties)?;
        let s3 = self.aws.s3(&ctx.region);
        match s3.head_bucket().bucket(&name).send().await.map_err(sdk_error) {
            Ok(_) => {}
            Err(e) if is_gone(&e, &NO_BUCKET) || e.code.as_deref() == Some("Forbidden") => return Ok(None),
            Err(e) => return Err(e),
        }
        let tags = get_tags(&s3, &name).await?;
        let ours = match tags.get("cairn:logical-id") {
            Some(id) => id == &ctx.logical_id && tags.get("cairn:stack") == Some(&ctx.stack),
            None => !explicit,
        };
        Ok(ours.then(|| resource_data(ctx, &name)))
    }
}

impl Bucket {
    async fn put_tags(
        &self,
        s3: &aws_sdk_s3::Client,
        name: &str,
        ctx: &OpContext,
        props: &Json,
    ) -> Result<(), ProviderError> {
        let tags = merged_tags(ctx, &tag_list(props)?);
        let mut tagging = s3t::Tagging::builder();
        for (k, v) in tags {
            tagging = tagging.tag_set(s3t::Tag::builder().key(k).value(v).build().map_err(build_err)?);
        }
        s3.put_bucket_tagging()
            .bucket(name)
            .tagging(tagging.build().map_err(build_err)?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

/// The bucket's name: `BucketName`, or the deterministic generated one.
fn bucket_name(ctx: &OpContext, props: &Json) -> Result<String, ProviderError> {
    Ok(match opt_str(props, "BucketName")? {
        Some(n) => n,
        None => ctx.generated_name(63, true, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
    })
}

fn resource_data(ctx: &OpContext, name: &str) -> ResourceData {
    let region = if ctx.region.is_empty() { "us-east-1" } else { ctx.region.as_str() };
    let suffix = if ctx.partition == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" };
    // Regions launched before 2014 name website endpoints with a dash.
    let dash_website = [
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "sa-east-1",
        "us-gov-west-1",
    ]
    .contains(&region);
    let website = if dash_website {
        format!("http://{name}.s3-website-{region}.{suffix}")
    } else {
        format!("http://{name}.s3-website.{region}.{suffix}")
    };
    let partition = if ctx.partition.is_empty() { "aws" } else { ctx.partition.as_str() };
    let attrs = BTreeMap::from([
        ("Arn".to_string(), Value::from(format!("arn:{partition}:s3:::{name}"))),
        ("DomainName".to_string(), Value::from(format!("{name}.s3.{suffix}"))),
        ("RegionalDomainName".to_string(), Value::from(format!("{name}.s3.{region}.{suffix}"))),
        ("DualStackDomainName".to_string(), Value::from(format!("{name}.s3.dualstack.{region}.{suffix}"))),
        ("WebsiteURL".to_string(), Value::from(website)),
    ]);
    crate::util::data(name, attrs)
}

/// The bucket's settings in SDK form; `None` is "not configured".
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Settings {
    versioning: Option<s3t::BucketVersioningStatus>,
    encryption: Option<s3t::ServerSideEncryptionConfiguration>,
    public_access: Option<s3t::PublicAccessBlockConfiguration>,
    lifecycle: Option<Vec<s3t::LifecycleRule>>,
    cors: Option<Vec<s3t::CorsRule>>,
    ownership: Option<s3t::ObjectOwnership>,
}

impl Settings {
    /// The settings the properties ask for (the request building, without a call).
    pub(crate) fn parse(props: &Json) -> Result<Settings, ProviderError> {
        refuse_unsupported(props, &SUPPORTED, TYPE_NAME)?;
        tag_list(props)?;
        let get = |k: &str| props.get(k).filter(|v| !v.is_null());
        let mut s = Settings::default();
        if let Some(v) = get("VersioningConfiguration") {
            only_keys(v, "VersioningConfiguration", &["Status"])?;
            let status =
                opt_str(v, "Status")?.ok_or_else(|| invalid("VersioningConfiguration: `Status` is required"))?;
            s.versioning = Some(match status.as_str() {
                "Enabled" | "Suspended" => s3t::BucketVersioningStatus::from(status.as_str()),
                other => {
                    return Err(invalid(format!(
                        "VersioningConfiguration: Status must be Enabled or Suspended, found {other}"
                    )))
                }
            });
        }
        if let Some(v) = get("BucketEncryption") {
            s.encryption = Some(encryption_to_sdk(v)?);
        }
        if let Some(v) = get("PublicAccessBlockConfiguration") {
            const KEYS: [&str; 4] =
                ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"];
            only_keys(v, "PublicAccessBlockConfiguration", &KEYS)?;
            s.public_access = Some(
                s3t::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(opt_bool(v, "BlockPublicAcls")?.unwrap_or(false))
                    .block_public_policy(opt_bool(v, "BlockPublicPolicy")?.unwrap_or(false))
                    .ignore_public_acls(opt_bool(v, "IgnorePublicAcls")?.unwrap_or(false))
                    .restrict_public_buckets(opt_bool(v, "RestrictPublicBuckets")?.unwrap_or(false))
                    .build(),
            );
        }
        if let Some(v) = get("LifecycleConfiguration") {
            only_keys(v, "LifecycleConfiguration", &["Rules"])?;
            let rules = v
                .get("Rules")
                .and_then(Json::as_array)
                .ok_or_else(|| invalid("LifecycleConfiguration: `Rules` must be a list"))?;
            s.lifecycle =
                Some(rules.iter().enumerate().map(|(i, r)| lifecycle_rule_to_sdk(r, i)).collect::<Result<_, _>>()?);
        }
        if let Some(v) = get("CorsConfiguration") {
            only_keys(v, "CorsConfiguration", &["CorsRules"])?;
            let rules = v
                .get("CorsRules")
                .and_then(Json::as_array)
                .ok_or_else(|| invalid("CorsConfiguration: `CorsRules` must be a list"))?;
            s.cors = Some(rules.iter().map(cors_rule_to_sdk).collect::<Result<_, _>>()?);
        }
        if let Some(v) = get("OwnershipControls") {
            only_keys(v, "OwnershipControls", &["Rules"])?;
            let rules = v
                .get("Rules")
                .and_then(Json::as_array)
                .ok_or_else(|| invalid("OwnershipControls: `Rules` must be a list"))?;
            let [rule] = rules.as_slice() else {
                return Err(invalid("OwnershipControls: `Rules` must hold exactly one rule"));
            };
            only_keys(rule, "OwnershipControls", &["ObjectOwnership"])?;
            let o = opt_str(rule, "ObjectOwnership")?
                .ok_or_else(|| invalid("OwnershipControls: `ObjectOwnership` is required"))?;
            s.ownership = Some(s3t::ObjectOwnership::from(o.as_str()));
        }
        Ok(s)
    }

    /// The settings in the user's shape: each one the user set, or that differs from a new
    /// bucket's default.
    fn to_user_shape(&self, desired: &Json) -> BTreeMap<String, Json> {
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut out = BTreeMap::new();
        if let Some(status) = &self.versioning {
            out.insert("VersioningConfiguration".into(), json!({"Status": status.as_str()}));
        }
        if let Some(enc) = &self.encryption {
            let v = encryption_to_json(enc);
            let default = json!({"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]});
            if wants("BucketEncryption") || !loose_eq(&v, &default) {
                out.insert("BucketEncryption".into(), v);
            }
        }
        if let Some(pab) = &self.public_access {
            let mut m = Map::new();
            let want = desired.get("PublicAccessBlockConfiguration");
            for (k, b) in [
                ("BlockPublicAcls", pab.block_public_acls),
                ("BlockPublicPolicy", pab.block_public_policy),
                ("IgnorePublicAcls", pab.ignore_public_acls),
                ("RestrictPublicBuckets", pab.restrict_public_buckets),
            ] {
                let b = b.unwrap_or(false);
                if b || want.and_then(|w| w.get(k)).is_some() {
                    m.insert(k.into(), Json::Bool(b));
                }
            }
            let all_on = m.len() == 4 && m.values().all(|v| v == &Json::Bool(true));
            if wants("PublicAccessBlockConfiguration") || !all_on {
                out.insert("PublicAccessBlockConfiguration".into(), Json::Object(m));
            }
        }
        if let Some(rules) = &self.lifecycle {
            let desired_rules = desired.pointer("/LifecycleConfiguration/Rules").and_then(Json::as_array);
            let rules: Vec<Json> = rules
                .iter()
                .enumerate()
                .map(|(i, r)| lifecycle_rule_to_json(r, desired_rules.and_then(|d| d.get(i))))
                .collect();
            out.insert("LifecycleConfiguration".into(), json!({"Rules": rules}));
        }
        if let Some(rules) = &self.cors {
            out.insert(
                "CorsConfiguration".into(),
                json!({"CorsRules": rules.iter().map(cors_rule_to_json).collect::<Vec<_>>()}),
            );
        }
        if let Some(o) = &self.ownership {
            if wants("OwnershipControls") || o != &s3t::ObjectOwnership::BucketOwnerEnforced {
                out.insert("OwnershipControls".into(), json!({"Rules": [{"ObjectOwnership": o.as_str()}]}));
            }
        }
        out
    }
}

/// Put each setting that changed from `before` to `after`; delete the ones removed.
async fn apply(s3: &aws_sdk_s3::Client, name: &str, before: &Settings, after: &Settings) -> Result<(), ProviderError> {
    if before.ownership != after.ownership {
        match &after.ownership {
            Some(o) => {
                let rule =
                    s3t::OwnershipControlsRule::builder().object_ownership(o.clone()).build().map_err(build_err)?;
                let controls = s3t::OwnershipControls::builder().rules(rule).build().map_err(build_err)?;
                s3.put_bucket_ownership_controls()
                    .bucket(name)
                    .ownership_controls(controls)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            None => ignore_missing(s3.delete_bucket_ownership_controls().bucket(name).send().await.map_err(sdk_error))?,
        }
    }
    if before.public_access != after.public_access {
        match &after.public_access {
            Some(p) => {
                s3.put_public_access_block()
                    .bucket(name)
                    .public_access_block_configuration(p.clone())
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            None => ignore_missing(s3.delete_public_access_block().bucket(name).send().await.map_err(sdk_error))?,
        }
    }
    if before.encryption != after.encryption {
        match &after.encryption {
            Some(e) => {
                s3.put_bucket_encryption()
                    .bucket(name)
                    .server_side_encryption_configuration(e.clone())
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            None => ignore_missing(s3.delete_bucket_encryption().bucket(name).send().await.map_err(sdk_error))?,
        }
    }
    if before.versioning != after.versioning {
        // A bucket's versioning cannot be switched off, only suspended.
        let status = after.versioning.clone().unwrap_or(s3t::BucketVersioningStatus::Suspended);
        if after.versioning.is_some() || before.versioning == Some(s3t::BucketVersioningStatus::Enabled) {
            s3.put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(s3t::VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(sdk_error)?;
        }
    }
    if before.lifecycle != after.lifecycle {
        match &after.lifecycle {
            Some(rules) => {
                let conf = s3t::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules.clone()))
                    .build()
                    .map_err(build_err)?;
                s3.put_bucket_lifecycle_configuration()
                    .bucket(name)
                    .lifecycle_configuration(conf)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            None => ignore_missing(s3.delete_bucket_lifecycle().bucket(name).send().await.map_err(sdk_error))?,
        }
    }
    if before.cors != after.cors {
        match &after.cors {
            Some(rules) => {
                let conf =
                    s3t::CorsConfiguration::builder().set_cors_rules(Some(rules.clone())).build().map_err(build_err)?;
                s3.put_bucket_cors().bucket(name).cors_configuration(conf).send().await.map_err(sdk_error)?;
            }
            None => ignore_missing(s3.delete_bucket_cors().bucket(name).send().await.map_err(sdk_error))?,
        }
    }
    Ok(())
}

fn ignore_missing<T>(r: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code.as_deref().is_some_and(|c| c.starts_with("NoSuch")) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Each setting of a live bucket; a "not configured" error is `None`.
async fn read_settings(s3: &aws_sdk_s3::Client, name: &str) -> Result<Settings, ProviderError> {
    fn absent<T>(r: Result<T, ProviderError>, codes: &[&str]) -> Result<Option<T>, ProviderError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code.as_deref().is_some_and(|c| codes.contains(&c)) => Ok(None),
            Err(e) => Err(e),
        }
    }
    let versioning = s3.get_bucket_versioning().bucket(name).send().await.map_err(sdk_error)?.status;
    let encryption = absent(
        s3.get_bucket_encryption().bucket(name).send().await.map_err(sdk_error),
        &["ServerSideEncryptionConfigurationNotFoundError"],
    )?
    .and_then(|o| o.server_side_encryption_configuration);
    let public_access = absent(
        s3.get_public_access_block().bucket(name).send().await.map_err(sdk_error),
        &["NoSuchPublicAccessBlockConfiguration"],
    )?
    .and_then(|o| o.public_access_block_configuration);
    let lifecycle = absent(
        s3.get_bucket_lifecycle_configuration().bucket(name).send().await.map_err(sdk_error),
        &["NoSuchLifecycleConfiguration"],
    )?
    .map(|o| o.rules.unwrap_or_default());
    let cors = absent(s3.get_bucket_cors().bucket(name).send().await.map_err(sdk_error), &["NoSuchCORSConfiguration"])?
        .map(|o| o.cors_rules.unwrap_or_default());
    let ownership = absent(
        s3.get_bucket_ownership_controls().bucket(name).send().await.map_err(sdk_error),
        &["OwnershipControlsNotFoundError"],
    )?
    .and_then(|o| o.ownership_controls)
    .and_then(|c| c.rules.into_iter().next())
    .map(|r| r.object_ownership);
    Ok(Settings { versioning, encryption, public_access, lifecycle, cors, ownership })
}

async fn get_tags(s3: &aws_sdk_s3::Client, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    match s3.get_bucket_tagging().bucket(name).send().await.map_err(sdk_error) {
        Ok(out) => Ok(out.tag_set.into_iter().map(|t| (t.key, t.value)).collect()),
        Err(e) if e.code.as_deref() == Some("NoSuchTagSet") => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

fn encryption_to_sdk(v: &Json) -> Result<s3t::ServerSideEncryptionConfiguration, ProviderError> {
    only_keys(v, "BucketEncryption", &["ServerSideEncryptionConfiguration"])?;
    let rules = v
        .get("ServerSideEncryptionConfiguration")
        .and_then(Json::as_array)
        .ok_or_else(|| invalid("BucketEncryption: `ServerSideEncryptionConfiguration` must be a list"))?;
    let mut conf = s3t::ServerSideEncryptionConfiguration::builder();
    for r in rules {
        only_keys(r, "BucketEncryption", &["ServerSideEncryptionByDefault", "BucketKeyEnabled"])?;
        let mut rule =
            s3t::ServerSideEncryptionRule::builder().set_bucket_key_enabled(opt_bool(r, "BucketKeyEnabled")?);
        if let Some(d) = r.get("ServerSideEncryptionByDefault") {
            only_keys(d, "BucketEncryption", &["SSEAlgorithm", "KMSMasterKeyID"])?;
            let alg =
                opt_str(d, "SSEAlgorithm")?.ok_or_else(|| invalid("BucketEncryption: `SSEAlgorithm` is required"))?;
            if !["AES256", "aws:kms", "aws:kms:dsse"].contains(&alg.as_str()) {
                return Err(invalid(format!(
                    "BucketEncryption: SSEAlgorithm must be AES256, aws:kms or aws:kms:dsse, found {alg}"
                )));
            }
            let by_default = s3t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3t::ServerSideEncryption::from(alg.as_str()))
                .set_kms_master_key_id(opt_str(d, "KMSMasterKeyID")?)
                .build()
                .map_err(build_err)?;
            rule = rule.apply_server_side_encryption_by_default(by_default);
        }
        conf = conf.rules(rule.build());
    }
    conf.build().map_err(build_err)
}

fn encryption_to_json(c: &s3t::ServerSideEncryptionConfiguration) -> Json {
    let rules: Vec<Json> = c
        .rules
        .iter()
        .map(|r| {
            let mut m = Map::new();
            if let Some(d) = &r.apply_server_side_encryption_by_default {
                let mut dm = Map::new();
                dm.insert("SSEAlgorithm".into(), Json::String(d.sse_algorithm.as_str().to_string()));
                if let Some(k) = &d.kms_master_key_id {
                    dm.insert("KMSMasterKeyID".into(), Json::String(k.clone()));
                }
                m.insert("ServerSideEncryptionByDefault".into(), Json::Object(dm));
            }
            if r.bucket_key_enabled == Some(true) {
                m.insert("BucketKeyEnabled".into(), Json::Bool(true));
            }
            Json::Object(m)
        })
        .collect();
    json!({ "ServerSideEncryptionConfiguration": rules })
}

const RULE_KEYS: [&str; 13] = [
    "Id",
    "Status",
    "Prefix",
    "TagFilters",
    "ObjectSizeGreaterThan",
    "ObjectSizeLessThan",
    "Transitions",
    "ExpirationInDays",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionTransitions",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionExpirationInDays",
    "AbortIncompleteMultipartUpload",
];

fn opt_i64(v: &Json, key: &str) -> Result<Option<i64>, ProviderError> {
    match v.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(x) => crate::util::scalar_string(x)
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| invalid(format!("LifecycleConfiguration: `{key}` must be an integer, found {x}"))),
    }
}

fn lifecycle_rule_to_sdk(r: &Json, index: usize) -> Result<s3t::LifecycleRule, ProviderError> {
    let path = format!("LifecycleConfiguration.Rules[{index}]");
    only_keys(r, &path, &RULE_KEYS)?;
    let status = opt_str(r, "Status")?.ok_or_else(|| invalid(format!("{path}: `Status` is required")))?;
    if status != "Enabled" && status != "Disabled" {
        return Err(invalid(format!("{path}: Status must be Enabled or Disabled, found {status}")));
    }
    let mut tags = Vec::new();
    if let Some(list) = r.get("TagFilters").and_then(Json::as_array) {
        for t in list {
            let (Some(k), Some(v)) = (opt_str(t, "Key")?, opt_str(t, "Value")?) else {
                return Err(invalid(format!("{path}: each of `TagFilters` needs a Key and a Value")));
            };
            tags.push(s3t::Tag::builder().key(k).value(v).build().map_err(build_err)?);
        }
    }
    let prefix = opt_str(r, "Prefix")?;
    let (gt, lt) = (opt_i64(r, "ObjectSizeGreaterThan")?, opt_i64(r, "ObjectSizeLessThan")?);
    let conditions = usize::from(prefix.is_some()) + tags.len() + usize::from(gt.is_some()) + usize::from(lt.is_some());
    let filter = if conditions > 1 {
        s3t::LifecycleRuleFilter::builder()
            .and(
                s3t::LifecycleRuleAndOperator::builder()
                    .set_prefix(prefix)
                    .set_tags((!tags.is_empty()).then_some(tags))
                    .set_object_size_greater_than(gt)
                    .set_object_size_less_than(lt)
                    .build(),
            )
            .build()
    } else if let Some(tag) = tags.pop() {
        s3t::LifecycleRuleFilter::builder().tag(tag).build()
    } else {
        s3t::LifecycleRuleFilter::builder()
            .prefix(prefix.unwrap_or_default())
            .set_object_size_greater_than(gt)
            .set_object_size_less_than(lt)
            .build()
    };
    let mut rule = s3t::LifecycleRule::builder()
        .set_id(opt_str(r, "Id")?)
        .status(s3t::ExpirationStatus::from(status.as_str()))
        .filter(filter);
    if let Some(list) = r.get("Transitions").and_then(Json::as_array) {
        for t in list {
            only_keys(t, &format!("{path}.Transitions"), &["StorageClass", "TransitionInDays"])?;
            let class = opt_str(t, "StorageClass")?
                .ok_or_else(|| invalid(format!("{path}: each transition needs a StorageClass")))?;
            rule = rule.transitions(
                s3t::Transition::builder()
                    .storage_class(s3t::TransitionStorageClass::from(class.as_str()))
                    .set_days(opt_i32(t, "TransitionInDays")?)
                    .build(),
            );
        }
    }
    let expiration_days = opt_i32(r, "ExpirationInDays")?;
    let delete_marker = opt_bool(r, "ExpiredObjectDeleteMarker")?;
    if expiration_days.is_some() || delete_marker.is_some() {
        rule = rule.expiration(
            s3t::LifecycleExpiration::builder()
                .set_days(expiration_days)
                .set_expired_object_delete_marker(delete_marker)
                .build(),
        );
    }
    if let Some(list) = r.get("NoncurrentVersionTransitions").and_then(Json::as_array) {
        for t in list {
            only_keys(
                t,
                &format!("{path}.NoncurrentVersionTransitions"),
                &["StorageClass", "TransitionInDays", "NewerNoncurrentVersions"],
            )?;
            let class = opt_str(t, "StorageClass")?
                .ok_or_else(|| invalid(format!("{path}: each transition needs a StorageClass")))?;
            rule = rule.noncurrent_version_transitions(
                s3t::NoncurrentVersionTransition::builder()
                    .storage_class(s3t::TransitionStorageClass::from(class.as_str()))
                    .set_noncurrent_days(opt_i32(t, "TransitionInDays")?)
                    .set_newer_noncurrent_versions(opt_i32(t, "NewerNoncurrentVersions")?)
                    .build(),
            );
        }
    }
    let nve = match (r.get("NoncurrentVersionExpiration"), opt_i32(r, "NoncurrentVersionExpirationInDays")?) {
        (Some(e), _) if !e.is_null() => {
            only_keys(
                e,
                &format!("{path}.NoncurrentVersionExpiration"),
                &["NoncurrentDays", "NewerNoncurrentVersions"],
            )?;
            Some((opt_i32(e, "NoncurrentDays")?, opt_i32(e, "NewerNoncurrentVersions")?))
        }
        (_, Some(days)) => Some((Some(days), None)),
        _ => None,
    };
    if let Some((days, newer)) = nve {
        rule = rule.noncurrent_version_expiration(
            s3t::NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(days)
                .set_newer_noncurrent_versions(newer)
                .build(),
        );
    }
    if let Some(a) = r.get("AbortIncompleteMultipartUpload").filter(|v| !v.is_null()) {
        only_keys(a, &format!("{path}.AbortIncompleteMultipartUpload"), &["DaysAfterInitiation"])?;
        rule = rule.abort_incomplete_multipart_upload(
            s3t::AbortIncompleteMultipartUpload::builder()
                .set_days_after_initiation(opt_i32(a, "DaysAfterInitiation")?)
                .build(),
        );
    }
    rule.build().map_err(build_err)
}

/// A live rule in CloudFormation's shape. `desired` is the user's rule at the same place:
/// an `Id` S3 made up is shown only when the user gave one, and the legacy
/// `NoncurrentVersionExpirationInDays` spelling is kept when the user wrote it.
fn lifecycle_rule_to_json(r: &s3t::LifecycleRule, desired: Option<&Json>) -> Json {
    let mut m = Map::new();
    if let Some(id) = &r.id {
        if desired.is_none_or(|d| d.get("Id").is_some()) {
            m.insert("Id".into(), Json::String(id.clone()));
        }
    }
    m.insert("Status".into(), Json::String(r.status.as_str().to_string()));
    #[allow(deprecated)]
    let legacy_prefix = r.prefix.clone();
    let (mut prefix, mut tags, mut gt, mut lt) = (legacy_prefix, Vec::new(), None, None);
    if let Some(f) = &r.filter {
        if let Some(p) = &f.prefix {
            prefix = Some(p.clone());
        }
        if let Some(t) = &f.tag {
            tags.push(t.clone());
        }
        gt = gt.or(f.object_size_greater_than);
        lt = lt.or(f.object_size_less_than);
        if let Some(and) = &f.and {
            prefix = and.prefix.clone().or(prefix);
            tags.extend(and.tags.clone().unwrap_or_default());
            gt = gt.or(and.object_size_greater_than);
            lt = lt.or(and.object_size_less_than);
        }
    }
    if let Some(p) = prefix.filter(|p| !p.is_empty() || desired.is_some_and(|d| d.get("Prefix").is_some())) {
        m.insert("Prefix".into(), Json::String(p));
    }
    if !tags.is_empty() {
        m.insert("TagFilters".into(), tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect());
    }
    if let Some(v) = gt {
        m.insert("ObjectSizeGreaterThan".into(), json!(v));
    }
    if let Some(v) = lt {
        m.insert("ObjectSizeLessThan".into(), json!(v));
    }
    if let Some(ts) = r.transitions.as_ref().filter(|t| !t.is_empty()) {
        let list: Vec<Json> = ts
            .iter()
            .map(|t| {
                let mut tm = Map::new();
                if let Some(c) = &t.storage_class {
                    tm.insert("StorageClass".into(), Json::String(c.as_str().to_string()));
                }
                if let Some(d) = t.days {
                    tm.insert("TransitionInDays".into(), json!(d));
                }
                Json::Object(tm)
            })
            .collect();
        m.insert("Transitions".into(), Json::Array(list));
    }
    if let Some(e) = &r.expiration {
        if let Some(d) = e.days {
            m.insert("ExpirationInDays".into(), json!(d));
        }
        if let Some(b) = e.expired_object_delete_marker {
            m.insert("ExpiredObjectDeleteMarker".into(), json!(b));
        }
    }
    if let Some(ts) = r.noncurrent_version_transitions.as_ref().filter(|t| !t.is_empty()) {
        let list: Vec<Json> = ts
            .iter()
            .map(|t| {
                let mut tm = Map::new();
                if let Some(c) = &t.storage_class {
                    tm.insert("StorageClass".into(), Json::String(c.as_str().to_string()));
                }
                if let Some(d) = t.noncurrent_days {
                    tm.insert("TransitionInDays".into(), json!(d));
                }
                if let Some(n) = t.newer_noncurrent_versions {
                    tm.insert("NewerNoncurrentVersions".into(), json!(n));
                }
                Json::Object(tm)
            })
            .collect();
        m.insert("NoncurrentVersionTransitions".into(), Json::Array(list));
    }
    if let Some(e) = &r.noncurrent_version_expiration {
        let legacy = desired.is_some_and(|d| d.get("NoncurrentVersionExpirationInDays").is_some())
            && e.newer_noncurrent_versions.is_none();
        if legacy {
            if let Some(d) = e.noncurrent_days {
                m.insert("NoncurrentVersionExpirationInDays".into(), json!(d));
            }
        } else {
            let mut em = Map::new();
            if let Some(d) = e.noncurrent_days {
                em.insert("NoncurrentDays".into(), json!(d));
            }
            if let Some(n) = e.newer_noncurrent_versions {
                em.insert("NewerNoncurrentVersions".into(), json!(n));
            }
            m.insert("NoncurrentVersionExpiration".into(), Json::Object(em));
        }
    }
    if let Some(a) = &r.abort_incomplete_multipart_upload {
        m.insert("AbortIncompleteMultipartUpload".into(), json!({"DaysAfterInitiation": a.days_after_initiation}));
    }
    Json::Object(m)
}

fn cors_rule_to_sdk(r: &Json) -> Result<s3t::CorsRule, ProviderError> {
    only_keys(
        r,
        "CorsConfiguration.CorsRules",
        &["Id", "AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposedHeaders", "MaxAge"],
    )?;
    let nonempty = |v: Vec<String>| (!v.is_empty()).then_some(v);
    s3t::CorsRule::builder()
        .set_id(opt_str(r, "Id")?)
        .set_allowed_headers(nonempty(str_list(r, "AllowedHeaders")?))
        .set_allowed_methods(Some(str_list(r, "AllowedMethods")?))
        .set_allowed_origins(Some(str_list(r, "AllowedOrigins")?))
        .set_expose_headers(nonempty(str_list(r, "ExposedHeaders")?))
        .set_max_age_seconds(opt_i32(r, "MaxAge")?)
        .build()
        .map_err(build_err)
}

fn cors_rule_to_json(r: &s3t::CorsRule) -> Json {
    let mut m = Map::new();
    if let Some(id) = &r.id {
        m.insert("Id".into(), json!(id));
    }
    if let Some(h) = r.allowed_headers.as_ref().filter(|h| !h.is_empty()) {
        m.insert("AllowedHeaders".into(), json!(h));
    }
    m.insert("AllowedMethods".into(), json!(r.allowed_methods));
    m.insert("AllowedOrigins".into(), json!(r.allowed_origins));
    if let Some(h) = r.expose_headers.as_ref().filter(|h| !h.is_empty()) {
        m.insert("ExposedHeaders".into(), json!(h));
    }
    if let Some(a) = r.max_age_seconds {
        m.insert("MaxAge".into(), json!(a));
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Json {
        json!({
            "BucketName": "my-bucket",
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"}, "BucketKeyEnabled": true}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "LifecycleConfiguration": {"Rules": [
                {"Id": "glacier", "Status": "Enabled", "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": "90"}]},
                {"Status": "Enabled", "Prefix": "logs/", "TagFilters": [{"Key": "k", "Value": "v"}], "ExpirationInDays": 30,
                 "NoncurrentVersionTransitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 60},
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
            ]},
            "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAge": 300}]},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "Tags": [{"Key": "a", "Value": "b"}]
        })
    }

    #[test]
    fn settings_round_trip_to_the_users_shape() {
        let desired = full();
        let s = Settings::parse(&desired).unwrap();
        let rule = &s.lifecycle.as_ref().unwrap()[1];
        let and = rule.filter.as_ref().unwrap().and.as_ref().unwrap();
        assert_eq!(and.prefix.as_deref(), Some("logs/"));
        assert_eq!(and.tags.as_ref().unwrap()[0].key, "k");
        let shape = s.to_user_shape(&desired);
        for (k, v) in &shape {
            assert!(loose_eq(v, &desired[k]), "{k}: {v} vs {}", desired[k]);
        }
        let keys: Vec<&str> = shape.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "BucketEncryption",
                "CorsConfiguration",
                "LifecycleConfiguration",
                "OwnershipControls",
                "PublicAccessBlockConfiguration",
                "VersioningConfiguration"
            ]
        );
    }

    #[test]
    fn defaults_are_hidden_unless_asked_for() {
        let live = Settings::parse(&json!({
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        }))
        .unwrap();
        assert!(live.to_user_shape(&json!({})).is_empty());
        let shape = live.to_user_shape(&json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}));
        assert_eq!(shape.len(), 1);
        // Only the flags that are on or that the user named are shown.
        let half = Settings::parse(&json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}})).unwrap();
        assert_eq!(
            half.to_user_shape(
                &json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": false}})
            )["PublicAccessBlockConfiguration"],
            json!({"BlockPublicAcls": true, "IgnorePublicAcls": false})
        );
    }

    #[test]
    fn made_up_rule_ids_are_hidden() {
        let desired = json!({"Rules": [{"Status": "Enabled", "ExpirationInDays": 5}]});
        let mut rule = lifecycle_rule_to_sdk(&desired["Rules"][0], 0).unwrap();
        rule.id = Some("s3-made-this".into());
        let shape = lifecycle_rule_to_json(&rule, Some(&desired["Rules"][0]));
        assert_eq!(shape, json!({"Status": "Enabled", "ExpirationInDays": 5}));
        assert_eq!(rule.filter.unwrap().prefix.as_deref(), Some(""));
    }

    #[test]
    fn unsupported_and_malformed_properties_are_refused() {
        let err = Settings::parse(&json!({"WebsiteConfiguration": {}})).unwrap_err();
        assert!(err.message.starts_with("WebsiteConfiguration: cairn does not support"), "{}", err.message);
        let err = Settings::parse(&json!({"VersioningConfiguration": {"Status": "On"}})).unwrap_err();
        assert!(err.message.contains("Enabled or Suspended"));
        let err =
            Settings::parse(&json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "Transition": {}}]}}))
                .unwrap_err();
        assert!(
            err.message.starts_with("LifecycleConfiguration.Rules[0]: cairn does not support `Transition`"),
            "{}",
            err.message
        );
        let aws = Aws::from_config(
            aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build(),
        );
        let failures = Bucket::new(aws).check(&Value::from_json(&json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "DES"}}]}})));
        // The schema's enum finds it first, at its exact path.
        assert_eq!(failures.len(), 1);
        assert_eq!(
            failures[0].path,
            "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm"
        );
        assert_eq!(failures[0].message, "expected one of `aws:kms`, `AES256`, `aws:kms:dsse`, found `DES`");
    }

    #[test]
    fn names_and_attributes() {
        let ctx = crate::test_ctx(TYPE_NAME, "Data.Bucket");
        let name = bucket_name(&ctx, &json!({})).unwrap();
        assert_eq!(name, "dev-data-bucket-abcdefghijkl");
        assert_eq!(bucket_name(&ctx, &json!({"BucketName": "mine"})).unwrap(), "mine");
        let d = resource_data(&ctx, "b1");
        assert_eq!(d.physical_id, "b1");
        assert_eq!(d.attributes["Arn"], Value::from("arn:aws:s3:::b1"));
        assert_eq!(d.attributes["RegionalDomainName"], Value::from("b1.s3.us-east-1.amazonaws.com"));
        assert_eq!(d.attributes["WebsiteURL"], Value::from("http://b1.s3-website-us-east-1.amazonaws.com"));
        let mut eu = ctx.clone();
        eu.region = "eu-central-1".into();
        assert_eq!(
            resource_data(&eu, "b1").attributes["WebsiteURL"],
            Value::from("http://b1.s3-website.eu-central-1.amazonaws.com")
        );
    }
}
