//! A real kill: SIGKILL `cairn up` in the middle of a chain of sleeps, then run again.
//!
//! The killed run leaves its lock file; its process is gone on this host, so the lock is
//! stale. cairn does not take a stale lock over by itself: the next run is refused (exit 4)
//! with a message saying the lock is stale and to run `cairn cancel`. After `cairn cancel`,
//! `up` reconciles the interrupted operations and converges.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::Proj;

fn chain_template(n: usize) -> String {
    let mut t = String::from("Resources:\n");
    for i in 1..=n {
        t.push_str(&format!("  Sleep{i}:\n    Type: Cairn::Time::Sleep\n"));
        if i > 1 {
            t.push_str(&format!("    DependsOn: Sleep{}\n", i - 1));
        }
        t.push_str("    Properties:\n      CreateDuration: 300ms\n");
    }
    t
}

#[test]
fn kill_during_up_then_cancel_and_converge() {
    let p = Proj::with_template(&chain_template(6), "{}\n");
    let mut child = std::process::Command::new(common::cairn_bin())
        .current_dir(p.path())
        .args(["up", "--yes", "--parallel", "2"])
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cairn up");
    std::thread::sleep(Duration::from_millis(500));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let lock = p.join(".cairn/stacks/dev/lock.json");
    if lock.exists() {
        // The killed run's lock: stale, refused with a clear message.
        let out = p.run(&["up", "--yes"]).code(4);
        assert!(out.stderr.contains("no longer running"), "{out}");
        assert!(out.stderr.contains("stale"), "{out}");
        assert!(out.stderr.contains("cairn cancel"), "{out}");
        // A stale lock is cleared without confirmation.
        let out = p.run(&["cancel"]).ok();
        assert!(out.stderr.contains("whose process had ended"), "{out}");
        assert!(!lock.exists());
    } else {
        // Killed before it took the lock (a very slow start): nothing to cancel.
        eprintln!("note: the killed run held no lock");
    }
    let out = p.run(&["up", "--yes"]).ok();
    p.run(&["preview", "--expect-no-changes"]).ok();
    let state = p.state("dev");
    let mut ids: Vec<String> = state["resources"].as_object().unwrap().keys().cloned().collect();
    ids.sort();
    assert_eq!(ids, ["Sleep1", "Sleep2", "Sleep3", "Sleep4", "Sleep5", "Sleep6"], "{out}");
    assert!(state.get("pending_deletes").and_then(|v| v.as_array()).is_none_or(Vec::is_empty), "{state:#}");
    p.run(&["stack", "export"]).ok();
}
