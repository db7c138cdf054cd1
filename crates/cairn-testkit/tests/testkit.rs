use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::provider::{ProviderError, ResourceType};
use cairn_core::state::{Backend, JournalEntry, LockInfo, OpKind, ResourceState, StackState, StateChange, StateError};
use cairn_core::Value;
use cairn_testkit::{op_context, registry, LiveResource, MemoryBackend, Op, TestCloud, TestType, TEST_ACCOUNT_ID};
use serde_json::json;
use tokio::time::Instant;

fn thing(cloud: &TestCloud) -> TestType {
    TestType::new("Test::Thing", cloud)
}

#[tokio::test(start_paused = true)]
async fn max_concurrency_is_the_most_calls_in_flight_at_once() {
    let cloud = TestCloud::new();
    let reg = registry(&cloud, Duration::from_millis(50));
    let t = reg.get("Test::Thing").unwrap().clone();

    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let t = Arc::clone(&t);
        tasks.spawn(async move {
            let ctx = op_context("Test::Thing", &format!("R{i}"), &format!("seed{i}"));
            t.create(&ctx, &json!({})).await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(start.elapsed(), Duration::from_millis(50), "the creates ran side by side");
    assert_eq!(cloud.max_concurrency(), 8);
    assert_eq!(cloud.count(), 8);

    cloud.clear_log();
    assert_eq!(cloud.max_concurrency(), 0);
    for i in 0..3 {
        let ctx = op_context("Test::Thing", &format!("R{i}"), "x");
        assert!(t.find(&ctx, &json!({})).await.unwrap().is_some());
    }
    assert_eq!(cloud.max_concurrency(), 1);
    assert_eq!(cloud.calls(Op::Find), 3);
    assert_eq!(cloud.calls(Op::Create), 0);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_call_leaves_flight() {
    let cloud = TestCloud::new();
    let t = thing(&cloud).with_latency(Duration::from_secs(1));
    let ctx = op_context("Test::Thing", "A", "seed");
    let cut = tokio::time::timeout(Duration::from_millis(10), t.create(&ctx, &json!({}))).await;
    assert!(cut.is_err());
    assert_eq!(cloud.count(), 0, "a call cut short before its latency has no effect");
    t.create(&ctx, &json!({})).await.unwrap();
    assert_eq!(cloud.max_concurrency(), 1, "the cancelled call no longer counts");
}

#[tokio::test]
async fn physical_ids_attributes_and_duplicates() {
    let cloud = TestCloud::new();
    let t = thing(&cloud);
    let ctx = op_context("Test::Thing", "Data.Bucket", "Abc123xyz789tail");

    let named = t.create(&ctx, &json!({"Name": "my-thing", "Value": {"k": [1]}})).await.unwrap();
    assert_eq!(named.physical_id, "my-thing");
    assert_eq!(named.attributes["Arn"], Value::from("arn:test:::my-thing"));
    assert_eq!(named.attributes["Echo"], Value::from_json(&json!({"k": [1]})));

    let dup = t.create(&op_context("Test::Thing", "Other", "s"), &json!({"Name": "my-thing"})).await.unwrap_err();
    assert_eq!(dup.code.as_deref(), Some("AlreadyExists"));

    let generated = t.create(&ctx, &json!({})).await.unwrap();
    assert_eq!(generated.physical_id, "dev-Data-Bucket-Abc123xyz789");
    assert_eq!(generated.attributes["Echo"], Value::Null);
    let again = t.create(&ctx, &json!({})).await.unwrap_err();
    assert_eq!(again.code.as_deref(), Some("AlreadyExists"), "the same seed gives the same name");
    assert_eq!(cloud.count(), 2);
}

#[tokio::test]
async fn read_update_delete() {
    let cloud = TestCloud::new();
    let t = thing(&cloud);
    let mut ctx = op_context("Test::Thing", "A", "seed");
    ctx.stack_tags = BTreeMap::from([("Team".to_string(), "data".to_string())]);
    let props =
        json!({"Value": 1, "Tags": [{"Key": "Owner", "Value": "me"}, {"Key": "cairn:stack", "Value": "spoof"}]});
    let id = t.create(&ctx, &props).await.unwrap().physical_id;

    let live = cloud.get(&id).unwrap();
    assert_eq!(live.type_name, "Test::Thing");
    assert_eq!(live.properties, props);
    assert_eq!(live.tags["Team"], "data");
    assert_eq!(live.tags["Owner"], "me");
    assert_eq!(live.tags["cairn:stack"], "dev", "ownership tags win");
    assert_eq!(live.tags["cairn:logical-id"], "A");

    let read = t.read(&ctx, &id, &props).await.unwrap().unwrap();
    assert_eq!(read.properties, props);
    assert_eq!(read.data.attributes["Echo"], Value::from(1));
    assert!(TestType::new("Test::Other", &cloud).read(&ctx, &id, &props).await.unwrap().is_none());

    let updated = t.update(&ctx, &id, &props, &json!({"Value": 2})).await.unwrap();
    assert_eq!(updated.physical_id, id);
    assert_eq!(updated.attributes["Echo"], Value::from(2));
    assert_eq!(cloud.get(&id).unwrap().properties, json!({"Value": 2}));

    t.delete(&ctx, &id, &json!({})).await.unwrap();
    assert_eq!(cloud.count(), 0);
    assert_eq!(t.read(&ctx, &id, &props).await.unwrap(), None);
    assert_eq!(t.delete(&ctx, &id, &json!({})).await.unwrap_err().code.as_deref(), Some("NotFound"));
    assert_eq!(t.update(&ctx, &id, &props, &props).await.unwrap_err().code.as_deref(), Some("NotFound"));

    let log: Vec<Op> = cloud.call_log().into_iter().map(|(op, _)| op).collect();
    use Op::*;
    assert_eq!(log, [Create, Read, Read, Update, Delete, Read, Delete, Update]);
}

#[tokio::test]
async fn find_uses_the_ownership_tags() {
    let cloud = TestCloud::new();
    let t = thing(&cloud);
    let id = t.create(&op_context("Test::Thing", "A", "seed1"), &json!({})).await.unwrap().physical_id;
    t.create(&op_context("Test::Thing", "B", "seed2"), &json!({"Name": "b"})).await.unwrap();

    // Another seed: found by tags, not by name.
    let found = t.find(&op_context("Test::Thing", "A", "another"), &json!({})).await.unwrap().unwrap();
    assert_eq!(found.physical_id, id);
    assert_eq!(found.attributes["Arn"], Value::String(format!("arn:test:::{id}")));
    let b = t.find(&op_context("Test::Thing", "B", "x"), &json!({})).await.unwrap().unwrap();
    assert_eq!(b.physical_id, "b");

    assert_eq!(t.find(&op_context("Test::Thing", "C", "seed1"), &json!({})).await.unwrap(), None);
    let mut other_stack = op_context("Test::Thing", "A", "seed1");
    other_stack.stack = "prod".into();
    assert_eq!(t.find(&other_stack, &json!({})).await.unwrap(), None);
    let other_type = TestType::new("Test::Other", &cloud);
    assert_eq!(other_type.find(&op_context("Test::Other", "A", "seed1"), &json!({})).await.unwrap(), None);

    // A resource made outside cairn without tags is never adopted.
    cloud.insert(LiveResource {
        type_name: "Test::Thing".into(),
        physical_id: "stray".into(),
        properties: json!({}),
        tags: BTreeMap::new(),
    });
    assert_eq!(t.find(&op_context("Test::Thing", "D", "s"), &json!({})).await.unwrap(), None);
}

#[tokio::test]
async fn injected_failures() {
    let cloud = TestCloud::new();
    let t = thing(&cloud);
    let a = op_context("Test::Thing", "A", "seedA");
    let b = op_context("Test::Thing", "B", "seedB");

    cloud.fail_next(Op::Create, "A");
    let err = t.create(&a, &json!({})).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InjectedFailure"));
    assert!(!err.retryable);
    assert_eq!(cloud.count(), 0, "a failure before the effect leaves nothing");
    t.create(&b, &json!({})).await.unwrap();
    let a_id = t.create(&a, &json!({})).await.unwrap().physical_id;
    assert_eq!(cloud.count(), 2, "only the next call failed");

    let throttled = ProviderError {
        code: Some("Throttling".into()),
        message: "slow down".into(),
        retryable: true,
        ..Default::default()
    };
    cloud.fail_next_with(Op::Update, "A", throttled.clone());
    assert_eq!(t.update(&a, &a_id, &json!({}), &json!({"Value": 1})).await.unwrap_err(), throttled);
    assert_eq!(cloud.get(&a_id).unwrap().properties, json!({}));

    // The response is lost but the resource was made: find adopts it.
    let c = op_context("Test::Thing", "C", "seedC");
    cloud.fail_next_after_effect(Op::Create, "C");
    assert_eq!(t.create(&c, &json!({})).await.unwrap_err().code.as_deref(), Some("InjectedFailure"));
    assert_eq!(cloud.count(), 3);
    assert!(t.find(&c, &json!({})).await.unwrap().is_some());

    cloud.fail_when(|op, id| op == Op::Delete && id.starts_with('B'));
    let b_id = t.find(&b, &json!({})).await.unwrap().unwrap().physical_id;
    assert_eq!(t.delete(&b, &b_id, &json!({})).await.unwrap_err().code.as_deref(), Some("InjectedFailure"));
    t.delete(&a, &a_id, &json!({})).await.unwrap();
    cloud.clear_failures();
    t.delete(&b, &b_id, &json!({})).await.unwrap();

    let d = op_context("Test::Thing", "D", "seedD");
    let err = t.create(&d, &json!({"Fail": "true"})).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InjectedFailure"));
    let d_id = t.create(&d, &json!({"Fail": false})).await.unwrap().physical_id;
    let err = t.update(&d, &d_id, &json!({}), &json!({"Fail": true})).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InjectedFailure"));
}

#[tokio::test]
async fn registry_wires_everything() {
    let cloud = TestCloud::new();
    let reg = registry(&cloud, Duration::ZERO);
    let names: Vec<&str> = reg.type_names().collect();
    assert_eq!(
        names,
        ["Cairn::Random::String", "Cairn::Time::Sleep", "Test::Db", "Test::Multi", "Test::Other", "Test::Thing"]
    );
    assert!(reg.get("Test::Db").unwrap().schema().final_snapshot);
    assert!(!reg.get("Test::Thing").unwrap().schema().final_snapshot);
    assert_eq!(reg.identity().unwrap().account_id().await.unwrap(), TEST_ACCOUNT_ID);
    let other = reg.get("Test::Other").unwrap();
    assert_eq!(other.schema().create_only, ["Name", "Replace", "Config.Engine"]);
    assert_eq!(other.schema().write_only, ["Config.Secret"]);
    assert_eq!(other.schema().name_property.as_deref(), Some("Name"));
    other.create(&op_context("Test::Other", "X", "s"), &json!({"Name": "x"})).await.unwrap();
    assert_eq!(cloud.get("x").unwrap().type_name, "Test::Other");
}

#[tokio::test]
async fn a_multi_call_create_cut_part_way_names_what_it_made() {
    let cloud = TestCloud::new();
    let reg = registry(&cloud, Duration::ZERO);
    let t = reg.get("Test::Multi").unwrap();
    let ctx = op_context("Test::Multi", "M", "s");
    // Calls: create, set a, set b. The third is refused.
    cloud.fail_nth_mutation("M", 2, false);
    let err = t.create(&ctx, &json!({"Name": "m", "Settings": {"a": 1, "b": 2}})).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InjectedFailure"));
    assert_eq!(err.created.as_deref(), Some("m"));
    assert_eq!(cloud.get("m").unwrap().properties, json!({"Name": "m", "Settings": {"a": 1}}));
    let read = t.read(&ctx, "m", &json!({})).await.unwrap().unwrap();
    assert_eq!(read.properties, json!({"Name": "m", "Settings": {"a": 1}}));
    // An update unsets and sets one call each, in key order; a lost answer takes effect.
    cloud.fail_nth_mutation("M", 0, true);
    let old = json!({"Name": "m", "Settings": {"a": 1}});
    let new = json!({"Name": "m", "Settings": {"b": 3}});
    assert!(t.update(&ctx, "m", &old, &new).await.is_err());
    assert_eq!(cloud.get("m").unwrap().properties, json!({"Name": "m"}), "a unset, b not yet set");
    t.update(&ctx, "m", &json!({"Name": "m"}), &new).await.unwrap();
    assert_eq!(cloud.get("m").unwrap().properties, new);
    let log: Vec<Op> = cloud.call_log().into_iter().map(|(op, _)| op).collect();
    assert_eq!(log, [Op::Create, Op::Set, Op::Set, Op::Read, Op::Unset, Op::Set]);
}

fn lock_info(pid: u32) -> LockInfo {
    LockInfo {
        user: "me".into(),
        host: "box".into(),
        pid,
        operation: "up".into(),
        started: "2026-01-01T00:00:00Z".into(),
    }
}

fn resource(id: &str) -> ResourceState {
    ResourceState {
        id: id.into(),
        type_name: "Test::Thing".into(),
        physical_id: format!("{id}-1"),
        region: "us-east-1".into(),
        inputs: Value::Null,
        attributes: BTreeMap::new(),
        dependencies: vec![],
        deletion_policy: Default::default(),
        parent: None,
        name_seed: String::new(),
        drift: None,
    }
}

fn begin(op: u64, id: &str) -> JournalEntry {
    JournalEntry::Begin {
        op,
        kind: OpKind::Create,
        id: id.into(),
        type_name: "Test::Thing".into(),
        region: "us-east-1".into(),
        physical_id: None,
        inputs: Value::Null,
        name_seed: String::new(),
        replacing: false,
        replaced_snapshot: false,
        retired: false,
        dependencies: vec![],
        deletion_policy: Default::default(),
        parent: None,
    }
}

fn commit(op: u64, id: &str) -> JournalEntry {
    JournalEntry::Commit { op, changes: vec![StateChange::Put { state: resource(id) }] }
}

#[tokio::test]
async fn memory_backend_replays_the_journal() {
    let backend = MemoryBackend::new();
    assert!(backend.load("dev").await.unwrap().state.is_empty());
    assert!(backend.list_stacks().await.unwrap().is_empty());

    backend.append("dev", &[begin(1, "A"), begin(2, "B")]).await.unwrap();
    backend.append("dev", &[commit(2, "B")]).await.unwrap();
    let loaded = backend.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["B"]);
    assert_eq!(loaded.interrupted, [begin(1, "A")]);
    assert_eq!(loaded.last_op, 2);
    assert_eq!(backend.list_stacks().await.unwrap(), ["dev"]);

    backend.compact("dev", &loaded.state).await.unwrap();
    assert!(backend.journal("dev").is_empty());
    assert_eq!(backend.snapshot("dev"), loaded.state);
    let reloaded = backend.load("dev").await.unwrap();
    assert_eq!(reloaded.state, loaded.state);
    assert_eq!(reloaded.last_op, 0);
    assert!(reloaded.interrupted.is_empty());

    backend.remove_stack("dev").await.unwrap();
    assert!(backend.list_stacks().await.unwrap().is_empty());
    assert!(matches!(backend.remove_stack("dev").await, Err(StateError::NoSuchStack(_))));
}

#[tokio::test]
async fn memory_backend_crashes_after_n_appends() {
    let backend = MemoryBackend::new();
    backend.fail_after_appends(2);
    backend.append("dev", &[begin(1, "A")]).await.unwrap();
    backend.append("dev", &[commit(1, "A"), begin(2, "B")]).await.unwrap();
    assert!(backend.crashed());
    let crash = backend.append("dev", &[commit(2, "B")]).await.unwrap_err();
    assert_eq!(crash.to_string(), "state storage failed: injected crash");
    assert!(backend.compact("dev", &StackState::default()).await.is_err(), "a dead process writes nothing more");
    assert_eq!(backend.journal("dev").len(), 3);
    assert_eq!(backend.append_count(), 2);

    let loaded = backend.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["A"]);
    assert_eq!(loaded.interrupted, [begin(2, "B")]);

    backend.reset_failure();
    backend.append("dev", &[JournalEntry::Abort { op: 2, reason: "not found".into() }]).await.unwrap();
    assert!(backend.load("dev").await.unwrap().interrupted.is_empty());

    backend.fail_after_appends(0);
    assert!(backend.append("dev", &[]).await.is_err(), "zero appends left fails the next one");
}

#[tokio::test]
async fn memory_backend_locks() {
    let backend = MemoryBackend::new();
    let held = backend.lock("dev", lock_info(1)).await.unwrap();
    match backend.lock("dev", lock_info(2)).await {
        Err(StateError::Locked { holder, stale: false, .. }) => assert_eq!(holder.pid, 1),
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("a second lock was granted"),
    }
    let other_stack = backend.lock("prod", lock_info(3)).await.unwrap();
    assert_eq!(backend.lock_holder("dev").await.unwrap(), Some((lock_info(1), false)));
    held.release().await.unwrap();
    assert_eq!(backend.lock_holder("dev").await.unwrap(), None);

    {
        let _dropped = backend.lock("dev", lock_info(4)).await.unwrap();
    }
    assert_eq!(backend.lock_holder("dev").await.unwrap(), None, "dropping a lock releases it");

    // A broken lock's old handle does not release its successor's.
    assert!(backend.break_lock("prod").await.unwrap());
    let successor = backend.lock("prod", lock_info(5)).await.unwrap();
    other_stack.release().await.unwrap();
    assert_eq!(backend.lock_holder("prod").await.unwrap().map(|(i, _)| i.pid), Some(5));
    drop(successor);
    assert!(!backend.break_lock("prod").await.unwrap());
    assert!(backend.list_stacks().await.unwrap().is_empty(), "a lock alone makes no stack");
}
