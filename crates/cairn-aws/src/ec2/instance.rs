//! `AWS::EC2::Instance`: one EC2 instance (the Epistemix bastion).
//!
//! | property | notes |
//! | --- | --- |
//! | `ImageId` | string, create-only (required by cairn: no launch templates) |
//! | `InstanceType` | string; a change stops the instance, modifies it, starts it again |
//! | `IamInstanceProfile` | instance profile name (or ARN); changed in place (associate, replace, disassociate) |
//! | `SubnetId` | string, create-only; without it EC2 picks a default subnet of the default VPC |
//! | `AvailabilityZone` | string, create-only |
//! | `SecurityGroupIds` | set of group ids; changed in place (`ModifyInstanceAttribute` `Groups`) |
//! | `KeyName` | string, create-only |
//! | `UserData` | base64 text (`Fn::Base64`); a change stops the instance, modifies it, starts it again |
//! | `Monitoring` | boolean, default `false`; changed with `MonitorInstances`/`UnmonitorInstances` |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `BlockDeviceMappings`, `NetworkInterfaces`,
//! `LaunchTemplate`, `SecurityGroups` (names, for the default VPC), `PrivateIpAddress`,
//! `Ipv6Addresses`, `Ipv6AddressCount`, `CpuOptions`, `CreditSpecification`,
//! `DisableApiTermination`, `EbsOptimized`, `MetadataOptions`, `SourceDestCheck`, `Tenancy`,
//! `Volumes`, `SsmAssociations` and the other placement, licensing and hardware options.
//!
//! - `Ref`: the instance id.
//! - `Fn::GetAtt`: `AvailabilityZone`, `PrivateDnsName`, `PrivateIp`, `PublicDnsName`,
//!   `PublicIp`, `InstanceId`, `VpcId` (the public ones are empty for an instance without a
//!   public address).
//!
//! `create` is `RunInstances` of one instance with a `ClientToken` from the journaled seed
//! (a retry after a lost answer, or the next run after a crash, gets the same instance, not
//! a second one), the tags in `TagSpecifications`, retrying while EC2 does not yet know a
//! just-made instance profile (`InvalidParameterValue` naming `iamInstanceProfile`); then it
//! waits until the instance is `running`. `update` does what CloudFormation does: a changed
//! `InstanceType` or `UserData` (EC2 takes them only from a stopped instance) stops the
//! instance and waits for `stopped`, modifies them (`ModifyInstanceAttribute`), starts it
//! and waits for `running` (an interruption: the public IP changes); security groups,
//! monitoring, the instance profile and tags change without one. `delete` is
//! `TerminateInstances`, then a wait until the instance is `terminated` (so that what it
//! used, its security groups and subnet, can go next). `read` treats a terminated instance
//! as gone. `find` looks for an instance that is not terminated and carries this resource's
//! ownership tags (`DescribeInstances` with `tag:` filters).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeValue, IamInstanceProfileSpecification, Instance as Ec2Instance, InstanceStateName, InstanceType,
    Placement, ResourceType, RunInstancesMonitoringEnabled,
};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{filter, ownership_filters, tag_map, tag_specification, update_tags};
use crate::kit::wait::Transient;
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::Instance";

const NOT_FOUND: &str = "InvalidInstanceID.NotFound";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::load(
            crate::schema::EC2_INSTANCE,
            None,
            // A stop and start gives the instance another public address.
            &["PublicIp", "PublicDnsName"],
        )
    }),
    not_found: &[NOT_FOUND],
    timeout: Duration::from_secs(15 * 60),
    reference: "the instance id",
};

/// A just-made instance profile that EC2 does not know yet.
const PROFILE_NOT_YET: Transient = Transient {
    code: "InvalidParameterValue",
    message_contains: Some("iamInstanceProfile"),
    waiting_for: "the new instance profile to be usable by EC2",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    image_id: Option<String>,
    instance_type: Option<String>,
    iam_instance_profile: Option<String>,
    subnet_id: Option<String>,
    availability_zone: Option<String>,
    #[serde(default)]
    security_group_ids: Vec<String>,
    key_name: Option<String>,
    user_data: Option<String>,
    monitoring: Option<bool>,
    #[serde(default)]
    tags: Vec<Tag>,
}

impl Props {
    fn image(&self) -> Result<&str, PropsError> {
        self.image_id.as_deref().ok_or_else(|| PropsError {
            path: "ImageId".into(),
            message: "give the AMI id (cairn does not take LaunchTemplate)".into(),
        })
    }

    fn user_data_text(&self) -> Option<String> {
        self.user_data.as_ref().map(|u| u.trim().to_string()).filter(|u| !u.is_empty())
    }

    fn profile(&self) -> Option<IamInstanceProfileSpecification> {
        self.iam_instance_profile.as_ref().map(|p| {
            let b = IamInstanceProfileSpecification::builder();
            match p.starts_with("arn:") {
                true => b.arn(p).build(),
                false => b.name(p).build(),
            }
        })
    }
}

/// The `AWS::EC2::Instance` resource type.
pub struct Instance;

impl Instance {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Instance> {
        Typed::new(Instance, aws)
    }
}

fn data(i: &Ec2Instance) -> ResourceData {
    let id = i.instance_id.clone().unwrap_or_default();
    let s = |v: &Option<String>| Value::from(v.clone().unwrap_or_default());
    let zone = i.placement.as_ref().and_then(|p| p.availability_zone.clone());
    ResourceData {
        physical_id: id.clone(),
        attributes: BTreeMap::from([
            ("InstanceId".to_string(), Value::from(id.as_str())),
            ("AvailabilityZone".to_string(), s(&zone)),
            ("PrivateDnsName".to_string(), s(&i.private_dns_name)),
            ("PrivateIp".to_string(), s(&i.private_ip_address)),
            ("PublicDnsName".to_string(), s(&i.public_dns_name)),
            ("PublicIp".to_string(), s(&i.public_ip_address)),
            ("VpcId".to_string(), s(&i.vpc_id)),
        ]),
    }
}

fn state(i: &Ec2Instance) -> Option<&InstanceStateName> {
    i.state.as_ref().and_then(|s| s.name.as_ref())
}

/// The instance, or `InvalidInstanceID.NotFound`.
async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Ec2Instance, ProviderError> {
    let out = ec2.describe_instances().instance_ids(id).send().await.map_err(sdk_error)?;
    out.reservations
        .unwrap_or_default()
        .into_iter()
        .flat_map(|r| r.instances.unwrap_or_default())
        .next()
        .ok_or_else(|| ProviderError::with_code(NOT_FOUND, format!("instance {id} does not exist")))
}

/// Wait until the instance is in state `want`, failing if it ends in another settled state
/// (a launch that failed ends `terminated`).
async fn wait_for(
    cx: &Cx<'_>,
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    want: InstanceStateName,
) -> Result<Ec2Instance, ProviderError> {
    let what = format!("instance {id} to be {}", want.as_str());
    cx.wait_until(&what, || async {
        let i = match cx.found(describe(ec2, id).await)? {
            Some(i) => i,
            None if want == InstanceStateName::Terminated => return Ok(Some(None)),
            None => return Ok(None),
        };
        match state(&i) {
            Some(s) if *s == want => Ok(Some(Some(i))),
            Some(InstanceStateName::Terminated) => {
                let reason = i.state_reason.as_ref().and_then(|r| r.message.clone()).unwrap_or_default();
                Err(ProviderError::with_code(
                    "InstanceTerminated",
                    format!("instance {id} was terminated while waiting for it to be {}: {reason}", want.as_str()),
                ))
            }
            _ => Ok(None),
        }
    })
    .await?
    .ok_or_else(|| ProviderError::with_code(NOT_FOUND, format!("instance {id} does not exist")))
}

/// The live user data, base64 as the template gives it (`None` when there is none).
async fn user_data(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Option<String>, ProviderError> {
    let out = ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out.user_data.and_then(|u| u.value).filter(|v| !v.is_empty()))
}

/// The instance profile's name from its ARN (`arn:aws:iam::1:instance-profile/path/name`).
fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

async fn set_profile(cx: &Cx<'_>, ec2: &aws_sdk_ec2::Client, id: &str, new: &Props) -> Result<(), ProviderError> {
    let out = ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", id))
        .send()
        .await
        .map_err(sdk_error)?;
    let current = out
        .iam_instance_profile_associations
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.state.as_ref().is_some_and(|s| s.as_str() == "associated" || s.as_str() == "associating"));
    match (current.and_then(|a| a.association_id), new.profile()) {
        (Some(assoc), Some(profile)) => {
            cx.retrying(&[PROFILE_NOT_YET], || {
                let call = ec2
                    .replace_iam_instance_profile_association()
                    .association_id(&assoc)
                    .iam_instance_profile(profile.clone());
                async move { call.send().await.map(|_| ()).map_err(sdk_error) }
            })
            .await
        }
        (Some(assoc), None) => {
            ec2.disassociate_iam_instance_profile().association_id(assoc).send().await.map_err(sdk_error)?;
            Ok(())
        }
        (None, Some(profile)) => {
            cx.retrying(&[PROFILE_NOT_YET], || {
                let call = ec2.associate_iam_instance_profile().instance_id(id).iam_instance_profile(profile.clone());
                async move { call.send().await.map(|_| ()).map_err(sdk_error) }
            })
            .await
        }
        (None, None) => Ok(()),
    }
}

#[async_trait]
impl AwsType for Instance {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.image()?;
        if let Some(u) = p.user_data_text() {
            if aws_smithy_types::base64::decode(&u).is_err() {
                return Err(PropsError {
                    path: "UserData".into(),
                    message: "expected base64 text (write `Fn::Base64: ...` around the script)".into(),
                });
            }
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let token = cx.token("RunInstances", 64);
        let image = p.image()?.to_string();
        let monitoring = RunInstancesMonitoringEnabled::builder().enabled(p.monitoring.unwrap_or(false)).build();
        let out = cx
            .retrying(&[PROFILE_NOT_YET], || {
                let call = ec2
                    .run_instances()
                    .image_id(&image)
                    .min_count(1)
                    .max_count(1)
                    .client_token(&token)
                    .set_instance_type(p.instance_type.as_deref().map(InstanceType::from))
                    .set_iam_instance_profile(p.profile())
                    .set_subnet_id(p.subnet_id.clone())
                    .set_placement(
                        p.availability_zone.as_ref().map(|z| Placement::builder().availability_zone(z).build()),
                    )
                    .set_security_group_ids((!p.security_group_ids.is_empty()).then(|| p.security_group_ids.clone()))
                    .set_key_name(p.key_name.clone())
                    .set_user_data(p.user_data_text())
                    .monitoring(monitoring.clone())
                    .tag_specifications(tag_specification(cx, ResourceType::Instance, &p.tags));
                async move { call.send().await.map_err(sdk_error) }
            })
            .await?;
        let id = out
            .instances
            .unwrap_or_default()
            .into_iter()
            .find_map(|i| i.instance_id)
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "RunInstances returned no instance"))?;
        let running = cx.created(&id, wait_for(cx, &ec2, &id, InstanceStateName::Running)).await?;
        Ok(data(&running))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let i = describe(&ec2, physical_id).await?;
        if matches!(state(&i), Some(InstanceStateName::Terminated)) {
            return Ok(None);
        }
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if let Some(image) = &i.image_id {
            props.insert("ImageId".to_string(), json!(image));
        }
        if wants("InstanceType") {
            props.insert("InstanceType".into(), json!(i.instance_type.as_ref().map(|t| t.as_str())));
        }
        if let Some(arn) = i.iam_instance_profile.as_ref().and_then(|p| p.arn.as_deref()) {
            let given = desired.get("IamInstanceProfile").and_then(Json::as_str);
            let shown = if given == Some(arn) { arn } else { profile_name(arn) };
            props.insert("IamInstanceProfile".into(), json!(shown));
        }
        if wants("SubnetId") {
            props.insert("SubnetId".into(), json!(i.subnet_id));
        }
        if wants("AvailabilityZone") {
            props.insert(
                "AvailabilityZone".into(),
                json!(i.placement.as_ref().and_then(|p| p.availability_zone.clone())),
            );
        }
        let groups: Vec<String> = i.security_groups().iter().filter_map(|g| g.group_id.clone()).collect();
        if wants("SecurityGroupIds") {
            props.insert("SecurityGroupIds".into(), json!(groups));
        }
        if let Some(k) = &i.key_name {
            props.insert("KeyName".into(), json!(k));
        }
        if let Some(u) = user_data(&ec2, physical_id).await? {
            props.insert("UserData".into(), json!(u));
        }
        let monitored = i.monitoring.as_ref().and_then(|m| m.state.as_ref()).is_some_and(|s| s.as_str() != "disabled");
        if monitored || wants("Monitoring") {
            props.insert("Monitoring".into(), json!(monitored));
        }
        Ok(Some(Live { data: data(&i), properties: props, tags: Some(tag_map(i.tags())) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let id = physical_id;
        let live = describe(&ec2, id).await?;
        let live_type = live.instance_type.as_ref().map(|t| t.as_str().to_string());
        let type_change = new.instance_type.as_ref().filter(|t| Some(*t) != live_type.as_ref());
        let live_data = user_data(&ec2, id).await?;
        let data_change = new.user_data_text() != live_data;
        if type_change.is_some() || data_change {
            ec2.stop_instances().instance_ids(id).send().await.map_err(sdk_error)?;
            wait_for(cx, &ec2, id, InstanceStateName::Stopped).await?;
            if let Some(t) = type_change {
                ec2.modify_instance_attribute()
                    .instance_id(id)
                    .instance_type(AttributeValue::builder().value(t).build())
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            if data_change {
                // `Attribute: userData` with `Value`, the base64 text (as the EC2 User Guide
                // does it), rather than the `UserData` blob member.
                ec2.modify_instance_attribute()
                    .instance_id(id)
                    .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
                    .value(new.user_data_text().unwrap_or_default())
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            ec2.start_instances().instance_ids(id).send().await.map_err(sdk_error)?;
            wait_for(cx, &ec2, id, InstanceStateName::Running).await?;
        }
        let live_groups: Vec<String> = live.security_groups().iter().filter_map(|g| g.group_id.clone()).collect();
        let same_groups = {
            let (mut a, mut b) = (live_groups.clone(), new.security_group_ids.clone());
            a.sort();
            b.sort();
            a == b
        };
        if !new.security_group_ids.is_empty() && !same_groups {
            ec2.modify_instance_attribute()
                .instance_id(id)
                .set_groups(Some(new.security_group_ids.clone()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let monitored =
            live.monitoring.as_ref().and_then(|m| m.state.as_ref()).is_some_and(|s| s.as_str() != "disabled");
        match (new.monitoring.unwrap_or(false), monitored) {
            (true, false) => {
                ec2.monitor_instances().instance_ids(id).send().await.map_err(sdk_error)?;
            }
            (false, true) => {
                ec2.unmonitor_instances().instance_ids(id).send().await.map_err(sdk_error)?;
            }
            _ => {}
        }
        let live_profile = live.iam_instance_profile.as_ref().and_then(|p| p.arn.clone());
        let same_profile = match (&live_profile, &new.iam_instance_profile) {
            (None, None) => true,
            (Some(arn), Some(p)) => arn == p || profile_name(arn) == p,
            _ => false,
        };
        if !same_profile || old.iam_instance_profile != new.iam_instance_profile {
            set_profile(cx, &ec2, id, new).await?;
        }
        update_tags(cx, &ec2, id, &tag_map(live.tags()), &new.tags).await?;
        Ok(data(&describe(&ec2, id).await?))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        ec2.terminate_instances().instance_ids(physical_id).send().await.map_err(sdk_error)?;
        wait_for(cx, &ec2, physical_id, InstanceStateName::Terminated).await.map(|_| ())
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let mut filters = ownership_filters(cx);
        filters.push(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        );
        let reservations =
            paging::all(ec2.describe_instances().set_filters(Some(filters)).into_paginator().items().send()).await?;
        let instances: Vec<Ec2Instance> =
            reservations.into_iter().flat_map(|r| r.instances.unwrap_or_default()).collect();
        let candidates = instances.iter().map(|i| (i.instance_id.clone().unwrap_or_default(), tag_map(i.tags())));
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        Ok(instances.iter().find(|i| i.instance_id.as_deref() == Some(id.as_str())).map(data))
    }

    fn fixture(&self) -> Fixture {
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let support = json!({
            "BastionRole": role,
            "BastionProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "BastionRole"}]}},
            "Anchor": {"Type": super::security_group::TYPE_NAME, "Properties": {"GroupDescription": "cairn conformance anchor"}},
            "Bastion": {"Type": super::security_group::TYPE_NAME, "Properties": {
                "GroupDescription": "cairn conformance bastion",
                "VpcId": {"Fn::GetAtt": ["Anchor", "VpcId"]},
                "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}}
        });
        let anchor = json!({"Fn::GetAtt": ["Anchor", "GroupId"]});
        let bastion = json!({"Fn::GetAtt": ["Bastion", "GroupId"]});
        // Amazon Linux and Ubuntu AMIs moto knows (`moto/ec2/resources/amis.json.gz`). The
        // user data is base64 text, as `Fn::Base64` gives it (the suite resolves `Ref`,
        // `Fn::GetAtt` and `Fn::Sub` only): `#!/bin/sh\necho one\n`, then `echo two`.
        let props = |image: &str, kind: &str, profile: &str, groups: Json, script: &str, team: &str| {
            json!({
                "ImageId": image,
                "InstanceType": kind,
                "IamInstanceProfile": {"Ref": profile},
                "SecurityGroupIds": groups,
                "UserData": script,
                "Monitoring": false,
                "Tags": [{"Key": "Name", "Value": "bastion"}, {"Key": "Team", "Value": team}]
            })
        };
        // The update keeps the instance profile: moto 5.2.5's
        // `ReplaceIamInstanceProfileAssociation` changes the association but not what
        // `DescribeInstances` shows (`moto/ec2/models/iam_instance_profile.py`), where EC2
        // shows the new profile. `Monitoring` stays off: moto 5.2.5 has no
        // `MonitorInstances` (`moto/ec2/responses/monitoring.py`).
        Fixture {
            support,
            create: props(
                "ami-760aaa0f",
                "t3.micro",
                "BastionProfile",
                json!([bastion]),
                "IyEvYmluL3NoCmVjaG8gb25lCg==",
                "a",
            ),
            update: Some(props(
                "ami-760aaa0f",
                "t3.small",
                "BastionProfile",
                json!([bastion, anchor]),
                "IyEvYmluL3NoCmVjaG8gdHdvCg==",
                "b",
            )),
            replace: Some(props(
                "ami-1e749f67",
                "t3.small",
                "BastionProfile",
                json!([bastion, anchor]),
                "IyEvYmluL3NoCmVjaG8gdHdvCg==",
                "b",
            )),
            nested_replace: None,
            // RunInstances makes the whole instance (tags included): what follows only
            // waits for `running`, and a refused wait is an answer lost after the
            // create took effect (the engine reads the instance back and finds it
            // complete). So the create itself is refused, and the next `up` finds the
            // instance by its ownership tags or makes it.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Instance::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn an_image_and_base64_user_data() {
        let e = parse(json!({"InstanceType": "t3.micro"})).unwrap_err();
        assert!(e.message.starts_with("ImageId: give the AMI id"), "{}", e.message);
        let e = parse(json!({"ImageId": "ami-1", "UserData": "#!/bin/sh"})).unwrap_err();
        assert!(e.message.starts_with("UserData: expected base64 text"), "{}", e.message);
        let p = parse(json!({"ImageId": "ami-1", "UserData": "IyEvYmluL3No", "IamInstanceProfile": "arn:aws:iam::1:instance-profile/p/x"}))
            .unwrap();
        assert_eq!(p.user_data_text().as_deref(), Some("IyEvYmluL3No"));
        assert!(p.profile().unwrap().arn.is_some());
        let e = parse(json!({"ImageId": "ami-1", "BlockDeviceMappings": []})).unwrap_err();
        assert!(e.message.contains("does not support `BlockDeviceMappings`"), "{}", e.message);
        assert_eq!(profile_name("arn:aws:iam::1:instance-profile/p/x"), "x");
    }
}
