//! Secrets end to end: examples/hello with a NoEcho parameter set with `config set
//! --secret`. The secret must appear nowhere (stack file, `.cairn/`, any output) unless
//! `--show-secrets` asks for it; a wrong passphrase fails first with exit code 2; a KMS
//! stack needs no passphrase; `change-secrets-provider` keeps everything working.

mod common;

use std::path::Path;

use common::{Out, Proj};

const SECRET: &str = "Sup3r-S3cret-Value-42";
const PASSPHRASE: &str = "correct horse battery staple";

/// examples/hello with a NoEcho parameter used by a resource and an output.
fn project() -> Proj {
    let p = Proj::hello();
    let template = p.read("template.yaml");
    let template = template
        .replace(
            "  Pause:\n    Type: String\n    Default: 0s\n",
            "  Pause:\n    Type: String\n    Default: 0s\n  DbPassword:\n    Type: String\n    NoEcho: true\n",
        )
        .replace(
            "Outputs:\n",
            "  Vault:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 8\n      Keepers:\n        pw: !Ref DbPassword\n\nOutputs:\n  dsn:\n    Value: !Sub \"postgres://app:${DbPassword}@db\"\n",
        );
    assert!(template.contains("NoEcho") && template.contains("dsn:"), "examples/hello changed:\n{template}");
    p.write("template.yaml", &template);
    p
}

/// `cairn ARGS` with these environment variables and `stdin`.
fn run_env(p: &Proj, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Out {
    let mut c = Proj::cmd_in(p.path(), args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.write_stdin(stdin.to_string()).output().expect("run cairn");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn with_pass(p: &Proj, args: &[&str]) -> Out {
    run_env(p, args, &[("CAIRN_PASSPHRASE", PASSPHRASE)], "")
}

/// Every file under `dir`, as text.
fn all_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.display().to_string(), String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into()));
        }
    }
    out
}

#[track_caller]
fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret:\n{text}");
}

#[track_caller]
fn assert_no_secret_at_rest(p: &Proj) {
    for (path, text) in all_files(&p.join(".cairn")).into_iter().chain(all_files(&p.join("stacks"))) {
        assert_hidden(&path, &text);
    }
}

#[test]
fn secrets_stay_encrypted_and_hidden_unless_asked() {
    let p = project();
    p.run(&["stack", "select", "development"]).ok();

    // No passphrase and no terminal: a clear error, nothing written.
    let before = p.read("stacks/development.yaml");
    let out = run_env(&p, &["config", "set", "--secret", "DbPassword"], &[], SECRET).code(2);
    assert!(out.stderr.contains("CAIRN_PASSPHRASE"), "{out}");
    assert_eq!(p.read("stacks/development.yaml"), before);

    // The value comes from stdin and is never echoed.
    let out = run_env(
        &p,
        &["config", "set", "--secret", "DbPassword"],
        &[("CAIRN_PASSPHRASE", PASSPHRASE)],
        &format!("{SECRET}\n"),
    )
    .ok();
    assert_hidden("config set", &out.to_string());
    let stack_file = p.read("stacks/development.yaml");
    assert!(stack_file.contains("secretsprovider: passphrase"), "{stack_file}");
    assert!(stack_file.contains("encryptionsalt: v1:"), "{stack_file}");
    assert!(stack_file.contains("  DbPassword:\n    secure: v1:"), "{stack_file}");
    assert!(!stack_file.contains(PASSPHRASE));
    assert_no_secret_at_rest(&p);

    // config get / ls: [secret] unless --show-secrets (which needs the passphrase).
    let out = p.run(&["config", "get", "DbPassword"]).ok();
    assert_eq!(out.stdout, "[secret]\n");
    assert_eq!(p.run(&["config", "get", "DbPassword", "--json"]).ok().stdout, "\"[secret]\"\n");
    let out = p.run(&["config", "ls"]).ok();
    assert!(out.stdout.contains("DbPassword        [secret]"), "{out}");
    assert_hidden("config ls --json", &p.run(&["config", "ls", "--json"]).ok().stdout);
    p.run(&["config", "get", "DbPassword", "--show-secrets"]).code(2);
    assert_eq!(with_pass(&p, &["config", "get", "DbPassword", "--show-secrets"]).ok().stdout, format!("{SECRET}\n"));
    assert!(with_pass(&p, &["config", "ls", "--show-secrets"]).ok().stdout.contains(SECRET));

    // preview and up: the secret is in a resource's properties and an output.
    let mut outs = vec![
        with_pass(&p, &["preview"]).ok(),
        with_pass(&p, &["preview", "--diff"]).ok(),
        with_pass(&p, &["preview", "--json"]).ok(),
    ];
    let up = with_pass(&p, &["up", "--yes", "--diff"]).ok();
    assert!(up.stdout.contains("dsn          [secret]"), "{up}");
    outs.push(up);
    outs.push(with_pass(&p, &["preview", "--expect-no-changes"]).ok());
    outs.push(with_pass(&p, &["preview", "--json", "--expect-no-changes"]).ok());
    // stack output needs no passphrase to show [secret].
    outs.push(p.run(&["stack", "output"]).ok());
    outs.push(p.run(&["stack", "output", "--json"]).ok());
    outs.push(p.run(&["stack", "output", "--shell"]).ok());
    outs.push(p.run(&["stack", "output", "dsn"]).ok());
    outs.push(p.run(&["stack", "export"]).ok());
    outs.push(p.run(&["stack", "history"]).ok());
    for o in &outs {
        assert_hidden("a command's output", &o.to_string());
    }
    assert_eq!(p.run(&["stack", "output", "dsn"]).ok().stdout, "[secret]\n");
    assert_eq!(p.run(&["stack", "output", "--json"]).ok().json()["dsn"], "[secret]");
    // The state holds ciphertext under the secret marker.
    let exported = p.run(&["stack", "export"]).ok().json();
    let dsn = exported["state"]["outputs"]["dsn"]["value"]["cairn:secret"].as_str().unwrap().to_string();
    assert!(dsn.starts_with("v1:"), "{exported}");
    assert_no_secret_at_rest(&p);

    // --show-secrets shows it, in text, JSON and shell form, and in plans.
    let want = format!("postgres://app:{SECRET}@db");
    assert_eq!(with_pass(&p, &["stack", "output", "dsn", "--show-secrets"]).ok().stdout, format!("{want}\n"));
    assert_eq!(with_pass(&p, &["stack", "output", "--json", "--show-secrets"]).ok().json()["dsn"], want.as_str());
    assert!(with_pass(&p, &["stack", "output", "--shell", "--show-secrets"]).ok().stdout.contains(&want));
    assert!(with_pass(&p, &["stack", "output", "--show-secrets"]).ok().stdout.contains(&want));
    let plan = with_pass(&p, &["preview", "--json", "--show-secrets"]).ok().json();
    assert_eq!(plan["outputs"]["dsn"], want.as_str());
    let export = with_pass(&p, &["stack", "export", "--show-secrets"]).ok().json();
    assert_eq!(export["state"]["outputs"]["dsn"]["value"]["cairn:secret"], want.as_str());

    // A wrong passphrase fails first (exit 2), with a clear message and no output.
    for args in [&["preview"][..], &["up", "--yes"], &["destroy", "--yes"], &["stack", "output", "--show-secrets"]] {
        let out = run_env(&p, args, &[("CAIRN_PASSPHRASE", "not the passphrase")], "").code(2);
        assert_eq!(out.stderr, "error: the passphrase for stack `development` is wrong\n", "{args:?}: {out}");
        assert_eq!(out.stdout, "", "{args:?}");
    }
    // So does none.
    let out = p.run(&["preview"]).code(2);
    assert!(out.stderr.contains("CAIRN_PASSPHRASE"), "{out}");
    // The passphrase may come from a file.
    let file = p.join("passphrase.txt");
    std::fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    run_env(&p, &["preview", "--expect-no-changes"], &[("CAIRN_PASSPHRASE_FILE", file.to_str().unwrap())], "").ok();

    // Changing the secret updates the resource that uses it, still without showing it.
    run_env(
        &p,
        &["config", "set", "--secret", "DbPassword"],
        &[("CAIRN_PASSPHRASE", PASSPHRASE)],
        "another-Secret-Value",
    )
    .ok();
    let plan = with_pass(&p, &["preview", "--json"]).ok();
    assert!(!plan.stdout.contains("another-Secret-Value"), "{plan}");
    let plan_json = plan.json();
    let changed: Vec<&str> = plan_json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] != "same")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["Vault"]);
    with_pass(&p, &["up", "--yes"]).ok();
    with_pass(&p, &["preview", "--expect-no-changes"]).ok();
    for (path, text) in all_files(&p.join(".cairn")).into_iter().chain(all_files(&p.join("stacks"))) {
        assert!(!text.contains("another-Secret-Value"), "{path}");
    }
}

#[test]
fn a_copied_stack_file_does_not_decrypt_in_another_stack() {
    let p = project();
    run_env(
        &p,
        &["-s", "development", "config", "set", "--secret", "DbPassword", SECRET],
        &[("CAIRN_PASSPHRASE", PASSPHRASE)],
        "",
    )
    .ok();
    let dev = p.read("stacks/development.yaml");
    p.write("stacks/staging.yaml", &dev.replace("Environment: development", "Environment: staging"));
    let out = with_pass(&p, &["-s", "staging", "preview"]).code(2);
    assert!(out.stderr.contains("parameter `DbPassword` of stack `staging` cannot be decrypted"), "{out}");
    assert_hidden("error", &out.to_string());
}

#[test]
fn a_plain_no_echo_value_sets_up_a_passphrase_on_first_use() {
    let p = project();
    let dev = p.read("stacks/development.yaml");
    p.write("stacks/development.yaml", &format!("{dev}  DbPassword: {SECRET}\n"));
    // preview stores nothing: no passphrase needed, but a warning.
    let out = p.run(&["-s", "development", "preview"]).ok();
    assert!(out.stderr.contains("NoEcho parameter `DbPassword` is stored in plain text"), "{out}");
    assert_hidden("preview", &out.stdout);
    // up must store the secret: without a passphrase it refuses before changing anything.
    let out = p.run(&["-s", "development", "up", "--yes"]).code(2);
    assert!(out.stderr.contains("CAIRN_PASSPHRASE"), "{out}");
    assert!(
        !p.join(".cairn/stacks/development/snapshot.json").exists()
            || !p.read(".cairn/stacks/development/snapshot.json").contains("Vault")
    );
    let out = with_pass(&p, &["-s", "development", "up", "--yes"]).ok();
    assert!(out.stderr.contains("now encrypts its secrets with `passphrase`"), "{out}");
    assert!(p.read("stacks/development.yaml").contains("secretsprovider: passphrase"));
    for (path, text) in all_files(&p.join(".cairn")) {
        assert_hidden(&path, &text);
    }
    with_pass(&p, &["-s", "development", "preview", "--expect-no-changes"]).ok();
    // The recorded inputs (sealed, since the stack file holds the value in plain text) still
    // roll back: to version 1, whose Environment differs from the files'.
    let now = p.read("stacks/development.yaml");
    assert!(now.contains("Environment: development"), "{now}");
    p.write("stacks/development.yaml", &now.replace("Environment: development", "Environment: staging"));
    with_pass(&p, &["-s", "development", "up", "--yes"]).ok();
    let out = with_pass(&p, &["-s", "development", "stack", "rollback", "--to", "1", "--yes"]).ok();
    assert_hidden("rollback", &out.to_string());
    let env = p.run(&["-s", "development", "stack", "output", "environment"]).ok();
    assert_eq!(env.stdout, "development\n");
    p.run(&["-s", "development", "stack", "rollback", "--to", "1", "--yes"]).code(2);
    for (path, text) in all_files(&p.join(".cairn")) {
        assert_hidden(&path, &text);
    }
}

#[test]
fn no_secrets_no_passphrase() {
    let p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    p.run(&["-s", "development", "preview", "--expect-no-changes"]).ok();
    assert!(!p.read("stacks/development.yaml").contains("secretsprovider"));
}

/// A KMS key in moto, or `None` when no emulator is configured.
fn kms_key() -> Option<String> {
    let Ok(url) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(
            std::env::var_os("CAIRN_REQUIRE_EMULATOR").is_none(),
            "AWS_ENDPOINT_URL is not set, but CAIRN_REQUIRE_EMULATOR is"
        );
        eprintln!("skipping: AWS_ENDPOINT_URL not set (run via scripts/test.sh)");
        return None;
    };
    assert!(url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"), "{url}");
    // moto's REST API: CreateKey through the JSON protocol.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let out = aws_sdk_kms::Client::new(&config).create_key().send().await.expect("CreateKey");
        Some(out.key_metadata().unwrap().key_id().to_string())
    })
}

#[test]
fn kms_stacks_need_no_passphrase_and_providers_can_change() {
    let Some(key) = kms_key() else { return };
    let p = project();
    p.run(&["stack", "select", "development"]).ok();
    run_env(&p, &["config", "set", "--secret", "DbPassword"], &[("CAIRN_PASSPHRASE", PASSPHRASE)], SECRET).ok();
    with_pass(&p, &["up", "--yes"]).ok();

    // passphrase -> awskms
    let kms = format!("awskms://{key}?region=us-east-1");
    let out = with_pass(&p, &["stack", "change-secrets-provider", &kms]).ok();
    assert!(out.stderr.contains("re-encrypted 1 stack file value"), "{out}");
    let stack_file = p.read("stacks/development.yaml");
    assert!(stack_file.contains(&format!("secretsprovider: {kms}")), "{stack_file}");
    assert!(stack_file.contains("encryptionsalt: kms:v1:"), "{stack_file}");
    assert_no_secret_at_rest(&p);

    // No passphrase needed now, only AWS credentials (the environment's, for moto).
    p.run(&["preview", "--expect-no-changes"]).ok();
    let out = p.run(&["stack", "output", "dsn", "--show-secrets"]).ok();
    assert_eq!(out.stdout, format!("postgres://app:{SECRET}@db\n"));
    assert_eq!(p.run(&["config", "get", "DbPassword", "--show-secrets"]).ok().stdout, format!("{SECRET}\n"));
    p.run(&["up", "--yes"]).ok();
    // Without credentials it fails clearly, without the secret.
    let out = run_env(&p, &["preview"], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], "");
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("AWS KMS"), "{out}");
    assert_hidden("error", &out.to_string());

    // awskms -> passphrase (a new one)
    let out = run_env(
        &p,
        &["stack", "change-secrets-provider", "passphrase"],
        &[("CAIRN_NEW_PASSPHRASE", "a new passphrase")],
        "",
    )
    .ok();
    assert!(out.stderr.contains("now encrypts its secrets with `passphrase`"), "{out}");
    assert_no_secret_at_rest(&p);
    p.run(&["preview"]).code(2);
    with_pass(&p, &["preview"]).code(2);
    let ok = |args: &[&str]| run_env(&p, args, &[("CAIRN_PASSPHRASE", "a new passphrase")], "").ok();
    ok(&["preview", "--expect-no-changes"]);
    ok(&["up", "--yes"]);
    assert_eq!(ok(&["stack", "output", "dsn", "--show-secrets"]).stdout, format!("postgres://app:{SECRET}@db\n"));
    ok(&["destroy", "--yes"]);
}
