//! `AWS::RDS::DBInstance`: an RDS DB instance (cairn's tested engine: PostgreSQL).
//!
//! | property | notes |
//! | --- | --- |
//! | `Engine`, `DBInstanceClass` | strings (`postgres`, `db.t3.micro`) |
//! | `EngineVersion` | string; `16` matches a live `16.4` (RDS picks the minor version) |
//! | `AllocatedStorage` | gibibytes, a string of digits as in the schema (`"20"`) |
//! | `StorageType` | `gp2`, `gp3`, `io1`, ... |
//! | `StorageEncrypted`, `KmsKeyId` | create-only; the key as an id or ARN |
//! | `DBName`, `MasterUsername` | create-only |
//! | `MasterUserPassword` | write-only: sent on create and when it changes, never read back, compared or logged |
//! | `DBSubnetGroupName` | create-only; absent: RDS's default subnet group |
//! | `VPCSecurityGroups` | security group ids |
//! | `PubliclyAccessible`, `MultiAZ`, `BackupRetentionPeriod`, `Port` | |
//! | `DeletionProtection` | the type's deletion protection (below) |
//! | `DBParameterGroupName` | the instance's parameter group |
//! | `DBInstanceIdentifier` | create-only; generated when absent (lower case, 63 characters); RDS keeps it in lower case |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Every other property of the schema is left out (refused by `check`), among them the
//! Aurora ones (`DBClusterIdentifier`), restores and replicas (`DBSnapshotIdentifier`,
//! `SourceDBInstanceIdentifier`), `ManageMasterUserPassword`, `Iops`, `StorageThroughput`,
//! `MaxAllocatedStorage`, `OptionGroupName`, `EnableIAMDatabaseAuthentication`,
//! monitoring and Performance Insights settings, maintenance and backup windows.
//!
//! - `Ref`: the DB instance identifier.
//! - `Fn::GetAtt`: `Endpoint.Address`, `Endpoint.Port`, `Endpoint.HostedZoneId`,
//!   `DbiResourceId`, `DBInstanceArn`.
//!
//! `create` is `CreateDBInstance` (with the tags), then a wait until `DescribeDBInstances`
//! says `available` (progress every 30 s, at most 60 minutes). `update` is one
//! `ModifyDBInstance` with `ApplyImmediately` and only what changed (a new
//! `MasterUserPassword` too; `AllowMajorVersionUpgrade` when the major engine version
//! changes), a wait until `available` again, and the tags compared with the live ones:
//! `RemoveTagsFromResource`, `AddTagsToResource`, each only when needed. `delete` is
//! `DeleteDBInstance`, then a wait until it is gone.
//!
//! Deletion: `DeletionProtection` is the type's `TypeSchema::deletion_protection`: while
//! the recorded properties turn it on, the engine refuses any run that would delete or
//! replace the instance, before it changes anything (it says how to lift it); an instance protected outside cairn is refused by RDS
//! itself. The type takes final snapshots (`TypeSchema::final_snapshot`): under
//! `DeletionPolicy: Snapshot`, which is its default as in CloudFormation (and under
//! `UpdateReplacePolicy: Snapshot` for the old instance of a replacement), the delete asks
//! RDS for a final snapshot named `<identifier>-final-<unix seconds>` (a manual snapshot,
//! kept after the stack is gone; its name is shown while cairn waits); under `Delete` it
//! skips the final snapshot. `find` looks up the identifier (given or generated) and adopts the
//! instance when it carries this resource's ownership tags (they are put in the call that
//! creates it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use cairn_core::provider::{ProviderError, ResourceData, TypeSchema};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{name_char, rds_tags, retag};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::RDS::DBInstance";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| TypeSchema {
        // While it is on, cairn deletes and replaces nothing of the instance.
        deletion_protection: Some("DeletionProtection".to_string()),
        // `DeletionPolicy: Snapshot`, its default as in CloudFormation.
        final_snapshot: true,
        ..crate::schema::with_attributes(
            crate::schema::load(crate::schema::RDS_DB_INSTANCE, Some("DBInstanceIdentifier"), &[]),
            &["Endpoint.Address", "Endpoint.Port", "Endpoint.HostedZoneId"],
        )
    }),
    not_found: &["DBInstanceNotFound", "DBInstanceNotFoundFault"],
    timeout: Duration::from_secs(60 * 60),
    reference: "the DB instance identifier",
};

/// The status of an instance that is ready.
const AVAILABLE: &str = "available";

/// No `Debug`: `MasterUserPassword` is a secret.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    engine: String,
    engine_version: Option<String>,
    #[serde(rename = "DBInstanceClass")]
    db_instance_class: String,
    allocated_storage: Option<String>,
    storage_type: Option<String>,
    storage_encrypted: Option<bool>,
    kms_key_id: Option<String>,
    #[serde(rename = "DBName")]
    db_name: Option<String>,
    master_username: Option<String>,
    master_user_password: Option<String>,
    #[serde(rename = "DBSubnetGroupName")]
    db_subnet_group_name: Option<String>,
    #[serde(rename = "VPCSecurityGroups", default)]
    vpc_security_groups: Vec<String>,
    publicly_accessible: Option<bool>,
    #[serde(rename = "MultiAZ")]
    multi_az: Option<bool>,
    backup_retention_period: Option<i32>,
    deletion_protection: Option<bool>,
    #[serde(rename = "DBParameterGroupName")]
    db_parameter_group_name: Option<String>,
    port: Option<String>,
    #[serde(rename = "DBInstanceIdentifier")]
    db_instance_identifier: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

impl Props {
    fn storage(&self) -> Result<Option<i32>, PropsError> {
        number(self.allocated_storage.as_deref(), "AllocatedStorage")
    }

    fn port(&self) -> Result<Option<i32>, PropsError> {
        number(self.port.as_deref(), "Port")
    }
}

fn number(v: Option<&str>, path: &str) -> Result<Option<i32>, PropsError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>().map_err(|_| PropsError {
                path: path.into(),
                message: format!("expected a whole number, found \"{s}\""),
            })
        })
        .transpose()
}

/// The `AWS::RDS::DBInstance` resource type.
pub struct DbInstanceType;

impl DbInstanceType {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<DbInstanceType> {
        Typed::new(DbInstanceType, aws)
    }
}

fn identifier(cx: &Cx<'_>, p: &Props) -> String {
    match &p.db_instance_identifier {
        Some(n) => n.to_lowercase(),
        None => cx.generated_name(63, true, name_char),
    }
}

fn data(db: &DbInstance) -> ResourceData {
    let endpoint = db.endpoint.as_ref();
    let s = |v: Option<&str>| Value::from(v.unwrap_or_default());
    ResourceData {
        physical_id: db.db_instance_identifier.clone().unwrap_or_default(),
        attributes: BTreeMap::from([
            ("Endpoint.Address".to_string(), s(endpoint.and_then(|e| e.address.as_deref()))),
            (
                "Endpoint.Port".to_string(),
                Value::from(endpoint.and_then(|e| e.port).map(|p| p.to_string()).unwrap_or_default().as_str()),
            ),
            ("Endpoint.HostedZoneId".to_string(), s(endpoint.and_then(|e| e.hosted_zone_id.as_deref()))),
            ("DbiResourceId".to_string(), s(db.dbi_resource_id.as_deref())),
            ("DBInstanceArn".to_string(), s(db.db_instance_arn.as_deref())),
        ]),
    }
}

async fn describe(rds: &aws_sdk_rds::Client, id: &str) -> Result<DbInstance, ProviderError> {
    let out = rds.describe_db_instances().db_instance_identifier(id).send().await.map_err(sdk_error)?;
    out.db_instances.unwrap_or_default().into_iter().next().ok_or_else(|| {
        ProviderError::with_code("DBInstanceNotFound", format!("DescribeDBInstances returned no DB instance {id}"))
    })
}

/// Wait until the instance is `available` (with progress), and give it.
async fn until_available(cx: &Cx<'_>, rds: &aws_sdk_rds::Client, id: &str) -> Result<DbInstance, ProviderError> {
    cx.wait_until(&format!("DB instance {id} to be available"), || async {
        let db = describe(rds, id).await?;
        Ok((db.db_instance_status.as_deref() == Some(AVAILABLE)).then_some(db))
    })
    .await
}

/// The major version of an engine version (`16` of `16.4`).
fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

/// Whether a live engine version is the one asked for: the same, or a minor version of it
/// (`16` asked, `16.4` live), as CloudFormation compares them.
fn same_version(asked: &str, live: &str) -> bool {
    asked == live || live.strip_prefix(asked).is_some_and(|rest| rest.starts_with('.'))
}

/// Whether a live KMS key ARN is the key asked for (its id, or the ARN itself).
fn same_key(asked: &str, live: &str) -> bool {
    asked == live || live.ends_with(&format!("key/{asked}"))
}

#[async_trait]
impl AwsType for DbInstanceType {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.storage()?;
        p.port()?;
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        let both = |f: fn(&str, &str) -> bool| match (old.as_str(), new.as_str()) {
            (Some(a), Some(b)) => f(a, b) || f(b, a),
            _ => loose_eq(old, new),
        };
        match property {
            "EngineVersion" => both(same_version),
            "KmsKeyId" => both(same_key),
            "Engine" | "StorageType" | "DBInstanceIdentifier" | "DBSubnetGroupName" | "DBParameterGroupName" => {
                both(|a, b| a.eq_ignore_ascii_case(b))
            }
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let id = identifier(cx, p);
        let rds: aws_sdk_rds::Client = cx.client();
        rds.create_db_instance()
            .db_instance_identifier(&id)
            .engine(&p.engine)
            .set_engine_version(p.engine_version.clone())
            .db_instance_class(&p.db_instance_class)
            .set_allocated_storage(p.storage()?)
            .set_storage_type(p.storage_type.clone())
            .set_storage_encrypted(p.storage_encrypted)
            .set_kms_key_id(p.kms_key_id.clone())
            .set_db_name(p.db_name.clone())
            .set_master_username(p.master_username.clone())
            .set_master_user_password(p.master_user_password.clone())
            .set_db_subnet_group_name(p.db_subnet_group_name.clone())
            .set_vpc_security_group_ids((!p.vpc_security_groups.is_empty()).then(|| p.vpc_security_groups.clone()))
            .set_publicly_accessible(p.publicly_accessible)
            .set_multi_az(p.multi_az)
            .set_backup_retention_period(p.backup_retention_period)
            .set_deletion_protection(p.deletion_protection)
            .set_db_parameter_group_name(p.db_parameter_group_name.clone())
            .set_port(p.port()?)
            .set_tags(Some(rds_tags(cx.tags(&p.tags))))
            .send()
            .await
            .map_err(sdk_error)?;
        let db = cx.created(&id, until_available(cx, &rds, &id)).await?;
        Ok(data(&db))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        let db = describe(&rds, physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        let mut put = |k: &str, v: Json, shown: bool| {
            if shown && !v.is_null() {
                props.insert(k.to_string(), v);
            }
        };
        put("Engine", json!(db.engine), true);
        put("EngineVersion", json!(db.engine_version), wants("EngineVersion"));
        put("DBInstanceClass", json!(db.db_instance_class), true);
        put("AllocatedStorage", json!(db.allocated_storage.map(|s| s.to_string())), wants("AllocatedStorage"));
        put("StorageType", json!(db.storage_type), wants("StorageType"));
        let encrypted = db.storage_encrypted.unwrap_or(false);
        put("StorageEncrypted", json!(encrypted), encrypted || wants("StorageEncrypted"));
        put("KmsKeyId", json!(db.kms_key_id), wants("KmsKeyId"));
        put("DBName", json!(db.db_name), wants("DBName"));
        put("MasterUsername", json!(db.master_username), wants("MasterUsername"));
        let subnet_group = db.db_subnet_group.as_ref().and_then(|g| g.db_subnet_group_name.clone());
        put("DBSubnetGroupName", json!(subnet_group), wants("DBSubnetGroupName"));
        let groups: Vec<String> =
            db.vpc_security_groups.iter().flatten().filter_map(|g| g.vpc_security_group_id.clone()).collect();
        put("VPCSecurityGroups", json!(groups), wants("VPCSecurityGroups"));
        put("PubliclyAccessible", json!(db.publicly_accessible), wants("PubliclyAccessible"));
        let multi_az = db.multi_az.unwrap_or(false);
        put("MultiAZ", json!(multi_az), multi_az || wants("MultiAZ"));
        put("BackupRetentionPeriod", json!(db.backup_retention_period), wants("BackupRetentionPeriod"));
        let protected = db.deletion_protection.unwrap_or(false);
        put("DeletionProtection", json!(protected), protected || wants("DeletionProtection"));
        let parameter_group = db.db_parameter_groups.iter().flatten().find_map(|g| g.db_parameter_group_name.clone());
        put("DBParameterGroupName", json!(parameter_group), wants("DBParameterGroupName"));
        let port = db.endpoint.as_ref().and_then(|e| e.port).or(db.db_instance_port.filter(|p| *p != 0));
        put("Port", json!(port.map(|p| p.to_string())), wants("Port"));
        put("DBInstanceIdentifier", json!(db.db_instance_identifier), wants("DBInstanceIdentifier"));
        let tags =
            db.tag_list.iter().flatten().filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())));
        let tags = tags.collect();
        Ok(Some(Live { data: data(&db), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        fn changed<T: PartialEq + Clone>(old: &Option<T>, new: &Option<T>) -> Option<T> {
            (old != new).then(|| new.clone()).flatten()
        }
        let version = changed(&old.engine_version, &new.engine_version);
        let major_upgrade = match (&old.engine_version, &version) {
            (Some(a), Some(b)) => major(a) != major(b),
            _ => false,
        };
        let groups = (old.vpc_security_groups != new.vpc_security_groups).then(|| new.vpc_security_groups.clone());
        let modify = rds
            .modify_db_instance()
            .db_instance_identifier(physical_id)
            .apply_immediately(true)
            .set_engine_version(version.clone())
            .set_allow_major_version_upgrade(major_upgrade.then_some(true))
            .set_db_instance_class(
                (old.db_instance_class != new.db_instance_class).then(|| new.db_instance_class.clone()),
            )
            .set_allocated_storage(changed(&old.storage()?, &new.storage()?))
            .set_storage_type(changed(&old.storage_type, &new.storage_type))
            .set_master_user_password(changed(&old.master_user_password, &new.master_user_password))
            .set_vpc_security_group_ids(groups.clone())
            .set_publicly_accessible(changed(&old.publicly_accessible, &new.publicly_accessible))
            .set_multi_az(changed(&old.multi_az, &new.multi_az))
            .set_backup_retention_period(changed(&old.backup_retention_period, &new.backup_retention_period))
            .set_deletion_protection(
                (old.deletion_protection != new.deletion_protection).then(|| new.deletion_protection.unwrap_or(false)),
            )
            .set_db_parameter_group_name(changed(&old.db_parameter_group_name, &new.db_parameter_group_name))
            .set_db_port_number(changed(&old.port()?, &new.port()?));
        let anything = version.is_some()
            || old.db_instance_class != new.db_instance_class
            || old.allocated_storage != new.allocated_storage
            || old.storage_type != new.storage_type
            || old.master_user_password != new.master_user_password
            || groups.is_some()
            || old.publicly_accessible != new.publicly_accessible
            || old.multi_az != new.multi_az
            || old.backup_retention_period != new.backup_retention_period
            || old.deletion_protection != new.deletion_protection
            || old.db_parameter_group_name != new.db_parameter_group_name
            || old.port != new.port;
        if anything {
            modify.send().await.map_err(sdk_error)?;
        }
        let db = until_available(cx, &rds, physical_id).await?;
        retag(cx, &rds, db.db_instance_arn.as_deref().unwrap_or_default(), &new.tags).await?;
        Ok(data(&db))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let rds: aws_sdk_rds::Client = cx.client();
        let snapshot = cx.ctx.final_snapshot.then(|| final_snapshot_name(physical_id, std::time::SystemTime::now()));
        rds.delete_db_instance()
            .db_instance_identifier(physical_id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let what = match &snapshot {
            Some(name) => format!("DB instance {physical_id} to be deleted after its final snapshot {name}"),
            None => format!("DB instance {physical_id} to be deleted"),
        };
        if snapshot.is_some() {
            // Name the snapshot at once: a user needs it to restore from.
            cx.ctx.progress.waiting(&what, Duration::ZERO);
        }
        cx.wait_until(&what, || async { Ok(cx.found(describe(&rds, physical_id).await)?.is_none().then_some(())) })
            .await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let id = identifier(cx, p);
        let rds: aws_sdk_rds::Client = cx.client();
        let db = describe(&rds, &id).await?;
        let tags: BTreeMap<String, String> = db
            .tag_list
            .iter()
            .flatten()
            .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
            .collect();
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&db)))
    }

    fn fixture(&self) -> Fixture {
        let params = json!({"Type": "AWS::RDS::DBParameterGroup", "Properties": {
            "Family": "postgres16", "Description": "cairn conformance"}});
        let create = json!({
            "Engine": "postgres",
            "EngineVersion": "16.3",
            "DBInstanceClass": "db.t3.micro",
            "AllocatedStorage": "20",
            "StorageType": "gp3",
            "StorageEncrypted": true,
            "DBName": "epistemix",
            "MasterUsername": "epistemix",
            "MasterUserPassword": "conformance-{uid}-first",
            "PubliclyAccessible": false,
            "MultiAZ": false,
            "BackupRetentionPeriod": 7,
            "DeletionProtection": false,
            "DBParameterGroupName": {"Ref": "Params"},
            "DBSubnetGroupName": {"Ref": "Subnets"},
            "Port": "5432",
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let mut update = create.clone();
        update["DBInstanceClass"] = json!("db.t3.small");
        update["AllocatedStorage"] = json!("30");
        update["BackupRetentionPeriod"] = json!(14);
        update["MasterUserPassword"] = json!("conformance-{uid}-second");
        update["Tags"] = json!([{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]);
        let mut replace = update.clone();
        replace["DBInstanceIdentifier"] = json!("cairn-conformance-{uid}");
        let mut support = super::db_subnet_group::network_support("10.31");
        support["Params"] = params;
        support["Subnets"] = json!({"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
            "DBSubnetGroupDescription": "cairn conformance",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}});
        Fixture {
            support,
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // `CreateDBInstance` makes it whole (settings and tags); only the wait follows,
            // and a refused wait leaves nothing missing (the engine records it as done).
            partial_after: None,
            unverified: &[],
        }
    }
}

/// The final snapshot's name: the instance's identifier (letters, digits and single
/// hyphens, at most 63 characters) and the time, within RDS's rules for
/// `DBSnapshotIdentifier` (255 characters, a letter first, no double or trailing hyphen).
fn final_snapshot_name(identifier: &str, now: std::time::SystemTime) -> String {
    let secs = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{identifier}-final-{secs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(v: Json) -> ProviderError {
        match parse(v) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    fn parse(v: Json) -> Result<Props, ProviderError> {
        DbInstanceType::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_an_instance() {
        let p = parse(json!({"Engine": "postgres", "DBInstanceClass": "db.t3.micro", "AllocatedStorage": 20, "Port": 5432, "MultiAZ": "false"}))
            .unwrap();
        assert_eq!((p.storage().unwrap(), p.port().unwrap(), p.multi_az), (Some(20), Some(5432), Some(false)));
        let e = refused(json!({"Engine": "postgres", "DBInstanceClass": "x", "DBClusterIdentifier": "c"}));
        assert!(e.message.starts_with("DBClusterIdentifier: "), "{}", e.message);
    }

    #[test]
    fn versions_keys_and_names_compare_as_rds_gives_them() {
        let t = DbInstanceType;
        assert!(t.equivalent("EngineVersion", &json!("16"), &json!("16.4")));
        assert!(!t.equivalent("EngineVersion", &json!("16"), &json!("17.1")));
        assert!(!t.equivalent("EngineVersion", &json!("16.1"), &json!("16.10")));
        let arn = json!("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab");
        assert!(t.equivalent("KmsKeyId", &json!("1234abcd-12ab"), &arn));
        assert!(t.equivalent("DBInstanceIdentifier", &json!("MyDb"), &json!("mydb")));
        assert_eq!(major("16.4"), "16");
    }

    #[test]
    fn protection_attributes_and_names() {
        assert_eq!(SPEC.schema.deletion_protection.as_deref(), Some("DeletionProtection"));
        assert!(SPEC.schema.final_snapshot);
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_764_120_000);
        assert_eq!(final_snapshot_name("epistemix-staging-db", at), "epistemix-staging-db-final-1764120000");
        for a in ["Endpoint.Address", "Endpoint.Port", "DbiResourceId", "DBInstanceArn"] {
            assert!(SPEC.schema.attributes.iter().any(|x| x == a), "{a}");
        }
        assert!(SPEC.schema.is_write_only("MasterUserPassword"));
        let ctx = crate::test_ctx(TYPE_NAME, "Data.Db");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let p = parse(json!({"Engine": "postgres", "DBInstanceClass": "db.t3.micro"})).unwrap();
        let id = identifier(&cx, &p);
        assert!(id.len() <= 63 && id == id.to_lowercase() && !id.contains("--"), "{id}");
    }
}
