//! Reading the live resources: `cairn refresh`, `preview --refresh` and `up --refresh`.
//!
//! - [`bounded`] runs one call per item, at most `parallel` in flight, each a task of its
//!   own (refresh reads; reusable for any set of independent read-only calls).
//! - [`refresh`] reads every resource of the state (in parallel, bounded by `--parallel`)
//!   and compares what AWS returns with what cairn recorded. Only `read` is called: reading
//!   never mutates (invariant 10). Write-only properties and values holding a secret are
//!   never compared (AWS does not return them, or returns them in another form).
//! - What differs is [`Drift`]: properties changed outside cairn (built with
//!   [`crate::plan::diff_properties`], so a drift change has the same shape as a plan
//!   change: old = what cairn recorded, new = what AWS holds), or the resource deleted
//!   outside cairn. The refreshed state takes the live values, so a plan made against it
//!   shows what `up` does about the drift: an update back to the template, a create for a
//!   deleted resource.
//! - [`mark_drift`] puts the drift on the plan's steps, for previews to show.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::exec::{Event, ExecOptions, Observer, StepError};
use crate::graph::DesiredGraph;
use crate::plan::{coerce, diff_properties, provider_json, Action, Plan, PropertyChange, Step};
use crate::provider::Registry;
use crate::schema::same_as_live;
use crate::state::{StackState, StateChange};
use crate::value::Value;

/// A call run by [`bounded`] panicked: its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the call panicked: {0}")]
pub struct Panicked(pub String);

/// Run `call` on every item, each as a tokio task of its own, with at most `parallel`
/// (at least 1) in flight; the results come back in the items' order. A call that panics
/// gives [`Panicked`] for its item only; the others still run. Dropping the returned
/// future aborts the calls in flight.
pub async fn bounded<I, T, F, Fut>(
    items: impl IntoIterator<Item = I>,
    parallel: usize,
    mut call: F,
) -> Vec<Result<T, Panicked>>
where
    F: FnMut(I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let parallel = parallel.max(1);
    let mut pending = items.into_iter().enumerate();
    let mut results: Vec<Option<Result<T, Panicked>>> = Vec::new();
    let mut running: JoinSet<T> = JoinSet::new();
    let mut index_of: HashMap<tokio::task::Id, usize> = HashMap::new();
    loop {
        while running.len() < parallel {
            let Some((i, item)) = pending.next() else { break };
            results.push(None);
            let handle = running.spawn(call(item));
            index_of.insert(handle.id(), i);
        }
        let Some(joined) = running.join_next_with_id().await else { break };
        let (i, result) = match joined {
            Ok((id, value)) => (index_of.remove(&id), Ok(value)),
            Err(e) => {
                let i = index_of.remove(&e.id());
                let message = if e.is_panic() {
                    crate::exec::panic_message(e.into_panic().as_ref())
                } else {
                    "cancelled".to_string()
                };
                (i, Err(Panicked(message)))
            }
        };
        let i = i.expect("every task's id is recorded when it is spawned");
        results[i] = Some(result);
    }
    results.into_iter().map(|r| r.expect("every task was joined")).collect()
}

/// What changed outside cairn about one resource.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Drift {
    /// Properties changed: `old` is what cairn recorded, `new` what AWS holds (`None`: the
    /// setting is gone).
    Changed { changes: Vec<PropertyChange> },
    /// The resource no longer exists.
    Deleted,
}

/// What [`refresh`] found.
#[derive(Clone, Debug, Default)]
pub struct Refreshed {
    /// The state as AWS holds it: resources deleted outside cairn forgotten, changed
    /// properties (and attributes) taking the live values.
    pub state: StackState,
    /// The changes that take the state that was read to [`Refreshed::state`], to record.
    pub changes: Vec<StateChange>,
    /// Drift by logical id.
    pub drift: BTreeMap<String, Drift>,
    /// How many resources were read.
    pub read: usize,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Deleted => f.write_str("deleted outside cairn"),
            Drift::Changed { changes } => {
                let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
                write!(f, "changed outside cairn: {}", names.join(", "))
            }
        }
    }
}

/// Read every resource of `state` (at most `opts.parallel` reads in flight) and compare
/// with what cairn recorded. Calls only `read`. `observer` hears one
/// [`Event::Recovered`] per drifted resource. The first read that fails (in id order)
/// fails the refresh.
pub async fn refresh(
    state: &StackState,
    registry: &Registry,
    opts: &ExecOptions,
    observer: &dyn Observer,
) -> Result<Refreshed, StepError> {
    // Resources of a type this build does not know are left as they are.
    let known: Vec<_> =
        state.resources.values().filter_map(|r| registry.get(&r.type_name).map(|t| (r, t.clone()))).collect();
    let reads = bounded(known.iter().map(|(r, t)| (*r, t.clone())), opts.parallel, |(r, t)| {
        let ctx = opts.ctx(&r.id, &r.type_name, &r.region, &r.name_seed);
        let json = provider_json(t.schema(), &r.inputs);
        let physical_id = r.physical_id.clone();
        async move { t.read(&ctx, &physical_id, &json).await }
    })
    .await;

    let mut out = Refreshed { state: state.clone(), read: known.len(), ..Default::default() };
    for ((r, t), read) in known.iter().zip(reads) {
        let fail = |message: String, code: Option<&str>| {
            StepError::engine(&r.id, &r.type_name, Action::Same, code, format!("refresh: {message}"))
        };
        let read = match read {
            Ok(Ok(read)) => read,
            Ok(Err(mut p)) => {
                p.message = format!("refresh: {}", p.message);
                return Err(StepError::provider(&r.id, &r.type_name, Action::Same, p));
            }
            Err(panicked) => return Err(fail(panicked.to_string(), Some("Panicked"))),
        };
        let Some(read) = read else {
            observer.event(&Event::Recovered {
                id: r.id.clone(),
                type_name: r.type_name.clone(),
                what: "deleted outside cairn; forgotten".into(),
            });
            out.changes.push(StateChange::Remove { id: r.id.clone() });
            out.drift.insert(r.id.clone(), Drift::Deleted);
            continue;
        };
        // Compare only what cairn set and AWS can give back: not write-only properties,
        // not values holding a secret.
        let schema = t.schema();
        let recorded: BTreeMap<String, Value> = r
            .inputs
            .as_map()
            .into_iter()
            .flatten()
            .filter(|(k, v)| !schema.is_write_only(k) && !v.contains_secret())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let live_all = Value::from_json(&read.properties);
        let live: BTreeMap<String, Value> = live_all
            .as_map()
            .into_iter()
            .flatten()
            .filter(|(k, _)| recorded.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Nested write-only and read-only paths are not compared either (schema facts).
        let json_of = |m: &BTreeMap<String, Value>, k: &str| m.get(k).map(|v| coerce(schema, k, v));
        let changes: Vec<PropertyChange> =
            diff_properties(t.as_ref(), &Value::Map(recorded.clone()), &Value::Map(live.clone()))
                .into_iter()
                .filter(|c| {
                    !same_as_live(
                        t.as_ref(),
                        &c.name,
                        json_of(&recorded, &c.name).as_ref(),
                        json_of(&live, &c.name).as_ref(),
                    )
                })
                .collect();
        let mut inputs = r.inputs.as_map().cloned().unwrap_or_default();
        let mut drift_values = BTreeMap::new();
        for c in &changes {
            match &c.new {
                Some(v) => {
                    // What AWS holds, with the user's nested write-only values kept.
                    let desired = json_of(&recorded, &c.name).unwrap_or(serde_json::Value::Null);
                    let v = Value::from_json(&schema.with_write_only(&c.name, &desired, &coerce(schema, &c.name, v)));
                    inputs.insert(c.name.clone(), v.clone());
                    drift_values.insert(c.name.clone(), v);
                }
                None => {
                    inputs.remove(&c.name);
                    drift_values.insert(c.name.clone(), Value::Null);
                }
            }
        }
        let mut n = (*r).clone();
        n.attributes = read.data.attributes;
        n.drift = if drift_values.is_empty() { None } else { Some(Value::Map(drift_values)) };
        if !changes.is_empty() {
            n.inputs = Value::Map(inputs);
            observer.event(&Event::Recovered {
                id: r.id.clone(),
                type_name: r.type_name.clone(),
                what: "changed outside cairn (drift recorded)".into(),
            });
            out.drift.insert(r.id.clone(), Drift::Changed { changes });
        }
        if &n != *r {
            out.changes.push(StateChange::Put { state: n });
        }
    }
    for c in &out.changes {
        out.state.apply(c);
    }
    Ok(out)
}

/// Put the drift `refreshed` found on the steps of `plan` (made against
/// `refreshed.state`). Drift of a resource the plan has no step for (removed from the
/// template and deleted outside cairn, or not selected by `--target`) gets a `Same` step
/// that only says so: `up --refresh` records it and calls nothing for it. `before` is the
/// state that was refreshed.
pub fn mark_drift(plan: &mut Plan, refreshed: &Refreshed, before: &StackState, graph: &DesiredGraph) {
    let mut unplanned = Vec::new();
    for (id, drift) in &refreshed.drift {
        match plan.steps.iter_mut().find(|s| &s.id == id && !s.retired) {
            Some(step) => step.drift = Some(drift.clone()),
            None => {
                let Some(r) = before.resources.get(id) else { continue };
                let reason =
                    if graph.resources.contains_key(id) { "not selected by --target" } else { crate::plan::REMOVED };
                unplanned.push(Step {
                    id: id.clone(),
                    type_name: r.type_name.clone(),
                    action: Action::Same,
                    parent: r.parent.clone(),
                    changes: Vec::new(),
                    replace_mode: None,
                    reason: Some(reason.to_string()),
                    retain: false,
                    snapshot: false,
                    retired: false,
                    inputs: None,
                    region: Some(r.region.clone()),
                    physical_id: Some(r.physical_id.clone()),
                    drift: Some(drift.clone()),
                    protected: None,
                });
            }
        }
    }
    plan.steps.extend(unplanned);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bounded_keeps_order_and_the_limit() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = bounded(0..50u64, 7, |i| {
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later items finish first: the order of results must not follow it.
                tokio::time::sleep(Duration::from_millis(100 - i)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        let values: Vec<u64> = out.into_iter().map(|r| r.expect("no panic")).collect();
        assert_eq!(values, (0..50).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 7);
    }

    #[tokio::test]
    async fn a_panicking_call_fails_only_its_item() {
        let out = bounded(0..5, 2, |i| async move {
            if i == 3 {
                panic!("read of {i} exploded");
            }
            i
        })
        .await;
        assert_eq!(out[0], Ok(0));
        assert_eq!(out[3], Err(Panicked("read of 3 exploded".into())));
        assert_eq!(out[4], Ok(4));
    }

    #[tokio::test]
    async fn nothing_to_do_and_a_zero_limit() {
        let out: Vec<Result<u8, Panicked>> = bounded(Vec::<u8>::new(), 4, |i| async move { i }).await;
        assert!(out.is_empty());
        let out = bounded([1, 2, 3], 0, |i| async move { i + 1 }).await;
        assert_eq!(out, vec![Ok(2), Ok(3), Ok(4)]);
    }
}
