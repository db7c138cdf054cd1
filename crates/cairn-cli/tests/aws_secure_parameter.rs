//! `AWS::SSM::Parameter` with `Type: SecureString` (cairn's extension) on the emulator:
//! the parameter AWS holds is a SecureString with the KMS key given, its decrypted value is
//! the NoEcho parameter's, a refresh finds no drift, and the value never appears in plain
//! text in any command's output or in the state and history files. `Fn::GetAtt` of its
//! `Value` is refused before anything is made.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique};
use aws_sdk_ssm::types::ParameterType;
use common::{Out, Proj};

const PASSPHRASE: &str = "a passphrase for the secure parameter test";
const VARIABLE: &str = "CAIRN_TEST_SECURE_PASSWORD";

fn run(p: &Proj, args: &[&str], env: &[(&str, &str)]) -> Out {
    p.run_env(args, &[&[("CAIRN_PASSPHRASE", PASSPHRASE)], env].concat())
}

fn template(name: &str, key: &str, outputs: &str) -> String {
    format!(
        r#"
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
Resources:
  Password:
    Type: AWS::SSM::Parameter
    Properties:
      Name: {name}
      Type: SecureString
      KeyId: {key}
      Value: !Ref DbPassword
Outputs:
  ParameterName:
    Value: !Ref Password
{outputs}"#
    )
}

#[test]
fn a_secure_string_parameter_from_a_noecho_parameter_stays_encrypted() {
    let Some(emu) = emulator() else { return };
    let u = unique("securestring");
    let ssm = aws_sdk_ssm::Client::new(&emu.config);
    let name = format!("/epistemix/{u}/database/password");
    let key = format!("alias/cairn-test-{u}");
    emu.create_kms_alias(&key);
    let password = format!("db-secret-{u}");
    let stack = format!("secretsprovider: passphrase\nparameters:\n  DbPassword: {{env: {VARIABLE}}}\n");
    let env = [(VARIABLE, password.as_str())];
    let mut seen = Vec::new();

    // `Fn::GetAtt Password.Value` is refused before anything is made, saying why.
    let refused = Proj::named(&u, &template(&name, &key, "  Leak:\n    Value: !GetAtt Password.Value\n"), &stack);
    let o = run(&refused, &["-s", "dev", "preview"], &env).code(2);
    assert!(
        o.stderr.contains("Fn::GetAtt Password.Value: a SecureString parameter's value is not an attribute"),
        "{o}"
    );
    assert!(o.stderr.contains("template.yaml:"), "a located error: {o}");
    assert!(emu.block(ssm.get_parameter().name(&name).send()).is_err(), "nothing was made");
    seen.push(o.to_string());

    let p = Proj::named(&u, &template(&name, &key, ""), &stack);
    let o = run(&p, &["-s", "dev", "up", "--yes"], &env).ok();
    seen.push(o.to_string());

    // What AWS holds: a SecureString under the key given, whose decrypted value is the
    // NoEcho parameter's.
    let described = emu
        .block(
            ssm.describe_parameters()
                .parameter_filters(
                    aws_sdk_ssm::types::ParameterStringFilter::builder()
                        .key("Name")
                        .option("Equals")
                        .values(&name)
                        .build()
                        .expect("filter"),
                )
                .send(),
        )
        .expect("DescribeParameters");
    let meta = described.parameters().first().expect("the parameter is described");
    assert_eq!(meta.r#type(), Some(&ParameterType::SecureString));
    assert_eq!(meta.key_id(), Some(key.as_str()));
    let got = emu.block(ssm.get_parameter().name(&name).with_decryption(true).send()).expect("GetParameter");
    let got = got.parameter().expect("a parameter");
    assert_eq!(got.r#type(), Some(&ParameterType::SecureString));
    assert_eq!(got.value(), Some(password.as_str()));

    // No drift, and no attribute holds the value.
    for args in [
        &["-s", "dev", "preview", "--expect-no-changes", "--refresh"][..],
        &["-s", "dev", "refresh", "--yes"],
        &["-s", "dev", "stack", "output", "--json"],
        &["-s", "dev", "stack", "export"],
        &["-s", "dev", "stack", "history"],
    ] {
        let o = run(&p, args, &env).ok();
        seen.push(o.to_string());
    }
    let state = run(&p, &["-s", "dev", "stack", "export"], &env).ok().json();
    let resource = &state["state"]["resources"]["Password"];
    assert_eq!(resource["physical_id"], name.as_str(), "{resource}");
    assert_eq!(resource["attributes"]["Type"], "SecureString", "{resource}");
    assert!(resource["attributes"].get("Value").is_none(), "no Value attribute: {resource}");

    let o = run(&p, &["-s", "dev", "destroy", "--yes"], &env).ok();
    seen.push(o.to_string());
    let gone = emu.block(ssm.get_parameter().name(&name).send()).expect_err("the parameter is deleted");
    assert!(format!("{gone:?}").contains("ParameterNotFound"), "{gone:?}");

    let mut files = Vec::new();
    files.extend(common::text_files(p.path()));
    files.extend(common::text_files(refused.path()));
    assert!(files.iter().any(|(p, _)| p.contains(".cairn")), "the state is on disk under .cairn");
    for text in &seen {
        assert!(!text.contains(password.as_str()), "the secret in a command's output:\n{text}");
    }
    for (path, text) in &files {
        assert!(!text.contains(password.as_str()), "the secret in plain text in {path}");
    }
}
