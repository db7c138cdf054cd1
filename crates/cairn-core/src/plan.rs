//! The plan: the desired graph diffed against the stack's state, per resource.
//!
//! Resources are visited in dependency order, each evaluated against what its
//! dependencies will be after the run: a resource that stays the same (or is updated in
//! place) keeps its known values; one that will be created or replaced is `Unknown`
//! ("known after up"). A changed create-only property (per the type's schema) means
//! replacement. Planning calls no mutating API (invariant 1): it reads only the state.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::diff::Detail;
use crate::graph::{DesiredGraph, DesiredResource, ResourceLookup};
use crate::provider::{Registry, ResourceType, TypeSchema};
use crate::refresh::Drift;
use crate::state::{OutputState, ResourceState, StackState};
use crate::template::model::DeletionPolicy;
use crate::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Same,
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    /// The symbol previews show.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Same => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "+-",
            Action::Delete => "-",
        }
    }
    pub fn verb(self) -> &'static str {
        match self {
            Action::Same => "same",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplaceMode {
    /// Create the new resource, then delete the old one at the end of the run.
    CreateBeforeDelete,
    /// The physical name is fixed, so the old resource must go first.
    DeleteBeforeCreate,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PropertyChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// A create-only property, or one with a nested create-only path that changed: this
    /// change forces replacement.
    pub forces_replacement: bool,
    /// What forces the replacement: the property's name when it is create-only as a
    /// whole, else the concrete nested create-only paths that changed
    /// (`Config.Engine`, `Rules[1].Kind`). Empty when nothing does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<String>,
    /// The leaf-level changes inside the property (at least one): see [`crate::diff`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Changed properties (update, replace).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PropertyChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace_mode: Option<ReplaceMode>,
    /// Why a replace or delete happens when it is not a property (`--replace`, type
    /// changed, region changed, removed from the template).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A delete that only forgets the resource (`DeletionPolicy: Retain`); a replace that
    /// keeps the old resource (`UpdateReplacePolicy: Retain`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retain: bool,
    /// A delete that takes a final snapshot first (`DeletionPolicy: Snapshot`, or
    /// `UpdateReplacePolicy: Snapshot` for the old half of a replacement); a replace that
    /// takes one of the old resource.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
    /// For a delete of the old half of an earlier replacement.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
    /// The properties the resource will have (create, update, replace); may hold unknowns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Physical id acted on (update, replace, delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// What changed outside cairn (`--refresh` only; see [`crate::refresh::mark_drift`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// A delete, or a replacement that deletes the old resource, of a resource whose
    /// recorded inputs turn on its deletion protection: the run is refused before it
    /// changes anything ([`Plan::refusal`], invariant 11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<Protection>,
}

/// Deletion protection turned on in a resource's recorded inputs (its type's
/// [`TypeSchema::deletion_protection`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// The property that turns it on (`DeletionProtectionEnabled`).
    pub property: String,
    /// The value it has (`true`, `ACTIVE`).
    pub value: String,
    /// The value that turns it off (`false`, `INACTIVE`).
    pub off: String,
}

impl Protection {
    /// The protection the recorded inputs of `r` turn on, if any.
    pub fn of(registry: &Registry, r: &ResourceState) -> Option<Protection> {
        let property = registry.get(&r.type_name)?.schema().deletion_protection.clone()?;
        // A boolean, or an enum whose "on" is `ACTIVE` (Cognito's `DeletionProtection`): the
        // value that turns it on, and the one that turns it off.
        let (on, value, off) = match r.inputs.as_map()?.get(&property)?.reveal() {
            Value::Bool(b) => (*b, "true", "false"),
            Value::String(s) if s == "ACTIVE" => (true, "ACTIVE", "INACTIVE"),
            Value::String(s) => (s.eq_ignore_ascii_case("true"), "true", "false"),
            _ => (false, "true", "false"),
        };
        on.then(|| Protection { property, value: value.to_string(), off: off.to_string() })
    }

    /// Why cairn does not `action` (delete or replace) resource `id` (`physical_id`), and
    /// how to lift the protection; `removed`: the delete is of a resource taken out of the
    /// template (which must come back, unprotected, to be deleted).
    pub fn explain(&self, id: &str, physical_id: &str, action: Action, removed: bool) -> String {
        let consequence = match action {
            Action::Replace => "a replacement would delete it, so cairn does not replace it",
            _ => "cairn does not delete it",
        };
        let Protection { property, value, off } = self;
        let lift = if removed {
            format!(
                "it is no longer in the template: to delete it, put it back with `{property}: {off}`, run `cairn up`, then take it out again"
            )
        } else {
            format!("to delete it, set `{property}` to {off}, run `cairn up`, then run this again")
        };
        format!(
            "{id} ({physical_id}) is protected from deletion in AWS (`{property}: {value}`), and {consequence}; {lift}"
        )
    }
}

/// The reason of a delete whose resource was taken out of the template.
pub(crate) const REMOVED: &str = "removed from the template";

/// A step of a plan that would delete a protected resource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{id} ({type_name}): {} refused: DeletionProtected: {}", .action.verb(), .protection.explain(.id, .physical_id, *.action, *.removed))]
pub struct ProtectedStep {
    pub id: String,
    pub type_name: String,
    pub physical_id: String,
    /// `Delete`, or `Replace` (whose old resource would be deleted).
    pub action: Action,
    pub protection: Protection,
    /// A delete because the resource was taken out of the template.
    pub removed: bool,
}

/// A run refused before it changes anything: its plan would delete (or replace) resources
/// protected from deletion in AWS. Each one is named, in plan order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the run was refused and nothing was changed: {} protected from deletion in AWS ({})",
    self.how_many(),
    .steps.iter().map(|s| format!("`{}`", s.id)).collect::<Vec<_>>().join(", ")
)]
pub struct Refused {
    pub steps: Vec<ProtectedStep>,
}

impl Refused {
    /// `1 resource is`, `2 resources are`: the subject of the messages that say so.
    pub fn how_many(&self) -> String {
        match self.steps.len() {
            1 => "1 resource is".to_string(),
            n => format!("{n} resources are"),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Every resource of the desired graph in dependency order (with `Same` ones), then
    /// deletes in reverse dependency order.
    pub steps: Vec<Step>,
    /// Outputs as they will be (unknown parts marked).
    pub outputs: BTreeMap<String, OutputState>,
    /// Whether the outputs differ from the state's.
    pub outputs_changed: bool,
    /// Whether resources that stay the same have new recorded facts (`DeletionPolicy`,
    /// dependencies, enclosing component): no provider call, but the run must record them
    /// (a `Retain` added now must hold when the resource is removed later).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub state_changed: bool,
}

impl Plan {
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut m = BTreeMap::new();
        for s in &self.steps {
            *m.entry(s.action).or_insert(0) += 1;
        }
        m
    }
    /// True when nothing would change (drift found by `--refresh` is a change: `up` records it).
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(|s| s.action == Action::Same && s.drift.is_none())
            && !self.outputs_changed
            && !self.state_changed
    }
    pub fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.action != Action::Same)
    }
    /// When steps would delete (or replace) resources protected from deletion in AWS
    /// (marked by [`plan_up`] and [`plan_destroy`]): the whole run is refused, every such
    /// resource named. `up`, `destroy` and `stack rollback` check this before asking or
    /// applying anything, and [`crate::engine::Session::apply`] refuses such a plan.
    pub fn refusal(&self) -> Option<Refused> {
        let steps: Vec<ProtectedStep> = self
            .steps
            .iter()
            .filter_map(|s| {
                Some(ProtectedStep {
                    id: s.id.clone(),
                    type_name: s.type_name.clone(),
                    physical_id: s.physical_id.clone().unwrap_or_default(),
                    action: s.action,
                    protection: s.protected.clone()?,
                    removed: s.reason.as_deref() == Some(REMOVED),
                })
            })
            .collect();
        (!steps.is_empty()).then_some(Refused { steps })
    }
}

#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Only these resources (full ids or component ids) and what they depend on.
    pub targets: Vec<String>,
    /// Replace these even if unchanged.
    pub replace: Vec<String>,
}

/// What a resource's values will be after the run, as far as known now.
pub struct PlannedValues<'a> {
    pub state: &'a StackState,
    /// Ids whose values become unknown (created or replaced), or whose volatile
    /// attributes do (updated).
    pub unknown: HashMap<String, Action>,
    pub registry: &'a Registry,
}

impl ResourceLookup for PlannedValues<'_> {
    fn physical_id(&self, id: &str) -> Value {
        match (self.unknown.get(id), self.state.resources.get(id)) {
            (Some(Action::Create | Action::Replace), _) | (_, None) => Value::Unknown,
            (_, Some(r)) => Value::String(r.physical_id.clone()),
        }
    }
    fn attribute(&self, id: &str, attribute: &str) -> Value {
        let Some(r) = self.state.resources.get(id) else { return Value::Unknown };
        match self.unknown.get(id) {
            Some(Action::Create | Action::Replace) => Value::Unknown,
            Some(Action::Update) => {
                let volatile = self
                    .registry
                    .get(&r.type_name)
                    .is_some_and(|t| t.schema().volatile_attributes.iter().any(|a| a == attribute));
                if volatile {
                    Value::Unknown
                } else {
                    r.attributes.get(attribute).cloned().unwrap_or(Value::Unknown)
                }
            }
            _ => r.attributes.get(attribute).cloned().unwrap_or(Value::Unknown),
        }
    }
}

/// Compare desired properties with a resource's state: the changed top-level properties,
/// each with its leaf-level details. Values are compared through
/// [`crate::schema::same_property`] (schema defaults and set-like lists normalised, then the
/// type's `equivalent`); a change replaces when the property is create-only or a nested
/// create-only path under it changed.
pub fn diff_properties(t: &dyn ResourceType, old: &Value, new: &Value) -> Vec<PropertyChange> {
    let schema = t.schema();
    let empty = BTreeMap::new();
    let old_m = old.as_map().unwrap_or(&empty);
    let new_m = new.as_map().unwrap_or(&empty);
    let keys: BTreeSet<&String> = old_m.keys().chain(new_m.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (o, n) = (old_m.get(k), new_m.get(k));
        let same = match (o, n) {
            (None, None) => true,
            (_, Some(n)) if n.contains_unknown() => false,
            _ => {
                let (oj, nj) = (o.map(|o| coerce(schema, k, o)), n.map(|n| coerce(schema, k, n)));
                crate::schema::same_property(t, k, oj.as_ref(), nj.as_ref())
                    && o.is_some_and(Value::contains_secret) == n.is_some_and(Value::contains_secret)
            }
        };
        if !same {
            let forced_by = if schema.create_only.iter().any(|c| c == k) {
                vec![k.clone()]
            } else {
                let (oj, nj) = (
                    o.map(|o| coerce_marking_unknowns(schema, k, o)),
                    n.map(|n| coerce_marking_unknowns(schema, k, n)),
                );
                schema.create_only_changes(k, oj.as_ref(), nj.as_ref())
            };
            out.push(PropertyChange {
                name: k.clone(),
                old: o.cloned(),
                new: n.cloned(),
                forces_replacement: !forced_by.is_empty(),
                forced_by,
                details: without_defaults(schema, k, crate::diff::property(k, o, n, &schema.unordered_lists)),
            });
        }
    }
    out
}

/// The details without a value added or removed at its schema default (the same as no
/// value), unless nothing else is left.
fn without_defaults(
    schema: &TypeSchema,
    property: &str,
    details: Vec<crate::diff::Detail>,
) -> Vec<crate::diff::Detail> {
    if schema.defaults.is_empty() {
        return details;
    }
    let at_default = |d: &crate::diff::Detail| {
        let value = match d.kind {
            crate::diff::Kind::Add => d.new.as_ref(),
            crate::diff::Kind::Delete => d.old.as_ref(),
            crate::diff::Kind::Update => None,
        };
        let path = if d.path.is_empty() || d.path.starts_with('[') {
            format!("{property}{}", d.path)
        } else {
            format!("{property}.{}", d.path)
        };
        value.and_then(Value::to_json).is_some_and(|v| schema.is_default(&crate::schema::schema_path_of(&path), &v))
    };
    if details.iter().all(at_default) {
        return details;
    }
    details.into_iter().filter(|d| !at_default(d)).collect()
}

/// [`coerce`], with each unknown value (known after up) as a string no real value holds,
/// so that an unknown value at a create-only path counts as changed and a known one
/// elsewhere in the property is still compared.
fn coerce_marking_unknowns(schema: &TypeSchema, key: &str, v: &Value) -> serde_json::Value {
    fn mark(v: &Value) -> Value {
        match v {
            Value::Unknown => Value::String("\u{0}(known after up)".to_string()),
            Value::List(l) => Value::List(l.iter().map(mark).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), mark(x))).collect()),
            Value::Secret(x) => mark(x),
            other => other.clone(),
        }
    }
    if v.contains_unknown() {
        coerce(schema, key, &mark(v))
    } else {
        coerce(schema, key, v)
    }
}

/// A property's JSON as the provider receives it: top-level scalars coerced to the
/// schema's type (CloudFormation passes parameters as strings).
pub fn coerce(schema: &TypeSchema, key: &str, v: &Value) -> serde_json::Value {
    let j = v.to_json().unwrap_or(serde_json::Value::Null);
    match (schema.properties.get(key).copied(), &j) {
        (Some("integer"), serde_json::Value::String(s)) => s.trim().parse::<i64>().map(Into::into).unwrap_or(j),
        (Some("number"), serde_json::Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(serde_json::Value::Number)
            .unwrap_or(j),
        (Some("boolean"), serde_json::Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => true.into(),
            "false" => false.into(),
            _ => j,
        },
        (Some("string"), serde_json::Value::Number(n)) => n.to_string().into(),
        (Some("string"), serde_json::Value::Bool(b)) => b.to_string().into(),
        _ => j,
    }
}

/// All properties as the provider receives them.
pub fn provider_json(schema: &TypeSchema, props: &Value) -> serde_json::Value {
    match props.as_map() {
        Some(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), coerce(schema, k, v))).collect()),
        None => serde_json::Value::Object(Default::default()),
    }
}

/// Decide one desired resource's action given its evaluated properties.
pub fn decide(
    t: &dyn ResourceType,
    r: &DesiredResource,
    props: &Value,
    region: &str,
    old: Option<&ResourceState>,
    force_replace: bool,
) -> (Action, Vec<PropertyChange>, Option<ReplaceMode>, Option<String>) {
    let Some(old) = old else { return (Action::Create, Vec::new(), None, None) };
    let changes = diff_properties(t, &old.inputs, props);
    let mut reason = None;
    let replace = if old.type_name != r.type_name {
        reason = Some(format!("type changed from {}", old.type_name));
        true
    } else if old.region != region && !old.region.is_empty() && !region.is_empty() {
        // An empty region is a resource that needs none (a stack of built-in types run
        // without a region): setting one later, or dropping it, moves nothing.
        reason = Some(format!("region changed from {}", old.region));
        true
    } else if force_replace {
        reason = Some("--replace".to_string());
        true
    } else {
        changes.iter().any(|c| c.forces_replacement)
    };
    if replace {
        let schema = t.schema();
        let fixed_name = schema.name_property.as_ref().is_some_and(|p| {
            let new = props.as_map().and_then(|m| m.get(p));
            let old = old.inputs.as_map().and_then(|m| m.get(p));
            new.is_some() && (new == old || new.is_some_and(Value::contains_unknown))
        });
        let mode = if fixed_name || old.type_name != r.type_name {
            ReplaceMode::DeleteBeforeCreate
        } else {
            ReplaceMode::CreateBeforeDelete
        };
        (Action::Replace, changes, Some(mode), reason)
    } else if changes.is_empty() {
        (Action::Same, changes, None, None)
    } else {
        (Action::Update, changes, None, None)
    }
}

/// Plan an `up`.
pub fn plan_up(
    graph: &DesiredGraph,
    state: &StackState,
    registry: &Registry,
    opts: &PlanOptions,
) -> Result<Plan, Diagnostics> {
    let selected = select_targets(graph, &opts.targets)?;
    let mut values = PlannedValues { state, unknown: HashMap::new(), registry };
    let mut steps = Vec::new();
    let mut diags = Vec::new();
    let mut state_changed = false;
    for r in graph.resources.values() {
        if !selected.as_ref().is_none_or(|s| s.contains(&r.id)) {
            continue;
        }
        let t = registry.get(&r.type_name).expect("graph types are registered");
        let props = match graph.properties(r, &values) {
            Ok(p) => p,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        for f in t.check(&props) {
            let what = if f.path.is_empty() { String::new() } else { format!(" {}", f.path) };
            diags.push(Diagnostic::at(&r.span, format!("{} ({}){what}: {}", r.id, r.type_name, f.message)));
        }
        let region = match graph.region(r, &values) {
            Ok(x) => x,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let old = state.resources.get(&r.id);
        let force = opts.replace.iter().any(|x| x == &r.id || r.id.starts_with(&format!("{x}.")));
        let (action, changes, replace_mode, reason) = decide(t.as_ref(), r, &props, &region, old, force);
        if action != Action::Same {
            values.unknown.insert(r.id.clone(), action);
        } else if old
            .is_some_and(|o| o.dependencies != r.deps || o.deletion_policy != r.deletion_policy || o.parent != r.parent)
        {
            // The executor records these for `Same` steps.
            state_changed = true;
        }
        steps.push(Step {
            id: r.id.clone(),
            type_name: r.type_name.clone(),
            action,
            parent: r.parent.clone(),
            changes,
            replace_mode,
            reason,
            // A replacement keeps the old resource (`UpdateReplacePolicy: Retain`) or
            // takes its final snapshot before deleting it.
            retain: action == Action::Replace && r.update_replace_policy.keeps(),
            snapshot: action == Action::Replace && r.update_replace_policy == DeletionPolicy::Snapshot,
            retired: false,
            inputs: Some(props),
            region: Some(region),
            physical_id: old.map(|o| o.physical_id.clone()),
            drift: None,
            protected: None,
        });
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    // Deletes: in state but not desired (only when not targeting), and retired halves.
    if selected.is_none() {
        let desired: BTreeSet<&str> = graph.resources.keys().map(String::as_str).collect();
        let gone: Vec<&ResourceState> = state.resources.values().filter(|r| !desired.contains(r.id.as_str())).collect();
        steps.extend(delete_steps(gone, REMOVED));
        for r in &state.pending_deletes {
            steps.push(delete_step(r, "replaced earlier; the old resource is still to be deleted", true));
        }
    }
    mark_protected(&mut steps, state, registry);
    let outputs = graph.outputs(&values)?;
    let outputs_changed = selected.is_none() && outputs != state.outputs;
    Ok(Plan { steps, outputs, outputs_changed, state_changed })
}

/// Mark the steps that would delete a resource whose recorded inputs turn on its deletion
/// protection: a delete that is not `DeletionPolicy: Retain` (the old half of an earlier
/// replacement included), and a replacement whose `UpdateReplacePolicy` deletes (or
/// snapshots) the old resource.
fn mark_protected(steps: &mut [Step], state: &StackState, registry: &Registry) {
    for s in steps.iter_mut().filter(|s| !s.retain) {
        let recorded = match s.action {
            Action::Delete if s.retired => {
                state.pending_deletes.iter().find(|r| r.id == s.id && Some(&r.physical_id) == s.physical_id.as_ref())
            }
            Action::Delete | Action::Replace => state.resources.get(&s.id),
            _ => None,
        };
        s.protected = recorded.and_then(|r| Protection::of(registry, r));
    }
}

/// Plan a `destroy`: everything in the state, dependents first.
pub fn plan_destroy(state: &StackState, registry: &Registry, targets: &[String]) -> Plan {
    let all: Vec<&ResourceState> = state
        .resources
        .values()
        .filter(|r| targets.is_empty() || targets.iter().any(|t| &r.id == t || r.id.starts_with(&format!("{t}."))))
        .collect();
    let mut steps = delete_steps(all, "destroy");
    if targets.is_empty() {
        for r in &state.pending_deletes {
            steps.push(delete_step(r, "replaced earlier; the old resource is still to be deleted", true));
        }
    }
    mark_protected(&mut steps, state, registry);
    Plan {
        steps,
        outputs: BTreeMap::new(),
        outputs_changed: targets.is_empty() && !state.outputs.is_empty(),
        state_changed: false,
    }
}

/// The step that deletes `r`: `retired` for the old half of a replacement (never retained).
pub(crate) fn delete_step(r: &ResourceState, reason: &str, retired: bool) -> Step {
    // A retired resource records its replacement policy (`StateChange::Retire`).
    let retain = r.deletion_policy.keeps() && !retired;
    let snapshot = r.deletion_policy == DeletionPolicy::Snapshot;
    Step {
        id: r.id.clone(),
        type_name: r.type_name.clone(),
        action: Action::Delete,
        parent: r.parent.clone(),
        changes: Vec::new(),
        replace_mode: None,
        reason: Some(reason.to_string()),
        retain,
        snapshot,
        retired,
        inputs: None,
        region: Some(r.region.clone()),
        physical_id: Some(r.physical_id.clone()),
        drift: None,
        protected: None,
    }
}

/// Delete steps in reverse dependency order (by the state's recorded dependencies).
///
/// In rounds: each round deletes, in id order, every remaining resource that no remaining
/// resource depends on; when none qualifies (a cycle in a hand-edited state), the first
/// remaining id alone. Counting dependents keeps this linear in the edges.
fn delete_steps(gone: Vec<&ResourceState>, reason: &str) -> Vec<Step> {
    let mut remaining: BTreeMap<&str, &ResourceState> = gone.iter().map(|r| (r.id.as_str(), *r)).collect();
    // Each resource's distinct dependencies among those being deleted.
    let deps: BTreeMap<&str, BTreeSet<&str>> = remaining
        .iter()
        .map(|(id, r)| (*id, r.dependencies.iter().map(String::as_str).filter(|d| remaining.contains_key(d)).collect()))
        .collect();
    // How many remaining resources depend on each one.
    let mut dependents: HashMap<&str, usize> = HashMap::new();
    for ds in deps.values() {
        for d in ds {
            *dependents.entry(d).or_insert(0) += 1;
        }
    }
    let mut ready: BTreeSet<&str> = remaining.keys().copied().filter(|id| !dependents.contains_key(id)).collect();
    let mut out = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        if ready.is_empty() {
            ready.insert(*remaining.keys().next().expect("non-empty"));
        }
        let mut next = BTreeSet::new();
        for id in std::mem::take(&mut ready) {
            let r = remaining.remove(id).expect("present");
            out.push(delete_step(r, reason, false));
            for d in &deps[id] {
                if let Some(n) = dependents.get_mut(d) {
                    *n -= 1;
                    if *n == 0 && remaining.contains_key(d) {
                        next.insert(*d);
                    }
                }
            }
        }
        ready = next;
    }
    out
}

/// The ids selected by `--target` (with their dependencies), or `None` for all.
fn select_targets(graph: &DesiredGraph, targets: &[String]) -> Result<Option<BTreeSet<String>>, Diagnostics> {
    if targets.is_empty() {
        return Ok(None);
    }
    let mut sel = BTreeSet::new();
    let mut diags = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    for t in targets {
        let matched: Vec<&String> =
            graph.resources.keys().filter(|id| *id == t || id.starts_with(&format!("{t}."))).collect();
        if matched.is_empty() {
            let mut d = Diagnostic::new(format!("--target `{t}` is not a resource of this stack"), None);
            d.help = crate::diag::did_you_mean(
                t,
                graph.resources.keys().map(String::as_str).chain(graph.components.iter().map(String::as_str)),
            );
            diags.push(d);
        }
        stack.extend(matched.into_iter().cloned());
    }
    while let Some(id) = stack.pop() {
        if sel.insert(id.clone()) {
            stack.extend(graph.resources[&id].deps.iter().cloned());
        }
    }
    if diags.is_empty() {
        Ok(Some(sel))
    } else {
        Err(Diagnostics(diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn resource(id: usize, deps: &[usize]) -> ResourceState {
        ResourceState {
            id: format!("R{id}"),
            type_name: "Test::Thing".into(),
            physical_id: format!("p{id}"),
            region: "us-east-1".into(),
            inputs: Value::Null,
            attributes: BTreeMap::new(),
            dependencies: deps.iter().map(|d| format!("R{d}")).collect(),
            deletion_policy: DeletionPolicy::Delete,
            parent: None,
            name_seed: String::new(),
            drift: None,
        }
    }

    /// The order as first written (quadratic per round), as the reference.
    fn reference_order(gone: &[&ResourceState]) -> Vec<String> {
        let ids: BTreeSet<&str> = gone.iter().map(|r| r.id.as_str()).collect();
        let mut remaining: BTreeMap<&str, &ResourceState> = gone.iter().map(|r| (r.id.as_str(), *r)).collect();
        let mut out = Vec::new();
        while !remaining.is_empty() {
            let ready: Vec<&str> = remaining
                .keys()
                .filter(|id| {
                    !remaining
                        .values()
                        .any(|other| other.dependencies.iter().any(|d| d == *id) && ids.contains(other.id.as_str()))
                })
                .copied()
                .collect();
            let ready = if ready.is_empty() { vec![*remaining.keys().next().expect("non-empty")] } else { ready };
            for id in ready {
                remaining.remove(id);
                out.push(id.to_string());
            }
        }
        out
    }

    #[test]
    fn deletes_run_dependents_first() {
        let rs = [resource(0, &[]), resource(1, &[0]), resource(2, &[1, 0]), resource(3, &[])];
        let steps = delete_steps(rs.iter().collect(), "destroy");
        let order: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(order, ["R2", "R3", "R1", "R0"]);
    }

    proptest! {
        /// Same order as the reference, cycles, self-references, duplicates and
        /// dependencies outside the deleted set included.
        #[test]
        fn delete_order_matches_the_reference(edges in proptest::collection::vec(proptest::collection::vec(0usize..40, 0..4), 1..40)) {
            let rs: Vec<ResourceState> = edges.iter().enumerate().map(|(i, d)| resource(i, d)).collect();
            let gone: Vec<&ResourceState> = rs.iter().collect();
            let steps = delete_steps(gone.clone(), "destroy");
            let order: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
            prop_assert_eq!(order, reference_order(&gone));
        }
    }
}
