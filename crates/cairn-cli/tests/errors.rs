//! Exit codes and errors: confirmation, --expect-no-changes, located template errors,
//! malformed state, locks.

mod common;

use common::{write_lock, Proj};

const PARAMS: &str = "Parameters:\n  Env:\n    Type: String\n";

/// A project whose template is `PARAMS` + `rest` and whose stack sets `Env: dev`.
fn bad(rest: &str) -> Proj {
    Proj::with_template(&format!("{PARAMS}{rest}"), "parameters:\n  Env: dev\n")
}

/// `validate`, `preview` and `up --yes` all fail with exit 2 and the same located
/// error; nothing is written. Returns `validate`'s result.
#[track_caller]
fn invalid(p: &Proj) -> common::Out {
    let v = p.run(&["validate"]).code(2);
    assert!(v.stdout.is_empty(), "{v}");
    let pre = p.run(&["preview"]).code(2);
    assert_eq!(pre.stderr, v.stderr);
    let up = p.run(&["up", "--yes"]).code(2);
    assert_eq!(up.stderr, v.stderr);
    assert!(!p.join(".cairn/stacks/dev/snapshot.json").exists(), "an invalid template wrote state");
    v
}

#[test]
fn unknown_ref_with_did_you_mean() {
    let p = bad("Resources:\n  Suffix:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 6\n  Other:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 4\n      Keepers:\n        a: !Ref Sufix\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:14:17"), "{out}");
    assert!(out.stderr.contains("did you mean `Suffix`?"), "{out}");
    p.snapshot("errors_unknown_ref", &out);
}

#[test]
fn unknown_getatt_attribute() {
    let p = bad("Resources:\n  Suffix:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 6\n  Other:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 4\n      Keepers:\n        a: !GetAtt Suffix.Resutl\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:14:20"), "{out}");
    p.snapshot("errors_unknown_getatt_attribute", &out);
}

#[test]
fn unknown_names_in_outputs() {
    // Outputs are checked before anything is created, like properties.
    let p = bad("Resources:\n  Suffix:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 6\nOutputs:\n  a:\n    Value: !GetAtt Suffix.Nope\n  b:\n    Value: !Ref Sufix\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("2 errors found"), "{out}");
    p.snapshot("errors_unknown_names_in_outputs", &out);
}

#[test]
fn missing_parameter() {
    let p = bad("  Size:\n    Type: Number\nResources:\n  Suffix:\n    Type: Cairn::Random::String\n    Properties:\n      Length: !Ref Size\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:4:3"), "{out}");
    p.snapshot("errors_missing_parameter", &out);
}

#[test]
fn allowed_values_points_into_the_stack_file() {
    let p = Proj::with_template(
        "Parameters:\n  Env:\n    Type: String\n    AllowedValues: [dev, staging, production]\nResources:\n  Suffix:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 6\n",
        "region: eu-west-1\nparameters:\n  Env: prod\n",
    );
    let out = invalid(&p);
    assert!(out.stderr.contains("stacks/dev.yaml:3:8"), "{out}");
    p.snapshot("errors_allowed_values", &out);
}

#[test]
fn dependency_cycle() {
    let p = bad(concat!(
        "Resources:\n",
        "  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 5\n      Keepers: {a: !GetAtt B.Result}\n",
        "  B:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 5\n      Keepers: {a: !Ref C}\n",
        "  C:\n    Type: Cairn::Random::String\n    DependsOn: A\n    Properties:\n      Length: 5\n",
    ));
    let out = invalid(&p);
    assert!(out.stderr.contains("A -> B -> C -> A"), "{out}");
    p.snapshot("errors_dependency_cycle", &out);
}

#[test]
fn unknown_condition() {
    let p = bad("Conditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n  A:\n    Type: Cairn::Random::String\n    Condition: IsProduction\n    Properties:\n      Length: 5\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:9:16"), "{out}");
    p.snapshot("errors_unknown_condition", &out);
}

#[test]
fn wrong_intrinsic_arity() {
    let p = bad("Resources:\n  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: !Select [1]\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:8:23"), "{out}");
    p.snapshot("errors_intrinsic_arity", &out);
}

#[test]
fn duplicate_keys() {
    let p = bad("Resources:\n  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 5\n  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 6\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:9:3"), "{out}");
    p.snapshot("errors_duplicate_keys", &out);
}

#[test]
fn unknown_section() {
    let p = bad("Resources:\n  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 5\nOutput:\n  a:\n    Value: x\n");
    let out = invalid(&p);
    assert!(out.stderr.contains("template.yaml:9:1"), "{out}");
    p.snapshot("errors_unknown_section", &out);
}

#[test]
fn validate_reports_every_error() {
    let p = bad(concat!(
        "Resources:\n",
        "  A:\n    Type: Cairn::Random::String\n    Condition: Nope\n    Properties:\n      Length: !Ref Lenght\n",
        "  B:\n    Type: Cairn::Random::String\n    Properties:\n      Length: !Select [1]\n      Keepers: {a: !GetAtt A.Value}\n",
        "Outputs:\n  o:\n    Value: !Ref C\n",
    ));
    let out = p.run(&["validate"]).code(2);
    assert!(out.stderr.contains("errors found"), "{out}");
    // Syntax and conditions are checked first; references only once those are right.
    assert!(out.stderr.ends_with("2 errors found\n"), "{out}");
    p.snapshot("errors_validate_many", &out);
    // Reference errors, all at once.
    let p = bad(concat!(
        "Resources:\n",
        "  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: !Ref Lenght\n",
        "  B:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 3\n      Keepers: {a: !GetAtt A.Value}\n",
        "Outputs:\n  o:\n    Value: !Ref C\n",
    ));
    let out = p.run(&["validate"]).code(2);
    assert!(out.stderr.ends_with("3 errors found\n"), "{out}");
    p.snapshot("errors_validate_many_references", &out);
}

#[test]
fn bad_stack_file() {
    let p = Proj::with_template(
        &format!("{PARAMS}Resources:\n  A:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 5\n"),
        "parameters:\n  Env: dev\n  Env: prod\nregoin: us-east-1\n",
    );
    let out = p.run(&["preview"]).code(2);
    assert!(out.stderr.contains("stacks/dev.yaml:"), "{out}");
    p.snapshot("errors_bad_stack_file", &out);
}

#[test]
fn up_without_yes_and_no_terminal() {
    let p = Proj::hello();
    let out = p.run(&["-s", "development", "up"]).code(5);
    assert!(out.stderr.contains("pass --yes"), "{out}");
    p.snapshot("errors_up_not_confirmed", &out);
    // Nothing changed: no resources, no history, no lock left behind.
    assert_eq!(p.state("development")["resources"], serde_json::json!({}));
    assert!(p.run(&["-s", "development", "stack", "history", "--json"]).ok().json().as_array().unwrap().is_empty());
    assert!(!p.join(".cairn/stacks/development/lock.json").exists());
    // destroy asks too.
    p.run(&["-s", "development", "up", "--yes"]).ok();
    let before = p.state("development");
    p.run(&["-s", "development", "destroy"]).code(5);
    assert_eq!(p.state("development"), before);
}

#[test]
fn expect_no_changes_with_changes() {
    let p = Proj::hello();
    let out = p.run(&["-s", "development", "preview", "--expect-no-changes"]).code(3);
    assert!(out.stderr.contains("--expect-no-changes"), "{out}");
    p.run(&["-s", "development", "preview", "--json", "--expect-no-changes"]).code(3);
    // up --expect-no-changes refuses to apply.
    p.run(&["-s", "development", "up", "--yes", "--expect-no-changes"]).code(3);
    assert_eq!(p.state("development")["resources"], serde_json::json!({}));
}

#[test]
fn malformed_state_file() {
    let p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    p.write(".cairn/stacks/development/snapshot.json", "{\"generation\": 1, \"state\": {\"resources\": [");
    for args in [
        &["-s", "development", "preview"][..],
        &["-s", "development", "up", "--yes"],
        &["-s", "development", "destroy", "--yes"],
        &["-s", "development", "stack", "export"],
    ] {
        let out = p.run(args).code(1);
        assert!(out.stderr.starts_with("error: the state of stack `development` is unreadable"), "{out}");
    }
    p.snapshot("errors_malformed_state", &p.run(&["-s", "development", "preview"]));
    // A journal line that is not JSON, in the middle of the journal.
    p.write(
        ".cairn/stacks/development/snapshot.json",
        "{\"generation\": 1, \"state\": {\"format_version\": 1, \"resources\": {}, \"outputs\": {}}}",
    );
    p.write(".cairn/stacks/development/journal.jsonl", "{\"generation\": 1}\nnot json\n{}\n");
    let out = p.run(&["-s", "development", "up", "--yes"]).code(1);
    assert!(out.stderr.contains("unreadable"), "{out}");
}

#[test]
fn locked_stack() {
    let p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    let before = p.state("development");
    // A live holder: this test's own process, on this host.
    write_lock(&p, "development", std::process::id(), &common::hostname());
    let out = p.run(&["-s", "development", "up", "--yes"]).code(4);
    assert!(out.stderr.contains("locked by alice"), "{out}");
    p.snapshot("errors_locked", &out);
    p.run(&["-s", "development", "destroy", "--yes"]).code(4);
    assert_eq!(p.state("development"), before);
    // A live holder's lock is kept, even with --yes (exit 4); --force clears it.
    p.snapshot("errors_cancel_live", &p.run(&["-s", "development", "cancel", "--yes"]).code(4));
    assert!(p.join(".cairn/stacks/development/lock.json").exists());
    p.snapshot("errors_cancel_live_forced", &p.run(&["-s", "development", "cancel", "--force"]).ok());
    assert!(!p.join(".cairn/stacks/development/lock.json").exists());
    p.snapshot("errors_cancel_not_locked", &p.run(&["-s", "development", "cancel"]).ok());
    p.run(&["-s", "development", "destroy", "--yes"]).ok();
}

#[test]
fn lock_held_on_another_host() {
    let p = Proj::hello();
    write_lock(&p, "development", 1, "build-server-7");
    let out = p.run(&["-s", "development", "up", "--yes"]).code(4);
    assert!(out.stderr.contains("on build-server-7 (pid 1"), "{out}");
    assert!(!out.stderr.contains("stale"), "{out}");
}

#[test]
fn unreadable_lock_file() {
    let p = Proj::hello();
    p.write(".cairn/stacks/development/lock.json", "{not json");
    let out = p.run(&["-s", "development", "up", "--yes"]).code(4);
    assert!(out.stderr.contains("locked by unknown"), "{out}");
    p.run(&["-s", "development", "cancel", "--yes"]).ok();
    p.run(&["-s", "development", "up", "--yes"]).ok();
}

#[test]
fn usage_errors() {
    let p = Proj::hello();
    // Several stacks and none selected.
    p.snapshot("errors_no_stack_selected", &p.run(&["preview"]).code(2));
    p.snapshot("errors_no_such_stack", &p.run(&["-s", "prod", "preview"]).code(2));
    let empty = Proj::empty();
    let out = empty.run(&["preview"]).code(2);
    assert!(out.stderr.contains("cairn init"), "{out}");
    // clap's own usage errors are exit 2 as well.
    p.run(&["up", "--parallel", "many"]).code(2);
    p.run(&["frobnicate"]).code(2);
}
