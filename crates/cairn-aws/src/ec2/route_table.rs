//! `AWS::EC2::RouteTable`: a route table of a VPC (its routes are `AWS::EC2::Route`s, its
//! subnets `AWS::EC2::SubnetRouteTableAssociation`s).
//!
//! | property | notes |
//! | --- | --- |
//! | `VpcId` | string, required, create-only |
//! | `Tags` | `[{Key, Value}]` |
//!
//! - `Ref`: the route table id (`rtb-...`).
//! - `Fn::GetAtt`: `RouteTableId`.
//!
//! `create` is `CreateRouteTable` with the tags in `TagSpecifications` and a `ClientToken`
//! from the journaled seed (a retried create makes one table), then a wait until
//! `DescribeRouteTables` shows it. An update changes the tags (`DeleteTags`/`CreateTags`).
//! `delete` is `DeleteRouteTable`, retried while EC2 answers `DependencyViolation` (subnet
//! associations still going away). `find` adopts the table of the VPC that carries this
//! resource's ownership tags (`DescribeRouteTables` with tag filters).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, missing, ownership_filters, tag_map, tag_specification, update_tags, DEPENDENCY_VIOLATION};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::RouteTable";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_ROUTE_TABLE, None, &[])),
    not_found: &["InvalidRouteTableID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the route table id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    vpc_id: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::EC2::RouteTable` resource type.
pub struct RouteTable;

impl RouteTable {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<RouteTable> {
        Typed::new(RouteTable, aws)
    }
}

pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    let out = ec2.describe_route_tables().route_table_ids(id).send().await.map_err(sdk_error)?;
    Ok(out.route_tables.unwrap_or_default().into_iter().next())
}

fn data(id: &str) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([("RouteTableId".to_string(), Value::from(id))]),
    }
}

#[async_trait]
impl AwsType for RouteTable {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .create_route_table()
            .vpc_id(&p.vpc_id)
            .client_token(cx.token("CreateRouteTable", 64))
            .tag_specifications(tag_specification(cx, ResourceType::RouteTable, &p.tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out
            .route_table
            .and_then(|t| t.route_table_id)
            .ok_or_else(|| missing("route table id", "CreateRouteTable"))?;
        cx.created(&id, async {
            cx.wait_until(&format!("route table {id} to exist"), || async {
                Ok(cx.found(describe(&ec2, &id).await)?.flatten().map(|_| ()))
            })
            .await
        })
        .await?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(t) = describe(&ec2, physical_id).await? else { return Ok(None) };
        let props = BTreeMap::from([("VpcId".to_string(), json!(t.vpc_id))]);
        Ok(Some(Live { data: data(physical_id), properties: props, tags: Some(tag_map(t.tags())) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let t = describe(&ec2, physical_id).await?.ok_or_else(|| missing("route table", "DescribeRouteTables"))?;
        update_tags(cx, &ec2, physical_id, &tag_map(t.tags()), &new.tags).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        cx.retrying(&[DEPENDENCY_VIOLATION], || async {
            ec2.delete_route_table().route_table_id(physical_id).send().await.map_err(sdk_error)
        })
        .await?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let filters = [vec![filter("vpc-id", &p.vpc_id)], ownership_filters(cx)].concat();
        let out = ec2.describe_route_tables().set_filters(Some(filters)).send().await.map_err(sdk_error)?;
        let candidates = out.route_tables().iter().filter_map(|t| Some((t.route_table_id.clone()?, tag_map(t.tags()))));
        Ok(ids::owned(cx.ctx, candidates)?.map(|id| data(&id)))
    }

    fn fixture(&self) -> Fixture {
        let vpc = |cidr: &str| json!({"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": cidr}});
        let tags =
            |stage: &str| json!([{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": stage}]);
        Fixture {
            support: json!({"Network": vpc("10.40.0.0/16"), "Other": vpc("10.41.0.0/16")}),
            create: json!({"VpcId": {"Ref": "Network"}, "Tags": tags("create")}),
            update: Some(json!({"VpcId": {"Ref": "Network"}, "Tags": tags("update")})),
            replace: Some(json!({"VpcId": {"Ref": "Other"}, "Tags": tags("update")})),
            nested_replace: None,
            // One call makes all of it (its tags are in TagSpecifications); what follows only
            // waits until EC2 shows it, so the refused call is the create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}
