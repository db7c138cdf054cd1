//! cairn's engine benchmarks. One scenario per process, so that the peak memory reported
//! (`VmHWM` of `/proc/self/status`) belongs to that scenario alone.
//!
//! ```text
//! cairn-bench engine-up N          up of N Test::Thing resources (zero latency)
//! cairn-bench engine-preview N     no-change preview after such an up
//! cairn-bench sleep N P MS         N independent Cairn::Time::Sleep of MS ms at --parallel P
//! cairn-bench engine-destroy N     destroy after an up of N Test::Things (same process)
//! cairn-bench refresh N P MS       `cairn refresh` of N Test::Things whose reads take MS ms, at --parallel P
//! cairn-bench report < results     the JSON lines of runs as a markdown table vs targets
//! ```
//!
//! Each scenario goes through the real path: YAML text -> `load_template` ->
//! `DesiredGraph::build` -> `plan_up` -> `engine::Session` over a `LocalBackend` in a
//! temporary directory -> `apply` (journal with fdatasync, compaction at the end).
//!
//! Prints one JSON object a line on stdout and a human-readable line on stderr.
//! `scripts/bench.sh` runs them all and compares with the targets of DESIGN.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cairn_core::engine::Session;
use cairn_core::exec::{ExecOptions, Quiet};
use cairn_core::graph::{DesiredGraph, StackInputs};
use cairn_core::plan::{plan_destroy, plan_up, Action, PlanOptions};
use cairn_core::provider::Registry;
use cairn_core::state::{Backend, HistoryEntry, JournalEntry, Loaded, LockInfo, StackLock, StackState, StateError};
use cairn_core::template::{load_template, MemoryLoader};
use cairn_state::LocalBackend;
use cairn_testkit::{TestCloud, TEST_ACCOUNT_ID};
use serde_json::json;

const PROJECT: &str = "bench";
const STACK: &str = "dev";
const REGION: &str = "us-east-1";
/// `cairn up`'s default `--parallel`.
const DEFAULT_PARALLEL: usize = 16;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cairn-bench engine-up N | engine-preview N | engine-destroy N | sleep N P MS | refresh N P MS | report"
        .to_string()
}

fn num(args: &[String], i: usize) -> Result<usize, String> {
    args.get(i).ok_or_else(usage)?.parse().map_err(|_| format!("`{}` is not a number\n{}", args[i], usage()))
}

async fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("engine-up") => {
            let n = num(args, 1)?;
            // `--state-dir D`: leave the state in D (engine-preview prepares it so).
            let keep = match (args.get(2).map(String::as_str), args.get(3)) {
                (Some("--state-dir"), Some(d)) => Some(PathBuf::from(d)),
                (None, _) => None,
                _ => return Err(usage()),
            };
            engine_up(n, keep.as_deref()).await
        }
        Some("engine-preview") => engine_preview(num(args, 1)?).await,
        Some("engine-destroy") => engine_destroy(num(args, 1)?).await,
        Some("report") => report_table(),
        Some("sleep") => sleep(num(args, 1)?, num(args, 2)?, num(args, 3)?).await,
        Some("refresh") => refresh(num(args, 1)?, num(args, 2)?, num(args, 3)?).await,
        _ => Err(usage()),
    }
}

// ---------------------------------------------------------------------------------------
// Templates.

/// N `Test::Thing`s. Every fifth stands alone; the others read the `Arn` of one earlier
/// resource (picked pseudo-randomly, so chains are short and wide as in real stacks), and
/// every tenth also the physical id (`Ref`) of another.
fn things_template(n: usize) -> String {
    let mut s = String::with_capacity(n * 120);
    s.push_str("AWSTemplateFormatVersion: \"2010-09-09\"\nDescription: synthetic benchmark stack\nResources:\n");
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % bound as u64) as usize
    };
    for i in 0..n {
        s.push_str(&format!("  R{i}:\n    Type: Test::Thing\n    Properties:\n      Value: value-{i}\n"));
        if i > 0 && i % 5 != 0 {
            let dep = next(i);
            s.push_str(&format!("      Inputs:\n        Arn: !GetAtt R{dep}.Arn\n"));
            if i % 10 == 1 {
                let other = next(i);
                s.push_str(&format!("        Id: !Ref R{other}\n"));
            }
        }
    }
    s.push_str("Outputs:\n  First:\n    Value: !GetAtt R0.Arn\n");
    s
}

/// N independent `Cairn::Time::Sleep`s of `ms` milliseconds each.
fn sleeps_template(n: usize, ms: usize) -> String {
    let mut s = String::with_capacity(n * 80);
    s.push_str("Resources:\n");
    for i in 0..n {
        s.push_str(&format!("  S{i}:\n    Type: Cairn::Time::Sleep\n    Properties:\n      CreateDuration: {ms}ms\n"));
    }
    s
}

fn build_graph(text: String, registry: &Registry) -> Result<DesiredGraph, String> {
    let loader = MemoryLoader(BTreeMap::from([("template.yaml".to_string(), text)]));
    let template = load_template(&loader, "template.yaml").map_err(|d| d.to_string())?;
    let inputs = StackInputs {
        project: PROJECT.into(),
        stack: STACK.into(),
        region: REGION.into(),
        account_id: Some(TEST_ACCOUNT_ID.into()),
        partition: "aws".into(),
        parameters: Default::default(),
        exports: Default::default(),
        assets: Default::default(),
        ssm: Default::default(),
        secret_parameters: Default::default(),
        sealed_parameters: Default::default(),
    };
    DesiredGraph::build(&template, inputs, registry).map_err(|d| d.to_string())
}

fn exec_options(parallel: usize) -> ExecOptions {
    ExecOptions {
        project: PROJECT.into(),
        stack: STACK.into(),
        account_id: TEST_ACCOUNT_ID.into(),
        partition: "aws".into(),
        stack_tags: BTreeMap::new(),
        parallel,
        assets: Default::default(),
    }
}

fn lock_info() -> LockInfo {
    LockInfo {
        user: "bench".into(),
        host: "bench".into(),
        pid: std::process::id(),
        operation: "up".into(),
        started: "2026-01-01T00:00:00Z".into(),
    }
}

// ---------------------------------------------------------------------------------------
// Measurements.

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Peak resident set size of this process, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (kib / 1024.0 * 10.0).round() / 10.0
}

/// A [`Backend`] that counts what goes through it to the [`LocalBackend`] it wraps:
/// appends (each one write + fdatasync), entries, and the journal's bytes (its size just
/// before each compaction, read with one `stat`, so counting costs the run nothing).
struct Counting {
    inner: LocalBackend,
    journal: PathBuf,
    appends: AtomicU64,
    entries: AtomicU64,
    journal_bytes: AtomicU64,
    compactions: AtomicU64,
}

impl Counting {
    fn new(root: &Path) -> Counting {
        Counting {
            inner: LocalBackend::new(root),
            journal: root.join("stacks").join(STACK).join("journal.jsonl"),
            appends: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            journal_bytes: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Backend for Counting {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn lock(&self, stack: &str, info: LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        self.inner.lock(stack, info).await
    }
    async fn lock_holder(&self, stack: &str) -> Result<Option<(LockInfo, bool)>, StateError> {
        self.inner.lock_holder(stack).await
    }
    async fn break_lock(&self, stack: &str) -> Result<bool, StateError> {
        self.inner.break_lock(stack).await
    }
    async fn load(&self, stack: &str) -> Result<Loaded, StateError> {
        self.inner.load(stack).await
    }
    async fn append(&self, stack: &str, entries: &[JournalEntry]) -> Result<(), StateError> {
        self.appends.fetch_add(1, Ordering::Relaxed);
        self.entries.fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.inner.append(stack, entries).await
    }
    async fn compact(&self, stack: &str, state: &StackState) -> Result<(), StateError> {
        let size = std::fs::metadata(&self.journal).map(|m| m.len()).unwrap_or(0);
        self.journal_bytes.fetch_add(size, Ordering::Relaxed);
        self.compactions.fetch_add(1, Ordering::Relaxed);
        self.inner.compact(stack, state).await
    }
    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        self.inner.list_stacks().await
    }
    async fn remove_stack(&self, stack: &str) -> Result<(), StateError> {
        self.inner.remove_stack(stack).await
    }
    async fn add_history(&self, stack: &str, entry: &HistoryEntry) -> Result<(), StateError> {
        self.inner.add_history(stack, entry).await
    }
    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        self.inner.history(stack).await
    }
}

fn snapshot_bytes(root: &Path) -> u64 {
    std::fs::metadata(root.join("stacks").join(STACK).join("snapshot.json")).map(|m| m.len()).unwrap_or(0)
}

fn report(line: serde_json::Value, human: String) {
    println!("{line}");
    eprintln!("{human}");
}

// ---------------------------------------------------------------------------------------
// Scenarios.

/// What one `up` took.
struct UpTimes {
    parse_graph: Duration,
    open: Duration,
    plan: Duration,
    apply: Duration,
    total: Duration,
    steps: usize,
}

/// A whole `up` of `text` into the state under `root`, as `cairn up --yes` runs it
/// (without rendering).
async fn up(
    text: String,
    registry: &Registry,
    backend: Arc<dyn Backend>,
    parallel: usize,
    expected: usize,
) -> Result<UpTimes, String> {
    let start = Instant::now();
    let graph = Arc::new(build_graph(text, registry)?);
    let parse_graph = start.elapsed();

    let t = Instant::now();
    let opts = exec_options(parallel);
    let mut session =
        Session::open(backend, STACK, Some(lock_info()), registry, &opts).await.map_err(|e| e.to_string())?;
    let open = t.elapsed();

    let t = Instant::now();
    let plan = plan_up(&graph, &session.state, registry, &PlanOptions::default()).map_err(|d| d.to_string())?;
    let plan_time = t.elapsed();
    let creates = plan.steps.iter().filter(|s| s.action == Action::Create).count();
    if creates != expected {
        return Err(format!("the plan creates {creates} resources, expected {expected}"));
    }

    let t = Instant::now();
    let result =
        session.apply(&plan, Some(graph.clone()), registry, opts, Arc::new(Quiet)).await.map_err(|e| e.to_string())?;
    let apply = t.elapsed();
    session.close().await.map_err(|e| e.to_string())?;
    let total = start.elapsed();

    if !result.succeeded() {
        let first = result.failed().first().map(|e| e.to_string()).or(result.journal_error.clone()).unwrap_or_default();
        return Err(format!("the up failed: {first}"));
    }
    if result.state.resources.len() != expected {
        return Err(format!("the state has {} resources, expected {expected}", result.state.resources.len()));
    }
    Ok(UpTimes { parse_graph, open, plan: plan_time, apply, total, steps: result.steps.len() })
}

async fn engine_up(n: usize, keep: Option<&Path>) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = keep.unwrap_or(tmp.path()).to_path_buf();
    let text = things_template(n);
    let template_bytes = text.len();
    let cloud = TestCloud::new();
    let registry = cairn_testkit::registry(&cloud, Duration::ZERO);
    let backend = Arc::new(Counting::new(&root));
    let times = up(text, &registry, backend.clone(), DEFAULT_PARALLEL, n).await?;
    let in_flight = cloud.max_concurrency();
    if in_flight > DEFAULT_PARALLEL {
        return Err(format!("{in_flight} provider calls ran at once, more than --parallel {DEFAULT_PARALLEL}"));
    }
    let appends = backend.appends.load(Ordering::Relaxed);
    let entries = backend.entries.load(Ordering::Relaxed);
    let journal_bytes = backend.journal_bytes.load(Ordering::Relaxed);
    let snapshot = snapshot_bytes(&root);
    let rss = peak_rss_mib();
    report(
        json!({
            "scenario": "engine-up", "n": n, "parallel": DEFAULT_PARALLEL, "max_calls_in_flight": in_flight, "steps": times.steps,
            "parse_graph_ms": ms(times.parse_graph), "open_ms": ms(times.open), "plan_ms": ms(times.plan),
            "apply_ms": ms(times.apply), "total_ms": ms(times.total), "peak_rss_mib": rss,
            "journal_appends": appends, "journal_entries": entries, "journal_bytes": journal_bytes,
            "snapshot_bytes": snapshot, "template_bytes": template_bytes,
        }),
        format!(
            "engine-up {n}: parse+graph {:.0} ms, open {:.0} ms, plan {:.0} ms, apply {:.0} ms, total {:.0} ms; peak RSS {rss} MiB; journal {appends} appends, {entries} entries, {} KiB; snapshot {} KiB",
            ms(times.parse_graph), ms(times.open), ms(times.plan), ms(times.apply), ms(times.total), journal_bytes / 1024, snapshot / 1024
        ),
    );
    Ok(())
}

/// A no-change preview after an up. The up runs in a child process (so that its memory
/// is not counted here); this process then does what `cairn preview` does: build the
/// graph, load the state (snapshot, no lock), plan.
async fn engine_preview(n: usize) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["engine-up", &n.to_string(), "--state-dir"])
        .arg(tmp.path())
        .output()
        .map_err(|e| format!("cannot run the preparing up: {e}"))?;
    if !out.status.success() {
        return Err(format!("the preparing up failed: {}", String::from_utf8_lossy(&out.stderr)));
    }

    let text = things_template(n);
    let cloud = TestCloud::new();
    let registry = cairn_testkit::registry(&cloud, Duration::ZERO);
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(tmp.path()));

    let start = Instant::now();
    let graph = build_graph(text, &registry)?;
    let parse_graph = start.elapsed();
    let t = Instant::now();
    let session = Session::open(backend, STACK, None, &registry, &exec_options(DEFAULT_PARALLEL))
        .await
        .map_err(|e| e.to_string())?;
    let load = t.elapsed();
    let t = Instant::now();
    let plan = plan_up(&graph, &session.state, &registry, &PlanOptions::default()).map_err(|d| d.to_string())?;
    let plan_time = t.elapsed();
    let total = start.elapsed();

    let changes = plan.changes().count() + usize::from(plan.outputs_changed);
    if changes != 0 || plan.steps.len() != n {
        return Err(format!(
            "the preview after an up found {changes} changes in {} steps; expected 0 in {n}",
            plan.steps.len()
        ));
    }
    let rss = peak_rss_mib();
    report(
        json!({
            "scenario": "engine-preview", "n": n, "changes": changes,
            "parse_graph_ms": ms(parse_graph), "load_state_ms": ms(load), "plan_ms": ms(plan_time),
            "total_ms": ms(total), "peak_rss_mib": rss, "snapshot_bytes": snapshot_bytes(tmp.path()),
        }),
        format!(
            "engine-preview {n}: parse+graph {:.0} ms, load state {:.0} ms, plan {:.0} ms, total {:.0} ms; {changes} changes; peak RSS {rss} MiB",
            ms(parse_graph), ms(load), ms(plan_time), ms(total)
        ),
    );
    Ok(())
}

async fn sleep(n: usize, parallel: usize, each_ms: usize) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cloud = TestCloud::new();
    let registry = cairn_testkit::registry(&cloud, Duration::ZERO);
    let backend = Arc::new(Counting::new(tmp.path()));
    let times = up(sleeps_template(n, each_ms), &registry, backend.clone(), parallel, n).await?;
    let ideal_ms = n.div_ceil(parallel.max(1)) as f64 * each_ms as f64;
    let apply_ms = ms(times.apply);
    let ratio = (apply_ms / ideal_ms * 1000.0).round() / 1000.0;
    let rss = peak_rss_mib();
    let appends = backend.appends.load(Ordering::Relaxed);
    report(
        json!({
            "scenario": "sleep", "n": n, "parallel": parallel, "sleep_ms": each_ms,
            "apply_ms": apply_ms, "ideal_ms": ideal_ms, "ratio": ratio, "total_ms": ms(times.total),
            "peak_rss_mib": rss, "journal_appends": appends,
        }),
        format!(
            "sleep {n} x {each_ms} ms at parallel {parallel}: apply {apply_ms:.0} ms vs ideal {ideal_ms:.0} ms = {ratio:.3}x; total {:.0} ms; {appends} journal appends",
            ms(times.total)
        ),
    );
    Ok(())
}

/// `cairn refresh` of a stack of N `Test::Thing`s (made by a zero-latency up) whose every
/// read takes `each_ms`, at `--parallel P`: lock and load, read every resource (nothing
/// drifted), release. The reads against the ideal ceil(N/P) x MS.
async fn refresh(n: usize, parallel: usize, each_ms: usize) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cloud = TestCloud::new();
    let backend = Arc::new(Counting::new(tmp.path()));
    up(things_template(n), &cairn_testkit::registry(&cloud, Duration::ZERO), backend.clone(), DEFAULT_PARALLEL, n)
        .await?;
    // The same cloud, every call now taking `each_ms`.
    let registry = cairn_testkit::registry(&cloud, Duration::from_millis(each_ms as u64));
    cloud.clear_log();

    let start = Instant::now();
    let opts = exec_options(parallel);
    let session =
        Session::open(backend, STACK, Some(lock_info()), &registry, &opts).await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    let refreshed =
        cairn_core::refresh::refresh(&session.state, &registry, &opts, &Quiet).await.map_err(|e| e.to_string())?;
    let read = t.elapsed();
    session.close().await.map_err(|e| e.to_string())?;
    let total = start.elapsed();

    let reads = cloud.calls(cairn_testkit::Op::Read);
    let in_flight = cloud.max_concurrency();
    if reads != n || refreshed.read != n || !refreshed.drift.is_empty() {
        return Err(format!(
            "the refresh made {reads} reads of {n} resources and found {} drifted",
            refreshed.drift.len()
        ));
    }
    if in_flight != parallel.max(1).min(n) {
        return Err(format!("{in_flight} reads ran at once at --parallel {parallel}"));
    }
    let ideal_ms = n.div_ceil(parallel.max(1)) as f64 * each_ms as f64;
    let read_ms = ms(read);
    let ratio = (read_ms / ideal_ms * 1000.0).round() / 1000.0;
    report(
        json!({
            "scenario": "refresh", "n": n, "parallel": parallel, "read_latency_ms": each_ms,
            "max_reads_in_flight": in_flight, "refresh_ms": read_ms, "ideal_ms": ideal_ms, "ratio": ratio,
            "total_ms": ms(total), "peak_rss_mib": peak_rss_mib(),
        }),
        format!(
            "refresh {n} x {each_ms} ms reads at parallel {parallel}: {read_ms:.0} ms vs ideal {ideal_ms:.0} ms = {ratio:.3}x ({in_flight} in flight at most); with lock and load {:.0} ms",
            ms(total)
        ),
    );
    Ok(())
}

/// A destroy of the stack an up of N `Test::Thing`s made, in the same process (the test
/// cloud lives in memory), so its peak memory includes the up's.
async fn engine_destroy(n: usize) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cloud = TestCloud::new();
    let registry = cairn_testkit::registry(&cloud, Duration::ZERO);
    let backend = Arc::new(Counting::new(tmp.path()));
    up(things_template(n), &registry, backend.clone(), DEFAULT_PARALLEL, n).await?;
    let appends_before = backend.appends.load(Ordering::Relaxed);

    let start = Instant::now();
    let opts = exec_options(DEFAULT_PARALLEL);
    let mut session =
        Session::open(backend.clone(), STACK, Some(lock_info()), &registry, &opts).await.map_err(|e| e.to_string())?;
    let open = start.elapsed();
    let t = Instant::now();
    let plan = plan_destroy(&session.state, &registry, &[]);
    let plan_time = t.elapsed();
    let t = Instant::now();
    let result = session.apply(&plan, None, &registry, opts, Arc::new(Quiet)).await.map_err(|e| e.to_string())?;
    let apply = t.elapsed();
    session.close().await.map_err(|e| e.to_string())?;
    let total = start.elapsed();
    if !result.succeeded() || !result.state.resources.is_empty() || cloud.count() != 0 {
        let first = result.failed().first().map(|e| e.to_string()).or(result.journal_error.clone()).unwrap_or_default();
        return Err(format!("the destroy failed ({} left in the state): {first}", result.state.resources.len()));
    }
    let appends = backend.appends.load(Ordering::Relaxed) - appends_before;
    let rss = peak_rss_mib();
    report(
        json!({
            "scenario": "engine-destroy", "n": n, "parallel": DEFAULT_PARALLEL, "open_ms": ms(open),
            "plan_ms": ms(plan_time), "apply_ms": ms(apply), "total_ms": ms(total),
            "peak_rss_mib_with_up": rss, "journal_appends": appends,
        }),
        format!(
            "engine-destroy {n}: open {:.0} ms, plan {:.0} ms, apply {:.0} ms, total {:.0} ms; {appends} journal appends; peak RSS (with the up) {rss} MiB",
            ms(open), ms(plan_time), ms(apply), ms(total)
        ),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The table.

/// The median of one field over runs.
fn median(runs: &[&serde_json::Value], field: &str) -> Option<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.get(field)?.as_f64()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 })
}

/// Read the JSON lines of scenario runs from stdin; print one markdown row per scenario
/// (medians when a scenario ran more than once) with the DESIGN.md target it has, if any.
/// Fails when a target is missed.
fn report_table() -> Result<(), String> {
    use std::io::BufRead;
    let mut groups: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("not a result line ({e}): {line}"))?;
        let key = match v["scenario"].as_str() {
            Some("sleep") => format!("sleep {} x {} ms, --parallel {}", v["n"], v["sleep_ms"], v["parallel"]),
            Some("refresh") => {
                format!("refresh {} x {} ms reads, --parallel {}", v["n"], v["read_latency_ms"], v["parallel"])
            }
            Some(s) => format!("{s} {}", v["n"]),
            None => return Err(format!("no scenario in: {line}")),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(v),
            None => groups.push((key, vec![v])),
        }
    }
    let mut missed = 0;
    println!("| scenario | runs | measured (median) | target | |");
    println!("| --- | ---: | --- | --- | --- |");
    for (key, runs) in &groups {
        let runs: Vec<&serde_json::Value> = runs.iter().collect();
        let m = |f: &str| median(&runs, f).unwrap_or(f64::NAN);
        let n = runs[0]["n"].as_u64().unwrap_or(0);
        let (measured, target, ok) = match runs[0]["scenario"].as_str().unwrap_or("") {
            "engine-up" => {
                let (total, rss) = (m("total_ms"), m("peak_rss_mib"));
                let measured = format!(
                    "{total:.0} ms (parse+graph {:.0}, plan {:.0}, apply {:.0}); {rss:.0} MiB; {:.0} journal appends ({:.0} KiB)",
                    m("parse_graph_ms"), m("plan_ms"), m("apply_ms"), m("journal_appends"), m("journal_bytes") / 1024.0
                );
                if n == 10_000 {
                    (measured, "< 2000 ms, < 300 MiB".to_string(), Some(total < 2000.0 && rss < 300.0))
                } else {
                    (measured, String::new(), None)
                }
            }
            "engine-preview" => {
                let total = m("total_ms");
                let changes = m("changes");
                let measured =
                    format!(
                    "{total:.0} ms (parse+graph {:.0}, load state {:.0}, plan {:.0}); {changes:.0} changes; {:.0} MiB",
                    m("parse_graph_ms"), m("load_state_ms"), m("plan_ms"), m("peak_rss_mib")
                );
                if n == 10_000 {
                    (measured, "< 1000 ms, 0 changes".to_string(), Some(total < 1000.0 && changes == 0.0))
                } else {
                    (measured, "0 changes".to_string(), Some(changes == 0.0))
                }
            }
            "engine-destroy" => (
                format!(
                    "{:.0} ms (plan {:.0}, apply {:.0}); {:.0} journal appends",
                    m("total_ms"),
                    m("plan_ms"),
                    m("apply_ms"),
                    m("journal_appends")
                ),
                String::new(),
                None,
            ),
            "sleep" => {
                let ratio = m("ratio");
                (
                    format!(
                        "{:.0} ms vs ideal {:.0} ms = {ratio:.3}x; {:.0} journal appends",
                        m("apply_ms"),
                        m("ideal_ms"),
                        m("journal_appends")
                    ),
                    "<= 1.1x ideal".to_string(),
                    Some(ratio <= 1.1),
                )
            }
            "refresh" => {
                let ratio = m("ratio");
                (
                    format!(
                        "{:.0} ms vs ideal {:.0} ms = {ratio:.3}x; {:.0} reads in flight at most",
                        m("refresh_ms"),
                        m("ideal_ms"),
                        m("max_reads_in_flight")
                    ),
                    "<= 1.2x ideal".to_string(),
                    Some(ratio <= 1.2),
                )
            }
            other => (format!("unknown scenario `{other}`"), String::new(), None),
        };
        let verdict = match ok {
            Some(true) => "met",
            Some(false) => {
                missed += 1;
                "**missed**"
            }
            None => "",
        };
        println!("| {key} | {} | {measured} | {target} | {verdict} |", runs.len());
    }
    if missed > 0 {
        return Err(format!("{missed} target{} missed", if missed == 1 { "" } else { "s" }));
    }
    Ok(())
}
