//! `cairn` with its state in S3 (moto): a whole life cycle of examples/hello, two
//! concurrent `up`s of one stack, and a SIGKILLed `up` whose stale lock is reported,
//! cancelled and recovered from.
//!
//! The projects use built-in types only, so no AWS resources are made; only the state
//! lives in the emulator. Without `AWS_ENDPOINT_URL` the tests skip (with a message),
//! unless `CAIRN_REQUIRE_EMULATOR` is set (scripts/test.sh), when they fail.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Out, Proj};

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Runtime::new().expect("tokio runtime"))
}

fn client() -> aws_sdk_s3::Client {
    rt().block_on(cairn_state::s3::client_for_region("us-east-1"))
}

/// A new bucket in the emulator, or `None` (after saying so) when there is none.
fn bucket() -> Option<String> {
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
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("cairn-cli-{}-{:x}", std::process::id(), nanos % (1 << 40));
    rt().block_on(client().create_bucket().bucket(&name).send()).expect("create bucket");
    Some(name)
}

fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    let out = rt().block_on(client().list_objects_v2().bucket(bucket).prefix(prefix).send()).expect("list");
    let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    keys.sort();
    keys
}

fn cairn(dir: &Path, backend: &str, args: &[&str]) -> Command {
    let mut c = Command::new(common::cairn_bin());
    c.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("CAIRN_BACKEND", backend)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, backend: &str, args: &[&str]) -> Out {
    let output = cairn(dir, backend, args).output().expect("run cairn");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn chain_template(n: usize, duration: &str) -> String {
    let mut t = String::from("Resources:\n");
    for i in 1..=n {
        t.push_str(&format!("  Sleep{i}:\n    Type: Cairn::Time::Sleep\n"));
        if i > 1 {
            t.push_str(&format!("    DependsOn: Sleep{}\n", i - 1));
        }
        t.push_str(&format!("    Properties:\n      CreateDuration: {duration}\n"));
    }
    t
}

#[test]
fn hello_life_cycle_on_s3() {
    let Some(bucket) = bucket() else { return };
    let p = Proj::hello();
    let backend = format!("s3://{bucket}/team?region=us-east-1");
    let dir = p.path();
    run(dir, &backend, &["-s", "development", "up", "--yes"]).ok();
    run(dir, &backend, &["-s", "development", "preview", "--expect-no-changes"]).ok();
    assert!(!p.join(".cairn").exists(), "nothing is stored locally");
    let objects = keys(&bucket, "team/stacks/development/");
    assert!(objects.contains(&"team/stacks/development/snapshot.json".to_string()), "{objects:?}");
    assert!(objects.contains(&"team/stacks/development/history/00000001.json".to_string()), "{objects:?}");
    assert!(!objects.iter().any(|k| k.contains("/journal/") || k.ends_with("lock.json")), "{objects:?}");

    let ls = run(dir, &backend, &["stack", "ls"]).ok();
    assert!(ls.stdout.contains("development"), "{ls}");
    let state = run(dir, &backend, &["-s", "development", "stack", "export"]).ok().json();
    assert!(state["state"]["resources"].as_object().is_some_and(|r| r.contains_key("Suffix")), "{state:#}");

    run(dir, &backend, &["-s", "development", "destroy", "--yes"]).ok();
    let history = run(dir, &backend, &["-s", "development", "stack", "history", "--json"]).ok().json();
    let history = history.as_array().expect("history list");
    assert_eq!(history.len(), 2, "{history:#?}");
    assert_eq!((history[0]["kind"].as_str(), history[1]["kind"].as_str()), (Some("up"), Some("destroy")));
    assert!(history.iter().all(|h| h["result"] == "succeeded"), "{history:#?}");
    let state = run(dir, &backend, &["-s", "development", "stack", "export"]).ok().json();
    assert!(state["state"]["resources"].as_object().is_none_or(|r| r.is_empty()), "{state:#}");
}

#[test]
fn concurrent_ups_one_wins_the_other_is_refused() {
    let Some(bucket) = bucket() else { return };
    let p = Proj::with_template(&chain_template(4, "500ms"), "{}\n");
    let backend = format!("s3://{bucket}/race?region=us-east-1");
    let spawn = || {
        cairn(p.path(), &backend, &["up", "--yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cairn up")
    };
    let (a, b) = (spawn(), spawn());
    let (pid_a, pid_b) = (a.id(), b.id());
    let outs: Vec<(u32, Out)> = [(pid_a, a), (pid_b, b)]
        .into_iter()
        .map(|(pid, child)| {
            let o = child.wait_with_output().expect("wait");
            let out = Out {
                code: o.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            };
            (pid, out)
        })
        .collect();
    let codes: Vec<i32> = outs.iter().map(|(_, o)| o.code).collect();
    let (winner, loser) = match codes.as_slice() {
        [0, 4] => (&outs[0], &outs[1]),
        [4, 0] => (&outs[1], &outs[0]),
        _ => panic!("expected one success and one exit 4:\n{}\n{}", outs[0].1, outs[1].1),
    };
    assert!(!loser.1.stderr.contains("panicked"), "{}", loser.1);
    assert!(loser.1.stderr.contains("is locked by"), "{}", loser.1);
    assert!(loser.1.stderr.contains(&format!("(pid {}, `cairn up`)", winner.0)), "names the holder:\n{}", loser.1);
    assert!(!loser.1.stderr.contains("stale"), "{}", loser.1);
    // The winner converged and released its lock.
    run(p.path(), &backend, &["preview", "--expect-no-changes"]).ok();
    assert!(keys(&bucket, "race/stacks/dev/lock.json").is_empty());
}

#[test]
fn killed_up_leaves_a_stale_lock_that_cancel_clears() {
    let Some(bucket) = bucket() else { return };
    let p = Proj::with_template(&chain_template(6, "500ms"), "{}\n");
    let backend = format!("s3://{bucket}/kill?region=us-east-1");
    let mut child = cairn(p.path(), &backend, &["up", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cairn up");
    // Kill it once it holds the lock and has recorded an intent (the run takes 3 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stack = keys(&bucket, "kill/stacks/dev/");
        if stack.iter().any(|k| k.ends_with("lock.json")) && stack.iter().any(|k| k.contains("/journal/")) {
            break;
        }
        assert!(child.try_wait().expect("poll").is_none(), "cairn up ended before it could be killed");
        assert!(Instant::now() < deadline, "cairn up never took the lock: {stack:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let out = run(p.path(), &backend, &["up", "--yes"]).code(4);
    assert!(out.stderr.contains("stale") && out.stderr.contains("cairn cancel"), "{out}");
    assert!(out.stderr.contains(&format!("pid {}", child.id())), "{out}");
    let out = run(p.path(), &backend, &["cancel"]).ok();
    assert!(out.stderr.contains("whose process had ended"), "{out}");
    assert!(keys(&bucket, "kill/stacks/dev/lock.json").is_empty());

    run(p.path(), &backend, &["up", "--yes"]).ok();
    run(p.path(), &backend, &["preview", "--expect-no-changes"]).ok();
    let state = run(p.path(), &backend, &["stack", "export"]).ok().json()["state"].clone();
    let ids: Vec<&String> = state["resources"].as_object().expect("resources").keys().collect();
    assert_eq!(ids, ["Sleep1", "Sleep2", "Sleep3", "Sleep4", "Sleep5", "Sleep6"]);
    assert!(state.get("pending_deletes").and_then(|v| v.as_array()).is_none_or(Vec::is_empty), "{state:#}");
    // Everything is folded into the snapshot: no journal left to replay, no lock.
    assert_eq!(
        keys(&bucket, "kill/stacks/dev/").into_iter().filter(|k| !k.contains("/history/")).collect::<Vec<_>>(),
        ["kill/stacks/dev/snapshot.json"]
    );
}
