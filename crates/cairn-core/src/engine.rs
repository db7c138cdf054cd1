//! One run against one stack, end to end: lock, load (replaying the journal), reconcile
//! what an earlier run left interrupted, then execute a plan with a journal, compact the
//! state once at the end, and record the run in the history.

use std::sync::Arc;

use crate::exec::{self, Event, ExecOptions, Journal, Observer, RunResult, StepError};
use crate::graph::DesiredGraph;
use crate::plan::{Plan, Refused};
use crate::provider::Registry;
use crate::state::{Backend, HistoryEntry, JournalEntry, LockInfo, StackLock, StackState, StateChange, StateError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Step(#[from] StepError),
    /// The plan would delete resources protected from deletion in AWS: nothing was applied.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// An open stack: its state, loaded and reconciled, and (for mutating runs) its lock.
pub struct Session {
    pub backend: Arc<dyn Backend>,
    pub stack: String,
    pub state: StackState,
    last_op: u64,
    lock: Option<Box<dyn StackLock>>,
    /// What reconciling interrupted operations did (to show the user).
    pub recovered: Vec<Event>,
}

impl Session {
    /// Open `stack`. With `lock`, the stack is locked and reconciliation results are
    /// stored; without (preview), reconciliation happens in memory only.
    pub async fn open(
        backend: Arc<dyn Backend>,
        stack: &str,
        lock: Option<LockInfo>,
        registry: &Registry,
        opts: &ExecOptions,
    ) -> Result<Session, EngineError> {
        let held = match lock {
            Some(info) => Some(backend.lock(stack, info).await?),
            None => None,
        };
        let result = Self::load(backend.clone(), stack, held.is_some(), registry, opts).await;
        match result {
            Ok((state, last_op, recovered)) => {
                Ok(Session { backend, stack: stack.to_string(), state, last_op, lock: held, recovered })
            }
            Err(e) => {
                if let Some(l) = held {
                    let _ = l.release().await;
                }
                Err(e)
            }
        }
    }

    async fn load(
        backend: Arc<dyn Backend>,
        stack: &str,
        persist: bool,
        registry: &Registry,
        opts: &ExecOptions,
    ) -> Result<(StackState, u64, Vec<Event>), EngineError> {
        let loaded = backend.load(stack).await?;
        let mut state = loaded.state;
        let mut events = Vec::new();
        if !loaded.interrupted.is_empty() {
            let settled = exec::recover(&loaded.interrupted, &state, registry, opts).await?;
            let entries: Vec<JournalEntry> = settled.iter().map(|(e, _)| e.clone()).collect();
            state.replay(&entries);
            if persist {
                backend.append(stack, &entries).await?;
                backend.compact(stack, &state).await?;
            }
            events = settled.into_iter().map(|(_, ev)| ev).collect();
        }
        Ok((state, loaded.last_op, events))
    }

    /// Execute a plan (the session must be locked). The state is compacted once at the end.
    /// A plan that would delete a resource protected from deletion in AWS is refused
    /// before anything is journaled or called ([`Plan::refusal`], invariant 11).
    pub async fn apply(
        &mut self,
        plan: &Plan,
        graph: Option<Arc<DesiredGraph>>,
        registry: &Registry,
        opts: ExecOptions,
        observer: Arc<dyn Observer>,
    ) -> Result<RunResult, EngineError> {
        assert!(self.lock.is_some(), "apply needs a locked session");
        if let Some(refused) = plan.refusal() {
            return Err(refused.into());
        }
        let journal = Journal::start(self.backend.clone(), self.stack.clone(), self.last_op);
        let result = exec::execute(plan, graph, registry, self.state.clone(), journal, opts, observer).await;
        self.state = result.state.clone();
        if result.journal_error.is_none() {
            self.backend.compact(&self.stack, &self.state).await?;
            self.last_op = 0;
        }
        Ok(result)
    }

    /// Record changes outside a plan (refresh, import) and compact.
    pub async fn record(&mut self, changes: Vec<StateChange>) -> Result<(), EngineError> {
        for c in &changes {
            self.state.apply(c);
        }
        self.backend.append(&self.stack, &[JournalEntry::Apply { changes }]).await?;
        self.backend.compact(&self.stack, &self.state).await?;
        Ok(())
    }

    /// Replace the whole state (`stack import`).
    pub async fn replace_state(&mut self, state: StackState) -> Result<(), EngineError> {
        self.state = state;
        self.backend.compact(&self.stack, &self.state).await?;
        Ok(())
    }

    /// The next history version number.
    pub async fn next_version(&self) -> Result<u64, EngineError> {
        Ok(self.backend.history(&self.stack).await?.last().map(|h| h.version + 1).unwrap_or(1))
    }

    pub async fn add_history(&self, entry: &HistoryEntry) -> Result<(), EngineError> {
        self.backend.add_history(&self.stack, entry).await?;
        Ok(())
    }

    /// Release the lock.
    pub async fn close(mut self) -> Result<(), EngineError> {
        if let Some(l) = self.lock.take() {
            l.release().await?;
        }
        Ok(())
    }
}
