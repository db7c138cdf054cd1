//! End-to-end runs of examples/hello: up, no perpetual diff, a changed parameter gives
//! exactly the expected update or replacement, destroy leaves an empty state.

mod common;

use common::Proj;
use serde_json::{json, Value};

/// The changed steps of a `preview --json`: (id, action).
fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] != "same")
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["action"].as_str().unwrap().to_string()))
        .collect()
}

fn step<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {plan:#}"))
}

fn resource_ids(state: &Value) -> Vec<String> {
    let mut v: Vec<String> = state["resources"].as_object().unwrap().keys().cloned().collect();
    v.sort();
    v
}

#[test]
fn development_lifecycle() {
    let p = Proj::hello();
    p.run(&["stack", "select", "development"]).ok();
    p.run(&["up", "--yes"]).ok();
    assert_eq!(resource_ids(&p.state("development")), ["Settle", "Suffix", "Token.Value"]);
    // No perpetual diff.
    p.run(&["preview", "--expect-no-changes"]).ok();
    let plan = p.run(&["preview", "--json"]).ok().json();
    assert_eq!(plan["changes"], json!(false));
    assert!(changes(&plan).is_empty());

    // A create-only property of a component's resource: exactly one replacement.
    let old = p.state("development")["resources"]["Token.Value"]["physical_id"].clone();
    p.run(&["config", "set", "TokenLength", "20"]).ok();
    p.run(&["preview", "--expect-no-changes"]).code(3);
    let plan = p.run(&["preview", "--json"]).ok().json();
    assert_eq!(changes(&plan), [("Token.Value".to_string(), "replace".to_string())]);
    let s = step(&plan, "Token.Value");
    assert_eq!(s["component"], "Token");
    assert_eq!(
        s["changes"],
        json!([{"property": "Length", "old": "12", "new": "20", "forces_replacement": true, "forced_by": ["Length"],
                "details": [{"path": "", "kind": "update", "old": "12", "new": "20"}]}])
    );
    assert_eq!(plan["summary"], json!({"same": 2, "replace": 1}));
    p.run(&["up", "--yes"]).ok();
    p.run(&["preview", "--expect-no-changes"]).ok();
    let state = p.state("development");
    assert_eq!(resource_ids(&state), ["Settle", "Suffix", "Token.Value"]);
    assert_ne!(state["resources"]["Token.Value"]["physical_id"], old);
    assert_eq!(state.get("pending_deletes").and_then(Value::as_array).map_or(0, Vec::len), 0);

    // A property that is not create-only: an update in place.
    p.run(&["config", "set", "Pause", "10ms"]).ok();
    let plan = p.run(&["preview", "--json"]).ok().json();
    assert_eq!(changes(&plan), [("Settle".to_string(), "update".to_string())]);
    assert_eq!(
        step(&plan, "Settle")["changes"],
        json!([{"property": "CreateDuration", "old": "0s", "new": "10ms", "forces_replacement": false,
                "details": [{"path": "", "kind": "update", "old": "0s", "new": "10ms"}]}])
    );
    let settle = p.state("development")["resources"]["Settle"]["physical_id"].clone();
    p.run(&["up", "--yes"]).ok();
    p.run(&["preview", "--expect-no-changes"]).ok();
    assert_eq!(p.state("development")["resources"]["Settle"]["physical_id"], settle, "an update kept its physical id");

    // A parameter that two resources' properties use: the suffix's keepers change too.
    p.run(&["config", "set", "Environment", "staging"]).ok();
    let plan = p.run(&["preview", "--json"]).ok().json();
    assert_eq!(changes(&plan), [("Token.Value".to_string(), "replace".to_string())]);
    assert_eq!(step(&plan, "Token.Value")["changes"][0]["property"], "Keepers");
    assert_eq!(plan["outputs"]["environment"], "staging");

    // Destroy: an empty state.
    p.run(&["destroy", "--yes"]).ok();
    let export = p.run(&["stack", "export"]).ok().json();
    assert_eq!(export["state"]["resources"], json!({}));
    assert_eq!(export["state"]["outputs"], json!({}));
    p.run(&["destroy", "--yes"]).ok();
}

#[test]
fn production_retain_is_forgotten_on_destroy() {
    let p = Proj::hello();
    p.run(&["-s", "production", "up", "--yes"]).ok();
    let state = p.state("production");
    assert_eq!(resource_ids(&state), ["AuditSuffix", "Settle", "Suffix", "Token.Value"]);
    assert_eq!(state["resources"]["AuditSuffix"]["deletion_policy"], "Retain");
    p.run(&["-s", "production", "preview", "--expect-no-changes"]).ok();
    let out = p.run(&["-s", "production", "destroy", "--yes"]).ok();
    let line = out.stdout.lines().find(|l| l.contains("AuditSuffix")).unwrap();
    assert!(line.contains("kept in AWS"), "{out}");
    assert!(out.stderr.contains("kept in AWS"), "{out}");
    let export = p.run(&["-s", "production", "stack", "export"]).ok().json();
    assert_eq!(export["state"]["resources"], json!({}));
    let last = p.run(&["-s", "production", "stack", "history", "--json"]).ok().json();
    assert_eq!(last.as_array().unwrap().last().unwrap()["result"], "succeeded");
}

#[test]
fn condition_change_removes_a_resource() {
    // production -> staging: the conditional AuditSuffix (Retain) leaves the stack.
    let p = Proj::hello();
    p.run(&["-s", "production", "up", "--yes"]).ok();
    p.run(&["-s", "production", "config", "set", "Environment", "staging"]).ok();
    let plan = p.run(&["-s", "production", "preview", "--json"]).ok().json();
    let s = step(&plan, "AuditSuffix");
    assert_eq!(s["action"], "delete");
    assert_eq!(s["retain"], json!(true));
    assert!(plan["outputs"].get("audit").is_none());
    p.run(&["-s", "production", "up", "--yes"]).ok();
    assert!(p.state("production")["resources"].get("AuditSuffix").is_none());
    p.run(&["-s", "production", "preview", "--expect-no-changes"]).ok();
}

#[test]
fn targeted_replace() {
    let p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    let plan = p.run(&["-s", "development", "preview", "--json", "--replace", "Suffix"]).ok().json();
    let ch = changes(&plan);
    assert_eq!(ch[0], ("Suffix".to_string(), "replace".to_string()));
    // Whatever reads the suffix is replaced or updated as a consequence, never left stale.
    assert!(ch.iter().any(|(id, _)| id == "Token.Value"), "{plan:#}");
}

#[test]
fn rollback_restores_an_earlier_configuration() {
    let p = Proj::hello();
    p.run(&["stack", "select", "development"]).ok();
    p.run(&["up", "--yes"]).ok();
    let v1_token = p.state("development")["resources"]["Token.Value"].clone();
    p.run(&["config", "set", "TokenLength", "20"]).ok();
    p.run(&["up", "--yes"]).ok();
    assert_eq!(p.state("development")["resources"]["Token.Value"]["inputs"]["Length"], "20");

    // Version 1 applied TokenLength 12: rolling back previews a replacement, then applies it.
    let out = p.run(&["stack", "rollback", "--to", "1", "--yes"]).ok();
    assert!(out.stdout.contains("Rollback of hello/development"), "{}", out.stdout);
    assert!(out.stdout.contains("Token.Value") && out.stdout.contains("replace"), "{}", out.stdout);
    let token = &p.state("development")["resources"]["Token.Value"];
    assert_eq!(token["inputs"]["Length"], v1_token["inputs"]["Length"]);
    assert_ne!(token["physical_id"], v1_token["physical_id"], "a new value of the old length");

    // The history says what happened; the project's files are unchanged, so `up` rolls forward.
    let history = p.run(&["stack", "history", "--json"]).ok().json();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["rolled_back_to"].as_u64()), (Some("rollback"), Some(1)));
    assert!(p.read("stacks/development.yaml").contains("TokenLength: 20"));
    let plan = p.run(&["preview", "--json"]).ok().json();
    assert_eq!(changes(&plan), [("Token.Value".to_string(), "replace".to_string())]);

    // A version that applied no template, or none at all, is refused.
    p.run(&["destroy", "--yes"]).ok();
    let err = p.run(&["stack", "rollback", "--to", "4", "--yes"]).code(2);
    assert!(err.stderr.contains("`destroy` run"), "{}", err.stderr);
    p.run(&["stack", "rollback", "--to", "99", "--yes"]).code(2);
}
