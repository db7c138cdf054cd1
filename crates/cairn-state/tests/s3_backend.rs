//! The S3 backend against moto (`scripts/moto.sh`): journal objects, compaction and its
//! crash window, locking (conditional PUT), history, stacks, and malformed objects.
//!
//! Each test uses a bucket of its own. Without `AWS_ENDPOINT_URL` the tests skip (with a
//! message), unless `CAIRN_REQUIRE_EMULATOR` is set (scripts/test.sh), when they fail.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use cairn_core::state::{Backend, JournalEntry, LockInfo, OpKind, StackState, StateChange, StateError};
use cairn_state::s3::client_for_region;
use cairn_state::{lock_info, open_backend, S3Backend};

mod common;
use common::{begin, history, put, resource};

/// A client for the emulator and a new bucket, or `None` (after saying so) when no
/// emulator is configured.
async fn bucket() -> Option<(Client, String)> {
    let Ok(url) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(
            std::env::var_os("CAIRN_REQUIRE_EMULATOR").is_none(),
            "AWS_ENDPOINT_URL is not set, but CAIRN_REQUIRE_EMULATOR is: scripts/test.sh should have started moto"
        );
        eprintln!("skipping: AWS_ENDPOINT_URL not set (run via scripts/test.sh)");
        return None;
    };
    assert!(
        url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"),
        "these tests only run against a local emulator, not {url}"
    );
    let client = client_for_region("us-east-1").await;
    let name = unique("cairn-state");
    client.create_bucket().bucket(&name).send().await.expect("create bucket");
    Some((client, name))
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{:x}-{}", std::process::id(), nanos % (1 << 40), N.fetch_add(1, Ordering::Relaxed))
}

async fn keys(client: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let out = client.list_objects_v2().bucket(bucket).prefix(prefix).send().await.expect("list");
    let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    keys.sort();
    keys
}

async fn get(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client.get_object().bucket(bucket).key(key).send().await.expect("get");
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

async fn put_object(client: &Client, bucket: &str, key: &str, body: &str) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .expect("put");
}

fn status<E, R: std::fmt::Debug>(
    r: Result<R, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> u16 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
    }
}

/// What we found moto (5.1.22 and 5.2.5) to do, checked so that a change of emulator cannot silently
/// turn the lock into a no-op: it honours `If-None-Match: *` on PutObject and `If-Match`
/// on DeleteObject.
#[tokio::test]
async fn emulator_honours_conditional_writes() {
    let Some((c, bucket)) = bucket().await else { return };
    let first = c.put_object().bucket(&bucket).key("k").if_none_match("*").body(ByteStream::from_static(b"1"));
    let etag = first.send().await.expect("first conditional put").e_tag().unwrap().to_string();
    let second = c.put_object().bucket(&bucket).key("k").if_none_match("*").body(ByteStream::from_static(b"2"));
    assert_eq!(status(second.send().await), 412);
    assert_eq!(get(&c, &bucket, "k").await, b"1");
    assert_eq!(status(c.delete_object().bucket(&bucket).key("k").if_match("\"not-the-etag\"").send().await), 412);
    assert_eq!(get(&c, &bucket, "k").await, b"1");
    c.delete_object().bucket(&bucket).key("k").if_match(etag).send().await.expect("delete with the right etag");
    assert!(keys(&c, &bucket, "k").await.is_empty());
}

#[tokio::test]
async fn append_writes_one_object_per_batch_and_load_replays() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "team");
    assert_eq!(b.describe(), format!("s3://{bucket}/team"));
    let empty = b.load("dev").await.unwrap();
    assert!(empty.state.is_empty() && empty.interrupted.is_empty() && empty.last_op == 0);

    b.append("dev", &[begin(1, OpKind::Create, "A"), begin(2, OpKind::Create, "B")]).await.unwrap();
    let first = get(&c, &bucket, "team/stacks/dev/journal/0/000000000001.jsonl").await;
    b.append("dev", &[put(1, "A", "a-1")]).await.unwrap();
    b.append("dev", &[put(2, "B", "b-1")]).await.unwrap();
    b.append(
        "dev",
        &[
            begin(3, OpKind::Delete, "A"),
            JournalEntry::Commit { op: 3, changes: vec![StateChange::Remove { id: "A".into() }] },
            begin(4, OpKind::Create, "C"),
        ],
    )
    .await
    .unwrap();
    b.append("dev", &[]).await.unwrap();

    let journal = keys(&c, &bucket, "team/stacks/dev/").await;
    assert_eq!(
        journal,
        (1..=4).map(|i| format!("team/stacks/dev/journal/0/{i:012}.jsonl")).collect::<Vec<_>>(),
        "one object per non-empty batch, no snapshot before the first compaction"
    );
    // Earlier objects are never rewritten.
    assert_eq!(get(&c, &bucket, &journal[0]).await, first);
    assert_eq!(String::from_utf8(first).unwrap().lines().count(), 2);

    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["B"]);
    assert_eq!(loaded.state.resources["B"].physical_id, "b-1");
    assert_eq!(loaded.interrupted, vec![begin(4, OpKind::Create, "C")]);
    assert_eq!(loaded.last_op, 4);

    // Another process sees the same, and its appends continue the sequence.
    let other = S3Backend::with_client(c.clone(), &bucket, "team/");
    assert_eq!(other.load("dev").await.unwrap().state, loaded.state);
    let third = S3Backend::with_client(c.clone(), &bucket, "team");
    third.append("dev", &[JournalEntry::Abort { op: 4, reason: "gone".into() }]).await.unwrap();
    assert!(keys(&c, &bucket, "team/stacks/dev/journal/0/000000000005.jsonl").await.len() == 1);
    // A stale counter (the first instance still thinks 5 is next) does not overwrite it.
    b.append("dev", &[put(5, "D", "d-1")]).await.unwrap();
    let loaded = other.load("dev").await.unwrap();
    assert!(loaded.interrupted.is_empty());
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["B", "D"]);
    assert_eq!(keys(&c, &bucket, "team/stacks/dev/journal/").await.len(), 6);
}

#[tokio::test]
async fn compact_writes_the_next_generation_and_deletes_the_journal() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "");
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a-1")]).await.unwrap();
    b.append("dev", &[begin(2, OpKind::Create, "B"), put(2, "B", "b-1")]).await.unwrap();
    let state = b.load("dev").await.unwrap().state;
    b.compact("dev", &state).await.unwrap();

    assert_eq!(keys(&c, &bucket, "stacks/dev/").await, ["stacks/dev/snapshot.json"]);
    let snap: serde_json::Value = serde_json::from_slice(&get(&c, &bucket, "stacks/dev/snapshot.json").await).unwrap();
    assert_eq!(snap["generation"], 1);
    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.state, state);
    assert_eq!(loaded.last_op, 0);

    // Appends after the compaction go to the new generation; a fresh process agrees.
    b.append("dev", &[begin(1, OpKind::Delete, "A")]).await.unwrap();
    let fresh = S3Backend::with_client(c.clone(), &bucket, "");
    fresh
        .append("dev", &[JournalEntry::Commit { op: 1, changes: vec![StateChange::Remove { id: "A".into() }] }])
        .await
        .unwrap();
    assert_eq!(
        keys(&c, &bucket, "stacks/dev/journal/").await,
        ["stacks/dev/journal/1/000000000001.jsonl", "stacks/dev/journal/1/000000000002.jsonl"]
    );
    let loaded = fresh.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["B"]);
    fresh.compact("dev", &loaded.state).await.unwrap();
    let snap: serde_json::Value = serde_json::from_slice(&get(&c, &bucket, "stacks/dev/snapshot.json").await).unwrap();
    assert_eq!(snap["generation"], 2);
    assert!(keys(&c, &bucket, "stacks/dev/journal/").await.is_empty());
}

/// A crash after the snapshot was written and before the journal objects were deleted:
/// the old generation's objects are ignored, so the `Retire` in them is not applied twice.
#[tokio::test]
async fn crash_between_snapshot_and_cleanup_applies_nothing_twice() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "p");
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a-1")]).await.unwrap();
    b.append("dev", &[begin(2, OpKind::Create, "A"), put(2, "A", "a-2")]).await.unwrap();
    b.compact("dev", &b.load("dev").await.unwrap().state).await.unwrap();
    // A replacement: the old A is retired, the new one put.
    b.append(
        "dev",
        &[JournalEntry::Commit { op: 3, changes: vec![StateChange::Retire { id: "A".into(), snapshot: false }] }],
    )
    .await
    .unwrap();
    b.append("dev", &[put(4, "A", "a-3")]).await.unwrap();
    let state = b.load("dev").await.unwrap().state;
    assert_eq!(state.pending_deletes.len(), 1);

    // The first half of a compaction (what `compact` writes first), then the crash: the
    // generation-1 journal objects stay. Written without the generation metadata, so the
    // next append must read the generation from the body.
    let journal_before = keys(&c, &bucket, "p/stacks/dev/journal/").await;
    assert_eq!(journal_before.len(), 2);
    let snapshot = format!("{{\"generation\":2,\"state\":{}}}\n", serde_json::to_string(&state).unwrap());
    put_object(&c, &bucket, "p/stacks/dev/snapshot.json", &snapshot).await;

    let after = S3Backend::with_client(c.clone(), &bucket, "p");
    let loaded = after.load("dev").await.unwrap();
    assert_eq!(loaded.state, state);
    assert_eq!(loaded.state.pending_deletes.len(), 1, "the Retire was applied once");
    assert_eq!(loaded.state.resources["A"].physical_id, "a-3");
    assert!(loaded.interrupted.is_empty());

    // The next run appends to generation 2 and its compaction removes the leftovers.
    let fresh = S3Backend::with_client(c.clone(), &bucket, "p");
    fresh
        .append(
            "dev",
            &[JournalEntry::Commit {
                op: 1,
                changes: vec![StateChange::DropRetired { id: "A".into(), physical_id: "a-2".into() }],
            }],
        )
        .await
        .unwrap();
    assert!(keys(&c, &bucket, "p/stacks/dev/journal/2/").await.len() == 1);
    let loaded = fresh.load("dev").await.unwrap();
    assert!(loaded.state.pending_deletes.is_empty());
    fresh.compact("dev", &loaded.state).await.unwrap();
    assert!(keys(&c, &bucket, "p/stacks/dev/journal/").await.is_empty());
    assert_eq!(fresh.load("dev").await.unwrap().state, loaded.state);
}

#[tokio::test]
async fn concurrent_locks_exactly_one_wins() {
    let Some((c, bucket)) = bucket().await else { return };
    for round in 0..8 {
        let stack = format!("race{round}");
        let a = S3Backend::with_client(c.clone(), &bucket, "");
        let b = S3Backend::with_client(c.clone(), &bucket, "");
        let info = |who: &str| LockInfo { user: who.into(), ..lock_info("up") };
        let (ra, rb) = tokio::join!(a.lock(&stack, info("alice")), b.lock(&stack, info("bob")));
        let (held, err, winner) = match (ra, rb) {
            (Ok(l), Err(e)) => (l, e, "alice"),
            (Err(e), Ok(l)) => (l, e, "bob"),
            (Ok(_), Ok(_)) => panic!("round {round}: both took the lock"),
            (Err(x), Err(y)) => panic!("round {round}: neither took the lock: {x}; {y}"),
        };
        match &err {
            StateError::Locked { stack: s, holder, stale } => {
                assert_eq!(s, &stack);
                assert_eq!(holder.user, winner);
                assert!(!stale, "the holder (this process) is alive");
            }
            other => panic!("expected Locked, got {other}"),
        }
        assert!(err.to_string().contains(&format!("locked by {winner} on ")), "{err}");
        let (holder, stale) = a.lock_holder(&stack).await.unwrap().expect("held");
        assert_eq!((holder.user.as_str(), stale), (winner, false));
        held.release().await.unwrap();
        assert!(a.lock_holder(&stack).await.unwrap().is_none());
        // Free again.
        b.lock(&stack, lock_info("up")).await.unwrap().release().await.unwrap();
    }
}

#[tokio::test]
async fn stale_and_foreign_locks() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "x");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let host = lock_info("up").host;
    let lock = |pid: u32, host: &str| {
        serde_json::json!({"user": "alice", "host": host, "pid": pid, "operation": "up", "started": "2026-01-01T00:00:00Z"})
            .to_string()
    };

    put_object(&c, &bucket, "x/stacks/dev/lock.json", &lock(dead, &host)).await;
    match b.lock("dev", lock_info("up")).await {
        Err(e @ StateError::Locked { stale: true, .. }) => {
            assert!(e.to_string().contains("stale") && e.to_string().contains("cairn cancel"), "{e}")
        }
        other => panic!("expected a stale lock, got {:?}", other.err()),
    }
    assert!(b.lock_holder("dev").await.unwrap().unwrap().1);

    // Another host: cairn cannot tell whether it runs; never stale.
    put_object(&c, &bucket, "x/stacks/dev/lock.json", &lock(dead, "some-other-host.example")).await;
    match b.lock("dev", lock_info("up")).await {
        Err(StateError::Locked { stale: false, holder, .. }) => assert_eq!(holder.host, "some-other-host.example"),
        other => panic!("expected a held lock, got {:?}", other.err()),
    }
    // Unreadable: held by `unknown`, not stale, and not taken over.
    put_object(&c, &bucket, "x/stacks/dev/lock.json", "{not json").await;
    match b.lock("dev", lock_info("up")).await {
        Err(StateError::Locked { stale: false, holder, .. }) => assert_eq!(holder.user, "unknown"),
        other => panic!("expected a held lock, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn break_lock_and_release_only_what_is_ours() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "");
    assert!(!b.break_lock("dev").await.unwrap());
    let first = b.lock("dev", LockInfo { user: "first".into(), ..lock_info("up") }).await.unwrap();
    assert!(b.break_lock("dev").await.unwrap());
    assert!(b.lock_holder("dev").await.unwrap().is_none());
    // Someone else takes it; the first holder's release must leave it alone.
    let second = b.lock("dev", LockInfo { user: "second".into(), ..lock_info("up") }).await.unwrap();
    first.release().await.unwrap();
    assert_eq!(b.lock_holder("dev").await.unwrap().unwrap().0.user, "second");
    second.release().await.unwrap();
    assert!(b.lock_holder("dev").await.unwrap().is_none());
    assert!(keys(&c, &bucket, "stacks/dev/").await.is_empty());
}

#[tokio::test]
async fn history_lists_in_version_order() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "h");
    assert!(b.history("dev").await.unwrap().is_empty());
    for v in [3, 1, 2, 10] {
        b.add_history("dev", &history(v, "succeeded")).await.unwrap();
    }
    let h = b.history("dev").await.unwrap();
    assert_eq!(h.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2, 3, 10]);
    assert_eq!(h[3], history(10, "succeeded"));
    assert!(keys(&c, &bucket, "h/stacks/dev/history/00000010.json").await.len() == 1);
    // Other names in the folder are not history.
    put_object(&c, &bucket, "h/stacks/dev/history/notes.txt", "x").await;
    assert_eq!(b.history("dev").await.unwrap().len(), 4);
    put_object(&c, &bucket, "h/stacks/dev/history/00000011.json", "{\"version\":").await;
    assert!(matches!(b.history("dev").await, Err(StateError::Corrupt { .. })));
}

#[tokio::test]
async fn list_and_remove_stacks() {
    let Some((c, bucket)) = bucket().await else { return };
    let b = S3Backend::with_client(c.clone(), &bucket, "team/a");
    let neighbour = S3Backend::with_client(c.clone(), &bucket, "team/b");
    assert!(b.list_stacks().await.unwrap().is_empty());
    for s in ["prod", "dev", "staging"] {
        b.append(s, &[begin(1, OpKind::Create, "A"), put(1, "A", "a")]).await.unwrap();
    }
    b.compact("prod", &b.load("prod").await.unwrap().state).await.unwrap();
    b.add_history("staging", &history(1, "succeeded")).await.unwrap();
    neighbour.append("other", &[put(1, "A", "a")]).await.unwrap();
    assert_eq!(b.list_stacks().await.unwrap(), ["dev", "prod", "staging"]);
    assert_eq!(neighbour.list_stacks().await.unwrap(), ["other"]);

    let held = b.lock("staging", lock_info("stack rm")).await.unwrap();
    b.remove_stack("staging").await.unwrap();
    // The lock went last, with the rest; a new run may take the stack at once, and the
    // remover's release leaves that run's lock alone.
    assert!(keys(&c, &bucket, "team/a/stacks/staging/").await.is_empty());
    let next = b.lock("staging", lock_info("up")).await.unwrap();
    held.release().await.unwrap();
    assert_eq!(b.lock_holder("staging").await.unwrap().map(|(h, _)| h.operation), Some("up".to_string()));
    // A stack holding only a lock has nothing to remove (and is left without the lock).
    assert!(matches!(b.remove_stack("staging").await, Err(StateError::NoSuchStack(_))));
    assert!(keys(&c, &bucket, "team/a/stacks/staging/").await.is_empty());
    next.release().await.unwrap();
    b.remove_stack("prod").await.unwrap();
    assert_eq!(b.list_stacks().await.unwrap(), ["dev"]);
    assert!(keys(&c, &bucket, "team/a/stacks/prod/").await.is_empty());
    assert!(matches!(b.remove_stack("prod").await, Err(StateError::NoSuchStack(s)) if s == "prod"));
    assert!(b.load("prod").await.unwrap().state.is_empty());
    // The stack can be used again after removal (the cached counter is gone).
    b.append("prod", &[put(1, "B", "b")]).await.unwrap();
    assert_eq!(b.load("prod").await.unwrap().state.resources.keys().collect::<Vec<_>>(), ["B"]);
    assert!(matches!(b.load("../x").await, Err(StateError::InvalidStackName { .. })));
}

#[tokio::test]
async fn malformed_objects_are_corrupt_not_panics() {
    let Some((c, bucket)) = bucket().await else { return };
    let corrupt = |r: Result<cairn_core::state::Loaded, StateError>, says: &str| match r {
        Err(StateError::Corrupt { message, .. }) => assert!(message.contains(says), "{message}"),
        other => panic!("expected Corrupt ({says}), got {:?}", other.map(|l| l.state)),
    };
    let b = S3Backend::with_client(c.clone(), &bucket, "");

    put_object(&c, &bucket, "stacks/snap/snapshot.json", "{\"generation\": 1, \"state\": [").await;
    corrupt(b.load("snap").await, "snapshot.json");
    assert!(matches!(b.append("snap", &[put(1, "A", "a")]).await, Err(StateError::Corrupt { .. })));

    let too_new = serde_json::json!({"generation": 0, "state": {"format_version": 99}}).to_string();
    put_object(&c, &bucket, "stacks/new/snapshot.json", &too_new).await;
    corrupt(b.load("new").await, "upgrade cairn");

    b.append("line", &[put(1, "A", "a")]).await.unwrap();
    put_object(
        &c,
        &bucket,
        "stacks/line/journal/0/000000000002.jsonl",
        "{\"entry\":\"abort\",\"op\":1,\"reason\":\"x\"}\ngarbage\n",
    )
    .await;
    corrupt(b.load("line").await, "000000000002.jsonl line 2");

    put_object(&c, &bucket, "stacks/name/journal/0/notes.txt", "x").await;
    corrupt(b.load("name").await, "not a journal object name");

    // A journal of a generation the snapshot has not reached: the snapshot was lost.
    put_object(&c, &bucket, "stacks/ahead/journal/3/000000000001.jsonl", "").await;
    corrupt(b.load("ahead").await, "replaced or lost");
    assert!(matches!(b.append("ahead", &[put(1, "A", "a")]).await, Err(StateError::Corrupt { .. })));

    let binary = c.put_object().bucket(&bucket).key("stacks/bin/journal/0/000000000001.jsonl");
    binary.body(ByteStream::from(vec![0xff, 0xfe, 0x00, b'\n'])).send().await.unwrap();
    corrupt(b.load("bin").await, "line 1");
}

#[tokio::test]
async fn open_backend_takes_s3_urls() {
    let Some((c, bucket)) = bucket().await else { return };
    let dir = std::env::temp_dir();
    let b: Arc<dyn Backend> = open_backend(Some(&format!("s3://{bucket}/via/url?region=us-east-1")), &dir).unwrap();
    assert_eq!(b.describe(), format!("s3://{bucket}/via/url"));
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a")]).await.unwrap();
    b.compact(
        "dev",
        &StackState { resources: BTreeMap::from([("A".into(), resource("A", "a"))]), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(keys(&c, &bucket, "via/url/").await, ["via/url/stacks/dev/snapshot.json"]);
    assert_eq!(b.list_stacks().await.unwrap(), ["dev"]);

    // A bucket that does not exist: a clear error, not a panic.
    let missing = open_backend(Some(&format!("s3://{bucket}-missing/p?region=us-east-1")), &dir).unwrap();
    match missing.load("dev").await {
        Err(StateError::Io(msg)) => assert!(msg.contains("does not exist"), "{msg}"),
        other => panic!("expected an Io error, got {:?}", other.map(|l| l.state)),
    }
}
