//! `AWS::EC2::SecurityGroupIngress` and `AWS::EC2::SecurityGroupEgress`: one rule of a
//! security group, as a resource of its own (the way to let two groups refer to each other).
//!
//! | property | notes |
//! | --- | --- |
//! | `GroupId` | string, required (by cairn for ingress too), create-only |
//! | `IpProtocol` | `tcp`, `udp`, `icmp`, `icmpv6`, a number, or `-1` for all; required, create-only |
//! | `FromPort`, `ToPort` | integers, create-only; ignored by EC2 for a protocol without ports |
//! | `CidrIp`, `CidrIpv6`, `SourceSecurityGroupId` / `DestinationSecurityGroupId`, `SourcePrefixListId` / `DestinationPrefixListId` | exactly one; create-only |
//! | `Description` | string; updates in place |
//!
//! Left out: `GroupName`, `SourceSecurityGroupName` (groups named by name exist only in the
//! default VPC: give the id) and `SourceSecurityGroupOwnerId` (another account's group).
//!
//! - `Ref`: the security group rule id (`sgr-...`).
//! - `Fn::GetAtt`: `Id` (the rule id).
//!
//! `create` is `AuthorizeSecurityGroupIngress`/`Egress` of the one rule, which returns its
//! id; the rule is tagged (`TagSpecifications`) with cairn's ownership tags, which is how
//! `AWS::EC2::SecurityGroup` tells it from its own inline rules and leaves it alone (see
//! `security_group.rs`). `read` is `DescribeSecurityGroupRules` of the id. `update` changes
//! the description (`ModifySecurityGroupRules`); every other property is create-only.
//! `delete` is `RevokeSecurityGroupIngress`/`Egress` of the rule id. `find` looks for the
//! rule among the group's rules by its ownership tags.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, SecurityGroupRule, SecurityGroupRuleRequest, SecurityGroupRuleUpdate};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::security_group::{self, group_rules, protocol, Peer, Rule, GROUP_NOT_FOUND};
use super::tag_specification;
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const INGRESS_TYPE_NAME: &str = "AWS::EC2::SecurityGroupIngress";
pub const EGRESS_TYPE_NAME: &str = "AWS::EC2::SecurityGroupEgress";

const RULE_NOT_FOUND: &str = "InvalidSecurityGroupRuleId.NotFound";

static INGRESS_SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_SECURITY_GROUP_INGRESS, None, &[])),
    not_found: &[RULE_NOT_FOUND, GROUP_NOT_FOUND],
    timeout: Duration::from_secs(60),
    reference: "the security group rule id",
};

static EGRESS_SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::EC2_SECURITY_GROUP_EGRESS, None, &[])),
    not_found: &[RULE_NOT_FOUND, GROUP_NOT_FOUND],
    timeout: Duration::from_secs(60),
    reference: "the security group rule id",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IngressProps {
    group_id: Option<String>,
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
    cidr_ipv6: Option<String>,
    source_security_group_id: Option<String>,
    source_prefix_list_id: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EgressProps {
    group_id: String,
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
    cidr_ipv6: Option<String>,
    destination_security_group_id: Option<String>,
    destination_prefix_list_id: Option<String>,
    description: Option<String>,
}

/// What the two types share: the group and the rule.
pub(crate) trait OneRule {
    const EGRESS: bool;
    fn group_id(&self) -> Result<&str, PropsError>;
    fn rule(&self) -> Result<Rule, PropsError>;
}

impl OneRule for IngressProps {
    const EGRESS: bool = false;
    fn group_id(&self) -> Result<&str, PropsError> {
        self.group_id.as_deref().ok_or_else(|| PropsError {
            path: "GroupId".into(),
            message: "give the group by its id (`GroupName` is for the default VPC only, and cairn does not take it)"
                .into(),
        })
    }
    fn rule(&self) -> Result<Rule, PropsError> {
        Rule::new(
            "",
            false,
            &self.ip_protocol,
            self.from_port,
            self.to_port,
            [
                ("CidrIp", self.cidr_ip.as_ref()),
                ("CidrIpv6", self.cidr_ipv6.as_ref()),
                ("SourceSecurityGroupId", self.source_security_group_id.as_ref()),
                ("SourcePrefixListId", self.source_prefix_list_id.as_ref()),
            ],
            self.description.as_ref(),
        )
    }
}

impl OneRule for EgressProps {
    const EGRESS: bool = true;
    fn group_id(&self) -> Result<&str, PropsError> {
        Ok(&self.group_id)
    }
    fn rule(&self) -> Result<Rule, PropsError> {
        Rule::new(
            "",
            true,
            &self.ip_protocol,
            self.from_port,
            self.to_port,
            [
                ("CidrIp", self.cidr_ip.as_ref()),
                ("CidrIpv6", self.cidr_ipv6.as_ref()),
                ("DestinationSecurityGroupId", self.destination_security_group_id.as_ref()),
                ("DestinationPrefixListId", self.destination_prefix_list_id.as_ref()),
            ],
            self.description.as_ref(),
        )
    }
}

/// `AWS::EC2::SecurityGroupIngress`.
pub struct SecurityGroupIngress;
/// `AWS::EC2::SecurityGroupEgress`.
pub struct SecurityGroupEgress;

impl SecurityGroupIngress {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<SecurityGroupIngress> {
        Typed::new(SecurityGroupIngress, aws)
    }
}

impl SecurityGroupEgress {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<SecurityGroupEgress> {
        Typed::new(SecurityGroupEgress, aws)
    }
}

fn data(rule_id: &str) -> ResourceData {
    ResourceData {
        physical_id: rule_id.to_string(),
        attributes: BTreeMap::from([("Id".to_string(), Value::from(rule_id))]),
    }
}

fn located(e: PropsError) -> ProviderError {
    e.into()
}

async fn create<P: OneRule>(cx: &Cx<'_>, p: &P) -> Result<ResourceData, ProviderError> {
    let group = p.group_id().map_err(located)?;
    let rule = p.rule().map_err(located)?;
    let ec2: aws_sdk_ec2::Client = cx.client();
    let tags = tag_specification(cx, ResourceType::SecurityGroupRule, &[]);
    let made: Vec<SecurityGroupRule> = if P::EGRESS {
        let out = ec2
            .authorize_security_group_egress()
            .group_id(group)
            .ip_permissions(rule.permission())
            .tag_specifications(tags)
            .send()
            .await
            .map_err(sdk_error)?;
        out.security_group_rules.unwrap_or_default()
    } else {
        let out = ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(rule.permission())
            .tag_specifications(tags)
            .send()
            .await
            .map_err(sdk_error)?;
        out.security_group_rules.unwrap_or_default()
    };
    let id = made.into_iter().find_map(|r| r.security_group_rule_id).ok_or_else(|| {
        ProviderError::with_code(
            "InvalidResponse",
            format!("AuthorizeSecurityGroup{} returned no rule id", if P::EGRESS { "Egress" } else { "Ingress" }),
        )
    })?;
    Ok(data(&id))
}

async fn describe(ec2: &aws_sdk_ec2::Client, rule_id: &str) -> Result<SecurityGroupRule, ProviderError> {
    let out = ec2.describe_security_group_rules().security_group_rule_ids(rule_id).send().await.map_err(sdk_error)?;
    out.security_group_rules.unwrap_or_default().into_iter().next().ok_or_else(|| {
        ProviderError::with_code(RULE_NOT_FOUND, format!("security group rule {rule_id} does not exist"))
    })
}

async fn read<P: OneRule>(cx: &Cx<'_>, rule_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
    let ec2: aws_sdk_ec2::Client = cx.client();
    let r = describe(&ec2, rule_id).await?;
    if r.is_egress != Some(P::EGRESS) {
        return Err(ProviderError::with_code(
            RULE_NOT_FOUND,
            format!("security group rule {rule_id} is not an {} rule", if P::EGRESS { "egress" } else { "ingress" }),
        ));
    }
    let rule = Rule::live(&r).ok_or_else(|| {
        ProviderError::with_code("InvalidResponse", format!("DescribeSecurityGroupRules gave rule {rule_id} no peer"))
    })?;
    let mut props: BTreeMap<String, Json> = rule.to_json(P::EGRESS).into_iter().collect();
    // A protocol without ports reads back without them; `-1` written in the template is
    // what EC2 holds.
    for k in ["FromPort", "ToPort"] {
        if desired.get(k).is_some() && !props.contains_key(k) {
            props.insert(k.into(), json!(if k == "FromPort" { rule.from } else { rule.to }));
        }
    }
    if desired.get("Description").is_some() && rule.description.is_none() {
        props.insert("Description".into(), json!(""));
    }
    props.insert("GroupId".into(), json!(r.group_id));
    Ok(Some(Live { data: data(rule_id), properties: props, tags: None }))
}

async fn update<P: OneRule>(cx: &Cx<'_>, rule_id: &str, new: &P) -> Result<ResourceData, ProviderError> {
    let group = new.group_id().map_err(located)?;
    let rule = new.rule().map_err(located)?;
    let ec2: aws_sdk_ec2::Client = cx.client();
    let request = SecurityGroupRuleRequest::builder()
        .ip_protocol(&rule.protocol)
        .from_port(rule.from)
        .to_port(rule.to)
        .description(rule.description.clone().unwrap_or_default());
    let request = match &rule.peer {
        Peer::Cidr4(c) => request.cidr_ipv4(c),
        Peer::Cidr6(c) => request.cidr_ipv6(c),
        Peer::Group(g) => request.referenced_group_id(g),
        Peer::PrefixList(l) => request.prefix_list_id(l),
    };
    let change =
        SecurityGroupRuleUpdate::builder().security_group_rule_id(rule_id).security_group_rule(request.build());
    ec2.modify_security_group_rules()
        .group_id(group)
        .security_group_rules(change.build())
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(data(rule_id))
}

async fn delete<P: OneRule>(cx: &Cx<'_>, rule_id: &str, p: &P) -> Result<(), ProviderError> {
    let group = p.group_id().map_err(located)?;
    let ec2: aws_sdk_ec2::Client = cx.client();
    if P::EGRESS {
        ec2.revoke_security_group_egress()
            .group_id(group)
            .security_group_rule_ids(rule_id)
            .send()
            .await
            .map_err(sdk_error)?;
    } else {
        ec2.revoke_security_group_ingress()
            .group_id(group)
            .security_group_rule_ids(rule_id)
            .send()
            .await
            .map_err(sdk_error)?;
    }
    Ok(())
}

async fn find<P: OneRule>(cx: &Cx<'_>, p: &P) -> Result<Option<ResourceData>, ProviderError> {
    let group = p.group_id().map_err(located)?;
    let ec2: aws_sdk_ec2::Client = cx.client();
    let rules = group_rules(&ec2, group).await?;
    let candidates = rules
        .iter()
        .filter(|r| r.is_egress == Some(P::EGRESS))
        .filter_map(|r| Some((r.security_group_rule_id.clone()?, super::tag_map(r.tags()))));
    Ok(ids::owned(cx.ctx, candidates)?.map(|id| data(&id)))
}

/// `IpProtocol` compares by meaning (`6` is `tcp`); the rest as the kit does.
fn equivalent(property: &str, old: &Json, new: &Json) -> bool {
    match (property, old.as_str(), new.as_str()) {
        ("IpProtocol", Some(a), Some(b)) => protocol(a) == protocol(b),
        _ => loose_eq(old, new),
    }
}

/// The support group of both fixtures: the rules are added to it.
fn fixture_support() -> Json {
    json!({
        "Anchor": {"Type": security_group::TYPE_NAME, "Properties": {"GroupDescription": "cairn conformance anchor"}},
        "Group": {"Type": security_group::TYPE_NAME, "Properties": {
            "GroupDescription": "cairn conformance rules",
            "VpcId": {"Fn::GetAtt": ["Anchor", "VpcId"]},
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.0.0.0/16"}],
            "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}}
    })
}

#[async_trait]
impl AwsType for SecurityGroupIngress {
    type Props = IngressProps;

    fn spec(&self) -> &'static Spec {
        &INGRESS_SPEC
    }

    fn validate(&self, p: &IngressProps) -> Result<(), PropsError> {
        p.group_id()?;
        p.rule()?;
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        equivalent(property, old, new)
    }

    async fn create(&self, cx: &Cx<'_>, p: &IngressProps) -> Result<ResourceData, ProviderError> {
        create(cx, p).await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        read::<IngressProps>(cx, physical_id, desired).await
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &IngressProps,
        new: &IngressProps,
    ) -> Result<ResourceData, ProviderError> {
        update(cx, physical_id, new).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &IngressProps) -> Result<(), ProviderError> {
        delete(cx, physical_id, p).await
    }

    async fn find(&self, cx: &Cx<'_>, p: &IngressProps) -> Result<Option<ResourceData>, ProviderError> {
        find(cx, p).await
    }

    fn fixture(&self) -> Fixture {
        // `Ref` and `Fn::Sub` rather than `Fn::GetAtt` for the create-only properties: the
        // same text in every step, so that only the replace step replaces.
        let group = json!({"Ref": "Group"});
        // A CIDR peer: moto 5.2.5 drops the description of a rule whose peer is a group
        // (`SecurityGroupRule.description` reads the CIDR range only, in
        // `moto/ec2/models/security_groups.py`), where EC2 keeps it. The group's own fixture
        // has a group peer.
        let rule = |cidr: &str, description: &str| {
            json!({"GroupId": group, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                   "CidrIp": cidr, "Description": description})
        };
        Fixture {
            support: fixture_support(),
            create: rule("10.0.0.0/16", "the VPC"),
            update: Some(rule("10.0.0.0/16", "the whole VPC")),
            replace: Some(rule("203.0.113.7/32", "a developer")),
            nested_replace: None,
            partial_after: None,
            unverified: &[],
        }
    }
}

#[async_trait]
impl AwsType for SecurityGroupEgress {
    type Props = EgressProps;

    fn spec(&self) -> &'static Spec {
        &EGRESS_SPEC
    }

    fn validate(&self, p: &EgressProps) -> Result<(), PropsError> {
        p.rule()?;
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        equivalent(property, old, new)
    }

    async fn create(&self, cx: &Cx<'_>, p: &EgressProps) -> Result<ResourceData, ProviderError> {
        create(cx, p).await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        read::<EgressProps>(cx, physical_id, desired).await
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        _old: &EgressProps,
        new: &EgressProps,
    ) -> Result<ResourceData, ProviderError> {
        update(cx, physical_id, new).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, p: &EgressProps) -> Result<(), ProviderError> {
        delete(cx, physical_id, p).await
    }

    async fn find(&self, cx: &Cx<'_>, p: &EgressProps) -> Result<Option<ResourceData>, ProviderError> {
        find(cx, p).await
    }

    fn fixture(&self) -> Fixture {
        let group = json!({"Ref": "Group"});
        let rule = |cidr: &str, description: &str| {
            json!({"GroupId": group, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                   "CidrIp": cidr, "Description": description})
        };
        Fixture {
            support: fixture_support(),
            create: rule("10.0.0.0/16", "the database"),
            update: Some(rule("10.0.0.0/16", "the databases")),
            replace: Some(rule("10.1.0.0/16", "the databases")),
            nested_replace: None,
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_peer_and_a_group_id() {
        let t = SecurityGroupIngress::new(Aws::unconfigured());
        let e = t.parse(&json!({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "CidrIp": "0.0.0.0/0"})).unwrap_err();
        assert!(e.message.starts_with("GroupId: give the group by its id"), "{}", e.message);
        let e = t.parse(&json!({"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 1, "ToPort": 1})).unwrap_err();
        assert!(e.message.contains("an ingress rule takes exactly one of CidrIp"), "{}", e.message);
        let p = t
            .parse(
                &json!({"GroupId": "sg-1", "IpProtocol": "6", "FromPort": "22", "ToPort": 22, "CidrIp": "0.0.0.0/0"}),
            )
            .unwrap();
        assert_eq!(p.rule().unwrap().protocol, "tcp");
        assert!(SecurityGroupIngress.equivalent("IpProtocol", &json!("6"), &json!("tcp")));
        assert!(!SecurityGroupIngress.equivalent("IpProtocol", &json!("udp"), &json!("tcp")));
    }
}
