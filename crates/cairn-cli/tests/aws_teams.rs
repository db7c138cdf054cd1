//! Acceptance: examples/pipeweave as a team runs it, on the emulator.
//!
//! - Production keeps its state in an S3 bucket and its `ExternalId` encrypted under a KMS
//!   key (the stack file's `backend` and `secretsprovider`). Each test copy gets a bucket
//!   and an alias of its own (`Emu::team_backend`), and a project name of its own. The
//!   secret is set from stdin with no passphrase anywhere (KMS needs only AWS credentials),
//!   it reaches the role's trust policy, and it is found nowhere else: not in the stack
//!   file, the state bucket, `.cairn/`, or any output.
//! - `stack rollback` puts back what an earlier version applied, as read through the SDK.
//!
//! Without `AWS_ENDPOINT_URL` the tests skip, unless `CAIRN_REQUIRE_EMULATOR` is set
//! (scripts/test.sh), when they fail.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::path::Path;

use aws::{arn_name, emulator, strings, unique, Emu};
use common::{Out, Proj};
use serde_json::json;

/// Every file under `dir` (path, content), or nothing when there is no `dir`.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).expect("read")));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[track_caller]
fn assert_hidden(secret: &str, what: &str, out: &Out) {
    assert!(!out.to_string().contains(secret), "the secret appears in {what}:\n{out}");
}

/// Lifecycle rules as (status, [(days, storage class)]).
type Rules = Vec<(String, Vec<(Option<i32>, String)>)>;

/// The lifecycle rules of a bucket, or `None` when it has no lifecycle configuration.
fn lifecycle(emu: &Emu, bucket: &str) -> Option<Rules> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    match emu.block(emu.s3.get_bucket_lifecycle_configuration().bucket(bucket).send()) {
        Ok(l) => Some(
            l.rules()
                .iter()
                .map(|r| {
                    let t = r
                        .transitions()
                        .iter()
                        .map(|t| (t.days(), t.storage_class().map(|c| c.as_str().to_string()).unwrap_or_default()))
                        .collect();
                    (r.status().as_str().to_string(), t)
                })
                .collect(),
        ),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => None,
        Err(e) => panic!("GetBucketLifecycleConfiguration {bucket}: {e:?}"),
    }
}

fn glacier_after(days: i32) -> Option<Rules> {
    Some(vec![("Enabled".to_string(), vec![(Some(days), "GLACIER".to_string())])])
}

#[test]
fn production_on_s3_with_a_kms_encrypted_external_id() {
    let Some(emu) = emulator() else { return };
    let project = unique("pwt");
    let p = Proj::example("pipeweave", &project);
    let (state_bucket, alias) = emu.team_backend(&p);
    let secret = format!("{}:{}", unique("ext"), unique("id"));
    let prod =
        |args: &[&str]| -> Vec<String> { ["-s", "production"].iter().chain(args).map(|s| s.to_string()).collect() };
    let run = |args: &[&str]| {
        let a = prod(args);
        p.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // The first secret creates the stack's data key with KMS: no passphrase is set
    // (`Proj::cmd_in` removes CAIRN_PASSPHRASE*, and stdin is not a terminal).
    let a = prod(&["config", "set", "--secret", "ExternalId"]);
    let out = p.run_stdin(&a.iter().map(String::as_str).collect::<Vec<_>>(), &secret).ok();
    assert!(out.stderr.contains(&format!("awskms://alias/{alias}?region=us-east-1")), "{out}");
    assert_hidden(&secret, "config set", &out);
    let stack_file = p.read("stacks/production.yaml");
    assert!(stack_file.contains("encryptionsalt: kms:v1:"), "{stack_file}");
    assert!(stack_file.contains("  ExternalId:\n    secure: v1:"), "{stack_file}");
    assert!(stack_file.contains(&format!("backend: s3://{state_bucket}/pipeweave?region=us-east-1")), "{stack_file}");
    assert!(!stack_file.contains(&secret), "the secret is in the stack file:\n{stack_file}");
    assert_eq!(run(&["config", "get", "ExternalId", "--show-secrets"]).ok().stdout, format!("{secret}\n"));

    // Nothing prints it.
    let preview = run(&["preview"]).ok();
    assert!(preview.stdout.contains(&format!("(s3://{state_bucket}/pipeweave)")), "{preview}");
    assert_hidden(&secret, "preview", &preview);
    assert_hidden(&secret, "preview --diff", &run(&["preview", "--diff"]).ok());
    assert_hidden(&secret, "preview --json", &run(&["preview", "--json"]).ok());
    let up = run(&["up", "--yes"]).ok();
    assert_hidden(&secret, "up", &up);
    let outputs = run(&["stack", "output", "--json"]).ok();
    assert_hidden(&secret, "stack output --json", &outputs);
    assert_hidden(&secret, "stack output", &run(&["stack", "output"]).ok());
    assert_hidden(&secret, "stack export", &run(&["stack", "export"]).ok());

    // The role trusts the account, given exactly that external id.
    let outputs = outputs.json();
    let role_arn = outputs["iam_role_arn"].as_str().expect("iam_role_arn").to_string();
    let account = role_arn.split(':').nth(4).expect("account").to_string();
    let role = emu.block(emu.iam.get_role().role_name(arn_name(&role_arn)).send()).expect("GetRole");
    let trust = aws::doc(role.role().and_then(|r| r.assume_role_policy_document()).expect("trust policy"));
    let statements = trust["Statement"].as_array().expect("statements").clone();
    assert_eq!(statements.len(), 2, "{trust}");
    assert_eq!(strings(&statements[0]["Principal"]["Service"]).len(), 3, "{trust}");
    assert_eq!(statements[1]["Effect"], "Allow");
    assert_eq!(strings(&statements[1]["Action"]), ["sts:AssumeRole".to_string()].into());
    assert_eq!(statements[1]["Principal"]["AWS"], json!(format!("arn:aws:iam::{account}:root")));
    assert_eq!(statements[1]["Condition"], json!({"StringEquals": {"sts:ExternalId": secret}}));

    // The state is in the bucket, sealed; nothing of it is local.
    let objects = emu.objects(&state_bucket);
    let keys: Vec<&str> = objects.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"pipeweave/stacks/production/snapshot.json"), "{keys:?}");
    assert!(keys.contains(&"pipeweave/stacks/production/history/00000001.json"), "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("pipeweave/stacks/production/")), "{keys:?}");
    for (key, body) in &objects {
        assert!(!contains(body, &secret), "the secret is in s3://{state_bucket}/{key}");
    }
    let snapshot = &objects.iter().find(|(k, _)| k.ends_with("/snapshot.json")).expect("snapshot").1;
    assert!(contains(snapshot, "\"cairn:secret\": \"v1:") || contains(snapshot, "\"cairn:secret\":\"v1:"));
    assert!(!p.join(".cairn/stacks/production").exists(), "production state written locally");
    for (path, body) in files_under(&p.join(".cairn")) {
        assert!(!contains(&body, &secret), "the secret is in {path}");
    }

    // No perpetual diff; the run is in the history, in S3.
    run(&["preview", "--expect-no-changes"]).ok();
    let history = run(&["stack", "history", "--json"]).ok();
    assert_hidden(&secret, "stack history --json", &history);
    let history = history.json();
    let runs: Vec<(&str, &str)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["kind"].as_str().unwrap(), h["result"].as_str().unwrap()))
        .collect();
    assert_eq!(runs, [("up", "succeeded")]);
    let ls = p.run(&["stack", "ls", "--json"]).ok().json();
    let row = ls.as_array().unwrap().iter().find(|s| s["name"] == "production").expect("production row").clone();
    assert_eq!(row["backend"], json!(format!("s3://{state_bucket}/pipeweave")), "{ls}");
    assert_eq!(row["resources"], 4, "{ls}");

    // CAIRN_BACKEND overrides the stack file: elsewhere, the stack has no state.
    let elsewhere = Proj::empty();
    let a = prod(&["stack", "history", "--json"]);
    let o = Proj::cmd_in(p.path(), &a.iter().map(String::as_str).collect::<Vec<_>>())
        .env("CAIRN_BACKEND", format!("file://{}", elsewhere.path().display()))
        .output()
        .expect("run cairn");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(), json!([]));

    // Destroy leaves nothing of the stack.
    let bucket = outputs["bucket_name"].as_str().unwrap().to_string();
    assert_hidden(&secret, "destroy", &run(&["destroy", "--yes"]).ok());
    assert_eq!(p.state("production")["resources"], json!({}));
    assert!(!emu.bucket_exists(&bucket), "bucket {bucket} remains");
    assert_eq!(emu.roles_tagged(&project), Vec::<String>::new(), "roles of {project} remain");
    let (_, policies, profiles) = emu.iam_names();
    assert!(!policies.contains(&arn_name(outputs["iam_policy_arn"].as_str().unwrap())));
    assert!(!profiles.contains(&arn_name(outputs["instance_profile_arn"].as_str().unwrap())));
    for (key, body) in emu.objects(&state_bucket) {
        assert!(!contains(&body, &secret), "the secret is in s3://{state_bucket}/{key}");
    }
}

#[test]
fn rollback_puts_back_the_lifecycle_of_an_earlier_version() {
    let Some(emu) = emulator() else { return };
    let project = unique("pwr");
    let p = Proj::example("pipeweave", &project);
    let stack_file = |days: i32| p.read("stacks/staging.yaml").contains(&format!("GlacierDays: {days}\n"));
    assert!(stack_file(60), "staging archives after 60 days");

    p.run(&["-s", "staging", "up", "--yes"]).ok();
    let bucket = p.run(&["-s", "staging", "stack", "output", "bucket_name"]).ok().stdout.trim().to_string();
    assert_eq!(lifecycle(&emu, &bucket), glacier_after(60));

    p.run(&["-s", "staging", "config", "set", "GlacierDays", "30"]).ok();
    p.run(&["-s", "staging", "up", "--yes"]).ok();
    assert_eq!(lifecycle(&emu, &bucket), glacier_after(30));

    let out = p.run(&["-s", "staging", "stack", "rollback", "--to", "1", "--yes"]).ok();
    assert!(out.stdout.contains("Storage.Bucket"), "the rollback updates the bucket:\n{out}");
    assert_eq!(lifecycle(&emu, &bucket), glacier_after(60), "the lifecycle of version 1 again");
    assert!(stack_file(30), "a rollback does not change the project's files");

    let history = p.run(&["-s", "staging", "stack", "history", "--json"]).ok().json();
    let kinds: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["up", "up", "rollback"]);
    assert_eq!(history[2]["rolled_back_to"], 1, "{history:#}");

    // The files still say 30: the next preview rolls forward again.
    let preview = p.run(&["-s", "staging", "preview", "--expect-no-changes"]).code(3);
    assert!(preview.stdout.contains("Storage.Bucket"), "{preview}");
    let plan = p.run(&["-s", "staging", "preview", "--json"]).ok().json();
    let text = plan.to_string();
    assert!(text.contains("Storage.Bucket") && text.contains("LifecycleConfiguration"), "{plan:#}");
    let forward = p.run(&["-s", "staging", "up", "--yes"]).ok();
    assert!(forward.stdout.contains("Storage.Bucket"), "{forward}");
    assert_eq!(lifecycle(&emu, &bucket), glacier_after(30));

    p.run(&["-s", "staging", "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&bucket), "bucket {bucket} remains");
    assert_eq!(emu.roles_tagged(&project), Vec::<String>::new(), "roles of {project} remain");
}
