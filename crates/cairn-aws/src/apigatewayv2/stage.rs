//! `AWS::ApiGatewayV2::Stage`: a stage of an API (`$default`, `prod`), where its routes
//! are deployed.
//!
//! | property | notes |
//! | --- | --- |
//! | `ApiId` | the API, required, create-only |
//! | `StageName` | required, create-only; `$default` serves the API at its endpoint's root |
//! | `AutoDeploy` | boolean, default false: deploy every change of the API's routes and integrations |
//! | `DefaultRouteSettings` | `{ThrottlingBurstLimit, ThrottlingRateLimit, DetailedMetricsEnabled, DataTraceEnabled, LoggingLevel}` |
//! | `StageVariables` | a map of name to value |
//! | `AccessLogSettings` | `{DestinationArn, Format}` |
//! | `DeploymentId` | the deployment the stage serves (without `AutoDeploy`) |
//! | `ClientCertificateId` | string |
//! | `Description` | string |
//! | `Tags` | a map of key to value (not a list), merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `RouteSettings` (per-route overrides).
//!
//! - `Ref`: the stage name.
//! - `Fn::GetAtt`: none.
//!
//! `create` is one `CreateStage` (settings and tags). `update` is one `UpdateStage` with
//! every setting (a stage variable removed from the template is sent empty, which is how
//! API Gateway removes one; a removed description is sent empty), then tags compared with
//! the live ones, changed by `TagResource` and `UntagResource` on the stage's ARN
//! (`arn:{partition}:apigateway:{region}::/apis/{id}/stages/{name}`). A new `ApiId` or
//! `StageName` replaces. `delete` is `DeleteStage`. A stage name is unique within its API,
//! so `find` adopts the stage of this name (`GetStage`) when it carries this resource's
//! ownership tags.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewayv2::types::{AccessLogSettings, LoggingLevel, RouteSettings};
use cairn_core::provider::{ProviderError, ResourceData, Step};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{api_id_of, resource_arn, NOT_FOUND};
use crate::kit::{ids, tags, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGatewayV2::Stage";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAYV2_STAGE, Some("StageName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the stage name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    api_id: String,
    stage_name: String,
    auto_deploy: Option<bool>,
    default_route_settings: Option<Settings>,
    stage_variables: Option<BTreeMap<String, Json>>,
    access_log_settings: Option<AccessLog>,
    deployment_id: Option<String>,
    client_certificate_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Settings {
    throttling_burst_limit: Option<i32>,
    throttling_rate_limit: Option<f64>,
    detailed_metrics_enabled: Option<bool>,
    data_trace_enabled: Option<bool>,
    logging_level: Option<String>,
}

impl Settings {
    fn sdk(&self) -> RouteSettings {
        RouteSettings::builder()
            .set_throttling_burst_limit(self.throttling_burst_limit)
            .set_throttling_rate_limit(self.throttling_rate_limit)
            .set_detailed_metrics_enabled(self.detailed_metrics_enabled)
            .set_data_trace_enabled(self.data_trace_enabled)
            .set_logging_level(self.logging_level.as_deref().map(LoggingLevel::from))
            .build()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AccessLog {
    destination_arn: Option<String>,
    format: Option<String>,
}

impl AccessLog {
    fn sdk(&self) -> AccessLogSettings {
        AccessLogSettings::builder()
            .set_destination_arn(self.destination_arn.clone())
            .set_format(self.format.clone())
            .build()
    }
}

/// Stage variables as API Gateway takes them (strings; numbers and booleans spelled out).
fn variables(vars: &BTreeMap<String, Json>) -> Result<BTreeMap<String, String>, PropsError> {
    vars.iter()
        .map(|(k, v)| match crate::util::scalar_string(v) {
            Some(s) => Ok((k.clone(), s)),
            None => Err(PropsError {
                path: format!("StageVariables.{k}"),
                message: "expected a string, number or boolean".into(),
            }),
        })
        .collect()
}

/// A number as the template writes it: `1000` rather than `1000.0` when whole.
fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// The live default route settings in the template's shape: members at API Gateway's
/// defaults (metrics and tracing off, logging `OFF`) only where the template sets them.
fn settings_json(s: &RouteSettings, desired: Option<&Json>) -> Json {
    let wants = |k: &str| desired.and_then(|d| d.get(k)).is_some_and(|v| !v.is_null());
    let mut out = Map::new();
    if let Some(b) = s.throttling_burst_limit {
        out.insert("ThrottlingBurstLimit".into(), json!(b));
    }
    if let Some(r) = s.throttling_rate_limit {
        out.insert("ThrottlingRateLimit".into(), number(r));
    }
    if let Some(m) = s.detailed_metrics_enabled.filter(|m| *m || wants("DetailedMetricsEnabled")) {
        out.insert("DetailedMetricsEnabled".into(), json!(m));
    }
    if let Some(t) = s.data_trace_enabled.filter(|t| *t || wants("DataTraceEnabled")) {
        out.insert("DataTraceEnabled".into(), json!(t));
    }
    if let Some(l) = s.logging_level.as_ref().filter(|l| **l != LoggingLevel::Off || wants("LoggingLevel")) {
        out.insert("LoggingLevel".into(), json!(l.as_str()));
    }
    Json::Object(out)
}

/// The `AWS::ApiGatewayV2::Stage` resource type.
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

fn stage_arn(cx: &Cx<'_>, api_id: &str, name: &str) -> String {
    resource_arn(&cx.ctx.partition, cx.region(), &format!("/apis/{api_id}/stages/{name}"))
}

#[async_trait]
impl AwsType for Stage {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if let Some(vars) = &p.stage_variables {
            variables(vars)?;
        }
        if p.auto_deploy == Some(true) && p.deployment_id.is_some() {
            return Err(PropsError {
                path: "DeploymentId".into(),
                message: "a stage with `AutoDeploy: true` deploys itself; leave `DeploymentId` out".into(),
            });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let vars = p.stage_variables.as_ref().map(variables).transpose()?;
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        apigw
            .create_stage()
            .api_id(&p.api_id)
            .stage_name(&p.stage_name)
            .set_auto_deploy(p.auto_deploy)
            .set_default_route_settings(p.default_route_settings.as_ref().map(Settings::sdk))
            .set_stage_variables(vars.map(|v| v.into_iter().collect()))
            .set_access_log_settings(p.access_log_settings.as_ref().map(AccessLog::sdk))
            .set_deployment_id(p.deployment_id.clone())
            .set_client_certificate_id(p.client_certificate_id.clone())
            .set_description(p.description.clone())
            .set_tags(Some(cx.tags(&tags::from_map(&p.tags)).into_iter().collect()))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(&p.stage_name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let api_id = api_id_of(desired, TYPE_NAME, physical_id)?;
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let s = apigw.get_stage().api_id(api_id).stage_name(physical_id).send().await.map_err(sdk_error)?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::from([
            ("ApiId".to_string(), json!(api_id)),
            ("StageName".to_string(), json!(s.stage_name.as_deref().unwrap_or(physical_id))),
        ]);
        if let Some(a) = s.auto_deploy.filter(|a| *a || wants("AutoDeploy")) {
            props.insert("AutoDeploy".into(), json!(a));
        }
        if let Some(r) = &s.default_route_settings {
            let r = settings_json(r, desired.get("DefaultRouteSettings"));
            if r.as_object().is_some_and(|o| !o.is_empty()) || wants("DefaultRouteSettings") {
                props.insert("DefaultRouteSettings".into(), r);
            }
        }
        if let Some(v) = s.stage_variables.as_ref().filter(|v| !v.is_empty() || wants("StageVariables")) {
            props.insert("StageVariables".into(), json!(v.iter().collect::<BTreeMap<_, _>>()));
        }
        if let Some(a) = &s.access_log_settings {
            let mut log = Map::new();
            if let Some(d) = &a.destination_arn {
                log.insert("DestinationArn".into(), json!(d));
            }
            if let Some(f) = &a.format {
                log.insert("Format".into(), json!(f));
            }
            if !log.is_empty() || wants("AccessLogSettings") {
                props.insert("AccessLogSettings".into(), Json::Object(log));
            }
        }
        // With `AutoDeploy`, API Gateway sets the deployment: shown only when the template sets it.
        if let Some(d) = s.deployment_id.as_ref().filter(|_| wants("DeploymentId")) {
            props.insert("DeploymentId".into(), json!(d));
        }
        if let Some(c) = &s.client_certificate_id {
            props.insert("ClientCertificateId".into(), json!(c));
        }
        if let Some(d) = s.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(d));
        }
        let live_tags = s.tags.clone().unwrap_or_default().into_iter().collect();
        Ok(Some(Live { data: data(physical_id), properties: props, tags: Some(live_tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let mut vars = new.stage_variables.as_ref().map(variables).transpose()?.unwrap_or_default();
        for gone in old
            .stage_variables
            .iter()
            .flatten()
            .map(|(k, _)| k)
            .filter(|k| !vars.contains_key(*k))
            .cloned()
            .collect::<Vec<_>>()
        {
            vars.insert(gone, String::new());
        }
        let description = new.description.clone().or(old.description.as_ref().map(|_| String::new()));
        apigw
            .update_stage()
            .api_id(&new.api_id)
            .stage_name(physical_id)
            .auto_deploy(new.auto_deploy.unwrap_or(false))
            .set_default_route_settings(new.default_route_settings.as_ref().map(Settings::sdk))
            .set_stage_variables((!vars.is_empty()).then(|| vars.into_iter().collect()))
            .set_access_log_settings(new.access_log_settings.as_ref().map(AccessLog::sdk))
            .set_deployment_id(new.deployment_id.clone())
            .set_client_certificate_id(new.client_certificate_id.clone())
            .set_description(description)
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = stage_arn(cx, &new.api_id, physical_id);
        let live = apigw.get_stage().api_id(&new.api_id).stage_name(physical_id).send().await.map_err(sdk_error)?;
        super::retag(cx, &apigw, &arn, live.tags, &new.tags).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        apigw.delete_stage().api_id(&p.api_id).stage_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let apigw: aws_sdk_apigatewayv2::Client = cx.client();
        let s = apigw.get_stage().api_id(&p.api_id).stage_name(&p.stage_name).send().await.map_err(sdk_error)?;
        let tags = s.tags.unwrap_or_default().into_iter().collect();
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&p.stage_name)))
    }

    fn fixture(&self) -> Fixture {
        let api = json!({"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}});
        let create = json!({
            "ApiId": {"Ref": "First"},
            "StageName": "$default",
            "AutoDeploy": true,
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 2000, "ThrottlingRateLimit": 1000},
            "StageVariables": {"Table": "conf-{uid}"},
            "Description": "cairn conformance",
            "Tags": {"Application": "conformance"}
        });
        let update = json!({
            "ApiId": {"Ref": "First"},
            "StageName": "$default",
            "AutoDeploy": false,
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 500, "ThrottlingRateLimit": 100.5, "DetailedMetricsEnabled": true},
            "StageVariables": {"Queue": "conf-{uid}"},
            "Description": "cairn conformance, updated",
            "Tags": {"Application": "conformance", "Stage": "update"}
        });
        let mut replace = create.clone();
        replace["StageName"] = json!("prod");
        Fixture {
            support: json!({"First": api}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (`CreateStage`, settings and tags).
            partial_after: None,
            unverified: &[(
                Step::Update,
                "moto 5.2.5 has no UpdateStage (moto/apigatewayv2/responses.py and urls.py route no PATCH of /v2/apis/{id}/stages/{name})",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Stage::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn parses_the_default_stage_with_throttling() {
        let p = parse(json!({
            "ApiId": "a1b2c3",
            "StageName": "$default",
            "AutoDeploy": true,
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 2000, "ThrottlingRateLimit": 1000},
            "StageVariables": {"Table": "t", "Retries": 3},
            "Tags": {"Environment": "dev"}
        }))
        .unwrap();
        let s = p.default_route_settings.as_ref().unwrap().sdk();
        assert_eq!(s.throttling_rate_limit(), Some(1000.0));
        assert_eq!(settings_json(&s, None), json!({"ThrottlingBurstLimit": 2000, "ThrottlingRateLimit": 1000}));
        assert_eq!(variables(p.stage_variables.as_ref().unwrap()).unwrap()["Retries"], "3");
        let e = parse(json!({"ApiId": "a", "StageName": "s", "StageVariables": {"x": [1]}})).unwrap_err();
        assert_eq!(e.message, "StageVariables.x: expected a string, number or boolean");
        let e = parse(json!({"ApiId": "a", "StageName": "s", "AutoDeploy": true, "DeploymentId": "d"})).unwrap_err();
        assert!(e.message.starts_with("DeploymentId: "), "{}", e.message);
        let e = parse(json!({"ApiId": "a", "StageName": "s", "RouteSettings": {}})).unwrap_err();
        assert!(e.message.starts_with("RouteSettings: "), "{}", e.message);
    }

    #[test]
    fn defaults_are_shown_only_when_set() {
        let live = RouteSettings::builder().detailed_metrics_enabled(false).logging_level(LoggingLevel::Off).build();
        assert_eq!(settings_json(&live, None), json!({}));
        let desired = json!({"DetailedMetricsEnabled": false});
        assert_eq!(settings_json(&live, Some(&desired)), json!({"DetailedMetricsEnabled": false}));
        assert_eq!(number(100.5), json!(100.5));
        assert_eq!(number(1000.0), json!(1000));
    }
}
