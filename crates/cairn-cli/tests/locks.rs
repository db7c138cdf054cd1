//! Locks that protect, and a region only where AWS is used.
//!
//! - `cairn cancel` keeps the lock of a run still going on this host (exit 4, naming its
//!   pid) unless `--force`; a lock held from another host is cleared only when confirmed
//!   or with `--yes`; a stale one (its process gone) is cleared at once.
//! - `cairn stack rm` takes the stack's lock: refused (exit 4) while another run holds it,
//!   with or without `--force`, on the local backend and on S3 (the emulator).
//! - A stack of built-in types runs with no region anywhere; a stack that uses AWS takes
//!   its region from the stack file, Cairn.yaml's defaults, then the AWS SDK's chain
//!   (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile in the config file), and says where it
//!   looked when there is none.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{write_lock, Out, Proj};

/// A template with a quick sleep, and with `slow`, a second one that waits a minute.
fn sleeps(slow: bool) -> String {
    let mut t = String::from("Resources:\n  Quick:\n    Type: Cairn::Time::Sleep\n");
    if slow {
        t.push_str("  Slow:\n    Type: Cairn::Time::Sleep\n    Properties:\n      CreateDuration: 60s\n");
    }
    t
}

/// `cairn ARGS` in `dir` with no AWS region or profile reachable from the environment: no
/// `AWS_REGION`/`AWS_DEFAULT_REGION`/`AWS_PROFILE`, the config and credentials files and
/// `HOME` pointed into `dir` (where there are none unless the test writes them), plus `env`.
fn run_isolated(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = Proj::cmd_in(dir, args);
    c.env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", dir.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"))
        .env("HOME", dir.join("home"));
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run cairn");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Start `cairn up --yes` in the background (with `backend` as `CAIRN_BACKEND` if given).
fn spawn_up(dir: &Path, backend: Option<&str>) -> Child {
    let mut c = std::process::Command::new(common::cairn_bin());
    c.current_dir(dir)
        .args(["up", "--yes"])
        .env("NO_COLOR", "1")
        // The lock records the user: the same in every snapshot.
        .env("USER", "alice")
        .env_remove("CAIRN_BACKEND")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(b) = backend {
        c.env("CAIRN_BACKEND", b);
    }
    c.spawn().expect("spawn cairn up")
}

/// Wait until `held()` says the background run holds its lock.
fn wait_for_lock(child: &mut Child, held: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !held() {
        assert!(child.try_wait().expect("poll").is_none(), "cairn up ended before it took its lock");
        assert!(Instant::now() < deadline, "cairn up never took its lock");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lock's holder pid as the lock file records it.
fn lock_pid(p: &Proj, stack: &str) -> u32 {
    let lock: serde_json::Value = serde_json::from_str(&p.read(&format!(".cairn/stacks/{stack}/lock.json"))).unwrap();
    lock["pid"].as_u64().expect("pid") as u32
}

#[test]
fn a_running_holder_keeps_its_lock_unless_forced() {
    let p = Proj::with_template(&sleeps(false), "{}\n");
    p.run(&["up", "--yes"]).ok();
    let before = p.state("dev");
    // A second `up` that will hold the lock for a minute.
    p.write("template.yaml", &sleeps(true));
    let mut child = spawn_up(p.path(), None);
    let lock = p.join(".cairn/stacks/dev/lock.json");
    wait_for_lock(&mut child, || lock.exists() && std::fs::read(&lock).is_ok_and(|b| !b.is_empty()));
    assert_eq!(lock_pid(&p, "dev"), child.id());
    let pid = format!("pid {}", child.id());

    // `cancel`, with or without --yes: refused, the pid named, the lock kept.
    for args in [&["cancel"][..], &["cancel", "--yes"]] {
        let out = p.run(args).code(4);
        assert!(out.stderr.contains(&pid) && out.stderr.contains("still running on this host"), "{out}");
        assert!(out.stderr.contains("`cairn up`") && out.stderr.contains("--force"), "{out}");
        assert!(lock.exists(), "the lock was kept");
    }
    p.snapshot("locks_cancel_running", &p.run(&["cancel"]).code(4));

    // `stack rm` during the run, with or without --force: refused, state and file kept.
    for args in [&["stack", "rm", "dev", "--yes"][..], &["stack", "rm", "dev", "--force", "--yes"]] {
        let out = p.run(args).code(4);
        assert!(out.stderr.contains(&format!("({pid}, `cairn up`)")), "names the holder: {out}");
        assert!(p.join("stacks/dev.yaml").exists() && p.join(".cairn/stacks/dev/snapshot.json").exists());
    }
    assert_eq!(p.state("dev")["resources"]["Quick"], before["resources"]["Quick"]);

    // --force clears it, and says so.
    let out = p.run(&["cancel", "--force"]).ok();
    assert!(out.stderr.contains(&format!("(--force), although {pid} is still running")), "{out}");
    assert!(!lock.exists());
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    // The next run reconciles what the killed one left, and converges (without the slow
    // sleep, so as not to wait for it).
    p.write("template.yaml", &sleeps(false));
    p.run(&["up", "--yes"]).ok();
    p.run(&["preview", "--expect-no-changes"]).ok();
}

#[test]
fn a_lock_from_another_host_is_cleared_only_when_confirmed() {
    let p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    write_lock(&p, "development", 4242, "build-server-7");
    let lock = p.join(".cairn/stacks/development/lock.json");
    // No terminal and no --yes: shown, not cleared (exit 5).
    let out = p.run(&["-s", "development", "cancel"]).code(5);
    for part in ["alice", "on build-server-7", "pid 4242", "`cairn up`", "since 2026-01-01T00:00:00Z (", " ago)"] {
        assert!(out.stderr.contains(part), "{part}: {out}");
    }
    assert!(lock.exists());
    p.snapshot("locks_cancel_other_host_not_confirmed", &out);
    // An answer on a stdin that is not a terminal does not count: still kept.
    p.run_stdin(&["-s", "development", "cancel"], "y\n").code(5);
    assert!(lock.exists());
    let out = p.run(&["-s", "development", "cancel", "--yes"]).ok();
    assert!(!lock.exists());
    p.snapshot("locks_cancel_other_host", &out);
    p.run(&["-s", "development", "up", "--yes"]).ok();
}

#[test]
fn a_stale_lock_is_cleared_at_once() {
    let p = Proj::hello();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    write_lock(&p, "development", dead, &common::hostname());
    let out = p.run(&["-s", "development", "up", "--yes"]).code(4);
    assert!(out.stderr.contains("stale") && out.stderr.contains("cairn cancel"), "{out}");
    let out = p.run(&["-s", "development", "cancel"]).ok();
    assert!(out.stderr.contains(&format!("pid {dead}")) && out.stderr.contains("whose process had ended"), "{out}");
    assert!(!p.join(".cairn/stacks/development/lock.json").exists());
    p.snapshot("locks_cancel_stale", &out);
    // With --yes as well.
    write_lock(&p, "development", dead, &common::hostname());
    p.run(&["-s", "development", "cancel", "--yes"]).ok();
    p.run(&["-s", "development", "up", "--yes"]).ok();
}

#[test]
fn stack_rm_is_refused_while_locked() {
    let p = Proj::hello();
    p.run(&["-s", "staging", "up", "--yes"]).ok();
    p.run(&["-s", "staging", "destroy", "--yes"]).ok();
    let history = p.run(&["-s", "staging", "stack", "history", "--json"]).ok().json();
    // A live holder: this test's own process, on this host.
    write_lock(&p, "staging", std::process::id(), &common::hostname());
    for args in [&["stack", "rm", "staging", "--yes"][..], &["stack", "rm", "staging", "--force", "--yes"]] {
        let out = p.run(args).code(4);
        assert!(out.stderr.contains("is locked by alice"), "{out}");
    }
    p.snapshot("locks_stack_rm_locked", &p.run(&["stack", "rm", "staging", "--yes"]).code(4));
    assert!(p.join("stacks/staging.yaml").exists());
    assert_eq!(p.run(&["-s", "staging", "stack", "history", "--json"]).ok().json(), history);
    // Once the holder is gone, rm goes ahead and leaves nothing, not even its own lock.
    p.run(&["-s", "staging", "cancel", "--force"]).ok();
    p.run(&["stack", "rm", "staging", "--yes"]).ok();
    assert!(!p.join("stacks/staging.yaml").exists());
    assert!(!p.join(".cairn/stacks/staging").exists());
    // A stack that never ran: only its stack file to remove.
    p.run(&["stack", "rm", "production", "--yes"]).ok();
    assert!(!p.join("stacks/production.yaml").exists());
    assert!(!p.join(".cairn/stacks/production").exists());
}

#[test]
fn stack_rm_on_s3_waits_for_a_running_up() {
    let Some(emu) = aws::emulator() else { return };
    let bucket = aws::unique("cairn-locks");
    emu.create_bucket(&bucket);
    let backend = format!("s3://{bucket}/team?region=us-east-1");
    let p = Proj::with_template(&sleeps(false), "{}\n");
    let run = |args: &[&str]| {
        let o = Proj::cmd_in(p.path(), args).env("CAIRN_BACKEND", &backend).output().expect("run cairn");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    let keys = || -> Vec<String> { emu.objects(&bucket).into_iter().map(|(k, _)| k).collect() };
    run(&["up", "--yes"]).ok();
    p.write("template.yaml", &sleeps(true));
    let mut child = spawn_up(p.path(), Some(&backend));
    wait_for_lock(&mut child, || keys().iter().any(|k| k == "team/stacks/dev/lock.json"));
    let before: Vec<String> = keys().into_iter().filter(|k| !k.contains("/journal/")).collect();
    assert!(before.contains(&"team/stacks/dev/snapshot.json".to_string()), "{before:?}");

    for args in [&["stack", "rm", "dev", "--yes"][..], &["stack", "rm", "dev", "--force", "--yes"]] {
        let out = run(args).code(4);
        assert!(out.stderr.contains(&format!("(pid {}, `cairn up`)", child.id())), "names the holder: {out}");
    }
    let after: Vec<String> = keys().into_iter().filter(|k| !k.contains("/journal/")).collect();
    assert_eq!(after, before, "the state is untouched");
    assert!(p.join("stacks/dev.yaml").exists());
    // `cancel` keeps the running holder's lock on S3 too.
    let out = run(&["cancel", "--yes"]).code(4);
    assert!(out.stderr.contains("still running on this host"), "{out}");
    assert!(keys().contains(&"team/stacks/dev/lock.json".to_string()));

    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    // Now stale: cleared at once; then rm takes the lock and removes everything.
    run(&["cancel"]).ok();
    run(&["stack", "rm", "dev", "--force", "--yes"]).ok();
    assert_eq!(keys(), Vec::<String>::new());
}

#[test]
fn hello_runs_without_any_region() {
    let p = Proj::hello();
    assert!(!p.read("Cairn.yaml").contains("region:"), "examples/hello names no region");
    for args in [&["-s", "production", "preview"][..], &["-s", "production", "up", "--yes"]] {
        run_isolated(p.path(), args, &[]).ok();
    }
    run_isolated(p.path(), &["-s", "production", "preview", "--expect-no-changes"], &[]).ok();
    // Setting a region later replaces nothing: built-in types have none.
    run_isolated(p.path(), &["-s", "production", "config", "set", "region", "eu-west-1"], &[]).ok();
    run_isolated(p.path(), &["-s", "production", "preview", "--expect-no-changes"], &[]).ok();
    run_isolated(p.path(), &["-s", "production", "destroy", "--yes"], &[]).ok();
    assert_eq!(p.state("production")["resources"], serde_json::json!({}));
}

/// A project without any region setting whose template is `template`.
fn regionless(template: &str) -> Proj {
    let p = Proj::with_template(template, "{}\n");
    p.write("Cairn.yaml", "name: regionless\ntemplate: template.yaml\n");
    p
}

#[test]
fn aws_without_a_region_says_where_it_looked() {
    let p = regionless("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n");
    let out = run_isolated(p.path(), &["preview"], &[]).code(2);
    for part in ["stacks/dev.yaml", "Cairn.yaml", "AWS_REGION", "AWS_DEFAULT_REGION", "profile `default`"] {
        assert!(out.stderr.contains(part), "{part}: {out}");
    }
    assert!(out.stderr.contains("cairn config set region us-east-1"), "{out}");
    p.snapshot("locks_no_region", &out);
    for args in [&["up", "--yes"][..], &["validate"], &["destroy", "--yes"]] {
        let out = run_isolated(p.path(), args, &[]).code(2);
        assert!(out.stderr.contains("needs an AWS region"), "{out}");
    }
    assert!(!p.join(".cairn/stacks/dev/snapshot.json").exists());
    // A named profile is named.
    let out = run_isolated(p.path(), &["preview"], &[("AWS_PROFILE", "team")]).code(2);
    assert!(out.stderr.contains("profile `team`"), "{out}");
}

#[test]
fn the_region_comes_from_the_stack_then_the_defaults_then_the_sdk_chain() {
    // Built-in types only, but the template asks for AWS::Region: a region is needed.
    let p = regionless(
        "Resources:\n  S:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 8\nOutputs:\n  Region:\n    Value: !Ref AWS::Region\n",
    );
    let region = |env: &[(&str, &str)]| -> String {
        let out = run_isolated(p.path(), &["preview"], env).ok();
        let line = out.stdout.lines().find(|l| l.trim_start().starts_with("Region")).expect("the Region output");
        line.split_whitespace().last().unwrap().trim_matches('"').to_string()
    };
    let out = run_isolated(p.path(), &["preview"], &[]).code(2);
    assert!(out.stderr.contains("(its template refers to AWS::Region or Fn::GetAZs)"), "{out}");
    // The profile file: `default`, or the one AWS_PROFILE names.
    let config = p.join("aws-config");
    std::fs::write(&config, "[default]\nregion = eu-west-3\n[profile team]\nregion = ap-south-1\n").unwrap();
    assert_eq!(region(&[]), "eu-west-3");
    assert_eq!(region(&[("AWS_PROFILE", "team")]), "ap-south-1");
    // The environment before the profile, AWS_REGION before AWS_DEFAULT_REGION.
    assert_eq!(region(&[("AWS_DEFAULT_REGION", "sa-east-1")]), "sa-east-1");
    assert_eq!(region(&[("AWS_DEFAULT_REGION", "sa-east-1"), ("AWS_REGION", "ca-central-1")]), "ca-central-1");
    // Cairn.yaml's defaults before the environment, the stack file before the defaults.
    p.write("Cairn.yaml", "name: regionless\ntemplate: template.yaml\ndefaults:\n  region: eu-north-1\n");
    assert_eq!(region(&[("AWS_REGION", "ca-central-1")]), "eu-north-1");
    p.write("stacks/dev.yaml", "region: us-west-2\n");
    assert_eq!(region(&[("AWS_REGION", "ca-central-1")]), "us-west-2");
}

#[test]
fn a_bucket_goes_to_the_profile_region() {
    let Some(emu) = aws::emulator() else { return };
    let project = aws::unique("region");
    let p = regionless("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n");
    p.write("Cairn.yaml", &format!("name: {project}\ntemplate: template.yaml\n"));
    std::fs::write(p.join("aws-config"), "[default]\nregion = eu-west-3\n").unwrap();
    // Credentials and the endpoint still come from the environment (the emulator's).
    run_isolated(p.path(), &["up", "--yes"], &[]).ok();
    let state = p.state("dev");
    let name = state["resources"]["Bucket"]["physical_id"].as_str().expect("a bucket name").to_string();
    assert_eq!(state["resources"]["Bucket"]["region"], "eu-west-3");
    let location = emu.block(emu.s3.get_bucket_location().bucket(&name).send()).expect("GetBucketLocation");
    assert_eq!(location.location_constraint().map(|c| c.as_str()), Some("eu-west-3"));
    run_isolated(p.path(), &["preview", "--expect-no-changes"], &[]).ok();
    run_isolated(p.path(), &["destroy", "--yes"], &[]).ok();
    assert!(!emu.bucket_exists(&name));
}
