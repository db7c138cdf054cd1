//! `AWS::RDS::DBSubnetGroup`: the VPC subnets a DB instance may be placed in (at least two,
//! in two availability zones).
//!
//! | property | notes |
//! | --- | --- |
//! | `DBSubnetGroupDescription` | string, required |
//! | `SubnetIds` | subnet ids, required; a set (order and duplicates are no change) |
//! | `DBSubnetGroupName` | string, create-only; generated when absent (lower case, 255 characters); RDS keeps it in lower case |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! The schema has no other property.
//!
//! - `Ref`: the subnet group name.
//! - `Fn::GetAtt`: `DBSubnetGroupArn` (the schema's read-only property).
//!
//! `create` is one `CreateDBSubnetGroup` with the tags. `update` is `ModifyDBSubnetGroup`
//! with the description and the subnets when either changed (RDS takes the whole subnet
//! list), then the tags compared with the live ones: `RemoveTagsFromResource`,
//! `AddTagsToResource`, each only when needed. `read` is `DescribeDBSubnetGroups` and
//! `ListTagsForResource`. `delete` is `DeleteDBSubnetGroup` (RDS refuses it while a DB
//! instance is in the group: the engine deletes the instance, and waits until it is gone,
//! first). `find` looks up the name (given or generated) and adopts the group when it
//! carries this resource's ownership tags (they are put in the call that creates it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{live_tags, name_char, rds_tags, retag};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::RDS::DBSubnetGroup";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::RDS_DB_SUBNET_GROUP, Some("DBSubnetGroupName"), &[])),
    not_found: &["DBSubnetGroupNotFoundFault", "DBSubnetGroupNotFound"],
    timeout: Duration::from_secs(120),
    reference: "the subnet group name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    #[serde(rename = "DBSubnetGroupDescription")]
    description: String,
    subnet_ids: BTreeSet<String>,
    #[serde(rename = "DBSubnetGroupName")]
    db_subnet_group_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::RDS::DBSubnetGroup` resource type.
pub struct DbSubnetGroupType;

impl DbSubnetGroupType {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<DbSubnetGroupType> {
        Typed::new(DbSubnetGroupType, aws)
    }
}

fn group_name(cx: &Cx<'_>, p: &Props) -> String {
    match &p.db_subnet_group_name {
        Some(n) => n.to_lowercase(),
        None => cx.generated_name(255, true, name_char),
    }
}

fn data(g: &DbSubnetGroup) -> ResourceData {
    ResourceData {
        physical_id: g.db_subnet_group_name.clone().unwrap_or_default(),
        attributes: BTreeMap::from([(
            "DBSubnetGroupArn".to_string(),
            Value::from(g.db_subnet_group_arn.as_deref().unwrap_or_default()),
        )]),
    }
}

async fn describe(rds: &aws_sdk_rds::Client, name: &str) -> Result<DbSubnetGroup, ProviderError> {
    let out = rds.describe_db_subnet_groups().db_subnet_group_name(name).send().await.map_err(sdk_error)?;
    out.db_subnet_groups.unwrap_or_default().into_iter().next().ok_or_else(|| {
        ProviderError::with_code(
            "DBSubnetGroupNotFoundFault",
            format!("DescribeDBSubnetGroups returned no group {name}"),
        )
    })
}

#[async_trait]
impl AwsType for DbSubnetGroupType {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match (property, old.as_str(), new.as_str()) {
            ("DBSubnetGroupName", Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = group_name(cx, p);
        let rds: aws_sdk_rds::Client = cx.client();
        let out = rds
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(&p.description)
            .set_subnet_ids(Some(p.subnet_ids.iter().cloned().collect()))
            .set_tags(Some(rds_tags(cx.tags(&p.tags))))
            .send()
            .await
            .map_err(sdk_error)?;
        let group = out.db_subnet_group.ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "CreateDBSubnetGroup returned no subnet group")
        })?;
        Ok(data(&group))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        let group = describe(&rds, physical_id).await?;
        let tags = live_tags(&rds, group.db_subnet_group_arn.as_deref().unwrap_or_default()).await?;
        let subnets: Vec<String> = group.subnets.iter().flatten().filter_map(|s| s.subnet_identifier.clone()).collect();
        let mut props = BTreeMap::new();
        props.insert("DBSubnetGroupDescription".to_string(), json!(group.db_subnet_group_description));
        props.insert("SubnetIds".to_string(), json!(subnets));
        if desired.get("DBSubnetGroupName").is_some_and(|v| !v.is_null()) {
            props.insert("DBSubnetGroupName".to_string(), json!(group.db_subnet_group_name));
        }
        Ok(Some(Live { data: data(&group), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        if old.description != new.description || old.subnet_ids != new.subnet_ids {
            rds.modify_db_subnet_group()
                .db_subnet_group_name(physical_id)
                .db_subnet_group_description(&new.description)
                .set_subnet_ids(Some(new.subnet_ids.iter().cloned().collect()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let group = describe(&rds, physical_id).await?;
        retag(cx, &rds, group.db_subnet_group_arn.as_deref().unwrap_or_default(), &new.tags).await?;
        Ok(data(&group))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        rds.delete_db_subnet_group().db_subnet_group_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = group_name(cx, p);
        let rds: aws_sdk_rds::Client = cx.client();
        let group = describe(&rds, &name).await?;
        let tags = live_tags(&rds, group.db_subnet_group_arn.as_deref().unwrap_or_default()).await?;
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&group)))
    }

    fn fixture(&self) -> Fixture {
        let support = network_support("10.30");
        let create = json!({
            "DBSubnetGroupDescription": "cairn conformance",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        // Only the tags: moto 5.2.5's `modify_db_subnet_group` (moto/rds/models.py) pops the
        // group from its table and never puts it back, so after `ModifyDBSubnetGroup` the
        // group reads as gone. The description and subnets change on the replacement.
        let mut update = create.clone();
        update["Tags"] = json!([{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]);
        let mut replace = update.clone();
        replace["DBSubnetGroupName"] = json!("cairn-conformance-{uid}");
        replace["DBSubnetGroupDescription"] = json!("cairn conformance, replaced");
        replace["SubnetIds"] = json!([{"Ref": "SubnetA"}, {"Ref": "SubnetB"}, {"Ref": "SubnetC"}]);
        Fixture {
            support,
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // `CreateDBSubnetGroup` makes it whole (subnets and tags): nothing after.
            partial_after: None,
            unverified: &[],
        }
    }
}

/// Support resources for a fixture that needs a DB subnet group's subnets: a VPC
/// `Network` (`{prefix}.0.0/16`) and subnets `SubnetA`, `SubnetB`, `SubnetC` in three
/// availability zones.
pub(crate) fn network_support(prefix: &str) -> Json {
    let subnet = |n: u8, az: &str| {
        json!({"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Network"},
            "CidrBlock": format!("{prefix}.{n}.0/24"),
            "AvailabilityZone": az
        }})
    };
    json!({
        "Network": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": format!("{prefix}.0.0/16")}},
        "SubnetA": subnet(1, "us-east-1a"),
        "SubnetB": subnet(2, "us-east-1b"),
        "SubnetC": subnet(3, "us-east-1c")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        DbSubnetGroupType::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_a_group_and_names_it_in_lower_case() {
        let p = parse(json!({"DBSubnetGroupDescription": "d", "SubnetIds": ["subnet-b", "subnet-a", "subnet-a"],
            "DBSubnetGroupName": "My-Group"}))
        .unwrap();
        assert_eq!(p.subnet_ids.iter().collect::<Vec<_>>(), ["subnet-a", "subnet-b"]);
        let ctx = crate::test_ctx(TYPE_NAME, "Db.Subnets");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        assert_eq!(group_name(&cx, &p), "my-group");
        let p = parse(json!({"DBSubnetGroupDescription": "d", "SubnetIds": ["subnet-a"]})).unwrap();
        assert_eq!(group_name(&cx, &p), "dev-db-subnets-abcdefghijkl");
        let e = parse(json!({"DBSubnetGroupDescription": "d"})).unwrap_err();
        assert!(e.message.contains("SubnetIds"), "{}", e.message);
        assert!(DbSubnetGroupType.equivalent("DBSubnetGroupName", &json!("My-Group"), &json!("my-group")));
    }

    #[test]
    fn schema_facts() {
        assert_eq!(SPEC.schema.attributes, ["DBSubnetGroupArn"]);
        assert!(SPEC.schema.create_only.iter().any(|p| p == "DBSubnetGroupName"));
    }
}
