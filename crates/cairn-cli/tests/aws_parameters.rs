//! Parameter sources on the emulator: a stack file value read from an environment
//! variable (`{env: NAME}`, `{env: NAME, default: V}`), an `AWS::SSM::Parameter::Value<T>`
//! template parameter, and `{{resolve:ssm:...}}` / `{{resolve:ssm-secure:...}}` dynamic
//! references. What AWS got is read back through the SDK; a NoEcho value from the
//! environment and a SecureString never appear in plain text in any command's output or
//! in the state and history files.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique};
use common::{Out, Proj};

const PASSPHRASE: &str = "a passphrase for the parameter test";

fn run(p: &Proj, args: &[&str], env: &[(&str, &str)]) -> Out {
    p.run_env(args, &[&[("CAIRN_PASSPHRASE", PASSPHRASE)], env].concat())
}

#[test]
fn environment_and_ssm_values_reach_aws_and_secrets_stay_hidden() {
    let Some(emu) = emulator() else { return };
    let u = unique("params");
    let ssm = aws_sdk_ssm::Client::new(&emu.config);
    let sqs = aws_sdk_sqs::Client::new(&emu.config);
    let delay_name = format!("/cairn-test/{u}/delay");
    let token_name = format!("/cairn-test/{u}/token");
    let token = format!("ssm-secret-{u}");
    let password = format!("env-secret-{u}");
    let put = |name: &str, value: &str, ty: aws_sdk_ssm::types::ParameterType| {
        emu.block(ssm.put_parameter().name(name).value(value).r#type(ty).overwrite(true).send())
            .expect("put parameter");
    };
    put(&delay_name, "7", aws_sdk_ssm::types::ParameterType::String);
    put(&token_name, &token, aws_sdk_ssm::types::ParameterType::SecureString);

    let template = format!(
        r#"
Parameters:
  Delay:
    Type: AWS::SSM::Parameter::Value<String>
  DbPassword:
    Type: String
    NoEcho: true
  Owner:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Delay
      Tags:
        - {{Key: token, Value: "{{{{resolve:ssm-secure:{token_name}}}}}"}}
        - {{Key: password, Value: !Ref DbPassword}}
        - {{Key: owner, Value: !Ref Owner}}
        - {{Key: delay, Value: "{{{{resolve:ssm:{delay_name}:1}}}}"}}
Outputs:
  QueueUrl:
    Value: !Ref Queue
  Password:
    Value: !Ref DbPassword
"#
    );
    let stack = format!(
        "secretsprovider: passphrase\nparameters:\n  Delay: {delay_name}\n  DbPassword: {{env: CAIRN_TEST_DB_PASSWORD}}\n  Owner: {{env: CAIRN_TEST_OWNER, default: nobody}}\n"
    );
    let p = Proj::named(&u, &template, &stack);
    let env = [("CAIRN_TEST_DB_PASSWORD", password.as_str())];
    let mut seen = Vec::new();

    // Unset, the variable is a located error that says what to do.
    let o = run(&p, &["-s", "dev", "preview"], &[]).code(2);
    assert!(
        o.stderr.contains("parameter `DbPassword` comes from the environment variable `CAIRN_TEST_DB_PASSWORD`"),
        "{o}"
    );
    assert!(o.stderr.contains("stacks/dev.yaml:4"), "{o}");

    let o = run(&p, &["-s", "dev", "preview"], &env).ok();
    seen.push(o.to_string());
    let o = run(&p, &["-s", "dev", "up", "--yes"], &env).ok();
    seen.push(o.to_string());

    let url = p.state("dev")["resources"]["Queue"]["physical_id"].as_str().expect("the queue's URL").to_string();
    let attrs = emu
        .block(
            sqs.get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::DelaySeconds)
                .send(),
        )
        .expect("attributes");
    assert_eq!(
        attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::DelaySeconds))
            .map(String::as_str),
        Some("7"),
        "DelaySeconds is the SSM parameter's value, not its name"
    );
    let tags = emu.block(sqs.list_queue_tags().queue_url(&url).send()).expect("tags");
    let tag = |k: &str| tags.tags().and_then(|t| t.get(k)).cloned();
    assert_eq!(tag("token").as_deref(), Some(token.as_str()), "ssm-secure reached AWS decrypted");
    assert_eq!(tag("password").as_deref(), Some(password.as_str()), "the environment variable's value");
    assert_eq!(tag("owner").as_deref(), Some("nobody"), "the default of an unset variable");
    assert_eq!(tag("delay").as_deref(), Some("7"), "a pinned version");

    for args in [
        &["-s", "dev", "preview", "--expect-no-changes", "--refresh"][..],
        &["-s", "dev", "stack", "output"],
        &["-s", "dev", "stack", "output", "--json"],
        &["-s", "dev", "stack", "export"],
        &["-s", "dev", "stack", "history"],
        &["-s", "dev", "config", "ls"],
    ] {
        let o = run(&p, args, &env).ok();
        seen.push(o.to_string());
    }
    let out = run(&p, &["-s", "dev", "stack", "output", "--json"], &env).ok().json();
    assert_eq!(out["Password"], "[secret]", "a NoEcho parameter's output is hidden");

    // The SSM value changes: the next plan shows it (read at every preview, never written).
    put(&delay_name, "9", aws_sdk_ssm::types::ParameterType::String);
    let o = run(&p, &["-s", "dev", "preview", "--expect-no-changes"], &env).code(3);
    assert!(o.stdout.contains("DelaySeconds"), "{o}");
    seen.push(o.to_string());

    let o = run(&p, &["-s", "dev", "destroy", "--yes"], &env).ok();
    seen.push(o.to_string());

    let mut files = Vec::new();
    files.extend(common::text_files(p.path()));
    for secret in [&token, &password] {
        for text in &seen {
            assert!(!text.contains(secret.as_str()), "a secret in a command's output:\n{text}");
        }
        for (path, text) in &files {
            assert!(!text.contains(secret.as_str()), "a secret in plain text in {path}");
        }
    }
    assert!(files.iter().any(|(p, _)| p.contains(".cairn")), "the state is on disk under .cairn");
}
