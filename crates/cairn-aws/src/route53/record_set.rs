//! `AWS::Route53::RecordSet`: one resource record set in a hosted zone.
//!
//! | property | notes |
//! | --- | --- |
//! | `HostedZoneId` or `HostedZoneName` | exactly one; create-only. A zone name must name one zone (`ListHostedZonesByName`); a public and a private zone of the same name need `HostedZoneId` |
//! | `Name` | string, required; compared as Route 53 answers it (lower case, trailing dot, `\052` for `*`) |
//! | `Type` | `A`, `AAAA`, `CNAME`, `TXT`, ..., required |
//! | `TTL`, `ResourceRecords` | a plain record (not with `AliasTarget`) |
//! | `AliasTarget` | `{DNSName, HostedZoneId, EvaluateTargetHealth}` (an alias to CloudFront names zone `Z2FDTNDATAQYW2`); `DNSName` compared as Route 53 answers it |
//! | `SetIdentifier` | with `Weight`, `Region`, `Failover`, `GeoLocation` (`ContinentCode`, `CountryCode`, `SubdivisionCode`) or `MultiValueAnswer`: one record of a routing policy |
//! | `HealthCheckId` | string |
//! | `Comment` | the change batch's comment (write-only: Route 53 keeps it with the change, not the record) |
//!
//! Left out (refused where given): `CidrRoutingConfig` and `GeoProximityLocation` (IP-based
//! and geoproximity routing, which need a CIDR collection or traffic flow).
//!
//! `Name`, `Type` and `SetIdentifier` identify the record in Route 53 (the registry
//! schema's primary identifier): cairn replaces the record when one of them changes (a
//! cairn fact set on the loaded schema; the registry schema marks only the zone
//! create-only). Every other change is an `UPSERT` of the whole record.
//!
//! - `Ref`: the record name, as written (as CloudFormation documents).
//! - `Fn::GetAtt`: none.
//!
//! `create` is `ChangeResourceRecordSets` with `CREATE` (Route 53 refuses it when the
//! record exists: cairn never takes over a record it did not make in a create), `update`
//! an `UPSERT`, `delete` a `DELETE` of the record exactly as `ListResourceRecordSets`
//! answers it (Route 53 deletes only an exact match). Each change is waited for until it is
//! `INSYNC` (`GetChange`), with progress. `read` and `find` list the zone's record sets
//! from the record's name and type (`ListResourceRecordSets`) and take the one with the
//! same name, type and set identifier; `find` runs only after a crash in the middle of
//! this resource's create, when the record it finds is the one that create made.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget as SdkAlias, ChangeAction, GeoLocation as SdkGeo, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{bare_id, build_err, dns_name, same_name};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Route53::RecordSet";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        let mut s = crate::schema::load(crate::schema::ROUTE53_RECORD_SET, None, &[]);
        // What identifies the record in Route 53 (cairn's fact; the registry schema marks
        // only the zone create-only).
        for path in ["Name", "Type", "SetIdentifier"] {
            if !s.create_only.iter().any(|p| p == path) {
                s.create_only.push(path.to_string());
            }
        }
        s
    }),
    not_found: &["NoSuchHostedZone"],
    // A change is INSYNC within about a minute; a slow propagation is waited for.
    timeout: Duration::from_secs(15 * 60),
    reference: "the record name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    hosted_zone_id: Option<String>,
    hosted_zone_name: Option<String>,
    name: String,
    r#type: String,
    #[serde(rename = "TTL")]
    ttl: Option<String>,
    resource_records: Option<Vec<String>>,
    alias_target: Option<Alias>,
    set_identifier: Option<String>,
    weight: Option<i64>,
    region: Option<String>,
    failover: Option<String>,
    geo_location: Option<Geo>,
    multi_value_answer: Option<bool>,
    health_check_id: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alias {
    #[serde(rename = "DNSName")]
    dns_name: String,
    #[serde(rename = "HostedZoneId")]
    hosted_zone_id: String,
    #[serde(rename = "EvaluateTargetHealth", default)]
    evaluate_target_health: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Geo {
    continent_code: Option<String>,
    country_code: Option<String>,
    subdivision_code: Option<String>,
}

impl Props {
    fn ttl(&self) -> Option<i64> {
        self.ttl.as_deref().and_then(|t| t.trim().parse().ok())
    }

    /// The record as Route 53 takes it.
    fn record(&self) -> Result<ResourceRecordSet, ProviderError> {
        let records = match &self.resource_records {
            Some(values) => Some(
                values.iter().map(|v| ResourceRecord::builder().value(v).build().map_err(build_err)).collect::<Result<
                    Vec<_>,
                    _,
                >>(
                )?,
            ),
            None => None,
        };
        let alias = match &self.alias_target {
            Some(a) => Some(
                SdkAlias::builder()
                    .dns_name(&a.dns_name)
                    .hosted_zone_id(&a.hosted_zone_id)
                    .evaluate_target_health(a.evaluate_target_health)
                    .build()
                    .map_err(build_err)?,
            ),
            None => None,
        };
        // The name as Route 53 keeps it (lower case, a trailing dot): the same record to
        // Route 53, and what every later listing from this name finds.
        ResourceRecordSet::builder()
            .name(dns_name(&self.name))
            .r#type(RrType::from(self.r#type.as_str()))
            .set_ttl(self.ttl())
            .set_resource_records(records)
            .set_alias_target(alias)
            .set_set_identifier(self.set_identifier.clone())
            .set_weight(self.weight)
            .set_region(self.region.as_deref().map(ResourceRecordSetRegion::from))
            .set_failover(self.failover.as_deref().map(ResourceRecordSetFailover::from))
            .set_geo_location(self.geo_location.as_ref().map(|g| {
                SdkGeo::builder()
                    .set_continent_code(g.continent_code.clone())
                    .set_country_code(g.country_code.clone())
                    .set_subdivision_code(g.subdivision_code.clone())
                    .build()
            }))
            .set_multi_value_answer(self.multi_value_answer)
            .set_health_check_id(self.health_check_id.clone())
            .build()
            .map_err(build_err)
    }
}

/// The `AWS::Route53::RecordSet` resource type.
pub struct RecordSet;

impl RecordSet {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<RecordSet> {
        Typed::new(RecordSet, aws)
    }
}

fn data(name: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::new() }
}

/// The zone id of `HostedZoneId`, or of the one zone named `HostedZoneName`.
async fn zone_id(
    route53: &aws_sdk_route53::Client,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<String, ProviderError> {
    if let Some(id) = id {
        return Ok(bare_id(id).to_string());
    }
    let name = name.unwrap_or_default();
    let out = route53.list_hosted_zones_by_name().dns_name(dns_name(name)).send().await.map_err(sdk_error)?;
    let ids: Vec<String> =
        out.hosted_zones.iter().filter(|z| same_name(&z.name, name)).map(|z| bare_id(&z.id).to_string()).collect();
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ProviderError::with_code(
            "NoSuchHostedZone",
            format!("no hosted zone is named `{name}` (HostedZoneName); create it, or give its HostedZoneId"),
        )
        .in_operation("ListHostedZonesByName")),
        several => Err(ProviderError::with_code(
            "AmbiguousHostedZone",
            format!(
                "{} hosted zones are named `{name}` ({}): give the record's HostedZoneId instead of HostedZoneName",
                several.len(),
                several.join(", ")
            ),
        )
        .in_operation("ListHostedZonesByName")),
    }
}

/// The live record of this name, type and set identifier in zone `zone`, if any.
async fn live_record(
    route53: &aws_sdk_route53::Client,
    zone: &str,
    name: &str,
    kind: &str,
    set_identifier: Option<&str>,
) -> Result<Option<ResourceRecordSet>, ProviderError> {
    let name = dns_name(name);
    let same = |r: &ResourceRecordSet| same_name(&r.name, &name) && r.r#type.as_str() == kind;
    let records = super::record_sets(route53, zone, Some((&name, kind)), |r| !same(r)).await?;
    Ok(records.into_iter().find(|r| same(r) && r.set_identifier.as_deref() == set_identifier))
}

/// A live record in the user's shape.
fn shown(r: &ResourceRecordSet, desired: &Json) -> BTreeMap<String, Json> {
    let mut props = BTreeMap::new();
    props.insert("Name".to_string(), json!(r.name));
    props.insert("Type".to_string(), json!(r.r#type.as_str()));
    if let Some(id) = desired.get("HostedZoneId") {
        props.insert("HostedZoneId".to_string(), id.clone());
    }
    if let Some(ttl) = r.ttl {
        props.insert("TTL".into(), json!(ttl.to_string()));
    }
    if let Some(records) = &r.resource_records {
        props.insert("ResourceRecords".into(), json!(records.iter().map(|v| v.value.clone()).collect::<Vec<_>>()));
    }
    if let Some(a) = &r.alias_target {
        props.insert(
            "AliasTarget".into(),
            json!({"DNSName": a.dns_name, "HostedZoneId": a.hosted_zone_id, "EvaluateTargetHealth": a.evaluate_target_health}),
        );
    }
    let mut put = |k: &str, v: Option<Json>| {
        if let Some(v) = v {
            props.insert(k.to_string(), v);
        }
    };
    put("SetIdentifier", r.set_identifier.as_ref().map(|v| json!(v)));
    put("Weight", r.weight.map(|v| json!(v)));
    put("Region", r.region.as_ref().map(|v| json!(v.as_str())));
    put("Failover", r.failover.as_ref().map(|v| json!(v.as_str())));
    put("MultiValueAnswer", r.multi_value_answer.map(|v| json!(v)));
    put("HealthCheckId", r.health_check_id.as_ref().map(|v| json!(v)));
    put(
        "GeoLocation",
        r.geo_location.as_ref().map(|g| {
            let mut m = Map::new();
            for (k, v) in [
                ("ContinentCode", &g.continent_code),
                ("CountryCode", &g.country_code),
                ("SubdivisionCode", &g.subdivision_code),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), json!(v));
                }
            }
            Json::Object(m)
        }),
    );
    props
}

/// An alias target with its DNS name as Route 53 answers it and the health flag's default.
fn canonical_alias(a: &Json) -> Json {
    let mut a = a.clone();
    if let Some(obj) = a.as_object_mut() {
        if let Some(name) = obj.get("DNSName").and_then(Json::as_str) {
            let n = dns_name(name);
            obj.insert("DNSName".into(), json!(n));
        }
        let health = obj.get("EvaluateTargetHealth").is_some_and(|v| v == &json!(true) || v == &json!("true"));
        obj.insert("EvaluateTargetHealth".into(), json!(health));
    }
    a
}

#[async_trait]
impl AwsType for RecordSet {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let err = |path: &str, message: &str| Err(PropsError { path: path.into(), message: message.into() });
        if p.hosted_zone_id.is_some() == p.hosted_zone_name.is_some() {
            return err("HostedZoneId", "give exactly one of HostedZoneId and HostedZoneName");
        }
        if p.alias_target.is_some() == p.resource_records.is_some() {
            return err("ResourceRecords", "give exactly one of ResourceRecords (with TTL) and AliasTarget");
        }
        if p.alias_target.is_some() && p.ttl.is_some() {
            return err("TTL", "an alias record takes no TTL (Route 53 uses the target's)");
        }
        if p.ttl.is_some() && p.ttl().is_none() {
            return err("TTL", "expected a number of seconds");
        }
        if p.resource_records.is_some() && p.ttl.is_none() {
            return err("TTL", "a record with ResourceRecords needs a TTL");
        }
        let routed = p.weight.is_some()
            || p.region.is_some()
            || p.failover.is_some()
            || p.geo_location.is_some()
            || p.multi_value_answer.is_some();
        if routed && p.set_identifier.is_none() {
            return err(
                "SetIdentifier",
                "a record with Weight, Region, Failover, GeoLocation or MultiValueAnswer needs a SetIdentifier",
            );
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "Name" => match (old.as_str(), new.as_str()) {
                (Some(a), Some(b)) => same_name(a, b),
                _ => old == new,
            },
            "AliasTarget" => {
                let (a, b) = (canonical_alias(old), canonical_alias(new));
                ["DNSName", "HostedZoneId", "EvaluateTargetHealth"].iter().all(|k| a.get(k) == b.get(k))
            }
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let zone = zone_id(&route53, p.hosted_zone_id.as_deref(), p.hosted_zone_name.as_deref()).await?;
        let record = p.record()?;
        let change = super::change(cx, &route53, &zone, ChangeAction::Create, record, p.comment.clone());
        // The change is made before its wait: a failure of the wait leaves the record.
        change.await.map_err(|e| {
            let waiting = e.operation.as_deref() == Some("GetChange") || e.code.as_deref() == Some("WaitTimeout");
            if waiting {
                e.after_creating(&p.name)
            } else {
                e
            }
        })?;
        Ok(data(&p.name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let s = |k: &str| desired.get(k).and_then(Json::as_str);
        let zone = zone_id(&route53, s("HostedZoneId"), s("HostedZoneName")).await?;
        let name = s("Name").unwrap_or(physical_id);
        let kind = s("Type").unwrap_or_default();
        let Some(r) = live_record(&route53, &zone, name, kind, s("SetIdentifier")).await? else {
            return Ok(None);
        };
        Ok(Some(Live { data: data(physical_id), properties: shown(&r, desired), tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let zone = zone_id(&route53, new.hosted_zone_id.as_deref(), new.hosted_zone_name.as_deref()).await?;
        super::change(cx, &route53, &zone, ChangeAction::Upsert, new.record()?, new.comment.clone()).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, _physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let zone = match zone_id(&route53, p.hosted_zone_id.as_deref(), p.hosted_zone_name.as_deref()).await {
            Ok(z) => z,
            // The zone is gone, and the record with it.
            Err(e) if e.code.as_deref() == Some("NoSuchHostedZone") => return Ok(()),
            Err(e) => return Err(e),
        };
        let live = cx.found(live_record(&route53, &zone, &p.name, &p.r#type, p.set_identifier.as_deref()).await)?;
        match live.flatten() {
            // Route 53 deletes only the record exactly as it is.
            Some(r) => super::change(cx, &route53, &zone, ChangeAction::Delete, r, None).await,
            None => Ok(()),
        }
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let route53: aws_sdk_route53::Client = cx.client();
        let zone = zone_id(&route53, p.hosted_zone_id.as_deref(), p.hosted_zone_name.as_deref()).await?;
        let live = live_record(&route53, &zone, &p.name, &p.r#type, p.set_identifier.as_deref()).await?;
        Ok(live.map(|_| data(&p.name)))
    }

    fn fixture(&self) -> Fixture {
        let zone = json!({"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "rs-{uid}.example.com"}});
        let alias = json!({"DNSName": "d111111abcdef8.cloudfront.net", "HostedZoneId": "Z2FDTNDATAQYW2"});
        Fixture {
            support: json!({"Zone": zone}),
            create: json!({
                "HostedZoneId": {"Ref": "Zone"}, "Name": "WWW.rs-{uid}.example.com", "Type": "A",
                "TTL": "300", "ResourceRecords": ["192.0.2.10", "192.0.2.11"],
                "SetIdentifier": "blue", "Weight": 100, "Comment": "conformance"
            }),
            update: Some(json!({
                "HostedZoneId": {"Ref": "Zone"}, "Name": "WWW.rs-{uid}.example.com", "Type": "A",
                "AliasTarget": alias, "SetIdentifier": "blue", "Weight": 50
            })),
            // Another set identifier too: moto 5.2.5 deletes every record of a set
            // identifier, whatever its name (`delete_rrset_by_id` in moto/route53/models.py).
            replace: Some(json!({
                "HostedZoneId": {"Ref": "Zone"}, "Name": "api.rs-{uid}.example.com.", "Type": "A",
                "AliasTarget": alias, "SetIdentifier": "green", "Weight": 50
            })),
            nested_replace: None,
            // The create is one call and a wait: a wait cut short leaves the whole record,
            // which the engine then records as made; the refused call is the create's own.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        RecordSet::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn a_record_takes_one_zone_and_one_kind_of_answer() {
        let plain = json!({"HostedZoneId": "Z1", "Name": "a.example.com", "Type": "A", "TTL": 60, "ResourceRecords": ["192.0.2.1"]});
        let p = parse(plain.clone()).unwrap();
        let r = p.record().unwrap();
        assert_eq!((r.ttl, r.r#type.clone()), (Some(60), RrType::A));
        let mut both = plain.clone();
        both["HostedZoneName"] = json!("example.com");
        assert!(parse(both).unwrap_err().message.contains("exactly one of HostedZoneId and HostedZoneName"));
        let mut alias = plain.clone();
        alias["AliasTarget"] = json!({"DNSName": "d1.cloudfront.net", "HostedZoneId": "Z2FDTNDATAQYW2"});
        assert!(parse(alias.clone()).unwrap_err().message.contains("exactly one of ResourceRecords"));
        alias.as_object_mut().unwrap().remove("ResourceRecords");
        assert!(parse(alias.clone()).unwrap_err().message.starts_with("TTL: an alias record takes no TTL"));
        alias.as_object_mut().unwrap().remove("TTL");
        let r = parse(alias).unwrap().record().unwrap();
        assert_eq!(r.alias_target.unwrap().hosted_zone_id, "Z2FDTNDATAQYW2");
        let mut weighted = plain;
        weighted["Weight"] = json!(10);
        assert!(parse(weighted).unwrap_err().message.starts_with("SetIdentifier:"));
    }

    #[test]
    fn names_and_alias_targets_compare_as_route53_answers_them() {
        let t = RecordSet;
        assert!(t.equivalent("Name", &json!("WWW.example.com"), &json!("www.example.com.")));
        assert!(t.equivalent("Name", &json!("*.example.com"), &json!("\\052.example.com.")));
        let live =
            json!({"DNSName": "d1.cloudfront.net.", "HostedZoneId": "Z2FDTNDATAQYW2", "EvaluateTargetHealth": false});
        assert!(t.equivalent(
            "AliasTarget",
            &live,
            &json!({"DNSName": "D1.cloudfront.net", "HostedZoneId": "Z2FDTNDATAQYW2"})
        ));
        assert!(!t.equivalent(
            "AliasTarget",
            &live,
            &json!({"DNSName": "d2.cloudfront.net", "HostedZoneId": "Z2FDTNDATAQYW2"})
        ));
    }

    #[test]
    fn the_record_identity_replaces() {
        let s = &SPEC.schema;
        for p in ["Name", "Type", "SetIdentifier", "HostedZoneId", "HostedZoneName"] {
            assert!(s.create_only.iter().any(|c| c == p), "{p}: {:?}", s.create_only);
        }
    }
}
