//! What expression evaluation asks of its surroundings.
//!
//! [`crate::template::eval`] evaluates intrinsic functions over a [`Node`]; everything
//! that depends on where the expression sits (the template's parameters and pseudo
//! parameters, resources' values, conditions, mappings) comes through [`EvalEnv`]. The
//! desired graph ([`crate::graph`]) implements it per template scope (root or component).

use crate::diag::{Diagnostic, Span};
use crate::template::ast::Node;
use crate::template::model::MappingDef;
use crate::value::Value;

pub trait EvalEnv {
    /// `Ref name`: a parameter, a pseudo parameter (`AWS::Region`, ...) or a resource of
    /// this scope. `AWS::NoValue` is handled by the evaluator and never reaches here.
    /// Unknown names give a located error with a "did you mean".
    fn resolve_ref(&self, name: &str, span: &Span) -> Result<Value, Diagnostic>;

    /// `Fn::GetAtt [resource, attribute]` (attribute may contain dots, e.g. `Outputs.X`).
    fn resolve_getatt(&self, resource: &str, attribute: &str, span: &Span) -> Result<Value, Diagnostic>;

    /// The value of a named condition (`Fn::If`, `Condition`).
    fn condition(&self, name: &str, span: &Span) -> Result<bool, Diagnostic>;

    /// A mapping by name (`Fn::FindInMap`).
    fn mapping(&self, name: &str) -> Option<&MappingDef>;

    /// All mapping names (for "did you mean").
    fn mapping_names(&self) -> Vec<String>;

    /// `Fn::ImportValue name`: an export of another stack in the same backend.
    fn import_value(&self, name: &str, span: &Span) -> Result<Value, Diagnostic>;
}

/// A reference found by static analysis of an expression (for the dependency graph and
/// for `validate`). Includes references inside `Fn::Sub` strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `Ref name` or `${name}` in `Fn::Sub`.
    Ref { name: String, span: Span },
    /// `Fn::GetAtt` or `${resource.attribute}` in `Fn::Sub`.
    GetAtt { resource: String, attribute: String, span: Span },
    /// A condition named by `Fn::If` or `Condition`.
    Condition { name: String, span: Span },
}

#[allow(unused)]
fn _object_safe(_: &dyn EvalEnv, _: &Node) {}
