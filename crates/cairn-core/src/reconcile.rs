//! What the state records when AWS does not hold what was asked for (invariant 9).
//!
//! After a create or update fails part-way, and when crash recovery finds an operation
//! that began but never finished, the engine reads the resource back and records what it
//! reads, not what it wanted: the next plan then shows exactly what is still missing.
//! [`recorded_inputs`] turns a read into recorded inputs in the user's own terms.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::plan::coerce;
use crate::provider::ResourceType;
use crate::schema::same_as_live;
use crate::value::Value;

/// The inputs to record for a resource whose live properties are `live` (from `read`),
/// given the `desired` properties and, for an update, the `previous` recorded ones.
///
/// - A property AWS holds as desired keeps its desired form (and its secret marker).
/// - One AWS holds differently records the live value (sealed as a secret when the
///   desired value was one: a secret never lands in the state in plain text).
/// - One AWS does not hold is left out (the next plan adds it); one that the previous
///   inputs had and AWS still holds is recorded (the next plan removes it).
/// - Write-only paths are never read back: a property write-only as a whole keeps its
///   desired value, and nested write-only paths are left out of the comparison and keep
///   their desired values when the live value is recorded ([`crate::schema::same_as_live`]).
pub fn recorded_inputs(t: &dyn ResourceType, desired: &Value, previous: Option<&Value>, live: &Json) -> Value {
    let schema = t.schema();
    let empty = BTreeMap::new();
    let live = Value::from_json(live);
    let live_map = live.as_map().unwrap_or(&empty);
    let desired_map = desired.as_map().unwrap_or(&empty);
    let mut out = BTreeMap::new();
    for (k, d) in desired_map {
        if schema.is_write_only(k) {
            out.insert(k.clone(), d.clone());
            continue;
        }
        let Some(l) = live_map.get(k) else { continue };
        let (dj, lj) = (coerce(schema, k, d), coerce(schema, k, l));
        if same_as_live(t, k, Some(&dj), Some(&lj)) {
            out.insert(k.clone(), d.clone());
        } else {
            let l = Value::from_json(&schema.with_write_only(k, &dj, &lj));
            if d.contains_secret() {
                out.insert(k.clone(), Value::secret(l));
            } else {
                out.insert(k.clone(), l);
            }
        }
    }
    for (k, p) in previous.and_then(Value::as_map).unwrap_or(&empty) {
        if out.contains_key(k) || desired_map.contains_key(k) || schema.is_write_only(k) {
            continue;
        }
        if let Some(l) = live_map.get(k) {
            let v = if p.contains_secret() { Value::secret(l.clone()) } else { l.clone() };
            out.insert(k.clone(), v);
        }
    }
    Value::Map(out)
}

/// A read-back after a failed or interrupted create or update: the inputs to record
/// ([`recorded_inputs`]) and whether AWS holds all of `desired` (the operation took
/// effect and only its answer was lost: the step is truthfully done).
pub fn read_back(t: &dyn ResourceType, desired: &Value, previous: Option<&Value>, live: &Json) -> (Value, bool) {
    let inputs = recorded_inputs(t, desired, previous, live);
    let complete = crate::plan::diff_properties(t, &inputs, desired).is_empty();
    (inputs, complete)
}

/// The inputs to record for a resource that exists but could not be read: what its create
/// fixed for good (create-only properties), so that it is tracked, never leaked, and the
/// next plan applies the rest.
pub fn create_only_inputs(t: &dyn ResourceType, desired: &Value) -> Value {
    let schema = t.schema();
    let map = desired
        .as_map()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| schema.create_only.contains(k) || schema.name_property.as_ref() == Some(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Map(map)
}
