//! Acceptance: examples/tap deployed through the CLI on the emulator, one test per
//! environment. Each runs in a temp copy renamed to a project of its own, with its state
//! in an S3 bucket of its own (the example keeps its state in S3, as the reference does)
//! and an environment suffix of its own (as the reference's ENVIRONMENT_SUFFIX): `up`, the
//! outputs, every environment difference read back through the SDK, `preview
//! --expect-no-changes`, `destroy`, and nothing of the stack left in the emulator.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::BTreeMap;

use aws::{doc, emulator, unique, Emu};
use common::Proj;
use serde_json::Value;

/// What differs between the environments (the reference's Pulumi.<stack>.yaml).
struct Env {
    stack: &'static str,
    memory: i32,
    retention: i32,
    versioning: bool,
}

const OUTPUTS: [&str; 7] = [
    "alarm_name",
    "bucket_name",
    "environment_suffix",
    "lambda_function_arn",
    "lambda_function_name",
    "lambda_role_arn",
    "log_group_name",
];

#[test]
fn dev() {
    deploy_check_destroy(Env { stack: "dev", memory: 512, retention: 7, versioning: false });
}

#[test]
fn staging() {
    deploy_check_destroy(Env { stack: "staging", memory: 1024, retention: 30, versioning: true });
}

#[test]
fn production() {
    deploy_check_destroy(Env { stack: "production", memory: 2048, retention: 90, versioning: true });
}

/// SDK clients beyond [`Emu`]'s, for what tap deploys.
struct Clients {
    lambda: aws_sdk_lambda::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

fn clients(emu: &Emu) -> Clients {
    let config = emu.block(
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load(),
    );
    Clients {
        lambda: aws_sdk_lambda::Client::new(&config),
        logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
    }
}

fn deploy_check_destroy(env: Env) {
    let Some(emu) = emulator() else { return };
    let c = clients(&emu);
    let stack = env.stack;
    let p = Proj::example("tap", &unique("tap"));
    // The team's state bucket, made here (README "Set-up").
    let state_bucket = unique("tap-state");
    emu.create_bucket(&state_bucket);
    let cairn = p.read("Cairn.yaml");
    let ours = cairn.replace("s3://tap-infrastructure-state/", &format!("s3://{state_bucket}/"));
    assert_ne!(cairn, ours, "examples/tap/Cairn.yaml does not name its state bucket as expected");
    p.write("Cairn.yaml", &ours);
    let suffix = unique(stack);
    p.run(&["-s", stack, "config", "set", "EnvironmentSuffix", &suffix]).ok();

    p.run(&["-s", stack, "up", "--yes"]).ok();
    let outputs = p.run(&["-s", stack, "stack", "output", "--json"]).ok().json();
    let out = |k: &str| outputs[k].as_str().unwrap_or_else(|| panic!("output {k}: {outputs:#}")).to_string();
    let keys: Vec<&String> = outputs.as_object().expect("outputs").keys().collect();
    assert_eq!(keys, OUTPUTS, "{outputs:#}");
    assert_eq!(out("environment_suffix"), suffix);
    for k in OUTPUTS {
        assert!(out(k).contains(&suffix), "every name carries the environment suffix: {k} = {}", out(k));
    }
    let (bucket, function, role_arn) = (out("bucket_name"), out("lambda_function_name"), out("lambda_role_arn"));
    let (log_group, alarm) = (out("log_group_name"), out("alarm_name"));

    // The state is in the team's bucket, not on disk.
    let objects: Vec<String> = emu.objects(&state_bucket).into_iter().map(|(k, _)| k).collect();
    assert!(objects.iter().any(|k| k.starts_with(&format!("tap/stacks/{stack}/"))), "{objects:?}");
    assert!(!p.join(".cairn/stacks").exists(), "no local state");

    // The bucket: private, encrypted, versioned per environment, tagged.
    let versioning = emu.block(emu.s3.get_bucket_versioning().bucket(&bucket).send()).expect("GetBucketVersioning");
    let status = versioning.status().map(|s| s.as_str().to_string());
    assert_eq!(status, env.versioning.then(|| "Enabled".to_string()), "{stack} versioning");
    let block = emu.block(emu.s3.get_public_access_block().bucket(&bucket).send()).expect("GetPublicAccessBlock");
    let b = block.public_access_block_configuration().expect("a public access block");
    let all = [b.block_public_acls(), b.block_public_policy(), b.ignore_public_acls(), b.restrict_public_buckets()];
    assert_eq!(all, [Some(true); 4], "public access blocked");
    let enc = emu.block(emu.s3.get_bucket_encryption().bucket(&bucket).send()).expect("GetBucketEncryption");
    let rule = &enc.server_side_encryption_configuration().expect("encryption").rules()[0];
    let algorithm = rule.apply_server_side_encryption_by_default().map(|d| d.sse_algorithm().as_str());
    assert_eq!(algorithm, Some("AES256"));
    let tags: BTreeMap<String, String> = emu.bucket_tags(&bucket).into_iter().collect();
    assert_eq!(tags.get("Environment").map(String::as_str), Some(stack), "{tags:?}");
    assert_eq!(tags.get("Application").map(String::as_str), Some("tap"), "{tags:?}");

    // The function: memory per environment, its bucket in the environment, its role, its code.
    let f = emu.block(c.lambda.get_function().function_name(&function).send()).expect("GetFunction");
    let conf = f.configuration().expect("a configuration");
    assert_eq!(conf.memory_size(), Some(env.memory), "{stack} memory");
    assert_eq!(conf.role(), Some(role_arn.as_str()));
    assert_eq!(conf.function_arn(), Some(out("lambda_function_arn").as_str()));
    let vars = conf.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
    assert_eq!(vars.get("BUCKET_NAME"), Some(&bucket));
    assert_eq!(vars.get("ENVIRONMENT"), Some(&suffix));
    let code = std::fs::read(p.join("functions/processor/handler.py")).expect("the handler");
    let zip =
        cairn_core::zip::archive(&[cairn_core::zip::Entry { name: "handler.py", data: &code, executable: false }])
            .expect("an archive");
    assert_eq!(conf.code_sha256(), Some(cairn_core::asset::Asset::digest(&zip).as_str()), "the local code");
    assert_eq!(f.tags().and_then(|t| t.get("Environment")).map(String::as_str), Some(stack));

    // The log group: retention per environment, tagged.
    let groups = emu.block(c.logs.describe_log_groups().log_group_name_prefix(&log_group).send()).expect("logs");
    let group = groups.log_groups().iter().find(|g| g.log_group_name() == Some(log_group.as_str())).expect("the group");
    assert_eq!(group.retention_in_days(), Some(env.retention), "{stack} retention");
    assert_eq!(log_group, format!("/aws/lambda/{function}"), "the group Lambda writes to");
    let group_arn = group.arn().expect("an ARN").trim_end_matches(":*").to_string();
    let group_tags = emu.block(c.logs.list_tags_for_resource().resource_arn(&group_arn).send()).expect("log tags");
    assert_eq!(group_tags.tags().and_then(|t| t.get("Environment")).map(String::as_str), Some(stack));

    // The alarm: errors of this function.
    let alarms = emu.block(c.cloudwatch.describe_alarms().alarm_names(&alarm).send()).expect("DescribeAlarms");
    let a = alarms.metric_alarms().first().expect("the alarm");
    assert_eq!((a.namespace(), a.metric_name()), (Some("AWS/Lambda"), Some("Errors")));
    let dims: Vec<(&str, &str)> =
        a.dimensions().iter().map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default())).collect();
    assert_eq!(dims, [("FunctionName", function.as_str())]);
    let alarm_tags = emu
        .block(c.cloudwatch.list_tags_for_resource().resource_arn(a.alarm_arn().expect("an ARN")).send())
        .expect("alarm tags");
    assert!(alarm_tags.tags().iter().any(|t| t.key() == Some("Environment") && t.value() == Some(stack)));

    // The role: least privilege (named actions only, on this stack's bucket and log group).
    let role_name = role_arn.rsplit('/').next().expect("a role name").to_string();
    let role = emu.block(emu.iam.get_role().role_name(&role_name).send()).expect("GetRole");
    let role_tags = role.role().map(|r| r.tags()).unwrap_or_default();
    assert!(role_tags.iter().any(|t| t.key() == "Environment" && t.value() == stack), "{role_tags:?}");
    let names = emu.block(emu.iam.list_role_policies().role_name(&role_name).send()).expect("ListRolePolicies");
    assert_eq!(names.policy_names().len(), 1);
    let inline = emu
        .block(emu.iam.get_role_policy().role_name(&role_name).policy_name(&names.policy_names()[0]).send())
        .expect("GetRolePolicy");
    let policy = doc(inline.policy_document());
    let statements = policy["Statement"].as_array().expect("statements");
    for s in statements {
        let actions: Vec<&str> = match &s["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            other => panic!("Action {other}"),
        };
        assert!(actions.iter().all(|a| !a.contains('*')), "no wildcard actions: {policy:#}");
        assert!(s["Resource"].as_str().is_some_and(|r| r != "*"), "no Resource \"*\": {policy:#}");
    }
    let writes = statements.iter().find(|s| s["Action"].to_string().contains("s3:PutObject")).expect("a write");
    assert_eq!(writes["Resource"], format!("arn:aws:s3:::{bucket}/*"), "the function may write to its bucket");

    p.run(&["-s", stack, "preview", "--expect-no-changes"]).ok();

    p.run(&["-s", stack, "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&bucket), "the bucket is gone");
    let gone = emu.block(c.lambda.get_function().function_name(&function).send()).expect_err("the function is gone");
    assert_eq!(aws_sdk_lambda::error::ProvideErrorMetadata::code(&gone), Some("ResourceNotFoundException"));
    let groups = emu.block(c.logs.describe_log_groups().log_group_name_prefix(&log_group).send()).expect("logs");
    assert!(groups.log_groups().is_empty(), "the log group is gone");
    let alarms = emu.block(c.cloudwatch.describe_alarms().alarm_names(&alarm).send()).expect("DescribeAlarms");
    assert!(alarms.metric_alarms().is_empty(), "the alarm is gone");
    let role = emu.block(emu.iam.get_role().role_name(&role_name).send()).expect_err("the role is gone");
    assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&role), Some("NoSuchEntity"));
    assert_eq!(p.state(stack)["resources"], serde_json::json!({}));
}
