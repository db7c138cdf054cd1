//! What one engine step costs on the S3 backend: bytes written and time per journal
//! append, at the start versus the end of a run over N resources, against rewriting the
//! whole snapshot at every step (what Pulumi's S3 backend does).
//!
//! Runs against a local emulator only (`AWS_ENDPOINT_URL` on 127.0.0.1 or localhost, see
//! `scripts/bench-state.sh`); creates a bucket of its own.
//!
//! ```text
//! cargo run --release -p cairn-state --example s3_step_cost -- [N=1000]
//! ```
//!
//! Prints a markdown table: for each scenario the number of steps, bytes per step and
//! mean/median time per step over the first and the last 10% of steps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_core::state::{Backend, JournalEntry, OpKind, ResourceState, StackState, StateChange};
use cairn_core::Value;
use cairn_state::s3::client_for_region;
use cairn_state::S3Backend;

fn resource(i: usize) -> ResourceState {
    let id = format!("Bucket{i:05}");
    let physical = format!("synthetic-{i:05}-x7k2m9");
    ResourceState {
        id: id.clone(),
        type_name: "AWS::S3::Bucket".into(),
        physical_id: physical.clone(),
        region: "us-east-1".into(),
        inputs: Value::Map(BTreeMap::from([
            ("BucketName".to_string(), Value::string(&physical)),
            (
                "VersioningConfiguration".to_string(),
                Value::Map(BTreeMap::from([("Status".to_string(), Value::string("Enabled"))])),
            ),
            ("Tags".to_string(), Value::string("cairn:project=bench,cairn:stack=dev")),
        ])),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::string(format!("arn:aws:s3:::{physical}"))),
            ("DomainName".to_string(), Value::string(format!("{physical}.s3.amazonaws.com"))),
        ]),
        dependencies: if i > 0 { vec![format!("Bucket{:05}", i - 1)] } else { vec![] },
        deletion_policy: Default::default(),
        parent: None,
        name_seed: id,
        drift: None,
    }
}

fn begin(op: u64, r: &ResourceState) -> JournalEntry {
    JournalEntry::Begin {
        op,
        kind: OpKind::Create,
        id: r.id.clone(),
        type_name: r.type_name.clone(),
        region: r.region.clone(),
        physical_id: None,
        inputs: r.inputs.clone(),
        name_seed: r.name_seed.clone(),
        replacing: false,
        replaced_snapshot: false,
        retired: false,
        dependencies: r.dependencies.clone(),
        deletion_policy: Default::default(),
        parent: None,
    }
}

/// One measured step: bytes PUT and wall time.
struct Step {
    bytes: u64,
    time: Duration,
}

struct Summary {
    name: String,
    steps: Vec<Step>,
    /// The one compaction at the end of the run (journal scenarios).
    compact: Option<Step>,
}

fn stats(steps: &[Step]) -> (f64, f64, f64) {
    let bytes = steps.iter().map(|s| s.bytes as f64).sum::<f64>() / steps.len() as f64;
    let mut ms: Vec<f64> = steps.iter().map(|s| s.time.as_secs_f64() * 1000.0).collect();
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    ms.sort_by(f64::total_cmp);
    let median = if ms.len() % 2 == 1 { ms[ms.len() / 2] } else { (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0 };
    (bytes, mean, median)
}

async fn measured<F: std::future::Future<Output = ()>>(b: &S3Backend, f: F) -> Step {
    let before = b.bytes_written();
    let t = Instant::now();
    f.await;
    Step { time: t.elapsed(), bytes: b.bytes_written() - before }
}

/// 2N journal entries (begin + commit per resource) appended in batches of `batch`, then
/// one compaction.
async fn journal(client: &aws_sdk_s3::Client, bucket: &str, n: usize, batch: usize) -> Summary {
    let b = S3Backend::with_client(client.clone(), bucket, &format!("journal-{batch}"));
    let mut entries = Vec::with_capacity(2 * n);
    let mut state = StackState::default();
    for i in 0..n {
        let r = resource(i);
        entries.push(begin(i as u64 + 1, &r));
        let change = StateChange::Put { state: r };
        state.apply(&change);
        entries.push(JournalEntry::Commit { op: i as u64 + 1, changes: vec![change] });
    }
    let mut steps = Vec::new();
    for chunk in entries.chunks(batch) {
        steps.push(measured(&b, async { b.append("dev", chunk).await.expect("append") }).await);
    }
    let compact = measured(&b, async { b.compact("dev", &state).await.expect("compact") }).await;
    assert_eq!(b.load("dev").await.expect("load").state, state);
    Summary { name: format!("journal append, batches of {batch}"), steps, compact: Some(compact) }
}

/// The whole snapshot rewritten after every resource.
async fn snapshot_per_step(client: &aws_sdk_s3::Client, bucket: &str, n: usize) -> Summary {
    let b = S3Backend::with_client(client.clone(), bucket, "snapshot-per-step");
    let mut state = StackState::default();
    let mut steps = Vec::new();
    for i in 0..n {
        state.apply(&StateChange::Put { state: resource(i) });
        steps.push(measured(&b, async { b.compact("dev", &state).await.expect("compact") }).await);
    }
    Summary { name: "whole snapshot per step".into(), steps, compact: None }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).map(|a| a.parse().expect("N: a number of resources")).unwrap_or(1000);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if !(endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost")) {
        eprintln!("s3_step_cost: AWS_ENDPOINT_URL must point at a local emulator (scripts/bench-state.sh starts moto)");
        std::process::exit(2);
    }
    let client = client_for_region("us-east-1").await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let bucket = format!("cairn-bench-{}-{:x}", std::process::id(), nanos % (1 << 40));
    client.create_bucket().bucket(&bucket).send().await.expect("create bucket");

    let runs = vec![
        journal(&client, &bucket, n, 1).await,
        journal(&client, &bucket, n, 16).await,
        snapshot_per_step(&client, &bucket, n).await,
    ];

    println!("N = {n} resources, 2N = {} journal entries; S3 = moto at {endpoint}\n", 2 * n);
    println!("| scenario | steps | bytes/step first 10% | bytes/step last 10% | mean ms first | mean ms last | median ms first | median ms last | total MB | total s | final compaction |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for s in &runs {
        let tenth = (s.steps.len() / 10).max(1);
        let (b0, m0, med0) = stats(&s.steps[..tenth]);
        let (b1, m1, med1) = stats(&s.steps[s.steps.len() - tenth..]);
        let total_bytes: u64 = s.steps.iter().map(|x| x.bytes).sum();
        let total_time: Duration = s.steps.iter().map(|x| x.time).sum();
        let compact = match &s.compact {
            Some(c) => format!("{:.0} KB in {:.1} ms", c.bytes as f64 / 1024.0, c.time.as_secs_f64() * 1000.0),
            None => "(every step)".into(),
        };
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            s.name,
            s.steps.len(),
            b0,
            b1,
            m0,
            m1,
            med0,
            med1,
            total_bytes as f64 / 1e6,
            total_time.as_secs_f64(),
            compact
        );
    }
}
