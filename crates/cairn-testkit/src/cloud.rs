//! [`TestCloud`]: an in-memory cloud that [`TestType`](crate::TestType)s create resources
//! in, that records every call made to it, and that fails calls on demand.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cairn_core::provider::ProviderError;
use serde_json::Value as Json;

/// A provider call, as the cloud logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Create,
    Read,
    Update,
    Delete,
    Find,
    /// One setting of a multi-call resource put (a second call of a create or update).
    Set,
    /// One setting of a multi-call resource removed.
    Unset,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Read => "read",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Find => "find",
            Op::Set => "set",
            Op::Unset => "unset",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource that exists in the cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveResource {
    pub type_name: String,
    pub physical_id: String,
    /// The properties it was last created or updated with, exactly as sent.
    pub properties: Json,
    /// Stack tags, the `Tags` property, then the ownership tags (later ones win).
    pub tags: BTreeMap<String, String>,
}

/// The live resources by physical id.
pub(crate) type Resources = BTreeMap<String, LiveResource>;

type Predicate = Arc<dyn Fn(Op, &str) -> bool + Send + Sync>;

struct Fault {
    op: Op,
    logical_id: String,
    error: ProviderError,
    /// The call takes effect and then reports the error (a response lost on the way back).
    after_effect: bool,
}

/// A failure of the n-th mutating call (create, update, delete, set, unset) that one
/// logical id makes from the moment it is armed.
struct NthFault {
    logical_id: String,
    /// Mutating calls still to let through before the failing one.
    skip: usize,
    after_effect: bool,
}

#[derive(Default)]
struct CloudState {
    resources: Resources,
    log: Vec<(Op, String)>,
    in_flight: usize,
    max_in_flight: usize,
    faults: Vec<Fault>,
    nth_faults: Vec<NthFault>,
    panics: Vec<(Op, String)>,
    fail_when: Option<Predicate>,
}

/// An in-memory cloud shared by any number of [`TestType`](crate::TestType)s: cloning it
/// gives another handle on the same cloud.
#[derive(Clone, Default)]
pub struct TestCloud {
    state: Arc<Mutex<CloudState>>,
}

impl fmt::Debug for TestCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("TestCloud")
            .field("resources", &st.resources.len())
            .field("calls", &st.log.len())
            .field("in_flight", &st.in_flight)
            .finish()
    }
}

impl TestCloud {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every live resource, by physical id.
    pub fn live_resources(&self) -> Vec<LiveResource> {
        self.lock().resources.values().cloned().collect()
    }

    /// How many resources exist.
    pub fn count(&self) -> usize {
        self.lock().resources.len()
    }

    pub fn get(&self, physical_id: &str) -> Option<LiveResource> {
        self.lock().resources.get(physical_id).cloned()
    }

    /// Make or overwrite a resource behind cairn's back (drift, or a resource that exists
    /// before cairn creates it).
    pub fn insert(&self, resource: LiveResource) {
        self.lock().resources.insert(resource.physical_id.clone(), resource);
    }

    /// Delete a resource behind cairn's back.
    pub fn remove(&self, physical_id: &str) -> Option<LiveResource> {
        self.lock().resources.remove(physical_id)
    }

    /// Every call so far, in the order the calls started: the operation and the logical id.
    pub fn call_log(&self) -> Vec<(Op, String)> {
        self.lock().log.clone()
    }

    /// How many calls of one operation were made.
    pub fn calls(&self, op: Op) -> usize {
        self.lock().log.iter().filter(|(o, _)| *o == op).count()
    }

    /// The highest number of calls that were in flight at once.
    pub fn max_concurrency(&self) -> usize {
        self.lock().max_in_flight
    }

    /// Forget the call log and the concurrency high-water mark (not the resources).
    pub fn clear_log(&self) {
        let mut st = self.lock();
        st.log.clear();
        st.max_in_flight = st.in_flight;
    }

    /// Make the next `op` on `logical_id` fail with code `InjectedFailure`, without effect.
    pub fn fail_next(&self, op: Op, logical_id: &str) {
        let error = injected(op, logical_id);
        self.push_fault(op, logical_id, error, false);
    }

    /// Make the next `op` on `logical_id` fail with `error` (e.g. a retryable throttling
    /// error), without effect.
    pub fn fail_next_with(&self, op: Op, logical_id: &str, error: ProviderError) {
        self.push_fault(op, logical_id, error, false);
    }

    /// Make the next `op` on `logical_id` take effect and then fail with code
    /// `InjectedFailure`, as when the response to a call that succeeded is lost.
    pub fn fail_next_after_effect(&self, op: Op, logical_id: &str) {
        let error = injected(op, logical_id);
        self.push_fault(op, logical_id, error, true);
    }

    /// Fail (with code `InjectedFailure`, without effect) every call for which
    /// `predicate(op, logical_id)` is true, until [`TestCloud::clear_failures`].
    pub fn fail_when(&self, predicate: impl Fn(Op, &str) -> bool + Send + Sync + 'static) {
        self.lock().fail_when = Some(Arc::new(predicate));
    }

    /// Drop every pending injected failure and the predicate.
    pub fn clear_failures(&self) {
        let mut st = self.lock();
        st.faults.clear();
        st.nth_faults.clear();
        st.panics.clear();
        st.fail_when = None;
    }

    /// Fail the `n`-th (0-based) mutating call (create, update, delete, set, unset) that
    /// `logical_id` makes from now on, with code `InjectedFailure`: without effect, or,
    /// when `after_effect`, after it took effect (its answer lost).
    pub fn fail_nth_mutation(&self, logical_id: &str, n: usize, after_effect: bool) {
        self.lock().nth_faults.push(NthFault { logical_id: logical_id.to_string(), skip: n, after_effect });
    }

    /// Make the next `op` on `logical_id` panic (a bug in a provider).
    pub fn panic_next(&self, op: Op, logical_id: &str) {
        self.lock().panics.push((op, logical_id.to_string()));
    }

    fn push_fault(&self, op: Op, logical_id: &str, error: ProviderError, after_effect: bool) {
        self.lock().faults.push(Fault { op, logical_id: logical_id.to_string(), error, after_effect });
    }

    fn lock(&self) -> MutexGuard<'_, CloudState> {
        // A test that panicked while holding the lock must not hide other failures.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Log a call and count it in flight until the guard drops.
    pub(crate) fn start_call(&self, op: Op, logical_id: &str) -> InFlight {
        let mut st = self.lock();
        st.log.push((op, logical_id.to_string()));
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        InFlight { cloud: self.clone() }
    }

    /// Run a call's effect on the resources, unless an injected failure says otherwise.
    pub(crate) fn apply<T>(
        &self,
        op: Op,
        logical_id: &str,
        effect: impl FnOnce(&mut Resources) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        // The predicate runs without the lock held, so that it may inspect the cloud.
        let predicate = self.lock().fail_when.clone();
        if predicate.is_some_and(|p| p(op, logical_id)) {
            return Err(injected(op, logical_id));
        }
        let mut st = self.lock();
        if let Some(i) = st.panics.iter().position(|(o, id)| *o == op && id == logical_id) {
            st.panics.remove(i);
            drop(st);
            panic!("injected panic in {op} of {logical_id}");
        }
        let mut fault =
            st.faults.iter().position(|f| f.op == op && f.logical_id == logical_id).map(|i| st.faults.remove(i));
        if fault.is_none() && matches!(op, Op::Create | Op::Update | Op::Delete | Op::Set | Op::Unset) {
            if let Some(i) = st.nth_faults.iter().position(|f| f.logical_id == logical_id) {
                if st.nth_faults[i].skip == 0 {
                    let f = st.nth_faults.remove(i);
                    fault = Some(Fault {
                        op,
                        logical_id: f.logical_id,
                        error: injected(op, logical_id),
                        after_effect: f.after_effect,
                    });
                } else {
                    st.nth_faults[i].skip -= 1;
                }
            }
        }
        match fault {
            None => effect(&mut st.resources),
            Some(Fault { error, after_effect: false, .. }) => Err(error),
            Some(Fault { error, after_effect: true, .. }) => {
                // The effect's own error, if any, is lost with the response.
                let _ = effect(&mut st.resources);
                Err(error)
            }
        }
    }
}

fn injected(op: Op, logical_id: &str) -> ProviderError {
    ProviderError::with_code("InjectedFailure", format!("injected failure of {op} {logical_id}"))
}

/// A call in flight; dropping it (also when the call's future is cancelled) ends it.
pub(crate) struct InFlight {
    cloud: TestCloud,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.cloud.lock().in_flight -= 1;
    }
}
