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
//! | `OwnershipControls` | `{Rules: [{ObjectOwnership: BucketOwnerEnforced \| BucketOwnerPreferred \| ObjectWriter}]}` (one rule) |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Any other property, at any depth, is refused by `check` at its path with what cairn takes
//! there (the typed [`Props`]), never silently ignored.
//!
//! - `Ref`: the bucket name.
//! - `Fn::GetAtt`: `Arn`, `DomainName`, `RegionalDomainName`, `DualStackDomainName`,
//!   `WebsiteURL`.
//!
//! A create makes the bucket, waits until it answers, tags it (first: a crash after that
//! leaves a bucket `find` recognises), then puts each setting. An update applies each
//! changed setting (a put, or a delete when the setting was removed). Tags: S3's
//! `PutBucketTagging` replaces the whole set, so cairn sends the whole set, and only when
//! it changed: an update compares the bucket's live tags with the desired ones
//! ([`Cx::tag_update`](crate::kit::Cx::tag_update)) and makes no call when they are the
//! same. (The recorded properties never show the ownership tags: a create cut short before
//! tagging leaves a bucket without them, and the next update puts them.)
//!
//! Like CloudFormation, `delete` does not empty the bucket: deleting a bucket that still
//! holds objects fails with AWS's `BucketNotEmpty`. `find` (after a crash mid-create) looks
//! up the deterministic name and adopts the bucket when it carries this resource's
//! ownership tags ([`ids::is_owned`]), or, for a generated name, when it has no tags yet (the
//! crash came before tagging); a bucket with an explicit name and without them is never
//! adopted.
//!
//! `read` reports a setting when the user set it or when it differs from a new bucket's
//! default, in the user's spelling when the two mean the same. A setting never put is
//! answered by S3 with an error of its own ("not configured", [`configured`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types as s3t;
use cairn_core::provider::{OpContext, ProviderError, ResourceData};
use cairn_core::Value;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value as Json};

use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::S3::Bucket";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::S3_BUCKET, Some("BucketName"), &[])),
    not_found: &["NoSuchBucket", "NotFound"],
    timeout: Duration::from_secs(60),
    reference: "the bucket name",
};

/// The properties cairn takes (see the module doc).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    bucket_name: Option<String>,
    versioning_configuration: Option<Versioning>,
    bucket_encryption: Option<Encryption>,
    public_access_block_configuration: Option<PublicAccessBlock>,
    lifecycle_configuration: Option<Lifecycle>,
    cors_configuration: Option<Cors>,
    ownership_controls: Option<Ownership>,
    tags: Option<Vec<Tag>>,
}

impl Props {
    fn tags(&self) -> &[Tag] {
        self.tags.as_deref().unwrap_or_default()
    }
}

/// A string with a closed set of values: any other is refused at its path, listing them.
macro_rules! one_of {
    ($name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        #[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
        enum $name {
            $(#[serde(rename = $s)] $variant),+
        }
        impl $name {
            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }
        }
    };
}

one_of!(VersioningStatus { Enabled = "Enabled", Suspended = "Suspended" });
one_of!(SseAlgorithm { Aes256 = "AES256", Kms = "aws:kms", KmsDsse = "aws:kms:dsse" });
one_of!(RuleStatus { Enabled = "Enabled", Disabled = "Disabled" });

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Versioning {
    status: VersioningStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Encryption {
    server_side_encryption_configuration: Vec<EncryptionRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct EncryptionRule {
    server_side_encryption_by_default: Option<EncryptionByDefault>,
    bucket_key_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptionByDefault {
    #[serde(rename = "SSEAlgorithm")]
    sse_algorithm: SseAlgorithm,
    #[serde(rename = "KMSMasterKeyID")]
    kms_master_key_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PublicAccessBlock {
    block_public_acls: Option<bool>,
    block_public_policy: Option<bool>,
    ignore_public_acls: Option<bool>,
    restrict_public_buckets: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Lifecycle {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Rule {
    id: Option<String>,
    status: RuleStatus,
    prefix: Option<String>,
    tag_filters: Option<Vec<Tag>>,
    #[serde(default, deserialize_with = "bytes")]
    object_size_greater_than: Option<i64>,
    #[serde(default, deserialize_with = "bytes")]
    object_size_less_than: Option<i64>,
    transitions: Option<Vec<Transition>>,
    expiration_in_days: Option<i32>,
    expired_object_delete_marker: Option<bool>,
    noncurrent_version_transitions: Option<Vec<NoncurrentTransition>>,
    noncurrent_version_expiration: Option<NoncurrentExpiration>,
    noncurrent_version_expiration_in_days: Option<i32>,
    abort_incomplete_multipart_upload: Option<AbortUpload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Transition {
    storage_class: String,
    transition_in_days: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NoncurrentTransition {
    storage_class: String,
    transition_in_days: Option<i32>,
    newer_noncurrent_versions: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NoncurrentExpiration {
    noncurrent_days: Option<i32>,
    newer_noncurrent_versions: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AbortUpload {
    days_after_initiation: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Cors {
    cors_rules: Vec<CorsRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CorsRule {
    id: Option<String>,
    allowed_headers: Option<Vec<String>>,
    allowed_methods: Vec<String>,
    allowed_origins: Vec<String>,
    exposed_headers: Option<Vec<String>>,
    max_age: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Ownership {
    rules: Vec<OwnershipRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OwnershipRule {
    object_ownership: String,
}

/// `ObjectSizeGreaterThan`/`LessThan`: a string of digits in the schema (a number is taken
/// too), in bytes.
fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Json>::deserialize(d)? {
        None | Some(Json::Null) => Ok(None),
        Some(v) => crate::util::scalar_string(&v)
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number of bytes, found {v}"))),
    }
}

/// The `AWS::S3::Bucket` resource type.
pub struct Bucket;

impl Bucket {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Bucket> {
        Typed::new(Bucket, aws)
    }
}

#[async_trait]
impl AwsType for Bucket {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        match &p.ownership_controls {
            Some(o) if o.rules.len() != 1 => Err(PropsError {
                path: "OwnershipControls.Rules".into(),
                message: format!("expected exactly one rule, found {}", o.rules.len()),
            }),
            _ => Ok(()),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let settings = Settings::of(p)?;
        let name = bucket_name(cx.ctx, p);
        let s3: aws_sdk_s3::Client = cx.client();
        let mut req = s3.create_bucket().bucket(&name);
        if !cx.region().is_empty() && cx.region() != "us-east-1" {
            req = req.create_bucket_configuration(
                s3t::CreateBucketConfiguration::builder()
                    .location_constraint(s3t::BucketLocationConstraint::from(cx.region()))
                    .build(),
            );
        }
        req.send().await.map_err(sdk_error)?;
        cx.created(&name, async {
            cx.wait_visible(&format!("bucket {name} to exist"), || async {
                s3.head_bucket().bucket(&name).send().await.map_err(sdk_error)
            })
            .await?;
            // Tags first: a crash after this point leaves a bucket `find` can confirm as ours.
            put_tags(&s3, &name, cx.tags(p.tags())).await?;
            apply(&s3, &name, &Settings::default(), &settings).await
        })
        .await?;
        Ok(resource_data(cx.ctx, &name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let s3: aws_sdk_s3::Client = cx.client();
        s3.head_bucket().bucket(physical_id).send().await.map_err(sdk_error)?;
        let mut properties = read_settings(&s3, physical_id).await?.to_user_shape(desired);
        if desired.get("BucketName").is_some() {
            properties.insert("BucketName".into(), Json::String(physical_id.to_string()));
        }
        let tags = get_tags(&s3, physical_id).await?;
        Ok(Some(Live { data: resource_data(cx.ctx, physical_id), properties, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let (before, after) = (Settings::of(old)?, Settings::of(new)?);
        let s3: aws_sdk_s3::Client = cx.client();
        if !cx.tag_update(&get_tags(&s3, physical_id).await?, new.tags()).is_empty() {
            put_tags(&s3, physical_id, cx.tags(new.tags())).await?;
        }
        apply(&s3, physical_id, &before, &after).await?;
        Ok(resource_data(cx.ctx, physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let s3: aws_sdk_s3::Client = cx.client();
        match s3.delete_bucket().bucket(physical_id).send().await.map_err(sdk_error) {
            Ok(_) => Ok(()),
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

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = bucket_name(cx.ctx, p);
        let s3: aws_sdk_s3::Client = cx.client();
        match s3.head_bucket().bucket(&name).send().await.map_err(sdk_error) {
            Ok(_) => {}
            // Someone else's bucket.
            Err(e) if e.code.as_deref() == Some("Forbidden") => return Ok(None),
            Err(e) => return Err(e),
        }
        let tags = get_tags(&s3, &name).await?;
        let ours = ids::is_owned(cx.ctx, &tags) || (p.bucket_name.is_none() && tags.is_empty());
        Ok(ours.then(|| resource_data(cx.ctx, &name)))
    }

    fn fixture(&self) -> Fixture {
        let settings = |versioning: &str, days: u32, team: &str| {
            json!({
                "VersioningConfiguration": {"Status": versioning},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
                "LifecycleConfiguration": {"Rules": [{"Id": "archive", "Status": "Enabled", "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": days}]}]},
                "Tags": [{"Key": "Team", "Value": team}]
            })
        };
        let named = |name: &str, mut props: Json| {
            props["BucketName"] = json!(name);
            props
        };
        let mut update = named("cairn-conf-{uid}", settings("Suspended", 60, "ml"));
        update["CorsConfiguration"] =
            json!({"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAge": 300}]});
        let replace = named("cairn-conf-moved-{uid}", update.clone());
        Fixture {
            support: json!({}),
            create: named("cairn-conf-{uid}", settings("Enabled", 90, "data")),
            update: Some(update),
            replace: Some(replace),
            // The schema's create-only paths are all top-level (BucketName and the name prefix
            // and namespace, which cairn does not take).
            nested_replace: None,
            partial_after: Some("PutBucketTagging"),
            unverified: &[],
        }
    }
}

/// The bucket's name: `BucketName`, or the deterministic generated one.
fn bucket_name(ctx: &OpContext, p: &Props) -> String {
    p.bucket_name
        .clone()
        .unwrap_or_else(|| ctx.generated_name(63, true, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
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
    ResourceData { physical_id: name.to_string(), attributes: attrs }
}

/// The bucket's settings in SDK form; `None` is "not configured".
#[derive(Clone, Debug, Default, PartialEq)]
struct Settings {
    versioning: Option<s3t::BucketVersioningStatus>,
    encryption: Option<s3t::ServerSideEncryptionConfiguration>,
    public_access: Option<s3t::PublicAccessBlockConfiguration>,
    lifecycle: Option<Vec<s3t::LifecycleRule>>,
    cors: Option<Vec<s3t::CorsRule>>,
    ownership: Option<s3t::ObjectOwnership>,
}

impl Settings {
    /// The settings the properties ask for.
    fn of(p: &Props) -> Result<Settings, ProviderError> {
        let public_access = p.public_access_block_configuration.as_ref().map(|b| {
            s3t::PublicAccessBlockConfiguration::builder()
                .block_public_acls(b.block_public_acls.unwrap_or(false))
                .block_public_policy(b.block_public_policy.unwrap_or(false))
                .ignore_public_acls(b.ignore_public_acls.unwrap_or(false))
                .restrict_public_buckets(b.restrict_public_buckets.unwrap_or(false))
                .build()
        });
        let lifecycle = p.lifecycle_configuration.as_ref().map(|l| l.rules.iter().map(lifecycle_rule_to_sdk).collect());
        let cors = p.cors_configuration.as_ref().map(|c| c.cors_rules.iter().map(cors_rule_to_sdk).collect());
        Ok(Settings {
            versioning: p
                .versioning_configuration
                .as_ref()
                .map(|v| s3t::BucketVersioningStatus::from(v.status.as_str())),
            encryption: p.bucket_encryption.as_ref().map(encryption_to_sdk).transpose()?,
            public_access,
            lifecycle: lifecycle.transpose()?,
            cors: cors.transpose()?,
            ownership: p
                .ownership_controls
                .as_ref()
                .and_then(|o| o.rules.first())
                .map(|r| s3t::ObjectOwnership::from(r.object_ownership.as_str())),
        })
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

/// What S3 answers for a setting never put: a `Get` of it (and some `Delete`s) fails with
/// these codes.
const UNSET_ENCRYPTION: &str = "ServerSideEncryptionConfigurationNotFoundError";
const UNSET_PUBLIC_ACCESS: &str = "NoSuchPublicAccessBlockConfiguration";
const UNSET_LIFECYCLE: &str = "NoSuchLifecycleConfiguration";
const UNSET_CORS: &str = "NoSuchCORSConfiguration";
const UNSET_OWNERSHIP: &str = "OwnershipControlsNotFoundError";
const UNSET_TAGS: &str = "NoSuchTagSet";

/// A call on one setting of the bucket, with S3's "not configured" answer (`unset`) as `None`.
async fn configured<T, E>(
    call: impl Future<Output = Result<T, SdkError<E>>>,
    unset: &str,
) -> Result<Option<T>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match call.await.map_err(sdk_error) {
        Err(e) if e.code.as_deref() == Some(unset) => Ok(None),
        r => r.map(Some),
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
            None => configured(s3.delete_bucket_ownership_controls().bucket(name).send(), UNSET_OWNERSHIP)
                .await
                .map(drop)?,
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
            None => {
                configured(s3.delete_public_access_block().bucket(name).send(), UNSET_PUBLIC_ACCESS).await.map(drop)?
            }
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
            None => configured(s3.delete_bucket_encryption().bucket(name).send(), UNSET_ENCRYPTION).await.map(drop)?,
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
            None => configured(s3.delete_bucket_lifecycle().bucket(name).send(), UNSET_LIFECYCLE).await.map(drop)?,
        }
    }
    if before.cors != after.cors {
        match &after.cors {
            Some(rules) => {
                let conf =
                    s3t::CorsConfiguration::builder().set_cors_rules(Some(rules.clone())).build().map_err(build_err)?;
                s3.put_bucket_cors().bucket(name).cors_configuration(conf).send().await.map_err(sdk_error)?;
            }
            None => configured(s3.delete_bucket_cors().bucket(name).send(), UNSET_CORS).await.map(drop)?,
        }
    }
    Ok(())
}

/// Each setting of a live bucket.
async fn read_settings(s3: &aws_sdk_s3::Client, name: &str) -> Result<Settings, ProviderError> {
    let versioning = s3.get_bucket_versioning().bucket(name).send().await.map_err(sdk_error)?.status;
    let encryption = configured(s3.get_bucket_encryption().bucket(name).send(), UNSET_ENCRYPTION)
        .await?
        .and_then(|o| o.server_side_encryption_configuration);
    let public_access = configured(s3.get_public_access_block().bucket(name).send(), UNSET_PUBLIC_ACCESS)
        .await?
        .and_then(|o| o.public_access_block_configuration);
    let lifecycle = configured(s3.get_bucket_lifecycle_configuration().bucket(name).send(), UNSET_LIFECYCLE)
        .await?
        .map(|o| o.rules.unwrap_or_default());
    let cors = configured(s3.get_bucket_cors().bucket(name).send(), UNSET_CORS)
        .await?
        .map(|o| o.cors_rules.unwrap_or_default());
    let ownership = configured(s3.get_bucket_ownership_controls().bucket(name).send(), UNSET_OWNERSHIP)
        .await?
        .and_then(|o| o.ownership_controls)
        .and_then(|c| c.rules.into_iter().next())
        .map(|r| r.object_ownership);
    Ok(Settings { versioning, encryption, public_access, lifecycle, cors, ownership })
}

/// All of the bucket's tags.
async fn get_tags(s3: &aws_sdk_s3::Client, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = configured(s3.get_bucket_tagging().bucket(name).send(), UNSET_TAGS).await?;
    Ok(out.map(|o| o.tag_set.into_iter().map(|t| (t.key, t.value)).collect()).unwrap_or_default())
}

/// Set the bucket's tags to `tags` (S3 replaces the whole set).
async fn put_tags(s3: &aws_sdk_s3::Client, name: &str, tags: BTreeMap<String, String>) -> Result<(), ProviderError> {
    let set = tags
        .into_iter()
        .map(|(k, v)| s3t::Tag::builder().key(k).value(v).build().map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    let tagging = s3t::Tagging::builder().set_tag_set(Some(set)).build().map_err(build_err)?;
    s3.put_bucket_tagging().bucket(name).tagging(tagging).send().await.map_err(sdk_error)?;
    Ok(())
}

/// An SDK builder's refusal: a required field left out, which the typed properties rule out.
fn build_err(e: aws_sdk_s3::error::BuildError) -> ProviderError {
    ProviderError::with_code(
        "InvalidRequest",
        format!("cairn built an incomplete S3 request ({e}); this is a bug in cairn: please report it"),
    )
}

fn encryption_to_sdk(e: &Encryption) -> Result<s3t::ServerSideEncryptionConfiguration, ProviderError> {
    let mut conf = s3t::ServerSideEncryptionConfiguration::builder();
    for r in &e.server_side_encryption_configuration {
        let mut rule = s3t::ServerSideEncryptionRule::builder().set_bucket_key_enabled(r.bucket_key_enabled);
        if let Some(d) = &r.server_side_encryption_by_default {
            let by_default = s3t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3t::ServerSideEncryption::from(d.sse_algorithm.as_str()))
                .set_kms_master_key_id(d.kms_master_key_id.clone())
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

fn lifecycle_rule_to_sdk(r: &Rule) -> Result<s3t::LifecycleRule, ProviderError> {
    let mut tags = Vec::new();
    for t in r.tag_filters.iter().flatten() {
        tags.push(s3t::Tag::builder().key(&t.key).value(&t.value).build().map_err(build_err)?);
    }
    let prefix = r.prefix.clone();
    let (gt, lt) = (r.object_size_greater_than, r.object_size_less_than);
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
        .set_id(r.id.clone())
        .status(s3t::ExpirationStatus::from(r.status.as_str()))
        .filter(filter);
    for t in r.transitions.iter().flatten() {
        rule = rule.transitions(
            s3t::Transition::builder()
                .storage_class(s3t::TransitionStorageClass::from(t.storage_class.as_str()))
                .set_days(t.transition_in_days)
                .build(),
        );
    }
    if r.expiration_in_days.is_some() || r.expired_object_delete_marker.is_some() {
        rule = rule.expiration(
            s3t::LifecycleExpiration::builder()
                .set_days(r.expiration_in_days)
                .set_expired_object_delete_marker(r.expired_object_delete_marker)
                .build(),
        );
    }
    for t in r.noncurrent_version_transitions.iter().flatten() {
        rule = rule.noncurrent_version_transitions(
            s3t::NoncurrentVersionTransition::builder()
                .storage_class(s3t::TransitionStorageClass::from(t.storage_class.as_str()))
                .set_noncurrent_days(t.transition_in_days)
                .set_newer_noncurrent_versions(t.newer_noncurrent_versions)
                .build(),
        );
    }
    let expiration = match (&r.noncurrent_version_expiration, r.noncurrent_version_expiration_in_days) {
        (Some(e), _) => Some((e.noncurrent_days, e.newer_noncurrent_versions)),
        (None, Some(days)) => Some((Some(days), None)),
        (None, None) => None,
    };
    if let Some((days, newer)) = expiration {
        rule = rule.noncurrent_version_expiration(
            s3t::NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(days)
                .set_newer_noncurrent_versions(newer)
                .build(),
        );
    }
    if let Some(a) = &r.abort_incomplete_multipart_upload {
        rule = rule.abort_incomplete_multipart_upload(
            s3t::AbortIncompleteMultipartUpload::builder().set_days_after_initiation(a.days_after_initiation).build(),
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

fn cors_rule_to_sdk(r: &CorsRule) -> Result<s3t::CorsRule, ProviderError> {
    let nonempty = |v: &Option<Vec<String>>| v.clone().filter(|v| !v.is_empty());
    s3t::CorsRule::builder()
        .set_id(r.id.clone())
        .set_allowed_headers(nonempty(&r.allowed_headers))
        .set_allowed_methods(Some(r.allowed_methods.clone()))
        .set_allowed_origins(Some(r.allowed_origins.clone()))
        .set_expose_headers(nonempty(&r.exposed_headers))
        .set_max_age_seconds(r.max_age)
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
    use cairn_core::provider::ResourceType;

    use super::*;

    fn parse(v: &Json) -> Result<Props, ProviderError> {
        Bucket::new(Aws::unconfigured()).parse(v)
    }

    fn settings(v: &Json) -> Settings {
        Settings::of(&parse(v).unwrap()).unwrap()
    }

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
        let s = settings(&desired);
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
    fn object_sizes_are_bytes_given_as_text_or_numbers() {
        let rule = |gt: Json| json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "ObjectSizeGreaterThan": gt, "ObjectSizeLessThan": "4096"}]}});
        let s = settings(&rule(json!(1024)));
        let and = s.lifecycle.unwrap()[0].filter.clone().unwrap().and.unwrap();
        assert_eq!((and.object_size_greater_than, and.object_size_less_than), (Some(1024), Some(4096)));
        let e = parse(&rule(json!("big"))).unwrap_err();
        assert_eq!(
            e.message,
            "LifecycleConfiguration.Rules[0].ObjectSizeGreaterThan: expected a whole number of bytes, found \"big\""
        );
    }

    #[test]
    fn defaults_are_hidden_unless_asked_for() {
        let live = settings(&json!({
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        }));
        assert!(live.to_user_shape(&json!({})).is_empty());
        let shape = live.to_user_shape(&json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}));
        assert_eq!(shape.len(), 1);
        // Only the flags that are on or that the user named are shown.
        let half = settings(&json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}));
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
        let mut rule = settings(&json!({"LifecycleConfiguration": desired})).lifecycle.unwrap().remove(0);
        rule.id = Some("s3-made-this".into());
        let shape = lifecycle_rule_to_json(&rule, Some(&desired["Rules"][0]));
        assert_eq!(shape, json!({"Status": "Enabled", "ExpirationInDays": 5}));
        assert_eq!(rule.filter.unwrap().prefix.as_deref(), Some(""));
    }

    #[test]
    fn unsupported_and_malformed_properties_are_refused_at_their_path() {
        let err = parse(&json!({"WebsiteConfiguration": {}})).unwrap_err();
        assert!(
            err.message.starts_with(
                "WebsiteConfiguration: cairn does not support `WebsiteConfiguration` of `AWS::S3::Bucket` yet"
            ),
            "{}",
            err.message
        );
        assert!(err.message.contains("it takes: BucketName, VersioningConfiguration,"), "{}", err.message);
        let err = parse(&json!({"VersioningConfiguration": {"Status": "On"}})).unwrap_err();
        assert_eq!(err.message, "VersioningConfiguration.Status: expected `Enabled` or `Suspended`, found `On`");
        // A property the schema has below the top level, but cairn does not take.
        let err = parse(&json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "Transition": {}}]}}))
            .unwrap_err();
        assert!(
            err.message.starts_with(
                "LifecycleConfiguration.Rules[0].Transition: cairn does not support `Transition` of `AWS::S3::Bucket` yet (did you mean `Transitions`?)"
            ),
            "{}",
            err.message
        );
        assert!(err.message.contains("it takes: Id, Status, Prefix, TagFilters,"), "{}", err.message);
        // A misspelt one.
        let err = parse(&json!({"CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 5}]}}))
            .unwrap_err();
        assert!(
            err.message.starts_with(
                "CorsConfiguration.CorsRules[0].MaxAgeSeconds: `AWS::S3::Bucket` has no property `MaxAgeSeconds` here (did you mean `MaxAge`?)"
            ),
            "{}",
            err.message
        );
        let err = parse(&json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"KMSMasterKeyID": "k"}}]}}))
            .unwrap_err();
        assert_eq!(
            err.message,
            "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm: required property `SSEAlgorithm` is missing"
        );
        let err = parse(&json!({"OwnershipControls": {"Rules": []}})).unwrap_err();
        assert_eq!(err.message, "OwnershipControls.Rules: expected exactly one rule, found 0");
        let err = parse(&json!({"PublicAccessBlockConfiguration": "yes"})).unwrap_err();
        assert_eq!(err.message, "PublicAccessBlockConfiguration: expected a mapping, found the string \"yes\"");

        let aws = Aws::unconfigured();
        let t = Bucket::new(aws);
        let failures = t.check(&Value::from_json(&json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "DES"}}]}})));
        // The schema's enum finds it first, at its exact path.
        assert_eq!(failures.len(), 1);
        assert_eq!(
            failures[0].path,
            "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm"
        );
        assert_eq!(failures[0].message, "expected one of `aws:kms`, `AES256`, `aws:kms:dsse`, found `DES`");
        // `check` locates the typed read's refusals too.
        let failures =
            t.check(&Value::from_json(&json!({"CorsConfiguration": {"CorsRules": [{"AllowedOrigins": ["*"]}]}})));
        assert_eq!(failures.len(), 1);
        assert_eq!(
            (failures[0].path.as_str(), failures[0].message.as_str()),
            ("CorsConfiguration.CorsRules[0].AllowedMethods", "required property `AllowedMethods` is missing")
        );
    }

    #[test]
    fn names_and_attributes() {
        let ctx = crate::test_ctx(TYPE_NAME, "Data.Bucket");
        let name = bucket_name(&ctx, &parse(&json!({})).unwrap());
        assert_eq!(name, "dev-data-bucket-abcdefghijkl");
        assert_eq!(bucket_name(&ctx, &parse(&json!({"BucketName": "mine"})).unwrap()), "mine");
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

    #[test]
    fn the_fixture_is_valid_and_replaces_by_name() {
        let f = Bucket.fixture();
        let replace = f.replace.as_ref().expect("BucketName is create-only");
        for props in [&f.create, f.update.as_ref().unwrap(), replace] {
            parse(props).unwrap();
        }
        assert_ne!(f.create["BucketName"], replace["BucketName"]);
        assert_eq!(f.create["BucketName"], f.update.as_ref().unwrap()["BucketName"]);
        assert!(SPEC.schema.create_only.iter().all(|p| !cairn_core::schema::is_nested(p)));
    }
}
