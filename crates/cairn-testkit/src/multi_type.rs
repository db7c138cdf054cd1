//! [`MultiCallType`] (`Test::Multi`): a resource type whose create and update make several
//! calls, like most AWS types (`CreateBucket`, then `PutBucketEncryption`, then
//! `PutBucketVersioning`, ...). Any of those calls can be made to fail, or to take effect
//! and lose its answer ([`TestCloud::fail_nth_mutation`]), so that the engine's handling
//! of a half-made resource can be tested at every position.
//!
//! | property | type | |
//! | --- | --- | --- |
//! | `Name` | string, create-only | the name property: the physical id when set |
//! | `Settings` | mapping | each entry is put by a call of its own (`Op::Set`), in key order |
//! | `Inputs` | any | carries references to other resources |
//! | `Tags` | list of `{Key, Value}` | recorded with the stack and ownership tags |
//!
//! - create: `Op::Create` makes the resource without settings, then one `Op::Set` per
//!   setting. A failure after the first call reports the resource it made
//!   ([`ProviderError::after_creating`]).
//! - update: one `Op::Update` when `Inputs` or `Tags` changed, then one `Op::Set` per
//!   added or changed setting and one `Op::Unset` per removed one, in key order.
//! - read: the properties with the settings that are applied now (no `Settings` key when
//!   none is).
//! - `Ref`: the physical id; `Fn::GetAtt`: `Arn`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cairn_core::provider::{OpContext, ProviderError, ReadResult, ResourceData, ResourceType, TypeSchema};
use cairn_core::Value;
use serde_json::{Map, Value as Json};

use crate::cloud::{LiveResource, Op, TestCloud};
use crate::test_type::{not_found, physical_id, tags};

/// The type name [`MultiCallType`] registers as.
pub const MULTI_TYPE: &str = "Test::Multi";

#[derive(Clone, Debug)]
pub struct MultiCallType {
    schema: TypeSchema,
    cloud: TestCloud,
}

impl MultiCallType {
    pub fn new(cloud: &TestCloud) -> Self {
        let schema = TypeSchema {
            type_name: MULTI_TYPE.to_string(),
            properties: BTreeMap::from([
                ("Name".to_string(), "string"),
                ("Settings".to_string(), "object"),
                ("Inputs".to_string(), ""),
                ("Tags".to_string(), "array"),
            ]),
            create_only: vec!["Name".to_string()],
            attributes: vec!["Arn".to_string()],
            name_property: Some("Name".to_string()),
            taggable: true,
            ..TypeSchema::default()
        };
        MultiCallType { schema, cloud: cloud.clone() }
    }

    /// One call: logged, counted in flight, subject to injected failures.
    fn call<T>(
        &self,
        op: Op,
        ctx: &OpContext,
        effect: impl FnOnce(&mut BTreeMap<String, LiveResource>) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let _in_flight = self.cloud.start_call(op, &ctx.logical_id);
        self.cloud.apply(op, &ctx.logical_id, effect)
    }

    /// Put (`Some`) or remove (`None`) one setting of `physical_id`.
    fn set(&self, ctx: &OpContext, physical_id: &str, key: &str, value: Option<&Json>) -> Result<(), ProviderError> {
        let op = if value.is_some() { Op::Set } else { Op::Unset };
        self.call(op, ctx, |resources| {
            let r = resources.get_mut(physical_id).ok_or_else(|| not_found(physical_id))?;
            let obj = r.properties.as_object_mut().expect("live properties are an object");
            let settings = obj.entry("Settings").or_insert_with(|| Json::Object(Map::new()));
            let settings = settings.as_object_mut().expect("settings are an object");
            match value {
                Some(v) => {
                    settings.insert(key.to_string(), v.clone());
                }
                None => {
                    settings.remove(key);
                }
            }
            if settings.is_empty() {
                obj.remove("Settings");
            }
            Ok(())
        })
    }
}

fn settings(properties: &Json) -> Map<String, Json> {
    properties.get("Settings").and_then(Json::as_object).cloned().unwrap_or_default()
}

fn without_settings(properties: &Json) -> Json {
    let mut p = properties.as_object().cloned().unwrap_or_default();
    p.remove("Settings");
    Json::Object(p)
}

fn data(physical_id: &str) -> ResourceData {
    ResourceData {
        physical_id: physical_id.to_string(),
        attributes: BTreeMap::from([("Arn".to_string(), Value::String(format!("arn:test:::{physical_id}")))]),
    }
}

#[async_trait]
impl ResourceType for MultiCallType {
    fn schema(&self) -> &TypeSchema {
        &self.schema
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let pid = physical_id(ctx, properties);
        self.call(Op::Create, ctx, |resources| {
            if resources.contains_key(&pid) {
                return Err(ProviderError::with_code("AlreadyExists", format!("{pid} already exists")));
            }
            let live = LiveResource {
                type_name: MULTI_TYPE.to_string(),
                physical_id: pid.clone(),
                properties: without_settings(properties),
                tags: tags(ctx, properties),
            };
            resources.insert(pid.clone(), live);
            Ok(())
        })?;
        for (k, v) in settings(properties) {
            self.set(ctx, &pid, &k, Some(&v)).map_err(|e| e.after_creating(&pid))?;
        }
        Ok(data(&pid))
    }

    async fn read(&self, ctx: &OpContext, physical_id: &str, _: &Json) -> Result<Option<ReadResult>, ProviderError> {
        self.call(Op::Read, ctx, |resources| {
            Ok(resources
                .get(physical_id)
                .filter(|r| r.type_name == MULTI_TYPE)
                .map(|r| ReadResult { data: data(physical_id), properties: r.properties.clone() }))
        })
    }

    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        if without_settings(old) != without_settings(new) {
            self.call(Op::Update, ctx, |resources| {
                let r = resources.get_mut(physical_id).ok_or_else(|| not_found(physical_id))?;
                let applied = r.properties.get("Settings").cloned();
                let mut p = without_settings(new);
                if let Some(s) = applied {
                    p.as_object_mut().expect("object").insert("Settings".into(), s);
                }
                r.properties = p;
                r.tags = tags(ctx, new);
                Ok(())
            })?;
        }
        let (old_s, new_s) = (settings(old), settings(new));
        let keys: std::collections::BTreeSet<&String> = old_s.keys().chain(new_s.keys()).collect();
        for k in keys {
            match (old_s.get(k), new_s.get(k)) {
                (_, Some(n)) if old_s.get(k) != Some(n) => self.set(ctx, physical_id, k, Some(n))?,
                (Some(_), None) => self.set(ctx, physical_id, k, None)?,
                _ => {}
            }
        }
        Ok(data(physical_id))
    }

    async fn delete(&self, ctx: &OpContext, physical_id: &str, _: &Json) -> Result<(), ProviderError> {
        self.call(Op::Delete, ctx, |resources| match resources.remove(physical_id) {
            Some(_) => Ok(()),
            None => Err(not_found(physical_id)),
        })
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let wanted = ctx.ownership_tags();
        let expected = physical_id(ctx, properties);
        self.call(Op::Find, ctx, |resources| {
            let owned: Vec<&LiveResource> = resources
                .values()
                .filter(|r| r.type_name == MULTI_TYPE && wanted.iter().all(|(k, v)| r.tags.get(k) == Some(v)))
                .collect();
            let found = owned.iter().find(|r| r.physical_id == expected).or(owned.first());
            Ok(found.map(|r| data(&r.physical_id)))
        })
    }
}
