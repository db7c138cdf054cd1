//! Acceptance through the fault-injection proxy (`cairn-faultproxy`) in front of the
//! emulator: cairn run with `AWS_ENDPOINT_URL` pointing at the proxy, read back directly
//! through the SDK.
//!
//! - examples/pipeweave's production stack (S3, IAM and STS, KMS secrets, S3 state: every
//!   protocol) through throttling, 5xx answers and connection resets at realistic rates:
//!   up, preview, a change, up, destroy all converge, and the injected counts are printed
//!   (and written to `$CARGO_TARGET_TMPDIR/fault-run-counts.json`).
//! - a call refused after `CreateBucket` succeeded (`PutBucketEncryption`): a failure, the
//!   bucket tracked as it is, the next preview shows what is missing, the next up converges.
//! - answers the SDK cannot classify, and transport failures, read as one line each.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{arn_name, emulator, unique, Emu};
use aws_sdk_s3::error::ProvideErrorMetadata;
use cairn_faultproxy::{Config, Counts, Fault, Proxy, Rates, Rule};
use common::{Out, Proj};
use serde_json::json;

/// `cairn ARGS` in the project with `AWS_ENDPOINT_URL` set to `endpoint` (the proxy), and
/// cairn's own number of attempts per call.
fn run_via(p: &Proj, endpoint: &str, args: &[&str], stdin: &str) -> Out {
    run_with(p, endpoint, args, stdin, None)
}

/// Like [`run_via`], with `AWS_MAX_ATTEMPTS` when `attempts` is given.
fn run_with(p: &Proj, endpoint: &str, args: &[&str], stdin: &str, attempts: Option<u32>) -> Out {
    let mut cmd = Proj::cmd_in(p.path(), args);
    cmd.env("AWS_ENDPOINT_URL", endpoint).env_remove("AWS_MAX_ATTEMPTS");
    if let Some(n) = attempts {
        cmd.env("AWS_MAX_ATTEMPTS", n.to_string());
    }
    let output = cmd.write_stdin(stdin).output().expect("run cairn");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn upstream() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL")
}

/// The seed of the fault draws: `CAIRN_FAULT_SEED`, else a fixed one (printed, so a failing
/// run can be replayed).
fn seed() -> u64 {
    std::env::var("CAIRN_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20260101)
}

/// Print the counts and keep them beside the build (for the run's report).
fn report(name: &str, seed: u64, counts: &Counts) {
    println!("fault run {name} (seed {seed}): {counts}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fault-run-counts-{name}.json"));
    let text = serde_json::to_string_pretty(&json!({"test": name, "seed": seed, "counts": counts})).unwrap();
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[test]
fn pipeweave_production_converges_through_throttling_5xx_and_resets() {
    let Some(emu) = emulator() else { return };
    let seed = seed();
    let rates = Rates { throttle: 0.08, server_error: 0.08, reset: 0.08, lose_answer: 0.0 };
    let proxy = Proxy::start(Config { upstream: upstream(), seed, rates, rules: Vec::new() }).expect("fault proxy");
    let url = proxy.url();
    let project = unique("pwf");
    let stack = "production";
    let p = Proj::example("pipeweave", &project);
    let (state_bucket, _alias) = emu.team_backend(&p);
    let external_id = format!("{}:{}", unique("ext"), unique("id"));
    let run = |args: &[&str]| run_via(&p, &url, args, "");

    run_via(&p, &url, &["-s", stack, "config", "set", "--secret", "ExternalId"], &external_id).ok();
    run(&["-s", stack, "up", "--yes"]).ok();
    run(&["-s", stack, "preview", "--expect-no-changes"]).ok();
    let out = run(&["-s", stack, "stack", "output", "--json"]).ok().json();
    let bucket = out["bucket_name"].as_str().expect("bucket_name").to_string();
    let role = arn_name(out["iam_role_arn"].as_str().unwrap());
    let policy = arn_name(out["iam_policy_arn"].as_str().unwrap());
    let profile = arn_name(out["instance_profile_arn"].as_str().unwrap());
    assert_eq!(glacier_days(&emu, &bucket), Some(90));
    check_settings(&emu, &bucket);

    // A change, applied through the same faults.
    run(&["-s", stack, "config", "set", "GlacierDays", "120"]).ok();
    run(&["-s", stack, "up", "--yes"]).ok();
    assert_eq!(glacier_days(&emu, &bucket), Some(120));
    run(&["-s", stack, "preview", "--expect-no-changes"]).ok();

    run(&["-s", stack, "destroy", "--yes"]).ok();
    assert_eq!(run(&["-s", stack, "stack", "export"]).ok().json()["state"]["resources"], json!({}));
    emu.assert_pipeweave_gone(&project, &bucket, &role, &policy, &profile);
    let keys: Vec<String> = emu.objects(&state_bucket).into_iter().map(|(k, _)| k).collect();
    assert!(keys.contains(&format!("pipeweave/stacks/{stack}/snapshot.json")), "{keys:?}");

    let counts = proxy.counts();
    report("pipeweave-production", seed, &counts);
    // The run met every kind of fault.
    assert!(counts.throttled > 0 && counts.server_errors > 0 && counts.resets > 0, "{counts}");
}

fn glacier_days(emu: &Emu, bucket: &str) -> Option<i32> {
    let l = emu.block(emu.s3.get_bucket_lifecycle_configuration().bucket(bucket).send()).ok()?;
    l.rules().first()?.transitions().first()?.days()
}

fn check_settings(emu: &Emu, bucket: &str) {
    let v = emu.block(emu.s3.get_bucket_versioning().bucket(bucket).send()).expect("GetBucketVersioning");
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
    let enc = emu.block(emu.s3.get_bucket_encryption().bucket(bucket).send()).expect("GetBucketEncryption");
    let algos: Vec<String> = enc
        .server_side_encryption_configuration()
        .expect("encryption")
        .rules()
        .iter()
        .filter_map(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().as_str().to_string())
        .collect();
    assert_eq!(algos, ["AES256"]);
}

const ENCRYPTED_BUCKET: &str = r#"
Resources:
  Data:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: AES256
Outputs:
  bucket:
    Value: !Ref Data
"#;

/// The bucket's encryption algorithms, `None` when it has no encryption configuration.
fn encryption(emu: &Emu, bucket: &str) -> Option<Vec<String>> {
    match emu.block(emu.s3.get_bucket_encryption().bucket(bucket).send()) {
        Ok(out) => Some(
            out.server_side_encryption_configuration()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string())
                .collect(),
        ),
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => None,
        Err(e) => panic!("GetBucketEncryption {bucket}: {e:?}"),
    }
}

#[test]
fn encryption_refused_after_create_bucket_is_a_failure_then_converges() {
    let Some(emu) = emulator() else { return };
    let mut config = Config::new(&upstream());
    config.rules.push(Rule::new(
        "PutBucketEncryption",
        1,
        Fault::Refuse { status: 403, code: "AccessDenied".into(), message: "Access Denied".into() },
    ));
    let proxy = Proxy::start(config).expect("fault proxy");
    let url = proxy.url();
    let p = Proj::named(&unique("t"), ENCRYPTED_BUCKET, "parameters: {}\n");
    let run = |args: &[&str]| run_via(&p, &url, args, "");

    let out = run(&["-s", "dev", "up", "--yes"]).code(1);
    assert_eq!(proxy.counts().refused, 1, "the proxy refused PutBucketEncryption once");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("error:") && l.contains("Data (AWS::S3::Bucket)"))
        .unwrap_or_else(|| panic!("no error line naming the bucket:\n{out}"));
    assert!(line.contains("PutBucketEncryption") && line.contains("AccessDenied"), "{line}");

    // The bucket exists, without encryption, and the state tracks it.
    let state = p.state("dev");
    let bucket = state["resources"]["Data"]["physical_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the created bucket is not in the state: {state}"))
        .to_string();
    assert!(emu.bucket_exists(&bucket));
    assert_eq!(encryption(&emu, &bucket), None, "the refused encryption is not there");

    // The preview shows what is missing.
    let out = run(&["-s", "dev", "preview", "--expect-no-changes"]).code(3);
    assert!(out.stdout.contains("BucketEncryption"), "the preview names BucketEncryption:\n{out}");

    // The next up converges.
    run(&["-s", "dev", "up", "--yes"]).ok();
    assert_eq!(encryption(&emu, &bucket), Some(vec!["AES256".to_string()]));
    run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&bucket), "bucket {bucket} remains");
}

/// `up` of one bucket with `rule` on the proxy: exits 1; the stderr lines that name the
/// bucket's failure.
fn failed_create(rule: Rule) -> Vec<String> {
    let mut config = Config::new(&upstream());
    config.rules.push(rule);
    let proxy = Proxy::start(config).expect("fault proxy");
    let p = Proj::named(&unique("t"), ENCRYPTED_BUCKET, "parameters: {}\n");
    // Two attempts per call (AWS_MAX_ATTEMPTS), so that the retried faults fail quickly.
    let out = run_with(&p, &proxy.url(), &["-s", "dev", "up", "--yes"], "", Some(2)).code(1);
    assert!(proxy.counts().injected() > 0, "{}", proxy.counts());
    assert!(!out.stderr.contains("ServiceError") && !out.stderr.contains("raw: Response"), "a Debug dump:\n{out}");
    assert_eq!(p.state("dev")["resources"], json!({}), "nothing was created");
    out.stderr.lines().filter(|l| l.contains("FAILED:") || l.starts_with("  error:")).map(str::to_string).collect()
}

#[test]
fn answers_the_sdk_cannot_classify_read_as_one_line() {
    if emulator().is_none() {
        return;
    }
    let refuse =
        |status, code: &str, message: &str| Fault::Refuse { status, code: code.into(), message: message.into() };
    let raw = |status, content_type: Option<&str>, body: &str| Fault::Raw {
        status,
        content_type: content_type.map(str::to_string),
        body: body.to_string(),
    };
    let html = "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n<body><h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request.</p></body></html>";
    let cases = [
        ("an unknown code", Rule::new("CreateBucket", 1, refuse(400, "NewFangledError", "Something new went wrong."))),
        // Retried by the SDK: every attempt gets it.
        ("a 500 with an HTML body", Rule::new("CreateBucket", 100, raw(500, Some("text/html"), html))),
        ("a 400 with an empty body", Rule::new("CreateBucket", 1, raw(400, None, ""))),
        (
            "a 400 with a JSON body",
            Rule::new("CreateBucket", 1, raw(400, Some("application/json"), r#"{"message": "no such thing"}"#)),
        ),
        (
            "a 400 with a binary body",
            Rule::new("CreateBucket", 1, raw(400, Some("application/octet-stream"), "\u{1}\u{2}\u{3}PK\u{0}")),
        ),
        ("connection resets", Rule::new("CreateBucket", 100, Fault::Reset)),
    ];
    let mut text = String::new();
    for (what, rule) in cases {
        let lines = failed_create(rule);
        assert_eq!(lines.len(), 2, "{what}: the progress line and the summary's error line: {lines:#?}");
        for l in &lines {
            assert!(l.contains("Data (AWS::S3::Bucket)") && l.contains("CreateBucket: "), "{what}: {l}");
        }
        text.push_str(&format!("# {what}\n{}\n", lines.join("\n")));
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.bind(|| insta::assert_snapshot!("aws_faults_unclassified_answers", text));
}

#[test]
fn a_query_protocol_refusal_names_the_iam_operation() {
    if emulator().is_none() {
        return;
    }
    let template = r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
"#;
    let mut config = Config::new(&upstream());
    config.rules.push(Rule::new(
        "CreateRole",
        1,
        Fault::Refuse { status: 409, code: "ConcurrentModification".into(), message: "Try again later.".into() },
    ));
    let proxy = Proxy::start(config).expect("fault proxy");
    let p = Proj::named(&unique("t"), template, "parameters: {}\n");
    let out = run_via(&p, &proxy.url(), &["-s", "dev", "up", "--yes"], "").code(1);
    let line = out.stderr.lines().find(|l| l.contains("error:")).unwrap_or_else(|| panic!("no error line:\n{out}"));
    assert_eq!(
        line,
        "  error: Role (AWS::IAM::Role): create failed: CreateRole: ConcurrentModification: Try again later."
    );
}
