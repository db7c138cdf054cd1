//! `AWS::DSQL::Cluster`: an Aurora DSQL cluster (single-Region, or one side of a
//! multi-Region pair).
//!
//! | property | notes |
//! | --- | --- |
//! | `DeletionProtectionEnabled` | boolean; AWS's default when left out is `true` (the schema default cairn sets on the loaded schema); cairn's deletion protection (below) |
//! | `KmsEncryptionKey` | string, write-only: the KMS key (id, ARN or alias ARN) that encrypts the cluster; AWS's own key when left out; an update is `UpdateCluster` |
//! | `MultiRegionProperties` | `{WitnessRegion, Clusters}`: the witness Region, and the ARNs of the peer clusters (not this one) |
//! | `PolicyDocument` | the cluster's resource policy, JSON text (the schema's type), compared by meaning |
//! | `Tags` | `[{Key, Value}]` |
//!
//! - `Ref`: the cluster identifier.
//! - `Fn::GetAtt`: `ResourceArn`, `Identifier`, `CreationTime`, `Status`, `Endpoint`,
//!   `VpcEndpoint`, `VpcEndpointServiceName`, `EncryptionDetails` (an object:
//!   `EncryptionType`, `EncryptionStatus`, `KmsKeyArn`), `PolicyVersion` (when there is a
//!   policy).
//!
//! `create` is `CreateCluster` with a `ClientToken` from the journaled seed (a retried or
//! replayed create gets the same cluster), then a wait, with progress, until the cluster is
//! `ACTIVE` (or `PENDING_SETUP`: a cluster of a multi-Region pair waits there for its peer,
//! which a `Cairn::DSQL::ClusterPeering` sets). An update is `UpdateCluster` for deletion
//! protection, the KMS key and the multi-Region properties, `PutClusterPolicy` or
//! `DeleteClusterPolicy`, and `UntagResource`/`TagResource` against the live tags, then the
//! same wait. `delete` is `DeleteCluster`, then a wait until `GetCluster` answers that the
//! cluster is gone. `find` (after a crash mid-create) adopts the cluster that carries this
//! resource's ownership tags (`ListClusters`, then `ListTagsForResource`).
//!
//! Peers: where the template's `MultiRegionProperties` has no `Clusters` (the peering is
//! made by `Cairn::DSQL::ClusterPeering` resources, which break the dependency cycle of two
//! clusters naming each other), `read` does not report the live peers, so the peering is
//! not drift of the cluster, and an update keeps the live peers.
//!
//! Deletion: `DeletionProtectionEnabled` is the type's `TypeSchema::deletion_protection`:
//! while the recorded properties turn it on, a `destroy` (or an `up` that replaces or
//! removes the cluster) is refused before it changes anything, saying how to lift it. A cluster protected because the template
//! leaves the property out (AWS's default) is refused by DSQL with `ConflictException`,
//! and the error says the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dsql::operation::get_cluster::GetClusterOutput;
use aws_sdk_dsql::types::{ClusterStatus, MultiRegionProperties as SdkMultiRegion};
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::NOT_FOUND;
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, Spec, Tag, Typed};
use crate::policy_doc;
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::DSQL::Cluster";

pub(crate) static SPEC: Spec = Spec {
    schema: LazyLock::new(|| {
        let mut s = crate::schema::load(crate::schema::DSQL_CLUSTER, None, &["Status", "PolicyVersion"]);
        s.deletion_protection = Some("DeletionProtectionEnabled".to_string());
        // AWS protects a new cluster unless told otherwise.
        s.defaults.insert("DeletionProtectionEnabled".to_string(), json!(true));
        s
    }),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60 * 60),
    reference: "the cluster identifier",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    deletion_protection_enabled: Option<bool>,
    kms_encryption_key: Option<String>,
    multi_region_properties: Option<MultiRegion>,
    #[serde(default, deserialize_with = "optional_document")]
    policy_document: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MultiRegion {
    witness_region: Option<String>,
    clusters: Option<Vec<String>>,
}

fn optional_document<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    policy_doc::text(d).map(Some)
}

impl Props {
    fn protected(&self) -> bool {
        self.deletion_protection_enabled.unwrap_or(true)
    }
}

/// The `AWS::DSQL::Cluster` resource type.
pub struct Cluster;

impl Cluster {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Cluster> {
        Typed::new(Cluster, aws)
    }
}

pub(crate) async fn get(dsql: &aws_sdk_dsql::Client, id: &str) -> Result<GetClusterOutput, ProviderError> {
    dsql.get_cluster().identifier(id).send().await.map_err(sdk_error)
}

/// The peers a cluster lists: its `clusters` without itself (GetCluster lists the cluster
/// among them).
pub(crate) fn peers(c: &GetClusterOutput) -> Vec<String> {
    let mut out: Vec<String> = c
        .multi_region_properties
        .as_ref()
        .and_then(|m| m.clusters.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| *a != c.arn)
        .collect();
    out.sort();
    out
}

/// Wait until the cluster settles: `ACTIVE`, or `PENDING_SETUP` (waiting for a peer).
pub(crate) async fn settled(cx: &Cx<'_>, dsql: &aws_sdk_dsql::Client, id: &str) -> Result<(), ProviderError> {
    cx.wait_until(&format!("DSQL cluster {id} to be active"), || async {
        let c = get(dsql, id).await?;
        match c.status {
            ClusterStatus::Active | ClusterStatus::PendingSetup => Ok(Some(())),
            ClusterStatus::Failed => Err(ProviderError::with_code(
                "ClusterFailed",
                format!("DSQL cluster {id} is FAILED; look at it in the DSQL console, then delete it (cairn destroy) or run `cairn up` again"),
            )),
            _ => Ok(None),
        }
    })
    .await
}

async fn live_tags(dsql: &aws_sdk_dsql::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = dsql.list_tags_for_resource().resource_arn(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().collect())
}

/// The cluster's resource policy and its version; `None` when it has none.
async fn policy(dsql: &aws_sdk_dsql::Client, id: &str) -> Result<Option<(String, String)>, ProviderError> {
    match dsql.get_cluster_policy().identifier(id).send().await.map_err(sdk_error) {
        Ok(out) => Ok(Some((out.policy, out.policy_version))),
        // The cluster exists (it was just read): "not found" is its policy.
        Err(e) if e.code.as_deref() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e),
    }
}

async fn data(dsql: &aws_sdk_dsql::Client, c: &GetClusterOutput) -> Result<ResourceData, ProviderError> {
    let mut attributes = BTreeMap::from([
        ("ResourceArn".to_string(), Value::from(c.arn.as_str())),
        ("Identifier".to_string(), Value::from(c.identifier.as_str())),
        ("Status".to_string(), Value::from(c.status.as_str())),
        ("CreationTime".to_string(), Value::from(c.creation_time.to_string())),
    ]);
    if let Some(e) = &c.endpoint {
        attributes.insert("Endpoint".into(), Value::from(e.as_str()));
    }
    if let Some(e) = &c.encryption_details {
        let mut details = json!({
            "EncryptionType": e.encryption_type.as_str(),
            "EncryptionStatus": e.encryption_status.as_str(),
        });
        if let Some(k) = &e.kms_key_arn {
            details["KmsKeyArn"] = json!(k);
        }
        attributes.insert("EncryptionDetails".into(), Value::from_json(&details));
    }
    let vpc = dsql.get_vpc_endpoint_service_name().identifier(&c.identifier).send().await.map_err(sdk_error)?;
    attributes.insert("VpcEndpointServiceName".into(), Value::from(vpc.service_name.as_str()));
    if let Some(e) = vpc.cluster_vpc_endpoint {
        attributes.insert("VpcEndpoint".into(), Value::from(e));
    }
    if let Some((_, version)) = policy(dsql, &c.identifier).await? {
        attributes.insert("PolicyVersion".into(), Value::from(version));
    }
    Ok(ResourceData { physical_id: c.identifier.clone(), attributes })
}

fn sdk_multi_region(m: &MultiRegion, keep_peers: Option<Vec<String>>) -> SdkMultiRegion {
    SdkMultiRegion::builder()
        .set_witness_region(m.witness_region.clone())
        .set_clusters(m.clusters.clone().or(keep_peers))
        .build()
}

/// A refused `DeleteCluster` of a cluster protected in AWS, saying how to lift it.
fn protected_in_aws(id: &str, mut e: ProviderError) -> ProviderError {
    if e.code.as_deref() == Some("ConflictException") && e.message.to_lowercase().contains("deletion protection") {
        e.message = format!(
            "DSQL cluster {id} is protected from deletion in AWS (`DeletionProtectionEnabled` is true, AWS's default when the template leaves it out); to delete it, set `DeletionProtectionEnabled: false`, run `cairn up`, then run this again"
        );
    }
    e
}

#[async_trait]
impl AwsType for Cluster {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "PolicyDocument" => policy_doc::equivalent(old, new),
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        let tags: HashMap<String, String> = cx.tags(&p.tags).into_iter().collect();
        let out = dsql
            .create_cluster()
            .set_deletion_protection_enabled(p.deletion_protection_enabled)
            .set_kms_encryption_key(p.kms_encryption_key.clone())
            .set_multi_region_properties(p.multi_region_properties.as_ref().map(|m| sdk_multi_region(m, None)))
            .set_policy(p.policy_document.clone())
            .set_tags(Some(tags))
            .client_token(cx.token("CreateCluster", 64))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out.identifier;
        cx.created(&id, async {
            settled(cx, &dsql, &id).await?;
            data(&dsql, &get(&dsql, &id).await?).await
        })
        .await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        let c = get(&dsql, physical_id).await?;
        if matches!(c.status, ClusterStatus::Deleting | ClusterStatus::Deleted | ClusterStatus::PendingDelete) {
            return Ok(None);
        }
        let mut props = BTreeMap::new();
        props.insert("DeletionProtectionEnabled".to_string(), json!(c.deletion_protection_enabled));
        if let Some(m) = &c.multi_region_properties {
            let mut shown = serde_json::Map::new();
            if let Some(w) = &m.witness_region {
                shown.insert("WitnessRegion".into(), json!(w));
            }
            // Peers the template names are compared; those a peering resource set are not
            // the cluster's to report.
            if desired.pointer("/MultiRegionProperties/Clusters").is_some() {
                shown.insert("Clusters".into(), json!(peers(&c)));
            }
            if !shown.is_empty() {
                props.insert("MultiRegionProperties".into(), Json::Object(shown));
            }
        }
        if let Some((text, _)) = policy(&dsql, physical_id).await? {
            let live = Json::String(text);
            props.insert("PolicyDocument".into(), policy_doc::prefer_desired(&live, desired.get("PolicyDocument")));
        }
        let tags = live_tags(&dsql, &c.arn).await?;
        Ok(Some(Live { data: data(&dsql, &c).await?, properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        let live = get(&dsql, physical_id).await?;
        let protection = (old.protected() != new.protected()).then(|| new.protected());
        let key = new.kms_encryption_key.clone().filter(|_| old.kms_encryption_key != new.kms_encryption_key);
        let multi_region = match &new.multi_region_properties {
            Some(m) if old.multi_region_properties.as_ref() != Some(m) => Some(sdk_multi_region(m, Some(peers(&live)))),
            _ => None,
        };
        if protection.is_some() || key.is_some() || multi_region.is_some() {
            // No token of cairn's: a later update back to the same values must apply, not
            // replay this answer; the SDK makes a token per call.
            dsql.update_cluster()
                .identifier(physical_id)
                .set_deletion_protection_enabled(protection)
                .set_kms_encryption_key(key)
                .set_multi_region_properties(multi_region)
                .send()
                .await
                .map_err(sdk_error)?;
            settled(cx, &dsql, physical_id).await?;
        }
        let same_policy = match (&old.policy_document, &new.policy_document) {
            (Some(a), Some(b)) => policy_doc::equivalent(&Json::String(a.clone()), &Json::String(b.clone())),
            (a, b) => a == b,
        };
        if !same_policy {
            match &new.policy_document {
                Some(doc) => {
                    dsql.put_cluster_policy().identifier(physical_id).policy(doc).send().await.map_err(sdk_error)?;
                }
                None => {
                    dsql.delete_cluster_policy().identifier(physical_id).send().await.map_err(sdk_error)?;
                }
            }
        }
        let diff = cx.tag_update(&live_tags(&dsql, &live.arn).await?, &new.tags);
        let (client, arn) = (&dsql, live.arn.as_str());
        diff.apply(
            |keys| async move {
                client.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                let set: HashMap<String, String> = set.into_iter().collect();
                client.tag_resource().resource_arn(arn).set_tags(Some(set)).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        data(&dsql, &get(&dsql, physical_id).await?).await
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        dsql.delete_cluster()
            .identifier(physical_id)
            .client_token(cx.token(&format!("DeleteCluster {physical_id}"), 64))
            .send()
            .await
            .map_err(|e| protected_in_aws(physical_id, sdk_error(e)))?;
        cx.wait_until(&format!("DSQL cluster {physical_id} to be deleted"), || async {
            match cx.found(get(&dsql, physical_id).await)? {
                None => Ok(Some(())),
                Some(c) if c.status == ClusterStatus::Deleted => Ok(Some(())),
                Some(_) => Ok(None),
            }
        })
        .await
    }

    async fn find(&self, cx: &Cx<'_>, _p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        let clusters = paging::all(dsql.list_clusters().into_paginator().items().send()).await?;
        let mut candidates = Vec::new();
        for c in clusters {
            if let Some(tags) = cx.found(live_tags(&dsql, &c.arn).await)? {
                candidates.push((c.identifier, tags));
            }
        }
        let Some(id) = ids::owned(cx.ctx, candidates)? else { return Ok(None) };
        Ok(Some(data(&dsql, &get(&dsql, &id).await?).await?))
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({
                "DeletionProtectionEnabled": false,
                "Tags": [{"Key": "team", "Value": "platform"}]
            }),
            update: Some(json!({
                "DeletionProtectionEnabled": false,
                "PolicyDocument": json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "dsql:DbConnect",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
                .to_string(),
                "Tags": [{"Key": "team", "Value": "data"}]
            })),
            replace: None,
            nested_replace: None,
            // The create is one call (`CreateCluster`, with the tags and the policy); the
            // wait that follows only looks.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Cluster::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn protection_is_on_unless_turned_off() {
        assert_eq!(SPEC.schema.deletion_protection.as_deref(), Some("DeletionProtectionEnabled"));
        assert!(parse(json!({})).unwrap().protected());
        assert!(!parse(json!({"DeletionProtectionEnabled": false})).unwrap().protected());
        let e = protected_in_aws(
            "abc",
            ProviderError::with_code("ConflictException", "Deletion protection is enabled for this cluster."),
        );
        assert!(e.message.contains("set `DeletionProtectionEnabled: false`, run `cairn up`"), "{}", e.message);
    }

    #[test]
    fn multi_region_properties_and_policies_are_typed() {
        let p = parse(json!({"MultiRegionProperties": {"WitnessRegion": "us-west-2"}, "PolicyDocument": {"Version": "2012-10-17"}}))
            .unwrap();
        let m = p.multi_region_properties.unwrap();
        assert_eq!(m.witness_region.as_deref(), Some("us-west-2"));
        assert_eq!(m.clusters, None);
        assert_eq!(p.policy_document.as_deref(), Some(r#"{"Version":"2012-10-17"}"#));
        let e = parse(json!({"MultiRegionProperties": {"Witness": "us-west-2"}})).unwrap_err();
        assert!(e.message.starts_with("MultiRegionProperties.Witness"), "{}", e.message);
    }
}
