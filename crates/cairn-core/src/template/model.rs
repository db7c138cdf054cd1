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
    /// CloudFormation's `Snapshot` and `RetainExceptOnCreate` are read as `Retain` where a
    /// type has no snapshot support: cairn never deletes data it was told to keep.
    RetainExceptOnCreate,
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
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
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

impl Template {
    pub fn resource_type_name(&self, logical_id: &str) -> Option<&str> {
        match &self.resources.get(logical_id)?.kind {
            ResourceKind::Type(t) => Some(t),
            ResourceKind::Component { .. } => None,
        }
    }
}
