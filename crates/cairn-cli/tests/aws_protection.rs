//! Deletion protection on the emulator: a DynamoDB table with `DeletionProtectionEnabled`
//! on is never deleted by `destroy`, and the whole run is refused before it changes
//! anything (what uses the table and what is unrelated to it stay too); the command names
//! the table and how to lift the protection, and `preview` marks the step. Lifted through
//! the stack's parameter and `up` (an update, not refused), the next `destroy` removes
//! everything. Read back through aws-sdk-dynamodb, -sqs and -sns.

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

/// The same stack without the table and what uses it.
const ONLY_ALERTS: &str = r#"
Parameters:
  Protect:
    Type: String
    AllowedValues: ["true", "false"]
Resources:
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

    let sqs = aws_sdk_sqs::Client::new(&emu.config);
    let sns = aws_sdk_sns::Client::new(&emu.config);
    let queue = state["resources"]["Jobs"]["physical_id"].as_str().expect("the queue's URL").to_string();
    let topic = state["resources"]["Alerts"]["physical_id"].as_str().expect("the topic's ARN").to_string();
    let others_live = || {
        emu.block(sqs.get_queue_attributes().queue_url(&queue).send()).expect("the queue is still there");
        emu.block(sns.get_topic_attributes().topic_arn(&topic).send()).expect("the unrelated topic is still there");
    };

    // Removed from the template: preview marks the step and warns (exit 0); `up` is refused.
    p.write("template.yaml", ONLY_ALERTS);
    let preview = p.run(&["-s", "dev", "preview"]).ok();
    assert!(preview.stdout.contains("[protected (DeletionProtectionEnabled: true): refused]"), "{preview}");
    assert!(
        preview.stderr.contains("warning: Table (AWS::DynamoDB::Table): delete refused: DeletionProtected"),
        "{preview}"
    );
    assert!(preview.stderr.contains("warning: `cairn up` refuses this plan"), "{preview}");
    let json = p.run(&["-s", "dev", "preview", "--json"]).ok().json();
    let table_step = json["steps"].as_array().expect("steps").iter().find(|s| s["id"] == "Table").expect("Table");
    assert_eq!(table_step["protected"]["property"], "DeletionProtectionEnabled", "{json:#}");
    let up = p.run(&["-s", "dev", "up", "--yes"]).code(1);
    assert!(up.stderr.contains("error: up refused: 1 resource is protected from deletion in AWS"), "{up}");
    others_live();
    p.write("template.yaml", TEMPLATE);

    let out = p.run(&["-s", "dev", "destroy", "--yes"]).code(1);
    assert!(
        out.stdout.contains("Table") && out.stdout.contains("[protected (DeletionProtectionEnabled: true): refused]"),
        "{out}"
    );
    let err = out.stderr.clone();
    assert!(
        err.contains(&format!(
            "error: Table (AWS::DynamoDB::Table): delete refused: DeletionProtected: Table ({table}) is protected from deletion in AWS (`DeletionProtectionEnabled: true`)"
        )),
        "{out}"
    );
    assert!(err.contains("set `DeletionProtectionEnabled` to false, run `cairn up`, then run this again"), "{out}");
    assert!(
        err.contains(
            "error: destroy refused: 1 resource is protected from deletion in AWS (see above); nothing was changed"
        ),
        "{out}"
    );
    assert!(!err.contains("deleted") && !err.contains("skipped"), "nothing ran: {out}");
    // Nothing is gone: the table, the queue that uses it, and the unrelated topic.
    describe(&table).expect("the protected table is still there");
    others_live();
    let resources = p.state("dev")["resources"].clone();
    let left: Vec<&String> = resources.as_object().expect("resources").keys().collect();
    assert_eq!(left, ["Alerts", "Jobs", "Table"], "{resources:#}");
    // Without --yes and without a terminal: refused all the same (exit 1), not asked.
    p.run(&["-s", "dev", "destroy"]).code(1);

    p.run(&["-s", "dev", "config", "set", "Protect", "false"]).ok();
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let live = describe(&table).expect("the table exists").table.expect("a table");
    assert_eq!(live.deletion_protection_enabled, Some(false));
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    assert_eq!(describe(&table).expect_err("the table is deleted"), "ResourceNotFoundException");
    assert_eq!(p.state("dev")["resources"], serde_json::json!({}));
}
