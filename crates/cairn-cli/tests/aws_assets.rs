//! Local code assets on the emulator: a Lambda function's `Code` as a folder of the
//! project. What Lambda runs is read back through aws-sdk-lambda (`CodeSha256`, the
//! base64 SHA-256 of the archive), and compared with an archive of the same files made by
//! the test: touching the files plans nothing; changing one file of one function plans
//! exactly one update, of that function's `Code`; code changed outside cairn shows as drift.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique};
use cairn_core::asset::Asset;
use common::Proj;

const TEMPLATE: &str = r#"
Resources:
  Exec:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}
  Api:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      Role: !GetAtt Exec.Arn
      Code: functions/api
  Worker:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: main.handler
      Role: !GetAtt Exec.Arn
      Code: functions/worker/main.py
"#;

/// The archive cairn should make of `files` (path, content), sorted, as Lambda's digest.
fn expected(files: &[(&str, &str)]) -> String {
    let mut files = files.to_vec();
    files.sort();
    let entries: Vec<cairn_core::zip::Entry<'_>> = files
        .iter()
        .map(|(name, data)| cairn_core::zip::Entry { name, data: data.as_bytes(), executable: false })
        .collect();
    Asset::digest(&cairn_core::zip::archive(&entries).expect("an archive"))
}

#[test]
fn a_code_folder_deploys_by_content_and_only_a_changed_file_updates_its_function() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("assets"), TEMPLATE, "");
    p.write("functions/api/index.js", "exports.handler = async () => require('./lib/v').v;\n");
    p.write("functions/api/lib/v.js", "module.exports = {v: 1};\n");
    p.write("functions/worker/main.py", "def handler(event, context):\n    return 1\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();

    let config = emu.block(
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load(),
    );
    let lambda = aws_sdk_lambda::Client::new(&config);
    let state = p.state("dev");
    let name = |id: &str| state["resources"][id]["physical_id"].as_str().expect("a function name").to_string();
    let (api, worker) = (name("Api"), name("Worker"));
    let sha = |n: &str| {
        let out = emu.block(lambda.get_function_configuration().function_name(n).send()).expect("the function");
        out.code_sha256.expect("a CodeSha256")
    };
    let api_v1 = expected(&[
        ("index.js", "exports.handler = async () => require('./lib/v').v;\n"),
        ("lib/v.js", "module.exports = {v: 1};\n"),
    ]);
    assert_eq!(sha(&api), api_v1, "Lambda runs the archive of the folder");
    let worker_sha = expected(&[("main.py", "def handler(event, context):\n    return 1\n")]);
    assert_eq!(sha(&worker), worker_sha, "a single file is zipped under its own name");
    assert_eq!(state["resources"]["Api"]["inputs"]["Code"]["Cairn::Asset"]["Path"], "functions/api");

    // The same content written again, later: nothing to do.
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.write("functions/api/lib/v.js", "module.exports = {v: 1};\n");
    p.write("functions/worker/main.py", "def handler(event, context):\n    return 1\n");
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    // One changed file: one update, of that function's code.
    p.write("functions/api/lib/v.js", "module.exports = {v: 2};\n");
    let plan = p.run(&["-s", "dev", "preview", "--json"]).ok().json();
    let changed: Vec<(String, String)> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["action"] != "same")
        .map(|s| {
            (s["id"].as_str().unwrap_or_default().to_string(), s["action"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert_eq!(changed, [("Api".to_string(), "update".to_string())], "{plan:#}");
    let text = p.run(&["-s", "dev", "preview", "--diff"]).ok();
    assert!(text.stdout.contains("~ Code: content of functions/api changed (SHA-256 "), "{}", text.stdout);
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let api_v2 = expected(&[
        ("index.js", "exports.handler = async () => require('./lib/v').v;\n"),
        ("lib/v.js", "module.exports = {v: 2};\n"),
    ]);
    assert_eq!(sha(&api), api_v2);
    assert_eq!(sha(&worker), worker_sha, "the other function is untouched");
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    // Code changed outside cairn: drift on `Code`, and `up` puts the folder's back.
    let other = cairn_core::zip::single_file("index.js", b"exports.handler = async () => 'other';\n");
    emu.block(
        lambda.update_function_code().function_name(&api).zip_file(aws_sdk_lambda::primitives::Blob::new(other)).send(),
    )
    .expect("update the code behind cairn's back");
    let drift = p.run(&["-s", "dev", "preview", "--refresh"]).ok();
    assert!(drift.stdout.contains("changed outside cairn: Code"), "{}", drift.stdout);
    p.run(&["-s", "dev", "up", "--refresh", "--yes"]).ok();
    assert_eq!(sha(&api), api_v2);

    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    let gone = emu.block(lambda.get_function().function_name(&api).send()).expect_err("the function is deleted");
    assert_eq!(aws_sdk_lambda::error::ProvideErrorMetadata::code(&gone), Some("ResourceNotFoundException"));
}

#[test]
fn a_missing_code_folder_is_an_error_at_the_property() {
    let p = Proj::named(&unique("assets"), TEMPLATE, "");
    p.write("functions/worker/main.py", "x = 1\n");
    let out = p.run(&["-s", "dev", "validate"]).code(2);
    assert!(
        out.stderr.contains("Api (AWS::Lambda::Function) Code: cannot read `functions/api`: no such file"),
        "{out}"
    );
    assert!(out.stderr.contains("template.yaml:16:13"), "located at the path: {out}");
}
