//! Amazon Aurora DSQL types: the cluster (`AWS::DSQL::Cluster`) and cairn's own peering of
//! two clusters across Regions (`Cairn::DSQL::ClusterPeering`).

pub mod cluster;
pub mod cluster_peering;

/// DSQL's answer when a cluster (or its policy) does not exist.
pub(crate) const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
