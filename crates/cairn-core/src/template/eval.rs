//! Evaluation of CloudFormation intrinsic functions over a located [`Node`].
//!
//! Everything that depends on where an expression sits (parameters, resources, conditions,
//! mappings, exports) comes through [`EvalEnv`]. Four entry points:
//! - [`evaluate`]: an expression to a [`Value`];
//! - [`evaluate_condition`]: a condition expression to a `bool`;
//! - [`references`]: static analysis of what an expression refers to (the dependency graph);
//! - [`check_syntax`]: static shape check of every intrinsic, reporting all problems.
//!
//! Markers: [`Value::Unknown`] propagates (a function whose needed input is unknown gives
//! unknown); [`Value::Secret`] is contagious (a function with a secret input gives a secret)
//! but a secret inside a plain list or mapping stays where it is. Error messages never
//! contain a secret's text.
//!
//! `Ref: AWS::NoValue` (directly or through `Fn::If`) removes the list element or mapping
//! entry it is the value of; a whole expression that is "no value" evaluates to
//! [`Value::Null`]. Internally "no value" is `None`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine as _;

use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::template::ast::{Mapping, Node, NodeValue};
use crate::template::env::{EvalEnv, Reference};
use crate::value::Value;

/// Every intrinsic function cairn knows, by its long name.
pub const INTRINSIC_FUNCTIONS: &[&str] = &[
    "Ref",
    "Condition",
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::Equals",
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
    "Fn::FindInMap",
    "Fn::GetAtt",
    "Fn::GetAZs",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Length",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::ToJsonString",
];

/// The pseudo parameter that removes a property.
pub const NO_VALUE: &str = "AWS::NoValue";

const CONDITION_FUNCTIONS: &[&str] = &["Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"];

// What each function expects, as said in error messages.
const EXPECT_REF: &str = "a name (a string)";
const EXPECT_CONDITION: &str = "a condition name (a string)";
const EXPECT_GETATT: &str = "\"Resource.Attribute\" or [resource, attribute]";
const EXPECT_SUB: &str = "a string or [string, {variables}]";
const EXPECT_JOIN: &str = "[delimiter, list]";
const EXPECT_SELECT: &str = "[index, list]";
const EXPECT_SPLIT: &str = "[delimiter, string]";
const EXPECT_FINDINMAP: &str = "[map name, top-level key, second-level key]";
const EXPECT_IF: &str = "[condition name, value if true, value if false]";
const EXPECT_EQUALS: &str = "[value, value]";
const EXPECT_AND_OR: &str = "a list of 2 to 10 conditions";
const EXPECT_NOT: &str = "[condition]";
const EXPECT_BASE64: &str = "a string";
const EXPECT_CIDR: &str = "[ip block, count, cidr bits]";
const EXPECT_IMPORT: &str = "an export name (a string)";
const EXPECT_GETAZS: &str = "a region (a string, or \"\" for the stack's region)";
const EXPECT_LENGTH: &str = "a list";
const EXPECT_TOJSON: &str = "a mapping or a list";

const CONDITION_SHAPE: &str = "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition or a boolean";
const CONDITION_UNKNOWN: &str = "a condition can only depend on parameters and mappings";

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Evaluates an expression. A whole expression that is `AWS::NoValue` gives [`Value::Null`].
pub fn evaluate(node: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    Ok(eval(node, env)?.unwrap_or(Value::Null))
}

/// Evaluates a condition expression: `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`,
/// `Condition` or a literal boolean.
pub fn evaluate_condition(node: &Node, env: &dyn EvalEnv) -> Result<bool, Diagnostic> {
    if let Some((name, key, arg)) = node.as_intrinsic() {
        if CONDITION_FUNCTIONS.contains(&name) {
            return eval_condition_fn(name, key, arg, env);
        }
    }
    match &node.value {
        NodeValue::Bool(b) => Ok(*b),
        NodeValue::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        NodeValue::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Diagnostic::at(&node.span, format!("{CONDITION_SHAPE}, found {}", found(node)))),
    }
}

/// Every `Ref`, `Fn::GetAtt` and condition named in an expression, in source order,
/// including the variables of `Fn::Sub` strings (but not `${!Literal}`, nor the names
/// defined in `Fn::Sub`'s variable map). Pseudo parameters are included as `Ref`.
pub fn references(node: &Node) -> Vec<Reference> {
    let mut out = Vec::new();
    collect_refs(node, true, &mut out);
    out
}

/// Checks the shape of every intrinsic function in a tree without evaluating anything:
/// arity, argument kinds where they are literal, unknown function names. Reports all
/// problems found.
pub fn check_syntax(node: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_node(node, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Shared helpers: intrinsic detection, shapes and messages
// ---------------------------------------------------------------------------------------

/// An intrinsic call in value context. `Condition` is a function only inside conditions
/// (in values it is plain data, e.g. the `Condition` of an IAM policy statement), so it is
/// left out here and handled where a condition is expected.
fn intrinsic(node: &Node) -> Option<(&str, &Span, &Node)> {
    node.as_intrinsic().filter(|(name, _, _)| *name != "Condition")
}

/// How a node is described after "found" in messages.
fn found(node: &Node) -> String {
    if let Some((name, _, _)) = node.as_intrinsic() {
        return format!("`{name}`");
    }
    match &node.value {
        NodeValue::Seq(items) if items.len() == 1 => "a list of 1 item".to_string(),
        NodeValue::Seq(items) => format!("a list of {} items", items.len()),
        _ => node.kind().to_string(),
    }
}

/// A value for messages: short scalars shown, secrets never.
fn describe(v: &Value) -> String {
    match v {
        Value::Secret(inner) => format!("a secret ({})", inner.kind()),
        Value::String(s) if s.chars().count() <= 60 => format!("\"{s}\""),
        Value::String(_) => "a long string".to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.kind().to_string(),
    }
}

/// A key or name for messages (hidden when secret).
fn shown(s: &str, secret: bool) -> String {
    if secret {
        "(secret)".to_string()
    } else {
        format!("`{s}`")
    }
}

fn expect_err(name: &str, expects: &str, node: &Node) -> Diagnostic {
    Diagnostic::at(&node.span, format!("{name} expects {expects}, found {}", found(node)))
}

fn expect_value_err(name: &str, expects: &str, v: &Value, span: &Span) -> Diagnostic {
    Diagnostic::at(span, format!("{name} expects {expects}, found {}", v.kind()))
}

/// The argument as a literal list of `min..=max` items.
fn seq_args<'n>(name: &str, expects: &str, arg: &'n Node, min: usize, max: usize) -> Result<&'n [Node], Diagnostic> {
    match &arg.value {
        NodeValue::Seq(items) if intrinsic(arg).is_none() && (min..=max).contains(&items.len()) => Ok(items),
        _ => Err(expect_err(name, expects, arg)),
    }
}

fn is_intrinsic(node: &Node) -> bool {
    intrinsic(node).is_some()
}

fn is_scalar_node(node: &Node) -> bool {
    matches!(node.value, NodeValue::String(_) | NodeValue::Number(_) | NodeValue::Bool(_))
}

/// `Fn::GetAtt`'s argument: the resource, and the attribute either literal or an expression.
enum GetAttShape<'n> {
    Literal { resource: &'n str, attribute: &'n str },
    Expr { resource: &'n str, attribute: &'n Node },
}

fn getatt_shape(arg: &Node) -> Result<GetAttShape<'_>, Diagnostic> {
    match &arg.value {
        NodeValue::String(s) => match s.split_once('.') {
            Some((r, a)) if !r.is_empty() && !a.is_empty() => Ok(GetAttShape::Literal { resource: r, attribute: a }),
            _ => Err(Diagnostic::at(
                &arg.span,
                format!("Fn::GetAtt expects {EXPECT_GETATT}, found \"{s}\" (no attribute after a dot)"),
            )),
        },
        NodeValue::Seq(items) if items.len() == 2 && !is_intrinsic(arg) => {
            let Some(resource) = items[0].as_str() else {
                return Err(Diagnostic::at(
                    &items[0].span,
                    format!("Fn::GetAtt expects a resource's logical id (a string) first, found {}", found(&items[0])),
                ));
            };
            if resource.is_empty() {
                return Err(Diagnostic::at(
                    &items[0].span,
                    "Fn::GetAtt expects a resource's logical id, found an empty string",
                ));
            }
            match &items[1].value {
                NodeValue::String(a) if !a.is_empty() => Ok(GetAttShape::Literal { resource, attribute: a }),
                _ if is_intrinsic(&items[1]) => Ok(GetAttShape::Expr { resource, attribute: &items[1] }),
                _ => Err(Diagnostic::at(
                    &items[1].span,
                    format!("Fn::GetAtt expects an attribute name (a string) second, found {}", found(&items[1])),
                )),
            }
        }
        _ => Err(expect_err("Fn::GetAtt", EXPECT_GETATT, arg)),
    }
}

/// `Fn::Sub`'s argument: the template string node and the variables mapping.
fn sub_shape(arg: &Node) -> Result<(&Node, Option<&Mapping>), Diagnostic> {
    match &arg.value {
        NodeValue::String(_) => Ok((arg, None)),
        NodeValue::Seq(items) if items.len() == 2 && !is_intrinsic(arg) => {
            if items[0].as_str().is_none() {
                return Err(Diagnostic::at(
                    &items[0].span,
                    format!("Fn::Sub expects a string first, found {}", found(&items[0])),
                ));
            }
            match (&items[1].value, is_intrinsic(&items[1])) {
                (NodeValue::Map(m), false) => Ok((&items[0], Some(m))),
                _ => Err(Diagnostic::at(
                    &items[1].span,
                    format!("Fn::Sub expects a mapping of variables second, found {}", found(&items[1])),
                )),
            }
        }
        _ => Err(expect_err("Fn::Sub", EXPECT_SUB, arg)),
    }
}

#[derive(Debug, PartialEq)]
enum SubPart<'s> {
    Lit(String),
    Var(&'s str),
}

/// Splits an `Fn::Sub` string into literal text and `${...}` variables (trimmed).
fn parse_sub(s: &str) -> Result<Vec<SubPart<'_>>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        if let Some(stripped) = after.strip_prefix('!') {
            // `${!Literal}` is the literal text `${Literal}`.
            lit.push_str("${");
            rest = stripped;
            continue;
        }
        let Some(end) = after.find('}') else {
            return Err(format!("Fn::Sub has an unterminated `${{` (write `${{!` for a literal `${{`) in \"{s}\""));
        };
        let name = after[..end].trim();
        if name.is_empty() {
            return Err("Fn::Sub has an empty variable `${}`".to_string());
        }
        if !lit.is_empty() {
            parts.push(SubPart::Lit(std::mem::take(&mut lit)));
        }
        parts.push(SubPart::Var(name));
        rest = &after[end + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(SubPart::Lit(lit));
    }
    Ok(parts)
}

/// `Fn::FindInMap`'s optional fourth argument `{DefaultValue: x}`.
fn findinmap_default(items: &[Node]) -> Result<Option<&Node>, Diagnostic> {
    let Some(extra) = items.get(3) else { return Ok(None) };
    match extra.as_map() {
        Some(m) if m.len() == 1 && !is_intrinsic(extra) => {
            if let Some(d) = m.get("DefaultValue") {
                return Ok(Some(d));
            }
        }
        _ => {}
    }
    Err(Diagnostic::at(
        &extra.span,
        format!("Fn::FindInMap expects {{DefaultValue: value}} as its fourth item, found {}", found(extra)),
    ))
}

/// An integer from a number or a numeric string.
fn as_integer(v: &Value) -> Option<i64> {
    match v.reveal() {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
        }),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>().ok().or_else(|| {
                let f: f64 = t.parse().ok()?;
                (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
            })
        }
        _ => None,
    }
}

/// Checks of literal `Fn::Cidr` arguments shared by evaluation and `check_syntax`.
fn cidr_count_check(count: i64, span: &Span) -> Result<(), Diagnostic> {
    if (1..=256).contains(&count) {
        Ok(())
    } else {
        Err(Diagnostic::at(span, format!("Fn::Cidr count must be between 1 and 256, found {count}")))
    }
}

/// A parsed CIDR block: the network address (host bits cleared), its prefix length and
/// the address width (32 or 128).
#[derive(Clone, Copy, Debug)]
struct Block {
    base: u128,
    prefix: u32,
    width: u32,
}

fn parse_block(s: &str) -> Option<Block> {
    let (addr, prefix) = s.trim().split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    let (value, width) = if let Ok(a) = addr.parse::<Ipv4Addr>() {
        (u32::from(a) as u128, 32)
    } else {
        (u128::from(addr.parse::<Ipv6Addr>().ok()?), 128)
    };
    if prefix > width {
        return None;
    }
    let host = width - prefix;
    let base = value.checked_shr(host).unwrap_or(0).checked_shl(host).unwrap_or(0);
    Some(Block { base, prefix, width })
}

fn block_err(s: &str, span: &Span) -> Diagnostic {
    Diagnostic::at(
        span,
        format!("Fn::Cidr expects an IP block in CIDR notation (such as 10.0.0.0/16 or 2001:db8::/56), found \"{s}\""),
    )
}

fn format_addr(v: u128, width: u32) -> String {
    if width == 32 {
        Ipv4Addr::from(v as u32).to_string()
    } else {
        Ipv6Addr::from(v).to_string()
    }
}

/// `count` subnets of `2^bits` addresses each, allocated from the start of the block.
/// Errors are (message, which argument: 1 = count, 2 = bits).
fn cidr_subnets(block: Block, count: i64, bits: i64) -> Result<Vec<String>, (String, usize)> {
    let host = block.width - block.prefix;
    let block_text = format!("{}/{}", format_addr(block.base, block.width), block.prefix);
    if bits < 0 || bits > block.width as i64 {
        let v = if block.width == 32 { "IPv4" } else { "IPv6" };
        return Err((
            format!("Fn::Cidr cidr bits must be between 0 and {} for an {v} block, found {bits}", block.width),
            2,
        ));
    }
    let bits = bits as u32;
    let new_prefix = block.width - bits;
    if bits > host {
        return Err((
            format!("Fn::Cidr cidr bits {bits} give /{new_prefix} subnets, larger than the block {block_text}"),
            2,
        ));
    }
    let spare = host - bits;
    let fits = spare >= 9 || (count as u128) <= (1u128 << spare);
    if !fits {
        return Err((
            format!("Fn::Cidr cannot fit {count} /{new_prefix} subnets in {block_text} (it holds {})", 1u128 << spare),
            1,
        ));
    }
    Ok((0..count as u128)
        .map(|i| {
            let addr = block.base + i.checked_shl(bits).unwrap_or(0);
            format!("{}/{new_prefix}", format_addr(addr, block.width))
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

fn eval(node: &Node, env: &dyn EvalEnv) -> Result<Option<Value>, Diagnostic> {
    if let Some((name, key, arg)) = intrinsic(node) {
        return eval_intrinsic(name, key, arg, env);
    }
    Ok(Some(match &node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(*b),
        NodeValue::Number(n) => Value::Number(n.clone()),
        NodeValue::String(s) => Value::String(s.clone()),
        NodeValue::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(v) = eval(item, env)? {
                    out.push(v);
                }
            }
            Value::List(out)
        }
        NodeValue::Map(m) => {
            if let Some(d) = stray_function_key(m) {
                return Err(d);
            }
            let mut out = BTreeMap::new();
            for (k, v) in m.iter() {
                if let Some(v) = eval(v, env)? {
                    out.insert(k.name.clone(), v);
                }
            }
            Value::Map(out)
        }
    }))
}

/// A `Fn::...` key in a mapping with other keys.
fn stray_function_key(m: &Mapping) -> Option<Diagnostic> {
    if m.len() < 2 {
        return None;
    }
    let (k, _) = m.iter().find(|(k, _)| k.name.starts_with("Fn::"))?;
    Some(Diagnostic::at(&k.span, format!("`{}` must be the only key of its mapping, found {} keys", k.name, m.len())))
}

/// Evaluates an argument; "no value" becomes `Null`.
fn value_of(node: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    Ok(eval(node, env)?.unwrap_or(Value::Null))
}

fn mark(v: Value, secret: bool) -> Value {
    if secret {
        Value::secret(v)
    } else {
        v
    }
}

/// A list argument: a literal list (elements evaluated, "no value" dropped, each with its
/// own span) or an expression giving a list.
enum ListArg {
    Unknown,
    Known { items: Vec<(Value, Span)>, secret: bool },
}

fn list_arg(name: &str, expects: &str, node: &Node, env: &dyn EvalEnv) -> Result<ListArg, Diagnostic> {
    if let (NodeValue::Seq(elems), false) = (&node.value, is_intrinsic(node)) {
        let mut items = Vec::with_capacity(elems.len());
        for e in elems {
            if let Some(v) = eval(e, env)? {
                items.push((v, e.span.clone()));
            }
        }
        return Ok(ListArg::Known { items, secret: false });
    }
    let v = value_of(node, env)?;
    let secret = matches!(v, Value::Secret(_));
    match v.reveal() {
        Value::Unknown => Ok(ListArg::Unknown),
        Value::List(l) => {
            Ok(ListArg::Known { items: l.iter().map(|v| (v.clone(), node.span.clone())).collect(), secret })
        }
        other => Err(expect_value_err(name, expects, other, &node.span)),
    }
}

/// A scalar argument rendered as a string (numbers and booleans as CloudFormation does).
enum Scalar {
    Unknown,
    Known { text: String, secret: bool },
}

fn scalar_arg(
    name: &str,
    expects: &str,
    node: &Node,
    env: &dyn EvalEnv,
    strings_only: bool,
) -> Result<Scalar, Diagnostic> {
    let v = value_of(node, env)?;
    if v.is_unknown() {
        return Ok(Scalar::Unknown);
    }
    let secret = matches!(v, Value::Secret(_));
    let text = match v.reveal() {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) if !strings_only => v.to_cfn_string(),
        _ => None,
    };
    match text {
        Some(text) => Ok(Scalar::Known { text, secret }),
        None => Err(expect_value_err(name, expects, &v, &node.span)),
    }
}

fn eval_intrinsic(name: &str, key: &Span, arg: &Node, env: &dyn EvalEnv) -> Result<Option<Value>, Diagnostic> {
    let v = match name {
        "Ref" => {
            let Some(target) = arg.as_str() else {
                return Err(expect_err("Ref", EXPECT_REF, arg));
            };
            if target == NO_VALUE {
                return Ok(None);
            }
            env.resolve_ref(target, &arg.span)?
        }
        "Fn::If" => {
            let items = seq_args("Fn::If", EXPECT_IF, arg, 3, 3)?;
            let cond = if_condition_name(&items[0])?;
            let branch = if env.condition(cond, &items[0].span)? { &items[1] } else { &items[2] };
            return eval(branch, env);
        }
        "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => Value::Bool(eval_condition_fn(name, key, arg, env)?),
        "Fn::GetAtt" => eval_getatt(arg, env)?,
        "Fn::Sub" => eval_sub(arg, env)?,
        "Fn::Join" => eval_join(arg, env)?,
        "Fn::Select" => eval_select(arg, env)?,
        "Fn::Split" => eval_split(arg, env)?,
        "Fn::FindInMap" => return eval_findinmap(arg, env),
        "Fn::Base64" => match scalar_arg("Fn::Base64", EXPECT_BASE64, arg, env, false)? {
            Scalar::Unknown => Value::Unknown,
            Scalar::Known { text, secret } => {
                mark(Value::String(base64::engine::general_purpose::STANDARD.encode(text)), secret)
            }
        },
        "Fn::Cidr" => eval_cidr(arg, env)?,
        "Fn::ImportValue" => match scalar_arg("Fn::ImportValue", EXPECT_IMPORT, arg, env, true)? {
            Scalar::Unknown => Value::Unknown,
            Scalar::Known { text, secret } => mark(env.import_value(&text, &arg.span)?, secret),
        },
        "Fn::GetAZs" => eval_getazs(key, arg, env)?,
        "Fn::Length" => match list_arg("Fn::Length", EXPECT_LENGTH, arg, env)? {
            ListArg::Unknown => Value::Unknown,
            ListArg::Known { items, secret } => mark(Value::Number((items.len() as u64).into()), secret),
        },
        "Fn::ToJsonString" => {
            let v = value_of(arg, env)?;
            if !matches!(v.reveal(), Value::Map(_) | Value::List(_) | Value::Unknown) {
                return Err(expect_value_err("Fn::ToJsonString", EXPECT_TOJSON, &v, &arg.span));
            }
            match v.to_json() {
                None => Value::Unknown,
                Some(j) => {
                    let text = serde_json::to_string(&j).map_err(|e| {
                        Diagnostic::at(&arg.span, format!("Fn::ToJsonString could not render JSON: {e}"))
                    })?;
                    mark(Value::String(text), v.contains_secret())
                }
            }
        }
        other => return Err(unknown_function(other, key)),
    };
    Ok(Some(v))
}

fn unknown_function(name: &str, key: &Span) -> Diagnostic {
    let d = Diagnostic::at(key, format!("unknown intrinsic function `{name}`"));
    match did_you_mean(name, INTRINSIC_FUNCTIONS.iter().copied()) {
        Some(help) => d.with_help(help),
        None => d,
    }
}

fn if_condition_name(node: &Node) -> Result<&str, Diagnostic> {
    node.as_str().ok_or_else(|| {
        Diagnostic::at(&node.span, format!("Fn::If expects a condition name (a string) first, found {}", found(node)))
    })
}

fn eval_getatt(arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    match getatt_shape(arg)? {
        GetAttShape::Literal { resource, attribute } => env.resolve_getatt(resource, attribute, &arg.span),
        GetAttShape::Expr { resource, attribute } => {
            match scalar_arg("Fn::GetAtt", "an attribute name (a string)", attribute, env, true)? {
                Scalar::Unknown => Ok(Value::Unknown),
                Scalar::Known { text, secret } => Ok(mark(env.resolve_getatt(resource, &text, &arg.span)?, secret)),
            }
        }
    }
}

fn eval_sub(arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let (text_node, vars_map) = sub_shape(arg)?;
    let text = text_node.as_str().unwrap_or_default();
    let parts = parse_sub(text).map_err(|m| Diagnostic::at(&text_node.span, m))?;
    let mut vars: BTreeMap<&str, (Value, &Span)> = BTreeMap::new();
    if let Some(m) = vars_map {
        for (k, v) in m.iter() {
            vars.insert(k.name.as_str(), (value_of(v, env)?, &v.span));
        }
    }
    let mut out = String::new();
    let mut secret = false;
    let mut unknown = false;
    for part in &parts {
        let name = match part {
            SubPart::Lit(s) => {
                out.push_str(s);
                continue;
            }
            SubPart::Var(name) => *name,
        };
        let (value, span) = if let Some((v, span)) = vars.get(name) {
            (v.clone(), *span)
        } else if name == NO_VALUE {
            return Err(Diagnostic::at(&text_node.span, "Fn::Sub cannot substitute `${AWS::NoValue}`"));
        } else if let Some((r, a)) = name.split_once('.') {
            (env.resolve_getatt(r, a, &text_node.span)?, &text_node.span)
        } else {
            (env.resolve_ref(name, &text_node.span)?, &text_node.span)
        };
        if value.is_unknown() {
            unknown = true;
            continue;
        }
        secret |= matches!(value, Value::Secret(_));
        match value.to_cfn_string() {
            Some(s) => out.push_str(&s),
            None => {
                return Err(Diagnostic::at(
                    span,
                    format!(
                        "Fn::Sub variable `${{{name}}}` is {}; only strings, numbers and booleans can be substituted",
                        value.kind()
                    ),
                ))
            }
        }
    }
    Ok(if unknown { Value::Unknown } else { mark(Value::String(out), secret) })
}

fn eval_join(arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let items = seq_args("Fn::Join", EXPECT_JOIN, arg, 2, 2)?;
    let delim = scalar_arg("Fn::Join", "a delimiter (a string) first", &items[0], env, true)?;
    let list = list_arg("Fn::Join", "a list second", &items[1], env)?;
    let (Scalar::Known { text: delim, secret: delim_secret }, ListArg::Known { items, secret }) = (delim, list) else {
        return Ok(Value::Unknown);
    };
    let mut secret = secret || delim_secret;
    let mut parts = Vec::with_capacity(items.len());
    let mut unknown = false;
    for (v, span) in &items {
        if v.is_unknown() {
            unknown = true;
            continue;
        }
        secret |= matches!(v, Value::Secret(_));
        match v.to_cfn_string() {
            Some(s) => parts.push(s),
            None => {
                return Err(Diagnostic::at(
                    span,
                    format!("Fn::Join can only join strings, numbers and booleans, found {}", v.kind()),
                ))
            }
        }
    }
    Ok(if unknown { Value::Unknown } else { mark(Value::String(parts.join(&delim)), secret) })
}

fn select_index_err(v: &Value, span: &Span) -> Diagnostic {
    Diagnostic::at(span, format!("Fn::Select index must be a non-negative integer, found {}", describe(v)))
}

fn eval_select(arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let items = seq_args("Fn::Select", EXPECT_SELECT, arg, 2, 2)?;
    let index_v = value_of(&items[0], env)?;
    let list = list_arg("Fn::Select", "a list second", &items[1], env)?;
    if index_v.is_unknown() {
        return Ok(Value::Unknown);
    }
    let index = match as_integer(&index_v) {
        Some(i) if i >= 0 => i as usize,
        _ => return Err(select_index_err(&index_v, &items[0].span)),
    };
    let ListArg::Known { items: list, secret } = list else { return Ok(Value::Unknown) };
    let index_secret = matches!(index_v, Value::Secret(_));
    match list.get(index) {
        Some((v, _)) => Ok(mark(v.clone(), secret || index_secret)),
        None => Err(Diagnostic::at(
            &items[0].span,
            format!(
                "Fn::Select index {} is out of range for a list of {} item{}",
                if index_secret { "(secret)".to_string() } else { index.to_string() },
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            ),
        )),
    }
}

fn eval_split(arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let items = seq_args("Fn::Split", EXPECT_SPLIT, arg, 2, 2)?;
    let delim = scalar_arg("Fn::Split", "a delimiter (a string) first", &items[0], env, true)?;
    let source = scalar_arg("Fn::Split", "a string second", &items[1], env, false)?;
    let (Scalar::Known { text: delim, secret: s1 }, Scalar::Known { text, secret: s2 }) = (delim, source) else {
        return Ok(Value::Unknown);
    };
    if delim.is_empty() {
        return Err(Diagnostic::at(&items[0].span, "Fn::Split expects a non-empty delimiter"));
    }
    let list = text.split(delim.as_str()).map(Value::string).collect();
    Ok(mark(Value::List(list), s1 || s2))
}

fn eval_findinmap(arg: &Node, env: &dyn EvalEnv) -> Result<Option<Value>, Diagnostic> {
    let items = seq_args("Fn::FindInMap", EXPECT_FINDINMAP, arg, 3, 4)?;
    let default = findinmap_default(items)?;
    let what = ["a map name (a string)", "a top-level key (a string)", "a second-level key (a string)"];
    let mut keys = Vec::with_capacity(3);
    let mut unknown = false;
    for (node, what) in items[..3].iter().zip(what) {
        match scalar_arg("Fn::FindInMap", what, node, env, false)? {
            Scalar::Unknown => unknown = true,
            Scalar::Known { text, secret } => keys.push((text, secret)),
        }
    }
    if unknown {
        return Ok(Some(Value::Unknown));
    }
    let secret = keys.iter().any(|(_, s)| *s);
    let (map_name, map_secret) = &keys[0];
    let Some(mapping) = env.mapping(map_name) else {
        let d = Diagnostic::at(&items[0].span, format!("no mapping named {}", shown(map_name, *map_secret)));
        let names = env.mapping_names();
        return Err(match did_you_mean(map_name, names.iter().map(String::as_str)) {
            Some(h) if !map_secret => d.with_help(h),
            _ => d,
        });
    };
    let (top, top_secret) = &keys[1];
    let Some(second_level) = mapping.entries.get(top) else {
        if let Some(d) = default {
            return Ok(eval(d, env)?.map(|v| mark(v, secret)));
        }
        let d = Diagnostic::at(
            &items[1].span,
            format!("mapping `{}` has no top-level key {}", mapping.name, shown(top, *top_secret)),
        );
        return Err(match did_you_mean(top, mapping.entries.keys().map(String::as_str)) {
            Some(h) if !top_secret => d.with_help(h),
            _ => d,
        });
    };
    let (second, second_secret) = &keys[2];
    let Some(value) = second_level.get(second) else {
        if let Some(d) = default {
            return Ok(eval(d, env)?.map(|v| mark(v, secret)));
        }
        let d = Diagnostic::at(
            &items[2].span,
            format!(
                "mapping `{}` has no key {} under `{}`",
                mapping.name,
                shown(second, *second_secret),
                if *top_secret { "(secret)" } else { top }
            ),
        );
        return Err(match did_you_mean(second, second_level.keys().map(String::as_str)) {
            Some(h) if !second_secret => d.with_help(h),
            _ => d,
        });
    };
    Ok(eval(value, env)?.map(|v| mark(v, secret)))
}

fn eval_cidr(arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let items = seq_args("Fn::Cidr", EXPECT_CIDR, arg, 3, 3)?;
    let block = scalar_arg("Fn::Cidr", "an IP block (a string) first", &items[0], env, true)?;
    let count_v = value_of(&items[1], env)?;
    let bits_v = value_of(&items[2], env)?;
    let Scalar::Known { text: block_text, secret: block_secret } = block else { return Ok(Value::Unknown) };
    if count_v.is_unknown() || bits_v.is_unknown() {
        return Ok(Value::Unknown);
    }
    let Some(block) = parse_block(&block_text) else {
        if block_secret {
            return Err(Diagnostic::at(
                &items[0].span,
                "Fn::Cidr expects an IP block in CIDR notation, found a secret that is not one",
            ));
        }
        return Err(block_err(&block_text, &items[0].span));
    };
    let count = as_integer(&count_v).ok_or_else(|| {
        Diagnostic::at(&items[1].span, format!("Fn::Cidr count must be an integer, found {}", describe(&count_v)))
    })?;
    cidr_count_check(count, &items[1].span)?;
    let bits = as_integer(&bits_v).ok_or_else(|| {
        Diagnostic::at(&items[2].span, format!("Fn::Cidr cidr bits must be an integer, found {}", describe(&bits_v)))
    })?;
    let secret = block_secret || matches!(count_v, Value::Secret(_)) || matches!(bits_v, Value::Secret(_));
    match cidr_subnets(block, count, bits) {
        Ok(list) => Ok(mark(Value::List(list.into_iter().map(Value::String).collect()), secret)),
        Err((_, _)) if secret => Err(Diagnostic::at(&arg.span, "Fn::Cidr cannot allocate the subnets asked for")),
        Err((msg, which)) => Err(Diagnostic::at(&items[which].span, msg)),
    }
}

fn eval_getazs(key: &Span, arg: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let v = value_of(arg, env)?;
    let secret = matches!(v, Value::Secret(_));
    let region = match v.reveal() {
        Value::Unknown => return Ok(Value::Unknown),
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        _ => return Err(expect_value_err("Fn::GetAZs", EXPECT_GETAZS, &v, &arg.span)),
    };
    let (region, region_secret) = if region.is_empty() {
        let r = env.resolve_ref("AWS::Region", key)?;
        match r.reveal() {
            Value::Unknown => return Ok(Value::Unknown),
            Value::String(s) => (s.clone(), matches!(r, Value::Secret(_))),
            _ => return Err(expect_value_err("Fn::GetAZs", EXPECT_GETAZS, &r, &arg.span)),
        }
    } else {
        (region, false)
    };
    let azs = ["a", "b", "c"].iter().map(|z| Value::String(format!("{region}{z}"))).collect();
    Ok(mark(Value::List(azs), secret || region_secret))
}

/// Structural equality with CloudFormation's coercion of scalars to strings.
fn cfn_equal(a: &Value, b: &Value) -> bool {
    match (a.reveal(), b.reveal()) {
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| cfn_equal(p, q)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| cfn_equal(v, w)))
        }
        (Value::Null, Value::Null) => true,
        (x, y) => match (x.to_cfn_string(), y.to_cfn_string()) {
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
    }
}

fn condition_operand(node: &Node, env: &dyn EvalEnv) -> Result<Value, Diagnostic> {
    let v = value_of(node, env)?;
    if v.contains_unknown() {
        return Err(Diagnostic::at(&node.span, format!("{CONDITION_UNKNOWN}; this value is known only after up")));
    }
    Ok(v)
}

fn eval_condition_fn(name: &str, key: &Span, arg: &Node, env: &dyn EvalEnv) -> Result<bool, Diagnostic> {
    match name {
        "Fn::Equals" => {
            let items = seq_args("Fn::Equals", EXPECT_EQUALS, arg, 2, 2)?;
            let a = condition_operand(&items[0], env)?;
            let b = condition_operand(&items[1], env)?;
            Ok(cfn_equal(&a, &b))
        }
        "Fn::And" | "Fn::Or" => {
            let items = seq_args(name, EXPECT_AND_OR, arg, 2, 10)?;
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                results.push(evaluate_condition(item, env)?);
            }
            Ok(if name == "Fn::And" { results.iter().all(|b| *b) } else { results.iter().any(|b| *b) })
        }
        "Fn::Not" => {
            let items = seq_args("Fn::Not", EXPECT_NOT, arg, 1, 1)?;
            Ok(!evaluate_condition(&items[0], env)?)
        }
        "Condition" => match arg.as_str() {
            Some(c) => env.condition(c, &arg.span),
            None => Err(expect_err("Condition", EXPECT_CONDITION, arg)),
        },
        other => Err(Diagnostic::at(key, format!("{CONDITION_SHAPE}, found `{other}`"))),
    }
}

// ---------------------------------------------------------------------------------------
// Static analysis: references
// ---------------------------------------------------------------------------------------

/// `in_condition`: the node may be a condition (the root of an expression, or an operand
/// of `Fn::And`, `Fn::Or`, `Fn::Not`), where `Condition: name` is a function.
fn collect_refs(node: &Node, in_condition: bool, out: &mut Vec<Reference>) {
    if let Some(("Condition", _, arg)) = node.as_intrinsic() {
        if let (true, Some(s)) = (in_condition, arg.as_str()) {
            out.push(Reference::Condition { name: s.to_string(), span: arg.span.clone() });
            return;
        }
    }
    if let Some((name, _, arg)) = intrinsic(node) {
        match name {
            "Ref" => {
                if let Some(s) = arg.as_str() {
                    out.push(Reference::Ref { name: s.to_string(), span: arg.span.clone() });
                    return;
                }
            }
            "Fn::And" | "Fn::Or" | "Fn::Not" => {
                if let Some(items) = arg.as_seq() {
                    items.iter().for_each(|n| collect_refs(n, true, out));
                    return;
                }
            }
            "Fn::GetAtt" => match getatt_shape(arg) {
                Ok(GetAttShape::Literal { resource, attribute }) => {
                    out.push(Reference::GetAtt {
                        resource: resource.to_string(),
                        attribute: attribute.to_string(),
                        span: arg.span.clone(),
                    });
                    return;
                }
                Ok(GetAttShape::Expr { resource, attribute }) => {
                    out.push(Reference::GetAtt {
                        resource: resource.to_string(),
                        attribute: String::new(),
                        span: arg.span.clone(),
                    });
                    collect_refs(attribute, false, out);
                    return;
                }
                Err(_) => {
                    // `"A"` without a dot still depends on `A`.
                    if let Some(s) = arg.as_str() {
                        let resource = s.split('.').next().unwrap_or_default();
                        if !resource.is_empty() {
                            out.push(Reference::GetAtt {
                                resource: resource.to_string(),
                                attribute: String::new(),
                                span: arg.span.clone(),
                            });
                        }
                        return;
                    }
                }
            },
            "Fn::Sub" => {
                if let Ok((text_node, vars)) = sub_shape(arg) {
                    if let Ok(parts) = parse_sub(text_node.as_str().unwrap_or_default()) {
                        for part in parts {
                            let SubPart::Var(v) = part else { continue };
                            if vars.is_some_and(|m| m.get(v).is_some()) {
                                continue;
                            }
                            out.push(match v.split_once('.') {
                                Some((r, a)) => Reference::GetAtt {
                                    resource: r.to_string(),
                                    attribute: a.to_string(),
                                    span: text_node.span.clone(),
                                },
                                None => Reference::Ref { name: v.to_string(), span: text_node.span.clone() },
                            });
                        }
                    }
                    if let Some(m) = vars {
                        for (_, v) in m.iter() {
                            collect_refs(v, false, out);
                        }
                    }
                    return;
                }
            }
            "Fn::If" => {
                if let Some(items) = arg.as_seq() {
                    if let Some(first) = items.first() {
                        if let Some(c) = first.as_str() {
                            out.push(Reference::Condition { name: c.to_string(), span: first.span.clone() });
                        } else {
                            collect_refs(first, false, out);
                        }
                    }
                    for item in items.iter().skip(1) {
                        collect_refs(item, false, out);
                    }
                    return;
                }
            }
            _ => {}
        }
        collect_refs(arg, false, out);
        return;
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().for_each(|n| collect_refs(n, false, out)),
        NodeValue::Map(m) => m.iter().for_each(|(_, n)| collect_refs(n, false, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Static analysis: syntax
// ---------------------------------------------------------------------------------------

fn check_node(node: &Node, out: &mut Vec<Diagnostic>) {
    if let Some((name, key, arg)) = intrinsic(node) {
        check_intrinsic(name, key, arg, out);
        return;
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().for_each(|n| check_node(n, out)),
        NodeValue::Map(m) => {
            if let Some(d) = stray_function_key(m) {
                out.push(d);
            }
            m.iter().for_each(|(_, n)| check_node(n, out));
        }
        _ => {}
    }
}

/// A node that must be a condition (`Fn::And`/`Or`/`Not` items).
fn check_condition_node(node: &Node, out: &mut Vec<Diagnostic>) {
    if let Some((name, key, arg)) = node.as_intrinsic() {
        if CONDITION_FUNCTIONS.contains(&name) {
            if name == "Condition" && arg.as_str().is_none() {
                out.push(expect_err("Condition", EXPECT_CONDITION, arg));
                return;
            }
            check_intrinsic(name, key, arg, out);
            return;
        }
    }
    match &node.value {
        NodeValue::Bool(_) => {}
        NodeValue::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {}
        _ => {
            out.push(Diagnostic::at(&node.span, format!("{CONDITION_SHAPE}, found {}", found(node))));
            check_node(node, out);
        }
    }
}

/// Literal-kind check of a single argument: fine when it is an intrinsic or `ok(node)`.
fn check_literal(name: &str, expects: &str, node: &Node, ok: bool, out: &mut Vec<Diagnostic>) {
    if !is_intrinsic(node) && !ok {
        out.push(expect_err(name, expects, node));
    }
}

fn check_intrinsic(name: &str, key: &Span, arg: &Node, out: &mut Vec<Diagnostic>) {
    let push = |out: &mut Vec<Diagnostic>, r: Result<(), Diagnostic>| {
        if let Err(d) = r {
            out.push(d);
        }
    };
    match name {
        "Ref" => {
            if arg.as_str().is_none() {
                out.push(expect_err("Ref", EXPECT_REF, arg));
            }
        }
        "Condition" => {
            if arg.as_str().is_none() {
                out.push(expect_err("Condition", EXPECT_CONDITION, arg));
            }
        }
        "Fn::GetAtt" => match getatt_shape(arg) {
            Ok(GetAttShape::Expr { attribute, .. }) => check_node(attribute, out),
            Ok(GetAttShape::Literal { .. }) => {}
            Err(d) => out.push(d),
        },
        "Fn::Sub" => match sub_shape(arg) {
            Ok((text_node, vars)) => {
                if let Err(m) = parse_sub(text_node.as_str().unwrap_or_default()) {
                    out.push(Diagnostic::at(&text_node.span, m));
                }
                if let Some(m) = vars {
                    m.iter().for_each(|(_, v)| check_node(v, out));
                }
            }
            Err(d) => out.push(d),
        },
        "Fn::Join" => match seq_args(name, EXPECT_JOIN, arg, 2, 2) {
            Ok(items) => {
                check_literal(name, "a delimiter (a string) first", &items[0], items[0].as_str().is_some(), out);
                check_literal(name, "a list second", &items[1], items[1].as_seq().is_some(), out);
                if let Some(elems) = items[1].as_seq() {
                    for e in elems {
                        if !is_intrinsic(e) && !is_scalar_node(e) {
                            out.push(Diagnostic::at(
                                &e.span,
                                format!("Fn::Join can only join strings, numbers and booleans, found {}", found(e)),
                            ));
                        }
                    }
                }
                items.iter().for_each(|n| check_node(n, out));
            }
            Err(d) => out.push(d),
        },
        "Fn::Select" => match seq_args(name, EXPECT_SELECT, arg, 2, 2) {
            Ok(items) => {
                let literal_index = items[0].to_literal();
                if !is_intrinsic(&items[0]) {
                    let v = literal_index.clone().unwrap_or(Value::Null);
                    match as_integer(&v) {
                        Some(i) if i >= 0 => {
                            // Range check against a literal list without intrinsics.
                            if let Some(Value::List(l)) = items[1].to_literal() {
                                if i as usize >= l.len() {
                                    out.push(Diagnostic::at(
                                        &items[0].span,
                                        format!(
                                            "Fn::Select index {i} is out of range for a list of {} item{}",
                                            l.len(),
                                            if l.len() == 1 { "" } else { "s" }
                                        ),
                                    ));
                                }
                            }
                        }
                        _ => out.push(select_index_err(&v, &items[0].span)),
                    }
                }
                check_literal(name, "a list second", &items[1], items[1].as_seq().is_some(), out);
                items.iter().for_each(|n| check_node(n, out));
            }
            Err(d) => out.push(d),
        },
        "Fn::Split" => match seq_args(name, EXPECT_SPLIT, arg, 2, 2) {
            Ok(items) => {
                match items[0].as_str() {
                    Some("") => out.push(Diagnostic::at(&items[0].span, "Fn::Split expects a non-empty delimiter")),
                    Some(_) => {}
                    None => check_literal(name, "a delimiter (a string) first", &items[0], false, out),
                }
                check_literal(name, "a string second", &items[1], is_scalar_node(&items[1]), out);
                items.iter().for_each(|n| check_node(n, out));
            }
            Err(d) => out.push(d),
        },
        "Fn::FindInMap" => match seq_args(name, EXPECT_FINDINMAP, arg, 3, 4) {
            Ok(items) => {
                let what = ["a map name (a string)", "a top-level key (a string)", "a second-level key (a string)"];
                for (node, what) in items[..3].iter().zip(what) {
                    check_literal(name, what, node, is_scalar_node(node), out);
                    check_node(node, out);
                }
                match findinmap_default(items) {
                    Ok(Some(d)) => check_node(d, out),
                    Ok(None) => {}
                    Err(d) => out.push(d),
                }
            }
            Err(d) => out.push(d),
        },
        "Fn::If" => match seq_args(name, EXPECT_IF, arg, 3, 3) {
            Ok(items) => {
                push(out, if_condition_name(&items[0]).map(|_| ()));
                items[1..].iter().for_each(|n| check_node(n, out));
            }
            Err(d) => out.push(d),
        },
        "Fn::Equals" => match seq_args(name, EXPECT_EQUALS, arg, 2, 2) {
            Ok(items) => items.iter().for_each(|n| check_node(n, out)),
            Err(d) => out.push(d),
        },
        "Fn::And" | "Fn::Or" => match seq_args(name, EXPECT_AND_OR, arg, 2, 10) {
            Ok(items) => items.iter().for_each(|n| check_condition_node(n, out)),
            Err(d) => out.push(d),
        },
        "Fn::Not" => match seq_args(name, EXPECT_NOT, arg, 1, 1) {
            Ok(items) => check_condition_node(&items[0], out),
            Err(d) => out.push(d),
        },
        "Fn::Base64" => {
            check_literal(name, EXPECT_BASE64, arg, is_scalar_node(arg), out);
            check_node(arg, out);
        }
        "Fn::Cidr" => match seq_args(name, EXPECT_CIDR, arg, 3, 3) {
            Ok(items) => {
                let block = match &items[0].value {
                    NodeValue::String(s) if !is_intrinsic(&items[0]) => {
                        let b = parse_block(s);
                        if b.is_none() {
                            out.push(block_err(s, &items[0].span));
                        }
                        b
                    }
                    _ => {
                        check_literal(name, "an IP block (a string) first", &items[0], false, out);
                        None
                    }
                };
                let count = literal_integer("count", &items[1], out);
                if let Some(c) = count {
                    push(out, cidr_count_check(c, &items[1].span));
                }
                let bits = literal_integer("cidr bits", &items[2], out);
                if let (Some(b), Some(c), Some(bits)) = (block, count, bits) {
                    if (1..=256).contains(&c) {
                        if let Err((msg, which)) = cidr_subnets(b, c, bits) {
                            out.push(Diagnostic::at(&items[which].span, msg));
                        }
                    }
                }
                items.iter().for_each(|n| check_node(n, out));
            }
            Err(d) => out.push(d),
        },
        "Fn::ImportValue" => {
            check_literal(name, EXPECT_IMPORT, arg, arg.as_str().is_some(), out);
            check_node(arg, out);
        }
        "Fn::GetAZs" => {
            let ok = matches!(arg.value, NodeValue::String(_) | NodeValue::Null);
            check_literal(name, EXPECT_GETAZS, arg, ok, out);
            check_node(arg, out);
        }
        "Fn::Length" => {
            check_literal(name, EXPECT_LENGTH, arg, arg.as_seq().is_some(), out);
            check_node(arg, out);
        }
        "Fn::ToJsonString" => {
            let ok = matches!(arg.value, NodeValue::Seq(_) | NodeValue::Map(_));
            check_literal(name, EXPECT_TOJSON, arg, ok, out);
            check_node(arg, out);
        }
        other => {
            out.push(unknown_function(other, key));
            check_node(arg, out);
        }
    }
}

/// A literal integer argument of `Fn::Cidr` (None when it is an intrinsic or invalid).
fn literal_integer(what: &str, node: &Node, out: &mut Vec<Diagnostic>) -> Option<i64> {
    if is_intrinsic(node) {
        return None;
    }
    let v = node.to_literal().unwrap_or(Value::Null);
    let i = as_integer(&v);
    if i.is_none() {
        out.push(Diagnostic::at(&node.span, format!("Fn::Cidr {what} must be an integer, found {}", describe(&v))));
    }
    i
}

#[cfg(test)]
pub(crate) mod tests;
