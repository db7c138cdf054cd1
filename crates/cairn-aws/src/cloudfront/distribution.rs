//! `AWS::CloudFront::Distribution`: a CloudFront distribution (a static site's bucket behind
//! an origin access control, API routes to API Gateway, an ACM certificate and its aliases).
//!
//! | property | notes |
//! | --- | --- |
//! | `DistributionConfig.Origins` | `[{Id, DomainName, OriginPath, S3OriginConfig {OriginAccessIdentity, OriginReadTimeout}, OriginAccessControlId, CustomOriginConfig {HTTPPort, HTTPSPort, OriginProtocolPolicy, OriginSSLProtocols, OriginReadTimeout, OriginKeepaliveTimeout}, OriginCustomHeaders, ConnectionAttempts, ConnectionTimeout, OriginShield}]`, at least one; each has `S3OriginConfig` or `CustomOriginConfig` |
//! | `DistributionConfig.OriginGroups` | `{Quantity, Items: [{Id, FailoverCriteria.StatusCodes, Members}]}` (failover between two origins) |
//! | `DistributionConfig.DefaultCacheBehavior`, `CacheBehaviors[*]` | `PathPattern` (cache behaviors only), `TargetOriginId`, `ViewerProtocolPolicy`, `AllowedMethods`, `CachedMethods`, `CachePolicyId` (required here), `OriginRequestPolicyId`, `ResponseHeadersPolicyId`, `Compress`, `SmoothStreaming` |
//! | `DistributionConfig.Aliases`, `ViewerCertificate` | `{AcmCertificateArn, IamCertificateId, SslSupportMethod, MinimumProtocolVersion, CloudFrontDefaultCertificate}` |
//! | `DistributionConfig.DefaultRootObject`, `CustomErrorResponses`, `Enabled`, `Comment`, `PriceClass`, `HttpVersion`, `IPV6Enabled`, `Logging`, `Restrictions`, `WebACLId` | |
//! | `Tags` | `[{Key, Value}]` |
//!
//! Left out (`check` refuses them): the legacy cache settings of a behavior
//! (`ForwardedValues`, `MinTTL`, `DefaultTTL`, `MaxTTL`: a behavior takes a cache policy,
//! `CachePolicyId`), `FunctionAssociations`, `LambdaFunctionAssociations`,
//! `TrustedKeyGroups`, `TrustedSigners`, `FieldLevelEncryptionId`, `RealtimeLogConfigArn`,
//! `GrpcConfig`; an origin's `VpcOriginConfig`, `ResponseCompletionTimeout`, and
//! `CustomOriginConfig.IpAddressType`/`OriginMtlsConfig`; an origin group's
//! `SelectionCriteria`; and `AnycastIpListId`, `CNAMEs`, `CacheTagConfig`,
//! `ConnectionFunctionAssociation`, `ConnectionMode`, `ContinuousDeploymentPolicyId`,
//! `CustomOrigin`, `S3Origin` (legacy), `Staging`, `TenantConfig`, `ViewerMtlsConfig`.
//! An update sends the whole config, so a function association added outside cairn is
//! removed by the next update. What CloudFront would refuse is refused at preview: an
//! origin with both or neither of `S3OriginConfig` and `CustomOriginConfig`, and a behavior
//! that targets an origin group (failover is for reads) while allowing methods beyond
//! `GET`, `HEAD` and `OPTIONS`.
//!
//! - `Ref`: the distribution id.
//! - `Fn::GetAtt`: `DomainName` (`d111111abcdef8.cloudfront.net`), `Id`.
//!
//! CloudFront's API takes every member of the config on create and update (lists as
//! `Quantity` + `Items`), so cairn fills what the template leaves out with the defaults
//! AWS documents for CloudFormation (`Comment` "", `PriceClass` `PriceClass_All`,
//! `HttpVersion` `http1.1`, `IPV6Enabled` false, `ViewerCertificate` the CloudFront
//! certificate with `MinimumProtocolVersion` `TLSv1`, `Restrictions` none, allowed and
//! cached methods `GET`, `HEAD`, ports 80 and 443, `OriginSSLProtocols` `TLSv1`, `SSLv3`,
//! timeouts 30 and 5 s, 3 connection attempts of 10 s, `ErrorCachingMinTTL` 300, ...).
//! `read` shows a live value the template leaves out only where it differs from what
//! cairn fills ([`prune`]), so `preview` after `up` is empty; lists that are sets in AWS
//! (methods, aliases, SSL protocols, locations, status codes) read in the template's order.
//! With the CloudFront certificate, `SslSupportMethod` is not read (CloudFront ignores it).
//!
//! Waits and deletion: a change to a distribution is `InProgress` for minutes while
//! CloudFront deploys it to its edge locations. `create` is `CreateDistributionWithTags`
//! (the tags with it: ownership from the first instant), then a wait until `GetDistribution`
//! says `Deployed` (progress every 30 s, at most 30 min). An update reads the config and its
//! `ETag` (`GetDistributionConfig`), sends `UpdateDistribution` with `If-Match` only when the
//! config differs from the template's, waits until `Deployed`, then changes the tags
//! (`TagResource`/`UntagResource`). CloudFront deletes only a disabled, deployed
//! distribution: `delete` first updates it to `Enabled: false` (unless it is disabled
//! already), waits until that is deployed (the progress line says why it waits), then
//! calls `DeleteDistribution` with the last `ETag`.
//!
//! The `CallerReference` of the create is an idempotency token derived from the journaled
//! name seed (`Cx::token`): a create sent again after its answer was lost is refused with
//! `DistributionAlreadyExists`, and cairn then adopts the distribution the first attempt
//! made. `find` (after a crash mid-create, and for that refusal) lists the distributions
//! (`ListDistributions`, every page) whose origins include the template's first origin's
//! domain, keeps those that carry this resource's ownership tags (`ListTagsForResource`),
//! and adopts the one whose `CallerReference` is this create's (`GetDistributionConfig`):
//! never a distribution made for another stack, resource or replacement.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudfront::types as cft;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{built, etag};
use crate::kit::wait::{until_paced, Pace};
use crate::kit::{ids, paging, props, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::CloudFront::Distribution";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::CLOUDFRONT_DISTRIBUTION, None, &[])),
    not_found: &["NoSuchDistribution"],
    // A deployment to every edge location takes minutes, sometimes many.
    timeout: Duration::from_secs(30 * 60),
    reference: "the distribution id",
};

/// Polls of a deployment: from half a second, backing off to every 20 s.
const PACE: Pace = Pace { first: Duration::from_millis(500), max_delay: Duration::from_secs(20) };

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    distribution_config: Config,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Config {
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    cache_behaviors: Vec<Behavior>,
    comment: Option<String>,
    #[serde(default)]
    custom_error_responses: Vec<ErrorResponse>,
    default_cache_behavior: Behavior,
    default_root_object: Option<String>,
    enabled: bool,
    http_version: Option<String>,
    #[serde(rename = "IPV6Enabled")]
    ipv6_enabled: Option<bool>,
    logging: Option<Logging>,
    origin_groups: Option<OriginGroups>,
    #[serde(default)]
    origins: Vec<Origin>,
    price_class: Option<String>,
    restrictions: Option<Restrictions>,
    viewer_certificate: Option<ViewerCertificate>,
    #[serde(rename = "WebACLId")]
    web_acl_id: Option<String>,
}

/// `DefaultCacheBehavior` (no `PathPattern`) and `CacheBehaviors[*]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Behavior {
    path_pattern: Option<String>,
    target_origin_id: String,
    viewer_protocol_policy: String,
    allowed_methods: Option<Vec<String>>,
    cached_methods: Option<Vec<String>>,
    cache_policy_id: Option<String>,
    origin_request_policy_id: Option<String>,
    response_headers_policy_id: Option<String>,
    compress: Option<bool>,
    smooth_streaming: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Origin {
    id: String,
    domain_name: String,
    origin_path: Option<String>,
    #[serde(rename = "S3OriginConfig")]
    s3_origin_config: Option<S3OriginConfig>,
    origin_access_control_id: Option<String>,
    custom_origin_config: Option<CustomOriginConfig>,
    #[serde(default)]
    origin_custom_headers: Vec<Header>,
    connection_attempts: Option<i32>,
    connection_timeout: Option<i32>,
    origin_shield: Option<OriginShield>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct S3OriginConfig {
    origin_access_identity: Option<String>,
    origin_read_timeout: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CustomOriginConfig {
    #[serde(rename = "HTTPPort")]
    http_port: Option<i32>,
    #[serde(rename = "HTTPSPort")]
    https_port: Option<i32>,
    origin_protocol_policy: String,
    #[serde(rename = "OriginSSLProtocols")]
    origin_ssl_protocols: Option<Vec<String>>,
    origin_read_timeout: Option<i32>,
    origin_keepalive_timeout: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Header {
    header_name: String,
    header_value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OriginShield {
    enabled: Option<bool>,
    origin_shield_region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OriginGroups {
    quantity: i32,
    #[serde(default)]
    items: Vec<OriginGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OriginGroup {
    id: String,
    failover_criteria: FailoverCriteria,
    members: Members,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct FailoverCriteria {
    status_codes: StatusCodes,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct StatusCodes {
    quantity: i32,
    items: Vec<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Members {
    quantity: i32,
    items: Vec<Member>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Member {
    origin_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ErrorResponse {
    error_code: i32,
    response_code: Option<i32>,
    response_page_path: Option<String>,
    #[serde(rename = "ErrorCachingMinTTL")]
    error_caching_min_ttl: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Logging {
    bucket: Option<String>,
    include_cookies: Option<bool>,
    prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Restrictions {
    geo_restriction: GeoRestriction,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct GeoRestriction {
    restriction_type: String,
    #[serde(default)]
    locations: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ViewerCertificate {
    acm_certificate_arn: Option<String>,
    cloud_front_default_certificate: Option<bool>,
    iam_certificate_id: Option<String>,
    minimum_protocol_version: Option<String>,
    ssl_support_method: Option<String>,
}

/// The `AWS::CloudFront::Distribution` resource type.
pub struct Distribution;

impl Distribution {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Distribution> {
        Typed::new(Distribution, aws)
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> PropsError {
    PropsError { path: path.into(), message: message.into() }
}

fn methods(items: &[String]) -> Vec<cft::Method> {
    items.iter().map(|m| cft::Method::from(m.as_str())).collect()
}

const GET_HEAD: [&str; 2] = ["GET", "HEAD"];

fn get_head() -> Vec<String> {
    GET_HEAD.iter().map(|s| s.to_string()).collect()
}

fn allowed_methods(b: &Behavior) -> Result<cft::AllowedMethods, ProviderError> {
    let allowed = b.allowed_methods.clone().unwrap_or_else(get_head);
    let cached = b.cached_methods.clone().unwrap_or_else(get_head);
    built(
        cft::AllowedMethods::builder()
            .quantity(allowed.len() as i32)
            .set_items(Some(methods(&allowed)))
            .cached_methods(built(
                cft::CachedMethods::builder().quantity(cached.len() as i32).set_items(Some(methods(&cached))).build(),
            )?)
            .build(),
    )
}

/// The lists a behavior leaves empty here (signers, key groups, function associations).
struct Empty {
    signers: cft::TrustedSigners,
    key_groups: cft::TrustedKeyGroups,
    lambdas: cft::LambdaFunctionAssociations,
    functions: cft::FunctionAssociations,
}

fn empty() -> Result<Empty, ProviderError> {
    Ok(Empty {
        signers: built(cft::TrustedSigners::builder().enabled(false).quantity(0).build())?,
        key_groups: built(cft::TrustedKeyGroups::builder().enabled(false).quantity(0).build())?,
        lambdas: built(cft::LambdaFunctionAssociations::builder().quantity(0).build())?,
        functions: built(cft::FunctionAssociations::builder().quantity(0).build())?,
    })
}

/// A behavior as CloudFront takes it, every member filled (the default one and the others
/// are distinct SDK types with the same setters).
macro_rules! behavior {
    ($builder:expr, $b:expr) => {{
        let b: &Behavior = $b;
        let e = empty()?;
        built(
            $builder
                .target_origin_id(&b.target_origin_id)
                .viewer_protocol_policy(cft::ViewerProtocolPolicy::from(b.viewer_protocol_policy.as_str()))
                .allowed_methods(allowed_methods(b)?)
                .set_cache_policy_id(b.cache_policy_id.clone())
                .set_origin_request_policy_id(b.origin_request_policy_id.clone())
                .set_response_headers_policy_id(b.response_headers_policy_id.clone())
                .compress(b.compress.unwrap_or(false))
                .smooth_streaming(b.smooth_streaming.unwrap_or(false))
                .field_level_encryption_id("")
                .trusted_signers(e.signers)
                .trusted_key_groups(e.key_groups)
                .lambda_function_associations(e.lambdas)
                .function_associations(e.functions)
                .build(),
        )
    }};
}

fn cache_behavior(b: &Behavior) -> Result<cft::CacheBehavior, ProviderError> {
    behavior!(cft::CacheBehavior::builder().path_pattern(b.path_pattern.clone().unwrap_or_default()), b)
}

fn default_cache_behavior(b: &Behavior) -> Result<cft::DefaultCacheBehavior, ProviderError> {
    behavior!(cft::DefaultCacheBehavior::builder(), b)
}

fn origin(o: &Origin) -> Result<cft::Origin, ProviderError> {
    let headers: Vec<cft::OriginCustomHeader> = o
        .origin_custom_headers
        .iter()
        .map(|h| {
            built(cft::OriginCustomHeader::builder().header_name(&h.header_name).header_value(&h.header_value).build())
        })
        .collect::<Result<_, _>>()?;
    let custom = match &o.custom_origin_config {
        None => None,
        Some(c) => {
            let protocols = c.origin_ssl_protocols.clone().unwrap_or_else(|| vec!["TLSv1".into(), "SSLv3".into()]);
            Some(built(
                cft::CustomOriginConfig::builder()
                    .http_port(c.http_port.unwrap_or(80))
                    .https_port(c.https_port.unwrap_or(443))
                    .origin_protocol_policy(cft::OriginProtocolPolicy::from(c.origin_protocol_policy.as_str()))
                    .origin_ssl_protocols(built(
                        cft::OriginSslProtocols::builder()
                            .quantity(protocols.len() as i32)
                            .set_items(Some(protocols.iter().map(|p| cft::SslProtocol::from(p.as_str())).collect()))
                            .build(),
                    )?)
                    .origin_read_timeout(c.origin_read_timeout.unwrap_or(30))
                    .origin_keepalive_timeout(c.origin_keepalive_timeout.unwrap_or(5))
                    .build(),
            )?)
        }
    };
    let s3 = o.s3_origin_config.as_ref().map(|s| {
        cft::S3OriginConfig::builder()
            .origin_access_identity(s.origin_access_identity.clone().unwrap_or_default())
            .set_origin_read_timeout(s.origin_read_timeout)
            .build()
    });
    let shield = o.origin_shield.as_ref();
    built(
        cft::Origin::builder()
            .id(&o.id)
            .domain_name(&o.domain_name)
            .origin_path(o.origin_path.clone().unwrap_or_default())
            .custom_headers(built(
                cft::CustomHeaders::builder()
                    .quantity(headers.len() as i32)
                    .set_items((!headers.is_empty()).then_some(headers))
                    .build(),
            )?)
            .set_s3_origin_config(s3)
            .set_custom_origin_config(custom)
            .set_origin_access_control_id(o.origin_access_control_id.clone())
            .connection_attempts(o.connection_attempts.unwrap_or(3))
            .connection_timeout(o.connection_timeout.unwrap_or(10))
            .origin_shield(built(
                cft::OriginShield::builder()
                    .enabled(shield.and_then(|s| s.enabled).unwrap_or(false))
                    .set_origin_shield_region(shield.and_then(|s| s.origin_shield_region.clone()))
                    .build(),
            )?)
            .build(),
    )
}

fn origin_group(g: &OriginGroup) -> Result<cft::OriginGroup, ProviderError> {
    let codes = &g.failover_criteria.status_codes.items;
    let members: Vec<cft::OriginGroupMember> = g
        .members
        .items
        .iter()
        .map(|m| built(cft::OriginGroupMember::builder().origin_id(&m.origin_id).build()))
        .collect::<Result<_, _>>()?;
    built(
        cft::OriginGroup::builder()
            .id(&g.id)
            .failover_criteria(
                cft::OriginGroupFailoverCriteria::builder()
                    .status_codes(built(
                        cft::StatusCodes::builder().quantity(codes.len() as i32).set_items(Some(codes.clone())).build(),
                    )?)
                    .build(),
            )
            .members(built(
                cft::OriginGroupMembers::builder().quantity(members.len() as i32).set_items(Some(members)).build(),
            )?)
            .build(),
    )
}

fn viewer_certificate(v: Option<&ViewerCertificate>) -> cft::ViewerCertificate {
    let own = v.is_some_and(|v| v.acm_certificate_arn.is_some() || v.iam_certificate_id.is_some());
    let minimum = v.and_then(|v| v.minimum_protocol_version.clone()).unwrap_or_else(|| "TLSv1".into());
    let b =
        cft::ViewerCertificate::builder().minimum_protocol_version(cft::MinimumProtocolVersion::from(minimum.as_str()));
    match (own, v) {
        (true, Some(v)) => b
            .cloud_front_default_certificate(false)
            .set_acm_certificate_arn(v.acm_certificate_arn.clone())
            .set_iam_certificate_id(v.iam_certificate_id.clone())
            .ssl_support_method(cft::SslSupportMethod::from(v.ssl_support_method.as_deref().unwrap_or("sni-only")))
            .build(),
        _ => b.cloud_front_default_certificate(true).build(),
    }
}

/// The config CloudFront takes: the template's, every member AWS needs filled with the
/// default AWS documents for CloudFormation.
fn sdk_config(c: &Config, caller_reference: &str) -> Result<cft::DistributionConfig, ProviderError> {
    let origins: Vec<cft::Origin> = c.origins.iter().map(origin).collect::<Result<_, _>>()?;
    let behaviors: Vec<cft::CacheBehavior> = c.cache_behaviors.iter().map(cache_behavior).collect::<Result<_, _>>()?;
    let groups: Vec<cft::OriginGroup> =
        c.origin_groups.iter().flat_map(|g| &g.items).map(origin_group).collect::<Result<_, _>>()?;
    let errors: Vec<cft::CustomErrorResponse> = c
        .custom_error_responses
        .iter()
        .map(|e| {
            built(
                cft::CustomErrorResponse::builder()
                    .error_code(e.error_code)
                    .set_response_code(e.response_code.map(|c| c.to_string()))
                    .set_response_page_path(e.response_page_path.clone())
                    .error_caching_min_ttl(e.error_caching_min_ttl.unwrap_or(300))
                    .build(),
            )
        })
        .collect::<Result<_, _>>()?;
    let geo = c.restrictions.as_ref().map(|r| &r.geo_restriction);
    let locations = geo.map(|g| g.locations.clone()).unwrap_or_default();
    let logging = c.logging.as_ref();
    let list_of = |n: usize| n as i32;
    built(
        cft::DistributionConfig::builder()
            .caller_reference(caller_reference)
            .aliases(built(
                cft::Aliases::builder()
                    .quantity(list_of(c.aliases.len()))
                    .set_items((!c.aliases.is_empty()).then(|| c.aliases.clone()))
                    .build(),
            )?)
            .default_root_object(c.default_root_object.clone().unwrap_or_default())
            .origins(built(cft::Origins::builder().quantity(list_of(origins.len())).set_items(Some(origins)).build())?)
            .origin_groups(built(
                cft::OriginGroups::builder()
                    .quantity(list_of(groups.len()))
                    .set_items((!groups.is_empty()).then_some(groups))
                    .build(),
            )?)
            .default_cache_behavior(default_cache_behavior(&c.default_cache_behavior)?)
            .cache_behaviors(built(
                cft::CacheBehaviors::builder()
                    .quantity(list_of(behaviors.len()))
                    .set_items((!behaviors.is_empty()).then_some(behaviors))
                    .build(),
            )?)
            .custom_error_responses(built(
                cft::CustomErrorResponses::builder()
                    .quantity(list_of(errors.len()))
                    .set_items((!errors.is_empty()).then_some(errors))
                    .build(),
            )?)
            .comment(c.comment.clone().unwrap_or_default())
            .logging(
                cft::LoggingConfig::builder()
                    .enabled(logging.is_some())
                    .include_cookies(logging.and_then(|l| l.include_cookies).unwrap_or(false))
                    .bucket(logging.and_then(|l| l.bucket.clone()).unwrap_or_default())
                    .prefix(logging.and_then(|l| l.prefix.clone()).unwrap_or_default())
                    .build(),
            )
            .price_class(cft::PriceClass::from(c.price_class.as_deref().unwrap_or("PriceClass_All")))
            .enabled(c.enabled)
            .viewer_certificate(viewer_certificate(c.viewer_certificate.as_ref()))
            .restrictions(
                cft::Restrictions::builder()
                    .geo_restriction(built(
                        cft::GeoRestriction::builder()
                            .restriction_type(cft::GeoRestrictionType::from(
                                geo.map_or("none", |g| g.restriction_type.as_str()),
                            ))
                            .quantity(list_of(locations.len()))
                            .set_items((!locations.is_empty()).then_some(locations))
                            .build(),
                    )?)
                    .build(),
            )
            .web_acl_id(c.web_acl_id.clone().unwrap_or_default())
            .http_version(cft::HttpVersion::from(c.http_version.as_deref().unwrap_or("http1.1")))
            .is_ipv6_enabled(c.ipv6_enabled.unwrap_or(false))
            .build(),
    )
}

fn nonempty(out: &mut Map<String, Json>, key: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        out.insert(key.into(), json!(v));
    }
}

fn behavior_json(
    path_pattern: Option<&str>,
    target: &str,
    viewer: &cft::ViewerProtocolPolicy,
    allowed: Option<&cft::AllowedMethods>,
    ids: [Option<&str>; 3],
    compress: Option<bool>,
    smooth: Option<bool>,
) -> Json {
    let mut out = Map::new();
    if let Some(p) = path_pattern {
        out.insert("PathPattern".into(), json!(p));
    }
    out.insert("TargetOriginId".into(), json!(target));
    out.insert("ViewerProtocolPolicy".into(), json!(viewer.as_str()));
    let names = |m: &[cft::Method]| m.iter().map(|m| m.as_str().to_string()).collect::<Vec<_>>();
    out.insert("AllowedMethods".into(), json!(allowed.map(|a| names(a.items())).unwrap_or_else(get_head)));
    out.insert(
        "CachedMethods".into(),
        json!(allowed.and_then(|a| a.cached_methods()).map(|c| names(c.items())).unwrap_or_else(get_head)),
    );
    for (key, v) in ["CachePolicyId", "OriginRequestPolicyId", "ResponseHeadersPolicyId"].into_iter().zip(ids) {
        nonempty(&mut out, key, v);
    }
    out.insert("Compress".into(), json!(compress.unwrap_or(false)));
    out.insert("SmoothStreaming".into(), json!(smooth.unwrap_or(false)));
    Json::Object(out)
}

fn origin_json(o: &cft::Origin) -> Json {
    let mut out = Map::new();
    out.insert("Id".into(), json!(o.id()));
    out.insert("DomainName".into(), json!(o.domain_name()));
    out.insert("OriginPath".into(), json!(o.origin_path().unwrap_or_default()));
    if let Some(s) = o.s3_origin_config() {
        let mut s3 = Map::new();
        s3.insert("OriginAccessIdentity".into(), json!(s.origin_access_identity()));
        if let Some(t) = s.origin_read_timeout() {
            s3.insert("OriginReadTimeout".into(), json!(t));
        }
        out.insert("S3OriginConfig".into(), Json::Object(s3));
    }
    nonempty(&mut out, "OriginAccessControlId", o.origin_access_control_id());
    if let Some(c) = o.custom_origin_config() {
        let protocols: Vec<&str> =
            c.origin_ssl_protocols().map(|p| p.items().iter().map(|i| i.as_str()).collect()).unwrap_or_default();
        out.insert(
            "CustomOriginConfig".into(),
            json!({"HTTPPort": c.http_port(), "HTTPSPort": c.https_port(),
                "OriginProtocolPolicy": c.origin_protocol_policy().as_str(), "OriginSSLProtocols": protocols,
                "OriginReadTimeout": c.origin_read_timeout().unwrap_or(30),
                "OriginKeepaliveTimeout": c.origin_keepalive_timeout().unwrap_or(5)}),
        );
    }
    let headers: Vec<Json> = o
        .custom_headers()
        .map(|h| {
            h.items().iter().map(|h| json!({"HeaderName": h.header_name(), "HeaderValue": h.header_value()})).collect()
        })
        .unwrap_or_default();
    out.insert("OriginCustomHeaders".into(), json!(headers));
    out.insert("ConnectionAttempts".into(), json!(o.connection_attempts().unwrap_or(3)));
    out.insert("ConnectionTimeout".into(), json!(o.connection_timeout().unwrap_or(10)));
    let mut shield = Map::new();
    shield.insert("Enabled".into(), json!(o.origin_shield().is_some_and(|s| s.enabled())));
    nonempty(&mut shield, "OriginShieldRegion", o.origin_shield().and_then(|s| s.origin_shield_region()));
    out.insert("OriginShield".into(), Json::Object(shield));
    Json::Object(out)
}

/// A config in CloudFormation's shape, every supported member shown (what [`prune`] trims).
fn config_json(c: &cft::DistributionConfig) -> Json {
    let mut out = Map::new();
    out.insert("Aliases".into(), json!(c.aliases().map(|a| a.items().to_vec()).unwrap_or_default()));
    let behaviors: Vec<Json> = c
        .cache_behaviors()
        .map(|b| {
            b.items()
                .iter()
                .map(|b| {
                    behavior_json(
                        Some(b.path_pattern()),
                        b.target_origin_id(),
                        b.viewer_protocol_policy(),
                        b.allowed_methods(),
                        [b.cache_policy_id(), b.origin_request_policy_id(), b.response_headers_policy_id()],
                        b.compress(),
                        b.smooth_streaming(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.insert("CacheBehaviors".into(), json!(behaviors));
    out.insert("Comment".into(), json!(c.comment()));
    let errors: Vec<Json> = c
        .custom_error_responses()
        .map(|e| {
            e.items()
                .iter()
                .map(|e| {
                    let mut r = Map::new();
                    r.insert("ErrorCode".into(), json!(e.error_code()));
                    if let Some(code) = e.response_code().filter(|c| !c.is_empty()) {
                        r.insert("ResponseCode".into(), code.parse::<i64>().map_or_else(|_| json!(code), |n| json!(n)));
                    }
                    nonempty(&mut r, "ResponsePagePath", e.response_page_path());
                    r.insert("ErrorCachingMinTTL".into(), json!(e.error_caching_min_ttl().unwrap_or(300)));
                    Json::Object(r)
                })
                .collect()
        })
        .unwrap_or_default();
    out.insert("CustomErrorResponses".into(), json!(errors));
    if let Some(b) = c.default_cache_behavior() {
        out.insert(
            "DefaultCacheBehavior".into(),
            behavior_json(
                None,
                b.target_origin_id(),
                b.viewer_protocol_policy(),
                b.allowed_methods(),
                [b.cache_policy_id(), b.origin_request_policy_id(), b.response_headers_policy_id()],
                b.compress(),
                b.smooth_streaming(),
            ),
        );
    }
    out.insert("DefaultRootObject".into(), json!(c.default_root_object().unwrap_or_default()));
    out.insert("Enabled".into(), json!(c.enabled()));
    out.insert("HttpVersion".into(), json!(c.http_version().map_or("http1.1", |v| v.as_str())));
    out.insert("IPV6Enabled".into(), json!(c.is_ipv6_enabled().unwrap_or(false)));
    if let Some(l) = c.logging().filter(|l| l.enabled()) {
        let mut logging = Map::new();
        nonempty(&mut logging, "Bucket", Some(l.bucket()));
        logging.insert("IncludeCookies".into(), json!(l.include_cookies()));
        logging.insert("Prefix".into(), json!(l.prefix()));
        out.insert("Logging".into(), Json::Object(logging));
    }
    let groups: Vec<Json> = c
        .origin_groups()
        .map(|g| {
            g.items()
                .iter()
                .map(|g| {
                    let codes = g
                        .failover_criteria()
                        .and_then(|f| f.status_codes())
                        .map(|s| s.items().to_vec())
                        .unwrap_or_default();
                    let members: Vec<Json> = g
                        .members()
                        .map(|m| m.items().iter().map(|m| json!({"OriginId": m.origin_id()})).collect())
                        .unwrap_or_default();
                    json!({"Id": g.id(),
                        "FailoverCriteria": {"StatusCodes": {"Quantity": codes.len(), "Items": codes}},
                        "Members": {"Quantity": members.len(), "Items": members}})
                })
                .collect()
        })
        .unwrap_or_default();
    out.insert("OriginGroups".into(), json!({"Quantity": groups.len(), "Items": groups}));
    let origins: Vec<Json> = c.origins().map(|o| o.items().iter().map(origin_json).collect()).unwrap_or_default();
    out.insert("Origins".into(), json!(origins));
    out.insert("PriceClass".into(), json!(c.price_class().map_or("PriceClass_All", |p| p.as_str())));
    let geo = c.restrictions().and_then(|r| r.geo_restriction());
    out.insert(
        "Restrictions".into(),
        json!({"GeoRestriction": {
            "RestrictionType": geo.map_or("none", |g| g.restriction_type().as_str()),
            "Locations": geo.map(|g| g.items().to_vec()).unwrap_or_default()}}),
    );
    if let Some(v) = c.viewer_certificate() {
        let mut cert = Map::new();
        let default = v.cloud_front_default_certificate().unwrap_or(false);
        cert.insert("CloudFrontDefaultCertificate".into(), json!(default));
        nonempty(&mut cert, "AcmCertificateArn", v.acm_certificate_arn());
        nonempty(&mut cert, "IamCertificateId", v.iam_certificate_id());
        if !default {
            nonempty(&mut cert, "SslSupportMethod", v.ssl_support_method().map(|s| s.as_str()));
        }
        nonempty(&mut cert, "MinimumProtocolVersion", v.minimum_protocol_version().map(|m| m.as_str()));
        out.insert("ViewerCertificate".into(), Json::Object(cert));
    }
    out.insert("WebACLId".into(), json!(c.web_acl_id().unwrap_or_default()));
    Json::Object(out)
}

/// The key that identifies an element of a list of objects (an origin by `Id`, a cache
/// behavior by `PathPattern`, an error response by `ErrorCode`, a member by `OriginId`).
fn identity(v: &Json) -> Option<&Json> {
    ["Id", "PathPattern", "ErrorCode", "OriginId"].iter().find_map(|k| v.get(*k))
}

fn counterpart<'a>(list: Option<&'a Json>, item: &Json, index: usize) -> Option<&'a Json> {
    let items = list?.as_array()?;
    match identity(item) {
        Some(id) => items.iter().find(|d| identity(d) == Some(id)),
        None => items.get(index),
    }
}

/// The live config as `read` shows it: what the template (`desired`) leaves out is dropped
/// where it equals what cairn fills (`filled`, the template's config with the defaults),
/// recursively; a list of strings or numbers with the template's elements in another order
/// reads in the template's order (CloudFront keeps methods, aliases and the like as sets).
fn prune(live: Json, desired: Option<&Json>, filled: Option<&Json>) -> Json {
    match live {
        Json::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let d = desired.and_then(|d| d.get(&k));
                let f = filled.and_then(|f| f.get(&k));
                match d {
                    None if f == Some(&v) => {}
                    None => {
                        out.insert(k, v);
                    }
                    Some(_) => {
                        out.insert(k, prune(v, d, f));
                    }
                }
            }
            Json::Object(out)
        }
        Json::Array(items) if items.iter().all(Json::is_object) => Json::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let d = counterpart(desired, &item, i);
                    let f = counterpart(filled, &item, i);
                    prune(item, d, f)
                })
                .collect(),
        ),
        Json::Array(items) => match desired.and_then(Json::as_array) {
            Some(d) if same_elements(&items, d) => Json::Array(d.clone()),
            _ => Json::Array(items),
        },
        other => other,
    }
}

fn same_elements(a: &[Json], b: &[Json]) -> bool {
    let key = |v: &[Json]| {
        let mut s: Vec<String> = v.iter().map(Json::to_string).collect();
        s.sort();
        s
    };
    a.len() == b.len() && key(a) == key(b)
}

fn data(id: &str, domain: &str) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([
            ("Id".to_string(), Value::from(id)),
            ("DomainName".to_string(), Value::from(domain)),
        ]),
    }
}

fn missing(what: &str, operation: &str) -> ProviderError {
    ProviderError::with_code("InvalidResponse", format!("CloudFront {operation} answered without the {what}"))
}

/// The distribution and its `ETag`, once `Deployed`.
async fn wait_deployed(
    cx: &Cx<'_>,
    cf: &aws_sdk_cloudfront::Client,
    id: &str,
    what: &str,
) -> Result<(cft::Distribution, String), ProviderError> {
    until_paced(cx.ctx, what, SPEC.timeout, PACE, || async {
        let out = cf.get_distribution().id(id).send().await.map_err(sdk_error)?;
        let tag = etag(out.e_tag(), "GetDistribution", id)?;
        let d = out.distribution.ok_or_else(|| missing("distribution", "GetDistribution"))?;
        Ok((d.status == "Deployed").then_some((d, tag)))
    })
    .await
}

async fn live_tags(cf: &aws_sdk_cloudfront::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = cf.list_tags_for_resource().resource(arn).send().await.map_err(sdk_error)?;
    Ok(out
        .tags
        .and_then(|t| t.items)
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect())
}

fn sdk_tags(tags: BTreeMap<String, String>) -> Result<cft::Tags, ProviderError> {
    let items: Vec<cft::Tag> =
        tags.into_iter().map(|(k, v)| built(cft::Tag::builder().key(k).value(v).build())).collect::<Result<_, _>>()?;
    Ok(cft::Tags::builder().set_items(Some(items)).build())
}

/// The CallerReference of this resource's create (see the module doc).
fn caller_reference(cx: &Cx<'_>) -> String {
    cx.token("CreateDistribution", 64)
}

#[async_trait]
impl AwsType for Distribution {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let c = &p.distribution_config;
        if c.origins.is_empty() {
            return Err(invalid("DistributionConfig.Origins", "a distribution needs at least one origin"));
        }
        for (i, o) in c.origins.iter().enumerate() {
            if o.s3_origin_config.is_some() == o.custom_origin_config.is_some() {
                return Err(invalid(
                    format!("DistributionConfig.Origins[{i}]"),
                    "give an origin either `S3OriginConfig` (a bucket) or `CustomOriginConfig` (any other origin)",
                ));
            }
        }
        if c.default_cache_behavior.path_pattern.is_some() {
            return Err(invalid(
                "DistributionConfig.DefaultCacheBehavior.PathPattern",
                "the default cache behavior takes every path; give `PathPattern` in `CacheBehaviors` only",
            ));
        }
        let behaviors = std::iter::once((
            "DistributionConfig.DefaultCacheBehavior".to_string(),
            &c.default_cache_behavior,
        ))
        .chain(
            c.cache_behaviors.iter().enumerate().map(|(i, b)| (format!("DistributionConfig.CacheBehaviors[{i}]"), b)),
        );
        let groups: Vec<&str> =
            c.origin_groups.iter().flat_map(|g| g.items.iter().map(|group| group.id.as_str())).collect();
        for (path, b) in behaviors {
            // CloudFront refuses it ("AllowedMethods cannot include POST, PUT, PATCH, or
            // DELETE for a cached behavior associated with an origin group"): failover is
            // for reads.
            let writes: Vec<&str> = b
                .allowed_methods
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|m| !["GET", "HEAD", "OPTIONS"].contains(m))
                .collect();
            if groups.contains(&b.target_origin_id.as_str()) && !writes.is_empty() {
                return Err(invalid(
                    format!("{path}.AllowedMethods"),
                    format!(
                        "CloudFront allows only GET, HEAD and OPTIONS on a behavior whose target is an origin group (`{}`), not {}: target one origin for requests that write, or leave the writes out",
                        b.target_origin_id,
                        writes.join(", ")
                    ),
                ));
            }
            if b.cache_policy_id.is_none() {
                return Err(invalid(
                    format!("{path}.CachePolicyId"),
                    "cairn takes cache policies, not the legacy cache settings: give `CachePolicyId` (the managed CachingOptimized policy is 658327ea-f89d-4fab-a63d-7e88639e58f6, CachingDisabled 4135ea2d-6df8-44a3-9df3-4b5a84be39ad)",
                ));
            }
        }
        if let Some(v) = &c.viewer_certificate {
            let own = v.acm_certificate_arn.is_some() || v.iam_certificate_id.is_some();
            if own && v.cloud_front_default_certificate == Some(true) {
                return Err(invalid(
                    "DistributionConfig.ViewerCertificate.CloudFrontDefaultCertificate",
                    "give either the CloudFront certificate or your own (`AcmCertificateArn`, `IamCertificateId`), not both",
                ));
            }
        }
        if let Some(g) = &c.origin_groups {
            if g.quantity as usize != g.items.len() {
                return Err(invalid("DistributionConfig.OriginGroups.Quantity", "must be the number of `Items`"));
            }
            for (i, group) in g.items.iter().enumerate() {
                let at = format!("DistributionConfig.OriginGroups.Items[{i}]");
                if group.members.quantity as usize != group.members.items.len() {
                    return Err(invalid(format!("{at}.Members.Quantity"), "must be the number of `Items`"));
                }
                let codes = &group.failover_criteria.status_codes;
                if codes.quantity as usize != codes.items.len() {
                    return Err(invalid(
                        format!("{at}.FailoverCriteria.StatusCodes.Quantity"),
                        "must be the number of `Items`",
                    ));
                }
            }
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let config = sdk_config(&p.distribution_config, &caller_reference(cx))?;
        let with_tags = cft::DistributionConfigWithTags::builder()
            .distribution_config(config)
            .tags(sdk_tags(cx.tags(&p.tags))?)
            .build();
        let id = match cf.create_distribution_with_tags().distribution_config_with_tags(with_tags).send().await {
            Ok(out) => {
                out.distribution.map(|d| d.id).ok_or_else(|| missing("distribution", "CreateDistributionWithTags"))?
            }
            Err(e) => {
                let e = sdk_error(e);
                // An earlier attempt made it (its answer was lost): adopt it.
                if e.code.as_deref() != Some("DistributionAlreadyExists") {
                    return Err(e);
                }
                match self.find(cx, p).await? {
                    Some(found) => found.physical_id,
                    None => return Err(e),
                }
            }
        };
        cx.created(&id, async {
            let (d, _) = wait_deployed(cx, &cf, &id, &format!("distribution {id} to be deployed")).await?;
            Ok(data(&id, &d.domain_name))
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let out = cf.get_distribution().id(physical_id).send().await.map_err(sdk_error)?;
        let Some(d) = out.distribution else { return Ok(None) };
        let Some(config) = d.distribution_config.as_ref() else {
            return Err(missing("distribution config", "GetDistribution"));
        };
        let wanted = desired.get("DistributionConfig");
        // What cairn sends for the template's config, if it reads (it does for what cairn made).
        let filled = props::parse::<Props>(&SPEC.schema, desired)
            .ok()
            .and_then(|p| sdk_config(&p.distribution_config, "").ok())
            .map(|c| config_json(&c));
        let shown = prune(config_json(config), wanted, filled.as_ref());
        let tags = live_tags(&cf, &d.arn).await?;
        Ok(Some(Live {
            data: data(&d.id, &d.domain_name),
            properties: BTreeMap::from([("DistributionConfig".to_string(), shown)]),
            tags: Some(tags),
        }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let out = cf.get_distribution_config().id(physical_id).send().await.map_err(sdk_error)?;
        let if_match = etag(out.e_tag(), "GetDistributionConfig", physical_id)?;
        let live = out.distribution_config.ok_or_else(|| missing("distribution config", "GetDistributionConfig"))?;
        let config = sdk_config(&new.distribution_config, &live.caller_reference)?;
        if config_json(&config) != config_json(&live) {
            cf.update_distribution()
                .id(physical_id)
                .if_match(if_match)
                .distribution_config(config)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let (d, _) = wait_deployed(cx, &cf, physical_id, &format!("distribution {physical_id} to be deployed")).await?;
        let live_tags = live_tags(&cf, &d.arn).await?;
        let arn = d.arn.as_str();
        let cf = &cf;
        cx.tag_update(&live_tags, &new.tags)
            .apply(
                |keys| async move {
                    let keys = cft::TagKeys::builder().set_items(Some(keys)).build();
                    cf.untag_resource().resource(arn).tag_keys(keys).send().await.map_err(sdk_error).map(|_| ())
                },
                |set| async move {
                    cf.tag_resource().resource(arn).tags(sdk_tags(set)?).send().await.map_err(sdk_error).map(|_| ())
                },
            )
            .await?;
        Ok(data(physical_id, &d.domain_name))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let out = cf.get_distribution_config().id(physical_id).send().await.map_err(sdk_error)?;
        let if_match = etag(out.e_tag(), "GetDistributionConfig", physical_id)?;
        let config = out.distribution_config.ok_or_else(|| missing("distribution config", "GetDistributionConfig"))?;
        if config.enabled {
            let mut disabled = config;
            disabled.enabled = false;
            cf.update_distribution()
                .id(physical_id)
                .if_match(if_match)
                .distribution_config(disabled)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let what = format!(
            "distribution {physical_id} to be disabled and deployed (CloudFront deletes only a disabled, deployed distribution)"
        );
        let (_, if_match) = wait_deployed(cx, &cf, physical_id, &what).await?;
        cf.delete_distribution().id(physical_id).if_match(if_match).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let cf: aws_sdk_cloudfront::Client = cx.client();
        let reference = caller_reference(cx);
        let Some(domain) = p.distribution_config.origins.first().map(|o| o.domain_name.as_str()) else {
            return Ok(None);
        };
        let all = paging::all(cf.list_distributions().into_paginator().items().send()).await?;
        for summary in all {
            let has_origin = summary.origins().is_some_and(|o| o.items().iter().any(|o| o.domain_name() == domain));
            if !has_origin || !ids::is_owned(cx.ctx, &live_tags(&cf, &summary.arn).await?) {
                continue;
            }
            let out = cx.found(cf.get_distribution_config().id(&summary.id).send().await.map_err(sdk_error))?;
            if out.and_then(|o| o.distribution_config).is_some_and(|c| c.caller_reference == reference) {
                return Ok(Some(data(&summary.id, &summary.domain_name)));
            }
        }
        Ok(None)
    }

    fn fixture(&self) -> Fixture {
        // Two custom origins (the two regions' APIs, a literal domain: no support resource),
        // a failover group between them, /api/* reads routed to it (CloudFront allows no
        // writes on a behavior that targets a group), an SPA's 404 to /index.html.
        let config = |comment: &str, price: &str, root: &str| {
            json!({"DistributionConfig": {
                "Enabled": true,
                "Comment": comment,
                "PriceClass": price,
                "DefaultRootObject": root,
                "HttpVersion": "http2and3",
                "IPV6Enabled": true,
                "Origins": [
                    {"Id": "east1", "DomainName": "east1-{uid}.example.com",
                     "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]},
                     "OriginCustomHeaders": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "{uid}"}]},
                    {"Id": "east2", "DomainName": "east2-{uid}.example.com",
                     "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}}
                ],
                "OriginGroups": {"Quantity": 1, "Items": [{"Id": "api", "FailoverCriteria":
                    {"StatusCodes": {"Quantity": 3, "Items": [500, 502, 503]}},
                    "Members": {"Quantity": 2, "Items": [{"OriginId": "east1"}, {"OriginId": "east2"}]}}]},
                "DefaultCacheBehavior": {"TargetOriginId": "east1", "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6", "Compress": true},
                "CacheBehaviors": [{"PathPattern": "/api/*", "TargetOriginId": "api",
                    "ViewerProtocolPolicy": "https-only",
                    "AllowedMethods": ["GET", "HEAD", "OPTIONS"],
                    "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                    "OriginRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac"}],
                "CustomErrorResponses": [{"ErrorCode": 404, "ResponseCode": 200, "ResponsePagePath": "/index.html",
                    "ErrorCachingMinTTL": 10}],
                "Restrictions": {"GeoRestriction": {"RestrictionType": "whitelist", "Locations": ["US", "CA"]}}
            },
            "Tags": [{"Key": "Stage", "Value": comment}]})
        };
        Fixture {
            support: json!({}),
            create: config("create", "PriceClass_100", "index.html"),
            update: Some(config("update", "PriceClass_200", "home.html")),
            // No property is create-only.
            replace: None,
            nested_replace: None,
            // One call makes all of it (CreateDistributionWithTags, tags and all); what follows
            // only waits until it is deployed (a refused read there leaves a complete
            // resource, which the engine records as done), so the refused call is the create.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Distribution::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn a_filled_config_reads_back_as_the_template() {
        let fixture = Distribution.fixture();
        let desired = fixture.create;
        let p = parse(desired.clone()).unwrap();
        let sent = sdk_config(&p.distribution_config, "ref").unwrap();
        assert_eq!(sent.comment(), "create");
        assert_eq!(sent.viewer_certificate().and_then(|v| v.cloud_front_default_certificate()), Some(true));
        assert_eq!(sent.origins().unwrap().items()[1].connection_attempts(), Some(3));
        let filled = config_json(&sent);
        // What AWS answers: the same config, its sets in another order.
        let mut live = filled.clone();
        live["CacheBehaviors"][0]["AllowedMethods"] = json!(["OPTIONS", "HEAD", "GET"]);
        let shown = prune(live, desired.get("DistributionConfig"), Some(&filled));
        assert_eq!(shown, desired["DistributionConfig"]);
        // A value the template leaves out shows when it is not what cairn filled.
        let mut drifted = filled.clone();
        drifted["WebACLId"] = json!("arn:aws:wafv2:us-east-1:1:global/webacl/x");
        let shown = prune(drifted, desired.get("DistributionConfig"), Some(&filled));
        assert_eq!(shown["WebACLId"], json!("arn:aws:wafv2:us-east-1:1:global/webacl/x"));
    }

    #[test]
    fn what_cloudfront_would_refuse_is_refused_first() {
        let base = |config: Json| json!({"DistributionConfig": config});
        let behavior = json!({"TargetOriginId": "a", "ViewerProtocolPolicy": "allow-all", "CachePolicyId": "p"});
        let custom = json!({"Id": "a", "DomainName": "example.com", "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}});
        assert!(parse(base(json!({"Enabled": true, "DefaultCacheBehavior": behavior, "Origins": [custom]}))).is_ok());
        let e = parse(base(json!({"Enabled": true, "DefaultCacheBehavior": behavior}))).unwrap_err();
        assert!(e.message.starts_with("DistributionConfig.Origins: "), "{}", e.message);
        let legacy = json!({"TargetOriginId": "a", "ViewerProtocolPolicy": "allow-all"});
        let e = parse(base(json!({"Enabled": true, "DefaultCacheBehavior": legacy, "Origins": [custom]}))).unwrap_err();
        assert!(e.message.starts_with("DistributionConfig.DefaultCacheBehavior.CachePolicyId: "), "{}", e.message);
        let neither = json!({"Id": "a", "DomainName": "example.com"});
        let e =
            parse(base(json!({"Enabled": true, "DefaultCacheBehavior": behavior, "Origins": [neither]}))).unwrap_err();
        assert!(e.message.starts_with("DistributionConfig.Origins[0]: "), "{}", e.message);
        let ttl =
            json!({"TargetOriginId": "a", "ViewerProtocolPolicy": "allow-all", "CachePolicyId": "p", "MinTTL": 0});
        let e = parse(base(json!({"Enabled": true, "DefaultCacheBehavior": ttl, "Origins": [custom]}))).unwrap_err();
        assert!(e.message.contains("MinTTL"), "{}", e.message);
        // Writes through an origin group (failover is for reads).
        let group = json!({"Quantity": 1, "Items": [{"Id": "g",
            "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [503]}},
            "Members": {"Quantity": 2, "Items": [{"OriginId": "a"}, {"OriginId": "b"}]}}]});
        let b = json!({"Id": "b", "DomainName": "example.org", "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}});
        let to_group = |methods: Json| {
            base(json!({"Enabled": true, "Origins": [custom, b], "OriginGroups": group,
                "DefaultCacheBehavior": {"TargetOriginId": "g", "ViewerProtocolPolicy": "allow-all",
                    "CachePolicyId": "p", "AllowedMethods": methods}}))
        };
        assert!(parse(to_group(json!(["GET", "HEAD", "OPTIONS"]))).is_ok());
        let e = parse(to_group(json!(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]))).unwrap_err();
        assert!(e.message.starts_with("DistributionConfig.DefaultCacheBehavior.AllowedMethods: "), "{}", e.message);
        assert!(e.message.contains("origin group (`g`), not PUT, POST, PATCH, DELETE"), "{}", e.message);
    }

    #[test]
    fn the_caller_reference_follows_the_seed() {
        let ctx = crate::test_ctx(TYPE_NAME, "Site");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        assert_eq!(caller_reference(&cx), caller_reference(&cx));
        let mut other = ctx.clone();
        other.name_seed = "another".into();
        let cx2 = Cx { ctx: &other, aws: &aws, spec: &SPEC };
        assert_ne!(caller_reference(&cx), caller_reference(&cx2));
    }
}
