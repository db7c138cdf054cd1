//! `AWS::Scheduler::Schedule`: an EventBridge Scheduler schedule.
//!
//! | property | notes |
//! | --- | --- |
//! | `Name` | string, create-only; generated when absent (64 characters of `[0-9a-zA-Z-_.]`) |
//! | `GroupName` | the schedule group, default `default`; a change moves the schedule (below) |
//! | `Description` | string |
//! | `ScheduleExpression` | `rate(...)`, `cron(...)` or `at(...)`, required |
//! | `ScheduleExpressionTimezone` | string, default `UTC` |
//! | `StartDate`, `EndDate` | ISO 8601 date-times (compared as instants) |
//! | `State` | `ENABLED` (default) or `DISABLED` |
//! | `FlexibleTimeWindow` | `{Mode, MaximumWindowInMinutes}`, required |
//! | `Target` | `{Arn, RoleArn, Input, RetryPolicy: {MaximumEventAgeInSeconds, MaximumRetryAttempts}}`, required |
//!
//! Left out of the schema's properties: `KmsKeyArn`, and in `Target`: `DeadLetterConfig`,
//! `EcsParameters`, `EventBridgeParameters`, `KinesisParameters`,
//! `SageMakerPipelineParameters`, `SqsParameters` (a template that sets one is refused at
//! its path before any call). The schema marks the type as not taggable.
//!
//! - `Ref`: the schedule name.
//! - `Fn::GetAtt`: `Arn`.
//!
//! `create` is one `CreateSchedule` (with an idempotency token from the resource's name
//! seed; updates and deletes leave theirs to the SDK, as each must differ). `update` is one
//! `UpdateSchedule` with every setting (it replaces them all); when `GroupName` changes,
//! a schedule cannot be moved in place, so the update creates it in the new group and then
//! deletes it from the old one (the name, and so `Ref`, stay the same; the ARN changes).
//! `delete` is `DeleteSchedule`. Without tags, `find` relies on the deterministic name: it
//! adopts a schedule with a generated name, never one with an explicit name (which it
//! cannot tell from someone else's).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types::{
    FlexibleTimeWindow as SdkWindow, FlexibleTimeWindowMode, RetryPolicy as SdkRetry, ScheduleState,
    Target as SdkTarget,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{date_time, name_char, NOT_FOUND};
use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Scheduler::Schedule";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::SCHEDULER_SCHEDULE, Some("Name"), &["Arn"])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the schedule name",
};

/// The group a schedule is in when none is named.
const DEFAULT_GROUP: &str = "default";
/// What EventBridge Scheduler retries when the target sets no `RetryPolicy`.
const DEFAULT_RETRY: (i32, i32) = (86400, 185);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    name: Option<String>,
    group_name: Option<String>,
    description: Option<String>,
    schedule_expression: String,
    schedule_expression_timezone: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    state: Option<String>,
    flexible_time_window: Window,
    target: Target,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Window {
    mode: String,
    maximum_window_in_minutes: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Target {
    arn: String,
    role_arn: String,
    input: Option<String>,
    retry_policy: Option<Retry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Retry {
    maximum_event_age_in_seconds: Option<i32>,
    maximum_retry_attempts: Option<i32>,
}

impl Props {
    fn group(&self) -> &str {
        self.group_name.as_deref().unwrap_or(DEFAULT_GROUP)
    }
}

/// An ISO 8601 date-time property.
fn parse_date(v: &str, path: &str) -> Result<DateTime, PropsError> {
    DateTime::from_str(v, Format::DateTime).map_err(|e| PropsError {
        path: path.into(),
        message: format!("expected an ISO 8601 date-time such as 2030-01-31T00:00:00Z: {e}"),
    })
}

/// Whether two date-time values are the same instant.
fn same_instant(a: &Json, b: &Json) -> bool {
    let parse = |v: &Json| v.as_str().and_then(|s| DateTime::from_str(s, Format::DateTime).ok());
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The group a recorded or desired properties value names.
fn group_of(properties: &Json) -> &str {
    properties.get("GroupName").and_then(Json::as_str).unwrap_or(DEFAULT_GROUP)
}

/// The `AWS::Scheduler::Schedule` resource type.
pub struct Schedule;

impl Schedule {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Schedule> {
        Typed::new(Schedule, aws)
    }
}

fn schedule_name(cx: &Cx<'_>, p: &Props) -> String {
    p.name.clone().unwrap_or_else(|| cx.generated_name(64, false, name_char))
}

fn data(name: &str, arn: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::from([("Arn".to_string(), Value::from(arn))]) }
}

fn invalid(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::with_code("InvalidRequest", e.to_string())
}

/// The settings of `p` as the SDK takes them (the same for create and update).
struct Settings {
    window: SdkWindow,
    target: SdkTarget,
    start: Option<DateTime>,
    end: Option<DateTime>,
}

fn settings(p: &Props) -> Result<Settings, ProviderError> {
    let window = SdkWindow::builder()
        .mode(FlexibleTimeWindowMode::from(p.flexible_time_window.mode.as_str()))
        .set_maximum_window_in_minutes(p.flexible_time_window.maximum_window_in_minutes)
        .build()
        .map_err(invalid)?;
    let retry = p.target.retry_policy.as_ref().map(|r| {
        SdkRetry::builder()
            .set_maximum_event_age_in_seconds(r.maximum_event_age_in_seconds)
            .set_maximum_retry_attempts(r.maximum_retry_attempts)
            .build()
    });
    let target = SdkTarget::builder()
        .arn(&p.target.arn)
        .role_arn(&p.target.role_arn)
        .set_input(p.target.input.clone())
        .set_retry_policy(retry)
        .build()
        .map_err(invalid)?;
    let date = |v: &Option<String>, path: &str| v.as_deref().map(|s| parse_date(s, path)).transpose();
    Ok(Settings { window, target, start: date(&p.start_date, "StartDate")?, end: date(&p.end_date, "EndDate")? })
}

/// `CreateSchedule`; `token` is the idempotency token of the resource's first create (a
/// retry after a crash makes nothing twice), `None` for a move (the SDK makes one).
async fn create_in(cx: &Cx<'_>, name: &str, p: &Props, token: Option<String>) -> Result<String, ProviderError> {
    let s = settings(p)?;
    let sch: aws_sdk_scheduler::Client = cx.client();
    let out = sch
        .create_schedule()
        .name(name)
        .group_name(p.group())
        .set_description(p.description.clone())
        .schedule_expression(&p.schedule_expression)
        .set_schedule_expression_timezone(p.schedule_expression_timezone.clone())
        .set_start_date(s.start)
        .set_end_date(s.end)
        .set_state(p.state.as_deref().map(ScheduleState::from))
        .flexible_time_window(s.window)
        .target(s.target)
        .set_client_token(token)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out.schedule_arn)
}

async fn get(sch: &aws_sdk_scheduler::Client, group: &str, name: &str) -> Result<GetScheduleOutput, ProviderError> {
    sch.get_schedule().group_name(group).name(name).send().await.map_err(sdk_error)
}

#[async_trait]
impl AwsType for Schedule {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        let start = p.start_date.as_deref().map(|s| parse_date(s, "StartDate")).transpose()?;
        let end = p.end_date.as_deref().map(|s| parse_date(s, "EndDate")).transpose()?;
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                return Err(PropsError { path: "EndDate".into(), message: "must be later than StartDate".into() });
            }
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "StartDate" | "EndDate" => same_instant(old, new),
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = schedule_name(cx, p);
        let arn = create_in(cx, &name, p, Some(cx.token("CreateSchedule", 64))).await?;
        Ok(data(&name, &arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let sch: aws_sdk_scheduler::Client = cx.client();
        let s = get(&sch, group_of(desired), physical_id).await?;
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if wants("Name") {
            props.insert("Name".into(), json!(physical_id));
        }
        if let Some(g) = s.group_name.as_ref().filter(|g| *g != DEFAULT_GROUP || wants("GroupName")) {
            props.insert("GroupName".into(), json!(g));
        }
        if let Some(d) = s.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(d));
        }
        if let Some(e) = &s.schedule_expression {
            props.insert("ScheduleExpression".into(), json!(e));
        }
        if let Some(tz) =
            s.schedule_expression_timezone.as_ref().filter(|tz| *tz != "UTC" || wants("ScheduleExpressionTimezone"))
        {
            props.insert("ScheduleExpressionTimezone".into(), json!(tz));
        }
        if let Some(t) = &s.start_date {
            props.insert("StartDate".into(), json!(date_time(t)?));
        }
        if let Some(t) = &s.end_date {
            props.insert("EndDate".into(), json!(date_time(t)?));
        }
        if let Some(state) = s.state.as_ref().filter(|st| **st != ScheduleState::Enabled || wants("State")) {
            props.insert("State".into(), json!(state.as_str()));
        }
        if let Some(w) = &s.flexible_time_window {
            let mut window = json!({"Mode": w.mode.as_str()});
            if let Some(m) = w.maximum_window_in_minutes {
                window["MaximumWindowInMinutes"] = json!(m);
            }
            props.insert("FlexibleTimeWindow".into(), window);
        }
        if let Some(t) = &s.target {
            let mut target = json!({"Arn": t.arn, "RoleArn": t.role_arn});
            if let Some(i) = &t.input {
                target["Input"] = json!(i);
            }
            let wants_retry = desired.pointer("/Target/RetryPolicy").is_some_and(|v| !v.is_null());
            if let Some(r) = &t.retry_policy {
                let live = (r.maximum_event_age_in_seconds, r.maximum_retry_attempts);
                if wants_retry || live != (Some(DEFAULT_RETRY.0), Some(DEFAULT_RETRY.1)) {
                    let mut retry = json!({});
                    if let Some(v) = r.maximum_event_age_in_seconds {
                        retry["MaximumEventAgeInSeconds"] = json!(v);
                    }
                    if let Some(v) = r.maximum_retry_attempts {
                        retry["MaximumRetryAttempts"] = json!(v);
                    }
                    target["RetryPolicy"] = retry;
                }
            }
            props.insert("Target".into(), target);
        }
        Ok(Some(Live { data: data(physical_id, s.arn.as_deref().unwrap_or_default()), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let sch: aws_sdk_scheduler::Client = cx.client();
        if old.group() != new.group() {
            // No call moves a schedule: make it in the new group, then remove the old one
            // (already gone after an earlier attempt is fine).
            let existing = cx.found(get(&sch, new.group(), physical_id).await)?;
            if existing.is_none() {
                create_in(cx, physical_id, new, None).await?;
            }
            let deleted = sch.delete_schedule().group_name(old.group()).name(physical_id).send().await;
            cx.found(deleted.map_err(sdk_error))?;
        }
        let s = settings(new)?;
        let out = sch
            .update_schedule()
            .name(physical_id)
            .group_name(new.group())
            .set_description(new.description.clone())
            .schedule_expression(&new.schedule_expression)
            .set_schedule_expression_timezone(new.schedule_expression_timezone.clone())
            .set_start_date(s.start)
            .set_end_date(s.end)
            .set_state(new.state.as_deref().map(ScheduleState::from))
            .flexible_time_window(s.window)
            .target(s.target)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(data(physical_id, &out.schedule_arn))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &Props) -> Result<(), ProviderError> {
        let sch: aws_sdk_scheduler::Client = cx.client();
        sch.delete_schedule().group_name(p.group()).name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        if p.name.is_some() {
            return Ok(None);
        }
        let name = schedule_name(cx, p);
        let sch: aws_sdk_scheduler::Client = cx.client();
        let s = get(&sch, p.group(), &name).await?;
        Ok(Some(data(&name, s.arn.as_deref().unwrap_or_default())))
    }

    fn fixture(&self) -> Fixture {
        let trust = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let group = json!({"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {}});
        let support = json!({
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
            "First": group,
            "Second": group,
        });
        let role = json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Role}"});
        let queue = |q: &str| json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:conf-{q}-{{uid}}")});
        let create = json!({
            "GroupName": {"Ref": "First"},
            "Description": "cairn conformance",
            "ScheduleExpression": "rate(1 hour)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": queue("a"), "RoleArn": role, "Input": "{\"from\": \"cairn\"}"}
        });
        let update = json!({
            "GroupName": {"Ref": "Second"},
            "Description": "cairn conformance, updated",
            "ScheduleExpression": "cron(0 12 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Paris",
            "EndDate": "2099-12-31T00:00:00Z",
            "State": "DISABLED",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "Target": {
                "Arn": queue("b"),
                "RoleArn": role,
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
            }
        });
        let mut replace = update.clone();
        replace["Name"] = json!("conf-schedule-{uid}");
        Fixture {
            support,
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // The create is one call (CreateSchedule).
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Typed<Schedule> {
        Schedule::new(Aws::unconfigured())
    }

    fn base() -> Json {
        json!({
            "ScheduleExpression": "rate(5 minutes)",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": "10"},
            "Target": {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"}
        })
    }

    #[test]
    fn parses_a_schedule_and_its_dates() {
        let p = schedule().parse(&base()).unwrap();
        assert_eq!(p.flexible_time_window.maximum_window_in_minutes, Some(10));
        assert_eq!(p.group(), "default");
        let mut dates = base();
        dates["StartDate"] = json!("2030-01-01T00:00:00Z");
        dates["EndDate"] = json!("2029-01-01T00:00:00Z");
        assert_eq!(schedule().parse(&dates).unwrap_err().message, "EndDate: must be later than StartDate");
        dates["EndDate"] = json!("next tuesday");
        let e = schedule().parse(&dates).unwrap_err();
        assert!(e.message.starts_with("EndDate: expected an ISO 8601 date-time"), "{}", e.message);
        let mut dlq = base();
        dlq["Target"]["DeadLetterConfig"] = json!({"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"});
        let e = schedule().parse(&dlq).unwrap_err();
        assert!(e.message.starts_with("Target.DeadLetterConfig: "), "{}", e.message);
    }

    #[test]
    fn dates_compare_as_instants() {
        assert!(Schedule.equivalent("StartDate", &json!("2030-01-01T00:00:00Z"), &json!("2030-01-01T00:00:00.000Z")));
        assert!(!Schedule.equivalent("StartDate", &json!("2030-01-01T00:00:00Z"), &json!("2030-01-01T00:00:01Z")));
    }
}
