//! What users read: plans, progress, outputs and summaries. Data (plans, outputs) goes to
//! stdout; progress and summaries to stderr. Colour only on a terminal and without
//! `NO_COLOR`; every message reads the same without colour.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_core::diff::{Detail, Kind};
use cairn_core::exec::{Event, Observer, Outcome, RunResult};
use cairn_core::plan::{Action, Plan, PropertyChange, Step};
use cairn_core::state::OutputState;
use cairn_core::Value;

mod drift;

#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect_stdout() -> Style {
        Style { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal() }
    }
    pub fn detect_stderr() -> Style {
        Style { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal() }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn action(&self, a: Action, s: &str) -> String {
        match a {
            Action::Create => self.paint("32", s),
            Action::Update => self.paint("33", s),
            Action::Replace => self.paint("35", s),
            Action::Delete => self.paint("31", s),
            Action::Same => s.to_string(),
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    /// Changes made outside cairn.
    pub fn drift(&self, s: &str) -> String {
        self.paint("36", s)
    }
}

pub fn show(v: &Value, show_secrets: bool) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Unknown => "(known after up)".into(),
        Value::Secret(_) if !show_secrets => "[secret]".into(),
        other => {
            let j = other.to_display_json(show_secrets);
            serde_json::to_string(&j).unwrap_or_default()
        }
    }
}

/// A value as text for humans: a string (also a shown secret string) bare, a hidden secret
/// as `[secret]`, anything else as JSON.
pub fn bare(v: &Value, show_secrets: bool) -> String {
    match v {
        Value::Secret(_) if !show_secrets => "[secret]".to_string(),
        other => match other.reveal() {
            Value::String(s) => s.clone(),
            inner => show(inner, show_secrets),
        },
    }
}

/// `steps` (in the plan's order) with each component's steps together, under one heading:
/// a component's steps follow its first one, and the other steps keep their order.
fn grouped<'a>(steps: impl Iterator<Item = &'a Step>) -> Vec<&'a Step> {
    let mut groups: Vec<(Option<&str>, Vec<&Step>)> = Vec::new();
    for s in steps {
        let parent = s.parent.as_deref();
        let at = match parent {
            Some(_) => groups.iter().position(|(p, _)| *p == parent),
            // Top-level steps run on until the next component.
            None => groups.last().filter(|(p, _)| p.is_none()).map(|_| groups.len() - 1),
        };
        match at {
            Some(i) => groups[i].1.push(s),
            None => groups.push((parent, vec![s])),
        }
    }
    groups.into_iter().flat_map(|(_, steps)| steps).collect()
}

/// The plan as text (for stdout).
pub fn plan_text(plan: &Plan, title: &str, diff: bool, show_secrets: bool, st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", st.bold(title));
    let _ = writeln!(out);
    // Steps that change something, and those whose drift `up` only records.
    let changes = grouped(plan.steps.iter().filter(|s| s.action != Action::Same || s.drift.is_some()));
    if changes.is_empty() {
        let _ = writeln!(out, "  No resource changes.");
        if plan.state_changed {
            let _ = writeln!(
                out,
                "  The state will record changed settings (DeletionPolicy, dependencies or component) without calling AWS."
            );
        }
    }
    // Ids under a component are indented two more columns: pad indent and id together so
    // the type column lines up.
    let indent_of = |s: &Step| if s.parent.is_some() { "    " } else { "  " };
    let width = changes.iter().map(|s| indent_of(s).len() + s.id.len()).max().unwrap_or(0);
    let type_width = changes.iter().map(|s| s.type_name.len()).max().unwrap_or(0);
    let mut current_parent: Option<&str> = None;
    for s in &changes {
        if s.parent.as_deref() != current_parent {
            if let Some(p) = s.parent.as_deref() {
                let _ = writeln!(out, "  {}", st.dim(&format!("{p} (component)")));
            }
            current_parent = s.parent.as_deref();
        }
        let indent = indent_of(s);
        let sym = format!("{:<2}", s.action.symbol());
        let verb = if s.action == Action::Delete && s.retain { "forget" } else { s.action.verb() };
        let id_width = width - indent.len();
        let mut line = format!(
            "{indent}{} {:<id_width$}  {:<type_width$}  {}",
            st.action(s.action, &sym),
            s.id,
            s.type_name,
            st.action(s.action, verb)
        );
        match s.action {
            Action::Update if !diff => {
                let names: Vec<&str> = s.changes.iter().map(|c| c.name.as_str()).collect();
                let _ = write!(line, "  [{}]", names.join(", "));
            }
            Action::Replace => {
                let forcing: Vec<&str> =
                    s.changes.iter().flat_map(|c| c.forced_by.iter().map(String::as_str)).collect();
                let why = if let Some(r) = &s.reason {
                    r.clone()
                } else {
                    format!("{} forces replacement", forcing.join(", "))
                };
                let mode = match s.replace_mode {
                    Some(cairn_core::plan::ReplaceMode::DeleteBeforeCreate) => ", delete before create",
                    _ => "",
                };
                let old = if s.retain {
                    "; UpdateReplacePolicy Retain: the old one is kept in AWS"
                } else if s.snapshot {
                    "; UpdateReplacePolicy Snapshot: a final snapshot of the old one first"
                } else {
                    ""
                };
                let _ = write!(line, "  [{why}{mode}{old}]");
            }
            Action::Delete if s.retain => {
                let _ = write!(line, "  [DeletionPolicy Retain: removed from the stack, kept in AWS]");
            }
            Action::Delete if s.retired && s.snapshot => {
                let _ = write!(line, "  [old resource of an earlier replacement; final snapshot first]");
            }
            Action::Delete if s.retired => {
                let _ = write!(line, "  [old resource of an earlier replacement]");
            }
            Action::Delete if s.snapshot => {
                let _ = write!(line, "  [DeletionPolicy Snapshot: final snapshot first]");
            }
            _ => {}
        }
        if let Some(p) = &s.protected {
            let _ = write!(line, "  [protected ({}: {}): refused]", p.property, p.value);
        }
        let _ = writeln!(out, "{line}");
        if let Some(d) = &s.drift {
            out.push_str(&drift::text(s, d, &format!("{indent}     "), diff, show_secrets, st));
        }
        if diff {
            let pad = format!("{indent}     ");
            match s.action {
                Action::Create => {
                    if let Some(m) = s.inputs.as_ref().and_then(|v| v.as_map()) {
                        for (k, v) in m {
                            let head = format!("{pad}+ {k}: ");
                            let _ = writeln!(
                                out,
                                "{pad}{} {k}: {}",
                                st.action(Action::Create, "+"),
                                fold(v, head.len(), pad.len() + 2, show_secrets)
                            );
                        }
                    }
                }
                Action::Update | Action::Replace => {
                    for c in &s.changes {
                        let forces = if c.forces_replacement && s.action == Action::Replace {
                            "  (forces replacement)"
                        } else {
                            ""
                        };
                        change_text(&mut out, &pad, c, forces, show_secrets, st);
                    }
                }
                _ => {}
            }
        }
    }
    // (On destroy every output goes away: no empty heading for that.)
    if plan.outputs_changed && !plan.outputs.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Outputs:");
        let width = plan.outputs.keys().map(String::len).max().unwrap_or(0);
        for (k, o) in &plan.outputs {
            let _ = writeln!(out, "    {k:<width$}  {}", show(&o.value, show_secrets));
        }
    }
    let _ = writeln!(out);
    let retained = changes.iter().filter(|s| s.action == Action::Delete && s.retain).count();
    let _ = writeln!(out, "{}", summary_line(&plan.counts(), retained));
    if let Some(refused) = plan.refusal() {
        let _ = writeln!(
            out,
            "Refused: {} protected from deletion in AWS (marked `refused`): this plan is not applied until the protection is lifted.",
            refused.how_many()
        );
    }
    if let Some(line) = drift::summary(plan, st) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Lines wider than this fold a mapping or list value into indented JSON.
const FOLD_WIDTH: usize = 120;

/// A value for a diff line that already holds `used` columns: compact JSON, or, when that
/// would pass [`FOLD_WIDTH`] and the value is a mapping or list, pretty JSON whose later
/// lines are indented by `indent`.
fn fold(v: &Value, used: usize, indent: usize, show_secrets: bool) -> String {
    let compact = show(v, show_secrets);
    let structured = match v {
        Value::Secret(_) if !show_secrets => false,
        other => matches!(other.reveal(), Value::Map(_) | Value::List(_)),
    };
    if used + compact.chars().count() <= FOLD_WIDTH || !structured {
        return compact;
    }
    let pretty = serde_json::to_string_pretty(&v.to_display_json(show_secrets)).unwrap_or(compact);
    pretty.replace('\n', &format!("\n{:indent$}", ""))
}

/// One changed property of an update or replacement, under `pad`: one line when it changed
/// as a whole, else a heading and its leaf-level changes (`+ path: value` added,
/// `- path: value` removed, `~ path: old => new` changed), unchanged parts left out.
pub(crate) fn change_text(
    out: &mut String,
    pad: &str,
    c: &PropertyChange,
    forces: &str,
    show_secrets: bool,
    st: Style,
) {
    if let Some(text) = asset_change(c) {
        let _ = writeln!(out, "{pad}{} {}: {text}{forces}", st.action(Action::Update, "~"), c.name);
        return;
    }
    match details_of(c).as_ref() {
        [d] if d.path.is_empty() => detail_text(out, pad, &c.name, d, forces, show_secrets, st),
        details => {
            let _ = writeln!(out, "{pad}{} {}:{forces}", st.action(Action::Update, "~"), c.name);
            let pad = format!("{pad}    ");
            for d in details {
                let path = if d.path.is_empty() { c.name.as_str() } else { d.path.as_str() };
                detail_text(out, &pad, path, d, "", show_secrets, st);
            }
        }
    }
}

/// A local asset whose content changed ([`cairn_core::asset`]), in words: "content of
/// functions/api changed (SHA-256 HNSkQYHPSg2j => sNb3oEnPI232)".
fn asset_change(c: &PropertyChange) -> Option<String> {
    let asset = |v: &Option<Value>| cairn_core::asset::Asset::from_json(&v.as_ref()?.to_display_json(false));
    let (old, new) = (asset(&c.old)?, asset(&c.new)?);
    let short = |a: &cairn_core::asset::Asset| a.sha256.chars().take(12).collect::<String>();
    Some(if old.path == new.path {
        format!("content of {} changed (SHA-256 {} => {})", new.path, short(&old), short(&new))
    } else {
        format!("{} => {} (SHA-256 {} => {})", old.path, new.path, short(&old), short(&new))
    })
}

/// A change's details; for a change made without them (never by
/// `plan::diff_properties`), the whole value.
fn details_of(c: &PropertyChange) -> std::borrow::Cow<'_, [Detail]> {
    if c.details.is_empty() {
        cairn_core::diff::property(&c.name, c.old.as_ref(), c.new.as_ref(), &[]).into()
    } else {
        c.details.as_slice().into()
    }
}

/// `+ path: value`, `- path: value` or `~ path: old => new`, then `suffix`.
fn detail_text(out: &mut String, pad: &str, path: &str, d: &Detail, suffix: &str, show_secrets: bool, st: Style) {
    let action = match d.kind {
        Kind::Add => Action::Create,
        Kind::Delete => Action::Delete,
        Kind::Update => Action::Update,
    };
    let head = format!("{pad}{} {path}: ", d.kind.symbol());
    let indent = pad.len() + 2;
    let value = |v: &Option<Value>, used: usize| match v {
        Some(v) => fold(v, used, indent, show_secrets),
        None => "null".to_string(),
    };
    let text = match d.kind {
        Kind::Add => value(&d.new, head.len()),
        Kind::Delete => value(&d.old, head.len()),
        Kind::Update => {
            let old = value(&d.old, head.len());
            // The columns taken on the line where the new value starts (after ` => `).
            let used = match old.rsplit_once('\n') {
                Some((_, last)) => last.chars().count() + 4,
                None => head.len() + old.chars().count() + 4,
            };
            format!("{old} => {}", value(&d.new, used))
        }
    };
    let _ = writeln!(out, "{pad}{} {path}: {text}{suffix}", st.action(action, d.kind.symbol()));
}

/// `retained` of the deletes only forget their resource (`DeletionPolicy: Retain`).
pub fn summary_line(counts: &BTreeMap<Action, usize>, retained: usize) -> String {
    let get = |a| counts.get(&a).copied().unwrap_or(0);
    let mut parts = Vec::new();
    for (a, label) in [
        (Action::Create, "to create"),
        (Action::Update, "to update"),
        (Action::Replace, "to replace"),
        (Action::Delete, "to delete"),
    ] {
        let n = if a == Action::Delete { get(a) - retained } else { get(a) };
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    if retained > 0 {
        parts.push(format!("{retained} to forget (kept in AWS)"));
    }
    if parts.is_empty() {
        format!("Plan: no changes ({} unchanged).", get(Action::Same))
    } else {
        format!("Plan: {}, {} unchanged.", parts.join(", "), get(Action::Same))
    }
}

/// The plan as JSON (for `--json`): deterministic, secrets hidden unless asked.
pub fn plan_json(plan: &Plan, stack: &str, show_secrets: bool) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .map(|s| {
            let mut j = serde_json::json!({
                "id": s.id,
                "type": s.type_name,
                "action": s.action.verb(),
            });
            let o = j.as_object_mut().expect("object");
            if let Some(p) = &s.parent {
                o.insert("component".into(), p.clone().into());
            }
            if !s.changes.is_empty() {
                o.insert("changes".into(), s.changes.iter().map(|c| change_json(c, show_secrets)).collect());
            }
            if let Some(d) = &s.drift {
                o.insert("drift".into(), drift::json(d, show_secrets));
            }
            if let Some(m) = s.replace_mode {
                o.insert("replace_mode".into(), serde_json::to_value(m).expect("mode"));
            }
            if let Some(r) = &s.reason {
                o.insert("reason".into(), r.clone().into());
            }
            if s.retain {
                o.insert("retain".into(), true.into());
            }
            if s.snapshot {
                o.insert("snapshot".into(), true.into());
            }
            if let Some(p) = &s.protected {
                o.insert("protected".into(), serde_json::to_value(p).expect("protection"));
            }
            if let Some(i) = &s.inputs {
                o.insert("properties".into(), i.to_display_json(show_secrets));
            }
            j
        })
        .collect();
    let counts: serde_json::Map<String, serde_json::Value> =
        plan.counts().into_iter().map(|(a, n)| (a.verb().to_string(), n.into())).collect();
    serde_json::json!({
        "stack": stack,
        "steps": steps,
        "outputs": outputs_json(&plan.outputs, show_secrets),
        "summary": counts,
        "changes": !plan.is_empty(),
    })
}

/// A change's details for `--json`: `{path, kind, old, new}` each, the absent side null.
fn details_json(c: &PropertyChange, show_secrets: bool) -> serde_json::Value {
    details_of(c)
        .iter()
        .map(|d| {
            serde_json::json!({
                "path": d.path,
                "kind": d.kind.as_str(),
                "old": d.old.as_ref().map(|v| v.to_display_json(show_secrets)),
                "new": d.new.as_ref().map(|v| v.to_display_json(show_secrets)),
            })
        })
        .collect()
}

/// One property change as `--json` shows it (in `changes` and in `drift.changes`).
/// `forced_by` (the create-only paths that force the replacement) is there only when
/// `forces_replacement` is true.
pub fn change_json(c: &PropertyChange, show_secrets: bool) -> serde_json::Value {
    let mut j = serde_json::json!({
        "property": c.name,
        "old": c.old.as_ref().map(|v| v.to_display_json(show_secrets)),
        "new": c.new.as_ref().map(|v| v.to_display_json(show_secrets)),
        "forces_replacement": c.forces_replacement,
        "details": details_json(c, show_secrets),
    });
    if c.forces_replacement {
        j["forced_by"] = serde_json::json!(c.forced_by);
    }
    j
}

pub fn outputs_json(outputs: &BTreeMap<String, OutputState>, show_secrets: bool) -> serde_json::Value {
    serde_json::Value::Object(outputs.iter().map(|(k, o)| (k.clone(), o.value.to_display_json(show_secrets))).collect())
}

pub fn outputs_text(outputs: &BTreeMap<String, OutputState>, show_secrets: bool) -> String {
    let mut out = String::new();
    if outputs.is_empty() {
        return out;
    }
    let _ = writeln!(out, "Outputs:");
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    for (k, o) in outputs {
        let _ = writeln!(out, "    {k:<width$}  {}", bare(&o.value, show_secrets));
    }
    out
}

/// Shell `export` lines for `stack output --shell`.
pub fn outputs_shell(outputs: &BTreeMap<String, OutputState>, show_secrets: bool) -> String {
    let mut out = String::new();
    for (k, o) in outputs {
        let v = match o.value.reveal() {
            _ if matches!(o.value, Value::Secret(_)) && !show_secrets => "[secret]".to_string(),
            Value::String(s) => s.clone(),
            other => show(other, show_secrets),
        };
        let name: String = k.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let _ = writeln!(out, "export {name}='{}'", v.replace('\'', "'\\''"));
    }
    out
}

pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// Progress on stderr: one plain line per start and finish, and a status line with
/// what is in flight when stderr is a terminal.
pub struct Progress {
    st: Style,
    tty: bool,
    inflight: Mutex<Vec<String>>,
    started: Instant,
    deletes: DeleteKinds,
}

/// What the deletes of a plan really do: some only forget their resource
/// (`DeletionPolicy: Retain`), some remove the old half of a replacement.
#[derive(Clone, Debug, Default)]
pub struct DeleteKinds {
    retained: HashSet<String>,
    old_halves: HashSet<String>,
}

impl DeleteKinds {
    pub fn of(plan: &Plan) -> DeleteKinds {
        let mut k = DeleteKinds::default();
        for s in &plan.steps {
            match s.action {
                Action::Delete if s.retain => {
                    k.retained.insert(s.id.clone());
                }
                Action::Delete if s.retired => {
                    k.old_halves.insert(s.id.clone());
                }
                Action::Replace => {
                    k.old_halves.insert(s.id.clone());
                }
                _ => {}
            }
        }
        k
    }
}

impl Progress {
    pub fn new() -> Progress {
        Progress::for_plan(DeleteKinds::default())
    }
    pub fn for_plan(deletes: DeleteKinds) -> Progress {
        Progress {
            st: Style::detect_stderr(),
            tty: std::io::stderr().is_terminal(),
            inflight: Mutex::new(Vec::new()),
            started: Instant::now(),
            deletes,
        }
    }
    fn line(&self, s: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "{s}");
        if self.tty {
            let inflight = self.inflight.lock().expect("progress lock");
            if !inflight.is_empty() {
                let shown: Vec<&str> = inflight.iter().take(4).map(String::as_str).collect();
                let more = if inflight.len() > 4 { format!(" and {} more", inflight.len() - 4) } else { String::new() };
                let _ = write!(
                    err,
                    "{}",
                    self.st.dim(&format!(
                        "  [{}] in progress: {}{more}",
                        fmt_duration(self.started.elapsed()),
                        shown.join(", ")
                    ))
                );
            }
        }
        let _ = err.flush();
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

fn ing(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "deleting",
        Action::Same => "checking",
    }
}

fn ed(a: Action) -> &'static str {
    match a {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::Same => "unchanged",
    }
}

impl Observer for Progress {
    fn event(&self, e: &Event) {
        match e {
            Event::Started { id, type_name, action } => {
                self.inflight.lock().expect("progress lock").push(id.clone());
                let what = match action {
                    Action::Delete if self.deletes.retained.contains(id) => {
                        "removing from the stack (DeletionPolicy Retain)"
                    }
                    Action::Delete if self.deletes.old_halves.contains(id) => "deleting the replaced resource",
                    a => ing(*a),
                };
                self.line(&format!(
                    "  {} {id} ({type_name}) {what}...",
                    self.st.action(*action, &format!("{:<2}", action.symbol()))
                ));
            }
            Event::Finished { id, type_name, action, elapsed, outcome } => {
                self.inflight.lock().expect("progress lock").retain(|x| x != id);
                let sym = self.st.action(*action, &format!("{:<2}", action.symbol()));
                let text = match outcome {
                    Outcome::Done => {
                        let what = match action {
                            Action::Delete if self.deletes.retained.contains(id) => {
                                "removed from the stack, kept in AWS"
                            }
                            Action::Delete if self.deletes.old_halves.contains(id) => "deleted the replaced resource",
                            a => ed(*a),
                        };
                        format!("  {sym} {id} ({type_name}) {what} ({})", fmt_duration(*elapsed))
                    }
                    Outcome::Unchanged => format!("  {sym} {id} ({type_name}) unchanged after all"),
                    Outcome::Failed(err) => {
                        let mut text = format!(
                            "  {} {id} ({type_name}) FAILED: {}",
                            self.st.action(Action::Delete, "!!"),
                            err.detail()
                        );
                        if let Some(note) = &err.note {
                            text.push_str(&format!("\n     {note}"));
                        }
                        text
                    }
                    Outcome::Skipped(why) => format!("  {} {id} ({type_name}) skipped: {why}", self.st.dim("..")),
                };
                self.line(&text);
            }
            Event::Waiting { id, type_name, what, elapsed } => self.line(&format!(
                "  {} {id} ({type_name}) waiting for {what}, {}",
                self.st.dim(".."),
                fmt_duration(*elapsed)
            )),
            Event::Recovered { id, type_name, what } => self.line(&format!("  recovered {id} ({type_name}): {what}")),
        }
    }
}

/// The end-of-run summary (stderr).
/// A delete that removes the old half of a replacement is part of that replacement, and is
/// not counted again; one that only forgets (`DeletionPolicy: Retain`) is counted as such.
pub fn run_summary(result: &RunResult, deletes: &DeleteKinds, verb: &str, elapsed: Duration) -> String {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (id, a, o, _) in &result.steps {
        let key = match (o, a) {
            (Outcome::Done, Action::Delete) if deletes.retained.contains(id) => "retained",
            (Outcome::Done, Action::Delete) if deletes.old_halves.contains(id) => continue,
            (Outcome::Done, a) => a.verb(),
            (Outcome::Unchanged, _) => "same",
            (Outcome::Failed(_), _) => "failed",
            (Outcome::Skipped(_), _) => "skipped",
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    let mut parts: Vec<String> = Vec::new();
    for (k, label) in [
        ("create", "created"),
        ("update", "updated"),
        ("replace", "replaced"),
        ("delete", "deleted"),
        ("retained", "removed from the stack and kept in AWS (DeletionPolicy Retain)"),
        ("same", "unchanged"),
        ("failed", "failed"),
        ("skipped", "skipped"),
    ] {
        if let Some(n) = counts.get(k) {
            parts.push(format!("{n} {label}"));
        }
    }
    let what = if parts.is_empty() { "nothing to do".to_string() } else { parts.join(", ") };
    let mut out = String::new();
    let status = if result.succeeded() { "succeeded" } else { "FAILED" };
    let _ = writeln!(out, "{verb} {status} in {}: {what}.", fmt_duration(elapsed));
    for e in result.failed() {
        let _ = writeln!(out, "  error: {e}");
    }
    for e in &result.output_errors {
        let _ = writeln!(out, "  output error: {e}");
    }
    if let Some(j) = &result.journal_error {
        let _ = writeln!(
            out,
            "  error: the state could not be written: {j}. The next run reconciles what was interrupted."
        );
    }
    out
}

/// The lines a plan refused for deletion protection prints on stderr: one per protected
/// resource (what would be deleted, why not, how to lift it), each after `prefix`
/// (`error`, `warning`), and a `help:` line where `lift` says how to lift it in this
/// project (the stack parameter behind the property: `cairn config set ...`).
pub fn refusal_text(
    refused: &cairn_core::plan::Refused,
    prefix: &str,
    lift: &dyn Fn(&cairn_core::plan::ProtectedStep) -> Option<String>,
) -> String {
    let mut out = String::new();
    for s in &refused.steps {
        let _ = writeln!(out, "{prefix}: {s}");
        if let Some(how) = lift(s) {
            let _ = writeln!(out, "  help: {how}");
        }
    }
    out
}

/// `1 resource`, `2 resources`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A borderless comfy-table table as text, without the padding space that starts each
/// line and the padding at the ends.
pub fn table_text(t: &comfy_table::Table) -> String {
    let mut out = String::new();
    for line in t.to_string().lines() {
        let line = line.strip_prefix(' ').unwrap_or(line);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod schema_path_tests {
    use cairn_core::plan::ReplaceMode;

    use super::*;

    /// A step of `action` on `id` (under component `parent`), with nothing else set.
    fn step(id: &str, type_name: &str, action: Action, parent: Option<&str>) -> Step {
        Step {
            id: id.into(),
            type_name: type_name.into(),
            action,
            parent: parent.map(String::from),
            changes: Vec::new(),
            replace_mode: None,
            reason: None,
            retain: false,
            snapshot: false,
            retired: false,
            inputs: None,
            region: None,
            physical_id: Some(id.to_lowercase()),
            drift: None,
            protected: None,
        }
    }

    #[test]
    fn a_nested_create_only_change_names_its_path() {
        let change = PropertyChange {
            name: "EncryptionConfiguration".into(),
            old: Some(Value::from_json(&serde_json::json!({"EncryptionType": "AES256"}))),
            new: Some(Value::from_json(&serde_json::json!({"EncryptionType": "KMS"}))),
            forces_replacement: true,
            forced_by: vec!["EncryptionConfiguration.EncryptionType".into()],
            details: Vec::new(),
        };
        let step = Step {
            changes: vec![change],
            replace_mode: Some(ReplaceMode::CreateBeforeDelete),
            ..step("Repo", "AWS::ECR::Repository", Action::Replace, None)
        };
        let plan = Plan { steps: vec![step], ..Plan::default() };
        let text = plan_text(&plan, "Preview", false, false, Style { color: false });
        assert!(text.contains("[EncryptionConfiguration.EncryptionType forces replacement]"), "{text}");
    }

    #[test]
    fn each_component_is_listed_once_under_its_heading() {
        let step = |id: &str, parent: Option<&str>| step(id, "Test::Thing", Action::Delete, parent);
        // The order of a destroy: dependents first, across components.
        let steps = vec![
            step("Dashboard", None),
            step("East.Alarm", Some("East")),
            step("West.Alarm", Some("West")),
            step("Records", None),
            step("East.Function", Some("East")),
            step("Bucket", None),
            step("West.Function", Some("West")),
        ];
        let order: Vec<&str> = grouped(steps.iter()).iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            order,
            ["Dashboard", "East.Alarm", "East.Function", "West.Alarm", "West.Function", "Records", "Bucket"]
        );
        let plan = Plan { steps, ..Plan::default() };
        let text = plan_text(&plan, "Destroy", false, false, Style { color: false });
        assert_eq!(text.matches("East (component)").count(), 1, "{text}");
        assert_eq!(text.matches("West (component)").count(), 1, "{text}");
        assert!(!text.contains("Refused:"), "{text}");
    }

    #[test]
    fn a_protected_delete_is_marked_refused_in_text_and_json() {
        let mut step = Step {
            reason: Some("destroy".into()),
            physical_id: Some("table-1".into()),
            protected: Some(cairn_core::plan::Protection {
                property: "DeletionProtectionEnabled".into(),
                value: "true".into(),
                off: "false".into(),
            }),
            ..step("Table", "AWS::DynamoDB::Table", Action::Delete, None)
        };
        step.snapshot = true;
        let plan = Plan { steps: vec![step], ..Plan::default() };
        let text = plan_text(&plan, "Destroy", false, false, Style { color: false });
        assert!(text.contains("\nRefused: 1 resource is protected from deletion in AWS (marked `refused`)"), "{text}");
        assert!(
            text.contains(
                "delete  [DeletionPolicy Snapshot: final snapshot first]  [protected (DeletionProtectionEnabled: true): refused]"
            ),
            "{text}"
        );
        let j = plan_json(&plan, "prod", false);
        assert_eq!(
            j["steps"][0]["protected"],
            serde_json::json!({"property": "DeletionProtectionEnabled", "value": "true", "off": "false"})
        );
        let refused = plan.refusal().expect("refused");
        let line = "error: Table (AWS::DynamoDB::Table): delete refused: DeletionProtected: Table (table-1) is protected \
                    from deletion in AWS (`DeletionProtectionEnabled: true`), and cairn does not delete it; to delete it, \
                    set `DeletionProtectionEnabled` to false, run `cairn up`, then run this again\n";
        assert_eq!(refusal_text(&refused, "error", &|_| None), line);
        let lift =
            |s: &cairn_core::plan::ProtectedStep| Some(format!("`{}` comes from a parameter", s.protection.property));
        assert_eq!(
            refusal_text(&refused, "error", &lift),
            format!("{line}  help: `DeletionProtectionEnabled` comes from a parameter\n")
        );
    }
}
