//! The template's sections, read from the [`Node`] tree.
//!
//! Building a [`Template`] checks structure only (known sections, the right shapes, known
//! resource attributes such as `DeletionPolicy`); references between parts are checked by
//! [`crate::graph`] and values by [`crate::template::eval`].

use indexmap::IndexMap;

use crate::diag::Span;
use crate::template::ast::Node;

/// A whole template (the root template or a component).
#[derive(Clone, Debug)]
pub struct Template {
    /// The file as shown to the user.
    pub file: String,
    pub format_version: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Node>,
    pub parameters: IndexMap<String, ParameterDef>,
    pub mappings: IndexMap<String, MappingDef>,
    pub conditions: IndexMap<String, ConditionDef>,
    pub resources: IndexMap<String, ResourceDef>,
    pub outputs: IndexMap<String, OutputDef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Number,
    /// `List<Number>`
    NumberList,
    CommaDelimitedList,
    /// An AWS-specific type (`AWS::EC2::VPC::Id`, `List<AWS::EC2::Subnet::Id>`,
    /// `AWS::SSM::Parameter::Value<String>`): validated as a string, or a list when the
    /// name starts with `List<`. The original name is kept for messages.
    Aws {
        name: String,
        list: bool,
    },
}

#[derive(Clone, Debug)]
pub struct ParameterDef {
    pub name: String,
    /// The span of the parameter's key.
    pub span: Span,
    pub ty: ParamType,
    pub default: Option<Node>,
    pub allowed_values: Option<Vec<(String, Span)>>,
    pub allowed_pattern: Option<(String, Span)>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub no_echo: bool,
    pub description: Option<String>,
    pub constraint_description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct MappingDef {
    pub name: String,
    pub span: Span,
    /// top-level key -> second-level key -> value node
    pub entries: IndexMap<String, IndexMap<String, Node>>,
}

#[derive(Clone, Debug)]
pub struct ConditionDef {
    pub name: String,
    pub span: Span,
    pub expr: Node,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
    /// Read as `Retain`: cairn never deletes data it was told to keep.
    RetainExceptOnCreate,
    /// Delete after a final snapshot, for a type that can take one
    /// ([`crate::provider::TypeSchema::final_snapshot`]; the graph refuses it for others).
    Snapshot,
}

impl DeletionPolicy {
    /// Whether a delete under this policy only forgets the resource.
    pub fn keeps(self) -> bool {
        matches!(self, DeletionPolicy::Retain | DeletionPolicy::RetainExceptOnCreate)
    }

    /// The policy a template names, if any.
    pub fn from_name(s: &str) -> Option<DeletionPolicy> {
        Some(match s {
            "Delete" => DeletionPolicy::Delete,
            "Retain" => DeletionPolicy::Retain,
            "RetainExceptOnCreate" => DeletionPolicy::RetainExceptOnCreate,
            "Snapshot" => DeletionPolicy::Snapshot,
            _ => return None,
        })
    }
}

/// A `DeletionPolicy` or `UpdateReplacePolicy` as the template gives it.
#[derive(Clone, Debug, Default)]
pub enum PolicyAttr {
    /// Not given: the type's default (`Snapshot` for a type that takes final snapshots,
    /// as in CloudFormation; otherwise `Delete`).
    #[default]
    Default,
    /// A policy name.
    Fixed(DeletionPolicy, Span),
    /// `Fn::If` or `Ref` to a parameter, which the graph resolves before anything runs
    /// (CloudFormation needs its `AWS::LanguageExtensions` transform for this; cairn
    /// does not).
    Expr(Node),
}

impl PolicyAttr {
    /// The policy, when the template names it directly.
    pub fn fixed(&self) -> Option<DeletionPolicy> {
        match self {
            PolicyAttr::Fixed(p, _) => Some(*p),
            _ => None,
        }
    }
}

/// What a resource's `Type` names.
#[derive(Clone, Debug)]
pub enum ResourceKind {
    /// A registered type such as `AWS::S3::Bucket` or `Cairn::Random::String`.
    Type(String),
    /// `Type: ./components/x.yaml`: a template used as a component, loaded and parsed.
    Component { path: String, template: Box<Template> },
}

#[derive(Clone, Debug)]
pub struct ResourceDef {
    pub logical_id: String,
    /// The span of the resource's key.
    pub span: Span,
    pub kind: ResourceKind,
    pub type_span: Span,
    /// The `Properties` mapping, if any.
    pub properties: Option<Node>,
    pub depends_on: Vec<(String, Span)>,
    pub condition: Option<(String, Span)>,
    pub deletion_policy: PolicyAttr,
    pub update_replace_policy: PolicyAttr,
    pub metadata: Option<Node>,
    /// cairn's extension: `Region:` deploys the resource to another region.
    pub region: Option<Node>,
}

#[derive(Clone, Debug)]
pub struct OutputDef {
    pub name: String,
    pub span: Span,
    pub value: Node,
    pub description: Option<String>,
    pub condition: Option<(String, Span)>,
    pub export_name: Option<Node>,
}

impl ParameterDef {
    /// A parameter of type `ty` with no default and no constraints.
    pub fn new(name: &str, span: Span, ty: ParamType) -> ParameterDef {
        ParameterDef {
            name: name.to_string(),
            span,
            ty,
            default: None,
            allowed_values: None,
            allowed_pattern: None,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
            no_echo: false,
            description: None,
            constraint_description: None,
        }
    }
}

impl Template {
    pub fn resource_type_name(&self, logical_id: &str) -> Option<&str> {
        match &self.resources.get(logical_id)?.kind {
            ResourceKind::Type(t) => Some(t),
            ResourceKind::Component { .. } => None,
        }
    }

    /// The root parameter that sets `property` of the resource `full_id` (`East.Cluster`
    /// in component `East`) through plain `Ref`s: the property is `!Ref P`, and each
    /// enclosing component is given its parameter as `!Ref` of one of its parent's, up to
    /// the root. `None` when any step is another expression, or a component parameter left
    /// to its default. What a user changes with `cairn config set` to change the property.
    pub fn parameter_behind(&self, full_id: &str, property: &str) -> Option<String> {
        // The chain of templates down to the resource, and each component's definition.
        let mut path: Vec<(&Template, &ResourceDef)> = Vec::new();
        let mut t = self;
        let mut parts = full_id.split('.').peekable();
        while let Some(id) = parts.next() {
            let def = t.resources.get(id)?;
            path.push((t, def));
            if parts.peek().is_some() {
                let ResourceKind::Component { template, .. } = &def.kind else { return None };
                t = template;
            }
        }
        let ref_of = |node: Option<&Node>| -> Option<String> {
            match node?.as_intrinsic()? {
                ("Ref", _, arg) => arg.as_str().map(str::to_string),
                _ => None,
            }
        };
        let (leaf_template, leaf) = path.pop()?;
        let mut name = ref_of(leaf.properties.as_ref()?.as_map()?.get(property))?;
        let mut scope = leaf_template;
        scope.parameters.get(&name)?;
        // Up through the components: their instance gives the parameter as a `Ref`.
        while let Some((parent, component)) = path.pop() {
            name = ref_of(component.properties.as_ref()?.as_map()?.get(&name))?;
            scope = parent;
            scope.parameters.get(&name)?;
        }
        Some(name)
    }
}

// ---------------------------------------------------------------------------------------
// Building a `Template` from its `Node` tree.

use std::collections::HashMap;

use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::template::ast::{Mapping, NodeValue};
use crate::template::parse::parse_document;
use crate::template::SourceLoader;

const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Rules",
];

const PARAMETER_ATTRIBUTES: &[&str] = &[
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "NoEcho",
    "Description",
    "ConstraintDescription",
];

const PARAMETER_TYPES: &[&str] = &["String", "Number", "List<Number>", "CommaDelimitedList"];

const RESOURCE_ATTRIBUTES: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "Region",
    "CreationPolicy",
    "UpdatePolicy",
];

const OUTPUT_ATTRIBUTES: &[&str] = &["Value", "Description", "Condition", "Export"];

const POLICIES: &[&str] = &["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"];

impl Template {
    /// Builds a template from its parsed tree. `file` is the template's path relative to
    /// the project directory (with `/`): spans name it, and component paths (`Type:
    /// ./components/x.yaml`) resolve relative to its directory, read through `loader`.
    /// Reports every structural problem found, not just the first.
    pub fn from_node(node: &Node, file: &str, loader: &dyn SourceLoader) -> Result<Template, Diagnostics> {
        let mut b = TemplateBuilder { loader, chain: vec![file.to_string()], cache: HashMap::new() };
        b.build(node, file)
    }
}

/// Reads, parses and builds the template at `path` (relative to the project directory,
/// with `/`), with its components.
pub fn load_template(loader: &dyn SourceLoader, path: &str) -> Result<Template, Diagnostics> {
    let text =
        loader.read(path).map_err(|e| Diagnostic::new(format!("cannot read the template `{path}`: {e}"), None))?;
    let node = parse_document(&text, path)?;
    Template::from_node(&node, path, loader)
}

/// Whether a resource `Type` names a component template rather than a registered type.
pub fn is_component_type(ty: &str) -> bool {
    ty.starts_with("./")
        || ty.starts_with("../")
        || ty.ends_with(".yaml")
        || ty.ends_with(".yml")
        || ty.ends_with(".json")
}

/// The path of `relative` as seen from the file `including` (both relative to the project
/// directory, `/`-separated), with `.` and `..` segments resolved. Pure string work.
pub fn resolve_relative_path(including: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let absolute = relative.starts_with('/');
    if !absolute {
        if let Some((dir, _)) = including.rsplit_once('/') {
            parts.extend(dir.split('/'));
        }
    }
    for seg in relative.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(p) if *p != ".." && !p.is_empty()) {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    parts.retain(|p| !p.is_empty() && *p != ".");
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

fn is_alphanumeric_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn unknown_key(errs: &mut Vec<Diagnostic>, span: &Span, what: &str, name: &str, known: &[&str]) {
    let mut d = Diagnostic::at(span, format!("unknown {what} `{name}`"));
    if let Some(help) = did_you_mean(name, known.iter().copied()) {
        d = d.with_help(help);
    } else {
        d = d.with_help(format!("expected one of: {}", known.join(", ")));
    }
    errs.push(d);
}

fn expect_map<'n>(node: &'n Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<&'n Mapping> {
    match &node.value {
        NodeValue::Map(m) => Some(m),
        _ => {
            errs.push(Diagnostic::at(&node.span, format!("{what} must be a mapping, found {}", node.kind())));
            None
        }
    }
}

/// A string-valued attribute (numbers and booleans are read as written, as CloudFormation
/// does for descriptions).
fn scalar_text(node: &Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<String> {
    match node.scalar_string() {
        Some(s) => Some(s),
        None => {
            errs.push(Diagnostic::at(&node.span, format!("{what} must be a string, found {}", node.kind())));
            None
        }
    }
}

fn string_only(node: &Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<(String, Span)> {
    match node.as_str() {
        Some(s) => Some((s.to_string(), node.span.clone())),
        None => {
            errs.push(Diagnostic::at(&node.span, format!("{what} must be a string, found {}", node.kind())));
            None
        }
    }
}

fn unsigned(node: &Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<u64> {
    let v = match &node.value {
        NodeValue::Number(n) => n.as_u64(),
        NodeValue::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    if v.is_none() {
        errs.push(Diagnostic::at(&node.span, format!("{what} must be a non-negative integer")));
    }
    v
}

fn float(node: &Node, what: &str, errs: &mut Vec<Diagnostic>) -> Option<f64> {
    let v = match &node.value {
        NodeValue::Number(n) => n.as_f64(),
        NodeValue::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    };
    if v.is_none() {
        errs.push(Diagnostic::at(&node.span, format!("{what} must be a number")));
    }
    v
}

fn parse_param_type(s: &str) -> Option<ParamType> {
    Some(match s {
        "String" => ParamType::String,
        "Number" => ParamType::Number,
        "List<Number>" => ParamType::NumberList,
        "CommaDelimitedList" => ParamType::CommaDelimitedList,
        _ if s.starts_with("List<AWS::") && s.ends_with('>') => ParamType::Aws { name: s.to_string(), list: true },
        _ if s.starts_with("AWS::SSM::Parameter::Value<") && s.ends_with('>') => {
            let inner = &s["AWS::SSM::Parameter::Value<".len()..s.len() - 1];
            let list = inner.starts_with("List<") || inner == "CommaDelimitedList";
            ParamType::Aws { name: s.to_string(), list }
        }
        _ if s.starts_with("AWS::") && s.len() > "AWS::".len() => ParamType::Aws { name: s.to_string(), list: false },
        _ => return None,
    })
}

fn parse_policy(node: &Node, what: &str, errs: &mut Vec<Diagnostic>) -> PolicyAttr {
    if let Some((name, _, _)) = node.as_intrinsic() {
        if matches!(name, "Fn::If" | "Ref") {
            return PolicyAttr::Expr(node.clone());
        }
    }
    let Some((s, span)) = string_only(node, what, errs) else { return PolicyAttr::Default };
    match DeletionPolicy::from_name(&s) {
        Some(p) => PolicyAttr::Fixed(p, span),
        None => {
            errs.push(unknown_policy(&s, what, &span));
            PolicyAttr::Default
        }
    }
}

/// "unknown DeletionPolicy `X`", with the names there are.
pub(crate) fn unknown_policy(s: &str, what: &str, span: &Span) -> Diagnostic {
    Diagnostic::at(span, format!("unknown {what} `{s}`")).with_help(
        did_you_mean(s, POLICIES.iter().copied())
            .unwrap_or_else(|| format!("expected one of: {}", POLICIES.join(", "))),
    )
}

struct TemplateBuilder<'l> {
    loader: &'l dyn SourceLoader,
    /// The templates being built, outermost first (for cycle detection).
    chain: Vec<String>,
    /// Components already built; `None` when building failed (errors already reported).
    cache: HashMap<String, Option<Template>>,
}

impl TemplateBuilder<'_> {
    fn build(&mut self, node: &Node, file: &str) -> Result<Template, Diagnostics> {
        let mut errs = Vec::new();
        let mut t = Template {
            file: file.to_string(),
            format_version: None,
            description: None,
            metadata: None,
            parameters: IndexMap::new(),
            mappings: IndexMap::new(),
            conditions: IndexMap::new(),
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
        };
        let top = match &node.value {
            NodeValue::Map(m) => m,
            NodeValue::Null => {
                return Err(Diagnostic::at(
                    &node.span,
                    "the template is empty: it needs at least a `Resources` section",
                )
                .into())
            }
            _ => {
                return Err(Diagnostic::at(
                    &node.span,
                    format!("a template must be a mapping of sections, found {}", node.kind()),
                )
                .into())
            }
        };
        for (key, value) in top.iter() {
            match key.name.as_str() {
                "AWSTemplateFormatVersion" => {
                    if let Some(v) = scalar_text(value, "`AWSTemplateFormatVersion`", &mut errs) {
                        if v == "2010-09-09" {
                            t.format_version = Some(v);
                        } else {
                            errs.push(Diagnostic::at(
                                &value.span,
                                format!(
                                    "unsupported `AWSTemplateFormatVersion` `{v}`: the only version is `2010-09-09`"
                                ),
                            ));
                        }
                    }
                }
                "Description" => t.description = scalar_text(value, "`Description`", &mut errs),
                "Metadata" => t.metadata = Some(value.clone()),
                "Parameters" => self.parameters(value, &mut t, &mut errs),
                "Mappings" => mappings(value, &mut t, &mut errs),
                "Conditions" => {
                    if let Some(m) = expect_map(value, "`Conditions`", &mut errs) {
                        for (k, v) in m.iter() {
                            t.conditions.insert(
                                k.name.clone(),
                                ConditionDef { name: k.name.clone(), span: k.span.clone(), expr: v.clone() },
                            );
                        }
                    }
                }
                "Transform" => errs.push(
                    Diagnostic::at(&key.span, "`Transform` is not supported")
                        .with_help("cairn runs templates directly; expand macros such as AWS::Serverless beforehand"),
                ),
                "Rules" => errs.push(Diagnostic::at(&key.span, "`Rules` is not supported by cairn")),
                "Resources" => self.resources(key, value, &mut t, &mut errs),
                "Outputs" => outputs(value, &mut t, &mut errs),
                other => unknown_key(&mut errs, &key.span, "template section", other, SECTIONS),
            }
        }
        if top.get("Resources").is_none() {
            errs.push(Diagnostic::at(&Span::file(file), "the template has no `Resources` section"));
        }
        if errs.is_empty() {
            Ok(t)
        } else {
            Err(Diagnostics(errs))
        }
    }

    fn parameters(&self, value: &Node, t: &mut Template, errs: &mut Vec<Diagnostic>) {
        let Some(m) = expect_map(value, "`Parameters`", errs) else { return };
        for (key, def) in m.iter() {
            if !is_alphanumeric_name(&key.name) {
                errs.push(Diagnostic::at(
                    &key.span,
                    format!("parameter name `{}` must be alphanumeric (A-Z, a-z, 0-9)", key.name),
                ));
            }
            let what = format!("parameter `{}`", key.name);
            let Some(attrs) = expect_map(def, &what, errs) else { continue };
            let mut p = ParameterDef::new(&key.name, key.span.clone(), ParamType::String);
            let mut ty_ok = false;
            for (ak, av) in attrs.iter() {
                let awhat = format!("`{}` of {what}", ak.name);
                match ak.name.as_str() {
                    "Type" => {
                        if let Some((s, span)) = string_only(av, &awhat, errs) {
                            match parse_param_type(&s) {
                                Some(ty) => {
                                    p.ty = ty;
                                    ty_ok = true;
                                }
                                None => {
                                    let help = did_you_mean(&s, PARAMETER_TYPES.iter().copied()).unwrap_or_else(|| {
                                        "expected String, Number, List<Number>, CommaDelimitedList or an AWS-specific type such as AWS::EC2::VPC::Id".to_string()
                                    });
                                    errs.push(
                                        Diagnostic::at(&span, format!("unknown parameter type `{s}`")).with_help(help),
                                    );
                                    ty_ok = true; // reported
                                }
                            }
                        } else {
                            ty_ok = true;
                        }
                    }
                    "Default" => p.default = Some(av.clone()),
                    "AllowedValues" => match av.as_seq() {
                        Some(items) => {
                            let mut vals = Vec::new();
                            for item in items {
                                match item.scalar_string() {
                                    Some(s) => vals.push((s, item.span.clone())),
                                    None => errs.push(Diagnostic::at(
                                        &item.span,
                                        format!("{awhat} must list plain values, found {}", item.kind()),
                                    )),
                                }
                            }
                            p.allowed_values = Some(vals);
                        }
                        None => {
                            errs.push(Diagnostic::at(&av.span, format!("{awhat} must be a list, found {}", av.kind())))
                        }
                    },
                    "AllowedPattern" => {
                        if let Some(s) = scalar_text(av, &awhat, errs) {
                            p.allowed_pattern = Some((s, av.span.clone()));
                        }
                    }
                    "MinLength" => p.min_length = unsigned(av, &awhat, errs),
                    "MaxLength" => p.max_length = unsigned(av, &awhat, errs),
                    "MinValue" => p.min_value = float(av, &awhat, errs),
                    "MaxValue" => p.max_value = float(av, &awhat, errs),
                    "NoEcho" => match &av.value {
                        NodeValue::Bool(b) => p.no_echo = *b,
                        NodeValue::String(s) if s.eq_ignore_ascii_case("true") => p.no_echo = true,
                        NodeValue::String(s) if s.eq_ignore_ascii_case("false") => p.no_echo = false,
                        _ => errs.push(Diagnostic::at(&av.span, format!("{awhat} must be true or false"))),
                    },
                    "Description" => p.description = scalar_text(av, &awhat, errs),
                    "ConstraintDescription" => p.constraint_description = scalar_text(av, &awhat, errs),
                    other => unknown_key(errs, &ak.span, "parameter attribute", other, PARAMETER_ATTRIBUTES),
                }
            }
            if !ty_ok {
                errs.push(
                    Diagnostic::at(&key.span, format!("{what} has no `Type`")).with_help("add e.g. `Type: String`"),
                );
                continue;
            }
            t.parameters.insert(key.name.clone(), p);
        }
    }

    fn resources(
        &mut self,
        section_key: &crate::template::ast::Key,
        value: &Node,
        t: &mut Template,
        errs: &mut Vec<Diagnostic>,
    ) {
        let Some(m) = expect_map(value, "`Resources`", errs) else { return };
        if m.is_empty() {
            errs.push(Diagnostic::at(
                &section_key.span,
                "`Resources` is empty: a template needs at least one resource",
            ));
            return;
        }
        for (key, def) in m.iter() {
            if !is_alphanumeric_name(&key.name) {
                errs.push(Diagnostic::at(
                    &key.span,
                    format!("logical id `{}` must be alphanumeric (A-Z, a-z, 0-9)", key.name),
                ));
            }
            let what = format!("resource `{}`", key.name);
            let Some(attrs) = expect_map(def, &what, errs) else { continue };
            let mut kind = None;
            let mut type_span = key.span.clone();
            let mut r_properties = None;
            let mut depends_on = Vec::new();
            let mut condition = None;
            let mut deletion_policy = PolicyAttr::Default;
            let mut update_replace_policy = PolicyAttr::Default;
            let mut metadata = None;
            let mut region = None;
            let mut type_seen = false;
            for (ak, av) in attrs.iter() {
                let awhat = format!("`{}` of {what}", ak.name);
                match ak.name.as_str() {
                    "Type" => {
                        type_seen = true;
                        if let Some((s, span)) = string_only(av, &awhat, errs) {
                            type_span = span;
                            kind = self.resource_kind(&s, &type_span, &t.file, errs);
                        }
                    }
                    "Properties" => match &av.value {
                        NodeValue::Map(_) => r_properties = Some(av.clone()),
                        NodeValue::Null => {}
                        _ => errs
                            .push(Diagnostic::at(&av.span, format!("{awhat} must be a mapping, found {}", av.kind()))),
                    },
                    "DependsOn" => match &av.value {
                        NodeValue::String(s) => depends_on.push((s.clone(), av.span.clone())),
                        NodeValue::Seq(items) => {
                            for item in items {
                                if let Some(d) = string_only(item, &format!("each entry of {awhat}"), errs) {
                                    depends_on.push(d);
                                }
                            }
                        }
                        _ => errs.push(Diagnostic::at(
                            &av.span,
                            format!("{awhat} must be a logical id or a list of them, found {}", av.kind()),
                        )),
                    },
                    "Condition" => condition = string_only(av, &awhat, errs),
                    "DeletionPolicy" => {
                        deletion_policy = parse_policy(av, "DeletionPolicy", errs);
                    }
                    "UpdateReplacePolicy" => {
                        update_replace_policy = parse_policy(av, "UpdateReplacePolicy", errs);
                    }
                    "Metadata" => metadata = Some(av.clone()),
                    "Region" => region = Some(av.clone()),
                    "CreationPolicy" | "UpdatePolicy" => {
                        errs.push(Diagnostic::at(&ak.span, format!("`{}` is not supported by cairn", ak.name)))
                    }
                    other => unknown_key(errs, &ak.span, "resource attribute", other, RESOURCE_ATTRIBUTES),
                }
            }
            if !type_seen {
                errs.push(
                    Diagnostic::at(&key.span, format!("{what} has no `Type`"))
                        .with_help("add e.g. `Type: AWS::S3::Bucket`"),
                );
            }
            let Some(kind) = kind else { continue };
            t.resources.insert(
                key.name.clone(),
                ResourceDef {
                    logical_id: key.name.clone(),
                    span: key.span.clone(),
                    kind,
                    type_span,
                    properties: r_properties,
                    depends_on,
                    condition,
                    deletion_policy,
                    update_replace_policy,
                    metadata,
                    region,
                },
            );
        }
    }

    fn resource_kind(&mut self, ty: &str, span: &Span, file: &str, errs: &mut Vec<Diagnostic>) -> Option<ResourceKind> {
        if !is_component_type(ty) {
            if ty.is_empty() {
                errs.push(Diagnostic::at(span, "the resource `Type` is empty"));
                return None;
            }
            return Some(ResourceKind::Type(ty.to_string()));
        }
        let path = resolve_relative_path(file, ty);
        if let Some(pos) = self.chain.iter().position(|p| *p == path) {
            let mut cycle: Vec<&str> = self.chain[pos..].iter().map(String::as_str).collect();
            cycle.push(&path);
            errs.push(Diagnostic::at(span, format!("component cycle: {}", cycle.join(" -> "))));
            return None;
        }
        if let Some(cached) = self.cache.get(&path) {
            return cached
                .as_ref()
                .map(|t| ResourceKind::Component { path: path.clone(), template: Box::new(t.clone()) });
        }
        let text = match self.loader.read(&path) {
            Ok(text) => text,
            Err(e) => {
                let reason =
                    if e.kind() == std::io::ErrorKind::NotFound { "no such file".to_string() } else { e.to_string() };
                errs.push(Diagnostic::at(span, format!("cannot read component `{ty}` (`{path}`): {reason}")));
                return None;
            }
        };
        let built = match parse_document(&text, &path) {
            Ok(node) => {
                self.chain.push(path.clone());
                let r = self.build(&node, &path);
                self.chain.pop();
                r
            }
            Err(d) => Err(d),
        };
        match built {
            Ok(template) => {
                self.cache.insert(path.clone(), Some(template.clone()));
                Some(ResourceKind::Component { path, template: Box::new(template) })
            }
            Err(d) => {
                errs.extend(d.0);
                self.cache.insert(path, None);
                None
            }
        }
    }
}

fn mappings(value: &Node, t: &mut Template, errs: &mut Vec<Diagnostic>) {
    let Some(m) = expect_map(value, "`Mappings`", errs) else { return };
    for (key, def) in m.iter() {
        let what = format!("mapping `{}`", key.name);
        let Some(top) = expect_map(def, &what, errs) else { continue };
        let mut entries = IndexMap::new();
        for (tk, tv) in top.iter() {
            let Some(second) = expect_map(tv, &format!("`{}` in {what}", tk.name), errs) else { continue };
            let inner: IndexMap<String, Node> = second.iter().map(|(k, v)| (k.name.clone(), v.clone())).collect();
            entries.insert(tk.name.clone(), inner);
        }
        t.mappings.insert(key.name.clone(), MappingDef { name: key.name.clone(), span: key.span.clone(), entries });
    }
}

fn outputs(value: &Node, t: &mut Template, errs: &mut Vec<Diagnostic>) {
    let Some(m) = expect_map(value, "`Outputs`", errs) else { return };
    for (key, def) in m.iter() {
        // cairn allows `_` in output names (a documented extension): outputs are read by
        // scripts, where `bucket_name` is the usual spelling.
        if key.name.is_empty() || !key.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            errs.push(Diagnostic::at(
                &key.span,
                format!("output name `{}` must use only letters, digits and `_`", key.name),
            ));
        }
        let what = format!("output `{}`", key.name);
        let Some(attrs) = expect_map(def, &what, errs) else { continue };
        let mut out_value = None;
        let mut description = None;
        let mut condition = None;
        let mut export_name = None;
        for (ak, av) in attrs.iter() {
            let awhat = format!("`{}` of {what}", ak.name);
            match ak.name.as_str() {
                "Value" => out_value = Some(av.clone()),
                "Description" => description = scalar_text(av, &awhat, errs),
                "Condition" => condition = string_only(av, &awhat, errs),
                "Export" => {
                    let Some(em) = expect_map(av, &awhat, errs) else { continue };
                    for (ek, ev) in em.iter() {
                        if ek.name == "Name" {
                            export_name = Some(ev.clone());
                        } else {
                            unknown_key(errs, &ek.span, "export attribute", &ek.name, &["Name"]);
                        }
                    }
                    if em.get("Name").is_none() {
                        errs.push(Diagnostic::at(&av.span, format!("{awhat} has no `Name`")));
                    }
                }
                other => unknown_key(errs, &ak.span, "output attribute", other, OUTPUT_ATTRIBUTES),
            }
        }
        let Some(value) = out_value else {
            errs.push(Diagnostic::at(&key.span, format!("{what} has no `Value`")));
            continue;
        };
        t.outputs.insert(
            key.name.clone(),
            OutputDef { name: key.name.clone(), span: key.span.clone(), value, description, condition, export_name },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::MemoryLoader;

    fn loader(files: &[(&str, &str)]) -> MemoryLoader {
        MemoryLoader(files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect())
    }

    fn load(text: &str) -> Result<Template, Diagnostics> {
        load_template(&loader(&[("template.yaml", text)]), "template.yaml")
    }

    #[test]
    fn the_root_parameter_behind_a_property_is_found_through_components() {
        let files = [
            (
                "template.yaml",
                r#"
Parameters:
  Protect: {Type: String}
  Size: {Type: String}
Resources:
  East:
    Type: ./region.yaml
    Properties:
      Protection: !Ref Protect
      Fixed: !Sub "${Size}"
  Table:
    Type: Test::Thing
    Properties:
      Protected: !Ref Protect
      Other: "true"
"#,
            ),
            (
                "region.yaml",
                r#"
Parameters:
  Protection: {Type: String}
  Fixed: {Type: String}
  Defaulted: {Type: String, Default: "true"}
Resources:
  Cluster:
    Type: Test::Thing
    Properties:
      Protected: !Ref Protection
      ViaSub: !Ref Fixed
      ViaDefault: !Ref Defaulted
      Literal: true
"#,
            ),
        ];
        let t = load_template(&loader(&files), "template.yaml").unwrap();
        assert_eq!(t.parameter_behind("Table", "Protected").as_deref(), Some("Protect"));
        assert_eq!(t.parameter_behind("East.Cluster", "Protected").as_deref(), Some("Protect"));
        assert_eq!(t.parameter_behind("Table", "Other"), None);
        assert_eq!(t.parameter_behind("East.Cluster", "ViaSub"), None, "not a plain Ref in the root");
        assert_eq!(t.parameter_behind("East.Cluster", "ViaDefault"), None, "the component's default");
        assert_eq!(t.parameter_behind("East.Cluster", "Literal"), None);
        assert_eq!(t.parameter_behind("East.Missing", "Protected"), None);
        assert_eq!(t.parameter_behind("Table.Cluster", "Protected"), None, "Table is no component");
    }

    fn errors(text: &str) -> String {
        match load(text) {
            Ok(_) => panic!("expected errors"),
            Err(e) => e.to_string(),
        }
    }

    const FULL: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: A bucket
Metadata: {Owner: team}
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod, 3]
    AllowedPattern: "[a-z]+"
    MinLength: 2
    MaxLength: "10"
    Description: the environment
    ConstraintDescription: lower case
  Days:
    Type: Number
    MinValue: 1
    MaxValue: 3650.5
  Secret:
    Type: String
    NoEcho: "true"
  Vpc:
    Type: AWS::EC2::VPC::Id
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
  Names:
    Type: AWS::SSM::Parameter::Value<List<String>>
  Ports:
    Type: List<Number>
  Cidrs:
    Type: CommaDelimitedList
Mappings:
  RegionMap:
    us-east-1: {Ami: ami-1, Zones: [a, b]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Condition: IsProd
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: RetainExceptOnCreate
    DependsOn: Role
    Metadata: {x: 1}
    Region: eu-west-1
    Properties:
      BucketName: !Sub "${Env}-bucket"
  Role:
    Type: AWS::IAM::Role
    DependsOn: [Bucket2]
    Properties: !If [IsProd, {A: 1}, {A: 2}]
  Bucket2:
    Type: AWS::S3::Bucket
Outputs:
  BucketArn:
    Value: !GetAtt Bucket.Arn
    Description: the arn
    Condition: IsProd
    Export:
      Name: !Sub "${AWS::StackName}-arn"
"#;

    #[test]
    fn reads_every_section() {
        let t = load(FULL).unwrap();
        assert_eq!(t.file, "template.yaml");
        assert_eq!(t.format_version.as_deref(), Some("2010-09-09"));
        assert_eq!(t.description.as_deref(), Some("A bucket"));
        assert!(t.metadata.is_some());
        let env = &t.parameters["Env"];
        assert_eq!(env.ty, ParamType::String);
        assert_eq!(env.default.as_ref().and_then(Node::as_str), Some("dev"));
        let allowed: Vec<&str> = env.allowed_values.as_ref().unwrap().iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(allowed, ["dev", "prod", "3"]);
        assert_eq!(env.allowed_pattern.as_ref().map(|(s, _)| s.as_str()), Some("[a-z]+"));
        assert_eq!((env.min_length, env.max_length), (Some(2), Some(10)));
        assert_eq!(env.description.as_deref(), Some("the environment"));
        assert_eq!(env.constraint_description.as_deref(), Some("lower case"));
        assert_eq!((env.span.line, env.span.col), (5, 3));
        let days = &t.parameters["Days"];
        assert_eq!((days.ty.clone(), days.min_value, days.max_value), (ParamType::Number, Some(1.0), Some(3650.5)));
        assert!(t.parameters["Secret"].no_echo);
        assert!(!env.no_echo);
        assert_eq!(t.parameters["Vpc"].ty, ParamType::Aws { name: "AWS::EC2::VPC::Id".into(), list: false });
        assert_eq!(
            t.parameters["Subnets"].ty,
            ParamType::Aws { name: "List<AWS::EC2::Subnet::Id>".into(), list: true }
        );
        assert_eq!(
            t.parameters["Ami"].ty,
            ParamType::Aws { name: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>".into(), list: false }
        );
        assert!(matches!(t.parameters["Names"].ty, ParamType::Aws { list: true, .. }));
        assert_eq!(t.parameters["Ports"].ty, ParamType::NumberList);
        assert_eq!(t.parameters["Cidrs"].ty, ParamType::CommaDelimitedList);
        assert_eq!(t.mappings["RegionMap"].entries["us-east-1"]["Ami"].as_str(), Some("ami-1"));
        assert_eq!(t.conditions["IsProd"].expr.as_intrinsic().map(|(n, _, _)| n), Some("Fn::Equals"));
        let b = &t.resources["Bucket"];
        assert_eq!(t.resource_type_name("Bucket"), Some("AWS::S3::Bucket"));
        assert_eq!((b.type_span.line, b.type_span.col), (40, 11));
        assert_eq!(b.condition.as_ref().map(|(c, _)| c.as_str()), Some("IsProd"));
        assert_eq!(b.deletion_policy.fixed(), Some(DeletionPolicy::Snapshot));
        assert_eq!(b.update_replace_policy.fixed(), Some(DeletionPolicy::RetainExceptOnCreate));
        assert_eq!(b.depends_on.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["Role"]);
        assert!(b.metadata.is_some());
        assert_eq!(b.region.as_ref().and_then(Node::as_str), Some("eu-west-1"));
        assert!(b.properties.as_ref().unwrap().as_map().unwrap().get("BucketName").is_some());
        let role = &t.resources["Role"];
        assert_eq!(role.depends_on.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["Bucket2"]);
        assert_eq!(role.properties.as_ref().unwrap().as_intrinsic().map(|(n, _, _)| n), Some("Fn::If"));
        assert!(matches!(role.deletion_policy, PolicyAttr::Default));
        assert!(t.resources["Bucket2"].properties.is_none());
        let o = &t.outputs["BucketArn"];
        assert_eq!(o.value.as_intrinsic().map(|(n, _, _)| n), Some("Fn::GetAtt"));
        assert_eq!(o.description.as_deref(), Some("the arn"));
        assert_eq!(o.condition.as_ref().map(|(c, _)| c.as_str()), Some("IsProd"));
        assert_eq!(o.export_name.as_ref().and_then(|n| n.as_intrinsic()).map(|(n, _, _)| n), Some("Fn::Sub"));
    }

    #[test]
    fn reads_a_json_template() {
        let json = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
  "Resources": {
    "Bucket": {
      "Type": "AWS::S3::Bucket",
      "Properties": {"BucketName": {"Fn::Sub": "${Env}-b"}, "Tags": [{"Key": "a", "Value": {"Ref": "Env"}}]}
    }
  },
  "Outputs": {"Name": {"Value": {"Ref": "Bucket"}}}
}"#;
        let t = load_template(&loader(&[("t.json", json)]), "t.json").unwrap();
        assert_eq!(t.parameters["Env"].default.as_ref().and_then(Node::as_str), Some("dev"));
        let props = t.resources["Bucket"].properties.as_ref().unwrap();
        assert_eq!(
            props.as_map().unwrap().get("BucketName").unwrap().as_intrinsic().map(|(n, _, _)| n),
            Some("Fn::Sub")
        );
        assert_eq!((t.resources["Bucket"].span.line, t.resources["Bucket"].span.col), (5, 5));
        assert_eq!(t.outputs["Name"].value.as_intrinsic().map(|(n, _, _)| n), Some("Ref"));
    }

    #[test]
    fn reports_every_structural_error() {
        let text = "AWSTemplateFormatVersion: 2011-01-01
Resorces: {}
Transform: AWS::Serverless-2016-10-31
Rules: {}
Parameters:
  my-param:
    Type: Strin
    Defualt: x
  NoType:
    Default: 1
  Flag:
    Type: String
    NoEcho: maybe
    MinLength: -1
    AllowedValues: [a, [b]]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Keep
    CreationPolicy: {}
    Propertes: {}
    DependsOn: {a: b}
    Properties: [1]
  Untyped:
    Properties: {}
  bad_id:
    Type: AWS::S3::Bucket
Outputs:
  Out:
    Description: no value
  Exp:
    Value: 1
    Export: {Nme: x}
";
        assert_eq!(
            errors(text),
            "template.yaml:1:27: unsupported `AWSTemplateFormatVersion` `2011-01-01`: the only version is `2010-09-09`
template.yaml:2:1: unknown template section `Resorces` (did you mean `Resources`?)
template.yaml:3:1: `Transform` is not supported (cairn runs templates directly; expand macros such as AWS::Serverless beforehand)
template.yaml:4:1: `Rules` is not supported by cairn
template.yaml:6:3: parameter name `my-param` must be alphanumeric (A-Z, a-z, 0-9)
template.yaml:7:11: unknown parameter type `Strin` (did you mean `String`?)
template.yaml:8:5: unknown parameter attribute `Defualt` (did you mean `Default`?)
template.yaml:9:3: parameter `NoType` has no `Type` (add e.g. `Type: String`)
template.yaml:13:13: `NoEcho` of parameter `Flag` must be true or false
template.yaml:14:16: `MinLength` of parameter `Flag` must be a non-negative integer
template.yaml:15:24: `AllowedValues` of parameter `Flag` must list plain values, found a list
template.yaml:19:21: unknown DeletionPolicy `Keep` (expected one of: Delete, Retain, RetainExceptOnCreate, Snapshot)
template.yaml:20:5: `CreationPolicy` is not supported by cairn
template.yaml:21:5: unknown resource attribute `Propertes` (did you mean `Properties`?)
template.yaml:22:16: `DependsOn` of resource `Bucket` must be a logical id or a list of them, found a mapping
template.yaml:23:17: `Properties` of resource `Bucket` must be a mapping, found a list
template.yaml:24:3: resource `Untyped` has no `Type` (add e.g. `Type: AWS::S3::Bucket`)
template.yaml:26:3: logical id `bad_id` must be alphanumeric (A-Z, a-z, 0-9)
template.yaml:29:3: output `Out` has no `Value`
template.yaml:33:14: unknown export attribute `Nme` (did you mean `Name`?)
template.yaml:33:13: `Export` of output `Exp` has no `Name`"
        );
    }

    #[test]
    fn top_level_shape_errors() {
        assert_eq!(errors(""), "template.yaml:1:1: the template is empty: it needs at least a `Resources` section");
        assert_eq!(errors("- a\n"), "template.yaml:1:1: a template must be a mapping of sections, found a list");
        assert_eq!(errors("Description: x\n"), "template.yaml:1:1: the template has no `Resources` section");
        assert_eq!(
            errors("Resources: {}\n"),
            "template.yaml:1:1: `Resources` is empty: a template needs at least one resource"
        );
        assert_eq!(errors("Resources: [a]\n"), "template.yaml:1:12: `Resources` must be a mapping, found a list");
    }

    #[test]
    fn parse_errors_come_through() {
        assert_eq!(
            errors("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n"),
            "template.yaml:3:3: duplicate key `A` (first defined on line 2)"
        );
    }

    #[test]
    fn missing_template_file() {
        let e = load_template(&loader(&[]), "template.yaml").unwrap_err();
        assert_eq!(e.to_string(), "cannot read the template `template.yaml`: template.yaml: no such file");
    }

    #[test]
    fn relative_paths() {
        for (including, rel, want) in [
            ("template.yaml", "./components/a.yaml", "components/a.yaml"),
            ("template.yaml", "components/a.yaml", "components/a.yaml"),
            ("components/a.yaml", "./b.yaml", "components/b.yaml"),
            ("components/a.yaml", "../shared/c.yml", "shared/c.yml"),
            ("components/x/a.yaml", "../../t.json", "t.json"),
            ("template.yaml", "../outside.yaml", "../outside.yaml"),
            ("a/b.yaml", "./../../../x.yaml", "../../x.yaml"),
            ("a/b.yaml", "/abs/x.yaml", "/abs/x.yaml"),
        ] {
            assert_eq!(resolve_relative_path(including, rel), want, "{including} + {rel}");
        }
        assert!(is_component_type("./c.yaml") && is_component_type("../c") && is_component_type("c.json"));
        assert!(!is_component_type("AWS::S3::Bucket"));
    }

    const ROOT: &str = "Resources:\n  Site:\n    Type: ./components/site.yaml\n    Properties: {Name: x}\n";

    #[test]
    fn components_load_recursively() {
        let files = loader(&[
            ("template.yaml", ROOT),
            (
                "components/site.yaml",
                "Parameters:\n  Name: {Type: String}\nResources:\n  Store:\n    Type: ../shared/bucket.yaml\n  Other:\n    Type: ../shared/bucket.yaml\n",
            ),
            ("shared/bucket.yaml", "Resources:\n  B:\n    Type: AWS::S3::Bucket\nOutputs:\n  Arn: {Value: !GetAtt B.Arn}\n"),
        ]);
        let t = load_template(&files, "template.yaml").unwrap();
        let ResourceKind::Component { path, template } = &t.resources["Site"].kind else { panic!("not a component") };
        assert_eq!(path, "components/site.yaml");
        assert_eq!(template.file, "components/site.yaml");
        assert!(template.parameters.contains_key("Name"));
        let ResourceKind::Component { path, template: inner } = &template.resources["Store"].kind else {
            panic!("not a component")
        };
        assert_eq!(path, "shared/bucket.yaml");
        assert_eq!(inner.resource_type_name("B"), Some("AWS::S3::Bucket"));
        assert_eq!(&*inner.outputs["Arn"].value.span.file, "shared/bucket.yaml");
        assert!(matches!(template.resources["Other"].kind, ResourceKind::Component { .. }));
    }

    #[test]
    fn component_cycle_is_an_error() {
        let files = loader(&[
            ("template.yaml", ROOT),
            ("components/site.yaml", "Resources:\n  Inner:\n    Type: ./inner.yaml\n"),
            ("components/inner.yaml", "Resources:\n  Back:\n    Type: ./site.yaml\n"),
        ]);
        assert_eq!(
            load_template(&files, "template.yaml").unwrap_err().to_string(),
            "components/inner.yaml:3:11: component cycle: components/site.yaml -> components/inner.yaml -> components/site.yaml"
        );
        let files = loader(&[("template.yaml", "Resources:\n  Me:\n    Type: ./template.yaml\n")]);
        assert_eq!(
            load_template(&files, "template.yaml").unwrap_err().to_string(),
            "template.yaml:3:11: component cycle: template.yaml -> template.yaml"
        );
    }

    #[test]
    fn missing_and_broken_components() {
        let files = loader(&[("template.yaml", ROOT)]);
        assert_eq!(
            load_template(&files, "template.yaml").unwrap_err().to_string(),
            "template.yaml:3:11: cannot read component `./components/site.yaml` (`components/site.yaml`): no such file"
        );
        let files = loader(&[
            ("template.yaml", "Resources:\n  A: {Type: ./c.yaml}\n  B: {Type: ./c.yaml}\n"),
            ("c.yaml", "Resources:\n  X: {Typo: AWS::S3::Bucket}\n"),
        ]);
        // The broken component is reported once, though used twice.
        assert_eq!(
            load_template(&files, "template.yaml").unwrap_err().to_string(),
            "c.yaml:2:7: unknown resource attribute `Typo` (did you mean `Type`?)\nc.yaml:2:3: resource `X` has no `Type` (add e.g. `Type: AWS::S3::Bucket`)"
        );
    }
}
