//! `AWS::Route53::HostedZone`: a public hosted zone, or a private one associated with VPCs.
//!
//! | property | notes |
//! | --- | --- |
//! | `Name` | string, required, create-only; compared as Route 53 answers it (case and trailing dot aside: `Example.com` is `example.com.`) |
//! | `HostedZoneConfig.Comment` | string; `UpdateHostedZoneComment` in place |
//! | `HostedZoneTags` | list of `{Key, Value}`; `ChangeTagsForResource` in place (10 tags a call) |
//! | `VPCs` | list of `{VPCId, VPCRegion}` (a set): a private zone; in place, `AssociateVPCWithHostedZone` for the new ones, then `DisassociateVPCFromHostedZone` for the old ones |
//! | `DelegationSetId` | string, create-only: a reusable delegation set |
//!
//! Left out (refused where given): `QueryLoggingConfig` (DNS query logging to a CloudWatch
//! Logs group in us-east-1, which needs a resource policy on the group for Route 53) and
//! `HostedZoneFeatures` (accelerated recovery).
//!
//! - `Ref`: the hosted zone id, without `/hostedzone/` (`Z0123456789ABCDEFGHIJ`).
//! - `Fn::GetAtt`: `Id` (the same), `NameServers` (the four name servers of a public zone;
//!   empty for a private one).
//!
//! `create` is `CreateHostedZone` with a `CallerReference` derived from the journaled name
//! seed (`Cx::token`), so that a create repeated after a lost answer cannot make a second
//! zone: Route 53 answers `HostedZoneAlreadyExists`, and the zone with that caller
//! reference is adopted. Then the other VPCs, the tags (stack, own and ownership tags), and
//! a wait (`GetChange`) until the zone is `INSYNC` on every Route 53 server.
//!
//! A public zone cannot become private nor a private one public: an update that empties or
//! fills `VPCs` is refused, naming what to do (a new zone under another logical id).
//!
//! `delete` lists the zone's record sets first: Route 53 refuses to delete a zone holding
//! any but its own SOA and NS records, and cairn never deletes records it did not make. The
//! error names those records (at most 10) and says to delete them, or the resources that
//! made them, first. The one exception is ACM's DNS validation records (a CNAME from
//! `_<hash>.<domain>` to `..acm-validations.aws.`), which a certificate leaves in place when
//! it is deleted (see `acm::certificate`): they serve only through this zone, so they are
//! deleted with it (each change waited for until `INSYNC`), then the zone.
//!
//! `find` (after a crash mid-create) lists the hosted zones (`ListHostedZones`) for the one
//! whose `CallerReference` is this resource's token.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    ChangeAction, HostedZoneConfig as SdkZoneConfig, ResourceRecordSet, RrType, Tag as SdkTag, TagResourceType, Vpc,
    VpcRegion,
};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{bare_id, same_name, wait_insync};
use crate::kit::{paging, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Route53::HostedZone";

pub(crate) static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        let mut s = crate::schema::load(crate::schema::ROUTE53_HOSTED_ZONE, None, &[]);
        // CloudFormation requires `Name` (the registry schema leaves it out of `required`).
        if !s.required.iter().any(|r| r == "Name") {
            s.required.push("Name".into());
        }
        s
    }),
    not_found: &["NoSuchHostedZone"],
    // A new zone is INSYNC within a minute or two; a slow propagation is waited for.
    timeout: Duration::from_secs(15 * 60),
    reference: "the hosted zone id (without `/hostedzone/`)",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    name: String,
    hosted_zone_config: Option<ZoneConfig>,
    #[serde(default)]
    hosted_zone_tags: Vec<Tag>,
    #[serde(rename = "VPCs", default)]
    vpcs: Vec<ZoneVpc>,
    delegation_set_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ZoneConfig {
    comment: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
struct ZoneVpc {
    #[serde(rename = "VPCId")]
    vpc_id: String,
    #[serde(rename = "VPCRegion")]
    vpc_region: String,
}

impl ZoneVpc {
    fn sdk(&self) -> Vpc {
        Vpc::builder().vpc_id(&self.vpc_id).vpc_region(VpcRegion::from(self.vpc_region.as_str())).build()
    }
}

impl Props {
    fn comment(&self) -> Option<&str> {
        self.hosted_zone_config.as_ref().and_then(|c| c.comment.as_deref()).filter(|c| !c.is_empty())
    }
}

/// The `AWS::Route53::HostedZone` resource type.
pub struct HostedZone;

impl HostedZone {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<HostedZone> {
        Typed::new(HostedZone, aws)
    }
}

fn data(id: &str, name_servers: Vec<String>) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([
            ("Id".to_string(), Value::from(id)),
            ("NameServers".to_string(), Value::List(name_servers.into_iter().map(Value::from).collect())),
        ]),
    }
}

/// The zone's name servers (`GetHostedZone`): none for a private zone.
async fn zone_data(route53: &aws_sdk_route53::Client, id: &str) -> Result<ResourceData, ProviderError> {
    let out = route53.get_hosted_zone().id(id).send().await.map_err(sdk_error)?;
    Ok(data(id, out.delegation_set.map(|d| d.name_servers).unwrap_or_default()))
}

/// The zone whose `CallerReference` is `reference`, if any.
async fn by_caller_reference(
    route53: &aws_sdk_route53::Client,
    reference: &str,
) -> Result<Option<String>, ProviderError> {
    let zones = paging::all(route53.list_hosted_zones().into_paginator().items().send()).await?;
    Ok(zones.into_iter().find(|z| z.caller_reference == reference).map(|z| bare_id(&z.id).to_string()))
}

async fn live_tags(route53: &aws_sdk_route53::Client, id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = route53
        .list_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(id)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out
        .resource_tag_set
        .map(|s| s.tags.unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect())
}

/// Make the zone's live tags the wanted ones: `ChangeTagsForResource`, at most 10 keys to
/// remove and 10 tags to add a call (Route 53's limits).
async fn put_tags(
    cx: &Cx<'_>,
    route53: &aws_sdk_route53::Client,
    id: &str,
    live: &BTreeMap<String, String>,
    own: &[Tag],
) -> Result<(), ProviderError> {
    let diff = cx.tag_update(live, own);
    let set: Vec<(String, String)> = diff.set.into_iter().collect();
    for keys in diff.remove.chunks(10) {
        route53
            .change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(id)
            .set_remove_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(sdk_error)?;
    }
    for tags in set.chunks(10) {
        let tags = tags.iter().map(|(k, v)| SdkTag::builder().key(k).value(v).build()).collect();
        route53
            .change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(id)
            .set_add_tags(Some(tags))
            .send()
            .await
            .map_err(sdk_error)?;
    }
    Ok(())
}

/// Whether a record is an ACM validation record: a CNAME from `_<hash>.<domain>` to
/// `_<hash>.<...>.acm-validations.aws.`.
fn is_acm_validation(r: &ResourceRecordSet) -> bool {
    r.r#type == RrType::Cname
        && r.name.starts_with('_')
        && r.resource_records.as_deref().is_some_and(|v| {
            !v.is_empty() && v.iter().all(|v| v.value.trim_end_matches('.').ends_with(".acm-validations.aws"))
        })
}

/// The zone's records besides its own SOA and apex NS: the ACM validation records, and the
/// others (as `name TYPE`).
async fn zone_records(
    route53: &aws_sdk_route53::Client,
    id: &str,
    zone_name: &str,
) -> Result<(Vec<ResourceRecordSet>, Vec<String>), ProviderError> {
    let all = super::record_sets(route53, id, None, |_| false).await?;
    let (acm, others): (Vec<_>, Vec<_>) = all
        .into_iter()
        .filter(|r| !(same_name(&r.name, zone_name) && (r.r#type == RrType::Soa || r.r#type == RrType::Ns)))
        .partition(is_acm_validation);
    Ok((acm, others.into_iter().map(|r| format!("{} {}", r.name, r.r#type.as_str())).collect()))
}

#[async_trait]
impl AwsType for HostedZone {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match (property, old.as_str(), new.as_str()) {
            ("Name", Some(a), Some(b)) => same_name(a, b),
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let reference = cx.token("CreateHostedZone", 64);
        let config = SdkZoneConfig::builder()
            .set_comment(p.comment().map(str::to_string))
            .private_zone(!p.vpcs.is_empty())
            .build();
        let made = route53
            .create_hosted_zone()
            .name(&p.name)
            .caller_reference(&reference)
            .hosted_zone_config(config)
            .set_vpc(p.vpcs.first().map(ZoneVpc::sdk))
            .set_delegation_set_id(p.delegation_set_id.clone())
            .send()
            .await
            .map_err(sdk_error);
        // A repeated create (its first answer lost) is refused with this code: the zone
        // that first call made carries the same caller reference.
        let (id, change) = match made {
            Ok(out) => {
                let id = out.hosted_zone.map(|z| bare_id(&z.id).to_string()).unwrap_or_default();
                (id, out.change_info.map(|c| c.id))
            }
            Err(e) if e.code.as_deref() == Some("HostedZoneAlreadyExists") => {
                match by_caller_reference(&route53, &reference).await? {
                    Some(id) => (id, None),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        if id.is_empty() {
            return Err(ProviderError::with_code(
                "InvalidResponse",
                "Route 53 CreateHostedZone answered without the hosted zone",
            ));
        }
        cx.created(&id, async {
            for vpc in p.vpcs.iter().skip(1) {
                let out = route53
                    .associate_vpc_with_hosted_zone()
                    .hosted_zone_id(&id)
                    .vpc(vpc.sdk())
                    .send()
                    .await
                    .map_err(sdk_error)?;
                if let Some(c) = out.change_info {
                    wait_insync(cx, &route53, &c.id, &format!("VPC {} of hosted zone {id}", vpc.vpc_id)).await?;
                }
            }
            put_tags(cx, &route53, &id, &BTreeMap::new(), &p.hosted_zone_tags).await?;
            if let Some(change) = change {
                wait_insync(cx, &route53, &change, &format!("hosted zone {id}")).await?;
            }
            zone_data(&route53, &id).await
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let out = route53.get_hosted_zone().id(physical_id).send().await.map_err(sdk_error)?;
        let Some(zone) = out.hosted_zone else { return Ok(None) };
        let mut props = BTreeMap::new();
        props.insert("Name".to_string(), json!(zone.name));
        let comment = zone.config.as_ref().and_then(|c| c.comment.clone()).filter(|c| !c.is_empty());
        match (comment, desired.get("HostedZoneConfig")) {
            (Some(c), _) => {
                props.insert("HostedZoneConfig".into(), json!({"Comment": c}));
            }
            // No comment: the same as an empty one, or none.
            (None, Some(d)) if d.get("Comment").and_then(Json::as_str).is_none_or(str::is_empty) => {
                props.insert("HostedZoneConfig".into(), d.clone());
            }
            (None, Some(_)) => {
                props.insert("HostedZoneConfig".into(), json!({}));
            }
            (None, None) => {}
        }
        let private = zone.config.as_ref().is_some_and(|c| c.private_zone);
        if private || desired.get("VPCs").is_some() {
            let vpcs: Vec<Json> = out
                .vpcs
                .unwrap_or_default()
                .into_iter()
                .map(|v| {
                    json!({"VPCId": v.vpc_id.unwrap_or_default(),
                        "VPCRegion": v.vpc_region.map(|r| r.as_str().to_string()).unwrap_or_default()})
                })
                .collect();
            props.insert("VPCs".into(), json!(vpcs));
        }
        if desired.get("DelegationSetId").is_some() {
            let set = out.delegation_set.as_ref().and_then(|d| d.id.clone()).map(|i| bare_id(&i).to_string());
            props.insert("DelegationSetId".into(), json!(set));
        }
        let tags = live_tags(&route53, physical_id).await?;
        let name_servers = out.delegation_set.map(|d| d.name_servers).unwrap_or_default();
        Ok(Some(Live { data: data(physical_id, name_servers), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        if old.vpcs.is_empty() != new.vpcs.is_empty() {
            let (from, to) = if new.vpcs.is_empty() { ("private", "public") } else { ("public", "private") };
            return Err(ProviderError::with_code(
                "InvalidChange",
                format!(
                    "hosted zone {physical_id} is {from}: Route 53 cannot make a {from} zone {to}; declare the {to} zone under another logical id (cairn then makes it and deletes this one), then move its records"
                ),
            ));
        }
        if old.comment() != new.comment() {
            route53
                .update_hosted_zone_comment()
                .id(physical_id)
                .set_comment(Some(new.comment().unwrap_or_default().to_string()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let before: BTreeSet<&ZoneVpc> = old.vpcs.iter().collect();
        let after: BTreeSet<&ZoneVpc> = new.vpcs.iter().collect();
        // New ones first: a private zone keeps at least one VPC throughout.
        for vpc in after.difference(&before) {
            let out = route53
                .associate_vpc_with_hosted_zone()
                .hosted_zone_id(physical_id)
                .vpc(vpc.sdk())
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(c) = out.change_info {
                wait_insync(cx, &route53, &c.id, &format!("VPC {} of hosted zone {physical_id}", vpc.vpc_id)).await?;
            }
        }
        for vpc in before.difference(&after) {
            let out = route53
                .disassociate_vpc_from_hosted_zone()
                .hosted_zone_id(physical_id)
                .vpc(vpc.sdk())
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(c) = out.change_info {
                wait_insync(cx, &route53, &c.id, &format!("VPC {} leaving hosted zone {physical_id}", vpc.vpc_id))
                    .await?;
            }
        }
        let live = live_tags(&route53, physical_id).await?;
        put_tags(cx, &route53, physical_id, &live, &new.hosted_zone_tags).await?;
        zone_data(&route53, physical_id).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let (validation, foreign) = zone_records(&route53, physical_id, &p.name).await?;
        if !foreign.is_empty() {
            let shown: Vec<&str> = foreign.iter().take(10).map(String::as_str).collect();
            let more = if foreign.len() > 10 { format!(" and {} more", foreign.len() - 10) } else { String::new() };
            return Err(ProviderError::with_code(
                "HostedZoneNotEmpty",
                format!(
                    "hosted zone {physical_id} ({}) still holds records that cairn did not make with it: {}{more}; cairn does not delete records it does not own: delete them (or remove the resources that made them), then run the command again",
                    p.name,
                    shown.join(", ")
                ),
            )
            .in_operation("DeleteHostedZone"));
        }
        // ACM validation records serve only through this zone, and go with it.
        for record in validation {
            super::change(cx, &route53, physical_id, ChangeAction::Delete, record, None).await?;
        }
        route53.delete_hosted_zone().id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        match by_caller_reference(&route53, &cx.token("CreateHostedZone", 64)).await? {
            Some(id) => zone_data(&route53, &id).await.map(Some),
            None => Ok(None),
        }
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({
                "Name": "Conformance-{uid}.example.com",
                "HostedZoneConfig": {"Comment": "conformance zone"},
                "HostedZoneTags": [{"Key": "team", "Value": "edge"}]
            }),
            update: Some(json!({
                "Name": "Conformance-{uid}.example.com",
                "HostedZoneConfig": {"Comment": "conformance zone, updated"},
                "HostedZoneTags": [{"Key": "team", "Value": "platform"}, {"Key": "tier", "Value": "dns"}]
            })),
            replace: Some(json!({
                "Name": "moved-{uid}.example.com.",
                "HostedZoneConfig": {"Comment": "conformance zone, updated"},
                "HostedZoneTags": [{"Key": "team", "Value": "platform"}]
            })),
            nested_replace: None,
            partial_after: Some("ChangeTagsForResource"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::provider::ResourceType;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        HostedZone::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn properties_and_what_is_left_out() {
        let p = parse(json!({"Name": "example.com", "VPCs": [{"VPCId": "vpc-1", "VPCRegion": "us-east-2"}],
            "HostedZoneConfig": {"Comment": ""}}))
        .unwrap();
        assert_eq!(p.vpcs[0].sdk().vpc_region, Some(VpcRegion::UsEast2));
        assert_eq!(p.comment(), None);
        let e = parse(json!({"Name": "example.com", "QueryLoggingConfig": {"CloudWatchLogsLogGroupArn": "arn"}}))
            .unwrap_err();
        assert!(e.message.contains("cairn does not support `QueryLoggingConfig`"), "{}", e.message);
        let failures = HostedZone::new(Aws::unconfigured()).check(&Value::from_json(&json!({})));
        assert!(failures.iter().any(|f| f.path == "Name"), "{failures:?}");
    }

    #[test]
    fn names_compare_as_route53_answers_them() {
        let t = HostedZone;
        assert!(t.equivalent("Name", &json!("Example.com"), &json!("example.com.")));
        assert!(!t.equivalent("Name", &json!("example.org"), &json!("example.com.")));
    }

    #[test]
    fn acm_validation_records_are_told_apart() {
        let cname = |name: &str, value: &str| {
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(aws_sdk_route53::types::ResourceRecord::builder().value(value).build().unwrap())
                .build()
                .unwrap()
        };
        assert!(is_acm_validation(&cname("_a1b2.example.com.", "_c3d4.xyz.acm-validations.aws.")));
        assert!(!is_acm_validation(&cname("www.example.com.", "_c3d4.xyz.acm-validations.aws.")));
        assert!(!is_acm_validation(&cname("_a1b2.example.com.", "target.example.org.")));
    }

    #[test]
    fn caller_references_follow_the_seed() {
        let ctx = crate::test_ctx(TYPE_NAME, "Zone");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let r = cx.token("CreateHostedZone", 64);
        assert_eq!(r, cx.token("CreateHostedZone", 64));
        assert!(r.len() <= 128);
    }
}
