//! The project file (`Cairn.yaml`) and the stack files (`stacks/<name>.yaml`).
//!
//! ```yaml
//! # Cairn.yaml
//! name: pipeweave
//! template: template.yaml        # the default
//! backend: file://.cairn         # optional
//! defaults:                      # settings every stack inherits
//!   region: us-east-1
//!   tags: {Application: pipeweave}
//! ```
//!
//! A stack file holds [`StackSettings`] (a stack file may also name its own `backend`,
//! which then overrides `Cairn.yaml`'s); it overrides the project's `defaults` key by key
//! ([`StackSettings::merged_over`]). Parameter values stay [`Node`]s so that later errors
//! (a value not in `AllowedValues`) point into the stack file. [`render_stack`] writes a
//! stack file back (for `cairn config set`) deterministically.

use indexmap::IndexMap;

use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};
use crate::template::ast::{Mapping, Node, NodeValue};
use crate::template::parse::{parse_document, resolve_plain};

/// `Cairn.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectFile {
    /// The file as shown to the user.
    pub file: String,
    /// The project's name (`[A-Za-z0-9_.-]+`).
    pub name: String,
    pub name_span: Span,
    /// The root template, relative to the project directory (default `template.yaml`).
    pub template: String,
    /// Where state lives (`file://.cairn`, `s3://bucket/prefix?region=...`); `None` is the
    /// local default.
    pub backend: Option<String>,
    /// Settings every stack inherits.
    pub defaults: StackSettings,
}

/// What a stack file (or the project's `defaults`) sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackSettings {
    pub region: Option<String>,
    /// Where this stack's state lives (`s3://bucket/prefix?region=...`, `file://...`): it
    /// overrides `Cairn.yaml`'s `backend` (and `CAIRN_BACKEND` overrides both).
    pub backend: Option<String>,
    /// How secrets are encrypted (`passphrase`, `awskms://...`).
    pub secretsprovider: Option<String>,
    /// The salt of the passphrase secrets provider.
    pub encryptionsalt: Option<String>,
    /// Template parameter values, as written.
    pub parameters: IndexMap<String, Node>,
    /// Tags applied to every resource that supports them.
    pub tags: IndexMap<String, String>,
    /// Free-form configuration.
    pub config: IndexMap<String, Node>,
}

const PROJECT_KEYS: &[&str] = &["name", "template", "backend", "defaults"];
const STACK_KEYS: &[&str] = &["region", "backend", "secretsprovider", "encryptionsalt", "parameters", "tags", "config"];

/// The default root template path.
pub const DEFAULT_TEMPLATE: &str = "template.yaml";

/// Parses `Cairn.yaml`. `file` names the file in spans.
pub fn parse_project(text: &str, file: &str) -> Result<ProjectFile, Diagnostics> {
    let node = parse_document(text, file)?;
    let mut errs = Vec::new();
    let Some(m) = top_mapping(&node, "the project file", &mut errs) else {
        return Err(Diagnostics(errs));
    };
    let mut name = None;
    let mut template = DEFAULT_TEMPLATE.to_string();
    let mut backend = None;
    let mut defaults = StackSettings::default();
    for (k, v) in m.iter() {
        match k.name.as_str() {
            "name" => {
                if let Some(s) = string_value(v, "`name`", &mut errs) {
                    if is_project_name(&s) {
                        name = Some((s, v.span.clone()));
                    } else {
                        errs.push(Diagnostic::at(
                            &v.span,
                            format!("project name `{s}` may only contain letters, digits, `_`, `.` and `-`"),
                        ));
                    }
                }
            }
            "template" => {
                if let Some(s) = string_value(v, "`template`", &mut errs) {
                    if s.is_empty() {
                        errs.push(Diagnostic::at(&v.span, "`template` must name a file"));
                    } else {
                        template = s;
                    }
                }
            }
            "backend" => backend = string_value(v, "`backend`", &mut errs),
            "defaults" => match &v.value {
                NodeValue::Null => {}
                NodeValue::Map(dm) => {
                    defaults = settings_from_map(dm, &mut errs);
                    // One place for the project's backend: the top-level key.
                    if let Some((key, _)) = dm.entries.iter().find(|(k, _)| k.name == "backend") {
                        errs.push(
                            Diagnostic::at(&key.span, "`backend` is not a default: set it at the top of Cairn.yaml")
                                .with_help("move `backend:` out of `defaults:`; a stack file may set its own"),
                        );
                    }
                }
                _ => errs.push(Diagnostic::at(&v.span, format!("`defaults` must be a mapping, found {}", v.kind()))),
            },
            other => unknown_key(&mut errs, &k.span, "project setting", other, PROJECT_KEYS),
        }
    }
    if name.is_none() && m.get("name").is_none() {
        errs.push(
            Diagnostic::at(&Span::file(file), "the project file has no `name`")
                .with_help("add e.g. `name: my-project`"),
        );
    }
    match name {
        Some((name, name_span)) if errs.is_empty() => {
            Ok(ProjectFile { file: file.to_string(), name, name_span, template, backend, defaults })
        }
        _ => Err(Diagnostics(errs)),
    }
}

/// Parses a stack file (`stacks/<name>.yaml`). An empty file sets nothing.
pub fn parse_stack(text: &str, file: &str) -> Result<StackSettings, Diagnostics> {
    let node = parse_document(text, file)?;
    let mut errs = Vec::new();
    let settings = match &node.value {
        NodeValue::Null => StackSettings::default(),
        _ => match top_mapping(&node, "a stack file", &mut errs) {
            Some(m) => settings_from_map(m, &mut errs),
            None => StackSettings::default(),
        },
    };
    if errs.is_empty() {
        Ok(settings)
    } else {
        Err(Diagnostics(errs))
    }
}

impl StackSettings {
    /// These settings over `defaults`: `region`, `backend`, `secretsprovider` and
    /// `encryptionsalt` override when set; `parameters`, `tags` and `config` merge key by key (keys of
    /// `defaults` first, in their order, then this stack's new keys).
    pub fn merged_over(&self, defaults: &StackSettings) -> StackSettings {
        fn merge<V: Clone>(base: &IndexMap<String, V>, over: &IndexMap<String, V>) -> IndexMap<String, V> {
            let mut out = base.clone();
            for (k, v) in over {
                out.insert(k.clone(), v.clone());
            }
            out
        }
        StackSettings {
            region: self.region.clone().or_else(|| defaults.region.clone()),
            backend: self.backend.clone().or_else(|| defaults.backend.clone()),
            secretsprovider: self.secretsprovider.clone().or_else(|| defaults.secretsprovider.clone()),
            encryptionsalt: self.encryptionsalt.clone().or_else(|| defaults.encryptionsalt.clone()),
            parameters: merge(&defaults.parameters, &self.parameters),
            tags: merge(&defaults.tags, &self.tags),
            config: merge(&defaults.config, &self.config),
        }
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.region.is_none()
            && self.backend.is_none()
            && self.secretsprovider.is_none()
            && self.encryptionsalt.is_none()
            && self.parameters.is_empty()
            && self.tags.is_empty()
            && self.config.is_empty()
    }
}

/// The comment lines (and blank lines) a stack file's text starts with, as they are: kept
/// when cairn rewrites the file (`config set`), so the notes above the settings survive.
/// Comments between the settings are not kept (the settings are rendered anew).
pub fn leading_comments(text: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if !(t.is_empty() || t.starts_with('#')) {
            break;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The text of a stack file holding `s`: keys in a fixed order (`region`, `backend`,
/// `secretsprovider`, `encryptionsalt`, `parameters`, `tags`, `config`), block style,
/// strings quoted only where a plain scalar would be read differently. Reading the text
/// back with [`parse_stack`] gives the same settings (spans aside).
pub fn render_stack(s: &StackSettings) -> String {
    if s.is_empty() {
        return "{}\n".to_string();
    }
    let mut out = String::new();
    for (key, value) in [
        ("region", &s.region),
        ("backend", &s.backend),
        ("secretsprovider", &s.secretsprovider),
        ("encryptionsalt", &s.encryptionsalt),
    ] {
        if let Some(v) = value {
            out.push_str(key);
            out.push_str(": ");
            out.push_str(&yaml_string(v));
            out.push('\n');
        }
    }
    if !s.parameters.is_empty() {
        out.push_str("parameters:\n");
        for (k, v) in &s.parameters {
            write_entry(&mut out, k, v, 2);
        }
    }
    if !s.tags.is_empty() {
        out.push_str("tags:\n");
        for (k, v) in &s.tags {
            push_indent(&mut out, 2);
            out.push_str(&yaml_string(k));
            out.push_str(": ");
            out.push_str(&yaml_string(v));
            out.push('\n');
        }
    }
    if !s.config.is_empty() {
        out.push_str("config:\n");
        for (k, v) in &s.config {
            write_entry(&mut out, k, v, 2);
        }
    }
    out
}

/// A node as YAML text. Scalars and empty collections come back inline (no newline):
/// `"true"`, `42`, `[]`. Non-empty collections come back in block style, one line per
/// entry, each line indented by `indent` spaces and ending with a newline.
pub fn node_to_yaml(node: &Node, indent: usize) -> String {
    let mut out = String::new();
    match &node.value {
        NodeValue::Map(m) if !m.is_empty() => {
            for (k, v) in m.iter() {
                write_entry(&mut out, &k.name, v, indent);
            }
        }
        NodeValue::Seq(items) if !items.is_empty() => {
            for item in items {
                push_indent(&mut out, indent);
                out.push('-');
                if is_block(item) {
                    out.push(' ');
                    let nested = node_to_yaml(item, indent + 2);
                    out.push_str(&nested[indent + 2..]);
                } else {
                    out.push(' ');
                    out.push_str(&node_to_yaml(item, 0));
                    out.push('\n');
                }
            }
        }
        NodeValue::Map(_) => out.push_str("{}"),
        NodeValue::Seq(_) => out.push_str("[]"),
        NodeValue::Null => out.push_str("null"),
        NodeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        NodeValue::Number(n) => out.push_str(&n.to_string()),
        NodeValue::String(s) => out.push_str(&yaml_string(s)),
    }
    out
}

/// A string as a YAML scalar: plain when that reads back as the same string (in YAML 1.2
/// and, to be kind to other tools, YAML 1.1), double-quoted with escapes otherwise.
pub fn yaml_string(s: &str) -> String {
    if plain_is_safe(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if needs_escape(c) => {
                let n = u32::from(c);
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    let n = u32::from(c);
    n < 0x20 || (0x7f..=0x9f).contains(&n) || n == 0xfeff || n == 0xfffe || n == 0xffff
}

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if !matches!(resolve_plain(s), NodeValue::String(_)) {
        return false;
    }
    // YAML 1.1 booleans and nulls, merge key, special floats.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "<<" | ".inf" | "+.inf" | "-.inf" | ".nan" | "null" | "~"
    ) {
        return false;
    }
    // Anything number-like (YAML 1.1 ints with `_`, sexagesimal, dates, binary).
    if (first.is_ascii_digit() || matches!(first, '+' | '-' | '.'))
        && s.chars().all(|c| c.is_ascii_hexdigit() || "xXoO_:.+-".contains(c))
    {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return false;
    }
    if s.ends_with(|c: char| c.is_whitespace() || c == ':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains(":\t") {
        return false;
    }
    !s.chars().any(|c| c.is_control() || needs_escape(c) || matches!(c, '\u{2028}' | '\u{2029}' | '\t'))
}

fn is_block(node: &Node) -> bool {
    match &node.value {
        NodeValue::Map(m) => !m.is_empty(),
        NodeValue::Seq(s) => !s.is_empty(),
        _ => false,
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_entry(out: &mut String, key: &str, value: &Node, indent: usize) {
    push_indent(out, indent);
    out.push_str(&yaml_string(key));
    out.push(':');
    if is_block(value) {
        out.push('\n');
        out.push_str(&node_to_yaml(value, indent + 2));
    } else {
        out.push(' ');
        out.push_str(&node_to_yaml(value, 0));
        out.push('\n');
    }
}

fn is_project_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn unknown_key(errs: &mut Vec<Diagnostic>, span: &Span, what: &str, name: &str, known: &[&str]) {
    let help =
        did_you_mean(name, known.iter().copied()).unwrap_or_else(|| format!("expected one of: {}", known.join(", ")));
    errs.push(Diagnostic::at(span, format!("unknown {what} `{name}`")).with_help(help));
}

fn top_mapping<'n>(node: &'n Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<&'n Mapping> {
    match &node.value {
        NodeValue::Map(m) => Some(m),
        NodeValue::Null => {
            errs.push(Diagnostic::at(&node.span, format!("{what} is empty")));
            None
        }
        _ => {
            errs.push(Diagnostic::at(&node.span, format!("{what} must be a mapping, found {}", node.kind())));
            None
        }
    }
}

fn string_value(node: &Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<String> {
    match node.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            errs.push(Diagnostic::at(&node.span, format!("{what} must be a string, found {}", node.kind())));
            None
        }
    }
}

fn settings_from_map(m: &Mapping, errs: &mut Vec<Diagnostic>) -> StackSettings {
    let mut s = StackSettings::default();
    for (k, v) in m.iter() {
        let what = format!("`{}`", k.name);
        match k.name.as_str() {
            "region" => s.region = string_value(v, &what, errs),
            "backend" => s.backend = string_value(v, &what, errs),
            "secretsprovider" => s.secretsprovider = string_value(v, &what, errs),
            "encryptionsalt" => s.encryptionsalt = string_value(v, &what, errs),
            "parameters" | "config" => {
                let target = if k.name == "parameters" { &mut s.parameters } else { &mut s.config };
                match &v.value {
                    NodeValue::Null => {}
                    NodeValue::Map(pm) => {
                        for (pk, pv) in pm.iter() {
                            target.insert(pk.name.clone(), pv.clone());
                        }
                    }
                    _ => errs.push(Diagnostic::at(&v.span, format!("{what} must be a mapping, found {}", v.kind()))),
                }
            }
            "tags" => match &v.value {
                NodeValue::Null => {}
                NodeValue::Map(tm) => {
                    for (tk, tv) in tm.iter() {
                        match tv.scalar_string() {
                            Some(text) => {
                                s.tags.insert(tk.name.clone(), text);
                            }
                            None => errs.push(Diagnostic::at(
                                &tv.span,
                                format!("tag `{}` must have a string value, found {}", tk.name, tv.kind()),
                            )),
                        }
                    }
                }
                _ => errs.push(Diagnostic::at(&v.span, format!("{what} must be a mapping, found {}", v.kind()))),
            },
            other => unknown_key(errs, &k.span, "stack setting", other, STACK_KEYS),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::ast::Key;
    use crate::template::parse::strip_spans;
    use crate::value::Number;

    fn sp() -> Span {
        Span::file("-")
    }
    fn s(v: &str) -> Node {
        Node::new(NodeValue::String(v.to_string()), sp())
    }
    fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::new(
            NodeValue::Map(Mapping {
                entries: entries.into_iter().map(|(k, v)| (Key { name: k.to_string(), span: sp() }, v)).collect(),
            }),
            sp(),
        )
    }
    fn seq(items: Vec<Node>) -> Node {
        Node::new(NodeValue::Seq(items), sp())
    }

    fn stripped(s: &StackSettings) -> StackSettings {
        StackSettings {
            parameters: s.parameters.iter().map(|(k, v)| (k.clone(), strip_spans(v))).collect(),
            config: s.config.iter().map(|(k, v)| (k.clone(), strip_spans(v))).collect(),
            ..s.clone()
        }
    }

    fn round_trip(settings: &StackSettings) {
        let text = render_stack(settings);
        let back = match parse_stack(&text, "stacks/x.yaml") {
            Ok(b) => b,
            Err(e) => panic!("re-parse failed: {e}\n---\n{text}"),
        };
        assert_eq!(stripped(&back), stripped(settings), "text:\n{text}");
    }

    #[test]
    fn a_rewrite_keeps_the_comments_the_file_starts_with() {
        let text = "# Production: strict.\n#   see README.\n\n# More.\n\nparameters:\n  # gone\n  A: 1\n";
        assert_eq!(leading_comments(text), "# Production: strict.\n#   see README.\n\n# More.\n");
        assert_eq!(leading_comments("parameters: {}\n# after\n"), "");
        assert_eq!(leading_comments("# only a note\n"), "# only a note\n");
        assert_eq!(leading_comments(""), "");
    }

    #[test]
    fn parses_a_project_file() {
        let p = parse_project(
            "name: pipeweave\nbackend: file://.cairn\ndefaults:\n  region: us-east-1\n  tags: {Application: pipeweave}\n",
            "Cairn.yaml",
        )
        .unwrap();
        assert_eq!(p.name, "pipeweave");
        assert_eq!((p.name_span.line, p.name_span.col), (1, 7));
        assert_eq!(p.template, "template.yaml");
        assert_eq!(p.backend.as_deref(), Some("file://.cairn"));
        assert_eq!(p.defaults.region.as_deref(), Some("us-east-1"));
        assert_eq!(p.defaults.tags["Application"], "pipeweave");
        let p = parse_project("name: a.b_c-1\ntemplate: infra/main.json\n", "Cairn.yaml").unwrap();
        assert_eq!(p.template, "infra/main.json");
    }

    #[test]
    fn project_file_errors() {
        let e = parse_project("nme: x\ntemplate: 3\ndefaults: {regon: x}\n", "Cairn.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cairn.yaml:1:1: unknown project setting `nme` (did you mean `name`?)\n\
             Cairn.yaml:2:11: `template` must be a string, found a number\n\
             Cairn.yaml:3:12: unknown stack setting `regon` (did you mean `region`?)\n\
             Cairn.yaml:1:1: the project file has no `name` (add e.g. `name: my-project`)"
        );
        let e =
            parse_project("name: p\nbackend: file://a\ndefaults:\n  backend: file://b\n", "Cairn.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cairn.yaml:4:3: `backend` is not a default: set it at the top of Cairn.yaml (move `backend:` out of `defaults:`; a stack file may set its own)"
        );
        let e = parse_project("name: my project\n", "Cairn.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cairn.yaml:1:7: project name `my project` may only contain letters, digits, `_`, `.` and `-`"
        );
        assert_eq!(
            parse_project("", "Cairn.yaml").unwrap_err().to_string(),
            "Cairn.yaml:1:1: the project file is empty"
        );
    }

    #[test]
    fn parses_a_stack_file() {
        let text = "region: us-east-1\nparameters:\n  Environment: production\n  GlacierDays: 90\n  Subnets: [a, b]\n\
                    tags:\n  Environment: production\n  Cost: 12\nsecretsprovider: passphrase\nencryptionsalt: v1:abc\n\
                    config:\n  feature: {enabled: true}\nbackend: s3://team-state/pw?region=us-east-1\n";
        let st = parse_stack(text, "stacks/production.yaml").unwrap();
        assert_eq!(st.region.as_deref(), Some("us-east-1"));
        assert_eq!(st.parameters["Environment"].as_str(), Some("production"));
        assert_eq!(st.parameters["GlacierDays"].value, NodeValue::Number(Number::from(90)));
        let span = &st.parameters["GlacierDays"].span;
        assert_eq!(span.to_string(), "stacks/production.yaml:4:16");
        assert_eq!(st.tags["Cost"], "12");
        assert_eq!(st.secretsprovider.as_deref(), Some("passphrase"));
        assert_eq!(st.encryptionsalt.as_deref(), Some("v1:abc"));
        assert_eq!(st.backend.as_deref(), Some("s3://team-state/pw?region=us-east-1"));
        assert!(st.config["feature"].as_map().is_some());
        assert!(parse_stack("", "s.yaml").unwrap().is_empty());
        assert!(parse_stack("{}\n", "s.yaml").unwrap().is_empty());
    }

    #[test]
    fn stack_file_errors() {
        let e = parse_stack(
            "regoin: x\nparameters: [a]\ntags:\n  A: [1]\nregion: {a: b}\nbackend: [s3]\nbakend: x\n",
            "stacks/dev.yaml",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "stacks/dev.yaml:1:1: unknown stack setting `regoin` (did you mean `region`?)\n\
             stacks/dev.yaml:2:13: `parameters` must be a mapping, found a list\n\
             stacks/dev.yaml:4:6: tag `A` must have a string value, found a list\n\
             stacks/dev.yaml:5:9: `region` must be a string, found a mapping\n\
             stacks/dev.yaml:6:10: `backend` must be a string, found a list\n\
             stacks/dev.yaml:7:1: unknown stack setting `bakend` (did you mean `backend`?)"
        );
        assert_eq!(
            parse_stack("- a\n", "stacks/dev.yaml").unwrap_err().to_string(),
            "stacks/dev.yaml:1:1: a stack file must be a mapping, found a list"
        );
    }

    #[test]
    fn stack_overrides_defaults_key_by_key() {
        let defaults = parse_stack(
            "region: us-east-1\nbackend: file://shared\nsecretsprovider: passphrase\nparameters: {A: 1, B: 2}\ntags: {App: x, Env: none}\n",
            "Cairn.yaml",
        )
        .unwrap();
        let stack = parse_stack("region: eu-west-1\nparameters: {B: 3, C: 4}\ntags: {Env: prod}\n", "s.yaml").unwrap();
        let m = stack.merged_over(&defaults);
        assert_eq!(m.region.as_deref(), Some("eu-west-1"));
        assert_eq!(m.secretsprovider.as_deref(), Some("passphrase"));
        assert_eq!(m.backend.as_deref(), Some("file://shared"));
        let own = parse_stack("backend: s3://b/p?region=eu-west-1\n", "s.yaml").unwrap();
        assert_eq!(own.merged_over(&defaults).backend.as_deref(), Some("s3://b/p?region=eu-west-1"));
        let params: Vec<(&str, String)> =
            m.parameters.iter().map(|(k, v)| (k.as_str(), v.scalar_string().unwrap())).collect();
        assert_eq!(params, [("A", "1".to_string()), ("B", "3".to_string()), ("C", "4".to_string())]);
        assert_eq!(&*m.parameters["B"].span.file, "s.yaml");
        let tags: Vec<(&str, &str)> = m.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tags, [("App", "x"), ("Env", "prod")]);
        let m = StackSettings::default().merged_over(&defaults);
        assert_eq!(m.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn renders_in_a_fixed_order() {
        let mut st = StackSettings {
            region: Some("us-east-1".into()),
            backend: Some("s3://team-state/pipeweave?region=us-east-1".into()),
            secretsprovider: Some("passphrase".into()),
            encryptionsalt: Some("v1:abc=".into()),
            ..Default::default()
        };
        st.config.insert(
            "z".into(),
            map(vec![
                ("list", seq(vec![s("a"), map(vec![("k", s("v")), ("num", s("1"))]), seq(vec![s("x")])])),
                ("empty", seq(vec![])),
            ]),
        );
        st.tags.insert("Environment".into(), "production".into());
        st.tags.insert("cairn:owner".into(), "true".into());
        st.parameters.insert("GlacierDays".into(), Node::new(NodeValue::Number(Number::from(90)), sp()));
        st.parameters.insert("Sub".into(), map(vec![("Fn::Sub", s("${AWS::Region}-x"))]));
        assert_eq!(
            render_stack(&st),
            "region: us-east-1
backend: s3://team-state/pipeweave?region=us-east-1
secretsprovider: passphrase
encryptionsalt: v1:abc=
parameters:
  GlacierDays: 90
  Sub:
    Fn::Sub: ${AWS::Region}-x
tags:
  Environment: production
  cairn:owner: \"true\"
config:
  z:
    list:
      - a
      - k: v
        num: \"1\"
      - - x
    empty: []
"
        );
        round_trip(&st);
        assert_eq!(render_stack(&StackSettings::default()), "{}\n");
        round_trip(&StackSettings::default());
    }

    const TRICKY: &[&str] = &[
        "true",
        "True",
        "FALSE",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "n",
        "null",
        "Null",
        "~",
        "",
        " ",
        "  lead",
        "trail ",
        "0123",
        "123",
        "-1",
        "+1",
        "1.5",
        "1e3",
        ".5",
        ".inf",
        "-.inf",
        ".nan",
        "0x1F",
        "0o17",
        "1_000",
        "12:30",
        "2010-09-09",
        "a: b",
        "a:b",
        "a:",
        ":a",
        "# x",
        "a #b",
        "a#b",
        "- a",
        "-",
        "?",
        "? x",
        "[a]",
        "{a}",
        "a, b",
        "&anchor",
        "*alias",
        "!Ref x",
        "|",
        ">",
        "'q'",
        "\"dq\"",
        "%TAG",
        "@at",
        "`tick`",
        "multi\nline",
        "\ttab",
        "cr\r\nlf",
        "back\\slash",
        "nul\0",
        "bell\u{7}",
        "del\u{7f}",
        "c1\u{85}x",
        "ls\u{2028}ps\u{2029}",
        "bom\u{feff}",
        "ünïcödé",
        "日本語",
        "emoji 🎉",
        "<<",
        "10.0.0.0/16",
        "arn:aws:s3:::bucket/*",
        "${AWS::Region}",
        "a\"b'c",
        "---",
        "...",
        "key: value # comment",
    ];

    #[test]
    fn tricky_strings_round_trip() {
        for t in TRICKY {
            let mut st = StackSettings { region: Some((*t).to_string()), ..Default::default() };
            st.encryptionsalt = Some(format!("{t}{t}"));
            st.backend = Some(format!("{t}/x"));
            st.parameters.insert((*t).to_string(), s(t));
            st.tags.insert((*t).to_string(), (*t).to_string());
            st.config.insert("k".into(), seq(vec![s(t), map(vec![(t, s(t))])]));
            round_trip(&st);
        }
    }

    #[test]
    fn quotes_only_when_needed() {
        for (input, want) in [
            ("plain", "plain"),
            ("us-east-1", "us-east-1"),
            ("true", "\"true\""),
            ("0123", "\"0123\""),
            ("a: b", "\"a: b\""),
            ("# x", "\"# x\""),
            ("", "\"\""),
            ("yes", "\"yes\""),
            ("multi\nline", "\"multi\\nline\""),
            ("tab\there", "\"tab\\there\""),
            ("bell\u{7}", "\"bell\\x07\""),
        ] {
            assert_eq!(yaml_string(input), want, "{input:?}");
        }
    }

    #[test]
    fn scalars_round_trip() {
        let mut st = StackSettings::default();
        for (i, v) in [
            NodeValue::Null,
            NodeValue::Bool(true),
            NodeValue::Bool(false),
            NodeValue::Number(Number::from(-5)),
            NodeValue::Number(Number::from(u64::MAX)),
            NodeValue::Number(Number::from_f64(1.5).unwrap()),
            NodeValue::Number(Number::from_f64(1e300).unwrap()),
            NodeValue::Number(Number::from_f64(2.0).unwrap()),
            NodeValue::Number(Number::from_f64(-1.25e-7).unwrap()),
        ]
        .into_iter()
        .enumerate()
        {
            st.parameters.insert(format!("P{i}"), Node::new(v, sp()));
        }
        round_trip(&st);
    }

    proptest::proptest! {
        #[test]
        fn any_string_round_trips(a in "\\PC*", b in ".*", c in proptest::collection::vec(proptest::char::any(), 0..12)) {
            let c: String = c.into_iter().collect();
            let mut st = StackSettings {
                region: Some(a.clone()),
                backend: Some(b.clone()),
                secretsprovider: Some(c.clone()),
                ..Default::default()
            };
            st.parameters.insert(b.clone(), s(&c));
            st.tags.insert(c.clone(), b.clone());
            st.config.insert(a.clone(), seq(vec![s(&b), map(vec![(c.as_str(), s(&a))])]));
            round_trip(&st);
        }
    }
}
