//! `-C DIR`, `cairn init`, `cairn stack init|select|ls|rm`, `cairn config set|get|rm`.

mod common;

use common::{run_in, Proj};

#[test]
fn dash_c_works_from_another_directory() {
    let p = Proj::hello();
    let elsewhere = Proj::empty();
    let dir = p.path().to_str().unwrap();
    let out = run_in(elsewhere.path(), &["-C", dir, "-s", "development", "up", "--yes"]).ok();
    assert!(out.stdout.contains("Up of hello/development"), "{out}");
    run_in(elsewhere.path(), &["-C", dir, "-s", "development", "preview", "--expect-no-changes"]).ok();
    assert!(p.join(".cairn/stacks/development/snapshot.json").exists());
    assert!(!elsewhere.join(".cairn").exists());
    // From a subdirectory of the project, Cairn.yaml is found in a parent.
    run_in(&p.join("components"), &["-s", "development", "preview", "--expect-no-changes"]).ok();
    let out = run_in(elsewhere.path(), &["-C", "/nonexistent/dir", "preview"]).code(2);
    p.snapshot("project_dash_c_missing", &out);
}

#[test]
fn init_creates_a_project_whose_preview_works() {
    let p = Proj::empty();
    std::fs::create_dir(p.join("demo")).unwrap();
    let dir = p.join("demo");
    let out = run_in(&dir, &["init"]).ok();
    assert!(out.stderr.contains("Created project `demo` with stack `dev`"), "{out}");
    for f in ["Cairn.yaml", "template.yaml", "stacks/dev.yaml", ".gitignore"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let mut demo = Proj::empty();
    demo.replace(dir.to_str().unwrap(), "[DIR]");
    demo.snapshot("project_init_preview", &run_in(&dir, &["preview"]).ok());
    run_in(&dir, &["validate"]).ok();
    run_in(&dir, &["up", "--yes"]).ok();
    run_in(&dir, &["preview", "--expect-no-changes"]).ok();
    let out = run_in(&dir, &["stack", "output", "environment"]).ok();
    assert_eq!(out.stdout, "dev\n");
    // A second init refuses.
    run_in(&dir, &["init"]).code(2);
}

#[test]
fn stack_init_select_ls_rm() {
    let p = Proj::hello();
    let out = p.run(&["stack", "init", "qa", "--region", "eu-west-1"]).ok();
    p.snapshot("project_stack_init", &out);
    assert_eq!(p.read("stacks/qa.yaml").trim(), "region: eu-west-1");
    p.run(&["stack", "init", "qa"]).code(2);
    p.run(&["stack", "init", "../x"]).code(2);
    // qa is selected; it has no Environment yet.
    let out = p.run(&["preview"]).code(2);
    assert!(out.stderr.contains("stacks/qa.yaml") || out.stderr.contains("Environment"), "{out}");
    p.run(&["config", "set", "Environment", "staging"]).ok();
    p.run(&["up", "--yes"]).ok();
    p.snapshot("project_stack_ls", &p.run(&["stack", "ls"]).ok());
    p.run(&["stack", "select", "development"]).ok();
    p.run(&["stack", "select", "nope"]).code(2);
    let ls = p.run(&["stack", "ls", "--json"]).ok().json();
    let selected: Vec<&str> =
        ls.as_array().unwrap().iter().filter(|s| s["selected"] == true).map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(selected, ["development"]);
    // rm refuses while the stack has resources, and asks before removing.
    let out = p.run(&["stack", "rm", "qa"]).code(2);
    p.snapshot("project_stack_rm_not_empty", &out);
    p.run(&["-s", "qa", "destroy", "--yes"]).ok();
    p.run(&["stack", "rm", "qa"]).code(5);
    assert!(p.join("stacks/qa.yaml").exists());
    p.snapshot("project_stack_rm", &p.run(&["stack", "rm", "qa", "--yes"]).ok());
    assert!(!p.join("stacks/qa.yaml").exists());
    assert!(!p.join(".cairn/stacks/qa").exists());
    let ls = p.run(&["stack", "ls", "--json"]).ok().json();
    assert!(ls.as_array().unwrap().iter().all(|s| s["name"] != "qa"));
}

#[test]
fn config_set_get_rm() {
    let p = Proj::hello();
    p.run(&["stack", "select", "staging"]).ok();
    p.run(&["config", "get", "TokenLength"]).code(2);
    p.run(&["config", "set", "TokenLength", "24"]).ok();
    assert_eq!(p.run(&["config", "get", "TokenLength"]).ok().stdout, "24\n");
    assert_eq!(p.run(&["config", "get", "TokenLength", "--json"]).ok().stdout, "24\n");
    p.run(&["config", "set", "region", "eu-central-1"]).ok();
    p.run(&["config", "set", "tags.Team", "platform"]).ok();
    assert_eq!(p.run(&["config", "get", "region"]).ok().stdout, "eu-central-1\n");
    assert_eq!(p.run(&["config", "get", "tags.Team"]).ok().stdout, "platform\n");
    // Inherited from Cairn.yaml's defaults.
    assert_eq!(p.run(&["config", "get", "tags.Application"]).ok().stdout, "hello\n");
    p.snapshot("project_config_ls", &p.run(&["config", "ls"]).ok());
    p.snapshot(
        "project_stack_file",
        &common::Out { code: 0, stdout: p.read("stacks/staging.yaml"), stderr: String::new() },
    );
    // The set value reaches the plan.
    let plan = p.run(&["preview", "--json"]).ok().json();
    let token = plan["steps"].as_array().unwrap().iter().find(|s| s["id"] == "Token.Value").unwrap();
    assert_eq!(token["properties"]["Length"], "24");
    p.snapshot("project_config_rm", &p.run(&["config", "rm", "TokenLength"]).ok());
    p.run(&["config", "rm", "TokenLength"]).code(2);
    p.run(&["config", "get", "TokenLength"]).code(2);
    // A value outside the parameter's range is rejected where it is written.
    p.run(&["config", "set", "TokenLength", "4"]).ok();
    let out = p.run(&["preview"]).code(2);
    assert!(out.stderr.contains("stacks/staging.yaml"), "{out}");
}

/// Where each stack's state goes: `CAIRN_BACKEND` > the stack file's `backend` > Cairn.yaml's
/// `backend` > `.cairn/`; every command that reads state follows it.
#[test]
fn a_stack_file_may_name_its_own_backend() {
    let p = Proj::hello();
    let cairn = p.read("Cairn.yaml").replacen(
        "template: template.yaml\n",
        "template: template.yaml\nbackend: file://shared\n",
        1,
    );
    p.write("Cairn.yaml", &cairn);
    p.write("stacks/staging.yaml", "backend: file://team\nparameters:\n  Environment: staging\n");

    p.run(&["-s", "development", "up", "--yes"]).ok();
    let out = p.run(&["-s", "staging", "up", "--yes"]).ok();
    assert!(out.stdout.contains(&format!("Up of hello/staging (file://{}", p.join("team").display())), "{out}");
    assert!(p.join("shared/stacks/development/snapshot.json").exists());
    assert!(p.join("team/stacks/staging/snapshot.json").exists());
    assert!(!p.join("shared/stacks/staging").exists() && !p.join(".cairn/stacks").exists());
    for stack in ["development", "staging"] {
        p.run(&["-s", stack, "preview", "--expect-no-changes"]).ok();
        let history = p.run(&["-s", stack, "stack", "history", "--json"]).ok().json();
        assert_eq!(history.as_array().map(Vec::len), Some(1), "{stack}: {history}");
        assert!(p.run(&["-s", stack, "stack", "export"]).ok().json()["state"]["resources"]["Suffix"].is_object());
        p.run(&["-s", stack, "stack", "output", "name"]).ok();
    }

    // `stack ls` reads each stack in its own backend and says where.
    let ls = p.run(&["stack", "ls", "--json"]).ok().json();
    let backends: Vec<(String, String, u64)> = ls
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let b = s["backend"].as_str().unwrap();
            let dir = b.rsplit('/').next().unwrap().to_string();
            (s["name"].as_str().unwrap().to_string(), dir, s["resources"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        backends,
        [
            ("development".into(), "shared".into(), 3),
            ("production".into(), "shared".into(), 0),
            ("staging".into(), "team".into(), 3)
        ]
    );
    let text = p.run(&["stack", "ls"]).ok();
    assert!(text.stdout.lines().next().is_some_and(|h| h.contains("BACKEND")), "{text}");

    // Editing the stack file keeps its backend (in the fixed key order).
    p.run(&["-s", "staging", "config", "set", "tags.Team", "data"]).ok();
    assert_eq!(
        p.read("stacks/staging.yaml"),
        "backend: file://team\nparameters:\n  Environment: staging\ntags:\n  Team: data\n"
    );

    // CAIRN_BACKEND overrides both.
    let elsewhere = Proj::empty();
    let url = format!("file://{}", elsewhere.path().display());
    let run = |args: &[&str]| {
        let o = Proj::cmd_in(p.path(), args).env("CAIRN_BACKEND", &url).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    run(&["-s", "staging", "up", "--yes"]);
    assert!(elsewhere.join("stacks/staging/snapshot.json").exists());
    let ls: serde_json::Value = serde_json::from_str(&run(&["stack", "ls", "--json"])).unwrap();
    assert!(ls.as_array().unwrap().iter().all(|s| s["backend"] == url.as_str()), "{ls}");
    // The stack's own backend still has its own state, untouched.
    let history = p.run(&["-s", "staging", "stack", "history", "--json"]).ok().json();
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");

    // A stack's backend that cannot be read is reported, and the others are still listed.
    p.write("stacks/production.yaml", "backend: s3://no-such-bucket/x\nparameters:\n  Environment: production\n");
    let out = p.run(&["stack", "ls", "--json"]);
    assert_eq!(out.code, 0, "{out}");
    let rows = out.json();
    let prod = rows.as_array().unwrap().iter().find(|s| s["name"] == "production").unwrap().clone();
    assert!(prod["error"].as_str().is_some_and(|e| e.contains("region")), "{prod}");
    assert!(out.stderr.contains("warning: cannot read the state of stack `production`"), "{out}");
}

#[test]
fn config_set_keeps_the_comments_the_stack_file_starts_with() {
    let p = Proj::hello();
    let header = "# Staging: as production, smaller.\n#   (see README.md)\n\n# Owner: platform team.\n";
    p.write("stacks/staging.yaml", &format!("{header}\nparameters:\n  Environment: staging\n"));
    p.run(&["-s", "staging", "config", "set", "TokenLength", "24"]).ok();
    let text = p.read("stacks/staging.yaml");
    assert_eq!(text, format!("{header}parameters:\n  Environment: staging\n  TokenLength: 24\n"));
    // Again: the header is not doubled.
    p.run(&["-s", "staging", "config", "rm", "TokenLength"]).ok();
    assert_eq!(p.read("stacks/staging.yaml"), format!("{header}parameters:\n  Environment: staging\n"));
}

/// `validate` needs no AWS access (a pull request's check, as the reference systems run it):
/// the SSM parameters a template names stay unknown when AWS cannot be asked, with a note;
/// `preview` reads them.
#[test]
fn validate_needs_no_aws_for_the_ssm_parameters_a_template_names() {
    let p = Proj::with_template(
        r#"
Parameters:
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
Resources:
  Image:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Ref Ami
  Host:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: "{{resolve:ssm:/db/host}}"
"#,
        "",
    );
    // An endpoint that refuses every connection: AWS cannot be asked.
    let out = Proj::cmd_in(p.path(), &["validate"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("note: the SSM parameters the template names were not read"), "{stderr}");
    assert!(stderr.contains("template.yaml is valid for stack `dev`: 2 resources"), "{stderr}");
}
