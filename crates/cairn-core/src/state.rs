//! The state model: what cairn knows about a deployed stack, the journal that records
//! every mutating operation, and the [`Backend`] trait that stores both.
//!
//! A stack's state is a snapshot plus an append-only journal. Before each mutating
//! provider call the engine appends a [`JournalEntry::Begin`] (durably); after it, a
//! [`JournalEntry::Commit`] with the resulting [`StateChange`]s or a
//! [`JournalEntry::Abort`]. At the end of a run the snapshot is rewritten once and the
//! journal emptied. Loading replays the journal onto the snapshot; a `Begin` without its
//! end is an interrupted operation that the engine reconciles before it plans.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::template::model::DeletionPolicy;
use crate::value::Value;

pub const STATE_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StackState {
    #[serde(default)]
    pub format_version: u32,
    /// Resources by full logical id.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    /// Old resources replaced with create-before-delete and not yet deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_deletes: Vec<ResourceState>,
    /// The stack's outputs after the last successful run.
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Full logical id (`DataBucket.Bucket` inside a component).
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub physical_id: String,
    pub region: String,
    /// The properties the resource was last created or updated with (secrets marked).
    pub inputs: Value,
    /// `Fn::GetAtt` values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// Full logical ids this resource depended on when it was last written: deletes run
    /// in the reverse of this order.
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// The component this resource belongs to (full logical id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The name seed the create used (see [`crate::provider::OpContext::name_seed`]).
    #[serde(default)]
    pub name_seed: String,
    /// Drift found by the last `refresh`: the live properties where they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Create,
    Update,
    Delete,
}

/// One change to the state that an operation's commit applies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // journal entries are built once and written; boxing buys nothing
pub enum StateChange {
    /// Set the resource for `state.id`.
    Put { state: ResourceState },
    /// Forget the resource with this id.
    Remove { id: String },
    /// Move the current resource with this id to `pending_deletes` (a replacement created
    /// its successor first). Its recorded policy becomes `Snapshot` when `snapshot`
    /// (`UpdateReplacePolicy: Snapshot`), `Delete` otherwise: a retired resource is
    /// deleted as its replacement policy says, never by its `DeletionPolicy`.
    Retire {
        id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        snapshot: bool,
    },
    /// Forget a retired resource once deleted.
    DropRetired { id: String, physical_id: String },
    /// Set the stack's outputs.
    Outputs { outputs: BTreeMap<String, OutputState> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum JournalEntry {
    /// Intent: recorded durably before the provider call.
    Begin {
        op: u64,
        kind: OpKind,
        id: String,
        #[serde(rename = "type")]
        type_name: String,
        region: String,
        /// The physical id acted on (update, delete).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        physical_id: Option<String>,
        /// The properties sent (create, update).
        #[serde(default)]
        inputs: Value,
        #[serde(default)]
        name_seed: String,
        /// For a create that replaces a resource (create-before-delete) that is to be
        /// deleted afterwards (not kept by `UpdateReplacePolicy`).
        #[serde(default)]
        replacing: bool,
        /// With `replacing`: the old resource is deleted after a final snapshot
        /// (`UpdateReplacePolicy: Snapshot`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        replaced_snapshot: bool,
        /// For a delete of a retired resource (the old half of a replacement).
        #[serde(default)]
        retired: bool,
        /// The state entry the create would put, minus what the call returns.
        #[serde(default)]
        dependencies: Vec<String>,
        #[serde(default)]
        deletion_policy: DeletionPolicy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
    },
    /// Result: the changes the operation made.
    Commit { op: u64, changes: Vec<StateChange> },
    /// Result: the operation failed or was found not to have happened; no change.
    Abort { op: u64, reason: String },
    /// A change made outside of an operation (e.g. outputs, refresh results).
    Apply { changes: Vec<StateChange> },
}

impl StackState {
    /// Apply one change.
    pub fn apply(&mut self, change: &StateChange) {
        match change {
            StateChange::Put { state } => {
                self.resources.insert(state.id.clone(), state.clone());
            }
            StateChange::Remove { id } => {
                self.resources.remove(id);
            }
            StateChange::Retire { id, snapshot } => {
                if let Some(mut r) = self.resources.remove(id) {
                    r.deletion_policy = if *snapshot { DeletionPolicy::Snapshot } else { DeletionPolicy::Delete };
                    self.pending_deletes.push(r);
                }
            }
            StateChange::DropRetired { id, physical_id } => {
                self.pending_deletes.retain(|r| !(r.id == *id && r.physical_id == *physical_id));
            }
            StateChange::Outputs { outputs } => self.outputs = outputs.clone(),
        }
    }

    /// Replay journal entries onto this snapshot. Returns the interrupted operations
    /// (a `Begin` with no `Commit` or `Abort`), in the order they began.
    pub fn replay(&mut self, entries: &[JournalEntry]) -> Vec<JournalEntry> {
        let mut open: BTreeMap<u64, JournalEntry> = BTreeMap::new();
        for e in entries {
            match e {
                JournalEntry::Begin { op, .. } => {
                    open.insert(*op, e.clone());
                }
                JournalEntry::Commit { op, changes } => {
                    open.remove(op);
                    for c in changes {
                        self.apply(c);
                    }
                }
                JournalEntry::Abort { op, .. } => {
                    open.remove(op);
                }
                JournalEntry::Apply { changes } => {
                    for c in changes {
                        self.apply(c);
                    }
                }
            }
        }
        open.into_values().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.pending_deletes.is_empty()
    }
}

/// A loaded stack: the snapshot with the journal replayed onto it, and what was
/// interrupted.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub state: StackState,
    pub interrupted: Vec<JournalEntry>,
    /// The highest operation number in the journal (new operations number after it).
    pub last_op: u64,
}

/// Who holds a stack's lock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// `up`, `destroy`, `refresh`, ...
    pub operation: String,
    /// RFC 3339.
    pub started: String,
}

/// One run, as `cairn stack history` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub version: u64,
    /// `up`, `destroy`, `refresh`, `import`, `recover`.
    pub kind: String,
    pub started: String,
    pub ended: String,
    /// `succeeded`, `failed`.
    pub result: String,
    /// Counts by operation (`create`, `update`, `replace`, `delete`, `same`, `failed`).
    pub counts: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the run applied: the text of the project file, the template and its
    /// components, and the stack file, by project-relative path (secret values in the
    /// stack file stay encrypted). `cairn stack rollback --to N` applies them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<BTreeMap<String, String>>,
    /// For a rollback: the version whose inputs it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("stack `{stack}` is locked by {} on {} (pid {}, `cairn {}`) since {}{}", .holder.user, .holder.host, .holder.pid, .holder.operation, .holder.started, if *.stale { "; that process is no longer running, so the lock is stale: run `cairn cancel` to clear it" } else { "" })]
    Locked { stack: String, holder: LockInfo, stale: bool },
    #[error("stack `{0}` does not exist")]
    NoSuchStack(String),
    #[error("the state of stack `{stack}` is unreadable: {message}")]
    Corrupt { stack: String, message: String },
    #[error("state storage failed: {0}")]
    Io(String),
    #[error("`{name}` is not a valid stack name: {reason}")]
    InvalidStackName { name: String, reason: String },
    #[error("unsupported state backend: {0}")]
    UnsupportedBackend(String),
    /// The stack's secrets could not be opened or sealed (no passphrase, a wrong one, a KMS
    /// failure). The message never holds a secret.
    #[error("{0}")]
    Secrets(String),
}

/// A held stack lock; released by [`StackLock::release`] (and best-effort on drop).
#[async_trait]
pub trait StackLock: Send + Sync {
    async fn release(self: Box<Self>) -> Result<(), StateError>;
}

/// Where stacks' state lives: a local directory or S3.
///
/// `append` must be durable when it returns (the engine calls providers only after the
/// intent is stored) and cost O(size of the entries), never O(size of the state).
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short description (`file:///path/.cairn`, `s3://bucket/prefix`) for messages.
    fn describe(&self) -> String;

    async fn lock(&self, stack: &str, info: LockInfo) -> Result<Box<dyn StackLock>, StateError>;
    /// Who holds the lock now, if anyone, and whether it is stale.
    async fn lock_holder(&self, stack: &str) -> Result<Option<(LockInfo, bool)>, StateError>;
    /// Remove the lock whoever holds it (`cairn cancel`).
    async fn break_lock(&self, stack: &str) -> Result<bool, StateError>;

    /// Load a stack; a stack that was never written loads empty.
    async fn load(&self, stack: &str) -> Result<Loaded, StateError>;
    /// Durably append journal entries (a batch: one sync for all).
    async fn append(&self, stack: &str, entries: &[JournalEntry]) -> Result<(), StateError>;
    /// Write `state` as the new snapshot and empty the journal (end of a run).
    async fn compact(&self, stack: &str, state: &StackState) -> Result<(), StateError>;

    async fn list_stacks(&self) -> Result<Vec<String>, StateError>;
    /// Remove a stack's state and history (`cairn stack rm`, which holds the stack's
    /// lock meanwhile). The lock goes last, or is left for its holder to release, so the
    /// stack is never unlocked while half removed. [`StateError::NoSuchStack`] when there
    /// was no state and no history.
    async fn remove_stack(&self, stack: &str) -> Result<(), StateError>;

    async fn add_history(&self, stack: &str, entry: &HistoryEntry) -> Result<(), StateError>;
    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError>;
}
