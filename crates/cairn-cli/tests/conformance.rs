//! The conformance suite (issue 8): one lifecycle, run on the emulator for every AWS type
//! on the provider kit, from the type's fixture (`cairn_aws::fixtures()`, see
//! `cairn_aws::kit::Fixture`). Adding a type means adding its fixture.
//!
//! Per type, through the `cairn` binary as a user runs it (types in parallel threads):
//!
//! | step | what is checked |
//! | --- | --- |
//! | create | `up --yes` exits 0 |
//! | read_back | the type's own `read` of the physical id in the state gives every desired property, by the schema's comparison (after the create, the update and each replacement) |
//! | no_changes | `preview --refresh --expect-no-changes` exits 0 (after each step that changes AWS) |
//! | update | the `update` properties: a `~` preview line, `up`, the same physical id |
//! | replace | the `replace` properties: a `+-` preview line, `up`, a new physical id, the old one gone |
//! | nested_replace | the same with `nested_replace`, when the fixture has one |
//! | partial_failure | a fresh stack through the fault proxy, which refuses `partial_after` once (`AccessDenied`): `up` exits 1 and names the resource, type, operation and code; the state tracks the subject; the next `up` converges on the same resource. Without `partial_after`, the create call itself is refused: nothing is recorded and the next `up` creates it |
//! | delete | `destroy --yes` exits 0 and the state is empty (every stack) |
//! | gone | every resource the run made (all stacks) reads back as gone through its type's `read` |
//!
//! A step the fixture lists in `unverified` is skipped and says why on stderr; the steps
//! that ran must be exactly those `cairn types` reports as verified. A failure names the
//! type and the step, with the CLI's output.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_aws::kit::Fixture;
use cairn_aws::Aws;
use cairn_core::provider::{OpContext, Registry, ResourceType, Step};
use cairn_faultproxy::{Config, Fault, Proxy, Rule};
use common::{Out, Proj};
use serde_json::{json, Map, Value as Json};

const SUBJECT: &str = "Subject";
const STACK: &str = "dev";
/// The stacks' region (in each project's Cairn.yaml).
const REGION: &str = "us-east-1";

#[test]
fn every_type_runs_the_lifecycle_on_the_emulator() {
    if aws::emulator().is_none() {
        return;
    }
    let fixtures = cairn_aws::fixtures();
    assert!(!fixtures.is_empty(), "cairn_aws::fixtures() is empty");
    let start = Instant::now();
    let results: Vec<(&str, Result<Steps, String>)> = std::thread::scope(|s| {
        let running: Vec<_> = fixtures
            .iter()
            .map(|(name, fixture)| (*name, s.spawn(move || Lifecycle::new(name, fixture).run())))
            .collect();
        running.into_iter().map(|(name, h)| (name, h.join().map_err(|e| panic_text(e.as_ref())))).collect()
    });
    let mut failures = Vec::new();
    eprintln!("conformance on the emulator, {} types in {:.1}s:", results.len(), start.elapsed().as_secs_f64());
    for (name, result) in results {
        match result {
            Ok(steps) => {
                let each: Vec<String> = steps.iter().map(|(s, o)| format!("{} {o}", s.name())).collect();
                eprintln!("  {name}: {}", each.join(", "));
            }
            Err(e) => {
                eprintln!("  {name}: FAILED");
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_aws_type_has_a_fixture() {
    let mut reg = Registry::new();
    cairn_aws::register(&mut reg, Aws::unconfigured());
    let fixtures = cairn_aws::fixtures();
    let with_fixture: BTreeSet<&str> = fixtures.iter().map(|(n, _)| *n).collect();
    assert_eq!(with_fixture.len(), fixtures.len(), "a type has two fixtures");
    for (name, fixture) in &fixtures {
        let t = reg.get(name).unwrap_or_else(|| panic!("{name} has a fixture but is not registered"));
        assert_eq!(
            t.about().conformance.as_ref(),
            Some(&fixture.conformance()),
            "{name}: `cairn types` does not report the fixture's steps"
        );
        for (step, why) in fixture.unverified {
            assert!(!why.trim().is_empty(), "{name}: unverified {} says no why", step.name());
        }
        // A nested create-only change where the schema has one (or why it cannot run).
        let nested: Vec<&String> =
            t.schema().create_only.iter().filter(|p| p.contains('.') || p.contains("[*]")).collect();
        let skipped = fixture.unverified.iter().any(|(s, _)| *s == Step::NestedReplace);
        match (&fixture.nested_replace, nested.is_empty()) {
            (None, false) => assert!(
                skipped,
                "{name}: the schema has nested create-only paths {nested:?}, the fixture no nested_replace"
            ),
            (Some(_), true) => {
                panic!("{name}: the fixture has a nested_replace, the schema no nested create-only path")
            }
            _ => {}
        }
    }
    let missing: Vec<&str> = reg.type_names().filter(|n| n.starts_with("AWS::") && !with_fixture.contains(n)).collect();
    assert!(missing.is_empty(), "AWS types without a conformance fixture (kit::AwsType::fixture): {missing:?}");
}

/// What became of each step of a type's run.
type Steps = Vec<(Step, Outcome)>;

/// What became of a step.
enum Outcome {
    Verified(Duration),
    Skipped(&'static str),
    /// Only nested_replace, for a schema without a nested create-only path.
    NotApplicable,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Verified(d) => write!(f, "ok ({:.1}s)", d.as_secs_f64()),
            Outcome::Skipped(why) => write!(f, "skipped ({why})"),
            Outcome::NotApplicable => f.write_str("n/a"),
        }
    }
}

/// A resource the run made: to check that it is gone at the end.
struct Made {
    type_name: String,
    logical_id: String,
    physical_id: String,
    inputs: Json,
    project: String,
}

/// A project of the run's, with the `{uid}` of its names.
struct Deploy {
    p: Proj,
    project: String,
    uid: String,
}

/// One type's run.
struct Lifecycle<'a> {
    type_name: &'static str,
    fixture: &'a Fixture,
    rt: tokio::runtime::Runtime,
    reg: Registry,
    account: String,
    outcomes: Vec<(Step, Outcome)>,
    made: Vec<Made>,
}

impl<'a> Lifecycle<'a> {
    fn new(type_name: &'static str, fixture: &'a Fixture) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let aws = rt.block_on(Aws::from_env());
        let mut reg = Registry::new();
        cairn_aws::register(&mut reg, aws.clone());
        let account = rt
            .block_on(aws.account_id())
            .unwrap_or_else(|e| panic!("{type_name}: STS GetCallerIdentity on the emulator: {}", e.detail()));
        Lifecycle { type_name, fixture, rt, reg, account, outcomes: Vec::new(), made: Vec::new() }
    }

    fn verified(&self, step: Step) -> bool {
        !self.fixture.unverified.iter().any(|(s, _)| *s == step)
    }

    fn why(&self, step: Step) -> &'static str {
        self.fixture.unverified.iter().find(|(s, _)| *s == step).map(|(_, w)| *w).unwrap_or_default()
    }

    /// Run `f` as `step` unless the fixture says the emulator cannot verify it.
    fn step(&mut self, step: Step, f: impl FnOnce(&mut Self)) {
        if !self.verified(step) {
            eprintln!("{}: {} skipped: {}", self.type_name, step.name(), self.why(step));
            self.outcomes.push((step, Outcome::Skipped(self.why(step))));
            return;
        }
        let start = Instant::now();
        f(self);
        self.outcomes.push((step, Outcome::Verified(start.elapsed())));
    }

    #[track_caller]
    fn fail(&self, step: Step, msg: impl std::fmt::Display) -> ! {
        panic!("{}: step {} failed: {msg}", self.type_name, step.name())
    }

    /// `cairn ARGS` in `p` (with `env` added), which must exit with `code`.
    fn cairn(&self, step: Step, p: &Proj, args: &[&str], env: &[(&str, &str)], code: i32) -> Out {
        let mut cmd = Proj::cmd_in(p.path(), args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("run cairn");
        let out = Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        if out.code != code || out.stderr.contains("panicked") {
            self.fail(step, format!("`cairn {}` should exit {code}:\n{out}", args.join(" ")));
        }
        out
    }

    /// The stack's state.
    fn state(&self, step: Step, p: &Proj) -> Json {
        self.cairn(step, p, &["-s", STACK, "stack", "export"], &[], 0).json()["state"].clone()
    }

    /// The subject's entry in the state, which must be there.
    fn subject(&self, step: Step, p: &Proj) -> Json {
        let state = self.state(step, p);
        let r = state["resources"][SUBJECT].clone();
        if !r.is_object() {
            self.fail(step, format!("the state has no {SUBJECT}:\n{state:#}"));
        }
        r
    }

    /// Remember every resource of the stack's state, to check at the end that it is gone.
    fn remember(&mut self, step: Step, d: &Deploy) {
        let state = self.state(step, &d.p);
        for r in state["resources"].as_object().into_iter().flat_map(|m| m.values()) {
            let physical_id = r["physical_id"].as_str().unwrap_or_default().to_string();
            if !self.made.iter().any(|m| m.physical_id == physical_id && m.type_name == r["type"]) {
                self.made.push(Made {
                    type_name: r["type"].as_str().unwrap_or_default().to_string(),
                    logical_id: r["id"].as_str().unwrap_or_default().to_string(),
                    physical_id,
                    inputs: r["inputs"].clone(),
                    project: d.project.clone(),
                });
            }
        }
    }

    /// The template: the fixture's support resources and the subject with `props`.
    fn template(&self, uid: &str, props: Option<&Json>) -> String {
        let mut resources = match uid_in(&self.fixture.support, uid) {
            Json::Object(m) => m,
            Json::Null => Map::new(),
            other => panic!("{}: the fixture's support is not a mapping of resources: {other}", self.type_name),
        };
        if let Some(props) = props {
            resources.insert(SUBJECT.into(), json!({"Type": self.type_name, "Properties": uid_in(props, uid)}));
        }
        serde_json::to_string_pretty(&json!({"Resources": resources})).expect("json")
    }

    /// A project of its own for this type, with the template for `props`.
    fn project(&self, uid: &str, props: Option<&Json>) -> Deploy {
        let name = format!("conf-{uid}");
        let p = Proj::empty();
        p.write("Cairn.yaml", &format!("name: {name}\ntemplate: template.json\ndefaults:\n  region: {REGION}\n"));
        p.write("template.json", &self.template(uid, props));
        p.write(&format!("stacks/{STACK}.yaml"), "parameters: {}\n");
        Deploy { p, project: name, uid: uid.to_string() }
    }

    fn op_context(&self, project: &str, type_name: &str, logical_id: &str) -> OpContext {
        OpContext {
            project: project.into(),
            stack: STACK.into(),
            logical_id: logical_id.into(),
            type_name: type_name.into(),
            region: REGION.into(),
            account_id: self.account.clone(),
            partition: "aws".into(),
            stack_tags: BTreeMap::new(),
            name_seed: String::new(),
            progress: Default::default(),
            assets: Default::default(),
            final_snapshot: false,
        }
    }

    fn resource_type(&self, name: &str) -> &Arc<dyn ResourceType> {
        self.reg.get(name).unwrap_or_else(|| panic!("{name} is not registered"))
    }

    /// The type's own `read` of a resource: its live properties, or `None` when it is gone.
    fn read(
        &self,
        step: Step,
        project: &str,
        type_name: &str,
        logical_id: &str,
        physical_id: &str,
        desired: &Json,
    ) -> Option<Json> {
        let t = self.resource_type(type_name);
        let ctx = self.op_context(project, type_name, logical_id);
        match self.rt.block_on(t.read(&ctx, physical_id, desired)) {
            Ok(r) => r.map(|r| r.properties),
            Err(e) => self.fail(step, format!("reading {logical_id} ({type_name}) {physical_id}: {}", e.detail())),
        }
    }

    /// The subject's properties `props` as the type receives them: `{uid}` replaced, `Ref`,
    /// `Fn::GetAtt` and `Fn::Sub` resolved from the stack's state (independently of the
    /// engine's evaluation).
    fn desired(&self, step: Step, props: &Json, d: &Deploy, state: &Json) -> Json {
        let r = Resolver { state, project: &d.project, account: &self.account };
        r.resolve(&uid_in(props, &d.uid)).unwrap_or_else(|e| self.fail(step, e))
    }

    /// read_back: the subject's live properties mean the same as `props`, property by
    /// property, by the schema's comparison (write-only paths aside).
    fn read_back(&self, step: Step, d: &Deploy, props: &Json) {
        if !self.verified(Step::ReadBack) {
            return;
        }
        let state = self.state(step, &d.p);
        let subject = &state["resources"][SUBJECT];
        let physical_id = subject["physical_id"].as_str().unwrap_or_else(|| self.fail(step, "no physical id"));
        let desired = self.desired(step, props, d, &state);
        let live = self
            .read(step, &d.project, self.type_name, SUBJECT, physical_id, &desired)
            .unwrap_or_else(|| self.fail(step, format!("read back: {physical_id} does not exist")));
        let t = self.resource_type(self.type_name);
        for (k, want) in desired.as_object().into_iter().flatten() {
            let got = live.get(k);
            if !cairn_core::schema::same_as_live(t.as_ref(), k, Some(want), got) {
                self.fail(
                    step,
                    format!(
                        "read back of {physical_id}: `{k}` is {} on the emulator, the template says {want}",
                        got.map(Json::to_string).unwrap_or_else(|| "absent".into())
                    ),
                );
            }
        }
    }

    /// no_changes: `preview --refresh --expect-no-changes` exits 0.
    fn no_changes(&self, step: Step, p: &Proj) {
        if self.verified(Step::NoChanges) {
            self.cairn(step, p, &["-s", STACK, "preview", "--refresh", "--expect-no-changes"], &[], 0);
        }
    }

    /// The template for `props`, a preview whose subject line is `sym ... verb`, `up`.
    fn change(&mut self, step: Step, d: &Deploy, props: &Json, (sym, verb): (&str, &str)) {
        d.p.write("template.json", &self.template(&d.uid, Some(props)));
        let preview = self.cairn(step, &d.p, &["-s", STACK, "preview"], &[], 0);
        if !has_line(&preview.stdout, sym, SUBJECT, verb) {
            self.fail(step, format!("the preview has no `{sym} {SUBJECT} ... {verb}` line:\n{preview}"));
        }
        self.cairn(step, &d.p, &["-s", STACK, "up", "--yes"], &[], 0);
        self.remember(step, d);
    }

    /// A replacement (`replace` or `nested_replace`): a new physical id, the old one gone.
    fn replacement(&mut self, step: Step, d: &Deploy, props: &Json) {
        let old = self.subject(step, &d.p);
        self.change(step, d, props, ("+-", "replace"));
        let new = self.subject(step, &d.p);
        let (old_id, new_id) = (pid(&old), pid(&new));
        if old_id == new_id {
            self.fail(step, format!("the replacement kept the physical id {old_id}"));
        }
        if self.read(step, &d.project, self.type_name, SUBJECT, old_id, &old["inputs"]).is_some() {
            self.fail(step, format!("the replaced {old_id} still exists"));
        }
        self.read_back(step, d, props);
        self.no_changes(step, &d.p);
    }

    /// The steps, in order; on a failure, the stacks are destroyed (best effort) before
    /// the failure is passed on.
    fn run(mut self) -> Steps {
        let main = self.project(&token(), Some(&self.fixture.create));
        let fault = self.project(&token(), None);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.steps(&main, &fault)));
        if let Err(e) = run {
            for d in [&main, &fault] {
                let _ = Proj::cmd_in(d.p.path(), &["-s", STACK, "destroy", "--yes"]).output();
            }
            std::panic::resume_unwind(e);
        }
        self.outcomes
    }

    fn steps(&mut self, d: &Deploy, fault: &Deploy) {
        let f = self.fixture;
        if !self.verified(Step::Create) {
            // Nothing else can run without it.
            for s in Step::ALL {
                self.outcomes.push((s, Outcome::Skipped(self.why(Step::Create))));
            }
            return;
        }
        self.step(Step::Create, |l| {
            l.cairn(Step::Create, &d.p, &["-s", STACK, "up", "--yes"], &[], 0);
            l.remember(Step::Create, d);
            l.subject(Step::Create, &d.p);
        });
        self.step(Step::ReadBack, |l| l.read_back(Step::ReadBack, d, &f.create));
        self.step(Step::NoChanges, |l| l.no_changes(Step::NoChanges, &d.p));
        match &f.update {
            Some(update) => self.step(Step::Update, |l| {
                let before = l.subject(Step::Update, &d.p);
                l.change(Step::Update, d, update, ("~", "update"));
                let after = l.subject(Step::Update, &d.p);
                if pid(&before) != pid(&after) {
                    l.fail(
                        Step::Update,
                        format!("an update changed the physical id: {} to {}", pid(&before), pid(&after)),
                    );
                }
                l.read_back(Step::Update, d, update);
                l.no_changes(Step::Update, &d.p);
            }),
            None => self.outcomes.push((Step::Update, Outcome::NotApplicable)),
        }
        match &f.replace {
            Some(replace) => self.step(Step::Replace, |l| l.replacement(Step::Replace, d, replace)),
            None => self.outcomes.push((Step::Replace, Outcome::NotApplicable)),
        }
        match &f.nested_replace {
            Some(nested) => self.step(Step::NestedReplace, |l| l.replacement(Step::NestedReplace, d, nested)),
            None => self.outcomes.push((Step::NestedReplace, Outcome::NotApplicable)),
        }
        self.step(Step::PartialFailure, |l| l.partial_failure(fault));

        // Cleaned up whether or not the emulator can verify it.
        if self.verified(Step::Delete) {
            self.step(Step::Delete, |l| {
                for q in [&d.p, &fault.p] {
                    l.cairn(Step::Delete, q, &["-s", STACK, "destroy", "--yes"], &[], 0);
                    let state = l.state(Step::Delete, q);
                    if state["resources"] != json!({}) {
                        l.fail(Step::Delete, format!("the state still holds resources after destroy:\n{state:#}"));
                    }
                }
            });
        } else {
            self.step(Step::Delete, |_| ());
            for q in [&d.p, &fault.p] {
                let _ = Proj::cmd_in(q.path(), &["-s", STACK, "destroy", "--yes"]).output();
            }
        }
        self.step(Step::Gone, |l| {
            for m in &l.made {
                if let Some(live) =
                    l.read(Step::Gone, &m.project, &m.type_name, &m.logical_id, &m.physical_id, &m.inputs)
                {
                    l.fail(
                        Step::Gone,
                        format!("{} ({}) {} is left after destroy: {live}", m.logical_id, m.type_name, m.physical_id),
                    );
                }
            }
        });

        // What ran is what `cairn types` claims.
        let ran: Vec<Step> =
            self.outcomes.iter().filter(|(_, o)| matches!(o, Outcome::Verified(_))).map(|(s, _)| *s).collect();
        let claimed = f.conformance().verified;
        assert_eq!(ran, claimed, "{}: the steps that ran are not those `cairn types` reports", self.type_name);
    }

    /// partial_failure, on a fresh stack (`p`, with only the support resources so far).
    fn partial_failure(&mut self, d: &Deploy) {
        let p = &d.p;
        let step = Step::PartialFailure;
        let f = self.fixture;
        let upstream = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
        // The support resources first, straight to the emulator: the refusal is for the
        // subject's calls only.
        if f.support.as_object().is_some_and(|m| !m.is_empty()) {
            self.cairn(step, p, &["-s", STACK, "up", "--yes"], &[], 0);
            self.remember(step, d);
        }
        p.write("template.json", &self.template(&d.uid, Some(&f.create)));
        // Without `partial_after`, the create's one call: the first call through the proxy
        // (STS goes straight to the emulator).
        let operation = f.partial_after.unwrap_or("*");
        let mut config = Config::new(&upstream);
        config.rules.push(Rule::new(
            operation,
            1,
            Fault::Refuse { status: 403, code: "AccessDenied".into(), message: "Access Denied".into() },
        ));
        let proxy = Proxy::start(config).expect("fault proxy");
        let url = proxy.url();
        let env = [("AWS_ENDPOINT_URL", url.as_str()), ("AWS_ENDPOINT_URL_STS", upstream.as_str())];
        let out = self.cairn(step, p, &["-s", STACK, "up", "--yes"], &env, 1);
        eprintln!("{}: partial_failure: {operation} refused once", self.type_name);
        let counts = proxy.counts();
        drop(proxy);
        let refused: Vec<&String> =
            counts.by_operation.iter().filter(|(_, k)| k.contains_key("refused")).map(|(op, _)| op).collect();
        let [refused] = refused[..] else {
            self.fail(step, format!("expected one refused call, the proxy says: {counts} {:?}", counts.by_operation));
        };
        if counts.refused != 1 {
            self.fail(step, format!("expected one refused call, the proxy says: {counts}"));
        }
        let named = format!("{SUBJECT} ({})", self.type_name);
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains("error:") && l.contains(&named))
            .unwrap_or_else(|| self.fail(step, format!("no error line names `{named}`:\n{out}")));
        if !(line.contains(refused.as_str()) && line.contains("AccessDenied")) {
            self.fail(step, format!("the error line does not name {refused} and AccessDenied: {line}"));
        }
        let state = self.state(step, p);
        let tracked = state["resources"].get(SUBJECT).cloned();
        match (f.partial_after, &tracked) {
            (Some(_), None) => self.fail(
                step,
                format!("{refused} was refused after the create, but the state does not track {SUBJECT}:\n{state:#}"),
            ),
            (None, Some(r)) => self.fail(step, format!("the create was refused, but the state records {SUBJECT}: {r}")),
            _ => {}
        }
        self.remember(step, d);
        if let Some(r) = &tracked {
            if self.read(step, &d.project, self.type_name, SUBJECT, pid(r), &r["inputs"]).is_none() {
                self.fail(step, format!("the state tracks {}, which does not exist", pid(r)));
            }
        }

        // Without the fault, the next up converges (on the same resource).
        self.cairn(step, p, &["-s", STACK, "up", "--yes"], &[], 0);
        self.remember(step, d);
        let after = self.subject(step, p);
        if let Some(r) = &tracked {
            if pid(r) != pid(&after) {
                self.fail(step, format!("the next up made {} instead of finishing {}", pid(&after), pid(r)));
            }
        }
        self.read_back(step, d, &f.create);
        self.cairn(step, p, &["-s", STACK, "preview", "--refresh", "--expect-no-changes"], &[], 0);
    }
}

fn pid(r: &Json) -> &str {
    r["physical_id"].as_str().unwrap_or_default()
}

/// A lower-case token unique to the run (bucket names need lower case).
fn token() -> String {
    aws::unique("c").trim_start_matches("c-").to_string()
}

/// `v` with `{uid}` replaced by `uid` in every string.
fn uid_in(v: &Json, uid: &str) -> Json {
    match v {
        Json::String(s) => Json::String(s.replace("{uid}", uid)),
        Json::Array(a) => Json::Array(a.iter().map(|x| uid_in(x, uid)).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), uid_in(x, uid))).collect()),
        other => other.clone(),
    }
}

/// A preview line `SYM ID  TYPE  VERB`.
fn has_line(text: &str, sym: &str, id: &str, verb: &str) -> bool {
    text.lines().any(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.len() >= 4 && words[0] == sym && words[1] == id && words[3] == verb
    })
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// The intrinsics a fixture may use, resolved from the stack's state.
struct Resolver<'a> {
    state: &'a Json,
    project: &'a str,
    account: &'a str,
}

impl Resolver<'_> {
    fn resolve(&self, v: &Json) -> Result<Json, String> {
        match v {
            Json::Array(a) => a.iter().map(|x| self.resolve(x)).collect::<Result<_, _>>().map(Json::Array),
            Json::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::")) => {
                let (k, arg) = m.iter().next().expect("one key");
                match (k.as_str(), arg) {
                    ("Ref", Json::String(name)) => self.name(name).map(Json::String),
                    ("Fn::GetAtt", Json::Array(a)) if a.len() == 2 => {
                        let (Some(id), Some(att)) = (a[0].as_str(), a[1].as_str()) else {
                            return Err(format!("Fn::GetAtt takes two names: {arg}"));
                        };
                        self.attribute(id, att)
                    }
                    ("Fn::GetAtt", Json::String(s)) => match s.split_once('.') {
                        Some((id, att)) => self.attribute(id, att),
                        None => Err(format!("Fn::GetAtt `{s}` is not `Id.Attribute`")),
                    },
                    ("Fn::Sub", Json::String(s)) => self.sub(s).map(Json::String),
                    _ => Err(format!(
                        "the conformance suite resolves Ref, Fn::GetAtt and Fn::Sub (string form) in fixtures, not {k}: {arg}"
                    )),
                }
            }
            Json::Object(m) => m
                .iter()
                .map(|(k, x)| Ok((k.clone(), self.resolve(x)?)))
                .collect::<Result<_, String>>()
                .map(Json::Object),
            other => Ok(other.clone()),
        }
    }

    fn resource(&self, id: &str) -> Result<&Json, String> {
        let r = &self.state["resources"][id];
        if r.is_object() {
            Ok(r)
        } else {
            Err(format!("the fixture refers to {id}, which the state does not hold"))
        }
    }

    fn name(&self, name: &str) -> Result<String, String> {
        Ok(match name {
            "AWS::AccountId" => self.account.to_string(),
            "AWS::Region" => REGION.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::URLSuffix" => "amazonaws.com".to_string(),
            "AWS::StackName" => format!("{}-{STACK}", self.project),
            id => pid(self.resource(id)?).to_string(),
        })
    }

    fn attribute(&self, id: &str, att: &str) -> Result<Json, String> {
        let v = &self.resource(id)?["attributes"][att];
        if v.is_null() {
            return Err(format!("the state has no attribute {att} of {id}"));
        }
        Ok(v.clone())
    }

    /// `${Name}` and `${Id.Attribute}`; `${!Literal}` stays `${Literal}`.
    fn sub(&self, s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after.find('}').ok_or_else(|| format!("Fn::Sub `{s}`: an unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some((id, att)) = name.split_once('.') {
                match self.attribute(id, att)? {
                    Json::String(v) => out.push_str(&v),
                    other => out.push_str(&other.to_string()),
                }
            } else {
                out.push_str(&self.name(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
