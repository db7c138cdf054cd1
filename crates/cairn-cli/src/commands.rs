//! The commands. Each reads the project, builds what it needs from cairn-core and
//! cairn-state, and renders.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cairn_core::asset::Assets;
use cairn_core::engine::Session;
use cairn_core::exec::{ExecOptions, Observer, RunResult};
use cairn_core::graph::{DesiredGraph, StackInputs};
use cairn_core::plan::{plan_destroy, plan_up, Plan, PlanOptions};
use cairn_core::project::StackSettings;
use cairn_core::provider::Registry;
use cairn_core::refresh::{mark_drift, Refreshed};
use cairn_core::state::{Backend, HistoryEntry, StackState};
use cairn_core::template::ast::{Node, NodeValue};
use cairn_core::template::model::{load_template, ResourceKind};
use cairn_core::{Span, Value};
use cairn_state::secrets::{Provider, SecretsManager};
use cairn_state::EncryptingBackend;

use crate::error::CliError;
use crate::project::{list_or_none, Project};
use crate::render::{self, Progress, Style};
use crate::secrets::{self as cli_secrets, StackSecrets};
use crate::{Cli, Command, ConfigCommand, StackCommand};

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let cwd = match &cli.dir {
        Some(d) => d.clone(),
        None => {
            std::env::current_dir().map_err(|e| CliError::Usage(format!("cannot read the current directory: {e}")))?
        }
    };
    if !cwd.is_dir() {
        return Err(CliError::Usage(format!("-C {}: no such directory", cwd.display())));
    }
    match cli.command {
        Command::Init(a) => init(&cwd, a),
        Command::Stack(c) => stack(&cwd, cli.stack.as_deref(), c).await,
        Command::Config(c) => config(&cwd, cli.stack.as_deref(), c).await,
        Command::Preview(a) => {
            let ctx = Ctx::open(&cwd, cli.stack.as_deref()).await?;
            preview(&ctx, a).await
        }
        Command::Up(a) => {
            let ctx = Ctx::open(&cwd, cli.stack.as_deref()).await?;
            up(&ctx, a).await
        }
        Command::Destroy(a) => {
            let ctx = Ctx::open(&cwd, cli.stack.as_deref()).await?;
            destroy(&ctx, a).await
        }
        Command::Refresh(a) => {
            let ctx = Ctx::open(&cwd, cli.stack.as_deref()).await?;
            refresh(&ctx, a).await
        }
        Command::Validate => validate(&cwd, cli.stack.as_deref()).await,
        Command::Cancel(a) => cancel(&cwd, cli.stack.as_deref(), a).await,
        Command::Import(crate::ImportCommand::Sceptre { source, out }) => import_sceptre(&cwd, &source, out.as_deref()),
        Command::Types(a) => {
            let reg = crate::types::registry();
            if a.json {
                print_stdout(&format!("{}\n", serde_json::to_string_pretty(&crate::types::json(&reg)).expect("json")));
            } else {
                print_stdout(&crate::types::text(&reg));
            }
            Ok(())
        }
    }
}

/// The built-in types (no cloud needed).
pub fn registry() -> Registry {
    let mut r = Registry::new();
    cairn_core::builtin::register(&mut r);
    r
}

/// The built-in types and the AWS provider, whose SDK configuration uses `region` as the
/// default region. Loading it calls nothing; credentials are read on the first AWS call.
async fn registry_with_aws(region: &str) -> Registry {
    let mut r = registry();
    cairn_aws::register(&mut r, cairn_aws::Aws::for_region(region).await);
    r
}

/// Whether a template (with its components) uses AWS resource types.
fn template_uses_aws(t: &cairn_core::template::Template) -> bool {
    t.resources.values().any(|r| match &r.kind {
        ResourceKind::Type(name) => name.starts_with("AWS::"),
        ResourceKind::Component { template, .. } => template_uses_aws(template),
    })
}

/// What opening a stack does with its secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Secrets {
    /// Open the secrets manager and decrypt the encrypted parameters.
    Open,
    /// The same; when KMS cannot be reached at all, leave them encrypted, as unknown
    /// secrets (`validate`, which needs no AWS access).
    OpenOrSeal,
}

/// A project, one stack, its settings and backend.
struct Ctx {
    project: Project,
    stack: String,
    /// The stack's settings, with encrypted parameters decrypted.
    settings: StackSettings,
    /// The parameters the stack file holds encrypted.
    secret_params: BTreeSet<String>,
    /// Encrypted parameters left encrypted: `validate` when KMS cannot be reached (their
    /// values are unknown secrets to the graph).
    sealed_params: BTreeSet<String>,
    /// NoEcho parameters whose values the project's files hold in plain text (a warning
    /// says so); the files a run records for `stack rollback` are then sealed whole.
    plain_no_echo: BTreeSet<String>,
    /// The state backend, behind [`EncryptingBackend`] (the engine sees plain secrets).
    backend: Arc<dyn Backend>,
    secrets: Arc<EncryptingBackend>,
    registry: Registry,
    /// The stack's region: empty when the stack needs none and sets none (see
    /// [`Ctx::resolve_region`]).
    region: String,
    /// The template, loaded once (its errors are reported by the commands that need it).
    template: Result<cairn_core::template::Template, cairn_core::Diagnostics>,
    /// Packages the project's local assets, once per run ([`crate::assets`]).
    assets: Assets,
}

impl Ctx {
    async fn open(cwd: &Path, stack_flag: Option<&str>) -> Result<Ctx, CliError> {
        Self::open_with(cwd, stack_flag, Secrets::Open).await
    }

    /// With `Secrets::Open`, the stack's secrets manager is opened first of all (a wrong
    /// passphrase is reported before anything else happens) and encrypted parameters are
    /// decrypted.
    async fn open_with(cwd: &Path, stack_flag: Option<&str>, secrets: Secrets) -> Result<Ctx, CliError> {
        let project = Project::discover(cwd)?;
        let stack = project.resolve_stack(stack_flag)?;
        let raw = backend_for(&project, Some(&stack))?;
        Ctx::open_project(project, stack, raw, secrets).await
    }

    /// Open `stack` of `project` (which may be a recorded version of it, for a rollback),
    /// whose state is in `raw`.
    async fn open_project(
        project: Project,
        stack: String,
        raw: Arc<dyn Backend>,
        secrets: Secrets,
    ) -> Result<Ctx, CliError> {
        let mut settings = project.settings(&stack)?;
        let encrypting = encrypting_backend(&project, raw.clone());
        let mut secret_params = BTreeSet::new();
        let mut sealed_params = BTreeSet::new();
        let opened = encrypting
            .manager(&stack)
            .await
            .and_then(|manager| cli_secrets::decrypt_parameters(&mut settings, manager.as_deref(), &stack));
        match opened {
            Ok(names) => secret_params = names,
            Err(e @ cairn_state::secrets::SecretsError::KmsUnreachable { .. }) if secrets == Secrets::OpenOrSeal => {
                eprintln!("note: the stack's secrets were not decrypted ({e}); `cairn preview` decrypts them");
                settings = project.settings(&stack)?;
                sealed_params = settings
                    .parameters
                    .iter()
                    .filter(|(_, node)| cli_secrets::secure_ciphertext(node).is_some())
                    .map(|(name, _)| name.clone())
                    .collect();
            }
            Err(e) => return Err(e.into()),
        }
        let env_params = cli_secrets::environment_parameters(&mut settings).map_err(|d| project.diagnostics(d))?;
        let backend: Arc<dyn Backend> = encrypting.clone();
        let template = load_template(&project.loader, &project.file.template);
        let mut plain_no_echo = BTreeSet::new();
        if let Ok(t) = &template {
            for (name, def) in &t.parameters {
                if let Some(n) = settings.parameters.get(name).filter(|_| {
                    def.no_echo
                        && !secret_params.contains(name)
                        && !sealed_params.contains(name)
                        && !env_params.contains(name)
                }) {
                    plain_no_echo.insert(name.clone());
                    eprintln!(
                        "warning: {}: NoEcho parameter `{name}` is stored in plain text; encrypt it with `cairn config set --secret {name}`",
                        n.span
                    );
                }
            }
        }
        let assets = Assets::new(Arc::new(crate::assets::FsPackager::new(project.dir.clone())));
        let mut ctx = Ctx {
            assets,
            project,
            stack,
            settings,
            secret_params,
            sealed_params,
            plain_no_echo,
            backend,
            secrets: encrypting,
            registry: registry(),
            region: String::new(),
            template,
        };
        // AWS is loaded only when the template or the state uses it, so projects of
        // built-in types need no credentials.
        let mentions_account = ctx
            .project
            .loader
            .sources
            .borrow()
            .values()
            .any(|t| t.contains("AWS::AccountId") || t.contains("AWS::StackId"));
        // SSM parameter references are read from AWS before the plan (`cairn_core::ssm`).
        let mentions_ssm = ctx
            .project
            .loader
            .sources
            .borrow()
            .values()
            .any(|t| t.contains("{{resolve:ssm") || t.contains("AWS::SSM::Parameter::Value<"));
        let in_template = ctx.template.as_ref().is_ok_and(template_uses_aws) || mentions_ssm;
        // The state is read only when the template does not already need AWS.
        let in_state = !(in_template || mentions_account)
            && match raw.load(&ctx.stack).await {
                Ok(l) => l
                    .state
                    .resources
                    .values()
                    .chain(l.state.pending_deletes.iter())
                    .any(|r| r.type_name.starts_with("AWS::")),
                Err(_) => false,
            };
        // A region is needed only where AWS is: a stack of built-in types runs without one.
        let mentions_region =
            ctx.project.loader.sources.borrow().values().any(|t| t.contains("AWS::Region") || t.contains("GetAZs"));
        let needs_region = if in_template {
            Some("its template uses AWS resource types")
        } else if mentions_account {
            Some("its template refers to the AWS account (AWS::AccountId or AWS::StackId)")
        } else if in_state {
            Some("its state holds AWS resources")
        } else if mentions_region {
            Some("its template refers to AWS::Region or Fn::GetAZs")
        } else {
            None
        };
        ctx.region = match needs_region {
            Some(why) => ctx.resolve_region(why).await?,
            None => ctx.settings.region.clone().unwrap_or_default(),
        };
        if in_template || in_state || mentions_account {
            ctx.registry = registry_with_aws(&ctx.region).await;
        }
        Ok(ctx)
    }

    /// The region of a stack that needs one (`why` says what needs it): the stack file's
    /// `region:`, then Cairn.yaml's `defaults:`, then the AWS SDK's chain (`AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, the profile's `region`); none is an error that lists them.
    async fn resolve_region(&self, why: &str) -> Result<String, CliError> {
        if let Some(r) = self.settings.region.as_ref().filter(|r| !r.trim().is_empty()) {
            return Ok(r.clone());
        }
        if let Some(r) = cairn_aws::Aws::region_from_environment().await {
            return Ok(r);
        }
        let profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "default".into());
        let config_file =
            std::env::var("AWS_CONFIG_FILE").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "~/.aws/config".into());
        let stack_flag = if self.project.resolve_stack(None).ok().as_deref() == Some(self.stack.as_str()) {
            String::new()
        } else {
            format!(" -s {}", self.stack)
        };
        Err(CliError::Usage(format!(
            "stack `{stack}` needs an AWS region ({why}), and none is set. cairn looked in:\n\
             \x20 - `region:` in {stack_file}\n\
             \x20 - `defaults: region:` in {project_file}\n\
             \x20 - the environment variables AWS_REGION and AWS_DEFAULT_REGION\n\
             \x20 - `region` of the AWS profile `{profile}` in {config_file} (AWS_PROFILE, AWS_CONFIG_FILE)\n\
             Set one for this stack with `cairn{stack_flag} config set region us-east-1`, for every stack under `defaults:` in {project_file}, or with `export AWS_REGION=us-east-1`.",
            stack = self.stack,
            stack_file = self.project.stack_rel(&self.stack),
            project_file = crate::project::PROJECT_FILE,
        )))
    }

    async fn account_id(&self) -> Result<Option<String>, CliError> {
        match self.registry.identity() {
            None => Ok(None),
            Some(i) => i
                .account_id()
                .await
                .map(Some)
                .map_err(|e| CliError::Failed(format!("cannot determine the AWS account: {}", e.detail()))),
        }
    }

    async fn exec_options(&self, parallel: usize) -> Result<ExecOptions, CliError> {
        let region = self.region.clone();
        let partition = self.registry.identity().map(|i| i.partition(&region)).unwrap_or_else(|| "aws".into());
        Ok(ExecOptions {
            project: self.project.file.name.clone(),
            stack: self.stack.clone(),
            account_id: self.account_id().await?.unwrap_or_default(),
            partition,
            stack_tags: self.settings.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            parallel,
            assets: self.assets.clone(),
        })
    }

    /// Load the template and build the desired graph for this stack.
    async fn graph(&self) -> Result<DesiredGraph, CliError> {
        self.graph_with(false).await
    }

    /// The graph; with `offline`, an account id and SSM parameters that cannot be read (no
    /// credentials) stay unknown instead of failing (`validate`).
    async fn graph_with(&self, offline: bool) -> Result<DesiredGraph, CliError> {
        let template = self.template.clone().map_err(|d| self.project.diagnostics(d))?;
        let region = self.region.clone();
        let partition = self.registry.identity().map(|i| i.partition(&region)).unwrap_or_else(|| "aws".into());
        let uses_imports = self.project.loader.sources.borrow().values().any(|t| t.contains("ImportValue"));
        let exports = if uses_imports { self.exports().await? } else { BTreeMap::new() };
        let ssm = self.ssm_values(&template, offline).await?;
        let inputs = StackInputs {
            project: self.project.file.name.clone(),
            stack: self.stack.clone(),
            region,
            account_id: match self.account_id().await {
                Ok(a) => a,
                Err(_) if offline => None,
                Err(e) => return Err(e),
            },
            partition,
            parameters: self.settings.parameters.clone(),
            secret_parameters: self.secret_params.clone(),
            sealed_parameters: self.sealed_params.clone(),
            exports,
            assets: self.assets.clone(),
            ssm,
        };
        let graph = DesiredGraph::build(&template, inputs, &self.registry).map_err(|d| self.project.diagnostics(d))?;
        Ok(graph)
    }

    /// The SSM parameters the templates name (`AWS::SSM::Parameter::Value<T>` parameters,
    /// `{{resolve:ssm:...}}` references), read now: the plan shows what they hold.
    ///
    /// With `offline` (`validate`), when AWS cannot be asked at all (no credentials, no
    /// network: an error without an answer), they are unknown, as an account id is, and
    /// preview reads them; a parameter AWS says does not exist is still an error.
    async fn ssm_values(
        &self,
        template: &cairn_core::template::model::Template,
        offline: bool,
    ) -> Result<cairn_core::ssm::SsmValues, CliError> {
        let wanted: Vec<_> = cairn_core::ssm::wanted(template, &self.settings.parameters).into_iter().collect();
        if wanted.is_empty() {
            return Ok(Default::default());
        }
        let Some(store) = self.registry.parameter_store() else {
            return Err(CliError::Usage(
                "the template reads SSM parameters, and this cairn was built without the `ssm` feature".into(),
            ));
        };
        match store.read(&self.region, &wanted).await {
            Ok(values) => Ok(values),
            Err(e) if offline && e.code.is_none() && e.status.is_none() => {
                eprintln!(
                    "note: the SSM parameters the template names were not read (AWS could not be asked: {}); `cairn preview` reads them",
                    e.message.lines().next().unwrap_or_default().trim_end_matches('.').trim_end_matches(':')
                );
                Ok(cairn_core::ssm::SsmValues::offline())
            }
            Err(e) => Err(CliError::Failed(format!(
                "cannot read the SSM parameters stack `{}` names: {}",
                self.stack,
                e.detail()
            ))),
        }
    }

    /// Exports of the other stacks in this backend.
    async fn exports(&self) -> Result<BTreeMap<String, Value>, CliError> {
        let mut out = BTreeMap::new();
        for s in self.backend.list_stacks().await? {
            if s == self.stack {
                continue;
            }
            let loaded = self.backend.load(&s).await?;
            for o in loaded.state.outputs.values() {
                if let Some(name) = &o.export_name {
                    out.insert(name.clone(), o.value.clone());
                }
            }
        }
        Ok(out)
    }

    fn digests(&self) -> (Option<String>, Option<String>) {
        let sources = self.project.loader.sources.borrow();
        let mut template = Vec::new();
        let mut config = Vec::new();
        for (path, text) in sources.iter() {
            let target = if path.starts_with("stacks/") || path == crate::project::PROJECT_FILE {
                &mut config
            } else {
                &mut template
            };
            target.extend_from_slice(path.as_bytes());
            target.push(0);
            target.extend_from_slice(text.as_bytes());
        }
        // `destroy` reads no template: no digest rather than the digest of nothing.
        let template = (!template.is_empty()).then(|| cairn_core::digest(&template)[..16].to_string());
        (template, Some(cairn_core::digest(&config)[..16].to_string()))
    }

    /// The project's files as this run read them, for its history entry (`stack rollback`
    /// applies them again). When a NoEcho value is written in plain text in them, the
    /// project and stack files are sealed whole with the stack's secrets (see
    /// [`SEALED_INPUT_PREFIX`]); without a secrets manager they are left out.
    async fn recorded_inputs(&self) -> BTreeMap<String, String> {
        let mut files = self.project.loader.sources.borrow().clone();
        if self.plain_no_echo.is_empty() {
            return files;
        }
        let manager = self.secrets.manager(&self.stack).await.ok().flatten();
        let settings_files: Vec<String> = files
            .keys()
            .filter(|p| p.starts_with("stacks/") || p.as_str() == crate::project::PROJECT_FILE)
            .cloned()
            .collect();
        for path in settings_files {
            match &manager {
                Some(m) => {
                    let text = files.remove(&path).expect("listed above");
                    files.insert(path, format!("{SEALED_INPUT_PREFIX}{}", m.seal_value(&Value::String(text))));
                }
                None => {
                    files.remove(&path);
                }
            }
        }
        files
    }

    fn title(&self, verb: &str) -> String {
        format!("{verb} {}/{} ({})", self.project.file.name, self.stack, self.backend.describe())
    }
}

/// The prefix of a recorded input file sealed with the stack's secrets (its text holds a
/// NoEcho value in plain text): the rest is the ciphertext of the file's text.
const SEALED_INPUT_PREFIX: &str = "cairn:sealed:";

/// Open the recorded input files that [`Ctx::recorded_inputs`] sealed.
async fn open_recorded_inputs(
    project: &Project,
    stack: &str,
    mut files: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, CliError> {
    use cairn_state::encrypting::SecretsSource;
    if !files.values().any(|t| t.starts_with(SEALED_INPUT_PREFIX)) {
        return Ok(files);
    }
    let manager = secrets_source(project)
        .configured(stack)
        .await?
        .ok_or_else(|| cairn_state::secrets::SecretsError::NotConfigured { stack: stack.to_string() })?;
    for (path, text) in files.iter_mut() {
        if let Some(ct) = text.strip_prefix(SEALED_INPUT_PREFIX) {
            let opened = manager.open_value(ct, &format!("the recorded {path}"))?;
            *text = opened.as_str().map(str::to_string).ok_or_else(|| {
                CliError::Usage(format!("the recorded {path} of stack `{stack}` is not a file's text"))
            })?;
        }
    }
    Ok(files)
}

/// RFC 3339 UTC with whole seconds, as lock files have it.
fn now() -> String {
    cairn_state::now_rfc3339()
}

fn plan_options(a: &crate::PlanArgs) -> PlanOptions {
    PlanOptions { targets: a.target.clone(), replace: a.replace.clone() }
}

fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Ask before changing anything. Without a terminal, `--yes` is required.
fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::NotConfirmed(
            "no terminal to confirm on, so nothing was changed: pass --yes to go ahead without asking".into(),
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::NotConfirmed("not confirmed; nothing was changed".into()))
    }
}

async fn preview(ctx: &Ctx, a: crate::PreviewArgs) -> Result<(), CliError> {
    let graph = ctx.graph().await?;
    let opts = ctx.exec_options(a.parallel).await?;
    let session = Session::open(ctx.backend.clone(), &ctx.stack, None, &ctx.registry, &opts).await?;
    for e in &session.recovered {
        Progress::new().event(e);
    }
    // With --refresh: read only, and plan against what AWS holds; nothing is written.
    let (plan, _) = plan_against_live(ctx, &graph, &session.state, &opts, &a.plan).await?;
    if a.json {
        let j = render::plan_json(&plan, &ctx.stack, a.plan.show_secrets);
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&j).expect("json")));
    } else {
        print_stdout(&render::plan_text(
            &plan,
            &ctx.title("Preview of"),
            a.plan.diff,
            a.plan.show_secrets,
            Style::detect_stdout(),
        ));
    }
    if let Some(refused) = plan.refusal() {
        eprint!("{}", render::refusal_text(&refused, "warning", &|s| lift_protection(ctx, s)));
        eprintln!(
            "warning: `cairn up` refuses this plan: {} protected from deletion in AWS; it would change nothing",
            refused.how_many()
        );
    }
    if a.plan.expect_no_changes && !plan.is_empty() {
        return Err(CliError::ChangesPresent);
    }
    Ok(())
}

/// How to lift the protection of a refused step when the template takes the property from
/// a stack parameter (through components too): `cairn config set` of that parameter.
fn lift_protection(ctx: &Ctx, s: &cairn_core::plan::ProtectedStep) -> Option<String> {
    let template = ctx.template.as_ref().ok()?;
    let param = template.parameter_behind(&s.id, &s.protection.property)?;
    Some(format!(
        "the template takes `{}` from the stack parameter `{param}`: `cairn config set {param} {} -s {}`, then `cairn up`",
        s.protection.property, s.protection.off, ctx.stack
    ))
}

/// A run refused for deletion protection (before it asked or changed anything): each
/// protected resource on stderr, and the error that ends the command (exit code 1).
fn refuse(ctx: &Ctx, kind: &str, refused: &cairn_core::plan::Refused) -> CliError {
    eprint!("{}", render::refusal_text(refused, "error", &|s| lift_protection(ctx, s)));
    CliError::Failed(format!(
        "{kind} refused: {} protected from deletion in AWS (see above); nothing was changed",
        refused.how_many()
    ))
}

/// `--refresh`: read every resource of `state` (at most `opts.parallel` at once), saying on
/// stderr how many and what was found.
/// The plan of `preview` and `up`: against `state`, or with `--refresh` against what AWS
/// holds (read first; the drift marked on the plan's steps, and the refresh returned for
/// `up` to record).
async fn plan_against_live(
    ctx: &Ctx,
    graph: &DesiredGraph,
    state: &StackState,
    opts: &ExecOptions,
    args: &crate::PlanArgs,
) -> Result<(Plan, Option<Refreshed>), CliError> {
    let refreshed = if args.refresh { Some(read_live(ctx, state, opts).await?) } else { None };
    let planned_state = refreshed.as_ref().map_or(state, |r| &r.state);
    let mut plan =
        plan_up(graph, planned_state, &ctx.registry, &plan_options(args)).map_err(|d| ctx.project.diagnostics(d))?;
    if let Some(r) = &refreshed {
        mark_drift(&mut plan, r, state, graph);
    }
    Ok((plan, refreshed))
}

async fn read_live(ctx: &Ctx, state: &StackState, opts: &ExecOptions) -> Result<Refreshed, CliError> {
    let clock = Instant::now();
    eprintln!(
        "Reading {} (at most {} at once)...",
        render::count(state.resources.len(), "resource"),
        opts.parallel.max(1)
    );
    let r = cairn_core::refresh::refresh(state, &ctx.registry, opts, &cairn_core::exec::Quiet)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let deleted = r.drift.values().filter(|d| matches!(d, cairn_core::refresh::Drift::Deleted)).count();
    let changed = r.drift.len() - deleted;
    let found = match (changed, deleted) {
        (0, 0) => "no changes outside cairn".to_string(),
        (c, 0) => format!("{c} changed outside cairn"),
        (0, d) => format!("{d} deleted outside cairn"),
        (c, d) => format!("{c} changed and {d} deleted outside cairn"),
    };
    eprintln!("Read {} in {}: {found}.", render::count(r.read, "resource"), render::fmt_duration(clock.elapsed()));
    Ok(r)
}

/// What kind of run `apply_and_report` reports on.
struct RunKind<'a> {
    /// `up`, `destroy`, `rollback`.
    kind: &'a str,
    show_secrets: bool,
    /// For a rollback: the version whose inputs it applies.
    rolled_back_to: Option<u64>,
}

async fn apply_and_report(
    ctx: &Ctx,
    mut session: Session,
    plan: &Plan,
    graph: Option<Arc<DesiredGraph>>,
    opts: ExecOptions,
    run: RunKind<'_>,
) -> Result<RunResult, CliError> {
    let RunKind { kind, show_secrets, rolled_back_to } = run;
    let started = now();
    let clock = Instant::now();
    let version = session.next_version().await?;
    // First Ctrl-C: finish what is in flight, record it, release the lock. Second: exit now
    // (the next run reconciles what was interrupted).
    let watcher = tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nInterrupted: waiting for operations in flight to finish (Ctrl-C again to stop at once; the next run reconciles)...");
            cairn_core::exec::request_stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let deletes = render::DeleteKinds::of(plan);
    let result =
        session.apply(plan, graph.clone(), &ctx.registry, opts, Arc::new(Progress::for_plan(deletes.clone()))).await;
    watcher.abort();
    let result = match result {
        Ok(r) => r,
        Err(cairn_core::engine::EngineError::Refused(refused)) => {
            let _ = session.close().await;
            return Err(refuse(ctx, kind, &refused));
        }
        Err(e) => {
            let _ = session.close().await;
            return Err(e.into());
        }
    };
    if graph.is_some() && !result.state.outputs.is_empty() {
        // A blank line between the plan's summary line and the outputs.
        print_stdout(&format!("\n{}", render::outputs_text(&result.state.outputs, show_secrets)));
    }
    eprint!("{}", render::run_summary(&result, &deletes, kind, clock.elapsed()));
    let (template_digest, config_digest) = ctx.digests();
    // A destroy does not run the template.
    let template_digest = if graph.is_some() { template_digest } else { None };
    // What an up applied, so that `stack rollback --to` can apply it again.
    let inputs = match graph {
        Some(_) => Some(ctx.recorded_inputs().await),
        None => None,
    };
    let entry = HistoryEntry {
        inputs,
        rolled_back_to,
        version,
        kind: kind.to_string(),
        started,
        ended: now(),
        result: if result.succeeded() { "succeeded".into() } else { "failed".into() },
        counts: result.counts(),
        template_digest,
        config_digest,
        error: result.failed().first().map(|e| e.to_string()).or_else(|| result.journal_error.clone()),
    };
    if result.journal_error.is_none() {
        session.add_history(&entry).await?;
    }
    session.close().await?;
    if !result.succeeded() {
        let n = result.failed().len();
        return Err(CliError::Failed(format!(
            "{kind} failed: {n} resource operation{} failed (see above); what succeeded is recorded in the state",
            if n == 1 { "" } else { "s" }
        )));
    }
    Ok(result)
}

async fn up(ctx: &Ctx, a: crate::UpArgs) -> Result<(), CliError> {
    up_run(ctx, a, "up", None).await
}

/// `up`, or a rollback (`kind` "rollback") of the inputs of version `rolled_back_to`.
async fn up_run(ctx: &Ctx, a: crate::UpArgs, kind: &str, rolled_back_to: Option<u64>) -> Result<(), CliError> {
    let graph = Arc::new(ctx.graph().await?);
    let opts = ctx.exec_options(a.parallel).await?;
    let mut session =
        Session::open(ctx.backend.clone(), &ctx.stack, Some(cairn_state::lock_info(kind)), &ctx.registry, &opts)
            .await?;
    let progress = Progress::new();
    for e in &session.recovered {
        progress.event(e);
    }
    let (plan, refreshed) = match plan_against_live(ctx, &graph, &session.state, &opts, &a.plan).await {
        Ok(x) => x,
        Err(e) => {
            let _ = session.close().await;
            return Err(e);
        }
    };
    print_stdout(&render::plan_text(
        &plan,
        &ctx.title(if kind == "rollback" { "Rollback of" } else { "Up of" }),
        a.plan.diff,
        a.plan.show_secrets,
        Style::detect_stdout(),
    ));
    if a.plan.expect_no_changes && !plan.is_empty() {
        let _ = session.close().await;
        return Err(CliError::ChangesPresent);
    }
    if plan.is_empty() {
        session.close().await?;
        eprintln!("Nothing to do: the stack is up to date.");
        return Ok(());
    }
    if let Some(refused) = plan.refusal() {
        let _ = session.close().await;
        return Err(refuse(ctx, kind, &refused));
    }
    if let Err(e) = confirm("Apply these changes?", a.yes) {
        let _ = session.close().await;
        return Err(e);
    }
    // Secrets to store (in the state, or in the recorded inputs) and no secrets provider
    // yet: set one up now, before any change (rather than at the first journal write).
    if plan_has_secrets(&plan) || !ctx.plain_no_echo.is_empty() {
        if let Err(e) = ctx.secrets.ensure_manager(&ctx.stack).await {
            let _ = session.close().await;
            return Err(e.into());
        }
    }
    // --refresh: record what AWS holds (journaled, like `cairn refresh`), which the plan was
    // made against, before applying it.
    if let Some(r) = refreshed.filter(|r| !r.changes.is_empty()) {
        if let Err(e) = session.record(r.changes).await {
            let _ = session.close().await;
            return Err(e.into());
        }
    }
    let run = RunKind { kind, show_secrets: a.plan.show_secrets, rolled_back_to };
    apply_and_report(ctx, session, &plan, Some(graph), opts, run).await?;
    Ok(())
}

async fn destroy(ctx: &Ctx, a: crate::DestroyArgs) -> Result<(), CliError> {
    let opts = ctx.exec_options(a.parallel).await?;
    let session =
        Session::open(ctx.backend.clone(), &ctx.stack, Some(cairn_state::lock_info("destroy")), &ctx.registry, &opts)
            .await?;
    let progress = Progress::new();
    for e in &session.recovered {
        progress.event(e);
    }
    let plan = plan_destroy(&session.state, &ctx.registry, &a.target);
    print_stdout(&render::plan_text(&plan, &ctx.title("Destroy of"), false, false, Style::detect_stdout()));
    if plan.is_empty() {
        session.close().await?;
        eprintln!("Nothing to do: the stack has no resources.");
        return Ok(());
    }
    if let Some(refused) = plan.refusal() {
        let _ = session.close().await;
        return Err(refuse(ctx, "destroy", &refused));
    }
    if let Err(e) = confirm("Delete these resources?", a.yes) {
        let _ = session.close().await;
        return Err(e);
    }
    let result = apply_and_report(
        ctx,
        session,
        &plan,
        None,
        opts,
        RunKind { kind: "destroy", show_secrets: false, rolled_back_to: None },
    )
    .await?;
    if result.state.is_empty() {
        eprintln!("The stack is empty. `cairn stack rm {}` removes its history and stack file.", ctx.stack);
    }
    Ok(())
}

async fn refresh(ctx: &Ctx, a: crate::RefreshArgs) -> Result<(), CliError> {
    let yes = a.yes;
    let opts = ctx.exec_options(a.parallel).await?;
    let mut session =
        Session::open(ctx.backend.clone(), &ctx.stack, Some(cairn_state::lock_info("refresh")), &ctx.registry, &opts)
            .await?;
    let progress = Progress::new();
    let started = now();
    let clock = Instant::now();
    let changes = match cairn_core::refresh::refresh(&session.state, &ctx.registry, &opts, &progress).await {
        Ok(r) => r.changes,
        Err(e) => {
            let _ = session.close().await;
            return Err(CliError::Failed(e.to_string()));
        }
    };
    if changes.is_empty() {
        eprintln!(
            "Refresh found no changes outside cairn ({} read).",
            render::count(session.state.resources.len(), "resource")
        );
        session.close().await?;
        return Ok(());
    }
    print_stdout(&format!("Refresh found {} resource(s) changed outside cairn.\n", changes.len()));
    if let Err(e) = confirm("Record these changes in the state?", yes) {
        let _ = session.close().await;
        return Err(e);
    }
    let n = changes.len() as u64;
    session.record(changes).await?;
    let version = session.next_version().await?;
    let (template_digest, config_digest) = ctx.digests();
    session
        .add_history(&HistoryEntry {
            inputs: None,
            rolled_back_to: None,
            version,
            kind: "refresh".into(),
            started,
            ended: now(),
            result: "succeeded".into(),
            counts: BTreeMap::from([("drift".to_string(), n)]),
            template_digest,
            config_digest,
            error: None,
        })
        .await?;
    session.close().await?;
    eprintln!("refresh succeeded in {}: {n} recorded.", render::fmt_duration(clock.elapsed()));
    Ok(())
}

/// `cairn cancel`: clear a stack's lock. A lock whose process still runs on this host is
/// kept (exit 4) unless `--force`; one held from another host (where cairn cannot tell)
/// is cleared once confirmed or with `--yes`; a stale one (same host, process gone) is
/// cleared at once. Needs no secrets, no template and no region.
async fn cancel(cwd: &Path, stack_flag: Option<&str>, a: crate::CancelArgs) -> Result<(), CliError> {
    use cairn_state::HolderState;
    let project = Project::discover(cwd)?;
    let stack = project.resolve_stack(stack_flag)?;
    validate_stack_name(&stack)?;
    let backend = backend_for(&project, Some(&stack))?;
    let Some((holder, _)) = backend.lock_holder(&stack).await? else {
        eprintln!("Stack `{stack}` is not locked.");
        return Ok(());
    };
    let held = lock_holder_text(&holder);
    let state = cairn_state::holder_state(&holder);
    if !a.force {
        match state {
            HolderState::Running => {
                let pid = holder.pid;
                return Err(CliError::Locked(format!(
                    "stack `{stack}` is locked by {held}, and pid {pid} is still running on this host, so the lock was kept. \
                     Wait for that run to finish, or stop it (Ctrl-C where it runs); \
                     if pid {pid} is not that run, `cairn cancel --force` clears the lock anyway."
                )));
            }
            HolderState::Elsewhere => {
                eprintln!(
                    "Stack `{stack}` is locked by {held}. That is not this host, so cairn cannot tell whether the run is still going; clearing its lock lets another run change the stack at the same time."
                );
                confirm("Clear the lock?", a.yes)?;
            }
            HolderState::Gone => {}
        }
    }
    if !backend.break_lock(&stack).await? {
        eprintln!("Stack `{stack}` was unlocked meanwhile: nothing to clear.");
        return Ok(());
    }
    let how = match state {
        HolderState::Running => format!(
            " (--force), although pid {} is still running on this host: if that run goes on, it may change the stack at the same time as another",
            holder.pid
        ),
        HolderState::Gone => ", whose process had ended".to_string(),
        HolderState::Elsewhere => String::new(),
    };
    eprintln!(
        "Cleared the lock of stack `{stack}` held by {held}{how}. The next run reconciles anything it left unfinished."
    );
    Ok(())
}

/// A lock's holder for messages: `alice on host (pid 42, `cairn up`) since <time> (<age> ago)`.
fn lock_holder_text(h: &cairn_core::state::LockInfo) -> String {
    if h.pid == 0 && h.user == "unknown" && h.host == "unknown" {
        return "an unknown holder (the lock cannot be read)".to_string();
    }
    let age = lock_age(&h.started).map(|a| format!(" ({a} ago)")).unwrap_or_default();
    format!("{} on {} (pid {}, `cairn {}`) since {}{age}", h.user, h.host, h.pid, h.operation, h.started)
}

/// How long ago an RFC 3339 time was, coarsely (`45s`, `12m`, `3h 5m`, `2d 4h`).
fn lock_age(started: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339).ok()?;
    let secs = (time::OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    Some(match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    })
}

async fn validate(cwd: &Path, stack_flag: Option<&str>) -> Result<(), CliError> {
    let ctx = Ctx::open_with(cwd, stack_flag, Secrets::OpenOrSeal).await?;
    let graph = ctx.graph_with(true).await?;
    graph.check_properties(&ctx.registry).map_err(|d| ctx.project.diagnostics(d))?;
    eprintln!(
        "{} is valid for stack `{}`: {}, {}.",
        ctx.project.file.template,
        ctx.stack,
        render::count(graph.resources.len(), "resource"),
        render::count(graph.components.len(), "component")
    );
    Ok(())
}

fn init(cwd: &Path, a: crate::InitArgs) -> Result<(), CliError> {
    let project_file = cwd.join(crate::project::PROJECT_FILE);
    if project_file.exists() {
        return Err(CliError::Usage(format!(
            "{} already exists: this directory is a cairn project",
            project_file.display()
        )));
    }
    let name = a
        .name
        .clone()
        .or_else(|| cwd.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string())))
        .unwrap_or_else(|| "project".into());
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect();
    let write = |rel: &str, text: &str| -> Result<(), CliError> {
        let p = cwd.join(rel);
        if p.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(p.parent().expect("parent"))
            .and_then(|_| std::fs::write(&p, text))
            .map_err(|e| CliError::Failed(format!("cannot write {rel}: {e}")))
    };
    write(
        crate::project::PROJECT_FILE,
        &format!("name: {name}\ntemplate: template.yaml\n# backend: file://.cairn (the default), or set CAIRN_BACKEND\ndefaults:\n  region: {}\n  tags:\n    Project: {name}\n", a.region),
    )?;
    write(
        "template.yaml",
        "AWSTemplateFormatVersion: \"2010-09-09\"\nDescription: A cairn project.\n\nParameters:\n  Environment:\n    Type: String\n    AllowedValues: [dev, staging, production]\n\nResources:\n  Suffix:\n    Type: Cairn::Random::String\n    Properties:\n      Length: 8\n      Upper: false\n      Special: false\n\nOutputs:\n  suffix:\n    Value: !Ref Suffix\n  environment:\n    Value: !Ref Environment\n",
    )?;
    write(
        &format!("stacks/{}.yaml", a.stack_name),
        &format!(
            "parameters:\n  Environment: {}\n",
            if ["dev", "staging", "production"].contains(&a.stack_name.as_str()) {
                a.stack_name.as_str()
            } else {
                "dev"
            }
        ),
    )?;
    write(".gitignore", ".cairn/\n")?;
    let project = Project::discover(cwd)?;
    project.select(&a.stack_name)?;
    eprintln!(
        "Created project `{name}` with stack `{}` (selected). Next: `cairn preview`, then `cairn up`.",
        a.stack_name
    );
    Ok(())
}

/// `cairn import sceptre SCEPTRE_DIR [--out DIR]`: reads the Sceptre project's `config/`
/// and `templates/`, writes what [`crate::sceptre::translate`] makes (never over an
/// existing file), and prints the report on stderr.
fn import_sceptre(cwd: &Path, dir: &Path, out: Option<&Path>) -> Result<(), CliError> {
    let src = cwd.join(dir);
    let out_dir = out.map_or_else(|| cwd.to_path_buf(), |o| cwd.join(o));
    let config = src.join("config");
    if !config.is_dir() {
        return Err(CliError::Usage(format!(
            "{}: no config/ directory, so not a Sceptre project (give the directory holding config/ and templates/)",
            dir.display()
        )));
    }
    if out_dir.join(crate::project::PROJECT_FILE).exists() {
        return Err(CliError::Usage(format!(
            "{} already exists: import into another directory (--out DIR)",
            out_dir.join(crate::project::PROJECT_FILE).display()
        )));
    }
    let mut configs = BTreeMap::new();
    read_tree(&src, "config", &mut configs)?;
    configs.retain(|path, _| path.ends_with(".yaml") || path.ends_with(".yml"));
    let loader = crate::project::FsLoader { root: src.clone(), ..Default::default() };
    let imported =
        crate::sceptre::translate(&configs, &loader).map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
    let existing: Vec<String> = imported.files.keys().filter(|f| out_dir.join(f).exists()).cloned().collect();
    if !existing.is_empty() {
        return Err(CliError::Usage(format!(
            "{} would overwrite {}: import into another directory (--out DIR)",
            out_dir.display(),
            existing.join(", ")
        )));
    }
    for (rel, text) in &imported.files {
        let p = out_dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("a file has a parent"))
            .and_then(|()| std::fs::write(&p, text))
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", p.display())))?;
    }
    let shown = out.map_or_else(|| ".".to_string(), |o| o.display().to_string());
    eprint!("{}", crate::sceptre::report(&imported, &shown));
    Ok(())
}

/// Every file under `root/rel`, by its path relative to `root` (with `/`), as text.
fn read_tree(root: &Path, rel: &str, into: &mut BTreeMap<String, String>) -> Result<(), CliError> {
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", dir.display())))?;
    for e in entries {
        let e = e.map_err(|e| CliError::Usage(format!("cannot read {}: {e}", dir.display())))?;
        let name = e.file_name().to_string_lossy().to_string();
        let child = format!("{rel}/{name}");
        if e.path().is_dir() {
            read_tree(root, &child, into)?;
        } else if let Ok(text) = std::fs::read_to_string(e.path()) {
            into.insert(child, text);
        }
    }
    Ok(())
}

async fn stack(cwd: &Path, stack_flag: Option<&str>, c: StackCommand) -> Result<(), CliError> {
    let project = Project::discover(cwd)?;
    match c {
        StackCommand::Init { name, region } => {
            validate_stack_name(&name)?;
            if project.stack_path(&name).exists() {
                return Err(CliError::Usage(format!("stack `{name}` already exists ({})", project.stack_rel(&name))));
            }
            let settings = StackSettings { region, ..Default::default() };
            project.write_stack(&name, &settings)?;
            project.select(&name)?;
            eprintln!("Created stack `{name}` ({}) and selected it.", project.stack_rel(&name));
            Ok(())
        }
        StackCommand::Select { name } => {
            if !project.stack_path(&name).exists() {
                return Err(CliError::Usage(format!(
                    "no stack `{name}` (stacks: {})",
                    list_or_none(&project.stack_files())
                )));
            }
            project.select(&name)?;
            eprintln!("Selected stack `{name}`.");
            Ok(())
        }
        StackCommand::Ls { json } => {
            // Stacks may keep their state in different backends: every stack file's stack
            // (in its own backend), and the stacks of the default backend without one.
            let selected = project.selected();
            let default = backend_for(&project, None)?;
            let mut names: Vec<String> = project.stack_files();
            for s in default.list_stacks().await? {
                if !names.contains(&s) {
                    names.push(s);
                }
            }
            names.sort();
            struct Row {
                name: String,
                selected: bool,
                backend: String,
                /// Resource count and last run, or why the state could not be read.
                state: Result<(usize, Option<String>), String>,
                stack_file: bool,
            }
            let mut rows = Vec::new();
            for n in &names {
                // A stack file that does not parse stops the listing (a located error); a
                // backend that cannot be opened or read is reported in the stack's row.
                let url = backend_url(&project, Some(n))?;
                let state = async {
                    let backend = cairn_state::open_backend(url.as_deref(), &project.dir)?;
                    let loaded = backend.load(n).await?;
                    let history = backend.history(n).await?;
                    let last = history.last().map(|h| format!("{} {} ({})", h.kind, h.result, h.ended));
                    Ok::<_, cairn_core::state::StateError>((backend.describe(), loaded.state.resources.len(), last))
                }
                .await;
                let (backend, state) = match state {
                    Ok((backend, count, last)) => (backend, Ok((count, last))),
                    Err(e) => {
                        let backend = url.clone().unwrap_or_else(|| ".cairn".into());
                        eprintln!("warning: cannot read the state of stack `{n}` in {backend}: {e}");
                        (backend, Err(e.to_string()))
                    }
                };
                rows.push(Row {
                    name: n.clone(),
                    selected: selected.as_deref() == Some(n.as_str()),
                    backend,
                    state,
                    stack_file: project.stack_path(n).exists(),
                });
            }
            if json {
                let j: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let (count, last) = match &r.state {
                            Ok((count, last)) => (Some(*count), last.clone()),
                            Err(_) => (None, None),
                        };
                        let mut j = serde_json::json!({
                            "name": r.name,
                            "selected": r.selected,
                            "resources": count,
                            "last_run": last,
                            "stack_file": r.stack_file,
                            "backend": r.backend,
                        });
                        if let Err(e) = &r.state {
                            j["error"] = e.clone().into();
                        }
                        j
                    })
                    .collect();
                print_stdout(&format!("{}\n", serde_json::to_string_pretty(&j).expect("json")));
            } else {
                // The backend is shown when the stacks do not all share one.
                let show_backend = rows.iter().any(|r| r.backend != rows[0].backend);
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::NOTHING);
                let mut header = vec!["NAME", "RESOURCES", "LAST RUN"];
                if show_backend {
                    header.push("BACKEND");
                }
                t.set_header(header);
                for r in rows {
                    let (count, last) = match r.state {
                        Ok((count, last)) => (count.to_string(), last.unwrap_or_else(|| "never".into())),
                        Err(_) => ("?".into(), "(state unreadable)".into()),
                    };
                    let mut row = vec![format!("{}{}", r.name, if r.selected { " *" } else { "" }), count, last];
                    if show_backend {
                        row.push(r.backend);
                    }
                    t.add_row(row);
                }
                print_stdout(&render::table_text(&t));
            }
            Ok(())
        }
        StackCommand::Rm { name, force, yes } => {
            validate_stack_name(&name)?;
            let backend = backend_for(&project, Some(&name))?;
            // The stack's lock, held until its state is gone: a run in progress refuses
            // the removal (exit 4, naming its holder), and no run starts meanwhile.
            let lock = backend.lock(&name, cairn_state::lock_info("stack rm")).await?;
            let removed = async {
                let loaded = backend.load(&name).await?;
                if !loaded.state.is_empty() && !force {
                    return Err(CliError::Usage(format!(
                        "stack `{name}` still has {}: run `cairn destroy -s {name}` first, or pass --force to forget them (they stay in AWS)",
                        render::count(loaded.state.resources.len() + loaded.state.pending_deletes.len(), "resource")
                    )));
                }
                confirm(&format!("Remove stack `{name}`, its state, history and stack file?"), yes)?;
                match backend.remove_stack(&name).await {
                    // Never run: only the stack file to remove.
                    Err(cairn_core::state::StateError::NoSuchStack(_)) if project.stack_path(&name).exists() => Ok(()),
                    other => Ok(other?),
                }
            }
            .await;
            let released = lock.release().await;
            removed?;
            released?;
            let _ = std::fs::remove_file(project.stack_path(&name));
            project.clear_selection_if(&name);
            eprintln!("Removed stack `{name}`.");
            Ok(())
        }
        StackCommand::Output { name, json, shell, show_secrets } => {
            let stack = project.resolve_stack(stack_flag)?;
            // Secrets are decrypted only to be shown; otherwise they stay ciphertext (shown
            // as [secret]) and no passphrase is needed.
            let raw = backend_for(&project, Some(&stack))?;
            let backend: Arc<dyn Backend> = if show_secrets { encrypting_backend(&project, raw) } else { raw };
            let state = backend.load(&stack).await?.state;
            if let Some(n) = name {
                let o = state.outputs.get(&n).ok_or_else(|| {
                    let keys: Vec<String> = state.outputs.keys().cloned().collect();
                    CliError::Usage(format!("stack `{stack}` has no output `{n}` (outputs: {})", list_or_none(&keys)))
                })?;
                if json {
                    print_stdout(&format!(
                        "{}\n",
                        serde_json::to_string_pretty(&o.value.to_display_json(show_secrets)).expect("json")
                    ));
                } else {
                    print_stdout(&format!("{}\n", render::bare(&o.value, show_secrets)));
                }
            } else if json {
                print_stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&render::outputs_json(&state.outputs, show_secrets)).expect("json")
                ));
            } else if shell {
                print_stdout(&render::outputs_shell(&state.outputs, show_secrets));
            } else {
                print_stdout(&render::outputs_text(&state.outputs, show_secrets));
            }
            Ok(())
        }
        StackCommand::History { json } => {
            let stack = project.resolve_stack(stack_flag)?;
            let backend = backend_for(&project, Some(&stack))?;
            let history = backend.history(&stack).await?;
            if json {
                // The recorded inputs are listed by file name, not printed whole.
                let rows: Vec<serde_json::Value> = history
                    .iter()
                    .map(|h| {
                        let mut j = serde_json::to_value(h).expect("history json");
                        if let Some(files) = &h.inputs {
                            j["inputs"] = files.keys().cloned().collect::<Vec<_>>().into();
                        }
                        j
                    })
                    .collect();
                print_stdout(&format!("{}\n", serde_json::to_string_pretty(&rows).expect("json")));
            } else if history.is_empty() {
                eprintln!("Stack `{stack}` has no runs yet.");
            } else {
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::NOTHING);
                t.set_header(vec!["VERSION", "KIND", "RESULT", "STARTED", "ENDED", "CHANGES"]);
                for h in history {
                    let counts: Vec<String> = h.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    t.add_row(vec![h.version.to_string(), h.kind, h.result, h.started, h.ended, counts.join(" ")]);
                }
                print_stdout(&render::table_text(&t));
            }
            Ok(())
        }
        StackCommand::Export { show_secrets } => {
            let stack = project.resolve_stack(stack_flag)?;
            let raw = backend_for(&project, Some(&stack))?;
            let backend: Arc<dyn Backend> = if show_secrets { encrypting_backend(&project, raw) } else { raw };
            let loaded = backend.load(&stack).await?;
            if !loaded.interrupted.is_empty() {
                eprintln!("warning: stack `{stack}` has {} interrupted operation(s); run `cairn up` or `cairn refresh` to reconcile them first", loaded.interrupted.len());
            }
            let doc = serde_json::json!({"format_version": cairn_core::state::STATE_FORMAT_VERSION, "project": project.file.name, "stack": stack, "state": loaded.state});
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")));
            Ok(())
        }
        StackCommand::Import { file, yes } => {
            let stack = project.resolve_stack(stack_flag)?;
            let text = match &file {
                Some(f) => std::fs::read_to_string(f)
                    .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", f.display())))?,
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
                    s
                }
            };
            let doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| CliError::Usage(format!("the import is not valid JSON: {e}")))?;
            let state_json = doc.get("state").cloned().unwrap_or(doc);
            let mut state: StackState = serde_json::from_value(state_json)
                .map_err(|e| CliError::Usage(format!("the import is not a cairn stack state: {e}")))?;
            let backend = encrypting_backend(&project, backend_for(&project, Some(&stack))?);
            // Ciphertexts (from `stack export`) must be this stack's: open them, so that the
            // state is sealed again as a whole on the way in.
            let mut has_ciphertext = false;
            let _ = cairn_state::encrypting::walk_state(&mut state.clone(), &mut |v| {
                has_ciphertext |= matches!(v, Value::Secret(inner) if inner.as_str().is_some_and(cairn_state::secrets::is_ciphertext));
                Ok(())
            });
            if has_ciphertext {
                let m = backend
                    .manager(&stack)
                    .await?
                    .ok_or_else(|| cairn_state::secrets::SecretsError::NotConfigured { stack: stack.clone() })?;
                cairn_state::encrypting::open_state(&m, &mut state)?;
            }
            confirm(
                &format!(
                    "Replace the state of stack `{stack}` with {}?",
                    render::count(state.resources.len(), "resource")
                ),
                yes,
            )?;
            let registry = registry();
            let opts = ExecOptions {
                project: project.file.name.clone(),
                stack: stack.clone(),
                account_id: String::new(),
                partition: "aws".into(),
                stack_tags: BTreeMap::new(),
                parallel: 1,
                assets: Assets::default(),
            };
            let mut session =
                Session::open(backend.clone(), &stack, Some(cairn_state::lock_info("import")), &registry, &opts)
                    .await?;
            let n = state.resources.len();
            let r = session.replace_state(state).await;
            session.close().await?;
            r?;
            eprintln!("Imported {} into stack `{stack}`.", render::count(n, "resource"));
            Ok(())
        }
        StackCommand::Rollback { to, up } => rollback(cwd, stack_flag, to, up).await,
        StackCommand::ChangeSecretsProvider { provider } => {
            change_secrets_provider(&project, stack_flag, &provider).await
        }
        StackCommand::Graph => {
            let ctx = Ctx::open(cwd, stack_flag).await?;
            let graph = ctx.graph().await?;
            let mut out = String::from("digraph cairn {\n  rankdir=LR;\n");
            for r in graph.resources.values() {
                out.push_str(&format!("  {:?} [label={:?}];\n", r.id, format!("{}\n{}", r.id, r.type_name)));
                for d in &r.deps {
                    out.push_str(&format!("  {:?} -> {:?};\n", r.id, d));
                }
            }
            out.push_str("}\n");
            print_stdout(&out);
            Ok(())
        }
    }
}

/// `cairn stack rollback --to N`: preview, then apply, the template and configuration that
/// version N applied. The project's files are not changed.
async fn rollback(cwd: &Path, stack_flag: Option<&str>, to: u64, a: crate::UpArgs) -> Result<(), CliError> {
    let project = Project::discover(cwd)?;
    let stack = project.resolve_stack(stack_flag)?;
    let backend = backend_for(&project, Some(&stack))?;
    let history = backend.history(&stack).await?;
    let Some(entry) = history.iter().find(|h| h.version == to) else {
        let versions: Vec<String> = history.iter().map(|h| h.version.to_string()).collect();
        return Err(CliError::Usage(format!(
            "stack `{stack}` has no version {to} (versions: {})",
            list_or_none(&versions)
        )));
    };
    let Some(files) = entry.inputs.clone() else {
        return Err(CliError::Usage(format!(
            "version {to} is a `{}` run, which applied no template: roll back to an `up` or `rollback` version",
            entry.kind
        )));
    };
    let files = open_recorded_inputs(&project, &stack, files).await?;
    let mut recorded = project.at_recorded(files)?;
    // The state stays where it is now, whatever the recorded Cairn.yaml and stack file said.
    recorded.file.backend = project.file.backend.clone();
    let ctx = Ctx::open_project(recorded, stack.clone(), backend, Secrets::Open).await?;
    eprintln!(
        "Rolling back stack `{stack}` to the template and configuration of version {to} ({} {}, {}).",
        entry.kind, entry.result, entry.ended
    );
    up_run(&ctx, a, "rollback", Some(to)).await?;
    eprintln!("The project's files are unchanged: the next `cairn up` applies them again.");
    Ok(())
}

/// `stack change-secrets-provider`: open the stack's secrets with the current provider, set
/// up the new one, and re-encrypt the state and the stack file's secure values. The stack is
/// locked meanwhile. The state is written first, then the stack file (one rename).
async fn change_secrets_provider(project: &Project, stack_flag: Option<&str>, provider: &str) -> Result<(), CliError> {
    use cairn_state::encrypting::{open_state, seal_state, state_has_secrets, SecretsSource};
    let stack = project.resolve_stack(stack_flag)?;
    let new_provider = Provider::parse(provider)?;
    let source = secrets_source(project);
    // The current secrets first: a wrong passphrase stops everything here.
    let old: Option<Arc<SecretsManager>> = source.configured(&stack).await?;
    let raw = backend_for(project, Some(&stack))?;
    let lock = raw.lock(&stack, cairn_state::lock_info("change-secrets-provider")).await?;
    let result = async {
        let loaded = raw.load(&stack).await?;
        if !loaded.interrupted.is_empty() {
            return Err(CliError::Usage(format!(
                "stack `{stack}` has {} interrupted operation(s): run `cairn up` or `cairn refresh` to reconcile them first",
                loaded.interrupted.len()
            )));
        }
        let mut state = loaded.state;
        let mut has_ciphertext = false;
        let _ = cairn_state::encrypting::walk_state(&mut state.clone(), &mut |v| {
            has_ciphertext |= matches!(v, Value::Secret(inner) if inner.as_str().is_some_and(cairn_state::secrets::is_ciphertext));
            Ok(())
        });
        if has_ciphertext {
            let m = old.as_deref().ok_or_else(|| cairn_state::secrets::SecretsError::NotConfigured { stack: stack.clone() })?;
            open_state(m, &mut state)?;
        }
        let new = source.create(&stack, new_provider, &cli_secrets::NewPassphrase).await?;
        let mut own = project.read_stack(&stack)?;
        let n = cli_secrets::reencrypt_parameters(&mut own, old.as_deref(), &new, &stack)?;
        own.secretsprovider = Some(new.provider().url());
        own.encryptionsalt = Some(new.encryptionsalt().to_string());
        if state_has_secrets(&state) {
            seal_state(&new, &mut state);
            raw.compact(&stack, &state).await?;
        }
        project.write_stack(&stack, &own)?;
        eprintln!(
            "Stack `{stack}` now encrypts its secrets with `{}`: re-encrypted {} in {} and the state.",
            new.provider().url(),
            render::count(n, "stack file value"),
            project.stack_rel(&stack)
        );
        Ok(())
    }
    .await;
    let released = lock.release().await;
    result?;
    released?;
    Ok(())
}

/// Whether running `plan` stores secrets.
fn plan_has_secrets(plan: &Plan) -> bool {
    plan.steps.iter().any(|s| {
        s.inputs.as_ref().is_some_and(Value::contains_secret)
            || s.changes.iter().any(|c| c.new.as_ref().is_some_and(Value::contains_secret))
    }) || plan.outputs.values().any(|o| o.value.contains_secret())
}

/// The secrets source of a project's stacks (their stack files).
fn secrets_source(project: &Project) -> Arc<StackSecrets> {
    Arc::new(StackSecrets {
        dir: project.dir.clone(),
        project: project.file.name.clone(),
        defaults: project.file.defaults.clone(),
    })
}

/// `raw` behind an [`EncryptingBackend`] whose managers come from the stack files.
fn encrypting_backend(project: &Project, raw: Arc<dyn Backend>) -> Arc<EncryptingBackend> {
    Arc::new(EncryptingBackend::new(raw, secrets_source(project)))
}

/// Where a stack's state lives: `CAIRN_BACKEND`, else the stack file's `backend`, else
/// Cairn.yaml's `backend`, else `None` (the project's `.cairn/`). With no `stack`, or a
/// stack that has no stack file: the project's default (the same without the stack file).
fn backend_url(project: &Project, stack: Option<&str>) -> Result<Option<String>, CliError> {
    if let Some(url) = std::env::var("CAIRN_BACKEND").ok().filter(|s| !s.trim().is_empty()) {
        return Ok(Some(url));
    }
    let own = match stack {
        Some(s) if project.stack_path(s).is_file() => project.read_stack(s)?.backend,
        _ => None,
    };
    Ok(own.or_else(|| project.file.backend.clone()))
}

/// The raw backend of a stack (see [`backend_url`]); secrets stay ciphertext.
fn backend_for(project: &Project, stack: Option<&str>) -> Result<Arc<dyn Backend>, CliError> {
    let url = backend_url(project, stack)?;
    Ok(cairn_state::open_backend(url.as_deref(), &project.dir)?)
}

fn validate_stack_name(name: &str) -> Result<(), CliError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || name.starts_with('.')
    {
        return Err(CliError::Usage(format!(
            "`{name}` is not a valid stack name: use letters, digits, `-`, `_` and `.`"
        )));
    }
    Ok(())
}

/// Where a `config` key lives in the stack file.
enum ConfigKey {
    Region,
    Tag(String),
    Parameter(String),
}

fn config_key(key: &str) -> ConfigKey {
    if key == "region" {
        ConfigKey::Region
    } else if let Some(t) = key.strip_prefix("tags.") {
        ConfigKey::Tag(t.to_string())
    } else {
        ConfigKey::Parameter(key.strip_prefix("parameters.").unwrap_or(key).to_string())
    }
}

/// A parameter's value for display: secure values as [secret], or decrypted with
/// `show_secrets` (the manager is opened only then).
async fn shown_parameter(
    project: &Project,
    stack: &str,
    name: &str,
    node: &Node,
    show_secrets: bool,
    manager: &mut Option<Arc<SecretsManager>>,
) -> Result<Value, CliError> {
    use cairn_state::encrypting::SecretsSource;
    let Some(ct) = cli_secrets::secure_ciphertext(node) else {
        return Ok(node.to_literal().unwrap_or(Value::Null));
    };
    if !show_secrets {
        // Any secret displays as [secret]; its content is not needed.
        return Ok(Value::secret(Value::Null));
    }
    if manager.is_none() {
        *manager = Some(
            secrets_source(project)
                .configured(stack)
                .await?
                .ok_or_else(|| cairn_state::secrets::SecretsError::NotConfigured { stack: stack.to_string() })?,
        );
    }
    Ok(cli_secrets::open_secure(manager.as_ref().expect("set above"), name, ct)?)
}

async fn config(cwd: &Path, stack_flag: Option<&str>, c: ConfigCommand) -> Result<(), CliError> {
    use cairn_state::encrypting::SecretsSource;
    let project = Project::discover(cwd)?;
    let stack = project.resolve_stack(stack_flag)?;
    let rel = project.stack_rel(&stack);
    match c {
        ConfigCommand::Set { key, value, secret: true } => {
            let ConfigKey::Parameter(p) = config_key(&key) else {
                return Err(CliError::Usage(format!("`{key}` cannot be a secret: only parameters can")));
            };
            // Read the stack file first, so that a missing one is reported before asking.
            project.read_stack(&stack)?;
            let source = secrets_source(&project);
            let manager = match source.configured(&stack).await? {
                Some(m) => m,
                None => source.set_up(&stack).await?,
            };
            let plain = cli_secrets::read_secret_value(&key, value)?;
            let ct = manager.seal_value(&Value::String(plain.to_string()));
            // Re-read: setting up the provider wrote the stack file.
            let mut s = project.read_stack(&stack)?;
            s.parameters.insert(p, cli_secrets::secure_node(ct, Span::file(rel.clone())));
            project.write_stack(&stack, &s)?;
            eprintln!("Set `{key}` (encrypted) in {rel}.");
            Ok(())
        }
        ConfigCommand::Set { key, value, secret: false } => {
            let value = value.ok_or_else(|| {
                CliError::Usage(format!(
                    "no value for `{key}`: `cairn config set {key} VALUE`, or `cairn config set --secret {key}` to read a secret from stdin"
                ))
            })?;
            let mut s = project.read_stack(&stack)?;
            match config_key(&key) {
                ConfigKey::Region => s.region = Some(value),
                ConfigKey::Tag(t) => {
                    s.tags.insert(t, value);
                }
                ConfigKey::Parameter(p) => {
                    // A number or boolean is written as YAML would read it (`20`, not `"20"`);
                    // anything else is a string, quoted when needed.
                    let scalar = match cairn_core::template::parse_document(&value, &rel).map(|n| n.value) {
                        Ok(v @ (NodeValue::Number(_) | NodeValue::Bool(_))) => v,
                        _ => NodeValue::String(value),
                    };
                    s.parameters.insert(p, Node::new(scalar, Span::file(rel.clone())));
                }
            }
            project.write_stack(&stack, &s)?;
            eprintln!("Set `{key}` in {rel}.");
            Ok(())
        }
        ConfigCommand::Get { key, json, show_secrets } => {
            let s = project.settings(&stack)?;
            let mut manager = None;
            let v: Option<Value> = match config_key(&key) {
                ConfigKey::Region => s.region.clone().map(Value::String),
                ConfigKey::Tag(t) => s.tags.get(&t).cloned().map(Value::String),
                ConfigKey::Parameter(p) => match s.parameters.get(&p) {
                    Some(n) => Some(shown_parameter(&project, &stack, &p, n, show_secrets, &mut manager).await?),
                    None => None,
                },
            };
            let v = v.ok_or_else(|| CliError::Usage(format!("`{key}` is not set for stack `{stack}`")))?;
            if json {
                print_stdout(&format!("{}\n", v.to_display_json(show_secrets)));
            } else {
                print_stdout(&format!("{}\n", render::bare(&v, show_secrets)));
            }
            Ok(())
        }
        ConfigCommand::Rm { key } => {
            let mut s = project.read_stack(&stack)?;
            let removed = match config_key(&key) {
                ConfigKey::Region => s.region.take().is_some(),
                ConfigKey::Tag(t) => s.tags.shift_remove(&t).is_some(),
                ConfigKey::Parameter(p) => s.parameters.shift_remove(&p).is_some(),
            };
            if !removed {
                return Err(CliError::Usage(format!("`{key}` is not set in {rel}")));
            }
            project.write_stack(&stack, &s)?;
            eprintln!("Removed `{key}` from {rel}.");
            Ok(())
        }
        ConfigCommand::Ls { json, show_secrets } => {
            let s = project.settings(&stack)?;
            let mut rows: Vec<(String, Value)> = Vec::new();
            if let Some(r) = &s.region {
                rows.push(("region".into(), Value::String(r.clone())));
            }
            let mut manager = None;
            for (k, n) in &s.parameters {
                rows.push((k.clone(), shown_parameter(&project, &stack, k, n, show_secrets, &mut manager).await?));
            }
            for (k, v) in &s.tags {
                rows.push((format!("tags.{k}"), Value::String(v.clone())));
            }
            if json {
                let m: serde_json::Map<String, serde_json::Value> =
                    rows.iter().map(|(k, v)| (k.clone(), v.to_display_json(show_secrets))).collect();
                print_stdout(&format!("{}\n", serde_json::to_string_pretty(&m).expect("json")));
            } else {
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::NOTHING);
                t.set_header(vec!["KEY", "VALUE"]);
                for (k, v) in rows {
                    t.add_row(vec![k, render::bare(&v, show_secrets)]);
                }
                print_stdout(&render::table_text(&t));
            }
            Ok(())
        }
    }
}
