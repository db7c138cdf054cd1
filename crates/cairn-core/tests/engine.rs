//! Engine tests: templates (YAML strings) through the desired graph, the plan, the
//! executor and the state, against the test cloud of `cairn-testkit`.
//!
//! Every test asserts what a user can observe: the calls made to the cloud (and their
//! order), what exists in the cloud, what the state records, and what the next preview
//! shows. No timing assertions: concurrency is measured by the cloud's in-flight counter.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cairn_core::diag::Diagnostics;
use cairn_core::engine::{EngineError, Session};
use cairn_core::exec::{self, ExecOptions, Outcome, Quiet, RunResult};
use cairn_core::graph::{DesiredGraph, StackInputs};
use cairn_core::plan::{plan_destroy, plan_up, Action, Plan, PlanOptions, ReplaceMode};
use cairn_core::provider::Registry;
use cairn_core::refresh::{self, Drift};
use cairn_core::state::{LockInfo, StackState, StateError};
use cairn_core::template::model::load_template;
use cairn_core::template::{parse_document, MemoryLoader, NodeValue};
use cairn_core::Value;
use cairn_testkit::{registry, MemoryBackend, Op, TestCloud};
use indexmap::IndexMap;
use serde_json::json;

const PROJECT: &str = "test";
const STACK: &str = "dev";

// ---------------------------------------------------------------------------------------
// Harness

/// One stack of one project, deployed into a test cloud with an in-memory backend.
struct Harness {
    cloud: TestCloud,
    registry: Registry,
    backend: MemoryBackend,
    parallel: usize,
    /// Component files, by path.
    files: BTreeMap<String, String>,
}

fn lock_info(operation: &str) -> LockInfo {
    LockInfo {
        user: "tester".into(),
        host: "localhost".into(),
        pid: 1,
        operation: operation.into(),
        started: "2026-01-01T00:00:00Z".into(),
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::with_latency(Duration::ZERO)
    }

    fn with_latency(latency: Duration) -> Harness {
        let cloud = TestCloud::new();
        let registry = registry(&cloud, latency);
        Harness { cloud, registry, backend: MemoryBackend::new(), parallel: 4, files: BTreeMap::new() }
    }

    fn file(mut self, path: &str, text: &str) -> Harness {
        self.files.insert(path.to_string(), text.to_string());
        self
    }

    fn opts(&self) -> ExecOptions {
        ExecOptions {
            project: PROJECT.into(),
            stack: STACK.into(),
            account_id: cairn_testkit::TEST_ACCOUNT_ID.into(),
            partition: "aws".into(),
            stack_tags: BTreeMap::new(),
            parallel: self.parallel,
            assets: Default::default(),
        }
    }

    fn graph(&self, yaml: &str, params: &[(&str, &str)]) -> Arc<DesiredGraph> {
        Arc::new(self.try_graph(yaml, params).unwrap_or_else(|d| panic!("graph: {d:?}")))
    }

    fn try_graph(&self, yaml: &str, params: &[(&str, &str)]) -> Result<DesiredGraph, Diagnostics> {
        let mut files = self.files.clone();
        files.insert("template.yaml".into(), yaml.to_string());
        let loader = MemoryLoader(files);
        let template = load_template(&loader, "template.yaml").unwrap_or_else(|d| panic!("template: {d:?}"));
        let mut parameters = IndexMap::new();
        if !params.is_empty() {
            let text: String = params.iter().map(|(k, v)| format!("{k}: {}\n", json!(v))).collect();
            let node = parse_document(&text, "stacks/dev.yaml").expect("parameters parse");
            let NodeValue::Map(m) = node.value else { panic!("parameters are a mapping") };
            for (k, v) in m.entries {
                parameters.insert(k.name, v);
            }
        }
        let inputs = StackInputs {
            project: PROJECT.into(),
            stack: STACK.into(),
            region: "us-east-1".into(),
            account_id: Some(cairn_testkit::TEST_ACCOUNT_ID.into()),
            partition: "aws".into(),
            parameters,
            secret_parameters: Default::default(),
            sealed_parameters: Default::default(),
            exports: BTreeMap::new(),
            assets: Default::default(),
            ssm: Default::default(),
        };
        DesiredGraph::build(&template, inputs, &self.registry)
    }

    /// Open the stack locked (recovery runs and is stored).
    async fn session(&self) -> Result<Session, EngineError> {
        Session::open(Arc::new(self.backend.clone()), STACK, Some(lock_info("up")), &self.registry, &self.opts()).await
    }

    /// The state as a preview sees it (journal replayed, recovery in memory only).
    async fn state(&self) -> StackState {
        let s = Session::open(Arc::new(self.backend.clone()), STACK, None, &self.registry, &self.opts())
            .await
            .expect("open");
        s.state.clone()
    }

    /// `cairn preview`: no lock, nothing written.
    async fn preview(&self, yaml: &str, params: &[(&str, &str)]) -> Plan {
        self.preview_with(yaml, params, &PlanOptions::default()).await
    }

    async fn preview_with(&self, yaml: &str, params: &[(&str, &str)], popts: &PlanOptions) -> Plan {
        let graph = self.graph(yaml, params);
        let state = self.state().await;
        plan_up(&graph, &state, &self.registry, popts).unwrap_or_else(|d| panic!("plan: {d:?}"))
    }

    /// `cairn up` as the CLI runs it: lock, recover, plan, apply unless the plan is empty.
    /// `Ok(None)` when there was nothing to do.
    async fn try_up(
        &self,
        yaml: &str,
        params: &[(&str, &str)],
        popts: &PlanOptions,
    ) -> Result<Option<RunResult>, EngineError> {
        let graph = self.graph(yaml, params);
        let mut session = self.session().await?;
        let plan = plan_up(&graph, &session.state, &self.registry, popts).unwrap_or_else(|d| panic!("plan: {d:?}"));
        if plan.is_empty() {
            session.close().await?;
            return Ok(None);
        }
        let result = session.apply(&plan, Some(graph), &self.registry, self.opts(), Arc::new(Quiet)).await;
        let _ = session.close().await;
        result.map(Some)
    }

    /// An `up` that must run (the plan is not empty) and return a result.
    async fn up(&self, yaml: &str, params: &[(&str, &str)]) -> RunResult {
        self.up_with(yaml, params, &PlanOptions::default()).await
    }

    async fn up_with(&self, yaml: &str, params: &[(&str, &str)], popts: &PlanOptions) -> RunResult {
        self.try_up(yaml, params, popts).await.expect("up").expect("the plan has changes")
    }

    async fn try_destroy(&self) -> Result<Option<RunResult>, EngineError> {
        let mut session = self.session().await?;
        let plan = plan_destroy(&session.state, &self.registry, &[]);
        if plan.is_empty() {
            session.close().await?;
            return Ok(None);
        }
        let result = session.apply(&plan, None, &self.registry, self.opts(), Arc::new(Quiet)).await;
        let _ = session.close().await;
        result.map(Some)
    }

    async fn destroy(&self) -> RunResult {
        self.try_destroy().await.expect("destroy").expect("the stack has resources")
    }

    /// `cairn preview --refresh`: no lock; every resource read, the plan made against what
    /// the cloud holds, drift marked; nothing written.
    async fn preview_refresh(&self, yaml: &str, params: &[(&str, &str)]) -> Plan {
        let graph = self.graph(yaml, params);
        let before = self.state().await;
        let refreshed = refresh::refresh(&before, &self.registry, &self.opts(), &Quiet).await.expect("refresh");
        let mut plan = plan_up(&graph, &refreshed.state, &self.registry, &PlanOptions::default())
            .unwrap_or_else(|d| panic!("plan: {d:?}"));
        refresh::mark_drift(&mut plan, &refreshed, &before, &graph);
        plan
    }

    /// `cairn up --refresh --yes`: lock, read every resource, plan against what the cloud
    /// holds; unless the plan is empty, record the refreshed state, then apply.
    async fn try_up_refresh(&self, yaml: &str, params: &[(&str, &str)]) -> Result<Option<RunResult>, EngineError> {
        let graph = self.graph(yaml, params);
        let mut session = self.session().await?;
        let refreshed = refresh::refresh(&session.state, &self.registry, &self.opts(), &Quiet).await.expect("refresh");
        let mut plan = plan_up(&graph, &refreshed.state, &self.registry, &PlanOptions::default())
            .unwrap_or_else(|d| panic!("plan: {d:?}"));
        refresh::mark_drift(&mut plan, &refreshed, &session.state, &graph);
        if plan.is_empty() {
            session.close().await?;
            return Ok(None);
        }
        if let Err(e) = session.record(refreshed.changes.clone()).await {
            let _ = session.close().await;
            return Err(e);
        }
        assert_eq!(session.state, refreshed.state, "the recorded state is the one planned against");
        let result = session.apply(&plan, Some(graph), &self.registry, self.opts(), Arc::new(Quiet)).await;
        let _ = session.close().await;
        result.map(Some)
    }

    async fn up_refresh(&self, yaml: &str, params: &[(&str, &str)]) -> Option<RunResult> {
        self.try_up_refresh(yaml, params).await.expect("up --refresh")
    }

    /// The stored state, byte for byte: the snapshot and the journal as JSON.
    fn stored(&self) -> String {
        serde_json::to_string(&(self.backend.snapshot(STACK), self.backend.journal(STACK))).expect("json")
    }

    /// Mutating calls (create, update, delete) made so far, in order.
    fn mutations(&self) -> Vec<(Op, String)> {
        self.cloud.call_log().into_iter().filter(|(op, _)| matches!(op, Op::Create | Op::Update | Op::Delete)).collect()
    }

    /// The live resources of this stack: (logical id, physical id).
    fn live(&self) -> BTreeSet<(String, String)> {
        self.cloud
            .live_resources()
            .into_iter()
            .filter(|r| r.tags.get("cairn:stack").map(String::as_str) == Some(STACK))
            .map(|r| (r.tags["cairn:logical-id"].clone(), r.physical_id))
            .collect()
    }

    async fn pid(&self, id: &str) -> String {
        self.state().await.resources.get(id).unwrap_or_else(|| panic!("{id} is not in the state")).physical_id.clone()
    }

    fn live_props(&self, pid: &str) -> serde_json::Value {
        self.cloud.get(pid).unwrap_or_else(|| panic!("{pid} is not live")).properties
    }

    /// The state tracks exactly the live resources of the stack, nothing is pending, and a
    /// preview of the same inputs shows no changes.
    async fn assert_converged(&self, yaml: &str, params: &[(&str, &str)]) {
        let state = self.state().await;
        let tracked: BTreeSet<(String, String)> =
            state.resources.values().map(|r| (r.id.clone(), r.physical_id.clone())).collect();
        assert_eq!(tracked, self.live(), "the state must track exactly the live resources");
        assert!(state.pending_deletes.is_empty(), "nothing may be left to delete: {:?}", state.pending_deletes);
        let plan = self.preview(yaml, params).await;
        assert!(
            plan.is_empty(),
            "the next preview must show no changes: {:?} (outputs changed: {})",
            plan.changes().collect::<Vec<_>>(),
            plan.outputs_changed
        );
    }
}

fn ops(list: &[(Op, &str)]) -> Vec<(Op, String)> {
    list.iter().map(|(o, s)| (*o, s.to_string())).collect()
}

fn outcome<'a>(r: &'a RunResult, id: &str) -> &'a Outcome {
    &r.steps.iter().find(|(i, _, _, _)| i == id).unwrap_or_else(|| panic!("no step for {id}: {:?}", r.steps)).2
}

fn step<'a>(plan: &'a Plan, id: &str) -> &'a cairn_core::plan::Step {
    plan.steps.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no step for {id}: {:?}", plan.steps))
}

fn assert_ok(r: &RunResult) {
    assert!(r.succeeded(), "run failed: {:?} journal: {:?}", r.failed(), r.journal_error);
}

/// A <- B <- C: B refers to A (Ref, and A's volatile `Echo`), C to B (GetAtt Arn).
fn chain(a_value: &str, a_replace: &str, a_name: Option<&str>) -> String {
    let name = a_name.map(|n| format!("\n      Name: {n}")).unwrap_or_default();
    format!(
        r#"
Resources:
  A:
    Type: Test::Thing
    Properties:
      Value: {a_value}
      Replace: {a_replace}{name}
  B:
    Type: Test::Thing
    Properties:
      Inputs: !Ref A
      Value: !GetAtt A.Echo
  C:
    Type: Test::Other
    Properties:
      Inputs: !GetAtt B.Arn
Outputs:
  AId:
    Value: !Ref A
  CArn:
    Value: !GetAtt C.Arn
"#
    )
}

// ---------------------------------------------------------------------------------------
// 1. Ordering of creates, updates, replacements and deletes

#[tokio::test]
async fn creates_run_in_dependency_order_and_destroy_in_reverse() {
    let h = Harness::new();
    let v1 = chain("a1", "r1", None);
    let r = h.up(&v1, &[]).await;
    assert_ok(&r);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "A"), (Op::Create, "B"), (Op::Create, "C")]));
    // Each dependent received its dependency's real values.
    let (a, b) = (h.pid("A").await, h.pid("B").await);
    assert_eq!(h.live_props(&b), json!({"Inputs": a, "Value": "a1"}));
    assert_eq!(h.live_props(&h.pid("C").await), json!({"Inputs": format!("arn:test:::{b}")}));
    h.assert_converged(&v1, &[]).await;

    h.cloud.clear_log();
    let r = h.destroy().await;
    assert_ok(&r);
    assert_eq!(h.mutations(), ops(&[(Op::Delete, "C"), (Op::Delete, "B"), (Op::Delete, "A")]));
    assert_eq!(h.cloud.count(), 0);
    let state = h.state().await;
    assert!(state.is_empty() && state.outputs.is_empty(), "{state:?}");
}

#[tokio::test]
async fn an_update_is_in_place_and_dependents_see_the_new_values() {
    let h = Harness::new();
    h.up(&chain("a1", "r1", None), &[]).await;
    let (a, b, c) = (h.pid("A").await, h.pid("B").await, h.pid("C").await);

    let v2 = chain("a2", "r1", None);
    let plan = h.preview(&v2, &[]).await;
    assert_eq!(step(&plan, "A").action, Action::Update);
    // B reads A's volatile Echo: an update whose value is known after A's update.
    assert_eq!(step(&plan, "B").action, Action::Update);
    assert_eq!(step(&plan, "C").action, Action::Same);

    h.cloud.clear_log();
    assert_ok(&h.up(&v2, &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Update, "A"), (Op::Update, "B")]));
    assert_eq!((h.pid("A").await, h.pid("B").await, h.pid("C").await), (a.clone(), b.clone(), c));
    assert_eq!(h.live_props(&a)["Value"], "a2");
    assert_eq!(h.live_props(&b), json!({"Inputs": a, "Value": "a2"}));
    h.assert_converged(&v2, &[]).await;
}

#[tokio::test]
async fn an_update_carries_leaf_level_details() {
    let h = Harness::new();
    let template = |days: u32, tags: &str| {
        format!(
            "Resources:\n  A:\n    Type: Test::Thing\n    Properties:\n      Value:\n        Rules:\n          - Id: archive\n            Days: {days}\n          - Id: expire\n            Days: 365\n      Tags: {tags}\n"
        )
    };
    let v1 = template(30, "[{Key: a, Value: '1'}, {Key: b, Value: '2'}]");
    h.up(&v1, &[]).await;
    // One day changed; the tags reordered and one added.
    let v2 = template(60, "[{Key: c, Value: '3'}, {Key: b, Value: '2'}, {Key: a, Value: '1'}]");
    let plan = h.preview(&v2, &[]).await;
    let a = step(&plan, "A");
    assert_eq!(a.action, Action::Update);
    let details: Vec<(&str, &str, String, String, String)> = a
        .changes
        .iter()
        .flat_map(|c| {
            c.details.iter().map(move |d| {
                let show =
                    |v: &Option<Value>| v.as_ref().map(|v| v.to_display_json(false).to_string()).unwrap_or_default();
                (c.name.as_str(), d.kind.as_str(), d.path.clone(), show(&d.old), show(&d.new))
            })
        })
        .collect();
    assert_eq!(
        details,
        [
            ("Tags", "add", "[0]".to_string(), String::new(), r#"{"Key":"c","Value":"3"}"#.to_string()),
            ("Value", "update", "Rules[0].Days".to_string(), "30".to_string(), "60".to_string()),
        ]
    );
    assert_ok(&h.up(&v2, &[]).await);
    h.assert_converged(&v2, &[]).await;
}

#[tokio::test]
async fn a_create_only_change_replaces_create_before_delete() {
    let h = Harness::new();
    h.up(&chain("a1", "r1", None), &[]).await;
    let (old_a, b, c) = (h.pid("A").await, h.pid("B").await, h.pid("C").await);

    let v2 = chain("a1", "r2", None);
    let plan = h.preview(&v2, &[]).await;
    let a_step = step(&plan, "A");
    assert_eq!(a_step.action, Action::Replace);
    assert_eq!(a_step.replace_mode, Some(ReplaceMode::CreateBeforeDelete));
    assert!(a_step.changes.iter().any(|c| c.name == "Replace" && c.forces_replacement));
    assert_eq!(step(&plan, "B").action, Action::Update, "B's Ref to A is known after up");

    h.cloud.clear_log();
    assert_ok(&h.up(&v2, &[]).await);
    let log = h.mutations();
    // A new A, then B pointed at it, then the old A deleted; C did not change.
    assert_eq!(log, ops(&[(Op::Create, "A"), (Op::Update, "B"), (Op::Delete, "A")]));
    let new_a = h.pid("A").await;
    assert_ne!(new_a, old_a);
    assert!(h.cloud.get(&old_a).is_none(), "the old A is deleted");
    assert_eq!(h.live_props(&new_a)["Replace"], "r2");
    assert_eq!(h.live_props(&b)["Inputs"], json!(new_a), "B refers to the new A");
    assert_eq!((h.pid("B").await, h.pid("C").await), (b, c));
    assert_eq!(h.state().await.outputs["AId"].value, Value::String(new_a));
    h.assert_converged(&v2, &[]).await;
}

#[tokio::test]
async fn a_replacement_with_a_fixed_name_deletes_first() {
    let h = Harness::new();
    let v1 = chain("a1", "r1", Some("thing-a"));
    h.up(&v1, &[]).await;
    assert_eq!(h.pid("A").await, "thing-a");

    let v2 = chain("a1", "r2", Some("thing-a"));
    let plan = h.preview(&v2, &[]).await;
    assert_eq!(step(&plan, "A").action, Action::Replace);
    assert_eq!(step(&plan, "A").replace_mode, Some(ReplaceMode::DeleteBeforeCreate));

    h.cloud.clear_log();
    let r = h.up(&v2, &[]).await;
    assert_ok(&r);
    // The name cannot exist twice: delete, then create. B's Ref (the name) is unchanged,
    // so B's planned update turns out to be no change at all.
    assert_eq!(h.mutations(), ops(&[(Op::Delete, "A"), (Op::Create, "A")]));
    assert_eq!(*outcome(&r, "B"), Outcome::Unchanged);
    assert_eq!(h.pid("A").await, "thing-a");
    assert_eq!(h.live_props("thing-a")["Replace"], "r2");
    h.assert_converged(&v2, &[]).await;
}

#[tokio::test]
async fn a_removed_resource_is_deleted_after_its_dependents_are_updated() {
    let h = Harness::new();
    let v1 = r#"
Resources:
  A:
    Type: Test::Thing
  B:
    Type: Test::Thing
    Properties:
      Inputs: !Ref A
"#;
    h.up(v1, &[]).await;
    let (a, b) = (h.pid("A").await, h.pid("B").await);
    let v2 = r#"
Resources:
  B:
    Type: Test::Thing
    Properties:
      Inputs: standalone
"#;
    let plan = h.preview(v2, &[]).await;
    assert_eq!(step(&plan, "A").action, Action::Delete);
    assert_eq!(step(&plan, "B").action, Action::Update);
    h.cloud.clear_log();
    assert_ok(&h.up(v2, &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Update, "B"), (Op::Delete, "A")]));
    assert!(h.cloud.get(&a).is_none());
    assert_eq!(h.live_props(&b), json!({"Inputs": "standalone"}));
    h.assert_converged(v2, &[]).await;
}

#[tokio::test]
async fn removed_resources_are_deleted_dependents_first() {
    let h = Harness::new();
    h.up(&chain("a1", "r1", None), &[]).await;
    let v2 = "Resources:\n  D:\n    Type: Test::Other\n";
    h.cloud.clear_log();
    assert_ok(&h.up(v2, &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "D"), (Op::Delete, "C"), (Op::Delete, "B"), (Op::Delete, "A")]));
    h.assert_converged(v2, &[]).await;
}

// ---------------------------------------------------------------------------------------
// 2. No perpetual diffs

const SITE: &str = r#"
Parameters:
  Label:
    Type: String
  Upstream:
    Type: String
  Size:
    Type: Number
    Default: 3
Conditions:
  HasLabel: !Not [!Equals [!Ref Label, ""]]
Resources:
  Bucket:
    Type: Test::Thing
    Properties:
      Value: !If [HasLabel, !Ref Label, !Ref AWS::NoValue]
      Inputs:
        Upstream: !Ref Upstream
        Size: !Ref Size
  Policy:
    Type: Test::Other
    Properties:
      Inputs: !Sub "${Bucket}:${Upstream}"
      Tags:
        - Key: bucket
          Value: !Ref Bucket
Outputs:
  BucketArn:
    Value: !GetAtt Bucket.Arn
"#;

const WITH_COMPONENTS: &str = r#"
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Mappings:
  Sizes:
    dev: {Count: 1}
    prod: {Count: 5}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Base:
    Type: Test::Thing
    Properties:
      Value: !If [IsProd, big, !Ref AWS::NoValue]
      Inputs:
        Count: !FindInMap [Sizes, !Ref Env, Count]
        Region: !Ref AWS::Region
        Stack: !Ref AWS::StackName
      Tags:
        - Key: env
          Value: !Ref Env
  OnlyProd:
    Type: Test::Thing
    Condition: IsProd
    Properties:
      Inputs: !Ref Base
  Site:
    Type: ./components/site.yaml
    Properties:
      Label: !If [IsProd, !Sub "${Env}-site", ""]
      Upstream: !GetAtt Base.Arn
  User:
    Type: Test::Other
    DependsOn: Site
    Properties:
      Inputs:
        - !GetAtt Site.BucketArn
        - !If [IsProd, !Ref OnlyProd, !Ref AWS::NoValue]
Outputs:
  SiteArn:
    Value: !GetAtt Site.BucketArn
  Prod:
    Condition: IsProd
    Value: !Ref OnlyProd
  Joined:
    Value: !Join [",", [!Ref Base, !Ref User]]
"#;

#[tokio::test]
async fn after_up_the_preview_is_empty_with_components_conditions_and_novalue() {
    let h = Harness::new().file("components/site.yaml", SITE);
    for env in ["dev", "prod", "dev"] {
        let params = [("Env", env)];
        let r = h.up(WITH_COMPONENTS, &params).await;
        assert_ok(&r);
        h.assert_converged(WITH_COMPONENTS, &params).await;
        let state = h.state().await;
        assert_eq!(state.resources.contains_key("OnlyProd"), env == "prod", "{env}");
        assert_eq!(state.outputs.contains_key("Prod"), env == "prod", "{env}");
        assert!(state.resources.contains_key("Site.Bucket") && state.resources.contains_key("Site.Policy"));
        assert_eq!(state.resources["Site.Bucket"].parent.as_deref(), Some("Site"));
        // NoValue leaves the property out entirely.
        let base = h.live_props(&state.resources["Base"].physical_id);
        assert_eq!(base.get("Value").is_some(), env == "prod", "{base}");
        let bucket = h.live_props(&state.resources["Site.Bucket"].physical_id);
        assert_eq!(
            bucket.get("Value").map(|v| v.as_str().unwrap().to_string()),
            (env == "prod").then(|| "prod-site".to_string())
        );
        let user = h.live_props(&state.resources["User"].physical_id);
        assert_eq!(user["Inputs"].as_array().unwrap().len(), if env == "prod" { 2 } else { 1 }, "{user}");
        // And a second up does nothing at all.
        h.cloud.clear_log();
        assert!(h.try_up(WITH_COMPONENTS, &params, &PlanOptions::default()).await.unwrap().is_none());
        assert!(h.mutations().is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// 3. Parallelism

fn independent(n: usize) -> String {
    let mut t = String::from("Resources:\n");
    for i in 0..n {
        t.push_str(&format!("  R{i:02}:\n    Type: Test::Thing\n    Properties:\n      Value: {i}\n"));
    }
    t
}

#[tokio::test(start_paused = true)]
async fn independent_work_runs_in_parallel_up_to_the_limit() {
    for (parallel, want) in [(4, 4), (1, 1)] {
        let mut h = Harness::with_latency(Duration::from_millis(20));
        h.parallel = parallel;
        let t = independent(40);
        assert_ok(&h.up(&t, &[]).await);
        assert_eq!(h.cloud.calls(Op::Create), 40);
        assert_eq!(h.cloud.max_concurrency(), want, "up at --parallel {parallel}");
        h.cloud.clear_log();
        assert_ok(&h.destroy().await);
        assert_eq!(h.cloud.count(), 0);
        assert_eq!(h.cloud.max_concurrency(), want, "destroy at --parallel {parallel}");
    }
}

// ---------------------------------------------------------------------------------------
// 4. Failure isolation

const FOUR: &str = r#"
Resources:
  A:
    Type: Test::Thing
  B:
    Type: Test::Thing
    Properties:
      Inputs: !Ref A
  C:
    Type: Test::Other
    Properties:
      Inputs: !GetAtt B.Arn
  D:
    Type: Test::Other
    Properties:
      Value: independent
"#;

#[tokio::test]
async fn a_failure_stops_only_its_dependents() {
    let h = Harness::new();
    h.cloud.fail_next(Op::Create, "B");
    let r = h.up(FOUR, &[]).await;
    assert!(!r.succeeded());
    assert!(r.journal_error.is_none());
    let failed = r.failed();
    assert_eq!(failed.len(), 1);
    let e = failed[0];
    assert_eq!(
        (e.id.as_str(), e.type_name.as_str(), e.action, e.code.as_deref()),
        ("B", "Test::Thing", Action::Create, Some("InjectedFailure"))
    );
    let shown = e.to_string();
    assert!(shown.starts_with("B (Test::Thing): create failed: InjectedFailure: "), "{shown}");
    assert!(matches!(outcome(&r, "C"), Outcome::Skipped(why) if why.contains("`B` failed")), "{:?}", outcome(&r, "C"));
    assert_eq!(*outcome(&r, "A"), Outcome::Done);
    assert_eq!(*outcome(&r, "D"), Outcome::Done);
    // What succeeded is in the state (and nothing else).
    let state = h.state().await;
    assert_eq!(state.resources.keys().cloned().collect::<Vec<_>>(), ["A", "D"]);
    assert_eq!(h.live().len(), 2);
    assert!(!h.mutations().contains(&(Op::Create, "C".to_string())));

    h.cloud.clear_failures();
    h.cloud.clear_log();
    assert_ok(&h.up(FOUR, &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "B"), (Op::Create, "C")]));
    h.assert_converged(FOUR, &[]).await;
}

#[tokio::test]
async fn a_failed_delete_keeps_what_depends_on_it() {
    let h = Harness::new();
    h.up(FOUR, &[]).await;
    h.cloud.clear_log();
    h.cloud.fail_next(Op::Delete, "B");
    let r = h.destroy().await;
    assert!(!r.succeeded());
    // C (dependent of B) is deleted first; A (B's dependency) must stay, since B still
    // exists and uses it; D is independent.
    assert!(matches!(outcome(&r, "A"), Outcome::Skipped(_)), "{:?}", outcome(&r, "A"));
    let state = h.state().await;
    assert_eq!(state.resources.keys().cloned().collect::<Vec<_>>(), ["A", "B"]);
    assert_eq!(h.live().len(), 2);
    h.cloud.clear_failures();
    assert_ok(&h.destroy().await);
    assert_eq!(h.cloud.count(), 0);
    assert!(h.state().await.is_empty());
}

// ---------------------------------------------------------------------------------------
// 5. --target and --replace

#[tokio::test]
async fn target_plans_only_the_target_and_its_dependencies() {
    let h = Harness::new();
    let popts = PlanOptions { targets: vec!["B".into()], ..Default::default() };
    let plan = h.preview_with(FOUR, &[], &popts).await;
    let ids: BTreeSet<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["A", "B"]));
    assert_ok(&h.up_with(FOUR, &[], &popts).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "A"), (Op::Create, "B")]));
    assert_eq!(h.state().await.resources.keys().cloned().collect::<Vec<_>>(), ["A", "B"]);

    // The rest, later.
    h.cloud.clear_log();
    assert_ok(&h.up(FOUR, &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "C"), (Op::Create, "D")]));
    h.assert_converged(FOUR, &[]).await;

    // A targeted run touches nothing else: not a removed resource, not a changed one.
    let v2 = r#"
Resources:
  A:
    Type: Test::Thing
  B:
    Type: Test::Thing
    Properties:
      Inputs: !Ref A
      Value: changed
  C:
    Type: Test::Other
    Properties:
      Inputs: !GetAtt B.Arn
      Value: changed too
"#;
    h.cloud.clear_log();
    let popts = PlanOptions { targets: vec!["B".into()], ..Default::default() };
    assert_ok(&h.up_with(v2, &[], &popts).await);
    assert_eq!(h.mutations(), ops(&[(Op::Update, "B")]));
    assert!(h.state().await.resources.contains_key("D"));
    let plan = h.preview(v2, &[]).await;
    let changes: Vec<(&str, Action)> = plan.changes().map(|s| (s.id.as_str(), s.action)).collect();
    assert_eq!(changes, [("C", Action::Update), ("D", Action::Delete)]);
}

#[tokio::test]
async fn replace_forces_a_replacement() {
    let h = Harness::new();
    h.up(FOUR, &[]).await;
    let (a, b) = (h.pid("A").await, h.pid("B").await);
    let popts = PlanOptions { replace: vec!["A".into()], ..Default::default() };
    let plan = h.preview_with(FOUR, &[], &popts).await;
    assert_eq!(step(&plan, "A").action, Action::Replace);
    assert_eq!(step(&plan, "A").reason.as_deref(), Some("--replace"));
    h.cloud.clear_log();
    assert_ok(&h.up_with(FOUR, &[], &popts).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "A"), (Op::Update, "B"), (Op::Delete, "A")]));
    let new_a = h.pid("A").await;
    assert_ne!(new_a, a);
    assert!(h.cloud.get(&a).is_none());
    assert_eq!(h.live_props(&b)["Inputs"], json!(new_a));
    h.assert_converged(FOUR, &[]).await;
}

// ---------------------------------------------------------------------------------------
// 6. DeletionPolicy: Retain

#[tokio::test]
async fn retained_resources_are_forgotten_never_deleted() {
    let h = Harness::new();
    let v1 = r#"
Resources:
  Keep:
    Type: Test::Thing
    DeletionPolicy: Retain
  Other:
    Type: Test::Thing
"#;
    h.up(v1, &[]).await;
    let keep = h.pid("Keep").await;
    let v2 = "Resources:\n  Other:\n    Type: Test::Thing\n";
    let plan = h.preview(v2, &[]).await;
    assert!(step(&plan, "Keep").retain);
    h.cloud.clear_log();
    assert_ok(&h.up(v2, &[]).await);
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    assert!(h.cloud.get(&keep).is_some(), "a retained resource stays in the cloud");
    assert_eq!(h.state().await.resources.keys().cloned().collect::<Vec<_>>(), ["Other"]);
    assert!(h.preview(v2, &[]).await.is_empty());

    // destroy forgets it too.
    let h = Harness::new();
    h.up(v1, &[]).await;
    let keep = h.pid("Keep").await;
    h.cloud.clear_log();
    assert_ok(&h.destroy().await);
    assert_eq!(h.mutations(), ops(&[(Op::Delete, "Other")]));
    assert!(h.cloud.get(&keep).is_some());
    assert!(h.state().await.is_empty());
}

fn protected_template(protected: bool, replace: &str) -> String {
    format!(
        r#"
Resources:
  Table:
    Type: Test::Thing
    Properties:
      Protected: {protected}
      Replace: {replace}
  Api:
    Type: Test::Thing
    Properties:
      Value: !Ref Table
  Other:
    Type: Test::Thing
"#
    )
}

/// The refusal of a run whose plan would delete a protected resource: nothing applied.
fn refused(r: Result<Option<RunResult>, EngineError>) -> cairn_core::plan::Refused {
    match r {
        Err(EngineError::Refused(refused)) => refused,
        other => panic!("the run should be refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_protected_resource_and_what_uses_it_are_never_deleted() {
    let h = Harness::new();
    h.up(&protected_template(true, "a"), &[]).await;
    let before = h.state().await;
    let stored = h.stored();
    let live = h.live();
    let table = h.pid("Table").await;

    // The plan marks the delete of the protected resource, and only that one.
    let plan = plan_destroy(&before, &h.registry, &[]);
    let marked: Vec<&str> = plan.steps.iter().filter(|s| s.protected.is_some()).map(|s| s.id.as_str()).collect();
    assert_eq!(marked, ["Table"]);

    // destroy is refused as a whole: nothing is deleted (the unrelated resource neither),
    // nothing journaled, and the refusal names the resource and how to lift it.
    h.cloud.clear_log();
    let r = refused(h.try_destroy().await);
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    assert_eq!(h.live(), live);
    assert_eq!(h.stored(), stored, "nothing is written to the state");
    assert_eq!(r.steps.len(), 1, "{r:?}");
    let e = r.steps[0].to_string();
    assert_eq!(r.steps[0].action, Action::Delete);
    assert!(e.starts_with("Table (Test::Thing): delete refused: DeletionProtected: "), "{e}");
    assert!(e.contains(&format!("Table ({table}) is protected from deletion in AWS (`Protected: true`)")), "{e}");
    assert!(e.contains("set `Protected` to false, run `cairn up`, then run this again"), "{e}");
    assert!(r.to_string().contains("the run was refused and nothing was changed"), "{r}");

    // A replacement would delete it too: refused before anything is made.
    let plan = h.preview(&protected_template(true, "b"), &[]).await;
    assert!(step(&plan, "Table").protected.is_some());
    h.cloud.clear_log();
    let r = refused(h.try_up(&protected_template(true, "b"), &[], &PlanOptions::default()).await);
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    assert_eq!(r.steps.iter().map(|s| (s.id.as_str(), s.action)).collect::<Vec<_>>(), [("Table", Action::Replace)]);
    assert!(r.steps[0].to_string().contains("a replacement would delete it, so cairn does not replace it"));
    assert_eq!(h.stored(), stored);

    // Taken out of the template: refused too, and the way out is to put it back unprotected.
    let without = "Resources:\n  Other:\n    Type: Test::Thing\n";
    let r = refused(h.try_up(without, &[], &PlanOptions::default()).await);
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    let e = r.steps[0].to_string();
    assert!(
        e.contains("it is no longer in the template: to delete it, put it back with `Protected: false`, run `cairn up`, then take it out again"),
        "{e}"
    );
    assert_eq!(h.stored(), stored);

    // Lifted in the template and applied (an update: not refused): then destroy removes
    // everything.
    assert_ok(&h.up(&protected_template(false, "a"), &[]).await);
    assert!(plan_destroy(&h.state().await, &h.registry, &[]).refusal().is_none());
    assert_ok(&h.destroy().await);
    assert!(h.live().is_empty(), "{:?}", h.live());
}

/// Two protected resources among others: every one is named, nothing at all is deleted.
/// A protected resource under `DeletionPolicy: Retain` (only forgotten), or replaced under
/// `UpdateReplacePolicy: Retain` (kept), is not refused.
#[tokio::test]
async fn every_protected_resource_is_named_and_nothing_is_deleted() {
    let h = Harness::new();
    let template = |replace: &str| {
        format!(
            r#"
Resources:
  Db:
    Type: Test::Thing
    Properties:
      Protected: true
  Pool:
    Type: Test::Thing
    Properties:
      Protected: ACTIVE
  Kept:
    Type: Test::Thing
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      Protected: true
      Replace: {replace}
  Records:
    Type: Test::Thing
    Properties:
      Value: !Ref Db
  Unrelated:
    Type: Test::Thing
"#
        )
    };
    h.up(&template("a"), &[]).await;
    let (stored, live) = (h.stored(), h.live());
    h.cloud.clear_log();
    let r = refused(h.try_destroy().await);
    let mut named: Vec<&str> = r.steps.iter().map(|s| s.id.as_str()).collect();
    named.sort();
    assert_eq!(named, ["Db", "Pool"], "{r}");
    assert!(r.to_string().contains("2 resources are protected"), "{r}");
    assert!(r.steps.iter().any(|s| s.to_string().contains("`Protected: ACTIVE`")), "{r:?}");
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    assert_eq!((h.stored(), h.live()), (stored, live));

    // Replacing the retained one keeps the old resource: not refused.
    let r = h.up(&template("b"), &[]).await;
    assert_ok(&r);
}

/// The executor's check stays as the backstop: a plan applied without the check (its
/// marks cleared) still fails the protected step, skips what uses it, and calls nothing
/// for them.
#[tokio::test]
async fn the_executor_still_refuses_a_protected_delete_it_is_given() {
    let h = Harness::new();
    h.up(&protected_template(true, "a"), &[]).await;
    let (table, api) = (h.pid("Table").await, h.pid("Api").await);
    let session = h.session().await.expect("open");
    let mut plan = plan_destroy(&session.state, &h.registry, &[]);
    for s in &mut plan.steps {
        s.protected = None;
    }
    h.cloud.clear_log();
    let journal = exec::Journal::start(Arc::new(h.backend.clone()), STACK.into(), 0);
    let r = exec::execute(&plan, None, &h.registry, session.state.clone(), journal, h.opts(), Arc::new(Quiet)).await;
    let _ = session.close().await;
    assert_eq!(h.mutations(), ops(&[(Op::Delete, "Other")]));
    match outcome(&r, "Table") {
        Outcome::Failed(e) => {
            assert_eq!(e.code.as_deref(), Some("DeletionProtected"));
            assert!(e.message.contains("set `Protected` to false, run `cairn up`"), "{}", e.message);
        }
        o => panic!("{o:?}"),
    }
    assert!(matches!(outcome(&r, "Api"), Outcome::Skipped(why) if why.contains("`Table`")), "{r:?}");
    assert!(h.cloud.get(&table).is_some() && h.cloud.get(&api).is_some());
}

/// Deletion protection given as an enum (Cognito's `DeletionProtection: ACTIVE`): on while
/// `ACTIVE`, off at `INACTIVE`.
#[tokio::test]
async fn deletion_protection_may_be_active_or_inactive() {
    let h = Harness::new();
    let template =
        |v: &str| format!("Resources:\n  Pool:\n    Type: Test::Thing\n    Properties:\n      Protected: {v}\n");
    h.up(&template("ACTIVE"), &[]).await;
    let pool = h.pid("Pool").await;
    h.cloud.clear_log();
    let r = refused(h.try_destroy().await);
    let e = r.steps.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(e.contains("`Protected: ACTIVE`"), "{e}");
    assert!(e.contains("set `Protected` to INACTIVE, run `cairn up`"), "{e}");
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    assert!(h.cloud.get(&pool).is_some());
    assert_ok(&h.up(&template("INACTIVE"), &[]).await);
    assert_ok(&h.destroy().await);
    assert!(h.live().is_empty(), "{:?}", h.live());
}

/// A user who adds `DeletionPolicy: Retain` to a deployed resource (and changes nothing
/// else) and later removes the resource expects it to be kept, as CloudFormation does.
#[tokio::test]
async fn adding_retain_later_is_recorded_and_honoured() {
    let h = Harness::new();
    let v1 = "Resources:\n  Keep:\n    Type: Test::Thing\n  Other:\n    Type: Test::Thing\n";
    h.up(v1, &[]).await;
    let keep = h.pid("Keep").await;
    let v2 =
        "Resources:\n  Keep:\n    Type: Test::Thing\n    DeletionPolicy: Retain\n  Other:\n    Type: Test::Thing\n";
    let plan = h.preview(v2, &[]).await;
    assert!(plan.changes().next().is_none(), "no resource changes");
    assert!(!plan.is_empty(), "but the new policy is to be recorded");
    assert_ok(&h.up(v2, &[]).await);
    assert!(h.mutations().len() == 2, "no call: {:?}", h.mutations());
    h.assert_converged(v2, &[]).await;
    let v3 = "Resources:\n  Other:\n    Type: Test::Thing\n";
    h.cloud.clear_log();
    assert_ok(&h.up(v3, &[]).await);
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    assert!(h.cloud.get(&keep).is_some(), "Keep was deleted although the template said Retain");
}

// ---------------------------------------------------------------------------------------
// 7. Crash recovery

/// Five resources; v2 replaces A (create-before-delete), replaces C (fixed name:
/// delete-before-create), updates B (through A) and D, removes E.
fn crash_template(v: u32) -> String {
    let (a_rep, c_rep, d_val) = if v == 1 { ("r1", "r1", "d1") } else { ("r2", "r2", "d2") };
    let e = if v == 1 { "\n  E:\n    Type: Test::Other\n    Properties:\n      Inputs: !Ref D\n" } else { "\n" };
    format!(
        r#"
Resources:
  A:
    Type: Test::Thing
    Properties:
      Value: a
      Replace: {a_rep}
  B:
    Type: Test::Thing
    Properties:
      Inputs: !Ref A
      Value: !GetAtt A.Echo
  C:
    Type: Test::Other
    Properties:
      Name: fixed-c
      Replace: {c_rep}
      Inputs: !GetAtt B.Arn
  D:
    Type: Test::Other
    Properties:
      Value: {d_val}{e}
Outputs:
  B:
    Value: !GetAtt B.Arn
"#
    )
}

/// Whether a run was cut short by the crash (journal write failed, or the final
/// compaction did).
fn crashed(r: &Result<Option<RunResult>, EngineError>) -> bool {
    match r {
        Ok(Some(r)) => r.journal_error.is_some(),
        Ok(None) => false,
        Err(EngineError::State(StateError::Io(m))) => m.contains("injected crash"),
        Err(_) => false,
    }
}

/// Appends a clean run makes.
async fn appends_of(
    setup: &[String],
    run: impl AsyncFnOnce(&Harness) -> Result<Option<RunResult>, EngineError>,
) -> u64 {
    let h = Harness::new();
    for t in setup {
        assert_ok(&h.up(t, &[]).await);
    }
    let before = h.backend.append_count();
    let r = run(&h).await;
    assert!(matches!(&r, Ok(Some(r)) if r.succeeded()), "clean run: {r:?}");
    h.backend.append_count() - before
}

#[tokio::test]
async fn up_recovers_from_a_crash_after_every_journal_append() {
    let (v1, v2) = (crash_template(1), crash_template(2));
    let none = PlanOptions::default();
    for (setup, target) in [(vec![], v1.clone()), (vec![v1.clone()], v2.clone())] {
        let n_appends = appends_of(&setup, async |h| h.try_up(&target, &[], &none).await).await;
        assert!(n_appends >= 3, "{n_appends}");
        for n in 0..=n_appends {
            let h = Harness::new();
            for t in &setup {
                assert_ok(&h.up(t, &[]).await);
            }
            h.backend.fail_after_appends(n);
            let r = h.try_up(&target, &[], &none).await;
            assert!(crashed(&r), "n={n}: the run must stop at the crash: {r:?}");
            h.backend.reset_failure();

            // The next run recovers and finishes without duplicates (the cloud refuses a
            // second resource with a fixed name, and the live set is compared below).
            let r = h.try_up(&target, &[], &none).await.unwrap_or_else(|e| panic!("n={n}: {e}"));
            if let Some(r) = &r {
                assert!(r.succeeded(), "n={n}: {:?} {:?}", r.failed(), r.journal_error);
            }
            h.assert_converged(&target, &[]).await;
            assert_eq!(h.live().len(), if target == v1 { 5 } else { 4 }, "n={n}");
        }
    }
}

#[tokio::test]
async fn destroy_recovers_from_a_crash_after_every_journal_append() {
    let v2 = crash_template(2);
    let setup = vec![crash_template(1), v2.clone()];
    let n_appends = appends_of(&setup, async |h| h.try_destroy().await).await;
    assert!(n_appends >= 2, "{n_appends}");
    for n in 0..=n_appends {
        let h = Harness::new();
        for t in &setup {
            assert_ok(&h.up(t, &[]).await);
        }
        h.backend.fail_after_appends(n);
        let r = h.try_destroy().await;
        assert!(crashed(&r), "n={n}: {r:?}");
        h.backend.reset_failure();
        if let Some(r) = h.try_destroy().await.unwrap_or_else(|e| panic!("n={n}: {e}")) {
            assert!(r.succeeded(), "n={n}: {:?}", r.failed());
        }
        assert!(h.live().is_empty(), "n={n}: {:?}", h.live());
        let state = h.state().await;
        assert!(state.is_empty() && state.outputs.is_empty(), "n={n}: {state:?}");
    }
}

/// A crash while a create-before-delete replacement is pending: the old resource and its
/// successor carry the same ownership tags, so finding "the resource the create made"
/// must not adopt the old one.
#[tokio::test]
async fn a_crash_during_a_replacement_adopts_the_new_resource_not_the_old_one() {
    // Whichever way the physical ids sort, both must work: try several seeds.
    for _ in 0..8 {
        let h = Harness::new();
        let v1 = chain("a1", "r1", None);
        let v2 = chain("a1", "r2", None);
        h.up(&v1, &[]).await;
        let old_a = h.pid("A").await;
        // The create of the new A takes effect, then the process dies before the result
        // is recorded.
        h.backend.fail_after_appends(1);
        let r = h.try_up(&v2, &[], &PlanOptions::default()).await;
        assert!(crashed(&r));
        h.backend.reset_failure();
        assert_eq!(h.live().len(), 4, "old A, new A, B, C");
        assert_ok(&h.up(&v2, &[]).await);
        h.assert_converged(&v2, &[]).await;
        assert!(h.cloud.get(&old_a).is_none(), "the old A is deleted");
    }
}

/// The replacement's create failed without effect, and the process died before it could
/// record that: recovery must not take the old resource (same ownership tags) for the
/// new one.
#[tokio::test]
async fn a_crash_after_a_failed_replacement_create_keeps_the_old_resource() {
    let h = Harness::new();
    let v1 = chain("a1", "r1", None);
    let v2 = chain("a1", "r2", None);
    h.up(&v1, &[]).await;
    let old_a = h.pid("A").await;
    h.cloud.fail_next(Op::Create, "A");
    h.backend.fail_after_appends(1);
    let r = h.try_up(&v2, &[], &PlanOptions::default()).await;
    assert!(crashed(&r));
    h.backend.reset_failure();
    assert_eq!(h.live().len(), 3);
    let state = h.state().await;
    assert_eq!(state.resources["A"].physical_id, old_a);
    assert!(state.pending_deletes.is_empty(), "{:?}", state.pending_deletes);
    assert_ok(&h.up(&v2, &[]).await);
    h.assert_converged(&v2, &[]).await;
    assert!(h.cloud.get(&old_a).is_none());
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_adopted_not_duplicated() {
    let h = Harness::new();
    h.cloud.fail_next_after_effect(Op::Create, "B");
    let r = h.try_up(FOUR, &[], &PlanOptions::default()).await.expect("up").expect("changes");
    // The create happened although the call failed: the resource is tracked, whether the
    // run adopted it at once or the next one does.
    assert_eq!(h.live().len(), if r.succeeded() { 4 } else { 3 }, "{:?}", r.failed());
    let _ = h.try_up(FOUR, &[], &PlanOptions::default()).await.expect("up");
    h.assert_converged(FOUR, &[]).await;
    assert_eq!(h.live().len(), 4);
    assert_eq!(h.cloud.calls(Op::Create), 4, "B must be created once: {:?}", h.mutations());
}

#[tokio::test]
async fn a_crash_during_a_create_whose_answer_is_lost_is_adopted_by_find() {
    let h = Harness::new();
    h.up("Resources:\n  A:\n    Type: Test::Thing\n", &[]).await;
    // The create of B takes effect, its answer is lost, and the process dies before it
    // can record anything more (only B's intent is durable).
    h.cloud.fail_next_after_effect(Op::Create, "B");
    h.backend.fail_after_appends(1);
    let r = h.try_up(FOUR, &[], &PlanOptions::default()).await;
    assert!(crashed(&r), "{r:?}");
    h.backend.reset_failure();
    h.cloud.clear_log();
    let session = h.session().await.expect("open");
    assert!(
        session
            .recovered
            .iter()
            .any(|e| matches!(e, exec::Event::Recovered { id, what, .. } if id == "B" && what.contains("adopted"))),
        "{:?}",
        session.recovered
    );
    session.close().await.unwrap();
    // D's create was interrupted too (its intent went out in the same journal batch).
    assert_eq!(h.cloud.call_log().iter().filter(|(op, id)| *op == Op::Find && id == "B").count(), 1);
    assert_ok(&h.up(FOUR, &[]).await);
    assert!(!h.mutations().contains(&(Op::Create, "B".to_string())), "{:?}", h.mutations());
    h.assert_converged(FOUR, &[]).await;
}

// ---------------------------------------------------------------------------------------
// 8. Locking

#[tokio::test]
async fn a_second_session_on_a_locked_stack_is_refused() {
    let h = Harness::new();
    let first = h.session().await.expect("first lock");
    match h.session().await {
        Err(EngineError::State(StateError::Locked { stack, holder, .. })) => {
            assert_eq!(stack, STACK);
            assert_eq!(holder.operation, "up");
        }
        Err(e) => panic!("expected Locked, got {e}"),
        Ok(_) => panic!("expected Locked, got a second session"),
    }
    // A preview needs no lock.
    assert!(h.preview(FOUR, &[]).await.changes().count() == 4);
    first.close().await.unwrap();
    h.session().await.expect("lock after release").close().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// 9. Outputs

#[tokio::test]
async fn outputs_are_known_after_up_and_a_failure_keeps_the_previous_value() {
    let h = Harness::new();
    let t = |b_value: &str| {
        format!(
            r#"
Resources:
  A:
    Type: Test::Thing
    Properties:
      Name: named-a
  B:
    Type: Test::Thing
    Properties:
      Value: {b_value}
Outputs:
  AName:
    Value: !Ref A
    Description: the name of A
  BEcho:
    Value: !Sub "echo-${{B.Echo}}"
    Export:
      Name: !Sub "${{AWS::StackName}}-echo"
"#
        )
    };
    let plan = h.preview(&t("one"), &[]).await;
    assert!(plan.outputs["BEcho"].value.contains_unknown(), "known after up");
    h.up(&t("one"), &[]).await;
    let outs = h.state().await.outputs;
    assert_eq!(outs["AName"].value, Value::String("named-a".into()));
    assert_eq!(outs["AName"].description.as_deref(), Some("the name of A"));
    assert_eq!(outs["BEcho"].value, Value::String("echo-one".into()));
    assert_eq!(outs["BEcho"].export_name.as_deref(), Some("test-dev-echo"));

    // A preview shows what is known: A's name, not B's new Echo (known after up).
    let plan = h.preview(&t("two"), &[]).await;
    assert_eq!(plan.outputs["AName"].value, Value::String("named-a".into()));
    assert!(plan.outputs["BEcho"].value.contains_unknown());
    assert!(plan.outputs_changed);

    h.cloud.fail_next(Op::Update, "B");
    let r = h.up(&t("two"), &[]).await;
    assert!(!r.succeeded());
    assert_eq!(h.state().await.outputs["BEcho"].value, Value::String("echo-one".into()), "B was not updated");
    h.cloud.clear_failures();
    assert_ok(&h.up(&t("two"), &[]).await);
    assert_eq!(h.state().await.outputs["BEcho"].value, Value::String("echo-two".into()));
    h.assert_converged(&t("two"), &[]).await;
}

#[tokio::test]
async fn a_failed_replacement_keeps_the_previous_output() {
    let h = Harness::new();
    let v1 = chain("a1", "r1", None);
    h.up(&v1, &[]).await;
    let old = h.state().await.outputs["AId"].clone();
    h.cloud.fail_next(Op::Create, "A");
    let r = h.up(&chain("a1", "r2", None), &[]).await;
    assert!(!r.succeeded());
    let state = h.state().await;
    assert_eq!(state.outputs["AId"], old);
    assert_eq!(state.resources["A"].physical_id, old.value.as_str().unwrap());
    assert!(h.cloud.get(old.value.as_str().unwrap()).is_some());
}

// ---------------------------------------------------------------------------------------
// 10. Refresh

async fn refresh(h: &Harness) -> usize {
    let mut session = h.session().await.expect("open");
    let changes = refresh::refresh(&session.state, &h.registry, &h.opts(), &Quiet).await.expect("refresh").changes;
    let n = changes.len();
    session.record(changes).await.expect("record");
    session.close().await.unwrap();
    // A refresh reads only.
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    n
}

#[tokio::test]
async fn refresh_records_drift_and_the_next_plan_restores_the_template() {
    let h = Harness::new();
    h.up(FOUR, &[]).await;
    let d = h.pid("D").await;
    // Someone changes D by hand.
    let mut live = h.cloud.get(&d).unwrap();
    live.properties = json!({"Value": "edited by hand"});
    h.cloud.insert(live);
    h.cloud.clear_log();
    assert_eq!(refresh(&h).await, 1);
    let state = h.state().await;
    assert_eq!(
        state.resources["D"].drift,
        Some(Value::Map(BTreeMap::from([("Value".into(), Value::String("edited by hand".into()))])))
    );
    let plan = h.preview(FOUR, &[]).await;
    let changes: Vec<(&str, Action)> = plan.changes().map(|s| (s.id.as_str(), s.action)).collect();
    assert_eq!(changes, [("D", Action::Update)]);
    assert_ok(&h.up(FOUR, &[]).await);
    assert_eq!(h.live_props(&d), json!({"Value": "independent"}));
    assert_eq!(h.state().await.resources["D"].drift, None, "drift is cleared once repaired");
    h.assert_converged(FOUR, &[]).await;

    // A refresh with nothing changed records nothing.
    h.cloud.clear_log();
    assert_eq!(refresh(&h).await, 0);
}

#[tokio::test]
async fn refresh_forgets_a_deleted_resource_and_the_next_plan_creates_it() {
    let h = Harness::new();
    h.up(FOUR, &[]).await;
    let c = h.pid("C").await;
    assert!(h.cloud.remove(&c).is_some());
    h.cloud.clear_log();
    assert_eq!(refresh(&h).await, 1);
    assert!(!h.state().await.resources.contains_key("C"));
    let plan = h.preview(FOUR, &[]).await;
    let changes: Vec<(&str, Action)> = plan.changes().map(|s| (s.id.as_str(), s.action)).collect();
    assert_eq!(changes, [("C", Action::Create)]);
    h.cloud.clear_log();
    assert_ok(&h.up(FOUR, &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "C")]));
    h.assert_converged(FOUR, &[]).await;
}

/// D changed and C deleted behind cairn's back.
async fn drifted_four() -> (Harness, String, String) {
    let h = Harness::new();
    assert_ok(&h.up(FOUR, &[]).await);
    let (c, d) = (h.pid("C").await, h.pid("D").await);
    let mut live = h.cloud.get(&d).unwrap();
    live.properties = json!({"Value": "edited by hand"});
    h.cloud.insert(live);
    assert!(h.cloud.remove(&c).is_some());
    h.cloud.clear_log();
    (h, c, d)
}

#[tokio::test]
async fn preview_refresh_shows_a_changed_and_a_deleted_resource_as_drift() {
    let (h, _, d) = drifted_four().await;
    // Without --refresh the preview sees only the state.
    assert!(h.preview(FOUR, &[]).await.is_empty());

    let plan = h.preview_refresh(FOUR, &[]).await;
    let changes: Vec<(&str, Action)> = plan.changes().map(|s| (s.id.as_str(), s.action)).collect();
    assert_eq!(changes, [("C", Action::Create), ("D", Action::Update)]);
    // D: the drifted property, old = what cairn recorded, new = what the cloud holds; and
    // the update sets the template's value back.
    let dstep = step(&plan, "D");
    let Some(Drift::Changed { changes }) = &dstep.drift else { panic!("D has no drift: {dstep:?}") };
    let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Value"]);
    assert_eq!(changes[0].old, Some(Value::String("independent".into())));
    assert_eq!(changes[0].new, Some(Value::String("edited by hand".into())));
    assert!(!changes[0].forces_replacement);
    let names: Vec<&str> = dstep.changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Value"]);
    assert_eq!(dstep.changes[0].old, Some(Value::String("edited by hand".into())));
    assert_eq!(dstep.changes[0].new, Some(Value::String("independent".into())));
    assert_eq!(dstep.physical_id.as_deref(), Some(d.as_str()));
    // C: deleted, created again.
    assert_eq!(step(&plan, "C").drift, Some(Drift::Deleted));
    // The others did not drift.
    assert_eq!(step(&plan, "A").drift, None);
    assert_eq!(step(&plan, "B").drift, None);
    // The drift of a step is serialised with it (the CLI's --json builds on it).
    let j = serde_json::to_value(step(&plan, "C")).unwrap();
    assert_eq!(j["drift"], json!({"kind": "deleted"}));
}

#[tokio::test]
async fn preview_refresh_only_reads_and_leaves_the_state_as_it_was() {
    let (h, _, _) = drifted_four().await;
    let stored = h.stored();
    let appends = h.backend.append_count();
    let plan = h.preview_refresh(FOUR, &[]).await;
    assert!(!plan.is_empty());
    let log = h.cloud.call_log();
    assert!(log.iter().all(|(op, _)| *op == Op::Read), "preview --refresh may only read: {log:?}");
    let read: BTreeSet<&str> = log.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(read, BTreeSet::from(["A", "B", "C", "D"]), "every resource is read once");
    assert_eq!(log.len(), 4);
    assert_eq!(h.stored(), stored, "the state is byte-identical");
    assert_eq!(h.backend.append_count(), appends, "nothing was appended");
}

#[tokio::test]
async fn up_refresh_records_the_drift_then_repairs_it() {
    let (h, _, d) = drifted_four().await;
    let r = h.up_refresh(FOUR, &[]).await.expect("the plan has changes");
    assert_ok(&r);
    let log = h.cloud.call_log();
    // Every resource is read first, then only the drift is repaired.
    assert!(log[..4].iter().all(|(op, _)| *op == Op::Read), "{log:?}");
    assert_eq!(h.mutations(), ops(&[(Op::Create, "C"), (Op::Update, "D")]));
    assert_eq!(h.live_props(&d), json!({"Value": "independent"}));
    assert_eq!(h.state().await.resources["D"].drift, None, "drift is cleared once repaired");
    h.assert_converged(FOUR, &[]).await;
    // Nothing is left for a refreshing preview either, and the next up --refresh has
    // nothing to do.
    assert!(h.preview_refresh(FOUR, &[]).await.is_empty());
    h.cloud.clear_log();
    assert!(h.up_refresh(FOUR, &[]).await.is_none());
    assert!(h.mutations().is_empty());
}

/// The refreshed state is recorded (journaled) before anything is applied: a crash right
/// after that append leaves the drift in the state and nothing changed in the cloud.
#[tokio::test]
async fn up_refresh_journals_the_refreshed_state_before_it_applies() {
    let (h, _, _) = drifted_four().await;
    h.backend.fail_after_appends(1);
    assert!(h.try_up_refresh(FOUR, &[]).await.is_err(), "the crash stops the run");
    h.backend.reset_failure();
    assert!(h.mutations().is_empty(), "nothing applied: {:?}", h.mutations());
    let state = h.state().await;
    assert!(!state.resources.contains_key("C"), "C was deleted outside cairn: forgotten");
    assert_eq!(
        state.resources["D"].drift,
        Some(Value::Map(BTreeMap::from([("Value".into(), Value::String("edited by hand".into()))])))
    );
    // The next up --refresh repairs it.
    assert_ok(&h.up_refresh(FOUR, &[]).await.expect("changes"));
    h.assert_converged(FOUR, &[]).await;
}

#[tokio::test]
async fn drift_up_only_records_is_shown_and_is_a_change() {
    let h = Harness::new();
    assert_ok(&h.up(FOUR, &[]).await);
    // D changed outside cairn to what the template now says; C deleted, and removed from
    // the template.
    let d = h.pid("D").await;
    let mut live = h.cloud.get(&d).unwrap();
    live.properties = json!({"Value": "by hand"});
    h.cloud.insert(live);
    h.cloud.remove(&h.pid("C").await);
    let template = FOUR.replace("Value: independent", "Value: by hand");
    let template =
        format!("{}{}", &template[..template.find("  C:").unwrap()], &template[template.find("  D:").unwrap()..]);
    h.cloud.clear_log();
    let plan = h.preview_refresh(&template, &[]).await;
    assert_eq!(plan.changes().count(), 0, "no resource changes: {:?}", plan.steps);
    assert!(!plan.is_empty(), "drift is recorded by up, so the plan is not empty");
    let d_step = step(&plan, "D");
    assert_eq!(d_step.action, Action::Same);
    assert!(matches!(&d_step.drift, Some(Drift::Changed { changes }) if changes[0].name == "Value"));
    let c_step = step(&plan, "C");
    assert_eq!((c_step.action, c_step.drift.clone()), (Action::Same, Some(Drift::Deleted)));
    assert_eq!(c_step.reason.as_deref(), Some("removed from the template"));
    // up --refresh records it without calling anything that mutates.
    assert_ok(&h.up_refresh(&template, &[]).await.expect("drift to record"));
    assert!(h.mutations().is_empty(), "{:?}", h.mutations());
    h.assert_converged(&template, &[]).await;
    assert!(h.preview_refresh(&template, &[]).await.is_empty());
}

#[tokio::test]
async fn write_only_properties_and_secrets_are_never_compared() {
    let cloud = TestCloud::new();
    let mut reg = registry(&cloud, Duration::ZERO);
    reg.register(Arc::new(cairn_testkit::TestType::new("Test::Login", &cloud).with_write_only(&["Value"])));
    let h = Harness { cloud, registry: reg, backend: MemoryBackend::new(), parallel: 4, files: BTreeMap::new() };
    let t = r#"
Parameters:
  Password:
    Type: String
    NoEcho: true
Resources:
  Login:
    Type: Test::Login
    Properties:
      Value: initial password
  Keeper:
    Type: Test::Thing
    Properties:
      Inputs: !Ref Password
"#;
    assert_ok(&h.up(t, &[("Password", "s3cret")]).await);
    h.cloud.clear_log();
    // The cloud gives back neither Login's write-only Value nor (compared) Keeper's secret.
    assert!(h.preview_refresh(t, &[("Password", "s3cret")]).await.is_empty());
    // Changed in the cloud: still not compared.
    let keeper = h.pid("Keeper").await;
    let mut live = h.cloud.get(&keeper).unwrap();
    live.properties = json!({"Inputs": "rotated by hand"});
    h.cloud.insert(live);
    let login = h.pid("Login").await;
    let mut live = h.cloud.get(&login).unwrap();
    live.properties = json!({"Value": "reset by hand"});
    h.cloud.insert(live);
    let plan = h.preview_refresh(t, &[("Password", "s3cret")]).await;
    assert!(plan.is_empty(), "{:?}", plan.steps);
    // `cairn refresh` records no drift either, and keeps the recorded inputs.
    let before = h.state().await;
    h.cloud.clear_log();
    refresh(&h).await;
    let after = h.state().await;
    for id in ["Login", "Keeper"] {
        assert_eq!(after.resources[id].drift, None, "{id}");
        assert_eq!(after.resources[id].inputs, before.resources[id].inputs, "{id}");
    }
}

#[tokio::test(start_paused = true)]
async fn refresh_reads_in_parallel_up_to_the_limit() {
    for parallel in [1, 4, 16] {
        let mut h = Harness::with_latency(Duration::from_millis(20));
        h.parallel = 16;
        assert_ok(&h.up(&independent(40), &[]).await);
        h.parallel = parallel;
        h.cloud.clear_log();
        assert_eq!(refresh(&h).await, 0);
        assert_eq!(h.cloud.calls(Op::Read), 40);
        assert_eq!(h.cloud.max_concurrency(), parallel, "refresh at --parallel {parallel}");
        h.cloud.clear_log();
        assert!(h.preview_refresh(&independent(40), &[]).await.is_empty());
        assert_eq!(h.cloud.max_concurrency(), parallel, "preview --refresh at --parallel {parallel}");
    }
}

#[tokio::test]
async fn a_failed_read_fails_the_refresh_and_names_the_resource() {
    let (h, _, _) = drifted_four().await;
    h.cloud.fail_next(Op::Read, "B");
    let state = h.state().await;
    let e = refresh::refresh(&state, &h.registry, &h.opts(), &Quiet).await.expect_err("B's read fails");
    assert_eq!(e.id, "B");
    assert_eq!(e.code.as_deref(), Some("InjectedFailure"));
    assert!(e.message.starts_with("refresh: "), "{e}");
}

/// A resource deleted behind cairn's back without a refresh: destroy still finishes (the
/// delete finds it gone).
#[tokio::test]
async fn destroy_tolerates_a_resource_deleted_outside_cairn() {
    let h = Harness::new();
    h.up(FOUR, &[]).await;
    h.cloud.remove(&h.pid("D").await);
    assert_ok(&h.destroy().await);
    assert!(h.state().await.is_empty());
    assert_eq!(h.cloud.count(), 0);
}

// ---------------------------------------------------------------------------------------
// Components, DependsOn and UpdateReplacePolicy

const TWO_SITES: &str = r#"
Resources:
  Base:
    Type: Test::Thing
  Gate:
    Type: Test::Other
  First:
    Type: ./components/site.yaml
    DependsOn: Gate
    Properties:
      Label: first
      Upstream: !Ref Base
  Second:
    Type: ./components/site.yaml
    Properties:
      Label: second
      Upstream: second
"#;

#[tokio::test]
async fn a_component_can_be_targeted_and_replaced_as_a_whole() {
    let h = Harness::new().file("components/site.yaml", SITE);
    let popts = PlanOptions { targets: vec!["First".into()], ..Default::default() };
    assert_ok(&h.up_with(TWO_SITES, &[], &popts).await);
    let ids: BTreeSet<String> = h.state().await.resources.keys().cloned().collect();
    // The component's resources, what they reference, and what the component DependsOn.
    assert_eq!(ids, BTreeSet::from(["Base", "Gate", "First.Bucket", "First.Policy"].map(String::from)));
    let log = h.mutations();
    let at = |id: &str| log.iter().position(|(o, i)| *o == Op::Create && i == id).unwrap();
    assert!(
        at("Gate") < at("First.Bucket") && at("Base") < at("First.Bucket") && at("First.Bucket") < at("First.Policy"),
        "{log:?}"
    );
    assert_ok(&h.up(TWO_SITES, &[]).await);
    h.assert_converged(TWO_SITES, &[]).await;

    let before = h.state().await;
    let popts = PlanOptions { replace: vec!["First".into()], ..Default::default() };
    h.cloud.clear_log();
    assert_ok(&h.up_with(TWO_SITES, &[], &popts).await);
    let after = h.state().await;
    for id in ["First.Bucket", "First.Policy"] {
        assert_ne!(before.resources[id].physical_id, after.resources[id].physical_id, "{id} is replaced");
        assert!(h.cloud.get(&before.resources[id].physical_id).is_none());
    }
    for id in ["Base", "Gate", "Second.Bucket", "Second.Policy"] {
        assert_eq!(before.resources[id].physical_id, after.resources[id].physical_id, "{id} is untouched");
    }
    h.assert_converged(TWO_SITES, &[]).await;
}

#[tokio::test]
async fn update_replace_policy_retain_keeps_the_old_resource() {
    let h = Harness::new();
    let t = |rep: &str| {
        format!("Resources:\n  A:\n    Type: Test::Thing\n    UpdateReplacePolicy: Retain\n    Properties:\n      Replace: {rep}\n")
    };
    h.up(&t("r1"), &[]).await;
    let old = h.pid("A").await;
    h.cloud.clear_log();
    assert_ok(&h.up(&t("r2"), &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "A")]));
    assert!(h.cloud.get(&old).is_some(), "the old resource is kept");
    assert_ne!(h.pid("A").await, old);
    assert!(h.state().await.pending_deletes.is_empty());
    assert!(h.preview(&t("r2"), &[]).await.is_empty());
}

/// The final snapshots `Test::Db`'s deletes left in the cloud, by physical id.
fn snapshots(h: &Harness) -> BTreeSet<String> {
    h.cloud
        .live_resources()
        .into_iter()
        .filter(|r| r.type_name == "Test::Db::Snapshot")
        .map(|r| r.physical_id)
        .collect()
}

#[tokio::test]
async fn deletion_policy_snapshot_takes_a_final_snapshot_and_is_the_default_where_supported() {
    let h = Harness::new();
    let v1 = r#"
Resources:
  Db:
    Type: Test::Db
  Scratch:
    Type: Test::Db
    DeletionPolicy: Delete
  Kept:
    Type: Test::Db
    DeletionPolicy: Retain
  Other:
    Type: Test::Thing
"#;
    h.up(v1, &[]).await;
    let (db, scratch, kept) = (h.pid("Db").await, h.pid("Scratch").await, h.pid("Kept").await);
    // As in CloudFormation, a type that takes final snapshots defaults to `Snapshot`.
    let plan = plan_destroy(&h.state().await, &h.registry, &[]);
    assert!(step(&plan, "Db").snapshot && !step(&plan, "Db").retain);
    assert!(!step(&plan, "Scratch").snapshot && !step(&plan, "Other").snapshot);
    assert!(step(&plan, "Kept").retain && !step(&plan, "Kept").snapshot);

    assert_ok(&h.destroy().await);
    assert!(h.cloud.get(&db).is_none() && h.cloud.get(&scratch).is_none());
    assert!(h.cloud.get(&kept).is_some(), "a retained resource stays");
    assert_eq!(snapshots(&h), BTreeSet::from([format!("{db}-final-snapshot")]));

    // Removing it from the template takes the snapshot too.
    let h = Harness::new();
    h.up("Resources:\n  Db:\n    Type: Test::Db\n  Other:\n    Type: Test::Thing\n", &[]).await;
    let db = h.pid("Db").await;
    let v2 = "Resources:\n  Other:\n    Type: Test::Thing\n";
    assert!(step(&h.preview(v2, &[]).await, "Db").snapshot);
    assert_ok(&h.up(v2, &[]).await);
    assert_eq!(snapshots(&h), BTreeSet::from([format!("{db}-final-snapshot")]));
}

#[tokio::test]
async fn deletion_policy_follows_a_condition_or_a_parameter() {
    let t = r#"
Parameters:
  Env: {Type: String}
  Policy: {Type: String, Default: Delete}
Conditions:
  Keep: !Equals [!Ref Env, staging]
Resources:
  ByCondition:
    Type: Test::Db
    DeletionPolicy: !If [Keep, Snapshot, Delete]
  ByParameter:
    Type: Test::Db
    DeletionPolicy: !Ref Policy
"#;
    for (env, policy, by_condition, by_parameter) in
        [("dev", "Delete", false, false), ("staging", "Snapshot", true, true), ("dev", "Snapshot", false, true)]
    {
        let h = Harness::new();
        h.up(t, &[("Env", env), ("Policy", policy)]).await;
        let plan = plan_destroy(&h.state().await, &h.registry, &[]);
        assert_eq!(step(&plan, "ByCondition").snapshot, by_condition, "{env} {policy}");
        assert_eq!(step(&plan, "ByParameter").snapshot, by_parameter, "{env} {policy}");
        assert_ok(&h.destroy().await);
        assert_eq!(snapshots(&h).len(), by_condition as usize + by_parameter as usize);
    }
    // A changed policy alone is recorded (no provider call) and honoured later.
    let h = Harness::new();
    h.up(t, &[("Env", "dev")]).await;
    h.cloud.clear_log();
    assert_ok(&h.up(t, &[("Env", "staging")]).await);
    assert!(h.mutations().is_empty());
    assert!(step(&plan_destroy(&h.state().await, &h.registry, &[]), "ByCondition").snapshot);
}

#[tokio::test]
async fn snapshot_is_refused_where_the_type_cannot_take_one_and_a_bad_policy_value_is_named() {
    let h = Harness::new();
    let build = |yaml: &str, params: &str| {
        let loader = MemoryLoader(BTreeMap::from([("template.yaml".to_string(), yaml.to_string())]));
        let template = load_template(&loader, "template.yaml").expect("template");
        let mut parameters = IndexMap::new();
        if !params.is_empty() {
            let NodeValue::Map(m) = parse_document(params, "stacks/dev.yaml").expect("params").value else {
                panic!("a mapping")
            };
            for (k, v) in m.entries {
                parameters.insert(k.name, v);
            }
        }
        let inputs = StackInputs {
            project: PROJECT.into(),
            stack: STACK.into(),
            region: "us-east-1".into(),
            account_id: None,
            partition: "aws".into(),
            parameters,
            secret_parameters: Default::default(),
            sealed_parameters: Default::default(),
            exports: BTreeMap::new(),
            assets: Default::default(),
            ssm: Default::default(),
        };
        DesiredGraph::build(&template, inputs, &h.registry).expect_err("refused").0
    };
    let d = build("Resources:\n  B:\n    Type: Test::Thing\n    DeletionPolicy: Snapshot\n", "");
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].message,
        "B: DeletionPolicy `Snapshot` is not supported by Test::Thing, which cannot take a snapshot"
    );
    let span = d[0].span.as_ref().expect("a place");
    assert_eq!((span.line, span.col), (4, 21));
    assert!(d[0].help.as_deref().unwrap().contains("types that take a final snapshot: Test::Db"), "{:?}", d[0].help);
    let d = build("Resources:\n  B:\n    Type: Test::Thing\n    UpdateReplacePolicy: Snapshot\n", "");
    assert!(
        d[0].message.contains("UpdateReplacePolicy `Snapshot` is not supported by Test::Thing"),
        "{}",
        d[0].message
    );
    let t = "Parameters:\n  P: {Type: String}\nResources:\n  B:\n    Type: Test::Db\n    DeletionPolicy: !Ref P\n";
    let d = build(t, "P: Snapshoot\n");
    assert_eq!(d[0].message, "unknown DeletionPolicy `Snapshoot`");
    assert_eq!(d[0].help.as_deref(), Some("did you mean `Snapshot`?"));
}

#[tokio::test]
async fn update_replace_policy_snapshot_snapshots_the_old_resource() {
    // Create before delete: the old one is retired, then deleted after its snapshot.
    let h = Harness::new();
    let t = |rep: &str| {
        format!("Resources:\n  A:\n    Type: Test::Db\n    UpdateReplacePolicy: Snapshot\n    Properties:\n      Replace: {rep}\n")
    };
    h.up(&t("r1"), &[]).await;
    let old = h.pid("A").await;
    let plan = h.preview(&t("r2"), &[]).await;
    assert_eq!(step(&plan, "A").replace_mode, Some(ReplaceMode::CreateBeforeDelete));
    assert!(step(&plan, "A").snapshot);
    h.cloud.clear_log();
    assert_ok(&h.up(&t("r2"), &[]).await);
    assert_eq!(h.mutations(), ops(&[(Op::Create, "A"), (Op::Delete, "A")]));
    assert!(h.cloud.get(&old).is_none());
    assert_eq!(snapshots(&h), BTreeSet::from([format!("{old}-final-snapshot")]));
    // The new one's own DeletionPolicy is still the type's default.
    assert!(step(&plan_destroy(&h.state().await, &h.registry, &[]), "A").snapshot);

    // Delete before create (a fixed name): the snapshot is taken before the delete.
    let h = Harness::new();
    let t = |rep: &str| {
        format!("Resources:\n  A:\n    Type: Test::Db\n    DeletionPolicy: Delete\n    UpdateReplacePolicy: Snapshot\n    Properties:\n      Name: db-a\n      Replace: {rep}\n")
    };
    h.up(&t("r1"), &[]).await;
    assert_ok(&h.up(&t("r2"), &[]).await);
    assert_eq!(snapshots(&h), BTreeSet::from(["db-a-final-snapshot".to_string()]));
    assert_eq!(h.live_props("db-a")["Replace"], "r2");

    // Without it, a replacement takes no snapshot even where the DeletionPolicy would.
    let h = Harness::new();
    let t = |rep: &str| format!("Resources:\n  A:\n    Type: Test::Db\n    Properties:\n      Replace: {rep}\n");
    h.up(&t("r1"), &[]).await;
    assert!(!step(&h.preview(&t("r2"), &[]).await, "A").snapshot);
    assert_ok(&h.up(&t("r2"), &[]).await);
    assert!(snapshots(&h).is_empty());
}

#[tokio::test]
async fn a_crash_during_a_snapshot_replacement_still_snapshots_the_old_resource() {
    let t = |rep: &str| {
        format!("Resources:\n  A:\n    Type: Test::Db\n    DeletionPolicy: Delete\n    UpdateReplacePolicy: Snapshot\n    Properties:\n      Replace: {rep}\n")
    };
    let h = Harness::new();
    h.up(&t("r1"), &[]).await;
    let old = h.pid("A").await;
    // The new A is created, then the process dies before the result is recorded.
    h.backend.fail_after_appends(1);
    assert!(crashed(&h.try_up(&t("r2"), &[], &PlanOptions::default()).await));
    h.backend.reset_failure();
    // Recovery adopts the new A and retires the old one, which the next up deletes after
    // its snapshot.
    assert_ok(&h.up(&t("r2"), &[]).await);
    assert!(h.cloud.get(&old).is_none());
    assert_eq!(snapshots(&h), BTreeSet::from([format!("{old}-final-snapshot")]));
    h.assert_converged(&t("r2"), &[]).await;

    // With `UpdateReplacePolicy: Retain`, recovery keeps the old one.
    let t = |rep: &str| {
        format!("Resources:\n  A:\n    Type: Test::Thing\n    UpdateReplacePolicy: Retain\n    Properties:\n      Replace: {rep}\n")
    };
    let h = Harness::new();
    h.up(&t("r1"), &[]).await;
    let old = h.pid("A").await;
    h.backend.fail_after_appends(1);
    assert!(crashed(&h.try_up(&t("r2"), &[], &PlanOptions::default()).await));
    h.backend.reset_failure();
    // Recovery adopts the new A and forgets the old one: nothing is left to do.
    let r = h.try_up(&t("r2"), &[], &PlanOptions::default()).await.expect("up");
    assert!(r.is_none(), "nothing to do after recovery");
    assert!(h.cloud.get(&old).is_some(), "the old resource is kept");
    assert!(h.state().await.pending_deletes.is_empty());
}

// ---------------------------------------------------------------------------------------
// 9. Partial failures: a failure is a failure, and the state holds what AWS holds
//    (invariant 9). `Test::Multi` makes one call per setting, so a create or update can be
//    cut at every position, refused or with its answer lost.

/// M (Test::Multi) with `settings`, and N depending on it.
fn multi(settings: &[(&str, i64)], inputs: &str) -> String {
    let settings: String = settings.iter().map(|(k, v)| format!("\n        {k}: {v}")).collect();
    let settings = if settings.is_empty() { String::new() } else { format!("\n      Settings:{settings}") };
    format!(
        r#"
Resources:
  M:
    Type: Test::Multi
    Properties:
      Inputs: {inputs}{settings}
  N:
    Type: Test::Thing
    Properties:
      Inputs: !GetAtt M.Arn
"#
    )
}

impl Harness {
    /// M's live settings and what the state records of them (both `None` when M is not
    /// tracked, and the live side `None` when it does not exist).
    async fn multi_settings(&self) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
        let state = self.state().await;
        let Some(m) = state.resources.get("M") else { return (None, None) };
        let live = self.cloud.get(&m.physical_id).map(|r| r.properties.get("Settings").cloned().unwrap_or(json!({})));
        let recorded = m.inputs.to_json().map(|j| j.get("Settings").cloned().unwrap_or(json!({})));
        (live, recorded)
    }
}

fn mutating_calls(h: &Harness, id: &str) -> usize {
    h.cloud
        .call_log()
        .iter()
        .filter(|(op, i)| i == id && matches!(op, Op::Create | Op::Update | Op::Delete | Op::Set | Op::Unset))
        .count()
}

#[tokio::test]
async fn a_create_cut_at_any_call_fails_and_the_state_holds_what_aws_holds() {
    let full = [("a", 1), ("b", 2), ("c", 3)];
    let t = multi(&full, "one");
    // Four calls: the create, then one per setting.
    for position in 0..4 {
        for lost_answer in [false, true] {
            let case = format!("position {position}, answer lost: {lost_answer}");
            let h = Harness::new();
            h.cloud.fail_nth_mutation("M", position, lost_answer);
            let r = h.up(&t, &[]).await;
            // Calls that took effect: those before the cut, and the cut one when only its
            // answer was lost.
            let applied = position + usize::from(lost_answer);
            if applied == 4 {
                // Everything took effect; only the last answer was lost: found, read back,
                // and truthfully done.
                assert_ok(&r);
                h.assert_converged(&t, &[]).await;
                continue;
            }
            assert!(!r.succeeded(), "{case}: the run must fail");
            match outcome(&r, "M") {
                Outcome::Failed(e) => {
                    assert_eq!(e.code.as_deref(), Some("InjectedFailure"), "{case}");
                    assert_eq!(e.note.is_some(), applied > 0, "{case}: {e:?}");
                }
                o => panic!("{case}: M must fail, got {o:?}"),
            }
            assert!(matches!(outcome(&r, "N"), Outcome::Skipped(_)), "{case}: N depends on M");
            // The state tracks exactly what exists, with what AWS holds.
            let state = h.state().await;
            let tracked: BTreeSet<(String, String)> =
                state.resources.values().map(|r| (r.id.clone(), r.physical_id.clone())).collect();
            assert_eq!(tracked, h.live(), "{case}");
            let (live, recorded) = h.multi_settings().await;
            if applied == 0 {
                assert!(h.live().is_empty(), "{case}");
            } else {
                let expect: serde_json::Map<String, serde_json::Value> =
                    full[..applied - 1].iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                assert_eq!(live, Some(json!(expect)), "{case}");
                assert_eq!(recorded, live, "{case}: the state records what AWS holds");
                // The next preview shows the missing settings as an update, not "no changes".
                let plan = h.preview(&t, &[]).await;
                assert_eq!(step(&plan, "M").action, Action::Update, "{case}");
                assert_eq!(step(&plan, "M").changes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Settings"]);
            }
            // The next up converges, making exactly the missing calls (M created once).
            h.cloud.clear_log();
            assert_ok(&h.up(&t, &[]).await);
            let missing = if applied == 0 { 4 } else { 4 - applied };
            assert_eq!(mutating_calls(&h, "M"), missing, "{case}: {:?}", h.cloud.call_log());
            h.assert_converged(&t, &[]).await;
            assert_eq!(h.live().len(), 2, "{case}");
        }
    }
}

#[tokio::test]
async fn an_update_cut_at_any_call_fails_and_the_state_holds_what_aws_holds() {
    let v1 = multi(&[("a", 1), ("b", 2), ("c", 3)], "one");
    // Five calls: Inputs (update), set a, unset b, set c, set d.
    let v2 = multi(&[("a", 10), ("c", 30), ("d", 4)], "two");
    for position in 0..5 {
        for lost_answer in [false, true] {
            let case = format!("position {position}, answer lost: {lost_answer}");
            let h = Harness::new();
            assert_ok(&h.up(&v1, &[]).await);
            h.cloud.fail_nth_mutation("M", position, lost_answer);
            h.cloud.clear_log();
            let r = h.up(&v2, &[]).await;
            let applied = position + usize::from(lost_answer);
            assert_eq!(mutating_calls(&h, "M"), position + 1, "{case}: the update stops at the failed call");
            if applied == 5 {
                assert_ok(&r);
                h.assert_converged(&v2, &[]).await;
                continue;
            }
            assert!(matches!(outcome(&r, "M"), Outcome::Failed(e) if e.note.is_some()), "{case}: {:?}", r.steps);
            let (live, recorded) = h.multi_settings().await;
            assert_eq!(recorded, live, "{case}: the state records what AWS holds");
            let state = h.state().await;
            let live_inputs = h.live_props(&state.resources["M"].physical_id)["Inputs"].clone();
            assert_eq!(state.resources["M"].inputs.to_json().unwrap()["Inputs"], live_inputs, "{case}");
            // The next up makes exactly the calls still missing.
            h.cloud.clear_log();
            assert_ok(&h.up(&v2, &[]).await);
            assert_eq!(mutating_calls(&h, "M"), 5 - applied, "{case}: {:?}", h.cloud.call_log());
            h.assert_converged(&v2, &[]).await;
        }
    }
}

#[tokio::test]
async fn crash_recovery_records_what_a_cut_create_or_update_left() {
    let v1 = multi(&[("a", 1), ("b", 2)], "one");
    let v2 = multi(&[("a", 10), ("b", 20)], "two");
    // A create cut after its second call (set a), and the process killed before the
    // result is journaled: recovery finds M and records what AWS holds.
    let h = Harness::new();
    h.cloud.fail_nth_mutation("M", 2, false);
    h.backend.fail_after_appends(1);
    assert!(crashed(&h.try_up(&v1, &[], &PlanOptions::default()).await));
    h.backend.reset_failure();
    h.cloud.clear_failures();
    let (live, recorded) = h.multi_settings().await;
    assert_eq!(live, Some(json!({"a": 1})));
    assert_eq!(recorded, live, "recovery records what read returns, not the desired inputs");
    h.cloud.clear_log();
    assert_ok(&h.up(&v1, &[]).await);
    assert_eq!(h.cloud.calls(Op::Create), 1, "N only: M is adopted, not created again");
    h.assert_converged(&v1, &[]).await;

    // An update cut after its first two calls, then killed: recovery records the new
    // Inputs and a=10, with b still 2, and the next up sets b only.
    h.cloud.fail_nth_mutation("M", 2, false);
    h.backend.fail_after_appends(1);
    assert!(crashed(&h.try_up(&v2, &[], &PlanOptions::default()).await));
    h.backend.reset_failure();
    let (live, recorded) = h.multi_settings().await;
    assert_eq!(live, Some(json!({"a": 10, "b": 2})));
    assert_eq!(recorded, live);
    h.cloud.clear_log();
    assert_ok(&h.up(&v2, &[]).await);
    assert_eq!(h.mutations(), ops(&[]), "no create, update or delete");
    assert_eq!(mutating_calls(&h, "M"), 1, "{:?}", h.cloud.call_log());
    h.assert_converged(&v2, &[]).await;
}

#[tokio::test]
async fn a_provider_panic_fails_its_own_step_not_the_run() {
    let h = Harness::new();
    h.cloud.panic_next(Op::Create, "B");
    let r = h.up(FOUR, &[]).await;
    assert!(r.journal_error.is_none());
    match outcome(&r, "B") {
        Outcome::Failed(e) => assert_eq!(e.code.as_deref(), Some("ProviderPanic"), "{e:?}"),
        o => panic!("B must fail: {o:?}"),
    }
    assert!(matches!(outcome(&r, "C"), Outcome::Skipped(_)), "C depends on B");
    assert_eq!(outcome(&r, "A"), &Outcome::Done);
    assert_eq!(outcome(&r, "D"), &Outcome::Done);
    assert_ok(&h.up(FOUR, &[]).await);
    h.assert_converged(FOUR, &[]).await;

    // A panic in an update and in a delete: the same.
    let t2 = FOUR.replace("independent", "changed");
    h.cloud.panic_next(Op::Update, "D");
    let r = h.up(&t2, &[]).await;
    assert!(matches!(outcome(&r, "D"), Outcome::Failed(e) if e.code.as_deref() == Some("ProviderPanic")));
    assert_ok(&h.up(&t2, &[]).await);
    h.cloud.panic_next(Op::Delete, "C");
    let r = h.destroy().await;
    assert!(matches!(outcome(&r, "C"), Outcome::Failed(_)), "{:?}", r.steps);
    assert!(matches!(outcome(&r, "B"), Outcome::Skipped(_)), "B must outlive C: {:?}", r.steps);
    h.destroy().await;
    assert!(h.live().is_empty());
}

// ---------------------------------------------------------------------------------------
// Nested schema facts (`Test::Thing`'s `Config`: `Config.Engine` create-only, `Config.Secret`
// write-only, `Config.Port` defaulting to 5432, `Config.Zones` a set)

fn configured(engine: &str, port: Option<u32>, label: &str, secret: &str, zones: &[&str], fail: bool) -> String {
    let port = port.map(|p| format!("\n        Port: {p}")).unwrap_or_default();
    format!(
        r#"
Resources:
  Db:
    Type: Test::Thing
    Properties:
      Fail: {fail}
      Config:
        Engine: {engine}{port}
        Label: {label}
        Secret: {secret}
        Zones: {zones:?}
"#
    )
}

#[tokio::test]
async fn a_nested_create_only_change_replaces_and_names_its_path() {
    let h = Harness::new();
    let v1 = configured("pg", Some(5432), "main", "s1", &["a", "b"], false);
    assert_ok(&h.up(&v1, &[]).await);
    let old = h.pid("Db").await;
    h.assert_converged(&v1, &[]).await;

    // The default left out, the set in another order: no change.
    assert!(h.preview(&configured("pg", None, "main", "s1", &["b", "a"], false), &[]).await.is_empty());

    // A change beside the create-only path is in place.
    let plan = h.preview(&configured("pg", None, "other", "s2", &["a"], false), &[]).await;
    assert_eq!(step(&plan, "Db").action, Action::Update);
    assert!(step(&plan, "Db").changes.iter().all(|c| !c.forces_replacement && c.forced_by.is_empty()));

    // A change at the create-only path replaces, and says which path forces it.
    let v2 = configured("mysql", None, "main", "s1", &["a", "b"], false);
    let plan = h.preview(&v2, &[]).await;
    let db = step(&plan, "Db");
    assert_eq!(db.action, Action::Replace);
    let config = db.changes.iter().find(|c| c.name == "Config").expect("Config changed");
    assert!(config.forces_replacement);
    assert_eq!(config.forced_by, ["Config.Engine"]);
    let paths: Vec<&str> = config.details.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["Engine"]);

    assert_ok(&h.up(&v2, &[]).await);
    let new = h.pid("Db").await;
    assert_ne!(new, old);
    assert!(h.cloud.get(&old).is_none(), "the old resource is deleted");
    assert_eq!(h.live_props(&new)["Config"]["Engine"], "mysql");
    h.assert_converged(&v2, &[]).await;
}

#[tokio::test]
async fn a_nested_write_only_path_never_drifts_and_is_kept_on_read_back() {
    let h = Harness::new();
    let v1 = configured("pg", None, "main", "s1", &["a"], false);
    assert_ok(&h.up(&v1, &[]).await);
    let pid = h.pid("Db").await;
    // AWS holds the secret but never gives it back.
    assert_eq!(h.live_props(&pid)["Config"]["Secret"], "s1");

    // Refresh: the secret is not compared, nothing drifts.
    h.cloud.clear_log();
    assert_eq!(refresh(&h).await, 0);
    assert_eq!(h.state().await.resources["Db"].drift, None);
    h.assert_converged(&v1, &[]).await;

    // Drift beside it is recorded, and the recorded inputs keep the secret.
    let mut live = h.cloud.get(&pid).unwrap();
    live.properties["Config"]["Label"] = json!("edited");
    h.cloud.insert(live);
    h.cloud.clear_log();
    assert_eq!(refresh(&h).await, 1);
    let state = h.state().await;
    let drift = state.resources["Db"].drift.as_ref().expect("drift recorded");
    assert_eq!(drift.as_map().unwrap()["Config"].as_map().unwrap()["Label"], Value::string("edited"));
    let plan = h.preview(&v1, &[]).await;
    let config = step(&plan, "Db").changes.iter().find(|c| c.name == "Config").expect("Config changes");
    let paths: Vec<&str> = config.details.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["Label"], "only the drifted label, not the write-only secret");
    assert_ok(&h.up(&v1, &[]).await);
    assert_eq!(h.live_props(&pid)["Config"]["Label"], "main");

    // A failed update reads back what AWS holds: the secret keeps its recorded value, and
    // the next preview shows only what is missing.
    let failing = configured("pg", None, "newer", "s1", &["a"], true);
    let r = h.try_up(&failing, &[], &PlanOptions::default()).await.expect("up runs").expect("changes");
    assert!(!r.succeeded(), "the update fails");
    let recorded = h.state().await.resources["Db"].inputs.clone();
    let config = recorded.as_map().unwrap()["Config"].as_map().unwrap().clone();
    assert_eq!(config["Secret"], Value::string("s1"));
    assert_eq!(config["Label"], Value::string("main"));
    let plan = h.preview(&configured("pg", None, "newer", "s1", &["a"], false), &[]).await;
    let config = step(&plan, "Db").changes.iter().find(|c| c.name == "Config").expect("Config changes");
    let paths: Vec<&str> = config.details.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["Label"]);
}

#[tokio::test]
async fn enums_and_patterns_are_checked_at_their_nested_path() {
    let h = Harness::new();
    let graph = h.graph(&configured("oracle", None, "Not Valid", "s1", &[], false), &[]);
    let state = h.state().await;
    let err = plan_up(&graph, &state, &h.registry, &PlanOptions::default()).expect_err("the check fails");
    let text = format!("{err:?}");
    assert!(text.contains("Db (Test::Thing) Config.Engine: expected one of `pg`, `mysql`, found `oracle`"), "{text}");
    assert!(
        text.contains("Db (Test::Thing) Config.Label: `Not Valid` does not match the pattern `^[a-z-]+$`"),
        "{text}"
    );
}

/// SSM values in the graph: an `AWS::SSM::Parameter::Value<T>` parameter gives the value
/// of the parameter it names (a list for a list type), in the root and in a component;
/// `{{resolve:ssm:...}}` is replaced in properties and outputs, `ssm-secure` makes the
/// string a secret; `wanted` finds exactly the names the templates give literally.
#[test]
fn ssm_parameters_and_references_resolve_from_what_was_read() {
    use cairn_core::ssm::{wanted, SsmRef, SsmValues};
    let files = BTreeMap::from([
        (
            "template.yaml".to_string(),
            r#"
Parameters:
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami
  Zones:
    Type: AWS::SSM::Parameter::Value<List<String>>
Resources:
  A:
    Type: Test::Thing
    Properties:
      Value: !Sub "${Ami}|{{resolve:ssm:/db/host}}|{{resolve:ssm-secure:/db/pw:2}}"
      Inputs: !Ref Zones
  Part:
    Type: ./part.yaml
    Properties:
      Image: /part/ami
Outputs:
  Host:
    Value: "{{resolve:ssm:/db/host}}"
"#
            .to_string(),
        ),
        (
            "part.yaml".to_string(),
            r#"
Parameters:
  Image:
    Type: AWS::SSM::Parameter::Value<String>
Resources:
  B:
    Type: Test::Thing
    Properties:
      Value: !Ref Image
      Inputs: !Sub "{{resolve:ssm:/built/${Image}}}"
"#
            .to_string(),
        ),
    ]);
    let template = load_template(&MemoryLoader(files), "template.yaml").expect("template");
    let node = parse_document("Zones: /net/zones\n", "stacks/dev.yaml").expect("parameters");
    let NodeValue::Map(m) = node.value else { panic!() };
    let parameters: IndexMap<_, _> = m.entries.into_iter().map(|(k, v)| (k.name, v)).collect();
    let r = |n: &str, secure| SsmRef { name: n.into(), secure };
    assert_eq!(
        wanted(&template, &parameters),
        BTreeSet::from([
            r("/aws/service/ami", false),
            r("/net/zones", false),
            r("/db/host", false),
            r("/db/pw:2", true),
            r("/part/ami", false)
        ]),
        "a reference built with Fn::Sub is not read ahead"
    );
    let ssm = SsmValues::read(BTreeMap::from([
        (r("/aws/service/ami", false), "ami-123".into()),
        (r("/net/zones", false), "a,b".into()),
        (r("/db/host", false), "db.local".into()),
        (r("/db/pw:2", true), "hunter2".into()),
        (r("/part/ami", false), "ami-part".into()),
    ]));
    let cloud = TestCloud::new();
    let registry = registry(&cloud, Duration::ZERO);
    let inputs = StackInputs {
        project: PROJECT.into(),
        stack: STACK.into(),
        region: "us-east-1".into(),
        account_id: Some(cairn_testkit::TEST_ACCOUNT_ID.into()),
        partition: "aws".into(),
        parameters,
        secret_parameters: Default::default(),
        sealed_parameters: Default::default(),
        exports: BTreeMap::new(),
        assets: Default::default(),
        ssm,
    };
    let graph = DesiredGraph::build(&template, inputs, &registry).unwrap_or_else(|d| panic!("graph: {d:?}"));
    let nothing = cairn_core::graph::NothingKnown;
    let a = graph.properties(&graph.resources["A"], &nothing).expect("A's properties");
    let Value::Map(a) = a else { panic!("{a:?}") };
    assert_eq!(a["Value"], Value::secret(Value::string("ami-123|db.local|hunter2")));
    assert_eq!(a["Inputs"], Value::List(vec![Value::string("a"), Value::string("b")]));
    let b = graph.properties(&graph.resources["Part.B"], &nothing);
    let e = b.expect_err("a reference built at run time was not read");
    assert!(e.message.contains("`{{resolve:ssm:/built/ami-part}}` was not read before the plan"), "{}", e.message);
    let outputs = graph.outputs(&nothing).expect("outputs");
    assert_eq!(outputs["Host"].value, Value::string("db.local"));
}

// ---------------------------------------------------------------------------------------
// 11. Regional components: `Region:` on a component applies to the resources inside that
// set none, and `AWS::Region` inside is that region.

const REGIONAL: &str = r#"
Parameters:
  Elsewhere:
    Type: String
    Default: ca-central-1
Conditions:
  InEurope: !Equals [!Ref AWS::Region, eu-west-1]
Resources:
  Here:
    Type: Test::Thing
    Properties:
      Inputs:
        Region: !Ref AWS::Region
        Sub: !Sub "${AWS::Region}.${AWS::URLSuffix}"
        StackId: !Ref AWS::StackId
        InEurope: !If [InEurope, "yes", "no"]
        Zones: !GetAZs ""
  Own:
    Type: Test::Thing
    Region: ap-south-1
  Inner:
    Type: ./leaf.yaml
  Moved:
    Type: ./leaf.yaml
    Region: !Ref Elsewhere
"#;

const LEAF: &str = r#"
Resources:
  Leaf:
    Type: Test::Other
    Properties:
      Inputs: !Sub "in ${AWS::Region}"
"#;

const WITH_REGIONAL: &str = r#"
Parameters:
  Where:
    Type: String
    Default: eu-west-1
Resources:
  Root:
    Type: Test::Thing
    Properties:
      Inputs: !Ref AWS::Region
  Gate:
    Type: Test::Other
  Europe:
    Type: ./components/regional.yaml
    Region: !Select [0, [!Ref Where, !Ref Gate]]
"#;

fn regional() -> Harness {
    Harness::new().file("components/regional.yaml", REGIONAL).file("components/leaf.yaml", LEAF)
}

#[tokio::test]
async fn a_component_region_applies_inside_it_unless_a_resource_sets_its_own() {
    let h = regional();
    assert_ok(&h.up(WITH_REGIONAL, &[]).await);
    h.assert_converged(WITH_REGIONAL, &[]).await;
    let state = h.state().await;
    let regions: BTreeMap<&str, &str> =
        state.resources.iter().map(|(id, r)| (id.as_str(), r.region.as_str())).collect();
    assert_eq!(
        regions,
        BTreeMap::from([
            ("Root", "us-east-1"),
            ("Gate", "us-east-1"),
            ("Europe.Here", "eu-west-1"),
            ("Europe.Own", "ap-south-1"),
            ("Europe.Inner.Leaf", "eu-west-1"),
            ("Europe.Moved.Leaf", "ca-central-1"),
        ])
    );
    let props = |id: &str| h.live_props(&state.resources[id].physical_id);
    assert_eq!(props("Root")["Inputs"], json!("us-east-1"));
    let here = &props("Europe.Here")["Inputs"];
    assert_eq!(here["Region"], json!("eu-west-1"));
    assert_eq!(here["Sub"], json!("eu-west-1.amazonaws.com"));
    assert_eq!(here["InEurope"], json!("yes"));
    assert_eq!(here["Zones"], json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"]));
    let stack_id = here["StackId"].as_str().unwrap();
    assert!(stack_id.starts_with("arn:aws:cloudformation:eu-west-1:"), "{stack_id}");
    assert_eq!(props("Europe.Inner.Leaf")["Inputs"], json!("in eu-west-1"));
    assert_eq!(props("Europe.Moved.Leaf")["Inputs"], json!("in ca-central-1"));

    // Moving the component replaces what follows it, and nothing else.
    let moved = [("Where", "ap-northeast-1")];
    let plan = h.preview(WITH_REGIONAL, &moved).await;
    for id in ["Europe.Here", "Europe.Inner.Leaf"] {
        let s = step(&plan, id);
        assert_eq!(s.action, Action::Replace, "{id}");
        assert_eq!(s.reason.as_deref(), Some("region changed from eu-west-1"), "{id}");
        assert_eq!(s.region.as_deref(), Some("ap-northeast-1"), "{id}");
    }
    for id in ["Root", "Gate", "Europe.Own", "Europe.Moved.Leaf"] {
        assert_eq!(step(&plan, id).action, Action::Same, "{id}");
    }
    assert_ok(&h.up(WITH_REGIONAL, &moved).await);
    h.assert_converged(WITH_REGIONAL, &moved).await;
    let here = h.live_props(&h.pid("Europe.Here").await);
    assert_eq!(here["Inputs"]["InEurope"], json!("no"));
}

#[tokio::test]
async fn resources_in_a_component_depend_on_what_its_region_references() {
    let graph = regional().graph(WITH_REGIONAL, &[]);
    for id in ["Europe.Here", "Europe.Own", "Europe.Inner.Leaf", "Europe.Moved.Leaf"] {
        assert_eq!(graph.resources[id].deps, vec!["Gate".to_string()], "{id}");
    }
    assert!(graph.resources["Root"].deps.is_empty());
}

#[tokio::test]
async fn a_component_region_must_be_a_string_known_before_up() {
    let h = regional();
    let with = |region: &str| WITH_REGIONAL.replace("!Select [0, [!Ref Where, !Ref Gate]]", region);
    for (region, found) in [
        ("[eu-west-1]", "a list"),
        ("!GetAtt Gate.Arn", "a value known only after up"),
        ("!Select [1, [!Ref Where, !Ref Gate]]", "a value known only after up"),
    ] {
        let e = h.try_graph(&with(region), &[]).expect_err(region);
        let msg = e.to_string();
        assert_eq!(e.0.len(), 1, "{msg}");
        let span = e.0[0].span.as_ref().expect("located");
        assert_eq!((&*span.file, span.line, span.col), ("template.yaml", 15, 13), "{msg}");
        assert!(msg.contains(&format!("Region must be a string known before up, found {found}")), "{msg}");
    }
}
