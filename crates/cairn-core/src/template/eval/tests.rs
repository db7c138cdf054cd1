//! Tests of intrinsic evaluation. Nodes are built from JSON with distinct spans (offset =
//! preorder index of the node or key), so a test can assert which node an error points at.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::json;

use super::*;
use crate::diag::did_you_mean;
use crate::template::ast::Key;
use crate::template::model::MappingDef;

// ---- helpers shared with other test modules ------------------------------------------

/// A span whose offset (and line) identifies the `i`th node or key in preorder.
pub(crate) fn sp(i: usize) -> Span {
    Span { file: "t.yaml".into(), line: i as u32 + 1, col: 1, offset: i, len: 1 }
}

/// A node tree from JSON; every node and key gets its own span.
pub(crate) fn node(j: serde_json::Value) -> Node {
    fn build(j: &serde_json::Value, next: &mut usize) -> Node {
        let span = sp(*next);
        *next += 1;
        let value = match j {
            serde_json::Value::Null => NodeValue::Null,
            serde_json::Value::Bool(b) => NodeValue::Bool(*b),
            serde_json::Value::Number(n) => NodeValue::Number(n.clone()),
            serde_json::Value::String(s) => NodeValue::String(s.clone()),
            serde_json::Value::Array(a) => NodeValue::Seq(a.iter().map(|v| build(v, next)).collect()),
            serde_json::Value::Object(o) => {
                let mut entries = Vec::new();
                for (k, v) in o {
                    let key = Key { name: k.clone(), span: sp(*next) };
                    *next += 1;
                    entries.push((key, build(v, next)));
                }
                NodeValue::Map(Mapping { entries })
            }
        };
        Node::new(value, span)
    }
    build(&j, &mut 0)
}

/// The node at a path of mapping keys and list indexes.
pub(crate) fn at<'a>(n: &'a Node, path: &[&str]) -> &'a Node {
    path.iter().fold(n, |n, p| match &n.value {
        NodeValue::Map(m) => m.get(p).unwrap_or_else(|| panic!("no key {p}")),
        NodeValue::Seq(s) => &s[p.parse::<usize>().unwrap()],
        _ => panic!("cannot descend into {p}"),
    })
}

/// The span of the key `key` of the mapping at `path`.
pub(crate) fn key_span(n: &Node, path: &[&str], key: &str) -> Span {
    at(n, path).as_map().unwrap().get_entry(key).unwrap().0.span.clone()
}

#[derive(Default)]
pub(crate) struct TestEnv {
    pub refs: BTreeMap<String, Value>,
    pub attrs: BTreeMap<(String, String), Value>,
    pub conditions: BTreeMap<String, bool>,
    pub mappings: IndexMap<String, MappingDef>,
    pub exports: BTreeMap<String, Value>,
}

impl TestEnv {
    pub fn new() -> Self {
        let mut env = TestEnv::default();
        for (k, v) in [
            ("AWS::Region", s("eu-west-1")),
            ("AWS::AccountId", s("123456789012")),
            ("AWS::StackName", s("dev")),
            ("Env", s("prod")),
            ("Count", s("2")),
            ("Names", Value::List(vec![s("a"), s("b"), s("c")])),
            ("Password", Value::secret(s("hunter22"))),
            ("SecretList", Value::secret(Value::List(vec![s("x"), s("y")]))),
            ("Bucket", s("my-bucket")),
            ("Pending", Value::Unknown),
            ("Zone", s("")),
            ("Block", s("10.1.0.0/16")),
        ] {
            env.refs.insert(k.into(), v);
        }
        for (r, a, v) in [
            ("Bucket", "Arn", s("arn:aws:s3:::my-bucket")),
            ("Role", "Arn", Value::Unknown),
            ("Stack", "Outputs.Url", s("https://x")),
            ("Db", "Endpoint.Address", s("db.local")),
            ("Db", "Port", Value::Number(5432.into())),
        ] {
            env.attrs.insert((r.into(), a.into()), v);
        }
        env.conditions.insert("IsProd".into(), true);
        env.conditions.insert("IsDev".into(), false);
        let m = node(json!({
            "us-east-1": {"Ami": "ami-1", "Size": 3, "Extra": {"Ref": "AWS::NoValue"}},
            "eu-west-1": {"Ami": "ami-2", "Size": 5}
        }));
        let mut entries = IndexMap::new();
        for (k, v) in m.as_map().unwrap().iter() {
            let inner = v.as_map().unwrap().iter().map(|(k, v)| (k.name.clone(), v.clone())).collect();
            entries.insert(k.name.clone(), inner);
        }
        env.mappings.insert("RegionMap".into(), MappingDef { name: "RegionMap".into(), span: sp(0), entries });
        env.exports.insert("net-VpcId".into(), s("vpc-123"));
        env
    }
}

impl EvalEnv for TestEnv {
    fn resolve_ref(&self, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        assert_ne!(name, NO_VALUE, "AWS::NoValue must never reach the env");
        self.refs.get(name).cloned().ok_or_else(|| {
            let d = Diagnostic::at(span, format!("unknown reference `{name}`"));
            match did_you_mean(name, self.refs.keys().map(String::as_str)) {
                Some(h) => d.with_help(h),
                None => d,
            }
        })
    }
    fn resolve_getatt(&self, resource: &str, attribute: &str, span: &Span) -> Result<Value, Diagnostic> {
        self.attrs
            .get(&(resource.to_string(), attribute.to_string()))
            .cloned()
            .ok_or_else(|| Diagnostic::at(span, format!("unknown attribute `{resource}.{attribute}`")))
    }
    fn condition(&self, name: &str, span: &Span) -> Result<bool, Diagnostic> {
        self.conditions.get(name).copied().ok_or_else(|| Diagnostic::at(span, format!("unknown condition `{name}`")))
    }
    fn mapping(&self, name: &str) -> Option<&MappingDef> {
        self.mappings.get(name)
    }
    fn mapping_names(&self) -> Vec<String> {
        self.mappings.keys().cloned().collect()
    }
    fn import_value(&self, name: &str, span: &Span) -> Result<Value, Diagnostic> {
        self.exports.get(name).cloned().ok_or_else(|| Diagnostic::at(span, format!("no stack exports `{name}`")))
    }
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|v| s(v)).collect())
}

fn num(n: i64) -> Value {
    Value::Number(n.into())
}

fn ev(j: serde_json::Value) -> Value {
    evaluate(&node(j), &TestEnv::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// Evaluates and expects an error; returns it with the node for span checks.
fn ev_err(j: serde_json::Value) -> (Diagnostic, Node) {
    let n = node(j);
    match evaluate(&n, &TestEnv::new()) {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e, n),
    }
}

fn cond(j: serde_json::Value) -> Result<bool, Diagnostic> {
    evaluate_condition(&node(j), &TestEnv::new())
}

fn syntax(j: serde_json::Value) -> Vec<String> {
    check_syntax(&node(j)).into_iter().map(|d| d.message).collect()
}

// ---- plain values and NoValue -------------------------------------------------------

#[test]
fn plain_values_evaluate_recursively() {
    assert_eq!(ev(json!(null)), Value::Null);
    assert_eq!(ev(json!(true)), Value::Bool(true));
    assert_eq!(ev(json!(3)), num(3));
    assert_eq!(
        ev(json!({"b": [1, "x"], "a": {"Ref": "Env"}})),
        Value::Map(BTreeMap::from([
            ("a".to_string(), s("prod")),
            ("b".to_string(), Value::List(vec![num(1), s("x")])),
        ]))
    );
}

#[test]
fn novalue_is_dropped_from_maps_and_lists() {
    let v = ev(json!({
        "Keep": 1,
        "Drop": {"Ref": "AWS::NoValue"},
        "DropIf": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, 2]},
        "List": [1, {"Ref": "AWS::NoValue"}, {"Fn::If": ["IsDev", 9, {"Ref": "AWS::NoValue"}]}, 3]
    }));
    assert_eq!(
        v,
        Value::Map(BTreeMap::from([
            ("Keep".to_string(), num(1)),
            ("List".to_string(), Value::List(vec![num(1), num(3)])),
        ]))
    );
    assert_eq!(ev(json!({"Ref": "AWS::NoValue"})), Value::Null);
    assert_eq!(ev(json!({"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, 1]})), Value::Null);
}

#[test]
fn function_key_with_other_keys_is_an_error() {
    let (e, n) = ev_err(json!({"Fn::Join": ["", []], "Other": 1}));
    assert_eq!(e.message, "`Fn::Join` must be the only key of its mapping, found 2 keys");
    assert_eq!(e.span, Some(key_span(&n, &[], "Fn::Join")));
}

#[test]
fn condition_key_with_a_mapping_is_plain_data() {
    // IAM policy statements have `Condition` mappings.
    let v = ev(json!({"Condition": {"StringEquals": {"aws:x": "y"}}}));
    assert!(v.as_map().unwrap().contains_key("Condition"));
    // `Condition: name` is a function only where a condition is expected.
    assert_eq!(ev(json!({"Condition": "IsDev"})), Value::Map(BTreeMap::from([("Condition".to_string(), s("IsDev"))])));
}

#[test]
fn unknown_function_suggests_a_name() {
    let (e, n) = ev_err(json!({"Fn::Joinn": ["", []]}));
    assert_eq!(e.message, "unknown intrinsic function `Fn::Joinn`");
    assert_eq!(e.help.as_deref(), Some("did you mean `Fn::Join`?"));
    assert_eq!(e.span, Some(key_span(&n, &[], "Fn::Joinn")));
}

// ---- Ref -----------------------------------------------------------------------------

#[test]
fn ref_resolves_through_env() {
    assert_eq!(ev(json!({"Ref": "Env"})), s("prod"));
    assert_eq!(ev(json!({"Ref": "AWS::Region"})), s("eu-west-1"));
    let (e, n) = ev_err(json!({"Ref": "Envv"}));
    assert_eq!(e.message, "unknown reference `Envv`");
    assert_eq!(e.help.as_deref(), Some("did you mean `Env`?"));
    assert_eq!(e.span, Some(at(&n, &["Ref"]).span.clone()));
    let (e, n) = ev_err(json!({"Ref": ["Env"]}));
    assert_eq!(e.message, "Ref expects a name (a string), found a list of 1 item");
    assert_eq!(e.span, Some(at(&n, &["Ref"]).span.clone()));
}

// ---- Fn::GetAtt ----------------------------------------------------------------------

#[test]
fn getatt_forms() {
    assert_eq!(ev(json!({"Fn::GetAtt": "Bucket.Arn"})), s("arn:aws:s3:::my-bucket"));
    assert_eq!(ev(json!({"Fn::GetAtt": ["Bucket", "Arn"]})), s("arn:aws:s3:::my-bucket"));
    // The first dot splits: the attribute may contain dots.
    assert_eq!(ev(json!({"Fn::GetAtt": "Stack.Outputs.Url"})), s("https://x"));
    assert_eq!(ev(json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]})), s("db.local"));
    // The attribute may be an expression.
    let mut env = TestEnv::new();
    env.refs.insert("Attr".into(), s("Arn"));
    let n = node(json!({"Fn::GetAtt": ["Bucket", {"Ref": "Attr"}]}));
    assert_eq!(evaluate(&n, &env).unwrap(), s("arn:aws:s3:::my-bucket"));
    assert_eq!(ev(json!({"Fn::GetAtt": ["Bucket", {"Ref": "Pending"}]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::GetAtt": "Role.Arn"})), Value::Unknown);
}

#[test]
fn getatt_errors() {
    let (e, n) = ev_err(json!({"Fn::GetAtt": "Bucket"}));
    assert_eq!(
        e.message,
        "Fn::GetAtt expects \"Resource.Attribute\" or [resource, attribute], found \"Bucket\" (no attribute after a dot)"
    );
    assert_eq!(e.span, Some(at(&n, &["Fn::GetAtt"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::GetAtt": ["Bucket"]}));
    assert_eq!(e.message, "Fn::GetAtt expects \"Resource.Attribute\" or [resource, attribute], found a list of 1 item");
    let (e, n) = ev_err(json!({"Fn::GetAtt": [{"Ref": "X"}, "Arn"]}));
    assert_eq!(e.message, "Fn::GetAtt expects a resource's logical id (a string) first, found `Ref`");
    assert_eq!(e.span, Some(at(&n, &["Fn::GetAtt", "0"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::GetAtt": ["Bucket", 3]}));
    assert_eq!(e.message, "Fn::GetAtt expects an attribute name (a string) second, found a number");
    assert_eq!(e.span, Some(at(&n, &["Fn::GetAtt", "1"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::GetAtt": ["Bucket", {"Ref": "Names"}]}));
    assert_eq!(e.message, "Fn::GetAtt expects an attribute name (a string), found a list");
    let (e, _) = ev_err(json!({"Fn::GetAtt": "Bucket.Nope"}));
    assert_eq!(e.message, "unknown attribute `Bucket.Nope`");
}

// ---- Fn::Sub -------------------------------------------------------------------------

#[test]
fn sub_string_form() {
    assert_eq!(
        ev(json!({"Fn::Sub": "arn:aws:s3:::${Bucket}/${AWS::Region}/${ Env }"})),
        s("arn:aws:s3:::my-bucket/eu-west-1/prod")
    );
    assert_eq!(ev(json!({"Fn::Sub": "${Bucket.Arn}!"})), s("arn:aws:s3:::my-bucket!"));
    assert_eq!(ev(json!({"Fn::Sub": "${Stack.Outputs.Url}"})), s("https://x"));
    assert_eq!(ev(json!({"Fn::Sub": "port ${Db.Port}"})), s("port 5432"));
    assert_eq!(ev(json!({"Fn::Sub": "echo ${!Literal} $HOME ${!a}${Env}"})), s("echo ${Literal} $HOME ${a}prod"));
    assert_eq!(ev(json!({"Fn::Sub": "no variables"})), s("no variables"));
    assert_eq!(ev(json!({"Fn::Sub": ""})), s(""));
}

#[test]
fn sub_with_variables() {
    assert_eq!(
        ev(
            json!({"Fn::Sub": ["${Name}-${Env}-${N}-${B}", {"Name": {"Ref": "Bucket"}, "Env": "over", "N": 7, "B": true}]})
        ),
        s("my-bucket-over-7-true")
    );
    // Variables may have dots in their name; the variables win over GetAtt.
    assert_eq!(ev(json!({"Fn::Sub": ["${Bucket.Arn}", {"Bucket.Arn": "mine"}]})), s("mine"));
}

#[test]
fn sub_unknown_and_secret() {
    assert_eq!(ev(json!({"Fn::Sub": "${Role.Arn}/x"})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Sub": ["${X}", {"X": {"Ref": "Pending"}}]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Sub": "pw=${Password}"})), Value::secret(s("pw=hunter22")));
    // An unused unknown or secret variable does not matter.
    assert_eq!(ev(json!({"Fn::Sub": ["a", {"X": {"Ref": "Pending"}, "Y": {"Ref": "Password"}}]})), s("a"));
}

#[test]
fn sub_errors() {
    let (e, n) = ev_err(json!({"Fn::Sub": "abc ${Env"}));
    assert_eq!(e.message, "Fn::Sub has an unterminated `${` (write `${!` for a literal `${`) in \"abc ${Env\"");
    assert_eq!(e.span, Some(at(&n, &["Fn::Sub"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Sub": "a ${ } b"}));
    assert_eq!(e.message, "Fn::Sub has an empty variable `${}`");
    let (e, n) = ev_err(json!({"Fn::Sub": "${Nope}"}));
    assert_eq!(e.message, "unknown reference `Nope`");
    assert_eq!(e.span, Some(at(&n, &["Fn::Sub"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Sub": "${Names}"}));
    assert_eq!(
        e.message,
        "Fn::Sub variable `${Names}` is a list; only strings, numbers and booleans can be substituted"
    );
    let (e, n) = ev_err(json!({"Fn::Sub": ["${X}", {"X": {"Ref": "SecretList"}}]}));
    assert_eq!(e.span, Some(at(&n, &["Fn::Sub", "1", "X"]).span.clone()));
    assert_eq!(e.message, "Fn::Sub variable `${X}` is a list; only strings, numbers and booleans can be substituted");
    let (e, _) = ev_err(json!({"Fn::Sub": 3}));
    assert_eq!(e.message, "Fn::Sub expects a string or [string, {variables}], found a number");
    let (e, n) = ev_err(json!({"Fn::Sub": ["${X}", ["X"]]}));
    assert_eq!(e.message, "Fn::Sub expects a mapping of variables second, found a list of 1 item");
    assert_eq!(e.span, Some(at(&n, &["Fn::Sub", "1"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Sub": [{"Ref": "Env"}, {}]}));
    assert_eq!(e.message, "Fn::Sub expects a string first, found `Ref`");
    let (e, _) = ev_err(json!({"Fn::Sub": "${AWS::NoValue}"}));
    assert_eq!(e.message, "Fn::Sub cannot substitute `${AWS::NoValue}`");
}

#[test]
fn parse_sub_parts() {
    assert_eq!(
        parse_sub("a${B}c${!D}${ E.F }").unwrap(),
        vec![SubPart::Lit("a".into()), SubPart::Var("B"), SubPart::Lit("c${D}".into()), SubPart::Var("E.F")]
    );
    assert_eq!(parse_sub("${!unterminated").unwrap(), vec![SubPart::Lit("${unterminated".into())]);
    assert_eq!(parse_sub("$ {x} $").unwrap(), vec![SubPart::Lit("$ {x} $".into())]);
}

// ---- Fn::Join ------------------------------------------------------------------------

#[test]
fn join_success() {
    assert_eq!(ev(json!({"Fn::Join": ["-", ["a", 1, true, {"Ref": "Env"}]]})), s("a-1-true-prod"));
    assert_eq!(ev(json!({"Fn::Join": [",", {"Ref": "Names"}]})), s("a,b,c"));
    assert_eq!(ev(json!({"Fn::Join": ["", []]})), s(""));
    assert_eq!(ev(json!({"Fn::Join": ["", ["a", {"Ref": "AWS::NoValue"}, "b"]]})), s("ab"));
    assert_eq!(ev(json!({"Fn::Join": ["/", {"Fn::Split": [",", "x,y"]}]})), s("x/y"));
}

#[test]
fn join_unknown_and_secret() {
    assert_eq!(ev(json!({"Fn::Join": ["", ["a", {"Fn::GetAtt": "Role.Arn"}]]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Join": ["", {"Ref": "Pending"}]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Join": [":", ["u", {"Ref": "Password"}]]})), Value::secret(s("u:hunter22")));
    assert_eq!(ev(json!({"Fn::Join": [":", {"Ref": "SecretList"}]})), Value::secret(s("x:y")));
}

#[test]
fn join_errors() {
    let (e, n) = ev_err(json!({"Fn::Join": "abc"}));
    assert_eq!(e.message, "Fn::Join expects [delimiter, list], found a string");
    assert_eq!(e.span, Some(at(&n, &["Fn::Join"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Join": ["", "a", "b"]}));
    assert_eq!(e.message, "Fn::Join expects [delimiter, list], found a list of 3 items");
    let (e, n) = ev_err(json!({"Fn::Join": ["", ["a", ["b"]]]}));
    assert_eq!(e.message, "Fn::Join can only join strings, numbers and booleans, found a list");
    assert_eq!(e.span, Some(at(&n, &["Fn::Join", "1", "1"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::Join": ["", {"Ref": "Env"}]}));
    assert_eq!(e.message, "Fn::Join expects a list second, found a string");
    assert_eq!(e.span, Some(at(&n, &["Fn::Join", "1"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::Join": [1, ["a"]]}));
    assert_eq!(e.message, "Fn::Join expects a delimiter (a string) first, found a number");
    assert_eq!(e.span, Some(at(&n, &["Fn::Join", "0"]).span.clone()));
}

// ---- Fn::Select ----------------------------------------------------------------------

#[test]
fn select_success() {
    assert_eq!(ev(json!({"Fn::Select": [1, ["a", "b"]]})), s("b"));
    assert_eq!(ev(json!({"Fn::Select": ["0", {"Ref": "Names"}]})), s("a"));
    assert_eq!(ev(json!({"Fn::Select": [{"Ref": "Count"}, {"Ref": "Names"}]})), s("c"));
    assert_eq!(ev(json!({"Fn::Select": [0, [{"a": 1}]]})), Value::Map(BTreeMap::from([("a".to_string(), num(1))])));
    assert_eq!(ev(json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})), s("eu-west-1a"));
}

#[test]
fn select_unknown_and_secret() {
    assert_eq!(ev(json!({"Fn::Select": [0, {"Ref": "Pending"}]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Select": [{"Ref": "Pending"}, ["a"]]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Select": [0, [{"Ref": "Pending"}]]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Select": [1, {"Ref": "SecretList"}]})), Value::secret(s("y")));
    // A secret element stays secret; its neighbours are not hoisted into secrecy.
    assert_eq!(ev(json!({"Fn::Select": [0, ["a", {"Ref": "Password"}]]})), s("a"));
    assert_eq!(ev(json!({"Fn::Select": [1, ["a", {"Ref": "Password"}]]})), Value::secret(s("hunter22")));
}

#[test]
fn select_errors() {
    let (e, n) = ev_err(json!({"Fn::Select": "abc"}));
    assert_eq!(e.message, "Fn::Select expects [index, list], found a string");
    assert_eq!(e.span, Some(at(&n, &["Fn::Select"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::Select": [2, ["a", "b"]]}));
    assert_eq!(e.message, "Fn::Select index 2 is out of range for a list of 2 items");
    assert_eq!(e.span, Some(at(&n, &["Fn::Select", "0"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Select": ["x", ["a"]]}));
    assert_eq!(e.message, "Fn::Select index must be a non-negative integer, found \"x\"");
    let (e, _) = ev_err(json!({"Fn::Select": [-1, ["a"]]}));
    assert_eq!(e.message, "Fn::Select index must be a non-negative integer, found -1");
    let (e, _) = ev_err(json!({"Fn::Select": [{"Ref": "Password"}, ["a"]]}));
    assert_eq!(e.message, "Fn::Select index must be a non-negative integer, found a secret (a string)");
    let (e, n) = ev_err(json!({"Fn::Select": [0, "abc"]}));
    assert_eq!(e.message, "Fn::Select expects a list second, found a string");
    assert_eq!(e.span, Some(at(&n, &["Fn::Select", "1"]).span.clone()));
}

// ---- Fn::Split -----------------------------------------------------------------------

#[test]
fn split() {
    assert_eq!(ev(json!({"Fn::Split": [",", "a,b,,c"]})), list(&["a", "b", "", "c"]));
    assert_eq!(ev(json!({"Fn::Split": ["::", {"Fn::Sub": "${Env}::x"}]})), list(&["prod", "x"]));
    assert_eq!(ev(json!({"Fn::Split": [",", {"Ref": "Pending"}]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Split": ["n", {"Ref": "Password"}]})), Value::secret(list(&["hu", "ter22"])));
    let (e, n) = ev_err(json!({"Fn::Split": [",", ["a"]]}));
    assert_eq!(e.message, "Fn::Split expects a string second, found a list");
    assert_eq!(e.span, Some(at(&n, &["Fn::Split", "1"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Split": [","]}));
    assert_eq!(e.message, "Fn::Split expects [delimiter, string], found a list of 1 item");
    let (e, n) = ev_err(json!({"Fn::Split": ["", "abc"]}));
    assert_eq!(e.message, "Fn::Split expects a non-empty delimiter");
    assert_eq!(e.span, Some(at(&n, &["Fn::Split", "0"]).span.clone()));
}

// ---- Fn::FindInMap -------------------------------------------------------------------

#[test]
fn findinmap_success() {
    assert_eq!(ev(json!({"Fn::FindInMap": ["RegionMap", "us-east-1", "Ami"]})), s("ami-1"));
    assert_eq!(ev(json!({"Fn::FindInMap": ["RegionMap", {"Ref": "AWS::Region"}, "Size"]})), num(5));
    assert_eq!(ev(json!({"Fn::FindInMap": ["RegionMap", "us-east-1", "Extra"]})), Value::Null);
    assert_eq!(ev(json!({"Fn::FindInMap": ["RegionMap", "ap-south-1", "Ami", {"DefaultValue": "ami-0"}]})), s("ami-0"));
    assert_eq!(ev(json!({"Fn::FindInMap": ["RegionMap", {"Ref": "Pending"}, "Ami"]})), Value::Unknown);
}

#[test]
fn findinmap_errors() {
    let (e, n) = ev_err(json!({"Fn::FindInMap": ["RegionMa", "us-east-1", "Ami"]}));
    assert_eq!(e.message, "no mapping named `RegionMa`");
    assert_eq!(e.help.as_deref(), Some("did you mean `RegionMap`?"));
    assert_eq!(e.span, Some(at(&n, &["Fn::FindInMap", "0"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::FindInMap": ["RegionMap", "us-east-2", "Ami"]}));
    assert_eq!(e.message, "mapping `RegionMap` has no top-level key `us-east-2`");
    assert_eq!(e.help.as_deref(), Some("did you mean `us-east-1`?"));
    assert_eq!(e.span, Some(at(&n, &["Fn::FindInMap", "1"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::FindInMap": ["RegionMap", "us-east-1", "Amii"]}));
    assert_eq!(e.message, "mapping `RegionMap` has no key `Amii` under `us-east-1`");
    assert_eq!(e.help.as_deref(), Some("did you mean `Ami`?"));
    assert_eq!(e.span, Some(at(&n, &["Fn::FindInMap", "2"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::FindInMap": ["RegionMap", "us-east-1"]}));
    assert_eq!(e.message, "Fn::FindInMap expects [map name, top-level key, second-level key], found a list of 2 items");
    let (e, _) = ev_err(json!({"Fn::FindInMap": ["RegionMap", ["x"], "Ami"]}));
    assert_eq!(e.message, "Fn::FindInMap expects a top-level key (a string), found a list");
    let (e, _) = ev_err(json!({"Fn::FindInMap": ["RegionMap", "a", "b", "c"]}));
    assert_eq!(e.message, "Fn::FindInMap expects {DefaultValue: value} as its fourth item, found a string");
    // A secret key never appears in a message.
    let (e, _) = ev_err(json!({"Fn::FindInMap": ["RegionMap", {"Ref": "Password"}, "Ami"]}));
    assert_eq!(e.message, "mapping `RegionMap` has no top-level key (secret)");
    assert!(!e.to_string().contains("hunter22"));
}

// ---- Fn::If and conditions -----------------------------------------------------------

#[test]
fn if_picks_a_branch() {
    assert_eq!(ev(json!({"Fn::If": ["IsProd", "big", "small"]})), s("big"));
    assert_eq!(ev(json!({"Fn::If": ["IsDev", "big", {"Ref": "Env"}]})), s("prod"));
    // The branch not taken is not evaluated.
    assert_eq!(ev(json!({"Fn::If": ["IsProd", 1, {"Ref": "Nope"}]})), num(1));
    let (e, n) = ev_err(json!({"Fn::If": ["IsProdd", 1, 2]}));
    assert_eq!(e.message, "unknown condition `IsProdd`");
    assert_eq!(e.span, Some(at(&n, &["Fn::If", "0"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::If": ["IsProd", 1]}));
    assert_eq!(e.message, "Fn::If expects [condition name, value if true, value if false], found a list of 2 items");
    let (e, n) = ev_err(json!({"Fn::If": [{"Condition": "IsProd"}, 1, 2]}));
    assert_eq!(e.message, "Fn::If expects a condition name (a string) first, found `Condition`");
    assert_eq!(e.span, Some(at(&n, &["Fn::If", "0"]).span.clone()));
}

#[test]
fn conditions() {
    assert!(cond(json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]})).unwrap());
    assert!(cond(json!({"Fn::Equals": [1, "1"]})).unwrap());
    assert!(cond(json!({"Fn::Equals": [true, "true"]})).unwrap());
    assert!(!cond(json!({"Fn::Equals": ["a", "b"]})).unwrap());
    assert!(cond(json!({"Fn::Equals": [{"Ref": "Names"}, ["a", "b", "c"]]})).unwrap());
    assert!(cond(json!({"Fn::Equals": [{"Ref": "Password"}, "hunter22"]})).unwrap());
    assert!(cond(json!({"Fn::And": [{"Condition": "IsProd"}, true]})).unwrap());
    assert!(!cond(json!({"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]})).unwrap());
    assert!(cond(json!({"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Equals": ["a", "a"]}]})).unwrap());
    assert!(cond(json!({"Fn::Not": [{"Condition": "IsDev"}]})).unwrap());
    assert!(cond(json!({"Condition": "IsProd"})).unwrap());
    assert!(cond(json!(true)).unwrap());
    assert!(!cond(json!("false")).unwrap());
    // Conditions in value context give booleans.
    assert_eq!(ev(json!({"Fn::Equals": ["a", "a"]})), Value::Bool(true));
    assert_eq!(ev(json!({"Fn::Not": [{"Condition": "IsDev"}]})), Value::Bool(true));
}

#[test]
fn condition_errors() {
    let n = node(json!({"Fn::Join": ["", []]}));
    let e = evaluate_condition(&n, &TestEnv::new()).unwrap_err();
    assert_eq!(
        e.message,
        "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition or a boolean, found `Fn::Join`"
    );
    assert_eq!(e.span, Some(n.span.clone()));
    let e = cond(json!("yes")).unwrap_err();
    assert_eq!(
        e.message,
        "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition or a boolean, found a string"
    );
    let n = node(json!({"Fn::Equals": [{"Fn::GetAtt": "Role.Arn"}, "x"]}));
    let e = evaluate_condition(&n, &TestEnv::new()).unwrap_err();
    assert_eq!(e.message, "a condition can only depend on parameters and mappings; this value is known only after up");
    assert_eq!(e.span, Some(at(&n, &["Fn::Equals", "0"]).span.clone()));
    let e = cond(json!({"Fn::And": [true]})).unwrap_err();
    assert_eq!(e.message, "Fn::And expects a list of 2 to 10 conditions, found a list of 1 item");
    let e = cond(json!({"Fn::Or": [true, true, true, true, true, true, true, true, true, true, true]})).unwrap_err();
    assert_eq!(e.message, "Fn::Or expects a list of 2 to 10 conditions, found a list of 11 items");
    assert!(cond(json!({"Fn::Or": [true, false, false, false, false, false, false, false, false, false]})).unwrap());
    let e = cond(json!({"Fn::Not": {"Condition": "IsProd"}})).unwrap_err();
    assert_eq!(e.message, "Fn::Not expects [condition], found `Condition`");
    let e = cond(json!({"Fn::Equals": ["a"]})).unwrap_err();
    assert_eq!(e.message, "Fn::Equals expects [value, value], found a list of 1 item");
    let n = node(json!({"Fn::And": [true, {"Ref": "Env"}]}));
    let e = evaluate_condition(&n, &TestEnv::new()).unwrap_err();
    assert!(e.message.ends_with("found `Ref`"), "{}", e.message);
    assert_eq!(e.span, Some(at(&n, &["Fn::And", "1"]).span.clone()));
    let e = cond(json!({"Condition": ["IsProd"]})).unwrap_err();
    assert_eq!(e.message, "Condition expects a condition name (a string), found a list of 1 item");
    let e = cond(json!({"Condition": "Nope"})).unwrap_err();
    assert_eq!(e.message, "unknown condition `Nope`");
}

// ---- Fn::Base64, Fn::ImportValue, Fn::GetAZs, Fn::Length, Fn::ToJsonString ------------

#[test]
fn base64() {
    assert_eq!(ev(json!({"Fn::Base64": "hello"})), s("aGVsbG8="));
    assert_eq!(ev(json!({"Fn::Base64": {"Fn::Sub": "#!/bin/sh\necho ${Env}"}})), s("IyEvYmluL3NoCmVjaG8gcHJvZA=="));
    assert_eq!(ev(json!({"Fn::Base64": 12})), s("MTI="));
    assert_eq!(ev(json!({"Fn::Base64": {"Ref": "Pending"}})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Base64": {"Ref": "Password"}})), Value::secret(s("aHVudGVyMjI=")));
    let (e, n) = ev_err(json!({"Fn::Base64": ["a"]}));
    assert_eq!(e.message, "Fn::Base64 expects a string, found a list");
    assert_eq!(e.span, Some(at(&n, &["Fn::Base64"]).span.clone()));
}

#[test]
fn import_value() {
    assert_eq!(ev(json!({"Fn::ImportValue": "net-VpcId"})), s("vpc-123"));
    assert_eq!(ev(json!({"Fn::ImportValue": {"Fn::Sub": "net-VpcId"}})), s("vpc-123"));
    assert_eq!(ev(json!({"Fn::ImportValue": {"Ref": "Pending"}})), Value::Unknown);
    let (e, n) = ev_err(json!({"Fn::ImportValue": "net-Nope"}));
    assert_eq!(e.message, "no stack exports `net-Nope`");
    assert_eq!(e.span, Some(at(&n, &["Fn::ImportValue"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::ImportValue": ["x"]}));
    assert_eq!(e.message, "Fn::ImportValue expects an export name (a string), found a list");
}

#[test]
fn get_azs() {
    let azs = list(&["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
    assert_eq!(ev(json!({"Fn::GetAZs": ""})), azs);
    assert_eq!(ev(json!({"Fn::GetAZs": null})), azs);
    assert_eq!(ev(json!({"Fn::GetAZs": {"Ref": "AWS::Region"}})), azs);
    assert_eq!(ev(json!({"Fn::GetAZs": {"Ref": "Zone"}})), azs);
    assert_eq!(ev(json!({"Fn::GetAZs": "us-east-2"})), list(&["us-east-2a", "us-east-2b", "us-east-2c"]));
    assert_eq!(ev(json!({"Fn::GetAZs": {"Ref": "Pending"}})), Value::Unknown);
    let (e, _) = ev_err(json!({"Fn::GetAZs": ["x"]}));
    assert_eq!(e.message, "Fn::GetAZs expects a region (a string, or \"\" for the stack's region), found a list");
}

#[test]
fn length() {
    assert_eq!(ev(json!({"Fn::Length": [1, 2, {"Ref": "AWS::NoValue"}]})), num(2));
    assert_eq!(ev(json!({"Fn::Length": {"Ref": "Names"}})), num(3));
    assert_eq!(ev(json!({"Fn::Length": [{"Ref": "Pending"}]})), num(1));
    assert_eq!(ev(json!({"Fn::Length": {"Ref": "Pending"}})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Length": {"Ref": "SecretList"}})), Value::secret(num(2)));
    let (e, n) = ev_err(json!({"Fn::Length": "abc"}));
    assert_eq!(e.message, "Fn::Length expects a list, found a string");
    assert_eq!(e.span, Some(at(&n, &["Fn::Length"]).span.clone()));
}

#[test]
fn to_json_string() {
    assert_eq!(
        ev(json!({"Fn::ToJsonString": {"b": 1, "a": [true, {"Ref": "Env"}], "c": {"Ref": "AWS::NoValue"}}})),
        s(r#"{"a":[true,"prod"],"b":1}"#)
    );
    assert_eq!(ev(json!({"Fn::ToJsonString": [1, "x"]})), s(r#"[1,"x"]"#));
    assert_eq!(ev(json!({"Fn::ToJsonString": {"a": {"Ref": "Pending"}}})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::ToJsonString": {"pw": {"Ref": "Password"}}})), Value::secret(s(r#"{"pw":"hunter22"}"#)));
    let (e, _) = ev_err(json!({"Fn::ToJsonString": "x"}));
    assert_eq!(e.message, "Fn::ToJsonString expects a mapping or a list, found a string");
}

// ---- Fn::Cidr ------------------------------------------------------------------------

#[test]
fn cidr_ipv4() {
    assert_eq!(
        ev(json!({"Fn::Cidr": ["10.0.0.0/16", 4, 8]})),
        list(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"])
    );
    // The AWS documentation's example.
    assert_eq!(
        ev(json!({"Fn::Cidr": ["192.168.0.0/24", 6, 5]})),
        list(&[
            "192.168.0.0/27",
            "192.168.0.32/27",
            "192.168.0.64/27",
            "192.168.0.96/27",
            "192.168.0.128/27",
            "192.168.0.160/27"
        ])
    );
    // Numbers as strings, host bits in the block cleared, parameters.
    assert_eq!(ev(json!({"Fn::Cidr": ["10.0.5.7/16", "2", "12"]})), list(&["10.0.0.0/20", "10.0.16.0/20"]));
    assert_eq!(ev(json!({"Fn::Cidr": [{"Ref": "Block"}, 1, 8]})), list(&["10.1.0.0/24"]));
    // Exactly full.
    assert_eq!(ev(json!({"Fn::Cidr": ["10.0.0.0/30", 4, 0]})).as_list().unwrap().len(), 4);
    assert_eq!(ev(json!({"Fn::Cidr": ["0.0.0.0/0", 1, 32]})), list(&["0.0.0.0/0"]));
    assert_eq!(ev(json!({"Fn::Cidr": ["10.0.0.0/8", 256, 8]})).as_list().unwrap()[255], s("10.0.255.0/24"));
}

#[test]
fn cidr_ipv6() {
    assert_eq!(
        ev(json!({"Fn::Cidr": ["2001:db8:1234:1a00::/56", 3, 64]})),
        list(&["2001:db8:1234:1a00::/64", "2001:db8:1234:1a01::/64", "2001:db8:1234:1a02::/64"])
    );
    assert_eq!(ev(json!({"Fn::Cidr": ["::/0", 1, 128]})), list(&["::/0"]));
    assert_eq!(
        ev(json!({"Fn::Cidr": ["2001:DB8::/126", 4, 0]})),
        list(&["2001:db8::/128", "2001:db8::1/128", "2001:db8::2/128", "2001:db8::3/128"])
    );
}

#[test]
fn cidr_unknown_and_secret() {
    assert_eq!(ev(json!({"Fn::Cidr": [{"Ref": "Pending"}, 2, 8]})), Value::Unknown);
    assert_eq!(ev(json!({"Fn::Cidr": ["10.0.0.0/16", {"Ref": "Pending"}, 8]})), Value::Unknown);
    let mut env = TestEnv::new();
    env.refs.insert("SecretBlock".into(), Value::secret(s("10.0.0.0/16")));
    let n = node(json!({"Fn::Cidr": [{"Ref": "SecretBlock"}, 1, 8]}));
    assert_eq!(evaluate(&n, &env).unwrap(), Value::secret(list(&["10.0.0.0/24"])));
}

#[test]
fn cidr_errors() {
    let (e, n) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/22", 5, 8]}));
    assert_eq!(e.message, "Fn::Cidr cannot fit 5 /24 subnets in 10.0.0.0/22 (it holds 4)");
    assert_eq!(e.span, Some(at(&n, &["Fn::Cidr", "1"]).span.clone()));
    let (e, n) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/28", 1, 8]}));
    assert_eq!(e.message, "Fn::Cidr cidr bits 8 give /24 subnets, larger than the block 10.0.0.0/28");
    assert_eq!(e.span, Some(at(&n, &["Fn::Cidr", "2"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/16", 1, 33]}));
    assert_eq!(e.message, "Fn::Cidr cidr bits must be between 0 and 32 for an IPv4 block, found 33");
    let (e, n) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/16", 0, 8]}));
    assert_eq!(e.message, "Fn::Cidr count must be between 1 and 256, found 0");
    assert_eq!(e.span, Some(at(&n, &["Fn::Cidr", "1"]).span.clone()));
    let (e, _) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/16", 257, 8]}));
    assert_eq!(e.message, "Fn::Cidr count must be between 1 and 256, found 257");
    let (e, _) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/16", "many", 8]}));
    assert_eq!(e.message, "Fn::Cidr count must be an integer, found \"many\"");
    for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/16", "nope/8", "2001:db8::/129"] {
        let (e, n) = ev_err(json!({"Fn::Cidr": [bad, 1, 8]}));
        assert_eq!(
            e.message,
            format!(
                "Fn::Cidr expects an IP block in CIDR notation (such as 10.0.0.0/16 or 2001:db8::/56), found \"{bad}\""
            )
        );
        assert_eq!(e.span, Some(at(&n, &["Fn::Cidr", "0"]).span.clone()));
    }
    let (e, _) = ev_err(json!({"Fn::Cidr": ["10.0.0.0/16", 4]}));
    assert_eq!(e.message, "Fn::Cidr expects [ip block, count, cidr bits], found a list of 2 items");
    let (e, _) = ev_err(json!({"Fn::Cidr": ["2001:db8::/64", 2, 64]}));
    assert_eq!(e.message, "Fn::Cidr cannot fit 2 /64 subnets in 2001:db8::/64 (it holds 1)");
}

// ---- secrets and unknowns in plain data ---------------------------------------------

#[test]
fn secrets_stay_where_they_are_in_plain_data() {
    let v = ev(json!({"a": [{"Ref": "Password"}, "x"], "b": "y"}));
    let m = v.as_map().unwrap();
    assert!(matches!(v, Value::Map(_)));
    assert_eq!(m["a"], Value::List(vec![Value::secret(s("hunter22")), s("x")]));
    assert_eq!(m["b"], s("y"));
    assert_eq!(ev(json!({"a": {"Ref": "Pending"}})), Value::Map(BTreeMap::from([("a".to_string(), Value::Unknown)])));
}

#[test]
fn errors_never_contain_secret_text() {
    let cases = [
        json!({"Fn::Select": [{"Ref": "Password"}, ["a"]]}),
        json!({"Fn::Cidr": [{"Ref": "Password"}, 1, 8]}),
        json!({"Fn::Cidr": ["10.0.0.0/16", {"Ref": "Password"}, 8]}),
        json!({"Fn::FindInMap": [{"Ref": "Password"}, "a", "b"]}),
        json!({"Fn::FindInMap": ["RegionMap", "us-east-1", {"Ref": "Password"}]}),
        json!({"Fn::GetAZs": {"Ref": "SecretList"}}),
    ];
    for c in cases {
        let (e, _) = ev_err(c);
        assert!(!format!("{e:?}").contains("hunter22"), "{e:?}");
    }
}

// ---- references ----------------------------------------------------------------------

fn r(name: &str, span: Span) -> Reference {
    Reference::Ref { name: name.into(), span }
}
fn g(resource: &str, attribute: &str, span: Span) -> Reference {
    Reference::GetAtt { resource: resource.into(), attribute: attribute.into(), span }
}
fn c(name: &str, span: Span) -> Reference {
    Reference::Condition { name: name.into(), span }
}

#[test]
fn references_find_everything() {
    let n = node(json!({
        "A": {"Ref": "Env"},
        "B": {"Fn::GetAtt": "Stack.Outputs.Url"},
        "C": {"Fn::GetAtt": ["Bucket", {"Ref": "AttrName"}]},
        "D": {"Fn::Sub": ["${AWS::Region}-${Local}-${Db.Endpoint.Address}-${!Skip}", {"Local": {"Ref": "Other"}}]},
        "E": {"Fn::If": ["IsProd", [{"Fn::GetAtt": ["Role", "Arn"]}], {"Ref": "AWS::NoValue"}]},
        "F": {"Fn::Sub": "${Topic}"},
        "G": {"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Not": [{"Condition": "IsProd"}]}]},
        "Policy": {"Condition": "NotAReference"}
    }));
    let d_sub = at(&n, &["D", "Fn::Sub", "0"]).span.clone();
    assert_eq!(
        references(&n),
        vec![
            r("Env", at(&n, &["A", "Ref"]).span.clone()),
            g("Stack", "Outputs.Url", at(&n, &["B", "Fn::GetAtt"]).span.clone()),
            g("Bucket", "", at(&n, &["C", "Fn::GetAtt"]).span.clone()),
            r("AttrName", at(&n, &["C", "Fn::GetAtt", "1", "Ref"]).span.clone()),
            r("AWS::Region", d_sub.clone()),
            g("Db", "Endpoint.Address", d_sub),
            r("Other", at(&n, &["D", "Fn::Sub", "1", "Local", "Ref"]).span.clone()),
            c("IsProd", at(&n, &["E", "Fn::If", "0"]).span.clone()),
            g("Role", "Arn", at(&n, &["E", "Fn::If", "1", "0", "Fn::GetAtt"]).span.clone()),
            r("AWS::NoValue", at(&n, &["E", "Fn::If", "2", "Ref"]).span.clone()),
            r("Topic", at(&n, &["F", "Fn::Sub"]).span.clone()),
            c("IsDev", at(&n, &["G", "Fn::Or", "0", "Condition"]).span.clone()),
            c("IsProd", at(&n, &["G", "Fn::Or", "1", "Fn::Not", "0", "Condition"]).span.clone()),
        ]
    );
    // At the root, the expression may be a condition.
    let n = node(json!({"Condition": "IsProd"}));
    assert_eq!(references(&n), vec![c("IsProd", at(&n, &["Condition"]).span.clone())]);
}

#[test]
fn references_of_malformed_expressions_do_not_panic() {
    assert_eq!(references(&node(json!({"Fn::Sub": "${unterminated"}))), vec![]);
    let n = node(json!({"Fn::GetAtt": "Lonely"}));
    assert_eq!(references(&n), vec![g("Lonely", "", at(&n, &["Fn::GetAtt"]).span.clone())]);
    let n = node(json!({"Fn::Join": ["", [{"Ref": "X"}]]}));
    assert_eq!(references(&n), vec![r("X", at(&n, &["Fn::Join", "1", "0", "Ref"]).span.clone())]);
    assert_eq!(references(&node(json!({"Ref": 3}))), vec![]);
}

// ---- check_syntax --------------------------------------------------------------------

#[test]
fn check_syntax_accepts_good_templates() {
    let n = node(json!({
        "A": {"Fn::Join": ["", ["a", {"Ref": "B"}]]},
        "B": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "C": {"Fn::Sub": ["${X}", {"X": {"Fn::GetAtt": "R.Arn"}}]},
        "D": {"Fn::If": ["C", {"Fn::Base64": "x"}, {"Ref": "AWS::NoValue"}]},
        "E": {"Fn::Cidr": [{"Fn::GetAtt": "Vpc.CidrBlock"}, 4, 8]},
        "F": {"Fn::And": [{"Condition": "X"}, {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}]},
        "G": {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "K", {"DefaultValue": 1}]},
        "H": {"Fn::ToJsonString": {"a": 1}},
        "I": {"Fn::Length": [1, 2]},
        "J": {"Fn::ImportValue": {"Fn::Sub": "${Env}-x"}},
        "K": {"Fn::Split": [",", {"Ref": "L"}]},
        "Policy": {"Condition": {"StringEquals": {"a": "b"}}}
    }));
    assert_eq!(check_syntax(&n), vec![]);
}

#[test]
fn check_syntax_reports_all_problems() {
    let n = node(json!({
        "A": {"Fn::Join": "x"},
        "B": {"Fn::Selec": [0, ["a"]]},
        "C": {"Fn::Sub": "${oops"},
        "D": [{"Fn::Select": [3, ["a", "b"]]}, {"Ref": ["x"]}],
        "E": {"Fn::Cidr": ["10.0.0.0/33", 300, "x"]},
        "F": {"Fn::And": [{"Ref": "X"}]},
        "G": {"Fn::Or": [{"Ref": "X"}, true]},
        "H": {"Fn::If": [{"Ref": "X"}, {"Fn::Length": "s"}, {"Fn::GetAtt": "NoDot"}]},
        "I": {"Fn::Join": ["", [["nested"]]], "J": 1},
        "K": {"Fn::FindInMap": ["M", ["x"], "b"]},
        "L": {"Fn::Cidr": ["10.0.0.0/24", 2, 8]}
    }));
    let diags = check_syntax(&n);
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "Fn::Join expects [delimiter, list], found a string",
            "unknown intrinsic function `Fn::Selec`",
            "Fn::Sub has an unterminated `${` (write `${!` for a literal `${`) in \"${oops\"",
            "Fn::Select index 3 is out of range for a list of 2 items",
            "Ref expects a name (a string), found a list of 1 item",
            "Fn::Cidr expects an IP block in CIDR notation (such as 10.0.0.0/16 or 2001:db8::/56), found \"10.0.0.0/33\"",
            "Fn::Cidr count must be between 1 and 256, found 300",
            "Fn::Cidr cidr bits must be an integer, found \"x\"",
            "Fn::And expects a list of 2 to 10 conditions, found a list of 1 item",
            "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition or a boolean, found `Ref`",
            "Fn::If expects a condition name (a string) first, found `Ref`",
            "Fn::Length expects a list, found a string",
            "Fn::GetAtt expects \"Resource.Attribute\" or [resource, attribute], found \"NoDot\" (no attribute after a dot)",
            "`Fn::Join` must be the only key of its mapping, found 2 keys",
            "Fn::FindInMap expects a top-level key (a string), found a list of 1 item",
            "Fn::Cidr cannot fit 2 /24 subnets in 10.0.0.0/24 (it holds 1)",
        ]
    );
    assert_eq!(diags[1].span, Some(key_span(&n, &["B"], "Fn::Selec")));
    assert_eq!(diags[1].help.as_deref(), Some("did you mean `Fn::Select`?"));
    assert_eq!(diags[3].span, Some(at(&n, &["D", "0", "Fn::Select", "0"]).span.clone()));
    assert_eq!(diags[9].span, Some(at(&n, &["G", "Fn::Or", "0"]).span.clone()));
}

#[test]
fn check_syntax_of_every_function_shape() {
    for (j, msg) in [
        (json!({"Fn::Split": "x"}), "Fn::Split expects [delimiter, string], found a string"),
        (json!({"Fn::Split": ["", "x"]}), "Fn::Split expects a non-empty delimiter"),
        (json!({"Fn::Split": [",", ["x"]]}), "Fn::Split expects a string second, found a list of 1 item"),
        (json!({"Fn::Equals": "x"}), "Fn::Equals expects [value, value], found a string"),
        (json!({"Fn::Not": [true, false]}), "Fn::Not expects [condition], found a list of 2 items"),
        (json!({"Fn::Base64": {"a": 1}}), "Fn::Base64 expects a string, found a mapping"),
        (json!({"Fn::ImportValue": 3}), "Fn::ImportValue expects an export name (a string), found a number"),
        (
            json!({"Fn::GetAZs": 3}),
            "Fn::GetAZs expects a region (a string, or \"\" for the stack's region), found a number",
        ),
        (json!({"Fn::ToJsonString": 3}), "Fn::ToJsonString expects a mapping or a list, found a number"),
        (json!({"Fn::Sub": ["x", "y"]}), "Fn::Sub expects a mapping of variables second, found a string"),
        (json!({"Fn::Select": ["x", ["a"]]}), "Fn::Select index must be a non-negative integer, found \"x\""),
        (json!({"Fn::Select": [0, "a"]}), "Fn::Select expects a list second, found a string"),
        (json!({"Fn::Join": [1, []]}), "Fn::Join expects a delimiter (a string) first, found a number"),
        (
            json!({"Fn::If": ["C", 1]}),
            "Fn::If expects [condition name, value if true, value if false], found a list of 2 items",
        ),
        (
            json!({"Fn::FindInMap": ["M", "a", "b", "c"]}),
            "Fn::FindInMap expects {DefaultValue: value} as its fourth item, found a string",
        ),
        (
            json!({"Fn::Cidr": ["10.0.0.0/16", 1]}),
            "Fn::Cidr expects [ip block, count, cidr bits], found a list of 2 items",
        ),
        (json!({"Fn::Not": [{"Condition": 3}]}), "Condition expects a condition name (a string), found a number"),
    ] {
        assert_eq!(syntax(j), vec![msg.to_string()]);
    }
}

#[test]
fn check_syntax_looks_inside_arguments() {
    assert_eq!(
        syntax(json!({"Fn::Base64": {"Fn::Sub": "${x"}})),
        vec!["Fn::Sub has an unterminated `${` (write `${!` for a literal `${`) in \"${x\"".to_string()]
    );
    assert_eq!(
        syntax(json!({"Fn::Bogus": {"Ref": 1}})),
        vec![
            "unknown intrinsic function `Fn::Bogus`".to_string(),
            "Ref expects a name (a string), found a number".to_string()
        ]
    );
}

// ---- properties ----------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Evaluation and the static checks never panic on arbitrary shapes.
        #[test]
        fn never_panics(name in prop::sample::select(INTRINSIC_FUNCTIONS.to_vec()), arg in arb_json()) {
            let n = node(json!({ name: arg }));
            let _ = evaluate(&n, &TestEnv::new());
            let _ = evaluate_condition(&n, &TestEnv::new());
            let _ = references(&n);
            let _ = check_syntax(&n);
        }

        /// IPv4 subnets from Fn::Cidr are consecutive, aligned and inside the block.
        #[test]
        fn cidr_subnets_are_consecutive(a in any::<u32>(), prefix in 0u32..=32, bits in 0u32..=32, count in 1i64..=256) {
            let block = Block { base: 0, prefix, width: 32 };
            let block = parse_block(&format!("{}/{prefix}", Ipv4Addr::from(a))).unwrap_or(block);
            if let Ok(subnets) = cidr_subnets(block, count, bits as i64) {
                prop_assert_eq!(subnets.len() as i64, count);
                for (i, sn) in subnets.iter().enumerate() {
                    let b = parse_block(sn).unwrap();
                    prop_assert_eq!(b.prefix, 32 - bits);
                    prop_assert_eq!(b.base, block.base + ((i as u128) << bits));
                    prop_assert!(b.base < block.base + (1u128 << (32 - prefix)));
                }
            } else {
                prop_assert!(bits > 32 - prefix || (count as u128) > (1u128 << (32 - prefix - bits)));
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(json!(null)),
            any::<bool>().prop_map(|b| json!(b)),
            (-3i64..300).prop_map(|n| json!(n)),
            prop::sample::select(vec![
                "",
                "Env",
                "Names",
                "Pending",
                "Password",
                "IsProd",
                "RegionMap",
                "us-east-1",
                "Ami",
                "Bucket.Arn",
                "${Env}",
                "${",
                "10.0.0.0/16",
                "2001:db8::/56",
                "AWS::NoValue",
                "-1",
                "1",
            ])
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                (prop::sample::select(INTRINSIC_FUNCTIONS.to_vec()), inner.clone()).prop_map(|(k, v)| json!({ k: v })),
                (prop::sample::select(vec!["a", "DefaultValue", "X"]), inner).prop_map(|(k, v)| json!({ k: v })),
            ]
        })
    }
}
