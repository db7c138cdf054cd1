//! `AWS::ApiGateway::Account`: the API Gateway settings of the account in a region, here
//! the IAM role through which API Gateway writes execution and access logs to CloudWatch
//! (which a stage's `LoggingLevel` and `AccessLogSetting` need).
//!
//! | property | notes |
//! | --- | --- |
//! | `CloudWatchRoleArn` | the ARN of a role that `apigateway.amazonaws.com` can assume, with `AmazonAPIGatewayPushToCloudWatchLogs` |
//!
//! - `Ref`: the resource's id, the region (there is one such setting per account and region).
//! - `Fn::GetAtt`: `Id`, the same.
//!
//! `create` and `update` are one `UpdateAccount` (`replace /cloudwatchRoleArn`); API
//! Gateway checks that it can assume the role, which a role made moments before may not
//! allow yet, so that refusal is retried within the type's timeout. `read` is
//! `GetAccount`. `delete` changes nothing in AWS: as in CloudFormation, the role stays set
//! on the account (another stack, or the next deployment, may rely on it; unset it by hand
//! with `aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=`).
//! The setting always exists, so `find` (after a crash mid-create) adopts it when it
//! already holds this role, the mark of a create that took effect.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigateway::types::Op;
use cairn_core::provider::{ProviderError, ResourceData, Step};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{patch, NOT_FOUND};
use crate::kit::wait::Transient;
use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::ApiGateway::Account";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::APIGATEWAY_ACCOUNT, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(120),
    reference: "the region (one account setting per region)",
};

const ROLE_NOT_ASSUMABLE: Transient = Transient {
    code: "BadRequestException",
    message_contains: Some("role ARN does not have required permissions"),
    waiting_for: "the role to be assumable by API Gateway",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    cloud_watch_role_arn: Option<String>,
}

/// The `AWS::ApiGateway::Account` resource type.
pub struct Account;

impl Account {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Account> {
        Typed::new(Account, aws)
    }
}

fn data(cx: &Cx<'_>) -> ResourceData {
    let id = cx.region().to_string();
    ResourceData { attributes: BTreeMap::from([("Id".to_string(), Value::from(id.as_str()))]), physical_id: id }
}

async fn set_role(cx: &Cx<'_>, p: &Props) -> Result<(), ProviderError> {
    let apigw: aws_sdk_apigateway::Client = cx.client();
    let op = patch(Op::Replace, "/cloudwatchRoleArn", Some(p.cloud_watch_role_arn.clone().unwrap_or_default()));
    cx.retrying(&[ROLE_NOT_ASSUMABLE], || async {
        apigw.update_account().patch_operations(op.clone()).send().await.map_err(sdk_error)
    })
    .await?;
    Ok(())
}

#[async_trait]
impl AwsType for Account {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        set_role(cx, p).await?;
        Ok(data(cx))
    }

    async fn read(&self, cx: &Cx<'_>, _physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let a = apigw.get_account().send().await.map_err(sdk_error)?;
        let mut props = BTreeMap::new();
        if let Some(r) = a.cloudwatch_role_arn.as_ref().filter(|r| !r.is_empty()) {
            props.insert("CloudWatchRoleArn".to_string(), json!(r));
        }
        Ok(Some(Live { data: data(cx), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        set_role(cx, new).await?;
        Ok(data(cx))
    }

    async fn delete(&self, _cx: &Cx<'_>, _physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        // As in CloudFormation: the account keeps its CloudWatch role (see the module doc).
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        // The setting always exists: the create took effect when it holds this role.
        let apigw: aws_sdk_apigateway::Client = cx.client();
        let a = apigw.get_account().send().await.map_err(sdk_error)?;
        let live = a.cloudwatch_role_arn.filter(|r| !r.is_empty());
        Ok((live == p.cloud_watch_role_arn).then(|| data(cx)))
    }

    fn fixture(&self) -> Fixture {
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]
        }});
        Fixture {
            support: json!({"Logging": role, "OtherLogging": role}),
            create: json!({"CloudWatchRoleArn": {"Fn::GetAtt": ["Logging", "Arn"]}}),
            update: Some(json!({"CloudWatchRoleArn": {"Fn::GetAtt": ["OtherLogging", "Arn"]}})),
            // No property is create-only.
            replace: None,
            nested_replace: None,
            // The create is one call (`UpdateAccount`).
            partial_after: None,
            unverified: &[(
                Step::Gone,
                "by design, not the emulator: the account's CloudWatch role outlives the resource (CloudFormation leaves it set on delete, and so does cairn), so the setting never reads back as gone",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_role_only() {
        let t = Account::new(Aws::unconfigured());
        let p = t.parse(&json!({"CloudWatchRoleArn": "arn:aws:iam::123456789012:role/logs"})).unwrap();
        assert_eq!(p.cloud_watch_role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/logs"));
        let e = t.parse(&json!({"Id": "x"})).unwrap_err();
        assert!(e.message.starts_with("Id"), "{}", e.message);
    }
}
