//! `AWS::EC2::VPC`: a virtual private cloud.
//!
//! | property | notes |
//! | --- | --- |
//! | `CidrBlock` | string, create-only; required here (cairn does not take an IPAM pool) |
//! | `EnableDnsHostnames` | boolean, AWS's default `false` |
//! | `EnableDnsSupport` | boolean, AWS's default `true` |
//! | `InstanceTenancy` | `default`, `dedicated` or `host`; an update can only set it back to `default` (`ModifyVpcTenancy`): to make a VPC dedicated, replace it |
//! | `Tags` | `[{Key, Value}]` |
//!
//! Left out: `Ipv4IpamPoolId`, `Ipv4NetmaskLength` (an IPAM-allocated block) and
//! `VpcEncryptionControl`; `check` refuses them.
//!
//! - `Ref`: the VPC id (`vpc-...`).
//! - `Fn::GetAtt`: `CidrBlock`, `CidrBlockAssociations` (the association ids of its IPv4
//!   blocks), `DefaultNetworkAcl`, `DefaultSecurityGroup`, `Ipv6CidrBlocks`, `VpcId`.
//!
//! `create` is `CreateVpc` with the tags in `TagSpecifications`, a wait until the VPC is
//! `available`, then `ModifyVpcAttribute` for each DNS attribute that is not AWS's default
//! (one attribute per call, as EC2 takes them). An update sends `ModifyVpcAttribute` for a
//! changed DNS attribute, `ModifyVpcTenancy` for a tenancy set back to `default`, and
//! `DeleteTags`/`CreateTags` for the tags. `delete` is `DeleteVpc`, retried while EC2
//! answers `DependencyViolation` (subnets, gateways or network interfaces still going away).
//! `find` (after a crash mid-create) adopts the VPC that carries this resource's ownership
//! tags (`DescribeVpcs` with tag filters): CreateVpc takes no idempotency token, and the
//! tags are on the VPC from the first instant.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tenancy, VpcAttributeName, VpcState, VpcTenancy};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, missing, ownership_filters, tag_map, tag_specification, update_tags, DEPENDENCY_VIOLATION};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::VPC";

pub(crate) static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::with_attributes(crate::schema::load(crate::schema::EC2_VPC, None, &[]), &["CidrBlock"])
    }),
    not_found: &["InvalidVpcID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the VPC id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    cidr_block: Option<String>,
    enable_dns_hostnames: Option<bool>,
    enable_dns_support: Option<bool>,
    instance_tenancy: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

impl Props {
    fn dns_hostnames(&self) -> bool {
        self.enable_dns_hostnames.unwrap_or(false)
    }
    fn dns_support(&self) -> bool {
        self.enable_dns_support.unwrap_or(true)
    }
    fn tenancy(&self) -> &str {
        self.instance_tenancy.as_deref().unwrap_or("default")
    }
}

/// The `AWS::EC2::VPC` resource type.
pub struct Vpc;

impl Vpc {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Vpc> {
        Typed::new(Vpc, aws)
    }
}

async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Option<aws_sdk_ec2::types::Vpc>, ProviderError> {
    let out = ec2.describe_vpcs().vpc_ids(id).send().await.map_err(sdk_error)?;
    Ok(out.vpcs.unwrap_or_default().into_iter().next())
}

async fn attribute(ec2: &aws_sdk_ec2::Client, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
    let out = ec2.describe_vpc_attribute().vpc_id(id).attribute(name.clone()).send().await.map_err(sdk_error)?;
    let value = match name {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames,
        _ => out.enable_dns_support,
    };
    Ok(value.and_then(|v| v.value).unwrap_or_default())
}

async fn set_attribute(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    name: VpcAttributeName,
    on: bool,
) -> Result<(), ProviderError> {
    let value = AttributeBooleanValue::builder().value(on).build();
    let call = ec2.modify_vpc_attribute().vpc_id(id);
    let call = match name {
        VpcAttributeName::EnableDnsHostnames => call.enable_dns_hostnames(value),
        _ => call.enable_dns_support(value),
    };
    call.send().await.map_err(sdk_error)?;
    Ok(())
}

/// The attributes: the VPC's own, its default network ACL and its default security group.
async fn data(ec2: &aws_sdk_ec2::Client, vpc: &aws_sdk_ec2::types::Vpc) -> Result<ResourceData, ProviderError> {
    let id = vpc.vpc_id.clone().ok_or_else(|| missing("VPC id", "DescribeVpcs"))?;
    let acls = ec2
        .describe_network_acls()
        .filters(filter("vpc-id", &id))
        .filters(filter("default", "true"))
        .send()
        .await
        .map_err(sdk_error)?;
    let acl = acls.network_acls.unwrap_or_default().into_iter().find_map(|a| a.network_acl_id);
    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .map_err(sdk_error)?;
    let group = groups.security_groups.unwrap_or_default().into_iter().find_map(|g| g.group_id);
    let associations: Vec<Json> = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|a| {
            a.cidr_block_state.as_ref().and_then(|s| s.state.as_ref()).is_none_or(|s| s.as_str() == "associated")
        })
        .filter_map(|a| a.association_id.clone().map(Json::String))
        .collect();
    let ipv6: Vec<Json> = vpc
        .ipv6_cidr_block_association_set()
        .iter()
        .filter_map(|a| a.ipv6_cidr_block.clone().map(Json::String))
        .collect();
    let mut attributes = BTreeMap::from([
        ("VpcId".to_string(), Value::from(id.as_str())),
        ("CidrBlock".to_string(), Value::from(vpc.cidr_block.clone().unwrap_or_default())),
        ("CidrBlockAssociations".to_string(), Value::from_json(&Json::Array(associations))),
        ("Ipv6CidrBlocks".to_string(), Value::from_json(&Json::Array(ipv6))),
    ]);
    if let Some(acl) = acl {
        attributes.insert("DefaultNetworkAcl".into(), Value::from(acl));
    }
    if let Some(group) = group {
        attributes.insert("DefaultSecurityGroup".into(), Value::from(group));
    }
    Ok(ResourceData { physical_id: id, attributes })
}

#[async_trait]
impl AwsType for Vpc {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.cidr_block.is_none() {
            return Err(PropsError {
                path: "CidrBlock".into(),
                message: "cairn makes a VPC from a `CidrBlock` (it does not take an IPAM pool); add `CidrBlock`".into(),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .create_vpc()
            .set_cidr_block(p.cidr_block.clone())
            .set_instance_tenancy(p.instance_tenancy.as_deref().map(Tenancy::from))
            .tag_specifications(tag_specification(cx, ResourceType::Vpc, &p.tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.vpc.and_then(|v| v.vpc_id).ok_or_else(|| missing("VPC id", "CreateVpc"))?;
        cx.created(&id, async {
            let vpc = cx
                .wait_until(&format!("VPC {id} to be available"), || async {
                    let vpc = cx.found(describe(&ec2, &id).await)?.flatten();
                    Ok(vpc.filter(|v| v.state == Some(VpcState::Available)))
                })
                .await?;
            if !p.dns_support() {
                set_attribute(&ec2, &id, VpcAttributeName::EnableDnsSupport, false).await?;
            }
            if p.dns_hostnames() {
                set_attribute(&ec2, &id, VpcAttributeName::EnableDnsHostnames, true).await?;
            }
            data(&ec2, &vpc).await
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(vpc) = describe(&ec2, physical_id).await? else { return Ok(None) };
        let mut props = BTreeMap::new();
        props.insert("CidrBlock".to_string(), json!(vpc.cidr_block));
        let tenancy = vpc.instance_tenancy.as_ref().map(|t| t.as_str().to_string()).unwrap_or_default();
        if desired.get("InstanceTenancy").is_some() || tenancy != "default" {
            props.insert("InstanceTenancy".into(), json!(tenancy));
        }
        let support = attribute(&ec2, physical_id, VpcAttributeName::EnableDnsSupport).await?;
        if desired.get("EnableDnsSupport").is_some() || !support {
            props.insert("EnableDnsSupport".into(), json!(support));
        }
        let hostnames = attribute(&ec2, physical_id, VpcAttributeName::EnableDnsHostnames).await?;
        if desired.get("EnableDnsHostnames").is_some() || hostnames {
            props.insert("EnableDnsHostnames".into(), json!(hostnames));
        }
        let tags = tag_map(vpc.tags());
        Ok(Some(Live { data: data(&ec2, &vpc).await?, properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        if new.tenancy() != old.tenancy() {
            if new.tenancy() != "default" {
                return Err(ProviderError::with_code(
                    "InvalidParameterCombination",
                    format!(
                        "EC2 can only change a VPC's tenancy back to `default`, not to `{}`; replace VPC {physical_id} instead (give the resource a new logical id)",
                        new.tenancy()
                    ),
                ));
            }
            ec2.modify_vpc_tenancy()
                .vpc_id(physical_id)
                .instance_tenancy(VpcTenancy::Default)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        // Support before hostnames: EC2 refuses DNS hostnames without DNS support.
        if new.dns_support() != old.dns_support() && new.dns_support() {
            set_attribute(&ec2, physical_id, VpcAttributeName::EnableDnsSupport, true).await?;
        }
        if new.dns_hostnames() != old.dns_hostnames() {
            set_attribute(&ec2, physical_id, VpcAttributeName::EnableDnsHostnames, new.dns_hostnames()).await?;
        }
        if new.dns_support() != old.dns_support() && !new.dns_support() {
            set_attribute(&ec2, physical_id, VpcAttributeName::EnableDnsSupport, false).await?;
        }
        let vpc = describe(&ec2, physical_id).await?.ok_or_else(|| missing("VPC", "DescribeVpcs"))?;
        update_tags(cx, &ec2, physical_id, &tag_map(vpc.tags()), &new.tags).await?;
        data(&ec2, &vpc).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        cx.retrying(&[DEPENDENCY_VIOLATION], || async {
            ec2.delete_vpc().vpc_id(physical_id).send().await.map_err(sdk_error)
        })
        .await?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2.describe_vpcs().set_filters(Some(ownership_filters(cx))).send().await.map_err(sdk_error)?;
        let vpcs = out.vpcs.unwrap_or_default();
        let candidates = vpcs.iter().filter_map(|v| Some((v.vpc_id.clone()?, tag_map(v.tags()))));
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        let vpc = vpcs
            .iter()
            .find(|v| v.vpc_id.as_deref() == Some(id.as_str()))
            .ok_or_else(|| missing("VPC", "DescribeVpcs"))?;
        data(&ec2, vpc).await.map(Some)
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({
                "CidrBlock": "10.0.0.0/16",
                "EnableDnsSupport": true,
                "EnableDnsHostnames": true,
                "Tags": [{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": "create"}]
            }),
            update: Some(json!({
                "CidrBlock": "10.0.0.0/16",
                "EnableDnsSupport": true,
                "EnableDnsHostnames": false,
                "Tags": [{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": "update"}]
            })),
            replace: Some(json!({
                "CidrBlock": "10.1.0.0/16",
                "EnableDnsSupport": true,
                "EnableDnsHostnames": false,
                "Tags": [{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": "update"}]
            })),
            nested_replace: None,
            // CreateVpc, DescribeVpcs until available, then this.
            partial_after: Some("ModifyVpcAttribute"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Vpc::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn a_cidr_block_and_aws_defaults() {
        let p = parse(json!({"CidrBlock": "10.0.0.0/16"})).unwrap();
        assert!(p.dns_support() && !p.dns_hostnames());
        assert_eq!(p.tenancy(), "default");
        let e = parse(json!({"EnableDnsHostnames": true})).unwrap_err();
        assert!(e.message.starts_with("CidrBlock: cairn makes a VPC from a `CidrBlock`"), "{}", e.message);
        let e = parse(json!({"CidrBlock": "10.0.0.0/16", "Ipv4NetmaskLength": 16})).unwrap_err();
        assert!(
            e.message.starts_with("Ipv4NetmaskLength: cairn does not support `Ipv4NetmaskLength`"),
            "{}",
            e.message
        );
    }
}
