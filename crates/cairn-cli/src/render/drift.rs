//! How a plan shows drift (`preview --refresh`, `up --refresh`): what changed outside cairn
//! about a resource, marked `!`, and what `up` does about it.

use std::fmt::Write as _;

use cairn_core::plan::{Action, Plan, Step};
use cairn_core::refresh::Drift;

use super::{change_json, Style};

/// The mark of a resource changed outside cairn.
pub const SYMBOL: &str = "!";

/// What `up` does about the drift of `step` (the plan was made against what AWS holds).
pub fn what_up_does(step: &Step, drift: &Drift) -> String {
    match (drift, step.action) {
        (Drift::Deleted, Action::Create | Action::Replace) => "up will create it again".into(),
        (Drift::Deleted, _) => match &step.reason {
            Some(r) => format!("up will forget it ({r})"),
            None => "up will forget it".into(),
        },
        (Drift::Changed { changes }, Action::Update | Action::Replace) => {
            // Back to what cairn recorded, or on to what the template says now.
            let back = changes.iter().all(|d| step.changes.iter().any(|c| c.name == d.name && c.new == d.old));
            let how = if back { "set it back" } else { "update it to the template" };
            if step.action == Action::Replace {
                format!("up will {how} by replacing it")
            } else {
                format!("up will {how}")
            }
        }
        (Drift::Changed { .. }, Action::Delete) if step.retain => "up will forget it (DeletionPolicy Retain)".into(),
        (Drift::Changed { .. }, Action::Delete) => "up will delete it as planned".into(),
        (Drift::Changed { .. }, Action::Create) => "up will create it".into(),
        (Drift::Changed { .. }, Action::Same) => match &step.reason {
            Some(r) => format!("up will only record it ({r})"),
            None => "the template says the same now; up will only record it".into(),
        },
    }
}

/// The drift lines under a step's line: the mark, what changed outside cairn and what `up`
/// does about it; with `diff`, each drifted property as recorded => as AWS holds it.
pub fn text(step: &Step, drift: &Drift, pad: &str, diff: bool, show_secrets: bool, st: Style) -> String {
    let mut out = String::new();
    let mark = st.drift(SYMBOL);
    let _ = writeln!(out, "{pad}{mark} {drift}; {}", what_up_does(step, drift));
    if let (true, Drift::Changed { changes }) = (diff, drift) {
        // Leaf by leaf, as a plan's changes (old: as recorded, new: as AWS holds it).
        let pad = format!("{pad}  {mark} ");
        for c in changes {
            super::change_text(&mut out, &pad, c, "", show_secrets, st);
        }
    }
    out
}

/// `Drift: ...` after the plan's summary, when `--refresh` found any.
pub fn summary(plan: &Plan, st: Style) -> Option<String> {
    let (mut changed, mut deleted) = (0, 0);
    for s in &plan.steps {
        match s.drift {
            Some(Drift::Changed { .. }) => changed += 1,
            Some(Drift::Deleted) => deleted += 1,
            None => {}
        }
    }
    let mut parts = Vec::new();
    if changed > 0 {
        parts.push(format!("{} changed", super::count(changed, "resource")));
    }
    if deleted > 0 {
        let what =
            if changed > 0 { format!("{deleted} deleted") } else { super::count(deleted, "resource") + " deleted" };
        parts.push(what);
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("Drift: {} outside cairn (marked {}).", parts.join(" and "), st.drift(SYMBOL)))
}

/// A step's drift for `--json`: `{"kind": "changed", "changes": [...]}` (each change as in
/// the step's `changes`: old = what cairn recorded, new = what AWS holds) or
/// `{"kind": "deleted"}`.
pub fn json(drift: &Drift, show_secrets: bool) -> serde_json::Value {
    match drift {
        Drift::Deleted => serde_json::json!({"kind": "deleted"}),
        Drift::Changed { changes } => serde_json::json!({
            "kind": "changed",
            "changes": changes.iter().map(|c| change_json(c, show_secrets)).collect::<Vec<_>>(),
        }),
    }
}

/// Snapshots of the drift preview (text, `--diff` and `--json`), from a real refresh of the
/// test kit's cloud: the CLI's own types (built-ins) never drift, and these are the lines a
/// user reads after `preview --refresh`.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use cairn_core::engine::Session;
    use cairn_core::exec::{ExecOptions, Quiet};
    use cairn_core::graph::{DesiredGraph, StackInputs};
    use cairn_core::plan::{plan_up, Plan, PlanOptions};
    use cairn_core::provider::Registry;
    use cairn_core::refresh::{mark_drift, refresh};
    use cairn_core::state::LockInfo;
    use cairn_core::template::{load_template, MemoryLoader};
    use cairn_testkit::{MemoryBackend, TestCloud};
    use serde_json::json;

    use crate::render::{plan_json, plan_text, Style};

    const TEMPLATE: &str = r#"
Parameters:
  ApiKey:
    Type: String
    NoEcho: true
Resources:
  Web:
    Type: Test::Thing
    Properties:
      Value: v1
      Inputs: !Ref ApiKey
      Tags:
        - Key: team
          Value: web
  Queue:
    Type: Test::Other
    Properties:
      Name: jobs
  Worker:
    Type: Test::Thing
    Properties:
      Inputs: !Ref Queue
  Site:
    Type: ./components/site.yaml
  Archive:
    Type: Test::Other
    Properties:
      Value: cold
  Gone:
    Type: Test::Other
    Properties:
      Value: old
"#;

    const SITE: &str = r#"
Resources:
  Bucket:
    Type: Test::Thing
    Properties:
      Name: site-bucket
      Replace: first
"#;

    fn opts() -> ExecOptions {
        ExecOptions {
            project: "test".into(),
            stack: "dev".into(),
            account_id: cairn_testkit::TEST_ACCOUNT_ID.into(),
            partition: "aws".into(),
            stack_tags: BTreeMap::new(),
            parallel: 4,
            assets: Default::default(),
        }
    }

    fn graph(template: &str, registry: &Registry) -> Arc<DesiredGraph> {
        let loader = MemoryLoader(BTreeMap::from([
            ("template.yaml".to_string(), template.to_string()),
            ("components/site.yaml".to_string(), SITE.to_string()),
        ]));
        let t = load_template(&loader, "template.yaml").expect("template");
        let node = cairn_core::template::parse_document("ApiKey: s3cret-key\n", "stacks/dev.yaml").expect("yaml");
        let cairn_core::template::NodeValue::Map(m) = node.value else { panic!("a mapping") };
        let inputs = StackInputs {
            project: "test".into(),
            stack: "dev".into(),
            region: "us-east-1".into(),
            account_id: Some(cairn_testkit::TEST_ACCOUNT_ID.into()),
            partition: "aws".into(),
            parameters: m.entries.into_iter().map(|(k, v)| (k.name, v)).collect(),
            secret_parameters: Default::default(),
            sealed_parameters: Default::default(),
            exports: BTreeMap::new(),
            assets: Default::default(),
            ssm: Default::default(),
        };
        Arc::new(DesiredGraph::build(&t, inputs, registry).expect("graph"))
    }

    /// Deploy, change the cloud behind cairn's back, then plan as `preview --refresh` does.
    async fn drifted_plan() -> Plan {
        let cloud = TestCloud::new();
        let registry = cairn_testkit::registry(&cloud, Duration::ZERO);
        let backend = Arc::new(MemoryBackend::new());
        let lock = LockInfo {
            user: "u".into(),
            host: "h".into(),
            pid: 1,
            operation: "up".into(),
            started: "2026-01-01T00:00:00Z".into(),
        };
        let g = graph(TEMPLATE, &registry);
        let mut session = Session::open(backend.clone(), "dev", Some(lock), &registry, &opts()).await.expect("open");
        let plan = plan_up(&g, &session.state, &registry, &PlanOptions::default()).expect("plan");
        let result = session.apply(&plan, Some(g), &registry, opts(), Arc::new(Quiet)).await.expect("apply");
        assert!(result.succeeded(), "{:?}", result.failed());
        session.close().await.expect("close");

        let pid = |id: &str| result.state.resources[id].physical_id.clone();
        let edit = |id: &str, properties: serde_json::Value| {
            let mut live = cloud.get(&pid(id)).expect("live");
            live.properties = properties;
            cloud.insert(live);
        };
        // Web: Value and Tags changed by hand; its secret input replaced (never compared).
        edit("Web", json!({"Value": "v2-by-hand", "Inputs": "another-key", "Tags": [{"Key": "team", "Value": "ops"}]}));
        // Queue deleted: created again, and Worker (which refers to it) updated.
        cloud.remove(&pid("Queue"));
        // Site.Bucket: a create-only property changed by hand: replaced.
        edit("Site.Bucket", json!({"Name": "site-bucket", "Replace": "by-hand"}));
        // Archive: changed by hand to what the template now says.
        edit("Archive", json!({"Value": "warm"}));
        // Gone: deleted by hand, and removed from the template.
        cloud.remove(&pid("Gone"));
        let now = TEMPLATE.replace("Value: cold", "Value: warm");
        let now = &now[..now.find("  Gone:").expect("Gone")];

        let g = graph(now, &registry);
        let session = Session::open(backend, "dev", None, &registry, &opts()).await.expect("open");
        let refreshed = refresh(&session.state, &registry, &opts(), &Quiet).await.expect("refresh");
        let mut plan = plan_up(&g, &refreshed.state, &registry, &PlanOptions::default()).expect("plan");
        mark_drift(&mut plan, &refreshed, &session.state, &g);
        plan
    }

    fn snapshot(name: &str, text: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    #[tokio::test]
    async fn drift_preview_text_diff_and_json() {
        let plan = drifted_plan().await;
        let st = Style { color: false };
        let text = plan_text(&plan, "Preview of test/dev (memory)", false, false, st);
        snapshot("drift_preview_text", &text);
        snapshot("drift_preview_diff", &plan_text(&plan, "Preview of test/dev (memory)", true, false, st));
        let j = plan_json(&plan, "dev", false);
        snapshot("drift_preview_json", &serde_json::to_string_pretty(&j).expect("json"));
        // No secret, neither the deployed one nor the one changed by hand.
        for out in [text, j.to_string()] {
            assert!(!out.contains("s3cret-key") && !out.contains("another-key"), "{out}");
        }
        // Deterministic.
        let again = drifted_plan().await;
        assert_eq!(plan_json(&again, "dev", false), j);
    }
}
