//! Values a template takes from the AWS Systems Manager Parameter Store, read (never
//! written) before the plan:
//!
//! - parameters of type `AWS::SSM::Parameter::Value<T>`: the value the stack file (or the
//!   `Default`) gives is the name of an SSM parameter, and `Ref` gives that parameter's
//!   value (a list for `List<...>` and `CommaDelimitedList` inner types);
//! - dynamic references in strings, as CloudFormation writes them:
//!   `{{resolve:ssm:NAME}}`, `{{resolve:ssm:NAME:VERSION}}`, and
//!   `{{resolve:ssm-secure:NAME[:VERSION]}}` for a `SecureString` (decrypted, and then a
//!   secret: encrypted in the state and history, `[secret]` wherever cairn prints it).
//!
//! [`wanted`] finds, from the templates alone, every parameter name the stack needs; the
//! CLI reads them through the registry's [`ParameterStore`](crate::provider::ParameterStore)
//! into [`SsmValues`], which the graph then uses ([`resolve_references`] for strings). A
//! name must therefore be written literally (in the reference, in the stack file, in the
//! `Default`, or as a literal component property); a reference built at run time
//! (`!Sub "{{resolve:ssm:/app/${Env}/x}}"`) is refused with that explanation, since
//! cairn shows the plan before it runs anything.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use crate::template::ast::{Node, NodeValue};
use crate::template::model::{ParamType, ResourceKind, Template};
use crate::value::Value;

const OPEN: &str = "{{resolve:";
const CLOSE: &str = "}}";

/// One parameter to read: its name (with a `:VERSION` selector when pinned) and whether
/// it is read decrypted (`ssm-secure`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SsmRef {
    pub name: String,
    pub secure: bool,
}

/// What was read: by [`SsmRef`]. Or, for `validate` without credentials, nothing
/// ([`SsmValues::offline`]): every reference is then an unknown value, as a resource's
/// attribute is before `up`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SsmValues {
    values: BTreeMap<SsmRef, String>,
    offline: bool,
}

impl SsmValues {
    /// The values read.
    pub fn read(values: BTreeMap<SsmRef, String>) -> SsmValues {
        SsmValues { values, offline: false }
    }

    /// None read: every reference is unknown.
    pub fn offline() -> SsmValues {
        SsmValues { values: BTreeMap::new(), offline: true }
    }

    pub fn get(&self, r: &SsmRef) -> Option<&str> {
        self.values.get(r).map(String::as_str)
    }

    /// Whether nothing was read (references are unknown rather than missing).
    pub fn is_offline(&self) -> bool {
        self.offline
    }
}

/// A dynamic reference found in a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DynRef {
    Ssm(SsmRef),
    /// A service cairn does not resolve (`secretsmanager`, ...): named in the error.
    Other(String),
}

/// The dynamic references in `s`, with their byte ranges.
pub fn references(s: &str) -> Vec<(std::ops::Range<usize>, DynRef)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find(OPEN) {
        let start = from + i;
        let body_start = start + OPEN.len();
        let Some(j) = s[body_start..].find(CLOSE) else { break };
        let end = body_start + j + CLOSE.len();
        let body = &s[body_start..body_start + j];
        let (service, rest) = body.split_once(':').unwrap_or((body, ""));
        let r = match service {
            "ssm" | "ssm-secure" if !rest.is_empty() => {
                DynRef::Ssm(SsmRef { name: rest.to_string(), secure: service == "ssm-secure" })
            }
            _ => DynRef::Other(format!("{{{{resolve:{body}}}}}")),
        };
        out.push((start..end, r));
        from = end;
    }
    out
}

/// The inner type of an `AWS::SSM::Parameter::Value<T>` parameter, and whether it is a
/// list; `None` for any other type.
pub fn parameter_inner(ty: &ParamType) -> Option<(&str, bool)> {
    // The template's parser has decided whether the inner type is a list.
    let ParamType::Aws { name, list } = ty else { return None };
    let inner = name.strip_prefix("AWS::SSM::Parameter::Value<")?.strip_suffix('>')?;
    Some((inner, *list))
}

/// Every SSM parameter the stack needs, from the templates: the SSM-typed parameters'
/// names (from `supplied`, the stack file, for the root; a literal property or the
/// `Default` for a component), and the literal dynamic references anywhere in a template.
pub fn wanted(root: &Template, supplied: &IndexMap<String, Node>) -> BTreeSet<SsmRef> {
    let mut out = BTreeSet::new();
    collect(root, &|name| supplied.get(name).cloned(), &mut out);
    out
}

fn collect(t: &Template, given: &dyn Fn(&str) -> Option<Node>, out: &mut BTreeSet<SsmRef>) {
    for (name, def) in &t.parameters {
        if parameter_inner(&def.ty).is_none() {
            continue;
        }
        if let Some(s) = given(name).or_else(|| def.default.clone()).and_then(|n| n.scalar_string()) {
            out.insert(SsmRef { name: s, secure: false });
        }
    }
    let mut strings = |n: &Node| {
        walk(n, &mut |s| {
            for (_, r) in references(s) {
                if let DynRef::Ssm(r) = r {
                    // A name with `${...}` in it is built by `Fn::Sub` at run time.
                    if !r.name.contains("${") {
                        out.insert(r);
                    }
                }
            }
        })
    };
    for r in t.resources.values() {
        r.properties.iter().for_each(&mut strings);
    }
    for o in t.outputs.values() {
        strings(&o.value);
    }
    for r in t.resources.values() {
        if let ResourceKind::Component { template, .. } = &r.kind {
            let props = r.properties.as_ref().and_then(|p| p.as_map()).cloned();
            let given = move |name: &str| props.as_ref().and_then(|m| m.get(name)).cloned();
            collect(template, &given, out);
        }
    }
}

fn walk(n: &Node, f: &mut dyn FnMut(&str)) {
    match &n.value {
        NodeValue::String(s) => f(s),
        NodeValue::Seq(items) => items.iter().for_each(|i| walk(i, f)),
        NodeValue::Map(m) => m.entries.iter().for_each(|(_, v)| walk(v, f)),
        _ => {}
    }
}

/// Why a string's reference could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved(pub String);

/// Replace the dynamic references in every string of `v` by the values read. A string
/// with an `ssm-secure` reference becomes a [`Value::Secret`].
pub fn resolve_references(v: &mut Value, values: &SsmValues) -> Result<(), Unresolved> {
    match v {
        Value::String(s) if s.contains(OPEN) => {
            let refs = references(s);
            if refs.is_empty() {
                return Ok(());
            }
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            let mut secret = false;
            for (range, r) in refs {
                out.push_str(&s[last..range.start]);
                match r {
                    DynRef::Ssm(_) if values.is_offline() => {
                        *v = Value::Unknown;
                        return Ok(());
                    }
                    DynRef::Ssm(r) => {
                        let Some(val) = values.get(&r) else {
                            return Err(Unresolved(format!(
                                "`{}` was not read before the plan: cairn reads the SSM parameters a template names literally; write the parameter's name in full (not built with Fn::Sub or Fn::Join)",
                                &s[range.clone()]
                            )));
                        };
                        secret |= r.secure;
                        out.push_str(val);
                    }
                    DynRef::Other(text) => {
                        return Err(Unresolved(format!(
                        "`{text}`: cairn resolves `ssm` and `ssm-secure` dynamic references; this one is not supported"
                    )))
                    }
                }
                last = range.end;
            }
            out.push_str(&s[last..]);
            *v = if secret { Value::secret(Value::String(out)) } else { Value::String(out) };
            Ok(())
        }
        Value::List(items) => items.iter_mut().try_for_each(|i| resolve_references(i, values)),
        Value::Map(m) => m.values_mut().try_for_each(|i| resolve_references(i, values)),
        Value::Secret(inner) => {
            resolve_references(inner, values)?;
            let revealed = std::mem::take(&mut **inner);
            *v = Value::secret(revealed);
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, secure: bool) -> SsmRef {
        SsmRef { name: name.into(), secure }
    }

    #[test]
    fn references_are_found_with_their_service_and_version() {
        let refs = references(
            "postgres://{{resolve:ssm:/app/user}}:{{resolve:ssm-secure:/app/pw:3}}@h/{{resolve:secretsmanager:db}}",
        );
        assert_eq!(refs.len(), 3);
        assert_eq!(refs[0].1, DynRef::Ssm(r("/app/user", false)));
        assert_eq!(refs[1].1, DynRef::Ssm(r("/app/pw:3", true)));
        assert_eq!(refs[2].1, DynRef::Other("{{resolve:secretsmanager:db}}".into()));
        assert!(references("no {{ref}} here, {{resolve:ssm:").is_empty());
    }

    #[test]
    fn resolving_replaces_each_reference_and_secure_ones_make_a_secret() {
        let values =
            SsmValues::read(BTreeMap::from([(r("/u", false), "alice".into()), (r("/p", true), "hunter2".into())]));
        let mut v = Value::Map(BTreeMap::from([
            ("Plain".into(), Value::string("user={{resolve:ssm:/u}};")),
            ("Url".into(), Value::string("{{resolve:ssm:/u}}:{{resolve:ssm-secure:/p}}")),
            ("Untouched".into(), Value::string("{{not a ref}}")),
        ]));
        resolve_references(&mut v, &values).unwrap();
        let Value::Map(m) = &v else { unreachable!() };
        assert_eq!(m["Plain"], Value::string("user=alice;"));
        assert_eq!(m["Url"], Value::secret(Value::string("alice:hunter2")));
        assert_eq!(m["Untouched"], Value::string("{{not a ref}}"));

        let mut missing = Value::string("{{resolve:ssm:/other}}");
        let e = resolve_references(&mut missing, &values).unwrap_err();
        assert!(e.0.starts_with("`{{resolve:ssm:/other}}` was not read before the plan"), "{}", e.0);
        let mut other = Value::string("{{resolve:secretsmanager:x}}");
        assert!(resolve_references(&mut other, &values).unwrap_err().0.contains("not supported"));
    }

    #[test]
    fn ssm_parameter_types_name_their_inner_type() {
        let t = |n: &str| {
            let text = format!("Parameters:\n  P:\n    Type: {n}\nResources:\n  R:\n    Type: Cairn::Time::Sleep\n");
            let files = std::collections::BTreeMap::from([("t.yaml".to_string(), text)]);
            let t = crate::template::model::load_template(&crate::template::MemoryLoader(files), "t.yaml")
                .expect("template");
            t.parameters["P"].ty.clone()
        };
        assert_eq!(
            parameter_inner(&t("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>")),
            Some(("AWS::EC2::Image::Id", false))
        );
        assert_eq!(parameter_inner(&t("AWS::SSM::Parameter::Value<List<String>>")), Some(("List<String>", true)));
        assert_eq!(
            parameter_inner(&t("AWS::SSM::Parameter::Value<CommaDelimitedList>")),
            Some(("CommaDelimitedList", true))
        );
        assert_eq!(parameter_inner(&t("AWS::EC2::VPC::Id")), None);
        assert_eq!(parameter_inner(&ParamType::String), None);
    }
}
