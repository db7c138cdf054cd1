//! Deletion protection on the emulator: a DynamoDB table with `DeletionProtectionEnabled`
//! on is never deleted by `destroy`, and neither is what uses it; the command fails naming
//! it and how to lift the protection. Lifted through the stack's parameter and `up`, the
//! next `destroy` removes everything. Read back through aws-sdk-dynamodb.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique};
use common::Proj;

const TEMPLATE: &str = r#"
Parameters:
  Protect:
    Type: String
    AllowedValues: ["true", "false"]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      DeletionProtectionEnabled: !Ref Protect
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      Tags: [{Key: table, Value: !Ref Table}]
  Alerts:
    Type: AWS::SNS::Topic
"#;

#[test]
fn a_protected_table_and_what_uses_it_survive_destroy_until_the_protection_is_lifted() {
    let Some(emu) = emulator() else { return };
    let p = Proj::named(&unique("protect"), TEMPLATE, "parameters:\n  Protect: \"true\"\n");
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    let table = state["resources"]["Table"]["physical_id"].as_str().expect("the table's name").to_string();
    let dynamodb = aws_sdk_dynamodb::Client::new(&emu.block(
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load(),
    ));
    // The table, or the error code DynamoDB answers.
    let describe = |name: &str| {
        emu.block(dynamodb.describe_table().table_name(name).send())
            .map_err(|e| aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e).unwrap_or_default().to_string())
    };
    let live = describe(&table).expect("the table exists").table.expect("a table");
    assert_eq!(live.deletion_protection_enabled, Some(true));

    let out = p.run(&["-s", "dev", "destroy", "--yes"]).code(1);
    let err = out.stderr.clone();
    assert!(err.contains("Table (AWS::DynamoDB::Table)") && err.contains("DeletionProtected"), "{out}");
    assert!(err.contains("set `DeletionProtectionEnabled` to false, run `cairn up`"), "{out}");
    assert!(err.contains("Jobs (AWS::SQS::Queue) skipped"), "{out}");
    // The unrelated topic is gone; the table and the queue that uses it are not.
    describe(&table).expect("the protected table is still there");
    let resources = p.state("dev")["resources"].clone();
    let left: Vec<&String> = resources.as_object().expect("resources").keys().collect();
    assert_eq!(left, ["Jobs", "Table"], "{resources:#}");

    p.run(&["-s", "dev", "config", "set", "Protect", "false"]).ok();
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let live = describe(&table).expect("the table exists").table.expect("a table");
    assert_eq!(live.deletion_protection_enabled, Some(false));
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert_eq!(describe(&table).expect_err("the table is deleted"), "ResourceNotFoundException");
    assert_eq!(p.state("dev")["resources"], serde_json::json!({}));
}
