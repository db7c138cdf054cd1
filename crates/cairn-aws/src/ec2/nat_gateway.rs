//! `AWS::EC2::NatGateway`: a zonal NAT gateway in a subnet.
//!
//! | property | notes |
//! | --- | --- |
//! | `SubnetId` | string, create-only; required here (cairn makes zonal NAT gateways) |
//! | `AllocationId` | string, create-only: the Elastic IP of a public NAT gateway (`Fn::GetAtt [Eip, AllocationId]`) |
//! | `ConnectivityType` | `public` (AWS's default) or `private`, create-only |
//! | `PrivateIpAddress` | string, create-only |
//! | `Tags` | `[{Key, Value}]` |
//!
//! Left out (`check` refuses them): `AvailabilityMode`, `AvailabilityZoneAddresses` and
//! `VpcId` (regional NAT gateways), `MaxDrainDurationSeconds`, `SecondaryAllocationIds`,
//! `SecondaryPrivateIpAddresses`, `SecondaryPrivateIpAddressCount`.
//!
//! - `Ref`: the NAT gateway id (`nat-...`).
//! - `Fn::GetAtt`: `NatGatewayId`, `EniId` (its primary network interface).
//!
//! `create` is `CreateNatGateway` with a `ClientToken` from the journaled seed (a retried
//! create makes one gateway) and the tags in `TagSpecifications`, then a wait until it is
//! `available` (minutes on AWS; a `failed` gateway ends the wait with EC2's failure code
//! and message). An update changes the tags (`DeleteTags`/`CreateTags`). `delete` is
//! `DeleteNatGateway`, then a wait until it is `deleted`: only then does AWS let its
//! Elastic IP go and its subnet be deleted. A `deleted` or `failed` gateway (AWS lists them
//! for an hour) reads as gone. `find` adopts the subnet's gateway that carries this
//! resource's ownership tags (`DescribeNatGateways`, filter `subnet-id`).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ConnectivityType, NatGateway as Gateway, NatGatewayState, ResourceType};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, missing, tag_map, tag_specification, update_tags};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::NatGateway";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_NAT_GATEWAY, None, &[])),
    not_found: &["NatGatewayNotFound"],
    // Creating and deleting a NAT gateway take minutes on AWS.
    timeout: Duration::from_secs(20 * 60),
    reference: "the NAT gateway id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    subnet_id: Option<String>,
    allocation_id: Option<String>,
    connectivity_type: Option<String>,
    private_ip_address: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::EC2::NatGateway` resource type.
pub struct NatGateway;

impl NatGateway {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<NatGateway> {
        Typed::new(NatGateway, aws)
    }
}

/// A gateway that AWS still lists but that is no more (or never was usable).
fn gone(g: &Gateway) -> bool {
    matches!(g.state, Some(NatGatewayState::Deleted | NatGatewayState::Failed))
}

/// The gateway with this id, whatever its state.
async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Option<Gateway>, ProviderError> {
    let out = ec2.describe_nat_gateways().nat_gateway_ids(id).send().await.map_err(sdk_error)?;
    Ok(out.nat_gateways.unwrap_or_default().into_iter().find(|g| g.nat_gateway_id.as_deref() == Some(id)))
}

fn primary(g: &Gateway) -> Option<&aws_sdk_ec2::types::NatGatewayAddress> {
    let addresses = g.nat_gateway_addresses();
    addresses.iter().find(|a| a.is_primary == Some(true)).or(addresses.first())
}

fn data(g: &Gateway) -> Result<ResourceData, ProviderError> {
    let id = g.nat_gateway_id.clone().ok_or_else(|| missing("NAT gateway id", "DescribeNatGateways"))?;
    let mut attributes = BTreeMap::from([("NatGatewayId".to_string(), Value::from(id.as_str()))]);
    if let Some(eni) = primary(g).and_then(|a| a.network_interface_id.clone()) {
        attributes.insert("EniId".into(), Value::from(eni));
    }
    Ok(ResourceData { physical_id: id, attributes })
}

#[async_trait]
impl AwsType for NatGateway {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.subnet_id.is_none() {
            return Err(PropsError {
                path: "SubnetId".into(),
                message: "cairn makes zonal NAT gateways, in a subnet; add `SubnetId`".into(),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .create_nat_gateway()
            .set_subnet_id(p.subnet_id.clone())
            .set_allocation_id(p.allocation_id.clone())
            .set_connectivity_type(p.connectivity_type.as_deref().map(ConnectivityType::from))
            .set_private_ip_address(p.private_ip_address.clone())
            .client_token(cx.token("CreateNatGateway", 64))
            .tag_specifications(tag_specification(cx, ResourceType::Natgateway, &p.tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out
            .nat_gateway
            .and_then(|g| g.nat_gateway_id)
            .ok_or_else(|| missing("NAT gateway id", "CreateNatGateway"))?;
        cx.created(&id, async {
            let g = cx
                .wait_until(&format!("NAT gateway {id} to be available"), || async {
                    let Some(g) = cx.found(describe(&ec2, &id).await)?.flatten() else { return Ok(None) };
                    match g.state.clone() {
                        Some(NatGatewayState::Available) => Ok(Some(g)),
                        Some(NatGatewayState::Failed | NatGatewayState::Deleting | NatGatewayState::Deleted) => {
                            Err(ProviderError::with_code(
                                g.failure_code.clone().unwrap_or_else(|| "NatGatewayFailed".into()),
                                format!(
                                    "NAT gateway {id} failed to become available: {}; fix the cause, then run `cairn up` again (it replaces the failed gateway)",
                                    g.failure_message.as_deref().unwrap_or("EC2 gave no reason")
                                ),
                            ))
                        }
                        _ => Ok(None),
                    }
                })
                .await?;
            data(&g)
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(g) = describe(&ec2, physical_id).await?.filter(|g| !gone(g)) else { return Ok(None) };
        let mut props = BTreeMap::from([("SubnetId".to_string(), json!(g.subnet_id))]);
        let address = primary(&g);
        if let Some(allocation) = address.and_then(|a| a.allocation_id.clone()) {
            props.insert("AllocationId".into(), json!(allocation));
        }
        let connectivity = g.connectivity_type.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default();
        if desired.get("ConnectivityType").is_some() || connectivity != "public" {
            props.insert("ConnectivityType".into(), json!(connectivity));
        }
        if desired.get("PrivateIpAddress").is_some() {
            props.insert("PrivateIpAddress".into(), json!(address.and_then(|a| a.private_ip.clone())));
        }
        Ok(Some(Live { data: data(&g)?, properties: props, tags: Some(tag_map(g.tags())) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let g = describe(&ec2, physical_id).await?.ok_or_else(|| missing("NAT gateway", "DescribeNatGateways"))?;
        update_tags(cx, &ec2, physical_id, &tag_map(g.tags()), &new.tags).await?;
        data(&g)
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        match describe(&ec2, physical_id).await? {
            None => return Ok(()),
            Some(g) if g.state == Some(NatGatewayState::Deleted) => return Ok(()),
            Some(g) if g.state == Some(NatGatewayState::Deleting) => {}
            Some(_) => {
                ec2.delete_nat_gateway().nat_gateway_id(physical_id).send().await.map_err(sdk_error)?;
            }
        }
        cx.wait_until(&format!("NAT gateway {physical_id} to be deleted"), || async {
            let g = cx.found(describe(&ec2, physical_id).await)?.flatten();
            Ok(g.is_none_or(|g| g.state == Some(NatGatewayState::Deleted)).then_some(()))
        })
        .await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(subnet) = &p.subnet_id else { return Ok(None) };
        let out = ec2.describe_nat_gateways().filter(filter("subnet-id", subnet)).send().await.map_err(sdk_error)?;
        let gateways: Vec<Gateway> = out.nat_gateways.unwrap_or_default().into_iter().filter(|g| !gone(g)).collect();
        let candidates = gateways.iter().filter_map(|g| Some((g.nat_gateway_id.clone()?, tag_map(g.tags()))));
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        let g = gateways
            .iter()
            .find(|g| g.nat_gateway_id.as_deref() == Some(id.as_str()))
            .ok_or_else(|| missing("NAT gateway", "DescribeNatGateways"))?;
        data(g).map(Some)
    }

    fn fixture(&self) -> Fixture {
        let eip = json!({"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}});
        let tags =
            |stage: &str| json!([{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": stage}]);
        let props = |eip: &str, stage: &str| {
            json!({
                "SubnetId": {"Ref": "Public"},
                // `${Ip.AllocationId}`, a `Fn::GetAtt` (written so that the fixture's
                // update compares equal before the support resources exist).
                "AllocationId": {"Fn::Sub": format!("${{{eip}.AllocationId}}")},
                "ConnectivityType": "public",
                "Tags": tags(stage)
            })
        };
        Fixture {
            // A public NAT gateway needs its VPC to have an internet gateway.
            support: json!({
                "Network": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.60.0.0/16"}},
                "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
                "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
                    "VpcId": {"Ref": "Network"}, "InternetGatewayId": {"Ref": "Gateway"}}},
                "Public": {"Type": "AWS::EC2::Subnet", "DependsOn": "Attachment", "Properties": {
                    "VpcId": {"Ref": "Network"}, "CidrBlock": "10.60.1.0/24", "AvailabilityZone": "us-east-1a"}},
                "FirstIp": eip.clone(),
                "SecondIp": eip
            }),
            create: props("FirstIp", "create"),
            update: Some(props("FirstIp", "update")),
            replace: Some(props("SecondIp", "update")),
            nested_replace: None,
            // One call makes all of it (its tags are in TagSpecifications); what follows only
            // waits until EC2 shows it, so the refused call is the create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}
