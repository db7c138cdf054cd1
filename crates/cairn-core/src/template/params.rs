//! Parameter values: from the stack file or the template's `Default`, validated against the
//! parameter's definition as CloudFormation does.
//!
//! What `Ref` of a parameter gives: `String`, `Number` and single-valued AWS types give a
//! [`Value::String`] (CloudFormation passes numbers to `Ref` as strings);
//! `CommaDelimitedList`, `List<Number>` and `List<...>` AWS types give a [`Value::List`] of
//! strings (a comma-separated string is split exactly, without trimming, as CloudFormation
//! does). `NoEcho` parameters give a [`Value::Secret`], and their values never appear in
//! error messages.

use crate::diag::{Diagnostic, Span};
use crate::ssm::{SsmRef, SsmValues};
use crate::template::ast::{Node, NodeValue};
use crate::template::model::{ParamType, ParameterDef};
use crate::value::Value;

/// The value of a parameter: `supplied` (from the stack file; errors point at it) or the
/// definition's `Default` (errors point at the default), validated.
pub fn resolve_parameter(def: &ParameterDef, supplied: Option<&Node>) -> Result<Value, Diagnostic> {
    let node = given(def, supplied)?;
    let value = if is_list(&def.ty) {
        let items = list_items(def, node)?;
        for (s, span) in &items {
            validate(def, s, span)?;
        }
        Value::List(items.into_iter().map(|(s, _)| Value::String(s)).collect())
    } else {
        let s = scalar(def, node)?;
        validate(def, &s, &node.span)?;
        Value::String(s)
    };
    Ok(if def.no_echo { Value::secret(value) } else { value })
}

fn given<'a>(def: &'a ParameterDef, supplied: Option<&'a Node>) -> Result<&'a Node, Diagnostic> {
    supplied.or(def.default.as_ref()).ok_or_else(|| {
        let name = &def.name;
        // A NoEcho parameter is a secret: stored encrypted, its value read from stdin.
        let how = if def.no_echo {
            format!("(`cairn config set --secret {name}`)")
        } else {
            format!("(`cairn config set {name} VALUE`) or give it a Default")
        };
        Diagnostic::at(&def.span, format!("parameter `{name}` has no value: set it in the stack file {how}"))
    })
}

/// Like [`resolve_parameter`], and for an `AWS::SSM::Parameter::Value<T>` parameter the
/// value of the SSM parameter it names, from `ssm` (read before the plan, [`crate::ssm`]):
/// a list for a list inner type (split at commas, as SSM's `StringList` is).
pub fn resolve_with(def: &ParameterDef, supplied: Option<&Node>, ssm: &SsmValues) -> Result<Value, Diagnostic> {
    let Some((_, list)) = crate::ssm::parameter_inner(&def.ty) else { return resolve_parameter(def, supplied) };
    let node = given(def, supplied)?;
    let name = scalar(def, node)?;
    if ssm.is_offline() {
        // `validate` without credentials: known at preview, as CloudFormation knows it.
        return Ok(Value::Unknown);
    }
    let Some(text) = ssm.get(&SsmRef { name: name.clone(), secure: false }) else {
        return Err(Diagnostic::at(
            &node.span,
            format!(
                "parameter `{}` names the SSM parameter `{name}`, which was not read before the plan: give its name literally",
                def.name
            ),
        ));
    };
    let value =
        if list { Value::List(text.split(',').map(Value::string).collect()) } else { Value::String(text.to_string()) };
    Ok(if def.no_echo { Value::secret(value) } else { value })
}

/// Like [`resolve_parameter`], for a value the stack file holds encrypted (`cairn config set
/// --secret`): the supplied value is treated as NoEcho whatever the definition says, so the
/// result is a [`Value::Secret`] and the value never appears in error messages. A `Default`
/// used in its absence is not secret unless the parameter is NoEcho.
pub fn resolve_parameter_supplied_secret(def: &ParameterDef, supplied: Option<&Node>) -> Result<Value, Diagnostic> {
    if supplied.is_some() && !def.no_echo {
        let hidden = ParameterDef { no_echo: true, ..def.clone() };
        return resolve_parameter(&hidden, supplied);
    }
    resolve_parameter(def, supplied)
}

/// The type's name as written in templates, for messages.
pub fn type_name(ty: &ParamType) -> &str {
    match ty {
        ParamType::String => "String",
        ParamType::Number => "Number",
        ParamType::NumberList => "List<Number>",
        ParamType::CommaDelimitedList => "CommaDelimitedList",
        ParamType::Aws { name, .. } => name,
    }
}

fn is_list(ty: &ParamType) -> bool {
    matches!(ty, ParamType::CommaDelimitedList | ParamType::NumberList | ParamType::Aws { list: true, .. })
}

fn is_number(ty: &ParamType) -> bool {
    matches!(ty, ParamType::Number | ParamType::NumberList)
}

/// A scalar node as a string; null is the empty string.
fn scalar(def: &ParameterDef, node: &Node) -> Result<String, Diagnostic> {
    if let NodeValue::Null = node.value {
        return Ok(String::new());
    }
    node.scalar_string().ok_or_else(|| {
        Diagnostic::at(
            &node.span,
            format!(
                "parameter `{}` ({}) expects a single value (a string or a number), found {}",
                def.name,
                type_name(&def.ty),
                node.kind()
            ),
        )
    })
}

/// A list parameter's items: a YAML list of scalars, or a comma-separated string.
fn list_items(def: &ParameterDef, node: &Node) -> Result<Vec<(String, Span)>, Diagnostic> {
    if let Some(items) = node.as_seq() {
        return items
            .iter()
            .map(|item| {
                item.scalar_string().map(|s| (s, item.span.clone())).ok_or_else(|| {
                    Diagnostic::at(
                        &item.span,
                        format!(
                            "parameter `{}` ({}) expects a list of strings, found {} in the list",
                            def.name,
                            type_name(&def.ty),
                            item.kind()
                        ),
                    )
                })
            })
            .collect();
    }
    let text = match node.value {
        NodeValue::Null => String::new(),
        _ => node.scalar_string().ok_or_else(|| {
            Diagnostic::at(
                &node.span,
                format!(
                    "parameter `{}` ({}) expects a comma-separated string or a list, found {}",
                    def.name,
                    type_name(&def.ty),
                    node.kind()
                ),
            )
        })?,
    };
    Ok(text.split(',').map(|s| (s.to_string(), node.span.clone())).collect())
}

/// How a value is quoted in messages (never for NoEcho parameters).
fn quoted(def: &ParameterDef, s: &str) -> String {
    if def.no_echo {
        "a value hidden by NoEcho".to_string()
    } else {
        format!("`{s}`")
    }
}

/// A constraint violation: the ConstraintDescription, when set, is the main text and the
/// detail goes to the help.
fn violation(def: &ParameterDef, span: &Span, detail: String) -> Diagnostic {
    match &def.constraint_description {
        Some(cd) => Diagnostic::at(span, format!("parameter `{}`: {cd}", def.name)).with_help(detail),
        None => Diagnostic::at(span, detail),
    }
}

fn validate(def: &ParameterDef, s: &str, span: &Span) -> Result<(), Diagnostic> {
    let name = &def.name;
    let number = if is_number(&def.ty) {
        match s.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                return Err(violation(
                    def,
                    span,
                    format!("parameter `{name}` must be a number, found {}", quoted(def, s)),
                ))
            }
        }
    } else {
        None
    };
    if let Some(allowed) = &def.allowed_values {
        if !allowed.iter().any(|(a, _)| a == s) {
            let list = allowed.iter().map(|(a, _)| format!("`{a}`")).collect::<Vec<_>>().join(", ");
            return Err(violation(
                def,
                span,
                format!("parameter `{name}` must be one of {list}; found {}", quoted(def, s)),
            ));
        }
    }
    if let Some((pattern, pattern_span)) = &def.allowed_pattern {
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            Diagnostic::at(
                pattern_span,
                format!("AllowedPattern of parameter `{name}` is not a valid regular expression: {e}"),
            )
        })?;
        if !re.is_match(s) {
            return Err(violation(
                def,
                span,
                format!("parameter `{name}` must match the pattern `{pattern}`, found {}", quoted(def, s)),
            ));
        }
    }
    let len = s.chars().count() as u64;
    if let Some(min) = def.min_length {
        if len < min {
            return Err(violation(
                def,
                span,
                format!("parameter `{name}` must be at least {min} characters long, found {len}"),
            ));
        }
    }
    if let Some(max) = def.max_length {
        if len > max {
            return Err(violation(
                def,
                span,
                format!("parameter `{name}` must be at most {max} characters long, found {len}"),
            ));
        }
    }
    if let Some(n) = number {
        if let Some(min) = def.min_value {
            if n < min {
                return Err(violation(
                    def,
                    span,
                    format!("parameter `{name}` must be at least {min}, found {}", quoted(def, s)),
                ));
            }
        }
        if let Some(max) = def.max_value {
            if n > max {
                return Err(violation(
                    def,
                    span,
                    format!("parameter `{name}` must be at most {max}, found {}", quoted(def, s)),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::eval::tests::{node, sp};
    use serde_json::json;

    fn def(name: &str, ty: ParamType) -> ParameterDef {
        ParameterDef::new(name, sp(1000), ty)
    }

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    #[test]
    fn missing_value_points_at_the_definition() {
        let d = def("Env", ParamType::String);
        let e = resolve_parameter(&d, None).unwrap_err();
        assert_eq!(
            e.message,
            "parameter `Env` has no value: set it in the stack file (`cairn config set Env VALUE`) or give it a Default"
        );
        assert_eq!(e.span, Some(sp(1000)));
        let mut secret = def("ApiKey", ParamType::String);
        secret.no_echo = true;
        let e = resolve_parameter(&secret, None).unwrap_err();
        assert_eq!(
            e.message,
            "parameter `ApiKey` has no value: set it in the stack file (`cairn config set --secret ApiKey`)"
        );
    }

    #[test]
    fn supplied_wins_over_default_and_numbers_become_strings() {
        let mut d = def("Days", ParamType::Number);
        d.default = Some(node(json!(30)));
        assert_eq!(resolve_parameter(&d, None).unwrap(), s("30"));
        assert_eq!(resolve_parameter(&d, Some(&node(json!(90)))).unwrap(), s("90"));
        assert_eq!(resolve_parameter(&d, Some(&node(json!("1.5")))).unwrap(), s("1.5"));
        let d = def("Name", ParamType::String);
        assert_eq!(resolve_parameter(&d, Some(&node(json!(null)))).unwrap(), s(""));
        assert_eq!(resolve_parameter(&d, Some(&node(json!(true)))).unwrap(), s("true"));
    }

    #[test]
    fn number_must_parse() {
        let d = def("Days", ParamType::Number);
        let n = node(json!("ninety"));
        let e = resolve_parameter(&d, Some(&n)).unwrap_err();
        assert_eq!(e.message, "parameter `Days` must be a number, found `ninety`");
        assert_eq!(e.span, Some(n.span.clone()));
        assert!(resolve_parameter(&d, Some(&node(json!("NaN")))).is_err());
    }

    #[test]
    fn default_errors_point_at_the_default() {
        let mut d = def("Days", ParamType::Number);
        let default = node(json!("x"));
        d.default = Some(default.clone());
        let e = resolve_parameter(&d, None).unwrap_err();
        assert_eq!(e.span, Some(default.span));
    }

    #[test]
    fn string_rejects_lists_and_mappings() {
        let d = def("Name", ParamType::String);
        let e = resolve_parameter(&d, Some(&node(json!(["a"])))).unwrap_err();
        assert_eq!(e.message, "parameter `Name` (String) expects a single value (a string or a number), found a list");
    }

    #[test]
    fn allowed_values() {
        let mut d = def("Env", ParamType::String);
        d.allowed_values = Some(vec![("dev".into(), sp(1)), ("prod".into(), sp(2))]);
        assert_eq!(resolve_parameter(&d, Some(&node(json!("prod")))).unwrap(), s("prod"));
        let e = resolve_parameter(&d, Some(&node(json!("staging")))).unwrap_err();
        assert_eq!(e.message, "parameter `Env` must be one of `dev`, `prod`; found `staging`");
        assert_eq!(e.help, None);
    }

    #[test]
    fn constraint_description_is_the_main_text() {
        let mut d = def("Env", ParamType::String);
        d.allowed_values = Some(vec![("dev".into(), sp(1))]);
        d.constraint_description = Some("must be dev".into());
        let e = resolve_parameter(&d, Some(&node(json!("x")))).unwrap_err();
        assert_eq!(e.message, "parameter `Env`: must be dev");
        assert_eq!(e.help.as_deref(), Some("parameter `Env` must be one of `dev`; found `x`"));
    }

    #[test]
    fn allowed_pattern_is_anchored() {
        let mut d = def("Name", ParamType::String);
        d.allowed_pattern = Some(("[a-z]+|[0-9]+".into(), sp(7)));
        assert!(resolve_parameter(&d, Some(&node(json!("abc")))).is_ok());
        assert!(resolve_parameter(&d, Some(&node(json!("123")))).is_ok());
        let e = resolve_parameter(&d, Some(&node(json!("abc1")))).unwrap_err();
        assert_eq!(e.message, "parameter `Name` must match the pattern `[a-z]+|[0-9]+`, found `abc1`");
        d.allowed_pattern = Some(("[a-z".into(), sp(7)));
        let e = resolve_parameter(&d, Some(&node(json!("abc")))).unwrap_err();
        assert!(e.message.starts_with("AllowedPattern of parameter `Name` is not a valid regular expression"));
        assert_eq!(e.span, Some(sp(7)));
    }

    #[test]
    fn lengths() {
        let mut d = def("Name", ParamType::String);
        d.min_length = Some(2);
        d.max_length = Some(4);
        assert!(resolve_parameter(&d, Some(&node(json!("ab")))).is_ok());
        assert!(resolve_parameter(&d, Some(&node(json!("abcd")))).is_ok());
        let e = resolve_parameter(&d, Some(&node(json!("a")))).unwrap_err();
        assert_eq!(e.message, "parameter `Name` must be at least 2 characters long, found 1");
        let e = resolve_parameter(&d, Some(&node(json!("abcde")))).unwrap_err();
        assert_eq!(e.message, "parameter `Name` must be at most 4 characters long, found 5");
    }

    #[test]
    fn number_range() {
        let mut d = def("Days", ParamType::Number);
        d.min_value = Some(1.0);
        d.max_value = Some(365.0);
        assert!(resolve_parameter(&d, Some(&node(json!(1)))).is_ok());
        assert!(resolve_parameter(&d, Some(&node(json!(365)))).is_ok());
        let e = resolve_parameter(&d, Some(&node(json!(0)))).unwrap_err();
        assert_eq!(e.message, "parameter `Days` must be at least 1, found `0`");
        let e = resolve_parameter(&d, Some(&node(json!("400.5")))).unwrap_err();
        assert_eq!(e.message, "parameter `Days` must be at most 365, found `400.5`");
    }

    #[test]
    fn comma_delimited_list_is_split_exactly() {
        let d = def("Names", ParamType::CommaDelimitedList);
        assert_eq!(
            resolve_parameter(&d, Some(&node(json!("a, b,c")))).unwrap(),
            Value::List(vec![s("a"), s(" b"), s("c")])
        );
        assert_eq!(resolve_parameter(&d, Some(&node(json!(["a", 2])))).unwrap(), Value::List(vec![s("a"), s("2")]));
        let n = node(json!(["a", {"x": 1}]));
        let e = resolve_parameter(&d, Some(&n)).unwrap_err();
        assert_eq!(
            e.message,
            "parameter `Names` (CommaDelimitedList) expects a list of strings, found a mapping in the list"
        );
        assert_eq!(e.span, Some(n.as_seq().unwrap()[1].span.clone()));
        let e = resolve_parameter(&d, Some(&node(json!({"a": 1})))).unwrap_err();
        assert_eq!(
            e.message,
            "parameter `Names` (CommaDelimitedList) expects a comma-separated string or a list, found a mapping"
        );
    }

    #[test]
    fn list_items_are_validated_one_by_one() {
        let mut d = def("Ports", ParamType::NumberList);
        d.max_value = Some(1000.0);
        assert_eq!(resolve_parameter(&d, Some(&node(json!("80,443")))).unwrap(), Value::List(vec![s("80"), s("443")]));
        let n = node(json!([80, "http"]));
        let e = resolve_parameter(&d, Some(&n)).unwrap_err();
        assert_eq!(e.message, "parameter `Ports` must be a number, found `http`");
        assert_eq!(e.span, Some(n.as_seq().unwrap()[1].span.clone()));
        let e = resolve_parameter(&d, Some(&node(json!("80,8080")))).unwrap_err();
        assert_eq!(e.message, "parameter `Ports` must be at most 1000, found `8080`");

        let mut d = def("Envs", ParamType::CommaDelimitedList);
        d.allowed_values = Some(vec![("a".into(), sp(1)), ("b".into(), sp(2))]);
        assert!(resolve_parameter(&d, Some(&node(json!("a,b")))).is_ok());
        assert!(resolve_parameter(&d, Some(&node(json!("a,c")))).is_err());
    }

    #[test]
    fn aws_types() {
        let d = def("Vpc", ParamType::Aws { name: "AWS::EC2::VPC::Id".into(), list: false });
        assert_eq!(resolve_parameter(&d, Some(&node(json!("vpc-1")))).unwrap(), s("vpc-1"));
        let e = resolve_parameter(&d, Some(&node(json!(["vpc-1"])))).unwrap_err();
        assert!(e.message.contains("(AWS::EC2::VPC::Id)"), "{}", e.message);
        let d = def("Subnets", ParamType::Aws { name: "List<AWS::EC2::Subnet::Id>".into(), list: true });
        assert_eq!(
            resolve_parameter(&d, Some(&node(json!("subnet-1,subnet-2")))).unwrap(),
            Value::List(vec![s("subnet-1"), s("subnet-2")])
        );
        assert_eq!(resolve_parameter(&d, Some(&node(json!(["subnet-1"])))).unwrap(), Value::List(vec![s("subnet-1")]));
    }

    #[test]
    fn no_echo_is_secret_and_never_in_messages() {
        let mut d = def("Password", ParamType::String);
        d.no_echo = true;
        assert_eq!(resolve_parameter(&d, Some(&node(json!("hunter22")))).unwrap(), Value::secret(s("hunter22")));
        d.allowed_pattern = Some(("[a-z]+".into(), sp(3)));
        let e = resolve_parameter(&d, Some(&node(json!("hunter22")))).unwrap_err();
        assert!(!e.to_string().contains("hunter22"), "{e}");
        assert_eq!(e.message, "parameter `Password` must match the pattern `[a-z]+`, found a value hidden by NoEcho");
        let mut d = def("Keys", ParamType::CommaDelimitedList);
        d.no_echo = true;
        assert_eq!(
            resolve_parameter(&d, Some(&node(json!("a,b")))).unwrap(),
            Value::secret(Value::List(vec![s("a"), s("b")]))
        );
    }

    #[test]
    fn a_secret_supplied_value_is_secret_and_hidden() {
        let mut d = def("Token", ParamType::String);
        d.default = Some(node(json!("public-default")));
        assert_eq!(
            resolve_parameter_supplied_secret(&d, Some(&node(json!("s3cr3t-value")))).unwrap(),
            Value::secret(s("s3cr3t-value"))
        );
        // Without a supplied value, the Default is used and stays plain.
        assert_eq!(resolve_parameter_supplied_secret(&d, None).unwrap(), s("public-default"));
        d.allowed_values = Some(vec![("a".into(), sp(1))]);
        let e = resolve_parameter_supplied_secret(&d, Some(&node(json!("s3cr3t-value")))).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t-value"), "{e}");
        assert!(e.message.ends_with("found a value hidden by NoEcho"), "{}", e.message);
    }
}
