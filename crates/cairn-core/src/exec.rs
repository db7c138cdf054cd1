//! Execution of a plan: parallel, in dependency order, journaled.
//!
//! - Phase 1 runs creates, updates and replacements in dependency order: a step starts
//!   only when everything it references has finished (invariant 3); each step's
//!   properties are evaluated again at that moment from its dependencies' real results.
//! - Phase 2 runs deletes (removed resources, and the old halves of replacements) in
//!   reverse dependency order.
//! - At most `parallel` steps are in their provider calls at once (a step's slot is
//!   freed when its calls return, while its result is still being journaled).
//! - Before each mutating call a `Begin` entry is durably journaled; after it, a `Commit`
//!   or `Abort` (invariant 4). Entries from concurrent steps are group-committed: one
//!   backend append (one sync) for all entries waiting at that moment.
//! - A failed step fails only the steps that depend on it (invariant 5); everything that
//!   succeeded is in the state.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::graph::{DesiredGraph, ResourceLookup};
use crate::plan::{decide, provider_json, Action, Plan, ReplaceMode, Step};
use crate::provider::{OpContext, ProviderError, Registry, ResourceData};
use crate::reconcile::{create_only_inputs, read_back, recorded_inputs};
use crate::state::{Backend, JournalEntry, OpKind, OutputState, ResourceState, StackState, StateChange};
use crate::template::model::DeletionPolicy;
use crate::value::Value;

/// Run-wide facts every provider call needs.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    pub project: String,
    pub stack: String,
    pub account_id: String,
    pub partition: String,
    pub stack_tags: BTreeMap<String, String>,
    /// Upper bound of provider calls in flight.
    pub parallel: usize,
    /// Where providers get the archives of local assets.
    pub assets: crate::asset::Assets,
}

impl ExecOptions {
    pub(crate) fn ctx(&self, id: &str, type_name: &str, region: &str, name_seed: &str) -> OpContext {
        OpContext {
            project: self.project.clone(),
            stack: self.stack.clone(),
            logical_id: id.to_string(),
            type_name: type_name.to_string(),
            region: region.to_string(),
            account_id: self.account_id.clone(),
            partition: self.partition.clone(),
            stack_tags: self.stack_tags.clone(),
            name_seed: name_seed.to_string(),
            progress: Default::default(),
            assets: self.assets.clone(),
            final_snapshot: false,
        }
    }
}

/// A context whose progress reports reach `observer` as [`Event::Waiting`].
pub(crate) fn with_progress(mut ctx: OpContext, observer: &Arc<dyn Observer>) -> OpContext {
    let observer = observer.clone();
    let (id, type_name) = (ctx.logical_id.clone(), ctx.type_name.clone());
    ctx.progress = crate::provider::ProgressSink::new(move |what, elapsed| {
        observer.event(&Event::Waiting {
            id: id.clone(),
            type_name: type_name.clone(),
            what: what.to_string(),
            elapsed,
        })
    });
    ctx
}

/// A failed step: names the resource's logical id, type, what was attempted and the
/// provider's error code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StepError {
    pub id: String,
    pub type_name: String,
    pub action: Action,
    pub code: Option<String>,
    pub message: String,
    /// The AWS operation that failed, when known.
    pub operation: Option<String>,
    /// The HTTP status of the failed answer, when there was one.
    pub status: Option<u16>,
    /// What the failure left behind, when that is not nothing (a resource made part-way
    /// and now tracked with what AWS holds).
    pub note: Option<String>,
}

impl StepError {
    /// A step error without a provider error behind it (an engine-side failure).
    pub fn engine(id: &str, type_name: &str, action: Action, code: Option<&str>, message: impl Into<String>) -> Self {
        StepError {
            id: id.to_string(),
            type_name: type_name.to_string(),
            action,
            code: code.map(str::to_string),
            message: message.into(),
            operation: None,
            status: None,
            note: None,
        }
    }

    /// The step error for a provider error.
    pub fn provider(id: &str, type_name: &str, action: Action, e: ProviderError) -> Self {
        StepError {
            id: id.to_string(),
            type_name: type_name.to_string(),
            action,
            code: e.code,
            message: e.message,
            operation: e.operation,
            status: e.status,
            note: None,
        }
    }

    /// The failed operation (when known), the provider's error code and message:
    /// `PutBucketEncryption: Code: message`. An answer without a code shows its HTTP status
    /// instead: `PutBucketEncryption: HTTP 400 with no error code: message`.
    pub fn detail(&self) -> String {
        crate::provider::failure_detail(self.operation.as_deref(), self.code.as_deref(), self.status, &self.message)
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {} failed: {}", self.id, self.type_name, self.action.verb(), self.detail())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done,
    /// Nothing needed doing after all (an update whose unknowns resolved to equal values).
    Unchanged,
    Failed(StepError),
    /// Not attempted, and why (a dependency failed).
    Skipped(String),
}

/// What the executor reports as it goes (the CLI renders progress from these).
#[derive(Clone, Debug)]
pub enum Event {
    Started {
        id: String,
        type_name: String,
        action: Action,
    },
    Finished {
        id: String,
        type_name: String,
        action: Action,
        elapsed: Duration,
        outcome: Outcome,
    },
    /// A step is still waiting for AWS (`what`: "DBInstance to be available").
    Waiting {
        id: String,
        type_name: String,
        what: String,
        elapsed: Duration,
    },
    /// An interrupted operation of an earlier run was reconciled.
    Recovered {
        id: String,
        type_name: String,
        what: String,
    },
}

pub trait Observer: Send + Sync {
    fn event(&self, e: &Event);
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {
    fn event(&self, _: &Event) {}
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunResult {
    pub state: StackState,
    /// Per step: id, action, outcome, duration.
    pub steps: Vec<(String, Action, Outcome, Duration)>,
    /// Set when the journal could not be written: the run stopped early.
    pub journal_error: Option<String>,
    /// Outputs could not all be computed.
    pub output_errors: Vec<String>,
}

impl RunResult {
    pub fn failed(&self) -> Vec<&StepError> {
        self.steps.iter().filter_map(|(_, _, o, _)| if let Outcome::Failed(e) = o { Some(e) } else { None }).collect()
    }
    pub fn succeeded(&self) -> bool {
        self.journal_error.is_none()
            && self.steps.iter().all(|(_, _, o, _)| matches!(o, Outcome::Done | Outcome::Unchanged))
    }
    /// Counts by action of the steps that were done.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for (_, a, o, _) in &self.steps {
            let key = match o {
                Outcome::Done => a.verb(),
                Outcome::Unchanged => "same",
                Outcome::Failed(_) => "failed",
                Outcome::Skipped(_) => "skipped",
            };
            *m.entry(key.to_string()).or_insert(0) += 1;
        }
        m
    }
}

/// Set when the user interrupts (Ctrl-C): no new operation starts; those in flight finish
/// and are journaled, so the run ends cleanly.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask every running execution in this process to stop starting new operations.
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether [`request_stop`] was called.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------
// Provider calls: a panic is a failure of the call.

/// A provider call's future that turns a panic into a [`ProviderError`]: a bug in one
/// type's code fails that resource's step (its dependents are skipped), never the run,
/// and the step's journal entry is still settled.
struct CatchPanic<'a, T>(std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ProviderError>> + Send + 'a>>);

impl<T> std::future::Future for CatchPanic<'_, T> {
    type Output = Result<T, ProviderError>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let fut = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let what = panic_message(payload.as_ref());
                std::task::Poll::Ready(Err(ProviderError::with_code(
                    "ProviderPanic",
                    format!("the provider crashed ({what}); this is a bug in cairn, please report it"),
                )))
            }
        }
    }
}

/// The message a panic was raised with.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

/// Run one provider call, a panic in it becoming its error.
async fn guarded<'a, T>(
    fut: impl std::future::Future<Output = Result<T, ProviderError>> + Send + 'a,
) -> Result<T, ProviderError> {
    CatchPanic(Box::pin(fut)).await
}

// ---------------------------------------------------------------------------------------
// The journal writer: group commit.

type Ack = oneshot::Sender<Result<(), String>>;

/// The most entries one backend append carries.
const MAX_BATCH: usize = 4096;

/// Take what is queued, up to [`MAX_BATCH`] in all.
fn drain(rx: &mut mpsc::UnboundedReceiver<(JournalEntry, Ack)>, batch: &mut Vec<(JournalEntry, Ack)>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(x) => batch.push(x),
            Err(_) => break,
        }
    }
}

/// Appends journal entries durably, batching the entries of concurrent steps into one
/// backend append.
pub struct Journal {
    tx: mpsc::UnboundedSender<(JournalEntry, Ack)>,
    next_op: AtomicU64,
    broken: Arc<Mutex<Option<String>>>,
}

impl Journal {
    /// Start a writer for `stack`; operation numbers continue after `last_op`.
    pub fn start(backend: Arc<dyn Backend>, stack: String, last_op: u64) -> Journal {
        let (tx, mut rx) = mpsc::unbounded_channel::<(JournalEntry, Ack)>();
        let broken: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let broken2 = broken.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                drain(&mut rx, &mut batch);
                // Yield while more entries keep arriving (a few times at most): the steps
                // woken together with the first one (a wave of finished calls, and the
                // steps started in their place) then share this sync instead of waiting
                // for the next one.
                for _ in 0..8 {
                    if batch.len() >= MAX_BATCH {
                        break;
                    }
                    tokio::task::yield_now().await;
                    let before = batch.len();
                    drain(&mut rx, &mut batch);
                    if batch.len() == before && before > 1 {
                        break;
                    }
                }
                let (entries, acks): (Vec<JournalEntry>, Vec<Ack>) = batch.into_iter().unzip();
                let prior = broken2.lock().expect("journal lock").clone();
                let result = match prior {
                    Some(e) => Err(e),
                    None => backend.append(&stack, &entries).await.map_err(|e| e.to_string()),
                };
                if let Err(e) = &result {
                    *broken2.lock().expect("journal lock") = Some(e.clone());
                }
                for a in acks {
                    let _ = a.send(result.clone());
                }
            }
        });
        Journal { tx, next_op: AtomicU64::new(last_op + 1), broken }
    }

    pub fn next_op(&self) -> u64 {
        self.next_op.fetch_add(1, Ordering::SeqCst)
    }

    /// Append one entry; returns once it is durable.
    pub async fn write(&self, entry: JournalEntry) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx.send((entry, ack)).map_err(|_| "the journal writer stopped".to_string())?;
        done.await.map_err(|_| "the journal writer stopped".to_string())?
    }

    /// The first write error, if any (the run must stop).
    pub fn error(&self) -> Option<String> {
        self.broken.lock().expect("journal lock").clone()
    }
}

// ---------------------------------------------------------------------------------------

/// Resource values from the state as it is during the run.
pub struct StateLookup<'a>(pub &'a StackState);

impl ResourceLookup for StateLookup<'_> {
    fn physical_id(&self, id: &str) -> Value {
        self.0.resources.get(id).map(|r| Value::String(r.physical_id.clone())).unwrap_or(Value::Unknown)
    }
    fn attribute(&self, id: &str, attribute: &str) -> Value {
        self.0.resources.get(id).and_then(|r| r.attributes.get(attribute).cloned()).unwrap_or(Value::Unknown)
    }
}

fn new_seed() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..12).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

struct Shared {
    graph: Option<Arc<DesiredGraph>>,
    registry: Registry,
    opts: ExecOptions,
    journal: Journal,
    state: Mutex<StackState>,
    observer: Arc<dyn Observer>,
    stop: AtomicBool,
}

impl Shared {
    fn commit_local(&self, changes: &[StateChange]) {
        let mut st = self.state.lock().expect("state lock");
        for c in changes {
            st.apply(c);
        }
    }

    async fn commit(&self, op: u64, changes: Vec<StateChange>) -> Result<(), String> {
        self.journal.write(JournalEntry::Commit { op, changes: changes.clone() }).await?;
        self.commit_local(&changes);
        Ok(())
    }

    async fn abort(&self, op: u64, reason: &str) {
        let _ = self.journal.write(JournalEntry::Abort { op, reason: reason.to_string() }).await;
    }

    fn fail(&self, step: &Step, action: Action, e: ProviderError) -> Outcome {
        Outcome::Failed(StepError::provider(&step.id, &step.type_name, action, e))
    }

    /// A failure that left something behind, and what the state now records of it.
    fn fail_noted(&self, step: &Step, action: Action, e: ProviderError, note: &str) -> Outcome {
        let mut err = StepError::provider(&step.id, &step.type_name, action, e);
        err.note = Some(note.to_string());
        Outcome::Failed(err)
    }

    fn journal_failed(&self, step: &Step, action: Action, e: String) -> Outcome {
        self.stop.store(true, Ordering::SeqCst);
        Outcome::Failed(StepError::engine(
            &step.id,
            &step.type_name,
            action,
            None,
            format!("the state could not be written ({e}); stopping"),
        ))
    }
}

/// Execute a plan. `graph` is needed for creates and updates (to evaluate properties);
/// a destroy passes `None`.
pub async fn execute(
    plan: &Plan,
    graph: Option<Arc<DesiredGraph>>,
    registry: &Registry,
    state: StackState,
    journal: Journal,
    opts: ExecOptions,
    observer: Arc<dyn Observer>,
) -> RunResult {
    let parallel = opts.parallel.max(1);
    let shared = Arc::new(Shared {
        graph,
        registry: registry.clone(),
        opts,
        journal,
        state: Mutex::new(state),
        observer,
        stop: AtomicBool::new(false),
    });
    let mut results: Vec<(String, Action, Outcome, Duration)> = Vec::new();

    // Phase 1: creates, updates, replacements.
    let phase1: Vec<&Step> =
        plan.steps.iter().filter(|s| matches!(s.action, Action::Create | Action::Update | Action::Replace)).collect();
    let p1_ids: HashSet<&str> = phase1.iter().map(|s| s.id.as_str()).collect();
    let deps1: Vec<Vec<usize>> = {
        let index: HashMap<&str, usize> = phase1.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        phase1
            .iter()
            .map(|s| {
                shared
                    .graph
                    .as_ref()
                    .and_then(|g| g.resources.get(&s.id))
                    .map(|r| r.deps.iter().filter(|d| p1_ids.contains(d.as_str())).map(|d| index[d.as_str()]).collect())
                    .unwrap_or_default()
            })
            .collect()
    };
    let p1 =
        schedule(&phase1, &deps1, parallel, &shared, |shared, step, slot| Box::pin(run_phase1(shared, step, slot)))
            .await;
    let mut unsettled: BTreeSet<String> = BTreeSet::new();
    for (i, (outcome, elapsed)) in p1.into_iter().enumerate() {
        if matches!(outcome, Outcome::Failed(_) | Outcome::Skipped(_)) {
            unsettled.insert(phase1[i].id.clone());
        }
        results.push((phase1[i].id.clone(), phase1[i].action, outcome, elapsed));
    }

    // Same steps: record changed metadata (dependencies, DeletionPolicy, parent) without
    // any provider call.
    if !shared.stop.load(Ordering::SeqCst) {
        if let Some(g) = &shared.graph {
            let mut changes = Vec::new();
            {
                let st = shared.state.lock().expect("state lock");
                for s in plan.steps.iter().filter(|s| s.action == Action::Same) {
                    if let (Some(r), Some(d)) = (st.resources.get(&s.id), g.resources.get(&s.id)) {
                        if r.dependencies != d.deps || r.deletion_policy != d.deletion_policy || r.parent != d.parent {
                            let mut n = r.clone();
                            n.dependencies = d.deps.clone();
                            n.deletion_policy = d.deletion_policy;
                            n.parent = d.parent.clone();
                            changes.push(StateChange::Put { state: n });
                        }
                    }
                }
            }
            if !changes.is_empty()
                && shared.journal.write(JournalEntry::Apply { changes: changes.clone() }).await.is_ok()
            {
                shared.commit_local(&changes);
            }
        }
    }

    // Phase 2: deletes, dependents first.
    let deletes: Vec<Step> = {
        let st = shared.state.lock().expect("state lock");
        let mut v: Vec<Step> = plan.steps.iter().filter(|s| s.action == Action::Delete).cloned().collect();
        // Old halves of replacements made in phase 1.
        for s in plan
            .steps
            .iter()
            .filter(|s| s.action == Action::Replace && s.replace_mode == Some(ReplaceMode::CreateBeforeDelete))
        {
            for r in
                st.pending_deletes.iter().filter(|r| r.id == s.id && Some(&r.physical_id) == s.physical_id.as_ref())
            {
                v.push(crate::plan::delete_step(r, "replaced", true));
            }
        }
        v
    };
    // Which state entries to delete (for dependency edges and inputs).
    let entries: Vec<Option<ResourceState>> = {
        let st = shared.state.lock().expect("state lock");
        deletes
            .iter()
            .map(|s| {
                if s.retired {
                    st.pending_deletes
                        .iter()
                        .find(|r| r.id == s.id && Some(&r.physical_id) == s.physical_id.as_ref())
                        .cloned()
                } else {
                    st.resources.get(&s.id).cloned()
                }
            })
            .collect()
    };
    // Edges: delete(A) waits for delete(B) when B depended on A.
    let mut deps2: Vec<Vec<usize>> = {
        let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, a) in deletes.iter().enumerate() {
            by_id.entry(a.id.as_str()).or_default().push(i);
        }
        let mut deps2: Vec<Vec<usize>> = vec![Vec::new(); deletes.len()];
        for (j, b) in entries.iter().enumerate() {
            let Some(b) = b else { continue };
            let distinct: BTreeSet<&str> = b.dependencies.iter().map(String::as_str).collect();
            for d in distinct {
                for &i in by_id.get(d).into_iter().flatten() {
                    if i != j {
                        deps2[i].push(j);
                    }
                }
            }
        }
        deps2
    };
    // A delete is held back when a phase-1 step that used the resource did not settle:
    // it may still refer to it. (The first such step in id order is named.)
    let held: Vec<Option<String>> = {
        let mut user_of: HashMap<&str, &String> = HashMap::new();
        for u in &unsettled {
            user_of.entry(u.as_str()).or_insert(u);
            if let Some(r) = shared.graph.as_ref().and_then(|g| g.resources.get(u)) {
                for d in &r.deps {
                    user_of.entry(d.as_str()).or_insert(u);
                }
            }
        }
        deletes
            .iter()
            .map(|d| {
                user_of.get(d.id.as_str()).map(|u| format!("`{u}` did not finish, and it may still use this resource"))
            })
            .collect()
    };
    // Deletion protection: a protected resource is not deleted (the step fails, saying how
    // to lift the protection), and neither is anything that uses it (deleted before it).
    // The backstop: a plan with such steps is refused before it runs (`Plan::refusal`).
    let mut held: Vec<Option<Outcome>> = held.into_iter().map(|h| h.map(Outcome::Skipped)).collect();
    {
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (i, (step, entry)) in deletes.iter().zip(&entries).enumerate() {
            let Some(r) = entry else { continue };
            if step.retain {
                continue;
            }
            if let Some(e) = protected(&shared.registry, r, Action::Delete) {
                held[i] = Some(Outcome::Failed(e));
                stack.push((i, r.id.clone()));
            }
        }
        let protected_steps: Vec<usize> = stack.iter().map(|(i, _)| *i).collect();
        while let Some((i, protected_id)) = stack.pop() {
            for &user in &deps2[i] {
                if held[user].is_none() {
                    held[user] =
                        Some(Outcome::Skipped(format!("it uses `{protected_id}`, which is protected from deletion")));
                    stack.push((user, protected_id.clone()));
                }
            }
        }
        // Nothing is deleted before a protected resource: it fails on its own account.
        for i in protected_steps {
            deps2[i].clear();
        }
    }
    let delete_refs: Vec<&Step> = deletes.iter().collect();
    let shared2 = shared.clone();
    let held = Arc::new(held);
    let entries = Arc::new(entries);
    let index_of: HashMap<(String, Option<String>), usize> =
        deletes.iter().enumerate().map(|(i, s)| ((s.id.clone(), s.physical_id.clone()), i)).collect();
    let index_of = Arc::new(index_of);
    let p2 = schedule(&delete_refs, &deps2, parallel, &shared2, move |shared, step, slot| {
        let i = index_of[&(step.id.clone(), step.physical_id.clone())];
        let held = held[i].clone();
        let entry = entries[i].clone();
        Box::pin(async move {
            if let Some(outcome) = held {
                shared.observer.event(&Event::Finished {
                    id: step.id.clone(),
                    type_name: step.type_name.clone(),
                    action: Action::Delete,
                    elapsed: Duration::ZERO,
                    outcome: outcome.clone(),
                });
                return outcome;
            }
            run_delete(shared, step, entry, slot).await
        })
    })
    .await;
    for (i, (outcome, elapsed)) in p2.into_iter().enumerate() {
        results.push((deletes[i].id.clone(), Action::Delete, outcome, elapsed));
    }

    // Outputs.
    let mut output_errors = Vec::new();
    if !shared.stop.load(Ordering::SeqCst) {
        let outputs = match &shared.graph {
            None => Some(BTreeMap::new()),
            Some(g) => {
                let st = shared.state.lock().expect("state lock").clone();
                match g.outputs(&StateLookup(&st)) {
                    Ok(o) => Some(keep_known(o, &st.outputs)),
                    Err(d) => {
                        output_errors.extend(d.0.iter().map(|d| d.to_string()));
                        None
                    }
                }
            }
        };
        if let Some(outputs) = outputs {
            let changes = vec![StateChange::Outputs { outputs }];
            if shared.journal.write(JournalEntry::Apply { changes: changes.clone() }).await.is_ok() {
                shared.commit_local(&changes);
            }
        }
    }

    let journal_error = shared.journal.error();
    let state = shared.state.lock().expect("state lock").clone();
    RunResult { state, steps: results, journal_error, output_errors }
}

/// When the recorded inputs of `r` turn on its type's deletion protection
/// ([`crate::plan::Protection::of`]): the failure of a step that would delete it (`action`:
/// a delete, or a replacement), naming the property and how to lift it. The backstop of
/// [`crate::plan::Plan::refusal`], for a plan that was not checked before it ran.
fn protected(registry: &Registry, r: &ResourceState, action: Action) -> Option<StepError> {
    let protection = crate::plan::Protection::of(registry, r)?;
    Some(StepError::engine(
        &r.id,
        &r.type_name,
        action,
        Some("DeletionProtected"),
        protection.explain(&r.id, &r.physical_id, action, false),
    ))
}

/// Outputs whose value is still unknown (their resource failed) keep the previous value.
fn keep_known(
    new: BTreeMap<String, OutputState>,
    old: &BTreeMap<String, OutputState>,
) -> BTreeMap<String, OutputState> {
    new.into_iter()
        .filter_map(
            |(k, v)| {
                if v.value.contains_unknown() {
                    old.get(&k).cloned().map(|o| (k, o))
                } else {
                    Some((k, v))
                }
            },
        )
        .collect()
}

type StepFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>;

/// A step's share of `--parallel`: held from the step's start until its provider calls
/// have returned. Writing the result to the journal no longer holds it, so the next
/// steps' `Begin` entries share a journal sync with the finished steps' `Commit`s (group
/// commit) instead of waiting for a sync of their own. A step's dependents still start only
/// once it has finished, result journaled.
pub struct Slot(Option<OwnedSemaphorePermit>);

impl Slot {
    /// The provider calls of this step are done: let another step start.
    fn release(&mut self) {
        self.0 = None;
    }
}

/// Run steps as their dependencies finish, at most `parallel` holding a [`Slot`] (in
/// provider calls) at once. A step whose dependency failed or was skipped is skipped.
/// Returns outcomes in step order.
async fn schedule<F>(
    steps: &[&Step],
    deps: &[Vec<usize>],
    parallel: usize,
    shared: &Arc<Shared>,
    run: F,
) -> Vec<(Outcome, Duration)>
where
    F: Fn(Arc<Shared>, Step, Slot) -> StepFuture,
{
    let n = steps.len();
    let mut outcomes: Vec<Option<(Outcome, Duration)>> = vec![None; n];
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut running: JoinSet<(usize, Outcome, Duration)> = JoinSet::new();
    let mut blocked_by: Vec<Option<String>> = vec![None; n];
    let slots = Arc::new(Semaphore::new(parallel));
    // A slot acquired while waiting, not yet given to a step.
    let mut spare: Option<OwnedSemaphorePermit> = None;

    loop {
        while let Some(&i) = ready.front() {
            let step = steps[i];
            // Not started: a dependency failed, or the run is stopping. Reported like any
            // other outcome, so progress shows every step.
            let skip = blocked_by[i].take().or_else(|| {
                if stop_requested() {
                    Some("interrupted before this step started".to_string())
                } else if shared.stop.load(Ordering::SeqCst) {
                    Some("the run stopped before this step".to_string())
                } else {
                    None
                }
            });
            if let Some(why) = skip {
                ready.pop_front();
                shared.observer.event(&Event::Finished {
                    id: step.id.clone(),
                    type_name: step.type_name.clone(),
                    action: step.action,
                    elapsed: Duration::ZERO,
                    outcome: Outcome::Skipped(why.clone()),
                });
                finish(
                    i,
                    Outcome::Skipped(why),
                    Duration::ZERO,
                    &mut outcomes,
                    &dependents,
                    &mut waiting,
                    &mut ready,
                    &mut blocked_by,
                    steps,
                );
                continue;
            }
            let permit = match spare.take() {
                Some(p) => p,
                None => match slots.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            ready.pop_front();
            let fut = run(shared.clone(), step.clone(), Slot(Some(permit)));
            running.spawn(async move {
                let start = Instant::now();
                let o = fut.await;
                (i, o, start.elapsed())
            });
        }
        // Nothing running means every slot is free, so nothing is left ready either.
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let (i, outcome, elapsed) = joined.expect("running is not empty").expect("step task panicked");
                finish(i, outcome, elapsed, &mut outcomes, &dependents, &mut waiting, &mut ready, &mut blocked_by, steps);
            }
            permit = slots.clone().acquire_owned(), if !ready.is_empty() => {
                spare = Some(permit.expect("the slot semaphore is never closed"));
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or((Outcome::Skipped("the run stopped before this step".into()), Duration::ZERO)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn finish(
    i: usize,
    outcome: Outcome,
    elapsed: Duration,
    outcomes: &mut [Option<(Outcome, Duration)>],
    dependents: &[Vec<usize>],
    waiting: &mut [usize],
    ready: &mut VecDeque<usize>,
    blocked_by: &mut [Option<String>],
    steps: &[&Step],
) {
    let bad = matches!(outcome, Outcome::Failed(_) | Outcome::Skipped(_));
    for &k in &dependents[i] {
        if bad && blocked_by[k].is_none() {
            blocked_by[k] = Some(match &outcome {
                Outcome::Failed(_) => format!("`{}` failed", steps[i].id),
                Outcome::Skipped(why) if why.starts_with('`') && why.ends_with(" failed") => why.clone(),
                _ => format!("`{}` was not done", steps[i].id),
            });
        }
        waiting[k] -= 1;
        if waiting[k] == 0 {
            ready.push_back(k);
        }
    }
    outcomes[i] = Some((outcome, elapsed));
}

async fn run_phase1(shared: Arc<Shared>, step: Step, mut slot: Slot) -> Outcome {
    shared.observer.event(&Event::Started {
        id: step.id.clone(),
        type_name: step.type_name.clone(),
        action: step.action,
    });
    let start = Instant::now();
    let outcome = phase1_inner(&shared, &step, &mut slot).await;
    shared.observer.event(&Event::Finished {
        id: step.id.clone(),
        type_name: step.type_name.clone(),
        action: step.action,
        elapsed: start.elapsed(),
        outcome: outcome.clone(),
    });
    outcome
}

async fn phase1_inner(shared: &Shared, step: &Step, slot: &mut Slot) -> Outcome {
    let graph = shared.graph.as_ref().expect("phase 1 needs the graph");
    let r = &graph.resources[&step.id];
    let t = shared.registry.get(&r.type_name).expect("registered type").clone();
    let action = step.action;
    // Evaluate with the dependencies' real results.
    let (props, region, old) = {
        let st = shared.state.lock().expect("state lock");
        let lookup = StateLookup(&st);
        let props = graph.properties(r, &lookup);
        let region = graph.region(r, &lookup);
        (props, region, st.resources.get(&r.id).cloned())
    };
    let invalid =
        |m: String| Outcome::Failed(StepError::engine(&step.id, &step.type_name, action, Some("InvalidProperties"), m));
    let props = match props {
        Ok(p) if !p.contains_unknown() => p,
        Ok(_) => return invalid("a property is still unknown after its dependencies finished".into()),
        Err(d) => return invalid(d.to_string()),
    };
    let region = match region {
        Ok(r) => r,
        Err(d) => return invalid(d.to_string()),
    };
    let failures = t.check(&props);
    if !failures.is_empty() {
        let m = failures
            .iter()
            .map(|f| if f.path.is_empty() { f.message.clone() } else { format!("{}: {}", f.path, f.message) })
            .collect::<Vec<_>>()
            .join("; ");
        return invalid(m);
    }
    // Decide again with known values: an update may turn out to be no change.
    let force = action == Action::Replace && step.reason.as_deref() == Some("--replace");
    let (now, _, mode, _) = decide(t.as_ref(), r, &props, &region, old.as_ref(), force);
    let json = provider_json(t.schema(), &props);
    let make_state = |data: ResourceData, seed: &str| ResourceState {
        id: r.id.clone(),
        type_name: r.type_name.clone(),
        physical_id: data.physical_id,
        region: region.clone(),
        inputs: props.clone(),
        attributes: data.attributes,
        dependencies: r.deps.clone(),
        deletion_policy: r.deletion_policy,
        parent: r.parent.clone(),
        name_seed: seed.to_string(),
        drift: None,
    };
    match now {
        Action::Same => Outcome::Unchanged,
        Action::Update => {
            let old = old.expect("update has state");
            let ctx = with_progress(shared.opts.ctx(&r.id, &r.type_name, &region, &old.name_seed), &shared.observer);
            let op = shared.journal.next_op();
            let begin = JournalEntry::Begin {
                op,
                kind: OpKind::Update,
                id: r.id.clone(),
                type_name: r.type_name.clone(),
                region: region.clone(),
                physical_id: Some(old.physical_id.clone()),
                inputs: props.clone(),
                name_seed: old.name_seed.clone(),
                replacing: false,
                replaced_snapshot: false,
                retired: false,
                dependencies: r.deps.clone(),
                deletion_policy: r.deletion_policy,
                parent: r.parent.clone(),
            };
            if let Err(e) = shared.journal.write(begin).await {
                return shared.journal_failed(step, Action::Update, e);
            }
            let old_json = provider_json(t.schema(), &old.inputs);
            let updated = guarded(t.update(&ctx, &old.physical_id, &old_json, &json)).await;
            match updated {
                Ok(data) => {
                    slot.release();
                    match shared.commit(op, vec![StateChange::Put { state: make_state(data, &old.name_seed) }]).await {
                        Ok(()) => Outcome::Done,
                        Err(e) => shared.journal_failed(step, Action::Update, e),
                    }
                }
                Err(e) => {
                    // The update may have changed some settings before it failed (or it
                    // took effect and its answer was lost): record what AWS holds now.
                    let read = guarded(t.read(&ctx, &old.physical_id, &json)).await;
                    slot.release();
                    match read {
                        Ok(Some(read)) => {
                            let (inputs, complete) = read_back(t.as_ref(), &props, Some(&old.inputs), &read.properties);
                            let mut st = make_state(read.data, &old.name_seed);
                            st.physical_id = old.physical_id.clone();
                            st.inputs = inputs;
                            if let Err(je) = shared.commit(op, vec![StateChange::Put { state: st }]).await {
                                return shared.journal_failed(step, Action::Update, je);
                            }
                            if complete {
                                // Its answer was lost, but AWS holds all of it.
                                Outcome::Done
                            } else {
                                shared.fail_noted(
                                    step,
                                    Action::Update,
                                    e,
                                    "the state records what AWS holds now; the next `up` applies the rest",
                                )
                            }
                        }
                        Ok(None) => {
                            let changes = vec![StateChange::Remove { id: r.id.clone() }];
                            if let Err(je) = shared.commit(op, changes).await {
                                return shared.journal_failed(step, Action::Update, je);
                            }
                            shared.fail_noted(
                                step,
                                Action::Update,
                                e,
                                "the resource no longer exists; the next `up` creates it again",
                            )
                        }
                        Err(_) => {
                            // Unreadable: keep the previous inputs, so that the next plan
                            // applies the whole change again.
                            shared.abort(op, &e.message).await;
                            shared.fail(step, Action::Update, e)
                        }
                    }
                }
            }
        }
        Action::Create | Action::Replace => {
            let replacing = now == Action::Replace;
            if replacing && !r.update_replace_policy.keeps() {
                if let Some(e) = old.as_ref().and_then(|old| protected(&shared.registry, old, Action::Replace)) {
                    return Outcome::Failed(e);
                }
            }
            if replacing && mode == Some(ReplaceMode::DeleteBeforeCreate) {
                let old = old.clone().expect("replace has state");
                if !r.update_replace_policy.keeps() {
                    // The slot stays held: the create follows.
                    let snapshot = r.update_replace_policy == DeletionPolicy::Snapshot;
                    if let Err(o) = delete_resource(shared, step, &old, false, snapshot, None).await {
                        return o;
                    }
                } else {
                    // Retained on replacement: forget it, keep it in AWS.
                    let changes = vec![StateChange::Remove { id: old.id.clone() }];
                    if let Err(e) = shared.journal.write(JournalEntry::Apply { changes: changes.clone() }).await {
                        return shared.journal_failed(step, Action::Replace, e);
                    }
                    shared.commit_local(&changes);
                }
            }
            let cbd = replacing && mode == Some(ReplaceMode::CreateBeforeDelete);
            let seed = new_seed();
            let ctx = with_progress(shared.opts.ctx(&r.id, &r.type_name, &region, &seed), &shared.observer);
            let op = shared.journal.next_op();
            let begin = JournalEntry::Begin {
                op,
                kind: OpKind::Create,
                id: r.id.clone(),
                type_name: r.type_name.clone(),
                region: region.clone(),
                physical_id: None,
                inputs: props.clone(),
                name_seed: seed.clone(),
                replacing: cbd && !r.update_replace_policy.keeps(),
                replaced_snapshot: cbd && r.update_replace_policy == DeletionPolicy::Snapshot,
                retired: false,
                dependencies: r.deps.clone(),
                deletion_policy: r.deletion_policy,
                parent: r.parent.clone(),
            };
            if let Err(e) = shared.journal.write(begin).await {
                return shared.journal_failed(step, now, e);
            }
            let created = guarded(t.create(&ctx, &json)).await;
            let retire = |changes: &mut Vec<StateChange>| {
                if cbd {
                    if !r.update_replace_policy.keeps() {
                        let snapshot = r.update_replace_policy == DeletionPolicy::Snapshot;
                        changes.push(StateChange::Retire { id: r.id.clone(), snapshot });
                    } else {
                        changes.push(StateChange::Remove { id: r.id.clone() });
                    }
                }
            };
            let e = match created {
                Ok(data) => {
                    slot.release();
                    let mut changes = Vec::new();
                    retire(&mut changes);
                    changes.push(StateChange::Put { state: make_state(data, &seed) });
                    return match shared.commit(op, changes).await {
                        Ok(()) => Outcome::Done,
                        Err(e) => shared.journal_failed(step, now, e),
                    };
                }
                Err(e) => e,
            };
            // The create failed. It may still have made the resource: an earlier call of
            // it succeeded (the provider says which resource it made), or the call took
            // effect and its answer was lost (`find` looks for it). Whatever exists is
            // tracked with what AWS holds, never leaked and never reported as done
            // unless AWS holds all of it (invariant 9).
            let made = match e.created.clone() {
                Some(pid) => Ok(Some(pid)),
                None => guarded(t.find(&ctx, &json)).await.map(|found| {
                    found
                        .map(|d| d.physical_id)
                        .filter(|pid| !is_known_other(&shared.state.lock().expect("state lock"), &r.id, pid))
                }),
            };
            let pid = match made {
                Ok(Some(pid)) => pid,
                Ok(None) => {
                    slot.release();
                    shared.abort(op, &e.message).await;
                    return shared.fail(step, now, e);
                }
                Err(fe) => {
                    slot.release();
                    shared.abort(op, &e.message).await;
                    let note = format!(
                        "cairn could not check whether the create made anything ({}); look for a resource tagged cairn:logical-id={} before the next `up`",
                        fe.message, r.id
                    );
                    return shared.fail_noted(step, now, e, &note);
                }
            };
            let read = guarded(t.read(&ctx, &pid, &json)).await;
            slot.release();
            let (state, complete, note) = match read {
                Ok(Some(read)) => {
                    let (inputs, complete) = read_back(t.as_ref(), &props, None, &read.properties);
                    let mut st = make_state(read.data, &seed);
                    st.physical_id = pid.clone();
                    st.inputs = inputs;
                    (st, complete, format!("{pid} was created part-way; the state records what AWS holds, and the next `up` applies the rest"))
                }
                Ok(None) => {
                    shared.abort(op, &e.message).await;
                    return shared.fail(step, now, e);
                }
                Err(re) => {
                    let mut st =
                        make_state(ResourceData { physical_id: pid.clone(), attributes: BTreeMap::new() }, &seed);
                    st.inputs = create_only_inputs(t.as_ref(), &props);
                    (st, false, format!("{pid} was created but could not be read back ({}); it is tracked, and the next `up` applies the rest", re.message))
                }
            };
            let mut changes = Vec::new();
            retire(&mut changes);
            changes.push(StateChange::Put { state });
            if let Err(je) = shared.commit(op, changes).await {
                return shared.journal_failed(step, now, je);
            }
            if complete {
                // Its answer was lost, but AWS holds all of it.
                Outcome::Done
            } else {
                shared.fail_noted(step, now, e, &note)
            }
        }
        Action::Delete => unreachable!("decide never deletes"),
    }
}

/// Whether `physical_id` is a resource the state already tracks for `id` (the one being
/// replaced, or an old half of a replacement still to delete). Such a resource carries
/// the same ownership tags as the one a create makes, so `find` may return it: it must
/// never be adopted as the result of the create.
fn is_known_other(state: &StackState, id: &str, physical_id: &str) -> bool {
    state.resources.get(id).is_some_and(|r| r.physical_id == physical_id)
        || state.pending_deletes.iter().any(|r| r.id == id && r.physical_id == physical_id)
}

/// Delete one resource (journaled). `Err` carries the outcome to report. `slot`, when
/// given, is released once the provider calls are done.
async fn delete_resource(
    shared: &Shared,
    step: &Step,
    r: &ResourceState,
    retired: bool,
    snapshot: bool,
    slot: Option<&mut Slot>,
) -> Result<(), Outcome> {
    let t = match shared.registry.get(&r.type_name) {
        Some(t) => t.clone(),
        None => {
            return Err(Outcome::Failed(StepError::engine(
                &r.id,
                &r.type_name,
                Action::Delete,
                Some("UnknownType"),
                format!("no provider for type `{}` in this build, so it cannot be deleted", r.type_name),
            )))
        }
    };
    let mut ctx = with_progress(shared.opts.ctx(&r.id, &r.type_name, &r.region, &r.name_seed), &shared.observer);
    ctx.final_snapshot = snapshot;
    let op = shared.journal.next_op();
    let begin = JournalEntry::Begin {
        op,
        kind: OpKind::Delete,
        id: r.id.clone(),
        type_name: r.type_name.clone(),
        region: r.region.clone(),
        physical_id: Some(r.physical_id.clone()),
        inputs: Value::Null,
        name_seed: r.name_seed.clone(),
        replacing: false,
        replaced_snapshot: false,
        retired,
        dependencies: r.dependencies.clone(),
        deletion_policy: r.deletion_policy,
        parent: r.parent.clone(),
    };
    if let Err(e) = shared.journal.write(begin).await {
        return Err(shared.journal_failed(step, Action::Delete, e));
    }
    let json = provider_json(t.schema(), &r.inputs);
    let mut result = guarded(t.delete(&ctx, &r.physical_id, &json)).await;
    if result.is_err() {
        // Already gone (deleted outside cairn, or by an interrupted earlier run): done.
        if let Ok(None) = guarded(t.read(&ctx, &r.physical_id, &json)).await {
            result = Ok(());
        }
    }
    if let Some(slot) = slot {
        slot.release();
    }
    match result {
        Ok(()) => {
            let change = if retired {
                StateChange::DropRetired { id: r.id.clone(), physical_id: r.physical_id.clone() }
            } else {
                StateChange::Remove { id: r.id.clone() }
            };
            shared.commit(op, vec![change]).await.map_err(|e| shared.journal_failed(step, Action::Delete, e))
        }
        Err(e) => {
            shared.abort(op, &e.message).await;
            Err(shared.fail(step, Action::Delete, e))
        }
    }
}

async fn run_delete(shared: Arc<Shared>, step: Step, entry: Option<ResourceState>, mut slot: Slot) -> Outcome {
    let Some(r) = entry else { return Outcome::Unchanged };
    shared.observer.event(&Event::Started {
        id: step.id.clone(),
        type_name: step.type_name.clone(),
        action: Action::Delete,
    });
    let start = Instant::now();
    let outcome = if step.retain {
        // DeletionPolicy: Retain: forget it, never delete it.
        let changes = vec![StateChange::Remove { id: r.id.clone() }];
        match shared.journal.write(JournalEntry::Apply { changes: changes.clone() }).await {
            Ok(()) => {
                shared.commit_local(&changes);
                Outcome::Done
            }
            Err(e) => shared.journal_failed(&step, Action::Delete, e),
        }
    } else {
        match delete_resource(&shared, &step, &r, step.retired, step.snapshot, Some(&mut slot)).await {
            Ok(()) => Outcome::Done,
            Err(o) => o,
        }
    };
    shared.observer.event(&Event::Finished {
        id: step.id.clone(),
        type_name: step.type_name.clone(),
        action: Action::Delete,
        elapsed: start.elapsed(),
        outcome: outcome.clone(),
    });
    outcome
}

// ---------------------------------------------------------------------------------------
// Recovery of interrupted operations.

/// Reconcile operations an earlier run began but never finished, through the provider's
/// read-only calls (`find` and `read`), at most `opts.parallel` at once (through
/// [`crate::refresh::bounded`]). Returns the
/// journal entries that settle them (to append before planning, in journal order) and a
/// description of each. Nothing is mutated in AWS.
///
/// An interrupted create or update records what `read` returns, never the inputs it was
/// given (invariant 9): the next plan shows exactly what is still missing.
pub async fn recover(
    interrupted: &[JournalEntry],
    state: &StackState,
    registry: &Registry,
    opts: &ExecOptions,
) -> Result<Vec<(JournalEntry, Event)>, StepError> {
    let state = Arc::new(state.clone());
    let jobs: Vec<JournalEntry> =
        interrupted.iter().filter(|e| matches!(e, JournalEntry::Begin { .. })).cloned().collect();
    let ids: Vec<(String, String)> = jobs
        .iter()
        .map(|e| match e {
            JournalEntry::Begin { id, type_name, .. } => (id.clone(), type_name.clone()),
            _ => unreachable!("only Begin entries are recovered"),
        })
        .collect();
    let results = crate::refresh::bounded(jobs, opts.parallel, |e| {
        let (state, registry, opts) = (state.clone(), registry.clone(), opts.clone());
        async move { recover_one(e, &state, &registry, &opts).await }
    })
    .await;
    let mut settled = Vec::with_capacity(results.len());
    for (r, (id, type_name)) in results.into_iter().zip(ids) {
        match r {
            Ok(r) => settled.push(r?),
            Err(p) => {
                return Err(StepError::engine(
                    &id,
                    &type_name,
                    Action::Create,
                    Some("ProviderPanic"),
                    format!(
                        "while reconciling an interrupted operation, the provider crashed ({}); this is a bug in cairn",
                        p.0
                    ),
                ))
            }
        }
    }
    Ok(settled)
}

async fn recover_one(
    e: JournalEntry,
    state: &StackState,
    registry: &Registry,
    opts: &ExecOptions,
) -> Result<(JournalEntry, Event), StepError> {
    let JournalEntry::Begin {
        op,
        kind,
        id,
        type_name,
        region,
        physical_id,
        inputs,
        name_seed,
        replacing,
        replaced_snapshot,
        retired,
        dependencies,
        deletion_policy,
        parent,
    } = e
    else {
        unreachable!("only Begin entries are recovered")
    };
    let err = |mut p: ProviderError, action: Action| {
        p.message = format!("while reconciling an interrupted operation: {}", p.message);
        StepError::provider(&id, &type_name, action, p)
    };
    let Some(t) = registry.get(&type_name) else {
        return Err(StepError::engine(
            &id,
            &type_name,
            Action::Create,
            Some("UnknownType"),
            "an interrupted operation names a type this build does not know",
        ));
    };
    let ctx = opts.ctx(&id, &type_name, &region, &name_seed);
    let json = provider_json(t.schema(), &inputs);
    let event = |what: String| Event::Recovered { id: id.clone(), type_name: type_name.clone(), what };
    match kind {
        OpKind::Create => {
            let found = guarded(t.find(&ctx, &json))
                .await
                .map_err(|p| err(p, Action::Create))?
                .filter(|d| !is_known_other(state, &id, &d.physical_id));
            let Some(data) = found else {
                return Ok((
                    JournalEntry::Abort { op, reason: "interrupted create made nothing".into() },
                    event("an interrupted create had made nothing; it will run again".into()),
                ));
            };
            let Some(read) =
                guarded(t.read(&ctx, &data.physical_id, &json)).await.map_err(|p| err(p, Action::Create))?
            else {
                return Ok((
                    JournalEntry::Abort { op, reason: "what the interrupted create made is gone".into() },
                    event("an interrupted create had made nothing that still exists; it will run again".into()),
                ));
            };
            let (recorded, complete) = read_back(t.as_ref(), &inputs, None, &read.properties);
            let mut changes = Vec::new();
            if replacing && state.resources.contains_key(&id) {
                changes.push(StateChange::Retire { id: id.clone(), snapshot: replaced_snapshot });
            }
            changes.push(StateChange::Put {
                state: ResourceState {
                    id: id.clone(),
                    type_name: type_name.clone(),
                    physical_id: data.physical_id.clone(),
                    region: region.clone(),
                    inputs: recorded,
                    attributes: read.data.attributes,
                    dependencies,
                    deletion_policy,
                    parent,
                    name_seed: name_seed.clone(),
                    drift: None,
                },
            });
            let what = if complete {
                format!("an interrupted create had made {}; adopted it", data.physical_id)
            } else {
                format!(
                    "an interrupted create had made {} part-way; adopted it as AWS holds it, and the plan applies the rest",
                    data.physical_id
                )
            };
            Ok((JournalEntry::Commit { op, changes }, event(what)))
        }
        OpKind::Update => {
            let pid = physical_id.clone().unwrap_or_default();
            let current = state.resources.get(&id).cloned();
            match guarded(t.read(&ctx, &pid, &json)).await.map_err(|p| err(p, Action::Update))? {
                Some(read) => match current {
                    Some(mut cur) => {
                        cur.inputs = recorded_inputs(t.as_ref(), &inputs, Some(&cur.inputs), &read.properties);
                        cur.attributes = read.data.attributes;
                        Ok((
                            JournalEntry::Commit { op, changes: vec![StateChange::Put { state: cur }] },
                            event("an interrupted update was read back; the state records what AWS holds".into()),
                        ))
                    }
                    None => Ok((
                        JournalEntry::Abort { op, reason: "no state entry".into() },
                        event("an interrupted update had no state entry".into()),
                    )),
                },
                None => Ok((
                    JournalEntry::Commit { op, changes: vec![StateChange::Remove { id: id.clone() }] },
                    event("an interrupted update found the resource gone; forgot it".into()),
                )),
            }
        }
        OpKind::Delete => {
            let pid = physical_id.clone().unwrap_or_default();
            let entry = if retired {
                state.pending_deletes.iter().find(|r| r.id == id && r.physical_id == pid).cloned()
            } else {
                state.resources.get(&id).cloned()
            };
            let props = entry.as_ref().map(|r| provider_json(t.schema(), &r.inputs)).unwrap_or(json);
            match guarded(t.read(&ctx, &pid, &props)).await.map_err(|p| err(p, Action::Delete))? {
                None => {
                    let change = if retired {
                        StateChange::DropRetired { id: id.clone(), physical_id: pid.clone() }
                    } else {
                        StateChange::Remove { id: id.clone() }
                    };
                    Ok((
                        JournalEntry::Commit { op, changes: vec![change] },
                        event(format!("an interrupted delete had finished; forgot {pid}")),
                    ))
                }
                Some(_) => Ok((
                    JournalEntry::Abort { op, reason: "still exists".into() },
                    event(format!("an interrupted delete left {pid} in place; it will be planned again")),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Log(Mutex<Vec<String>>);
    impl Observer for Log {
        fn event(&self, e: &Event) {
            if let Event::Waiting { id, type_name, what, elapsed } = e {
                self.0.lock().unwrap().push(format!("{id} {type_name} {what} {}", elapsed.as_secs()));
            }
        }
    }

    #[test]
    fn a_providers_progress_reaches_the_observer_as_waiting_events() {
        let opts = ExecOptions {
            project: "p".into(),
            stack: "dev".into(),
            account_id: "123456789012".into(),
            partition: "aws".into(),
            stack_tags: BTreeMap::new(),
            parallel: 4,
            assets: Default::default(),
        };
        let log = Arc::new(Log(Mutex::new(Vec::new())));
        let observer: Arc<dyn Observer> = log.clone();
        let ctx = with_progress(opts.ctx("Db", "AWS::RDS::DBInstance", "eu-west-1", "seed"), &observer);
        ctx.progress.waiting("DBInstance to be available", Duration::from_secs(130));
        // A context made without an observer reports nowhere.
        opts.ctx("Db", "AWS::RDS::DBInstance", "eu-west-1", "seed").progress.waiting("x", Duration::ZERO);
        assert_eq!(*log.0.lock().unwrap(), ["Db AWS::RDS::DBInstance DBInstance to be available 130"]);
    }
}
