//! `AWS::EC2::SubnetRouteTableAssociation`: a subnet routed through a route table.
//!
//! | property | notes |
//! | --- | --- |
//! | `SubnetId` | string, required, create-only |
//! | `RouteTableId` | string, required, create-only |
//!
//! - `Ref`: the association id (`rtbassoc-...`).
//! - `Fn::GetAtt`: `Id` (the same).
//!
//! `create` is `AssociateRouteTable`, then a wait until the association is `associated`.
//! Nothing updates in place. A subnet has at most one explicit association, so `SubnetId`
//! is the type's name property: a replacement that keeps the subnet (another route table)
//! deletes the old association before it makes the new one, as EC2 refuses a second one
//! (`Resource.AlreadyAssociated`). `read` looks the association up by id
//! (`DescribeRouteTables`, filter `association.route-table-association-id`). `delete` is
//! `DisassociateRouteTable`. `find` adopts the subnet's association with the route table,
//! where the subnet has one (an association has no tags; the pair names it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{RouteTableAssociation, RouteTableAssociationStateCode};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, missing};
use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::SubnetRouteTableAssociation";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::load(crate::schema::EC2_SUBNET_ROUTE_TABLE_ASSOCIATION, Some("SubnetId"), &[])
    }),
    not_found: &["InvalidAssociationID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the association id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    subnet_id: String,
    route_table_id: String,
}

/// The `AWS::EC2::SubnetRouteTableAssociation` resource type.
pub struct SubnetRouteTableAssociation;

impl SubnetRouteTableAssociation {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<SubnetRouteTableAssociation> {
        Typed::new(SubnetRouteTableAssociation, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData { physical_id: id.to_string(), attributes: BTreeMap::from([("Id".to_string(), Value::from(id))]) }
}

/// The association with this id, if it exists (and is not being taken apart).
async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Option<RouteTableAssociation>, ProviderError> {
    let out = ec2
        .describe_route_tables()
        .filters(filter("association.route-table-association-id", id))
        .send()
        .await
        .map_err(sdk_error)?;
    let found = out
        .route_tables()
        .iter()
        .flat_map(|t| t.associations())
        .find(|a| a.route_table_association_id.as_deref() == Some(id))
        .cloned();
    Ok(found.filter(|a| !gone(a)))
}

fn state(a: &RouteTableAssociation) -> Option<&RouteTableAssociationStateCode> {
    a.association_state.as_ref().and_then(|s| s.state.as_ref())
}

fn gone(a: &RouteTableAssociation) -> bool {
    matches!(
        state(a),
        Some(RouteTableAssociationStateCode::Disassociating | RouteTableAssociationStateCode::Disassociated)
    )
}

#[async_trait]
impl AwsType for SubnetRouteTableAssociation {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .associate_route_table()
            .subnet_id(&p.subnet_id)
            .route_table_id(&p.route_table_id)
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.association_id.ok_or_else(|| missing("association id", "AssociateRouteTable"))?;
        cx.created(&id, async {
            cx.wait_until(&format!("route table association {id} to be associated"), || async {
                let a = describe(&ec2, &id).await?;
                if let Some(RouteTableAssociationStateCode::Failed) = a.as_ref().and_then(state) {
                    let why = a.as_ref().and_then(|a| a.association_state.as_ref()?.status_message.clone());
                    return Err(ProviderError::with_code(
                        "AssociationFailed",
                        format!(
                            "EC2 could not associate subnet {} with route table {}: {}",
                            p.subnet_id,
                            p.route_table_id,
                            why.unwrap_or_default()
                        ),
                    ));
                }
                // EC2 reports no state for an association it made at once (and moto none at all).
                Ok(a.filter(|a| state(a).is_none_or(|s| *s == RouteTableAssociationStateCode::Associated)).map(|_| ()))
            })
            .await
        })
        .await?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(a) = describe(&ec2, physical_id).await? else { return Ok(None) };
        let props = BTreeMap::from([
            ("SubnetId".to_string(), json!(a.subnet_id)),
            ("RouteTableId".to_string(), json!(a.route_table_id)),
        ]);
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        _cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        _new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        // Both properties are create-only: a change replaces.
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        ec2.disassociate_route_table().association_id(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .describe_route_tables()
            .filters(filter("association.subnet-id", &p.subnet_id))
            .send()
            .await
            .map_err(sdk_error)?;
        let found = out
            .route_tables()
            .iter()
            .flat_map(|t| t.associations())
            .find(|a| {
                a.subnet_id.as_deref() == Some(p.subnet_id.as_str())
                    && a.route_table_id.as_deref() == Some(p.route_table_id.as_str())
                    && !gone(a)
            })
            .and_then(|a| a.route_table_association_id.clone());
        Ok(found.map(|id| data(&id)))
    }

    fn fixture(&self) -> Fixture {
        let table = json!({"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Network"}}});
        Fixture {
            support: json!({
                "Network": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.50.0.0/16"}},
                "Private": {"Type": "AWS::EC2::Subnet", "Properties": {
                    "VpcId": {"Ref": "Network"}, "CidrBlock": "10.50.1.0/24", "AvailabilityZone": "us-east-1a"}},
                "First": table.clone(),
                "Second": table
            }),
            create: json!({"SubnetId": {"Ref": "Private"}, "RouteTableId": {"Ref": "First"}}),
            update: None,
            // The same subnet: the old association goes first (SubnetId is the name property).
            replace: Some(json!({"SubnetId": {"Ref": "Private"}, "RouteTableId": {"Ref": "Second"}})),
            nested_replace: None,
            // One call makes all of it ; what follows only
            // waits until EC2 shows it, so the refused call is the create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}
