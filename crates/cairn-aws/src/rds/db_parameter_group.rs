//! `AWS::RDS::DBParameterGroup`: the engine settings of the DB instances that name it.
//!
//! | property | notes |
//! | --- | --- |
//! | `Family` | string, create-only, required (`postgres16`) |
//! | `Description` | string, create-only, required |
//! | `DBParameterGroupName` | string, create-only; generated when absent (lower case, 255 characters); RDS keeps it in lower case |
//! | `Parameters` | a map of parameter name to value (or that map as JSON text) |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! - `Ref`: the parameter group name.
//! - `Fn::GetAtt`: `DBParameterGroupName` (the CloudFormation documentation's), and
//!   `DBParameterGroupArn`.
//!
//! `create` is `CreateDBParameterGroup` (with the tags), then `ModifyDBParameterGroup` with
//! the parameters, 20 a call. Each parameter is applied `immediate` where RDS says it is
//! dynamic (its `ApplyType` in `DescribeDBParameters`), else `pending-reboot` (which RDS
//! takes for every parameter). `update` sends the new and changed parameters the same way,
//! `ResetDBParameterGroup` with the removed ones (back to the engine's defaults), and the
//! tags compared with the live ones: `RemoveTagsFromResource`, `AddTagsToResource`, each
//! only when needed. `read` gives the parameters whose source is `user` (those set on the
//! group). `find` looks up the name (given or generated) and adopts the group when it
//! carries this resource's ownership tags (they are put in the call that creates it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{live_tags, name_char, rds_tags, retag};
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, scalar_string, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::RDS::DBParameterGroup";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::with_attributes(
            crate::schema::load(crate::schema::RDS_DB_PARAMETER_GROUP, Some("DBParameterGroupName"), &[]),
            &["DBParameterGroupName"],
        )
    }),
    not_found: &["DBParameterGroupNotFound", "DBParameterGroupNotFoundFault"],
    timeout: Duration::from_secs(120),
    reference: "the parameter group name",
};

/// At most this many parameters in one `ModifyDBParameterGroup` or `ResetDBParameterGroup`.
const PER_CALL: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    family: String,
    description: String,
    #[serde(rename = "DBParameterGroupName")]
    db_parameter_group_name: Option<String>,
    parameters: Option<Json>,
    #[serde(default)]
    tags: Vec<Tag>,
}

impl Props {
    /// `Parameters` as names and values (a map, or the map as JSON text).
    fn parameters(&self) -> Result<BTreeMap<String, String>, PropsError> {
        parameters_of(self.parameters.as_ref()).map_err(|message| PropsError { path: "Parameters".into(), message })
    }
}

fn parameters_of(v: Option<&Json>) -> Result<BTreeMap<String, String>, String> {
    let parsed;
    let map = match v {
        None | Some(Json::Null) => return Ok(BTreeMap::new()),
        Some(Json::String(text)) => {
            parsed = serde_json::from_str::<Json>(text).map_err(|e| format!("expected a map of name to value: {e}"))?;
            &parsed
        }
        Some(other) => other,
    };
    let Some(map) = map.as_object() else { return Err("expected a map of parameter name to value".into()) };
    map.iter()
        .map(|(k, v)| match scalar_string(v) {
            Some(s) => Ok((k.clone(), s)),
            None => Err(format!("{k}: expected a string, number or boolean")),
        })
        .collect()
}

/// The `AWS::RDS::DBParameterGroup` resource type.
pub struct DbParameterGroupType;

impl DbParameterGroupType {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<DbParameterGroupType> {
        Typed::new(DbParameterGroupType, aws)
    }
}

fn group_name(cx: &Cx<'_>, p: &Props) -> String {
    match &p.db_parameter_group_name {
        Some(n) => n.to_lowercase(),
        None => cx.generated_name(255, true, name_char),
    }
}

fn data(g: &DbParameterGroup) -> ResourceData {
    let name = g.db_parameter_group_name.clone().unwrap_or_default();
    ResourceData {
        physical_id: name.clone(),
        attributes: BTreeMap::from([
            ("DBParameterGroupName".to_string(), Value::from(name.as_str())),
            ("DBParameterGroupArn".to_string(), Value::from(g.db_parameter_group_arn.as_deref().unwrap_or_default())),
        ]),
    }
}

async fn describe(rds: &aws_sdk_rds::Client, name: &str) -> Result<DbParameterGroup, ProviderError> {
    let out = rds.describe_db_parameter_groups().db_parameter_group_name(name).send().await.map_err(sdk_error)?;
    out.db_parameter_groups.unwrap_or_default().into_iter().next().ok_or_else(|| {
        ProviderError::with_code(
            "DBParameterGroupNotFound",
            format!("DescribeDBParameterGroups returned no group {name}"),
        )
    })
}

/// The group's parameters, every page; `source` `user` for those set on the group.
async fn described(
    rds: &aws_sdk_rds::Client,
    name: &str,
    source: Option<&str>,
) -> Result<Vec<Parameter>, ProviderError> {
    let call = rds.describe_db_parameters().db_parameter_group_name(name).set_source(source.map(str::to_string));
    paging::all(call.into_paginator().items().send()).await
}

/// Set `values` on the group, 20 a call: `immediate` for the parameters RDS says are
/// dynamic, `pending-reboot` for the others (and for those it does not describe).
async fn modify(rds: &aws_sdk_rds::Client, name: &str, values: &BTreeMap<String, String>) -> Result<(), ProviderError> {
    if values.is_empty() {
        return Ok(());
    }
    let dynamic: Vec<String> = described(rds, name, None)
        .await?
        .into_iter()
        .filter(|p| p.apply_type.as_deref() == Some("dynamic"))
        .filter_map(|p| p.parameter_name)
        .collect();
    let all: Vec<Parameter> = values
        .iter()
        .map(|(k, v)| {
            let method = if dynamic.contains(k) { ApplyMethod::Immediate } else { ApplyMethod::PendingReboot };
            Parameter::builder().parameter_name(k).parameter_value(v).apply_method(method).build()
        })
        .collect();
    for chunk in all.chunks(PER_CALL) {
        rds.modify_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(sdk_error)?;
    }
    Ok(())
}

#[async_trait]
impl AwsType for DbParameterGroupType {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.parameters().map(|_| ())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "Parameters" => match (parameters_of(Some(old)), parameters_of(Some(new))) {
                (Ok(a), Ok(b)) => a == b,
                _ => old == new,
            },
            "DBParameterGroupName" | "Family" => match (old.as_str(), new.as_str()) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => old == new,
            },
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = group_name(cx, p);
        let parameters = p.parameters()?;
        let rds: aws_sdk_rds::Client = cx.client();
        let out = rds
            .create_db_parameter_group()
            .db_parameter_group_name(&name)
            .db_parameter_group_family(&p.family)
            .description(&p.description)
            .set_tags(Some(rds_tags(cx.tags(&p.tags))))
            .send()
            .await
            .map_err(sdk_error)?;
        let group = out.db_parameter_group.ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "CreateDBParameterGroup returned no parameter group")
        })?;
        cx.created(&name, modify(&rds, &name, &parameters)).await?;
        Ok(data(&group))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        let group = describe(&rds, physical_id).await?;
        let set: BTreeMap<String, String> = described(&rds, physical_id, Some("user"))
            .await?
            .into_iter()
            .filter_map(|p| Some((p.parameter_name?, p.parameter_value?)))
            .collect();
        let tags = live_tags(&rds, group.db_parameter_group_arn.as_deref().unwrap_or_default()).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        props.insert("Family".to_string(), json!(group.db_parameter_group_family));
        props.insert("Description".to_string(), json!(group.description));
        if wants("DBParameterGroupName") {
            props.insert("DBParameterGroupName".to_string(), json!(group.db_parameter_group_name));
        }
        if !set.is_empty() || wants("Parameters") {
            props.insert("Parameters".to_string(), json!(set));
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
        let (before, after) = (old.parameters()?, new.parameters()?);
        let changed: BTreeMap<String, String> =
            after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
        modify(&rds, physical_id, &changed).await?;
        let removed: Vec<Parameter> = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| Parameter::builder().parameter_name(k).apply_method(ApplyMethod::PendingReboot).build())
            .collect();
        for chunk in removed.chunks(PER_CALL) {
            rds.reset_db_parameter_group()
                .db_parameter_group_name(physical_id)
                .reset_all_parameters(false)
                .set_parameters(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let group = describe(&rds, physical_id).await?;
        retag(cx, &rds, group.db_parameter_group_arn.as_deref().unwrap_or_default(), &new.tags).await?;
        Ok(data(&group))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        rds.delete_db_parameter_group().db_parameter_group_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = group_name(cx, p);
        let rds: aws_sdk_rds::Client = cx.client();
        let group = describe(&rds, &name).await?;
        let tags = live_tags(&rds, group.db_parameter_group_arn.as_deref().unwrap_or_default()).await?;
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&group)))
    }

    fn fixture(&self) -> Fixture {
        let create = json!({
            "Family": "postgres16",
            "Description": "cairn conformance",
            "Parameters": {"log_min_duration_statement": "1000", "rds.force_ssl": "1"},
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        // No parameter is removed: moto 5.2.5 has no `ResetDBParameterGroup`.
        let update = json!({
            "Family": "postgres16",
            "Description": "cairn conformance",
            "Parameters": {"log_min_duration_statement": "500", "rds.force_ssl": "1", "work_mem": "8192"},
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["DBParameterGroupName"] = json!("cairn-conformance-{uid}");
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            partial_after: Some("ModifyDBParameterGroup"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        DbParameterGroupType::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parameters_are_a_map_or_its_json_text() {
        let p = parse(json!({"Family": "postgres16", "Description": "d", "Parameters": {"work_mem": 8192, "rds.force_ssl": true}}))
            .unwrap();
        assert_eq!(p.parameters().unwrap()["work_mem"], "8192");
        assert_eq!(p.parameters().unwrap()["rds.force_ssl"], "true");
        let p =
            parse(json!({"Family": "postgres16", "Description": "d", "Parameters": "{\"work_mem\": \"64\"}"})).unwrap();
        assert_eq!(p.parameters().unwrap()["work_mem"], "64");
        let e = parse(json!({"Family": "postgres16", "Description": "d", "Parameters": {"a": [1]}})).unwrap_err();
        assert_eq!(e.message, "Parameters: a: expected a string, number or boolean");
        let t = DbParameterGroupType;
        assert!(t.equivalent("Parameters", &json!({"a": 1}), &json!("{\"a\": \"1\"}")));
        assert!(!t.equivalent("Parameters", &json!({"a": 1}), &json!({"a": 2})));
        assert!(t.equivalent("DBParameterGroupName", &json!("MyGroup"), &json!("mygroup")));
    }

    #[test]
    fn names_are_lower_case_and_attributes_documented() {
        let ctx = crate::test_ctx(TYPE_NAME, "Db.Params");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let p = parse(json!({"Family": "postgres16", "Description": "d", "DBParameterGroupName": "My-Group"})).unwrap();
        assert_eq!(group_name(&cx, &p), "my-group");
        let p = parse(json!({"Family": "postgres16", "Description": "d"})).unwrap();
        assert_eq!(group_name(&cx, &p), "dev-db-params-abcdefghijkl");
        assert!(SPEC.schema.attributes.iter().any(|a| a == "DBParameterGroupName"));
    }
}
