//! `AWS::CloudWatch::Dashboard`: a CloudWatch dashboard.
//!
//! | property | notes |
//! | --- | --- |
//! | `DashboardName` | string, create-only; generated when absent (255 characters) |
//! | `DashboardBody` | JSON text, required; compared by meaning (other spacing or key order is no change; list order is) |
//!
//! Left out of the schema's properties: `Tags` (a template that sets them is refused at
//! their path before any call).
//!
//! - `Ref`: the dashboard name.
//! - `Fn::GetAtt`: none.
//!
//! `create` and `update` are one `PutDashboard` each (it creates, or replaces the body).
//! `delete` is `DeleteDashboards`. The dashboard carries no tags, so `find` relies on the
//! deterministic name: it adopts a dashboard with a generated name, never one with an
//! explicit name (which it cannot tell from someone else's).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::name_char;
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::CloudWatch::Dashboard";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::CLOUDWATCH_DASHBOARD, Some("DashboardName"), &[])),
    not_found: &["ResourceNotFound"],
    timeout: Duration::from_secs(60),
    reference: "the dashboard name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    dashboard_name: Option<String>,
    dashboard_body: String,
}

/// The `AWS::CloudWatch::Dashboard` resource type.
pub struct Dashboard;

impl Dashboard {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Dashboard> {
        Typed::new(Dashboard, aws)
    }
}

fn dashboard_name(cx: &Cx<'_>, p: &Props) -> String {
    p.dashboard_name.clone().unwrap_or_else(|| cx.generated_name(255, false, name_char))
}

fn data(name: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::new() }
}

/// Whether two dashboard bodies mean the same: both JSON text that parses to equal values
/// (key order and spacing aside), or identical.
fn same_body(a: &Json, b: &Json) -> bool {
    let parse = |v: &Json| v.as_str().and_then(|s| serde_json::from_str::<Json>(s).ok());
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

async fn put(cw: &aws_sdk_cloudwatch::Client, name: &str, p: &Props) -> Result<(), ProviderError> {
    cw.put_dashboard().dashboard_name(name).dashboard_body(&p.dashboard_body).send().await.map_err(sdk_error)?;
    Ok(())
}

#[async_trait]
impl AwsType for Dashboard {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        match serde_json::from_str::<Json>(&p.dashboard_body) {
            Ok(Json::Object(_)) => Ok(()),
            Ok(_) => Err(PropsError { path: "DashboardBody".into(), message: "expected a JSON object".into() }),
            Err(e) => Err(PropsError { path: "DashboardBody".into(), message: format!("not valid JSON: {e}") }),
        }
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "DashboardBody" => same_body(old, new),
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = dashboard_name(cx, p);
        put(&cx.client(), &name, p).await?;
        Ok(data(&name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        let out = cw.get_dashboard().dashboard_name(physical_id).send().await.map_err(sdk_error)?;
        let mut props = BTreeMap::new();
        props.insert("DashboardBody".to_string(), json!(out.dashboard_body.unwrap_or_default()));
        if desired.get("DashboardName").is_some_and(|v| !v.is_null()) {
            props.insert("DashboardName".to_string(), json!(physical_id));
        }
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        put(&cx.client(), physical_id, new).await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        cw.delete_dashboards().dashboard_names(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        if p.dashboard_name.is_some() {
            return Ok(None);
        }
        let name = dashboard_name(cx, p);
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        cw.get_dashboard().dashboard_name(&name).send().await.map_err(sdk_error)?;
        Ok(Some(data(&name)))
    }

    fn fixture(&self) -> Fixture {
        let text = |widgets: Json| json!(serde_json::to_string(&json!({"widgets": widgets})).unwrap_or_default());
        let metric = |x: u32, title: &str| {
            json!({"type": "metric", "x": x, "y": 0, "width": 12, "height": 6, "properties": {
                "metrics": [["AWS/EC2", "CPUUtilization"]], "period": 300, "stat": "Average",
                "region": "us-east-1", "title": title}})
        };
        let create = json!({"DashboardBody": text(json!([metric(0, "CPU")]))});
        let update = json!({"DashboardBody": text(json!([metric(0, "CPU"), metric(12, "CPU again")]))});
        Fixture {
            support: json!({}),
            create,
            update: Some(update.clone()),
            replace: Some(json!({"DashboardName": "conf-dash-{uid}", "DashboardBody": update["DashboardBody"]})),
            nested_replace: None,
            // The create is one call (PutDashboard).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard() -> Typed<Dashboard> {
        Dashboard::new(Aws::unconfigured())
    }

    #[test]
    fn bodies_compare_by_meaning() {
        let a = json!(r#"{"widgets":[{"type":"text","x":0,"properties":{"markdown":"hi"}}]}"#);
        let b = json!("{ \"widgets\": [ { \"properties\": {\"markdown\": \"hi\"}, \"x\": 0, \"type\": \"text\" } ] }");
        assert!(Dashboard.equivalent("DashboardBody", &a, &b));
        let c = json!(r#"{"widgets":[{"type":"text","x":1,"properties":{"markdown":"hi"}}]}"#);
        assert!(!Dashboard.equivalent("DashboardBody", &a, &c));
        // Widget order is meaningful.
        let two = json!(r#"{"widgets":[{"type":"text"},{"type":"metric"}]}"#);
        let swapped = json!(r#"{"widgets":[{"type":"metric"},{"type":"text"}]}"#);
        assert!(!Dashboard.equivalent("DashboardBody", &two, &swapped));
    }

    #[test]
    fn refuses_a_body_that_is_not_json() {
        let e = dashboard().parse(&json!({"DashboardBody": "{widgets"})).unwrap_err();
        assert!(e.message.starts_with("DashboardBody: not valid JSON"), "{}", e.message);
        let e = dashboard().parse(&json!({"DashboardBody": "{}", "Tags": []})).unwrap_err();
        assert!(e.message.starts_with("Tags: "), "{}", e.message);
    }
}
