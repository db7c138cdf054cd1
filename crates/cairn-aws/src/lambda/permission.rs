//! `AWS::Lambda::Permission`: one statement of a Lambda function's resource-based policy.
//!
//! | property | notes |
//! | --- | --- |
//! | `FunctionName` | required; the function's name, ARN or partial ARN, a version or alias may follow (`my-function:v1`) |
//! | `Action` | required; `lambda:InvokeFunction`, `lambda:*`, ... |
//! | `Principal` | required; a service (`apigateway.amazonaws.com`), an account id, an IAM ARN or `*` |
//! | `SourceArn` | the ARN of the resource that may invoke (compared with `ArnLike`) |
//! | `SourceAccount` | the account that owns that resource |
//! | `PrincipalOrgID` | an organization id (`o-...`) |
//! | `EventSourceToken` | the token an Alexa Smart Home invoker must give |
//! | `FunctionUrlAuthType` | `AWS_IAM` or `NONE`: the statement applies to function URL calls with that auth type |
//! | `InvokedViaFunctionUrl` | boolean: the statement applies only to calls through the function URL |
//!
//! Every property is create-only: any change replaces the permission (a new statement is
//! added, then the old one removed). The schema's properties are all supported.
//!
//! - `Ref`: `<FunctionName>|<statement id>`, the schema's primary identifier
//!   (`FunctionName`, `Id`) as CloudFormation joins it; it is also the physical id.
//! - `Fn::GetAtt`: `Id`, the statement id.
//!
//! `create` calls `AddPermission` with a statement id generated from the journaled seed
//! (`{stack}-{logical id}-{seed}`, 100 characters of `[a-zA-Z0-9-_.]`), so that a create
//! retried after a lost answer names the same statement: when Lambda answers that the
//! statement id already exists and the statement there is the one asked for, the create
//! adopts it. `read` calls `GetPolicy` and maps the statement with that id back to the
//! properties (`ResourceNotFoundException`, no policy or no such statement: gone).
//! `delete` calls `RemovePermission`. `find` looks for the generated statement id.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::types::FunctionUrlAuthType;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::kit::{AwsType, Cx, Fixture, Live, PropsError, Spec, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Lambda::Permission";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::LAMBDA_PERMISSION, None, &[])),
    not_found: &["ResourceNotFoundException"],
    timeout: Duration::from_secs(60),
    reference: "the function and the statement id, `FunctionName|Id`",
};

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    function_name: String,
    action: String,
    principal: String,
    source_arn: Option<String>,
    source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    principal_org_id: Option<String>,
    event_source_token: Option<String>,
    function_url_auth_type: Option<String>,
    invoked_via_function_url: Option<bool>,
}

/// The `AWS::Lambda::Permission` resource type.
pub struct Permission;

impl Permission {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Permission> {
        Typed::new(Permission, aws)
    }
}

/// A character Lambda accepts in a statement id (`[a-zA-Z0-9-_.]`).
fn sid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

fn statement_id(cx: &Cx<'_>) -> String {
    cx.generated_name(100, false, sid_char)
}

/// The physical id: `<function>|<statement id>` (a function name holds no `|`).
fn physical_id(function: &str, sid: &str) -> String {
    format!("{function}|{sid}")
}

/// The function and the statement id of a physical id.
fn split(physical_id: &str) -> Result<(&str, &str), ProviderError> {
    physical_id.rsplit_once('|').ok_or_else(|| {
        ProviderError::new(format!(
            "`{physical_id}` is not a Lambda permission id (`<function>|<statement id>`); run `cairn refresh`, or remove the resource from the state"
        ))
    })
}

fn data(function: &str, sid: &str) -> ResourceData {
    ResourceData {
        physical_id: physical_id(function, sid),
        attributes: BTreeMap::from([("Id".to_string(), Value::from(sid))]),
    }
}

/// The statement with id `sid` in a function's policy document, if there is one.
fn statement<'a>(policy: &'a Json, sid: &str) -> Option<&'a Json> {
    let statements = match &policy["Statement"] {
        Json::Array(s) => s.iter().collect::<Vec<_>>(),
        s @ Json::Object(_) => vec![s],
        _ => vec![],
    };
    statements.into_iter().find(|s| s["Sid"].as_str() == Some(sid))
}

/// A condition value as a string (`"x"`, or a one-element list `["x"]`).
fn one(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Array(a) if a.len() == 1 => one(&a[0]),
        _ => None,
    }
}

/// A condition key of any operator, keys compared without case (`AWS:SourceArn` and
/// `aws:SourceArn` are the same key).
fn condition(s: &Json, key: &str) -> Option<String> {
    let ops = s.get("Condition")?.as_object()?;
    ops.values()
        .filter_map(|keys| keys.as_object())
        .flat_map(|keys| keys.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| one(v))
}

/// The principal as the template gives it: a service name, `*`, or an account id or IAM
/// ARN. Lambda stores an account id as `arn:aws:iam::<account>:root`; when the template
/// gave the account id, that is what is shown.
fn principal(s: &Json, desired: Option<&str>) -> Option<String> {
    let p = &s["Principal"];
    let live = match p {
        Json::String(s) => s.clone(),
        Json::Object(m) => m.get("Service").or_else(|| m.get("AWS")).and_then(one)?,
        _ => return None,
    };
    let account = live.strip_prefix("arn:").and_then(|rest| {
        let parts: Vec<&str> = rest.split(':').collect();
        (parts.len() == 5 && parts[1] == "iam" && parts[4] == "root").then(|| parts[3].to_string())
    });
    match (account, desired) {
        (Some(a), Some(d)) if a == d => Some(a),
        _ => Some(live),
    }
}

/// The properties a policy statement grants, in the template's shape. `function` is the
/// `FunctionName` as the template gives it (the statement holds the function's ARN).
fn properties(s: &Json, function: &str, desired: &Json) -> BTreeMap<String, Json> {
    let mut props = BTreeMap::from([("FunctionName".to_string(), json!(function))]);
    if let Some(a) = one(&s["Action"]) {
        props.insert("Action".into(), json!(a));
    }
    if let Some(p) = principal(s, desired.get("Principal").and_then(Json::as_str)) {
        props.insert("Principal".into(), json!(p));
    }
    for (prop, key) in [
        ("SourceArn", "AWS:SourceArn"),
        ("SourceAccount", "AWS:SourceAccount"),
        ("PrincipalOrgID", "aws:PrincipalOrgID"),
        ("EventSourceToken", "lambda:EventSourceToken"),
        ("FunctionUrlAuthType", "lambda:FunctionUrlAuthType"),
    ] {
        if let Some(v) = condition(s, key) {
            props.insert(prop.into(), json!(v));
        }
    }
    if let Some(v) = condition(s, "lambda:InvokedViaFunctionUrl") {
        props.insert("InvokedViaFunctionUrl".into(), json!(v == "true"));
    }
    props
}

/// The policy statement `sid` of `function`, or `None` when the function, its policy or
/// the statement is gone.
async fn live_statement(cx: &Cx<'_>, function: &str, sid: &str) -> Result<Option<Json>, ProviderError> {
    let lambda: aws_sdk_lambda::Client = cx.client();
    let Some(out) = cx.found(lambda.get_policy().function_name(function).send().await.map_err(sdk_error))? else {
        return Ok(None);
    };
    let Some(text) = out.policy else { return Ok(None) };
    let policy: Json = serde_json::from_str(&text).map_err(|e| {
        ProviderError::with_code(
            "InvalidPolicy",
            format!("GetPolicy of function {function} gave a policy that is not JSON ({e}); run `cairn refresh` again"),
        )
    })?;
    Ok(statement(&policy, sid).cloned())
}

/// Whether the live statement grants what the properties ask.
fn grants(s: &Json, p: &Props) -> bool {
    let desired = serde_json::to_value(p).unwrap_or_default();
    let live = properties(s, &p.function_name, &desired);
    desired.as_object().is_some_and(|d| {
        d.iter().filter(|(_, v)| !v.is_null()).all(|(k, v)| live.get(k).is_some_and(|l| crate::util::loose_eq(l, v)))
    })
}

#[async_trait]
impl AwsType for Permission {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        if p.function_name.contains('|') {
            return Err(PropsError { path: "FunctionName".into(), message: "a function name holds no `|`".into() });
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let sid = statement_id(cx);
        let lambda: aws_sdk_lambda::Client = cx.client();
        let added = lambda
            .add_permission()
            .function_name(&p.function_name)
            .statement_id(&sid)
            .action(&p.action)
            .principal(&p.principal)
            .set_source_arn(p.source_arn.clone())
            .set_source_account(p.source_account.clone())
            .set_principal_org_id(p.principal_org_id.clone())
            .set_event_source_token(p.event_source_token.clone())
            .set_function_url_auth_type(p.function_url_auth_type.as_deref().map(FunctionUrlAuthType::from))
            .set_invoked_via_function_url(p.invoked_via_function_url)
            .send()
            .await
            .map_err(sdk_error);
        match added {
            Ok(_) => Ok(data(&p.function_name, &sid)),
            // An earlier attempt whose answer was lost added it: the same statement id
            // (from the seed), and the statement grants what is asked.
            Err(e) if e.code.as_deref() == Some("ResourceConflictException") => {
                match live_statement(cx, &p.function_name, &sid).await? {
                    Some(s) if grants(&s, p) => Ok(data(&p.function_name, &sid)),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let (function, sid) = split(physical_id)?;
        let Some(s) = live_statement(cx, function, sid).await? else { return Ok(None) };
        Ok(Some(Live { data: data(function, sid), properties: properties(&s, function, desired), tags: None }))
    }

    async fn update(
        &self,
        _cx: &Cx<'_>,
        physical_id: &str,
        _old: &Props,
        _new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        // Every property is create-only: the engine replaces instead.
        Err(ProviderError::new(format!(
            "permission {physical_id}: every property of `{TYPE_NAME}` is create-only, so it is replaced, never updated; this is a bug in cairn's plan, please report it"
        )))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let (function, sid) = split(physical_id)?;
        let lambda: aws_sdk_lambda::Client = cx.client();
        lambda.remove_permission().function_name(function).statement_id(sid).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let sid = statement_id(cx);
        Ok(live_statement(cx, &p.function_name, &sid).await?.map(|_| data(&p.function_name, &sid)))
    }

    fn fixture(&self) -> Fixture {
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let function = json!({"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Exec", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return 'ok'\n"}}});
        // The kefir example: API Gateway may invoke the function from one API.
        let create = json!({
            "FunctionName": {"Ref": "Fn"},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": "arn:aws:execute-api:us-east-1:123456789012:api{uid}/*/*",
            "SourceAccount": "123456789012"
        });
        let replace = json!({
            "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": "arn:aws:execute-api:us-east-1:123456789012:api{uid}/prod/*",
            "SourceAccount": "123456789012"
        });
        Fixture {
            support: json!({"Exec": role, "Fn": function}),
            create,
            update: None,
            replace: Some(replace),
            nested_replace: None,
            // `AddPermission` is the whole create.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Permission::new(Aws::unconfigured()).parse(&v)
    }

    /// A statement as Lambda stores one (`GetPolicy`).
    fn stored() -> Json {
        json!({
            "Sid": "dev-Perm-abc",
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": "123456789012", "lambda:FunctionUrlAuthType": "NONE"},
                "ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:a/*/*"}
            }
        })
    }

    #[test]
    fn a_statement_maps_back_to_the_properties() {
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "other"}, stored()]});
        let s = statement(&policy, "dev-Perm-abc").unwrap();
        let props = properties(s, "f", &json!({}));
        assert_eq!(
            Json::Object(props.into_iter().collect()),
            json!({
                "FunctionName": "f",
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceAccount": "123456789012",
                "SourceArn": "arn:aws:execute-api:us-east-1:123456789012:a/*/*",
                "FunctionUrlAuthType": "NONE"
            })
        );
        assert!(statement(&policy, "missing").is_none());
        let p = parse(json!({
            "FunctionName": "f", "Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com",
            "SourceAccount": "123456789012", "SourceArn": "arn:aws:execute-api:us-east-1:123456789012:a/*/*",
            "FunctionUrlAuthType": "NONE"
        }))
        .unwrap();
        assert!(grants(s, &p));
        let other = parse(json!({"FunctionName": "f", "Action": "lambda:*", "Principal": "apigateway.amazonaws.com"}));
        assert!(!grants(s, &other.unwrap()));
    }

    #[test]
    fn an_account_principal_is_shown_as_the_template_gives_it() {
        let s = json!({"Principal": {"AWS": "arn:aws:iam::111122223333:root"}});
        assert_eq!(principal(&s, Some("111122223333")).unwrap(), "111122223333");
        assert_eq!(principal(&s, Some("arn:aws:iam::111122223333:root")).unwrap(), "arn:aws:iam::111122223333:root");
        assert_eq!(principal(&s, None).unwrap(), "arn:aws:iam::111122223333:root");
        assert_eq!(principal(&json!({"Principal": "*"}), Some("*")).unwrap(), "*");
        let org = json!({"Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-abcdefghij"]}}});
        assert_eq!(condition(&org, "aws:PrincipalOrgID").unwrap(), "o-abcdefghij");
        let url = json!({"Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}});
        assert_eq!(properties(&url, "f", &json!({}))["InvokedViaFunctionUrl"], json!(true));
    }

    #[test]
    fn the_physical_id_is_the_function_and_the_statement_id() {
        let ctx = crate::test_ctx(TYPE_NAME, "Perm");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let sid = statement_id(&cx);
        assert_eq!(sid, "dev-Perm-abcdefghijkl");
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f:live";
        assert_eq!(split(&physical_id(arn, &sid)).unwrap(), (arn, sid.as_str()));
        assert!(split("no-bar").is_err());
        let e = parse(json!({"FunctionName": "a|b", "Action": "lambda:InvokeFunction", "Principal": "*"}));
        assert!(e.unwrap_err().message.contains("FunctionName"));
    }
}
