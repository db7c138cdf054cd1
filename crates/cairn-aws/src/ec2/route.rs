//! `AWS::EC2::Route`: one route of a route table.
//!
//! | property | notes |
//! | --- | --- |
//! | `RouteTableId` | string, required, create-only |
//! | `DestinationCidrBlock` | string, create-only; this or `DestinationIpv6CidrBlock` |
//! | `DestinationIpv6CidrBlock` | string, create-only |
//! | `GatewayId` | an internet (or virtual private) gateway |
//! | `NatGatewayId` | a NAT gateway |
//! | `EgressOnlyInternetGatewayId`, `InstanceId`, `NetworkInterfaceId`, `TransitGatewayId`, `VpcPeeringConnectionId` | the other targets; exactly one target in all |
//!
//! Left out (`check` refuses them): `CarrierGatewayId`, `CoreNetworkArn`,
//! `DestinationPrefixListId`, `LocalGatewayId`, `OdbNetworkArn`, `VpcEndpointId`.
//!
//! - `Ref`: the route's id, the registry's primary identifier `{RouteTableId}|{CidrBlock}`
//!   (`rtb-0abc|0.0.0.0/0`).
//! - `Fn::GetAtt`: `CidrBlock` (the destination, IPv4 or IPv6).
//!
//! `create` is `CreateRoute`, then a wait until `DescribeRouteTables` shows the route. A new
//! target is an update in place (`ReplaceRoute`); a new destination or route table
//! replaces. `read` finds the route by its destination in its table; only the target
//! properties the template gives are shown (EC2 reports an instance's route with its
//! network interface too). `delete` is `DeleteRoute`. `find` adopts the route of that
//! destination when it already points at the target (a route has no tags; its table and
//! destination name it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::route_table::describe as describe_table;
use super::split_id;
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::Route";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_ROUTE, None, &[])),
    not_found: &["InvalidRoute.NotFound", "InvalidRouteTableID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the route table id and destination, `rtb-...|0.0.0.0/0`",
};

/// The target properties, in the order `check` names them.
const TARGETS: [&str; 7] = [
    "GatewayId",
    "NatGatewayId",
    "EgressOnlyInternetGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    route_table_id: String,
    destination_cidr_block: Option<String>,
    destination_ipv6_cidr_block: Option<String>,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
    egress_only_internet_gateway_id: Option<String>,
    instance_id: Option<String>,
    network_interface_id: Option<String>,
    transit_gateway_id: Option<String>,
    vpc_peering_connection_id: Option<String>,
}

impl Props {
    fn destination(&self) -> Result<&str, PropsError> {
        match (&self.destination_cidr_block, &self.destination_ipv6_cidr_block) {
            (Some(v4), None) => Ok(v4),
            (None, Some(v6)) => Ok(v6),
            (Some(_), Some(_)) => Err(PropsError {
                path: "DestinationIpv6CidrBlock".into(),
                message:
                    "a route has one destination: give `DestinationCidrBlock` or `DestinationIpv6CidrBlock`, not both"
                        .into(),
            }),
            (None, None) => Err(PropsError {
                path: "DestinationCidrBlock".into(),
                message: "a route needs a destination: add `DestinationCidrBlock` (or `DestinationIpv6CidrBlock`)"
                    .into(),
            }),
        }
    }

    /// The target properties given, by name.
    fn targets(&self) -> Vec<(&'static str, &str)> {
        let values = [
            &self.gateway_id,
            &self.nat_gateway_id,
            &self.egress_only_internet_gateway_id,
            &self.instance_id,
            &self.network_interface_id,
            &self.transit_gateway_id,
            &self.vpc_peering_connection_id,
        ];
        TARGETS.iter().zip(values).filter_map(|(name, v)| Some((*name, v.as_deref()?))).collect()
    }

    fn target(&self) -> Result<(&'static str, &str), PropsError> {
        match self.targets()[..] {
            [one] => Ok(one),
            [] => Err(PropsError {
                path: "GatewayId".into(),
                message: format!("a route needs a target: add one of {}", TARGETS.join(", ")),
            }),
            ref many => Err(PropsError {
                path: many[1].0.into(),
                message: format!(
                    "a route has one target; the template gives {}",
                    many.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" and ")
                ),
            }),
        }
    }
}

/// The `AWS::EC2::Route` resource type.
pub struct Route;

impl Route {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Route> {
        Typed::new(Route, aws)
    }
}

fn data(table: &str, destination: &str) -> ResourceData {
    ResourceData {
        physical_id: format!("{table}|{destination}"),
        attributes: BTreeMap::from([("CidrBlock".to_string(), Value::from(destination))]),
    }
}

fn is_ipv6(destination: &str) -> bool {
    destination.contains(':')
}

/// The route of `destination` in `table`, if there is one.
async fn describe(
    ec2: &aws_sdk_ec2::Client,
    table: &str,
    destination: &str,
) -> Result<Option<aws_sdk_ec2::types::Route>, ProviderError> {
    let Some(t) = describe_table(ec2, table).await? else { return Ok(None) };
    Ok(t.routes()
        .iter()
        .find(|r| {
            r.destination_cidr_block.as_deref() == Some(destination)
                || r.destination_ipv6_cidr_block.as_deref() == Some(destination)
        })
        .cloned())
}

/// A route's target properties, by name (only those EC2 reports).
fn live_targets(r: &aws_sdk_ec2::types::Route) -> Vec<(&'static str, String)> {
    let values = [
        &r.gateway_id,
        &r.nat_gateway_id,
        &r.egress_only_internet_gateway_id,
        &r.instance_id,
        &r.network_interface_id,
        &r.transit_gateway_id,
        &r.vpc_peering_connection_id,
    ];
    TARGETS.iter().zip(values).filter_map(|(name, v)| Some((*name, v.clone()?))).collect()
}

#[async_trait]
impl AwsType for Route {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.destination()?;
        p.target().map(|_| ())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let destination = p.destination()?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        ec2.create_route()
            .route_table_id(&p.route_table_id)
            .set_destination_cidr_block(p.destination_cidr_block.clone())
            .set_destination_ipv6_cidr_block(p.destination_ipv6_cidr_block.clone())
            .set_gateway_id(p.gateway_id.clone())
            .set_nat_gateway_id(p.nat_gateway_id.clone())
            .set_egress_only_internet_gateway_id(p.egress_only_internet_gateway_id.clone())
            .set_instance_id(p.instance_id.clone())
            .set_network_interface_id(p.network_interface_id.clone())
            .set_transit_gateway_id(p.transit_gateway_id.clone())
            .set_vpc_peering_connection_id(p.vpc_peering_connection_id.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let out = data(&p.route_table_id, destination);
        cx.created(&out.physical_id, async {
            cx.wait_until(&format!("the route to {destination} in {} to exist", p.route_table_id), || async {
                Ok(cx.found(describe(&ec2, &p.route_table_id, destination).await)?.flatten().map(|_| ()))
            })
            .await
        })
        .await?;
        Ok(out)
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let (table, destination) = split_id(physical_id, "rtb-...|CIDR")?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(r) = describe(&ec2, table, destination).await? else { return Ok(None) };
        let mut props = BTreeMap::from([("RouteTableId".to_string(), json!(table))]);
        let key = if is_ipv6(destination) { "DestinationIpv6CidrBlock" } else { "DestinationCidrBlock" };
        props.insert(key.to_string(), json!(destination));
        let live = live_targets(&r);
        let given: Vec<&str> = TARGETS.iter().copied().filter(|t| desired.get(*t).is_some()).collect();
        for (name, value) in &live {
            // The targets the template names; or, when it names none EC2 reports, all of them.
            if given.contains(name) || !live.iter().any(|(n, _)| given.contains(n)) {
                props.insert(name.to_string(), json!(value));
            }
        }
        Ok(Some(Live { data: data(table, destination), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let (table, destination) = split_id(physical_id, "rtb-...|CIDR")?;
        new.target()?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        ec2.replace_route()
            .route_table_id(table)
            .set_destination_cidr_block(new.destination_cidr_block.clone())
            .set_destination_ipv6_cidr_block(new.destination_ipv6_cidr_block.clone())
            .set_gateway_id(new.gateway_id.clone())
            .set_nat_gateway_id(new.nat_gateway_id.clone())
            .set_egress_only_internet_gateway_id(new.egress_only_internet_gateway_id.clone())
            .set_instance_id(new.instance_id.clone())
            .set_network_interface_id(new.network_interface_id.clone())
            .set_transit_gateway_id(new.transit_gateway_id.clone())
            .set_vpc_peering_connection_id(new.vpc_peering_connection_id.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(table, destination))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let (table, destination) = split_id(physical_id, "rtb-...|CIDR")?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        let call = ec2.delete_route().route_table_id(table);
        let call = if is_ipv6(destination) {
            call.destination_ipv6_cidr_block(destination)
        } else {
            call.destination_cidr_block(destination)
        };
        call.send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let destination = p.destination()?;
        let (name, target) = p.target()?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(r) = describe(&ec2, &p.route_table_id, destination).await? else { return Ok(None) };
        let ours = live_targets(&r).iter().any(|(n, v)| *n == name && v == target);
        Ok(ours.then(|| data(&p.route_table_id, destination)))
    }

    fn fixture(&self) -> Fixture {
        let route = |destination: &str, target: &str, id: &str| json!({"RouteTableId": {"Ref": "Table"}, "DestinationCidrBlock": destination, (target): {"Ref": id}});
        Fixture {
            support: json!({
                "Network": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.70.0.0/16"}},
                "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
                "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
                    "VpcId": {"Ref": "Network"}, "InternetGatewayId": {"Ref": "Gateway"}}},
                "Public": {"Type": "AWS::EC2::Subnet", "DependsOn": "Attachment", "Properties": {
                    "VpcId": {"Ref": "Network"}, "CidrBlock": "10.70.1.0/24", "AvailabilityZone": "us-east-1a"}},
                "NatIp": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
                "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {
                    "SubnetId": {"Ref": "Public"}, "AllocationId": {"Fn::GetAtt": ["NatIp", "AllocationId"]}}},
                "Table": {"Type": "AWS::EC2::RouteTable", "DependsOn": "Attachment", "Properties": {"VpcId": {"Ref": "Network"}}}
            }),
            create: route("0.0.0.0/0", "NatGatewayId", "Nat"),
            // Another target: ReplaceRoute.
            update: Some(route("0.0.0.0/0", "GatewayId", "Gateway")),
            replace: Some(route("192.168.0.0/16", "GatewayId", "Gateway")),
            nested_replace: None,
            // One call makes all of it ; what follows only
            // waits until EC2 shows it, so the refused call is the create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Route::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn one_destination_and_one_target() {
        let p =
            parse(json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"})).unwrap();
        assert_eq!(p.target().unwrap(), ("GatewayId", "igw-1"));
        assert_eq!(data("rtb-1", p.destination().unwrap()).physical_id, "rtb-1|0.0.0.0/0");
        let e = parse(json!({"RouteTableId": "rtb-1", "GatewayId": "igw-1"})).unwrap_err();
        assert!(e.message.starts_with("DestinationCidrBlock: a route needs a destination"), "{}", e.message);
        let e = parse(json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0"})).unwrap_err();
        assert!(e.message.starts_with("GatewayId: a route needs a target"), "{}", e.message);
        let e = parse(json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "NatGatewayId": "nat-1"}))
            .unwrap_err();
        assert_eq!(e.message, "NatGatewayId: a route has one target; the template gives GatewayId and NatGatewayId");
        assert!(is_ipv6("::/0") && !is_ipv6("0.0.0.0/0"));
    }
}
