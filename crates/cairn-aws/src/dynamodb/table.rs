//! `AWS::DynamoDB::Table`: a DynamoDB table, its global secondary indexes and settings.
//!
//! | property | notes |
//! | --- | --- |
//! | `TableName` | string, create-only; generated when absent (255 characters) |
//! | `KeySchema` | `[{AttributeName, KeyType: HASH \| RANGE}]`, required; DynamoDB cannot change it (see below) |
//! | `AttributeDefinitions` | `[{AttributeName, AttributeType: S \| N \| B}]` (the key attributes of the table and its indexes) |
//! | `BillingMode` | `PAY_PER_REQUEST` or `PROVISIONED` (the default) |
//! | `ProvisionedThroughput` | `{ReadCapacityUnits, WriteCapacityUnits}`, for `PROVISIONED` |
//! | `GlobalSecondaryIndexes` | `[{IndexName, KeySchema, Projection: {ProjectionType, NonKeyAttributes}, ProvisionedThroughput}]` |
//! | `PointInTimeRecoverySpecification` | `{PointInTimeRecoveryEnabled}` |
//! | `SSESpecification` | `{SSEEnabled, SSEType: KMS}` (the AWS managed key) |
//! | `TimeToLiveSpecification` | `{AttributeName, Enabled}` |
//! | `StreamSpecification` | `{StreamViewType}` |
//! | `DeletionProtectionEnabled` | boolean |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Not taken (refused by `check`, never ignored): `LocalSecondaryIndexes`,
//! `ContributorInsightsSpecification`, `KinesisStreamSpecification`, `ImportSourceSpecification`,
//! `OnDemandThroughput`, `WarmThroughput`, `ResourcePolicy`, `TableClass`, `VectorIndexes`,
//! `SSESpecification.KMSMasterKeyId`, `PointInTimeRecoverySpecification.RecoveryPeriodInDays`,
//! `StreamSpecification.ResourcePolicy`, and an index's `ContributorInsightsSpecification`,
//! `OnDemandThroughput` and `WarmThroughput`.
//!
//! - `Ref`: the table name.
//! - `Fn::GetAtt`: `Arn`, `StreamArn` (the latest stream's ARN, when a stream is on).
//!
//! A create makes the table (`CreateTable` with its key schema, billing, indexes,
//! encryption, stream, deletion protection and tags), waits until it is `ACTIVE`, then turns
//! on time to live (`UpdateTimeToLive`) and point-in-time recovery
//! (`UpdateContinuousBackups`) when they are set. An update, in this order: billing and
//! throughput (`UpdateTable`); each global secondary index removed, then each one added, one
//! per `UpdateTable` (DynamoDB takes one index creation or deletion at a time), waiting for
//! the table and its indexes to be `ACTIVE` after each (an index changed in its key schema
//! or projection is removed and added again); an index's new throughput; the stream,
//! encryption and deletion protection (`UpdateTable`); time to live; point-in-time
//! recovery; tags (`TagResource` with the new and changed ones, `UntagResource` with the
//! removed keys, compared with the live tags). The registry schema does not mark `KeySchema`
//! create-only, but DynamoDB cannot change it: an update that changes it is refused before
//! any call, saying to give the table a new `TableName` (which replaces it). Waits report
//! progress and give up after 30 minutes (index backfills take long on big tables).
//! `delete` deletes the table and waits until it is gone. `DeletionProtectionEnabled` is
//! the type's `TypeSchema::deletion_protection`: while the recorded properties turn it on,
//! the engine refuses any run that would delete or replace the table, before it changes
//! anything (`DeletionProtected`, saying how to lift it); a table protected outside cairn is refused
//! by DynamoDB itself (`ValidationException`), and cairn never turns protection off by
//! itself. `find` (after a crash mid-create) looks up the deterministic name and adopts
//! the table when it carries this resource's ownership tags (they are set in `CreateTable`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types as ddb;
use cairn_core::provider::{ProviderError, ResourceData, TypeSchema};
use cairn_core::Value;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::DynamoDB::Table";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| TypeSchema {
        // While it is on, cairn deletes and replaces nothing of the table (nor what uses it).
        deletion_protection: Some("DeletionProtectionEnabled".to_string()),
        ..crate::schema::load(crate::schema::DYNAMODB_TABLE, Some("TableName"), &["StreamArn"])
    }),
    not_found: &["ResourceNotFoundException"],
    timeout: Duration::from_secs(30 * 60),
    reference: "the table name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    table_name: Option<String>,
    key_schema: Vec<KeyElement>,
    #[serde(default)]
    attribute_definitions: Vec<AttributeDefinition>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    #[serde(default)]
    global_secondary_indexes: Vec<Index>,
    point_in_time_recovery_specification: Option<Pitr>,
    #[serde(rename = "SSESpecification")]
    sse_specification: Option<Sse>,
    time_to_live_specification: Option<Ttl>,
    stream_specification: Option<Stream>,
    deletion_protection_enabled: Option<bool>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct KeyElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Throughput {
    read_capacity_units: i64,
    write_capacity_units: i64,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Index {
    index_name: String,
    key_schema: Vec<KeyElement>,
    projection: Projection,
    provisioned_throughput: Option<Throughput>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Projection {
    projection_type: Option<String>,
    non_key_attributes: Option<BTreeSet<String>>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Pitr {
    point_in_time_recovery_enabled: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Sse {
    #[serde(rename = "SSEEnabled")]
    sse_enabled: bool,
    #[serde(rename = "SSEType")]
    sse_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Ttl {
    attribute_name: Option<String>,
    enabled: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Stream {
    stream_view_type: String,
}

impl Props {
    fn on_demand(&self) -> bool {
        self.billing_mode.as_deref() == Some("PAY_PER_REQUEST")
    }
    fn pitr(&self) -> bool {
        self.point_in_time_recovery_specification.as_ref().and_then(|p| p.point_in_time_recovery_enabled) == Some(true)
    }
    fn ttl(&self) -> Option<&str> {
        self.time_to_live_specification.as_ref().filter(|t| t.enabled).and_then(|t| t.attribute_name.as_deref())
    }
    fn sse(&self) -> bool {
        self.sse_specification.as_ref().is_some_and(|s| s.sse_enabled)
    }
}

/// The `AWS::DynamoDB::Table` resource type.
pub struct Table;

impl Table {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Table> {
        Typed::new(Table, aws)
    }
}

fn table_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn table_name(cx: &Cx<'_>, p: &Props) -> String {
    p.table_name.clone().unwrap_or_else(|| cx.generated_name(255, false, table_name_char))
}

/// A builder's missing required field, as a request error.
fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, ProviderError> {
    r.map_err(|e| ProviderError::with_code("InvalidRequest", e.to_string()))
}

fn key_schema(keys: &[KeyElement]) -> Result<Vec<ddb::KeySchemaElement>, ProviderError> {
    keys.iter()
        .map(|k| {
            built(
                ddb::KeySchemaElement::builder()
                    .attribute_name(&k.attribute_name)
                    .key_type(ddb::KeyType::from(k.key_type.as_str()))
                    .build(),
            )
        })
        .collect()
}

fn definitions(p: &Props) -> Result<Vec<ddb::AttributeDefinition>, ProviderError> {
    p.attribute_definitions
        .iter()
        .map(|a| {
            built(
                ddb::AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ddb::ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build(),
            )
        })
        .collect()
}

fn throughput(t: Option<Throughput>) -> Result<Option<ddb::ProvisionedThroughput>, ProviderError> {
    t.map(|t| {
        built(
            ddb::ProvisionedThroughput::builder()
                .read_capacity_units(t.read_capacity_units)
                .write_capacity_units(t.write_capacity_units)
                .build(),
        )
    })
    .transpose()
}

fn projection(p: &Projection) -> ddb::Projection {
    ddb::Projection::builder()
        .set_projection_type(p.projection_type.as_deref().map(ddb::ProjectionType::from))
        .set_non_key_attributes(p.non_key_attributes.as_ref().map(|a| a.iter().cloned().collect()))
        .build()
}

fn stream(s: Option<&Stream>) -> Result<ddb::StreamSpecification, ProviderError> {
    built(
        ddb::StreamSpecification::builder()
            .stream_enabled(s.is_some())
            .set_stream_view_type(s.map(|s| ddb::StreamViewType::from(s.stream_view_type.as_str())))
            .build(),
    )
}

fn sse(on: bool) -> ddb::SseSpecification {
    ddb::SseSpecification::builder().enabled(on).set_sse_type(on.then_some(ddb::SseType::Kms)).build()
}

fn data(t: &ddb::TableDescription) -> ResourceData {
    let mut attributes = BTreeMap::from([("Arn".to_string(), Value::from(t.table_arn().unwrap_or_default()))]);
    if let Some(s) = t.latest_stream_arn() {
        attributes.insert("StreamArn".into(), Value::from(s));
    }
    ResourceData { physical_id: t.table_name().unwrap_or_default().to_string(), attributes }
}

async fn describe(ddb_client: &aws_sdk_dynamodb::Client, name: &str) -> Result<ddb::TableDescription, ProviderError> {
    ddb_client.describe_table().table_name(name).send().await.map_err(sdk_error)?.table.ok_or_else(|| {
        ProviderError::with_code("InvalidResponse", format!("DynamoDB DescribeTable returned no table for {name}"))
    })
}

/// Wait until the table and all its indexes are `ACTIVE`.
async fn active(
    cx: &Cx<'_>,
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<ddb::TableDescription, ProviderError> {
    cx.wait_until(&format!("table {name} to be ACTIVE"), || async {
        let t = describe(client, name).await?;
        let indexes_active =
            t.global_secondary_indexes().iter().all(|i| i.index_status() == Some(&ddb::IndexStatus::Active));
        Ok((t.table_status() == Some(&ddb::TableStatus::Active) && indexes_active).then_some(t))
    })
    .await
}

async fn tags(client: &aws_sdk_dynamodb::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(sdk_error)?;
        out.extend(page.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)));
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
}

fn ddb_tags(tags: BTreeMap<String, String>) -> Result<Vec<ddb::Tag>, ProviderError> {
    tags.into_iter().map(|(k, v)| built(ddb::Tag::builder().key(k).value(v).build())).collect()
}

async fn set_ttl(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    attribute: &str,
    on: bool,
) -> Result<(), ProviderError> {
    let spec = built(ddb::TimeToLiveSpecification::builder().attribute_name(attribute).enabled(on).build())?;
    client.update_time_to_live().table_name(name).time_to_live_specification(spec).send().await.map_err(sdk_error)?;
    Ok(())
}

async fn set_pitr(client: &aws_sdk_dynamodb::Client, name: &str, on: bool) -> Result<(), ProviderError> {
    let spec = built(ddb::PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(on).build())?;
    client
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(spec)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

fn keys_json(keys: &[ddb::KeySchemaElement]) -> Json {
    Json::Array(
        keys.iter().map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()})).collect(),
    )
}

/// A list of mappings as a map by one of their keys (`None` when it is not one).
fn by_key<'a>(v: &'a Json, key: &str) -> Option<BTreeMap<String, &'a Json>> {
    let items = v.as_array()?;
    let map: BTreeMap<String, &Json> =
        items.iter().filter_map(|i| Some((i.get(key)?.as_str()?.to_string(), i))).collect();
    (map.len() == items.len()).then_some(map)
}

#[async_trait]
impl AwsType for Table {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.on_demand() && p.provisioned_throughput.is_some() {
            return Err(PropsError {
                path: "ProvisionedThroughput".into(),
                message: "a PAY_PER_REQUEST table takes no ProvisionedThroughput".into(),
            });
        }
        if !p.on_demand() && p.provisioned_throughput.is_none() {
            return Err(PropsError {
                path: "ProvisionedThroughput".into(),
                message: "a PROVISIONED table (the default BillingMode) needs ProvisionedThroughput".into(),
            });
        }
        if p.time_to_live_specification.as_ref().is_some_and(|t| t.enabled && t.attribute_name.is_none()) {
            return Err(PropsError {
                path: "TimeToLiveSpecification.AttributeName".into(),
                message: "time to live needs the attribute that holds the expiry time".into(),
            });
        }
        Ok(())
    }

    /// DynamoDB answers lists of attribute definitions and indexes in its own order: they
    /// compare by name.
    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        let key = match property {
            "AttributeDefinitions" => "AttributeName",
            "GlobalSecondaryIndexes" => "IndexName",
            _ => return loose_eq(old, new),
        };
        match (by_key(old, key), by_key(new, key)) {
            (Some(a), Some(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| loose_eq(v, w))),
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = table_name(cx, p);
        let client: aws_sdk_dynamodb::Client = cx.client();
        let mut indexes = Vec::new();
        for i in &p.global_secondary_indexes {
            indexes.push(built(
                ddb::GlobalSecondaryIndex::builder()
                    .index_name(&i.index_name)
                    .set_key_schema(Some(key_schema(&i.key_schema)?))
                    .projection(projection(&i.projection))
                    .set_provisioned_throughput(throughput(i.provisioned_throughput)?)
                    .build(),
            )?);
        }
        client
            .create_table()
            .table_name(&name)
            .set_key_schema(Some(key_schema(&p.key_schema)?))
            .set_attribute_definitions(Some(definitions(p)?))
            .billing_mode(ddb::BillingMode::from(p.billing_mode.as_deref().unwrap_or("PROVISIONED")))
            .set_provisioned_throughput(throughput(p.provisioned_throughput)?)
            .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
            .set_sse_specification(p.sse_specification.as_ref().map(|s| sse(s.sse_enabled)))
            .set_stream_specification(p.stream_specification.as_ref().map(|s| stream(Some(s))).transpose()?)
            .set_deletion_protection_enabled(p.deletion_protection_enabled)
            .set_tags(Some(ddb_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(sdk_error)?;
        cx.created(&name, async {
            let mut t = active(cx, &client, &name).await?;
            if let Some(attribute) = p.ttl() {
                set_ttl(&client, &name, attribute, true).await?;
            }
            if p.pitr() {
                set_pitr(&client, &name, true).await?;
                t = active(cx, &client, &name).await?;
            }
            Ok(data(&t))
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let client: aws_sdk_dynamodb::Client = cx.client();
        let t = describe(&client, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if wants("TableName") {
            props.insert("TableName".to_string(), json!(physical_id));
        }
        props.insert("KeySchema".into(), keys_json(t.key_schema()));
        let defs: Vec<Json> = t
            .attribute_definitions()
            .iter()
            .map(|a| json!({"AttributeName": a.attribute_name(), "AttributeType": a.attribute_type().as_str()}))
            .collect();
        props.insert("AttributeDefinitions".into(), Json::Array(defs));
        let on_demand = t
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .is_some_and(|m| *m == ddb::BillingMode::PayPerRequest);
        if on_demand || wants("BillingMode") {
            props.insert("BillingMode".into(), json!(if on_demand { "PAY_PER_REQUEST" } else { "PROVISIONED" }));
        }
        let units = |t: Option<&ddb::ProvisionedThroughputDescription>| {
            t.map(|t| {
                json!({"ReadCapacityUnits": t.read_capacity_units().unwrap_or_default(),
                       "WriteCapacityUnits": t.write_capacity_units().unwrap_or_default()})
            })
        };
        if !on_demand {
            if let Some(u) = units(t.provisioned_throughput()) {
                props.insert("ProvisionedThroughput".into(), u);
            }
        }
        let indexes: Vec<Json> = t
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                let mut index = json!({"IndexName": i.index_name(), "KeySchema": keys_json(i.key_schema())});
                if let Some(p) = i.projection() {
                    let mut proj = json!({});
                    if let Some(pt) = p.projection_type() {
                        proj["ProjectionType"] = json!(pt.as_str());
                    }
                    if !p.non_key_attributes().is_empty() {
                        proj["NonKeyAttributes"] = json!(p.non_key_attributes());
                    }
                    index["Projection"] = proj;
                }
                if !on_demand {
                    if let Some(u) = units(i.provisioned_throughput()) {
                        index["ProvisionedThroughput"] = u;
                    }
                }
                index
            })
            .collect();
        if !indexes.is_empty() || wants("GlobalSecondaryIndexes") {
            props.insert("GlobalSecondaryIndexes".into(), Json::Array(indexes));
        }
        let sse_on = t.sse_description().and_then(|s| s.status()).is_some_and(|s| {
            matches!(s, ddb::SseStatus::Enabled | ddb::SseStatus::Enabling | ddb::SseStatus::Updating)
        });
        if sse_on || wants("SSESpecification") {
            let mut s = json!({"SSEEnabled": sse_on});
            if sse_on && desired["SSESpecification"].get("SSEType").is_some() {
                s["SSEType"] = json!("KMS");
            }
            props.insert("SSESpecification".into(), s);
        }
        let stream_view = t.stream_specification().filter(|s| s.stream_enabled()).and_then(|s| s.stream_view_type());
        if let Some(v) = stream_view {
            props.insert("StreamSpecification".into(), json!({"StreamViewType": v.as_str()}));
        }
        let protected = t.deletion_protection_enabled().unwrap_or(false);
        if protected || wants("DeletionProtectionEnabled") {
            props.insert("DeletionProtectionEnabled".into(), json!(protected));
        }
        let ttl = client.describe_time_to_live().table_name(physical_id).send().await.map_err(sdk_error)?;
        let ttl = ttl.time_to_live_description.filter(|d| {
            matches!(d.time_to_live_status(), Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling))
        });
        match ttl {
            Some(d) => {
                props.insert(
                    "TimeToLiveSpecification".into(),
                    json!({"AttributeName": d.attribute_name(), "Enabled": true}),
                );
            }
            None if wants("TimeToLiveSpecification") => {
                props.insert("TimeToLiveSpecification".into(), json!({"Enabled": false}));
            }
            None => {}
        }
        let backups = client.describe_continuous_backups().table_name(physical_id).send().await.map_err(sdk_error)?;
        let pitr = backups
            .continuous_backups_description
            .and_then(|d| d.point_in_time_recovery_description)
            .and_then(|d| d.point_in_time_recovery_status)
            .is_some_and(|s| s == ddb::PointInTimeRecoveryStatus::Enabled);
        if pitr || wants("PointInTimeRecoverySpecification") {
            props.insert("PointInTimeRecoverySpecification".into(), json!({"PointInTimeRecoveryEnabled": pitr}));
        }
        let tags = tags(&client, t.table_arn().unwrap_or_default()).await?;
        Ok(Some(Live { data: data(&t), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        if old.key_schema != new.key_schema {
            return Err(ProviderError::with_code(
                "InvalidRequest",
                format!(
                    "KeySchema: DynamoDB cannot change the key schema of table {physical_id}; give the table another TableName (that replaces it), or keep its KeySchema"
                ),
            ));
        }
        let client: aws_sdk_dynamodb::Client = cx.client();
        let name = physical_id;
        if old.billing_mode != new.billing_mode || old.provisioned_throughput != new.provisioned_throughput {
            client
                .update_table()
                .table_name(name)
                .billing_mode(ddb::BillingMode::from(new.billing_mode.as_deref().unwrap_or("PROVISIONED")))
                .set_provisioned_throughput(throughput(new.provisioned_throughput)?)
                .send()
                .await
                .map_err(sdk_error)?;
            active(cx, &client, name).await?;
        }
        let before: BTreeMap<&str, &Index> =
            old.global_secondary_indexes.iter().map(|i| (i.index_name.as_str(), i)).collect();
        let after: BTreeMap<&str, &Index> =
            new.global_secondary_indexes.iter().map(|i| (i.index_name.as_str(), i)).collect();
        // Same key schema and projection: the index stays (its throughput may change).
        let kept = |a: &Index, b: &Index| a.key_schema == b.key_schema && a.projection == b.projection;
        for (index, old_index) in &before {
            if after.get(index).is_some_and(|n| kept(old_index, n)) {
                continue;
            }
            let delete = built(ddb::DeleteGlobalSecondaryIndexAction::builder().index_name(*index).build())?;
            client
                .update_table()
                .table_name(name)
                .global_secondary_index_updates(ddb::GlobalSecondaryIndexUpdate::builder().delete(delete).build())
                .send()
                .await
                .map_err(sdk_error)?;
            cx.wait_until(&format!("index {index} of table {name} to be deleted"), || async {
                let t = describe(&client, name).await?;
                let gone = t.global_secondary_indexes().iter().all(|i| i.index_name() != Some(*index));
                Ok((gone && t.table_status() == Some(&ddb::TableStatus::Active)).then_some(()))
            })
            .await?;
        }
        for (index, new_index) in &after {
            match before.get(index) {
                Some(o) if kept(o, new_index) => {
                    if o.provisioned_throughput != new_index.provisioned_throughput {
                        if let Some(t) = throughput(new_index.provisioned_throughput)? {
                            let update = built(
                                ddb::UpdateGlobalSecondaryIndexAction::builder()
                                    .index_name(*index)
                                    .provisioned_throughput(t)
                                    .build(),
                            )?;
                            client
                                .update_table()
                                .table_name(name)
                                .global_secondary_index_updates(
                                    ddb::GlobalSecondaryIndexUpdate::builder().update(update).build(),
                                )
                                .send()
                                .await
                                .map_err(sdk_error)?;
                            active(cx, &client, name).await?;
                        }
                    }
                }
                _ => {
                    let create = built(
                        ddb::CreateGlobalSecondaryIndexAction::builder()
                            .index_name(*index)
                            .set_key_schema(Some(key_schema(&new_index.key_schema)?))
                            .projection(projection(&new_index.projection))
                            .set_provisioned_throughput(throughput(new_index.provisioned_throughput)?)
                            .build(),
                    )?;
                    client
                        .update_table()
                        .table_name(name)
                        .set_attribute_definitions(Some(definitions(new)?))
                        .global_secondary_index_updates(
                            ddb::GlobalSecondaryIndexUpdate::builder().create(create).build(),
                        )
                        .send()
                        .await
                        .map_err(sdk_error)?;
                    active(cx, &client, name).await?;
                }
            }
        }
        if old.stream_specification != new.stream_specification {
            // A stream's view type cannot change while it is on: off first, then on.
            if old.stream_specification.is_some() {
                client
                    .update_table()
                    .table_name(name)
                    .stream_specification(stream(None)?)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                active(cx, &client, name).await?;
            }
            if let Some(s) = &new.stream_specification {
                client
                    .update_table()
                    .table_name(name)
                    .stream_specification(stream(Some(s))?)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                active(cx, &client, name).await?;
            }
        }
        if old.sse() != new.sse() {
            client.update_table().table_name(name).sse_specification(sse(new.sse())).send().await.map_err(sdk_error)?;
            active(cx, &client, name).await?;
        }
        if old.deletion_protection_enabled.unwrap_or(false) != new.deletion_protection_enabled.unwrap_or(false) {
            client
                .update_table()
                .table_name(name)
                .deletion_protection_enabled(new.deletion_protection_enabled.unwrap_or(false))
                .send()
                .await
                .map_err(sdk_error)?;
            active(cx, &client, name).await?;
        }
        if old.ttl() != new.ttl() {
            if let Some(attribute) = old.ttl() {
                set_ttl(&client, name, attribute, false).await?;
            }
            if let Some(attribute) = new.ttl() {
                set_ttl(&client, name, attribute, true).await?;
            }
        }
        if old.pitr() != new.pitr() {
            set_pitr(&client, name, new.pitr()).await?;
        }
        let t = active(cx, &client, name).await?;
        let arn = t.table_arn().unwrap_or_default();
        let diff = cx.tag_update(&tags(&client, arn).await?, &new.tags);
        let client = &client;
        diff.apply(
            |keys| async move {
                client.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                client
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(ddb_tags(set)?))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(data(&t))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let client: aws_sdk_dynamodb::Client = cx.client();
        // With deletion protection on, DynamoDB refuses (ValidationException): that error
        // is the answer; cairn never turns protection off by itself.
        client.delete_table().table_name(physical_id).send().await.map_err(sdk_error)?;
        cx.wait_until(&format!("table {physical_id} to be deleted"), || async {
            Ok(cx.found(describe(&client, physical_id).await)?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let client: aws_sdk_dynamodb::Client = cx.client();
        let t = describe(&client, &table_name(cx, p)).await?;
        Ok(ids::is_owned(cx.ctx, &tags(&client, t.table_arn().unwrap_or_default()).await?).then(|| data(&t)))
    }

    fn fixture(&self) -> Fixture {
        let attr = |n: &str| json!({"AttributeName": n, "AttributeType": "S"});
        let create = json!({
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [attr("pk"), attr("sk")],
            "BillingMode": "PAY_PER_REQUEST",
            // Encrypted with the AWS managed key (no `SSEType`): read back in that shape.
            "SSESpecification": {"SSEEnabled": true},
            "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": true},
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let update = json!({
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [attr("pk"), attr("sk"), attr("owner")],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [{
                "IndexName": "by-owner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "SSESpecification": {"SSEEnabled": true},
            "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": true},
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["TableName"] = json!("conf-table-{uid}");
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            partial_after: Some("UpdateTimeToLive"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Table::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn billing_and_ttl_checks() {
        let keys = json!([{"AttributeName": "pk", "KeyType": "HASH"}]);
        let e = parse(json!({"KeySchema": keys})).unwrap_err();
        assert!(e.message.starts_with("ProvisionedThroughput: a PROVISIONED table"), "{}", e.message);
        let p = parse(
            json!({"KeySchema": keys, "BillingMode": "PAY_PER_REQUEST", "SSESpecification": {"SSEEnabled": true}}),
        )
        .unwrap();
        assert!(p.sse() && p.on_demand());
        let e = parse(
            json!({"KeySchema": keys, "BillingMode": "PAY_PER_REQUEST", "TimeToLiveSpecification": {"Enabled": true}}),
        )
        .unwrap_err();
        assert!(e.message.starts_with("TimeToLiveSpecification.AttributeName:"), "{}", e.message);
    }

    #[test]
    fn definitions_and_indexes_compare_by_name() {
        let a = json!([{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "N"}]);
        let b = json!([{"AttributeName": "b", "AttributeType": "N"}, {"AttributeName": "a", "AttributeType": "S"}]);
        assert!(Table.equivalent("AttributeDefinitions", &a, &b));
        assert!(!Table.equivalent("AttributeDefinitions", &a, &json!([{"AttributeName": "a", "AttributeType": "S"}])));
        assert!(!Table.equivalent("KeySchema", &a, &b));
    }
}
