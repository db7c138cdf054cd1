//! `AWS::EC2::SecurityGroup`: a security group and its inline rules.
//!
//! | property | notes |
//! | --- | --- |
//! | `GroupDescription` | string, required, create-only |
//! | `GroupName` | string, create-only; generated when absent (255 characters), as CloudFormation does |
//! | `VpcId` | string, create-only; without it the group is made in the default VPC |
//! | `SecurityGroupIngress` | set of `{IpProtocol, FromPort, ToPort, CidrIp \| CidrIpv6 \| SourceSecurityGroupId \| SourcePrefixListId, Description}` |
//! | `SecurityGroupEgress` | set of `{IpProtocol, FromPort, ToPort, CidrIp \| CidrIpv6 \| DestinationSecurityGroupId \| DestinationPrefixListId, Description}` |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out: `SourceSecurityGroupName` and `SourceSecurityGroupOwnerId` of an ingress rule
//! (a source named by group name exists only in the default VPC; another account's group:
//! give its id).
//!
//! - `Ref`: the group id when `VpcId` is given, otherwise the group name (as the
//!   CloudFormation docs say; cairn reads such a group by name, in the default VPC).
//! - `Fn::GetAtt`: `GroupId`, `VpcId` (and `Id`, the same as `Ref`).
//!
//! `create` calls `CreateSecurityGroup` with the tags (`TagSpecifications`), waits until
//! `DescribeSecurityGroups` shows the group, then makes the rules what the template says.
//! EC2 gives a new VPC group one egress rule allowing all traffic (and one for `::/0` when
//! the VPC has IPv6): when the template gives `SecurityGroupEgress` that rule is revoked
//! (unless the template lists it), and when it does not, the rule is kept, as CloudFormation
//! does. Rules are compared with the live ones (`DescribeSecurityGroupRules`) by what they
//! allow (protocol, ports, peer) and their description: `RevokeSecurityGroupIngress`/`Egress`
//! of the live rules the template does not give (by rule id), then
//! `AuthorizeSecurityGroupIngress`/`Egress` of the missing ones; so a changed description
//! replaces the rule, as CloudFormation does. `update` does the same (rules in place; tags
//! with `CreateTags`/`DeleteTags`, only those that differ from the live ones); removing
//! `SecurityGroupEgress` from the template revokes the egress rules the template gave and
//! adds none back (AWS's documented behaviour: then no outbound traffic is allowed unless
//! other rules allow it).
//!
//! `read` reports `SecurityGroupIngress` (when there are rules, or the template gives it)
//! and `SecurityGroupEgress` only when the template gives it, so that a group without inline
//! egress rules shows no drift for EC2's default rule. Rules carrying cairn ownership tags
//! belong to an `AWS::EC2::SecurityGroupIngress`/`SecurityGroupEgress` resource (which tags
//! the rule it makes) and are never shown nor revoked by the group: the two do not fight
//! (CloudFormation's group, which does not tell them apart, does). Any other rule, added by
//! hand or by another tool, is drift and is revoked by the next `up`.
//!
//! `delete` is `DeleteSecurityGroup`. AWS refuses it with `DependencyViolation` while a
//! network interface still uses the group (a VPC Lambda function's, which AWS deletes up to
//! 20 minutes after the function, sometimes longer) or another group's rule refers to it;
//! cairn retries for up to 40 minutes, reporting what it waits for. `find` looks for a group
//! carrying this resource's ownership tags (`DescribeSecurityGroups` with `tag:` filters, and
//! the group name when the template names it).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup as Ec2Group, SecurityGroupRule,
    UserIdGroupPair,
};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{filter, ownership_filters, tag_map, tag_specification, update_tags};
use crate::kit::wait::Transient;
use crate::kit::{ids, paging, props, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::EC2::SecurityGroup";

/// The error code EC2 answers for a group that does not exist.
pub(crate) const GROUP_NOT_FOUND: &str = "InvalidGroup.NotFound";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        crate::schema::with_attributes(
            crate::schema::load(crate::schema::EC2_SECURITY_GROUP, Some("GroupName"), &[]),
            &["VpcId"],
        )
    }),
    not_found: &[GROUP_NOT_FOUND],
    // A group used by a VPC Lambda function's network interfaces cannot be deleted until
    // AWS deletes them, up to 20 minutes after the function (and longer at times).
    timeout: Duration::from_secs(40 * 60),
    reference: "the group id (the group name for a group without VpcId, in the default VPC)",
};

/// DeleteSecurityGroup while something still uses the group.
const IN_USE: Transient = Transient {
    code: "DependencyViolation",
    message_contains: None,
    waiting_for: "the network interfaces using the security group to be deleted (AWS deletes a VPC Lambda function's up to 20 minutes after the function) and the rules of other groups referring to it to be revoked",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    group_description: String,
    group_name: Option<String>,
    vpc_id: Option<String>,
    security_group_ingress: Option<Vec<Ingress>>,
    security_group_egress: Option<Vec<Egress>>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// One inline ingress rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Ingress {
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
    cidr_ipv6: Option<String>,
    source_security_group_id: Option<String>,
    source_prefix_list_id: Option<String>,
    description: Option<String>,
}

/// One inline egress rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Egress {
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
    cidr_ipv6: Option<String>,
    destination_security_group_id: Option<String>,
    destination_prefix_list_id: Option<String>,
    description: Option<String>,
}

/// Whom a rule allows traffic from (ingress) or to (egress).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Peer {
    Cidr4(String),
    Cidr6(String),
    Group(String),
    PrefixList(String),
}

/// A rule as EC2 holds it: what it allows, normalised (`6` is `tcp`; ports of a protocol
/// that has none are -1), and its description.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rule {
    pub protocol: String,
    pub from: i32,
    pub to: i32,
    pub peer: Peer,
    pub description: Option<String>,
}

/// The protocol as EC2 reports it: names for TCP, UDP, ICMP and ICMPv6, `-1` for all,
/// the number for any other.
pub(crate) fn protocol(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        other => other.to_string(),
    }
}

/// Whether the protocol has ports (or ICMP type and code).
fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6")
}

impl Rule {
    /// A rule from its parts, checking that exactly one peer is given (`path` is where the
    /// rule is, for the error).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        path: &str,
        egress: bool,
        ip_protocol: &str,
        from: Option<i32>,
        to: Option<i32>,
        peers: [(&str, Option<&String>); 4],
        description: Option<&String>,
    ) -> Result<Rule, PropsError> {
        let given: Vec<(&str, &String)> = peers.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
        let [(kind, value)] = given.as_slice() else {
            let names: Vec<&str> = peers.iter().map(|(k, _)| *k).collect();
            return Err(PropsError {
                path: path.to_string(),
                message: format!(
                    "a{} rule takes exactly one of {}",
                    if egress { "n egress" } else { "n ingress" },
                    names.join(", ")
                ),
            });
        };
        let peer = match *kind {
            "CidrIp" => Peer::Cidr4(value.to_string()),
            "CidrIpv6" => Peer::Cidr6(value.to_string()),
            k if k.ends_with("SecurityGroupId") => Peer::Group(value.to_string()),
            _ => Peer::PrefixList(value.to_string()),
        };
        let protocol = protocol(ip_protocol);
        let (from, to) = if has_ports(&protocol) { (from.unwrap_or(-1), to.unwrap_or(-1)) } else { (-1, -1) };
        Ok(Rule { protocol, from, to, peer, description: description.filter(|d| !d.is_empty()).cloned() })
    }

    /// A live rule of `DescribeSecurityGroupRules`.
    pub(crate) fn live(r: &SecurityGroupRule) -> Option<Rule> {
        let peer = if let Some(c) = &r.cidr_ipv4 {
            Peer::Cidr4(c.clone())
        } else if let Some(c) = &r.cidr_ipv6 {
            Peer::Cidr6(c.clone())
        } else if let Some(g) = r.referenced_group_info.as_ref().and_then(|g| g.group_id.clone()) {
            Peer::Group(g)
        } else {
            Peer::PrefixList(r.prefix_list_id.clone()?)
        };
        let protocol = protocol(r.ip_protocol.as_deref()?);
        let (from, to) =
            if has_ports(&protocol) { (r.from_port.unwrap_or(-1), r.to_port.unwrap_or(-1)) } else { (-1, -1) };
        Some(Rule { protocol, from, to, peer, description: r.description.clone().filter(|d| !d.is_empty()) })
    }

    /// The rule in CloudFormation's shape (`SecurityGroupIngress` or `SecurityGroupEgress`
    /// item; the standalone rule types take the same names).
    pub(crate) fn to_json(&self, egress: bool) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("IpProtocol".into(), json!(self.protocol));
        if has_ports(&self.protocol) {
            m.insert("FromPort".into(), json!(self.from));
            m.insert("ToPort".into(), json!(self.to));
        }
        let side = if egress { "Destination" } else { "Source" };
        let (k, v) = match &self.peer {
            Peer::Cidr4(c) => ("CidrIp".to_string(), c),
            Peer::Cidr6(c) => ("CidrIpv6".to_string(), c),
            Peer::Group(g) => (format!("{side}SecurityGroupId"), g),
            Peer::PrefixList(p) => (format!("{side}PrefixListId"), p),
        };
        m.insert(k, json!(v));
        if let Some(d) = &self.description {
            m.insert("Description".into(), json!(d));
        }
        m
    }

    /// The rule as `Authorize*` takes it.
    pub(crate) fn permission(&self) -> IpPermission {
        let d = self.description.clone();
        let p = IpPermission::builder().ip_protocol(&self.protocol);
        let p = if has_ports(&self.protocol) { p.from_port(self.from).to_port(self.to) } else { p };
        match &self.peer {
            Peer::Cidr4(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build()),
            Peer::Cidr6(c) => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build()),
            Peer::Group(g) => p.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).set_description(d).build()),
            Peer::PrefixList(l) => {
                p.prefix_list_ids(PrefixListId::builder().prefix_list_id(l).set_description(d).build())
            }
        }
        .build()
    }
}

impl Ingress {
    pub(crate) fn rule(&self, path: &str) -> Result<Rule, PropsError> {
        Rule::new(
            path,
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

impl Egress {
    pub(crate) fn rule(&self, path: &str) -> Result<Rule, PropsError> {
        Rule::new(
            path,
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

/// Rules of a list, checked, without duplicates (EC2 refuses a rule given twice).
fn distinct(property: &str, rules: Vec<Result<Rule, PropsError>>) -> Result<Vec<Rule>, PropsError> {
    let mut out: Vec<Rule> = Vec::new();
    for (i, r) in rules.into_iter().enumerate() {
        let r = r?;
        if out.iter().any(|o| same_permission(o, &r)) {
            return Err(PropsError {
                path: format!("{property}[{i}]"),
                message: "the same rule (protocol, ports and peer) is given twice".into(),
            });
        }
        out.push(r);
    }
    Ok(out)
}

/// Whether two rules allow the same traffic (EC2's identity of a rule: the description is
/// not part of it).
fn same_permission(a: &Rule, b: &Rule) -> bool {
    a.protocol == b.protocol && a.from == b.from && a.to == b.to && a.peer == b.peer
}

impl Props {
    fn ingress(&self) -> Result<Vec<Rule>, PropsError> {
        let items = self.security_group_ingress.as_deref().unwrap_or_default();
        let rules = items.iter().enumerate().map(|(i, r)| r.rule(&format!("SecurityGroupIngress[{i}]"))).collect();
        distinct("SecurityGroupIngress", rules)
    }

    fn egress(&self) -> Result<Option<Vec<Rule>>, PropsError> {
        let Some(items) = &self.security_group_egress else { return Ok(None) };
        let rules = items.iter().enumerate().map(|(i, r)| r.rule(&format!("SecurityGroupEgress[{i}]"))).collect();
        distinct("SecurityGroupEgress", rules).map(Some)
    }
}

/// The `AWS::EC2::SecurityGroup` resource type.
pub struct SecurityGroup;

impl SecurityGroup {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<SecurityGroup> {
        Typed::new(SecurityGroup, aws)
    }
}

/// Characters a group name may hold (CreateSecurityGroup's `GroupName`).
fn group_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}

fn group_name(cx: &Cx<'_>, p: &Props) -> String {
    p.group_name.clone().unwrap_or_else(|| cx.generated_name(255, false, group_name_char))
}

/// What `Ref` gives: the id of a group in a named VPC, the name of one in the default VPC.
fn reference(p: &Props, g: &Ec2Group) -> String {
    match p.vpc_id {
        Some(_) => g.group_id.clone().unwrap_or_default(),
        None => g.group_name.clone().unwrap_or_default(),
    }
}

fn data(physical_id: &str, g: &Ec2Group) -> ResourceData {
    ResourceData {
        physical_id: physical_id.to_string(),
        attributes: BTreeMap::from([
            ("Id".to_string(), Value::from(physical_id)),
            ("GroupId".to_string(), Value::from(g.group_id.clone().unwrap_or_default())),
            ("VpcId".to_string(), Value::from(g.vpc_id.clone().unwrap_or_default())),
        ]),
    }
}

/// The group by id (`sg-...`) or, for a group in the default VPC, by name (EC2 refuses group
/// names that start with `sg-`).
pub(crate) async fn describe(ec2: &aws_sdk_ec2::Client, physical_id: &str) -> Result<Ec2Group, ProviderError> {
    let call = ec2.describe_security_groups();
    let call = match physical_id.starts_with("sg-") {
        true => call.group_ids(physical_id),
        false => call.group_names(physical_id),
    };
    let out = call.send().await.map_err(sdk_error)?;
    out.security_groups.unwrap_or_default().into_iter().next().ok_or_else(|| {
        ProviderError::with_code(GROUP_NOT_FOUND, format!("security group {physical_id} does not exist"))
    })
}

/// Every rule of a group, every page.
pub(crate) async fn group_rules(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    paging::all(
        ec2.describe_security_group_rules().filters(filter("group-id", group_id)).into_paginator().items().send(),
    )
    .await
}

/// Whether a live rule belongs to a cairn `AWS::EC2::SecurityGroupIngress`/`Egress`
/// resource (which tags the rule it makes with its ownership tags).
pub(crate) fn is_standalone(r: &SecurityGroupRule) -> bool {
    r.tags.as_deref().unwrap_or_default().iter().any(|t| t.key.as_deref().is_some_and(|k| k.starts_with("cairn:")))
}

/// The group's own rules in one direction: id and rule, without standalone ones.
fn own_rules(live: &[SecurityGroupRule], egress: bool) -> Vec<(String, Rule)> {
    live.iter()
        .filter(|r| r.is_egress == Some(egress) && !is_standalone(r))
        .filter_map(|r| Some((r.security_group_rule_id.clone()?, Rule::live(r)?)))
        .collect()
}

/// Make the group's rules in one direction `wanted`: revoke the others (by rule id), then
/// authorize the missing ones.
async fn converge(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
    egress: bool,
    live: &[(String, Rule)],
    wanted: &[Rule],
) -> Result<(), ProviderError> {
    let revoke: Vec<String> = live.iter().filter(|(_, r)| !wanted.contains(r)).map(|(id, _)| id.clone()).collect();
    let add: Vec<IpPermission> =
        wanted.iter().filter(|w| !live.iter().any(|(_, r)| r == *w)).map(Rule::permission).collect();
    if !revoke.is_empty() {
        match egress {
            true => ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(revoke))
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error)?,
            false => ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(revoke))
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error)?,
        }
    }
    if !add.is_empty() {
        match egress {
            true => ec2
                .authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(add))
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error)?,
            false => ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(add))
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error)?,
        }
    }
    Ok(())
}

/// Make the group's rules what `new` says. Without `SecurityGroupEgress`, the egress rules
/// that `old` gave are revoked and the others left alone (EC2's default rule of a new group
/// stays).
async fn sync_rules(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
    old: Option<&Props>,
    new: &Props,
) -> Result<(), ProviderError> {
    let live = group_rules(ec2, group_id).await?;
    let live_egress = own_rules(&live, true);
    let wanted_egress = match new.egress()? {
        Some(rules) => rules,
        None => {
            let given = old.map(Props::egress).transpose()?.flatten().unwrap_or_default();
            live_egress.iter().map(|(_, r)| r.clone()).filter(|r| !given.contains(r)).collect()
        }
    };
    converge(ec2, group_id, false, &own_rules(&live, false), &new.ingress()?).await?;
    converge(ec2, group_id, true, &live_egress, &wanted_egress).await
}

/// The live rules as the `read` of a rule list shows them: each in the template's spelling
/// when the template gives the same rule.
fn shown(live: &[(String, Rule)], desired: &[(Rule, Json)], egress: bool) -> Json {
    let items = live
        .iter()
        .map(|(_, r)| match desired.iter().find(|(d, _)| d == r) {
            Some((_, item)) => item.clone(),
            None => Json::Object(r.to_json(egress)),
        })
        .collect();
    Json::Array(items)
}

/// The rules the template gives, with their items as written (for [`shown`]).
fn desired_rules(p: Option<&Props>, desired: &Json, egress: bool) -> Vec<(Rule, Json)> {
    let key = if egress { "SecurityGroupEgress" } else { "SecurityGroupIngress" };
    let items = desired.get(key).and_then(Json::as_array).cloned().unwrap_or_default();
    let rules = match (p, egress) {
        (Some(p), false) => p.ingress().ok(),
        (Some(p), true) => p.egress().ok().flatten(),
        (None, _) => None,
    };
    match rules {
        Some(rules) if rules.len() == items.len() => rules.into_iter().zip(items).collect(),
        _ => Vec::new(),
    }
}

/// Two rule lists that allow the same (`6` and `tcp`, another order).
fn same_rules(old: &Json, new: &Json, egress: bool) -> Option<bool> {
    let parse = |v: &Json| -> Option<Vec<Rule>> {
        // Ports as the schema types them (`"443"` is 443), as the typed read does.
        let mut v = v.clone();
        for item in v.as_array_mut()?.iter_mut() {
            for k in ["FromPort", "ToPort"] {
                if let Some(n) = item.get(k).and_then(Json::as_str).and_then(|s| s.parse::<i64>().ok()) {
                    item[k] = json!(n);
                }
            }
        }
        let mut out: Vec<Rule> = if egress {
            let items: Vec<Egress> = serde_json::from_value(v.clone()).ok()?;
            items.iter().map(|r| r.rule("")).collect::<Result<_, _>>().ok()?
        } else {
            let items: Vec<Ingress> = serde_json::from_value(v.clone()).ok()?;
            items.iter().map(|r| r.rule("")).collect::<Result<_, _>>().ok()?
        };
        out.sort();
        Some(out)
    };
    Some(parse(old)? == parse(new)?)
}

#[async_trait]
impl AwsType for SecurityGroup {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        p.ingress()?;
        p.egress()?;
        if let Some(name) = &p.group_name {
            if name.to_ascii_lowercase().starts_with("sg-") {
                return Err(PropsError {
                    path: "GroupName".into(),
                    message: "EC2 refuses a group name that starts with `sg-`".into(),
                });
            }
        }
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        let egress = match property {
            "SecurityGroupIngress" => false,
            "SecurityGroupEgress" => true,
            _ => return loose_eq(old, new),
        };
        same_rules(old, new, egress).unwrap_or_else(|| loose_eq(old, new))
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = group_name(cx, p);
        let ec2: aws_sdk_ec2::Client = cx.client();
        let out = ec2
            .create_security_group()
            .group_name(&name)
            .description(&p.group_description)
            .set_vpc_id(p.vpc_id.clone())
            .tag_specifications(tag_specification(cx, ResourceType::SecurityGroup, &p.tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out
            .group_id
            .ok_or_else(|| ProviderError::with_code("InvalidResponse", "CreateSecurityGroup returned no group id"))?;
        let physical_id = if p.vpc_id.is_some() { id.clone() } else { name.clone() };
        let group = cx
            .created(&physical_id, async {
                cx.wait_visible(&format!("security group {id} to exist"), || describe(&ec2, &id)).await?;
                sync_rules(&ec2, &id, None, p).await?;
                describe(&ec2, &id).await
            })
            .await?;
        Ok(data(&physical_id, &group))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let g = describe(&ec2, physical_id).await?;
        let group_id = g.group_id.clone().unwrap_or_default();
        let live = group_rules(&ec2, &group_id).await?;
        let typed: Option<Props> = props::parse(&SPEC.schema, desired).ok();
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut out = BTreeMap::new();
        out.insert("GroupDescription".to_string(), json!(g.description.clone().unwrap_or_default()));
        if wants("GroupName") {
            out.insert("GroupName".into(), json!(g.group_name));
        }
        if wants("VpcId") {
            out.insert("VpcId".into(), json!(g.vpc_id));
        }
        let ingress = own_rules(&live, false);
        if !ingress.is_empty() || wants("SecurityGroupIngress") {
            let items = shown(&ingress, &desired_rules(typed.as_ref(), desired, false), false);
            out.insert("SecurityGroupIngress".into(), items);
        }
        if wants("SecurityGroupEgress") {
            let items = shown(&own_rules(&live, true), &desired_rules(typed.as_ref(), desired, true), true);
            out.insert("SecurityGroupEgress".into(), items);
        }
        Ok(Some(Live { data: data(physical_id, &g), properties: out, tags: Some(tag_map(g.tags())) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let g = describe(&ec2, physical_id).await?;
        let group_id = g.group_id.clone().unwrap_or_default();
        sync_rules(&ec2, &group_id, Some(old), new).await?;
        update_tags(cx, &ec2, &group_id, &tag_map(g.tags()), &new.tags).await?;
        Ok(data(physical_id, &describe(&ec2, &group_id).await?))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let g = describe(&ec2, physical_id).await?;
        let group_id = g.group_id.unwrap_or_default();
        cx.retrying(&[IN_USE], || {
            let call = ec2.delete_security_group().group_id(&group_id);
            async move { call.send().await.map(|_| ()).map_err(sdk_error) }
        })
        .await
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let ec2: aws_sdk_ec2::Client = cx.client();
        let mut filters = ownership_filters(cx);
        if let Some(name) = &p.group_name {
            filters.push(filter("group-name", name));
        }
        if let Some(vpc) = &p.vpc_id {
            filters.push(filter("vpc-id", vpc));
        }
        let groups =
            paging::all(ec2.describe_security_groups().set_filters(Some(filters)).into_paginator().items().send())
                .await?;
        let candidates = groups.iter().map(|g| (reference(p, g), tag_map(g.tags())));
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        let g = groups.iter().find(|g| reference(p, g) == id).expect("the owned group is one of the candidates");
        Ok(Some(data(&id, g)))
    }

    fn fixture(&self) -> Fixture {
        // The anchor is a group in the default VPC (no VpcId, so its `Ref` is its name):
        // its VpcId attribute gives the subject a VPC without a VPC type in this fixture,
        // and its id is the subject's source group (the database group takes 5432 from the
        // Lambda group in the Epistemix reference).
        let support = json!({"Anchor": {"Type": TYPE_NAME, "Properties": {
            "GroupDescription": "cairn conformance anchor",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.0.0.0/16"}]}}});
        // `Fn::Sub` rather than `Fn::GetAtt` for the create-only VpcId: the same text in
        // every step, so that only the replace step replaces.
        let vpc = json!({"Fn::Sub": "${Anchor.VpcId}"});
        let anchor = json!({"Fn::GetAtt": ["Anchor", "GroupId"]});
        let create = json!({
            "GroupDescription": "cairn conformance database",
            "VpcId": vpc,
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "SourceSecurityGroupId": anchor},
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.0.0.0/16", "Description": "the VPC"}
            ],
            "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}],
            "Tags": [{"Key": "Team", "Value": "conformance"}]
        });
        let update = json!({
            "GroupDescription": "cairn conformance database",
            "VpcId": vpc,
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "SourceSecurityGroupId": anchor},
                {"IpProtocol": "6", "FromPort": 5432, "ToPort": 5432, "CidrIp": "203.0.113.7/32", "Description": "a developer"}
            ],
            "SecurityGroupEgress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.0.0.0/16", "Description": "the database"}
            ],
            "Tags": [{"Key": "Team", "Value": "platform"}, {"Key": "Stage", "Value": "update"}]
        });
        let replace = json!({
            "GroupDescription": "cairn conformance database, moved",
            "VpcId": vpc,
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.0.0.0/16"}]
        });
        Fixture {
            support,
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            partial_after: Some("DescribeSecurityGroups"),
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        SecurityGroup::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn rules_are_normalised_and_checked() {
        let p = parse(json!({"GroupDescription": "d", "VpcId": "vpc-1", "SecurityGroupIngress": [
            {"IpProtocol": "6", "FromPort": "5432", "ToPort": 5432, "CidrIp": "10.0.0.0/16", "Description": ""},
            {"IpProtocol": "-1", "FromPort": 1, "ToPort": 2, "SourceSecurityGroupId": "sg-1"}]}))
        .unwrap();
        let rules = p.ingress().unwrap();
        assert_eq!(
            rules[0],
            Rule {
                protocol: "tcp".into(),
                from: 5432,
                to: 5432,
                peer: Peer::Cidr4("10.0.0.0/16".into()),
                description: None
            }
        );
        assert_eq!((rules[1].from, rules[1].to), (-1, -1));
        assert_eq!(Json::Object(rules[1].to_json(false)), json!({"IpProtocol": "-1", "SourceSecurityGroupId": "sg-1"}));
        assert_eq!(p.egress().unwrap(), None);

        let e = parse(json!({"GroupDescription": "d", "VpcId": "vpc-1", "SecurityGroupEgress": [
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "CidrIp": "0.0.0.0/0", "DestinationSecurityGroupId": "sg-1"}]}))
        .unwrap_err();
        assert!(
            e.message.starts_with("SecurityGroupEgress[0]: an egress rule takes exactly one of CidrIp"),
            "{}",
            e.message
        );
        let e = parse(json!({"GroupDescription": "d", "VpcId": "vpc-1", "SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "CidrIp": "0.0.0.0/0"},
            {"IpProtocol": "6", "FromPort": 1, "ToPort": 1, "CidrIp": "0.0.0.0/0", "Description": "again"}]}))
        .unwrap_err();
        assert!(e.message.starts_with("SecurityGroupIngress[1]: the same rule"), "{}", e.message);
        let e = parse(json!({"GroupDescription": "d", "SecurityGroupIngress": [
            {"IpProtocol": "tcp", "SourceSecurityGroupName": "web"}]}))
        .unwrap_err();
        assert!(e.message.contains("does not support `SourceSecurityGroupName`"), "{}", e.message);
    }

    #[test]
    fn rule_lists_compare_by_what_they_allow() {
        let t = SecurityGroup;
        let a = json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                       {"IpProtocol": "-1", "CidrIp": "10.0.0.0/8"}]);
        let b = json!([{"IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIp": "10.0.0.0/8"},
                       {"IpProtocol": "6", "FromPort": "443", "ToPort": 443, "CidrIp": "0.0.0.0/0"}]);
        assert!(t.equivalent("SecurityGroupEgress", &a, &b));
        let c =
            json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "x"}]);
        assert!(!t.equivalent("SecurityGroupEgress", &a, &c));
    }

    #[test]
    fn live_rules_show_in_the_template_spelling() {
        let live = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-1")
            .is_egress(false)
            .ip_protocol("tcp")
            .from_port(5432)
            .to_port(5432)
            .cidr_ipv4("10.0.0.0/16")
            .build();
        let other = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-2")
            .is_egress(false)
            .ip_protocol("-1")
            .from_port(-1)
            .to_port(-1)
            .cidr_ipv4("0.0.0.0/0")
            .build();
        let standalone = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-3")
            .is_egress(false)
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .cidr_ipv4("0.0.0.0/0")
            .tags(aws_sdk_ec2::types::Tag::builder().key("cairn:logical-id").value("Ssh").build())
            .build();
        let rules = own_rules(&[live, other, standalone], false);
        assert_eq!(rules.len(), 2);
        let desired = json!({"GroupDescription": "d", "VpcId": "vpc-1", "SecurityGroupIngress": [
            {"IpProtocol": "6", "FromPort": "5432", "ToPort": 5432, "CidrIp": "10.0.0.0/16"}]});
        let p = parse(desired.clone()).unwrap();
        let shown = shown(&rules, &desired_rules(Some(&p), &desired, false), false);
        assert_eq!(
            shown,
            json!([{"IpProtocol": "6", "FromPort": "5432", "ToPort": 5432, "CidrIp": "10.0.0.0/16"},
                   {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}])
        );
    }

    #[test]
    fn group_names_are_generated_and_checked() {
        let ctx = crate::test_ctx(TYPE_NAME, "Database");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let p = parse(json!({"GroupDescription": "d", "VpcId": "vpc-1"})).unwrap();
        assert_eq!(group_name(&cx, &p), "dev-Database-abcdefghijkl");
        let e = parse(json!({"GroupDescription": "d", "GroupName": "sg-db"})).unwrap_err();
        assert!(e.message.starts_with("GroupName: EC2 refuses"), "{}", e.message);
    }
}
