//! `AWS::EC2::VPCGatewayAttachment`: an internet gateway attached to a VPC.
//!
//! | property | notes |
//! | --- | --- |
//! | `VpcId` | string, required, create-only |
//! | `InternetGatewayId` | string; required here; a change detaches the old gateway and attaches the new one |
//!
//! Left out: `VpnGatewayId` (a virtual private gateway: cairn has no
//! `AWS::EC2::VPNGateway`); `check` refuses it.
//!
//! - `Ref`: the attachment's id, the registry's primary identifier `IGW|{VpcId}`
//!   (attachment type and VPC: a VPC has at most one internet gateway, so the id stays the
//!   same when the gateway changes).
//! - `Fn::GetAtt`: `AttachmentType` (`IGW`).
//!
//! `create` is `AttachInternetGateway`. `read` looks for the internet gateway attached to
//! the VPC (`DescribeInternetGateways`, filter `attachment.vpc-id`): none means the
//! attachment is gone. An update detaches the old gateway (`DetachInternetGateway`) and
//! attaches the new one. `delete` is `DetachInternetGateway`, retried while EC2 answers
//! `DependencyViolation` (the VPC still has public addresses mapped, of a NAT gateway or
//! an instance going away). `find` adopts the attachment when the gateway is already
//! attached to the VPC (an attachment has no tags; the pair names it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, split_id, DEPENDENCY_VIOLATION};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::VPCGatewayAttachment";

/// The attachment type of an internet gateway's attachment.
const IGW: &str = "IGW";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_VPC_GATEWAY_ATTACHMENT, None, &[])),
    not_found: &["Gateway.NotAttached", "InvalidInternetGatewayID.NotFound", "InvalidVpcID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the attachment type and VPC id, `IGW|vpc-...`",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    vpc_id: String,
    internet_gateway_id: Option<String>,
}

impl Props {
    fn gateway(&self) -> Result<&str, PropsError> {
        self.internet_gateway_id.as_deref().ok_or_else(|| PropsError {
            path: "InternetGatewayId".into(),
            message: "cairn attaches internet gateways only (not VPN gateways); add `InternetGatewayId`".into(),
        })
    }
}

/// The `AWS::EC2::VPCGatewayAttachment` resource type.
pub struct VpcGatewayAttachment;

impl VpcGatewayAttachment {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<VpcGatewayAttachment> {
        Typed::new(VpcGatewayAttachment, aws)
    }
}

fn data(vpc: &str) -> ResourceData {
    ResourceData {
        physical_id: format!("{IGW}|{vpc}"),
        attributes: BTreeMap::from([("AttachmentType".to_string(), Value::from(IGW))]),
    }
}

fn vpc_of(physical_id: &str) -> Result<&str, ProviderError> {
    split_id(physical_id, "IGW|vpc-...").map(|(_, vpc)| vpc)
}

/// The internet gateway attached to `vpc`, if any.
async fn attached(ec2: &aws_sdk_ec2::Client, vpc: &str) -> Result<Option<String>, ProviderError> {
    let out =
        ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", vpc)).send().await.map_err(sdk_error)?;
    Ok(out.internet_gateways().iter().find_map(|g| g.internet_gateway_id.clone()))
}

async fn attach(ec2: &aws_sdk_ec2::Client, gateway: &str, vpc: &str) -> Result<(), ProviderError> {
    ec2.attach_internet_gateway().internet_gateway_id(gateway).vpc_id(vpc).send().await.map_err(sdk_error)?;
    Ok(())
}

async fn detach(cx: &Cx<'_>, ec2: &aws_sdk_ec2::Client, gateway: &str, vpc: &str) -> Result<(), ProviderError> {
    cx.retrying(&[DEPENDENCY_VIOLATION], || async {
        ec2.detach_internet_gateway().internet_gateway_id(gateway).vpc_id(vpc).send().await.map_err(sdk_error)
    })
    .await?;
    Ok(())
}

#[async_trait]
impl AwsType for VpcGatewayAttachment {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.gateway().map(|_| ())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        attach(&ec2, p.gateway()?, &p.vpc_id).await?;
        Ok(data(&p.vpc_id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let vpc = vpc_of(physical_id)?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(gateway) = attached(&ec2, vpc).await? else { return Ok(None) };
        let props =
            BTreeMap::from([("VpcId".to_string(), json!(vpc)), ("InternetGatewayId".to_string(), json!(gateway))]);
        Ok(Some(Live { data: data(vpc), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let vpc = vpc_of(physical_id)?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        let wanted = new.gateway()?;
        let live = attached(&ec2, vpc).await?;
        if live.as_deref() != Some(wanted) {
            if let Some(old) = &live {
                cx.found(detach(cx, &ec2, old, vpc).await)?;
            }
            attach(&ec2, wanted, vpc).await?;
        }
        Ok(data(vpc))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let vpc = vpc_of(physical_id)?;
        let ec2: aws_sdk_ec2::Client = cx.client();
        detach(cx, &ec2, p.gateway()?, vpc).await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let live = attached(&ec2, &p.vpc_id).await?;
        Ok((live.as_deref() == Some(p.gateway()?)).then(|| data(&p.vpc_id)))
    }

    fn fixture(&self) -> Fixture {
        let vpc = |cidr: &str| json!({"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": cidr}});
        let gateway = json!({"Type": "AWS::EC2::InternetGateway", "Properties": {}});
        Fixture {
            support: json!({
                "Network": vpc("10.30.0.0/16"),
                "Other": vpc("10.31.0.0/16"),
                "First": gateway.clone(),
                "Second": gateway
            }),
            create: json!({"VpcId": {"Ref": "Network"}, "InternetGatewayId": {"Ref": "First"}}),
            update: Some(json!({"VpcId": {"Ref": "Network"}, "InternetGatewayId": {"Ref": "Second"}})),
            // The first gateway is free again after the update.
            replace: Some(json!({"VpcId": {"Ref": "Other"}, "InternetGatewayId": {"Ref": "First"}})),
            nested_replace: None,
            // One call: AttachInternetGateway.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        VpcGatewayAttachment::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn internet_gateways_only_and_the_id_is_the_vpcs() {
        parse(json!({"VpcId": "vpc-1", "InternetGatewayId": "igw-1"})).unwrap();
        let e = parse(json!({"VpcId": "vpc-1"})).unwrap_err();
        assert!(e.message.starts_with("InternetGatewayId: cairn attaches internet gateways only"), "{}", e.message);
        let e = parse(json!({"VpcId": "vpc-1", "VpnGatewayId": "vgw-1"})).unwrap_err();
        assert!(e.message.starts_with("VpnGatewayId: cairn does not support `VpnGatewayId`"), "{}", e.message);
        assert_eq!(data("vpc-1").physical_id, "IGW|vpc-1");
        assert_eq!(vpc_of("IGW|vpc-1").unwrap(), "vpc-1");
    }
}
