//! `cairn import sceptre` on the Sceptre project of `tests/fixtures/sceptre` (dev and
//! staging; a queue whose outputs reach a bucket and a topic through `!stack_output`, names
//! and an owner from the environment, and settings with no cairn equivalent).
//!
//! - `report_and_files`: the report on stderr (what was written, what was not translated
//!   with file:line) and the files written, as snapshots; a second import refuses to
//!   overwrite them.
//! - `deploys_on_the_emulator`: the imported project's `dev` stack, `up` on the emulator,
//!   read back through the SDK with the values the Sceptre config gave (a queue attribute
//!   from a literal, a bucket tag from an environment variable, tags from `!stack_output`),
//!   `preview --expect-no-changes`, `destroy`, and nothing left.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws::{emulator, unique};
use common::{Out, Proj};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sceptre")
}

fn import(p: &Proj) -> Out {
    let src = fixture();
    p.run(&["import", "sceptre", src.to_str().expect("utf-8 path"), "--out", "out"])
}

#[test]
fn report_and_files() {
    let mut p = Proj::empty();
    p.replace(fixture().to_str().unwrap(), "[SCEPTRE]");
    let out = import(&p).ok();
    p.snapshot("import_sceptre_report", &out);
    let mut files = String::new();
    for f in ["Cairn.yaml", "template.yaml", "stacks/dev.yaml", "stacks/staging.yaml", "components/queue.yaml"] {
        files.push_str(&format!("=== {f}\n{}", p.read(&format!("out/{f}"))));
    }
    p.snapshot("import_sceptre_files", &Out { code: 0, stdout: files, stderr: String::new() });

    // The imported project is one cairn reads: both stacks list, validate needs no more.
    let listed = p.run(&["-C", "out", "stack", "ls", "--json"]).ok().json();
    let names: Vec<&str> = listed.as_array().expect("a list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["dev", "staging"], "{listed}");

    // Never over an existing project.
    let again = import(&p).code(2);
    assert!(again.stderr.contains("Cairn.yaml already exists"), "{again}");
    // Not a Sceptre project.
    let wrong = p.run(&["import", "sceptre", "out", "--out", "elsewhere"]).code(2);
    assert!(wrong.stderr.contains("no config/ directory"), "{wrong}");
    assert!(!p.join("elsewhere").exists());
}

#[test]
fn deploys_on_the_emulator() {
    let Some(emu) = emulator() else { return };
    let p = Proj::empty();
    import(&p).ok();
    let prefix = unique("sceptre");
    let owner = unique("owner");
    let env = [("ORDERS_PREFIX", prefix.as_str()), ("ORDERS_OWNER", owner.as_str())];
    // The state stays in the imported project's directory; the names are the test's own.
    p.run_env(&["-C", "out", "--stack", "dev", "up", "--yes"], &env).ok();

    let config = emu.block(
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load(),
    );
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);

    // The queue: VisibilityTimeout from dev's literal, the retention from the literal every
    // environment gives.
    let queue_name = format!("{prefix}-orders");
    let url = emu.block(sqs.get_queue_url().queue_name(&queue_name).send()).expect("the queue exists");
    let url = url.queue_url().expect("a URL").to_string();
    let attrs = emu
        .block(
            sqs.get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send(),
        )
        .expect("GetQueueAttributes");
    let attrs: BTreeMap<String, String> =
        attrs.attributes().expect("attributes").iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
    assert_eq!(attrs["VisibilityTimeout"], "45");
    assert_eq!(attrs["MessageRetentionPeriod"], "86400");
    let queue_arn = attrs["QueueArn"].clone();

    // The bucket: its owner from ORDERS_OWNER, the queue's ARN through `!stack_output`, the
    // environment's stack tags.
    let bucket = format!("{prefix}-orders-uploads");
    let tags: BTreeMap<String, String> = emu.bucket_tags(&bucket).into_iter().collect();
    assert_eq!(tags.get("Owner"), Some(&owner), "{tags:?}");
    assert_eq!(tags.get("Queue"), Some(&queue_arn), "{tags:?}");
    assert_eq!(tags.get("Environment").map(String::as_str), Some("dev"), "{tags:?}");
    assert_eq!(tags.get("CostCentre").map(String::as_str), Some("orders"), "{tags:?}");

    // The topic: the queue's name through `!stack_output`; the display name from the
    // template's default (the Sceptre config read it with `!file_contents`, which the import
    // named for hand work).
    let topics = emu.block(sns.list_topics().send()).expect("ListTopics");
    let topic_arn = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|a| a.ends_with(&format!(":{prefix}-orders-events")))
        .expect("the topic exists")
        .to_string();
    let topic_tags =
        emu.block(sns.list_tags_for_resource().resource_arn(&topic_arn).send()).expect("ListTagsForResource");
    let topic_tags: BTreeMap<&str, &str> = topic_tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(topic_tags.get("Queue"), Some(&queue_name.as_str()), "{topic_tags:?}");
    let topic_attrs = emu.block(sns.get_topic_attributes().topic_arn(&topic_arn).send()).expect("GetTopicAttributes");
    assert_eq!(topic_attrs.attributes().and_then(|a| a.get("DisplayName")).map(String::as_str), Some("Orders"));

    // The outputs of every component, as the root template's outputs.
    let outputs = p.run_env(&["-C", "out", "--stack", "dev", "stack", "output", "--json"], &env).ok().json();
    assert_eq!(outputs["QueueQueueArn"], queue_arn.as_str(), "{outputs}");
    assert_eq!(outputs["UploadsBucketName"], bucket.as_str(), "{outputs}");

    p.run_env(&["-C", "out", "--stack", "dev", "preview", "--expect-no-changes"], &env).ok();
    p.run_env(&["-C", "out", "--stack", "dev", "destroy", "--yes"], &env).ok();
    assert!(!emu.bucket_exists(&bucket), "the bucket is gone");
    assert!(emu.block(sqs.get_queue_url().queue_name(&queue_name).send()).is_err(), "the queue is gone");
    let topics = emu.block(sns.list_topics().send()).expect("ListTopics");
    assert!(!topics.topics().iter().filter_map(|t| t.topic_arn()).any(|a| a == topic_arn), "the topic is gone");
}
