//! Acceptance: drift on the emulator. A bucket's versioning is suspended and its encryption
//! configuration deleted through the SDK, and another bucket deleted, behind cairn's back.
//! A plain `preview` does not see it; `preview --refresh` shows it as drift (and exits 3
//! with `--expect-no-changes`) without writing the state or calling a mutating API;
//! `up --refresh` sets it back (read back through the SDK); then the refreshing preview is
//! empty.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use aws::{emulator, unique, Emu};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::Proj;

const TEMPLATE: &str = r#"
Resources:
  Data:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: "aws:kms"}
            BucketKeyEnabled: true
  Logs:
    Type: AWS::S3::Bucket
"#;

fn versioning(emu: &Emu, bucket: &str) -> Option<String> {
    let v = emu.block(emu.s3.get_bucket_versioning().bucket(bucket).send()).expect("GetBucketVersioning");
    v.status().map(|s| s.as_str().to_string())
}

/// The bucket's default encryption algorithm and whether it uses a bucket key, or `None`
/// without an encryption configuration.
fn encryption(emu: &Emu, bucket: &str) -> Option<(String, Option<bool>)> {
    match emu.block(emu.s3.get_bucket_encryption().bucket(bucket).send()) {
        Ok(out) => {
            let rule = out.server_side_encryption_configuration().and_then(|c| c.rules().first().cloned())?;
            let alg = rule.apply_server_side_encryption_by_default().map(|d| d.sse_algorithm().as_str().to_string())?;
            Some((alg, rule.bucket_key_enabled()))
        }
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => None,
        Err(e) => panic!("GetBucketEncryption {bucket}: {e:?}"),
    }
}

/// Every file under the project's `.cairn/` and its bytes.
fn stored(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("entry");
            if e.file_type().expect("file type").is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(root).expect("under root").to_string_lossy().to_string();
                out.insert(rel, std::fs::read(e.path()).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The AWS operations of `CAIRN_COUNT_API_CALLS=1`'s line on stderr.
fn api_calls(stderr: &str) -> Vec<String> {
    let line = stderr.lines().find_map(|l| l.strip_prefix("aws-api-calls: ")).expect("an aws-api-calls line");
    let inner = line.split_once('(').and_then(|(_, r)| r.strip_suffix(')')).unwrap_or("");
    // `s3.GetBucketCors=1` -> `GetBucketCors`
    inner
        .split_whitespace()
        .map(|op| op.split('=').next().unwrap_or(op))
        .map(|op| op.rsplit('.').next().unwrap_or(op).to_string())
        .collect()
}

#[test]
fn drift_is_shown_by_preview_refresh_and_repaired_by_up_refresh() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("drift"), TEMPLATE, "parameters: {}\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    let data = state["resources"]["Data"]["physical_id"].as_str().expect("Data").to_string();
    let logs = state["resources"]["Logs"]["physical_id"].as_str().expect("Logs").to_string();
    assert_eq!(versioning(&emu, &data).as_deref(), Some("Enabled"));
    assert_eq!(encryption(&emu, &data), Some(("aws:kms".to_string(), Some(true))));
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();

    // Behind cairn's back.
    emu.block(
        emu.s3
            .put_bucket_versioning()
            .bucket(&data)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Suspended).build(),
            )
            .send(),
    )
    .expect("PutBucketVersioning");
    emu.block(emu.s3.delete_bucket_encryption().bucket(&data).send()).expect("DeleteBucketEncryption");
    emu.block(emu.s3.delete_bucket().bucket(&logs).send()).expect("DeleteBucket");
    assert_eq!(versioning(&emu, &data).as_deref(), Some("Suspended"));
    assert_ne!(encryption(&emu, &data).map(|e| e.0), Some("aws:kms".to_string()));
    assert!(!emu.bucket_exists(&logs));

    // A plain preview reads only the state: it does not see the drift.
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    let before = stored(&p.join(".cairn"));
    let output = Proj::cmd_in(p.path(), &["-s", "dev", "preview", "--refresh", "--expect-no-changes"])
        .env("CAIRN_COUNT_API_CALLS", "1")
        .output()
        .expect("run cairn");
    let out = common::Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
    .code(3);
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("~  Data") && l.ends_with("update  [BucketEncryption, VersioningConfiguration]"))
        .unwrap_or_else(|| panic!("no update line for Data:\n{out}"));
    assert_eq!(
        lines[at + 1],
        "! changed outside cairn: BucketEncryption, VersioningConfiguration; up will set it back",
        "{out}"
    );
    let at = lines.iter().position(|l| l.starts_with("+  Logs")).unwrap_or_else(|| panic!("no create of Logs:\n{out}"));
    assert_eq!(lines[at + 1], "! deleted outside cairn; up will create it again", "{out}");
    assert!(out.stdout.contains("Drift: 1 resource changed and 1 deleted outside cairn (marked !)."), "{out}");
    assert!(out.stderr.contains("Read 2 resources in "), "{out}");
    // Reading never mutates: only Get/Head/List calls, and the state is byte-identical.
    for op in api_calls(&out.stderr) {
        assert!(["Get", "Head", "List"].iter().any(|p| op.starts_with(p)), "preview --refresh called {op}:\n{out}");
    }
    assert_eq!(stored(&p.join(".cairn")), before, "preview --refresh wrote the state");
    assert_eq!(versioning(&emu, &data).as_deref(), Some("Suspended"));

    // The same in JSON, with the drifted properties as plan changes are shaped.
    let j = p.run(&["-s", "dev", "preview", "--refresh", "--json"]).ok().json();
    let step = |id: &str| j["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).cloned().expect("a step");
    let d = step("Data");
    assert_eq!(d["action"], "update");
    assert_eq!(d["drift"]["kind"], "changed");
    let drifted: Vec<&str> =
        d["drift"]["changes"].as_array().unwrap().iter().map(|c| c["property"].as_str().unwrap()).collect();
    assert_eq!(drifted, ["BucketEncryption", "VersioningConfiguration"]);
    let v = &d["drift"]["changes"][1];
    assert_eq!((&v["old"]["Status"], &v["new"]["Status"]), (&"Enabled".into(), &"Suspended".into()));
    assert_eq!(v["forces_replacement"], false);
    assert_eq!(step("Logs")["drift"], serde_json::json!({"kind": "deleted"}));
    assert_eq!(step("Logs")["action"], "create");

    // up --refresh sets it back.
    p.run(&["-s", "dev", "up", "--refresh", "--yes"]).ok();
    assert_eq!(versioning(&emu, &data).as_deref(), Some("Enabled"));
    assert_eq!(encryption(&emu, &data), Some(("aws:kms".to_string(), Some(true))));
    let state = p.state("dev");
    assert_eq!(state["resources"]["Data"]["physical_id"], data.as_str(), "updated in place");
    let new_logs = state["resources"]["Logs"]["physical_id"].as_str().expect("Logs").to_string();
    assert!(emu.bucket_exists(&new_logs), "Logs was created again");
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&data) && !emu.bucket_exists(&new_logs));
}
