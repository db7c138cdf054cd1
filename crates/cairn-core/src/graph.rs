//! The evaluated desired graph: the template (with its components flattened) under one
//! stack's inputs.
//!
//! Building it resolves parameters, evaluates conditions, flattens components into leaf
//! resources with full logical ids (`DataBucket.Bucket`), computes each leaf's
//! dependencies (from `Ref`, `Fn::GetAtt`, `Fn::Sub` and `DependsOn`, through component
//! parameters and outputs) and rejects unknown references and cycles, all with located
//! diagnostics. Property values are evaluated later, on demand, against a
//! [`ResourceLookup`] that knows what has been deployed so far (the plan uses the state,
//! the executor the results as they arrive).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};
use crate::provider::Registry;
use crate::state::OutputState;
use crate::template::ast::{Node, NodeValue};
use crate::template::env::{EvalEnv, Reference};
use crate::template::eval;
use crate::template::model::{DeletionPolicy, MappingDef, PolicyAttr, ResourceKind, Template};
use crate::template::params;
use crate::value::Value;

/// What the graph needs to know about the stack it is built for.
#[derive(Clone, Debug, Default)]
pub struct StackInputs {
    pub project: String,
    pub stack: String,
    pub region: String,
    /// `None` when not known (no AWS provider, or no credentials for `validate`):
    /// `AWS::AccountId` is then unknown.
    pub account_id: Option<String>,
    pub partition: String,
    /// Parameter values from the stack file, as located nodes.
    pub parameters: IndexMap<String, Node>,
    /// The parameters whose value the stack file holds encrypted (decrypted into
    /// `parameters` by the caller): their values are secret whatever the template says.
    pub secret_parameters: BTreeSet<String>,
    /// Encrypted parameters left encrypted (`validate` when the secrets provider cannot be
    /// reached): unknown secret values, checked at preview.
    pub sealed_parameters: BTreeSet<String>,
    /// Exports of other stacks in the same backend, for `Fn::ImportValue`.
    pub exports: BTreeMap<String, Value>,
    /// Packages what a type takes as a local asset ([`crate::asset`]).
    pub assets: crate::asset::Assets,
    /// The SSM parameters the templates name, read before the plan ([`crate::ssm`]).
    pub ssm: crate::ssm::SsmValues,
}

impl StackInputs {
    /// `AWS::StackName`: `{project}-{stack}`, so that two projects' `production` stacks
    /// never collide in generated names.
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.project, self.stack)
    }
}

/// Values of deployed (or about to be deployed) resources, by full logical id.
pub trait ResourceLookup: Sync {
    /// What `Ref` gives: the physical id, or `Unknown` before it exists.
    fn physical_id(&self, id: &str) -> Value;
    /// What `Fn::GetAtt` gives, or `Unknown`.
    fn attribute(&self, id: &str, attribute: &str) -> Value;
}

/// A lookup where nothing is known yet.
pub struct NothingKnown;
impl ResourceLookup for NothingKnown {
    fn physical_id(&self, _: &str) -> Value {
        Value::Unknown
    }
    fn attribute(&self, _: &str, _: &str) -> Value {
        Value::Unknown
    }
}

pub type ScopeId = usize;

#[derive(Debug)]
struct Scope {
    template: Arc<Template>,
    /// `""` for the root, `"Data."` for component `Data`, `"Data.Inner."` nested.
    prefix: String,
    /// For a component scope: the parent scope and the component's logical id there.
    parent: Option<(ScopeId, String)>,
    /// Root parameters, resolved and validated.
    root_params: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
    /// The scope's region: the stack's at the root; in a component, its `Region:` (known
    /// before up, evaluated in the parent scope) or else the parent's. Resources without
    /// a `Region:` of their own deploy there, and `AWS::Region` inside is this region.
    region: String,
}

/// One leaf resource of the desired graph.
#[derive(Clone, Debug)]
pub struct DesiredResource {
    /// Full logical id.
    pub id: String,
    pub logical_id: String,
    pub type_name: String,
    pub scope: ScopeId,
    /// The enclosing component's full id.
    pub parent: Option<String>,
    /// Full ids of the leaf resources this one needs, sorted.
    pub deps: Vec<String>,
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
    pub span: Span,
}

#[derive(Debug)]
pub struct DesiredGraph {
    pub inputs: StackInputs,
    scopes: Vec<Scope>,
    /// Leaf resources in a topological order (dependencies first; ties by template order).
    pub resources: IndexMap<String, DesiredResource>,
    /// Component full ids, for grouping in previews.
    pub components: BTreeSet<String>,
    /// `Fn::GetAtt` attribute names by type, from the registry.
    attributes: HashMap<String, Vec<String>>,
    /// The properties that may be a local asset, by type, from the registry.
    asset_properties: HashMap<String, Vec<String>>,
    /// The attributes refused for some property values, by type, from the registry.
    refused_attributes: HashMap<String, Vec<crate::provider::RefusedAttribute>>,
}

const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

impl DesiredGraph {
    /// Build the graph, reporting every problem found.
    pub fn build(template: &Template, inputs: StackInputs, registry: &Registry) -> Result<DesiredGraph, Diagnostics> {
        let mut b = Builder {
            inputs: &inputs,
            registry,
            scopes: Vec::new(),
            diags: Vec::new(),
            leaves: Vec::new(),
            components: BTreeSet::new(),
        };
        b.root(template);
        let Builder { scopes, mut diags, leaves, components, .. } = b;
        let attributes = registry
            .type_names()
            .filter_map(|t| Some((t.to_string(), registry.get(t)?.schema().attributes.clone())))
            .collect();
        let asset_properties = registry
            .type_names()
            .filter_map(|t| Some((t.to_string(), registry.get(t)?.schema().assets.clone())))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        let refused_attributes = registry
            .type_names()
            .filter_map(|t| Some((t.to_string(), registry.get(t)?.schema().refused_attributes.clone())))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        let mut graph = DesiredGraph {
            inputs,
            scopes,
            resources: IndexMap::new(),
            components,
            attributes,
            asset_properties,
            refused_attributes,
        };
        if diags.is_empty() {
            // Dependencies need every scope in place.
            let mut leaves = leaves;
            for leaf in &mut leaves {
                match graph.leaf_deps(leaf) {
                    Ok(deps) => leaf.deps = deps,
                    Err(mut d) => diags.append(&mut d),
                }
                match graph.policies(leaf, registry) {
                    Ok((deletion, replace)) => (leaf.deletion_policy, leaf.update_replace_policy) = (deletion, replace),
                    Err(d) => diags.push(d),
                }
            }
            // The root outputs' references (unknown names, attributes) are checked here
            // too, so `validate` and `preview` report them before anything is created.
            let root = graph.scope(0);
            for def in root.template.outputs.values() {
                if let Some((c, _)) = &def.condition {
                    if !root.conditions.get(c).copied().unwrap_or(false) {
                        continue;
                    }
                }
                for node in std::iter::once(&def.value).chain(def.export_name.iter()) {
                    if let Err(mut d) = graph.expr_deps(0, node, &mut Vec::new(), &mut BTreeSet::new()) {
                        diags.append(&mut d);
                    }
                }
            }
            if diags.is_empty() {
                match topo_order(&leaves) {
                    Ok(order) => {
                        let mut by_id: HashMap<String, DesiredResource> =
                            leaves.into_iter().map(|l| (l.id.clone(), l)).collect();
                        for id in order {
                            let r = by_id.remove(&id).expect("ordered id exists");
                            graph.resources.insert(id, r);
                        }
                    }
                    Err(d) => diags.push(d),
                }
            }
        }
        if !diags.is_empty() {
            diags.sort_by(|a, b| a.span.cmp(&b.span));
            diags.dedup();
            return Err(Diagnostics(diags));
        }
        Ok(graph)
    }

    fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id]
    }

    /// The template a resource is defined in.
    pub fn template_of(&self, r: &DesiredResource) -> &Template {
        &self.scope(r.scope).template
    }

    fn env<'a>(&'a self, scope: ScopeId, lookup: &'a dyn ResourceLookup) -> ScopeEnv<'a> {
        ScopeEnv { graph: self, scope, lookup, depth: 0 }
    }

    /// The resource's properties evaluated against `lookup` (a mapping; `{}` when none).
    pub fn properties(&self, r: &DesiredResource, lookup: &dyn ResourceLookup) -> Result<Value, Diagnostic> {
        let def = &self.template_of(r).resources[&r.logical_id];
        let Some(node) = &def.properties else { return Ok(Value::Map(BTreeMap::new())) };
        let mut v = eval::evaluate(node, &self.env(r.scope, lookup))?;
        crate::ssm::resolve_references(&mut v, &self.inputs.ssm)
            .map_err(|e| Diagnostic::at(&node.span, format!("{} ({}): {}", r.id, r.type_name, e.0)))?;
        self.package_assets(r, node, &mut v)?;
        match v {
            Value::Null => Ok(Value::Map(BTreeMap::new())),
            Value::Map(_) | Value::Unknown => Ok(v),
            other => Err(Diagnostic::at(&node.span, format!("Properties must be a mapping, found {}", other.kind()))),
        }
    }

    /// A string where the type takes a local asset is a path of the project: packaged,
    /// it becomes the asset's value ([`crate::asset`]).
    fn package_assets(&self, r: &DesiredResource, node: &Node, v: &mut Value) -> Result<(), Diagnostic> {
        let (Some(names), Value::Map(props)) = (self.asset_properties.get(&r.type_name), v) else { return Ok(()) };
        for name in names {
            let Some(Value::String(path)) = props.get(name) else { continue };
            let asset = self.inputs.assets.package(path).map_err(|e| {
                let span = node.as_map().and_then(|m| m.get(name)).map_or(&node.span, |n| &n.span);
                Diagnostic::at(span, format!("{} ({}) {name}: {e}", r.id, r.type_name))
            })?;
            props.insert(name.clone(), asset.to_value());
        }
        Ok(())
    }

    /// The resource's `DeletionPolicy` and `UpdateReplacePolicy`: as written, or resolved
    /// from `Fn::If`/`Ref` (known before anything runs), or the type's default (`Snapshot`
    /// for a type that takes final snapshots, as in CloudFormation; `Delete` otherwise).
    /// `Snapshot` for a type that cannot take one is refused, as CloudFormation refuses it.
    fn policies(
        &self,
        r: &DesiredResource,
        registry: &Registry,
    ) -> Result<(DeletionPolicy, DeletionPolicy), Diagnostic> {
        let def = &self.template_of(r).resources[&r.logical_id];
        let snapshots = |t: &str| registry.get(t).is_some_and(|p| p.schema().final_snapshot);
        let default = if snapshots(&r.type_name) { DeletionPolicy::Snapshot } else { DeletionPolicy::Delete };
        let deletion = self.policy(r, &def.deletion_policy, "DeletionPolicy", default, &snapshots, registry)?;
        let replace = self.policy(
            r,
            &def.update_replace_policy,
            "UpdateReplacePolicy",
            DeletionPolicy::Delete,
            &snapshots,
            registry,
        )?;
        Ok((deletion, replace))
    }

    fn policy(
        &self,
        r: &DesiredResource,
        attr: &PolicyAttr,
        what: &str,
        default: DeletionPolicy,
        snapshots: &dyn Fn(&str) -> bool,
        registry: &Registry,
    ) -> Result<DeletionPolicy, Diagnostic> {
        let (policy, span) = match attr {
            PolicyAttr::Default => return Ok(default),
            PolicyAttr::Fixed(p, span) => (*p, span),
            PolicyAttr::Expr(node) => match eval::evaluate(node, &self.env(r.scope, &NothingKnown))? {
                Value::String(s) => match DeletionPolicy::from_name(&s) {
                    Some(p) => (p, &node.span),
                    None => return Err(crate::template::model::unknown_policy(&s, what, &node.span)),
                },
                other => {
                    return Err(Diagnostic::at(
                        &node.span,
                        format!("{what} must be a policy name known before up, found {}", other.kind()),
                    )
                    .with_help("use `Fn::If` on a condition or `Ref` to a parameter"))
                }
            },
        };
        if policy == DeletionPolicy::Snapshot && !snapshots(&r.type_name) {
            let mut can: Vec<&str> = registry.type_names().filter(|t| snapshots(t)).collect();
            can.sort_unstable();
            return Err(Diagnostic::at(
                span,
                format!(
                    "{}: {what} `Snapshot` is not supported by {}, which cannot take a snapshot",
                    r.id, r.type_name
                ),
            )
            .with_help(if can.is_empty() {
                "use `Retain` to keep it in AWS, or `Delete`".to_string()
            } else {
                format!(
                    "use `Retain` to keep it in AWS, or `Delete`; types that take a final snapshot: {}",
                    can.join(", ")
                )
            }));
        }
        Ok(policy)
    }

    /// The region the resource deploys to: its own `Region:`, else its scope's (the
    /// nearest enclosing component's `Region:`, else the stack's).
    pub fn region(&self, r: &DesiredResource, lookup: &dyn ResourceLookup) -> Result<String, Diagnostic> {
        let def = &self.template_of(r).resources[&r.logical_id];
        match &def.region {
            None => Ok(self.scope(r.scope).region.clone()),
            Some(node) => known_region(eval::evaluate(node, &self.env(r.scope, lookup))?, node),
        }
    }

    /// The root template's outputs, evaluated against `lookup` (those whose condition is
    /// false are left out). Secret values stay marked.
    pub fn outputs(&self, lookup: &dyn ResourceLookup) -> Result<BTreeMap<String, OutputState>, Diagnostics> {
        let scope = self.scope(0);
        let env = self.env(0, lookup);
        let mut out = BTreeMap::new();
        let mut diags = Vec::new();
        for (name, def) in &scope.template.outputs {
            if let Some((c, _)) = &def.condition {
                if !scope.conditions.get(c).copied().unwrap_or(false) {
                    continue;
                }
            }
            let value = match eval::evaluate(&def.value, &env).and_then(|mut v| {
                crate::ssm::resolve_references(&mut v, &self.inputs.ssm)
                    .map_err(|e| Diagnostic::at(&def.value.span, format!("output `{name}`: {}", e.0)))?;
                Ok(v)
            }) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let export_name = match &def.export_name {
                None => None,
                Some(n) => match eval::evaluate(n, &env) {
                    Ok(v) => v.as_str().map(str::to_string),
                    Err(d) => {
                        diags.push(d);
                        None
                    }
                },
            };
            out.insert(name.clone(), OutputState { value, description: def.description.clone(), export_name });
        }
        if diags.is_empty() {
            Ok(out)
        } else {
            Err(Diagnostics(diags))
        }
    }

    /// A pseudo parameter as seen from `scope` (`AWS::Region` is the scope's region).
    fn pseudo(&self, scope: ScopeId, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        pseudo(&self.inputs, &self.scope(scope).region, name, span)
    }
}

/// A `Region:` value: a string known before up.
fn known_region(v: Value, node: &Node) -> Result<String, Diagnostic> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(Diagnostic::at(
            &node.span,
            format!(
                "Region must be a string known before up, found {}",
                if matches!(other, Value::Secret(_)) { "a secret" } else { other.kind() }
            ),
        )
        .with_help("use a region name, or `Ref` to a parameter")),
    }
}

/// `node` with every `Fn::If` whose condition is known replaced by the branch it takes.
fn live_branches(node: &Node, conditions: &BTreeMap<String, bool>) -> Node {
    if let Some(("Fn::If", _, arg)) = node.as_intrinsic() {
        if let Some([cond, then, otherwise]) = arg.as_seq() {
            if let Some(taken) = cond.as_str().and_then(|c| conditions.get(c)) {
                return live_branches(if *taken { then } else { otherwise }, conditions);
            }
        }
    }
    let value = match &node.value {
        NodeValue::Seq(items) => NodeValue::Seq(items.iter().map(|n| live_branches(n, conditions)).collect()),
        NodeValue::Map(m) => NodeValue::Map(crate::template::ast::Mapping {
            entries: m.entries.iter().map(|(k, v)| (k.clone(), live_branches(v, conditions))).collect(),
        }),
        other => other.clone(),
    };
    Node::new(value, node.span.clone())
}

/// The value of a pseudo parameter in a scope whose region is `region` (`AWS::Region`,
/// and what derives from it: `AWS::URLSuffix`, the region part of `AWS::StackId`).
fn pseudo(i: &StackInputs, region: &str, name: &str, span: &Span) -> Result<Value, Diagnostic> {
    {
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        // Not known yet (e.g. `validate` without credentials): unknown, like an attribute.
        let account = || -> Result<Option<String>, Diagnostic> { Ok(i.account_id.clone()) };
        Ok(match name {
            "AWS::Region" => Value::String(region.to_string()),
            "AWS::AccountId" => account()?.map(Value::String).unwrap_or(Value::Unknown),
            "AWS::Partition" => Value::String(i.partition.clone()),
            "AWS::URLSuffix" => Value::String(suffix.into()),
            "AWS::StackName" => Value::String(i.stack_name()),
            "AWS::StackId" => {
                let digest = crate::digest(format!("{}/{}", i.project, i.stack).as_bytes());
                let id = format!(
                    "{}-{}-{}-{}-{}",
                    &digest[0..8],
                    &digest[8..12],
                    &digest[12..16],
                    &digest[16..20],
                    &digest[20..32]
                );
                match account()? {
                    Some(account) => Value::String(format!(
                        "arn:{}:cloudformation:{}:{account}:stack/{}/{id}",
                        i.partition,
                        region,
                        i.stack_name(),
                    )),
                    None => Value::Unknown,
                }
            }
            "AWS::NotificationARNs" => Value::List(vec![]),
            _ => {
                return Err(Diagnostic::at(span, format!("unknown pseudo parameter `{name}`"))
                    .with_help(did_you_mean(name, PSEUDO.iter().copied()).unwrap_or_default()))
            }
        })
    }
}

impl DesiredGraph {
    /// Full ids of the leaves under a component (for `DependsOn` on a component).
    fn leaves_under(&self, component_full_id: &str) -> Vec<String> {
        let prefix = format!("{component_full_id}.");
        self.scopes
            .iter()
            .filter(|s| s.prefix.starts_with(&prefix))
            .flat_map(|s| {
                s.template
                    .resources
                    .iter()
                    .filter(|(_, d)| matches!(d.kind, ResourceKind::Type(_)))
                    .map(move |(lid, _)| format!("{}{lid}", s.prefix))
            })
            .collect()
    }

    fn scope_of_component(&self, parent: ScopeId, logical_id: &str) -> Option<ScopeId> {
        self.scopes.iter().position(|s| s.parent.as_ref().is_some_and(|(p, l)| *p == parent && l == logical_id))
    }

    fn resource_active(&self, scope: ScopeId, logical_id: &str) -> bool {
        let s = self.scope(scope);
        match s.template.resources.get(logical_id).and_then(|d| d.condition.as_ref()) {
            Some((c, _)) => s.conditions.get(c).copied().unwrap_or(false),
            None => true,
        }
    }

    /// The leaf dependencies of an expression in a scope.
    fn expr_deps(
        &self,
        scope: ScopeId,
        node: &Node,
        visiting: &mut Vec<(ScopeId, String)>,
        out: &mut BTreeSet<String>,
    ) -> Result<(), Vec<Diagnostic>> {
        let mut diags = Vec::new();
        // A branch of `Fn::If` that its (known) condition does not take is never
        // evaluated: what it references is not needed, and may be a resource whose
        // condition is false (`!If [IsProd, !Ref ProdOnly, !Ref AWS::NoValue]`).
        let live = live_branches(node, &self.scope(scope).conditions);
        for r in eval::references(&live) {
            let res = match r {
                Reference::Ref { name, span } => self.ref_deps(scope, &name, &span, visiting, out),
                Reference::GetAtt { resource, attribute, span } => {
                    self.getatt_deps(scope, &resource, &attribute, &span, visiting, out)
                }
                Reference::Condition { .. } => Ok(()),
            };
            if let Err(mut d) = res {
                diags.append(&mut d);
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }

    fn ref_deps(
        &self,
        scope: ScopeId,
        name: &str,
        span: &Span,
        visiting: &mut Vec<(ScopeId, String)>,
        out: &mut BTreeSet<String>,
    ) -> Result<(), Vec<Diagnostic>> {
        let s = self.scope(scope);
        if name.starts_with("AWS::") {
            return self.pseudo(scope, name, span).map(|_| ()).or_else(|d| {
                if name == "AWS::NoValue" || name == "AWS::AccountId" {
                    Ok(())
                } else {
                    Err(vec![d])
                }
            });
        }
        if s.template.parameters.contains_key(name) {
            if let Some((parent, comp)) = &s.parent {
                // A component parameter: whatever its expression in the parent needs.
                let key = (scope, format!("param:{name}"));
                if visiting.contains(&key) {
                    return Err(vec![cycle_through(visiting, &key, span)]);
                }
                let pdef = &self.scope(*parent).template.resources[comp];
                if let Some(expr) = pdef.properties.as_ref().and_then(|p| p.as_map()).and_then(|m| m.get(name)) {
                    visiting.push(key);
                    let r = self.expr_deps(*parent, expr, visiting, out);
                    visiting.pop();
                    return r;
                }
            }
            return Ok(());
        }
        match s.template.resources.get(name) {
            Some(def) => match &def.kind {
                ResourceKind::Type(_) => {
                    if !self.resource_active(scope, name) {
                        return Err(vec![Diagnostic::at(span, format!("`{name}` is not created in this stack (its condition is false), so it cannot be referenced here")).with_help("guard the reference with the same condition (Fn::If)")]);
                    }
                    out.insert(format!("{}{name}", s.prefix));
                    Ok(())
                }
                ResourceKind::Component { .. } => {
                    Err(vec![Diagnostic::at(span, format!("`{name}` is a component: Ref has no value for it"))
                        .with_help(format!("use Fn::GetAtt {name}.<Output> to read one of its outputs"))])
                }
            },
            None => Err(vec![unknown_name(s, name, span)]),
        }
    }

    fn getatt_deps(
        &self,
        scope: ScopeId,
        resource: &str,
        attribute: &str,
        span: &Span,
        visiting: &mut Vec<(ScopeId, String)>,
        out: &mut BTreeSet<String>,
    ) -> Result<(), Vec<Diagnostic>> {
        let s = self.scope(scope);
        let Some(def) = s.template.resources.get(resource) else {
            let help = did_you_mean(resource, s.template.resources.keys().map(String::as_str));
            let mut d = Diagnostic::at(
                span,
                format!("Fn::GetAtt names `{resource}`, which is not a resource of {}", s.template.file),
            );
            d.help = help;
            return Err(vec![d]);
        };
        if !self.resource_active(scope, resource) {
            return Err(vec![Diagnostic::at(span, format!("`{resource}` is not created in this stack (its condition is false), so it cannot be referenced here"))]);
        }
        match &def.kind {
            ResourceKind::Type(t) => {
                if !attribute.is_empty() {
                    if let Some(rt) = self.registry_attrs(t) {
                        if !rt.iter().any(|a| a == attribute) {
                            let mut d = Diagnostic::at(
                                span,
                                format!(
                                    "`{t}` has no attribute `{attribute}` (it has: {})",
                                    if rt.is_empty() { "none".to_string() } else { rt.join(", ") }
                                ),
                            );
                            d.help = did_you_mean(attribute, rt.iter().map(String::as_str));
                            return Err(vec![d]);
                        }
                    }
                    if let Some(why) = self.refused_attribute(scope, t, def, attribute) {
                        return Err(vec![Diagnostic::at(span, format!("Fn::GetAtt {resource}.{attribute}: {why}"))]);
                    }
                }
                out.insert(format!("{}{resource}", s.prefix));
                Ok(())
            }
            ResourceKind::Component { template, .. } => {
                let out_name = attribute.strip_prefix("Outputs.").unwrap_or(attribute);
                let child = self.scope_of_component(scope, resource).expect("component scope exists");
                if out_name.is_empty() {
                    // A computed attribute name: depend on the whole component.
                    out.extend(self.leaves_under(&format!("{}{resource}", s.prefix)));
                    return Ok(());
                }
                let Some(odef) = template.outputs.get(out_name) else {
                    let mut d = Diagnostic::at(
                        span,
                        format!("component `{resource}` ({}) has no output `{out_name}`", template.file),
                    );
                    d.help = did_you_mean(out_name, template.outputs.keys().map(String::as_str));
                    return Err(vec![d]);
                };
                let key = (child, format!("output:{out_name}"));
                if visiting.contains(&key) {
                    return Err(vec![cycle_through(visiting, &key, span)]);
                }
                visiting.push(key);
                let r = self.expr_deps(child, &odef.value, visiting, out);
                visiting.pop();
                r
            }
        }
    }

    fn registry_attrs(&self, type_name: &str) -> Option<&Vec<String>> {
        self.attributes.get(type_name)
    }

    /// Why `Fn::GetAtt` of `attribute` is refused for resource `def` of `type_name`: its
    /// type refuses it while a top-level property is a given value, and the template gives
    /// that value (evaluated with the stack's parameters; a value known only later is not
    /// refused here).
    fn refused_attribute(
        &self,
        scope: ScopeId,
        type_name: &str,
        def: &crate::template::model::ResourceDef,
        attribute: &str,
    ) -> Option<&str> {
        let refused = self.refused_attributes.get(type_name)?;
        let props = match &def.properties.as_ref()?.value {
            NodeValue::Map(m) => m,
            _ => return None,
        };
        refused.iter().filter(|r| r.attribute == attribute).find_map(|r| {
            let (_, node) = props.entries.iter().find(|(k, _)| k.name == r.property)?;
            let v = eval::evaluate(node, &self.env(scope, &NothingKnown)).ok()?;
            (v.as_str() == Some(r.value.as_str())).then_some(r.why.as_str())
        })
    }

    fn leaf_deps(&self, leaf: &DesiredResource) -> Result<Vec<String>, Vec<Diagnostic>> {
        let s = self.scope(leaf.scope);
        let def = &s.template.resources[&leaf.logical_id];
        let mut out = BTreeSet::new();
        let mut visiting = Vec::new();
        let mut diags = Vec::new();
        for node in def.properties.iter().chain(def.region.iter()) {
            if let Err(mut d) = self.expr_deps(leaf.scope, node, &mut visiting, &mut out) {
                diags.append(&mut d);
            }
        }
        // DependsOn of the resource and of every enclosing component.
        let mut scope_id = leaf.scope;
        let mut depends: Vec<(ScopeId, &str, &Span)> =
            def.depends_on.iter().map(|(n, sp)| (leaf.scope, n.as_str(), sp)).collect();
        while let Some((parent, comp)) = &self.scope(scope_id).parent {
            let cdef = &self.scope(*parent).template.resources[comp];
            depends.extend(cdef.depends_on.iter().map(|(n, sp)| (*parent, n.as_str(), sp)));
            // What an enclosing component's `Region:` reads (the leaf deploys there, or its
            // own `Region:` may read `AWS::Region`).
            if let Some(node) = &cdef.region {
                if let Err(mut d) = self.expr_deps(*parent, node, &mut visiting, &mut out) {
                    diags.append(&mut d);
                }
            }
            // Expressions of the component's properties that no parameter reads still
            // order nothing; those that are read were followed above.
            scope_id = *parent;
        }
        for (sc, name, span) in depends {
            let s = self.scope(sc);
            match s.template.resources.get(name) {
                None => {
                    let mut d = Diagnostic::at(
                        span,
                        format!("DependsOn names `{name}`, which is not a resource of {}", s.template.file),
                    );
                    d.help = did_you_mean(name, s.template.resources.keys().map(String::as_str));
                    diags.push(d);
                }
                Some(_) if !self.resource_active(sc, name) => {
                    diags.push(Diagnostic::at(
                        span,
                        format!(
                            "DependsOn names `{name}`, which is not created in this stack (its condition is false)"
                        ),
                    ));
                }
                Some(d) => match d.kind {
                    ResourceKind::Type(_) => {
                        out.insert(format!("{}{name}", s.prefix));
                    }
                    ResourceKind::Component { .. } => out.extend(self.leaves_under(&format!("{}{name}", s.prefix))),
                },
            }
        }
        out.remove(&leaf.id);
        if diags.is_empty() {
            Ok(out.into_iter().collect())
        } else {
            Err(diags)
        }
    }

    /// Check every resource's properties where they are known now (before any call):
    /// the type's schema and its own rules. Used by `validate` and before planning.
    pub fn check_properties(&self, registry: &Registry) -> Result<(), Diagnostics> {
        let mut diags = Vec::new();
        for r in self.resources.values() {
            let Some(t) = registry.get(&r.type_name) else { continue };
            let def = &self.template_of(r).resources[&r.logical_id];
            let span = def.properties.as_ref().map(|n| n.span.clone()).unwrap_or_else(|| r.span.clone());
            match self.properties(r, &NothingKnown) {
                Ok(props) => {
                    for f in t.check(&props) {
                        let at = def
                            .properties
                            .as_ref()
                            .and_then(|p| p.as_map())
                            .and_then(|m| m.get_entry(f.path.split(['.', '[']).next().unwrap_or("")))
                            .map(|(k, _)| k.span.clone())
                            .unwrap_or_else(|| span.clone());
                        let what = if f.path.is_empty() { String::new() } else { format!(" {}", f.path) };
                        diags.push(Diagnostic::at(&at, format!("{} ({}){what}: {}", r.id, r.type_name, f.message)));
                    }
                }
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(diags))
        }
    }
}

fn cycle_through(visiting: &[(ScopeId, String)], key: &(ScopeId, String), span: &Span) -> Diagnostic {
    let start = visiting.iter().position(|k| k == key).unwrap_or(0);
    let names: Vec<&str> = visiting[start..].iter().map(|(_, n)| n.as_str()).collect();
    Diagnostic::at(span, format!("circular reference through component values: {}", names.join(" -> ")))
}

fn unknown_name(s: &Scope, name: &str, span: &Span) -> Diagnostic {
    let candidates: Vec<&str> = s
        .template
        .parameters
        .keys()
        .chain(s.template.resources.keys())
        .map(String::as_str)
        .chain(PSEUDO.iter().copied())
        .collect();
    let mut d = Diagnostic::at(
        span,
        format!("Ref names `{name}`, which is not a parameter or resource of {}", s.template.file),
    );
    d.help = did_you_mean(name, candidates);
    d
}

/// Topological order of the leaves (dependencies first; ties keep template order), or
/// a located error listing one cycle.
fn topo_order(leaves: &[DesiredResource]) -> Result<Vec<String>, Diagnostic> {
    let index: HashMap<&str, usize> = leaves.iter().enumerate().map(|(i, l)| (l.id.as_str(), i)).collect();
    let mut indegree = vec![0usize; leaves.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); leaves.len()];
    for (i, l) in leaves.iter().enumerate() {
        for d in &l.deps {
            if let Some(&j) = index.get(d.as_str()) {
                indegree[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..leaves.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(leaves.len());
    while let Some(i) = ready.pop_first() {
        order.push(leaves[i].id.clone());
        for &k in &dependents[i] {
            indegree[k] -= 1;
            if indegree[k] == 0 {
                ready.insert(k);
            }
        }
    }
    if order.len() == leaves.len() {
        return Ok(order);
    }
    // Find one cycle among the rest by walking dependencies.
    let rest: BTreeSet<usize> = (0..leaves.len()).filter(|&i| indegree[i] > 0).collect();
    let start = *rest.iter().next().expect("a cycle exists");
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let next = leaves[cur]
            .deps
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .find(|j| rest.contains(j))
            .expect("in a cycle");
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let cycle: Vec<&str> =
                path[pos..].iter().chain(std::iter::once(&next)).map(|&i| leaves[i].id.as_str()).collect();
            return Err(Diagnostic::at(&leaves[path[pos]].span, format!("dependency cycle: {}", cycle.join(" -> ")))
                .with_help("break the cycle by removing one of these references or DependsOn entries"));
        }
        path.push(next);
        cur = next;
    }
}

struct Builder<'a> {
    inputs: &'a StackInputs,
    registry: &'a Registry,
    scopes: Vec<Scope>,
    diags: Vec<Diagnostic>,
    leaves: Vec<DesiredResource>,
    components: BTreeSet<String>,
}

impl Builder<'_> {
    fn root(&mut self, template: &Template) {
        let mut root_params = BTreeMap::new();
        for (name, def) in &template.parameters {
            let supplied = self.inputs.parameters.get(name);
            let resolved = if self.inputs.sealed_parameters.contains(name) {
                Ok(Value::secret(Value::Unknown))
            } else if self.inputs.secret_parameters.contains(name) {
                params::resolve_parameter_supplied_secret(def, supplied)
            } else {
                params::resolve_with(def, supplied, &self.inputs.ssm)
            };
            match resolved {
                Ok(v) => {
                    root_params.insert(name.clone(), v);
                }
                Err(d) => self.diags.push(d),
            }
        }
        for (name, node) in &self.inputs.parameters {
            let key_span = &node.span;
            if !template.parameters.contains_key(name) {
                let mut d = Diagnostic::at(
                    key_span,
                    format!("the stack sets parameter `{name}`, which {} does not declare", template.file),
                );
                d.help = did_you_mean(name, template.parameters.keys().map(String::as_str));
                self.diags.push(d);
            }
        }
        self.scopes.push(Scope {
            template: Arc::new(template.clone()),
            prefix: String::new(),
            parent: None,
            root_params,
            conditions: BTreeMap::new(),
            region: self.inputs.region.clone(),
        });
        self.fill_scope(0, true);
    }

    /// The region of a component defined in `parent` whose `Region:` is `node`: evaluated
    /// now, in the parent scope (its parameters, conditions and region), because the
    /// conditions and `AWS::Region` inside the component need it. Without one, or for an
    /// inactive component whose `Region:` has no value, the parent's region.
    fn component_region(&mut self, parent: ScopeId, node: Option<&Node>, active: bool) -> String {
        let inherited = self.scopes[parent].region.clone();
        let Some(node) = node else { return inherited };
        let view = PartialGraph { inputs: self.inputs, scopes: &self.scopes };
        match eval::evaluate(node, &ConditionEnv::evaluated(&view, parent)).and_then(|v| known_region(v, node)) {
            Ok(region) => region,
            Err(d) => {
                if active {
                    self.diags.push(d);
                }
                inherited
            }
        }
    }

    /// Evaluate the scope's conditions, then walk its resources (recursing into components).
    fn fill_scope(&mut self, scope: ScopeId, active: bool) {
        let template = self.scopes[scope].template.clone();
        // Conditions, lazily in dependency order, with cycle detection.
        let conditions = {
            let graph_view = PartialGraph { inputs: self.inputs, scopes: &self.scopes };
            let env = ConditionEnv {
                view: &graph_view,
                scope,
                done: RefCell::new(BTreeMap::new()),
                visiting: RefCell::new(Vec::new()),
            };
            let mut errs = Vec::new();
            for name in template.conditions.keys() {
                if let Err(d) = env.condition(name, &template.conditions[name].span) {
                    errs.push(d);
                }
            }
            self.diags.extend(errs);
            env.done.into_inner().into_iter().filter_map(|(k, v)| v.map(|b| (k, b))).collect()
        };
        self.scopes[scope].conditions = conditions;

        for (lid, def) in &template.resources {
            // Static checks of every expression (all errors at once).
            for node in def.properties.iter().chain(def.region.iter()).chain(def.metadata.iter()) {
                self.diags.extend(eval::check_syntax(node));
            }
            let mut res_active = active;
            if let Some((c, span)) = &def.condition {
                match self.scopes[scope].conditions.get(c) {
                    Some(b) => res_active &= *b,
                    None => {
                        if !template.conditions.contains_key(c) {
                            let mut d = Diagnostic::at(span, format!("unknown condition `{c}`"));
                            d.help = did_you_mean(c, template.conditions.keys().map(String::as_str));
                            self.diags.push(d);
                        }
                        res_active = false;
                    }
                }
            }
            let full = format!("{}{lid}", self.scopes[scope].prefix);
            match &def.kind {
                ResourceKind::Type(t) => {
                    if self.registry.get(t).is_none() {
                        let mut d = Diagnostic::at(&def.type_span, format!("unknown resource type `{t}`"));
                        d.help = did_you_mean(t, self.registry.type_names());
                        self.diags.push(d);
                        continue;
                    }
                    if res_active {
                        self.leaves.push(DesiredResource {
                            id: full,
                            logical_id: lid.clone(),
                            type_name: t.clone(),
                            scope,
                            parent: self.scopes[scope]
                                .parent
                                .as_ref()
                                .map(|_| self.scopes[scope].prefix.trim_end_matches('.').to_string()),
                            deps: Vec::new(),
                            // Resolved once the graph is built (`policies`).
                            deletion_policy: DeletionPolicy::Delete,
                            update_replace_policy: DeletionPolicy::Delete,
                            span: def.span.clone(),
                        });
                    }
                }
                ResourceKind::Component { template: child, .. } => {
                    // Component properties must name its parameters.
                    if let Some(props) = def.properties.as_ref().and_then(|p| p.as_map()) {
                        for (k, _) in props.iter() {
                            if !child.parameters.contains_key(&k.name) {
                                let mut d = Diagnostic::at(
                                    &k.span,
                                    format!("component `{lid}` ({}) has no parameter `{}`", child.file, k.name),
                                );
                                d.help = did_you_mean(&k.name, child.parameters.keys().map(String::as_str));
                                self.diags.push(d);
                            }
                        }
                    } else if let Some(p) = &def.properties {
                        self.diags.push(Diagnostic::at(
                            &p.span,
                            "a component's Properties must be a mapping of its parameters",
                        ));
                    }
                    for (pname, pdef) in &child.parameters {
                        let given =
                            def.properties.as_ref().and_then(|p| p.as_map()).is_some_and(|m| m.get(pname).is_some());
                        if !given && pdef.default.is_none() {
                            self.diags.push(
                                Diagnostic::at(
                                    &def.span,
                                    format!(
                                        "component `{lid}` ({}) needs parameter `{pname}`, which has no Default",
                                        child.file
                                    ),
                                )
                                .with_help(format!("set `{pname}` under the component's Properties")),
                            );
                        }
                    }
                    if res_active {
                        self.components.insert(full.clone());
                    }
                    let region = self.component_region(scope, def.region.as_ref(), res_active);
                    let id = self.scopes.len();
                    self.scopes.push(Scope {
                        template: Arc::new((**child).clone()),
                        prefix: format!("{full}."),
                        parent: Some((scope, lid.clone())),
                        root_params: BTreeMap::new(),
                        conditions: BTreeMap::new(),
                        region,
                    });
                    self.fill_scope(id, res_active);
                }
            }
        }
        // Outputs: static checks and conditions.
        for (_, o) in &template.outputs {
            self.diags.extend(eval::check_syntax(&o.value));
            if let Some((c, span)) = &o.condition {
                if !template.conditions.contains_key(c) {
                    let mut d = Diagnostic::at(span, format!("unknown condition `{c}`"));
                    d.help = did_you_mean(c, template.conditions.keys().map(String::as_str));
                    self.diags.push(d);
                }
            }
        }
    }
}

/// The graph as far as it is built (scopes only), for evaluating conditions and component
/// parameters while building.
struct PartialGraph<'a> {
    inputs: &'a StackInputs,
    scopes: &'a [Scope],
}

/// Evaluates conditions of one scope at build time (nothing deployed is known).
struct ConditionEnv<'a> {
    view: &'a PartialGraph<'a>,
    scope: ScopeId,
    done: RefCell<BTreeMap<String, Option<bool>>>,
    visiting: RefCell<Vec<String>>,
}

impl<'a> ConditionEnv<'a> {
    /// An environment of a scope whose conditions are already computed.
    fn evaluated(view: &'a PartialGraph<'a>, scope: ScopeId) -> ConditionEnv<'a> {
        ConditionEnv {
            view,
            scope,
            done: RefCell::new(view.scopes[scope].conditions.iter().map(|(k, v)| (k.clone(), Some(*v))).collect()),
            visiting: RefCell::new(Vec::new()),
        }
    }

    fn template(&self) -> &Template {
        &self.view.scopes[self.scope].template
    }

    /// A parameter's value at build time: root parameters are resolved; a component's
    /// comes from its expression in the parent (which may be unknown).
    fn param(&self, scope: ScopeId, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        let s = &self.view.scopes[scope];
        match &s.parent {
            None => s
                .root_params
                .get(name)
                .cloned()
                .ok_or_else(|| Diagnostic::at(span, format!("parameter `{name}` has no valid value"))),
            Some((parent, comp)) => {
                let pdef = &self.view.scopes[*parent].template.resources[comp];
                let expr = pdef.properties.as_ref().and_then(|p| p.as_map()).and_then(|m| m.get(name));
                let pd = &s.template.parameters[name];
                match expr {
                    Some(e) => {
                        // Conditions of the parent are already computed.
                        let v = eval::evaluate(e, &ConditionEnv::evaluated(self.view, *parent))?;
                        validate_component_param(pd, v, e, &self.view.inputs.ssm)
                    }
                    None => params::resolve_with(pd, None, &self.view.inputs.ssm),
                }
            }
        }
    }
}

/// Validate a known component parameter value like a stack parameter.
fn validate_component_param(
    def: &crate::template::model::ParameterDef,
    v: Value,
    expr: &Node,
    ssm: &crate::ssm::SsmValues,
) -> Result<Value, Diagnostic> {
    if v.contains_unknown() || v.contains_secret() {
        return Ok(v);
    }
    // A mapping is passed through as it is (parameters have no mapping type to check).
    if matches!(v, Value::Map(_)) {
        return Ok(v);
    }
    match Node::from_value(&v, &expr.span) {
        Some(node) => params::resolve_with(def, Some(&node), ssm),
        None => Ok(v),
    }
}

impl EvalEnv for ConditionEnv<'_> {
    fn resolve_ref(&self, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        let t = self.template();
        if name.starts_with("AWS::") {
            return pseudo(self.view.inputs, &self.view.scopes[self.scope].region, name, span);
        }
        if t.parameters.contains_key(name) {
            return self.param(self.scope, name, span);
        }
        if t.resources.contains_key(name) {
            return Ok(Value::Unknown);
        }
        Err(unknown_name(&self.view.scopes[self.scope], name, span))
    }
    fn resolve_getatt(&self, _resource: &str, _attribute: &str, _span: &Span) -> Result<Value, Diagnostic> {
        Ok(Value::Unknown)
    }
    fn condition(&self, name: &str, span: &Span) -> Result<bool, Diagnostic> {
        if let Some(v) = self.done.borrow().get(name) {
            return v.ok_or_else(|| Diagnostic::at(span, format!("condition `{name}` could not be evaluated")));
        }
        let t = self.template();
        let Some(def) = t.conditions.get(name) else {
            let mut d = Diagnostic::at(span, format!("unknown condition `{name}`"));
            d.help = did_you_mean(name, t.conditions.keys().map(String::as_str));
            return Err(d);
        };
        if self.visiting.borrow().iter().any(|v| v == name) {
            let chain = self.visiting.borrow().join(" -> ");
            return Err(Diagnostic::at(span, format!("condition cycle: {chain} -> {name}")));
        }
        self.visiting.borrow_mut().push(name.to_string());
        let r = eval::evaluate_condition(&def.expr, self);
        self.visiting.borrow_mut().pop();
        self.done.borrow_mut().insert(name.to_string(), r.as_ref().ok().copied());
        r
    }
    fn mapping(&self, name: &str) -> Option<&MappingDef> {
        self.template().mappings.get(name)
    }
    fn mapping_names(&self) -> Vec<String> {
        self.template().mappings.keys().cloned().collect()
    }
    fn import_value(&self, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        import(self.view.inputs, name, span)
    }
}

fn import(inputs: &StackInputs, name: &str, span: &Span) -> Result<Value, Diagnostic> {
    inputs.exports.get(name).cloned().ok_or_else(|| {
        let mut d = Diagnostic::at(span, format!("no stack in this backend exports `{name}`"));
        d.help = did_you_mean(name, inputs.exports.keys().map(String::as_str));
        d
    })
}

/// The run-time environment of one scope.
struct ScopeEnv<'a> {
    graph: &'a DesiredGraph,
    scope: ScopeId,
    lookup: &'a dyn ResourceLookup,
    depth: usize,
}

impl ScopeEnv<'_> {
    fn s(&self) -> &Scope {
        self.graph.scope(self.scope)
    }
    fn deeper(&self, scope: ScopeId) -> Result<ScopeEnv<'_>, Diagnostic> {
        if self.depth > 64 {
            return Err(Diagnostic::new("component values refer to each other in a loop", None));
        }
        Ok(ScopeEnv { graph: self.graph, scope, lookup: self.lookup, depth: self.depth + 1 })
    }
}

impl EvalEnv for ScopeEnv<'_> {
    fn resolve_ref(&self, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        let s = self.s();
        if name.starts_with("AWS::") {
            return self.graph.pseudo(self.scope, name, span);
        }
        if s.template.parameters.contains_key(name) {
            return match &s.parent {
                None => s
                    .root_params
                    .get(name)
                    .cloned()
                    .ok_or_else(|| Diagnostic::at(span, format!("parameter `{name}` has no valid value"))),
                Some((parent, comp)) => {
                    let pdef = &self.graph.scope(*parent).template.resources[comp];
                    let pd = &s.template.parameters[name];
                    match pdef.properties.as_ref().and_then(|p| p.as_map()).and_then(|m| m.get(name)) {
                        Some(e) => {
                            let v = eval::evaluate(e, &self.deeper(*parent)?)?;
                            validate_component_param(pd, v, e, &self.graph.inputs.ssm)
                        }
                        None => params::resolve_with(pd, None, &self.graph.inputs.ssm),
                    }
                }
            };
        }
        match s.template.resources.get(name).map(|d| &d.kind) {
            Some(ResourceKind::Type(_)) => Ok(self.lookup.physical_id(&format!("{}{name}", s.prefix))),
            Some(ResourceKind::Component { .. }) => {
                Err(Diagnostic::at(span, format!("`{name}` is a component: Ref has no value for it")))
            }
            None => Err(unknown_name(s, name, span)),
        }
    }

    fn resolve_getatt(&self, resource: &str, attribute: &str, span: &Span) -> Result<Value, Diagnostic> {
        let s = self.s();
        match s.template.resources.get(resource).map(|d| &d.kind) {
            Some(ResourceKind::Type(_)) => Ok(self.lookup.attribute(&format!("{}{resource}", s.prefix), attribute)),
            Some(ResourceKind::Component { template, .. }) => {
                let out_name = attribute.strip_prefix("Outputs.").unwrap_or(attribute);
                let Some(odef) = template.outputs.get(out_name) else {
                    let mut d = Diagnostic::at(span, format!("component `{resource}` has no output `{out_name}`"));
                    d.help = did_you_mean(out_name, template.outputs.keys().map(String::as_str));
                    return Err(d);
                };
                let child = self.graph.scope_of_component(self.scope, resource).expect("component scope");
                eval::evaluate(&odef.value, &self.deeper(child)?)
            }
            None => {
                let mut d = Diagnostic::at(span, format!("Fn::GetAtt names `{resource}`, which is not a resource"));
                d.help = did_you_mean(resource, s.template.resources.keys().map(String::as_str));
                Err(d)
            }
        }
    }

    fn condition(&self, name: &str, span: &Span) -> Result<bool, Diagnostic> {
        self.s().conditions.get(name).copied().ok_or_else(|| {
            let mut d = Diagnostic::at(span, format!("unknown condition `{name}`"));
            d.help = did_you_mean(name, self.s().template.conditions.keys().map(String::as_str));
            d
        })
    }
    fn mapping(&self, name: &str) -> Option<&MappingDef> {
        self.s().template.mappings.get(name)
    }
    fn mapping_names(&self) -> Vec<String> {
        self.s().template.mappings.keys().cloned().collect()
    }
    fn import_value(&self, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        import(&self.graph.inputs, name, span)
    }
}
