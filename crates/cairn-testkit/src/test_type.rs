//! [`TestType`]: a configurable resource type whose resources live in a [`TestCloud`].
//!
//! | property | type | |
//! | --- | --- | --- |
//! | `Name` | string, create-only | the name property: the physical id when set |
//! | `Value` | any | given back as the `Echo` attribute |
//! | `Inputs` | any | carries references to other resources |
//! | `Fail` | boolean | create and update fail with code `InjectedFailure` when true |
//! | `Replace` | string, create-only | change it to force a replacement |
//! | `Tags` | list of `{Key, Value}` | recorded with the stack and ownership tags; unordered (`TypeSchema::unordered_lists`) |
//! | `Config` | mapping | nested schema facts, below |
//!
//! `Config` carries the nested facts of a registry schema: `Config.Engine` is create-only
//! (one of `pg`, `mysql`), `Config.Secret` write-only (never returned by `read`, like a
//! password), `Config.Port` defaults to `5432`, `Config.Label` must match `^[a-z-]+$`,
//! and `Config.Zones` is a set-like list.
//!
//! Properties made write-only with [`TestType::with_write_only`] are not given back by
//! `read`.
//!
//! - `Ref`: the physical id: `Name`, or a name generated from the stack, the logical id and
//!   `ctx.name_seed` (so a create found again after a crash has the same name).
//! - `Fn::GetAtt`: `Arn` (`arn:test:::{physical id}`) and `Echo` (the `Value` property).
//!
//! Like AWS: creating a resource whose physical id exists fails with `AlreadyExists`;
//! updating or deleting one that does not exist fails with `NotFound`. `find` looks the
//! resource up by its ownership tags, preferring the one with the physical id this create
//! would make (when a replacement's old resource carries the same tags).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema};
use cairn_core::Value;
use serde_json::Value as Json;

use crate::cloud::{LiveResource, Op, Resources, TestCloud};

/// A resource type for tests, named as the test likes (`Test::Thing`), creating its
/// resources in a [`TestCloud`], each call taking `latency`.
#[derive(Clone, Debug)]
pub struct TestType {
    schema: TypeSchema,
    cloud: TestCloud,
    latency: Duration,
}

impl TestType {
    pub fn new(type_name: &str, cloud: &TestCloud) -> Self {
        let schema = TypeSchema {
            type_name: type_name.to_string(),
            properties: BTreeMap::from([
                ("Name".to_string(), "string"),
                ("Value".to_string(), ""),
                ("Inputs".to_string(), ""),
                ("Fail".to_string(), "boolean"),
                ("Replace".to_string(), "string"),
                ("Tags".to_string(), "array"),
                ("Config".to_string(), "object"),
                // A boolean, or `ACTIVE`/`INACTIVE` as Cognito spells it: any type.
                ("Protected".to_string(), ""),
            ]),
            create_only: vec!["Name".to_string(), "Replace".to_string(), "Config.Engine".to_string()],
            write_only: vec!["Config.Secret".to_string()],
            defaults: BTreeMap::from([("Config.Port".to_string(), Json::from(5432))]),
            enums: BTreeMap::from([("Config.Engine".to_string(), vec![Json::from("pg"), Json::from("mysql")])]),
            patterns: BTreeMap::from([("Config.Label".to_string(), "^[a-z-]+$".to_string())]),
            attributes: vec!["Arn".to_string(), "Echo".to_string()],
            name_property: Some("Name".to_string()),
            deletion_protection: Some("Protected".to_string()),
            taggable: true,
            volatile_attributes: vec!["Echo".to_string()],
            unordered_lists: vec!["Tags".to_string(), "Config.Zones".to_string()],
            ..TypeSchema::default()
        };
        TestType { schema, cloud: cloud.clone(), latency: Duration::ZERO }
    }

    /// Declare these properties write-only (as a password is): sent to the cloud, never
    /// given back by `read`.
    pub fn with_write_only(mut self, properties: &[&str]) -> Self {
        self.schema.write_only = properties.iter().map(|p| p.to_string()).collect();
        self
    }

    /// Let deletes take a final snapshot (as an RDS DB instance does): with
    /// `OpContext::final_snapshot`, a delete leaves a live resource of type
    /// `<type>::Snapshot` named `<physical id>-final-snapshot` behind.
    pub fn with_final_snapshot(mut self) -> Self {
        self.schema.final_snapshot = true;
        self
    }

    /// Make every call wait `latency` (on tokio's clock) before it acts.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Log the call, wait the latency, then act on the cloud (unless a failure is injected).
    async fn call<T>(
        &self,
        op: Op,
        ctx: &OpContext,
        effect: impl FnOnce(&mut Resources) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let _in_flight = self.cloud.start_call(op, &ctx.logical_id);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.cloud.apply(op, &ctx.logical_id, effect)
    }

    fn live(&self, ctx: &OpContext, physical_id: String, properties: &Json) -> LiveResource {
        LiveResource {
            type_name: self.schema.type_name.clone(),
            physical_id,
            properties: properties.clone(),
            tags: tags(ctx, properties),
        }
    }
}

#[async_trait]
impl ResourceType for TestType {
    fn schema(&self) -> &TypeSchema {
        &self.schema
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        self.call(Op::Create, ctx, |resources| {
            fail_if_asked(Op::Create, ctx, properties)?;
            let physical_id = physical_id(ctx, properties);
            if resources.contains_key(&physical_id) {
                return Err(ProviderError::with_code("AlreadyExists", format!("{physical_id} already exists")));
            }
            resources.insert(physical_id.clone(), self.live(ctx, physical_id.clone(), properties));
            Ok(data(physical_id, properties))
        })
        .await
    }

    async fn read(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        _properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        self.call(Op::Read, ctx, |resources| {
            Ok(resources.get(physical_id).filter(|r| r.type_name == self.schema.type_name).map(|r| ReadResult {
                data: data(r.physical_id.clone(), &r.properties),
                // Like AWS: what is write-only is never given back.
                properties: self.schema.without_write_only(&r.properties),
            }))
        })
        .await
    }

    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        _old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        self.call(Op::Update, ctx, |resources| {
            fail_if_asked(Op::Update, ctx, new)?;
            if !resources.contains_key(physical_id) {
                return Err(not_found(physical_id));
            }
            resources.insert(physical_id.to_string(), self.live(ctx, physical_id.to_string(), new));
            Ok(data(physical_id.to_string(), new))
        })
        .await
    }

    async fn delete(&self, ctx: &OpContext, physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        if ctx.final_snapshot && !self.schema.final_snapshot {
            return Err(ProviderError::with_code(
                "SnapshotUnsupported",
                format!("{} cannot take a final snapshot, yet the engine asked for one", self.schema.type_name),
            ));
        }
        self.call(Op::Delete, ctx, |resources| match resources.remove(physical_id) {
            Some(gone) => {
                if ctx.final_snapshot {
                    let name = format!("{physical_id}-final-snapshot");
                    let snapshot = LiveResource {
                        type_name: format!("{}::Snapshot", self.schema.type_name),
                        physical_id: name.clone(),
                        properties: gone.properties,
                        tags: BTreeMap::new(),
                    };
                    resources.insert(name, snapshot);
                }
                Ok(())
            }
            None => Err(not_found(physical_id)),
        })
        .await
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let wanted = ctx.ownership_tags();
        let expected = physical_id(ctx, properties);
        self.call(Op::Find, ctx, |resources| {
            let mut owned = resources.values().filter(|r| {
                r.type_name == self.schema.type_name && wanted.iter().all(|(k, v)| r.tags.get(k) == Some(v))
            });
            // The resource this very create would have made (its name) first: during a
            // replacement the old resource carries the same ownership tags.
            let found = match resources.get(&expected).filter(|r| owned.clone().any(|o| o.physical_id == r.physical_id))
            {
                Some(r) => Some(r),
                None => owned.next(),
            };
            Ok(found.map(|r| data(r.physical_id.clone(), &r.properties)))
        })
        .await
    }
}

/// The physical id a create makes: `Name`, or a name generated from the seed.
pub(crate) fn physical_id(ctx: &OpContext, properties: &Json) -> String {
    match properties.get("Name").and_then(|n| Value::from_json(n).to_cfn_string()) {
        Some(name) => name,
        None => ctx.generated_name(64, false, |c| c.is_ascii_alphanumeric() || c == '-'),
    }
}

fn data(physical_id: String, properties: &Json) -> ResourceData {
    let echo = properties.get("Value").map(Value::from_json).unwrap_or_default();
    ResourceData {
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::String(format!("arn:test:::{physical_id}"))),
            ("Echo".to_string(), echo),
        ]),
        physical_id,
    }
}

fn fail_if_asked(op: Op, ctx: &OpContext, properties: &Json) -> Result<(), ProviderError> {
    match properties.get("Fail").map(Value::from_json).and_then(|v| v.as_bool()) {
        Some(true) => Err(ProviderError::with_code(
            "InjectedFailure",
            format!("{op} of {} failed because its `Fail` property is true", ctx.logical_id),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn not_found(physical_id: &str) -> ProviderError {
    ProviderError::with_code("NotFound", format!("{physical_id} does not exist"))
}

/// The stack's tags, then the `Tags` property, then the ownership tags.
pub(crate) fn tags(ctx: &OpContext, properties: &Json) -> BTreeMap<String, String> {
    let mut tags = ctx.stack_tags.clone();
    for tag in properties.get("Tags").and_then(Json::as_array).into_iter().flatten() {
        if let (Some(k), Some(v)) = (tag.get("Key").and_then(Json::as_str), tag.get("Value").and_then(Json::as_str)) {
            tags.insert(k.to_string(), v.to_string());
        }
    }
    tags.extend(ctx.ownership_tags());
    tags
}
