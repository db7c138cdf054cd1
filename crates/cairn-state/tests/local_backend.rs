use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cairn_core::state::{Backend, JournalEntry, LockInfo, OpKind, StackState, StateChange, StateError};
use cairn_state::{lock_info, open_backend, LocalBackend};

mod common;
use common::{begin, history, put, resource};

fn stack_dir(root: &Path, stack: &str) -> PathBuf {
    root.join("stacks").join(stack)
}

#[tokio::test]
async fn append_then_load_replays() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    let empty = b.load("dev").await.unwrap();
    assert!(empty.state.is_empty() && empty.interrupted.is_empty() && empty.last_op == 0);

    b.append("dev", &[begin(1, OpKind::Create, "A"), begin(2, OpKind::Create, "B")]).await.unwrap();
    b.append("dev", &[put(1, "A", "a-1")]).await.unwrap();
    b.append("dev", &[put(2, "B", "b-1")]).await.unwrap();
    b.append(
        "dev",
        &[
            begin(3, OpKind::Delete, "A"),
            JournalEntry::Commit { op: 3, changes: vec![StateChange::Remove { id: "A".into() }] },
        ],
    )
    .await
    .unwrap();
    b.append("dev", &[]).await.unwrap();

    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["B"]);
    assert_eq!(loaded.state.resources["B"].physical_id, "b-1");
    assert!(loaded.interrupted.is_empty());
    assert_eq!(loaded.last_op, 3);

    // A second backend instance (another process) sees the same.
    let other = LocalBackend::new(dir.path());
    assert_eq!(other.load("dev").await.unwrap().state, loaded.state);

    // One header line plus one line per entry.
    let journal = fs::read_to_string(stack_dir(dir.path(), "dev").join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1 + 6);
    assert_eq!(journal.lines().next().unwrap(), r#"{"generation":0}"#);
}

#[tokio::test]
async fn interrupted_begin_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a-1")]).await.unwrap();
    b.append("dev", &[begin(2, OpKind::Create, "B"), begin(3, OpKind::Update, "A")]).await.unwrap();
    b.append("dev", &[JournalEntry::Abort { op: 3, reason: "throttled".into() }]).await.unwrap();
    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.interrupted, vec![begin(2, OpKind::Create, "B")]);
    assert_eq!(loaded.last_op, 3);
    assert!(loaded.state.resources.contains_key("A"));
}

#[tokio::test]
async fn torn_last_line_is_skipped_and_repaired_before_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a-1")]).await.unwrap();
    let path = stack_dir(dir.path(), "dev").join("journal.jsonl");
    let line = serde_json::to_string(&begin(2, OpKind::Create, "B")).unwrap();
    fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&line.as_bytes()[..line.len() / 2]).unwrap();

    let loaded = b.load("dev").await.unwrap();
    assert!(loaded.interrupted.is_empty(), "the torn Begin was never durable");
    assert_eq!(loaded.last_op, 1);
    assert!(loaded.state.resources.contains_key("A"));

    // A fresh process appends after the crash: the torn piece is cut off first.
    let b2 = LocalBackend::new(dir.path());
    b2.append("dev", &[begin(2, OpKind::Create, "C")]).await.unwrap();
    let loaded = b2.load("dev").await.unwrap();
    assert_eq!(loaded.interrupted, vec![begin(2, OpKind::Create, "C")]);
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 4);
}

#[tokio::test]
async fn whole_last_entry_without_newline_counts_and_is_completed() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[begin(1, OpKind::Create, "A")]).await.unwrap();
    let path = stack_dir(dir.path(), "dev").join("journal.jsonl");
    let line = serde_json::to_string(&put(1, "A", "a-1")).unwrap();
    fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(line.as_bytes()).unwrap();
    assert!(b.load("dev").await.unwrap().state.resources.contains_key("A"));

    let b2 = LocalBackend::new(dir.path());
    b2.append("dev", &[put(2, "B", "b-1")]).await.unwrap();
    let loaded = b2.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.len(), 2);
}

#[tokio::test]
async fn corrupt_middle_line_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a-1"), put(2, "B", "b")]).await.unwrap();
    let path = stack_dir(dir.path(), "dev").join("journal.jsonl");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"entry\": \"commit\", \"op\": ";
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    match b.load("dev").await {
        Err(StateError::Corrupt { stack, message }) => {
            assert_eq!(stack, "dev");
            assert!(message.contains("line 3"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Loading again gives the same error (nothing was changed by the failed load).
    assert!(matches!(b.load("dev").await, Err(StateError::Corrupt { .. })));
}

#[tokio::test]
async fn malformed_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    let sd = stack_dir(dir.path(), "dev");
    fs::create_dir_all(&sd).unwrap();
    for snapshot in ["", "{", "[]", "{\"generation\": -1, \"state\": {}}", "\u{0}\u{1}", &"[".repeat(10_000)] {
        fs::write(sd.join("snapshot.json"), snapshot).unwrap();
        assert!(matches!(b.load("dev").await, Err(StateError::Corrupt { .. })), "{snapshot:?}");
    }
    fs::write(sd.join("snapshot.json"), r#"{"generation":0,"state":{"format_version":999}}"#).unwrap();
    let err = b.load("dev").await.unwrap_err();
    assert!(err.to_string().contains("upgrade cairn"), "{err}");

    fs::remove_file(sd.join("snapshot.json")).unwrap();
    for journal in ["not json\n", "{\"generation\":0}\n{\"entry\":\"nope\"}\n", "{\"generation\":0}\n[1,2]\n\n"] {
        fs::write(sd.join("journal.jsonl"), journal).unwrap();
        assert!(matches!(b.load("dev").await, Err(StateError::Corrupt { .. })), "{journal:?}");
    }
    // A journal ahead of its snapshot is not replayed onto the wrong base.
    fs::write(sd.join("journal.jsonl"), "{\"generation\":4}\n").unwrap();
    assert!(matches!(b.load("dev").await, Err(StateError::Corrupt { .. })));
    assert!(matches!(b.append("dev", &[begin(1, OpKind::Create, "A")]).await, Err(StateError::Corrupt { .. })));
}

#[tokio::test]
async fn compact_then_load_and_append() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[begin(1, OpKind::Create, "A"), put(1, "A", "a-1")]).await.unwrap();
    let state = b.load("dev").await.unwrap().state;
    b.compact("dev", &state).await.unwrap();

    let sd = stack_dir(dir.path(), "dev");
    assert_eq!(fs::read_to_string(sd.join("journal.jsonl")).unwrap(), "{\"generation\":1}\n");
    let snap: serde_json::Value = serde_json::from_slice(&fs::read(sd.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(snap["generation"], 1);
    assert!(!sd.join("snapshot.json.tmp").exists());

    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.state, state);
    assert_eq!(loaded.last_op, 0);

    // Appends after compaction land in the new journal (through the cached handle).
    b.append("dev", &[put(1, "B", "b-1")]).await.unwrap();
    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.len(), 2);

    // Another instance's compaction replaces the journal; this one notices and reopens.
    let other = LocalBackend::new(dir.path());
    other.compact("dev", &loaded.state).await.unwrap();
    b.append("dev", &[put(1, "C", "c-1")]).await.unwrap();
    let loaded = other.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["A", "B", "C"]);
}

/// A crash after the snapshot rename and before the journal reset: the old journal is
/// still there, but its changes (including a non-idempotent Retire) are in the snapshot.
#[tokio::test]
async fn crash_between_snapshot_rename_and_journal_reset() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[put(1, "A", "a-1")]).await.unwrap();
    b.compact("dev", &b.load("dev").await.unwrap().state).await.unwrap();

    // Replace A: create the successor, retire the old one.
    b.append(
        "dev",
        &[
            begin(1, OpKind::Create, "A"),
            JournalEntry::Commit {
                op: 1,
                changes: vec![
                    StateChange::Retire { id: "A".into(), snapshot: false },
                    StateChange::Put { state: resource("A", "a-2") },
                ],
            },
        ],
    )
    .await
    .unwrap();
    let expected = b.load("dev").await.unwrap().state;
    assert_eq!(expected.pending_deletes.len(), 1);
    assert_eq!(expected.resources["A"].physical_id, "a-2");

    let sd = stack_dir(dir.path(), "dev");
    let old_journal = fs::read(sd.join("journal.jsonl")).unwrap();
    b.compact("dev", &expected).await.unwrap();
    // Simulate the crash: put the pre-compaction journal back.
    fs::write(sd.join("journal.jsonl"), &old_journal).unwrap();

    let fresh = LocalBackend::new(dir.path());
    let loaded = fresh.load("dev").await.unwrap();
    assert_eq!(loaded.state, expected, "the stale journal must not be replayed again");
    assert_eq!(loaded.state.pending_deletes.len(), 1);
    assert!(loaded.interrupted.is_empty());

    // The next run's appends start a fresh journal rather than joining the stale one.
    fresh.append("dev", &[put(1, "B", "b-1")]).await.unwrap();
    let loaded = fresh.load("dev").await.unwrap();
    assert_eq!(loaded.state.pending_deletes.len(), 1);
    assert_eq!(loaded.state.resources.len(), 2);
    let journal = fs::read_to_string(sd.join("journal.jsonl")).unwrap();
    assert!(journal.starts_with("{\"generation\":2}\n"), "{journal}");

    // And a compaction now goes past both.
    fresh.compact("dev", &loaded.state).await.unwrap();
    assert_eq!(fresh.load("dev").await.unwrap().state, loaded.state);
}

#[tokio::test]
async fn lock_refuses_a_second_holder() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    let info = lock_info("up");
    let lock = b.lock("dev", info.clone()).await.unwrap();
    match b.lock("dev", lock_info("destroy")).await {
        Err(StateError::Locked { stack, holder, stale }) => {
            assert_eq!(stack, "dev");
            assert_eq!(holder, info);
            assert!(!stale, "this process is alive");
            let msg = StateError::Locked { stack, holder, stale }.to_string();
            assert!(msg.contains("`cairn up`") && msg.contains(&info.user), "{msg}");
        }
        Err(e) => panic!("expected Locked, got {e}"),
        Ok(_) => panic!("expected Locked, got a lock"),
    }
    assert_eq!(b.lock_holder("dev").await.unwrap(), Some((info, false)));
    // Other stacks are independent.
    let other = b.lock("prod", lock_info("up")).await.unwrap();
    lock.release().await.unwrap();
    assert_eq!(b.lock_holder("dev").await.unwrap(), None);
    b.lock("dev", lock_info("up")).await.unwrap().release().await.unwrap();
    // Drop releases too.
    drop(other);
    assert_eq!(b.lock_holder("prod").await.unwrap(), None);
}

#[tokio::test]
async fn stale_lock_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();

    let mut info = lock_info("up");
    info.pid = dead_pid;
    let sd = stack_dir(dir.path(), "dev");
    fs::create_dir_all(&sd).unwrap();
    fs::write(sd.join("lock.json"), serde_json::to_vec(&info).unwrap()).unwrap();

    assert_eq!(b.lock_holder("dev").await.unwrap(), Some((info.clone(), true)));
    match b.lock("dev", lock_info("up")).await {
        Err(StateError::Locked { holder, stale: true, .. }) => assert_eq!(holder.pid, dead_pid),
        other => panic!("expected a stale Locked, got {:?}", other.err()),
    }
    // On another host the pid says nothing: not stale.
    info.host = "some-other-host.example".into();
    fs::write(sd.join("lock.json"), serde_json::to_vec(&info).unwrap()).unwrap();
    assert_eq!(b.lock_holder("dev").await.unwrap(), Some((info, false)));
}

#[tokio::test]
async fn malformed_lock_is_held_by_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    let sd = stack_dir(dir.path(), "dev");
    fs::create_dir_all(&sd).unwrap();
    fs::write(sd.join("lock.json"), "{oops").unwrap();
    let (holder, stale) = b.lock_holder("dev").await.unwrap().unwrap();
    assert_eq!((holder.user.as_str(), holder.host.as_str(), stale), ("unknown", "unknown", false));
    assert!(matches!(b.lock("dev", lock_info("up")).await, Err(StateError::Locked { .. })));
}

#[tokio::test]
async fn break_lock_removes_any_holder() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    assert!(!b.break_lock("dev").await.unwrap());
    let first = b.lock("dev", lock_info("up")).await.unwrap();
    assert!(b.break_lock("dev").await.unwrap());
    assert_eq!(b.lock_holder("dev").await.unwrap(), None);
    let second_info = lock_info("destroy");
    let second = b.lock("dev", second_info.clone()).await.unwrap();
    // The broken first lock must not remove the second holder's lock when released.
    first.release().await.unwrap();
    assert_eq!(b.lock_holder("dev").await.unwrap(), Some((second_info, false)));
    second.release().await.unwrap();
    assert_eq!(b.lock_holder("dev").await.unwrap(), None);
}

#[tokio::test]
async fn history_is_ordered_by_version() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    assert!(b.history("dev").await.unwrap().is_empty());
    assert_eq!(b.next_version("dev").await.unwrap(), 1);
    for v in [3, 1, 10, 2, 100_000_000] {
        b.add_history("dev", &history(v, "succeeded")).await.unwrap();
    }
    let versions: Vec<u64> = b.history("dev").await.unwrap().iter().map(|h| h.version).collect();
    assert_eq!(versions, [1, 2, 3, 10, 100_000_000]);
    assert_eq!(b.next_version("dev").await.unwrap(), 100_000_001);
    let hd = stack_dir(dir.path(), "dev").join("history");
    assert!(hd.join("00000003.json").exists());
    // Rewriting a version replaces it; stray files are ignored.
    b.add_history("dev", &history(3, "failed")).await.unwrap();
    fs::write(hd.join("notes.txt"), "hi").unwrap();
    fs::write(hd.join("00000004.json.tmp"), "{").unwrap();
    let all = b.history("dev").await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[2].result, "failed");
    fs::write(hd.join("00000005.json"), "{").unwrap();
    assert!(matches!(b.history("dev").await, Err(StateError::Corrupt { .. })));
}

#[tokio::test]
async fn stack_names_are_validated_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join("root"));
    for bad in ["../escape", "..", "a/b", "", "a b"] {
        assert!(matches!(b.load(bad).await, Err(StateError::InvalidStackName { .. })), "{bad:?}");
        assert!(matches!(b.append(bad, &[put(1, "A", "a")]).await, Err(StateError::InvalidStackName { .. })));
        assert!(matches!(b.compact(bad, &StackState::default()).await, Err(StateError::InvalidStackName { .. })));
        assert!(matches!(b.lock(bad, lock_info("up")).await, Err(StateError::InvalidStackName { .. })));
        assert!(matches!(b.remove_stack(bad).await, Err(StateError::InvalidStackName { .. })));
        assert!(matches!(b.add_history(bad, &history(1, "ok")).await, Err(StateError::InvalidStackName { .. })));
    }
    assert!(!dir.path().join("escape").exists());
    let err = b.load("a/b").await.unwrap_err().to_string();
    assert!(err.contains("`a/b` is not a valid stack name"), "{err}");
}

#[tokio::test]
async fn list_and_remove_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    assert!(b.list_stacks().await.unwrap().is_empty());
    b.compact("staging", &StackState::default()).await.unwrap();
    b.append("dev", &[put(1, "A", "a")]).await.unwrap();
    b.add_history("prod", &history(1, "succeeded")).await.unwrap();
    fs::write(dir.path().join("stacks").join("stray-file"), "").unwrap();
    assert_eq!(b.list_stacks().await.unwrap(), ["dev", "prod", "staging"]);

    b.remove_stack("dev").await.unwrap();
    assert_eq!(b.list_stacks().await.unwrap(), ["prod", "staging"]);
    assert!(b.load("dev").await.unwrap().state.is_empty());
    assert!(matches!(b.remove_stack("dev").await, Err(StateError::NoSuchStack(s)) if s == "dev"));
    // The stack can be used again after removal (the cached journal handle is gone).
    b.append("dev", &[put(1, "B", "b")]).await.unwrap();
    assert_eq!(b.load("dev").await.unwrap().state.resources.keys().collect::<Vec<_>>(), ["B"]);
}

#[tokio::test]
async fn remove_stack_under_its_lock_takes_the_lock_last() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    b.append("dev", &[put(1, "A", "a")]).await.unwrap();
    b.add_history("dev", &history(1, "succeeded")).await.unwrap();
    let held = b.lock("dev", lock_info("stack rm")).await.unwrap();
    b.remove_stack("dev").await.unwrap();
    // State, history and lock went at once: nothing is left, not even the directory.
    assert!(!stack_dir(dir.path(), "dev").exists());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect::<Vec<_>>(),
        ["stacks"]
    );
    assert_eq!(b.lock_holder("dev").await.unwrap(), None);
    // A new run may take the stack at once; the remover's release leaves its lock alone.
    let next = b.lock("dev", lock_info("up")).await.unwrap();
    held.release().await.unwrap();
    assert_eq!(b.lock_holder("dev").await.unwrap().map(|(h, _)| h.operation), Some("up".to_string()));
    // A stack holding only a lock has nothing to remove (and is left without the lock).
    assert!(matches!(b.remove_stack("dev").await, Err(StateError::NoSuchStack(s)) if s == "dev"));
    assert!(!stack_dir(dir.path(), "dev").exists());
    next.release().await.unwrap();
}

#[test]
fn holder_state_tells_running_gone_and_elsewhere() {
    use cairn_state::{holder_state, HolderState};
    let me = lock_info("up");
    assert_eq!(holder_state(&me), HolderState::Running);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    assert_eq!(holder_state(&LockInfo { pid: dead, ..me.clone() }), HolderState::Gone);
    assert_eq!(holder_state(&LockInfo { pid: 0, ..me.clone() }), HolderState::Gone);
    assert_eq!(holder_state(&LockInfo { host: "elsewhere.example".into(), ..me }), HolderState::Elsewhere);
}

#[tokio::test]
async fn open_backend_url_forms() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    let abs = project.join("elsewhere");
    let cases: Vec<(Option<String>, PathBuf)> = vec![
        (None, project.join(".cairn")),
        (Some("file://.cairn".into()), project.join(".cairn")),
        (Some("file://state/x".into()), project.join("state/x")),
        (Some(format!("file://{}", abs.display())), abs.clone()),
        (Some("plain".into()), project.join("plain")),
    ];
    for (url, root) in cases {
        let b = open_backend(url.as_deref(), project).unwrap();
        assert_eq!(b.describe(), format!("file://{}", root.display()), "{url:?}");
        b.append("dev", &[put(1, "A", "a")]).await.unwrap();
        assert!(root.join("stacks/dev/journal.jsonl").exists(), "{url:?}");
        assert_eq!(b.list_stacks().await.unwrap(), ["dev"]);
    }
    // S3 URLs open the S3 backend (nothing is contacted until it is used).
    let b = open_backend(Some("s3://bucket/prefix?region=us-east-1"), project).unwrap();
    assert_eq!(b.describe(), "s3://bucket/prefix");
    match open_backend(Some("gs://bucket/prefix"), project) {
        Err(StateError::UnsupportedBackend(msg)) => assert!(msg.contains("gs://"), "{msg}"),
        other => panic!("expected UnsupportedBackend, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn concurrent_appends_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let b = std::sync::Arc::new(LocalBackend::new(dir.path()));
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("R{i}");
            b.append("dev", &[begin(i + 1, OpKind::Create, &id)]).await.unwrap();
            b.append("dev", &[put(i + 1, &id, &format!("p{i}"))]).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let loaded = b.load("dev").await.unwrap();
    assert_eq!(loaded.state.resources.len(), 32);
    assert!(loaded.interrupted.is_empty());
    assert_eq!(loaded.last_op, 32);
}

#[test]
fn lock_info_is_filled() {
    let info: LockInfo = lock_info("refresh");
    assert_eq!(info.operation, "refresh");
    assert_eq!(info.pid, std::process::id());
}
