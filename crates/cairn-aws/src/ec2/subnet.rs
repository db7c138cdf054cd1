//! `AWS::EC2::Subnet`: an IPv4 subnet of a VPC, in one availability zone.
//!
//! | property | notes |
//! | --- | --- |
//! | `VpcId` | string, required, create-only |
//! | `CidrBlock` | string, create-only; required here (cairn does not take an IPAM pool) |
//! | `AvailabilityZone` | string, create-only (`us-east-1a`); EC2 picks one when neither this nor `AvailabilityZoneId` is given |
//! | `AvailabilityZoneId` | string, create-only (`use1-az1`) |
//! | `MapPublicIpOnLaunch` | boolean, AWS's default `false` (`ModifySubnetAttribute`) |
//! | `Tags` | `[{Key, Value}]` |
//!
//! Left out (`check` refuses them): `AssignIpv6AddressOnCreation`, `EnableDns64`,
//! `EnableLniAtDeviceIndex`, `Ipv4IpamPoolId`, `Ipv4NetmaskLength`, `Ipv6CidrBlock`,
//! `Ipv6IpamPoolId`, `Ipv6Native`, `Ipv6NetmaskLength`, `OutpostArn`,
//! `PrivateDnsNameOptionsOnLaunch`.
//!
//! - `Ref`: the subnet id (`subnet-...`).
//! - `Fn::GetAtt`: `AvailabilityZone`, `AvailabilityZoneId`, `CidrBlock`, `Ipv6CidrBlocks`,
//!   `NetworkAclAssociationId` (its association with the VPC's network ACL), `SubnetId`,
//!   `VpcId`.
//!
//! `create` is `CreateSubnet` with the tags in `TagSpecifications`, a wait until the subnet
//! is `available`, then `ModifySubnetAttribute` when `MapPublicIpOnLaunch` is on. An update
//! changes `MapPublicIpOnLaunch` (`ModifySubnetAttribute`) and the tags
//! (`DeleteTags`/`CreateTags`). `delete` is `DeleteSubnet`, retried while EC2 answers
//! `DependencyViolation` (a network interface, of a NAT gateway or a Lambda function, still
//! going away). `find` adopts the subnet of the VPC that carries this resource's ownership
//! tags (`DescribeSubnets` with tag filters).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, SubnetState};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, missing, ownership_filters, tag_map, tag_specification, update_tags, DEPENDENCY_VIOLATION};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::Subnet";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::with_attributes(
            crate::schema::load(crate::schema::EC2_SUBNET, None, &[]),
            &["AvailabilityZone", "AvailabilityZoneId", "CidrBlock", "VpcId"],
        )
    }),
    not_found: &["InvalidSubnetID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the subnet id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    vpc_id: String,
    cidr_block: Option<String>,
    availability_zone: Option<String>,
    availability_zone_id: Option<String>,
    map_public_ip_on_launch: Option<bool>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::EC2::Subnet` resource type.
pub struct Subnet;

impl Subnet {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Subnet> {
        Typed::new(Subnet, aws)
    }
}

async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Option<aws_sdk_ec2::types::Subnet>, ProviderError> {
    let out = ec2.describe_subnets().subnet_ids(id).send().await.map_err(sdk_error)?;
    Ok(out.subnets.unwrap_or_default().into_iter().next())
}

async fn set_public_ips(ec2: &aws_sdk_ec2::Client, id: &str, on: bool) -> Result<(), ProviderError> {
    ec2.modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// The attributes, with the subnet's association with its network ACL.
async fn data(ec2: &aws_sdk_ec2::Client, s: &aws_sdk_ec2::types::Subnet) -> Result<ResourceData, ProviderError> {
    let id = s.subnet_id.clone().ok_or_else(|| missing("subnet id", "DescribeSubnets"))?;
    let acls =
        ec2.describe_network_acls().filters(filter("association.subnet-id", &id)).send().await.map_err(sdk_error)?;
    let association = acls
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .find(|a| a.subnet_id.as_deref() == Some(id.as_str()))
        .and_then(|a| a.network_acl_association_id.clone());
    let ipv6: Vec<Json> = s
        .ipv6_cidr_block_association_set()
        .iter()
        .filter_map(|a| a.ipv6_cidr_block.clone().map(Json::String))
        .collect();
    let text = |v: &Option<String>| Value::from(v.clone().unwrap_or_default());
    let mut attributes = BTreeMap::from([
        ("SubnetId".to_string(), Value::from(id.as_str())),
        ("VpcId".to_string(), text(&s.vpc_id)),
        ("CidrBlock".to_string(), text(&s.cidr_block)),
        ("AvailabilityZone".to_string(), text(&s.availability_zone)),
        ("AvailabilityZoneId".to_string(), text(&s.availability_zone_id)),
        ("Ipv6CidrBlocks".to_string(), Value::from_json(&Json::Array(ipv6))),
    ]);
    if let Some(a) = association {
        attributes.insert("NetworkAclAssociationId".into(), Value::from(a));
    }
    Ok(ResourceData { physical_id: id, attributes })
}

#[async_trait]
impl AwsType for Subnet {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.cidr_block.is_none() {
            return Err(PropsError {
                path: "CidrBlock".into(),
                message: "cairn makes a subnet from a `CidrBlock` (it does not take an IPAM pool); add `CidrBlock`"
                    .into(),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .create_subnet()
            .vpc_id(&p.vpc_id)
            .set_cidr_block(p.cidr_block.clone())
            .set_availability_zone(p.availability_zone.clone())
            .set_availability_zone_id(p.availability_zone_id.clone())
            .tag_specifications(tag_specification(cx, ResourceType::Subnet, &p.tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.subnet.and_then(|s| s.subnet_id).ok_or_else(|| missing("subnet id", "CreateSubnet"))?;
        cx.created(&id, async {
            let mut subnet = cx
                .wait_until(&format!("subnet {id} to be available"), || async {
                    let s = cx.found(describe(&ec2, &id).await)?.flatten();
                    Ok(s.filter(|s| s.state == Some(SubnetState::Available)))
                })
                .await?;
            if p.map_public_ip_on_launch == Some(true) {
                set_public_ips(&ec2, &id, true).await?;
                subnet.map_public_ip_on_launch = Some(true);
            }
            data(&ec2, &subnet).await
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(s) = describe(&ec2, physical_id).await? else { return Ok(None) };
        let mut props =
            BTreeMap::from([("VpcId".to_string(), json!(s.vpc_id)), ("CidrBlock".to_string(), json!(s.cidr_block))]);
        if desired.get("AvailabilityZone").is_some() {
            props.insert("AvailabilityZone".into(), json!(s.availability_zone));
        }
        if desired.get("AvailabilityZoneId").is_some() {
            props.insert("AvailabilityZoneId".into(), json!(s.availability_zone_id));
        }
        let public = s.map_public_ip_on_launch.unwrap_or(false);
        if desired.get("MapPublicIpOnLaunch").is_some() || public {
            props.insert("MapPublicIpOnLaunch".into(), json!(public));
        }
        Ok(Some(Live { data: data(&ec2, &s).await?, properties: props, tags: Some(tag_map(s.tags())) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let public = new.map_public_ip_on_launch.unwrap_or(false);
        if public != old.map_public_ip_on_launch.unwrap_or(false) {
            set_public_ips(&ec2, physical_id, public).await?;
        }
        let s = describe(&ec2, physical_id).await?.ok_or_else(|| missing("subnet", "DescribeSubnets"))?;
        update_tags(cx, &ec2, physical_id, &tag_map(s.tags()), &new.tags).await?;
        data(&ec2, &s).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        cx.retrying(&[DEPENDENCY_VIOLATION], || async {
            ec2.delete_subnet().subnet_id(physical_id).send().await.map_err(sdk_error)
        })
        .await?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .describe_subnets()
            .set_filters(Some([vec![filter("vpc-id", &p.vpc_id)], ownership_filters(cx)].concat()))
            .send()
            .await
            .map_err(sdk_error)?;
        let subnets = out.subnets.unwrap_or_default();
        let candidates = subnets.iter().filter_map(|s| Some((s.subnet_id.clone()?, tag_map(s.tags()))));
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        let s = subnets
            .iter()
            .find(|s| s.subnet_id.as_deref() == Some(id.as_str()))
            .ok_or_else(|| missing("subnet", "DescribeSubnets"))?;
        data(&ec2, s).await.map(Some)
    }

    fn fixture(&self) -> Fixture {
        let vpc = json!({"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}});
        let tags =
            |stage: &str| json!([{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": stage}]);
        Fixture {
            support: json!({"Network": vpc}),
            create: json!({
                "VpcId": {"Ref": "Network"},
                "CidrBlock": "10.20.1.0/24",
                "AvailabilityZone": "us-east-1a",
                "MapPublicIpOnLaunch": true,
                "Tags": tags("create")
            }),
            update: Some(json!({
                "VpcId": {"Ref": "Network"},
                "CidrBlock": "10.20.1.0/24",
                "AvailabilityZone": "us-east-1a",
                "MapPublicIpOnLaunch": false,
                "Tags": tags("update")
            })),
            replace: Some(json!({
                "VpcId": {"Ref": "Network"},
                "CidrBlock": "10.20.2.0/24",
                "AvailabilityZone": "us-east-1b",
                "MapPublicIpOnLaunch": false,
                "Tags": tags("update")
            })),
            nested_replace: None,
            // CreateSubnet, DescribeSubnets until it is available, then this.
            partial_after: Some("ModifySubnetAttribute"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Subnet::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn a_vpc_and_a_cidr_block() {
        let p = parse(json!({"VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24", "MapPublicIpOnLaunch": "true"})).unwrap();
        assert_eq!(p.map_public_ip_on_launch, Some(true));
        let e = parse(json!({"VpcId": "vpc-1"})).unwrap_err();
        assert!(e.message.starts_with("CidrBlock: cairn makes a subnet"), "{}", e.message);
        let e = parse(json!({"CidrBlock": "10.0.1.0/24"})).unwrap_err();
        assert_eq!(e.message, "VpcId: required property `VpcId` is missing");
    }
}
