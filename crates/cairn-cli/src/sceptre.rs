//! `cairn import sceptre`: a Sceptre project (`config/`, `templates/`) as a cairn project.
//!
//! Sceptre deploys one CloudFormation stack per stack config (`config/<env>/<stack>.yaml`),
//! configured by the `config.yaml` of every directory above it (child wins, `dependencies`
//! join, `parameters_inheritance: merge` and the like merge). cairn deploys one template
//! per environment. So:
//!
//! - every Sceptre stack becomes a component (`components/<stack>.yaml`, its template
//!   copied) and a resource of the root `template.yaml` (logical id: the stack's path in
//!   its environment in PascalCase), with `DependsOn` from `dependencies`;
//! - every top directory of `config/` becomes a stack file `stacks/<env>.yaml` (stack
//!   configs directly in `config/` go to `stacks/default.yaml`), with the region when it
//!   differs from `config/config.yaml`'s and the `stack_tags` every stack of it shares;
//! - a parameter value the same literal in every environment is written in the root
//!   template; `!stack_output <env>/<stack>.yaml::<Output>` becomes `!GetAtt
//!   <Stack>.<Output>`; any other value (literals that differ, `!environment_variable
//!   NAME` and `{{ environment_variable.NAME }}`, which become `{env: NAME}`) becomes a
//!   root parameter (`<Stack><Parameter>`, `NoEcho` when the component's is) set in each
//!   stack file. Parameters of several stacks given the same value the same way share one
//!   root parameter: the same environment variable in every environment (named after the
//!   variable: `DB_PASSWORD` -> `DbPassword`), or, under the same name, the same literals
//!   per environment (named after the parameter);
//! - `!ssm NAME` becomes a root parameter of type `AWS::SSM::Parameter::Value<T>` (`T` the
//!   component parameter's AWS-specific type, or `String`), its default `NAME` when every
//!   environment names the same parameter (otherwise each stack file sets the name): cairn
//!   reads it at preview, as Sceptre read it at launch.
//!
//! Everything else (the other resolvers, `!ssm` with more than a name, hooks, `sceptre_user_data`, Jinja, Jinja or
//! Python templates, `stack_name`, roles, ...) is a [`Note`]: where it is (file and line),
//! what it is, and what to do by hand. [`translate`] does no IO: the command reads the
//! files and writes what it returns.

use std::collections::{BTreeMap, BTreeSet};

use cairn_core::project::{node_to_yaml, render_stack, yaml_string, StackSettings};
use cairn_core::template::ast::{Key, Mapping, Node, NodeValue};
use cairn_core::template::parse::{parse_document, parse_document_keeping_tags};
use cairn_core::template::SourceLoader;
use cairn_core::Span;
use indexmap::IndexMap;

/// One thing the import did not translate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    /// The file, relative to the Sceptre project.
    pub file: String,
    pub line: u32,
    /// What is there.
    pub what: String,
    /// What to do by hand.
    pub todo: String,
}

/// What [`translate`] made.
#[derive(Debug)]
pub struct Imported {
    /// The project's name (from `project_code`).
    pub project: String,
    /// The files to write, relative to the cairn project.
    pub files: BTreeMap<String, String>,
    /// The stacks (environments), one file each.
    pub environments: Vec<String>,
    /// How many Sceptre stack configs became components (in some environment).
    pub stacks: usize,
    /// What was not translated, by file and line.
    pub notes: Vec<Note>,
}

/// Stands in the configs' text for a Jinja expression `{{ ... }}` (which is not YAML).
const JINJA_OPEN: char = '\u{E000}';
const JINJA_CLOSE: char = '\u{E001}';

/// Translates a Sceptre project: `configs` maps every file under `config/` (`config/...`)
/// to its text; `templates` reads template files by their path in the project
/// (`templates/...`). Fails only when there is nothing to import (no `config/config.yaml`,
/// or no stack config).
pub fn translate(configs: &BTreeMap<String, String>, templates: &dyn SourceLoader) -> Result<Imported, String> {
    let mut notes = Notes::default();
    if !configs.contains_key("config/config.yaml") {
        return Err("no config/config.yaml: this is not a Sceptre project directory".into());
    }
    // Parse every config file once.
    let mut parsed: BTreeMap<String, Mapping> = BTreeMap::new();
    for (path, text) in configs {
        if let Some(m) = load_config(path, text, &mut notes) {
            parsed.insert(path.clone(), m);
        }
    }
    // The settings a group config may hold, noted once where written.
    for (path, m) in &parsed {
        if is_group_config(path) {
            note_settings(m, &mut notes);
        }
    }
    let root = parsed.get("config/config.yaml").cloned().unwrap_or_default();
    let project_code = root.get("project_code").and_then(|n| plain_string(n, "project_code", &mut notes));
    let project = match project_code {
        Some(code) => sanitize(&code),
        None => {
            notes.add(
                &Span::file("config/config.yaml"),
                "no usable `project_code`",
                "the project is named `sceptre`: change `name:` in Cairn.yaml",
            );
            "sceptre".to_string()
        }
    };
    let default_region = root.get("region").and_then(|n| plain_string(n, "region", &mut notes));

    // Stack configs, with the group configs above each.
    let mut stacks: Vec<StackCfg> = Vec::new();
    for path in parsed.keys().filter(|p| !is_group_config(p)) {
        let rel = path.trim_start_matches("config/");
        let without_ext = rel.rsplit_once('.').map_or(rel, |(a, _)| a);
        let (env, id) = match without_ext.split_once('/') {
            Some((env, id)) => (env.to_string(), id.to_string()),
            None => ("default".to_string(), without_ext.to_string()),
        };
        let mut levels = Vec::new();
        let dirs: Vec<&str> = rel.split('/').collect();
        for depth in 0..dirs.len() {
            let group = if depth == 0 {
                "config/config.yaml".to_string()
            } else {
                format!("config/{}/config.yaml", dirs[..depth].join("/"))
            };
            if let Some(m) = parsed.get(&group) {
                levels.push(m.clone());
            }
        }
        let own = parsed[path].clone();
        note_settings(&own, &mut notes);
        levels.push(own);
        stacks.push(StackCfg { env: sanitize(&env), id, file: path.clone(), levels });
    }
    if stacks.is_empty() {
        return Err("no Sceptre stack config under config/ (only config.yaml files, or none readable)".into());
    }

    // One component per stack path, its template from the first environment that has one.
    let mut by_id: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (i, s) in stacks.iter().enumerate() {
        by_id.entry(s.id.clone()).or_default().insert(s.env.clone(), i);
    }
    let environments: Vec<String> = stacks.iter().map(|s| s.env.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    let mut logical_ids: BTreeSet<String> = BTreeSet::new();
    for (id, per_env) in &by_id {
        let mut chosen: Option<(String, Template)> = None;
        for &i in per_env.values() {
            let s = &stacks[i];
            let Some((src, span)) = template_source(s, &mut notes) else { continue };
            match &chosen {
                None => {
                    if let Some(t) = read_template(&src, &span, templates, &mut notes) {
                        chosen = Some((src, t));
                    }
                }
                Some((first, _)) if *first != src => notes.add(
                    &span,
                    &format!("the template `{src}` differs from `{first}`, which the other environments use"),
                    &format!("cairn has one template for every environment: the component is `{first}`; make what differs a parameter"),
                ),
                Some(_) => {}
            }
        }
        let Some((src, template)) = chosen else { continue };
        let mut logical = pascal(id);
        let base = logical.clone();
        let mut n = 2;
        while logical_ids.contains(&logical) {
            logical = format!("{base}{n}");
            n += 1;
        }
        logical_ids.insert(logical.clone());
        let ext = if template.json { "json" } else { "yaml" };
        let file = format!("components/{}.{ext}", id.replace('/', "-"));
        components.insert(
            id.clone(),
            Component { logical, src, file, template, props: IndexMap::new(), depends: BTreeSet::new() },
        );
    }
    let logical_of: BTreeMap<String, String> =
        components.iter().map(|(id, c)| (id.clone(), c.logical.clone())).collect();
    let outputs_of: BTreeMap<String, Option<Vec<String>>> =
        components.iter().map(|(id, c)| (id.clone(), c.template.outputs.clone())).collect();

    // Stacks that do not exist in every environment.
    for (id, per_env) in &by_id {
        if components.contains_key(id) && per_env.len() < environments.len() {
            let missing: Vec<&str> =
                environments.iter().filter(|e| !per_env.contains_key(*e)).map(String::as_str).collect();
            let first = &stacks[*per_env.values().next().expect("one")];
            notes.add(
                &Span::file(first.file.as_str()),
                &format!("the stack `{id}` is not in the environment(s) {}", missing.join(", ")),
                "cairn deploys one template in every environment: this component is in all of them; give it a Condition (`Condition:` on the resource) if it must not be",
            );
        }
    }

    // Parameters, dependencies.
    let mut root_params: IndexMap<String, RootParam> = IndexMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut env_params: BTreeMap<String, IndexMap<String, Node>> = BTreeMap::new();
    for (id, per_env) in &by_id {
        let Some(component) = components.get_mut(id) else { continue };
        let mut values: IndexMap<String, BTreeMap<String, (Val, Span)>> = IndexMap::new();
        for (env, &i) in per_env {
            let s = &stacks[i];
            for (key, node) in s.parameters().values() {
                let what = format!("parameter `{}` of the stack `{env}/{id}`", key.name);
                let mut val = classify(node, &what, &mut notes);
                if let Val::Output { env: target_env, stack, output } = &val {
                    val = match logical_of.get(stack) {
                        _ if target_env != env => {
                            notes.add(
                                &node.span,
                                &format!("{what} reads an output of `{target_env}/{stack}`, in another environment"),
                                "cairn's stacks do not read each other's outputs: set the value in the stack file (`cairn config set`)",
                            );
                            Val::Unsupported
                        }
                        None => {
                            notes.add(
                                &node.span,
                                &format!("{what} reads an output of `{target_env}/{stack}`, which was not imported"),
                                "set the value by hand once that stack's resources exist",
                            );
                            Val::Unsupported
                        }
                        Some(logical) => {
                            if let Some(Some(outs)) = outputs_of.get(stack) {
                                if !outs.contains(output) {
                                    notes.add(
                                        &node.span,
                                        &format!("{what}: the template of `{stack}` has no output `{output}`"),
                                        "fix the output's name in template.yaml",
                                    );
                                }
                            }
                            Val::GetAtt(logical.clone(), output.clone())
                        }
                    };
                }
                if let Some(declared) = &component.template.params {
                    if !declared.contains_key(&key.name) {
                        notes.add(
                            &key.span,
                            &format!("{what}: the template `{}` has no such parameter", component.src),
                            "it is not passed (CloudFormation would have refused it too)",
                        );
                        continue;
                    }
                }
                values.entry(key.name.clone()).or_default().insert(env.clone(), (val, node.span.clone()));
            }
            for (dep, span) in s.dependencies() {
                let Some((denv, dstack)) = stack_path(&dep) else {
                    notes.add(
                        &span,
                        &format!("dependency `{dep}` is not a stack config path"),
                        "add `DependsOn` by hand if needed",
                    );
                    continue;
                };
                if denv != *env {
                    notes.add(
                        &span,
                        &format!("the stack `{env}/{id}` depends on `{dep}`, in another environment"),
                        &format!("cairn's stacks are independent: deploy `{denv}` before `{env}`"),
                    );
                } else if let Some(l) = logical_of.get(&dstack) {
                    if dstack != *id {
                        component.depends.insert(l.clone());
                    }
                } else {
                    notes.add(
                        &span,
                        &format!("dependency `{dep}` was not imported"),
                        "add `DependsOn` by hand once it is",
                    );
                }
            }
        }
        for (name, per) in values {
            let declared = component.template.params.as_ref().and_then(|p| p.get(&name)).cloned();
            let envs_of_stack: Vec<&String> = per_env.keys().collect();
            let present: Vec<(&String, &Val, &Span)> = per
                .iter()
                .filter(|(_, (v, _))| !matches!(v, Val::Unsupported | Val::Omit))
                .map(|(e, (v, s))| (e, v, s))
                .collect();
            if present.is_empty() {
                continue;
            }
            let everywhere = present.len() == envs_of_stack.len();
            let first = present[0].1;
            let all_same = present.iter().all(|(_, v, _)| v.same_as(first));
            let no_echo = declared.as_ref().is_some_and(|d| d.no_echo);
            match first {
                // A NoEcho value stays in the stack files, where it can be encrypted.
                Val::Lit(node) if everywhere && all_same && !no_echo => {
                    component.props.insert(name, Prop::Lit(node.clone()));
                    continue;
                }
                Val::GetAtt(l, o) if everywhere && all_same => {
                    component.props.insert(name, Prop::GetAtt(l.clone(), o.clone()));
                    continue;
                }
                _ => {}
            }
            if let Some((_, _, span)) = present.iter().find(|(_, v, _)| matches!(v, Val::GetAtt(..))) {
                notes.add(
                    span,
                    &format!("parameter `{name}` of the stack `{id}` is a stack output in some environments and not in others"),
                    "cairn's stack files cannot hold another component's output: pass it in template.yaml's Properties by hand",
                );
                continue;
            }
            let all_ssm = present.iter().all(|(_, v, _)| matches!(v, Val::Ssm(_)));
            if !all_ssm {
                if let Some((_, _, span)) = present.iter().find(|(_, v, _)| matches!(v, Val::Ssm(_))) {
                    notes.add(
                        span,
                        &format!("parameter `{name}` of the stack `{id}` is read with `!ssm` in some environments and not in others"),
                        "a root parameter is read from Parameter Store in every environment or in none: give every environment `!ssm`, or set the value in each stack file by hand",
                    );
                    continue;
                }
            }
            if all_ssm && no_echo {
                notes.add(
                    present[0].2,
                    &format!("parameter `{name}` of the stack `{id}` is NoEcho and read with `!ssm`"),
                    "an `AWS::SSM::Parameter::Value<String>` parameter cannot read a SecureString (neither can CloudFormation): if it is one, make the root parameter a String and set it with `cairn config set --secret`",
                );
            }
            let missing: Vec<String> = envs_of_stack
                .iter()
                .filter(|e| !per.get(**e).is_some_and(|(v, _)| !matches!(v, Val::Unsupported | Val::Omit)))
                .map(|e| (*e).clone())
                .collect();
            // The same value, given the same way in every environment, that another
            // stack's parameter may share.
            let share = match first {
                Val::Env(var) if everywhere && all_same => Some(format!("env {var}")),
                _ if everywhere => {
                    let per: Option<Vec<String>> = present
                        .iter()
                        .map(|(e, v, _)| match v {
                            Val::Lit(n) => n.to_literal().map(|l| format!("{e}={l}")),
                            Val::Ssm(n) => Some(format!("{e}=ssm:{n}")),
                            _ => None,
                        })
                        .collect();
                    per.map(|per| format!("{name} {}", per.join(" ")))
                }
                _ => None,
            };
            pending.push(Pending {
                id: id.clone(),
                name: name.clone(),
                declared: declared.clone(),
                values: present.iter().map(|(e, v, s)| ((*e).clone(), (*v).clone(), (*s).clone())).collect(),
                missing,
                ssm_everywhere: all_ssm && everywhere && all_same,
                share,
            });
            // Its root parameter is named below, once every stack's are known.
            component.props.insert(name, Prop::Ref(String::new()));
        }
    }

    // The root parameters: one per stack parameter, or one for the parameters of several
    // stacks that get the same value the same way (the same environment variable; or,
    // under the same name, the same literals or `!ssm` names per environment).
    let mut sharers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in &pending {
        if let Some(k) = &p.share {
            sharers.entry(k.as_str()).or_default().insert(p.id.as_str());
        }
    }
    let mut shared_names: BTreeMap<&str, String> = BTreeMap::new();
    for p in &pending {
        let logical = components[&p.id].logical.clone();
        let shared = p.share.as_deref().filter(|k| sharers[k].len() > 1);
        let param = match shared.and_then(|k| shared_names.get(k)) {
            Some(n) => n.clone(),
            None => {
                let base = match (shared, &p.values[0].1) {
                    (Some(_), Val::Env(var)) => env_pascal(var),
                    (Some(_), _) => pascal(&p.name),
                    (None, _) => format!("{logical}{}", pascal(&p.name)),
                };
                let mut param = base.clone();
                let mut n = 2;
                while root_params.contains_key(&param) {
                    param = format!("{base}{n}");
                    n += 1;
                }
                if let Some(k) = shared {
                    shared_names.insert(k, param.clone());
                }
                param
            }
        };
        let no_echo = p.declared.as_ref().is_some_and(|d| d.no_echo);
        for (env, v, span) in &p.values {
            let node = match v {
                Val::Lit(n) => {
                    if no_echo {
                        notes.add(
                            span,
                            &format!("parameter `{}` of the stack `{env}/{}` is NoEcho, and its value is written in plain text in stacks/{env}.yaml", p.name, p.id),
                            &format!("encrypt it: `cairn --stack {env} config set --secret {param}`"),
                        );
                    }
                    n.clone()
                }
                Val::Env(var) => env_node(var),
                // The same name everywhere: the root parameter's default.
                Val::Ssm(_) if p.ssm_everywhere => continue,
                Val::Ssm(name) => Node::new(NodeValue::String(name.clone()), span.clone()),
                _ => unreachable!("filtered above"),
            };
            env_params.entry(env.clone()).or_default().insert(param.clone(), node);
        }
        let (ty, default) = match &p.values[0].1 {
            Val::Ssm(name) => {
                let inner = p.declared.as_ref().map_or("String", |d| d.ty.as_str());
                let inner = if inner.starts_with("AWS::") || inner.starts_with("List<") || inner == "CommaDelimitedList"
                {
                    inner
                } else {
                    "String"
                };
                let default =
                    p.ssm_everywhere.then(|| Node::new(NodeValue::String(name.clone()), p.values[0].2.clone()));
                (format!("AWS::SSM::Parameter::Value<{inner}>"), default)
            }
            _ => (
                p.declared.as_ref().map_or_else(|| "String".to_string(), |d| d.ty.clone()),
                p.declared.as_ref().and_then(|d| d.default.clone()),
            ),
        };
        if default.is_none() {
            for env in &p.missing {
                let s = &stacks[by_id[&p.id][env]];
                notes.add(
                    &Span::file(s.file.as_str()),
                    &format!(
                        "no value for parameter `{}` of the stack `{env}/{}` (the template gives no default)",
                        p.name, p.id
                    ),
                    &format!("set it: `cairn --stack {env} config set {param} VALUE`"),
                );
            }
        }
        let var = match &p.values[0].1 {
            Val::Env(var) if shared.is_some() => Some(var.clone()),
            _ => None,
        };
        let ssm = matches!(p.values[0].1, Val::Ssm(_));
        match root_params.get_mut(&param) {
            Some(r) => {
                if r.ty != ty {
                    r.ty = "String".into();
                }
                r.no_echo |= no_echo;
                if r.default.as_ref().map(Node::to_literal) != default.as_ref().map(Node::to_literal) {
                    r.default = None;
                }
                r.users.push((p.id.clone(), p.name.clone()));
            }
            None => {
                root_params.insert(
                    param.clone(),
                    RootParam { ty, no_echo, default, users: vec![(p.id.clone(), p.name.clone())], var, ssm },
                );
            }
        }
        if let Some(c) = components.get_mut(&p.id) {
            c.props.insert(p.name.clone(), Prop::Ref(param));
        }
    }

    // Tags and region per environment.
    let mut settings: BTreeMap<String, StackSettings> = BTreeMap::new();
    for env in &environments {
        let members: Vec<&StackCfg> =
            stacks.iter().filter(|s| &s.env == env && components.contains_key(&s.id)).collect();
        let mut st = StackSettings::default();
        // Region: the first stack's; others that differ are named.
        let mut region: Option<(String, String)> = None;
        for s in &members {
            let Some((_, node)) = s.last("region") else { continue };
            let Some(r) = node.as_str().filter(|r| !r.contains(JINJA_OPEN)) else { continue };
            match &region {
                None => region = Some((r.to_string(), s.id.clone())),
                Some((first, first_id)) if first != r => notes.add(
                    &node.span,
                    &format!("the stack `{env}/{}` is in {r}, and `{env}/{first_id}` in {first}", s.id),
                    &format!("a cairn stack has one region ({first} here): give this component's resources `Region: {r}`, or make it a stack of its own"),
                ),
                Some(_) => {}
            }
        }
        if let Some((r, _)) = region {
            if default_region.as_deref() != Some(r.as_str()) {
                st.region = Some(r);
            }
        }
        // Tags: those every stack of the environment has with the same value.
        let mut all: Vec<IndexMap<String, (String, Span)>> = Vec::new();
        for s in &members {
            let mut tags = IndexMap::new();
            for (key, node) in s.stack_tags().values() {
                let what = format!("tag `{}` of the stack `{env}/{}`", key.name, s.id);
                match classify(node, &what, &mut notes) {
                    Val::Lit(n) => match n.scalar_string() {
                        Some(v) => {
                            tags.insert(key.name.clone(), (v, node.span.clone()));
                        }
                        None => notes.add(&node.span, &format!("{what} is not a string"), "give it a string value"),
                    },
                    Val::Env(var) => notes.add(
                        &node.span,
                        &format!("{what} comes from the environment variable `{var}`"),
                        "cairn's stack tags are fixed strings: write the value in the stack file's `tags`, or make it a template parameter and tag the resources in the template",
                    ),
                    Val::Ssm(name) => notes.add(
                        &node.span,
                        &format!("{what} comes from the Parameter Store parameter `{name}` (`!ssm`)"),
                        "cairn's stack tags are fixed strings: write the value in the stack file's `tags`",
                    ),
                    Val::Omit | Val::Unsupported | Val::Output { .. } | Val::GetAtt(..) => {}
                }
            }
            all.push(tags);
        }
        if let Some(first) = all.first() {
            for (k, (v, _)) in first {
                if all.iter().all(|t| t.get(k).is_some_and(|(v2, _)| v2 == v)) {
                    st.tags.insert(k.clone(), v.clone());
                }
            }
            for t in &all {
                for (k, (v, span)) in t {
                    if st.tags.get(k) != Some(v) {
                        notes.add(
                            span,
                            &format!("tag `{k}: {v}` is not on every stack of the environment `{env}` with this value"),
                            "cairn's stack tags go on every resource of the stack: tag this component's resources in its template instead",
                        );
                    }
                }
            }
        }
        if let Some(p) = env_params.remove(env) {
            st.parameters = p;
        }
        settings.insert(env.clone(), st);
    }

    // `AWS::StackName` was each Sceptre stack's own name.
    for c in components.values() {
        for (i, line) in c.template.text.lines().enumerate() {
            if line.contains("AWS::StackName") {
                notes.0.push(Note {
                    file: c.src.clone(),
                    line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    what: "`AWS::StackName`: under Sceptre each stack's own name, in cairn `<project>-<stack>` for every component".into(),
                    todo: "names made from it may now collide between components: add the component's own part (e.g. `${AWS::StackName}-queue`) or make the name a parameter".into(),
                });
            }
        }
    }

    // The files.
    let mut files = BTreeMap::new();
    let mut cairn = format!(
        "# Imported by `cairn import sceptre` from the Sceptre project `{project}` (config/config.yaml).\nname: {}\ntemplate: template.yaml\n",
        yaml_string(&project)
    );
    if let Some(r) = &default_region {
        cairn.push_str(&format!("defaults:\n  region: {}\n", yaml_string(r)));
    }
    files.insert("Cairn.yaml".to_string(), cairn);
    files.insert(".gitignore".to_string(), ".cairn/\n".to_string());
    files.insert("template.yaml".to_string(), root_template(&project, &components, &root_params, &by_id, &stacks));
    for (id, c) in &components {
        let text = if c.template.json {
            c.template.text.clone()
        } else {
            let users: Vec<String> = by_id[id].keys().map(|e| format!("{e}/{id}")).collect();
            format!(
                "# Imported by `cairn import sceptre` from {} (the Sceptre stack {}).\n{}",
                c.src,
                users.join(", "),
                c.template.text
            )
        };
        files.insert(c.file.clone(), text);
    }
    for (env, st) in &settings {
        let from = if env == "default" { "config/".to_string() } else { format!("config/{env}/") };
        files.insert(
            format!("stacks/{env}.yaml"),
            format!("# The Sceptre environment {from}, imported by `cairn import sceptre`.\n{}", render_stack(st)),
        );
    }
    let mut notes = notes.0;
    notes.sort();
    notes.dedup();
    Ok(Imported {
        project,
        files,
        environments,
        stacks: by_id.keys().filter(|id| components.contains_key(*id)).count(),
        notes,
    })
}

#[derive(Default)]
struct Notes(Vec<Note>);

impl Notes {
    fn add(&mut self, span: &Span, what: &str, todo: &str) {
        self.0.push(Note {
            file: span.file.to_string(),
            line: span.line,
            what: what.to_string(),
            todo: todo.to_string(),
        });
    }
}

/// One stack config with the group configs above it, outermost first.
struct StackCfg {
    env: String,
    /// Its path in its environment, without the extension (`queue`, `eu/network`).
    id: String,
    file: String,
    levels: Vec<Mapping>,
}

impl StackCfg {
    fn last(&self, key: &str) -> Option<(&Key, &Node)> {
        self.levels.iter().rev().find_map(|m| m.get_entry(key))
    }

    /// `parameters` or `stack_tags`: the innermost, or all merged under `<key>_inheritance: merge`.
    fn merged(&self, key: &str) -> IndexMap<String, (Key, Node)> {
        let merge = self.last(&format!("{key}_inheritance")).and_then(|(_, n)| n.as_str()) == Some("merge");
        let mut out = IndexMap::new();
        for m in &self.levels {
            let Some(node) = m.get(key) else { continue };
            if !merge {
                out.clear();
            }
            if let Some(map) = node.as_map() {
                for (k, v) in map.iter() {
                    out.insert(k.name.clone(), (k.clone(), v.clone()));
                }
            }
        }
        out
    }

    fn parameters(&self) -> IndexMap<String, (Key, Node)> {
        self.merged("parameters")
    }

    fn stack_tags(&self) -> IndexMap<String, (Key, Node)> {
        self.merged("stack_tags")
    }

    /// Every level's `dependencies`, joined (Sceptre's default), or the innermost under
    /// `dependencies_inheritance: override`.
    fn dependencies(&self) -> Vec<(String, Span)> {
        let join = self.last("dependencies_inheritance").and_then(|(_, n)| n.as_str()) != Some("override");
        let mut out = Vec::new();
        for m in &self.levels {
            let Some(node) = m.get("dependencies") else { continue };
            if !join {
                out.clear();
            }
            for d in node.as_seq().unwrap_or_default() {
                if let Some(s) = d.as_str() {
                    out.push((s.to_string(), d.span.clone()));
                }
            }
        }
        out
    }
}

struct Component {
    logical: String,
    /// The template's path in the Sceptre project.
    src: String,
    /// Its path in the cairn project.
    file: String,
    template: Template,
    props: IndexMap<String, Prop>,
    depends: BTreeSet<String>,
}

struct Template {
    text: String,
    json: bool,
    /// Its parameters, when cairn could read it.
    params: Option<IndexMap<String, TemplateParam>>,
    outputs: Option<Vec<String>>,
}

#[derive(Clone)]
struct TemplateParam {
    ty: String,
    default: Option<Node>,
    no_echo: bool,
}

struct RootParam {
    ty: String,
    no_echo: bool,
    default: Option<Node>,
    /// The stacks and their parameters it is given to.
    users: Vec<(String, String)>,
    /// The environment variable every stack file reads it from, when it is shared.
    var: Option<String>,
    /// Read from Parameter Store (`!ssm`).
    ssm: bool,
}

impl RootParam {
    fn description(&self) -> String {
        let ids: Vec<String> = self.users.iter().map(|(id, _)| format!("`{id}`")).collect();
        let what = match self.users.as_slice() {
            [(id, name)] => format!("`{name}` of the Sceptre stack `{id}`"),
            [(_, name), rest @ ..] if rest.iter().all(|(_, n)| n == name) => {
                format!("`{name}` of the Sceptre stacks {}", ids.join(", "))
            }
            users => {
                let each: Vec<String> = users.iter().map(|(id, name)| format!("`{name}` of `{id}`")).collect();
                format!("{} (Sceptre stacks)", each.join(", "))
            }
        };
        match (&self.var, self.ssm) {
            (_, true) => format!(
                "{what}: the name of a Parameter Store parameter (the Sceptre config's `!ssm`), read at preview"
            ),
            (Some(var), _) => format!("{what}: the environment variable `{var}`, read in each stack file"),
            (None, false) => format!("{what}, set in each stack file"),
        }
    }
}

/// A stack parameter that becomes a root parameter, once every stack's are known.
struct Pending {
    /// The stack (component) and its parameter.
    id: String,
    name: String,
    declared: Option<TemplateParam>,
    /// Per environment: the value and where it is written.
    values: Vec<(String, Val, Span)>,
    /// The environments whose config gives no value.
    missing: Vec<String>,
    /// `!ssm` with the same name in every environment: the name is the default.
    ssm_everywhere: bool,
    /// What another stack's parameter must be to share the root parameter.
    share: Option<String>,
}

enum Prop {
    Lit(Node),
    Ref(String),
    GetAtt(String, String),
}

/// A value of a Sceptre config.
#[derive(Clone)]
enum Val {
    Lit(Node),
    Env(String),
    /// `!stack_output`, before it is resolved to a component.
    Output {
        env: String,
        stack: String,
        output: String,
    },
    GetAtt(String, String),
    /// `!ssm NAME`: a parameter read from Parameter Store.
    Ssm(String),
    /// `!no_value`: as if not given.
    Omit,
    /// Named in a note.
    Unsupported,
}

impl Val {
    fn same_as(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Lit(a), Val::Lit(b)) => a.to_literal() == b.to_literal(),
            (Val::Env(a), Val::Env(b)) => a == b,
            (Val::GetAtt(a, b), Val::GetAtt(c, d)) => a == c && b == d,
            (Val::Ssm(a), Val::Ssm(b)) => a == b,
            _ => false,
        }
    }
}

fn env_node(var: &str) -> Node {
    let span = Span::file("-");
    Node::new(
        NodeValue::Map(Mapping {
            entries: vec![(
                Key { name: "env".into(), span: span.clone() },
                Node::new(NodeValue::String(var.to_string()), span.clone()),
            )],
        }),
        span,
    )
}

fn is_group_config(path: &str) -> bool {
    path == "config/config.yaml" || path.ends_with("/config.yaml")
}

/// `dev/queue.yaml` (or `dev/queue`) as (environment, stack path in it).
fn stack_path(p: &str) -> Option<(String, String)> {
    let p = p.trim().trim_start_matches("./");
    let p = p.strip_suffix(".yaml").or_else(|| p.strip_suffix(".yml")).unwrap_or(p);
    if p.is_empty() {
        return None;
    }
    Some(match p.split_once('/') {
        Some((env, id)) => (sanitize(env), id.to_string()),
        None => ("default".to_string(), p.to_string()),
    })
}

/// Letters, digits, `-`, `_` and `.`, the rest as `-` (project and stack names).
fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect()
}

/// `EPISTEMIX_DB_PASSWORD` -> `EpistemixDbPassword` (a root parameter for an environment
/// variable).
fn env_pascal(var: &str) -> String {
    pascal(&var.to_ascii_lowercase())
}

/// `rds-postgres` -> `RdsPostgres`, `eu/network` -> `EuNetwork`.
fn pascal(s: &str) -> String {
    let mut out = String::new();
    for part in s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Stack");
    }
    out
}

/// Reads a config file: Jinja replaced (see [`strip_jinja`]), tags kept.
fn load_config(path: &str, text: &str, notes: &mut Notes) -> Option<Mapping> {
    let yaml = strip_jinja(text, path, notes);
    match parse_document_keeping_tags(&yaml, path) {
        Ok(node) => match node.value {
            NodeValue::Map(m) => Some(m),
            NodeValue::Null => Some(Mapping::default()),
            _ => {
                notes.add(&node.span, "the file is not a mapping", "fix it; it was not imported");
                None
            }
        },
        Err(diags) => {
            for d in diags.0 {
                let span = d.span.clone().unwrap_or_else(|| Span::file(path));
                notes.add(&span, &format!("cannot read the file: {}", d.message), "fix the file; it was not imported");
            }
            None
        }
    }
}

/// The text with each `{{ expr }}` replaced by a private marker (so that the YAML parses
/// and [`classify`] can name it); `{% ... %}` statements are named and blanked, `{# #}`
/// comments blanked. Lines stay where they were.
fn strip_jinja(text: &str, file: &str, notes: &mut Notes) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut line = 1u32;
    while let Some(start) = rest.find(['{']) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        line += count_lines(before);
        let close = match from.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push('{');
                rest = &from[1..];
                continue;
            }
        };
        let Some(end) = from[2..].find(close).map(|e| e + 4) else {
            out.push_str(from);
            rest = "";
            break;
        };
        let tag = &from[..end];
        if close == "}}" {
            out.push(JINJA_OPEN);
            out.push_str(tag[2..tag.len() - 2].trim());
            out.push(JINJA_CLOSE);
        } else {
            if close == "%}" {
                notes.0.push(Note {
                    file: file.to_string(),
                    line,
                    what: format!("the Jinja statement `{}`", one_line(tag)),
                    todo: "cairn's files have no templating: write out what it generated (per environment, in the stack files)".into(),
                });
            }
            out.extend(tag.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        }
        line += count_lines(tag);
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

fn count_lines(s: &str) -> u32 {
    u32::try_from(s.matches('\n').count()).unwrap_or(u32::MAX)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Jinja expressions a string holds, as written.
fn jinja_exprs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(JINJA_OPEN) {
        let after = &rest[i + JINJA_OPEN.len_utf8()..];
        let end = after.find(JINJA_CLOSE).unwrap_or(after.len());
        out.push(after[..end].to_string());
        rest = after.get(end + JINJA_CLOSE.len_utf8()..).unwrap_or("");
    }
    out
}

/// `environment_variable.NAME` (Sceptre's Jinja context).
fn jinja_env_var(expr: &str) -> Option<&str> {
    let name = expr.strip_prefix("environment_variable.")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// A setting's string value (Jinja is named, and makes it unusable).
fn plain_string(node: &Node, what: &str, notes: &mut Notes) -> Option<String> {
    match classify(node, &format!("`{what}`"), notes) {
        Val::Lit(n) => n.scalar_string(),
        Val::Env(var) => {
            notes.add(
                &node.span,
                &format!("`{what}` comes from the environment variable `{var}`"),
                "write its value in Cairn.yaml or the stack files",
            );
            None
        }
        Val::Ssm(name) => {
            notes.add(
                &node.span,
                &format!("`{what}` comes from the Parameter Store parameter `{name}`"),
                "write its value in Cairn.yaml or the stack files",
            );
            None
        }
        _ => None,
    }
}

/// What a config value is; notes what cannot be translated (`what` names the value).
fn classify(node: &Node, what: &str, notes: &mut Notes) -> Val {
    match &node.value {
        NodeValue::Map(m) if m.len() == 1 && m.entries[0].0.name.starts_with('!') => {
            let (key, arg) = &m.entries[0];
            let arg_text = arg.scalar_string().unwrap_or_default();
            match key.name.as_str() {
                "!environment_variable" if !arg_text.is_empty() => Val::Env(arg_text),
                "!stack_output" => match arg_text.split_once("::").and_then(|(p, o)| Some((stack_path(p)?, o))) {
                    Some(((env, stack), output)) if !output.is_empty() && !output.contains("::") => {
                        Val::Output { env, stack, output: output.to_string() }
                    }
                    _ => {
                        notes.add(
                            &key.span,
                            &format!("{what}: `!stack_output {arg_text}` is not `<stack>.yaml::<Output>`"),
                            "fix it in template.yaml by hand (`!GetAtt <Component>.<Output>`)",
                        );
                        Val::Unsupported
                    }
                },
                "!no_value" => Val::Omit,
                // `!ssm /name` (Sceptre's resolver reads it in the stack's own account and
                // region): a root parameter of type AWS::SSM::Parameter::Value.
                "!ssm" if arg.as_str().is_some_and(|a| !a.trim().is_empty() && !a.contains(JINJA_OPEN)) => {
                    Val::Ssm(arg_text.trim().to_string())
                }
                tag => {
                    let todo = match tag {
                        "!stack_output_external" => "an output of a stack outside this project: set the value in the stack file (`cairn config set`), or read it in the template with `Fn::ImportValue` if that stack exports it",
                        "!file_contents" => "put the file's content in the stack file (`cairn config set NAME \"$(cat FILE)\"`) or in the component template",
                        "!ssm" => "only `!ssm NAME` becomes a root parameter read from Parameter Store: set the value in the stack file (`cairn config set --secret NAME`)",
                        "!stack_attr" | "!sub" | "!join" | "!split" | "!select" => {
                            "compute it in template.yaml (`!Sub`, `!Join`, `!Split`, `!Select` on the component's Properties), or set the value in the stack file"
                        }
                        _ => "a Sceptre resolver cairn has no equivalent for: set the value in the stack file by hand (`cairn config set`)",
                    };
                    notes.add(&key.span, &format!("{what}: `{tag} {}`", one_line(&arg_text)), todo);
                    Val::Unsupported
                }
            }
        }
        NodeValue::String(s) if s.contains(JINJA_OPEN) => {
            let exprs = jinja_exprs(s);
            let whole = s.starts_with(JINJA_OPEN) && s.ends_with(JINJA_CLOSE) && exprs.len() == 1;
            if let (true, Some(var)) = (whole, exprs.first().and_then(|e| jinja_env_var(e))) {
                return Val::Env(var.to_string());
            }
            let shown: Vec<String> = exprs.iter().map(|e| format!("{{{{ {e} }}}}")).collect();
            notes.add(
                &node.span,
                &format!("{what}: the Jinja {}", shown.join(" ")),
                "cairn's files have no templating: write the value it gives in each environment's stack file",
            );
            Val::Unsupported
        }
        NodeValue::Seq(items) => {
            let mut lits = Vec::new();
            let mut ok = true;
            for item in items {
                match classify(item, what, notes) {
                    Val::Lit(n) => lits.push(n),
                    Val::Omit => {}
                    Val::Env(var) => {
                        notes.add(
                            &item.span,
                            &format!("{what}: a list item from the environment variable `{var}`"),
                            "a stack file reads a whole value from the environment, not a list item: set the list by hand",
                        );
                        ok = false;
                    }
                    Val::Output { env, stack, output } => {
                        notes.add(
                            &item.span,
                            &format!("{what}: a list item from `!stack_output {env}/{stack}.yaml::{output}`"),
                            "write the list in template.yaml's Properties with `!GetAtt` for that item",
                        );
                        ok = false;
                    }
                    Val::Ssm(name) => {
                        notes.add(
                            &item.span,
                            &format!("{what}: a list item from `!ssm {name}`"),
                            "a Parameter Store parameter gives a whole value, not a list item: set the list by hand",
                        );
                        ok = false;
                    }
                    Val::GetAtt(..) | Val::Unsupported => ok = false,
                }
            }
            if ok {
                Val::Lit(Node::new(NodeValue::Seq(lits), node.span.clone()))
            } else {
                Val::Unsupported
            }
        }
        _ => Val::Lit(node.clone()),
    }
}

/// What each Sceptre setting becomes, noted where it is written.
fn note_settings(m: &Mapping, notes: &mut Notes) {
    for (k, v) in m.iter() {
        let todo = match k.name.as_str() {
            "project_code" | "region" | "template_path" | "template" | "parameters" | "dependencies" | "stack_tags"
            | "required_version" | "parameters_inheritance" | "stack_tags_inheritance" | "dependencies_inheritance" => {
                continue
            }
            "template_bucket_name" | "template_key_prefix" | "template_key_value" => {
                "cairn uploads no template (it calls each service's API itself): nothing to do, the setting is dropped"
            }
            "j2_environment" => "cairn renders no Jinja: nothing to do (Jinja templates are named where used)",
            "hooks" | "hooks_inheritance" => {
                "cairn runs no hooks: run these commands before or after `cairn up` yourself (a script, CI)"
            }
            "sceptre_user_data" | "sceptre_user_data_inheritance" => {
                "only Jinja and Python templates read it: make these values template parameters of the component"
            }
            "stack_name" => {
                "cairn has one state per environment, not a CloudFormation stack per Sceptre stack: the name is not used"
            }
            "iam_role" | "sceptre_role" | "role_arn" | "iam_role_session_duration" | "sceptre_role_session_duration" => {
                "cairn uses the AWS SDK's credentials: assume the role through a profile (`role_arn` in ~/.aws/config, then AWS_PROFILE)"
            }
            "cloudformation_service_role" => {
                "cairn does not go through CloudFormation: the credentials cairn runs with need the permissions"
            }
            "profile" => "set AWS_PROFILE when you run cairn",
            "notifications" | "notifications_inheritance" => "cairn publishes no stack events to SNS",
            "on_failure" | "disable_rollback" => {
                "cairn does not roll back: a failed `cairn up` keeps what succeeded (recorded in the state), and the next one carries on"
            }
            "protect" => {
                "cairn protects resources through their own settings (a DynamoDB table's `DeletionProtectionEnabled`): set those in the component template"
            }
            "stack_timeout" => "cairn has no stack timeout",
            "ignore" | "obsolete" => {
                "the stack was imported anyway: remove its resource from template.yaml if it must not be deployed"
            }
            _ => "not a Sceptre setting cairn knows (a value for Jinja's `stack_group_config`?): not imported",
        };
        let shown = match v.scalar_string() {
            Some(s) if !s.contains(JINJA_OPEN) && s.len() <= 40 => format!("`{}: {s}`", k.name),
            _ => format!("`{}`", k.name),
        };
        notes.add(&k.span, &shown, todo);
    }
}

/// The template a stack config names, as a path in the project, and where it is named.
fn template_source(s: &StackCfg, notes: &mut Notes) -> Option<(String, Span)> {
    let (key, node) = match (s.last("template"), s.last("template_path")) {
        (Some(t), _) => t,
        (None, Some(t)) => t,
        (None, None) => {
            notes.add(
                &Span::file(s.file.as_str()),
                &format!("the stack `{}/{}` names no template", s.env, s.id),
                "add its template as a component by hand",
            );
            return None;
        }
    };
    let path = match &node.value {
        NodeValue::Map(m) if key.name == "template" => {
            let kind = m.get("type").and_then(Node::as_str).unwrap_or("file");
            if kind != "file" {
                notes.add(
                    &node.span,
                    &format!("the template comes from the `{kind}` template handler"),
                    "download the template, put it in components/, and add the component to template.yaml by hand",
                );
                return None;
            }
            m.get("path").and_then(Node::as_str).map(str::to_string)
        }
        _ => node.as_str().map(str::to_string),
    };
    let Some(path) = path.filter(|p| !p.contains(JINJA_OPEN)) else {
        notes.add(&node.span, "the template path is not a plain path", "add the component by hand");
        return None;
    };
    let path = path.trim_start_matches("./").to_string();
    for ext in [".j2", ".jinja", ".jinja2", ".py"] {
        if path.ends_with(ext) {
            let kind = if ext == ".py" { "a Python template" } else { "a Jinja template" };
            notes.add(
                &node.span,
                &format!("`{path}` is {kind}"),
                "render it with the stack's `sceptre_user_data` (`sceptre generate`), save the result as a component in components/, and add it to template.yaml by hand",
            );
            return None;
        }
    }
    Some((if path.starts_with("templates/") { path } else { format!("templates/{path}") }, node.span.clone()))
}

fn read_template(src: &str, at: &Span, loader: &dyn SourceLoader, notes: &mut Notes) -> Option<Template> {
    let text = match loader.read(src) {
        Ok(t) => t,
        Err(e) => {
            notes.add(at, &format!("cannot read the template `{src}`: {e}"), "add the component by hand");
            return None;
        }
    };
    let json = src.ends_with(".json") || text.trim_start().starts_with('{');
    let (params, outputs) = match parse_document(&text, src) {
        Ok(node) => {
            let top = node.as_map();
            let mut params = IndexMap::new();
            for (k, v) in
                top.and_then(|m| m.get("Parameters")).and_then(Node::as_map).into_iter().flat_map(Mapping::iter)
            {
                let m = v.as_map();
                let get = |name: &str| m.and_then(|m| m.get(name));
                params.insert(
                    k.name.clone(),
                    TemplateParam {
                        ty: get("Type").and_then(Node::scalar_string).unwrap_or_else(|| "String".into()),
                        default: get("Default").cloned(),
                        no_echo: get("NoEcho")
                            .and_then(Node::scalar_string)
                            .is_some_and(|s| s.eq_ignore_ascii_case("true")),
                    },
                );
            }
            let outputs = top
                .and_then(|m| m.get("Outputs"))
                .and_then(Node::as_map)
                .map(|m| m.keys().map(str::to_string).collect())
                .unwrap_or_default();
            (Some(params), Some(outputs))
        }
        Err(diags) => {
            for d in diags.0 {
                let span = d.span.clone().unwrap_or_else(|| Span::file(src));
                notes.add(
                    &span,
                    &format!("cairn cannot read the template: {}", d.message),
                    "fix the component (it was copied as it is); its parameters were passed unchecked",
                );
            }
            (None, None)
        }
    };
    Some(Template { text, json, params, outputs })
}

/// `template.yaml`.
fn root_template(
    project: &str,
    components: &BTreeMap<String, Component>,
    params: &IndexMap<String, RootParam>,
    by_id: &BTreeMap<String, BTreeMap<String, usize>>,
    stacks: &[StackCfg],
) -> String {
    let mut out = format!(
        "# Imported by `cairn import sceptre` from the Sceptre project `{project}`: one component per\n\
         # Sceptre stack (its template in components/); what differs between environments is a\n\
         # parameter, set in stacks/<environment>.yaml.\n\
         AWSTemplateFormatVersion: \"2010-09-09\"\n\
         Description: {}\n",
        yaml_string(&format!("The Sceptre project {project}, imported by cairn"))
    );
    if !params.is_empty() {
        out.push_str("\nParameters:\n");
        for (name, p) in params {
            out.push_str(&format!("  {name}:\n    Type: {}\n", yaml_string(&p.ty)));
            if p.no_echo {
                out.push_str("    NoEcho: true\n");
            }
            if let Some(d) = &p.default {
                write_value(&mut out, "Default", d, 4);
            }
            out.push_str(&format!("    Description: {}\n", yaml_string(&p.description())));
        }
    }
    out.push_str("\nResources:\n");
    for (id, c) in components {
        let files: Vec<&str> = by_id[id].values().map(|&i| stacks[i].file.as_str()).collect();
        out.push_str(&format!("  # {}\n  {}:\n    Type: ./{}\n", files.join(", "), c.logical, c.file));
        if !c.depends.is_empty() {
            let deps: Vec<&str> = c.depends.iter().map(String::as_str).collect();
            out.push_str(&format!("    DependsOn: [{}]\n", deps.join(", ")));
        }
        if !c.props.is_empty() {
            out.push_str("    Properties:\n");
            for (k, p) in &c.props {
                match p {
                    Prop::Lit(n) => write_value(&mut out, k, n, 6),
                    Prop::Ref(r) => out.push_str(&format!("      {}: !Ref {r}\n", yaml_string(k))),
                    Prop::GetAtt(l, o) => out.push_str(&format!("      {}: !GetAtt {l}.{o}\n", yaml_string(k))),
                }
            }
        }
    }
    let outputs: Vec<(String, &str, &str)> = components
        .values()
        .flat_map(|c| {
            c.template.outputs.iter().flatten().map(|o| (format!("{}{}", c.logical, o), c.logical.as_str(), o.as_str()))
        })
        .collect();
    if !outputs.is_empty() {
        out.push_str("\nOutputs:\n");
        for (name, l, o) in outputs {
            out.push_str(&format!("  {}:\n    Value: !GetAtt {l}.{o}\n", yaml_string(&name)));
        }
    }
    out
}

fn write_value(out: &mut String, key: &str, node: &Node, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
    out.push_str(&yaml_string(key));
    let text = node_to_yaml(node, indent + 2);
    if text.ends_with('\n') {
        out.push_str(":\n");
        out.push_str(&text);
    } else {
        out.push_str(": ");
        out.push_str(&text);
        out.push('\n');
    }
}

/// The report `cairn import sceptre` prints on stderr.
pub fn report(imported: &Imported, out_dir: &str) -> String {
    let mut s = format!(
        "Imported the Sceptre project `{}` into {out_dir}: {} stack{} as components, {} environment{} ({}).\n",
        imported.project,
        imported.stacks,
        if imported.stacks == 1 { "" } else { "s" },
        imported.environments.len(),
        if imported.environments.len() == 1 { "" } else { "s" },
        imported.environments.join(", "),
    );
    for f in imported.files.keys() {
        s.push_str(&format!("  wrote {f}\n"));
    }
    if imported.notes.is_empty() {
        s.push_str("Everything was translated.\n");
    } else {
        let n = imported.notes.len();
        s.push_str(&format!("\n{n} thing{} not translated, to do by hand:\n", if n == 1 { "" } else { "s" }));
        for note in &imported.notes {
            if note.line > 0 {
                s.push_str(&format!("{}:{}: {}\n", note.file, note.line, note.what));
            } else {
                s.push_str(&format!("{}: {}\n", note.file, note.what));
            }
            s.push_str(&format!("    -> {}\n", note.todo));
        }
    }
    let first = imported.environments.first().map_or("dev", String::as_str);
    s.push_str(&format!("\nNext: `cairn -C {out_dir} --stack {first} preview`.\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::template::MemoryLoader;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const QUEUE: &str = "Parameters:\n  Name: {Type: String}\n  Timeout: {Type: Number, Default: 30}\n  Secret: {Type: String, NoEcho: true}\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: !Ref Name}\nOutputs:\n  Arn:\n    Value: !GetAtt Q.Arn\n";
    const BUCKET: &str = "Parameters:\n  QueueArn: {Type: String}\n  Owner: {Type: String, Default: nobody}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub \"${AWS::StackName}-b\"\n";

    fn import(configs: &[(&str, &str)]) -> Imported {
        let loader = MemoryLoader(files(&[("templates/queue.yaml", QUEUE), ("templates/s3/bucket.yaml", BUCKET)]));
        translate(&files(configs), &loader).expect("imports")
    }

    #[test]
    fn literals_outputs_and_environment_variables() {
        let i = import(&[
            ("config/config.yaml", "project_code: demo\nregion: eu-west-1\n"),
            ("config/dev/config.yaml", "stack_tags: {Env: dev}\n"),
            ("config/prod/config.yaml", "region: us-east-1\nstack_tags: {Env: prod}\n"),
            ("config/dev/queue.yaml", "template_path: queue.yaml\nparameters:\n  Name: q\n  Timeout: '10'\n  Secret: !environment_variable SECRET\n"),
            ("config/prod/queue.yaml", "template_path: queue.yaml\nparameters:\n  Name: q\n  Timeout: '60'\n  Secret: \"{{ environment_variable.SECRET }}\"\n"),
            ("config/dev/bucket.yaml", "template: {path: s3/bucket.yaml}\ndependencies: [dev/queue.yaml]\nparameters:\n  QueueArn: !stack_output dev/queue.yaml::Arn\n  Owner: !environment_variable OWNER\n"),
            ("config/prod/bucket.yaml", "template_path: s3/bucket.yaml\ndependencies: [prod/queue.yaml]\nparameters:\n  QueueArn: !stack_output prod/queue.yaml::Arn\n"),
        ]);
        assert_eq!(i.environments, ["dev", "prod"]);
        let t = &i.files["template.yaml"];
        assert!(t.contains("  Queue:\n    Type: ./components/queue.yaml\n    Properties:\n      Name: q\n      Timeout: !Ref QueueTimeout\n      Secret: !Ref QueueSecret\n"), "{t}");
        assert!(t.contains("  Bucket:\n    Type: ./components/bucket.yaml\n"), "{t}");
        assert!(t.contains("    DependsOn: [Queue]\n    Properties:\n      QueueArn: !GetAtt Queue.Arn\n      Owner: !Ref BucketOwner\n"), "{t}");
        assert!(t.contains("  QueueSecret:\n    Type: String\n    NoEcho: true\n"), "{t}");
        assert!(t.contains("  BucketOwner:\n    Type: String\n    Default: nobody\n"), "{t}");
        assert!(t.contains("  QueueArn:\n    Value: !GetAtt Queue.Arn\n"), "{t}");
        let dev = &i.files["stacks/dev.yaml"];
        assert!(dev.contains("parameters:\n  BucketOwner:\n    env: OWNER\n  QueueTimeout: \"10\"\n  QueueSecret:\n    env: SECRET\ntags:\n  Env: dev\n"), "{dev}");
        assert!(!dev.contains("region"), "{dev}");
        let prod = &i.files["stacks/prod.yaml"];
        assert!(
            prod.contains("region: us-east-1\nparameters:\n  QueueTimeout: \"60\"\n  QueueSecret:\n    env: SECRET\n"),
            "{prod}"
        );
        assert!(i.files["Cairn.yaml"].contains("name: demo\ntemplate: template.yaml\ndefaults:\n  region: eu-west-1\n"));
        assert!(i.files["components/bucket.yaml"].ends_with(BUCKET));
        // Only the bucket template's AWS::StackName is left to do.
        let notes: Vec<String> = i.notes.iter().map(|n| format!("{}:{}", n.file, n.line)).collect();
        assert_eq!(notes, ["templates/s3/bucket.yaml:8"]);
        // What the importer wrote, cairn reads.
        cairn_core::project::parse_project(&i.files["Cairn.yaml"], "Cairn.yaml").expect("project file");
        for env in ["dev", "prod"] {
            cairn_core::project::parse_stack(&i.files[&format!("stacks/{env}.yaml")], "s").expect("stack file");
        }
        let loader = MemoryLoader(i.files.clone());
        cairn_core::template::load_template(&loader, "template.yaml").expect("the root template loads");
    }

    #[test]
    fn untranslatable_things_are_named_where_they_are() {
        let i = import(&[
            ("config/config.yaml", "project_code: demo\nregion: eu-west-1\ntemplate_bucket_name: tb\n{% if true %}\nj2_environment: {}\n{% endif %}\n"),
            ("config/dev/queue.yaml", "template_path: queue.yaml\nhooks:\n  before_create: [!cmd echo]\nparameters:\n  Name: !file_contents name.txt\n  Timeout: \"{{ var.timeout }}\"\n  Nope: x\n"),
            ("config/dev/other.yaml", "template_path: other.yaml.j2\n"),
            ("config/dev/ext.yaml", "template_path: queue.yaml\nparameters:\n  Name: !stack_output_external other-stack::Out\n  Secret: plain\n"),
        ]);
        let got: Vec<String> = i.notes.iter().map(|n| format!("{}:{}: {}", n.file, n.line, n.what)).collect();
        assert_eq!(
            got,
            [
                "config/config.yaml:3: `template_bucket_name: tb`",
                "config/config.yaml:4: the Jinja statement `{% if true %}`",
                "config/config.yaml:5: `j2_environment`",
                "config/config.yaml:6: the Jinja statement `{% endif %}`",
                "config/dev/ext.yaml:3: parameter `Name` of the stack `dev/ext`: `!stack_output_external other-stack::Out`",
                "config/dev/ext.yaml:4: parameter `Secret` of the stack `dev/ext` is NoEcho, and its value is written in plain text in stacks/dev.yaml",
                "config/dev/other.yaml:1: `other.yaml.j2` is a Jinja template",
                "config/dev/queue.yaml:2: `hooks`",
                "config/dev/queue.yaml:5: parameter `Name` of the stack `dev/queue`: `!file_contents name.txt`",
                "config/dev/queue.yaml:6: parameter `Timeout` of the stack `dev/queue`: the Jinja {{ var.timeout }}",
                "config/dev/queue.yaml:7: parameter `Nope` of the stack `dev/queue`: the template `templates/queue.yaml` has no such parameter",
            ]
        );
        // What could be translated was.
        assert!(i.files.contains_key("components/queue.yaml") && i.files.contains_key("components/ext.yaml"));
        assert!(!i.files.keys().any(|f| f.contains("other")));
    }

    #[test]
    fn a_value_given_the_same_way_to_several_stacks_is_one_root_parameter() {
        let i = import(&[
            ("config/config.yaml", "project_code: demo\nregion: eu-west-1\n"),
            // The same variable for a parameter of two stacks (as `!environment_variable` or
            // in Jinja): one root parameter, named after the variable.
            ("config/dev/queue.yaml", "template_path: queue.yaml\nparameters:\n  Name: dev\n  Secret: !environment_variable SHARED_NAME\n"),
            ("config/prod/queue.yaml", "template_path: queue.yaml\nparameters:\n  Name: prod\n  Secret: !environment_variable SHARED_NAME\n"),
            // `Owner` has the same literal per environment as the queue's `Name`, but
            // another name: not shared. `QueueArn` comes from the variable in dev only:
            // not shared either.
            ("config/dev/bucket.yaml", "template_path: s3/bucket.yaml\nparameters:\n  Owner: dev\n  QueueArn: !environment_variable SHARED_NAME\n"),
            ("config/prod/bucket.yaml", "template_path: s3/bucket.yaml\nparameters:\n  Owner: prod\n"),
            // The same name with the same literals per environment: shared, named after it.
            ("config/dev/other.yaml", "template_path: queue.yaml\nparameters:\n  Name: dev\n  Secret: !environment_variable SHARED_NAME\n"),
            ("config/prod/other.yaml", "template_path: queue.yaml\nparameters:\n  Name: prod\n  Secret: \"{{ environment_variable.SHARED_NAME }}\"\n"),
        ]);
        let t = &i.files["template.yaml"];
        assert!(t.contains("  Name:\n    Type: String\n    Description: \"`Name` of the Sceptre stacks `other`, `queue`, set in each stack file\"\n"), "{t}");
        assert!(t.contains("  SharedName:\n    Type: String\n    NoEcho: true\n    Description: \"`Secret` of the Sceptre stacks `other`, `queue`: the environment variable `SHARED_NAME`, read in each stack file\"\n"), "{t}");
        assert!(t.contains("      Name: !Ref Name\n      Secret: !Ref SharedName\n"), "{t}");
        assert!(t.contains("      Owner: !Ref BucketOwner\n      QueueArn: !Ref BucketQueueArn\n"), "{t}");
        let dev = &i.files["stacks/dev.yaml"];
        assert!(dev.contains("  BucketQueueArn:\n    env: SHARED_NAME\n"), "{dev}");
        assert_eq!(dev.matches("SHARED_NAME").count(), 2, "{dev}");
        assert_eq!(dev.matches("  Name: dev\n").count(), 1, "{dev}");
        let prod = &i.files["stacks/prod.yaml"];
        assert!(prod.contains("  Name: prod\n") && prod.contains("  SharedName:\n    env: SHARED_NAME\n"), "{prod}");
        let loader = MemoryLoader(i.files.clone());
        cairn_core::template::load_template(&loader, "template.yaml").expect("the root template loads");
    }

    #[test]
    fn ssm_becomes_a_parameter_store_parameter() {
        const AMI: &str = "Parameters:\n  ImageId: {Type: 'AWS::EC2::Image::Id'}\n  Size: {Type: Number, Default: 1}\n  Token: {Type: String, NoEcho: true}\nResources:\n  T: {Type: 'AWS::SNS::Topic'}\n";
        let loader = MemoryLoader(files(&[("templates/ami.yaml", AMI)]));
        let i = translate(
            &files(&[
                ("config/config.yaml", "project_code: demo\nregion: eu-west-1\n"),
                // The same name in every environment: the root parameter's default.
                ("config/dev/a.yaml", "template_path: ami.yaml\nparameters:\n  ImageId: !ssm /aws/ami\n  Size: !ssm /size/dev\n  Token: !ssm /token\n"),
                ("config/prod/a.yaml", "template_path: ami.yaml\nparameters:\n  ImageId: !ssm /aws/ami\n  Size: !ssm /size/prod\n  Token: '1'\n"),
            ]),
            &loader,
        )
        .expect("imports");
        let t = &i.files["template.yaml"];
        assert!(
            t.contains(
                "  AImageId:\n    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>\n    Default: /aws/ami\n"
            ),
            "{t}"
        );
        // A name per environment, in the stack files; a Number is read as a String.
        assert!(t.contains("  ASize:\n    Type: AWS::SSM::Parameter::Value<String>\n    Description"), "{t}");
        let dev = &i.files["stacks/dev.yaml"];
        assert!(dev.contains("  ASize: /size/dev\n") && !dev.contains("/aws/ami"), "{dev}");
        assert!(i.files["stacks/prod.yaml"].contains("  ASize: /size/prod\n"));
        // `!ssm` in one environment only: named, not translated.
        let notes: Vec<String> = i.notes.iter().map(|n| format!("{}:{}: {}", n.file, n.line, n.what)).collect();
        assert_eq!(
            notes,
            ["config/dev/a.yaml:5: parameter `Token` of the stack `a` is read with `!ssm` in some environments and not in others"]
        );
        assert!(!t.contains("Token"), "{t}");
        let loader = MemoryLoader(i.files.clone());
        cairn_core::template::load_template(&loader, "template.yaml").expect("the root template loads");

        // NoEcho and `!ssm`: translated, and named (a SecureString cannot be read so).
        let i = translate(
            &files(&[
                ("config/config.yaml", "project_code: demo\n"),
                (
                    "config/dev/a.yaml",
                    "template_path: ami.yaml\nparameters:\n  ImageId: !ssm /aws/ami\n  Token: !ssm /token\n",
                ),
            ]),
            &MemoryLoader(files(&[("templates/ami.yaml", AMI)])),
        )
        .expect("imports");
        assert!(i.files["template.yaml"].contains(
            "  AToken:\n    Type: AWS::SSM::Parameter::Value<String>\n    NoEcho: true\n    Default: /token\n"
        ));
        let notes: Vec<&str> = i.notes.iter().map(|n| n.what.as_str()).collect();
        assert_eq!(notes, ["parameter `Token` of the stack `a` is NoEcho and read with `!ssm`"]);
    }

    #[test]
    fn nothing_to_import_is_an_error() {
        let loader = MemoryLoader::default();
        assert!(translate(&files(&[("config/dev/x.yaml", "{}")]), &loader).unwrap_err().contains("config/config.yaml"));
        assert!(translate(&files(&[("config/config.yaml", "project_code: p\nregion: r\n")]), &loader)
            .unwrap_err()
            .contains("no Sceptre stack config"));
    }

    #[test]
    fn names() {
        assert_eq!(pascal("rds-postgres"), "RdsPostgres");
        assert_eq!(pascal("eu/network_v2"), "EuNetworkV2");
        assert_eq!(pascal("3d"), "Stack3d");
        assert_eq!(env_pascal("EPISTEMIX_DB_PASSWORD"), "EpistemixDbPassword");
        assert_eq!(stack_path("dev/rds.yaml"), Some(("dev".into(), "rds".into())));
        assert_eq!(stack_path("dev/eu/net"), Some(("dev".into(), "eu/net".into())));
    }
}
