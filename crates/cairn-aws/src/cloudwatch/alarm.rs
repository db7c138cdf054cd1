//! `AWS::CloudWatch::Alarm`: a CloudWatch alarm on one metric.
//!
//! | property | notes |
//! | --- | --- |
//! | `AlarmName` | string, create-only; generated when absent (255 characters) |
//! | `AlarmDescription` | string |
//! | `MetricName`, `Namespace` | strings, required here (metric math, `Metrics`, is not supported) |
//! | `Statistic` or `ExtendedStatistic` | exactly one of them (`Average`; `p90`) |
//! | `Dimensions` | set of `{Name, Value}` |
//! | `Period`, `EvaluationPeriods`, `DatapointsToAlarm` | integers; `Period` and `EvaluationPeriods` required here |
//! | `Threshold` | number, required here (`ThresholdMetricId` is not supported) |
//! | `ComparisonOperator` | required |
//! | `TreatMissingData` | `breaching`, `notBreaching`, `ignore`, `missing` |
//! | `ActionsEnabled` | boolean, default `true` |
//! | `AlarmActions`, `OKActions`, `InsufficientDataActions` | lists of action ARNs |
//! | `Unit` | a standard unit |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out of the schema's properties: `Metrics`, `ThresholdMetricId`,
//! `EvaluateLowSampleCountPercentile`, `EvaluationCriteria`, `EvaluationInterval`,
//! `EvaluationWindow`, `ActionConfiguration`, `WarmUpConfiguration` (a template that sets
//! one is refused at its path before any call).
//!
//! - `Ref`: the alarm name.
//! - `Fn::GetAtt`: `Arn`.
//!
//! `create` is one `PutMetricAlarm` (tags included), then waits until `DescribeAlarms`
//! shows the alarm (for its ARN). `update` sends the whole alarm again with
//! `PutMetricAlarm` (which replaces an existing alarm's settings, and ignores tags), then
//! compares the alarm's live tags with the ones it should carry
//! ([`Cx::tag_update`](crate::kit::Cx::tag_update)): `TagResource` with new and changed
//! tags, `UntagResource` with removed keys, each only when there are any. `delete` is
//! `DeleteAlarms`. `find` looks up the deterministic name and adopts the alarm when it
//! carries this resource's ownership tags (an alarm is tagged in the call that creates it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension as CwDimension, MetricAlarm, StandardUnit, Statistic,
};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::name_char;
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::CloudWatch::Alarm";

/// The codes CloudWatch answers for an alarm (or the ARN a tag call names) that does not
/// exist.
const NOT_FOUND: &[&str] = &["ResourceNotFound", "ResourceNotFoundException"];

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::CLOUDWATCH_ALARM, Some("AlarmName"), &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the alarm name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    alarm_name: Option<String>,
    alarm_description: Option<String>,
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    period: Option<i32>,
    evaluation_periods: i32,
    datapoints_to_alarm: Option<i32>,
    threshold: Option<f64>,
    comparison_operator: String,
    treat_missing_data: Option<String>,
    actions_enabled: Option<bool>,
    #[serde(default)]
    alarm_actions: Vec<String>,
    #[serde(default, rename = "OKActions")]
    ok_actions: Vec<String>,
    #[serde(default)]
    insufficient_data_actions: Vec<String>,
    unit: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Dimension {
    name: String,
    value: String,
}

/// The `AWS::CloudWatch::Alarm` resource type.
pub struct Alarm;

impl Alarm {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Alarm> {
        Typed::new(Alarm, aws)
    }
}

fn alarm_name(cx: &Cx<'_>, p: &Props) -> String {
    p.alarm_name.clone().unwrap_or_else(|| cx.generated_name(255, false, name_char))
}

fn data(alarm: &MetricAlarm, name: &str) -> ResourceData {
    ResourceData {
        physical_id: name.to_string(),
        attributes: BTreeMap::from([("Arn".to_string(), Value::from(alarm.alarm_arn.as_deref().unwrap_or_default()))]),
    }
}

fn cw_tags(tags: BTreeMap<String, String>) -> Vec<aws_sdk_cloudwatch::types::Tag> {
    tags.into_iter().map(|(k, v)| aws_sdk_cloudwatch::types::Tag::builder().key(k).value(v).build()).collect()
}

/// The metric alarm named `name`; an error with code `ResourceNotFound` when there is none
/// (`DescribeAlarms` answers an empty list).
async fn describe(cw: &aws_sdk_cloudwatch::Client, name: &str) -> Result<MetricAlarm, ProviderError> {
    let out =
        cw.describe_alarms().alarm_names(name).alarm_types(AlarmType::MetricAlarm).send().await.map_err(sdk_error)?;
    out.metric_alarms.unwrap_or_default().into_iter().find(|a| a.alarm_name.as_deref() == Some(name)).ok_or_else(|| {
        ProviderError::with_code("ResourceNotFound", format!("DescribeAlarms shows no metric alarm named {name}"))
    })
}

/// All of the alarm's tags.
async fn tags(cw: &aws_sdk_cloudwatch::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = cw.list_tags_for_resource().resource_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().filter_map(|t| Some((t.key?, t.value.unwrap_or_default()))).collect())
}

/// `PutMetricAlarm` with every setting of `p` (creates, or replaces an alarm's settings).
fn put(
    cw: &aws_sdk_cloudwatch::Client,
    name: &str,
    p: &Props,
) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    let dims = p.dimensions.iter().map(|d| CwDimension::builder().name(&d.name).value(&d.value).build()).collect();
    cw.put_metric_alarm()
        .alarm_name(name)
        .set_alarm_description(p.alarm_description.clone())
        .set_metric_name(p.metric_name.clone())
        .set_namespace(p.namespace.clone())
        .set_statistic(p.statistic.as_deref().map(Statistic::from))
        .set_extended_statistic(p.extended_statistic.clone())
        .set_dimensions(Some(dims))
        .set_period(p.period)
        .evaluation_periods(p.evaluation_periods)
        .set_datapoints_to_alarm(p.datapoints_to_alarm)
        .set_threshold(p.threshold)
        .comparison_operator(ComparisonOperator::from(p.comparison_operator.as_str()))
        .set_treat_missing_data(p.treat_missing_data.clone())
        .actions_enabled(p.actions_enabled.unwrap_or(true))
        .set_alarm_actions(Some(p.alarm_actions.clone()))
        .set_ok_actions(Some(p.ok_actions.clone()))
        .set_insufficient_data_actions(Some(p.insufficient_data_actions.clone()))
        .set_unit(p.unit.as_deref().map(StandardUnit::from))
}

#[async_trait]
impl AwsType for Alarm {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let missing = |path: &str, what: &str| PropsError { path: path.into(), message: what.into() };
        if p.metric_name.is_none() {
            return Err(missing("MetricName", "required: cairn supports alarms on one metric (not `Metrics`)"));
        }
        if p.namespace.is_none() {
            return Err(missing("Namespace", "required: cairn supports alarms on one metric (not `Metrics`)"));
        }
        if p.period.is_none() {
            return Err(missing("Period", "required for an alarm on one metric"));
        }
        if p.threshold.is_none() {
            return Err(missing("Threshold", "required: cairn supports static thresholds (not `ThresholdMetricId`)"));
        }
        match (&p.statistic, &p.extended_statistic) {
            (Some(_), Some(_)) => Err(PropsError {
                path: "ExtendedStatistic".into(),
                message: "set either Statistic or ExtendedStatistic, not both".into(),
            }),
            (None, None) => Err(PropsError {
                path: "Statistic".into(),
                message: "an alarm on one metric needs Statistic or ExtendedStatistic".into(),
            }),
            _ => Ok(()),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = alarm_name(cx, p);
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        put(&cw, &name, p).set_tags(Some(cw_tags(cx.tags(&p.tags)))).send().await.map_err(sdk_error)?;
        let alarm = cx
            .created(&name, async {
                cx.wait_until(&format!("alarm {name} to exist"), || async { cx.found(describe(&cw, &name).await) })
                    .await
            })
            .await?;
        Ok(data(&alarm, &name))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        let a = describe(&cw, physical_id).await?;
        let tags = tags(&cw, a.alarm_arn.as_deref().unwrap_or_default()).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        let mut put = |k: &str, v: Json| {
            props.insert(k.to_string(), v);
        };
        if wants("AlarmName") {
            put("AlarmName", json!(physical_id));
        }
        if let Some(d) = a.alarm_description.as_ref().filter(|d| !d.is_empty() || wants("AlarmDescription")) {
            put("AlarmDescription", json!(d));
        }
        if let Some(v) = &a.metric_name {
            put("MetricName", json!(v));
        }
        if let Some(v) = &a.namespace {
            put("Namespace", json!(v));
        }
        if let Some(v) = &a.statistic {
            put("Statistic", json!(v.as_str()));
        }
        if let Some(v) = &a.extended_statistic {
            put("ExtendedStatistic", json!(v));
        }
        let dims = a.dimensions.as_deref().unwrap_or_default();
        if !dims.is_empty() || wants("Dimensions") {
            let dims: Vec<Json> = dims.iter().map(|d| json!({"Name": d.name, "Value": d.value})).collect();
            put("Dimensions", Json::Array(dims));
        }
        if let Some(v) = a.period {
            put("Period", json!(v));
        }
        if let Some(v) = a.evaluation_periods {
            put("EvaluationPeriods", json!(v));
        }
        if let Some(v) = a.datapoints_to_alarm {
            put("DatapointsToAlarm", json!(v));
        }
        if let Some(v) = a.threshold {
            put("Threshold", json!(v));
        }
        if let Some(v) = &a.comparison_operator {
            put("ComparisonOperator", json!(v.as_str()));
        }
        // `missing` is what CloudWatch does when none is set.
        if let Some(v) = a.treat_missing_data.as_ref().filter(|v| *v != "missing" || wants("TreatMissingData")) {
            put("TreatMissingData", json!(v));
        }
        if let Some(v) = a.actions_enabled {
            put("ActionsEnabled", json!(v));
        }
        for (k, list) in [
            ("AlarmActions", &a.alarm_actions),
            ("OKActions", &a.ok_actions),
            ("InsufficientDataActions", &a.insufficient_data_actions),
        ] {
            let list = list.clone().unwrap_or_default();
            if !list.is_empty() || wants(k) {
                put(k, json!(list));
            }
        }
        if let Some(v) = &a.unit {
            put("Unit", json!(v.as_str()));
        }
        Ok(Some(Live { data: data(&a, physical_id), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        put(&cw, physical_id, new).send().await.map_err(sdk_error)?;
        let alarm = describe(&cw, physical_id).await?;
        let arn = alarm.alarm_arn.clone().unwrap_or_default();
        let diff = cx.tag_update(&tags(&cw, &arn).await?, &new.tags);
        let (cw, arn) = (&cw, arn.as_str());
        diff.apply(
            |keys| async move {
                cw.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                cw.tag_resource().resource_arn(arn).set_tags(Some(cw_tags(set))).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(data(&alarm, physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        cw.delete_alarms().alarm_names(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = alarm_name(cx, p);
        let cw: aws_sdk_cloudwatch::Client = cx.client();
        let alarm = describe(&cw, &name).await?;
        let live = tags(&cw, alarm.alarm_arn.as_deref().unwrap_or_default()).await?;
        Ok(ids::is_owned(cx.ctx, &live).then(|| data(&alarm, &name)))
    }

    fn fixture(&self) -> Fixture {
        let topic = |which: &str| json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:conf-alarm-{which}-{{uid}}")});
        let create = json!({
            "AlarmDescription": "cairn conformance",
            "MetricName": "CPUUtilization",
            "Namespace": "AWS/EC2",
            "Statistic": "Average",
            "Dimensions": [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
            "Period": 300,
            "EvaluationPeriods": 2,
            "Threshold": 80,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [topic("alarm")],
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]
        });
        let update = json!({
            "AlarmDescription": "cairn conformance, updated",
            "MetricName": "CPUUtilization",
            "Namespace": "AWS/EC2",
            "ExtendedStatistic": "p90",
            "Dimensions": [
                {"Name": "InstanceId", "Value": "i-0123456789abcdef0"},
                {"Name": "AutoScalingGroupName", "Value": "conf"}
            ],
            "Period": 60,
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
            "Threshold": 90.5,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "breaching",
            "ActionsEnabled": false,
            "AlarmActions": [topic("alarm")],
            "OKActions": [topic("ok")],
            "InsufficientDataActions": [topic("data")],
            "Unit": "Percent",
            "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
        });
        let mut replace = update.clone();
        replace["AlarmName"] = json!("conf-alarm-{uid}");
        Fixture {
            support: json!({}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (PutMetricAlarm, tags included); the read after it
            // changes nothing.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm() -> Typed<Alarm> {
        Alarm::new(Aws::unconfigured())
    }

    fn base() -> Json {
        json!({
            "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": "60",
            "EvaluationPeriods": 1, "Threshold": "1", "ComparisonOperator": "GreaterThanThreshold",
            "OKActions": ["arn:aws:sns:us-east-1:123456789012:t"]
        })
    }

    #[test]
    fn parses_an_alarm_and_refuses_what_it_cannot_make() {
        let p = alarm().parse(&base()).unwrap();
        assert_eq!(p.period, Some(60));
        assert_eq!(p.threshold, Some(1.0));
        assert_eq!(p.ok_actions.len(), 1);
        let mut both = base();
        both["ExtendedStatistic"] = json!("p99");
        let e = alarm().parse(&both).unwrap_err();
        assert_eq!(e.message, "ExtendedStatistic: set either Statistic or ExtendedStatistic, not both");
        let mut math = base();
        math.as_object_mut().unwrap().remove("MetricName");
        let e = alarm().parse(&math).unwrap_err();
        assert!(e.message.starts_with("MetricName: required"), "{}", e.message);
        let mut other = base();
        other["Metrics"] = json!([]);
        let e = alarm().parse(&other).unwrap_err();
        assert!(e.message.starts_with("Metrics: "), "{}", e.message);
    }

    #[test]
    fn generated_names_fit_cloudwatch() {
        let ctx = crate::test_ctx(TYPE_NAME, "Errors.Alarm");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let name = alarm_name(&cx, &alarm().parse(&base()).unwrap());
        assert_eq!(name, "dev-Errors-Alarm-abcdefghijkl");
        // A live threshold of 1.0 is the desired `1`.
        assert!(Alarm.equivalent("Threshold", &json!(1.0), &json!(1)));
    }
}
