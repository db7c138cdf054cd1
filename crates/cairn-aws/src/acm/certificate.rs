//! `AWS::CertificateManager::Certificate`: a public certificate ACM issues once the
//! domains are validated (or a private one from `CertificateAuthorityArn`). For CloudFront,
//! declare it with `Region: us-east-1`.
//!
//! | property | notes |
//! | --- | --- |
//! | `DomainName` | string, required, create-only |
//! | `SubjectAlternativeNames` | list, create-only (ACM lists `DomainName` among them: `read` leaves it out unless the template names it) |
//! | `ValidationMethod` | `DNS` or `EMAIL` (ACM's default), write-only |
//! | `DomainValidationOptions` | `[{DomainName, HostedZoneId \| ValidationDomain}]`, create-only; `HostedZoneId` is write-only |
//! | `KeyAlgorithm` | `RSA_2048` (default), `EC_prime256v1`, ..., create-only (ACM answers `RSA-2048`: the same) |
//! | `CertificateTransparencyLoggingPreference` | `ENABLED` only: ACM no longer lets a certificate opt out of transparency logging (the SDK deprecates the option), so `DISABLED` is refused; nothing is sent |
//! | `CertificateAuthorityArn` | a private CA: issued at once, nothing to validate; create-only |
//! | `Tags` | `AddTagsToCertificate`/`RemoveTagsFromCertificate` in place |
//!
//! Left out (refused where given): `CertificateExport` (exportable public certificates).
//!
//! - `Ref`: the certificate ARN.
//! - `Fn::GetAtt`: none (the CloudFormation docs give none).
//!
//! **Validation, as CloudFormation does it.** `create` is `RequestCertificate` (an
//! `IdempotencyToken` from the journaled name seed, the ownership tags), then, for `DNS`:
//! it waits for `DescribeCertificate` to give each domain's validation CNAME (a few
//! seconds), `UPSERT`s it into the zone of every `DomainValidationOptions[*].HostedZoneId`
//! (waiting for the change to be `INSYNC`), and waits, with progress, up to 75 minutes (as
//! CloudFormation) for `ISSUED`. A domain without a zone id is validated by whoever
//! controls its DNS: the progress line names the CNAME to create. `FAILED`,
//! `VALIDATION_TIMED_OUT` and `REVOKED` end the wait with an error naming ACM's reason. With
//! `EMAIL`, cairn requests the certificate and does not wait: ACM emails the domain's
//! contacts, and the certificate is issued when one approves. The other tags (the
//! resource's own and the stack's) are put on once the certificate is issued: if the
//! create is cut short before (a failed wait, a crash), `read` shows them missing and the
//! next `up` updates the certificate, and an update of a DNS-validated certificate still
//! pending validation puts its records in place and waits again.
//!
//! **Delete** is `DeleteCertificate`, retried (up to 30 minutes, with progress) while ACM
//! answers `ResourceInUseException` (a CloudFront distribution or load balancer still uses
//! it: deleting the distribution frees it only once the distribution is gone). The
//! validation records are **not** deleted: ACM gives every certificate for a domain in an
//! account the same validation CNAME, and renewals use it, so deleting it would stop
//! another certificate of that domain (one in another stack, or the replacement of this
//! one) from renewing, and an account's certificates cannot all be listed cheaply (ACM is
//! regional). They stay until no certificate of the domain is left, to be deleted by hand,
//! or until their hosted zone is deleted: an `AWS::Route53::HostedZone` deletes ACM
//! validation records with itself (they serve only through it).
//!
//! `find` (after a crash mid-create) lists the certificates of the domain
//! (`ListCertificates`, every status) and takes the one carrying this resource's ownership
//! tags.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, DomainValidationOption, KeyAlgorithm, Tag as AcmTag, ValidationMethod,
};
use aws_sdk_route53::types::{ChangeAction, ResourceRecord as R53Record, ResourceRecordSet, RrType};
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::kit::wait::Transient;
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::route53::{build_err, same_name};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::CertificateManager::Certificate";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::ACM_CERTIFICATE, None, &[])),
    not_found: &["ResourceNotFoundException"],
    // CloudFormation waits up to 75 minutes for a DNS-validated certificate.
    timeout: Duration::from_secs(75 * 60),
    reference: "the certificate ARN",
};

/// How long a delete is retried while something still uses the certificate.
const IN_USE_LIMIT: Duration = Duration::from_secs(30 * 60);

const IN_USE: Transient = Transient {
    code: "ResourceInUseException",
    message_contains: None,
    waiting_for: "the resources using the certificate (a CloudFront distribution, a load balancer) to let it go",
};

/// The TTL of a validation record cairn puts in a zone.
const VALIDATION_TTL: i64 = 300;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    domain_name: String,
    subject_alternative_names: Option<Vec<String>>,
    validation_method: Option<String>,
    #[serde(default)]
    domain_validation_options: Vec<Dvo>,
    key_algorithm: Option<String>,
    certificate_transparency_logging_preference: Option<String>,
    certificate_authority_arn: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Dvo {
    domain_name: String,
    hosted_zone_id: Option<String>,
    validation_domain: Option<String>,
}

impl Props {
    fn dns(&self) -> bool {
        self.certificate_authority_arn.is_none() && self.validation_method.as_deref() == Some("DNS")
    }

    /// The hosted zone the user gave for `domain` (a wildcard `*.example.com` validates
    /// with the record of `example.com`, so either entry serves).
    fn zone_for(&self, domain: &str) -> Option<&str> {
        let base = |d: &str| d.strip_prefix("*.").unwrap_or(d).to_ascii_lowercase();
        self.domain_validation_options
            .iter()
            .find(|o| same_name(&o.domain_name, domain))
            .or_else(|| self.domain_validation_options.iter().find(|o| base(&o.domain_name) == base(domain)))
            .and_then(|o| o.hosted_zone_id.as_deref())
    }
}

/// The `AWS::CertificateManager::Certificate` resource type.
pub struct Certificate;

impl Certificate {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Certificate> {
        Typed::new(Certificate, aws)
    }
}

fn data(arn: &str) -> ResourceData {
    ResourceData { physical_id: arn.to_string(), attributes: BTreeMap::new() }
}

async fn describe(acm: &aws_sdk_acm::Client, arn: &str) -> Result<CertificateDetail, ProviderError> {
    let out = acm.describe_certificate().certificate_arn(arn).send().await.map_err(sdk_error)?;
    out.certificate.ok_or_else(|| {
        ProviderError::with_code("InvalidResponse", format!("ACM DescribeCertificate answered without {arn}"))
    })
}

async fn live_tags(acm: &aws_sdk_acm::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = acm.list_tags_for_certificate().certificate_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect())
}

fn acm_tags(tags: BTreeMap<String, String>) -> Result<Vec<AcmTag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            AcmTag::builder().key(k).value(v).build().map_err(|e| {
                ProviderError::with_code("InvalidRequest", format!("the ACM request could not be built: {e}"))
            })
        })
        .collect()
}

/// Make the certificate's live tags the ones it should carry.
async fn put_tags(cx: &Cx<'_>, acm: &aws_sdk_acm::Client, arn: &str, own: &[Tag]) -> Result<(), ProviderError> {
    let live = live_tags(acm, arn).await?;
    let diff = cx.tag_update(&live, own);
    let live = &live;
    diff.apply(
        // ACM removes a tag given with its value.
        |keys| async move {
            let tags = keys
                .into_iter()
                .map(|k| {
                    let v = live.get(&k).cloned().unwrap_or_default();
                    (k, v)
                })
                .collect();
            let call = acm.remove_tags_from_certificate().certificate_arn(arn);
            call.set_tags(Some(acm_tags(tags)?)).send().await.map_err(sdk_error)?;
            Ok(())
        },
        |set| async move {
            let call = acm.add_tags_to_certificate().certificate_arn(arn);
            call.set_tags(Some(acm_tags(set)?)).send().await.map_err(sdk_error)?;
            Ok(())
        },
    )
    .await
}

/// `CNAME name → value` of a validation record.
fn shown_record(name: &str, value: &str) -> String {
    format!("CNAME {name} → {value}")
}

/// A DNS-validated certificate's validation: wait for its records, put those with a zone
/// in Route 53, then wait for `ISSUED` (progress names the records no zone covers).
async fn validate(cx: &Cx<'_>, acm: &aws_sdk_acm::Client, arn: &str, p: &Props) -> Result<(), ProviderError> {
    let records = cx
        .wait_until(&format!("the DNS validation records of certificate {arn}"), || async {
            let c = describe(acm, arn).await?;
            let options = c.domain_validation_options.unwrap_or_default();
            let all = !options.is_empty() && options.iter().all(|o| o.resource_record.is_some());
            Ok(all.then(|| {
                options
                    .into_iter()
                    .filter_map(|o| o.resource_record.map(|r| (o.domain_name, r.name, r.value)))
                    .collect::<Vec<_>>()
            }))
        })
        .await?;
    let route53: aws_sdk_route53::Client = cx.client();
    let mut done = BTreeSet::new();
    let mut by_hand = BTreeSet::new();
    for (domain, name, value) in &records {
        match p.zone_for(domain) {
            Some(zone) => {
                let zone = crate::route53::bare_id(zone).to_string();
                if !done.insert((zone.clone(), name.to_ascii_lowercase())) {
                    continue;
                }
                let record = ResourceRecordSet::builder()
                    .name(name)
                    .r#type(RrType::Cname)
                    .ttl(VALIDATION_TTL)
                    .resource_records(R53Record::builder().value(value).build().map_err(build_err)?)
                    .build()
                    .map_err(build_err)?;
                let comment = Some(format!("validation of ACM certificate {arn} ({domain})"));
                crate::route53::change(cx, &route53, &zone, ChangeAction::Upsert, record, comment).await?;
            }
            None => {
                by_hand.insert(shown_record(name, value));
            }
        }
    }
    let what = match by_hand.is_empty() {
        true => format!("certificate {arn} to be issued"),
        false => format!(
            "certificate {arn} to be issued; create in the DNS of its domain: {}",
            by_hand.into_iter().collect::<Vec<_>>().join(", ")
        ),
    };
    cx.wait_until(&what, || async {
        let c = describe(acm, arn).await?;
        match c.status {
            Some(CertificateStatus::Issued) => Ok(Some(())),
            Some(CertificateStatus::PendingValidation) | None => Ok(None),
            Some(other) => {
                let reason = c.failure_reason.map(|r| r.as_str().to_string()).unwrap_or_else(|| "none given".into());
                Err(ProviderError::with_code(
                    other.as_str(),
                    format!(
                        "certificate {arn} is {} (ACM's reason: {reason}); check the domain's CAA records and validation records, then replace the certificate",
                        other.as_str()
                    ),
                )
                .in_operation("DescribeCertificate"))
            }
        }
    })
    .await
}

/// `SubjectAlternativeNames` as the user writes them: ACM lists `DomainName` among them.
fn shown_sans(c: &CertificateDetail, desired: &Json) -> Option<Json> {
    let domain = c.domain_name.clone().unwrap_or_default();
    let wanted: Vec<&str> = desired
        .get("SubjectAlternativeNames")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let mut sans = c.subject_alternative_names.clone().unwrap_or_default();
    if !wanted.iter().any(|w| *w == domain) {
        if let Some(i) = sans.iter().position(|s| *s == domain) {
            sans.remove(i);
        }
    }
    (desired.get("SubjectAlternativeNames").is_some() || !sans.is_empty()).then(|| json!(sans))
}

#[async_trait]
impl AwsType for Certificate {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if let Some(m) = p.validation_method.as_deref().filter(|m| !["DNS", "EMAIL"].contains(m)) {
            return Err(PropsError {
                path: "ValidationMethod".into(),
                message: format!("expected DNS or EMAIL, not `{m}`"),
            });
        }
        if p.certificate_transparency_logging_preference.as_deref() == Some("DISABLED") {
            return Err(PropsError {
                path: "CertificateTransparencyLoggingPreference".into(),
                message: "ACM no longer lets a certificate opt out of certificate transparency logging: remove the property (or set ENABLED)".into(),
            });
        }
        for (i, o) in p.domain_validation_options.iter().enumerate() {
            if o.hosted_zone_id.is_some() && o.validation_domain.is_some() {
                return Err(PropsError {
                    path: format!("DomainValidationOptions[{i}]"),
                    message: "give HostedZoneId (DNS validation) or ValidationDomain (EMAIL validation), not both"
                        .into(),
                });
            }
            if o.hosted_zone_id.is_some() && p.validation_method.as_deref() != Some("DNS") {
                return Err(PropsError {
                    path: format!("DomainValidationOptions[{i}].HostedZoneId"),
                    message: "a hosted zone validates by DNS: set ValidationMethod: DNS".into(),
                });
            }
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match (property, old.as_str(), new.as_str()) {
            ("KeyAlgorithm", Some(a), Some(b)) => a.replace('-', "_") == b.replace('-', "_"),
            ("DomainName", Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let acm: aws_sdk_acm::Client = cx.client();
        // Email validation can name the domain to mail (`ValidationDomain`); DNS needs none.
        let options: Vec<DomainValidationOption> = p
            .domain_validation_options
            .iter()
            .filter_map(|o| {
                let domain = o.validation_domain.as_ref()?;
                Some(
                    DomainValidationOption::builder()
                        .domain_name(&o.domain_name)
                        .validation_domain(domain)
                        .build()
                        .map_err(|e| ProviderError::with_code("InvalidRequest", e.to_string())),
                )
            })
            .collect::<Result<_, _>>()?;
        let ownership = cx.ctx.ownership_tags();
        let out = acm
            .request_certificate()
            .domain_name(&p.domain_name)
            .set_subject_alternative_names(p.subject_alternative_names.clone())
            .set_validation_method(p.validation_method.as_deref().map(ValidationMethod::from))
            .set_domain_validation_options((!options.is_empty()).then_some(options))
            .set_key_algorithm(p.key_algorithm.as_deref().map(KeyAlgorithm::from))
            .set_certificate_authority_arn(p.certificate_authority_arn.clone())
            .idempotency_token(cx.token("RequestCertificate", 32))
            .set_tags(Some(acm_tags(ownership)?))
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = out.certificate_arn.ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "ACM RequestCertificate answered without the certificate ARN")
        })?;
        cx.created(&arn, async {
            if p.dns() {
                validate(cx, &acm, &arn, p).await?;
            }
            put_tags(cx, &acm, &arn, &p.tags).await
        })
        .await?;
        Ok(data(&arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let acm: aws_sdk_acm::Client = cx.client();
        let c = describe(&acm, physical_id).await?;
        let mut props = BTreeMap::new();
        props.insert("DomainName".to_string(), json!(c.domain_name.clone().unwrap_or_default()));
        if let Some(sans) = shown_sans(&c, desired) {
            props.insert("SubjectAlternativeNames".into(), sans);
        }
        if let Some(wanted) = desired.get("DomainValidationOptions").and_then(Json::as_array) {
            // Each option the user gave, as ACM holds it (the zone id is write-only).
            let live = c.domain_validation_options.clone().unwrap_or_default();
            let shown: Vec<Json> = wanted
                .iter()
                .filter_map(|w| {
                    let domain = w.get("DomainName")?.as_str()?;
                    let l = live.iter().find(|l| same_name(&l.domain_name, domain))?;
                    let mut o = json!({"DomainName": domain});
                    if let Some(z) = w.get("HostedZoneId") {
                        o["HostedZoneId"] = z.clone();
                    }
                    if w.get("ValidationDomain").is_some() {
                        o["ValidationDomain"] = json!(l.validation_domain);
                    }
                    Some(o)
                })
                .collect();
            props.insert("DomainValidationOptions".into(), json!(shown));
        }
        if let Some(k) = &c.key_algorithm {
            if desired.get("KeyAlgorithm").is_some() || k.as_str().replace('-', "_") != "RSA_2048" {
                props.insert("KeyAlgorithm".into(), json!(k.as_str()));
            }
        }
        // Every certificate ACM issues now is logged (the only value `validate` takes).
        if desired.get("CertificateTransparencyLoggingPreference").is_some() {
            props.insert("CertificateTransparencyLoggingPreference".into(), json!("ENABLED"));
        }
        if let Some(ca) = &c.certificate_authority_arn {
            props.insert("CertificateAuthorityArn".into(), json!(ca));
        }
        let tags = live_tags(&acm, physical_id).await?;
        Ok(Some(Live { data: data(physical_id), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let acm: aws_sdk_acm::Client = cx.client();
        // A create cut short during validation: finish it.
        if new.dns() && describe(&acm, physical_id).await?.status == Some(CertificateStatus::PendingValidation) {
            validate(cx, &acm, physical_id, new).await?;
        }
        put_tags(cx, &acm, physical_id, &new.tags).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let acm: aws_sdk_acm::Client = cx.client();
        crate::kit::wait::retrying(cx.ctx, &[IN_USE], IN_USE_LIMIT, || async {
            acm.delete_certificate().certificate_arn(physical_id).send().await.map_err(sdk_error)
        })
        .await?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let acm: aws_sdk_acm::Client = cx.client();
        let statuses = [
            CertificateStatus::PendingValidation,
            CertificateStatus::Issued,
            CertificateStatus::Inactive,
            CertificateStatus::Expired,
            CertificateStatus::ValidationTimedOut,
            CertificateStatus::Revoked,
            CertificateStatus::Failed,
        ];
        let all = paging::all(
            acm.list_certificates().set_certificate_statuses(Some(statuses.to_vec())).into_paginator().items().send(),
        )
        .await?;
        let mut candidates = Vec::new();
        for c in all {
            let (Some(arn), Some(domain)) = (c.certificate_arn, c.domain_name) else { continue };
            if !domain.eq_ignore_ascii_case(&p.domain_name) {
                continue;
            }
            if let Some(tags) = cx.found(live_tags(&acm, &arn).await)? {
                candidates.push((arn, tags));
            }
        }
        Ok(ids::owned(cx.ctx, candidates)?.map(|arn| data(&arn)))
    }

    fn fixture(&self) -> Fixture {
        let zone = json!({"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "cert-{uid}.example.com"}});
        let props = |domain: &str, tags: Json| {
            json!({
                "DomainName": domain,
                "SubjectAlternativeNames": [format!("www.{domain}")],
                "ValidationMethod": "DNS",
                "DomainValidationOptions": [
                    {"DomainName": domain, "HostedZoneId": {"Ref": "Zone"}},
                    {"DomainName": format!("www.{domain}"), "HostedZoneId": {"Ref": "Zone"}}
                ],
                "Tags": tags
            })
        };
        Fixture {
            support: json!({"Zone": zone}),
            create: props("cert-{uid}.example.com", json!([{"Key": "team", "Value": "edge"}])),
            update: Some(props(
                "cert-{uid}.example.com",
                json!([{"Key": "team", "Value": "platform"}, {"Key": "tier", "Value": "web"}]),
            )),
            replace: Some(props("api.cert-{uid}.example.com", json!([{"Key": "team", "Value": "platform"}]))),
            nested_replace: None,
            partial_after: Some("DescribeCertificate"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Certificate::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn validation_options_name_a_zone_or_a_mail_domain() {
        let p = parse(json!({"DomainName": "example.com", "SubjectAlternativeNames": ["*.example.com"],
            "ValidationMethod": "DNS", "DomainValidationOptions": [{"DomainName": "example.com", "HostedZoneId": "Z1"}]}))
        .unwrap();
        assert!(p.dns());
        assert_eq!(p.zone_for("example.com"), Some("Z1"));
        assert_eq!(p.zone_for("*.example.com"), Some("Z1"));
        assert_eq!(p.zone_for("other.org"), None);
        let e = parse(json!({"DomainName": "example.com",
            "DomainValidationOptions": [{"DomainName": "example.com", "HostedZoneId": "Z1"}]}))
        .unwrap_err();
        assert!(e.message.contains("set ValidationMethod: DNS"), "{}", e.message);
        let e = parse(json!({"DomainName": "example.com", "ValidationMethod": "HTTP"})).unwrap_err();
        assert!(e.message.starts_with("ValidationMethod: "), "{}", e.message);
        let e = parse(json!({"DomainName": "example.com", "CertificateTransparencyLoggingPreference": "DISABLED"}))
            .unwrap_err();
        assert!(e.message.contains("no longer lets a certificate opt out"), "{}", e.message);
        let e = parse(json!({"DomainName": "example.com", "CertificateExport": "ENABLED"})).unwrap_err();
        assert!(e.message.contains("CertificateExport"), "{}", e.message);
    }

    #[test]
    fn acm_spellings_mean_the_same() {
        let t = Certificate;
        assert!(t.equivalent("KeyAlgorithm", &json!("RSA-2048"), &json!("RSA_2048")));
        assert!(!t.equivalent("KeyAlgorithm", &json!("EC_prime256v1"), &json!("RSA_2048")));
        let c = CertificateDetail::builder()
            .domain_name("example.com")
            .subject_alternative_names("example.com")
            .subject_alternative_names("www.example.com")
            .build();
        assert_eq!(
            shown_sans(&c, &json!({"SubjectAlternativeNames": ["www.example.com"]})),
            Some(json!(["www.example.com"]))
        );
        assert_eq!(
            shown_sans(&c, &json!({"SubjectAlternativeNames": ["example.com", "www.example.com"]})),
            Some(json!(["example.com", "www.example.com"]))
        );
        let only =
            CertificateDetail::builder().domain_name("example.com").subject_alternative_names("example.com").build();
        assert_eq!(shown_sans(&only, &json!({})), None);
    }
}
