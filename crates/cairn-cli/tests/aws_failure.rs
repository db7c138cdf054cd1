//! Acceptance: a resource that AWS refuses mid-run (a managed policy whose document has an
//! `Effect` of `Maybe`: MalformedPolicyDocument). `up` exits 1 and names the logical id, the
//! type and the AWS error code; what was created before it (the role and the bucket) is in
//! the state and in AWS; once the template is fixed, `up` converges and the preview is empty.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{arn_name, emulator, unique};
use common::Proj;

const TEMPLATE: &str = r#"
Resources:
  Data:
    Type: AWS::S3::Bucket
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Access:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref Role]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: EFFECT
            Action: s3:GetObject
            Resource: !Sub "${Data.Arn}/*"
Outputs:
  policy:
    Value: !Ref Access
"#;

#[test]
fn malformed_policy_then_fixed() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("t"), &TEMPLATE.replace("EFFECT", "Maybe"), "parameters: {}\n");

    let out = p.run(&["-s", "dev", "up", "--yes"]).code(1);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("error:") && l.contains("Access"))
        .unwrap_or_else(|| panic!("no error line naming Access:\n{out}"));
    assert!(line.contains("Access (AWS::IAM::ManagedPolicy)"), "{line}");
    assert!(line.contains("MalformedPolicyDocument"), "{line}");
    assert_eq!(line.matches("MalformedPolicyDocument").count(), 1, "the code once: {line}");

    // What was created before the failure is in the state, and exists.
    let state = p.state("dev");
    let mut ids: Vec<&String> = state["resources"].as_object().unwrap().keys().collect();
    ids.sort();
    assert_eq!(ids, ["Data", "Role"]);
    let bucket = state["resources"]["Data"]["physical_id"].as_str().unwrap().to_string();
    let role = state["resources"]["Role"]["physical_id"].as_str().unwrap().to_string();
    assert!(emu.bucket_exists(&bucket));
    emu.block(emu.iam.get_role().role_name(&role).send()).expect("the role exists");
    let history = p.run(&["-s", "dev", "stack", "history", "--json"]).ok().json();
    assert_eq!(history.as_array().unwrap().last().unwrap()["result"], "failed");

    // Fixed: the policy is created, nothing else changes, then the preview is empty.
    p.write("template.yaml", &TEMPLATE.replace("EFFECT", "Allow"));
    let plan = p.run(&["-s", "dev", "preview", "--json"]).ok().json();
    let changed: Vec<(&str, &str)> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] != "same")
        .map(|s| (s["id"].as_str().unwrap(), s["action"].as_str().unwrap()))
        .collect();
    assert_eq!(changed, [("Access", "create")]);
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    let state = p.state("dev");
    assert_eq!(state["resources"]["Role"]["physical_id"], role.as_str(), "the role was kept, not re-created");
    let policy_arn =
        p.run(&["-s", "dev", "stack", "output", "--json"]).ok().json()["policy"].as_str().unwrap().to_string();
    let attached = emu.block(emu.iam.list_attached_role_policies().role_name(&role).send()).expect("attached");
    let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|a| a.policy_arn()).collect();
    assert_eq!(arns, [policy_arn.as_str()]);

    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&bucket));
    let (roles, policies, _) = emu.iam_names();
    assert!(!roles.contains(&role), "role {role} remains");
    assert!(!policies.contains(&arn_name(&policy_arn)), "policy {policy_arn} remains");
}
