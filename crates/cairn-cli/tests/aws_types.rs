//! Acceptance, per AWS resource type, through the CLI on the emulator: a small template is
//! created; `preview --expect-no-changes` passes; an in-place update shows `~` and applies
//! (the physical id stays, the change is visible through the SDK); a create-only change
//! shows a replacement and applies (a new physical id, the old resource gone); `destroy`
//! leaves nothing of any resource the test saw.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique, Emu};
use aws_sdk_iam::error::ProvideErrorMetadata;
use common::Proj;
use std::collections::BTreeSet;

use serde_json::Value;

/// One change to a stack's parameter, what the preview must say about `id`, and a check
/// through the SDK once it is applied (given the resource's state after the run).
struct Change<'a> {
    param: &'a str,
    value: &'a str,
    check: &'a dyn Fn(&Emu, &Value),
}

/// Runs create, no-change preview, `update` (in place), `replace` (a replacement), a forced
/// replacement (`--replace`), destroy.
fn lifecycle(template: &str, params: &[(&str, &str)], id: &str, update: Change, replace: Change) {
    let Some(emu) = emulator() else { return };
    let stack_file: String = std::iter::once("parameters:\n".to_string())
        .chain(params.iter().map(|(k, v)| format!("  {k}: \"{v}\"\n")))
        .collect();
    let p = Proj::named(&unique("t"), template, &stack_file);
    let mut seen: Vec<Value> = Vec::new();
    let mut remember = |state: &Value| {
        for r in state["resources"].as_object().expect("resources").values() {
            seen.push(r.clone());
        }
    };

    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    remember(&state);
    for r in state["resources"].as_object().unwrap().values() {
        assert!(exists(&emu, r), "created but not found: {r:#}");
    }
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    let before = state["resources"][id].clone();

    // In place.
    p.run(&["-s", "dev", "config", "set", update.param, update.value]).ok();
    let preview = p.run(&["-s", "dev", "preview"]).ok();
    assert!(has_line(&preview.stdout, "~ ", id, "update"), "expected `~ {id} ... update`:\n{preview}");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    remember(&state);
    let after = &state["resources"][id];
    assert_eq!(after["physical_id"], before["physical_id"], "an update keeps the physical id");
    (update.check)(&emu, after);
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    // Create-only: a replacement.
    p.run(&["-s", "dev", "config", "set", replace.param, replace.value]).ok();
    let preview = p.run(&["-s", "dev", "preview"]).ok();
    assert!(has_line(&preview.stdout, "+-", id, "replace"), "expected `+- {id} ... replace`:\n{preview}");
    assert!(preview.stdout.contains("forces replacement"), "{preview}");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    remember(&state);
    let new = &state["resources"][id];
    assert_ne!(new["physical_id"], before["physical_id"], "a replacement has a new physical id");
    assert!(exists(&emu, new), "the replacement exists: {new:#}");
    assert!(!exists(&emu, &before), "the replaced resource is gone: {before:#}");
    (replace.check)(&emu, new);
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    // A forced replacement with the same inputs leaves the resource in place.
    let old = new.clone();
    let preview = p.run(&["-s", "dev", "preview", "--replace", id]).ok();
    assert!(has_line(&preview.stdout, "+-", id, "replace"), "expected `+- {id} ... replace`:\n{preview}");
    p.run(&["-s", "dev", "up", "--yes", "--replace", id]).ok();
    let state = p.state("dev");
    remember(&state);
    let new = &state["resources"][id];
    assert!(exists(&emu, new), "the forced replacement exists: {new:#}");
    (replace.check)(&emu, new);
    if new["physical_id"] != old["physical_id"] {
        assert!(!exists(&emu, &old), "the replaced resource is gone: {old:#}");
    }
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert_eq!(p.state("dev")["resources"], serde_json::json!({}));
    for r in &seen {
        assert!(!exists(&emu, r), "left behind after destroy: {r:#}");
    }
}

/// A preview line `SYM ID  TYPE  VERB` (components aside, the templates here have none).
fn has_line(text: &str, sym: &str, id: &str, verb: &str) -> bool {
    text.lines().any(|l| {
        let mut words = l.split_whitespace();
        l.trim_start().starts_with(sym) && words.nth(1) == Some(id) && words.nth(1) == Some(verb)
    })
}

/// Whether the resource of a state entry exists in the emulator.
fn exists(emu: &Emu, r: &Value) -> bool {
    let pid = r["physical_id"].as_str().expect("physical id");
    let iam = &emu.iam;
    let gone = |code: Option<&str>| matches!(code, Some("NoSuchEntity"));
    match r["type"].as_str().unwrap() {
        "AWS::S3::Bucket" => emu.bucket_exists(pid),
        "AWS::S3::BucketPolicy" => match emu.block(emu.s3.get_bucket_policy().bucket(pid).send()) {
            Ok(_) => true,
            Err(e) if matches!(e.code(), Some("NoSuchBucketPolicy" | "NoSuchBucket")) => false,
            Err(e) => panic!("GetBucketPolicy {pid}: {e:?}"),
        },
        "AWS::IAM::Role" => match emu.block(iam.get_role().role_name(pid).send()) {
            Ok(_) => true,
            Err(e) if gone(e.code()) => false,
            Err(e) => panic!("GetRole {pid}: {e:?}"),
        },
        "AWS::IAM::ManagedPolicy" => match emu.block(iam.get_policy().policy_arn(pid).send()) {
            Ok(_) => true,
            Err(e) if gone(e.code()) => false,
            Err(e) => panic!("GetPolicy {pid}: {e:?}"),
        },
        "AWS::IAM::InstanceProfile" => match emu.block(iam.get_instance_profile().instance_profile_name(pid).send()) {
            Ok(_) => true,
            Err(e) if gone(e.code()) => false,
            Err(e) => panic!("GetInstanceProfile {pid}: {e:?}"),
        },
        // An inline policy exists while a role named in its inputs carries it.
        "AWS::IAM::Policy" => {
            let name = r["inputs"]["PolicyName"].as_str().expect("PolicyName");
            r["inputs"]["Roles"].as_array().expect("Roles").iter().any(|role| {
                match emu.block(iam.list_role_policies().role_name(role.as_str().unwrap()).send()) {
                    Ok(o) => o.policy_names().iter().any(|n| n == name),
                    Err(e) if gone(e.code()) => false,
                    Err(e) => panic!("ListRolePolicies {role}: {e:?}"),
                }
            })
        }
        other => panic!("no existence check for {other}"),
    }
}

fn pid(r: &Value) -> &str {
    r["physical_id"].as_str().unwrap()
}

const TRUST: &str = r#"
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole"#;

#[test]
fn bucket() {
    let template = r#"
Parameters:
  Suffix: {Type: String}
  Versioning: {Type: String}
  Team: {Type: String}
Resources:
  Data:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-${Suffix}"
      VersioningConfiguration: {Status: !Ref Versioning}
      Tags: [{Key: Team, Value: !Ref Team}]
"#;
    let versioning = |emu: &Emu, r: &Value| {
        let v = emu.block(emu.s3.get_bucket_versioning().bucket(pid(r)).send()).expect("GetBucketVersioning");
        v.status().map(|s| s.as_str().to_string())
    };
    lifecycle(
        template,
        &[("Suffix", "a"), ("Versioning", "Enabled"), ("Team", "data")],
        "Data",
        Change {
            param: "Versioning",
            value: "Suspended",
            check: &|emu, r| assert_eq!(versioning(emu, r).as_deref(), Some("Suspended")),
        },
        Change {
            param: "Suffix",
            value: "b",
            check: &|emu, r| {
                assert!(pid(r).ends_with("-dev-b"), "{r}");
                assert_eq!(versioning(emu, r).as_deref(), Some("Suspended"));
                assert!(emu.bucket_tags(pid(r)).contains(&("Team".to_string(), "data".to_string())));
            },
        },
    );
}

#[test]
fn bucket_tags_update_in_place() {
    let Some(emu) = emulator() else { return };
    let template = "Parameters:\n  Team: {Type: String}\nResources:\n  Data:\n    Type: AWS::S3::Bucket\n    Properties:\n      Tags: [{Key: Team, Value: !Ref Team}]\n";
    let p = Proj::named(&unique("t"), template, "parameters:\n  Team: data\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let bucket = p.state("dev")["resources"]["Data"]["physical_id"].as_str().unwrap().to_string();
    assert!(bucket.starts_with("dev-data-"), "a generated name includes the stack: {bucket}");
    p.run(&["-s", "dev", "config", "set", "Team", "ml"]).ok();
    let preview = p.run(&["-s", "dev", "preview"]).ok();
    assert!(has_line(&preview.stdout, "~ ", "Data", "update"), "{preview}");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let tags = emu.bucket_tags(&bucket);
    assert!(tags.contains(&("Team".to_string(), "ml".to_string())), "{tags:?}");
    assert!(!tags.contains(&("Team".to_string(), "data".to_string())), "{tags:?}");
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&bucket));
}

#[test]
fn bucket_policy() {
    let template = r#"
Parameters:
  Target: {Type: String, AllowedValues: [a, b]}
  Action: {Type: String}
Conditions:
  OnA: !Equals [!Ref Target, a]
Resources:
  A:
    Type: AWS::S3::Bucket
  B:
    Type: AWS::S3::Bucket
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !If [OnA, !Ref A, !Ref B]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Deny
            Principal: "*"
            Action: !Ref Action
            Resource: !If [OnA, !Sub "${A.Arn}/*", !Sub "${B.Arn}/*"]
"#;
    let action = |emu: &Emu, r: &Value| {
        let out = emu.block(emu.s3.get_bucket_policy().bucket(pid(r)).send()).expect("GetBucketPolicy");
        let doc = aws::doc(out.policy().expect("policy"));
        aws::first_statement_actions(&doc)
    };
    lifecycle(
        template,
        &[("Target", "a"), ("Action", "s3:DeleteObject")],
        "Policy",
        Change {
            param: "Action",
            value: "s3:PutObject",
            check: &|emu, r| assert_eq!(action(emu, r), ["s3:PutObject"]),
        },
        Change { param: "Target", value: "b", check: &|emu, r| assert_eq!(action(emu, r), ["s3:PutObject"]) },
    );
}

#[test]
fn role() {
    let template = format!(
        r#"
Parameters:
  Description: {{Type: String}}
  Path: {{Type: String}}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Description: !Ref Description
      Path: !Ref Path{TRUST}
"#
    );
    let get = |emu: &Emu, r: &Value| {
        let out = emu.block(emu.iam.get_role().role_name(pid(r)).send()).expect("GetRole");
        let role = out.role().expect("role").clone();
        (role.description().map(str::to_string), role.path().to_string())
    };
    lifecycle(
        &template,
        &[("Description", "first"), ("Path", "/a/")],
        "Role",
        Change {
            param: "Description",
            value: "second",
            check: &|emu, r| assert_eq!(get(emu, r), (Some("second".to_string()), "/a/".to_string())),
        },
        Change {
            param: "Path",
            value: "/b/",
            check: &|emu, r| assert_eq!(get(emu, r), (Some("second".to_string()), "/b/".to_string())),
        },
    );
}

#[test]
fn managed_policy() {
    let template = r#"
Parameters:
  Action: {Type: String}
  Path: {Type: String}
Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Path: !Ref Path
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: !Ref Action
            Resource: "*"
"#;
    let action = |emu: &Emu, r: &Value| {
        let doc = emu.policy_document(pid(r));
        aws::first_statement_actions(&doc)
    };
    lifecycle(
        template,
        &[("Action", "s3:GetObject"), ("Path", "/a/")],
        "Policy",
        Change {
            param: "Action",
            value: "s3:ListBucket",
            check: &|emu, r| assert_eq!(action(emu, r), ["s3:ListBucket"]),
        },
        Change {
            param: "Path",
            value: "/b/",
            check: &|emu, r| {
                assert!(pid(r).contains(":policy/b/"), "{r}");
                assert_eq!(action(emu, r), ["s3:ListBucket"]);
            },
        },
    );
}

#[test]
fn instance_profile() {
    let template = format!(
        r#"
Parameters:
  Holder: {{Type: String, AllowedValues: [a, b]}}
  Path: {{Type: String}}
Conditions:
  HoldsA: !Equals [!Ref Holder, a]
Resources:
  RoleA:
    Type: AWS::IAM::Role
    Properties:{TRUST}
  RoleB:
    Type: AWS::IAM::Role
    Properties:{TRUST}
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Path: !Ref Path
      Roles: [!If [HoldsA, !Ref RoleA, !Ref RoleB]]
"#
    );
    let holder = |emu: &Emu, r: &Value| {
        let out =
            emu.block(emu.iam.get_instance_profile().instance_profile_name(pid(r)).send()).expect("GetInstanceProfile");
        let p = out.instance_profile().expect("profile").clone();
        (p.roles().iter().map(|r| r.role_name().to_string()).collect::<Vec<_>>(), p.path().to_string())
    };
    lifecycle(
        &template,
        &[("Holder", "a"), ("Path", "/a/")],
        "Profile",
        Change {
            param: "Holder",
            value: "b",
            check: &|emu, r| {
                assert_eq!(
                    holder(emu, r),
                    (vec![r["inputs"]["Roles"][0].as_str().unwrap().to_string()], "/a/".to_string())
                )
            },
        },
        Change { param: "Path", value: "/b/", check: &|emu, r| assert_eq!(holder(emu, r).1, "/b/") },
    );
}

/// `AWS::IAM::Policy` has no create-only property: a changed document and a rename are
/// both updates in place; `--replace` forces a replacement.
#[test]
fn inline_policy() {
    let Some(emu) = emulator() else { return };
    let template = format!(
        r#"
Parameters:
  Name: {{Type: String}}
  Action: {{Type: String}}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:{TRUST}
  Inline:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: !Ref Name
      Roles: [!Ref Role]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: !Ref Action
            Resource: "*"
"#
    );
    let p = Proj::named(&unique("t"), &template, "parameters:\n  Name: first\n  Action: s3:GetObject\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    let role = p.state("dev")["resources"]["Role"]["physical_id"].as_str().unwrap().to_string();
    let inline = |name: &str| -> Option<Vec<String>> {
        match emu.block(emu.iam.get_role_policy().role_name(&role).policy_name(name).send()) {
            Ok(o) => {
                let doc = aws::doc(o.policy_document());
                Some(aws::first_statement_actions(&doc))
            }
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("GetRolePolicy: {e:?}"),
        }
    };
    assert_eq!(inline("first"), Some(vec!["s3:GetObject".to_string()]));

    p.run(&["-s", "dev", "config", "set", "Action", "s3:PutObject"]).ok();
    let preview = p.run(&["-s", "dev", "preview"]).ok();
    assert!(has_line(&preview.stdout, "~ ", "Inline", "update"), "{preview}");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    assert_eq!(inline("first"), Some(vec!["s3:PutObject".to_string()]));
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    p.run(&["-s", "dev", "config", "set", "Name", "second"]).ok();
    let preview = p.run(&["-s", "dev", "preview"]).ok();
    assert!(has_line(&preview.stdout, "~ ", "Inline", "update"), "{preview}");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    assert_eq!(inline("first"), None, "the old name is deleted");
    assert_eq!(inline("second"), Some(vec!["s3:PutObject".to_string()]));
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    let old = p.state("dev")["resources"]["Inline"]["physical_id"].clone();
    let preview = p.run(&["-s", "dev", "preview", "--replace", "Inline"]).ok();
    assert!(has_line(&preview.stdout, "+-", "Inline", "replace"), "{preview}");
    p.run(&["-s", "dev", "up", "--yes", "--replace", "Inline"]).ok();
    assert_ne!(p.state("dev")["resources"]["Inline"]["physical_id"], old);
    assert_eq!(inline("second"), Some(vec!["s3:PutObject".to_string()]));
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();

    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    let (roles, _, _) = emu.iam_names();
    assert!(!roles.contains(&role), "role {role} remains");
}

/// `preview --diff` and `--json` name the leaf that changed: a lifecycle rule's day on a
/// bucket and a statement removed from a managed policy (the other statements, one with
/// its actions reordered, are unchanged); `up` then applies exactly that.
#[test]
fn structural_diff_of_a_lifecycle_day_and_a_removed_statement() {
    let Some(emu) = emulator() else { return };
    let template = |days: u32, statements: &str| {
        format!(
            r#"
Resources:
  Data:
    Type: AWS::S3::Bucket
    Properties:
      LifecycleConfiguration:
        Rules:
          - Id: archive
            Status: Enabled
            Transitions: [{{StorageClass: GLACIER, TransitionInDays: {days}}}]
          - Id: expire
            Status: Enabled
            ExpirationInDays: 365
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:{statements}
"#
        )
    };
    let read = "\n          - {Sid: Read, Effect: Allow, Action: [s3:GetObject, s3:ListBucket], Resource: '*'}";
    let read_reordered =
        "\n          - {Sid: Read, Effect: Allow, Action: [s3:ListBucket, s3:GetObject], Resource: '*'}";
    let write = "\n          - {Sid: Write, Effect: Allow, Action: s3:PutObject, Resource: 'arn:aws:s3:::logs/*'}";
    let list = "\n          - {Sid: List, Effect: Allow, Action: s3:ListAllMyBuckets, Resource: '*'}";
    let p = Proj::named(&unique("t"), &template(30, &format!("{read}{write}{list}")), "parameters: {}\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    p.write("template.yaml", &template(60, &format!("{read_reordered}{list}")));

    let plan = p.run(&["-s", "dev", "preview", "--json"]).ok().json();
    let details = |id: &str, property: &str| -> Vec<Value> {
        let step = plan["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).expect(id);
        assert_eq!(step["action"], "update", "{step:#}");
        let changes = step["changes"].as_array().expect("changes");
        assert_eq!(changes.len(), 1, "{step:#}");
        assert_eq!(changes[0]["property"], property);
        changes[0]["details"].as_array().expect("details").clone()
    };
    assert_eq!(
        details("Data", "LifecycleConfiguration"),
        [
            serde_json::json!({"path": "Rules[0].Transitions[0].TransitionInDays", "kind": "update", "old": 30, "new": 60})
        ]
    );
    assert_eq!(
        details("Policy", "PolicyDocument"),
        [serde_json::json!({
            "path": "Statement[1]",
            "kind": "delete",
            "old": {"Sid": "Write", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/*"},
            "new": null
        })]
    );
    let text = p.run(&["-s", "dev", "preview", "--diff"]).ok();
    for line in [
        "       ~ LifecycleConfiguration:\n           ~ Rules[0].Transitions[0].TransitionInDays: 30 => 60\n",
        "       ~ PolicyDocument:\n           - Statement[1]: {\"Action\":\"s3:PutObject\",",
    ] {
        assert!(text.stdout.contains(line), "expected {line:?} in:\n{text}");
    }

    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    let bucket = state["resources"]["Data"]["physical_id"].as_str().unwrap().to_string();
    let l = emu.block(emu.s3.get_bucket_lifecycle_configuration().bucket(&bucket).send()).expect("lifecycle");
    let days: Vec<Option<i32>> = l.rules().iter().flat_map(|r| r.transitions().iter().map(|t| t.days())).collect();
    assert_eq!(days, [Some(60)]);
    let doc = emu.policy_document(pid(&state["resources"]["Policy"]));
    let sids: BTreeSet<&str> =
        doc["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap()).collect();
    assert_eq!(sids, BTreeSet::from(["List", "Read"]));
    p.run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert!(!emu.bucket_exists(&bucket));
}
