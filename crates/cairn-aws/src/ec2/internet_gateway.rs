//! `AWS::EC2::InternetGateway`: an internet gateway, attached to a VPC by an
//! `AWS::EC2::VPCGatewayAttachment`.
//!
//! | property | notes |
//! | --- | --- |
//! | `Tags` | `[{Key, Value}]` |
//!
//! - `Ref`: the internet gateway id (`igw-...`).
//! - `Fn::GetAtt`: `InternetGatewayId`.
//!
//! `create` is `CreateInternetGateway` with the tags in `TagSpecifications`, then a wait
//! until `DescribeInternetGateways` shows it. An update changes the tags
//! (`DeleteTags`/`CreateTags`). `delete` is `DeleteInternetGateway`, retried while EC2
//! answers `DependencyViolation` (its detachment still going on). `find` adopts the gateway
//! that carries this resource's ownership tags (`DescribeInternetGateways` with tag
//! filters).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{missing, ownership_filters, tag_map, tag_specification, update_tags, DEPENDENCY_VIOLATION};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::InternetGateway";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_INTERNET_GATEWAY, None, &[])),
    not_found: &["InvalidInternetGatewayID.NotFound"],
    timeout: Duration::from_secs(300),
    reference: "the internet gateway id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::EC2::InternetGateway` resource type.
pub struct InternetGateway;

impl InternetGateway {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<InternetGateway> {
        Typed::new(InternetGateway, aws)
    }
}

pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::InternetGateway>, ProviderError> {
    let out = ec2.describe_internet_gateways().internet_gateway_ids(id).send().await.map_err(sdk_error)?;
    Ok(out.internet_gateways.unwrap_or_default().into_iter().next())
}

fn data(id: &str) -> ResourceData {
    ResourceData {
        physical_id: id.to_string(),
        attributes: BTreeMap::from([("InternetGatewayId".to_string(), Value::from(id))]),
    }
}

#[async_trait]
impl AwsType for InternetGateway {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .create_internet_gateway()
            .tag_specifications(tag_specification(cx, ResourceType::InternetGateway, &p.tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out
            .internet_gateway
            .and_then(|g| g.internet_gateway_id)
            .ok_or_else(|| missing("internet gateway id", "CreateInternetGateway"))?;
        cx.created(&id, async {
            cx.wait_until(&format!("internet gateway {id} to exist"), || async {
                Ok(cx.found(describe(&ec2, &id).await)?.flatten().map(|_| ()))
            })
            .await
        })
        .await?;
        Ok(data(&id))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let Some(g) = describe(&ec2, physical_id).await? else { return Ok(None) };
        Ok(Some(Live { data: data(physical_id), properties: BTreeMap::new(), tags: Some(tag_map(g.tags())) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let g = describe(&ec2, physical_id)
            .await?
            .ok_or_else(|| missing("internet gateway", "DescribeInternetGateways"))?;
        update_tags(cx, &ec2, physical_id, &tag_map(g.tags()), &new.tags).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        cx.retrying(&[DEPENDENCY_VIOLATION], || async {
            ec2.delete_internet_gateway().internet_gateway_id(physical_id).send().await.map_err(sdk_error)
        })
        .await?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .describe_internet_gateways()
            .set_filters(Some(ownership_filters(cx)))
            .send()
            .await
            .map_err(sdk_error)?;
        let candidates =
            out.internet_gateways().iter().filter_map(|g| Some((g.internet_gateway_id.clone()?, tag_map(g.tags()))));
        Ok(ids::owned(cx.ctx, candidates)?.map(|id| data(&id)))
    }

    fn fixture(&self) -> Fixture {
        let tags =
            |stage: &str| json!([{"Key": "Name", "Value": "conformance-{uid}"}, {"Key": "Stage", "Value": stage}]);
        Fixture {
            support: json!({}),
            create: json!({"Tags": tags("create")}),
            update: Some(json!({"Tags": tags("update")})),
            replace: None,
            nested_replace: None,
            // One call makes all of it (its tags are in TagSpecifications); what follows only
            // waits until EC2 shows it, so the refused call is the create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}
