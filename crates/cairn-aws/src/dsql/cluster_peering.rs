//! `Cairn::DSQL::ClusterPeering`: cairn's own type (not CloudFormation's) for one side of
//! an Aurora DSQL multi-Region pair: the peers and witness Region of one cluster.
//!
//! | property | notes |
//! | --- | --- |
//! | `Identifier` | string, required, create-only: this side's cluster (`Ref` of an `AWS::DSQL::Cluster`), in the resource's Region |
//! | `Clusters` | set of ARNs, required: the peer clusters (not this side's) |
//! | `WitnessRegion` | string, required: the pair's witness Region, the same as the clusters' own |
//!
//! - `Ref`: the cluster identifier.
//! - `Fn::GetAtt`: none.
//!
//! Why a type of its own: each cluster of a pair must name the other in its
//! `MultiRegionProperties.Clusters`, which in a template is a dependency cycle. As the DSQL
//! user guide's sequence does (create A with a witness Region, create B, then update A with
//! B's ARN), and as Terraform's `aws_dsql_cluster_peering` and Pulumi's
//! `aws.dsql.ClusterPeering` do, the clusters name only their witness Region and a peering
//! resource per side, which depends on both clusters, sets the peers. The schema is
//! cairn's, in the registry format (`schemas/cairn-dsql-clusterpeering.json`).
//!
//! `create` and `update` are `UpdateCluster` on this side (`multiRegionProperties`:
//! the witness Region and the peers), then a wait, with progress, while the cluster is
//! `UPDATING` or `CREATING`, until it is `ACTIVE` or `PENDING_SETUP`. It does not wait for
//! the other side: the two sides' peerings are made in parallel, each with its own update,
//! and waiting here for `ACTIVE` would deadlock a pair whose other side comes later.
//! `read` is `GetCluster`: the peers are the cluster's `clusters` without itself
//! (`GetCluster` lists the cluster among them), compared as a set; a cluster being deleted
//! or gone means the peering is gone. `find` (after a crash mid-create) adopts the cluster
//! when it already lists the peers, the mark of an update that took effect.
//!
//! `delete` changes nothing in AWS: DSQL has no call that undoes a peering while both
//! clusters live (a multi-Region cluster is taken apart by deleting its clusters), so, as
//! Terraform's resource does, cairn forgets the peering and the clusters stay peered
//! until they are deleted. Changing `Identifier` therefore replaces the resource without
//! un-peering the old cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dsql::types::{ClusterStatus, MultiRegionProperties};
use cairn_core::provider::{ProviderError, ResourceData, Step};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::cluster::{get, peers, settled};
use super::NOT_FOUND;
use crate::kit::{AwsType, Cx, Fixture, Live, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "Cairn::DSQL::ClusterPeering";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::CAIRN_DSQL_CLUSTER_PEERING, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60 * 60),
    reference: "the cluster identifier",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    identifier: String,
    clusters: BTreeSet<String>,
    witness_region: String,
}

/// The `Cairn::DSQL::ClusterPeering` resource type.
pub struct ClusterPeering;

impl ClusterPeering {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<ClusterPeering> {
        Typed::new(ClusterPeering, aws)
    }
}

fn data(id: &str) -> ResourceData {
    ResourceData { physical_id: id.to_string(), attributes: BTreeMap::new() }
}

/// `UpdateCluster` of this side with the peers and the witness Region, then the wait.
async fn peer(cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
    let dsql: aws_sdk_dsql::Client = cx.client();
    let properties = MultiRegionProperties::builder()
        .witness_region(&p.witness_region)
        .set_clusters(Some(p.clusters.iter().cloned().collect()))
        .build();
    // No token of cairn's: the same peers set again later (A, then B, then A) must apply,
    // not replay the first answer; the SDK makes a token per call.
    dsql.update_cluster()
        .identifier(&p.identifier)
        .multi_region_properties(properties)
        .send()
        .await
        .map_err(sdk_error)?;
    settled(cx, &dsql, &p.identifier).await?;
    Ok(data(&p.identifier))
}

#[async_trait]
impl AwsType for ClusterPeering {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        peer(cx, p).await
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, _desired: &Json) -> Result<Option<Live>, ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        let c = get(&dsql, physical_id).await?;
        if matches!(c.status, ClusterStatus::Deleting | ClusterStatus::Deleted | ClusterStatus::PendingDelete) {
            return Ok(None);
        }
        let mut props = BTreeMap::from([
            ("Identifier".to_string(), json!(c.identifier)),
            ("Clusters".to_string(), json!(peers(&c))),
        ]);
        if let Some(w) = c.multi_region_properties.as_ref().and_then(|m| m.witness_region.clone()) {
            props.insert("WitnessRegion".into(), json!(w));
        }
        Ok(Some(Live { data: data(physical_id), properties: props, tags: None }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _physical_id: &str,
        _old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        peer(cx, new).await
    }

    async fn delete(&self, _cx: &Cx<'_>, _physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        // DSQL cannot undo a peering while both clusters live: forgotten (see the module doc).
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let dsql: aws_sdk_dsql::Client = cx.client();
        let c = get(&dsql, &p.identifier).await?;
        let listed: BTreeSet<String> = peers(&c).into_iter().collect();
        Ok((listed == p.clusters).then(|| data(&p.identifier)))
    }

    fn fixture(&self) -> Fixture {
        // Two clusters here (the stack's Region, us-east-1 on the emulator) and two in
        // us-east-2, witnessed from us-west-2, as the system runs.
        let cluster = |region: Option<&str>| {
            let mut c = json!({"Type": "AWS::DSQL::Cluster", "Properties": {
                "DeletionProtectionEnabled": false,
                "MultiRegionProperties": {"WitnessRegion": "us-west-2"}}});
            if let Some(r) = region {
                c["Region"] = json!(r);
            }
            c
        };
        let arn = |id: &str| json!({"Fn::GetAtt": [id, "ResourceArn"]});
        Fixture {
            support: json!({
                "Here": cluster(None),
                "HereToo": cluster(None),
                "There": cluster(Some("us-east-2")),
                "ThereToo": cluster(Some("us-east-2")),
                // The other side of the pair, peered from there.
                "ThereSide": {"Type": TYPE_NAME, "Region": "us-east-2", "Properties": {
                    "Identifier": {"Ref": "There"}, "Clusters": [arn("Here")], "WitnessRegion": "us-west-2"}}
            }),
            create: json!({"Identifier": {"Ref": "Here"}, "Clusters": [arn("There")], "WitnessRegion": "us-west-2"}),
            update: Some(
                json!({"Identifier": {"Ref": "Here"}, "Clusters": [arn("ThereToo")], "WitnessRegion": "us-west-2"}),
            ),
            replace: Some(
                json!({"Identifier": {"Ref": "HereToo"}, "Clusters": [arn("ThereToo")], "WitnessRegion": "us-west-2"}),
            ),
            nested_replace: None,
            // The create is one call (`UpdateCluster`) and a wait that only looks.
            partial_after: None,
            unverified: &[(
                Step::Replace,
                "by design, not the emulator: the old peering's delete forgets it (DSQL cannot undo a peering while both clusters live), so the old cluster still lists its peers and never reads back as gone",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        ClusterPeering::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn the_schema_is_cairns_own() {
        let s = &SPEC.schema;
        assert_eq!(s.type_name, TYPE_NAME);
        assert_eq!(s.create_only, ["Identifier"]);
        assert!(s.unordered_lists.iter().any(|p| p == "Clusters"), "{:?}", s.unordered_lists);
        assert!(!s.taggable);
        assert!(s.attributes.is_empty());
        let p = parse(json!({
            "Identifier": "abcdefghijklmnopqrstuvwxyz",
            "Clusters": ["arn:aws:dsql:us-east-2:123456789012:cluster/zyxwvutsrqponmlkjihgfedcba"],
            "WitnessRegion": "us-west-2"
        }))
        .unwrap();
        assert_eq!(p.clusters.len(), 1);
        let e = parse(json!({"Identifier": "a", "Clusters": [], "Witness": "us-west-2"})).unwrap_err();
        assert!(e.message.contains("Witness"), "{}", e.message);
    }
}
