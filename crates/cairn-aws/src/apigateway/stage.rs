//! `AWS::ApiGateway::Stage`: a stage of a REST API (`v1`), serving one deployment, with its
//! throttling, logging and metrics per method.
//!
//! | property | notes |
//! | --- | --- |
//! | `RestApiId` | the API, required, create-only |
//! | `StageName` | required here (API Gateway needs one), create-only |
//! | `DeploymentId` | the deployment the stage serves, required here (`CreateStage` needs one) |
//! | `Description` | string |
//! | `Variables` | a map of name to value |
//! | `MethodSettings` | `[{HttpMethod, ResourcePath, ThrottlingBurstLimit, ThrottlingRateLimit, LoggingLevel, MetricsEnabled, DataTraceEnabled, CachingEnabled, CacheTtlInSeconds, CacheDataEncrypted}]`; `HttpMethod: "*"` with `ResourcePath: "/*"` is every method; a path's `/` is written `~1` (`/~1batches`) |
//! | `AccessLogSetting` | `{DestinationArn, Format}`: a CloudWatch Logs group ARN (without `:*`) and the line format; API Gateway needs the account's CloudWatch role (`AWS::ApiGateway::Account`) |
//! | `TracingEnabled` | boolean, default false (X-Ray) |
//! | `Tags` | a list of `{Key, Value}`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `CacheClusterEnabled`, `CacheClusterSize`, `CanarySetting`,
//! `ClientCertificateId`, `DocumentationVersion`.
//!
//! - `Ref`: the stage name.
//! - `Fn::GetAtt`: none.
//!
//! `create` is `CreateStage` (deployment, description, variables, tracing and tags), then,
//! when the stage has method or access log settings, one `UpdateStage` with them
//! (`CreateStage` takes neither; a failure there reports the stage as made, and the next
//! `up` completes it). `update` reads the stage (`GetStage`) and sends one `UpdateStage` with
//! a patch operation for each difference: `replace /deploymentId`, `/description`,
//! `/tracingEnabled`; `replace` or `remove /variables/{name}`; `replace
//! /accessLogSettings/destinationArn` and `/format`, or `remove /accessLogSettings`;
//! `replace /{path}/{method}/throttling/burstLimit` (and `rateLimit`, `logging/loglevel`,
//! `logging/dataTrace`, `metrics/enabled`, `caching/...`) for a method setting, `remove
//! /{path}/{method}` for one gone (or for one that lost a member, before its members are
//! set again); then tags are compared with the live ones and changed by `TagResource` and
//! `UntagResource` on the stage's ARN (`arn:{partition}:apigateway:{region}::/restapis/{id}/stages/{name}`).
//! A new `RestApiId` or `StageName` replaces. `delete` is `DeleteStage`. A stage name is
//! unique within its API, so `find` adopts the stage of this name (`GetStage`) when it
//! carries this resource's ownership tags.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigateway::operation::get_stage::GetStageOutput;
use aws_sdk_apigateway::types::{MethodSetting as SdkMethodSetting, Op, PatchOperation};
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{create_tags, escape, patch, resource_arn, rest_api_id_of, sorted, NOT_FOUND};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGateway::Stage";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAY_STAGE, Some("StageName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the stage name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    rest_api_id: String,
    stage_name: Option<String>,
    deployment_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    method_settings: Vec<MethodSetting>,
    access_log_setting: Option<AccessLog>,
    tracing_enabled: Option<bool>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct MethodSetting {
    http_method: Option<String>,
    resource_path: Option<String>,
    throttling_burst_limit: Option<i32>,
    throttling_rate_limit: Option<f64>,
    logging_level: Option<String>,
    metrics_enabled: Option<bool>,
    data_trace_enabled: Option<bool>,
    caching_enabled: Option<bool>,
    cache_ttl_in_seconds: Option<i32>,
    cache_data_encrypted: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AccessLog {
    destination_arn: Option<String>,
    format: Option<String>,
}

impl MethodSetting {
    /// The key of the setting in `GetStage`'s `methodSettings` and in patch paths:
    /// `*/*` for every method, else `{path with / as ~1, without the first}/{method}`.
    fn key(&self) -> String {
        let path = match self.resource_path.as_deref().unwrap_or("/*") {
            "/*" => "*",
            "/" => "~1",
            p => p.strip_prefix('/').unwrap_or(p),
        };
        format!("{path}/{}", self.http_method.as_deref().unwrap_or("*"))
    }

    /// The members set, as patch sub-paths and values.
    fn members(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        put("throttling/burstLimit", self.throttling_burst_limit.map(|v| v.to_string()));
        put("throttling/rateLimit", self.throttling_rate_limit.map(|v| v.to_string()));
        put("logging/loglevel", self.logging_level.clone());
        put("metrics/enabled", self.metrics_enabled.map(|v| v.to_string()));
        put("logging/dataTrace", self.data_trace_enabled.map(|v| v.to_string()));
        put("caching/enabled", self.caching_enabled.map(|v| v.to_string()));
        put("caching/ttlInSeconds", self.cache_ttl_in_seconds.map(|v| v.to_string()));
        put("caching/dataEncrypted", self.cache_data_encrypted.map(|v| v.to_string()));
        out
    }
}

/// A live method setting's members, as patch sub-paths and values.
fn live_members(s: &SdkMethodSetting) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("throttling/burstLimit", s.throttling_burst_limit.to_string()),
        ("throttling/rateLimit", s.throttling_rate_limit.to_string()),
        ("logging/loglevel", s.logging_level.clone().unwrap_or_else(|| "OFF".into())),
        ("metrics/enabled", s.metrics_enabled.to_string()),
        ("logging/dataTrace", s.data_trace_enabled.to_string()),
        ("caching/enabled", s.caching_enabled.to_string()),
        ("caching/ttlInSeconds", s.cache_ttl_in_seconds.to_string()),
        ("caching/dataEncrypted", s.cache_data_encrypted.to_string()),
    ])
}

/// A number as the template writes it: `100` rather than `100.0` when whole.
fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// A live method setting in the template's shape: members the template sets, and the
/// others only where they are on (metrics, tracing, caching, a logging level).
fn method_setting_json(key: &str, s: &SdkMethodSetting, desired: Option<&Json>) -> Json {
    let wants = |k: &str| desired.and_then(|d| d.get(k)).is_some_and(|v| !v.is_null());
    let (path, method) = key.rsplit_once('/').unwrap_or((key, "*"));
    let path = match path {
        "*" => "/*".to_string(),
        "~1" => "/".to_string(),
        p => format!("/{}", p.trim_start_matches('/')),
    };
    let mut out =
        Map::from_iter([("HttpMethod".to_string(), json!(method)), ("ResourcePath".to_string(), json!(path))]);
    if wants("ThrottlingBurstLimit") {
        out.insert("ThrottlingBurstLimit".into(), json!(s.throttling_burst_limit));
    }
    if wants("ThrottlingRateLimit") {
        out.insert("ThrottlingRateLimit".into(), number(s.throttling_rate_limit));
    }
    if let Some(l) = s.logging_level.as_ref().filter(|l| *l != "OFF" || wants("LoggingLevel")) {
        out.insert("LoggingLevel".into(), json!(l));
    }
    if s.metrics_enabled || wants("MetricsEnabled") {
        out.insert("MetricsEnabled".into(), json!(s.metrics_enabled));
    }
    if s.data_trace_enabled || wants("DataTraceEnabled") {
        out.insert("DataTraceEnabled".into(), json!(s.data_trace_enabled));
    }
    if s.caching_enabled || wants("CachingEnabled") {
        out.insert("CachingEnabled".into(), json!(s.caching_enabled));
    }
    if wants("CacheTtlInSeconds") {
        out.insert("CacheTtlInSeconds".into(), json!(s.cache_ttl_in_seconds));
    }
    if wants("CacheDataEncrypted") {
        out.insert("CacheDataEncrypted".into(), json!(s.cache_data_encrypted));
    }
    Json::Object(out)
}

/// The `AWS::ApiGateway::Stage` resource type.
pub struct Stage;

impl Stage {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Stage> {
        Typed::new(Stage, aws)
    }
}

fn data(name: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::new() }
}

fn stage_arn(cx: &Cx<'_>, api: &str, name: &str) -> String {
    resource_arn(cx, &format!("/restapis/{api}/stages/{name}"))
}

impl Props {
    fn name(&self) -> &str {
        self.stage_name.as_deref().unwrap_or_default()
    }
}

/// The patch operations of `UpdateStage` from `live` (or nothing, for a new stage) to `p`;
/// `old` is what the template set before (a method setting that lost a member is removed,
/// then set again).
fn stage_patch(live: Option<&GetStageOutput>, old: Option<&Props>, p: &Props) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if let Some(live) = live {
        let mut replace = |path: &str, live: Option<String>, new: Option<String>| {
            if let Some(new) = new.filter(|n| Some(n) != live.as_ref()) {
                ops.push(patch(Op::Replace, path, Some(new)));
            }
        };
        replace("/deploymentId", live.deployment_id.clone(), p.deployment_id.clone());
        replace(
            "/description",
            Some(live.description.clone().unwrap_or_default()),
            Some(p.description.clone().unwrap_or_default()),
        );
        replace(
            "/tracingEnabled",
            Some(live.tracing_enabled.to_string()),
            Some(p.tracing_enabled.unwrap_or(false).to_string()),
        );
        let vars = sorted(&live.variables);
        for (k, v) in &p.variables {
            if vars.get(k) != Some(v) {
                ops.push(patch(Op::Replace, format!("/variables/{}", escape(k)), Some(v.clone())));
            }
        }
        for k in vars.keys().filter(|k| !p.variables.contains_key(*k)) {
            ops.push(patch(Op::Remove, format!("/variables/{}", escape(k)), None));
        }
    }
    let live_log = live.and_then(|l| l.access_log_settings.as_ref());
    match &p.access_log_setting {
        Some(a) => {
            for (member, value, now) in [
                ("destinationArn", &a.destination_arn, live_log.and_then(|l| l.destination_arn.clone())),
                ("format", &a.format, live_log.and_then(|l| l.format.clone())),
            ] {
                if let Some(v) = value.as_ref().filter(|v| Some(*v) != now.as_ref()) {
                    ops.push(patch(Op::Replace, format!("/accessLogSettings/{member}"), Some(v.clone())));
                }
            }
        }
        None if live_log.is_some_and(|l| l.destination_arn.is_some()) => {
            ops.push(patch(Op::Remove, "/accessLogSettings", None));
        }
        None => {}
    }
    let live_settings = live.map(|l| sorted(&l.method_settings)).unwrap_or_default();
    let old_settings: BTreeMap<String, &MethodSetting> =
        old.map(|o| o.method_settings.iter().map(|s| (s.key(), s)).collect()).unwrap_or_default();
    for s in &p.method_settings {
        let key = s.key();
        let lost_member = old_settings
            .get(&key)
            .is_some_and(|o| o.members().iter().any(|(m, _)| !s.members().iter().any(|(n, _)| n == m)));
        let live_members = match live_settings.get(&key) {
            Some(_) if lost_member => {
                ops.push(patch(Op::Remove, format!("/{key}"), None));
                BTreeMap::new()
            }
            Some(l) => live_members(l),
            None => BTreeMap::new(),
        };
        for (member, value) in s.members() {
            let same = live_members.get(member).is_some_and(|l| {
                l == &value || l.parse::<f64>().ok().zip(value.parse::<f64>().ok()).is_some_and(|(a, b)| a == b)
            });
            if !same {
                ops.push(patch(Op::Replace, format!("/{key}/{member}"), Some(value)));
            }
        }
    }
    let wanted: Vec<String> = p.method_settings.iter().map(MethodSetting::key).collect();
    for key in live_settings.keys().filter(|k| !wanted.contains(k)) {
        ops.push(patch(Op::Remove, format!("/{key}"), None));
    }
    ops
}

#[async_trait]
impl AwsType for Stage {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let err = |path: &str, message: &str| Err(PropsError { path: path.into(), message: message.into() });
        if p.stage_name.is_none() {
            return err("StageName", "required: API Gateway names every stage (`v1`, `prod`)");
        }
        if p.deployment_id.is_none() {
            return err(
                "DeploymentId",
                "required: a stage serves a deployment (`!Ref` an `AWS::ApiGateway::Deployment`)",
            );
        }
        let mut keys = std::collections::BTreeSet::new();
        for (n, s) in p.method_settings.iter().enumerate() {
            if s.resource_path.as_deref().is_some_and(|r| !r.starts_with('/') || r[1..].contains('/')) {
                return err(
                    &format!("MethodSettings[{n}].ResourcePath"),
                    "starts with `/` (`/*` for every resource, `/~1batches` for /batches)",
                );
            }
            if !keys.insert(s.key()) {
                return err(&format!("MethodSettings[{n}]"), "a second setting for the same resource path and method");
            }
            if s.logging_level.as_deref().is_some_and(|l| !matches!(l, "OFF" | "ERROR" | "INFO")) {
                return err(&format!("MethodSettings[{n}].LoggingLevel"), "expected `OFF`, `ERROR` or `INFO`");
            }
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw
            .create_stage()
            .rest_api_id(&p.rest_api_id)
            .stage_name(p.name())
            .set_deployment_id(p.deployment_id.clone())
            .set_description(p.description.clone())
            .set_variables((!p.variables.is_empty()).then(|| p.variables.clone().into_iter().collect()))
            .set_tracing_enabled(p.tracing_enabled)
            .set_tags(Some(create_tags(cx, &p.tags)))
            .send()
            .await
            .map_err(sdk_error)?;
        let ops = stage_patch(None, None, p);
        if !ops.is_empty() {
            cx.created(p.name(), async {
                apigw
                    .update_stage()
                    .rest_api_id(&p.rest_api_id)
                    .stage_name(p.name())
                    .set_patch_operations(Some(ops))
                    .send()
                    .await
                    .map_err(sdk_error)
            })
            .await?;
        }
        Ok(data(p.name()))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let api = rest_api_id_of(desired, TYPE_NAME, physical_id)?;
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let s = apigw.get_stage().rest_api_id(api).stage_name(physical_id).send().await.map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::from([
            ("RestApiId".to_string(), json!(api)),
            ("StageName".to_string(), json!(s.stage_name.as_deref().unwrap_or(physical_id))),
        ]);
        if let Some(d) = &s.deployment_id {
            props.insert("DeploymentId".into(), json!(d));
        }
        if let Some(d) = s.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(d));
        }
        let vars = sorted(&s.variables);
        if !vars.is_empty() || wants("Variables") {
            props.insert("Variables".into(), json!(vars));
        }
        if s.tracing_enabled || wants("TracingEnabled") {
            props.insert("TracingEnabled".into(), json!(s.tracing_enabled));
        }
        if let Some(a) = s.access_log_settings.as_ref().filter(|a| a.destination_arn.is_some() || a.format.is_some()) {
            let mut log = Map::new();
            if let Some(d) = &a.destination_arn {
                log.insert("DestinationArn".into(), json!(d));
            }
            if let Some(f) = &a.format {
                log.insert("Format".into(), json!(f));
            }
            props.insert("AccessLogSetting".into(), Json::Object(log));
        }
        let settings = sorted(&s.method_settings);
        if !settings.is_empty() || wants("MethodSettings") {
            let desired_settings: Vec<(String, &Json)> = desired
                .get("MethodSettings")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|d| Some((serde_json::from_value::<MethodSetting>(d.clone()).ok()?.key(), d)))
                        .collect()
                })
                .unwrap_or_default();
            let list: Vec<Json> = settings
                .iter()
                .map(|(k, v)| {
                    method_setting_json(k, v, desired_settings.iter().find(|(dk, _)| dk == k).map(|(_, d)| *d))
                })
                .collect();
            props.insert("MethodSettings".into(), Json::Array(list));
        }
        Ok(Some(Live { data: data(physical_id), properties: props, tags: Some(sorted(&s.tags)) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let live =
            apigw.get_stage().rest_api_id(&new.rest_api_id).stage_name(physical_id).send().await.map_err(sdk_error)?;
        let ops = stage_patch(Some(&live), Some(old), new);
        if !ops.is_empty() {
            apigw
                .update_stage()
                .rest_api_id(&new.rest_api_id)
                .stage_name(physical_id)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let arn = stage_arn(cx, &new.rest_api_id, physical_id);
        super::retag(cx, &apigw, &arn, live.tags, &new.tags).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        apigw.delete_stage().rest_api_id(&p.rest_api_id).stage_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let s = apigw.get_stage().rest_api_id(&p.rest_api_id).stage_name(p.name()).send().await.map_err(sdk_error)?;
        Ok(ids::is_owned(cx.ctx, &sorted(&s.tags)).then(|| data(p.name())))
    }

    fn fixture(&self) -> Fixture {
        let mut support = super::deployment::fixture_support();
        support.insert(
            "First".into(),
            json!({"Type": "AWS::ApiGateway::Deployment", "DependsOn": "Ping", "Properties": {"RestApiId": {"Ref": "Api"}, "Description": "first"}}),
        );
        support.insert(
            "Second".into(),
            json!({"Type": "AWS::ApiGateway::Deployment", "DependsOn": "Ping", "Properties": {"RestApiId": {"Ref": "Api"}, "Description": "second"}}),
        );
        support.insert(
            "Logs".into(),
            json!({"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/conf/apigw/{uid}"}}),
        );
        let log_arn =
            json!({"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Logs}"});
        let create = json!({
            "RestApiId": {"Ref": "Api"},
            "StageName": "v1",
            "DeploymentId": {"Ref": "First"},
            "Description": "cairn conformance",
            "Variables": {"Table": "conf-{uid}"},
            "MethodSettings": [{
                "HttpMethod": "*", "ResourcePath": "/*",
                "ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100,
                "LoggingLevel": "INFO", "MetricsEnabled": true, "DataTraceEnabled": false
            }],
            "AccessLogSetting": {"DestinationArn": log_arn, "Format": "$context.requestId $context.status"},
            "Tags": [{"Key": "Application", "Value": "conformance"}]
        });
        let update = json!({
            "RestApiId": {"Ref": "Api"},
            "StageName": "v1",
            "DeploymentId": {"Ref": "Second"},
            "Description": "cairn conformance, updated",
            "Variables": {"Queue": "conf-{uid}"},
            "MethodSettings": [{
                "HttpMethod": "*", "ResourcePath": "/*",
                "ThrottlingBurstLimit": 500, "ThrottlingRateLimit": 250.5,
                "LoggingLevel": "ERROR", "MetricsEnabled": false, "DataTraceEnabled": false
            }],
            "AccessLogSetting": {"DestinationArn": log_arn, "Format": "$context.requestId $context.status $context.error.message"},
            "TracingEnabled": true,
            "Tags": [{"Key": "Application", "Value": "conformance"}, {"Key": "Stage", "Value": "update"}]
        });
        let mut replace = create.clone();
        replace["StageName"] = json!("v2");
        Fixture {
            support: Json::Object(support),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // `CreateStage` takes neither method nor access log settings: the `UpdateStage`
            // after it sets them.
            partial_after: Some("UpdateStage"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Stage::new(Aws::unconfigured()).parse(&v)
    }

    fn paths(ops: &[PatchOperation]) -> Vec<String> {
        ops.iter()
            .map(|o| {
                format!(
                    "{} {} {}",
                    o.op.as_ref().unwrap().as_str(),
                    o.path.as_deref().unwrap(),
                    o.value.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn a_new_stage_gets_its_method_and_access_log_settings_by_patch() {
        let p = parse(json!({
            "RestApiId": "a", "StageName": "v1", "DeploymentId": "d",
            "MethodSettings": [
                {"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingBurstLimit": 200, "ThrottlingRateLimit": "100", "MetricsEnabled": true},
                {"HttpMethod": "GET", "ResourcePath": "/~1batches", "LoggingLevel": "ERROR"}
            ],
            "AccessLogSetting": {"DestinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:g", "Format": "$context.requestId"}
        }))
        .unwrap();
        assert_eq!(
            paths(&stage_patch(None, None, &p)),
            vec![
                "replace /accessLogSettings/destinationArn arn:aws:logs:us-east-1:123456789012:log-group:g",
                "replace /accessLogSettings/format $context.requestId",
                "replace /*/*/throttling/burstLimit 200",
                "replace /*/*/throttling/rateLimit 100",
                "replace /*/*/metrics/enabled true",
                "replace /~1batches/GET/logging/loglevel ERROR",
            ]
        );
    }

    #[test]
    fn live_settings_read_back_in_the_template_shape() {
        let s = SdkMethodSetting::builder()
            .throttling_burst_limit(200)
            .throttling_rate_limit(100.0)
            .metrics_enabled(true)
            .logging_level("OFF")
            .build();
        let desired =
            json!({"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100});
        assert_eq!(
            method_setting_json("*/*", &s, Some(&desired)),
            json!({"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100, "MetricsEnabled": true})
        );
        assert_eq!(method_setting_json("~1batches/GET", &s, None)["ResourcePath"], json!("/~1batches"));
        let e = parse(json!({"RestApiId": "a", "StageName": "v1"})).unwrap_err();
        assert!(e.message.starts_with("DeploymentId: "), "{}", e.message);
    }
}
