//! Helpers for the CLI tests: a project in its own temp dir, `cairn` run in it with a
//! fixed environment, and insta filters for what changes from run to run.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `cairn` binary built for these tests.
pub fn cairn_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cairn"))
}

/// What one run of `cairn` did.
#[derive(Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Parse stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "expected success:\n{self}");
        self
    }
    #[track_caller]
    pub fn code(self, code: i32) -> Out {
        assert_eq!(self.code, code, "expected exit code {code}:\n{self}");
        assert!(!self.stderr.contains("panicked"), "cairn panicked:\n{self}");
        self
    }
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A project in a temp dir of its own.
pub struct Proj {
    pub dir: tempfile::TempDir,
    /// Literal text to replace in snapshots (longest first), e.g. generated ids.
    replacements: Vec<(String, String)>,
}

impl Proj {
    /// An empty directory.
    pub fn empty() -> Proj {
        Proj {
            dir: tempfile::Builder::new().prefix("cairn-cli-test").tempdir().expect("temp dir"),
            replacements: Vec::new(),
        }
    }

    /// A copy of `examples/hello` (without any state of its own).
    pub fn hello() -> Proj {
        let p = Proj::empty();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
        copy_dir(&src, p.path());
        p
    }

    /// A copy of `examples/NAME` (without any state of its own) whose project is renamed
    /// `project` in `Cairn.yaml`, so that names derived from the project are its own.
    pub fn example(name: &str, project: &str) -> Proj {
        let p = Proj::empty();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
        copy_dir(&src, p.path());
        let cairn = p.read("Cairn.yaml");
        let renamed = cairn.replacen(&format!("\nname: {name}\n"), &format!("\nname: {project}\n"), 1);
        assert_ne!(cairn, renamed, "examples/{name}/Cairn.yaml has no `name: {name}` line");
        p.write("Cairn.yaml", &renamed);
        p
    }

    /// A project written by the test, like [`Proj::with_template`], named `project`.
    pub fn named(project: &str, template: &str, stack_file: &str) -> Proj {
        let p = Proj::with_template(template, stack_file);
        p.write("Cairn.yaml", &format!("name: {project}\ntemplate: template.yaml\ndefaults:\n  region: us-east-1\n"));
        p
    }

    /// A project written by the test: `Cairn.yaml` (name `t`, region us-east-1), the
    /// template and one stack file `stacks/dev.yaml`.
    pub fn with_template(template: &str, stack_file: &str) -> Proj {
        let p = Proj::empty();
        p.write("Cairn.yaml", "name: t\ntemplate: template.yaml\ndefaults:\n  region: us-east-1\n");
        p.write("template.yaml", template);
        p.write("stacks/dev.yaml", stack_file);
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// `cairn ARGS` in the project's directory, with `NO_COLOR=1`, no `CAIRN_BACKEND`,
    /// no passphrase, no AWS region from the environment, and stdin not a terminal.
    pub fn cmd_in(dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(cairn_bin());
        c.current_dir(dir)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("CAIRN_BACKEND")
            .env_remove("CAIRN_PASSPHRASE")
            .env_remove("CAIRN_PASSPHRASE_FILE")
            .env_remove("CAIRN_NEW_PASSPHRASE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("CLICOLOR_FORCE")
            .write_stdin("");
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        run_in(self.path(), args)
    }

    /// Like [`Proj::run`], with these environment variables set.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut c = Proj::cmd_in(self.path(), args);
        for (k, v) in env {
            c.env(k, v);
        }
        let output = c.output().expect("run cairn");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Like [`Proj::run`], with `stdin` as standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let output = Proj::cmd_in(self.path(), args).write_stdin(stdin).output().expect("run cairn");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Replace `text` by `with` in this project's snapshots.
    pub fn replace(&mut self, text: &str, with: &str) {
        if !text.is_empty() && !self.replacements.iter().any(|(t, _)| t == text) {
            self.replacements.push((text.to_string(), with.to_string()));
            self.replacements.sort_by_key(|r| std::cmp::Reverse(r.0.len()));
        }
    }

    /// The stack's state (`stack export`'s `state`).
    pub fn state(&self, stack: &str) -> serde_json::Value {
        let out = self.run(&["-s", stack, "stack", "export"]).ok();
        out.json()["state"].clone()
    }

    /// Learn the generated physical ids of the stack's resources, to show them as `[ID]`
    /// in snapshots (random strings, sleep ids).
    pub fn learn_ids(&mut self, stack: &str) {
        let state = self.state(stack);
        for (id, r) in state["resources"].as_object().expect("resources") {
            if let Some(pid) = r["physical_id"].as_str() {
                self.replace(pid, &format!("[{id}]"));
            }
        }
    }

    /// Snapshot `out` under `name` with this project's filters.
    #[track_caller]
    /// Like [`Proj::snapshot`], with the progress lines on stderr in sorted order:
    /// independent steps may report in either order, even at `--parallel 1` (a step's slot
    /// is freed once its provider call returns, before its result is journaled).
    pub fn snapshot_unordered_progress(&self, name: &str, out: &Out) {
        let (mut progress, rest): (Vec<&str>, Vec<&str>) = out.stderr.lines().partition(|l| l.starts_with("  "));
        progress.sort_unstable();
        let stderr = progress.into_iter().chain(rest).map(|l| format!("{l}\n")).collect();
        self.snapshot(name, &Out { code: out.code, stdout: out.stdout.clone(), stderr });
    }

    pub fn snapshot(&self, name: &str, out: &Out) {
        let text = self.filter(&out.to_string());
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    /// Apply the filters: generated ids, this temp dir, durations, timestamps, pids, host.
    pub fn filter(&self, text: &str) -> String {
        let mut s = text.to_string();
        for (t, with) in &self.replacements {
            s = s.replace(t.as_str(), with);
        }
        let dir = self.path().to_string_lossy().to_string();
        if let Ok(canon) = self.path().canonicalize() {
            s = s.replace(canon.to_string_lossy().as_ref(), "[DIR]");
        }
        s = s.replace(&dir, "[DIR]");
        for (re, with) in filters() {
            s = re.replace_all(&s, with.as_str()).into_owned();
        }
        s
    }
}

/// Generic filters for what differs between runs.
fn filters() -> Vec<(regex::Regex, String)> {
    let mut v: Vec<(String, String)> = [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"\b\d+\.\ds\b", "[DURATION]"),
        (r"\b\d+m\d\ds\b", "[DURATION]"),
        (r"pid \d+", "pid [PID]"),
        (r"\b\d+[smhd]( \d+[mh])? ago\b", "[AGE] ago"),
    ]
    .into_iter()
    .map(|(r, w)| (r.to_string(), w.to_string()))
    .collect();
    let host = hostname();
    if !host.is_empty() {
        v.push((format!(r"\bon {}\b", regex::escape(&host)), "on [HOST]".to_string()));
    }
    v.into_iter().map(|(r, w)| (regex::Regex::new(&r).unwrap(), w)).collect()
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| {
            std::process::Command::new("hostname")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        })
        .unwrap_or_default()
}

pub fn run_in(dir: &Path, args: &[&str]) -> Out {
    let output = Proj::cmd_in(dir, args).output().expect("run cairn");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == ".cairn" {
            continue;
        }
        let to = dst.join(&name);
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Write a lock file for `stack` held by `pid` on this host, in cairn-state's format.
pub fn write_lock(p: &Proj, stack: &str, pid: u32, host: &str) {
    let lock = serde_json::json!({
        "user": "alice",
        "host": host,
        "pid": pid,
        "operation": "up",
        "started": "2026-01-01T00:00:00Z",
    });
    p.write(&format!(".cairn/stacks/{stack}/lock.json"), &serde_json::to_string_pretty(&lock).unwrap());
}

/// Every file under `dir` (recursively), with its path and its content as text (lossy):
/// for looking for a secret in plain text.
pub fn text_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(text_files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}
