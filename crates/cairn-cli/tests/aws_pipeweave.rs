//! Acceptance: examples/pipeweave deployed through the CLI on the emulator, one test per
//! environment. Each runs in a temp copy renamed to a project of its own: `up`, read every
//! setting back through the SDK, `preview --expect-no-changes`, `destroy`, and nothing of
//! the stack is left in the emulator. Production keeps its state in a bucket of its own and
//! its `ExternalId` encrypted under a KMS key of its own (`Emu::team_backend`); the ids of
//! development and staging are not required.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::BTreeSet;

use aws::{arn_name, emulator, strings, unique, Emu};
use aws_sdk_s3::error::ProvideErrorMetadata;
use common::Proj;
use serde_json::{json, Value};

/// What differs between the environments (the reference's configs/*.yaml).
struct Env {
    stack: &'static str,
    glacier_days: Option<i32>,
    allow_delete: bool,
    require_encryption: bool,
    /// Whether the role trusts the account too, given the external id.
    require_external_id: bool,
}

const OUTPUTS: [&str; 7] = [
    "bucket_arn",
    "bucket_name",
    "bucket_region",
    "environment",
    "iam_policy_arn",
    "iam_role_arn",
    "instance_profile_arn",
];

#[test]
fn development() {
    deploy_check_destroy(Env {
        stack: "development",
        glacier_days: None,
        allow_delete: true,
        require_encryption: false,
        require_external_id: false,
    });
}

#[test]
fn staging() {
    deploy_check_destroy(Env {
        stack: "staging",
        glacier_days: Some(60),
        allow_delete: true,
        require_encryption: true,
        require_external_id: false,
    });
}

#[test]
fn production() {
    deploy_check_destroy(Env {
        stack: "production",
        glacier_days: Some(90),
        allow_delete: false,
        require_encryption: true,
        require_external_id: true,
    });
}

fn deploy_check_destroy(env: Env) {
    let Some(emu) = emulator() else { return };
    let project = unique("pw");
    let stack = env.stack;
    let p = Proj::example("pipeweave", &project);
    let external_id = format!("{}:{}", unique("ext"), unique("id"));
    let state_bucket = env.require_external_id.then(|| {
        let (bucket, _alias) = emu.team_backend(&p);
        p.run_stdin(&["-s", stack, "config", "set", "--secret", "ExternalId"], &external_id).ok();
        bucket
    });
    p.run(&["-s", stack, "up", "--yes"]).ok();

    let out = p.run(&["-s", stack, "stack", "output", "--json"]).ok().json();
    let keys: Vec<&str> = out.as_object().expect("outputs").keys().map(String::as_str).collect();
    assert_eq!(keys, OUTPUTS);
    let bucket = out["bucket_name"].as_str().unwrap().to_string();
    assert_eq!(bucket, format!("pipeweave-datasets-{stack}-{project}-{stack}"));
    assert_eq!(out["bucket_arn"], json!(format!("arn:aws:s3:::{bucket}")));
    assert_eq!(out["bucket_region"], "us-east-1");
    assert_eq!(out["environment"], stack);
    let role = arn_name(out["iam_role_arn"].as_str().unwrap());
    let policy_arn = out["iam_policy_arn"].as_str().unwrap().to_string();
    let policy = arn_name(&policy_arn);
    let profile = arn_name(out["instance_profile_arn"].as_str().unwrap());
    for name in [&role, &policy, &profile] {
        assert!(name.starts_with(&format!("{stack}-Access-")), "generated names include the stack: {name}");
    }

    check_bucket(&emu, &bucket, &env, &project);
    check_iam(&emu, &env, &project, &bucket, &role, &policy_arn, &profile, &external_id);

    p.run(&["-s", stack, "preview", "--expect-no-changes"]).ok();
    p.run(&["-s", stack, "destroy", "--yes"]).ok();
    assert_eq!(p.state(stack)["resources"], json!({}));

    // Nothing of the stack is left: by name, and (roles, buckets) by ownership tag.
    emu.assert_pipeweave_gone(&project, &bucket, &role, &policy, &profile);
    // Production's state was in its bucket, not in the project.
    if let Some(state_bucket) = state_bucket {
        assert!(!p.join(".cairn").join("stacks").join(stack).exists(), "production state written locally");
        let keys: Vec<String> = emu.objects(&state_bucket).into_iter().map(|(k, _)| k).collect();
        assert!(keys.contains(&format!("pipeweave/stacks/{stack}/snapshot.json")), "{keys:?}");
    }
}

fn check_bucket(emu: &Emu, bucket: &str, env: &Env, project: &str) {
    let s3 = &emu.s3;
    let v = emu.block(s3.get_bucket_versioning().bucket(bucket).send()).expect("GetBucketVersioning");
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));

    let enc = emu.block(s3.get_bucket_encryption().bucket(bucket).send()).expect("GetBucketEncryption");
    let rules = enc.server_side_encryption_configuration().expect("encryption").rules();
    let algos: Vec<&str> = rules
        .iter()
        .filter_map(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().as_str())
        .collect();
    assert_eq!(algos, ["AES256"]);

    let pab = emu.block(s3.get_public_access_block().bucket(bucket).send()).expect("GetPublicAccessBlock");
    let c = pab.public_access_block_configuration().expect("public access block");
    assert_eq!(
        (c.block_public_acls(), c.block_public_policy(), c.ignore_public_acls(), c.restrict_public_buckets()),
        (Some(true), Some(true), Some(true), Some(true))
    );

    let lifecycle = emu.block(s3.get_bucket_lifecycle_configuration().bucket(bucket).send());
    match env.glacier_days {
        None => {
            let e = lifecycle.expect_err("no lifecycle rules in this environment");
            assert_eq!(e.code(), Some("NoSuchLifecycleConfiguration"), "{e:?}");
        }
        Some(days) => {
            let l = lifecycle.expect("GetBucketLifecycleConfiguration");
            let rules = l.rules();
            assert_eq!(rules.len(), 1, "{rules:?}");
            assert_eq!(rules[0].status().as_str(), "Enabled");
            let t: Vec<(Option<i32>, Option<&str>)> =
                rules[0].transitions().iter().map(|t| (t.days(), t.storage_class().map(|c| c.as_str()))).collect();
            assert_eq!(t, [(Some(days), Some("GLACIER"))]);
        }
    }

    let tags: BTreeSet<(String, String)> = emu.bucket_tags(bucket).into_iter().collect();
    for (k, v) in [("Application", "pipeweave"), ("Environment", env.stack), ("cairn:project", project)] {
        assert!(tags.contains(&(k.to_string(), v.to_string())), "bucket tag {k}={v} missing: {tags:?}");
    }
}

#[allow(clippy::too_many_arguments)]
fn check_iam(
    emu: &Emu,
    env: &Env,
    project: &str,
    bucket: &str,
    role: &str,
    policy_arn: &str,
    profile: &str,
    external_id: &str,
) {
    let iam = &emu.iam;
    let r = emu.block(iam.get_role().role_name(role).send()).expect("GetRole");
    let r = r.role().expect("role");
    let trust = aws::doc(r.assume_role_policy_document().expect("trust policy"));
    let statements = trust["Statement"].as_array().cloned().unwrap_or_else(|| vec![trust["Statement"].clone()]);
    assert_eq!(statements.len(), if env.require_external_id { 2 } else { 1 }, "{trust}");
    assert_eq!(strings(&statements[0]["Action"]), ["sts:AssumeRole".to_string()].into());
    assert_eq!(
        strings(&statements[0]["Principal"]["Service"]),
        ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "lambda.amazonaws.com"].map(String::from).into()
    );
    if env.require_external_id {
        let account = r.arn().split(':').nth(4).expect("an account in the role ARN");
        assert_eq!(strings(&statements[1]["Action"]), ["sts:AssumeRole".to_string()].into());
        assert_eq!(statements[1]["Effect"], "Allow");
        assert_eq!(statements[1]["Principal"]["AWS"], json!(format!("arn:aws:iam::{account}:root")));
        assert_eq!(statements[1]["Condition"], json!({"StringEquals": {"sts:ExternalId": external_id}}));
    }
    let tags: BTreeSet<(String, String)> =
        r.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    for (k, v) in [("Application", "pipeweave"), ("Environment", env.stack), ("cairn:project", project)] {
        assert!(tags.contains(&(k.to_string(), v.to_string())), "role tag {k}={v} missing: {tags:?}");
    }

    let attached = emu.block(iam.list_attached_role_policies().role_name(role).send()).expect("attached");
    let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, [policy_arn]);

    // The policy's statements, as (effect, action, resource, condition).
    let doc = emu.policy_document(policy_arn);
    let mut got: Vec<(String, String, String, Value)> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            let one = |k: &str| {
                let set = strings(&s[k]);
                assert_eq!(set.len(), 1, "{s}");
                set.into_iter().next().unwrap()
            };
            (one("Effect"), one("Action"), one("Resource"), s.get("Condition").cloned().unwrap_or(Value::Null))
        })
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let objects = format!("arn:aws:s3:::{bucket}/*");
    let allow =
        |action: &str, resource: &str| ("Allow".to_string(), action.to_string(), resource.to_string(), Value::Null);
    let mut want = vec![
        allow("s3:GetObject", &objects),
        allow("s3:ListBucket", &format!("arn:aws:s3:::{bucket}")),
        allow("s3:PutObject", &objects),
    ];
    if env.allow_delete {
        want.push(allow("s3:DeleteObject", &objects));
    }
    if env.require_encryption {
        want.push((
            "Deny".to_string(),
            "s3:PutObject".to_string(),
            objects.clone(),
            json!({"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}),
        ));
    }
    want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(got, want, "the policy's statements for {}", env.stack);

    let ip = emu.block(iam.get_instance_profile().instance_profile_name(profile).send()).expect("GetInstanceProfile");
    let roles: Vec<&str> = ip.instance_profile().expect("profile").roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(roles, [role]);
}
