//! `AWS::Scheduler::ScheduleGroup`: an EventBridge Scheduler schedule group.
//!
//! | property | notes |
//! | --- | --- |
//! | `Name` | string, create-only; generated when absent (64 characters of `[0-9a-zA-Z-_.]`) |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! The schema has no other property.
//!
//! - `Ref`: the schedule group name.
//! - `Fn::GetAtt`: `Arn`, `CreationDate`, `LastModificationDate`, `State`.
//!
//! `create` is `CreateScheduleGroup` (tags and an idempotency token included), then
//! `GetScheduleGroup` for the attributes. `update` changes only tags: they are compared with
//! the group's live tags ([`Cx::tag_update`](crate::kit::Cx::tag_update)), `TagResource`
//! with new and changed tags, `UntagResource` with removed keys, each only when there are
//! any. `delete` is `DeleteScheduleGroup`, which also deletes the group's schedules; the
//! group is `DELETING` for a while, and the delete waits until it is gone. `find` looks up
//! the deterministic name and adopts the group when it carries this resource's ownership
//! tags (a group is tagged in the call that creates it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_scheduler::operation::get_schedule_group::GetScheduleGroupOutput;
use aws_sdk_scheduler::types::ScheduleGroupState;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{date_time, name_char, NOT_FOUND};
use crate::kit::{ids, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Scheduler::ScheduleGroup";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::load(crate::schema::SCHEDULER_SCHEDULE_GROUP, Some("Name"), &["LastModificationDate"])
    }),
    not_found: NOT_FOUND,
    // Deleting a group deletes its schedules first.
    timeout: Duration::from_secs(300),
    reference: "the schedule group name",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::Scheduler::ScheduleGroup` resource type.
pub struct ScheduleGroup;

impl ScheduleGroup {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<ScheduleGroup> {
        Typed::new(ScheduleGroup, aws)
    }
}

fn group_name(cx: &Cx<'_>, p: &Props) -> String {
    p.name.clone().unwrap_or_else(|| cx.generated_name(64, false, name_char))
}

fn data(name: &str, g: &GetScheduleGroupOutput) -> Result<ResourceData, ProviderError> {
    let mut attributes = BTreeMap::new();
    attributes.insert("Arn".to_string(), Value::from(g.arn.as_deref().unwrap_or_default()));
    if let Some(t) = &g.creation_date {
        attributes.insert("CreationDate".to_string(), Value::from(date_time(t)?.as_str()));
    }
    if let Some(t) = &g.last_modification_date {
        attributes.insert("LastModificationDate".to_string(), Value::from(date_time(t)?.as_str()));
    }
    if let Some(s) = &g.state {
        attributes.insert("State".to_string(), Value::from(s.as_str()));
    }
    Ok(ResourceData { physical_id: name.to_string(), attributes })
}

fn scheduler_tags(tags: BTreeMap<String, String>) -> Result<Vec<aws_sdk_scheduler::types::Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_scheduler::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::with_code("InvalidRequest", format!("Tags: {e}")))
        })
        .collect()
}

async fn get(sch: &aws_sdk_scheduler::Client, name: &str) -> Result<GetScheduleGroupOutput, ProviderError> {
    sch.get_schedule_group().name(name).send().await.map_err(sdk_error)
}

/// All of the group's tags.
async fn tags(sch: &aws_sdk_scheduler::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = sch.list_tags_for_resource().resource_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect())
}

#[async_trait]
impl AwsType for ScheduleGroup {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = group_name(cx, p);
        let sch: aws_sdk_scheduler::Client = cx.client();
        sch.create_schedule_group()
            .name(&name)
            .client_token(cx.token("CreateScheduleGroup", 64))
            .set_tags(Some(scheduler_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(sdk_error)?;
        cx.created(&name, async { data(&name, &get(&sch, &name).await?) }).await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let sch: aws_sdk_scheduler::Client = cx.client();
        let g = get(&sch, physical_id).await?;
        // A group being deleted is gone as far as the stack is concerned.
        if g.state == Some(ScheduleGroupState::Deleting) {
            return Ok(None);
        }
        let tags = tags(&sch, g.arn.as_deref().unwrap_or_default()).await?;
        let mut props = BTreeMap::new();
        if desired.get("Name").is_some_and(|v| !v.is_null()) {
            props.insert("Name".to_string(), json!(physical_id));
        }
        Ok(Some(Live { data: data(physical_id, &g)?, properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let sch: aws_sdk_scheduler::Client = cx.client();
        let g = get(&sch, physical_id).await?;
        let arn = g.arn.clone().unwrap_or_default();
        let diff = cx.tag_update(&tags(&sch, &arn).await?, &new.tags);
        let (client, arn) = (&sch, arn.as_str());
        diff.apply(
            |keys| async move {
                client.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                let tags = scheduler_tags(set)?;
                client.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        data(physical_id, &get(&sch, physical_id).await?)
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let sch: aws_sdk_scheduler::Client = cx.client();
        sch.delete_schedule_group().name(physical_id).send().await.map_err(sdk_error)?;
        cx.wait_until(&format!("schedule group {physical_id} to be deleted"), || async {
            Ok(cx.found(get(&sch, physical_id).await)?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = group_name(cx, p);
        let sch: aws_sdk_scheduler::Client = cx.client();
        let g = get(&sch, &name).await?;
        let live = tags(&sch, g.arn.as_deref().unwrap_or_default()).await?;
        if ids::is_owned(cx.ctx, &live) {
            Ok(Some(data(&name, &g)?))
        } else {
            Ok(None)
        }
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({"Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Stage", "Value": "create"}]}),
            update: Some(
                json!({"Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]}),
            ),
            replace: Some(json!({
                "Name": "conf-group-{uid}",
                "Tags": [{"Key": "Team", "Value": "conformance"}, {"Key": "Owner", "Value": "cairn"}]
            })),
            nested_replace: None,
            // The create is one call (CreateScheduleGroup, tags included); the read after it
            // changes nothing.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit_the_scheduler() {
        let mut ctx = crate::test_ctx(TYPE_NAME, "Jobs.Group");
        ctx.stack = "a-very-long-stack-name-that-goes-on-and-on-and-on-and-on".into();
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let name = group_name(&cx, &Props { name: None, tags: vec![] });
        assert!(name.len() <= 64, "{name}");
        assert!(name.ends_with("-abcdefghijkl"));
        assert!(name.chars().all(name_char));
    }

    #[test]
    fn attributes_are_date_times() {
        let g = GetScheduleGroupOutput::builder()
            .arn("arn:aws:scheduler:us-east-1:123456789012:schedule-group/g")
            .creation_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .state(ScheduleGroupState::Active)
            .build();
        let d = data("g", &g).unwrap();
        assert_eq!(d.attributes["CreationDate"], Value::from("2023-11-14T22:13:20Z"));
        assert_eq!(d.attributes["State"], Value::from("ACTIVE"));
        assert!(!d.attributes.contains_key("LastModificationDate"));
    }
}
