//! Snapshots of what users read: plans, progress, summaries, outputs, history, listings.
//! Each test runs in its own copy of examples/hello.

mod common;

use common::Proj;

#[test]
fn preview_text_json_and_diff() {
    let p = Proj::hello();
    p.snapshot("output_preview_text", &p.run(&["-s", "development", "preview"]).ok());
    p.snapshot("output_preview_json", &p.run(&["-s", "development", "preview", "--json"]).ok());
    p.snapshot("output_preview_diff", &p.run(&["-s", "development", "preview", "--diff"]).ok());
    // Previews are deterministic: byte-identical for the same inputs.
    assert_eq!(
        p.run(&["-s", "development", "preview", "--json"]).stdout,
        p.run(&["-s", "development", "preview", "--json"]).stdout
    );
    // A preview changes nothing.
    assert!(!p.join(".cairn/stacks/development").exists(), "preview wrote state");
}

#[test]
fn up_then_destroy() {
    let mut p = Proj::hello();
    let up = p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    p.snapshot("output_up", &up);
    p.snapshot("output_up_again", &p.run(&["-s", "development", "up", "--yes"]).ok());
    p.snapshot("output_destroy", &p.run(&["-s", "development", "destroy", "--yes"]).ok());
    p.snapshot("output_destroy_again", &p.run(&["-s", "development", "destroy", "--yes"]).ok());
}

#[test]
fn production_up_and_destroy_keeps_the_retained_resource() {
    let mut p = Proj::hello();
    let up = p.run(&["-s", "production", "up", "--yes"]).ok();
    p.learn_ids("production");
    p.snapshot_unordered_progress("output_production_up", &up);
    p.snapshot_unordered_progress("output_production_destroy", &p.run(&["-s", "production", "destroy", "--yes"]).ok());
}

#[test]
fn replacement_after_config_set() {
    let mut p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    let old_token = p.state("development")["resources"]["Token.Value"]["physical_id"].as_str().unwrap().to_string();
    p.replace(&old_token, "[old Token.Value]");
    p.snapshot("output_config_set", &p.run(&["-s", "development", "config", "set", "TokenLength", "20"]).ok());
    assert!(p.read("stacks/development.yaml").contains("TokenLength: 20\n"), "{}", p.read("stacks/development.yaml"));
    p.snapshot("output_replace_preview", &p.run(&["-s", "development", "preview"]).ok());
    p.snapshot("output_replace_preview_diff", &p.run(&["-s", "development", "preview", "--diff"]).ok());
    p.snapshot("output_replace_preview_json", &p.run(&["-s", "development", "preview", "--json"]).ok());
    let up = p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    p.snapshot("output_replace_up", &up);
    let new_token = p.state("development")["resources"]["Token.Value"]["physical_id"].as_str().unwrap().to_string();
    assert_ne!(old_token, new_token);
    assert_eq!(new_token.chars().count(), 20);
}

#[test]
fn stack_output_forms() {
    let mut p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    p.run(&["stack", "select", "development"]).ok();
    p.snapshot("output_stack_output", &p.run(&["stack", "output"]).ok());
    p.snapshot("output_stack_output_json", &p.run(&["stack", "output", "--json"]).ok());
    p.snapshot("output_stack_output_shell", &p.run(&["stack", "output", "--shell"]).ok());
    p.snapshot("output_stack_output_one", &p.run(&["stack", "output", "name"]).ok());
    p.snapshot("output_stack_output_unknown", &p.run(&["stack", "output", "nmae"]).code(2));
}

#[test]
fn stack_history_and_listings() {
    let p = Proj::hello();
    p.run(&["stack", "select", "development"]).ok();
    p.snapshot("output_history_empty", &p.run(&["stack", "history"]).ok());
    p.run(&["up", "--yes"]).ok();
    p.run(&["config", "set", "TokenLength", "20"]).ok();
    p.run(&["up", "--yes"]).ok();
    p.run(&["destroy", "--yes"]).ok();
    p.snapshot("output_history_json", &p.run(&["stack", "history", "--json"]).ok());
    p.snapshot("output_history_text", &p.run(&["stack", "history"]).ok());
    p.run(&["-s", "staging", "up", "--yes"]).ok();
    p.snapshot("output_stack_ls", &p.run(&["stack", "ls"]).ok());
    p.snapshot("output_stack_ls_json", &p.run(&["stack", "ls", "--json"]).ok());
    p.snapshot("output_config_ls", &p.run(&["config", "ls"]).ok());
    p.snapshot("output_config_ls_json", &p.run(&["config", "ls", "--json"]).ok());
    p.snapshot("output_validate", &p.run(&["validate"]).ok());
    p.snapshot("output_validate_production", &p.run(&["-s", "production", "validate"]).ok());
}

/// The structural diff of a nested property (a sleep's `Triggers`, create-only, so the
/// change is a replacement): a lifecycle day, a removed policy statement next to reordered
/// actions, a JSON string, a secret, an added key, a long statement folded, and a whole
/// scalar property; the same in `--json` details and in `up --diff`'s plan.
#[test]
fn structural_diff_text_and_json() {
    let template = |days: u32, statements: &str, period: u32, duration: &str, extra: &str| {
        format!(
            r#"Parameters:
  Token: {{Type: String, NoEcho: true}}
Resources:
  Gate:
    Type: Cairn::Time::Sleep
    Properties:
      CreateDuration: {duration}
      Triggers:
        Lifecycle:
          Rules:
            - Id: archive
              Transitions: [{{StorageClass: GLACIER, TransitionInDays: {days}}}]
            - Id: expire
              ExpirationInDays: 365
        Policy:
          Version: "2012-10-17"
          Statement:{statements}
        Dashboard: '{{"widgets":[{{"type":"metric","properties":{{"period":{period},"stat":"Sum"}}}}]}}'
        Token: !Ref Token{extra}
"#
        )
    };
    let read = "\n            - {Sid: Read, Effect: Allow, Action: [s3:GetObject, s3:ListBucket], Resource: '*'}";
    let read_reordered =
        "\n            - {Sid: Read, Effect: Allow, Action: [s3:ListBucket, s3:GetObject], Resource: '*'}";
    let write = "\n            - {Sid: Write, Effect: Allow, Action: s3:PutObject, Resource: 'arn:aws:s3:::logs/*'}";
    let audit = "\n            - {Sid: Audit, Effect: Allow, Action: [cloudtrail:LookupEvents, cloudtrail:GetTrailStatus], Resource: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/audit'}";
    let p = Proj::with_template(&template(30, &format!("{read}{write}"), 300, "0s", ""), "region: us-east-1\n");
    let run = |args: &[&str]| {
        let o = Proj::cmd_in(p.path(), args).env("CAIRN_PASSPHRASE", "a passphrase for the test").output().unwrap();
        common::Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    run(&["-s", "dev", "config", "set", "--secret", "Token", "first-token-value"]).ok();
    run(&["-s", "dev", "up", "--yes"]).ok();
    p.write("template.yaml", &template(60, &format!("{read_reordered}{audit}"), 60, "1ms", "\n        Owner: team-a"));
    run(&["-s", "dev", "config", "set", "--secret", "Token", "second-token-value"]).ok();

    let text = run(&["-s", "dev", "preview", "--diff"]).ok();
    p.snapshot("output_structural_diff", &text);
    let json = run(&["-s", "dev", "preview", "--json"]).ok();
    p.snapshot("output_structural_diff_json", &json);
    for out in [&text, &json] {
        assert!(!out.to_string().contains("token-value"), "a secret was shown:\n{out}");
    }
    let changes = &json.json()["steps"][0]["changes"];
    let details = |property: &str| -> Vec<(String, String)> {
        let c = changes.as_array().unwrap().iter().find(|c| c["property"] == property).expect(property);
        c["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["path"].as_str().unwrap().to_string(), d["kind"].as_str().unwrap().to_string()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(details("CreateDuration"), pairs(&[("", "update")]));
    assert_eq!(
        details("Triggers"),
        pairs(&[
            ("Dashboard.widgets[0].properties.period", "update"),
            ("Lifecycle.Rules[0].Transitions[0].TransitionInDays", "update"),
            ("Owner", "add"),
            ("Policy.Statement[1]", "delete"),
            ("Policy.Statement[1]", "add"),
            ("Token", "update"),
        ])
    );

    // `up --diff` shows the same plan.
    let up = run(&["-s", "dev", "up", "--diff", "--yes"]).ok();
    let body = |s: &str| s.lines().skip(1).take_while(|l| !l.starts_with("Plan:")).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&up.stdout), body(&text.stdout));
    run(&["-s", "dev", "preview", "--expect-no-changes"]).ok();
}

/// `cairn types`: every registered type, sorted, with no project, no region and no AWS
/// call (the endpoint here answers nothing, and no credentials are set).
#[test]
fn types_text_and_json() {
    let p = Proj::empty();
    let run = |args: &[&str]| {
        let o = Proj::cmd_in(p.path(), args)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        common::Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    let text = run(&["types"]).ok();
    p.snapshot("output_types_text", &text);
    assert!(text.stderr.is_empty(), "{text}");
    let json = run(&["types", "--json"]).ok();
    p.snapshot("output_types_json", &json);

    // The shape: one object per registered type, sorted by type.
    let mut reg = cairn_core::provider::Registry::new();
    cairn_core::builtin::register(&mut reg);
    cairn_aws::register(&mut reg, cairn_aws::Aws::unconfigured());
    let rows = json.json();
    let rows = rows.as_array().expect("a JSON array");
    let names: Vec<&str> = rows.iter().map(|r| r["type"].as_str().expect("type is a string")).collect();
    let mut registered: Vec<&str> = reg.type_names().collect();
    registered.sort();
    assert_eq!(names, registered);
    let step_names: Vec<&str> = cairn_core::provider::Step::ALL.iter().map(|s| s.name()).collect();
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().expect("an array").iter().map(|s| s.as_str().expect("a string").to_string()).collect()
    };
    let fixtures = cairn_aws::fixtures();
    for r in rows {
        let name = r["type"].as_str().unwrap();
        assert!(r["ref"].is_string(), "{r}");
        let t = reg.get(name).unwrap();
        assert_eq!(strings(&r["attributes"]), t.schema().attributes, "{name}");
        let verified = strings(&r["verified"]);
        assert!(verified.iter().all(|s| step_names.contains(&s.as_str())), "{name}: {verified:?}");
        for u in r["unverified"].as_array().expect("unverified is an array") {
            assert!(step_names.contains(&u["step"].as_str().expect("step")), "{u}");
            assert!(!verified.contains(&u["step"].as_str().unwrap().to_string()), "{name}: {u} is also verified");
            assert!(!u["why"].as_str().expect("why").is_empty(), "{u}");
        }
        match fixtures.iter().find(|(n, _)| *n == name) {
            // The steps the conformance suite runs for the type.
            Some((_, f)) => {
                let want: Vec<String> = f.conformance().verified.iter().map(|s| s.name().to_string()).collect();
                assert_eq!(verified, want, "{name}");
                assert!(!r["ref"].as_str().unwrap().is_empty(), "{name} says nothing of Ref");
            }
            // cairn's own types never claim emulator steps.
            None => {
                assert_eq!(verified, Vec::<String>::new(), "{name}");
                assert!(r["note"].is_string(), "{name} has no note: {r}");
            }
        }
        // cairn's built-in types (no cloud, no fixture) are tested by the engine tests;
        // a `Cairn::` type on AWS (the DSQL peering) has its fixture like any AWS type.
        if name.starts_with("Cairn::") && !fixtures.iter().any(|(n, _)| *n == name) {
            assert!(r["note"].as_str().unwrap().contains("engine tests"), "{r}");
            assert!(!r["ref"].as_str().unwrap().is_empty(), "{name} says nothing of Ref");
        }
    }
}
