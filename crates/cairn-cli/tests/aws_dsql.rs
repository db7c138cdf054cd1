//! Aurora DSQL on the emulator, through the CLI: a multi-Region pair (a cluster in
//! us-east-1 and one in us-east-2, witnessed from us-west-2) peered by a
//! `Cairn::DSQL::ClusterPeering` per side, with no drift after `up`; and deletion
//! protection: `destroy` is refused before it deletes anything while a cluster's
//! protection is on, naming it, until the protection is lifted; a cluster protected by
//! AWS's default (found only when `DeleteCluster` is refused) fails its step, saying how
//! to lift it. Read back
//! through aws-sdk-dsql.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique, Emu};
use common::Proj;

const PAIR: &str = r#"
Resources:
  East:
    Type: AWS::DSQL::Cluster
    Properties:
      DeletionProtectionEnabled: false
      MultiRegionProperties: {WitnessRegion: us-west-2}
  Ohio:
    Type: AWS::DSQL::Cluster
    Region: us-east-2
    Properties:
      DeletionProtectionEnabled: false
      MultiRegionProperties: {WitnessRegion: us-west-2}
  EastPeering:
    Type: Cairn::DSQL::ClusterPeering
    Properties:
      Identifier: !Ref East
      Clusters: [!GetAtt Ohio.ResourceArn]
      WitnessRegion: us-west-2
  OhioPeering:
    Type: Cairn::DSQL::ClusterPeering
    Region: us-east-2
    Properties:
      Identifier: !Ref Ohio
      Clusters: [!GetAtt East.ResourceArn]
      WitnessRegion: us-west-2
Outputs:
  EastEndpoint:
    Value: !GetAtt East.Endpoint
"#;

fn dsql(emu: &Emu, region: &str) -> aws_sdk_dsql::Client {
    aws_sdk_dsql::Client::new(&emu.in_region(region))
}

/// The cluster's peers (its `clusters` without itself), or the error code DSQL answers.
fn peers(emu: &Emu, client: &aws_sdk_dsql::Client, id: &str) -> Result<Vec<String>, String> {
    let c = emu
        .block(client.get_cluster().identifier(id).send())
        .map_err(|e| aws_sdk_dsql::error::ProvideErrorMetadata::code(&e).unwrap_or_default().to_string())?;
    let arn = c.arn.clone();
    Ok(c.multi_region_properties
        .and_then(|m| m.clusters)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| *a != arn)
        .collect())
}

#[test]
fn a_pair_across_regions_is_peered_from_both_sides_without_drift() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("dsql-pair"), PAIR, "");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    let id = |r: &str| state["resources"][r]["physical_id"].as_str().expect("a cluster id").to_string();
    let arn = |r: &str| state["resources"][r]["attributes"]["ResourceArn"].as_str().expect("an ARN").to_string();
    let (east, ohio) = (dsql(&emu, "us-east-1"), dsql(&emu, "us-east-2"));
    assert_eq!(peers(&emu, &east, &id("East")), Ok(vec![arn("Ohio")]));
    assert_eq!(peers(&emu, &ohio, &id("Ohio")), Ok(vec![arn("East")]));
    assert!(arn("Ohio").contains(":us-east-2:"), "{}", arn("Ohio"));
    // The peers the peering resources set are not drift of the clusters.
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert_eq!(peers(&emu, &east, &id("East")), Err("ResourceNotFoundException".to_string()));
    assert_eq!(peers(&emu, &ohio, &id("Ohio")), Err("ResourceNotFoundException".to_string()));
    assert_eq!(p.state("dev")["resources"], serde_json::json!({}));
}

const PROTECTED: &str = r#"
Parameters:
  Protect:
    Type: String
    AllowedValues: ["true", "false"]
Resources:
  Db:
    Type: AWS::DSQL::Cluster
    Properties:
      DeletionProtectionEnabled: !Ref Protect
  Other:
    Type: AWS::DSQL::Cluster
    Properties:
      DeletionProtectionEnabled: false
"#;

/// `destroy` is refused as a whole while the cluster's protection is on: the unrelated
/// cluster is not deleted either.
#[test]
fn a_protected_cluster_survives_destroy_until_the_protection_is_lifted() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("dsql-protect"), PROTECTED, "parameters:\n  Protect: \"true\"\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    let id = state["resources"]["Db"]["physical_id"].as_str().expect("a cluster id").to_string();
    let other = state["resources"]["Other"]["physical_id"].as_str().expect("a cluster id").to_string();
    let client = dsql(&emu, "us-east-1");
    let out = p.run(&["-s", "dev", "destroy", "--yes"]).code(1);
    assert!(
        out.stderr.contains(&format!(
            "error: Db (AWS::DSQL::Cluster): delete refused: DeletionProtected: Db ({id}) is protected from deletion in AWS"
        )),
        "{out}"
    );
    assert!(out.stderr.contains("set `DeletionProtectionEnabled` to false, run `cairn up`"), "{out}");
    assert!(out.stderr.contains("destroy refused: 1 resource is protected from deletion in AWS"), "{out}");
    assert!(out.stderr.contains("nothing was changed"), "{out}");
    assert_eq!(peers(&emu, &client, &id), Ok(vec![]), "the protected cluster is still there");
    assert_eq!(peers(&emu, &client, &other), Ok(vec![]), "and so is the unrelated one");
    assert_eq!(p.state("dev")["resources"].as_object().map(|r| r.len()), Some(2));

    p.run(&["-s", "dev", "config", "set", "Protect", "false"]).ok();
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert_eq!(peers(&emu, &client, &id), Err("ResourceNotFoundException".to_string()));
    assert_eq!(peers(&emu, &client, &other), Err("ResourceNotFoundException".to_string()));
}

#[test]
fn a_cluster_protected_by_the_aws_default_says_how_to_lift_it() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("dsql-default"), "Resources:\n  Db:\n    Type: AWS::DSQL::Cluster\n", "");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    // AWS protects a cluster unless told otherwise: no drift from leaving it out.
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();
    let id = p.state("dev")["resources"]["Db"]["physical_id"].as_str().expect("a cluster id").to_string();
    let out = p.run(&["-s", "dev", "destroy", "--yes"]).code(1);
    assert!(out.stderr.contains("DeleteCluster: ConflictException"), "{out}");
    assert!(out.stderr.contains("AWS's default when the template leaves it out"), "{out}");
    assert!(out.stderr.contains("set `DeletionProtectionEnabled: false`, run `cairn up`"), "{out}");
    p.write(
        "template.yaml",
        "Resources:\n  Db:\n    Type: AWS::DSQL::Cluster\n    Properties:\n      DeletionProtectionEnabled: false\n",
    );
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert_eq!(peers(&emu, &dsql(&emu, "us-east-1"), &id), Err("ResourceNotFoundException".to_string()));
}
