//! [`MemoryBackend`]: a [`Backend`] that keeps every stack in memory, with crash
//! injection for recovery tests.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use cairn_core::state::{Backend, HistoryEntry, JournalEntry, Loaded, LockInfo, StackLock, StackState, StateError};

/// State kept in memory: per stack a snapshot, a journal, a lock and a history. Cloning
/// it gives another handle on the same storage (like a second process on the same
/// directory).
///
/// Crash injection: after [`MemoryBackend::fail_after_appends`]`(n)`, the next `n` appends
/// succeed and then every write (append, compact, history, stack removal) fails with
/// `StateError::Io("injected crash")`, as if the process was killed right after its last
/// durable write. Reads keep working, and so does releasing a lock (a test harness would
/// otherwise have to break it). [`MemoryBackend::reset_failure`] "restarts the process".
#[derive(Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    stacks: BTreeMap<String, Stack>,
    /// Successful appends left before the crash; `None`: no crash planned.
    appends_left: Option<u64>,
    appends: u64,
    next_lock: u64,
}

#[derive(Default)]
struct Stack {
    snapshot: StackState,
    journal: Vec<JournalEntry>,
    history: Vec<HistoryEntry>,
    /// The holder and the token of the handle that may release it.
    lock: Option<(LockInfo, u64)>,
    /// Whether anything was ever written (a lock alone does not make a stack).
    written: bool,
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryBackend")
            .field("stacks", &inner.stacks.keys().collect::<Vec<_>>())
            .field("appends", &inner.appends)
            .field("appends_left", &inner.appends_left)
            .finish()
    }
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Let `n` more appends succeed, then fail every write (see the type's docs).
    pub fn fail_after_appends(&self, n: u64) {
        self.lock().appends_left = Some(n);
    }

    /// Stop failing writes.
    pub fn reset_failure(&self) {
        self.lock().appends_left = None;
    }

    /// Whether writes fail now.
    pub fn crashed(&self) -> bool {
        self.lock().appends_left == Some(0)
    }

    /// How many appends (batches) have succeeded, over all stacks.
    pub fn append_count(&self) -> u64 {
        self.lock().appends
    }

    /// The stack's journal since its last compaction.
    pub fn journal(&self, stack: &str) -> Vec<JournalEntry> {
        self.lock().stacks.get(stack).map(|s| s.journal.clone()).unwrap_or_default()
    }

    /// The stack's last compacted snapshot (without the journal replayed).
    pub fn snapshot(&self, stack: &str) -> StackState {
        self.lock().stacks.get(stack).map(|s| s.snapshot.clone()).unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The guard, or `None` when writes fail (see [`crash`]).
    fn writable(&self) -> Option<MutexGuard<'_, Inner>> {
        Some(self.lock()).filter(|inner| inner.appends_left != Some(0))
    }
}

/// What every write returns once the process has "crashed".
fn crash() -> StateError {
    StateError::Io("injected crash".into())
}

struct MemoryLock {
    backend: MemoryBackend,
    stack: String,
    token: u64,
}

impl MemoryLock {
    fn release_now(&self) {
        let mut inner = self.backend.lock();
        if let Some(stack) = inner.stacks.get_mut(&self.stack) {
            if stack.lock.as_ref().is_some_and(|(_, token)| *token == self.token) {
                stack.lock = None;
            }
        }
    }
}

#[async_trait]
impl StackLock for MemoryLock {
    async fn release(self: Box<Self>) -> Result<(), StateError> {
        self.release_now();
        Ok(())
    }
}

impl Drop for MemoryLock {
    fn drop(&mut self) {
        self.release_now();
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn describe(&self) -> String {
        "memory://".to_string()
    }

    async fn lock(&self, stack: &str, info: LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        let mut inner = self.lock();
        inner.next_lock += 1;
        let token = inner.next_lock;
        let entry = inner.stacks.entry(stack.to_string()).or_default();
        if let Some((holder, _)) = &entry.lock {
            return Err(StateError::Locked { stack: stack.to_string(), holder: holder.clone(), stale: false });
        }
        entry.lock = Some((info, token));
        Ok(Box::new(MemoryLock { backend: self.clone(), stack: stack.to_string(), token }))
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<(LockInfo, bool)>, StateError> {
        Ok(self.lock().stacks.get(stack).and_then(|s| s.lock.as_ref()).map(|(info, _)| (info.clone(), false)))
    }

    async fn break_lock(&self, stack: &str) -> Result<bool, StateError> {
        Ok(self.lock().stacks.get_mut(stack).and_then(|s| s.lock.take()).is_some())
    }

    async fn load(&self, stack: &str) -> Result<Loaded, StateError> {
        let inner = self.lock();
        let Some(s) = inner.stacks.get(stack) else { return Ok(Loaded::default()) };
        let mut state = s.snapshot.clone();
        let interrupted = state.replay(&s.journal);
        let last_op = s
            .journal
            .iter()
            .filter_map(|e| match e {
                JournalEntry::Begin { op, .. } | JournalEntry::Commit { op, .. } | JournalEntry::Abort { op, .. } => {
                    Some(*op)
                }
                JournalEntry::Apply { .. } => None,
            })
            .max()
            .unwrap_or(0);
        Ok(Loaded { state, interrupted, last_op })
    }

    async fn append(&self, stack: &str, entries: &[JournalEntry]) -> Result<(), StateError> {
        let mut inner = self.writable().ok_or_else(crash)?;
        if let Some(left) = inner.appends_left.as_mut() {
            *left -= 1;
        }
        inner.appends += 1;
        let s = inner.stacks.entry(stack.to_string()).or_default();
        s.journal.extend_from_slice(entries);
        s.written = true;
        Ok(())
    }

    async fn compact(&self, stack: &str, state: &StackState) -> Result<(), StateError> {
        let mut inner = self.writable().ok_or_else(crash)?;
        let s = inner.stacks.entry(stack.to_string()).or_default();
        s.snapshot = state.clone();
        s.journal.clear();
        s.written = true;
        Ok(())
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        Ok(self.lock().stacks.iter().filter(|(_, s)| s.written).map(|(name, _)| name.clone()).collect())
    }

    async fn remove_stack(&self, stack: &str) -> Result<(), StateError> {
        let mut inner = self.writable().ok_or_else(crash)?;
        match inner.stacks.get_mut(stack) {
            Some(s) if s.written => {
                // Keep a lock its holder will release.
                *s = Stack { lock: s.lock.take(), ..Stack::default() };
                Ok(())
            }
            _ => Err(StateError::NoSuchStack(stack.to_string())),
        }
    }

    async fn add_history(&self, stack: &str, entry: &HistoryEntry) -> Result<(), StateError> {
        let mut inner = self.writable().ok_or_else(crash)?;
        let s = inner.stacks.entry(stack.to_string()).or_default();
        s.history.push(entry.clone());
        s.written = true;
        Ok(())
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        Ok(self.lock().stacks.get(stack).map(|s| s.history.clone()).unwrap_or_default())
    }
}
