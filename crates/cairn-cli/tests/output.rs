//! Snapshots of what users read: plans, progress, summaries, outputs, history, listings.
//! Each test runs in its own copy of examples/hello.

mod common;

use common::Proj;

#[test]
fn preview_text_json_and_diff() {
    let p = Proj::hello();
    p.snapshot("output_preview_text", &p.run(&["-s", "development", "preview"]).ok());
    p.snapshot("output_preview_json", &p.run(&["-s", "development", "preview", "--json"]).ok());
    p.snapshot("output_preview_diff", &p.run(&["-s", "development", "preview", "--diff"]).ok());
    // Previews are deterministic: byte-identical for the same inputs.
    assert_eq!(
        p.run(&["-s", "development", "preview", "--json"]).stdout,
        p.run(&["-s", "development", "preview", "--json"]).stdout
    );
    // A preview changes nothing.
    assert!(!p.join(".cairn/stacks/development").exists(), "preview wrote state");
}

#[test]
fn up_then_destroy() {
    let mut p = Proj::hello();
    let up = p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    p.snapshot("output_up", &up);
    p.snapshot("output_up_again", &p.run(&["-s", "development", "up", "--yes"]).ok());
    p.snapshot("output_destroy", &p.run(&["-s", "development", "destroy", "--yes"]).ok());
    p.snapshot("output_destroy_again", &p.run(&["-s", "development", "destroy", "--yes"]).ok());
}

#[test]
fn production_up_and_destroy_keeps_the_retained_resource() {
    let mut p = Proj::hello();
    let up = sorted_progress(p.run(&["-s", "production", "up", "--yes", "--parallel", "1"]).ok());
    p.learn_ids("production");
    p.snapshot("output_production_up", &up);
    let destroy = sorted_progress(p.run(&["-s", "production", "destroy", "--yes", "--parallel", "1"]).ok());
    p.snapshot("output_production_destroy", &destroy);
}

/// The run with its progress lines (`  +  Id (Type) creating...`) sorted in place. Their
/// order is not fixed even at `--parallel 1`: a step frees its slot when its provider calls
/// return, so the next step may start before the previous one is journaled and reported.
fn sorted_progress(mut out: common::Out) -> common::Out {
    let mut lines: Vec<String> = out.stderr.lines().map(str::to_string).collect();
    let is_progress = |l: &str| ["  +  ", "  -  ", "  ~  ", "  +- "].iter().any(|p| l.starts_with(p));
    let at: Vec<usize> = (0..lines.len()).filter(|&i| is_progress(&lines[i])).collect();
    let mut progress: Vec<String> = at.iter().map(|&i| lines[i].clone()).collect();
    progress.sort();
    for (i, l) in at.into_iter().zip(progress) {
        lines[i] = l;
    }
    out.stderr = lines.join("\n") + if out.stderr.ends_with('\n') { "\n" } else { "" };
    out
}

#[test]
fn replacement_after_config_set() {
    let mut p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    let old_token = p.state("development")["resources"]["Token.Value"]["physical_id"].as_str().unwrap().to_string();
    p.replace(&old_token, "[old Token.Value]");
    p.snapshot("output_config_set", &p.run(&["-s", "development", "config", "set", "TokenLength", "20"]).ok());
    assert!(p.read("stacks/development.yaml").contains("TokenLength: 20\n"), "{}", p.read("stacks/development.yaml"));
    p.snapshot("output_replace_preview", &p.run(&["-s", "development", "preview"]).ok());
    p.snapshot("output_replace_preview_diff", &p.run(&["-s", "development", "preview", "--diff"]).ok());
    p.snapshot("output_replace_preview_json", &p.run(&["-s", "development", "preview", "--json"]).ok());
    let up = p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    p.snapshot("output_replace_up", &up);
    let new_token = p.state("development")["resources"]["Token.Value"]["physical_id"].as_str().unwrap().to_string();
    assert_ne!(old_token, new_token);
    assert_eq!(new_token.chars().count(), 20);
}

#[test]
fn stack_output_forms() {
    let mut p = Proj::hello();
    p.run(&["-s", "development", "up", "--yes"]).ok();
    p.learn_ids("development");
    p.run(&["stack", "select", "development"]).ok();
    p.snapshot("output_stack_output", &p.run(&["stack", "output"]).ok());
    p.snapshot("output_stack_output_json", &p.run(&["stack", "output", "--json"]).ok());
    p.snapshot("output_stack_output_shell", &p.run(&["stack", "output", "--shell"]).ok());
    p.snapshot("output_stack_output_one", &p.run(&["stack", "output", "name"]).ok());
    p.snapshot("output_stack_output_unknown", &p.run(&["stack", "output", "nmae"]).code(2));
}

#[test]
fn stack_history_and_listings() {
    let p = Proj::hello();
    p.run(&["stack", "select", "development"]).ok();
    p.snapshot("output_history_empty", &p.run(&["stack", "history"]).ok());
    p.run(&["up", "--yes"]).ok();
    p.run(&["config", "set", "TokenLength", "20"]).ok();
    p.run(&["up", "--yes"]).ok();
    p.run(&["destroy", "--yes"]).ok();
    p.snapshot("output_history_json", &p.run(&["stack", "history", "--json"]).ok());
    p.snapshot("output_history_text", &p.run(&["stack", "history"]).ok());
    p.run(&["-s", "staging", "up", "--yes"]).ok();
    p.snapshot("output_stack_ls", &p.run(&["stack", "ls"]).ok());
    p.snapshot("output_stack_ls_json", &p.run(&["stack", "ls", "--json"]).ok());
    p.snapshot("output_config_ls", &p.run(&["config", "ls"]).ok());
    p.snapshot("output_config_ls_json", &p.run(&["config", "ls", "--json"]).ok());
    p.snapshot("output_validate", &p.run(&["validate"]).ok());
    p.snapshot("output_validate_production", &p.run(&["-s", "production", "validate"]).ok());
}
